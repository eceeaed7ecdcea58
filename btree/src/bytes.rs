//! [`Bytes`]: the key and value bytes the tree hands out.

use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::ops::Deref;
use core::{ptr, slice};

/// Bytes read from a [`BTree`](crate::BTree): either borrowed from the
/// tree's immutable memory (an out-of-line record, or the block in which
/// a leaf packs its entries' keys and values), valid while the epoch
/// guard `'g` lives, or copied out of the node (keys of at most 8 bytes
/// and values of at most 8 bytes live inside the leaf slot, which a
/// writer may change at any time, so a reader takes a copy in its
/// validated read).
///
/// It dereferences to `[u8]`, compares like a byte slice, and is `Copy`;
/// making one never allocates.
///
/// ```
/// use ordex_btree::BTree;
///
/// let tree: BTree = BTree::new();
/// tree.put(&7u64.to_be_bytes(), b"seven");
/// let guard = ordex_btree::pin();
/// let v = tree.get_ref(&7u64.to_be_bytes(), &guard).unwrap();
/// assert_eq!(&*v, b"seven");
/// assert_eq!(v, b"seven");
/// ```
#[derive(Clone, Copy)]
pub struct Bytes<'g> {
    /// Borrowed: the bytes' address. Inline: the bytes themselves, in the
    /// pointer's own storage (a pointer without provenance).
    p: *const u8,
    /// The length, with [`INLINE`] set for inline bytes.
    len: usize,
    _borrow: PhantomData<&'g [u8]>,
}

/// The length bit of inline bytes (no slice is that long).
const INLINE: usize = 1 << (usize::BITS - 1);

/// The length bit of bytes borrowed from a leaf's block (a packed entry's
/// key or value) rather than from a version record.
const PACKED: usize = 1 << (usize::BITS - 2);

/// The length bits.
const LEN: usize = !(INLINE | PACKED);

const _: () = assert!(
    core::mem::size_of::<*const u8>() == 8,
    "inline bytes live in a pointer's storage: a 64-bit target is needed"
);

// SAFETY: a `Bytes` is a `&'g [u8]` or a copy of at most 8 bytes; both are
// `Send` and `Sync`.
unsafe impl Send for Bytes<'_> {}
// SAFETY: as above.
unsafe impl Sync for Bytes<'_> {}

impl<'g> Bytes<'g> {
    /// The first `len` bytes of `buf` (`len <= 8`), copied.
    #[inline]
    pub(crate) fn inline(buf: [u8; 8], len: usize) -> Self {
        debug_assert!(len <= 8);
        Bytes {
            p: ptr::without_provenance(usize::from_ne_bytes(buf)),
            len: len.min(8) | INLINE,
            _borrow: PhantomData,
        }
    }

    /// Bytes borrowed for `'g`.
    #[inline]
    pub(crate) fn borrowed(s: &'g [u8]) -> Self {
        Bytes {
            p: s.as_ptr(),
            len: s.len(),
            _borrow: PhantomData,
        }
    }

    /// Bytes of a packed entry, borrowed for `'g` from its leaf's block
    /// (which is freed only through the epoch).
    #[inline]
    pub(crate) fn packed(s: &'g [u8]) -> Self {
        Bytes {
            p: s.as_ptr(),
            len: s.len() | PACKED,
            _borrow: PhantomData,
        }
    }

    /// The `len` bytes at `p`, borrowed for `'g` with `p`'s provenance
    /// kept whole (so that the owner of the bytes can be found from them:
    /// see `Item::value_seqno`).
    ///
    /// # Safety
    /// `p` points to `len` initialised bytes that stay live and unchanged
    /// for `'g`.
    #[inline]
    pub(crate) unsafe fn from_raw_parts(p: *const u8, len: usize) -> Self {
        debug_assert!(len & !LEN == 0);
        Bytes {
            p,
            len,
            _borrow: PhantomData,
        }
    }

    /// The address of bytes borrowed from a version record, with the
    /// provenance they were made with (`None` for bytes copied out of a
    /// node or borrowed from a leaf's block).
    #[inline]
    pub(crate) fn record_ptr(&self) -> Option<*const u8> {
        (self.len & !LEN == 0).then_some(self.p)
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        let inline = self.len & INLINE != 0;
        // Inline bytes are the first `len <= 8` bytes of the pointer's own
        // storage (initialised by `inline`; reading a pointer's bytes as
        // integers is allowed); borrowed ones are where `p` points.
        let p = if inline {
            (&raw const self.p).cast::<u8>()
        } else {
            self.p
        };
        // SAFETY: as above: `p` and the length describe the first
        // `len & LEN` (at most 8) bytes of `self.p`'s storage, borrowed
        // with `self`, or a `&'g [u8]` (`borrowed`, `packed`).
        unsafe { slice::from_raw_parts(p, self.len & LEN) }
    }

