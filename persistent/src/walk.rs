//! Descents and steps over a tree, with the path on the stack.
//!
//! A [`Path`] is the position of an entry: the child taken at each inner
//! level (`at[0]` at the root) and the entry's index in its leaf
//! (`at[height]`). It is a fixed array of [`MAX_LEVELS`] indices, so a
//! descent or a step allocates nothing. Moving to the next leaf walks down
//! again from the root along the path (`height` steps, every `LEAF_CAP`
//! entries), so the path needs no references into the tree and a cursor
//! that owns its version needs no self-reference.

use crate::node::{Node, MAX_LEVELS};
use crate::shared::Shared;
use core::ops::Bound;
use ordex_core::{below_start, is_empty_range, past_end};

/// The position of an entry (see the [module docs](self)).
#[derive(Clone)]
pub(crate) struct Path {
    pub(crate) at: [u16; MAX_LEVELS],
}

impl Path {
    pub(crate) fn new() -> Self {
        Path {
            at: [0; MAX_LEVELS],
        }
    }
}

/// Where a descent ends: the leaf, and the entry index (which may be one
/// past the leaf's last entry, or "before its first", see the callers).
fn leaf_of(node: &Node) -> &crate::node::Leaf {
    match node {
        Node::Leaf(l) => l,
        Node::Inner(_) => unreachable!("a path of `height` steps ends at a leaf"),
    }
}

/// Descends to the first entry `>= key` (or `> key` if `strict`); returns
/// the leaf and sets the path. The leaf index may be `len` (the entry is in
/// the next leaf, or there is none).
pub(crate) fn descend<'a>(
    root: &'a Shared<Node>,
    height: usize,
    key: &[u8],
    path: &mut Path,
) -> &'a Shared<Node> {
    // Each step asks for the child's allocation and buffers at once (see
    // `node::Child`), the root's from the root.
    if let Node::Inner(i) = &**root {
        i.prefetch();
    }
    let mut node = root;
    for level in 0..height {
        let Node::Inner(i) = &**node else {
            unreachable!("inner above the leaves")
        };
        let c = i.child_index(key);
        path.at[level] = c as u16;
        let child = &i.children()[c];
        child.prefetch();
        node = &child.node;
    }
    let l = leaf_of(node);
    path.at[height] = match l.search(key) {
        Ok(i) | Err(i) => i as u16,
    };
    node
}

/// Descends along the first (`last == false`) or last child of every node
/// below `level`, starting at `node` (which is at `level`), setting the
/// path; returns the leaf and leaves its index at its first or last entry.
pub(crate) fn edge<'a>(
    mut node: &'a Shared<Node>,
    level: usize,
    height: usize,
    last: bool,
    path: &mut Path,
) -> &'a Shared<Node> {
    for l in level..height {
        let Node::Inner(i) = &**node else {
            unreachable!("inner above the leaves")
        };
        let c = if last { i.len() - 1 } else { 0 };
        path.at[l] = c as u16;
        node = &i.children()[c];
    }
    let leaf = leaf_of(node);
    path.at[height] = if last { leaf.len() as u16 - 1 } else { 0 };
    node
}

/// The node at `level` along the path.
fn node_at<'a>(root: &'a Shared<Node>, path: &Path, level: usize) -> &'a Shared<Node> {
    let mut node = root;
    for l in 0..level {
        let Node::Inner(i) = &**node else {
            unreachable!("inner above the leaves")
        };
        node = &i.children()[path.at[l] as usize];
    }
    node
}

/// Moves the path to the first entry of the next leaf; `None` past the
/// last leaf (the path is then unspecified).
pub(crate) fn next_leaf<'a>(
    root: &'a Shared<Node>,
    height: usize,
    path: &mut Path,
) -> Option<&'a Shared<Node>> {
    // The deepest level whose node has a child after the one taken.
    let mut nodes: [Option<&Node>; MAX_LEVELS] = [None; MAX_LEVELS];
    let mut node = root;
    for (l, slot) in nodes.iter_mut().enumerate().take(height) {
        *slot = Some(&**node);
        let Node::Inner(i) = &**node else {
            unreachable!("inner above the leaves")
        };
        node = &i.children()[path.at[l] as usize];
    }
    for l in (0..height).rev() {
        let Some(Node::Inner(i)) = nodes[l] else {
            unreachable!("inner above the leaves")
        };
        let c = path.at[l] as usize + 1;
        if c < i.len() {
            path.at[l] = c as u16;
            return Some(edge(&i.children()[c], l + 1, height, false, path));
        }
    }
    None
}

/// Moves the path to the last entry of the previous leaf; `None` before
/// the first leaf.
pub(crate) fn prev_leaf<'a>(
    root: &'a Shared<Node>,
    height: usize,
    path: &mut Path,
) -> Option<&'a Shared<Node>> {
    for l in (0..height).rev() {
        let c = path.at[l] as usize;
        if c > 0 {
            let Node::Inner(i) = &**node_at(root, path, l) else {
                unreachable!("inner above the leaves")
            };
            path.at[l] = (c - 1) as u16;
            return Some(edge(&i.children()[c - 1], l + 1, height, true, path));
        }
    }
    None
}

/// Calls `f` for the entries within the bounds, ascending, until it
/// returns `false`; returns how many it was called for. Allocates nothing.
pub(crate) fn scan_tree(
    root: Option<&Shared<Node>>,
    height: usize,
    from: Bound<&[u8]>,
    to: Bound<&[u8]>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> usize {
    let Some(root) = root else { return 0 };
    if is_empty_range(from, to) {
        return 0;
    }
    let mut path = Path::new();
    let mut leaf = match from {
        Bound::Unbounded => edge(root, 0, height, false, &mut path),
        Bound::Included(k) | Bound::Excluded(k) => descend(root, height, k, &mut path),
    };
    let mut i = path.at[height] as usize;
    let mut n = 0;
    // Entries ascend: once one is at or past the start, all after it are.
    let mut started = matches!(from, Bound::Unbounded);
    // The leaf's parent (none if the root is the leaf): the next leaf is
    // most often its next child, taken from it without a walk from the
    // root, and asked for while this leaf is read (its node and buffer,
    // from the parent's hint), so that a scan waits for the next leaf's
    // lines only if it outruns them.
    let parent_of = |path: &Path| match height {
        0 => None,
        _ => match &**node_at(root, path, height - 1) {
            Node::Inner(p) => Some(p),
            Node::Leaf(_) => unreachable!("inner above the leaves"),
        },
    };
    let mut parent = parent_of(&path);
    loop {
        let sibling = parent.and_then(|p| p.children().get(path.at[height - 1] as usize + 1));
        if let Some(next) = sibling {
            next.prefetch();
        }
        for (k, v) in leaf_of(leaf).entries_from(i) {
            if past_end(k, to) {
                return n;
            }
            if !started {
                if below_start(k, from) {
                    continue;
                }
                started = true;
            }
            n += 1;
            if !f(k, v) {
                return n;
            }
        }
        i = 0;
        if let Some(next) = sibling {
            path.at[height - 1] += 1;
            path.at[height] = 0;
            leaf = next;
            continue;
        }
        match next_leaf(root, height, &mut path) {
            Some(next) => {
                leaf = next;
                parent = parent_of(&path);
            }
            None => return n,
        }
    }
}
