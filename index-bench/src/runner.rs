//! Runs the workloads on one index type, with static dispatch in the timed
//! loops, and turns what happened into [`Row`]s.

use crate::adapter::{BenchIndex, Key};
use crate::keys::KeySet;
use crate::record::Row;
use crate::warm;
use crate::workload::{interleaved, ops_for, plan, Op, OpKind, Plan, Workload};
use hdrhistogram::Histogram;
use ordex_core::olc::contention;
use ordex_core::sync::prefetch;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Run identifier.
    pub run: String,
    /// Thread counts.
    pub threads: Vec<usize>,
    /// Operations per workload (all threads together).
    pub ops: usize,
    /// Value size in bytes.
    pub value_size: usize,
    /// Repeats of every measurement.
    pub repeat: usize,
    /// Seed of the operation streams.
    pub seed: u64,
    /// Time one operation in this many (a power of two).
    pub latency_every: usize,
    /// Cores of this machine.
    pub cores: usize,
    /// The order of the indexes within a round.
    pub order: Order,
    /// Pre-fault memory before each measured phase and trim the allocator
    /// between rounds ([`crate::warm`]); off only to show what it does.
    pub warm: bool,
    /// Most keys per slice of a load ([`LOAD_SLICE`] by default).
    pub load_slice: usize,
    /// Loads per index and round when the load itself is measured: each
    /// pass loads a fresh index, and the round's load figure is the pass
    /// of median time ([`run_keyset`]); the last pass's index is the one
    /// the workloads run on. 1 when the load is not measured.
    pub load_passes: usize,
    /// Most operations per slice of a workload ([`PHASE_SLICE`] by default).
    pub phase_slice: usize,
    /// Wait for a controller before every timed slice ([`gate`]): how
    /// `index-bench ab` runs two builds in lockstep.
    pub gated: bool,
    /// Record the restarts and lock waits per operation of the indexes that
    /// count them ([`Row::restarts_per_op`], [`Row::waits_per_op`]).
    pub contention: bool,
}

/// What one thread did in a timed section.
#[derive(Default)]
struct ThreadResult {
    ops: u64,
    reads: u64,
    hits: u64,
    scans: u64,
    scanned: u64,
    scan_requested: u64,
    restarts: u64,
    waits: u64,
    start: Option<Instant>,
    end: Option<Instant>,
    hist: Option<Histogram<u64>>,
}

impl ThreadResult {
    /// The calling thread's restart and wait counters
    /// (`ordex_core::olc::contention`) as they stand.
    fn counters() -> (u64, u64) {
        let c = contention();
        (c.restarts, c.waits)
    }

    /// Records the calling thread's restarts and waits since `before` (read
    /// outside the timed section: two thread-local loads).
    fn counted_since(&mut self, before: (u64, u64)) {
        let (restarts, waits) = Self::counters();
        self.restarts += restarts - before.0;
        self.waits += waits - before.1;
    }
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// The outcome of one timed section.
pub struct Measured {
    /// Operations performed (all threads).
    pub ops: u64,
    /// Wall time from the first thread's start to the last thread's end.
    pub seconds: f64,
    /// Point reads of keys that should be present.
    pub reads: u64,
    /// Of those, how many found their key.
    pub hits: u64,
    /// Scans.
    pub scans: u64,
    /// Entries the scans visited.
    pub scanned: u64,
    /// Entries the scans asked for.
    pub scan_requested: u64,
    /// Restarts the threads counted (`ordex_core::olc::contention`).
    pub restarts: u64,
    /// Lock waits the threads counted.
    pub waits: u64,
    /// Sampled latencies, ns.
    pub hist: Histogram<u64>,
}

impl Measured {
    /// Adds `other`, measured on the same index in another slice of the
    /// same phase: operations, time and latencies add up.
    fn add(&mut self, other: Measured) {
        self.ops += other.ops;
        self.seconds += other.seconds;
        self.reads += other.reads;
        self.hits += other.hits;
        self.scans += other.scans;
        self.scanned += other.scanned;
        self.scan_requested += other.scan_requested;
        self.restarts += other.restarts;
        self.waits += other.waits;
        let _ = self.hist.add(other.hist);
    }
}

impl Measured {
    /// Nothing measured yet: no operations in no time.
    fn empty() -> Measured {
        Measured {
            ops: 0,
            seconds: 0.0,
            reads: 0,
            hits: 0,
            scans: 0,
            scanned: 0,
            scan_requested: 0,
            restarts: 0,
            waits: 0,
            hist: new_hist(),
        }
    }
}

fn merge(results: Vec<ThreadResult>) -> Measured {
    let mut hist = new_hist();
    let mut m = Measured::empty();
    let start = results.iter().filter_map(|r| r.start).min();
    let end = results.iter().filter_map(|r| r.end).max();
    for r in results {
        m.ops += r.ops;
        m.reads += r.reads;
        m.hits += r.hits;
        m.scans += r.scans;
        m.scanned += r.scanned;
        m.scan_requested += r.scan_requested;
        m.restarts += r.restarts;
        m.waits += r.waits;
        if let Some(h) = r.hist {
            let _ = hist.add(h);
        }
    }
    m.hist = hist;
    if let (Some(s), Some(e)) = (start, end) {
        m.seconds = e.duration_since(s).as_secs_f64().max(1e-9);
    }
    m
}

#[inline(always)]
fn key_of(ks: &KeySet, i: usize) -> Key<'_> {
    Key {
        bytes: &ks.keys[i],
        int: ks.ints.as_ref().map(|v| v[i]),
    }
}

/// Runs `f(thread)` on `threads` threads released together; each returns
/// its result with its own start and end instants.
fn parallel<F>(threads: usize, f: F) -> Vec<ThreadResult>
where
    F: Fn(usize) -> ThreadResult + Sync,
{
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (f, barrier) = (&f, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    f(t)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("benchmark thread panicked"))
            .collect()
    })
}

/// How many operations ahead the timed loop prefetches keys.
const PREFETCH_AHEAD: usize = 8;

