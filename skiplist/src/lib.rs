//! `ordex-skiplist`: an arena lock-free skip list, the MVCC memtable of an
//! LSM storage engine.
//!
//! Many threads insert concurrently; readers never block, never pin an
//! epoch and never write shared memory; versions of a key coexist, ordered
//! by seqno; the table can be sealed and then flushed in order; dropping it
//! frees every chunk at once.
//!
//! ```
//! use ordex_core::{OrderedIndex, Snapshot};
//! use ordex_skiplist::SkipList;
//!
//! let table = SkipList::new();
//! table.insert(b"apple", b"red")?;
//! let snap = table.snapshot();
//! table.insert(b"apple", b"green")?;          // a new version, not an overwrite
//! assert_eq!(table.get_copied(b"apple").as_deref(), Some(&b"green"[..]));
//! assert_eq!(snap.get_copied(b"apple").as_deref(), Some(&b"red"[..]));
//! assert_eq!(table.entries(), 2);             // both versions are kept
//! # Ok::<(), ordex_core::Error>(())
//! ```
//!
//! # Guarantees
//!
//! - `insert`, `remove` and `get` are linearizable. Writes to one key take
//!   effect in seqno order.
//! - Every write through [`OrderedIndex`] gets the next seqno; a snapshot
//!   pins the highest seqno below which every write is complete, and sees
//!   exactly the writes up to it. A batch becomes visible to snapshots all
//!   at once.
//! - Reads (`get`, `scan`, snapshot reads) take no lock, do no atomic
//!   read-modify-write and allocate nothing.
//! - A write refused with `Err` (`KeyTooLarge`, `ValueTooLarge`, `Full`,
//!   `Sealed`) changed nothing and consumed no seqno.
//! - Memory: nodes live in 1 MiB chunks allocated on demand up to
//!   `max_memory`; versions are kept until the table is dropped (the LSM
//!   memtable contract: a flush writes them out, then the table goes away).
//!
//! # Limits
//!
//! Keys up to [`MAX_KEY_LEN`] bytes, values up to [`MAX_VALUE_LEN`] bytes,
//! seqnos up to 2^56 − 1.
//!
//! # Status
//!
//! This is the core: arena, lock-free insert, MVCC reads, snapshots,
//! seal/rotate, backpressure, all-or-nothing batches, in-order flush
//! iteration. Not yet: per-thread arena chunks, `reserve`, auto-seal,
//! splice-reusing sorted batches, `multi_get`, cursors with `seek_for_prev`
//! and `prev`, the full statistics set.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod arena;
mod list;

use arena::{node_size, Arena, NodeRef};
use list::{random_height, List, KIND_DELETE, KIND_PUT, MAX_HEIGHT, MAX_SEQNO};
use ordex_core::sync::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use ordex_core::{deliver, is_empty_range, Error, Limits, OrderedIndex, Seqno, Snapshot};
use smallvec::SmallVec;
use std::ops::Bound;

/// The nodes of one write: inline for the usual single entry.
type Nodes = SmallVec<[NodeRef; 4]>;

/// Whether this backend is implemented (the facade's `IndexKind::available`
/// reads it).
pub const IMPLEMENTED: bool = true;

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 64 * 1024 - 1;
/// Longest value accepted.
pub const MAX_VALUE_LEN: usize = 512 * 1024;

/// How a [`SkipList`] is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Arena bytes the table may allocate before writes fail with
    /// [`Error::Full`] (default 1 GiB, allocated lazily in 1 MiB chunks).
    pub max_memory: usize,
    /// Entries (versions) the table may hold before writes fail with
    /// [`Error::Full`] (default: unlimited).
    pub max_entries: usize,
    /// Arena chunk size as a power of two, 10 to 24 (default 20: 1 MiB).
    /// Keys are limited to a quarter of a chunk and values to half of one
    /// (and to [`MAX_KEY_LEN`] / [`MAX_VALUE_LEN`]).
    pub chunk_shift: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_memory: 1 << 30,
            max_entries: usize::MAX,
            chunk_shift: 20,
        }
    }
}

/// Keeps a hot atomic on its own cache lines (two, against the adjacent
/// line prefetcher), so writers on different cores do not false-share.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The sealed flag, in the top bit of the write state word.
const SEALED: u64 = 1 << 63;

