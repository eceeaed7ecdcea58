//! [`Leaves`]: the leaf walker that [`Range`](crate::Range),
//! [`RevRange`](crate::RevRange) and [`Cursor`](crate::Cursor) share. It
//! holds a validated copy of one leaf and moves it: down to the leaf of a
//! key, down to the last leaf, or right along the leaf level. Safe code
//! over [`crate::node`] and [`crate::tree`].

use crate::bytes::Bytes;
use crate::latch::{backoff, Latch};
use crate::node::{
    EntryRef, HandedOut, InlineBuf, Item, LeafBuf, LeafCopy, Node, Reading, SearchKey,
};
use crate::tree::Tree;
use crossbeam_epoch::Guard;
use ordex_core::olc::Restart;
use ordex_core::Seqno;
use std::ops::Bound;

/// Which entries of a leaf a copy takes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part<'a> {
    /// All of them (a cursor, which may step back within the leaf).
    All,
    /// Those at or above this key (the first leaf of an ascending scan:
    /// the copy starts where the key would be).
    From(&'a [u8]),
    /// Those within this upper bound (a descending scan).
    Upto(Bound<&'a [u8]>),
}

/// A validated copy of one leaf (its entries resolved at the walk's
/// seqno, keys without a value there left out), its fences and its
/// right-link, and the moves to the next leaf to copy. Every move retries
/// until a copy validates; a copy never allocates (the buffer is inline).
pub(crate) struct Leaves<'g, L: Latch, const N: usize> {
    tree: &'g Tree<L, N>,
    guard: &'g Guard,
    /// The snapshot's seqno; `None`: the newest versions.
    seqno: Option<Seqno>,
    buf: LeafBuf<'g, N>,
    /// The copy when every copied slot was inline and the walk takes
    /// such copies ([`inline_copies`](Self::inline_copies)); made on the
    /// first such copy (a cursor never takes one).
    inline: Option<InlineBuf<N>>,
    /// Whether the walk copies leaves of inline slots into `inline`.
    inline_copies: bool,
    /// Whether the current copy is in `inline` (else in `buf`).
    in_inline: bool,
    /// Entries in the copy.
    len: usize,
    /// The copied leaf's high fence (None: +∞, the last leaf).
    high: Option<EntryRef<'g>>,
    /// Its low fence (None: −∞, the first leaf).
    low: Option<EntryRef<'g>>,
    /// Its right sibling.
    right: Option<&'g Node<L, N>>,
}

impl<'g, L: Latch, const N: usize> Leaves<'g, L, N> {
    /// A walker with nothing copied yet.
    pub(crate) fn new(tree: &'g Tree<L, N>, seqno: Option<Seqno>, guard: &'g Guard) -> Self {
        Leaves {
            tree,
            guard,
            seqno,
            buf: LeafBuf::new(),
            inline: None,
            inline_copies: false,
            in_inline: false,
            len: 0,
            high: None,
            low: None,
            right: None,
        }
    }

    /// Copies leaves whose copied slots are all inline (keys and values
    /// of at most 8 bytes) as raw words, read back through
    /// [`item`](Self::item) and [`inline_copy`](Self::inline_copy) only
    /// ([`get`](Self::get) has nothing of such a copy): a scan's walk.
    pub(crate) fn take_inline_copies(&mut self) {
        self.inline_copies = true;
    }

    /// The current copy, if it is of inline slots.
    #[inline]
    pub(crate) fn inline_copy(&self) -> Option<&InlineBuf<N>> {
        self.inline.as_ref().filter(|_| self.in_inline)
    }

