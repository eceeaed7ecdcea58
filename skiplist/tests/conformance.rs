//! The ordex conformance suite on the skip list, with a bounded table (for
//! `Error::Full`) and sealing (for `Error::Sealed`).

use ordex_skiplist::{Config, SkipList};

ordex_testkit::conformance!(SkipList::new, |suite: ordex_testkit::Suite<SkipList>| {
    suite
        .bounded(|| {
            SkipList::with_config(Config {
                max_memory: 4 << 20,
                ..Config::default()
            })
        })
        .sealable(|t| t.freeze())
});
