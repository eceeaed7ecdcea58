//! A counting global allocator, the one unsafe module of the testkit.
//!
//! It forwards to [`System`] and counts, globally, the live bytes and, per
//! thread, the number of allocations. The [`conformance!`](crate::conformance)
//! macro installs it in the test binary; the allocation and drop checks read
//! it, and refuse to pass if it is not installed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering::Relaxed};

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static TOTAL_ALLOCS: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // Const-initialised and without a destructor: touching it never
    // allocates, so the allocator may use it.
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// A [`GlobalAlloc`] that forwards to [`System`] and counts.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: ordex_testkit::alloc::CountingAllocator = ordex_testkit::alloc::CountingAllocator;
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

#[inline]
fn on_alloc(size: usize) {
    INSTALLED.store(true, Relaxed);
    LIVE_BYTES.fetch_add(size as isize, Relaxed);
    TOTAL_ALLOCS.fetch_add(1, Relaxed);
    let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + 1));
}

#[inline]
fn on_dealloc(size: usize) {
    LIVE_BYTES.fetch_sub(size as isize, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees (and the caller's obligations) carry
// over; the bookkeeping only touches atomics and a const thread-local, which
// never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which
        // is `System::alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, hence by `System`,
        // with `layout` (the caller's obligation).
        unsafe { System.dealloc(ptr, layout) };
        on_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` come from this allocator (hence `System`)
        // and `new_size` is valid, per the caller's obligations.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            on_dealloc(layout.size());
            on_alloc(new_size);
        }
        p
    }
}

/// Whether the counting allocator is the global allocator of this process
/// (it has seen at least one allocation).
pub fn installed() -> bool {
    // Make sure at least one allocation went through the global allocator.
    drop(std::hint::black_box(Box::new(0u8)));
    INSTALLED.load(Relaxed)
}

/// Bytes currently allocated in the whole process.
pub fn live_bytes() -> isize {
    LIVE_BYTES.load(Relaxed)
}

/// Allocations made so far by the whole process.
pub fn total_allocations() -> u64 {
    TOTAL_ALLOCS.load(Relaxed)
}

/// Allocations made so far by the calling thread.
pub fn thread_allocations() -> u64 {
    THREAD_ALLOCS.with(Cell::get)
}

/// Runs `f` and returns its result with the number of heap allocations the
/// calling thread made meanwhile.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = thread_allocations();
    let r = f();
    (r, thread_allocations() - before)
}

/// The process's resident memory in bytes (`VmRSS` of `/proc/self/status`),
/// where the platform tells it. It counts what the counting allocator
/// cannot see: memory an index maps from the kernel itself (the skip
/// list's arena, for one).
pub fn resident_bytes() -> Option<isize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: isize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
