//! [`Cursor`]: a bidirectional cursor over an [`Art`](crate::Art) or a
//! snapshot, and the contract's boxed `dyn Cursor`, which holds its own
//! epoch pin ([`PinnedCursor`]).

use crate::bytes::Bytes;
use crate::tree::Tree;
use crate::walk::Walker;
use crossbeam_epoch::Guard;
use ordex_core::reclaim::PinnedCursor;
use ordex_core::Seqno;

/// A bidirectional cursor over an [`Art`](crate::Art) or an
/// [`ArtSnapshot`](crate::ArtSnapshot), borrowing an epoch guard.
///
/// It starts unpositioned; `seek`, `seek_for_prev`, `first` and `last`
/// position it, `next` and `prev` move it one key either way. Its path
/// from the root is kept on a stack inside the cursor, so a step is a
/// move to the neighbouring slot, not a descent from the root; no step
/// allocates (but for keys deeper than 24 nodes, whose path spills to the
/// heap). Live cursors are weakly consistent, snapshot cursors exact (see
/// [`ordex_core::Cursor`]).
///
/// ```
/// use ordex_art::Art;
/// use ordex_core::Cursor as _;
///
/// let art = Art::new();
/// for k in [&b"a"[..], b"ab", b"b"] {
///     art.put(k, b"v").unwrap();
/// }
/// let guard = ordex_art::pin();
/// let mut c = art.cursor(&guard);
/// assert!(c.seek(b"aa"));
/// assert_eq!(c.key(), Some(&b"ab"[..]));
/// assert!(c.prev());
/// assert_eq!(c.key(), Some(&b"a"[..])); // a prefix of "ab" sorts first
/// assert!(c.last() && c.key() == Some(&b"b"[..]));
/// ```
pub struct Cursor<'g> {
    walker: Walker<'g>,
}

impl<'g> Cursor<'g> {
    pub(crate) fn new(tree: &'g Tree, seqno: Option<Seqno>, guard: &'g Guard) -> Self {
        Cursor {
            walker: Walker::new(tree, seqno, guard),
        }
    }

    /// The current key: borrowed for the guard's lifetime, or copied out
    /// of an inline entry.
    pub fn key_ref(&self) -> Option<Bytes<'g>> {
        self.walker.key_bytes()
    }

    /// The current value: borrowed for the guard's lifetime, or copied out
    /// of an inline entry.
    pub fn value_ref(&self) -> Option<Bytes<'g>> {
        self.walker.value_bytes()
    }
}

impl core::fmt::Debug for Cursor<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cursor")
            .field("seqno", &self.walker.read_seqno())
            .field("key", &self.key_ref())
            .field("value", &self.value_ref())
            .finish_non_exhaustive()
    }
}

impl ordex_core::Cursor for Cursor<'_> {
    #[inline]
    fn seek(&mut self, key: &[u8]) -> bool {
        self.walker.seek(key, true)
    }
    #[inline]
    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.walker.seek_back(key, true)
    }
    #[inline]
    fn first(&mut self) -> bool {
        self.walker.first()
    }
    #[inline]
    fn last(&mut self) -> bool {
        self.walker.last()
    }
    #[inline]
    fn next(&mut self) -> bool {
        self.walker.next()
    }
    #[inline]
    fn prev(&mut self) -> bool {
        self.walker.prev()
    }
    #[inline]
    fn valid(&self) -> bool {
        self.walker.current().is_some()
    }
    #[inline]
    fn key(&self) -> Option<&[u8]> {
        self.walker.key()
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        self.walker.value()
    }
    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        self.walker.seqno()
    }
}

/// The contract's `dyn Cursor`: a [`Cursor`] boxed with its own epoch pin.
pub(crate) fn boxed<'t>(tree: &'t Tree, seqno: Option<Seqno>) -> Box<dyn ordex_core::Cursor + 't> {
    // SAFETY: a cursor only reads (the walker never retires anything), and
    // `ordex_core::Cursor` hands out borrows through `&self` only.
    Box::new(unsafe { PinnedCursor::new(|guard| Cursor::new(tree, seqno, guard)) })
}
