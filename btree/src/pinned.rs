//! The contract's `dyn Cursor` for ordex-btree: a [`Cursor`] boxed with
//! its own epoch pin ([`PinnedCursor`]), one allocation.

use crate::cursor::Cursor;
use crate::latch::Latch;
use crate::tree::Tree;
use ordex_core::reclaim::PinnedCursor;
use ordex_core::Seqno;

/// A boxed cursor over `tree` at `seqno` (`None`: live), pinned.
pub(crate) fn boxed<'t, L: Latch, const N: usize>(
    tree: &'t Tree<L, N>,
    seqno: Option<Seqno>,
) -> Box<dyn ordex_core::Cursor + 't> {
    // SAFETY: a cursor only reads: its paths (`Tree::find`,
    // `Tree::find_last`, `Node::copy_leaf`) never retire; and
    // `ordex_core::Cursor` hands out borrows through `&self` only.
    Box::new(unsafe { PinnedCursor::new(|guard| Cursor::new(tree, seqno, guard)) })
}
