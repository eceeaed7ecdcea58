//! Group commit: one writer applies at a time; concurrent writes queue and
//! are applied by the writer of the moment (the leader) as one batch, on a
//! private copy of the tree, published once.
//!
//! The protocol (RocksDB's write group, with a handoff):
//!
//! 1. A caller locks the queue. If no leader is active, it becomes the
//!    leader and applies its own write (borrowed, not copied) together
//!    with whatever is queued.
//! 2. Otherwise it queues a [`Request`] (its write, copied) and waits on
//!    the request's state.
//! 3. The leader applies the batch in queue order (each write gets the
//!    next seqno; a remove that finds nothing, a transaction that
//!    conflicts, a cut that moves nothing and an append of nothing get
//!    none). Before it publishes, it takes the requests that queued while
//!    it applied and applies them too, up to [`EXTEND_ROUNDS`] times (and
//!    no `append`, which must join index families before the batch
//!    starts): writers that keep arriving share one publication instead
//!    of each waiting for the one before. It publishes the new version
//!    once, then stores each request's outcome and marks it `DONE`
//!    (release): no caller returns before its write is visible.
//! 4. Leaving, the leader locks the queue: if requests are waiting, it
//!    marks the oldest `LEAD` and the leadership passes to that thread
//!    (which drains the queue, its own request included); otherwise it
//!    clears the busy flag. A drop guard does this step, so it also
//!    happens if applying the batch panics (its requests then come back
//!    without an outcome, and their callers panic).
//!
//! The state word and the queue use `ordex_core::sync` types, so the loom
//! model (`tests/publish_model.rs`) explores every interleaving of the
//! handoff, the publication and the retirement of old versions.

use crate::edit::Tree;
use crate::shared::{BatchScope, Family, Retiring};
use crate::split::{self, Cut};
use crate::txn::WriteLog;
use crate::{lock, PersistentBTree, Version};
use ordex_core::sync::{Arc, AtomicU8, Ordering};
use ordex_core::Seqno;
use smallvec::SmallVec;
use std::cell::OnceCell;
use std::collections::BTreeMap;

/// How many times a leader takes the requests that queued while it
/// applied its batch, before it publishes.
const EXTEND_ROUNDS: usize = 3;

/// A leader takes no more requests once its batch holds this many writes.
const EXTEND_UP_TO: usize = 256;

