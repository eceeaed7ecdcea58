//! `ordex-art`: a concurrent adaptive radix tree (ART) over any byte keys,
//! with path compression, optimistic lock coupling and per-key version
//! chains.
//!
//! [`Art`] maps byte-string keys (memcmp order) to byte-string values and
//! implements [`OrderedIndex`]. It follows Leis, Kemper and Neumann's ART
//! (ICDE 2013) and its synchronization by optimistic lock coupling (Leis
//! et al., DaMoN 2016):
//!
//! - **Nodes adapt to their fan-out**: Node4, Node16 and Node32 (sorted
//!   key bytes; Node16 and Node32 searched 16 at a time with SSE2 behind
//!   one choice point, a portable loop elsewhere), Node48 (a 256-byte index
//!   into 48 slots) and Node256 (a direct array). A node grows when full
//!   and shrinks (with hysteresis) as it empties; a node left with one
//!   entry collapses into its parent.
//! - **Runs at the bottom**: keys that meet with tails of different
//!   lengths (words) or longer than a slot's inline entry (URLs) go into
//!   a *run*, a node of up to 4, 16, 32 or 64 entries in key order under
//!   their tails (4-byte heads searched first), which a scan reads in one
//!   pass and which holds tails of up to 10 bytes inline, and longer keys
//!   whole with their values in its own area (*packed entries*, records
//!   of up to 252 bytes, no allocation of their own); a full run of 64
//!   bursts into a node by byte over smaller runs. Keys of one width
//!   (integers) meet in a Node4 instead.
//! - **Lazy expansion and path compression**: a subtree with one key is
//!   that key's leaf, placed where the key first differs from the others;
//!   a chain of one-child nodes is one node with a compressed path.
//!   Compression is hybrid: a node stores the path's length and its first
//!   16 bytes; lookups skip the rest and compare the whole key at the leaf,
//!   inserts and seeks read it from a leaf below the node.
//! - **Any byte string is a key**, the empty one included, and keys may be
//!   prefixes of each other: the key that ends at a node is held by that
//!   node (its *end leaf*) and sorts before its children. No terminator
//!   byte is imposed on the user.
//! - **Readers never write shared memory**: every node has a version word
//!   ([`ordex_core::olc::VersionLock`]); a reader reads fields through
//!   atomics and validates the version before following a pointer or
//!   acting on what it read, restarting (with backoff) on a mismatch.
//!   Writers upgrade the version they read to the latch of the node they
//!   change (and of its parent when the node is replaced), never waiting
//!   for a latch. Replaced nodes, unlinked leaves and trimmed versions are
//!   retired through crossbeam-epoch ([`ordex_core::reclaim`]).
//! - **Versions and snapshots** ([`ordex_core::mvcc`]): a leaf heads a
//!   chain of immutable versions, newest first, the first embedded in the
//!   leaf's own allocation (one allocation and one miss per fresh key). A
//!   write takes its seqno under the latch; versions no snapshot can see
//!   are trimmed by the next write to the key, and, once the last snapshot
//!   goes, by a sweep if enough were kept. With no snapshot alive a chain
//!   holds one version and a remove unlinks the leaf at once. A key
//!   written while no snapshot is older than the write needs no chain: it
//!   lives in its node's slot (an inline entry) or its run's area (a
//!   packed entry) until a snapshot needs an older version of it.
//! - **Ordered access**: bounded scans both ways, prefix scans,
//!   longest-prefix match, and a bidirectional [`Cursor`] whose path from
//!   the root lives on a stack inside it (inline for 24 levels). Nothing
//!   recurses: lookups, scans and `Drop` use loops and explicit stacks,
//!   so the longest key cannot overflow a thread's stack.
//!
//! # Guarantees
//!
//! - `insert`, `remove` and `get` are linearizable; a snapshot pins a
//!   seqno once every write at or below it is complete and sees exactly
//!   those writes for as long as it lives.
//! - Live scans and cursors are weakly consistent (keys strictly ordered,
//!   never twice, each present when read, every key present throughout
//!   met); snapshot scans and cursors are exact.
//! - No heap allocation in `get`, `get_ref`, seeks or cursor steps (but
//!   for a path deeper than 24 nodes).
//!
//! ```
//! use ordex_art::Art;
//! use ordex_core::{OrderedIndex, OrderedIndexExt, Snapshot};
//!
//! let art = Art::new();
//! art.insert(b"https://a.example/", b"1").unwrap();
//! art.insert(b"https://a.example/x", b"2").unwrap();
//! let snap = art.snapshot();
//! art.insert(b"https://a.example/", b"3").unwrap();
//! assert_eq!(art.get_copied(b"https://a.example/").as_deref(), Some(&b"3"[..]));
//! assert_eq!(snap.get_copied(b"https://a.example/").as_deref(), Some(&b"1"[..]));
//!
//! let guard = ordex_art::pin();
//! let (k, v) = art.longest_prefix(b"https://a.example/xyz", &guard).unwrap();
//! assert_eq!((&*k, &*v), (&b"https://a.example/x"[..], &b"2"[..]));
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod bytes;
mod cursor;
mod leaf;
mod node;
mod search;
mod tree;
mod walk;

