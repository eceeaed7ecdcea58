//! [`Cursor`]: a bidirectional cursor (seek, next, prev) over a tree or a
//! snapshot, over the [`Leaves`] walker it shares with the scans. Safe
//! code over [`crate::node`] and [`crate::tree`].

use crate::bytes::Bytes;
use crate::latch::Latch;
use crate::leaves::{Leaves, Part};
use crate::tree::Tree;
use crossbeam_epoch::Guard;
use ordex_core::Seqno;

/// A bidirectional cursor over a [`BTree`](crate::BTree) or a
/// [`BTreeSnapshot`](crate::BTreeSnapshot), from `cursor()`.
///
/// It starts unpositioned; [`seek`](Self::seek),
/// [`seek_for_prev`](Self::seek_for_prev), [`first`](Self::first)
/// or [`last`](Self::last) position it, and
/// [`next`](Self::next) / [`prev`](Self::prev) move it by one entry in
/// either direction, any number of times. Each returns whether the cursor
/// is on an entry; [`key`](Self::key), [`value`](Self::value) and
/// [`entry`](Self::entry) read it.
///
/// The cursor holds a validated copy of the current leaf (as
/// [`Range`](crate::Range) does), so steps within a leaf are array steps
/// and a step across a leaf copies the neighbour: the right sibling
/// through its right-link, the left one by descending to the leaf of the
/// low fence key. No step allocates. On a live tree the cursor is weakly
/// consistent like a scan (keys strictly ascending along `next`, strictly
/// descending along `prev`, a key present throughout is found); on a
/// snapshot it is exact.
///
/// ```
/// let tree: ordex_btree::BTree = ordex_btree::BTree::new();
/// for k in [b"a", b"c", b"e"] {
///     tree.put(k, b"v");
/// }
/// let guard = ordex_btree::pin();
/// let mut c = tree.cursor(&guard);
/// assert!(c.seek(b"b"));
/// assert_eq!(c.key().unwrap(), b"c");
/// assert!(c.prev());
/// assert_eq!(c.key().unwrap(), b"a");
/// assert!(!c.prev()); // before the first entry: unpositioned
/// assert!(c.seek_for_prev(b"d"));
/// assert_eq!(c.key().unwrap(), b"c");
/// assert!(c.next() && c.key().unwrap() == b"e");
/// assert!(!c.next());
/// ```
pub struct Cursor<'g, L: Latch, const N: usize> {
    leaves: Leaves<'g, L, N>,
    /// The current entry's index in the copy (meaningful while `cur` is
    /// set).
    pos: usize,
    cur: Option<(Bytes<'g>, Bytes<'g>)>,
}

impl<L: Latch, const N: usize> core::fmt::Debug for Cursor<'_, L, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cursor")
            .field("seqno", &self.leaves.seqno())
            .field("entry", &self.cur)
            .finish_non_exhaustive()
    }
}

/// Where a forward positioning starts.
#[derive(Clone, Copy)]
enum From<'a> {
    /// The first entry of the tree.
    Start,
    /// The first entry at or above the key (`true`) or above it.
    Key(&'a [u8], bool),
}

impl<'g, L: Latch, const N: usize> Cursor<'g, L, N> {
    pub(crate) fn new(tree: &'g Tree<L, N>, seqno: Option<Seqno>, guard: &'g Guard) -> Self {
        Cursor {
            leaves: Leaves::new(tree, seqno, guard),
            pos: 0,
            cur: None,
        }
    }

    /// Whether the cursor is on an entry.
    pub fn valid(&self) -> bool {
        self.cur.is_some()
    }

