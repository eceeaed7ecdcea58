//! Leaf copies: the buffer a reader copies a leaf's slots into under one optimistic read, and the items it resolves them to.

use super::*;

impl<'g> Copied<'g> {
    /// The key and value.
    #[inline]
    pub(crate) fn resolve(self) -> LeafSlot<'g> {
        // SAFETY: a `Copied` is made only by `copy_leaf` from a read of a
        // leaf validated after the loads, with the guard pinned for `'g`,
        // and with its pointers checked non-null (`EMPTY` is inline).
        unsafe { resolve(self.raw, self.versions) }
    }
}

impl Item<'_> {
    /// The seqno of the version `val` belongs to: 0 for an inline or
    /// packed value (which carries none: it was written below every
    /// snapshot, see the module's notes).
    pub(crate) fn value_seqno(&self) -> u64 {
        let () = self.made_here;
        match self.val.record_ptr() {
            None => 0,
            // SAFETY: an item's value is inline, packed, or comes from
            // `RecordRef::value` (the places `copy_leaf` makes items):
            // borrowed bytes then start `RECORD_HEADER` bytes into a record, with
            // the provenance of its whole allocation (`RecordRef::value` keeps
            // it), live while the guard of `'g` is pinned (invariants 1 and
            // 3); `seqno` is immutable.
            Some(v) => unsafe { (*v.sub(RECORD_HEADER).cast::<Record>()).seqno },
        }
    }
}

/// Words of the bitmask of raw slots in [`Node::copy_leaf`] (nodes have
/// at most 1024 slots).
pub(super) const MASK_WORDS: usize = 1024 / 64;

impl<'g, const N: usize> LeafBuf<'g, N> {
    /// An empty buffer.
    #[inline]
    pub(crate) fn new() -> Self {
        LeafBuf {
            slots: [MaybeUninit::uninit(); N],
            len: 0,
        }
    }

    /// Entry `i` of the copy (None past the copy).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Item<'g>> {
        let s = self.slots[..self.len].get(i)?;
        // SAFETY: slots below `len` were written by `copy_leaf` as items
        // (it sets `len` only after resolving them).
        Some(unsafe { &s.assume_init_ref().item })
    }
}

impl<const N: usize> InlineBuf<N> {
    /// An empty buffer.
    #[inline]
    pub(crate) fn new() -> Self {
        InlineBuf {
            heads: [0; N],
            metas: [0; N],
            words: [0; N],
            pfx: Prefix::default(),
            len: 0,
        }
    }

    /// Entries in the copy.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entry `i`'s key and value bytes: `(key, key length, value, value
    /// length)`, each length at most 8. `i` must be below
    /// [`len`](Self::len) (a stale entry past it is well-defined bytes,
    /// never undefined behaviour).
    #[inline]
    pub(crate) fn entry(&self, i: usize) -> ([u8; 8], usize, [u8; 8], usize) {
        let meta = self.metas[i];
        let key = self.pfx.abs_short(self.heads[i]).to_be_bytes();
        let klen = usize::from(meta & KLEN_MASK).min(8);
        let vlen = usize::from((meta >> VLEN_SHIFT) & 0xF).min(INLINE_MAX);
        (key, klen, self.words[i].to_le_bytes(), vlen)
    }

    /// Entry `i` as an item (None at or past [`len`](Self::len)).
    #[inline]
    pub(crate) fn item<'g>(&self, i: usize) -> Option<Item<'g>> {
        if i >= self.len {
            return None;
        }
        let (key, klen, val, vlen) = self.entry(i);
        Some(Item {
            key: Bytes::inline(key, klen),
            val: Bytes::inline(val, vlen),
            made_here: (),
        })
    }
}
