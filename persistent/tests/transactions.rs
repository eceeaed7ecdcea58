//! Snapshot-isolated transactions: random interleavings of transactions
//! and plain writes against a sequential snapshot-isolation oracle (what
//! each transaction reads, which commits must conflict, what the index
//! holds after), and a threaded stress test of transfers that must keep
//! a sum.

use ordex_core::{Error, OrderedIndex, OrderedIndexExt, Snapshot};
use ordex_persistent::{PersistentBTree, Transaction};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Clone)]
enum Step {
    Begin,
    Read(usize, u8),
    Scan(usize, u8),
    Write(usize, u8, u8),
    Delete(usize, u8),
    Commit(usize),
    Abort(usize),
    Put(u8, u8),
    Remove(u8),
}

fn step() -> impl Strategy<Value = Step> {
    let t = 0usize..4;
    let k = 0u8..12;
    prop_oneof![
        2 => Just(Step::Begin),
        3 => (t.clone(), k.clone()).prop_map(|(t, k)| Step::Read(t, k)),
        1 => (t.clone(), k.clone()).prop_map(|(t, k)| Step::Scan(t, k)),
        4 => (t.clone(), k.clone(), any::<u8>()).prop_map(|(t, k, v)| Step::Write(t, k, v)),
        1 => (t.clone(), k.clone()).prop_map(|(t, k)| Step::Delete(t, k)),
        3 => t.clone().prop_map(Step::Commit),
        1 => t.prop_map(Step::Abort),
        2 => (k.clone(), any::<u8>()).prop_map(|(k, v)| Step::Put(k, v)),
        1 => k.prop_map(Step::Remove),
    ]
}

