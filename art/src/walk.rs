//! [`Walker`]: ordered, bidirectional positioning over the tree, which the
//! cursor and the scans share. Safe code over [`crate::node`] and
//! [`crate::leaf`], but for decoding the words it loads.
//!
//! The walker keeps the path to its leaf on a stack (inline for 24
//! levels, spilling to the heap only for deeper keys): per node, the
//! version it read and the position it took there (−1 before everything,
//! 0 the end leaf, `b + 1` the child of byte `b`, 257 past everything).
//! A step looks for the next (or previous) occupied slot of the top node,
//! validates that node's version, and descends to the first (or last)
//! leaf below, pushing each node it enters; when a node is exhausted it
//! pops to the parent. A failed validation anywhere restarts the step
//! from the root: a seek just past (or before) the current key, so live
//! walks are weakly consistent — keys strictly ascending along `next`,
//! strictly descending along `prev`, each one present when it was read,
//! and every key present throughout is met.
//!
//! Leaves with no version visible at the walker's seqno (keys written
//! later, removals) are stepped over.

use crate::leaf::{LeafRef, RecordRef};
use crate::node::{Child, NodeRef};
use crate::tree::Tree;
use core::cmp::Ordering as Cmp;
use crossbeam_epoch::Guard;
use ordex_core::olc::{backoff, Restart, Stamp};
use ordex_core::Seqno;
use smallvec::SmallVec;

#[derive(Clone, Copy)]
struct Frame<'g> {
    node: NodeRef<'g>,
    stamp: Stamp,
    pos: i32,
}

/// Before every slot of a node.
const BEFORE: i32 = -1;
/// Past every slot of a node.
const AFTER: i32 = 257;

/// A direction of travel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Fwd,
    Bwd,
}

/// See the [module docs](self).
pub(crate) struct Walker<'g> {
    tree: &'g Tree,
    guard: &'g Guard,
    /// `None`: the newest version of each key; otherwise the newest at or
    /// below this seqno.
    seqno: Option<Seqno>,
    stack: SmallVec<[Frame<'g>; 24]>,
    cur: Option<(LeafRef<'g>, RecordRef<'g>)>,
    /// Every leaf, with its newest version, tombstones included (for
    /// the sweep).
    raw: bool,
}

impl<'g> Walker<'g> {
    pub(crate) fn new(tree: &'g Tree, seqno: Option<Seqno>, guard: &'g Guard) -> Self {
        Walker {
            tree,
            guard,
            seqno,
            stack: SmallVec::new(),
            cur: None,
            raw: false,
        }
    }

    /// Makes it stop at every leaf, with its newest version, tombstones
    /// included.
    pub(crate) fn raw(&mut self) {
        self.raw = true;
    }

    /// The seqno it reads at.
    pub(crate) fn seqno(&self) -> Option<Seqno> {
        self.seqno
    }

    /// The current entry.
    #[inline]
    pub(crate) fn current(&self) -> Option<(LeafRef<'g>, RecordRef<'g>)> {
        self.cur
    }

    /// Moves to the first key at or above `key` (`inclusive`) or above it.
    pub(crate) fn seek(&mut self, key: &[u8], inclusive: bool) -> bool {
        self.position(Dir::Fwd, |w| w.seek_raw(key, inclusive, Dir::Fwd))
    }

    /// Moves to the last key at or below `key` (`inclusive`) or below it.
    pub(crate) fn seek_back(&mut self, key: &[u8], inclusive: bool) -> bool {
        self.position(Dir::Bwd, |w| w.seek_raw(key, inclusive, Dir::Bwd))
    }

    /// Moves to the first key.
    pub(crate) fn first(&mut self) -> bool {
        self.position(Dir::Fwd, |w| w.edge(Dir::Fwd))
    }

    /// Moves to the last key.
    pub(crate) fn last(&mut self) -> bool {
        self.position(Dir::Bwd, |w| w.edge(Dir::Bwd))
    }

    /// Moves to the next key (`false`, unpositioned, past the last one).
    pub(crate) fn next(&mut self) -> bool {
        self.step(Dir::Fwd)
    }

    /// Moves to the previous key (`false`, unpositioned, before the first).
    pub(crate) fn prev(&mut self) -> bool {
        self.step(Dir::Bwd)
    }

    fn position(
        &mut self,
        dir: Dir,
        mut find: impl FnMut(&mut Self) -> Result<Option<LeafRef<'g>>, Restart>,
    ) -> bool {
        let mut restarts = 0;
        loop {
            match find(self).and_then(|l| self.settle(l, dir)) {
                Ok(found) => {
                    self.cur = found;
                    return found.is_some();
                }
                Err(Restart) => backoff(&mut restarts),
            }
        }
    }

