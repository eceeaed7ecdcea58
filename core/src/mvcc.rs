//! Versions by seqno: the clock that hands out seqnos and publishes them
//! in order, the registry of live snapshots, and the rule that decides
//! which superseded versions must stay. What every versioned backend
//! needs; ordex-btree and the reference index use it.
//!
//! - [`Clock`]: [`take`](Clock::take) hands out strictly increasing
//!   seqnos (a writer takes one under the latch of what it writes);
//!   [`publish`](Clock::publish) marks one complete, and
//!   [`visible`](Clock::visible) is the newest seqno all of whose writes
//!   are complete (writers never wait for each other, unless more than
//!   [`RING`] writes are in flight). A [`latched`](Clock::latched) clock,
//!   for backends whose readers wait for a write's latch, makes a seqno
//!   visible as it is taken, with one read-modify-write per write instead
//!   of two. The clock also keeps the live
//!   snapshots: [`snapshot_begin`](Clock::snapshot_begin) pins a seqno
//!   every write at or below which is complete, and a writer that takes a
//!   seqno above it sees the pin in [`Taken::oldest`] (a SeqCst handshake,
//!   see `take`).
//! - [`Pins`]: the multiset of pinned seqnos, for a backend that keeps it
//!   under a lock of its own (the reference index), and inside the clock.
//! - The keep rule: a version written at `s` and superseded at `t` is seen
//!   by exactly the snapshots pinned in `s..t` ([`Pins::sees`]); with only
//!   the oldest pin known, keep it if `oldest < t` ([`must_keep`]).

use crate::olc::wait;
use crate::sync::{fence, AtomicU64, Mutex, Ordering};
use crate::Seqno;
use std::collections::BTreeMap;

/// No snapshot alive (the oldest pin when there is none).
pub const NO_SNAPSHOT: Seqno = u64::MAX;

/// Slots of the completion ring: how many writes may be between taking a
/// seqno and completing before a writer waits for an older one.
#[cfg(not(loom))]
pub const RING: u64 = 1024;
/// Slots of the completion ring (small under loom, so models reach it).
#[cfg(loom)]
pub const RING: u64 = 8;

/// A multiset of pinned seqnos.
///
/// ```
/// use ordex_core::mvcc::Pins;
/// let mut pins = Pins::default();
/// pins.pin(5);
/// pins.pin(5);
/// pins.pin(9);
/// assert_eq!(pins.oldest(), Some(5));
/// assert!(pins.sees(3, 6)); // written at 3, superseded at 6: seen at 5
/// assert!(!pins.sees(6, 9)); // superseded at 9: the pin at 9 sees the newer one
/// pins.unpin(5);
/// pins.unpin(5);
/// assert_eq!(pins.oldest(), Some(9));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins(BTreeMap<Seqno, usize>);

impl Pins {
    /// Pins `s` once more.
    pub fn pin(&mut self, s: Seqno) {
        *self.0.entry(s).or_insert(0) += 1;
    }

    /// Drops one pin of `s` (none: nothing happens).
    pub fn unpin(&mut self, s: Seqno) {
        if let Some(n) = self.0.get_mut(&s) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&s);
            }
        }
    }

    /// The oldest pinned seqno.
    pub fn oldest(&self) -> Option<Seqno> {
        self.0.keys().next().copied()
    }

    /// Whether nothing is pinned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a pinned snapshot sees a version written at `written` and
    /// superseded at `superseded`: one pinned in `written..superseded`.
    /// The keep rule: such a version must stay.
    pub fn sees(&self, written: Seqno, superseded: Seqno) -> bool {
        written < superseded && self.0.range(written..superseded).next().is_some()
    }
}

/// The keep rule with only the oldest pin known: a version superseded at
/// `superseded` may be seen by a snapshot (and must stay) unless every
/// snapshot pins `superseded` or later.
#[inline]
pub fn must_keep(oldest: Seqno, superseded: Seqno) -> bool {
    oldest < superseded
}

/// A seqno taken by a writer, and the oldest pin it must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// The write's seqno.
    pub seqno: Seqno,
    /// The oldest pinned seqno ([`NO_SNAPSHOT`] if none), as of the take:
    /// every snapshot pinned below `seqno` is at or above it.
    pub oldest: Seqno,
}

/// The seqno clock and the snapshot registry (see the [module docs](self)).
#[derive(Debug)]
pub struct Clock {
    /// The two words every write changes, on cache lines of their own.
    hot: Hot,
    /// `done[w % RING] == w` once write `w` is complete; `visible` advances
    /// over consecutive completed seqnos (any thread may advance it).
    done: Box<[AtomicU64]>,
    /// The oldest seqno a live snapshot may pin ([`NO_SNAPSHOT`] if none).
    oldest: AtomicU64,
    /// Live snapshot seqnos. Loom's lock under `cfg(loom)` (see `sync`).
    pins: Mutex<Pins>,
    /// Seqnos are visible as they are taken (see [`Clock::latched`]):
    /// `visible` and the ring are unused.
    latched: bool,
}