/// The oracle's view of one open transaction.
struct OracleTxn {
    /// The committed state it reads.
    base: Model,
    /// How many commits there were when it began.
    base_commits: usize,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl OracleTxn {
    fn read(&self, k: &[u8]) -> Option<Vec<u8>> {
        match self.writes.get(k) {
            Some(w) => w.clone(),
            None => self.base.get(k).cloned(),
        }
    }

    fn view(&self) -> Model {
        let mut m = self.base.clone();
        for (k, w) in &self.writes {
            match w {
                Some(v) => m.insert(k.clone(), v.clone()),
                None => m.remove(k),
            };
        }
        m
    }
}

fn key(k: u8) -> Vec<u8> {
    vec![b'k', k]
}

fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let index = PersistentBTree::new();
    let mut db = Model::new();
    // The keys each commit wrote, in commit order.
    let mut commits: Vec<BTreeSet<Vec<u8>>> = Vec::new();
    let mut open: Vec<(Transaction<'_>, OracleTxn)> = Vec::new();
    let mut last_seqno = 0;
    for (at, s) in steps.iter().enumerate() {
        match *s {
            Step::Begin if open.len() < 4 => {
                let t = index.begin();
                prop_assert_eq!(t.base_seqno(), last_seqno);
                open.push((
                    t,
                    OracleTxn {
                        base: db.clone(),
                        base_commits: commits.len(),
                        writes: BTreeMap::new(),
                    },
                ));
            }
            Step::Read(t, k) if t < open.len() => {
                let (tx, o) = &open[t];
                prop_assert_eq!(tx.get_copied(&key(k)), o.read(&key(k)), "step {}", at);
            }
            Step::Scan(t, k) if t < open.len() => {
                let (tx, o) = &open[t];
                let mut got = Vec::new();
                let from = key(k);
                tx.scan(Bound::Included(&from), Bound::Unbounded, &mut |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    got.len() < 5
                });
                let want: Vec<_> = o
                    .view()
                    .range(from..)
                    .take(5)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(got, want, "step {}", at);
            }
            Step::Write(t, k, v) if t < open.len() => {
                let (tx, o) = &mut open[t];
                tx.insert(&key(k), &[v]).unwrap();
                o.writes.insert(key(k), Some(vec![v]));
            }
            Step::Delete(t, k) if t < open.len() => {
                let (tx, o) = &mut open[t];
                tx.remove(&key(k)).unwrap();
                o.writes.insert(key(k), None);
            }
            Step::Commit(t) if t < open.len() => {
                let (tx, o) = open.remove(t);
                let written: BTreeSet<Vec<u8>> = o.writes.keys().cloned().collect();
                let conflict = commits[o.base_commits..]
                    .iter()
                    .any(|c| !c.is_disjoint(&written));
                let got = tx.commit();
                if written.is_empty() {
                    prop_assert!(got.is_ok());
                } else if conflict {
                    prop_assert_eq!(got, Err(Error::Conflict), "step {}: must conflict", at);
                } else {
                    let s = got.map_err(|e| TestCaseError::fail(format!("step {at}: {e}")))?;
                    prop_assert_eq!(s, last_seqno + 1);
                    last_seqno = s;
                    for (k, w) in o.writes {
                        match w {
                            Some(v) => db.insert(k, v),
                            None => db.remove(&k),
                        };
                    }
                    commits.push(written);
                }
            }
            Step::Abort(t) if t < open.len() => {
                let (tx, _) = open.remove(t);
                if t.is_multiple_of(2) {
                    tx.rollback();
                } else {
                    drop(tx);
                }
            }
            Step::Put(k, v) => {
                let s = index.insert(&key(k), &[v]).unwrap();
                prop_assert_eq!(s, last_seqno + 1);
                last_seqno = s;
                db.insert(key(k), vec![v]);
                commits.push([key(k)].into());
            }
            Step::Remove(k) => {
                let removed = index.remove(&key(k)).unwrap();
                prop_assert_eq!(removed, db.remove(&key(k)).is_some());
                if removed {
                    last_seqno += 1;
                    commits.push([key(k)].into());
                }
            }
            _ => {}
        }
        let all: Model = index.collect_range::<[u8], _>(..).into_iter().collect();
        prop_assert_eq!(&all, &db, "step {}: the index after", at);
        prop_assert_eq!(index.snapshot().seqno(), last_seqno);
    }
    drop(open);
    prop_assert_eq!(index.stats().open_transactions, 0);
    prop_assert_eq!(index.stats().write_log, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn interleaved_transactions_agree_with_a_snapshot_isolation_oracle(
        steps in prop::collection::vec(step(), 1..80)
    ) {
        run(&steps)?;
    }
}

#[test]
fn a_transaction_that_lost_writes_nothing_and_refused_writes_are_refused() {
    let index = PersistentBTree::new();
    index.insert(b"a", b"0").unwrap();
    let mut t1 = index.begin();
    let mut t2 = index.begin();
    t1.insert(b"a", b"1").unwrap();
    t1.insert(b"b", b"1").unwrap();
    t2.insert(b"c", b"2").unwrap();
    t2.remove(b"a").unwrap();
    let big = vec![0; ordex_persistent::node::MAX_KEY_LEN + 1];
    assert!(matches!(
        t2.insert(&big, b""),
        Err(Error::KeyTooLarge { .. })
    ));
    assert_eq!(t2.pending_writes(), 2);
    let s = t2.commit().unwrap();
    assert_eq!(t1.commit(), Err(Error::Conflict));
    assert_eq!(index.snapshot().seqno(), s);
    assert_eq!(
        index.collect_range::<[u8], _>(..),
        vec![(b"c".to_vec(), b"2".to_vec())]
    );
    // Disjoint writers both commit.
    let mut t3 = index.begin();
    let mut t4 = index.begin();
    t3.insert(b"x", b"3").unwrap();
    t4.insert(b"y", b"4").unwrap();
    assert!(t3.commit().is_ok() && t4.commit().is_ok());
    assert_eq!(index.len(), 3);
}

/// Threads move amounts between accounts in transactions (read both, write
/// both, retry on conflict) while others read snapshots: every snapshot
/// and the final state keep the total, and every committed transfer is
/// counted once.
#[test]
fn concurrent_transfers_keep_the_total() {
    const ACCOUNTS: u32 = 6;
    const THREADS: u64 = 6;
    let index = PersistentBTree::new();
    for a in 0..ACCOUNTS {
        index
            .insert(&a.to_be_bytes(), &1000u64.to_be_bytes())
            .unwrap();
    }
    let total = u64::from(ACCOUNTS) * 1000;
    let read = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap());
    let committed: Vec<(u64, u64)> = std::thread::scope(|s| {
        let index = &index;
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(move || {
                    for _ in 0..300 {
                        let snap = index.snapshot();
                        let mut sum = 0;
                        snap.scan(Bound::Unbounded, Bound::Unbounded, &mut |_, v| {
                            sum += read(v);
                            true
                        });
                        assert_eq!(sum, total, "a snapshot at {} lost the total", snap.seqno());
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let mut x = t + 1;
                    let (mut done, mut conflicts) = (0, 0);
                    let mut tries = 0;
                    while done < 200 {
                        tries += 1;
                        assert!(tries < 1_000_000, "no progress");
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let from = ((x >> 33) % u64::from(ACCOUNTS)) as u32;
                        let to = ((x >> 45) % u64::from(ACCOUNTS)) as u32;
                        if from == to {
                            continue;
                        }
                        let mut tx = index.begin();
                        let a = read(&tx.get_copied(&from.to_be_bytes()).unwrap());
                        let b = read(&tx.get_copied(&to.to_be_bytes()).unwrap());
                        let amount = (x >> 20) % 10;
                        // Stay open a moment, so that transactions overlap.
                        std::thread::yield_now();
                        if a < amount {
                            continue;
                        }
                        tx.insert(&from.to_be_bytes(), &(a - amount).to_be_bytes())
                            .unwrap();
                        tx.insert(&to.to_be_bytes(), &(b + amount).to_be_bytes())
                            .unwrap();
                        match tx.commit() {
                            Ok(_) => done += 1,
                            Err(Error::Conflict) => conflicts += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    (done, conflicts)
                })
            })
            .collect();
        for r in readers {
            r.join().unwrap();
        }
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut sum = 0;
    index.scan(Bound::Unbounded, Bound::Unbounded, &mut |_, v| {
        sum += read(v);
        true
    });
    assert_eq!(sum, total);
    let done: u64 = committed.iter().map(|c| c.0).sum();
    // Each committed transfer took one seqno after the initial inserts.
    assert_eq!(index.snapshot().seqno(), u64::from(ACCOUNTS) + done);
    assert_eq!(index.stats().write_log, 0);
}
