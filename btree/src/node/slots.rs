//! Slot encoding: a key's length class and value kind in the slot's meta bits, inline values packed into the slot word, raw slots and how a validated one is resolved.

use super::*;

/// `meta` bits 0..4: the key length if at most 8 bytes, else this.
pub(crate) const KLEN_LONG: u16 = 0xF;

pub(super) const KLEN_MASK: u16 = 0xF;

/// `meta` bit 4 (leaves, keys of at most 8 bytes): the word is a chain.
pub(super) const CHAIN: u16 = 0x10;

/// `meta` bit 5 (leaves): the entry is packed: the word points to its item
/// (key and value) in the leaf's block (see `block`); the value carries no
/// seqno, as an inline one.
pub(super) const PACKED: u16 = 0x20;

/// `meta` bits 8..12 (leaves, inline values): the value length.
pub(super) const VLEN_SHIFT: u16 = 8;

/// The longest value stored inline: one pointer-sized word.
pub(super) const INLINE_MAX: usize = core::mem::size_of::<usize>();

impl<'k> SearchKey<'k> {
    #[inline]
    pub(crate) fn new(key: &'k [u8]) -> Self {
        SearchKey {
            key,
            head: head_of(key),
        }
    }
}

/// The key-length part of `meta` for `key`.
pub(super) fn klen_meta(key: &[u8]) -> u16 {
    if key.len() <= 8 {
        key.len() as u16
    } else {
        KLEN_LONG
    }
}

/// Orders a slot key against `sk` when their heads (the 8 bytes after
/// the node's prefix, which both keys start with) are equal and at least
/// one of them has at most 8 bytes: that key's rest is all in its head,
/// so the shorter key is a prefix of the other. `None` when both are long
/// and the full keys must decide.
#[inline]
pub(super) fn tie_order(meta: u16, sk: SearchKey<'_>) -> Option<core::cmp::Ordering> {
    let klen = meta & KLEN_MASK;
    if klen != KLEN_LONG {
        Some(usize::from(klen).cmp(&sk.key.len()))
    } else if sk.key.len() <= 8 {
        Some(core::cmp::Ordering::Greater)
    } else {
        None
    }
}

/// A short key rebuilt from its head and length.
#[inline]
pub(super) fn short_key<'g>(head: u64, meta: u16) -> Bytes<'g> {
    Bytes::inline(head.to_be_bytes(), usize::from(meta & KLEN_MASK))
}

/// Packs a value of at most [`INLINE_MAX`] bytes into a word.
pub(super) fn pack(value: &[u8]) -> *mut u8 {
    debug_assert!(value.len() <= INLINE_MAX);
    // Loads of the value, not a copy into an array (`ordex_core::head`).
    ptr::without_provenance_mut(ordex_core::head::word_le(value) as usize)
}

/// Unpacks an inline value word.
#[inline]
pub(super) fn unpack<'g>(word: *mut u8, meta: u16) -> Bytes<'g> {
    let mut b = [0u8; 8];
    b[..INLINE_MAX].copy_from_slice(&word.addr().to_le_bytes());
    Bytes::inline(b, usize::from((meta >> VLEN_SHIFT) & 0xF))
}

impl RawSlot {
    pub(super) const EMPTY: RawSlot = RawSlot {
        head: 0,
        meta: 0,
        word: ptr::null_mut(),
    };

    /// Whether the key is longer than 8 bytes (its head does not hold it
    /// all).
    pub(super) fn key_is_long(self) -> bool {
        self.meta & KLEN_MASK == KLEN_LONG
    }

    /// Whether the word is an out-of-line [`Entry`] (a long key's, not
    /// packed).
    pub(super) fn is_long(self) -> bool {
        self.key_is_long() && !self.is_packed()
    }

    /// Whether the word is the head of a short key's version chain.
    pub(super) fn is_chain(self) -> bool {
        !self.key_is_long() && self.meta & (CHAIN | PACKED) == CHAIN
    }

    /// Whether key and value are in the slot itself.
    pub(super) fn is_inline(self) -> bool {
        !self.key_is_long() && self.meta & (CHAIN | PACKED) == 0
    }

