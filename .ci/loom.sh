#!/usr/bin/env bash
# Model-checks every concurrency core: the integration tests named
# `*_model` run under `--cfg loom`, where ordex_core::sync swaps in loom's
# atomics and `sync::model` explores every interleaving.
set -euo pipefail
# Models spawn through ordex_core::sync::thread::spawn, whose workaround
# makes loom 0.7 explore threads that start with an atomic load
# (tokio-rs/loom#392); a direct loom::thread::spawn or loom::model would
# silently run one interleaving.
if git ls-files -z '*.rs' | xargs -0 grep -n -E 'loom::(thread::spawn|model\b)' |
    grep -v '^core/src/sync.rs:'; then
    echo "loom.sh: spawn model threads with ordex_core::sync::thread::spawn and run models with sync::model" >&2
    exit 1
fi
export RUSTFLAGS="--cfg loom ${RUSTFLAGS:-}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
if cargo nextest --version > /dev/null 2>&1; then
    # Two models at a time across all model binaries (see asan.sh).
    cargo nextest run --cargo-profile stress --target-dir target/loom --workspace \
        --test '*_model' --no-fail-fast
else
    cargo test --profile stress --target-dir target/loom --workspace --test '*_model'
fi