    /// Entry `i` of the copy, either kind (None at or past
    /// [`len`](Self::len)).
    #[inline]
    pub(crate) fn item(&self, i: usize) -> Option<Item<'g>> {
        if self.in_inline {
            self.inline.as_ref()?.item(i)
        } else {
            self.buf.get(i).copied()
        }
    }

    /// The tree walked.
    #[inline]
    pub(crate) fn tree(&self) -> &'g Tree<L, N> {
        self.tree
    }

    /// The guard the copies borrow under.
    #[inline]
    pub(crate) fn guard(&self) -> &'g Guard {
        self.guard
    }

    /// The seqno the entries are resolved at (`None`: newest).
    #[inline]
    pub(crate) fn seqno(&self) -> Option<Seqno> {
        self.seqno
    }

    /// Entries in the copy.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entry `i` of the copy (None at or past [`len`](Self::len), and
    /// for a walk that [takes inline copies](Self::take_inline_copies)
    /// while the copy is one: [`item`](Self::item) reads both).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Item<'g>> {
        if self.in_inline {
            return None;
        }
        self.buf.get(i)
    }

    /// The copied leaf's high fence (None: it is the last leaf).
    #[inline]
    pub(crate) fn high(&self) -> Option<EntryRef<'g>> {
        self.high
    }

    /// The copied leaf's low fence (None: it is the first leaf).
    #[inline]
    pub(crate) fn low(&self) -> Option<EntryRef<'g>> {
        self.low
    }

    /// Copies `part` of the leaf whose range holds `key` (the first leaf
    /// for the empty key).
    pub(crate) fn descend(&mut self, key: &[u8], part: Part<'_>) {
        let _in = L::enter_shared(&self.tree.tl);
        let mut restarts = 0;
        while self.try_descend(key, part).is_err() {
            backoff(&mut restarts);
        }
    }

    fn try_descend(&mut self, key: &[u8], part: Part<'_>) -> Result<(), Restart> {
        let (node, v) = self.tree.find(SearchKey::new(key), 0, false, self.guard)?;
        self.copy(node, &v, part)
    }

    /// Copies `part` of the last leaf.
    pub(crate) fn descend_last(&mut self, part: Part<'_>) {
        let _in = L::enter_shared(&self.tree.tl);
        let mut restarts = 0;
        loop {
            let copied = self
                .tree
                .find_last(self.guard)
                .and_then(|(node, v)| self.copy(node, &v, part));
            if copied.is_ok() {
                return;
            }
            backoff(&mut restarts);
        }
    }

    /// Copies `part` of the right sibling of the copied leaf, which holds
    /// the keys above its high fence; if that sibling was unlinked
    /// meanwhile (it was empty and merged away), the leaf that now holds
    /// `key` (a key at or below every key still to be walked). False, with
    /// nothing copied, if the copied leaf is the last one.
    pub(crate) fn step_right(&mut self, key: &[u8], part: Part<'_>) -> bool {
        let Some(node) = self.right.filter(|_| self.high.is_some()) else {
            return false;
        };
        let _in = L::enter_shared(&self.tree.tl);
        let mut restarts = 0;
        // A leaf that changed under the copy is copied again (keys only
        // ever move right of it, and the copy takes its new high fence and
        // right-link); a latched one is waited for.
        while !node.is_obsolete() {
            if node.read().and_then(|v| self.copy(node, &v, part)).is_ok() {
                return true;
            }
            backoff(&mut restarts);
        }
        // Unlinked: its left sibling (the leaf copied before) took its
        // range, so the walk goes on from the leaf that now holds `key`.
        while self.try_descend(key, part).is_err() {
            backoff(&mut restarts);
        }
        true
    }

    /// Whether the walk hands leaves out without a copy: the latch's
    /// reads hold nothing, and the walk takes inline copies and has not
    /// met a leaf of other entries (a walk over long keys would only pay
    /// for the try).
    #[inline]
    fn may_hand_out(&self) -> bool {
        L::READS_HOLD_NOTHING && self.inline_copies
    }

    /// Hands the entries of the copied leaf's right sibling to `f`
    /// without copying it, each validated before `f` sees it, if the
    /// latch's reads hold nothing and the sibling's entries are inline
    /// (see [`Node::hand_out_inline`]); counts them in `n`. The walker
    /// then stands on that sibling with nothing copied (its fences and
    /// right-link taken), as if it had copied it and every entry had been
    /// read. Entries at or below `last` (the last key handed out) or
    /// below `from` are passed over, as a copy's are, and the walk stops
    /// (`Stopped`) at the first entry past `to`; `last` becomes the last
    /// key handed out.
    #[inline(always)]
    pub(crate) fn hand_out_right(
        &mut self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        n: &mut usize,
        last: &mut Option<Bytes<'g>>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> HandOut {
        if !self.may_hand_out() {
            return HandOut::NotTaken;
        }
        let Some(node) = self.right.filter(|_| self.high.is_some()) else {
            return HandOut::NotTaken;
        };
        // A latched or obsolete sibling is left to `step_right`, which
        // waits for it or goes around it.
        let Ok(v) = node.read() else {
            return HandOut::NotTaken;
        };
        self.hand_out(node, &v, 0, (from, to), n, last, f)
    }

    /// [`hand_out_right`](Self::hand_out_right) for the leaf whose range
    /// holds `key` (the first leaf for the empty key), from where `key`
    /// would be: a scan's first leaf, handed out without a copy. On
    /// `Copied` the walker holds a copy of that leaf from `key` on (as
    /// after [`descend`](Self::descend) with [`Part::From`]); on
    /// `NotTaken` and `Broke` it has nothing copied and the walk descends
    /// again, after `last` if it is set.
    #[inline(always)]
    pub(crate) fn hand_out_first(
        &mut self,
        key: &[u8],
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        n: &mut usize,
        last: &mut Option<Bytes<'g>>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> HandOut {
        if !self.may_hand_out() {
            return HandOut::NotTaken;
        }
        let sk = SearchKey::new(key);
        let Ok((node, v)) = self.tree.find(sk, 0, false, self.guard) else {
            return HandOut::NotTaken;
        };
        let Ok((pos, _)) = node.lower_bound(sk, &v, self.guard) else {
            return HandOut::NotTaken;
        };
        // A leaf of other entries (long keys or values, version chains)
        // is copied under the same read instead of descended to again.
        if pos < N && !node.looks_inline(pos) {
            return match self.copy_slots(node, &v, pos, N) {
                Ok(()) => HandOut::Copied,
                Err(Restart) => HandOut::NotTaken,
            };
        }
        self.hand_out(node, &v, pos, (from, to), n, last, f)
    }

    /// Hands out `node`'s entries from slot `start` on, under the read
    /// `v` (see [`hand_out_right`](Self::hand_out_right)).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn hand_out(
        &mut self,
        node: &'g Node<L, N>,
        v: &Reading<'g, L>,
        start: usize,
        (from, to): (Bound<&[u8]>, Bound<&[u8]>),
        n: &mut usize,
        last: &mut Option<Bytes<'g>>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> HandOut {
        let seen = *last;
        // A key above one handed out already is within the lower bound
        // too (what was handed out was), so `from` is asked only before
        // the first.
        let skip = |k: Bytes<'_>| match seen {
            Some(l) => k <= l,
            None => match from {
                Bound::Included(lo) => k.cmp_slice(lo).is_lt(),
                Bound::Excluded(lo) => k.cmp_slice(lo).is_le(),
                Bound::Unbounded => false,
            },
        };
        // An open upper end gets a loop of its own, with no test per entry.
        let done = match to {
            Bound::Unbounded => node.hand_out_inline(v, self.guard, start, (skip, |_| false), n, f),
            Bound::Included(hi) => {
                let past = |k: Bytes<'_>| k.cmp_slice(hi).is_gt();
                node.hand_out_inline(v, self.guard, start, (skip, past), n, f)
            }
            Bound::Excluded(hi) => {
                let past = |k: Bytes<'_>| k.cmp_slice(hi).is_ge();
                node.hand_out_inline(v, self.guard, start, (skip, past), n, f)
            }
        };
        let mut note = |k: Option<([u8; 8], usize)>| {
            if let Some((b, l)) = k {
                *last = Some(Bytes::inline(b, l));
            }
        };
        match done {
            HandedOut::Stopped => HandOut::Stopped,
            HandedOut::Broke(k) => {
                note(k);
                // A leaf that is not all inline: the rest of the walk
                // copies (as `copy` decides for itself).
                HandOut::Broke
            }
            HandedOut::End {
                last: k,
                high,
                low,
                right,
            } => {
                note(k);
                self.len = 0;
                self.in_inline = false;
                self.high = high;
                self.low = low;
                self.right = right;
                HandOut::Moved
            }
        }
    }

    /// Copies `part` of `node`, read as `v`, and its fences and right-link.
    fn copy(
        &mut self,
        node: &'g Node<L, N>,
        v: &Reading<'g, L>,
        part: Part<'_>,
    ) -> Result<(), Restart> {
        let guard = self.guard;
        let (from, to) = match part {
            Part::All => (0, N),
            Part::From(k) => (node.lower_bound(SearchKey::new(k), v, guard)?.0, N),
            Part::Upto(Bound::Unbounded) => (0, N),
            Part::Upto(Bound::Included(k)) => {
                match node.lower_bound(SearchKey::new(k), v, guard)? {
                    (pos, true) => (0, pos + 1),
                    (pos, false) => (0, pos),
                }
            }
            Part::Upto(Bound::Excluded(k)) => (0, node.lower_bound(SearchKey::new(k), v, guard)?.0),
        };
        self.copy_slots(node, v, from, to)
    }

    /// Copies slots `from..to` of `node`, read as `v`, and its fences
    /// and right-link.
    fn copy_slots(
        &mut self,
        node: &'g Node<L, N>,
        v: &Reading<'g, L>,
        from: usize,
        to: usize,
    ) -> Result<(), Restart> {
        let guard = self.guard;
        let copied = if self.inline_copies {
            node.copy_inline(
                from,
                to,
                v,
                guard,
                self.inline.get_or_insert_with(InlineBuf::new),
            )?
        } else {
            None
        };
        self.in_inline = copied.is_some();
        // A leaf that is not all inline: the rest of the walk is likely
        // alike (one key shape), so it stops trying.
        self.inline_copies &= self.in_inline;
        let LeafCopy {
            len,
            high,
            low,
            right,
        } = match copied {
            Some(c) => c,
            None => node.copy_leaf(from, to, v, self.seqno, guard, &mut self.buf)?,
        };
        self.len = len;
        self.high = high;
        self.low = low;
        self.right = right;
        Ok(())
    }
}

/// How [`Leaves::hand_out_right`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandOut {
    /// Not tried (the latch's reads hold something, there is no right
    /// sibling, or it is latched or obsolete): nothing was handed out.
    NotTaken,
    /// The callback asked to stop, or an entry past the upper end was
    /// reached: the scan is over.
    Stopped,
    /// The sibling changed, or holds an entry that is not inline, after
    /// some of its entries were handed out: the walker is where it was,
    /// and goes on after the last key handed out by copying.
    Broke,
    /// Every entry of the sibling was handed out; the walker stands on it.
    Moved,
    /// The leaf was copied instead (a scan's first leaf whose entries are
    /// not inline): the walker holds the copy.
    Copied,
}
