//! Leaves and version records: their layouts, the guard-bound handles the
//! rest of the crate reads them through, and freeing them.
//!
//! A **leaf** is one allocation: a header (the head of the key's version
//! chain, the key's length and offset), the key's first version embedded
//! right after it, then the whole key, so a fresh key costs one
//! allocation, and its first line holds the header, the first version
//! (its value too, if short) and the key's first bytes: a scan that asks
//! for a leaf's first two lines has its value, whatever the key's length. A **record** is one version: seqno, a flag for
//! tombstones, the value bytes and the next older version. Later versions
//! are records of their own, pushed at the head of the chain under the
//! latch of the node that holds the leaf; every record is immutable once
//! published except its `older` link, which only ever gets cut (trimming
//! versions no snapshot can see).
//!
//! Module invariants, which make the handles sound:
//! 1. A leaf or record is freed only through the epoch
//!    ([`ordex_core::reclaim::retire`]) after it was unlinked, or when the
//!    tree drops (with `&mut`), so one reached through a slot or a chain
//!    while a guard is pinned stays allocated as long as the guard.
//! 2. Headers, keys and values are written before the leaf or record is
//!    published (by a Release store, or under a node latch whose unlock
//!    is a Release) and never change after.
//! 3. The embedded record is the oldest of its chain (the chain grows at
//!    its head), so it is the chain's last record while it is linked; it
//!    is freed with its leaf, never alone.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::slice;
use crossbeam_epoch::Guard;
use ordex_core::sync::{AtomicPtr, Ordering};
use ordex_core::Seqno;
use std::alloc;

/// A version: seqno, value (or tombstone), the next older version.
#[repr(C)]
pub(crate) struct Record {
    seqno: Seqno,
    older: AtomicPtr<Record>,
    len: u32,
    flags: u32,
    // value bytes follow
}

const TOMB: u32 = 1;
const EMBEDDED: u32 = 2;
const REC_HDR: usize = core::mem::size_of::<Record>();

/// A key and the head of its version chain.
#[repr(C)]
pub(crate) struct Leaf {
    chain: AtomicPtr<Record>,
    klen: u32,
    /// Where the key bytes start: after the embedded record (at
    /// `LEAF_HDR`) and its value.
    koff: u32,
}

const LEAF_HDR: usize = 16;
const _: () = assert!(core::mem::size_of::<Leaf>() <= LEAF_HDR);
const ALIGN: usize = 8;

fn rec_layout(len: usize) -> Layout {
    Layout::from_size_align(REC_HDR + len, ALIGN).expect("value too large for an allocation")
}

/// The layout of a leaf with a key of `klen` bytes and a first version of
/// `vlen` bytes (at `LEAF_HDR`), and the offset of its key.
fn leaf_layout(klen: usize, vlen: usize) -> (Layout, usize) {
    let key_at = LEAF_HDR + REC_HDR + vlen;
    let layout =
        Layout::from_size_align(key_at + klen, ALIGN).expect("key too large for an allocation");
    (layout, key_at)
}

/// Writes a record header and value at `p`.
///
/// # Safety
/// `p` is valid for writes of `REC_HDR + value.len()` bytes, aligned to 8.
unsafe fn write_record(p: *mut Record, seqno: Seqno, value: Option<&[u8]>, flags: u32) {
    let (bytes, flags) = match value {
        Some(v) => (v, flags),
        None => (&[][..], flags | TOMB),
    };
    // SAFETY: `p` is valid and aligned (the caller's contract).
    unsafe {
        p.write(Record {
            seqno,
            older: AtomicPtr::new(ptr::null_mut()),
            len: bytes.len() as u32,
            flags,
        });
        ptr::copy_nonoverlapping(bytes.as_ptr(), p.cast::<u8>().add(REC_HDR), bytes.len());
    }
}

/// A new record, not yet published: `value` at `seqno` (`None`: a
/// tombstone); returns it and its size in bytes.
pub(crate) fn new_record(seqno: Seqno, value: Option<&[u8]>) -> (NonNull<Record>, usize) {
    let len = value.map_or(0, <[u8]>::len);
    let layout = rec_layout(len);
    // SAFETY: the layout has a non-zero size (the header).
    let p = unsafe { alloc::alloc(layout) }.cast::<Record>();
    let Some(p) = NonNull::new(p) else {
        alloc::handle_alloc_error(layout)
    };
    // SAFETY: freshly allocated with room for the header and the value.
    unsafe { write_record(p.as_ptr(), seqno, value, 0) };
    (p, layout.size())
}

