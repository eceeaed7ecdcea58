//! Any ordex backend, through the `ordex_core::OrderedIndex` trait.
//!
//! - `insert` / `remove` = [`OrderedIndex::insert`] / [`OrderedIndex::remove`]
//!   (the backend copies key and value itself; the adapter allocates
//!   nothing). They panic if the backend refuses the write (`Err`): with
//!   the unbounded backends the harness builds, a refusal is a bug or a
//!   misconfiguration, not a result.
//! - `get` = the zero-copy [`OrderedIndex::get`], computing the digest in
//!   the callback on the borrowed value.
//! - `scan` = [`OrderedIndex::scan`]`(Included(start), Unbounded)`, whose
//!   callback returns `false` after the `n`th entry.
//! - `snapshot_scan` = [`OrderedIndex::snapshot`] then the same scan on the
//!   snapshot (exact).
//! - `cursor_walk` = [`OrderedIndex::cursor`], the boxed `dyn Cursor` (one
//!   per walk, so its allocation is part of the cost): `seek`, then `next`
//!   for the forward walk and `prev` for the backward one (see
//!   [`cursor_walk`]).
//! - `seal` = [`OrdexBackend::seal`]: the backend's own freeze before a
//!   flush, if it has one (the reference index does; later writes are
//!   refused, reads go on).
//! - Static dispatch on the backend type; only the callbacks go through
//!   `&mut dyn FnMut`, as the trait defines them.

use crate::adapter::{digest, BenchIndex, Caps, Key};
use ordex_core::{reference::LockedBTreeMap, Cursor, OrderedIndex, OrderedIndexExt, Snapshot};
use std::hint::black_box;
use std::ops::Bound;

/// An ordex backend the benchmark can build.
pub trait OrdexBackend: OrderedIndex + Sized + 'static {
    /// The name shown in tables and plots, e.g. `"ordex-skiplist"`.
    const NAME: &'static str;
    /// A new, empty index configured for benchmarking.
    fn build() -> Self;

    /// Whether the backend counts restarts and lock waits in
    /// [`ordex_core::olc::contention`] (`BenchIndex::COUNTS_CONTENTION`).
    const COUNTS_CONTENTION: bool = false;

    /// Freezes the index before a flush (`BenchIndex::seal`), for backends
    /// that have such a step; a no-op by default.
    fn seal(&self) {}

    /// Bytes held outside the global allocator
    /// (`BenchIndex::unallocated_bytes`); 0 by default.
    fn unallocated_bytes(&self) -> usize {
        0
    }
}

impl OrdexBackend for LockedBTreeMap {
    const NAME: &'static str = "ordex-reference";

    fn build() -> Self {
        LockedBTreeMap::new()
    }

    fn seal(&self) {
        LockedBTreeMap::seal(self);
    }
}

impl OrdexBackend for ordex_skiplist::SkipList {
    const NAME: &'static str = "ordex-skiplist";

    fn build() -> Self {
        ordex_skiplist::SkipList::new()
    }

    fn seal(&self) {
        ordex_skiplist::SkipList::freeze(self);
    }

    /// On Linux the arena is one anonymous mapping, not heap: its
    /// committed chunks (`memory_reserved`) are memory the counting
    /// allocator never sees. Elsewhere the chunks come from the global
    /// allocator and are counted already.
    fn unallocated_bytes(&self) -> usize {
        if cfg!(target_os = "linux") {
            self.stats().memory_reserved
        } else {
            0
        }
    }
}

impl OrdexBackend for ordex_btree::BTree {
    const NAME: &'static str = "ordex-btree";
    const COUNTS_CONTENTION: bool = true;

    fn build() -> Self {
        ordex_btree::BTree::new()
    }
}

impl OrdexBackend for ordex_art::Art {
    const NAME: &'static str = "ordex-art";

    fn build() -> Self {
        ordex_art::Art::new()
    }
}

impl OrdexBackend for ordex_btree::BTree<ordex_btree::LockCoupling> {
    const NAME: &'static str = "ordex-btree-coupling";
    const COUNTS_CONTENTION: bool = true;

    fn build() -> Self {
        ordex_btree::BTree::new()
    }
}

impl OrdexBackend for ordex_btree::BTree<ordex_btree::GlobalLock> {
    const NAME: &'static str = "ordex-btree-global";
    const COUNTS_CONTENTION: bool = true;

