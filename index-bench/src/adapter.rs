//! The interface every benchmarked index implements: one small adapter
//! file per index, in `adapters/`.
//!
//! The timed loops are generic over [`BenchIndex`] (static dispatch, no
//! virtual call per operation); an adapter translates each call into its
//! index's idiomatic API (u64 keys where the index is u64-native, owned
//! `Vec<u8>` keys where it needs them).

/// A key as the harness hands it over: its bytes (order-preserving: for
/// integer key sets, the big-endian encoding) and, for integer key sets,
/// the integer itself.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// The key bytes; byte order is the key order.
    pub bytes: &'a [u8],
    /// The integer the bytes encode, for integer key sets.
    pub int: Option<u64>,
}

/// What an adapter can do beyond point operations and scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    /// Only integer keys (e.g. congee).
    pub int_keys_only: bool,
    /// Largest value it can store (`usize::MAX`: any).
    pub max_value_len: usize,
    /// Point-in-time snapshots that can be scanned while writers write.
    pub snapshots: bool,
    /// Ordered range scans.
    pub scans: bool,
    /// Inserting an existing key replaces its value (without it, update
    /// workloads are skipped: e.g. fastskip is insert-once).
    pub upserts: bool,
    /// Walks in both directions from a seek ([`BenchIndex::cursor_walk`]);
    /// without it the `cursor` workload is skipped (e.g. congee and
    /// fastskip iterate forward only).
    pub cursors: bool,
}

/// A benchmarked index. Implementations must be thread-safe: every method
/// is called from many threads at once.
#[allow(clippy::len_without_is_empty)]
pub trait BenchIndex: Send + Sync + Sized + 'static {
    /// The name shown in tables and plots, e.g. `"crossbeam-skiplist"`.
    const NAME: &'static str;
    /// `true` for ordex backends, `false` for peers and baselines.
    const ORDEX: bool;
    /// Whether the index counts its restarts and lock waits in
    /// `ordex_core::olc::contention` (ordex-btree's protocols); the runner
    /// records them per measurement when asked (`runner::Config::contention`).
    const COUNTS_CONTENTION: bool = false;

    /// What the adapter supports.
    fn caps() -> Caps;

    /// A new, empty index.
    fn new() -> Self;

    /// Inserts or replaces.
    fn insert(&self, key: Key<'_>, value: &[u8]);

    /// Looks `key` up; on a hit returns a value derived from the value's
    /// bytes (its length plus its first byte), so the read cannot be
    /// optimised away.
    fn get(&self, key: Key<'_>) -> Option<usize>;

    /// Removes `key`; whether it was present.
    fn remove(&self, key: Key<'_>) -> bool;

    /// Visits up to `n` entries in key order starting at the first key
    /// `>= start`; returns how many it visited. Adapters without scans
    /// return 0.
    fn scan(&self, start: Key<'_>, n: usize) -> usize;

    /// Visits every entry whose key starts with `prefix`, in key order;
    /// returns how many. Each visited entry is
    /// [`touch`](crate::adapters::touch)ed. Adapters without scans of
    /// byte keys return 0 (the runner does not ask them: see
    /// `Workload::Prefix`).
    fn scan_prefix(&self, prefix: &[u8]) -> usize {
        let _ = prefix;
        0
    }

    /// Number of entries.
    fn len(&self) -> usize;

    /// Takes a snapshot and visits up to `n` entries of it from `start`;
    /// returns how many. `None` if the index has no snapshots.
    fn snapshot_scan(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let _ = (start, n);
        None
    }

    /// The `cursor` workload's operation: seeks to the first key `>=
    /// start` and walks forward over up to `n` entries (the seek's and
    /// `n - 1` steps), then turns and walks back `n` steps from the last
    /// entry it visited, visiting up to `n` entries before it (fewer at
    /// the start of the index; none if the forward walk found nothing).
    /// Every entry visited is [`touch`](crate::adapters::touch)ed.
    /// Returns the entries visited in both directions, `None` if the index
    /// cannot walk backwards (then `caps().cursors` is `false`).
    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let _ = (start, n);
        None
    }

    /// Visits every entry in order (an LSM flush of a frozen memtable);
    /// returns how many.
    fn iterate_all(&self) -> usize;

    /// Freezes the index before a flush, where the index has such a step
    /// (an LSM memtable's seal); a no-op by default.
    fn seal(&self) {}

    /// Bytes the index holds outside the global allocator, which the
    /// harness's counting allocator cannot see (an arena mapped with
    /// `mmap`, say). Bytes-per-entry figures add them to the heap bytes
    /// counted. 0 by default.
    fn unallocated_bytes(&self) -> usize {
        0
    }
}

/// Value digest used by [`BenchIndex::get`] implementations.
#[inline]
pub fn digest(value: &[u8]) -> usize {
    value.len() + value.first().map_or(0, |&b| b as usize)
}
