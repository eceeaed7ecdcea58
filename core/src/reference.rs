//! The reference index: a `parking_lot::RwLock` over a std `BTreeMap` of
//! version chains. Obviously correct, so it is the oracle every backend is
//! compared against, and the baseline every backend must beat.
//!
//! Keys and values are shared (`Arc<[u8]>`), so a [`ReferenceCursor`]
//! holds its entry without copying it and steps without allocating.

use crate::mvcc::Pins;
use crate::{deliver, is_empty_range, Cursor, Error, Limits, OrderedIndex, Seqno, Snapshot};
use core::ops::Bound;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::Arc;

type Bytes = Arc<[u8]>;

/// One version of a key: its seqno and its value (`None`: a tombstone).
#[derive(Debug, Clone)]
struct Version {
    seqno: Seqno,
    value: Option<Bytes>,
}

impl Version {
    fn heap_bytes(&self) -> usize {
        self.value.as_ref().map_or(0, |v| v.len())
    }
}

/// A key's versions: the newest inline, older ones (kept only while a
/// snapshot may need them) oldest first.
#[derive(Debug)]
struct Chain {
    newest: Version,
    older: Vec<Version>,
}

impl Chain {
    /// The newest version visible at `seqno`.
    fn visible_at(&self, seqno: Seqno) -> Option<&Version> {
        if self.newest.seqno <= seqno {
            return Some(&self.newest);
        }
        self.older.iter().rev().find(|v| v.seqno <= seqno)
    }

    fn heap_bytes(&self) -> usize {
        self.newest.heap_bytes()
            + self.older.iter().map(Version::heap_bytes).sum::<usize>()
            + self.older.capacity() * core::mem::size_of::<Version>()
    }
}

/// Estimated per-key overhead of the `BTreeMap` itself (node slots, edges,
/// slack), added to the exact key and value bytes in `memory_usage`.
const PER_KEY_OVERHEAD: usize =
    (core::mem::size_of::<Bytes>() + core::mem::size_of::<Chain>()) * 3 / 2;

#[derive(Debug, Default)]
struct Inner {
    map: BTreeMap<Bytes, Chain>,
    /// Seqno of the last write.
    seqno: Seqno,
    /// Keys whose newest version is a value.
    live: usize,
    /// Seqnos pinned by live snapshots.
    snapshots: Pins,
    /// Heap bytes of keys, values and chains (plus the overhead estimate).
    bytes: usize,
    /// Bytes of key and value payload counted against `capacity`.
    payload: usize,
    /// Older versions kept for snapshots, for the sweep heuristic.
    old_versions: usize,
    sealed: bool,
}

impl Inner {
    fn check_room(&self, add: usize, capacity: usize) -> Result<(), Error> {
        if self.sealed {
            return Err(Error::Sealed);
        }
        if self.payload.saturating_add(add) > capacity {
            return Err(Error::Full);
        }
        Ok(())
    }

