//! Scans: [`Range`] (ascending, and descending from its back end) and
//! [`RevRange`] (descending), over the [`Leaves`] walker they share with
//! [`Cursor`](crate::Cursor). Safe code over [`crate::node`] and
//! [`crate::tree`].

use crate::bytes::Bytes;
use crate::latch::Latch;
use crate::leaves::{HandOut, Leaves, Part};
use crate::node::EntryRef;
use crate::tree::Tree;
use crossbeam_epoch::{self as epoch, Guard};
use ordex_core::{below_start, is_empty_range, past_end, Seqno};
use std::ops::Bound;

impl<L: Latch, const N: usize> Tree<L, N> {
    /// Ascending scan, live (`seqno` None, weakly consistent) or as of a
    /// snapshot (exact), through [`Range`]. No heap allocation. Inlined
    /// so that a caller's callback is called directly, not through the
    /// `dyn` pointer.
    #[inline(always)]
    pub(crate) fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        seqno: Option<Seqno>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        let guard = &epoch::pin();
        let mut r = self.range(from, to, seqno, guard);
        r.leaves.take_inline_copies();
        let mut n = 0;
        // The first leaf handed out straight from its slots where it can
        // be (see the loop below); else descended to and copied.
        if !is_empty_range(from, to) {
            let key = match from {
                Bound::Included(k) | Bound::Excluded(k) => k,
                Bound::Unbounded => &[],
            };
            match r
                .leaves
                .hand_out_first(key, from, to, &mut n, &mut r.last, f)
            {
                HandOut::Stopped => return n,
                HandOut::Moved => {
                    if r.ends_here() {
                        return n;
                    }
                    r.next = Next::Right;
                }
                HandOut::Copied => r.settle(),
                // Descends again (and passes over what was handed out).
                HandOut::NotTaken | HandOut::Broke => {}
            }
        }
        // `Range::next` without its per-entry bookkeeping: a whole copy
        // at a time (no back end exists here, and the last key yielded is
        // the one below `pos` when the next leaf is copied).
        loop {
            if let Some(c) = r.leaves.inline_copy() {
                // A leaf of short keys and values: each entry's bytes are
                // made from the slot's words as it is handed out.
                let len = r.len.min(c.len());
                while r.pos < len {
                    let (k, kl, v, vl) = c.entry(r.pos);
                    r.pos += 1;
                    n += 1;
                    if !f(&k[..kl], &v[..vl]) {
                        return n;
                    }
                }
            } else {
                while r.pos < r.len {
                    let Some(it) = r.leaves.get(r.pos) else { break };
                    r.pos += 1;
                    n += 1;
                    if !f(&it.key, &it.val) {
                        return n;
                    }
                }
            }
            // The next leaf, handed out straight from its slots where it
            // can be (inline entries, a latch whose reads hold nothing),
            // leaf after leaf; else copied.
            while matches!(r.next, Next::Right) {
                r.last = r.last_key();
                r.start = 0;
                r.pos = 0;
                r.len = 0;
                match r
                    .leaves
                    .hand_out_right(r.from, r.to, &mut n, &mut r.last, f)
                {
                    HandOut::Stopped => return n,
                    HandOut::Moved => {
                        if r.ends_here() {
                            return n;
                        }
                    }
                    HandOut::NotTaken | HandOut::Broke | HandOut::Copied => break,
                }
            }
            if !r.refill() {
                return n;
            }
        }
    }

    /// An ascending iterator over the entries within the bounds, live or
    /// as of `seqno`, borrowing keys and values under `guard`.
    pub(crate) fn range<'g>(
        &'g self,
        from: Bound<&'g [u8]>,
        to: Bound<&'g [u8]>,
        seqno: Option<Seqno>,
        guard: &'g Guard,
    ) -> Range<'g, L, N> {
        Range {
            leaves: Leaves::new(self, seqno, guard),
            from,
            to,
            len: 0,
            pos: 0,
            next: Next::Start,
            back: None,
            start: 0,
            last: None,
        }
    }

    /// A descending iterator over the entries within the bounds, live or
    /// as of `seqno`, borrowing keys and values under `guard`.
    pub(crate) fn range_rev<'g>(
        &'g self,
        from: Bound<&'g [u8]>,
        to: Bound<&'g [u8]>,
        seqno: Option<Seqno>,
        guard: &'g Guard,
    ) -> RevRange<'g, L, N> {
        RevRange {
            leaves: Leaves::new(self, seqno, guard),
            from,
            to,
            checking: true,
            len: 0,
            next: if is_empty_range(from, to) {
                RevNext::End
            } else {
                RevNext::Upto(to)
            },
            last: None,
        }
    }
}

/// Where a [`Range`] goes once its copy is drained.
#[derive(Clone, Copy)]
enum Next {
    /// Descend to the leaf of the lower bound.
    Start,
    /// Continue with the copied leaf's right sibling.
    Right,
    /// Nothing is left.
    End,
}