/// A transaction's buffered writes: `None` removes the key.
pub(crate) type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The entries of an `insert_batch`, borrowed from the caller or owned by
/// a queued request.
#[derive(Clone, Copy)]
pub(crate) enum Batch<'a> {
    Borrowed(&'a [(&'a [u8], &'a [u8])]),
    Owned(&'a [(Vec<u8>, Vec<u8>)]),
}

impl<'a> Batch<'a> {
    fn len(&self) -> usize {
        match self {
            Batch::Borrowed(b) => b.len(),
            Batch::Owned(b) => b.len(),
        }
    }

    fn get(&self, i: usize) -> (&'a [u8], &'a [u8]) {
        match *self {
            Batch::Borrowed(b) => b[i],
            Batch::Owned(b) => (&b[i].0, &b[i].1),
        }
    }
}

/// One write, as the leader applies it.
#[derive(Clone, Copy)]
pub(crate) enum Op<'a> {
    Insert(&'a [u8], &'a [u8]),
    Remove(&'a [u8]),
    Batch(Batch<'a>),
    /// A transaction's writes, read at version `base`.
    Commit {
        base: Seqno,
        writes: &'a Writes,
    },
    /// Moves the entries at or above the key out (`split_off`).
    SplitOff(&'a [u8]),
    /// Adds every entry of a version (`append`).
    Append(&'a Arc<Version>),
}

impl Op<'_> {
    /// Logs the keys this write wrote, with its seqno `s`, for the
    /// conflict checks of open transactions: each key, or for a cut or
    /// an append the whole range it may have written (`O(1)` whatever
    /// the number of entries; a transaction writing a key of the range
    /// that the write left alone conflicts too, conservatively).
    fn log(&self, s: Seqno, log: &mut WriteLog) {
        match *self {
            Op::Insert(k, _) | Op::Remove(k) => log.record(s, k),
            Op::Batch(b) => (0..b.len()).for_each(|i| log.record(s, b.get(i).0)),
            Op::Commit { writes, .. } => writes.keys().for_each(|k| log.record(s, k)),
            Op::SplitOff(k) => log.record_range(s, k, None),
            Op::Append(v) => {
                if let Some(root) = v.tree.root.as_deref() {
                    log.record_range(s, root.first_key(), Some(root.last_key()));
                }
            }
        }
    }

    fn writes_key(&self, key: &[u8]) -> bool {
        match *self {
            Op::Insert(k, _) | Op::Remove(k) => k == key,
            Op::Batch(b) => (0..b.len()).any(|i| b.get(i).0 == key),
            Op::Commit { writes, .. } => writes.contains_key(key),
            Op::SplitOff(k) => key >= k,
            Op::Append(v) => v
                .tree
                .root
                .as_deref()
                .is_some_and(|r| r.first_key() <= key && key <= r.last_key()),
        }
    }

    fn to_owned(self) -> OwnedOp {
        match self {
            Op::Insert(k, v) => OwnedOp::Insert(k.to_vec(), v.to_vec()),
            Op::Remove(k) => OwnedOp::Remove(k.to_vec()),
            Op::Batch(b) => OwnedOp::Batch(
                (0..b.len())
                    .map(|i| {
                        let (k, v) = b.get(i);
                        (k.to_vec(), v.to_vec())
                    })
                    .collect(),
            ),
            Op::Commit { base, writes } => OwnedOp::Commit {
                base,
                writes: writes.clone(),
            },
            Op::SplitOff(k) => OwnedOp::SplitOff(k.to_vec()),
            Op::Append(v) => OwnedOp::Append(v.clone()),
        }
    }
}

/// A write owned by a queued request.
pub(crate) enum OwnedOp {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    Batch(Vec<(Vec<u8>, Vec<u8>)>),
    Commit { base: Seqno, writes: Writes },
    SplitOff(Vec<u8>),
    Append(Arc<Version>),
}

impl OwnedOp {
    fn as_op(&self) -> Op<'_> {
        match self {
            OwnedOp::Insert(k, v) => Op::Insert(k, v),
            OwnedOp::Remove(k) => Op::Remove(k),
            OwnedOp::Batch(b) => Op::Batch(Batch::Owned(b)),
            OwnedOp::Commit { base, writes } => Op::Commit {
                base: *base,
                writes,
            },
            OwnedOp::SplitOff(k) => Op::SplitOff(k),
            OwnedOp::Append(v) => Op::Append(v),
        }
    }
}

/// A write to submit: borrowed (copied only if it must queue) or owned
/// (moved into the queue).
pub(crate) enum Submit<'a> {
    Borrowed(Op<'a>),
    Owned(OwnedOp),
}

/// What became of a write.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Applied with this seqno (for an empty batch: the seqno it saw).
    Written(Seqno),
    /// A remove: the seqno it took, if it removed something.
    Removed(Option<Seqno>),
    /// A transaction that a commit after its snapshot conflicts with.
    Conflict,
    /// A `split_off`: the entries it moved out (it took a seqno if there
    /// were any). Nodes of this index's family: the caller makes them the
    /// new index's first version without dropping them.
    Split(Tree),
}

const WAITING: u8 = 0;
const LEAD: u8 = 1;
const DONE: u8 = 2;

/// Rounds of [`wait_for_leader`] spent spinning before it yields.
#[cfg(not(loom))]
const LEADER_SPINS: u32 = 512;

/// One round of a queued writer's wait for its request to be done or
/// handed the leadership. A leader's batch takes a few microseconds: a
/// waiter that yields its time slice after a few spins (as a restart's
/// backoff does) pays a system call per round, and notices its turn a
/// system call late. So it spins about as long as a batch takes first
/// ([`LEADER_SPINS`] pause hints, some 13 µs), and only then yields (a
/// leader that was preempted cannot finish while its waiters spin on
/// its core).
#[inline]
fn wait_for_leader(round: &mut u32) {
    #[cfg(not(loom))]
    {
        if *round == 0 {
            ordex_core::olc::count_wait();
        }
        *round += 1;
        if *round <= LEADER_SPINS {
            ordex_core::sync::spin_hint();
        } else {
            std::thread::yield_now();
        }
    }
    #[cfg(loom)]
    ordex_core::olc::wait(round);
}

/// A queued write.
pub(crate) struct Request {
    op: OwnedOp,
    state: AtomicU8,
    outcome: ordex_core::sync::Mutex<Option<Outcome>>,
}

/// The queue of waiting writes.
#[derive(Default)]
pub(crate) struct Queue {
    /// A leader is active (applying, or handing over).
    busy: bool,
    pending: Vec<Arc<Request>>,
}

impl PersistentBTree {
    /// Applies `write` through group commit; returns once it is visible.
    pub(crate) fn submit(&self, write: Submit<'_>) -> Outcome {
        let mut q = lock(&self.queue);
        if !q.busy {
            q.busy = true;
            let pending = core::mem::take(&mut q.pending);
            self.queued.store(false, Ordering::Relaxed);
            drop(q);
            let op = match &write {
                Submit::Borrowed(op) => *op,
                Submit::Owned(op) => op.as_op(),
            };
            return self.lead(Some(op), pending).expect("own outcome");
        }
        let request = Arc::new(Request {
            op: match write {
                Submit::Borrowed(op) => op.to_owned(),
                Submit::Owned(op) => op,
            },
            state: AtomicU8::new(WAITING),
            outcome: ordex_core::sync::Mutex::new(None),
        });
        q.pending.push(request.clone());
        self.queued.store(true, Ordering::Relaxed);
        drop(q);
        let mut round = 0;
        loop {
            match request.state.load(Ordering::Acquire) {
                DONE => break,
                LEAD => {
                    let pending = {
                        let mut q = lock(&self.queue);
                        self.queued.store(false, Ordering::Relaxed);
                        core::mem::take(&mut q.pending)
                    };
                    debug_assert!(pending.iter().any(|r| Arc::ptr_eq(r, &request)));
                    self.lead(None, pending);
                    debug_assert_eq!(request.state.load(Ordering::Relaxed), DONE);
                    break;
                }
                _ => wait_for_leader(&mut round),
            }
        }
        let outcome = lock(&request.outcome).take();
        match outcome {
            Some(outcome) => outcome,
            None => panic!(
                "the group commit leader panicked while applying this write; it was not written"
            ),
        }
    }

    /// Applies `own` (if any), then `pending`, then what queues while it
    /// applies them (step 3 of the [module docs](self)) as one batch,
    /// publishes it, completes the requests, and hands the leadership
    /// on. Returns the outcome of `own`.
    fn lead(&self, own: Option<Op<'_>>, pending: Vec<Arc<Request>>) -> Option<Outcome> {
        // The requests of each round: the batch's ops borrow from the
        // rounds taken so far while a later round is added.
        let rounds: [OnceCell<Vec<Arc<Request>>>; EXTEND_ROUNDS + 1] = Default::default();
        let _ = rounds[0].set(pending);
        let mut handoff = Handoff {
            index: self,
            rounds: &rounds,
            completed: false,
        };
        let mut writer = lock(&self.writer);
        // On the stack for the common small batches: a lone writer's
        // write allocates only the nodes it copies and the new version.
        let mut ops: SmallVec<[Op<'_>; 4]> = own
            .into_iter()
            .chain(requests(&rounds[0]).iter().map(|r| r.op.as_op()))
            .collect();
        for op in &ops {
            if let Op::Append(other) = op {
                // Another index's version: its nodes will be shared, so
                // their counts must change under one lock with ours.
                Family::join(&self.family, &other.family);
            }
        }
        // Every count change of the batch's path copies happens under the
        // family's lock (see the `shared` module), released before the
        // publication and the sweep (a version's drop takes it itself).
        let held = self.family.hold();
        // The batch's nodes take the memory of those the writer freed
        // (see the `pool` module).
        let using = crate::pool::Using::enter(writer.pool.take().unwrap_or_default());
        // Only this leader publishes, so the current version stays current
        // while the batch is built.
        let base = self.published.load().seqno;
        if writer.broken {
            // A batch was lost to a panic that its undoing did not get
            // past: make the index's tree again from the current version
            // (a clone copies the hollow nodes), leaking the old one.
            let current = self.published.load_full();
            core::mem::forget(core::mem::take(&mut writer.live));
            writer.live = Tree::clone(&current.tree);
            writer.broken = false;
        }
        // The batch takes over the index's tree: its path copies take
        // over the references of the nodes they copy, and what it gives up
        // is retired (see `shared::BatchScope`). Until the batch is done
        // (or undone), the index's tree is marked lost.
        writer.broken = true;
        let spare = core::mem::take(&mut writer.spare);
        let scope = BatchScope::begin_with(&held, self.id, base, spare);
        let mut tree = core::mem::ManuallyDrop::new(core::mem::take(&mut writer.live));
        let mut seqno = base;
        let mut outcomes: SmallVec<[Outcome; 4]> = SmallVec::with_capacity(ops.len());
        // The seqno each write took (none: it wrote nothing).
        let mut took: SmallVec<[Option<Seqno>; 4]> = SmallVec::with_capacity(ops.len());
        // A panic while the batch is applied (a bug) is caught to undo the
        // batch, then resumed.
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.apply(
                &mut tree,
                &mut ops,
                &rounds,
                &mut seqno,
                &mut outcomes,
                &mut took,
            )
        }));
        if let Err(panic) = applied {
            // The batch's own nodes go now, as if it had dropped them: the
            // references they took over from nodes of the current version
            // (which reads through those, hollow now) are retired with
            // what the batch retired. The index's tree is made again from
            // the current version (a clone copies its hollow nodes).
            drop(core::mem::ManuallyDrop::into_inner(tree));
            let retired = scope.finish();
            let current = self.published.load_full();
            writer.live = Tree::clone(&current.tree);
            writer.broken = false;
            writer.pool = Some(using.leave());
            drop(held);
            writer.sweep(base, &self.family, self.id, Some((base, retired)));
            drop(writer);
            std::panic::resume_unwind(panic);
        }
        let retired = scope.finish();
        writer.live = core::mem::ManuallyDrop::into_inner(tree);
        writer.broken = false;
        writer.pool = Some(using.leave());
        drop(held);
        // Nodes the batch retired are reached by versions up to `base`
        // only: they go once none of those that reach them is left.
        let retired = (base, retired);
        if seqno != base {
            let version = Arc::new(Version::new(
                &writer.live,
                seqno,
                self.family.clone(),
                self.keep.clone(),
            ));
            self.publish(&mut writer, version, &ops, &took, retired);
        } else {
            writer.sweep(base, &self.family, self.id, Some(retired));
        }
        drop(writer);
        let mut outcomes = outcomes.into_iter();
        let own_outcome = own.map(|_| outcomes.next().expect("an outcome per write"));
        for (request, outcome) in rounds.iter().flat_map(requests).zip(outcomes) {
            *lock(&request.outcome) = Some(outcome);
        }
        handoff.completed = true;
        drop(handoff);
        own_outcome
    }
}

