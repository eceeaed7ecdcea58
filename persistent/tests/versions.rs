//! Versions: `diff` and `changes_since` against a brute-force comparison
//! of the two versions' contents (proptest), `snapshot_at` with the
//! retention window and savepoints, the stats, and reclamation.

use ordex_core::{OrderedIndex, Snapshot, SnapshotExt};
use ordex_persistent::{Change, Config, PersistentBTree, PersistentSnapshot};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Diff {
    Added(Vec<u8>),
    Removed(Vec<u8>),
    Changed(Vec<u8>, Vec<u8>),
}

fn contents(s: &PersistentSnapshot) -> Model {
    s.collect_range::<[u8], _>(..).into_iter().collect()
}

/// The changes from `a` to `b`, by comparing every key.
fn brute_force(a: &Model, b: &Model) -> Vec<(Vec<u8>, Diff)> {
    let mut keys: Vec<&Vec<u8>> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| match (a.get(k), b.get(k)) {
            (Some(x), None) => Some((k.clone(), Diff::Removed(x.clone()))),
            (None, Some(y)) => Some((k.clone(), Diff::Added(y.clone()))),
            (Some(x), Some(y)) if x != y => Some((k.clone(), Diff::Changed(x.clone(), y.clone()))),
            _ => None,
        })
        .collect()
}

fn diff_of(a: &PersistentSnapshot, b: &PersistentSnapshot, limit: usize) -> Vec<(Vec<u8>, Diff)> {
    let mut out = Vec::new();
    let n = a.diff(b, &mut |k, c| {
        out.push((
            k.to_vec(),
            match c {
                Change::Added(v) => Diff::Added(v.to_vec()),
                Change::Removed(v) => Diff::Removed(v.to_vec()),
                Change::Changed { old, new } => Diff::Changed(old.to_vec(), new.to_vec()),
            },
        ));
        out.len() < limit
    });
    assert_eq!(n, out.len(), "diff counts the changes it reports");
    out
}

#[derive(Debug, Clone)]
enum Write {
    Put(u16, u8),
    Del(u16),
    Batch(Vec<(u16, u8)>),
}

fn key(k: u16) -> Vec<u8> {
    // Some keys long, so that nodes hold uneven bytes.
    let mut v = k.to_be_bytes().to_vec();
    if k.is_multiple_of(7) {
        v.extend_from_slice(&[b'x'; 40]);
    }
    v
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        4 => (0u16..2000, any::<u8>()).prop_map(|(k, v)| Write::Put(k, v)),
        3 => (0u16..2000).prop_map(Write::Del),
        1 => prop::collection::vec((0u16..2000, any::<u8>()), 0..40).prop_map(Write::Batch),
    ]
}

