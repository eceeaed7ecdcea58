//! Cursors: positioned, bidirectional, allocation-free iteration.
//!
//! [`Cursor`] shows the newest version of each key visible at its seqno,
//! skipping keys whose newest visible version is a tombstone (what a reader
//! wants). [`VersionCursor`] shows every version with its seqno and kind
//! (what a flush or a merge wants). Both hold a `&SkipList` and a 4-byte
//! node offset, so they are `Send` and `Sync` and cost nothing to create.
//!
//! `next` follows the level-0 link; `prev` follows the level-0 prev hint
//! and checks it (see `list.rs`), so both are O(1) steps. On a table still
//! being written a cursor is weakly consistent (it sees each entry present
//! throughout, and maybe some added meanwhile); on a frozen table or at a
//! snapshot seqno it is exact.

use crate::arena::NodeRef;
use crate::list::{same_key, MAX_SEQNO};
use crate::{SkipList, Version};
use ordex_core::Seqno;

/// A cursor over the newest version of each key visible at a seqno,
/// skipping keys whose newest visible version is a tombstone (what a
/// reader wants). It holds a `&SkipList` and a 4-byte node offset, so it
/// is `Send` and `Sync` and costs nothing to create. `next` follows the
/// level-0 link; `prev` follows the level-0 prev hint and checks it, so
/// both are O(1) steps. On a table still being written a cursor is weakly
/// consistent (it sees each entry present throughout, and maybe some added
/// meanwhile); on a frozen table or at a snapshot seqno it is exact.
///
/// ```
/// use ordex_core::OrderedIndex;
/// use ordex_skiplist::SkipList;
/// let t = SkipList::new();
/// for k in [b"a", b"b", b"c"] {
///     t.insert(k, b"v")?;
/// }
/// t.remove(b"b")?;
/// let mut c = t.cursor();
/// let mut keys = Vec::new();
/// let mut ok = c.last();
/// while ok {
///     keys.push(c.key().unwrap().to_vec());
///     ok = c.prev();
/// }
/// assert_eq!(keys, [b"c".to_vec(), b"a".to_vec()]);
/// # Ok::<(), ordex_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    table: &'a SkipList,
    seqno: Seqno,
    node: Option<NodeRef>,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(table: &'a SkipList, seqno: Seqno) -> Cursor<'a> {
        Cursor {
            table,
            seqno,
            node: None,
        }
    }

    /// The seqno this cursor reads at.
    pub fn read_seqno(&self) -> Seqno {
        self.seqno
    }

    /// Whether the cursor is on an entry.
    pub fn valid(&self) -> bool {
        self.node.is_some()
    }

    /// The current key and value.
    pub fn entry(&self) -> Option<(&'a [u8], &'a [u8])> {
        let (k, v, _) = self.table.list.arena.entry(self.node?);
        Some((k, v))
    }

    /// The current key.
    pub fn key(&self) -> Option<&'a [u8]> {
        Some(self.table.list.arena.key(self.node?))
    }

    /// The current value.
    pub fn value(&self) -> Option<&'a [u8]> {
        Some(self.table.list.arena.value(self.node?))
    }

    /// The seqno of the current version.
    pub fn seqno(&self) -> Option<Seqno> {
        Some(self.table.list.arena.seqno(self.node?))
    }

    /// Moves to the first key at or after `key`; returns whether there is
    /// one.
    pub fn seek(&mut self, key: &[u8]) -> bool {
        let start = self.table.list.seek(key, self.seqno);
        self.set(self.forward(start))
    }

    /// Moves to the first key after `key`; returns whether there is one.
    pub fn seek_after(&mut self, key: &[u8]) -> bool {
        // The successor the search compared (above `key`), never a second
        // load of the link after the last key <= `key`: see
        // `List::seek_after`.
        let start = self.table.list.seek_after(key);
        self.set(self.forward(start))
    }

    /// Moves to the last key at or before `key` (RocksDB's
    /// `SeekForPrev`); returns whether there is one.
    pub fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        let start = self.table.list.seek_last_le(key);
        self.set(self.backward(start))
    }

    /// Moves to the first key.
    pub fn first(&mut self) -> bool {
        let start = self.table.list.first();
        self.set(self.forward(start))
    }

    /// Moves to the last key.
    pub fn last(&mut self) -> bool {
        let start = self.table.list.last();
        self.set(self.backward(start))
    }

    /// Moves to the next key; returns whether there is one (an unpositioned
    /// cursor stays unpositioned).
    // A positioned cursor, RocksDB style: `next` moves, accessors read.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        let Some(n) = self.node else { return false };
        let list = &self.table.list;
        let key = list.arena.key(n);
        let mut cur = list.next_ahead(n);
        while let Some(m) = cur {
            if !same_key(list.arena.key(m), key) {
                break;
            }
            cur = list.next_ahead(m);
        }
        self.set(self.forward(cur))
    }

    /// Moves to the previous key; returns whether there is one.
    pub fn prev(&mut self) -> bool {
        let Some(n) = self.node else { return false };
        let list = &self.table.list;
        let key = list.arena.key(n);
        // Back over the newer (invisible or superseded) versions of the
        // current key, to the oldest version of the key before it.
        let mut cur = list.prev_of(n);
        while let Some(m) = cur {
            if !same_key(list.arena.key(m), key) {
                break;
            }
            cur = list.prev_of(m);
        }
        self.set(self.backward(cur))
    }

    fn set(&mut self, node: Option<NodeRef>) -> bool {
        self.node = node;
        node.is_some()
    }

    /// From `cur` (the first node of a key, or a seek position within one),
    /// the first node that is the newest visible version of its key and a
    /// put.
    fn forward(&self, mut cur: Option<NodeRef>) -> Option<NodeRef> {
        let list = &self.table.list;
        while let Some(n) = cur {
            let (key, seqno) = list.arena.key_seqno(n);
            if seqno > self.seqno {
                cur = list.next(n);
                continue;
            }
            if list.is_put(n) {
                return Some(n);
            }
            // A tombstone: the key is deleted at this seqno; skip its
            // older versions.
            cur = list.next(n);
            while let Some(m) = cur {
                if !same_key(list.arena.key(m), key) {
                    break;
                }
                cur = list.next(m);
            }
        }
        None
    }

    /// From `cur` (the oldest version of a key), backwards: the first key
    /// whose newest visible version is a put, at that version.
    fn backward(&self, mut cur: Option<NodeRef>) -> Option<NodeRef> {
        let list = &self.table.list;
        while let Some(n) = cur {
            let key = list.arena.key(n);
            // Going back, a key's versions come oldest first: the newest
            // visible one is the last with seqno <= ours.
            let mut best = None;
            let mut m = Some(n);
            while let Some(x) = m {
                let (k, s) = list.arena.key_seqno(x);
                if !same_key(k, key) {
                    break;
                }
                if s <= self.seqno {
                    best = Some(x);
                }
                m = list.prev_of(x);
            }
            cur = m;
            if let Some(b) = best {
                if list.is_put(b) {
                    return Some(b);
                }
            }
        }
        None
    }
}

