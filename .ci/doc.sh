#!/usr/bin/env bash
# The public API docs build without a warning (broken or private links,
# stray HTML in doc comments), as a user's `cargo doc` would show them.
set -euo pipefail
RUSTDOCFLAGS="-D warnings ${RUSTDOCFLAGS:-}" cargo doc --no-deps --workspace
