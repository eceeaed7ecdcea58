//! Deliberately broken indexes, each wrong in one way a real backend could
//! be. The kit's own tests run the suite on them to show that each check
//! can fail (a check that cannot fail proves nothing).
//!
//! Each is a [`Broken`] wrapper around [`LockedBTreeMap`] with one [`Flaw`]
//! that overrides a single operation; everything else is the reference.

use ordex_core::reference::{LockedBTreeMap, ReferenceCursor};
use ordex_core::{Cursor, Error, Limits, OrderedIndex, Seqno, Snapshot};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One way of being wrong: the operations it overrides. The defaults are
/// the reference's own.
pub trait Flaw: Default + Send + Sync {
    /// The wrapped index (override for limits).
    fn make() -> LockedBTreeMap {
        LockedBTreeMap::new()
    }
    /// `insert`.
    fn insert(&self, m: &LockedBTreeMap, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        m.insert(key, value)
    }
    /// `insert_batch`.
    fn insert_batch(&self, m: &LockedBTreeMap, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        m.insert_batch(entries)
    }
    /// `get`.
    fn get(&self, m: &LockedBTreeMap, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        m.get(key, f)
    }
    /// `snapshot`.
    fn snapshot<'a>(&self, m: &'a LockedBTreeMap) -> Box<dyn Snapshot + 'a> {
        m.snapshot()
    }
    /// `cursor`.
    fn cursor<'a>(&self, m: &'a LockedBTreeMap) -> Box<dyn Cursor + 'a> {
        m.cursor()
    }
    /// `scan`.
    fn scan(
        &self,
        m: &LockedBTreeMap,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        m.scan(from, to, f)
    }
}

/// The reference index with one [`Flaw`].
#[derive(Debug)]
pub struct Broken<F> {
    inner: LockedBTreeMap,
    flaw: F,
}

impl<F: Flaw> Default for Broken<F> {
    fn default() -> Self {
        Broken {
            inner: F::make(),
            flaw: F::default(),
        }
    }
}

impl<F: Flaw> OrderedIndex for Broken<F> {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        self.flaw.insert(&self.inner, key, value)
    }
    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.inner.remove(key)
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.flaw.get(&self.inner, key, f)
    }
    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        self.flaw.scan(&self.inner, from, to, f)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        self.flaw.snapshot(&self.inner)
    }
    fn cursor(&self) -> Box<dyn Cursor + '_> {
        self.flaw.cursor(&self.inner)
    }
    fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        self.flaw.insert_batch(&self.inner, entries)
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn memory_usage(&self) -> usize {
        self.inner.memory_usage()
    }
    fn name(&self) -> &'static str {
        "broken"
    }
    fn limits(&self) -> Limits {
        self.inner.limits()
    }
}

/// Silently drops every 5th insert (returns `Ok` with a seqno anyway).
pub type DropsWrites = Broken<DropEveryFifthInsert>;

/// The flaw of [`DropsWrites`].
#[derive(Debug, Default)]
pub struct DropEveryFifthInsert(AtomicU64);

impl Flaw for DropEveryFifthInsert {
    fn insert(&self, m: &LockedBTreeMap, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        if self.0.fetch_add(1, Ordering::Relaxed) % 5 == 4 {
            return Ok(m.last_seqno() + 1);
        }
        m.insert(key, value)
    }
}

/// Snapshots that read the live index: they see writes made after them.
pub type LeakySnapshots = Broken<SnapshotReadsLive>;

/// The flaw of [`LeakySnapshots`].
#[derive(Debug, Default)]
pub struct SnapshotReadsLive;

struct LiveView<'a>(&'a LockedBTreeMap, Seqno);

impl Snapshot for LiveView<'_> {
    fn seqno(&self) -> Seqno {
        self.1
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.0.get(key, f)
    }
    fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        self.0.scan(from, to, f)
    }
    fn cursor(&self) -> Box<dyn Cursor + '_> {
        self.0.cursor()
    }
}

impl Flaw for SnapshotReadsLive {
    fn snapshot<'a>(&self, m: &'a LockedBTreeMap) -> Box<dyn Snapshot + 'a> {
        Box::new(LiveView(m, m.last_seqno()))
    }
}

/// Copies the key to the heap on every `get`.
pub type AllocatingGet = Broken<CopyKeyOnGet>;

