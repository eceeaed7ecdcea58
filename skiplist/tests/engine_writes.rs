//! Writes at caller-given seqnos as an MVCC engine makes them: the
//! duplicate policy (`Duplicates::Reject` and `LaterWins`), batches at one
//! seqno (`write_batch_at`: all or nothing, a later entry winning), the
//! counts a flush reads (`version_count`, `tombstone_count`, `len`) and
//! `max_seqno`, against a model; every refusal leaves the table unchanged;
//! and threads writing the same (key, seqno) at once.

use ordex_core::{Error, OrderedIndex};
use ordex_skiplist::{Config, Duplicates, SkipList, WriteAtError};
use proptest::prelude::*;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// (key, seqno descending) -> value (`None`: a tombstone): table order.
type Model = BTreeMap<(Vec<u8>, Reverse<u64>), Option<Vec<u8>>>;

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(&[0u8, 1, b'a', 0xff][..]), 0..3)
}

fn value() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::weighted(0.75, prop::collection::vec(any::<u8>(), 0..6))
}

/// One write: a single `insert_at`/`delete_at`, or a batch at one seqno.
#[derive(Debug, Clone)]
enum Op {
    One(Vec<u8>, u64, Option<Vec<u8>>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key(), 1u64..12, value()).prop_map(|(k, s, v)| Op::One(k, s, v)),
        (prop::collection::vec((key(), value()), 0..6), 1u64..12)
            .prop_map(|(e, s)| Op::Batch(e, s)),
    ]
}

fn table(duplicates: Duplicates) -> SkipList {
    SkipList::with_config(Config {
        duplicates,
        ..Config::default()
    })
}

/// A write's entries: key and value (`None`: a tombstone).
type Entries<'a> = &'a [(&'a [u8], Option<&'a [u8]>)];

/// Every version (key, seqno, value), then the version, tombstone and live
/// counts and `max_seqno`.
type Contents = (
    Vec<(Vec<u8>, u64, Option<Vec<u8>>)>,
    usize,
    usize,
    usize,
    u64,
);

/// Everything a reader or a flush can see, for comparing a table before
/// and after a refused write.
fn contents(t: &SkipList) -> Contents {
    let versions = t
        .versions()
        .map(|v| (v.key.to_vec(), v.seqno, v.value.map(<[u8]>::to_vec)))
        .collect();
    (
        versions,
        t.version_count(),
        t.tombstone_count(),
        t.len(),
        t.max_seqno(),
    )
}

/// Checks every view of `t` against `model`.
fn check(t: &SkipList, model: &Model, probes: &[(Vec<u8>, u64)]) -> Result<(), TestCaseError> {
    // What a flush writes: every version once, in table order.
    let flushed: Vec<_> = t
        .versions()
        .map(|v| {
            (
                (v.key.to_vec(), Reverse(v.seqno)),
                v.value.map(<[u8]>::to_vec),
            )
        })
        .collect();
    let expected: Vec<_> = model.clone().into_iter().collect();
    prop_assert_eq!(flushed, expected);
    prop_assert_eq!(t.version_count(), model.len());
    prop_assert_eq!(
        t.tombstone_count(),
        model.values().filter(|v| v.is_none()).count()
    );
    prop_assert_eq!(
        t.max_seqno(),
        model.keys().map(|(_, s)| s.0).max().unwrap_or(0)
    );
    // Live keys: those whose newest version is a put.
    let mut newest: BTreeMap<&[u8], bool> = BTreeMap::new();
    for ((k, _), v) in model {
        newest.entry(k).or_insert(v.is_some());
    }
    let live: Vec<&[u8]> = newest.iter().filter(|e| *e.1).map(|e| *e.0).collect();
    prop_assert_eq!(t.len(), live.len());
    prop_assert_eq!(t.stats().entries, model.len());
    // A reader's cursor at the newest seqno, both ways.
    let mut c = t.cursor();
    let mut seen = Vec::new();
    let mut ok = c.first();
    while ok {
        seen.push(c.key().unwrap());
        ok = c.next();
    }
    prop_assert_eq!(&seen, &live);
    let mut back = Vec::new();
    let mut ok = c.last();
    while ok {
        back.push(c.key().unwrap());
        ok = c.prev();
    }
    back.reverse();
    prop_assert_eq!(&back, &live);
    // get_at: the newest version at or below the seqno.
    for (k, at) in probes {
        let want = model
            .range((k.clone(), Reverse(*at))..)
            .next()
            .filter(|((mk, _), _)| mk == k)
            .map(|(_, v)| v.as_deref());
        prop_assert_eq!(t.get_at(k, *at), want);
    }
    Ok(())
}

