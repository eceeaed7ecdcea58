//! [`Bytes`]: a key or value handed out by the tree, borrowed from an
//! immutable leaf or version (zero copy), or copied out of a node slot for
//! an inline entry (a few bytes, a register's worth).

use core::fmt;
use core::ops::Deref;

/// The longest key an inline entry can have (the walker rebuilds it from
/// the path into a buffer of this size).
pub(crate) const INLINE_KEY: usize = 24;

/// A key or value: borrowed for the guard's lifetime `'g`, or a copy of
/// the few bytes an inline entry holds in its node slot. Derefs to
/// `[u8]`.
///
/// ```
/// let art = ordex_art::Art::new();
/// art.put(b"k", b"small").unwrap();
/// let guard = ordex_art::pin();
/// let v = art.get_ref(b"k", &guard).unwrap();
/// assert_eq!(&*v, b"small");
/// ```
#[derive(Clone, Copy)]
pub enum Bytes<'g> {
    /// Borrowed from the tree's memory, valid while the guard lives.
    Borrowed(&'g [u8]),
    /// Copied out of a node slot.
    Inline(InlineBytes),
}

/// Up to 24 bytes (`INLINE_KEY`) held by value.
#[derive(Clone, Copy)]
pub struct InlineBytes {
    buf: [u8; INLINE_KEY],
    len: u8,
}

impl InlineBytes {
    /// A copy of `b` (at most 24 bytes; longer input is a bug, so it is
    /// cut in release builds and asserted in debug ones).
    pub(crate) fn new(b: &[u8]) -> Self {
        debug_assert!(b.len() <= INLINE_KEY);
        let len = b.len().min(INLINE_KEY);
        let mut buf = [0u8; INLINE_KEY];
        buf[..len].copy_from_slice(&b[..len]);
        InlineBytes {
            buf,
            len: len as u8,
        }
    }
}

impl InlineBytes {
    /// The first `len` bytes of a full buffer (no variable-length copy).
    #[inline]
    pub(crate) fn from_buf(buf: [u8; INLINE_KEY], len: usize) -> Self {
        InlineBytes {
            buf,
            len: len.min(INLINE_KEY) as u8,
        }
    }
}

impl Deref for InlineBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

impl Deref for Bytes<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b,
            Bytes::Inline(i) => i,
        }
    }
}

impl AsRef<[u8]> for Bytes<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Bytes<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Bytes<'_> {}

impl PartialEq<[u8]> for Bytes<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
