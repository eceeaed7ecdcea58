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
//! A write with an automatic seqno also publishes its nodes in its lane
//! before it takes the seqno, so that a `get_or_insert` or an exact
//! `remove` can read what the writes below its own seqno are writing
//! without waiting for them to link ([`Lanes::in_flight`]). A write that
//! has not yet shown its seqno is *bumped* instead: its seqno, taken again,
//! lands above the reader's.
//!
//! Any number of threads may write: if every lane is taken for a few
//! rounds, a writer adds lanes (segments of them, kept for the table's
//! life) instead of waiting; a thread's lane choice is only a hint.

use crate::arena::{Block, NodeRef};
use crate::segments::Segments;
use ordex_core::sync::{fence, spin_hint, thread, AtomicI64, AtomicU32, AtomicU64, Ordering};
use smallvec::SmallVec;
#[cfg(not(loom))]
use std::cell::Cell;
use std::sync::OnceLock;

/// Nodes at least this tall are allocated from the lane's `tall` block.
pub(crate) const TALL_HEIGHT: usize = 5;

/// State of a free lane.
pub(crate) const FREE: u64 = 0;
/// Claimed by a write that takes no auto seqno (`insert_at`, `delete_at`).
/// Above every seqno (those stop at 2^56 − 1).
pub(crate) const NO_SEQNO: u64 = 1 << 62;
/// Claimed, seqno not yet shown (a snapshot must wait: the seqno may end
/// up below the one it pins). The states from `PENDING` up are all
/// pending: the low bits count the bumps (see [`Lanes::in_flight`]).
pub(crate) const PENDING: u64 = 3 << 62;

/// Whether a lane's state is pending (claimed for an auto seqno not yet
/// shown, bumped or not).
#[inline]
pub(crate) fn is_pending(state: u64) -> bool {
    state >= PENDING
}

/// One bit of 64 standing for `key` (from its length and its first and
/// last eight bytes: O(1) for any key). Keys with different bits differ;
/// keys with the same bit may not (reading a write of another key with
/// the same bit is only extra work).
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
/// The fields every write touches come first, within the first 128
/// bytes (`repr(C)` keeps that order); the spilled references' segments,
/// which only batches of more than [`INLINE`] entries touch, come last.
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct Lane {
    /// `FREE`, `NO_SEQNO`, a pending state, or the first seqno of the
    /// write in flight.
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
    /// The highest seqno this lane's writes linked.
    pub(crate) max_seqno: AtomicU64,
    /// The [`key_bits`] of the keys of the auto-seqno write in flight,
    /// stored before it takes its seqno: a `get_or_insert` (or an exact
    /// `remove`) reads only lower-seqno writes that may touch its key (see
    /// [`Lanes::in_flight`]).
    pub(crate) keys: AtomicU64,
    /// Key and value bytes written through this lane.
    pub(crate) key_bytes: AtomicU64,
    pub(crate) value_bytes: AtomicU64,
    /// Write attempts (including refused ones).
    pub(crate) attempts: AtomicU64,
    /// The nodes of the auto-seqno write in flight, published before it
    /// shows its seqno (see [`Lanes::in_flight`]): how many, and the first
    /// ones.
    published: Published,
    /// Versions this lane's writes shadowed (later writes of the same
    /// (key, seqno), see `Duplicates::LaterWins`).
    pub(crate) shadowed: AtomicU64,
    /// The published references past the inline ones.
    spill: Spill,
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
            published: Published {
                len: AtomicU32::new(0),
                inline: std::array::from_fn(|_| AtomicU32::new(0)),
            },
            spill: std::array::from_fn(|_| OnceLock::new()),
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
    /// Lanes added when every lane was taken for a while (more writes in
    /// flight than lanes, their writers descheduled): segment `k` holds
    /// `lanes.len() << k` lanes. Never removed while the table lives.
    extra: Segments<Lane, EXTRA_SEGMENTS>,
}

