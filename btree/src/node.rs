//! Node layout, version records, and the tree's whole unsafe core.
//!
//! # Layout
//!
//! A [`Node`] is a fixed-size block of `N` slots (a const generic):
//!
//! - `latch`: the version lock ([`Latch`]);
//! - `level`: 0 for leaves, parent = child + 1 (immutable after creation);
//! - `count`: entries in a leaf, separators in an inner node (which has
//!   `count + 1` children, so at most `N - 1` separators);
//! - `high`: the node's high key (inclusive upper bound of its range), or
//!   null for the rightmost node of a level (+∞); `right`: the right
//!   sibling (B-link); `low` (leaves only): the low fence key, the
//!   exclusive lower bound, which lets reverse iteration find the previous
//!   leaf by descending to it;
//! - `heads[i]`: the first 4 bytes of key `i`, big-endian, zero-padded, so
//!   most comparisons never leave the node;
//! - `slots[i]`: the [`Entry`] of key `i` (leaf) or separator `i` (inner):
//!   an immutable, out-of-line key in one allocation (header, then the key
//!   bytes) which, in a leaf, also anchors the key's version chain of
//!   [`Rec`]s (each one allocation: header, then the value bytes);
//! - `kids[i]`: child `i` of an inner node; it holds the keys in
//!   `(sep[i-1], sep[i]]`.
//!
//! Every field is an atomic, so an optimistic reader that races a writer
//! reads stale or mixed values but never undefined behaviour; every count
//! is clamped to the node capacity before it is used as an index, and a
//! null where a pointer is expected makes the reader restart.
//!
//! # Memory invariants (what makes the safe accessors sound)
//!
//! 1. Every non-null pointer ever stored in a node field points to an
//!    object allocated here and fully initialised before the (Release)
//!    store that published it; readers load with Acquire.
//! 2. A node is freed when the tree is dropped (which needs `&mut`
//!    access), or, for an empty leaf unlinked by
//!    [`Locked::unlink_right_leaf`], through crossbeam-epoch after it was
//!    marked obsolete: a `&Node` obtained under a guard stays valid while
//!    the guard lives, and a reader that reaches an obsolete node restarts.
//! 3. An [`Entry`] or a run of [`Rec`]s is retired only after a writer
//!    holding the owning leaf's latch has made it unreachable from every
//!    node and chain, and it is freed through crossbeam-epoch only once
//!    every guard pinned before the retirement is gone. A pointer loaded
//!    while pinned therefore stays dereferenceable while the guard lives,
//!    even if it was read from a torn node state. (The tree still
//!    validates the node version before it dereferences such a pointer,
//!    so it never acts on a torn state; the guard makes a slip harmless
//!    rather than undefined.)
//! 4. Entries and records are immutable once published, except the atomic
//!    links (`Entry::versions`, `Rec::older`), which change only under the
//!    owning leaf's latch.
//!
//! Outside this module, entries and records are reached only through the
//! guard-bound handles [`EntryRef`] and [`RecRef`] (raw pointers inside, so
//! the trailing bytes keep the allocation's provenance), which only this
//! module creates, from pointers loaded under a guard.
//!
//! Under `cfg(loom)` retired objects go to a limbo list freed with the tree
//! instead of to crossbeam-epoch (whose collector runs outside the model).

use crate::latch::Latch;
use crossbeam_epoch::Guard;
use ordex_core::olc::Restart;
use ordex_core::sync::{AtomicPtr, AtomicU32, Ordering};
use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::slice;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;

/// The 4-byte big-endian key head: the first four bytes, zero-padded.
///
/// If the heads of two keys differ, they order the keys exactly as memcmp
/// does; if they are equal, the full keys decide.
#[inline]
pub(crate) fn head_of(key: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    let n = key.len().min(4);
    b[..n].copy_from_slice(&key[..n]);
    u32::from_be_bytes(b)
}

/// Heap accounting shared with deferred frees (which outlive a call).
#[derive(Debug, Default)]
pub(crate) struct Heap {
    /// Bytes of nodes, entries and records allocated and not yet freed.
    pub(crate) bytes: StdAtomicUsize,
    /// Retirements whose deferred free has not run yet.
    pub(crate) pending: StdAtomicUsize,
    /// Retirements over the tree's life.
    pub(crate) retired: StdAtomicUsize,
    #[cfg(loom)]
    limbo: std::sync::Mutex<Vec<Garbage>>,
}

/// A retired object under loom: its address and the function that frees
/// it (returning the bytes freed).
#[cfg(loom)]
#[derive(Debug)]
struct Garbage(*mut u8, unsafe fn(*mut u8) -> usize);

// SAFETY: the limbo only holds pointers to retired objects that no thread
// accesses any more; they are freed by whoever drops the tree.
#[cfg(loom)]
unsafe impl Send for Garbage {}

impl Heap {
    fn add(&self, n: usize) {
        self.bytes.fetch_add(n, StdOrdering::Relaxed);
    }
    fn sub(&self, n: usize) {
        self.bytes.fetch_sub(n, StdOrdering::Relaxed);
    }
}

/// One immutable version of a key, in one allocation: this header, then
/// the value bytes. Handled through [`RecRef`] outside this module.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Rec {
    seqno: u64,
    older: AtomicPtr<Rec>,
    len: usize,
    tomb: bool,
}

const REC_HDR: usize = core::mem::size_of::<Rec>();
const ENTRY_HDR: usize = core::mem::size_of::<Entry>();

fn rec_layout(len: usize) -> Layout {
    Layout::from_size_align(REC_HDR + len, core::mem::align_of::<Rec>())
        .expect("value too large for an allocation")
}

fn entry_layout(len: usize) -> Layout {
    Layout::from_size_align(ENTRY_HDR + len, core::mem::align_of::<Entry>())
        .expect("key too large for an allocation")
}

