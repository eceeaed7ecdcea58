//! Version records and long-key entries: their layout, the guard-bound handles the rest of the crate reads them through, and freeing and retiring them (and nodes).

use super::*;

pub(super) const RECORD_HEADER: usize = core::mem::size_of::<Record>();

pub(super) const ENTRY_HDR: usize = core::mem::size_of::<Entry>();

pub(super) fn rec_layout(len: usize) -> Layout {
    Layout::from_size_align(RECORD_HEADER + len, core::mem::align_of::<Record>())
        .expect("value too large for an allocation")
}

/// The layout of an entry with a key of `len` bytes and, if `value` is
/// `Some(n)`, an embedded record of `n` value bytes; and the offset of
/// that record.
pub(super) fn entry_layout(len: usize, value: Option<usize>) -> (Layout, usize) {
    let rec_at = (ENTRY_HDR + len).next_multiple_of(core::mem::align_of::<Record>());
    let size = match value {
        Some(n) => rec_at + RECORD_HEADER + n,
        None => ENTRY_HDR + len,
    };
    let layout = Layout::from_size_align(size, core::mem::align_of::<Entry>())
        .expect("key too large for an allocation");
    (layout, rec_at)
}

/// The value bytes of a record.
///
/// # Safety
/// `p` points to a live record (allocated by [`NewRecord::new`] or embedded
/// in an entry; its provenance covers the whole allocation), which stays
/// live for `'a`.
pub(super) unsafe fn rec_value<'a>(p: *const Record) -> Option<&'a [u8]> {
    // SAFETY: the caller guarantees a live record; header fields are
    // immutable after publication.
    let (tomb, len) = unsafe { ((*p).tomb, (*p).len) };
    if tomb {
        return None;
    }
    // SAFETY: the value bytes follow the header in the same allocation,
    // were initialised before publication and never change.
    Some(unsafe { slice::from_raw_parts(p.cast::<u8>().add(RECORD_HEADER), len) })
}

/// The key bytes of an entry.
///
/// # Safety
/// `p` points to a live entry allocated by [`Entry::alloc`], which stays
/// live for `'a`.
pub(super) unsafe fn entry_key<'a>(p: *const Entry) -> &'a [u8] {
    // SAFETY: as for `rec_value`: immutable header, then the key bytes.
    unsafe { slice::from_raw_parts(p.cast::<u8>().add(ENTRY_HDR), (*p).len) }
}

impl<'g> RecordRef<'g> {
    /// Module invariants 1 and 3: a non-null pointer loaded while a guard
    /// for `'g` is pinned names a record live for `'g`.
    pub(super) fn new(p: *mut Record) -> Option<Self> {
        NonNull::new(p).map(|p| RecordRef {
            p,
            _guard: PhantomData,
        })
    }

    /// The value, or `None` for a tombstone.
    #[inline]
    pub(crate) fn value(self) -> Option<Bytes<'g>> {
        let p = self.p.as_ptr();
        // SAFETY: `self` names a record live for `'g` (see `new`); header
        // fields are immutable after publication.
        let (tomb, len) = unsafe { ((*p).tomb, (*p).len) };
        if tomb {
            return None;
        }
        // SAFETY: the value bytes follow the header in the same allocation,
        // were initialised before publication and never change while the
        // record lives (`'g`). Made from the record's pointer, not through
        // a slice, they keep the allocation's provenance (see
        // `Item::value_seqno`).
        Some(unsafe { Bytes::from_raw_parts(p.cast::<u8>().add(RECORD_HEADER), len) })
    }

    /// Whether the newest version is a tombstone.
    pub(super) fn is_tomb(self) -> bool {
        // SAFETY: live record (see `new`); immutable field.
        unsafe { (*self.p.as_ptr()).tomb }
    }

    /// Whether an older version is linked (for invariant checks).
    pub(crate) fn has_older(self) -> bool {
        // SAFETY: live record (see `new`).
        !unsafe { &(*self.p.as_ptr()).older }
            .load(Ordering::Relaxed)
            .is_null()
    }

    /// The newest version at or below `seqno`, walking the chain.
    pub(crate) fn visible_at(self, seqno: u64) -> Option<RecordRef<'g>> {
        let mut r = self;
        loop {
            // SAFETY: live record (see `new`); `seqno` is immutable.
            let (s, older) = unsafe {
                let p = r.p.as_ptr();
                ((*p).seqno, &(*p).older)
            };
            if s <= seqno {
                return Some(r);
            }
            // Records the chain links to are live while the guard is
            // pinned (invariant 3), so `new` applies.
            r = RecordRef::new(older.load(Ordering::Acquire))?;
        }
    }
}