fn apply(index: &PersistentBTree, w: &Write) {
    match w {
        Write::Put(k, v) => {
            index.insert(&key(*k), &[*v; 3]).unwrap();
        }
        Write::Del(k) => {
            index.remove(&key(*k)).unwrap();
        }
        Write::Batch(b) => {
            let keys: Vec<(Vec<u8>, [u8; 3])> = b.iter().map(|(k, v)| (key(*k), [*v; 3])).collect();
            let entries: Vec<(&[u8], &[u8])> = keys.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            index.insert_batch(&entries).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// `diff` in both directions, and stopped early, agrees with the
    /// brute-force comparison; `changes_since` with `diff` from that
    /// version to the current one.
    #[test]
    fn diff_agrees_with_brute_force(
        initial in 0usize..3000,
        between in prop::collection::vec(write(), 0..60),
        after in prop::collection::vec(write(), 0..10),
        stop in 1usize..20,
    ) {
        let index = PersistentBTree::new();
        let load: Vec<(Vec<u8>, Vec<u8>)> =
            (0..initial as u16).map(|i| (key(i * 3 % 2000), vec![i as u8])).collect();
        for chunk in load.chunks(500) {
            let entries: Vec<(&[u8], &[u8])> = chunk.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            index.insert_batch(&entries).unwrap();
        }
        let a = index.snapshot_owned();
        for w in &between {
            apply(&index, w);
        }
        let b = index.snapshot_owned();
        let (ma, mb) = (contents(&a), contents(&b));
        let want = brute_force(&ma, &mb);
        prop_assert_eq!(&diff_of(&a, &b, usize::MAX), &want);
        prop_assert_eq!(diff_of(&b, &a, usize::MAX), brute_force(&mb, &ma));
        prop_assert_eq!(diff_of(&a, &a, usize::MAX), vec![]);
        let early = diff_of(&a, &b, stop);
        prop_assert_eq!(&early[..], &want[..want.len().min(stop)]);
        for w in &after {
            apply(&index, w);
        }
        let now = contents(&index.snapshot_owned());
        let mut since = Vec::new();
        let n = index.changes_since(a.seqno(), &mut |k, _| { since.push(k.to_vec()); true });
        prop_assert_eq!(n, Some(since.len()));
        let want_keys: Vec<Vec<u8>> = brute_force(&ma, &now).into_iter().map(|(k, _)| k).collect();
        prop_assert_eq!(since, want_keys);
    }
}

/// Bulk-loaded and insert-built trees of the same contents have different
/// shapes; `diff` compares contents, not shapes.
#[test]
fn diff_across_different_shapes() {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..5000u32)
        .map(|i| (i.to_be_bytes().to_vec(), vec![1]))
        .collect();
    let loaded = PersistentBTree::from_sorted(entries.iter().map(|(k, v)| (k, v))).unwrap();
    let built = PersistentBTree::new();
    for (k, v) in entries.iter().rev() {
        built.insert(k, v).unwrap();
    }
    let (a, b) = (loaded.snapshot_owned(), built.snapshot_owned());
    assert_eq!(diff_of(&a, &b, usize::MAX), vec![]);
    built.insert(&77u32.to_be_bytes(), b"x").unwrap();
    built.remove(&4999u32.to_be_bytes()).unwrap();
    let b = built.snapshot_owned();
    assert_eq!(
        diff_of(&a, &b, usize::MAX),
        vec![
            (
                77u32.to_be_bytes().to_vec(),
                Diff::Changed(vec![1], b"x".to_vec())
            ),
            (4999u32.to_be_bytes().to_vec(), Diff::Removed(vec![1])),
        ]
    );
}

#[test]
fn snapshot_at_finds_retained_versions_and_savepoints() {
    let index = PersistentBTree::with_config(Config { retain_versions: 3 });
    let mut models = vec![(index.seqno(), Model::new())];
    let mut model = Model::new();
    for i in 0..10u8 {
        let s = index.insert(&[i], &[i]).unwrap();
        model.insert(vec![i], vec![i]);
        models.push((s, model.clone()));
    }
    let current = index.seqno();
    assert_eq!(current, 10);
    // The current version and the three before it.
    for (s, m) in &models {
        let found = index.snapshot_at(*s);
        if *s + 3 >= current {
            let found = found.unwrap_or_else(|| panic!("version {s} is retained"));
            assert_eq!(found.seqno(), *s);
            assert_eq!(&contents(&found), m);
        } else {
            assert!(found.is_none(), "version {s} is beyond the window");
        }
    }
    // A savepoint outlives the window; a snapshot keeps its version alive.
    let sp = index.savepoint();
    let held = index.snapshot_owned();
    for i in 10..20u8 {
        index.insert(&[i], &[i]).unwrap();
    }
    assert_eq!(contents(&index.snapshot_at(sp).unwrap()), model);
    assert!(index.snapshot_at(held.seqno()).is_some());
    assert!(index.release_savepoint(sp));
    assert!(!index.release_savepoint(sp));
    drop(held);
    index.reclaim();
    assert!(index.snapshot_at(sp).is_none());
    // A seqno inside a batch never was a version.
    let s = index
        .insert_batch(&[(&b"p"[..], &b""[..]), (b"q", b"")])
        .unwrap();
    assert!(index.snapshot_at(s).is_some());
    assert!(index.snapshot_at(s + 1).is_none());
}

#[test]
fn stats_count_versions_and_the_bytes_only_they_hold() {
    let index = PersistentBTree::new();
    for i in 0..20_000u32 {
        index.insert(&i.to_be_bytes(), &[0; 8]).unwrap();
    }
    index.reclaim();
    let quiet = index.stats();
    assert_eq!(quiet.live_versions, 1);
    assert_eq!(quiet.old_only_bytes, 0);
    assert_eq!(quiet.len, 20_000);
    assert!(quiet.bytes >= 20_000 * 12, "{quiet:?}");
    // Tiny nodes (`--cfg ordex_small_nodes`) cost more per entry.
    let per_entry = if cfg!(ordex_small_nodes) { 400 } else { 80 };
    assert!(quiet.bytes <= 20_000 * per_entry, "{quiet:?}");

    let snap = index.snapshot_owned();
    for i in (0..20_000u32).step_by(2) {
        index.insert(&i.to_be_bytes(), &[1; 8]).unwrap();
    }
    let held = index.stats();
    assert_eq!(held.live_versions, 2, "{held:?}");
    // Every leaf was rewritten: the old version holds about a tree's worth.
    assert!(
        held.old_only_bytes > quiet.bytes / 2,
        "{held:?} vs {quiet:?}"
    );
    assert_eq!(held.bytes, held.current_bytes + held.old_only_bytes);
    // And the writer's pool: the memory of nodes it freed, for its next
    // batches (single writes free and make about a path each).
    assert_eq!(
        index.memory_usage() - held.bytes - held.pooled_bytes,
        core::mem::size_of::<PersistentBTree>()
    );
    assert!(held.pooled_bytes <= 256 << 10, "{held:?}");
    drop(snap);
    // Freed by the writer: at its next publication, or on `reclaim`.
    assert_eq!(index.stats().live_versions, 2);
    index.reclaim();
    let after = index.stats();
    assert_eq!(
        (after.live_versions, after.old_only_bytes),
        (1, 0),
        "{after:?}"
    );
}

/// A snapshot may outlive its index: it keeps its whole version readable,
/// and dropping it frees that version (through the nodes' stack-based
/// drop; the drop check of the conformance suite counts the bytes).
#[test]
fn dropping_a_snapshot_after_its_index_frees_the_tree() {
    let index =
        PersistentBTree::from_sorted((0..200_000u32).map(|i| (i.to_be_bytes(), [0u8; 0]))).unwrap();
    let snap = index.snapshot_owned();
    drop(index);
    assert_eq!(snap.len(), 200_000);
    assert!(snap.contains(&199_999u32.to_be_bytes()));
    drop(snap);
}

/// A long run of writes with snapshots taken and released at random:
/// once every snapshot is dropped and the writer has swept, only the
/// current version is alive and no byte is held for an old one.
#[test]
fn memory_returns_to_one_version_after_random_snapshots() {
    let index = PersistentBTree::new();
    let mut held: Vec<PersistentSnapshot> = Vec::new();
    let mut x = 99u64;
    for i in 0..6000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = ((x % 3000) as u32).to_be_bytes();
        if x.is_multiple_of(5) {
            index.remove(&k).unwrap();
        } else {
            index.insert(&k, &i.to_le_bytes()).unwrap();
        }
        match x % 11 {
            0 => held.push(index.snapshot_owned()),
            1 if !held.is_empty() => {
                let s = held.swap_remove((x as usize / 11) % held.len());
                assert!(s.seqno() <= index.seqno());
            }
            _ => {}
        }
    }
    assert!(index.stats().live_versions > 1);
    drop(held);
    index.reclaim();
    let stats = index.stats();
    assert_eq!(
        (stats.live_versions, stats.old_only_bytes),
        (1, 0),
        "{stats:?}"
    );
    assert_eq!(stats.bytes, stats.current_bytes);
}

