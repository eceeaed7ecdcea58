//! The arena's address space: the second (and last) module of the skip
//! list that touches raw memory.
//!
//! Arena offsets are `chunk index << chunk_shift | position`, so they are
//! already addresses in one flat space of `max_chunks << chunk_shift`
//! bytes. [`Memory`] maps an offset to a pointer, and has two
//! implementations:
//!
//! - **Linux (the fast one): one flat mapping.** The whole capacity is
//!   reserved up front as one anonymous mapping (`MAP_NORESERVE`: address
//!   space only; the kernel commits a page when it is first written, so an
//!   empty table costs nothing and a table costs what it touched). An
//!   offset becomes a pointer with one addition: no chunk table to load,
//!   no bounds or null check on the search path. Measured with callgrind,
//!   the chunk-table translation was over half the instructions of a `get`.
//!   With [`Memory::new`]'s `huge_pages` the mapping past its first
//!   [`SMALL_START`] bytes is 2 MiB-aligned and advised for transparent
//!   huge pages (`MADV_HUGEPAGE`), the way
//!   RocksDB's `memtable_huge_page_size` backs its arena: a search in a
//!   table of a million entries touches about thirty nodes scattered over
//!   a hundred megabytes, and with 4 KiB pages nearly every step is a TLB
//!   miss too (on a virtual machine, a two-dimensional page walk). The
//!   advice is only advice: without huge pages to give, the kernel backs
//!   the mapping with small pages and nothing else changes. If the kernel
//!   refuses a mapping that large (strict overcommit), the capacity is
//!   halved until it accepts one, and the table is full that much sooner.
//!
//!   A dropped table's mapping is kept for the next table of the same
//!   size and page settings that the process makes (one at a time, with at
//!   most [`KEEP_MAX`] of its pages still committed), as an allocator keeps
//!   what is freed for the next allocation: an engine seals and drops a
//!   memtable for every one it makes, and a table writing to pages the
//!   kernel has already committed takes no page fault and no clearing of a
//!   fresh page per 4 KiB (or 2 MiB) written. Nothing in the arena relies
//!   on zeroed memory: every node is written whole when it is allocated.
//! - **Elsewhere, and under loom: a chunk table.** Each chunk is allocated
//!   from the global allocator (zeroed) the first time the arena's cursor
//!   reaches it, installed with a CAS, and looked up per access.

/// Huge page size the flat mapping aligns to.
#[cfg(all(target_os = "linux", not(loom)))]
const HUGE_PAGE: usize = 2 << 20;

/// Bytes at the start of a huge-page arena kept on small pages (placed in
/// the alignment slack before the first huge page boundary): they hold the
/// head node and the first writer blocks, all a small table touches, so
/// making a table commits a few 4 KiB pages rather than a zeroed 2 MiB
/// one. That fault was most of the cost of making a table (about 110 of
/// 150 us, `index-bench memtable`); a whole first 2 MiB on small pages
/// cost a fresh 200k-entry load 2 to 9% more faults (`index-bench ab`).
#[cfg(all(target_os = "linux", not(loom)))]
const SMALL_START: usize = 256 << 10;

/// Most bytes of a dropped table's mapping that stay committed while it
/// is kept for the next table (see the [module docs](self)); pages past
/// them are given back to the kernel.
#[cfg(all(target_os = "linux", not(loom)))]
const KEEP_MAX: usize = 64 << 20;

/// A dropped table's mapping, kept for the next table of its shape (the
/// addresses as integers: the mapping is owned by this slot alone).
#[cfg(all(target_os = "linux", not(loom)))]
struct Spare {
    raw: usize,
    span: usize,
    base: usize,
    len: usize,
    chunk_shift: u32,
    huge_pages: bool,
}

/// The one mapping kept (see [`Spare`]).
#[cfg(all(target_os = "linux", not(loom)))]
static SPARE: std::sync::Mutex<Option<Spare>> = std::sync::Mutex::new(None);

/// The arena's memory; see the [module docs](self).
pub(crate) struct Memory {
    #[cfg(all(target_os = "linux", not(loom)))]
    base: *mut u8,
    /// Bytes mapped at `base` (a whole number of chunks).
    #[cfg(all(target_os = "linux", not(loom)))]
    len: usize,
    /// Start of the mapping (before alignment) and its length.
    #[cfg(all(target_os = "linux", not(loom)))]
    mapping: (*mut u8, usize),
    #[cfg(all(target_os = "linux", not(loom)))]
    huge_pages: bool,
    /// Whether a drop keeps the mapping for the next table.
    #[cfg(all(target_os = "linux", not(loom)))]
    reuse: bool,
    /// Bytes from `base` that may have been written (set before a drop).
    #[cfg(all(target_os = "linux", not(loom)))]
    touched: usize,

    #[cfg(not(all(target_os = "linux", not(loom))))]
    chunks: Box<[ordex_core::sync::AtomicPtr<u8>]>,
    chunk_shift: u32,
}