/// The value bytes of a record.
///
/// # Safety
/// `p` points to a live record allocated by [`NewRec::new`] (its provenance
/// covers the whole allocation), which stays live for `'a`.
unsafe fn rec_value<'a>(p: *const Rec) -> Option<&'a [u8]> {
    // SAFETY: the caller guarantees a live record; header fields are
    // immutable after publication.
    let (tomb, len) = unsafe { ((*p).tomb, (*p).len) };
    if tomb {
        return None;
    }
    // SAFETY: the value bytes follow the header in the same allocation,
    // were initialised before publication and never change.
    Some(unsafe { slice::from_raw_parts(p.cast::<u8>().add(REC_HDR), len) })
}

/// The key bytes of an entry.
///
/// # Safety
/// `p` points to a live entry allocated by [`Entry::alloc`], which stays
/// live for `'a`.
unsafe fn entry_key<'a>(p: *const Entry) -> &'a [u8] {
    // SAFETY: as for `rec_value`: immutable header, then the key bytes.
    unsafe { slice::from_raw_parts(p.cast::<u8>().add(ENTRY_HDR), (*p).len) }
}

/// A version record borrowed under an epoch guard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecRef<'g> {
    p: NonNull<Rec>,
    _guard: PhantomData<&'g Guard>,
}

impl<'g> RecRef<'g> {
    /// Module invariants 1 and 3: a non-null pointer loaded while a guard
    /// for `'g` is pinned names a record live for `'g`.
    fn new(p: *mut Rec) -> Option<Self> {
        NonNull::new(p).map(|p| RecRef {
            p,
            _guard: PhantomData,
        })
    }

    /// Starts loading the record (header and the start of the value), so
    /// a scan's misses overlap instead of following one another.
    #[inline]
    pub(crate) fn prefetch(self) {
        ordex_core::sync::prefetch(self.p.as_ptr());
    }

    /// The value, or `None` for a tombstone.
    #[inline]
    pub(crate) fn value(self) -> Option<&'g [u8]> {
        // SAFETY: `self` names a record live for `'g` (see `new`).
        unsafe { rec_value(self.p.as_ptr()) }
    }

    /// Whether an older version is linked (for invariant checks).
    pub(crate) fn has_older(self) -> bool {
        // SAFETY: live record (see `new`).
        !unsafe { &(*self.p.as_ptr()).older }
            .load(Ordering::Relaxed)
            .is_null()
    }

    /// The newest version at or below `seqno`, walking the chain.
    pub(crate) fn visible_at(self, seqno: u64) -> Option<RecRef<'g>> {
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
            r = RecRef::new(older.load(Ordering::Acquire))?;
        }
    }
}

/// A version record not yet published (owned).
#[derive(Debug)]
pub(crate) struct NewRec(NonNull<Rec>);

impl NewRec {
    /// A record for `value` (`None`: tombstone); the seqno is set later,
    /// under the leaf latch.
    pub(crate) fn new(value: Option<&[u8]>) -> Self {
        let len = value.map_or(0, <[u8]>::len);
        let layout = rec_layout(len);
        // SAFETY: the layout has a non-zero size (the header).
        let p = unsafe { alloc::alloc(layout) }.cast::<Rec>();
        let Some(p) = NonNull::new(p) else {
            alloc::handle_alloc_error(layout)
        };
        // SAFETY: `p` is a fresh allocation of header + `len` bytes.
        unsafe {
            p.as_ptr().write(Rec {
                seqno: 0,
                older: AtomicPtr::new(ptr::null_mut()),
                len,
                tomb: value.is_none(),
            });
            if let Some(v) = value {
                ptr::copy_nonoverlapping(v.as_ptr(), p.as_ptr().cast::<u8>().add(REC_HDR), len);
            }
        }
        NewRec(p)
    }

    /// Sets the seqno (before publication).
    pub(crate) fn set_seqno(&mut self, seqno: u64) {
        // SAFETY: the record is owned and not yet shared.
        unsafe { (*self.0.as_ptr()).seqno = seqno };
    }

    fn publish(self, heap: &Heap, older: *mut Rec) -> *mut Rec {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: owned, not yet shared.
        unsafe {
            heap.add(REC_HDR + (*p).len);
            (*p).older.store(older, Ordering::Relaxed);
        }
        p
    }
}

impl Drop for NewRec {
    fn drop(&mut self) {
        // SAFETY: never published (publish forgets `self`), so owned alone.
        unsafe { free_rec(self.0.as_ptr()) };
    }
}

// SAFETY: a `NewRec` owns its allocation exclusively.
unsafe impl Send for NewRec {}

/// Frees one record; returns its bytes.
///
/// # Safety
/// `p` is a record allocated by [`NewRec::new`], unreachable, freed once.
unsafe fn free_rec(p: *mut Rec) -> usize {
    // SAFETY: the caller's contract; the layout is recomputed from the
    // immutable length.
    unsafe {
        let len = (*p).len;
        ptr::drop_in_place(p);
        alloc::dealloc(p.cast::<u8>(), rec_layout(len));
        REC_HDR + len
    }
}

/// A key, stored out of line and immutable, in one allocation (this
/// header, then the key bytes); in a leaf it also anchors the key's
/// version chain (newest first). Handled through [`EntryRef`] outside this
/// module.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Entry {
    versions: AtomicPtr<Rec>,
    len: usize,
    head: u32,
}

/// An entry borrowed under an epoch guard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryRef<'g> {
    p: NonNull<Entry>,
    _guard: PhantomData<&'g Guard>,
}

impl<'g> EntryRef<'g> {
    /// Module invariants 1–3: a non-null pointer loaded from a node while
    /// a guard for `'g` is pinned names an entry live for `'g`.
    fn new(p: *mut Entry) -> Option<Self> {
        NonNull::new(p).map(|p| EntryRef {
            p,
            _guard: PhantomData,
        })
    }

    /// Starts loading the entry (its version pointer and the start of its
    /// key), so a scan's misses overlap instead of following one another.
    #[inline]
    pub(crate) fn prefetch(self) {
        ordex_core::sync::prefetch(self.p.as_ptr());
    }