    fn build() -> Self {
        ordex_btree::BTree::new()
    }
}

impl OrdexBackend for ordex_persistent::PersistentBTree {
    const NAME: &'static str = "ordex-persistent";

    /// The default configuration: no retention window, so old versions
    /// live only as long as a snapshot holds them.
    fn build() -> Self {
        ordex_persistent::PersistentBTree::new()
    }
}

/// Adapter over an ordex backend `B`.
pub struct Ordex<B: OrdexBackend>(B);

impl<B: OrdexBackend> Ordex<B> {
    /// The backend, for what the adapter does not cover (e.g.
    /// [`OrderedIndex::memory_usage`]).
    pub fn inner(&self) -> &B {
        &self.0
    }
}

/// Visits up to `n` entries from `start` with `scan` (an index's or a
/// snapshot's); returns how many.
#[inline]
fn scan_n(
    scan: impl FnOnce(Bound<&[u8]>, Bound<&[u8]>, &mut dyn FnMut(&[u8], &[u8]) -> bool) -> usize,
    start: Bound<&[u8]>,
    n: usize,
) -> usize {
    if n == 0 {
        return 0;
    }
    let mut acc = 0;
    let mut left = n;
    let seen = scan(start, Bound::Unbounded, &mut |k, v| {
        acc = super::touch(acc, k, v);
        left -= 1;
        left > 0
    });
    black_box(acc);
    seen
}

/// [`BenchIndex::cursor_walk`] on any cursor: `seek(start)`, then up to
/// `n` entries forward (`next` between them), then `n` `prev` steps from
/// the last of them. A forward walk that runs off the end leaves the cursor
/// unpositioned; `last` puts it back on the last entry, the one it
/// visited last, before it turns.
pub fn cursor_walk(c: &mut dyn Cursor, start: &[u8], n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let mut acc = 0;
    let mut forward = 0;
    let mut on = c.seek(start);
    while on {
        if let Some((k, v)) = c.entry() {
            acc = super::touch(acc, k, v);
        }
        forward += 1;
        if forward == n {
            break;
        }
        on = c.next();
    }
    // Ran off the end (`forward < n`): back onto the last entry.
    if forward == 0 || (forward < n && !c.last()) {
        black_box(acc);
        return forward;
    }
    let mut back = 0;
    while back < n && c.prev() {
        if let Some((k, v)) = c.entry() {
            acc = super::touch(acc, k, v);
        }
        back += 1;
    }
    black_box(acc);
    forward + back
}

impl<B: OrdexBackend> BenchIndex for Ordex<B> {
    const NAME: &'static str = B::NAME;
    const ORDEX: bool = true;
    const COUNTS_CONTENTION: bool = B::COUNTS_CONTENTION;

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
        Self(B::build())
    }

    fn unallocated_bytes(&self) -> usize {
        self.0.unallocated_bytes()
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        if let Err(e) = self.0.insert(key.bytes, value) {
            panic!("{}: insert refused: {e}", B::NAME);
        }
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        let mut d = 0;
        self.0.get(key.bytes, &mut |v| d = digest(v)).then_some(d)
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        match self.0.remove(key.bytes) {
            Ok(removed) => removed,
            Err(e) => panic!("{}: remove refused: {e}", B::NAME),
        }
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        scan_n(
            |from, to, f| self.0.scan(from, to, f),
            Bound::Included(start.bytes),
            n,
        )
    }

    fn scan_prefix(&self, prefix: &[u8]) -> usize {
        let mut acc = 0;
        let seen = self.0.scan_prefix(prefix, |k, v| {
            acc = super::touch(acc, k, v);
            true
        });
        black_box(acc);
        seen
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn snapshot_scan(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let snapshot = self.0.snapshot();
        Some(scan_n(
            |from, to, f| snapshot.scan(from, to, f),
            Bound::Included(start.bytes),
            n,
        ))
    }

    fn cursor_walk(&self, start: Key<'_>, n: usize) -> Option<usize> {
        let mut cursor = self.0.cursor();
        Some(cursor_walk(&mut *cursor, start.bytes, n))
    }

    fn seal(&self) {
        B::seal(&self.0);
    }

    fn iterate_all(&self) -> usize {
        scan_n(
            |from, to, f| self.0.scan(from, to, f),
            Bound::Unbounded,
            usize::MAX,
        )
    }
}
