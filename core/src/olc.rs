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

use crate::sync::{fence, spin_hint, AtomicU64, Ordering};

const LOCKED: u64 = 0b01;
const OBSOLETE: u64 = 0b10;
const STEP: u64 = 0b100;

/// A version read by an optimistic reader; pass it back to
/// [`VersionLock::validate`] or [`VersionLock::try_upgrade`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(u64);

impl Version {
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
    pub fn read_begin(&self) -> Result<Version, Restart> {
        let w = self.word.load(Ordering::Acquire);
        if w & (LOCKED | OBSOLETE) != 0 {
            Err(Restart)
        } else {
            Ok(Version(w))
        }
    }

    /// Starts an optimistic read, spinning while a writer holds the lock;
    /// fails only if the node is obsolete.
    #[inline]
    pub fn read_begin_wait(&self) -> Result<Version, Restart> {
        loop {
            let w = self.word.load(Ordering::Acquire);
            if w & OBSOLETE != 0 {
                return Err(Restart);
            }
            if w & LOCKED == 0 {
                return Ok(Version(w));
            }
            spin_hint();
        }
    }

    /// Ends (or checkpoints) an optimistic read: `true` if no writer locked
    /// the node since `v` was taken, so every value read in between belongs
    /// to one consistent state.
    #[inline]
    pub fn validate(&self, v: Version) -> bool {
        fence(Ordering::Acquire);
        self.word.load(Ordering::Relaxed) == v.0
    }

    /// Like [`validate`](Self::validate), as a `Result` for `?`.
    #[inline]
    pub fn check(&self, v: Version) -> Result<(), Restart> {
        if self.validate(v) {
            Ok(())
        } else {
            Err(Restart)
        }
    }

    /// Turns an optimistic read into the write lock, if nothing changed
    /// since `v`.
    #[inline]
    pub fn try_upgrade(&self, v: Version) -> Result<(), Restart> {
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
