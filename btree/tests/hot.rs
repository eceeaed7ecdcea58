//! The hot leaf: an insert tries the leaf of the latest insert at a leaf's
//! end before it descends from the root. Keys in runs (ascending,
//! descending, each range's next ids) go there; keys just outside its
//! fences, on either side, must not; and a hot leaf that empties and is
//! unlinked stops being hot. Each step is checked against a model
//! (`BTreeMap`) and the tree's invariants, which include that the hot leaf
//! is one of the tree's leaves.

use ordex_btree::{BTree, Optimistic};
use ordex_core::{OrderedIndex, OrderedIndexExt};
use std::collections::BTreeMap;

type Tree = BTree<Optimistic, 8>;

fn key(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

fn agree(tree: &Tree, model: &BTreeMap<Vec<u8>, Vec<u8>>, when: &str) {
    tree.check_invariants(true)
        .unwrap_or_else(|e| panic!("{when}: {e}"));
    let got = tree.collect_range::<&[u8], _>(..);
    let want: Vec<(Vec<u8>, Vec<u8>)> = model.clone().into_iter().collect();
    assert!(got == want, "{when}: the tree differs from the model");
    for (k, v) in model {
        assert_eq!(tree.get_copied(k).as_deref(), Some(&v[..]), "{when}: get");
    }
}

#[test]
fn keys_beside_the_hot_leaf_go_to_their_own_leaves() {
    let tree = Tree::new();
    let mut model = BTreeMap::new();
    let mut put = |tree: &Tree, i: u64| {
        tree.insert(&key(i), &i.to_le_bytes()).unwrap();
        model.insert(key(i).to_vec(), i.to_le_bytes().to_vec());
    };
    // Ascending keys make the rightmost leaf hot; then keys below its low
    // fence (which it covers on the high side: it has no high key).
    for i in (1000..1400).step_by(2) {
        put(&tree, i);
    }
    for i in (1001..1399).rev().step_by(6) {
        put(&tree, i);
    }
    // Descending keys make the leftmost leaf hot; then keys above it.
    for i in (0..400).rev().step_by(2) {
        put(&tree, i);
    }
    for i in (1..399).step_by(6) {
        put(&tree, i);
    }
    // Runs inside the key space: a middle leaf is hot, with fences on
    // both sides, and keys alternate between it and its neighbours.
    for run in 0..40u64 {
        let base = 400 + run * 7 % 600;
        for j in 0..12 {
            put(&tree, base * 1000 + j);
            put(&tree, (base + 1) * 1000 - j);
        }
    }
    let model_now = model.clone();
    agree(&tree, &model_now, "after runs on both sides of hot leaves");
}

#[test]
fn a_hot_leaf_that_is_unlinked_is_hot_no_more() {
    let tree = Tree::new();
    let mut model = BTreeMap::new();
    for round in 0..30u64 {
        // A run of ascending keys (the last leaf hot), then the run's
        // keys removed from the top: the leaves it filled empty and are
        // unlinked, the hot one among them.
        let base = round * 1000;
        for i in base..base + 200 {
            tree.insert(&key(i), b"v").unwrap();
            model.insert(key(i).to_vec(), b"v".to_vec());
        }
        for i in (base + 50..base + 200).rev() {
            tree.remove(&key(i)).unwrap();
            model.remove(&key(i)[..]);
        }
        agree(&tree, &model, &format!("round {round}, after the removals"));
        // Inserts that would have gone to the unlinked leaf.
        for i in base + 100..base + 120 {
            tree.insert(&key(i), b"w").unwrap();
            model.insert(key(i).to_vec(), b"w".to_vec());
        }
        agree(&tree, &model, &format!("round {round}, after the inserts"));
    }
}

#[test]
fn a_hot_leaf_unlinked_while_another_thread_appends() {
    // One thread appends rounds of ascending keys; another removes each
    // round again from its top (the hot leaf's end first), a round or two
    // behind, emptying and unlinking leaves the appender may hold hot.
    // Under AddressSanitizer (CI's stress run) a hot pointer left to an
    // unlinked leaf would be a use after free; here the invariants check
    // that the hot leaf is one of the tree's leaves.
    use std::sync::atomic::{AtomicU64, Ordering};
    const ROUND: u64 = 64;
    const ROUNDS: u64 = 300;
    let tree = Tree::new();
    let appended = AtomicU64::new(0);
    let removed = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for r in 0..ROUNDS {
                while removed.load(Ordering::Acquire) + 2 < r {
                    std::thread::yield_now();
                }
                for i in r * ROUND..(r + 1) * ROUND {
                    tree.insert(&key(i), b"v").unwrap();
                }
                appended.store(r + 1, Ordering::Release);
            }
        });
        s.spawn(|| {
            for r in 0..ROUNDS {
                while appended.load(Ordering::Acquire) <= r {
                    std::thread::yield_now();
                }
                for i in (r * ROUND..(r + 1) * ROUND).rev() {
                    assert!(tree.remove(&key(i)).unwrap(), "key {i} was appended");
                }
                removed.store(r + 1, Ordering::Release);
            }
        });
    });
    tree.check_invariants(true).unwrap();
    assert_eq!(tree.len(), 0);
    tree.insert(&key(7), b"v").unwrap();
    tree.check_invariants(true).unwrap();
}
