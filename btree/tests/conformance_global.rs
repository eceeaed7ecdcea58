//! The ordex conformance suite on `BTree<GlobalLock>`: the same tree and
//! node layout as the default, every operation under one tree-wide
//! reader-writer lock (the study's naive baseline).

use ordex_btree::{BTree, GlobalLock};

ordex_testkit::conformance!(BTree::<GlobalLock, 64>::new);
