//! `ordex-btree`: a concurrent B-link tree with optimistic lock coupling
//! and per-key version chains.
//!
//! [`BTree`] maps byte-string keys (memcmp order) to byte-string values,
//! implements [`OrderedIndex`], and is built after Leis et al.'s BTreeOLC
//! and Lehman–Yao's B-link tree:
//!
//! - **Readers never write shared memory.** Every node has a version word
//!   (lock bit, obsolete bit, counter: [`ordex_core::olc::VersionLock`]).
//!   A reader reads the version, reads the node through atomics, and
//!   validates (`fence(Acquire)` + version load); on a mismatch it
//!   restarts, and after a few restarts it yields its time slice instead of
//!   spinning, so a preempted writer on an oversubscribed machine is not
//!   starved. Counts read optimistically are clamped to the node capacity
//!   before use as indexes, and a pointer read from a node (key entry,
//!   high or low key) is dereferenced only after the node version has
//!   been validated (the epoch guard would keep it allocated anyway).
//! - **Writers latch only the node they change.** An insert or remove
//!   upgrades the leaf's version to the latch. A full node is half-split:
//!   under its own latch only, its upper half moves to a new right sibling
//!   that is linked in (right-link + high key) before the latch is
//!   released; the separator is installed in the parent afterwards, under
//!   the parent's latch alone. The parent is looked for where the write's
//!   descent went (a fixed array of the inner nodes it passed, on the
//!   stack), moving right if it split, or from the root if it is gone. Anyone whose key is above a node's high key
//!   moves right, so the tree is always searchable mid-split.
//! - **Prefix truncation.** Every node stores once the prefix that all
//!   keys of its range share (what its fence keys share: its length and
//!   first 8 bytes in the node, the rest in the fences), and its slot
//!   heads hold the bytes after it. Splits give each half the prefix of
//!   its new fences; a node whose range grows (a leaf taking over an
//!   emptied neighbour, an inner merge) cuts its prefix to what the wider
//!   range shares and re-encodes its heads under the same latch. The
//!   first and last node of a level (and the root), whose ranges are open
//!   at one end, take what their keys share instead, at most 8 bytes, and
//!   cut it when a key arrives that does not share it: ascending ids
//!   behind a fixed prefix differ in their heads there too.
//! - **Small keys and values live in the leaf.** A slot is an 8-byte
//!   big-endian head of the key after the node's prefix, a 2-byte length
//!   class and one word. A key of at most 8 bytes is entirely in the
//!   node's prefix and its head (heads and lengths order such keys
//!   exactly, so comparisons with them never leave the node); a value
//!   of at most 8 bytes is the word itself when no live snapshot needs an
//!   older version. **Longer entries are packed in the leaf's block**:
//!   an entry whose key and value take up to 256 bytes, with no older
//!   version a snapshot needs, is an item (lengths, key, value) in one
//!   append-only allocation per leaf, which a writer repacks into a new
//!   block (live items only, in key order) when it is full and at every
//!   split, retiring the old one through the epoch: a scan reads a leaf's
//!   entries from a few contiguous lines, and a load allocates per leaf,
//!   not per key. Otherwise (a snapshot needs older versions, or the
//!   entry is larger) the word points to the key's **version chain** of
//!   immutable records (seqno, bytes, older version), and a longer key
//!   is an immutable out-of-line entry whose allocation also holds the
//!   key's first version; the next write or sweep with no snapshot left
//!   packs it again. u64 → u64 trees take about 30 bytes per entry after
//!   random inserts. A
//!   node is searched with a branch-free lower bound over its heads (the
//!   same steps whatever the keys, so no mispredicted branches), then a
//!   short forward scan over slots whose heads tie.
//! - **Results are [`Bytes`]**: borrowed from an immutable record or a
//!   leaf's block under a crossbeam-epoch guard (zero copy), or copied
//!   out of the node for
//!   in-slot keys and values (at most 8 bytes, a register's worth). No
//!   allocation either way.
//!
//! # Synchronization protocols
//!
//! The node latch is a type parameter, `BTree<L: Latch = Optimistic, const
//! N: usize = 64>`, with the contract stated on the `unsafe trait`
//! [`Latch`] (see the [`latch`] module). One node layout and one set of
//! code paths (descent with move-right, half-split, unlink, scans) run
//! under three protocols:
//!
//! - [`Optimistic`] (the default, described above): version words,
//!   readers validate instead of latching. `BTree` with no parameters is
//!   this one; the abstraction costs it nothing measurable (see
//!   `docs/techniques.md` for the side-by-side measurement).
//! - [`LockCoupling`]: a reader-writer latch per node, taken
//!   hand-over-hand; writers descend with shared latches and take the
//!   node they modify exclusively.
//! - [`GlobalLock`]: one reader-writer lock around the tree, the naive
//!   baseline.
//!
//! All three pass the ordex conformance suite. Restarts and lock waits
//! are counted per thread ([`contention`]) on the slow paths only. The
//! guarantees below hold for every protocol; with `GlobalLock`, writes
//! also exclude each other and readers, and `update`'s closure runs
//! under the tree lock. `index-bench techniques` compares them
//! (`docs/techniques.md`).
//!
//! ```
//! use ordex_btree::{BTree, GlobalLock, LockCoupling};
//! use ordex_core::{OrderedIndex, OrderedIndexExt};
//!
//! let coupled: BTree<LockCoupling> = BTree::new();
//! let global: BTree<GlobalLock> = BTree::new();
//! coupled.insert(b"k", b"v").unwrap();
//! global.insert(b"k", b"v").unwrap();
//! assert_eq!(coupled.get_copied(b"k"), global.get_copied(b"k"));
//! ```
//!
//! # Guarantees
//!
//! - `insert`, `remove` and `get` (trait and typed) are **linearizable**.
//!   A write linearizes when it installs its version under the leaf latch;
//!   a read at its final successful validation. Writes to one key take
//!   effect in seqno order; a write's seqno is above that of every write
//!   that completed before it started.
//! - A **snapshot** ([`BTree::snapshot_ref`], or the trait's `snapshot`)
//!   pins a seqno `s` once every write at or below `s` is complete, and
//!   sees exactly those writes for as long as it lives. Snapshot gets and
//!   scans are exact.
//! - **Live scans are weakly consistent**: keys come strictly ascending,
//!   never twice; each entry passed on was present at some moment during
//!   the scan; a key present throughout the scan is seen. A scan copies
//!   each leaf (its slots: heads, length classes, value words or record
//!   pointers; its fence keys, as references, and right-link) into a
//!   buffer inside the iterator, validates the copy, resolves each entry
//!   to its key and its value at the reader's seqno (dropping keys with
//!   none there), hands the entries on, and continues along the
//!   right-link. Both bounds are checked per leaf rather than per entry,
//!   with the same result, since a validated copy is strictly ascending:
//!   entries at or below the start bound (or the last key handed on) are
//!   skipped from the front, and a binary search cuts the copy at the end
//!   bound; a leaf's high key bytes are read only against an end bound.
//! - **No heap allocation** in `get`, `get_ref`, scans, cursor steps or
//!   snapshot reads (checked by the conformance suite's counting
//!   allocator and by `index-bench btree`). The only
//!   allocation on a read path is crossbeam-epoch's one-time registration
//!   of a new thread.
//! - **Memory**: a superseded version is retired (crossbeam-epoch) as soon
//!   as no live snapshot can see it — with no snapshot alive every chain
//!   has length one — and a removed key's entry and versions are retired at
//!   once when no snapshot can see them. A leaf emptied by a remove is
//!   unlinked (PostgreSQL style: under the latches of its left sibling,
//!   itself and its parent, the left sibling takes its range and
//!   right-link over and the parent drops it; the leaf is marked obsolete,
//!   so optimistic readers that reach it restart, and is retired); so is a
//!   leaf whose last tombstones a sweep removes. The parent that lost a
//!   child, once under a quarter full, merges with a sibling under the
//!   same parent (under the latches of the two and their parent; the
//!   children keep their fences and links, so no level below changes) if
//!   the result is at most three quarters full, and so on upwards; an
//!   empty leaf that a merge turned from a first child into a later one
//!   is unlinked then; and while the root has a single child, the child
//!   becomes the root. A tree that had 1M keys inserted and removed is
//!   back to one leaf (`index-bench btree`). Retired
//!   memory is freed once every guard pinned before the retirement is
//!   gone. Dropping a `BTree` frees
//!   every node, and then drives the epoch until the garbage it retired is
//!   freed (it gives up, leaving the rest to crossbeam's collector, if
//!   another thread keeps a guard pinned). [`memory_usage`] counts nodes,
//!   leaves' blocks, keys, versions and garbage not yet freed.
//! - Keys and values of any length are accepted (entries of more than
//!   256 bytes are stored out of line); `limits()` is unbounded.
//! - Unwinding: node latches are released by a drop guard, so a panic in
//!   an allocation under a latch does not leave a node locked. A write
//!   takes its seqno under its leaf's latch and the seqno is visible at
//!   once (the clock is latched: readers of the leaf wait for the latch,
//!   see `ordex_core::mvcc::Clock::latched`), so a write stopped between
//!   its take and the latch's release would leave its seqno visible with
//!   the write half done; the only such point is an out-of-memory abort,
//!   which ends the process.
//!
//! # Reading and loading
//!
//! - [`BTree::get_ref`] (guard-bound [`Bytes`]), [`BTree::range`] (a
//!   double-ended iterator: `next` and `next_back` meet without overlap),
//!   [`BTree::range_rev`], [`BTree::first`] / [`BTree::last`], and a
//!   bidirectional [`Cursor`] ([`BTree::cursor`]: `seek`,
//!   `seek_for_prev`, `first`, `last`, `next`, `prev`). The same
//!   on a snapshot, exactly. Scans and cursors copy one leaf at a time into
//!   a buffer inside the iterator; no step allocates.
//! - [`BTree::from_sorted`] bulk loads in O(n) with full leaves, filling
//!   the leaves in parallel (rayon) from 65 536 entries.
//! - Writes beyond the trait: [`BTree::put`] / [`BTree::delete`] return
//!   the seqno, [`BTree::replace`] also the value it superseded,
//!   [`BTree::update`] is an atomic read-modify-write, and
//!   [`BTree::remove_range`] removes a range key by key.
//!
//! # Not done yet (see issue 5)
//!
//! - Packed entries live in a block beside the leaf (one allocation per
//!   leaf, its items whole keys), not in a slotted leaf whose slots and
//!   key suffixes share the node's own space as LeanStore's do; the slot
//!   arrays are fixed at `N`, so a half-full leaf wastes half of them.
//!   Heads are 8 bytes rather than LeanStore's 4: they hold a whole u64
//!   key and decide every comparison with one. Inner nodes keep no low
//!   fence, so the left half of an inner split keeps its old prefix
//!   (valid, possibly shorter than what its narrower range shares). Node
//!   size is a const generic (`N` slots, default 64); `index-bench btree`
//!   sweeps 16 to 256 slots (352 B to 4.6 KiB).
//! - Shrinking is best effort: an unlink or merge gives up after a few
//!   restarts under latch contention (the next remove that empties a
//!   leaf there tries again); the leftmost leaf, and a first child whose
//!   parent does not merge, stay; non-empty leaves are not merged.
//! - Versions kept for snapshots are trimmed by the next write to their
//!   key, or by a sweep of all leaves when the last snapshot goes and at
//!   least 64 kept versions (and a quarter of the live key count) have
//!   piled up; below that threshold they wait for the next write. A long
//!   key's embedded first version, once superseded, stays allocated with
//!   its entry.
//! - `remove_range` is a loop of single removes (not atomic as a whole).
//! - Performance: see the repository's `docs/btree.md` for the measured
//!   tables (`index-bench` against `scc::TreeIndex<u64, u64>`,
//!   `scc::TreeIndex<Vec<u8>, Vec<u8>>`, `RwLock<BTreeMap>` and
//!   crossbeam-skiplist, and `index-bench btree`), each with its command
//!   and commit, and for the open work. Ratios move by up to a quarter
//!   from run to run on a small shared machine.
//!
//! ```
//! use ordex_btree::BTree;
//! use ordex_core::{OrderedIndex, OrderedIndexExt, Snapshot};
//!
//! let tree: BTree = BTree::new();
//! tree.insert(b"apple", b"red").unwrap();
//! let snap = tree.snapshot();
//! tree.insert(b"apple", b"green").unwrap();
//! assert_eq!(tree.get_copied(b"apple").as_deref(), Some(&b"green"[..]));
//! assert_eq!(snap.get_copied(b"apple").as_deref(), Some(&b"red"[..]));
//!
//! // Zero-copy, under a guard that can serve many calls.
//! let guard = ordex_btree::pin();
//! assert_eq!(tree.get_ref(b"apple", &guard).as_deref(), Some(&b"green"[..]));
//! ```
//!
//! [`memory_usage`]: OrderedIndex::memory_usage
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod bytes;
mod cursor;
pub mod latch;
mod leaves;
mod node;
mod pinned;
mod range;
mod tree;

