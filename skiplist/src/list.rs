//! The lock-free skip list over the arena: search and concurrent insert
//! (RocksDB InlineSkipList's algorithm: compute the splice top-down, link
//! bottom-up with one CAS per level, recompute a level's splice from its
//! predecessor when its CAS loses). Nodes are never unlinked while the list
//! lives, so a search needs no epoch or reference count.
//!
//! Order: user key ascending (memcmp), then seqno descending, so the first
//! node of a key is its newest version.

use crate::arena::{Arena, Full, NodeRef};
use ordex_core::sync::{AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::cell::Cell;
use std::cmp::Ordering as Cmp;

/// Tallest tower. With branching 2 (measured faster than 4 at 1M entries:
/// fewer cache misses in the lower levels), 24 levels index 2^24 ≈ 16M
/// nodes with logarithmic search.
pub(crate) const MAX_HEIGHT: usize = 24;

/// Largest seqno (the trailer keeps 8 bits for the kind).
pub(crate) const MAX_SEQNO: u64 = (1 << 56) - 1;

/// Entry kinds, in the low byte of the trailer.
pub(crate) const KIND_DELETE: u64 = 0;
pub(crate) const KIND_PUT: u64 = 1;

/// A node with this (key, seqno) is already in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duplicate;

pub(crate) struct List {
    pub(crate) arena: Arena,
    head: NodeRef,
    height: AtomicUsize,
}

#[cfg(not(loom))]
thread_local! {
    static HEIGHT_RNG: Cell<u64> = const { Cell::new(0) };
}

/// A random tower height, P(h > k) = 2^-k (xorshift per thread). Under
/// loom, whose executions must be deterministic, the height is derived from
/// the key instead.
#[cfg(loom)]
pub(crate) fn random_height(key: &[u8]) -> usize {
    1 + key.iter().map(|&b| b as usize).sum::<usize>() % 3
}

/// A random tower height, P(h > k) = 2^-k (xorshift per thread). Under
/// loom, whose executions must be deterministic, the height is derived from
/// the key instead.
#[cfg(not(loom))]
pub(crate) fn random_height(_key: &[u8]) -> usize {
    HEIGHT_RNG.with(|c| {
        let mut x = c.get();
        if x == 0 {
            x = (c as *const Cell<u64> as u64) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        let mut h = 1;
        let mut bits = x;
        while h < MAX_HEIGHT && bits & 1 == 0 {
            h += 1;
            bits >>= 1;
        }
        h
    })
}

/// memcmp order, with the first 8 bytes compared as one big-endian word:
/// most comparisons in a search are decided there, without a call to
/// `memcmp`.
#[inline(always)]
pub(crate) fn compare_keys(a: &[u8], b: &[u8]) -> Cmp {
    if let (Some(pa), Some(pb)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        let (wa, wb) = (u64::from_be_bytes(*pa), u64::from_be_bytes(*pb));
        if wa != wb {
            return wa.cmp(&wb);
        }
        return a[8..].cmp(&b[8..]);
    }
    a.cmp(b)
}

pub(crate) type Splice = ([NodeRef; MAX_HEIGHT], [Option<NodeRef>; MAX_HEIGHT]);

impl List {
    pub(crate) fn new(arena: Arena) -> Result<List, Full> {
        let head = arena.alloc(MAX_HEIGHT, u64::MAX, b"", b"")?;
        debug_assert_eq!(compare_keys(b"abcdefgh1", b"abcdefgh2"), Cmp::Less);
        Ok(List {
            arena,
            head,
            height: AtomicUsize::new(1),
        })
    }

    #[inline]
    pub(crate) fn seqno_of(&self, n: NodeRef) -> u64 {
        self.arena.trailer(n) >> 8
    }

    #[inline]
    pub(crate) fn is_put(&self, n: NodeRef) -> bool {
        self.arena.trailer(n) & 0xFF == KIND_PUT
    }

    /// Whether node `n` sorts before the target `(key, seqno)`.
    #[inline]
    fn before(&self, n: NodeRef, key: &[u8], seqno: u64) -> bool {
        let (k, trailer) = self.arena.key_trailer(n);
        match compare_keys(k, key) {
            Cmp::Less => true,
            Cmp::Greater => false,
            Cmp::Equal => trailer >> 8 > seqno,
        }
    }

    /// The first node.
    #[inline]
    pub(crate) fn first(&self) -> Option<NodeRef> {
        self.arena.next(self.head, 0)
    }

    /// The node after `n` at level 0.
    #[inline]
    pub(crate) fn next(&self, n: NodeRef) -> Option<NodeRef> {
        self.arena.next(n, 0)
    }

    /// The first node at or after `(key, seqno)`: with `seqno` = the
    /// reader's snapshot, the newest version of `key` visible to it (if the
    /// key matches).
    pub(crate) fn seek(&self, key: &[u8], seqno: u64) -> Option<NodeRef> {
        let mut x = self.head;
        let mut level = self.height.load(Ordering::Relaxed);
        // The node that stopped the descent one level up: when a lower
        // level leads to it again, it need not be compared again
        // (RocksDB's `last_bigger`).
        let mut stop: Option<NodeRef> = None;
        while level > 0 {
            level -= 1;
            while let Some(n) = self.arena.next(x, level) {
                if Some(n) == stop || !self.before(n, key, seqno) {
                    stop = Some(n);
                    break;
                }
                x = n;
            }
        }
        self.arena.next(x, 0)
    }

    /// Moves `prev` forward at `level` until its successor no longer sorts
    /// before the target; returns the (prev, next) pair.
    #[inline]
    fn find_at(
        &self,
        mut prev: NodeRef,
        level: usize,
        key: &[u8],
        seqno: u64,
    ) -> (NodeRef, Option<NodeRef>) {
        loop {
            match self.arena.next(prev, level) {
                Some(n) if self.before(n, key, seqno) => prev = n,
                next => return (prev, next),
            }
        }
    }

    /// The splice of `(key, seqno)` at every level below `top`.
    fn splice(&self, key: &[u8], seqno: u64, top: usize, s: &mut Splice) {
        let mut x = self.head;
        let mut stop: Option<NodeRef> = None;
        for level in (0..top).rev() {
            let next = loop {
                match self.arena.next(x, level) {
                    Some(n) if Some(n) != stop && self.before(n, key, seqno) => x = n,
                    next => break next,
                }
            };
            stop = next;
            s.0[level] = x;
            s.1[level] = next;
        }
    }

    /// Links `node` (allocated, trailer set, not yet published) into the
    /// list. Lock-free: each level is one CAS, retried from its predecessor
    /// when another insert wins. Fails, without linking anything, if the
    /// same (key, seqno) is already present.
    pub(crate) fn insert(&self, node: NodeRef) -> Result<(), Duplicate> {
        let key = self.arena.key(node);
        let seqno = self.seqno_of(node);
        let height = self.arena.height(node);
        let mut cur = self.height.load(Ordering::Relaxed);
        while height > cur {
            match self.height.compare_exchange_weak(
                cur,
                height,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        let top = self.height.load(Ordering::Relaxed).max(height);
        let mut s: Splice = ([self.head; MAX_HEIGHT], [None; MAX_HEIGHT]);
        self.splice(key, seqno, top, &mut s);
        for level in 0..height {
            loop {
                let (prev, next) = (s.0[level], s.1[level]);
                if level == 0 {
                    if let Some(n) = next {
                        if self.arena.key(n) == key && self.seqno_of(n) == seqno {
                            return Err(Duplicate);
                        }
                    }
                }
                self.arena.set_next(node, level, next);
                if self.arena.cas_next(prev, level, next, node) {
                    break;
                }
                let (p, n) = self.find_at(prev, level, key, seqno);
                s.0[level] = p;
                s.1[level] = n;
            }
        }
        Ok(())
    }
}
