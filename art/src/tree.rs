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
//!   under the latch ([`Clock::take`]), after acquiring it (and its
//!   parent's, when a node is replaced), pushes its record, trims what no
//!   snapshot can see and unlocks. The clock is latched
//!   ([`Clock::latched`]): every reader of what a write changes validates
//!   against those latches, so a seqno is visible as it is taken and
//!   `publish` does nothing. A remove that a
//!   snapshot may still need to see past pushes a tombstone; otherwise it
//!   unlinks the leaf.

use crate::bytes::{Bytes, InlineBytes, INLINE_KEY};
use crate::leaf::{self, free_chain, free_leaf, LeafRef, RecordRef};
use crate::node::{
    free_area, free_node, head_of, new_node, new_node_with, new_run, pack_prefix, packed_len,
    prefix_byte, tie_of, wide_kind, Child, Entry, Head, Inline, Kind, NodeRef, Packed, Prefix,
    Word, INLINE_SUFFIX, INLINE_VALUE, RUN, STORED,
};
use core::cmp::Ordering as Cmp;
use core::ptr::NonNull;
use crossbeam_epoch::Guard;
use ordex_core::counter::Counter;
use ordex_core::head::word_le;
use ordex_core::mvcc::{must_keep, Clock, Taken, NO_SNAPSHOT};
use ordex_core::olc::{retry, Restart, Stamp};
use ordex_core::reclaim::{retire, Account};
use ordex_core::Seqno;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// The tree proper: a fixed Node256 root (depth 0, no prefix, never
/// replaced), the clock, and the accounting.
pub(crate) struct Tree {
    root: NonNull<crate::node::Header>,
    pub(crate) clock: Clock,
    pub(crate) account: Arc<Account>,
    /// Keys with a live newest version.
    len: Counter,
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

/// A node a write passed, with the version it read there and the byte
/// (at `depth` in the key) it followed.
#[derive(Clone, Copy)]
struct Parent<'g> {
    node: NodeRef<'g>,
    stamp: Stamp,
    byte: u8,
    depth: usize,
}

/// A place in a node: its end leaf, a child byte, or an entry of a run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    End,
    Byte(u8),
    Run(usize),
}

impl Place {
    /// Its position, as [`NodeRef::next_slot`] counts them.
    fn pos(self) -> i32 {
        match self {
            Place::End => 0,
            Place::Byte(b) => b as i32 + 1,
            Place::Run(i) => i as i32 + 1,
        }
    }
}

/// Whether two keys that collide in a slot, with `a` and `b` bytes after
/// it (their tails), go into a Node4 rather than a run: when the tails
/// are as long as each other and short enough for inline entries of a
/// node by byte (a byte and up to 6 more). Keys of one width (integers,
/// fixed composite keys) collide so, and a run would only add its heads
/// and its search for them (8- and 12-byte integer and composite keys
/// loaded 8-15% slower through runs). Tails of different lengths (words)
/// or longer ones (URLs) go into a run, whose inline entries hold up to
/// [`RUN_INLINE_TAIL`](crate::node::RUN_INLINE_TAIL) bytes: a word's
/// collision in a Node4 starts a chain of small nodes by byte, each a
/// miss for a get and a scan (`docs/art.md`, *Runs for words*).
fn by_byte(a: usize, b: usize) -> bool {
    a == b && a <= INLINE_SUFFIX + 1
}

/// Places entry `e` of key `k` in fresh run `m` (not yet published)
/// whose tails start at `start`, after every key placed before (keys come
/// in ascending order): as its end leaf if the key ends there (`e` is then
/// a leaf), else as its last entry.
fn run_append(m: NodeRef<'_>, k: &[u8], start: usize, e: Entry) {
    if k.len() == start {
        debug_assert!(!e.word.is_inline() && m.count() == 0);
        m.set_end(e.word);
    } else {
        m.run_insert(m.count(), head_of(&k[start..]), e.for_run(&k[start..]));
    }
}

/// Where `tail` is among the entries of run `node` (whose tails start at
/// `d` in their keys): the index of its entry (and the entry) if it has
/// one, else the index it would take. Reads without validating: the caller
/// validates `node`'s version before it acts on the answer (every word
/// read names an object live under `guard`, module invariant 3 of `node`).
#[inline]
pub(crate) fn run_find(
    node: NodeRef<'_>,
    d: usize,
    tail: &[u8],
    guard: &Guard,
) -> Result<(usize, Option<Entry>), Restart> {
    let tie = tie_of(tail);
    node.run_search(head_of(tail), |e, h, t| {
        // SAFETY: loaded from a slot of `node`, reached under `guard`.
        Some(match unsafe { e.get(guard) } {
            // A leaf's or packed entry's tie word orders it unless it
            // ties too: then its key.
            Some(Child::Leaf(_) | Child::Packed(_)) if t != tie => t.cmp(&tie),
            Some(Child::Leaf(l)) => l.key().get(d..)?.cmp(tail),
            Some(Child::Packed(r)) => r.key().get(d..)?.cmp(tail),
            Some(Child::Inline(x)) => {
                let (t, n) = x.run_tail(h);
                t[..n].cmp(tail)
            }
            _ => return None,
        })
    })
    .ok_or(Restart)
}

/// Why a leaf is unlinked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Remove,
    Tidy,
}

/// What a lookup found for a key: its leaf, its inline entry, or its
/// packed entry.
#[derive(Clone, Copy)]
pub(crate) enum Hit<'g> {
    Leaf(LeafRef<'g>),
    Inline(Inline),
    Packed(Packed<'g>),
}

/// A version found: a record, or an inline or packed entry's value (seen
/// by every reader).
#[derive(Clone, Copy)]
pub(crate) enum Val<'g> {
    Rec(RecordRef<'g>),
    Inline(Inline),
    Packed(&'g [u8]),
}

impl<'g> Val<'g> {
    /// The value.
    #[inline]
    pub(crate) fn bytes(self) -> Bytes<'g> {
        match self {
            Val::Rec(r) => Bytes::Borrowed(r.value()),
            Val::Packed(v) => Bytes::Borrowed(v),
            Val::Inline(i) => {
                let (v, n) = i.value();
                let mut buf = [0u8; INLINE_KEY];
                buf[..8].copy_from_slice(&v);
                Bytes::Inline(InlineBytes::from_buf(buf, n))
            }
        }
    }
}

impl<'g> Hit<'g> {
    /// The version a reader at `seqno` (`None`: the newest) sees.
    #[inline]
    pub(crate) fn value_at(self, seqno: Option<Seqno>) -> Option<Val<'g>> {
        match self {
            Hit::Leaf(l) => l.value_at(seqno).map(Val::Rec),
            Hit::Inline(i) => Some(Val::Inline(i)),
            Hit::Packed(r) => Some(Val::Packed(r.value())),
        }
    }
}

/// The key or inline entry found for a write, with where it hangs: the
/// node holding it (its version, the depth of its child bytes) and every
/// node above.
struct Found<'g> {
    parents: SmallVec<[Parent<'g>; 16]>,
    node: NodeRef<'g>,
    stamp: Stamp,
    /// The depth of `node`'s child bytes (after its path).
    depth: usize,
    place: Place,
    hit: Hit<'g>,
}

/// What a write that builds fresh runs from existing entries (a pair, a
/// burst) needs to pack leaves into their areas: the oldest snapshot pin
/// its seqno was taken with (a leaf whose one version no snapshot pinned
/// below it needs is packed), and the leaves it packed, which it retires
/// once the runs are published in their place.
struct Repack<'g> {
    oldest: Seqno,
    packed: SmallVec<[LeafRef<'g>; 2]>,
}

impl<'g> Repack<'g> {
    fn new(t: Taken) -> Self {
        Repack {
            oldest: t.oldest,
            packed: SmallVec::new(),
        }
    }
}

/// The bytes of a node's compressed path: the stored ones, and the rest
/// from a leaf below it.
struct PathBytes<'g> {
    stored: Prefix,
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

    /// Bytes `from..from + n` (the first `STORED` of them), packed.
    fn pack(&self, from: usize, n: usize) -> Prefix {
        let mut b = [0u8; STORED];
        for (i, x) in b.iter_mut().enumerate().take(n.min(STORED)) {
            *x = self.byte(from + i);
        }
        pack_prefix(&b[..n.min(STORED)])
    }
}

/// Whether a write taken as `t` is seen by every snapshot alive or to come
/// (none is pinned below it), so its version may live in a slot without a
/// seqno.
#[inline]
fn seen_by_all(t: Taken) -> bool {
    !must_keep(t.oldest, t.seqno)
}

impl Tree {
    pub(crate) fn new() -> Self {
        let account = Arc::new(Account::default());
        let (root, bytes) = new_node(Kind::N256, 0, [0, 0]);
        account.add(bytes);
        Tree {
            root,
            clock: Clock::new().latched(),
            account,
            len: Counter::new(),
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
        self.len.get()
    }

    // -- Reads --------------------------------------------------------------

    /// The leaf or inline entry of `key`, if the tree has one (whatever its
    /// versions).
    #[inline]
    pub(crate) fn find<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Option<Hit<'g>> {
        retry(|| self.try_find(key, guard))
    }

