//! Prefix truncation: nodes store their range's common prefix once and
//! their slot heads hold the bytes after it. These tests check that the
//! prefixes are really there (not all zero) and that every way a node's
//! range changes (leaf and inner splits, leaf unlinks, inner merges, root
//! growth and collapse, bulk loads) keeps them valid: `check_invariants`
//! verifies that each node's prefix is shared by its fences and keys and
//! that each head is the 8 bytes after it, and every read is compared with
//! a `BTreeMap` model.

use ordex_btree::{BTree, Optimistic};
use ordex_core::OrderedIndex;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A deterministic permutation of `0..n` (multiplicative hashing by an odd
/// constant is a bijection modulo a power of two; keep those below `n`).
fn shuffled(n: u32, salt: u32) -> Vec<u32> {
    let m = n.next_power_of_two();
    (0..m)
        .map(|i| (i.wrapping_mul(2_654_435_761) ^ salt) & (m - 1))
        .filter(|&i| i < n)
        .collect()
}

/// Id `i` behind the fixed 8-byte prefix `tbl:0042` (16 bytes).
fn id(i: u32) -> Vec<u8> {
    let mut k = b"tbl:0042".to_vec();
    k.extend_from_slice(&u64::from(i).to_be_bytes());
    k
}

fn user_key(i: u32) -> Vec<u8> {
    format!("user:profile:{i:08}").into_bytes()
}

/// Everything the tree yields, in order, agrees with the model.
fn agree<const N: usize>(tree: &BTree<Optimistic, N>, model: &BTreeMap<Vec<u8>, Vec<u8>>) {
    let guard = ordex_btree::pin();
    let got: Vec<(Vec<u8>, Vec<u8>)> = tree
        .range(Bound::Unbounded, Bound::Unbounded, &guard)
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "a scan disagrees with the model");
    let back: Vec<Vec<u8>> = tree
        .range_rev(Bound::Unbounded, Bound::Unbounded, &guard)
        .map(|(k, _)| k.to_vec())
        .collect();
    assert!(
        back.iter().rev().eq(model.keys()),
        "a reverse scan disagrees"
    );
    for (k, v) in model {
        assert_eq!(
            tree.get_ref(k, &guard).as_deref(),
            Some(&v[..]),
            "get {k:?}"
        );
    }
}

/// The leaves' prefix lengths, without the leftmost and rightmost leaf
/// (whose ranges are open, so they have none).
fn inner_leaf_prefixes<const N: usize>(tree: &BTree<Optimistic, N>) -> Vec<usize> {
    let levels = tree.prefix_lens();
    let leaves = levels.last().expect("a leaf level");
    leaves[1..leaves.len().saturating_sub(1)].to_vec()
}

/// 20 000 keys `user:profile:NNNNNNNN` in random order: every leaf between
/// the first and the last stores at least the 13 shared bytes once, and
/// most store more (the digits their fences share); removing most of them
/// in another order (leaf unlinks and inner merges shrink prefixes),
/// putting them back, and removing all keeps every node valid, down to
/// one leaf.
#[test]
fn long_shared_prefixes_are_stored_once() {
    let tree = BTree::<Optimistic, 64>::new();
    let mut model = BTreeMap::new();
    let n = 20_000;
    for i in shuffled(n, 0x5a5a) {
        let (k, v) = (user_key(i), i.to_le_bytes().to_vec());
        tree.insert(&k, &v).unwrap();
        model.insert(k, v);
    }
    tree.check_invariants(true).unwrap();
    agree(&tree, &model);
    let p = inner_leaf_prefixes(&tree);
    assert!(p.len() > 100, "{} leaves", p.len());
    assert!(
        p.iter().all(|&l| l >= 13),
        "a leaf without the shared prefix: {p:?}"
    );
    let mut sorted = p.clone();
    sorted.sort_unstable();
    assert!(
        sorted[sorted.len() / 2] >= 17,
        "median leaf prefix {}",
        sorted[sorted.len() / 2]
    );
    // Inner nodes that were right halves of a split have prefixes too.
    let levels = tree.prefix_lens();
    assert!(levels.len() >= 3, "{levels:?}");
    assert!(
        levels[levels.len() - 2].iter().any(|&l| l >= 13),
        "{levels:?}"
    );

    // Remove two of every three runs of 512 keys (emptying their leaves),
    // then put them back: the leaves that absorbed emptied neighbours
    // take keys outside their old prefix.
    let order = shuffled(n, 0x1234);
    let gone = |i: u32| !(i / 512).is_multiple_of(3);
    for (j, &i) in order.iter().filter(|&&i| gone(i)).enumerate() {
        let k = user_key(i);
        assert!(tree.remove(&k).unwrap());
        model.remove(&k);
        if j % 2500 == 0 {
            tree.check_invariants(true).unwrap();
            agree(&tree, &model);
        }
    }
    tree.check_invariants(true).unwrap();
    agree(&tree, &model);
    for &i in order.iter().filter(|&&i| gone(i)) {
        let (k, v) = (user_key(i), b"back".to_vec());
        tree.insert(&k, &v).unwrap();
        model.insert(k, v);
    }
    tree.check_invariants(true).unwrap();
    agree(&tree, &model);
    for i in order {
        assert!(tree.remove(&user_key(i)).unwrap());
    }
    tree.check_invariants(true).unwrap();
    assert!(tree.is_empty());
    assert_eq!(tree.leaf_count(), 1);
}