    /// Whether the word points to the entry's item in the leaf's block.
    pub(super) fn is_packed(self) -> bool {
        self.meta & PACKED != 0
    }

    /// A packed slot for `key` (in a node with prefix `pfx`) whose item
    /// is at `item`.
    pub(super) fn packed(pfx: Prefix, key: &[u8], item: *mut u8) -> RawSlot {
        RawSlot {
            head: pfx.rel(key),
            meta: klen_meta(key) | PACKED,
            word: item,
        }
    }

    /// An inline value, to be given a key with [`RawSlot::with_key`].
    pub(super) fn inline(value: &[u8]) -> RawSlot {
        RawSlot {
            head: 0,
            meta: (value.len() as u16) << VLEN_SHIFT,
            word: pack(value),
        }
    }

    /// The key part of a slot for `key` in a node with prefix `pfx`.
    pub(super) fn key(pfx: Prefix, key: &[u8]) -> RawSlot {
        RawSlot {
            head: pfx.rel(key),
            meta: klen_meta(key),
            word: ptr::null_mut(),
        }
    }

    /// This slot with its head made whole-key (for a key of at most 8
    /// bytes, rebuilt with the node's prefix `pfx`), as readers use it.
    #[inline]
    pub(super) fn absolute(self, pfx: Prefix) -> RawSlot {
        if self.key_is_long() {
            return self;
        }
        RawSlot {
            head: pfx.abs_short(self.head),
            ..self
        }
    }
}

/// The head of a slot (`head`, `meta`; `word`, the key's entry, or its
/// packed item, if the key is long) in a node with prefix `from`,
/// re-encoded for prefix `to` (which the key also starts with).
///
/// # Safety
/// If the key is long, `word` is a live entry or packed item (one a
/// latched or owned node holds), as `meta` says.
pub(super) unsafe fn rehead(
    head: u64,
    meta: u16,
    word: *const u8,
    from: Prefix,
    to: Prefix,
) -> u64 {
    if from == to {
        head
    } else if meta & KLEN_MASK != KLEN_LONG {
        shl_bytes(from.abs_short(head), to.len)
    } else {
        // SAFETY: the caller's contract.
        to.rel(unsafe { long_key(meta, word) })
    }
}

/// The bytes of a long key: its packed item's (`meta` has [`PACKED`]) or
/// its entry's.
///
/// # Safety
/// `word` is a live packed item or entry, as `meta` says, that stays live
/// for `'a`.
#[inline]
pub(super) unsafe fn long_key<'a>(meta: u16, word: *const u8) -> &'a [u8] {
    if meta & PACKED != 0 {
        // SAFETY: the caller's contract.
        unsafe { packed(word).0 }
    } else {
        // SAFETY: the caller's contract.
        unsafe { entry_key(word.cast::<Entry>()) }
    }
}

impl<'g> SlotValue<'g> {
    /// The newest value (None: tombstone).
    #[inline]
    pub(crate) fn now(self) -> Option<Bytes<'g>> {
        match self {
            SlotValue::Inline(b) => Some(b),
            SlotValue::Chain(r) => r.value(),
        }
    }

    /// The value visible at `seqno` (None: absent or tombstone).
    #[inline]
    pub(crate) fn at(self, seqno: u64) -> Option<Bytes<'g>> {
        match self {
            SlotValue::Inline(b) => Some(b),
            SlotValue::Chain(r) => r.visible_at(seqno)?.value(),
        }
    }

    /// For invariant checks: whether a chain keeps more than one version
    /// or ends in a lone tombstone.
    pub(crate) fn has_older_or_tomb(self) -> bool {
        match self {
            SlotValue::Inline(_) => false,
            SlotValue::Chain(r) => r.has_older() || r.is_tomb(),
        }
    }
}

impl KeyBuf<'_> {
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            KeyBuf::Short(b, n) => &b[..*n],
            KeyBuf::Long(k) => k,
        }
    }
}

