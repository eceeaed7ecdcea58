#!/usr/bin/env bash
# Model-checks every concurrency core: the integration tests named
# `*_model` run under `--cfg loom`, where ordex_core::sync swaps in loom's
# atomics and `sync::model` explores every interleaving.
set -euo pipefail
export RUSTFLAGS="--cfg loom ${RUSTFLAGS:-}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
cargo test --profile stress --target-dir target/loom --workspace --test '*_model'
