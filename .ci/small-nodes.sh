#!/usr/bin/env bash
# ordex-persistent's tests again with nodes of 4 entries and 4 children
# (`--cfg ordex_small_nodes`): the same checks on trees many levels tall,
# where every split, borrow, merge and root change happens often.
set -euo pipefail
export RUSTFLAGS="--cfg ordex_small_nodes ${RUSTFLAGS:-}"
if cargo nextest --version > /dev/null 2>&1; then
    # Two tests at a time across all test binaries (see asan.sh); doctests
    # need no second run with small nodes.
    cargo nextest run --cargo-profile stress --target-dir target/small-nodes -p ordex-persistent
else
    cargo test --profile stress --target-dir target/small-nodes -p ordex-persistent
fi
