//! A node read: latching (read, upgrade, lock), the branch-free search over slot heads, slot and child loads, leaf copies, and the prefetches of a descent.

use super::*;

impl<L: Latch, const N: usize> Node<L, N> {
    const OK: () = assert!(N >= 4 && N <= 1024, "node size must be in 4..=1024 slots");

    /// Account bytes of a node of `level`.
    pub(super) fn bytes(level: u8) -> usize {
        core::mem::size_of::<Node<L, N>>()
            + if level == 0 {
                0
            } else {
                core::mem::size_of::<Ext<N>>()
            }
    }

    pub(super) fn alloc(level: u8, heap: &Account) -> *mut Node<L, N> {
        let () = Self::OK;
        heap.add(Self::bytes(level));
        Box::into_raw(Box::new(Node {
            latch: L::new(),
            level,
            run: AtomicU8::new(0),
            last: AtomicU16::new(0),
            count: AtomicU32::new(0),
            high_meta: AtomicU16::new(0),
            plen: AtomicU8::new(0),
            pfx: AtomicU64::new(0),
            high_head: AtomicU64::new(0),
            high: AtomicPtr::new(ptr::null_mut()),
            low: AtomicPtr::new(ptr::null_mut()),
            right: AtomicPtr::new(ptr::null_mut()),
            ext: (level > 0).then(|| {
                Box::new(Ext {
                    seps: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
                    tails: core::array::from_fn(|_| AtomicU64::new(0)),
                })
            }),
            block: AtomicPtr::new(ptr::null_mut()),
            block_cap: AtomicU32::new(0),
            block_used: AtomicU32::new(0),
            block_dead: AtomicU32::new(0),
            heads: core::array::from_fn(|_| AtomicU64::new(0)),
            meta: core::array::from_fn(|_| AtomicU16::new(0)),
            words: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }))
    }

    /// 0 for a leaf.
    #[inline]
    pub(crate) fn level(&self) -> u8 {
        self.level
    }

    /// Notes an insert at slot `pos` (under the latch) and returns the
    /// run it extends: an insert right after the last one (ascending keys,
    /// into a node's end or into a key range's end inside it) counts up,
    /// one right before it (at the same slot: descending keys) counts
    /// down, any other resets it.
    pub(super) fn note_insert(&self, pos: usize) -> i8 {
        let run = self.run.load(Ordering::Relaxed) as i8;
        let last = usize::from(self.last.load(Ordering::Relaxed));
        let next = if pos == last + 1 {
            run.max(0).saturating_add(1)
        } else if pos == last {
            run.min(0).saturating_sub(1)
        } else {
            0
        };
        self.set_run(next, pos);
        next
    }

    /// Sets the node's run and the slot of its last insert (see
    /// [`note_insert`](Self::note_insert)).
    pub(super) fn set_run(&self, run: i8, last: usize) {
        self.run.store(run as u8, Ordering::Relaxed);
        self.last.store(last as u16, Ordering::Relaxed);
    }

