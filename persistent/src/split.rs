//! Cuts and joins: `split_off` and `append` in time proportional to the
//! height, sharing every subtree off the cut.
//!
//! - **Join** two trees whose keys do not interleave (every key of the
//!   left one below every key of the right one): the shorter tree's root
//!   becomes the last child of the node of the taller tree's right spine
//!   one level above it (or the first child on the left spine, if the
//!   right tree is the taller). The descent to that node splits every
//!   full node it enters, as an insert does, so the new child always
//!   finds room; if the grafted root holds fewer than a non-root node
//!   may, it is merged with its new neighbour or shares its entries with
//!   it evenly ([`balance`]). Two trees of one height get a new root over
//!   both (or merge into one root). The work is the difference of the
//!   heights, plus one: the nodes of one spine are copied (path copying),
//!   every other node is shared.
//! - **Split** at a key: the root-to-leaf path of the key cuts every node
//!   on it in two. At each level the children left of the path form a
//!   fragment (a new node over the shared children; a lone child stands
//!   for itself, one level lower; no child, nothing), and likewise on the
//!   right; the leaf splits in two. The left tree is the join of the left
//!   fragments from the bottom up, the right tree that of the right ones:
//!   each join costs the difference between the heights of the fragment
//!   and of what is joined so far, which telescopes to O(height) over the
//!   whole path. The entry counts of the inner nodes give the length of
//!   every fragment without counting entries.
//! - **Append** a tree to another: the receiving tree is split at the
//!   other's smallest and greatest keys; if nothing lies between (the
//!   other's keys all fall between two neighbouring keys of the receiving
//!   tree: above all of them, below all of them, or in a gap), the three
//!   pieces are joined, O(height); otherwise the smaller of the middle
//!   piece and the other tree is inserted entry by entry into the larger
//!   (the other tree's values win), and the pieces are joined around the
//!   result.
//!
//! Nothing here recurses: descents are loops, and the fragments of a cut
//! wait on a stack of at most the tree's height.

use crate::commit::{Op, Outcome};
use crate::edit::{merge, pair, refresh_pair, split_child_leaning, Lean, Tree};
use crate::node::{set_hint, Child, Hint, Inner, Leaf, Node, INNER_CAP, LEAF_CAP};
use crate::shared::Shared;
use crate::walk::scan_tree;
use crate::{PersistentBTree, PersistentSnapshot};
use core::ops::Bound;
use ordex_core::{Error, Seqno};
use smallvec::SmallVec;

/// Where a cut falls.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cut<'a> {
    /// Keys `>=` this one go right.
    Before(&'a [u8]),
    /// Keys `>` this one go right.
    After(&'a [u8]),
}

impl Cut<'_> {
    fn key(&self) -> &[u8] {
        match *self {
            Cut::Before(k) | Cut::After(k) => k,
        }
    }

    fn goes_right(&self, key: &[u8]) -> bool {
        match *self {
            Cut::Before(k) => key >= k,
            Cut::After(k) => key > k,
        }
    }

    /// How many entries of `leaf` go left.
    fn in_leaf(&self, leaf: &Leaf) -> usize {
        match (leaf.search(self.key()), self) {
            (Ok(i), Cut::Before(_)) => i,
            (Ok(i), Cut::After(_)) => i + 1,
            (Err(i), _) => i,
        }
    }
}

/// A tree of `node` (which is at `height`).
fn of_node(node: Shared<Node>, height: usize) -> Tree {
    Tree {
        len: node.entries(),
        root: Some(node),
        height,
    }
}

/// The tree of children `from..to` of `inner` (which is at `height`): a
/// new node over them (shared), the child itself if there is one, or an
/// empty tree.
fn fragment(inner: &Inner, from: usize, to: usize, height: usize) -> Tree {
    match to - from {
        0 => Tree::default(),
        1 => of_node(inner.children()[from].node.clone(), height - 1),
        _ => {
            let mut f = Inner::new();
            f.extend_children(inner.children()[from..to].iter().cloned());
            f.extend_keys_from(inner.keys(), from, to - 1);
            f.recount();
            of_node(Shared::new(Node::Inner(f)), height)
        }
    }
}