    /// The key bytes.
    #[inline]
    pub(crate) fn key(self) -> &'g [u8] {
        // SAFETY: `self` names an entry live for `'g` (see `new`).
        unsafe { entry_key(self.p.as_ptr()) }
    }

    /// The newest version (None only for separator keys, which have none).
    #[inline]
    pub(crate) fn newest(self) -> Option<RecRef<'g>> {
        // SAFETY: live entry (see `new`).
        let versions = unsafe { &(*self.p.as_ptr()).versions };
        RecRef::new(versions.load(Ordering::Acquire))
    }
}

impl Entry {
    fn alloc(key: &[u8], versions: *mut Rec, heap: &Heap) -> *mut Entry {
        let layout = entry_layout(key.len());
        heap.add(layout.size());
        // SAFETY: the layout has a non-zero size (the header).
        let p = unsafe { alloc::alloc(layout) }.cast::<Entry>();
        if p.is_null() {
            alloc::handle_alloc_error(layout)
        }
        // SAFETY: `p` is a fresh allocation of header + key bytes.
        unsafe {
            p.write(Entry {
                versions: AtomicPtr::new(versions),
                len: key.len(),
                head: head_of(key),
            });
            ptr::copy_nonoverlapping(key.as_ptr(), p.cast::<u8>().add(ENTRY_HDR), key.len());
        }
        p
    }
}

/// Frees a run of records linked through `older`; returns the bytes freed.
///
/// # Safety
/// `r` is null or the head of a run of records allocated by [`NewRec`]
/// that no thread can reach any more and that no one else frees.
unsafe fn free_chain(mut r: *mut Rec) -> usize {
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
unsafe fn free_entry(e: *mut Entry) -> usize {
    // SAFETY: the caller hands over exclusive ownership of the entry and
    // of its chain.
    unsafe {
        let chain = free_chain((*e).versions.load(Ordering::Relaxed));
        let len = (*e).len;
        ptr::drop_in_place(e);
        alloc::dealloc(e.cast::<u8>(), entry_layout(len));
        chain + ENTRY_HDR + len
    }
}

/// Retires an unlinked object: `free(p)` runs once every guard pinned
/// before the retirement is gone (under loom: when the tree drops).
///
/// # Safety
/// `p` is unreachable from the tree (the caller unlinked it under the
/// latch that guards it), is retired exactly once, and `free` is the
/// function that frees an object of its kind.
unsafe fn retire(p: *mut u8, free: unsafe fn(*mut u8) -> usize, guard: &Guard, heap: &Arc<Heap>) {
    heap.pending.fetch_add(1, StdOrdering::Relaxed);
    heap.retired.fetch_add(1, StdOrdering::Relaxed);
    #[cfg(not(loom))]
    {
        let heap = heap.clone();
        let f = move || {
            // SAFETY: the epoch has passed every guard that could have
            // loaded a pointer to `p`; the caller's contract makes this the
            // only free, with the right function.
            let b = unsafe { free(p) };
            heap.sub(b);
            heap.pending.fetch_sub(1, StdOrdering::Relaxed);
        };
        // SAFETY: `f` frees only the unlinked object (see above) and
        // touches the `Arc`-owned counters, which it keeps alive itself.
        unsafe { guard.defer_unchecked(f) };
    }
    #[cfg(loom)]
    {
        let _ = guard;
        heap.limbo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Garbage(p, free));
    }
}

/// Retires a run of records: frees it once no pinned reader can see it.
///
/// # Safety
/// The run starting at `r` (non-null) is unreachable from the tree (the
/// caller unlinked it under the leaf latch) and is retired exactly once.
unsafe fn retire_chain(r: *mut Rec, guard: &Guard, heap: &Arc<Heap>) {
    /// # Safety
    /// As for [`free_chain`].
    unsafe fn free(p: *mut u8) -> usize {
        // SAFETY: `p` is the `*mut Rec` that `retire_chain` was given.
        unsafe { free_chain(p.cast::<Rec>()) }
    }
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(r.cast::<u8>(), free, guard, heap) }
}

/// Retires an entry (and its chain).
///
/// # Safety
/// `e` is unreachable from every node (unlinked under the leaf latch) and
/// retired exactly once.
unsafe fn retire_entry(e: *mut Entry, guard: &Guard, heap: &Arc<Heap>) {
    /// # Safety
    /// As for [`free_entry`].
    unsafe fn free(p: *mut u8) -> usize {
        // SAFETY: `p` is the `*mut Entry` that `retire_entry` was given.
        unsafe { free_entry(p.cast::<Entry>()) }
    }
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(e.cast::<u8>(), free, guard, heap) }
}

/// Frees an unlinked node and its low fence key; returns the bytes freed.
///
/// # Safety
/// `p` is a `Node<L, N>` allocated by [`Node::alloc`], unreachable from the
/// tree, owning no slot entries and no high key (moved or nulled), freed
/// once.
unsafe fn free_node<L: Latch, const N: usize>(p: *mut u8) -> usize {
    // SAFETY: the caller's contract.
    let node = unsafe { Box::from_raw(p.cast::<Node<L, N>>()) };
    let low = node.low.load(Ordering::Relaxed);
    let mut bytes = core::mem::size_of::<Node<L, N>>();
    if !low.is_null() {
        // SAFETY: the low fence is owned by its node alone.
        bytes += unsafe { free_entry(low) };
    }
    bytes
}

/// Retires an unlinked node.
///
/// # Safety
/// As for [`free_node`], except that readers may still hold the node: it is
/// freed once every guard pinned before the retirement is gone.
unsafe fn retire_node<L: Latch, const N: usize>(
    p: *mut Node<L, N>,
    guard: &Guard,
    heap: &Arc<Heap>,
) {
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(p.cast::<u8>(), free_node::<L, N>, guard, heap) }
}

/// A B-link tree node of `N` slots. See the module docs for the layout.
#[derive(Debug)]
pub(crate) struct Node<L: Latch, const N: usize> {
    latch: L,
    level: u8,
    count: AtomicU32,
    high: AtomicPtr<Entry>,
    /// Leaves only: the low fence key (exclusive lower bound; null: -∞).
    /// Immutable once the leaf is published (an unlink changes the left
    /// sibling's high key, never a low key).
    low: AtomicPtr<Entry>,
    right: AtomicPtr<Node<L, N>>,
    heads: [AtomicU32; N],
    slots: [AtomicPtr<Entry>; N],
    kids: [AtomicPtr<Node<L, N>>; N],
}

