//! The synchronization protocol of the tree, as a type parameter.
//!
//! Every node carries one latch of type `L: Latch`, and the tree carries
//! one [`Latch::TreeLock`]. The tree's code paths are the same for every
//! protocol; they only ever call the methods of [`Latch`]. Three
//! protocols ship, over the same node layout:
//!
//! | protocol | node latch | tree lock | a reader writes shared memory? |
//! |---|---|---|---|
//! | [`GlobalLock`] | an obsolete flag only | one reader-writer lock, shared for reads and scans, exclusive for writes | yes, the tree lock's word, once per operation (per leaf for scans) |
//! | [`LockCoupling`] | a reader-writer latch per node, taken hand-over-hand | none | yes, every latch on its path (twice) |
//! | [`Optimistic`] (default) | a version word (Leis et al.'s optimistic lock coupling) | none | no |
//!
//! # How the tree uses a latch
//!
//! A **read** of a node starts with [`read`](Latch::read) (or
//! [`read_for_write`](Latch::read_for_write) when the caller means to
//! write the node), which returns a token; the node's fields are then
//! read through atomics, and [`check`](Latch::check) is called before
//! anything read is acted upon (in particular before a pointer read from
//! the node is dereferenced). The read ends with
//! [`read_end`](Latch::read_end) — or becomes the exclusive latch through
//! [`upgrade`](Latch::upgrade). Descents are hand-over-hand: the child's
//! read starts (and the parent is checked) before the parent's read
//! ends. A **write** holds the exclusive latch (from `upgrade` or
//! [`lock`](Latch::lock)) and ends with [`unlock`](Latch::unlock) or
//! [`unlock_obsolete`](Latch::unlock_obsolete) (the node was unlinked).
//! Every operation runs inside [`enter_shared`](Latch::enter_shared) (gets,
//! and each leaf of a scan) or [`enter_exclusive`](Latch::enter_exclusive)
//! (inserts, removes, updates, sweeps) of the tree lock; no operation
//! enters the tree lock while inside it.
//!
//! Deadlock freedom: a thread that *waits* for a latch only ever waits
//! for one below or right of every latch it holds (top-down, then
//! left-to-right, the order in which nodes never move); every other
//! acquisition is a non-waiting `upgrade` that fails with [`Restart`]. A
//! half-split installs its separator in the parent after the child's
//! latch is released; an unlink takes its three latches by `upgrade`.
//!
//! Lock waits and restarts are counted per thread ([`contention`]), on
//! the slow paths only.

use ordex_core::olc::{Restart, Stamp, VersionLock};
use ordex_core::sync::{AtomicBool, AtomicU64, Ordering};
use std::fmt;

