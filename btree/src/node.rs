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
//!   null for the rightmost node of a level (+∞), with its head and length
//!   class copied into `high_head`/`high_meta` so that moving right is
//!   decided inside the node; `right`: the right sibling (B-link); `low`
//!   (leaves only): the low fence key, the exclusive lower bound, which
//!   lets reverse iteration find the previous leaf by descending to it;
//! - `plen`, `pfx`: the node's prefix ([`Prefix`]), which every key of its
//!   range starts with (at most what its fences share), stored once: its
//!   length and first 8 bytes;
//! - `heads[i]`: the 8 bytes of key `i` after the node's prefix,
//!   big-endian, zero-padded; with the key length class in `meta[i]`, it
//!   orders any key of at most 8 bytes completely (all keys of the node
//!   share the prefix), so such keys live in the slot (rebuilt from `pfx`
//!   and the head) and comparisons with them never leave the node; the
//!   high key's head `high_head` is of the whole key;
//! - `meta[i]`: the key length if at most 8 bytes, else [`KLEN_LONG`];
//!   in a leaf also whether the value is inline ([`CHAIN`] clear) and its
//!   length;
//! - `words[i]`, in a leaf, the value of key `i`, one of:
//!   - *inline* (key of at most 8 bytes, value of at most 8 bytes, no
//!     older version any snapshot needs): the value bytes themselves, as
//!     a pointer-sized integer (no provenance);
//!   - *chain* (key of at most 8 bytes): the newest [`Record`] of the key's
//!     version chain (seqno, value bytes, older version), out of line;
//!   - *long key*: an out-of-line, immutable [`Entry`] (the key bytes)
//!     which anchors the key's version chain;
//!
//!   in an inner node, `words[i]` is child `i`, which holds the keys in
//!   `(sep[i-1], sep[i]]`, and separator `i`'s bytes are an [`Entry`] in
//!   the node's `ext` array (read only when heads tie on long keys).
//!
//! Every field read by optimistic readers is an atomic, so a reader that
//! races a writer reads stale or mixed values but never undefined
//! behaviour; every count is clamped to the node capacity before it is
//! used as an index; and a word is interpreted (as inline bytes or as a
//! pointer to follow) only after the read of the node has been validated,
//! so a torn `(meta, word)` pair is never dereferenced.
//!
//! An inline value carries no seqno: a write stores inline only if no
//! live snapshot is older than it and any snapshot taken later pins a
//! seqno at or above it (see `ordex_core::mvcc::Clock::take`), so every reader may see
//! it. When a snapshot needs an older version kept, the inline value
//! moves into a chain record with seqno 0 (visible to every snapshot) and
//! the new version is pushed on top; a sweep (or a later write) folds the
//! chain back inline when no snapshot needs it.
//!
//! # Memory invariants (what makes the safe accessors sound)
//!
//! 1. Every pointer ever stored in a node field (other than an inline
//!    value word) points to an object allocated here and fully
//!    initialised before the (Release) store that published it; readers
//!    load with Acquire.
//! 2. A node is freed when the tree is dropped (which needs `&mut`
//!    access), or, for an empty leaf unlinked by
//!    [`Locked::unlink_right_leaf`], through crossbeam-epoch after it was
//!    marked obsolete: a `&Node` obtained under a guard stays valid while
//!    the guard lives, and a reader that reaches an obsolete node restarts.
//! 3. An [`Entry`] or a run of [`Record`]s is retired only after a writer
//!    holding the owning leaf's latch has made it unreachable from every
//!    node and chain, and it is freed through crossbeam-epoch only once
//!    every guard pinned before the retirement is gone. A pointer read in
//!    a validated read of a node, under a guard, therefore stays
//!    dereferenceable while the guard lives.
//! 4. Entries and records are immutable once published, except the atomic
//!    links (`Entry::versions`, `Record::older`), which change only under the
//!    owning leaf's latch.
//!
//! Outside this module, entries and records are reached only through the
//! guard-bound handles [`EntryRef`] and [`RecordRef`] (raw pointers inside, so
//! the trailing bytes keep the allocation's provenance), and slots only
//! through [`LeafSlot`]s, which only this module creates, from validated
//! reads under a guard.
//!
//! Under `cfg(loom)` retired objects go to a limbo list freed with the tree
//! instead of to crossbeam-epoch (whose collector runs outside the model).

