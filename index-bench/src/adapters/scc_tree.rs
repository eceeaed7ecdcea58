//! `scc::TreeIndex<Vec<u8>, Vec<u8>>`: a concurrent B+ tree whose readers
//! never lock (entries are immutable; writers publish new leaves and retire
//! old ones through scc's epoch-based `Guard`).
//!
//! - `insert` = [`TreeIndex::upsert_sync`] (scc 3.x): an atomic upsert
//!   (the crate removes the old entry and inserts the new one as one
//!   operation, no window where the key is missing); it owns the key and
//!   value, so both are copied. Entries are immutable, so every replace
//!   also writes a new entry.
//! - `get` = [`TreeIndex::peek_with`] by `&[u8]` (no allocation, no lock).
//! - `remove` = [`TreeIndex::remove_sync`] by `&[u8]`.
//! - `scan` = [`TreeIndex::range`] from `start` under one [`Guard`]; weakly
//!   consistent (entries present since the scan started are seen).
//! - `cursor_walk` = [`TreeIndex::range`] from `start` forward, then the
//!   range below the last entry visited, reversed (`Range` is a
//!   `DoubleEndedIterator`), both under one [`Guard`].
//! - **`len` is O(n)**: scc keeps no count, [`TreeIndex::len`] walks every
//!   leaf. Call it outside timed sections.
//! - No snapshots.

use crate::adapter::{digest, BenchIndex, Caps, Key};
use scc::{Guard, TreeIndex};
use std::hint::black_box;
use std::ops::Bound;

/// Adapter over [`TreeIndex`].
#[derive(Default)]
pub struct SccTreeIndex(TreeIndex<Vec<u8>, Vec<u8>>);

impl BenchIndex for SccTreeIndex {
    const NAME: &'static str = "scc-treeindex";
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
        Self(TreeIndex::new())
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        self.0.upsert_sync(key.bytes.to_vec(), value.to_vec());
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        self.0.peek_with(key.bytes, |_, v| digest(v))
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        self.0.remove_sync(key.bytes)
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        let guard = Guard::new();
        let range = (Bound::Included(start.bytes), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in self.0.range::<[u8], _>(range, &guard).take(n) {
            acc = super::touch(acc, k, v);
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn scan_prefix(&self, prefix: &[u8]) -> usize {
        let guard = Guard::new();
        let range = (Bound::Included(prefix), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in self
            .0
            .range::<[u8], _>(range, &guard)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            acc = super::touch(acc, k, v);
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let guard = Guard::new();
        let range = (Bound::Included(start.bytes), Bound::Unbounded);
        let mut acc = 0;
        let mut forward = 0;
        let mut last = None;
        for (k, v) in self.0.range::<[u8], _>(range, &guard).take(n) {
            acc = super::touch(acc, k, v);
            forward += 1;
            last = Some(k);
        }
        let mut back = 0;
        if let Some(last) = last {
            let before = (Bound::Unbounded, Bound::Excluded(last.as_slice()));
            for (k, v) in self.0.range::<[u8], _>(before, &guard).rev().take(n) {
                acc = super::touch(acc, k, v);
                back += 1;
            }
        }
        black_box(acc);
        Some(forward + back)
    }

    /// O(n): walks every leaf.
    fn len(&self) -> usize {
        self.0.len()
    }

    fn iterate_all(&self) -> usize {
        let guard = Guard::new();
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in self.0.iter(&guard) {
            acc = super::touch(acc, k, v);
            seen += 1;
        }
        black_box(acc);
        seen
    }
}

/// `scc::TreeIndex<u64, u64>`: the same tree with native integer keys and
/// word values, the fair peer for the `u64` key sets (the byte-keyed
/// adapter above allocates a `Vec` per key and value).
///
/// - **Integer keys only** (`caps.int_keys_only`), one-word values
///   (`caps.max_value_len = 8`), packed and digested as the congee adapter
///   does (the value's first 8 bytes, little-endian).
/// - `insert` = [`TreeIndex::upsert_sync`], `get` = [`TreeIndex::peek`]
///   under a [`Guard`], `scan` = [`TreeIndex::range`] from the key,
///   `cursor_walk` that range, then `..last` reversed.
#[derive(Default)]
pub struct SccTreeIndexU64(TreeIndex<u64, u64>);

/// The integer of an integer key.
#[inline(always)]
fn int_key(key: Key<'_>) -> u64 {
    super::int_key(key, "scc-treeindex-u64")
}

impl BenchIndex for SccTreeIndexU64 {
    const NAME: &'static str = "scc-treeindex-u64";
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
        Self(TreeIndex::new())
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        self.0.upsert_sync(int_key(key), super::pack_word(value));
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        let guard = Guard::new();
        self.0
            .peek(&int_key(key), &guard)
            .map(|w| digest(&w.to_le_bytes()))
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        self.0.remove_sync(&int_key(key))
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        let guard = Guard::new();
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in self.0.range(int_key(start).., &guard).take(n) {
            acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let guard = Guard::new();
        let mut acc = 0;
        let mut forward = 0;
        let mut last = None;
        for (k, v) in self.0.range(int_key(start).., &guard).take(n) {
            acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
            forward += 1;
            last = Some(*k);
        }
        let mut back = 0;
        if let Some(last) = last {
            for (k, v) in self.0.range(..last, &guard).rev().take(n) {
                acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
                back += 1;
            }
        }
        black_box(acc);
        Some(forward + back)
    }

    /// O(n): walks every leaf.
    fn len(&self) -> usize {
        self.0.len()
    }

    fn iterate_all(&self) -> usize {
        let guard = Guard::new();
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in self.0.iter(&guard) {
            acc = super::touch(acc, &k.to_be_bytes(), &v.to_le_bytes());
            seen += 1;
        }
        black_box(acc);
        seen
    }
}
