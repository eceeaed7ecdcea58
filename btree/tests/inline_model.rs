//! Loom models of in-slot values and snapshots. A value of at most 8 bytes
//! is stored in the leaf slot without a seqno only when no live snapshot
//! is older than the write; when a snapshot is (or may be) registered
//! concurrently, the write must keep the old value in a chain instead.
//! These models race an overwrite (and a remove) of an in-slot value
//! against a snapshot being taken and read twice: the snapshot must see
//! one value, the same both times, consistent with its seqno.
//!
//! `cargo test` runs each once on real threads; under `--cfg loom`
//! (`.ci/loom.sh`) loom explores the interleavings.

use ordex_btree::{BTree, Optimistic};
use ordex_core::sync::{self, thread, Arc};
use ordex_core::{OrderedIndex, Snapshot};

fn one_key() -> BTree<Optimistic, 4> {
    let t = BTree::<Optimistic, 4>::new();
    t.insert(b"k", b"old").unwrap();
    t
}

/// An overwrite races a snapshot: the snapshot sees the old or the new
/// value according to its seqno, and sees it again on a second read.
#[test]
fn overwrite_races_snapshot() {
    sync::model(|| {
        let t = Arc::new(one_key());
        let w = {
            let t = t.clone();
            thread::spawn(move || t.insert(b"k", b"new").unwrap())
        };
        let snap = t.snapshot();
        let first = snap.get_copied(b"k");
        let again = snap.get_copied(b"k");
        let s = snap.seqno();
        let wrote = w.join().unwrap();
        assert_eq!(first, again, "a snapshot read changed");
        let want: &[u8] = if wrote <= s { b"new" } else { b"old" };
        assert_eq!(first.as_deref(), Some(want), "seqno {s}, write {wrote}");
        drop(snap);
        assert_eq!(t.get_copied(b"k").as_deref(), Some(&b"new"[..]));
    });
}

/// A remove races a snapshot: the snapshot keeps seeing the value if it
/// was taken before the remove, and sees nothing if after.
#[test]
fn remove_races_snapshot() {
    sync::model(|| {
        let t = Arc::new(one_key());
        let w = {
            let t = t.clone();
            thread::spawn(move || t.delete(b"k").expect("the key is live"))
        };
        let snap = t.snapshot();
        let first = snap.get_copied(b"k");
        let again = snap.get_copied(b"k");
        let s = snap.seqno();
        let removed = w.join().unwrap();
        assert_eq!(first, again, "a snapshot read changed");
        if removed <= s {
            assert_eq!(first, None, "seqno {s}, remove {removed}");
        } else {
            assert_eq!(
                first.as_deref(),
                Some(&b"old"[..]),
                "seqno {s}, remove {removed}"
            );
        }
        drop(snap);
        assert_eq!(t.get_copied(b"k"), None);
    });
}
