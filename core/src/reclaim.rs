//! Retiring unlinked memory through crossbeam-epoch, with the accounting
//! an index reports: bytes allocated and not yet freed, retirements whose
//! free has not run yet (garbage, which must stay bounded), and
//! retirements over the index's life.
//!
//! A backend allocates its nodes and records itself and tells its
//! [`Account`] ([`add`](Account::add), [`sub`](Account::sub)); when it
//! unlinks one under its latch it [`retire`]s it with the function that
//! frees it, which runs once every guard pinned before the retirement is
//! gone. Under `cfg(loom)` crossbeam's collector runs outside the model,
//! so retired objects go to a limbo list that the owner frees when it
//! drops ([`Account::free_limbo`]). Dropping an index,
//! [`Account::drain`] drives the epoch until its garbage has run.
//!
//! Moved from ordex-btree (its `Heap`); the next backends (ART, the
//! persistent tree) retire through it too.

use crate::counter::Counter;
#[cfg(not(loom))]
use crossbeam_epoch as epoch;
use crossbeam_epoch::Guard;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Memory accounting shared with deferred frees (which outlive a call,
/// so it is held in an `Arc`). Plain std atomics: statistics, which loom
/// need not model.
#[derive(Debug, Default)]
pub struct Account {
    /// Bytes allocated and not yet freed (striped: every allocation of
    /// every writer counts here).
    bytes: Counter,
    /// Retirements whose deferred free has not run yet.
    pending: AtomicUsize,
    /// Retirements over the owner's life.
    retired: AtomicUsize,
    #[cfg(loom)]
    limbo: std::sync::Mutex<Vec<Garbage>>,
}

/// A retired object under loom: its address and the function that frees
/// it (returning the bytes freed).
#[cfg(loom)]
#[derive(Debug)]
struct Garbage(*mut u8, unsafe fn(*mut u8) -> usize);

// SAFETY: the limbo only holds pointers to retired objects that no thread
// accesses any more; they are freed by whoever drops the owner.
#[cfg(loom)]
unsafe impl Send for Garbage {}

impl Account {
    /// Counts `n` bytes allocated.
    #[inline]
    pub fn add(&self, n: usize) {
        self.bytes.add(n);
    }

    /// Counts `n` bytes freed.
    #[inline]
    pub fn sub(&self, n: usize) {
        self.bytes.sub(n);
    }

    /// Bytes allocated and not yet freed.
    pub fn bytes(&self) -> usize {
        self.bytes.get()
    }

    /// Retirements whose free has not run yet.
    pub fn pending(&self) -> usize {
        self.pending.load(Relaxed)
    }

    /// Retirements over the owner's life.
    pub fn retired(&self) -> usize {
        self.retired.load(Relaxed)
    }

    /// Under `cfg(loom)`, frees every object in the limbo; otherwise
    /// nothing (crossbeam frees them).
    ///
    /// # Safety
    /// No thread can reach any retired object any more (the owner is
    /// being dropped, with `&mut`).
    pub unsafe fn free_limbo(&self) {
        #[cfg(loom)]
        {
            let limbo = core::mem::take(&mut *self.limbo.lock().unwrap_or_else(|e| e.into_inner()));
            for g in limbo {
                // SAFETY: retired objects are unreachable (the caller's
                // contract) and in the limbo once, with their own free.
                let b = unsafe { (g.1)(g.0) };
                self.sub(b);
                self.pending.fetch_sub(1, Relaxed);
            }
        }
    }

    /// Drives the epoch until this account's retired objects have been
    /// freed, unless another thread keeps a guard pinned (then crossbeam
    /// frees them later); then a few more rounds for crossbeam's own
    /// garbage, in proportion to what was retired. For an owner's `drop`,
    /// so that dropping an index gives its memory back. Nothing under
    /// loom (see [`free_limbo`](Self::free_limbo)).
    pub fn drain(&self) {
        #[cfg(not(loom))]
        {
            let mut last = self.pending();
            let mut idle = 0u32;
            while last != 0 && idle < 2_000 {
                let g = epoch::pin();
                g.flush();
                drop(g);
                let now = self.pending();
                if now < last {
                    idle = 0;
                } else {
                    idle += 1;
                    if idle.is_multiple_of(64) {
                        std::thread::yield_now();
                    }
                }
                last = now;
            }
            if last == 0 {
                // Running garbage makes garbage of crossbeam's own: each
                // bag of deferred frees sits in a queue node whose own
                // free is deferred. A round collects up to 8 bags of up to
                // 64 deferred calls; go on in proportion to what was
                // retired.
                for _ in 0..64 + self.retired() / 128 {
                    epoch::pin().flush();
                }
            }
        }
    }
}

/// Empties the calling thread's bag of deferred frees into crossbeam's
/// global queue and runs a few collection rounds, so that the next few
/// hundred pins of this thread find an empty bag.
///
/// For measurements of a read path's allocations: crossbeam collects on
/// every 128th pin, and the queue node of every bag it pops is itself
/// deferred into the pinning thread's bag; when that bag is full (64
/// entries) it moves to the global queue in a new node, one heap
/// allocation that a `get` would be charged with. Nothing under loom.
///
/// ```
/// ordex_core::reclaim::settle_thread();
/// ```
pub fn settle_thread() {
    #[cfg(not(loom))]
    for _ in 0..16 {
        epoch::pin().flush();
    }
}

/// Retires an unlinked object: `free(p)` runs once every guard pinned
/// before the retirement is gone (under loom: when the owner drops, see
/// [`Account::free_limbo`]), and the bytes it returns are counted freed.
///
/// # Safety
/// `p` is unreachable from the index (the caller unlinked it under the
/// latch that guards it), is retired exactly once, and `free` is the
/// function that frees an object of its kind (returning its bytes).
pub unsafe fn retire(
    p: *mut u8,
    free: unsafe fn(*mut u8) -> usize,
    guard: &Guard,
    account: &Arc<Account>,
) {
    account.pending.fetch_add(1, Relaxed);
    account.retired.fetch_add(1, Relaxed);
    #[cfg(not(loom))]
    {
        // Through `epoch::unprotected()` (a lifetime token for code that
        // holds a real pin elsewhere) the free would run at once.
        debug_assert!(
            guard.collector().is_some(),
            "retire through an unprotected guard"
        );
        let account = account.clone();
        let f = move || {
            // SAFETY: the epoch has passed every guard that could have
            // loaded a pointer to `p`; the caller's contract makes this the
            // only free, with the right function.
            let b = unsafe { free(p) };
            account.sub(b);
            account.pending.fetch_sub(1, Relaxed);
        };
        // SAFETY: `f` frees only the unlinked object (see above) and
        // touches the `Arc`-owned counters, which it keeps alive itself.
        unsafe { guard.defer_unchecked(f) };
    }
    #[cfg(loom)]
    {
        let _ = guard;
        account
            .limbo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Garbage(p, free));
    }
}

