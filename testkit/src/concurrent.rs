//! Check 2: many threads, mixed operations, owned and shared keys.

use crate::model::{model_range, scan_collect};
use crate::rng::{seed, Rng};
use crate::values::{decode, encode, show};
use crate::{CheckResult, Failure, Suite};
use ordex_core::{OrderedIndex, Snapshot};
use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::sync::Barrier;

pub(crate) const THREADS: usize = 6;
const OWNED_KEYS: u64 = 96;
const SHARED_KEYS: u64 = 24;

/// Keys owned by thread `t`: `o`, t, then a variable-length suffix so that
/// some owned keys are prefixes of others.
fn owned_key(t: usize, i: u64) -> Vec<u8> {
    let mut k = vec![b'o', t as u8];
    k.extend_from_slice(&i.to_be_bytes()[5..]);
    if i.is_multiple_of(3) {
        k.truncate(k.len() - 1); // a prefix of its neighbours
    }
    if i.is_multiple_of(17) {
        k.extend(std::iter::repeat_n(b'x', 300)); // a long one
    }
    k
}

fn shared_key(i: u64) -> Vec<u8> {
    let mut k = vec![b's'];
    k.extend_from_slice(&(i * 7919 % 1000).to_be_bytes()[6..]);
    k
}

fn owned_range(t: usize) -> (Vec<u8>, Vec<u8>) {
    (vec![b'o', t as u8], vec![b'o', t as u8 + 1])
}

/// What one thread did: its owned model and, per shared key, its last write.
struct Outcome {
    model: BTreeMap<Vec<u8>, Vec<u8>>,
    last_shared: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

fn thread_body<I: OrderedIndex>(
    index: &I,
    t: usize,
    ops: usize,
    seed: u64,
) -> Result<Outcome, String> {
    let mut rng = Rng::new(seed.wrapping_add(t as u64 * 0x1_0000_0001));
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut last_shared = BTreeMap::new();
    let (lo, hi) = owned_range(t);
    let mut next_id = (t as u64) << 40;
    let mut fresh_id = || {
        next_id += 1;
        next_id
    };
    for step in 0..ops {
        let err = |m: String| format!("thread {t} step {step}: {m}");
        let roll = rng.below(100);
        if roll < 30 {
            let k = owned_key(t, rng.below(OWNED_KEYS));
            let id = fresh_id();
            let v = encode(&k, id, (id % 40) as usize);
            index
                .insert(&k, &v)
                .map_err(|e| err(format!("insert failed: {e}")))?;
            model.insert(k, v);
        } else if roll < 40 {
            let k = owned_key(t, rng.below(OWNED_KEYS));
            let got = index
                .remove(&k)
                .map_err(|e| err(format!("remove failed: {e}")))?;
            let want = model.remove(&k).is_some();
            if got != want {
                return Err(err(format!(
                    "remove({}) returned {got}, model says {want}",
                    show(&k)
                )));
            }
        } else if roll < 58 {
            let k = owned_key(t, rng.below(OWNED_KEYS));
            let got = index.get_copied(&k);
            if got.as_ref() != model.get(&k) {
                return Err(err(format!(
                    "get({}) of an owned key: got {:?}, model has {:?}",
                    show(&k),
                    got.as_deref().map(|v| decode(&k, v)),
                    model.get(&k).map(|v| decode(&k, v))
                )));
            }
        } else if roll < 68 {
            let k = shared_key(rng.below(SHARED_KEYS));
            if rng.percent(70) {
                let id = fresh_id();
                let v = encode(&k, id, (id % 24) as usize);
                index
                    .insert(&k, &v)
                    .map_err(|e| err(format!("insert failed: {e}")))?;
                last_shared.insert(k, Some(v));
            } else {
                index
                    .remove(&k)
                    .map_err(|e| err(format!("remove failed: {e}")))?;
                last_shared.insert(k, None);
            }
        } else if roll < 78 {
            let k = shared_key(rng.below(SHARED_KEYS));
            if let Some(v) = index.get_copied(&k) {
                decode(&k, &v)
                    .map_err(|e| err(format!("get({}) of a shared key: {e}", show(&k))))?;
            }
        } else if roll < 86 {
            // Scan of the owned range: exact.
            let limit = if rng.percent(50) {
                Some(1 + rng.index(20))
            } else {
                None
            };
            let got = scan_collect(
                |f| index.scan(Bound::Included(&lo), Bound::Excluded(&hi), f),
                limit,
            )
            .map_err(&err)?;
            let mut want = model_range(&model, Bound::Included(&lo), Bound::Excluded(&hi));
            if let Some(l) = limit {
                want.truncate(l);
            }
            if got != want {
                return Err(err(format!(
                    "scan of the owned range saw {} entries, model has {}",
                    got.len(),
                    want.len()
                )));
            }
        } else if roll < 94 {
            // Scan across everybody's keys: ordered, in bounds, valid values,
            // and every owned live key in the covered interval is seen.
            let start = if rng.percent(50) {
                owned_key(rng.index(THREADS), 0)
            } else {
                vec![b'o']
            };
            let limit = 1 + rng.index(60);
            let got = scan_collect(
                |f| index.scan(Bound::Included(&start), Bound::Unbounded, f),
                Some(limit),
            )
            .map_err(&err)?;
            for w in got.windows(2) {
                if w[0].0 >= w[1].0 {
                    return Err(err(format!(
                        "scan out of order: {} then {}",
                        show(&w[0].0),
                        show(&w[1].0)
                    )));
                }
            }
            for (k, v) in &got {
                if k < &start {
                    return Err(err(format!(
                        "scan from {} returned {}",
                        show(&start),
                        show(k)
                    )));
                }
                decode(k, v).map_err(|e| err(format!("scan entry {}: {e}", show(k))))?;
                if k >= &lo && k < &hi && model.get(k) != Some(v) {
                    return Err(err(format!(
                        "scan saw owned key {} with a wrong value",
                        show(k)
                    )));
                }
            }
            let end = if got.len() == limit {
                got.last().map(|(k, _)| k.clone())
            } else {
                None
            };
            let seen: HashSet<&[u8]> = got.iter().map(|(k, _)| &k[..]).collect();
            let upper = end
                .as_ref()
                .map_or(Bound::Unbounded, |e| Bound::Included(&e[..]));
            for (k, _) in model_range(&model, Bound::Included(&start), upper) {
                if !seen.contains(&k[..]) {
                    return Err(err(format!(
                        "scan missed owned key {} that was present throughout",
                        show(&k)
                    )));
                }
            }
        } else if roll < 97 {
            // A small batch of owned keys.
            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..1 + rng.below(4))
                .map(|_| {
                    let k = owned_key(t, rng.below(OWNED_KEYS));
                    let id = fresh_id();
                    let v = encode(&k, id, (id % 8) as usize);
                    (k, v)
                })
                .collect();
            let refs: Vec<(&[u8], &[u8])> = entries.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            index
                .insert_batch(&refs)
                .map_err(|e| err(format!("insert_batch failed: {e}")))?;
            model.extend(entries);
        } else {
            // A snapshot of the owned range equals the model now, and still
            // after more writes.
            let snap = index.snapshot();
            let frozen = model.clone();
            let check = |snap: &dyn Snapshot, when: &str| -> Result<(), String> {
                let got = scan_collect(
                    |f| snap.scan(Bound::Included(&lo), Bound::Excluded(&hi), f),
                    None,
                )
                .map_err(&err)?;
                let want = model_range(&frozen, Bound::Included(&lo), Bound::Excluded(&hi));
                if got != want {
                    return Err(err(format!(
                        "snapshot (seqno {}) of the owned range {when}: {} entries, model has {}",
                        snap.seqno(),
                        got.len(),
                        want.len()
                    )));
                }
                Ok(())
            };
            check(&*snap, "when taken")?;
            for _ in 0..8 {
                let k = owned_key(t, rng.below(OWNED_KEYS));
                let id = fresh_id();
                let v = encode(&k, id, 3);
                index
                    .insert(&k, &v)
                    .map_err(|e| err(format!("insert failed: {e}")))?;
                model.insert(k, v);
            }
            check(&*snap, "after 8 more writes")?;
        }
    }
    Ok(Outcome { model, last_shared })
}

