//! `ordex-persistent`: a path-copying persistent B+tree with RCU
//! snapshots, group commit, snapshot-isolated transactions and diffs.
//!
//! The table of a snapshot-isolated, read-mostly store: readers never
//! wait and never see a half-applied batch, a snapshot costs one
//! reference count, writers batch, and two versions compare in time
//! proportional to what changed.
//!
//! ```
//! use ordex_core::{OrderedIndex, Snapshot};
//! use ordex_persistent::{Change, PersistentBTree};
//!
//! let index = PersistentBTree::new();
//! index.insert(b"apple", b"red").unwrap();
//! let before = index.snapshot_owned(); // O(1): one reference
//! index.insert(b"banana", b"yellow").unwrap();
//! index.remove(b"apple").unwrap();
//!
//! assert!(before.contains(b"apple") && !index.contains(b"apple"));
//!
//! // A transaction reads its snapshot and its own writes.
//! let mut tx = index.begin();
//! tx.insert(b"cherry", b"dark red").unwrap();
//! assert!(tx.get_copied(b"cherry").is_some() && !index.contains(b"cherry"));
//! let seqno = tx.commit().unwrap();
//! assert_eq!(index.snapshot().seqno(), seqno);
//!
//! // What changed since `before`, skipping every subtree the versions share.
//! let mut changes = Vec::new();
//! before.diff(&index.snapshot_owned(), &mut |key, change| {
//!     changes.push((key.to_vec(), matches!(change, Change::Added(_))));
//!     true
//! });
//! assert_eq!(changes, [
//!     (b"apple".to_vec(), false),
//!     (b"banana".to_vec(), true),
//!     (b"cherry".to_vec(), true),
//! ]);
//! ```
//!
//! # How it works
//!
//! - **Nodes** ([`node`] module docs): B+tree nodes of up to
//!   [`LEAF_CAP`](node::LEAF_CAP) entries and
//!   [`INNER_CAP`](node::INNER_CAP) children, keys (and values, or an
//!   inner node's children) packed in one buffer per node, shared
//!   between versions through reference
//!   counts that change without locked instructions, under one lock per
//!   family of indexes that share nodes (see the `shared` module). Values
//!   longer than [`BIG_VALUE`](node::BIG_VALUE) bytes live out of line in
//!   an `Arc<[u8]>` of their own, so copying a leaf never copies them.
//! - **Writes** copy their root-to-leaf path (top-down, one pass, no
//!   recursion) and write in place the nodes the batch being built already
//!   copied (`Shared::make_mut`, a Clojure transient).
//! - **Publication**: the current version (root, height, length, seqno) is
//!   an `Arc` in an [`arc_swap`]-style cell (see the `publish` module for
//!   why arc-swap's guarantees fit). A point read loads it without taking
//!   a reference count and descends, allocating nothing; a snapshot is one
//!   `Arc` clone.
//! - **Group commit**: one writer applies at a time; concurrent writes
//!   queue and are applied as one batch on a private copy, published once,
//!   each with its own seqno in the order applied (see the `commit`
//!   module).
//! - **Node counts and freeing by version**: a node's count is held by
//!   the index's current tree and by what its batches retired, not by
//!   versions; a path copy *takes over* the references of the node it
//!   copies (touching none of its children's counts) and leaves it
//!   hollow for the old versions that read it, and each reference a
//!   batch gives up is *retired* with the range of versions that may
//!   still reach it (see the `shared` module). Counts change only under
//!   the family's lock, so they are plain loads and stores, not the
//!   locked read-modify-writes of `Arc`. Readers change no count.
//! - **Reclamation**: every version replaced by a publication goes to the
//!   writer's retired list; at each publication (and on
//!   [`reclaim`](PersistentBTree::reclaim)) the writer drops the retired
//!   versions whose last reference it holds and frees what the batches
//!   retired that no version left reaches. A reader or a snapshot
//!   dropping its reference never frees a node, so no reader pays for a
//!   cascade of frees (only the last snapshot of a dropped index frees
//!   what the index held); a snapshot keeps what it reaches alive, not
//!   what later batches retired. Freeing walks an explicit stack (no
//!   recursion, whatever the height).
//! - **Cuts and joins**: [`split_off`](PersistentBTree::split_off) cuts
//!   the tree along one root-to-leaf path and
//!   [`append`](PersistentBTree::append) grafts one tree onto the spine
//!   of another, both copying O(height) nodes and sharing every other
//!   subtree (an append whose keys interleave with the index's merges
//!   the overlap entry by entry); inner nodes count their entries, so
//!   both results know their length without counting (see the `split`
//!   module).
//! - **Versions**: [`snapshot_at`](PersistentBTree::snapshot_at) finds a
//!   version still alive (the last
//!   [`retain_versions`](Config::retain_versions) are kept, and pinned
//!   savepoints); [`diff`](PersistentSnapshot::diff) compares two versions
//!   skipping shared subtrees.
//!
//! # Promises
//!
//! - `insert`, `remove`, `insert_batch`, transaction commits,
//!   `split_off` and `append` are linearizable: each takes effect when the batch holding it is
//!   published, before the call returns. `get`, `scan` and cursors read
//!   one published version: live scans are exact for the version they
//!   load (stronger than the contract's weak consistency).
//! - A batch of `insert_batch`, a transaction's commit, a `split_off` and
//!   an `append` each take one seqno and appear at once (a `split_off`
//!   that moves nothing and an `append` of nothing take none).
//! - `get`, `scan`, `snapshot` and cursors never block and never wait for
//!   a writer; a point read writes no shared counter (the arc-swap debt
//!   slot is per thread). `savepoint`, `begin` and `snapshot_at` of a
//!   version in the window or a savepoint take a short lock; `stats`,
//!   `memory_usage`, `reclaim` and `snapshot_at` of another old version
//!   wait for the batch being applied.
//! - A write that returns `Err` changed nothing.
//! - Keys up to [`node::MAX_KEY_LEN`] bytes (`Error::KeyTooLarge`
//!   beyond); values of any length.
//! - If applying a batch panics (a bug), nothing of the batch is
//!   published, its callers panic with the leader, and the leadership
//!   passes on: later writers proceed, from the current version (the
//!   lost batch is undone, its nodes freed).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod buf;
mod bulk;
mod commit;
mod cursor;
mod diff;
mod edit;
mod fixed;
mod inner;
pub mod node;
mod pool;
mod publish;
mod shared;
mod split;
mod strings;
mod txn;
mod walk;

