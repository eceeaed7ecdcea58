//! The root pointer, the tree's growth and shrinking at the top, the parallel bulk load, and freeing every node when the tree drops.

use super::*;

/// Bulk loads of at least this many entries fill their leaves in
/// parallel.
pub(crate) const PAR_BUILD: usize = 1 << 16;

impl<L: Latch, const N: usize> Leaves<'_, L, N> {
    pub(super) fn get(&self, i: usize) -> Option<*mut Node<L, N>> {
        self.0.get(i).copied()
    }
}

impl<L: Latch, const N: usize> Root<L, N> {
    /// A tree of one empty leaf.
    pub(crate) fn new() -> Self {
        let heap = Arc::new(Account::default());
        Root {
            ptr: AtomicPtr::new(Node::alloc(0, &heap)),
            heap,
            hot: Hot(AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// Builds a tree bottom-up, with full nodes, from the entries whose
    /// keys ascend strictly; an entry whose key is not above the previous
    /// one goes to `rest` (for the caller to insert afterwards). Entry `i`
    /// gets seqno `first_seqno + i` (no snapshot exists yet, so small
    /// values go inline). Leaves are filled in parallel (rayon) when there
    /// are at least [`PAR_BUILD`] entries. Returns the tree and the number
    /// of entries built in.
    pub(crate) fn build<K, V>(
        entries: impl Iterator<Item = (K, V)>,
        first_seqno: u64,
        rest: &mut Vec<(K, V)>,
    ) -> (Self, usize)
    where
        K: AsRef<[u8]> + Sync,
        V: AsRef<[u8]> + Sync,
    {
        let heap = Arc::new(Account::default());
        // The strictly ascending run, in input order.
        let mut run: Vec<(K, V)> = Vec::with_capacity(entries.size_hint().0);
        for (k, v) in entries {
            if run.last().is_some_and(|(p, _)| p.as_ref() >= k.as_ref()) {
                rest.push((k, v));
            } else {
                run.push((k, v));
            }
        }
        let n = run.len();
        // Leaves, left to right; each full but the last.
        let leaves: Vec<*mut Node<L, N>> = (0..n.div_ceil(N).max(1))
            .map(|_| Node::alloc(0, &heap))
            .collect();
        let shared = Leaves(&leaves);
        let fill = |i: usize| {
            // SAFETY: `leaves` holds the nodes allocated above, owned by
            // this function until the root is set; each worker writes only
            // leaf `i` (through atomics), and the others are only linked.
            let leaf = unsafe { &*shared.get(i).expect("a leaf per chunk") };
            let chunk = &run[(i * N).min(n)..((i + 1) * N).min(n)];
            let low = (i > 0).then(|| run[i * N - 1].0.as_ref());
            let high = shared.get(i + 1).and(chunk.last()).map(|(k, _)| k.as_ref());
            let pfx = Prefix::of_range(low, high);
            leaf.store_prefix(pfx);
            // The packed entries' items, in key order, in one block sized
            // for them.
            let packed: usize = chunk
                .iter()
                .filter(|(k, v)| packable(k.as_ref(), v.as_ref()))
                .map(|(k, v)| item_size(k.as_ref().len(), v.as_ref().len()))
                .sum();
            if packed > 0 {
                leaf.reserve_block(packed, &heap);
            }
            for (j, (k, v)) in chunk.iter().enumerate() {
                let (k, v) = (k.as_ref(), v.as_ref());
                let raw = if packable(k, v) {
                    RawSlot::packed(pfx, k, leaf.pack_owned(k, v))
                } else {
                    let seqno = first_seqno + (i * N + j) as u64;
                    new_raw(&heap, pfx, k, v, seqno, u64::MAX)
                };
                leaf.set_raw(j, raw);
            }
            leaf.set_count(chunk.len());
            if let Some(next) = shared.get(i + 1) {
                let last = chunk.last().expect("a leaf with a right sibling is full");
                leaf.set_high(Entry::alloc(last.0.as_ref(), &heap));
                leaf.right.store(next, Ordering::Relaxed);
            }
            if i > 0 {
                let low = &run[i * N - 1].0;
                leaf.low
                    .store(Entry::alloc(low.as_ref(), &heap), Ordering::Relaxed);
            }
        };
        if n >= PAR_BUILD {
            use rayon::prelude::*;
            (0..leaves.len()).into_par_iter().for_each(fill);
        } else {
            (0..leaves.len()).for_each(fill);
        }
        drop(run);
        let mut level = leaves;
        // Inner levels: each parent takes up to N children; its separators
        // are copies of the children's high keys, its high key the last
        // child's (moved up by copy as well).
        let mut height = 0u8;
        while level.len() > 1 {
            height += 1;
            let mut parents: Vec<*mut Node<L, N>> = Vec::with_capacity(level.len() / N + 1);
            for (g, group) in level.chunks(N).enumerate() {
                let p_ptr = Node::<L, N>::alloc(height, &heap);
                // SAFETY: owned by this function until the root is set.
                let p = unsafe { &*p_ptr };
                // The parent's range: from the high key of the node left
                // of its first child to its last child's high key.
                // SAFETY: nodes built above, owned by this function.
                let (low, high) = unsafe {
                    (
                        g.checked_sub(1).map(|_| &*level[g * N - 1]),
                        &*group[group.len() - 1],
                    )
                };
                p.store_prefix(Prefix::of_range(
                    low.and_then(Node::high_key),
                    high.high_key(),
                ));
                for (i, &kid) in group.iter().enumerate() {
                    p.set_child(i, kid);
                    if i + 1 < group.len() {
                        // SAFETY: every child but the last of its level has
                        // a high key (set above or in the previous round).
                        let h = unsafe { entry_key((*kid).high.load(Ordering::Relaxed)) };
                        p.set_sep(i, Entry::alloc(h, &heap));
                    }
                }
                p.set_count(group.len() - 1);
                if let Some(&prev_parent) = parents.last() {
                    // SAFETY: as above.
                    let prev_parent = unsafe { &*prev_parent };
                    let first_kid = group[0];
                    // The previous parent ends where this group begins: at
                    // the high key of the previous group's last child (the
                    // node left of `first_kid`).
                    let last_kid =
                        prev_parent.child_ptr(prev_parent.count.load(Ordering::Relaxed) as usize);
                    // SAFETY: a node built above, owned by this function.
                    let last_right = unsafe { (*last_kid).right.load(Ordering::Relaxed) };
                    debug_assert_eq!(last_right, first_kid);
                    // SAFETY: `last_kid` has a high key (it has a right sibling).
                    let h = unsafe { entry_key((*last_kid).high.load(Ordering::Relaxed)) };
                    prev_parent.set_high(Entry::alloc(h, &heap));
                    prev_parent.right.store(p_ptr, Ordering::Relaxed);
                }
                parents.push(p_ptr);
            }
            level = parents;
        }
        let root = Root {
            ptr: AtomicPtr::new(level[0]),
            heap,
            hot: Hot(AtomicPtr::new(ptr::null_mut())),
        };
        (root, n)
    }

    /// The memory account of the tree's nodes, entries and records.
    pub(crate) fn account(&self) -> &Arc<Account> {
        &self.heap
    }

    /// The hot leaf: the leaf that took the latest insert at one of its
    /// ends (its first or last slot), if it is still linked. Ascending keys
    /// (ids, timestamps) and descending ones go there one after another,
    /// so an insert tries it before descending from the root (PostgreSQL's
    /// B-tree keeps the rightmost leaf for the same reason).
    #[inline]
    pub(crate) fn hot<'g>(&'g self, _guard: &'g Guard) -> Option<&'g Node<L, N>> {
        let p = self.hot.0.load(Ordering::Acquire);
        // SAFETY: invariant 5: the pointer is stored only while its leaf
        // is linked, and an unlink clears it before the leaf is retired;
        // so a non-null pointer loaded under `_guard` names a leaf that is
        // retired, if ever, after the guard was pinned, and freed only
        // once the guard is gone (invariant 2). The tree's drop, which
        // frees every node at once, takes `&mut` access: no guard-bound
        // borrow of it is alive then.
        unsafe { p.as_ref() }
    }

    /// The hot leaf's address (null: none), for checks: not to be followed.
    pub(crate) fn hot_ptr(&self) -> *const Node<L, N> {
        self.hot.0.load(Ordering::Acquire)
    }

    /// Makes the latched leaf `leaf` the hot one.
    #[inline]
    pub(crate) fn make_hot(&self, leaf: &Locked<'_, L, N>) {
        debug_assert_eq!(leaf.node.level, 0);
        let p = leaf.node as *const Node<L, N> as *mut Node<L, N>;
        // A store only when it changes: the line stays shared while one
        // leaf takes the inserts.
        if self.hot.0.load(Ordering::Relaxed) != p {
            self.hot.0.store(p, Ordering::Release);
        }
    }

    /// Clears the hot leaf if it is `leaf` (latched, about to be unlinked:
    /// invariant 5).
    pub(crate) fn unmake_hot(&self, leaf: &Locked<'_, L, N>) {
        self.cool(leaf.node);
    }

    /// Clears the hot leaf if it is `leaf` (an insert found that its key
    /// does not belong there: the inserts no longer come in a run).
    /// Clearing is always safe.
    pub(crate) fn cool(&self, leaf: &Node<L, N>) {
        let p = leaf as *const Node<L, N> as *mut Node<L, N>;
        let _ =
            self.hot
                .0
                .compare_exchange(p, ptr::null_mut(), Ordering::AcqRel, Ordering::Relaxed);
    }

    /// The current root node.
    #[inline]
    pub(crate) fn load<'g>(&'g self, _guard: &'g Guard) -> &'g Node<L, N> {
        // SAFETY: the root is never null and nodes live as long as the tree
        // (invariant 2).
        unsafe { &*self.ptr.load(Ordering::Acquire) }
    }

    /// Removes a level: if `root` (latched) is the root, an inner node with
    /// a single child and no right sibling, the child becomes the root and
    /// `root` is marked obsolete and retired. Returns whether it did. The
    /// child may be in a half-split (its new right sibling's separator was
    /// meant for `root`): that split finishes by growing the tree again
    /// over the new root (see `Tree::finish_split`).
    pub(crate) fn try_shrink(&self, root: Locked<'_, L, N>, guard: &Guard) -> bool {
        let r = root.node;
        let r_ptr = r as *const Node<L, N> as *mut Node<L, N>;
        // A root with a right sibling is in a half-split: its level still
        // has a node whose separator has no parent yet, and giving the
        // level up would leave that node above the new root, unreachable
        // (and never freed). The split grows the tree instead.
        if r.level == 0
            || root.count_exact() != 0
            || self.ptr.load(Ordering::Relaxed) != r_ptr
            || r.right(guard).is_some()
        {
            return false;
        }
        let kid = r.child_ptr(0);
        if kid.is_null() {
            return false;
        }
        self.ptr.store(kid, Ordering::Release);
        r.set_child(0, ptr::null_mut());
        // SAFETY: `root` holds the exclusive latch; it is forgotten, so
        // this is its only release.
        unsafe { r.latch.unlock_obsolete() };
        core::mem::forget(root);
        // SAFETY: the old root was reachable only through `ptr`, just
        // replaced; it owns nothing (no separators, no high key, its one
        // child is the new root).
        unsafe { retire_node(r_ptr, guard, &self.heap) };
        true
    }

    /// Finishes a split at the root's level: installs a new root whose two
    /// children are `old` (the current root) and the split's new node.
    /// Fails (giving the split back) if `old` is no longer the root. The
    /// caller holds `old`'s latch, so no `try_shrink` replaces it
    /// meanwhile.
    pub(crate) fn try_grow(&self, old: &Node<L, N>, split: Split<L, N>) -> Result<(), Split<L, N>> {
        let old_ptr = old as *const Node<L, N> as *mut Node<L, N>;
        if self.ptr.load(Ordering::Acquire) != old_ptr {
            return Err(split);
        }
        let level = old.level.checked_add(1).expect("tree height exceeds 255");
        let root_ptr = Node::<L, N>::alloc(level, &self.heap);
        // SAFETY: freshly allocated, not yet shared.
        let root = unsafe { &*root_ptr };
        // A root's range is open at both ends: its prefix is its one
        // separator's first 8 bytes, cut as separators arrive that do not
        // share them (see `Prefix::open`).
        // SAFETY: the split owns its separator entry.
        let sep = unsafe { entry_key(split.sep) };
        root.store_prefix(Prefix::open(sep, sep));
        root.set_sep(0, split.sep);
        root.set_child(0, old_ptr);
        root.set_child(1, split.right);
        root.set_count(1);
        match self
            .ptr
            .compare_exchange(old_ptr, root_ptr, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: the node was never published; it owns nothing
                // (the separator goes back to the split).
                drop(unsafe { Box::from_raw(root_ptr) });
                self.heap.sub(Node::<L, N>::bytes(level));
                Err(split)
            }
        }
    }
}

impl<L: Latch, const N: usize> Drop for Root<L, N> {
    fn drop(&mut self) {
        // `&mut self`: no reader or writer is left. Walk each level from
        // its leftmost node along the right-links, freeing every node and
        // what it owns.
        let mut leftmost = self.ptr.load(Ordering::Relaxed);
        while !leftmost.is_null() {
            // SAFETY: nodes are live until freed here, once each.
            let first = unsafe { &*leftmost };
            let next_level = if first.level == 0 {
                ptr::null_mut()
            } else {
                first.child_ptr(0)
            };
            let mut p = leftmost;
            while !p.is_null() {
                // SAFETY: every node is reachable once along its level's
                // right-links and freed once.
                let node = unsafe { Box::from_raw(p) };
                let mut freed = Node::<L, N>::bytes(node.level);
                let n = (node.count.load(Ordering::Relaxed) as usize).min(N);
                for i in 0..n {
                    if node.level == 0 {
                        // SAFETY: each slot's content is owned by its
                        // node alone.
                        freed += unsafe { free_raw(node.raw(i)) };
                    } else {
                        let e = node.sep_ptr(i);
                        if !e.is_null() {
                            // SAFETY: each separator is owned by its node.
                            freed += unsafe { free_entry(e) };
                        }
                    }
                }
                let block = node.block();
                if !block.is_null() {
                    // SAFETY: a leaf's block is owned by its leaf alone
                    // (invariant 6), freed with it.
                    freed += unsafe { free_block(block.cast::<u8>()) };
                }
                for fence in [&node.high, &node.low] {
                    let h = fence.load(Ordering::Relaxed);
                    if !h.is_null() {
                        // SAFETY: a fence key is owned by its node alone.
                        freed += unsafe { free_entry(h) };
                    }
                }
                self.heap.sub(freed);
                p = node.right.load(Ordering::Relaxed);
            }
            leftmost = next_level;
        }
        // SAFETY: the tree is being dropped (`&mut`): no thread is left
        // to reach a retired object.
        unsafe { self.heap.free_limbo() };
    }
}

/// The size of a leaf of `Node<L, N>`.
pub(crate) fn leaf_bytes<L: Latch, const N: usize>() -> usize {
    Node::<L, N>::bytes(0)
}
