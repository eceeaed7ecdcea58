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
//! Snapshots are published in write-once slots and never freed before
//! the table, so readers need no reclamation: a read is one `Acquire` load
//! of the slot number and the slot's own `Acquire` load. Taking one
//! allocates (three times), about once for each doubling of the table,
//! like a chunk refill; all of them together take about 0.1 bytes per
//! entry at a million entries. All safe code; under loom the index is off,
//! so the models check the list itself.

use crate::arena::NodeRef;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Fewest new nodes on the level before a retake, so that a small first
/// snapshot is not retaken over and over.
const FEWEST_NEW: usize = 64;

/// The first four bytes of `rest`, big-endian, zero-padded. If the heads
/// of two byte strings differ, so do the strings, in the same order.
#[inline(always)]
fn head4(rest: &[u8]) -> u32 {
    if let Some(h) = rest.first_chunk::<4>() {
        return u32::from_be_bytes(*h);
    }
    let mut h = [0u8; 4];
    h[..rest.len()].copy_from_slice(rest);
    u32::from_be_bytes(h)
}

/// One level's nodes in key order, with their key heads.
pub(crate) struct Snapshot {
    level: usize,
    /// The bytes every key of the snapshot starts with (the longest such
    /// prefix: that of its first and last keys).
    prefix: Box<[u8]>,
    /// Each node's [`head4`] of its key after `prefix`, ascending.
    heads: Box<[u32]>,
    nodes: Vec<NodeRef>,
}

impl Snapshot {
    /// A snapshot of `level`, from its nodes in list order and their keys.
    /// Allocates once for the heads, and once for the prefix if the keys
    /// share one (`nodes` is kept as it is).
    pub(crate) fn new<'k>(
        level: usize,
        nodes: Vec<NodeRef>,
        key: impl Fn(NodeRef) -> &'k [u8],
    ) -> Snapshot {
        let prefix: Box<[u8]> = match (nodes.first(), nodes.last()) {
            (Some(&first), Some(&last)) => {
                let (a, b) = (key(first), key(last));
                let shared = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                a[..shared].into()
            }
            _ => Box::default(),
        };
        let heads: Box<[u32]> = nodes
            .iter()
            .map(|&n| head4(&key(n)[prefix.len()..]))
            .collect();
        debug_assert!(heads.is_sorted(), "a level is in key order");
        Snapshot {
            level,
            prefix,
            heads,
            nodes,
        }
    }

    /// The snapshot's level.
    #[inline]
    pub(crate) fn level(&self) -> usize {
        self.level
    }

    /// Nodes in the snapshot.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Heap bytes the snapshot holds.
    fn bytes(&self) -> usize {
        self.prefix.len()
            + std::mem::size_of_val::<[u32]>(&self.heads)
            + self.nodes.capacity() * std::mem::size_of::<NodeRef>()
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

    /// How many of the snapshot's nodes, from the first, sort below `key`
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
                let lo = rank_in(&self.heads, head);
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
        if self.heads.get(lo) != Some(&head) {
            return lo;
        }
        let tied = self.heads[lo..].partition_point(|&h| h == head);
        let (mut lo, mut hi) = (lo, lo + tied);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if crate::list::compare_keys(key_of(self.nodes[mid]), key) == std::cmp::Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Where a search for a key of rank `rank` (see [`rank`](Self::rank))
    /// may start along the index's level, if the key is not proven above
    /// the snapshot's last node: after the last node proven below the key
    /// (`Some(Some(node))`), or from the list's head when none is
    /// (`Some(None)`). After the last node, the nodes linked since the
    /// snapshot was taken pile up unseen (ascending keys land there), and
    /// a walk from it along its level would pass every one of them: such a
    /// search (`None`) starts from the head at the list's full height.
    /// Before the first node, keys that arrive descending (the common
    /// order there) each land before all the others, and a walk from the
    /// head along the index's level stops at once; the search's budget
    /// (see `INDEX_WALK`) bounds the rest.
    #[inline]
    pub(crate) fn inside(&self, rank: usize) -> Option<Option<NodeRef>> {
        (rank < self.nodes.len()).then(|| rank.checked_sub(1).map(|p| self.nodes[p]))
    }

    /// How many of the snapshot's nodes, from the first, it proves below
    /// `key`, given that it proves at least `lo` of them below it (`lo` is
    /// the rank of a smaller key, or 0). A finger search: it gallops from
    /// `lo` (steps of 1, 2, 4, ...) to a node it cannot prove below, then
    /// bisects what it jumped over, so keys taken in order cost the log of
    /// their distance each rather than the log of the snapshot.
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
        let heads = &self.heads[..];
        let (mut lo, mut hi, mut step) = (lo.min(heads.len()), lo.min(heads.len()), 1);
        // Every head before `lo` is below `head`; so is none from `hi` on.
        while hi < heads.len() && heads[hi] < head {
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
        rank.checked_sub(1).map(|p| self.nodes[p])
    }

    /// `key`'s head after the shared prefix, or, if the prefix alone
    /// decides, the rank: 0 if `key` sorts before every key of the
    /// snapshot, all of them if after.
    #[inline]
    fn head_of(&self, key: &[u8]) -> Result<u32, usize> {
        let shared = self.prefix.len();
        let (start, rest) = key.split_at(shared.min(key.len()));
        // (Not `<[u8]>::cmp`: its call to `memcmp`, even for no bytes, made
        // every get at 10k entries half again as slow.)
        let order = if shared == 0 {
            std::cmp::Ordering::Equal
        } else {
            crate::list::compare_keys(start, &self.prefix[..start.len()])
        };
        match order {
            // Below every key of the snapshot (which all start with the
            // prefix), or above all of them.
            std::cmp::Ordering::Less => Err(0),
            std::cmp::Ordering::Greater => Err(self.nodes.len()),
            // A proper prefix of the prefix sorts before it.
            std::cmp::Ordering::Equal if key.len() < shared => Err(0),
            std::cmp::Ordering::Equal => Ok(head4(rest)),
        }
    }
}

