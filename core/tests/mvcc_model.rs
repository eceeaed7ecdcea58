//! Models of the seqno clock and the snapshot registry (`ordex_core::mvcc`).
//! `cargo test` runs each once on real threads; under `--cfg loom` (see
//! `.ci/loom.sh`) every interleaving is explored.

use ordex_core::mvcc::{must_keep, Clock, NO_SNAPSHOT};
use ordex_core::sync::{self, thread, Arc};

/// Two writers take seqnos and publish them while a snapshot registers:
/// the snapshot's writes are all complete when it returns, and a writer
/// whose seqno is above the snapshot's sees a pin at or below it (so it
/// keeps the version the snapshot sees: the handshake `take` and
/// `snapshot_begin` make with SeqCst). After the snapshot ends, nothing
/// is pinned.
#[test]
fn snapshots_and_writers_see_each_other() {
    sync::model(|| {
        let clock = Arc::new(Clock::new());
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let clock = clock.clone();
                thread::spawn(move || {
                    let t = clock.take();
                    clock.publish(t.seqno);
                    t
                })
            })
            .collect();
        let s = clock.snapshot_begin();
        assert!(clock.visible() >= s, "a snapshot's writes are complete");
        let taken: Vec<_> = writers.into_iter().map(|h| h.join().unwrap()).collect();
        for t in &taken {
            if t.seqno > s {
                assert!(
                    t.oldest <= s,
                    "write {} did not see the snapshot at {s} (oldest {})",
                    t.seqno,
                    t.oldest
                );
                assert!(must_keep(t.oldest, t.seqno));
            }
        }
        assert_eq!(clock.visible(), 2, "both writes are published");
        assert!(clock.snapshot_end(s));
        assert_eq!(clock.oldest(), NO_SNAPSHOT);
    });
}

/// Writes published out of order become visible in order: `visible`
/// never passes a seqno whose write is not complete, and once both are
/// published it has reached both, whichever thread advanced it (without
/// the fence after a publication's store, each thread could miss the
/// other's and `visible` stayed at 1).
#[test]
fn visibility_waits_for_every_lower_seqno() {
    sync::model(|| {
        let clock = Arc::new(Clock::new());
        let (a, b) = (clock.take(), clock.take());
        let early = {
            let clock = clock.clone();
            thread::spawn(move || clock.publish(b.seqno))
        };
        assert_eq!(clock.visible(), 0, "2 became visible before 1 was done");
        clock.publish(a.seqno);
        early.join().unwrap();
        assert_eq!(clock.visible(), 2);
    });
}
