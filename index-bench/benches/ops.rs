//! Single-operation microbenchmarks of every ordex backend:
//! `cargo bench -p index-bench [-- FILTER]`. Each backend is benchmarked
//! through its concrete type (static dispatch) on 100k random 16-byte keys
//! with 32-byte values: get (hit), insert (overwrite), seek + next ×10, and
//! snapshot (take one and read one key through it). Each operation runs in
//! seven rounds of 100k calls; the table gives the median nanoseconds per
//! call and the fastest and slowest round. A filter keeps the backends
//! whose name contains it.
//!
//! A plain timing loop, not criterion: what a change is worth is judged
//! with `index-bench ab` on every key shape; this is the quick look at one
//! operation's cost in cache, and keeping criterion's dependencies out of
//! `cargo test --workspace` saved a minute of every build of the tests.

use index_bench::dist::SplitMix64;
use ordex_core::{reference::LockedBTreeMap, OrderedIndex};
use std::hint::black_box;
use std::ops::Bound;
use std::time::Instant;

const ENTRIES: usize = 100_000;
const CALLS: usize = 100_000;
const ROUNDS: usize = 7;

fn keys() -> Vec<[u8; 16]> {
    let mut rng = SplitMix64::new(7);
    (0..ENTRIES)
        .map(|_| {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            k[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            k
        })
        .collect()
}

/// Runs `op` with a random key `CALLS` times per round; prints the median
/// nanoseconds per call and the range over the rounds.
fn time(name: &str, op_name: &str, keys: &[[u8; 16]], mut op: impl FnMut(&[u8; 16]) -> usize) {
    let mut rng = SplitMix64::new(11);
    let picks: Vec<usize> = (0..CALLS)
        .map(|_| rng.below(ENTRIES as u64) as usize)
        .collect();
    let mut ns: Vec<f64> = (0..=ROUNDS)
        .map(|_| {
            let t = Instant::now();
            let mut sum = 0usize;
            for &i in &picks {
                sum = sum.wrapping_add(op(black_box(&keys[i])));
            }
            black_box(sum);
            t.elapsed().as_nanos() as f64 / CALLS as f64
        })
        .skip(1) // the first round warms the caches
        .collect();
    ns.sort_by(f64::total_cmp);
    println!(
        "{name:<18} {op_name:<18} {:>8.1} ns  [{:.1}-{:.1}]",
        ns[ROUNDS / 2],
        ns[0],
        ns[ROUNDS - 1]
    );
}

fn bench_backend<I: OrderedIndex>(filter: &str, name: &str, index: I) {
    if !name.contains(filter) {
        return;
    }
    let keys = keys();
    let value = [0x5Au8; 32];
    for k in &keys {
        index.insert(k, &value).expect("insert");
    }
    time(name, "get (hit)", &keys, |k| {
        let mut n = 0;
        index.get(k, &mut |v| n = v.len());
        n
    });
    time(name, "insert (overwrite)", &keys, |k| {
        index.insert(k, &value).expect("insert") as usize
    });
    time(name, "seek+next x10", &keys, |k| {
        let mut n = 0;
        index.scan(Bound::Included(&k[..]), Bound::Unbounded, &mut |_, v| {
            n += v.len();
            n < 10 * value.len()
        })
    });
    time(name, "snapshot+get", &keys, |k| {
        let snap = index.snapshot();
        let mut n = 0;
        snap.get(k, &mut |v| n = v.len());
        n
    });
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is the filter.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    println!("{ENTRIES} random 16-byte keys, 32-byte values; median of {ROUNDS} rounds of {CALLS} calls [fastest-slowest]");
    bench_backend(&filter, "ordex-reference", LockedBTreeMap::new());
    bench_backend(&filter, "ordex-skiplist", ordex_skiplist::SkipList::new());
    bench_backend(&filter, "ordex-btree", <ordex_btree::BTree>::new());
    bench_backend(&filter, "ordex-art", ordex_art::Art::new());
    bench_backend(
        &filter,
        "ordex-persistent",
        ordex_persistent::PersistentBTree::new(),
    );
}