    /// Writes `value` (`None`: tombstone) for `key` at the next seqno.
    /// Returns the seqno and whether a live value was replaced or removed.
    fn write(&mut self, key: &[u8], value: Option<&[u8]>) -> (Seqno, bool) {
        self.seqno += 1;
        let seqno = self.seqno;
        let new = Version {
            seqno,
            value: value.map(Bytes::from),
        };
        let new_bytes = new.heap_bytes();
        self.payload += new_bytes;
        let Some(chain) = self.map.get_mut(key) else {
            self.payload += key.len();
            self.bytes += key.len() + PER_KEY_OVERHEAD + new_bytes;
            self.live += usize::from(value.is_some());
            self.map.insert(
                Bytes::from(key),
                Chain {
                    newest: new,
                    older: Vec::new(),
                },
            );
            return (seqno, false);
        };
        let was_live = chain.newest.value.is_some();
        let before = chain.heap_bytes();
        let old = core::mem::replace(&mut chain.newest, new);
        // Keep the replaced version only if a snapshot sees it.
        let keep_old = self.snapshots.sees(old.seqno, seqno);
        if keep_old {
            chain.older.push(old);
            self.old_versions += 1;
        } else {
            self.payload -= old.heap_bytes();
        }
        // Trim older versions no snapshot sees any more.
        if !chain.older.is_empty() {
            let snapshots = &self.snapshots;
            let mut next_seqno = chain.newest.seqno;
            let mut kept = Vec::new();
            for v in chain.older.drain(..).rev() {
                if snapshots.sees(v.seqno, next_seqno) {
                    next_seqno = v.seqno;
                    kept.push(v);
                } else {
                    self.payload -= v.heap_bytes();
                    self.old_versions -= 1;
                }
            }
            kept.reverse();
            chain.older = kept;
        }
        let after = chain.heap_bytes();
        self.bytes = self.bytes + after - before;
        let now_live = chain.newest.value.is_some();
        self.live = self.live + usize::from(now_live) - usize::from(was_live);
        if !now_live && chain.older.is_empty() {
            self.bytes -= after + key.len() + PER_KEY_OVERHEAD;
            self.payload -= key.len();
            self.map.remove(key);
        }
        (seqno, was_live)
    }

    /// Drops every version no snapshot sees (after the last snapshot that
    /// pinned many of them went away).
    fn sweep(&mut self) {
        let snapshots = core::mem::take(&mut self.snapshots);
        let mut dead_keys = 0usize;
        let mut payload = 0usize;
        let mut bytes = 0usize;
        let mut old_versions = 0usize;
        self.map.retain(|key, chain| {
            let mut next_seqno = chain.newest.seqno;
            let mut kept = Vec::new();
            for v in chain.older.drain(..).rev() {
                if snapshots.sees(v.seqno, next_seqno) {
                    next_seqno = v.seqno;
                    kept.push(v);
                }
            }
            kept.reverse();
            kept.shrink_to_fit();
            chain.older = kept;
            let keep = chain.newest.value.is_some() || !chain.older.is_empty();
            if keep {
                old_versions += chain.older.len();
                payload += key.len()
                    + chain.newest.heap_bytes()
                    + chain.older.iter().map(Version::heap_bytes).sum::<usize>();
                bytes += key.len() + PER_KEY_OVERHEAD + chain.heap_bytes();
            } else {
                dead_keys += 1;
            }
            keep
        });
        self.snapshots = snapshots;
        self.payload = payload;
        self.bytes = bytes;
        self.old_versions = old_versions;
        let _ = dead_keys;
    }
}

/// The reference [`OrderedIndex`]: a reader-writer lock over a `BTreeMap`
/// whose keys point to version chains, with real seqnos and snapshots.
///
/// - Every operation takes the lock: reads share it, writes exclude each
///   other and readers. Point operations are therefore linearizable, scans
///   (live and snapshot) are exact.
/// - Each key holds its newest version and, while snapshots need them,
///   older ones; versions no live snapshot can see are trimmed on the next
///   write to the key, or all at once when the last snapshot is dropped.
/// - Optional limits make it a model of bounded backends: a key/value size
///   limit, a payload capacity ([`Error::Full`]) and [`seal`](Self::seal)
///   ([`Error::Sealed`]). A refused write changes nothing; a batch is all
///   or nothing.
///
/// ```
/// use ordex_core::{reference::LockedBTreeMap, Error, OrderedIndex};
/// let small = LockedBTreeMap::builder().capacity(16).build();
/// small.insert(b"key", b"0123456789").unwrap();
/// assert_eq!(small.insert(b"key2", b"0123456789"), Err(Error::Full));
/// small.seal();
/// assert_eq!(small.remove(b"key"), Err(Error::Sealed));
/// assert!(small.contains(b"key"));
/// ```
#[derive(Debug)]
pub struct LockedBTreeMap {
    inner: RwLock<Inner>,
    limits: Limits,
    capacity: usize,
}

/// Configures a [`LockedBTreeMap`].
#[derive(Debug, Clone)]
pub struct Builder {
    limits: Limits,
    capacity: usize,
}

