//! `ordex-skiplist`: an arena lock-free skip list, the MVCC memtable of an
//! LSM storage engine.
//!
//! Many threads insert concurrently; readers never block, never pin an
//! epoch, never write shared memory and never allocate; versions of a key
//! coexist, ordered by seqno; the table can be sealed and then flushed in
//! order; dropping it frees every chunk at once.
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
//! assert_eq!(table.version_count(), 2);       // both versions are kept
//!
//! // Cursors: the newest visible version of each key, both directions.
//! table.insert(b"banana", b"yellow")?;
//! let mut c = table.cursor();
//! assert!(c.seek_for_prev(b"b"));             // last key <= "b"
//! assert_eq!(c.key(), Some(&b"apple"[..]));
//! assert!(c.next() && c.key() == Some(&b"banana"[..]));
//! assert!(c.prev() && c.value() == Some(&b"green"[..]));
//! # Ok::<(), ordex_core::Error>(())
//! ```
//!
//! # Cursors
//!
//! [`Cursor`] (the newest visible version of each key) and
//! [`VersionCursor`] (every version, for a flush or a merge) borrow the
//! table. Their owned twins, [`OwnedCursor`] and [`OwnedVersionCursor`]
//! ([`owned_cursor`](SkipList::owned_cursor),
//! [`owned_version_cursor`](SkipList::owned_version_cursor)), hold an
//! `Arc<SkipList>`: they are `'static`, for an engine's iterator stack, and
//! keep the table alive. A version cursor can be kept between two
//! (key, seqno) bounds ([`version_range`](SkipList::version_range)), the
//! shape of an MVCC scan. None copies a key or value, and none allocates
//! per step or seek: see [`CursorOn`] and [`VersionCursorOn`].
//!
//! # Guarantees
//!
//! - `insert`, `remove`, `get` and [`get_or_insert`](SkipList::get_or_insert)
//!   are linearizable. Writes to one key take effect in seqno order.
//! - Every write through [`OrderedIndex`] gets the next seqno; a snapshot
//!   pins the highest seqno handed out, after waiting for the writes at or
//!   below it still in flight, and sees exactly the writes up to it. A
//!   batch takes one seqno range and becomes visible to snapshots all at
//!   once.
//! - Reads (`get`, `scan`, cursors, snapshot reads) take no lock, do no
//!   atomic read-modify-write and allocate nothing.
//! - Writers do not contend on shared counters: each write claims a lane
//!   (see *Writers* below) and allocates from that lane's arena block. The
//!   only shared write on the insert path is the seqno counter.
//! - A write refused with `Err` (`KeyTooLarge`, `ValueTooLarge`, `Full`,
//!   `Sealed`) changed nothing and consumed no seqno.
//! - Memory: nodes are bump-allocated in one arena of up to `max_memory`
//!   bytes. On Linux the arena is one address-space reservation whose
//!   pages the kernel commits as they are first written, backed by
//!   transparent huge pages where the kernel gives them
//!   ([`Config::huge_pages`]); elsewhere, chunks (1 MiB by default) are
//!   allocated on demand. Versions are kept until the table is dropped
//!   (the LSM memtable contract: a flush writes them out, then the table
//!   goes away, freeing the whole arena at once). A node costs its key and
//!   value plus 23.8 bytes on average: 16 bytes of header, a tower of 1.9
//!   four-byte links, and in one node of 18 (the tall ones, whose values
//!   live out of line) a 4-byte value offset.
//!
//! # Performance
//!
//! A search is a chain of cache misses, one or two per level, so the
//! design spends its effort there: every field a search step reads (the
//! link of any level, the key length, the key) sits at a fixed offset from
//! the node's reference, so a step's misses are issued together; an offset
//! becomes an address with one addition; the node one level down is
//! prefetched while the candidate at this level is compared; huge pages
//! keep the page walks out of the chain; and the tall nodes, which every
//! search passes through, are allocated apart from the others, small
//! (values out of line) and packed together, so more of the upper levels
//! stay in cache. A search with a key does not start at the top: a
//! sorted snapshot of one upper level (the top index, retaken as the list
//! grows) is binary-searched for the last node below the key, and the
//! descent starts there, ten levels down. [`SkipList::multi_get`] sorts its
//! keys, finger-searches the top index for each key's start (galloping from
//! the previous key's place in it) and interleaves sixteen searches
//! through the levels below. Measured figures, with the commands that
//! produced them, are in the repository's `docs/skiplist.md`.
//!
//! # Writers
//!
//! A table has twice as many writer lanes as the machine has cores (at
//! least 4). A write holds one lane for its duration; any number of
//! threads may write, over the table's life and at once (with more
//! writers in flight than lanes, a writer that finds every lane taken for
//! a few rounds adds lanes, kept for the table's life).
//! Snapshots and [`freeze`](SkipList::freeze) wait for the writes in
//! flight that they must include or exclude; plain reads never wait.
//! Writers do not wait for one another. A writer that finds every lane
//! taken (more writes in flight than lanes, their writers descheduled)
//! adds lanes rather than wait for one. A write publishes its nodes
//! in its lane before it takes its seqno, so
//! [`get_or_insert`](SkipList::get_or_insert) and `remove`, whose answers
//! must be exact, read the writes of their key with a lower seqno that
//! are still linking instead of waiting for them (a `get_or_insert` that
//! answers with such a write's value links a copy of it first), and a
//! write that has not shown its seqno yet is made to take one above
//! theirs. A writer descheduled in the middle of a write holds up no
//! other write.
//!
//! # Limits
//!
//! Keys up to [`MAX_KEY_LEN`] bytes and a quarter of a chunk, values up to
//! [`MAX_VALUE_LEN`] bytes and half a chunk, seqnos up to 2^56 − 1.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod arena;
mod cursor;
mod keys;
mod lane;
mod list;
mod pages;
mod segments;
#[cfg(not(loom))]
mod top;
mod write;

pub use cursor::{
    Cursor, CursorOn, OwnedCursor, OwnedVersionCursor, TableHandle, VersionCursor, VersionCursorOn,
};
pub use write::{GetOrInsert, Reservation, WriteAtError};

use arena::{node_size, Arena, NodeRef};
use keys::same_key;
use lane::{Lane, Lanes};
use list::{List, MAX_HEIGHT, MAX_SEQNO};
use ordex_core::sync::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use ordex_core::{deliver, is_empty_range, past_end, Error, Limits, OrderedIndex, Seqno, Snapshot};
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
pub const MAX_VALUE_LEN: usize = 8 * 1024 * 1024;

