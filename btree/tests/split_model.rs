//! Loom models of the B-link tree's concurrency core: a half-split racing
//! a reader, a scanner, and a second writer that must move right. `cargo
//! test` runs each once on real threads; under `--cfg loom`
//! (`.ci/loom.sh`, or `RUSTFLAGS="--cfg loom" cargo test -p ordex-btree
//! --profile stress --test split_model`) loom explores the interleavings,
//! bounded by `LOOM_MAX_PREEMPTIONS`.
//!
//! The trees have 4-slot nodes and start with one full leaf (the root), so
//! the fifth key splits it and grows a new root.

use ordex_btree::{BTree, Optimistic};
use ordex_core::sync::{self, thread, Arc};
use ordex_core::{OrderedIndex, OrderedIndexExt};
use std::ops::Bound;

fn full_leaf() -> BTree<Optimistic, 4> {
    let t = BTree::<Optimistic, 4>::new();
    for k in [b"b", b"d", b"f", b"h"] {
        t.insert(k, k).unwrap();
    }
    t
}

/// A reader racing the split of the leaf that holds its keys finds every
/// key present throughout, with its value: a key that moved to the new
/// right sibling is reached by moving right (or after a restart).
#[test]
fn split_races_reader() {
    sync::model(|| {
        let t = Arc::new(full_leaf());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                t.insert(b"e", b"e").unwrap();
            })
        };
        assert_eq!(t.get_copied(b"h").as_deref(), Some(&b"h"[..]));
        assert_eq!(t.get_copied(b"b").as_deref(), Some(&b"b"[..]));
        w.join().unwrap();
        assert_eq!(t.get_copied(b"e").as_deref(), Some(&b"e"[..]));
        t.check_invariants(true).unwrap();
    });
}

/// A reader descending from a parent races the split of the leaf it goes
/// to, a leaf whose right sibling is the parent's next child: before the
/// split, the descent may take the parent's separator as the leaf's high
/// key (no read of it); after it, the leaf's right-link is the new half,
/// the descent reads the new high key and moves right to the key that
/// moved. The reader finds the keys that stay and the one that moves.
/// Two preemptions.
#[test]
fn split_under_a_parent_races_reader() {
    sync::model_bounded(2, || {
        // Root [c]: leaves (b, c) and (d, f, h); then (a, b, ba, c) full.
        let t = full_leaf();
        t.insert(b"c", b"c").unwrap();
        t.insert(b"a", b"a").unwrap();
        t.insert(b"ba", b"ba").unwrap();
        let t = Arc::new(t);
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                // Splits (a, b, ba, bb, c): c moves to the new right half.
                t.insert(b"bb", b"bb").unwrap();
            })
        };
        assert_eq!(t.get_copied(b"c").as_deref(), Some(&b"c"[..]));
        assert_eq!(t.get_copied(b"a").as_deref(), Some(&b"a"[..]));
        w.join().unwrap();
        assert_eq!(t.get_copied(b"bb").as_deref(), Some(&b"bb"[..]));
        t.check_invariants(true).unwrap();
    });
}

/// A scan racing the split sees every key present throughout, ascending,
/// exactly once; the new key may or may not be seen. Two preemptions: at
/// three it took about 1,000 s (69 s at two) when a scan copied every
/// leaf; handing inline entries out without a copy (`ef7aae3`) made it
/// 7 s at two.
#[test]
fn split_races_scan() {
    sync::model_bounded(2, || {
        let t = Arc::new(full_leaf());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                t.insert(b"c", b"c").unwrap();
            })
        };
        let mut seen = Vec::new();
        t.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, v| {
            assert_eq!(k, v);
            seen.push(k.to_vec());
            true
        });
        seen.retain(|k| k != b"c");
        assert_eq!(
            seen,
            vec![b"b".to_vec(), b"d".to_vec(), b"f".to_vec(), b"h".to_vec()]
        );
        w.join().unwrap();
    });
}

/// A scan handing out a leaf's inline entries one by one (each validated
/// before the callback sees it) races a remove in that leaf, which shifts
/// the entries still to come left: the scan sees every key present
/// throughout, ascending, exactly once; the removed key may or may not be
/// seen. Two preemptions, as `split_races_scan`.
#[test]
fn remove_races_scan() {
    sync::model_bounded(2, || {
        let t = Arc::new(full_leaf());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                assert!(t.remove(b"d").unwrap());
            })
        };
        let mut seen = Vec::new();
        t.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, v| {
            assert_eq!(k, v);
            seen.push(k.to_vec());
            true
        });
        seen.retain(|k| k != b"d");
        assert_eq!(seen, vec![b"b".to_vec(), b"f".to_vec(), b"h".to_vec()]);
        w.join().unwrap();
        t.check_invariants(true).unwrap();
    });
}

