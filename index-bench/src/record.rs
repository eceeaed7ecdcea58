//! One measured result: a row of the long-format CSV.

/// One (index, workload, key set, threads, repeat) measurement. The field
/// order is the CSV's column order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// Run identifier (the output directory's name).
    pub run: String,
    /// Index name (adapter `NAME`).
    pub index: String,
    /// `true` for ordex backends.
    pub ordex: bool,
    /// Workload name (`load`, `ycsb-a` … `ycsb-f`, `read-uniform`, `memtable`, `snapshot`).
    pub workload: String,
    /// Key set name (`u64-random`, `u64-mono`, `bin16`, `words`, `urls`, `emails`).
    pub keyset: String,
    /// Value size in bytes.
    pub value_size: usize,
    /// Worker threads.
    pub threads: usize,
    /// Whether `threads` exceeds this machine's cores.
    pub oversubscribed: bool,
    /// Repeat number, from 0.
    pub repeat: usize,
    /// Entries loaded before the workload ran.
    pub entries: usize,
    /// Operations performed in the timed section.
    pub ops: u64,
    /// Wall time of the timed section, seconds.
    pub seconds: f64,
    /// Throughput, million operations per second.
    pub mops: f64,
    /// Sampled latency percentiles and maximum, nanoseconds.
    pub p50_ns: u64,
    /// 90th percentile latency, ns.
    pub p90_ns: u64,
    /// 99th percentile latency, ns.
    pub p99_ns: u64,
    /// 99.9th percentile latency, ns.
    pub p999_ns: u64,
    /// Largest sampled latency, ns.
    pub max_ns: u64,
    /// Bytes per entry after load (live heap bytes, plus the index's
    /// `BenchIndex::unallocated_bytes`, / entries); NaN if not measured.
    pub bytes_per_entry: f64,
    /// Result verification: `ok`, `FAILED: …`, or `n/a`.
    pub verified: String,
    /// Restarts per operation in the timed section, as the index counts
    /// them in `ordex_core::olc::contention` (failed optimistic validations
    /// or upgrades), for a run that records contention (`--contention`,
    /// `index-bench techniques`): NaN for an index that does not count
    /// them. `None` in other runs, whose CSV has no such column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts_per_op: Option<f64>,
    /// Lock or latch waits per operation (acquisitions that found it held),
    /// like [`Row::restarts_per_op`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waits_per_op: Option<f64>,
}

impl Row {
    /// Whether the row carries contention counters (its run recorded them).
    pub fn has_contention(&self) -> bool {
        self.restarts_per_op.is_some() || self.waits_per_op.is_some()
    }
}
/// The CSV header: [`Row`]'s fields, in column order (checked against
/// serde's header by a test of the CSV writer), but for the contention
/// columns, which follow them only in a run that records contention
/// ([`CONTENTION_HEADER`]).
pub const HEADER: &[&str] = &[
    "run",
    "index",
    "ordex",
    "workload",
    "keyset",
    "value_size",
    "threads",
    "oversubscribed",
    "repeat",
    "entries",
    "ops",
    "seconds",
    "mops",
    "p50_ns",
    "p90_ns",
    "p99_ns",
    "p999_ns",
    "max_ns",
    "bytes_per_entry",
    "verified",
];

/// The columns after [`HEADER`] in a run that records contention.
pub const CONTENTION_HEADER: &[&str] = &["restarts_per_op", "waits_per_op"];