/// Splits `tree` at `cut`: the entries left of it, and those right of it.
/// Copies O(height) nodes; every other node is shared by `tree` and one
/// of the results.
pub(crate) fn split(tree: &Tree, cut: Cut<'_>) -> (Tree, Tree) {
    let Some(root) = tree.root.as_ref() else {
        return (Tree::default(), Tree::default());
    };
    if cut.goes_right(root.first_key()) {
        return (Tree::default(), tree.clone());
    }
    if !cut.goes_right(root.last_key()) {
        return (tree.clone(), Tree::default());
    }
    // The fragments left and right of the path, from the root down.
    let mut lefts: SmallVec<[Tree; 8]> = SmallVec::new();
    let mut rights: SmallVec<[Tree; 8]> = SmallVec::new();
    let mut node = root;
    for height in (1..=tree.height).rev() {
        let Node::Inner(i) = &**node else {
            unreachable!("inner nodes above the leaves")
        };
        let c = i.child_index(cut.key());
        lefts.push(fragment(i, 0, c, height));
        rights.push(fragment(i, c + 1, i.len(), height));
        node = &i.children()[c];
    }
    let Node::Leaf(l) = &**node else {
        unreachable!("a leaf at the bottom")
    };
    let at = cut.in_leaf(l);
    let (mut left, mut right) = if at == 0 {
        (Tree::default(), of_node(node.clone(), 0))
    } else if at == l.len() {
        (of_node(node.clone(), 0), Tree::default())
    } else {
        let mut low = l.clone();
        let high = low.split_off(at);
        (
            of_node(Shared::new(Node::Leaf(low)), 0),
            of_node(Shared::new(Node::Leaf(high)), 0),
        )
    };
    while let Some(f) = lefts.pop() {
        left = join(f, left);
    }
    while let Some(f) = rights.pop() {
        right = join(right, f);
    }
    debug_assert_eq!(left.len + right.len, tree.len);
    (left, right)
}

/// The tree of the entries of `a` and of `b`, every key of `a` below
/// every key of `b`. Copies the nodes of one spine between the two
/// heights (O(difference + 1)); shares every other node.
pub(crate) fn join(a: Tree, b: Tree) -> Tree {
    match (&a.root, &b.root) {
        (None, _) => return b,
        (_, None) => return a,
        (Some(ra), Some(rb)) => debug_assert!(ra.last_key() < rb.first_key()),
    }
    match a.height.cmp(&b.height) {
        core::cmp::Ordering::Equal => join_level(a, b),
        core::cmp::Ordering::Greater => graft_last(a, b),
        core::cmp::Ordering::Less => graft_first(b, a),
    }
}

/// [`join`] of two trees of one height: a new root over both roots, or
/// one root if they fit one node and either is too small to stand alone.
fn join_level(a: Tree, b: Tree) -> Tree {
    let (height, len) = (a.height, a.len + b.len);
    let ra = a.root.expect("non-empty");
    let rb = b.root.expect("non-empty");
    let mut top = Inner::new();
    top.push_key(rb.first_key());
    top.push_child(Child::new(ra));
    top.push_child(Child::new(rb));
    top.entries = len;
    balance(&mut top, 0);
    if top.len() == 1 {
        Tree {
            root: top.pop_child().map(|c| c.node),
            height,
            len,
        }
    } else {
        Tree {
            root: Some(Shared::new(Node::Inner(top))),
            height: height + 1,
            len,
        }
    }
}

/// Grows `tree` by a new root over its root, split in two leaning as
/// `lean` says, if its root is full (so that a descent never needs room
/// in the root).
fn make_room_at_root(tree: &mut Tree, lean: Lean) {
    if !tree.root.as_ref().expect("non-empty").is_full() {
        return;
    }
    let old = tree.root.take().expect("non-empty");
    let mut top = Inner::new();
    top.entries = tree.len;
    top.push_child(Child::new(old));
    split_child_leaning(&mut top, 0, lean);
    tree.root = Some(Shared::new(Node::Inner(top)));
    tree.height += 1;
}

