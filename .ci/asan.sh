#!/usr/bin/env bash
# The stress run under AddressSanitizer (and LeakSanitizer), on stable via
# RUSTC_BOOTSTRAP. `--target` keeps the sanitizer flags off build scripts.
# ORDEX_TEST_SCALE makes the conformance suites' concurrent checks run
# longer than in `cargo test`; `--include-ignored` adds the soak tests.
#
# index-bench is left out: its only unsafe code maps, touches and unmaps
# whole pages (`warm.rs`), where AddressSanitizer has no redzones to check,
# and the rest of what it would run under the sanitizer is the peers' code
# (whose leaks by design needed leak detection off) and our backends, which
# their own suites run here. Building the peers with the sanitizer took
# 200 s of a CI that must stay under 30 minutes.
set -euo pipefail
export RUSTC_BOOTSTRAP=1
# `ordex_asan`: code that keeps freed memory for reuse (the persistent
# tree's node pool) poisons it for the sanitizer while it holds it.
export RUSTFLAGS="-Zsanitizer=address --cfg ordex_asan ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ORDEX_TEST_SCALE="${ORDEX_TEST_SCALE:-3}"
# The suites skip resident-set checks under a sanitizer (shadow memory).
export ORDEX_SANITIZER=address
where=(--target x86_64-unknown-linux-gnu --target-dir target/asan)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}"
# The testkit's own suites on the reference index (safe code: a lock
# around a BTreeMap) are left out: they took three minutes here and check
# no unsafe code that the backends' conformance suites don't run too (the
# testkit's counting allocator runs in every one of them).
if cargo nextest --version > /dev/null 2>&1; then
    # cargo-nextest (on this project's machines) runs two tests at a time
    # across all test binaries, each in its own process: a long check no
    # longer leaves a core idle while the rest of its binary waits.
    cargo nextest run --cargo-profile stress "${where[@]}" --workspace --exclude index-bench \
        --run-ignored all --no-fail-fast \
        -E 'not (package(ordex-testkit) and (binary(reference) | binary(reference_limited)))'
else
    asan=(cargo test --profile stress "${where[@]}")
    "${asan[@]}" --workspace --exclude index-bench --exclude ordex-testkit --tests -- --include-ignored
    "${asan[@]}" -p ordex-testkit --lib --test catches_broken -- --include-ignored
fi