/// A node latch and its tree lock: the synchronization protocol of a
/// [`BTree`](crate::BTree).
///
/// # Safety
///
/// The tree's unsafe core relies on the following; an implementation must
/// guarantee all of it, given that the tree follows the calling
/// discipline of the [module docs](self) (every token passed back comes
/// from a read of the same latch that has not ended; `read_end`,
/// `upgrade`, `unlock` and `unlock_obsolete` are called only as stated
/// there; an operation that starts a read or takes a latch is inside
/// `enter_shared` or `enter_exclusive`, and one that takes an exclusive
/// latch is inside `enter_exclusive`).
///
/// 1. **Exclusion.** Between a successful `upgrade` or `lock` and the
///    matching `unlock` / `unlock_obsolete`, no other thread holds the
///    same latch exclusively (the tree lock may provide this: with
///    [`GlobalLock`], `enter_exclusive` excludes every other operation).
/// 2. **Consistent reads.** If `check(t)` returns `Ok` for a read `t`,
///    every node field read between the start of `t` and that `check`
///    was written by exclusive sections that ended before the read
///    started (it happens-after their `unlock`), and no exclusive section
///    of that node overlapped it. Reads are racy atomic loads, so a
///    protocol may let a writer overlap a read as long as `check` then
///    fails.
/// 3. **Release/acquire.** `unlock` and `unlock_obsolete` release the
///    section's stores; the next `upgrade` / `lock` / successful read of
///    the node acquires them.
/// 4. **Obsolete is final.** After `unlock_obsolete`, `is_obsolete`
///    returns true, and `read`, `read_for_write`, `upgrade` and `lock`
///    fail with [`Restart`] (they may first wait for a holder).
/// 5. **Waiting.** A method that waits for another holder waits only for
///    one that can finish: it must not wait while it is itself inside a
///    section that the holder waits for, and it spins with
///    [`ordex_core::sync::spin_hint`] / yields (so it terminates under
///    loom). Unwinding: the tree releases latches from drop guards, so a
///    panic inside a write section releases the latch.
pub unsafe trait Latch: Send + Sync + Sized + fmt::Debug + 'static {
    /// What a read holds: the version it read (optimistic) or the mode of
    /// the latch it holds (pessimistic).
    type Token: Copy + fmt::Debug;
    /// The tree-wide lock (`()` for per-node protocols).
    type TreeLock: Default + Send + Sync + fmt::Debug;
    /// Held while a reading operation runs (see [`enter_shared`](Self::enter_shared)).
    type Shared<'a>;
    /// Held while a writing operation runs (see [`enter_exclusive`](Self::enter_exclusive)).
    type Exclusive<'a>;
    /// The protocol's name, for reports ("global", "coupling", "optimistic").
    const NAME: &'static str;
    /// Whether a read holds nothing that another thread waits for (an
    /// optimistic read is a version number): then a scan may call its
    /// callback between a read's loads and its last `check`, as it
    /// validates each entry before handing it out.
    const READS_HOLD_NOTHING: bool = false;

    /// An unlocked, live latch.
    fn new() -> Self;

    /// Starts a read; fails if the node is obsolete (a pessimistic latch
    /// may wait for a writer first; the optimistic one fails at once).
    fn read(&self) -> Result<Self::Token, Restart>;

    /// Starts a read that the caller intends to [`upgrade`](Self::upgrade)
    /// (a pessimistic latch may take the exclusive latch at once).
    #[inline]
    fn read_for_write(&self) -> Result<Self::Token, Restart> {
        self.read()
    }

    /// Validates the read `t`: `Ok` if it saw one consistent state.
    fn check(&self, t: Self::Token) -> Result<(), Restart>;

    /// Ends the read `t`.
    ///
    /// # Safety
    ///
    /// `t` comes from a read of this latch by this thread that has not
    /// ended or been upgraded.
    unsafe fn read_end(&self, t: Self::Token);

    /// Turns the read `t` into the exclusive latch, if nothing changed
    /// since it started. On `Err` the read is still held (end it).
    ///
    /// # Safety
    ///
    /// As for [`read_end`](Self::read_end); inside `enter_exclusive`.
    unsafe fn upgrade(&self, t: Self::Token) -> Result<(), Restart>;

    /// Takes the exclusive latch, waiting for other holders; fails if the
    /// node is (or becomes) obsolete. The caller holds no other latch.
    fn lock(&self) -> Result<(), Restart>;

    /// Releases the exclusive latch.
    ///
    /// # Safety
    ///
    /// This thread holds the exclusive latch.
    unsafe fn unlock(&self);

    /// Releases the exclusive latch and marks the node obsolete.
    ///
    /// # Safety
    ///
    /// This thread holds the exclusive latch.
    unsafe fn unlock_obsolete(&self);

    /// Whether the node was marked obsolete.
    fn is_obsolete(&self) -> bool;

    /// Enters a reading operation (a get, or one leaf of a scan).
    fn enter_shared(lock: &Self::TreeLock) -> Self::Shared<'_>;

    /// Enters a writing operation (insert, remove, update, sweep).
    fn enter_exclusive(lock: &Self::TreeLock) -> Self::Exclusive<'_>;
}