/// The words of a [`Clock`] that every write changes, alone on their
/// cache lines (128 bytes: x86 fetches lines in pairs), so that a write's
/// read-modify-writes move no line that readers and other writers only
/// read (`oldest`, the ring's address, whatever the owner keeps beside
/// the clock: an index's root).
#[derive(Debug)]
#[repr(align(128))]
struct Hot {
    /// Last seqno handed out.
    seq: AtomicU64,
    /// Every write with a seqno at or below this one is complete.
    visible: AtomicU64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock at seqno 0 with no snapshot.
    pub fn new() -> Self {
        Self::starting_at(0)
    }

    /// A clock whose writes up to `seqno` are taken and complete (an
    /// index bulk-loaded with that many writes), with no snapshot.
    pub fn starting_at(seqno: Seqno) -> Self {
        Clock {
            hot: Hot {
                seq: AtomicU64::new(seqno),
                visible: AtomicU64::new(seqno),
            },
            done: (0..RING).map(|_| AtomicU64::new(0)).collect(),
            oldest: AtomicU64::new(NO_SNAPSHOT),
            pins: Mutex::new(Pins::default()),
            latched: false,
        }
    }

    /// This clock, for a backend whose writes are *latched*: a seqno is
    /// visible as soon as it is taken, [`publish`](Self::publish) does
    /// nothing, and a write costs one read-modify-write of the shared
    /// line instead of two (the line moves between two writers' cores
    /// once a write, not twice).
    ///
    /// Sound only if every write (1) takes its seqno while holding a latch
    /// on what it writes, acquired before the take, (2) holds that latch
    /// until its effect is in place and reachable, and (3) every reader of
    /// what it writes waits for that latch or fails validation on it (an
    /// optimistic version lock, a reader-writer latch, lock coupling). A
    /// snapshot then reads `seq`: its load of a seqno at or above the
    /// write's reads from the write's take (or a later take in the
    /// read-modify-write chain, its release sequence), so the latch was
    /// acquired before every read the snapshot makes afterwards, and each
    /// of those reads finds the latch held (and waits or retries) or
    /// released after the write was applied. What `visible` means is
    /// unchanged for such a reader: every write at or below it is
    /// complete by the time the reader can look at it. A lock-free
    /// writer (a skip list linking a node with a compare-and-swap) has no
    /// such latch and needs [`publish`](Self::publish).
    ///
    /// ```
    /// use ordex_core::mvcc::Clock;
    /// let c = Clock::new().latched();
    /// let t = c.take();
    /// assert_eq!(c.visible(), t.seqno); // visible at once, no publish
    /// c.publish(t.seqno); // does nothing
    /// assert_eq!(c.snapshot_begin(), 1);
    /// ```
    pub fn latched(mut self) -> Self {
        self.latched = true;
        self.done = Box::new([]);
        self
    }

    /// The newest seqno all of whose writes are complete.
    #[inline]
    pub fn visible(&self) -> Seqno {
        if self.latched {
            return self.hot.seq.load(Ordering::Acquire);
        }
        self.hot.visible.load(Ordering::Acquire)
    }

    /// The oldest pinned seqno ([`NO_SNAPSHOT`] if none), SeqCst: read
    /// under a latch after every write the latch saw, it is at or below
    /// every snapshot that can see those writes' older versions.
    #[inline]
    pub fn oldest(&self) -> Seqno {
        fence(Ordering::SeqCst);
        self.oldest.load(Ordering::SeqCst)
    }

    /// Takes the next seqno (under the latch of what the write changes)
    /// and reads the oldest snapshot pin. SeqCst on both, paired with the
    /// SeqCst store and load in [`snapshot_begin`](Self::snapshot_begin):
    /// a snapshot that pins a seqno below this write is seen here.
    #[inline]
    pub fn take(&self) -> Taken {
        let w = self.hot.seq.fetch_add(1, Ordering::SeqCst) + 1;
        // Store-load ordering against `snapshot_begin` (which stores its
        // placeholder, fences, then loads `seq`): at least one side sees
        // the other. The SeqCst read-modify-write and load are in the
        // single total order with the snapshot's SeqCst store, fence and
        // load, which is enough; loom models SeqCst accesses only as
        // acquire/release, so its models get an explicit fence (which on
        // x86 would be a second full barrier after the locked add).
        #[cfg(loom)]
        fence(Ordering::SeqCst);
        Taken {
            seqno: w,
            oldest: self.oldest.load(Ordering::SeqCst),
        }
    }

    /// Marks write `w` complete and advances [`visible`](Self::visible) as
    /// far as the completed seqnos are consecutive. A writer never waits
    /// for another one here, unless [`RING`] writes are in flight at once.
    /// Nothing to do on a [`latched`](Self::latched) clock.
    #[inline]
    pub fn publish(&self, w: Seqno) {
        if self.latched {
            return;
        }
        self.publish_in_ring(w);
    }

