//! Writer lanes: per-writer state without a shared counter on the write
//! path.
//!
//! A table has a few lanes (twice the cores, at least 4). A writer claims
//! one for the length of one write with a CAS on the lane's own cache line
//! (the one its thread used last, so the line stays in that core's cache),
//! and while it holds the lane it allocates from the lane's arena block
//! and counts into the lane's statistics. Nothing on the write path
//! touches a line another writer is using, except the seqno counter.
//!
//! The lane's state word also tells snapshots which seqnos are still being
//! written: a snapshot waits until no lane holds a seqno at or below the
//! one it pins (so it sees exactly the writes up to it), instead of every
//! writer waiting for all earlier seqnos to be published.
//!
//! Any number of threads may write: if every lane is taken, a writer spins
//! over them, then yields; a thread's lane choice is only a hint.

use crate::arena::Block;
use ordex_core::sync::{spin_hint, thread, AtomicI64, AtomicU64, Ordering};
#[cfg(not(loom))]
use std::cell::Cell;

/// Nodes at least this tall are allocated from the lane's `tall` block.
pub(crate) const TALL_HEIGHT: usize = 5;

/// State of a free lane.
pub(crate) const FREE: u64 = 0;
/// Claimed, seqno not yet taken (a snapshot must wait: the seqno may end
/// up below the one it pins).
pub(crate) const PENDING: u64 = u64::MAX;
/// Claimed by a write that takes no auto seqno (`insert_at`, `delete_at`).
pub(crate) const NO_SEQNO: u64 = u64::MAX - 1;