/// How a [`SkipList`] is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Arena bytes the table may allocate before writes fail with
    /// [`Error::Full`] (default 1 GiB). On Linux this much address space
    /// is reserved at once and the kernel commits its pages as they are
    /// first written, so an empty table costs nothing; elsewhere chunks
    /// are allocated as the arena reaches them. (If the kernel will not
    /// reserve that much address space, under strict overcommit, the
    /// limit is halved until it does.)
    pub max_memory: usize,
    /// Entries (versions) the table may hold before writes fail with
    /// [`Error::Full`] (default: unlimited).
    pub max_entries: usize,
    /// Arena chunk size as a power of two, 10 to 24 (default 20: 1 MiB).
    /// Keys are limited to a quarter of a chunk, values and reservations
    /// to half of one.
    pub chunk_shift: u32,
    /// Back the arena with transparent huge pages where the platform has
    /// them (default `true`; Linux: `MADV_HUGEPAGE` on a 2 MiB-aligned
    /// reservation, like RocksDB's `memtable_huge_page_size`). A search
    /// touches nodes scattered over the whole arena, and with 4 KiB pages
    /// most of its steps miss the TLB as well as the cache. The arena's
    /// first 256 KiB stay on small pages, so a small table commits only
    /// the 4 KiB pages it touches and making one costs no zeroed 2 MiB
    /// page; past them the kernel commits memory 2 MiB at a time. Advice
    /// only: without huge pages to give, the kernel uses small ones.
    pub huge_pages: bool,
    /// When the table is dropped, keep its arena for the next table the
    /// process makes with the same `max_memory`, `chunk_shift` and
    /// `huge_pages` (default `true`; Linux; one arena at a time, with at
    /// most 64 MiB of its pages still committed), as an allocator keeps
    /// freed memory for the next allocation. An engine drops a memtable
    /// for every one it seals: the next then writes to pages the kernel
    /// has already committed, instead of taking a page fault and a
    /// zeroed page for every 4 KiB (or 2 MiB) it fills. `false` gives a
    /// dropped table's memory back to the kernel at once.
    pub reuse_memory: bool,
    /// Seal the table when a write hits `max_memory` or `max_entries`
    /// (default `false`): that write fails with [`Error::Full`], every
    /// later one with [`Error::Sealed`], and the engine rotates with
    /// [`SkipList::seal`].
    pub auto_seal: bool,
    /// What a write at a caller-given seqno does when the table already
    /// holds a version with the same key and seqno (default
    /// [`Duplicates::Reject`]).
    pub duplicates: Duplicates,
}

/// What a write of a (key, seqno) the table already holds does (see
/// [`Config::duplicates`]). Writes with the table's own seqnos never meet
/// one.
///
/// ```
/// use ordex_skiplist::{Config, Duplicates, SkipList};
/// // An MVCC engine: a transaction writes a key twice at its commit
/// // timestamp, and the later write is the one that counts.
/// let t = SkipList::with_config(Config { duplicates: Duplicates::LaterWins, ..Config::default() });
/// t.insert_at(b"user42", 7, b"draft").unwrap();
/// t.insert_at(b"user42", 7, b"final").unwrap();
/// assert_eq!(t.get_at(b"user42", 7), Some(Some(&b"final"[..])));
/// assert_eq!(t.versions().count(), 1); // a flush sees one version
/// assert_eq!(t.version_count(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplicates {
    /// Refuse the second write with [`WriteAtError::Duplicate`], changing
    /// nothing.
    #[default]
    Reject,
    /// The later write wins, exactly as an overwrite: every read, cursor,
    /// snapshot and flush from then on sees the later value (or
    /// tombstone) in the version's place, and the earlier one no more (it
    /// stays in the arena, *shadowed*: it is not counted in
    /// [`SkipList::version_count`], and [`Stats::shadowed`] counts it).
    /// Two threads writing one (key, seqno) at once are ordered by which
    /// links last.
    LaterWins,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_memory: 1 << 30,
            max_entries: usize::MAX,
            chunk_shift: 20,
            huge_pages: true,
            reuse_memory: true,
            auto_seal: false,
            duplicates: Duplicates::Reject,
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

/// The arena MVCC skip list. See the [crate docs](crate).
pub struct SkipList {
    list: List,
    config: Config,
    lanes: Lanes,
    sealed: Padded<AtomicBool>,
    /// Last seqno handed out by the auto-seqno write path.
    next_seqno: Padded<AtomicU64>,
    /// Entries admitted against `max_entries` (only counted when it is
    /// finite).
    admitted: Padded<AtomicUsize>,
}

impl std::fmt::Debug for SkipList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkipList")
            .field("config", &self.config)
            .field("versions", &self.version_count())
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

/// Statistics of a [`SkipList`] (see [`SkipList::stats`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Arena bytes in use by nodes (exact: header, tower, key and value of
    /// every version, plus the head node).
    pub memory_usage: usize,
    /// Heap bytes the arena holds (allocated chunks).
    pub memory_reserved: usize,
    /// Heap bytes of the top index, the sorted snapshots of one upper
    /// level that searches start from (every snapshot taken: they are
    /// kept until the table drops). Not part of the arena, so not in
    /// `memory_usage`; a table's whole footprint is the two together.
    pub index_bytes: usize,
    /// Snapshots the top index has taken: each is a heap allocation or
    /// three, like a chunk refill, about once for each doubling of the
    /// table.
    pub index_snapshots: usize,
    /// `memory_reserved - memory_usage`: chunk space not (yet) holding
    /// nodes, including block tails and unused reservation space.
    pub memory_idle: usize,
    /// `memory_usage / memory_reserved` (0 for an empty table).
    pub memory_utilization: f64,
    /// The `max_memory` limit.
    pub memory_limit: usize,
    /// Live keys (keys whose newest version is a put): [`OrderedIndex::len`].
    pub len: usize,
    /// Versions held, puts and tombstones: what a flush writes out
    /// ([`SkipList::version_count`]).
    pub entries: usize,
    /// Tombstone versions among `entries` ([`SkipList::tombstone_count`]).
    pub tombstones: usize,
    /// Earlier writes of a (key, seqno) that a later one shadowed (see
    /// [`Duplicates::LaterWins`]): in the arena, not in `entries`.
    pub shadowed: usize,
    /// The highest seqno written ([`SkipList::max_seqno`]).
    pub max_seqno: Seqno,
    /// Average key length over every version written.
    pub avg_key_size: f64,
    /// Average value length over every version written.
    pub avg_value_size: f64,
    /// Write attempts, refused ones included.
    pub insert_attempts: u64,
    /// Writer lanes (twice the cores, at least 4, and any added when
    /// every lane was taken).
    pub lanes: usize,
}