/// A half-split to finish: the separator (the left node's new high key,
/// already copied for the parent) and the new right node.
#[derive(Debug)]
pub(crate) struct Split<L: Latch, const N: usize> {
    sep: *mut Entry,
    right: *mut Node<L, N>,
}

impl<L: Latch, const N: usize> Split<L, N> {
    /// The separator key.
    pub(crate) fn sep(&self) -> &[u8] {
        // SAFETY: the split owns its separator entry until it is stored in
        // a parent (which consumes the split).
        unsafe { entry_key(self.sep) }
    }
}

impl<L: Latch, const N: usize> Node<L, N> {
    const OK: () = assert!(N >= 4 && N <= 1024, "node size must be in 4..=1024 slots");

    fn alloc(level: u8, heap: &Heap) -> *mut Node<L, N> {
        let () = Self::OK;
        heap.add(core::mem::size_of::<Node<L, N>>());
        Box::into_raw(Box::new(Node {
            latch: L::new(),
            level,
            count: AtomicU32::new(0),
            high: AtomicPtr::new(ptr::null_mut()),
            low: AtomicPtr::new(ptr::null_mut()),
            right: AtomicPtr::new(ptr::null_mut()),
            heads: core::array::from_fn(|_| AtomicU32::new(0)),
            slots: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            kids: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }))
    }

    /// 0 for a leaf.
    #[inline]
    pub(crate) fn level(&self) -> u8 {
        self.level
    }

    /// Starts a read of the node (see [`Latch::read`]); it ends when the
    /// returned guard is dropped (or upgraded).
    #[inline]
    pub(crate) fn read(&self) -> Result<Reading<'_, L>, Restart> {
        let t = self.latch.read()?;
        Ok(Reading {
            latch: &self.latch,
            t,
        })
    }

    /// Starts a read that the caller means to upgrade (`excl`; see
    /// [`Latch::read_for_write`]), or a plain read.
    #[inline]
    pub(crate) fn read_mode(&self, excl: bool) -> Result<Reading<'_, L>, Restart> {
        let t = if excl {
            self.latch.read_for_write()?
        } else {
            self.latch.read()?
        };
        Ok(Reading {
            latch: &self.latch,
            t,
        })
    }

    /// Validates the read `v` of this node.
    #[inline]
    pub(crate) fn check(&self, v: &Reading<'_, L>) -> Result<(), Restart> {
        debug_assert!(
            core::ptr::eq(v.latch, &self.latch),
            "a read of another node"
        );
        self.latch.check(v.t)
    }

    fn cap(&self) -> usize {
        if self.level == 0 {
            N
        } else {
            N - 1
        }
    }

    /// The entry (or separator) count, clamped to the capacity: a racy
    /// read never yields an out-of-bounds index.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        (self.count.load(Ordering::Relaxed) as usize).min(self.cap())
    }

    /// Slot `i` (None if out of range or, in a racy read, null).
    #[inline]
    pub(crate) fn slot<'g>(&'g self, i: usize, _guard: &'g Guard) -> Option<EntryRef<'g>> {
        // Module invariants 1 and 3: any non-null slot value is a published
        // entry that stays allocated while `_guard` is pinned.
        EntryRef::new(self.slots.get(i)?.load(Ordering::Acquire))
    }

    /// The high key; None means +∞ (or, in a racy read, a torn state that
    /// validation catches).
    #[inline]
    pub(crate) fn high<'g>(&'g self, _guard: &'g Guard) -> Option<EntryRef<'g>> {
        // As for `slot`: a high key replaced by an unlink is retired
        // through the epoch; otherwise it is freed with the tree.
        EntryRef::new(self.high.load(Ordering::Acquire))
    }

    /// A leaf's low fence key (exclusive lower bound); None means -∞.
    #[inline]
    pub(crate) fn low<'g>(&'g self, _guard: &'g Guard) -> Option<EntryRef<'g>> {
        // As for `high`; immutable once the leaf is published.
        EntryRef::new(self.low.load(Ordering::Acquire))
    }

    /// The right sibling.
    #[inline]
    pub(crate) fn right<'g>(&'g self, _guard: &'g Guard) -> Option<&'g Node<L, N>> {
        let p = self.right.load(Ordering::Acquire);
        // SAFETY: module invariant 2: nodes live as long as the tree.
        unsafe { p.as_ref() }
    }

    /// Child `i` of an inner node.
    #[inline]
    pub(crate) fn kid<'g>(&'g self, i: usize, _guard: &'g Guard) -> Option<&'g Node<L, N>> {
        let p = self.kids.get(i)?.load(Ordering::Acquire);
        // SAFETY: module invariant 2.
        unsafe { p.as_ref() }
    }

    /// Binary search: the first position whose key is `>= key`, and whether
    /// it is equal, under the optimistic read `v` (or the latch). The 4-byte
    /// heads decide most steps; on a tie the slot's entry is dereferenced
    /// only after validating `v`. The answer is meaningful only if `v`
    /// still validates afterwards; a torn slot makes it restart.
    pub(crate) fn lower_bound(
        &self,
        key: &[u8],
        head: u32,
        v: &Reading<'_, L>,
        guard: &Guard,
    ) -> Result<(usize, bool), Restart> {
        let (mut lo, mut hi) = (0, self.count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let h = self.heads[mid].load(Ordering::Relaxed);
            let ord = if h != head {
                h.cmp(&head)
            } else {
                // Equal heads: the full key decides. Validate the slot
                // pointer before dereferencing it.
                let e = self.slot(mid, guard).ok_or(Restart)?;
                self.check(v)?;
                e.key().cmp(key)
            };
            match ord {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Ok((mid, true)),
            }
        }
        Ok((lo, false))
    }

    /// Takes the exclusive latch, waiting while another thread holds it
    /// (the caller holds no latch). Fails if the node is (or becomes)
    /// obsolete.
    pub(crate) fn lock<'a>(&'a self, heap: &'a Arc<Heap>) -> Result<Locked<'a, L, N>, Restart> {
        self.latch.lock()?;
        Ok(Locked { node: self, heap })
    }

    /// Whether the node was unlinked (it is retired; readers that reach it
    /// restart).
    pub(crate) fn is_obsolete(&self) -> bool {
        self.latch.is_obsolete()
    }

    /// Upgrades the read `v` of this node to the exclusive latch; on
    /// failure the read ends.
    #[inline]
    pub(crate) fn upgrade<'a>(
        &'a self,
        v: Reading<'a, L>,
        heap: &'a Arc<Heap>,
    ) -> Result<Locked<'a, L, N>, Restart> {
        debug_assert!(
            core::ptr::eq(v.latch, &self.latch),
            "a read of another node"
        );
        let v = core::mem::ManuallyDrop::new(v);
        // SAFETY: `v` is a read of this latch that has not ended (the
        // guard is consumed here: on success it became the exclusive
        // latch, on failure it ends below).
        match unsafe { self.latch.upgrade(v.t) } {
            Ok(()) => Ok(Locked { node: self, heap }),
            Err(Restart) => {
                drop(core::mem::ManuallyDrop::into_inner(v));
                Err(Restart)
            }
        }
    }

    // --- plain accessors for a writer holding the latch (or an owner) ---

    fn slot_ptr(&self, i: usize) -> *mut Entry {
        self.slots[i].load(Ordering::Relaxed)
    }

    fn kid_ptr(&self, i: usize) -> *mut Node<L, N> {
        self.kids[i].load(Ordering::Relaxed)
    }

    fn set_slot(&self, i: usize, e: *mut Entry) {
        let head = if e.is_null() {
            0
        } else {
            // SAFETY: a non-null `e` is an entry this thread owns or that
            // the latched node holds (invariant 1).
            unsafe { (*e).head }
        };
        self.heads[i].store(head, Ordering::Relaxed);
        self.slots[i].store(e, Ordering::Release);
    }

    fn set_kid(&self, i: usize, n: *mut Node<L, N>) {
        self.kids[i].store(n, Ordering::Release);
    }

    fn set_count(&self, n: usize) {
        self.count.store(n as u32, Ordering::Relaxed);
    }
}

