//! `split_off` and `append` against a `BTreeMap` model: for many sizes and
//! shapes, every cut position of small trees, sampled ones of large trees,
//! appends of disjoint trees of very different heights and of overlapping
//! ones; the structure check on every tree involved, snapshots taken
//! before, both trees going on afterwards (writes, scans, cursors), seqnos,
//! stats, transactions, group commit with concurrent writers; and that a
//! cut or a graft allocates a path, not a tree (the counting allocator).
//! Run also under `--cfg ordex_small_nodes` (`.ci/small-nodes.sh`), where
//! trees are many levels tall and every cut rebalances long spines.

use ordex_core::{Cursor, Error, OrderedIndex, OrderedIndexExt, SnapshotExt};
use ordex_persistent::node::{INNER_CAP, LEAF_CAP, MAX_KEY_LEN};
use ordex_persistent::{PersistentBTree, PersistentSnapshot};
use ordex_testkit::alloc::{count_allocations, installed};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound;

#[global_allocator]
static ALLOC: ordex_testkit::alloc::CountingAllocator = ordex_testkit::alloc::CountingAllocator;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Key `i`: `2i` big-endian, and for every seventh a 20-byte tail (so
/// nodes hold uneven bytes); the odd numbers between are absent keys.
fn key(i: u32) -> Vec<u8> {
    let mut k = (2 * i).to_be_bytes().to_vec();
    if i.is_multiple_of(7) {
        k.extend_from_slice(&[b'x'; 20]);
    }
    k
}

/// A key between `key(i)` and `key(i + 1)`, present in no tree here.
fn gap(i: u32) -> Vec<u8> {
    (2 * i + 1).to_be_bytes().to_vec()
}

/// A value naming its key and `tag`; every thirteenth is long (out of
/// line).
fn value(i: u32, tag: u8) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&i.to_le_bytes());
    if i.is_multiple_of(13) {
        v.resize(300, tag);
    }
    v
}

fn entries(range: std::ops::Range<u32>, tag: u8) -> Model {
    range.map(|i| (key(i), value(i, tag))).collect()
}

/// A bulk-loaded index (full nodes).
fn loaded(model: &Model) -> PersistentBTree {
    PersistentBTree::from_sorted(model.iter()).unwrap()
}

