//! [`PersistentCursor`]: the contract's cursor over one version.

use crate::node::Node;
use crate::shared::VersionNode;
use crate::walk::{descend, edge, next_leaf, prev_leaf, Path};
use crate::{PersistentBTree, Version};
use ordex_core::sync::Arc;
use ordex_core::Seqno;

/// A cursor over one version of a [`PersistentBTree`], in both directions.
///
/// A snapshot's cursor shows exactly that snapshot. A live cursor (from
/// [`OrderedIndex::cursor`](ordex_core::OrderedIndex::cursor)) moves to
/// the newest version at each [`seek`](ordex_core::Cursor::seek),
/// `seek_for_prev`, `first` and `last`, and steps within the version it
/// positioned on: exact within one walk, and never out of order.
///
/// Its position is a fixed array of child indices (no allocation per seek
/// or step) and a reference to the current leaf, so moving within a leaf
/// is an index step and moving to the next leaf one descent from the root.
/// [`seqno`](ordex_core::Cursor::seqno) reports 0: the tree keeps no seqno
/// per entry (the version shown is the one every reader of that version
/// sees).
pub struct PersistentCursor<'a> {
    live: Option<&'a PersistentBTree>,
    /// The version and the current leaf (none: not positioned).
    at: VersionNode,
    path: Path,
}

impl<'a> PersistentCursor<'a> {
    pub(crate) fn new(live: Option<&'a PersistentBTree>, version: Arc<Version>) -> Self {
        PersistentCursor {
            live,
            at: VersionNode::new(version),
            path: Path::new(),
        }
    }

    /// The seqno of the version the cursor is on.
    pub fn version_seqno(&self) -> Seqno {
        self.at.version().seqno
    }

    fn refresh(&mut self) {
        if let Some(index) = self.live {
            let current = index.published.load();
            if !Arc::ptr_eq(&*current, self.at.version()) {
                self.at.set_version(Arc::clone(&*current));
            }
        }
    }

    #[inline]
    fn pos(&self) -> usize {
        self.path.at[self.at.version().tree.height] as usize
    }

    fn leaf_len(&self) -> usize {
        match self.at.node() {
            Some(Node::Leaf(l)) => l.len(),
            _ => 0,
        }
    }

    /// After a descent that may have left the index one past the leaf's
    /// end: moves to the next leaf's first entry.
    fn settle_forward(&mut self) -> bool {
        if self.pos() < self.leaf_len() {
            return true;
        }
        let path = &mut self.path;
        self.at.set_node(|v| {
            let root = v.tree.root.as_ref()?;
            next_leaf(root, v.tree.height, path).map(|n| &**n)
        });
        self.at.node().is_some()
    }
}

impl ordex_core::Cursor for PersistentCursor<'_> {
    fn seek(&mut self, key: &[u8]) -> bool {
        self.refresh();
        let path = &mut self.path;
        self.at.set_node(|v| {
            let root = v.tree.root.as_ref()?;
            Some(&**descend(root, v.tree.height, key, path))
        });
        self.valid() && self.settle_forward()
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.refresh();
        let path = &mut self.path;
        self.at.set_node(|v| {
            let root = v.tree.root.as_ref()?;
            let h = v.tree.height;
            let leaf = descend(root, h, key, path);
            let Node::Leaf(l) = &**leaf else {
                unreachable!()
            };
            let at = path.at[h] as usize;
            if at < l.len() && l.key(at) == key {
                return Some(&**leaf);
            }
            if at > 0 {
                path.at[h] = (at - 1) as u16;
                return Some(&**leaf);
            }
            prev_leaf(root, h, path).map(|n| &**n)
        });
        self.valid()
    }

    fn first(&mut self) -> bool {
        self.refresh();
        let path = &mut self.path;
        self.at.set_node(|v| {
            let root = v.tree.root.as_ref()?;
            Some(&**edge(root, 0, v.tree.height, false, path))
        });
        self.valid()
    }

    fn last(&mut self) -> bool {
        self.refresh();
        let path = &mut self.path;
        self.at.set_node(|v| {
            let root = v.tree.root.as_ref()?;
            Some(&**edge(root, 0, v.tree.height, true, path))
        });
        self.valid()
    }

    fn next(&mut self) -> bool {
        if !self.valid() {
            return false;
        }
        let h = self.at.version().tree.height;
        self.path.at[h] += 1;
        self.settle_forward()
    }

    fn prev(&mut self) -> bool {
        if !self.valid() {
            return false;
        }
        let h = self.at.version().tree.height;
        if self.path.at[h] > 0 {
            self.path.at[h] -= 1;
            return true;
        }
        let path = &mut self.path;
        self.at.set_node(|v| {
            let root = v.tree.root.as_ref()?;
            prev_leaf(root, h, path).map(|n| &**n)
        });
        self.valid()
    }

    #[inline]
    fn valid(&self) -> bool {
        self.at.node().is_some()
    }

    #[inline]
    fn key(&self) -> Option<&[u8]> {
        match self.at.node()? {
            Node::Leaf(l) => Some(l.key(self.pos())),
            Node::Inner(_) => None,
        }
    }

    #[inline]
    fn value(&self) -> Option<&[u8]> {
        match self.at.node()? {
            Node::Leaf(l) => Some(l.value(self.pos())),
            Node::Inner(_) => None,
        }
    }

    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        self.at.node().map(|_| 0)
    }
}
