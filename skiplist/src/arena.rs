//! The arena: the one module of the skip list that touches raw memory.
//!
//! Nodes are bump-allocated from chunks of `1 << chunk_shift` bytes that
//! are allocated on demand (so an empty table costs nothing) and freed all
//! at once when the arena drops. A node is addressed by a `u32` offset:
//! chunk index in the high bits, position in the chunk in the low bits;
//! offset 0 is null.
//!
//! Writers do not share one bump pointer: each writer lane (see
//! `lane.rs`) owns a [`Block`] of `chunk / 16` bytes carved from the shared
//! chunk cursor and bump-allocates inside it, so two threads inserting at
//! once touch different cache lines. Nodes larger than a quarter of a block
//! are carved from the shared cursor directly. A block's bump is a CAS on
//! the block's own word, so allocation stays lock-free and safe even if two
//! threads ever share a lane.
//!
//! Node layout (4-byte aligned), at offsets from the node's [`NodeRef`]:
//!
//! | offset | field |
//! |---|---|
//! | −4·height … −4 | next links, `AtomicU32` each: level `l` at −4·(l + 1) |
//! | 0 | meta, `u64`: `seqno << 8 \| out << 7 \| (height − 1) << 2 \| kind` (unaligned read) |
//! | 8 | key length, `u16` |
//! | 10 | value length, `u16` (`LONG`: the length is the `u32` after the key) |
//! | 12 | prev link at level 0, `AtomicU32` (a hint, see `list.rs`) |
//! | 16 | key bytes, then the value: (`u32` value length if long) value bytes; or, with `out`, the value's `u32` offset |
//!
//! A node allocated with a value block keeps its value *out of line*
//! (the `out` bit): the bytes sit in a region of their own, and the node
//! holds their offset. Tall nodes are allocated that way, from blocks of
//! their own (see `Lane::blocks_for`), so the upper levels that every
//! search walks are made of small nodes packed together.
//!
//! The tower grows *down* from the header so that everything a search
//! step reads sits at a fixed offset from the reference: the link of any
//! level, the key length and the key. Nothing waits for the height to be
//! decoded, and when a node straddles two cache lines both misses are in
//! flight at once instead of one after the other (with the key after a
//! variable-height tower, its address depended on the header's load).
//!
//! 16 bytes of header and 4 bytes per level: with 1.9 levels on average
//! (see `random_height`) a node costs its key and value plus 23.6 bytes on
//! average, rounded up to 4, and 23.8 with the offsets of the tall nodes'
//! values.
//!
//! Invariant (what makes the accessors safe): a [`NodeRef`] is only ever
//! made by [`Arena::alloc`], which fully initialises the node, loaded
//! from a link, whose stores are `Release` and loads `Acquire`, or read
//! back from a writer lane after the seqno it shows was loaded with
//! `Acquire` ([`NodeRef::published`]), so every thread holding a `NodeRef`
//! sees the node's initialisation. After publication only the links change, and only through atomics; key,
//! value, meta and height are immutable. Chunks are never moved or freed
//! while the arena lives.