/// Long values live out of line, shared by every copy of their leaf: a
/// write next to them copies a root-to-leaf path of small nodes, not the
/// values (each leaf here holds about 100 KiB of them). The stats count
/// each shared value once.
#[test]
fn a_write_copies_no_long_value() {
    let index =
        PersistentBTree::from_sorted((0..2000u32).map(|i| (i.to_be_bytes(), vec![i as u8; 4096])))
            .unwrap();
    let whole = index.stats();
    assert!(whole.bytes >= 2000 * 4096, "{whole:?}");
    assert!(whole.bytes < 2000 * (4096 + 200), "{whole:?}");
    let snap = index.snapshot_owned();
    index.insert(&1000u32.to_be_bytes(), b"short now").unwrap();
    index.insert(&1001u32.to_be_bytes(), &[9; 5000]).unwrap();
    let after = index.stats();
    // The old version alone holds the copied path and the two values it
    // had for the keys written; nothing else.
    assert!(after.old_only_bytes < 2 * 4096 + 8192, "{after:?}");
    assert!(after.old_only_bytes >= 2 * 4096, "{after:?}");
    assert_eq!(
        snap.get_copied(&1001u32.to_be_bytes()),
        Some(vec![(1001 % 256) as u8; 4096])
    );
    assert_eq!(
        index.get_copied(&1001u32.to_be_bytes()),
        Some(vec![9; 5000])
    );
}

/// The writer keeps the memory of the nodes it frees for its next
/// batches, within its bound, counts it in `memory_usage`, and gives it
/// back once batches stop asking for it.
#[test]
fn the_writers_pool_is_bounded_and_given_back_when_idle() {
    let index = PersistentBTree::new();
    let key = |i: u64| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_be_bytes();
    for chunk in (0..60_000u64).collect::<Vec<_>>().chunks(3_000) {
        let keys: Vec<[u8; 8]> = chunk.iter().map(|&i| key(i)).collect();
        let entries: Vec<(&[u8], &[u8])> = keys.iter().map(|k| (&k[..], &[7u8; 8][..])).collect();
        index.insert_batch(&entries).unwrap();
    }
    let busy = index.stats();
    assert!(
        busy.pooled_bytes > 0,
        "batches leave memory to reuse: {busy:?}"
    );
    assert!(busy.pooled_bytes <= 8 << 20, "{busy:?}");
    assert_eq!(
        index.memory_usage(),
        core::mem::size_of::<PersistentBTree>() + busy.bytes + busy.pooled_bytes
    );
    // Every entry is still there, read from nodes made of reused memory.
    for i in 0..60_000u64 {
        assert_eq!(index.get_copied(&key(i)), Some(vec![7u8; 8]), "key {i}");
    }
    index.check_structure().unwrap();
    // Sweeps that ask for nothing give the pool back down to its floor.
    index.reclaim();
    index.reclaim();
    let idle = index.stats();
    assert!(idle.pooled_bytes <= 256 << 10, "{idle:?}");
    assert_eq!(idle.bytes, busy.bytes);
}