/// The timed loop over a pre-generated stream.
fn drive<I: BenchIndex>(
    index: &I,
    ks: &KeySet,
    ops: &[Op],
    values: [&[u8]; 2],
    every: usize,
) -> ThreadResult {
    let mut r = ThreadResult::default();
    let mut hist = new_hist();
    let mask = every.max(1).next_power_of_two() - 1;
    let before = ThreadResult::counters();
    let start = Instant::now();
    for (i, op) in ops.iter().enumerate() {
        // The harness's own memory traffic (a random key's `Vec` header,
        // then its bytes) would otherwise add two cache misses to every
        // operation of every index, compressing every ratio toward 1:
        // fetch them ahead, in two stages, so that the time measured is
        // the index's.
        //
        // An integer key set hands every adapter its key from the
        // integers, one contiguous array, with the bytes encoded on the
        // stack (as a program with integer keys calls a byte-keyed
        // index): the integer adapters read only the integers, and the
        // byte-keyed ones would otherwise chase a `Vec` per key that a
        // caller with integer keys never has.
        if let Some(near) = ops.get(i + PREFETCH_AHEAD) {
            match &ks.ints {
                Some(ints) => prefetch(&ints[near.key as usize]),
                None => prefetch(ks.keys[near.key as usize].as_ptr()),
            }
        }
        if ks.ints.is_none() {
            if let Some(far) = ops.get(i + 2 * PREFETCH_AHEAD) {
                prefetch(&ks.keys[far.key as usize]);
            }
        }
        let sample = i & mask == 0;
        let t0 = if sample { Some(Instant::now()) } else { None };
        let encoded;
        let key = match &ks.ints {
            Some(ints) => {
                let int = ints[op.key as usize];
                encoded = int.to_be_bytes();
                Key {
                    bytes: &encoded,
                    int: Some(int),
                }
            }
            None => key_of(ks, op.key as usize),
        };
        match op.kind {
            OpKind::Read => {
                r.reads += 1;
                r.hits += u64::from(std::hint::black_box(index.get(key)).is_some());
            }
            OpKind::Update => index.insert(key, values[1]),
            OpKind::Insert => index.insert(key, values[0]),
            OpKind::Scan => {
                r.scans += 1;
                r.scan_requested += u64::from(op.len);
                r.scanned += index.scan(key, op.len as usize) as u64;
            }
            OpKind::Prefix => {
                r.scans += 1;
                let prefix = &key.bytes[..(op.len as usize).min(key.bytes.len())];
                r.scanned += index.scan_prefix(prefix) as u64;
            }
            OpKind::Cursor => {
                r.scans += 1;
                r.scan_requested += 2 * u64::from(op.len);
                r.scanned += index.cursor_walk(key, op.len as usize).unwrap_or(0) as u64;
            }
            OpKind::ReadModifyWrite => {
                r.reads += 1;
                let old = index.get(key);
                r.hits += u64::from(old.is_some());
                index.insert(key, values[(old.unwrap_or(0) & 1) ^ 1]);
            }
        }
        if let Some(t0) = t0 {
            let _ = hist.record(t0.elapsed().as_nanos().max(1) as u64);
        }
    }
    r.end = Some(Instant::now());
    r.counted_since(before);
    r.start = Some(start);
    r.ops = ops.len() as u64;
    r.hist = Some(hist);
    r
}

/// Loads `keys[lo..hi]` into `index` with `threads` threads, interleaved.
fn load<I: BenchIndex>(
    index: &I,
    ks: &KeySet,
    lo: usize,
    hi: usize,
    threads: usize,
    value: &[u8],
    every: usize,
) -> Measured {
    merge(parallel(threads, |t| {
        let ops: Vec<Op> = interleaved(lo, hi, t, threads)
            .map(|k| Op {
                key: k as u32,
                len: 0,
                kind: OpKind::Insert,
            })
            .collect();
        drive(index, ks, &ops, [value, value], every)
    }))
}

/// Bytes per entry of `I` (live heap bytes, plus what it holds outside the
/// global allocator) after a single-threaded load of the key set
/// (untimed; the counting allocator is on only here).
pub fn bytes_per_entry<I: BenchIndex>(ks: &KeySet, value: &[u8]) -> f64 {
    if I::NAME == "null" {
        return f64::NAN;
    }
    let (index, bytes) = ordex_testkit::alloc::count_bytes(|| {
        let index = I::new();
        for i in 0..ks.loaded {
            index.insert(key_of(ks, i), value);
        }
        index
    });
    let bytes = bytes + index.unallocated_bytes() as isize;
    drop(index);
    bytes as f64 / ks.loaded.max(1) as f64
}

/// Whether `I` can run `w` on key set `ks` with values of `value_size`.
pub fn supports<I: BenchIndex>(w: Workload, ks: &KeySet, value_size: usize) -> bool {
    let caps = I::caps();
    if caps.int_keys_only && ks.ints.is_none() {
        return false;
    }
    if value_size > caps.max_value_len {
        return false;
    }
    match w {
        Workload::A | Workload::B | Workload::F | Workload::Mix(_) => caps.upserts,
        Workload::E | Workload::Scan => caps.scans,
        Workload::Snapshot => caps.snapshots,
        Workload::ReadMostly => caps.upserts,
        Workload::Cursor => caps.cursors,
        Workload::Prefix => caps.scans && !caps.int_keys_only,
        _ => true,
    }
}