/// The slot content for a new key written at seqno `w` with the oldest
/// snapshot bound `oldest`: inline if both key and value are small and no
/// snapshot can need the seqno.
/// `pfx` is the prefix of the node it goes into.
pub(super) fn new_raw(
    heap: &Account,
    pfx: Prefix,
    key: &[u8],
    value: &[u8],
    w: u64,
    oldest: u64,
) -> RawSlot {
    let k = RawSlot::key(pfx, key);
    if key.len() <= 8 {
        if value.len() <= INLINE_MAX && w <= oldest {
            return RawSlot::inline(value).with_key(k);
        }
        let r = NewRecord::new(Some(value), w).publish(heap, ptr::null_mut());
        return k.chain(r);
    }
    RawSlot {
        word: Entry::alloc_with(key, Some((value, w)), heap).cast::<u8>(),
        ..k
    }
}

/// Interprets a leaf slot's raw contents.
///
/// # Safety
/// `raw` was loaded from a leaf (a latched one, or under a read validated
/// after the load) while a guard for `'g` is pinned; for a chain, a
/// packed entry or a long key its word is non-null, and for a long key
/// `versions` is the entry's (non-null) version pointer loaded under the
/// same validated read.
#[inline]
pub(super) unsafe fn resolve<'g>(raw: RawSlot, versions: *mut Record) -> LeafSlot<'g> {
    if raw.is_inline() {
        return LeafSlot {
            key: short_key(raw.head, raw.meta),
            val: SlotValue::Inline(unpack(raw.word, raw.meta)),
        };
    }
    if raw.is_packed() {
        // SAFETY: a validated packed word points to a live item (block
        // invariants 2 and 3; the caller's contract).
        let (key, val) = unsafe { packed_bytes(raw.word) };
        return LeafSlot {
            key,
            val: SlotValue::Inline(val),
        };
    }
    let (key, rec) = if raw.is_chain() {
        (short_key(raw.head, raw.meta), raw.word.cast::<Record>())
    } else {
        // SAFETY: invariants 1 and 3: a validated long-key word is a live
        // entry (the caller's contract).
        let key = unsafe { entry_key(raw.word.cast::<Entry>()) };
        (Bytes::borrowed(key), versions)
    };
    LeafSlot {
        key,
        // Invariants 1 and 3: a validated chain head is a live record.
        val: SlotValue::Chain(RecordRef {
            // SAFETY: non-null by the caller's contract.
            p: unsafe { NonNull::new_unchecked(rec) },
            _guard: PhantomData,
        }),
    }
}

/// Frees what a leaf slot owns (chain, or entry and chain); returns the
/// bytes freed.
///
/// # Safety
/// `r` is the content of a leaf slot that no thread can reach any more and
/// that no one else frees.
pub(super) unsafe fn free_raw(r: RawSlot) -> usize {
    if r.is_long() {
        // SAFETY: the caller hands over the entry and its chain.
        unsafe { free_entry(r.word.cast::<Entry>()) }
    } else if r.is_chain() {
        // SAFETY: the caller hands over the chain.
        unsafe { free_chain(r.word.cast::<Record>()) }
    } else {
        0
    }
}

/// Retires what a leaf slot owns.
///
/// # Safety
/// `r` was unlinked from its leaf under the latch and is retired once.
pub(super) unsafe fn retire_raw(r: RawSlot, guard: &Guard, heap: &Arc<Account>) {
    if r.is_long() {
        // SAFETY: the caller's contract.
        unsafe { retire_entry(r.word.cast::<Entry>(), guard, heap) }
    } else if r.is_chain() {
        // SAFETY: the caller's contract.
        unsafe { retire_chain(r.word.cast::<Record>(), guard, heap) }
    }
}

impl RawSlot {
    /// This slot's value with `key`'s head and length class.
    pub(super) fn with_key(self, key: RawSlot) -> RawSlot {
        RawSlot {
            head: key.head,
            meta: (key.meta & KLEN_MASK) | (self.meta & !KLEN_MASK),
            word: self.word,
        }
    }

    /// A chain slot for this short key, headed by `r`.
    pub(super) fn chain(self, r: *mut Record) -> RawSlot {
        RawSlot {
            head: self.head,
            meta: (self.meta & KLEN_MASK) | CHAIN,
            word: r.cast::<u8>(),
        }
    }
}
