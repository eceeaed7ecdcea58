//! [`Inner`]: an inner node, its separators and its children in one
//! buffer.
//!
//! An inner node's children live in the *front* of its separators'
//! buffer (see the `strings` module), [`INNER_CAP`] slots of 16 bytes
//! before the heads:
//!
//! ```text
//! [ children: Child per slot ][ heads ][ ends ][ separators' bytes ]
//! ```
//!
//! so that a level of a descent waits for two allocations (the node and
//! this buffer, both asked for at once from the parent's [`Child`])
//! instead of three (the node, its keys' buffer and its children's
//! array). `examples/layout_probe.rs` measured the step on a read-only
//! model of the tree (docs/persistent.md, *What a level costs*).
//!
//! This module is where that buffer's bytes are read as children: the
//! rest of the crate sees `&[Child]`, `&mut [Child]` and moves of whole
//! children, never the slots.

use crate::node::{Node, INNER_CAP};
use crate::shared::Shared;
use crate::strings::Strings;
use core::marker::PhantomData;
use smallvec::SmallVec;

/// A prefetch hint: where a node's buffer was, and how many of its cache
/// lines a reader should ask for (see `node::hint_of`), only prefetched:
/// a stale one costs time, never correctness. A leaf of records'
/// hint is instead its *descriptor* (bit 63 set, see
/// `fixed::Fixed::descriptor`): the address, count and lengths of its
/// records, which a point read of a published version reads without
/// the leaf's node, so it must be exact there (see [`Child`]).
pub(crate) type Hint = u64;

/// A child of an inner node, with a prefetch hint for the buffer it had
/// when its parent last set it: a reader going down asks for the child's
/// allocation and its buffer at once, so a level costs one wait for
/// memory instead of two in a row (the node, then the buffer it points
/// to).
///
/// A writer sets a child's hint when it makes or changes the child (the
/// descent of an edit refreshes the hint of the node it leaves once it
/// is done with it; a split, a borrow or a merge those of the nodes it
/// changed; a new child gets it in [`Child::new`]); a change through
/// `DerefMut` leaves it as it was, for the writer to
/// [`refresh`](Child::refresh) once done. Every child's hint is exact
/// once a write is done (the structure check, `edit::check_tree`,
/// verifies every one), so every hint of a published version is: for
/// an inner node or a packed leaf a stale one would only make reads of
/// that child slower, but a leaf of records' descriptor is read as its
/// records' address by `edit::lookup_asked`, the gets of a published
/// version, where it must be exact (debug builds assert it at each
/// use).
#[repr(C)]
pub(crate) struct Child {
    pub(crate) node: Shared<Node>,
    pub(crate) hint: Hint,
}

/// Bytes of an inner node's front: a slot per child.
pub(crate) const FRONT: usize = INNER_CAP * core::mem::size_of::<Child>();

const _: () = {
    assert!(core::mem::size_of::<Child>() == 16);
    assert!(core::mem::align_of::<Child>() <= crate::pool::BUF_ALIGN);
};

impl Clone for Child {
    /// Another reference to the child, with its hint; a clone of a
    /// hollow node is a copy (see `Shared::clone`), whose buffer is its
    /// own: the hint is taken from the node cloned.
    fn clone(&self) -> Child {
        let node = self.node.clone();
        if Shared::ptr_eq(&node, &self.node) {
            Child {
                node,
                hint: self.hint,
            }
        } else {
            Child::new(node)
        }
    }
}

impl Child {
    /// A child with a hint for `node`'s buffer as it is.
    #[inline]
    pub(crate) fn new(node: Shared<Node>) -> Child {
        let hint = node.hint();
        Child { node, hint }
    }

    /// Sets the hint for the child's buffer as it is now.
    #[inline]
    pub(crate) fn refresh(&mut self) {
        self.hint = self.node.hint();
    }

    /// Asks for the child's allocation and the buffer its hint names.
    #[inline(always)]
    pub(crate) fn prefetch(&self) {
        crate::node::prefetch_node(&self.node, self.hint);
    }
}

impl core::ops::Deref for Child {
    type Target = Shared<Node>;

    #[inline]
    fn deref(&self) -> &Shared<Node> {
        &self.node
    }
}

impl core::ops::DerefMut for Child {
    /// The child's node. Changing the node through it leaves the hint as
    /// it was: refresh it once done (see [`Child`]).
    #[inline]
    fn deref_mut(&mut self) -> &mut Shared<Node> {
        &mut self.node
    }
}