use crossbeam_epoch as epoch;
use ordex_core::{deliver, Error, OrderedIndex, Seqno, Snapshot};
use std::fmt;
use std::ops::Bound;
use tree::Tree;

pub use bytes::Bytes;
pub use crossbeam_epoch::Guard;
pub use cursor::Cursor;
pub use latch::{contention, Contention, GlobalLock, Latch, LockCoupling, Optimistic};
pub use range::{Range, RevRange};

/// Whether this backend is implemented (the facade's `IndexKind::available`
/// reads it).
pub const IMPLEMENTED: bool = true;

/// The size in bytes of one leaf of a `BTree<L, N>` (inner nodes add an
/// array of `N` separator pointers), for node-size studies.
pub fn node_bytes<L: Latch, const N: usize>() -> usize {
    node::leaf_bytes::<L, N>()
}

/// Pins the current thread to crossbeam-epoch: values borrowed under the
/// guard ([`BTree::get_ref`]) stay valid until it is dropped. One guard can
/// serve many calls; keep it short-lived, as it holds back reclamation.
pub fn pin() -> Guard {
    epoch::pin()
}

/// A concurrent, versioned B-link tree with `N` slots per node (default
/// 64; `4..=1024`, checked at compile time), synchronized by the protocol
/// `L` (default [`Optimistic`]; see [`Latch`]). See the [crate
/// docs](crate) for the guarantees.
pub struct BTree<L: Latch = Optimistic, const N: usize = 64> {
    tree: Tree<L, N>,
}

