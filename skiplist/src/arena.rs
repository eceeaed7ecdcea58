//! The arena: the one module of the skip list that touches raw memory.
//!
//! Nodes are bump-allocated from chunks of `1 << chunk_shift` bytes that
//! are allocated on demand (so an empty table costs nothing and
//! `memory_usage` is exact) and freed all at once when the arena drops. A
//! node is addressed by a `u32` offset: chunk index in the high bits,
//! position in the chunk in the low bits; offset 0 is null.
//!
//! Node layout (8-byte aligned):
//!
//! | field | size |
//! |---|---|
//! | key length (keys are at most 64 KiB − 1) | 2 |
//! | height | 1 |
//! | (padding) | 1 |
//! | value length | 4 |
//! | trailer (`seqno << 8 \| kind`) | 8 |
//! | `height` links (`sync::AtomicU32`, the next node per level) | `height × size_of::<AtomicU32>()` |
//! | key bytes, then value bytes | key + value |
//!
//! Invariant (what makes the accessors safe): a [`NodeRef`] is only ever
//! made by [`Arena::alloc`], which fully initialises the node, or loaded
//! from a link, whose stores are `Release` and loads `Acquire`, so every
//! thread holding a `NodeRef` sees the node's initialisation. After
//! initialisation only the links change, and only through atomics; key,
//! value, trailer and height are immutable. Chunks are never moved or freed
//! while the arena lives.

use ordex_core::sync::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::mem::{align_of, size_of};

/// An arena offset that points to a fully initialised node (see the module
/// invariant). `Copy`, 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeRef(u32);

const HEADER: usize = 16;
const LINK: usize = size_of::<AtomicU32>();

fn links_at() -> usize {
    HEADER.next_multiple_of(align_of::<AtomicU32>())
}

/// Bytes a node of this shape occupies (rounded up to 8).
pub(crate) fn node_size(height: usize, key: usize, value: usize) -> usize {
    (links_at() + height * LINK + key + value).next_multiple_of(8)
}

/// The arena ran out of room (its capacity, or the chunk table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

pub(crate) struct Arena {
    chunk_shift: u32,
    /// Installed chunks; a null entry is not yet allocated.
    chunks: Box<[AtomicPtr<u8>]>,
    /// Chunks this arena may allocate (capacity / chunk size).
    max_chunks: usize,
    /// `chunk index << 32 | position` of the next free byte.
    cursor: AtomicU64,
    /// Bytes of chunk tails skipped at handovers (so that the bytes in use
    /// follow from the cursor without a counter on the allocation path).
    wasted: AtomicUsize,
    /// Chunks allocated.
    allocated: AtomicUsize,
}

// SAFETY: the chunks are plain heap memory owned by the arena; all shared
// access follows the module invariant (immutable node bytes published with
// Release/Acquire, links only through atomics).
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

impl Arena {
    /// An arena of at most `capacity` bytes in chunks of `1 << chunk_shift`
    /// bytes (`8 <= chunk_shift <= 24`).
    pub(crate) fn new(capacity: usize, chunk_shift: u32) -> Arena {
        assert!((8..=24).contains(&chunk_shift), "chunk_shift out of range");
        let chunk = 1usize << chunk_shift;
        // Offsets are u32: chunk index in the bits above chunk_shift.
        let addressable = 1usize << (32 - chunk_shift);
        let max_chunks = (capacity / chunk).clamp(1, addressable);
        let chunks = (0..max_chunks)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        Arena {
            chunk_shift,
            chunks,
            max_chunks,
            // Byte 0 of chunk 0 is never handed out: offset 0 means null.
            cursor: AtomicU64::new(8),
            wasted: AtomicUsize::new(0),
            allocated: AtomicUsize::new(0),
        }
    }

    fn chunk_size(&self) -> usize {
        1 << self.chunk_shift
    }

    /// The largest node this arena can hold.
    pub(crate) fn max_node(&self) -> usize {
        self.chunk_size() - 8
    }