/// A read of a node in progress (a token of [`Latch::read`]); ends the
/// read on drop, also on early returns and unwinding. Descents assign the
/// child's read over the parent's, which ends the parent's read after the
/// child's started: hand-over-hand.
pub(crate) struct Reading<'a, L: Latch> {
    latch: &'a L,
    t: L::Token,
}

impl<L: Latch> Drop for Reading<'_, L> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard holds a read of `latch` that has not ended
        // (`upgrade` consumes the guard without dropping it).
        unsafe { self.latch.read_end(self.t) };
    }
}

/// A node whose latch this thread holds; unlocks on drop (also on unwind).
pub(crate) struct Locked<'a, L: Latch, const N: usize> {
    node: &'a Node<L, N>,
    heap: &'a Arc<Heap>,
}

impl<L: Latch, const N: usize> Drop for Locked<'_, L, N> {
    fn drop(&mut self) {
        // SAFETY: a `Locked` exists only while its thread holds the
        // exclusive latch (from `lock` or `upgrade`), and is dropped once.
        unsafe { self.node.latch.unlock() };
    }
}

impl<'a, L: Latch, const N: usize> Locked<'a, L, N> {
    fn count_exact(&self) -> usize {
        self.node.count.load(Ordering::Relaxed) as usize
    }

    /// Whether the latched node holds no entry (or separator).
    pub(crate) fn is_empty(&self) -> bool {
        self.count_exact() == 0
    }

    /// Pushes `rec` as the newest version of the entry at `pos`, then trims
    /// the chain to what the oldest live snapshot (`oldest`, `u64::MAX` if
    /// none) can need: every version newer than `oldest` and the newest one
    /// at or below it. Returns whether the replaced version was a value,
    /// and whether the chain kept more than the new version.
    pub(crate) fn push_version(
        &self,
        pos: usize,
        rec: NewRec,
        oldest: u64,
        guard: &Guard,
    ) -> (bool, bool) {
        let e = self.node.slot_ptr(pos);
        // SAFETY: `pos` is an occupied slot of the latched leaf (the caller
        // found it there under the latch), so `e` is a live entry.
        let entry = unsafe { &*e };
        let old = entry.versions.load(Ordering::Relaxed);
        // SAFETY: the chain head of a live entry is live (invariant 3).
        let was_live = unsafe { old.as_ref() }.is_some_and(|r| !r.tomb);
        let new = rec.publish(self.heap, old);
        entry.versions.store(new, Ordering::Release);
        (was_live, self.trim(new, oldest, guard))
    }

    /// Trims a chain (see [`push_version`](Self::push_version)); returns
    /// whether more than the head is left.
    fn trim(&self, head: *mut Rec, oldest: u64, guard: &Guard) -> bool {
        let mut r = head;
        loop {
            // SAFETY: `r` is in the chain of an entry of the latched leaf;
            // only latch holders unlink records, so it is live.
            let rec = unsafe { &*r };
            let older = rec.older.load(Ordering::Relaxed);
            if older.is_null() {
                return r != head;
            }
            if rec.seqno <= oldest {
                rec.older.store(ptr::null_mut(), Ordering::Release);
                // SAFETY: the run below `rec` was just unlinked, and only
                // this latch holder could unlink it.
                unsafe { retire_chain(older, guard, self.heap) };
                return r != head;
            }
            r = older;
        }
    }

    /// Trims every chain of the latched leaf to what `oldest` can need and
    /// unlinks entries left with a lone tombstone no snapshot can tell from
    /// absence. Returns the number of entries removed.
    pub(crate) fn sweep(&self, oldest: u64, guard: &Guard) -> usize {
        let mut removed = 0;
        for i in (0..self.count_exact()).rev() {
            let e = self.node.slot_ptr(i);
            // SAFETY: an occupied slot of the latched leaf holds a live
            // entry, whose chain head is live.
            let head = unsafe { (*e).versions.load(Ordering::Relaxed) };
            let longer = self.trim(head, oldest, guard);
            // SAFETY: as above.
            let rec = unsafe { &*head };
            if !longer && rec.tomb && rec.seqno <= oldest {
                self.remove_entry(i, guard);
                removed += 1;
            }
        }
        removed
    }

