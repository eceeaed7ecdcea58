//! Cursors: positioned, bidirectional, allocation-free iteration.
//!
//! [`Cursor`] shows the newest version of each key visible at its seqno,
//! skipping keys whose newest visible version is a tombstone (what a reader
//! wants). [`VersionCursor`] shows every version with its seqno and kind
//! (what a flush or a merge wants), optionally between two bounds in
//! (key, seqno) terms ([`set_bounds`](VersionCursorOn::set_bounds),
//! [`SkipList::version_range`]). Each holds its table and a 4-byte node
//! offset, so it is `Send` and `Sync` and costs nothing to create.
//!
//! Both come in two kinds, one type each, generic over how they hold the
//! table (a sealed [`TableHandle`]): [`Cursor`] and [`VersionCursor`]
//! borrow it (`&'a SkipList`; what they return lives as long as that
//! borrow), [`OwnedCursor`] and [`OwnedVersionCursor`] share it
//! (`Arc<SkipList>`; they are `'static`, so an engine can keep them in its
//! iterator stack, and what they return is borrowed from the cursor). The
//! movement logic is written once, for both; only the accessors differ in
//! the lifetime of what they return. Neither copies a key or a value.
//!
//! `next` follows the level-0 link; `prev` follows the level-0 prev hint
//! and checks it (see `list.rs`), so both are O(1) steps. On a table still
//! being written a cursor is weakly consistent (it sees each entry present
//! throughout, and maybe some added meanwhile); on a frozen table or at a
//! snapshot seqno it is exact.

use crate::arena::NodeRef;
use crate::keys::{compare_keys, same_key};
use crate::list::{List, MAX_SEQNO};
use crate::{SkipList, Version};
use ordex_core::Seqno;
use std::cmp::Ordering as Cmp;
use std::ops::{Bound, Deref, RangeBounds};
use std::sync::Arc;

mod sealed {
    /// Keeps [`TableHandle`](super::TableHandle) to the two handles below.
    pub trait Sealed {}
    impl Sealed for &crate::SkipList {}
    impl Sealed for std::sync::Arc<crate::SkipList> {}
}

/// How a cursor holds its table: `&SkipList` ([`Cursor`],
/// [`VersionCursor`]) or `Arc<SkipList>` ([`OwnedCursor`],
/// [`OwnedVersionCursor`]). Sealed: these two are the only handles.
pub trait TableHandle: Deref<Target = SkipList> + Clone + sealed::Sealed {}

impl TableHandle for &SkipList {}
impl TableHandle for Arc<SkipList> {}

/// A cursor over the newest version of each key visible at a seqno,
/// skipping keys whose newest visible version is a tombstone (what a
/// reader wants), on a table held by `H` (see [`Cursor`] and
/// [`OwnedCursor`]). It holds the handle and a 4-byte node offset, so it
/// is `Send` and `Sync` and costs nothing to create. `next` follows the
/// level-0 link; `prev` follows the level-0 prev hint and checks it, so
/// both are O(1) steps. On a table still being written a cursor is weakly
/// consistent (it sees each entry present throughout, and maybe some added
/// meanwhile); on a frozen table or at a snapshot seqno it is exact.
///
/// ```
/// use ordex_core::OrderedIndex;
/// use ordex_skiplist::SkipList;
/// let t = SkipList::new();
/// for k in [b"a", b"b", b"c"] {
///     t.insert(k, b"v")?;
/// }
/// t.remove(b"b")?;
/// let mut c = t.cursor();
/// let mut keys = Vec::new();
/// let mut ok = c.last();
/// while ok {
///     keys.push(c.key().unwrap().to_vec());
///     ok = c.prev();
/// }
/// assert_eq!(keys, [b"c".to_vec(), b"a".to_vec()]);
/// # Ok::<(), ordex_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CursorOn<H> {
    table: H,
    seqno: Seqno,
    node: Option<NodeRef>,
}

/// A [`CursorOn`] on a borrowed table, from [`SkipList::cursor`],
/// [`SkipList::cursor_at`] or [`SkipSnapshot::cursor`](crate::SkipSnapshot::cursor):
/// keys and values live as long as the borrow (`&'a [u8]`).
pub type Cursor<'a> = CursorOn<&'a SkipList>;