impl<L: Latch, const N: usize> fmt::Debug for BTree<L, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BTree")
            .field("protocol", &L::NAME)
            .field("slots_per_node", &N)
            .field("len", &self.tree.len())
            .finish()
    }
}

impl<L: Latch, const N: usize> Default for BTree<L, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: Latch, const N: usize> BTree<L, N> {
    /// An empty tree.
    pub fn new() -> Self {
        BTree { tree: Tree::new() }
    }

    /// Bulk load: builds the tree bottom-up with full nodes in O(n) from
    /// entries in ascending key order, giving them seqnos `1..=n` in input
    /// order. Entries out of order (or repeating a key) are not refused:
    /// they are upserted after the build, in input order, as by
    /// [`put`](Self::put).
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// let tree: ordex_btree::BTree = ordex_btree::BTree::from_sorted(
    ///     (0u32..10_000).map(|i| (i.to_be_bytes(), i.to_le_bytes())),
    /// );
    /// assert_eq!(tree.len(), 10_000);
    /// assert_eq!(tree.last_seqno(), 10_000);
    /// assert_eq!(tree.get_copied(&7u32.to_be_bytes()).as_deref(), Some(&7u32.to_le_bytes()[..]));
    /// ```
    pub fn from_sorted<I, K, V>(entries: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]> + Sync,
        V: AsRef<[u8]> + Sync,
    {
        BTree {
            tree: Tree::from_entries(entries.into_iter()),
        }
    }