    /// Unlinks the entry at `pos` and retires it with its chain.
    pub(crate) fn remove_entry(&self, pos: usize, guard: &Guard) {
        let n = self.count_exact();
        let node = self.node;
        let e = node.slot_ptr(pos);
        for i in pos..n - 1 {
            node.set_slot(i, node.slot_ptr(i + 1));
        }
        node.set_slot(n - 1, ptr::null_mut());
        node.set_count(n - 1);
        // SAFETY: `e` is no longer in any slot (each entry is in exactly
        // one slot of one leaf), and this latch holder is its only retirer.
        unsafe { retire_entry(e, guard, self.heap) };
    }

    /// Unlinks the empty leaf `leaf` (latched) from its left sibling `self`
    /// (latched; `leaf`'s right-link predecessor) and from `parent`
    /// (latched; child `pos` is `self`, child `pos + 1` is `leaf`, and
    /// separator `pos` is between them): `self` takes over `leaf`'s range
    /// (high key and right-link), `parent` drops the separator and the
    /// child, and `leaf` is marked obsolete and retired. Returns false,
    /// changing nothing, if the shape is not exactly that.
    pub(crate) fn unlink_right_leaf(
        &self,
        leaf: Locked<'a, L, N>,
        parent: &Locked<'a, L, N>,
        pos: usize,
        guard: &Guard,
    ) -> bool {
        let (left, l, p) = (self.node, leaf.node, parent.node);
        let l_ptr = l as *const Node<L, N> as *mut Node<L, N>;
        let left_ptr = left as *const Node<L, N> as *mut Node<L, N>;
        let pn = parent.count_exact();
        let shape = left.level == 0
            && l.level == 0
            && p.level == 1
            && leaf.count_exact() == 0
            && left.right.load(Ordering::Relaxed) == l_ptr
            && pos < pn
            && p.kid_ptr(pos) == left_ptr
            && p.kid_ptr(pos + 1) == l_ptr
            && !l.low.load(Ordering::Relaxed).is_null();
        if !shape {
            return false;
        }
        // The left sibling takes over the leaf's range.
        let old_high = left.high.load(Ordering::Relaxed);
        left.high
            .store(l.high.load(Ordering::Relaxed), Ordering::Release);
        left.right
            .store(l.right.load(Ordering::Relaxed), Ordering::Release);
        l.high.store(ptr::null_mut(), Ordering::Relaxed);
        // The parent drops separator `pos` and child `pos + 1`.
        let sep = p.slot_ptr(pos);
        for i in pos..pn - 1 {
            p.set_slot(i, p.slot_ptr(i + 1));
        }
        p.set_slot(pn - 1, ptr::null_mut());
        for i in pos + 1..pn {
            p.set_kid(i, p.kid_ptr(i + 1));
        }
        p.set_kid(pn, ptr::null_mut());
        p.set_count(pn - 1);
        // The leaf is unreachable now (one parent slot, one right-link).
        // SAFETY: `leaf` holds the exclusive latch; it is forgotten, so
        // this is its only release.
        unsafe { l.latch.unlock_obsolete() };
        core::mem::forget(leaf);
        // SAFETY: `old_high` was owned by `left` alone and was replaced;
        // `sep` was owned by `parent` alone and was removed; the leaf was
        // reachable only through the two links just replaced, owns no
        // entries (empty) and no high key (moved to `left`).
        unsafe {
            if !old_high.is_null() {
                retire_entry(old_high, guard, self.heap);
            }
            retire_entry(sep, guard, self.heap);
            retire_node(l_ptr, guard, self.heap);
        }
        true
    }

    /// Inserts a new entry for `key` with version `rec` at `pos` of the
    /// latched leaf; if the leaf is full, half-splits it and returns the
    /// split to finish in the parent.
    pub(crate) fn leaf_insert(&self, pos: usize, key: &[u8], rec: NewRec) -> Option<Split<L, N>> {
        let r = rec.publish(self.heap, ptr::null_mut());
        let e = Entry::alloc(key, r, self.heap);
        self.insert_at(pos, e, ptr::null_mut())
    }

    /// Inserts the separator of a child's split at `pos` of the latched
    /// inner node (the new child goes right of it); half-splits if full.
    pub(crate) fn inner_insert(&self, pos: usize, split: Split<L, N>) -> Option<Split<L, N>> {
        self.insert_at(pos, split.sep, split.right)
    }