/// Separators and children, in one buffer (see the [module docs](self)).
///
/// Invariant: slots `0..n` of `keys`' front hold children this node owns
/// (initialised, each dropped once, by this node), the other slots
/// anything; `keys`' front is `FRONT` bytes whenever `n` is above 0 (a
/// node [`Inner::take`] leaves behind has no buffer;
/// [`insert_child`](Self::insert_child) gives it its front before a
/// first child goes in).
pub(crate) struct Inner {
    /// The separators, the children in their front.
    keys: Strings<INNER_CAP, 1, FRONT>,
    /// How many children.
    n: u32,
    /// Entries in this subtree (the sum of the children's).
    pub(crate) entries: usize,
    /// The children live in `keys`' bytes: this makes the node `Send`
    /// and `Sync` only as its children are.
    _children: PhantomData<Child>,
}

/// Children moved out of a node, at most a node's worth.
pub(crate) type Moved = SmallVec<[Child; INNER_CAP]>;

impl Inner {
    /// No separators, no children.
    pub(crate) fn new() -> Self {
        Inner {
            keys: Strings::new(),
            n: 0,
            entries: 0,
            _children: PhantomData,
        }
    }

    /// An inner node of `keys` (whose front is ignored) and `children`
    /// (at most [`INNER_CAP`]), counting `entries`.
    pub(crate) fn from_parts(
        keys: Strings<INNER_CAP, 1, FRONT>,
        children: impl IntoIterator<Item = Child>,
        entries: usize,
    ) -> Self {
        // The front's bytes are not children until `n` counts them.
        let mut inner = Inner {
            keys,
            n: 0,
            entries,
            _children: PhantomData,
        };
        inner.extend_children(children);
        inner
    }

    /// The node, leaving in its place one with no children and no
    /// buffer (to be dropped only): for a drop that goes through the
    /// children of nodes it frees without recursion.
    pub(crate) fn take(&mut self) -> Inner {
        core::mem::replace(
            self,
            Inner {
                keys: Strings::unallocated(),
                n: 0,
                entries: 0,
                _children: PhantomData,
            },
        )
    }

    /// The slots' address.
    #[inline(always)]
    fn slots(&self) -> *const Child {
        self.keys.front().cast()
    }

    /// The slots' address, for writes.
    #[inline(always)]
    fn slots_mut(&mut self) -> *mut Child {
        self.keys.front_mut().cast()
    }

    /// The children.
    #[inline(always)]
    pub(crate) fn children(&self) -> &[Child] {
        if self.n == 0 {
            return &[];
        }
        // SAFETY: slots `0..n` hold initialised children (the invariant)
        // in the front, aligned to 8 (`Buf`'s block) and `FRONT` bytes
        // long (`n <= INNER_CAP`); the buffer is not written while
        // `&self` lives.
        unsafe { core::slice::from_raw_parts(self.slots(), self.n as usize) }
    }

    /// The children, for writes in place.
    #[inline(always)]
    pub(crate) fn children_mut(&mut self) -> &mut [Child] {
        if self.n == 0 {
            return &mut [];
        }
        let n = self.n as usize;
        // SAFETY: as in `children`, with `&mut self` exclusive; writes
        // through the slice keep each slot an initialised child.
        unsafe { core::slice::from_raw_parts_mut(self.slots_mut(), n) }
    }

    /// The entry count and the children, borrowed apart (a descent
    /// keeps the first while it goes into one of the second).
    #[inline(always)]
    pub(crate) fn entries_and_children_mut(&mut self) -> (&mut usize, &mut [Child]) {
        let n = self.n as usize;
        if n == 0 {
            return (&mut self.entries, &mut []);
        }
        let slots = self.keys.front_mut().cast::<Child>();
        // SAFETY: as in `children_mut`; the slice borrows `keys`' buffer,
        // disjoint from `entries`.
        (&mut self.entries, unsafe {
            core::slice::from_raw_parts_mut(slots, n)
        })
    }