/// How many of `heads` (ascending) are below `head`: a branch-free lower
/// bound.
#[inline]
fn rank_in(heads: &[u32], head: u32) -> usize {
    if heads.is_empty() {
        return 0;
    }
    // `base` ends at the last index whose head is below `head`, or at 0.
    let (mut base, mut size) = (0usize, heads.len());
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = core::hint::select_unpredictable(heads[mid] < head, mid, base);
        size -= half;
    }
    base + usize::from(heads[base] < head)
}

/// The table's snapshots; the newest is the one searches use.
pub(crate) struct TopIndex {
    slots: [OnceLock<Snapshot>; SLOTS],
    /// Slots handed out to snapshot takers.
    taken: AtomicUsize,
    /// One past the newest published slot (0: none yet).
    newest: AtomicUsize,
    /// Nodes linked on the newest snapshot's level since it was taken.
    new_nodes: AtomicUsize,
}

impl TopIndex {
    pub(crate) fn new() -> TopIndex {
        TopIndex {
            slots: [const { OnceLock::new() }; SLOTS],
            taken: AtomicUsize::new(0),
            newest: AtomicUsize::new(0),
            new_nodes: AtomicUsize::new(0),
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

    /// Heap bytes held by every snapshot taken (all are kept until the
    /// table drops).
    pub(crate) fn bytes(&self) -> usize {
        let newest = self.newest.load(Ordering::Acquire);
        self.slots[..newest.min(SLOTS)]
            .iter()
            .filter_map(OnceLock::get)
            .map(Snapshot::bytes)
            .sum()
    }

    /// Snapshots taken (published or, past the last slot, dropped).
    pub(crate) fn taken(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
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
        (new == newest.nodes.len().max(FEWEST_NEW)).then(|| newest.level())
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
        let s = Snapshot::new(3, (0..keys.len()).map(node).collect(), key_of);
        assert_eq!(s.level(), 3);
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
        let s = Snapshot::new(2, (0..keys.len()).map(node).collect(), key_of);
        assert_eq!(&s.prefix[..], b"https://example.com/items/000");
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

    #[test]
    fn the_newest_published_snapshot_wins() {
        let top = TopIndex::new();
        assert!(top.get().is_none());
        let none = |_: NodeRef| -> &[u8] { b"" };
        top.publish(Snapshot::new(1, Vec::new(), none));
        top.publish(Snapshot::new(2, Vec::new(), none));
        assert_eq!(top.get().map(Snapshot::level), Some(2));
        for _ in 0..SLOTS {
            top.publish(Snapshot::new(3, Vec::new(), none));
        }
        assert!(!top.has_room());
        assert_eq!(top.get().map(Snapshot::level), Some(3));
    }
}
