//! Model tests of the B-link tree against `std::collections::BTreeMap`,
//! with 4-slot nodes so that short programs already split leaves and inner
//! nodes and grow the root several times. After every program the tree's
//! structure is checked (`check_invariants`): key order along every level,
//! high keys, right-links, levels, `len()`, and chains of length one when
//! no snapshot was ever taken.

use ordex_btree::{BTree, Optimistic};
use ordex_core::{OrderedIndex, OrderedIndexExt, Snapshot, SnapshotExt};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    Get(Vec<u8>),
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>, usize),
    TakeSnapshot,
    DropSnapshot(usize),
    SnapshotGet(usize, Vec<u8>),
    SnapshotScan(usize, Bound<Vec<u8>>, Bound<Vec<u8>>),
}

/// Keys from a tiny alphabet (prefixes, 0x00 and 0xFF, equal 4-byte heads),
/// sometimes long.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', b'b', 0xFF]), 0..7),
        1 => (prop::collection::vec(prop::sample::select(vec![0u8, b'a', 0xFF]), 0..3), 4usize..40)
            .prop_map(|(mut k, n)| { k.extend(std::iter::repeat_n(b'x', n)); k }),
    ]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        1 => Just(Bound::Unbounded),
        2 => key().prop_map(Bound::Included),
        2 => key().prop_map(Bound::Excluded),
    ]
}