/// One bit of 64 standing for `key` (from its length and its first and
/// last eight bytes: O(1) for any key). Keys with different bits differ;
/// keys with the same bit may not (a wait they share is only extra).
#[inline]
pub(crate) fn key_bits(key: &[u8]) -> u64 {
    // Two fixed-size loads for keys of 8 bytes or more (no memcpy call:
    // this runs on every write).
    let word = match (key.first_chunk::<8>(), key.last_chunk::<8>()) {
        (Some(head), Some(tail)) => {
            u64::from_le_bytes(*head) ^ u64::from_le_bytes(*tail).rotate_left(29)
        }
        _ => key.iter().fold(0u64, |w, &b| w << 8 | u64::from(b)),
    };
    let h = (word ^ key.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    1 << (h >> 58)
}

/// One writer lane, on its own cache lines.
#[repr(align(128))]
#[derive(Debug)]
pub(crate) struct Lane {
    /// `FREE`, `PENDING`, `NO_SEQNO`, or the first seqno of the write in
    /// flight.
    pub(crate) state: AtomicU64,
    /// The lane's arena block.
    pub(crate) block: Block,
    /// The lane's block for tall nodes (see [`Lane::blocks_for`]).
    pub(crate) tall: Block,
    /// Versions written through this lane (a write that shadowed an
    /// equal (key, seqno) added none).
    pub(crate) entries: AtomicU64,
    /// Change of the number of live keys by this lane's writes.
    pub(crate) live: AtomicI64,
    /// Change of the number of tombstone versions by this lane's writes.
    pub(crate) tombstones: AtomicI64,
    /// Versions this lane's writes shadowed (later writes of the same
    /// (key, seqno), see `Duplicates::LaterWins`).
    pub(crate) shadowed: AtomicU64,
    /// The highest seqno this lane's writes linked.
    pub(crate) max_seqno: AtomicU64,
    /// The [`key_bits`] of the keys of the auto-seqno write in flight,
    /// stored before it takes its seqno: a `get_or_insert` (or an exact
    /// `remove`) waits only for lower-seqno writes that may touch its key
    /// (see [`Lanes::wait_below_for`]).
    pub(crate) keys: AtomicU64,
    /// Key and value bytes written through this lane.
    pub(crate) key_bytes: AtomicU64,
    pub(crate) value_bytes: AtomicU64,
    /// Write attempts (including refused ones).
    pub(crate) attempts: AtomicU64,
}

impl Lane {
    fn new() -> Lane {
        Lane {
            state: AtomicU64::new(FREE),
            block: Block::new(),
            tall: Block::new(),
            entries: AtomicU64::new(0),
            live: AtomicI64::new(0),
            tombstones: AtomicI64::new(0),
            shadowed: AtomicU64::new(0),
            max_seqno: AtomicU64::new(0),
            keys: AtomicU64::new(0),
            key_bytes: AtomicU64::new(0),
            value_bytes: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
        }
    }

    /// The block a node of `height` levels is allocated from, and the
    /// block its value goes to if not inline. Nodes of [`TALL_HEIGHT`]
    /// levels or more (one in 18) get a block of their own and keep their
    /// values out of line, in the plain block: the nodes that every search
    /// passes through in the upper levels sit packed together, small,
    /// instead of scattered among short nodes, so fewer cache lines and
    /// pages hold them and more of them stay in cache. The out-of-line
    /// values' offsets cost 0.2 bytes per entry; the measurements are in
    /// the repository's `docs/skiplist.md`.
    #[inline]
    pub(crate) fn blocks_for(&self, height: usize) -> (&Block, Option<&Block>) {
        if height >= TALL_HEIGHT {
            (&self.tall, Some(&self.block))
        } else {
            (&self.block, None)
        }
    }

    /// Bytes of nodes allocated through this lane's blocks.
    pub(crate) fn used(&self) -> usize {
        self.block.used() + self.tall.used()
    }

    /// Bytes this lane's blocks still hold unused.
    pub(crate) fn left(&self) -> usize {
        self.block.left() + self.tall.left()
    }

    /// Adds to a counter of this lane. The holder is the only writer, so
    /// a load and a store suffice (no read-modify-write).
    #[inline]
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    /// Adds a signed change to a counter of this lane (as [`add`](Self::add)).
    #[inline]
    pub(crate) fn change(counter: &AtomicI64, delta: i64) {
        if delta != 0 {
            counter.store(counter.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
        }
    }

    /// Raises a maximum kept by this lane to `v` (as [`add`](Self::add)).
    #[inline]
    pub(crate) fn raise(counter: &AtomicU64, v: u64) {
        if v > counter.load(Ordering::Relaxed) {
            counter.store(v, Ordering::Relaxed);
        }
    }
}

#[cfg(not(loom))]
thread_local! {
    static LANE_HINT: Cell<usize> = const { Cell::new(usize::MAX) };
}
#[cfg(not(loom))]
static NEXT_HINT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// This thread's preferred lane index (before reduction modulo the lane
/// count): threads get consecutive hints, so up to `lanes` threads never
/// share one.
#[inline]
fn hint() -> usize {
    #[cfg(not(loom))]
    {
        LANE_HINT.with(|h| {
            let mut v = h.get();
            if v == usize::MAX {
                v = NEXT_HINT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                h.set(v);
            }
            v
        })
    }
    #[cfg(loom)]
    {
        0
    }
}

#[cfg(not(loom))]
fn remember(i: usize) {
    LANE_HINT.with(|h| h.set(i));
}

#[cfg(loom)]
fn remember(_: usize) {}

/// The lanes of one table.
#[derive(Debug)]
pub(crate) struct Lanes {
    lanes: Box<[Lane]>,
}

/// A claimed lane; dropping it frees the lane (Release: the write's links
/// and counters happen before a snapshot or a seal that sees it free).
pub(crate) struct Claim<'a> {
    pub(crate) lane: &'a Lane,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.lane.state.store(FREE, Ordering::Release);
    }
}

impl Claim<'_> {
    /// Records the first seqno of the write in flight (after taking it).
    #[inline]
    pub(crate) fn set_seqno(&self, first: u64) {
        self.lane.state.store(first, Ordering::Release);
    }
}

