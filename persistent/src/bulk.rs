//! Bulk load from sorted input: O(n), full leaves, no per-entry descent.
//!
//! Leaves are filled to [`LEAF_CAP`] in input order, then each level of
//! inner nodes groups up to [`INNER_CAP`] nodes of the level below, the
//! separators being their first keys. The last node of a level, if it
//! would fall below the minimum, shares the entries (or children) of the
//! last two nodes evenly, so the result keeps every invariant of a tree
//! built by inserts, with full nodes everywhere else.

use crate::edit::Tree;
use crate::node::{Child, Inner, Leaf, Node, INNER_CAP, INNER_MIN, LEAF_CAP, LEAF_MIN};
use crate::shared::{Family, Shared};
use crate::strings::Strings;
use crate::{Config, PersistentBTree};
use core::fmt;
use ordex_core::{Error, Limits};
use std::sync::Arc;

/// Why a bulk load was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// Entry `at` (counting from 0) has a key not strictly greater than
    /// the previous entry's.
    Unsorted {
        /// The offending entry's position in the input.
        at: usize,
    },
    /// An entry exceeds the index's limits.
    Limit(Error),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Unsorted { at } => write!(
                f,
                "entry {at} of a bulk load is not above the one before it (keys must be strictly ascending)"
            ),
            LoadError::Limit(e) => write!(f, "bulk load: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Sizes of `groups` consecutive groups of `total` items, each at most
/// `cap`, all full but the last two, which share evenly if the last would
/// fall below `min`.
fn group_sizes(total: usize, cap: usize, min: usize) -> Vec<usize> {
    let mut sizes = vec![cap; total / cap];
    if !total.is_multiple_of(cap) {
        sizes.push(total % cap);
    }
    let g = sizes.len();
    if g >= 2 && sizes[g - 1] < min {
        let t = sizes[g - 2] + sizes[g - 1];
        sizes[g - 2] = t - t / 2;
        sizes[g - 1] = t / 2;
    }
    sizes
}

pub(crate) fn build<K, V>(
    entries: impl IntoIterator<Item = (K, V)>,
    limits: &Limits,
) -> Result<Tree, LoadError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut leaves: Vec<Leaf> = Vec::new();
    // The next leaf's entries, made into a leaf in one allocation once
    // there are `LEAF_CAP` of them.
    let mut pending: Vec<(K, V)> = Vec::with_capacity(LEAF_CAP);
    let flush = |pending: &mut Vec<(K, V)>, leaves: &mut Vec<Leaf>| {
        leaves.push(Leaf::from_entries(pending));
        pending.clear();
    };
    let mut len = 0usize;
    for (at, (k, v)) in entries.into_iter().enumerate() {
        limits
            .check(k.as_ref(), v.as_ref())
            .map_err(LoadError::Limit)?;
        let sorted = match (pending.last(), leaves.last()) {
            (Some((p, _)), _) => p.as_ref() < k.as_ref(),
            (None, Some(l)) => l.key(l.len() - 1) < k.as_ref(),
            (None, None) => true,
        };
        if !sorted {
            return Err(LoadError::Unsorted { at });
        }
        if pending.len() == LEAF_CAP {
            flush(&mut pending, &mut leaves);
        }
        pending.push((k, v));
        len += 1;
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut leaves);
    }
    let n = leaves.len();
    if n >= 2 && leaves[n - 1].len() < LEAF_MIN {
        // Move the tail of the full leaf before it over, so that they
        // share their entries evenly.
        let last = leaves.pop().expect("two leaves");
        let before = leaves.last_mut().expect("two leaves");
        let t = before.len() + last.len();
        let moved = t / 2 - last.len();
        let mut right = before.split_off(before.len() - moved);
        right.append(&last);
        leaves.push(right);
    }
    Ok(levels(leaf_nodes(leaves), len))
}

/// The leaves as nodes.
fn leaf_nodes(leaves: Vec<Leaf>) -> Vec<Shared<Node>> {
    leaves
        .into_iter()
        .map(|l| Shared::new(Node::Leaf(l)))
        .collect()
}

/// Builds the inner levels over `leaves` (in key order, each within the
/// leaf bounds).
fn levels(leaves: Vec<Shared<Node>>, len: usize) -> Tree {
    levels_over(leaves, 0, len)
}

