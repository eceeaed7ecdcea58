//! The ordex conformance suite on a B-link tree of 4-slot nodes: every
//! check then exercises half-splits, root growth and move-right on a tall
//! tree.

use ordex_btree::{BTree, Optimistic};

ordex_testkit::conformance!(
    BTree::<Optimistic, 4>::new,
    |suite: ordex_testkit::Suite<BTree<Optimistic, 4>>| { suite.scale(0.25) }
);