/// One entry of a write: key and value (`None` for a tombstone).
type Write<'a> = (&'a [u8], Option<&'a [u8]>);

impl SkipList {
    /// An empty table with the default [`Config`].
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// An empty table sized by `config`.
    pub fn with_config(mut config: Config) -> Self {
        config.chunk_shift = config.chunk_shift.clamp(10, 24);
        let shift = config.chunk_shift;
        let arena = Arena::new(
            config.max_memory.max(2 << shift),
            shift,
            config.huge_pages,
            config.reuse_memory,
        );
        let lanes = Lanes::new(Lanes::default_count());
        let first = lanes.iter().next().expect("at least one lane");
        let list = List::new(arena, &first.block).expect("the first chunk holds the head node");
        SkipList {
            list,
            config,
            lanes,
            sealed: Padded(AtomicBool::new(false)),
            next_seqno: Padded(AtomicU64::new(0)),
            admitted: Padded(AtomicUsize::new(0)),
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
    /// can be flushed. Idempotent.
    pub fn freeze(&self) {
        // Store, SeqCst fence, then load the lanes; a writer claims its
        // lane, fences, then loads the flag (see `enter`). The two fences
        // are ordered, so either the writer sees the flag, or this scan
        // sees its lane taken and waits for it. (Fences rather than SeqCst
        // accesses: loom checks fences exactly.)
        self.sealed.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.lanes.wait_idle();
    }

    /// Whether the table is sealed.
    pub fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }

    /// Versions held, puts and tombstones: what a flush writes out (a
    /// write shadowed by a later one of the same (key, seqno) is not one).
    /// Not [`len`](OrderedIndex::len), the live keys: a memtable holding
    /// only tombstones has no live keys, is
    /// [`is_empty`](OrderedIndex::is_empty), and must still be flushed.
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// use ordex_skiplist::SkipList;
    /// let t = SkipList::new();
    /// t.delete_at(b"gone", 3).unwrap();
    /// assert!(t.is_empty() && t.len() == 0); // no live key
    /// assert_eq!((t.version_count(), t.tombstone_count()), (1, 1)); // one to flush
    /// ```
    pub fn version_count(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| l.entries.load(Ordering::Relaxed) as usize)
            .sum()
    }