/// One index under test, type-erased so that a round can hold every index
/// loaded at once and measure them phase by phase. The timed loops inside
/// stay generic over the index type (static dispatch per operation); only
/// the call per phase is virtual.
#[allow(clippy::len_without_is_empty)]
pub trait Contender {
    /// The index's name.
    fn name(&self) -> &'static str;
    /// Whether it is an ordex backend.
    fn ordex(&self) -> bool;
    /// Whether it counts restarts and lock waits
    /// (`BenchIndex::COUNTS_CONTENTION`).
    fn counts_contention(&self) -> bool {
        false
    }
    /// Whether it can run `w` on `ks` with values of `value_size`.
    fn supports(&self, w: Workload, ks: &KeySet, value_size: usize) -> bool;
    /// Bytes per entry after an untimed single-threaded load (see
    /// [`bytes_per_entry`]).
    fn bytes_per_entry(&self, ks: &KeySet, value: &[u8]) -> f64;
    /// Replaces the held index with a new, empty one.
    fn fresh(&mut self);
    /// Loads `keys[lo..hi]` into the held index with `threads` threads
    /// (timed).
    fn load(
        &self,
        ks: &KeySet,
        range: (usize, usize),
        threads: usize,
        value: &[u8],
        every: usize,
    ) -> Measured;
    /// Entries in the held index (0 without one).
    fn len(&self) -> usize;
    /// Runs one stream per thread on the held index (timed).
    /// Runs slice `part.0` of `part.1` of every thread's stream of `plan`
    /// on the held index (timed).
    fn drive(
        &self,
        ks: &KeySet,
        plan: &Plan,
        part: (usize, usize),
        values: [&[u8]; 2],
        every: usize,
    ) -> Measured;
    /// The snapshot workload on the held index (timed).
    fn snapshot(
        &self,
        ks: &KeySet,
        cfg: &Config,
        threads: usize,
        value: &[u8],
        seed: u64,
    ) -> Measured;
    /// The read-mostly workload on the held index (timed): `threads - 1`
    /// readers, one writer.
    fn read_mostly(
        &self,
        ks: &KeySet,
        cfg: &Config,
        threads: usize,
        value: &[u8],
        seed: u64,
    ) -> Measured;
    /// The memtable workload on a new index: timed concurrent load, seal and
    /// flush-iteration; returns the measurement and the entries the flush
    /// visited. The held index is left empty.
    fn memtable(
        &mut self,
        ks: &KeySet,
        threads: usize,
        value: &[u8],
        every: usize,
    ) -> (Measured, usize);
    /// Drops the held index.
    fn clear(&mut self);
}

/// The [`Contender`] over adapter `I`.
struct Slot<I: BenchIndex> {
    index: Option<I>,
}

/// A new [`Contender`] for adapter `I`, holding no index yet.
pub fn contender<I: BenchIndex>() -> Box<dyn Contender> {
    Box::new(Slot::<I> { index: None })
}

impl<I: BenchIndex> Slot<I> {
    fn held(&self) -> &I {
        self.index
            .as_ref()
            .expect("a phase runs on an index loaded earlier in the round")
    }
}

impl<I: BenchIndex> Contender for Slot<I> {
    fn name(&self) -> &'static str {
        I::NAME
    }

    fn ordex(&self) -> bool {
        I::ORDEX
    }

    fn counts_contention(&self) -> bool {
        I::COUNTS_CONTENTION
    }

    fn supports(&self, w: Workload, ks: &KeySet, value_size: usize) -> bool {
        supports::<I>(w, ks, value_size)
    }

    fn bytes_per_entry(&self, ks: &KeySet, value: &[u8]) -> f64 {
        bytes_per_entry::<I>(ks, value)
    }

    fn fresh(&mut self) {
        self.index = None;
        self.index = Some(I::new());
    }

    fn load(
        &self,
        ks: &KeySet,
        (lo, hi): (usize, usize),
        threads: usize,
        value: &[u8],
        every: usize,
    ) -> Measured {
        load(self.held(), ks, lo, hi, threads, value, every)
    }

    fn len(&self) -> usize {
        self.index.as_ref().map_or(0, I::len)
    }

    fn drive(
        &self,
        ks: &KeySet,
        plan: &Plan,
        (slice, slices): (usize, usize),
        values: [&[u8]; 2],
        every: usize,
    ) -> Measured {
        let index = self.held();
        merge(parallel(plan.streams.len(), |t| {
            let ops = &plan.streams[t];
            let part = &ops[ops.len() * slice / slices..ops.len() * (slice + 1) / slices];
            drive(index, ks, part, values, every)
        }))
    }

    fn snapshot(
        &self,
        ks: &KeySet,
        cfg: &Config,
        threads: usize,
        value: &[u8],
        seed: u64,
    ) -> Measured {
        snapshot_workload(
            self.held(),
            ks,
            threads,
            cfg.ops,
            value,
            seed,
            cfg.latency_every,
        )
    }

    fn read_mostly(
        &self,
        ks: &KeySet,
        cfg: &Config,
        threads: usize,
        value: &[u8],
        seed: u64,
    ) -> Measured {
        read_mostly_workload(
            self.held(),
            ks,
            threads,
            cfg.ops,
            value,
            seed,
            cfg.latency_every,
        )
    }

    fn memtable(
        &mut self,
        ks: &KeySet,
        threads: usize,
        value: &[u8],
        every: usize,
    ) -> (Measured, usize) {
        self.index = None;
        let index = I::new();
        let mut m = load(&index, ks, 0, ks.loaded, threads, value, every);
        index.seal();
        let before = ThreadResult::counters();
        let t0 = Instant::now();
        let n = index.iterate_all();
        m.seconds += t0.elapsed().as_secs_f64().max(1e-9);
        let after = ThreadResult::counters();
        m.ops += n as u64;
        m.restarts += after.0 - before.0;
        m.waits += after.1 - before.1;
        (m, n)
    }

    fn clear(&mut self) {
        self.index = None;
    }
}

/// The order in which a round measures its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Every round changes the order: round `2j` rotates the list by `j`,
    /// round `2j + 1` is that rotation reversed. Two indexes run ABBA; three
    /// run all six orders in six rounds. No index always goes first or
    /// always follows the same neighbour.
    Rotate,
    /// The order given, every round (to show what order does).
    Given,
}

/// The order of `n` contenders in round `round` (a permutation of `0..n`).
pub fn round_order(n: usize, round: usize, order: Order) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut v: Vec<usize> = (0..n).collect();
    if order == Order::Rotate {
        v.rotate_left((round / 2) % n);
        if round % 2 == 1 {
            v.reverse();
        }
    }
    v
}

/// Most keys per slice of a load phase (see [`run_keyset`]).
pub const LOAD_SLICE: usize = 25_000;

/// Loads per index and round when the load is measured, by default (see
/// [`Config::load_passes`]).
pub const LOAD_PASSES: usize = 1;

/// Most operations per slice of a workload phase (see [`run_keyset`]).
pub const PHASE_SLICE: usize = 10_000;