/// A [`CursorOn`] on a shared table, from [`SkipList::owned_cursor`] or
/// [`SkipList::owned_cursor_at`]: `'static`, it keeps the table alive;
/// keys and values are borrowed from the cursor.
///
/// ```
/// use ordex_core::OrderedIndex;
/// use ordex_skiplist::{OwnedCursor, SkipList};
/// use std::sync::Arc;
///
/// fn open() -> OwnedCursor {
///     let table = Arc::new(SkipList::new());
///     table.insert(b"k", b"v").unwrap();
///     table.owned_cursor()   // the cursor now holds the only handle
/// }
/// let mut c = open();
/// assert!(c.first());
/// assert_eq!(c.entry(), Some((&b"k"[..], &b"v"[..])));
/// ```
pub type OwnedCursor = CursorOn<Arc<SkipList>>;

impl<H: TableHandle> CursorOn<H> {
    pub(crate) fn new(table: H, seqno: Seqno) -> CursorOn<H> {
        CursorOn {
            table,
            seqno,
            node: None,
        }
    }

    /// The seqno this cursor reads at.
    pub fn read_seqno(&self) -> Seqno {
        self.seqno
    }

    /// Whether the cursor is on an entry.
    pub fn valid(&self) -> bool {
        self.node.is_some()
    }

    /// The seqno of the current version.
    pub fn seqno(&self) -> Option<Seqno> {
        Some(self.table.list.arena.seqno(self.node?))
    }

    /// Moves to the first key at or after `key`; returns whether there is
    /// one.
    pub fn seek(&mut self, key: &[u8]) -> bool {
        let start = self.table.list.seek(key, self.seqno);
        self.set(self.forward(start))
    }

    /// Moves to the first key after `key`; returns whether there is one.
    pub fn seek_after(&mut self, key: &[u8]) -> bool {
        // The successor the search compared (above `key`), never a second
        // load of the link after the last key <= `key`: see
        // `List::seek_after`.
        let start = self.table.list.seek_after(key);
        self.set(self.forward(start))
    }

    /// Moves to the last key at or before `key` (RocksDB's
    /// `SeekForPrev`); returns whether there is one.
    pub fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        let start = self.table.list.seek_last_le(key);
        self.set(self.backward(start))
    }

    /// Moves to the first key.
    pub fn first(&mut self) -> bool {
        let start = self.table.list.first();
        self.set(self.forward(start))
    }

    /// Moves to the last key.
    pub fn last(&mut self) -> bool {
        let start = self.table.list.last();
        self.set(self.backward(start))
    }

    /// Moves to the next key; returns whether there is one (an unpositioned
    /// cursor stays unpositioned).
    // A positioned cursor, RocksDB style: `next` moves, accessors read.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        let Some(n) = self.node else { return false };
        let list = &self.table.list;
        let key = list.arena.key(n);
        let mut cur = list.next_ahead(n);
        while let Some(m) = cur {
            if !same_key(list.arena.key(m), key) {
                break;
            }
            cur = list.next_ahead(m);
        }
        self.set(self.forward(cur))
    }

    /// Moves to the previous key; returns whether there is one.
    pub fn prev(&mut self) -> bool {
        let Some(n) = self.node else { return false };
        let list = &self.table.list;
        let key = list.arena.key(n);
        // Back over the newer (invisible or superseded) versions of the
        // current key, to the oldest version of the key before it.
        let mut cur = list.prev_of(n);
        while let Some(m) = cur {
            if !same_key(list.arena.key(m), key) {
                break;
            }
            cur = list.prev_of(m);
        }
        self.set(self.backward(cur))
    }

    fn set(&mut self, node: Option<NodeRef>) -> bool {
        self.node = node;
        node.is_some()
    }

    /// From `cur` (the first node of a key, or a seek position within one),
    /// the first node that is the newest visible version of its key and a
    /// put.
    fn forward(&self, mut cur: Option<NodeRef>) -> Option<NodeRef> {
        let list = &self.table.list;
        while let Some(n) = cur {
            let (key, seqno) = list.arena.key_seqno(n);
            if seqno > self.seqno {
                cur = list.next(n);
                continue;
            }
            if list.is_put(n) {
                return Some(n);
            }
            // A tombstone: the key is deleted at this seqno; skip its
            // older versions.
            cur = list.next(n);
            while let Some(m) = cur {
                if !same_key(list.arena.key(m), key) {
                    break;
                }
                cur = list.next(m);
            }
        }
        None
    }

    /// From `cur` (the oldest version of a key), backwards: the first key
    /// whose newest visible version is a put, at that version.
    fn backward(&self, mut cur: Option<NodeRef>) -> Option<NodeRef> {
        let list = &self.table.list;
        while let Some(n) = cur {
            let key = list.arena.key(n);
            // Going back, a key's versions come oldest first: the newest
            // visible one is the last with seqno <= ours.
            let mut best = None;
            let mut m = Some(n);
            while let Some(x) = m {
                let (k, s) = list.arena.key_seqno(x);
                if !same_key(k, key) {
                    break;
                }
                if s <= self.seqno {
                    best = Some(x);
                }
                m = list.prev_of(x);
            }
            cur = m;
            if let Some(b) = best {
                if list.is_put(b) {
                    return Some(b);
                }
            }
        }
        None
    }
}

