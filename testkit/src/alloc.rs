//! Counting global allocators, the one unsafe module of the testkit.
//!
//! Both forward to [`System`] and count, globally, the live bytes and, per
//! thread, the number of allocations (reallocations included), into the same
//! counters, which the functions below read:
//!
//! - [`CountingAllocator`] counts every allocation. The
//!   [`conformance!`](crate::conformance) macro installs it in the test
//!   binary; the allocation and drop checks read it, and refuse to pass if it
//!   is not installed.
//! - [`GatedAllocator`] counts only while [`count_bytes`],
//!   [`count_allocations`] or [`installed`] runs; otherwise it costs one
//!   relaxed load and a branch per call, and touches no shared cache line.
//!   index-bench installs it, so its timed runs do not tilt against indexes
//!   that allocate per entry.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering::Relaxed};

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static TOTAL_ALLOCS: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Whether [`GatedAllocator`] counts: open while a measurement runs.
static GATE: AtomicBool = AtomicBool::new(false);

thread_local! {
    // Const-initialised and without a destructor: touching it never
    // allocates, so the allocator may use it.
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// A [`GlobalAlloc`] that forwards to [`System`] and counts every call.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: ordex_testkit::alloc::CountingAllocator = ordex_testkit::alloc::CountingAllocator;
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

/// A [`GlobalAlloc`] that forwards to [`System`] and counts only while a
/// measurement ([`count_bytes`], [`count_allocations`], [`installed`]) runs,
/// on any thread.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: ordex_testkit::alloc::GatedAllocator = ordex_testkit::alloc::GatedAllocator;
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct GatedAllocator;

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

/// The forwarding and counting both allocators share; `GATED` says whether
/// counting waits for the gate.
struct Forward<const GATED: bool>;

impl<const GATED: bool> Forward<GATED> {
    #[inline]
    fn counting() -> bool {
        !GATED || GATE.load(Relaxed)
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees (and the caller's obligations) carry
// over; the bookkeeping only touches atomics and a const thread-local, which
// never allocate.
unsafe impl<const GATED: bool> GlobalAlloc for Forward<GATED> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which
        // is `System::alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && Self::counting() {
            on_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && Self::counting() {
            on_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, hence by `System`,
        // with `layout` (the caller's obligation).
        unsafe { System.dealloc(ptr, layout) };
        if Self::counting() {
            on_dealloc(layout.size());
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` come from this allocator (hence `System`)
        // and `new_size` is valid, per the caller's obligations.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && Self::counting() {
            on_dealloc(layout.size());
            on_alloc(new_size);
        }
        p
    }
}

// SAFETY: forwards to `Forward<false>`, whose contract is `GlobalAlloc`'s.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<false>.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<false>.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<false>.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<false>.realloc(ptr, layout, new_size) }
    }
}

// SAFETY: forwards to `Forward<true>`, whose contract is `GlobalAlloc`'s.
unsafe impl GlobalAlloc for GatedAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<true>.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<true>.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<true>.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's obligations, passed on unchanged.
        unsafe { Forward::<true>.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` with the gate open (for [`GatedAllocator`]), restoring its
/// previous state afterwards, also if `f` panics.
fn gate_open<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GATE.store(self.0, Relaxed);
        }
    }
    let _restore = Restore(GATE.swap(true, Relaxed));
    f()
}

/// Whether the counting allocator is the global allocator of this process
/// (it has seen at least one allocation).
pub fn installed() -> bool {
    // Make sure at least one allocation went through the global allocator.
    gate_open(|| drop(std::hint::black_box(Box::new(0u8))));
    INSTALLED.load(Relaxed)
}

/// Bytes currently allocated in the whole process (by a
/// [`GatedAllocator`]: allocated minus freed while the gate was open).
pub fn live_bytes() -> isize {
    LIVE_BYTES.load(Relaxed)
}

/// Allocations made so far by the whole process (by a [`GatedAllocator`]:
/// while the gate was open).
pub fn total_allocations() -> u64 {
    TOTAL_ALLOCS.load(Relaxed)
}

/// Allocations made so far by the calling thread.
pub fn thread_allocations() -> u64 {
    THREAD_ALLOCS.with(Cell::get)
}

/// Runs `f` and returns its result with the number of heap allocations
/// (reallocations included) the calling thread made meanwhile.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = thread_allocations();
    let r = gate_open(f);
    (r, thread_allocations() - before)
}

/// Counts the calling thread's heap allocations in `f`, in up to three
/// attempts, each after [`settle_thread`](ordex_core::reclaim::settle_thread)
/// has emptied the thread's epoch bookkeeping; stops at the first attempt
/// that allocated nothing and returns every attempt's count.
///
/// For a check that a read path allocates nothing: a read that allocates
/// allocates in every attempt, while crossbeam-epoch's amortised
/// bookkeeping (a queue node once per 64 bags of other threads' garbage
/// it collects, see `settle_thread`) is not the read's and is rarely in
/// two attempts running.
pub fn count_settled_allocations(mut f: impl FnMut()) -> Vec<u64> {
    let mut counts = Vec::with_capacity(3);
    for _ in 0..3 {
        ordex_core::reclaim::settle_thread();
        let ((), n) = count_allocations(&mut f);
        counts.push(n);
        if n == 0 {
            break;
        }
    }
    counts
}

/// Whether every attempt of [`count_settled_allocations`] allocated.
pub fn always_allocated(counts: &[u64]) -> bool {
    counts.iter().all(|&n| n != 0)
}

/// Runs `f` and returns its result with the net bytes the whole process
/// allocated meanwhile (allocated minus freed: what `f` built and kept,
/// when no other thread allocates).
pub fn count_bytes<R>(f: impl FnOnce() -> R) -> (R, isize) {
    let before = live_bytes();
    let r = gate_open(f);
    (r, live_bytes() - before)
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