impl PersistentBTree {
    /// Applies `ops` to `tree` (step 3 of the [module docs](self)),
    /// taking in what queues meanwhile into `rounds` and `ops`; each
    /// write's outcome and the seqno it took go to `outcomes` and
    /// `took`, and `seqno` ends at the batch's last.
    fn apply<'r>(
        &self,
        tree: &mut Tree,
        ops: &mut SmallVec<[Op<'r>; 4]>,
        rounds: &'r [OnceCell<Vec<Arc<Request>>>],
        seqno_out: &mut Seqno,
        outcomes: &mut SmallVec<[Outcome; 4]>,
        took: &mut SmallVec<[Option<Seqno>; 4]>,
    ) {
        let mut seqno = *seqno_out;
        let mut round = 0;
        let mut i = 0;
        loop {
            if i == ops.len() {
                round += 1;
                if round > EXTEND_ROUNDS || ops.len() >= EXTEND_UP_TO {
                    break;
                }
                let more = self.take_more();
                if more.is_empty() {
                    break;
                }
                let _ = rounds[round].set(more);
                ops.extend(requests(&rounds[round]).iter().map(|r| r.op.as_op()));
            }
            let op = &ops[i];
            let before = seqno;
            let outcome = match *op {
                Op::Insert(k, v) => {
                    tree.insert(k, v);
                    seqno += 1;
                    Outcome::Written(seqno)
                }
                Op::Remove(k) => {
                    if tree.remove(k) {
                        seqno += 1;
                        Outcome::Removed(Some(seqno))
                    } else {
                        Outcome::Removed(None)
                    }
                }
                Op::Batch(b) => {
                    if b.len() > 0 {
                        for j in 0..b.len() {
                            let (k, v) = b.get(j);
                            tree.insert(k, v);
                        }
                        seqno += 1;
                    }
                    Outcome::Written(seqno)
                }
                Op::SplitOff(key) => {
                    let (left, right) = split::split(tree, Cut::Before(key));
                    if right.len > 0 {
                        *tree = left;
                        seqno += 1;
                    }
                    Outcome::Split(right)
                }
                Op::Append(other) => {
                    // The families were joined above: the nodes are shared.
                    if split::append(tree, &other.tree) {
                        seqno += 1;
                    }
                    Outcome::Written(seqno)
                }
                Op::Commit { base, writes } => {
                    if self.conflicts(base, writes, &ops[..i], took) {
                        Outcome::Conflict
                    } else {
                        for (k, v) in writes {
                            match v {
                                Some(v) => {
                                    tree.insert(k, v);
                                }
                                None => {
                                    tree.remove(k);
                                }
                            }
                        }
                        seqno += 1;
                        Outcome::Written(seqno)
                    }
                }
            };
            outcomes.push(outcome);
            took.push((seqno != before).then_some(seqno));
            i += 1;
        }
        #[cfg(all(test, not(loom)))]
        if tests::PANIC_IN_BATCH.with(|p| p.replace(false)) {
            panic!("a batch that panics (injected by a test)");
        }
        *seqno_out = seqno;
    }
}

