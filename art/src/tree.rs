//! The tree: lookups, inserts and removes under optimistic lock coupling
//! (Leis et al., "The ART of Practical Synchronization", DaMoN 2016).
//! Safe code over [`crate::node`] and [`crate::leaf`], but for decoding
//! the words it loads (each with its argument).
//!
//! - A reader takes a node's version, reads the node (prefix, a child),
//!   validates the version before it follows the child, and restarts from
//!   the root on any failure, with backoff ([`ordex_core::olc::retry`]).
//!   It never writes shared memory.
//! - A writer descends the same way and upgrades to the latch of the node
//!   it changes, from the version it read (and its parent's, when the node
//!   is replaced: growth, shrinking, a path split or a collapse), so an
//!   upgrade fails, and the writer restarts, if anything changed since it
//!   looked. Latches are only ever tried, never waited for, so no order
//!   can deadlock. A replaced node is marked obsolete (readers restart)
//!   and retired through the epoch.
//! - Path compression is hybrid: a node stores its compressed path's
//!   length and first [`STORED`] bytes. Lookups skip the bytes beyond
//!   (the leaf's whole key is compared at the end); inserts and seeks,
//!   which must know where a key leaves the path, read those bytes from
//!   any leaf below the node, validated against the node's version.
//! - The key that ends at a node (a key that is a prefix of others) is
//!   that node's end leaf, which sorts before its children; so any byte
//!   string is a key, the empty one (the root's end leaf) included.
//! - Versions: each leaf heads a chain of records. A write takes its seqno
//!   under the latch ([`Clock::take`]), pushes its record, trims what no
//!   snapshot can see, unlocks and publishes the seqno. A remove that a
//!   snapshot may still need to see past pushes a tombstone; otherwise it
//!   unlinks the leaf.

use crate::leaf::{self, free_chain, free_leaf, LeafRef, RecordRef};
use crate::node::{
    free_node, new_node, pack_prefix, prefix_byte, Child, Kind, NodeRef, Word, STORED,
};
use core::cmp::Ordering as Cmp;
use core::ptr::NonNull;
use crossbeam_epoch::Guard;
use ordex_core::mvcc::{must_keep, Clock, Taken, NO_SNAPSHOT};
use ordex_core::olc::{retry, Restart, Stamp};
use ordex_core::reclaim::{retire, Account};
use ordex_core::Seqno;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// The tree proper: a fixed Node256 root (depth 0, no prefix, never
/// replaced), the clock, and the accounting.
pub(crate) struct Tree {
    root: NonNull<crate::node::Header>,
    pub(crate) clock: Clock,
    pub(crate) account: Arc<Account>,
    /// Keys with a live newest version.
    len: AtomicUsize,
    /// Writes that left versions or tombstones behind for snapshots: what
    /// a sweep may tidy once the last snapshot goes.
    pub(crate) kept: AtomicUsize,
}

// SAFETY: every node, leaf and record is reached through atomics and
// freed only through the epoch (or by `drop`, with `&mut`); the tree owns
// them all. Nothing in it is tied to a thread.
unsafe impl Send for Tree {}
// SAFETY: as above: shared access goes through the latches and atomics.
unsafe impl Sync for Tree {}

/// Where a write found its key: the node whose slot holds the leaf (or
/// would), that node's version, and its parent.
struct Parent<'g> {
    node: NodeRef<'g>,
    stamp: Stamp,
    byte: u8,
}

/// A slot of a node: its end leaf or a child byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    End,
    Byte(u8),
}

/// Why a leaf is unlinked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Remove,
    Tidy,
}

/// A leaf found for a write, with where it hangs.
struct Found<'g> {
    parent: Option<Parent<'g>>,
    node: NodeRef<'g>,
    stamp: Stamp,
    slot: Slot,
    leaf: LeafRef<'g>,
}

/// The bytes of a node's compressed path: the stored ones, and the rest
/// from a leaf below it.
struct PathBytes<'g> {
    stored: u64,
    leaf_key: &'g [u8],
    depth: usize,
}

