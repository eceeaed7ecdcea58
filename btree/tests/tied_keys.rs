//! Long keys whose heads tie (URLs behind a few hosts: the 8 bytes after
//! a node's prefix agree for many keys) against a `BTreeMap` model:
//! inserts, overwrites, removals, range removals, snapshots that keep old
//! versions (so long keys leave their leaves' blocks for entries of their
//! own), splits and merges on small and default nodes, and bulk loads.
//! After every batch the tree's invariants hold (among them: every inner
//! node's separator tails are the 8 bytes after their heads), every key
//! the model holds is found with its value, keys between them and around
//! them are not, and scans match.

use ordex_btree::{BTree, Latch, Optimistic};
use ordex_core::OrderedIndex;
use ordex_testkit::rng::Rng;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A URL-like key: one of a few long hosts, then path segments from a
/// small alphabet, so that keys tie on long prefixes and part at every
/// depth (some keys are prefixes of others).
fn url(rng: &mut Rng) -> Vec<u8> {
    const HOSTS: [&str; 4] = [
        "https://en.wikipedia.org/wiki/",
        "https://github.com/",
        "https://www.example.com/",
        "https://a.b/",
    ];
    const WORDS: [&str; 3] = ["category/", "section-", ""];
    let mut k = HOSTS[rng.index(HOSTS.len())].as_bytes().to_vec();
    for _ in 0..1 + rng.index(4) {
        k.extend(WORDS[rng.index(WORDS.len())].as_bytes());
        let len = 1 + rng.index(5);
        k.extend((0..len).map(|_| b"abc/_"[rng.index(5)]));
    }
    k
}

fn value(rng: &mut Rng) -> Vec<u8> {
    let len = [0, 8, 12, 40][rng.index(4)];
    (0..len)
        .map(|i| (rng.next_u64() as u8).wrapping_add(i as u8))
        .collect()
}

fn check<L: Latch, const N: usize>(
    t: &BTree<L, N>,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    rng: &mut Rng,
    no_snapshot: bool,
) {
    t.check_invariants(no_snapshot).unwrap();
    assert_eq!(t.len(), model.len());
    for (k, v) in model {
        assert_eq!(t.get_copied(k).as_ref(), Some(v), "{k:?}");
    }
    for _ in 0..200 {
        let k = url(rng);
        assert_eq!(t.get_copied(&k).as_ref(), model.get(&k), "{k:?}");
    }
    let mut got = Vec::new();
    let from = url(rng);
    t.scan(Bound::Included(&from), Bound::Unbounded, &mut |k, v| {
        got.push((k.to_vec(), v.to_vec()));
        got.len() < 50
    });
    let want: Vec<_> = model
        .range::<[u8], _>((Bound::Included(&from[..]), Bound::Unbounded))
        .take(50)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(got, want, "scan from {from:?}");
}

fn run<const N: usize>(seed: u64, rounds: usize) {
    let mut rng = Rng::new(seed);
    let t = BTree::<Optimistic, N>::new();
    let mut model = BTreeMap::new();
    for round in 0..rounds {
        // A snapshot held over some rounds keeps the overwritten and
        // removed versions (long keys then live in entries of their own).
        let snap = (round % 3 == 1).then(|| t.snapshot_ref());
        for _ in 0..300 {
            let k = url(&mut rng);
            match rng.index(40) {
                0..=23 => {
                    let v = value(&mut rng);
                    t.insert(&k, &v).unwrap();
                    model.insert(k, v);
                }
                24..=38 => {
                    // Remove a key the model holds, near a random one.
                    let near = model
                        .range::<[u8], _>((Bound::Included(&k[..]), Bound::Unbounded))
                        .next()
                        .map(|(k, _)| k.clone());
                    if let Some(k) = near {
                        assert!(t.remove(&k).unwrap());
                        model.remove(&k);
                    }
                }
                _ => {
                    // A short range: the key and a few after it.
                    let (a, mut b) = (k.clone(), k);
                    b.push(b'c');
                    let gone = t.remove_range(Bound::Included(&a), Bound::Excluded(&b));
                    let keys: Vec<_> = model
                        .range::<[u8], _>((Bound::Included(&a[..]), Bound::Excluded(&b[..])))
                        .map(|(k, _)| k.clone())
                        .collect();
                    assert_eq!(gone, keys.len());
                    for k in keys {
                        model.remove(&k);
                    }
                }
            }
        }
        // Versions a dropped snapshot kept go at the keys' next writes.
        check(&t, &model, &mut rng, false);
        drop(snap);
    }
    // The same keys bulk loaded.
    let b = BTree::<Optimistic, N>::from_sorted(model.iter().map(|(k, v)| (k.clone(), v.clone())));
    check(&b, &model, &mut rng, true);
}

#[test]
fn tied_urls_on_small_nodes() {
    for seed in 1..=6u64 {
        run::<8>(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 12);
    }
}

#[test]
fn tied_urls_on_default_nodes() {
    for seed in 1..=3u64 {
        run::<64>(seed.wrapping_mul(0xD1B5_4A32_D192_ED03), 20);
    }
}