use crate::pages::Memory;
use ordex_core::sync::{prefetch, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::mem::{align_of, size_of};

/// An arena offset that points to a fully initialised node (see the module
/// invariant). `Copy`, 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeRef(u32);

/// A [`NodeRef`] that other threads may read while one stores it: an
/// entry of the top index (see `top.rs`). It only ever holds a node
/// reference (it is made from one and stores only those), so what it
/// loads is one.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct AtomicNodeRef(std::sync::atomic::AtomicU32);

#[cfg(not(loom))]
impl AtomicNodeRef {
    pub(crate) fn new(n: NodeRef) -> AtomicNodeRef {
        AtomicNodeRef(std::sync::atomic::AtomicU32::new(n.0))
    }

    #[inline]
    pub(crate) fn load(&self, order: std::sync::atomic::Ordering) -> NodeRef {
        NodeRef(self.0.load(order))
    }

    #[inline]
    pub(crate) fn store(&self, n: NodeRef, order: std::sync::atomic::Ordering) {
        self.0.store(n.0, order);
    }
}

impl NodeRef {
    /// The offset, for a writer lane to publish (see `lane.rs`).
    #[inline]
    pub(crate) fn raw(self) -> u32 {
        self.0
    }

    /// A reference read back from a writer lane.
    ///
    /// # Safety
    ///
    /// `raw` must come from [`raw`](Self::raw) of a node whose
    /// initialisation (and seqno stamp) happens before this call, and that
    /// nobody writes any more but through its links: the module invariant,
    /// for a reference that reached this thread through a lane rather than
    /// a link.
    #[inline]
    pub(crate) unsafe fn published(raw: u32) -> NodeRef {
        NodeRef(raw)
    }
}

#[cfg(all(test, not(loom)))]
impl NodeRef {
    /// A reference for tests that never dereference it.
    pub(crate) fn for_test(off: u32) -> NodeRef {
        NodeRef(off)
    }

    /// The `i` of a reference made by `for_test(i + 1)`.
    pub(crate) fn for_test_index(self) -> usize {
        self.0 as usize - 1
    }
}

const LINK: usize = size_of::<AtomicU32>();
/// Node alignment: links are `AtomicU32` (4 bytes; loom's are larger).
const ALIGN: usize = if align_of::<AtomicU32>() > 4 {
    align_of::<AtomicU32>()
} else {
    4
};
/// The prev link follows the 12 bytes of meta and lengths.
const PREV_AT: usize = 12usize.next_multiple_of(ALIGN);
/// The key follows the prev link (16 bytes of header in all).
const HEADER: usize = PREV_AT + LINK;
/// Value length marker for values of 64 KiB − 1 bytes or more.
const LONG: usize = u16::MAX as usize;
/// Meta bit: the value lives out of line; the `u32` after the key is its
/// offset (its length is the header's).
const OUT: u64 = 1 << 7;
/// Meta bits of the height (minus one).
const HEIGHT_MASK: u64 = 0x1F;
/// Bytes of a node whose value lives out of line.
fn node_size_out(height: usize, key: usize) -> usize {
    (HEADER + height * LINK + key + 4).next_multiple_of(ALIGN)
}

/// Bytes a node of this shape occupies (rounded up to [`ALIGN`]).
pub(crate) fn node_size(height: usize, key: usize, value: usize) -> usize {
    let long = if value >= LONG { 4 } else { 0 };
    (HEADER + height * LINK + long + key + value).next_multiple_of(ALIGN)
}

/// The arena ran out of room (its capacity, or the chunk table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

/// A bump region owned by one writer lane or one reservation: `cur << 32
/// | left` (next free offset, bytes left). Empty when `left` is 0.
#[derive(Debug)]
pub(crate) struct Block {
    state: AtomicU64,
    /// Node bytes handed out from this block (and direct allocations made
    /// through its lane).
    used: AtomicUsize,
}

impl Block {
    pub(crate) fn new() -> Block {
        Block {
            state: AtomicU64::new(0),
            used: AtomicUsize::new(0),
        }
    }

    /// Bytes this block still holds unused.
    pub(crate) fn left(&self) -> usize {
        self.state.load(Ordering::Relaxed) as u32 as usize
    }

    /// Node bytes allocated through this block.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Bump-allocates `size` bytes, if they fit.
    #[inline]
    fn bump(&self, size: usize) -> Option<u32> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let (cur, left) = ((s >> 32) as u32, s as u32 as usize);
            if size > left {
                return None;
            }
            let next = (u64::from(cur) + size as u64) << 32 | (left - size) as u64;
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(cur),
                Err(now) => s = now,
            }
        }
    }
}

pub(crate) struct Arena {
    chunk_shift: u32,
    /// The address space offsets point into.
    mem: Memory,
    /// Chunks this arena may allocate (capacity / chunk size).
    max_chunks: usize,
    /// `chunk index << 32 | position` of the next free byte.
    cursor: AtomicU64,
    /// Set by the first allocation that does not fit: every later one
    /// fails too, so a small node never squeezes into a tail after a
    /// larger one was refused (`Full` is a state, as an engine rotating
    /// its memtable expects).
    full: AtomicBool,
    /// Node bytes allocated outside lane blocks (large nodes and
    /// reservations' nodes).
    direct_used: AtomicUsize,
}

// SAFETY: the chunks are plain heap memory owned by the arena; all shared
// access follows the module invariant (immutable node bytes published with
// Release/Acquire, links only through atomics).
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

impl Drop for Arena {
    fn drop(&mut self) {
        let touched = self.high_water();
        self.mem.set_touched(touched);
    }
}