    /// How many children.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.n as usize
    }

    /// Inserts `child` as child `i` (`i <= len < INNER_CAP`).
    pub(crate) fn insert_child(&mut self, i: usize, child: Child) {
        let n = self.n as usize;
        assert!(
            i <= n && n < INNER_CAP,
            "an inner node holds {INNER_CAP} children"
        );
        if n == 0 {
            // A node `take` left behind has no front yet.
            self.keys.ensure_front();
        }
        let p = self.slots_mut();
        // SAFETY: the front is `FRONT` bytes (the invariant when `n` is
        // above 0, `ensure_front` above when it is 0); slots `i..n` move
        // one right, within it (`n + 1 <= INNER_CAP` slots); slot `i`,
        // moved out, takes `child`; then `n + 1` slots hold children.
        unsafe {
            core::ptr::copy(p.add(i), p.add(i + 1), n - i);
            p.add(i).write(child);
        }
        self.n += 1;
    }

    /// Appends `child`.
    pub(crate) fn push_child(&mut self, child: Child) {
        self.insert_child(self.len(), child);
    }

    /// Removes child `i` (`i < len`).
    pub(crate) fn remove_child(&mut self, i: usize) -> Child {
        let n = self.n as usize;
        assert!(i < n, "child {i} of {n}");
        let p = self.slots_mut();
        // SAFETY: slot `i` holds a child, read out once (no longer
        // counted below); slots `i + 1..n` move one left.
        let child = unsafe {
            let child = p.add(i).read();
            core::ptr::copy(p.add(i + 1), p.add(i), n - i - 1);
            child
        };
        self.n -= 1;
        child
    }

    /// Removes the last child.
    pub(crate) fn pop_child(&mut self) -> Option<Child> {
        if self.n == 0 {
            return None;
        }
        Some(self.remove_child(self.len() - 1))
    }

    /// Appends `children` (up to [`INNER_CAP`] in all).
    pub(crate) fn extend_children(&mut self, children: impl IntoIterator<Item = Child>) {
        for c in children {
            self.push_child(c);
        }
    }

    /// Removes children `at..`, in order.
    pub(crate) fn split_children_off(&mut self, at: usize) -> Moved {
        let mut moved = Moved::new();
        while self.len() > at {
            moved.push(self.remove_child(at));
        }
        moved
    }

    /// Removes children `..k`, in order.
    pub(crate) fn take_first_children(&mut self, k: usize) -> Moved {
        let rest = self.split_children_off(k);
        let first = self.split_children_off(0);
        self.extend_children(rest);
        first
    }

    /// Inserts `children` before the first child.
    pub(crate) fn prepend_children(&mut self, children: Moved) {
        for (i, c) in children.into_iter().enumerate() {
            self.insert_child(i, c);
        }
    }

    /// Lets go of the children without giving them up (for a hollow
    /// node, see `Owns::forget_references`): they are leaked.
    pub(crate) fn forget_children(&mut self) {
        self.n = 0;
    }

    /// The separators.
    #[inline(always)]
    pub(crate) fn keys(&self) -> &Strings<INNER_CAP, 1, FRONT> {
        &self.keys
    }

    /// Inserts separator `i`.
    pub(crate) fn insert_key(&mut self, i: usize, key: &[u8]) {
        self.keys.insert(i, key);
    }

    /// Appends a separator.
    pub(crate) fn push_key(&mut self, key: &[u8]) {
        self.keys.push(key);
    }

    /// Removes separator `i`.
    pub(crate) fn remove_key(&mut self, i: usize) {
        self.keys.remove(i);
    }

    /// Replaces separator `i`.
    pub(crate) fn replace_key(&mut self, i: usize, key: &[u8]) {
        self.keys.replace(i, key);
    }

    /// Keeps the first `n` separators.
    pub(crate) fn truncate_keys(&mut self, n: usize) {
        self.keys.truncate(n);
    }

    /// Removes separators `at..` (their front is zeroed: children are
    /// moved apart).
    pub(crate) fn split_keys_off(&mut self, at: usize) -> Strings<INNER_CAP, 1, FRONT> {
        self.keys.split_off(at)
    }

    /// Appends separators `from..to` of `other`.
    pub(crate) fn extend_keys_from(
        &mut self,
        other: &Strings<INNER_CAP, 1, FRONT>,
        from: usize,
        to: usize,
    ) {
        self.keys.extend_from(other, from, to);
    }

    /// Replaces the separators with `keys` (whose front is ignored: the
    /// children stay).
    pub(crate) fn set_keys(&mut self, mut keys: Strings<INNER_CAP, 1, FRONT>) {
        keys.copy_front_from(&self.keys);
        self.keys = keys;
    }

    /// Sets [`entries`](Self::entries) to the sum of the children's
    /// (reads each child: O(children)).
    pub(crate) fn recount(&mut self) {
        self.entries = self.children().iter().map(|c| c.entries()).sum();
    }

    /// The child whose range holds `key`.
    #[inline]
    pub(crate) fn child_index(&self, key: &[u8]) -> usize {
        self.keys.count_le(key)
    }

    /// A hint for the node's buffer (see [`Child`]): its children, and
    /// what a search of the separators reads before it finds the child
    /// (the shared prefix, then the heads; the separators' other bytes
    /// only where heads tie).
    #[inline]
    pub(crate) fn hint(&self) -> Hint {
        let (addr, _) = self.keys.buffer();
        crate::node::hint_of(addr, self.keys.search_bytes())
    }

    /// Asks for the lines of the node's buffer (for a node that no
    /// parent's hint asked for: the root).
    #[inline]
    pub(crate) fn prefetch(&self) {
        crate::node::prefetch_hint(self.hint());
    }

    /// Heap bytes of the node's buffer.
    pub(crate) fn buffer_bytes(&self) -> usize {
        self.keys.heap_bytes()
    }

    /// A copy holding the same children as this one, with the same
    /// hints, none of them counted: the copy of the buffer copies the
    /// front's bytes, so each child of the copy is an alias of this
    /// node's (see `Shared::alias` and `Owns::take_over`). One copy of
    /// the buffer: a child-by-child copy of the front after it wrote
    /// those bytes a second time, and single writes into 1M keys ran
    /// 1.10–1.18× slower with it (docs/persistent.md, *A path copy's
    /// children copied with its buffer*).
    ///
    /// # Safety
    ///
    /// As for `Owns::take_over`: each child's reference is given up by
    /// one of the two nodes only (this one made hollow, or the copy
    /// forgotten).
    pub(crate) unsafe fn take_over(&self) -> Inner {
        Inner {
            keys: self.keys.clone(),
            n: self.n,
            entries: self.entries,
            _children: PhantomData,
        }
    }
}