    fn step(&mut self, dir: Dir) -> bool {
        let Some((cur, _)) = self.cur else {
            return false;
        };
        let mut restarts = 0;
        let mut resume = false;
        loop {
            let found = if resume {
                // The path went stale: seek past the current key.
                self.seek_raw(cur.key(), false, dir)
            } else {
                self.advance(dir)
            };
            match found.and_then(|l| self.settle(l, dir)) {
                Ok(found) => {
                    self.cur = found;
                    return found.is_some();
                }
                Err(Restart) => {
                    resume = true;
                    backoff(&mut restarts);
                }
            }
        }
    }

    /// The first leaf from `l` on (in `dir`) with a visible version.
    fn settle(
        &mut self,
        mut l: Option<LeafRef<'g>>,
        dir: Dir,
    ) -> Result<Option<(LeafRef<'g>, RecordRef<'g>)>, Restart> {
        loop {
            let Some(leaf) = l else {
                return Ok(None);
            };
            if self.raw {
                return Ok(Some((leaf, leaf.newest())));
            }
            if let Some(r) = leaf.value_at(self.seqno) {
                return Ok(Some((leaf, r)));
            }
            l = self.advance(dir)?;
        }
    }

    fn push(&mut self, node: NodeRef<'g>, stamp: Stamp, pos: i32) {
        self.stack.push(Frame { node, stamp, pos });
    }

    /// The first (or last) leaf of the tree.
    fn edge(&mut self, dir: Dir) -> Result<Option<LeafRef<'g>>, Restart> {
        self.stack.clear();
        let root = self.tree.root(self.guard);
        let v = root.lock().read_begin()?;
        self.push(root, v, if dir == Dir::Fwd { BEFORE } else { AFTER });
        self.advance(dir)
    }

    /// The next leaf in `dir` after the stack's position.
    fn advance(&mut self, dir: Dir) -> Result<Option<LeafRef<'g>>, Restart> {
        loop {
            let Some(top) = self.stack.last().copied() else {
                return Ok(None);
            };
            let next = match dir {
                Dir::Fwd => top.node.next_slot(top.pos),
                Dir::Bwd => top.node.prev_slot(top.pos),
            };
            top.node.lock().check(top.stamp)?;
            let Some((pos, w)) = next else {
                self.stack.pop();
                continue;
            };
            if let Some(t) = self.stack.last_mut() {
                t.pos = pos;
            }
            // SAFETY: loaded from a slot of `top.node`, reached under the
            // walker's guard.
            match unsafe { w.get(self.guard) } {
                None => {}
                Some(Child::Leaf(l)) => return Ok(Some(l)),
                Some(Child::Node(c)) => {
                    let s = c.lock().read_begin()?;
                    let start = if dir == Dir::Fwd { BEFORE } else { AFTER };
                    self.push(c, s, start);
                }
            }
        }
    }

    /// Builds the path to `key` and returns the first leaf from there in
    /// `dir`: at or above `key` (or above, not `inclusive`) going forward,
    /// at or below (or below) going backward.
    fn seek_raw(
        &mut self,
        key: &[u8],
        inclusive: bool,
        dir: Dir,
    ) -> Result<Option<LeafRef<'g>>, Restart> {
        self.stack.clear();
        let fwd = dir == Dir::Fwd;
        let mut node = self.tree.root(self.guard);
        let mut depth = 0;
        loop {
            let v = node.lock().read_begin()?;
            let plen = node.plen();
            match self
                .tree
                .compare_path(node, v, plen, key, depth, self.guard)?
            {
                // Every key below sorts above `key`: forward, its first;
                // backward, none of them.
                Cmp::Greater => {
                    if fwd {
                        self.push(node, v, BEFORE);
                    }
                    return self.advance(dir);
                }
                // Every key below sorts below `key`.
                Cmp::Less => {
                    if !fwd {
                        self.push(node, v, AFTER);
                    }
                    return self.advance(dir);
                }
                Cmp::Equal => {}
            }
            let depth_here = depth + plen;
            if depth_here == key.len() {
                // The end leaf, if any, is `key`; the children sort above.
                match (fwd, inclusive) {
                    (true, true) => self.push(node, v, BEFORE),
                    (true, false) => self.push(node, v, 0),
                    (false, true) => self.push(node, v, 1),
                    (false, false) => {}
                }
                return self.advance(dir);
            }
            let b = key[depth_here];
            let w = node.find(b);
            node.lock().check(v)?;
            self.push(node, v, b as i32 + 1);
            // SAFETY: loaded from a slot of `node`, reached under the guard.
            match unsafe { w.get(self.guard) } {
                None => return self.advance(dir),
                Some(Child::Leaf(l)) => {
                    let c = l.key().cmp(key);
                    let hit = match (fwd, inclusive) {
                        (true, true) => c != Cmp::Less,
                        (true, false) => c == Cmp::Greater,
                        (false, true) => c != Cmp::Greater,
                        (false, false) => c == Cmp::Less,
                    };
                    return if hit { Ok(Some(l)) } else { self.advance(dir) };
                }
                Some(Child::Node(c)) => {
                    node = c;
                    depth = depth_here + 1;
                }
            }
        }
    }
}