// ---------------------------------------------------------------------------
// Contention counters, backoff and waits: ordex_core::olc's, shared with
// every optimistic backend.

pub(crate) use ordex_core::olc::{backoff, count_wait, pause, wait};
pub use ordex_core::olc::{contention, Contention};

// ---------------------------------------------------------------------------
// Optimistic.

/// Optimistic lock coupling (the default): a version word per node (lock
/// bit, obsolete bit, counter: [`VersionLock`]). Readers never write
/// shared memory: they read the version, read the node through atomics,
/// and validate (`fence(Acquire)`, then the version load), restarting on
/// a mismatch; a writer upgrades the version it read with one CAS.
/// Readers never wait; writers never wait while holding a latch.
#[derive(Debug, Default)]
pub struct Optimistic(VersionLock);

// SAFETY: 1: `upgrade` / `lock` are a CAS from an unlocked version to the
// locked one, so one holder at a time. 2: a writer sets the lock bit
// (CAS, then `fence(Release)`) before its first store and bumps the
// version when it unlocks; a reader's `check` (`fence(Acquire)`, then
// the load) fails if any of its loads saw such a store (Leis et al.;
// modelled in core/tests/olc_model.rs). 3: unlock is a Release store, the
// reads and the CAS are Acquire. 4: the obsolete bit is never cleared
// and fails every read and upgrade. 5: nothing here waits but `lock`,
// which the tree calls holding no latch.
unsafe impl Latch for Optimistic {
    type Token = Stamp;
    type TreeLock = ();
    type Shared<'a> = ();
    type Exclusive<'a> = ();
    const NAME: &'static str = "optimistic";
    const READS_HOLD_NOTHING: bool = true;

    fn new() -> Self {
        Self(VersionLock::new())
    }

    #[inline]
    fn read(&self) -> Result<Stamp, Restart> {
        self.0.read_begin()
    }

    #[inline]
    fn check(&self, v: Stamp) -> Result<(), Restart> {
        self.0.check(v)
    }

    #[inline]
    unsafe fn read_end(&self, _v: Stamp) {}

    #[inline]
    unsafe fn upgrade(&self, v: Stamp) -> Result<(), Restart> {
        self.0.try_upgrade(v)
    }

    fn lock(&self) -> Result<(), Restart> {
        let mut restarts = 0;
        loop {
            if self.0.is_obsolete() {
                return Err(Restart);
            }
            if let Ok(v) = self.0.read_begin() {
                if self.0.try_upgrade(v).is_ok() {
                    return Ok(());
                }
            }
            backoff(&mut restarts);
        }
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.0.unlock()
    }

    #[inline]
    unsafe fn unlock_obsolete(&self) {
        self.0.unlock_obsolete()
    }

    #[inline]
    fn is_obsolete(&self) -> bool {
        self.0.is_obsolete()
    }

    #[inline]
    fn enter_shared(_: &()) {}

    #[inline]
    fn enter_exclusive(_: &()) {}
}

// ---------------------------------------------------------------------------
// Lock coupling.

const EXCL: u64 = 0b01;
const OBSOLETE: u64 = 0b10;
const READER: u64 = 0b100;

/// How a [`LockCoupling`] read holds its latch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A shared latch (other readers may hold it too).
    Shared,
    /// The exclusive latch, taken at once by a writer's descent.
    Exclusive,
}

/// Pessimistic lock coupling: a reader-writer latch per node (one word:
/// exclusive bit, obsolete bit, reader count), taken hand-over-hand — a
/// descent latches the child before it releases the parent. Readers take
/// shared latches; a writer's descent takes shared latches on the inner
/// nodes and the exclusive latch on the node it modifies (the leaf, or
/// the parent when it installs a separator), so writers latch
/// exclusively only the path they modify. A waiting acquisition spins,
/// then yields; it never waits while holding a latch right of or below
/// the one it waits for. `check` always succeeds: a latched node cannot
/// change.
#[derive(Debug)]
pub struct LockCoupling(AtomicU64);