/// Builds the inner levels over `level`, nodes of height `height` (0 for
/// leaves) in key order.
fn levels_over(level: Vec<Shared<Node>>, height: usize, len: usize) -> Tree {
    let mut level = level;
    let mut height = height;
    while level.len() > 1 {
        let sizes = group_sizes(level.len(), INNER_CAP, INNER_MIN);
        let mut next = Vec::with_capacity(sizes.len());
        let mut children = level.into_iter();
        for size in sizes {
            let mut inner = Inner::new();
            inner.extend_children(children.by_ref().take(size).map(Child::new));
            // The separators in one allocation, not one push each.
            inner.set_keys(Strings::from_parts(
                inner.children()[1..].iter().map(|c| c.first_key()),
            ));
            inner.entries = inner.children().iter().map(|c| c.entries()).sum();
            next.push(Shared::new(Node::Inner(inner)));
        }
        level = next;
        height += 1;
    }
    Tree {
        root: level.pop(),
        height,
        len,
    }
}

/// What is wrong with entry `at` of `entries`: over a limit, or not
/// above the entry before it.
#[inline]
fn first_error<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    entries: &[(K, V)],
    at: usize,
    limits: &Limits,
) -> Option<LoadError> {
    let (k, v) = &entries[at];
    if let Err(e) = limits.check(k.as_ref(), v.as_ref()) {
        Some(LoadError::Limit(e))
    } else if at > 0 && entries[at - 1].0.as_ref() >= k.as_ref() {
        Some(LoadError::Unsorted { at })
    } else {
        None
    }
}

/// Inputs from which [`build_slice`] builds its leaves on rayon's pool.
const PARALLEL_FROM: usize = 1 << 16;

/// [`build`] over a slice: the same tree, its checks, its leaves and
/// their parents built in parallel (rayon) when the input is large. Each
/// leaf's entries and each parent's leaves are known from the sizes alone
/// ([`group_sizes`]), so the parents are independent; the levels above,
/// 1/1024 of the work, are built after.
pub(crate) fn build_slice<K, V>(entries: &[(K, V)], limits: &Limits) -> Result<Tree, LoadError>
where
    K: AsRef<[u8]> + Sync,
    V: AsRef<[u8]> + Sync,
{
    use rayon::prelude::*;
    if entries.len() < PARALLEL_FROM {
        return build(entries.iter().map(|(k, v)| (k, v)), limits);
    }
    let sizes = group_sizes(entries.len(), LEAF_CAP, LEAF_MIN);
    let mut starts = Vec::with_capacity(sizes.len() + 1);
    let mut at = 0;
    for s in &sizes {
        starts.push(at);
        at += s;
    }
    starts.push(at);
    // Leaf `l` holds entries `starts[l]..starts[l + 1]`. The leaves'
    // parents are grouped as `levels` groups them, so each task builds one
    // parent and its leaves while their entries and nodes are in its
    // core's cache: the parent's separators come from the slice (each
    // leaf's first key), its children's hints and counts from nodes just
    // written. (Built one level at a time, the parents' level read every
    // leaf again on one thread: an eighth of the load.)
    let groups = group_sizes(sizes.len(), INNER_CAP, INNER_MIN);
    let mut firsts = Vec::with_capacity(groups.len());
    let mut leaf = 0;
    for g in &groups {
        firsts.push(leaf);
        leaf += g;
    }
    // Every task's entries are checked before any of its nodes is made
    // (a pass over 16 KiB for full leaves of u64 keys, in cache for the
    // build right after it).
    let parents: Vec<Option<Shared<Node>>> = firsts
        .par_iter()
        .zip(groups.par_iter())
        .map(|(&first, &count)| {
            let leaves = first..first + count;
            let (from, to) = (starts[first], starts[first + count]);
            if !(from..to).all(|at| first_error(entries, at, limits).is_none()) {
                return None;
            }
            let children = leaves.clone().map(|l| {
                let leaf = Leaf::from_entries(&entries[starts[l]..starts[l + 1]]);
                Child::new(Shared::new(Node::Leaf(leaf)))
            });
            let keys = Strings::from_parts(
                leaves
                    .clone()
                    .skip(1)
                    .map(|l| entries[starts[l]].0.as_ref()),
            );
            Some(Shared::new(Node::Inner(Inner::from_parts(
                keys,
                children,
                to - from,
            ))))
        })
        .collect();
    if parents.iter().any(Option::is_none) {
        // The nodes built go here, on this thread, which holds their
        // family's lock (a count changes only under it).
        drop(parents);
        // The first offending entry, as the sequential load reports it.
        let e = (0..entries.len())
            .find_map(|at| first_error(entries, at, limits))
            .expect("some task found an offending entry");
        return Err(e);
    }
    let parents = parents.into_iter().map(|p| p.expect("checked")).collect();
    Ok(levels_over(parents, 1, entries.len()))
}

