//! A threaded stress test (more threads than cores), also run under
//! AddressSanitizer by `.ci/asan.sh`: writers (single writes, removes and
//! batches through group commit), readers, and threads that take, keep,
//! walk and drop snapshots at random. Afterwards every sampled snapshot
//! must equal the writers' logs replayed up to its seqno, and the final
//! state all of them; with every snapshot dropped, the writer frees every
//! old version.

use ordex_core::{Cursor, OrderedIndex, Seqno, Snapshot, SnapshotExt};
use ordex_persistent::{Config, PersistentBTree};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
/// One logged write: (seqno, key, value or removal).
type Logged = (Seqno, Vec<u8>, Option<Vec<u8>>);
type Log = Vec<Logged>;

fn scale() -> f64 {
    std::env::var("ORDEX_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn key(t: u64, k: u64) -> Vec<u8> {
    let mut v = vec![b'a' + t as u8];
    v.extend_from_slice(&k.to_be_bytes());
    if k.is_multiple_of(5) {
        v.extend_from_slice(&[b'~'; 30]);
    }
    v
}

/// A value that names its key, so a reader can tell a torn or misplaced one.
fn value(key: &[u8], n: u64) -> Vec<u8> {
    let mut v = key.to_vec();
    v.extend_from_slice(&n.to_le_bytes());
    v.resize(v.len() + (n % 40) as usize, 0x5A);
    v
}

fn value_fits(key: &[u8], v: &[u8]) -> bool {
    v.len() >= key.len() + 8 && &v[..key.len()] == key
}

fn replay(logs: &[Log], upto: Seqno) -> Model {
    let mut all: Vec<&Logged> = logs.iter().flatten().filter(|e| e.0 <= upto).collect();
    // Entries of one batch share a seqno and keep their order (stable sort).
    all.sort_by_key(|e| e.0);
    let mut m = Model::new();
    for (_, k, v) in all {
        match v {
            Some(v) => m.insert(k.clone(), v.clone()),
            None => m.remove(k),
        };
    }
    m
}

#[test]
fn writers_readers_and_snapshots_agree_with_the_logs() {
    const WRITERS: u64 = 4;
    let ops = (1500.0 * scale()) as u64;
    let index = PersistentBTree::with_config(Config { retain_versions: 4 });
    let stop = AtomicBool::new(false);
    let (logs, samples) = std::thread::scope(|s| {
        let (index, stop) = (&index, &stop);
        let writers: Vec<_> = (0..WRITERS)
            .map(|t| {
                s.spawn(move || {
                    let mut rng = Rng(0x9E37_79B9 + t);
                    let mut log = Log::new();
                    for n in 0..ops {
                        let r = rng.below(100);
                        if r < 60 {
                            let k = key(t, rng.below(400));
                            let v = value(&k, n);
                            let s = index.insert(&k, &v).unwrap();
                            log.push((s, k, Some(v)));
                        } else if r < 85 {
                            let k = key(t, rng.below(400));
                            if let Some(s) = index.delete(&k).unwrap() {
                                log.push((s, k, None));
                            }
                        } else {
                            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..rng.below(50))
                                .map(|_| {
                                    let k = key(t, rng.below(400));
                                    let v = value(&k, n);
                                    (k, v)
                                })
                                .collect();
                            let refs: Vec<(&[u8], &[u8])> =
                                entries.iter().map(|(k, v)| (&k[..], &v[..])).collect();
                            let before = index.snapshot().seqno();
                            let s = index.insert_batch(&refs).unwrap();
                            if entries.is_empty() {
                                assert!(s >= before);
                            }
                            for (k, v) in entries {
                                log.push((s, k, Some(v)));
                            }
                        }
                    }
                    log
                })
            })
            .collect();
        let readers: Vec<_> = (0..3u64)
            .map(|t| {
                s.spawn(move || {
                    let mut rng = Rng(77 + t);
                    while !stop.load(Ordering::Relaxed) {
                        let k = key(rng.below(WRITERS), rng.below(400));
                        index.get(&k, &mut |v| assert!(value_fits(&k, v), "torn value"));
                        let mut last: Option<Vec<u8>> = None;
                        let mut n = 0;
                        index.scan(Bound::Included(&k), Bound::Unbounded, &mut |k, v| {
                            assert!(value_fits(k, v));
                            assert!(last.as_deref().is_none_or(|l| l < k), "scan order");
                            last = Some(k.to_vec());
                            n += 1;
                            n < 64
                        });
                        let mut c = index.cursor();
                        if c.seek(&k) {
                            let mut prev = c.key().unwrap().to_vec();
                            for _ in 0..20 {
                                if !c.next() {
                                    break;
                                }
                                let cur = c.key().unwrap();
                                assert!(prev.as_slice() < cur, "cursor order");
                                prev = cur.to_vec();
                            }
                        }
                    }
                })
            })
            .collect();
        let snapshotters: Vec<_> = (0..2u64)
            .map(|t| {
                s.spawn(move || {
                    let mut rng = Rng(1234 + t);
                    let mut held = Vec::new();
                    let mut samples: Vec<(Seqno, Model)> = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        match rng.below(4) {
                            0 | 1 => held.push(index.snapshot_owned()),
                            2 if !held.is_empty() => {
                                let i = rng.below(held.len() as u64) as usize;
                                let snap = held.swap_remove(i);
                                let first: Model =
                                    snap.collect_range::<[u8], _>(..).into_iter().collect();
                                // Re-read backwards through a cursor: the same.
                                let mut c = snap.cursor();
                                let mut back = Vec::new();
                                let mut ok = c.last();
                                while ok {
                                    back.push((
                                        c.key().unwrap().to_vec(),
                                        c.value().unwrap().to_vec(),
                                    ));
                                    ok = c.prev();
                                }
                                back.reverse();
                                assert_eq!(back, first.clone().into_iter().collect::<Vec<_>>());
                                if samples.len() < 40 {
                                    samples.push((snap.seqno(), first));
                                }
                            }
                            _ => {
                                if let Some(s) = index.snapshot_at(index.seqno().saturating_sub(2))
                                {
                                    assert!(s.seqno() <= index.seqno());
                                }
                                std::thread::yield_now();
                            }
                        }
                        if held.len() > 20 {
                            held.clear();
                        }
                    }
                    samples
                })
            })
            .collect();
        let logs: Vec<Log> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        let samples: Vec<(Seqno, Model)> = snapshotters
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        (logs, samples)
    });
    assert!(!samples.is_empty());
    for (s, contents) in &samples {
        assert_eq!(contents, &replay(&logs, *s), "snapshot at {s}");
    }
    let end = index.seqno();
    let all: Model = index
        .snapshot_owned()
        .collect_range::<[u8], _>(..)
        .into_iter()
        .collect();
    assert_eq!(all, replay(&logs, end));
    assert_eq!(index.len(), all.len());
    // Seqnos: every write took a distinct one, batches one each, none lost.
    let mut seqnos: Vec<Seqno> = logs.iter().flatten().map(|e| e.0).collect();
    seqnos.sort_unstable();
    seqnos.dedup();
    assert_eq!(seqnos.last().copied().unwrap_or(0), end);
    assert_eq!(seqnos.len() as u64, end, "a seqno no write took");
    index.reclaim();
    let stats = index.stats();
    // The current version and the 4 of the retention window.
    assert!(stats.live_versions <= 5, "{stats:?}");
}
