//! The top index: a sorted snapshot of one upper level of the list, so a
//! search can skip every level above it.
//!
//! In a table of a million entries a search passes about twenty levels.
//! The upper half of them holds few nodes, all in cache, yet each level
//! still costs a dependent load and a compare whose branch mispredicts
//! half the time. The snapshot holds the nodes of one level (512 to 2048
//! of them) in key order, with a four-byte *head* of each key: the key
//! bytes that follow the prefix every key of the snapshot shares. A
//! branch-free binary search over those heads (in cache, a few kilobytes)
//! finds the last node whose key is below the target, and the descent
//! starts there, at the snapshot's level. Stripping the shared prefix
//! keeps the heads telling for keys that share a long one (URLs, paths,
//! `user:…` ids), where the first bytes of every key would be the same.
//!
//! Correctness needs nothing from the snapshot's freshness: nodes are
//! never unlinked while the list lives, so every node in it is still on
//! its level, and a descent may start at any node of a level whose key is
//! below the target (a strictly smaller head proves that). A stale
//! snapshot only makes the search walk further along its level, so it is
//! retaken each time its level's nodes double (see [`TopIndex::linked`]),
//! one level up once the level holds too many.
//!
//! Keys that arrive in order (ids, timestamps) all land past one end of
//! the level, where a snapshot has no node to start from: a search for
//! the newest keys then began at the head and passed every level (26
//! steps at 200k ascending keys against 11 for random ones). So a
//! snapshot keeps room on both sides, and a writer that links a node at
//! either end of the snapshot's level adds it there ([`LevelCopy::extend`]:
//! a try-lock, never a wait); the first that finds no room left has the
//! snapshot retaken. Entries are atomics, published by a Release store
//! of the snapshot's `start` or `end` after they are written; a search
//! takes a [`View`] of them (two `Acquire` loads) and keeps to it.
//!
//! Snapshots are published in write-once slots and never freed before
//! the table, so readers need no reclamation: a read is one `Acquire` load
//! of the slot number and the slot's own `Acquire` load. Taking one
//! allocates (three times), about once for each doubling of the table,
//! like a chunk refill; all of them together take about 0.1 bytes per
//! entry at a million entries (a little more for keys in order).
//! All safe code; under loom the index is off, so the models check the
//! list itself.

use crate::arena::{AtomicNodeRef, NodeRef};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Snapshots a table can take. One is retaken each time the number of
/// nodes on its level doubles (so about once for each doubling of the
/// table), and a few more while the table is small: 32 last for tables of
/// hundreds of millions of entries. After the last, the newest stays in
/// use (a stale index is still correct).
const SLOTS: usize = 32;

/// How many levels below the top the first snapshot's level is: the
/// list's top levels hold a node or two each, so the level `SPAN` below
/// holds about `2^SPAN` nodes.
pub(crate) const SPAN: usize = 10;

/// The most nodes a snapshot should hold: a retake moves one level up
/// (about half as many) while its level holds more.
pub(crate) const MOST: usize = 2048;

/// The fewest nodes a snapshot should hold: a retake moves one level down
/// (about twice as many) while its level holds fewer. So a snapshot holds
/// 512 to 2048 nodes, 4 to 16 KiB.
pub(crate) const LEAST: usize = 512;

/// Room a snapshot keeps on a side it expects few nodes at (see
/// [`LevelCopy::rooms`]).
pub(crate) const FEW_ROOM: usize = 8;

/// Before the first snapshot, nodes taller than `FIRST_LEVEL` levels are
/// counted (about one insert in 285: P(h >= 2) = 115/256, then one in two
/// per level); the `FIRST_TALL`-th takes the first snapshot, at about
/// 2,300 entries, give or take a third. The list's height (the tallest
/// tower) was the trigger before: one tower in 2,300 reaches 12 levels,
/// so a table of 10k entries went without an index about once in a
/// hundred.
pub(crate) const FIRST_LEVEL: usize = 8;

/// See [`FIRST_LEVEL`].
const FIRST_TALL: usize = 8;

/// Fewest new nodes on the level before a retake, so that a small first
/// snapshot is not retaken over and over.
const FEWEST_NEW: usize = 64;

/// The first four bytes of `rest`, big-endian, zero-padded. If the heads
/// of two byte strings differ, so do the strings, in the same order.
#[inline(always)]
fn head4(rest: &[u8]) -> u32 {
    // Loads of the bytes, not a copy into an array (`ordex_core::head`).
    ordex_core::head::head_u32(rest)
}

