#!/usr/bin/env bash
# A short run of the comparative benchmark, to prove it runs end to end.
set -euo pipefail
cargo run --release -p index-bench -- --smoke
# Two builds in lockstep (here the same one twice), as changes are judged.
bin=target/release/index-bench
"$bin" ab "$bin" "$bin" --sessions 2 --entries 5000 --ops 5000
cargo run --release -p index-bench -- memtable --entries 20000 --repeat 1
cargo run --release -p index-bench -- btree --entries 20000 --repeat 1
cargo run --release -p index-bench -- techniques --entries 5000 --ops 20000 --threads 1,2 --reads 0,50,100 --repeat 1
cargo run --release -p index-bench -- persistent --entries 20000 --repeat 1