impl Builder {
    /// Longest accepted key (default: unbounded).
    pub fn max_key_len(mut self, n: usize) -> Self {
        self.limits.max_key_len = n;
        self
    }

    /// Longest accepted value (default: unbounded).
    pub fn max_value_len(mut self, n: usize) -> Self {
        self.limits.max_value_len = n;
        self
    }

    /// Total key and value bytes held (all versions) before writes fail with
    /// [`Error::Full`] (default: unbounded).
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.capacity = bytes;
        self
    }

    /// Builds the index.
    pub fn build(self) -> LockedBTreeMap {
        LockedBTreeMap {
            inner: RwLock::new(Inner::default()),
            limits: self.limits,
            capacity: self.capacity,
        }
    }
}

impl Default for LockedBTreeMap {
    fn default() -> Self {
        Self::new()
    }
}

impl LockedBTreeMap {
    /// An empty, unbounded index.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for limits and capacity.
    pub fn builder() -> Builder {
        Builder {
            limits: Limits::UNBOUNDED,
            capacity: usize::MAX,
        }
    }

    /// Refuses every later write with [`Error::Sealed`]; reads go on.
    pub fn seal(&self) {
        self.inner.write().sealed = true;
    }

    /// Whether [`seal`](Self::seal) was called.
    pub fn is_sealed(&self) -> bool {
        self.inner.read().sealed
    }

    /// Seqno of the last write.
    pub fn last_seqno(&self) -> Seqno {
        self.inner.read().seqno
    }

    /// Number of versions kept for snapshots beyond each key's newest.
    pub fn old_versions(&self) -> usize {
        self.inner.read().old_versions
    }

    /// A typed snapshot (the trait's [`snapshot`](OrderedIndex::snapshot)
    /// boxes this).
    pub fn snapshot_ref(&self) -> ReferenceSnapshot<'_> {
        let mut inner = self.inner.write();
        let seqno = inner.seqno;
        inner.snapshots.pin(seqno);
        ReferenceSnapshot { index: self, seqno }
    }

    /// A live [`ReferenceCursor`] by value: what
    /// [`cursor`](OrderedIndex::cursor) boxes, for static dispatch.
    pub fn cursor_ref(&self) -> ReferenceCursor<'_> {
        ReferenceCursor::new(self, None)
    }
}

/// Point read of the newest version, or of the one visible at `seqno`.
fn get_map(
    map: &BTreeMap<Bytes, Chain>,
    key: &[u8],
    seqno: Option<Seqno>,
    f: &mut dyn FnMut(&[u8]),
) -> bool {
    let version = map.get(key).and_then(|c| match seqno {
        None => Some(&c.newest),
        Some(s) => c.visible_at(s),
    });
    deliver(version.and_then(|v| v.value.as_deref()), f)
}

fn scan_map(
    map: &BTreeMap<Bytes, Chain>,
    from: Bound<&[u8]>,
    to: Bound<&[u8]>,
    seqno: Option<Seqno>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> usize {
    if is_empty_range(from, to) {
        return 0;
    }
    let mut n = 0;
    for (k, chain) in map.range::<[u8], _>((from, to)) {
        let version = match seqno {
            None => Some(&chain.newest),
            Some(s) => chain.visible_at(s),
        };
        if let Some(value) = version.and_then(|v| v.value.as_deref()) {
            n += 1;
            if !f(k, value) {
                break;
            }
        }
    }
    n
}

impl OrderedIndex for LockedBTreeMap {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        self.limits.check(key, value)?;
        let mut inner = self.inner.write();
        inner.check_room(key.len() + value.len(), self.capacity)?;
        Ok(inner.write(key, Some(value)).0)
    }

    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.limits.check_key(key)?;
        let mut inner = self.inner.write();
        if inner.sealed {
            return Err(Error::Sealed);
        }
        let live = inner.map.get(key).is_some_and(|c| c.newest.value.is_some());
        if !live {
            return Ok(false);
        }
        Ok(inner.write(key, None).1)
    }

    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let inner = self.inner.read();
        get_map(&inner.map, key, None, f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        scan_map(&self.inner.read().map, from, to, None, f)
    }

    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(self.snapshot_ref())
    }

    fn cursor(&self) -> Box<dyn Cursor + '_> {
        Box::new(self.cursor_ref())
    }

    fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        let mut total = 0usize;
        for (k, v) in entries {
            self.limits.check(k, v)?;
            total = total.saturating_add(k.len() + v.len());
        }
        let mut inner = self.inner.write();
        inner.check_room(total, self.capacity)?;
        let mut last = inner.seqno;
        for (k, v) in entries {
            last = inner.write(k, Some(v)).0;
        }
        Ok(last)
    }

    fn len(&self) -> usize {
        self.inner.read().live
    }

    fn memory_usage(&self) -> usize {
        core::mem::size_of::<Self>() + self.inner.read().bytes
    }

    fn name(&self) -> &'static str {
        "reference"
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}