/// One level's nodes in key order, with their key heads, in arrays with
/// room on both sides: nodes linked at the level's ends after the
/// snapshot was taken are added there (see [`extend`](Self::extend)), so
/// the newest keys of a table filled in ascending or descending order
/// stay inside the index.
pub(crate) struct LevelCopy {
    level: usize,
    /// The bytes every key of the snapshot starts with (the longest such
    /// prefix: that of its first and last keys when taken).
    prefix: Box<[u8]>,
    /// Each node's [`head4`] of its key after `prefix`, ascending over
    /// `start..end`.
    heads: Box<[AtomicU32]>,
    /// The nodes, over `start..end`: each linked at `level`, in key order.
    nodes: Box<[AtomicNodeRef]>,
    /// The first entry. Only decreases; the entry below it is written
    /// before it is (Release).
    start: AtomicUsize,
    /// One past the last entry. Only increases; the entry is written
    /// before it is (Release).
    end: AtomicUsize,
    /// Held by the one thread extending the snapshot (a try-lock: a
    /// writer that finds it held adds nothing and goes on).
    extending: AtomicBool,
    /// Set by the first extension that found no room on its side (the
    /// caller then retakes: see [`Extended::Full`]).
    full: AtomicBool,
    /// Room before the nodes when taken (where `start` began).
    before: usize,
    /// Nodes when taken.
    taken: usize,
}

/// What [`LevelCopy::extend`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Extended {
    /// Added the node at its end.
    Added,
    /// Added nothing: another thread was extending, the node's key does
    /// not start with the prefix or does not sort beyond that end, or no
    /// room is left there (reported once before).
    Skipped,
    /// No room is left on that side; reported once per snapshot, so that
    /// one caller retakes it.
    Full,
}

/// Which end of the level a node was linked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    /// Before every node of the level (its predecessor there is the head).
    First,
    /// After every node of the level (no successor there).
    Last,
}