pub use bulk::LoadError;
pub use cursor::PersistentCursor;
pub use diff::Change;
pub use txn::Transaction;

#[doc(hidden)]
pub use shared::live_nodes;

use commit::{Batch, Op, Outcome, Queue, Submit};
use core::fmt;
use core::ops::Bound;
use edit::Tree;
use node::{Node, MAX_KEY_LEN, MAX_VALUE_LEN};
use ordex_core::mvcc::Pins;
use ordex_core::sync::{Arc, Mutex, MutexGuard};
use ordex_core::{deliver, Cursor, Error, Limits, OrderedIndex, Seqno, Snapshot};
use publish::Published;
use shared::{BatchScope, Family, Retired, Retiring, Shared, TreeAlias};
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashSet, VecDeque};
use txn::WriteLog;

/// Whether this backend is implemented (the facade's `IndexKind::available`
/// reads it).
pub const IMPLEMENTED: bool = true;

/// One published version: a tree and the seqno of its last write, the
/// family whose lock its nodes' counts change under, and what keeps its
/// nodes alive if its index goes first.
///
/// A version holds no count on its nodes: they are the index's (its
/// current tree's, or retired by the batches since, see
/// [`WriterState::sweep`]), and the index frees them only once no
/// version that reaches them is left. Dropping a version frees nothing.
pub(crate) struct Version {
    /// The tree, by aliases of the index's references.
    pub(crate) tree: TreeAlias,
    /// A prefetch hint for the root's buffer (see [`node::Child`]): a
    /// reader that finds a new version asks for the root and its buffer
    /// together, as a descent does for every level below.
    root_hint: node::Hint,
    pub(crate) seqno: Seqno,
    pub(crate) family: std::sync::Arc<Family>,
    _keep: std::sync::Arc<Keep>,
}

