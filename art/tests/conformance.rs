//! The ordex conformance suite on the adaptive radix tree.

ordex_testkit::conformance!(ordex_art::Art::new);
