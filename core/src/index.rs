//! The contract: [`OrderedIndex`] and [`Snapshot`].

use crate::{Cursor, Error};
use core::ops::{Bound, RangeBounds};

/// A sequence number. Every write to an index gets one, strictly greater
/// than the seqno of every write that completed before it started; a
/// [`Snapshot`] pins one and sees exactly the writes at or below it.
pub type Seqno = u64;

/// The largest key and value a backend accepts.
///
/// Writes beyond a limit fail with [`Error::KeyTooLarge`] or
/// [`Error::ValueTooLarge`] and change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Longest accepted key, in bytes.
    pub max_key_len: usize,
    /// Longest accepted value, in bytes.
    pub max_value_len: usize,
}

impl Limits {
    /// No limit beyond the address space.
    pub const UNBOUNDED: Limits = Limits {
        max_key_len: usize::MAX,
        max_value_len: usize::MAX,
    };

    /// Checks one entry against the limits.
    ///
    /// ```
    /// use ordex_core::{Error, Limits};
    /// let l = Limits { max_key_len: 4, max_value_len: 8 };
    /// assert_eq!(l.check(b"abcd", b""), Ok(()));
    /// assert_eq!(l.check(b"abcde", b""), Err(Error::KeyTooLarge { len: 5, max: 4 }));
    /// ```
    #[inline]
    pub fn check(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        if key.len() > self.max_key_len {
            return Err(Error::KeyTooLarge {
                len: key.len(),
                max: self.max_key_len,
            });
        }
        if value.len() > self.max_value_len {
            return Err(Error::ValueTooLarge {
                len: value.len(),
                max: self.max_value_len,
            });
        }
        Ok(())
    }

    /// Checks a key alone (for `remove` and lookups that reject oversized keys).
    #[inline]
    pub fn check_key(&self, key: &[u8]) -> Result<(), Error> {
        self.check(key, &[])
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::UNBOUNDED
    }
}

/// A concurrent, versioned, ordered map from byte strings to byte strings.
///
/// Keys are ordered lexicographically by bytes (memcmp; a prefix sorts
/// first). Every backend of ordex implements this trait and keeps these
/// promises, which the `ordex-testkit` conformance suite checks:
///
/// - `insert`, `remove` and `get` are **linearizable**.
/// - Every write gets a [`Seqno`]; writes to one key take effect in seqno
///   order. A [`Snapshot`] sees exactly the writes with `seqno <= snapshot.seqno()`
///   for as long as it lives, while writers go on.
/// - Live scans are **weakly consistent**: each entry passed to the callback
///   was present at some moment during the scan, keys come in strictly
///   ascending order, and a key present throughout the scan is seen.
///   Snapshot scans are exact.
/// - `get`, `scan` and snapshot reads perform no heap allocation.
/// - A write that returns `Err` changed nothing; a batch is never half
///   applied.
/// - Any number of threads may use an index at once.
///
/// The trait is dyn-compatible: engines choose a backend at run time through
/// `Box<dyn OrderedIndex>`, benchmarks use it generically with static
/// dispatch.
///
/// ```
/// use ordex_core::{reference::LockedBTreeMap, OrderedIndex, OrderedIndexExt};
/// use std::ops::Bound;
///
/// let index = LockedBTreeMap::new();
/// let s1 = index.insert(b"apple", b"red").unwrap();
/// let s2 = index.insert(b"banana", b"yellow").unwrap();
/// assert!(s2 > s1);
///
/// let mut seen = None;
/// assert!(index.get(b"apple", &mut |v| seen = Some(v.to_vec())));
/// assert_eq!(seen.as_deref(), Some(&b"red"[..]));
///
/// let snap = index.snapshot();
/// index.remove(b"apple").unwrap();
/// assert!(!index.contains(b"apple"));
/// assert!(snap.contains(b"apple")); // the snapshot still sees it
///
/// let mut keys = Vec::new();
/// index.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, _| { keys.push(k.to_vec()); true });
/// assert_eq!(keys, vec![b"banana".to_vec()]);
/// ```
pub trait OrderedIndex: Send + Sync {
    /// Inserts or replaces the value of `key`; returns the seqno of this write.
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error>;

    /// Removes `key`; returns `true` if a live value was removed. A remove
    /// that removes something is a write and consumes a seqno.
    fn remove(&self, key: &[u8]) -> Result<bool, Error>;

    /// Looks `key` up and, if it is present, calls `f` once with its value
    /// (borrowed from the index: no copy, no allocation). Returns whether
    /// the key was present.
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool;