/// A new leaf for `key`, its first version `value` at `seqno`, not yet
/// published; returns it and its size in bytes.
pub(crate) fn new_leaf(key: &[u8], value: Option<&[u8]>, seqno: Seqno) -> (NonNull<Leaf>, usize) {
    let vlen = value.map_or(0, <[u8]>::len);
    let (layout, key_at) = leaf_layout(key.len(), vlen);
    // SAFETY: the layout has a non-zero size (the header).
    let p = unsafe { alloc::alloc(layout) };
    let Some(p) = NonNull::new(p) else {
        alloc::handle_alloc_error(layout)
    };
    let p = p.as_ptr();
    // SAFETY: `p` is fresh, with room for the header, the record at
    // `LEAF_HDR` (8-aligned) and its value, and the key at `key_at`.
    unsafe {
        let rec = p.add(LEAF_HDR).cast::<Record>();
        write_record(rec, seqno, value, EMBEDDED);
        p.cast::<Leaf>().write(Leaf {
            chain: AtomicPtr::new(rec),
            klen: key.len() as u32,
            koff: key_at as u32,
        });
        ptr::copy_nonoverlapping(key.as_ptr(), p.add(key_at), key.len());
        (NonNull::new_unchecked(p.cast()), layout.size())
    }
}

/// Frees a record made by [`new_record`], returning its bytes.
///
/// # Safety
/// `p` came from [`new_record`], is unreachable, and is freed once.
unsafe fn free_record(p: *mut Record) -> usize {
    // SAFETY: a live record of `new_record` (the caller's contract).
    let len = unsafe { (*p).len } as usize;
    let layout = rec_layout(len);
    // SAFETY: allocated with this layout by `new_record`.
    unsafe { alloc::dealloc(p.cast(), layout) };
    layout.size()
}

/// Frees a chain segment of records made by [`new_record`] (linked
/// through `older`, ending at null or at an embedded record, which is not
/// freed); returns the bytes freed. The function `retire` takes for a
/// trimmed tail.
///
/// # Safety
/// `p` heads a segment that is unreachable and freed once; the segment's
/// records are not embedded, except possibly its last, whose leaf is
/// still allocated.
pub(crate) unsafe fn free_chain(p: *mut u8) -> usize {
    let mut p = p.cast::<Record>();
    let mut bytes = 0;
    while !p.is_null() {
        // SAFETY: a live record of the segment (the caller's contract).
        let (older, flags) = unsafe { ((*p).older.load(Ordering::Relaxed), (*p).flags) };
        if flags & EMBEDDED != 0 {
            break;
        }
        // SAFETY: a record of `new_record`, unreachable, freed once.
        bytes += unsafe { free_record(p) };
        p = older;
    }
    bytes
}

/// Frees a leaf and every record of its chain, returning the bytes freed.
/// The function `retire` takes for an unlinked leaf.
///
/// # Safety
/// `p` came from [`new_leaf`], is unreachable, and is freed once; its
/// chain is the one it was published with, minus trimmed tails.
pub(crate) unsafe fn free_leaf(p: *mut u8) -> usize {
    let leaf = p.cast::<Leaf>();
    // SAFETY: a live leaf (the caller's contract); nobody writes it now.
    let (head, klen, koff) = unsafe {
        (
            (*leaf).chain.load(Ordering::Relaxed),
            (*leaf).klen as usize,
            (*leaf).koff as usize,
        )
    };
    // SAFETY: the chain belongs to this leaf alone and is unreachable.
    let mut bytes = unsafe { free_chain(head.cast()) };
    // The key follows the embedded record and its value.
    let (layout, _) = leaf_layout(klen, koff - LEAF_HDR - REC_HDR);
    // SAFETY: allocated with this layout by `new_leaf`.
    unsafe { alloc::dealloc(p, layout) };
    bytes += layout.size();
    bytes
}

/// A leaf, live for `'g` (module invariant 1).
#[derive(Clone, Copy)]
pub(crate) struct LeafRef<'g> {
    p: NonNull<Leaf>,
    _guard: PhantomData<&'g Guard>,
}

/// A record, live for `'g`.
#[derive(Clone, Copy)]
pub(crate) struct RecordRef<'g> {
    p: NonNull<Record>,
    _guard: PhantomData<&'g Guard>,
}

impl<'g> LeafRef<'g> {
    /// A handle on a leaf loaded from a slot while the guard for `'g` was
    /// pinned (module invariant 1 keeps it allocated).
    ///
    /// # Safety
    /// `p` came from [`new_leaf`] and was reachable from the tree at some
    /// moment while a guard of lifetime `'g` was pinned, or the caller
    /// owns it.
    #[inline]
    pub(crate) unsafe fn from_raw(p: NonNull<Leaf>) -> Self {
        LeafRef {
            p,
            _guard: PhantomData,
        }
    }

    /// The pointer (to store in a slot).
    #[inline]
    pub(crate) fn non_null(self) -> NonNull<Leaf> {
        self.p
    }

    /// The raw pointer (to retire).
    #[inline]
    pub(crate) fn as_ptr(self) -> *mut Leaf {
        self.p.as_ptr()
    }