/// The arena MVCC skip list. See the [crate docs](crate).
pub struct SkipList {
    list: List,
    config: Config,
    /// Writers in flight (low bits) and the sealed flag: one RMW to enter.
    state: Padded<AtomicU64>,
    /// Last seqno handed out by the auto-seqno write path.
    next_seqno: Padded<AtomicU64>,
    /// Every auto seqno at or below this is fully linked.
    visible: Padded<AtomicU64>,
    live: Padded<AtomicIsize>,
    entries: Padded<AtomicUsize>,
}

impl std::fmt::Debug for SkipList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkipList")
            .field("config", &self.config)
            .field("entries", &self.entries())
            .field("len", &self.len())
            .field("sealed", &self.is_sealed())
            .finish()
    }
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

/// Decrements the in-flight writer count on every exit path.
struct Inflight<'a>(&'a AtomicU64);

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

impl SkipList {
    /// An empty table with the default [`Config`].
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// An empty table sized by `config`.
    pub fn with_config(mut config: Config) -> Self {
        config.chunk_shift = config.chunk_shift.clamp(10, 24);
        let shift = config.chunk_shift;
        let arena = Arena::new(config.max_memory.max(2 << shift), shift);
        let list = List::new(arena).expect("the first chunk holds the head node");
        SkipList {
            list,
            config,
            state: Padded(AtomicU64::new(0)),
            next_seqno: Padded(AtomicU64::new(0)),
            visible: Padded(AtomicU64::new(0)),
            live: Padded(AtomicIsize::new(0)),
            entries: Padded(AtomicUsize::new(0)),
        }
    }

