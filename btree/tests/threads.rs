//! 8 threads on 2 cores, checked against a model: 4 writers insert and
//! remove their own keys (logging each write's seqno), 2 threads scan, 2
//! take and re-read snapshots. Afterwards every snapshot must equal the
//! replay of the logged writes up to its seqno, and the tree the replay
//! of all of them. `ORDEX_STRESS_ROUNDS` (default 3000 writes per writer)
//! lengthens the run: CI runs it in release and under AddressSanitizer
//! with a larger value.

use ordex_btree::{BTree, GlobalLock, Latch, LockCoupling, Optimistic};
use ordex_core::{OrderedIndex, OrderedIndexExt, SnapshotExt};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

type Log = Vec<(u64, Vec<u8>, Option<Vec<u8>>)>;
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

const STABLE: u32 = 400;

fn stable_key(i: u32) -> Vec<u8> {
    [&b"s"[..], &i.to_be_bytes()].concat()
}

fn own_key(w: u8, i: u16) -> Vec<u8> {
    [&[b'w', w][..], &i.to_be_bytes()].concat()
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn eight_threads_against_the_model() {
    eight_threads::<Optimistic>();
}

/// The same run under pessimistic lock coupling: hand-over-hand readers
/// and scanners against splitting, unlinking writers (a deadlock hangs).
#[test]
fn eight_threads_against_the_model_lock_coupling() {
    eight_threads::<LockCoupling>();
}

/// The same run under one tree-wide lock.
#[test]
fn eight_threads_against_the_model_global_lock() {
    eight_threads::<GlobalLock>();
}

fn eight_threads<L: Latch>() {
    let rounds: usize = std::env::var("ORDEX_STRESS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    // Small nodes: many splits under contention.
    let tree = BTree::<L, 8>::new();
    for i in 0..STABLE {
        tree.put(&stable_key(i), b"stable");
    }
    let writers_left = AtomicUsize::new(4);
    let stop = AtomicBool::new(false);
    let logs: Mutex<Vec<Log>> = Mutex::new(Vec::new());
    let snapshots: Mutex<Vec<(u64, Entries)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for w in 0..4u8 {
            let (tree, logs, writers_left, stop) = (&tree, &logs, &writers_left, &stop);
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(w);
                let mut log = Log::new();
                let mut mine: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
                for r in 0..rounds {
                    if r % 500 == 499 {
                        // Empty a run of keys, so leaves empty out and get
                        // unlinked under the scanners and snapshots.
                        let start = (xorshift(&mut x) % 260) as u16;
                        for i in start..start + 40 {
                            let k = own_key(w, i);
                            if let Some(s) = tree.delete(&k) {
                                assert!(mine.remove(&k).is_some());
                                log.push((s, k, None));
                            } else {
                                assert!(!mine.contains_key(&k));
                            }
                        }
                    }
                    let k = own_key(w, (xorshift(&mut x) % 300) as u16);
                    if xorshift(&mut x).is_multiple_of(3) {
                        let s = tree.delete(&k);
                        assert_eq!(s.is_some(), mine.remove(&k).is_some());
                        if let Some(s) = s {
                            log.push((s, k.clone(), None));
                        }
                    } else {
                        let v = [&k[..], &(r as u64).to_le_bytes()].concat();
                        let s = tree.put(&k, &v);
                        log.push((s, k.clone(), Some(v.clone())));
                        mine.insert(k.clone(), v);
                    }
                    // Reads of own keys are linearizable: they see our
                    // last write.
                    assert_eq!(tree.get_copied(&k), mine.get(&k).cloned());
                }
                logs.lock().unwrap().push(log);
                if writers_left.fetch_sub(1, Ordering::SeqCst) == 1 {
                    stop.store(true, Ordering::SeqCst);
                }
            });
        }
        // One forward scanner (the trait's scan), one backward (range_rev).
        for backward in [false, true] {
            let (tree, stop) = (&tree, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let mut prev: Option<Vec<u8>> = None;
                    let mut stable = 0;
                    let mut check = |k: &[u8], v: &[u8]| {
                        if let Some(p) = &prev {
                            if backward {
                                assert!(k < &p[..], "reverse scan out of order");
                            } else {
                                assert!(k > &p[..], "scan out of order");
                            }
                        }
                        if k[0] == b's' {
                            assert_eq!(v, b"stable");
                            stable += 1;
                        } else {
                            assert!(v.starts_with(k), "invented value");
                        }
                        prev = Some(k.to_vec());
                        true
                    };
                    if backward {
                        let guard = ordex_btree::pin();
                        for (k, v) in tree.range_rev(Bound::Unbounded, Bound::Unbounded, &guard) {
                            check(&k, &v);
                        }
                    } else {
                        tree.scan(Bound::Unbounded, Bound::Unbounded, &mut check);
                    }
                    assert_eq!(stable, STABLE, "a key present throughout was missed");
                }
            });
        }
        for _ in 0..2 {
            let (tree, stop, snapshots) = (&tree, &stop, &snapshots);
            s.spawn(move || {
                let mut taken = 0;
                // At least one snapshot each, however fast the writers are.
                let mut first_round = true;
                while std::mem::take(&mut first_round) || !stop.load(Ordering::SeqCst) {
                    let snap = tree.snapshot_ref();
                    let first = snap.collect_range(&b"w"[..]..&b"x"[..]);
                    std::thread::yield_now();
                    let again = snap.collect_range(&b"w"[..]..&b"x"[..]);
                    assert_eq!(first, again, "a snapshot changed while it lived");
                    let seqno = ordex_core::Snapshot::seqno(&snap);
                    // Every snapshot is checked for stability; a bounded
                    // sample (spread over the run) against the log.
                    taken += 1;
                    if (taken - 1) % (1 + rounds / 3000) == 0 {
                        snapshots.lock().unwrap().push((seqno, first));
                    }
                }
            });
        }
    });
    let mut all: Log = logs.into_inner().unwrap().into_iter().flatten().collect();
    all.sort_by_key(|e| e.0);
    for pair in all.windows(2) {
        assert!(pair[0].0 < pair[1].0, "a seqno was handed out twice");
    }
    // Replay the log once, comparing each sampled snapshot on the way.
    let mut snapshots = snapshots.into_inner().unwrap();
    assert!(!snapshots.is_empty());
    snapshots.sort_by_key(|s| s.0);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut log = all.iter().peekable();
    for (seqno, got) in &snapshots {
        while let Some((_, k, v)) = log.next_if(|e| e.0 <= *seqno) {
            match v {
                Some(v) => model.insert(k.clone(), v.clone()),
                None => model.remove(k),
            };
        }
        let want: Entries = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(got, &want, "snapshot at {seqno} is not exact");
    }
    for (_, k, v) in log {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
    let fin = tree.collect_range(&b"w"[..]..&b"x"[..]);
    assert_eq!(fin, model.into_iter().collect::<Entries>());
    assert_eq!(tree.len(), STABLE as usize + fin.len());
    tree.check_invariants(false).unwrap();
}

