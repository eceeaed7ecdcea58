//! # ordex
//!
//! Concurrent, versioned, ordered indexes over byte-string keys, behind one
//! trait, [`OrderedIndex`], so that an engine can pick the backend that fits
//! its workload — at compile time through generics, or at run time through
//! [`open`] and `Box<dyn OrderedIndex>` — and a researcher can compare
//! concurrency techniques on identical work.
//!
//! | backend | [`IndexKind`] | for |
//! |---|---|---|
//! | `ordex_core::reference::LockedBTreeMap` | `Reference` | the oracle and baseline: an `RwLock` over `BTreeMap` |
//! | `ordex_skiplist` (feature `skiplist`) | `SkipList` | LSM memtables: arena skip list, MVCC, seal and flush |
//! | `ordex_btree` (feature `btree`) | `BTree` | in-memory indexes: optimistic-lock-coupling B-link tree |
//! | `ordex_art` (feature `art`) | `Art` | point reads, keys behind a shared prefix: adaptive radix tree |
//! | `ordex_persistent` (feature `persistent`) | `Persistent` | read-mostly tables: path-copying B+tree, O(1) snapshots, group commit, transactions |
//!
//! [`IndexKind::available`] lists the backends built into this binary.
//!
//! ```
//! use ordex::{IndexKind, OrderedIndex};
//!
//! let kind: IndexKind = "reference".parse().unwrap();
//! let index = ordex::open(kind);
//! index.insert(b"k", b"v").unwrap();
//! assert_eq!(index.get_copied(b"k").as_deref(), Some(&b"v"[..]));
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

use core::fmt;
use core::str::FromStr;

pub use ordex_core::{
    bounds_of, codec, deliver, is_empty_range, reference, Cursor, Error, Limits, OrderedIndex,
    OrderedIndexExt, Seqno, Snapshot, SnapshotExt,
};

#[cfg(feature = "art")]
pub use ordex_art as art;
#[cfg(feature = "btree")]
pub use ordex_btree as btree;
#[cfg(feature = "persistent")]
pub use ordex_persistent as persistent;
#[cfg(feature = "skiplist")]
pub use ordex_skiplist as skiplist;

/// The backends, for choosing one at run time.
///
/// Names (for [`FromStr`] and [`Display`](fmt::Display)): `reference`,
/// `skiplist`, `btree`, `art`, `persistent`.
///
/// ```
/// use ordex::IndexKind;
/// assert_eq!("btree".parse::<IndexKind>(), Ok(IndexKind::BTree));
/// assert_eq!(IndexKind::Art.to_string(), "art");
/// assert!(IndexKind::available().contains(&IndexKind::Reference));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// `ordex_core::reference::LockedBTreeMap`: the oracle and baseline.
    Reference,
    /// `ordex_skiplist::SkipList`: the arena MVCC skip list (memtable).
    SkipList,
    /// `ordex_btree::BTree`: the optimistic-lock-coupling B-link tree.
    BTree,
    /// `ordex_art::Art`: the adaptive radix tree.
    Art,
    /// `ordex_persistent::PersistentBTree`: the path-copying B-tree.
    Persistent,
}

impl IndexKind {
    /// Every kind, built in or not.
    pub const ALL: [IndexKind; 5] = [
        IndexKind::Reference,
        IndexKind::SkipList,
        IndexKind::BTree,
        IndexKind::Art,
        IndexKind::Persistent,
    ];

    /// The kind's name, as parsed by [`FromStr`].
    pub const fn name(self) -> &'static str {
        match self {
            IndexKind::Reference => "reference",
            IndexKind::SkipList => "skiplist",
            IndexKind::BTree => "btree",
            IndexKind::Art => "art",
            IndexKind::Persistent => "persistent",
        }
    }

    /// Whether this kind is implemented and enabled in this build.
    pub const fn is_available(self) -> bool {
        match self {
            IndexKind::Reference => true,
            #[cfg(feature = "skiplist")]
            IndexKind::SkipList => ordex_skiplist::IMPLEMENTED,
            #[cfg(feature = "btree")]
            IndexKind::BTree => ordex_btree::IMPLEMENTED,
            #[cfg(feature = "art")]
            IndexKind::Art => ordex_art::IMPLEMENTED,
            #[cfg(feature = "persistent")]
            IndexKind::Persistent => ordex_persistent::IMPLEMENTED,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The kinds that [`open`] can build in this binary.
    pub fn available() -> Vec<IndexKind> {
        Self::ALL.into_iter().filter(|k| k.is_available()).collect()
    }
}

impl fmt::Display for IndexKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name did not match any [`IndexKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown index kind {:?}; expected one of reference, skiplist, btree, art, persistent",
            self.0
        )
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for IndexKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IndexKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// The backend is not implemented or not enabled in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable(pub IndexKind);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "index kind `{}` is not available in this build (available: {:?})",
            self.0,
            IndexKind::available()
        )
    }
}

impl std::error::Error for Unavailable {}

/// Builds an index of `kind` with default settings, for choosing a backend
/// at run time.
///
/// # Panics
///
/// If `kind` is not [available](IndexKind::available) in this build. Kinds
/// from configuration should go through [`try_open`].
///
/// ```
/// let index = ordex::open(ordex::IndexKind::Reference);
/// assert_eq!(index.name(), "reference");
/// ```
pub fn open(kind: IndexKind) -> Box<dyn OrderedIndex> {
    match try_open(kind) {
        Ok(index) => index,
        Err(e) => panic!("{e}"),
    }
}

/// Like [`open`], but an unavailable kind is an `Err`, not a panic.
///
/// ```
/// use ordex::{try_open, IndexKind};
/// for kind in IndexKind::ALL {
///     assert_eq!(try_open(kind).is_ok(), kind.is_available());
/// }
/// ```
pub fn try_open(kind: IndexKind) -> Result<Box<dyn OrderedIndex>, Unavailable> {
    if !kind.is_available() {
        return Err(Unavailable(kind));
    }
    match kind {
        IndexKind::Reference => Ok(Box::new(reference::LockedBTreeMap::new())),
        #[cfg(feature = "skiplist")]
        IndexKind::SkipList => Ok(Box::new(ordex_skiplist::SkipList::new())),
        #[cfg(feature = "btree")]
        IndexKind::BTree => Ok(Box::new(
            ordex_btree::BTree::<ordex_btree::Optimistic, 64>::new(),
        )),
        #[cfg(feature = "art")]
        IndexKind::Art => Ok(Box::new(ordex_art::Art::new())),
        #[cfg(feature = "persistent")]
        IndexKind::Persistent => Ok(Box::new(ordex_persistent::PersistentBTree::new())),
        // A backend whose feature is off in this build.
        #[allow(unreachable_patterns)]
        _ => Err(Unavailable(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in IndexKind::ALL {
            assert_eq!(k.to_string().parse::<IndexKind>(), Ok(k));
        }
        assert_eq!(" SkipList ".parse::<IndexKind>(), Ok(IndexKind::SkipList));
        assert!("hash".parse::<IndexKind>().is_err());
    }

    #[test]
    fn open_builds_exactly_the_available_kinds() {
        for k in IndexKind::ALL {
            match try_open(k) {
                Ok(index) => {
                    assert!(k.is_available());
                    assert_eq!(index.name(), k.name());
                    index.insert(b"a", b"1").unwrap();
                    assert!(index.contains(b"a"));
                }
                Err(e) => {
                    assert!(!k.is_available());
                    assert_eq!(e, Unavailable(k));
                }
            }
        }
    }
}

/// The README's examples, compiled and run as doctests so they never rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
