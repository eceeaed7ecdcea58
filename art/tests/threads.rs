//! Stress on real threads, more than cores: writers own disjoint key
//! ranges under shared prefixes (so they split, grow, shrink and collapse
//! the same nodes), readers walk cursors both ways and take snapshots
//! that they check stay exact, and the tree ends equal to the writers'
//! models with a sound structure. Longer under `ORDEX_TEST_SCALE` (the
//! AddressSanitizer run sets it).

use ordex_art::Art;
use ordex_core::{Cursor, OrderedIndex, OrderedIndexExt, Snapshot, SnapshotExt};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn scale() -> f64 {
    std::env::var("ORDEX_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// A small xorshift generator (tests need no crate for this).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writer `t`'s key number `i`: a prefix shared by every writer (long
/// enough to be a compressed path), a byte that spreads keys over a node
/// that grows and shrinks, the writer, and a tail that makes some keys
/// prefixes of others; one key in four has a longer tail, so that runs
/// (which hold such keys) fill, burst and empty under every writer, and
/// half of those are longer than an inline entry holds (packed entries,
/// or leaves if a snapshot is older than their write).
fn key(t: u64, i: u64) -> Vec<u8> {
    let mut k = b"tenant/00042/".to_vec();
    if i % 4 == 3 {
        // About a hundred keys a writer under each of five bytes.
        k.push(200 + (i % 5) as u8);
        k.push(t as u8);
        k.extend_from_slice(b"/row/");
        k.extend_from_slice(&i.to_be_bytes()[6..]);
        if i % 8 == 7 {
            k.extend_from_slice(b"/a-longer-tail");
        }
    } else {
        k.push((i % 61) as u8);
        k.push(t as u8);
        k.extend_from_slice(&(i / 61).to_be_bytes()[8 - (i % 3) as usize..]);
    }
    k
}

#[test]
fn writers_readers_and_snapshots_on_more_threads_than_cores() {
    let writers = 4u64;
    let readers = 3;
    let ops = (20_000.0 * scale()) as u64;
    let art = Arc::new(Art::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..writers {
        let art = art.clone();
        handles.push(std::thread::spawn(move || {
            let mut model = BTreeMap::new();
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
            for n in 0..ops {
                let i = rng.next() % 2000;
                let k = key(t, i);
                if rng.next().is_multiple_of(3) {
                    assert_eq!(art.remove(&k).unwrap(), model.remove(&k).is_some());
                } else {
                    let v = n.to_le_bytes().to_vec();
                    art.insert(&k, &v).unwrap();
                    model.insert(k, v);
                }
                if n % 64 == 0 {
                    let probe = key(t, rng.next() % 2000);
                    assert_eq!(art.get_copied(&probe), model.get(&probe).cloned());
                }
            }
            model
        }));
    }
    let mut reader_handles = Vec::new();
    for r in 0..readers {
        let art = art.clone();
        let stop = stop.clone();
        reader_handles.push(std::thread::spawn(move || {
            let mut rng = Rng(0xdead_beef ^ (r + 7));
            let mut rounds = 0u64;
            while !stop.load(Ordering::Relaxed) || rounds < 4 {
                rounds += 1;
                // A live cursor: strictly ordered both ways.
                let mut c = OrderedIndex::cursor(&*art);
                let start = key(rng.next() % writers, rng.next() % 2000);
                let mut last: Option<Vec<u8>> = None;
                let mut ok = c.seek(&start);
                for _ in 0..200 {
                    if !ok {
                        break;
                    }
                    let k = c.key().unwrap().to_vec();
                    assert!(k >= start);
                    if let Some(l) = &last {
                        assert!(&k > l, "live cursor went back: {l:?} then {k:?}");
                    }
                    last = Some(k);
                    ok = c.next();
                }
                let mut ok = c.seek_for_prev(&start);
                let mut last: Option<Vec<u8>> = None;
                for _ in 0..200 {
                    if !ok {
                        break;
                    }
                    let k = c.key().unwrap().to_vec();
                    assert!(k <= start);
                    if let Some(l) = &last {
                        assert!(&k < l, "live cursor went forward along prev");
                    }
                    last = Some(k);
                    ok = c.prev();
                }
                drop(c);
                // A snapshot stays exact while writers go on.
                let snap = art.snapshot();
                let first: Vec<(Vec<u8>, Vec<u8>)> = snap.collect_range::<Vec<u8>, _>(..);
                if let Some(w) = first.windows(2).find(|w| w[0].0 >= w[1].0) {
                    panic!(
                        "a snapshot scan out of order: {:?} then {:?} ({} entries)",
                        w[0].0,
                        w[1].0,
                        first.len()
                    );
                }
                std::thread::yield_now();
                let again: Vec<(Vec<u8>, Vec<u8>)> = snap.collect_range::<Vec<u8>, _>(..);
                assert_eq!(first, again, "a snapshot changed under writers");
                let mut back = Vec::new();
                let mut c = snap.cursor();
                let mut ok = c.last();
                while ok {
                    back.push((c.key().unwrap().to_vec(), c.value().unwrap().to_vec()));
                    ok = c.prev();
                }
                back.reverse();
                assert_eq!(first, back, "a snapshot cursor backwards differs");
                for (k, v) in first.iter().step_by(97) {
                    assert_eq!(snap.get_copied(k).as_ref(), Some(v));
                }
            }
        }));
    }
    let mut model = BTreeMap::new();
    for h in handles {
        model.extend(h.join().unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    for h in reader_handles {
        h.join().unwrap();
    }
    let got: BTreeMap<Vec<u8>, Vec<u8>> = art.collect_range::<Vec<u8>, _>(..).into_iter().collect();
    assert_eq!(got.len(), model.len());
    assert!(got == model, "the tree differs from the writers' models");
    assert_eq!(art.len(), model.len());
    art.check_structure().unwrap();
    art.sweep();
    let s = art.stats();
    // A key is a leaf or, if it was last written while no snapshot was
    // older than the write, an inline or packed entry: each live key is
    // exactly one of them once no tombstone is left.
    assert_eq!(
        s.leaves + s.inline + s.packed,
        model.len(),
        "tombstones left once snapshots are gone"
    );
    assert_eq!(
        s.versions, s.leaves,
        "old versions left once snapshots are gone"
    );
}

/// Waits for the readers, then stops the writers, waits for them, and
/// checks the tree's structure.
fn finish(
    readers: Vec<std::thread::JoinHandle<()>>,
    stop: &AtomicBool,
    writers: Vec<std::thread::JoinHandle<()>>,
    art: &Art,
) {
    for h in readers {
        h.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for h in writers {
        h.join().unwrap();
    }
    art.check_structure().unwrap();
}

/// Key `i` of the scan test: 8 bytes, big-endian, `i` then a last byte
/// (`STABLE` or `CHURN`), so that each `i` has a small bottom node of two
/// inline entries, or one inline entry when its churning key is out.
fn scan_key(i: u64, last: u8) -> [u8; 8] {
    (i << 8 | u64::from(last)).to_be_bytes()
}

const STABLE: u8 = 0x10;
const CHURN: u8 = 0x20;

/// Live scans (and a live cursor walking backward) while writers insert
/// and remove keys right beside the ones they read: every key present
/// throughout a walk (the stable keys, one
/// beside each churning key, in the same small node or collapsed into its
/// parent as the churning key comes and goes) is met, in strictly
/// ascending order. A scan steps into those nodes as they are replaced
/// and restarts from the key it is on, so a restart that seeks past the
/// wrong key (the walker's key buffer is rewritten on the way down)
/// skips stable keys and fails here.
#[test]
fn live_scans_meet_every_stable_key_beside_churning_ones() {
    let n = 4096u64;
    let art = Arc::new(Art::new());
    for i in 0..n {
        art.insert(&scan_key(i, STABLE), b"s").unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for t in 0..2u64 {
        let (art, stop) = (art.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let mut rng = Rng(0x5EED_0000 + t);
            while !stop.load(Ordering::Relaxed) {
                let k = scan_key(rng.next() % n, CHURN);
                if rng.next().is_multiple_of(2) {
                    art.insert(&k, b"c").unwrap();
                } else {
                    art.remove(&k).unwrap();
                }
            }
        }));
    }
    let scans = (3_000.0 * scale()) as u64;
    let mut readers = Vec::new();
    for r in 0..3u64 {
        let art = art.clone();
        readers.push(std::thread::spawn(move || {
            let mut rng = Rng(0xACE0_0000 + r);
            for _ in 0..scans {
                let from = rng.next() % n;
                let mut seen: Vec<u64> = Vec::with_capacity(300);
                let as_u64 = |k: &[u8]| u64::from_be_bytes(k.try_into().expect("8-byte keys"));
                if r == 0 {
                    // Backward, with a live cursor, from the end of the
                    // same range: the keys it meets, in ascending order.
                    let mut c = OrderedIndex::cursor(&*art);
                    let end = scan_key((from + 120).min(n - 1), STABLE);
                    let mut ok = c.seek_for_prev(&end);
                    while ok && seen.len() < 300 {
                        let k = as_u64(c.key().expect("positioned"));
                        if k < u64::from_be_bytes(scan_key(from, 0)) {
                            break;
                        }
                        seen.push(k);
                        ok = c.prev();
                    }
                    seen.reverse();
                } else {
                    art.scan(
                        std::ops::Bound::Included(&scan_key(from, 0)[..]),
                        std::ops::Bound::Unbounded,
                        &mut |k, _| {
                            seen.push(as_u64(k));
                            seen.len() < 300
                        },
                    );
                }
                assert!(
                    seen.windows(2).all(|w| w[0] < w[1]),
                    "a live walk went back"
                );
                // Every stable key from `from` up to the last key seen.
                let last = *seen.last().expect("stable keys lie ahead");
                let stable: Vec<u64> = seen
                    .iter()
                    .filter(|&&k| k as u8 == STABLE)
                    .map(|&k| k >> 8)
                    .collect();
                let want: Vec<u64> = (from..n)
                    .take_while(|&i| u64::from_be_bytes(scan_key(i, STABLE)) <= last)
                    .collect();
                assert_eq!(stable, want, "a live scan from {from} missed stable keys");
            }
        }));
    }
    finish(readers, &stop, writers, &art);
}

/// Live scans through Node256s of values (dense keys, which a forward
/// scan reads a batch of slots at a time under one validation) while
/// writers overwrite the values in place, give some slots a node (a key
/// one byte longer) or a leaf (a value too short to sit inline) and take
/// them back: every dense key from the scan's start to the last key seen
/// is met, in ascending order, each with a value of its own (a value
/// names its key, so a slot read against a stale bit, or a torn batch,
/// shows as a value naming another key or none).
#[test]
fn live_scans_through_node256s_of_values_beside_writers() {
    const N: u64 = 2048;
    let key = |i: u64| [&b"V"[..], &(i as u16).to_be_bytes()].concat();
    let value = |i: u64, g: u64, short: bool| {
        let mut v = (i as u16).to_be_bytes().to_vec();
        v.extend_from_slice(&g.to_be_bytes()[if short { 7 } else { 2 }..]);
        v
    };
    let art = Arc::new(Art::new());
    for i in 0..N {
        art.insert(&key(i), &value(i, 0, false)).unwrap();
    }
    assert!(
        art.stats().nodes[9] >= 8,
        "Node256s of values: {:?}",
        art.stats().nodes
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for t in 0..2u64 {
        let (art, stop) = (art.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let mut rng = Rng(0xD15E_0000 + t);
            let mut g = 0;
            while !stop.load(Ordering::Relaxed) {
                g += 1;
                let r = rng.next();
                let i = r % N;
                match (r >> 32) % 8 {
                    // A node below the slot, then the slot's entry again.
                    0 => {
                        art.insert(&[key(i), vec![0]].concat(), b"x").unwrap();
                    }
                    1 => {
                        art.remove(&[key(i), vec![0]].concat()).unwrap();
                    }
                    // A leaf (a 3-byte value), later inline again.
                    2 => {
                        art.insert(&key(i), &value(i, g, true)).unwrap();
                    }
                    _ => {
                        art.insert(&key(i), &value(i, g, false)).unwrap();
                    }
                }
            }
        }));
    }
    let scans = (2_000.0 * scale()) as u64;
    let mut readers = Vec::new();
    for r in 0..3u64 {
        let art = art.clone();
        readers.push(std::thread::spawn(move || {
            let mut rng = Rng(0x5CA7_0000 + r);
            for _ in 0..scans {
                let from = rng.next() % N;
                let mut seen: Vec<Vec<u8>> = Vec::with_capacity(600);
                art.scan(
                    std::ops::Bound::Included(&key(from)[..]),
                    std::ops::Bound::Unbounded,
                    &mut |k, v| {
                        if k.len() == 3 {
                            assert_eq!(
                                v.get(..2),
                                Some(&k[1..]),
                                "the value of {k:?} names another key: {v:?}"
                            );
                            assert!(v.len() == 3 || v.len() == 8, "{k:?}: {v:?}");
                        } else {
                            assert_eq!(v, b"x", "{k:?}");
                        }
                        seen.push(k.to_vec());
                        seen.len() < 600
                    },
                );
                assert!(
                    seen.windows(2).all(|w| w[0] < w[1]),
                    "a live scan went back"
                );
                let last = seen.last().expect("dense keys lie ahead").clone();
                let dense: Vec<Vec<u8>> = seen.into_iter().filter(|k| k.len() == 3).collect();
                let want: Vec<Vec<u8>> = (from..N).map(key).take_while(|k| *k <= last).collect();
                assert_eq!(dense, want, "a live scan from {from} missed dense keys");
            }
        }));
    }
    finish(readers, &stop, writers, &art);
}
