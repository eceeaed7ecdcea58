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
    pub use loom::thread::{yield_now, JoinHandle};
    #[cfg(not(loom))]
    pub use std::thread::{spawn, yield_now, JoinHandle};

    #[cfg(loom)]
    loom::lazy_static! {
        /// The starting line of [`spawn`] (one per model execution).
        static ref START: loom::sync::atomic::AtomicUsize = loom::sync::atomic::AtomicUsize::new(0);
    }

    /// Spawns a model thread that first crosses a starting line the
    /// spawning thread crosses too (a read-modify-write of one atomic on
    /// each side).
    ///
    /// Loom 0.7's DPOR stops exploring a thread whose first operation is
    /// an atomic load (tokio-rs/loom#392): a model whose spawned thread
    /// starts with a load, as every optimistic reader and writer does, ran
    /// one interleaving only and passed without checking anything. Two
    /// dependent operations at the start give the scheduler a branch point
    /// from which it explores the rest (`core/tests/explores_model.rs`
    /// checks that it does).
    #[cfg(loom)]
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        use core::sync::atomic::Ordering::Relaxed;
        let handle = loom::thread::spawn(move || {
            START.fetch_add(1, Relaxed);
            f()
        });
        START.fetch_add(1, Relaxed);
        handle
    }
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
/// Under loom, an execution may take up to 20 000 scheduling branches
/// (loom's default is 1 000, a guard against spin loops) unless
/// `LOOM_MAX_BRANCHES` says otherwise: models set up and end by walking
/// whole structures single-threaded (a full run of 64 entries in
/// ordex-art's burst model), and every atomic access of those walks is
/// a branch. The preemption bound, which sets how many interleavings are
/// explored, is unchanged.
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    run_model(None, f);
}

/// Like [`model`], with at most `bound` preemptions whatever
/// `LOOM_MAX_PREEMPTIONS` asks: for a model whose state space at the
/// default bound takes too long for CI (each bound explored costs about
/// an order of magnitude more).
pub fn model_bounded<F: Fn() + Sync + Send + 'static>(bound: usize, f: F) {
    run_model(Some(bound), f);
}

#[allow(unused_variables)]
fn run_model<F: Fn() + Sync + Send + 'static>(bound: Option<usize>, f: F) {
    #[cfg(loom)]
    {
        let mut builder = loom::model::Builder::new();
        if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
            builder.max_branches = 20_000;
        }
        if let Some(b) = bound {
            builder.preemption_bound = Some(builder.preemption_bound.map_or(b, |e| e.min(b)));
        }
        builder.check(f);
    }
    #[cfg(not(loom))]
    f();
}