impl Default for LockCoupling {
    fn default() -> Self {
        Self(AtomicU64::new(0))
    }
}

impl LockCoupling {
    /// Takes the latch shared, waiting while a writer holds it.
    fn shared(&self) -> Result<Mode, Restart> {
        let mut round = 0;
        loop {
            let w = self.0.fetch_add(READER, Ordering::Acquire);
            if w & (EXCL | OBSOLETE) == 0 {
                return Ok(Mode::Shared);
            }
            self.0.fetch_sub(READER, Ordering::Relaxed);
            if w & OBSOLETE != 0 {
                return Err(Restart);
            }
            if round == 0 {
                count_wait();
            }
            // Wait for the writer before trying again.
            while self.0.load(Ordering::Relaxed) & EXCL != 0 {
                round += 1;
                pause(round);
            }
            round += 1;
        }
    }

    /// Takes the latch exclusive, waiting while anyone holds it.
    fn exclusive(&self) -> Result<(), Restart> {
        let mut round = 0;
        loop {
            let w = self.0.load(Ordering::Relaxed);
            if w & OBSOLETE != 0 {
                return Err(Restart);
            }
            if w == 0
                && self
                    .0
                    .compare_exchange_weak(0, EXCL, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return Ok(());
            }
            if w != 0 && round == 0 {
                count_wait();
            }
            round += 1;
            pause(round);
        }
    }
}

// SAFETY: 1: the exclusive bit is set only by a CAS from 0 (no reader,
// no writer) or from exactly one reader (the upgrading thread itself),
// and readers back out (their increment is undone) when they see it; so
// one exclusive holder, and no shared holder while it holds. 2: a node
// is read only while its latch is held shared or exclusive, which
// excludes every other exclusive section; `check` has nothing to detect.
// 3: releases are Release RMWs (`fetch_sub`), acquisitions Acquire RMWs
// on the same word (a release sequence). 4: the obsolete bit is set with
// the release of the exclusive latch and never cleared; every
// acquisition checks it. 5: `shared` and `exclusive` spin/yield while a
// holder finishes; the tree waits only top-down and left-to-right, and
// never for the tree lock.
unsafe impl Latch for LockCoupling {
    type Token = Mode;
    type TreeLock = ();
    type Shared<'a> = ();
    type Exclusive<'a> = ();
    const NAME: &'static str = "coupling";

    fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn read(&self) -> Result<Mode, Restart> {
        self.shared()
    }

    #[inline]
    fn read_for_write(&self) -> Result<Mode, Restart> {
        self.exclusive().map(|()| Mode::Exclusive)
    }

    #[inline]
    fn check(&self, _t: Mode) -> Result<(), Restart> {
        Ok(())
    }

    #[inline]
    unsafe fn read_end(&self, t: Mode) {
        match t {
            Mode::Shared => {
                self.0.fetch_sub(READER, Ordering::Release);
            }
            // SAFETY: the read holds the exclusive latch.
            Mode::Exclusive => unsafe { self.unlock() },
        }
    }

    #[inline]
    unsafe fn upgrade(&self, t: Mode) -> Result<(), Restart> {
        match t {
            Mode::Exclusive => Ok(()),
            // Only the sole reader may upgrade; anyone else makes it fail
            // (two upgraders waiting for each other would deadlock).
            Mode::Shared => self
                .0
                .compare_exchange(READER, EXCL, Ordering::Acquire, Ordering::Relaxed)
                .map(|_| ())
                .map_err(|_| Restart),
        }
    }

    fn lock(&self) -> Result<(), Restart> {
        self.exclusive()
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.0.fetch_sub(EXCL, Ordering::Release);
    }

    #[inline]
    unsafe fn unlock_obsolete(&self) {
        // EXCL -> OBSOLETE in one step (transient reader increments stay).
        self.0.fetch_add(OBSOLETE - EXCL, Ordering::Release);
    }

