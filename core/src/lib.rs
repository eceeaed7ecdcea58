//! `ordex-core`: the contract every ordex index keeps.
//!
//! - [`OrderedIndex`] and [`Snapshot`]: the dyn-compatible traits over
//!   byte-string keys ordered by memcmp, with [`Seqno`] versions, and the
//!   [`Cursor`] both hand out;
//! - [`Error`]: why a write was refused (never a panic, never a half write);
//! - [`codec`]: order-preserving encodings of integers, floats, strings and
//!   tuples into byte keys;
//! - [`sync`]: the loom shim every backend takes its atomics from;
//! - [`olc`]: the optimistic version lock shared by the tree backends, and
//!   their restart and backoff helpers;
//! - [`counter`]: a striped counter for counts many writers update;
//! - [`reclaim`]: retirement through crossbeam-epoch with memory
//!   accounting;
//! - [`mvcc`]: the seqno clock, the snapshot registry and the rule of
//!   which versions must stay;
//! - [`reference::LockedBTreeMap`]: the obviously-correct oracle and
//!   baseline.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod codec;
pub mod counter;
mod cursor;
mod error;
pub mod head;
mod index;
pub mod mvcc;
pub mod olc;
pub mod reclaim;
pub mod reference;
pub mod sync;

pub use cursor::Cursor;
pub use error::Error;
pub use index::{
    below_start, bounds_of, deliver, is_empty_range, past_end, Limits, OrderedIndex,
    OrderedIndexExt, Seqno, Snapshot, SnapshotExt,
};