/// The end of a leader's turn, also when it unwinds: marks its requests
/// done (with their outcomes, or none if the batch was lost to a panic,
/// which their callers then report) and passes the leadership on, so
/// that a panic in one batch never leaves later writers waiting forever.
/// Nothing of a lost batch was published.
struct Handoff<'a> {
    index: &'a PersistentBTree,
    rounds: &'a [OnceCell<Vec<Arc<Request>>>],
    completed: bool,
}

/// The requests of a round (none if it was not taken).
fn requests(round: &OnceCell<Vec<Arc<Request>>>) -> &[Arc<Request>] {
    round.get().map_or(&[], |r| r.as_slice())
}

impl Drop for Handoff<'_> {
    fn drop(&mut self) {
        debug_assert!(self.completed || std::thread::panicking());
        for request in self.rounds.iter().flat_map(requests) {
            request.state.store(DONE, Ordering::Release);
        }
        let mut q = lock(&self.index.queue);
        match q.pending.first() {
            Some(next) => next.state.store(LEAD, Ordering::Release),
            None => q.busy = false,
        }
    }
}

impl PersistentBTree {
    /// The requests queued since the leader took the queue, up to the
    /// first `append` (which must join index families before a batch
    /// starts, so it waits for the next leader).
    fn take_more(&self) -> Vec<Arc<Request>> {
        if !self.queued.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let mut q = lock(&self.queue);
        let end = q
            .pending
            .iter()
            .position(|r| matches!(r.op.as_op(), Op::Append(_)))
            .unwrap_or(q.pending.len());
        if end == q.pending.len() {
            self.queued.store(false, Ordering::Relaxed);
            core::mem::take(&mut q.pending)
        } else {
            q.pending.drain(..end).collect()
        }
    }

