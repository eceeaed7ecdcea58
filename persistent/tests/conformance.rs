//! The ordex conformance suite on the persistent B+tree.

use ordex_persistent::PersistentBTree;

ordex_testkit::conformance!(PersistentBTree::new);