/// Keys of at most 8 bytes live whole in their slot and are rebuilt from
/// the node's prefix and the head: big-endian u64 keys from a narrow range
/// share their first 5 bytes in most leaves.
#[test]
fn short_keys_are_rebuilt_from_the_prefix() {
    let tree = BTree::<Optimistic, 16>::new();
    let mut model = BTreeMap::new();
    for i in shuffled(30_000, 7) {
        let k = (u64::from(i) * 3 + (1 << 40)).to_be_bytes().to_vec();
        let v = vec![i as u8; (i % 9) as usize];
        tree.insert(&k, &v).unwrap();
        model.insert(k, v);
    }
    // Short keys of other lengths in the same range of the key space:
    // prefixes of the 8-byte ones, and ones with trailing zeros.
    for k in [
        &[0u8, 0, 1][..],
        &[0, 0, 1, 0, 0, 0],
        &[0, 0, 1, 0, 0, 1, 0],
        &[0, 0, 1, 0],
    ] {
        tree.insert(k, b"short").unwrap();
        model.insert(k.to_vec(), b"short".to_vec());
    }
    tree.check_invariants(true).unwrap();
    agree(&tree, &model);
    let mut p = inner_leaf_prefixes(&tree);
    p.sort_unstable();
    assert!(p[p.len() / 2] >= 5, "median leaf prefix {}", p[p.len() / 2]);
    for i in shuffled(30_000, 99).into_iter().filter(|i| i % 3 != 0) {
        let k = (u64::from(i) * 3 + (1 << 40)).to_be_bytes().to_vec();
        assert!(tree.remove(&k).unwrap());
        model.remove(&k);
    }
    tree.check_invariants(true).unwrap();
    agree(&tree, &model);
}

/// A bulk load sets every node's prefix from its fences, and the tree
/// then takes inserts and removes like any other.
#[test]
fn bulk_loaded_nodes_have_prefixes() {
    let n = 100_000;
    let tree = BTree::<Optimistic, 64>::from_sorted((0..n).map(|i| (user_key(i), i.to_le_bytes())));
    tree.check_invariants(true).unwrap();
    let levels = tree.prefix_lens();
    let p = inner_leaf_prefixes(&tree);
    assert!(p.iter().all(|&l| l >= 13), "{levels:?}");
    assert!(levels.len() >= 3 && levels[levels.len() - 2].iter().any(|&l| l >= 13));
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = (0..n)
        .map(|i| (user_key(i), i.to_le_bytes().to_vec()))
        .collect();
    for i in shuffled(n, 3).into_iter().take(30_000) {
        let k = format!("user:profile:{i:08}x").into_bytes();
        tree.insert(&k, b"new").unwrap();
        model.insert(k, b"new".to_vec());
        let k = user_key(i);
        assert!(tree.remove(&k).unwrap());
        model.remove(&k);
    }
    tree.check_invariants(true).unwrap();
    agree(&tree, &model);
}

