//! Differential tests against `BTreeMap` with prefix-heavy keys: shared
//! prefixes longer than the 16 path bytes a node stores, keys that are
//! prefixes of each other, 0x00 and 0xFF runs, the empty key, and enough
//! keys under one byte to grow every node kind and shrink it back. After
//! every program the tree's structure is checked too.
//!
//! `ORDEX_ART_CASES` sets the number of random programs (default 64; the
//! long run sets thousands).

use ordex_art::Art;
use ordex_core::{Cursor, OrderedIndex, OrderedIndexExt, Snapshot, SnapshotExt};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Keys from a few families that stress a radix tree.
fn key() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = prop::sample::select(vec![0x00u8, 0x01, b'a', b'b', 0x7f, 0x80, 0xfe, 0xff]);
    prop_oneof![
        // Short keys over a small alphabet: prefixes of each other.
        prop::collection::vec(alphabet.clone(), 0..6),
        // A long shared prefix (longer than the stored 16 bytes), then a
        // short tail, sometimes cut inside the prefix.
        (0usize..24, prop::collection::vec(alphabet.clone(), 0..4)).prop_map(|(cut, tail)| {
            let mut k = b"https://example.com/".to_vec();
            k.truncate(cut.min(k.len()));
            k.extend(tail);
            k
        }),
        // Wide fan-out under one byte: grows Node4 .. Node256.
        (any::<u8>(), 0usize..3).prop_map(|(b, n)| {
            let mut k = vec![b'w'; n];
            k.push(b);
            k
        }),
        // Big-endian integers: dense and shared.
        (0u64..600).prop_map(|i| (i * 37).to_be_bytes().to_vec()),
        // Tails longer than a node's inline entries under a few shared
        // starts: runs of both sizes, their inline entries (tails up to 10
        // bytes) and leaves, bursts, and runs collapsing on removal.
        (0u8..3, prop::collection::vec(alphabet, 7..13)).prop_map(|(s, tail)| {
            let mut k = vec![b'r', s];
            k.extend(tail);
            k
        }),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, u8),
    Remove(Vec<u8>),
    Get(Vec<u8>),
    Seek(Vec<u8>, bool, u8),
    Range(Vec<u8>, Vec<u8>, bool),
    /// A scan from the key that stops itself after this many entries
    /// (its callback says so), live and on the newest snapshot.
    ScanN(Vec<u8>, u16),
    Longest(Vec<u8>),
    Prefix(Vec<u8>),
    Snapshot,
    DropSnapshot,
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (key(), any::<u8>()).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => key().prop_map(Op::Remove),
        2 => key().prop_map(Op::Get),
        2 => (key(), any::<bool>(), 0u8..6).prop_map(|(k, b, n)| Op::Seek(k, b, n)),
        1 => (key(), key(), any::<bool>()).prop_map(|(a, b, r)| Op::Range(a, b, r)),
        1 => (key(), 0u16..300).prop_map(|(k, n)| Op::ScanN(k, n)),
        1 => key().prop_map(Op::Longest),
        1 => key().prop_map(Op::Prefix),
        1 => Just(Op::Snapshot),
        1 => Just(Op::DropSnapshot),
        1 => Just(Op::Sweep),
    ]
}

/// Dense keys under one start (`D`, then a big-endian counter), a few
/// one byte longer: enough under each byte for Node256s of values, with
/// keys that end below their slots.
fn dense_key() -> impl Strategy<Value = Vec<u8>> {
    (0u16..1200, 0u8..16).prop_map(|(i, x)| {
        let mut k = vec![b'D'];
        k.extend_from_slice(&i.to_be_bytes());
        if x == 0 {
            k.push(x);
        }
        k
    })
}

fn dense_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        16 => (dense_key(), any::<u8>()).prop_map(|(k, v)| Op::Insert(k, v)),
        5 => dense_key().prop_map(Op::Remove),
        2 => dense_key().prop_map(Op::Get),
        2 => (dense_key(), any::<bool>(), 0u8..6).prop_map(|(k, b, n)| Op::Seek(k, b, n)),
        1 => (dense_key(), dense_key(), any::<bool>()).prop_map(|(a, b, r)| Op::Range(a, b, r)),
        2 => (dense_key(), 0u16..600).prop_map(|(k, n)| Op::ScanN(k, n)),
        1 => dense_key().prop_map(Op::Longest),
        1 => Just(Op::Snapshot),
        1 => Just(Op::DropSnapshot),
        1 => Just(Op::Sweep),
    ]
}

