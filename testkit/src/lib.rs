//! `ordex-testkit`: the conformance suite every ordex backend runs.
//!
//! A backend proves itself with one line in an integration test file:
//!
//! ```ignore
//! ordex_testkit::conformance!(ordex_skiplist::SkipList::new);
//! // with a bounded constructor (for `Error::Full`) and a seal hook:
//! ordex_testkit::conformance!(ordex_core::reference::LockedBTreeMap::new, |suite| suite
//!     .bounded(|| ordex_core::reference::LockedBTreeMap::builder().capacity(1 << 20).build())
//!     .sealable(|index| index.seal()));
//! ```
//!
//! The macro installs a counting global allocator in the test binary and
//! expands to one `#[test]` per check of [`Suite`]:
//!
//! | check | what it proves |
//! |---|---|
//! | [`sequential_model`](Suite::sequential_model) | random programs (proptest, shrinking) of insert / remove / get / scan (every bound kind) / batch / snapshot agree with `BTreeMap`; awkward keys (empty, prefixes, 0x00 / 0xFF, 1–4 KiB) and values (0–4 KiB) |
//! | [`concurrent_model`](Suite::concurrent_model) | 6 threads (more than cores) on owned and shared keys: every read of an owned key, every scan of an owned range, and the final state match the model; shared keys never show torn or invented values |
//! | [`linearizability`](Suite::linearizability) | invoke/return histories on hot keys (mixed, and overwrite-while-reading) are linearizable as registers, with seqnos in linearization order |
//! | [`snapshot_isolation`](Suite::snapshot_isolation) | snapshots taken while writers write equal the model at their seqno, on every re-read |
//! | [`live_scan_bounds`](Suite::live_scan_bounds) | 6 threads: while writers link keys just below, at and just above a scan's bounds, live scans with every combination of `Included` / `Excluded` / `Unbounded` at both ends yield only keys within their bounds, strictly ascending, and every key present throughout |
//! | [`cursor_model`](Suite::cursor_model) | random programs (proptest, shrinking) of seeks and steps in both directions on live and snapshot [`Cursor`](ordex_core::Cursor)s agree with a model cursor over `BTreeMap` (awkward keys, steps past both ends, direction changes; key, value, seqno) |
//! | [`cursor_snapshot_exact`](Suite::cursor_snapshot_exact) | while 3 threads write, snapshot cursors walk and seek exactly the snapshot's entries, in both directions |
//! | [`cursor_live_order`](Suite::cursor_live_order) | while 3 threads add and remove odd keys, live cursors yield keys strictly ascending along `next`, strictly descending along `prev`, and every (even) key present throughout, with its value |
//! | [`cursor_allocation_free`](Suite::cursor_allocation_free) | seeks and steps of live and snapshot cursors on a warm index allocate nothing |
//! | [`allocation_free_reads`](Suite::allocation_free_reads) | `get`, a 100-entry `scan` and snapshot reads on a warm index allocate nothing |
//! | [`bad_input`](Suite::bad_input) | oversized keys / values, `Full`, `Sealed` return `Err` and leave the index exactly as it was |
//! | [`drop_frees_everything`](Suite::drop_frees_everything) | dropping an index of a million entries with garbage returns the heap to its baseline |
//!
//! Each check returns `Result<(), Failure>`, so the kit's own tests can show
//! that it catches deliberately [`broken`] indexes.
//!
//! Environment: `ORDEX_TEST_SCALE` (a float, default 1) scales operation
//! counts; `ORDEX_TEST_SEED` replays a randomized run (failures print their
//! seed).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod alloc;
pub mod broken;
mod checks;
mod concurrent;
mod cursors;
pub mod lin;
mod model;
pub mod rng;
mod scan_bounds;
mod snapshot_iso;
mod values;

use ordex_core::OrderedIndex;
use std::fmt;
use std::sync::Arc;

/// A failed conformance check: which check, and why (with the seed, where
/// the check is randomized).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The check that failed.
    pub check: &'static str,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    pub(crate) fn new(check: &'static str, message: impl Into<String>) -> Self {
        Failure {
            check,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance check `{}` failed: {}",
            self.check, self.message
        )
    }
}

impl std::error::Error for Failure {}

/// Shorthand for the result of a check.
pub type CheckResult = Result<(), Failure>;

type Make<I> = Arc<dyn Fn() -> I + Send + Sync>;
type Seal<I> = Arc<dyn Fn(&I) + Send + Sync>;

/// The conformance suite for one backend type `I`.
pub struct Suite<I> {
    pub(crate) make: Make<I>,
    pub(crate) bounded: Option<Make<I>>,
    pub(crate) seal: Option<Seal<I>>,
    pub(crate) scale: f64,
}

impl<I> Clone for Suite<I> {
    fn clone(&self) -> Self {
        Suite {
            make: self.make.clone(),
            bounded: self.bounded.clone(),
            seal: self.seal.clone(),
            scale: self.scale,
        }
    }
}

