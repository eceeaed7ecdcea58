#!/usr/bin/env bash
# The stress run under AddressSanitizer (and LeakSanitizer), on stable via
# RUSTC_BOOTSTRAP. `--target` keeps the sanitizer flags off build scripts.
# ORDEX_TEST_SCALE makes the conformance suites' concurrent checks run
# longer than in `cargo test`; `--include-ignored` adds the soak tests.
set -euo pipefail
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=address ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}"
export ORDEX_TEST_SCALE="${ORDEX_TEST_SCALE:-3}"
cargo test --profile stress --target x86_64-unknown-linux-gnu --target-dir target/asan \
    --workspace --tests -- --include-ignored