/// The contract's cursor ([`ordex_core::Cursor`]): what
/// [`OrderedIndex::cursor`](ordex_core::OrderedIndex::cursor) and
/// [`Snapshot::cursor`](ordex_core::Snapshot::cursor) box, the same
/// movements as the inherent methods.
impl<H: TableHandle> ordex_core::Cursor for CursorOn<H> {
    #[inline]
    fn seek(&mut self, key: &[u8]) -> bool {
        CursorOn::seek(self, key)
    }
    #[inline]
    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        CursorOn::seek_for_prev(self, key)
    }
    #[inline]
    fn first(&mut self) -> bool {
        CursorOn::first(self)
    }
    #[inline]
    fn last(&mut self) -> bool {
        CursorOn::last(self)
    }
    #[inline]
    fn next(&mut self) -> bool {
        CursorOn::next(self)
    }
    #[inline]
    fn prev(&mut self) -> bool {
        CursorOn::prev(self)
    }
    #[inline]
    fn valid(&self) -> bool {
        self.node.is_some()
    }
    #[inline]
    fn key(&self) -> Option<&[u8]> {
        Some(self.table.list.arena.key(self.node?))
    }
    #[inline]
    fn value(&self) -> Option<&[u8]> {
        Some(self.table.list.arena.value(self.node?))
    }
    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        CursorOn::seqno(self)
    }
    #[inline]
    fn entry(&self) -> Option<(&[u8], &[u8])> {
        let (k, v, _) = self.table.list.arena.entry(self.node?);
        Some((k, v))
    }
}

impl<'a> CursorOn<&'a SkipList> {
    /// The current key and value.
    pub fn entry(&self) -> Option<(&'a [u8], &'a [u8])> {
        let (k, v, _) = self.table.list.arena.entry(self.node?);
        Some((k, v))
    }

    /// The current key.
    pub fn key(&self) -> Option<&'a [u8]> {
        Some(self.table.list.arena.key(self.node?))
    }

    /// The current value.
    pub fn value(&self) -> Option<&'a [u8]> {
        Some(self.table.list.arena.value(self.node?))
    }
}

impl CursorOn<Arc<SkipList>> {
    /// The current key and value, borrowed from the cursor.
    pub fn entry(&self) -> Option<(&[u8], &[u8])> {
        let (k, v, _) = self.table.list.arena.entry(self.node?);
        Some((k, v))
    }

    /// The current key, borrowed from the cursor.
    pub fn key(&self) -> Option<&[u8]> {
        Some(self.table.list.arena.key(self.node?))
    }

    /// The current value, borrowed from the cursor.
    pub fn value(&self) -> Option<&[u8]> {
        Some(self.table.list.arena.value(self.node?))
    }

    /// The table this cursor keeps alive.
    pub fn table(&self) -> &Arc<SkipList> {
        &self.table
    }
}