/// The value written for `k`: for a dense key, 8 bytes (a few of 3, which
/// a Node256 of values cannot hold inline); else of varied lengths.
fn value(k: &[u8], v: u8) -> Vec<u8> {
    if k.first() == Some(&b'D') {
        return vec![v; if v.is_multiple_of(64) { 3 } else { 8 }];
    }
    let mut out = vec![v; (v % 24) as usize];
    out.extend_from_slice(k);
    out
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// An entry callback, as `OrderedIndex::scan` takes it.
type Each<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> bool;

/// A scan from a start to an end, as a test runs it on the tree or a
/// snapshot.
type ScanFn<'a> = &'a dyn Fn(Bound<&[u8]>, Bound<&[u8]>, Each<'_>) -> usize;

/// Seeks `k` (forward or back) and takes `steps` steps the other way and
/// back, on the cursor and on the model.
fn check_cursor(c: &mut dyn Cursor, model: &Model, k: &[u8], fwd: bool, steps: u8) {
    let mut pos: Option<Vec<u8>> = if fwd {
        model.range(k.to_vec()..).next().map(|(k, _)| k.clone())
    } else {
        model
            .range(..=k.to_vec())
            .next_back()
            .map(|(k, _)| k.clone())
    };
    let got = if fwd { c.seek(k) } else { c.seek_for_prev(k) };
    assert_eq!(got, pos.is_some(), "seek {k:?} fwd {fwd}");
    assert_eq!(c.key().map(<[u8]>::to_vec), pos);
    for i in 0..steps {
        let Some(p) = pos.clone() else { break };
        let forward = (i % 3 != 2) == fwd;
        pos = if forward {
            model
                .range((Bound::Excluded(p), Bound::Unbounded))
                .next()
                .map(|(k, _)| k.clone())
        } else {
            model.range(..p).next_back().map(|(k, _)| k.clone())
        };
        let moved = if forward { c.next() } else { c.prev() };
        assert_eq!(moved, pos.is_some());
        assert_eq!(c.key().map(<[u8]>::to_vec), pos);
        if let Some(p) = &pos {
            assert_eq!(c.value(), Some(&model[p][..]));
        }
    }
}

fn run(ops: Vec<Op>) {
    let art = Art::new();
    let mut model = Model::new();
    let mut snaps: Vec<(Box<dyn Snapshot + '_>, Model)> = Vec::new();
    for op in ops {
        match op {
            Op::Insert(k, v) => {
                let v = value(&k, v);
                art.insert(&k, &v).unwrap();
                model.insert(k, v);
            }
            Op::Remove(k) => {
                assert_eq!(art.remove(&k).unwrap(), model.remove(&k).is_some(), "{k:?}");
            }
            Op::Get(k) => assert_eq!(art.get_copied(&k), model.get(&k).cloned(), "{k:?}"),
            Op::Seek(k, fwd, n) => {
                let mut c = OrderedIndex::cursor(&art);
                check_cursor(&mut *c, &model, &k, fwd, n);
                if let Some((s, m)) = snaps.last() {
                    let mut c = s.cursor();
                    check_cursor(&mut *c, m, &k, !fwd, n);
                }
            }
            Op::Range(a, b, rev) => {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                let want: Vec<(Vec<u8>, Vec<u8>)> = model
                    .range(lo.clone()..hi.clone())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(art.collect_range(lo.clone()..hi.clone()), want);
                let guard = ordex_art::pin();
                let mut got: Vec<(Vec<u8>, Vec<u8>)> = art
                    .range(Bound::Included(&lo), Bound::Excluded(&hi), rev, &guard)
                    .map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .collect();
                if rev {
                    got.reverse();
                }
                assert_eq!(got, want, "range {lo:?}..{hi:?} rev {rev}");
            }
            Op::ScanN(k, n) => {
                let n = usize::from(n);
                let take = |scan: &dyn Fn(Each<'_>) -> usize| {
                    let mut got = Vec::new();
                    let seen = scan(&mut |k, v| {
                        got.push((k.to_vec(), v.to_vec()));
                        got.len() < n
                    });
                    assert_eq!(seen, got.len(), "the count of entries given");
                    got
                };
                let want = |m: &Model| -> Vec<(Vec<u8>, Vec<u8>)> {
                    m.range(k.clone()..)
                        .take(n.max(1))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                let from = Bound::Included(&k[..]);
                let got = take(&|f| art.scan(from, Bound::Unbounded, f));
                assert_eq!(got, want(&model), "scan of {n} from {k:?}");
                if let Some((s, m)) = snaps.last() {
                    let got = take(&|f| s.scan(from, Bound::Unbounded, f));
                    assert_eq!(got, want(m), "snapshot scan of {n} from {k:?}");
                }
            }
            Op::Longest(k) => {
                let guard = ordex_art::pin();
                let want = (0..=k.len())
                    .rev()
                    .find_map(|n| model.get_key_value(&k[..n]))
                    .map(|(k, v)| (k.clone(), v.clone()));
                let got = art
                    .longest_prefix(&k, &guard)
                    .map(|(k, v)| (k.to_vec(), v.to_vec()));
                assert_eq!(got, want, "longest prefix of {k:?}");
            }
            Op::Prefix(p) => {
                let mut got = Vec::new();
                art.scan_prefix(&p, &mut |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    true
                });
                let want: Vec<(Vec<u8>, Vec<u8>)> = model
                    .range(p.clone()..)
                    .take_while(|(k, _)| k.starts_with(&p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(got, want, "prefix {p:?}");
            }
            Op::Snapshot => snaps.push((art.snapshot(), model.clone())),
            Op::DropSnapshot => {
                if !snaps.is_empty() {
                    snaps.remove(0);
                }
            }
            Op::Sweep => art.sweep(),
        }
        assert_eq!(art.len(), model.len());
    }
    for (s, m) in &snaps {
        let got: Model = s.collect_range::<Vec<u8>, _>(..).into_iter().collect();
        assert_eq!(&got, m, "snapshot at {}", s.seqno());
    }
    art.check_structure().unwrap();
    let all: Model = art.collect_range::<Vec<u8>, _>(..).into_iter().collect();
    assert_eq!(all, model);
    drop(snaps);
    art.sweep();
    let stats = art.stats();
    assert_eq!(
        stats.leaves + stats.inline + stats.packed,
        model.len(),
        "tombstones left after the sweep"
    );
    assert_eq!(
        stats.versions, stats.leaves,
        "versions left after the sweep"
    );
    art.check_structure().unwrap();
}

fn cases() -> u32 {
    std::env::var("ORDEX_ART_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn programs_agree_with_a_btreemap(ops in prop::collection::vec(op(), 1..400)) {
        run(ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases().div_ceil(4)))]

    /// Long programs on dense keys: Node256s of values grow, shrink, take
    /// leaves (snapshots, other value lengths, longer keys) and give them
    /// up.
    #[test]
    fn dense_programs_agree_with_a_btreemap(ops in prop::collection::vec(dense_op(), 1000..3000)) {
        run(ops);
    }
}

/// A scan from `lo` (included) that stops itself after `n` entries
/// hands out the model's first `n` from there, and counts them.
fn check_first(scan: ScanFn<'_>, model: &Model, lo: &[u8], n: usize) {
    let mut got = Vec::new();
    let seen = scan(Bound::Included(lo), Bound::Unbounded, &mut |k, v| {
        got.push((k.to_vec(), v.to_vec()));
        got.len() < n
    });
    let want: Vec<_> = model
        .range::<[u8], _>((Bound::Included(lo), Bound::Unbounded))
        .take(n)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(seen, got.len());
    assert_eq!(got, want, "{n} from {lo:02x?}");
}

/// Scans through Node256s of values (dense keys), which a forward scan
/// reads a batch of slots at a time: every start, lengths on both sides
/// of a batch and of a node, bounds inside a batch, slots that hold a
/// node or a leaf in the middle of a batch, and a snapshot's scans after
/// later writes.
#[test]
fn scans_through_node256s_of_values() {
    let art = Art::new();
    let mut model = Model::new();
    let key = |i: u32| [&b"D"[..], &(i as u16).to_be_bytes()].concat();
    let put = |art: &Art, model: &mut Model, k: Vec<u8>, v: Vec<u8>| {
        art.insert(&k, &v).unwrap();
        model.insert(k, v);
    };
    for i in 0..1000 {
        put(
            &art,
            &mut model,
            key(i),
            u64::from(i).to_le_bytes().to_vec(),
        );
    }
    // A node below some slots (a key one byte longer), a leaf in others
    // (a value a Node256 of values cannot hold inline).
    for i in [40, 300, 301, 777] {
        put(&art, &mut model, [key(i), vec![0]].concat(), vec![9; 8]);
    }
    for i in [100, 555] {
        put(&art, &mut model, key(i), vec![1, 2, 3]);
    }
    assert!(
        art.stats().nodes[9] >= 3,
        "Node256s of values: {:?}",
        art.stats().nodes
    );
    let check = |scan: ScanFn<'_>, model: &Model| {
        for start in (0..1010).step_by(7) {
            for n in [1usize, 2, 31, 32, 33, 64, 100, 255, 257, 600, 2000] {
                let lo = key(start);
                check_first(scan, model, &lo, n);
                // An upper bound inside the scan (excluded), and one just
                // past a key (included).
                let hi = key(start + n as u32 / 2);
                let mut got = Vec::new();
                scan(Bound::Excluded(&lo), Bound::Included(&hi), &mut |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    true
                });
                let want: Vec<_> = model
                    .range((Bound::Excluded(lo.clone()), Bound::Included(hi.clone())))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(got, want, "({start}, {}]", start + n as u32 / 2);
            }
        }
    };
    check(&|a, b, f| art.scan(a, b, f), &model);
    let snap = art.snapshot();
    let before = model.clone();
    for i in (0..1000).step_by(3) {
        put(&art, &mut model, key(i), vec![7; 8]);
    }
    art.remove(&key(500)).unwrap();
    model.remove(&key(500));
    check(&|a, b, f| snap.scan(a, b, f), &before);
    check(&|a, b, f| art.scan(a, b, f), &model);
    drop(snap);
    art.check_structure().unwrap();
}

/// Scans through Node256s whose children are inline entries and small
/// nodes of inline entries (the bottom of a tree of random integer
/// keys), which a forward scan reads a batch of slots at a time and,
/// for a small node, whole without entering it: from many starts,
/// stopped after every count (inside a small node too), with upper
/// bounds, against the model; some small nodes with compressed paths,
/// some leaves (values too long to sit inline) among the entries, and
/// through a snapshot while the keys change.
#[test]
fn scans_through_small_bottom_nodes() {
    let art = Art::new();
    let mut model = Model::new();
    let put = |art: &Art, model: &mut Model, k: Vec<u8>, v: Vec<u8>| {
        art.insert(&k, &v).unwrap();
        model.insert(k, v);
    };
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let k = next();
        put(
            &art,
            &mut model,
            k.to_be_bytes().to_vec(),
            k.to_le_bytes().to_vec(),
        );
    }
    // Small nodes with compressed paths: under bytes (0x7F, j), the
    // bytes "PATH", then a few keys told apart by their last two bytes.
    for j in 0..200u64 {
        for _ in 0..3 {
            let r = next();
            let k = [&[0x7F, j as u8][..], b"PATH", &r.to_be_bytes()[..2]].concat();
            put(&art, &mut model, k, vec![j as u8; 8]);
        }
    }
    // Leaves among the inline entries.
    let some: Vec<Vec<u8>> = model.keys().step_by(97).cloned().collect();
    for k in &some {
        put(&art, &mut model, k.clone(), vec![0xAB; 12]);
    }
    let nodes = art.stats().nodes;
    assert!(
        nodes[0] >= 500 && nodes[4] >= 200,
        "Node4s, Node256s: {nodes:?}"
    );
    let starts: Vec<Vec<u8>> = model
        .keys()
        .step_by(61)
        .cloned()
        .chain((0..200).map(|_| next().to_be_bytes().to_vec()))
        .chain((0..50u8).map(|j| vec![0x7F, j, b'P']))
        .collect();
    let check = |scan: ScanFn<'_>, model: &Model| {
        for lo in &starts {
            for n in [1usize, 2, 3, 4, 5, 7, 33, 100, 257] {
                check_first(scan, model, lo, n);
            }
            // An upper bound some keys on (included, then excluded).
            let Some(hi) = model.range(lo.clone()..).nth(40).map(|(k, _)| k.clone()) else {
                continue;
            };
            for hi_b in [Bound::Included(&hi[..]), Bound::Excluded(&hi[..])] {
                let mut got = Vec::new();
                scan(Bound::Excluded(lo), hi_b, &mut |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    true
                });
                let want: Vec<_> = model
                    .range::<[u8], _>((Bound::Excluded(&lo[..]), hi_b))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(got, want, "from {lo:02x?} to {hi_b:02x?}");
            }
        }
    };
    check(&|a, b, f| art.scan(a, b, f), &model);
    let snap = art.snapshot();
    let before = model.clone();
    // Overwrites (leaves now: the snapshot needs the old versions),
    // removals and new keys.
    let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    for (i, k) in keys.iter().enumerate().step_by(5) {
        if i % 2 == 0 {
            put(&art, &mut model, k.clone(), vec![1; 8]);
        } else {
            art.remove(k).unwrap();
            model.remove(k);
        }
    }
    for _ in 0..2_000 {
        let k = next();
        put(&art, &mut model, k.to_be_bytes().to_vec(), vec![2; 8]);
    }
    check(&|a, b, f| snap.scan(a, b, f), &before);
    check(&|a, b, f| art.scan(a, b, f), &model);
    drop(snap);
    art.check_structure().unwrap();
}

