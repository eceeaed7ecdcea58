//! Loom models of the pessimistic latches of `ordex_btree::latch`: the
//! reader-writer latch of [`LockCoupling`] (shared readers exclude a
//! writer, an upgrade succeeds only for the sole reader, obsolete is
//! final), and the B-link split under `LockCoupling` and `GlobalLock`
//! with a racing reader. `cargo test` runs each once on real threads;
//! `.ci/loom.sh` explores the interleavings.
//!
//! The protected data sits in `ordex_core::sync::UnsafeCell`, so under
//! loom an access that the latch fails to order is reported as a race.

use ordex_btree::{BTree, GlobalLock, Latch, LockCoupling};
use ordex_core::sync::{self, thread, Arc, UnsafeCell};
use ordex_core::OrderedIndex;

/// A latch and two words that a writer keeps equal.
struct Guarded {
    latch: LockCoupling,
    a: UnsafeCell<u64>,
    b: UnsafeCell<u64>,
}

// SAFETY: `a` and `b` are read only under the shared or exclusive latch
// and written only under the exclusive latch (what the models check).
unsafe impl Sync for Guarded {}

impl Guarded {
    fn new() -> Arc<Self> {
        Arc::new(Guarded {
            latch: LockCoupling::new(),
            a: UnsafeCell::new(0),
            b: UnsafeCell::new(0),
        })
    }

    /// Reads both words under a shared latch; they must be equal.
    fn read(&self) -> Option<u64> {
        let t = self.latch.read().ok()?;
        // SAFETY: the shared latch excludes writers.
        let a = self.a.with(|p| unsafe { *p });
        // SAFETY: as above.
        let b = self.b.with(|p| unsafe { *p });
        assert_eq!(a, b, "a reader saw a half-done write");
        self.latch.check(t).unwrap();
        // SAFETY: `t` is this thread's read of this latch, not yet ended.
        unsafe { self.latch.read_end(t) };
        Some(a)
    }

    /// Increments both words under the exclusive latch.
    fn write_locked(&self) {
        // SAFETY: the caller holds the exclusive latch.
        self.a.with_mut(|p| unsafe { *p += 1 });
        // SAFETY: as above.
        self.b.with_mut(|p| unsafe { *p += 1 });
    }
}

/// A reader and a writer: the reader sees both words before or after the
/// write, never between, and loom finds no unordered access.
#[test]
fn coupling_reader_and_writer_exclude() {
    sync::model(|| {
        let g = Guarded::new();
        let w = {
            let g = g.clone();
            thread::spawn(move || {
                g.latch.lock().unwrap();
                g.write_locked();
                // SAFETY: this thread holds the exclusive latch.
                unsafe { g.latch.unlock() };
            })
        };
        let seen = g.read().unwrap();
        assert!(seen <= 1);
        w.join().unwrap();
        assert_eq!(g.read(), Some(1));
    });
}

/// Two readers that both try to upgrade: an upgrade succeeds only for the
/// sole reader (never for both at once), a failed upgrade leaves the read
/// held, and every successful writer's increment is kept.
#[test]
fn coupling_upgrade_needs_sole_reader() {
    sync::model(|| {
        let g = Guarded::new();
        let go = |g: Arc<Guarded>| {
            move || {
                let t = g.latch.read().unwrap();
                // SAFETY: `t` is this thread's read, not yet ended.
                if unsafe { g.latch.upgrade(t) }.is_ok() {
                    g.write_locked();
                    // SAFETY: the upgrade gave this thread the latch.
                    unsafe { g.latch.unlock() };
                    1
                } else {
                    // SAFETY: a failed upgrade leaves the read held.
                    unsafe { g.latch.read_end(t) };
                    0
                }
            }
        };
        let other = thread::spawn(go(g.clone()));
        let mine = go(g.clone())();
        let theirs = other.join().unwrap();
        assert_eq!(g.read(), Some(mine + theirs));
    });
}

