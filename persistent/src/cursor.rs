//! [`PersistentCursor`]: the contract's cursor over one version.

use crate::node::Node;
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
    version: Arc<Version>,
    path: Path,
    leaf: Option<std::sync::Arc<Node>>,
}

impl<'a> PersistentCursor<'a> {
    pub(crate) fn new(live: Option<&'a PersistentBTree>, version: Arc<Version>) -> Self {
        PersistentCursor {
            live,
            version,
            path: Path::new(),
            leaf: None,
        }
    }

    /// The seqno of the version the cursor is on.
    pub fn version_seqno(&self) -> Seqno {
        self.version.seqno
    }

    fn refresh(&mut self) {
        if let Some(index) = self.live {
            let current = index.published.load();
            if !Arc::ptr_eq(&*current, &self.version) {
                self.version = Arc::clone(&*current);
            }
        }
    }

    #[inline]
    fn pos(&self) -> usize {
        self.path.at[self.version.tree.height] as usize
    }

    fn leaf_len(&self) -> usize {
        match self.leaf.as_deref() {
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
        let version = &self.version;
        let next = version
            .tree
            .root
            .as_ref()
            .and_then(|root| next_leaf(root, version.tree.height, &mut self.path));
        self.leaf = next.cloned();
        self.leaf.is_some()
    }
}

impl ordex_core::Cursor for PersistentCursor<'_> {
    fn seek(&mut self, key: &[u8]) -> bool {
        self.refresh();
        let version = &self.version;
        let Some(root) = version.tree.root.as_ref() else {
            self.leaf = None;
            return false;
        };
        self.leaf = Some(descend(root, version.tree.height, key, &mut self.path).clone());
        self.settle_forward()
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> bool {
        self.refresh();
        let version = &self.version;
        let Some(root) = version.tree.root.as_ref() else {
            self.leaf = None;
            return false;
        };
        let h = version.tree.height;
        let leaf = descend(root, h, key, &mut self.path);
        let Node::Leaf(l) = &**leaf else {
            unreachable!()
        };
        let at = self.path.at[h] as usize;
        if at < l.len() && l.key(at) == key {
            self.leaf = Some(leaf.clone());
            return true;
        }
        if at > 0 {
            self.path.at[h] = (at - 1) as u16;
            self.leaf = Some(leaf.clone());
            return true;
        }
        self.leaf = prev_leaf(root, h, &mut self.path).cloned();
        self.leaf.is_some()
    }

    fn first(&mut self) -> bool {
        self.refresh();
        let version = &self.version;
        self.leaf = version
            .tree
            .root
            .as_ref()
            .map(|root| edge(root, 0, version.tree.height, false, &mut self.path).clone());
        self.leaf.is_some()
    }

    fn last(&mut self) -> bool {
        self.refresh();
        let version = &self.version;
        self.leaf = version
            .tree
            .root
            .as_ref()
            .map(|root| edge(root, 0, version.tree.height, true, &mut self.path).clone());
        self.leaf.is_some()
    }

    fn next(&mut self) -> bool {
        if self.leaf.is_none() {
            return false;
        }
        let h = self.version.tree.height;
        self.path.at[h] += 1;
        self.settle_forward()
    }

    fn prev(&mut self) -> bool {
        if self.leaf.is_none() {
            return false;
        }
        let h = self.version.tree.height;
        if self.path.at[h] > 0 {
            self.path.at[h] -= 1;
            return true;
        }
        let version = &self.version;
        let root = version
            .tree
            .root
            .as_ref()
            .expect("a positioned cursor has a root");
        self.leaf = prev_leaf(root, h, &mut self.path).cloned();
        self.leaf.is_some()
    }

    #[inline]
    fn valid(&self) -> bool {
        self.leaf.is_some()
    }

    #[inline]
    fn key(&self) -> Option<&[u8]> {
        match self.leaf.as_deref()? {
            Node::Leaf(l) => Some(l.key(self.pos())),
            Node::Inner(_) => None,
        }
    }

    #[inline]
    fn value(&self) -> Option<&[u8]> {
        match self.leaf.as_deref()? {
            Node::Leaf(l) => Some(l.value(self.pos())),
            Node::Inner(_) => None,
        }
    }

    #[inline]
    fn seqno(&self) -> Option<Seqno> {
        self.leaf.as_ref().map(|_| 0)
    }
}