impl Lanes {
    /// `n` lanes (at least one).
    /// `n` lanes, rounded up to a power of two (so that picking one is a
    /// mask, not a division: two `div`s took 7% of a single insert's own
    /// time in a profile of ascending loads).
    pub(crate) fn new(n: usize) -> Lanes {
        Lanes {
            lanes: (0..n.max(1).next_power_of_two())
                .map(|_| Lane::new())
                .collect(),
        }
    }

    /// The number of lanes a table gets on this machine.
    pub(crate) fn default_count() -> usize {
        #[cfg(loom)]
        {
            2
        }
        #[cfg(not(loom))]
        {
            // Asked once per process: `available_parallelism` reads the
            // cgroup's files on Linux, which took most of the time to make
            // a table.
            static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
            *COUNT.get_or_init(|| {
                let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
                (2 * cores).next_power_of_two().clamp(4, 64)
            })
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Lane> {
        self.lanes.iter()
    }

    /// Claims a lane in state `initial` (`PENDING` or `NO_SEQNO`). The
    /// caller fences (SeqCst) before it loads the sealed flag; a seqno it
    /// takes afterwards (AcqRel) carries the claim to a snapshot that
    /// reads that seqno.
    pub(crate) fn claim(&self, initial: u64) -> Claim<'_> {
        let n = self.lanes.len();
        let mask = n - 1;
        debug_assert!(n.is_power_of_two(), "see `Lanes::new`");
        let start = hint() & mask;
        let mut round = 0u32;
        loop {
            for i in 0..n {
                let idx = (start + i) & mask;
                let lane = &self.lanes[idx];
                if lane.state.load(Ordering::Relaxed) == FREE
                    && lane
                        .state
                        .compare_exchange(FREE, initial, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    if i != 0 {
                        remember(idx);
                    }
                    return Claim { lane };
                }
            }
            round += 1;
            if round < 4 {
                spin_hint();
            } else {
                thread::yield_now();
            }
        }
    }

    /// Waits until no lane holds a write whose seqno may be at or below
    /// `seqno`.
    pub(crate) fn wait_below(&self, seqno: u64) {
        self.wait_below_where(seqno, |_| true);
    }

    /// As [`wait_below`](Self::wait_below), but only for writes that may
    /// touch a key of `bits` (see [`key_bits`]): writes of other keys never
    /// hold the caller up, however long their thread is descheduled.
    ///
    /// The caller took its own seqno (AcqRel) before calling: a write
    /// whose seqno came earlier stored its bits before taking it, so they
    /// are visible here even while its lane still reads `PENDING`; a write
    /// whose seqno comes later does not matter, whatever bits it shows.
    pub(crate) fn wait_below_for(&self, seqno: u64, bits: u64) {
        self.wait_below_where(seqno, |lane| lane.keys.load(Ordering::Relaxed) & bits != 0);
    }

    /// Waits while some lane holds a write whose seqno may be at or below
    /// `seqno` and that `matters`.
    fn wait_below_where(&self, seqno: u64, matters: impl Fn(&Lane) -> bool) {
        for lane in self.lanes.iter() {
            let mut spins = 0u32;
            loop {
                let s = lane.state.load(Ordering::Acquire);
                if s == FREE || (s != PENDING && s > seqno) || !matters(lane) {
                    break;
                }
                spins += 1;
                if spins < 64 {
                    spin_hint();
                } else {
                    thread::yield_now();
                }
            }
        }
    }

    /// Waits until every lane is free (a seal draining its writers).
    pub(crate) fn wait_idle(&self) {
        for lane in self.lanes.iter() {
            let mut spins = 0u32;
            while lane.state.load(Ordering::Acquire) != FREE {
                spins += 1;
                if spins < 64 {
                    spin_hint();
                } else {
                    thread::yield_now();
                }
            }
        }
    }
}
