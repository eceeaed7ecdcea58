//! Workloads and their operation streams, generated before timing.
//!
//! The YCSB core workloads (A–F, zipfian 0.99 scrambled; "latest" for D;
//! scans of uniform length 1–100 for E), uniform reads, reads of the newest
//! keys (what a table fed by timestamps or sequence numbers serves), scans
//! of 100 entries, the load phase, an LSM memtable workload and a snapshot
//! workload; and, on request only, cursor walks in both directions.

use crate::dist::{Latest, ScrambledZipfian, SplitMix64, Uniform};
use crate::keys::KeySet;
use std::fmt;
use std::str::FromStr;

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Insert every key of the key set (the YCSB load phase).
    Load,
    /// YCSB A: 50% reads, 50% updates, zipfian.
    A,
    /// YCSB B: 95% reads, 5% updates, zipfian.
    B,
    /// YCSB C: 100% reads, zipfian.
    C,
    /// YCSB D: 95% reads of the latest keys, 5% inserts of new keys.
    D,
    /// YCSB E: 95% scans of 1–100 entries from a zipfian key, 5% inserts.
    E,
    /// YCSB F: 50% reads, 50% read-modify-writes, zipfian.
    F,
    /// 100% reads, uniform over the loaded keys.
    ReadUniform,
    /// 100% reads, uniform over the newest 1% of the loaded keys (at least
    /// [`NEWEST_MIN`]): append, then read what was just written. With an
    /// ascending key set these are the largest keys, linked last.
    ReadNewest,
    /// 100% scans of 100 entries from a uniformly chosen loaded key.
    Scan,
    /// LSM memtable: threads insert fresh keys into a new index, then it is
    /// sealed (where the index supports it) and flushed: iterated in order.
    Memtable,
    /// Readers take snapshots and scan 100 entries while writers update.
    Snapshot,
    /// 100% cursor walks from a uniformly chosen loaded key: seek, 100
    /// entries forward, then 100 `prev` steps back from the last of them
    /// (see [`BenchIndex::cursor_walk`]). Ordex backends walk through
    /// `dyn Cursor`, peers with their own double-ended range iterators.
    /// Not in [`Workload::ALL`]: it runs only when named
    /// ([`Workload::ON_REQUEST`]).
    ///
    /// [`BenchIndex::cursor_walk`]: crate::adapter::BenchIndex::cursor_walk
    Cursor,
}

impl Workload {
    /// Every workload, in the order a run executes them.
    pub const ALL: [Workload; 12] = [
        Workload::Load,
        Workload::ReadNewest,
        Workload::C,
        Workload::B,
        Workload::A,
        Workload::F,
        Workload::ReadUniform,
        Workload::Scan,
        Workload::E,
        Workload::D,
        Workload::Snapshot,
        Workload::Memtable,
    ];

    /// Workloads that run only when named on the command line: not in
    /// [`Workload::ALL`], so neither the default suite nor a run that names
    /// only key sets includes them.
    pub const ON_REQUEST: [Workload; 1] = [Workload::Cursor];

    /// Every workload that can be named: [`Workload::ALL`], then
    /// [`Workload::ON_REQUEST`].
    pub fn named() -> impl Iterator<Item = Workload> {
        Workload::ALL.into_iter().chain(Workload::ON_REQUEST)
    }

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Workload::Load => "load",
            Workload::A => "ycsb-a",
            Workload::B => "ycsb-b",
            Workload::C => "ycsb-c",
            Workload::D => "ycsb-d",
            Workload::E => "ycsb-e",
            Workload::F => "ycsb-f",
            Workload::ReadUniform => "read-uniform",
            Workload::ReadNewest => "read-newest",
            Workload::Scan => "scan",
            Workload::Memtable => "memtable",
            Workload::Snapshot => "snapshot",
            Workload::Cursor => "cursor",
        }
    }

    /// One line describing the mix.
    pub const fn describe(self) -> &'static str {
        match self {
            Workload::Load => "insert every key (load phase)",
            Workload::A => "50% read, 50% update; zipfian 0.99 scrambled",
            Workload::B => "95% read, 5% update; zipfian 0.99 scrambled",
            Workload::C => "100% read; zipfian 0.99 scrambled",
            Workload::D => "95% read of the latest keys, 5% insert of new keys",
            Workload::E => "95% scan of 1-100 entries from a zipfian key, 5% insert",
            Workload::F => "50% read, 50% read-modify-write; zipfian 0.99 scrambled",
            Workload::ReadUniform => "100% read; uniform",
            Workload::ReadNewest => "100% read; uniform over the newest 1% of the loaded keys",
            Workload::Scan => "100% scan of 100 entries from a uniform key",
            Workload::Memtable => {
                "concurrent inserts into a fresh index, seal, flush-iterate in order"
            }
            Workload::Snapshot => "readers snapshot and scan 100 entries while writers update",
            Workload::Cursor => {
                "100% cursor walk from a uniform key: seek, 100 entries forward, 100 prev steps back"
            }
        }
    }
}