impl LevelCopy {
    /// A snapshot of `level`, from its nodes in list order and their keys,
    /// with room for `rooms.0` nodes before them and `rooms.1` after
    /// them (see [`rooms`](Self::rooms)). Allocates three times: heads,
    /// nodes, and the prefix if the keys share one.
    pub(crate) fn new<'k>(
        level: usize,
        nodes: &[NodeRef],
        rooms: (usize, usize),
        key: impl Fn(NodeRef) -> &'k [u8],
    ) -> LevelCopy {
        let prefix: Box<[u8]> = match (nodes.first(), nodes.last()) {
            (Some(&first), Some(&last)) => {
                let (a, b) = (key(first), key(last));
                let shared = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                a[..shared].into()
            }
            _ => Box::default(),
        };
        let (before, after) = if nodes.is_empty() { (0, 0) } else { rooms };
        let filler = nodes.first().copied();
        let entries = (0..before)
            .map(|_| None)
            .chain(nodes.iter().map(Some))
            .chain((0..after).map(|_| None));
        let (heads, nodes_of): (Vec<AtomicU32>, Vec<AtomicNodeRef>) = entries
            .map(|n| match n {
                Some(&n) => (
                    AtomicU32::new(head4(&key(n)[prefix.len()..])),
                    AtomicNodeRef::new(n),
                ),
                None => (
                    AtomicU32::new(0),
                    AtomicNodeRef::new(filler.expect("room only beside nodes")),
                ),
            })
            .unzip();
        let snapshot = LevelCopy {
            level,
            prefix,
            heads: heads.into_boxed_slice(),
            nodes: nodes_of.into_boxed_slice(),
            start: AtomicUsize::new(before),
            end: AtomicUsize::new(before + nodes.len()),
            extending: AtomicBool::new(false),
            full: AtomicBool::new(false),
            before,
            taken: nodes.len(),
        };
        debug_assert!(
            snapshot
                .view()
                .heads
                .windows(2)
                .all(|w| w[0].load(Ordering::Relaxed) <= w[1].load(Ordering::Relaxed)),
            "a level is in key order"
        );
        snapshot
    }

    /// The snapshot's level.
    #[inline]
    pub(crate) fn level(&self) -> usize {
        self.level
    }

    /// Nodes when the snapshot was taken (what a retake is measured by:
    /// see [`TopIndex::linked`]).
    fn taken(&self) -> usize {
        self.taken
    }

    /// The rooms (before, after) for a retake of this snapshot of
    /// `count` nodes: as many again on a side it was extended at by
    /// [`FEW_ROOM`] nodes or more (keys arrive in order there), so that the room lasts until the level has
    /// doubled and the snapshot is retaken anyway (with half as many, a
    /// table filled in order took twice the retakes, and its loads were
    /// 7-10% slower); a few on a side it was not, so that a table filled
    /// at random holds little room.
    pub(crate) fn rooms(&self, count: usize) -> (usize, usize) {
        let room = |extended: bool| if extended { count + 8 } else { FEW_ROOM };
        // Extended at least as far as the few (a table filled at random
        // sees a new least or greatest key on the level now and then).
        let start = self.start.load(Ordering::Relaxed);
        let end = self.end.load(Ordering::Relaxed);
        (
            room(start + FEW_ROOM <= self.before),
            room(end >= self.before + self.taken + FEW_ROOM),
        )
    }

    /// The snapshot's entries as they are now. Ranks are positions in a
    /// view: a search takes one view and keeps to it.
    #[inline]
    pub(crate) fn view(&self) -> View<'_> {
        let start = self.start.load(Ordering::Acquire);
        let end = self.end.load(Ordering::Acquire);
        View {
            prefix: &self.prefix,
            heads: &self.heads[start..end],
            nodes: &self.nodes[start..end],
        }
    }

    /// Heap bytes the snapshot holds.
    fn bytes(&self) -> usize {
        self.prefix.len()
            + std::mem::size_of_val::<[AtomicU32]>(&self.heads)
            + std::mem::size_of_val::<[AtomicNodeRef]>(&self.nodes)
    }

    /// Adds `node`, just linked at the snapshot's level at its `edge`
    /// with key `key` (`key_of` gives a node's key), at that end of the
    /// snapshot, if its key sorts beyond the entry there and starts with
    /// the prefix. Never waits: a thread that finds another extending
    /// adds nothing (the snapshot is only staler for it).
    ///
    /// The snapshot stays sorted, and every entry a node linked at its
    /// level: all a search needs from it (see the module's notes).
    pub(crate) fn extend<'k>(
        &self,
        node: NodeRef,
        key: &[u8],
        edge: Edge,
        key_of: impl Fn(NodeRef) -> &'k [u8],
    ) -> Extended {
        use std::cmp::Ordering::{Greater, Less};
        let Ok(head) = head_after(&self.prefix, key) else {
            // Beyond the prefix (a counter that carried into a byte the
            // snapshot's keys share): only a retake, with a shorter
            // prefix, can take the key in.
            return self.full();
        };
        if self
            .extending
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Extended::Skipped;
        }
        let (start, end) = (
            self.start.load(Ordering::Relaxed),
            self.end.load(Ordering::Relaxed),
        );
        let (at, beyond) = match edge {
            Edge::First => (start.checked_sub(1), Less),
            Edge::Last => ((end < self.nodes.len()).then_some(end), Greater),
        };
        let outcome = match at {
            _ if start == end => Extended::Skipped,
            None => self.full(),
            Some(at) => {
                let neighbour = match edge {
                    Edge::First => start,
                    Edge::Last => end - 1,
                };
                let next_to = self.nodes[neighbour].load(Ordering::Relaxed);
                if crate::keys::compare_keys(key, key_of(next_to)) == beyond {
                    self.heads[at].store(head, Ordering::Relaxed);
                    self.nodes[at].store(node, Ordering::Relaxed);
                    match edge {
                        Edge::First => self.start.store(at, Ordering::Release),
                        Edge::Last => self.end.store(at + 1, Ordering::Release),
                    }
                    Extended::Added
                } else {
                    Extended::Skipped
                }
            }
        };
        self.extending.store(false, Ordering::Release);
        outcome
    }
}

impl LevelCopy {
    /// [`Extended::Full`] the first time, [`Extended::Skipped`] after.
    fn full(&self) -> Extended {
        if self.full.swap(true, Ordering::Relaxed) {
            Extended::Skipped
        } else {
            Extended::Full
        }
    }
}

/// A [`LevelCopy`]'s entries at one moment (see [`LevelCopy::view`]).
#[derive(Clone, Copy)]
pub(crate) struct View<'s> {
    prefix: &'s [u8],
    heads: &'s [AtomicU32],
    nodes: &'s [AtomicNodeRef],
}