/// [`join`] when `a` is taller: `b`'s root becomes the last child of the
/// node one level above it on `a`'s right spine.
fn graft_last(mut a: Tree, b: Tree) -> Tree {
    let target = b.height + 1;
    let rb = b.root.expect("non-empty");
    make_room_at_root(&mut a, Lean::Left);
    // The hint of the node the descent is in, in its parent (none for
    // the root), refreshed once the descent is done with the node.
    let mut hint: Option<&mut Hint> = None;
    let mut node = Shared::make_mut(a.root.as_mut().expect("non-empty"));
    let mut height = a.height;
    loop {
        let Node::Inner(i) = node else {
            unreachable!("inner nodes above the leaves")
        };
        i.entries += b.len;
        let last = i.len() - 1;
        if height == target {
            i.push_key(rb.first_key());
            i.push_child(Child::new(rb));
            balance(i, last);
            set_hint(hint, i.hint());
            break;
        }
        let mut c = last;
        if i.children()[c].is_full() {
            split_child_leaning(i, c, Lean::Left);
            c += 1;
        }
        set_hint(hint, i.hint());
        let Child { node: n, hint: h } = &mut i.children_mut()[c];
        hint = Some(h);
        node = Shared::make_mut(n);
        height -= 1;
    }
    a.len += b.len;
    a
}

/// [`join`] when `b` is taller: `a`'s root becomes the first child of the
/// node one level above it on `b`'s left spine.
fn graft_first(mut b: Tree, a: Tree) -> Tree {
    let target = a.height + 1;
    let ra = a.root.expect("non-empty");
    make_room_at_root(&mut b, Lean::Right);
    let mut hint: Option<&mut Hint> = None;
    let mut node = Shared::make_mut(b.root.as_mut().expect("non-empty"));
    let mut height = b.height;
    loop {
        let Node::Inner(i) = node else {
            unreachable!("inner nodes above the leaves")
        };
        i.entries += a.len;
        if height == target {
            let sep = i.children()[0].first_key().to_vec();
            i.insert_key(0, &sep);
            i.insert_child(0, Child::new(ra));
            balance(i, 0);
            set_hint(hint, i.hint());
            break;
        }
        if i.children()[0].is_full() {
            split_child_leaning(i, 0, Lean::Right);
        }
        set_hint(hint, i.hint());
        let Child { node: n, hint: h } = &mut i.children_mut()[0];
        hint = Some(h);
        node = Shared::make_mut(n);
        height -= 1;
    }
    b.len += a.len;
    b
}

/// Makes children `i` and `i + 1` of `parent` both hold at least the
/// minimum, if one of them does not (the other does): merges them if
/// they fit one node, else shares their entries (or children) evenly.
pub(crate) fn balance(parent: &mut Inner, i: usize) {
    let (l, r) = (&parent.children()[i], &parent.children()[i + 1]);
    if !l.is_underfull() && !r.is_underfull() {
        return;
    }
    let cap = match ***l {
        Node::Leaf(_) => LEAF_CAP,
        Node::Inner(_) => INNER_CAP,
    };
    if l.size() + r.size() <= cap {
        merge(parent, i);
    } else {
        redistribute(parent, i);
    }
}