    /// Heap bytes held (allocated chunks).
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.allocated.load(Ordering::Relaxed) * self.chunk_size()
    }

    /// Bytes handed out to nodes.
    pub(crate) fn used_bytes(&self) -> usize {
        let cur = self.cursor.load(Ordering::Relaxed);
        let (ci, pos) = ((cur >> 32) as usize, cur as u32 as usize);
        (ci * self.chunk_size() + pos).saturating_sub(8 + self.wasted.load(Ordering::Relaxed))
    }

    /// Bytes the arena may still allocate (chunks not yet allocated plus
    /// the rest of the current one).
    pub(crate) fn remaining(&self) -> usize {
        let cur = self.cursor.load(Ordering::Relaxed);
        let (ci, pos) = ((cur >> 32) as usize, cur as u32 as usize);
        (self.max_chunks - ci) * self.chunk_size() - pos
    }

    /// Makes sure chunk `ci` is allocated. Several threads may race here;
    /// exactly one allocation wins and the others free theirs.
    fn ensure_chunk(&self, ci: usize) {
        if !self.chunks[ci].load(Ordering::Acquire).is_null() {
            return;
        }
        let layout = self.chunk_layout();
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        match self.chunks[ci].compare_exchange(
            std::ptr::null_mut(),
            p,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                self.allocated.fetch_add(1, Ordering::Relaxed);
            }
            // SAFETY: `p` was allocated above with `layout` and never shared.
            Err(_) => unsafe { dealloc(p, layout) },
        }
    }

    fn chunk_layout(&self) -> Layout {
        Layout::from_size_align(self.chunk_size(), 8).expect("valid chunk layout")
    }

    /// Reserves `size` bytes (a multiple of 8, at most `max_node`); returns
    /// their offset.
    fn reserve(&self, size: usize) -> Result<u32, Full> {
        debug_assert!(size.is_multiple_of(8) && size <= self.max_node());
        let chunk = self.chunk_size() as u64;
        let mut cur = self.cursor.load(Ordering::Acquire);
        loop {
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
                    // Full is a state, not a size: close the last chunk so
                    // that no later (smaller) node squeezes into its tail and
                    // every later write sees `Full` too, as an engine
                    // rotating its memtable expects.
                    if self
                        .cursor
                        .compare_exchange(
                            cur,
                            (ci << 32) | chunk,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        )
                        .is_ok()
                    {
                        self.wasted
                            .fetch_add((chunk - pos) as usize, Ordering::Relaxed);
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
                    Ok(_) => {
                        self.wasted
                            .fetch_add((chunk - pos) as usize, Ordering::Relaxed);
                        cur = (next as u64) << 32;
                    }
                    Err(now) => cur = now,
                }
            }
        }
    }

    /// Pointer to byte `off` of the arena.
    ///
    /// Panics if `off` is not in an allocated chunk (a broken invariant,
    /// never bad input).
    #[inline]
    fn ptr(&self, off: u32) -> *mut u8 {
        let ci = (off >> self.chunk_shift) as usize;
        let pos = (off & ((1 << self.chunk_shift) - 1)) as usize;
        // Relaxed suffices: whoever holds an offset already synchronised
        // with the chunk's installation (see the module invariant).
        let base = self.chunks[ci].load(Ordering::Relaxed);
        assert!(!base.is_null(), "arena offset {off} is in no chunk");
        // SAFETY: `pos` < chunk size, so the result is inside the chunk.
        unsafe { base.add(pos) }
    }

    /// Allocates and fully initialises a node; its links are null. The
    /// node is private to the caller until it publishes it through a link.
    pub(crate) fn alloc(
        &self,
        height: usize,
        trailer: u64,
        key: &[u8],
        value: &[u8],
    ) -> Result<NodeRef, Full> {
        let size = node_size(height, key.len(), value.len());
        if size > self.max_node() || key.len() > u16::MAX as usize || height > u8::MAX as usize {
            return Err(Full);
        }
        let off = self.reserve(size)?;
        let p = self.ptr(off);
        // SAFETY: `reserve` handed out `size` bytes at `p` to this thread
        // alone, inside one chunk, 8-aligned (chunks are 8-aligned and
        // every size is a multiple of 8); nothing else reads them until the
        // node is published.
        unsafe {
            p.cast::<u16>().write(key.len() as u16);
            p.add(2).write(height as u8);
            p.add(4).cast::<u32>().write(value.len() as u32);
            p.add(8).cast::<u64>().write(trailer);
            let links = p.add(links_at());
            for level in 0..height {
                links
                    .add(level * LINK)
                    .cast::<AtomicU32>()
                    .write(AtomicU32::new(0));
            }
            let data = links.add(height * LINK);
            std::ptr::copy_nonoverlapping(key.as_ptr(), data, key.len());
            std::ptr::copy_nonoverlapping(value.as_ptr(), data.add(key.len()), value.len());
        }
        Ok(NodeRef(off))
    }

    #[inline]
    fn header(&self, n: NodeRef) -> (usize, usize, u64, usize, *const u8) {
        let p = self.ptr(n.0);
        // SAFETY: by the module invariant `n` points to an initialised node
        // whose header is immutable and visible to this thread.
        unsafe {
            (
                p.cast::<u16>().read() as usize,
                p.add(4).cast::<u32>().read() as usize,
                p.add(8).cast::<u64>().read(),
                p.add(2).read() as usize,
                p,
            )
        }
    }

    /// Sets the trailer of a node that is not yet published.
    ///
    /// # Safety
    ///
    /// `n` must come from [`alloc`](Self::alloc) on this thread and not be
    /// published yet (no link points to it), so no other thread can read
    /// the trailer concurrently.
    #[inline]
    pub(crate) unsafe fn set_trailer(&self, n: NodeRef, trailer: u64) {
        let p = self.ptr(n.0);
        // SAFETY: the trailer field of an allocated node, 8-aligned; the
        // caller guarantees exclusive access.
        unsafe { p.add(8).cast::<u64>().write(trailer) };
    }

    /// The node's trailer (`seqno << 8 | kind`).
    #[inline]
    pub(crate) fn trailer(&self, n: NodeRef) -> u64 {
        let p = self.ptr(n.0);
        // SAFETY: the immutable trailer of an initialised node (invariant).
        unsafe { p.add(8).cast::<u64>().read() }
    }

    /// The node's height.
    #[inline]
    pub(crate) fn height(&self, n: NodeRef) -> usize {
        self.header(n).3
    }

    /// The node's key and trailer, from one header read (the comparison
    /// of a search step).
    #[inline]
    pub(crate) fn key_trailer(&self, n: NodeRef) -> (&[u8], u64) {
        let (klen, _, trailer, height, p) = self.header(n);
        // SAFETY: the key bytes follow the links inside the node's
        // allocation, were written before publication and never change.
        let key = unsafe { std::slice::from_raw_parts(p.add(links_at() + height * LINK), klen) };
        (key, trailer)
    }

    /// The node's key.
    #[inline]
    pub(crate) fn key(&self, n: NodeRef) -> &[u8] {
        self.key_trailer(n).0
    }

    /// The node's value.
    #[inline]
    pub(crate) fn value(&self, n: NodeRef) -> &[u8] {
        let (klen, vlen, _, height, p) = self.header(n);
        // SAFETY: as for `key`; the value follows the key.
        unsafe { std::slice::from_raw_parts(p.add(links_at() + height * LINK + klen), vlen) }
    }

    /// Link `level` of `n`. The caller (the list) only asks for levels
    /// below the node's height: it reached the node at that level, or it
    /// allocated it with that height. Checked in debug builds; in release a
    /// violation would read the node's own bytes as a link, still inside
    /// its allocation.
    #[inline]
    fn link(&self, n: NodeRef, level: usize) -> &AtomicU32 {
        let p = self.ptr(n.0);
        debug_assert!(level < self.height(n), "level {level} above node height");
        // SAFETY: link `level` of an initialised node, written as an
        // `AtomicU32` by `alloc`, suitably aligned, and only ever accessed
        // atomically; `level < height` (above) keeps it inside the node.
        unsafe { &*p.add(links_at() + level * LINK).cast::<AtomicU32>() }
    }

    /// The next node at `level` (Acquire).
    #[inline]
    pub(crate) fn next(&self, n: NodeRef, level: usize) -> Option<NodeRef> {
        match self.link(n, level).load(Ordering::Acquire) {
            0 => None,
            off => Some(NodeRef(off)),
        }
    }

    /// Sets `n`'s link at `level` before `n` is published (Relaxed: the
    /// publishing CAS releases it).
    #[inline]
    pub(crate) fn set_next(&self, n: NodeRef, level: usize, next: Option<NodeRef>) {
        self.link(n, level)
            .store(next.map_or(0, |r| r.0), Ordering::Relaxed);
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

impl Drop for Arena {
    fn drop(&mut self) {
        let layout = self.chunk_layout();
        for c in self.chunks.iter() {
            let p = c.load(Ordering::Relaxed);
            if !p.is_null() {
                // SAFETY: `p` was allocated by `ensure_chunk` with `layout`;
                // `&mut self` means no reader is left.
                unsafe { dealloc(p, layout) };
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn nodes_round_trip_across_chunk_handovers() {
        let arena = Arena::new(1 << 16, 10); // 1 KiB chunks, 64 of them
        let mut nodes = Vec::new();
        for i in 0..200u32 {
            let key = i.to_be_bytes();
            let value = vec![i as u8; (i % 50) as usize];
            let height = 1 + (i % 4) as usize;
            match arena.alloc(height, u64::from(i) << 8 | 1, &key, &value) {
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
            assert_eq!(arena.trailer(*n) >> 8, i as u64);
            assert_eq!(arena.next(*n, 0), None);
        }
        arena.set_next(nodes[0].0, 0, Some(nodes[1].0));
        assert_eq!(arena.next(nodes[0].0, 0), Some(nodes[1].0));
        assert!(arena.cas_next(nodes[0].0, 0, Some(nodes[1].0), nodes[2].0));
        assert!(!arena.cas_next(nodes[0].0, 0, Some(nodes[1].0), nodes[3].0));
    }

    #[test]
    fn full_is_reported_and_oversized_nodes_refused() {
        let arena = Arena::new(2048, 10);
        assert_eq!(arena.alloc(1, 0, &[0; 2000], b""), Err(Full));
        let mut n = 0;
        while arena.alloc(1, 0, b"k", &[0; 100]).is_ok() {
            n += 1;
        }
        assert_eq!(
            n,
            7 + 8,
            "128-byte nodes: 7 fit the first chunk (after the null byte), 8 the second"
        );
        assert_eq!(
            arena.alloc(1, 0, b"k", &[0; 100]),
            Err(Full),
            "Full is stable"
        );
    }
}