/// A cursor and the epoch pin that keeps what it reads alive, owned
/// together: the one allocation a backend's `dyn Cursor` costs (the
/// contract's `cursor()` has no guard to borrow).
///
/// The cursor cannot borrow the pin: a reference into its own box would be
/// invalidated each time the box moves. It borrows crossbeam's unprotected
/// guard instead, which only names a lifetime, while the pin, taken before
/// the cursor is made and dropped after it (field order), is what keeps
/// the nodes and records it reaches from being freed. A cursor kept for
/// long holds back reclamation, as any guard does.
pub struct PinnedCursor<C> {
    /// Declared first, so dropped before `_pin`.
    cursor: C,
    _pin: Guard,
}

impl<C> PinnedCursor<C> {
    /// Pins this thread, then makes the cursor with `make`, which gets a
    /// guard to borrow (a lifetime token).
    ///
    /// # Safety
    /// The cursor only reads: nothing it does retires an object through
    /// the guard it is given (which would free it at once; [`retire`]
    /// asserts against it in debug builds). Borrows it hands out reach
    /// callers only through `&self` methods (as `ordex_core::Cursor`'s
    /// do), so none outlives the pin.
    pub unsafe fn new<'t>(make: impl FnOnce(&'t Guard) -> C) -> Self
    where
        C: 't,
    {
        let pin = crossbeam_epoch::pin();
        // SAFETY: the unprotected guard defers nothing and protects
        // nothing; `pin`, a real guard of this thread, is pinned before
        // the cursor's first load and dropped after the cursor (field
        // order), so whatever the cursor reaches stays allocated while it
        // can use it; the caller promises the cursor never retires
        // through the token and hands out borrows only through `&self`.
        let token: &'t Guard = unsafe { crossbeam_epoch::unprotected() };
        PinnedCursor {
            cursor: make(token),
            _pin: pin,
        }
    }
}

impl<C: crate::Cursor> crate::Cursor for PinnedCursor<C> {
    #[inline]
    fn seek(&mut self, key: &[u8]) -> bool {
        self.cursor.seek(key)
    }
    #[inline]
    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.cursor.seek_for_prev(key)
    }
    #[inline]
    fn first(&mut self) -> bool {
        self.cursor.first()
    }
    #[inline]
    fn last(&mut self) -> bool {
        self.cursor.last()
    }
    #[inline]
    fn next(&mut self) -> bool {
        self.cursor.next()
    }
    #[inline]
    fn prev(&mut self) -> bool {
        self.cursor.prev()
    }
    #[inline]
    fn valid(&self) -> bool {
        self.cursor.valid()
    }
    #[inline]
    fn key(&self) -> Option<&[u8]> {
        self.cursor.key()
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        self.cursor.value()
    }
    #[inline]
    fn seqno(&self) -> Option<crate::Seqno> {
        self.cursor.seqno()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Frees a boxed `[u8; 64]`; returns its bytes.
    ///
    /// # Safety
    /// `p` came from `Box::into_raw` of a `[u8; 64]` and is freed once.
    unsafe fn free_box(p: *mut u8) -> usize {
        // SAFETY: `p` came from `Box::into_raw` of a `[u8; 64]` (below).
        drop(unsafe { Box::from_raw(p.cast::<[u8; 64]>()) });
        64
    }

    /// Retired objects are freed once the epoch moves on, and counted:
    /// the account's bytes and pending garbage go back to zero.
    #[test]
    fn retired_objects_are_freed_and_counted() {
        let account = Arc::new(Account::default());
        for _ in 0..100 {
            let p = Box::into_raw(Box::new([0u8; 64])).cast::<u8>();
            account.add(64);
            let guard = epoch::pin();
            // SAFETY: `p` is reachable from nowhere else, retired once,
            // with its own free.
            unsafe { retire(p, free_box, &guard, &account) };
        }
        assert_eq!(account.retired(), 100);
        assert!(account.pending() <= 100);
        account.drain();
        assert_eq!(account.pending(), 0);
        assert_eq!(account.bytes(), 0);
    }
}