/// A cursor over every version (puts and tombstones), in table order: key
/// ascending, seqno descending (what a flush or a merge wants), on a table
/// held by `H` (see [`VersionCursor`] and [`OwnedVersionCursor`]). Like
/// [`CursorOn`]: `Send`, `Sync`, O(1) steps both ways, nothing copied.
///
/// # Bounds
///
/// A version cursor may be kept between two bounds in (key, seqno) terms
/// ([`set_bounds`](Self::set_bounds), [`SkipList::version_range`],
/// [`SkipList::owned_version_range`]). Table order puts the newest version
/// of a key first, so a position `(k, s)` is at or after `(k2, s2)` when
/// `k > k2`, or `k == k2` and `s <= s2`: the lower bound of a key's
/// versions carries the *higher* seqno. Every move stays inside the
/// bounds: `first`/`last` go to the first/last version inside, a seek
/// outside them is clamped to them (a `seek` below the lower bound lands
/// on its first version inside), and a step that would leave them returns
/// `false` and leaves the cursor unpositioned. Without bounds (the
/// default), every version is inside.
///
/// The bound keys are copied into the cursor when the bounds are set (one
/// allocation, reused by later `set_bounds` calls when it is large
/// enough); steps and seeks allocate nothing. Cloning a bounded cursor
/// copies its bound keys.
///
/// An MVCC read of one key's history: every version of `user42` with a
/// seqno in `[5, 20]`, newest first.
///
/// ```
/// use ordex_skiplist::SkipList;
/// use std::ops::Bound::Included;
///
/// let t = SkipList::new();
/// for s in [1, 5, 9, 20, 31] {
///     t.insert_at(b"user42", s, format!("v{s}").as_bytes()).unwrap();
/// }
/// t.delete_at(b"user42", 12).unwrap();
/// t.insert_at(b"user41", 10, b"other").unwrap();
/// t.insert_at(b"user43", 10, b"other").unwrap();
///
/// // Lower bound (user42, 20): its newest version inside; upper bound
/// // (user42, 5): its oldest.
/// let mut c = t.version_range((
///     Included((&b"user42"[..], 20)),
///     Included((&b"user42"[..], 5)),
/// ));
/// let mut seen = Vec::new();
/// let mut ok = c.first();
/// while ok {
///     let v = c.version().unwrap();
///     seen.push((v.seqno, v.value.map(<[u8]>::to_vec)));
///     ok = c.next();
/// }
/// assert_eq!(
///     seen,
///     [
///         (20, Some(b"v20".to_vec())),
///         (12, None), // a tombstone
///         (9, Some(b"v9".to_vec())),
///         (5, Some(b"v5".to_vec())),
///     ]
/// );
/// assert!(!c.valid()); // the step past (user42, 5) left the bounds
///
/// // Seeks are clamped: the version visible at seqno 15 ...
/// assert!(c.seek(b"user42", 15) && c.version().unwrap().seqno == 12);
/// // ... and one from before the range lands on its first version.
/// assert!(c.seek(b"user41", 10) && c.version().unwrap().seqno == 20);
/// // Backwards from the end: the oldest version inside.
/// assert!(c.last() && c.version().unwrap().seqno == 5);
/// assert!(c.prev() && c.version().unwrap().seqno == 9);
/// ```
#[derive(Debug, Clone)]
pub struct VersionCursorOn<H> {
    table: H,
    node: Option<NodeRef>,
    bounds: Bounds,
}

/// A [`VersionCursorOn`] on a borrowed table, from
/// [`SkipList::version_cursor`] or [`SkipList::version_range`]: versions
/// live as long as the borrow.
pub type VersionCursor<'a> = VersionCursorOn<&'a SkipList>;

/// A [`VersionCursorOn`] on a shared table, from
/// [`SkipList::owned_version_cursor`] or
/// [`SkipList::owned_version_range`]: `'static`, bounds included; it keeps
/// the table alive, and versions are borrowed from the cursor.
pub type OwnedVersionCursor = VersionCursorOn<Arc<SkipList>>;

impl<H: TableHandle> VersionCursorOn<H> {
    pub(crate) fn new(table: H) -> VersionCursorOn<H> {
        VersionCursorOn {
            table,
            node: None,
            bounds: Bounds::default(),
        }
    }

    /// Whether the cursor is on a version.
    pub fn valid(&self) -> bool {
        self.node.is_some()
    }