    /// Shared insert/split. In a leaf `kid` is null; in an inner node it is
    /// the child that goes right of the new separator.
    fn insert_at(&self, pos: usize, e: *mut Entry, kid: *mut Node<L, N>) -> Option<Split<L, N>> {
        let node = self.node;
        let leaf = node.level == 0;
        let n = self.count_exact();
        if n < node.cap() {
            for i in (pos..n).rev() {
                node.set_slot(i + 1, node.slot_ptr(i));
            }
            node.set_slot(pos, e);
            if !leaf {
                for i in (pos + 1..n + 1).rev() {
                    node.set_kid(i + 1, node.kid_ptr(i));
                }
                node.set_kid(pos + 1, kid);
            }
            node.set_count(n + 1);
            return None;
        }
        // Full: split. `total` keys after the insert; key(i) and kid(i)
        // index the merged sequence without materialising it.
        let total = n + 1;
        let key_at = |i: usize| -> *mut Entry {
            match i.cmp(&pos) {
                core::cmp::Ordering::Less => node.slot_ptr(i),
                core::cmp::Ordering::Equal => e,
                core::cmp::Ordering::Greater => node.slot_ptr(i - 1),
            }
        };
        let kid_at = |i: usize| -> *mut Node<L, N> {
            match i.cmp(&(pos + 1)) {
                core::cmp::Ordering::Less => node.kid_ptr(i),
                core::cmp::Ordering::Equal => kid,
                core::cmp::Ordering::Greater => node.kid_ptr(i - 1),
            }
        };
        let right_ptr = Node::<L, N>::alloc(node.level, self.heap);
        // SAFETY: freshly allocated, not yet shared.
        let right = unsafe { &*right_ptr };
        let heap = self.heap;
        let (left_keys, sep_entry, left_high) = if leaf {
            // Leaf: left keeps `mid` entries; its last key is the separator
            // (copied: one copy is the left high key, one goes up).
            let mid = total / 2;
            for i in mid..total {
                right.set_slot(i - mid, key_at(i));
            }
            right.set_count(total - mid);
            // SAFETY: key_at(mid - 1) is a live entry (in the leaf, or new).
            let sep_key = unsafe { entry_key(key_at(mid - 1)) };
            let high = Entry::alloc(sep_key, ptr::null_mut(), heap);
            let sep = Entry::alloc(sep_key, ptr::null_mut(), heap);
            right.low.store(
                Entry::alloc(sep_key, ptr::null_mut(), heap),
                Ordering::Relaxed,
            );
            (mid, sep, high)
        } else {
            // Inner: `total` separators, `total + 1` kids. Left keeps kids
            // [0, m) and separators [0, m-1); separator m-1 moves up (the
            // entry itself becomes the left high key, a copy goes up).
            let m = total.div_ceil(2);
            for i in m..total {
                right.set_slot(i - m, key_at(i));
            }
            for i in m..total + 1 {
                right.set_kid(i - m, kid_at(i));
            }
            right.set_count(total - m);
            let promoted = key_at(m - 1);
            // SAFETY: a live separator entry of the latched node (or new).
            let sep_key = unsafe { entry_key(promoted) };
            let sep = Entry::alloc(sep_key, ptr::null_mut(), heap);
            // Rewrite the left kids now (before slots are shuffled).
            let mut kids_tmp = [ptr::null_mut(); N];
            for (i, k) in kids_tmp.iter_mut().enumerate().take(m) {
                *k = kid_at(i);
            }
            for (i, k) in kids_tmp.iter().enumerate().take(m) {
                node.set_kid(i, *k);
            }
            for i in m..N {
                node.set_kid(i, ptr::null_mut());
            }
            (m - 1, sep, promoted)
        };
        right
            .high
            .store(node.high.load(Ordering::Relaxed), Ordering::Relaxed);
        right
            .right
            .store(node.right.load(Ordering::Relaxed), Ordering::Relaxed);
        // Left: the first `left_keys` merged keys.
        let mut tmp = [ptr::null_mut(); N];
        for (i, t) in tmp.iter_mut().enumerate().take(left_keys) {
            *t = key_at(i);
        }
        for (i, t) in tmp.iter().enumerate().take(left_keys) {
            node.set_slot(i, *t);
        }
        for i in left_keys..N {
            node.set_slot(i, ptr::null_mut());
        }
        node.set_count(left_keys);
        // Publish the right node (fully initialised) through the B-link.
        node.right.store(right_ptr, Ordering::Release);
        node.high.store(left_high, Ordering::Release);
        Some(Split {
            sep: sep_entry,
            right: right_ptr,
        })
    }
}

/// The root pointer; owns the whole tree.
#[derive(Debug)]
pub(crate) struct Root<L: Latch, const N: usize> {
    ptr: AtomicPtr<Node<L, N>>,
    heap: Arc<Heap>,
}

impl<L: Latch, const N: usize> Root<L, N> {
    /// A tree of one empty leaf.
    pub(crate) fn new() -> Self {
        let heap = Arc::new(Heap::default());
        Root {
            ptr: AtomicPtr::new(Node::alloc(0, &heap)),
            heap,
        }
    }