use core::ops::Bound;
use crossbeam_epoch as epoch;
use ordex_core::{deliver, is_empty_range, past_end, Error, Limits, OrderedIndex, Seqno, Snapshot};
use std::fmt;
use tree::Tree;
use walk::{Dir, Walker};

pub use bytes::{Bytes, InlineBytes};
pub use crossbeam_epoch::Guard;
pub use cursor::Cursor;

/// Whether this backend is implemented (the facade's `IndexKind::available`
/// reads it).
pub const IMPLEMENTED: bool = true;

/// The key and value limits: a key of at most 1 MiB (so a path, which
/// has at most one node per key byte, stays walkable), a value below
/// 4 GiB.
pub const LIMITS: Limits = Limits {
    max_key_len: 1 << 20,
    max_value_len: u32::MAX as usize,
};

/// Pins the current thread to crossbeam-epoch: values borrowed under the
/// guard ([`Art::get_ref`]) stay valid until it is dropped. Keep it
/// short-lived, as it holds back reclamation.
pub fn pin() -> Guard {
    epoch::pin()
}

/// A concurrent, versioned adaptive radix tree. See the [crate
/// docs](crate).
pub struct Art {
    tree: Tree,
}

impl Default for Art {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Art {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Art")
            .field("len", &self.tree.len())
            .field("memory", &self.tree.account.bytes())
            .finish_non_exhaustive()
    }
}

/// Minimum number of writes that kept versions for snapshots before the
/// last snapshot's end triggers a sweep of the whole tree.
const SWEEP_AT: usize = 64;

impl Art {
    /// An empty tree.
    pub fn new() -> Self {
        Art { tree: Tree::new() }
    }