/// Slices of a phase of `n` operations: at least two (so that two indexes
/// run ABBA within a round), at most `per` operations each, never more
/// slices than operations.
pub fn slice_count(n: usize, per: usize) -> usize {
    n.div_ceil(per).max(2).min(n.max(1))
}

/// In a gated run, announces the next timed slice on stdout
/// (`gate <label>`) and waits for a line on stdin before it starts; a
/// no-op otherwise. `index-bench ab` drives two builds this way, slice by
/// slice, so that each build's slice runs right before or after the
/// other's while the other waits. At the end of stdin it runs on.
pub fn gate(cfg: &Config, label: impl FnOnce() -> String) {
    if !cfg.gated {
        return;
    }
    use std::io::{BufRead as _, Write as _};
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "gate {}", label());
    let _ = out.flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

/// The pass of median time among an index's load passes (the faster of
/// the middle two for an even count); `None` for none.
fn median_pass(mut passes: Vec<Measured>) -> Option<Measured> {
    if passes.is_empty() {
        return None;
    }
    passes.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    Some(passes.swap_remove((passes.len() - 1) / 2))
}

/// Adds a slice's measurement to a phase's total.
fn add_to(total: &mut Option<Measured>, m: Measured) {
    match total {
        Some(t) => t.add(m),
        None => *total = Some(m),
    }
}

/// Memory a phase of `ops` operations may allocate: room for every op to
/// write a new entry (key, value and a node's overhead).
fn phase_bytes(ks: &KeySet, ops: usize, value_size: usize) -> usize {
    let key = ks.avg_key_len().ceil() as usize;
    ops.saturating_mul(key + value_size + 96)
}

/// What the load of one contender will allocate, from its bytes per entry
/// (a quarter more for growth, plus slack).
fn load_bytes(bpe: f64, entries: usize) -> usize {
    let b = if bpe.is_finite() && bpe > 0.0 {
        bpe
    } else {
        64.0
    };
    (b * 1.25 * entries as f64) as usize + (8 << 20)
}