/// A cursor over every version (puts and tombstones), in table order: key
/// ascending, seqno descending (what a flush or a merge wants). Like
/// [`Cursor`]: `Send`, `Sync`, O(1) steps both ways.
#[derive(Debug, Clone)]
pub struct VersionCursor<'a> {
    table: &'a SkipList,
    node: Option<NodeRef>,
}

impl<'a> VersionCursor<'a> {
    pub(crate) fn new(table: &'a SkipList) -> VersionCursor<'a> {
        VersionCursor { table, node: None }
    }

    /// Whether the cursor is on a version.
    pub fn valid(&self) -> bool {
        self.node.is_some()
    }

    /// The current version.
    pub fn version(&self) -> Option<Version<'a>> {
        Some(Version::of(self.table, self.node?))
    }

    /// Moves to the first version at or after `(key, seqno)` in table
    /// order (the newest version of `key` at or below `seqno`, if any).
    pub fn seek(&mut self, key: &[u8], seqno: Seqno) -> bool {
        self.set(self.table.list.seek(key, seqno.min(MAX_SEQNO)))
    }

    /// Moves to the last version whose key is at or before `key` (the
    /// oldest version of that key).
    pub fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.set(self.table.list.seek_last_le(key))
    }

    /// Moves to the last version whose key is before `key`.
    pub fn seek_before(&mut self, key: &[u8]) -> bool {
        self.set(self.table.list.seek_last_lt(key))
    }

    /// Moves to the first version.
    pub fn first(&mut self) -> bool {
        self.set(self.table.list.first())
    }

    /// Moves to the last version.
    pub fn last(&mut self) -> bool {
        self.set(self.table.list.last())
    }

    /// Moves to the next version.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        let n = self.node.and_then(|n| self.table.list.next_ahead(n));
        self.set(n)
    }

    /// Moves to the previous version.
    pub fn prev(&mut self) -> bool {
        let n = self.node.and_then(|n| self.table.list.prev_of(n));
        self.set(n)
    }

    fn set(&mut self, node: Option<NodeRef>) -> bool {
        self.node = node;
        node.is_some()
    }
}
