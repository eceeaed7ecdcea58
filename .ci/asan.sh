#!/usr/bin/env bash
# The stress run under AddressSanitizer (and LeakSanitizer), on stable via
# RUSTC_BOOTSTRAP. `--target` keeps the sanitizer flags off build scripts.
# ORDEX_TEST_SCALE makes the conformance suites' concurrent checks run
# longer than in `cargo test`; `--include-ignored` adds the soak tests.
#
# index-bench runs without leak detection: its peers leak by design
# (crossbeam-epoch leaves deferred garbage in its global collector at exit;
# the fastskip adapter leaks a guard block per table, see its docs), and
# those are not ours to fix; memory errors are still caught there.
set -euo pipefail
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=address ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ORDEX_TEST_SCALE="${ORDEX_TEST_SCALE:-3}"
# The suites skip resident-set checks under a sanitizer (shadow memory).
export ORDEX_SANITIZER=address
asan=(cargo test --profile stress --target x86_64-unknown-linux-gnu --target-dir target/asan)
# The testkit's own suites on the reference index (safe code: a lock
# around a BTreeMap) are left out: they took three minutes here and check
# no unsafe code that the backends' conformance suites don't run too (the
# testkit's counting allocator runs in every one of them).
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}" \
    "${asan[@]}" --workspace --exclude index-bench --exclude ordex-testkit --tests -- --include-ignored
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}" \
    "${asan[@]}" -p ordex-testkit --lib --test catches_broken -- --include-ignored
ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=1" \
    "${asan[@]}" -p index-bench --tests -- --include-ignored