    /// A tree holding `entries`, loaded in order. Sorted input loads
    /// fastest (each insert extends the rightmost path); later entries of
    /// a repeated key win. Fails, holding nothing, if an entry exceeds
    /// [`LIMITS`].
    pub fn from_sorted<K, V, I>(entries: I) -> Result<Self, Error>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, V)>,
    {
        let art = Art::new();
        let guard = epoch::pin();
        for (k, v) in entries {
            LIMITS.check(k.as_ref(), v.as_ref())?;
            art.tree.insert(k.as_ref(), v.as_ref(), &guard);
        }
        Ok(art)
    }

    /// Inserts or overwrites `key`; returns the write's seqno.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        LIMITS.check(key, value)?;
        let guard = epoch::pin();
        Ok(self.tree.insert(key, value, &guard))
    }

    /// Removes `key`; returns the removal's seqno, or `None` if the key
    /// had no live value.
    pub fn delete(&self, key: &[u8]) -> Result<Option<Seqno>, Error> {
        LIMITS.check_key(key)?;
        let guard = epoch::pin();
        Ok(self.tree.remove(key, &guard))
    }

    /// The value of `key`: borrowed for the guard's lifetime (no copy), or
    /// copied out of its node slot for a small inline entry.
    #[inline]
    pub fn get_ref<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Option<Bytes<'g>> {
        self.tree.get(key, None, guard).map(|r| r.bytes())
    }

    /// The longest key that is a prefix of `key` (or `key` itself) and
    /// its value: the routing-table lookup.
    pub fn longest_prefix<'g>(
        &'g self,
        key: &[u8],
        guard: &'g Guard,
    ) -> Option<(Bytes<'g>, Bytes<'g>)> {
        self.tree
            .longest_prefix(key, None, guard)
            .map(|(k, v)| (k, v.bytes()))
    }

    /// A cursor over the live tree.
    pub fn cursor<'g>(&'g self, guard: &'g Guard) -> Cursor<'g> {
        Cursor::new(&self.tree, None, guard)
    }

    /// The entries within the bounds, ascending (`rev`: descending).
    pub fn range<'g>(
        &'g self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        rev: bool,
        guard: &'g Guard,
    ) -> Range<'g> {
        Range::new(&self.tree, None, from, to, rev, guard)
    }

    /// Calls `f` for each live entry whose key starts with `prefix`,
    /// ascending, until it returns `false`; returns the entries passed.
    pub fn scan_prefix(&self, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> usize {
        scan_prefix(&self.tree, None, prefix, f)
    }

    /// A snapshot with its concrete type.
    pub fn snapshot_ref(&self) -> ArtSnapshot<'_> {
        ArtSnapshot {
            art: self,
            seqno: self.tree.clock.snapshot_begin(),
        }
    }

    /// The seqno of the newest completed write.
    pub fn seqno(&self) -> Seqno {
        self.tree.clock.visible()
    }

    /// Node, leaf, prefix and memory figures, from a walk of the whole
    /// tree (approximate while writers run).
    pub fn stats(&self) -> Stats {
        let guard = epoch::pin();
        let mut s = self.tree.stats(&guard);
        s.memory = self.tree.account.bytes();
        s.garbage = self.tree.account.pending();
        s.retired = self.tree.account.retired();
        s
    }

    /// Checks the tree's structure (single-threaded: no writer may run):
    /// for tests.
    #[doc(hidden)]
    pub fn check_structure(&self) -> Result<(), String> {
        let guard = epoch::pin();
        self.tree.check(&guard)
    }

    fn snapshot_end(&self, seqno: Seqno) {
        if self.tree.clock.snapshot_end(seqno) {
            let kept = self.tree.kept.load(std::sync::atomic::Ordering::Relaxed);
            if kept >= SWEEP_AT.max(self.tree.len() / 4) {
                self.sweep();
            }
        }
    }

    /// Trims versions kept for snapshots and unlinks tombstoned keys that
    /// no snapshot needs any more. Runs by itself when the last snapshot
    /// goes and enough versions were kept.
    pub fn sweep(&self) {
        self.tree
            .kept
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let guard = epoch::pin();
        let mut keys = Vec::new();
        {
            let mut w = Walker::new(&self.tree, None, &guard);
            w.raw();
            let mut ok = w.first();
            while ok {
                if let Some(walk::Cur::Leaf(l, _)) = w.current() {
                    if l.newest().is_tomb() || l.versions() > 1 {
                        keys.push(l.key().to_vec());
                    }
                }
                ok = w.next();
            }
        }
        for k in keys {
            self.tree.tidy(&k, &guard);
        }
    }
}

/// Statistics of an [`Art`] ([`Art::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Nodes of each kind: Node4, Node16, Node32, Node48, Node256, runs
    /// of up to 4, 16, 32 and 64 entries in key order (at the bottom of
    /// the tree), and Node256s of values (8-byte slots; the bottom level
    /// of dense integer keys).
    pub nodes: [usize; 10],
    /// Bytes of the nodes of each kind (a run's area included).
    pub node_bytes: [usize; 10],
    /// Leaves (keys, live or tombstoned for a snapshot, that have an
    /// allocation of their own).
    pub leaves: usize,
    /// Inline entries (small keys and values held in their node's slot).
    pub inline: usize,
    /// Packed entries (keys and values held whole in their run's area).
    pub packed: usize,
    /// Bytes of runs' areas that packed entries' records took (live ones
    /// and those overwritten or removed since the area was made); the
    /// areas' whole size is in `node_bytes`.
    pub area_used: usize,
    /// Versions over all leaves.
    pub versions: usize,
    /// Compressed path bytes over all nodes.
    pub prefix_bytes: usize,
    /// Nodes from the root to the deepest leaf.
    pub max_depth: usize,
    /// Bytes allocated and not yet freed (nodes, leaves, versions, garbage).
    pub memory: usize,
    /// Retired objects not yet freed.
    pub garbage: usize,
    /// Retirements over the tree's life.
    pub retired: usize,
}