    /// The value of `key`: borrowed from its immutable version record or
    /// its leaf's block for as long as `guard` lives, or, for a value of
    /// at most 8 bytes stored in the leaf slot, copied out (see
    /// [`Bytes`]). Linearizable; no allocation.
    pub fn get_ref<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Option<Bytes<'g>> {
        self.tree.get(key, None, guard)
    }

    /// Upserts; returns the seqno of the write. Never fails (keys and
    /// values of any size are accepted).
    pub fn put(&self, key: &[u8], value: &[u8]) -> Seqno {
        self.tree.insert(key, value)
    }

    /// Upserts and returns the value it replaced (None if the key was
    /// absent or removed), read under the leaf latch: exactly the version
    /// this write superseded. The old value stays valid while `guard`
    /// lives, like any value borrowed under it.
    ///
    /// ```
    /// let tree: ordex_btree::BTree = ordex_btree::BTree::new();
    /// let guard = ordex_btree::pin();
    /// assert_eq!(tree.replace(b"k", b"one", &guard).1, None);
    /// let (_, old) = tree.replace(b"k", b"two", &guard);
    /// assert_eq!(old.as_deref(), Some(&b"one"[..]));
    /// ```
    pub fn replace<'g>(
        &'g self,
        key: &[u8],
        value: &[u8],
        guard: &'g Guard,
    ) -> (Seqno, Option<Bytes<'g>>) {
        self.tree.insert_with(key, value, guard, true)
    }

    /// Removes `key`; returns the seqno of the write if a live value was
    /// removed (an absent key consumes no seqno).
    pub fn delete(&self, key: &[u8]) -> Option<Seqno> {
        self.tree.remove(key)
    }

    /// An ascending iterator over the live entries within the bounds, with
    /// keys and values borrowed under `guard`. Weakly consistent like
    /// [`scan`](OrderedIndex::scan); no allocation (the current leaf is
    /// copied into a buffer inside the iterator).
    ///
    /// ```
    /// use std::ops::Bound;
    /// let tree: ordex_btree::BTree = ordex_btree::BTree::new();
    /// for k in [b"a", b"b", b"c"] {
    ///     tree.put(k, b"v");
    /// }
    /// let guard = ordex_btree::pin();
    /// let keys: Vec<Vec<u8>> = tree
    ///     .range(Bound::Excluded(b"a"), Bound::Unbounded, &guard)
    ///     .map(|(k, _)| k.to_vec())
    ///     .collect();
    /// assert_eq!(keys, [b"b", b"c"]);
    /// ```
    pub fn range<'g>(
        &'g self,
        from: Bound<&'g [u8]>,
        to: Bound<&'g [u8]>,
        guard: &'g Guard,
    ) -> Range<'g, L, N> {
        self.tree.range(from, to, None, guard)
    }

    /// A descending iterator over the live entries within the bounds
    /// (same consistency as [`range`](Self::range)); it descends once per
    /// leaf, to the leaf below the previous one's low fence key.
    ///
    /// ```
    /// use std::ops::Bound;
    /// let tree: ordex_btree::BTree = ordex_btree::BTree::new();
    /// for k in [b"a", b"b", b"c"] {
    ///     tree.put(k, b"v");
    /// }
    /// let guard = ordex_btree::pin();
    /// let keys: Vec<Vec<u8>> = tree
    ///     .range_rev(Bound::Unbounded, Bound::Excluded(b"c"), &guard)
    ///     .map(|(k, _)| k.to_vec())
    ///     .collect();
    /// assert_eq!(keys, [b"b", b"a"]);
    /// let (k, v) = tree.last(&guard).unwrap();
    /// assert_eq!((&*k, &*v), (&b"c"[..], &b"v"[..]));
    /// ```
    pub fn range_rev<'g>(
        &'g self,
        from: Bound<&'g [u8]>,
        to: Bound<&'g [u8]>,
        guard: &'g Guard,
    ) -> RevRange<'g, L, N> {
        self.tree.range_rev(from, to, None, guard)
    }

    /// A bidirectional cursor over the live tree (unpositioned: call a
    /// `seek` first). See [`Cursor`].
    pub fn cursor<'g>(&'g self, guard: &'g Guard) -> Cursor<'g, L, N> {
        Cursor::new(&self.tree, None, guard)
    }

    /// The smallest live entry.
    pub fn first<'g>(&'g self, guard: &'g Guard) -> Option<(Bytes<'g>, Bytes<'g>)> {
        self.range(Bound::Unbounded, Bound::Unbounded, guard).next()
    }

    /// The largest live entry.
    pub fn last<'g>(&'g self, guard: &'g Guard) -> Option<(Bytes<'g>, Bytes<'g>)> {
        self.range_rev(Bound::Unbounded, Bound::Unbounded, guard)
            .next()
    }

    /// Atomic read-modify-write of one key: `f` gets the current value
    /// and returns the new one (`None` removes the key). Returns the seqno
    /// of the write, or `None` if nothing was written (`f` returned `None`
    /// for an absent key). Linearizable.
    ///
    /// `f` runs exactly once, while the key's leaf latch is held: keep it
    /// short, and do not touch this tree from it (that would deadlock).
    ///
    /// ```
    /// let tree: ordex_btree::BTree = ordex_btree::BTree::new();
    /// let add = |old: Option<&[u8]>| {
    ///     let n = old.map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()));
    ///     Some((n + 1).to_be_bytes().to_vec())
    /// };
    /// tree.update(b"counter", add);
    /// tree.update(b"counter", add);
    /// let guard = ordex_btree::pin();
    /// assert_eq!(tree.get_ref(b"counter", &guard).as_deref(), Some(&2u64.to_be_bytes()[..]));
    /// ```
    pub fn update<F>(&self, key: &[u8], f: F) -> Option<Seqno>
    where
        F: FnOnce(Option<&[u8]>) -> Option<Vec<u8>>,
    {
        self.tree.update(key, f)
    }

    /// Removes every live key within the bounds; returns how many were
    /// removed. Each key is removed atomically, the range as a whole is
    /// not: a key inserted into the range concurrently may survive.
    /// Allocates (it collects keys in batches of 256).
    pub fn remove_range(&self, from: Bound<&[u8]>, to: Bound<&[u8]>) -> usize {
        const BATCH: usize = 256;
        let mut removed = 0;
        let mut last: Option<Vec<u8>> = None;
        loop {
            let mut batch: Vec<Vec<u8>> = Vec::new();
            let lo = match &last {
                Some(k) => Bound::Excluded(&k[..]),
                None => from,
            };
            self.tree.scan(lo, to, None, &mut |k, _| {
                batch.push(k.to_vec());
                batch.len() < BATCH
            });
            for k in &batch {
                removed += usize::from(self.tree.remove(k).is_some());
            }
            if batch.len() < BATCH {
                return removed;
            }
            last = batch.pop();
        }
    }

    /// A typed snapshot (the trait's `snapshot` boxes it).
    pub fn snapshot_ref(&self) -> BTreeSnapshot<'_, L, N> {
        BTreeSnapshot {
            tree: &self.tree,
            seqno: self.tree.snapshot_begin(),
        }
    }

    /// The newest seqno all of whose writes are complete.
    pub fn last_seqno(&self) -> Seqno {
        self.tree.last_visible()
    }

    /// Checks the tree's structure; meaningful only while no writer is
    /// active (for tests). With `no_snapshot`, also checks that every
    /// version chain has length one.
    #[doc(hidden)]
    pub fn check_invariants(&self, no_snapshot: bool) -> Result<(), String> {
        self.tree.check_invariants(no_snapshot)
    }

    /// The number of leaves (for tests; meaningful while no writer is
    /// active).
    #[doc(hidden)]
    pub fn leaf_count(&self) -> usize {
        self.tree.leaf_count()
    }

    /// The prefix length of every node, level by level from the root,
    /// each level left to right (for tests and benchmarks; meaningful
    /// while no writer is active): how many leading bytes each node
    /// stores once instead of in its slot heads.
    #[doc(hidden)]
    pub fn prefix_lens(&self) -> Vec<Vec<usize>> {
        self.tree.prefix_lens()
    }

    /// Retirements whose deferred free has not run yet (for tests and
    /// benchmarks: garbage stays bounded under steady load).
    pub fn pending_garbage(&self) -> usize {
        self.tree.account().pending()
    }
}