impl<I> fmt::Debug for Suite<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("bounded", &self.bounded.is_some())
            .field("sealable", &self.seal.is_some())
            .field("scale", &self.scale)
            .finish()
    }
}

impl<I: OrderedIndex> Suite<I> {
    /// A suite building fresh indexes with `make`.
    pub fn new(make: impl Fn() -> I + Send + Sync + 'static) -> Self {
        let scale = std::env::var("ORDEX_TEST_SCALE")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .unwrap_or(1.0);
        Suite {
            make: Arc::new(make),
            bounded: None,
            seal: None,
            scale,
        }
    }

    /// A constructor of an index with a small capacity, which must
    /// eventually refuse writes with `Error::Full` (checked by
    /// [`bad_input`](Self::bad_input)).
    pub fn bounded(mut self, make: impl Fn() -> I + Send + Sync + 'static) -> Self {
        self.bounded = Some(Arc::new(make));
        self
    }

    /// A hook that seals an index, after which every write must fail with
    /// `Error::Sealed` (checked by [`bad_input`](Self::bad_input)).
    pub fn sealable(mut self, seal: impl Fn(&I) + Send + Sync + 'static) -> Self {
        self.seal = Some(Arc::new(seal));
        self
    }

    /// Multiplies operation counts (default: `ORDEX_TEST_SCALE` or 1).
    pub fn scale(mut self, factor: f64) -> Self {
        self.scale = factor;
        self
    }

    pub(crate) fn n(&self, base: usize) -> usize {
        ((base as f64 * self.scale) as usize).max(1)
    }

    pub(crate) fn index(&self) -> I {
        (self.make)()
    }

    /// Runs every check, stopping at the first failure.
    pub fn run_all(&self) -> CheckResult {
        self.sequential_model()?;
        self.concurrent_model()?;
        self.linearizability()?;
        self.snapshot_isolation()?;
        self.live_scan_bounds()?;
        self.cursor_model()?;
        self.cursor_snapshot_exact()?;
        self.cursor_live_order()?;
        self.cursor_allocation_free()?;
        self.allocation_free_reads()?;
        self.bad_input()?;
        self.drop_frees_everything()
    }
}

/// Serializes the checks that read process-wide allocation counters against
/// the others in the same test binary.
#[doc(hidden)]
pub static TEST_LOCK: parking_lot::RwLock<()> = parking_lot::RwLock::new(());

/// Runs one check of a suite under the test lock and panics with the failure.
#[doc(hidden)]
pub fn __run<I: OrderedIndex>(
    suite: Suite<I>,
    exclusive: bool,
    check: fn(&Suite<I>) -> CheckResult,
) {
    let result = if exclusive {
        let _g = TEST_LOCK.write();
        check(&suite)
    } else {
        let _g = TEST_LOCK.read();
        check(&suite)
    };
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Expands to the whole conformance suite, one `#[test]` per check, for the
/// index built by `$make` (an expression of type `Fn() -> I`), optionally
/// configured by `$configure` (`FnOnce(Suite<I>) -> Suite<I>`).
///
/// Use it once per integration-test file (it installs the counting global
/// allocator of that test binary), and keep other tests out of that file so
/// their allocations do not disturb the drop check.
#[macro_export]
macro_rules! conformance {
    (@check $make:expr, $configure:expr, $name:ident, $exclusive:expr) => {
        #[test]
        fn $name() {
            let suite = ($configure)($crate::Suite::new($make));
            $crate::__run(suite, $exclusive, $crate::Suite::$name);
        }
    };
    ($make:expr) => {
        $crate::conformance!($make, |suite| suite);
    };
    ($make:expr, $configure:expr) => {
        #[global_allocator]
        static __ORDEX_TESTKIT_ALLOCATOR: $crate::alloc::CountingAllocator =
            $crate::alloc::CountingAllocator;

        #[allow(unused_imports)]
        mod ordex_conformance {
            use super::*;

            $crate::conformance!(@check $make, $configure, sequential_model, false);
            $crate::conformance!(@check $make, $configure, concurrent_model, false);
            $crate::conformance!(@check $make, $configure, linearizability, false);
            $crate::conformance!(@check $make, $configure, snapshot_isolation, false);
            $crate::conformance!(@check $make, $configure, live_scan_bounds, false);
            $crate::conformance!(@check $make, $configure, cursor_model, false);
            $crate::conformance!(@check $make, $configure, cursor_snapshot_exact, false);
            $crate::conformance!(@check $make, $configure, cursor_live_order, false);
            $crate::conformance!(@check $make, $configure, cursor_allocation_free, false);
            $crate::conformance!(@check $make, $configure, allocation_free_reads, false);
            $crate::conformance!(@check $make, $configure, bad_input, false);
            $crate::conformance!(@check $make, $configure, drop_frees_everything, true);
        }
    };
}