impl OrderedIndex for Art {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        self.put(key, value)
    }

    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        Ok(self.delete(key)?.is_some())
    }

    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let guard = epoch::pin();
        deliver(self.get_ref(key, &guard).as_deref(), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        scan(&self.tree, None, from, to, f)
    }

    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(self.snapshot_ref())
    }

    fn cursor(&self) -> Box<dyn ordex_core::Cursor + '_> {
        cursor::boxed(&self.tree, None)
    }

    fn len(&self) -> usize {
        self.tree.len()
    }

    fn memory_usage(&self) -> usize {
        self.tree.account.bytes()
    }

    fn name(&self) -> &'static str {
        "art"
    }

    fn limits(&self) -> Limits {
        LIMITS
    }
}

/// A point-in-time view of an [`Art`]: sees exactly the writes at or
/// below its seqno for as long as it lives.
pub struct ArtSnapshot<'a> {
    art: &'a Art,
    seqno: Seqno,
}

impl fmt::Debug for ArtSnapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtSnapshot")
            .field("seqno", &self.seqno)
            .finish()
    }
}

impl<'a> ArtSnapshot<'a> {
    /// The value of `key` in the snapshot, borrowed for the guard's
    /// lifetime.
    pub fn get_ref<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Option<Bytes<'g>> {
        self.art
            .tree
            .get(key, Some(self.seqno), guard)
            .map(|r| r.bytes())
    }

    /// A cursor over the snapshot.
    pub fn cursor<'g>(&'g self, guard: &'g Guard) -> Cursor<'g> {
        Cursor::new(&self.art.tree, Some(self.seqno), guard)
    }

    /// The snapshot's entries within the bounds, ascending (`rev`:
    /// descending).
    pub fn range<'g>(
        &'g self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        rev: bool,
        guard: &'g Guard,
    ) -> Range<'g> {
        Range::new(&self.art.tree, Some(self.seqno), from, to, rev, guard)
    }

    /// Calls `f` for each entry of the snapshot whose key starts with
    /// `prefix`, ascending, until it returns `false`.
    pub fn scan_prefix(&self, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> usize {
        scan_prefix(&self.art.tree, Some(self.seqno), prefix, f)
    }

    /// The longest key of the snapshot that is a prefix of `key`.
    pub fn longest_prefix<'g>(
        &'g self,
        key: &[u8],
        guard: &'g Guard,
    ) -> Option<(Bytes<'g>, Bytes<'g>)> {
        self.art
            .tree
            .longest_prefix(key, Some(self.seqno), guard)
            .map(|(k, v)| (k, v.bytes()))
    }
}

impl Drop for ArtSnapshot<'_> {
    fn drop(&mut self) {
        self.art.snapshot_end(self.seqno);
    }
}

impl Snapshot for ArtSnapshot<'_> {
    fn seqno(&self) -> Seqno {
        self.seqno
    }

    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let guard = epoch::pin();
        deliver(self.get_ref(key, &guard).as_deref(), f)
    }

    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        scan(&self.art.tree, Some(self.seqno), from, to, f)
    }

    fn cursor(&self) -> Box<dyn ordex_core::Cursor + '_> {
        cursor::boxed(&self.art.tree, Some(self.seqno))
    }
}

/// An iterator over a range of an [`Art`] or a snapshot, either way
/// ([`Art::range`]).
pub struct Range<'g> {
    walker: Walker<'g>,
    /// The bound it stops at (the upper going forward, the lower back).
    stop: Bound<Vec<u8>>,
    dir: Dir,
    started: bool,
    start: Bound<Vec<u8>>,
    done: bool,
}

