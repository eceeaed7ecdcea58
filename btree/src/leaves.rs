//! [`Leaves`]: the leaf walker that [`Range`](crate::Range),
//! [`RevRange`](crate::RevRange) and [`Cursor`](crate::Cursor) share. It
//! holds a validated copy of one leaf and moves it: down to the leaf of a
//! key, down to the last leaf, or right along the leaf level. Safe code
//! over [`crate::node`] and [`crate::tree`].

use crate::latch::{backoff, Latch};
use crate::node::{EntryRef, Item, LeafBuf, LeafCopy, Node, Reading, SearchKey};
use crate::tree::Tree;
use crossbeam_epoch::Guard;
use ordex_core::olc::Restart;
use ordex_core::Seqno;
use std::ops::Bound;

/// Which entries of a leaf a copy takes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part<'a> {
    /// All of them (a cursor, which may step back within the leaf).
    All,
    /// Those at or above this key (the first leaf of an ascending scan:
    /// the copy starts where the key would be).
    From(&'a [u8]),
    /// Those within this upper bound (a descending scan).
    Upto(Bound<&'a [u8]>),
}

/// A validated copy of one leaf (its entries resolved at the walk's
/// seqno, keys without a value there left out), its fences and its
/// right-link, and the moves to the next leaf to copy. Every move retries
/// until a copy validates; a copy never allocates (the buffer is inline).
pub(crate) struct Leaves<'g, L: Latch, const N: usize> {
    tree: &'g Tree<L, N>,
    guard: &'g Guard,
    /// The snapshot's seqno; `None`: the newest versions.
    seqno: Option<Seqno>,
    buf: LeafBuf<'g, N>,
    /// Entries in `buf`.
    len: usize,
    /// The copied leaf's high fence (None: +∞, the last leaf).
    high: Option<EntryRef<'g>>,
    /// Its low fence (None: −∞, the first leaf).
    low: Option<EntryRef<'g>>,
    /// Its right sibling.
    right: Option<&'g Node<L, N>>,
}

impl<'g, L: Latch, const N: usize> Leaves<'g, L, N> {
    /// A walker with nothing copied yet.
    pub(crate) fn new(tree: &'g Tree<L, N>, seqno: Option<Seqno>, guard: &'g Guard) -> Self {
        Leaves {
            tree,
            guard,
            seqno,
            buf: LeafBuf::new(),
            len: 0,
            high: None,
            low: None,
            right: None,
        }
    }

    /// The tree walked.
    #[inline]
    pub(crate) fn tree(&self) -> &'g Tree<L, N> {
        self.tree
    }

    /// The guard the copies borrow under.
    #[inline]
    pub(crate) fn guard(&self) -> &'g Guard {
        self.guard
    }

    /// The seqno the entries are resolved at (`None`: newest).
    #[inline]
    pub(crate) fn seqno(&self) -> Option<Seqno> {
        self.seqno
    }

    /// Entries in the copy.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entry `i` of the copy (None at or past [`len`](Self::len)).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Item<'g>> {
        self.buf.get(i)
    }

    /// The copied leaf's high fence (None: it is the last leaf).
    #[inline]
    pub(crate) fn high(&self) -> Option<EntryRef<'g>> {
        self.high
    }

    /// The copied leaf's low fence (None: it is the first leaf).
    #[inline]
    pub(crate) fn low(&self) -> Option<EntryRef<'g>> {
        self.low
    }

    /// Copies `part` of the leaf whose range holds `key` (the first leaf
    /// for the empty key).
    pub(crate) fn descend(&mut self, key: &[u8], part: Part<'_>) {
        let _in = L::enter_shared(&self.tree.tl);
        let mut restarts = 0;
        while self.try_descend(key, part).is_err() {
            backoff(&mut restarts);
        }
    }

    fn try_descend(&mut self, key: &[u8], part: Part<'_>) -> Result<(), Restart> {
        let (node, v) = self.tree.find(SearchKey::new(key), 0, false, self.guard)?;
        self.copy(node, &v, part)
    }

    /// Copies `part` of the last leaf.
    pub(crate) fn descend_last(&mut self, part: Part<'_>) {
        let _in = L::enter_shared(&self.tree.tl);
        let mut restarts = 0;
        loop {
            let copied = self
                .tree
                .find_last(self.guard)
                .and_then(|(node, v)| self.copy(node, &v, part));
            if copied.is_ok() {
                return;
            }
            backoff(&mut restarts);
        }
    }

    /// Copies `part` of the right sibling of the copied leaf, which holds
    /// the keys above its high fence; if that sibling was unlinked
    /// meanwhile (it was empty and merged away), the leaf that now holds
    /// `key` (a key at or below every key still to be walked). False, with
    /// nothing copied, if the copied leaf is the last one.
    pub(crate) fn step_right(&mut self, key: &[u8], part: Part<'_>) -> bool {
        let Some(node) = self.right.filter(|_| self.high.is_some()) else {
            return false;
        };
        let _in = L::enter_shared(&self.tree.tl);
        let mut restarts = 0;
        // A leaf that changed under the copy is copied again (keys only
        // ever move right of it, and the copy takes its new high fence and
        // right-link); a latched one is waited for.
        while !node.is_obsolete() {
            if node.read().and_then(|v| self.copy(node, &v, part)).is_ok() {
                return true;
            }
            backoff(&mut restarts);
        }
        // Unlinked: its left sibling (the leaf copied before) took its
        // range, so the walk goes on from the leaf that now holds `key`.
        while self.try_descend(key, part).is_err() {
            backoff(&mut restarts);
        }
        true
    }

    /// Copies `part` of `node`, read as `v`, and its fences and right-link.
    fn copy(
        &mut self,
        node: &'g Node<L, N>,
        v: &Reading<'g, L>,
        part: Part<'_>,
    ) -> Result<(), Restart> {
        let guard = self.guard;
        let (from, to) = match part {
            Part::All => (0, N),
            Part::From(k) => (node.lower_bound(SearchKey::new(k), v, guard)?.0, N),
            Part::Upto(Bound::Unbounded) => (0, N),
            Part::Upto(Bound::Included(k)) => {
                match node.lower_bound(SearchKey::new(k), v, guard)? {
                    (pos, true) => (0, pos + 1),
                    (pos, false) => (0, pos),
                }
            }
            Part::Upto(Bound::Excluded(k)) => (0, node.lower_bound(SearchKey::new(k), v, guard)?.0),
        };
        let LeafCopy {
            len,
            high,
            low,
            right,
        } = node.copy_leaf(from, to, v, self.seqno, guard, &mut self.buf)?;
        self.len = len;
        self.high = high;
        self.low = low;
        self.right = right;
        Ok(())
    }
}