    #[inline]
    fn is_obsolete(&self) -> bool {
        self.0.load(Ordering::Acquire) & OBSOLETE != 0
    }

    #[inline]
    fn enter_shared(_: &()) {}

    #[inline]
    fn enter_exclusive(_: &()) {}
}

// ---------------------------------------------------------------------------
// Global lock.

#[cfg(not(loom))]
use ordex_core::sync::TryLockError;
use ordex_core::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One reader-writer lock around the whole tree (the naive, correct
/// baseline): gets and each leaf refill of a scan take it shared, inserts,
/// removes, updates and snapshot sweeps exclusive, for the whole
/// operation (including split completion and leaf unlinking). The node
/// latch is only an obsolete flag, so that a scan that resumes at a leaf
/// unlinked between two refills notices it. A scan iterator does not hold
/// the lock between `next` calls (it copies a leaf per refill), so a
/// thread may write to the tree while it iterates. `update`'s closure
/// runs under the exclusive lock: touching the tree from it deadlocks.
#[derive(Debug, Default)]
pub struct GlobalLock(AtomicBool);

// SAFETY: 1: every exclusive section happens inside `enter_exclusive`,
// which excludes every other operation. 2: every read happens inside
// `enter_shared` or `enter_exclusive`, so no exclusive section of another
// thread overlaps it, and the lock orders it after every earlier one. 3:
// the tree lock's release/acquire orders all sections. 4: the flag is
// set by `unlock_obsolete` and never cleared; reads, upgrades and `lock`
// fail on it. 5: nothing here waits but the tree lock, which no
// operation enters twice.
unsafe impl Latch for GlobalLock {
    type Token = ();
    type TreeLock = TreeRwLock;
    type Shared<'a> = RwLockReadGuard<'a, ()>;
    type Exclusive<'a> = RwLockWriteGuard<'a, ()>;
    const NAME: &'static str = "global";

    fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    #[inline]
    fn read(&self) -> Result<(), Restart> {
        if self.is_obsolete() {
            Err(Restart)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn check(&self, _t: ()) -> Result<(), Restart> {
        Ok(())
    }

    #[inline]
    unsafe fn read_end(&self, _t: ()) {}

    #[inline]
    unsafe fn upgrade(&self, _t: ()) -> Result<(), Restart> {
        self.read()
    }

    fn lock(&self) -> Result<(), Restart> {
        self.read()
    }

    #[inline]
    unsafe fn unlock(&self) {}

    #[inline]
    unsafe fn unlock_obsolete(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    #[inline]
    fn is_obsolete(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn enter_shared(lock: &TreeRwLock) -> RwLockReadGuard<'_, ()> {
        lock.shared()
    }

    fn enter_exclusive(lock: &TreeRwLock) -> RwLockWriteGuard<'_, ()> {
        lock.exclusive()
    }
}

/// The tree lock of [`GlobalLock`]: `std`'s reader-writer lock (loom's
/// under `cfg(loom)`); a poisoned lock is entered anyway (the tree's
/// state is consistent between operations, and a panic inside `update`'s
/// closure happens before it writes).
#[derive(Debug)]
pub struct TreeRwLock(RwLock<()>);

impl Default for TreeRwLock {
    fn default() -> Self {
        Self(RwLock::new(()))
    }
}

impl TreeRwLock {
    fn shared(&self) -> RwLockReadGuard<'_, ()> {
        #[cfg(not(loom))]
        match self.0.try_read() {
            Ok(g) => return g,
            Err(TryLockError::Poisoned(e)) => return e.into_inner(),
            Err(TryLockError::WouldBlock) => count_wait(),
        }
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        #[cfg(not(loom))]
        match self.0.try_write() {
            Ok(g) => return g,
            Err(TryLockError::Poisoned(e)) => return e.into_inner(),
            Err(TryLockError::WouldBlock) => count_wait(),
        }
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}
