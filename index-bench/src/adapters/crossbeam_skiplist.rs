//! `crossbeam_skiplist::SkipMap<Vec<u8>, Vec<u8>>`: a lock-free skip list
//! with epoch-based reclamation.
//!
//! - `insert` = [`SkipMap::insert`], an atomic upsert (the new entry
//!   replaces the old one in one linearizable step); it owns the key and
//!   value, so both are copied.
//! - `get` / `remove` look up by `&[u8]` through `Vec<u8>: Borrow<[u8]>`
//!   (no allocation).
//! - `scan` = [`SkipMap::range`] from `start`, weakly consistent.
//! - `cursor_walk` = [`SkipMap::range`] from `start` forward, then the
//!   range below the last entry it visited, reversed
//!   (`DoubleEndedIterator::rev`): two seeks per walk, where a cursor
//!   turns in place.
//! - `len` is O(1) (the map keeps an atomic count).
//! - No snapshots.

use crate::adapter::{digest, BenchIndex, Caps, Key};
use crossbeam_skiplist::SkipMap;
use std::hint::black_box;
use std::ops::Bound;

/// Adapter over [`SkipMap`].
#[derive(Default)]
pub struct CrossbeamSkipList(SkipMap<Vec<u8>, Vec<u8>>);

impl BenchIndex for CrossbeamSkipList {
    const NAME: &'static str = "crossbeam-skiplist";
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
        Self(SkipMap::new())
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        self.0.insert(key.bytes.to_vec(), value.to_vec());
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        self.0.get(key.bytes).map(|e| digest(e.value()))
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        self.0.remove(key.bytes).is_some()
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        let range = (Bound::Included(start.bytes), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for e in self.0.range::<[u8], _>(range).take(n) {
            acc = super::touch(acc, e.key(), e.value());
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn scan_prefix(&self, prefix: &[u8]) -> usize {
        let range = (Bound::Included(prefix), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for e in self
            .0
            .range::<[u8], _>(range)
            .take_while(|e| e.key().starts_with(prefix))
        {
            acc = super::touch(acc, e.key(), e.value());
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let range = (Bound::Included(start.bytes), Bound::Unbounded);
        let mut acc = 0;
        let mut forward = 0;
        let mut last = None;
        for e in self.0.range::<[u8], _>(range).take(n) {
            acc = super::touch(acc, e.key(), e.value());
            forward += 1;
            last = Some(e);
        }
        let mut back = 0;
        if let Some(last) = last {
            let before = (Bound::Unbounded, Bound::Excluded(last.key().as_slice()));
            for e in self.0.range::<[u8], _>(before).rev().take(n) {
                acc = super::touch(acc, e.key(), e.value());
                back += 1;
            }
        }
        black_box(acc);
        Some(forward + back)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn iterate_all(&self) -> usize {
        let mut acc = 0;
        let mut seen = 0;
        for e in self.0.iter() {
            acc = super::touch(acc, e.key(), e.value());
            seen += 1;
        }
        black_box(acc);
        seen
    }
}