    #[inline]
    fn try_find<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Result<Option<Hit<'g>>, Restart> {
        let mut node = self.root(guard);
        let mut depth = 0;
        let mut parent: Option<(NodeRef<'g>, Stamp)> = None;
        loop {
            let v = node.lock().read_begin()?;
            coupled(parent)?;
            let plen = node.plen();
            if plen > 0 {
                if key.len() < depth + plen || !stored_match(node.prefix(), plen, key, depth) {
                    node.lock().check(v)?;
                    return Ok(None);
                }
                depth += plen;
            }
            let e = if depth == key.len() {
                Entry::of(node.end())
            } else if node.is_run() {
                let (_, e) = run_find(node, depth, &key[depth..], guard)?;
                node.lock().check(v)?;
                // SAFETY: loaded from a slot of `node`, reached under `guard`.
                return Ok(match e.and_then(|e| unsafe { e.get(guard) }) {
                    Some(Child::Leaf(l)) => (l.key() == key).then_some(Hit::Leaf(l)),
                    Some(Child::Packed(r)) => (r.key() == key).then_some(Hit::Packed(r)),
                    // Its tail is the key's (compared above, validated).
                    Some(Child::Inline(i)) => Some(Hit::Inline(i)),
                    _ => None,
                });
            } else {
                node.find(key[depth])
            };
            node.lock().check(v)?;
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            match unsafe { e.get(guard) } {
                // Packed entries live only in runs.
                None | Some(Child::Packed(_)) => return Ok(None),
                Some(Child::Leaf(l)) => return Ok((l.key() == key).then_some(Hit::Leaf(l))),
                Some(Child::Inline(i)) => {
                    // The path to the slot is the key's (module docs of
                    // `node`: inline entries sit below whole paths).
                    let hit = i.suffix_is(&key[depth + 1..]);
                    return Ok(hit.then_some(Hit::Inline(i)));
                }
                Some(Child::Node(c)) => {
                    e.word.prefetch_node_for(key.get(depth + 1).copied());
                    parent = Some((node, v));
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
    ) -> Option<Val<'g>> {
        self.find(key, guard)?.value_at(seqno)
    }

    /// The longest key that is a prefix of `key` (itself included) and has
    /// a version a reader at `seqno` sees.
    pub(crate) fn longest_prefix<'g>(
        &'g self,
        key: &[u8],
        seqno: Option<Seqno>,
        guard: &'g Guard,
    ) -> Option<(Bytes<'g>, Val<'g>)> {
        retry(|| {
            let mut best: Option<(Bytes<'g>, Val<'g>)> = None;
            let mut node = self.root(guard);
            let mut depth = 0;
            let mut parent: Option<(NodeRef<'g>, Stamp)> = None;
            let consider = |l: LeafRef<'g>, best: &mut Option<(Bytes<'g>, Val<'g>)>| {
                if key.starts_with(l.key()) {
                    if let Some(r) = l.value_at(seqno) {
                        *best = Some((Bytes::Borrowed(l.key()), Val::Rec(r)));
                    }
                }
            };
            loop {
                let v = node.lock().read_begin()?;
                coupled(parent)?;
                let plen = node.plen();
                if key.len() < depth + plen || !stored_match(node.prefix(), plen, key, depth) {
                    node.lock().check(v)?;
                    return Ok(best);
                }
                depth += plen;
                let end = node.end();
                if node.is_run() {
                    // Entries whose tails are prefixes of the key's rest:
                    // in key order, each a prefix of the next, so the last
                    // one with a visible version is the longest.
                    let count = node.count();
                    let mut entries = [(0, Entry::EMPTY); RUN];
                    for (i, e) in entries.iter_mut().enumerate().take(count) {
                        *e = (node.run_head(i), node.run_entry(i));
                    }
                    node.lock().check(v)?;
                    // SAFETY: loaded from `node`'s end slot under `guard`.
                    if let Some(Child::Leaf(l)) = unsafe { end.get(guard) } {
                        consider(l, &mut best);
                    }
                    let rest = key.get(depth..).unwrap_or(&[]);
                    for (h, e) in &entries[..count] {
                        // SAFETY: loaded from a slot of `node` under `guard`.
                        match unsafe { e.get(guard) } {
                            Some(Child::Leaf(l)) => consider(l, &mut best),
                            Some(Child::Packed(r)) if key.starts_with(r.key()) => {
                                best = Some((Bytes::Borrowed(r.key()), Val::Packed(r.value())));
                            }
                            Some(Child::Inline(i)) => {
                                let (s, n) = i.run_tail(*h);
                                if rest.starts_with(&s[..n]) {
                                    let k = InlineBytes::new(&key[..depth + n]);
                                    best = Some((Bytes::Inline(k), Val::Inline(i)));
                                }
                            }
                            _ => {}
                        }
                    }
                    return Ok(best);
                }
                let e = if depth < key.len() {
                    node.find(key[depth])
                } else {
                    Entry::EMPTY
                };
                node.lock().check(v)?;
                // SAFETY: loaded from a slot of `node`, reached under `guard`.
                if let Some(Child::Leaf(l)) = unsafe { end.get(guard) } {
                    consider(l, &mut best);
                }
                // SAFETY: as above.
                match unsafe { e.get(guard) } {
                    None | Some(Child::Packed(_)) => return Ok(best),
                    Some(Child::Leaf(l)) => {
                        consider(l, &mut best);
                        return Ok(best);
                    }
                    Some(Child::Inline(i)) => {
                        let (s, n) = i.suffix();
                        if key[depth + 1..].starts_with(&s[..n]) {
                            let k = InlineBytes::new(&key[..depth + 1 + n]);
                            best = Some((Bytes::Inline(k), Val::Inline(i)));
                        }
                        return Ok(best);
                    }
                    Some(Child::Node(c)) => {
                        e.word.prefetch_node();
                        parent = Some((node, v));
                        node = c;
                        depth += 1;
                    }
                }
            }
        })
    }

    /// The key of some leaf or packed entry below `node` (every key below
    /// shares its whole path), read optimistically; the caller validates
    /// `node` afterwards. Only for nodes whose path is longer than the
    /// stored bytes, below which no inline entry lives.
    ///
    /// It follows `key`'s bytes (from `depth`, where `node`'s path starts)
    /// while it can, so the leaf it reads is one an insert or seek of
    /// `key` goes near anyway (in cache: the newest of ascending keys),
    /// then any first entry.
    pub(crate) fn any_key<'g>(
        &'g self,
        node: NodeRef<'g>,
        key: &[u8],
        depth: usize,
        guard: &'g Guard,
    ) -> Result<&'g [u8], Restart> {
        let mut n = node;
        let mut d = depth;
        let mut parent: Option<(NodeRef<'g>, Stamp)> = None;
        loop {
            let v = n.lock().read_begin()?;
            coupled(parent)?;
            d += n.plen();
            let near = match key.get(d) {
                Some(&b) => Some(n.find(b)).filter(|e| !e.is_empty()),
                None => None,
            };
            let first = near.map(|e| (0, e)).or_else(|| n.next_slot(-1));
            n.lock().check(v)?;
            d += 1;
            let (_, e) = first.ok_or(Restart)?;
            // SAFETY: loaded from a slot of `n`, reached under `guard`.
            match unsafe { e.get(guard) } {
                Some(Child::Leaf(l)) => return Ok(l.key()),
                Some(Child::Packed(r)) => return Ok(r.key()),
                Some(Child::Node(c)) => {
                    parent = Some((n, v));
                    n = c;
                }
                Some(Child::Inline(_)) => {
                    debug_assert!(false, "an inline entry below a partly stored path");
                    return Err(Restart);
                }
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
        key: &[u8],
        depth: usize,
        guard: &'g Guard,
    ) -> Result<PathBytes<'g>, Restart> {
        let stored = node.prefix();
        let leaf_key = if plen > STORED {
            let k = self.any_key(node, key, depth, guard)?;
            node.lock().check(v)?;
            if k.len() < depth + plen {
                return Err(Restart);
            }
            k
        } else {
            &[][..]
        };
        Ok(PathBytes {
            stored,
            leaf_key,
            depth,
        })
    }

    /// How `node`'s whole compressed path compares with `key` from
    /// `depth` on (a key that ends inside the path sorts below it).
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
            let path = self.path_bytes(node, v, plen, key, depth, guard)?;
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
        // Whether every node so far stores its whole path (inline entries
        // may live only below such paths).
        let mut whole = true;
        loop {
            let v = node.lock().read_begin()?;
            coupled(parent.as_ref().map(|p| (p.node, p.stamp)))?;
            let whole_above = whole;
            let plen = node.plen();
            if plen > 0 {
                let path = self.path_bytes(node, v, plen, key, depth, guard)?;
                if let Some((at, _)) = mismatch(&path, plen, key, depth) {
                    let p = parent.as_ref().expect("the root has no compressed path");
                    return self.split_path(p, node, v, &path, plen, at, key, value, depth, whole);
                }
                depth += plen;
                whole &= plen <= STORED;
            }
            if depth == key.len() {
                node.lock().try_upgrade(v)?;
                let e = node.end();
                // SAFETY: loaded from `node`'s end slot under `guard`.
                let s = match unsafe { e.get(guard) } {
                    Some(Child::Leaf(l)) => {
                        let t = self.clock.take();
                        self.push_at(l, t, Some(value), guard);
                        t.seqno
                    }
                    _ => {
                        let t = self.clock.take();
                        node.set_end(self.new_leaf(key, value, t.seqno));
                        self.len.add(1);
                        t.seqno
                    }
                };
                node.lock().unlock();
                self.clock.publish(s);
                return Ok(s);
            }
            if node.is_run() {
                let p = parent.as_ref().expect("the root is a Node256, never a run");
                return self.insert_in_run(
                    p,
                    node,
                    v,
                    key,
                    value,
                    depth,
                    whole,
                    whole_above,
                    guard,
                );
            }
            let b = key[depth];
            let e = node.find(b);
            node.lock().check(v)?;
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            match unsafe { e.get(guard) } {
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
                    let e = self.entry_for(key, depth, value, t, whole);
                    big.add(b, self.fitted(big, key, e));
                    return Ok(self.replace_with(p, node, big, t, guard));
                }
                None => {
                    node.lock().try_upgrade(v)?;
                    let t = self.clock.take();
                    let e = self.entry_for(key, depth, value, t, whole);
                    node.add(b, self.fitted(node, key, e));
                    node.lock().unlock();
                    self.len.add(1);
                    self.clock.publish(t.seqno);
                    return Ok(t.seqno);
                }
                Some(Child::Leaf(l)) => {
                    node.lock().try_upgrade(v)?;
                    let t = self.clock.take();
                    if l.key() == key {
                        self.push_at(l, t, Some(value), guard);
                    } else {
                        // Lazy expansion ends here: a node below `b` holds
                        // both keys after what they share.
                        let old = Entry::of(Word::leaf(l.non_null()));
                        let mut rp = Repack::new(t);
                        let m = self.pair(
                            l.key(),
                            old,
                            key,
                            depth + 1,
                            value,
                            t,
                            whole,
                            &mut rp,
                            guard,
                        );
                        node.replace(b, Entry::of(m.word()));
                        self.retire_packed(rp, guard);
                        self.len.add(1);
                    }
                    node.lock().unlock();
                    self.clock.publish(t.seqno);
                    return Ok(t.seqno);
                }
                Some(Child::Inline(i)) => {
                    node.lock().try_upgrade(v)?;
                    let t = self.clock.take();
                    let tail = &key[depth + 1..];
                    if i.suffix_is(tail) {
                        // An overwrite: in the slot if every snapshot sees
                        // it (and the node holds it), else the key becomes
                        // a leaf with both versions.
                        let new = Inline::new(tail, value)
                            .filter(|n| seen_by_all(t) && node.holds(n.entry()));
                        match new {
                            Some(new) => node.replace(b, new.entry()),
                            None => {
                                let l = self.materialize(key, i);
                                self.push_at(l, t, Some(value), guard);
                                node.replace(b, Entry::of(Word::leaf(l.non_null())));
                            }
                        }
                    } else {
                        // The old entry moves one node down, beside the
                        // new key.
                        let (s, n) = i.suffix();
                        let mut old = key[..=depth].to_vec();
                        old.extend_from_slice(&s[..n]);
                        let d = depth + 1;
                        let mut rp = Repack::new(t);
                        let m = self.pair(&old, i.entry(), key, d, value, t, whole, &mut rp, guard);
                        node.replace(b, Entry::of(m.word()));
                        self.retire_packed(rp, guard);
                        self.len.add(1);
                    }
                    node.lock().unlock();
                    self.clock.publish(t.seqno);
                    return Ok(t.seqno);
                }
                Some(Child::Node(c)) => {
                    e.word.prefetch_node();
                    parent = Some(Parent {
                        node,
                        stamp: v,
                        byte: b,
                        depth,
                    });
                    node = c;
                    depth += 1;
                }
                // Packed entries live only in runs.
                Some(Child::Packed(_)) => return Err(Restart),
            }
        }
    }

    /// Splits `node`'s compressed path where `key` leaves it (at `at`): a
    /// new Node4 takes the shared part, with `node` (its path cut) and the
    /// new key below. `whole`: whether every node above stores its whole
    /// path.
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
        whole: bool,
    ) -> Result<Seqno, Restart> {
        p.node.lock().try_upgrade(p.stamp)?;
        if node.lock().try_upgrade(v).is_err() {
            p.node.lock().unlock();
            return Err(Restart);
        }
        let m = self.new_n4(at, path.pack(0, at));
        let rest = plen - at - 1;
        m.add(path.byte(at), Entry::of(node.word()));
        let t = self.clock.take();
        self.place_new(m, key, depth + at, value, t, whole && at <= STORED);
        node.set_prefix(rest, path.pack(at + 1, rest));
        p.node.replace(p.byte, Entry::of(m.word()));
        node.lock().unlock();
        p.node.lock().unlock();
        self.len.add(1);
        self.clock.publish(t.seqno);
        Ok(t.seqno)
    }

    /// A fresh node for two keys that meet in a slot whose tails start at
    /// `d` (the slot's byte is at `d - 1`): `old`, the entry there (a leaf,
    /// or an inline entry) of key `ok`, and the new `key` written as `t`,
    /// not yet published. Both keep what they share as the node's path; a
    /// Node4 if the tails are short and as long as each other
    /// ([`by_byte`]), else a run.
    #[allow(clippy::too_many_arguments)]
    fn pair<'g>(
        &self,
        ok: &[u8],
        old: Entry,
        key: &[u8],
        d: usize,
        value: &[u8],
        t: Taken,
        whole: bool,
        rp: &mut Repack<'g>,
        guard: &'g Guard,
    ) -> NodeRef<'g> {
        let common = lcp(&ok[d..], &key[d..]);
        let start = d + common;
        let whole = whole && common <= STORED;
        if by_byte(ok.len() - d, key.len() - d) {
            let m = self.new_n4(common, pack_prefix(&key[d..]));
            if ok.len() == start {
                m.set_end(self.as_leaf(ok, old, guard).word);
            } else {
                m.add(ok[start], self.reencoded(ok, old, start + 1, false, guard));
            }
            self.place_new(m, key, start, value, t, whole);
            return m;
        }
        let old_packed = self.to_pack(ok, old, start, whole, rp.oldest, guard);
        let area = old_packed.as_ref().map_or(0, |v| packed_size(ok, v))
            + self.pack_need(key, start, value, whole).unwrap_or(0);
        let m = self.new_run_of(Kind::Run4, common, pack_prefix(&key[d..]), area);
        let moved = self.placed_in_run(m, ok, old, start, whole, rp, guard);
        let e = self.tail_entry(key, start, value, t, whole, Some(m), guard);
        if ok < key {
            run_append(m, ok, start, moved);
            run_append(m, key, start, e);
        } else {
            run_append(m, key, start, e);
            run_append(m, ok, start, moved);
        }
        m
    }

    /// A fresh Node4 with the given path, counted.
    fn new_n4<'g>(&self, plen: usize, prefix: Prefix) -> NodeRef<'g> {
        self.new_node_of(Kind::N4, plen, prefix)
    }

    /// A fresh node of `kind` with the given path, counted.
    fn new_node_of<'g>(&self, kind: Kind, plen: usize, prefix: Prefix) -> NodeRef<'g> {
        self.new_node_with(kind, plen, prefix, INLINE_VALUE)
    }

    /// As [`new_node_of`](Self::new_node_of), with the value length of a
    /// Node256 of values.
    fn new_node_with<'g>(
        &self,
        kind: Kind,
        plen: usize,
        prefix: Prefix,
        vlen: usize,
    ) -> NodeRef<'g> {
        let (m, bytes) = new_node_with(kind, plen, prefix, vlen);
        self.account.add(bytes);
        // SAFETY: fresh and ours until the caller publishes it (and from
        // then on reachable from the tree).
        unsafe { NodeRef::from_raw(m) }
    }

    /// A fresh run of `kind` with the given path and an area of `area`
    /// bytes, counted.
    fn new_run_of<'g>(&self, kind: Kind, plen: usize, prefix: Prefix, area: usize) -> NodeRef<'g> {
        let (m, bytes) = new_run(kind, plen, prefix, area_for(area));
        self.account.add(bytes);
        // SAFETY: fresh and ours until the caller publishes it.
        unsafe { NodeRef::from_raw(m) }
    }

    /// The entry of a new `key` in a run whose tails start at `start`
    /// (the key is longer), if every snapshot sees the write: inline if
    /// the path above is stored whole and the key and its tail are small,
    /// else packed into `run`'s area (a larger one if it has no room);
    /// otherwise a leaf.
    #[allow(clippy::too_many_arguments)]
    fn tail_entry(
        &self,
        key: &[u8],
        start: usize,
        value: &[u8],
        t: Taken,
        whole: bool,
        run: Option<NodeRef<'_>>,
        guard: &Guard,
    ) -> Entry {
        // (A key that ends at the run is its end leaf.)
        if seen_by_all(t) && key.len() > start {
            if let Some(i) = run_inline(key, start, value, whole) {
                return i.entry();
            }
            if let Some(w) = run.and_then(|r| self.pack_into(r, key, value, guard)) {
                return Entry::of(w);
            }
        }
        Entry::of(self.new_leaf(key, value, t.seqno))
    }

    /// The bytes a new `key`'s record takes in the area of a run whose
    /// tails start at `start` (what [`tail_entry`](Self::tail_entry)
    /// packs, when every snapshot sees the write): `None` if it would be
    /// inline or is too long to pack.
    fn pack_need(&self, key: &[u8], start: usize, value: &[u8], whole: bool) -> Option<usize> {
        if key.len() == start || run_inline(key, start, value, whole).is_some() {
            None
        } else {
            packed_len(key.len(), value.len())
        }
    }

    /// Packs a record of `key` and `value` into run `run`'s area (under
    /// its latch, or a fresh run), giving the run a larger area first if
    /// it has no room (the old one retired: readers may still read its
    /// records); `None` if the record is too long to pack.
    fn pack_into(&self, run: NodeRef<'_>, key: &[u8], value: &[u8], guard: &Guard) -> Option<Word> {
        let n = packed_len(key.len(), value.len())?;
        if let Some(w) = run.run_pack(key, value) {
            return Some(w);
        }
        let live = run.packed_bytes() + n;
        let (old, bytes) = run.regrow_area(live + live / 2, guard);
        self.account.add(bytes);
        if let Some(old) = old {
            // SAFETY: the run no longer names the old area (its pointer
            // and its entries' words were replaced under the latch); it
            // is retired once, here, and freed by `free_area` after every
            // guard that could have read a record in it.
            unsafe { retire(old.as_ptr(), free_area, guard, &self.account) };
        }
        run.run_pack(key, value)
    }

    /// The value with which entry `e` of key `k` is packed into a run
    /// whose tails start at `start` (below a path stored whole if
    /// `whole`): a packed entry's, an inline entry's that the run cannot
    /// keep inline, or a leaf's whose one version no snapshot pinned at
    /// `oldest` or later needs apart from it; `None` for what the run
    /// keeps as it is (other leaves, inline entries that fit), for the end
    /// leaf, and for records too long to pack.
    fn to_pack<'g>(
        &self,
        k: &[u8],
        e: Entry,
        start: usize,
        whole: bool,
        oldest: Seqno,
        guard: &'g Guard,
    ) -> Option<Bytes<'g>> {
        if k.len() == start {
            return None;
        }
        // SAFETY: `e` was loaded under a latch from a node reached under
        // `guard`, or is a fresh entry of the caller's.
        let v = match unsafe { e.get(guard) } {
            Some(Child::Packed(r)) => Bytes::Borrowed(r.value()),
            Some(Child::Leaf(l)) => {
                let r = l.newest();
                if l.versions() > 1 || r.is_tomb() || must_keep(oldest, r.seqno()) {
                    return None;
                }
                Bytes::Borrowed(r.value())
            }
            Some(Child::Inline(i)) => {
                if whole && Inline::new_run(&k[start..], i.value_bytes()).is_some() {
                    return None;
                }
                let (v, n) = i.value();
                let mut buf = [0u8; INLINE_KEY];
                buf[..8].copy_from_slice(&v);
                Bytes::Inline(InlineBytes::from_buf(buf, n))
            }
            _ => return None,
        };
        packed_len(k.len(), v.len()).map(|_| v)
    }

    /// Entry `e` of key `k` as fresh run `m` (not yet published, its area
    /// sized by [`to_pack`](Self::to_pack) over its entries), whose tails
    /// start at `start`, keeps it: packed into its area, as it is, or
    /// made a leaf (the end leaf, an inline entry below a partial path).
    #[allow(clippy::too_many_arguments)]
    fn placed_in_run<'g>(
        &self,
        m: NodeRef<'_>,
        k: &[u8],
        e: Entry,
        start: usize,
        whole: bool,
        rp: &mut Repack<'g>,
        guard: &'g Guard,
    ) -> Entry {
        if let Some(v) = self.to_pack(k, e, start, whole, rp.oldest, guard) {
            let w = m
                .run_pack(k, &v)
                .expect("a fresh run's area holds its entries");
            // SAFETY: as in `to_pack`.
            if let Some(Child::Leaf(l)) = unsafe { e.get(guard) } {
                rp.packed.push(l);
            }
            return Entry::of(w);
        }
        if k.len() == start || !whole {
            self.as_leaf(k, e, guard)
        } else {
            self.reencoded(k, e, start, true, guard)
        }
    }

    /// An insert that reached run `node` (read at `v`, its tails starting
    /// at `depth`), below `p`: an overwrite in place, a new entry in its
    /// place, or, the run being full, a burst.
    #[allow(clippy::too_many_arguments)]
    fn insert_in_run(
        &self,
        p: &Parent<'_>,
        node: NodeRef<'_>,
        v: Stamp,
        key: &[u8],
        value: &[u8],
        depth: usize,
        whole: bool,
        whole_above: bool,
        guard: &Guard,
    ) -> Result<Seqno, Restart> {
        let tail = &key[depth..];
        // A new record goes at the area's end: ask for it while searching.
        node.prefetch_area_end();
        let (at, found) = run_find(node, depth, tail, guard)?;
        if let Some(e) = found {
            // The upgrade validates what `run_find` read.
            node.lock().try_upgrade(v)?;
            let t = self.clock.take();
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            match unsafe { e.get(guard) } {
                Some(Child::Leaf(l)) => self.push_at(l, t, Some(value), guard),
                Some(Child::Inline(i)) => {
                    match Inline::new_run(tail, value).filter(|_| seen_by_all(t)) {
                        Some(new) => node.run_set(at, new.entry()),
                        None => {
                            let l = self.materialize(key, i);
                            self.push_at(l, t, Some(value), guard);
                            node.run_set(at, Entry::of(Word::leaf(l.non_null())).for_run(tail));
                        }
                    }
                }
                Some(Child::Packed(r)) => {
                    // A new record if every snapshot sees the write (and
                    // it fits a record), else the key becomes a leaf with
                    // both versions.
                    let new = if seen_by_all(t) {
                        self.pack_into(node, key, value, guard)
                    } else {
                        None
                    };
                    match new {
                        Some(w) => node.run_set(at, Entry::of(w).for_run(tail)),
                        None => {
                            let l = self.materialize_packed(r);
                            self.push_at(l, t, Some(value), guard);
                            node.run_set(at, Entry::of(Word::leaf(l.non_null())).for_run(tail));
                        }
                    }
                }
                _ => unreachable!("a run holds leaves, inline and packed entries"),
            }
            node.lock().unlock();
            self.clock.publish(t.seqno);
            return Ok(t.seqno);
        }
        // A new key: in place if a slot is free.
        if !node.is_full() {
            node.lock().try_upgrade(v)?;
            let t = self.clock.take();
            let e = self.tail_entry(key, depth, value, t, whole, Some(node), guard);
            node.run_insert(at, head_of(tail), e.for_run(tail));
            node.lock().unlock();
            self.len.add(1);
            self.clock.publish(t.seqno);
            return Ok(t.seqno);
        }
        // Full: a larger run takes its place (and over its area), or the
        // largest bursts into a node by byte, under both latches.
        p.node.lock().try_upgrade(p.stamp)?;
        if node.lock().try_upgrade(v).is_err() {
            p.node.lock().unlock();
            return Err(Restart);
        }
        let t = self.clock.take();
        if node.kind() != Kind::Run64 {
            let kind = Kind::for_entries(node.count() + 1);
            let (big, bytes) = node.copy_run(kind);
            self.account.add(bytes);
            // SAFETY: fresh and ours until published below.
            let big = unsafe { NodeRef::from_raw(big) };
            let e = self.tail_entry(key, depth, value, t, whole, Some(big), guard);
            big.run_insert(at, head_of(tail), e.for_run(tail));
            return Ok(self.replace_with(p, node, big, t, guard));
        }
        let e = self.tail_entry(key, depth, value, t, whole, None, guard);
        let top = p.depth + 1;
        let mut rp = Repack::new(t);
        let inner = self.burst(node, key, top, depth, at, e, whole_above, &mut rp, guard);
        let s = self.replace_with(p, node, inner, t, guard);
        self.retire_packed(rp, guard);
        Ok(s)
    }

    /// Publishes `new` in latched `p`'s slot in place of latched `node`,
    /// marks `node` obsolete, releases both latches and retires `node`.
    fn swap_in(&self, p: &Parent<'_>, node: NodeRef<'_>, new: NodeRef<'_>, guard: &Guard) {
        p.node.replace(p.byte, Entry::of(new.word()));
        node.lock().unlock_obsolete();
        p.node.lock().unlock();
        self.retire_node(node, guard);
    }

    /// Ends an insert of a new key (written as `t`) that replaced latched
    /// `node` by `new` (which holds the key) below latched `p`: publishes
    /// `new` in `p`'s slot, marks `node` obsolete, releases both latches,
    /// retires `node`, and publishes the seqno.
    fn replace_with(
        &self,
        p: &Parent<'_>,
        node: NodeRef<'_>,
        new: NodeRef<'_>,
        t: Taken,
        guard: &Guard,
    ) -> Seqno {
        self.swap_in(p, node, new, guard);
        self.len.add(1);
        self.clock.publish(t.seqno);
        t.seqno
    }

    /// The node that replaces full run `run` (latched; its tails start at
    /// `d`, the first `d` bytes of `key` being its path, which starts at
    /// `top`) with `new` added at index `at`: the subtree of its entries
    /// and its end leaf ([`subtree`](Self::subtree)), not yet published.
    #[allow(clippy::too_many_arguments)]
    fn burst<'g>(
        &self,
        run: NodeRef<'g>,
        key: &[u8],
        top: usize,
        d: usize,
        at: usize,
        new: Entry,
        whole_above: bool,
        rp: &mut Repack<'g>,
        guard: &'g Guard,
    ) -> NodeRef<'g> {
        // Every key with its entry, in key order: the end leaf first.
        let mut items: Vec<(Vec<u8>, Entry)> = Vec::with_capacity(RUN + 2);
        let end = run.end();
        if !end.is_empty() {
            items.push((key[..d].to_vec(), Entry::of(end)));
        }
        for i in 0..run.count() {
            let e = run.run_entry(i);
            items.push((self.entry_key(e, run.run_head(i), &key[..d], guard), e));
        }
        let first = items.len() - run.count();
        items.insert(first + at, (key.to_vec(), new));
        let e = self.subtree(&items, top, whole_above, rp, guard);
        // SAFETY: more than `RUN` keys make a node (see `subtree`), fresh
        // and ours until the caller publishes it.
        match unsafe { e.get(guard) } {
            Some(Child::Node(m)) => m,
            _ => unreachable!("more keys than a run holds make a node"),
        }
    }

    /// The slot content for `items` (keys in ascending order, at least
    /// one, sharing their first `d` bytes, each with its leaf or inline
    /// entry), for a slot whose node path starts at `d`: one key is its
    /// entry; up to [`RUN`] make a run, more a node by byte, each with
    /// the path the keys share (`whole`: every node above stores its whole
    /// path, as inline entries need). Each level splits the keys, so the
    /// recursion is at most `RUN` deep, whatever the keys' length.
    fn subtree<'g>(
        &self,
        items: &[(Vec<u8>, Entry)],
        d: usize,
        whole: bool,
        rp: &mut Repack<'g>,
        guard: &'g Guard,
    ) -> Entry {
        if let [(k, e)] = items {
            return if whole {
                self.reencoded(k, *e, d, false, guard)
            } else {
                self.as_leaf(k, *e, guard)
            };
        }
        let (first, last) = (&items[0].0, &items[items.len() - 1].0);
        let common = lcp(&first[d..], &last[d..]);
        let start = d + common;
        let whole = whole && common <= STORED;
        if items.len() <= RUN {
            let kind = Kind::for_entries(items.len());
            let area = items
                .iter()
                .filter_map(|(k, e)| {
                    let v = self.to_pack(k, *e, start, whole, rp.oldest, guard)?;
                    Some(packed_size(k, &v))
                })
                .sum();
            let m = self.new_run_of(kind, common, pack_prefix(&first[d..]), area);
            for (k, e) in items {
                run_append(
                    m,
                    k,
                    start,
                    self.placed_in_run(m, k, *e, start, whole, rp, guard),
                );
            }
            return Entry::of(m.word());
        }
        let place = |k: &[u8], e: Entry| {
            if k.len() == start || !whole {
                self.as_leaf(k, e, guard)
            } else {
                self.reencoded(k, e, start, true, guard)
            }
        };
        let mut rest = items;
        let mut end = None;
        if first.len() == start {
            end = Some(place(first, items[0].1));
            rest = &items[1..];
        }
        let mut groups = 1;
        for w in rest.windows(2) {
            groups += usize::from(w[0].0[start] != w[1].0[start]);
        }
        let mut children = Vec::with_capacity(groups);
        while let Some((k, _)) = rest.first() {
            let b = k[start];
            let n = rest
                .iter()
                .position(|(k, _)| k[start] != b)
                .unwrap_or(rest.len());
            children.push((b, self.subtree(&rest[..n], start + 1, whole, rp, guard)));
            rest = &rest[n..];
        }
        let prefix = pack_prefix(&first[d..]);
        let (kind, vlen) = match Kind::for_children(groups) {
            Kind::N256 => wide_kind(children.iter().map(|&(_, e)| e)),
            kind => (kind, INLINE_VALUE),
        };
        let m = self.new_node_with(kind, common, prefix, vlen);
        if let Some(e) = end {
            m.set_end(e.word);
        }
        for (b, e) in children {
            m.add(b, e);
        }
        Entry::of(m.word())
    }

    /// The whole key of run entry `e` of head `head`, whose path is
    /// `path`.
    fn entry_key(&self, e: Entry, head: Head, path: &[u8], guard: &Guard) -> Vec<u8> {
        // SAFETY: the caller holds the latch of the run `e` was loaded from,
        // reached under `guard`.
        match unsafe { e.get(guard) } {
            Some(Child::Leaf(l)) => l.key().to_vec(),
            Some(Child::Packed(r)) => r.key().to_vec(),
            Some(Child::Inline(i)) => {
                let (s, n) = i.run_tail(head);
                let mut k = path.to_vec();
                k.extend_from_slice(&s[..n]);
                k
            }
            _ => unreachable!("a run holds leaves, inline and packed entries"),
        }
    }

    /// Entry `e` of key `k` as a leaf (an inline or packed entry made
    /// one).
    fn as_leaf(&self, k: &[u8], e: Entry, guard: &Guard) -> Entry {
        // SAFETY: as in `entry_key`.
        match unsafe { e.get(guard) } {
            Some(Child::Inline(i)) => Entry::of(Word::leaf(self.materialize(k, i).non_null())),
            Some(Child::Packed(r)) => Entry::of(Word::leaf(self.materialize_packed(r).non_null())),
            _ => e,
        }
    }

    /// Entry `e` of key `k` re-encoded for a place below a path stored
    /// whole whose tail or suffix starts at `start`, in a run (`run`) or a
    /// slot by byte: an inline entry's suffix cut, or a leaf if it does
    /// not fit (a run's entries hold longer tails than a slot's); a
    /// packed entry inline in a slot if it fits, else a leaf; a leaf as
    /// it is.
    fn reencoded(&self, k: &[u8], e: Entry, start: usize, run: bool, guard: &Guard) -> Entry {
        if e.word.is_packed() {
            // SAFETY: as in `entry_key`.
            let Some(Child::Packed(r)) = (unsafe { e.get(guard) }) else {
                unreachable!("a packed word names a packed entry")
            };
            let fits = if k.len() > INLINE_KEY {
                None
            } else if run {
                Inline::new_run(&k[start..], r.value())
            } else {
                Inline::new(&k[start..], r.value())
            };
            return match fits {
                Some(x) => x.entry(),
                None => Entry::of(Word::leaf(self.materialize_packed(r).non_null())),
            };
        }
        if !e.word.is_inline() {
            return e;
        }
        let i = Inline::from_entry(e);
        let (v, n) = i.value();
        let fits = if run {
            Inline::new_run(&k[start..], &v[..n])
        } else {
            Inline::new(&k[start..], &v[..n])
        };
        match fits {
            Some(x) => x.entry(),
            None => Entry::of(Word::leaf(self.materialize(k, i).non_null())),
        }
    }

    /// Places the new `key` in a fresh node `m` whose child bytes are at
    /// `at`: as its end leaf if the key ends there, else as a child.
    fn place_new(
        &self,
        m: NodeRef<'_>,
        key: &[u8],
        at: usize,
        value: &[u8],
        t: Taken,
        whole: bool,
    ) {
        if key.len() == at {
            m.set_end(self.new_leaf(key, value, t.seqno));
        } else {
            m.add(key[at], self.entry_for(key, at, value, t, whole));
        }
    }

    /// The slot content for a new `key` whose slot byte is at `at`: an
    /// inline entry if the path above is stored whole, the key and value
    /// are small and every snapshot sees the write; else a leaf.
    fn entry_for(&self, key: &[u8], at: usize, value: &[u8], t: Taken, whole: bool) -> Entry {
        if whole && key.len() <= INLINE_KEY && seen_by_all(t) {
            if let Some(i) = Inline::new(&key[at + 1..], value) {
                return i.entry();
            }
        }
        Entry::of(self.new_leaf(key, value, t.seqno))
    }

    /// Entry `e` of `key` as `node` holds it in a slot: as it is, or, an
    /// inline entry a Node256 of values cannot hold, made a leaf (its
    /// version at seqno 0, as the inline entry's).
    fn fitted(&self, node: NodeRef<'_>, key: &[u8], e: Entry) -> Entry {
        if node.holds(e) {
            e
        } else {
            Entry::of(Word::leaf(
                self.materialize(key, Inline::from_entry(e)).non_null(),
            ))
        }
    }

    fn new_leaf(&self, key: &[u8], value: &[u8], seqno: Seqno) -> Word {
        let (l, bytes) = leaf::new_leaf(key, Some(value), seqno);
        self.account.add(bytes);
        Word::leaf(l)
    }

    /// A leaf for packed entry `r` (its version at seqno 0, seen by every
    /// reader), not yet published.
    fn materialize_packed<'g>(&self, r: Packed<'_>) -> LeafRef<'g> {
        let (l, bytes) = leaf::new_leaf(r.key(), Some(r.value()), 0);
        self.account.add(bytes);
        // SAFETY: fresh and ours until the caller publishes it.
        unsafe { LeafRef::from_raw(l) }
    }

    /// A leaf for inline entry `i` of `key` (its version at seqno 0, seen
    /// by every reader), not yet published.
    fn materialize<'g>(&self, key: &[u8], i: Inline) -> LeafRef<'g> {
        let (v, n) = i.value();
        let (l, bytes) = leaf::new_leaf(key, Some(&v[..n]), 0);
        self.account.add(bytes);
        // SAFETY: fresh and ours until the caller publishes it.
        unsafe { LeafRef::from_raw(l) }
    }

    /// Pushes a version of `l` written as `t` (`None`: a tombstone), under
    /// the latch of the node that holds it: trims what no snapshot can
    /// see, counts a key that comes alive or goes.
    fn push_at(&self, l: LeafRef<'_>, t: Taken, value: Option<&[u8]>, guard: &Guard) {
        let was_live = !l.newest().is_tomb();
        let (rec, bytes) = leaf::new_record(t.seqno, value);
        self.account.add(bytes);
        l.push(rec);
        self.trim(l, t, guard);
        match (was_live, value.is_some()) {
            (false, true) => {
                self.len.add(1);
            }
            (true, false) => {
                self.len.sub(1);
            }
            _ => {}
        }
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

    /// Trims what no snapshot pinned at `oldest` or later can see.
    fn trim_to(&self, l: LeafRef<'_>, oldest: Seqno, guard: &Guard) {
        let newest = l.newest().seqno();
        if let Some(tail) = l.trim(oldest.min(newest)) {
            // SAFETY: as in `trim`.
            unsafe { retire(tail.as_ptr().cast(), free_chain, guard, &self.account) };
        }
    }

    /// Removes `key`; returns the seqno of the removal, or `None` if the
    /// key had no live version.
    pub(crate) fn remove(&self, key: &[u8], guard: &Guard) -> Option<Seqno> {
        retry(|| {
            let Some(f) = self.locate(key, guard)? else {
                return Ok(None);
            };
            if let Hit::Leaf(l) = f.hit {
                if l.newest().is_tomb() {
                    f.node.lock().check(f.stamp)?;
                    return Ok(None);
                }
            }
            // Whether a snapshot is alive picks the path; `unlink` takes
            // the seqno under the latches and keeps the versions after all
            // if a snapshot appeared meanwhile.
            if self.clock.oldest() == NO_SNAPSHOT {
                return self.unlink(f, Mode::Remove, key, guard);
            }
            f.node.lock().try_upgrade(f.stamp)?;
            let t = self.clock.take();
            self.keep_removed(&f, key, t, guard);
            f.node.lock().unlock();
            self.clock.publish(t.seqno);
            Ok(Some(t.seqno))
        })
    }

    /// Removes the key found, under its node's latch, keeping its older
    /// versions for snapshots: a tombstone on its leaf (an inline entry
    /// becomes a leaf first).
    fn keep_removed(&self, f: &Found<'_>, key: &[u8], t: Taken, guard: &Guard) {
        match f.hit {
            Hit::Leaf(l) => self.push_at(l, t, None, guard),
            Hit::Packed(r) => {
                let l = self.materialize_packed(r);
                self.push_at(l, t, None, guard);
                let Place::Run(i) = f.place else {
                    unreachable!("packed entries live only in runs")
                };
                f.node.run_set(
                    i,
                    Entry::of(Word::leaf(l.non_null())).for_run(&key[f.depth..]),
                );
            }
            Hit::Inline(i) => {
                let l = self.materialize(key, i);
                self.push_at(l, t, None, guard);
                match f.place {
                    Place::Byte(b) => f.node.replace(b, Entry::of(Word::leaf(l.non_null()))),
                    Place::Run(i) => f.node.run_set(
                        i,
                        Entry::of(Word::leaf(l.non_null())).for_run(&key[f.depth..]),
                    ),
                    Place::End => unreachable!("inline entries are never end leaves"),
                }
            }
        }
    }

    /// Tidies `key` once snapshots are gone: trims its versions and
    /// unlinks it if its newest version is a tombstone no snapshot needs.
    pub(crate) fn tidy(&self, key: &[u8], guard: &Guard) {
        retry(|| {
            let Some(f) = self.locate(key, guard)? else {
                return Ok(());
            };
            let Hit::Leaf(l) = f.hit else {
                return Ok(());
            };
            if l.newest().is_tomb() {
                return self.unlink(f, Mode::Tidy, key, guard).map(drop);
            }
            f.node.lock().try_upgrade(f.stamp)?;
            self.trim_to(l, self.clock.oldest(), guard);
            f.node.lock().unlock();
            Ok(())
        })
    }

    /// Finds `key`'s leaf or inline entry for a write: where it hangs, the
    /// versions read on the way.
    fn locate<'g>(&'g self, key: &[u8], guard: &'g Guard) -> Result<Option<Found<'g>>, Restart> {
        let mut parents: SmallVec<[Parent<'g>; 16]> = SmallVec::new();
        let mut node = self.root(guard);
        let mut depth = 0;
        loop {
            let v = node.lock().read_begin()?;
            coupled(parents.last().map(|p| (p.node, p.stamp)))?;
            let plen = node.plen();
            if key.len() < depth + plen || !stored_match(node.prefix(), plen, key, depth) {
                node.lock().check(v)?;
                return Ok(None);
            }
            depth += plen;
            let (place, e) = if depth == key.len() {
                (Place::End, Entry::of(node.end()))
            } else if node.is_run() {
                match run_find(node, depth, &key[depth..], guard)? {
                    (at, Some(e)) => (Place::Run(at), e),
                    (_, None) => {
                        node.lock().check(v)?;
                        return Ok(None);
                    }
                }
            } else {
                (Place::Byte(key[depth]), node.find(key[depth]))
            };
            node.lock().check(v)?;
            let found = |hit| Found {
                parents: parents.clone(),
                node,
                stamp: v,
                depth,
                place,
                hit,
            };
            // SAFETY: loaded from a slot of `node`, reached under `guard`.
            match unsafe { e.get(guard) } {
                None => return Ok(None),
                Some(Child::Leaf(l)) => {
                    return Ok((l.key() == key).then(|| found(Hit::Leaf(l))));
                }
                Some(Child::Inline(i)) => {
                    let hit = matches!(place, Place::Run(_)) || i.suffix_is(&key[depth + 1..]);
                    return Ok(hit.then(|| found(Hit::Inline(i))));
                }
                Some(Child::Packed(r)) => {
                    return Ok((r.key() == key).then(|| found(Hit::Packed(r))));
                }
                Some(Child::Node(c)) => {
                    e.word.prefetch_node();
                    let Place::Byte(byte) = place else {
                        return Err(Restart);
                    };
                    parents.push(Parent {
                        node,
                        stamp: v,
                        byte,
                        depth,
                    });
                    node = c;
                    depth += 1;
                }
            }
        }
    }

    /// Unlinks the key found, and repairs its node:
    /// - left with one entry that is a leaf or an inline entry, the node
    ///   (and every ancestor left holding only it) collapses: the entry
    ///   takes the place of the topmost in its parent;
    /// - left with one child node, the child takes the node's place and
    ///   prepends the node's path to its own, unless both store their
    ///   whole paths and the joined path would not fit the stored bytes
    ///   (inline entries below need whole paths): then the node stays;
    /// - otherwise, below its kind's threshold, the node shrinks.
    ///
    /// [`Mode::Remove`]: a removal of a live key, which takes a seqno (and
    /// keeps the versions instead if a snapshot pinned below it appeared);
    /// [`Mode::Tidy`]: a tombstoned leaf that goes if no snapshot needs it
    /// (else its versions are trimmed). Returns the removal's seqno.
    fn unlink(
        &self,
        f: Found<'_>,
        mode: Mode,
        key: &[u8],
        guard: &Guard,
    ) -> Result<Option<Seqno>, Restart> {
        let node = f.node;
        let root = node == self.root(guard);
        // What is left: read before the latches, proven unchanged by the
        // upgrades from the versions `locate` read.
        // (A Node256 of values never holds two entries: it shrinks at 41.)
        let left = if !root && node.kind() != Kind::V256 && node.entries() == 2 {
            let left = match f.place {
                Place::End => node.next_slot(0),
                p => node
                    .next_slot(-1)
                    .filter(|&(at, _)| at != p.pos())
                    .or_else(|| node.next_slot(p.pos())),
            };
            Some(left.ok_or(Restart)?)
        } else {
            None
        };
        // A run's inline entry keeps the first 8 bytes of its tail in the
        // run's head (read with the entry, validated by the upgrades).
        let left_head = match left {
            Some((at, _)) if at > 0 && node.is_run() => node.run_head(at as usize - 1),
            _ => 0,
        };
        // SAFETY: loaded from a slot of `node`, reached under `guard`; not
        // a Node256 of values (see `left`), so a word even before the
        // upgrades validate it (module invariant 3 of `node`).
        let left_child = left.and_then(|(at, e)| unsafe { e.get(guard) }.map(|c| (at, e, c)));
        let mut merge = None;
        let mut chain = 0; // how many ancestors collapse with `node`
        match left_child {
            Some((at, _, Child::Node(c))) => {
                let (np, cp) = (node.plen(), c.plen());
                if np + 1 + cp <= STORED || np > STORED || cp > STORED {
                    merge = Some((c, (at - 1) as u8));
                }
            }
            Some(_) => {
                chain = 1;
                while chain < f.parents.len() {
                    let a = f.parents[f.parents.len() - chain].node;
                    if a.entries() != 1 {
                        break;
                    }
                    chain += 1;
                }
            }
            None => {}
        }
        let shrink = !root
            && left.is_none()
            && matches!(f.place, Place::Byte(_))
            && node.shrinks_after_remove();
        // Latches, top down, each only tried: the parent of the topmost
        // node that changes, the collapsing ancestors, the node, and for a
        // merge the child.
        let top = if chain > 0 {
            chain
        } else {
            usize::from(merge.is_some() || shrink)
        };
        let mut held: SmallVec<[NodeRef<'_>; 8]> = SmallVec::new();
        let release = |held: &SmallVec<[NodeRef<'_>; 8]>| {
            for n in held.iter().rev() {
                n.lock().unlock();
            }
        };
        let n_par = f.parents.len();
        for p in &f.parents[n_par - top..] {
            if p.node.lock().try_upgrade(p.stamp).is_err() {
                release(&held);
                return Err(Restart);
            }
            held.push(p.node);
        }
        if node.lock().try_upgrade(f.stamp).is_err() {
            release(&held);
            return Err(Restart);
        }
        held.push(node);
        if let Some((c, _)) = merge {
            if c.lock()
                .read_begin()
                .and_then(|cv| c.lock().try_upgrade(cv))
                .is_err()
            {
                release(&held);
                return Err(Restart);
            }
            held.push(c);
        }
        let mut seqno = None;
        match mode {
            Mode::Remove => {
                let t = self.clock.take();
                if !seen_by_all(t) {
                    // A snapshot appeared since we looked: keep the versions.
                    self.keep_removed(&f, key, t, guard);
                    release(&held);
                    self.clock.publish(t.seqno);
                    return Ok(Some(t.seqno));
                }
                seqno = Some(t.seqno);
            }
            Mode::Tidy => {
                let Hit::Leaf(l) = f.hit else {
                    unreachable!("only leaves are tidied")
                };
                let newest = l.newest();
                let oldest = self.clock.oldest();
                if !newest.is_tomb() || must_keep(oldest, newest.seqno()) {
                    self.trim_to(l, oldest, guard);
                    release(&held);
                    return Ok(None);
                }
            }
        }
        // Past this point nothing fails.
        match f.place {
            Place::End => node.set_end(Word::EMPTY),
            Place::Byte(b) => node.remove(b),
            Place::Run(i) => node.run_remove(i),
        }
        if chain > 0 {
            let (at, e, c) = left_child.expect("a collapse has an entry left");
            let gp = &f.parents[n_par - chain];
            let moved = match c {
                Child::Inline(i) => {
                    // Its key: the removed key's bytes down to `node`'s
                    // child bytes (the path is the same), its byte, its tail.
                    let mut full = key[..f.depth].to_vec();
                    if node.is_run() {
                        let (s, n) = i.run_tail(left_head);
                        full.extend_from_slice(&s[..n]);
                    } else {
                        let (s, n) = i.suffix();
                        full.push((at - 1) as u8);
                        full.extend_from_slice(&s[..n]);
                    }
                    let (v, vn) = i.value();
                    let here = Inline::new(&full[gp.depth + 1..], &v[..vn])
                        .map(Inline::entry)
                        .filter(|e| gp.node.holds(*e));
                    match here {
                        Some(e) => e,
                        None => Entry::of(Word::leaf(self.materialize(&full, i).non_null())),
                    }
                }
                // Its record goes with the run: a slot by byte holds it as
                // a leaf.
                Child::Packed(r) => Entry::of(Word::leaf(self.materialize_packed(r).non_null())),
                _ => e,
            };
            gp.node.replace(gp.byte, moved);
            // The parent's latch is released, the collapsed nodes go.
            for (k, n) in held.iter().enumerate() {
                if k == 0 {
                    n.lock().unlock();
                } else {
                    n.lock().unlock_obsolete();
                    self.retire_node(*n, guard);
                }
            }
        } else if let Some((c, cb)) = merge {
            // The child's path grows by this node's path and byte.
            let p = &f.parents[n_par - 1];
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
            p.node.replace(p.byte, Entry::of(c.word()));
            c.lock().unlock();
            node.lock().unlock_obsolete();
            p.node.lock().unlock();
            self.retire_node(node, guard);
        } else if shrink {
            let p = &f.parents[n_par - 1];
            let (small, bytes) = node.copy_resized(false);
            self.account.add(bytes);
            // SAFETY: fresh and ours until published here, then reachable
            // from the tree.
            let small = unsafe { NodeRef::from_raw(small) };
            p.node.replace(p.byte, Entry::of(small.word()));
            node.lock().unlock_obsolete();
            p.node.lock().unlock();
            self.retire_node(node, guard);
        } else {
            node.lock().unlock();
        }
        if let Hit::Leaf(l) = f.hit {
            // SAFETY: the leaf was unlinked under its node's latch, and is
            // retired once (by whoever unlinks it).
            unsafe { retire(l.as_ptr().cast(), free_leaf, guard, &self.account) };
        }
        if let Some(s) = seqno {
            self.len.sub(1);
            self.clock.publish(s);
        }
        Ok(seqno)
    }

    /// Retires the leaves a write packed into fresh runs ([`Repack`]),
    /// once those runs are published in place of what held the leaves.
    fn retire_packed(&self, rp: Repack<'_>, guard: &Guard) {
        for l in rp.packed {
            // SAFETY: the leaf was replaced by a packed entry in a fresh
            // run, now published in place of the node that held the leaf
            // (under that node's or its parent's latch): unreachable from
            // the tree, and retired once, by the writer that packed it.
            unsafe { retire(l.as_ptr().cast(), free_leaf, guard, &self.account) };
        }
    }

    fn retire_node(&self, node: NodeRef<'_>, guard: &Guard) {
        // SAFETY: `node` was replaced in its parent under both latches and
        // marked obsolete; it is retired once, by the writer that did it.
        unsafe { retire(node.as_ptr().cast(), free_node, guard, &self.account) };
    }
}

/// Lock coupling for a descent: called after reading a child's version,
/// it validates the parent the child was read from (`None` at the root).
///
/// Checking the parent *before* reading the child's version is not
/// enough: between the two, a writer can change the child in place and
/// leave it live — prefix its path with its parent's (a merge) or cut its
/// path (a split above it) — so a reader that read the child's version
/// afterwards would take the changed path at the old depth (keys then
/// land under the wrong byte). The parent's version changes in both
/// writes, so this check restarts such a reader.
#[inline]
fn coupled(parent: Option<(NodeRef<'_>, Stamp)>) -> Result<(), Restart> {
    match parent {
        Some((p, v)) => p.lock().check(v),
        None => Ok(()),
    }
}

/// Whether the stored bytes of a path of `plen` match `key` at `depth`
/// (the caller checked that the key is long enough).
#[inline]
fn stored_match(prefix: Prefix, plen: usize, key: &[u8], depth: usize) -> bool {
    let n = plen.min(STORED);
    let Some(k) = key.get(depth..depth + n) else {
        return false;
    };
    // Word by word, as the prefix is packed (little-endian, byte `i` of
    // the path in word `i / 8`); bytes past the path are masked off.
    let (lo, hi) = k.split_at(n.min(8));
    let differ = |w: u64, part: &[u8]| {
        let mask = u64::MAX
            .checked_shr(64 - 8 * part.len() as u32)
            .unwrap_or(0);
        (word_le(part) ^ w) & mask != 0
    };
    !differ(prefix[0], lo) && (hi.is_empty() || !differ(prefix[1], hi))
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

/// The inline entry a run whose tails start at `start` (below a path
/// stored whole if `whole`) makes of `key` (longer than `start`) and
/// `value`, if they fit one.
fn run_inline(key: &[u8], start: usize, value: &[u8], whole: bool) -> Option<Inline> {
    if whole && key.len() <= INLINE_KEY {
        Inline::new_run(&key[start..], value)
    } else {
        None
    }
}

/// The bytes a record of key `k` and value `v` takes in a run's area.
fn packed_size(k: &[u8], v: &[u8]) -> usize {
    packed_len(k.len(), v.len()).unwrap_or(0)
}

/// The area a run gets for `need` bytes of records: a quarter as much
/// again, so that it takes in a few more keys before a copy grows it (0
/// for none: a run without packed entries has no area). Against half as
/// much again: 126 bytes per entry instead of 136 for 200,000 URLs, 79
/// instead of 83 for e-mails, loads the same (`docs/art.md`, *Packed
/// entries*).
fn area_for(need: usize) -> usize {
    need + need / 4
}

/// The length of the common prefix of two byte strings.
fn lcp(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Tree {
    /// Node, leaf and version counts from a walk of the tree (racy but
    /// safe while writers run: every word read names a live object).
    pub(crate) fn stats(&self, guard: &Guard) -> crate::Stats {
        let mut s = crate::Stats::default();
        let mut stack = vec![(Entry::of(Word::node(self.root)), 1usize)];
        while let Some((e, depth)) = stack.pop() {
            // SAFETY: loaded from a slot of a node reached under `guard`
            // (or the root), validated below.
            match unsafe { e.get(guard) } {
                None => {}
                Some(Child::Leaf(l)) => {
                    s.leaves += 1;
                    s.versions += l.versions();
                    s.max_depth = s.max_depth.max(depth);
                }
                Some(Child::Inline(_)) => {
                    s.inline += 1;
                    s.max_depth = s.max_depth.max(depth);
                }
                Some(Child::Packed(_)) => {
                    s.packed += 1;
                    s.max_depth = s.max_depth.max(depth);
                }
                Some(Child::Node(n)) => {
                    // Its entries as of one version (a writer may run: a
                    // word of a Node256 of values is one only once
                    // validated); a node replaced meanwhile is left out.
                    let mark = stack.len();
                    let read = loop {
                        let Ok(v) = n.lock().read_begin_wait() else {
                            break false;
                        };
                        stack.push((Entry::of(n.end()), depth));
                        stack.extend(n.children().map(|(_, e)| (e, depth + 1)));
                        if n.lock().validate(v) {
                            break true;
                        }
                        stack.truncate(mark);
                    };
                    if !read {
                        continue;
                    }
                    let k = n.kind() as usize;
                    s.nodes[k] += 1;
                    s.node_bytes[k] += n.bytes();
                    s.area_used += n.area_used();
                    s.prefix_bytes += n.plen();
                }
            }
        }
        s
    }

    /// Checks the tree's structure, single-threaded: every node's stored
    /// path bytes are those its keys share; every leaf sits where its key
    /// says (the end leaf's key ends at its node, a child's key has the
    /// child's byte there); inline entries sit only below nodes that store
    /// their whole paths, with keys of at most 24 bytes; nodes other than
    /// the root hold two entries or more, or one child node they could not
    /// merge with; each kind holds as many children as its thresholds
    /// allow.
    pub(crate) fn check(&self, guard: &Guard) -> Result<(), String> {
        // (entry, depth of its slot's byte (or of the node's path), the key
        // bytes above it, whether every node above stores its whole path)
        let mut stack: Vec<(Entry, usize, Vec<u8>, bool)> =
            vec![(Entry::of(Word::node(self.root)), 0, Vec::new(), true)];
        while let Some((e, depth, above, whole)) = stack.pop() {
            // SAFETY: loaded from a slot of a node reached under `guard`.
            match unsafe { e.get(guard) } {
                None => return Err("an empty slot on the stack".into()),
                Some(Child::Leaf(l)) => {
                    if !l.key().starts_with(&above) {
                        return Err(format!("leaf {:?} under {above:?}", l.key()));
                    }
                }
                Some(Child::Inline(i)) => {
                    if !whole {
                        return Err(format!("inline entry below a partial path at {above:?}"));
                    }
                    if above.len() + i.suffix().1 > INLINE_KEY {
                        return Err(format!("inline entry of a long key at {above:?}"));
                    }
                }
                Some(Child::Packed(r)) => {
                    return Err(format!("packed entry {:?} outside a run", r.key()));
                }
                Some(Child::Node(n)) => {
                    let root = n == self.root(guard);
                    if root && n.entries() == 0 {
                        continue;
                    }
                    let plen = n.plen();
                    let path = if plen <= STORED {
                        let mut p = above.clone();
                        p.extend((0..plen).map(|i| prefix_byte(n.prefix(), i)));
                        p
                    } else {
                        let r = self
                            .any_key(n, &[], depth, guard)
                            .map_err(|_| format!("no leaf below the node at {above:?}"))?;
                        if !r.starts_with(&above) || r.len() < depth + plen {
                            return Err(format!("node at {above:?} (path {plen}) holds {r:?}"));
                        }
                        for i in 0..STORED {
                            if prefix_byte(n.prefix(), i) != r[depth + i] {
                                return Err(format!("stored path byte {i} wrong at {above:?}"));
                            }
                        }
                        r[..depth + plen].to_vec()
                    };
                    let whole = whole && plen <= STORED;
                    let (count, entries) = (n.count(), n.entries());
                    if !root && entries < 2 {
                        // One entry is a child node it could not merge
                        // with (or one that changed since): never a leaf or
                        // an inline entry, which would have collapsed.
                        let only = n.children().next();
                        // SAFETY: as above.
                        let ok = match only.map(|(_, e)| unsafe { e.get(guard) }) {
                            Some(Some(Child::Node(_))) => entries == 1,
                            _ => false,
                        };
                        if !ok {
                            return Err(format!(
                                "node at {path:?} holds {entries} entries, not one child node"
                            ));
                        }
                    }
                    let min = match n.kind() {
                        _ if root => 0,
                        Kind::N4 | Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => 0,
                        Kind::N16 => 4,
                        Kind::N32 => 13,
                        Kind::N48 => 25,
                        Kind::N256 | Kind::V256 => 41,
                    };
                    if count < min {
                        return Err(format!("{:?} at {path:?} holds {count}", n.kind()));
                    }
                    let end = n.end();
                    // SAFETY: as above.
                    match unsafe { end.get(guard) } {
                        Some(Child::Leaf(l)) if l.key() != path => {
                            return Err(format!("end leaf {:?} at {path:?}", l.key()));
                        }
                        Some(Child::Node(_) | Child::Inline(_) | Child::Packed(_)) => {
                            return Err("a node, inline or packed entry in an end slot".into())
                        }
                        _ => {}
                    }
                    if n.is_run() {
                        if root {
                            return Err("the root is a run".into());
                        }
                        self.check_run(n, &path, whole, guard)?;
                        if !end.is_empty() {
                            stack.push((Entry::of(end), path.len(), path.clone(), whole));
                        }
                        continue;
                    }
                    let mut seen = 0;
                    for (b, e) in n.children() {
                        if !n.holds(e) {
                            return Err(format!("{e:?} in a Node256 of values at {path:?}"));
                        }
                        let mut below = path.clone();
                        below.push(b);
                        stack.push((e, path.len() + 1, below, whole));
                        seen += 1;
                    }
                    if seen != count {
                        return Err(format!("{seen} children at {path:?}, count {count}"));
                    }
                    if !end.is_empty() {
                        stack.push((Entry::of(end), path.len(), path.clone(), whole));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Tree {
    /// Checks run `n` whose path is `path`: entries in strictly ascending
    /// key order, each key the path and a non-empty tail, heads those of
    /// the tails, tie words those of leaves' and packed entries' tails,
    /// leaves, inline and packed entries only (inline only below a whole
    /// path, in keys of at most 24 bytes), and the area's count of live
    /// record bytes that of its packed entries.
    fn check_run(
        &self,
        n: NodeRef<'_>,
        path: &[u8],
        whole: bool,
        guard: &Guard,
    ) -> Result<(), String> {
        let mut last: Option<Vec<u8>> = None;
        let mut live = 0;
        for i in 0..n.count() {
            let e = n.run_entry(i);
            // SAFETY: loaded from a slot of a node reached under `guard`.
            let tail = match unsafe { e.get(guard) } {
                Some(Child::Leaf(l)) => {
                    let Some(t) = l.key().strip_prefix(path) else {
                        return Err(format!("leaf {:?} in the run at {path:?}", l.key()));
                    };
                    t.to_vec()
                }
                Some(Child::Packed(r)) => {
                    let Some(t) = r.key().strip_prefix(path) else {
                        return Err(format!("packed entry {:?} in the run at {path:?}", r.key()));
                    };
                    live += packed_size(r.key(), r.value());
                    t.to_vec()
                }
                Some(Child::Inline(x)) => {
                    if !whole {
                        return Err(format!("inline entry below a partial path at {path:?}"));
                    }
                    let (s, len) = x.run_tail(n.run_head(i));
                    if path.len() + len > INLINE_KEY {
                        return Err(format!("inline entry of a long key at {path:?}"));
                    }
                    s[..len].to_vec()
                }
                _ => return Err(format!("entry {i} of the run at {path:?} is not a key")),
            };
            if tail.is_empty() {
                return Err(format!("an empty tail in the run at {path:?}"));
            }
            if n.run_head(i) != head_of(&tail) {
                return Err(format!("head {i} of the run at {path:?} is not its tail's"));
            }
            if e.word.has_tie() && n.run_tie(i) != tie_of(&tail) {
                return Err(format!(
                    "entry {i} of the run at {path:?} has a stale tie word"
                ));
            }
            if last.as_ref().is_some_and(|l| *l >= tail) {
                return Err(format!("the run at {path:?} is out of order at {i}"));
            }
            last = Some(tail);
        }
        if n.packed_bytes() != live {
            return Err(format!(
                "the run at {path:?} counts {} bytes of live records, not {live}",
                n.packed_bytes()
            ));
        }
        Ok(())
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // No recursion: an explicit stack of slots still to free.
        let mut stack = vec![Entry::of(Word::node(self.root))];
        let guard = crossbeam_epoch::pin();
        while let Some(e) = stack.pop() {
            // SAFETY: with `&mut self` no other thread reaches the tree;
            // each slot is reached once (the tree is a tree).
            match unsafe { e.get(&guard) } {
                // A packed entry's record goes with its run.
                None | Some(Child::Inline(_) | Child::Packed(_)) => {}
                Some(Child::Leaf(l)) => {
                    // SAFETY: unreachable now, freed once.
                    let b = unsafe { free_leaf(l.as_ptr().cast()) };
                    self.account.sub(b);
                }
                Some(Child::Node(n)) => {
                    stack.push(Entry::of(n.end()));
                    stack.extend(n.children().map(|(_, e)| e));
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