/// Every node kind grows and shrinks back under one byte, with the
/// structure checked at each size; the tree returns to its root alone.
/// Short keys (whose tails fit a node's inline entries) grow through the
/// kinds by byte; long ones start as runs, which grow to 16, 32 and 64
/// entries and then burst into a Node256.
#[test]
fn nodes_grow_and_shrink_through_every_kind() {
    for path in [&b"q"[..], b"qqqqqqqq"] {
        let art = Art::new();
        let key = |b: u8| [&b"p"[..], path, &[b]].concat();
        for b in 0..=255u8 {
            art.put(&key(b), &[b]).unwrap();
            art.check_structure().unwrap();
            let n = b as usize + 1;
            let want = match n {
                1 => [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
                2..=4 if path.len() > 1 => [0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
                5..=16 if path.len() > 1 => [0, 0, 0, 0, 1, 0, 1, 0, 0, 0],
                17..=32 if path.len() > 1 => [0, 0, 0, 0, 1, 0, 0, 1, 0, 0],
                33..=64 if path.len() > 1 => [0, 0, 0, 0, 1, 0, 0, 0, 1, 0],
                2..=4 => [1, 0, 0, 0, 1, 0, 0, 0, 0, 0],
                5..=16 => [0, 1, 0, 0, 1, 0, 0, 0, 0, 0],
                17..=32 => [0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
                33..=48 => [0, 0, 0, 1, 1, 0, 0, 0, 0, 0],
                // The keys end at the slots' bytes, with values of one
                // length: a Node256 of values.
                _ => [0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
            };
            assert_eq!(art.stats().nodes, want, "{n} keys under {path:?}");
        }
        let s = art.stats();
        assert_eq!(
            s.nodes,
            [0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
            "the root and a full Node256 of values"
        );
        assert_eq!(s.prefix_bytes, path.len(), "the shared path is stored");
        for b in (0..=255u8).rev() {
            assert_eq!(art.get_copied(&key(b)), Some(vec![b]));
            assert!(art.remove(&key(b)).unwrap());
            art.check_structure().unwrap();
            let s = art.stats();
            let kinds = s.nodes;
            let n = b as usize; // keys left
            let want = match n {
                0 | 1 => [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
                2..=3 => [1, 0, 0, 0, 1, 0, 0, 0, 0, 0],
                4..=12 => [0, 1, 0, 0, 1, 0, 0, 0, 0, 0],
                13..=24 => [0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
                25..=40 => [0, 0, 0, 1, 1, 0, 0, 0, 0, 0],
                _ => [0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
            };
            assert_eq!(kinds, want, "{n} keys left under {path:?}");
        }
        assert_eq!(
            art.stats().leaves + art.stats().inline + art.stats().packed,
            0
        );
    }
}

/// Two keys that meet in a slot make a Node4 when their tails are short
/// and as long as each other (keys of one width: integers), and a run
/// when the tails differ in length (words) or are long (URLs).
#[test]
fn a_collision_makes_a_node4_for_keys_of_one_width_and_a_run_otherwise() {
    // Kinds: Node4, Node16, Node32, Node48, Node256 (the root), Run4,
    // Run16, Run32, Run64.
    for (a, b, want) in [
        (&b"ab"[..], &b"ac"[..], [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]),
        (
            &7u64.to_be_bytes()[..],
            &9u64.to_be_bytes()[..],
            [1, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        ),
        (b"ab", b"abcd", [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
        (b"care", b"cart", [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]),
        (b"car", b"cart", [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
        (
            b"https://a.example/x",
            b"https://b.example/y",
            [0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
        ),
    ] {
        let art = Art::new();
        art.put(a, b"1").unwrap();
        art.put(b, b"2").unwrap();
        art.check_structure().unwrap();
        assert_eq!(art.stats().nodes, want, "{a:?} and {b:?}");
        assert_eq!(art.get_copied(a), Some(b"1".to_vec()));
        assert_eq!(art.get_copied(b), Some(b"2".to_vec()));
    }
}

/// Entries in one run whose heads tie (tails too long for an inline
/// entry that agree in their first 4 bytes) are told apart by the tie
/// words the run keeps for them, or by their keys where those tie too:
/// every key is found with its value, keys between them are not, a scan
/// yields them in order, and the structure (tie words included) checks
/// after inserts and removals. Twice: as leaves (a snapshot older than
/// every write is held) and as packed entries (none is).
#[test]
fn entries_whose_heads_tie_are_told_apart() {
    for leaves in [true, false] {
        let art = Art::new();
        let snap = leaves.then(|| art.snapshot());
        let mut model = std::collections::BTreeMap::new();
        // Under the root's 'q', tails of 22 and more bytes in one run:
        // heads `[a] "HEA"` tie for each `a`, tie words (tail bytes 4 to
        // 11, `"D" [b] "-long-"`) tell the `b`s apart, and each key has a
        // twin whose tie word ties with its own (it differs after them).
        for twin in [false, true] {
            for b in 0..8u8 {
                for a in 0..2u8 {
                    let mut key = [&b"q"[..], &[a], b"HEAD", &[b], b"-long-tail-bytes"].concat();
                    if twin {
                        key.extend([b'z', b'z', a ^ b]);
                    }
                    art.put(&key, &key[key.len() - 3..]).unwrap();
                    model.insert(key.clone(), key[key.len() - 3..].to_vec());
                }
            }
        }
        art.check_structure().unwrap();
        let s = art.stats();
        assert_eq!(
            (s.nodes[7], s.leaves + s.packed),
            (1, 32),
            "one run of 32 entries: {s:?}"
        );
        // With no snapshot held every key is packed (the first, a leaf
        // alone under 'q', when the second met it).
        let packed = if leaves { 0 } else { 32 };
        assert_eq!(s.packed, packed, "{s:?}");
        for (k, v) in &model {
            assert_eq!(art.get_copied(k).as_ref(), Some(v), "{k:?}");
            let between = [&k[..], b"y"].concat();
            assert_eq!(art.get_copied(&between), None, "{between:?}");
        }
        assert_eq!(
            art.collect_range::<Vec<u8>, _>(..),
            model.clone().into_iter().collect::<Vec<_>>()
        );
        for (k, _) in model.clone().iter().step_by(3) {
            assert!(art.remove(k).unwrap());
            model.remove(k);
            art.check_structure().unwrap();
        }
        for (k, v) in &model {
            assert_eq!(art.get_copied(k).as_ref(), Some(v), "{k:?}");
        }
        assert_eq!(
            art.collect_range::<Vec<u8>, _>(..),
            model.into_iter().collect::<Vec<_>>()
        );
        drop(snap);
    }
}

/// A key and every prefix of it, down to the empty key, each its own
/// entry, in both orders; found, scanned in order and removed.
#[test]
fn keys_that_are_prefixes_of_each_other() {
    let long: Vec<u8> = (0..40u8).map(|i| i % 3).collect();
    for rev in [false, true] {
        let art = Art::new();
        let mut order: Vec<usize> = (0..=long.len()).collect();
        if rev {
            order.reverse();
        }
        for &n in &order {
            art.put(&long[..n], &[n as u8]).unwrap();
        }
        art.check_structure().unwrap();
        for n in 0..=long.len() {
            assert_eq!(art.get_copied(&long[..n]), Some(vec![n as u8]));
        }
        let keys: Vec<Vec<u8>> = art
            .collect_range::<Vec<u8>, _>(..)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let want: Vec<Vec<u8>> = (0..=long.len()).map(|n| long[..n].to_vec()).collect();
        assert_eq!(keys, want);
        for &n in &order {
            assert!(art.remove(&long[..n]).unwrap());
            art.check_structure().unwrap();
        }
        assert_eq!(art.len(), 0);
    }
}

/// The longest key the limits allow, and a chain of keys each one byte
/// longer than the last, so the tree is as deep as keys are long: every
/// operation (and the drop) works without recursion.
#[test]
fn the_longest_keys_and_deepest_paths_do_not_overflow_the_stack() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let art = Art::new();
            let max = ordex_art::LIMITS.max_key_len;
            let big = vec![7u8; max];
            art.put(&big, b"big").unwrap();
            assert!(art.put(&vec![7u8; max + 1], b"").is_err());
            // Each key is the previous one plus a byte that branches.
            let mut k = Vec::new();
            for i in 0..3000u32 {
                k.push((i % 251) as u8);
                art.put(&k, &i.to_be_bytes()).unwrap();
                let mut sib = k.clone();
                sib.push(255);
                sib.push(1);
                art.put(&sib, b"s").unwrap();
            }
            // About a level per byte (runs take the last few).
            assert!(art.stats().max_depth > 2900);
            assert_eq!(art.get_copied(&big).as_deref(), Some(&b"big"[..]));
            assert_eq!(
                art.get_copied(&k).as_deref(),
                Some(&2999u32.to_be_bytes()[..])
            );
            let n = art.scan(Bound::Unbounded, Bound::Unbounded, &mut |_, _| true);
            assert_eq!(n, 6001);
            let mut c = OrderedIndex::cursor(&art);
            assert!(c.last());
            let mut back = 1;
            while c.prev() {
                back += 1;
            }
            assert_eq!(back, 6001);
            drop(c);
            drop(art);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A node left with one child node does not take over the child when the
/// joined path would not fit the 16 stored bytes: inline entries below
/// need every path byte stored, or a key that differs only in an
/// unstored byte would find them. Once the child empties to one entry,
/// both collapse and the entry moves up two levels (a leaf now: its tail
/// is too long for an inline entry).
#[test]
fn paths_above_inline_entries_stay_whole() {
    let art = Art::new();
    // A node of path "bcdefghi" under 'a' (a full run of 64 keys there,
    // which "...781" bursts), and below its 'X' a run of path "12345678"
    // holding "...781" (packed) and "...782" (inline).
    let extra = |c: u8| [&b"abcdefghi"[..], &[c]].concat();
    for c in 0x80..=0xbe {
        art.put(&extra(c), b"e").unwrap();
    }
    art.put(b"abcdefghiY", b"y").unwrap();
    art.put(b"abcdefghiX123456781", b"1").unwrap();
    art.put(b"abcdefghiX123456782", b"2").unwrap();
    art.check_structure().unwrap();
    for c in 0x80..=0xbe {
        assert!(art.remove(&extra(c)).unwrap());
    }
    art.check_structure().unwrap();
    let s = art.stats();
    // "...781" packed in its run (too long for an inline entry there).
    assert_eq!((s.leaves, s.packed, s.inline), (0, 1, 2), "{s:?}");
    assert_eq!(s.nodes, [1, 0, 0, 0, 1, 1, 0, 0, 0, 0], "{s:?}");
    assert!(art.remove(b"abcdefghiY").unwrap());
    art.check_structure().unwrap();
    // Differs from a key only in byte 17, past 16 bytes of a joined path.
    assert_eq!(art.get_copied(b"abcdefghiX1234567Z2"), None);
    assert_eq!(
        art.get_copied(b"abcdefghiX123456782").as_deref(),
        Some(&b"2"[..])
    );
    assert!(art.remove(b"abcdefghiX123456781").unwrap());
    art.check_structure().unwrap();
    let s = art.stats();
    // The last key, moved up into a slot by byte: a leaf.
    assert_eq!((s.leaves, s.packed, s.inline), (1, 0, 0), "{s:?}");
    assert_eq!(
        s.nodes,
        [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        "only the root is left: {s:?}"
    );
    assert_eq!(
        art.get_copied(b"abcdefghiX123456782").as_deref(),
        Some(&b"2"[..])
    );
    assert_eq!(art.get_copied(b"abcdefghiX1234567Z2"), None);
    let mut c = OrderedIndex::cursor(&art);
    assert!(c.seek(b"abc") && c.key() == Some(&b"abcdefghiX123456782"[..]));
    assert!(!c.next());
}

/// Packed entries (keys too long for an inline entry, in their run's area)
/// through every write that meets them: overwrites in the area while it
/// has room and in a copy with a larger area when it has none; an
/// overwrite and a removal under a snapshot (each key becomes a leaf with
/// both versions, the snapshot still sees the old value); records too
/// long to pack (leaves); and removals down to one key, which moves up
/// into a slot by byte as a leaf.
#[test]
fn packed_entries_through_overwrites_snapshots_and_removals() {
    let art = Art::new();
    let key = |b: u8| [&[b'p'; 30][..], &[b]].concat();
    let mut model = BTreeMap::new();
    let put = |model: &mut BTreeMap<Vec<u8>, Vec<u8>>, k: Vec<u8>, v: Vec<u8>| {
        art.put(&k, &v).unwrap();
        model.insert(k, v);
    };
    for b in 0..6 {
        put(&mut model, key(b), vec![b]);
    }
    let s = art.stats();
    assert_eq!((s.packed, s.leaves), (6, 0), "{s:?}");
    // Overwrites with growing values: the run's area fills, copies take
    // its place with larger areas, the entries stay packed.
    let bytes = s.node_bytes[6];
    for round in 0..20u8 {
        put(
            &mut model,
            key(round % 6),
            vec![round; 10 + usize::from(round) * 5],
        );
        art.check_structure().unwrap();
    }
    let s = art.stats();
    assert_eq!((s.packed, s.leaves), (6, 0), "{s:?}");
    assert!(s.node_bytes[6] > bytes, "a larger area: {s:?}");
    for (k, v) in &model {
        assert_eq!(art.get_copied(k).as_ref(), Some(v), "{k:?}");
    }
    // Under a snapshot, an overwrite and a removal keep the old versions.
    let snap = art.snapshot();
    let before = model.clone();
    put(&mut model, key(1), b"new".to_vec());
    assert!(art.remove(&key(2)).unwrap());
    model.remove(&key(2));
    let s = art.stats();
    assert_eq!((s.packed, s.leaves), (4, 2), "{s:?}");
    for k in before.keys() {
        assert_eq!(art.get_copied(k), model.get(k).cloned(), "{k:?}");
        assert_eq!(snap.get_copied(k), before.get(k).cloned(), "{k:?}");
    }
    drop(snap);
    art.sweep();
    art.check_structure().unwrap();
    // Too long to pack: a key of 300 bytes, a 230-byte value.
    put(&mut model, [&[b'p'; 300][..], b"x"].concat(), b"v".to_vec());
    put(&mut model, key(9), vec![9; 230]);
    let s = art.stats();
    assert_eq!((s.packed, s.leaves), (4, 3), "{s:?}");
    assert_eq!(
        art.collect_range::<Vec<u8>, _>(..),
        model.clone().into_iter().collect::<Vec<_>>()
    );
    // Removals down to one key: it collapses out of the run, a leaf.
    let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    for k in &keys[1..] {
        assert!(art.remove(k).unwrap());
        model.remove(k);
        art.check_structure().unwrap();
        assert_eq!(
            art.collect_range::<Vec<u8>, _>(..),
            model.clone().into_iter().collect::<Vec<_>>()
        );
    }
    let s = art.stats();
    assert_eq!((s.packed, s.leaves, art.len()), (0, 1, 1), "{s:?}");
    assert_eq!(art.get_copied(&keys[0]), model.get(&keys[0]).cloned());
}
