//! The node latch, behind one small interface.
//!
//! Every node carries one [`Latch`]; the tree only ever calls the
//! methods below. Today it is the optimistic version lock of
//! [`ordex_core::olc`] (Leis et al.: lock bit, obsolete bit, version
//! counter). Issue 6 turns this into a type parameter with a stated
//! contract (`GlobalLock`, `LockCoupling`, `Optimistic`); keeping the
//! protocol behind this seam is what makes that a local change.

use ordex_core::olc::{Restart, Version, VersionLock};

/// A node's latch: optimistic reads validated against a version word,
/// exclusive writes.
#[derive(Debug, Default)]
pub(crate) struct Latch(VersionLock);

impl Latch {
    /// An unlocked latch.
    pub(crate) fn new() -> Self {
        Self(VersionLock::new())
    }

    /// Starts an optimistic read; fails at once while a writer holds the
    /// latch (the caller backs off and restarts).
    #[inline]
    pub(crate) fn read(&self) -> Result<Version, Restart> {
        self.0.read_begin()
    }

    /// Validates an optimistic read (`fence(Acquire)`, then the version
    /// load): `Ok` if no writer locked the node since `v`.
    #[inline]
    pub(crate) fn check(&self, v: Version) -> Result<(), Restart> {
        self.0.check(v)
    }

    /// Turns the read at `v` into the exclusive latch, if nothing changed.
    #[inline]
    pub(crate) fn upgrade(&self, v: Version) -> Result<(), Restart> {
        self.0.try_upgrade(v)
    }

    /// Releases the exclusive latch and publishes a new version.
    #[inline]
    pub(crate) fn unlock(&self) {
        self.0.unlock()
    }

    /// Releases the exclusive latch and marks the node obsolete (unlinked):
    /// every later read or upgrade fails.
    #[inline]
    pub(crate) fn unlock_obsolete(&self) {
        self.0.unlock_obsolete()
    }

    /// Whether the node was unlinked.
    #[inline]
    pub(crate) fn is_obsolete(&self) -> bool {
        self.0.is_obsolete()
    }
}
