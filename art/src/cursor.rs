//! [`Cursor`]: a bidirectional cursor over an [`Art`](crate::Art) or a
//! snapshot, and [`Pinned`], the one that holds its own epoch guard for
//! the contract's `dyn Cursor`.

use crate::bytes::Bytes;
use crate::tree::Tree;
use crate::walk::Walker;
use crossbeam_epoch::{self as epoch, Guard};
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

/// A [`Cursor`] and the pin that keeps what it reads alive, owned
/// together in one allocation (the box the contract hands out).
///
/// The cursor cannot borrow `pin`: a reference into the cursor's own box
/// would be invalidated each time the box moves. It borrows crossbeam's
/// unprotected guard instead, which only names a lifetime: `pin`, pinned
/// on this thread for as long as the cursor lives, is what keeps the
/// nodes, leaves and records it reaches from being freed.
pub(crate) struct Pinned<'t> {
    /// Declared first, so dropped before `pin`.
    cursor: Cursor<'t>,
    _pin: Guard,
}

impl<'t> Pinned<'t> {
    pub(crate) fn new(tree: &'t Tree, seqno: Option<Seqno>) -> Self {
        let pin = epoch::pin();
        // SAFETY: the unprotected guard defers nothing and protects
        // nothing; it is sound here because (1) `pin`, a real guard of
        // this thread, is pinned before the cursor's first load and
        // unpinned after the cursor is dropped (field order), so whatever
        // the cursor reaches stays allocated while it can use it; (2) a
        // cursor only reads (the walker never retires anything; retiring
        // through this guard would free at once, which
        // `ordex_core::reclaim::retire` asserts against in debug builds);
        // (3) the `'t` borrows the cursor hands out reach callers only
        // through `&self` methods of the contract's trait, so none
        // outlives `self`, nor so `pin`.
        let token: &'t Guard = unsafe { epoch::unprotected() };
        Pinned {
            cursor: Cursor::new(tree, seqno, token),
            _pin: pin,
        }
    }
}

impl ordex_core::Cursor for Pinned<'_> {
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
        ordex_core::Cursor::next(&mut self.cursor)
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
        self.cursor.key()
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        self.cursor.value()
    }
    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        self.cursor.seqno()
    }
}