/// With no snapshot ever taken, concurrent overwrites and removes leave
/// every chain at length one and retire the rest: garbage stays bounded.
#[test]
fn no_snapshot_chains_stay_short() {
    let tree = BTree::<Optimistic, 16>::new();
    std::thread::scope(|s| {
        for t in 0..8u32 {
            let tree = &tree;
            s.spawn(move || {
                for i in 0..5000u32 {
                    let k = ((i * 31 + t) % 512).to_be_bytes();
                    if i % 4 == 3 {
                        tree.delete(&k);
                    } else {
                        tree.put(&k, &i.to_le_bytes());
                    }
                }
            });
        }
    });
    tree.check_invariants(true).unwrap();
    assert!(tree.len() <= 512);
}

/// Trees that grow and shrink under readers: 3 writers each fill their
/// own key range (one left of a block of stable keys, two right of it)
/// and then empty it again, in random order, over and over, so that
/// leaves are unlinked, inner nodes merge and the root loses and regains
/// levels all the time; 2 threads scan forwards and backwards, 1 reads
/// stable keys and seeks cursors, 1 holds snapshots of the stable block
/// (8 threads on 2 cores). Every read must see every stable key, in
/// order; at the end the tree holds exactly the stable keys and is
/// valid. `ORDEX_STRESS_ROUNDS` lengthens it (fills per writer: a
/// fortieth of it).
#[test]
fn fill_and_empty_under_readers() {
    fill_and_empty::<Optimistic>(100);
}

/// The same with lock-coupling latches.
#[test]
fn fill_and_empty_under_readers_lock_coupling() {
    fill_and_empty::<LockCoupling>(100);
}