// SAFETY: `Memory` owns its mapping or chunks (plain memory, no thread
// affinity); what is stored in it is shared under the arena's invariant.
unsafe impl Send for Memory {}
// SAFETY: as above; `&Memory` only hands out pointers.
unsafe impl Sync for Memory {}

#[cfg(all(target_os = "linux", not(loom)))]
impl Memory {
    /// Address space for up to `max_chunks` chunks of `1 << chunk_shift`
    /// bytes; returns it with the number of chunks it really holds (fewer
    /// only if the kernel refused the full size; at least one, or the
    /// allocation error handler runs). With `reuse`, the mapping a dropped
    /// table kept is taken if it has this shape, and this one is kept when
    /// dropped (see the [module docs](self)).
    pub(crate) fn new(
        max_chunks: usize,
        chunk_shift: u32,
        huge_pages: bool,
        reuse: bool,
    ) -> (Memory, usize) {
        let mut chunks = max_chunks.max(1);
        if reuse {
            if let Some(mem) = Self::take_spare(chunks << chunk_shift, chunk_shift, huge_pages) {
                return (mem, chunks);
            }
        }
        loop {
            let len = chunks << chunk_shift;
            if let Some(mut mem) = Self::map(len, chunk_shift, huge_pages) {
                mem.reuse = reuse;
                return (mem, chunks);
            }
            if chunks == 1 {
                let layout =
                    std::alloc::Layout::from_size_align(len, HUGE_PAGE).expect("chunk layout");
                std::alloc::handle_alloc_error(layout);
            }
            chunks /= 2;
        }
    }

    fn map(len: usize, chunk_shift: u32, huge_pages: bool) -> Option<Memory> {
        // Room to put the end of the small start on a huge page boundary.
        let span = len
            + if huge_pages {
                HUGE_PAGE + SMALL_START
            } else {
                0
            };
        // SAFETY: an anonymous private mapping at an address of the
        // kernel's choosing affects no existing memory.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return None;
        }
        let raw = raw.cast::<u8>();
        let mut base = raw;
        if huge_pages {
            // The first huge page boundary at least SMALL_START in: the
            // arena starts SMALL_START before it.
            let boundary = (raw as usize + SMALL_START).next_multiple_of(HUGE_PAGE);
            let skip = boundary - SMALL_START - raw as usize;
            base = raw.wrapping_add(skip);
            let small = SMALL_START.min(len);
            // SAFETY: `base..base + len` lies inside the mapping just made
            // (`skip < HUGE_PAGE`, and the span has `HUGE_PAGE +
            // SMALL_START` of slack), and its two parts are page-aligned
            // (`raw` is, and so are `SMALL_START` and the boundary);
            // madvise only changes how their pages are backed. An error
            // (THP disabled, or not built in) leaves the kernel's default,
            // which is fine. NOHUGEPAGE on the small start matters only
            // where THP is `always`.
            unsafe {
                libc::madvise(base.cast(), small, libc::MADV_NOHUGEPAGE);
                if len > small {
                    libc::madvise(base.add(small).cast(), len - small, libc::MADV_HUGEPAGE);
                }
            }
        }
        Some(Memory {
            base,
            len,
            mapping: (raw, span),
            huge_pages,
            reuse: false,
            touched: 0,
            chunk_shift,
        })
    }

    /// The kept mapping, if it has this shape.
    fn take_spare(len: usize, chunk_shift: u32, huge_pages: bool) -> Option<Memory> {
        let mut slot = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(s)
                if s.len == len && s.chunk_shift == chunk_shift && s.huge_pages == huge_pages => {}
            _ => return None,
        }
        let s = slot.take()?;
        Some(Memory {
            base: s.base as *mut u8,
            len: s.len,
            mapping: (s.raw as *mut u8, s.span),
            huge_pages,
            reuse: true,
            touched: 0,
            chunk_shift,
        })
    }

    /// Notes that the arena may have written bytes `..touched` (what a
    /// drop keeps committed, up to [`KEEP_MAX`]).
    pub(crate) fn set_touched(&mut self, touched: usize) {
        self.touched = touched.min(self.len);
    }

    /// Keeps the mapping for the next table if the slot is free (with
    /// its pages past [`KEEP_MAX`] given back); `false` if it is not.
    fn keep(&mut self) -> bool {
        let mut slot = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return false;
        }
        let page = if self.huge_pages { HUGE_PAGE } else { 4096 };
        let base = self.base as usize;
        // Past KEEP_MAX, from a page boundary on (the huge pages past the
        // small start are aligned on `base + SMALL_START`).
        let from = (base + KEEP_MAX).next_multiple_of(page) - base;
        if self.touched > from {
            // SAFETY: `base + from .. base + touched` lies inside the
            // mapping (`touched <= len`) and starts on a page boundary;
            // nothing refers into it (`&mut self` in a drop). Its pages
            // read as zeros afterwards, which nothing relies on either way.
            unsafe {
                libc::madvise(
                    self.base.add(from).cast(),
                    self.touched - from,
                    libc::MADV_DONTNEED,
                );
            }
        }
        // Debug builds fill what stays committed with a pattern, so the
        // tests catch any read of arena memory the arena did not write.
        #[cfg(debug_assertions)]
        // SAFETY: as above, `base .. base + touched.min(from)` is inside
        // the mapping and unreferenced.
        unsafe {
            self.base.write_bytes(0xA5, self.touched.min(from));
        }
        *slot = Some(Spare {
            raw: self.mapping.0 as usize,
            span: self.mapping.1,
            base,
            len: self.len,
            chunk_shift: self.chunk_shift,
            huge_pages: self.huge_pages,
        });
        true
    }

    /// Makes chunk `ci` usable. Pages of the flat mapping need nothing:
    /// the kernel commits them on first write.
    #[inline]
    pub(crate) fn install(&self, ci: usize) {
        debug_assert!(ci << self.chunk_shift < self.len);
    }

    /// Pointer to byte `off` of the arena; `off` must lie in an installed
    /// chunk (checked in debug builds). Dereferencing it is the caller's
    /// business (the arena's invariant).
    #[inline(always)]
    pub(crate) fn ptr(&self, off: u32) -> *mut u8 {
        debug_assert!((off as usize) < self.len, "arena offset {off} out of range");
        self.base.wrapping_add(off as usize)
    }
}