/// Two writers race on the same full leaf: one splits it, the other lands
/// its key on whichever side now covers it (moving right if it descended
/// before the split). Both writes survive and the tree is well formed.
#[test]
fn split_races_second_writer() {
    sync::model(|| {
        let t = Arc::new(full_leaf());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                t.insert(b"a", b"a").unwrap();
            })
        };
        t.insert(b"g", b"g").unwrap();
        w.join().unwrap();
        let keys: Vec<Vec<u8>> = t
            .collect_range::<[u8], _>(..)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [&b"a"[..], b"b", b"d", b"f", b"g", b"h"].map(|k| k.to_vec())
        );
        t.check_invariants(true).unwrap();
    });
}

/// A snapshot taken while a writer overwrites a key sees the old or the
/// new value according to its seqno, and keeps seeing it after the writer
/// is done (the version it needs is not trimmed: the placeholder
/// registration races the writer's seqno and oldest-snapshot reads).
#[test]
fn snapshot_races_overwrite() {
    sync::model(|| {
        let t = Arc::new(BTree::<Optimistic, 4>::new());
        let first = t.put(b"k", b"1");
        let w = {
            let t = t.clone();
            thread::spawn(move || t.put(b"k", b"2"))
        };
        let snap = t.snapshot_ref();
        let seen = ordex_core::Snapshot::get_copied(&snap, b"k");
        let second = w.join().unwrap();
        let s = ordex_core::Snapshot::seqno(&snap);
        assert!(s >= first);
        let want: &[u8] = if s >= second { b"2" } else { b"1" };
        assert_eq!(seen.as_deref(), Some(want));
        assert_eq!(
            ordex_core::Snapshot::get_copied(&snap, b"k").as_deref(),
            Some(want)
        );
        drop(snap);
        assert_eq!(t.get_copied(b"k").as_deref(), Some(&b"2"[..]));
    });
}

/// The same with a remove: a snapshot below the remove's seqno keeps the
/// removed value.
#[test]
fn snapshot_races_remove() {
    sync::model(|| {
        let t = Arc::new(BTree::<Optimistic, 4>::new());
        t.put(b"k", b"1");
        let w = {
            let t = t.clone();
            thread::spawn(move || t.delete(b"k").unwrap())
        };
        let snap = t.snapshot_ref();
        let seen = ordex_core::Snapshot::get_copied(&snap, b"k");
        let removed = w.join().unwrap();
        let s = ordex_core::Snapshot::seqno(&snap);
        let want = (s < removed).then(|| b"1".to_vec());
        assert_eq!(seen, want);
        assert_eq!(ordex_core::Snapshot::get_copied(&snap, b"k"), want);
    });
}

/// Two leaves under one root; the right one holds only "e".
fn two_leaves() -> BTree<Optimistic, 4> {
    let t = BTree::<Optimistic, 4>::new();
    for k in [b"a", b"b", b"c", b"d", b"e"] {
        t.insert(k, k).unwrap();
    }
    t.remove(b"c").unwrap();
    t.remove(b"d").unwrap();
    t
}

/// Removing the last key of the right leaf unlinks it (its left sibling
/// takes its range over) while a scan runs: the scan sees the keys present
/// throughout, ascending, once, whether it meets the leaf before, during
/// or after the unlink (an obsolete leaf sends it down again).
#[test]
fn unlink_races_scan() {
    sync::model(|| {
        let t = Arc::new(two_leaves());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                assert!(t.remove(b"e").unwrap());
            })
        };
        let mut seen = Vec::new();
        t.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, v| {
            assert_eq!(k, v);
            seen.push(k.to_vec());
            true
        });
        seen.retain(|k| k != b"e");
        assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec()]);
        w.join().unwrap();
        t.check_invariants(true).unwrap();
        assert_eq!(t.leaf_count(), 1, "the empty leaf was unlinked");
    });
}

/// An insert into the emptied leaf's range races its unlink: the key lands
/// either in the leaf (which then is not unlinked) or in the left sibling
/// that took the range over; nothing is lost.
#[test]
fn unlink_races_insert() {
    sync::model(|| {
        let t = Arc::new(two_leaves());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                assert!(t.remove(b"e").unwrap());
            })
        };
        t.insert(b"f", b"f").unwrap();
        w.join().unwrap();
        let keys: Vec<Vec<u8>> = t
            .collect_range::<[u8], _>(..)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, [&b"a"[..], b"b", b"f"].map(|k| k.to_vec()));
        t.check_invariants(true).unwrap();
    });
}