/// The flaw of [`AllocatingGet`].
#[derive(Debug, Default)]
pub struct CopyKeyOnGet;

impl Flaw for CopyKeyOnGet {
    fn get(&self, m: &LockedBTreeMap, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let owned = std::hint::black_box(key.to_vec());
        m.get(&owned, f)
    }
}

/// Upserts an existing key as remove-then-insert, two separate atomic steps:
/// every sequential test passes, but a concurrent reader can see the key
/// missing in between (the crossbeam-skiplist #1023 bug class).
pub type TornUpsert = Broken<RemoveThenInsert>;

/// The flaw of [`TornUpsert`].
#[derive(Debug, Default)]
pub struct RemoveThenInsert;

impl Flaw for RemoveThenInsert {
    fn insert(&self, m: &LockedBTreeMap, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        if m.remove(key)? {
            std::thread::yield_now();
        }
        m.insert(key, value)
    }
}

/// A live scan from `Excluded(k)` that decides where to start on a view in
/// which `k` is absent, then, after a pause (a thread yield), starts from
/// `Included(k)`: sequentially exact, but a `k` linked during the pause is
/// yielded, below the scan's lower bound. The skip list's `seek_after` was
/// wrong this way: it found the last key `<= k`, then loaded that node's
/// link again instead of taking the successor it had compared.
pub type CrossesLowerBound = Broken<RereadScanStart>;

/// The flaw of [`CrossesLowerBound`].
#[derive(Debug, Default)]
pub struct RereadScanStart;

impl Flaw for RereadScanStart {
    fn scan(
        &self,
        m: &LockedBTreeMap,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        if let Bound::Excluded(k) = from {
            if !m.get(k, &mut |_| {}) {
                std::thread::yield_now();
                return m.scan(Bound::Included(k), to, f);
            }
        }
        m.scan(from, to, f)
    }
}

/// Leaks a little memory on every insert, so dropping it does not return
/// the heap to its baseline. (The leaked blocks stay reachable from a
/// global, the way a forgotten cache would, so LeakSanitizer does not
/// report the fixture itself.)
pub type LeaksMemory = Broken<LeakOnInsert>;

/// The flaw of [`LeaksMemory`].
#[derive(Debug, Default)]
pub struct LeakOnInsert;

static LEAKED: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

impl Flaw for LeakOnInsert {
    fn insert(&self, m: &LockedBTreeMap, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        if let Ok(mut leaked) = LEAKED.lock() {
            leaked.push(vec![0u8; 16].into_boxed_slice());
        }
        m.insert(key, value)
    }
}

/// Key limit 64 bytes, but longer keys are silently truncated on
/// `insert`, and a batch with an oversized entry is half applied.
pub type SloppyLimits = Broken<TruncateAndHalfApply>;

/// The flaw of [`SloppyLimits`].
#[derive(Debug, Default)]
pub struct TruncateAndHalfApply;

impl Flaw for TruncateAndHalfApply {
    fn make() -> LockedBTreeMap {
        LockedBTreeMap::builder().max_key_len(64).build()
    }
    fn insert(&self, m: &LockedBTreeMap, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        m.insert(&key[..key.len().min(64)], value)
    }
    fn insert_batch(&self, m: &LockedBTreeMap, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        let mut last = 0;
        for (k, v) in entries {
            last = m.insert(k, v)?;
        }
        Ok(last)
    }
}

/// A cursor over the reference with one flaw in its steps (see
/// [`CursorFlaw`]).
struct FlawedCursor<'a> {
    inner: ReferenceCursor<'a>,
    /// A second allocation made with the cursor ([`CursorFlaw::BoxedTwice`]).
    _extra: Option<Box<Seqno>>,
    index: &'a LockedBTreeMap,
    flaw: CursorFlaw,
    /// The last seqno this cursor saw written.
    seen: Seqno,
    /// Whether the last move was a successful `next`.
    after_next: bool,
}

/// How a [`FlawedCursor`] goes wrong.
#[derive(Debug, Clone, Copy)]
enum CursorFlaw {
    /// A `prev` right after a `next` goes back two keys.
    SlipOnTurn,
    /// Every step copies the key to the heap.
    CopyOnStep,
    /// A `next` after writes elsewhere steps over a key.
    SkipAfterWrites,
    /// A `next` after writes elsewhere re-seeks the current key, which it
    /// then yields again.
    RepeatAfterWrites,
    /// Making the cursor costs two allocations (its box and one more);
    /// its steps are right.
    BoxedTwice,
}