impl PersistentBTree {
    /// Builds an index from a slice of entries in strictly ascending key
    /// order, like [`from_sorted`](Self::from_sorted), checking the input
    /// and building the leaves on rayon's thread pool when it holds 65,536
    /// entries or more.
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// use ordex_persistent::PersistentBTree;
    ///
    /// let entries: Vec<([u8; 8], [u8; 8])> =
    ///     (0u64..100_000).map(|i| (i.to_be_bytes(), i.to_le_bytes())).collect();
    /// let index = PersistentBTree::from_sorted_slice(&entries).unwrap();
    /// assert_eq!(index.len(), 100_000);
    /// assert_eq!(index.get_copied(&7u64.to_be_bytes()), Some(7u64.to_le_bytes().to_vec()));
    /// ```
    pub fn from_sorted_slice<K, V>(entries: &[(K, V)]) -> Result<Self, LoadError>
    where
        K: AsRef<[u8]> + Sync,
        V: AsRef<[u8]> + Sync,
    {
        let empty = Self::new();
        let tree = {
            // An error drops the nodes built so far (see `shared`).
            let _held = empty.family.hold();
            build_slice(entries, &empty.limits)?
        };
        Ok(Self::loaded(tree, &empty.family, Config::default()))
    }

    /// Builds an index from entries in strictly ascending key order, in
    /// O(n) with full nodes (no per-entry descent, no copies): the fastest
    /// way to load a table. The index starts at seqno 1 (the load is one
    /// write), or 0 if `entries` is empty.
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// use ordex_persistent::PersistentBTree;
    ///
    /// let index = PersistentBTree::from_sorted(
    ///     (0u32..1000).map(|i| (i.to_be_bytes(), [1u8; 8])),
    /// ).unwrap();
    /// assert_eq!(index.len(), 1000);
    /// assert!(PersistentBTree::from_sorted([(b"b", b""), (b"a", b"")]).is_err());
    /// ```
    pub fn from_sorted<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> Result<Self, LoadError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        Self::from_sorted_with_config(entries, Config::default())
    }

    /// [`from_sorted`](Self::from_sorted) with a [`Config`].
    pub fn from_sorted_with_config<K, V>(
        entries: impl IntoIterator<Item = (K, V)>,
        config: Config,
    ) -> Result<Self, LoadError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let empty = Self::with_config(config);
        let tree = {
            // An error drops the nodes built so far (see `shared`).
            let _held = empty.family.hold();
            build(entries, &empty.limits)?
        };
        Ok(Self::loaded(tree, &empty.family, config))
    }

    /// The index of a bulk load's tree (seqno 1, or 0 if empty).
    fn loaded(tree: Tree, family: &Arc<Family>, config: Config) -> Self {
        let seqno = u64::from(tree.len > 0);
        Self::from_tree(tree, seqno, family.clone(), config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordex_core::{OrderedIndex, OrderedIndexExt};

    #[test]
    fn group_sizes_respect_the_bounds() {
        for total in 1..2000 {
            let s = group_sizes(total, 32, 16);
            assert_eq!(s.iter().sum::<usize>(), total);
            assert!(s.iter().all(|&g| g <= 32));
            if s.len() > 1 {
                assert!(s.iter().all(|&g| g >= 16), "{total}: {s:?}");
            }
        }
    }

    #[test]
    fn loads_agree_with_the_input_and_keep_the_invariants() {
        // Trees built outside an index: their counts change under this.
        let family = crate::shared::Family::new();
        let _held = family.hold();
        for n in [
            0usize, 1, 15, 16, 17, 32, 33, 47, 48, 49, 1023, 1024, 1025, 40_000,
        ] {
            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..n as u64)
                .map(|i| {
                    (
                        (i * 3).to_be_bytes().to_vec(),
                        // Some values out of line.
                        vec![
                            i as u8;
                            if i.is_multiple_of(13) {
                                400
                            } else {
                                (i % 5) as usize
                            }
                        ],
                    )
                })
                .collect();
            let limits = PersistentBTree::new().limits();
            let tree = build(entries.iter().map(|(k, v)| (k, v)), &limits).unwrap();
            crate::edit::check(&tree);
            let index = PersistentBTree::from_sorted(entries.iter().map(|(k, v)| (k, v))).unwrap();
            assert_eq!(index.collect_range::<[u8], _>(..), entries, "n = {n}");
            // Writes after a load keep the invariants too.
            for (k, _) in entries.iter().step_by(3) {
                index.remove(k).unwrap();
            }
            index.insert(b"\xff", b"last").unwrap();
            crate::edit::check(&index.published.load().tree);
        }
    }

    /// How many entries or children each node holds, level by level from
    /// the root, and each inner node's separators.
    fn shape(tree: &Tree) -> Vec<Vec<(usize, Vec<Vec<u8>>)>> {
        let mut levels = Vec::new();
        let mut level: Vec<&Node> = tree.root.iter().map(|r| &**r).collect();
        while !level.is_empty() {
            let mut next = Vec::new();
            levels.push(
                level
                    .iter()
                    .map(|node| match node {
                        Node::Leaf(l) => (l.len(), Vec::new()),
                        Node::Inner(i) => {
                            next.extend(i.children().iter().map(|c| &***c));
                            let keys = (0..i.len() - 1).map(|k| i.keys().get(k).to_vec()).collect();
                            (i.len(), keys)
                        }
                    })
                    .collect(),
            );
            level = next;
        }
        levels
    }

    /// The parallel load of a slice builds a tree with the invariants and
    /// the contents of the input, and reports the first bad entry as the
    /// sequential load does.
    #[test]
    fn parallel_loads_agree_with_sequential_ones() {
        // Trees built outside an index: their counts change under this.
        let family = crate::shared::Family::new();
        let _held = family.hold();
        let limits = PersistentBTree::new().limits();
        for n in [PARALLEL_FROM, PARALLEL_FROM + 17, 3 * PARALLEL_FROM + 1] {
            let entries: Vec<([u8; 8], Vec<u8>)> = (0..n as u64)
                .map(|i| {
                    let len = if i.is_multiple_of(1000) { 300 } else { i % 3 };
                    ((i * 5).to_be_bytes(), vec![i as u8; len as usize])
                })
                .collect();
            let tree = build_slice(&entries, &limits).unwrap();
            crate::edit::check(&tree);
            // The same nodes as the sequential load's, level by level.
            let sequential = build(entries.iter().map(|(k, v)| (k, v)), &limits).unwrap();
            assert_eq!(tree.height, sequential.height, "n = {n}");
            assert_eq!(shape(&tree), shape(&sequential), "n = {n}");
            let mut got = Vec::new();
            crate::walk::scan_tree(
                tree.root.as_ref(),
                tree.height,
                core::ops::Bound::Unbounded,
                core::ops::Bound::Unbounded,
                &mut |k, v| {
                    got.push((<[u8; 8]>::try_from(k).unwrap(), v.to_vec()));
                    true
                },
            );
            assert_eq!(got, entries);
        }
        let mut entries: Vec<([u8; 8], [u8; 0])> = (0..PARALLEL_FROM as u64 * 2)
            .map(|i| (i.to_be_bytes(), []))
            .collect();
        entries[90_000].0 = [0; 8];
        entries[100_000].0 = [0; 8];
        assert_eq!(
            build_slice(&entries, &limits).err(),
            Some(LoadError::Unsorted { at: 90_000 })
        );
        assert_eq!(
            build(entries.iter().map(|(k, v)| (k, v)), &limits).err(),
            Some(LoadError::Unsorted { at: 90_000 })
        );
    }

    #[test]
    fn refuses_unsorted_and_oversized_input() {
        let r = PersistentBTree::from_sorted([(&b"a"[..], &b""[..]), (b"a", b"")]);
        assert_eq!(r.err(), Some(LoadError::Unsorted { at: 1 }));
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = (0..100u32)
            .map(|i| (i.to_be_bytes().to_vec(), vec![]))
            .collect();
        entries[70].0 = vec![0];
        let r = PersistentBTree::from_sorted(entries);
        assert_eq!(r.err(), Some(LoadError::Unsorted { at: 70 }));
        let big = vec![0u8; crate::node::MAX_KEY_LEN + 1];
        let r = PersistentBTree::from_sorted([(&big[..], &b""[..])]);
        assert!(matches!(
            r.err(),
            Some(LoadError::Limit(Error::KeyTooLarge { .. }))
        ));
    }
}