    /// Whether the transaction read at `base` writing `writes` conflicts
    /// with a write committed after `base`: one logged since, or one
    /// applied earlier in this batch.
    fn conflicts(
        &self,
        base: Seqno,
        writes: &Writes,
        earlier: &[Op<'_>],
        took: &[Option<Seqno>],
    ) -> bool {
        let registry = lock(&self.registry);
        if writes.keys().any(|k| registry.log.written_after(k, base)) {
            return true;
        }
        drop(registry);
        earlier
            .iter()
            .zip(took)
            .any(|(op, took)| took.is_some() && writes.keys().any(|k| op.writes_key(k)))
    }

    /// Publishes `version`, logs the batch's keys for open transactions,
    /// keeps the previous version in the retention window, and frees the
    /// retired versions that nothing references any more.
    fn publish(
        &self,
        writer: &mut crate::WriterState,
        version: Arc<Version>,
        ops: &[Op<'_>],
        took: &[Option<Seqno>],
        retired: (Seqno, Vec<Retiring>),
    ) {
        let old = {
            let mut registry = lock(&self.registry);
            let old = self.published.swap(version);
            if let Some(oldest) = registry.pins.oldest() {
                // The keys each applied write wrote, with its seqno, for
                // the conflict checks of the transactions open now.
                for (op, took) in ops.iter().zip(took) {
                    if let Some(s) = *took {
                        op.log(s, &mut registry.log);
                    }
                }
                registry.log.trim(oldest);
            }
            if self.config.retain_versions > 0 {
                registry.window.push_back(old.clone());
                while registry.window.len() > self.config.retain_versions {
                    registry.window.pop_front();
                }
            }
            old
        };
        writer.retired.push(old);
        writer.batches += 1;
        let current = self.published.load().seqno;
        writer.sweep(current, &self.family, self.id, Some(retired));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use ordex_core::OrderedIndex;

    /// Waits until the queue of `index` is as `ready` says.
    fn wait_for(index: &PersistentBTree, ready: &dyn Fn(&Queue) -> bool) {
        while !ready(&lock(&index.queue)) {
            std::thread::yield_now();
        }
    }

    /// Writes that queue while a leader applies its batch join that
    /// batch: one publication, each write with its own seqno, in queue
    /// order.
    #[test]
    fn writes_queued_behind_a_leader_join_its_batch() {
        let index = PersistentBTree::new();
        let stall = lock(&index.writer);
        let (a, b, c) = std::thread::scope(|s| {
            let a = s.spawn(|| index.insert(b"a", b"1").unwrap());
            wait_for(&index, &|q| q.busy);
            let b = s.spawn(|| index.insert(b"b", b"2").unwrap());
            wait_for(&index, &|q| q.pending.len() == 1);
            let c = s.spawn(|| index.insert(b"c", b"3").unwrap());
            wait_for(&index, &|q| q.pending.len() == 2);
            drop(stall);
            (a.join().unwrap(), b.join().unwrap(), c.join().unwrap())
        });
        assert_eq!((a, b, c), (1, 2, 3));
        let stats = index.stats();
        assert_eq!((stats.batches, stats.seqno, stats.len), (1, 3, 3));
        assert!(!lock(&index.queue).busy, "the last leader left");
    }

    /// An `append` in the queue is not taken into a running batch (its
    /// families must be joined before a batch starts): the batch stops
    /// before it, and the next leader applies it and what queued behind
    /// it, as one batch.
    #[test]
    fn an_append_waits_for_the_next_leader_with_what_queued_behind_it() {
        let index = PersistentBTree::new();
        let other = PersistentBTree::new();
        other.insert(b"x", b"9").unwrap();
        let snapshot = other.snapshot_owned();
        let stall = lock(&index.writer);
        let (a, b, c, d) = std::thread::scope(|s| {
            let a = s.spawn(|| index.insert(b"a", b"1").unwrap());
            wait_for(&index, &|q| q.busy);
            let b = s.spawn(|| index.insert(b"b", b"2").unwrap());
            wait_for(&index, &|q| q.pending.len() == 1);
            let c = s.spawn(|| index.append(&snapshot).unwrap());
            wait_for(&index, &|q| q.pending.len() == 2);
            let d = s.spawn(|| index.insert(b"d", b"4").unwrap());
            wait_for(&index, &|q| q.pending.len() == 3);
            drop(stall);
            let joined = (a.join(), b.join(), c.join(), d.join());
            (
                joined.0.unwrap(),
                joined.1.unwrap(),
                joined.2.unwrap(),
                joined.3.unwrap(),
            )
        });
        assert_eq!((a, b, c, d), (1, 2, 3, 4));
        let stats = index.stats();
        assert_eq!((stats.batches, stats.seqno, stats.len), (2, 4, 4));
        assert_eq!(index.get_copied(b"x").as_deref(), Some(&b"9"[..]));
        assert!(!lock(&index.queue).busy, "the last leader left");
    }

    std::thread_local! {
        /// Makes the next batch this thread leads panic once it has
        /// applied its writes (before it publishes).
        pub(super) static PANIC_IN_BATCH: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// A batch that panics after its copies took over nodes of the
    /// current tree publishes nothing and is undone: its caller panics,
    /// its nodes are freed (the sanitizer run checks for leaks), and the
    /// index's tree is made again from the current version (whose nodes
    /// the lost batch left hollow). Every write before and after is
    /// there, nothing of the lost one, and a snapshot from before reads
    /// its version.
    #[test]
    fn a_batch_that_panics_leaves_the_index_whole() {
        use ordex_core::Snapshot;
        let key = |i: u32| i.to_be_bytes();
        let index =
            PersistentBTree::from_sorted((0..2000u32).map(|i| (key(i), *b"loaded"))).unwrap();
        let snapshot = index.snapshot_owned();
        let mut model: std::collections::BTreeMap<[u8; 4], Vec<u8>> =
            (0..2000u32).map(|i| (key(i), b"loaded".to_vec())).collect();
        for i in (0..2000).step_by(7) {
            index.insert(&key(i), b"before").unwrap();
            model.insert(key(i), b"before".to_vec());
        }
        PANIC_IN_BATCH.with(|p| p.set(true));
        let lost = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            index.insert(&key(5), b"lost").unwrap();
        }));
        assert!(lost.is_err(), "the injected panic reached the caller");
        assert_eq!(index.get_copied(&key(5)).as_deref(), Some(&b"loaded"[..]));
        for i in (0..2000).step_by(3) {
            index.insert(&key(i), b"after").unwrap();
            model.insert(key(i), b"after".to_vec());
        }
        index.remove(&key(1)).unwrap();
        model.remove(&key(1));
        index.check_structure().unwrap();
        let mut got = Vec::new();
        index.scan(
            core::ops::Bound::Unbounded,
            core::ops::Bound::Unbounded,
            &mut |k, v| {
                got.push((k.to_vec(), v.to_vec()));
                true
            },
        );
        let want: Vec<(Vec<u8>, Vec<u8>)> =
            model.iter().map(|(k, v)| (k.to_vec(), v.clone())).collect();
        assert_eq!(got, want);
        snapshot.check_structure().unwrap();
        assert_eq!(
            snapshot.get_copied(&key(7)).as_deref(),
            Some(&b"loaded"[..])
        );
        assert_eq!(snapshot.len(), 2000);
    }

    /// One batch that writes a path (copies that take over nodes a
    /// snapshot reads through) and then cuts the tree: the cut-off index
    /// gets nodes the batch made, and its own writes must not free what
    /// the snapshot reads.
    #[test]
    fn a_write_and_a_cut_in_one_batch_keep_a_snapshot_whole() {
        use ordex_core::Snapshot;
        let key = |i: u32| (i * 2).to_be_bytes();
        let index =
            PersistentBTree::from_sorted((0..3000u32).map(|i| (key(i), [1u8; 20]))).unwrap();
        let snapshot = index.snapshot_owned();
        let stall = lock(&index.writer);
        let high = std::thread::scope(|s| {
            let a = s.spawn(|| index.insert(&key(2900), b"new").unwrap());
            wait_for(&index, &|q| q.busy);
            let b = s.spawn(|| index.insert(&key(2990), b"new").unwrap());
            wait_for(&index, &|q| q.pending.len() == 1);
            let c = s.spawn(|| index.split_off(&key(10)).unwrap());
            wait_for(&index, &|q| q.pending.len() == 2);
            drop(stall);
            a.join().unwrap();
            b.join().unwrap();
            c.join().unwrap()
        });
        assert_eq!(index.stats().batches, 1, "one batch");
        for i in (0..3000).step_by(7) {
            high.insert(&key(i), b"high").unwrap();
            high.remove(&key(i + 1)).unwrap();
        }
        drop(index);
        for i in 0..3000u32 {
            assert_eq!(
                snapshot.get_copied(&key(i)).as_deref(),
                Some(&[1u8; 20][..])
            );
        }
        snapshot.check_structure().unwrap();
        drop(high);
        snapshot.check_structure().unwrap();
    }
}