impl<L: Latch, const N: usize> Drop for BTree<L, N> {
    fn drop(&mut self) {
        // Nodes are freed by the tree's root (with `&mut`, nobody else is
        // here). Garbage retired earlier sits in crossbeam-epoch's queues:
        // drive the epoch until it has run (see `Account::drain`).
        self.tree.account().drain();
    }
}

impl<L: Latch, const N: usize> OrderedIndex for BTree<L, N> {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        Ok(self.tree.insert(key, value))
    }

    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        Ok(self.tree.remove(key).is_some())
    }

    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let guard = &epoch::pin();
        deliver(self.tree.get(key, None, guard).as_deref(), f)
    }

    #[inline(always)]
    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        self.tree.scan(from, to, None, f)
    }

    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(self.snapshot_ref())
    }

    /// Pins its own epoch guard for as long as it lives (one allocation:
    /// the box holds the cursor and the guard).
    fn cursor(&self) -> Box<dyn ordex_core::Cursor + '_> {
        pinned::boxed(&self.tree, None)
    }

    fn len(&self) -> usize {
        self.tree.len()
    }

    fn memory_usage(&self) -> usize {
        core::mem::size_of::<Self>() + self.tree.account().bytes()
    }

    fn name(&self) -> &'static str {
        "btree"
    }
}

