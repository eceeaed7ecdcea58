//! The lock-free skip list over the arena: search and concurrent insert
//! (RocksDB InlineSkipList's algorithm: compute the splice top-down, link
//! bottom-up with one CAS per level, recompute a level's splice from its
//! predecessor when its CAS loses). Nodes are never unlinked while the list
//! lives, so a search needs no epoch or reference count.
//!
//! Order: user key ascending (memcmp), then seqno descending, so the first
//! node of a key is its newest version.
//!
//! Level 0 also has prev links, kept as *hints* in the manner of Pebble's
//! arenaskl: a node's prev link always names a node that sorts before it,
//! and after the insert that set it completes, the node right before it
//! (unless a later insert has since moved it). [`List::prev_of`] follows
//! the hint and then walks forward to the exact predecessor, so a stale
//! hint costs steps, never a wrong answer.

use crate::arena::{Arena, Block, Full, NodeRef};
use crate::keys::{compare_keys, same_key, Cmp};
#[cfg(not(loom))]
use crate::top::{Edge, Extended, LevelCopy, TopIndex, FEW_ROOM, LEAST, MOST, SPAN};
use ordex_core::sync::{prefetch, AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::cell::Cell;

/// Tallest tower. With branching 2, 24 levels index 2^24 ≈ 16M nodes with
/// logarithmic search (and more at a slowly growing cost).
pub(crate) const MAX_HEIGHT: usize = 24;

/// The most nodes a search walks along the top index's level before it
/// gives the index up and starts again from the head (see
/// [`List::descend`]). The index holds every node of its level when it is
/// taken, and is retaken when the level has doubled: a search passes one
/// new node on average, unless the keys linked since all went into one
/// gap (ascending inside one key range).
const INDEX_WALK: usize = 8;

/// Counts a step a search takes along a level (tests only: how far
/// searches walk is checked structurally, not by timing).
#[inline(always)]
fn walked() {
    #[cfg(all(test, not(loom)))]
    WALKED.with(|w| w.set(w.get() + 1));
}

/// Counts a search that passed the top index by: it had one below the
/// list's height but started from the head at full height, or gave it up
/// (tests only, as [`walked`]).
#[inline(always)]
fn passed_index() {
    #[cfg(all(test, not(loom)))]
    PASSED.with(|w| w.set(w.get() + 1));
}

#[cfg(all(test, not(loom)))]
thread_local! {
    /// Steps this thread's searches have taken along their levels.
    pub(crate) static WALKED: Cell<usize> = const { Cell::new(0) };
    /// This thread's searches that passed the top index by.
    pub(crate) static PASSED: Cell<usize> = const { Cell::new(0) };
}

/// Largest seqno (the meta word keeps 8 bits for height and kind).
pub(crate) const MAX_SEQNO: u64 = (1 << 56) - 1;

/// Entry kinds, in the low bits of the meta word.
pub(crate) const KIND_DELETE: u64 = 0;
pub(crate) const KIND_PUT: u64 = 1;

/// A node with this (key, seqno) is already in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duplicate;

pub(crate) struct List {
    pub(crate) arena: Arena,
    head: NodeRef,
    height: AtomicUsize,
    /// Unique among every list the process makes: what a thread's finger
    /// is kept for (see [`List::insert_single`]).
    #[cfg(not(loom))]
    id: u64,
    /// Where searches with a key start (see `top.rs`).
    #[cfg(not(loom))]
    top: TopIndex,
}

#[cfg(not(loom))]
thread_local! {
    static HEIGHT_RNG: Cell<u64> = const { Cell::new(0) };
    /// The thread's finger: the id of the list it last inserted into
    /// alone, and the splice of that insert (see [`List::insert_single`]).
    static FINGER: std::cell::RefCell<Option<(u64, Splice)>> =
        const { std::cell::RefCell::new(None) };
}

/// Levels of a thread's finger checked before it is given up for a search
/// (see [`List::finger_brackets`]).
const FINGER_LEVELS: usize = 3;

/// A random tower height. Under loom, whose executions
/// must be deterministic, the height is derived from the key instead.
#[cfg(loom)]
pub(crate) fn random_height(key: &[u8]) -> usize {
    1 + key.iter().map(|&b| b as usize).sum::<usize>() % 3
}

/// A random tower height (xorshift per thread): P(h >= 2) = 115/256
/// (0.45), then one in two for each level above, so 1.9 levels on average
/// and 23.6 bytes of node overhead per entry (16 of header, 4 per level;
/// 23.8 with the value offsets of the tall nodes, see `Lane::blocks_for`).
/// Plain branching 2 puts the average at exactly 2 levels, 24 bytes: at
/// the edge of the memory target. Measured against odds of 3/8 and 7/16
/// (fewer bytes per node, more steps per search), branching 2 was 5-10%
/// faster on gets at 1M entries; the slightly thinner level 1 made no
/// difference measurable on this machine (in-process A/B, 1M entries).
#[cfg(not(loom))]
pub(crate) fn random_height(_key: &[u8]) -> usize {
    HEIGHT_RNG.with(|c| {
        let mut x = c.get();
        if x == 0 {
            x = (c as *const Cell<u64> as u64) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        // One node in two ... but a little fewer: P(h >= 2) = 115/256.
        if (x & 0xFF) >= 115 {
            return 1;
        }
        let mut h = 2;
        let mut bits = x >> 8;
        while h < MAX_HEIGHT && bits & 1 == 0 {
            h += 1;
            bits >>= 1;
        }
        h
    })
}

/// The predecessors and successors of a position at every level. Kept
/// across the inserts of a sorted batch so each insert starts where the
/// previous one ended (RocksDB's splice hint).
pub(crate) struct Splice {
    prev: [NodeRef; MAX_HEIGHT],
    next: [Option<NodeRef>; MAX_HEIGHT],
    /// The levels whose `next` is a node, a bit each: a splice's check
    /// of which levels still bracket a target visits only those (at the
    /// tail of the list, where ascending keys go, none is).
    nexts: u32,
    /// Levels below this are valid for the last position computed.
    valid: usize,
    /// For one insert only: its search may start from the top index, below
    /// the upper levels (which a later insert could not reuse).
    single: bool,
    /// A thread's finger (see [`List::insert_single`]): the splice of its
    /// previous single insert, reused when it still brackets the target at
    /// one of its lowest levels, else replaced by a single splice.
    finger: bool,
    /// The node the last insert through this splice linked, if it was no
    /// taller than [`FINGER_LEVELS`], and its predecessors at its levels
    /// (`before[..height]`, before it was linked): with them a finger also
    /// brackets a key that lands right before that node (descending keys).
    last: Option<(NodeRef, usize)>,
    before: [NodeRef; FINGER_LEVELS],
}

impl Splice {
    /// Sets the successor at `level` (and its bit in `nexts`).
    #[inline]
    fn set_next(&mut self, level: usize, next: Option<NodeRef>) {
        self.next[level] = next;
        let bit = 1u32 << level;
        self.nexts = if next.is_some() {
            self.nexts | bit
        } else {
            self.nexts & !bit
        };
    }
}

/// The bits of levels below `n` (`n <= MAX_HEIGHT`).
#[inline]
fn low_bits(n: usize) -> u32 {
    debug_assert!(n <= MAX_HEIGHT);
    (1u32 << n) - 1
}

const _: () = assert!(MAX_HEIGHT < 32, "a splice's levels fit the bits of a u32");

/// Where a thread's finger stands for a target (see
/// [`List::finger_brackets`]).
enum Finger {
    /// At or after the last insert: its splice brackets the target from
    /// this level up.
    Ahead,
    /// Right before the last insert (which is no taller than
    /// [`FINGER_LEVELS`]): the splice before that node was linked
    /// brackets the target from this level up.
    Behind(usize),
    /// Neither: search afresh.
    Miss,
}

/// Where a node landed at level 0: its neighbours at the moment of the
/// linking CAS (the insert's linearization point).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Linked {
    pub(crate) prev: NodeRef,
    pub(crate) next: Option<NodeRef>,
}

impl List {
    pub(crate) fn new(arena: Arena, block: &Block) -> Result<List, Full> {
        let head = arena.alloc(block, None, MAX_HEIGHT, MAX_SEQNO, KIND_PUT, b"", b"")?;
        #[cfg(not(loom))]
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(List {
            arena,
            head,
            height: AtomicUsize::new(1),
            #[cfg(not(loom))]
            id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            #[cfg(not(loom))]
            top: TopIndex::new(),
        })
    }

    pub(crate) fn head(&self) -> NodeRef {
        self.head
    }

    pub(crate) fn new_splice(&self) -> Splice {
        Splice {
            prev: [self.head; MAX_HEIGHT],
            next: [None; MAX_HEIGHT],
            nexts: 0,
            valid: 0,
            single: false,
            finger: false,
            last: None,
            before: [self.head; FINGER_LEVELS],
        }
    }

    /// A splice for a write of one entry: see [`Splice::single`].
    pub(crate) fn single_splice(&self) -> Splice {
        Splice {
            single: true,
            ..self.new_splice()
        }
    }

    /// Where a search for a target above `key` (a node whose key is below
    /// `key` sorts before the target) starts: a node, one above the level
    /// to search first, and whether the top index chose them (its level is
    /// then searched on a budget). From the top index when there is one.
    #[inline]
    fn start(&self, key: Option<&[u8]>) -> (NodeRef, usize, bool) {
        let height = self.height.load(Ordering::Relaxed);
        match key.and_then(|key| self.top_start(key, height)) {
            Some((x, level)) => (x, level, true),
            None => (self.head, height, false),
        }
    }

    /// The top index's start for a target above `key` (as [`start`]
    /// gives it), if the index's level is below `above`: only then is its
    /// binary search done.
    ///
    /// [`start`]: Self::start
    ///
    /// `None` also when `key` lies after the index and nodes the index has
    /// not seen may follow its last one (see [`View::inside`](crate::top::View::inside)): the
    /// search then starts from the head at the list's full height.
    #[inline]
    fn top_start(&self, key: &[u8], above: usize) -> Option<(NodeRef, usize)> {
        #[cfg(not(loom))]
        if let Some(top) = self.top.get() {
            if top.level() < above {
                let view = top.view();
                let rank = view.rank(key, |n| self.arena.key(n));
                let ends_level = |last| self.arena.next(last, top.level()).is_none();
                let Some(x) = view.inside(rank, ends_level) else {
                    passed_index();
                    return None;
                };
                return Some((x.unwrap_or(self.head), top.level() + 1));
            }
        }
        let _ = (key, above);
        None
    }

    /// Heap bytes of the top index (every snapshot taken), and how many
    /// snapshots it took.
    pub(crate) fn index_stats(&self) -> (usize, usize) {
        #[cfg(not(loom))]
        return (self.top.bytes(), self.top.taken());
        #[cfg(loom)]
        (0, 0)
    }

    /// Whether searches can start from a top index yet.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn has_top_index(&self) -> bool {
        self.top.get().is_some()
    }

    /// The newest snapshot's level and node count, and how many nodes that
    /// level holds now.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn top_index_freshness(&self) -> Option<(usize, usize, usize)> {
        let top = self.top.get()?;
        let mut now = 0;
        let mut n = self.arena.next(self.head, top.level());
        while let Some(node) = n {
            now += 1;
            n = self.arena.next(node, top.level());
        }
        Some((top.level(), top.view().len(), now))
    }

    /// Takes the first top index, `SPAN` levels below the list's
    /// `height` (or at the level the retake settles on: see `retake_top`).
    #[cfg(not(loom))]
    #[cold]
    fn take_first_top(&self, height: usize) {
        if self.top.get().is_none() {
            self.retake_top(height.saturating_sub(1 + SPAN));
        }
    }

    /// Publishes a snapshot of `level` as the top index, or of the nearest
    /// level that holds [`LEAST`] to [`MOST`] nodes: fewer, and the index
    /// is not worth its binary search; more, and it costs memory for
    /// little (one lucky tall node can raise the list's height, and so the
    /// level the first snapshot is asked for, far above the rest).
    #[cfg(not(loom))]
    #[cold]
    fn retake_top(&self, mut level: usize) {
        if !self.top.has_room() {
            return;
        }
        let walk = |level: usize| {
            let mut n = self.arena.next(self.head, level);
            std::iter::from_fn(move || {
                let node = n?;
                n = self.arena.next(node, level);
                Some(node)
            })
        };
        let holds = |level: usize| walk(level).take(MOST + 1).count();
        let height = self.height.load(Ordering::Relaxed);
        let mut count = holds(level);
        while level + 1 < height && count > MOST {
            level += 1;
            count = holds(level);
        }
        while level > 0 && count < LEAST {
            level -= 1;
            count = holds(level);
        }
        // Room for the nodes linked meanwhile too, so that taking a
        // snapshot allocates a fixed number of times (see `LevelCopy::new`).
        let mut nodes = Vec::with_capacity(count + count / 4 + 16);
        nodes.extend(walk(level));
        let rooms = self
            .top
            .get()
            .map_or((FEW_ROOM, FEW_ROOM), |old| old.rooms(nodes.len()));
        self.top
            .publish(LevelCopy::new(level, &nodes, rooms, |n| self.arena.key(n)));
    }

    #[inline]
    pub(crate) fn is_put(&self, n: NodeRef) -> bool {
        self.arena.kind(n) == KIND_PUT
    }

    /// Whether node `n` sorts before the target `(key, seqno)`.
    #[inline]
    fn before(&self, n: NodeRef, key: &[u8], seqno: u64) -> bool {
        let (k, s) = self.arena.key_seqno(n);
        match compare_keys(k, key) {
            Cmp::Less => true,
            Cmp::Greater => false,
            Cmp::Equal => s > seqno,
        }
    }

    /// The first node.
    #[inline]
    pub(crate) fn first(&self) -> Option<NodeRef> {
        self.arena.next(self.head, 0)
    }

    /// The node after `n` at level 0.
    #[inline]
    pub(crate) fn next(&self, n: NodeRef) -> Option<NodeRef> {
        self.arena.next(n, 0)
    }

    /// The node after `n` at level 0, for a long forward walk: also
    /// prefetches the nodes that `n`'s upper links point to (the next
    /// nodes of height 2, 3, 4, a few steps ahead), so that the walk's
    /// cache misses overlap instead of following each other.
    #[inline]
    pub(crate) fn next_ahead(&self, n: NodeRef) -> Option<NodeRef> {
        let height = self.arena.height(n).min(4);
        for level in 1..height {
            if let Some(ahead) = self.arena.next(n, level) {
                self.arena.prefetch(ahead);
            }
        }
        self.arena.next(n, 0)
    }

    /// Descends to the last node for which `before` holds (the head if
    /// none does), and returns it with the node after it at level 0 that
    /// the descent compared (the first for which `before` fails, `None` at
    /// the end). `before` must be monotone along the list (true, then
    /// false).
    ///
    /// The successor must come from the descent, never from a second load
    /// of the predecessor's link: an insert between the two loads would
    /// put an uncompared node there, and a `get` would then miss a key
    /// that is present (the rare miss CI saw once, found by the
    /// `snapshot_races_a_batch` loom model).
    ///
    /// With `key`, every node whose key is below `key` must satisfy
    /// `before`: the descent may then start from the top index.
    ///
    /// A descent from the top index gives the index up if it walks more
    /// than [`INDEX_WALK`] nodes along the index's level (a gap the index
    /// has not seen fill: keys ascending inside one key range, say), and
    /// starts again from the head.
    #[inline]
    fn descend(
        &self,
        key: Option<&[u8]>,
        mut before: impl FnMut(NodeRef) -> bool,
    ) -> (NodeRef, Option<NodeRef>) {
        let (mut x, mut level, from_index) = self.start(key);
        // The level the index put the descent on, and the steps it may
        // take there (none to count without the index).
        let mut indexed = level.checked_sub(1).filter(|_| from_index);
        let mut budget = INDEX_WALK;
        let mut gave_up = false;
        // The node that stopped the descent one level up: when a lower
        // level leads to it again, it need not be compared again
        // (RocksDB's `last_bigger`).
        let mut stop: Option<NodeRef> = None;
        loop {
            level -= 1;
            let next = loop {
                let next = self.arena.next(x, level);
                let Some(n) = next else { break None };
                if next == stop {
                    break next;
                }
                if indexed == Some(level) {
                    if budget == 0 {
                        passed_index();
                        gave_up = true;
                        break None;
                    }
                    budget -= 1;
                }
                walked();
                // Half the steps end a level: the descent then continues
                // from `x` one level down. Start loading that node now
                // (`x` is in cache), so its miss overlaps `n`'s.
                self.prefetch_down(x, level, n);
                // Look ahead (as fastskip's search does): start loading the
                // node after `n` while `n` is compared, so that moving on
                // to it finds it in flight.
                if let Some(ahead) = self.arena.next(n, level) {
                    self.arena.prefetch(ahead);
                }
                if !before(n) {
                    break next;
                }
                x = n;
            };
            if gave_up {
                // The index's gap was too full: from the head, all levels.
                let height = self.height.load(Ordering::Relaxed);
                (x, level, indexed, stop, gave_up) = (self.head, height, None, None, false);
                continue;
            }
            if level == 0 {
                return (x, next);
            }
            if next.is_some() {
                stop = next;
            }
        }
    }

    /// Half the steps of a search end a level, and the search then goes
    /// on from `x` one level down: prefetches the first node below `level`
    /// that `x` links to other than `n` (the candidate being compared at
    /// `level`, already on its way), so that its miss overlaps `n`'s. `x`
    /// is in cache, and so is its tower.
    #[inline(always)]
    fn prefetch_down(&self, x: NodeRef, level: usize, n: NodeRef) {
        let mut lv = level;
        while lv > 0 {
            lv -= 1;
            match self.arena.next(x, lv) {
                Some(d) if d == n => continue,
                Some(d) => {
                    self.arena.prefetch(d);
                    return;
                }
                None => return,
            }
        }
    }

    /// The first node at or after `(key, seqno)`: with `seqno` = the
    /// reader's snapshot, the newest version of `key` visible to it (if the
    /// key matches).
    #[inline]
    pub(crate) fn seek(&self, key: &[u8], seqno: u64) -> Option<NodeRef> {
        self.descend(Some(key), |n| self.before(n, key, seqno)).1
    }

    /// The first node whose user key is above `key` (the newest version
    /// of the next key): the successor the descent compared. Not the link
    /// after [`seek_last_le`](Self::seek_last_le)'s node, loaded again: a
    /// key at or below `key` linked between the two loads would be there
    /// (a live scan from `Excluded(key)` yielded `key` itself, or a key
    /// below it).
    #[inline]
    pub(crate) fn seek_after(&self, key: &[u8]) -> Option<NodeRef> {
        self.descend(Some(key), |n| {
            compare_keys(self.arena.key(n), key) != Cmp::Greater
        })
        .1
    }

    /// The last node whose user key is at most `key` (the oldest version
    /// of that key), if any.
    pub(crate) fn seek_last_le(&self, key: &[u8]) -> Option<NodeRef> {
        let x = self
            .descend(Some(key), |n| {
                compare_keys(self.arena.key(n), key) != Cmp::Greater
            })
            .0;
        (x != self.head).then_some(x)
    }

    /// The last node whose user key is below `key`, if any.
    pub(crate) fn seek_last_lt(&self, key: &[u8]) -> Option<NodeRef> {
        let x = self
            .descend(Some(key), |n| {
                compare_keys(self.arena.key(n), key) == Cmp::Less
            })
            .0;
        (x != self.head).then_some(x)
    }

    /// The last node, if any.
    pub(crate) fn last(&self) -> Option<NodeRef> {
        let x = self.descend(None, |_| true).0;
        (x != self.head).then_some(x)
    }

    /// Whether `n` is shadowed by `front`, the node linked right before
    /// it: the same (key, seqno), written later (see [`insert`]'s
    /// `shadow`). Only the front one of such a run is a version; the seqno
    /// is compared first, so nodes of different seqnos cost no key
    /// compare.
    ///
    /// [`insert`]: Self::insert
    #[inline]
    pub(crate) fn shadowed_by(&self, n: NodeRef, front: NodeRef) -> bool {
        if front == self.head {
            return false;
        }
        let (k, s) = self.arena.key_seqno(n);
        let (fk, fs) = self.arena.key_seqno(front);
        s == fs && same_key(k, fk)
    }

    /// The version after `n` in table order: the next node that no
    /// node before it shadows.
    #[inline]
    pub(crate) fn next_version(&self, n: NodeRef) -> Option<NodeRef> {
        let mut x = n;
        loop {
            let m = self.next_ahead(x)?;
            if !self.shadowed_by(m, x) {
                return Some(m);
            }
            x = m;
        }
    }

    /// The front node of `n`'s run of equal (key, seqno) nodes: the
    /// version that `n` is (if it is one) or that shadows it.
    pub(crate) fn front_of(&self, mut n: NodeRef) -> NodeRef {
        while let Some(p) = self.prev_of(n) {
            if !self.shadowed_by(n, p) {
                break;
            }
            n = p;
        }
        n
    }

    /// The node right before `n` at level 0 (`None` if `n` is the first):
    /// the prev hint, then forward steps to the exact predecessor. O(1)
    /// when the hint is fresh, which it is once the inserts around `n`
    /// have completed.
    pub(crate) fn prev_of(&self, n: NodeRef) -> Option<NodeRef> {
        let mut p = self.arena.prev(n).unwrap_or(self.head);
        loop {
            match self.arena.next(p, 0) {
                Some(q) if q == n => break,
                Some(q) => p = q,
                // Unreachable for a linked `n` (the hint sorts before it);
                // fall back to a search rather than trust it.
                None => {
                    let (key, seqno) = self.arena.key_seqno(n);
                    p = self.descend(Some(key), |m| self.before(m, key, seqno)).0;
                    break;
                }
            }
        }
        (p != self.head).then_some(p)
    }

    /// Moves `prev` forward at `level` until its successor no longer sorts
    /// before the target; returns the (prev, next) pair.
    #[inline]
    fn find_at(
        &self,
        mut prev: NodeRef,
        level: usize,
        key: &[u8],
        seqno: u64,
    ) -> (NodeRef, Option<NodeRef>) {
        loop {
            match self.arena.next(prev, level) {
                Some(n) if self.before(n, key, seqno) => prev = n,
                next => return (prev, next),
            }
        }
    }

    /// Makes `s` the splice of `(key, seqno)` at every level below `top`,
    /// reusing the levels of the previous position that still bracket the
    /// target (the target must sort after that position).
    ///
    /// A fresh [`Splice::single`] splice for a node of `height` levels
    /// starts from the top index when that covers every level the node
    /// needs; its upper levels are then not computed, and it is left
    /// invalid for reuse.
    fn splice(&self, key: &[u8], seqno: u64, top: usize, height: usize, s: &mut Splice) {
        // A descending finger's level: the splice brackets the target from
        // there up (its predecessors all sort before it).
        let mut behind = None;
        if s.finger {
            match self.finger_brackets(key, seqno, s) {
                // Reused like a batch's splice, from the lowest level that
                // brackets the target.
                Finger::Ahead => s.single = false,
                Finger::Behind(level) => {
                    // The splice of the last node before it was linked,
                    // with that node as the successor at its levels.
                    let (node, height) = s.last.expect("a last node");
                    for l in 0..height {
                        s.prev[l] = s.before[l];
                        s.set_next(l, Some(node));
                    }
                    s.single = false;
                    behind = Some(level);
                }
                Finger::Miss => {
                    *s = Splice {
                        finger: true,
                        ..self.single_splice()
                    }
                }
            }
        }
        // The lowest level from which the old splice still brackets the
        // target (prev sorts before it, by the batch order; next does not).
        let mut from = top;
        if let Some(level) = behind {
            from = level;
        } else if s.valid >= top {
            from = 0;
            while from < top {
                match s.next[from] {
                    Some(n) if self.before(n, key, seqno) => from += 1,
                    _ => break,
                }
            }
            // Levels at and above `from` bracket the target only if all of
            // them do: find the first level above which every one does (a
            // level with no successor always does).
            let mut levels = s.nexts & !low_bits(from) & low_bits(top);
            while levels != 0 {
                let l = levels.trailing_zeros() as usize;
                if matches!(s.next[l], Some(n) if self.before(n, key, seqno)) {
                    from = l + 1;
                }
                levels &= levels - 1;
            }
        }
        let mut x = if from < top { s.prev[from] } else { self.head };
        let mut stop = if from < top { s.next[from] } else { None };
        let mut valid = top;
        // The level the top index put the search on, if it did: there the
        // search may take only INDEX_WALK steps (as in `descend`).
        let mut indexed = None;
        if s.single && s.valid == 0 {
            if let Some((start, level)) = self.top_start(key, from) {
                // A finger's search for a key before the index (from the
                // head) takes every level instead: they are few steps
                // there, and a finger with every level can serve the next
                // key if it comes right before this one (descending keys).
                if level >= height && !(s.finger && start == self.head) {
                    (x, from, valid, indexed) = (start, level, 0, Some(level - 1));
                }
            }
        }
        'search: loop {
            let mut budget = INDEX_WALK;
            for level in (0..from).rev() {
                let next = loop {
                    match self.arena.next(x, level) {
                        Some(n) if Some(n) != stop => {
                            if indexed == Some(level) {
                                if budget == 0 {
                                    // The index's gap was too full: every
                                    // level from the head.
                                    passed_index();
                                    (x, from, stop, valid, indexed) =
                                        (self.head, top, None, top, None);
                                    continue 'search;
                                }
                                budget -= 1;
                            }
                            walked();
                            // As in `descend`.
                            self.prefetch_down(x, level, n);
                            if let Some(ahead) = self.arena.next(n, level) {
                                self.arena.prefetch(ahead);
                            }
                            if !self.before(n, key, seqno) {
                                break Some(n);
                            }
                            x = n;
                        }
                        next => break next,
                    }
                };
                stop = next;
                s.prev[level] = x;
                s.set_next(level, next);
            }
            break;
        }
        s.valid = valid;
    }

    /// Whether a thread's finger `s` brackets `(key, seqno)` at one of its
    /// [`FINGER_LEVELS`] lowest levels: every predecessor up to that level
    /// sorts before the target, and that level's successor does not. Keys
    /// that follow the thread's previous one closely (ascending ids,
    /// timestamps) pass at level 0 or 1; others fail at once, at the first
    /// predecessor, or soon after. A finger left by a search from the top
    /// index has no valid level (its upper levels were never computed) and
    /// fails without a compare.
    ///
    /// A key that sorts before the last node linked (descending keys)
    /// is bracketed by the splice that node was linked with, if one of its
    /// predecessors there sorts before the key: [`Finger::Behind`].
    #[inline]
    fn finger_brackets(&self, key: &[u8], seqno: u64, s: &Splice) -> Finger {
        let valid = s.valid.min(FINGER_LEVELS);
        for level in 0..valid {
            let p = s.prev[level];
            if p != self.head && !self.before(p, key, seqno) {
                // The target sorts at or before `p`: behind the last node?
                return match s.last {
                    Some((node, height)) if level == 0 && p == node => {
                        self.finger_behind(key, seqno, s, height, valid)
                    }
                    _ => Finger::Miss,
                };
            }
            match s.next[level] {
                Some(n) if self.before(n, key, seqno) => {}
                _ => return Finger::Ahead,
            }
        }
        Finger::Miss
    }

    /// [`finger_brackets`](Self::finger_brackets) for a target at or
    /// before the last node linked (`height` levels tall): the lowest of
    /// the first `valid` levels whose predecessor in that node's splice
    /// sorts before the target (every level above brackets it too: a
    /// splice's predecessors sort lower the higher they are, and its
    /// successors all sort at or after the last node).
    #[inline]
    fn finger_behind(
        &self,
        key: &[u8],
        seqno: u64,
        s: &Splice,
        height: usize,
        valid: usize,
    ) -> Finger {
        for level in 0..valid {
            let p = if level < height {
                s.before[level]
            } else {
                s.prev[level]
            };
            if p == self.head || self.before(p, key, seqno) {
                return Finger::Behind(level);
            }
        }
        Finger::Miss
    }

    /// Links `node` (as [`insert`](Self::insert) does) with this thread's
    /// finger for this list: the splice of the thread's previous single
    /// insert into it. Keys that arrive in order then cost a check of the
    /// finger and a CAS per level instead of a search (RocksDB's
    /// `InlineSkipList` keeps such a splice for its inserts). Each thread
    /// keeps one finger, for the list it last inserted into (by [`List`]'s
    /// unique id, so a finger never outlives its list's use).
    pub(crate) fn insert_single(
        &self,
        node: NodeRef,
        shadow: bool,
        accept: impl FnMut(NodeRef, Option<NodeRef>) -> bool,
    ) -> Result<Option<Linked>, Duplicate> {
        #[cfg(not(loom))]
        {
            FINGER.with_borrow_mut(|finger| {
                let s = match finger {
                    Some((id, s)) if *id == self.id => s,
                    other => {
                        let fresh = Splice {
                            finger: true,
                            ..self.single_splice()
                        };
                        &mut other.insert((self.id, fresh)).1
                    }
                };
                self.insert(node, s, shadow, accept)
            })
        }
        #[cfg(loom)]
        self.insert(node, &mut self.single_splice(), shadow, accept)
    }

    /// Raises the list height to at least `height`; returns the height to
    /// splice at.
    fn grow(&self, height: usize) -> usize {
        let mut cur = self.height.load(Ordering::Relaxed);
        while height > cur {
            match self.height.compare_exchange_weak(
                cur,
                height,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return height,
                Err(now) => cur = now,
            }
        }
        cur
    }

    /// Links `node` (allocated, seqno set, not yet published) into the
    /// list, starting from the splice `s` of an earlier insert of a
    /// smaller target (or a fresh one). Lock-free: each level is one CAS,
    /// retried from its predecessor when another insert wins. `accept`
    /// sees the level-0 neighbours before the linking CAS and may refuse
    /// (then nothing is linked). If the same (key, seqno) is already
    /// present: with `shadow`, the node is linked right before it (a node
    /// sorts before an equal one, so the later write is the one every
    /// search finds, and the earlier is *shadowed*: see
    /// [`shadowed_by`](Self::shadowed_by)); without, fails, linking
    /// nothing.
    pub(crate) fn insert(
        &self,
        node: NodeRef,
        s: &mut Splice,
        shadow: bool,
        mut accept: impl FnMut(NodeRef, Option<NodeRef>) -> bool,
    ) -> Result<Option<Linked>, Duplicate> {
        let (key, seqno) = self.arena.key_seqno(node);
        let height = self.arena.height(node);
        // Splice at every level the list may have (not only below the
        // current height): a sorted batch reuses the upper levels too.
        let grown = self.grow(height);
        let top = grown.max(height).max(s.valid.min(MAX_HEIGHT));
        self.splice(key, seqno, top, height, s);
        let mut linked = None;
        for level in 0..height {
            loop {
                let (prev, next) = (s.prev[level], s.next[level]);
                if level == 0 {
                    if let Some(n) = next {
                        let (k, at) = self.arena.key_seqno(n);
                        if !shadow && at == seqno && same_key(k, key) {
                            return Err(Duplicate);
                        }
                    }
                    if !accept(prev, next) {
                        return Ok(None);
                    }
                    self.arena.set_prev(node, prev);
                    if let Some(n) = next {
                        self.help_prev(prev, n);
                    }
                }
                self.arena.set_next(node, level, next);
                if self.arena.cas_next(prev, level, next, node) {
                    if level == 0 {
                        linked = Some(Linked { prev, next });
                        if let Some(n) = next {
                            // Best effort: if it fails, a later insert
                            // between `node` and `n` (or its helper) sets it.
                            self.arena.cas_prev(n, Some(prev), node);
                        }
                    }
                    break;
                }
                let (p, n) = self.find_at(prev, level, key, seqno);
                s.prev[level] = p;
                s.set_next(level, n);
            }
        }
        #[cfg(not(loom))]
        if linked.is_some() && self.top.reaches(height) {
            self.note_linked(node, key, height, s, grown);
        }
        // The node is the new predecessor at the levels it reached; a
        // short one's predecessors are kept for a finger (see `Finger`).
        s.last = None;
        if height <= FINGER_LEVELS {
            s.before[..height].copy_from_slice(&s.prev[..height]);
            s.last = Some((node, height));
        }
        for level in 0..height {
            s.prev[level] = node;
        }
        Ok(linked)
    }

    /// What the top index learns from an insert: `node` (key `key`,
    /// `height` levels) was just linked, with `s` holding its neighbours
    /// at each level (the list has `grown` levels). Before the first
    /// index, a tall node counts towards it (`TopIndex::first_due`). A node linked at either end of the index's level joins
    /// the index there (see `LevelCopy::extend`); one as tall as that
    /// level may make the index due for a retake (`TopIndex::linked`).
    #[cfg(not(loom))]
    #[inline(never)]
    fn note_linked(&self, node: NodeRef, key: &[u8], height: usize, s: &Splice, grown: usize) {
        let Some(top) = self.top.get() else {
            if self.top.first_due(height) {
                self.take_first_top(grown);
            }
            return;
        };
        let level = top.level();
        if height <= level {
            return;
        }
        let edge = if s.next[level].is_none() {
            Some(Edge::Last)
        } else if s.prev[level] == self.head {
            Some(Edge::First)
        } else {
            None
        };
        if let Some(edge) = edge {
            if top.extend(node, key, edge, |n| self.arena.key(n)) == Extended::Full {
                self.retake_top(level);
                return;
            }
        }
        if let Some(level) = self.top.linked(height) {
            self.retake_top(level);
        }
    }

    /// Seeks every key of `keys` (at the newest seqno), calling `f(i,
    /// first node >= keys[i])`, in an unspecified order. Allocation-free.
    ///
    /// Keys are taken `GROUP` at a time, in key order, in two phases:
    ///
    /// 1. **Finger search to a start.** With a top index, each key's
    ///    search starts at the index's level, from the last index node
    ///    below it, found by galloping from the previous key's rank in the
    ///    index (see [`View::rank_from`](crate::top::View::rank_from)).
    ///    Without one (a small table), each key starts from the previous
    ///    key's path at the lowest of the top `UPPER_LEVELS` where that
    ///    path still lies before it
    ///    (the node that stopped the previous search there sorts at or
    ///    after the new key), and descends those levels.
    /// 2. **Interleaved descent through the levels below**, where nearly
    ///    every step is a cache miss: the searches run `LANES` at a
    ///    time, round-robin, one step each; a step compares the candidate
    ///    node prefetched on the previous round, then loads and prefetches
    ///    the next one, so up to `LANES` misses are in flight at once.
    ///    Whether a step moves right or down is a coin toss the branch
    ///    predictor cannot learn, so the step selects its next state
    ///    without branching on it.
    pub(crate) fn multi_seek<'k>(
        &self,
        keys: &[&'k [u8]],
        mut f: impl FnMut(usize, Option<NodeRef>),
    ) {
        /// Keys sorted and searched together.
        const GROUP: usize = 64;
        /// Levels searched by finger search in phase 1 without a top index.
        const UPPER_LEVELS: usize = 12;
        /// Searches interleaved in phase 2.
        const LANES: usize = 16;
        /// A search in phase 2, at `level`: its next step compares `cand`,
        /// the node after `x` there (`stop`, the node that ended the level
        /// above, is known not to sort before the key).
        #[derive(Clone, Copy)]
        struct Search<'k> {
            key: &'k [u8],
            i: usize,
            x: NodeRef,
            level: usize,
            cand: Option<NodeRef>,
            stop: Option<NodeRef>,
            /// The top index's level, for a search that started from it
            /// (else `usize::MAX`), and the steps it may still take there
            /// (as in `descend`: [`INDEX_WALK`]).
            indexed: usize,
            budget: usize,
        }
        for (g, group) in keys.chunks(GROUP).enumerate() {
            let base = g * GROUP;
            // The caller's keys may be scattered in memory too: start
            // loading all of them before the sort compares them.
            for k in group {
                prefetch(k.as_ptr());
            }
            let mut order = [0u8; GROUP];
            for (i, o) in order.iter_mut().enumerate().take(group.len()) {
                *o = i as u8;
            }
            let order = &mut order[..group.len()];
            order.sort_unstable_by(|&a, &b| compare_keys(group[a as usize], group[b as usize]));

            // Phase 1: each key's start, a node before it and the levels
            // left below (0: the search is done, `stop` is its answer).
            let top = self.height.load(Ordering::Relaxed);
            let mut starts = [(self.head, 0usize, None::<NodeRef>); GROUP];
            #[cfg(not(loom))]
            let indexed = self.index_starts(group, order, top, &mut starts);
            #[cfg(loom)]
            let indexed = false;
            if !indexed {
                let low = top.saturating_sub(UPPER_LEVELS);
                self.finger_starts(group, order, top, low, &mut starts);
            }

            // Phase 2: the levels below each start, interleaved.
            let start = |i: usize| -> Option<Search<'k>> {
                let (x, levels, stop) = starts[i];
                if levels == 0 {
                    return None;
                }
                let cand = self.arena.next(x, levels - 1);
                if let Some(c) = cand {
                    if cand != stop {
                        self.arena.prefetch(c);
                    }
                }
                Some(Search {
                    key: group[i],
                    i,
                    x,
                    level: levels - 1,
                    cand,
                    stop,
                    // Started by the index (from one of its nodes, or
                    // from the head on its level), not from the head at
                    // the list's height nor by `finger_starts`.
                    indexed: if indexed && levels < top {
                        levels - 1
                    } else {
                        usize::MAX
                    },
                    budget: INDEX_WALK,
                })
            };
            let mut active: [Option<Search<'k>>; LANES] = [None; LANES];
            let mut pending = order.iter().map(|&i| i as usize);
            // Fills a lane with the next search that still has levels to
            // go; searches done in phase 1 report at once.
            let mut refill =
                |slot: &mut Option<Search<'k>>, f: &mut dyn FnMut(usize, Option<NodeRef>)| {
                    *slot = None;
                    for i in pending.by_ref() {
                        match start(i) {
                            Some(s) => {
                                *slot = Some(s);
                                return;
                            }
                            None => f(base + i, starts[i].2),
                        }
                    }
                };
            for slot in active.iter_mut() {
                refill(slot, &mut f);
            }
            let mut running = active.iter().flatten().count();
            while running > 0 {
                for slot in active.iter_mut() {
                    let Some(s) = slot else { continue };
                    // `stop` is known not to sort before the key. (Both
                    // sides are evaluated: `&`, not `&&`, so the only
                    // branch here is on the end of the level.)
                    let cand = s.cand;
                    let right = match cand {
                        Some(c) => (cand != s.stop) & self.before(c, s.key, MAX_SEQNO),
                        None => false,
                    };
                    if s.level == 0 && !right {
                        f(base + s.i, cand);
                        refill(slot, &mut f);
                        if slot.is_none() {
                            running -= 1;
                        }
                        continue;
                    }
                    if right {
                        walked();
                    }
                    if right && s.level == s.indexed {
                        if s.budget == 0 {
                            // The index's gap was too full: this search
                            // starts again from the head, every level.
                            passed_index();
                            s.x = self.head;
                            s.level = top - 1;
                            s.stop = None;
                            s.indexed = usize::MAX;
                            s.cand = self.arena.next(s.x, s.level);
                            continue;
                        }
                        s.budget -= 1;
                    }
                    // Right: on to the candidate, same level. Down: the
                    // candidate (if any) stops the levels below.
                    s.x = core::hint::select_unpredictable(right, cand.unwrap_or(s.x), s.x);
                    let keep = right | cand.is_none();
                    s.stop = core::hint::select_unpredictable(keep, s.stop, cand);
                    s.level -= usize::from(!right);
                    s.cand = self.arena.next(s.x, s.level);
                    if let Some(c) = s.cand {
                        self.arena.prefetch(c);
                    }
                }
            }
        }
    }

    /// Phase 1 of [`multi_seek`](Self::multi_seek) with a top index below
    /// `top` (the list's height): sets each key's start to (the last index
    /// node below it, the levels below the index's, no stop), the keys
    /// taken in `order` (key order) so that each is a finger search from
    /// the one before. Without such an index, returns `false` and sets
    /// nothing.
    #[cfg(not(loom))]
    fn index_starts(
        &self,
        group: &[&[u8]],
        order: &[u8],
        top: usize,
        starts: &mut [(NodeRef, usize, Option<NodeRef>)],
    ) -> bool {
        let Some(index) = self.top.get().filter(|t| t.level() < top) else {
            return false;
        };
        let level = index.level();
        let index = index.view();
        let mut rank = 0;
        for &i in order {
            rank = index.rank_from(group[i as usize], rank, |n| self.arena.key(n));
            starts[i as usize] =
                match index.inside(rank, |last| self.arena.next(last, level).is_none()) {
                    Some(x) => (x.unwrap_or(self.head), level + 1, None),
                    // Outside the index: the whole descent, from the head.
                    None => {
                        passed_index();
                        (self.head, top, None)
                    }
                };
        }
        true
    }

    /// Phase 1 of [`multi_seek`](Self::multi_seek) without a top index:
    /// the finger search of `group`'s keys, taken in `order` (key order),
    /// from `top` (the list's height) down to level `low`. Sets each key's
    /// start to (its node before it at `low`, `low`, the node after that).
    fn finger_starts(
        &self,
        group: &[&[u8]],
        order: &[u8],
        top: usize,
        low: usize,
        starts: &mut [(NodeRef, usize, Option<NodeRef>)],
    ) {
        debug_assert!(low < top, "the list has at least one level above `low`");
        let mut prev = [self.head; MAX_HEIGHT];
        let mut next: [Option<NodeRef>; MAX_HEIGHT] = [None; MAX_HEIGHT];
        let mut first = true;
        for &i in order {
            let key = group[i as usize];
            // The lowest level at which the previous path still lies
            // before `key`; from the top for the first key.
            let mut level = top - 1;
            if !first {
                level = low;
                while level < top - 1 {
                    match next[level] {
                        Some(n) if self.before(n, key, MAX_SEQNO) => level += 1,
                        _ => break,
                    }
                }
            }
            first = false;
            let mut x = prev[level];
            let mut stop = if level + 1 < top {
                next[level + 1]
            } else {
                None
            };
            loop {
                let n = loop {
                    let n = self.arena.next(x, level);
                    match n {
                        Some(c) if n != stop && self.before(c, key, MAX_SEQNO) => x = c,
                        _ => break n,
                    }
                };
                prev[level] = x;
                next[level] = n;
                if n.is_some() {
                    stop = n;
                }
                if level == low {
                    break;
                }
                level -= 1;
            }
            starts[i as usize] = (x, low, next[low]);
        }
    }

    /// Pebble's helping step: if `next`'s prev hint is not `prev` although
    /// `prev` links to `next`, the insert that linked `next` has not
    /// updated it yet; do it for that insert.
    #[inline]
    fn help_prev(&self, prev: NodeRef, next: NodeRef) {
        let hint = self.arena.prev(next);
        if hint != Some(prev) && self.arena.next(prev, 0) == Some(next) {
            self.arena.cas_prev(next, hint, prev);
        }
    }
}
