//! The published root: where readers find the current version.
//!
//! Outside loom this is an [`arc_swap::ArcSwap`], and its guarantees are
//! the ones the index needs:
//!
//! - **A load is wait-free and touches no shared counter** on its fast
//!   path: [`load`](Published::load) borrows one of the thread's debt
//!   slots instead of incrementing the version's reference count, so
//!   readers of one hot version do not bounce its cache line between
//!   cores. A point read holds that guard only for one descent.
//! - **A load never sees a freed version.** `swap` returns the previous
//!   `Arc` only after paying every debt on it (turning each reader's
//!   borrowed slot into a real reference), so the version a guard points
//!   to stays alive until the guard goes, whoever drops the other
//!   references first.
//! - **A load sees a whole version or the previous one**, never a mix:
//!   the version is built completely before it is swapped in, and the
//!   swap is a release, the load an acquire (SeqCst since arc-swap 1.9).
//! - **After `swap` returns, `Arc::strong_count` of the old version is
//!   honest**: with the debts paid, no thread can hold it through a slot
//!   that the count does not show. The writer relies on this to free a
//!   retired version itself when it holds the last reference
//!   (`Arc::try_unwrap`), so that no reader ever pays for freeing a
//!   version's nodes (see `PersistentBTree`'s reclamation docs).
//!
//! `store`/`swap` pay every thread's debts, which is a known cost with many
//! threads; here only the single writer (the group commit leader) swaps,
//! once per batch, so the cost is per batch, not per write.
//!
//! Under `cfg(loom)` arc-swap is not model-checkable, so the same API is
//! provided by a loom `Mutex<Arc<_>>`: the models check the protocol
//! around publication (group commit handoff, retirement, reclamation),
//! with publication itself an atomic exchange as arc-swap promises.

use crate::Version;
use ordex_core::sync::Arc;

#[cfg(not(loom))]
mod imp {
    use super::*;
    use arc_swap::ArcSwap;

    /// A guard on the current version (no reference count taken on the
    /// fast path).
    pub(crate) type Guard = arc_swap::Guard<Arc<Version>>;

    /// On cache lines of its own (128 bytes: x86 fetches lines in
    /// pairs): every reader loads it, and the index's writer-side words
    /// (the queue's and the writer's locks, taken at every write) would
    /// otherwise move its line away from the readers between publishes.
    #[repr(align(128))]
    pub(crate) struct Published(ArcSwap<Version>);

    impl Published {
        pub(crate) fn new(v: Arc<Version>) -> Self {
            Published(ArcSwap::new(v))
        }

        #[inline]
        pub(crate) fn load(&self) -> Guard {
            self.0.load()
        }

        #[inline]
        pub(crate) fn load_full(&self) -> Arc<Version> {
            self.0.load_full()
        }

        pub(crate) fn swap(&self, v: Arc<Version>) -> Arc<Version> {
            self.0.swap(v)
        }
    }
}

#[cfg(loom)]
mod imp {
    use super::*;
    use ordex_core::sync::Mutex;

    /// A guard on the current version (a full reference under loom).
    pub(crate) struct Guard(Arc<Version>);

    impl core::ops::Deref for Guard {
        type Target = Arc<Version>;
        fn deref(&self) -> &Arc<Version> {
            &self.0
        }
    }

    pub(crate) struct Published(Mutex<Arc<Version>>);

    impl Published {
        pub(crate) fn new(v: Arc<Version>) -> Self {
            Published(Mutex::new(v))
        }

        pub(crate) fn load(&self) -> Guard {
            Guard(self.load_full())
        }

        pub(crate) fn load_full(&self) -> Arc<Version> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }

        pub(crate) fn swap(&self, v: Arc<Version>) -> Arc<Version> {
            core::mem::replace(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()), v)
        }
    }
}

pub(crate) use imp::Published;
