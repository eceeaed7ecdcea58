//! [`Cursor`]: positioned, bidirectional iteration over any backend.

use crate::Seqno;

/// A position in an index or a snapshot that moves by seeks and steps in
/// both directions: what an LSM's merging iterator, an index scan of a
/// query executor or a merge join needs from whichever backend was picked.
///
/// A cursor starts unpositioned. [`seek`](Self::seek),
/// [`seek_for_prev`](Self::seek_for_prev), [`first`](Self::first) and
/// [`last`](Self::last) position it; [`next`](Self::next) and
/// [`prev`](Self::prev) move it by one key. Each returns whether the cursor
/// is now on an entry ([`valid`](Self::valid)); stepping past either end
/// leaves it unpositioned, and a step of an unpositioned cursor does
/// nothing and returns `false`. [`key`](Self::key) and
/// [`value`](Self::value) borrow the entry's bytes from the cursor while it
/// stays put: no copy.
///
/// The semantics are the same on every backend, and the `ordex-testkit`
/// conformance suite checks them:
///
/// - **Snapshot cursors** ([`Snapshot::cursor`](crate::Snapshot::cursor))
///   are exact in both directions: they show exactly the snapshot's
///   entries, whatever writers do meanwhile.
/// - **Live cursors** ([`OrderedIndex::cursor`](crate::OrderedIndex::cursor))
///   show the newest version of each key. Under concurrent writers they
///   never yield keys out of order, never yield a key twice in one
///   direction, and yield every key that was present for the whole walk;
///   a key written or removed meanwhile may or may not be seen.
/// - Making a cursor allocates at most once (the box); seeks and steps
///   allocate nothing.
///
/// The trait is dyn-compatible; each backend's native cursor implements it
/// too, so generic code gets static dispatch.
///
/// ```
/// use ordex_core::{reference::LockedBTreeMap, Cursor, OrderedIndex};
///
/// let index = LockedBTreeMap::new();
/// for k in [&b"a"[..], b"c", b"e"] {
///     index.insert(k, b"v").unwrap();
/// }
/// let mut c = index.cursor();
/// assert!(c.seek(b"b"));
/// assert_eq!(c.key(), Some(&b"c"[..]));
/// assert!(c.prev());
/// assert_eq!(c.key(), Some(&b"a"[..]));
/// assert!(!c.prev()); // before the first key: unpositioned
/// assert!(c.seek_for_prev(b"d") && c.key() == Some(&b"c"[..]));
/// assert!(c.last() && c.key() == Some(&b"e"[..]));
/// assert!(!c.next() && !c.valid());
/// ```
pub trait Cursor {
    /// Moves to the first key at or above `key`.
    fn seek(&mut self, key: &[u8]) -> bool;

    /// Moves to the last key at or below `key`.
    fn seek_for_prev(&mut self, key: &[u8]) -> bool;

    /// Moves to the first key.
    fn first(&mut self) -> bool;

    /// Moves to the last key.
    fn last(&mut self) -> bool;

    /// Moves to the next key; `false` (unpositioned) past the last one or
    /// if the cursor was not on an entry.
    fn next(&mut self) -> bool;

    /// Moves to the previous key; `false` (unpositioned) before the first
    /// one or if the cursor was not on an entry.
    fn prev(&mut self) -> bool;

    /// Whether the cursor is on an entry.
    fn valid(&self) -> bool;

    /// The current key, borrowed from the cursor.
    fn key(&self) -> Option<&[u8]>;

    /// The current value, borrowed from the cursor.
    fn value(&self) -> Option<&[u8]>;

    /// The seqno of the write that made the version shown. A backend may
    /// report 0 for a version that every reader sees (ordex-btree and
    /// ordex-art keep no seqno for small values older than every
    /// snapshot), and a backend whose versions are whole trees reports 0
    /// for every entry (ordex-persistent: its entries keep no seqno of
    /// their own); otherwise it is exact.
    fn seqno(&self) -> Option<Seqno>;

    /// The current key and value.
    fn entry(&self) -> Option<(&[u8], &[u8])> {
        Some((self.key()?, self.value()?))
    }
}

impl<C: Cursor + ?Sized> Cursor for Box<C> {
    #[inline]
    fn seek(&mut self, key: &[u8]) -> bool {
        (**self).seek(key)
    }
    #[inline]
    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        (**self).seek_for_prev(key)
    }
    #[inline]
    fn first(&mut self) -> bool {
        (**self).first()
    }
    #[inline]
    fn last(&mut self) -> bool {
        (**self).last()
    }
    #[inline]
    fn next(&mut self) -> bool {
        (**self).next()
    }
    #[inline]
    fn prev(&mut self) -> bool {
        (**self).prev()
    }
    #[inline]
    fn valid(&self) -> bool {
        (**self).valid()
    }
    #[inline]
    fn key(&self) -> Option<&[u8]> {
        (**self).key()
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        (**self).value()
    }
    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        (**self).seqno()
    }
    #[inline]
    fn entry(&self) -> Option<(&[u8], &[u8])> {
        (**self).entry()
    }
}
