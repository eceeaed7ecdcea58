//! `fastskip::ConcurrentSkipList`: a lock-free, arena-backed skip list
//! built as an LSM memtable.
//!
//! # Semantics differ from the other indexes
//!
//! fastskip is an insert-once memtable, and [`Caps`] cannot say so:
//!
//! - **No upsert.** A key is inserted once; a later `insert` of the same
//!   key is rejected by the crate ("first value wins") and this adapter
//!   drops it silently, so the old value stays.
//! - **Remove is a tombstone, and final.** `remove` marks the entry deleted
//!   ([`ConcurrentSkipList::delete`], returns whether a live entry was
//!   hit); the node stays in the list, and a later `insert` of that key is
//!   rejected too (the crate's answer is to seal the memtable and write to
//!   a fresh one). Scans and lookups skip tombstones.
//!
//! So a workload that updates keys, or removes and re-inserts them, does
//! less work here than elsewhere and ends with different contents; the
//! harness should report fastskip only for insert-once workloads (loads,
//! reads, scans) or mark its update/delete numbers as such.
//!
//! # Shards: one per inserting thread, for the life of the index
//!
//! Inserts allocate from per-thread arena shards. The crate assigns a shard
//! to each *distinct thread* on that thread's first insert into an index
//! (plus, sometimes, one to the constructing thread), never gives it back,
//! and **panics** (in the inserting thread) once more threads than shards
//! have inserted. The runner spawns fresh threads for the load and for
//! every workload it runs on the same index, so one index sees up to
//! (1 + writing workloads) × threads inserting threads, not just
//! `threads`. This adapter therefore builds every index with [`SHARDS`]
//! (256) shards, enough for 6 writing phases at 32 threads, each starting
//! with a small 4 KiB arena block (fastskip doubles a shard's blocks as it
//! fills, up to 16 MiB), so the idle shards cost about 1 MiB per index.
//! Readers and `remove` take no shard.
//!
//! The crate remembers the assignment in a thread-local cache keyed by the
//! index's *address* and cleared only on the dropping thread. A long-lived
//! thread (a pool worker) that inserted into an index dropped elsewhere
//! keeps a stale entry, and if a new index were later allocated at the same
//! address that thread would reuse the stale shard index, possibly the very
//! shard another thread was just given: two threads bump-allocating in one
//! arena, a data race inside fastskip. To rule that out this adapter boxes
//! the list and, on drop, frees the list's arenas but leaks the box itself
//! (about 2 KiB, holding an empty one-shard list), so no later index can
//! ever live at that address.
//!
//! # Other mappings
//!
//! - `get` = [`ConcurrentSkipList::get_live`] (borrowed value, no copy).
//! - `scan` = [`ConcurrentSkipList::cursor_at`] from `start`, skipping
//!   tombstones (they are walked over but not counted).
//! - `len` is O(1) (live count).
//! - No `cursor_walk`: the crate's cursor ([`ConcurrentSkipList::cursor_at`])
//!   and iterators only move forward (the list links each node to its
//!   successors only), so the `cursor` workload skips it
//!   (`caps.cursors = false`).
//! - No snapshots: [`ConcurrentSkipList::snapshot`] hides later inserts but
//!   not later deletes (the tombstone flag is set in place), and it cannot
//!   seek, so `snapshot_scan` returns `None`.
//! - `seal` keeps the default no-op: the crate's
//!   [`ConcurrentSkipList::seal`] consumes the list and returns a frozen
//!   view over the same nodes, so flushing the unsealed list walks exactly
//!   what a flush of the frozen one would.

use crate::adapter::{digest, BenchIndex, Caps, Key};
use fastskip::ConcurrentSkipList;
use std::hint::black_box;
use std::mem::ManuallyDrop;

/// Arena shards per index: the most distinct threads that may ever insert
/// into one index (the constructing thread may take one of them).
pub const SHARDS: usize = 256;

/// Initial arena block per shard, in bytes (the crate's default is 64 KiB;
/// blocks double as a shard fills).
const ARENA_BYTES: usize = 4 * 1024;

/// Adapter over [`ConcurrentSkipList`]; see the [module docs](self) for its
/// insert-once semantics and its shard limit.
pub struct FastSkip {
    /// Never dropped: see the module docs on shard caches.
    list: ManuallyDrop<Box<ConcurrentSkipList>>,
}

impl Drop for FastSkip {
    fn drop(&mut self) {
        // Free the real list (its arenas) and leave a tiny empty list in
        // the leaked box, keeping this address out of the allocator's hands.
        let placeholder = ConcurrentSkipList::with_capacity_and_shards(0, 1, 0, 0);
        drop(std::mem::replace(&mut **self.list, placeholder));
    }
}

impl BenchIndex for FastSkip {
    const NAME: &'static str = "fastskip";
    const ORDEX: bool = false;

    fn caps() -> Caps {
        Caps {
            int_keys_only: false,
            max_value_len: usize::MAX,
            snapshots: false,
            scans: true,
            upserts: false,
            cursors: false,
        }
    }

    fn new() -> Self {
        Self {
            list: ManuallyDrop::new(Box::new(ConcurrentSkipList::with_capacity_and_shards(
                ARENA_BYTES,
                SHARDS,
                0,
                0,
            ))),
        }
    }

    /// Inserts if the key was never inserted before; otherwise a no-op (see
    /// the module docs).
    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        // `false` = duplicate (live or tombstoned): first value wins.
        let _ = self.list.insert(key.bytes, value);
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        self.list.get_live(key.bytes).map(digest)
    }

    /// Tombstones the key; a later insert of it is rejected.
    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        self.list.delete(key.bytes)
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        let Some(cursor) = self.list.cursor_at(start.bytes) else {
            return 0;
        };
        let mut acc = 0;
        let mut seen = 0;
        for e in cursor.filter(|e| !e.is_tombstone).take(n) {
            acc = super::touch(acc, e.key, e.value);
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn scan_prefix(&self, prefix: &[u8]) -> usize {
        let Some(cursor) = self.list.cursor_at(prefix) else {
            return 0;
        };
        let mut acc = 0;
        let mut seen = 0;
        for e in cursor
            .take_while(|e| e.key.starts_with(prefix))
            .filter(|e| !e.is_tombstone)
        {
            acc = super::touch(acc, e.key, e.value);
            seen += 1;
        }
        black_box(acc);
        seen
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    fn iterate_all(&self) -> usize {
        let mut acc = 0;
        let mut seen = 0;
        for e in self.list.iter().filter(|e| !e.is_tombstone) {
            acc = super::touch(acc, e.key, e.value);
            seen += 1;
        }
        black_box(acc);
        seen
    }
}