    /// Calls `f(key, value)` for the live entries within the bounds, in
    /// ascending key order, until `f` returns `false`. Returns the number of
    /// entries passed to `f` (the one on which `f` returned `false` counts).
    /// Empty or inverted bounds visit nothing; they never panic.
    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize;

    /// A point-in-time view of the index: it pins the seqno of the newest
    /// completed write and sees exactly the writes up to it, however long
    /// it lives.
    fn snapshot(&self) -> Box<dyn Snapshot + '_>;

    /// A [`Cursor`] over the live index: the newest version of each key,
    /// weakly consistent under concurrent writers (see [`Cursor`]). One
    /// allocation (the box); its seeks and steps allocate nothing.
    fn cursor(&self) -> Box<dyn Cursor + '_>;

    /// Inserts every entry; returns the seqno of the last one.
    ///
    /// Either every entry is written or, on `Err`, none is. The default
    /// checks every entry against [`limits`](Self::limits) first, then
    /// inserts them in order; a backend that can run out of room mid-batch
    /// ([`Error::Full`]) or can be sealed concurrently must override it to
    /// reserve before applying. For an empty batch it returns the current
    /// seqno.
    fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        let limits = self.limits();
        for (k, v) in entries {
            limits.check(k, v)?;
        }
        let mut last = None;
        for (k, v) in entries {
            last = Some(self.insert(k, v)?);
        }
        match last {
            Some(s) => Ok(s),
            None => Ok(self.snapshot().seqno()),
        }
    }

    /// Number of live keys.
    fn len(&self) -> usize;

    /// Bytes this index holds on the heap, including superseded versions and
    /// garbage not yet reclaimed.
    fn memory_usage(&self) -> usize;

    /// The backend's short name (`"skiplist"`, `"btree"`, …).
    fn name(&self) -> &'static str;

    /// The largest key and value this index accepts.
    fn limits(&self) -> Limits {
        Limits::UNBOUNDED
    }

    /// Whether the index holds no live key.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is present.
    fn contains(&self, key: &[u8]) -> bool {
        self.get(key, &mut |_| {})
    }

    /// The value of `key`, copied out. Allocates; prefer [`get`](Self::get)
    /// on hot paths.
    fn get_copied(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut out = None;
        self.get(key, &mut |v| out = Some(v.to_vec()));
        out
    }
}

/// A point-in-time, read-only view of an [`OrderedIndex`].
///
/// It sees exactly the writes with seqno at or below [`seqno`](Self::seqno),
/// no matter what writers do while it lives; its scans are exact. Reads
/// perform no heap allocation. Dropping it lets the index reclaim the
/// versions only it could see.
pub trait Snapshot: Send + Sync {
    /// The seqno this snapshot pins.
    fn seqno(&self) -> Seqno;

    /// Like [`OrderedIndex::get`], as of [`seqno`](Self::seqno).
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool;

    /// Like [`OrderedIndex::scan`], as of [`seqno`](Self::seqno), exact.
    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize;

    /// A [`Cursor`] over exactly this snapshot's entries, in both
    /// directions. One allocation (the box); its seeks and steps allocate
    /// nothing.
    fn cursor(&self) -> Box<dyn Cursor + '_>;

    /// Whether `key` is present in this snapshot.
    fn contains(&self, key: &[u8]) -> bool {
        self.get(key, &mut |_| {})
    }

    /// The value of `key` in this snapshot, copied out.
    fn get_copied(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut out = None;
        self.get(key, &mut |v| out = Some(v.to_vec()));
        out
    }
}

/// Hands a looked-up value to a `get` callback: calls `f` once if there is
/// a value, and returns whether there was. The common tail of every
/// backend's `get`.
///
/// ```
/// let mut len = 0;
/// assert!(ordex_core::deliver(Some(&b"abc"[..]), &mut |v| len = v.len()));
/// assert!(!ordex_core::deliver(None, &mut |_| unreachable!()));
/// assert_eq!(len, 3);
/// ```
#[inline]
pub fn deliver(value: Option<&[u8]>, f: &mut dyn FnMut(&[u8])) -> bool {
    match value {
        Some(v) => {
            f(v);
            true
        }
        None => false,
    }
}

