//! The top index: a sorted snapshot of one upper level of the list, so a
//! search can skip every level above it.
//!
//! In a table of a million entries a search passes about twenty levels.
//! The upper half of them holds few nodes, all in cache, yet each level
//! still costs a dependent load and a compare whose branch mispredicts
//! half the time. The snapshot holds the nodes of one level (`level`, ten
//! below the top when taken, about a thousand nodes) with the first eight
//! bytes of each key, in key order: a branch-free binary search over those
//! heads (in cache, a few kilobytes) finds the last node whose key is
//! below the target, and the descent starts there, at `level`.
//!
//! Correctness needs nothing from the snapshot's freshness: nodes are
//! never unlinked while the list lives, so every node in it is still on
//! its level, and a descent may start at any node of a level whose key is
//! below the target (a strictly smaller head proves that). A stale
//! snapshot only makes the search walk further along `level`. It is
//! retaken each time the list grows a level, so its level keeps about the
//! same number of nodes.
//!
//! Snapshots are published in write-once slots and never freed before
//! the table, so readers need no reclamation: a read is one `Acquire` load
//! of the slot number and the slot's own `Acquire` load. Taking one
//! allocates (twice), about once per level the list grows: twenty times
//! in a million inserts, like a chunk refill. All safe code; under loom
//! the index is off, so the models check the list itself.

use crate::arena::NodeRef;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Snapshots a table can take. Each is taken when the list grows a level,
/// and a list of `MAX_HEIGHT` levels grows at most that many times.
const SLOTS: usize = crate::list::MAX_HEIGHT;

/// How many levels below the top the snapshot's level is: the list's top
/// levels hold a node or two each, so the level `SPAN` below holds about
/// `2^SPAN` nodes.
pub(crate) const SPAN: usize = 10;

/// The first eight bytes of a key, big-endian, zero-padded. If two heads
/// differ, so do the keys, in the same order.
#[inline(always)]
pub(crate) fn head8(key: &[u8]) -> u64 {
    if let Some(h) = key.first_chunk::<8>() {
        return u64::from_be_bytes(*h);
    }
    let mut h = [0u8; 8];
    h[..key.len()].copy_from_slice(key);
    u64::from_be_bytes(h)
}

/// One level's nodes in key order, with their key heads.
pub(crate) struct Snapshot {
    level: usize,
    heads: Box<[u64]>,
    nodes: Box<[NodeRef]>,
}

impl Snapshot {
    /// A snapshot of `level`, from its nodes in list order.
    pub(crate) fn new(level: usize, entries: impl Iterator<Item = (u64, NodeRef)>) -> Snapshot {
        let (heads, nodes): (Vec<u64>, Vec<NodeRef>) = entries.unzip();
        debug_assert!(heads.is_sorted(), "a level is in key order");
        Snapshot {
            level,
            heads: heads.into(),
            nodes: nodes.into(),
        }
    }

    /// The snapshot's level.
    #[inline]
    pub(crate) fn level(&self) -> usize {
        self.level
    }

    /// The last node whose key head is below `head` (so whose key is below
    /// any key with that head), if any.
    #[inline]
    pub(crate) fn below(&self, head: u64) -> Option<NodeRef> {
        let heads = &self.heads[..];
        if heads.is_empty() {
            return None;
        }
        // Branch-free lower bound: `base` ends at the last index whose head
        // is below `head`, or at 0.
        let (mut base, mut size) = (0usize, heads.len());
        while size > 1 {
            let half = size / 2;
            let mid = base + half;
            base = core::hint::select_unpredictable(heads[mid] < head, mid, base);
            size -= half;
        }
        if heads[base] < head {
            Some(self.nodes[base])
        } else {
            None
        }
    }
}

/// The table's snapshots; the newest is the one searches use.
pub(crate) struct TopIndex {
    slots: [OnceLock<Snapshot>; SLOTS],
    /// Slots handed out to snapshot takers.
    taken: AtomicUsize,
    /// One past the newest published slot (0: none yet).
    newest: AtomicUsize,
}

impl TopIndex {
    pub(crate) fn new() -> TopIndex {
        TopIndex {
            slots: [const { OnceLock::new() }; SLOTS],
            taken: AtomicUsize::new(0),
            newest: AtomicUsize::new(0),
        }
    }

    /// The newest snapshot, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Snapshot> {
        match self.newest.load(Ordering::Acquire) {
            0 => None,
            i => self.slots[i - 1].get(),
        }
    }

    /// Whether another snapshot can be published.
    pub(crate) fn has_room(&self) -> bool {
        self.taken.load(Ordering::Relaxed) < SLOTS
    }

    /// Publishes `snapshot` as the newest, if a slot is left (otherwise
    /// the older snapshot stays: still correct, only staler).
    pub(crate) fn publish(&self, snapshot: Snapshot) {
        let i = self.taken.fetch_add(1, Ordering::Relaxed);
        if i >= SLOTS {
            return;
        }
        let _ = self.slots[i].set(snapshot);
        self.newest.fetch_max(i + 1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_order_as_keys_do() {
        let keys: [&[u8]; 7] = [b"", b"\0", b"a", b"a\0", b"ab", b"abcdefgh", b"abcdefgi"];
        for a in keys {
            for b in keys {
                if head8(a) < head8(b) {
                    assert!(a < b, "{a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn below_finds_the_last_smaller_head() {
        let heads = [3u64, 5, 5, 9, 12];
        let nodes = (1..=5).map(crate::arena::NodeRef::for_test);
        let s = Snapshot::new(4, heads.into_iter().zip(nodes));
        assert_eq!(s.level(), 4);
        for probe in 0..15u64 {
            let want = heads.iter().rposition(|&h| h < probe);
            let got = s.below(probe);
            assert_eq!(
                got,
                want.map(|i| crate::arena::NodeRef::for_test(i as u32 + 1)),
                "{probe}"
            );
        }
        let empty = Snapshot::new(0, std::iter::empty());
        assert_eq!(empty.below(7), None);
    }

    #[test]
    fn the_newest_published_snapshot_wins() {
        let top = TopIndex::new();
        assert!(top.get().is_none());
        top.publish(Snapshot::new(1, std::iter::empty()));
        top.publish(Snapshot::new(2, std::iter::empty()));
        assert_eq!(top.get().map(Snapshot::level), Some(2));
        for _ in 0..SLOTS {
            top.publish(Snapshot::new(3, std::iter::empty()));
        }
        assert!(!top.has_room());
        assert_eq!(top.get().map(Snapshot::level), Some(3));
    }
}