    /// [`publish`](Self::publish) through the completion ring.
    fn publish_in_ring(&self, w: Seqno) {
        // The common case, every lower seqno complete: `visible` moves from
        // `w - 1` to `w` in one read-modify-write, with no completion slot
        // and no fence (one locked instruction, not two). A later write
        // that completed first stored its slot, fenced, then read
        // `visible`: if it read it before this CAS (SeqCst), its slot is
        // seen by the `advance` below; if after, it advanced by itself.
        if self.hot.visible.load(Ordering::Relaxed) == w - 1
            && self
                .hot
                .visible
                .compare_exchange(w - 1, w, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            // Loom models SeqCst read-modify-writes as acquire/release
            // only; the fence gives the model what the CAS gives x86.
            #[cfg(loom)]
            fence(Ordering::SeqCst);
            self.advance();
            return;
        }
        let mut rounds = 0;
        while self.hot.visible.load(Ordering::Acquire) + RING < w {
            self.advance();
            wait(&mut rounds);
        }
        self.done[(w % RING) as usize].store(w, Ordering::Release);
        // Between this store and `advance`'s loads: two writers that
        // publish at once each store their slot, then read `visible` and
        // the other's slot; without a full fence on both sides each may
        // miss the other's store (store buffering, allowed on x86 too),
        // and `visible` stays behind a completed write until the next
        // publication. The mvcc model found it.
        fence(Ordering::SeqCst);
        self.advance();
    }

    /// Moves `visible` over every consecutive completed seqno.
    fn advance(&self) {
        let mut v = self.hot.visible.load(Ordering::Acquire);
        loop {
            let next = v + 1;
            if self.done[(next % RING) as usize].load(Ordering::Acquire) != next {
                return;
            }
            match self
                .hot
                .visible
                .compare_exchange(v, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => v = next,
                Err(cur) => v = cur,
            }
        }
    }

    /// Registers a snapshot and returns its seqno: every write at or below
    /// it is complete when this returns, and a writer that takes a seqno
    /// above it sees a pin at or below it (so versions it can see are
    /// kept).
    pub fn snapshot_begin(&self) -> Seqno {
        let s = {
            let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
            // A placeholder first (a lower bound of the final seqno), so a
            // writer whose seqno is above the one we read next sees it.
            let p = if self.latched {
                self.hot.seq.load(Ordering::SeqCst)
            } else {
                self.hot.visible.load(Ordering::SeqCst)
            };
            pins.pin(p);
            self.store_oldest(&pins);
            fence(Ordering::SeqCst);
            let s = self.hot.seq.load(Ordering::SeqCst);
            pins.unpin(p);
            pins.pin(s);
            self.store_oldest(&pins);
            s
        };
        if self.latched {
            // Every write at or below `s` is visible (see `latched`).
            return s;
        }
        let mut rounds = 0;
        while self.hot.visible.load(Ordering::Acquire) < s {
            self.advance();
            wait(&mut rounds);
        }
        s
    }

    /// Unregisters a snapshot of seqno `s`; returns whether it was the
    /// last one alive.
    pub fn snapshot_end(&self, s: Seqno) -> bool {
        let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        pins.unpin(s);
        self.store_oldest(&pins);
        pins.is_empty()
    }

    fn store_oldest(&self, pins: &Pins) {
        let o = pins.oldest().unwrap_or(NO_SNAPSHOT);
        self.oldest.store(o, Ordering::SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn seqnos_become_visible_in_order() {
        let c = Clock::new();
        let (a, b) = (c.take(), c.take());
        assert_eq!((a.seqno, b.seqno), (1, 2));
        assert_eq!(a.oldest, NO_SNAPSHOT);
        c.publish(2);
        assert_eq!(c.visible(), 0, "2 waits for 1");
        c.publish(1);
        assert_eq!(c.visible(), 2);
    }

    #[test]
    fn snapshots_pin_and_writers_see_the_oldest() {
        let c = Clock::new();
        let w = c.take();
        c.publish(w.seqno);
        let s1 = c.snapshot_begin();
        let s2 = c.snapshot_begin();
        assert_eq!((s1, s2), (1, 1));
        let t = c.take();
        assert_eq!(t.oldest, 1);
        assert!(must_keep(t.oldest, t.seqno));
        c.publish(t.seqno);
        assert!(!c.snapshot_end(s1));
        assert!(c.snapshot_end(s2));
        assert_eq!(c.oldest(), NO_SNAPSHOT);
        assert!(!must_keep(c.take().oldest, 3));
    }

    #[test]
    fn the_keep_rule_matches_a_scan_of_the_pins() {
        let mut pins = Pins::default();
        for s in [3, 3, 7, 12] {
            pins.pin(s);
        }
        for written in 0..15 {
            for superseded in written..16 {
                let want = [3, 7, 12].iter().any(|p| (written..superseded).contains(p));
                assert_eq!(
                    pins.sees(written, superseded),
                    want,
                    "{written}..{superseded}"
                );
                if want {
                    assert!(must_keep(pins.oldest().unwrap(), superseded));
                }
            }
        }
    }
}
