//! The node layout and its invariants.
//!
//! A tree is a B+tree of immutable-once-published nodes shared between
//! versions through `Arc`:
//!
//! - a leaf holds `1..=LEAF_CAP` entries (only the root may hold
//!   fewer than [`LEAF_MIN`]; an empty tree has no root), keys strictly
//!   ascending, keys and values packed in one packed buffer (`Strings`) as
//!   `key0, value0, key1, value1, …`;
//! - an inner node holds `2..=INNER_CAP` children (at least
//!   [`INNER_MIN`] unless it is the root) and one separator fewer: child
//!   `i` holds the keys `k` with `sep[i - 1] <= k < sep[i]`;
//! - every leaf is at the same depth; a version records its height (0:
//!   the root is a leaf).
//!
//! A node reachable from a published version is never written again: a
//! writer changes a node only through `Arc::make_mut`, which writes in place
//! only when the writer's batch holds the sole reference (a node it copied
//! itself earlier in the batch: a Clojure transient), and copies it
//! otherwise.
//!
//! Dropping a tree never recurses: a node's `Drop` moves the children it
//! owns alone onto an explicit stack.

use crate::strings::Strings;
use std::sync::Arc;

/// Most entries of a leaf.
pub const LEAF_CAP: usize = 32;
/// Fewest entries of a leaf other than the root.
pub const LEAF_MIN: usize = LEAF_CAP / 2;
/// Most children of an inner node.
pub const INNER_CAP: usize = 32;
/// Fewest children of an inner node other than the root.
pub const INNER_MIN: usize = INNER_CAP / 2;

/// Most levels a tree can have: with at least 2 children per inner node
/// below the root and at least 2 entries per leaf (any fan-out of 4 or
/// more), a tree of `h` levels holds at least `2^h` entries, so a tree of
/// `usize` entries has fewer than 64 levels.
pub const MAX_LEVELS: usize = 64;

/// The longest key accepted: a node's packed buffer of up to `INNER_CAP`
/// keys, or `LEAF_CAP` keys and values, must stay below 4 GiB (`u32`
/// offsets).
pub const MAX_KEY_LEN: usize = 1 << 20;
/// The longest value accepted (see [`MAX_KEY_LEN`]).
pub const MAX_VALUE_LEN: usize = 1 << 26;

const _: () = {
    assert!(LEAF_CAP >= 4 && INNER_CAP >= 4, "fan-out of at least 4");
    assert!(LEAF_CAP <= 1024 && INNER_CAP <= 1024);
    assert!(
        (LEAF_CAP as u64) * ((MAX_KEY_LEN + MAX_VALUE_LEN) as u64) < u32::MAX as u64,
        "a leaf's buffer fits u32 offsets"
    );
    assert!((INNER_CAP as u64) * (MAX_KEY_LEN as u64) < u32::MAX as u64);
};

/// A node: a leaf or an inner node (see the [module docs](self)).
#[derive(Clone)]
pub(crate) enum Node {
    Leaf(Leaf),
    Inner(Inner),
}

/// Entries, keys and values packed together.
#[derive(Clone)]
pub(crate) struct Leaf {
    pub(crate) kv: Strings<{ 2 * LEAF_CAP }>,
}

/// Separators and children.
#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) keys: Strings<INNER_CAP>,
    pub(crate) children: Vec<Arc<Node>>,
}

impl Leaf {
    pub(crate) fn new() -> Self {
        Leaf { kv: Strings::new() }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.kv.len() / 2
    }

    #[inline]
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        self.kv.get(2 * i)
    }

    #[inline]
    pub(crate) fn value(&self, i: usize) -> &[u8] {
        self.kv.get(2 * i + 1)
    }

    /// The index of `key`, or where it would go.
    #[inline]
    pub(crate) fn search(&self, key: &[u8]) -> Result<usize, usize> {
        self.kv.search::<2>(key)
    }

    pub(crate) fn insert(&mut self, i: usize, key: &[u8], value: &[u8]) {
        self.kv.insert(2 * i, key);
        self.kv.insert(2 * i + 1, value);
    }

    pub(crate) fn remove(&mut self, i: usize) {
        self.kv.remove(2 * i + 1);
        self.kv.remove(2 * i);
    }

    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        self.kv.push(key);
        self.kv.push(value);
    }
}

impl Inner {
    pub(crate) fn new() -> Self {
        Inner {
            keys: Strings::new(),
            children: Vec::with_capacity(INNER_CAP),
        }
    }

    /// The child whose range holds `key`.
    #[inline]
    pub(crate) fn child_index(&self, key: &[u8]) -> usize {
        self.keys.count_le(key)
    }
}

impl Node {
    /// Entries of a leaf, children of an inner node.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        match self {
            Node::Leaf(l) => l.len(),
            Node::Inner(i) => i.children.len(),
        }
    }

    /// Whether one more entry or child would overflow it.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        match self {
            Node::Leaf(l) => l.len() >= LEAF_CAP,
            Node::Inner(i) => i.children.len() >= INNER_CAP,
        }
    }

    /// Whether one entry or child fewer would underflow it.
    #[inline]
    pub(crate) fn is_minimal(&self) -> bool {
        match self {
            Node::Leaf(l) => l.len() <= LEAF_MIN,
            Node::Inner(i) => i.children.len() <= INNER_MIN,
        }
    }

    /// The heap bytes of this node alone: its allocation (with the `Arc`
    /// counts) and its buffers.
    pub(crate) fn heap_bytes(&self) -> usize {
        let own = 2 * core::mem::size_of::<usize>() + core::mem::size_of::<Node>();
        own + match self {
            Node::Leaf(l) => l.kv.heap_bytes(),
            Node::Inner(i) => {
                i.keys.heap_bytes() + i.children.capacity() * core::mem::size_of::<Arc<Node>>()
            }
        }
    }

    /// The smallest key under this node (it must not be empty).
    pub(crate) fn first_key(&self) -> &[u8] {
        let mut node = self;
        loop {
            match node {
                Node::Leaf(l) => return l.key(0),
                Node::Inner(i) => node = &i.children[0],
            }
        }
    }
}

impl Drop for Node {
    /// Frees the subtrees this node holds alone without recursion: each
    /// child whose last reference this is gives up its own children to the
    /// stack before it is dropped, so every drop below this one finds no
    /// children (depth 1 whatever the tree's height).
    fn drop(&mut self) {
        let Node::Inner(inner) = self else { return };
        if inner.children.is_empty() {
            return;
        }
        let mut stack = core::mem::take(&mut inner.children);
        while let Some(child) = stack.pop() {
            let Some(mut node) = Arc::into_inner(child) else {
                continue;
            };
            if let Node::Inner(i) = &mut node {
                stack.append(&mut i.children);
            }
        }
    }
}
