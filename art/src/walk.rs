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
//! later, removals) are stepped over. Inline entries carry only their key's
//! last bytes: the walker rebuilds their keys from the bytes of its path,
//! which it keeps in a buffer as it descends (inline entries live only
//! below paths stored whole, in keys of at most 24 bytes).

use crate::bytes::{Bytes, InlineBytes, INLINE_KEY};
use crate::leaf::{LeafRef, RecordRef};
use crate::node::{
    prefix_byte, Child, Copied, Entry, Head, Inline, NodeRef, Packed, INLINE_SUFFIX, STORED,
};
use crate::tree::{run_find, Tree};
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
    /// The depth of the node's child bytes (after its path).
    depth: usize,
    /// Whether the node is a run (its kind, read once on entering).
    run: bool,
    /// Whether the node is a run or a Node256 of values, whose entries
    /// [`Walker::values_after`] hands out a batch at a time (read once on
    /// entering, so that a scan's other entries pass that test at the
    /// cost of a flag).
    batched: bool,
    /// A forward walk has asked for the children of the bytes below
    /// this one (see [`Walker::ask_ahead`]).
    asked: i32,
    /// [`Walker::children_after`] may take the node's entries: a Node48
    /// or Node256, or a Node4, 16 or 32 below one (the bottom of a tree
    /// of integer keys). Small nodes below small nodes (the inner nodes
    /// of words, whose next child is most often a run) are left to the
    /// step: trying there took few entries and cost words' scans 1.5%
    /// more instructions.
    children: bool,
}

/// The walker's path: the node it is in, kept apart from the nodes above
/// it (the inner loop of a scan reads and updates only `top`), which sit
/// inline for 23 levels and spill to the heap only for deeper keys.
#[derive(Default)]
struct Path<'g> {
    top: Option<Frame<'g>>,
    above: SmallVec<[Frame<'g>; 23]>,
}

impl<'g> Path<'g> {
    #[inline]
    fn clear(&mut self) {
        self.top = None;
        self.above.clear();
    }

    #[inline]
    fn push(&mut self, f: Frame<'g>) {
        if let Some(t) = self.top.replace(f) {
            self.above.push(t);
        }
    }

    /// Pushes `f`, the frame below having moved to position `pos` and
    /// asked for its children up to `asked`: written into that frame
    /// once it is in the stack, not before it moves there. A frame
    /// copied right after narrow stores into it waits for them to reach
    /// the cache (the core cannot forward them into the copy's wide
    /// loads), and a scan of random integer keys enters a node every
    /// other entry: a sixth of its samples were on that wait.
    #[inline]
    fn push_moved(&mut self, pos: i32, asked: i32, f: Frame<'g>) {
        if let Some(t) = self.top.replace(f) {
            self.above.push(t);
            if let Some(t) = self.above.last_mut() {
                t.pos = pos;
                t.asked = asked;
            }
        }
    }

    #[inline]
    fn pop(&mut self) {
        self.top = self.above.pop();
    }
}

/// What a step reached: a leaf, an inline entry (whose key the walker
/// has rebuilt in its buffer, `len` bytes), or a packed entry.
#[derive(Clone, Copy)]
enum Reached<'g> {
    Leaf(LeafRef<'g>),
    Inline(u8, Inline),
    Packed(Packed<'g>),
}

/// The key a step started from, to seek past if the path goes stale: a
/// leaf's or packed entry's, in the tree, or an inline entry's bytes,
/// copied from the walker's buffer.
enum Kept<'g> {
    Leaf(&'g [u8]),
    Inline([u8; INLINE_KEY], u8),
}

/// Before every slot of a node.
const BEFORE: i32 = -1;
/// Entries [`Walker::values_after`] reads under one validation: a
/// quarter of a Node256 of values (256 bytes of slots), a half of the
/// largest run. Under loom, 4: every atomic load is a point the models
/// explore interleavings at, and batches of 4 (after a first of 1)
/// show the same races at a tenth of the cost.
#[cfg(not(loom))]
const VALUES_BATCH: usize = 32;
#[cfg(loom)]
const VALUES_BATCH: usize = 4;
/// Past every slot of a node.
const AFTER: i32 = 257;

/// A direction of travel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Fwd,
    Bwd,
}

/// The walker's current entry.
#[derive(Clone, Copy)]
pub(crate) enum Cur<'g> {
    /// A leaf and the version shown.
    Leaf(LeafRef<'g>, RecordRef<'g>),
    /// An inline entry; its key is the first `len` bytes of the buffer.
    Inline(u8, Inline),
    /// A packed entry (seen by every reader).
    Packed(Packed<'g>),
}