impl Arena {
    /// An arena of at most `capacity` bytes in chunks of `1 << chunk_shift`
    /// bytes (`10 <= chunk_shift <= 24`), advised for huge pages if
    /// `huge_pages` (see `pages.rs`).
    pub(crate) fn new(capacity: usize, chunk_shift: u32, huge_pages: bool, reuse: bool) -> Arena {
        assert!((10..=24).contains(&chunk_shift), "chunk_shift out of range");
        let chunk = 1usize << chunk_shift;
        // Offsets are u32: chunk index in the bits above chunk_shift; the
        // last chunk index is left out so that an offset one past the end
        // of a chunk still fits in 32 bits.
        let addressable = (1usize << (32 - chunk_shift)) - 1;
        let (mem, max_chunks) = Memory::new(
            (capacity / chunk).clamp(1, addressable),
            chunk_shift,
            huge_pages,
            reuse,
        );
        Arena {
            chunk_shift,
            mem,
            max_chunks,
            // Byte 0 of chunk 0 is never handed out: offset 0 means null.
            cursor: AtomicU64::new(ALIGN as u64),
            full: AtomicBool::new(false),
            direct_used: AtomicUsize::new(0),
        }
    }

    fn chunk_size(&self) -> usize {
        1 << self.chunk_shift
    }

    /// Bytes from the arena's start that may have been written: up to the
    /// shared cursor (lane blocks, large nodes and reservations all come
    /// from it, in order).
    fn high_water(&self) -> usize {
        let c = self.cursor.load(Ordering::Relaxed);
        (((c >> 32) as usize) << self.chunk_shift) + (c & 0xFFFF_FFFF) as usize
    }

    /// Bytes a lane block takes from the shared cursor.
    fn block_size(&self) -> usize {
        self.chunk_size() / 16
    }

    /// The largest node (or reservation) this arena can hold.
    pub(crate) fn max_node(&self) -> usize {
        self.chunk_size() - ALIGN
    }

    /// Bytes of the chunks in use: every chunk up to the one the shared
    /// cursor is in (chunks are taken in order, and the cursor moves into
    /// a chunk only after it is installed).
    pub(crate) fn allocated_bytes(&self) -> usize {
        let ci = (self.cursor.load(Ordering::Relaxed) >> 32) as usize;
        (ci + 1) * self.chunk_size()
    }

    /// The arena's capacity in bytes.
    pub(crate) fn capacity(&self) -> usize {
        self.max_chunks * self.chunk_size()
    }

    /// Node bytes allocated outside lane blocks.
    pub(crate) fn direct_used(&self) -> usize {
        self.direct_used.load(Ordering::Relaxed)
    }