/// An ascending iterator over a tree or a snapshot, from
/// [`BTree::range`](crate::BTree::range) or
/// [`BTreeSnapshot::range`](crate::BTreeSnapshot::range): it copies one leaf at a time
/// (entries and newest-version pointers, high key, right-link) into a
/// stack buffer, validates the copy, yields from it, and follows the
/// right-link. Live: weakly consistent (never a duplicate, never out of
/// order, a key present throughout is seen); as of a snapshot: exact.
pub struct Range<'g, L: Latch, const N: usize> {
    leaves: Leaves<'g, L, N>,
    from: Bound<&'g [u8]>,
    to: Bound<&'g [u8]>,
    /// The copy's entries to yield are `pos..len` (`len` is cut at the
    /// upper bound; entries at or below `last` or the lower bound were
    /// skipped when the leaf was copied).
    len: usize,
    pos: usize,
    next: Next,
    /// The last key yielded before the current copy: later entries must
    /// be above it.
    last: Option<Bytes<'g>>,
    /// Where the current copy's yield began: every entry in `start..pos`
    /// was yielded, so the last key yielded is the one at `pos - 1` if
    /// `pos > start` (no store per entry).
    start: usize,
    /// The back end, once `next_back` was called: a descending range over
    /// the same bounds; the two ends stop where they meet.
    back: Option<RevRange<'g, L, N>>,
}

impl<L: Latch, const N: usize> core::fmt::Debug for Range<'_, L, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Range")
            .field("seqno", &self.leaves.seqno())
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl<'g, L: Latch, const N: usize> Range<'g, L, N> {
    /// The last key yielded.
    fn last_key(&self) -> Option<Bytes<'g>> {
        if self.pos > self.start {
            if let Some(it) = self.leaves.item(self.pos - 1) {
                return Some(it.key);
            }
        }
        self.last
    }

    /// Copies the next leaf; false at the end.
    fn refill(&mut self) -> bool {
        self.last = self.last_key();
        self.start = self.pos;
        match self.next {
            Next::End => return false,
            Next::Start => {
                if is_empty_range(self.from, self.to) {
                    self.next = Next::End;
                    return false;
                }
                match self.from {
                    Bound::Included(k) | Bound::Excluded(k) => {
                        self.leaves.descend(k, Part::From(k))
                    }
                    Bound::Unbounded => self.leaves.descend(&[], Part::All),
                }
            }
            Next::Right => {
                // Should the sibling have been unlinked: the walk goes on
                // from the last key yielded (or the lower bound).
                let key: &[u8] = match (&self.last, self.from) {
                    (Some(k), _) => k,
                    (None, Bound::Included(k) | Bound::Excluded(k)) => k,
                    (None, Bound::Unbounded) => &[],
                };
                if !self.leaves.step_right(key, Part::All) {
                    self.next = Next::End;
                    return false;
                }
            }
        }
        self.settle();
        true
    }

    /// Whether nothing right of the leaf the walker stands on is in
    /// range: it is the last leaf, or the upper bound is at or below its
    /// high fence.
    fn ends_here(&self) -> bool {
        match self.leaves.high() {
            None => true,
            Some(h) => match self.to {
                Bound::Included(hi) | Bound::Excluded(hi) => hi <= h.key(),
                Bound::Unbounded => false,
            },
        }
    }

    /// After a copy: selects its entries in range and above the last key
    /// yielded, and where to go once they are drained.
    fn settle(&mut self) {
        let cut = self.select();
        self.next = if cut || self.ends_here() {
            Next::End
        } else {
            Next::Right
        };
    }

    /// Sets `pos..len` to the copy's entries above `last` and within the
    /// bounds; returns whether the upper bound cut the copy (nothing
    /// further right is in range).
    fn select(&mut self) -> bool {
        let len = self.leaves.len();
        // Keys only ever move right, so what is at or below the last key
        // yielded (after a re-descent) or below the lower bound (the
        // first leaf) is a prefix of the copy.
        let key = |i: usize| self.leaves.item(i).map(|it| it.key);
        let mut pos = 0;
        while let Some(k) = key(pos) {
            if self.last.is_some_and(|l| k <= l) || below_start(&k, self.from) {
                pos += 1;
            } else {
                break;
            }
        }
        // Entries past the upper bound are a suffix: cut it once here
        // instead of testing every entry.
        let mut end = len;
        let cut = key(len.wrapping_sub(1)).is_some_and(|k| past_end(&k, self.to));
        if cut {
            let mut lo = pos;
            while lo < end {
                let mid = lo + (end - lo) / 2;
                if key(mid).is_some_and(|k| past_end(&k, self.to)) {
                    end = mid;
                } else {
                    lo = mid + 1;
                }
            }
        }
        self.pos = pos;
        self.start = pos;
        self.len = end.max(pos);
        cut
    }

    /// Ends both ends.
    fn exhaust(&mut self) {
        self.next = Next::End;
        self.len = 0;
        if let Some(b) = &mut self.back {
            b.next = RevNext::End;
            b.len = 0;
        }
    }
}

