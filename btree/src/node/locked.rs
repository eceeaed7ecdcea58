//! Writes under a node's latch: slots inserted and removed, version chains pushed, trimmed and swept, splits, merges and unlinks.

use super::*;

impl<L: Latch> Drop for Reading<'_, L> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard holds a read of `latch` that has not ended
        // (`upgrade` consumes the guard without dropping it).
        unsafe { self.latch.read_end(self.t) };
    }
}

impl<L: Latch, const N: usize> Drop for Locked<'_, L, N> {
    fn drop(&mut self) {
        // SAFETY: a `Locked` exists only while its thread holds the
        // exclusive latch (from `lock` or `upgrade`), and is dropped once.
        unsafe { self.node.latch.unlock() };
    }
}

impl<'a, L: Latch, const N: usize> Locked<'a, L, N> {
    pub(super) fn count_exact(&self) -> usize {
        self.node.count.load(Ordering::Relaxed) as usize
    }

    /// The newest value of the entry at `pos` of the latched leaf (None:
    /// a tombstone), valid while `_guard` lives: a record the next write
    /// unlinks is retired through the epoch, not freed.
    pub(crate) fn value_now<'g>(&self, pos: usize, _guard: &'g Guard) -> Option<Bytes<'g>> {
        let raw = self.node.raw(pos);
        let versions = if raw.is_long() {
            // SAFETY: an occupied long slot of the latched leaf holds a
            // live entry.
            unsafe { &*raw.word.cast::<Entry>() }
                .versions
                .load(Ordering::Relaxed)
        } else {
            ptr::null_mut()
        };
        // SAFETY: loaded from the latched leaf (nothing changes it while
        // the latch is held) with a guard pinned for `'g`; an occupied
        // chain or long slot has a non-null word and version pointer.
        unsafe { resolve::<'g>(raw, versions) }.val.now()
    }

    /// Whether the latched node holds no entry (or separator).
    pub(crate) fn is_empty(&self) -> bool {
        self.count_exact() == 0
    }

    /// Writes version `value` (None: tombstone) at seqno `w` for the key at
    /// `pos` of the latched leaf, keeping what the oldest live snapshot
    /// (`oldest`, `u64::MAX` if none) can need: every version newer than
    /// `oldest` and the newest one at or below it. A tombstone with
    /// `w <= oldest` is the caller's to handle ([`remove_entry`]).
    ///
    /// [`remove_entry`]: Self::remove_entry
    pub(crate) fn push_version(
        &self,
        pos: usize,
        value: Option<&[u8]>,
        w: u64,
        oldest: u64,
        guard: &Guard,
    ) -> Pushed {
        let node = self.node;
        let raw = node.raw(pos);
        let fits = value.is_some_and(|v| v.len() <= INLINE_MAX);
        if raw.is_packed() {
            return self.push_over_packed(pos, raw, value, w, oldest, guard);
        }
        if raw.is_inline() {
            if w <= oldest {
                if let Some(v) = value.filter(|_| fits) {
                    node.set_raw(pos, RawSlot::inline(v).with_key(raw));
                } else {
                    let r = NewRecord::new(value, w).publish(self.heap, ptr::null_mut());
                    node.set_raw(pos, raw.chain(r));
                }
                return Pushed {
                    was_live: true,
                    kept: false,
                };
            }
            // A snapshot may need the inline value: it becomes a record
            // visible to every snapshot (seqno 0) under the new version.
            let old = unpack(raw.word, raw.meta);
            let older = NewRecord::new(Some(&old), 0).publish(self.heap, ptr::null_mut());
            let r = NewRecord::new(value, w).publish(self.heap, older);
            node.set_raw(pos, raw.chain(r));
            let kept = self.trim(r, oldest, guard);
            return Pushed {
                was_live: true,
                kept,
            };
        }
        let (anchor, old) = if raw.is_long() {
            // SAFETY: an occupied long slot of the latched leaf holds a live
            // entry.
            let e = unsafe { &*raw.word.cast::<Entry>() };
            (Some(e), e.versions.load(Ordering::Relaxed))
        } else {
            (None, raw.word.cast::<Record>())
        };
        // SAFETY: the chain head of a live slot is live (invariant 3).
        let was_live = unsafe { old.as_ref() }.is_some_and(|r| !r.tomb);
        if anchor.is_none() && fits && w <= oldest {
            // No snapshot needs the chain: fold it back inline.
            node.set_raw(pos, RawSlot::inline(value.unwrap_or(&[])).with_key(raw));
            // SAFETY: the chain was unlinked from the slot just now, under
            // the latch; only this latch holder could unlink it.
            unsafe { retire_chain(old, guard, self.heap) };
            return Pushed {
                was_live,
                kept: false,
            };
        }
        // No snapshot needs the chain: the entry is packed, if it can be.
        if let Some(v) = value.filter(|_| w <= oldest) {
            if self.pack_out(pos, raw, v, guard) {
                return Pushed {
                    was_live,
                    kept: false,
                };
            }
        }
        let r = NewRecord::new(value, w).publish(self.heap, old);
        match anchor {
            Some(e) => e.versions.store(r, Ordering::Release),
            None => node.set_raw(pos, raw.chain(r)),
        }
        Pushed {
            was_live,
            kept: self.trim(r, oldest, guard),
        }
    }

    /// [`push_version`](Self::push_version) over the packed entry at
    /// `pos` (`raw`): a new item if no snapshot can need the old value and
    /// the new one packs, else the entry leaves the block (inline, or out
    /// of line with the old value kept as a version visible to every
    /// snapshot when one may need it).
    fn push_over_packed(
        &self,
        pos: usize,
        raw: RawSlot,
        value: Option<&[u8]>,
        w: u64,
        oldest: u64,
        guard: &Guard,
    ) -> Pushed {
        let node = self.node;
        // SAFETY: a packed slot of the latched leaf points to a live item
        // (invariant 6); were the block repacked below, the old one is
        // retired, not freed, while `guard` is pinned.
        let (key, old) = unsafe { packed::<'_>(raw.word) };
        let short = !raw.key_is_long();
        // The new slot, and the chain head to trim if a snapshot may need
        // the old value.
        let (new, to_trim) = match value {
            Some(v) if w <= oldest => {
                let new = if short && v.len() <= INLINE_MAX {
                    RawSlot::inline(v).with_key(raw)
                } else if packable(key, v) {
                    RawSlot {
                        word: node.pack(key, v, self.heap, guard),
                        ..raw
                    }
                } else if short {
                    let r = NewRecord::new(Some(v), w).publish(self.heap, ptr::null_mut());
                    raw.chain(r)
                } else {
                    RawSlot {
                        meta: raw.meta & !PACKED,
                        word: Entry::alloc_with(key, Some((v, w)), self.heap).cast::<u8>(),
                        ..raw
                    }
                };
                (new, None)
            }
            _ => {
                // A snapshot may need the old value: it becomes a version
                // visible to every snapshot (seqno 0) under the new one.
                if short {
                    let older = NewRecord::new(Some(old), 0).publish(self.heap, ptr::null_mut());
                    let r = NewRecord::new(value, w).publish(self.heap, older);
                    (raw.chain(r), Some(r))
                } else {
                    let e = Entry::alloc_with(key, Some((old, 0)), self.heap);
                    // SAFETY: `e` is this thread's until the slot store
                    // below publishes it.
                    let e_ref = unsafe { &*e };
                    let first = e_ref.versions.load(Ordering::Relaxed);
                    let r = NewRecord::new(value, w).publish(self.heap, first);
                    e_ref.versions.store(r, Ordering::Relaxed);
                    let new = RawSlot {
                        meta: raw.meta & !PACKED,
                        word: e.cast::<u8>(),
                        ..raw
                    };
                    (new, Some(r))
                }
            }
        };
        node.set_raw(pos, new);
        // The old item is dead (counted in whichever block now holds it,
        // the old one or its repacked copy).
        node.unpack_slot(raw);
        Pushed {
            was_live: true,
            kept: to_trim.is_some_and(|head| self.trim(head, oldest, guard)),
        }
    }

    /// Replaces the chain (or long key's entry) of the slot at `pos`
    /// (`raw`) with a packed entry of its key and `value`, if they pack,
    /// and retires what the slot owned; the caller has checked that no
    /// snapshot needs an older version. Returns whether it packed.
    fn pack_out(&self, pos: usize, raw: RawSlot, value: &[u8], guard: &Guard) -> bool {
        let node = self.node;
        let kb = node.owned_key(&raw);
        let key = kb.bytes();
        if !packable(key, value) {
            return false;
        }
        let item = node.pack(key, value, self.heap, guard);
        node.set_raw(pos, RawSlot::packed(node.prefix(), key, item));
        // SAFETY: the chain (and the entry, for a long key) was unlinked
        // from the slot just now, under the latch; only this latch holder
        // could unlink it.
        unsafe { retire_raw(raw, guard, self.heap) };
        true
    }

    /// Trims a chain (see [`push_version`](Self::push_version)); returns
    /// whether more than the head is left.
    pub(super) fn trim(&self, head: *mut Record, oldest: u64, guard: &Guard) -> bool {
        let mut r = head;
        loop {
            // SAFETY: `r` is in the chain of a slot of the latched leaf;
            // only latch holders unlink records, so it is live.
            let rec = unsafe { &*r };
            let older = rec.older.load(Ordering::Relaxed);
            if older.is_null() {
                return r != head;
            }
            if rec.seqno <= oldest {
                rec.older.store(ptr::null_mut(), Ordering::Release);
                // An embedded record (always the oldest of its chain) is
                // freed with its entry, never on its own: cut it off the
                // run first, so the deferred free never reads it (the
                // entry may be freed before the run's free runs).
                let mut last = older;
                let mut before = ptr::null_mut::<Record>();
                loop {
                    // SAFETY: the run is still allocated (only this latch
                    // holder unlinks records, and it has not retired it).
                    let next = unsafe { &*last }.older.load(Ordering::Relaxed);
                    if next.is_null() {
                        break;
                    }
                    before = last;
                    last = next;
                }
                // SAFETY: as above.
                let run = if unsafe { &*last }.embedded {
                    if !before.is_null() {
                        // SAFETY: as above. The run is needed by no
                        // snapshot, so shortening it changes no answer.
                        unsafe { &*before }
                            .older
                            .store(ptr::null_mut(), Ordering::Release);
                        older
                    } else {
                        ptr::null_mut()
                    }
                } else {
                    older
                };
                if !run.is_null() {
                    // SAFETY: the run below `rec` was just unlinked, and
                    // only this latch holder could unlink it.
                    unsafe { retire_chain(run, guard, self.heap) };
                }
                return r != head;
            }
            r = older;
        }
    }

    /// Trims every chain of the latched leaf to what `oldest` can need,
    /// folds lone small values of short keys back inline, and unlinks
    /// entries left with a lone tombstone no snapshot can tell from
    /// absence. Returns the number of entries removed.
    pub(crate) fn sweep(&self, oldest: u64, guard: &Guard) -> usize {
        let node = self.node;
        let mut removed = 0;
        for i in (0..self.count_exact()).rev() {
            let raw = node.raw(i);
            if raw.is_inline() || raw.is_packed() {
                continue;
            }
            let head = if raw.is_long() {
                // SAFETY: an occupied long slot holds a live entry.
                unsafe { &*raw.word.cast::<Entry>() }
                    .versions
                    .load(Ordering::Relaxed)
            } else {
                raw.word.cast::<Record>()
            };
            let longer = self.trim(head, oldest, guard);
            // SAFETY: the chain head of a live slot is live.
            let rec = unsafe { &*head };
            if longer || rec.seqno > oldest {
                continue;
            }
            if rec.tomb {
                self.remove_entry(i, guard);
                removed += 1;
            } else if raw.is_chain() && rec.len <= INLINE_MAX {
                // SAFETY: a live record's value (not a tombstone).
                let v = unsafe { rec_value(head) }.unwrap_or(&[]);
                node.set_raw(i, RawSlot::inline(v).with_key(raw));
                // SAFETY: unlinked from the slot just now, under the latch.
                unsafe { retire_chain(head, guard, self.heap) };
            } else {
                // SAFETY: as above.
                let v = unsafe { rec_value(head) }.unwrap_or(&[]);
                self.pack_out(i, raw, v, guard);
            }
        }
        removed
    }

    /// Unlinks the entry at `pos` and retires what it owns.
    pub(crate) fn remove_entry(&self, pos: usize, guard: &Guard) {
        let n = self.count_exact();
        let node = self.node;
        let raw = node.raw(pos);
        for i in pos..n - 1 {
            node.set_raw(i, node.raw(i + 1));
        }
        node.set_raw(n - 1, RawSlot::EMPTY);
        node.set_count(n - 1);
        if raw.is_packed() {
            node.unpack_slot(raw);
            return;
        }
        // SAFETY: `raw` is no longer in any slot (each slot content is in
        // exactly one slot of one leaf), and this latch holder is its only
        // retirer.
        unsafe { retire_raw(raw, guard, self.heap) };
    }

    /// Merges the inner node `right` (latched; `self`'s right sibling at
    /// the same level) into `self` (latched), where `parent` (latched) has
    /// `self` as child `pos` and `right` as child `pos + 1`: `self` takes
    /// the parent's separator `pos`, then `right`'s separators and
    /// children, its high key and right-link; `parent` drops separator
    /// `pos` and child `pos + 1`; `right` is marked obsolete and retired.
    /// The children keep their fences and right-links (only who points
    /// to them changes), so no level below is touched. Returns the number
    /// of separators `self` had before (its child at that index + 1 is
    /// `right`'s first), or None, changing nothing, if the shape is not
    /// exactly that or the merged node would hold more than `max`
    /// separators.
    pub(crate) fn merge_right_inner(
        &self,
        right: Locked<'a, L, N>,
        parent: &Locked<'a, L, N>,
        pos: usize,
        max: usize,
        guard: &Guard,
    ) -> Option<usize> {
        let (w, x, p) = (self.node, right.node, parent.node);
        let x_ptr = x as *const Node<L, N> as *mut Node<L, N>;
        let w_ptr = w as *const Node<L, N> as *mut Node<L, N>;
        let (cw, cx, pn) = (
            self.count_exact(),
            right.count_exact(),
            parent.count_exact(),
        );
        let shape = w.level >= 1
            && x.level == w.level
            && p.level == w.level + 1
            && w.right.load(Ordering::Relaxed) == x_ptr
            && pos < pn
            && p.child_ptr(pos) == w_ptr
            && p.child_ptr(pos + 1) == x_ptr
            && cw + cx < max.min(N - 1);
        if !shape {
            return None;
        }
        // The merged range's prefix: what `self`'s keys share, cut to
        // what its old high key shares with `right`'s.
        w.reprefix(w.prefix().cut(grown_prefix(w.high_key(), x.high_key())));
        // `self` takes the separator between the two, then `right`'s.
        let sep = p.sep_ptr(pos);
        w.set_sep(cw, sep);
        let (from, to) = (x.prefix(), w.prefix());
        for i in 0..cx {
            w.put_sep(cw + 1 + i, x.sep_slot(i).moved(from, to));
        }
        for i in 0..=cx {
            w.set_child(cw + 1 + i, x.child_ptr(i));
        }
        w.set_count(cw + cx + 1);
        let old_high = w.high.load(Ordering::Relaxed);
        w.set_high(x.high.load(Ordering::Relaxed));
        w.right
            .store(x.right.load(Ordering::Relaxed), Ordering::Release);
        // `right` hands everything over: it owns nothing now.
        x.set_high(ptr::null_mut());
        for i in 0..cx {
            x.set_sep(i, ptr::null_mut());
        }
        x.set_count(0);
        // The parent drops separator `pos` (moved into `self`) and child
        // `pos + 1`.
        p.drop_sep_and_right_kid(pos, pn);
        // SAFETY: `right` holds the exclusive latch; it is forgotten, so
        // this is its only release.
        unsafe { x.latch.unlock_obsolete() };
        core::mem::forget(right);
        // SAFETY: `old_high` was owned by `self` alone and was replaced
        // (the same key now lives on as the moved separator); `right` was
        // reachable only through the parent slot and the right-link just
        // replaced, and owns nothing (its separators, children and high
        // key moved to `self`).
        unsafe {
            if !old_high.is_null() {
                retire_entry(old_high, guard, self.heap);
            }
            retire_node(x_ptr, guard, self.heap);
        }
        Some(cw)
    }

    /// The child at `i` of this latched inner node.
    pub(crate) fn kid_locked(&self, i: usize) -> Option<&'a Node<L, N>> {
        let p = self.node.child_ptr(i.min(N - 1));
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null child of a latched node is live (invariant 1)
        // for as long as the guard that found the node (the latch
        // holder's).
        Some(unsafe { &*p })
    }

    /// Unlinks the empty leaf `leaf` (latched) from its left sibling `self`
    /// (latched; `leaf`'s right-link predecessor) and from `parent`
    /// (latched; child `pos` is `self`, child `pos + 1` is `leaf`, and
    /// separator `pos` is between them): `self` takes over `leaf`'s range
    /// (high key and right-link), `parent` drops the separator and the
    /// child, and `leaf` is marked obsolete and retired. Returns false,
    /// changing nothing, if the shape is not exactly that.
    pub(crate) fn unlink_right_leaf(
        &self,
        leaf: Locked<'a, L, N>,
        parent: &Locked<'a, L, N>,
        pos: usize,
        guard: &Guard,
    ) -> bool {
        let (left, l, p) = (self.node, leaf.node, parent.node);
        let l_ptr = l as *const Node<L, N> as *mut Node<L, N>;
        let left_ptr = left as *const Node<L, N> as *mut Node<L, N>;
        let pn = parent.count_exact();
        let shape = left.level == 0
            && l.level == 0
            && p.level == 1
            && leaf.count_exact() == 0
            && left.right.load(Ordering::Relaxed) == l_ptr
            && pos < pn
            && p.child_ptr(pos) == left_ptr
            && p.child_ptr(pos + 1) == l_ptr
            && !l.low.load(Ordering::Relaxed).is_null();
        if !shape {
            return false;
        }
        // The left sibling takes over the leaf's range (and its prefix
        // shrinks to what the whole range shares).
        left.reprefix(
            left.prefix()
                .cut(grown_prefix(left.high_key(), l.high_key())),
        );
        let old_high = left.high.load(Ordering::Relaxed);
        left.set_high(l.high.load(Ordering::Relaxed));
        left.right
            .store(l.right.load(Ordering::Relaxed), Ordering::Release);
        l.set_high(ptr::null_mut());
        // The parent drops separator `pos` and child `pos + 1`.
        let sep = p.sep_ptr(pos);
        p.drop_sep_and_right_kid(pos, pn);
        // The leaf is unreachable now (one parent slot, one right-link).
        // SAFETY: `leaf` holds the exclusive latch; it is forgotten, so
        // this is its only release.
        unsafe { l.latch.unlock_obsolete() };
        core::mem::forget(leaf);
        // SAFETY: `old_high` was owned by `left` alone and was replaced;
        // `sep` was owned by `parent` alone and was removed; the leaf was
        // reachable only through the two links just replaced, owns no
        // entries (empty) and no high key (moved to `left`).
        unsafe {
            if !old_high.is_null() {
                retire_entry(old_high, guard, self.heap);
            }
            retire_entry(sep, guard, self.heap);
            retire_node(l_ptr, guard, self.heap);
        }
        true
    }

    /// Inserts a new key with value `value`, written at seqno `w` (inline
    /// or packed if it can be, see [`push_version`](Self::push_version)),
    /// at `pos` of the latched leaf; if the leaf is full, half-splits it
    /// and returns the split to finish in the parent.
    pub(crate) fn leaf_insert(
        &self,
        pos: usize,
        key: &[u8],
        value: &[u8],
        w: u64,
        oldest: u64,
        guard: &Guard,
    ) -> Option<Split<L, N>> {
        let node = self.node;
        if !node.prefix().admits(key) {
            // An open range's prefix (see `Prefix::open`) the key does not
            // share: cut it first (the position stays: the key sorts
            // before or after every key the node holds).
            node.reprefix(node.prefix().cut_for(key));
        }
        let raw = if w <= oldest && packable(key, value) {
            RawSlot::packed(node.prefix(), key, node.pack(key, value, self.heap, guard))
        } else {
            new_raw(self.heap, node.prefix(), key, value, w, oldest)
        };
        let n = self.count_exact();
        let run = node.note_insert(pos);
        if n < N {
            for i in (pos..n).rev() {
                node.set_raw(i + 1, node.raw(i));
            }
            node.set_raw(pos, raw);
            node.set_count(n + 1);
            return None;
        }
        // Full: split. `total` slots after the insert; at(i) indexes the
        // merged sequence without materialising it.
        let total = n + 1;
        let at = |i: usize| -> RawSlot {
            match i.cmp(&pos) {
                core::cmp::Ordering::Less => node.raw(i),
                core::cmp::Ordering::Equal => raw,
                core::cmp::Ordering::Greater => node.raw(i - 1),
            }
        };
        let heap = self.heap;
        let right_ptr = Node::<L, N>::alloc(0, heap);
        // SAFETY: freshly allocated, not yet shared.
        let right = unsafe { &*right_ptr };
        // Left keeps `mid` entries; its last key is the separator (three
        // copies: the left high key, the right low key, the parent's).
        let mid = split_point(run, pos, total);
        // The run goes on in the node that holds the new key.
        if pos < mid {
            right.set_run(0, 0);
        } else {
            node.set_run(0, 0);
            right.set_run(run, pos - mid);
        }
        for i in mid..total {
            right.set_raw(i - mid, at(i));
        }
        right.set_count(total - mid);
        let last = at(mid - 1);
        let kb = node.owned_key(&last);
        let sep_key = kb.bytes();
        // Each half's prefix is what its fences share; the slots are
        // re-encoded for it (the right node is still private, the left
        // one latched).
        let old = node.prefix();
        right.store_prefix(old);
        // A half whose range is open at one end (the first or the last
        // leaf) takes what its one fence shares with its keys instead
        // (`Prefix::open`): ids behind a fixed prefix then differ in
        // their heads there too.
        right.reprefix(match node.high_key() {
            Some(h) => Prefix::of_range(Some(sep_key), Some(h)),
            None => Prefix::open(sep_key, node.owned_key(&at(total - 1)).bytes()),
        });
        let left_pfx = match node.low_key() {
            Some(l) => Prefix::of_range(Some(l), Some(sep_key)),
            None => Prefix::open(sep_key, node.owned_key(&at(0)).bytes()),
        };
        let high = Entry::alloc(sep_key, heap);
        let sep = Entry::alloc(sep_key, heap);
        right
            .low
            .store(Entry::alloc(sep_key, heap), Ordering::Relaxed);
        right.set_high(node.high.load(Ordering::Relaxed));
        right
            .right
            .store(node.right.load(Ordering::Relaxed), Ordering::Relaxed);
        // Left: the first `mid` merged slots (only the inserted one moves
        // into the left half from outside, at or after `pos`).
        let mut tmp = [RawSlot::EMPTY; N];
        for (i, t) in tmp.iter_mut().enumerate().take(mid) {
            *t = at(i);
        }
        for (i, t) in tmp.iter().enumerate().take(mid) {
            node.set_raw(i, *t);
        }
        for i in mid..N {
            node.set_raw(i, RawSlot::EMPTY);
        }
        node.set_count(mid);
        node.reprefix(left_pfx);
        // Each half's packed items move into a block of its own, in key
        // order (the right one's copied out of the left one's block before
        // that is retired), sized exactly for a half that a run of
        // inserts will not come back to (the left one after ascending
        // inserts, the right one after descending ones), with room to
        // grow otherwise. A leaf without a block has no packed slot.
        if !node.block().is_null() {
            let room = |done: bool| if done { Room::Exact } else { Room::Half };
            right.repack_owned(room(run <= -EDGE_RUN), heap);
            node.repack(0, room(run >= EDGE_RUN), heap, guard);
        }
        // Publish the right node (fully initialised) through the B-link.
        node.right.store(right_ptr, Ordering::Release);
        node.set_high(high);
        Some(Split {
            sep,
            right: right_ptr,
        })
    }

    /// Inserts the separator of a child's split at `pos` of the latched
    /// inner node (the new child goes right of it); half-splits if full.
    pub(crate) fn inner_insert(&self, pos: usize, split: Split<L, N>) -> Option<Split<L, N>> {
        let node = self.node;
        let (e, kid) = (split.sep, split.right);
        // SAFETY: the split owns its separator entry.
        let key = unsafe { entry_key(e) };
        if !node.prefix().admits(key) {
            // As in `leaf_insert`.
            node.reprefix(node.prefix().cut_for(key));
        }
        let n = self.count_exact();
        if n < N - 1 {
            for i in (pos..n).rev() {
                node.put_sep(i + 1, node.sep_slot(i));
            }
            node.set_sep(pos, e);
            for i in (pos + 1..n + 1).rev() {
                node.set_child(i + 1, node.child_ptr(i));
            }
            node.set_child(pos + 1, kid);
            node.set_count(n + 1);
            return None;
        }
        // Full: `total` separators and `total + 1` kids after the insert.
        let total = n + 1;
        let old = node.prefix();
        let new_sep = Separator::of(e, old);
        let sep_at = |i: usize| -> Separator {
            match i.cmp(&pos) {
                core::cmp::Ordering::Less => node.sep_slot(i),
                core::cmp::Ordering::Equal => new_sep,
                core::cmp::Ordering::Greater => node.sep_slot(i - 1),
            }
        };
        let kid_at = |i: usize| -> *mut Node<L, N> {
            match i.cmp(&(pos + 1)) {
                core::cmp::Ordering::Less => node.child_ptr(i),
                core::cmp::Ordering::Equal => kid,
                core::cmp::Ordering::Greater => node.child_ptr(i - 1),
            }
        };
        let heap = self.heap;
        let right_ptr = Node::<L, N>::alloc(node.level, heap);
        // SAFETY: freshly allocated, not yet shared.
        let right = unsafe { &*right_ptr };
        // Left keeps kids [0, m) and separators [0, m-1); separator m-1
        // moves up (the entry itself becomes the left high key, a copy
        // goes up).
        // In kids: the new kid is kid `pos + 1`, after the new separator.
        // Half and half: inner nodes split in the middle whatever the
        // insert order. (Split where a run of inserts goes, as leaves do,
        // they filled, but after every key was removed the tree's
        // best-effort shrink left full inner nodes it could not merge an
        // underfull sibling into: two leaves under two levels instead of
        // one leaf, with 4-slot nodes.)
        let m = total.div_ceil(2);
        for i in m..total {
            right.put_sep(i - m, sep_at(i));
        }
        for i in m..total + 1 {
            right.set_child(i - m, kid_at(i));
        }
        right.set_count(total - m);
        let promoted = sep_at(m - 1).e;
        // SAFETY: a live separator entry of the latched node (or new).
        let sep = Entry::alloc(unsafe { entry_key(promoted) }, heap);
        // The right node's prefix is what its fences share; the left one
        // keeps its own (its range only shrank, and inner nodes keep no
        // low fence to recompute it from).
        right.store_prefix(old);
        // SAFETY: as above (and for the last separator).
        let (low, last) = unsafe { (entry_key(promoted), entry_key(sep_at(total - 1).e)) };
        // The last node of its level: see `leaf_insert`.
        right.reprefix(match node.high_key() {
            Some(h) => Prefix::of_range(Some(low), Some(h)),
            None => Prefix::open(low, last),
        });
        right.set_high(node.high.load(Ordering::Relaxed));
        right
            .right
            .store(node.right.load(Ordering::Relaxed), Ordering::Relaxed);
        let mut kids = [ptr::null_mut(); N];
        let mut seps = [Separator::NONE; N];
        for (i, k) in kids.iter_mut().enumerate().take(m) {
            *k = kid_at(i);
        }
        for (i, s) in seps.iter_mut().enumerate().take(m - 1) {
            *s = sep_at(i);
        }
        for i in 0..N {
            node.set_child(i, kids[i]);
            node.put_sep(i, seps[i]);
        }
        node.set_count(m - 1);
        node.right.store(right_ptr, Ordering::Release);
        node.set_high(promoted);
        Some(Split {
            sep,
            right: right_ptr,
        })
    }
}
