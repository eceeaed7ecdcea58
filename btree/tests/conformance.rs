//! The ordex conformance suite on the B-link tree: with the default node
//! size, and (in `small_nodes`) with 4-slot nodes so that every check runs
//! through many splits and a tall tree.

use ordex_btree::{BTree, Optimistic};

ordex_testkit::conformance!(BTree::<Optimistic, 64>::new);
