//! A quick single-binary measurement of the B-link tree against the
//! reference (`RwLock<BTreeMap>` with version chains): random 8-byte
//! big-endian keys, 8-byte values. Not the comparative benchmark (that is
//! `index-bench`); a smoke check of the orders of magnitude.
//!
//! `cargo run -p ordex-btree --profile stress --example quick_bench [n]`

use ordex_btree::{BTree, Optimistic};
use ordex_core::reference::LockedBTreeMap;
use ordex_core::OrderedIndex;
use std::ops::Bound;
use std::time::Instant;

fn keys(n: usize) -> Vec<[u8; 8]> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_be_bytes()
        })
        .collect()
}

fn run(name: &str, index: &dyn OrderedIndex, keys: &[[u8; 8]]) {
    let t = Instant::now();
    for k in keys {
        index.insert(k, k).unwrap();
    }
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut sum = 0usize;
    for k in keys {
        index.get(k, &mut |v| sum += v.len());
    }
    let get = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let scans = keys.len() / 100;
    for k in &keys[..scans] {
        let mut n = 0;
        index.scan(Bound::Included(k), Bound::Unbounded, &mut |_, v| {
            sum += v.len();
            n += 1;
            n < 100
        });
    }
    let scan = t.elapsed().as_secs_f64();
    let t = Instant::now();
    std::thread::scope(|s| {
        for part in keys.chunks(keys.len().div_ceil(2)) {
            s.spawn(move || {
                let mut sum = 0usize;
                for k in part {
                    index.get(k, &mut |v| sum += v.len());
                }
                std::hint::black_box(sum);
            });
        }
    });
    let get2 = t.elapsed().as_secs_f64();
    let n = keys.len() as f64;
    println!(
        "{name:>10}: load {:6.2} Mops/s | get {:6.2} Mops/s | get x2 threads {:6.2} Mops/s | 100-entry scans {:6.3} M/s | {:.1} B/entry",
        n / load / 1e6,
        n / get / 1e6,
        n / get2 / 1e6,
        scans as f64 / scan / 1e6,
        index.memory_usage() as f64 / n
    );
    std::hint::black_box(sum);
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let keys = keys(n);
    run("btree<64>", &BTree::<Optimistic, 64>::new(), &keys);
    run("btree<256>", &BTree::<Optimistic, 256>::new(), &keys);
    run("btree<128>", &BTree::<Optimistic, 128>::new(), &keys);
    run("reference", &LockedBTreeMap::new(), &keys);
}