/// A snapshot of a [`LockedBTreeMap`]. It keeps the versions it sees alive
/// until it is dropped.
#[derive(Debug)]
pub struct ReferenceSnapshot<'a> {
    index: &'a LockedBTreeMap,
    seqno: Seqno,
}

impl Drop for ReferenceSnapshot<'_> {
    fn drop(&mut self) {
        let mut inner = self.index.inner.write();
        inner.snapshots.unpin(self.seqno);
        // Amortised clean-up: sweep when kept versions outnumber keys.
        if inner.old_versions > 64 && inner.old_versions >= inner.map.len() {
            inner.sweep();
        }
    }
}

impl Snapshot for ReferenceSnapshot<'_> {
    fn seqno(&self) -> Seqno {
        self.seqno
    }

    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let inner = self.index.inner.read();
        get_map(&inner.map, key, Some(self.seqno), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        scan_map(&self.index.inner.read().map, from, to, Some(self.seqno), f)
    }

    fn cursor(&self) -> Box<dyn Cursor + '_> {
        Box::new(ReferenceCursor::new(self.index, Some(self.seqno)))
    }
}

/// A [`Cursor`] over a [`LockedBTreeMap`] (live) or one of its snapshots.
/// Each seek or step takes the read lock for one range lookup and keeps
/// the entry it lands on by reference count: exact in both directions
/// (live: each step sees the map as of that step).
#[derive(Debug)]
pub struct ReferenceCursor<'a> {
    index: &'a LockedBTreeMap,
    /// The snapshot's seqno; `None`: the newest versions.
    seqno: Option<Seqno>,
    /// The current key, value and the value's seqno.
    cur: Option<(Bytes, Bytes, Seqno)>,
}

impl<'a> ReferenceCursor<'a> {
    fn new(index: &'a LockedBTreeMap, seqno: Option<Seqno>) -> Self {
        ReferenceCursor {
            index,
            seqno,
            cur: None,
        }
    }

    /// Lands on the first (or with `rev`, the last) key between the bounds
    /// that has a value at the cursor's seqno.
    fn land(&mut self, from: Bound<&[u8]>, to: Bound<&[u8]>, rev: bool) -> bool {
        let inner = self.index.inner.read();
        let seqno = self.seqno;
        let visible = |(k, chain): (&Bytes, &Chain)| {
            let v = match seqno {
                None => Some(&chain.newest),
                Some(s) => chain.visible_at(s),
            }?;
            Some((k.clone(), v.value.clone()?, v.seqno))
        };
        let mut range = inner.map.range::<[u8], _>((from, to));
        let found = if rev {
            range.rev().find_map(visible)
        } else {
            range.find_map(visible)
        };
        drop(inner);
        self.cur = found;
        self.cur.is_some()
    }
}

