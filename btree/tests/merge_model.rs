//! Loom models of the shrinking side of the B-link tree: an emptied leaf
//! unlinked into its left sibling, and the root giving up its level,
//! racing a reader and a scanner. `cargo test` runs each once on real
//! threads; under `--cfg loom` (`.ci/loom.sh`) loom explores the
//! interleavings, bounded by `LOOM_MAX_PREEMPTIONS`.
//!
//! The trees have 4-slot nodes: five keys make two leaves under a root;
//! all but one of the right leaf's keys are removed first; the racing
//! remove of the last one empties it, it is unlinked, and the root (left
//! with one child) is replaced by the remaining leaf.

use ordex_btree::{BTree, Optimistic};
use ordex_core::sync::{self, thread, Arc};
use ordex_core::OrderedIndex;
use std::ops::Bound;

fn two_leaves() -> BTree<Optimistic, 4> {
    let t = BTree::<Optimistic, 4>::new();
    for k in [b"b", b"d", b"f", b"h", b"j"] {
        t.insert(k, k).unwrap();
    }
    assert_eq!(t.leaf_count(), 2);
    t
}

/// Empties the right leaf but for its last key, which it returns: the
/// racing remove of that key empties the leaf.
fn one_key_right(t: &BTree<Optimistic, 4>) -> Vec<Vec<u8>> {
    let guard = ordex_btree::pin();
    let (last, _) = t.last(&guard).unwrap();
    let right: Vec<Vec<u8>> = t
        .range(Bound::Unbounded, Bound::Included(&last), &guard)
        .map(|(k, _)| k.to_vec())
        .skip(2)
        .collect();
    let (last, rest) = right.split_last().unwrap();
    for k in rest {
        assert!(t.remove(k).unwrap());
    }
    assert_eq!(t.leaf_count(), 2);
    vec![last.clone()]
}

/// A reader of a key that stays finds it, whether it descends before,
/// during or after the unlink and the root's removal.
#[test]
fn unlink_and_shrink_race_reader() {
    sync::model(|| {
        let t = Arc::new(two_leaves());
        let gone = one_key_right(&t);
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                for k in &gone {
                    assert!(t.remove(k).unwrap());
                }
            })
        };
        assert_eq!(t.get_copied(b"d").as_deref(), Some(&b"d"[..]));
        w.join().unwrap();
        assert_eq!(t.leaf_count(), 1, "the emptied leaf was unlinked");
        t.check_invariants(true).unwrap();
        assert_eq!(t.len(), 2);
    });
}

/// A scan racing the unlink and the root's removal sees the keys that
/// stay, ascending, once each; of the removed ones, only some, in order.
#[test]
fn unlink_and_shrink_race_scan() {
    sync::model(|| {
        let t = Arc::new(two_leaves());
        let gone = one_key_right(&t);
        let w = {
            let (t, gone) = (t.clone(), gone.clone());
            thread::spawn(move || {
                for k in &gone {
                    assert!(t.remove(k).unwrap());
                }
            })
        };
        let mut seen = Vec::new();
        t.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, v| {
            assert_eq!(k, v);
            seen.push(k.to_vec());
            true
        });
        assert!(
            seen.windows(2).all(|p| p[0] < p[1]),
            "out of order: {seen:?}"
        );
        seen.retain(|k| !gone.contains(k));
        assert_eq!(seen, vec![b"b".to_vec(), b"d".to_vec()]);
        w.join().unwrap();
    });
}

/// A writer inserting into the leaf that is being emptied and unlinked:
/// its key lands (in the right leaf if it got there first, or in the left
/// one, which took the range over), and the tree is well formed after.
/// The right leaf is the hot leaf (it took the last ascending insert), so
/// the insert tries it before any descent: it lands there before the
/// unlink (which then does not happen), or finds it obsolete and descends.
/// (That the unlink clears the hot pointer is checked by `tests/hot.rs`.)
#[test]
fn unlink_races_insert() {
    sync::model(|| {
        let t = Arc::new(two_leaves());
        let gone = one_key_right(&t);
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                for k in &gone {
                    assert!(t.remove(k).unwrap());
                }
            })
        };
        t.insert(b"k", b"k").unwrap();
        w.join().unwrap();
        assert_eq!(t.get_copied(b"k").as_deref(), Some(&b"k"[..]));
        assert_eq!(t.len(), 3);
        t.check_invariants(true).unwrap();
        // And the next insert past it, through whatever leaf is hot now.
        t.insert(b"l", b"l").unwrap();
        t.check_invariants(true).unwrap();
        assert_eq!(t.len(), 4);
    });
}
