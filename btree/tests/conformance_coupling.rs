//! The ordex conformance suite on `BTree<LockCoupling>` (pessimistic
//! reader-writer latches taken hand-over-hand), with the default node
//! size.

use ordex_btree::{BTree, LockCoupling};

ordex_testkit::conformance!(BTree::<LockCoupling, 64>::new);