impl Version {
    /// A version of `tree` (the index's current tree, whose references
    /// stay the index's).
    pub(crate) fn new(
        tree: &Tree,
        seqno: Seqno,
        family: std::sync::Arc<Family>,
        keep: std::sync::Arc<Keep>,
    ) -> Self {
        Version {
            // The nodes live as long as this version: the index gives up a
            // reference only by retiring it, given up once no version that
            // may reach its node is left, and `keep` holds whatever the
            // index held when it was dropped.
            tree: TreeAlias::of(tree),
            root_hint: tree.root.as_ref().map_or(0, |r| r.hint()),
            seqno,
            family,
            _keep: keep,
        }
    }

    /// The value of `key` in this version.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let root = self.tree.root.as_ref()?;
        node::prefetch_node(root, self.root_hint);
        // SAFETY: a published version's tree, which no write changes
        // again, and whose batch refreshed every hint it changed.
        unsafe { edit::lookup_asked(root, key) }
    }
}

/// What an index held of its nodes when it was dropped, kept for the
/// versions (snapshots) that outlive it: freed, under the family's lock,
/// with the last of them.
pub(crate) struct Keep {
    family: std::sync::Arc<Family>,
    leftover: std::sync::Mutex<Option<Leftover>>,
}

/// The references an index held: its current tree and what its batches
/// retired.
struct Leftover {
    live: Tree,
    garbage: BTreeMap<Seqno, Vec<Garbage>>,
}

impl Keep {
    fn new(family: std::sync::Arc<Family>) -> std::sync::Arc<Keep> {
        std::sync::Arc::new(Keep {
            family,
            leftover: std::sync::Mutex::new(None),
        })
    }
}

impl Drop for Keep {
    fn drop(&mut self) {
        let leftover = self
            .leftover
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(leftover) = leftover {
            let _held = self.family.hold();
            drop(leftover);
        }
    }
}

/// How a [`PersistentBTree`] keeps old versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Config {
    /// How many versions before the current one stay reachable through
    /// [`snapshot_at`](PersistentBTree::snapshot_at) even when no snapshot
    /// holds them (default 0: only versions something else holds).
    pub retain_versions: usize,
}

/// The state only the group commit leader touches.
#[derive(Default)]
pub(crate) struct WriterState {
    /// The current tree: the index's references to its nodes (the
    /// published version reads it through aliases).
    live: Tree,
    /// Every replaced version that may still be referenced, oldest
    /// first.
    retired: Vec<Arc<Version>>,
    /// References the batches retired that a version still alive may
    /// reach, by the oldest such version.
    garbage: BTreeMap<Seqno, Vec<Garbage>>,
    /// Buffers kept for the next sweep and batch (empty).
    free: Vec<Garbage>,
    pub(crate) spare: Vec<Retiring>,
    /// A batch was lost to a panic: `live` may be hollow, and is made
    /// again from the current version before the next batch.
    broken: bool,
    /// Batches published so far.
    batches: u64,
    /// The memory of the nodes the writer freed, for the nodes its next
    /// batches make (see the `pool` module).
    pool: Option<Box<pool::Pool>>,
}

/// A reference a batch retired, and the versions that may reach its
/// value: `since..until`.
struct Garbage {
    since: Seqno,
    until: Seqno,
    reference: Retired,
}

