//! Check 4: snapshots taken while writers write are exact, every time.

use crate::model::scan_collect;
use crate::rng::{seed, Rng};
use crate::values::show;
use crate::{CheckResult, Failure, Suite};
use ordex_core::{OrderedIndex, Seqno};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Barrier;

const WRITERS: usize = 2;
const READERS: usize = 3;
const KEYS_PER_WRITER: u64 = 150;

fn key(w: usize, i: u64) -> Vec<u8> {
    let mut k = vec![b'w', w as u8];
    k.extend_from_slice(&(i * 37 % 1000).to_be_bytes()[6..]);
    k
}

/// One write of a writer's log. Its seqno lies in `lo..=hi`: exact for an
/// insert; for a remove, after the writer's previous write and at most the
/// seqno of a snapshot taken right after it.
#[derive(Debug, Clone)]
struct Write {
    lo: Seqno,
    hi: Seqno,
    value: Option<Vec<u8>>,
}

/// What a reader saw through one snapshot.
struct Observation {
    seqno: Seqno,
    reader: usize,
    round: usize,
    scan: Vec<(Vec<u8>, Vec<u8>)>,
    gets: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn writer<I: OrderedIndex>(
    index: &I,
    w: usize,
    ops: usize,
    seed: u64,
    progress: &AtomicUsize,
) -> Result<BTreeMap<Vec<u8>, Vec<Write>>, String> {
    let mut rng = Rng::new(seed ^ ((w as u64 + 1) * 0xABCD));
    let mut log: BTreeMap<Vec<u8>, Vec<Write>> = BTreeMap::new();
    let mut live: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut prev: Seqno = 0;
    for n in 0..ops {
        progress.fetch_add(1, Ordering::Relaxed);
        let k = key(w, rng.below(KEYS_PER_WRITER));
        if rng.percent(75) || !live.contains_key(&k) {
            let v = format!("w{w}-{n}-{}", "v".repeat(n % 13)).into_bytes();
            let s = index
                .insert(&k, &v)
                .map_err(|e| format!("writer {w}: insert failed: {e}"))?;
            if s <= prev {
                return Err(format!("writer {w}: seqno {s} after {prev}"));
            }
            prev = s;
            log.entry(k.clone()).or_default().push(Write {
                lo: s,
                hi: s,
                value: Some(v.clone()),
            });
            live.insert(k, v);
        } else {
            let removed = index
                .remove(&k)
                .map_err(|e| format!("writer {w}: remove failed: {e}"))?;
            if !removed {
                return Err(format!(
                    "writer {w}: remove of its live key {} returned false",
                    show(&k)
                ));
            }
            let hi = index.snapshot().seqno();
            if hi <= prev {
                return Err(format!(
                    "writer {w}: a snapshot right after a remove pins {hi}, not above the previous write {prev}"
                ));
            }
            log.entry(k.clone()).or_default().push(Write {
                lo: prev + 1,
                hi,
                value: None,
            });
            live.remove(&k);
            prev = hi;
        }
    }
    Ok(log)
}

/// Takes a new snapshot each time the writers have made `step` more writes
/// (so about a hundred snapshots spread over the run), and re-reads each
/// three times while the writers go on.
fn reader<I: OrderedIndex>(
    index: &I,
    r: usize,
    done: &AtomicBool,
    progress: &AtomicUsize,
    step: usize,
    seed: u64,
) -> Vec<Observation> {
    let mut rng = Rng::new(seed ^ ((r as u64 + 11) * 0x1234_5678));
    let mut out = Vec::new();
    let mut round = 0;
    let all_keys: Vec<Vec<u8>> = (0..WRITERS)
        .flat_map(|w| (0..KEYS_PER_WRITER).map(move |i| key(w, i)))
        .collect();
    let mut last_progress = usize::MAX;
    while !done.load(Ordering::Relaxed) || round < 3 {
        let p = progress.load(Ordering::Relaxed);
        if last_progress != usize::MAX && p < last_progress + step && !done.load(Ordering::Relaxed)
        {
            std::thread::yield_now();
            continue;
        }
        last_progress = p;
        let snap = index.snapshot();
        // Re-read the same snapshot a few times while writers go on.
        for _ in 0..3 {
            let scan = scan_collect(|f| snap.scan(Bound::Unbounded, Bound::Unbounded, f), None)
                .unwrap_or_default();
            let gets = (0..16)
                .map(|_| {
                    let k = all_keys[rng.index(all_keys.len())].clone();
                    let v = snap.get_copied(&k);
                    (k, v)
                })
                .collect();
            out.push(Observation {
                seqno: snap.seqno(),
                reader: r,
                round,
                scan,
                gets,
            });
            std::thread::yield_now();
        }
        round += 1;
    }
    out
}

/// The value of `key` at `seqno` per the log: `Ok(v)` exactly, or
/// `Err((before, after))` when one remove's seqno range straddles `seqno`.
/// Either the one value a key must have, or the two it may have.
type Expected<'a> = Result<Option<&'a [u8]>, (Option<&'a [u8]>, Option<&'a [u8]>)>;

fn expected(log: &[Write], seqno: Seqno) -> Expected<'_> {
    let mut state: Option<&[u8]> = None;
    for w in log {
        if w.hi <= seqno {
            state = w.value.as_deref();
        } else if w.lo <= seqno {
            return Err((state, w.value.as_deref()));
        } else {
            break;
        }
    }
    Ok(state)
}