impl Cursor for ReferenceCursor<'_> {
    fn seek(&mut self, key: &[u8]) -> bool {
        self.land(Bound::Included(key), Bound::Unbounded, false)
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.land(Bound::Unbounded, Bound::Included(key), true)
    }

    fn first(&mut self) -> bool {
        self.land(Bound::Unbounded, Bound::Unbounded, false)
    }

    fn last(&mut self) -> bool {
        self.land(Bound::Unbounded, Bound::Unbounded, true)
    }

    fn next(&mut self) -> bool {
        let Some((key, _, _)) = &self.cur else {
            return false;
        };
        let key = key.clone();
        self.land(Bound::Excluded(&key), Bound::Unbounded, false)
    }

    fn prev(&mut self) -> bool {
        let Some((key, _, _)) = &self.cur else {
            return false;
        };
        let key = key.clone();
        self.land(Bound::Unbounded, Bound::Excluded(&key), true)
    }

    fn valid(&self) -> bool {
        self.cur.is_some()
    }

    fn key(&self) -> Option<&[u8]> {
        self.cur.as_ref().map(|(k, _, _)| &**k)
    }

    fn value(&self) -> Option<&[u8]> {
        self.cur.as_ref().map(|(_, v, _)| &**v)
    }

    fn seqno(&self) -> Option<Seqno> {
        self.cur.as_ref().map(|&(_, _, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OrderedIndexExt, SnapshotExt};

    #[test]
    fn versions_are_kept_for_snapshots_and_trimmed_after() {
        let m = LockedBTreeMap::new();
        m.insert(b"k", b"1").unwrap();
        let s1 = m.snapshot_ref();
        m.insert(b"k", b"2").unwrap();
        let s2 = m.snapshot_ref();
        m.remove(b"k").unwrap();
        m.insert(b"k", b"4").unwrap();
        assert_eq!(s1.get_copied(b"k").as_deref(), Some(&b"1"[..]));
        assert_eq!(s2.get_copied(b"k").as_deref(), Some(&b"2"[..]));
        assert_eq!(m.get_copied(b"k").as_deref(), Some(&b"4"[..]));
        assert_eq!(m.old_versions(), 2);
        drop(s1);
        m.insert(b"k", b"5").unwrap();
        assert_eq!(m.old_versions(), 1, "only s2's version is still needed");
        drop(s2);
        m.insert(b"k", b"6").unwrap();
        assert_eq!(m.old_versions(), 0);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn sweep_after_last_snapshot() {
        let m = LockedBTreeMap::new();
        for i in 0..200u32 {
            m.insert(&i.to_be_bytes(), b"a").unwrap();
        }
        let s = m.snapshot_ref();
        for i in 0..200u32 {
            m.insert(&i.to_be_bytes(), b"b").unwrap();
            if i % 2 == 0 {
                m.remove(&i.to_be_bytes()).unwrap();
            }
        }
        assert_eq!(m.old_versions(), 200);
        assert_eq!(s.collect_range::<[u8], _>(..).len(), 200);
        drop(s);
        assert_eq!(m.old_versions(), 0);
        assert_eq!(m.len(), 100);
        assert_eq!(m.inner.read().map.len(), 100, "tombstoned keys are gone");
    }

    #[test]
    fn refused_writes_change_nothing() {
        let m = LockedBTreeMap::builder()
            .max_key_len(4)
            .max_value_len(4)
            .capacity(12)
            .build();
        m.insert(b"ab", b"cd").unwrap();
        let before = m.collect_range::<[u8], _>(..);
        assert_eq!(
            m.insert(b"abcde", b""),
            Err(Error::KeyTooLarge { len: 5, max: 4 })
        );
        assert_eq!(
            m.insert_batch(&[(b"x", b"y"), (b"x", b"12345")]),
            Err(Error::ValueTooLarge { len: 5, max: 4 })
        );
        assert_eq!(
            m.insert_batch(&[(b"wx", b"yz"), (b"ww", b"wwww")]),
            Err(Error::Full)
        );
        assert_eq!(m.collect_range::<[u8], _>(..), before);
        m.seal();
        assert_eq!(m.insert(b"a", b"b"), Err(Error::Sealed));
        assert_eq!(m.collect_range::<[u8], _>(..), before);
    }
}
