//! The one place where atomics and cells come from.
//!
//! Under `cfg(loom)` the types are loom's model-checked versions; otherwise
//! they are `core`'s. Every ordex backend imports its atomics from here, so a
//! loom build (`RUSTFLAGS="--cfg loom"`) checks the real code, not a copy.
//! Same idea as `crossbeam-epoch`'s `primitive` module.
//!
//! Loom's atomics cannot be built in `const` context, so code that must stay
//! loom-checkable creates its atomics with `::new` at run time.

#[cfg(not(loom))]
pub use core::sync::atomic::{
    fence, AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU16, AtomicU32, AtomicU64,
    AtomicU8, AtomicUsize,
};
#[cfg(loom)]
pub use loom::sync::atomic::{
    fence, AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU16, AtomicU32, AtomicU64,
    AtomicU8, AtomicUsize,
};

pub use core::sync::atomic::Ordering;

#[cfg(loom)]
pub use loom::sync::Arc;
/// `Arc`: loom's under `cfg(loom)` (so leaks and races on it are reported).
#[cfg(not(loom))]
pub use std::sync::Arc;

/// Locks: loom's under `cfg(loom)` (a model thread preempted inside one
/// must not block the model's only OS thread), std's otherwise. Both
/// poison; `TryLockError` is std's in both builds.
#[cfg(loom)]
pub use loom::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use std::sync::TryLockError;
#[cfg(not(loom))]
pub use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Threads: loom's model threads under `cfg(loom)`.
pub mod thread {
    #[cfg(loom)]
    pub use loom::thread::{spawn, yield_now, JoinHandle};
    #[cfg(not(loom))]
    pub use std::thread::{spawn, yield_now, JoinHandle};
}

/// A spin-loop hint that, under loom, yields to the model scheduler so that
/// spin-waits terminate in the model.
#[inline]
pub fn spin_hint() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Asks the CPU to bring the cache line at `p` in (x86-64 `prefetcht0`;
/// nothing elsewhere and under loom). A hint: it never faults, whatever
/// `p` is, and reads nothing the program observes, so it is safe for any
/// pointer, dangling or null.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86-64 CPU has; a
    // prefetch never faults and has no effect the program can observe.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    let _ = p;
}

/// `UnsafeCell` with loom's checked access API (`with` / `with_mut`) in
/// both builds.
#[cfg(loom)]
pub use loom::cell::UnsafeCell;

/// `UnsafeCell` with loom's checked access API (`with` / `with_mut`) in
/// both builds.
#[cfg(not(loom))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps a value.
    #[inline]
    pub const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Unwraps the value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared raw pointer to the contents.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a mutable raw pointer to the contents.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Runs `f` as a loom model (every interleaving, bounded preemptions) under
/// `cfg(loom)`, or once on real threads otherwise, so a model test doubles as
/// a plain smoke test in `cargo test`.
///
/// Under loom, an execution may take up to 10 000 scheduling branches
/// (loom's default is 1 000, a guard against spin loops) unless
/// `LOOM_MAX_BRANCHES` says otherwise: models end by checking the whole
/// structure single-threaded, and every atomic load of that walk is a
/// branch. The preemption bound, which sets how many interleavings are
/// explored, is unchanged.
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    #[cfg(loom)]
    {
        let mut builder = loom::model::Builder::new();
        if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
            builder.max_branches = 10_000;
        }
        builder.check(f);
    }
    #[cfg(not(loom))]
    f();
}