    /// Keeps the cursor between `range`'s bounds, in (key, seqno) terms
    /// (see [Bounds](Self#bounds)); `..` removes them. The bound keys are
    /// copied. The cursor is left unpositioned.
    ///
    /// ```
    /// use ordex_skiplist::SkipList;
    /// use std::ops::Bound::{Excluded, Included, Unbounded};
    /// let t = SkipList::new();
    /// for (k, s) in [(&b"a"[..], 3), (b"a", 2), (b"b", 1), (b"c", 4)] {
    ///     t.insert_at(k, s, b"").unwrap();
    /// }
    /// let mut c = t.version_cursor();
    /// // After (a, 3), up to but not including the versions of "c".
    /// c.set_bounds((Excluded((&b"a"[..], 3)), Excluded((&b"c"[..], u64::MAX))));
    /// assert!(c.first() && c.version().unwrap().seqno == 2);
    /// assert!(c.last() && c.version().unwrap().key == b"b");
    /// c.set_bounds((Unbounded, Included((&b"a"[..], 3))));
    /// assert!(c.last() && c.version().unwrap().seqno == 3);
    /// assert!(!c.prev());
    /// c.set_bounds(..);
    /// assert!(c.last() && c.version().unwrap().key == b"c");
    /// ```
    pub fn set_bounds<'k>(&mut self, range: impl RangeBounds<(&'k [u8], Seqno)>) {
        self.node = None;
        self.bounds.set(range.start_bound(), range.end_bound());
    }

    /// Moves to the first version at or after `(key, seqno)` in table
    /// order (the newest version of `key` at or below `seqno`, if any),
    /// inside the bounds.
    pub fn seek(&mut self, key: &[u8], seqno: Seqno) -> bool {
        let target = Cut {
            key,
            seqno,
            after: false,
        };
        let list = &self.table.list;
        let n = match self.bounds.lower() {
            Some(lower) if lower.order(&target) == Cmp::Greater => lower.first_past(list),
            _ => list.seek(key, seqno.min(MAX_SEQNO)),
        };
        self.set_forward(n)
    }

    /// Moves to the last version at or before `(key, seqno)` in table
    /// order (the oldest version of `key` at or above `seqno`, if any),
    /// inside the bounds.
    pub fn seek_for_prev_at(&mut self, key: &[u8], seqno: Seqno) -> bool {
        let target = Cut {
            key,
            seqno,
            after: true,
        };
        self.seek_back(target, |list| target.last_before(list))
    }

    /// Moves to the last version whose key is at or before `key` (the
    /// oldest version of that key), inside the bounds.
    pub fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        let target = Cut {
            key,
            seqno: 0,
            after: true,
        };
        self.seek_back(target, |list| list.seek_last_le(key))
    }

    /// Moves to the last version whose key is before `key`, inside the
    /// bounds.
    pub fn seek_before(&mut self, key: &[u8]) -> bool {
        // No version has seqno `u64::MAX`: the cut before (key, MAX) is
        // the one before all of `key`'s versions.
        let target = Cut {
            key,
            seqno: Seqno::MAX,
            after: false,
        };
        self.seek_back(target, |list| list.seek_last_lt(key))
    }

    /// Moves to the first version (inside the bounds).
    pub fn first(&mut self) -> bool {
        let list = &self.table.list;
        let n = match self.bounds.lower() {
            Some(lower) => lower.first_past(list),
            None => list.first(),
        };
        self.set_forward(n)
    }

    /// Moves to the last version (inside the bounds).
    pub fn last(&mut self) -> bool {
        let list = &self.table.list;
        let n = match self.bounds.upper() {
            Some(upper) => upper.last_before(list),
            None => list.last(),
        };
        self.set_backward(n)
    }

    /// Moves to the next version; returns `false`, unpositioned, at the
    /// end or the upper bound.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        // Past the nodes a later write of the same (key, seqno) shadowed.
        let n = self.node.and_then(|n| self.table.list.next_version(n));
        self.set_forward(n)
    }

    /// Moves to the previous version; returns `false`, unpositioned, at
    /// the start or the lower bound.
    pub fn prev(&mut self) -> bool {
        let n = self.node.and_then(|n| self.table.list.prev_of(n));
        self.set_backward(n)
    }

    /// A backward seek: the last version not past `target`, or, when the
    /// upper bound comes first, the last inside it; then inside the lower
    /// bound. `unbounded` finds the last version not past `target`.
    fn seek_back(
        &mut self,
        target: Cut<'_>,
        unbounded: impl FnOnce(&List) -> Option<NodeRef>,
    ) -> bool {
        let list = &self.table.list;
        let n = match self.bounds.upper() {
            Some(upper) if upper.order(&target) == Cmp::Less => upper.last_before(list),
            _ => unbounded(list),
        };
        self.set_backward(n)
    }

    /// Takes `n`, reached moving forwards, if it is inside the upper
    /// bound.
    fn set_forward(&mut self, n: Option<NodeRef>) -> bool {
        let list = &self.table.list;
        let n = match self.bounds.upper() {
            Some(upper) => n.filter(|&n| !upper.is_passed_by(list, n)),
            None => n,
        };
        self.node = n;
        n.is_some()
    }

    /// Takes `n`, reached moving backwards, if it is inside the lower
    /// bound: the front node of its run of equal (key, seqno)s, the one
    /// version of them (see `Duplicates::LaterWins`); a node reached
    /// moving forwards is one already.
    fn set_backward(&mut self, n: Option<NodeRef>) -> bool {
        let list = &self.table.list;
        let n = n.map(|n| list.front_of(n));
        let n = match self.bounds.lower() {
            Some(lower) => n.filter(|&n| lower.is_passed_by(list, n)),
            None => n,
        };
        self.node = n;
        n.is_some()
    }
}

