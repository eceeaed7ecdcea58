//! Where a full node splits (half, or at the new key after a run of ordered inserts) and the separator it pushes to its parent.

use super::*;

/// Inserts in a row (each next to the one before) after which a leaf's
/// split follows them (see [`split_point`]).
pub(super) const EDGE_RUN: i8 = 4;

/// Where a full leaf of `total` entries (the new one included, at
/// `pos`) splits: the left leaf keeps the first `mid`, each side at least
/// one. Half and half, unless the leaf's inserts came in a run (ascending
/// or descending keys, a key range's next ids): then it splits right
/// after the new entry when they ascend (the left leaf, which the run
/// filled, stays full, and the run goes on at the new entry), right
/// before it when they descend, so that loads in order fill leaves
/// instead of leaving them half full (as InnoDB splits a page at its
/// insert point when its inserts are sequential).
pub(super) fn split_point(run: i8, pos: usize, total: usize) -> usize {
    debug_assert!(total >= 2, "a full leaf splits into two");
    let mid = if run >= EDGE_RUN {
        pos + 1
    } else if run <= -EDGE_RUN {
        pos
    } else {
        total / 2
    };
    mid.clamp(1, total - 1)
}

impl Separator {
    pub(super) const NONE: Separator = Separator {
        head: 0,
        meta: 0,
        e: ptr::null_mut(),
        tail: 0,
    };

    /// The slot for entry `e` (null: an empty slot), from its key, in a
    /// node with prefix `pfx`.
    pub(super) fn of(e: *mut Entry, pfx: Prefix) -> Separator {
        if e.is_null() {
            return Separator::NONE;
        }
        // SAFETY: a non-null `e` is an entry this thread owns or that the
        // latched node holds (invariant 1).
        let k = unsafe { entry_key(e) };
        let meta = klen_meta(k);
        Separator {
            head: pfx.rel(k),
            meta,
            e,
            tail: tail_of(pfx, k, meta),
        }
    }

    /// This separator moved from a node with prefix `from` to one with
    /// prefix `to`.
    pub(super) fn moved(self, from: Prefix, to: Prefix) -> Separator {
        if from == to || self.e.is_null() || self.meta & KLEN_MASK != KLEN_LONG {
            return Separator {
                // SAFETY: a separator's entry is live while a latched or
                // owned node holds it (invariant 1).
                head: unsafe { rehead(self.head, self.meta, self.e.cast::<u8>(), from, to) },
                ..self
            };
        }
        // SAFETY: as above.
        let k = unsafe { entry_key(self.e) };
        Separator {
            head: to.rel(k),
            tail: to.tail(k),
            ..self
        }
    }
}

/// A separator's tail (see [`Ext`]): the 8 bytes of `key` after its head
/// in a node with prefix `pfx`, for a long key (`meta`); 0 for a key of
/// at most 8 bytes, which its head and length class order alone.
pub(super) fn tail_of(pfx: Prefix, key: &[u8], meta: u16) -> u64 {
    if meta & KLEN_MASK == KLEN_LONG {
        pfx.tail(key)
    } else {
        0
    }
}

impl<L: Latch, const N: usize> Split<L, N> {
    /// The separator key.
    pub(crate) fn sep(&self) -> &[u8] {
        // SAFETY: the split owns its separator entry until it is stored in
        // a parent (which consumes the split).
        unsafe { entry_key(self.sep) }
    }
}
