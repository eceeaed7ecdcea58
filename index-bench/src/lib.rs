//! The library behind the `index-bench` binary: adapters for every
//! benchmarked index, key sets, request distributions, workloads, the
//! runner, and the report writer. The binary (`src/main.rs`) is the
//! command line over it; the microbenchmarks (`benches/ops.rs`) use it too.
//!
//! Adding an index to the comparison is one file in [`adapters`]
//! implementing [`adapter::BenchIndex`], and one line in [`registry`].
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod ab;
pub mod adapter;
pub mod adapters;
pub mod advise;
pub mod btree_study;
pub mod corpus;
pub mod dist;
pub mod keys;
pub mod memtable_study;
pub mod persistent_study;
pub mod record;
pub mod registry;
pub mod report;
pub mod runner;
pub mod stats;
pub mod study;
pub mod suite;
pub mod targets;
pub mod techniques_study;
pub mod warm;
pub mod workload;
