//! [`Cursor`]: a bidirectional cursor (seek, next, prev) over a tree or a
//! snapshot. Safe code over [`crate::node`] and [`crate::tree`].

use crate::bytes::Bytes;
use crate::latch::{backoff, Latch};
use crate::node::{EntryRef, LeafBuf, LeafCopy, Node, Reading, SearchKey};
use crate::tree::Tree;
use crossbeam_epoch::Guard;
use ordex_core::olc::Restart;
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
    tree: &'g Tree<L, N>,
    guard: &'g Guard,
    seqno: Option<Seqno>,
    buf: LeafBuf<'g, N>,
    len: usize,
    /// The current entry's index in `buf` (meaningful while `cur` is set).
    pos: usize,
    high: Option<EntryRef<'g>>,
    low: Option<EntryRef<'g>>,
    right: Option<&'g Node<L, N>>,
    cur: Option<(Bytes<'g>, Bytes<'g>)>,
}

impl<L: Latch, const N: usize> core::fmt::Debug for Cursor<'_, L, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cursor")
            .field("seqno", &self.seqno)
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
            tree,
            guard,
            seqno,
            buf: LeafBuf::new(),
            len: 0,
            pos: 0,
            high: None,
            low: None,
            right: None,
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
        Some(self.buf.get(self.pos)?.value_seqno())
    }

    /// Moves to the first entry at or above `key`.
    pub fn seek(&mut self, key: &[u8]) -> bool {
        self.forward(From::Key(key, true), None)
    }

    /// Moves to the last entry at or below `key`.
    pub fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.backward(Some((key, true)))
    }

    /// Moves to the first entry.
    pub fn first(&mut self) -> bool {
        self.forward(From::Start, None)
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
        match self.high {
            None => self.stop(),
            Some(h) => self.forward(From::Key(h.key(), false), self.right),
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
        match self.low {
            None => self.stop(),
            Some(l) => self.backward(Some((l.key(), true))),
        }
    }

    fn stop(&mut self) -> bool {
        self.cur = None;
        false
    }

    /// The visible value of a copied slot.
    #[inline]
    fn visible(&self, i: usize) -> Option<(Bytes<'g>, Bytes<'g>)> {
        let it = self.buf.get(i)?;
        Some((it.key, it.val))
    }

    /// The first visible entry at index `from` or above in the buffer.
    fn scan_up(&mut self, from: usize) -> bool {
        for i in from..self.len {
            if let Some(e) = self.visible(i) {
                self.pos = i;
                self.cur = Some(e);
                return true;
            }
        }
        false
    }

    /// The last visible entry below index `to` in the buffer.
    fn scan_down(&mut self, to: usize) -> bool {
        for i in (0..to.min(self.len)).rev() {
            if let Some(e) = self.visible(i) {
                self.pos = i;
                self.cur = Some(e);
                return true;
            }
        }
        false
    }

    /// The number of buffered keys below `key` (`incl`) or at or below it.
    fn rank(&self, key: &[u8], incl: bool) -> usize {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let Some(k) = self.buf.get(mid).map(|s| s.key) else {
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

    fn load(&mut self, node: &'g Node<L, N>, v: &Reading<'g, L>) -> Result<(), Restart> {
        let LeafCopy {
            len,
            high,
            low,
            right,
        } = node.copy_leaf(0, N, v, self.seqno, self.guard, &mut self.buf)?;
        self.len = len;
        self.high = high;
        self.low = low;
        self.right = right;
        Ok(())
    }

    /// Positions on the first visible entry from `from`, starting with the
    /// leaf `hint` (the right sibling of the buffered leaf) if given, else
    /// descending; moves right past leaves with nothing visible.
    fn forward(&mut self, from: From<'_>, mut hint: Option<&'g Node<L, N>>) -> bool {
        // Shortened to the shorter of the caller's key and the guard.
        let mut from: From<'_> = from;
        let tree = self.tree;
        let guard = self.guard;
        let _in = L::enter_shared(&tree.tl);
        let mut restarts = 0;
        loop {
            let loaded = match hint.take() {
                Some(node) => match node.read() {
                    Ok(v) => self.load(node, &v),
                    Err(Restart) if node.is_obsolete() => Err(Restart),
                    Err(Restart) => {
                        // Latched: try the same leaf again.
                        hint = Some(node);
                        backoff(&mut restarts);
                        continue;
                    }
                },
                None => {
                    let key = match from {
                        From::Start => &[][..],
                        From::Key(k, _) => k,
                    };
                    tree.find(SearchKey::new(key), 0, false, guard)
                        .and_then(|(node, v)| self.load(node, &v))
                }
            };
            if loaded.is_err() {
                // Changed under the copy, or the sibling was unlinked:
                // descend again.
                backoff(&mut restarts);
                continue;
            }
            let start = match from {
                From::Start => 0,
                From::Key(k, incl) => self.rank(k, incl),
            };
            if self.scan_up(start) {
                return true;
            }
            match self.high {
                None => return self.stop(),
                Some(h) => {
                    from = From::Key(h.key(), false);
                    hint = self.right;
                }
            }
        }
    }

    /// Positions on the last visible entry at or below (`true`) / below
    /// `upto` (None: +∞); moves left past leaves with nothing visible.
    fn backward(&mut self, upto: Option<(&[u8], bool)>) -> bool {
        let mut upto: Option<(&[u8], bool)> = upto;
        let tree = self.tree;
        let guard = self.guard;
        let _in = L::enter_shared(&tree.tl);
        let mut restarts = 0;
        loop {
            let loaded = match upto {
                None => tree.find_last(guard),
                Some((k, _)) => tree.find(SearchKey::new(k), 0, false, guard),
            }
            .and_then(|(node, v)| self.load(node, &v));
            if loaded.is_err() {
                backoff(&mut restarts);
                continue;
            }
            let end = match upto {
                None => self.len,
                Some((k, incl)) => self.rank(k, !incl),
            };
            if self.scan_down(end) {
                return true;
            }
            match self.low {
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
