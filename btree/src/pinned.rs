//! [`Pinned`]: a cursor that holds its own epoch guard, for the
//! contract's `dyn Cursor` (which has no guard to borrow). The one place
//! outside [`crate::node`] that extends a lifetime, so it is a module of
//! its own.

use crate::cursor::Cursor;
use crate::latch::Latch;
use crate::tree::Tree;
use crossbeam_epoch::{self as epoch, Guard};
use ordex_core::Seqno;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// A [`Cursor`] and the guard it borrows, owned together.
///
/// The guard lives in an allocation of its own (a second one beside the
/// box the contract hands out), owned through a raw pointer: a reference
/// into the cursor's own box would be invalidated each time the box moves
/// (a `Box` asserts it is the only pointer to its contents). The pin
/// keeps the tree's nodes and records from being freed while the cursor
/// lives (as any guard does: a cursor kept for long holds back
/// reclamation).
pub(crate) struct Pinned<'t, L: Latch, const N: usize> {
    /// Borrows `*guard`; dropped first (see `Drop`).
    cursor: ManuallyDrop<Cursor<'t, L, N>>,
    /// From `Box::into_raw`; freed in `Drop`, after `cursor`.
    guard: NonNull<Guard>,
}

impl<'t, L: Latch, const N: usize> Pinned<'t, L, N> {
    /// A cursor over `tree` at `seqno` (`None`: live), pinned.
    pub(crate) fn new(tree: &'t Tree<L, N>, seqno: Option<Seqno>) -> Self {
        let guard = NonNull::from(Box::leak(Box::new(epoch::pin())));
        // SAFETY: `guard` points to a live `Guard` that this struct owns
        // and frees only in `drop`, after the cursor, the only holder of
        // this reference, is dropped; nothing moves or mutates it
        // meanwhile (it is never handed out). The cursor's `'t` values
        // (leaf copies, borrowed bytes) reach callers only through
        // `&self` methods of the contract's trait, so no reference made
        // under the guard outlives it.
        let borrowed: &'t Guard = unsafe { guard.as_ref() };
        Pinned {
            cursor: ManuallyDrop::new(Cursor::new(tree, seqno, borrowed)),
            guard,
        }
    }
}

impl<L: Latch, const N: usize> Drop for Pinned<'_, L, N> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here; the field is not used again.
        unsafe { ManuallyDrop::drop(&mut self.cursor) };
        // SAFETY: `guard` came from `Box::leak` in `new`, and the cursor
        // that borrowed it is gone.
        drop(unsafe { Box::from_raw(self.guard.as_ptr()) });
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
        ordex_core::Cursor::key(&*self.cursor)
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        ordex_core::Cursor::value(&*self.cursor)
    }
    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        self.cursor.seqno()
    }
}