/// Shares the entries (or children) of children `i` and `i + 1` of
/// `parent` evenly between them (together they hold more than one node
/// may, so each half holds at least the minimum).
fn redistribute(parent: &mut Inner, i: usize) {
    let sep_above = parent.keys().get(i).to_vec();
    let (left, right) = pair(parent, i);
    let new_sep = match (left, right) {
        (Node::Leaf(l), Node::Leaf(r)) => {
            let want = (l.len() + r.len()) / 2;
            if l.len() > want {
                let mut moved = l.split_off(want);
                moved.append(r);
                *r = moved;
            } else {
                let rest = r.split_off(want - l.len());
                l.append(r);
                *r = rest;
            }
            r.key(0).to_vec()
        }
        (Node::Inner(l), Node::Inner(r)) => {
            let (nl, nr) = (l.len(), r.len());
            let want = (nl + nr) / 2;
            let up = if nl > want {
                // Children `want..` of the left move to the front of the
                // right, with the separators between them and the one
                // above; separator `want - 1` goes up.
                let mut keys = l.split_keys_off(want);
                let up = l.keys().last().to_vec();
                l.truncate_keys(want - 1);
                keys.push(&sep_above);
                keys.extend_from(r.keys(), 0, r.keys().len());
                r.set_keys(keys);
                let moved = l.split_children_off(want);
                r.prepend_children(moved);
                up
            } else {
                // The first `k` children of the right move to the end of
                // the left; separator `k - 1` of the right goes up.
                let k = want - nl;
                l.push_key(&sep_above);
                l.extend_keys_from(r.keys(), 0, k - 1);
                let up = r.keys().get(k - 1).to_vec();
                let rest = r.split_keys_off(k);
                r.set_keys(rest);
                l.extend_children(r.take_first_children(k));
                up
            };
            l.recount();
            r.recount();
            up
        }
        _ => unreachable!("siblings are at the same level"),
    };
    refresh_pair(parent, i);
    parent.replace_key(i, &new_sep);
}

/// Appends every entry of `other` to `tree`, the values of `other`
/// winning on equal keys (see the [module docs](self) for the cost);
/// returns whether `other` held anything.
pub(crate) fn append(tree: &mut Tree, other: &Tree) -> bool {
    let Some(o) = other.root.as_ref() else {
        return false;
    };
    if tree.root.is_none() {
        *tree = other.clone();
        return true;
    }
    let (lo, hi) = (o.first_key(), o.last_key());
    let whole = core::mem::take(tree);
    let (left, rest) = split(&whole, Cut::Before(lo));
    let (middle, right) = split(&rest, Cut::After(hi));
    drop((whole, rest));
    let middle = if middle.root.is_none() {
        other.clone()
    } else {
        merge_entries(middle, other)
    };
    *tree = join(join(left, middle), right);
    true
}

/// The entries of `mine` and of `other`, `other`'s values winning:
/// the smaller of the two is inserted entry by entry into the other.
fn merge_entries(mine: Tree, other: &Tree) -> Tree {
    let all = (Bound::Unbounded, Bound::Unbounded);
    if mine.len <= other.len {
        let mut base = other.clone();
        scan_tree(
            mine.root.as_ref(),
            mine.height,
            all.0,
            all.1,
            &mut |k, v| {
                if base.get(k).is_none() {
                    base.insert(k, v);
                }
                true
            },
        );
        base
    } else {
        let mut base = mine;
        scan_tree(
            other.root.as_ref(),
            other.height,
            all.0,
            all.1,
            &mut |k, v| {
                base.insert(k, v);
                true
            },
        );
        base
    }
}

