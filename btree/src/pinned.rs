//! [`Pinned`]: a cursor that holds its own epoch guard, for the
//! contract's `dyn Cursor` (which has no guard to borrow). The one place
//! outside [`crate::node`] that extends a lifetime, so it is a module of
//! its own.

use crate::cursor::Cursor;
use crate::latch::Latch;
use crate::tree::Tree;
use crossbeam_epoch::{self as epoch, Guard};
use ordex_core::Seqno;

/// A [`Cursor`] and the pin that keeps what it reads alive, owned
/// together in one allocation (the box the contract hands out).
///
/// The cursor cannot borrow `pin`: a reference into the cursor's own box
/// would be invalidated each time the box moves (a `Box` asserts it is the
/// only pointer to its contents). It borrows crossbeam's unprotected guard
/// instead, which only names a lifetime: `pin`, pinned on this thread for
/// as long as the cursor lives, is what keeps the tree's nodes and records
/// from being freed (as any guard does: a cursor kept for long holds back
/// reclamation).
pub(crate) struct Pinned<'t, L: Latch, const N: usize> {
    /// Holds `&'t` references into nodes; declared first, so dropped
    /// before `pin`.
    cursor: Cursor<'t, L, N>,
    /// Pinned before the cursor's first read, unpinned after its last.
    _pin: Guard,
}

impl<'t, L: Latch, const N: usize> Pinned<'t, L, N> {
    /// A cursor over `tree` at `seqno` (`None`: live), pinned.
    pub(crate) fn new(tree: &'t Tree<L, N>, seqno: Option<Seqno>) -> Self {
        let pin = epoch::pin();
        // SAFETY: the unprotected guard defers nothing and protects
        // nothing; it is sound here because (1) `pin`, a real guard of
        // this thread, is pinned before the cursor's first load and
        // unpinned after the cursor is dropped (field order), so every
        // node or record the cursor reaches through it stays allocated
        // while the cursor can use it; (2) a cursor only reads: its
        // paths (`Tree::find`, `Tree::find_last`, `Node::copy_leaf`)
        // never retire (which, through this guard, would free at once;
        // `ordex_core::reclaim::retire` asserts it in debug builds);
        // (3) the `'t` values the cursor keeps (leaf copies, borrowed
        // bytes) reach callers only through `&self` methods of the
        // contract's trait, so none outlives `self`, nor so `pin`.
        let token: &'t Guard = unsafe { epoch::unprotected() };
        Pinned {
            cursor: Cursor::new(tree, seqno, token),
            _pin: pin,
        }
    }
}

impl<L: Latch, const N: usize> ordex_core::Cursor for Pinned<'_, L, N> {
    #[inline]
    fn seek(&mut self, key: &[u8]) -> bool {
        self.cursor.seek(key)
    }
    #[inline]
    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.cursor.seek_for_prev(key)
    }
    #[inline]
    fn first(&mut self) -> bool {
        self.cursor.first()
    }
    #[inline]
    fn last(&mut self) -> bool {
        self.cursor.last()
    }
    #[inline]
    fn next(&mut self) -> bool {
        self.cursor.next()
    }
    #[inline]
    fn prev(&mut self) -> bool {
        self.cursor.prev()
    }
    #[inline]
    fn valid(&self) -> bool {
        self.cursor.valid()
    }
    #[inline]
    fn key(&self) -> Option<&[u8]> {
        ordex_core::Cursor::key(&self.cursor)
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        ordex_core::Cursor::value(&self.cursor)
    }
    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        self.cursor.seqno()
    }
}
