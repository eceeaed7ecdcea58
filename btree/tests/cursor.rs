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
            Step::First => c.first(),
            Step::Last => c.last(),
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
            let mut ok = if forward { c.first() } else { c.last() };
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

/// Leaves that mix in-slot values, tombstones and version chains (a
/// snapshot keeps the removed and overwritten versions): every way of
/// reading a range (ascending, descending, double-ended, cursor, trait
/// scan), live and as of the snapshot, agrees with the models. Buffers
/// drop the keys without a value at the reader's seqno, so this checks
/// that the entries around the dropped ones keep their order.
#[test]
fn scans_over_mixed_slots_agree_with_models() {
    use ordex_core::OrderedIndex;
    let tree = BTree::<Optimistic, 16>::new();
    let mut now = Model::new();
    for i in 0..300u32 {
        let k = i.to_be_bytes().to_vec();
        tree.put(&k, &k[2..]);
        now.insert(k.clone(), k[2..].to_vec());
    }
    let then = now.clone();
    let snap = tree.snapshot_ref();
    for i in 0..300u32 {
        let k = i.to_be_bytes().to_vec();
        match i % 5 {
            0 | 3 => {
                tree.delete(&k);
                now.remove(&k);
            }
            1 => {
                tree.put(&k, b"newer");
                now.insert(k, b"newer".to_vec());
            }
            _ => {}
        }
    }
    let guard = ordex_btree::pin();
    let pairs = |it: &mut dyn Iterator<Item = (ordex_btree::Bytes<'_>, ordex_btree::Bytes<'_>)>| {
        it.map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect::<Vec<_>>()
    };
    for (lo, hi) in [(0u32, 300u32), (7, 8), (13, 171), (290, 400)] {
        let (lo_k, hi_k) = (lo.to_be_bytes(), hi.to_be_bytes());
        let (from, to) = (Bound::Included(&lo_k[..]), Bound::Excluded(&hi_k[..]));
        for (m, live) in [(&now, true), (&then, false)] {
            let want: Vec<_> = m
                .range(lo_k.to_vec()..hi_k.to_vec())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let up = if live {
                pairs(&mut tree.range(from, to, &guard))
            } else {
                pairs(&mut snap.range(from, to, &guard))
            };
            assert_eq!(up, want, "ascending {lo}..{hi}, live {live}");
            let mut down = if live {
                pairs(&mut tree.range_rev(from, to, &guard))
            } else {
                pairs(&mut snap.range_rev(from, to, &guard))
            };
            down.reverse();
            assert_eq!(down, want, "descending {lo}..{hi}, live {live}");
            // Both ends of one range, alternating.
            let mut r = if live {
                tree.range(from, to, &guard)
            } else {
                snap.range(from, to, &guard)
            };
            let (mut front, mut back) = (Vec::new(), Vec::new());
            while let Some((k, v)) = r.next() {
                front.push((k.to_vec(), v.to_vec()));
                let Some((k, v)) = r.next_back() else { break };
                back.push((k.to_vec(), v.to_vec()));
            }
            back.reverse();
            front.extend(back);
            assert_eq!(front, want, "double-ended {lo}..{hi}, live {live}");
            // A cursor from the lower bound.
            let mut c = if live {
                tree.cursor(&guard)
            } else {
                snap.cursor(&guard)
            };
            let mut walked = Vec::new();
            let mut ok = c.seek(&lo_k);
            while ok {
                let (k, v) = c.entry().expect("positioned");
                if *k >= hi_k[..] {
                    break;
                }
                walked.push((k.to_vec(), v.to_vec()));
                ok = c.next();
            }
            assert_eq!(walked, want, "cursor {lo}..{hi}, live {live}");
        }
        // The trait scan (its own buffer walk), live.
        let want: Vec<_> = now
            .range(lo_k.to_vec()..hi_k.to_vec())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut got = Vec::new();
        tree.scan(from, to, &mut |k, v| {
            got.push((k.to_vec(), v.to_vec()));
            true
        });
        assert_eq!(got, want, "trait scan {lo}..{hi}");
    }
}

/// A scan goes on from its copy of a leaf to the leaf's right sibling,
/// or, if the leaf changed meanwhile, from the last key yielded. A live
/// scan whose callback writes around it (so slots shift both ways and
/// leaves split under it) sees every key that stays put exactly once and
/// in order; a scan of a snapshot taken before those writes, whose
/// callback keeps writing keys the snapshot cannot see just above the
/// ones still to come, sees exactly the snapshot.
#[test]
fn scans_go_on_across_leaves_that_change_under_them() {
    use ordex_core::{OrderedIndex, Snapshot};
    let tree = BTree::<Optimistic, 16>::new();
    let key = |i: u32| i.to_be_bytes();
    let stable: Vec<u32> = (0..600).step_by(3).collect();
    for &i in &stable {
        tree.put(&key(i), &key(i));
        tree.put(&key(i + 1), b"doomed");
    }
    // Live: a stable key seen removes the key behind it (so the slots
    // still to come shift left under the scan), and every fourth inserts
    // the key after the next one (seen or not, as weak consistency allows;
    // so leaves also split under it).
    let mut seen = Vec::new();
    let n = tree.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, _| {
        let i = u32::from_be_bytes(k.try_into().expect("4-byte keys"));
        seen.push(i);
        if i % 3 == 0 && i > 0 {
            tree.delete(&key(i - 2));
            if (i / 3) % 4 == 0 {
                tree.put(&key(i + 2), b"new");
            }
        }
        true
    });
    assert_eq!(n, seen.len());
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ascending, no duplicate"
    );
    let stable_seen: Vec<u32> = seen.iter().copied().filter(|i| i % 3 == 0).collect();
    assert_eq!(stable_seen, stable, "every key present throughout, once");
    // A snapshot: its scan sees exactly what it held, while every entry
    // seen writes ten keys it cannot see next to the ones still to come.
    let want: Vec<(Vec<u8>, Vec<u8>)> = tree
        .range(Bound::Unbounded, Bound::Unbounded, &ordex_btree::pin())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let snap = tree.snapshot_ref();
    let mut got = Vec::new();
    let mut fresh = 1_000_000u32;
    snap.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, v| {
        got.push((k.to_vec(), v.to_vec()));
        let i = u32::from_be_bytes(k.try_into().expect("4-byte keys"));
        for _ in 0..10 {
            // Keys just above `i`, in the leaves the scan reads next.
            fresh = fresh.wrapping_add(1);
            let mut k = key(i).to_vec();
            k.extend_from_slice(&fresh.to_be_bytes());
            tree.put(&k, b"new");
        }
        true
    });
    assert_eq!(got, want, "a snapshot's scan is exact");
}
