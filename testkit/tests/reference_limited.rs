//! The conformance suite on a reference index with key and value limits
//! below the generated sizes: oversized writes must be refused cleanly in
//! every check.

use ordex_core::reference::LockedBTreeMap;

ordex_testkit::conformance!(|| LockedBTreeMap::builder()
    .max_key_len(2048)
    .max_value_len(3000)
    .build());