    /// The current key.
    pub fn key(&self) -> Option<Bytes<'g>> {
        self.cur.map(|(k, _)| k)
    }

    /// The current value.
    pub fn value(&self) -> Option<Bytes<'g>> {
        self.cur.map(|(_, v)| v)
    }

    /// The current entry.
    pub fn entry(&self) -> Option<(Bytes<'g>, Bytes<'g>)> {
        self.cur
    }

    /// The seqno of the write that made the current value; 0 for a small
    /// value (at most 8 bytes) written when no snapshot was open, which
    /// the tree stores in the leaf without its seqno (every reader sees
    /// it).
    pub fn seqno(&self) -> Option<Seqno> {
        self.cur?;
        Some(self.leaves.get(self.pos)?.value_seqno())
    }

    /// Moves to the first entry at or above `key`.
    pub fn seek(&mut self, key: &[u8]) -> bool {
        self.forward(From::Key(key, true), false)
    }

    /// Moves to the last entry at or below `key`.
    pub fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.backward(Some((key, true)))
    }

    /// Moves to the first entry.
    pub fn first(&mut self) -> bool {
        self.forward(From::Start, false)
    }

    /// Moves to the last entry.
    pub fn last(&mut self) -> bool {
        self.backward(None)
    }

    /// Moves to the next entry; false (unpositioned) past the last one or
    /// if the cursor was not on an entry.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        if self.cur.is_none() {
            return false;
        }
        if self.scan_up(self.pos + 1) {
            return true;
        }
        // Everything above the current key is right of the high key.
        match self.leaves.high() {
            None => self.stop(),
            Some(h) => self.forward(From::Key(h.key(), false), true),
        }
    }

    /// Moves to the previous entry; false (unpositioned) before the first
    /// one or if the cursor was not on an entry.
    pub fn prev(&mut self) -> bool {
        if self.cur.is_none() {
            return false;
        }
        if self.scan_down(self.pos) {
            return true;
        }
        // Everything below the current key is at or below the low fence.
        match self.leaves.low() {
            None => self.stop(),
            Some(l) => self.backward(Some((l.key(), true))),
        }
    }

    fn stop(&mut self) -> bool {
        self.cur = None;
        false
    }

    /// The first entry at index `from` or above in the copy.
    fn scan_up(&mut self, from: usize) -> bool {
        match self.leaves.get(from) {
            Some(it) => {
                self.pos = from;
                self.cur = Some((it.key, it.val));
                true
            }
            None => false,
        }
    }

    /// The last entry below index `to` in the copy.
    fn scan_down(&mut self, to: usize) -> bool {
        let i = to.min(self.leaves.len());
        match i.checked_sub(1).and_then(|i| self.leaves.get(i)) {
            Some(it) => {
                self.pos = i - 1;
                self.cur = Some((it.key, it.val));
                true
            }
            None => false,
        }
    }

    /// The number of copied keys below `key` (`incl`) or at or below it.
    fn rank(&self, key: &[u8], incl: bool) -> usize {
        let (mut lo, mut hi) = (0, self.leaves.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let Some(k) = self.leaves.get(mid).map(|s| s.key) else {
                break;
            };
            let below = if incl { *k < *key } else { *k <= *key };
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Positions on the first entry from `from`, in the copied leaf's
    /// right sibling if `step`, else in the leaf a descent finds; moves
    /// right past leaves with nothing visible.
    fn forward(&mut self, from: From<'_>, step: bool) -> bool {
        // Shortened to the shorter of the caller's key and the guard.
        let (mut from, mut step): (From<'_>, bool) = (from, step);
        loop {
            let key = match from {
                From::Start => &[][..],
                From::Key(k, _) => k,
            };
            if !step {
                self.leaves.descend(key, Part::All);
            } else if !self.leaves.step_right(key, Part::All) {
                return self.stop();
            }
            let start = match from {
                From::Start => 0,
                From::Key(k, incl) => self.rank(k, incl),
            };
            if self.scan_up(start) {
                return true;
            }
            match self.leaves.high() {
                None => return self.stop(),
                Some(h) => (from, step) = (From::Key(h.key(), false), true),
            }
        }
    }

    /// Positions on the last entry at or below (`true`) / below `upto`
    /// (None: +∞); moves left past leaves with nothing visible.
    fn backward(&mut self, upto: Option<(&[u8], bool)>) -> bool {
        let mut upto: Option<(&[u8], bool)> = upto;
        loop {
            match upto {
                None => self.leaves.descend_last(Part::All),
                Some((k, _)) => self.leaves.descend(k, Part::All),
            }
            let end = match upto {
                None => self.leaves.len(),
                Some((k, incl)) => self.rank(k, !incl),
            };
            if self.scan_down(end) {
                return true;
            }
            match self.leaves.low() {
                None => return self.stop(),
                Some(l) => upto = Some((l.key(), true)),
            }
        }
    }
}

/// The contract's cursor ([`ordex_core::Cursor`]), the same movements as
/// the inherent methods; keys and values borrowed from the cursor.
impl<L: Latch, const N: usize> ordex_core::Cursor for Cursor<'_, L, N> {
    #[inline]
    fn seek(&mut self, key: &[u8]) -> bool {
        Cursor::seek(self, key)
    }
    #[inline]
    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        Cursor::seek_for_prev(self, key)
    }
    #[inline]
    fn first(&mut self) -> bool {
        Cursor::first(self)
    }
    #[inline]
    fn last(&mut self) -> bool {
        Cursor::last(self)
    }
    #[inline]
    fn next(&mut self) -> bool {
        Cursor::next(self)
    }
    #[inline]
    fn prev(&mut self) -> bool {
        Cursor::prev(self)
    }
    #[inline]
    fn valid(&self) -> bool {
        self.cur.is_some()
    }
    #[inline]
    fn key(&self) -> Option<&[u8]> {
        self.cur.as_ref().map(|(k, _)| k.as_slice())
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        self.cur.as_ref().map(|(_, v)| v.as_slice())
    }
    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        Cursor::seqno(self)
    }
}