impl Workload {
    /// Whether the workload is a stream of operations made by [`plan`]
    /// (every workload but `load`, `memtable` and `snapshot`, which the
    /// runner drives itself).
    pub const fn is_planned(self) -> bool {
        !matches!(
            self,
            Workload::Load | Workload::Memtable | Workload::Snapshot
        )
    }
}

/// The fewest keys [`Workload::ReadNewest`] reads among (all of them if
/// fewer are loaded).
pub const NEWEST_MIN: usize = 1000;

/// How many of the loaded keys count as the newest for
/// [`Workload::ReadNewest`].
pub fn newest_count(loaded: usize) -> usize {
    (loaded / 100).max(NEWEST_MIN).min(loaded)
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let short = s.strip_prefix("ycsb-").unwrap_or(&s);
        Workload::named()
            .find(|w| w.name() == s || (w.name().starts_with("ycsb-") && &w.name()[5..] == short))
            .ok_or_else(|| {
                format!(
                    "unknown workload {s:?}; expected one of: {}",
                    Workload::named()
                        .map(|w| w.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Point read.
    Read,
    /// Overwrite of an existing key.
    Update,
    /// Insert of a new key.
    Insert,
    /// Scan of `len` entries.
    Scan,
    /// Read, then write the key back.
    ReadModifyWrite,
    /// Cursor walk of `len` entries forward, then `len` steps back.
    Cursor,
}

/// One pre-generated operation: 8 bytes, so streams stay cache-friendly.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    /// Index into the key set's keys.
    pub key: u32,
    /// Scan length.
    pub len: u8,
    /// What to do.
    pub kind: OpKind,
}

/// Per-thread operation streams for one workload.
#[derive(Debug)]
pub struct Plan {
    /// One stream per thread.
    pub streams: Vec<Vec<Op>>,
}

/// The keys of `ks` reserved for inserts by workload `w` (disjoint between
/// D and E, so that every key they insert is new).
fn fresh_region(ks: &KeySet, w: Workload) -> (usize, usize) {
    let fresh = ks.keys.len() - ks.loaded;
    let half = fresh / 2;
    match w {
        Workload::D => (ks.loaded, ks.loaded + half),
        _ => (ks.loaded + half, ks.keys.len()),
    }
}

/// Fresh keys each of `threads` threads may insert for D and E: enough for
/// 5% of `ops` plus slack.
pub fn fresh_needed(ops: usize) -> usize {
    2 * (ops / 20 + 1024)
}

/// Thread `t`'s share of keys `lo..hi`, interleaved (key `lo + t`, then
/// `lo + t + threads`, …) so that with monotonic keys all threads insert
/// near the same end, as a time-ordered workload does.
pub fn interleaved(
    lo: usize,
    hi: usize,
    t: usize,
    threads: usize,
) -> impl Iterator<Item = usize> + Clone {
    (lo + t..hi).step_by(threads)
}

/// Operations of workload `w` in a phase of `ops`: scan workloads (and
/// cursor walks) run a tenth as many, since each of their operations visits
/// up to 100 entries (a cursor walk up to 100 each way).
pub fn ops_for(w: Workload, ops: usize) -> usize {
    match w {
        Workload::Scan | Workload::E | Workload::Cursor => ops.div_ceil(10),
        _ => ops,
    }
}

/// Generates the per-thread streams of `w` (not for `Load`, `Memtable`
/// and `Snapshot`, which the runner drives directly), [`ops_for`]`(w, ops)`
/// operations in all.
pub fn plan(w: Workload, ks: &KeySet, threads: usize, ops: usize, seed: u64) -> Plan {
    let loaded = ks.loaded as u64;
    let per_thread = ops_for(w, ops).div_ceil(threads);
    let (flo, fhi) = fresh_region(ks, w);
    let streams = (0..threads)
        .map(|t| {
            let mut rng = SplitMix64::new(seed ^ ((t as u64 + 1) << 32) ^ w as u64);
            let mut zipf = ScrambledZipfian::new(loaded);
            let mut uniform = Uniform::new(loaded);
            let mut latest = Latest::new(loaded - 1);
            let mut newest = Uniform::new(newest_count(ks.loaded) as u64);
            let mut mine = interleaved(flo, fhi, t, threads).cycle();
            let mut inserted: Vec<u32> = Vec::new();
            let mut out = Vec::with_capacity(per_thread);
            for _ in 0..per_thread {
                let roll = rng.below(100);
                let zipf_key = |z: &mut ScrambledZipfian, rng: &mut SplitMix64| z.next(rng) as u32;
                let op = match w {
                    Workload::A | Workload::B => {
                        let read = if w == Workload::A { 50 } else { 95 };
                        let kind = if roll < read {
                            OpKind::Read
                        } else {
                            OpKind::Update
                        };
                        Op {
                            key: zipf_key(&mut zipf, &mut rng),
                            len: 0,
                            kind,
                        }
                    }
                    Workload::C => Op {
                        key: zipf_key(&mut zipf, &mut rng),
                        len: 0,
                        kind: OpKind::Read,
                    },
                    Workload::F => {
                        let kind = if roll < 50 {
                            OpKind::Read
                        } else {
                            OpKind::ReadModifyWrite
                        };
                        Op {
                            key: zipf_key(&mut zipf, &mut rng),
                            len: 0,
                            kind,
                        }
                    }
                    Workload::ReadUniform => Op {
                        key: uniform.next(&mut rng) as u32,
                        len: 0,
                        kind: OpKind::Read,
                    },
                    Workload::ReadNewest => Op {
                        key: (loaded - 1 - newest.next(&mut rng)) as u32,
                        len: 0,
                        kind: OpKind::Read,
                    },
                    Workload::Scan => Op {
                        key: uniform.next(&mut rng) as u32,
                        len: 100,
                        kind: OpKind::Scan,
                    },
                    Workload::Cursor => Op {
                        key: uniform.next(&mut rng) as u32,
                        len: 100,
                        kind: OpKind::Cursor,
                    },
                    Workload::D => {
                        if roll < 95 {
                            // Latest: recency over the loaded keys (in load order)
                            // followed by this thread's own inserts.
                            let total = loaded + inserted.len() as u64;
                            latest.set_max(total - 1);
                            let item = latest.next(&mut rng).min(total - 1);
                            let key = if item >= loaded {
                                inserted[(item - loaded) as usize]
                            } else {
                                item as u32
                            };
                            Op {
                                key,
                                len: 0,
                                kind: OpKind::Read,
                            }
                        } else {
                            let key = mine.next().unwrap_or(0) as u32;
                            inserted.push(key);
                            Op {
                                key,
                                len: 0,
                                kind: OpKind::Insert,
                            }
                        }
                    }
                    Workload::E => {
                        if roll < 95 {
                            let len = 1 + rng.below(100) as u8;
                            Op {
                                key: zipf_key(&mut zipf, &mut rng),
                                len,
                                kind: OpKind::Scan,
                            }
                        } else {
                            Op {
                                key: mine.next().unwrap_or(0) as u32,
                                len: 0,
                                kind: OpKind::Insert,
                            }
                        }
                    }
                    Workload::Load | Workload::Memtable | Workload::Snapshot => {
                        unreachable!("{w} is driven by the runner")
                    }
                };
                out.push(op);
            }
            out
        })
        .collect();
    Plan { streams }
}

/// A custom operation mix, in percent (for `advise`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    /// Point reads.
    pub read: u32,
    /// Overwrites of existing keys.
    pub update: u32,
    /// Inserts of new keys.
    pub insert: u32,
    /// Scans.
    pub scan: u32,
    /// Scan length (entries).
    pub scan_len: u8,
    /// Zipfian (scrambled, 0.99) instead of uniform key choice.
    pub zipfian: bool,
}

/// Per-thread streams of a custom mix; inserts take fresh keys from the
/// key set (as workload E does).
pub fn plan_mix(mix: Mix, ks: &KeySet, threads: usize, ops: usize, seed: u64) -> Plan {
    let loaded = ks.loaded as u64;
    let total = (mix.read + mix.update + mix.insert + mix.scan).max(1) as u64;
    let per_thread = ops.div_ceil(threads);
    let (flo, fhi) = (ks.loaded, ks.keys.len());
    let streams = (0..threads)
        .map(|t| {
            let mut rng = SplitMix64::new(seed ^ ((t as u64 + 7) << 40));
            let mut zipf = ScrambledZipfian::new(loaded);
            let mut uniform = Uniform::new(loaded);
            let mut fresh = interleaved(flo, fhi, t, threads).cycle();
            (0..per_thread)
                .map(|_| {
                    let roll = rng.below(total) as u32;
                    let key = if mix.zipfian {
                        zipf.next(&mut rng)
                    } else {
                        uniform.next(&mut rng)
                    } as u32;
                    if roll < mix.read {
                        Op {
                            key,
                            len: 0,
                            kind: OpKind::Read,
                        }
                    } else if roll < mix.read + mix.update {
                        Op {
                            key,
                            len: 0,
                            kind: OpKind::Update,
                        }
                    } else if roll < mix.read + mix.update + mix.insert {
                        Op {
                            key: fresh.next().unwrap_or(0) as u32,
                            len: 0,
                            kind: OpKind::Insert,
                        }
                    } else {
                        Op {
                            key,
                            len: mix.scan_len.max(1),
                            kind: OpKind::Scan,
                        }
                    }
                })
                .collect()
        })
        .collect();
    Plan { streams }
}