impl WriterState {
    /// Drops the retired versions nothing else references (which frees
    /// nothing by itself), then gives up what the batches retired that
    /// no version left reaches: `new`, what the batch that started at
    /// version `base` retired (`None`: no batch), and what waited for a
    /// version that is gone now. `current` is the current version's
    /// seqno.
    ///
    /// What it frees goes to the writer's pool, which then gives back
    /// what it holds beyond what the batches need (see the `pool`
    /// module).
    fn sweep(
        &mut self,
        current: Seqno,
        family: &std::sync::Arc<Family>,
        index: u64,
        new: Option<(Seqno, Vec<Retiring>)>,
    ) {
        // Nothing else references them (the cell no longer holds them
        // and arc-swap paid its debts in `swap`), and the only way to a
        // new reference is this list, under this lock.
        self.retired.retain(|v| Arc::strong_count(v) > 1);
        let alive: SmallVec<[Seqno; 8]> = self
            .retired
            .iter()
            .map(|v| v.seqno)
            .chain(core::iter::once(current))
            .collect();
        let gone: SmallVec<[Seqno; 4]> = self
            .garbage
            .keys()
            .copied()
            .filter(|v| alive.binary_search(v).is_err())
            .collect();
        let (base, retired) = new.unwrap_or_default();
        if gone.is_empty() && retired.is_empty() {
            // Keep the batch's buffer for the next one.
            if retired.capacity() > self.spare.capacity() {
                self.spare = retired;
            }
            if let Some(pool) = &mut self.pool {
                pool.settle();
            }
            return;
        }
        let mut pool = self.pool.take().unwrap_or_default();
        let frees = retired.len()
            + gone
                .iter()
                .map(|v| self.garbage.get(v).map_or(0, Vec::len))
                .sum::<usize>();
        pool.keep_nodes(frees >= pool::NODES_FROM);
        let using = pool::Using::enter(pool);
        self.give_up(&alive, gone, base, retired, family, index);
        let mut pool = using.leave();
        pool.settle();
        self.pool = Some(pool);
    }

    /// The end of [`sweep`](Self::sweep), with the pool entered: gives
    /// up what the batch that started at `base` retired (`retired`) and
    /// what waited for the versions `gone`, or keeps it for the oldest
    /// version of `alive` that may reach it.
    fn give_up(
        &mut self,
        alive: &[Seqno],
        mut gone: SmallVec<[Seqno; 4]>,
        base: Seqno,
        mut retired: Vec<Retiring>,
        family: &std::sync::Arc<Family>,
        index: u64,
    ) {
        // Counts are read (to tell shared values) and changed under it.
        let held = family.hold();
        if gone.is_empty() && alive[0] > base {
            // No version up to `base` is left (the common case: nothing
            // holds the version this batch replaced): whatever the batch
            // retired goes now, and the references the nodes freed still
            // held go with them, level by level.
            let mut other = core::mem::take(&mut self.spare);
            while !retired.is_empty() {
                let scope = BatchScope::begin_with(&held, index, base, other);
                for r in retired.drain(..) {
                    drop(r.reference);
                }
                other = core::mem::replace(&mut retired, scope.finish());
            }
            self.spare = if other.capacity() >= retired.capacity() {
                other
            } else {
                retired
            };
            return;
        }
        // The oldest version alive that may reach `g`'s value, if any.
        // A value others hold too is handed to them with everything
        // under it when this reference goes, so then no version before
        // `until` may be left: one of them may read, in that subtree,
        // references a node took over from a hollow one.
        let pinned_by = |g: &Garbage| {
            let since = if g.reference.is_shared() { 0 } else { g.since };
            let i = alive.partition_point(|&v| v < since);
            alive.get(i).copied().filter(|&v| v < g.until)
        };
        let place = |g: Garbage,
                     garbage: &mut BTreeMap<Seqno, Vec<Garbage>>,
                     free: &mut Vec<Garbage>| match pinned_by(&g) {
            Some(v) => garbage.entry(v).or_default().push(g),
            None => free.push(g),
        };
        let mut free = core::mem::take(&mut self.free);
        for v in gone.drain(..) {
            for g in self.garbage.remove(&v).unwrap_or_default() {
                place(g, &mut self.garbage, &mut free);
            }
        }
        for r in retired.drain(..) {
            let g = Garbage {
                since: r.since,
                until: base + 1,
                reference: r.reference,
            };
            place(g, &mut self.garbage, &mut free);
        }
        let mut spare = retired;
        while let Some(until) = free.last().map(|g| g.until) {
            // Freeing a node that still held its children gives up its
            // references to them as its retirement did: versions before
            // `until` that reach a child (through a hollow node, whose
            // references this one had taken over) keep it.
            let scope = BatchScope::begin_with(&held, index, until - 1, spare);
            while free.last().is_some_and(|g| g.until == until) {
                drop(free.pop());
            }
            spare = scope.finish();
            for r in spare.drain(..) {
                let child = Garbage {
                    since: r.since,
                    until,
                    reference: r.reference,
                };
                place(child, &mut self.garbage, &mut free);
            }
        }
        self.free = free;
        self.spare = spare;
    }
}