fn op(snapshots: bool) -> impl Strategy<Value = Op> {
    // In the slot (up to 8 bytes), packed in the leaf's block, and now
    // and then too long to pack (out of line), so that an entry moves
    // between the three.
    let value = prop_oneof![
        12 => prop::collection::vec(any::<u8>(), 0..40),
        1 => prop::collection::vec(any::<u8>(), 240..300),
    ];
    let base = prop_oneof![
        8 => (key(), value).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => key().prop_map(Op::Remove),
        2 => key().prop_map(Op::Get),
        1 => (bound(), bound(), 1usize..50).prop_map(|(a, b, n)| Op::Scan(a, b, n)),
    ];
    if snapshots {
        prop_oneof![
            14 => base,
            1 => Just(Op::TakeSnapshot),
            1 => any::<usize>().prop_map(Op::DropSnapshot),
            1 => (any::<usize>(), key()).prop_map(|(i, k)| Op::SnapshotGet(i, k)),
            1 => (any::<usize>(), bound(), bound()).prop_map(|(i, a, b)| Op::SnapshotScan(i, a, b)),
        ]
        .boxed()
    } else {
        base.boxed()
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn model_range(m: &Model, from: &Bound<Vec<u8>>, to: &Bound<Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    if ordex_core::is_empty_range(as_ref(from), as_ref(to)) {
        return Vec::new();
    }
    m.range::<[u8], _>((as_ref(from), as_ref(to)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn run(ops: Vec<Op>, no_snapshot: bool) -> Result<(), TestCaseError> {
    let tree = BTree::<Optimistic, 4>::new();
    let mut model = Model::new();
    let mut snaps: Vec<(Box<dyn Snapshot + '_>, Model)> = Vec::new();
    let mut last_seqno = 0;
    for op in ops {
        match op {
            Op::Insert(k, v) => {
                let s = tree.insert(&k, &v).unwrap();
                prop_assert!(s > last_seqno, "seqnos increase");
                last_seqno = s;
                model.insert(k, v);
            }
            Op::Remove(k) => {
                let removed = tree.remove(&k).unwrap();
                prop_assert_eq!(removed, model.remove(&k).is_some());
                if removed {
                    prop_assert_eq!(tree.last_seqno(), last_seqno + 1, "a remove is a write");
                    last_seqno += 1;
                } else {
                    prop_assert_eq!(tree.last_seqno(), last_seqno, "a no-op remove is not");
                }
            }
            Op::Get(k) => prop_assert_eq!(tree.get_copied(&k), model.get(&k).cloned()),
            Op::Scan(from, to, limit) => {
                let mut got = Vec::new();
                let n = tree.scan(as_ref(&from), as_ref(&to), &mut |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    got.len() < limit
                });
                let mut want = model_range(&model, &from, &to);
                let guard = ordex_btree::pin();
                let iterated: Vec<_> = tree
                    .range(as_ref(&from), as_ref(&to), &guard)
                    .map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .collect();
                prop_assert_eq!(&iterated, &want, "range() iterator");
                let mut backwards: Vec<_> = tree
                    .range_rev(as_ref(&from), as_ref(&to), &guard)
                    .map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .collect();
                backwards.reverse();
                prop_assert_eq!(&backwards, &want, "range_rev() iterator");
                let first = tree.first(&guard).map(|(k, v)| (k.to_vec(), v.to_vec()));
                let last = tree.last(&guard).map(|(k, v)| (k.to_vec(), v.to_vec()));
                prop_assert_eq!(
                    first,
                    model.iter().next().map(|(k, v)| (k.clone(), v.clone()))
                );
                prop_assert_eq!(
                    last,
                    model
                        .iter()
                        .next_back()
                        .map(|(k, v)| (k.clone(), v.clone()))
                );
                want.truncate(limit);
                prop_assert_eq!(n, want.len());
                prop_assert_eq!(got, want);
            }
            Op::TakeSnapshot => {
                let s = tree.snapshot();
                prop_assert_eq!(s.seqno(), last_seqno);
                snaps.push((s, model.clone()));
            }
            Op::DropSnapshot(i) => {
                if !snaps.is_empty() {
                    let i = i % snaps.len();
                    snaps.swap_remove(i);
                }
            }
            Op::SnapshotGet(i, k) => {
                if !snaps.is_empty() {
                    let (s, m) = &snaps[i % snaps.len()];
                    prop_assert_eq!(s.get_copied(&k), m.get(&k).cloned());
                }
            }
            Op::SnapshotScan(i, from, to) => {
                if !snaps.is_empty() {
                    let (s, m) = &snaps[i % snaps.len()];
                    let mut got = Vec::new();
                    s.scan(as_ref(&from), as_ref(&to), &mut |k, v| {
                        got.push((k.to_vec(), v.to_vec()));
                        true
                    });
                    prop_assert_eq!(got, model_range(m, &from, &to));
                }
            }
        }
        prop_assert_eq!(tree.len(), model.len());
    }
    for (s, m) in &snaps {
        let got = s.collect_range::<[u8], _>(..);
        let want: Vec<_> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(got, want, "snapshot at {} changed", s.seqno());
    }
    if let Err(e) = tree.check_invariants(no_snapshot) {
        return Err(TestCaseError::fail(e));
    }
    let all = tree.collect_range::<[u8], _>(..);
    let want: Vec<_> = model.into_iter().collect();
    prop_assert_eq!(all, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Inserts, removes, gets and scans agree with the model; with no
    /// snapshot every version chain has length one afterwards.
    #[test]
    fn agrees_with_model(ops in prop::collection::vec(op(false), 1..400)) {
        run(ops, true)?;
    }

    /// The same with snapshots taken, read and dropped along the way:
    /// each snapshot reads as the model did when it was taken.
    #[test]
    fn snapshots_agree_with_model(ops in prop::collection::vec(op(true), 1..400)) {
        run(ops, false)?;
    }
}

/// Ascending, descending and interleaved insertion orders of many keys all
/// build a valid tall tree (4-slot nodes), and removing everything leaves
/// an empty, still valid tree.
#[test]
fn sequential_patterns_build_valid_trees() {
    let n = 3000u32;
    let orders: Vec<Vec<u32>> = vec![
        (0..n).collect(),
        (0..n).rev().collect(),
        (0..n).map(|i| (i * 7919) % n).collect(),
    ];
    for order in orders {
        let tree = BTree::<Optimistic, 4>::new();
        for &i in &order {
            tree.insert(&i.to_be_bytes(), &i.to_le_bytes()).unwrap();
        }
        tree.check_invariants(true).unwrap();
        assert_eq!(tree.len(), n as usize);
        let all = tree.collect_range::<[u8], _>(..);
        assert_eq!(all.len(), n as usize);
        for (i, (k, v)) in all.iter().enumerate() {
            assert_eq!(k, &(i as u32).to_be_bytes());
            assert_eq!(v, &(i as u32).to_le_bytes());
        }
        for &i in &order {
            assert!(tree.remove(&i.to_be_bytes()).unwrap());
        }
        tree.check_invariants(true).unwrap();
        assert!(tree.is_empty());
        assert_eq!(tree.collect_range::<[u8], _>(..), vec![]);
    }
}

/// `update` and `remove_range` against the model, on a tall tree.
#[test]
fn update_and_remove_range_agree_with_model() {
    let tree = BTree::<Optimistic, 4>::new();
    let mut model = Model::new();
    for i in 0..600u32 {
        let k = (i * 37 % 600).to_be_bytes().to_vec();
        tree.insert(&k, &[1]).unwrap();
        model.insert(k, vec![1]);
    }
    // Increment every third key, remove every fifth through update, and
    // leave absent keys absent.
    for i in 0..700u32 {
        let k = i.to_be_bytes().to_vec();
        let want_write = model.contains_key(&k) || i % 3 == 0;
        let s = tree.update(&k, |old| {
            if i % 5 == 0 {
                return None;
            }
            match old {
                Some(v) => Some(vec![v[0] + 1]),
                None if i % 3 == 0 => Some(vec![7]),
                None => None,
            }
        });
        let before = model.get(&k).cloned();
        match (i % 5 == 0, before) {
            (true, Some(_)) => {
                model.remove(&k);
            }
            (true, None) => {}
            (false, Some(v)) => {
                model.insert(k.clone(), vec![v[0] + 1]);
            }
            (false, None) if i % 3 == 0 => {
                model.insert(k.clone(), vec![7]);
            }
            (false, None) => {}
        }
        assert_eq!(
            s.is_some(),
            want_write && !(i % 5 == 0 && i >= 600),
            "key {i}"
        );
        assert_eq!(tree.get_copied(&k), model.get(&k).cloned(), "key {i}");
    }
    let lo = 100u32.to_be_bytes();
    let hi = 450u32.to_be_bytes();
    let n = tree.remove_range(Bound::Excluded(&lo[..]), Bound::Included(&hi[..]));
    let doomed: Vec<Vec<u8>> = model
        .range::<[u8], _>((Bound::Excluded(&lo[..]), Bound::Included(&hi[..])))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(n, doomed.len());
    for k in doomed {
        model.remove(&k);
    }
    assert_eq!(
        tree.collect_range::<[u8], _>(..),
        model.into_iter().collect::<Vec<_>>()
    );
    tree.check_invariants(true).unwrap();
}

/// Versions kept for a snapshot are swept when the last snapshot goes:
/// every chain is back to length one and removed keys' entries are gone.
#[test]
fn last_snapshot_drop_sweeps_kept_versions() {
    let tree = BTree::<Optimistic, 8>::new();
    for i in 0..1000u32 {
        tree.insert(&i.to_be_bytes(), b"a").unwrap();
    }
    let s1 = tree.snapshot();
    let s2 = tree.snapshot();
    for i in 0..1000u32 {
        if i % 2 == 0 {
            tree.remove(&i.to_be_bytes()).unwrap();
        } else {
            tree.insert(&i.to_be_bytes(), b"b").unwrap();
        }
    }
    assert!(tree.check_invariants(true).is_err(), "chains are long now");
    drop(s1);
    assert_eq!(s2.collect_range::<[u8], _>(..).len(), 1000);
    drop(s2);
    tree.check_invariants(true).unwrap();
    assert_eq!(tree.len(), 500);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Bulk load agrees with the model for sorted input with some entries
    /// out of order or repeated (those are upserted after the build), the
    /// built tree is well formed, and it keeps working under more writes.
    #[test]
    fn bulk_load_agrees_with_model(
        keys in prop::collection::btree_set(key(), 0..600),
        stray in prop::collection::vec((key(), any::<u8>()), 0..20),
        after in prop::collection::vec(op(false), 0..200),
    ) {
        let mut input: Vec<(Vec<u8>, Vec<u8>)> =
            keys.into_iter().map(|k| { let v = k.clone(); (k, v) }).collect();
        // Splice stray entries in at spread positions.
        for (i, (k, b)) in stray.into_iter().enumerate() {
            let at = (i * 37) % (input.len() + 1);
            input.insert(at, (k, vec![b]));
        }
        let mut model = Model::new();
        for (k, v) in &input {
            model.insert(k.clone(), v.clone());
        }
        let tree = BTree::<Optimistic, 4>::from_sorted(input.iter().map(|(k, v)| (&k[..], &v[..])));
        prop_assert_eq!(tree.len(), model.len());
        if let Err(e) = tree.check_invariants(true) {
            return Err(TestCaseError::fail(e));
        }
        prop_assert_eq!(
            tree.collect_range::<[u8], _>(..),
            model.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()
        );
        for op in after {
            match op {
                Op::Insert(k, v) => {
                    tree.insert(&k, &v).unwrap();
                    model.insert(k, v);
                }
                Op::Remove(k) => {
                    prop_assert_eq!(tree.remove(&k).unwrap(), model.remove(&k).is_some());
                }
                Op::Get(k) => prop_assert_eq!(tree.get_copied(&k), model.get(&k).cloned()),
                _ => {}
            }
        }
        if let Err(e) = tree.check_invariants(true) {
            return Err(TestCaseError::fail(e));
        }
        prop_assert_eq!(
            tree.collect_range::<[u8], _>(..),
            model.into_iter().collect::<Vec<_>>()
        );
    }
}

/// Bulk load of many ascending keys builds a tall tree of full nodes.
#[test]
fn bulk_load_large() {
    // Above the parallel-build threshold (65 536 entries), with short and
    // long keys, and out-of-order entries that are upserted afterwards.
    let n = 100_000u32;
    let key = |i: u32| {
        let mut k = i.to_be_bytes().to_vec();
        if i.is_multiple_of(3) {
            k.extend_from_slice(b"-a-long-key-tail");
        }
        k
    };
    let mut input: Vec<(Vec<u8>, Vec<u8>)> =
        (0..n).map(|i| (key(i), i.to_le_bytes().to_vec())).collect();
    // Out of order: a repeat (overwrites) and a key from the past.
    input.insert(70_000, (key(5), b"again".to_vec()));
    input.push((key(7), b"late".to_vec()));
    let mut model = std::collections::BTreeMap::new();
    for (k, v) in &input {
        model.insert(k.clone(), v.clone());
    }
    let tree = BTree::<Optimistic, 8>::from_sorted(input.iter().map(|(k, v)| (&k[..], &v[..])));
    tree.check_invariants(true).unwrap();
    assert_eq!(tree.len(), n as usize);
    assert_eq!(tree.last_seqno(), input.len() as u64);
    let guard = ordex_btree::pin();
    let all: Vec<(Vec<u8>, Vec<u8>)> = tree
        .range(Bound::Unbounded, Bound::Unbounded, &guard)
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert!(all.iter().eq(model
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<Vec<_>>()
        .iter()));
    let s = tree.insert(b"after", b"x").unwrap();
    assert_eq!(s, input.len() as u64 + 1);
}

/// Removing every key gives the memory back: empty leaves are unlinked,
/// inner nodes merge, the root collapses to a single leaf (under 1% of
/// the peak is left); the tree stays valid and usable.
#[test]
fn removes_give_leaves_back() {
    let tree = BTree::<Optimistic, 16>::new();
    let n = 20_000u32;
    let base = tree.memory_usage();
    for i in 0..n {
        tree.insert(&(i.wrapping_mul(2_654_435_761)).to_be_bytes(), b"v")
            .unwrap();
    }
    let peak = tree.memory_usage() - base;
    for i in 0..n {
        assert!(tree
            .remove(&(i.wrapping_mul(2_654_435_761)).to_be_bytes())
            .unwrap());
    }
    // Let the epoch run the retired frees (other tests of this binary pin
    // concurrently, so this may take a while: wait up to a minute).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut i = 0u64;
    while tree.pending_garbage() != 0 && std::time::Instant::now() < deadline {
        ordex_btree::pin().flush();
        i += 1;
        if i.is_multiple_of(64) {
            std::thread::yield_now();
        }
    }
    assert_eq!(tree.pending_garbage(), 0, "the epoch never advanced");
    tree.check_invariants(true).unwrap();
    assert!(tree.is_empty());
    // Empty leaves merge into their left siblings, underfull inner nodes
    // merge, and the root gives up levels: one leaf is left.
    let leaves = tree.leaf_count();
    assert_eq!(leaves, 1, "{leaves} leaves left");
    let left = tree.memory_usage() - base;
    assert!(
        left * 100 < peak,
        "{left} bytes left of a {peak}-byte peak after removing everything"
    );
    for i in 0..1000u32 {
        tree.insert(&i.to_be_bytes(), b"again").unwrap();
    }
    tree.check_invariants(true).unwrap();
    assert_eq!(tree.len(), 1000);
}

/// The same with 4-slot nodes (the smallest): inner nodes with one child
/// merge too, and the root comes back down to a single leaf.
#[test]
fn removes_give_leaves_back_with_tiny_nodes() {
    let tree = BTree::<Optimistic, 4>::new();
    let n = 3_000u32;
    for i in 0..n {
        tree.insert(&(i.wrapping_mul(2_654_435_761)).to_be_bytes(), b"v")
            .unwrap();
    }
    assert!(tree.leaf_count() > 500);
    for i in 0..n {
        assert!(tree
            .remove(&(i.wrapping_mul(2_654_435_761)).to_be_bytes())
            .unwrap());
    }
    tree.check_invariants(true).unwrap();
    assert!(tree.is_empty());
    assert_eq!(tree.leaf_count(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `replace` returns exactly the value it superseded, for in-slot and
    /// out-of-line keys and values, with and without a snapshot alive; a
    /// returned value stays readable after later writes retire it.
    #[test]
    fn replace_returns_the_previous_value(
        ops in prop::collection::vec(
            (key(), prop::option::of(prop::collection::vec(any::<u8>(), 0..20)), any::<bool>()),
            0..150,
        ),
    ) {
        let tree = BTree::<Optimistic, 4>::new();
        let mut model = Model::new();
        let guard = ordex_btree::pin();
        let mut kept = Vec::new();
        let mut snap = None;
        for (k, v, toggle) in ops {
            if toggle {
                snap = match snap {
                    Some(_) => None,
                    None => Some(tree.snapshot_ref()),
                };
            }
            match v {
                Some(v) => {
                    let (_, old) = tree.replace(&k, &v, &guard);
                    let want = model.insert(k.clone(), v.clone());
                    prop_assert_eq!(old.map(|o| o.to_vec()), want.clone());
                    if let (Some(o), Some(w)) = (old, want) {
                        kept.push((o, w));
                    }
                }
                None => {
                    tree.delete(&k);
                    model.remove(&k);
                }
            }
        }
        drop(snap);
        // Values handed out earlier are still the bytes they were, though
        // later writes retired their records (the guard keeps them).
        for (got, want) in &kept {
            prop_assert_eq!(got.as_slice(), want.as_slice());
        }
        tree.check_invariants(false).unwrap();
    }
}