impl<'g, L: Latch, const N: usize> Iterator for Range<'g, L, N> {
    type Item = (Bytes<'g>, Bytes<'g>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // Every entry of the copy in `pos..len` is in range and has a
        // value (`refill` skipped, cut and dropped the rest); only a back
        // end can stop the walk early.
        while self.pos >= self.len {
            if !self.refill() {
                return None;
            }
        }
        let it = self.leaves.item(self.pos)?;
        if let Some(b) = &self.back {
            if b.last.is_some_and(|b| *it.key >= *b) {
                self.exhaust();
                return None;
            }
        }
        self.pos += 1;
        Some((it.key, it.val))
    }
}

/// Descending from the upper bound (no allocation: the back end's copy
/// lives inside the `Range`); the ends meet without overlap, so
/// `next` and `next_back` together yield every entry once.
impl<L: Latch, const N: usize> DoubleEndedIterator for Range<'_, L, N> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (tree, seqno, guard) = (self.leaves.tree(), self.leaves.seqno(), self.leaves.guard());
        let (from, to) = (self.from, self.to);
        let back = self
            .back
            .get_or_insert_with(|| tree.range_rev(from, to, seqno, guard));
        match back.next() {
            Some((k, v)) if self.last_key().is_none_or(|l| *k > *l) => Some((k, v)),
            _ => {
                self.exhaust();
                None
            }
        }
    }
}

/// Where a [`RevRange`] goes once its copy is drained.
#[derive(Clone, Copy)]
enum RevNext<'g> {
    /// Descend to the leaf holding the largest keys within this bound.
    Upto(Bound<&'g [u8]>),
    /// Nothing is left.
    End,
}

/// A descending iterator over a tree or a snapshot, from
/// [`BTree::range_rev`](crate::BTree::range_rev) or
/// [`BTreeSnapshot::range_rev`](crate::BTreeSnapshot::range_rev). It copies
/// the part of a leaf below the current bound into a stack buffer,
/// validates it, yields it backwards, then descends again to the leaf
/// below the copied leaf's low fence key. Same consistency as [`Range`].
pub struct RevRange<'g, L: Latch, const N: usize> {
    leaves: Leaves<'g, L, N>,
    from: Bound<&'g [u8]>,
    to: Bound<&'g [u8]>,
    /// The copy's entries still need the `last` and start-bound checks
    /// (once one entry passes them, the rest of the leaf does too).
    checking: bool,
    /// The entries below `len` in the copy are still to be yielded.
    len: usize,
    next: RevNext<'g>,
    /// The last key yielded: later entries must be below it.
    last: Option<Bytes<'g>>,
}

impl<L: Latch, const N: usize> core::fmt::Debug for RevRange<'_, L, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RevRange")
            .field("seqno", &self.leaves.seqno())
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl<'g, L: Latch, const N: usize> RevRange<'g, L, N> {
    /// Copies the leaf below the current bound; false at the end.
    fn refill(&mut self) -> bool {
        let RevNext::Upto(upto) = self.next else {
            return false;
        };
        match upto {
            Bound::Unbounded => self.leaves.descend_last(Part::Upto(upto)),
            Bound::Included(k) | Bound::Excluded(k) => self.leaves.descend(k, Part::Upto(upto)),
        }
        self.checking = true;
        self.len = self.leaves.len();
        self.next = match self.leaves.low().map(EntryRef::key) {
            None => RevNext::End,
            Some(l) => {
                // Keys at or below `l` remain; stop if the lower bound
                // excludes all of them.
                let past = match self.from {
                    Bound::Included(lo) => lo > l,
                    Bound::Excluded(lo) => lo >= l,
                    Bound::Unbounded => false,
                };
                if past {
                    RevNext::End
                } else {
                    RevNext::Upto(Bound::Included(l))
                }
            }
        };
        true
    }
}

impl<'g, L: Latch, const N: usize> Iterator for RevRange<'g, L, N> {
    type Item = (Bytes<'g>, Bytes<'g>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            while self.len > 0 {
                self.len -= 1;
                let Some(it) = self.leaves.get(self.len) else {
                    continue;
                };
                let key = it.key;
                let k: &[u8] = &key;
                if self.checking {
                    if self.last.as_deref().is_some_and(|l| k >= l) || past_end(k, self.to) {
                        continue;
                    }
                    self.checking = false;
                }
                if below_start(k, self.from) {
                    self.next = RevNext::End;
                    self.len = 0;
                    return None;
                }
                self.last = Some(key);
                return Some((key, it.val));
            }
            if !self.refill() {
                return None;
            }
        }
    }
}