impl<I: OrderedIndex> Suite<I> {
    /// Check 2: six threads (more than this machine's cores) run mixed
    /// operations on keys they own and keys they share. Every read, scan,
    /// snapshot of an owned range matches that thread's model; shared keys
    /// never yield a torn or invented value; a scan sees every owned key
    /// present throughout it; and the final state is the union of the
    /// owned models, with each shared key holding one thread's last write.
    pub fn concurrent_model(&self) -> CheckResult {
        let seed = seed();
        let ops = self.n(3000);
        let index = self.index();
        let barrier = Barrier::new(THREADS);
        let outcomes: Vec<Result<Outcome, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (index, barrier) = (&index, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        thread_body(index, t, ops, seed)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
                .collect()
        });
        let fail = |m: String| {
            Failure::new(
                "concurrent_model",
                format!("{m}\nseed: ORDEX_TEST_SEED={seed}"),
            )
        };
        let mut outcomes_ok = Vec::new();
        for o in outcomes {
            outcomes_ok.push(o.map_err(fail)?);
        }
        // Final state.
        let mut want: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for o in &outcomes_ok {
            want.extend(o.model.clone());
        }
        let all = scan_collect(|f| index.scan(Bound::Unbounded, Bound::Unbounded, f), None)
            .map_err(fail)?;
        let mut shared_live = 0;
        for (k, v) in &all {
            if k.first() == Some(&b's') {
                shared_live += 1;
            }
            decode(k, v).map_err(|e| fail(format!("final entry {}: {e}", show(k))))?;
        }
        let owned: Vec<_> = all
            .iter()
            .filter(|(k, _)| k.first() == Some(&b'o'))
            .cloned()
            .collect();
        let want_owned: Vec<_> = want.into_iter().collect();
        if owned != want_owned {
            return Err(fail(format!(
                "final owned state has {} entries, models have {}",
                owned.len(),
                want_owned.len()
            )));
        }
        for i in 0..SHARED_KEYS {
            let k = shared_key(i);
            let got = index.get_copied(&k);
            let candidates: Vec<&Option<Vec<u8>>> = outcomes_ok
                .iter()
                .filter_map(|o| o.last_shared.get(&k))
                .collect();
            let ok = if candidates.is_empty() {
                got.is_none()
            } else {
                candidates.iter().any(|c| **c == got)
            };
            if !ok {
                return Err(fail(format!(
                    "shared key {} ends as {:?}, which is no thread's last write",
                    show(&k),
                    got.as_deref().map(|v| decode(&k, v))
                )));
            }
        }
        if index.len() != all.len() {
            return Err(fail(format!(
                "len() is {} after the run, a full scan sees {} ({} shared)",
                index.len(),
                all.len(),
                shared_live
            )));
        }
        Ok(())
    }
}