impl PersistentBTree {
    /// Moves every entry whose key is `>= key` out of this index into a
    /// new index, which it returns; this index keeps the keys below `key`
    /// (as [`BTreeMap::split_off`](std::collections::BTreeMap::split_off)).
    ///
    /// It is one write on this index, through group commit like any
    /// other: it takes one seqno and its effect appears at once, and
    /// snapshots taken before it still see every entry. If no key is
    /// `>= key`, it writes nothing, takes no seqno, and returns an empty
    /// index. It copies O(height) nodes, whatever the number of entries:
    /// the tree is cut along the key's root-to-leaf path, both results
    /// share every subtree off the path with the tree before the cut,
    /// and the nodes along the two cut edges are merged or rebalanced so
    /// that both trees keep every invariant of a tree built by inserts.
    ///
    /// The new index has this index's [`Config`](crate::Config) and seqnos of its own:
    /// it starts at seqno 1 (receiving the entries is its first write),
    /// or 0 if it is empty, as [`from_sorted`](Self::from_sorted) does.
    /// Its nodes are shared with this index's older versions (snapshots,
    /// retained versions): [`stats`](Self::stats) of each index count
    /// the nodes it reaches, shared ones included.
    ///
    /// A transaction open on this index whose snapshot predates the cut
    /// conflicts with it if it writes any key `>= key`, present or not.
    ///
    /// # Errors
    ///
    /// [`Error::KeyTooLarge`] if `key` is longer than the index accepts
    /// (nothing is written).
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// use ordex_persistent::PersistentBTree;
    ///
    /// let index = PersistentBTree::from_sorted(
    ///     (0u32..10_000).map(|i| (i.to_be_bytes(), b"v")),
    /// ).unwrap();
    /// let before = index.snapshot_owned();
    ///
    /// let high = index.split_off(&6_000u32.to_be_bytes()).unwrap();
    /// assert_eq!((index.len(), high.len()), (6_000, 4_000));
    /// let (k5999, k6000) = (5_999u32.to_be_bytes(), 6_000u32.to_be_bytes());
    /// assert!(index.contains(&k5999) && !index.contains(&k6000));
    /// assert!(high.contains(&k6000) && !high.contains(&k5999));
    /// assert_eq!((index.seqno(), high.seqno()), (2, 1));
    /// assert_eq!(before.len(), 10_000); // a snapshot keeps its version
    ///
    /// // Both go on as independent indexes.
    /// high.insert(b"\xff", b"end").unwrap();
    /// assert!(!index.contains(b"\xff"));
    /// ```
    pub fn split_off(&self, key: &[u8]) -> Result<PersistentBTree, Error> {
        self.limits.check_key(key)?;
        match self.write_one(Op::SplitOff(key)) {
            Outcome::Split(tree) => {
                // The new index joins this one's family: they share nodes.
                let seqno = u64::from(tree.len > 0);
                Ok(Self::from_tree(
                    tree,
                    seqno,
                    self.family.clone(),
                    self.config,
                ))
            }
            other => unreachable!("split_off: {other:?}"),
        }
    }