    /// Whether an allocation has failed (every later one fails too).
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Bytes the arena may still hand out from its shared cursor (chunks
    /// not yet carved plus the rest of the current one), not counting what
    /// the lane blocks still hold.
    pub(crate) fn remaining(&self) -> usize {
        if self.is_full() {
            return 0;
        }
        let cur = self.cursor.load(Ordering::Relaxed);
        let (ci, pos) = ((cur >> 32) as usize, cur as u32 as usize);
        (self.max_chunks - ci) * self.chunk_size() - pos
    }

    /// Makes sure chunk `ci` is usable.
    fn ensure_chunk(&self, ci: usize) {
        self.mem.install(ci);
    }

    /// Carves `size` bytes (a multiple of [`ALIGN`], at most `max_node`)
    /// from the shared cursor; returns their offset. The first failure
    /// makes the arena full for good.
    fn take(&self, size: usize, sticky: bool) -> Result<u32, Full> {
        debug_assert!(size.is_multiple_of(ALIGN) && size <= self.max_node());
        let chunk = self.chunk_size() as u64;
        let mut cur = self.cursor.load(Ordering::Acquire);
        loop {
            if self.is_full() {
                return Err(Full);
            }
            let (ci, pos) = (cur >> 32, cur & 0xFFFF_FFFF);
            if pos + size as u64 <= chunk {
                self.ensure_chunk(ci as usize);
                match self.cursor.compare_exchange_weak(
                    cur,
                    cur + size as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(((ci as u32) << self.chunk_shift) | pos as u32),
                    Err(now) => cur = now,
                }
            } else {
                // Hand over to the next chunk (the tail of this one stays
                // unused).
                let next = ci as usize + 1;
                if next >= self.max_chunks {
                    if sticky {
                        self.full.store(true, Ordering::Relaxed);
                    }
                    return Err(Full);
                }
                self.ensure_chunk(next);
                match self.cursor.compare_exchange_weak(
                    cur,
                    (next as u64) << 32,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => cur = (next as u64) << 32,
                    Err(now) => cur = now,
                }
            }
        }
    }

    /// Fills `block` with a fresh region of `size` bytes (the rest of its
    /// old region is abandoned). A lane's refill that fails makes the arena
    /// full for good; a reservation's (`sticky` false) changes nothing.
    pub(crate) fn refill(&self, block: &Block, size: usize, sticky: bool) -> Result<(), Full> {
        let size = size.next_multiple_of(ALIGN);
        if size > self.max_node() {
            return Err(Full);
        }
        let start = self.take(size, sticky)?;
        block
            .state
            .store(u64::from(start) << 32 | size as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Gives what is left of a reservation's block to a lane's block, if
    /// it is more than the lane has left (whichever rest is smaller is
    /// abandoned). The caller holds the lane.
    pub(crate) fn hand_over(&self, reservation: &Block, lane: &Block) {
        let rest = reservation.state.swap(0, Ordering::Relaxed);
        if rest as u32 as usize > lane.left() {
            lane.state.store(rest, Ordering::Relaxed);
        }
    }

    /// Room for a node of `size` bytes: from `block` if it is small enough,
    /// refilling the block from the shared cursor when it runs out.
    fn place(&self, block: &Block, size: usize) -> Result<u32, Full> {
        if self.is_full() {
            return Err(Full);
        }
        let block_size = self.block_size();
        if size > block_size / 4 {
            let off = self.take(size, true)?;
            self.direct_used.fetch_add(size, Ordering::Relaxed);
            return Ok(off);
        }
        loop {
            if let Some(off) = block.bump(size) {
                block.used.fetch_add(size, Ordering::Relaxed);
                // The block's next node goes right after this one: start
                // loading its lines now, so that the next write through
                // this block finds them in cache. Otherwise its stores miss,
                // and the seqno's `fetch_add` right after them waits for
                // those misses (a locked instruction drains the store
                // buffer first). A prefetch never faults, past the block's
                // end too. (Not under loom: there a prefetch does nothing
                // and finding the pointer would be one more modelled load.)
                #[cfg(not(loom))]
                {
                    let next = self.ptr(off).wrapping_add(size);
                    prefetch(next);
                    prefetch(next.wrapping_add(64));
                }
                return Ok(off);
            }
            // The block ran out: take a new one. If another thread sharing
            // this lane refilled it meanwhile, ours replaces it (its tail is
            // abandoned, which only costs bytes).
            self.refill(block, block_size, true)?;
        }
    }

    /// Pointer to byte `off` of the arena (see `pages.rs`).
    #[inline(always)]
    fn ptr(&self, off: u32) -> *mut u8 {
        self.mem.ptr(off)
    }

    /// Allocates (from `block`, see [`place`](Self::place)) and fully
    /// initialises a node of `height` levels; its links are null. The
    /// node is private to the caller until it publishes it through a link.
    /// `height` must be 1 to 32 and the key at most 64 KiB − 1 bytes.
    ///
    /// With `values`, a value shorter than 64 KiB − 2 bytes (and not empty)
    /// is placed out of line, in that block, and the node keeps its offset:
    /// the node is smaller, so more nodes share a cache line (what tall
    /// nodes, which every search passes, are allocated this way for). The
    /// value is placed first; if the node then does not fit, its bytes are
    /// lost to the arena but no data changes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn alloc(
        &self,
        block: &Block,
        values: Option<&Block>,
        height: usize,
        seqno: u64,
        kind: u64,
        key: &[u8],
        value: &[u8],
    ) -> Result<NodeRef, Full> {
        let values = values.filter(|_| !value.is_empty() && value.len() < LONG - 1);
        self.alloc_from(height, seqno, kind, key, value, values, |size| {
            self.place(block, size)
        })
    }

    /// Like [`alloc`](Self::alloc), but only from a reservation's block
    /// (never refilled; its nodes count as the arena's own bytes). A node
    /// that does not fit fails without touching the arena's state.
    pub(crate) fn alloc_reserved(
        &self,
        block: &Block,
        height: usize,
        seqno: u64,
        kind: u64,
        key: &[u8],
        value: &[u8],
    ) -> Result<NodeRef, Full> {
        self.alloc_from(height, seqno, kind, key, value, None, |size| {
            let off = block.bump(size).ok_or(Full)?;
            self.direct_used.fetch_add(size, Ordering::Relaxed);
            Ok(off)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn alloc_from(
        &self,
        height: usize,
        seqno: u64,
        kind: u64,
        key: &[u8],
        value: &[u8],
        values: Option<&Block>,
        place: impl FnOnce(usize) -> Result<u32, Full>,
    ) -> Result<NodeRef, Full> {
        let size = match values {
            Some(_) => node_size_out(height, key.len()),
            None => node_size(height, key.len(), value.len()),
        };
        if size > self.max_node() || key.len() > u16::MAX as usize || !(1..=32).contains(&height) {
            return Err(Full);
        }
        let out = match values {
            Some(vb) => {
                let off = self.place(vb, value.len().next_multiple_of(ALIGN))?;
                // SAFETY: `place` handed out at least `value.len()` bytes at
                // `off` to this thread alone, inside one chunk; nothing
                // reads them before the node that points to them is
                // published (its linking CAS releases these writes too).
                unsafe {
                    std::ptr::copy_nonoverlapping(value.as_ptr(), self.ptr(off), value.len());
                }
                Some(off)
            }
            None => None,
        };
        let start = place(size)?;
        // The tower comes first; the reference points at the header.
        let off = start + (height * LINK) as u32;
        let p = self.ptr(off);
        let long = value.len() >= LONG && out.is_none();
        let flags = if out.is_some() { OUT } else { 0 };
        let meta = seqno << 8 | flags | ((height as u64 - 1) << 2) | (kind & 0b11);
        // SAFETY: `place` handed out `size` bytes at `start` to this thread
        // alone, inside one chunk, 4-aligned (chunks are 8-aligned and
        // every size is a multiple of 4); nothing else reads them until
        // the node is published. `size` covers the links below `p`, the
        // header, the key, the long length and the value written here.
        unsafe {
            for level in 0..height {
                p.sub((level + 1) * LINK)
                    .cast::<AtomicU32>()
                    .write(AtomicU32::new(0));
            }
            p.cast::<u64>().write_unaligned(meta);
            p.add(8).cast::<u16>().write(key.len() as u16);
            p.add(10).cast::<u16>().write(if long {
                LONG as u16
            } else {
                value.len() as u16
            });
            p.add(PREV_AT).cast::<AtomicU32>().write(AtomicU32::new(0));
            let data = p.add(HEADER);
            std::ptr::copy_nonoverlapping(key.as_ptr(), data, key.len());
            let mut data = data.add(key.len());
            if let Some(off) = out {
                data.cast::<u32>().write_unaligned(off);
            } else {
                if long {
                    data.cast::<u32>().write_unaligned(value.len() as u32);
                    data = data.add(4);
                }
                std::ptr::copy_nonoverlapping(value.as_ptr(), data, value.len());
            }
        }
        Ok(NodeRef(off))
    }

    /// The node's meta word.
    #[inline]
    fn meta(&self, n: NodeRef) -> u64 {
        let p = self.ptr(n.0);
        // SAFETY: by the module invariant `n` points to an initialised node
        // whose meta is immutable and visible to this thread.
        unsafe { p.cast::<u64>().read_unaligned() }
    }

    /// Sets the seqno of a node that is not yet published.
    ///
    /// # Safety
    ///
    /// `n` must come from [`alloc`](Self::alloc) on this thread and not be
    /// published yet (no link points to it, and no writer lane shows a
    /// seqno for the write it belongs to: readers of a lane's nodes read
    /// them only then), so no other thread can read the meta word
    /// concurrently.
    #[inline]
    pub(crate) unsafe fn set_seqno(&self, n: NodeRef, seqno: u64) {
        let p = self.ptr(n.0);
        let meta = seqno << 8 | (self.meta(n) & 0xFF);
        // SAFETY: the meta field of an allocated node; the caller
        // guarantees exclusive access.
        unsafe { p.cast::<u64>().write_unaligned(meta) };
    }

    /// The node's seqno.
    #[inline]
    pub(crate) fn seqno(&self, n: NodeRef) -> u64 {
        self.meta(n) >> 8
    }

    /// The node's kind (the low two bits of its meta word).
    #[inline]
    pub(crate) fn kind(&self, n: NodeRef) -> u64 {
        self.meta(n) & 0b11
    }

    /// The node's height.
    #[inline]
    pub(crate) fn height(&self, n: NodeRef) -> usize {
        ((self.meta(n) >> 2) & HEIGHT_MASK) as usize + 1
    }

    /// The node's key, value and seqno, from one header read.
    #[inline]
    pub(crate) fn entry(&self, n: NodeRef) -> (&[u8], &[u8], u64) {
        let p = self.ptr(n.0);
        // SAFETY: the header of an initialised node is immutable and
        // visible (invariant); the key, the long length and the value
        // follow it inside the node's allocation (or, with `OUT`, the
        // value's offset does, and the value lies at that offset in a
        // region `alloc` placed for it), were written before publication
        // and never change.
        unsafe {
            let meta = p.cast::<u64>().read_unaligned();
            let klen = p.add(8).cast::<u16>().read() as usize;
            let mut vlen = p.add(10).cast::<u16>().read() as usize;
            let key = p.add(HEADER);
            let mut value = key.add(klen);
            if meta & OUT != 0 {
                value = self.ptr(value.cast::<u32>().read_unaligned());
            } else if vlen == LONG {
                vlen = value.cast::<u32>().read_unaligned() as usize;
                value = value.add(4);
            }
            (
                std::slice::from_raw_parts(key, klen),
                std::slice::from_raw_parts(value, vlen),
                meta >> 8,
            )
        }
    }

    /// The node's key and seqno (the comparison of a search step).
    #[inline]
    pub(crate) fn key_seqno(&self, n: NodeRef) -> (&[u8], u64) {
        let p = self.ptr(n.0);
        // SAFETY: as for `entry`: the key follows the header.
        unsafe {
            let meta = p.cast::<u64>().read_unaligned();
            let klen = p.add(8).cast::<u16>().read() as usize;
            (std::slice::from_raw_parts(p.add(HEADER), klen), meta >> 8)
        }
    }

    /// The node's key.
    #[inline]
    pub(crate) fn key(&self, n: NodeRef) -> &[u8] {
        self.key_seqno(n).0
    }

    /// The node's value.
    #[inline]
    pub(crate) fn value(&self, n: NodeRef) -> &[u8] {
        self.entry(n).1
    }

    /// Arena bytes the node takes: its own, and its out-of-line value's.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn footprint(&self, n: NodeRef) -> (usize, usize) {
        let (key, value, _) = self.entry(n);
        if self.meta(n) & OUT != 0 {
            (
                node_size_out(self.height(n), key.len()),
                value.len().next_multiple_of(ALIGN),
            )
        } else {
            (node_size(self.height(n), key.len(), value.len()), 0)
        }
    }

    /// Link `level` of `n`. The caller (the list) only asks for levels
    /// below the node's height: it reached the node at that level, or it
    /// allocated it with that height (checked in debug builds).
    #[inline]
    fn link(&self, n: NodeRef, level: usize) -> &AtomicU32 {
        let p = self.ptr(n.0);
        debug_assert!(level < self.height(n), "level {level} above node height");
        // SAFETY: link `level` of an initialised node, written as an
        // `AtomicU32` by `alloc`, 4-aligned, and only ever accessed
        // atomically; `level < height` (the list's invariant, above) keeps
        // it inside the node's tower.
        unsafe { &*p.sub((level + 1) * LINK).cast::<AtomicU32>() }
    }

    /// The level-0 prev link of `n`.
    #[inline]
    fn prev_link(&self, n: NodeRef) -> &AtomicU32 {
        let p = self.ptr(n.0);
        // SAFETY: the prev link of an initialised node, written as an
        // `AtomicU32` by `alloc`, 4-aligned, only accessed atomically.
        unsafe { &*p.add(PREV_AT).cast::<AtomicU32>() }
    }

    /// Prefetches what a search step reads of node `n`: its lowest link,
    /// header and the start of its key (one or two cache lines).
    #[inline]
    pub(crate) fn prefetch(&self, n: NodeRef) {
        let p = self.ptr(n.0);
        prefetch(p.wrapping_sub(LINK));
        prefetch(p.wrapping_add(HEADER + 4));
    }

    /// The next node at `level` (Acquire).
    #[inline]
    pub(crate) fn next(&self, n: NodeRef, level: usize) -> Option<NodeRef> {
        match self.link(n, level).load(Ordering::Acquire) {
            0 => None,
            off => Some(NodeRef(off)),
        }
    }

    /// The prev hint of `n` (Acquire): a node that sorts before `n`, or
    /// `None` if not set.
    #[inline]
    pub(crate) fn prev(&self, n: NodeRef) -> Option<NodeRef> {
        match self.prev_link(n).load(Ordering::Acquire) {
            0 => None,
            off => Some(NodeRef(off)),
        }
    }

    /// Sets `n`'s link at `level` before it is published at that level
    /// (Relaxed: the publishing CAS releases it).
    #[inline]
    pub(crate) fn set_next(&self, n: NodeRef, level: usize, next: Option<NodeRef>) {
        self.link(n, level)
            .store(next.map_or(0, |r| r.0), Ordering::Relaxed);
    }

    /// Sets `n`'s prev hint before `n` is published.
    #[inline]
    pub(crate) fn set_prev(&self, n: NodeRef, prev: NodeRef) {
        self.prev_link(n).store(prev.0, Ordering::Relaxed);
    }

    /// Moves `n`'s prev hint from `expected` to `new` (Release).
    #[inline]
    pub(crate) fn cas_prev(&self, n: NodeRef, expected: Option<NodeRef>, new: NodeRef) -> bool {
        self.prev_link(n)
            .compare_exchange(
                expected.map_or(0, |r| r.0),
                new.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Publishes `new` after `prev` at `level` if `prev`'s link is still
    /// `expected` (Release on success).
    #[inline]
    pub(crate) fn cas_next(
        &self,
        prev: NodeRef,
        level: usize,
        expected: Option<NodeRef>,
        new: NodeRef,
    ) -> bool {
        self.link(prev, level)
            .compare_exchange(
                expected.map_or(0, |r| r.0),
                new.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn nodes_round_trip_across_chunk_handovers() {
        let arena = Arena::new(1 << 16, 10, false, false); // 1 KiB chunks, 64 of them
        let block = Block::new();
        let mut nodes = Vec::new();
        for i in 0..300u32 {
            let key = i.to_be_bytes();
            let value = vec![i as u8; (i % 50) as usize];
            let height = 1 + (i % 4) as usize;
            match arena.alloc(&block, None, height, u64::from(i), 1, &key, &value) {
                Ok(n) => nodes.push((n, key, value, height)),
                Err(Full) => break,
            }
        }
        assert!(nodes.len() > 100);
        assert!(arena.allocated_bytes() > 1024, "used more than one chunk");
        for (i, (n, key, value, height)) in nodes.iter().enumerate() {
            assert_eq!(arena.key(*n), key);
            assert_eq!(arena.value(*n), &value[..]);
            assert_eq!(arena.height(*n), *height);
            assert_eq!(arena.seqno(*n), i as u64);
            assert_eq!(arena.kind(*n), 1);
            assert_eq!(arena.next(*n, 0), None);
            assert_eq!(arena.prev(*n), None);
        }
        arena.set_next(nodes[0].0, 0, Some(nodes[1].0));
        assert_eq!(arena.next(nodes[0].0, 0), Some(nodes[1].0));
        assert!(arena.cas_next(nodes[0].0, 0, Some(nodes[1].0), nodes[2].0));
        assert!(!arena.cas_next(nodes[0].0, 0, Some(nodes[1].0), nodes[3].0));
        assert!(arena.cas_prev(nodes[2].0, None, nodes[0].0));
        assert_eq!(arena.prev(nodes[2].0), Some(nodes[0].0));
        let used: usize = nodes
            .iter()
            .map(|(_, k, v, h)| node_size(*h, k.len(), v.len()))
            .sum();
        assert_eq!(block.used() + arena.direct_used(), used, "exact accounting");
    }

    /// A dropped arena's mapping is taken by the next arena of its shape
    /// (Linux), and nodes written there read back whole over what the
    /// first arena left (debug builds fill it with a pattern on drop).
    #[test]
    fn a_dropped_arena_is_reused_by_the_next_of_its_shape() {
        // A shape no other test makes: 3 MiB of 1 MiB chunks, small pages.
        let first = Arena::new(3 << 20, 20, false, true);
        let block = Block::new();
        for i in 0..2000u32 {
            first
                .alloc(&block, None, 4, 1, 1, &i.to_be_bytes(), &[0xEE; 40])
                .unwrap();
        }
        let base = first.mem.ptr(0) as usize;
        drop((first, block));
        let second = Arena::new(3 << 20, 20, false, true);
        #[cfg(target_os = "linux")]
        assert_eq!(
            second.mem.ptr(0) as usize,
            base,
            "the kept mapping is taken"
        );
        let _ = base;
        let block = Block::new();
        let nodes: Vec<_> = (0..500u32)
            .map(|i| {
                let value = vec![i as u8; (i % 50) as usize];
                let n = second.alloc(
                    &block,
                    None,
                    1 + (i % 5) as usize,
                    7,
                    1,
                    &i.to_le_bytes(),
                    &value,
                );
                (n.unwrap(), i, value)
            })
            .collect();
        for (n, i, value) in nodes {
            assert_eq!(second.entry(n), (&i.to_le_bytes()[..], &value[..], 7));
            assert_eq!(second.height(n), 1 + (i % 5) as usize);
            for level in 0..second.height(n) {
                assert_eq!(second.next(n, level), None, "a fresh node links nowhere");
            }
        }
    }

    #[test]
    fn long_values_round_trip() {
        let arena = Arena::new(1 << 22, 20, true, false);
        let block = Block::new();
        for len in [0usize, 1, LONG - 1, LONG, LONG + 1, 200_000] {
            let value = vec![(len % 251) as u8; len];
            let n = arena.alloc(&block, None, 3, 9, 0, b"key", &value).unwrap();
            assert_eq!(arena.entry(n), (&b"key"[..], &value[..], 9));
            assert_eq!(arena.key(n), b"key");
            assert_eq!(arena.kind(n), 0);
            assert_eq!(arena.height(n), 3);
        }
    }

    /// Values placed out of line read back whatever their length (long
    /// and empty ones stay inline), with the node's height, kind and
    /// seqno intact, and the blocks count exactly their bytes.
    #[test]
    fn out_of_line_values_round_trip() {
        let arena = Arena::new(1 << 24, 20, true, false);
        let (nodes, values) = (Block::new(), Block::new());
        for (i, len) in [0usize, 1, 3, 32, 1000, LONG - 2, LONG - 1, LONG, 70_000]
            .into_iter()
            .enumerate()
        {
            let value: Vec<u8> = (0..len).map(|j| (j * 7 + i) as u8).collect();
            let height = 5 + i % 3;
            let key = [b'k', i as u8];
            let before = nodes.used() + values.used() + arena.direct_used();
            let n = arena
                .alloc(
                    &nodes,
                    Some(&values),
                    height,
                    40 + i as u64,
                    (i % 2) as u64,
                    &key,
                    &value,
                )
                .unwrap();
            assert_eq!(arena.entry(n), (&key[..], &value[..], 40 + i as u64));
            assert_eq!((arena.height(n), arena.kind(n)), (height, (i % 2) as u64));
            let (own, out) = arena.footprint(n);
            let outside = (1..LONG - 1).contains(&len);
            assert_eq!(out > 0, outside, "length {len}");
            let after = nodes.used() + values.used() + arena.direct_used();
            assert_eq!(after - before, own + out, "length {len}");
        }
    }

    #[test]
    fn full_is_reported_sticky_and_oversized_nodes_refused() {
        let arena = Arena::new(2048, 10, false, false);
        let block = Block::new();
        assert_eq!(
            arena.alloc(&block, None, 1, 0, 1, &[0; 2000], b""),
            Err(Full)
        );
        let mut n = 0;
        while arena.alloc(&block, None, 1, 0, 1, b"k", &[0; 100]).is_ok() {
            n += 1;
        }
        // 120-byte nodes are larger than a quarter of a 64-byte block, so
        // they come from the shared cursor: 8 fit the first chunk (after
        // the null word), 8 the second.
        assert_eq!(n, 8 + 8);
        assert_eq!(
            arena.alloc(&block, None, 1, 0, 1, b"k", &[]),
            Err(Full),
            "Full is sticky: not even the smallest node fits afterwards"
        );
        assert!(arena.is_full() && arena.remaining() == 0);
    }
}
