//! `parking_lot::RwLock<BTreeMap<Vec<u8>, Vec<u8>>>`: the coarse-locked
//! baseline.
//!
//! - `insert` copies the key and value *before* taking the write lock and
//!   drops a replaced value *after* releasing it, so the critical section
//!   is the tree operation alone.
//! - `get` / `remove` look up by `&[u8]` (`Vec<u8>: Borrow<[u8]>`, no
//!   allocation); `remove` frees the removed entry outside the lock.
//! - `scan` holds the read lock for the whole scan ([`BTreeMap::range`]),
//!   so it is exact but stalls writers meanwhile.
//! - `cursor_walk` holds the read lock for the whole walk too:
//!   [`BTreeMap::range`] from `start` forward, then the range below the
//!   last entry visited, reversed.
//! - `len` is O(1). No snapshots (`snapshot_scan` returns `None`).

use crate::adapter::{digest, BenchIndex, Caps, Key};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Bound;

/// Adapter over an [`RwLock`]ed [`BTreeMap`].
#[derive(Default)]
pub struct RwLockBTreeMap(RwLock<BTreeMap<Vec<u8>, Vec<u8>>>);

impl BenchIndex for RwLockBTreeMap {
    const NAME: &'static str = "rwlock-btreemap";
    const ORDEX: bool = false;

    fn caps() -> Caps {
        Caps {
            int_keys_only: false,
            max_value_len: usize::MAX,
            snapshots: false,
            scans: true,
            upserts: true,
            cursors: true,
        }
    }

    fn new() -> Self {
        Self(RwLock::new(BTreeMap::new()))
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        let (k, v) = (key.bytes.to_vec(), value.to_vec());
        let old = self.0.write().insert(k, v);
        drop(old);
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        self.0.read().get(key.bytes).map(|v| digest(v))
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        let old = self.0.write().remove_entry(key.bytes);
        old.is_some()
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        let map = self.0.read();
        let range = (Bound::Included(start.bytes), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in map.range::<[u8], _>(range).take(n) {
            acc = super::touch(acc, k, v);
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn scan_prefix(&self, prefix: &[u8]) -> usize {
        let map = self.0.read();
        let range = (Bound::Included(prefix), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in map
            .range::<[u8], _>(range)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            acc = super::touch(acc, k, v);
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let map = self.0.read();
        let range = (Bound::Included(start.bytes), Bound::Unbounded);
        let mut acc = 0;
        let mut forward = 0;
        let mut last = None;
        for (k, v) in map.range::<[u8], _>(range).take(n) {
            acc = super::touch(acc, k, v);
            forward += 1;
            last = Some(k);
        }
        let mut back = 0;
        if let Some(last) = last {
            let before = (Bound::Unbounded, Bound::Excluded(last.as_slice()));
            for (k, v) in map.range::<[u8], _>(before).rev().take(n) {
                acc = super::touch(acc, k, v);
                back += 1;
            }
        }
        black_box(acc);
        Some(forward + back)
    }

    fn len(&self) -> usize {
        self.0.read().len()
    }

    fn iterate_all(&self) -> usize {
        let map = self.0.read();
        let mut acc = 0;
        for (k, v) in map.iter() {
            acc = super::touch(acc, k, v);
        }
        black_box(acc);
        map.len()
    }
}

/// `parking_lot::RwLock<BTreeMap<u64, u64>>`: the same baseline with
/// native integer keys and word values, the fair std peer for the `u64`
/// key sets (the byte-keyed adapter above allocates a `Vec` per key and
/// value, and compares keys with `memcmp`). The issue tables that set
/// ordex-btree's in-cache targets measured this map.
///
/// - **Integer keys only** (`caps.int_keys_only`), one-word values
///   (`caps.max_value_len = 8`), packed and digested as the other integer
///   adapters do (the value's first 8 bytes, little-endian).
/// - `scan` and `cursor_walk` hold the read lock for the whole walk, as
///   above; `len` is O(1).
#[derive(Default)]
pub struct RwLockBTreeMapU64(RwLock<BTreeMap<u64, u64>>);

/// The integer of an integer key.
#[inline(always)]
fn int_key(key: Key<'_>) -> u64 {
    super::int_key(key, "rwlock-btreemap-u64")
}

impl BenchIndex for RwLockBTreeMapU64 {
    const NAME: &'static str = "rwlock-btreemap-u64";
    const ORDEX: bool = false;

    fn caps() -> Caps {
        Caps {
            int_keys_only: true,
            max_value_len: 8,
            snapshots: false,
            scans: true,
            upserts: true,
            cursors: true,
        }
    }

    fn new() -> Self {
        Self(RwLock::new(BTreeMap::new()))
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        let (k, v) = (int_key(key), super::pack_word(value));
        self.0.write().insert(k, v);
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        let k = int_key(key);
        self.0.read().get(&k).map(|w| digest(&w.to_le_bytes()))
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        let k = int_key(key);
        self.0.write().remove(&k).is_some()
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        let map = self.0.read();
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in map.range(int_key(start)..).take(n) {
            acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let map = self.0.read();
        let mut acc = 0;
        let mut forward = 0;
        let mut last = None;
        for (k, v) in map.range(int_key(start)..).take(n) {
            acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
            forward += 1;
            last = Some(*k);
        }
        let mut back = 0;
        if let Some(last) = last {
            for (k, v) in map.range(..last).rev().take(n) {
                acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
                back += 1;
            }
        }
        black_box(acc);
        Some(forward + back)
    }

    fn len(&self) -> usize {
        self.0.read().len()
    }

    fn iterate_all(&self) -> usize {
        let map = self.0.read();
        let mut acc = 0;
        for (k, v) in map.iter() {
            acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
        }
        black_box(acc);
        map.len()
    }
}