/// Converts any `RangeBounds` over byte-like keys into the pair of bounds
/// the traits take.
///
/// ```
/// use ordex_core::bounds_of;
/// use std::ops::Bound;
/// let r = b"a".to_vec()..b"c".to_vec();
/// assert_eq!(bounds_of(&r), (Bound::Included(&b"a"[..]), Bound::Excluded(&b"c"[..])));
/// ```
pub fn bounds_of<'a, K, R>(range: &'a R) -> (Bound<&'a [u8]>, Bound<&'a [u8]>)
where
    K: AsRef<[u8]> + ?Sized + 'a,
    R: RangeBounds<K> + ?Sized,
{
    fn conv<K: AsRef<[u8]> + ?Sized>(b: Bound<&K>) -> Bound<&[u8]> {
        match b {
            Bound::Included(k) => Bound::Included(k.as_ref()),
            Bound::Excluded(k) => Bound::Excluded(k.as_ref()),
            Bound::Unbounded => Bound::Unbounded,
        }
    }
    (conv(range.start_bound()), conv(range.end_bound()))
}

/// Whether the bounds `from..to` can contain no key at all (inverted, or
/// equal with one side excluded). Backends use it to return early instead of
/// tripping over an inverted range.
///
/// ```
/// use ordex_core::is_empty_range;
/// use std::ops::Bound::*;
/// assert!(is_empty_range(Included(&b"b"[..]), Excluded(&b"b"[..])));
/// assert!(is_empty_range(Included(&b"b"[..]), Included(&b"a"[..])));
/// assert!(!is_empty_range(Included(&b"b"[..]), Included(&b"b"[..])));
/// assert!(is_empty_range(Unbounded, Excluded(&b""[..]))); // nothing sorts below the empty key
/// ```
pub fn is_empty_range(from: Bound<&[u8]>, to: Bound<&[u8]>) -> bool {
    match (from, to) {
        (Bound::Unbounded, Bound::Excluded(hi)) => hi.is_empty(),
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
        (Bound::Included(lo), Bound::Included(hi)) => lo > hi,
        (Bound::Included(lo), Bound::Excluded(hi))
        | (Bound::Excluded(lo), Bound::Included(hi))
        | (Bound::Excluded(lo), Bound::Excluded(hi)) => lo >= hi,
    }
}

/// Whether `key` sorts below the lower bound `from` (outside the range on
/// its low side).
///
/// ```
/// use ordex_core::below_start;
/// use std::ops::Bound::*;
/// assert!(below_start(b"a", Included(&b"b"[..])));
/// assert!(below_start(b"b", Excluded(&b"b"[..])));
/// assert!(!below_start(b"b", Included(&b"b"[..])) && !below_start(b"", Unbounded));
/// ```
#[inline]
pub fn below_start(key: &[u8], from: Bound<&[u8]>) -> bool {
    match from {
        Bound::Included(lo) => key < lo,
        Bound::Excluded(lo) => key <= lo,
        Bound::Unbounded => false,
    }
}

/// Whether `key` sorts above the upper bound `to` (outside the range on
/// its high side).
///
/// ```
/// use ordex_core::past_end;
/// use std::ops::Bound::*;
/// assert!(past_end(b"c", Included(&b"b"[..])));
/// assert!(past_end(b"b", Excluded(&b"b"[..])));
/// assert!(!past_end(b"b", Included(&b"b"[..])) && !past_end(b"z", Unbounded));
/// ```
#[inline]
pub fn past_end(key: &[u8], to: Bound<&[u8]>) -> bool {
    match to {
        Bound::Included(hi) => key > hi,
        Bound::Excluded(hi) => key >= hi,
        Bound::Unbounded => false,
    }
}

/// Generic conveniences over any [`OrderedIndex`], including `dyn`.
pub trait OrderedIndexExt: OrderedIndex {
    /// [`scan`](OrderedIndex::scan) over any `RangeBounds` of byte-like keys.
    ///
    /// ```
    /// use ordex_core::{reference::LockedBTreeMap, OrderedIndex, OrderedIndexExt};
    /// let index = LockedBTreeMap::new();
    /// for k in ["a", "b", "c", "d"] { index.insert(k.as_bytes(), b"").unwrap(); }
    /// let mut n = 0;
    /// index.scan_range(&b"b"[..]..&b"d"[..], |_, _| { n += 1; true });
    /// assert_eq!(n, 2);
    /// ```
    fn scan_range<K, R, F>(&self, range: R, mut f: F) -> usize
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
        F: FnMut(&[u8], &[u8]) -> bool,
    {
        let (from, to) = bounds_of(&range);
        self.scan(from, to, &mut f)
    }

