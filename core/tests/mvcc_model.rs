//! Models of the seqno clock and the snapshot registry (`ordex_core::mvcc`).
//! `cargo test` runs each once on real threads; under `--cfg loom` (see
//! `.ci/loom.sh`) every interleaving is explored.

use ordex_core::mvcc::{must_keep, Clock, NO_SNAPSHOT};
use ordex_core::olc::VersionLock;
use ordex_core::sync::{self, thread, Arc, AtomicU64, Ordering::Relaxed};

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

/// A node of the latched-clock model: an optimistic version lock over a
/// version written by one writer (seqno 0: none yet; value 0: the old
/// version, seen by every snapshot).
struct Node {
    lock: VersionLock,
    seqno: AtomicU64,
    value: AtomicU64,
}

impl Node {
    fn new() -> Self {
        Node {
            lock: VersionLock::new(),
            seqno: AtomicU64::new(0),
            value: AtomicU64::new(0),
        }
    }

    /// A write as a latched backend makes it: latch, take the seqno,
    /// write the version, unlatch. Returns the seqno.
    fn write(&self, clock: &Clock, value: u64) -> u64 {
        self.lock.lock().unwrap();
        let t = clock.take();
        self.seqno.store(t.seqno, Relaxed);
        self.value.store(value, Relaxed);
        self.lock.unlock();
        t.seqno
    }

    /// What a reader at snapshot `s` sees: the written value if its
    /// version is at or below `s`, else the old one (0), from an
    /// optimistic read validated against the lock (restarting while the
    /// node is latched).
    fn read_at(&self, s: u64) -> u64 {
        loop {
            let Ok(v) = self.lock.read_begin() else {
                thread::yield_now();
                continue;
            };
            let (seqno, value) = (self.seqno.load(Relaxed), self.value.load(Relaxed));
            if self.lock.validate(v) {
                return if seqno != 0 && seqno <= s { value } else { 0 };
            }
        }
    }
}

/// A latched clock (`Clock::latched`): two writers each latch a node,
/// take a seqno and write a version, with no publication; a snapshot
/// registered meanwhile reads both nodes. It sees each write exactly when
/// the write's seqno is at or below its own: a seqno visible as it is
/// taken is safe because the taker already holds the latch that every
/// reader of its node waits for. (Taking the seqno before latching the
/// node fails this model: the snapshot can then read the node before the
/// write reaches it.)
#[test]
fn latched_writes_are_seen_by_exactly_the_snapshots_at_or_above_them() {
    sync::model(|| {
        let clock = Arc::new(Clock::new().latched());
        let nodes = Arc::new([Node::new(), Node::new()]);
        let writers: Vec<_> = (0..2)
            .map(|i| {
                let (clock, nodes) = (clock.clone(), nodes.clone());
                thread::spawn(move || nodes[i].write(&clock, 10 + i as u64))
            })
            .collect();
        let s = clock.snapshot_begin();
        assert!(clock.visible() >= s);
        let seen = [nodes[0].read_at(s), nodes[1].read_at(s)];
        let taken: Vec<u64> = writers.into_iter().map(|h| h.join().unwrap()).collect();
        for (i, &w) in taken.iter().enumerate() {
            let expected = if w <= s { 10 + i as u64 } else { 0 };
            assert_eq!(
                seen[i], expected,
                "write {w} to node {i}, snapshot at {s}: saw {}",
                seen[i]
            );
        }
        assert_eq!(clock.visible(), 2);
        assert!(clock.snapshot_end(s));
    });
}
