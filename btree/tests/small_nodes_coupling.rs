//! The ordex conformance suite on `BTree<LockCoupling>` with 4-slot nodes:
//! splits, root growth, move-right and leaf unlinking all the time, with
//! readers latching hand-over-hand against them (a deadlock would hang a
//! check).

use ordex_btree::{BTree, LockCoupling};

ordex_testkit::conformance!(
    BTree::<LockCoupling, 4>::new,
    |suite: ordex_testkit::Suite<BTree<LockCoupling, 4>>| suite.scale(0.25)
);
