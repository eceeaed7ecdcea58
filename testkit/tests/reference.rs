//! The conformance suite on the reference index, with a bounded variant
//! (for `Error::Full`) and sealing (for `Error::Sealed`).

use ordex_core::reference::LockedBTreeMap;

ordex_testkit::conformance!(LockedBTreeMap::new, |suite: ordex_testkit::Suite<
    LockedBTreeMap,
>| {
    suite
        .bounded(|| LockedBTreeMap::builder().capacity(1 << 20).build())
        .sealable(|index| index.seal())
});
