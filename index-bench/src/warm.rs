//! Warm memory before a measured phase, so that no index pays for memory
//! another index freed.
//!
//! On this project's VMs (and on any guest with free page reporting, as
//! virtio-balloon and Firecracker do), memory the guest has freed is handed
//! back to the host after about two seconds; touching it again costs a host
//! fault per page. For transparent huge pages the difference is large: 80 MB
//! of `MADV_HUGEPAGE` memory took 4-13 ms to touch right after a free and
//! 230-370 ms after a 4 s pause (probe in `docs/index-bench.md`); 4 KiB pages
//! showed no such difference. An index that maps its arena with huge pages
//! (ordex-skiplist) would then measure fast or slow depending on what ran
//! before it. [`prefault`] touches and frees a block of huge-page memory of
//! the size a phase is about to allocate, immediately before the phase, so
//! the kernel hands the phase pages the host has just backed; [`trim`]
//! returns the allocator's free memory to the kernel between rounds, so every
//! round's indexes start from the same allocator state, whichever index ran
//! before.
//!
//! The only `unsafe` of the harness lives here, behind these two safe
//! functions.

/// Size of a transparent huge page on x86-64 and aarch64 Linux.
const HUGE_PAGE: usize = 2 << 20;

/// Touches `bytes` of fresh memory (rounded up to whole huge pages, advised
/// for transparent huge pages where the platform has them) and frees it, so
/// that the next allocations of about that size find pages the host has
/// just backed. A no-op for 0 bytes; failures to map are ignored (the
/// measurement then runs as it would have without this step).
pub fn prefault(bytes: usize) {
    if bytes == 0 {
        return;
    }
    if let Some(m) = imp::Mapping::new(bytes.div_ceil(HUGE_PAGE).saturating_mul(HUGE_PAGE)) {
        m.touch();
    }
}

/// Returns the allocator's free memory to the kernel (glibc's
/// `malloc_trim(0)`), where the platform has it; a no-op elsewhere.
pub fn trim() {
    imp::trim();
}

/// What [`probe`] measured: milliseconds to touch the same amount of fresh
/// huge-page memory in three situations.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// After a pause with no memory freed just before.
    pub cold_ms: f64,
    /// Right after the same amount was touched and freed.
    pub warm_ms: f64,
    /// After a pause, then [`prefault`] just before.
    pub prefaulted_ms: f64,
}

/// Measures what [`prefault`] is for: touching `bytes` of huge-page memory
/// after `pause`, right after a free, and after a pause followed by
/// [`prefault`] (`index-bench memory-probe`).
pub fn probe(bytes: usize, pause: std::time::Duration) -> Probe {
    let len = bytes.div_ceil(HUGE_PAGE).max(1) * HUGE_PAGE;
    let timed = || {
        let t = std::time::Instant::now();
        if let Some(m) = imp::Mapping::new(len) {
            m.touch();
        }
        t.elapsed().as_secs_f64() * 1e3
    };
    std::thread::sleep(pause);
    let cold_ms = timed();
    let warm_ms = timed();
    std::thread::sleep(pause);
    prefault(len + HUGE_PAGE * 8);
    let prefaulted_ms = timed();
    Probe {
        cold_ms,
        warm_ms,
        prefaulted_ms,
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::HUGE_PAGE;

    /// An anonymous mapping, advised for huge pages, unmapped on drop.
    pub(super) struct Mapping {
        base: *mut libc::c_void,
        map_len: usize,
        /// Start of the huge-page-aligned range of `len` bytes inside it.
        start: usize,
        len: usize,
    }

    impl Mapping {
        pub(super) fn new(len: usize) -> Option<Mapping> {
            // One extra huge page so the range can start on a huge-page
            // boundary (the kernel backs only aligned 2 MiB ranges with THP).
            let map_len = len.checked_add(HUGE_PAGE)?;
            // SAFETY: an anonymous private mapping at an address of the
            // kernel's choosing aliases no Rust object; the result is
            // checked against MAP_FAILED before use.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return None;
            }
            let start = (base as usize).next_multiple_of(HUGE_PAGE);
            // SAFETY: `start..start + len` lies inside the mapping (at most
            // one huge page of slack is skipped at its start, and it has one
            // extra). madvise only changes how the kernel backs the range;
            // its failure (a kernel without THP) is harmless and ignored.
            unsafe {
                libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
            Some(Mapping {
                base,
                map_len,
                start,
                len,
            })
        }

        /// Writes one byte of every 4 KiB page, so the kernel backs it.
        pub(super) fn touch(&self) {
            let mut offset = 0;
            while offset < self.len {
                // SAFETY: `start + offset` is inside the mapping, which is
                // readable, writable and owned by `self` alone; a volatile
                // write makes the kernel back the page.
                unsafe { ((self.start + offset) as *mut u8).write_volatile(1) };
                offset += 4096;
            }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: `base` and `map_len` are exactly the mapping `new`
            // made, and nothing borrows from it past `touch`.
            unsafe {
                libc::munmap(self.base, self.map_len);
            }
        }
    }

    pub(super) fn trim() {
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim only releases free memory of glibc's own
        // arenas; it takes the arenas' locks and is safe to call at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    /// Heap memory, where there is no mmap to ask for huge pages.
    pub(super) struct Mapping(Vec<u8>);

    impl Mapping {
        pub(super) fn new(len: usize) -> Option<Mapping> {
            Some(Mapping(vec![0u8; len]))
        }

        pub(super) fn touch(mut self) {
            for b in self.0.iter_mut().step_by(4096) {
                *std::hint::black_box(b) = 1;
            }
        }
    }

    pub(super) fn trim() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefault_and_trim_run_and_leave_no_heap_behind() {
        prefault(0);
        prefault(1);
        prefault(5 << 20);
        trim();
        let (_, bytes) = ordex_testkit::alloc::count_bytes(|| prefault(3 << 20));
        assert_eq!(bytes, 0);
    }
}
