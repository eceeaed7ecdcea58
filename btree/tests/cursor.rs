//! The bidirectional cursor against a model (`std::collections::BTreeMap`):
//! random trees with 4-slot nodes (so that steps cross leaves often,
//! including leaves emptied by removes), random programs of seeks and
//! steps, live and on a snapshot taken before further writes; and a
//! cursor walking back and forth while writers change the tree around
//! keys that stay put.

use ordex_btree::{BTree, Optimistic};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Clone)]
enum Step {
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    First,
    Last,
    Next,
    Prev,
}

/// Short keys (in-slot), long keys sharing 8-byte heads (out of line).
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', 0xFF]), 0..5),
        1 => (prop::collection::vec(prop::sample::select(vec![0u8, b'a']), 0..3), 8usize..14)
            .prop_map(|(p, n)| { let mut k = vec![b'z'; 8]; k.extend(p); k.truncate(n); k }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => key().prop_map(Step::Seek),
        2 => key().prop_map(Step::SeekForPrev),
        1 => Just(Step::First),
        1 => Just(Step::Last),
        4 => Just(Step::Next),
        4 => Just(Step::Prev),
    ]
}

/// The model's answer to `step` from position `cur`.
fn model_step(m: &Model, cur: Option<Vec<u8>>, step: &Step) -> Option<Vec<u8>> {
    let r = |lo: Bound<&[u8]>, hi: Bound<&[u8]>| m.range::<[u8], _>((lo, hi));
    match step {
        Step::Seek(k) => r(Bound::Included(k), Bound::Unbounded).next(),
        Step::SeekForPrev(k) => r(Bound::Unbounded, Bound::Included(k)).next_back(),
        Step::First => m.iter().next(),
        Step::Last => m.iter().next_back(),
        Step::Next => {
            let c = cur?;
            r(Bound::Excluded(&c), Bound::Unbounded).next()
        }
        Step::Prev => {
            let c = cur?;
            r(Bound::Unbounded, Bound::Excluded(&c)).next_back()
        }
    }
    .map(|(k, _)| k.clone())
}

fn check(
    c: &mut ordex_btree::Cursor<'_, Optimistic, 4>,
    m: &Model,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let mut cur: Option<Vec<u8>> = None;
    for s in steps {
        let want = model_step(m, cur.clone(), s);
        let moved = match s {
            Step::Seek(k) => c.seek(k),
            Step::SeekForPrev(k) => c.seek_for_prev(k),
            Step::First => c.seek_first(),
            Step::Last => c.seek_last(),
            Step::Next => c.next(),
            Step::Prev => c.prev(),
        };
        prop_assert_eq!(moved, want.is_some(), "{:?} from {:?}", s, cur);
        prop_assert_eq!(c.valid(), want.is_some());
        let got = c.entry().map(|(k, v)| (k.to_vec(), v.to_vec()));
        let want_entry = want.as_ref().map(|k| (k.clone(), m[k].clone()));
        prop_assert_eq!(got, want_entry, "{:?} from {:?}", s, cur);
        cur = want;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cursor_agrees_with_model(
        writes in prop::collection::vec((key(), prop::option::of(prop::collection::vec(any::<u8>(), 0..12))), 0..200),
        later in prop::collection::vec((key(), prop::option::of(prop::collection::vec(any::<u8>(), 0..12))), 0..100),
        steps in prop::collection::vec(step(), 1..80),
    ) {
        let tree = BTree::<Optimistic, 4>::new();
        let mut model = Model::new();
        let apply = |model: &mut Model, k: &Vec<u8>, v: &Option<Vec<u8>>| match v {
            Some(v) => {
                tree.put(k, v);
                model.insert(k.clone(), v.clone());
            }
            None => {
                tree.delete(k);
                model.remove(k);
            }
        };
        for (k, v) in &writes {
            apply(&mut model, k, v);
        }
        let snap = tree.snapshot_ref();
        let at_snapshot = model.clone();
        for (k, v) in &later {
            apply(&mut model, k, v);
        }
        let guard = ordex_btree::pin();
        check(&mut tree.cursor(&guard), &model, &steps)?;
        check(&mut snap.cursor(&guard), &at_snapshot, &steps)?;
    }
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        1 => Just(Bound::Unbounded),
        2 => key().prop_map(Bound::Included),
        2 => key().prop_map(Bound::Excluded),
    ]
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `Range` is double-ended: pulling from both ends in any order yields
    /// what the model's double-ended range yields.
    #[test]
    fn range_is_double_ended(
        writes in prop::collection::vec((key(), prop::option::of(prop::collection::vec(any::<u8>(), 0..12))), 0..200),
        from in bound(),
        to in bound(),
        pulls in prop::collection::vec(any::<bool>(), 0..120),
    ) {
        let tree = BTree::<Optimistic, 4>::new();
        let mut model = Model::new();
        for (k, v) in &writes {
            match v {
                Some(v) => { tree.put(k, v); model.insert(k.clone(), v.clone()); }
                None => { tree.delete(k); model.remove(k); }
            }
        }
        let guard = ordex_btree::pin();
        let mut got = tree.range(as_ref(&from), as_ref(&to), &guard);
        let empty = ordex_core::is_empty_range(as_ref(&from), as_ref(&to));
        let mut want = (!empty).then(|| model.range::<[u8], _>((as_ref(&from), as_ref(&to))));
        for back in pulls {
            let w = want.as_mut().and_then(|w| if back { w.next_back() } else { w.next() });
            let w = w.map(|(k, v)| (k.clone(), v.clone()));
            let g = if back { got.next_back() } else { got.next() };
            prop_assert_eq!(g.map(|(k, v)| (k.to_vec(), v.to_vec())), w, "back: {}", back);
        }
    }
}

#[test]
fn cursor_walks_while_writers_change_the_tree() {
    // Stable keys 0, 3, 6, ... stay put; writers insert and remove the
    // keys between them. Walking forward and back, the cursor must see
    // every stable key, in strictly monotone order.
    let tree = BTree::<Optimistic, 4>::new();
    let n = 600u32;
    for i in (0..n).step_by(3) {
        tree.put(&i.to_be_bytes(), b"stable");
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    /// Stops the writers also when an assertion fails (else the scope
    /// would wait for them forever).
    struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        for w in 0..3u32 {
            let (tree, stop) = (&tree, &stop);
            s.spawn(move || {
                let mut x = 0x9E37_79B9u32 ^ w;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let k = x % n;
                    if k.is_multiple_of(3) {
                        continue;
                    }
                    if x & 0x100 == 0 {
                        tree.put(&k.to_be_bytes(), b"churn");
                    } else {
                        tree.delete(&k.to_be_bytes());
                    }
                }
            });
        }
        let _stop = StopOnDrop(&stop);
        for round in 0..200 {
            let guard = ordex_btree::pin();
            let mut c = tree.cursor(&guard);
            let mut seen = Vec::new();
            let forward = round % 2 == 0;
            let mut ok = if forward {
                c.seek_first()
            } else {
                c.seek_last()
            };
            while ok {
                seen.push(u32::from_be_bytes(
                    c.key().unwrap().as_slice().try_into().unwrap(),
                ));
                ok = if forward { c.next() } else { c.prev() };
            }
            if !forward {
                seen.reverse();
            }
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "strictly monotone");
            let stable: Vec<u32> = seen
                .iter()
                .copied()
                .filter(|k| k.is_multiple_of(3))
                .collect();
            assert_eq!(
                stable,
                (0..n).step_by(3).collect::<Vec<_>>(),
                "every stable key"
            );
        }
    });
}