#[cfg(all(target_os = "linux", not(loom)))]
impl Drop for Memory {
    fn drop(&mut self) {
        if self.reuse && self.keep() {
            return;
        }
        // SAFETY: the mapping made in `map`, exactly as returned by mmap;
        // `&mut self` means nothing refers into it any more.
        let rc = unsafe { libc::munmap(self.mapping.0.cast(), self.mapping.1) };
        debug_assert_eq!(rc, 0, "munmap of the arena failed");
    }
}

#[cfg(not(all(target_os = "linux", not(loom))))]
impl Memory {
    /// A chunk table for up to `max_chunks` chunks of `1 << chunk_shift`
    /// bytes (allocated on demand); returns it with `max_chunks`.
    pub(crate) fn new(
        max_chunks: usize,
        chunk_shift: u32,
        _huge_pages: bool,
        _reuse: bool,
    ) -> (Memory, usize) {
        let max_chunks = max_chunks.max(1);
        let chunks = (0..max_chunks)
            .map(|_| ordex_core::sync::AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        (
            Memory {
                chunks,
                chunk_shift,
            },
            max_chunks,
        )
    }

    /// Nothing to note: chunks are freed with the table.
    pub(crate) fn set_touched(&mut self, _touched: usize) {}

    fn layout(&self) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(1 << self.chunk_shift, 8).expect("chunk layout")
    }

    /// Makes sure chunk `ci` is allocated. Several threads may race here;
    /// exactly one allocation wins and the others free theirs.
    pub(crate) fn install(&self, ci: usize) {
        use ordex_core::sync::Ordering;
        if !self.chunks[ci].load(Ordering::Acquire).is_null() {
            return;
        }
        let layout = self.layout();
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        match self.chunks[ci].compare_exchange(
            std::ptr::null_mut(),
            p,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {}
            // SAFETY: `p` was allocated above with `layout` and never
            // shared.
            Err(_) => unsafe { std::alloc::dealloc(p, layout) },
        }
    }

    /// Pointer to byte `off` of the arena. Panics if `off` is in no
    /// installed chunk (a broken invariant, never bad input).
    #[inline]
    pub(crate) fn ptr(&self, off: u32) -> *mut u8 {
        use ordex_core::sync::Ordering;
        let ci = (off >> self.chunk_shift) as usize;
        let pos = (off & ((1 << self.chunk_shift) - 1)) as usize;
        // Relaxed suffices: whoever holds an offset already synchronised
        // with the chunk's installation (the arena's invariant).
        let base = self.chunks[ci].load(Ordering::Relaxed);
        assert!(!base.is_null(), "arena offset {off} is in no chunk");
        base.wrapping_add(pos)
    }
}

#[cfg(not(all(target_os = "linux", not(loom))))]
impl Drop for Memory {
    fn drop(&mut self) {
        let layout = self.layout();
        for c in self.chunks.iter_mut() {
            // `&mut self`: no other thread can touch the table any more, so
            // a plain read (under loom, one that is not a scheduling point).
            #[cfg(loom)]
            let p = c.with_mut(|p| *p);
            #[cfg(not(loom))]
            let p = *c.get_mut();
            if !p.is_null() {
                // SAFETY: `p` was allocated by `install` with `layout`;
                // `&mut self` means no reader is left.
                unsafe { std::alloc::dealloc(p, layout) };
            }
        }
    }
}
