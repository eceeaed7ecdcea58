//! `ordex-persistent`: the path-copying persistent B-tree with RCU snapshots.
//!
//! Not implemented yet: this crate is a placeholder in the workspace so the
//! facade, the benchmark and CI are wired for it. Until it lands,
//! `ordex::IndexKind::available()` does not list it.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

/// Whether this backend is implemented (the facade's `IndexKind::available`
/// reads it).
pub const IMPLEMENTED: bool = false;
