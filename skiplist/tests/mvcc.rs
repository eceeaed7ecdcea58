//! MVCC against a model: caller-assigned seqnos, tombstones, duplicates,
//! `get_at` at every seqno, and the flush order of `versions()`.

use ordex_skiplist::{SkipList, WriteAtError};
use proptest::prelude::*;
use std::cmp::Reverse;
use std::collections::BTreeMap;

type Model = BTreeMap<(Vec<u8>, Reverse<u64>), Option<Vec<u8>>>;

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(&[0u8, 1, b'a', 0xff][..]), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn versions_and_get_at_match_the_model(
        writes in prop::collection::vec((key(), 1u64..40, prop::option::of(prop::collection::vec(any::<u8>(), 0..8))), 1..60),
        probes in prop::collection::vec((key(), 0u64..45), 1..40),
    ) {
        let table = SkipList::new();
        let mut model = Model::new();
        for (k, seqno, value) in &writes {
            let got = match value {
                Some(v) => table.insert_at(k, *seqno, v),
                None => table.delete_at(k, *seqno),
            };
            match model.entry((k.clone(), Reverse(*seqno))) {
                std::collections::btree_map::Entry::Occupied(_) => {
                    prop_assert_eq!(got, Err(WriteAtError::Duplicate));
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    prop_assert_eq!(got, Ok(()));
                    slot.insert(value.clone());
                }
            }
        }
        prop_assert_eq!(table.version_count(), model.len());
        // Flush order: key ascending, seqno descending, tombstones kept.
        let flushed: Vec<_> = table
            .versions()
            .map(|v| ((v.key.to_vec(), Reverse(v.seqno)), v.value.map(<[u8]>::to_vec)))
            .collect();
        let expected: Vec<_> = model.clone().into_iter().collect();
        prop_assert_eq!(flushed, expected);
        // get_at: the newest version at or below the seqno.
        for (k, at) in &probes {
            let want = model
                .range((k.clone(), Reverse(*at))..)
                .next()
                .filter(|((mk, _), _)| mk == k)
                .map(|(_, v)| v.as_deref());
            prop_assert_eq!(table.get_at(k, *at), want);
        }
    }
}

#[test]
fn reinserting_a_deleted_key_works() {
    let t = SkipList::new();
    t.insert_at(b"k", 1, b"a").unwrap();
    t.delete_at(b"k", 2).unwrap();
    t.insert_at(b"k", 3, b"b").unwrap();
    assert_eq!(t.get_at(b"k", 1), Some(Some(&b"a"[..])));
    assert_eq!(t.get_at(b"k", 2), Some(None));
    assert_eq!(t.get_live(b"k"), Some(&b"b"[..]));
    assert_eq!(
        t.insert_at(b"k", 1 << 56, b"x"),
        Err(WriteAtError::SeqnoTooLarge)
    );
}

#[test]
fn backpressure_at_ninety_percent() {
    let t = SkipList::with_config(ordex_skiplist::Config {
        max_entries: 100,
        ..ordex_skiplist::Config::default()
    });
    for i in 0..89u32 {
        ordex_core::OrderedIndex::insert(&t, &i.to_be_bytes(), b"v").unwrap();
        assert!(!t.is_under_backpressure());
    }
    ordex_core::OrderedIndex::insert(&t, &89u32.to_be_bytes(), b"v").unwrap();
    assert!(t.is_under_backpressure());
}
