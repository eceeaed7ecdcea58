//! The optimistic version lock (OLC) shared by the tree backends.
//!
//! One 64-bit word per node: bit 0 is the write lock, bit 1 marks the node
//! obsolete (unlinked, waiting for reclamation), the remaining bits count
//! completed write sections. The protocol, after Leis et al., "The ART of
//! Practical Synchronization" (DaMoN 2016):
//!
//! - a **reader** takes the version with [`VersionLock::read_begin`] (Acquire;
//!   it fails while the node is locked or obsolete), reads the node's fields
//!   through atomics (racy, possibly torn *across* fields but never UB), then
//!   calls [`VersionLock::validate`] (`fence(Acquire)`, then a load): if the
//!   version is unchanged, no writer touched the node in between and what it
//!   read is a consistent state; otherwise it restarts.
//! - a **writer** locks ([`VersionLock::try_upgrade`] from a version it read,
//!   or [`VersionLock::lock`]), which is a CAS (Acquire) followed by
//!   `fence(Release)`, so a reader that observes any of the writer's stores
//!   also observes the lock bit when it validates; it unlocks with a Release
//!   store of the next version.
//!
//! Under `cfg(loom)` the atomics come from [`crate::sync`], and the models in
//! `core/tests/olc_model.rs` check the protocol on every interleaving.

use crate::sync::{self, fence, spin_hint, AtomicU64, Ordering};
use std::cell::Cell;

const LOCKED: u64 = 0b01;
const OBSOLETE: u64 = 0b10;
const STEP: u64 = 0b100;

/// The lock word as an optimistic reader saw it (its version stamp); pass
/// it back to [`VersionLock::validate`] or [`VersionLock::try_upgrade`].
/// (Named apart from the versions of keys: across ordex, a *version* is a
/// key's value at a seqno.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64);

impl Stamp {
    /// The raw word (for statistics and debugging).
    pub fn raw(self) -> u64 {
        self.0
    }
}

/// The reader must start over: the node was locked, changed or retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart;

/// A node's version word. See the [module docs](self) for the protocol.
///
/// ```
/// use ordex_core::olc::VersionLock;
/// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
///
/// let lock = VersionLock::new();
/// let field = AtomicU64::new(1);
///
/// // Optimistic read: no store to shared memory.
/// let v = lock.read_begin().unwrap();
/// let seen = field.load(Relaxed);
/// assert!(lock.validate(v));
/// assert_eq!(seen, 1);
///
/// // Write: upgrade the version just read, write, unlock.
/// lock.try_upgrade(v).unwrap();
/// field.store(2, Relaxed);
/// lock.unlock();
/// assert!(!lock.validate(v), "the write invalidates earlier reads");
/// ```
#[derive(Debug)]
pub struct VersionLock {
    word: AtomicU64,
}

impl Default for VersionLock {
    fn default() -> Self {
        Self::new()
    }
}

impl VersionLock {
    /// An unlocked, live lock at version 0.
    pub fn new() -> Self {
        Self {
            word: AtomicU64::new(0),
        }
    }

    /// Starts an optimistic read, or fails at once if the node is locked or
    /// obsolete.
    #[inline]
    pub fn read_begin(&self) -> Result<Stamp, Restart> {
        let w = self.word.load(Ordering::Acquire);
        if w & (LOCKED | OBSOLETE) != 0 {
            Err(Restart)
        } else {
            Ok(Stamp(w))
        }
    }

    /// Starts an optimistic read, spinning while a writer holds the lock;
    /// fails only if the node is obsolete.
    #[inline]
    pub fn read_begin_wait(&self) -> Result<Stamp, Restart> {
        loop {
            let w = self.word.load(Ordering::Acquire);
            if w & OBSOLETE != 0 {
                return Err(Restart);
            }
            if w & LOCKED == 0 {
                return Ok(Stamp(w));
            }
            spin_hint();
        }
    }

    /// Ends (or checkpoints) an optimistic read: `true` if no writer locked
    /// the node since `v` was taken, so every value read in between belongs
    /// to one consistent state.
    #[inline]
    pub fn validate(&self, v: Stamp) -> bool {
        fence(Ordering::Acquire);
        self.word.load(Ordering::Relaxed) == v.0
    }

    /// Like [`validate`](Self::validate), as a `Result` for `?`.
    #[inline]
    pub fn check(&self, v: Stamp) -> Result<(), Restart> {
        if self.validate(v) {
            Ok(())
        } else {
            Err(Restart)
        }
    }

    /// Turns an optimistic read into the write lock, if nothing changed
    /// since `v`.
    #[inline]
    pub fn try_upgrade(&self, v: Stamp) -> Result<(), Restart> {
        match self
            .word
            .compare_exchange(v.0, v.0 | LOCKED, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => {
                // Order the lock bit before every data store of this write
                // section: a reader that sees one of them validates against
                // a word that has the lock bit (or a later version).
                fence(Ordering::Release);
                Ok(())
            }
            Err(_) => Err(Restart),
        }
    }