impl<'a> FlawedCursor<'a> {
    fn boxed(index: &'a LockedBTreeMap, flaw: CursorFlaw) -> Box<dyn Cursor + 'a> {
        Box::new(FlawedCursor {
            inner: index.cursor_ref(),
            _extra: matches!(flaw, CursorFlaw::BoxedTwice).then(|| Box::new(index.last_seqno())),
            index,
            flaw,
            seen: index.last_seqno(),
            after_next: false,
        })
    }

    /// Whether writes happened since the last call.
    fn written(&mut self) -> bool {
        let now = self.index.last_seqno();
        std::mem::replace(&mut self.seen, now) != now
    }
}

impl Cursor for FlawedCursor<'_> {
    fn seek(&mut self, key: &[u8]) -> bool {
        self.after_next = false;
        self.inner.seek(key)
    }
    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.after_next = false;
        self.inner.seek_for_prev(key)
    }
    fn first(&mut self) -> bool {
        self.after_next = false;
        self.inner.first()
    }
    fn last(&mut self) -> bool {
        self.after_next = false;
        self.inner.last()
    }
    fn next(&mut self) -> bool {
        let written = self.written();
        let moved = match self.flaw {
            CursorFlaw::CopyOnStep => {
                std::hint::black_box(self.inner.key().map(<[u8]>::to_vec));
                self.inner.next()
            }
            CursorFlaw::SkipAfterWrites if written => self.inner.next() && self.inner.next(),
            CursorFlaw::RepeatAfterWrites if written => {
                match self.inner.key().map(<[u8]>::to_vec) {
                    Some(k) => self.inner.seek(&k),
                    None => false,
                }
            }
            _ => self.inner.next(),
        };
        self.after_next = moved;
        moved
    }
    fn prev(&mut self) -> bool {
        let slip = matches!(self.flaw, CursorFlaw::SlipOnTurn) && self.after_next;
        self.after_next = false;
        if matches!(self.flaw, CursorFlaw::CopyOnStep) {
            std::hint::black_box(self.inner.key().map(<[u8]>::to_vec));
        }
        if slip {
            return self.inner.prev() && self.inner.prev();
        }
        self.inner.prev()
    }
    fn valid(&self) -> bool {
        self.inner.valid()
    }
    fn key(&self) -> Option<&[u8]> {
        self.inner.key()
    }
    fn value(&self) -> Option<&[u8]> {
        self.inner.value()
    }
    fn seqno(&self) -> Option<Seqno> {
        self.inner.seqno()
    }
}

macro_rules! cursor_flaw {
    ($(#[$doc:meta])* $alias:ident, $flaw:ident) => {
        $(#[$doc])*
        pub type $alias = Broken<$flaw>;

        #[doc = concat!("The flaw of [`", stringify!($alias), "`].")]
        #[derive(Debug, Default)]
        pub struct $flaw;

        impl Flaw for $flaw {
            fn cursor<'a>(&self, m: &'a LockedBTreeMap) -> Box<dyn Cursor + 'a> {
                FlawedCursor::boxed(m, CursorFlaw::$flaw)
            }
        }
    };
}

cursor_flaw!(
    /// Live cursors whose `prev` right after a `next` goes back two keys:
    /// walks in one direction are right, a turn is not.
    SlippingCursor,
    SlipOnTurn
);
cursor_flaw!(
    /// Live cursors that copy the key to the heap on every step.
    AllocatingCursor,
    CopyOnStep
);
cursor_flaw!(
    /// Live cursors whose `next` steps over a key when anything was
    /// written since the last step: exact when nothing writes.
    SkippingCursor,
    SkipAfterWrites
);
cursor_flaw!(
    /// Live cursors whose `next` re-seeks the current key when anything
    /// was written since the last step, and so yields it twice: exact when
    /// nothing writes.
    RepeatingCursor,
    RepeatAfterWrites
);
cursor_flaw!(
    /// Live cursors that cost two allocations to make (the box and one
    /// more), where the contract allows one; every step is right.
    TwiceBoxedCursor,
    BoxedTwice
);