    /// Calls `f` for every live key starting with `prefix`, ascending.
    fn scan_prefix<F>(&self, prefix: &[u8], mut f: F) -> usize
    where
        F: FnMut(&[u8], &[u8]) -> bool,
    {
        let mut n = 0;
        self.scan(Bound::Included(prefix), Bound::Unbounded, &mut |k, v| {
            if !k.starts_with(prefix) {
                return false;
            }
            n += 1;
            f(k, v)
        });
        n
    }

    /// Copies every live entry within `range` out (allocates; for tests and
    /// tools).
    fn collect_range<K, R>(&self, range: R) -> Vec<(Vec<u8>, Vec<u8>)>
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
    {
        let mut out = Vec::new();
        self.scan_range(range, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            true
        });
        out
    }
}

impl<T: OrderedIndex + ?Sized> OrderedIndexExt for T {}

/// Generic conveniences over any [`Snapshot`], including `dyn`.
pub trait SnapshotExt: Snapshot {
    /// [`scan`](Snapshot::scan) over any `RangeBounds` of byte-like keys.
    fn scan_range<K, R, F>(&self, range: R, mut f: F) -> usize
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
        F: FnMut(&[u8], &[u8]) -> bool,
    {
        let (from, to) = bounds_of(&range);
        self.scan(from, to, &mut f)
    }

    /// Copies every entry of the snapshot within `range` out.
    fn collect_range<K, R>(&self, range: R) -> Vec<(Vec<u8>, Vec<u8>)>
    where
        K: AsRef<[u8]> + ?Sized,
        R: RangeBounds<K>,
    {
        let mut out = Vec::new();
        self.scan_range(range, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            true
        });
        out
    }
}

impl<T: Snapshot + ?Sized> SnapshotExt for T {}

macro_rules! forward_index {
    ($($ty:ty),*) => {$(
        impl<T: OrderedIndex + ?Sized> OrderedIndex for $ty {
            #[inline]
            fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
                (**self).insert(key, value)
            }
            #[inline]
            fn remove(&self, key: &[u8]) -> Result<bool, Error> {
                (**self).remove(key)
            }
            #[inline]
            fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
                (**self).get(key, f)
            }
            #[inline]
            fn scan(
                &self,
                from: Bound<&[u8]>,
                to: Bound<&[u8]>,
                f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
            ) -> usize {
                (**self).scan(from, to, f)
            }
            #[inline]
            fn snapshot(&self) -> Box<dyn Snapshot + '_> {
                (**self).snapshot()
            }
            #[inline]
            fn cursor(&self) -> Box<dyn Cursor + '_> {
                (**self).cursor()
            }
            #[inline]
            fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
                (**self).insert_batch(entries)
            }
            #[inline]
            fn len(&self) -> usize {
                (**self).len()
            }
            #[inline]
            fn memory_usage(&self) -> usize {
                (**self).memory_usage()
            }
            #[inline]
            fn name(&self) -> &'static str {
                (**self).name()
            }
            #[inline]
            fn limits(&self) -> Limits {
                (**self).limits()
            }
        }
    )*};
}

forward_index!(&T, Box<T>, std::sync::Arc<T>);

impl<T: Snapshot + ?Sized> Snapshot for Box<T> {
    #[inline]
    fn seqno(&self) -> Seqno {
        (**self).seqno()
    }
    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        (**self).get(key, f)
    }
    #[inline]
    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        (**self).scan(from, to, f)
    }
    #[inline]
    fn cursor(&self) -> Box<dyn Cursor + '_> {
        (**self).cursor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_ranges() {
        use Bound::*;
        let a: &[u8] = b"a";
        let b: &[u8] = b"b";
        assert!(!is_empty_range(Unbounded, Unbounded));
        assert!(is_empty_range(Unbounded, Excluded(b"")));
        assert!(!is_empty_range(Unbounded, Included(b"")));
        assert!(!is_empty_range(Included(a), Excluded(b)));
        assert!(is_empty_range(Excluded(a), Excluded(a)));
        assert!(is_empty_range(Included(a), Excluded(a)));
        assert!(is_empty_range(Excluded(a), Included(a)));
        assert!(!is_empty_range(Included(a), Included(a)));
        assert!(is_empty_range(Included(b), Included(a)));
        assert!(!is_empty_range(Excluded(a), Unbounded));
    }

    #[test]
    fn dyn_compatible() {
        fn takes(_: &dyn OrderedIndex) {}
        let r = crate::reference::LockedBTreeMap::new();
        takes(&r);
        let b: Box<dyn OrderedIndex> = Box::new(r);
        assert_eq!(b.name(), "reference");
        takes(&b);
    }
}