impl Clone for Inner {
    fn clone(&self) -> Self {
        Inner::from_parts(
            self.keys.clone(),
            self.children().iter().cloned(),
            self.entries,
        )
    }
}

impl Drop for Inner {
    /// Drops the children (a node's `Drop` takes them first, without
    /// recursion; this is for an inner node dropped on its own).
    fn drop(&mut self) {
        while let Some(c) = self.pop_child() {
            drop(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Leaf;

    fn leaf(k: u8) -> Child {
        let mut l = Leaf::new();
        l.push(&[k], &[k, k]);
        Child::new(Shared::new(Node::Leaf(l)))
    }

    fn firsts(i: &Inner) -> Vec<u8> {
        i.children().iter().map(|c| c.first_key()[0]).collect()
    }

    #[test]
    fn children_and_separators_share_a_buffer_and_agree_with_a_vec() {
        let family = crate::shared::Family::new();
        let held = family.hold();
        let _batch = crate::shared::TestBatch::begin(&held);
        let mut inner = Inner::new();
        let mut model: Vec<u8> = Vec::new();
        for k in 0..INNER_CAP as u8 {
            let at = (k as usize * 7) % (model.len() + 1);
            inner.insert_child(at, leaf(k));
            model.insert(at, k);
            // Separators edited between child edits keep the children.
            inner.push_key(&[k; 20]);
            assert_eq!(firsts(&inner), model);
        }
        for k in 0..INNER_CAP / 2 {
            inner.remove_key(0);
            let at = (k * 5) % model.len();
            let c = inner.remove_child(at);
            assert_eq!(c.first_key()[0], model.remove(at));
            inner.replace_key(0, &[9; 40]);
            assert_eq!(firsts(&inner), model);
        }
        let copy = inner.clone();
        let half = model.len() / 2;
        let moved = inner.split_children_off(half);
        assert_eq!(moved.len(), model.len() - half);
        inner.set_keys(Strings::from_parts([&b"x"[..], b"y"].into_iter()));
        inner.extend_children(moved);
        assert_eq!(firsts(&inner), model);
        let first = inner.take_first_children(half + 1);
        inner.prepend_children(first);
        assert_eq!(firsts(&inner), model);
        assert_eq!(firsts(&copy), model);
        assert!(core::ptr::eq(
            Shared::as_ptr(&copy.children()[0].node),
            Shared::as_ptr(&inner.children()[0].node)
        ));
        // A node left behind by `take` has no buffer; a child put in it
        // gets a front first.
        let taken = inner.take();
        assert_eq!(firsts(&taken), model);
        assert!(inner.children().is_empty());
        inner.push_child(leaf(7));
        assert_eq!(firsts(&inner), [7]);
    }
}