    /// The key.
    #[inline]
    pub(crate) fn key(self) -> &'g [u8] {
        let p = self.p.as_ptr();
        // SAFETY: live for `'g`; the length and key bytes never change
        // after publication (invariant 2). Made from the leaf's pointer,
        // the slice has the allocation's provenance.
        unsafe {
            let (len, off) = ((*p).klen as usize, (*p).koff as usize);
            slice::from_raw_parts(p.cast::<u8>().add(off), len)
        }
    }

    /// The newest version.
    #[inline]
    pub(crate) fn newest(self) -> RecordRef<'g> {
        // SAFETY: live for `'g` (invariant 1).
        let head = unsafe { (*self.p.as_ptr()).chain.load(Ordering::Acquire) };
        RecordRef {
            // SAFETY: a chain always has a record (a leaf is born with one
            // and a push replaces the head by a newer one).
            p: unsafe { NonNull::new_unchecked(head) },
            _guard: PhantomData,
        }
    }

    /// The newest version at or below `seqno`, if any.
    #[inline]
    pub(crate) fn at(self, seqno: Seqno) -> Option<RecordRef<'g>> {
        let mut r = Some(self.newest());
        while let Some(rec) = r {
            if rec.seqno() <= seqno {
                return Some(rec);
            }
            r = rec.older();
        }
        None
    }

    /// The version a reader at `seqno` sees (`None`: the newest), if it is
    /// not a tombstone.
    #[inline]
    pub(crate) fn value_at(self, seqno: Option<Seqno>) -> Option<RecordRef<'g>> {
        let r = match seqno {
            None => self.newest(),
            Some(s) => self.at(s)?,
        };
        (!r.is_tomb()).then_some(r)
    }

    /// Pushes `rec` as the newest version (its `older` set to the
    /// current head). The caller holds the latch of the node whose slot
    /// holds this leaf, which serialises pushes.
    pub(crate) fn push(self, rec: NonNull<Record>) {
        // SAFETY: live for `'g`; `rec` is unpublished and ours.
        unsafe {
            let chain = &(*self.p.as_ptr()).chain;
            let head = chain.load(Ordering::Relaxed);
            (*rec.as_ptr()).older.store(head, Ordering::Relaxed);
            chain.store(rec.as_ptr(), Ordering::Release);
        }
    }

    /// Cuts the chain below the newest version at or below `oldest` (the
    /// oldest snapshot pin; versions older than that one are seen by no
    /// snapshot, as every snapshot pins `oldest` or later) and returns the
    /// cut tail, unlinked, for the caller to retire with
    /// [`free_chain`]; `None` if nothing was cut. With `oldest` the
    /// newest seqno, only the newest version stays. The caller holds the
    /// leaf's latch.
    pub(crate) fn trim(self, oldest: Seqno) -> Option<NonNull<Record>> {
        let mut r = self.newest();
        loop {
            let older = r.older()?;
            if r.seqno() <= oldest {
                // Invariant 3: the embedded record stays with the leaf;
                // stop the tail before it.
                let tail = older;
                if tail.is_embedded() {
                    r.cut();
                    return None;
                }
                let mut last = tail;
                while let Some(o) = last.older() {
                    if o.is_embedded() {
                        last.cut();
                        break;
                    }
                    last = o;
                }
                r.cut();
                return Some(tail.p);
            }
            r = older;
        }
    }

    /// How many versions the chain holds.
    pub(crate) fn versions(self) -> usize {
        let mut n = 0;
        let mut r = Some(self.newest());
        while let Some(rec) = r {
            n += 1;
            r = rec.older();
        }
        n
    }
}

impl<'g> RecordRef<'g> {
    /// The seqno of the write that made this version.
    #[inline]
    pub(crate) fn seqno(self) -> Seqno {
        // SAFETY: live for `'g`; immutable after publication.
        unsafe { (*self.p.as_ptr()).seqno }
    }

    /// Whether this version is a removal.
    #[inline]
    pub(crate) fn is_tomb(self) -> bool {
        // SAFETY: as for `seqno`.
        unsafe { (*self.p.as_ptr()).flags & TOMB != 0 }
    }

    fn is_embedded(self) -> bool {
        // SAFETY: as for `seqno`.
        unsafe { (*self.p.as_ptr()).flags & EMBEDDED != 0 }
    }

    /// The value bytes (empty for a tombstone).
    #[inline]
    pub(crate) fn value(self) -> &'g [u8] {
        let p = self.p.as_ptr();
        // SAFETY: live for `'g`; the bytes follow the header in the same
        // allocation and never change (invariant 2).
        unsafe { slice::from_raw_parts(p.cast::<u8>().add(REC_HDR), (*p).len as usize) }
    }

    /// The next older version.
    #[inline]
    pub(crate) fn older(self) -> Option<RecordRef<'g>> {
        // SAFETY: live for `'g`; `older` is an atomic.
        let o = unsafe { (*self.p.as_ptr()).older.load(Ordering::Acquire) };
        NonNull::new(o).map(|p| RecordRef {
            p,
            _guard: PhantomData,
        })
    }

    /// Unlinks everything older than this version (under the leaf's
    /// latch; readers never go past a version at or below their seqno,
    /// and the caller cuts only below one every snapshot sees).
    fn cut(self) {
        // SAFETY: live for `'g`; `older` is an atomic.
        unsafe {
            (*self.p.as_ptr())
                .older
                .store(ptr::null_mut(), Ordering::Release)
        };
    }
}