    /// Freezes this table and returns a fresh, empty one with the same
    /// configuration: the memtable rotation of an LSM engine. The frozen
    /// table keeps serving reads (and snapshots) and refuses writes with
    /// [`Error::Sealed`]; flush it with [`versions`](Self::versions), then
    /// drop it.
    ///
    /// ```
    /// use ordex_core::{Error, OrderedIndex};
    /// use ordex_skiplist::SkipList;
    /// let active = SkipList::new();
    /// active.insert(b"k", b"v")?;
    /// let next = active.seal();
    /// assert_eq!(active.insert(b"k2", b"v"), Err(Error::Sealed));
    /// assert!(active.contains(b"k") && next.is_empty());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn seal(&self) -> SkipList {
        self.freeze();
        SkipList::with_config(self.config)
    }

    /// Refuses every later write with [`Error::Sealed`], after waiting for
    /// writes in flight to finish: once it returns, the table is frozen and
    /// can be flushed.
    pub fn freeze(&self) {
        self.state.fetch_or(SEALED, Ordering::AcqRel);
        while self.state.load(Ordering::Acquire) != SEALED {
            ordex_core::sync::thread::yield_now();
        }
    }

    /// Whether the table is sealed.
    pub fn is_sealed(&self) -> bool {
        self.state.load(Ordering::Acquire) & SEALED != 0
    }

    /// Versions held (every put and tombstone).
    pub fn entries(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }

    /// Arena bytes handed out to entries.
    pub fn memory_used(&self) -> usize {
        self.list.arena.used_bytes()
    }

    /// The configuration this table was built with.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Whether the table has used 90% of its `max_memory` or `max_entries`:
    /// the moment for an engine to slow writers down and rotate.
    pub fn is_under_backpressure(&self) -> bool {
        let memory =
            self.list.arena.used_bytes() as u128 * 10 >= self.config.max_memory as u128 * 9;
        let entries = self.entries() as u128 * 10 >= self.config.max_entries as u128 * 9;
        memory || entries
    }

    /// Every version in table order (key ascending, seqno descending):
    /// what a flush writes out. Allocation-free; weakly consistent on a
    /// table still being written, exact on a frozen one.
    pub fn versions(&self) -> Versions<'_> {
        Versions {
            table: self,
            next: self.list.first(),
        }
    }

    /// The seqno a snapshot taken now would pin.
    pub fn visible_seqno(&self) -> Seqno {
        self.visible.load(Ordering::Acquire)
    }

    fn check(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.limits().check(key, value)
    }

    /// Enters the write path, or fails if sealed.
    fn enter(&self) -> Result<Inflight<'_>, Error> {
        // One RMW both registers the writer and reads the flag: a seal
        // either sees this writer in flight (and waits for it) or this
        // writer sees the seal.
        let before = self.state.fetch_add(1, Ordering::AcqRel);
        let guard = Inflight(&self.state);
        if before & SEALED != 0 {
            return Err(Error::Sealed);
        }
        Ok(guard)
    }

    fn reserve_entries(&self, n: usize) -> Result<(), Error> {
        if self.config.max_entries == usize::MAX {
            self.entries.fetch_add(n, Ordering::Relaxed);
            return Ok(());
        }
        let before = self.entries.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.config.max_entries {
            self.entries.fetch_sub(n, Ordering::Relaxed);
            return Err(Error::Full);
        }
        Ok(())
    }

    /// Allocates the nodes of a batch, all or none (room is checked first;
    /// a concurrent writer taking the room can still make a later node
    /// fail, which wastes the earlier ones' bytes but changes no data).
    fn alloc_nodes(&self, entries: &[(&[u8], Option<&[u8]>)]) -> Result<Nodes, Error> {
        let heights: SmallVec<[usize; 4]> = entries.iter().map(|(k, _)| random_height(k)).collect();
        let need: usize = entries
            .iter()
            .zip(&heights)
            .map(|((k, v), h)| node_size(*h, k.len(), v.map_or(0, <[u8]>::len)))
            .sum();
        if need > self.list.arena.remaining() {
            return Err(Error::Full);
        }
        let mut nodes = Nodes::with_capacity(entries.len());
        for ((k, v), h) in entries.iter().zip(heights) {
            let kind = if v.is_some() { KIND_PUT } else { KIND_DELETE };
            let node = self
                .list
                .arena
                .alloc(h, kind, k, v.unwrap_or(&[]))
                .map_err(|_| Error::Full)?;
            nodes.push(node);
        }
        Ok(nodes)
    }

    /// The write path of the trait: validates, allocates, takes the next
    /// seqnos, links, and publishes the seqnos in order. Returns the last
    /// seqno and, per entry, whether it replaced or removed a live value.
    /// Returns the last seqno and whether the first entry replaced or
    /// removed a live value.
    fn write_auto(&self, entries: &[(&[u8], Option<&[u8]>)]) -> Result<(Seqno, bool), Error> {
        for (k, v) in entries {
            self.check(k, v.unwrap_or(&[]))?;
        }
        let _inflight = self.enter()?;
        if entries.is_empty() {
            return Ok((self.visible_seqno(), false));
        }
        self.reserve_entries(entries.len())?;
        let nodes = match self.alloc_nodes(entries) {
            Ok(n) => n,
            Err(e) => {
                self.entries.fetch_sub(entries.len(), Ordering::Relaxed);
                return Err(e);
            }
        };
        let n = entries.len() as u64;
        let first = self.next_seqno.fetch_add(n, Ordering::SeqCst) + 1;
        for (i, node) in nodes.iter().enumerate() {
            let kind = if entries[i].1.is_some() {
                KIND_PUT
            } else {
                KIND_DELETE
            };
            // SAFETY: the node was allocated above by this thread and is not
            // linked yet.
            unsafe {
                self.list
                    .arena
                    .set_trailer(*node, (first + i as u64) << 8 | kind)
            };
            self.list
                .insert(*node)
                .expect("auto seqnos are unique, so no duplicate");
        }
        let last = first + n - 1;
        // Publish in seqno order: every earlier seqno is linked once
        // `visible` reaches first - 1.
        let mut spins = 0u32;
        while self.visible.load(Ordering::Acquire) != first - 1 {
            spins += 1;
            if spins < 64 {
                ordex_core::sync::spin_hint();
            } else {
                ordex_core::sync::thread::yield_now();
            }
        }
        // Every older version of these keys is now linked, so each node's
        // successor is the version it superseded.
        let mut first_replaced = false;
        let mut delta = 0isize;
        for (i, node) in nodes.iter().enumerate() {
            let was_live = self.older_is_live(*node);
            delta += isize::from(self.list.is_put(*node)) - isize::from(was_live);
            if i == 0 {
                first_replaced = was_live;
            }
        }
        if delta != 0 {
            self.live.fetch_add(delta, Ordering::Relaxed);
        }
        self.visible.store(last, Ordering::Release);
        Ok((last, first_replaced))
    }

    /// Whether the version right after `node` is a live value of its key.
    fn older_is_live(&self, node: NodeRef) -> bool {
        match self.list.next(node) {
            Some(n) => self.list.arena.key(n) == self.list.arena.key(node) && self.list.is_put(n),
            None => false,
        }
    }

    /// Writes a version with a caller-assigned seqno (the way an engine
    /// assigns seqnos at its write-ahead log); `value: None` writes a
    /// tombstone. Refusals are [`WriteAtError`]s; a duplicate (key, seqno)
    /// is one of them, never a panic.
    fn write_at(&self, key: &[u8], seqno: Seqno, value: Option<&[u8]>) -> Result<(), WriteAtError> {
        if seqno > MAX_SEQNO {
            return Err(WriteAtError::SeqnoTooLarge);
        }
        self.check(key, value.unwrap_or(&[]))?;
        let _inflight = self.enter()?;
        self.reserve_entries(1)?;
        let kind = if value.is_some() {
            KIND_PUT
        } else {
            KIND_DELETE
        };
        let node = match self.list.arena.alloc(
            random_height(key),
            seqno << 8 | kind,
            key,
            value.unwrap_or(&[]),
        ) {
            Ok(n) => n,
            Err(_) => {
                self.entries.fetch_sub(1, Ordering::Relaxed);
                return Err(Error::Full.into());
            }
        };
        if self.list.insert(node).is_err() {
            self.entries.fetch_sub(1, Ordering::Relaxed);
            return Err(WriteAtError::Duplicate);
        }
        // Keep len() meaningful: this version counts if it is the newest.
        let newest = self.list.seek(key, MAX_SEQNO) == Some(node);
        if newest {
            let delta = isize::from(value.is_some()) - isize::from(self.older_is_live(node));
            self.live.fetch_add(delta, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Inserts `value` for `key` at a caller-assigned `seqno`.
    ///
    /// ```
    /// use ordex_skiplist::SkipList;
    /// let t = SkipList::new();
    /// t.insert_at(b"k", 7, b"v7").unwrap();
    /// t.insert_at(b"k", 9, b"v9").unwrap();
    /// assert_eq!(t.get_at(b"k", 8), Some(Some(&b"v7"[..])));
    /// assert!(t.insert_at(b"k", 9, b"again").is_err()); // duplicate (key, seqno)
    /// ```
    pub fn insert_at(&self, key: &[u8], seqno: Seqno, value: &[u8]) -> Result<(), WriteAtError> {
        self.write_at(key, seqno, Some(value))
    }

    /// Writes a tombstone for `key` at a caller-assigned `seqno`.
    pub fn delete_at(&self, key: &[u8], seqno: Seqno) -> Result<(), WriteAtError> {
        self.write_at(key, seqno, None)
    }

    /// The newest version of `key` at or below `seqno`: `Some(Some(value))`
    /// for a put, `Some(None)` for a tombstone, `None` if the table has no
    /// version of the key that old.
    pub fn get_at(&self, key: &[u8], seqno: Seqno) -> Option<Option<&[u8]>> {
        let n = self.list.seek(key, seqno.min(MAX_SEQNO))?;
        if self.list.arena.key(n) != key {
            return None;
        }
        Some(self.list.is_put(n).then(|| self.list.arena.value(n)))
    }

    /// The newest value of `key`, if it is live.
    pub fn get_live(&self, key: &[u8]) -> Option<&[u8]> {
        self.get_at(key, MAX_SEQNO).flatten()
    }

    fn scan_at(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        seqno: Seqno,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        if is_empty_range(from, to) {
            return 0;
        }
        let arena = &self.list.arena;
        let (mut cur, skip) = match from {
            Bound::Included(k) => (self.list.seek(k, MAX_SEQNO), None),
            Bound::Excluded(k) => (self.list.seek(k, MAX_SEQNO), Some(k)),
            Bound::Unbounded => (self.list.first(), None),
        };
        if let Some(k) = skip {
            while let Some(n) = cur {
                if arena.key(n) != k {
                    break;
                }
                cur = self.list.next(n);
            }
        }
        let mut visited = 0;
        while let Some(first) = cur {
            let key = arena.key(first);
            let past = match to {
                Bound::Included(hi) => key > hi,
                Bound::Excluded(hi) => key >= hi,
                Bound::Unbounded => false,
            };
            if past {
                break;
            }
            // The versions of `key` follow each other, newest first: take
            // the first one the reader may see, then skip to the next key.
            let mut version = None;
            let mut n = Some(first);
            while let Some(x) = n {
                if arena.key(x) != key {
                    break;
                }
                if version.is_none() && self.list.seqno_of(x) <= seqno {
                    version = Some(x);
                }
                n = self.list.next(x);
            }
            cur = n;
            if let Some(v) = version {
                if self.list.is_put(v) {
                    visited += 1;
                    if !f(key, arena.value(v)) {
                        break;
                    }
                }
            }
        }
        visited
    }
}

/// One version of a key, as [`SkipList::versions`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// The user key.
    pub key: &'a [u8],
    /// The write's seqno.
    pub seqno: Seqno,
    /// The value, or `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

/// Iterator over every version of a [`SkipList`], in table order.
pub struct Versions<'a> {
    table: &'a SkipList,
    next: Option<NodeRef>,
}

impl<'a> Iterator for Versions<'a> {
    type Item = Version<'a>;

    fn next(&mut self) -> Option<Version<'a>> {
        let n = self.next?;
        let list = &self.table.list;
        self.next = list.next(n);
        Some(Version {
            key: list.arena.key(n),
            seqno: list.seqno_of(n),
            value: list.is_put(n).then(|| list.arena.value(n)),
        })
    }
}