/// Segments of extra lanes: with 4 lanes, room for 4 × (2^20 − 1) more.
const EXTRA_SEGMENTS: usize = 20;
/// Rounds over every lane, all taken, before a writer adds lanes (one
/// under loom, so that a model of three writers reaches it in few steps).
#[cfg(not(loom))]
const ROUNDS_BEFORE_ADDING: u32 = 4;
#[cfg(loom)]
const ROUNDS_BEFORE_ADDING: u32 = 1;

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
    /// Takes `n` seqnos from `counter` for a write claimed `PENDING`, has
    /// `stamp` write the first onto the write's nodes, and shows it in the
    /// lane; returns it. If a reader bumped the lane in the meantime (it
    /// read the lane as pending after taking a seqno of its own), the
    /// seqnos taken are dropped (never used: a gap) and fresh ones are
    /// taken, above that reader's.
    ///
    /// The failed CAS loads the bumped state with Acquire, and every bump
    /// is a Release RMW: the fresh `fetch_add` comes after each bumping
    /// reader's own `fetch_add`, so the seqno it hands out is above theirs.
    /// The successful CAS (Release) publishes the stamps and the published
    /// nodes to a reader that loads the seqno with Acquire.
    #[inline]
    pub(crate) fn take_seqno(
        &self,
        counter: &AtomicU64,
        n: u64,
        mut stamp: impl FnMut(u64),
    ) -> u64 {
        let mut expected = PENDING;
        loop {
            let first = counter.fetch_add(n, Ordering::AcqRel) + 1;
            stamp(first);
            match self.lane.state.compare_exchange(
                expected,
                first,
                Ordering::Release,
                Ordering::Acquire,
            ) {
                Ok(_) => return first,
                Err(now) => {
                    debug_assert!(is_pending(now), "only readers bump a claimed lane");
                    expected = now;
                }
            }
        }
    }
}

/// Node references published by an auto-seqno write in flight: up to
/// [`INLINE`] in the lane's first lines, the rest in segments of doubling
/// size ([`Spill`]) that the lane's holders allocate once and keep for the
/// lane's life (so a reader racing a larger batch never reads freed
/// memory).
#[derive(Debug)]
struct Published {
    /// The number of references, with [`GET_OR_INSERT`] for a
    /// `get_or_insert`.
    len: AtomicU32,
    inline: [AtomicU32; INLINE],
}

/// Segments of 16, 32, 64, ... published references.
type Spill = [OnceLock<Box<[AtomicU32]>>; SEGMENTS];

/// References kept in the lane's first lines.
const INLINE: usize = 3;
/// Segments beyond them (room for 2^31 references in all).
const SEGMENTS: usize = 27;
const FIRST_SEGMENT: usize = 16;
/// Flag of [`Published::len`]: the write is a `get_or_insert`, whose node
/// is a put only if no live value lies below it (see `write.rs`).
const GET_OR_INSERT: u32 = 1 << 31;

/// The segment and offset of published reference `i` past the inline
/// ones.
#[inline]
fn spilled(i: usize) -> (usize, usize) {
    let j = i - INLINE;
    let seg = (j / FIRST_SEGMENT + 1).ilog2() as usize;
    (seg, j - FIRST_SEGMENT * ((1 << seg) - 1))
}

impl Lane {
    /// Publishes the nodes of the write in flight (by the lane's holder,
    /// before it takes its seqno). Release stores: a reader that loads one
    /// of a later write's references sees, after its Acquire fence, that
    /// the lane's state has moved on (see [`Lanes::in_flight`]).
    #[inline]
    pub(crate) fn publish(&self, nodes: &[NodeRef], get_or_insert: bool) {
        let flag = if get_or_insert { GET_OR_INSERT } else { 0 };
        if let [node] = nodes {
            self.published.inline[0].store(node.raw(), Ordering::Release);
            self.published.len.store(1 | flag, Ordering::Release);
        } else {
            self.publish_many(nodes, flag);
        }
    }

