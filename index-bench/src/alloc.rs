//! A global allocator that counts live bytes only while measuring.
//!
//! Outside a measurement it costs one relaxed load and a branch per
//! allocation, so it does not tilt the timed runs against indexes that
//! allocate per entry. Memory is measured in a separate, untimed,
//! single-threaded load of each index.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Forwards to [`System`]; counts live bytes while [`measure`] runs.
pub struct BenchAlloc;

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the bookkeeping touches only atomics and never allocates.
unsafe impl GlobalAlloc for BenchAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's obligations are `System::alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if ENABLED.load(Relaxed) && !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
            COUNT.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if ENABLED.load(Relaxed) && !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
            COUNT.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (hence `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        if ENABLED.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` came from this allocator; `new_size` is valid.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if ENABLED.load(Relaxed) && !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
            COUNT.fetch_add(1, Relaxed);
        }
        p
    }
}

/// Runs `f` with counting on; returns its result and the net bytes it left
/// allocated (what it built and kept).
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, isize) {
    let before = LIVE.load(Relaxed);
    ENABLED.store(true, Relaxed);
    let r = f();
    ENABLED.store(false, Relaxed);
    (r, LIVE.load(Relaxed) - before)
}

/// Runs `f` with counting on; returns its result and the number of
/// allocations (and reallocations) it made. Only meaningful when the
/// binary's global allocator is [`BenchAlloc`].
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = COUNT.load(Relaxed);
    ENABLED.store(true, Relaxed);
    let r = f();
    ENABLED.store(false, Relaxed);
    (r, COUNT.load(Relaxed) - before)
}