impl std::fmt::Debug for Versions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versions").finish_non_exhaustive()
    }
}

/// Why [`SkipList::insert_at`] or [`SkipList::delete_at`] refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteAtError {
    /// A general refusal (`Full`, `Sealed`, `KeyTooLarge`, `ValueTooLarge`).
    Index(Error),
    /// A version with this (key, seqno) is already in the table.
    Duplicate,
    /// Seqnos are limited to 2^56 − 1.
    SeqnoTooLarge,
}

impl From<Error> for WriteAtError {
    fn from(e: Error) -> Self {
        WriteAtError::Index(e)
    }
}

impl std::fmt::Display for WriteAtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteAtError::Index(e) => e.fmt(f),
            WriteAtError::Duplicate => {
                f.write_str("a version with this key and seqno already exists")
            }
            WriteAtError::SeqnoTooLarge => f.write_str("seqno exceeds 2^56 - 1"),
        }
    }
}

impl std::error::Error for WriteAtError {}

impl OrderedIndex for SkipList {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        Ok(self.write_auto(&[(key, Some(value))])?.0)
    }

    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.check(key, &[])?;
        if self.get_live(key).is_none() {
            // Nothing to remove: no write, no seqno (linearized here). A
            // sealed table still refuses.
            if self.is_sealed() {
                return Err(Error::Sealed);
            }
            return Ok(false);
        }
        Ok(self.write_auto(&[(key, None)])?.1)
    }

    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        deliver(self.get_live(key), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        self.scan_at(from, to, MAX_SEQNO, f)
    }

    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(SkipSnapshot {
            table: self,
            seqno: self.visible_seqno(),
        })
    }

    fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        let entries: Vec<(&[u8], Option<&[u8]>)> =
            entries.iter().map(|(k, v)| (*k, Some(*v))).collect();
        Ok(self.write_auto(&entries)?.0)
    }

    fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed).max(0) as usize
    }

    fn memory_usage(&self) -> usize {
        std::mem::size_of::<Self>() + self.list.arena.allocated_bytes()
    }

    fn name(&self) -> &'static str {
        "skiplist"
    }

    fn limits(&self) -> Limits {
        let chunk = 1usize << self.config.chunk_shift;
        Limits {
            max_key_len: MAX_KEY_LEN.min(chunk / 4),
            max_value_len: MAX_VALUE_LEN.min(chunk / 2),
        }
    }
}

/// A snapshot of a [`SkipList`]: the versions at or below its seqno. It
/// costs nothing to hold (the table keeps every version until it drops).
#[derive(Debug)]
pub struct SkipSnapshot<'a> {
    table: &'a SkipList,
    seqno: Seqno,
}

impl Snapshot for SkipSnapshot<'_> {
    fn seqno(&self) -> Seqno {
        self.seqno
    }

    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        deliver(self.table.get_at(key, self.seqno).flatten(), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        self.table.scan_at(from, to, self.seqno, f)
    }
}

// Tall towers must fit the layout computations.
const _: () = assert!(MAX_HEIGHT <= 32);