/// The same without the stable block: the whole tree empties, so the
/// root goes down to a single leaf and back up again and again.
#[test]
fn fill_and_empty_the_whole_tree_under_readers() {
    fill_and_empty::<Optimistic>(0);
}

fn fill_and_empty<L: Latch>(block: u32) {
    let rounds: usize = std::env::var("ORDEX_STRESS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let fills = (rounds / 40).max(10);
    let stable = |i: u32| [&b"m"[..], &i.to_be_bytes()].concat();
    let tree = BTree::<L, 8>::new();
    for i in 0..block {
        tree.put(&stable(i), b"stable");
    }
    let stop = AtomicBool::new(false);
    let writers_left = AtomicUsize::new(3);
    // The writers empty their ranges together, so the tree shrinks to
    // the stable block (or to nothing) between fills.
    let emptied = std::sync::Barrier::new(3);
    std::thread::scope(|s| {
        for (w, prefix) in [b'a', b'x', b'y'].into_iter().enumerate() {
            let (tree, stop, writers_left, emptied) = (&tree, &stop, &writers_left, &emptied);
            s.spawn(move || {
                let mut x = 0x2545_F491_4F6C_DD1Du64 ^ (w as u64 + 1);
                let mut keys: Vec<Vec<u8>> = (0..400u16)
                    .map(|i| [&[prefix][..], &i.to_be_bytes()].concat())
                    .collect();
                for _ in 0..fills {
                    // A random order each time (Fisher-Yates).
                    for i in (1..keys.len()).rev() {
                        keys.swap(i, (xorshift(&mut x) % (i as u64 + 1)) as usize);
                    }
                    for k in &keys {
                        tree.put(k, k);
                    }
                    for i in (1..keys.len()).rev() {
                        keys.swap(i, (xorshift(&mut x) % (i as u64 + 1)) as usize);
                    }
                    for k in &keys {
                        assert!(tree.delete(k).is_some(), "a key of ours vanished");
                    }
                    emptied.wait();
                }
                if writers_left.fetch_sub(1, Ordering::SeqCst) == 1 {
                    stop.store(true, Ordering::SeqCst);
                }
            });
        }
        for backward in [false, true] {
            let (tree, stop) = (&tree, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let mut prev: Option<Vec<u8>> = None;
                    let mut seen = 0;
                    let mut check = |k: &[u8], v: &[u8]| {
                        if let Some(p) = &prev {
                            assert!(
                                if backward { k < &p[..] } else { k > &p[..] },
                                "scan out of order"
                            );
                        }
                        if k[0] == b'm' {
                            assert_eq!(v, b"stable");
                            seen += 1;
                        } else {
                            assert_eq!(k, v, "invented value");
                        }
                        prev = Some(k.to_vec());
                        true
                    };
                    if backward {
                        let guard = ordex_btree::pin();
                        for (k, v) in tree.range_rev(Bound::Unbounded, Bound::Unbounded, &guard) {
                            check(&k, &v);
                        }
                    } else {
                        tree.scan(Bound::Unbounded, Bound::Unbounded, &mut check);
                    }
                    assert_eq!(seen, block, "a key present throughout was missed");
                }
            });
        }
        {
            let (tree, stop) = (&tree, &stop);
            s.spawn(move || {
                let mut x = 7u64;
                while block > 0 && !stop.load(Ordering::SeqCst) {
                    let i = (xorshift(&mut x) % u64::from(block)) as u32;
                    assert_eq!(tree.get_copied(&stable(i)).as_deref(), Some(&b"stable"[..]));
                    // A cursor from a stable key walks the block both ways.
                    let guard = ordex_btree::pin();
                    let mut c = tree.cursor(&guard);
                    assert!(c.seek(&stable(i)));
                    assert_eq!(&*c.key().unwrap(), &stable(i)[..]);
                    if i + 1 < block {
                        assert!(c.next());
                        assert_eq!(&*c.key().unwrap(), &stable(i + 1)[..]);
                        assert!(c.prev());
                    }
                    if i > 0 {
                        assert!(c.prev());
                        assert_eq!(&*c.key().unwrap(), &stable(i - 1)[..]);
                    }
                }
            });
        }
        {
            let (tree, stop) = (&tree, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let snap = tree.snapshot_ref();
                    let got = snap.collect_range(&b"m"[..]..&b"n"[..]);
                    std::thread::yield_now();
                    assert_eq!(got.len(), block as usize);
                    assert_eq!(snap.collect_range(&b"m"[..]..&b"n"[..]), got);
                }
            });
        }
        // An eighth thread: more threads than cores, and a steady reader
        // of the whole tree's length.
        {
            let (tree, stop) = (&tree, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    assert!(tree.len() >= block as usize);
                    std::thread::yield_now();
                }
            });
        }
    });
    // Most emptied leaves were unlinked and the levels above merged or
    // removed, under all that contention. Shrinking is best effort (it
    // gives up on contention), so the bound is loose: half the leaves the
    // writers' 1200 keys take (about 200; without unlinking after sweeps,
    // nearly all of them stayed). Quiet runs end with a handful; the
    // single-threaded tests in `props.rs` check the exact outcome.
    let full = BTree::<Optimistic, 8>::new();
    for p in [b'a', b'x', b'y'] {
        for i in 0..400u16 {
            full.put(&[&[p][..], &i.to_be_bytes()].concat(), b"");
        }
    }
    let leaves = tree.leaf_count();
    assert!(
        leaves <= full.leaf_count() / 2 + block as usize / 2,
        "{leaves} leaves left of {} for the writers' keys",
        full.leaf_count()
    );
    assert_eq!(tree.len(), block as usize);
    let all = tree.collect_range(&b""[..]..&[0xFF; 8][..]);
    let want: Entries = (0..block)
        .map(|i| (stable(i), b"stable".to_vec()))
        .collect();
    assert_eq!(all, want);
    // (Versions kept for the last snapshots may remain until a sweep.)
    tree.check_invariants(false).unwrap();
}