/// See the [module docs](self).
pub(crate) struct Walker<'g> {
    tree: &'g Tree,
    guard: &'g Guard,
    /// `None`: the newest version of each key; otherwise the newest at or
    /// below this seqno.
    seqno: Option<Seqno>,
    stack: Path<'g>,
    /// The bytes of the path so far (the first `INLINE_KEY` of them).
    kbuf: [u8; INLINE_KEY],
    cur: Option<Cur<'g>>,
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
            stack: Path::default(),
            kbuf: [0; INLINE_KEY],
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
    pub(crate) fn read_seqno(&self) -> Option<Seqno> {
        self.seqno
    }

    /// The current entry.
    #[inline]
    pub(crate) fn current(&self) -> Option<Cur<'g>> {
        self.cur
    }

    /// The current key, borrowed from the walker (or the tree).
    #[inline]
    pub(crate) fn key(&self) -> Option<&[u8]> {
        match self.cur.as_ref()? {
            Cur::Leaf(l, _) => Some(l.key()),
            Cur::Packed(r) => Some(r.key()),
            Cur::Inline(len, _) => Some(&self.kbuf[..*len as usize]),
        }
    }

    /// The current value, borrowed from the walker (or the tree).
    #[inline]
    pub(crate) fn value(&self) -> Option<&[u8]> {
        match self.cur.as_ref()? {
            Cur::Leaf(_, r) => Some(r.value()),
            Cur::Packed(r) => Some(r.value()),
            Cur::Inline(_, i) => Some(i.value_bytes()),
        }
    }

    /// The current key, to keep for the guard's lifetime.
    pub(crate) fn key_bytes(&self) -> Option<Bytes<'g>> {
        match self.cur? {
            Cur::Leaf(l, _) => Some(Bytes::Borrowed(l.key())),
            Cur::Packed(r) => Some(Bytes::Borrowed(r.key())),
            Cur::Inline(len, _) => Some(Bytes::Inline(InlineBytes::from_buf(
                self.kbuf,
                len as usize,
            ))),
        }
    }

    /// The current value, to keep for the guard's lifetime.
    pub(crate) fn value_bytes(&self) -> Option<Bytes<'g>> {
        match self.cur? {
            Cur::Leaf(_, r) => Some(Bytes::Borrowed(r.value())),
            Cur::Packed(r) => Some(Bytes::Borrowed(r.value())),
            Cur::Inline(_, i) => {
                let (v, n) = i.value();
                let mut buf = [0u8; INLINE_KEY];
                buf[..8].copy_from_slice(&v);
                Some(Bytes::Inline(InlineBytes::from_buf(buf, n)))
            }
        }
    }

    /// The seqno of the version shown (0 for an inline or packed entry,
    /// which every reader sees).
    #[inline]
    pub(crate) fn seqno(&self) -> Option<Seqno> {
        match self.cur? {
            Cur::Leaf(_, r) => Some(r.seqno()),
            Cur::Inline(..) | Cur::Packed(_) => Some(0),
        }
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
    #[inline]
    pub(crate) fn next(&mut self) -> bool {
        self.step_fast(Dir::Fwd)
    }

    /// Moves to the previous key (`false`, unpositioned, before the first).
    #[inline]
    pub(crate) fn prev(&mut self) -> bool {
        self.step_fast(Dir::Bwd)
    }

    /// Whether the walker is in a node whose entries
    /// [`values_after`](Self::values_after) hands out a batch at a time
    /// (a run or a Node256 of values): a scan asks before each entry.
    #[inline]
    pub(crate) fn in_batched(&self) -> bool {
        matches!(&self.stack.top, Some(t) if t.batched)
    }

    /// Whether the walker stands on an inline entry of a Node4, 16, 32,
    /// 48 or 256 whose entries [`children_after`](Self::children_after)
    /// may hand out a batch at a time: a scan asks before each entry
    /// that [`values_after`](Self::values_after) does not take.
    #[inline]
    pub(crate) fn in_children(&self) -> bool {
        matches!(&self.stack.top, Some(t) if t.children && !self.raw)
            && matches!(self.cur, Some(Cur::Inline(..)))
    }

    /// A forward scan's shortcut through the entries of one node, a batch
    /// at a time: when the walker stands on an entry of a run or of a
    /// `V256` node (a Node256 of values: dense integer keys, ids behind a
    /// fixed prefix), hands `f` the node's next entries in key order, up
    /// to [`VALUES_BATCH`] at a time, each batch read under one validation
    /// of the node, with no step of the walker between them; `f`
    /// returning `false` stops. A batch ends before an entry the walker's
    /// step must take (a leaf, whose versions it resolves at its seqno; a
    /// node; an inline key longer than its buffer). Leaves the walker on
    /// the last entry given, so `next` goes on from there. `None` when it
    /// does not apply (not on such an entry, or the node changed before
    /// any entry was given): the walker is then as it was. `Some(false)`
    /// when `f` stopped.
    #[inline]
    pub(crate) fn values_after(
        &mut self,
        f: &mut impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Option<bool> {
        let top = match &self.stack.top {
            Some(t) if t.batched => *t,
            _ => return None,
        };
        if !matches!(self.cur, Some(Cur::Inline(..) | Cur::Packed(_))) {
            return None;
        }
        if top.pos < 1 {
            return None;
        }
        if top.run {
            return self.run_values_after(top, f);
        }
        // A batched node that is not a run is a Node256 of values (see
        // `Frame::batched`); the slot's byte is the key's last (a value
        // entry has no suffix).
        debug_assert!(top.node.is_v256());
        if top.depth + 1 > INLINE_KEY {
            return None;
        }
        let depth = top.depth;
        let mut batch = [(0u8, Inline::PLACEHOLDER); VALUES_BATCH];
        let mut from = top.pos as usize;
        let mut any = false;
        // A short first batch: a scan that ends soon reads little ahead.
        let mut size = VALUES_BATCH / 4;
        loop {
            let n = top.node.v256_values(from, &mut batch[..size])?;
            // What was read is used only once the node is seen unchanged.
            if top.node.lock().check(top.stamp).is_err() {
                return any.then_some(true);
            }
            if n == 0 {
                return Some(true);
            }
            any = true;
            for (j, &(b, i)) in batch[..n].iter().enumerate() {
                self.kbuf[depth] = b;
                if !f(&self.kbuf[..=depth], i.value_bytes()) {
                    self.stand_at(depth, batch[j]);
                    return Some(false);
                }
            }
            let last = batch[n - 1];
            self.stand_at(depth, last);
            if n < size || last.0 == 255 {
                return Some(true);
            }
            from = usize::from(last.0) + 1;
            size = VALUES_BATCH;
        }
    }

    /// A forward scan's shortcut through a Node4, 16, 32, 48 or 256 (the
    /// frame at the top of the stack, where the walker stands on an
    /// inline entry: [`in_children`](Self::in_children)), as
    /// [`values_after`](Self::values_after) is through runs and Node256s
    /// of values: the node's children after the walker's position, a
    /// batch at a time under one validation, handed to `f` in key order
    /// as long as they are inline entries, or nodes of inline entries
    /// only (Node4, 16 or 32, the bottom of a tree of integer keys), which
    /// are read whole under their own validation without entering them.
    /// When the node is done the walk goes on in its parent the same way.
    /// A batch ends before anything else (a leaf, whose versions a step
    /// resolves at its seqno; a larger node; a child that changed; a key
    /// longer than the buffer), where the walker's step takes over.
    /// Leaves the walker on the last entry given; returns what
    /// `values_after` does.
    ///
    /// A random-u64 scan crosses a small bottom node every other entry:
    /// entering and leaving it through the step cost more than the rest
    /// of the scan (the section on scans in `docs/art.md`).
    #[inline(never)]
    pub(crate) fn children_after(
        &mut self,
        f: &mut impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Option<bool> {
        let mut batch = Copied::<(u8, Entry), VALUES_BATCH>::new();
        let mut small = Copied::<(u8, Inline), 32>::new();
        let mut any = false;
        // A first batch of two, growing fourfold: where the walk soon
        // needs the step (a leaf, a run below), little was read for
        // nothing, and a scan that ends soon reads little ahead.
        let mut size = 2;
        loop {
            let top = match self.stack.top {
                Some(t) if t.children => t,
                _ => return any.then_some(true),
            };
            let depth = top.depth;
            let from = top.pos.max(0) as usize;
            top.node.children_after(from, size, &mut batch)?;
            let n = batch.len();
            // What was read is used only once the node is seen unchanged.
            if top.node.lock().check(top.stamp).is_err() {
                return any.then_some(true);
            }
            if n == 0 {
                // Done with this node: on in its parent, after it.
                self.stack.pop();
                continue;
            }
            for &(b, e) in batch.as_slice() {
                if e.word.is_inline() {
                    let i = Inline::from_entry(e);
                    let Ok(len) = self.inline_at(depth, b, i) else {
                        return any.then_some(true);
                    };
                    self.set_pos(i32::from(b) + 1);
                    self.cur = Some(Cur::Inline(len, i));
                    any = true;
                    if !f(&self.kbuf[..usize::from(len)], i.value_bytes()) {
                        return Some(false);
                    }
                    continue;
                }
                // SAFETY: loaded from a slot of `top.node`, reached under
                // the walker's guard, and validated above.
                let Some(Child::Node(c)) = (unsafe { e.get(self.guard) }) else {
                    return any.then_some(true);
                };
                let Ok(s) = c.lock().read_begin() else {
                    return any.then_some(true);
                };
                // Lock coupling, as in `advance`.
                if top.node.lock().check(top.stamp).is_err() {
                    return any.then_some(true);
                }
                if c.inline_children(&mut small).is_none() {
                    return any.then_some(true);
                }
                let plen = c.plen();
                let prefix = c.prefix();
                if c.lock().check(s).is_err() || plen > STORED {
                    return any.then_some(true);
                }
                // The child's key bytes: its byte here, its path, then each
                // entry's byte and suffix.
                let below = depth + 1 + plen;
                if below + 1 + INLINE_SUFFIX > INLINE_KEY {
                    return any.then_some(true);
                }
                self.kbuf[depth] = b;
                for j in 0..plen {
                    self.kbuf[depth + 1 + j] = prefix_byte(prefix, j);
                }
                self.set_pos(i32::from(b) + 1);
                let m = small.len();
                for (j, &(kb, i)) in small.as_slice().iter().enumerate() {
                    let Ok(len) = self.inline_at(below, kb, i) else {
                        return any.then_some(true);
                    };
                    self.cur = Some(Cur::Inline(len, i));
                    any = true;
                    if !f(&self.kbuf[..usize::from(len)], i.value_bytes()) {
                        if j + 1 < m {
                            // Stopped inside the child: the walker stands
                            // there, as a step would have left it.
                            self.enter(c, s, depth + 1, i32::from(kb) + 1);
                        }
                        return Some(false);
                    }
                }
            }
            if n < size {
                // The node holds nothing after the batch.
                self.stack.pop();
            }
            size = (4 * size).min(VALUES_BATCH);
        }
    }

    /// Writes the key of inline entry `i` of byte `b` of a node whose
    /// child bytes are at `depth` into the buffer; its length.
    #[inline]
    fn inline_at(&mut self, depth: usize, b: u8, i: Inline) -> Result<u8, Restart> {
        *self.kbuf.get_mut(depth).ok_or(Restart)? = b;
        self.inline_key(depth + 1, i)
    }

    /// [`values_after`](Self::values_after) in a run (the frame `top`):
    /// its inline and packed entries after the current one.
    fn run_values_after(
        &mut self,
        top: Frame<'g>,
        f: &mut impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Option<bool> {
        let depth = top.depth;
        let mut batch = [(0 as Head, Entry::EMPTY); VALUES_BATCH];
        // Entry `i` of a run is at position `i + 1`: the next is at index
        // `pos`.
        let mut from = top.pos as usize;
        let mut any = false;
        let mut size = VALUES_BATCH / 4;
        loop {
            let n = top.node.run_entries(from, &mut batch[..size])?;
            if top.node.lock().check(top.stamp).is_err() {
                return any.then_some(true);
            }
            if n == 0 {
                return Some(true);
            }
            any = true;
            for (j, &(head, e)) in batch[..n].iter().enumerate() {
                // SAFETY: loaded from a slot of the run, reached under the
                // walker's guard, and validated above: a packed word names
                // a live record of the run's area.
                let child = unsafe { e.get(self.guard) };
                let pos = (from + j + 1) as i32;
                let go_on = match child {
                    Some(Child::Inline(i)) => {
                        let (t, len) = i.run_tail(head);
                        let Some(tail) = self.kbuf.get_mut(depth..depth + len) else {
                            // Longer than the buffer: the walker's step.
                            return Some(true);
                        };
                        tail.copy_from_slice(&t[..len]);
                        self.set_pos(pos);
                        self.cur = Some(Cur::Inline((depth + len) as u8, i));
                        f(&self.kbuf[..depth + len], i.value_bytes())
                    }
                    Some(Child::Packed(r)) => {
                        self.set_pos(pos);
                        self.cur = Some(Cur::Packed(r));
                        f(r.key(), r.value())
                    }
                    // `run_entries` takes inline and packed entries only.
                    _ => return Some(true),
                };
                if !go_on {
                    return Some(false);
                }
            }
            if n < size {
                return Some(true);
            }
            from += n;
            size = VALUES_BATCH;
        }
    }

    /// Puts the walker on inline entry `i` of byte `b` of the node at the
    /// top of the stack (its child bytes at `depth`).
    #[inline]
    fn stand_at(&mut self, depth: usize, (b, i): (u8, Inline)) {
        self.kbuf[depth] = b;
        self.set_pos(i32::from(b) + 1);
        self.cur = Some(Cur::Inline((depth + 1) as u8, i));
    }

    /// A step in `dir` (inlined into `next` and `prev`, each with its
    /// direction known). The common steps (to the next slot of the node
    /// the walker is in, out of a node it has finished, into a child node,
    /// through a run) are taken in one pass that ends at an inline entry
    /// or a leaf with a version to show, without the bookkeeping of a
    /// step that may restart. Anything else (a leaf with nothing to show,
    /// a node that changed) is left to a step from where that pass got
    /// to: its moves are the ones a step makes, in the same order, so the
    /// stack is as a step's would be there.
    #[inline(always)]
    fn step_fast(&mut self, dir: Dir) -> bool {
        if self.cur.is_none() {
            return false;
        }
        let mut kept = None;
        if !self.raw {
            if let Some(cur) = self.pass(dir, &mut kept) {
                self.cur = Some(cur);
                return true;
            }
        }
        match kept.or_else(|| self.kept()) {
            Some(kept) => self.step_from(dir, kept),
            None => false,
        }
    }

    /// The pass of [`step_fast`](Self::step_fast): `None` where a step
    /// must go on. The current key is copied into `kept` before the pass
    /// first writes the key buffer (going down into a node), and only
    /// then: a pass that ends at an entry needs no copy, and one taken
    /// each step (reading the buffer just after the step before wrote
    /// it, byte by byte) cost a fifth of a scan in a stalled load.
    #[inline(always)]
    fn pass(&mut self, dir: Dir, kept: &mut Option<Kept<'g>>) -> Option<Cur<'g>> {
        loop {
            let top = self.stack.top.as_ref()?;
            if top.run {
                match self.run_in_pass(dir)? {
                    Some(cur) => return Some(cur),
                    None => continue,
                }
            }
            let (node, stamp, depth, asked) = (top.node, top.stamp, top.depth, top.asked);
            let next = match dir {
                Dir::Fwd => node.next_slot(top.pos),
                Dir::Bwd => node.prev_slot(top.pos),
            };
            node.lock().check(stamp).ok()?;
            let Some((pos, w)) = next else {
                self.stack.pop();
                continue;
            };
            // SAFETY: loaded from a slot of `node`, reached under the
            // walker's guard (and validated).
            match unsafe { w.get(self.guard) }? {
                // Its key fits the buffer (so rebuilding it cannot fail).
                Child::Inline(i) if pos > 0 && depth + 1 + i.suffix().1 <= INLINE_KEY => {
                    self.moved_to(pos, depth);
                    return Some(Cur::Inline(self.inline_key(depth + 1, i).ok()?, i));
                }
                Child::Leaf(l) => {
                    let v = l.value_at(self.seqno)?;
                    self.moved_to(pos, depth);
                    return Some(Cur::Leaf(l, v));
                }
                Child::Node(c) => {
                    let asked = if dir == Dir::Fwd {
                        self.asked_ahead(node, pos, asked)
                    } else {
                        asked
                    };
                    let s = c.lock().read_begin().ok()?;
                    // Lock coupling, as in `advance`.
                    node.lock().check(stamp).ok()?;
                    if kept.is_none() {
                        *kept = self.kept();
                    }
                    self.note(depth, (pos - 1) as u8);
                    let start = if dir == Dir::Fwd { BEFORE } else { AFTER };
                    self.enter_moved(c, s, depth + 1, start, pos, asked);
                    continue;
                }
                Child::Inline(_) | Child::Packed(_) => return None,
            }
        }
    }

    /// The pass's step in the run at the top of the stack (as
    /// [`run_step`](Self::run_step) takes it): its next entry, if that
    /// is an inline entry or a leaf with a version to show, or
    /// `Some(None)` at the run's end (popped); `None` (nothing changed)
    /// otherwise.
    #[inline(always)]
    fn run_in_pass(&mut self, dir: Dir) -> Option<Option<Cur<'g>>> {
        let top = self.stack.top.as_ref()?;
        let (node, stamp, depth) = (top.node, top.stamp, top.depth);
        let next = match dir {
            Dir::Fwd => node.next_slot(top.pos),
            Dir::Bwd => node.prev_slot(top.pos),
        };
        let head = match next {
            Some((pos, _)) if pos > 0 => node.run_head(pos as usize - 1),
            _ => 0,
        };
        node.lock().check(stamp).ok()?;
        let Some((pos, w)) = next else {
            self.stack.pop();
            return Some(None);
        };
        // SAFETY: loaded from a slot of `node`, reached under the
        // walker's guard (and validated).
        match unsafe { w.get(self.guard) }? {
            // Its key fits the buffer (so rebuilding it cannot fail).
            Child::Inline(i) if depth + i.run_tail(head).1 <= INLINE_KEY => {
                self.set_pos(pos);
                Some(Some(Cur::Inline(
                    self.run_inline_key(depth, i, head).ok()?,
                    i,
                )))
            }
            Child::Leaf(l) => {
                let v = l.value_at(self.seqno)?;
                self.set_pos(pos);
                Some(Some(Cur::Leaf(l, v)))
            }
            Child::Packed(r) => {
                self.set_pos(pos);
                Some(Some(Cur::Packed(r)))
            }
            _ => None,
        }
    }

    /// Asks for the children of the 8 slots after position `pos` of
    /// `node` (the node at the top of the stack, whose child at `pos` a
    /// forward walk goes down to; position `p` is the slot of byte
    /// `p - 1`, so those of bytes `pos..pos + 8`: see
    /// `NodeRef::prefetch_between`), but not those it asked for on an
    /// earlier way down from this frame: each child once, not again for
    /// every sibling before it.
    #[inline]
    fn ask_ahead(&mut self, node: NodeRef<'g>, pos: i32) {
        let Some(asked) = self.stack.top.as_ref().map(|t| t.asked) else {
            return;
        };
        let to = self.asked_ahead(node, pos, asked);
        if let Some(top) = self.stack.top.as_mut() {
            top.asked = to;
        }
    }

    /// [`ask_ahead`](Self::ask_ahead) for a frame that has asked up to
    /// `asked`, returning how far it has asked now instead of storing it
    /// (the caller writes it with the frame's move, `Path::push_moved`).
    #[inline]
    fn asked_ahead(&self, node: NodeRef<'g>, pos: i32, asked: i32) -> i32 {
        let to = pos.max(0) + 8;
        let from = pos.max(asked);
        if from < to {
            node.prefetch_between(from, to);
            to
        } else {
            asked
        }
    }

    /// Sets the top frame's position to `pos`.
    #[inline]
    fn set_pos(&mut self, pos: i32) {
        if let Some(t) = self.stack.top.as_mut() {
            t.pos = pos;
        }
    }

    /// Sets the top frame's position to `pos` and notes its byte (its
    /// child bytes are at `depth`).
    #[inline]
    fn moved_to(&mut self, pos: i32, depth: usize) {
        self.set_pos(pos);
        if pos > 0 {
            self.note(depth, (pos - 1) as u8);
        }
    }

    fn position(
        &mut self,
        dir: Dir,
        mut find: impl FnMut(&mut Self) -> Result<Option<Reached<'g>>, Restart>,
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

    /// The current key, to seek past if the path goes stale. A leaf's
    /// stays in the tree (under the guard); an inline entry's is in the
    /// buffer, which a failed step may overwrite, so its bytes are kept:
    /// the whole array, a fixed-size copy (a `Bytes` made of it each step
    /// cost more than the rest of a step, in stalls on the stack).
    #[inline]
    fn kept(&self) -> Option<Kept<'g>> {
        Some(match self.cur? {
            Cur::Leaf(l, _) => Kept::Leaf(l.key()),
            Cur::Packed(r) => Kept::Leaf(r.key()),
            Cur::Inline(len, _) => Kept::Inline(self.kbuf, len),
        })
    }

    /// A step from the stack's position, the key it started from being
    /// `kept` (see [`kept`](Self::kept)).
    fn step_from(&mut self, dir: Dir, kept: Kept<'g>) -> bool {
        let mut restarts = 0;
        let mut resume = false;
        loop {
            let found = if resume {
                // The path went stale: seek past the current key.
                let key: &[u8] = match &kept {
                    Kept::Leaf(k) => k,
                    Kept::Inline(buf, len) => &buf[..usize::from(*len).min(INLINE_KEY)],
                };
                self.seek_raw(key, false, dir)
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

    /// The first entry from `r` on (in `dir`) with a visible version.
    fn settle(&mut self, mut r: Option<Reached<'g>>, dir: Dir) -> Result<Option<Cur<'g>>, Restart> {
        loop {
            match r {
                None => return Ok(None),
                Some(Reached::Inline(len, i)) => return Ok(Some(Cur::Inline(len, i))),
                Some(Reached::Packed(r)) => return Ok(Some(Cur::Packed(r))),
                Some(Reached::Leaf(leaf)) => {
                    if self.raw {
                        return Ok(Some(Cur::Leaf(leaf, leaf.newest())));
                    }
                    if let Some(v) = leaf.value_at(self.seqno) {
                        return Ok(Some(Cur::Leaf(leaf, v)));
                    }
                }
            }
            r = self.advance(dir)?;
        }
    }

    /// [`enter`](Self::enter) from the top frame's child at position
    /// `moved` (its byte already noted), that frame having asked for its
    /// children up to `asked` (see `Path::push_moved`).
    #[inline]
    fn enter_moved(
        &mut self,
        node: NodeRef<'g>,
        stamp: Stamp,
        depth: usize,
        pos: i32,
        moved: i32,
        asked: i32,
    ) {
        let f = self.frame(node, stamp, depth, pos);
        self.stack.push_moved(moved, asked, f);
    }

    /// Pushes `node` (whose path starts at `depth`) at position `pos`,
    /// and notes its stored path bytes.
    fn enter(&mut self, node: NodeRef<'g>, stamp: Stamp, depth: usize, pos: i32) {
        let f = self.frame(node, stamp, depth, pos);
        self.stack.push(f);
    }

    /// The frame of `node` (whose path starts at `depth`) at position
    /// `pos`, its stored path bytes noted.
    #[inline]
    fn frame(&mut self, node: NodeRef<'g>, stamp: Stamp, depth: usize, pos: i32) -> Frame<'g> {
        let plen = node.plen();
        if plen <= STORED {
            let prefix = node.prefix();
            for i in 0..plen {
                if let Some(b) = self.kbuf.get_mut(depth + i) {
                    *b = prefix_byte(prefix, i);
                }
            }
        }
        let run = node.is_run();
        // The frame above which this one is pushed is its parent's.
        let children = node.is_wide()
            || (node.is_small() && matches!(&self.stack.top, Some(p) if p.node.is_wide()));
        Frame {
            node,
            stamp,
            pos,
            depth: depth + plen,
            run,
            batched: run || node.is_v256(),
            asked: 0,
            children,
        }
    }

    /// Notes the byte of the slot taken at `depth`.
    #[inline]
    fn note(&mut self, depth: usize, b: u8) {
        if let Some(k) = self.kbuf.get_mut(depth) {
            *k = b;
        }
    }

    /// Rebuilds the key of inline entry `i` whose suffix starts at `from`
    /// (after the noted byte of its slot at `from - 1`, or at a run's
    /// tails): the suffix goes in the buffer there (positions no frame
    /// uses: deeper ones note theirs again). Returns the key's length.
    fn inline_key(&mut self, from: usize, i: Inline) -> Result<u8, Restart> {
        let (s, n) = i.suffix();
        let len = from + n;
        if let Some(tail) = self.kbuf.get_mut(from..from + s.len()) {
            // All six bytes at once (those past the key are scratch).
            tail.copy_from_slice(&s);
        } else if let Some(tail) = self.kbuf.get_mut(from..len) {
            tail.copy_from_slice(&s[..n]);
        } else {
            // Only a torn read gets here; validation would fail.
            return Err(Restart);
        }
        Ok(len as u8)
    }

    /// Rebuilds the key of a run's inline entry `i` of head `head`, whose
    /// tail starts at `from`. Returns the key's length.
    fn run_inline_key(&mut self, from: usize, i: Inline, head: Head) -> Result<u8, Restart> {
        let (t, n) = i.run_tail(head);
        let Some(tail) = self.kbuf.get_mut(from..from + n) else {
            // Only a torn read gets here; validation would fail.
            return Err(Restart);
        };
        tail.copy_from_slice(&t[..n]);
        Ok((from + n) as u8)
    }

    /// The first (or last) entry of the tree.
    fn edge(&mut self, dir: Dir) -> Result<Option<Reached<'g>>, Restart> {
        self.stack.clear();
        let root = self.tree.root(self.guard);
        let v = root.lock().read_begin()?;
        self.enter(root, v, 0, if dir == Dir::Fwd { BEFORE } else { AFTER });
        self.advance(dir)
    }

    /// The next entry in `dir` after the stack's position.
    fn advance(&mut self, dir: Dir) -> Result<Option<Reached<'g>>, Restart> {
        loop {
            let Some(top) = self.stack.top else {
                return Ok(None);
            };
            if top.run {
                match self.run_step(top, dir)? {
                    Some(r) => return Ok(Some(r)),
                    None => {
                        self.stack.pop();
                        continue;
                    }
                }
            }
            let next = match dir {
                Dir::Fwd => top.node.next_slot(top.pos),
                Dir::Bwd => top.node.prev_slot(top.pos),
            };
            top.node.lock().check(top.stamp)?;
            let Some((pos, w)) = next else {
                self.stack.pop();
                continue;
            };
            self.moved_to(pos, top.depth);
            // SAFETY: loaded from a slot of `top.node`, reached under the
            // walker's guard.
            match unsafe { w.get(self.guard) } {
                None => {}
                Some(Child::Leaf(l)) => return Ok(Some(Reached::Leaf(l))),
                Some(Child::Packed(r)) => return Ok(Some(Reached::Packed(r))),
                Some(Child::Inline(i)) => {
                    return Ok(Some(Reached::Inline(self.inline_key(top.depth + 1, i)?, i)));
                }
                Some(Child::Node(c)) => {
                    if dir == Dir::Fwd {
                        self.ask_ahead(top.node, pos);
                    }
                    let s = c.lock().read_begin()?;
                    // Lock coupling: the parent is checked again after the
                    // child's version is read (see `tree::coupled`).
                    top.node.lock().check(top.stamp)?;
                    let start = if dir == Dir::Fwd { BEFORE } else { AFTER };
                    self.enter(c, s, top.depth + 1, start);
                }
            }
        }
    }

    /// The next entry in `dir` of the run at the top of the stack (its
    /// end leaf or an entry; `None`: none left). A run holds no nodes. An
    /// entry comes with its head (the first bytes of an inline entry's
    /// tail), read before the validation.
    fn run_step(&mut self, top: Frame<'g>, dir: Dir) -> Result<Option<Reached<'g>>, Restart> {
        let next = match dir {
            Dir::Fwd => top.node.next_slot(top.pos),
            Dir::Bwd => top.node.prev_slot(top.pos),
        };
        let head = match next {
            Some((pos, _)) if pos > 0 => top.node.run_head(pos as usize - 1),
            _ => 0,
        };
        top.node.lock().check(top.stamp)?;
        let Some((pos, w)) = next else {
            return Ok(None);
        };
        self.set_pos(pos);
        // SAFETY: loaded from a slot of `top.node`, reached under the
        // walker's guard.
        match unsafe { w.get(self.guard) } {
            Some(Child::Leaf(l)) => Ok(Some(Reached::Leaf(l))),
            Some(Child::Packed(r)) => Ok(Some(Reached::Packed(r))),
            Some(Child::Inline(i)) => {
                let len = self.run_inline_key(top.depth, i, head)?;
                Ok(Some(Reached::Inline(len, i)))
            }
            // Only a torn read: validation passed, so never.
            _ => Err(Restart),
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
    ) -> Result<Option<Reached<'g>>, Restart> {
        self.stack.clear();
        let fwd = dir == Dir::Fwd;
        let mut node = self.tree.root(self.guard);
        let mut depth = 0;
        let mut parent: Option<(NodeRef<'g>, Stamp)> = None;
        loop {
            let v = node.lock().read_begin()?;
            if let Some((p, pv)) = parent {
                // Lock coupling (see `tree::coupled`).
                p.lock().check(pv)?;
            }
            let plen = node.plen();
            match self
                .tree
                .compare_path(node, v, plen, key, depth, self.guard)?
            {
                // Every key below sorts above `key`: forward, its first;
                // backward, none of them.
                Cmp::Greater => {
                    if fwd {
                        self.enter(node, v, depth, BEFORE);
                    }
                    return self.advance(dir);
                }
                // Every key below sorts below `key`.
                Cmp::Less => {
                    if !fwd {
                        self.enter(node, v, depth, AFTER);
                    }
                    return self.advance(dir);
                }
                Cmp::Equal => {}
            }
            let depth_here = depth + plen;
            if depth_here == key.len() {
                // The end leaf, if any, is `key`; the children sort above.
                match (fwd, inclusive) {
                    (true, true) => self.enter(node, v, depth, BEFORE),
                    (true, false) => self.enter(node, v, depth, 0),
                    (false, true) => self.enter(node, v, depth, 1),
                    (false, false) => {}
                }
                return self.advance(dir);
            }
            if node.is_run() {
                // Where the key's tail is among the run's entries: the
                // walk goes on from just before (or after) that index.
                let (at, e) = run_find(node, depth_here, &key[depth_here..], self.guard)?;
                node.lock().check(v)?;
                let at = at as i32;
                let pos = match (fwd, inclusive, e.is_some()) {
                    (true, false, true) => at + 1,
                    (true, _, _) => at,
                    (false, true, true) => at + 2,
                    (false, _, _) => at + 1,
                };
                self.enter(node, v, depth, pos);
                return self.advance(dir);
            }
            let b = key[depth_here];
            let w = node.find(b);
            node.lock().check(v)?;
            self.enter(node, v, depth, b as i32 + 1);
            self.note(depth_here, b);
            let hit = |c: Cmp| match (fwd, inclusive) {
                (true, true) => c != Cmp::Less,
                (true, false) => c == Cmp::Greater,
                (false, true) => c != Cmp::Greater,
                (false, false) => c == Cmp::Less,
            };
            // SAFETY: loaded from a slot of `node`, reached under the guard.
            match unsafe { w.get(self.guard) } {
                None => return self.advance(dir),
                Some(Child::Leaf(l)) => {
                    return if hit(l.key().cmp(key)) {
                        Ok(Some(Reached::Leaf(l)))
                    } else {
                        self.advance(dir)
                    };
                }
                Some(Child::Packed(r)) => {
                    return if hit(r.key().cmp(key)) {
                        Ok(Some(Reached::Packed(r)))
                    } else {
                        self.advance(dir)
                    };
                }
                Some(Child::Inline(i)) => {
                    let len = self.inline_key(depth_here + 1, i)?;
                    return if hit(self.kbuf[..len as usize].cmp(key)) {
                        Ok(Some(Reached::Inline(len, i)))
                    } else {
                        self.advance(dir)
                    };
                }
                Some(Child::Node(c)) => {
                    w.word.prefetch_node();
                    parent = Some((node, v));
                    node = c;
                    depth = depth_here + 1;
                }
            }
        }
    }
}