    /// Takes the write lock, spinning while another writer holds it. Fails
    /// if the node is obsolete.
    pub fn lock(&self) -> Result<(), Restart> {
        loop {
            let v = self.read_begin_wait()?;
            if self.try_upgrade(v).is_ok() {
                return Ok(());
            }
            spin_hint();
        }
    }

    /// Whether a writer holds the lock right now.
    pub fn is_locked(&self) -> bool {
        self.word.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Whether the node was retired.
    pub fn is_obsolete(&self) -> bool {
        self.word.load(Ordering::Relaxed) & OBSOLETE != 0
    }

    /// Releases the write lock and publishes a new version. The caller must
    /// hold the lock (a debug assertion checks it).
    #[inline]
    pub fn unlock(&self) {
        let w = self.word.load(Ordering::Relaxed);
        debug_assert!(w & LOCKED != 0, "unlock of an unlocked VersionLock");
        self.word
            .store((w & !LOCKED).wrapping_add(STEP), Ordering::Release);
    }

    /// Releases the write lock and marks the node obsolete: every reader
    /// that validates against it, and every later `read_begin`, restarts.
    #[inline]
    pub fn unlock_obsolete(&self) {
        let w = self.word.load(Ordering::Relaxed);
        debug_assert!(w & LOCKED != 0, "unlock of an unlocked VersionLock");
        self.word.store(
            ((w & !LOCKED) | OBSOLETE).wrapping_add(STEP),
            Ordering::Release,
        );
    }
}

// ---------------------------------------------------------------------------
// Restarts, backoff and waits: what every optimistic backend does when a
// validation fails or a latch is held.

thread_local! {
    static RESTARTS: Cell<u64> = const { Cell::new(0) };
    static WAITS: Cell<u64> = const { Cell::new(0) };
}

/// Restarts and lock waits of the calling thread, since it started, over
/// every index it used that counts them (ordex-btree does). Take the
/// difference of two readings around a piece of work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contention {
    /// Operations (or steps of one) that started over: a failed
    /// optimistic validation or upgrade.
    pub restarts: u64,
    /// Latch or lock acquisitions that found it held and waited.
    pub waits: u64,
}

/// The calling thread's [`Contention`] counters.
pub fn contention() -> Contention {
    Contention {
        restarts: RESTARTS.with(Cell::get),
        waits: WAITS.with(Cell::get),
    }
}

#[cold]
#[inline(never)]
fn count(c: &'static std::thread::LocalKey<Cell<u64>>) {
    // `try_with`: an index used from a thread-local destructor still works.
    let _ = c.try_with(|c| c.set(c.get() + 1));
}

/// Counts one wait for a held lock (see [`Contention::waits`]).
#[cold]
#[inline(never)]
pub fn count_wait() {
    count(&WAITS);
}

/// Restarts before a thread starts yielding its time slice instead of
/// spinning (a preempted latch holder cannot finish while we spin on an
/// oversubscribed machine).
const SPINS_BEFORE_YIELD: u32 = 4;

/// After a restart (counted): spin a little, then yield. `restarts`
/// counts this operation's restarts so far (start it at 0).
#[inline]
pub fn backoff(restarts: &mut u32) {
    count(&RESTARTS);
    *restarts += 1;
    pause(*restarts);
}

/// Waiting for another thread to finish something (not a restart):
/// counted as one wait on the first round; spin a little, then yield.
/// `round` starts at 0.
#[inline]
pub fn wait(round: &mut u32) {
    if *round == 0 {
        count_wait();
    }
    *round += 1;
    pause(*round);
}

/// Waits a little, uncounted: spins the first few rounds, then yields
/// (`round` counts this wait's rounds from 1).
#[inline]
pub fn pause(round: u32) {
    if round > SPINS_BEFORE_YIELD {
        sync::thread::yield_now();
    } else {
        spin_hint();
    }
}

/// Runs `attempt` until it does not [`Restart`], with a [`backoff`]
/// (counted) between attempts: the restart loop of an optimistic
/// operation.
///
/// ```
/// use ordex_core::olc::{retry, Restart};
/// let mut tries = 0;
/// let got = retry(|| {
///     tries += 1;
///     if tries < 3 { Err(Restart) } else { Ok(tries) }
/// });
/// assert_eq!(got, 3);
/// ```
#[inline]
pub fn retry<T>(mut attempt: impl FnMut() -> Result<T, Restart>) -> T {
    let mut restarts = 0;
    loop {
        match attempt() {
            Ok(t) => return t,
            Err(Restart) => backoff(&mut restarts),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let l = VersionLock::new();
        let v0 = l.read_begin().unwrap();
        assert!(l.validate(v0));
        l.lock().unwrap();
        assert!(l.is_locked());
        assert_eq!(l.read_begin(), Err(Restart));
        assert!(!l.validate(v0));
        assert_eq!(l.try_upgrade(v0), Err(Restart));
        l.unlock();
        let v1 = l.read_begin().unwrap();
        assert_ne!(v0, v1);
        l.try_upgrade(v1).unwrap();
        l.unlock_obsolete();
        assert!(l.is_obsolete());
        assert_eq!(l.read_begin(), Err(Restart));
        assert_eq!(l.read_begin_wait(), Err(Restart));
        assert_eq!(l.lock(), Err(Restart));
    }
}