impl<'g> Range<'g> {
    fn new(
        tree: &'g Tree,
        seqno: Option<Seqno>,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        rev: bool,
        guard: &'g Guard,
    ) -> Self {
        let own = |b: Bound<&[u8]>| b.map(<[u8]>::to_vec);
        let (start, stop) = if rev { (to, from) } else { (from, to) };
        Range {
            walker: Walker::new(tree, seqno, guard),
            done: is_empty_range(from, to),
            start: own(start),
            stop: own(stop),
            dir: if rev { Dir::Bwd } else { Dir::Fwd },
            started: false,
        }
    }
}

impl<'g> Iterator for Range<'g> {
    type Item = (Bytes<'g>, Bytes<'g>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let fwd = self.dir == Dir::Fwd;
        let ok = if self.started {
            if fwd {
                self.walker.next()
            } else {
                self.walker.prev()
            }
        } else {
            self.started = true;
            match (&self.start, fwd) {
                (Bound::Included(k), true) => self.walker.seek(k, true),
                (Bound::Excluded(k), true) => self.walker.seek(k, false),
                (Bound::Unbounded, true) => self.walker.first(),
                (Bound::Included(k), false) => self.walker.seek_back(k, true),
                (Bound::Excluded(k), false) => self.walker.seek_back(k, false),
                (Bound::Unbounded, false) => self.walker.last(),
            }
        };
        if !ok {
            self.done = true;
            return None;
        }
        let key = self.walker.key_bytes()?;
        let out = if fwd {
            past_end(&key, self.stop.as_ref().map(Vec::as_slice))
        } else {
            ordex_core::below_start(&key, self.stop.as_ref().map(Vec::as_slice))
        };
        if out {
            self.done = true;
            return None;
        }
        Some((key, self.walker.value_bytes()?))
    }
}

fn scan(
    tree: &Tree,
    seqno: Option<Seqno>,
    from: Bound<&[u8]>,
    to: Bound<&[u8]>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> usize {
    if is_empty_range(from, to) {
        return 0;
    }
    let guard = epoch::pin();
    let mut w = Walker::new(tree, seqno, &guard);
    let ok = match from {
        Bound::Included(k) => w.seek(k, true),
        Bound::Excluded(k) => w.seek(k, false),
        Bound::Unbounded => w.first(),
    };
    walk_while(&mut w, ok, |k| !past_end(k, to), f)
}

fn scan_prefix(
    tree: &Tree,
    seqno: Option<Seqno>,
    prefix: &[u8],
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> usize {
    let guard = epoch::pin();
    let mut w = Walker::new(tree, seqno, &guard);
    let ok = w.seek(prefix, true);
    walk_while(&mut w, ok, |k| k.starts_with(prefix), f)
}

/// Hands `f` the walker's entries from where it stands (`ok`: it stands
/// on one) while their keys pass `within`, until `f` says stop; returns
/// how many it was given. Runs and Node256s of values go a batch at a
/// time ([`Walker::values_after`]), and so do the inline entries of other
/// nodes and the small nodes of them below ([`Walker::children_after`]).
fn walk_while(
    w: &mut Walker<'_>,
    mut ok: bool,
    within: impl Fn(&[u8]) -> bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> usize {
    let mut n = 0;
    while ok {
        let (Some(key), Some(value)) = (w.key(), w.value()) else {
            break;
        };
        if !within(key) {
            break;
        }
        n += 1;
        if !f(key, value) {
            break;
        }
        let batched = w.in_batched();
        if batched || w.in_children() {
            let mut ended = false;
            let mut each = |k: &[u8], v: &[u8]| {
                if !within(k) {
                    ended = true;
                    return false;
                }
                n += 1;
                f(k, v)
            };
            let batch = if batched {
                w.values_after(&mut each)
            } else {
                w.children_after(&mut each)
            };
            if batch == Some(false) || ended {
                break;
            }
        }
        ok = w.next();
    }
    n
}