use crate::bytes::Bytes;
use crate::latch::Latch;
use crossbeam_epoch::Guard;
use ordex_core::olc::Restart;
use ordex_core::reclaim::{retire, Account};
use ordex_core::sync::{AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::slice;
use std::sync::Arc;

/// The 8-byte big-endian key head: the first eight bytes, zero-padded.
///
/// If the heads of two keys differ, they order the keys exactly as memcmp
/// does; if they are equal and one key has at most 8 bytes, the shorter
/// key is the smaller (it is a prefix of the other); otherwise the full
/// keys decide.
#[inline]
pub(crate) fn head_of(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

/// The longest prefix a node records (prefix lengths are any common
/// prefix of the node's range, so a longer shared prefix is just cut).
/// One byte keeps the node header (latch, level, prefix length, length
/// class and count, then seven words) within 64 bytes: a descent reads
/// the level, count and prefix of every node, and a header that spilled
/// into another cache line cost a miss per level.
const PFX_MAX: usize = u8::MAX as usize;

/// `x` shifted left by `n` bytes (0 from 8 on).
#[inline]
fn shl_bytes(x: u64, n: usize) -> u64 {
    if n >= 8 {
        0
    } else {
        x << (8 * n)
    }
}

/// `x` shifted right by `n` bytes (0 from 8 on).
#[inline]
fn shr_bytes(x: u64, n: usize) -> u64 {
    if n >= 8 {
        0
    } else {
        x >> (8 * n)
    }
}

/// The length of the longest common prefix of `a` and `b`.
fn lcp(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = (
            u64::from_be_bytes(a[i..i + 8].try_into().expect("8 bytes")),
            u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes")),
        );
        if x != y {
            return i + (x ^ y).leading_zeros() as usize / 8;
        }
        i += 8;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// A node's prefix (prefix truncation): every key the node may hold (its
/// range, between its fences) starts with the same `len` bytes, stored
/// once for the node; slot heads hold the 8 bytes after them. `head` is
/// the prefix's first (at most) 8 bytes, big-endian, zero-padded, which
/// is all it takes to rebuild a key of at most 8 bytes from its slot and
/// to check that a search key starts with the prefix; the rest of it is
/// in the fence keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Prefix {
    pub(crate) len: usize,
    head: u64,
}

impl Prefix {
    /// No prefix.
    pub(crate) const NONE: Prefix = Prefix { len: 0, head: 0 };

    /// The first `len` bytes of `key` (`len <= key.len()`).
    fn of(key: &[u8], len: usize) -> Prefix {
        let len = len.min(key.len()).min(PFX_MAX);
        Prefix {
            len,
            head: head_of(&key[..len.min(8)]),
        }
    }

    /// The prefix of the range `(low, high]` (None: -∞ or +∞): every key
    /// strictly above `low` and at most `high` starts with what the two
    /// share.
    fn of_range(low: Option<&[u8]>, high: Option<&[u8]>) -> Prefix {
        match (low, high) {
            (Some(l), Some(h)) => Prefix::of(h, lcp(l, h)),
            _ => Prefix::NONE,
        }
    }

    /// This prefix cut to `len` bytes.
    fn cut(self, len: usize) -> Prefix {
        if len >= self.len {
            return self;
        }
        Prefix {
            len,
            head: self.head & !shr_bytes(u64::MAX, len),
        }
    }

    /// The head of `key` (which starts with the prefix) in a node with
    /// this prefix: the 8 bytes after the prefix.
    #[inline]
    fn rel(self, key: &[u8]) -> u64 {
        match key.get(self.len..self.len + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            None => head_of(key.get(self.len..).unwrap_or(&[])),
        }
    }

    /// The head of a search key in a node with this prefix, from its
    /// whole-key head when the key has at most 8 bytes.
    #[inline]
    fn rel_sk(self, sk: SearchKey<'_>) -> u64 {
        if self.len == 0 {
            sk.head
        } else if sk.key.len() <= 8 {
            shl_bytes(sk.head, self.len)
        } else {
            self.rel(sk.key)
        }
    }

    /// The whole-key head of a key of at most 8 bytes from its slot head.
    #[inline]
    fn abs_short(self, rel: u64) -> u64 {
        self.head | shr_bytes(rel, self.len)
    }

    /// How a search key compares with the prefix, as far as its first 8
    /// bytes tell: `Less` or `Greater` if the key is below or above every
    /// key that starts with the prefix, `Equal` if it may start with it
    /// (it does if the prefix has at most 8 bytes).
    #[inline]
    fn order(self, sk: SearchKey<'_>) -> core::cmp::Ordering {
        if self.len == 0 {
            return core::cmp::Ordering::Equal;
        }
        let mask = !shr_bytes(u64::MAX, self.len);
        match (sk.head & mask).cmp(&self.head) {
            core::cmp::Ordering::Equal if sk.key.len() < self.len.min(8) => {
                core::cmp::Ordering::Less
            }
            o => o,
        }
    }
}

/// One immutable version of a key: this header, then the value bytes, in
/// an allocation of its own, or (`embedded`) inside the allocation of a
/// long key's [`Entry`], as the key's first version, so that a get or a
/// scan of a key that was written once takes one miss for key and value.
/// An embedded record is freed with its entry, never on its own. Handled
/// through [`RecordRef`] outside this module.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Record {
    seqno: u64,
    older: AtomicPtr<Record>,
    len: usize,
    tomb: bool,
    embedded: bool,
}

const RECORD_HEADER: usize = core::mem::size_of::<Record>();
const ENTRY_HDR: usize = core::mem::size_of::<Entry>();

fn rec_layout(len: usize) -> Layout {
    Layout::from_size_align(RECORD_HEADER + len, core::mem::align_of::<Record>())
        .expect("value too large for an allocation")
}

/// The layout of an entry with a key of `len` bytes and, if `value` is
/// `Some(n)`, an embedded record of `n` value bytes; and the offset of
/// that record.
fn entry_layout(len: usize, value: Option<usize>) -> (Layout, usize) {
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
unsafe fn rec_value<'a>(p: *const Record) -> Option<&'a [u8]> {
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
unsafe fn entry_key<'a>(p: *const Entry) -> &'a [u8] {
    // SAFETY: as for `rec_value`: immutable header, then the key bytes.
    unsafe { slice::from_raw_parts(p.cast::<u8>().add(ENTRY_HDR), (*p).len) }
}

/// A version record borrowed under an epoch guard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'g> {
    p: NonNull<Record>,
    _guard: PhantomData<&'g Guard>,
}

impl<'g> RecordRef<'g> {
    /// Module invariants 1 and 3: a non-null pointer loaded while a guard
    /// for `'g` is pinned names a record live for `'g`.
    fn new(p: *mut Record) -> Option<Self> {
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
    fn is_tomb(self) -> bool {
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

/// A version record not yet published (owned).
#[derive(Debug)]
pub(crate) struct NewRecord(NonNull<Record>);

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

    fn publish(self, heap: &Account, older: *mut Record) -> *mut Record {
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

// SAFETY: a `NewRecord` owns its allocation exclusively.
unsafe impl Send for NewRecord {}

/// Frees one record (an embedded one stays, for its entry to free);
/// returns its bytes.
///
/// # Safety
/// `p` is a record allocated by [`NewRecord::new`] or embedded in an entry,
/// unreachable, freed once.
unsafe fn free_rec(p: *mut Record) -> usize {
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

/// A key, stored out of line and immutable, in one allocation (this
/// header, then the key bytes); in a leaf it also anchors the key's
/// version chain (newest first). Handled through [`EntryRef`] outside this
/// module.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Entry {
    versions: AtomicPtr<Record>,
    len: usize,
    /// The allocation's size (with an embedded record, if any).
    size: usize,
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

    /// The key bytes.
    #[inline]
    pub(crate) fn key(self) -> &'g [u8] {
        // SAFETY: `self` names an entry live for `'g` (see `new`).
        unsafe { entry_key(self.p.as_ptr()) }
    }
}

impl Entry {
    /// A key with no versions (a fence or separator copy).
    fn alloc(key: &[u8], heap: &Account) -> *mut Entry {
        Self::alloc_with(key, None, heap)
    }

    /// A key, and if `first` is `Some((value, seqno))`, its first version
    /// embedded in the same allocation and linked as the newest.
    fn alloc_with(key: &[u8], first: Option<(&[u8], u64)>, heap: &Account) -> *mut Entry {
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
unsafe fn free_chain(mut r: *mut Record) -> usize {
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
unsafe fn retire_chain(r: *mut Record, guard: &Guard, heap: &Arc<Account>) {
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
unsafe fn retire_entry(e: *mut Entry, guard: &Guard, heap: &Arc<Account>) {
    /// # Safety
    /// As for [`free_entry`].
    unsafe fn free(p: *mut u8) -> usize {
        // SAFETY: `p` is the `*mut Entry` that `retire_entry` was given.
        unsafe { free_entry(p.cast::<Entry>()) }
    }
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(e.cast::<u8>(), free, guard, heap) }
}

/// Frees an unlinked node, its low fence key and (inner nodes) its
/// separator array; returns the bytes freed.
///
/// # Safety
/// `p` is a `Node<L, N>` allocated by [`Node::alloc`], unreachable from the
/// tree, owning no slot contents, separators or high key (moved or
/// nulled), freed once.
unsafe fn free_node<L: Latch, const N: usize>(p: *mut u8) -> usize {
    // SAFETY: the caller's contract.
    let node = unsafe { Box::from_raw(p.cast::<Node<L, N>>()) };
    let low = node.low.load(Ordering::Relaxed);
    let mut bytes = Node::<L, N>::bytes(node.level);
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
    heap: &Arc<Account>,
) {
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(p.cast::<u8>(), free_node::<L, N>, guard, heap) }
}

/// `meta` bits 0..4: the key length if at most 8 bytes, else this.
pub(crate) const KLEN_LONG: u16 = 0xF;
const KLEN_MASK: u16 = 0xF;
/// `meta` bit 4 (leaves, keys of at most 8 bytes): the word is a chain.
const CHAIN: u16 = 0x10;
/// `meta` bits 8..12 (leaves, inline values): the value length.
const VLEN_SHIFT: u16 = 8;
/// The longest value stored inline: one pointer-sized word.
const INLINE_MAX: usize = core::mem::size_of::<usize>();
const _: () = assert!(INLINE_MAX <= 8, "inline values fit in a Bytes copy");

/// A search key with its head computed once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchKey<'k> {
    pub(crate) key: &'k [u8],
    pub(crate) head: u64,
}

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
fn klen_meta(key: &[u8]) -> u16 {
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
fn tie_order(meta: u16, sk: SearchKey<'_>) -> Option<core::cmp::Ordering> {
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
fn short_key<'g>(head: u64, meta: u16) -> Bytes<'g> {
    Bytes::inline(head.to_be_bytes(), usize::from(meta & KLEN_MASK))
}

/// Packs a value of at most [`INLINE_MAX`] bytes into a word.
fn pack(value: &[u8]) -> *mut u8 {
    let mut b = [0u8; INLINE_MAX];
    b[..value.len()].copy_from_slice(value);
    ptr::without_provenance_mut(usize::from_le_bytes(b))
}

/// Unpacks an inline value word.
#[inline]
fn unpack<'g>(word: *mut u8, meta: u16) -> Bytes<'g> {
    let mut b = [0u8; 8];
    b[..INLINE_MAX].copy_from_slice(&word.addr().to_le_bytes());
    Bytes::inline(b, usize::from((meta >> VLEN_SHIFT) & 0xF))
}

/// The raw contents of a slot, loaded without interpretation.
#[derive(Debug, Clone, Copy)]
struct RawSlot {
    head: u64,
    meta: u16,
    word: *mut u8,
}

impl RawSlot {
    const EMPTY: RawSlot = RawSlot {
        head: 0,
        meta: 0,
        word: ptr::null_mut(),
    };

    fn is_long(self) -> bool {
        self.meta & KLEN_MASK == KLEN_LONG
    }

    fn is_chain(self) -> bool {
        !self.is_long() && self.meta & CHAIN != 0
    }

    fn is_inline(self) -> bool {
        !self.is_long() && self.meta & CHAIN == 0
    }

    /// An inline value, to be given a key with [`RawSlot::with_key`].
    fn inline(value: &[u8]) -> RawSlot {
        RawSlot {
            head: 0,
            meta: (value.len() as u16) << VLEN_SHIFT,
            word: pack(value),
        }
    }

    /// The key part of a slot for `key` in a node with prefix `pfx`.
    fn key(pfx: Prefix, key: &[u8]) -> RawSlot {
        RawSlot {
            head: pfx.rel(key),
            meta: klen_meta(key),
            word: ptr::null_mut(),
        }
    }

    /// This slot with its head made whole-key (for a key of at most 8
    /// bytes, rebuilt with the node's prefix `pfx`), as readers use it.
    #[inline]
    fn absolute(self, pfx: Prefix) -> RawSlot {
        if self.is_long() {
            return self;
        }
        RawSlot {
            head: pfx.abs_short(self.head),
            ..self
        }
    }
}

/// The head of a slot (`head`, `meta`; `e`, the key's entry if it is
/// long) in a node with prefix `from`, re-encoded for prefix `to` (which
/// the key also starts with).
///
/// # Safety
/// If the key is long, `e` is a live entry (one a latched or owned node
/// holds).
unsafe fn rehead(head: u64, meta: u16, e: *const Entry, from: Prefix, to: Prefix) -> u64 {
    if from == to {
        head
    } else if meta & KLEN_MASK != KLEN_LONG {
        shl_bytes(from.abs_short(head), to.len)
    } else {
        // SAFETY: the caller's contract.
        to.rel(unsafe { entry_key(e) })
    }
}

/// The value of a leaf slot as of a validated read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SlotValue<'g> {
    /// An inline value: visible to every reader and snapshot.
    Inline(Bytes<'g>),
    /// The newest record of the key's version chain.
    Chain(RecordRef<'g>),
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

/// A leaf slot copied in a validated read (by [`Node::copy_leaf`]), not
/// yet interpreted; only this module creates one, so its pointers are
/// known to be live for `'g`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Copied<'g> {
    raw: RawSlot,
    versions: *mut Record,
    _guard: PhantomData<&'g Guard>,
}

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

/// A leaf entry as of a validated read, resolved for one reader: its key
/// and its value at the reader's seqno (keys without a value there are
/// left out of the copy).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'g> {
    pub(crate) key: Bytes<'g>,
    pub(crate) val: Bytes<'g>,
    /// Items are made only in this module (by `copy_leaf`), so that
    /// [`value_seqno`](Self::value_seqno) may rely on where `val` points.
    made_here: (),
}

impl Item<'_> {
    /// The seqno of the version `val` belongs to: 0 for an inline value
    /// (which carries none: it was written below every snapshot, see the
    /// module's notes).
    pub(crate) fn value_seqno(&self) -> u64 {
        let () = self.made_here;
        match self.val.borrowed_ptr() {
            None => 0,
            // SAFETY: an item's value is inline or comes from
            // `RecordRef::value` (the two places `copy_leaf` makes items):
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
const MASK_WORDS: usize = 1024 / 64;

/// A buffer slot: the raw copy while the read is unvalidated, the
/// resolved entry once it is (below `len`, always the latter).
#[derive(Clone, Copy)]
union Slot<'g> {
    copied: Copied<'g>,
    item: Item<'g>,
}

/// A buffer of copied leaf entries (uninitialised beyond `len`, so a scan
/// does not clear a whole leaf's worth of memory before it starts).
pub(crate) struct LeafBuf<'g, const N: usize> {
    slots: [MaybeUninit<Slot<'g>>; N],
    len: usize,
}

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

/// What [`Node::copy_leaf`] read besides the slots.
#[derive(Debug)]
pub(crate) struct LeafCopy<'g, L: Latch, const N: usize> {
    /// Slots copied.
    pub(crate) len: usize,
    /// The high key (None: +∞); its bytes are another cache line, read
    /// only if needed.
    pub(crate) high: Option<EntryRef<'g>>,
    /// The low fence key (None: -∞), likewise.
    pub(crate) low: Option<EntryRef<'g>>,
    /// The right sibling.
    pub(crate) right: Option<&'g Node<L, N>>,
}

/// A leaf slot as of a validated read: its key and value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeafSlot<'g> {
    pub(crate) key: Bytes<'g>,
    pub(crate) val: SlotValue<'g>,
}

/// A B-link tree node of `N` slots. See the module docs for the layout.
#[derive(Debug)]
pub(crate) struct Node<L: Latch, const N: usize> {
    latch: L,
    level: u8,
    /// Leaves only: inserts in a row each right after the one before
    /// (positive) or each right before it (negative), as an `i8`: a
    /// split follows such a run (see [`split_point`]). Read and written
    /// only under the latch, as is `last`.
    run: AtomicU8,
    /// Leaves only: the slot of the last insert.
    last: AtomicU16,
    count: AtomicU32,
    high_meta: AtomicU16,
    /// The node's prefix ([`Prefix`]): its length and first 8 bytes. Changed
    /// only under the latch, with every head re-encoded in the same
    /// critical section (see [`Locked::set_prefix`]).
    plen: AtomicU8,
    pfx: AtomicU64,
    high_head: AtomicU64,
    high: AtomicPtr<Entry>,
    /// Leaves only: the low fence key (exclusive lower bound; null: -∞).
    /// Immutable once the leaf is published (an unlink changes the left
    /// sibling's high key, never a low key).
    low: AtomicPtr<Entry>,
    right: AtomicPtr<Node<L, N>>,
    /// Inner nodes only: the separator entries (immutable box).
    ext: Option<Box<[AtomicPtr<Entry>; N]>>,
    heads: [AtomicU64; N],
    meta: [AtomicU16; N],
    words: [AtomicPtr<u8>; N],
}

/// Inserts in a row (each next to the one before) after which a leaf's
/// split follows them (see [`split_point`]).
const EDGE_RUN: i8 = 4;

/// Where a full leaf of `total` entries (the new one included, at
/// `pos`) splits: the left leaf keeps the first `mid`, each side at least
/// one. Half and half, unless the leaf's inserts came in a run (ascending
/// or descending keys, a key range's next ids): then it splits right
/// after the new entry when they ascend (the left leaf, which the run
/// filled, stays full, and the run goes on at the new entry), right
/// before it when they descend, so that loads in order fill leaves
/// instead of leaving them half full (as InnoDB splits a page at its
/// insert point when its inserts are sequential).
fn split_point(run: i8, pos: usize, total: usize) -> usize {
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

/// An inner node's separator slot as stored: moving one copies these
/// three words instead of reading the entry's key again (a miss per
/// separator moved).
#[derive(Debug, Clone, Copy)]
struct Separator {
    head: u64,
    meta: u16,
    e: *mut Entry,
}

impl Separator {
    const NONE: Separator = Separator {
        head: 0,
        meta: 0,
        e: ptr::null_mut(),
    };

    /// The slot for entry `e` (null: an empty slot), from its key, in a
    /// node with prefix `pfx`.
    fn of(e: *mut Entry, pfx: Prefix) -> Separator {
        if e.is_null() {
            return Separator::NONE;
        }
        // SAFETY: a non-null `e` is an entry this thread owns or that the
        // latched node holds (invariant 1).
        let k = unsafe { entry_key(e) };
        Separator {
            head: pfx.rel(k),
            meta: klen_meta(k),
            e,
        }
    }

    /// This separator moved from a node with prefix `from` to one with
    /// prefix `to`.
    fn moved(self, from: Prefix, to: Prefix) -> Separator {
        Separator {
            // SAFETY: a separator's entry is live while a latched or owned
            // node holds it (invariant 1).
            head: unsafe { rehead(self.head, self.meta, self.e, from, to) },
            ..self
        }
    }
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

    /// Account bytes of a node of `level`.
    fn bytes(level: u8) -> usize {
        core::mem::size_of::<Node<L, N>>()
            + if level == 0 {
                0
            } else {
                core::mem::size_of::<[AtomicPtr<Entry>; N]>()
            }
    }

    fn alloc(level: u8, heap: &Account) -> *mut Node<L, N> {
        let () = Self::OK;
        heap.add(Self::bytes(level));
        Box::into_raw(Box::new(Node {
            latch: L::new(),
            level,
            run: AtomicU8::new(0),
            last: AtomicU16::new(0),
            count: AtomicU32::new(0),
            high_meta: AtomicU16::new(0),
            plen: AtomicU8::new(0),
            pfx: AtomicU64::new(0),
            high_head: AtomicU64::new(0),
            high: AtomicPtr::new(ptr::null_mut()),
            low: AtomicPtr::new(ptr::null_mut()),
            right: AtomicPtr::new(ptr::null_mut()),
            ext: (level > 0)
                .then(|| Box::new(core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())))),
            heads: core::array::from_fn(|_| AtomicU64::new(0)),
            meta: core::array::from_fn(|_| AtomicU16::new(0)),
            words: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }))
    }

    /// 0 for a leaf.
    #[inline]
    pub(crate) fn level(&self) -> u8 {
        self.level
    }

    /// Notes an insert at slot `pos` (under the latch) and returns the
    /// run it extends: an insert right after the last one (ascending keys,
    /// into a node's end or into a key range's end inside it) counts up,
    /// one right before it (at the same slot: descending keys) counts
    /// down, any other resets it.
    fn note_insert(&self, pos: usize) -> i8 {
        let run = self.run.load(Ordering::Relaxed) as i8;
        let last = usize::from(self.last.load(Ordering::Relaxed));
        let next = if pos == last + 1 {
            run.max(0).saturating_add(1)
        } else if pos == last {
            run.min(0).saturating_sub(1)
        } else {
            0
        };
        self.set_run(next, pos);
        next
    }

    /// Sets the node's run and the slot of its last insert (see
    /// [`note_insert`](Self::note_insert)).
    fn set_run(&self, run: i8, last: usize) {
        self.run.store(run as u8, Ordering::Relaxed);
        self.last.store(last as u16, Ordering::Relaxed);
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

    /// The node's prefix, as loaded (racy under an optimistic read, so
    /// only meaningful once the read validates; every use is bounded).
    #[inline]
    pub(crate) fn prefix(&self) -> Prefix {
        Prefix {
            len: usize::from(self.plen.load(Ordering::Relaxed)),
            head: self.pfx.load(Ordering::Relaxed),
        }
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

    #[inline]
    fn raw(&self, i: usize) -> RawSlot {
        RawSlot {
            head: self.heads[i].load(Ordering::Relaxed),
            meta: self.meta[i].load(Ordering::Relaxed),
            word: self.words[i].load(Ordering::Acquire),
        }
    }

    /// Slot `pos` of this leaf under the read `v`, validated.
    #[inline]
    pub(crate) fn leaf_slot<'g>(
        &'g self,
        pos: usize,
        v: &Reading<'_, L>,
        _guard: &'g Guard,
    ) -> Result<LeafSlot<'g>, Restart> {
        if pos >= N {
            return Err(Restart);
        }
        let raw = self.raw(pos).absolute(self.prefix());
        self.check(v)?;
        let mut versions = ptr::null_mut();
        if !raw.is_inline() && raw.word.is_null() {
            return Err(Restart);
        }
        if raw.is_long() {
            // SAFETY: validated long-key word: a live entry (invariants 1
            // and 3; the guard is pinned for `'g`).
            versions = unsafe { &*raw.word.cast::<Entry>() }
                .versions
                .load(Ordering::Acquire);
            self.check(v)?;
            if versions.is_null() {
                return Err(Restart);
            }
        }
        // SAFETY: loaded from this leaf under `v`, validated after the
        // loads, with the guard pinned; pointers checked non-null.
        Ok(unsafe { resolve(raw, versions) })
    }

    /// Copies slots `from..to` of this leaf into `out[..to - from]`
    /// (clamped to the count), with the fence keys and right-link, all as
    /// of one validated read `v`, each entry resolved to its value at
    /// `at` (None: the newest). Every out-of-line entry, then every
    /// newest record, is prefetched before any is used, so their misses
    /// overlap.
    pub(crate) fn copy_leaf<'g>(
        &'g self,
        from: usize,
        to: usize,
        v: &Reading<'_, L>,
        at: Option<u64>,
        guard: &'g Guard,
        out: &mut LeafBuf<'g, N>,
    ) -> Result<LeafCopy<'g, L, N>, Restart> {
        let to = to.min(self.count());
        let from = from.min(to);
        let mut len = to - from;
        // Start every line of the three slot arrays in range, and the
        // right sibling's header (a scan usually goes on there), at once.
        for i in (from..to).step_by(8) {
            ordex_core::sync::prefetch(&self.heads[i]);
            ordex_core::sync::prefetch(&self.words[i]);
        }
        for i in (from..to).step_by(32) {
            ordex_core::sync::prefetch(&self.meta[i]);
        }
        // The right sibling, whole: a scan usually goes on there, and its
        // misses then overlap with the work on this leaf.
        let right = self.right.load(Ordering::Relaxed);
        if !right.is_null() {
            let bytes = core::mem::size_of::<Node<L, N>>();
            for off in (0..bytes).step_by(64) {
                ordex_core::sync::prefetch(right.cast::<u8>().wrapping_add(off).cast_const());
            }
        }
        // One pass over the slots: an inline slot (key and value in the
        // slot) becomes its item at once, which is arithmetic on the
        // loaded words, harmless if the read turns out torn; any other
        // slot is kept raw, marked in `outside`, and resolved only after
        // validation, since its word is then a pointer.
        out.len = 0;
        let pfx = self.prefix();
        let mut outside = [0u64; MASK_WORDS];
        let mut any = 0u64;
        let slots = &mut out.slots[..len];
        let cells = self.heads[from..to]
            .iter()
            .zip(&self.meta[from..to])
            .zip(&self.words[from..to]);
        for (i, (c, ((head, meta), word))) in slots.iter_mut().zip(cells).enumerate() {
            let raw = RawSlot {
                head: head.load(Ordering::Relaxed),
                meta: meta.load(Ordering::Relaxed),
                word: word.load(Ordering::Acquire),
            };
            // Inline: a short key (length class at most 8) and no chain
            // bit, tested at once.
            if raw.meta & (KLEN_MASK | CHAIN) <= 8 {
                c.write(Slot {
                    item: Item {
                        key: Bytes::inline(
                            pfx.abs_short(raw.head).to_be_bytes(),
                            usize::from(raw.meta & 0xF),
                        ),
                        val: unpack(raw.word, raw.meta),
                        made_here: (),
                    },
                });
            } else {
                outside[i / 64] |= 1 << (i % 64);
                any = 1;
                c.write(Slot {
                    copied: Copied {
                        raw: raw.absolute(pfx),
                        versions: ptr::null_mut(),
                        _guard: PhantomData,
                    },
                });
            }
        }
        let high = self.high(guard);
        let low = self.low(guard);
        let right = self.right(guard);
        self.check(v)?;
        if any != 0 {
            let raw_slots = || {
                outside.iter().enumerate().flat_map(|(w, &m)| {
                    (0..64)
                        .filter(move |b| m & (1 << b) != 0)
                        .map(move |b| w * 64 + b)
                })
            };
            let mut longs = false;
            for i in raw_slots() {
                // SAFETY: slot `i` was written as `copied` above (its
                // bit is set).
                let c = unsafe { slots[i].assume_init().copied };
                if c.raw.word.is_null() {
                    return Err(Restart);
                }
                ordex_core::sync::prefetch(c.raw.word.cast_const());
                longs |= c.raw.is_long();
            }
            if longs {
                for i in raw_slots() {
                    // SAFETY: as above.
                    let mut cp = unsafe { slots[i].assume_init().copied };
                    if cp.raw.is_long() {
                        // SAFETY: a validated long-key word is a live entry
                        // (invariants 1 and 3; the guard is pinned for 'g).
                        cp.versions = unsafe { &*cp.raw.word.cast::<Entry>() }
                            .versions
                            .load(Ordering::Acquire);
                        if cp.versions.is_null() {
                            return Err(Restart);
                        }
                        ordex_core::sync::prefetch(cp.versions.cast_const());
                        slots[i].write(Slot { copied: cp });
                    }
                }
                self.check(v)?;
            }
            // Validated: resolve the raw slots for the reader's seqno;
            // drop the keys without a value there (tombstones, or newer
            // than a snapshot), keeping the rest in order.
            let mut kept = 0;
            let mut next = 0;
            for i in raw_slots() {
                // SAFETY: as above; slot `i` is read once, then a slot at
                // or below it is overwritten with an item.
                let cp = unsafe { slots[i].assume_init().copied };
                let LeafSlot { key, val } = cp.resolve();
                let val = match at {
                    None => val.now(),
                    Some(s) => val.at(s),
                };
                // The inline items between the previous raw slot and
                // this one shift down over the dropped ones.
                if kept != next {
                    slots.copy_within(next..i, kept);
                }
                kept += i - next;
                next = i + 1;
                if let Some(val) = val {
                    slots[kept].write(Slot {
                        item: Item {
                            key,
                            val,
                            made_here: (),
                        },
                    });
                    kept += 1;
                }
            }
            if kept != next {
                slots.copy_within(next..len, kept);
            }
            len = kept + (len - next);
        }
        let buf = out;
        // Only a validated copy becomes readable.
        buf.len = len;
        Ok(LeafCopy {
            len,
            high,
            low,
            right,
        })
    }

    /// The key of slot `i` (leaf entry or inner separator) under the read
    /// `v`, validated.
    pub(crate) fn key_at<'g>(
        &'g self,
        i: usize,
        v: &Reading<'_, L>,
        _guard: &'g Guard,
    ) -> Result<Bytes<'g>, Restart> {
        if i >= N {
            return Err(Restart);
        }
        let raw = self.raw(i).absolute(self.prefix());
        let sep = self.ext.as_ref().map(|x| x[i].load(Ordering::Acquire));
        self.check(v)?;
        if !raw.is_long() {
            return Ok(short_key(raw.head, raw.meta));
        }
        let p = sep.unwrap_or(raw.word.cast::<Entry>());
        // Invariants 1 and 3: a validated entry pointer is live.
        Ok(Bytes::borrowed(EntryRef::new(p).ok_or(Restart)?.key()))
    }

    /// Whether `sk` is within this node's range (at or below its high
    /// key), under the read `v`; decided by the high key's head when it
    /// can be, else validated before the high key is dereferenced.
    #[inline]
    pub(crate) fn covers(
        &self,
        sk: SearchKey<'_>,
        v: &Reading<'_, L>,
        guard: &Guard,
    ) -> Result<bool, Restart> {
        let h = self.high.load(Ordering::Acquire);
        if h.is_null() {
            return Ok(true);
        }
        let head = self.high_head.load(Ordering::Relaxed);
        if head != sk.head {
            return Ok(sk.head < head);
        }
        let ord = match tie_order(self.high_meta.load(Ordering::Relaxed), sk) {
            Some(o) => o,
            None => {
                self.check(v)?;
                let high = self.high(guard).ok_or(Restart)?;
                high.key().cmp(sk.key)
            }
        };
        Ok(ord != core::cmp::Ordering::Less)
    }

    /// The high key; None means +∞ (or, in a racy read, a torn state that
    /// validation catches).
    #[inline]
    pub(crate) fn high<'g>(&'g self, _guard: &'g Guard) -> Option<EntryRef<'g>> {
        // Invariants 1 and 3: a high key replaced by an unlink is retired
        // through the epoch; otherwise it is freed with the tree.
        EntryRef::new(self.high.load(Ordering::Acquire))
    }

    /// Whether the node has a high key (is not the last of its level).
    #[inline]
    pub(crate) fn has_high(&self) -> bool {
        !self.high.load(Ordering::Acquire).is_null()
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
        // SAFETY: module invariant 2: nodes live as long as the tree, or
        // (unlinked leaves) while a guard pinned before their retirement.
        unsafe { p.as_ref() }
    }

    /// Child `i` of an inner node.
    #[inline]
    pub(crate) fn child<'g>(&'g self, i: usize, _guard: &'g Guard) -> Option<&'g Node<L, N>> {
        if self.level == 0 {
            return None;
        }
        let p = self.words.get(i)?.load(Ordering::Acquire);
        // SAFETY: module invariant 2; in an inner node every non-null
        // word is a child pointer (words never hold inline bytes there).
        unsafe { p.cast::<Node<L, N>>().as_ref() }
    }

    /// Starts loading what a search of this node reads first: the header
    /// (latch, count, high key head), every line of the heads and of the
    /// words (child pointers, or values). For a leaf (`leaf`), also the
    /// length classes: a get reads one of them right after the search.
    #[inline]
    pub(crate) fn prefetch_search(&self, leaf: bool) {
        ordex_core::sync::prefetch(&self.latch);
        ordex_core::sync::prefetch(&self.high_head);
        // The words too, in inner nodes as in leaves: an inner node's word
        // is the child pointer the search ends on, otherwise a second
        // dependent miss per level.
        for i in (0..N).step_by(64 / core::mem::size_of::<AtomicU64>()) {
            ordex_core::sync::prefetch(&self.heads[i]);
            ordex_core::sync::prefetch(&self.words[i]);
        }
        if leaf {
            for i in (0..N).step_by(64 / core::mem::size_of::<AtomicU16>()) {
                ordex_core::sync::prefetch(&self.meta[i]);
            }
        }
    }

    /// Binary search: the first position whose key is `>= sk`, and whether
    /// it is equal, under the optimistic read `v` (or the latch). Heads and
    /// length classes decide every comparison with a key of at most 8
    /// bytes; on a tie between long keys the slot's entry is dereferenced
    /// only after validating `v`. The answer is meaningful only if `v`
    /// still validates afterwards.
    #[inline]
    pub(crate) fn lower_bound(
        &self,
        sk: SearchKey<'_>,
        v: &Reading<'_, L>,
        _guard: &Guard,
    ) -> Result<(usize, bool), Restart> {
        let (mut lo, hi) = (0, self.count());
        // The probes of a binary search are dependent misses: start every
        // cache line of the heads in use at once instead.
        for i in (0..hi).step_by(64 / core::mem::size_of::<AtomicU64>()) {
            ordex_core::sync::prefetch(&self.heads[i]);
        }
        // Heads hold the bytes after the node's prefix. A key in the
        // node's range starts with it; one that is not (a caller that
        // moved past the range) is placed by the prefix where the first
        // 8 bytes tell, so the answer stays a position in `0..=count`.
        let pfx = self.prefix();
        match pfx.order(sk) {
            core::cmp::Ordering::Less => return Ok((0, false)),
            core::cmp::Ordering::Greater => return Ok((hi, false)),
            core::cmp::Ordering::Equal => {}
        }
        let head = pfx.rel_sk(sk);
        if hi == 0 {
            return Ok((0, false));
        }
        // Branch-free lower bound over the heads: the first slot whose head
        // is not below `head`. Every step has the same shape whatever the
        // keys, so a search costs no mispredicted branches (a branchy binary
        // search over random keys mispredicts about every other step).
        // Invariant: that slot lies in `lo..=lo + len`, and `lo + len <= hi`
        // (so every probe is in bounds, whatever an unvalidated count said).
        let mut len = hi;
        while len > 1 {
            let half = len / 2;
            let mid = lo + half;
            let below = self.heads[mid].load(Ordering::Relaxed) < head;
            lo = core::hint::select_unpredictable(below, mid, lo);
            len -= half;
        }
        lo += usize::from(self.heads[lo].load(Ordering::Relaxed) < head);
        // Slots with the same head (keys that agree in the 8 bytes after
        // the prefix) are ordered by length or, for long keys, by the key.
        while lo < hi && self.heads[lo].load(Ordering::Relaxed) == head {
            let ord = match tie_order(self.meta[lo].load(Ordering::Relaxed), sk) {
                Some(o) => o,
                None => {
                    let p = match &self.ext {
                        Some(x) => x[lo].load(Ordering::Acquire),
                        None => self.words[lo].load(Ordering::Acquire).cast::<Entry>(),
                    };
                    self.check(v)?;
                    // Invariants 1 and 3: validated, so a live entry.
                    EntryRef::new(p).ok_or(Restart)?.key().cmp(sk.key)
                }
            };
            match ord {
                core::cmp::Ordering::Less => lo += 1,
                core::cmp::Ordering::Greater => break,
                core::cmp::Ordering::Equal => return Ok((lo, true)),
            }
        }
        Ok((lo, false))
    }

    /// For invariant checks of a quiescent tree: the node's prefix is
    /// shared by its fences and every key it holds, and every head is the
    /// 8 bytes after it. Returns the prefix length.
    pub(crate) fn check_prefix(&self, guard: &Guard) -> Result<usize, String> {
        let pfx = self.prefix();
        let v = self.read().map_err(|_| "a node is latched or obsolete")?;
        let mut fences = Vec::new();
        fences.extend(self.high(guard).map(EntryRef::key));
        fences.extend(self.low(guard).map(EntryRef::key));
        let mut keys = Vec::new();
        for i in 0..self.count() {
            let k = self.key_at(i, &v, guard).map_err(|_| "a read restarted")?;
            let head = self.heads[i].load(Ordering::Relaxed);
            if head != pfx.rel(&k) {
                return Err(format!("slot {i}: head {head:x} is not that of {k:?}"));
            }
            keys.push(k);
        }
        let all = fences.iter().copied().chain(keys.iter().map(|k| &**k));
        let mut first: Option<&[u8]> = None;
        for k in all {
            if k.len() < pfx.len || Prefix::of(k, pfx.len) != pfx {
                return Err(format!("{k:?} does not start with the prefix {pfx:?}"));
            }
            let f = *first.get_or_insert(k);
            if k[..pfx.len] != f[..pfx.len] {
                return Err(format!("{k:?} and {f:?} differ in the prefix {pfx:?}"));
            }
        }
        self.check(&v).map_err(|_| "a read restarted")?;
        Ok(pfx.len)
    }

    /// Takes the exclusive latch, waiting while another thread holds it
    /// (the caller holds no latch). Fails if the node is (or becomes)
    /// obsolete.
    pub(crate) fn lock<'a>(&'a self, heap: &'a Arc<Account>) -> Result<Locked<'a, L, N>, Restart> {
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
        heap: &'a Arc<Account>,
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

    fn set_raw(&self, i: usize, r: RawSlot) {
        self.heads[i].store(r.head, Ordering::Relaxed);
        self.meta[i].store(r.meta, Ordering::Relaxed);
        self.words[i].store(r.word, Ordering::Release);
    }

    fn child_ptr(&self, i: usize) -> *mut Node<L, N> {
        self.words[i].load(Ordering::Relaxed).cast::<Node<L, N>>()
    }

    fn set_child(&self, i: usize, n: *mut Node<L, N>) {
        self.words[i].store(n.cast::<u8>(), Ordering::Release);
    }

    fn ext(&self) -> &[AtomicPtr<Entry>; N] {
        self.ext.as_deref().expect("inner node")
    }

    fn sep_ptr(&self, i: usize) -> *mut Entry {
        self.ext()[i].load(Ordering::Relaxed)
    }

    /// Sets separator `i` of an inner node (head and length class from
    /// the entry's key).
    fn set_sep(&self, i: usize, e: *mut Entry) {
        self.put_sep(i, Separator::of(e, self.prefix()));
    }

    /// Removes separator `pos` and child `pos + 1` of this inner node
    /// (latched by the caller, `n` separators), shifting the rest left.
    fn drop_sep_and_right_kid(&self, pos: usize, n: usize) {
        for i in pos..n - 1 {
            self.put_sep(i, self.sep_slot(i + 1));
        }
        self.set_sep(n - 1, ptr::null_mut());
        for i in pos + 1..n {
            self.set_child(i, self.child_ptr(i + 1));
        }
        self.set_child(n, ptr::null_mut());
        self.set_count(n - 1);
    }

    /// Separator `i` as stored (head, length class, entry), for moving it
    /// without reading its key again.
    fn sep_slot(&self, i: usize) -> Separator {
        Separator {
            head: self.heads[i].load(Ordering::Relaxed),
            meta: self.meta[i].load(Ordering::Relaxed),
            e: self.ext()[i].load(Ordering::Relaxed),
        }
    }

    /// Stores a separator moved from another slot (see [`sep_slot`]).
    fn put_sep(&self, i: usize, s: Separator) {
        self.heads[i].store(s.head, Ordering::Relaxed);
        self.meta[i].store(s.meta, Ordering::Relaxed);
        self.ext()[i].store(s.e, Ordering::Release);
    }

    fn set_high(&self, e: *mut Entry) {
        let (head, meta) = if e.is_null() {
            (0, 0)
        } else {
            // SAFETY: as for `set_sep`.
            let k = unsafe { entry_key(e) };
            (head_of(k), klen_meta(k))
        };
        self.high_head.store(head, Ordering::Relaxed);
        self.high_meta.store(meta, Ordering::Relaxed);
        self.high.store(e, Ordering::Release);
    }

    fn set_count(&self, n: usize) {
        self.count.store(n as u32, Ordering::Relaxed);
    }

    /// The key bytes of a leaf slot this thread owns or holds latched.
    fn owned_key(&self, r: &RawSlot) -> KeyBuf<'_> {
        if r.is_long() {
            // SAFETY: a long-key word of an owned or latched leaf is a live
            // entry (invariant 1), not freed while the latch is held.
            KeyBuf::Long(unsafe { entry_key(r.word.cast::<Entry>()) })
        } else {
            let head = self.prefix().abs_short(r.head);
            KeyBuf::Short(head.to_be_bytes(), usize::from(r.meta & KLEN_MASK))
        }
    }

    /// Stores the prefix fields (an owned node, or under the latch; the
    /// heads must already be encoded for `p`).
    fn store_prefix(&self, p: Prefix) {
        self.plen.store(p.len as u8, Ordering::Relaxed);
        self.pfx.store(p.head, Ordering::Relaxed);
    }

    /// Changes the prefix of this node (owned, or latched: readers that
    /// see part of the change fail validation) to `to`, which every key
    /// of its range starts with, re-encoding every head. Long keys are
    /// read from their entries, all prefetched first.
    fn reprefix(&self, to: Prefix) {
        let from = self.prefix();
        if from == to {
            return;
        }
        let n = (self.count.load(Ordering::Relaxed) as usize).min(self.cap());
        let entry = |i: usize| -> *const Entry {
            match &self.ext {
                Some(x) => x[i].load(Ordering::Relaxed),
                None => self.words[i].load(Ordering::Relaxed).cast::<Entry>(),
            }
        };
        for i in 0..n {
            if self.meta[i].load(Ordering::Relaxed) & KLEN_MASK == KLEN_LONG {
                ordex_core::sync::prefetch(entry(i));
            }
        }
        for i in 0..n {
            let (h, m) = (
                self.heads[i].load(Ordering::Relaxed),
                self.meta[i].load(Ordering::Relaxed),
            );
            // SAFETY: a long slot of an owned or latched node holds a live
            // entry (invariant 1).
            let h = unsafe { rehead(h, m, entry(i), from, to) };
            self.heads[i].store(h, Ordering::Relaxed);
        }
        self.store_prefix(to);
    }

    /// The high key's bytes (None: +∞) of an owned or latched node.
    fn high_key(&self) -> Option<&[u8]> {
        let h = self.high.load(Ordering::Relaxed);
        // SAFETY: the high key of an owned or latched node is live while
        // the node is held (invariant 1; it is retired only by the latch
        // holder that replaces it).
        (!h.is_null()).then(|| unsafe { entry_key(h) })
    }

    /// The low fence's bytes (None: -∞) of an owned or latched leaf.
    fn low_key(&self) -> Option<&[u8]> {
        let l = self.low.load(Ordering::Relaxed);
        // SAFETY: as for `high_key`; low fences are immutable.
        (!l.is_null()).then(|| unsafe { entry_key(l) })
    }
}

/// A key read under a latch: rebuilt from a short slot, or borrowed from a
/// long key's entry.
enum KeyBuf<'a> {
    Short([u8; 8], usize),
    Long(&'a [u8]),
}

impl KeyBuf<'_> {
    fn bytes(&self) -> &[u8] {
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
fn new_raw(heap: &Account, pfx: Prefix, key: &[u8], value: &[u8], w: u64, oldest: u64) -> RawSlot {
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
/// after the load) while a guard for `'g` is pinned; for a chain or a long
/// key its word is non-null, and for a long key `versions` is the entry's
/// (non-null) version pointer loaded under the same validated read.
#[inline]
unsafe fn resolve<'g>(raw: RawSlot, versions: *mut Record) -> LeafSlot<'g> {
    if raw.is_inline() {
        return LeafSlot {
            key: short_key(raw.head, raw.meta),
            val: SlotValue::Inline(unpack(raw.word, raw.meta)),
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
unsafe fn free_raw(r: RawSlot) -> usize {
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
unsafe fn retire_raw(r: RawSlot, guard: &Guard, heap: &Arc<Account>) {
    if r.is_long() {
        // SAFETY: the caller's contract.
        unsafe { retire_entry(r.word.cast::<Entry>(), guard, heap) }
    } else if r.is_chain() {
        // SAFETY: the caller's contract.
        unsafe { retire_chain(r.word.cast::<Record>(), guard, heap) }
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
    heap: &'a Arc<Account>,
}

impl<L: Latch, const N: usize> Drop for Locked<'_, L, N> {
    fn drop(&mut self) {
        // SAFETY: a `Locked` exists only while its thread holds the
        // exclusive latch (from `lock` or `upgrade`), and is dropped once.
        unsafe { self.node.latch.unlock() };
    }
}

/// What a write did to a key: whether the replaced version was a value,
/// and whether the chain kept more than the new version for a snapshot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pushed {
    pub(crate) was_live: bool,
    pub(crate) kept: bool,
}

impl<'a, L: Latch, const N: usize> Locked<'a, L, N> {
    fn count_exact(&self) -> usize {
        self.node.count.load(Ordering::Relaxed) as usize
    }

    /// The newest value of the entry at `pos` of the latched leaf (None:
    /// a tombstone), valid while `_guard` lives: a record the next write
    /// unlinks is retired through the epoch, not freed.
    pub(crate) fn value_now<'g>(&self, pos: usize, _guard: &'g Guard) -> Option<Bytes<'g>> {
        let raw = self.node.raw(pos);
        let versions = if raw.is_long() {
            // SAFETY: an occupied long slot of the latched leaf holds a
            // live entry.
            unsafe { &*raw.word.cast::<Entry>() }
                .versions
                .load(Ordering::Relaxed)
        } else {
            ptr::null_mut()
        };
        // SAFETY: loaded from the latched leaf (nothing changes it while
        // the latch is held) with a guard pinned for `'g`; an occupied
        // chain or long slot has a non-null word and version pointer.
        unsafe { resolve::<'g>(raw, versions) }.val.now()
    }

    /// Whether the latched node holds no entry (or separator).
    pub(crate) fn is_empty(&self) -> bool {
        self.count_exact() == 0
    }

    /// Writes version `value` (None: tombstone) at seqno `w` for the key at
    /// `pos` of the latched leaf, keeping what the oldest live snapshot
    /// (`oldest`, `u64::MAX` if none) can need: every version newer than
    /// `oldest` and the newest one at or below it. A tombstone with
    /// `w <= oldest` is the caller's to handle ([`remove_entry`]).
    ///
    /// [`remove_entry`]: Self::remove_entry
    pub(crate) fn push_version(
        &self,
        pos: usize,
        value: Option<&[u8]>,
        w: u64,
        oldest: u64,
        guard: &Guard,
    ) -> Pushed {
        let node = self.node;
        let raw = node.raw(pos);
        let fits = value.is_some_and(|v| v.len() <= INLINE_MAX);
        if raw.is_inline() {
            if w <= oldest {
                if let Some(v) = value.filter(|_| fits) {
                    node.set_raw(pos, RawSlot::inline(v).with_key(raw));
                } else {
                    let r = NewRecord::new(value, w).publish(self.heap, ptr::null_mut());
                    node.set_raw(pos, raw.chain(r));
                }
                return Pushed {
                    was_live: true,
                    kept: false,
                };
            }
            // A snapshot may need the inline value: it becomes a record
            // visible to every snapshot (seqno 0) under the new version.
            let old = unpack(raw.word, raw.meta);
            let older = NewRecord::new(Some(&old), 0).publish(self.heap, ptr::null_mut());
            let r = NewRecord::new(value, w).publish(self.heap, older);
            node.set_raw(pos, raw.chain(r));
            let kept = self.trim(r, oldest, guard);
            return Pushed {
                was_live: true,
                kept,
            };
        }
        let (anchor, old) = if raw.is_long() {
            // SAFETY: an occupied long slot of the latched leaf holds a live
            // entry.
            let e = unsafe { &*raw.word.cast::<Entry>() };
            (Some(e), e.versions.load(Ordering::Relaxed))
        } else {
            (None, raw.word.cast::<Record>())
        };
        // SAFETY: the chain head of a live slot is live (invariant 3).
        let was_live = unsafe { old.as_ref() }.is_some_and(|r| !r.tomb);
        if anchor.is_none() && fits && w <= oldest {
            // No snapshot needs the chain: fold it back inline.
            node.set_raw(pos, RawSlot::inline(value.unwrap_or(&[])).with_key(raw));
            // SAFETY: the chain was unlinked from the slot just now, under
            // the latch; only this latch holder could unlink it.
            unsafe { retire_chain(old, guard, self.heap) };
            return Pushed {
                was_live,
                kept: false,
            };
        }
        let r = NewRecord::new(value, w).publish(self.heap, old);
        match anchor {
            Some(e) => e.versions.store(r, Ordering::Release),
            None => node.set_raw(pos, raw.chain(r)),
        }
        Pushed {
            was_live,
            kept: self.trim(r, oldest, guard),
        }
    }

    /// Trims a chain (see [`push_version`](Self::push_version)); returns
    /// whether more than the head is left.
    fn trim(&self, head: *mut Record, oldest: u64, guard: &Guard) -> bool {
        let mut r = head;
        loop {
            // SAFETY: `r` is in the chain of a slot of the latched leaf;
            // only latch holders unlink records, so it is live.
            let rec = unsafe { &*r };
            let older = rec.older.load(Ordering::Relaxed);
            if older.is_null() {
                return r != head;
            }
            if rec.seqno <= oldest {
                rec.older.store(ptr::null_mut(), Ordering::Release);
                // An embedded record (always the oldest of its chain) is
                // freed with its entry, never on its own: cut it off the
                // run first, so the deferred free never reads it (the
                // entry may be freed before the run's free runs).
                let mut last = older;
                let mut before = ptr::null_mut::<Record>();
                loop {
                    // SAFETY: the run is still allocated (only this latch
                    // holder unlinks records, and it has not retired it).
                    let next = unsafe { &*last }.older.load(Ordering::Relaxed);
                    if next.is_null() {
                        break;
                    }
                    before = last;
                    last = next;
                }
                // SAFETY: as above.
                let run = if unsafe { &*last }.embedded {
                    if !before.is_null() {
                        // SAFETY: as above. The run is needed by no
                        // snapshot, so shortening it changes no answer.
                        unsafe { &*before }
                            .older
                            .store(ptr::null_mut(), Ordering::Release);
                        older
                    } else {
                        ptr::null_mut()
                    }
                } else {
                    older
                };
                if !run.is_null() {
                    // SAFETY: the run below `rec` was just unlinked, and
                    // only this latch holder could unlink it.
                    unsafe { retire_chain(run, guard, self.heap) };
                }
                return r != head;
            }
            r = older;
        }
    }

    /// Trims every chain of the latched leaf to what `oldest` can need,
    /// folds lone small values of short keys back inline, and unlinks
    /// entries left with a lone tombstone no snapshot can tell from
    /// absence. Returns the number of entries removed.
    pub(crate) fn sweep(&self, oldest: u64, guard: &Guard) -> usize {
        let node = self.node;
        let mut removed = 0;
        for i in (0..self.count_exact()).rev() {
            let raw = node.raw(i);
            if raw.is_inline() {
                continue;
            }
            let head = if raw.is_long() {
                // SAFETY: an occupied long slot holds a live entry.
                unsafe { &*raw.word.cast::<Entry>() }
                    .versions
                    .load(Ordering::Relaxed)
            } else {
                raw.word.cast::<Record>()
            };
            let longer = self.trim(head, oldest, guard);
            // SAFETY: the chain head of a live slot is live.
            let rec = unsafe { &*head };
            if longer || rec.seqno > oldest {
                continue;
            }
            if rec.tomb {
                self.remove_entry(i, guard);
                removed += 1;
            } else if raw.is_chain() && rec.len <= INLINE_MAX {
                // SAFETY: a live record's value (not a tombstone).
                let v = unsafe { rec_value(head) }.unwrap_or(&[]);
                node.set_raw(i, RawSlot::inline(v).with_key(raw));
                // SAFETY: unlinked from the slot just now, under the latch.
                unsafe { retire_chain(head, guard, self.heap) };
            }
        }
        removed
    }

    /// Unlinks the entry at `pos` and retires what it owns.
    pub(crate) fn remove_entry(&self, pos: usize, guard: &Guard) {
        let n = self.count_exact();
        let node = self.node;
        let raw = node.raw(pos);
        for i in pos..n - 1 {
            node.set_raw(i, node.raw(i + 1));
        }
        node.set_raw(n - 1, RawSlot::EMPTY);
        node.set_count(n - 1);
        // SAFETY: `raw` is no longer in any slot (each slot content is in
        // exactly one slot of one leaf), and this latch holder is its only
        // retirer.
        unsafe { retire_raw(raw, guard, self.heap) };
    }

    /// Merges the inner node `right` (latched; `self`'s right sibling at
    /// the same level) into `self` (latched), where `parent` (latched) has
    /// `self` as child `pos` and `right` as child `pos + 1`: `self` takes
    /// the parent's separator `pos`, then `right`'s separators and
    /// children, its high key and right-link; `parent` drops separator
    /// `pos` and child `pos + 1`; `right` is marked obsolete and retired.
    /// The children keep their fences and right-links (only who points
    /// to them changes), so no level below is touched. Returns the number
    /// of separators `self` had before (its child at that index + 1 is
    /// `right`'s first), or None, changing nothing, if the shape is not
    /// exactly that or the merged node would hold more than `max`
    /// separators.
    pub(crate) fn merge_right_inner(
        &self,
        right: Locked<'a, L, N>,
        parent: &Locked<'a, L, N>,
        pos: usize,
        max: usize,
        guard: &Guard,
    ) -> Option<usize> {
        let (w, x, p) = (self.node, right.node, parent.node);
        let x_ptr = x as *const Node<L, N> as *mut Node<L, N>;
        let w_ptr = w as *const Node<L, N> as *mut Node<L, N>;
        let (cw, cx, pn) = (
            self.count_exact(),
            right.count_exact(),
            parent.count_exact(),
        );
        let shape = w.level >= 1
            && x.level == w.level
            && p.level == w.level + 1
            && w.right.load(Ordering::Relaxed) == x_ptr
            && pos < pn
            && p.child_ptr(pos) == w_ptr
            && p.child_ptr(pos + 1) == x_ptr
            && cw + cx < max.min(N - 1);
        if !shape {
            return None;
        }
        // The merged range's prefix: what `self`'s keys share, cut to
        // what its old high key shares with `right`'s.
        w.reprefix(w.prefix().cut(grown_prefix(w.high_key(), x.high_key())));
        // `self` takes the separator between the two, then `right`'s.
        let sep = p.sep_ptr(pos);
        w.set_sep(cw, sep);
        let (from, to) = (x.prefix(), w.prefix());
        for i in 0..cx {
            w.put_sep(cw + 1 + i, x.sep_slot(i).moved(from, to));
        }
        for i in 0..=cx {
            w.set_child(cw + 1 + i, x.child_ptr(i));
        }
        w.set_count(cw + cx + 1);
        let old_high = w.high.load(Ordering::Relaxed);
        w.set_high(x.high.load(Ordering::Relaxed));
        w.right
            .store(x.right.load(Ordering::Relaxed), Ordering::Release);
        // `right` hands everything over: it owns nothing now.
        x.set_high(ptr::null_mut());
        for i in 0..cx {
            x.set_sep(i, ptr::null_mut());
        }
        x.set_count(0);
        // The parent drops separator `pos` (moved into `self`) and child
        // `pos + 1`.
        p.drop_sep_and_right_kid(pos, pn);
        // SAFETY: `right` holds the exclusive latch; it is forgotten, so
        // this is its only release.
        unsafe { x.latch.unlock_obsolete() };
        core::mem::forget(right);
        // SAFETY: `old_high` was owned by `self` alone and was replaced
        // (the same key now lives on as the moved separator); `right` was
        // reachable only through the parent slot and the right-link just
        // replaced, and owns nothing (its separators, children and high
        // key moved to `self`).
        unsafe {
            if !old_high.is_null() {
                retire_entry(old_high, guard, self.heap);
            }
            retire_node(x_ptr, guard, self.heap);
        }
        Some(cw)
    }

    /// The child at `i` of this latched inner node.
    pub(crate) fn kid_locked(&self, i: usize) -> Option<&'a Node<L, N>> {
        let p = self.node.child_ptr(i.min(N - 1));
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null child of a latched node is live (invariant 1)
        // for as long as the guard that found the node (the latch
        // holder's).
        Some(unsafe { &*p })
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
            && p.child_ptr(pos) == left_ptr
            && p.child_ptr(pos + 1) == l_ptr
            && !l.low.load(Ordering::Relaxed).is_null();
        if !shape {
            return false;
        }
        // The left sibling takes over the leaf's range (and its prefix
        // shrinks to what the whole range shares).
        left.reprefix(
            left.prefix()
                .cut(grown_prefix(left.high_key(), l.high_key())),
        );
        let old_high = left.high.load(Ordering::Relaxed);
        left.set_high(l.high.load(Ordering::Relaxed));
        left.right
            .store(l.right.load(Ordering::Relaxed), Ordering::Release);
        l.set_high(ptr::null_mut());
        // The parent drops separator `pos` and child `pos + 1`.
        let sep = p.sep_ptr(pos);
        p.drop_sep_and_right_kid(pos, pn);
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

    /// Inserts a new key with value `value`, written at seqno `w` (inline
    /// if it can be, see [`push_version`](Self::push_version)), at `pos`
    /// of the latched leaf; if the leaf is full, half-splits it and
    /// returns the split to finish in the parent.
    pub(crate) fn leaf_insert(
        &self,
        pos: usize,
        key: &[u8],
        value: &[u8],
        w: u64,
        oldest: u64,
    ) -> Option<Split<L, N>> {
        let node = self.node;
        let raw = new_raw(self.heap, node.prefix(), key, value, w, oldest);
        let n = self.count_exact();
        let run = node.note_insert(pos);
        if n < N {
            for i in (pos..n).rev() {
                node.set_raw(i + 1, node.raw(i));
            }
            node.set_raw(pos, raw);
            node.set_count(n + 1);
            return None;
        }
        // Full: split. `total` slots after the insert; at(i) indexes the
        // merged sequence without materialising it.
        let total = n + 1;
        let at = |i: usize| -> RawSlot {
            match i.cmp(&pos) {
                core::cmp::Ordering::Less => node.raw(i),
                core::cmp::Ordering::Equal => raw,
                core::cmp::Ordering::Greater => node.raw(i - 1),
            }
        };
        let heap = self.heap;
        let right_ptr = Node::<L, N>::alloc(0, heap);
        // SAFETY: freshly allocated, not yet shared.
        let right = unsafe { &*right_ptr };
        // Left keeps `mid` entries; its last key is the separator (three
        // copies: the left high key, the right low key, the parent's).
        let mid = split_point(run, pos, total);
        // The run goes on in the node that holds the new key.
        if pos < mid {
            right.set_run(0, 0);
        } else {
            node.set_run(0, 0);
            right.set_run(run, pos - mid);
        }
        for i in mid..total {
            right.set_raw(i - mid, at(i));
        }
        right.set_count(total - mid);
        let last = at(mid - 1);
        let kb = node.owned_key(&last);
        let sep_key = kb.bytes();
        // Each half's prefix is what its fences share; the slots are
        // re-encoded for it (the right node is still private, the left
        // one latched).
        let old = node.prefix();
        right.store_prefix(old);
        right.reprefix(Prefix::of_range(Some(sep_key), node.high_key()));
        let left_pfx = Prefix::of_range(node.low_key(), Some(sep_key));
        let high = Entry::alloc(sep_key, heap);
        let sep = Entry::alloc(sep_key, heap);
        right
            .low
            .store(Entry::alloc(sep_key, heap), Ordering::Relaxed);
        right.set_high(node.high.load(Ordering::Relaxed));
        right
            .right
            .store(node.right.load(Ordering::Relaxed), Ordering::Relaxed);
        // Left: the first `mid` merged slots (only the inserted one moves
        // into the left half from outside, at or after `pos`).
        let mut tmp = [RawSlot::EMPTY; N];
        for (i, t) in tmp.iter_mut().enumerate().take(mid) {
            *t = at(i);
        }
        for (i, t) in tmp.iter().enumerate().take(mid) {
            node.set_raw(i, *t);
        }
        for i in mid..N {
            node.set_raw(i, RawSlot::EMPTY);
        }
        node.set_count(mid);
        node.reprefix(left_pfx);
        // Publish the right node (fully initialised) through the B-link.
        node.right.store(right_ptr, Ordering::Release);
        node.set_high(high);
        Some(Split {
            sep,
            right: right_ptr,
        })
    }

    /// Inserts the separator of a child's split at `pos` of the latched
    /// inner node (the new child goes right of it); half-splits if full.
    pub(crate) fn inner_insert(&self, pos: usize, split: Split<L, N>) -> Option<Split<L, N>> {
        let node = self.node;
        let (e, kid) = (split.sep, split.right);
        let n = self.count_exact();
        if n < N - 1 {
            for i in (pos..n).rev() {
                node.put_sep(i + 1, node.sep_slot(i));
            }
            node.set_sep(pos, e);
            for i in (pos + 1..n + 1).rev() {
                node.set_child(i + 1, node.child_ptr(i));
            }
            node.set_child(pos + 1, kid);
            node.set_count(n + 1);
            return None;
        }
        // Full: `total` separators and `total + 1` kids after the insert.
        let total = n + 1;
        let old = node.prefix();
        let new_sep = Separator::of(e, old);
        let sep_at = |i: usize| -> Separator {
            match i.cmp(&pos) {
                core::cmp::Ordering::Less => node.sep_slot(i),
                core::cmp::Ordering::Equal => new_sep,
                core::cmp::Ordering::Greater => node.sep_slot(i - 1),
            }
        };
        let kid_at = |i: usize| -> *mut Node<L, N> {
            match i.cmp(&(pos + 1)) {
                core::cmp::Ordering::Less => node.child_ptr(i),
                core::cmp::Ordering::Equal => kid,
                core::cmp::Ordering::Greater => node.child_ptr(i - 1),
            }
        };
        let heap = self.heap;
        let right_ptr = Node::<L, N>::alloc(node.level, heap);
        // SAFETY: freshly allocated, not yet shared.
        let right = unsafe { &*right_ptr };
        // Left keeps kids [0, m) and separators [0, m-1); separator m-1
        // moves up (the entry itself becomes the left high key, a copy
        // goes up).
        // In kids: the new kid is kid `pos + 1`, after the new separator.
        // Half and half: inner nodes split in the middle whatever the
        // insert order. (Split where a run of inserts goes, as leaves do,
        // they filled, but after every key was removed the tree's
        // best-effort shrink left full inner nodes it could not merge an
        // underfull sibling into: two leaves under two levels instead of
        // one leaf, with 4-slot nodes.)
        let m = total.div_ceil(2);
        for i in m..total {
            right.put_sep(i - m, sep_at(i));
        }
        for i in m..total + 1 {
            right.set_child(i - m, kid_at(i));
        }
        right.set_count(total - m);
        let promoted = sep_at(m - 1).e;
        // SAFETY: a live separator entry of the latched node (or new).
        let sep = Entry::alloc(unsafe { entry_key(promoted) }, heap);
        // The right node's prefix is what its fences share; the left one
        // keeps its own (its range only shrank, and inner nodes keep no
        // low fence to recompute it from).
        right.store_prefix(old);
        // SAFETY: as above.
        right.reprefix(Prefix::of_range(
            Some(unsafe { entry_key(promoted) }),
            node.high_key(),
        ));
        right.set_high(node.high.load(Ordering::Relaxed));
        right
            .right
            .store(node.right.load(Ordering::Relaxed), Ordering::Relaxed);
        let mut kids = [ptr::null_mut(); N];
        let mut seps = [Separator::NONE; N];
        for (i, k) in kids.iter_mut().enumerate().take(m) {
            *k = kid_at(i);
        }
        for (i, s) in seps.iter_mut().enumerate().take(m - 1) {
            *s = sep_at(i);
        }
        for i in 0..N {
            node.set_child(i, kids[i]);
            node.put_sep(i, seps[i]);
        }
        node.set_count(m - 1);
        node.right.store(right_ptr, Ordering::Release);
        node.set_high(promoted);
        Some(Split {
            sep,
            right: right_ptr,
        })
    }
}

impl RawSlot {
    /// This slot's value with `key`'s head and length class.
    fn with_key(self, key: RawSlot) -> RawSlot {
        RawSlot {
            head: key.head,
            meta: (key.meta & KLEN_MASK) | (self.meta & !KLEN_MASK),
            word: self.word,
        }
    }

    /// A chain slot for this short key, headed by `r`.
    fn chain(self, r: *mut Record) -> RawSlot {
        RawSlot {
            head: self.head,
            meta: (self.meta & KLEN_MASK) | CHAIN,
            word: r.cast::<u8>(),
        }
    }
}

/// How much of the prefix of a node whose range ends at `old_high` is
/// left when the range grows to `new_high` (None: +∞): the keys above
/// `old_high` share only what the two high keys share.
fn grown_prefix(old_high: Option<&[u8]>, new_high: Option<&[u8]>) -> usize {
    match (old_high, new_high) {
        (Some(a), Some(b)) => lcp(a, b),
        _ => 0,
    }
}

/// The size of a leaf of `Node<L, N>`.
pub(crate) fn leaf_bytes<L: Latch, const N: usize>() -> usize {
    Node::<L, N>::bytes(0)
}

/// Bulk loads of at least this many entries fill their leaves in
/// parallel.
pub(crate) const PAR_BUILD: usize = 1 << 16;

/// The leaves of a build, shared with its rayon workers.
struct Leaves<'a, L: Latch, const N: usize>(&'a [*mut Node<L, N>]);

// SAFETY: the workers only read the pointers and write disjoint leaves
// through atomics (see `Root::build`); nodes are `Sync` apart from the raw
// pointers that name them.
unsafe impl<L: Latch, const N: usize> Sync for Leaves<'_, L, N> {}

impl<L: Latch, const N: usize> Leaves<'_, L, N> {
    fn get(&self, i: usize) -> Option<*mut Node<L, N>> {
        self.0.get(i).copied()
    }
}

/// The root pointer; owns the whole tree.
#[derive(Debug)]
pub(crate) struct Root<L: Latch, const N: usize> {
    ptr: AtomicPtr<Node<L, N>>,
    heap: Arc<Account>,
}

impl<L: Latch, const N: usize> Root<L, N> {
    /// A tree of one empty leaf.
    pub(crate) fn new() -> Self {
        let heap = Arc::new(Account::default());
        Root {
            ptr: AtomicPtr::new(Node::alloc(0, &heap)),
            heap,
        }
    }

    /// Builds a tree bottom-up, with full nodes, from the entries whose
    /// keys ascend strictly; an entry whose key is not above the previous
    /// one goes to `rest` (for the caller to insert afterwards). Entry `i`
    /// gets seqno `first_seqno + i` (no snapshot exists yet, so small
    /// values go inline). Leaves are filled in parallel (rayon) when there
    /// are at least [`PAR_BUILD`] entries. Returns the tree and the number
    /// of entries built in.
    pub(crate) fn build<K, V>(
        entries: impl Iterator<Item = (K, V)>,
        first_seqno: u64,
        rest: &mut Vec<(K, V)>,
    ) -> (Self, usize)
    where
        K: AsRef<[u8]> + Sync,
        V: AsRef<[u8]> + Sync,
    {
        let heap = Arc::new(Account::default());
        // The strictly ascending run, in input order.
        let mut run: Vec<(K, V)> = Vec::with_capacity(entries.size_hint().0);
        for (k, v) in entries {
            if run.last().is_some_and(|(p, _)| p.as_ref() >= k.as_ref()) {
                rest.push((k, v));
            } else {
                run.push((k, v));
            }
        }
        let n = run.len();
        // Leaves, left to right; each full but the last.
        let leaves: Vec<*mut Node<L, N>> = (0..n.div_ceil(N).max(1))
            .map(|_| Node::alloc(0, &heap))
            .collect();
        let shared = Leaves(&leaves);
        let fill = |i: usize| {
            // SAFETY: `leaves` holds the nodes allocated above, owned by
            // this function until the root is set; each worker writes only
            // leaf `i` (through atomics), and the others are only linked.
            let leaf = unsafe { &*shared.get(i).expect("a leaf per chunk") };
            let chunk = &run[(i * N).min(n)..((i + 1) * N).min(n)];
            let low = (i > 0).then(|| run[i * N - 1].0.as_ref());
            let high = shared.get(i + 1).and(chunk.last()).map(|(k, _)| k.as_ref());
            let pfx = Prefix::of_range(low, high);
            leaf.store_prefix(pfx);
            for (j, (k, v)) in chunk.iter().enumerate() {
                let seqno = first_seqno + (i * N + j) as u64;
                leaf.set_raw(
                    j,
                    new_raw(&heap, pfx, k.as_ref(), v.as_ref(), seqno, u64::MAX),
                );
            }
            leaf.set_count(chunk.len());
            if let Some(next) = shared.get(i + 1) {
                let last = chunk.last().expect("a leaf with a right sibling is full");
                leaf.set_high(Entry::alloc(last.0.as_ref(), &heap));
                leaf.right.store(next, Ordering::Relaxed);
            }
            if i > 0 {
                let low = &run[i * N - 1].0;
                leaf.low
                    .store(Entry::alloc(low.as_ref(), &heap), Ordering::Relaxed);
            }
        };
        if n >= PAR_BUILD {
            use rayon::prelude::*;
            (0..leaves.len()).into_par_iter().for_each(fill);
        } else {
            (0..leaves.len()).for_each(fill);
        }
        drop(run);
        let mut level = leaves;
        // Inner levels: each parent takes up to N children; its separators
        // are copies of the children's high keys, its high key the last
        // child's (moved up by copy as well).
        let mut height = 0u8;
        while level.len() > 1 {
            height += 1;
            let mut parents: Vec<*mut Node<L, N>> = Vec::with_capacity(level.len() / N + 1);
            for (g, group) in level.chunks(N).enumerate() {
                let p_ptr = Node::<L, N>::alloc(height, &heap);
                // SAFETY: owned by this function until the root is set.
                let p = unsafe { &*p_ptr };
                // The parent's range: from the high key of the node left
                // of its first child to its last child's high key.
                // SAFETY: nodes built above, owned by this function.
                let (low, high) = unsafe {
                    (
                        g.checked_sub(1).map(|_| &*level[g * N - 1]),
                        &*group[group.len() - 1],
                    )
                };
                p.store_prefix(Prefix::of_range(
                    low.and_then(Node::high_key),
                    high.high_key(),
                ));
                for (i, &kid) in group.iter().enumerate() {
                    p.set_child(i, kid);
                    if i + 1 < group.len() {
                        // SAFETY: every child but the last of its level has
                        // a high key (set above or in the previous round).
                        let h = unsafe { entry_key((*kid).high.load(Ordering::Relaxed)) };
                        p.set_sep(i, Entry::alloc(h, &heap));
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
                        prev_parent.child_ptr(prev_parent.count.load(Ordering::Relaxed) as usize);
                    // SAFETY: a node built above, owned by this function.
                    let last_right = unsafe { (*last_kid).right.load(Ordering::Relaxed) };
                    debug_assert_eq!(last_right, first_kid);
                    // SAFETY: `last_kid` has a high key (it has a right sibling).
                    let h = unsafe { entry_key((*last_kid).high.load(Ordering::Relaxed)) };
                    prev_parent.set_high(Entry::alloc(h, &heap));
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

    /// The memory account of the tree's nodes, entries and records.
    pub(crate) fn account(&self) -> &Arc<Account> {
        &self.heap
    }

    /// The current root node.
    #[inline]
    pub(crate) fn load<'g>(&'g self, _guard: &'g Guard) -> &'g Node<L, N> {
        // SAFETY: the root is never null and nodes live as long as the tree
        // (invariant 2).
        unsafe { &*self.ptr.load(Ordering::Acquire) }
    }

    /// Removes a level: if `root` (latched) is the root, an inner node with
    /// a single child and no right sibling, the child becomes the root and
    /// `root` is marked obsolete and retired. Returns whether it did. The
    /// child may be in a half-split (its new right sibling's separator was
    /// meant for `root`): that split finishes by growing the tree again
    /// over the new root (see `Tree::finish_split`).
    pub(crate) fn try_shrink(&self, root: Locked<'_, L, N>, guard: &Guard) -> bool {
        let r = root.node;
        let r_ptr = r as *const Node<L, N> as *mut Node<L, N>;
        // A root with a right sibling is in a half-split: its level still
        // has a node whose separator has no parent yet, and giving the
        // level up would leave that node above the new root, unreachable
        // (and never freed). The split grows the tree instead.
        if r.level == 0
            || root.count_exact() != 0
            || self.ptr.load(Ordering::Relaxed) != r_ptr
            || r.right(guard).is_some()
        {
            return false;
        }
        let kid = r.child_ptr(0);
        if kid.is_null() {
            return false;
        }
        self.ptr.store(kid, Ordering::Release);
        r.set_child(0, ptr::null_mut());
        // SAFETY: `root` holds the exclusive latch; it is forgotten, so
        // this is its only release.
        unsafe { r.latch.unlock_obsolete() };
        core::mem::forget(root);
        // SAFETY: the old root was reachable only through `ptr`, just
        // replaced; it owns nothing (no separators, no high key, its one
        // child is the new root).
        unsafe { retire_node(r_ptr, guard, &self.heap) };
        true
    }

    /// Finishes a split at the root's level: installs a new root whose two
    /// children are `old` (the current root) and the split's new node.
    /// Fails (giving the split back) if `old` is no longer the root. The
    /// caller holds `old`'s latch, so no `try_shrink` replaces it
    /// meanwhile.
    pub(crate) fn try_grow(&self, old: &Node<L, N>, split: Split<L, N>) -> Result<(), Split<L, N>> {
        let old_ptr = old as *const Node<L, N> as *mut Node<L, N>;
        if self.ptr.load(Ordering::Acquire) != old_ptr {
            return Err(split);
        }
        let level = old.level.checked_add(1).expect("tree height exceeds 255");
        let root_ptr = Node::<L, N>::alloc(level, &self.heap);
        // SAFETY: freshly allocated, not yet shared.
        let root = unsafe { &*root_ptr };
        root.set_sep(0, split.sep);
        root.set_child(0, old_ptr);
        root.set_child(1, split.right);
        root.set_count(1);
        match self
            .ptr
            .compare_exchange(old_ptr, root_ptr, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: the node was never published; it owns nothing
                // (the separator goes back to the split).
                drop(unsafe { Box::from_raw(root_ptr) });
                self.heap.sub(Node::<L, N>::bytes(level));
                Err(split)
            }
        }
    }
}

impl<L: Latch, const N: usize> Drop for Root<L, N> {
    fn drop(&mut self) {
        // `&mut self`: no reader or writer is left. Walk each level from
        // its leftmost node along the right-links, freeing every node and
        // what it owns.
        let mut leftmost = self.ptr.load(Ordering::Relaxed);
        while !leftmost.is_null() {
            // SAFETY: nodes are live until freed here, once each.
            let first = unsafe { &*leftmost };
            let next_level = if first.level == 0 {
                ptr::null_mut()
            } else {
                first.child_ptr(0)
            };
            let mut p = leftmost;
            while !p.is_null() {
                // SAFETY: every node is reachable once along its level's
                // right-links and freed once.
                let node = unsafe { Box::from_raw(p) };
                let mut freed = Node::<L, N>::bytes(node.level);
                let n = (node.count.load(Ordering::Relaxed) as usize).min(N);
                for i in 0..n {
                    if node.level == 0 {
                        // SAFETY: each slot's content is owned by its
                        // node alone.
                        freed += unsafe { free_raw(node.raw(i)) };
                    } else {
                        let e = node.sep_ptr(i);
                        if !e.is_null() {
                            // SAFETY: each separator is owned by its node.
                            freed += unsafe { free_entry(e) };
                        }
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
        // SAFETY: the tree is being dropped (`&mut`): no thread is left
        // to reach a retired object.
        unsafe { self.heap.free_limbo() };
    }
}