impl<'a> VersionCursorOn<&'a SkipList> {
    /// The current version.
    pub fn version(&self) -> Option<Version<'a>> {
        Some(Version::of(self.table, self.node?))
    }
}

impl VersionCursorOn<Arc<SkipList>> {
    /// The current version, borrowed from the cursor.
    pub fn version(&self) -> Option<Version<'_>> {
        Some(Version::of(&self.table, self.node?))
    }

    /// The table this cursor keeps alive.
    pub fn table(&self) -> &Arc<SkipList> {
        &self.table
    }
}

/// Cursor constructors (the borrowed ones, [`cursor`](Self::cursor) and
/// [`version_cursor`](Self::version_cursor), are with the other reads).
impl SkipList {
    /// A cursor over the newest live version of each key, like
    /// [`cursor`](Self::cursor), that shares the table instead of
    /// borrowing it: `'static`, it keeps the table alive until it drops.
    /// Unpositioned until a seek.
    pub fn owned_cursor(self: &Arc<Self>) -> OwnedCursor {
        CursorOn::new(Arc::clone(self), MAX_SEQNO)
    }

    /// [`owned_cursor`](Self::owned_cursor) at a snapshot seqno: the
    /// newest version of each key visible at `seqno`, like
    /// [`cursor_at`](Self::cursor_at).
    pub fn owned_cursor_at(self: &Arc<Self>, seqno: Seqno) -> OwnedCursor {
        CursorOn::new(Arc::clone(self), seqno.min(MAX_SEQNO))
    }

    /// A cursor over every version, like
    /// [`version_cursor`](Self::version_cursor), that shares the table:
    /// `'static`, it keeps the table alive until it drops.
    pub fn owned_version_cursor(self: &Arc<Self>) -> OwnedVersionCursor {
        VersionCursorOn::new(Arc::clone(self))
    }

    /// A version cursor kept between `range`'s bounds in (key, seqno)
    /// terms: see [Bounds](VersionCursorOn#bounds). Copies the bound keys
    /// (one allocation). Unpositioned until a seek.
    ///
    /// ```
    /// use ordex_skiplist::SkipList;
    /// use std::ops::Bound::{Excluded, Included};
    /// let t = SkipList::new();
    /// for (k, s) in [(&b"a"[..], 12), (b"a", 10), (b"a", 8), (b"b", 1), (b"c", 1)] {
    ///     t.insert_at(k, s, b"").unwrap();
    /// }
    /// let mut c = t.version_range((
    ///     Included((&b"a"[..], 10)),
    ///     Excluded((&b"c"[..], u64::MAX)), // before every version of "c"
    /// ));
    /// let mut got = Vec::new();
    /// let mut ok = c.first();
    /// while ok {
    ///     let v = c.version().unwrap();
    ///     got.push((v.key, v.seqno));
    ///     ok = c.next();
    /// }
    /// assert_eq!(got, [(&b"a"[..], 10), (b"a", 8), (b"b", 1)]);
    /// ```
    pub fn version_range<'k>(
        &self,
        range: impl RangeBounds<(&'k [u8], Seqno)>,
    ) -> VersionCursor<'_> {
        let mut c = VersionCursorOn::new(self);
        c.set_bounds(range);
        c
    }

    /// [`version_range`](Self::version_range) on a shared table: an
    /// [`OwnedVersionCursor`], `'static` with its bounds.
    pub fn owned_version_range<'k>(
        self: &Arc<Self>,
        range: impl RangeBounds<(&'k [u8], Seqno)>,
    ) -> OwnedVersionCursor {
        let mut c = VersionCursorOn::new(Arc::clone(self));
        c.set_bounds(range);
        c
    }
}