/// Ids behind a fixed 8-byte prefix would share one head in the leftmost
/// and rightmost leaves, whose ranges are open at one end, if those took
/// their prefix from their fences; they take what their keys share (at
/// most 8 bytes) and cut it when a key arrives that does not share it. In
/// ascending, descending and shuffled order, with keys between the ids
/// absent, then with keys that cut those prefixes, every get, miss and
/// scan start agrees with the model.
#[test]
fn ids_that_share_one_head_are_found_in_any_order() {
    let n = 3_000;
    let orders: [(&str, Vec<u32>); 3] = [
        ("ascending", (0..n).collect()),
        ("descending", (0..n).rev().collect()),
        ("shuffled", shuffled(n, 0x5a5a)),
    ];
    for (name, order) in orders {
        let tree: BTree = BTree::new();
        let mut model = BTreeMap::new();
        // Even ids only: the odd ones are the misses between them.
        for i in order.into_iter().filter(|i| i % 2 == 0) {
            let v = i.to_le_bytes().to_vec();
            tree.put(&id(i), &v);
            model.insert(id(i), v);
        }
        // The first and the last leaf take the 8 bytes their keys share
        // as their prefix (their ranges are open at one end).
        let levels = tree.prefix_lens();
        let leaves = levels.last().expect("a leaf level");
        assert!(leaves.len() > 2, "{name}: {leaves:?}");
        assert_eq!(
            (leaves[0], leaves[leaves.len() - 1]),
            (8, 8),
            "{name}: the open-ended leaves' prefixes"
        );
        agree(&tree, &model);
        // The bare prefix and a longer key share the head too; keys below
        // and above every id share nothing, and cut those prefixes.
        for k in [
            b"tbl:0042".to_vec(),
            [id(n), b"x".to_vec()].concat(),
            b"aaa".to_vec(),
            b"tbl:0041\xff".to_vec(),
            b"tbl:0043".to_vec(),
            b"zzz".to_vec(),
        ] {
            tree.put(&k, b"edge");
            model.insert(k, b"edge".to_vec());
        }
        tree.check_invariants(true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        agree(&tree, &model);
        let guard = ordex_btree::pin();
        for i in (1..n).step_by(2) {
            assert!(
                tree.get_ref(&id(i), &guard).is_none(),
                "{name}: get {i} of an absent id"
            );
            let first = tree
                .range(Bound::Included(&id(i)[..]), Bound::Unbounded, &guard)
                .next()
                .map(|(k, _)| k.to_vec());
            let want = model
                .range::<[u8], _>((Bound::Included(&id(i)[..]), Bound::Unbounded))
                .next()
                .map(|(k, _)| k.clone());
            assert_eq!(first, want, "{name}: the first key from absent id {i}");
        }
        tree.check_invariants(true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Every node, at every level, takes the 8 bytes that ids behind a fixed
/// prefix share, in whichever order the ids come: the first and last
/// nodes of each level (open ranges) included. The inner nodes of the
/// left spine keep no low fence; they inherit the prefix a new root takes
/// from its separator (8-slot nodes, so the tree has several inner
/// levels).
#[test]
fn every_level_takes_the_ids_prefix_in_any_order() {
    let n = 4_000;
    for (name, order) in [
        ("ascending", (0..n).collect::<Vec<_>>()),
        ("descending", (0..n).rev().collect()),
        ("shuffled", shuffled(n, 0x1234)),
    ] {
        let tree: BTree<Optimistic, 8> = BTree::new();
        let mut model = BTreeMap::new();
        for i in order {
            tree.put(&id(i), b"v");
            model.insert(id(i), b"v".to_vec());
        }
        let levels = tree.prefix_lens();
        assert!(levels.len() >= 4, "{name}: {} levels", levels.len());
        for (depth, level) in levels.iter().enumerate() {
            assert!(
                level.iter().all(|&p| p >= 8),
                "{name}: level {depth} has a node without the ids' prefix: {level:?}"
            );
        }
        tree.check_invariants(true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        agree(&tree, &model);
    }
}