/// Applies `op` to `model` as `policy` says; returns what the table must
/// answer.
fn apply(model: &mut Model, op: &Op, policy: Duplicates) -> Result<(), WriteAtError> {
    let entries: Vec<(Vec<u8>, Option<Vec<u8>>)> = match op {
        Op::One(k, _, v) => vec![(k.clone(), v.clone())],
        Op::Batch(e, _) => e.clone(),
    };
    let seqno = match op {
        Op::One(_, s, _) | Op::Batch(_, s) => *s,
    };
    if policy == Duplicates::Reject
        && entries
            .iter()
            .any(|(k, _)| model.contains_key(&(k.clone(), Reverse(seqno))))
    {
        return Err(WriteAtError::Duplicate);
    }
    // In entry order: a later entry for a key replaces an earlier one.
    for (k, v) in entries {
        model.insert((k, Reverse(seqno)), v);
    }
    Ok(())
}

fn write(t: &SkipList, op: &Op) -> Result<(), WriteAtError> {
    match op {
        Op::One(k, s, Some(v)) => t.insert_at(k, *s, v),
        Op::One(k, s, None) => t.delete_at(k, *s),
        Op::Batch(e, s) => {
            let e: Vec<(&[u8], Option<&[u8]>)> =
                e.iter().map(|(k, v)| (&k[..], v.as_deref())).collect();
            t.write_batch_at(&e, *s)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Both policies against the model: `LaterWins` replaces the version
    /// of a (key, seqno) as an overwrite would; `Reject` refuses a write
    /// (a whole batch) that repeats one, and the table is unchanged.
    #[test]
    fn writes_at_seqnos_match_the_model(
        ops in prop::collection::vec(op(), 1..40),
        later_wins in any::<bool>(),
        probes in prop::collection::vec((key(), 0u64..14), 1..24),
    ) {
        let policy = if later_wins { Duplicates::LaterWins } else { Duplicates::Reject };
        let t = table(policy);
        let mut model = Model::new();
        for op in &ops {
            let before = contents(&t);
            let want = apply(&mut model, op, policy);
            prop_assert_eq!(write(&t, op), want, "{:?}", op);
            if want.is_err() {
                prop_assert_eq!(contents(&t), before);
            }
        }
        check(&t, &model, &probes)?;
        // The version cursors, owned and borrowed, both ways and bounded:
        // one version per (key, seqno), the one that won.
        let flat: Vec<(Vec<u8>, u64, Option<Vec<u8>>)> = model
            .iter()
            .map(|((k, s), v)| (k.clone(), s.0, v.clone()))
            .collect();
        let shared = std::sync::Arc::new(t);
        let mut owned = shared.owned_version_cursor();
        let mut borrowed = shared.version_cursor();
        let (mut fwd, mut back) = (Vec::new(), Vec::new());
        let mut ok = borrowed.first();
        while ok {
            let v = borrowed.version().unwrap();
            fwd.push((v.key.to_vec(), v.seqno, v.value.map(<[u8]>::to_vec)));
            ok = borrowed.next();
        }
        let mut ok = owned.last();
        while ok {
            let v = owned.version().unwrap();
            back.push((v.key.to_vec(), v.seqno, v.value.map(<[u8]>::to_vec)));
            ok = owned.prev();
        }
        back.reverse();
        prop_assert_eq!(&fwd, &flat);
        prop_assert_eq!(&back, &flat);
        // Bounded to the versions at or below seqno 6 of each key from
        // the middle one on, walked backwards from a seek.
        if let Some((mid, _, _)) = flat.get(flat.len() / 2).cloned() {
            let mut c = shared.version_range((
                std::ops::Bound::Included((&mid[..], 6)),
                std::ops::Bound::Unbounded,
            ));
            let want: Vec<_> = flat
                .iter()
                .filter(|(k, s, _)| (k.as_slice(), Reverse(*s)) >= (mid.as_slice(), Reverse(6)))
                .cloned()
                .collect();
            let mut got = Vec::new();
            let mut ok = c.seek_for_prev(&[0xff; 4]);
            while ok {
                let v = c.version().unwrap();
                got.push((v.key.to_vec(), v.seqno, v.value.map(<[u8]>::to_vec)));
                ok = c.prev();
            }
            got.reverse();
            prop_assert_eq!(got, want);
        }
        // A snapshot at a seqno sees exactly the versions at or below it.
        for at in [0, 3, 7, 11] {
            let mut c = shared.cursor_at(at);
            let mut ok = c.first();
            while ok {
                let k = c.key().unwrap().to_vec();
                let want = model
                    .range((k.clone(), Reverse(at))..)
                    .next()
                    .filter(|((mk, _), _)| *mk == k)
                    .and_then(|(_, v)| v.clone());
                prop_assert_eq!(c.value().map(<[u8]>::to_vec), want);
                ok = c.next();
            }
        }
    }
}

fn batch<'a>(entries: Entries<'a>) -> Entries<'a> {
    entries
}