impl<'s> View<'s> {
    /// Nodes in the view.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    fn node(&self, i: usize) -> NodeRef {
        self.nodes[i].load(Ordering::Relaxed)
    }

    #[inline]
    fn head(&self, i: usize) -> u32 {
        self.heads[i].load(Ordering::Relaxed)
    }

    /// The last node whose key sorts below `key`, if any.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn below<'k>(
        &self,
        key: &[u8],
        key_of: impl Fn(NodeRef) -> &'k [u8],
    ) -> Option<NodeRef> {
        self.last_of(self.rank(key, key_of))
    }

    /// How many of the view's nodes, from the first, sort below `key`
    /// (`key_of` gives a node's key).
    ///
    /// The heads decide, but for nodes whose head equals `key`'s: there the
    /// keys themselves are compared, by bisection. Heads tie where the
    /// keys' telling bytes lie beyond the four after the shared prefix, as
    /// with a small table id and then a row id counting up: one table's
    /// nodes all tie, and a search that started before all of them walked
    /// along the whole table on the index's level.
    #[inline]
    pub(crate) fn rank<'k>(&self, key: &[u8], key_of: impl Fn(NodeRef) -> &'k [u8]) -> usize {
        match self.head_of(key) {
            Ok(head) => {
                let lo = rank_in(self.heads, head);
                self.untie(lo, head, key, key_of)
            }
            Err(rank) => rank,
        }
    }

    /// From `lo`, the rank of `head` among the heads, the rank of `key`
    /// itself: the nodes from `lo` whose head is `head` are bisected by
    /// their keys. `lo` itself when no head ties (the common case: one
    /// compare of a head in cache).
    #[inline]
    fn untie<'k>(
        &self,
        lo: usize,
        head: u32,
        key: &[u8],
        key_of: impl Fn(NodeRef) -> &'k [u8],
    ) -> usize {
        if lo >= self.heads.len() || self.head(lo) != head {
            return lo;
        }
        let tied = self.heads[lo..].partition_point(|h| h.load(Ordering::Relaxed) == head);
        let (mut lo, mut hi) = (lo, lo + tied);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if crate::keys::compare_keys(key_of(self.node(mid)), key) == std::cmp::Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Where a search for a key of rank `rank` (see [`rank`](Self::rank))
    /// may start along the index's level: after the last node proven
    /// below the key (`Some(Some(node))`), or from the list's head when
    /// none is (`Some(None)`). Before the first node, keys that arrive
    /// descending (the common order there) each land before all the
    /// others, and a walk from the head along the index's level stops at
    /// once; the search's budget (see `INDEX_WALK`) bounds the rest.
    ///
    /// A key above the view's last node starts from that node only if
    /// `ends_level(last)` says nothing lies after it on its level (the
    /// newest keys of a table filled in order, when the snapshot has taken
    /// in the nodes linked at its end). Otherwise nodes linked since the
    /// snapshot was taken may pile up there unseen, and a walk along the
    /// level would pass every one of them: such a search (`None`) starts
    /// from the head at the list's full height. Gets of the hundred newest
    /// ascending keys took 12.5 steps where random keys took 9.6, as about
    /// one key in 70 (the share of towers as tall as the index's level)
    /// lies past the view's last node.
    #[inline]
    pub(crate) fn inside(
        &self,
        rank: usize,
        ends_level: impl FnOnce(NodeRef) -> bool,
    ) -> Option<Option<NodeRef>> {
        if rank < self.nodes.len() {
            return Some(rank.checked_sub(1).map(|p| self.node(p)));
        }
        let last = self.node(self.nodes.len().checked_sub(1)?);
        ends_level(last).then_some(Some(last))
    }

    /// How many of the view's nodes, from the first, it proves below
    /// `key`, given that it proves at least `lo` of them below it (`lo` is
    /// the rank of a smaller key, or 0). A finger search: it gallops from
    /// `lo` (steps of 1, 2, 4, ...) to a node it cannot prove below, then
    /// bisects what it jumped over, so keys taken in order cost the log of
    /// their distance each rather than the log of the view.
    #[inline]
    pub(crate) fn rank_from<'k>(
        &self,
        key: &[u8],
        lo: usize,
        key_of: impl Fn(NodeRef) -> &'k [u8],
    ) -> usize {
        let head = match self.head_of(key) {
            Ok(head) => head,
            Err(rank) => return rank,
        };
        let heads = self.heads;
        let (mut lo, mut hi, mut step) = (lo.min(heads.len()), lo.min(heads.len()), 1);
        // Every head before `lo` is below `head`; so is none from `hi` on.
        while hi < heads.len() && self.head(hi) < head {
            lo = hi + 1;
            hi += step;
            step *= 2;
        }
        let hi = hi.min(heads.len());
        self.untie(lo + rank_in(&heads[lo..hi], head), head, key, key_of)
    }

    /// The node of rank `rank` + 1 (the last of the `rank` first nodes):
    /// with a [`rank_from`](Self::rank_from), the last node proven below
    /// the key, if any.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn last_of(&self, rank: usize) -> Option<NodeRef> {
        rank.checked_sub(1).map(|p| self.node(p))
    }

    /// `key`'s head after the shared prefix, or, if the prefix alone
    /// decides, the rank: 0 if `key` sorts before every key of the view,
    /// all of them if after.
    #[inline]
    fn head_of(&self, key: &[u8]) -> Result<u32, usize> {
        head_after(self.prefix, key).map_err(|order| match order {
            std::cmp::Ordering::Less => 0,
            _ => self.nodes.len(),
        })
    }
}