fn matches(log: Option<&Vec<Write>>, seqno: Seqno, got: Option<&[u8]>) -> bool {
    let Some(log) = log else { return got.is_none() };
    match expected(log, seqno) {
        Ok(v) => v == got,
        Err((a, b)) => a == got || b == got,
    }
}

impl<I: OrderedIndex> Suite<I> {
    /// Check 4: two writers insert and remove on their own keys, logging
    /// each write's seqno; three readers take snapshots at arbitrary moments
    /// and scan and point-read each several times while the writers go on.
    /// Every read of a snapshot must equal the model at its seqno, and the
    /// final live state the model at the end.
    pub fn snapshot_isolation(&self) -> CheckResult {
        let seed = seed();
        let ops = self.n(4000);
        let index = self.index();
        let done = AtomicBool::new(false);
        let progress = AtomicUsize::new(0);
        let step = (ops * WRITERS / 100).max(1);
        let barrier = Barrier::new(WRITERS + READERS);
        let fail = |m: String| {
            Failure::new(
                "snapshot_isolation",
                format!("{m}\nseed: ORDEX_TEST_SEED={seed}"),
            )
        };
        let (logs, observations) = std::thread::scope(|s| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let (index, barrier, progress) = (&index, &barrier, &progress);
                    s.spawn(move || {
                        barrier.wait();
                        writer(index, w, ops, seed, progress)
                    })
                })
                .collect();
            let readers: Vec<_> = (0..READERS)
                .map(|r| {
                    let (index, barrier, done, progress) = (&index, &barrier, &done, &progress);
                    s.spawn(move || {
                        barrier.wait();
                        reader(index, r, done, progress, step, seed)
                    })
                })
                .collect();
            let logs: Vec<_> = writers
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("writer panicked".into())))
                .collect();
            done.store(true, Ordering::Relaxed);
            let obs: Vec<_> = readers.into_iter().map(|h| h.join()).collect();
            (logs, obs)
        });
        let mut log: BTreeMap<Vec<u8>, Vec<Write>> = BTreeMap::new();
        for l in logs {
            log.extend(l.map_err(fail)?);
        }
        let mut checked = 0usize;
        for obs in observations {
            let obs = obs.map_err(|_| fail("reader panicked".into()))?;
            for o in obs {
                let at = |m: String| {
                    fail(format!(
                        "reader {} round {}, snapshot at seqno {}: {m}",
                        o.reader, o.round, o.seqno
                    ))
                };
                for w in o.scan.windows(2) {
                    if w[0].0 >= w[1].0 {
                        return Err(at(format!("scan out of order at {}", show(&w[1].0))));
                    }
                }
                let seen: BTreeMap<&[u8], &[u8]> =
                    o.scan.iter().map(|(k, v)| (&k[..], &v[..])).collect();
                for (k, writes) in &log {
                    let got = seen.get(&k[..]).copied();
                    if !matches(Some(writes), o.seqno, got) {
                        return Err(at(format!(
                            "scan shows {} = {:?}, the model at this seqno says {:?}",
                            show(k),
                            got.map(String::from_utf8_lossy),
                            expected(writes, o.seqno)
                        )));
                    }
                }
                for k in seen.keys() {
                    if !log.contains_key(*k) {
                        return Err(at(format!(
                            "scan shows {} which was never written",
                            show(k)
                        )));
                    }
                }
                for (k, got) in &o.gets {
                    if !matches(log.get(k), o.seqno, got.as_deref()) {
                        return Err(at(format!(
                            "get({}) = {:?}, the model at this seqno says {:?}",
                            show(k),
                            got.as_deref().map(String::from_utf8_lossy),
                            log.get(k).map(|w| expected(w, o.seqno))
                        )));
                    }
                }
                checked += 1;
            }
        }
        if checked == 0 {
            return Err(fail("no snapshot was observed".into()));
        }
        // The live state is the last write of every key.
        let live = scan_collect(|f| index.scan(Bound::Unbounded, Bound::Unbounded, f), None)
            .map_err(fail)?;
        let want: Vec<(Vec<u8>, Vec<u8>)> = log
            .iter()
            .filter_map(|(k, w)| {
                w.last()
                    .and_then(|w| w.value.clone())
                    .map(|v| (k.clone(), v))
            })
            .collect();
        if live != want {
            return Err(fail(format!(
                "final live state has {} entries, the log says {}",
                live.len(),
                want.len()
            )));
        }
        Ok(())
    }
}