    /// Builds a tree bottom-up, with full nodes, from the entries whose
    /// keys ascend strictly; an entry whose key is not above the previous
    /// one goes to `rest` (for the caller to insert afterwards). Entry `i`
    /// gets seqno `first_seqno + i`. Returns the tree and the number of
    /// entries built in.
    pub(crate) fn build<K, V>(
        entries: impl Iterator<Item = (K, V)>,
        first_seqno: u64,
        rest: &mut Vec<(K, V)>,
    ) -> (Self, usize)
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let heap = Arc::new(Heap::default());
        // Leaves, left to right; each full but the last.
        let mut level: Vec<*mut Node<L, N>> = vec![Node::alloc(0, &heap)];
        let mut n = 0usize;
        let mut prev: Option<*mut Entry> = None;
        for (key, value) in entries {
            let (k, v) = (key.as_ref(), value.as_ref());
            // SAFETY: `prev` is an entry of the tree being built, live.
            if prev.is_some_and(|p| unsafe { entry_key(p) } >= k) {
                rest.push((key, value));
                continue;
            }
            let mut leaf_ptr = *level.last().expect("one leaf at least");
            // SAFETY: nodes being built are owned by this function.
            let mut leaf = unsafe { &*leaf_ptr };
            if leaf.count.load(Ordering::Relaxed) as usize == N {
                let next = Node::<L, N>::alloc(0, &heap);
                // SAFETY: as above; `prev` is the last key of `leaf`.
                let high = Entry::alloc(
                    unsafe { entry_key(prev.expect("full leaf")) },
                    ptr::null_mut(),
                    &heap,
                );
                leaf.high.store(high, Ordering::Relaxed);
                leaf.right.store(next, Ordering::Relaxed);
                // SAFETY: as above.
                let low = Entry::alloc(
                    unsafe { entry_key(prev.expect("full leaf")) },
                    ptr::null_mut(),
                    &heap,
                );
                // SAFETY: `next` was just allocated here.
                unsafe { (*next).low.store(low, Ordering::Relaxed) };
                level.push(next);
                leaf_ptr = next;
                // SAFETY: as above.
                leaf = unsafe { &*leaf_ptr };
            }
            let mut rec = NewRec::new(Some(v));
            rec.set_seqno(first_seqno + n as u64);
            let r = rec.publish(&heap, ptr::null_mut());
            let e = Entry::alloc(k, r, &heap);
            let c = leaf.count.load(Ordering::Relaxed) as usize;
            leaf.set_slot(c, e);
            leaf.set_count(c + 1);
            prev = Some(e);
            n += 1;
        }
        // Inner levels: each parent takes up to N children; its separators
        // are copies of the children's high keys, its high key the last
        // child's (moved up by copy as well).
        let mut height = 0u8;
        while level.len() > 1 {
            height += 1;
            let mut parents: Vec<*mut Node<L, N>> = Vec::with_capacity(level.len() / N + 1);
            for group in level.chunks(N) {
                let p_ptr = Node::<L, N>::alloc(height, &heap);
                // SAFETY: owned by this function until the root is set.
                let p = unsafe { &*p_ptr };
                for (i, &kid) in group.iter().enumerate() {
                    p.set_kid(i, kid);
                    if i + 1 < group.len() {
                        // SAFETY: every child but the last of its level has
                        // a high key (set above or in the previous round).
                        let h = unsafe { entry_key((*kid).high.load(Ordering::Relaxed)) };
                        p.set_slot(i, Entry::alloc(h, ptr::null_mut(), &heap));
                    }
                }
                p.set_count(group.len() - 1);
                if let Some(&prev_parent) = parents.last() {
                    // SAFETY: as above.
                    let prev_parent = unsafe { &*prev_parent };
                    let first_kid = group[0];
                    // The previous parent ends where this group begins: at
                    // the high key of the previous group's last child (the
                    // node left of `first_kid`).
                    let last_kid =
                        prev_parent.kid_ptr(prev_parent.count.load(Ordering::Relaxed) as usize);
                    // SAFETY: a node built above, owned by this function.
                    let last_right = unsafe { (*last_kid).right.load(Ordering::Relaxed) };
                    debug_assert_eq!(last_right, first_kid);
                    // SAFETY: `last_kid` has a high key (it has a right sibling).
                    let h = unsafe { entry_key((*last_kid).high.load(Ordering::Relaxed)) };
                    prev_parent
                        .high
                        .store(Entry::alloc(h, ptr::null_mut(), &heap), Ordering::Relaxed);
                    prev_parent.right.store(p_ptr, Ordering::Relaxed);
                }
                parents.push(p_ptr);
            }
            level = parents;
        }
        let root = Root {
            ptr: AtomicPtr::new(level[0]),
            heap,
        };
        (root, n)
    }

    /// Heap accounting.
    pub(crate) fn heap(&self) -> &Arc<Heap> {
        &self.heap
    }

    /// The current root node.
    #[inline]
    pub(crate) fn load<'g>(&'g self, _guard: &'g Guard) -> &'g Node<L, N> {
        // SAFETY: the root is never null and nodes live as long as the tree
        // (invariant 2).
        unsafe { &*self.ptr.load(Ordering::Acquire) }
    }

    /// Finishes a split of the root node `left`: installs a new root above
    /// it. Fails (giving the split back) if `left` is no longer the root.
    pub(crate) fn try_grow(
        &self,
        left: &Node<L, N>,
        split: Split<L, N>,
    ) -> Result<(), Split<L, N>> {
        let left_ptr = left as *const Node<L, N> as *mut Node<L, N>;
        if self.ptr.load(Ordering::Acquire) != left_ptr {
            return Err(split);
        }
        let level = left.level.checked_add(1).expect("tree height exceeds 255");
        let root_ptr = Node::<L, N>::alloc(level, &self.heap);
        // SAFETY: freshly allocated, not yet shared.
        let root = unsafe { &*root_ptr };
        root.set_slot(0, split.sep);
        root.set_kid(0, left_ptr);
        root.set_kid(1, split.right);
        root.set_count(1);
        match self
            .ptr
            .compare_exchange(left_ptr, root_ptr, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: the node was never published; it owns nothing
                // (the separator goes back to the split).
                drop(unsafe { Box::from_raw(root_ptr) });
                self.heap.sub(core::mem::size_of::<Node<L, N>>());
                Err(split)
            }
        }
    }
}

impl<L: Latch, const N: usize> Drop for Root<L, N> {
    fn drop(&mut self) {
        // `&mut self`: no reader or writer is left. Walk each level from
        // its leftmost node along the right-links, freeing every node and
        // the keys it owns.
        let mut leftmost = self.ptr.load(Ordering::Relaxed);
        while !leftmost.is_null() {
            // SAFETY: nodes are live until freed here, once each.
            let first = unsafe { &*leftmost };
            let next_level = if first.level == 0 {
                ptr::null_mut()
            } else {
                first.kid_ptr(0)
            };
            let mut p = leftmost;
            while !p.is_null() {
                // SAFETY: every node is reachable once along its level's
                // right-links and freed once.
                let node = unsafe { Box::from_raw(p) };
                let mut freed = core::mem::size_of::<Node<L, N>>();
                let n = node.count.load(Ordering::Relaxed) as usize;
                for i in 0..n.min(N) {
                    let e = node.slot_ptr(i);
                    if !e.is_null() {
                        // SAFETY: each slot entry is owned by its node alone.
                        freed += unsafe { free_entry(e) };
                    }
                }
                for fence in [&node.high, &node.low] {
                    let h = fence.load(Ordering::Relaxed);
                    if !h.is_null() {
                        // SAFETY: a fence key is owned by its node alone.
                        freed += unsafe { free_entry(h) };
                    }
                }
                self.heap.sub(freed);
                p = node.right.load(Ordering::Relaxed);
            }
            leftmost = next_level;
        }
        #[cfg(loom)]
        {
            let limbo =
                core::mem::take(&mut *self.heap.limbo.lock().unwrap_or_else(|e| e.into_inner()));
            for g in limbo {
                // SAFETY: retired objects are unreachable and in the limbo
                // once; no thread is left to read them.
                let b = unsafe { (g.1)(g.0) };
                self.heap.sub(b);
                self.heap.pending.fetch_sub(1, StdOrdering::Relaxed);
            }
        }
    }
}