/// Every refusal of `write_batch_at`, each leaving the table exactly as it
/// was: the duplicate policy, a full table (entries and memory), a sealed
/// one, oversized keys and values, a seqno out of range.
#[test]
fn every_refused_batch_leaves_the_table_unchanged() {
    let t = SkipList::with_config(Config {
        max_entries: 6,
        ..Config::default()
    });
    t.write_batch_at(batch(&[(b"a", Some(b"1")), (b"b", None)]), 5)
        .unwrap();
    let before = contents(&t);
    let refusals: [(Entries<'_>, u64, WriteAtError); 4] = [
        // The last entry repeats (b, 5): nothing of the batch is written.
        (
            &[(b"c", Some(b"3")), (b"d", Some(b"4")), (b"b", Some(b"x"))],
            5,
            WriteAtError::Duplicate,
        ),
        // Five more entries than max_entries allows.
        (
            &[
                (b"c", Some(b"3")),
                (b"d", Some(b"4")),
                (b"e", Some(b"5")),
                (b"f", Some(b"6")),
                (b"g", Some(b"7")),
            ],
            6,
            WriteAtError::Index(Error::Full),
        ),
        (&[(b"c", Some(b"3"))], 1 << 56, WriteAtError::SeqnoTooLarge),
        (
            &[(b"c", Some(b"3")), (&[7u8; 70_000], Some(b"4"))],
            6,
            WriteAtError::Index(Error::KeyTooLarge {
                len: 70_000,
                max: 65_535,
            }),
        ),
    ];
    for (entries, seqno, err) in refusals {
        assert_eq!(t.write_batch_at(entries, seqno), Err(err));
        assert_eq!(contents(&t), before);
    }
    let big = vec![0u8; 9 << 20];
    assert_eq!(
        t.write_batch_at(batch(&[(b"c", Some(b"3")), (b"d", Some(&big))]), 6),
        Err(WriteAtError::Index(Error::ValueTooLarge {
            len: 9 << 20,
            max: 512 << 10
        }))
    );
    assert_eq!(contents(&t), before);
    // A batch that fits is taken whole: 2 + 3 versions, the later (c, 7)
    // entry winning, then the sixth version fills the table.
    t.write_batch_at(
        batch(&[
            (b"c", Some(b"old")),
            (b"d", None),
            (b"c", Some(b"new")),
            (b"e", Some(b"5")),
        ]),
        7,
    )
    .unwrap();
    assert_eq!(t.get_at(b"c", 7), Some(Some(&b"new"[..])));
    assert_eq!((t.version_count(), t.tombstone_count(), t.len()), (5, 2, 3));
    t.insert_at(b"f", 8, b"6").unwrap();
    let before = contents(&t);
    assert_eq!(
        t.write_batch_at(batch(&[(b"g", Some(b"7"))]), 9),
        Err(WriteAtError::Index(Error::Full))
    );
    assert_eq!(contents(&t), before);
    // Sealed: refused, unchanged; an empty batch too.
    let t = SkipList::new();
    t.write_batch_at(batch(&[(b"a", Some(b"1"))]), 1).unwrap();
    t.freeze();
    let before = contents(&t);
    assert_eq!(
        t.write_batch_at(batch(&[(b"b", Some(b"2"))]), 2),
        Err(WriteAtError::Index(Error::Sealed))
    );
    assert_eq!(
        t.write_batch_at(batch(&[]), 2),
        Err(WriteAtError::Index(Error::Sealed))
    );
    assert_eq!(contents(&t), before);
}

/// A batch larger than a small arena is refused whole, before any entry
/// is linked.
#[test]
fn a_batch_too_large_for_the_arena_is_refused_whole() {
    let t = SkipList::with_config(Config {
        max_memory: 4 << 20,
        chunk_shift: 20,
        huge_pages: false,
        ..Config::default()
    });
    let value = vec![1u8; 200_000];
    let keys: Vec<[u8; 4]> = (0..40u32).map(u32::to_be_bytes).collect();
    let entries: Vec<(&[u8], Option<&[u8]>)> =
        keys.iter().map(|k| (&k[..], Some(&value[..]))).collect();
    let before = contents(&t);
    assert_eq!(
        t.write_batch_at(&entries, 3),
        Err(WriteAtError::Index(Error::Full))
    );
    assert_eq!(contents(&t), before);
    // A part of it fits.
    t.write_batch_at(&entries[..4], 3).unwrap();
    assert_eq!(t.version_count(), 4);
}

/// Threads writing the same (key, seqno)s at once, singles and batches.
/// Under `Reject`, exactly one thread's single write of each (key, seqno)
/// succeeds; under `LaterWins`, every write succeeds. Either way each
/// (key, seqno) ends with exactly one version, holding one of the values
/// written, and the counts agree.
#[test]
fn threads_writing_one_key_and_seqno() {
    const THREADS: u32 = 6;
    const WRITES: u32 = 300;
    // Write `i` of every thread: (key i % 50, seqno i / 50 + 1) alone, or
    // for i % 3 == 0 a batch of that key and a tombstone of another, at
    // seqno + 100. Each write's (key, seqno)s are its own.
    let singles = (0..WRITES).filter(|i| i % 3 != 0).count();
    let batches = (0..WRITES).filter(|i| i % 3 == 0).count();
    for policy in [Duplicates::Reject, Duplicates::LaterWins] {
        let t = table(policy);
        let wins: Vec<(usize, usize)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|id| {
                    let t = &t;
                    s.spawn(move || {
                        let (mut single, mut batch) = (0, 0);
                        for i in 0..WRITES {
                            let k = (i % 50).to_be_bytes();
                            let seqno = u64::from(i / 50) + 1;
                            let v = id.to_le_bytes();
                            if i % 3 == 0 {
                                let gone = [&b"gone/"[..], &k].concat();
                                let e = [(&k[..], Some(&v[..])), (&gone[..], None)];
                                batch += usize::from(t.write_batch_at(&e, seqno + 100).is_ok());
                            } else {
                                single += usize::from(t.insert_at(&k, seqno, &v).is_ok());
                            }
                        }
                        (single, batch)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let single_wins: usize = wins.iter().map(|w| w.0).sum();
        let batch_wins: usize = wins.iter().map(|w| w.1).sum();
        let versions: Vec<_> = t.versions().map(|v| (v.key.to_vec(), v.seqno)).collect();
        let mut distinct = versions.clone();
        distinct.dedup();
        assert_eq!(
            distinct, versions,
            "{policy:?}: one version per (key, seqno)"
        );
        assert_eq!(versions.len(), singles + 2 * batches, "{policy:?}");
        assert_eq!(t.version_count(), versions.len());
        assert_eq!(t.tombstone_count(), batches);
        for v in t.versions() {
            if let Some(value) = v.value {
                assert!(u32::from_le_bytes(value.try_into().unwrap()) < THREADS);
            }
        }
        let nodes = THREADS as usize * (singles + 2 * batches);
        if policy == Duplicates::Reject {
            assert_eq!(single_wins, singles);
            // Batches are checked before they link: two at one moment may
            // both pass (the later one then shadows), but at least one
            // of each passes.
            assert!(batch_wins >= batches);
        } else {
            assert_eq!(
                (single_wins, batch_wins),
                (THREADS as usize * singles, THREADS as usize * batches)
            );
            assert_eq!(t.stats().shadowed + versions.len(), nodes);
        }
    }
}

/// The counts a flush and recovery read: a memtable of tombstones only is
/// empty of live keys but holds versions to flush; `max_seqno` covers
/// every write path.
#[test]
fn counts_and_max_seqno_name_what_they_count() {
    let t = SkipList::new();
    assert_eq!((t.max_seqno(), t.version_count()), (0, 0));
    t.delete_at(b"a", 9).unwrap();
    t.delete_at(b"b", 4).unwrap();
    assert!(t.is_empty());
    assert_eq!((t.len(), t.version_count(), t.tombstone_count()), (0, 2, 2));
    assert_eq!(t.max_seqno(), 9);
    t.insert_at(b"a", 12, b"back").unwrap();
    assert_eq!((t.len(), t.version_count(), t.tombstone_count()), (1, 3, 2));
    let auto = t.insert(b"c", b"v").unwrap();
    assert_eq!(t.max_seqno(), auto.max(12));
    t.write_batch_at(&[(b"d", Some(b"1"))], 30).unwrap();
    assert_eq!(t.max_seqno(), 30);
    let s = t.stats();
    assert_eq!(
        (s.entries, s.tombstones, s.shadowed, s.max_seqno),
        (5, 2, 0, 30)
    );
}

/// A table made right after another of the same shape was dropped (which
/// keeps its arena for it, `Config::reuse_memory`) starts empty and holds
/// exactly what is written to it, over whatever the first left in the
/// memory (debug builds fill it with a pattern when it is kept).
#[test]
fn a_table_on_a_reused_arena_holds_only_its_own_writes() {
    // A shape no other test makes, so the two tables meet the same arena.
    let config = Config {
        max_memory: 40 << 20,
        ..Config::default()
    };
    let first = SkipList::with_config(config);
    for i in 0..20_000u32 {
        first.insert(&i.to_be_bytes(), &[0xEE; 24]).unwrap();
    }
    drop(first);
    let second = SkipList::with_config(config);
    assert!(second.is_empty() && second.version_count() == 0);
    assert_eq!(second.versions().count(), 0);
    let mut model = BTreeMap::new();
    let mut x = 7u64;
    for _ in 0..5_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let k = (x >> 40).to_be_bytes()[5..].to_vec();
        let v = (x >> 20).to_le_bytes()[..(x % 9) as usize].to_vec();
        second.insert(&k, &v).unwrap();
        model.insert(k, v);
    }
    let live: Vec<(Vec<u8>, Vec<u8>)> = second
        .versions()
        .map(|v| (v.key.to_vec(), v.value.expect("a put").to_vec()))
        .fold(Vec::new(), |mut out, (k, v)| {
            // Versions come newest first within a key: keep the first.
            if out
                .last()
                .is_none_or(|(last, _): &(Vec<u8>, Vec<u8>)| *last != k)
            {
                out.push((k, v));
            }
            out
        });
    assert_eq!(live, model.into_iter().collect::<Vec<_>>());
}