/// `key`'s [`head4`] after `prefix`, or, if the prefix alone decides,
/// whether `key` sorts before (`Less`) or after (`Greater`) every key that
/// starts with `prefix`.
#[inline]
fn head_after(prefix: &[u8], key: &[u8]) -> Result<u32, std::cmp::Ordering> {
    let shared = prefix.len();
    let (start, rest) = key.split_at(shared.min(key.len()));
    // (Not `<[u8]>::cmp`: its call to `memcmp`, even for no bytes, made
    // every get at 10k entries half again as slow.)
    let order = if shared == 0 {
        std::cmp::Ordering::Equal
    } else {
        crate::keys::compare_keys(start, &prefix[..start.len()])
    };
    match order {
        std::cmp::Ordering::Equal if key.len() < shared => Err(std::cmp::Ordering::Less),
        std::cmp::Ordering::Equal => Ok(head4(rest)),
        // Below every key that starts with the prefix, or above all.
        order => Err(order),
    }
}

/// How many of `heads` (ascending) are below `head`: a branch-free lower
/// bound.
#[inline]
fn rank_in(heads: &[AtomicU32], head: u32) -> usize {
    if heads.is_empty() {
        return 0;
    }
    let at = |i: usize| heads[i].load(Ordering::Relaxed);
    // `base` ends at the last index whose head is below `head`, or at 0.
    let (mut base, mut size) = (0usize, heads.len());
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = core::hint::select_unpredictable(at(mid) < head, mid, base);
        size -= half;
    }
    base + usize::from(at(base) < head)
}

/// The table's snapshots; the newest is the one searches use.
pub(crate) struct TopIndex {
    slots: [OnceLock<LevelCopy>; SLOTS],
    /// Slots handed out to snapshot takers.
    taken: AtomicUsize,
    /// One past the newest published slot (0: none yet).
    newest: AtomicUsize,
    /// Nodes linked on the newest snapshot's level since it was taken.
    new_nodes: AtomicUsize,
    /// The newest snapshot's level (`usize::MAX` before the first): what
    /// an insert checks its node's height against before it has anything
    /// to tell the index (see `List::note_linked`).
    level: AtomicUsize,
}

impl TopIndex {
    pub(crate) fn new() -> TopIndex {
        TopIndex {
            slots: [const { OnceLock::new() }; SLOTS],
            taken: AtomicUsize::new(0),
            newest: AtomicUsize::new(0),
            new_nodes: AtomicUsize::new(0),
            level: AtomicUsize::new(FIRST_LEVEL),
        }
    }

