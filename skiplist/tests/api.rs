//! The memtable API against a model: cursors (both views, both
//! directions, at any seqno), batches, `multi_get`, `get_or_insert`,
//! `reserve`, auto-seal and statistics.

use ordex_core::{Error, OrderedIndex};
use ordex_skiplist::{Config, GetOrInsert, SkipList, Version, WriteAtError};
use proptest::prelude::*;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// (key, Reverse(seqno)) -> value or tombstone: the table order.
type Model = BTreeMap<(Vec<u8>, Reverse<u64>), Option<Vec<u8>>>;

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(&[0u8, 1, b'a', 0xff][..]), 0..4)
}

/// The newest version of each key at or below `seqno`, puts only.
fn visible(model: &Model, seqno: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut last: Option<&Vec<u8>> = None;
    for ((k, Reverse(s)), v) in model {
        if *s > seqno || last == Some(k) {
            continue;
        }
        last = Some(k);
        if let Some(v) = v {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// One caller-seqno write: key, seqno, value (`None`: tombstone).
type WriteAt = (Vec<u8>, u64, Option<Vec<u8>>);

fn build(writes: &[WriteAt]) -> (SkipList, Model) {
    let table = SkipList::new();
    let mut model = Model::new();
    for (k, seqno, value) in writes {
        let got = match value {
            Some(v) => table.insert_at(k, *seqno, v),
            None => table.delete_at(k, *seqno),
        };
        match model.entry((k.clone(), Reverse(*seqno))) {
            std::collections::btree_map::Entry::Occupied(_) => {
                assert_eq!(got, Err(WriteAtError::Duplicate));
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                assert_eq!(got, Ok(()));
                slot.insert(value.clone());
            }
        }
    }
    (table, model)
}

fn writes() -> impl Strategy<Value = Vec<WriteAt>> {
    prop::collection::vec(
        (
            key(),
            1u64..30,
            prop::option::weighted(0.75, prop::collection::vec(any::<u8>(), 0..6)),
        ),
        0..60,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn latest_cursor_matches_the_model_both_ways(
        writes in writes(),
        seqno in 0u64..32,
        probes in prop::collection::vec(key(), 1..12),
    ) {
        let (table, model) = build(&writes);
        let want = visible(&model, seqno);
        let mut c = table.cursor_at(seqno);
        let mut fwd = Vec::new();
        let mut ok = c.first();
        while ok {
            let (k, v) = c.entry().unwrap();
            fwd.push((k.to_vec(), v.to_vec()));
            ok = c.next();
        }
        prop_assert_eq!(&fwd, &want);
        let mut back = Vec::new();
        let mut ok = c.last();
        while ok {
            let (k, v) = c.entry().unwrap();
            back.push((k.to_vec(), v.to_vec()));
            ok = c.prev();
        }
        back.reverse();
        prop_assert_eq!(&back, &want);
        for p in &probes {
            let ge = want.iter().find(|(k, _)| k >= p);
            prop_assert_eq!(c.seek(p), ge.is_some());
            let got = c.entry().map(|(k, v)| (k.to_vec(), v.to_vec()));
            prop_assert_eq!(got.as_ref(), ge);
            // From a seek, one step each way agrees with the model.
            if let Some(i) = want.iter().position(|(k, _)| k >= p) {
                let mut d = c.clone();
                prop_assert_eq!(d.prev(), i > 0);
                if i > 0 {
                    prop_assert_eq!(d.key(), Some(&want[i - 1].0[..]));
                }
                prop_assert_eq!(c.next(), i + 1 < want.len());
                if i + 1 < want.len() {
                    prop_assert_eq!(c.key(), Some(&want[i + 1].0[..]));
                }
            }
            let le = want.iter().rev().find(|(k, _)| k <= p);
            prop_assert_eq!(c.seek_for_prev(p), le.is_some());
            let got = c.entry().map(|(k, v)| (k.to_vec(), v.to_vec()));
            prop_assert_eq!(got.as_ref(), le);
            let gt = want.iter().find(|(k, _)| k > p);
            prop_assert_eq!(c.seek_after(p), gt.is_some());
            prop_assert_eq!(c.key(), gt.map(|(k, _)| &k[..]));
        }
    }

    #[test]
    fn version_cursor_matches_the_model_both_ways(writes in writes(), probes in prop::collection::vec((key(), 0u64..32), 1..8)) {
        let (table, model) = build(&writes);
        let want: Vec<Version<'_>> = model
            .iter()
            .map(|((k, Reverse(s)), v)| Version { key: k, seqno: *s, value: v.as_deref() })
            .collect();
        let mut c = table.version_cursor();
        let mut fwd = Vec::new();
        let mut ok = c.first();
        while ok {
            fwd.push(c.version().unwrap());
            ok = c.next();
        }
        prop_assert_eq!(&fwd, &want);
        let flush: Vec<_> = table.versions().collect();
        prop_assert_eq!(&flush, &want);
        let mut back = Vec::new();
        let mut ok = c.last();
        while ok {
            back.push(c.version().unwrap());
            ok = c.prev();
        }
        back.reverse();
        prop_assert_eq!(&back, &want);
        for (p, s) in &probes {
            let ge = want.iter().find(|v| (v.key, Reverse(v.seqno)) >= (&p[..], Reverse(*s)));
            prop_assert_eq!(c.seek(p, *s), ge.is_some());
            let got = c.version();
            prop_assert_eq!(got.as_ref(), ge);
            let le = want.iter().rev().find(|v| v.key <= &p[..]);
            prop_assert_eq!(c.seek_for_prev(p), le.is_some());
            let got = c.version();
            prop_assert_eq!(got.as_ref(), le);
            let lt = want.iter().rev().find(|v| v.key < &p[..]);
            prop_assert_eq!(c.seek_before(p), lt.is_some());
            let got = c.version();
            prop_assert_eq!(got.as_ref(), lt);
        }
    }

    #[test]
    fn batches_multi_get_and_get_or_insert_match_the_model(
        batches in prop::collection::vec(
            prop::collection::vec((key(), prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 0..4))), 0..20),
            1..6,
        ),
        sorted in any::<bool>(),
        goi in prop::collection::vec((key(), any::<u8>()), 0..10),
    ) {
        let table = SkipList::new();
        let mut live: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut last = 0;
        for mut batch in batches {
            if sorted {
                batch.sort();
                batch.dedup_by(|a, b| a.0 == b.0);
            }
            let entries: Vec<(&[u8], Option<&[u8]>)> =
                batch.iter().map(|(k, v)| (&k[..], v.as_deref())).collect();
            let seqno = table.write_batch(&entries).unwrap();
            if !batch.is_empty() {
                prop_assert_eq!(seqno, last + batch.len() as u64, "one seqno per entry");
                last = seqno;
            }
            for (k, v) in batch {
                match v {
                    Some(v) => live.insert(k, v),
                    None => live.remove(&k),
                };
            }
        }
        prop_assert_eq!(table.len(), live.len());
        for (k, b) in goi {
            let got = table.get_or_insert(&k, &[b]).unwrap();
            match live.get(&k) {
                Some(v) => prop_assert_eq!(got, GetOrInsert::Present(&v[..])),
                None => {
                    prop_assert!(matches!(got, GetOrInsert::Inserted(_)));
                    live.insert(k, vec![b]);
                }
            }
        }
        let probes: Vec<Vec<u8>> = live.keys().cloned().chain([vec![7], vec![b'a', 0, 0, 0, 0]]).collect();
        let refs: Vec<&[u8]> = probes.iter().map(|k| &k[..]).collect();
        let mut seen = vec![false; refs.len()];
        table.multi_get(&refs, |i, v| {
            assert!(!seen[i], "key {i} reported twice");
            seen[i] = true;
            assert_eq!(v, live.get(refs[i]).map(|v| &v[..]), "multi_get of {:?}", refs[i]);
        });
        prop_assert!(seen.iter().all(|&s| s));
        prop_assert_eq!(table.len(), live.len());
    }
}

#[test]
fn multi_get_agrees_with_get_on_a_large_table() {
    let table = SkipList::new();
    for i in 0..20_000u64 {
        table
            .insert(&(i * 3).to_be_bytes(), &i.to_le_bytes())
            .unwrap();
    }
    // Every tenth key repeats an earlier one: a group may hold duplicates.
    let keys: Vec<[u8; 8]> = (0..3000u64)
        .map(|i| {
            let j = if i % 10 == 9 { i / 2 } else { i };
            (j * 7919 % 60_000).to_be_bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    let mut hits = 0;
    let mut calls = vec![0u32; refs.len()];
    table.multi_get(&refs, |i, v| {
        assert_eq!(v, table.get_live(refs[i]));
        calls[i] += 1;
        hits += usize::from(v.is_some());
    });
    assert!(calls.iter().all(|&c| c == 1), "each key is answered once");
    assert_eq!(
        hits,
        keys.iter()
            .filter(|k| u64::from_be_bytes(**k) % 3 == 0)
            .count()
    );
}

/// `multi_get` (finger search, then interleaved descents) racing writers
/// that insert keys between the ones it looks for: a key present
/// throughout is always found with its value, an absent one never.
#[test]
fn multi_get_finds_present_keys_while_writers_insert_around_them() {
    let table = SkipList::new();
    for i in 0..30_000u64 {
        table
            .insert(&(i * 4).to_be_bytes(), &i.to_le_bytes())
            .unwrap();
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for w in 0..2u64 {
            let (table, done) = (&table, &done);
            s.spawn(move || {
                // Odd keys: between the present (multiples of 4) and the
                // absent (2 mod 4) ones.
                for i in 0..30_000u64 {
                    let k = i * 4 + 1 + 2 * w;
                    table.insert(&k.to_be_bytes(), b"new").unwrap();
                }
                done.store(true, std::sync::atomic::Ordering::Relaxed);
            });
        }
        let mut rounds = 0;
        while !done.load(std::sync::atomic::Ordering::Relaxed) || rounds < 3 {
            rounds += 1;
            let keys: Vec<[u8; 8]> = (0..640u64)
                .map(|i| ((i * 104_729 + rounds) % 120_000 / 2 * 2).to_be_bytes())
                .collect();
            let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
            let mut calls = vec![0u32; refs.len()];
            table.multi_get(&refs, |i, v| {
                calls[i] += 1;
                let k = u64::from_be_bytes(keys[i]);
                if k.is_multiple_of(4) {
                    assert_eq!(v, Some(&(k / 4).to_le_bytes()[..]), "present key {k}");
                } else {
                    assert_eq!(v, None, "absent key {k}");
                }
            });
            assert!(calls.iter().all(|&c| c == 1), "each key is answered once");
        }
    });
}

#[test]
fn concurrent_get_or_insert_has_one_winner_per_key() {
    let table = SkipList::new();
    let winners: Vec<Vec<(u32, u8)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6u8)
            .map(|t| {
                let table = &table;
                s.spawn(move || {
                    let mut won = Vec::new();
                    for k in 0..500u32 {
                        match table.get_or_insert(&k.to_be_bytes(), &[t]).unwrap() {
                            GetOrInsert::Inserted(_) => won.push((k, t)),
                            GetOrInsert::Present(v) => assert_eq!(v.len(), 1),
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut by_key: BTreeMap<u32, u8> = BTreeMap::new();
    for (k, t) in winners.into_iter().flatten() {
        assert!(by_key.insert(k, t).is_none(), "key {k} inserted twice");
    }
    assert_eq!(by_key.len(), 500, "every key inserted once");
    for (k, t) in by_key {
        assert_eq!(table.get_live(&k.to_be_bytes()), Some(&[t][..]));
    }
    assert_eq!(table.version_count(), 500);
    assert_eq!(table.len(), 500);
}

#[test]
fn a_reservation_never_fails_while_plain_writes_are_full() {
    let config = Config {
        max_memory: 64 << 10,
        chunk_shift: 14,
        ..Config::default()
    };
    let table = SkipList::with_config(config);
    let value = [5u8; 40];
    let need: usize = (0..50u32)
        .map(|_| SkipList::entry_size(4, value.len()))
        .sum();
    let reservation = table.reserve(need).unwrap();
    // Fill the rest of the table.
    let mut i = 1000u32;
    loop {
        match table.insert(&i.to_be_bytes(), &value) {
            Ok(_) => i += 1,
            Err(Error::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(table.is_under_backpressure());
    for k in 0..50u32 {
        reservation
            .insert_at(&k.to_be_bytes(), 1 << 40 | u64::from(k), &value)
            .expect("reserved room");
    }
    // Sized for the tallest towers: the average entry leaves room over.
    assert!(reservation.remaining() > 0 && reservation.remaining() < need);
    assert_eq!(
        table.insert(b"plain", &value),
        Err(Error::Full),
        "the table stays full"
    );
    drop(reservation);
    for k in 0..50u32 {
        assert_eq!(table.get_live(&k.to_be_bytes()), Some(&value[..]));
    }
    assert_eq!(table.reserve(1 << 20).unwrap_err(), Error::Full);
}

#[test]
fn auto_seal_refuses_with_full_then_sealed() {
    let table = SkipList::with_config(Config {
        max_entries: 100,
        auto_seal: true,
        ..Config::default()
    });
    for i in 0..100u32 {
        table.insert(&i.to_be_bytes(), b"v").unwrap();
    }
    assert!(table.is_under_backpressure());
    assert_eq!(table.insert(b"x", b"v"), Err(Error::Full));
    assert!(table.is_sealed());
    assert_eq!(table.insert(b"y", b"v"), Err(Error::Sealed));
    assert_eq!(table.len(), 100);
    let fresh = table.seal();
    assert!(fresh.is_empty() && !fresh.is_sealed());
    fresh.insert(b"x", b"v").unwrap();
}

#[test]
fn stats_are_exact() {
    let table = SkipList::new();
    let empty = table.stats();
    assert_eq!((empty.len, empty.entries, empty.insert_attempts), (0, 0, 0));
    for i in 0..1000u32 {
        table.insert(&i.to_be_bytes(), &[1u8; 12]).unwrap();
    }
    for i in 0..100u32 {
        table.remove(&i.to_be_bytes()).unwrap();
    }
    table.insert_at(b"toolong", 1 << 50, b"").unwrap();
    let s = table.stats();
    assert_eq!(s.len, 901);
    assert_eq!(s.entries, 1101);
    assert_eq!(s.insert_attempts, 1101);
    let key_bytes = 1100.0 * 4.0 + 7.0;
    assert!((s.avg_key_size - key_bytes / 1101.0).abs() < 1e-9);
    assert!((s.avg_value_size - 12000.0 / 1101.0).abs() < 1e-9);
    // Every node costs its key and value plus a 16-byte header and 4 bytes
    // per level (at least one, at most 24), rounded to 4.
    let payload = 1000 * (4 + 12) + 100 * 4 + 7;
    assert!(s.memory_usage >= payload + 1101 * 20, "{s:?}");
    assert!(
        s.memory_usage <= payload + 1101 * (16 + 96 + 3) + 200,
        "{s:?}"
    );
    assert_eq!(s.memory_reserved, 1 << 20, "one chunk");
    assert_eq!(s.memory_idle, s.memory_reserved - s.memory_usage);
    assert!(s.memory_utilization > 0.0 && s.memory_utilization < 1.0);
}

#[test]
fn cursors_and_snapshots_can_be_sent_to_another_thread() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let table = SkipList::new();
    table.insert(b"k", b"v").unwrap();
    let mut c = table.cursor();
    assert!(c.first());
    send_sync(&c);
    send_sync(&table.version_cursor());
    send_sync(&table.snapshot_at(1));
    // A positioned cursor moves to another thread and keeps its place.
    let key = std::thread::scope(|s| s.spawn(move || c.key().map(<[u8]>::to_vec)).join().unwrap());
    assert_eq!(key.as_deref(), Some(&b"k"[..]));
}
