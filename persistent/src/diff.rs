//! `diff`: what changed between two versions, in time proportional to the
//! changes.
//!
//! Two iterators walk the two trees in key order, each with an explicit
//! stack of (node, next child or entry). At each step the next item of
//! each side is either a whole subtree or one entry:
//!
//! - two subtrees that are the **same node** (pointer equality) hold the
//!   same entries; since each side has consumed exactly the keys below
//!   that subtree's first key, both skip it without looking inside;
//! - two different subtrees: the taller one (or both, at equal height) is
//!   opened; a subtree against an entry: the subtree is opened;
//! - two entries are merged like sorted lists: a key only in the old
//!   version is `Removed`, only in the new one `Added`, in both with
//!   different values `Changed`.
//!
//! A write copies only its root-to-leaf path, so two versions differ in a
//! few paths: the walk opens those (height × fan-out each) and skips the
//! rest, whatever the tree's size. No recursion: the stacks are at most
//! the tree's height.

use crate::node::Node;
use crate::shared::Shared;
use crate::PersistentSnapshot;

/// One difference between an old and a new version, for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// The key is only in the new version, with this value.
    Added(&'a [u8]),
    /// The key is only in the old version, with this value.
    Removed(&'a [u8]),
    /// The key is in both, with different values.
    Changed {
        /// The old version's value.
        old: &'a [u8],
        /// The new version's value.
        new: &'a [u8],
    },
}

struct Frame<'a> {
    node: &'a Node,
    /// Levels below this node (0: a leaf).
    height: usize,
    /// The next child or entry.
    idx: usize,
}

enum Head<'a> {
    Subtree(&'a Shared<Node>, usize),
    Entry(&'a [u8], &'a [u8]),
}

struct Side<'a> {
    stack: Vec<Frame<'a>>,
    /// Nodes opened so far (the work done, for the tests).
    opened: usize,
}

impl<'a> Side<'a> {
    fn new(root: Option<&'a Shared<Node>>, height: usize) -> Self {
        let mut stack = Vec::with_capacity(height + 1);
        if let Some(root) = root {
            stack.push(Frame {
                node: root,
                height,
                idx: 0,
            });
        }
        Side {
            stack,
            opened: usize::from(root.is_some()),
        }
    }

    /// The next item, after popping finished frames.
    fn head(&mut self) -> Option<Head<'a>> {
        loop {
            let top = self.stack.last()?;
            if top.idx < top.node.size() {
                return Some(match top.node {
                    Node::Inner(i) => Head::Subtree(&i.children()[top.idx], top.height - 1),
                    Node::Leaf(l) => Head::Entry(l.key(top.idx), l.value(top.idx)),
                });
            }
            self.stack.pop();
            if let Some(parent) = self.stack.last_mut() {
                parent.idx += 1;
            }
        }
    }

    /// Skips the head item.
    fn advance(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            top.idx += 1;
        }
    }

    /// Opens the head subtree.
    fn open(&mut self, node: &'a Shared<Node>, height: usize) {
        self.opened += 1;
        self.stack.push(Frame {
            node,
            height,
            idx: 0,
        });
    }
}