impl PathBytes<'_> {
    fn byte(&self, i: usize) -> u8 {
        if i < STORED {
            prefix_byte(self.stored, i)
        } else {
            self.leaf_key[self.depth + i]
        }
    }

    /// Bytes `from..from + n` (n at most `STORED`), packed.
    fn pack(&self, from: usize, n: usize) -> u64 {
        let mut p = 0u64;
        for i in 0..n.min(STORED) {
            p |= u64::from(self.byte(from + i)) << (8 * i);
        }
        p
    }
}

impl Tree {
    pub(crate) fn new() -> Self {
        let account = Arc::new(Account::default());
        let (root, bytes) = new_node(Kind::N256, 0, 0);
        account.add(bytes);
        Tree {
            root,
            clock: Clock::new(),
            account,
            len: AtomicUsize::new(0),
            kept: AtomicUsize::new(0),
        }
    }

    /// The root node.
    #[inline]
    pub(crate) fn root<'g>(&'g self, _guard: &'g Guard) -> NodeRef<'g> {
        // SAFETY: the root is never replaced or freed before the tree.
        unsafe { NodeRef::from_raw(self.root) }
    }

    /// Keys with a live newest version.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    // -- Reads --------------------------------------------------------------

    /// The leaf of `key`, if the tree has one (whatever its versions).
    #[inline]
    pub(crate) fn find<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Option<LeafRef<'g>> {
        retry(|| self.try_find(key, guard))
    }

    #[inline]
    fn try_find<'g>(
        &'g self,
        key: &[u8],
        guard: &'g Guard,
    ) -> Result<Option<LeafRef<'g>>, Restart> {
        let mut node = self.root(guard);
        let mut depth = 0;
        loop {
            let v = node.lock().read_begin()?;
            let plen = node.plen();
            if plen > 0 {
                if key.len() < depth + plen || !stored_match(node.prefix(), plen, key, depth) {
                    node.lock().check(v)?;
                    return Ok(None);
                }
                depth += plen;
            }
            let w = if depth == key.len() {
                node.end()
            } else {
                node.find(key[depth])
            };
            node.lock().check(v)?;
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            match unsafe { w.get(guard) } {
                None => return Ok(None),
                Some(Child::Leaf(l)) => return Ok((l.key() == key).then_some(l)),
                Some(Child::Node(c)) => {
                    node = c;
                    depth += 1;
                }
            }
        }
    }

    /// The version of `key` a reader at `seqno` (`None`: the newest) sees.
    #[inline]
    pub(crate) fn get<'g>(
        &'g self,
        key: &[u8],
        seqno: Option<Seqno>,
        guard: &'g Guard,
    ) -> Option<RecordRef<'g>> {
        self.find(key, guard)?.value_at(seqno)
    }

    /// The longest key that is a prefix of `key` (itself included) and has
    /// a version a reader at `seqno` sees.
    pub(crate) fn longest_prefix<'g>(
        &'g self,
        key: &[u8],
        seqno: Option<Seqno>,
        guard: &'g Guard,
    ) -> Option<(LeafRef<'g>, RecordRef<'g>)> {
        retry(|| {
            let mut best = None;
            let mut node = self.root(guard);
            let mut depth = 0;
            let consider = |l: LeafRef<'g>, best: &mut Option<(LeafRef<'g>, RecordRef<'g>)>| {
                if key.starts_with(l.key()) {
                    if let Some(r) = l.value_at(seqno) {
                        *best = Some((l, r));
                    }
                }
            };
            loop {
                let v = node.lock().read_begin()?;
                let plen = node.plen();
                if key.len() < depth + plen || !stored_match(node.prefix(), plen, key, depth) {
                    node.lock().check(v)?;
                    return Ok(best);
                }
                depth += plen;
                let end = node.end();
                let w = if depth < key.len() {
                    node.find(key[depth])
                } else {
                    Word::EMPTY
                };
                node.lock().check(v)?;
                // SAFETY: loaded from a slot of `node`, reached under `guard`.
                if let Some(Child::Leaf(l)) = unsafe { end.get(guard) } {
                    consider(l, &mut best);
                }
                // SAFETY: as above.
                match unsafe { w.get(guard) } {
                    None => return Ok(best),
                    Some(Child::Leaf(l)) => {
                        consider(l, &mut best);
                        return Ok(best);
                    }
                    Some(Child::Node(c)) => {
                        node = c;
                        depth += 1;
                    }
                }
            }
        })
    }

    /// Some leaf below `node` (every key below shares its whole path),
    /// read optimistically; the caller validates `node` afterwards.
    pub(crate) fn any_leaf<'g>(
        &'g self,
        node: NodeRef<'g>,
        guard: &'g Guard,
    ) -> Result<LeafRef<'g>, Restart> {
        let mut n = node;
        loop {
            let v = n.lock().read_begin()?;
            let first = n.next_slot(-1);
            n.lock().check(v)?;
            let (_, w) = first.ok_or(Restart)?;
            // SAFETY: loaded from a slot of `n`, reached under `guard`.
            match unsafe { w.get(guard) } {
                Some(Child::Leaf(l)) => return Ok(l),
                Some(Child::Node(c)) => n = c,
                None => return Err(Restart),
            }
        }
    }

    /// The bytes of `node`'s compressed path (read at version `v`).
    fn path_bytes<'g>(
        &'g self,
        node: NodeRef<'g>,
        v: Stamp,
        plen: usize,
        depth: usize,
        guard: &'g Guard,
    ) -> Result<PathBytes<'g>, Restart> {
        let stored = node.prefix();
        let leaf_key = if plen > STORED {
            let k = self.any_leaf(node, guard)?.key();
            if k.len() < depth + plen {
                return Err(Restart);
            }
            k
        } else {
            &[][..]
        };
        node.lock().check(v)?;
        Ok(PathBytes {
            stored,
            leaf_key,
            depth,
        })
    }

    /// How `node`'s whole compressed path compares with `key` from
    /// `depth` on (a key that ends inside the path sorts below it), and
    /// where they part.
    pub(crate) fn compare_path<'g>(
        &'g self,
        node: NodeRef<'g>,
        v: Stamp,
        plen: usize,
        key: &[u8],
        depth: usize,
        guard: &'g Guard,
    ) -> Result<Cmp, Restart> {
        if plen == 0 {
            return Ok(Cmp::Equal);
        }
        let stored = node.prefix();
        for i in 0..plen.min(STORED) {
            let Some(&k) = key.get(depth + i) else {
                node.lock().check(v)?;
                return Ok(Cmp::Greater);
            };
            let p = prefix_byte(stored, i);
            if p != k {
                node.lock().check(v)?;
                return Ok(p.cmp(&k));
            }
        }
        if plen > STORED {
            let path = self.path_bytes(node, v, plen, depth, guard)?;
            Ok(mismatch(&path, plen, key, depth).map_or(Cmp::Equal, |(_, c)| c))
        } else {
            Ok(Cmp::Equal)
        }
    }

    // -- Writes -------------------------------------------------------------

    /// Inserts or overwrites `key`; returns the write's seqno.
    pub(crate) fn insert(&self, key: &[u8], value: &[u8], guard: &Guard) -> Seqno {
        retry(|| self.try_insert(key, value, guard))
    }

    fn try_insert(&self, key: &[u8], value: &[u8], guard: &Guard) -> Result<Seqno, Restart> {
        let mut parent: Option<Parent<'_>> = None;
        let mut node = self.root(guard);
        let mut depth = 0;
        loop {
            let v = node.lock().read_begin()?;
            let plen = node.plen();
            if plen > 0 {
                let path = self.path_bytes(node, v, plen, depth, guard)?;
                if let Some((at, _)) = mismatch(&path, plen, key, depth) {
                    let p = parent.as_ref().expect("the root has no compressed path");
                    return self.split_path(p, node, v, &path, plen, at, key, value, depth);
                }
                depth += plen;
            }
            if depth == key.len() {
                node.lock().try_upgrade(v)?;
                let e = node.end();
                let s = match self.leaf_of(e, guard) {
                    Some(l) => self.push_version(l, Some(value), guard),
                    None => {
                        let t = self.clock.take();
                        node.set_end(self.new_leaf(key, value, t.seqno));
                        self.len.fetch_add(1, Relaxed);
                        t.seqno
                    }
                };
                node.lock().unlock();
                self.clock.publish(s);
                return Ok(s);
            }
            let b = key[depth];
            let w = node.find(b);
            node.lock().check(v)?;
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            match unsafe { w.get(guard) } {
                None if node.is_full() => {
                    let p = parent.as_ref().expect("the root (a Node256) never fills");
                    p.node.lock().try_upgrade(p.stamp)?;
                    if node.lock().try_upgrade(v).is_err() {
                        p.node.lock().unlock();
                        return Err(Restart);
                    }
                    let (big, bytes) = node.copy_resized(true);
                    self.account.add(bytes);
                    // SAFETY: fresh and ours until published below.
                    let big = unsafe { NodeRef::from_raw(big) };
                    let t = self.clock.take();
                    big.add(b, self.new_leaf(key, value, t.seqno));
                    p.node.replace(p.byte, big.word());
                    node.lock().unlock_obsolete();
                    p.node.lock().unlock();
                    self.retire_node(node, guard);
                    self.len.fetch_add(1, Relaxed);
                    self.clock.publish(t.seqno);
                    return Ok(t.seqno);
                }
                None => {
                    node.lock().try_upgrade(v)?;
                    let t = self.clock.take();
                    node.add(b, self.new_leaf(key, value, t.seqno));
                    node.lock().unlock();
                    self.len.fetch_add(1, Relaxed);
                    self.clock.publish(t.seqno);
                    return Ok(t.seqno);
                }
                Some(Child::Leaf(l)) => {
                    node.lock().try_upgrade(v)?;
                    let s = if l.key() == key {
                        self.push_version(l, Some(value), guard)
                    } else {
                        // Lazy expansion ends here: a Node4 below `b`
                        // holds both keys after what they share.
                        let lk = l.key();
                        let d = depth + 1;
                        let common = lcp(&lk[d..], &key[d..]);
                        let (m, bytes) = new_node(Kind::N4, common, pack_prefix(&key[d..]));
                        self.account.add(bytes);
                        // SAFETY: fresh and ours until published below.
                        let m = unsafe { NodeRef::from_raw(m) };
                        let t = self.clock.take();
                        let new = self.new_leaf(key, value, t.seqno);
                        place(m, lk, d + common, Word::leaf(l.non_null()));
                        place(m, key, d + common, new);
                        node.replace(b, m.word());
                        self.len.fetch_add(1, Relaxed);
                        t.seqno
                    };
                    node.lock().unlock();
                    self.clock.publish(s);
                    return Ok(s);
                }
                Some(Child::Node(c)) => {
                    parent = Some(Parent {
                        node,
                        stamp: v,
                        byte: b,
                    });
                    node = c;
                    depth += 1;
                }
            }
        }
    }

    /// Splits `node`'s compressed path where `key` leaves it (at `at`): a
    /// new Node4 takes the shared part, with `node` (its path cut) and the
    /// new leaf below.
    #[allow(clippy::too_many_arguments)]
    fn split_path(
        &self,
        p: &Parent<'_>,
        node: NodeRef<'_>,
        v: Stamp,
        path: &PathBytes<'_>,
        plen: usize,
        at: usize,
        key: &[u8],
        value: &[u8],
        depth: usize,
    ) -> Result<Seqno, Restart> {
        p.node.lock().try_upgrade(p.stamp)?;
        if node.lock().try_upgrade(v).is_err() {
            p.node.lock().unlock();
            return Err(Restart);
        }
        let (m, bytes) = new_node(Kind::N4, at, path.pack(0, at));
        self.account.add(bytes);
        // SAFETY: fresh and ours until published below.
        let m = unsafe { NodeRef::from_raw(m) };
        let rest = plen - at - 1;
        m.add(path.byte(at), node.word());
        let t = self.clock.take();
        let new = self.new_leaf(key, value, t.seqno);
        if key.len() == depth + at {
            m.set_end(new);
        } else {
            m.add(key[depth + at], new);
        }
        node.set_prefix(rest, path.pack(at + 1, rest));
        p.node.replace(p.byte, m.word());
        node.lock().unlock();
        p.node.lock().unlock();
        self.len.fetch_add(1, Relaxed);
        self.clock.publish(t.seqno);
        Ok(t.seqno)
    }

    fn new_leaf(&self, key: &[u8], value: &[u8], seqno: Seqno) -> Word {
        let (l, bytes) = leaf::new_leaf(key, Some(value), seqno);
        self.account.add(bytes);
        Word::leaf(l)
    }

    fn leaf_of<'g>(&self, w: Word, guard: &'g Guard) -> Option<LeafRef<'g>> {
        // SAFETY: the caller loaded `w` from a slot of a node reached
        // under `guard` (every call site: an end slot just read).
        match unsafe { w.get(guard) } {
            Some(Child::Leaf(l)) => Some(l),
            _ => None,
        }
    }

    /// Pushes a version of `l` (`None`: a tombstone), under the latch of
    /// the node that holds it: takes the seqno, trims what no snapshot can
    /// see, counts a key that comes alive. Returns the seqno, to publish
    /// after the unlock.
    fn push_version(&self, l: LeafRef<'_>, value: Option<&[u8]>, guard: &Guard) -> Seqno {
        let was_live = !l.newest().is_tomb();
        let t = self.clock.take();
        let (rec, bytes) = leaf::new_record(t.seqno, value);
        self.account.add(bytes);
        l.push(rec);
        self.trim(l, t, guard);
        match (was_live, value.is_some()) {
            (false, true) => {
                self.len.fetch_add(1, Relaxed);
            }
            (true, false) => {
                self.len.fetch_sub(1, Relaxed);
            }
            _ => {}
        }
        t.seqno
    }

    /// Trims `l`'s versions that no snapshot can see, as of write `t`.
    fn trim(&self, l: LeafRef<'_>, t: Taken, guard: &Guard) {
        if let Some(tail) = l.trim(t.oldest.min(t.seqno)) {
            // SAFETY: the tail was unlinked under the leaf's latch, is
            // retired once, and `free_chain` frees such segments.
            unsafe { retire(tail.as_ptr().cast(), free_chain, guard, &self.account) };
        }
        if t.oldest != NO_SNAPSHOT && l.versions() > 1 {
            self.kept.fetch_add(1, Relaxed);
        }
    }

    /// Removes `key`; returns the seqno of the removal, or `None` if the
    /// key had no live version.
    pub(crate) fn remove(&self, key: &[u8], guard: &Guard) -> Option<Seqno> {
        retry(|| {
            let Some(f) = self.locate(key, guard)? else {
                return Ok(None);
            };
            if f.leaf.newest().is_tomb() {
                f.node.lock().check(f.stamp)?;
                return Ok(None);
            }
            self.remove_found(f, guard).map(Some)
        })
    }

    /// Tidies `key` once snapshots are gone: trims its versions and
    /// unlinks it if its newest version is a tombstone no snapshot needs.
    pub(crate) fn tidy(&self, key: &[u8], guard: &Guard) {
        retry(|| {
            let Some(f) = self.locate(key, guard)? else {
                return Ok(());
            };
            if f.leaf.newest().is_tomb() {
                return self.unlink(f, Mode::Tidy, guard).map(drop);
            }
            f.node.lock().try_upgrade(f.stamp)?;
            self.trim_to(f.leaf, self.clock.oldest(), guard);
            f.node.lock().unlock();
            Ok(())
        })
    }

    /// Trims what no snapshot pinned at `oldest` or later can see.
    fn trim_to(&self, l: LeafRef<'_>, oldest: Seqno, guard: &Guard) {
        let newest = l.newest().seqno();
        if let Some(tail) = l.trim(oldest.min(newest)) {
            // SAFETY: as in `trim`.
            unsafe { retire(tail.as_ptr().cast(), free_chain, guard, &self.account) };
        }
    }

    /// Finds `key`'s leaf for a write: where it hangs and the versions read.
    fn locate<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Result<Option<Found<'g>>, Restart> {
        let mut parent = None;
        let mut node = self.root(guard);
        let mut depth = 0;
        loop {
            let v = node.lock().read_begin()?;
            let plen = node.plen();
            if key.len() < depth + plen || !stored_match(node.prefix(), plen, key, depth) {
                node.lock().check(v)?;
                return Ok(None);
            }
            depth += plen;
            let (slot, w) = if depth == key.len() {
                (Slot::End, node.end())
            } else {
                (Slot::Byte(key[depth]), node.find(key[depth]))
            };
            node.lock().check(v)?;
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            match unsafe { w.get(guard) } {
                None => return Ok(None),
                Some(Child::Leaf(l)) => {
                    if l.key() != key {
                        return Ok(None);
                    }
                    return Ok(Some(Found {
                        parent,
                        node,
                        stamp: v,
                        slot,
                        leaf: l,
                    }));
                }
                Some(Child::Node(c)) => {
                    let Slot::Byte(byte) = slot else {
                        return Err(Restart);
                    };
                    parent = Some(Parent {
                        node,
                        stamp: v,
                        byte,
                    });
                    node = c;
                    depth += 1;
                }
            }
        }
    }

    /// Removes the live key found: a tombstone if a snapshot may need the
    /// older versions, otherwise the leaf goes.
    fn remove_found(&self, f: Found<'_>, guard: &Guard) -> Result<Seqno, Restart> {
        // Whether a snapshot is alive picks the path; `unlink` takes the
        // seqno under the latches and pushes a tombstone after all if a
        // snapshot appeared meanwhile.
        if self.clock.oldest() == NO_SNAPSHOT {
            return self
                .unlink(f, Mode::Remove, guard)
                .map(|s| s.expect("a removal takes a seqno"));
        }
        f.node.lock().try_upgrade(f.stamp)?;
        let s = self.push_version(f.leaf, None, guard);
        f.node.lock().unlock();
        self.clock.publish(s);
        Ok(s)
    }

    /// Unlinks the leaf found, shrinking or collapsing its node as needed.
    /// [`Mode::Remove`]: a removal of a live key, which takes a seqno (and
    /// pushes a tombstone instead if a snapshot pinned below it appeared);
    /// [`Mode::Tidy`]: a tombstoned leaf that goes if no snapshot needs it
    /// (else its versions are trimmed). Returns the removal's seqno.
    fn unlink(&self, f: Found<'_>, mode: Mode, guard: &Guard) -> Result<Option<Seqno>, Restart> {
        let node = f.node;
        let root = node == self.root(guard);
        let after = node.entries().saturating_sub(1);
        let collapse = !root && after <= 1;
        let shrink =
            !root && !collapse && matches!(f.slot, Slot::Byte(_)) && node.shrinks_after_remove();
        // The entry left after a collapse: the end leaf or the only child.
        let left = if collapse {
            let left = match f.slot {
                Slot::End => node.next_slot(0),
                Slot::Byte(b) => node
                    .next_slot(-1)
                    .filter(|&(at, _)| at != b as i32 + 1)
                    .or_else(|| node.next_slot(b as i32 + 1)),
            };
            Some(left.ok_or(Restart)?)
        } else {
            None
        };
        // Latches, top down, each only tried: parent, node, and for a
        // collapse onto a child node, that child.
        let p = if collapse || shrink {
            let p = f.parent.as_ref().ok_or(Restart)?;
            p.node.lock().try_upgrade(p.stamp)?;
            Some(p)
        } else {
            None
        };
        let unlock_parent = || {
            if let Some(p) = p {
                p.node.lock().unlock();
            }
        };
        if node.lock().try_upgrade(f.stamp).is_err() {
            unlock_parent();
            return Err(Restart);
        }
        // `left` was read before the latch; the upgrade from `f.stamp`
        // proves the node unchanged since, so it stands.
        let mut child = None;
        if let Some((at, w)) = left {
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            if let Some(Child::Node(c)) = unsafe { w.get(guard) } {
                if c.lock()
                    .read_begin()
                    .and_then(|cv| c.lock().try_upgrade(cv))
                    .is_err()
                {
                    node.lock().unlock();
                    unlock_parent();
                    return Err(Restart);
                }
                child = Some((c, (at - 1) as u8));
            }
        }
        let unlock_all = || {
            if let Some((c, _)) = child {
                c.lock().unlock();
            }
            node.lock().unlock();
            unlock_parent();
        };
        let mut seqno = None;
        match mode {
            Mode::Remove => {
                let t = self.clock.take();
                if must_keep(t.oldest, t.seqno) {
                    // A snapshot appeared since we looked: keep the versions.
                    let (rec, bytes) = leaf::new_record(t.seqno, None);
                    self.account.add(bytes);
                    f.leaf.push(rec);
                    self.trim(f.leaf, t, guard);
                    self.len.fetch_sub(1, Relaxed);
                    unlock_all();
                    self.clock.publish(t.seqno);
                    return Ok(Some(t.seqno));
                }
                seqno = Some(t.seqno);
            }
            Mode::Tidy => {
                let newest = f.leaf.newest();
                let oldest = self.clock.oldest();
                if !newest.is_tomb() || must_keep(oldest, newest.seqno()) {
                    self.trim_to(f.leaf, oldest, guard);
                    unlock_all();
                    return Ok(None);
                }
            }
        }
        // Past this point nothing fails.
        match f.slot {
            Slot::End => node.set_end(Word::EMPTY),
            Slot::Byte(b) => node.remove(b),
        }
        if let Some(p) = p {
            if let Some((c, cb)) = child {
                // The child's path grows by this node's path and byte.
                let (nplen, cplen) = (node.plen(), c.plen());
                let mut bytes = [0u8; STORED];
                let mut n = 0;
                for i in 0..nplen.min(STORED) {
                    bytes[n] = prefix_byte(node.prefix(), i);
                    n += 1;
                }
                if n < STORED {
                    bytes[n] = cb;
                    n += 1;
                }
                for i in 0..cplen.min(STORED - n) {
                    bytes[n] = prefix_byte(c.prefix(), i);
                    n += 1;
                }
                c.set_prefix(nplen + 1 + cplen, pack_prefix(&bytes[..n]));
                p.node.replace(p.byte, c.word());
                c.lock().unlock();
            } else if let Some((_, w)) = left {
                p.node.replace(p.byte, w);
            } else {
                let (small, bytes) = node.copy_resized(false);
                self.account.add(bytes);
                p.node.replace(p.byte, Word::node(small));
            }
            node.lock().unlock_obsolete();
            p.node.lock().unlock();
            self.retire_node(node, guard);
        } else {
            node.lock().unlock();
        }
        // SAFETY: the leaf was unlinked under its node's latch, and is
        // retired once (by whoever unlinks it).
        unsafe { retire(f.leaf.as_ptr().cast(), free_leaf, guard, &self.account) };
        if let Some(s) = seqno {
            self.len.fetch_sub(1, Relaxed);
            self.clock.publish(s);
        }
        Ok(seqno)
    }

    fn retire_node(&self, node: NodeRef<'_>, guard: &Guard) {
        // SAFETY: `node` was replaced in its parent under both latches and
        // marked obsolete; it is retired once, by the writer that did it.
        unsafe { retire(node.as_ptr().cast(), free_node, guard, &self.account) };
    }
}

