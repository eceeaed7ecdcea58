//! The write path: claiming a lane, allocating nodes, taking seqnos,
//! linking, and counting what was written; the engine-facing writes
//! (`write_batch_at`, `get_or_insert`, reservations) and their errors.
//! Which writes wait for which: see the crate docs.

use crate::arena::{node_size, Block, NodeRef};
use crate::keys::same_key;
use crate::lane::{key_bits, Claim, InFlight, Lane, NO_SEQNO, PENDING};
use crate::list::{random_height, Duplicate, Linked, KIND_DELETE, KIND_PUT, MAX_SEQNO};
use crate::{Duplicates, Nodes, SkipList, Write};
use ordex_core::sync::{fence, Ordering};
use ordex_core::{Error, OrderedIndex, Seqno};
use smallvec::SmallVec;

/// What [`SkipList::get_or_insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetOrInsert<'a> {
    /// The key had a live value; nothing was written (but see
    /// [`SkipList::get_or_insert`] for a value still being linked).
    Present(&'a [u8]),
    /// The value was inserted with this seqno.
    Inserted(Seqno),
}

impl SkipList {
    pub(crate) fn check(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.limits().check(key, value)
    }

    /// Enters the write path: claims a lane in state `initial`, or fails
    /// if sealed.
    pub(crate) fn enter(&self, initial: u64) -> Result<Claim<'_>, Error> {
        let claim = self.lanes.claim(initial);
        Lane::add(&claim.lane.attempts, 1);
        // The fence between the claim and the flag load: see `freeze`.
        fence(Ordering::SeqCst);
        if self.sealed.load(Ordering::Relaxed) {
            return Err(Error::Sealed);
        }
        Ok(claim)
    }

    /// The table is full: refuse, and seal it if configured to.
    pub(crate) fn full(&self) -> Error {
        if self.config.auto_seal {
            self.sealed.store(true, Ordering::Release);
        }
        Error::Full
    }

    pub(crate) fn admit(&self, n: usize) -> Result<(), Error> {
        if self.config.max_entries == usize::MAX {
            return Ok(());
        }
        let before = self.admitted.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.config.max_entries {
            self.admitted.fetch_sub(n, Ordering::Relaxed);
            return Err(self.full());
        }
        Ok(())
    }

    pub(crate) fn unadmit(&self, n: usize) {
        if self.config.max_entries != usize::MAX {
            self.admitted.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Allocates one node, from the reservation if there is one (its
    /// height trimmed to fit what the reservation has left) and from the
    /// claimed lane's block otherwise.
    pub(crate) fn alloc_node(
        &self,
        lane: &Lane,
        reservation: Option<&Block>,
        key: &[u8],
        value: Option<&[u8]>,
        seqno: Seqno,
    ) -> Result<NodeRef, Error> {
        let kind = if value.is_some() {
            KIND_PUT
        } else {
            KIND_DELETE
        };
        let value = value.unwrap_or(&[]);
        let mut height = random_height(key);
        if let Some(block) = reservation {
            while height > 1 && node_size(height, key.len(), value.len()) > block.left() {
                height -= 1;
            }
            if let Ok(n) = self
                .list
                .arena
                .alloc_reserved(block, height, seqno, kind, key, value)
            {
                return Ok(n);
            }
        }
        let (block, values) = lane.blocks_for(height);
        self.list
            .arena
            .alloc(block, values, height, seqno, kind, key, value)
            .map_err(|_| self.full())
    }

    /// Allocates the nodes of a write, all or none (room is checked first;
    /// a concurrent writer taking the room can still make a later node
    /// fail, which wastes the earlier ones' bytes but changes no data).
    pub(crate) fn alloc_nodes(
        &self,
        lane: &Lane,
        reservation: Option<&Block>,
        entries: &[Write<'_>],
        seqno: Seqno,
    ) -> Result<Nodes, Error> {
        if entries.len() > 1 && reservation.is_none() {
            let need: usize = entries
                .iter()
                .map(|(k, v)| node_size(1, k.len(), v.map_or(0, <[u8]>::len)))
                .sum();
            if need > self.list.arena.remaining() + lane.left() {
                return Err(self.full());
            }
        }
        let mut nodes = Nodes::with_capacity(entries.len());
        for (k, v) in entries {
            nodes.push(self.alloc_node(lane, reservation, k, *v, seqno)?);
        }
        Ok(nodes)
    }

    /// Counts a version linked at `at` into the lane's statistics.
    pub(crate) fn account(&self, lane: &Lane, node: NodeRef, at: Linked) {
        let arena = &self.list.arena;
        let list = &self.list;
        let (key, value, seqno) = arena.entry(node);
        Lane::add(&lane.key_bytes, key.len() as u64);
        Lane::add(&lane.value_bytes, value.len() as u64);
        Lane::raise(&lane.max_seqno, seqno);
        let tombstone = i64::from(!list.is_put(node));
        // A write that shadowed an equal (key, seqno) (it is linked right
        // before it, see `Duplicates::LaterWins`) replaces a version
        // rather than adding one.
        let shadowed = at.next.filter(|&n| list.shadowed_by(n, node));
        match shadowed {
            Some(old) => {
                Lane::add(&lane.shadowed, 1);
                Lane::change(&lane.tombstones, tombstone - i64::from(!list.is_put(old)));
            }
            None => {
                Lane::add(&lane.entries, 1);
                Lane::change(&lane.tombstones, tombstone);
            }
        }
        // The live count changes only when the node became its key's newest
        // version: by its own kind, minus the kind of the version it
        // superseded (`next`, if it is the same key).
        let newest = at.prev == list.head() || !same_key(arena.key(at.prev), key);
        if newest {
            let older_live =
                matches!(at.next, Some(n) if list.is_put(n) && same_key(arena.key(n), key));
            Lane::change(
                &lane.live,
                i64::from(list.is_put(node)) - i64::from(older_live),
            );
        }
    }

    /// The write path of the trait: validates, allocates, takes the next
    /// seqnos, links (a batch in key order, reusing the splice). Returns
    /// the last seqno and, if `exact_removed`, whether the first entry
    /// superseded a live value (reading the writes of its key in flight
    /// below it, so the answer is the linearizable one: see
    /// [`removed`](Self::removed)).
    pub(crate) fn write_auto(
        &self,
        entries: &[Write<'_>],
        reservation: Option<&Block>,
        exact_removed: bool,
    ) -> Result<(Seqno, bool), Error> {
        for (k, v) in entries {
            self.check(k, v.unwrap_or(&[]))?;
        }
        if entries.is_empty() {
            if self.is_sealed() {
                return Err(Error::Sealed);
            }
            return Ok((self.visible_seqno(), false));
        }
        let claim = self.enter(PENDING)?;
        // Before the seqno is taken: see `Lanes::in_flight`.
        let bits = entries.iter().fold(0, |b, (k, _)| b | key_bits(k));
        claim.lane.keys.store(bits, Ordering::Relaxed);
        self.admit(entries.len())?;
        // A single write (the common one) keeps its node in an array of
        // one, not in a `Nodes`: moving a small vector a few stores after
        // filling it made loads of the whole vector wait on the stores
        // they overlapped (a load wider than the store before it is not
        // forwarded), about a quarter of this function's time on a load
        // of ascending ids.
        let one: [NodeRef; 1];
        let many: Nodes;
        let nodes: &[NodeRef] = if let [(k, v)] = entries {
            match self.alloc_node(claim.lane, reservation, k, *v, 0) {
                Ok(n) => {
                    one = [n];
                    &one
                }
                Err(e) => {
                    self.unadmit(1);
                    return Err(e);
                }
            }
        } else {
            match self.alloc_nodes(claim.lane, reservation, entries, 0) {
                Ok(n) => {
                    many = n;
                    &many
                }
                Err(e) => {
                    self.unadmit(entries.len());
                    return Err(e);
                }
            }
        };
        claim.lane.publish(nodes, false);
        let n = entries.len() as u64;
        let first = claim.take_seqno(&self.next_seqno, n, |first| {
            for (i, node) in nodes.iter().enumerate() {
                // SAFETY: allocated above by this thread; no link points to
                // it and the lane shows no seqno for this write yet.
                unsafe { self.list.arena.set_seqno(*node, first + i as u64) };
            }
            stall_point(Stall::Pending);
        });
        stall_point(Stall::Shown);
        if nodes.len() == 1 {
            let at = self.list.insert_single(nodes[0], false, |_, _| true);
            self.account_linked(claim.lane, nodes[0], at);
        } else {
            // Key order (seqno descending within a key: later entries
            // first), so each insert starts from the previous splice.
            let mut order: SmallVec<[u32; 16]> = (0..nodes.len() as u32).collect();
            let key = |i: u32| entries[i as usize].0;
            let sorted = order.windows(2).all(|w| key(w[0]) < key(w[1]));
            if !sorted {
                order.sort_unstable_by(|&a, &b| key(a).cmp(key(b)).then(b.cmp(&a)));
            }
            let mut splice = self.list.new_splice();
            for &i in &order {
                let node = nodes[i as usize];
                let at = self.list.insert(node, &mut splice, false, |_, _| true);
                self.account_linked(claim.lane, node, at);
            }
        }
        let removed = exact_removed && self.removed(entries[0].0, nodes[0], first);
        drop(claim);
        Ok((first + n - 1, removed))
    }

    /// Whether the tombstone `node` of `key`, linked at `seqno` by a
    /// `remove` still holding its lane, superseded a live value: the
    /// writes in flight below it, then (read after them) the newest linked
    /// version below it. No write is waited for. (Out of line: the plain
    /// write path stays small.)
    #[inline(never)]
    fn removed(&self, key: &[u8], node: NodeRef, seqno: Seqno) -> bool {
        let arena = &self.list.arena;
        let mut older = SmallVec::<[InFlight; 2]>::new();
        self.lanes.in_flight(
            seqno,
            key,
            key_bits(key),
            |n| arena.key(n),
            |f| older.push(f),
        );
        let below = self
            .list
            .next(node)
            .filter(|&n| same_key(arena.key(n), key));
        self.value_below(below, &mut older).is_some()
    }

    /// Counts a node of an auto-seqno write that `List::insert` linked. A
    /// `Duplicate` (its (key, seqno) linked already) means a
    /// `get_or_insert` found the write in flight and linked a copy of the
    /// node (see [`help`](Self::help)), which it counted.
    #[inline]
    fn account_linked(&self, lane: &Lane, node: NodeRef, at: Result<Option<Linked>, Duplicate>) {
        if let Ok(at) = at {
            self.account(lane, node, at.expect("accepted"));
        }
    }

    /// The value `key` has just below a write in flight: that of the
    /// newest linked version below it (`linked`, a node of `key`, if any),
    /// overlaid with those of the writes still in flight above that one
    /// (`older`, from [`Lanes::in_flight`](crate::lane::Lanes::in_flight)),
    /// oldest first: a put gives its value, a tombstone none, and a
    /// `get_or_insert` its own value if there is none below it (what it
    /// decides itself: every thread that evaluates it sees the same
    /// versions below its seqno, so all agree without waiting). Returns the
    /// node holding the value and whether it is linked.
    pub(crate) fn value_below(
        &self,
        linked: Option<NodeRef>,
        older: &mut [InFlight],
    ) -> Option<(NodeRef, bool)> {
        let arena = &self.list.arena;
        let floor = linked.map(|n| arena.seqno(n));
        let mut value = linked.filter(|&n| self.list.is_put(n)).map(|n| (n, true));
        older.sort_unstable_by_key(|o| arena.seqno(o.node));
        for o in older.iter() {
            // A write at or below the floor has linked (or is shadowed).
            if floor.is_some_and(|f| arena.seqno(o.node) <= f) {
                continue;
            }
            if o.get_or_insert {
                if value.is_none() {
                    value = Some((o.node, false));
                }
            } else if self.list.is_put(o.node) {
                value = Some((o.node, false));
            } else {
                value = None;
            }
        }
        value
    }

    /// Links a copy of `node`, a put of `key` by a write still in flight,
    /// at that write's seqno, counted in `lane`: a `get_or_insert` that
    /// answers with its value makes it visible before returning, without
    /// waiting for the write. The write's own link then finds the copy
    /// and links nothing (see [`account_linked`](Self::account_linked));
    /// if the write linked first, the copy is not linked (its bytes are
    /// lost to the arena). Fails with `Full` if the copy finds no room.
    fn help(&self, lane: &Lane, key: &[u8], node: NodeRef) -> Result<(), Error> {
        let arena = &self.list.arena;
        let copy = self.alloc_node(lane, None, key, Some(arena.value(node)), arena.seqno(node))?;
        let mut splice = self.list.single_splice();
        if let Ok(at) = self.list.insert(copy, &mut splice, false, |_, _| true) {
            self.account(lane, copy, at.expect("accepted"));
        }
        Ok(())
    }

    /// Whether a write of a (key, seqno) the table holds may shadow it
    /// (see [`Duplicates`]).
    pub(crate) fn shadows(&self) -> bool {
        self.config.duplicates == Duplicates::LaterWins
    }

    /// Writes versions with one caller-assigned seqno (the way an engine
    /// assigns seqnos at its write-ahead log); `None` writes a tombstone.
    /// All or nothing: every entry is checked (limits, seqno, sealed, the
    /// duplicate policy, room) before any is linked. A later entry for a
    /// key replaces an earlier one of the same call. Refusals are
    /// [`WriteAtError`]s, never a panic.
    pub(crate) fn write_at(
        &self,
        entries: &[Write<'_>],
        seqno: Seqno,
        reservation: Option<&Block>,
    ) -> Result<(), WriteAtError> {
        if seqno > MAX_SEQNO {
            return Err(WriteAtError::SeqnoTooLarge);
        }
        for (k, v) in entries {
            self.check(k, v.unwrap_or(&[]))?;
        }
        // The entries that count, in key order: the last one of each key.
        let mut order: SmallVec<[u32; 16]> = (0..entries.len() as u32).collect();
        let key = |i: u32| entries[i as usize].0;
        if !order.windows(2).all(|w| key(w[0]) < key(w[1])) {
            order.sort_by(|&a, &b| key(a).cmp(key(b)).then(b.cmp(&a)));
            order.dedup_by(|later, earlier| key(*later) == key(*earlier));
        }
        let claim = self.enter(NO_SEQNO)?;
        if order.is_empty() {
            return Ok(());
        }
        let shadow = self.shadows();
        if !shadow && order.len() > 1 {
            // Checked before anything is linked, so a refused batch leaves
            // no trace (a single write is checked by its link itself).
            for &i in &order {
                let k = key(i);
                if let Some(n) = self.list.seek(k, seqno) {
                    let (nk, ns) = self.list.arena.key_seqno(n);
                    if ns == seqno && same_key(nk, k) {
                        return Err(WriteAtError::Duplicate);
                    }
                }
            }
        }
        let kept: SmallVec<[Write<'_>; 16]> = order.iter().map(|&i| entries[i as usize]).collect();
        self.admit(kept.len())?;
        let nodes = match self.alloc_nodes(claim.lane, reservation, &kept, seqno) {
            Ok(n) => n,
            Err(e) => {
                self.unadmit(kept.len());
                return Err(e.into());
            }
        };
        if let [node] = nodes[..] {
            return match self.list.insert_single(node, shadow, |_, _| true) {
                Ok(at) => {
                    self.account(claim.lane, node, at.expect("accepted"));
                    Ok(())
                }
                Err(_) => {
                    self.unadmit(1);
                    Err(WriteAtError::Duplicate)
                }
            };
        }
        // Every entry passed the duplicate check above; an equal (key,
        // seqno) linked since, by another thread at the same moment, is
        // shadowed rather than half the batch refused.
        let mut splice = self.list.new_splice();
        for &node in &nodes {
            let at = self
                .list
                .insert(node, &mut splice, true, |_, _| true)
                .expect("shadowing never refuses")
                .expect("accepted");
            self.account(claim.lane, node, at);
        }
        Ok(())
    }

    /// Inserts `value` for `key` at a caller-assigned `seqno`.
    ///
    /// ```
    /// use ordex_skiplist::SkipList;
    /// let t = SkipList::new();
    /// t.insert_at(b"k", 7, b"v7").unwrap();
    /// t.insert_at(b"k", 9, b"v9").unwrap();
    /// assert_eq!(t.get_at(b"k", 8), Some(Some(&b"v7"[..])));
    /// assert!(t.insert_at(b"k", 9, b"again").is_err()); // duplicate (key, seqno)
    /// ```
    pub fn insert_at(&self, key: &[u8], seqno: Seqno, value: &[u8]) -> Result<(), WriteAtError> {
        self.write_at(&[(key, Some(value))], seqno, None)
    }

    /// Writes a tombstone for `key` at a caller-assigned `seqno`.
    pub fn delete_at(&self, key: &[u8], seqno: Seqno) -> Result<(), WriteAtError> {
        self.write_at(&[(key, None)], seqno, None)
    }

    /// Writes a batch of puts (`Some`) and tombstones (`None`) all at one
    /// caller-assigned `seqno` (an engine's commit timestamp or WAL
    /// sequence number): all or nothing. Every entry is checked first —
    /// the limits, the seqno, a sealed table, the duplicate policy against
    /// the table ([`Duplicates::Reject`] refuses the whole batch with
    /// [`WriteAtError::Duplicate`] if the table holds any of its (key,
    /// seqno)s), the room — and a refused batch changes nothing. Within
    /// the batch, a later entry for a key wins (an earlier one is never
    /// written). Each entry is visible to reads as soon as it is linked,
    /// and all of them once the call returns; readers at a seqno below
    /// `seqno` (an engine's snapshots before the commit) never see any.
    ///
    /// Under `Reject`, the check against the table is made before the
    /// first link: a write of one of the batch's (key, seqno)s by another
    /// thread during the call is shadowed by the batch's entry rather than
    /// refusing half a batch.
    ///
    /// ```
    /// use ordex_skiplist::{SkipList, WriteAtError};
    /// let t = SkipList::new();
    /// let batch: [(&[u8], Option<&[u8]>); 3] =
    ///     [(b"acct/1", Some(b"90")), (b"acct/2", Some(b"110")), (b"acct/1", Some(b"80"))];
    /// t.write_batch_at(&batch, 42)?;
    /// assert_eq!(t.get_at(b"acct/1", 42), Some(Some(&b"80"[..]))); // the later entry won
    /// assert_eq!(t.get_at(b"acct/2", 41), None); // older readers see nothing of it
    /// assert_eq!((t.version_count(), t.max_seqno()), (2, 42));
    /// // A second batch at 42 that repeats a (key, seqno) is refused whole.
    /// let again: [(&[u8], Option<&[u8]>); 2] = [(b"acct/3", Some(b"5")), (b"acct/2", None)];
    /// assert_eq!(t.write_batch_at(&again, 42), Err(WriteAtError::Duplicate));
    /// assert_eq!(t.get_at(b"acct/3", 42), None);
    /// # Ok::<(), WriteAtError>(())
    /// ```
    pub fn write_batch_at(
        &self,
        entries: &[(&[u8], Option<&[u8]>)],
        seqno: Seqno,
    ) -> Result<(), WriteAtError> {
        self.write_at(entries, seqno, None)
    }

    /// Writes a batch of puts (`Some`) and tombstones (`None`) with the
    /// next seqnos, in one range in input order (a later entry for the
    /// same key wins): all or nothing, visible to snapshots all at once.
    /// Linked in key order with a reused splice, so a sorted batch costs a
    /// fraction of the same inserts one by one. Returns the last seqno.
    pub fn write_batch(&self, entries: &[(&[u8], Option<&[u8]>)]) -> Result<Seqno, Error> {
        Ok(self.write_auto(entries, None, false)?.0)
    }

    /// Reserves `bytes` of arena room for the writes of one batch, so that
    /// none of them can fail with [`Error::Full`]: writes through the
    /// [`Reservation`] whose [`entry_size`](Self::entry_size)s add up to at
    /// most `bytes` always find room. Fails with `Full`, changing nothing,
    /// if the table has not that much room; reservations are limited to
    /// half a chunk. When the reservation drops, the room it did not use
    /// goes to the dropping thread's writer lane (if that lane has less
    /// left), so little of it is lost.
    ///
    /// ```
    /// use ordex_skiplist::SkipList;
    /// let t = SkipList::new();
    /// let batch: [(&[u8], &[u8]); 2] = [(b"a", b"1"), (b"b", b"2")];
    /// let need = batch.iter().map(|(k, v)| SkipList::entry_size(k.len(), v.len())).sum();
    /// let r = t.reserve(need)?;
    /// for (i, (k, v)) in batch.iter().enumerate() {
    ///     r.insert_at(k, 10 + i as u64, v).expect("reserved");
    /// }
    /// drop(r);
    /// assert_eq!(t.get_live(b"b"), Some(&b"2"[..]));
    /// # Ok::<(), ordex_core::Error>(())
    /// ```
    pub fn reserve(&self, bytes: usize) -> Result<Reservation<'_>, Error> {
        if self.is_sealed() {
            return Err(Error::Sealed);
        }
        let block = Block::new();
        if bytes > self.list.arena.max_node() / 2 {
            return Err(Error::Full);
        }
        if bytes > 0 {
            self.list
                .arena
                .refill(&block, bytes, false)
                .map_err(|_| self.full())?;
        }
        Ok(Reservation { table: self, block })
    }

    /// Inserts `value` for `key` only if the key has no live value, as one
    /// atomic step: concurrent `get_or_insert`s of one key agree on a
    /// single winner.
    ///
    /// Lock-free: it waits for no other write. If the key's live value is
    /// being written by another thread right now (a write with a lower
    /// seqno, not linked yet), it answers `Present` with that value and
    /// links a copy of that write's version at the write's own seqno, so
    /// that a read right after it sees the value too (the write then links
    /// nothing: one version). It fails with [`Error::Full`] if that copy
    /// finds no room.
    ///
    /// ```
    /// use ordex_skiplist::{GetOrInsert, SkipList};
    /// let t = SkipList::new();
    /// assert!(matches!(t.get_or_insert(b"k", b"first")?, GetOrInsert::Inserted(_)));
    /// assert_eq!(t.get_or_insert(b"k", b"second")?, GetOrInsert::Present(b"first"));
    /// # Ok::<(), ordex_core::Error>(())
    /// ```
    pub fn get_or_insert(&self, key: &[u8], value: &[u8]) -> Result<GetOrInsert<'_>, Error> {
        self.check(key, value)?;
        if let Some(v) = self.get_live(key) {
            return Ok(GetOrInsert::Present(v));
        }
        let claim = self.enter(PENDING)?;
        // Before the seqno is taken: see `Lanes::in_flight`.
        let bits = key_bits(key);
        claim.lane.keys.store(bits, Ordering::Relaxed);
        self.admit(1)?;
        let node = match self.alloc_node(claim.lane, None, key, Some(value), 0) {
            Ok(n) => n,
            Err(e) => {
                self.unadmit(1);
                return Err(e);
            }
        };
        claim.lane.publish(&[node], true);
        let seqno = claim.take_seqno(&self.next_seqno, 1, |seqno| {
            // SAFETY: allocated above by this thread; no link points to it
            // and the lane shows no seqno for this write yet.
            unsafe { self.list.arena.set_seqno(node, seqno) };
            stall_point(Stall::Pending);
        });
        stall_point(Stall::Shown);
        // The decision depends only on the versions below `seqno`: those
        // of writes in flight (read first), then the newest linked one,
        // which the linking CAS below checks is still `next`. A newer
        // version linked before this one does not change it: this write
        // is then simply an older version.
        let arena = &self.list.arena;
        let mut older = SmallVec::<[InFlight; 2]>::new();
        self.lanes
            .in_flight(seqno, key, bits, |n| arena.key(n), |f| older.push(f));
        let mut present = None;
        let mut splice = self.list.single_splice();
        let linked = self.list.insert(node, &mut splice, false, |_, next| {
            let below = next.filter(|&n| same_key(arena.key(n), key));
            present = self.value_below(below, &mut older);
            present.is_none()
        });
        match linked {
            Ok(Some(at)) => {
                self.account(claim.lane, node, at);
                return Ok(GetOrInsert::Inserted(seqno));
            }
            // A later `get_or_insert` found this one in flight, reached the
            // same decision (insert) and linked a copy of its node.
            Err(Duplicate) => return Ok(GetOrInsert::Inserted(seqno)),
            Ok(None) => {}
        }
        self.unadmit(1);
        let (n, is_linked) = present.expect("refused only for a live value below");
        if !is_linked {
            self.help(claim.lane, key, n)?;
        }
        drop(claim);
        Ok(GetOrInsert::Present(arena.value(n)))
    }
}

/// Where a test may stall a write (see [`stall_point`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Stall {
    /// Seqno taken and stamped, not shown yet (the lane is pending).
    Pending,
    /// Seqno shown in the lane, nothing linked.
    Shown,
}

/// Runs the hook a test set on this thread for `at` (tests only).
#[inline(always)]
fn stall_point(at: Stall) {
    #[cfg(all(test, not(loom)))]
    crate::tests::STALL.with(|stall| {
        if let Some((point, hook)) = stall.take() {
            if point == at {
                hook();
            } else {
                stall.set(Some((point, hook)));
            }
        }
    });
    #[cfg(not(all(test, not(loom))))]
    let _ = at;
}

/// Room reserved by [`SkipList::reserve`] for the writes of one batch.
/// Writes through it never fail with `Full` while the reserved room lasts.
pub struct Reservation<'a> {
    table: &'a SkipList,
    block: Block,
}

impl Reservation<'_> {
    /// Reserved bytes not yet used.
    pub fn remaining(&self) -> usize {
        self.block.left()
    }

    /// [`SkipList::insert_at`] from the reserved room.
    pub fn insert_at(&self, key: &[u8], seqno: Seqno, value: &[u8]) -> Result<(), WriteAtError> {
        self.table
            .write_at(&[(key, Some(value))], seqno, Some(&self.block))
    }

    /// [`SkipList::delete_at`] from the reserved room.
    pub fn delete_at(&self, key: &[u8], seqno: Seqno) -> Result<(), WriteAtError> {
        self.table
            .write_at(&[(key, None)], seqno, Some(&self.block))
    }

    /// [`SkipList::write_batch`] from the reserved room.
    pub fn write_batch(&self, entries: &[(&[u8], Option<&[u8]>)]) -> Result<Seqno, Error> {
        Ok(self.table.write_auto(entries, Some(&self.block), false)?.0)
    }

    /// [`SkipList::write_batch_at`] from the reserved room.
    pub fn write_batch_at(
        &self,
        entries: &[(&[u8], Option<&[u8]>)],
        seqno: Seqno,
    ) -> Result<(), WriteAtError> {
        self.table.write_at(entries, seqno, Some(&self.block))
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let claim = self.table.lanes.claim(NO_SEQNO);
        self.table
            .list
            .arena
            .hand_over(&self.block, &claim.lane.block);
    }
}

impl std::fmt::Debug for Reservation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("remaining", &self.remaining())
            .finish()
    }
}

/// Why [`SkipList::insert_at`] or [`SkipList::delete_at`] refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteAtError {
    /// A general refusal (`Full`, `Sealed`, `KeyTooLarge`, `ValueTooLarge`).
    Index(Error),
    /// A version with this (key, seqno) is already in the table.
    Duplicate,
    /// Seqnos are limited to 2^56 − 1.
    SeqnoTooLarge,
}

impl From<Error> for WriteAtError {
    fn from(e: Error) -> Self {
        WriteAtError::Index(e)
    }
}

impl std::fmt::Display for WriteAtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteAtError::Index(e) => e.fmt(f),
            WriteAtError::Duplicate => {
                f.write_str("a version with this key and seqno already exists")
            }
            WriteAtError::SeqnoTooLarge => f.write_str("seqno exceeds 2^56 - 1"),
        }
    }
}

impl std::error::Error for WriteAtError {}
