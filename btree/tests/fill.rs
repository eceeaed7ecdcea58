//! Leaves filled in order stay full: a leaf whose inserts came in a run
//! (each right after, or right before, the one before) splits at the new
//! key, so ascending and descending loads, and ascending ids inside each
//! of several key ranges, fill leaves instead of leaving them half full;
//! random loads still split in half. Each load is checked
//! against a model (`BTreeMap`) and the tree's invariants.

use ordex_btree::{BTree, Optimistic};
use ordex_core::{OrderedIndex, OrderedIndexExt};
use std::collections::BTreeMap;

const N: usize = 16;
const KEYS: u64 = 20_000;

/// Leaves and nodes per level after loading `KEYS` keys in `order`, once
/// the table matches the model.
fn load(order: &str) -> (usize, Vec<usize>) {
    let key = |i: u64| -> [u8; 16] {
        let (hi, lo) = match order {
            "ascending" => (7, i),
            "descending" => (7, u64::MAX - i),
            "ranges" => (i % 8, i / 8),
            _ => (7, (i ^ 0x5555).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        };
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&u64::to_be_bytes(hi));
        k[8..].copy_from_slice(&u64::to_be_bytes(lo));
        k
    };
    let tree = BTree::<Optimistic, N>::new();
    let mut model = BTreeMap::new();
    for i in 0..KEYS {
        let k = key(i);
        tree.insert(&k, &i.to_le_bytes()).unwrap();
        model.insert(k.to_vec(), i.to_le_bytes().to_vec());
    }
    tree.check_invariants(true).unwrap();
    let got = tree.collect_range::<&[u8], _>(..);
    let want: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
    assert!(got == want, "{order}: the tree matches the model");
    let levels = tree.prefix_lens().iter().map(Vec::len).collect();
    (tree.leaf_count(), levels)
}

#[test]
fn leaves_filled_in_order_stay_full() {
    let least = (KEYS as usize).div_ceil(N);
    for order in ["ascending", "descending", "ranges"] {
        let (leaves, levels) = load(order);
        eprintln!("{order}: {leaves} leaves (at least {least}), nodes per level {levels:?}");
        // Full leaves but for a few where the ranges meet (half-splits
        // left 1.45x the least: 1810 leaves for random keys).
        assert!(
            leaves <= least + least / 10 + 16,
            "{order}: {leaves} leaves for {KEYS} keys in {N}-slot leaves"
        );
        // Inner nodes split in half whatever the order (see the leaf's
        // `split_point`): at least half full.
        let above = levels[levels.len() - 2];
        assert!(
            above <= leaves.div_ceil(N / 2) + 16,
            "{order}: {above} inner nodes over {leaves} leaves"
        );
    }
    // Random keys split in half: about 69% full.
    let (leaves, levels) = load("random");
    eprintln!("random: {leaves} leaves, nodes per level {levels:?}");
    assert!(leaves > least * 5 / 4, "random: {leaves} leaves");
}