impl NewRecord {
    /// A record for `value` (`None`: tombstone) with seqno `seqno`.
    pub(crate) fn new(value: Option<&[u8]>, seqno: u64) -> Self {
        let len = value.map_or(0, <[u8]>::len);
        let layout = rec_layout(len);
        // SAFETY: the layout has a non-zero size (the header).
        let p = unsafe { alloc::alloc(layout) }.cast::<Record>();
        let Some(p) = NonNull::new(p) else {
            alloc::handle_alloc_error(layout)
        };
        // SAFETY: `p` is a fresh allocation of header + `len` bytes.
        unsafe {
            p.as_ptr().write(Record {
                seqno,
                older: AtomicPtr::new(ptr::null_mut()),
                len,
                tomb: value.is_none(),
                embedded: false,
            });
            if let Some(v) = value {
                ptr::copy_nonoverlapping(
                    v.as_ptr(),
                    p.as_ptr().cast::<u8>().add(RECORD_HEADER),
                    len,
                );
            }
        }
        NewRecord(p)
    }

    pub(super) fn publish(self, heap: &Account, older: *mut Record) -> *mut Record {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: owned, not yet shared.
        unsafe {
            heap.add(RECORD_HEADER + (*p).len);
            (*p).older.store(older, Ordering::Relaxed);
        }
        p
    }
}

impl Drop for NewRecord {
    fn drop(&mut self) {
        // SAFETY: never published (publish forgets `self`), so owned alone.
        unsafe { free_rec(self.0.as_ptr()) };
    }
}

/// Frees one record (an embedded one stays, for its entry to free);
/// returns its bytes.
///
/// # Safety
/// `p` is a record allocated by [`NewRecord::new`] or embedded in an entry,
/// unreachable, freed once.
pub(super) unsafe fn free_rec(p: *mut Record) -> usize {
    // SAFETY: the caller's contract; the layout is recomputed from the
    // immutable length.
    unsafe {
        if (*p).embedded {
            return 0;
        }
        let len = (*p).len;
        ptr::drop_in_place(p);
        alloc::dealloc(p.cast::<u8>(), rec_layout(len));
        RECORD_HEADER + len
    }
}

impl<'g> EntryRef<'g> {
    /// Module invariants 1–3: a non-null pointer loaded from a node while
    /// a guard for `'g` is pinned names an entry live for `'g`.
    pub(super) fn new(p: *mut Entry) -> Option<Self> {
        NonNull::new(p).map(|p| EntryRef {
            p,
            _guard: PhantomData,
        })
    }

    /// The key bytes.
    #[inline]
    pub(crate) fn key(self) -> &'g [u8] {
        // SAFETY: `self` names an entry live for `'g` (see `new`).
        unsafe { entry_key(self.p.as_ptr()) }
    }
}

impl Entry {
    /// A key with no versions (a fence or separator copy).
    pub(super) fn alloc(key: &[u8], heap: &Account) -> *mut Entry {
        Self::alloc_with(key, None, heap)
    }

