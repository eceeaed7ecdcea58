//! Indexes that share nodes (a `split_off` and the index it came from;
//! an index and another whose versions it took in by `append`) written,
//! read, snapshotted and dropped on more threads than cores, snapshots
//! outliving their indexes and dropped while the other indexes of their
//! family still write. Node counts change without locked instructions
//! under one lock per family (`src/shared.rs`): the contents must agree
//! with the writers' models, and, in builds with debug assertions (where
//! every count change also asserts that the lock is held), every node
//! must be freed once everything is dropped. Also run under
//! AddressSanitizer by `.ci/asan.sh`.
//!
//! The only test of this binary: it counts every node of the process.

use ordex_core::{OrderedIndex, SnapshotExt};
use ordex_persistent::{live_nodes, PersistentBTree, PersistentSnapshot};
use ordex_testkit::rng::SplitMix64;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn scale() -> f64 {
    std::env::var("ORDEX_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn key(tag: u8, k: u64) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(k as u32).to_be_bytes());
    v
}

fn contents(index: &impl OrderedIndex) -> Model {
    index
        .snapshot()
        .collect_range::<&[u8], _>(..)
        .into_iter()
        .collect()
}

/// Writes at random into `index` within keys `tag` `lo..hi` for `ops`
/// operations; returns the model of that range.
fn write(index: &PersistentBTree, tag: u8, lo: u64, hi: u64, ops: usize, seed: u64) -> Model {
    let mut rng = SplitMix64::new(seed);
    let mut model: Model = index
        .snapshot()
        .collect_range(key(tag, lo)..key(tag, hi))
        .into_iter()
        .collect();
    for n in 0..ops {
        let k = key(tag, lo + rng.below(hi - lo));
        if rng.below(4) == 0 {
            index.remove(&k).unwrap();
            model.remove(&k);
        } else {
            let v = format!("{seed}-{n}").into_bytes();
            index.insert(&k, &v).unwrap();
            model.insert(k, v);
        }
    }
    model
}

#[test]
fn families_share_nodes_across_threads_and_free_each_once() {
    let ops = (3000.0 * scale()) as usize;
    let before = live_nodes();
    {
        let a =
            PersistentBTree::from_sorted((0..2000u64).map(|i| (key(b'a', i), *b"loaded"))).unwrap();
        // `b` shares `a`'s family (and nodes) from the start.
        let b = Arc::new(a.split_off(&key(b'a', 1000)).unwrap());
        let a = Arc::new(a);
        // `c` is a family of its own until `a` takes in its versions.
        let c = Arc::new(
            PersistentBTree::from_sorted((0..1500u64).map(|i| (key(b'c', i), *b"c0"))).unwrap(),
        );
        // Snapshots kept by readers, some past their index's drop.
        let kept: Arc<Mutex<Vec<PersistentSnapshot>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..3u64)
            .map(|t| {
                let (a, b, c) = (a.clone(), b.clone(), c.clone());
                let (kept, stop) = (kept.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut rng = SplitMix64::new(t + 77);
                    while !stop.load(Ordering::Relaxed) {
                        let s = match rng.below(3) {
                            0 => a.snapshot_owned(),
                            1 => b.snapshot_owned(),
                            _ => c.snapshot_owned(),
                        };
                        assert_eq!(
                            s.collect_range::<&[u8], _>(..).len(),
                            s.len(),
                            "a whole version"
                        );
                        let mut kept = kept.lock().unwrap();
                        kept.push(s);
                        if kept.len() > 40 {
                            let i = rng.below(kept.len() as u64) as usize;
                            drop(kept.swap_remove(i));
                        }
                    }
                })
            })
            .collect();
        let wa = {
            let a = a.clone();
            std::thread::spawn(move || write(&a, b'a', 0, 1000, ops, 1))
        };
        let wb = {
            let b = b.clone();
            std::thread::spawn(move || write(&b, b'a', 1000, 2000, ops, 2))
        };
        let wc = {
            let c = c.clone();
            std::thread::spawn(move || write(&c, b'c', 0, 1500, ops, 3))
        };
        // `a` takes in versions of `c` while both are written: the first
        // append joins the families, later ones share nodes already.
        let joiner = {
            let (a, c) = (a.clone(), c.clone());
            std::thread::spawn(move || {
                let mut taken = Model::new();
                for _ in 0..20 {
                    let s = c.snapshot_owned();
                    taken.extend(s.collect_range::<&[u8], _>(..));
                    a.append(&s).unwrap();
                    std::thread::yield_now();
                }
                taken
            })
        };
        let (ma, mb, mc) = (wa.join().unwrap(), wb.join().unwrap(), wc.join().unwrap());
        let taken = joiner.join().unwrap();
        let mut want_a = ma;
        want_a.extend(taken);
        assert_eq!(contents(&*a), want_a);
        assert_eq!(contents(&*b), mb);
        assert_eq!(contents(&*c), mc);
        for index in [&a, &b, &c] {
            index.check_structure().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        // `a` goes (its last reference) while snapshots of it are still
        // kept, and `b` and `c` (one family with it now) are written again.
        assert_eq!(Arc::strong_count(&a), 1);
        drop(a);
        let wb = {
            let b = b.clone();
            std::thread::spawn(move || write(&b, b'a', 1000, 2000, ops / 4, 4))
        };
        let wc = {
            let c = c.clone();
            std::thread::spawn(move || write(&c, b'c', 0, 1500, ops / 4, 5))
        };
        // Another thread drops the kept snapshots (freeing the versions of
        // `a` there) while `b` and `c` write.
        let dropper = {
            let kept = kept.clone();
            std::thread::spawn(move || {
                while let Some(s) = {
                    let mut k = kept.lock().unwrap();
                    k.pop()
                } {
                    drop(s);
                }
            })
        };
        let (mb, mc) = (wb.join().unwrap(), wc.join().unwrap());
        dropper.join().unwrap();
        assert_eq!(contents(&*b), mb);
        assert_eq!(contents(&*c), mc);
        kept.lock().unwrap().clear();
    }
    // Every node of every version of the three indexes is freed, once.
    assert_eq!(live_nodes(), before, "nodes alive after everything dropped");
}