/// What readers and transactions register.
#[derive(Default)]
pub(crate) struct Registry {
    /// The versions open transactions read.
    pins: Pins,
    /// Keys written while transactions are open.
    log: WriteLog,
    /// The last `retain_versions` replaced versions.
    window: VecDeque<Arc<Version>>,
    /// Pinned savepoints: version and how many times pinned.
    savepoints: BTreeMap<Seqno, (Arc<Version>, usize)>,
}

/// Locks, ignoring poisoning (every critical section leaves its data
/// consistent before anything that can panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A path-copying persistent B+tree behind the [`OrderedIndex`] contract
/// (see the [crate docs](crate)).
pub struct PersistentBTree {
    /// The lock the counts of this index's nodes change under (shared
    /// with the indexes cut from it; see the `shared` module).
    pub(crate) family: std::sync::Arc<Family>,
    /// Where the index's references go when it is dropped, for the
    /// versions that outlive it.
    keep: std::sync::Arc<Keep>,
    /// This index's id, for the nodes its batches make (see
    /// `shared::BatchScope`).
    pub(crate) id: u64,
    pub(crate) published: Published,
    pub(crate) queue: Mutex<Queue>,
    /// Whether a write may have queued since a leader last took the
    /// queue: read without the queue's lock, so that a lone writer's
    /// leader does not take the lock to find the queue empty. Set and
    /// cleared under the lock; a stale value only makes a leader skip
    /// the queue (what queued is then handed the lead) or look in vain.
    pub(crate) queued: ordex_core::sync::AtomicBool,
    pub(crate) writer: Mutex<WriterState>,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) config: Config,
    pub(crate) limits: Limits,
}

impl Drop for PersistentBTree {
    /// Frees what no version left reaches, and hands the rest (the
    /// current tree and what the batches retired) to the versions that
    /// outlive the index: the last of them frees it.
    fn drop(&mut self) {
        let current = self.published.load().seqno;
        let family = self.family.clone();
        let mut writer = lock(&self.writer);
        writer.sweep(current, &family, self.id, None);
        let leftover = Leftover {
            live: core::mem::take(&mut writer.live),
            garbage: core::mem::take(&mut writer.garbage),
        };
        if writer.broken {
            // The tree of a lost batch's base may be hollow: leak it.
            core::mem::forget(leftover.live);
            *lock_std(&self.keep.leftover) = Some(Leftover {
                live: Tree::default(),
                garbage: leftover.garbage,
            });
        } else {
            *lock_std(&self.keep.leftover) = Some(leftover);
        }
    }
}

/// Locks a std mutex, ignoring poisoning.
fn lock_std<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for PersistentBTree {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PersistentBTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.published.load();
        f.debug_struct("PersistentBTree")
            .field("seqno", &v.seqno)
            .field("len", &v.tree.len)
            .field("height", &v.tree.height)
            .field("config", &self.config)
            .finish()
    }
}

/// Figures about the versions an index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// The current version's seqno.
    pub seqno: Seqno,
    /// Entries in the current version.
    pub len: usize,
    /// Levels above the leaves in the current version.
    pub height: usize,
    /// Versions alive: the current one and every older one still
    /// referenced (by a snapshot, a transaction, a savepoint, the retention
    /// window, or awaiting the writer's next sweep).
    pub live_versions: usize,
    /// Versions kept by the retention window.
    pub retained_versions: usize,
    /// Pinned savepoints.
    pub savepoints: usize,
    /// Open transactions.
    pub open_transactions: usize,
    /// Batches the writers published (a group commit batch is one,
    /// however many writes it holds).
    pub batches: u64,
    /// Keys (and ranges, from `split_off` and `append`) in the
    /// transactions' write log.
    pub write_log: usize,
    /// Heap bytes of every node alive.
    pub bytes: usize,
    /// Heap bytes of the nodes the current version reaches.
    pub current_bytes: usize,
    /// Heap bytes of the nodes only older versions reach (what dropping
    /// every snapshot, savepoint and retained version would free).
    pub old_only_bytes: usize,
    /// Heap bytes the writer keeps of the nodes it freed, for the nodes
    /// of its next batches: at most what recent batches needed, and
    /// never more than 8 MiB.
    pub pooled_bytes: usize,
}