    #[inline(never)]
    fn publish_many(&self, nodes: &[NodeRef], flag: u32) {
        for (i, n) in nodes.iter().enumerate() {
            let slot = if i < INLINE {
                &self.published.inline[i]
            } else {
                let (seg, off) = spilled(i);
                &self.spill[seg].get_or_init(|| {
                    (0..FIRST_SEGMENT << seg)
                        .map(|_| AtomicU32::new(0))
                        .collect()
                })[off]
            };
            slot.store(n.raw(), Ordering::Release);
        }
        let len = u32::try_from(nodes.len()).expect("a batch of fewer than 2^31 entries");
        self.published.len.store(len | flag, Ordering::Release);
    }

    /// Copies the published references into `out` (racy: the caller
    /// validates against the lane's state before it uses any of them);
    /// returns whether the write is a `get_or_insert`.
    fn read_published(&self, out: &mut SmallVec<[u32; 8]>) -> bool {
        let len = self.published.len.load(Ordering::Relaxed);
        let n = (len & !GET_OR_INSERT) as usize;
        for i in 0..n {
            let slot = if i < INLINE {
                Some(&self.published.inline[i])
            } else {
                let (seg, off) = spilled(i);
                self.spill
                    .get(seg)
                    .and_then(OnceLock::get)
                    .and_then(|s| s.get(off))
            };
            // A missing segment: a racing write changed the length; the
            // validation that follows fails.
            match slot {
                Some(s) => out.push(s.load(Ordering::Relaxed)),
                None => break,
            }
        }
        len & GET_OR_INSERT != 0
    }
}