    /// A key, and if `first` is `Some((value, seqno))`, its first version
    /// embedded in the same allocation and linked as the newest.
    pub(super) fn alloc_with(
        key: &[u8],
        first: Option<(&[u8], u64)>,
        heap: &Account,
    ) -> *mut Entry {
        let (layout, rec_at) = entry_layout(key.len(), first.map(|(v, _)| v.len()));
        heap.add(layout.size());
        // SAFETY: the layout has a non-zero size (the header).
        let p = unsafe { alloc::alloc(layout) }.cast::<Entry>();
        if p.is_null() {
            alloc::handle_alloc_error(layout)
        }
        // SAFETY: `p` is a fresh allocation of header + key bytes (+ the
        // record header and value bytes at `rec_at`, aligned for `Record`).
        unsafe {
            p.write(Entry {
                versions: AtomicPtr::new(ptr::null_mut()),
                len: key.len(),
                size: layout.size(),
            });
            ptr::copy_nonoverlapping(key.as_ptr(), p.cast::<u8>().add(ENTRY_HDR), key.len());
            if let Some((value, seqno)) = first {
                let r = p.cast::<u8>().add(rec_at).cast::<Record>();
                r.write(Record {
                    seqno,
                    older: AtomicPtr::new(ptr::null_mut()),
                    len: value.len(),
                    tomb: false,
                    embedded: true,
                });
                ptr::copy_nonoverlapping(
                    value.as_ptr(),
                    r.cast::<u8>().add(RECORD_HEADER),
                    value.len(),
                );
                (*p).versions.store(r, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Frees a run of records linked through `older`; returns the bytes freed.
///
/// # Safety
/// `r` is null or the head of a run of records allocated by [`NewRecord`]
/// that no thread can reach any more and that no one else frees.
pub(super) unsafe fn free_chain(mut r: *mut Record) -> usize {
    let mut bytes = 0;
    while !r.is_null() {
        // SAFETY: the caller hands over exclusive ownership of the run.
        let next = unsafe { (*r).older.load(Ordering::Relaxed) };
        // SAFETY: as above; `r` is freed once.
        bytes += unsafe { free_rec(r) };
        r = next;
    }
    bytes
}

/// Frees an entry and its whole chain; returns the bytes freed.
///
/// # Safety
/// `e` was allocated by [`Entry::alloc`], no thread can reach it any more,
/// and no one else frees it or its chain.
pub(super) unsafe fn free_entry(e: *mut Entry) -> usize {
    // SAFETY: the caller hands over exclusive ownership of the entry and
    // of its chain.
    unsafe {
        let chain = free_chain((*e).versions.load(Ordering::Relaxed));
        let size = (*e).size;
        ptr::drop_in_place(e);
        let layout = Layout::from_size_align_unchecked(size, core::mem::align_of::<Entry>());
        alloc::dealloc(e.cast::<u8>(), layout);
        chain + size
    }
}

/// Retires a run of records: frees it once no pinned reader can see it.
///
/// # Safety
/// The run starting at `r` (non-null) is unreachable from the tree (the
/// caller unlinked it under the leaf latch) and is retired exactly once.
pub(super) unsafe fn retire_chain(r: *mut Record, guard: &Guard, heap: &Arc<Account>) {
    /// # Safety
    /// As for [`free_chain`].
    unsafe fn free(p: *mut u8) -> usize {
        // SAFETY: `p` is the `*mut Record` that `retire_chain` was given.
        unsafe { free_chain(p.cast::<Record>()) }
    }
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(r.cast::<u8>(), free, guard, heap) }
}

/// Retires an entry (and its chain).
///
/// # Safety
/// `e` is unreachable from every node (unlinked under the leaf latch) and
/// retired exactly once.
pub(super) unsafe fn retire_entry(e: *mut Entry, guard: &Guard, heap: &Arc<Account>) {
    /// # Safety
    /// As for [`free_entry`].
    unsafe fn free(p: *mut u8) -> usize {
        // SAFETY: `p` is the `*mut Entry` that `retire_entry` was given.
        unsafe { free_entry(p.cast::<Entry>()) }
    }
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(e.cast::<u8>(), free, guard, heap) }
}

/// Frees an unlinked node, its low fence key, its block (leaves) and
/// (inner nodes) its separator array; returns the bytes freed.
///
/// # Safety
/// `p` is a `Node<L, N>` allocated by [`Node::alloc`], unreachable from the
/// tree, owning no slot contents, separators or high key (moved or
/// nulled), freed once.
pub(super) unsafe fn free_node<L: Latch, const N: usize>(p: *mut u8) -> usize {
    // SAFETY: the caller's contract.
    let node = unsafe { Box::from_raw(p.cast::<Node<L, N>>()) };
    let low = node.low.load(Ordering::Relaxed);
    let mut bytes = Node::<L, N>::bytes(node.level);
    if !low.is_null() {
        // SAFETY: the low fence is owned by its node alone.
        bytes += unsafe { free_entry(low) };
    }
    let block = node.block();
    if !block.is_null() {
        // SAFETY: a leaf's block is owned by its leaf alone (invariant 6);
        // the leaf is being freed, so is its block.
        bytes += unsafe { free_block(block.cast::<u8>()) };
    }
    bytes
}

/// Retires an unlinked node.
///
/// # Safety
/// As for [`free_node`], except that readers may still hold the node: it is
/// freed once every guard pinned before the retirement is gone.
pub(super) unsafe fn retire_node<L: Latch, const N: usize>(
    p: *mut Node<L, N>,
    guard: &Guard,
    heap: &Arc<Account>,
) {
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(p.cast::<u8>(), free_node::<L, N>, guard, heap) }
}
