//! Deliberately broken indexes, each wrong in one way a real backend could
//! be. The kit's own tests run the suite on them to show that each check
//! can fail (a check that cannot fail proves nothing).
//!
//! All wrap [`LockedBTreeMap`] and are correct except for their one flaw.

use ordex_core::reference::LockedBTreeMap;
use ordex_core::{Error, Limits, OrderedIndex, Seqno, Snapshot};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! delegate_rest {
    () => {
        fn scan(
            &self,
            from: Bound<&[u8]>,
            to: Bound<&[u8]>,
            f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
        ) -> usize {
            self.0.scan(from, to, f)
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn memory_usage(&self) -> usize {
            self.0.memory_usage()
        }
        fn name(&self) -> &'static str {
            "broken"
        }
        fn limits(&self) -> Limits {
            self.0.limits()
        }
    };
}

/// Silently drops every 5th insert (returns `Ok` with a seqno anyway).
#[derive(Debug, Default)]
pub struct DropsWrites(LockedBTreeMap, AtomicU64);

impl OrderedIndex for DropsWrites {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        if self.1.fetch_add(1, Ordering::Relaxed) % 5 == 4 {
            return Ok(self.0.last_seqno() + 1);
        }
        self.0.insert(key, value)
    }
    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.0.remove(key)
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.0.get(key, f)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        self.0.snapshot()
    }
    delegate_rest!();
}

/// Snapshots that read the live index: they see writes made after them.
#[derive(Debug, Default)]
pub struct LeakySnapshots(LockedBTreeMap);

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
}

impl OrderedIndex for LeakySnapshots {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        self.0.insert(key, value)
    }
    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.0.remove(key)
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.0.get(key, f)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(LiveView(&self.0, self.0.last_seqno()))
    }
    delegate_rest!();
}

/// Copies the key to the heap on every `get`.
#[derive(Debug, Default)]
pub struct AllocatingGet(LockedBTreeMap);

impl OrderedIndex for AllocatingGet {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        self.0.insert(key, value)
    }
    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.0.remove(key)
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let owned = std::hint::black_box(key.to_vec());
        self.0.get(&owned, f)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        self.0.snapshot()
    }
    delegate_rest!();
}

/// Upserts an existing key as remove-then-insert, two separate atomic steps:
/// every sequential test passes, but a concurrent reader can see the key
/// missing in between (the crossbeam-skiplist #1023 bug class).
#[derive(Debug, Default)]
pub struct TornUpsert(LockedBTreeMap);

impl OrderedIndex for TornUpsert {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        if self.0.remove(key)? {
            std::thread::yield_now();
        }
        self.0.insert(key, value)
    }
    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.0.remove(key)
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.0.get(key, f)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        self.0.snapshot()
    }
    delegate_rest!();
}

/// Leaks a little memory on every insert, so dropping it does not return
/// the heap to its baseline. (The leaked blocks stay reachable from a
/// global, the way a forgotten cache would, so LeakSanitizer does not
/// report the fixture itself.)
#[derive(Debug, Default)]
pub struct LeaksMemory(LockedBTreeMap);

static LEAKED: std::sync::Mutex<Vec<Box<[u8]>>> = std::sync::Mutex::new(Vec::new());

impl OrderedIndex for LeaksMemory {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        if let Ok(mut leaked) = LEAKED.lock() {
            leaked.push(vec![0u8; 16].into_boxed_slice());
        }
        self.0.insert(key, value)
    }
    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.0.remove(key)
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.0.get(key, f)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        self.0.snapshot()
    }
    delegate_rest!();
}

/// Half-applies a batch that contains an oversized entry (writes the
/// entries before it), and does not count the bad one against limits on
/// `insert`: key limit 64 bytes, but accepts longer keys silently
/// truncated.
#[derive(Debug)]
pub struct SloppyLimits(LockedBTreeMap);

impl Default for SloppyLimits {
    fn default() -> Self {
        SloppyLimits(LockedBTreeMap::builder().max_key_len(64).build())
    }
}

impl OrderedIndex for SloppyLimits {
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Seqno, Error> {
        self.0.insert(&key[..key.len().min(64)], value)
    }
    fn insert_batch(&self, entries: &[(&[u8], &[u8])]) -> Result<Seqno, Error> {
        let mut last = 0;
        for (k, v) in entries {
            last = self.0.insert(k, v)?;
        }
        Ok(last)
    }
    fn remove(&self, key: &[u8]) -> Result<bool, Error> {
        self.0.remove(key)
    }
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        self.0.get(key, f)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        self.0.snapshot()
    }
    delegate_rest!();
}