impl PersistentBTree {
    /// An empty index with the default [`Config`].
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// An empty index.
    pub fn with_config(config: Config) -> Self {
        Self::from_tree(Tree::default(), 0, Family::new(), config)
    }

    /// An index whose current tree is `tree` at seqno `seqno` (of the
    /// index's family: its own, or that of the index it was cut from).
    pub(crate) fn from_tree(
        tree: Tree,
        seqno: Seqno,
        family: std::sync::Arc<Family>,
        config: Config,
    ) -> Self {
        let keep = Keep::new(family.clone());
        let version = Version::new(&tree, seqno, family.clone(), keep.clone());
        PersistentBTree {
            family,
            keep,
            id: shared::index_id(),
            published: Published::new(Arc::new(version)),
            queue: Mutex::new(Queue::default()),
            queued: ordex_core::sync::AtomicBool::new(false),
            writer: Mutex::new(WriterState {
                live: tree,
                ..WriterState::default()
            }),
            registry: Mutex::new(Registry::default()),
            config,
            limits: Limits {
                max_key_len: MAX_KEY_LEN,
                max_value_len: MAX_VALUE_LEN,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> Config {
        self.config
    }

    /// The current version as an owned snapshot (one `Arc` clone; it may
    /// outlive the index).
    pub fn snapshot_owned(&self) -> PersistentSnapshot {
        PersistentSnapshot {
            version: self.published.load_full(),
        }
    }

    /// The version of seqno `seqno`, if it is still alive: the current
    /// one, one in the retention window, a savepoint, or one a snapshot or
    /// transaction still holds. `None` for a seqno inside a batch (the
    /// writes of a group commit batch are published together, so the
    /// states between them never existed as versions), or for a version
    /// already freed.
    pub fn snapshot_at(&self, seqno: Seqno) -> Option<PersistentSnapshot> {
        let current = self.published.load_full();
        if current.seqno == seqno {
            return Some(PersistentSnapshot { version: current });
        }
        {
            let registry = lock(&self.registry);
            if let Some((v, _)) = registry.savepoints.get(&seqno) {
                return Some(PersistentSnapshot { version: v.clone() });
            }
            if let Some(v) = registry.window.iter().find(|v| v.seqno == seqno) {
                return Some(PersistentSnapshot { version: v.clone() });
            }
        }
        let writer = lock(&self.writer);
        writer
            .retired
            .iter()
            .find(|v| v.seqno == seqno)
            .map(|v| PersistentSnapshot { version: v.clone() })
    }

    /// Pins the current version as a savepoint: it stays reachable through
    /// [`snapshot_at`](Self::snapshot_at) until
    /// [`release_savepoint`](Self::release_savepoint). Returns its seqno.
    pub fn savepoint(&self) -> Seqno {
        let mut registry = lock(&self.registry);
        let v = self.published.load_full();
        let s = v.seqno;
        registry.savepoints.entry(s).or_insert((v, 0)).1 += 1;
        s
    }

    /// Releases one pin of the savepoint at `seqno`; returns whether there
    /// was one.
    pub fn release_savepoint(&self, seqno: Seqno) -> bool {
        let mut registry = lock(&self.registry);
        match registry.savepoints.get_mut(&seqno) {
            Some((_, n)) => {
                *n -= 1;
                if *n == 0 {
                    registry.savepoints.remove(&seqno);
                }
                true
            }
            None => false,
        }
    }

    /// Begins a snapshot-isolated [`Transaction`] on the current version.
    pub fn begin(&self) -> Transaction<'_> {
        Transaction::begin(self)
    }

    /// Drops the old versions nothing references any more and frees the
    /// nodes that no version left reaches (the writer also does it at
    /// each publication). Waits for the writer of the moment.
    pub fn reclaim(&self) {
        let mut writer = lock(&self.writer);
        let current = self.published.load().seqno;
        writer.sweep(current, &self.family, self.id, None);
    }

    /// The seqno of the current version.
    pub fn seqno(&self) -> Seqno {
        self.published.load().seqno
    }

    /// What changed between the version at `seqno` and the current one
    /// (see [`PersistentSnapshot::diff`]); `None` if that version is no
    /// longer alive (see [`snapshot_at`](Self::snapshot_at)).
    pub fn changes_since(
        &self,
        seqno: Seqno,
        f: &mut dyn FnMut(&[u8], Change<'_>) -> bool,
    ) -> Option<usize> {
        let old = self.snapshot_at(seqno)?;
        Some(old.diff(&self.snapshot_owned(), f))
    }

    /// Figures about the versions held and their memory. Walks the nodes
    /// of every live version once (shared nodes once): O(nodes), for
    /// monitoring, not for hot paths.
    pub fn stats(&self) -> Stats {
        let (current, retired, batches, retained, savepoints, open, log, pooled) = {
            // Under the writer's lock no version is published or freed:
            // the current one and the retired list agree.
            let writer = lock(&self.writer);
            let registry = lock(&self.registry);
            (
                self.published.load_full(),
                writer.retired.clone(),
                writer.batches,
                registry.window.len(),
                registry.savepoints.len(),
                pins_count(&registry.pins),
                registry.log.len(),
                writer.pool.as_ref().map_or(0, |p| p.kept_bytes()),
            )
        };
        let mut seen = HashSet::new();
        let current_bytes = node_bytes(&current.tree, &mut seen);
        let mut old = 0;
        for v in retired.iter().filter(|v| !Arc::ptr_eq(v, &current)) {
            old += node_bytes(&v.tree, &mut seen);
        }
        let live_versions = 1 + retired.len();
        Stats {
            seqno: current.seqno,
            len: current.tree.len,
            height: current.tree.height,
            live_versions,
            retained_versions: retained,
            savepoints,
            open_transactions: open,
            batches,
            write_log: log,
            bytes: current_bytes + old,
            current_bytes,
            old_only_bytes: old,
            pooled_bytes: pooled,
        }
    }

    /// Removes `key`; returns the seqno of the removal, or `None` if the
    /// key was absent (which writes nothing and takes no seqno).
    pub fn delete(&self, key: &[u8]) -> Result<Option<Seqno>, Error> {
        self.limits.check_key(key)?;
        // A remove that finds nothing writes nothing: it is linearized at
        // this read of the current version.
        if self.published.load().get(key).is_none() {
            return Ok(None);
        }
        match self.write_one(Op::Remove(key)) {
            Outcome::Removed(r) => Ok(r),
            other => unreachable!("remove: {other:?}"),
        }
    }

    fn write_one(&self, op: Op<'_>) -> Outcome {
        self.submit(Submit::Borrowed(op))
    }

    /// Checks the structure of the current version: every invariant of
    /// the [`node`] module, the entry counts, and the length; and that
    /// the index's own tree is the one published, with no hollow node
    /// (see the `shared` module). Walks every node, waiting for the
    /// writer of the moment: for tests.
    #[doc(hidden)]
    pub fn check_structure(&self) -> Result<(), String> {
        let writer = lock(&self.writer);
        let current = self.published.load_full();
        edit::check_tree(&current.tree)?;
        if writer.broken {
            return Ok(());
        }
        let same = match (&writer.live.root, &current.tree.root) {
            (Some(a), Some(b)) => Shared::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        if !same {
            return Err("the published version is not the index's tree".into());
        }
        let mut stack: Vec<&Shared<Node>> = writer.live.root.iter().collect();
        while let Some(n) = stack.pop() {
            if Shared::is_hollow(n) {
                return Err("a hollow node in the current tree".into());
            }
            if let Node::Inner(i) = &**n {
                stack.extend(i.children().iter().map(|c| &c.node));
            }
        }
        Ok(())
    }
}

fn pins_count(pins: &Pins) -> usize {
    // `Pins` exposes no count; open transactions are tallied by walking
    // the oldest pins out of a copy.
    let mut copy = pins.clone();
    let mut n = 0;
    while let Some(o) = copy.oldest() {
        copy.unpin(o);
        n += 1;
    }
    n
}

/// Heap bytes of the nodes of `tree`, and of the out-of-line values they
/// hold, not yet in `seen` (adding them): what versions share is counted
/// once.
fn node_bytes(tree: &Tree, seen: &mut HashSet<*const u8>) -> usize {
    let mut bytes = 0;
    let mut stack: Vec<&Shared<Node>> = tree.root.iter().collect();
    while let Some(node) = stack.pop() {
        if !seen.insert(Shared::as_ptr(node).cast()) {
            continue;
        }
        bytes += node.heap_bytes();
        match &**node {
            Node::Inner(i) => stack.extend(i.children().iter().map(|c| &c.node)),
            Node::Leaf(l) => {
                for v in l.big_values() {
                    if seen.insert(std::sync::Arc::as_ptr(v).cast()) {
                        bytes += 2 * core::mem::size_of::<usize>() + v.len();
                    }
                }
            }
        }
    }
    bytes
}

impl OrderedIndex for PersistentBTree {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        self.limits.check(key, value)?;
        match self.write_one(Op::Insert(key, value)) {
            Outcome::Written(s) => Ok(s),
            other => unreachable!("insert: {other:?}"),
        }
    }

    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        Ok(self.delete(key)?.is_some())
    }

    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let v = self.published.load();
        deliver(v.get(key), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        let v = self.published.load();
        walk::scan_tree(v.tree.root.as_ref(), v.tree.height, from, to, f)
    }

    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(self.snapshot_owned())
    }

    fn cursor(&self) -> Box<dyn Cursor + '_> {
        Box::new(PersistentCursor::new(
            Some(self),
            self.published.load_full(),
        ))
    }