/// Runs `workloads` on every contender for one key set: for each thread
/// count and repeat, one *round* that loads every contender (each a fresh
/// index), then runs each workload on each of them in turn. Every phase
/// (the load, each workload) runs in [`slice_count`] slices, each slice on every index
/// in turn, so that the measurements a ratio compares are interleaved in
/// time and a drift of the machine cancels out. The order of the
/// contenders changes from round to round ([`Order`]); every measured phase
/// starts on warm memory ([`crate::warm`]). `tick` is called once per
/// contender and round.
pub fn run_keyset(
    cfg: &Config,
    ks: &KeySet,
    workloads: &[Workload],
    contenders: &mut [Box<dyn Contender>],
    tick: &dyn Fn(String),
) -> Vec<Row> {
    let mut rows = Vec::new();
    let value_a = vec![0xA5u8; cfg.value_size];
    let value_b = vec![0x5Au8; cfg.value_size];
    let live: Vec<usize> = (0..contenders.len())
        .filter(|&i| contenders[i].supports(Workload::Load, ks, cfg.value_size))
        .collect();
    let bpe: Vec<f64> = contenders
        .iter()
        .map(|c| {
            if c.supports(Workload::Load, ks, cfg.value_size) {
                c.bytes_per_entry(ks, &value_a)
            } else {
                f64::NAN
            }
        })
        .collect();
    let has = |w: Workload| workloads.contains(&w);
    let phase = phase_bytes(ks, cfg.ops, cfg.value_size);
    let prefault = |bytes: usize| {
        if cfg.warm {
            warm::prefault(bytes);
        }
    };
    let trim = || {
        if cfg.warm {
            warm::trim();
        }
    };
    let mut round = 0;
    for &threads in &cfg.threads {
        for repeat in 0..cfg.repeat {
            let seed = cfg.seed ^ (repeat as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let order: Vec<usize> = round_order(live.len(), round, cfg.order)
                .into_iter()
                .map(|i| live[i])
                .collect();
            let mut push = |c: &dyn Contender,
                            w: Workload,
                            m: &Measured,
                            entries: usize,
                            verified: String,
                            bpe: f64| {
                rows.push(row(
                    cfg, c, w, ks, threads, repeat, entries, m, verified, bpe,
                ));
            };
            // The load runs in slices, each slice on every index in turn,
            // in an order that changes from slice to slice (ABBA for two
            // slices), so that a drift or a slow spell of the machine
            // during a long load falls on every index alike. When the load
            // is measured it may run `load_passes` times, each pass on
            // fresh indexes, and each index's figure is then its pass of
            // median time, so that a stall of the host (milliseconds, which
            // a load of 100,000 keys in 5-50 ms cannot absorb) sets one
            // pass aside instead of the round's figure
            // (`docs/index-bench.md`, *Stalls of milliseconds on loads*).
            let passes = if has(Workload::Load) {
                cfg.load_passes.max(1)
            } else {
                1
            };
            let slices = slice_count(ks.loaded, cfg.load_slice);
            let mut passed: Vec<Vec<Measured>> =
                (0..contenders.len()).map(|_| Vec::new()).collect();
            for pass in 0..passes {
                if pass > 0 {
                    for &i in &order {
                        contenders[i].clear();
                    }
                }
                trim();
                for &i in &order {
                    contenders[i].fresh();
                }
                let mut loads: Vec<Option<Measured>> =
                    (0..contenders.len()).map(|_| None).collect();
                for slice in 0..slices {
                    let range = (ks.loaded * slice / slices, ks.loaded * (slice + 1) / slices);
                    let turn = (round * passes + pass) * slices + slice;
                    for j in round_order(live.len(), turn, cfg.order) {
                        let i = live[j];
                        gate(cfg, || {
                            let p = if passes > 1 {
                                format!(" p={pass}/{passes}")
                            } else {
                                String::new()
                            };
                            format!(
                                "{} load {} t={threads} r={repeat}{p} s={slice}/{slices}",
                                contenders[i].name(),
                                ks.kind.name()
                            )
                        });
                        prefault(load_bytes(bpe[i], range.1 - range.0));
                        let m = contenders[i].load(ks, range, threads, &value_a, cfg.latency_every);
                        add_to(&mut loads[i], m);
                    }
                }
                for &i in &order {
                    passed[i].push(loads[i].take().expect("every live contender loaded"));
                }
            }
            let mut loads: Vec<Option<Measured>> = passed.into_iter().map(median_pass).collect();
            for &i in &order {
                let c = &contenders[i];
                let m = loads[i].take().expect("every live contender loaded");
                let len = c.len();
                let verified = if len == ks.loaded {
                    "ok".to_string()
                } else {
                    format!("FAILED: len() is {len} after loading {} keys", ks.loaded)
                };
                if has(Workload::Load) {
                    push(&**c, Workload::Load, &m, 0, verified, bpe[i]);
                }
            }
            for &w in workloads {
                if !w.is_planned() {
                    continue;
                }
                let p = plan(w, ks, threads, cfg.ops, seed);
                let slices = slice_count(ops_for(w, cfg.ops), cfg.phase_slice);
                let mut runs: Vec<Option<Measured>> = (0..contenders.len()).map(|_| None).collect();
                for slice in 0..slices {
                    for j in round_order(live.len(), round * slices + slice, cfg.order) {
                        let i = live[j];
                        if !contenders[i].supports(w, ks, cfg.value_size) {
                            continue;
                        }
                        gate(cfg, || {
                            format!(
                                "{} {w} {} t={threads} r={repeat} s={slice}/{slices}",
                                contenders[i].name(),
                                ks.kind.name()
                            )
                        });
                        prefault(phase / slices);
                        let m = contenders[i].drive(
                            ks,
                            &p,
                            (slice, slices),
                            [&value_a, &value_b],
                            cfg.latency_every,
                        );
                        add_to(&mut runs[i], m);
                    }
                }
                for &i in &order {
                    if let Some(m) = runs[i].take() {
                        let c = &*contenders[i];
                        let verified = verify(w, &m, p.prefix_entries);
                        push(c, w, &m, ks.loaded, verified, f64::NAN);
                    }
                }
            }
            // The workloads the runner drives itself on the loaded index.
            for w in [Workload::Snapshot, Workload::ReadMostly] {
                if !has(w) || (w == Workload::ReadMostly && threads < 2) {
                    continue;
                }
                for &i in &order {
                    let c = &contenders[i];
                    if !c.supports(w, ks, cfg.value_size) {
                        continue;
                    }
                    gate(cfg, || {
                        format!("{} {w} {} t={threads} r={repeat}", c.name(), ks.kind.name())
                    });
                    prefault(phase);
                    let (m, verified) = if w == Workload::Snapshot {
                        let m = c.snapshot(ks, cfg, threads, &value_b, seed);
                        let verified = if m.scans > 0 && m.scanned >= m.scans {
                            "ok".to_string()
                        } else {
                            format!(
                                "FAILED: {} snapshot scans visited {} entries",
                                m.scans, m.scanned
                            )
                        };
                        (m, verified)
                    } else {
                        let m = c.read_mostly(ks, cfg, threads, &value_b, seed);
                        let verified = verify(w, &m, 0);
                        (m, verified)
                    };
                    push(&**c, w, &m, ks.loaded, verified, f64::NAN);
                }
            }
            for &i in &order {
                contenders[i].clear();
            }
            if has(Workload::Memtable) {
                trim();
                for &i in &order {
                    let c = &mut contenders[i];
                    gate(cfg, || {
                        format!(
                            "{} memtable {} t={threads} r={repeat}",
                            c.name(),
                            ks.kind.name()
                        )
                    });
                    prefault(load_bytes(bpe[i], ks.loaded));
                    let (m, n) = c.memtable(ks, threads, &value_a, cfg.latency_every);
                    let verified = if n == ks.loaded {
                        "ok".to_string()
                    } else {
                        format!("FAILED: flush visited {n} of {} entries", ks.loaded)
                    };
                    push(&**c, Workload::Memtable, &m, 0, verified, f64::NAN);
                }
            }
            round += 1;
            for &i in &order {
                tick(format!(
                    "{} {} t={threads} #{repeat}",
                    contenders[i].name(),
                    ks.kind.name()
                ));
            }
        }
    }
    rows
}

/// One CSV row from a measurement.
#[allow(clippy::too_many_arguments)]
fn row(
    cfg: &Config,
    c: &dyn Contender,
    w: Workload,
    ks: &KeySet,
    threads: usize,
    repeat: usize,
    entries: usize,
    m: &Measured,
    verified: String,
    bpe: f64,
) -> Row {
    let q = |p: f64| m.hist.value_at_quantile(p);
    let is_null = c.name() == "null";
    let per_op = |n: u64| {
        cfg.contention.then(|| {
            if c.counts_contention() {
                n as f64 / m.ops.max(1) as f64
            } else {
                f64::NAN
            }
        })
    };
    Row {
        run: cfg.run.clone(),
        index: c.name().to_string(),
        ordex: c.ordex(),
        workload: w.name().to_string(),
        keyset: ks.kind.name().to_string(),
        value_size: cfg.value_size,
        threads,
        oversubscribed: threads > cfg.cores,
        repeat,
        entries,
        ops: m.ops,
        seconds: m.seconds,
        mops: m.ops as f64 / m.seconds / 1e6,
        p50_ns: q(0.5),
        p90_ns: q(0.9),
        p99_ns: q(0.99),
        p999_ns: q(0.999),
        max_ns: m.hist.max(),
        bytes_per_entry: bpe,
        verified: if is_null { "n/a".into() } else { verified },
        restarts_per_op: per_op(m.restarts),
        waits_per_op: per_op(m.waits),
    }
}

/// `prefix_entries`: the loaded keys the plan's prefix scans meet (see
/// [`Plan::prefix_entries`](crate::workload::Plan::prefix_entries)).
fn verify(w: Workload, m: &Measured, prefix_entries: u64) -> String {
    if m.hits != m.reads {
        return format!(
            "FAILED: {} of {} reads missed keys that are present",
            m.reads - m.hits,
            m.reads
        );
    }
    if matches!(w, Workload::E | Workload::Scan | Workload::Cursor)
        && (m.scanned < m.scans || m.scanned > m.scan_requested)
    {
        let what = if w == Workload::Cursor {
            "cursor walks"
        } else {
            "scans"
        };
        return format!(
            "FAILED: {} {what} from present keys visited {} entries ({} requested)",
            m.scans, m.scanned, m.scan_requested
        );
    }
    // Inserts of other workloads may add keys under a prefix, never take
    // one away.
    if w == Workload::Prefix && m.scanned < prefix_entries {
        return format!(
            "FAILED: {} prefix scans visited {} entries, of {} loaded keys that share their prefixes",
            m.scans, m.scanned, prefix_entries
        );
    }
    "ok".into()
}

/// Readers take snapshots and scan 100 entries while writers update
/// uniformly random keys. With one thread, it alternates one snapshot scan
/// and ten updates. Counts scans and updates as operations.
fn snapshot_workload<I: BenchIndex>(
    index: &I,
    ks: &KeySet,
    threads: usize,
    ops: usize,
    value: &[u8],
    seed: u64,
    every: usize,
) -> Measured {
    let writers = threads / 2;
    let readers = threads - writers;
    let scans_per_reader = (ops / 100 / readers).max(1);
    let readers_left = AtomicUsize::new(readers);
    let loaded = ks.loaded as u64;
    let results = parallel(threads, |t| {
        let mut rng = crate::dist::SplitMix64::new(seed ^ t as u64);
        let mut r = ThreadResult::default();
        let mut hist = new_hist();
        let before = ThreadResult::counters();
        let start = Instant::now();
        if t < readers {
            for i in 0..scans_per_reader {
                let k = key_of(ks, rng.below(loaded) as usize);
                let t0 = Instant::now();
                r.scanned += index.snapshot_scan(k, 100).unwrap_or(0) as u64;
                if i % every.max(1) == 0 {
                    let _ = hist.record(t0.elapsed().as_nanos().max(1) as u64);
                }
                r.scans += 1;
                r.ops += 1;
                if writers == 0 {
                    for _ in 0..10 {
                        index.insert(key_of(ks, rng.below(loaded) as usize), value);
                        r.ops += 1;
                    }
                }
            }
            readers_left.fetch_sub(1, Ordering::Release);
        } else {
            while readers_left.load(Ordering::Acquire) > 0 {
                for _ in 0..64 {
                    index.insert(key_of(ks, rng.below(loaded) as usize), value);
                }
                r.ops += 64;
            }
        }
        r.start = Some(start);
        r.end = Some(Instant::now());
        r.counted_since(before);
        r.hist = Some(hist);
        r
    });
    merge(results)
}

/// One writer updates uniformly random loaded keys without pause while
/// `threads - 1` readers run uniform reads (the `read-uniform` stream, so
/// the two workloads' reads compare); the writer stops when the last reader
/// is done. Only the readers' reads count as operations, and the time is
/// the readers'. Needs 2 threads or more.
fn read_mostly_workload<I: BenchIndex>(
    index: &I,
    ks: &KeySet,
    threads: usize,
    ops: usize,
    value: &[u8],
    seed: u64,
    every: usize,
) -> Measured {
    assert!(threads >= 2, "read-mostly needs a reader and a writer");
    let readers = threads - 1;
    let p = crate::workload::plan(Workload::ReadUniform, ks, readers, ops, seed);
    let readers_left = AtomicUsize::new(readers);
    let loaded = ks.loaded as u64;
    merge(parallel(threads, |t| {
        if t < readers {
            let r = drive(index, ks, &p.streams[t], [value, value], every);
            readers_left.fetch_sub(1, Ordering::Release);
            r
        } else {
            let mut rng = crate::dist::SplitMix64::new(seed ^ 0x5752_4954_4552);
            while readers_left.load(Ordering::Acquire) > 0 {
                for _ in 0..16 {
                    index.insert(key_of(ks, rng.below(loaded) as usize), value);
                }
            }
            // Neither its writes nor its time count: the figure is the
            // readers' throughput beside it.
            ThreadResult::default()
        }
    }))
}

/// What `advise` measures for one backend.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// Median throughput, Mops/s.
    pub mops: f64,
    /// Median p99 latency, ns.
    pub p99_ns: u64,
    /// Bytes per entry after load (see [`bytes_per_entry`]).
    pub bytes_per_entry: f64,
    /// Whether every read of a present key hit.
    pub verified: bool,
}