    /// The newest snapshot, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<&LevelCopy> {
        match self.newest.load(Ordering::Acquire) {
            0 => None,
            i => self.slots[i - 1].get(),
        }
    }

    /// Heap bytes held by every snapshot taken (all are kept until the
    /// table drops).
    pub(crate) fn bytes(&self) -> usize {
        let newest = self.newest.load(Ordering::Acquire);
        self.slots[..newest.min(SLOTS)]
            .iter()
            .filter_map(OnceLock::get)
            .map(LevelCopy::bytes)
            .sum()
    }

    /// Snapshots taken (published or, past the last slot, dropped).
    pub(crate) fn taken(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
    }

    /// Whether a node of `height` levels reaches the newest snapshot's
    /// level, or before the first, is one of the tall ones that count
    /// towards it (one relaxed load).
    #[inline]
    pub(crate) fn reaches(&self, height: usize) -> bool {
        height > self.level.load(Ordering::Relaxed)
    }

    /// Notes, before the first snapshot, that a node of `height` levels
    /// was linked: true for exactly one caller, the one whose node is the
    /// [`FIRST_TALL`]-th taller than [`FIRST_LEVEL`]; it takes the first
    /// snapshot (see `List::note_linked`).
    #[inline]
    pub(crate) fn first_due(&self, height: usize) -> bool {
        height > FIRST_LEVEL
            && self.newest.load(Ordering::Relaxed) == 0
            && self.new_nodes.fetch_add(1, Ordering::Relaxed) + 1 == FIRST_TALL
    }

    /// Whether another snapshot can be published.
    pub(crate) fn has_room(&self) -> bool {
        self.taken.load(Ordering::Relaxed) < SLOTS
    }

    /// Notes that a node of `height` levels was linked. If that makes the
    /// newest snapshot's level hold twice the nodes it held when taken,
    /// returns that level: the caller retakes (see `List::retake_top`).
    ///
    /// The list's height alone (what the first snapshot waits for) is a
    /// poor trigger: it is the tallest of all towers, and one lucky node
    /// raises it early. Retaken only at height changes, a snapshot was
    /// found holding a fifth of its level's nodes, which made gets at 10k
    /// entries about a third slower than with a fresh one.
    ///
    /// One call in about a thousand (the share of nodes as tall as the
    /// level) does a `fetch_add`; exactly one caller sees the threshold
    /// reached. Counts that race with a retake may be lost: the next
    /// retake then only comes a little later.
    #[inline]
    pub(crate) fn linked(&self, height: usize) -> Option<usize> {
        let newest = self.get()?;
        if height <= newest.level() {
            return None;
        }
        let new = self.new_nodes.fetch_add(1, Ordering::Relaxed) + 1;
        (new == newest.taken().max(FEWEST_NEW)).then(|| newest.level())
    }

    /// Publishes `snapshot` as the newest, if a slot is left (otherwise
    /// the older snapshot stays: still correct, only staler).
    pub(crate) fn publish(&self, snapshot: LevelCopy) {
        let i = self.taken.fetch_add(1, Ordering::Relaxed);
        if i >= SLOTS {
            return;
        }
        let snapshot_level = snapshot.level();
        let _ = self.slots[i].set(snapshot);
        self.level.store(snapshot_level, Ordering::Relaxed);
        self.newest.fetch_max(i + 1, Ordering::Release);
        self.new_nodes.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: usize) -> NodeRef {
        NodeRef::for_test(i as u32 + 1)
    }

    /// Checks `below` against the keys it indexes: the node it returns
    /// sorts below the probe, and every later node does not, whether the
    /// heads tell them apart or the keys must (same prefix and head): it is
    /// the last node below the probe.
    fn check(keys: &[Vec<u8>], probes: &[Vec<u8>]) {
        let key_of = |n: NodeRef| -> &[u8] { &keys[n.for_test_index()] };
        let nodes: Vec<NodeRef> = (0..keys.len()).map(node).collect();
        let snapshot = LevelCopy::new(3, &nodes, (0, 0), key_of);
        assert_eq!(snapshot.level(), 3);
        let s = snapshot.view();
        for p in probes {
            let got = s.below(p, key_of).map(|n| n.for_test_index());
            if let Some(i) = got {
                assert!(keys[i] < *p, "{:?} returned for {p:?}", keys[i]);
            }
            let after = got.map_or(0, |i| i + 1);
            for k in &keys[after..] {
                assert!(*k >= *p, "{k:?} is below {p:?}, after {got:?}");
            }
        }
        // The finger search, probes in key order, each from the rank of
        // the one before (some skipped, so some steps are long): the same
        // node as a search from the first.
        let mut sorted = probes.to_vec();
        sorted.sort();
        for stride in [1, 3, 17] {
            let mut rank = 0;
            for p in sorted.iter().step_by(stride) {
                rank = s.rank_from(p, rank, key_of);
                assert_eq!(
                    s.last_of(rank),
                    s.below(p, key_of),
                    "finger search for {p:?}"
                );
            }
        }
    }

    #[test]
    fn below_finds_the_last_smaller_key() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // Keys over a small alphabet (many share heads), with and without
        // a long shared prefix, of lengths around the prefix and head
        // boundaries; probes are the keys, their neighbours and strangers.
        for prefix in [&b""[..], b"user:", b"https://example.com/"] {
            for n in [0usize, 1, 2, 3, 7, 100, 1000] {
                let mut keys: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let r = rand();
                        let len = (r % 9) as usize;
                        let mut k = prefix.to_vec();
                        k.extend((0..len).map(|i| b"\0ab\xff"[((r >> (8 + 2 * i)) % 4) as usize]));
                        k
                    })
                    .collect();
                keys.sort();
                let mut probes: Vec<Vec<u8>> = Vec::new();
                for k in &keys {
                    probes.push(k.clone());
                    let mut longer = k.clone();
                    longer.push(0);
                    probes.push(longer);
                    probes.push(k[..k.len() / 2].to_vec());
                }
                for p in [
                    &b""[..],
                    b"\0",
                    b"a",
                    b"user",
                    b"user:",
                    b"users",
                    b"zzz",
                    b"\xff\xff",
                ] {
                    probes.push(p.to_vec());
                }
                check(&keys, &probes);
            }
        }
    }

    #[test]
    fn a_shared_prefix_is_stripped_from_the_heads() {
        let keys: Vec<Vec<u8>> = (0..500u32)
            .map(|i| format!("https://example.com/items/{i:06}").into_bytes())
            .collect();
        let key_of = |n: NodeRef| -> &[u8] { &keys[n.for_test_index()] };
        let nodes: Vec<NodeRef> = (0..keys.len()).map(node).collect();
        let snapshot = LevelCopy::new(2, &nodes, (0, 0), key_of);
        assert_eq!(&snapshot.prefix[..], b"https://example.com/items/000");
        let s = snapshot.view();
        // Every key gets a head of its own, so the search lands on the
        // key's predecessor itself.
        for (i, k) in keys.iter().enumerate().skip(1) {
            assert_eq!(s.below(k, key_of).map(|n| n.for_test_index()), Some(i - 1));
        }
        assert_eq!(s.below(b"https://example.com/items/000000", key_of), None);
        assert_eq!(
            s.below(b"https://example.com/j", key_of)
                .map(|n| n.for_test_index()),
            Some(499)
        );
        assert_eq!(s.below(b"https://example.com/", key_of), None);
    }

    /// Nodes linked at the level's ends join the snapshot there, while it
    /// has room and their keys sort beyond its ends and share its prefix;
    /// the first that finds no room is told so once (the retake); and a
    /// search over a view finds each key's predecessor among them.
    #[test]
    fn nodes_linked_at_the_ends_extend_the_snapshot() {
        let key = |i: usize| format!("id:{:08}", i).into_bytes();
        let keys: Vec<Vec<u8>> = (0..4000).map(key).chain([b"zz".to_vec()]).collect();
        let key_of = |n: NodeRef| -> &[u8] { &keys[n.for_test_index()] };
        // Taken over ids 990 to 1099 (the prefix "id:0000"), with room
        // for 58 on each side.
        let taken: Vec<NodeRef> = (990..1100).map(node).collect();
        let s = LevelCopy::new(4, &taken, (58, 58), key_of);
        assert_eq!(s.rooms(110), (FEW_ROOM, FEW_ROOM), "not extended yet");
        assert_eq!(s.view().len(), 110);
        // Not beyond an end: skipped.
        assert_eq!(
            s.extend(node(1050), &key(1050), Edge::Last, key_of),
            Extended::Skipped
        );
        assert_eq!(
            s.extend(node(1099), &key(1099), Edge::Last, key_of),
            Extended::Skipped
        );
        assert_eq!(
            s.extend(node(990), &key(990), Edge::First, key_of),
            Extended::Skipped
        );
        let (mut added_up, mut added_down) = (0, 0);
        let mut full = 0;
        for i in 1100..1200 {
            match s.extend(node(i), &key(i), Edge::Last, key_of) {
                Extended::Added => added_up += 1,
                Extended::Full => full += 1,
                Extended::Skipped => {}
            }
        }
        for i in (900..990).rev() {
            match s.extend(node(i), &key(i), Edge::First, key_of) {
                Extended::Added => added_down += 1,
                Extended::Full => full += 1,
                Extended::Skipped => {}
            }
        }
        assert_eq!((added_up, added_down, full), (58, 58, 1));
        assert_eq!(s.rooms(226), (234, 234), "extended on both sides");
        // Not sharing the prefix: reported full (once).
        let t = LevelCopy::new(4, &taken, (58, 58), key_of);
        assert_eq!(
            t.extend(node(4000), b"zz", Edge::Last, key_of),
            Extended::Full
        );
        assert_eq!(
            t.extend(node(4000), b"zz", Edge::Last, key_of),
            Extended::Skipped
        );
        assert_eq!(
            t.extend(node(1100), &key(1100), Edge::Last, key_of),
            Extended::Added
        );
        // One new greatest key is no run of them; FEW_ROOM are.
        assert_eq!(t.rooms(111), (FEW_ROOM, FEW_ROOM));
        for i in 1101..1100 + FEW_ROOM {
            assert_eq!(
                t.extend(node(i), &key(i), Edge::Last, key_of),
                Extended::Added
            );
        }
        assert_eq!(t.rooms(118), (FEW_ROOM, 126));
        let v = s.view();
        assert_eq!(v.len(), 226);
        for i in 900..1300 {
            let want = (932..1158).filter(|&j| j < i).max().map(node);
            assert_eq!(v.below(&key(i), key_of), want, "below id {i}");
            let rank = v.rank(&key(i), key_of);
            assert_eq!(v.inside(rank, |_| false).is_some(), i < 1158, "{i}");
            assert_eq!(
                v.inside(rank, |_| true).map(|x| x.is_some()),
                Some(i > 932),
                "{i}"
            );
        }
    }

    /// Threads extend a snapshot at both ends (a try-lock: some adds are
    /// skipped) while others search views of it: every view is sorted,
    /// holds only nodes of the keys added, and finds each probe's
    /// predecessor among them.
    #[test]
    fn views_stay_sorted_while_threads_extend() {
        let keys: Vec<Vec<u8>> = (0..20_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let key_of = |n: NodeRef| -> &[u8] { &keys[n.for_test_index()] };
        let taken: Vec<NodeRef> = (10_000..12_000).map(node).collect();
        let s = LevelCopy::new(2, &taken, (1_008, 1_008), key_of);
        let finished = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for t in 0..2usize {
                let (s, keys, key_of, finished) = (&s, &keys, &key_of, &finished);
                scope.spawn(move || {
                    for step in 0..1_000 {
                        let (i, edge) = if t == 0 {
                            (12_000 + step, Edge::Last)
                        } else {
                            (9_999 - step, Edge::First)
                        };
                        let _ = s.extend(node(i), &keys[i], edge, key_of);
                    }
                    finished.fetch_add(1, Ordering::Release);
                });
            }
            for _ in 0..2 {
                let (s, keys, key_of, finished) = (&s, &keys, &key_of, &finished);
                scope.spawn(move || {
                    let mut probe = 0x1234_5678u32;
                    let mut last = false;
                    while !last {
                        last = finished.load(Ordering::Acquire) == 2;
                        let v = s.view();
                        let got: Vec<usize> =
                            (0..v.len()).map(|i| v.node(i).for_test_index()).collect();
                        assert!(got.windows(2).all(|w| w[0] < w[1]), "a view is sorted");
                        assert!(got.len() >= 2_000 && got.len() <= 2_000 + 2 * 1_008);
                        for _ in 0..16 {
                            probe = probe.wrapping_mul(0x9E37_79B9).wrapping_add(1);
                            let p = (probe % 20_000) as usize;
                            let want = got.iter().rev().find(|&&j| j < p).copied();
                            let found = v.below(&keys[p], key_of).map(NodeRef::for_test_index);
                            assert_eq!(found, want, "below {p}");
                        }
                    }
                });
            }
        });
        // Adds skipped while the other side held the lock leave gaps; the
        // view stays sorted and keeps every node it was taken with.
        let v = s.view();
        let got: Vec<usize> = (0..v.len()).map(|i| v.node(i).for_test_index()).collect();
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        assert!(got.contains(&10_000) && got.contains(&11_999));
    }

    #[test]
    fn the_newest_published_snapshot_wins() {
        let top = TopIndex::new();
        assert!(top.get().is_none());
        let none = |_: NodeRef| -> &[u8] { b"" };
        top.publish(LevelCopy::new(1, &[], (0, 0), none));
        top.publish(LevelCopy::new(2, &[], (0, 0), none));
        assert_eq!(top.get().map(LevelCopy::level), Some(2));
        for _ in 0..SLOTS {
            top.publish(LevelCopy::new(3, &[], (0, 0), none));
        }
        assert!(!top.has_room());
        assert_eq!(top.get().map(LevelCopy::level), Some(3));
    }
}