impl PersistentSnapshot {
    /// Calls `f(key, change)` for every key whose entry differs between
    /// `self` (the old version) and `new`, ascending, until `f` returns
    /// `false`; returns how many changes `f` was called for. Subtrees the
    /// two versions share are skipped without being read, so the time is
    /// proportional to the changes (times the tree's height and fan-out),
    /// not to the size of the versions.
    ///
    /// ```
    /// use ordex_core::OrderedIndex;
    /// use ordex_persistent::{Change, PersistentBTree};
    ///
    /// let index = PersistentBTree::new();
    /// for i in 0u32..10_000 {
    ///     index.insert(&i.to_be_bytes(), b"v").unwrap();
    /// }
    /// let old = index.snapshot_owned();
    /// index.insert(&7u32.to_be_bytes(), b"w").unwrap();
    /// let mut seen = Vec::new();
    /// old.diff(&index.snapshot_owned(), &mut |k, c| {
    ///     seen.push((k.to_vec(), c == Change::Changed { old: b"v", new: b"w" }));
    ///     true
    /// });
    /// assert_eq!(seen, [(7u32.to_be_bytes().to_vec(), true)]);
    /// ```
    pub fn diff(
        &self,
        new: &PersistentSnapshot,
        f: &mut dyn FnMut(&[u8], Change<'_>) -> bool,
    ) -> usize {
        self.diff_counting(new, f).0
    }

    /// [`diff`](Self::diff), and how many nodes it opened.
    fn diff_counting(
        &self,
        new: &PersistentSnapshot,
        f: &mut dyn FnMut(&[u8], Change<'_>) -> bool,
    ) -> (usize, usize) {
        let (a, b) = (&self.version.tree, &new.version.tree);
        match (&a.root, &b.root) {
            (Some(x), Some(y)) if Shared::ptr_eq(x, y) => return (0, 0),
            (None, None) => return (0, 0),
            _ => {}
        }
        let mut old = Side::new(a.root.as_ref(), a.height);
        let mut cur = Side::new(b.root.as_ref(), b.height);
        let mut n = 0;
        let mut emit = |k: &[u8], c: Change<'_>| {
            n += 1;
            f(k, c)
        };
        loop {
            match (old.head(), cur.head()) {
                (None, None) => break,
                (Some(Head::Subtree(x, hx)), Some(Head::Subtree(y, hy))) => {
                    if Shared::ptr_eq(x, y) {
                        old.advance();
                        cur.advance();
                    } else {
                        if hx >= hy {
                            old.open(x, hx);
                        }
                        if hy >= hx {
                            cur.open(y, hy);
                        }
                    }
                }
                (Some(Head::Subtree(x, hx)), _) => old.open(x, hx),
                (_, Some(Head::Subtree(y, hy))) => cur.open(y, hy),
                (Some(Head::Entry(k, v)), None) => {
                    old.advance();
                    if !emit(k, Change::Removed(v)) {
                        break;
                    }
                }
                (None, Some(Head::Entry(k, v))) => {
                    cur.advance();
                    if !emit(k, Change::Added(v)) {
                        break;
                    }
                }
                (Some(Head::Entry(ka, va)), Some(Head::Entry(kb, vb))) => {
                    let go_on = match ka.cmp(kb) {
                        core::cmp::Ordering::Less => {
                            old.advance();
                            emit(ka, Change::Removed(va))
                        }
                        core::cmp::Ordering::Greater => {
                            cur.advance();
                            emit(kb, Change::Added(vb))
                        }
                        core::cmp::Ordering::Equal => {
                            old.advance();
                            cur.advance();
                            va == vb || emit(ka, Change::Changed { old: va, new: vb })
                        }
                    };
                    if !go_on {
                        break;
                    }
                }
            }
        }
        (n, old.opened + cur.opened)
    }
}

#[cfg(test)]
mod tests {
    use ordex_core::OrderedIndex;

    /// The work of a diff follows the changes, not the size: one change
    /// in 200,000 entries opens the two root-to-leaf paths and nothing
    /// else; a thousand changes open at most a thousand such path pairs.
    #[test]
    fn diff_opens_only_the_changed_paths() {
        let index = crate::PersistentBTree::from_sorted(
            (0..200_000u32).map(|i| (i.to_be_bytes(), [7u8; 4])),
        )
        .unwrap();
        let old = index.snapshot_owned();
        let levels = old.version.tree.height + 1;
        index.insert(&123_456u32.to_be_bytes(), b"new").unwrap();
        let (n, opened) = old.diff_counting(&index.snapshot_owned(), &mut |_, _| true);
        assert_eq!(n, 1);
        assert_eq!(opened, 2 * levels, "one path on each side");
        for i in 0..1000u32 {
            index.insert(&(i * 197).to_be_bytes(), b"x").unwrap();
        }
        let (n, opened) = old.diff_counting(&index.snapshot_owned(), &mut |_, _| true);
        assert_eq!(n, 1001);
        assert!(opened <= 2 * levels * 1001, "opened {opened} nodes");
        assert!(opened < 2 * 200_000 / 32, "fewer than all the leaves");
    }
}