/// Loads the key set and runs a custom mix `repeat` times on a fresh index
/// each time; returns medians.
pub fn calibrate<I: BenchIndex>(
    mix: crate::workload::Mix,
    ks: &KeySet,
    threads: usize,
    ops: usize,
    value_size: usize,
    repeat: usize,
    seed: u64,
) -> Calibration {
    let value_a = vec![0xA5u8; value_size];
    let value_b = vec![0x5Au8; value_size];
    let bpe = bytes_per_entry::<I>(ks, &value_a);
    let mut mops = Vec::new();
    let mut p99 = Vec::new();
    let mut verified = true;
    for r in 0..repeat.max(1) {
        let index = I::new();
        load(&index, ks, 0, ks.loaded, threads, &value_a, 64);
        let p = crate::workload::plan_mix(mix, ks, threads, ops, seed ^ r as u64);
        let m = merge(parallel(threads, |t| {
            drive(&index, ks, &p.streams[t], [&value_a, &value_b], 16)
        }));
        verified &= m.hits == m.reads;
        mops.push(m.ops as f64 / m.seconds / 1e6);
        p99.push(m.hist.value_at_quantile(0.99));
    }
    mops.sort_by(f64::total_cmp);
    p99.sort_unstable();
    Calibration {
        mops: mops[mops.len() / 2],
        p99_ns: p99[p99.len() / 2],
        bytes_per_entry: bpe,
        verified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small run's configuration: `threads` threads, `ops` operations,
    /// one repeat, seed `seed`, the default slices, nothing gated.
    fn small(threads: usize, ops: usize, seed: u64) -> Config {
        Config {
            run: "t".into(),
            threads: vec![threads],
            ops,
            value_size: 8,
            repeat: 1,
            seed,
            latency_every: 16,
            cores: 2,
            order: Order::Rotate,
            warm: false,
            load_slice: LOAD_SLICE,
            load_passes: 1,
            phase_slice: PHASE_SLICE,
            gated: false,
            contention: false,
        }
    }
    use crate::keys::KeySetKind;
    use std::sync::{Arc, Mutex};

    #[test]
    fn round_orders_are_permutations_that_rotate() {
        for n in 1..6 {
            for round in 0..12 {
                let mut o = round_order(n, round, Order::Rotate);
                o.sort_unstable();
                assert_eq!(o, (0..n).collect::<Vec<_>>());
                assert_eq!(
                    round_order(n, round, Order::Given),
                    (0..n).collect::<Vec<_>>()
                );
            }
            // Over 2n rounds every index goes first, and last, twice.
            let firsts: Vec<usize> = (0..2 * n)
                .map(|r| round_order(n, r, Order::Rotate)[0])
                .collect();
            for i in 0..n {
                assert_eq!(firsts.iter().filter(|&&f| f == i).count(), 2, "n={n}");
            }
        }
        // Two indexes run ABBA.
        let two: Vec<Vec<usize>> = (0..4).map(|r| round_order(2, r, Order::Rotate)).collect();
        assert_eq!(two, [[0, 1], [1, 0], [1, 0], [0, 1]]);
        // Three run all six orders in six rounds.
        let mut six: Vec<Vec<usize>> = (0..6).map(|r| round_order(3, r, Order::Rotate)).collect();
        six.sort();
        six.dedup();
        assert_eq!(six.len(), 6);
        assert!(round_order(0, 3, Order::Rotate).is_empty());
    }

    #[test]
    fn slices_are_at_least_two_and_at_most_per() {
        assert_eq!(slice_count(100_000, 100_000), 2);
        assert_eq!(slice_count(1_000_000, 100_000), 10);
        assert_eq!(slice_count(1_000_001, 100_000), 11);
        assert_eq!(slice_count(1, 100), 1);
        assert_eq!(slice_count(0, 100), 1);
        assert_eq!(slice_count(50_000, 10_000), 5);
    }

    /// With several load passes a round still gives one load figure per
    /// index, the pass of median time, and the workloads run on a fully
    /// loaded index (the last pass's).
    #[test]
    fn load_passes_give_one_figure_per_round_and_a_loaded_index() {
        use crate::adapters::ordex_index::Ordex;
        let ks = KeySet::generate(KeySetKind::U64Random, 3000, 100, 5);
        let mut cfg = small(1, 1000, 5);
        cfg.load_passes = 3;
        cfg.repeat = 2;
        let mut contenders = vec![contender::<Ordex<ordex_core::reference::LockedBTreeMap>>()];
        let rows = run_keyset(
            &cfg,
            &ks,
            &[Workload::Load, Workload::ReadUniform],
            &mut contenders,
            &|_| {},
        );
        let loads: Vec<_> = rows.iter().filter(|r| r.workload == "load").collect();
        assert_eq!(loads.len(), 2, "{rows:?}");
        assert!(loads.iter().all(|r| r.verified == "ok" && r.ops == 3000));
        let reads: Vec<_> = rows
            .iter()
            .filter(|r| r.workload == "read-uniform")
            .collect();
        assert_eq!(reads.len(), 2, "{rows:?}");
        assert!(reads.iter().all(|r| r.verified == "ok"), "{reads:?}");
    }

    #[test]
    fn the_median_pass_is_the_middle_time() {
        let pass = |seconds: f64| Measured {
            seconds,
            ..Measured::empty()
        };
        let times = |v: Vec<f64>| median_pass(v.into_iter().map(pass).collect()).map(|m| m.seconds);
        assert_eq!(times(vec![]), None);
        assert_eq!(times(vec![2.0]), Some(2.0));
        assert_eq!(times(vec![3.0, 1.0]), Some(1.0));
        assert_eq!(times(vec![5.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(times(vec![9.0, 1.0, 2.0, 4.0]), Some(2.0));
    }

    /// The cursor workload runs on every contender that walks both ways,
    /// one operation per walk of up to 100 entries each way, and skips
    /// the forward-only ones.
    #[test]
    fn cursor_walks_run_where_supported() {
        use crate::adapters::{congee::CongeeArt, ordex_index::Ordex};
        let ks = KeySet::generate(KeySetKind::U64Random, 2000, 100, 3);
        let cfg = small(2, 1000, 3);
        let mut contenders = vec![
            contender::<Ordex<ordex_core::reference::LockedBTreeMap>>(),
            contender::<CongeeArt>(),
        ];
        let rows = run_keyset(&cfg, &ks, &[Workload::Cursor], &mut contenders, &|_| {});
        assert_eq!(rows.len(), 1, "{rows:?}");
        let r = &rows[0];
        assert_eq!(
            (r.index.as_str(), r.workload.as_str()),
            ("ordex-reference", "cursor")
        );
        assert_eq!(r.ops, 100, "a tenth of the ops, one per walk");
        assert_eq!(r.verified, "ok");
        let p = plan(Workload::Cursor, &ks, 2, cfg.ops, 3);
        assert!(p
            .streams
            .iter()
            .flatten()
            .all(|op| op.kind == OpKind::Cursor && op.len == 100));
    }

    /// The read-mostly workload runs from 2 threads up: every read of the
    /// readers counts (and hits, while the writer rewrites those keys), the
    /// writer's updates do not; at 1 thread it gives no row.
    #[test]
    fn read_mostly_counts_the_readers_reads_beside_a_writer() {
        use crate::adapters::{imbl_ordmap::ImblOrdMap, ordex_index::Ordex};
        use ordex_persistent::PersistentBTree;
        let ks = KeySet::generate(KeySetKind::U64Random, 2000, 2000, 3);
        for threads in [1, 2, 3] {
            let cfg = small(threads, 6000, 3);
            let mut contenders = vec![
                contender::<Ordex<PersistentBTree>>(),
                contender::<ImblOrdMap>(),
            ];
            let rows = run_keyset(&cfg, &ks, &[Workload::ReadMostly], &mut contenders, &|_| {});
            if threads == 1 {
                assert!(rows.is_empty(), "{rows:?}");
                continue;
            }
            assert_eq!(rows.len(), 2, "{rows:?}");
            for r in &rows {
                assert_eq!((r.workload.as_str(), r.threads), ("read-mostly", threads));
                assert_eq!(r.ops, 6000, "the readers' reads, and only those: {r:?}");
                assert_eq!(r.verified, "ok", "{r:?}");
            }
        }
    }

    /// A mix runs on every upserting contender and verifies its reads; a
    /// run that records contention gives the indexes that count it their
    /// rates (and NaN to the others), a run that does not gives none.
    #[test]
    fn mixes_run_and_contention_is_recorded_when_asked() {
        use crate::adapters::{ordex_index::Ordex, rwlock_btreemap::RwLockBTreeMap};
        use ordex_btree::{BTree, GlobalLock};
        let ks = KeySet::generate(KeySetKind::U64Random, 2000, 2000, 3);
        for contention in [false, true] {
            let cfg = Config {
                contention,
                ..small(2, 4000, 3)
            };
            let mut contenders = vec![
                contender::<Ordex<BTree<GlobalLock>>>(),
                contender::<RwLockBTreeMap>(),
            ];
            let rows = run_keyset(&cfg, &ks, &[Workload::Mix(50)], &mut contenders, &|_| {});
            assert_eq!(rows.len(), 2, "{rows:?}");
            for r in &rows {
                assert_eq!((r.workload.as_str(), r.ops), ("mix-50", 4000));
                assert_eq!(r.verified, "ok", "{r:?}");
                let counted = r.index == "ordex-btree-global";
                match (contention, r.restarts_per_op, r.waits_per_op) {
                    (false, None, None) => {}
                    (true, Some(restarts), Some(waits)) if counted => {
                        assert_eq!(restarts, 0.0, "the global lock never restarts");
                        assert!(waits.is_finite() && waits >= 0.0);
                    }
                    (true, Some(restarts), Some(waits)) => {
                        assert!(restarts.is_nan() && waits.is_nan(), "{r:?}");
                    }
                    _ => panic!("contention {contention}: {r:?}"),
                }
            }
        }
    }

    /// A contender that records the phases it is asked to run.
    struct Recorder {
        name: &'static str,
        log: Arc<Mutex<Vec<String>>>,
        /// The end of the last range loaded: the keys it holds.
        loaded: std::cell::Cell<usize>,
    }

    impl Recorder {
        fn note(&self, what: String) -> Measured {
            self.log
                .lock()
                .unwrap()
                .push(format!("{} {what}", self.name));
            Measured {
                ops: 1,
                seconds: 1.0,
                ..Measured::empty()
            }
        }
    }

    impl Contender for Recorder {
        fn name(&self) -> &'static str {
            self.name
        }
        fn ordex(&self) -> bool {
            false
        }
        fn supports(&self, _: Workload, _: &KeySet, _: usize) -> bool {
            true
        }
        fn bytes_per_entry(&self, _: &KeySet, _: &[u8]) -> f64 {
            1.0
        }
        fn fresh(&mut self) {
            self.loaded.set(0);
        }
        fn load(
            &self,
            _: &KeySet,
            (lo, hi): (usize, usize),
            _: usize,
            _: &[u8],
            _: usize,
        ) -> Measured {
            self.loaded.set(hi);
            self.note(format!("load {lo}..{hi}"))
        }
        fn len(&self) -> usize {
            self.loaded.get()
        }
        fn drive(
            &self,
            _: &KeySet,
            p: &Plan,
            (s, n): (usize, usize),
            _: [&[u8]; 2],
            _: usize,
        ) -> Measured {
            self.note(format!("drive {} {s}/{n}", p.streams[0].len()))
        }
        fn snapshot(&self, _: &KeySet, _: &Config, _: usize, _: &[u8], _: u64) -> Measured {
            self.note("snapshot".into())
        }
        fn read_mostly(&self, _: &KeySet, _: &Config, _: usize, _: &[u8], _: u64) -> Measured {
            self.note("read-mostly".into())
        }
        fn memtable(&mut self, _: &KeySet, _: usize, _: &[u8], _: usize) -> (Measured, usize) {
            (self.note("memtable".into()), 0)
        }
        fn clear(&mut self) {}
    }

    /// A round measures every index once per phase, slice by slice, each
    /// slice on every index before the next slice starts, in an order that
    /// changes from slice to slice and from round to round.
    #[test]
    fn rounds_interleave_every_index_slice_by_slice() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut contenders: Vec<Box<dyn Contender>> = ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                Box::new(Recorder {
                    name,
                    log: log.clone(),
                    loaded: Default::default(),
                }) as Box<dyn Contender>
            })
            .collect();
        let ks = KeySet::generate(KeySetKind::U64Random, 1000, 100, 1);
        let cfg = Config {
            repeat: 2,
            load_slice: 400,
            load_passes: 1,
            phase_slice: 300,
            ..small(1, 900, 1)
        };
        let rows = run_keyset(
            &cfg,
            &ks,
            &[Workload::Load, Workload::C],
            &mut contenders,
            &|_| {},
        );
        // One row per index, workload and repeat, every load complete.
        assert_eq!(rows.len(), 3 * 2 * 2);
        assert!(rows.iter().all(|r| r.verified == "ok"), "{rows:?}");
        let log = log.lock().unwrap().clone();
        // Per round: 3 load slices and 3 workload slices, each on a, b, c.
        assert_eq!(log.len(), 2 * (3 + 3) * 3);
        for (chunk, group) in log.chunks(3).enumerate() {
            let mut names: Vec<&str> = group.iter().map(|l| &l[..1]).collect();
            let what: Vec<&str> = group.iter().map(|l| &l[2..]).collect();
            assert!(what.windows(2).all(|w| w[0] == w[1]), "{group:?}");
            names.sort_unstable();
            assert_eq!(names, ["a", "b", "c"], "slice {chunk}: {group:?}");
        }
        // The order changes from slice to slice.
        let firsts: Vec<&str> = log.chunks(3).map(|g| &g[0][..1]).collect();
        assert!(firsts.windows(2).any(|w| w[0] != w[1]), "{firsts:?}");
        assert!(log[0].ends_with("load 0..333"), "{}", log[0]);
        assert!(log[9].contains("drive 900 0/3"), "{}", log[9]);
    }
}