    /// Starts a read of the node (see [`Latch::read`]); it ends when the
    /// returned guard is dropped (or upgraded).
    #[inline]
    pub(crate) fn read(&self) -> Result<Reading<'_, L>, Restart> {
        let t = self.latch.read()?;
        Ok(Reading {
            latch: &self.latch,
            t,
        })
    }

    /// Starts a read that the caller means to upgrade (`excl`; see
    /// [`Latch::read_for_write`]), or a plain read.
    #[inline]
    pub(crate) fn read_mode(&self, excl: bool) -> Result<Reading<'_, L>, Restart> {
        let t = if excl {
            self.latch.read_for_write()?
        } else {
            self.latch.read()?
        };
        Ok(Reading {
            latch: &self.latch,
            t,
        })
    }

    /// Validates the read `v` of this node.
    #[inline]
    pub(crate) fn check(&self, v: &Reading<'_, L>) -> Result<(), Restart> {
        debug_assert!(
            core::ptr::eq(v.latch, &self.latch),
            "a read of another node"
        );
        self.latch.check(v.t)
    }

    /// The node's prefix, as loaded (racy under an optimistic read, so
    /// only meaningful once the read validates; every use is bounded).
    #[inline]
    pub(crate) fn prefix(&self) -> Prefix {
        Prefix {
            len: usize::from(self.plen.load(Ordering::Relaxed)),
            head: self.pfx.load(Ordering::Relaxed),
        }
    }

    pub(super) fn cap(&self) -> usize {
        if self.level == 0 {
            N
        } else {
            N - 1
        }
    }

    /// The entry (or separator) count, clamped to the capacity: a racy
    /// read never yields an out-of-bounds index.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        (self.count.load(Ordering::Relaxed) as usize).min(self.cap())
    }

    #[inline]
    pub(super) fn raw(&self, i: usize) -> RawSlot {
        RawSlot {
            head: self.heads[i].load(Ordering::Relaxed),
            meta: self.meta[i].load(Ordering::Relaxed),
            word: self.words[i].load(Ordering::Acquire),
        }
    }

    /// Slot `pos` of this leaf under the read `v`, validated.
    #[inline]
    pub(crate) fn leaf_slot<'g>(
        &'g self,
        pos: usize,
        v: &Reading<'_, L>,
        _guard: &'g Guard,
    ) -> Result<LeafSlot<'g>, Restart> {
        if pos >= N {
            return Err(Restart);
        }
        let raw = self.raw(pos).absolute(self.prefix());
        self.check(v)?;
        let mut versions = ptr::null_mut();
        if !raw.is_inline() && raw.word.is_null() {
            return Err(Restart);
        }
        if raw.is_long() {
            // SAFETY: validated long-key word: a live entry (invariants 1
            // and 3; the guard is pinned for `'g`).
            versions = unsafe { &*raw.word.cast::<Entry>() }
                .versions
                .load(Ordering::Acquire);
            self.check(v)?;
            if versions.is_null() {
                return Err(Restart);
            }
        }
        // SAFETY: loaded from this leaf under `v`, validated after the
        // loads, with the guard pinned; pointers checked non-null.
        Ok(unsafe { resolve(raw, versions) })
    }

    /// Copies slots `from..to` of this leaf into `out[..to - from]`
    /// (clamped to the count), with the fence keys and right-link, all as
    /// of one validated read `v`, each entry resolved to its value at
    /// `at` (None: the newest). Every out-of-line entry, then every
    /// newest record, is prefetched before any is used, so their misses
    /// overlap.
    pub(crate) fn copy_leaf<'g>(
        &'g self,
        from: usize,
        to: usize,
        v: &Reading<'_, L>,
        at: Option<u64>,
        guard: &'g Guard,
        out: &mut LeafBuf<'g, N>,
    ) -> Result<LeafCopy<'g, L, N>, Restart> {
        let to = to.min(self.count());
        let from = from.min(to);
        let mut len = to - from;
        self.prefetch_slots(from, to);
        self.prefetch_right();
        // One pass over the slots: an inline slot (key and value in the
        // slot) becomes its item at once, which is arithmetic on the
        // loaded words, harmless if the read turns out torn; any other
        // slot is kept raw, marked in `outside`, and resolved only after
        // validation, since its word is then a pointer.
        out.len = 0;
        let pfx = self.prefix();
        let mut outside = [0u64; MASK_WORDS];
        let mut any = 0u64;
        // Whether a marked slot is a chain or an out-of-line entry (else
        // all are packed items, which resolve without a drop), and whether
        // one is an entry (whose version chain is loaded before the check).
        let (mut chains, mut longs) = (false, false);
        let slots = &mut out.slots[..len];
        let cells = self.heads[from..to]
            .iter()
            .zip(&self.meta[from..to])
            .zip(&self.words[from..to]);
        for (i, (c, ((head, meta), word))) in slots.iter_mut().zip(cells).enumerate() {
            let raw = RawSlot {
                head: head.load(Ordering::Relaxed),
                meta: meta.load(Ordering::Relaxed),
                word: word.load(Ordering::Acquire),
            };
            // Inline: a short key (length class at most 8) and neither
            // the chain nor the packed bit, tested at once.
            if raw.meta & (KLEN_MASK | CHAIN | PACKED) <= 8 {
                c.write(Slot {
                    item: Item {
                        key: Bytes::inline(
                            pfx.abs_short(raw.head).to_be_bytes(),
                            usize::from(raw.meta & 0xF),
                        ),
                        val: unpack(raw.word, raw.meta),
                        made_here: (),
                    },
                });
            } else {
                outside[i / 64] |= 1 << (i % 64);
                any = 1;
                chains |= raw.meta & PACKED == 0;
                longs |= raw.is_long();
                // An entry's (or a record's, or a packed item's) header,
                // key and first value bytes span two lines more often
                // than not (allocations are 16-byte aligned, an entry
                // with its first version is over 64 bytes): ask for both
                // now, so that the misses overlap with the rest of the
                // copy. The word is not validated yet, but a prefetch
                // never faults and has no effect the program can observe.
                ordex_core::sync::prefetch(raw.word.cast_const());
                ordex_core::sync::prefetch(raw.word.wrapping_add(64).cast_const());
                c.write(Slot {
                    copied: Copied {
                        raw: raw.absolute(pfx),
                        versions: ptr::null_mut(),
                        _guard: PhantomData,
                    },
                });
            }
        }
        let high = self.high(guard);
        let low = self.low(guard);
        let right = self.right(guard);
        self.check(v)?;
        if any != 0 {
            // The marked slots in order: the set bits of the words that
            // cover the copy, lowest first, one step per set bit.
            let raw_slots = || {
                outside[..len.div_ceil(64)]
                    .iter()
                    .enumerate()
                    .flat_map(|(w, &m)| {
                        let mut m = m;
                        core::iter::from_fn(move || {
                            let b = m.trailing_zeros() as usize;
                            m &= m.wrapping_sub(1);
                            (b < 64).then_some(w * 64 + b)
                        })
                    })
            };
            if !chains {
                // Packed items only: each becomes its item where it is
                // (a packed value is visible at every seqno, so none is
                // dropped and nothing shifts).
                for i in raw_slots() {
                    // SAFETY: slot `i` was written as `copied` above (its
                    // bit is set).
                    let w = unsafe { slots[i].assume_init().copied }.raw.word;
                    if w.is_null() {
                        return Err(Restart);
                    }
                    // SAFETY: validated: a packed word of this leaf points
                    // to a live item (invariant 6) while the guard of 'g
                    // is pinned.
                    let (key, val) = unsafe { packed_bytes(w) };
                    slots[i].write(Slot {
                        item: Item {
                            key,
                            val,
                            made_here: (),
                        },
                    });
                }
            } else {
                for i in raw_slots() {
                    // SAFETY: slot `i` was written as `copied` above (its
                    // bit is set).
                    let c = unsafe { slots[i].assume_init().copied };
                    if c.raw.word.is_null() {
                        return Err(Restart);
                    }
                }
                if longs {
                    for i in raw_slots() {
                        // SAFETY: as above.
                        let mut cp = unsafe { slots[i].assume_init().copied };
                        if cp.raw.is_long() {
                            // SAFETY: a validated long-key word is a live entry
                            // (invariants 1 and 3; the guard is pinned for 'g).
                            cp.versions = unsafe { &*cp.raw.word.cast::<Entry>() }
                                .versions
                                .load(Ordering::Acquire);
                            if cp.versions.is_null() {
                                return Err(Restart);
                            }
                            ordex_core::sync::prefetch(cp.versions.cast_const());
                            slots[i].write(Slot { copied: cp });
                        }
                    }
                    self.check(v)?;
                }
                // Validated: resolve the raw slots for the reader's seqno;
                // drop the keys without a value there (tombstones, or newer
                // than a snapshot), keeping the rest in order.
                let mut kept = 0;
                let mut next = 0;
                for i in raw_slots() {
                    // SAFETY: as above; slot `i` is read once, then a slot at
                    // or below it is overwritten with an item.
                    let cp = unsafe { slots[i].assume_init().copied };
                    let LeafSlot { key, val } = cp.resolve();
                    let val = match at {
                        None => val.now(),
                        Some(s) => val.at(s),
                    };
                    // The inline items between the previous raw slot and
                    // this one shift down over the dropped ones.
                    if kept != next {
                        slots.copy_within(next..i, kept);
                    }
                    kept += i - next;
                    next = i + 1;
                    if let Some(val) = val {
                        slots[kept].write(Slot {
                            item: Item {
                                key,
                                val,
                                made_here: (),
                            },
                        });
                        kept += 1;
                    }
                }
                if kept != next {
                    slots.copy_within(next..len, kept);
                }
                len = kept + (len - next);
            }
        }
        let buf = out;
        // Only a validated copy becomes readable.
        buf.len = len;
        Ok(LeafCopy {
            len,
            high,
            low,
            right,
        })
    }

    /// Starts every line of the three slot arrays in `from..to` at once
    /// (a leaf copy's).
    #[inline]
    fn prefetch_slots(&self, from: usize, to: usize) {
        for i in (from..to).step_by(8) {
            ordex_core::sync::prefetch(&self.heads[i]);
            ordex_core::sync::prefetch(&self.words[i]);
        }
        for i in (from..to).step_by(32) {
            ordex_core::sync::prefetch(&self.meta[i]);
        }
    }

    /// Starts the right sibling, whole: a scan usually goes on there, and
    /// its misses then overlap with the work on this leaf. A racy load of
    /// the link (a prefetch of a stale address faults nothing).
    #[inline]
    fn prefetch_right(&self) {
        let right = self.right.load(Ordering::Relaxed);
        if !right.is_null() {
            let bytes = core::mem::size_of::<Node<L, N>>();
            for off in (0..bytes).step_by(64) {
                ordex_core::sync::prefetch(right.cast::<u8>().wrapping_add(off).cast_const());
            }
        }
    }

    /// Whether slot `i` (below `N`) holds its key and value inline, by a
    /// racy read: a guess, for choosing between ways to read a leaf that
    /// are each exact.
    #[inline]
    pub(crate) fn looks_inline(&self, i: usize) -> bool {
        self.meta[i].load(Ordering::Relaxed) & (KLEN_MASK | CHAIN | PACKED) <= 8
    }

    /// Copies the slots of this leaf in `from..to` (clamped to the count)
    /// into `out` as their raw words, with the fence keys and right-link,
    /// as of one validated read `v`, if every copied slot holds its key
    /// and value inline; `None` (and `out` unreadable) if one does not,
    /// for [`copy_leaf`](Self::copy_leaf) to copy instead under the same
    /// read. A scan's copy of a leaf of short keys: plain loads and
    /// stores, the entries made as they are handed out.
    pub(crate) fn copy_inline<'g>(
        &'g self,
        from: usize,
        to: usize,
        v: &Reading<'_, L>,
        guard: &'g Guard,
        out: &mut InlineBuf<N>,
    ) -> Result<Option<LeafCopy<'g, L, N>>, Restart> {
        let to = to.min(self.count());
        let from = from.min(to);
        let len = to - from;
        // A leaf of long keys shows it in its first slot: no copy is
        // spent on it.
        if from < to && !self.looks_inline(from) {
            return Ok(None);
        }
        self.prefetch_slots(from, to);
        self.prefetch_right();
        out.len = 0;
        out.pfx = self.prefix();
        // Whether a copied slot is not inline: its key's length class
        // above 8, or the chain or packed bit set, tested at once.
        let mut outside = 0u16;
        let cells = self.heads[from..to]
            .iter()
            .zip(&self.meta[from..to])
            .zip(&self.words[from..to]);
        let dst = out.heads[..len]
            .iter_mut()
            .zip(&mut out.metas[..len])
            .zip(&mut out.words[..len]);
        for (((h, m), w), ((head, meta), word)) in dst.zip(cells) {
            let mt = meta.load(Ordering::Relaxed);
            *h = head.load(Ordering::Relaxed);
            *m = mt;
            *w = word.load(Ordering::Relaxed).addr() as u64;
            outside |= u16::from(mt & (KLEN_MASK | CHAIN | PACKED) > 8);
        }
        let high = self.high(guard);
        let low = self.low(guard);
        let right = self.right(guard);
        self.check(v)?;
        if outside != 0 {
            return Ok(None);
        }
        // Only a validated copy becomes readable.
        out.len = len;
        Ok(Some(LeafCopy {
            len,
            high,
            low,
            right,
        }))
    }

    /// Hands this leaf's entries from slot `start` on to `f` in order
    /// straight from the slots,
    /// as long as each is inline, validating the read `v` after each
    /// entry's loads and before `f` sees it (so `f` sees only what one
    /// consistent state of the leaf held), with no copy of the leaf. For
    /// a latch whose reads hold nothing ([`Latch::READS_HOLD_NOTHING`]):
    /// `f` runs inside the read. The leading entries that `skip` says
    /// were seen already (at or below the last key handed out) are
    /// passed over, as a copy's are; the walk stops (`Stopped`) at the
    /// first entry `past` says is past the scan's upper end. Counts the
    /// entries handed out in `n`.
    #[inline(always)]
    pub(crate) fn hand_out_inline<'g>(
        &'g self,
        v: &Reading<'_, L>,
        guard: &'g Guard,
        start: usize,
        (skip, past): (impl Fn(Bytes<'_>) -> bool, impl Fn(Bytes<'_>) -> bool),
        n: &mut usize,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> HandedOut<'g, L, N> {
        debug_assert!(L::READS_HOLD_NOTHING);
        self.prefetch_right();
        // Racy until the first entry's check, and then for good: every
        // later check is of the same read.
        let count = self.count();
        let pfx = self.prefix();
        // A key of at most 8 bytes under a prefix of 8 or more is the
        // prefix itself, one key at most: such a leaf is copied instead,
        // so that every whole-key head below is one shift and one `or`.
        if pfx.len >= 8 {
            return HandedOut::Broke(None);
        }
        let shift = 8 * pfx.len as u32;
        // The entry of a slot, loaded and validated: its key's whole-key
        // head and length, value word and length; `None` if the read
        // failed or the slot is not inline.
        let load = |((meta, head), word): ((&AtomicU16, &AtomicU64), &AtomicPtr<u8>)| {
            let meta = meta.load(Ordering::Relaxed);
            let head = head.load(Ordering::Relaxed);
            let word = word.load(Ordering::Relaxed).addr() as u64;
            // At most 8 with neither flag set: a length of at most 8.
            let klen = meta & (KLEN_MASK | CHAIN | PACKED);
            if self.check(v).is_err() || klen > 8 {
                return None;
            }
            let vlen = usize::from((meta >> VLEN_SHIFT) & 0xF).min(INLINE_MAX);
            Some((pfx.head | (head >> shift), usize::from(klen), word, vlen))
        };
        // The entries from slot `i` on, as one walk over three equal
        // slices (no bounds test per entry).
        let from = |i: usize| {
            self.meta[i..count]
                .iter()
                .zip(&self.heads[i..count])
                .zip(&self.words[i..count])
                .map(load)
        };
        // Passed over: the leading entries seen already (keys are in
        // order, so once one is new, the rest are).
        let mut i = start.min(count);
        for e in from(i) {
            let Some((abs, klen, ..)) = e else {
                return HandedOut::Broke(None);
            };
            if !skip(Bytes::inline(abs.to_be_bytes(), klen)) {
                break;
            }
            i += 1;
        }
        // Handed out: the last one's key is kept (`last_len` 9: none yet).
        let (mut last_abs, mut last_len) = (0u64, 9usize);
        let last = |abs: u64, len: usize| (len <= 8).then_some((abs.to_be_bytes(), len));
        let mut handed = 0;
        for e in from(i) {
            let Some((abs, klen, word, vlen)) = e else {
                *n += handed;
                return HandedOut::Broke(last(last_abs, last_len));
            };
            let (key, val) = (abs.to_be_bytes(), word.to_le_bytes());
            if past(Bytes::inline(key, klen)) {
                *n += handed;
                return HandedOut::Stopped;
            }
            handed += 1;
            (last_abs, last_len) = (abs, klen);
            if !f(&key[..klen], &val[..vlen]) {
                *n += handed;
                return HandedOut::Stopped;
            }
        }
        *n += handed;
        let last = last(last_abs, last_len);
        let (high, low, right) = (self.high(guard), self.low(guard), self.right(guard));
        if self.check(v).is_err() {
            return HandedOut::Broke(last);
        }
        HandedOut::End {
            last,
            high,
            low,
            right,
        }
    }

    /// The key of slot `i` (leaf entry or inner separator) under the read
    /// `v`, validated.
    pub(crate) fn key_at<'g>(
        &'g self,
        i: usize,
        v: &Reading<'_, L>,
        _guard: &'g Guard,
    ) -> Result<Bytes<'g>, Restart> {
        if i >= N {
            return Err(Restart);
        }
        let raw = self.raw(i).absolute(self.prefix());
        let sep = self.ext.as_ref().map(|x| x.seps[i].load(Ordering::Acquire));
        self.check(v)?;
        if !raw.key_is_long() {
            return Ok(short_key(raw.head, raw.meta));
        }
        if sep.is_none() && raw.is_packed() {
            if raw.word.is_null() {
                return Err(Restart);
            }
            // SAFETY: a validated packed word of a leaf points to a live
            // item (invariant 6), with the guard pinned for `'g`.
            return Ok(unsafe { packed_bytes(raw.word) }.0);
        }
        let p = sep.unwrap_or(raw.word.cast::<Entry>());
        // Invariants 1 and 3: a validated entry pointer is live.
        Ok(Bytes::borrowed(EntryRef::new(p).ok_or(Restart)?.key()))
    }

    /// Whether `sk` is within this node's range (at or below its high
    /// key), under the read `v`; decided by the high key's head when it
    /// can be, else validated before the high key is dereferenced.
    #[inline]
    pub(crate) fn covers(
        &self,
        sk: SearchKey<'_>,
        v: &Reading<'_, L>,
        guard: &Guard,
    ) -> Result<bool, Restart> {
        let h = self.high.load(Ordering::Acquire);
        if h.is_null() {
            return Ok(true);
        }
        let head = self.high_head.load(Ordering::Relaxed);
        if head != sk.head {
            return Ok(sk.head < head);
        }
        let ord = match tie_order(self.high_meta.load(Ordering::Relaxed), sk) {
            Some(o) => o,
            None => {
                self.check(v)?;
                let high = self.high(guard).ok_or(Restart)?;
                high.key().cmp(sk.key)
            }
        };
        Ok(ord != core::cmp::Ordering::Less)
    }

    /// The child after child `pos` of this inner node (null past the
    /// last), under the read `v`: meaningful once `v` validates. A
    /// descent keeps it to know, at the child, whether the child's range
    /// still ends where the separator above the key says
    /// ([`right_is`](Self::right_is)).
    #[inline]
    pub(crate) fn next_child(&self, pos: usize) -> *const Node<L, N> {
        if pos >= self.count() {
            return ptr::null();
        }
        self.words[pos + 1]
            .load(Ordering::Acquire)
            .cast::<Node<L, N>>()
    }

    /// Whether this node's right sibling is `next` (non-null), under the
    /// read `v`. A node reached from a parent whose separator above the
    /// key is the node's high key, and whose next child is the node's
    /// right sibling, covers the key: the high key moves only with the
    /// right-link (a split links a new sibling, an unlink or a merge
    /// takes the sibling's range and its right-link, under the parent's
    /// latch), and a node the descent saw is not freed while its guard
    /// lives, so its address is no other node's. Then the descent need
    /// not read the high key (for keys whose first 8 bytes tie with it,
    /// a miss per level).
    #[inline]
    pub(crate) fn right_is(&self, next: *const Node<L, N>) -> bool {
        !next.is_null() && ptr::eq(self.right.load(Ordering::Acquire), next)
    }

    /// Whether `sk` is above this leaf's low fence (always, without one):
    /// with [`covers`](Self::covers), whether the key belongs in this leaf.
    pub(crate) fn above_low(
        &self,
        sk: SearchKey<'_>,
        v: &Reading<'_, L>,
        guard: &Guard,
    ) -> Result<bool, Restart> {
        match self.low(guard) {
            None => Ok(true),
            Some(low) => {
                self.check(v)?;
                Ok(low.key() < sk.key)
            }
        }
    }

    /// The high key; None means +∞ (or, in a racy read, a torn state that
    /// validation catches).
    #[inline]
    pub(crate) fn high<'g>(&'g self, _guard: &'g Guard) -> Option<EntryRef<'g>> {
        // Invariants 1 and 3: a high key replaced by an unlink is retired
        // through the epoch; otherwise it is freed with the tree.
        EntryRef::new(self.high.load(Ordering::Acquire))
    }

    /// Whether the node has a high key (is not the last of its level).
    #[inline]
    pub(crate) fn has_high(&self) -> bool {
        !self.high.load(Ordering::Acquire).is_null()
    }

    /// A leaf's low fence key (exclusive lower bound); None means -∞.
    #[inline]
    pub(crate) fn low<'g>(&'g self, _guard: &'g Guard) -> Option<EntryRef<'g>> {
        // As for `high`; immutable once the leaf is published.
        EntryRef::new(self.low.load(Ordering::Acquire))
    }

    /// The right sibling.
    #[inline]
    pub(crate) fn right<'g>(&'g self, _guard: &'g Guard) -> Option<&'g Node<L, N>> {
        let p = self.right.load(Ordering::Acquire);
        // SAFETY: module invariant 2: nodes live as long as the tree, or
        // (unlinked leaves) while a guard pinned before their retirement.
        unsafe { p.as_ref() }
    }

    /// Child `i` of an inner node.
    #[inline]
    pub(crate) fn child<'g>(&'g self, i: usize, _guard: &'g Guard) -> Option<&'g Node<L, N>> {
        if self.level == 0 {
            return None;
        }
        let p = self.words.get(i)?.load(Ordering::Acquire);
        // SAFETY: module invariant 2; in an inner node every non-null
        // word is a child pointer (words never hold inline bytes there).
        unsafe { p.cast::<Node<L, N>>().as_ref() }
    }

    /// Starts loading what a search of this node reads first: the header
    /// (latch, count, high key head), every line of the heads and of the
    /// words (child pointers, or values). For a leaf (`leaf`), also the
    /// length classes: a get reads one of them right after the search.
    #[inline]
    pub(crate) fn prefetch_search(&self, leaf: bool) {
        ordex_core::sync::prefetch(&self.latch);
        ordex_core::sync::prefetch(&self.high_head);
        // The words too, in inner nodes as in leaves: an inner node's word
        // is the child pointer the search ends on, otherwise a second
        // dependent miss per level.
        for i in (0..N).step_by(64 / core::mem::size_of::<AtomicU64>()) {
            ordex_core::sync::prefetch(&self.heads[i]);
            ordex_core::sync::prefetch(&self.words[i]);
        }
        if leaf {
            for i in (0..N).step_by(64 / core::mem::size_of::<AtomicU16>()) {
                ordex_core::sync::prefetch(&self.meta[i]);
            }
        }
    }

    /// Binary search: the first position whose key is `>= sk`, and whether
    /// it is equal, under the optimistic read `v` (or the latch). Heads and
    /// length classes decide every comparison with a key of at most 8
    /// bytes; on a tie between long keys the slot's entry is dereferenced
    /// only after validating `v`. The answer is meaningful only if `v`
    /// still validates afterwards.
    #[inline]
    pub(crate) fn lower_bound(
        &self,
        sk: SearchKey<'_>,
        v: &Reading<'_, L>,
        _guard: &Guard,
    ) -> Result<(usize, bool), Restart> {
        let (mut lo, hi) = (0, self.count());
        // The probes of a binary search are dependent misses: start every
        // cache line of the heads in use at once instead.
        for i in (0..hi).step_by(64 / core::mem::size_of::<AtomicU64>()) {
            ordex_core::sync::prefetch(&self.heads[i]);
        }
        // Heads hold the bytes after the node's prefix. A key in the
        // node's range starts with it; one that is not (a caller that
        // moved past the range) is placed by the prefix where the first
        // 8 bytes tell, so the answer stays a position in `0..=count`.
        let pfx = self.prefix();
        match pfx.order(sk) {
            core::cmp::Ordering::Less => return Ok((0, false)),
            core::cmp::Ordering::Greater => return Ok((hi, false)),
            core::cmp::Ordering::Equal => {}
        }
        let head = pfx.rel_sk(sk);
        if hi == 0 {
            return Ok((0, false));
        }
        // Branch-free lower bound over the heads: the first slot whose head
        // is not below `head`. Every step has the same shape whatever the
        // keys, so a search costs no mispredicted branches (a branchy binary
        // search over random keys mispredicts about every other step).
        // Invariant: that slot lies in `lo..=lo + len`, and `lo + len <= hi`
        // (so every probe is in bounds, whatever an unvalidated count said).
        let mut len = hi;
        while len > 1 {
            let half = len / 2;
            let mid = lo + half;
            let below = self.heads[mid].load(Ordering::Relaxed) < head;
            lo = core::hint::select_unpredictable(below, mid, lo);
            len -= half;
        }
        lo += usize::from(self.heads[lo].load(Ordering::Relaxed) < head);
        // Slots with the same head (keys that agree in the 8 bytes after
        // the prefix) are ordered by length or, for long keys, by the key.
        // A node's keys can all share one head (the rightmost leaf of
        // ascending ids behind a fixed prefix: with no high fence it has
        // no prefix), so above the first slot the search is binary, not a
        // walk; the first slot alone decides a hit, a key below the run
        // (descending ids), and a run of one.
        if lo < hi && self.heads[lo].load(Ordering::Relaxed) == head {
            // The search key's tail, for separators (an inner node's).
            let tail = pfx.tail(sk.key);
            match self.tie_cmp(lo, sk, tail, v)? {
                core::cmp::Ordering::Equal => return Ok((lo, true)),
                core::cmp::Ordering::Greater => return Ok((lo, false)),
                core::cmp::Ordering::Less => {}
            }
            if lo + 1 >= hi || self.heads[lo + 1].load(Ordering::Relaxed) != head {
                return Ok((lo + 1, false));
            }
            // A slot past the run (a larger head) counts as above `sk`.
            let (mut a, mut b) = (lo + 1, hi);
            while a < b {
                let m = a + (b - a) / 2;
                let ord = if self.heads[m].load(Ordering::Relaxed) != head {
                    core::cmp::Ordering::Greater
                } else {
                    self.tie_cmp(m, sk, tail, v)?
                };
                match ord {
                    core::cmp::Ordering::Less => a = m + 1,
                    core::cmp::Ordering::Greater => b = m,
                    core::cmp::Ordering::Equal => return Ok((m, true)),
                }
            }
            lo = a;
        }
        Ok((lo, false))
    }

    /// [`lower_bound`](Self::lower_bound) for a key that most likely
    /// sorts after every key of the node (an insert into a hot leaf:
    /// ascending ids, timestamps): one compare with the last head
    /// settles it, without the binary search and the prefetches of every
    /// line of heads; anything else (a tie with the last head, a key
    /// outside the node's prefix, an empty node) takes the full search.
    /// Same contract: meaningful only if `v` validates afterwards.
    #[inline]
    pub(crate) fn lower_bound_append(
        &self,
        sk: SearchKey<'_>,
        v: &Reading<'_, L>,
        guard: &Guard,
    ) -> Result<(usize, bool), Restart> {
        let n = self.count();
        if n > 0 {
            let pfx = self.prefix();
            if pfx.order(sk) == core::cmp::Ordering::Equal
                && self.heads[n - 1].load(Ordering::Relaxed) < pfx.rel_sk(sk)
            {
                return Ok((n, false));
            }
        }
        self.lower_bound(sk, v, guard)
    }

    /// How the key of slot `i` (whose head equals `sk`'s) orders against
    /// `sk`: by length, or by the full keys when both are long (the
    /// entry's key, read after validating `v`).
    #[inline]
    fn tie_cmp(
        &self,
        i: usize,
        sk: SearchKey<'_>,
        tail: u64,
        v: &Reading<'_, L>,
    ) -> Result<core::cmp::Ordering, Restart> {
        let meta = self.meta[i].load(Ordering::Relaxed);
        if let Some(o) = tie_order(meta, sk) {
            return Ok(o);
        }
        let p = match &self.ext {
            Some(x) => {
                // Both keys are long and agree up to the tails: tails
                // that differ order them (zero padding only ever meets a
                // key's end, which sorts first, or a real zero byte).
                let t = x.tails[i].load(Ordering::Relaxed);
                if t != tail {
                    return Ok(t.cmp(&tail));
                }
                x.seps[i].load(Ordering::Acquire)
            }
            None => {
                let w = self.words[i].load(Ordering::Acquire);
                if meta & PACKED != 0 {
                    self.check(v)?;
                    if w.is_null() {
                        return Err(Restart);
                    }
                    // SAFETY: validated: a packed leaf word (`meta` and
                    // the word loaded in the same read) points to a live
                    // item (invariant 6) while the caller's guard lives.
                    return Ok(unsafe { packed(w) }.0.cmp(sk.key));
                }
                w.cast::<Entry>()
            }
        };
        self.check(v)?;
        // Invariants 1 and 3: validated, so a live entry.
        Ok(EntryRef::new(p).ok_or(Restart)?.key().cmp(sk.key))
    }

    /// For invariant checks of a quiescent tree: the node's prefix is
    /// shared by its fences and every key it holds, and every head is the
    /// 8 bytes after it. Returns the prefix length.
    pub(crate) fn check_prefix(&self, guard: &Guard) -> Result<usize, String> {
        let pfx = self.prefix();
        let v = self.read().map_err(|_| "a node is latched or obsolete")?;
        let mut fences = Vec::new();
        fences.extend(self.high(guard).map(EntryRef::key));
        fences.extend(self.low(guard).map(EntryRef::key));
        let mut keys = Vec::new();
        for i in 0..self.count() {
            let k = self.key_at(i, &v, guard).map_err(|_| "a read restarted")?;
            let head = self.heads[i].load(Ordering::Relaxed);
            if head != pfx.rel(&k) {
                return Err(format!("slot {i}: head {head:x} is not that of {k:?}"));
            }
            if let Some(x) = &self.ext {
                let tail = x.tails[i].load(Ordering::Relaxed);
                let meta = self.meta[i].load(Ordering::Relaxed);
                if tail != tail_of(pfx, &k, meta) {
                    return Err(format!("separator {i}: tail {tail:x} is not that of {k:?}"));
                }
            }
            keys.push(k);
        }
        let all = fences.iter().copied().chain(keys.iter().map(|k| &**k));
        let mut first: Option<&[u8]> = None;
        for k in all {
            if k.len() < pfx.len || Prefix::of(k, pfx.len) != pfx {
                return Err(format!("{k:?} does not start with the prefix {pfx:?}"));
            }
            let f = *first.get_or_insert(k);
            if k[..pfx.len] != f[..pfx.len] {
                return Err(format!("{k:?} and {f:?} differ in the prefix {pfx:?}"));
            }
        }
        self.check(&v).map_err(|_| "a read restarted")?;
        Ok(pfx.len)
    }

    /// Takes the exclusive latch, waiting while another thread holds it
    /// (the caller holds no latch). Fails if the node is (or becomes)
    /// obsolete.
    pub(crate) fn lock<'a>(&'a self, heap: &'a Arc<Account>) -> Result<Locked<'a, L, N>, Restart> {
        self.latch.lock()?;
        Ok(Locked { node: self, heap })
    }

    /// Whether the node was unlinked (it is retired; readers that reach it
    /// restart).
    pub(crate) fn is_obsolete(&self) -> bool {
        self.latch.is_obsolete()
    }

    /// Upgrades the read `v` of this node to the exclusive latch; on
    /// failure the read ends.
    #[inline]
    pub(crate) fn upgrade<'a>(
        &'a self,
        v: Reading<'a, L>,
        heap: &'a Arc<Account>,
    ) -> Result<Locked<'a, L, N>, Restart> {
        debug_assert!(
            core::ptr::eq(v.latch, &self.latch),
            "a read of another node"
        );
        let v = core::mem::ManuallyDrop::new(v);
        // SAFETY: `v` is a read of this latch that has not ended (the
        // guard is consumed here: on success it became the exclusive
        // latch, on failure it ends below).
        match unsafe { self.latch.upgrade(v.t) } {
            Ok(()) => Ok(Locked { node: self, heap }),
            Err(Restart) => {
                drop(core::mem::ManuallyDrop::into_inner(v));
                Err(Restart)
            }
        }
    }

    // --- plain accessors for a writer holding the latch (or an owner) ---

    pub(super) fn set_raw(&self, i: usize, r: RawSlot) {
        self.heads[i].store(r.head, Ordering::Relaxed);
        self.meta[i].store(r.meta, Ordering::Relaxed);
        self.words[i].store(r.word, Ordering::Release);
    }

    pub(super) fn child_ptr(&self, i: usize) -> *mut Node<L, N> {
        self.words[i].load(Ordering::Relaxed).cast::<Node<L, N>>()
    }

    pub(super) fn set_child(&self, i: usize, n: *mut Node<L, N>) {
        self.words[i].store(n.cast::<u8>(), Ordering::Release);
    }

    pub(super) fn ext(&self) -> &[AtomicPtr<Entry>; N] {
        &self.ext.as_deref().expect("inner node").seps
    }

    fn tails(&self) -> &[AtomicU64; N] {
        &self.ext.as_deref().expect("inner node").tails
    }

    pub(super) fn sep_ptr(&self, i: usize) -> *mut Entry {
        self.ext()[i].load(Ordering::Relaxed)
    }

    /// Sets separator `i` of an inner node (head and length class from
    /// the entry's key).
    pub(super) fn set_sep(&self, i: usize, e: *mut Entry) {
        self.put_sep(i, Separator::of(e, self.prefix()));
    }

    /// Removes separator `pos` and child `pos + 1` of this inner node
    /// (latched by the caller, `n` separators), shifting the rest left.
    pub(super) fn drop_sep_and_right_kid(&self, pos: usize, n: usize) {
        for i in pos..n - 1 {
            self.put_sep(i, self.sep_slot(i + 1));
        }
        self.set_sep(n - 1, ptr::null_mut());
        for i in pos + 1..n {
            self.set_child(i, self.child_ptr(i + 1));
        }
        self.set_child(n, ptr::null_mut());
        self.set_count(n - 1);
    }

    /// Separator `i` as stored (head, length class, entry), for moving it
    /// without reading its key again.
    pub(super) fn sep_slot(&self, i: usize) -> Separator {
        Separator {
            head: self.heads[i].load(Ordering::Relaxed),
            meta: self.meta[i].load(Ordering::Relaxed),
            e: self.ext()[i].load(Ordering::Relaxed),
            tail: self.tails()[i].load(Ordering::Relaxed),
        }
    }

    /// Stores a separator moved from another slot (see [`sep_slot`]).
    pub(super) fn put_sep(&self, i: usize, s: Separator) {
        self.heads[i].store(s.head, Ordering::Relaxed);
        self.meta[i].store(s.meta, Ordering::Relaxed);
        self.tails()[i].store(s.tail, Ordering::Relaxed);
        self.ext()[i].store(s.e, Ordering::Release);
    }

    pub(super) fn set_high(&self, e: *mut Entry) {
        let (head, meta) = if e.is_null() {
            (0, 0)
        } else {
            // SAFETY: as for `set_sep`.
            let k = unsafe { entry_key(e) };
            (head_of(k), klen_meta(k))
        };
        self.high_head.store(head, Ordering::Relaxed);
        self.high_meta.store(meta, Ordering::Relaxed);
        self.high.store(e, Ordering::Release);
    }

    pub(super) fn set_count(&self, n: usize) {
        self.count.store(n as u32, Ordering::Relaxed);
    }

    /// The key bytes of a leaf slot this thread owns or holds latched.
    pub(super) fn owned_key(&self, r: &RawSlot) -> KeyBuf<'_> {
        if r.key_is_long() {
            // SAFETY: a long-key word of an owned or latched leaf is a live
            // entry or packed item (invariants 1 and 6), not freed while
            // the latch is held.
            KeyBuf::Long(unsafe { long_key(r.meta, r.word) })
        } else {
            let head = self.prefix().abs_short(r.head);
            KeyBuf::Short(head.to_be_bytes(), usize::from(r.meta & KLEN_MASK))
        }
    }

    /// Stores the prefix fields (an owned node, or under the latch; the
    /// heads must already be encoded for `p`).
    pub(super) fn store_prefix(&self, p: Prefix) {
        self.plen.store(p.len as u8, Ordering::Relaxed);
        self.pfx.store(p.head, Ordering::Relaxed);
    }

    /// Changes the prefix of this node (owned, or latched: readers that
    /// see part of the change fail validation) to `to`, which every key
    /// of its range starts with, re-encoding every head. Long keys are
    /// read from their entries, all prefetched first.
    pub(super) fn reprefix(&self, to: Prefix) {
        let from = self.prefix();
        if from == to {
            return;
        }
        let n = (self.count.load(Ordering::Relaxed) as usize).min(self.cap());
        let entry = |i: usize| -> *const u8 {
            match &self.ext {
                Some(x) => x.seps[i].load(Ordering::Relaxed).cast::<u8>(),
                None => self.words[i].load(Ordering::Relaxed),
            }
        };
        for i in 0..n {
            if self.meta[i].load(Ordering::Relaxed) & KLEN_MASK == KLEN_LONG {
                ordex_core::sync::prefetch(entry(i));
            }
        }
        for i in 0..n {
            let (h, m) = (
                self.heads[i].load(Ordering::Relaxed),
                self.meta[i].load(Ordering::Relaxed),
            );
            // SAFETY: a long slot of an owned or latched node holds a live
            // entry or packed item (invariants 1 and 6), as its meta says.
            let h = unsafe { rehead(h, m, entry(i), from, to) };
            self.heads[i].store(h, Ordering::Relaxed);
            if let Some(x) = &self.ext {
                let e = x.seps[i].load(Ordering::Relaxed);
                if !e.is_null() && m & KLEN_MASK == KLEN_LONG {
                    // SAFETY: as above: a long separator of an owned or
                    // latched inner node is a live entry.
                    let t = to.tail(unsafe { entry_key(e) });
                    x.tails[i].store(t, Ordering::Relaxed);
                }
            }
        }
        self.store_prefix(to);
    }

    /// The high key's bytes (None: +∞) of an owned or latched node.
    pub(super) fn high_key(&self) -> Option<&[u8]> {
        let h = self.high.load(Ordering::Relaxed);
        // SAFETY: the high key of an owned or latched node is live while
        // the node is held (invariant 1; it is retired only by the latch
        // holder that replaces it).
        (!h.is_null()).then(|| unsafe { entry_key(h) })
    }

    /// The low fence's bytes (None: -∞) of an owned or latched leaf.
    pub(super) fn low_key(&self) -> Option<&[u8]> {
        let l = self.low.load(Ordering::Relaxed);
        // SAFETY: as for `high_key`; low fences are immutable.
        (!l.is_null()).then(|| unsafe { entry_key(l) })
    }
}