/// A version cursor's bounds, each a [`Cut`] (or none: unbounded), with
/// both keys in one buffer.
#[derive(Debug, Clone, Default)]
struct Bounds {
    /// The lower bound's key, then the upper bound's.
    keys: Vec<u8>,
    /// Where the upper bound's key starts in `keys`.
    split: usize,
    lower: Option<Edge>,
    upper: Option<Edge>,
}

/// A bound without its key: the seqno, and which side of `(key, seqno)`
/// the cut lies on (see [`Cut`]).
#[derive(Debug, Clone, Copy)]
struct Edge {
    seqno: Seqno,
    after: bool,
}

impl Bounds {
    fn set(&mut self, lower: Bound<&(&[u8], Seqno)>, upper: Bound<&(&[u8], Seqno)>) {
        // Inside means at or past the lower cut and not past the upper
        // one: an included lower bound cuts before its position, an
        // included upper bound after it.
        let edge = |b: Bound<&(&[u8], Seqno)>, included_after: bool| match b {
            Bound::Included(&(_, seqno)) => Some(Edge {
                seqno,
                after: included_after,
            }),
            Bound::Excluded(&(_, seqno)) => Some(Edge {
                seqno,
                after: !included_after,
            }),
            Bound::Unbounded => None,
        };
        fn key<'k>(b: Bound<&(&'k [u8], Seqno)>) -> &'k [u8] {
            match b {
                Bound::Included(&(k, _)) | Bound::Excluded(&(k, _)) => k,
                Bound::Unbounded => &[],
            }
        }
        let (low, high) = (key(lower), key(upper));
        self.keys.clear();
        self.keys.reserve_exact(low.len() + high.len());
        self.keys.extend_from_slice(low);
        self.keys.extend_from_slice(high);
        self.split = low.len();
        self.lower = edge(lower, false);
        self.upper = edge(upper, true);
    }

    fn lower(&self) -> Option<Cut<'_>> {
        let e = self.lower?;
        Some(Cut {
            key: &self.keys[..self.split],
            seqno: e.seqno,
            after: e.after,
        })
    }

    fn upper(&self) -> Option<Cut<'_>> {
        let e = self.upper?;
        Some(Cut {
            key: &self.keys[self.split..],
            seqno: e.seqno,
            after: e.after,
        })
    }
}

/// A point between two positions of the table order: right before
/// `(key, seqno)`, or right after it (`after`). A version is past the cut
/// when it is at or after `(key, seqno)` (before it), or after it (after
/// it).
#[derive(Debug, Clone, Copy)]
struct Cut<'k> {
    key: &'k [u8],
    seqno: Seqno,
    after: bool,
}

impl Cut<'_> {
    /// Whether `(key, seqno)` is past the cut.
    fn is_passed(&self, key: &[u8], seqno: Seqno) -> bool {
        match compare_keys(key, self.key) {
            Cmp::Greater => true,
            Cmp::Less => false,
            Cmp::Equal if self.after => seqno < self.seqno,
            Cmp::Equal => seqno <= self.seqno,
        }
    }

    /// Whether node `n` is past the cut.
    fn is_passed_by(&self, list: &List, n: NodeRef) -> bool {
        let (key, seqno) = list.arena.key_seqno(n);
        self.is_passed(key, seqno)
    }

    /// The order of cuts: a cut before another is passed by every
    /// version that passes the other (and maybe more). Distinct cuts may
    /// hold the same versions (after `(k, 5)` and before `(k, 4)`); they
    /// compare unequal, which only costs a choice between equals.
    fn order(&self, other: &Cut<'_>) -> Cmp {
        compare_keys(self.key, other.key)
            .then(other.seqno.cmp(&self.seqno))
            .then(self.after.cmp(&other.after))
    }

    /// The first node past the cut.
    fn first_past(&self, list: &List) -> Option<NodeRef> {
        match (self.after, self.seqno) {
            (false, s) => list.seek(self.key, s.min(MAX_SEQNO)),
            (true, 0) => list.seek_after(self.key),
            (true, s) => list.seek(self.key, (s - 1).min(MAX_SEQNO)),
        }
    }

    /// The last node not past the cut: the one before the first past it,
    /// checked (on a table being written, a node may have been linked
    /// between the two since the search).
    fn last_before(&self, list: &List) -> Option<NodeRef> {
        let mut n = match self.first_past(list) {
            Some(f) => list.prev_of(f),
            None => list.last(),
        };
        while let Some(m) = n {
            if !self.is_passed_by(list, m) {
                break;
            }
            n = list.prev_of(m);
        }
        n
    }
}
