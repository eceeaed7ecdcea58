//! The null index: stores nothing. Benchmarked like any index, it measures
//! the harness's own cost per operation (key generation, dispatch, the
//! timing loop), which the report can subtract or show as a floor.
//!
//! Every call passes its arguments through [`black_box`] so it is not
//! optimised away; `get` returns `Some(digest(key.bytes))`, so the harness
//! still reads the key and counts a hit; `scan` and `snapshot_scan` claim
//! to visit `n` entries without visiting any, `cursor_walk` `2n` (`n` each
//! way); `len` and `iterate_all` are 0. Its caps claim everything, so it runs in every workload.

use crate::adapter::{digest, BenchIndex, Caps, Key};
use std::hint::black_box;

/// An index that does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Null;

impl BenchIndex for Null {
    const NAME: &'static str = "null";
    const ORDEX: bool = false;

    fn caps() -> Caps {
        Caps {
            int_keys_only: false,
            max_value_len: usize::MAX,
            snapshots: true,
            scans: true,
            upserts: true,
            cursors: true,
        }
    }

    fn new() -> Self {
        Null
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        black_box((key, value));
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        Some(digest(black_box(key.bytes)))
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        black_box(key);
        false
    }

    #[inline]
    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        black_box(start);
        black_box(n)
    }

    fn len(&self) -> usize {
        0
    }

    #[inline]
    fn snapshot_scan(&self, start: Key<'_>, n: usize) -> Option<usize> {
        Some(self.scan(start, n))
    }

    #[inline]
    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        black_box(start);
        Some(2 * black_box(n))
    }

    fn iterate_all(&self) -> usize {
        0
    }
}
