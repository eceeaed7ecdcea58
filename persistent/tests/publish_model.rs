//! Models of publication, group commit and reclamation. `cargo test` runs
//! each once on real threads; under `--cfg loom` (see `.ci/loom.sh`)
//! every interleaving is explored, with the publication cell a loom
//! mutex (arc-swap is not loom-aware; the models check the protocol
//! around it: the queue and the leader handoff, publication after the
//! batch is complete, retirement and the writer's sweep).

use ordex_core::sync::{self, thread, Arc};
use ordex_core::{Error, OrderedIndex, Snapshot};
use ordex_persistent::PersistentBTree;

/// Two writers race through group commit while a reader takes a
/// snapshot: each writer gets its own seqno (1 and 2), sees its write
/// when it returns, and the snapshot holds exactly the writes up to its
/// seqno (each writer adds one key). Once the snapshot is dropped, the
/// writer's sweep leaves only the current version alive.
#[test]
fn writers_get_their_own_seqnos_and_readers_whole_versions() {
    sync::model(|| {
        let index = Arc::new(PersistentBTree::new());
        let writers: Vec<_> = (0..2u8)
            .map(|t| {
                let index = index.clone();
                thread::spawn(move || {
                    let s = index.insert(&[t], &[t]).unwrap();
                    assert!(index.contains(&[t]), "a write is visible when it returns");
                    s
                })
            })
            .collect();
        let snap = index.snapshot_owned();
        assert_eq!(snap.len() as u64, snap.seqno(), "a whole version");
        let mut seqnos: Vec<u64> = writers.into_iter().map(|h| h.join().unwrap()).collect();
        seqnos.sort_unstable();
        assert_eq!(seqnos, [1, 2]);
        assert_eq!(index.len(), 2);
        assert!(snap.seqno() <= 2);
        drop(snap);
        index.reclaim();
        assert_eq!(index.stats().live_versions, 1);
    });
}

/// A reader drops the last snapshot of an old version while the writer
/// publishes and sweeps: the version is freed exactly once, by the writer
/// (at this sweep or the next), never while the reader can still read it.
#[test]
fn retired_versions_are_freed_once_nothing_holds_them() {
    sync::model(|| {
        let index = Arc::new(PersistentBTree::new());
        index.insert(b"k", b"0").unwrap();
        let snap = index.snapshot_owned();
        let reader = thread::spawn(move || {
            assert_eq!(snap.get_copied(b"k").as_deref(), Some(&b"0"[..]));
            drop(snap);
        });
        index.insert(b"k", b"1").unwrap();
        reader.join().unwrap();
        index.reclaim();
        let stats = index.stats();
        assert_eq!((stats.live_versions, stats.old_only_bytes), (1, 0));
        assert_eq!(index.get_copied(b"k").as_deref(), Some(&b"1"[..]));
    });
}

/// A transaction begins while a plain write to the same key is being
/// published: if the write is not in the transaction's version, the
/// transaction must lose when the write committed first, and win when it
/// committed first itself (first committer wins); if the write is in its
/// version, it wins. The final value is the later committer's. This is
/// the handshake between `begin` and the leader's publication and write
/// log, under the registry lock.
#[test]
fn a_transaction_racing_a_write_to_its_key_follows_first_committer_wins() {
    sync::model(|| {
        let index = Arc::new(PersistentBTree::new());
        index.insert(b"k", b"0").unwrap();
        let writer = {
            let index = index.clone();
            thread::spawn(move || index.insert(b"k", b"w").unwrap())
        };
        let mut tx = index.begin();
        let base = tx.base_seqno();
        tx.insert(b"k", b"t").unwrap();
        let committed = tx.commit();
        let w = writer.join().unwrap();
        let last = match committed {
            Ok(s) => {
                assert!(
                    base >= w || s < w,
                    "won against write {w} not in its version {base}"
                );
                if s > w {
                    "t"
                } else {
                    "w"
                }
            }
            Err(Error::Conflict) => {
                assert!(base < w, "lost to write {w} already in its version {base}");
                "w"
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(index.get_copied(b"k").as_deref(), Some(last.as_bytes()));
        assert_eq!(index.stats().open_transactions, 0);
    });
}

/// Two indexes take in each other's versions at once while the main
/// thread drops another snapshot of one of them. Each append joins the
/// two families (node counts then change under one lock, see
/// `src/shared.rs`), taking both families' locks in address order: the
/// two joins in opposite directions must not deadlock (loom reports a
/// deadlock), each index ends with both keys, and every version goes.
#[test]
fn indexes_appending_each_other_join_their_families() {
    sync::model(|| {
        let a = Arc::new(PersistentBTree::new());
        a.insert(b"a", b"1").unwrap();
        let b = Arc::new(PersistentBTree::new());
        b.insert(b"b", b"2").unwrap();
        let (sa, sb) = (a.snapshot_owned(), b.snapshot_owned());
        let extra = sb.clone();
        let ta = {
            let a = a.clone();
            thread::spawn(move || a.append(&sb).unwrap())
        };
        let tb = {
            let b = b.clone();
            thread::spawn(move || b.append(&sa).unwrap())
        };
        drop(extra);
        assert_eq!((ta.join().unwrap(), tb.join().unwrap()), (2, 2));
        for index in [&a, &b] {
            assert!(index.contains(b"a") && index.contains(b"b"));
            index.reclaim();
            assert_eq!(index.stats().live_versions, 1);
        }
    });
}

/// A snapshot outlives its index while another thread writes the index
/// and cuts it: the writes take over the nodes the snapshot reads and
/// retire them, the cut hands a subtree to a new index, and whichever
/// goes last (the snapshot, or the index whose drop hands what it holds
/// to the snapshot) frees the rest. The snapshot reads its version
/// throughout.
#[test]
fn a_snapshot_reads_its_version_while_its_nodes_are_taken_over_and_retired() {
    sync::model(|| {
        let index = Arc::new(PersistentBTree::new());
        index.insert(b"a", b"0").unwrap();
        index.insert(b"b", b"0").unwrap();
        let snap = index.snapshot_owned();
        let writer = {
            let index = index.clone();
            thread::spawn(move || {
                index.insert(b"a", b"1").unwrap();
                let high = index.split_off(b"b").unwrap();
                high.insert(b"b", b"2").unwrap();
                high.insert(b"c", b"2").unwrap();
            })
        };
        assert_eq!(snap.get_copied(b"a").as_deref(), Some(&b"0"[..]));
        drop(index);
        assert_eq!(snap.get_copied(b"b").as_deref(), Some(&b"0"[..]));
        writer.join().unwrap();
        assert_eq!(snap.len(), 2);
        assert_eq!(snap.get_copied(b"a").as_deref(), Some(&b"0"[..]));
    });
}