/// Whether the stored bytes of a path of `plen` match `key` at `depth`
/// (the caller checked that the key is long enough).
#[inline]
fn stored_match(prefix: u64, plen: usize, key: &[u8], depth: usize) -> bool {
    let n = plen.min(STORED);
    let Some(k) = key.get(depth..depth + n) else {
        return false;
    };
    k.iter()
        .enumerate()
        .all(|(i, &b)| prefix_byte(prefix, i) == b)
}

/// Where `key` (from `depth`) leaves a path of `plen` bytes, and how the
/// path compares with it there (a key that ends inside sorts below).
fn mismatch(path: &PathBytes<'_>, plen: usize, key: &[u8], depth: usize) -> Option<(usize, Cmp)> {
    (0..plen).find_map(|i| match key.get(depth + i) {
        None => Some((i, Cmp::Greater)),
        Some(&k) => {
            let p = path.byte(i);
            (p != k).then(|| (i, p.cmp(&k)))
        }
    })
}

/// The length of the common prefix of two byte strings.
fn lcp(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Places a leaf of `key` in a fresh node whose keys part at `at`.
fn place(m: NodeRef<'_>, key: &[u8], at: usize, w: Word) {
    if key.len() == at {
        m.set_end(w);
    } else {
        m.add(key[at], w);
    }
}

impl Tree {
    /// Node, leaf and version counts from a walk of the tree (racy but
    /// safe while writers run: every word read names a live object).
    pub(crate) fn stats(&self, guard: &Guard) -> crate::Stats {
        let mut s = crate::Stats::default();
        let mut stack = vec![(Word::node(self.root), 1usize)];
        while let Some((w, depth)) = stack.pop() {
            // SAFETY: loaded from a slot of a node reached under `guard`
            // (or the root).
            match unsafe { w.get(guard) } {
                None => {}
                Some(Child::Leaf(l)) => {
                    s.leaves += 1;
                    s.versions += l.versions();
                    s.max_depth = s.max_depth.max(depth);
                }
                Some(Child::Node(n)) => {
                    let k = n.kind() as usize;
                    s.nodes[k] += 1;
                    s.node_bytes[k] += n.kind().bytes();
                    s.prefix_bytes += n.plen();
                    stack.push((n.end(), depth));
                    stack.extend(n.children().map(|(_, w)| (w, depth + 1)));
                }
            }
        }
        s
    }
}

impl Tree {
    /// Checks the tree's structure, single-threaded: every node's stored
    /// path bytes are those its keys share, every leaf sits where its key
    /// says (the end leaf's key ends at its node, a child's key has the
    /// child's byte there), nodes other than the root hold two entries or
    /// more, and each kind holds as many children as its thresholds allow.
    pub(crate) fn check(&self, guard: &Guard) -> Result<(), String> {
        // (word, depth of the node or leaf's slot, the key bytes above it)
        let mut stack: Vec<(Word, usize, Vec<u8>)> = vec![(Word::node(self.root), 0, Vec::new())];
        while let Some((w, depth, above)) = stack.pop() {
            // SAFETY: loaded from a slot of a node reached under `guard`.
            match unsafe { w.get(guard) } {
                None => return Err("an empty word on the stack".into()),
                Some(Child::Leaf(l)) => {
                    if !l.key().starts_with(&above) {
                        return Err(format!("leaf {:?} under {above:?}", l.key()));
                    }
                }
                Some(Child::Node(n)) => {
                    let root = n == self.root(guard);
                    if root && n.entries() == 0 {
                        continue;
                    }
                    let plen = n.plen();
                    let r = self
                        .any_leaf(n, guard)
                        .map_err(|_| format!("no leaf below the node at {above:?}"))?
                        .key();
                    if !r.starts_with(&above) || r.len() < depth + plen {
                        return Err(format!("node at {above:?} (path {plen}) holds {r:?}"));
                    }
                    let path = &r[..depth + plen];
                    for i in 0..plen.min(STORED) {
                        if prefix_byte(n.prefix(), i) != path[depth + i] {
                            return Err(format!("stored path byte {i} wrong at {path:?}"));
                        }
                    }
                    let (count, entries) = (n.count(), n.entries());
                    if !root && entries < 2 {
                        return Err(format!("node at {path:?} holds {entries} entries"));
                    }
                    let min = match n.kind() {
                        _ if root => 0,
                        Kind::N4 => 0,
                        Kind::N16 => 4,
                        Kind::N48 => 13,
                        Kind::N256 => 41,
                    };
                    if count < min {
                        return Err(format!("{:?} at {path:?} holds {count}", n.kind()));
                    }
                    let e = n.end();
                    // SAFETY: as above.
                    match unsafe { e.get(guard) } {
                        Some(Child::Leaf(l)) if l.key() != path => {
                            return Err(format!("end leaf {:?} at {path:?}", l.key()));
                        }
                        Some(Child::Node(_)) => return Err("a node in an end slot".into()),
                        _ => {}
                    }
                    let mut seen = 0;
                    for (b, w) in n.children() {
                        let mut below = path.to_vec();
                        below.push(b);
                        stack.push((w, depth + plen + 1, below));
                        seen += 1;
                    }
                    if seen != count {
                        return Err(format!("{seen} children at {path:?}, count {count}"));
                    }
                    if !e.is_empty() {
                        stack.push((e, depth + plen, path.to_vec()));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // No recursion: an explicit stack of words still to free.
        let mut stack = vec![Word::node(self.root)];
        let guard = crossbeam_epoch::pin();
        while let Some(w) = stack.pop() {
            // SAFETY: with `&mut self` no other thread reaches the tree;
            // each word is reached once (the tree is a tree).
            match unsafe { w.get(&guard) } {
                None => {}
                Some(Child::Leaf(l)) => {
                    // SAFETY: unreachable now, freed once.
                    let b = unsafe { free_leaf(l.as_ptr().cast()) };
                    self.account.sub(b);
                }
                Some(Child::Node(n)) => {
                    stack.push(n.end());
                    stack.extend(n.children().map(|(_, w)| w));
                    // SAFETY: its slots were read above; freed once.
                    let b = unsafe { free_node(n.as_ptr().cast()) };
                    self.account.sub(b);
                }
            }
        }
        drop(guard);
        self.account.drain();
        // SAFETY: `&mut self`: nothing reaches the retired objects.
        unsafe { self.account.free_limbo() };
    }
}