/// A version of a key that a write in flight is writing (found by
/// [`Lanes::in_flight`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InFlight {
    pub(crate) node: NodeRef,
    /// The write is a `get_or_insert`: its node holds the value it inserts
    /// if its key has no live value below it, and nothing otherwise.
    pub(crate) get_or_insert: bool,
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
            extra: Segments::new(),
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

    /// Every lane, the added ones after the first ones.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Lane> {
        self.lanes.iter().chain(self.extra.iter().flatten())
    }

    /// Claims a lane in state `initial` (`PENDING` or `NO_SEQNO`). The
    /// caller fences (SeqCst) before it loads the sealed flag; a seqno it
    /// takes afterwards (AcqRel) carries the claim to a snapshot that
    /// reads that seqno.
    ///
    /// Lock-free: a writer that finds every lane taken for
    /// [`ROUNDS_BEFORE_ADDING`] rounds adds a segment of lanes (or takes
    /// one of a segment another writer added), so writers descheduled in
    /// the middle of their writes, however many, hold no other writer up.
    /// A snapshot or a seal scans the added lanes too: it reads a lane's
    /// segment before the lane, and a writer installs the segment before
    /// it claims a lane in it (see `Segments`).
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
                if let Some(claim) = Self::try_claim(lane, initial) {
                    if i != 0 {
                        remember(idx);
                    }
                    return claim;
                }
            }
            for seg in self.extra.iter() {
                if let Some(claim) = seg.iter().find_map(|l| Self::try_claim(l, initial)) {
                    return claim;
                }
            }
            round += 1;
            if round >= ROUNDS_BEFORE_ADDING {
                return self.claim_added(initial);
            }
            spin_hint();
        }
    }

    /// A claim of `lane`, if it is free. (The `Claim` is made only on
    /// success: dropping one frees its lane.)
    #[inline]
    fn try_claim(lane: &Lane, initial: u64) -> Option<Claim<'_>> {
        if lane.state.load(Ordering::Relaxed) == FREE
            && lane
                .state
                .compare_exchange(FREE, initial, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            Some(Claim { lane })
        } else {
            None
        }
    }

    /// Claims a lane in the first added segment with one free, adding
    /// segments as needed (each twice the one before).
    #[cold]
    fn claim_added(&self, initial: u64) -> Claim<'_> {
        let n = self.lanes.len();
        loop {
            for k in 0..EXTRA_SEGMENTS {
                let seg = self
                    .extra
                    .get_or_install(k, || (0..n << k).map(|_| Lane::new()).collect());
                if let Some(claim) = seg.iter().find_map(|l| Self::try_claim(l, initial)) {
                    return claim;
                }
            }
            // Every one of n × 2^20 lanes taken: more writes in flight than
            // a process has threads. Wait for one.
            thread::yield_now();
        }
    }

    /// Waits until no lane holds a write whose seqno may be at or below
    /// `seqno`.
    pub(crate) fn wait_below(&self, seqno: u64) {
        for lane in self.iter() {
            let mut spins = 0u32;
            loop {
                let s = lane.state.load(Ordering::Acquire);
                if s == FREE || (!is_pending(s) && s > seqno) {
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

    /// Calls `found` with every node of `key` that a write in flight with
    /// a seqno below `seqno` is writing, without waiting for any write.
    /// The caller took `seqno` (AcqRel) before calling; `bits` are
    /// [`key_bits`]`(key)`, and `key_of` reads a node's key.
    ///
    /// A lane is looked at only if the mask of keys its write stored
    /// before taking its seqno has `key`'s bit (a write whose seqno came
    /// earlier than the caller's stored its mask before, so it is visible
    /// here). Then, by its state:
    /// - a seqno below `seqno`: the write's published nodes are read like
    ///   a seqlock (Acquire load of the state, the references, an Acquire
    ///   fence, the state again); if the state moved on, the write has
    ///   linked (a lane is freed only after its write linked) and the
    ///   caller's search of the list, which comes after, finds it there.
    /// - pending: *bumped* (a Release CAS to the next pending state), so
    ///   the write's CAS that would show its seqno fails and it takes a
    ///   fresh seqno, above `seqno` (see [`Claim::take_seqno`]): that
    ///   write is newer than the caller's and does not matter to it.
    /// - free, a seqno at or above `seqno`, or a write without an auto
    ///   seqno: nothing to read.
    pub(crate) fn in_flight<'k>(
        &self,
        seqno: u64,
        key: &[u8],
        bits: u64,
        key_of: impl Fn(NodeRef) -> &'k [u8],
        mut found: impl FnMut(InFlight),
    ) {
        let mut refs: SmallVec<[u32; 8]> = SmallVec::new();
        for lane in self.iter() {
            loop {
                let state = lane.state.load(Ordering::Acquire);
                if state == FREE || state == NO_SEQNO || (!is_pending(state) && state >= seqno) {
                    break;
                }
                if lane.keys.load(Ordering::Relaxed) & bits == 0 {
                    break;
                }
                if is_pending(state) {
                    if lane
                        .state
                        .compare_exchange(
                            state,
                            PENDING | (state.wrapping_add(1) & !PENDING),
                            Ordering::Release,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                    {
                        break;
                    }
                    continue;
                }
                refs.clear();
                let get_or_insert = lane.read_published(&mut refs);
                fence(Ordering::Acquire);
                if lane.state.load(Ordering::Relaxed) != state {
                    continue;
                }
                for &raw in &refs {
                    // SAFETY: the lane still showed `state` after the
                    // fence, so every reference read was published by the
                    // write showing it, before the Release CAS that showed
                    // its seqno, which this thread's Acquire load of
                    // `state` read from: the node's initialisation and
                    // seqno stamp happen before this point, and nothing
                    // changes them any more.
                    let node = unsafe { NodeRef::published(raw) };
                    if key_of(node) == key {
                        found(InFlight {
                            node,
                            get_or_insert,
                        });
                    }
                }
                break;
            }
        }
    }

    /// Waits until every lane is free (a seal draining its writers).
    pub(crate) fn wait_idle(&self) {
        for lane in self.iter() {
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