    /// Versions held: the old name of [`version_count`](Self::version_count).
    #[deprecated(
        note = "named `version_count` (versions: puts and tombstones; `len` is live keys)"
    )]
    pub fn entries(&self) -> usize {
        self.version_count()
    }

    /// Tombstone versions held (among [`version_count`](Self::version_count)).
    pub fn tombstone_count(&self) -> usize {
        let n: i64 = self
            .lanes
            .iter()
            .map(|l| l.tombstones.load(Ordering::Relaxed))
            .sum();
        n.max(0) as usize
    }

    /// The highest seqno of any version written, by every write path
    /// ([`insert_at`](Self::insert_at) and the batches included; 0 for a
    /// table never written): where an engine recovering from this table
    /// resumes its seqnos, without a scan. Exact once the writes have
    /// returned.
    pub fn max_seqno(&self) -> Seqno {
        self.lanes
            .iter()
            .map(|l| l.max_seqno.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// Arena bytes in use by nodes (exact; see [`Stats::memory_usage`]).
    pub fn memory_used(&self) -> usize {
        self.lanes.iter().map(Lane::used).sum::<usize>() + self.list.arena.direct_used()
    }

    /// The table's statistics, summed over its writer lanes (each figure
    /// is exact once writers are quiet).
    pub fn stats(&self) -> Stats {
        let usage = self.memory_used();
        let reserved = self.list.arena.allocated_bytes();
        let sum = |f: fn(&Lane) -> u64| self.lanes.iter().map(f).sum::<u64>();
        let entries = self.version_count();
        let (index_bytes, index_snapshots) = self.list.index_stats();
        let avg = |total: u64| {
            if entries == 0 {
                0.0
            } else {
                total as f64 / entries as f64
            }
        };
        Stats {
            memory_usage: usage,
            memory_reserved: reserved,
            index_bytes,
            index_snapshots,
            memory_idle: reserved.saturating_sub(usage),
            memory_utilization: if reserved == 0 {
                0.0
            } else {
                usage as f64 / reserved as f64
            },
            memory_limit: self.list.arena.capacity(),
            len: self.len(),
            entries,
            tombstones: self.tombstone_count(),
            shadowed: sum(|l| l.shadowed.load(Ordering::Relaxed)) as usize,
            max_seqno: self.max_seqno(),
            avg_key_size: avg(sum(|l| l.key_bytes.load(Ordering::Relaxed))),
            avg_value_size: avg(sum(|l| l.value_bytes.load(Ordering::Relaxed))),
            insert_attempts: sum(|l| l.attempts.load(Ordering::Relaxed)),
            lanes: self.lanes.iter().count(),
        }
    }

    /// The configuration this table was built with.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Whether the table has used 90% of its `max_memory` or `max_entries`:
    /// the moment for an engine to slow writers down and rotate.
    pub fn is_under_backpressure(&self) -> bool {
        let memory = self.memory_used() as u128 * 10 >= self.list.arena.capacity() as u128 * 9;
        let admitted = self.admitted.load(Ordering::Relaxed);
        let entries = admitted as u128 * 10 >= self.config.max_entries as u128 * 9;
        memory || entries || self.list.arena.is_full()
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

    /// A cursor over the newest live version of each key (what a reader
    /// wants), at the current seqno. Unpositioned until a seek.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor::new(self, MAX_SEQNO)
    }

    /// A cursor over the newest version of each key visible at `seqno`.
    pub fn cursor_at(&self, seqno: Seqno) -> Cursor<'_> {
        Cursor::new(self, seqno.min(MAX_SEQNO))
    }

    /// A cursor over every version, with its seqno and kind (what a flush
    /// wants).
    pub fn version_cursor(&self) -> VersionCursor<'_> {
        VersionCursor::new(self)
    }

    /// The seqno a snapshot taken now pins: the last one handed out, once
    /// the writes at or below it still in flight have finished.
    pub fn visible_seqno(&self) -> Seqno {
        // Acquire: reading a seqno synchronises with the fetch_add that
        // handed it out (and every earlier one, a release sequence), which
        // came after that writer claimed its lane: the lane scan below
        // sees the claim (or its end).
        let n = self.next_seqno.load(Ordering::Acquire);
        self.lanes.wait_below(n);
        n
    }

    /// A snapshot at a caller-chosen seqno (for engines that assign seqnos
    /// themselves with [`insert_at`](Self::insert_at)): it sees the
    /// versions at or below `seqno` that are in the table.
    pub fn snapshot_at(&self, seqno: Seqno) -> SkipSnapshot<'_> {
        SkipSnapshot {
            table: self,
            seqno: seqno.min(MAX_SEQNO),
        }
    }

    /// The most bytes an entry of this shape can take in the arena (with
    /// the tallest tower): the unit of [`reserve`](Self::reserve), as
    /// Pebble's `MaxNodeSize` is for its memtable reservations. An entry
    /// takes `key_len + value_len + 24` bytes on average.
    pub fn entry_size(key_len: usize, value_len: usize) -> usize {
        node_size(MAX_HEIGHT, key_len, value_len)
    }

    /// The newest version of `key` at or below `seqno`: `Some(Some(value))`
    /// for a put, `Some(None)` for a tombstone, `None` if the table has no
    /// version of the key that old.
    pub fn get_at(&self, key: &[u8], seqno: Seqno) -> Option<Option<&[u8]>> {
        let n = self.list.seek(key, seqno.min(MAX_SEQNO))?;
        let (k, v, _) = self.list.arena.entry(n);

        if !same_key(k, key) {
            return None;
        }
        Some(self.list.is_put(n).then_some(v))
    }

    /// The newest value of `key`, if it is live.
    pub fn get_live(&self, key: &[u8]) -> Option<&[u8]> {
        self.get_at(key, MAX_SEQNO).flatten()
    }

    /// Whether `key` has a live value.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get_live(key).is_some()
    }

    /// Looks up many keys at once, calling `f(i, value)` for `keys[i]`
    /// (in an unspecified order) with its newest live value. Keys are
    /// taken 64 at a time in key order: each key's start is found by a
    /// finger search from the previous key's (in the top index, galloping
    /// from the previous key's place; in a table too small for one, down
    /// the upper levels from the previous key's path), then sixteen
    /// searches run interleaved through the levels below, each
    /// prefetching the node it will compare next while the others compare
    /// theirs, so their cache misses overlap. Allocation-free.
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// use ordex_skiplist::SkipList;
    /// let t = SkipList::new();
    /// t.insert(b"a", b"1")?;
    /// t.insert(b"c", b"3")?;
    /// let mut got = [None; 3];
    /// t.multi_get(&[&b"a"[..], b"b", b"c"], |i, v| got[i] = v.map(|v| v[0]));
    /// assert_eq!(got, [Some(b'1'), None, Some(b'3')]);
    /// # Ok::<(), ordex_core::Error>(())
    /// ```
    pub fn multi_get<'a>(&'a self, keys: &[&[u8]], mut f: impl FnMut(usize, Option<&'a [u8]>)) {
        self.list.multi_seek(keys, |i, n| {
            let value = n.and_then(|n| {
                let (k, v, _) = self.list.arena.entry(n);
                (same_key(k, keys[i]) && self.list.is_put(n)).then_some(v)
            });
            f(i, value)
        });
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
        let mut c = Cursor::new(self, seqno);
        let mut ok = match from {
            Bound::Included(k) => c.seek(k),
            Bound::Excluded(k) => c.seek_after(k),
            Bound::Unbounded => c.first(),
        };
        let mut visited = 0;
        while ok {
            let (key, value) = c.entry().expect("positioned");
            if past_end(key, to) {
                break;
            }
            visited += 1;
            if !f(key, value) {
                break;
            }
            ok = c.next();
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

impl<'a> Version<'a> {
    fn of(table: &'a SkipList, n: NodeRef) -> Version<'a> {
        let (key, value, seqno) = table.list.arena.entry(n);
        Version {
            key,
            seqno,
            value: table.list.is_put(n).then_some(value),
        }
    }
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
        self.next = self.table.list.next_version(n);
        Some(Version::of(self.table, n))
    }
}

impl std::fmt::Debug for Versions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versions").finish_non_exhaustive()
    }
}

impl OrderedIndex for SkipList {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        Ok(self.write_auto(&[(key, Some(value))], None, false)?.0)
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
        Ok(self.write_auto(&[(key, None)], None, true)?.1)
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

    fn cursor(&self) -> Box<dyn ordex_core::Cursor + '_> {
        Box::new(SkipList::cursor(self))
    }

    fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        let entries: SmallVec<[Write<'_>; 16]> =
            entries.iter().map(|(k, v)| (*k, Some(*v))).collect();
        Ok(self.write_auto(&entries, None, false)?.0)
    }

    fn len(&self) -> usize {
        let live: i64 = self
            .lanes
            .iter()
            .map(|l| l.live.load(Ordering::Relaxed))
            .sum();
        live.max(0) as usize
    }

    fn memory_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.lanes.iter().count() * std::mem::size_of::<Lane>()
            + self.list.arena.allocated_bytes()
            + self.list.index_stats().0
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

impl<'a> SkipSnapshot<'a> {
    /// A cursor over this snapshot (newest visible version of each key).
    pub fn cursor(&self) -> Cursor<'a> {
        Cursor::new(self.table, self.seqno)
    }
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

    fn cursor(&self) -> Box<dyn ordex_core::Cursor + '_> {
        Box::new(SkipSnapshot::cursor(self))
    }
}