/// A point-in-time view of a [`BTree`]: it sees exactly the writes with
/// seqno at or below [`Snapshot::seqno`]. While it lives, the versions it
/// can see are kept; dropping it lets later writes trim them.
pub struct BTreeSnapshot<'a, L: Latch = Optimistic, const N: usize = 64> {
    tree: &'a Tree<L, N>,
    seqno: Seqno,
}

impl<L: Latch, const N: usize> fmt::Debug for BTreeSnapshot<'_, L, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BTreeSnapshot")
            .field("seqno", &self.seqno)
            .finish()
    }
}

impl<'a, L: Latch, const N: usize> BTreeSnapshot<'a, L, N> {
    /// An ascending iterator over this snapshot's entries within the
    /// bounds (exact), borrowed under `guard`.
    pub fn range<'g>(
        &'g self,
        from: Bound<&'g [u8]>,
        to: Bound<&'g [u8]>,
        guard: &'g Guard,
    ) -> Range<'g, L, N> {
        self.tree.range(from, to, Some(self.seqno), guard)
    }

    /// A descending iterator over this snapshot's entries within the
    /// bounds (exact), borrowed under `guard`.
    pub fn range_rev<'g>(
        &'g self,
        from: Bound<&'g [u8]>,
        to: Bound<&'g [u8]>,
        guard: &'g Guard,
    ) -> RevRange<'g, L, N> {
        self.tree.range_rev(from, to, Some(self.seqno), guard)
    }

    /// A bidirectional cursor over this snapshot (exact). See [`Cursor`].
    pub fn cursor<'g>(&'g self, guard: &'g Guard) -> Cursor<'g, L, N> {
        Cursor::new(self.tree, Some(self.seqno), guard)
    }

    /// The value of `key` in this snapshot, borrowed under `guard` (or
    /// copied, see [`BTree::get_ref`]).
    pub fn get_ref<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Option<Bytes<'g>> {
        self.tree.get(key, Some(self.seqno), guard)
    }
}

impl<L: Latch, const N: usize> Drop for BTreeSnapshot<'_, L, N> {
    fn drop(&mut self) {
        self.tree.snapshot_end(self.seqno);
    }
}

impl<L: Latch, const N: usize> Snapshot for BTreeSnapshot<'_, L, N> {
    fn seqno(&self) -> Seqno {
        self.seqno
    }

    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let guard = &epoch::pin();
        deliver(self.tree.get(key, Some(self.seqno), guard).as_deref(), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        self.tree.scan(from, to, Some(self.seqno), f)
    }

    /// Pins its own epoch guard (see [`OrderedIndex::cursor`]).
    fn cursor(&self) -> Box<dyn ordex_core::Cursor + '_> {
        pinned::boxed(self.tree, Some(self.seqno))
    }
}