/// An index built by inserts in a scrambled order and a few removes
/// (nodes of every fill), and its model.
fn built(model: &Model, seed: u64) -> (PersistentBTree, Model) {
    let index = PersistentBTree::new();
    let mut keys: Vec<&Vec<u8>> = model.keys().collect();
    let mut x = seed | 1;
    for i in (1..keys.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        keys.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let mut kept = model.clone();
    for (n, k) in keys.iter().enumerate() {
        index.insert(k, &model[*k]).unwrap();
        // Insert some twice, remove some.
        if n % 11 == 3 {
            index.insert(k, &model[*k]).unwrap();
        }
    }
    for k in keys.iter().step_by(9) {
        index.remove(k).unwrap();
        kept.remove(*k);
    }
    (index, kept)
}

/// A new index holding `snapshot`'s version (an append into an empty
/// index: it shares the whole tree).
fn fork(snapshot: &PersistentSnapshot) -> PersistentBTree {
    let index = PersistentBTree::new();
    index.append(snapshot).unwrap();
    index
}

fn contents(index: &PersistentBTree) -> Model {
    index.collect_range::<[u8], _>(..).into_iter().collect()
}

fn snapshot_contents(s: &PersistentSnapshot) -> Model {
    s.collect_range::<[u8], _>(..).into_iter().collect()
}

fn split_model(model: &Model, at: &[u8]) -> (Model, Model) {
    let mut low = model.clone();
    let high = low.split_off(at);
    (low, high)
}

/// Everything one can ask of an index against its model: contents, len,
/// structure, stats, and cursors both ways and from seeks.
fn agrees(index: &PersistentBTree, model: &Model, what: &str) {
    index
        .check_structure()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(index.len(), model.len(), "{what}: len");
    assert_eq!(&contents(index), model, "{what}: contents");
    let stats = index.stats();
    assert_eq!(stats.len, model.len(), "{what}: stats");
    assert_eq!(stats.bytes, stats.current_bytes + stats.old_only_bytes);
    let mut c = index.cursor();
    let mut forward = Vec::new();
    let mut ok = c.first();
    while ok {
        forward.push((c.key().unwrap().to_vec(), c.value().unwrap().to_vec()));
        ok = c.next();
    }
    assert!(
        forward.iter().cloned().eq(model.clone()),
        "{what}: cursor forward"
    );
    let mut backward = Vec::new();
    let mut ok = c.last();
    while ok {
        backward.push(c.key().unwrap().to_vec());
        ok = c.prev();
    }
    assert!(
        backward.iter().rev().eq(model.keys()),
        "{what}: cursor backward"
    );
    for probe in [0u32, 1, 5, 100, 1000, 100_000] {
        for k in [key(probe), gap(probe)] {
            c.seek(&k);
            let want = model.range(k.clone()..).next().map(|(k, _)| k.as_slice());
            assert_eq!(c.key(), want, "{what}: seek");
            c.seek_for_prev(&k);
            let want = model
                .range(..=k.clone())
                .next_back()
                .map(|(k, _)| k.as_slice());
            assert_eq!(c.key(), want, "{what}: seek_for_prev");
        }
    }
}

/// Writes, removes and a batch on `index` (and `model`), then checks it.
fn keeps_working(index: &PersistentBTree, model: &mut Model, seed: u32, what: &str) {
    for j in 0..40u32 {
        let i = (seed.wrapping_mul(31) + j * 97) % 3000;
        if j % 3 == 0 {
            let removed = index.remove(&key(i)).unwrap();
            assert_eq!(removed, model.remove(&key(i)).is_some(), "{what}: remove");
        } else {
            index.insert(&key(i), &value(i, 9)).unwrap();
            model.insert(key(i), value(i, 9));
        }
    }
    let batch: Vec<(Vec<u8>, Vec<u8>)> = (0..10).map(|j| (gap(seed + j), vec![7])).collect();
    let refs: Vec<(&[u8], &[u8])> = batch.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    index.insert_batch(&refs).unwrap();
    model.extend(batch);
    agrees(index, model, what);
}

/// Cuts `index` (holding `model`) at `at` and checks everything.
fn check_split(index: &PersistentBTree, model: &Model, at: &[u8], what: &str) {
    let before = index.snapshot_owned();
    let seqno = index.seqno();
    let high = index.split_off(at).unwrap();
    let (low_m, high_m) = split_model(model, at);
    agrees(index, &low_m, &format!("{what}: kept"));
    agrees(&high, &high_m, &format!("{what}: moved"));
    if high_m.is_empty() {
        assert_eq!(
            (index.seqno(), high.seqno()),
            (seqno, 0),
            "{what}: nothing moved"
        );
    } else {
        assert_eq!(
            (index.seqno(), high.seqno()),
            (seqno + 1, 1),
            "{what}: seqnos"
        );
    }
    // The version before the cut is whole.
    before.check_structure().unwrap();
    assert_eq!(before.len(), model.len());
    assert_eq!(&snapshot_contents(&before), model, "{what}: snapshot");
}

/// Sizes around the node capacities and beyond.
fn sizes() -> Vec<u32> {
    let (l, i) = (LEAF_CAP as u32, INNER_CAP as u32);
    vec![
        0,
        1,
        2,
        3,
        l - 1,
        l,
        l + 1,
        2 * l + 1,
        l * i - 1,
        l * i,
        l * i + 1,
        l * i * 2 + 3,
        3000,
    ]
}

#[test]
fn split_off_at_every_position_of_small_trees() {
    for n in [0u32, 1, 2, 3, 4, 5, 9, 17, 33, 70, 150] {
        let full = entries(0..n, 0);
        let (grown, grown_m) = built(&full, u64::from(n) + 1);
        for (name, source, model) in [("loaded", loaded(&full), &full), ("built", grown, &grown_m)]
        {
            let snap = source.snapshot_owned();
            // Before all, every key, every gap, after all.
            let mut cuts = vec![Vec::new(), vec![0xff; 5]];
            for i in 0..=n {
                cuts.push(key(i));
                cuts.push(gap(i));
            }
            for at in cuts {
                let index = fork(&snap);
                check_split(&index, model, &at, &format!("{name} {n} at {at:?}"));
            }
        }
    }
}

#[test]
fn split_off_large_trees_at_sampled_positions() {
    for n in sizes() {
        let full = entries(0..n, 0);
        let (grown, grown_m) = built(&full, u64::from(n) + 5);
        for (name, source, model) in [
            ("loaded", loaded(&full), full.clone()),
            ("built", grown, grown_m),
        ] {
            let snap = source.snapshot_owned();
            let mut points: Vec<u32> = vec![0, 1, n / 2, n.saturating_sub(1), n, n + 1];
            points.extend((1..12).map(|j| j * n / 12));
            for p in points {
                for at in [key(p), gap(p)] {
                    let index = fork(&snap);
                    let what = format!("{name} {n} at {p}");
                    check_split(&index, &model, &at, &what);
                    // Both halves go on as indexes of their own.
                    let mut low = split_model(&model, &at).0;
                    keeps_working(&index, &mut low, p, &format!("{what}: kept, after"));
                    let high = index.split_off(&at).unwrap();
                    let mut high_m = low.split_off(&at);
                    agrees(&high, &high_m, &format!("{what}: second cut"));
                    keeps_working(&high, &mut high_m, p + 1, &format!("{what}: moved, after"));
                }
            }
        }
    }
}

/// Cut, cut again, and put back together: the pieces rejoin into the
/// whole, each join a graft (the pieces do not interleave).
#[test]
fn pieces_of_repeated_cuts_append_back_into_the_whole() {
    let n = 3000;
    let model = entries(0..n, 0);
    let index = loaded(&model);
    let mut pieces = Vec::new();
    for at in [2500u32, 1700, 1699, 900, 12, 11, 0] {
        pieces.push(index.split_off(&key(at)).unwrap());
        index.check_structure().unwrap();
    }
    pieces.push(index);
    // Every piece, lowest first, appended onto one index.
    let whole = PersistentBTree::new();
    for piece in pieces.iter().rev() {
        piece.check_structure().unwrap();
        whole.append(&piece.snapshot_owned()).unwrap();
        whole.check_structure().unwrap();
    }
    agrees(&whole, &model, "rejoined");
    // And highest first (each append lands below everything).
    let whole = PersistentBTree::new();
    for piece in &pieces {
        whole.append(&piece.snapshot_owned()).unwrap();
    }
    agrees(&whole, &model, "rejoined from the top");
}

#[test]
fn append_of_disjoint_trees_of_every_height() {
    let small = [0u32, 1, 2, 3, 5, LEAF_CAP as u32, LEAF_CAP as u32 + 1];
    let large = [(LEAF_CAP * INNER_CAP) as u32 + 1, 2500, 20_000];
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for &a in small.iter().chain(&large) {
        for &b in small.iter().chain(&large[..2]) {
            pairs.push((a, b));
        }
    }
    for (na, nb) in pairs {
        let a_model = entries(0..na, 1);
        let b_model = entries(na..na + nb, 2);
        let mut both = a_model.clone();
        both.extend(b_model.clone());
        for (a_built, b_built) in [(false, false), (true, false), (false, true)] {
            let (a, a_m) = if a_built {
                built(&a_model, 3)
            } else {
                (loaded(&a_model), a_model.clone())
            };
            let (b, b_m) = if b_built {
                built(&b_model, 4)
            } else {
                (loaded(&b_model), b_model.clone())
            };
            let mut want = a_m.clone();
            want.extend(b_m.clone());
            let what = format!("{na} ({a_built}) + {nb} ({b_built})");
            // Above: `b` onto `a`.
            let low = fork(&a.snapshot_owned());
            let before = low.snapshot_owned();
            let s = low.seqno();
            let got = low.append(&b.snapshot_owned()).unwrap();
            assert_eq!(got, if b_m.is_empty() { s } else { s + 1 }, "{what}");
            assert_eq!(low.seqno(), got);
            agrees(&low, &want, &format!("{what}: above"));
            assert_eq!(snapshot_contents(&before), a_m, "{what}: snapshot");
            // Below: `a` onto `b`.
            let high = fork(&b.snapshot_owned());
            high.append(&a.snapshot_owned()).unwrap();
            agrees(&high, &want, &format!("{what}: below"));
            // The appended index is unchanged.
            agrees(&a, &a_m, &format!("{what}: a"));
            agrees(&b, &b_m, &format!("{what}: b"));
        }
    }
}

/// `other` within one gap of the receiving index (odd keys between two
/// of its keys): cut and joined, no entry merged.
#[test]
fn append_into_a_gap() {
    let model = entries(0..3000, 0);
    let index = loaded(&model);
    let other = PersistentBTree::new();
    let mut other_m = Model::new();
    // Between key(1234) and key(1235): 2·1234 + 1 with tails.
    for t in 0..200u32 {
        let mut k = gap(1234);
        k.extend_from_slice(&t.to_be_bytes());
        other.insert(&k, &[3]).unwrap();
        other_m.insert(k, vec![3]);
    }
    let (_, allocs) = count_allocations(|| index.append(&other.snapshot_owned()).unwrap());
    let mut want = model.clone();
    want.extend(other_m);
    agrees(&index, &want, "gap");
    assert!(
        allocs < 600,
        "an append into a gap allocated {allocs} times"
    );
}

#[test]
fn append_of_overlapping_trees_agrees_with_btreemap_append() {
    for (a_range, b_range) in [
        (0..100, 50..150),
        (0..3000, 1000..1010),
        (1000..1010, 0..3000),
        (0..3000, 0..3000),
        (0..2000, 1999..2600),
        (500..600, 0..1000),
    ] {
        let a_model = entries(a_range.clone(), 1);
        // Every other key of `b`'s range, so the two interleave.
        let b_model: Model = b_range
            .clone()
            .filter(|i| i % 2 == 0 || *i % 5 == 0)
            .map(|i| (key(i), value(i, 2)))
            .collect();
        let (a, a_m) = built(&a_model, 7);
        let b = loaded(&b_model);
        let mut want = a_m.clone();
        want.append(&mut b_model.clone());
        let before = a.snapshot_owned();
        let s = a.seqno();
        assert_eq!(a.append(&b.snapshot_owned()).unwrap(), s + 1);
        let what = format!("{a_range:?} + {b_range:?}");
        agrees(&a, &want, &what);
        assert_eq!(snapshot_contents(&before), a_m, "{what}: snapshot");
        agrees(&b, &b_model, &format!("{what}: b unchanged"));
        keeps_working(&a, &mut want, 3, &format!("{what}: after"));
        // An index appended to itself stays the same, one seqno later.
        let s = a.seqno();
        assert_eq!(a.append(&a.snapshot_owned()).unwrap(), s + 1);
        agrees(&a, &want, &format!("{what}: self"));
    }
}

/// A cut or a graft copies the nodes of a few root-to-leaf paths and
/// shares the rest: its allocations grow with the height, not with the
/// entries. (An implementation copying the entries, or every node, would
/// allocate for each of the thousands of leaves.)
#[test]
fn split_off_and_append_allocate_a_path_not_a_tree() {
    assert!(installed(), "the counting allocator is installed");
    let n = 200_000u32;
    let model = entries(0..n, 0);
    let index = loaded(&model);
    let height = index.stats().height;
    let leaves = n as usize / LEAF_CAP;
    // Per level: a fragment on each side of the cut, a spine node copied
    // or split by a join, each a few allocations (node, buffer,
    // children), and the published version.
    let bound = 40 * (height as u64 + 1) + 20;
    assert!(
        bound * 20 < leaves as u64,
        "the bound tells a path from a tree"
    );
    let held = index.snapshot_owned();
    for at in [n / 2, n / 3 + 1, 7, n - 3] {
        for cut in [key(at), gap(at)] {
            let (high, allocs) = count_allocations(|| index.split_off(&cut).unwrap());
            assert!(
                allocs <= bound,
                "split_off at {at} (height {height}) allocated {allocs} times, bound {bound}"
            );
            index.check_structure().unwrap();
            high.check_structure().unwrap();
            assert_eq!(index.len() + high.len(), n as usize);
            let snap = high.snapshot_owned();
            let (_, allocs) = count_allocations(|| index.append(&snap).unwrap());
            assert!(
                allocs <= bound,
                "append back at {at} (height {height}) allocated {allocs} times, bound {bound}"
            );
            assert_eq!(index.len(), n as usize);
            index.check_structure().unwrap();
        }
    }
    assert_eq!(contents(&index), model);
    // Grafts of a tiny tree onto a tall one and of a tall one onto a tiny
    // one.
    let tiny = loaded(&entries(n..n + 3, 1));
    let (_, allocs) = count_allocations(|| index.append(&tiny.snapshot_owned()).unwrap());
    assert!(allocs <= bound, "graft of 3 entries: {allocs}");
    let below = loaded(&entries(0..0, 1));
    below.insert(b"", b"first").unwrap();
    let (_, allocs) = count_allocations(|| below.append(&index.snapshot_owned()).unwrap());
    assert!(allocs <= bound, "graft onto 1 entry: {allocs}");
    below.check_structure().unwrap();
    assert_eq!(below.len(), n as usize + 4);
    drop(held);
}

/// The stats of the two indexes count each node once between them (the
/// cut shares subtrees, it does not duplicate them), and once the version
/// before the cut is gone, neither holds bytes for old versions.
#[test]
fn stats_after_a_cut() {
    let model = entries(0..20_000, 0);
    let index = loaded(&model);
    let whole = index.stats();
    let snap = index.snapshot_owned();
    let high = index.split_off(&key(7_777)).unwrap();
    let (a, b) = (index.stats(), high.stats());
    assert_eq!((a.len, b.len), (7_777, 20_000 - 7_777));
    assert_eq!((a.live_versions, b.live_versions), (2, 1));
    assert_eq!((a.batches, b.batches), (1, 0));
    // The old version holds the path it had, and the subtrees now only the
    // new index reaches.
    assert!(a.old_only_bytes > 0);
    drop(snap);
    index.reclaim();
    let a = index.stats();
    assert_eq!((a.live_versions, a.old_only_bytes), (1, 0));
    // Between them, the two trees hold the whole tree's bytes, give or
    // take the nodes of the cut.
    let sum = (a.current_bytes + b.current_bytes) as isize;
    let slack = 16 * (whole.height as isize + 2) * 4096;
    assert!(
        (sum - whole.current_bytes as isize).abs() < slack,
        "{sum} against {} before the cut",
        whole.current_bytes
    );
    // The writer's pool (the memory of nodes it freed, for its next
    // batches) counts too, and keeps no more than its bound.
    assert_eq!(
        index.memory_usage(),
        a.bytes + a.pooled_bytes + core::mem::size_of::<PersistentBTree>()
    );
    assert!(a.pooled_bytes <= 8 << 20);
}

#[test]
fn a_refused_cut_changes_nothing() {
    let model = entries(0..500, 0);
    let index = loaded(&model);
    let s = index.seqno();
    let long = vec![1u8; MAX_KEY_LEN + 1];
    assert!(matches!(
        index.split_off(&long),
        Err(Error::KeyTooLarge { .. })
    ));
    assert_eq!(index.seqno(), s);
    agrees(&index, &model, "refused");
    // A key of the longest length is accepted.
    let high = index.split_off(&vec![0xff; MAX_KEY_LEN]).unwrap();
    assert!(high.is_empty());
    assert_eq!(index.seqno(), s, "nothing moved: no write");
}

#[test]
fn empty_indexes() {
    let a = PersistentBTree::new();
    let b = a.split_off(b"k").unwrap();
    assert!(a.is_empty() && b.is_empty());
    assert_eq!((a.seqno(), b.seqno()), (0, 0));
    assert_eq!(a.append(&b.snapshot_owned()).unwrap(), 0);
    agrees(&a, &Model::new(), "empty");
    a.insert(b"k", b"v").unwrap();
    let c = a.split_off(b"").unwrap();
    assert!(a.is_empty() && c.len() == 1);
    assert_eq!((a.seqno(), c.seqno()), (2, 1));
    a.check_structure().unwrap();
    c.check_structure().unwrap();
}

/// The cut and the append are writes in the sense of snapshot
/// isolation: a transaction whose snapshot predates one conflicts if it
/// writes into the range the cut or the append wrote.
#[test]
fn transactions_conflict_with_the_ranges_written() {
    let model = entries(0..1000, 0);
    let index = loaded(&model);
    let mut inside = index.begin();
    let mut outside = index.begin();
    inside.insert(&gap(700), b"t").unwrap();
    outside.insert(&gap(100), b"t").unwrap();
    let high = index.split_off(&key(500)).unwrap();
    assert_eq!(inside.commit(), Err(Error::Conflict));
    assert!(outside.commit().is_ok());
    assert_eq!(index.len(), 501);

    let mut inside = index.begin();
    let mut above = index.begin();
    inside.remove(&key(800)).unwrap();
    above.insert(&gap(2000), b"t").unwrap();
    // `high` holds key(500)..=key(999).
    index.append(&high.snapshot_owned()).unwrap();
    assert_eq!(inside.commit(), Err(Error::Conflict));
    assert!(above.commit().is_ok());
    let mut want = model;
    want.insert(gap(100), b"t".to_vec());
    want.insert(gap(2000), b"t".to_vec());
    agrees(&index, &want, "after the transactions");
    assert_eq!(index.stats().write_log, 0, "the log empties");
}

/// Writers keep inserting through group commit while one thread cuts:
/// every key lands in exactly one of the two indexes, none is lost, and
/// the moved keys are all at or above the cut.
#[test]
fn cuts_among_concurrent_writers() {
    let index = loaded(&entries(0..2000, 0));
    let at = key(1000);
    let threads = 3u32;
    let per = 300u32;
    let high = std::thread::scope(|s| {
        for t in 0..threads {
            let index = &index;
            s.spawn(move || {
                for j in 0..per {
                    let i = 5000 + j * threads + t;
                    // Half below the cut, half above.
                    let k = if j % 2 == 0 { gap(i % 1000) } else { key(i) };
                    let mut k = k;
                    k.extend_from_slice(&t.to_be_bytes());
                    k.extend_from_slice(&j.to_be_bytes());
                    index.insert(&k, &[t as u8]).unwrap();
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        index.split_off(&at).unwrap()
    });
    index.check_structure().unwrap();
    high.check_structure().unwrap();
    let (kept, moved) = (contents(&index), contents(&high));
    assert!(moved.keys().all(|k| *k >= at));
    assert!(kept.keys().all(|k| !moved.contains_key(k)));
    assert_eq!(kept.len() + moved.len(), 2000 + (threads * per) as usize);
    for i in 0..2000 {
        assert!(kept.contains_key(&key(i)) != moved.contains_key(&key(i)));
    }
}

#[derive(Debug, Clone)]
enum Step {
    Put(usize, u16, u8),
    Del(usize, u16),
    Split(usize, u16, bool),
    Append(usize, usize),
    /// Appends a held snapshot (an old version: its index may have
    /// rewritten the paths it reads since).
    AppendHeld(usize, usize),
    Snap(usize),
}

fn pkey(k: u16) -> Vec<u8> {
    key(u32::from(k))
}

fn step() -> impl Strategy<Value = Step> {
    let which = 0usize..4;
    prop_oneof![
        4 => (which.clone(), 0u16..3000, any::<u8>()).prop_map(|(w, k, v)| Step::Put(w, k, v)),
        2 => (which.clone(), 0u16..3000).prop_map(|(w, k)| Step::Del(w, k)),
        2 => (which.clone(), 0u16..3000, any::<bool>()).prop_map(|(w, k, g)| Step::Split(w, k, g)),
        2 => (which.clone(), which.clone()).prop_map(|(a, b)| Step::Append(a, b)),
        1 => (which.clone(), 0usize..8).prop_map(|(a, h)| Step::AppendHeld(a, h)),
        1 => which.prop_map(Step::Snap),
    ]
}

fn run(initial: u16, steps: &[Step]) -> Result<(), TestCaseError> {
    let model: Model = (0..initial)
        .map(|i| (pkey(i * 3 % 3000), vec![i as u8]))
        .collect();
    let mut pool = vec![(loaded(&model), model)];
    let mut held: Vec<(PersistentSnapshot, Model)> = Vec::new();
    for step in steps {
        let n = pool.len();
        match *step {
            Step::Put(w, k, v) => {
                let (index, m) = &mut pool[w % n];
                let value = if v % 16 == 0 {
                    vec![v; 400]
                } else {
                    vec![v; 3]
                };
                index.insert(&pkey(k), &value).unwrap();
                m.insert(pkey(k), value);
            }
            Step::Del(w, k) => {
                let (index, m) = &mut pool[w % n];
                prop_assert_eq!(
                    index.remove(&pkey(k)).unwrap(),
                    m.remove(&pkey(k)).is_some()
                );
            }
            Step::Split(w, k, in_gap) => {
                let at = if in_gap { gap(u32::from(k)) } else { pkey(k) };
                let (index, m) = &mut pool[w % n];
                let high = index.split_off(&at).unwrap();
                let high_m = m.split_off(&at);
                index.check_structure().map_err(TestCaseError::fail)?;
                high.check_structure().map_err(TestCaseError::fail)?;
                prop_assert_eq!(high.len(), high_m.len());
                if pool.len() == 4 {
                    pool.pop();
                }
                pool.push((high, high_m));
            }
            Step::Append(a, b) => {
                let snap = pool[b % n].0.snapshot_owned();
                let mut other = pool[b % n].1.clone();
                let (index, m) = &mut pool[a % n];
                index.append(&snap).unwrap();
                m.append(&mut other);
                index.check_structure().map_err(TestCaseError::fail)?;
            }
            Step::AppendHeld(a, h) => {
                if held.is_empty() {
                    continue;
                }
                let (snap, held_m) = &held[h % held.len()];
                let mut other = held_m.clone();
                let (index, m) = &mut pool[a % n];
                index.append(snap).unwrap();
                m.append(&mut other);
                index.check_structure().map_err(TestCaseError::fail)?;
            }
            Step::Snap(w) => {
                let (index, m) = &pool[w % n];
                held.push((index.snapshot_owned(), m.clone()));
            }
        }
        for (index, m) in &pool {
            prop_assert_eq!(index.len(), m.len());
        }
        // Every snapshot still reads its version, after every step (a
        // node an old version reads, freed or rewritten, shows here).
        for (snap, m) in &held {
            snap.check_structure().map_err(TestCaseError::fail)?;
            prop_assert_eq!(&snapshot_contents(snap), m, "a snapshot after {:?}", step);
        }
    }
    for (index, m) in &pool {
        index.check_structure().map_err(TestCaseError::fail)?;
        prop_assert_eq!(&contents(index), m);
    }
    for (snap, m) in &held {
        snap.check_structure().map_err(TestCaseError::fail)?;
        prop_assert_eq!(&snapshot_contents(snap), m);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random writes, cuts and appends across up to four indexes, with
    /// snapshots kept along the way, against `BTreeMap`s doing the same
    /// (`split_off`, `append`).
    #[test]
    fn cuts_appends_and_writes_agree_with_btreemaps(
        initial in 0u16..1500,
        steps in prop::collection::vec(step(), 1..60),
    ) {
        run(initial, &steps)?;
    }
}

/// Scans of both halves with bounds around the cut.
#[test]
fn scans_around_the_cut() {
    let model = entries(0..1000, 0);
    let index = loaded(&model);
    let high = index.split_off(&gap(400)).unwrap();
    let mut n = 0;
    index.scan(Bound::Included(&key(390)), Bound::Unbounded, &mut |_, _| {
        n += 1;
        true
    });
    assert_eq!(n, 11);
    let mut first = None;
    high.scan(Bound::Unbounded, Bound::Excluded(&key(403)), &mut |k, _| {
        first.get_or_insert(k.to_vec());
        true
    });
    assert_eq!(first, Some(key(401)));
    assert_eq!(high.collect_range::<Vec<u8>, _>(..key(403)).len(), 2);
}

/// A snapshot keeps reading its version when the index is written, cut
/// whole into a new index, and the new index writes the same paths: the
/// nodes it reads through (hollow ones, whose references later copies
/// took over) stay alive until it goes, although another index now
/// holds the subtree.
#[test]
fn a_snapshot_outlives_rewrites_of_its_subtree_in_a_cut_off_index() {
    let model: Model = (0..961u16)
        .map(|i| (pkey(i * 3 % 3000), vec![i as u8]))
        .collect();
    let a = loaded(&model);
    let s = a.snapshot_owned();
    let intact = |what: &str| {
        s.check_structure()
            .unwrap_or_else(|e| panic!("after {what}: {e}"));
        assert_eq!(snapshot_contents(&s), model, "after {what}");
    };
    a.insert(&pkey(13), &[0u8; 400]).unwrap();
    a.insert(&pkey(739), &[0u8; 400]).unwrap();
    intact("two writes");
    let b = a.split_off(&pkey(0)).unwrap();
    intact("the cut");
    for k in [768, 13, 739, 0, 2999] {
        b.insert(&pkey(k), &[1u8; 400]).unwrap();
        b.remove(&pkey(k + 1)).unwrap();
        intact("writes to the cut-off index");
    }
    drop(a);
    intact("the index dropped");
    for k in 0..400 {
        b.remove(&pkey(k * 7 % 3000)).unwrap();
    }
    intact("removes in the cut-off index");
    drop(b);
    intact("both indexes dropped");
}

/// An append of an old snapshot, whose index has since rewritten the
/// paths it reads (so the nodes on them are hollow: their copies took
/// over their references), takes in copies of those nodes: the index
/// appended to and the snapshot's own index then go on writing and
/// dropping independently, and all three read what they should.
#[test]
fn append_of_an_old_snapshot_copies_the_nodes_its_index_rewrote() {
    let old_model = entries(0..3000, 1);
    let source = loaded(&old_model);
    let old = source.snapshot_owned();
    for i in (0..3000).step_by(5) {
        source.insert(&key(i), b"rewritten").unwrap();
    }
    for i in (1..3000).step_by(7) {
        source.remove(&key(i)).unwrap();
    }
    let target = PersistentBTree::new();
    target.insert(&gap(5000), b"above").unwrap();
    target.append(&old).unwrap();
    target.check_structure().unwrap();
    let mut want = old_model.clone();
    want.insert(gap(5000), b"above".to_vec());
    assert_eq!(contents(&target), want);
    // Both go on: the source rewrites and drops its paths, the target
    // writes into what it took in.
    for i in (0..3000).step_by(3) {
        source.insert(&key(i), b"again").unwrap();
        target.insert(&key(i), b"target").unwrap();
        want.insert(key(i), b"target".to_vec());
    }
    drop(source);
    target.check_structure().unwrap();
    assert_eq!(contents(&target), want);
    old.check_structure().unwrap();
    assert_eq!(snapshot_contents(&old), old_model);
    drop(old);
    assert_eq!(contents(&target), want);
}