    /// Adds every entry of `other` (a version of any index of this
    /// crate, this one included) to this index; on equal keys the value
    /// of `other` wins (as
    /// [`BTreeMap::append`](std::collections::BTreeMap::append)). `other`
    /// is a snapshot, so it and its index stay as they are: the two
    /// indexes share the nodes that came from `other` (nodes are never
    /// written once published). Returns the seqno of the write.
    ///
    /// Sharing nodes makes the two indexes one *family*: the reference
    /// counts of shared nodes change without locked instructions under
    /// one lock, which from then on both indexes' writers take while they
    /// build a batch (and `split_off` puts its result in the family of the
    /// index it cut). Writers of one family therefore build their batches
    /// one at a time; readers are not affected.
    ///
    /// It is one write on this index, through group commit like any
    /// other: it takes one seqno (none if `other` is empty: it then
    /// returns the current seqno, as an empty
    /// [`insert_batch`](ordex_core::OrderedIndex::insert_batch) does) and appears at
    /// once.
    ///
    /// Cost: if the keys of `other` all fall between two neighbouring
    /// keys of this index (all above its last key, all below its first,
    /// or within one gap), the two trees are joined: the root of the
    /// shorter one is grafted onto the spine of the taller one, O(height)
    /// node copies whatever the number of entries. Otherwise the entries
    /// of this index within the key range of `other` are cut out (in
    /// O(height)) and merged with `other` by inserting the smaller of
    /// the two into the larger, entry by entry: O(height × min(m, k)),
    /// with `m` the entries of `other` and `k` those of this index within
    /// its range (O(n) and more for two indexes of interleaved keys).
    ///
    /// A transaction open on this index whose snapshot predates the
    /// append conflicts with it if it writes any key between the first
    /// and the last key of `other`, present or not.
    ///
    /// # Errors
    ///
    /// None today: every index of this crate has the same limits, so
    /// every entry of `other` fits this index. The `Result` is the shape
    /// of every write of the crate.
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// use ordex_persistent::PersistentBTree;
    ///
    /// let log = PersistentBTree::from_sorted(
    ///     (0u32..5_000).map(|i| (i.to_be_bytes(), b"old")),
    /// ).unwrap();
    /// let newer = PersistentBTree::from_sorted(
    ///     (5_000u32..6_000).map(|i| (i.to_be_bytes(), b"new")),
    /// ).unwrap();
    ///
    /// // Every key above: a graft, O(height).
    /// let seqno = log.append(&newer.snapshot_owned()).unwrap();
    /// assert_eq!((log.len(), seqno), (6_000, 2));
    /// assert_eq!(newer.len(), 1_000); // untouched
    ///
    /// // Overlapping keys: merged, the appended values win.
    /// let fix = PersistentBTree::new();
    /// fix.insert(&10u32.to_be_bytes(), b"fixed").unwrap();
    /// log.append(&fix.snapshot_owned()).unwrap();
    /// assert_eq!(log.get_copied(&10u32.to_be_bytes()).as_deref(), Some(&b"fixed"[..]));
    /// assert_eq!(log.len(), 6_000);
    /// ```
    pub fn append(&self, other: &PersistentSnapshot) -> Result<Seqno, Error> {
        match self.write_one(Op::Append(&other.version)) {
            Outcome::Written(s) => Ok(s),
            other => unreachable!("append: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::check;
    use crate::node::{INNER_MIN, LEAF_MIN};
    use std::collections::BTreeMap;

    type Model = BTreeMap<Vec<u8>, Vec<u8>>;

    fn key(i: u32) -> Vec<u8> {
        (i * 2).to_be_bytes().to_vec()
    }

    /// A tree of keys `key(i)` for `i` in `range`, built by inserts in the
    /// order given by `shuffle` (so shapes vary), with some long values.
    fn tree_of(range: core::ops::Range<u32>, shuffle: u64) -> (Tree, Model) {
        tagged(range, shuffle, 0)
    }

    /// [`tree_of`] with values starting with `tag`.
    fn tagged(range: core::ops::Range<u32>, shuffle: u64, tag: u8) -> (Tree, Model) {
        let mut keys: Vec<u32> = range.collect();
        let mut x = shuffle | 1;
        for i in (1..keys.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            keys.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut tree = Tree::default();
        let mut model = Model::new();
        for i in keys {
            let mut v = if i % 17 == 0 {
                vec![i as u8; 300]
            } else {
                vec![i as u8; (i % 5) as usize]
            };
            v.insert(0, tag);
            tree.insert(&key(i), &v);
            model.insert(key(i), v);
        }
        (tree, model)
    }

    fn contents(tree: &Tree) -> Model {
        let mut out = Model::new();
        scan_tree(
            tree.root.as_ref(),
            tree.height,
            Bound::Unbounded,
            Bound::Unbounded,
            &mut |k, v| {
                out.insert(k.to_vec(), v.to_vec());
                true
            },
        );
        out
    }

    #[test]
    fn split_at_every_position_of_small_trees() {
        // Trees built outside an index: their counts change under this.
        let family = crate::shared::Family::new();
        let held = family.hold();
        let _batch = crate::shared::TestBatch::begin(&held);
        for n in [0u32, 1, 2, 3, 4, 5, 8, 9, 17, 33, 64, 100, 257] {
            let (tree, model) = tree_of(0..n, u64::from(n) + 7);
            for at in 0..=2 * n + 1 {
                for cut in [
                    Cut::Before(&at.to_be_bytes()[..]),
                    Cut::After(&at.to_be_bytes()[..]),
                ] {
                    let (l, r) = split(&tree, cut);
                    check(&l);
                    check(&r);
                    let k = at.to_be_bytes().to_vec();
                    let want_l: Model = model
                        .iter()
                        .filter(|(key, _)| !cut.goes_right(key))
                        .map(|(a, b)| (a.clone(), b.clone()))
                        .collect();
                    let want_r: Model = model
                        .iter()
                        .filter(|(key, _)| cut.goes_right(key))
                        .map(|(a, b)| (a.clone(), b.clone()))
                        .collect();
                    assert_eq!(contents(&l), want_l, "n {n} at {k:?} {cut:?}");
                    assert_eq!(contents(&r), want_r, "n {n} at {k:?} {cut:?}");
                }
            }
            assert_eq!(contents(&tree), model, "the tree split is unchanged");
            check(&tree);
        }
    }

    #[test]
    fn joins_of_every_pair_of_heights() {
        // Trees built outside an index: their counts change under this.
        let family = crate::shared::Family::new();
        let held = family.hold();
        let _batch = crate::shared::TestBatch::begin(&held);
        let sizes = [
            1u32,
            2,
            3,
            LEAF_MIN as u32,
            LEAF_CAP as u32,
            40,
            200,
            1500,
            5000,
        ];
        for &na in &sizes {
            for &nb in &sizes {
                let (a, ma) = tree_of(0..na, 3);
                let (b, mb) = tree_of(na..na + nb, 5);
                let mut want = ma.clone();
                want.extend(mb.clone());
                let j = join(a.clone(), b.clone());
                check(&j);
                assert_eq!(contents(&j), want, "{na} + {nb}");
                // The inputs are intact (shared, never written).
                check(&a);
                check(&b);
                assert_eq!(contents(&a), ma);
                assert_eq!(contents(&b), mb);
            }
        }
    }

    /// Bulk-loaded trees are full everywhere: grafting onto them splits
    /// on the way down, and small roots are merged or topped up.
    #[test]
    fn joins_of_full_trees_and_tiny_ones() {
        // Trees built outside an index: their counts change under this.
        let family = crate::shared::Family::new();
        let held = family.hold();
        let _batch = crate::shared::TestBatch::begin(&held);
        let full = |range: core::ops::Range<u32>| {
            let entries: Vec<(Vec<u8>, Vec<u8>)> = range.map(|i| (key(i), vec![1])).collect();
            crate::bulk::build(entries, &ordex_core::Limits::UNBOUNDED).unwrap()
        };
        let mins = [1u32, 2, INNER_MIN as u32, LEAF_MIN as u32 + 1];
        for n in [LEAF_CAP as u32, (LEAF_CAP * INNER_CAP) as u32, 30_000] {
            for &m in &mins {
                let j = join(full(0..n), full(n..n + m));
                assert_eq!(check(&j), (n + m) as usize);
                let j = join(full(0..m), full(m..m + n));
                assert_eq!(check(&j), (n + m) as usize);
            }
        }
    }

    #[test]
    fn append_agrees_with_a_model() {
        // Trees built outside an index: their counts change under this.
        let family = crate::shared::Family::new();
        let held = family.hold();
        let _batch = crate::shared::TestBatch::begin(&held);
        let (base, model) = tree_of(0..3000, 11);
        for (from, to, seed) in [
            (3000, 3100, 1),
            (0, 10, 2),
            (100, 4000, 3),
            (0, 3000, 4),
            (1500, 1501, 5),
            (2999, 7000, 6),
        ] {
            // Odd keys fall in the gaps of `base` (even keys only).
            for odd in [false, true] {
                let (other, mo) = if odd {
                    let mut t = Tree::default();
                    let mut m = Model::new();
                    for i in from..to {
                        let k = (i * 2 + 1u32).to_be_bytes().to_vec();
                        t.insert(&k, b"o");
                        m.insert(k, b"o".to_vec());
                    }
                    (t, m)
                } else {
                    tagged(from..to, seed, 1)
                };
                let mut t = base.clone();
                assert!(append(&mut t, &other));
                let mut want = model.clone();
                want.extend(mo);
                check(&t);
                assert_eq!(contents(&t), want, "{from}..{to} odd {odd}");
                check(&base);
            }
        }
    }
}