/// A node marked obsolete stays obsolete: a reader either read it before
/// (and saw the old state) or fails; every later read and lock fails.
#[test]
fn coupling_obsolete_is_final() {
    sync::model(|| {
        let g = Guarded::new();
        let w = {
            let g = g.clone();
            thread::spawn(move || {
                g.latch.lock().unwrap();
                g.write_locked();
                // SAFETY: this thread holds the exclusive latch.
                unsafe { g.latch.unlock_obsolete() };
            })
        };
        if let Some(seen) = g.read() {
            assert_eq!(seen, 0, "a read after the unlink succeeded");
        }
        w.join().unwrap();
        assert!(g.latch.is_obsolete());
        assert!(g.latch.read().is_err());
        assert!(g.latch.lock().is_err());
    });
}

fn full_leaf<L: Latch>() -> BTree<L, 4> {
    let t = BTree::<L, 4>::new();
    for k in [b"b", b"d", b"f", b"h"] {
        t.insert(k, k).unwrap();
    }
    t
}

/// The split of a full root leaf racing a reader, under `L`: the reader
/// finds the keys present throughout, and nothing deadlocks.
fn split_races_reader<L: Latch>() {
    sync::model(|| {
        let t = Arc::new(full_leaf::<L>());
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

#[test]
fn coupling_split_races_reader() {
    split_races_reader::<LockCoupling>();
}

#[test]
fn global_split_races_reader() {
    split_races_reader::<GlobalLock>();
}

/// Two writers under lock coupling, one splitting the root leaf and one
/// inserting beside it: both keys land, the tree stays well formed.
#[test]
fn coupling_two_writers_split() {
    sync::model(|| {
        let t = Arc::new(full_leaf::<LockCoupling>());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                t.insert(b"e", b"e").unwrap();
            })
        };
        t.insert(b"i", b"i").unwrap();
        w.join().unwrap();
        assert_eq!(t.get_copied(b"e").as_deref(), Some(&b"e"[..]));
        assert_eq!(t.get_copied(b"i").as_deref(), Some(&b"i"[..]));
        t.check_invariants(true).unwrap();
    });
}

/// Two leaves under one root; the right one holds only "e".
fn two_leaves<L: Latch>() -> BTree<L, 4> {
    let t = BTree::<L, 4>::new();
    for k in [b"a", b"b", b"c", b"d", b"e"] {
        t.insert(k, k).unwrap();
    }
    t.remove(b"c").unwrap();
    t.remove(b"d").unwrap();
    t
}

/// Under lock coupling, removing the last key of the right leaf (which
/// unlinks it, taking three latches by upgrade) races a scan that latches
/// leaf by leaf: the scan sees the keys present throughout, once, in
/// order, and nothing deadlocks. (The unlink may give up if the scan holds
/// a latch it needs; that is allowed.)
#[test]
fn coupling_unlink_races_scan() {
    sync::model(|| {
        let t = Arc::new(two_leaves::<LockCoupling>());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                assert!(t.remove(b"e").unwrap());
            })
        };
        let mut seen = Vec::new();
        t.scan(
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            &mut |k, v| {
                assert_eq!(k, v);
                seen.push(k.to_vec());
                true
            },
        );
        seen.retain(|k| k != b"e");
        assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec()]);
        w.join().unwrap();
        t.check_invariants(true).unwrap();
    });
}

/// Under lock coupling, an insert into the emptied leaf's range races its
/// unlink: the key lands and nothing is lost.
#[test]
fn coupling_unlink_races_insert() {
    sync::model(|| {
        let t = Arc::new(two_leaves::<LockCoupling>());
        let w = {
            let t = t.clone();
            thread::spawn(move || {
                assert!(t.remove(b"e").unwrap());
            })
        };
        t.insert(b"f", b"f").unwrap();
        w.join().unwrap();
        assert_eq!(t.get_copied(b"f").as_deref(), Some(&b"f"[..]));
        assert_eq!(t.get_copied(b"e"), None);
        assert_eq!(t.get_copied(b"a").as_deref(), Some(&b"a"[..]));
        t.check_invariants(true).unwrap();
    });
}