// Towers must fit the meta word's 5 height bits.
const _: () = assert!(MAX_HEIGHT <= 32);

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::write::Stall;

    /// A hook and the point of a write where it runs.
    type Hook = (Stall, Box<dyn FnOnce()>);

    thread_local! {
        /// Run by this thread's next auto-seqno write when it reaches the
        /// point named: a writer descheduled mid-write.
        pub(crate) static STALL: std::cell::Cell<Option<Hook>> =
            const { std::cell::Cell::new(None) };
    }

    /// Runs `write` on a thread that stalls at `at`, and `meanwhile` on
    /// another while it stays stalled; then lets it go on. Progress, not
    /// speed: if `meanwhile` waited for the stalled write, it would never
    /// finish, and the test fails after a minute instead of hanging.
    fn while_stalled<W: Send, M: Send>(
        at: Stall,
        write: impl FnOnce() -> W + Send,
        meanwhile: impl FnOnce() -> M + Send,
    ) -> (W, M) {
        use std::sync::mpsc;
        use std::time::Duration;
        let (stalled_tx, stalled_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::scope(|s| {
            let writer = s.spawn(move || {
                STALL.set(Some((
                    at,
                    Box::new(move || {
                        stalled_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                    }),
                )));
                write()
            });
            stalled_rx.recv().unwrap();
            s.spawn(move || done_tx.send(meanwhile()).unwrap());
            let outcome = done_rx.recv_timeout(Duration::from_secs(60));
            release_tx.send(()).unwrap();
            let m = outcome.expect("finished while the writer was stalled");
            (writer.join().unwrap(), m)
        })
    }

    /// A writer stalled between taking its seqno and linking holds up no
    /// `get_or_insert` or `remove` of another key: each finishes while it
    /// is stalled. (Before, both waited for every lower seqno: this test
    /// then never finished its first step.)
    #[test]
    fn a_stalled_writer_holds_up_no_write_of_another_key() {
        let table = SkipList::new();
        table.insert(b"there", b"1").unwrap();
        let (_, (got, removed)) = while_stalled(
            Stall::Shown,
            || table.insert(b"stalled", b"s").unwrap(),
            || {
                let got = table.get_or_insert(b"other", b"o").unwrap();
                (got, table.remove(b"there").unwrap())
            },
        );
        assert!(matches!(got, GetOrInsert::Inserted(_)));
        assert!(removed);
        assert_eq!(table.get_live(b"stalled"), Some(&b"s"[..]));
        assert_eq!(table.get_live(b"other"), Some(&b"o"[..]));
        assert_eq!(table.get_live(b"there"), None);
    }

    /// More writes in flight than lanes, every lane's writer stalled: a
    /// further write adds lanes instead of waiting for one (before, it
    /// spun until a lane came free, so this test never finished); a
    /// snapshot taken while that write is stalled in an added lane waits
    /// for it (it pins the write's seqno: the scan of the lanes covers the
    /// added ones).
    #[test]
    fn writes_stalled_in_every_lane_hold_up_no_other_write() {
        use std::sync::mpsc;
        use std::time::Duration;
        let table = SkipList::new();
        let lanes = table.stats().lanes;
        let (stalled_tx, stalled_rx) = mpsc::channel();
        let stalled_write = |key: Vec<u8>| {
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let (table, stalled_tx) = (&table, stalled_tx.clone());
            let write = move || {
                STALL.set(Some((
                    Stall::Shown,
                    Box::new(move || {
                        stalled_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                    }),
                )));
                table.insert(&key, b"stalled").unwrap()
            };
            (release_tx, write)
        };
        std::thread::scope(|s| {
            let stalled: Vec<_> = (0..lanes)
                .map(|i| {
                    let (release, write) = stalled_write(vec![b's', i as u8]);
                    (release, s.spawn(write))
                })
                .collect();
            for _ in 0..lanes {
                stalled_rx.recv().unwrap();
            }
            let (release_free, write) = stalled_write(b"free".to_vec());
            let free = s.spawn(write);
            stalled_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("a further write found a lane while every lane was stalled");
            assert!(table.stats().lanes > lanes, "lanes were added");
            for (release, writer) in stalled {
                release.send(()).unwrap();
                writer.join().unwrap();
            }
            let table = &table;
            let snap = s.spawn(move || {
                let snap = table.snapshot();
                (snap.seqno(), snap.contains(b"free"))
            });
            // Not a timing assertion: with the added lanes left out of
            // the scan, the snapshot returns before the release below and
            // misses the key.
            std::thread::sleep(Duration::from_millis(100));
            release_free.send(()).unwrap();
            assert_eq!(free.join().unwrap(), lanes as u64 + 1);
            assert_eq!(snap.join().unwrap(), (lanes as u64 + 1, true));
        });
        assert_eq!(table.len(), lanes + 1);
    }

    /// Nor of its own key: a `get_or_insert` below which a put of its key
    /// is still linking answers with that value and makes it visible at
    /// once (a copy at the write's seqno; the write then links nothing),
    /// and a `remove` after it removes it. (Before, both waited for the
    /// stalled write: mutation-checked by making `help` do nothing, which
    /// fails the read right after `get_or_insert`.)
    #[test]
    fn a_stalled_put_of_the_same_key_holds_up_neither_get_or_insert_nor_remove() {
        let table = SkipList::new();
        let (seqno, (got, seen, removed, after)) = while_stalled(
            Stall::Shown,
            || table.insert(b"k", b"stalled").unwrap(),
            || {
                let got = table.get_or_insert(b"k", b"mine").unwrap();
                let seen = table.get_copied(b"k");
                let removed = table.remove(b"k").unwrap();
                (got, seen, removed, table.get_copied(b"k"))
            },
        );
        assert_eq!(got, GetOrInsert::Present(b"stalled"));
        assert_eq!(seen.as_deref(), Some(&b"stalled"[..]));
        assert!(removed);
        assert_eq!(after, None);
        assert_eq!(table.get_at(b"k", seqno), Some(Some(&b"stalled"[..])));
        assert_eq!(table.get_live(b"k"), None);
        assert_eq!((table.version_count(), table.len()), (2, 0));
    }

    /// A write stalled after taking its seqno, before showing it, is
    /// bumped: it takes a fresh seqno above the `get_or_insert`'s, which
    /// inserts without waiting; the stalled put then lands as the newer
    /// version. (Mutation-checked: with pending lanes skipped instead of
    /// bumped, the put keeps its lower seqno and the assertion on the
    /// seqnos fails.)
    #[test]
    fn a_write_stalled_before_its_seqno_is_bumped_above_a_get_or_insert() {
        let table = SkipList::new();
        let (put, got) = while_stalled(
            Stall::Pending,
            || table.insert(b"k", b"stalled").unwrap(),
            || table.get_or_insert(b"k", b"mine").unwrap(),
        );
        let GetOrInsert::Inserted(mine) = got else {
            panic!("a write that had not shown its seqno counted as older: {got:?}");
        };
        assert!(put > mine, "bumped above: {put} > {mine}");
        assert_eq!(table.get_at(b"k", mine), Some(Some(&b"mine"[..])));
        assert_eq!(table.get_live(b"k"), Some(&b"stalled"[..]));
        assert_eq!((table.version_count(), table.len()), (2, 1));
    }

    /// Two `get_or_insert`s of one key, the first stalled before it links:
    /// the second answers with the first one's value (its decision, which
    /// both reach alone) and the first one still reports the insert.
    #[test]
    fn get_or_insert_decides_for_a_stalled_get_or_insert_below_it() {
        let table = SkipList::new();
        let (first, (second, seen)) = while_stalled(
            Stall::Shown,
            || table.get_or_insert(b"k", b"first").unwrap(),
            || {
                let got = table.get_or_insert(b"k", b"second").unwrap();
                (got, table.get_copied(b"k"))
            },
        );
        assert!(matches!(first, GetOrInsert::Inserted(_)), "{first:?}");
        assert_eq!(second, GetOrInsert::Present(b"first"));
        assert_eq!(seen.as_deref(), Some(&b"first"[..]));
        assert_eq!((table.version_count(), table.len()), (1, 1));
    }

    /// Two `remove`s of one key, the first stalled with its tombstone not
    /// linked: exactly one reports the removal, and the second does not
    /// wait for the first.
    #[test]
    fn of_two_removes_one_stalled_exactly_one_removes() {
        let table = SkipList::new();
        table.insert(b"k", b"v").unwrap();
        let (first, second) = while_stalled(
            Stall::Shown,
            || table.remove(b"k").unwrap(),
            || table.remove(b"k").unwrap(),
        );
        assert!(first && !second, "first {first}, second {second}");
        assert_eq!(table.get_live(b"k"), None);
        assert_eq!(table.len(), 0);
    }

    /// A batch's nodes are published in its lane, spilled past the inline
    /// references: a `get_or_insert` of its last key, while it is stalled,
    /// finds that key's put among them.
    #[test]
    fn a_stalled_batch_is_read_past_its_inline_references() {
        let table = SkipList::new();
        let keys: Vec<Vec<u8>> = (0..100u32)
            .map(|i| format!("key{i:03}").into_bytes())
            .collect();
        let batch: Vec<(&[u8], Option<&[u8]>)> =
            keys.iter().map(|k| (&k[..], Some(&k[..]))).collect();
        let (_, got) = while_stalled(
            Stall::Shown,
            || table.write_batch(&batch).unwrap(),
            || table.get_or_insert(b"key099", b"mine").unwrap(),
        );
        assert_eq!(got, GetOrInsert::Present(b"key099"));
        assert_eq!((table.version_count(), table.len()), (100, 100));
    }

    use super::*;
    use lane::TALL_HEIGHT;
    use std::collections::BTreeMap;

    /// The top index keeps up with its level: whatever the list's height
    /// did, the newest snapshot holds at least half the nodes its level
    /// holds now (it is retaken when they double), and enough of them
    /// (`LEAST`, unless it is the bottom level) to be worth a search. Its
    /// heap bytes are reported. Before growth-triggered retakes, a table of
    /// 10k entries was found searching from 224 of a level's 1134 nodes.
    /// (Mutation-checked: with the retake in `List::insert` removed, the
    /// first assertion fails.)
    #[test]
    fn the_top_index_keeps_up_with_its_level() {
        let empty = SkipList::new();
        assert_eq!(empty.stats().index_bytes, 0);
        for seed in 1..=6u64 {
            let table = SkipList::new();
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let n = 5_000 << seed;
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                table.insert(&x.to_be_bytes(), b"v").unwrap();
            }
            let (level, had, now) = table.list.top_index_freshness().expect("an index");
            assert!(
                now <= 2 * had.max(64),
                "seed {seed}: level {level}: {had} of {now} nodes"
            );
            assert!(
                level == 0 || had >= top::LEAST,
                "seed {seed}: level {level}: {had} nodes"
            );
            let bytes = table.stats().index_bytes;
            assert!(
                bytes >= had * 8,
                "seed {seed}: {bytes} index bytes, {had} nodes"
            );
            // Older snapshots are kept too, one per doubling of the
            // table: at 160k entries and up they take under a byte per
            // entry (about a tenth of one at a million: the memtable
            // study of index-bench measures it).
            assert!(
                n < 160_000 || bytes <= n,
                "seed {seed}: {bytes} index bytes for {n} entries"
            );
            assert!(table.memory_usage() >= table.stats().memory_reserved + bytes);
        }
    }

    /// Steps along their levels that `f`'s searches take, per call of `f`
    /// over `n` calls: (mean, most).
    fn walks(n: usize, mut f: impl FnMut(usize)) -> (f64, usize) {
        let (mut total, mut most) = (0, 0);
        for i in 0..n {
            let before = list::WALKED.with(std::cell::Cell::get);
            f(i);
            let steps = list::WALKED.with(std::cell::Cell::get) - before;
            total += steps;
            most = most.max(steps);
        }
        (total as f64 / n.max(1) as f64, most)
    }

    /// No insertion order makes a search walk far: a structural check of
    /// the cliff ascending keys fell off (a search started at the top
    /// index's last node and walked every node linked after it on that
    /// level, about 1,000 steps per insert and per get of the newest keys
    /// at 200k entries). Ascending, descending, ascending inside each of
    /// eight key ranges (composite keys: a table id, then a row id),
    /// ascending inside one range between others, and random: inserts,
    /// gets and `multi_get`s of the newest keys, gets of random keys and
    /// of absent keys all take about as many steps as with random keys.
    #[test]
    fn searches_walk_about_as_far_whatever_the_insertion_order() {
        const N: u64 = 200_000;
        let key = |order: &str, i: u64| -> [u8; 16] {
            let (hi, lo) = match order {
                "ascending" => (7, i),
                "descending" => (7, u64::MAX - i),
                "ranges" => (i % 8, i / 8),
                // Eight ranges filled evenly, then one of them grows: the
                // newest keys all go into one gap inside the index.
                "one range" if i < N / 2 => (i % 8, i / 8),
                "one range" => (3, i),
                _ => (7, (i ^ 0x5555).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            };
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&u64::to_be_bytes(hi));
            k[8..].copy_from_slice(&u64::to_be_bytes(lo));
            k
        };
        let mut random_means = None;
        for order in ["random", "ascending", "descending", "ranges", "one range"] {
            let table = SkipList::new();
            // Loaded in ten stages; after each, gets and `multi_get`s of
            // the newest keys. The newest thousand keys of one table lie
            // under a dozen towers of the index's level, so their mean
            // varied from 9 to 15 steps from one table to the next (the
            // ascending ones; random keys 10.5 to 12.4): ten such tails
            // make the mean steady.
            let (mut insert_mean, mut insert_most) = (0.0, 0);
            let (mut newest_mean, mut newest_most) = (0.0, 0);
            let mut multi = 0.0;
            // Searches of those that passed the top index by.
            let mut newest_passed = 0;
            const STAGES: u64 = 10;
            const STAGE: u64 = N / STAGES;
            for stage in 0..STAGES {
                let (mean, most) = walks(STAGE as usize, |i| {
                    table
                        .insert(&key(order, stage * STAGE + i as u64), b"v")
                        .unwrap();
                });
                insert_mean += mean / STAGES as f64;
                insert_most = insert_most.max(most);
                assert!(table.list.has_top_index(), "{order}: an index");
                let last = (stage + 1) * STAGE - 1;
                let passed = list::PASSED.with(std::cell::Cell::get);
                let (mean, most) = walks(100, |i| {
                    assert!(table.get_live(&key(order, last - i as u64)).is_some());
                });
                newest_mean += mean / STAGES as f64;
                newest_most = newest_most.max(most);
                // multi_get of the newest keys, 64 at a time: steps per key.
                let (mean, _) = walks(2, |b| {
                    let keys: Vec<[u8; 16]> = (0..64)
                        .map(|j| key(order, last - (b * 64 + j) as u64))
                        .collect();
                    let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
                    let mut hits = 0;
                    table.multi_get(&refs, |_, v| hits += usize::from(v.is_some()));
                    assert_eq!(hits, 64, "{order}: multi_get finds every newest key");
                });
                multi += mean / 64.0 / STAGES as f64;
                newest_passed += list::PASSED.with(std::cell::Cell::get) - passed;
            }
            let newest = (newest_mean, newest_most);
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            let mut rnd = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let anywhere = walks(1000, |_| {
                assert!(table.get_live(&key(order, rnd() % N)).is_some());
            });
            let absent = walks(1000, |_| {
                let mut k = key(order, rnd() % N);
                k[15] ^= 0x80;
                let _ = table.get_live(&k);
            });
            let means = [insert_mean, newest.0, anywhere.0, absent.0, multi];
            eprintln!(
                "{order}: steps per insert {insert_mean:.1} (most {insert_most}), per get of \
                 the newest {:.1} (most {}), of any key {:.1} (most {}), absent {:.1}, per \
                 key of a multi_get of the newest {multi:.1}; searches of the newest that \
                 passed the index by {newest_passed}",
                newest.0, newest.1, anywhere.0, anywhere.1, absent.0
            );
            let random: [f64; 5] = *random_means.get_or_insert(means);
            for (what, (m, r)) in ["insert", "newest", "any", "absent", "multi_get"]
                .iter()
                .zip(means.iter().zip(random))
            {
                // A search from the head passes about two nodes per level
                // (some 40 steps at 200k entries), and one that finds its
                // index gap filled gives the index up after INDEX_WALK
                // steps and takes that walk: up to some 50 (the newest
                // keys of "one range" measured 28 to 43 steps); the cliff
                // took hundreds.
                assert!(
                    *m <= 2.0 * r.max(25.0),
                    "{order}: {what}: {m:.1} steps per search, {r:.1} with random keys"
                );
            }
            assert!(
                insert_most < 400,
                "{order}: an insert walked {insert_most} steps"
            );
            if order == "ascending" || order == "descending" {
                // The thread's finger links each key next to the last one
                // without a search (a search from the head for each
                // descending key took 3.6 steps, and one from the index 15).
                assert!(
                    insert_mean < 2.0,
                    "{order}: {insert_mean:.1} steps per insert"
                );
                // The newest keys are in the top index, which takes in
                // the nodes linked at its level's ends: their searches
                // start there, as random keys' do (from the head at full
                // height they took 26 steps ascending, 17.6 descending,
                // against 11 for random keys; multi_get 20.6).
                // Every one of them starts from the index: the newest keys
                // past its last node too, when nothing follows that node on
                // its level (from the head, about one in 70 of them did,
                // and then took 26 steps: 12.5 per get of the hundred
                // newest ascending keys where random keys took 9.6).
                assert_eq!(
                    newest_passed, 0,
                    "{order}: searches of the newest keys passed the index by"
                );
                for (what, m, r) in [
                    ("get", newest.0, random[1]),
                    ("multi_get", multi, random[4]),
                ] {
                    assert!(
                        m <= 1.5 * r,
                        "{order}: {what} of the newest: {m:.1} steps, {r:.1} with random keys"
                    );
                }
            }
        }
    }

    /// Keys in runs that go up and down (descending runs of random
    /// length, then ascending ones, from random starts, some keys written
    /// again at later seqnos and some at equal ones), so that the thread's
    /// finger serves keys after and before the last one, stale or fresh:
    /// the table matches a model, version by version.
    #[test]
    fn fingers_in_both_directions_match_a_model() {
        let mut x = 0x1234_5678_9ABC_DEF1u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for table_kind in [Duplicates::Reject, Duplicates::LaterWins] {
            let table = SkipList::with_config(Config {
                duplicates: table_kind,
                ..Config::default()
            });
            let mut model: BTreeMap<(Vec<u8>, std::cmp::Reverse<u64>), Vec<u8>> = BTreeMap::new();
            let mut seqno = 1u64;
            while model.len() < 60_000 {
                let start = rnd() % 40_000;
                let len = 1 + rnd() % 64;
                let down = rnd() % 2 == 0;
                for i in 0..len {
                    let k = if down {
                        start.saturating_sub(i)
                    } else {
                        start + i
                    };
                    let key = [&b"row/"[..], &k.to_be_bytes()].concat();
                    // Now and then the same seqno as the last write.
                    let at = if rnd() % 16 == 0 { seqno } else { seqno + 1 };
                    seqno = at;
                    let value = rnd().to_le_bytes().to_vec();
                    let got = table.insert_at(&key, at, &value);
                    let slot = (key, std::cmp::Reverse(at));
                    if table_kind == Duplicates::Reject && model.contains_key(&slot) {
                        assert_eq!(got, Err(WriteAtError::Duplicate));
                    } else {
                        assert_eq!(got, Ok(()));
                        model.insert(slot, value);
                    }
                }
            }
            let got: Vec<_> = table
                .versions()
                .map(|v| {
                    (
                        (v.key.to_vec(), std::cmp::Reverse(v.seqno)),
                        v.value.unwrap().to_vec(),
                    )
                })
                .collect();
            let want: Vec<_> = model.into_iter().collect();
            assert!(
                got == want,
                "{table_kind:?}: the versions differ from the model"
            );
        }
    }

    /// Once the list is tall enough to have a top index, every search
    /// that starts from it (get, get_at, seek, seek_for_prev, multi_get,
    /// get_or_insert, and single inserts) agrees with a model, for keys
    /// present and absent, shorter and longer than a head, with several
    /// versions each.
    #[test]
    fn searches_from_the_top_index_match_a_model() {
        // Keys of 3 to 12 bytes over a small alphabet: many share heads.
        searches_match_a_model(|r| {
            let len = 3 + (r % 10) as usize;
            (0..len)
                .map(|i| b'a' + ((r >> (4 + 2 * i)) % 4) as u8)
                .collect()
        });
    }

    /// The same with long keys that share long prefixes (URL-like: a few
    /// hosts, a few paths, then an id), where the top index's heads tie
    /// and are told apart by the keys.
    #[test]
    fn searches_with_long_shared_prefixes_match_a_model() {
        searches_match_a_model(|r| {
            format!(
                "https://www.host{}.example/section/{}/item-{:x}",
                r % 3,
                (r >> 8) % 5,
                (r >> 16) % 3000
            )
            .into_bytes()
        });
    }

    fn searches_match_a_model(key: fn(u64) -> Vec<u8>) {
        let table = SkipList::new();
        let mut model: BTreeMap<Vec<u8>, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..40_000 {
            let k = key(next());
            let v = next().to_le_bytes().to_vec();
            let seqno = table.insert(&k, &v).unwrap();
            model.entry(k).or_default().push((seqno, v));
        }
        assert!(table.list.has_top_index(), "the list has a top index");
        fn newest(
            model: &BTreeMap<Vec<u8>, Vec<(u64, Vec<u8>)>>,
            k: &[u8],
            at: u64,
        ) -> Option<Vec<u8>> {
            model
                .get(k)
                .and_then(|vs| vs.iter().rev().find(|(s, _)| *s <= at))
                .map(|(_, v)| v.clone())
        }
        for _ in 0..20_000 {
            let k = key(next());
            assert_eq!(
                table.get_live(&k).map(<[u8]>::to_vec),
                newest(&model, &k, u64::MAX)
            );
            let at = next() % 40_001;
            assert_eq!(
                table.get_at(&k, at).flatten().map(<[u8]>::to_vec),
                newest(&model, &k, at),
                "get_at {k:?} {at}"
            );
            let mut c = table.cursor();
            let want = model.range(k.clone()..).next().map(|(k, _)| k.clone());
            assert_eq!(c.seek(&k).then(|| c.key().unwrap().to_vec()), want);
            let want = model
                .range(..=k.clone())
                .next_back()
                .map(|(k, _)| k.clone());
            assert_eq!(c.seek_for_prev(&k).then(|| c.key().unwrap().to_vec()), want);
        }
        for _ in 0..100 {
            let keys: Vec<Vec<u8>> = (0..150).map(|_| key(next())).collect();
            let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            let mut got = vec![None; keys.len()];
            table.multi_get(&refs, |i, v| got[i] = Some(v.map(<[u8]>::to_vec)));
            for (k, g) in keys.iter().zip(got) {
                assert_eq!(g, Some(newest(&model, k, u64::MAX)), "multi_get {k:?}");
            }
        }
        for _ in 0..2_000 {
            let k = key(next());
            let v = next().to_le_bytes().to_vec();
            match table.get_or_insert(&k, &v).unwrap() {
                GetOrInsert::Present(p) => {
                    assert_eq!(Some(p.to_vec()), newest(&model, &k, u64::MAX))
                }
                GetOrInsert::Inserted(seqno) => {
                    assert_eq!(newest(&model, &k, u64::MAX), None);
                    model.entry(k).or_default().push((seqno, v));
                }
            }
        }
        let all: Vec<(Vec<u8>, Vec<u8>)> = table
            .versions()
            .map(|v| (v.key.to_vec(), v.value.unwrap_or_default().to_vec()))
            .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = model
            .iter()
            .flat_map(|(k, vs)| vs.iter().rev().map(move |(_, v)| (k.clone(), v.clone())))
            .collect();
        assert_eq!(all, want, "every version in order");
    }

    /// Tall nodes come from the lanes' tall blocks with their values out of
    /// line in the plain blocks, every other node from the plain blocks
    /// with its value inline, and the blocks account for every byte.
    #[test]
    fn tall_nodes_are_packed_in_their_own_blocks() {
        let table = SkipList::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            table.insert(&x.to_be_bytes(), &[1; 12]).unwrap();
        }
        let arena = &table.list.arena;
        let (mut tall, mut short) = (0, 0);
        let mut n = table.list.first();
        while let Some(node) = n {
            let (own, value) = arena.footprint(node);
            if arena.height(node) >= TALL_HEIGHT {
                assert!(value > 0, "a tall node's value is out of line");
                tall += own;
                short += value;
            } else {
                assert_eq!(value, 0, "a short node's value is inline");
                short += own;
            }
            assert_eq!(arena.value(node), &[1; 12], "the value reads back");
            n = table.list.next(node);
        }
        let head = arena.footprint(table.list.head()).0;
        let tall_used: usize = table.lanes.iter().map(|l| l.tall.used()).sum();
        let short_used: usize = table.lanes.iter().map(|l| l.block.used()).sum();
        assert!(tall > 0, "some nodes are tall");
        assert_eq!(tall_used, tall);
        assert_eq!(short_used, short + head);
        assert_eq!(table.memory_used(), tall + short + head);
    }
}
