//! Single-operation microbenchmarks of every ordex backend:
//! `cargo bench -p index-bench`. Each backend is benchmarked through its
//! concrete type (static dispatch) on 100k random 16-byte keys with 32-byte
//! values: get (hit), insert (overwrite), seek + next ×10, and snapshot
//! (take one and read one key through it).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use index_bench::dist::SplitMix64;
use ordex_core::{reference::LockedBTreeMap, OrderedIndex};
use std::hint::black_box;
use std::ops::Bound;

const ENTRIES: usize = 100_000;

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

fn bench_backend<I: OrderedIndex>(c: &mut Criterion, name: &str, index: I) {
    let keys = keys();
    let value = [0x5Au8; 32];
    for k in &keys {
        index.insert(k, &value).expect("insert");
    }
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    let mut rng = SplitMix64::new(11);
    g.bench_function(BenchmarkId::new("get", "hit"), |b| {
        b.iter(|| {
            let k = &keys[rng.below(ENTRIES as u64) as usize];
            let mut n = 0;
            index.get(black_box(k), &mut |v| n = v.len());
            n
        })
    });
    g.bench_function(BenchmarkId::new("insert", "overwrite"), |b| {
        b.iter(|| {
            let k = &keys[rng.below(ENTRIES as u64) as usize];
            index.insert(black_box(k), &value).expect("insert")
        })
    });
    g.bench_function(BenchmarkId::new("seek+next", "10"), |b| {
        b.iter(|| {
            let k = &keys[rng.below(ENTRIES as u64) as usize];
            let mut n = 0;
            index.scan(
                Bound::Included(black_box(&k[..])),
                Bound::Unbounded,
                &mut |_, v| {
                    n += v.len();
                    n < 10 * value.len()
                },
            )
        })
    });
    g.bench_function(BenchmarkId::new("snapshot", "take+get"), |b| {
        b.iter(|| {
            let snap = index.snapshot();
            let k = &keys[rng.below(ENTRIES as u64) as usize];
            snap.get(black_box(k), &mut |v| {
                black_box(v);
            })
        })
    });
    g.finish();
}

fn ops(c: &mut Criterion) {
    bench_backend(c, "ordex-reference", LockedBTreeMap::new());
    bench_backend(c, "ordex-skiplist", ordex_skiplist::SkipList::new());
    // Each backend's issue adds its line here.
}

criterion_group!(benches, ops);
criterion_main!(benches);