/// Readers get keys that never change while writers insert keys between
/// them, so that the nodes holding the readers' keys split under them
/// (half-splits: a node's new high key and right sibling before its
/// parent learns of them) and the readers' keys move right. Every get
/// must find its key with its value: a descent that trusted a parent's
/// separator above the key for a child that has split since would search
/// the left half and miss it. Long keys behind one prefix (their first 8
/// bytes tie with every high key) and 8-slot nodes, many splits a second;
/// 6 threads on 2 cores.
#[test]
fn gets_find_keys_that_splits_move_right() {
    const KEPT: u32 = 2000;
    let rounds: usize = 8 * std::env::var("ORDEX_STRESS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let key = |i: u32, w: u32| format!("https://example.org/item/{i:08}/{w}").into_bytes();
    let t = BTree::<Optimistic, 8>::new();
    for i in 0..KEPT {
        t.insert(&key(i, 0), &i.to_le_bytes()).unwrap();
    }
    let done = AtomicBool::new(false);
    let gets = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let writers: Vec<_> = (1..=3u32)
            .map(|w| {
                let (t, key) = (&t, &key);
                s.spawn(move || {
                    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(w);
                    for _ in 0..rounds {
                        let i = (xorshift(&mut x) % u64::from(KEPT)) as u32;
                        t.insert(&key(i, w), b"between").unwrap();
                    }
                })
            })
            .collect();
        for r in 0..3u64 {
            let (t, key, done, gets) = (&t, &key, &done, &gets);
            s.spawn(move || {
                let mut x = 0xD1B5_4A32_D192_ED03u64 ^ r;
                while !done.load(Ordering::Relaxed) {
                    let i = (xorshift(&mut x) % u64::from(KEPT)) as u32;
                    assert_eq!(
                        t.get_copied(&key(i, 0)),
                        Some(i.to_le_bytes().to_vec()),
                        "key {i} lost while splits went on"
                    );
                    gets.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    assert!(gets.load(Ordering::Relaxed) > 0);
    t.check_invariants(true).unwrap();
    assert_eq!(
        t.len(),
        KEPT as usize + 3 * rounds - dupes(&key, rounds, KEPT)
    );
}

/// How many of the writers' inserts above wrote a key already written (the
/// same `(i, w)` drawn twice), replayed from the same seeds.
fn dupes(key: &dyn Fn(u32, u32) -> Vec<u8>, rounds: usize, kept: u32) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut dupes = 0;
    for w in 1..=3u32 {
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(w);
        for _ in 0..rounds {
            let i = (xorshift(&mut x) % u64::from(kept)) as u32;
            dupes += usize::from(!seen.insert(key(i, w)));
        }
    }
    dupes
}
