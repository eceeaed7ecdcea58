//! `imbl::OrdMap` (a persistent B+ tree) behind an [`ArcSwap`]:
//! copy-on-write publication.
//!
//! Keys and values are stored as `Arc<[u8]>`, not `Vec<u8>`: imbl clones
//! every entry of each node it path-copies (a leaf holds up to 16 entries,
//! each branch up to 16 keys), which with `Vec<u8>` is one heap allocation
//! per cloned key and value, around a hundred per write; with `Arc<[u8]>`
//! it is a reference-count increment, which is how imbl's docs expect
//! elements to be shared. Lookups still borrow as `&[u8]`, and an insert
//! still allocates once for the key and once for the value, like the
//! owned-key maps.
//!
//! - Writers are serialised by a [`Mutex<()>`]. A write takes the mutex,
//!   loads the current map, clones it (O(1): the clone shares every node),
//!   applies the change (which path-copies the O(log n) nodes it touches,
//!   as they are now shared) and publishes the new map with one
//!   [`ArcSwap::store`] (one `Arc` allocation per write). The old version
//!   is freed by whoever drops its last reference, outside the mutex when
//!   that is the writer.
//! - `remove` of an absent key publishes nothing.
//! - Readers never lock and never wait: `get` and `scan` [`ArcSwap::load`]
//!   the current map and read it; every read sees one consistent version.
//! - `snapshot_scan` takes an owned snapshot ([`ArcSwap::load_full`], one
//!   reference-count increment) and scans it: exact, whatever writers do.
//! - `cursor_walk` loads the current map once and walks it:
//!   [`OrdMap::range`] from `start` forward, then the range below the last
//!   entry visited, reversed.
//! - `len` is O(1).

use crate::adapter::{digest, BenchIndex, Caps, Key};
use arc_swap::ArcSwap;
use imbl::OrdMap;
use parking_lot::Mutex;
use std::hint::black_box;
use std::ops::Bound;
use std::sync::Arc;

/// Shared, immutable bytes: cheap to clone when imbl path-copies a node.
pub type Bytes = Arc<[u8]>;

/// The published map.
pub type Map = OrdMap<Bytes, Bytes>;

/// Adapter over an [`OrdMap`] published through an [`ArcSwap`].
pub struct ImblOrdMap {
    current: ArcSwap<Map>,
    writer: Mutex<()>,
}

impl ImblOrdMap {
    /// Applies `change` to a clone of the current map and publishes the
    /// result if `change` returns `true`.
    #[inline]
    fn write<R>(&self, change: impl FnOnce(&mut Map) -> (bool, R)) -> R {
        let retired;
        let out;
        {
            let _writer = self.writer.lock();
            let mut next = Map::clone(&self.current.load());
            let (publish, r) = change(&mut next);
            out = r;
            retired = publish.then(|| self.current.swap(Arc::new(next)));
        }
        drop(retired); // the old version, freed outside the mutex if last
        out
    }

    /// The current map, owned: a snapshot (one reference-count increment).
    pub fn snapshot(&self) -> Arc<Map> {
        self.current.load_full()
    }

    /// Inserts every entry and publishes once: how a batch is written to a
    /// map published by copy-on-write (one clone, one path copy per node
    /// the batch touches first, then writes in place).
    pub fn insert_batch(&self, entries: &[(&[u8], &[u8])]) {
        self.write(|m| {
            for (k, v) in entries {
                m.insert(Bytes::from(*k), Bytes::from(*v));
            }
            (true, ())
        });
    }

    fn scan_map(map: &Map, start: &[u8], n: usize) -> usize {
        let range = (Bound::Included(start), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in map.range::<_, [u8]>(range).take(n) {
            acc = super::touch(acc, k, v);
            seen += 1;
        }
        black_box(acc);
        seen
    }
}

impl BenchIndex for ImblOrdMap {
    const NAME: &'static str = "imbl-ordmap";
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
        Self {
            current: ArcSwap::from_pointee(Map::new()),
            writer: Mutex::new(()),
        }
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        let (k, v): (Bytes, Bytes) = (key.bytes.into(), value.into());
        let old = self.write(|m| (true, m.insert(k, v)));
        drop(old);
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        self.current.load().get(key.bytes).map(|v| digest(v))
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        self.write(|m| {
            let removed = m.remove(key.bytes).is_some();
            (removed, removed)
        })
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        Self::scan_map(&self.current.load(), start.bytes, n)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> usize {
        let map = self.current.load();
        let range = (Bound::Included(prefix), Bound::Unbounded);
        let mut acc = 0;
        let mut seen = 0;
        for (k, v) in map
            .range::<_, [u8]>(range)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            acc = super::touch(acc, k, v);
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let map = self.current.load();
        let range = (Bound::Included(start.bytes), Bound::Unbounded);
        let mut acc = 0;
        let mut forward = 0;
        let mut last = None;
        for (k, v) in map.range::<_, [u8]>(range).take(n) {
            acc = super::touch(acc, k, v);
            forward += 1;
            last = Some(k);
        }
        let mut back = 0;
        if let Some(last) = last {
            let before = (Bound::Unbounded, Bound::Excluded(&**last));
            for (k, v) in map.range::<_, [u8]>(before).rev().take(n) {
                acc = super::touch(acc, k, v);
                back += 1;
            }
        }
        black_box(acc);
        Some(forward + back)
    }

    fn len(&self) -> usize {
        self.current.load().len()
    }

    fn snapshot_scan(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let snapshot: Arc<Map> = self.current.load_full();
        Some(Self::scan_map(&snapshot, start.bytes, n))
    }

    fn iterate_all(&self) -> usize {
        let map = self.current.load_full();
        let mut acc = 0;
        for (k, v) in map.iter() {
            acc = super::touch(acc, k, v);
        }
        black_box(acc);
        map.len()
    }
}
