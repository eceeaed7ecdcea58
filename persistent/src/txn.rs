//! Snapshot-isolated transactions.
//!
//! A [`Transaction`] reads the version current when it began, plus its
//! own writes, which it buffers in a private ordered map. `commit` sends
//! the writes through group commit as one write (one seqno); the leader
//! refuses it with [`Error::Conflict`] if a write committed after the
//! transaction's version wrote one of its keys (first committer wins).
//!
//! How conflicts are found: while any transaction is open, the leader
//! logs the keys of every write it publishes, with their seqnos (the
//! index's write log: the last seqno per key, and the keys in seqno order
//! to forget them). A transaction that began at version `b` registers `b`
//! (under the registry lock, against which the leader publishes and logs,
//! so a write is either in the transaction's version or in the log); its
//! commit conflicts if the log holds one of its keys at a seqno above `b`,
//! or if a write applied earlier in the same batch wrote one. Log entries
//! at or below the oldest open transaction's version are dropped at each
//! publication, and the whole log once no transaction is open. The write
//! set of a transaction is every key it wrote or removed (whether or not a
//! removed key was present). A `split_off` or an `append` logs the range
//! of keys it may have written instead of each key (`lo..` for a cut at
//! `lo`, `first..=last` of the appended version), in O(1) whatever it
//! moved: a transaction writing a key of that range conflicts with it,
//! even a key it left alone (conservative; ranges are rare and searched
//! one by one).

use crate::commit::{Outcome, OwnedOp, Submit, Writes};
use crate::walk::scan_tree;
use crate::{lock, PersistentBTree, Version};
use core::ops::Bound;
use ordex_core::sync::Arc;
use ordex_core::{below_start, deliver, is_empty_range, past_end, Error, Seqno};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// A range of keys a write may have written: `lo..=hi`, or `lo..` when
/// `hi` is `None`.
struct Range {
    seqno: Seqno,
    lo: Vec<u8>,
    hi: Option<Vec<u8>>,
}

/// The keys written by recent commits (see the [module docs](self)).
#[derive(Default)]
pub(crate) struct WriteLog {
    last: HashMap<Vec<u8>, Seqno>,
    order: VecDeque<(Seqno, Vec<u8>)>,
    /// Ranges written by cuts and appends (`split_off`, `append`), in
    /// seqno order: one record each however many keys they moved, and
    /// searched one by one (they are rare).
    ranges: VecDeque<Range>,
}

impl WriteLog {
    pub(crate) fn record(&mut self, seqno: Seqno, key: &[u8]) {
        self.last.insert(key.to_vec(), seqno);
        self.order.push_back((seqno, key.to_vec()));
    }

    /// Records that the write of `seqno` may have written any key of
    /// `lo..=hi` (`lo..` if `hi` is `None`).
    pub(crate) fn record_range(&mut self, seqno: Seqno, lo: &[u8], hi: Option<&[u8]>) {
        self.ranges.push_back(Range {
            seqno,
            lo: lo.to_vec(),
            hi: hi.map(<[u8]>::to_vec),
        });
    }

    pub(crate) fn written_after(&self, key: &[u8], base: Seqno) -> bool {
        self.last.get(key).is_some_and(|&s| s > base)
            || self.ranges.iter().any(|r| {
                r.seqno > base
                    && r.lo.as_slice() <= key
                    && r.hi.as_deref().is_none_or(|hi| key <= hi)
            })
    }

    /// Forgets the writes at or below `oldest` (no open transaction can
    /// conflict with them).
    pub(crate) fn trim(&mut self, oldest: Seqno) {
        while let Some((s, _)) = self.order.front() {
            if *s > oldest {
                break;
            }
            let (s, key) = self.order.pop_front().expect("front");
            if self.last.get(&key) == Some(&s) {
                self.last.remove(&key);
            }
        }
        while self.ranges.front().is_some_and(|r| r.seqno <= oldest) {
            self.ranges.pop_front();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.last = HashMap::new();
        self.order = VecDeque::new();
        self.ranges = VecDeque::new();
    }

    /// Keys and ranges logged.
    pub(crate) fn len(&self) -> usize {
        self.order.len() + self.ranges.len()
    }
}

/// A snapshot-isolated transaction: reads see the version current at
/// [`begin`](PersistentBTree::begin) and the transaction's own writes;
/// [`commit`](Self::commit) publishes every write at once with one seqno,
/// or fails with [`Error::Conflict`] and publishes nothing. Dropping it
/// without committing aborts it.
///
/// Conflicts are found against a log of the keys that writes published
/// while transactions are open (the last seqno per key): a commit
/// conflicts if one of its keys was written after its version, by an
/// earlier batch or earlier in its own batch. The write set is every key
/// the transaction wrote or removed (present or not). The log keeps every
/// key written since the oldest open transaction began, so a transaction
/// left open for long holds memory for every write meanwhile; it is freed
/// once no transaction is open.
///
/// ```
/// use ordex_core::{Error, OrderedIndex};
/// use ordex_persistent::PersistentBTree;
///
/// let index = PersistentBTree::new();
/// index.insert(b"balance", b"10").unwrap();
/// let mut a = index.begin();
/// let mut b = index.begin();
/// a.insert(b"balance", b"5").unwrap();
/// b.insert(b"balance", b"7").unwrap();
/// assert_eq!(a.get_copied(b"balance").as_deref(), Some(&b"5"[..]));
/// assert!(a.commit().is_ok());
/// assert_eq!(b.commit(), Err(Error::Conflict)); // first committer wins
/// assert_eq!(index.get_copied(b"balance").as_deref(), Some(&b"5"[..]));
/// ```
pub struct Transaction<'a> {
    index: &'a PersistentBTree,
    base: Arc<Version>,
    writes: Writes,
}