    /// Applies the whole batch at once with one seqno (returned), after
    /// checking every entry; later entries win over earlier ones with the
    /// same key.
    fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        for (k, v) in entries {
            self.limits.check(k, v)?;
        }
        match self.write_one(Op::Batch(Batch::Borrowed(entries))) {
            Outcome::Written(s) => Ok(s),
            other => unreachable!("insert_batch: {other:?}"),
        }
    }

    fn len(&self) -> usize {
        self.published.load().tree.len
    }

    /// The bytes of every node alive (the current version's and those only
    /// older versions still hold), plus the index itself. Walks the nodes:
    /// O(nodes).
    fn memory_usage(&self) -> usize {
        let stats = self.stats();
        core::mem::size_of::<Self>() + stats.bytes + stats.pooled_bytes
    }

    fn name(&self) -> &'static str {
        "persistent"
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}

/// A version of a [`PersistentBTree`]: an `Arc` of its root, so taking one
/// is O(1) and it may outlive the index. It sees exactly the writes up to
/// its [`seqno`](Snapshot::seqno).
#[derive(Clone)]
pub struct PersistentSnapshot {
    pub(crate) version: Arc<Version>,
}

impl fmt::Debug for PersistentSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentSnapshot")
            .field("seqno", &self.version.seqno)
            .field("len", &self.version.tree.len)
            .finish()
    }
}

impl PersistentSnapshot {
    /// Entries in this version.
    pub fn len(&self) -> usize {
        self.version.tree.len
    }

    /// Whether this version is empty.
    pub fn is_empty(&self) -> bool {
        self.version.tree.len == 0
    }

    /// A cursor over this version (no allocation).
    pub fn cursor_owned(&self) -> PersistentCursor<'static> {
        PersistentCursor::new(None, self.version.clone())
    }

    /// Checks the structure of this version (see
    /// [`PersistentBTree::check_structure`]). For tests.
    #[doc(hidden)]
    pub fn check_structure(&self) -> Result<(), String> {
        edit::check_tree(&self.version.tree).map(drop)
    }
}

impl Snapshot for PersistentSnapshot {
    fn seqno(&self) -> Seqno {
        self.version.seqno
    }

    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        deliver(self.version.get(key), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        let t = &self.version.tree;
        walk::scan_tree(t.root.as_ref(), t.height, from, to, f)
    }

    fn cursor(&self) -> Box<dyn Cursor + '_> {
        Box::new(self.cursor_owned())
    }
}