    /// How these bytes compare with `s`, as slices do; inline bytes and
    /// an 8-byte `s` (an integer key) without a `memcmp` call.
    #[inline]
    pub(crate) fn cmp_slice(&self, s: &[u8]) -> Ordering {
        if self.len & INLINE != 0 {
            if let Ok(b) = <[u8; 8]>::try_from(s) {
                return self.cmp(&Bytes::inline(b, 8));
            }
        }
        self.as_slice().cmp(s)
    }

    /// The bytes with the guard's lifetime, if they are borrowed from the
    /// tree's memory (an out-of-line record, or the block a leaf packs
    /// its entries in), `None` for bytes copied out of a node slot.
    #[inline]
    pub fn as_borrowed(&self) -> Option<&'g [u8]> {
        if self.len & INLINE != 0 {
            return None;
        }
        // SAFETY: `p` and `len & LEN` come from a `&'g [u8]` (`borrowed`,
        // `packed`).
        Some(unsafe { slice::from_raw_parts(self.p, self.len & LEN) })
    }
}

impl Deref for Bytes<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Bytes<'_> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Bytes<'_> {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl PartialEq for Bytes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes<'_> {}

impl PartialOrd for Bytes<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes<'_> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        if self.len & other.len & INLINE != 0 {
            // Both inline: each at most 8 bytes, in its pointer's storage.
            // Big-endian with the bytes past each length cleared, they
            // order as their common prefix does; a tie means one is a
            // prefix of the other, and the shorter sorts first.
            let (la, lb) = (self.len & LEN, other.len & LEN);
            let keep = |l: usize| !u64::MAX.checked_shr(8 * l as u32).unwrap_or(0);
            let a = u64::from_be_bytes(self.p.addr().to_ne_bytes()) & keep(la);
            let b = u64::from_be_bytes(other.p.addr().to_ne_bytes()) & keep(lb);
            return a.cmp(&b).then(la.cmp(&lb));
        }
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Bytes<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq<[u8]> for Bytes<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Bytes<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const M: usize> PartialEq<[u8; M]> for Bytes<'_> {
    fn eq(&self, other: &[u8; M]) -> bool {
        self.as_slice() == other
    }
}

impl<const M: usize> PartialEq<&[u8; M]> for Bytes<'_> {
    fn eq(&self, other: &&[u8; M]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for Bytes<'_> {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl From<Bytes<'_>> for Vec<u8> {
    fn from(b: Bytes<'_>) -> Vec<u8> {
        b.as_slice().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::Bytes;

    #[test]
    fn inline_and_borrowed_compare_as_slices() {
        let mut buf = [0u8; 8];
        buf[..3].copy_from_slice(b"abc");
        let a = Bytes::inline(buf, 3);
        let b = Bytes::borrowed(b"abc");
        assert_eq!(a, b);
        assert_eq!(&*a, b"abc");
        assert_eq!(a.as_borrowed(), None);
        assert_eq!(b.as_borrowed(), Some(&b"abc"[..]));
        assert!(Bytes::borrowed(b"abd") > a);
        assert!(Bytes::inline([0; 8], 0) < a);
        assert_eq!(format!("{a:?}"), format!("{:?}", &b"abc"[..]));
    }

    /// Two inline byte strings compare as their slices do, whatever the
    /// bytes past their lengths hold.
    #[test]
    fn inline_bytes_order_as_slices() {
        let samples: &[&[u8]] = &[
            b"",
            b"\0",
            b"\0\0",
            b"a",
            b"ab",
            b"ab\0",
            b"ab\x01",
            b"abc",
            b"b",
            b"\xff",
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\xff\xff\xff\xff\xff\xff\xff\xfe",
            b"\x01\x02\x03\x04\x05\x06\x07\x08",
        ];
        let inline = |s: &[u8], pad: u8| {
            let mut buf = [pad; 8];
            buf[..s.len()].copy_from_slice(s);
            Bytes::inline(buf, s.len())
        };
        for &x in samples {
            for &y in samples {
                for (px, py) in [(0, 0), (0xff, 0), (0x5a, 0xa5)] {
                    let (a, b) = (inline(x, px), inline(y, py));
                    assert_eq!(a.cmp(&b), x.cmp(y), "{x:?} vs {y:?}, pads {px} {py}");
                    assert_eq!(a.cmp(&Bytes::borrowed(y)), x.cmp(y));
                    assert_eq!(a.cmp_slice(y), x.cmp(y));
                    let mut y8 = [py; 8];
                    y8[..y.len()].copy_from_slice(y);
                    assert_eq!(a.cmp_slice(&y8), x.cmp(&y8[..]), "{x:?} vs {y8:?}");
                }
            }
        }
    }
}