impl<'a> Transaction<'a> {
    pub(crate) fn begin(index: &'a PersistentBTree) -> Self {
        let base = {
            let mut registry = lock(&index.registry);
            let base = index.published.load_full();
            registry.pins.pin(base.seqno);
            base
        };
        Transaction {
            index,
            base,
            writes: BTreeMap::new(),
        }
    }

    /// The seqno of the version this transaction reads.
    pub fn base_seqno(&self) -> Seqno {
        self.base.seqno
    }

    /// Buffers an insert (or replacement) of `key`.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.index.limits.check(key, value)?;
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    /// Buffers a removal of `key`.
    pub fn remove(&mut self, key: &[u8]) -> Result<(), Error> {
        self.index.limits.check_key(key)?;
        self.writes.insert(key.to_vec(), None);
        Ok(())
    }

    /// The value of `key` as this transaction sees it: its own write, or
    /// the value in its version.
    pub fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        match self.writes.get(key) {
            Some(w) => deliver(w.as_deref(), f),
            None => deliver(self.base.get(key), f),
        }
    }

    /// The value of `key` as this transaction sees it, copied out.
    pub fn get_copied(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut out = None;
        self.get(key, &mut |v| out = Some(v.to_vec()));
        out
    }

    /// Calls `f` for the entries within the bounds as this transaction
    /// sees them (its version merged with its own writes), ascending,
    /// until `f` returns `false`; returns how many `f` was called for.
    pub fn scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> usize {
        if is_empty_range(from, to) {
            return 0;
        }
        let mut own = self
            .writes
            .range::<[u8], _>((from, to))
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .peekable();
        let mut n = 0;
        let mut stopped = false;
        scan_tree(
            self.base.tree.root.as_ref(),
            self.base.tree.height,
            from,
            to,
            &mut |k, v| {
                // Own writes below `k` first.
                while let Some(&(ok, ov)) = own.peek() {
                    if ok >= k {
                        break;
                    }
                    own.next();
                    if let Some(ov) = ov {
                        n += 1;
                        if !f(ok, ov) {
                            stopped = true;
                            return false;
                        }
                    }
                }
                let shown = match own.peek() {
                    Some(&(ok, ov)) if ok == k => {
                        own.next();
                        ov
                    }
                    _ => Some(v),
                };
                if let Some(v) = shown {
                    n += 1;
                    if !f(k, v) {
                        stopped = true;
                        return false;
                    }
                }
                true
            },
        );
        if !stopped {
            for (k, v) in own {
                debug_assert!(!below_start(k, from) && !past_end(k, to));
                if let Some(v) = v {
                    n += 1;
                    if !f(k, v) {
                        break;
                    }
                }
            }
        }
        n
    }

    /// How many writes are buffered.
    pub fn pending_writes(&self) -> usize {
        self.writes.len()
    }

    /// Publishes the buffered writes atomically with one seqno and returns
    /// it, or returns [`Error::Conflict`] (publishing nothing) if a write
    /// committed after this transaction's version wrote one of its keys.
    /// A transaction that wrote nothing commits at its version's seqno.
    pub fn commit(mut self) -> Result<Seqno, Error> {
        if self.writes.is_empty() {
            return Ok(self.base.seqno);
        }
        let writes = core::mem::take(&mut self.writes);
        let op = OwnedOp::Commit {
            base: self.base.seqno,
            writes,
        };
        match self.index.submit(Submit::Owned(op)) {
            Outcome::Written(s) => Ok(s),
            Outcome::Conflict => Err(Error::Conflict),
            other => unreachable!("a commit: {other:?}"),
        }
    }

    /// Drops the buffered writes (as dropping the transaction does).
    pub fn rollback(self) {}
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        let mut registry = lock(&self.index.registry);
        registry.pins.unpin(self.base.seqno);
        if registry.pins.is_empty() {
            registry.log.clear();
        }
    }
}

impl core::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Transaction")
            .field("base_seqno", &self.base.seqno)
            .field("pending_writes", &self.writes.len())
            .finish()
    }
}
