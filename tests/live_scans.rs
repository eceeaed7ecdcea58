//! Live scans keep their bounds on every backend `ordex::open` builds
//! (the shape the bug was reported in: run-time selection, a live
//! `scan(Excluded(k), ..)` racing the insert of `k`), through the
//! testkit's `live_scan_bounds` check. Backends that land in `open` are
//! held to it here without a change.

use ordex::{IndexKind, OrderedIndex};
use ordex_testkit::Suite;

#[test]
fn live_scans_keep_their_bounds_on_every_available_backend() {
    for kind in IndexKind::available() {
        let suite: Suite<Box<dyn OrderedIndex>> = Suite::new(move || ordex::open(kind));
        if let Err(e) = suite.live_scan_bounds() {
            panic!("{kind}: {e}");
        }
    }
}
