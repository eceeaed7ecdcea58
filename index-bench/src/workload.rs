//! Workloads and their operation streams, generated before timing.
//!
//! The YCSB core workloads (A–F, zipfian 0.99 scrambled; "latest" for D;
//! scans of uniform length 1–100 for E), uniform reads, reads of the newest
//! keys (what a table fed by timestamps or sequence numbers serves), scans
//! of 100 entries, the load phase, an LSM memtable workload and a snapshot
//! workload; and, on request only, cursor walks in both directions and
//! uniform read/upsert mixes at any read fraction (`mix-<r>`, the sweep of
//! `index-bench techniques`).

use crate::dist::{Latest, ScrambledZipfian, SplitMix64, Uniform};
use crate::keys::KeySet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

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
    /// Read-mostly: one writer updates uniformly random loaded keys without
    /// pause (each write published on its own) while the other threads read
    /// uniformly random loaded keys; only the reads count as operations.
    /// Runs at 2 threads and more, so `read-mostly` at `t` threads set
    /// against `read-uniform` at `t - 1` says what a writer costs the
    /// readers beside it.
    ReadMostly,
    /// 100% cursor walks from a uniformly chosen loaded key: seek, 100
    /// entries forward, then 100 `prev` steps back from the last of them
    /// (see [`BenchIndex::cursor_walk`]). Ordex backends walk through
    /// `dyn Cursor`, peers with their own double-ended range iterators.
    /// Not in [`Workload::ALL`]: it runs only when named
    /// ([`Workload::ON_REQUEST`]).
    ///
    /// [`BenchIndex::cursor_walk`]: crate::adapter::BenchIndex::cursor_walk
    Cursor,
    /// 100% prefix scans: every key that starts with a prefix of a
    /// uniformly chosen loaded key, as long as it shares with the key 100
    /// places after it in key order (so at least 101 keys share it, but
    /// near the end), lengthened one byte at a time while more than
    /// [`PREFIX_MAX`] share it (then fewer may: [`prefix_len`]). Ordex backends scan with
    /// `OrderedIndexExt::scan_prefix`, peers with their range iterators
    /// cut where the prefix ends (`BTreeMap::range`, for `RwLock<BTreeMap>`).
    /// Byte-key indexes only; runs only when named
    /// ([`Workload::ON_REQUEST`]).
    Prefix,
    /// `mix-<r>`: `r`% reads of a uniformly chosen loaded key (`r` ≤ 100;
    /// [`Workload::mix`] checks), the rest upserts of a key drawn uniformly
    /// from twice the loaded keys ([`mix_space`]: the loaded ones and as
    /// many fresh ones), so that at first half the writes insert new keys
    /// and nodes split. The read/write sweep of `index-bench techniques`;
    /// runs only when named.
    Mix(u8),
}

/// The names `mix-0` … `mix-100`, made once ([`Workload::name`] returns
/// `&'static str`).
static MIX_NAMES: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..=100).map(|r| format!("mix-{r}")).collect());

impl Workload {
    /// Every workload, in the order a run executes them.
    pub const ALL: [Workload; 13] = [
        Workload::Load,
        Workload::ReadNewest,
        Workload::C,
        Workload::B,
        Workload::A,
        Workload::F,
        Workload::ReadUniform,
        Workload::ReadMostly,
        Workload::Scan,
        Workload::E,
        Workload::D,
        Workload::Snapshot,
        Workload::Memtable,
    ];

    /// Workloads that run only when named on the command line: not in
    /// [`Workload::ALL`], so neither the default suite nor a run that names
    /// only key sets includes them.
    pub const ON_REQUEST: [Workload; 2] = [Workload::Cursor, Workload::Prefix];

    /// Every workload that can be named but the mixes: [`Workload::ALL`],
    /// then [`Workload::ON_REQUEST`].
    pub fn named() -> impl Iterator<Item = Workload> {
        Workload::ALL.into_iter().chain(Workload::ON_REQUEST)
    }

    /// The read/upsert mix with `read_pct`% reads ([`Workload::Mix`]), or
    /// an error above 100.
    pub fn mix(read_pct: u32) -> Result<Workload, String> {
        match u8::try_from(read_pct) {
            Ok(r) if r <= 100 => Ok(Workload::Mix(r)),
            _ => Err(format!("a mix reads at most 100%, not {read_pct}%")),
        }
    }

    /// The read percentage of a [`Workload::Mix`] (`None` for the others).
    pub const fn read_pct(self) -> Option<u8> {
        match self {
            Workload::Mix(r) => Some(r),
            _ => None,
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
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
            Workload::ReadMostly => "read-mostly",
            Workload::Cursor => "cursor",
            Workload::Prefix => "prefix",
            Workload::Mix(r) => &MIX_NAMES[usize::from(r)],
        }
    }

    /// A number that tells the workloads' operation streams apart (in the
    /// seed of [`plan`]): the order of declaration for the fieldless
    /// workloads (what `as u64` gave them), 256 + `r` for `mix-<r>`.
    const fn stream(self) -> u64 {
        match self {
            Workload::Load => 0,
            Workload::A => 1,
            Workload::B => 2,
            Workload::C => 3,
            Workload::D => 4,
            Workload::E => 5,
            Workload::F => 6,
            Workload::ReadUniform => 7,
            Workload::ReadNewest => 8,
            Workload::Scan => 9,
            Workload::Memtable => 10,
            Workload::Snapshot => 11,
            Workload::Cursor => 12,
            Workload::ReadMostly => 13,
            Workload::Prefix => 14,
            Workload::Mix(r) => 256 + r as u64,
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
            Workload::ReadMostly => {
                "reads of uniform keys beside one writer updating without pause; reads counted"
            }
            Workload::Cursor => {
                "100% cursor walk from a uniform key: seek, 100 entries forward, 100 prev steps back"
            }
            Workload::Prefix => {
                "100% prefix scan: the keys sharing a uniform key's first bytes (up to 1000)"
            }
            Workload::Mix(_) => {
                "r% read of a uniform loaded key (r = 0-100), the rest upserts of a uniform \
                 key from twice the loaded keys"
            }
        }
    }
}

impl Workload {
    /// Whether the workload is a stream of operations made by [`plan`]
    /// (every workload but `load`, `memtable`, `snapshot` and `read-mostly`, which the
    /// runner drives itself).
    pub const fn is_planned(self) -> bool {
        !matches!(
            self,
            Workload::Load | Workload::Memtable | Workload::Snapshot | Workload::ReadMostly
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
        if let Some(r) = s.strip_prefix("mix-") {
            let r = r
                .parse::<u32>()
                .map_err(|_| format!("unknown workload {s:?}: a mix is mix-<read %>, 0-100"))?;
            return Workload::mix(r);
        }
        let short = s.strip_prefix("ycsb-").unwrap_or(&s);
        Workload::named()
            .find(|w| w.name() == s || (w.name().starts_with("ycsb-") && &w.name()[5..] == short))
            .ok_or_else(|| {
                format!(
                    "unknown workload {s:?}; expected one of: {}, mix-<read %>",
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
    /// Write of the second value: an overwrite of a loaded key (the YCSB
    /// mixes), or of any key of [`mix_space`], present or not (`mix-<r>`).
    Update,
    /// Insert of a new key.
    Insert,
    /// Scan of `len` entries.
    Scan,
    /// Read, then write the key back.
    ReadModifyWrite,
    /// Cursor walk of `len` entries forward, then `len` steps back.
    Cursor,
    /// Prefix scan: every entry whose key starts with the key's first
    /// `len` bytes.
    Prefix,
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
    /// Loaded keys the plan's prefix scans meet, all streams together
    /// (0 for other workloads): what they visit on an index that holds
    /// the loaded keys (and more on one where D or E inserted fresh ones).
    pub prefix_entries: u64,
}

/// Most keys a prefix of the `prefix` workload is shared by, unless no
/// longer prefix of its key is ([`prefix_len`]).
pub const PREFIX_MAX: usize = 1000;

/// The `prefix` workload's prefix of the key at rank `r` of `sorted` (the
/// loaded keys' indexes in key order) and how many loaded keys share it:
/// as many bytes as the key shares with the key 100 ranks after it (the
/// last key, with itself: all of it), then one more at a time while more
/// than [`PREFIX_MAX`] keys share it; at most 255.
pub fn prefix_len(ks: &KeySet, sorted: &[u32], r: usize) -> (usize, usize) {
    let key = |i: usize| ks.keys[sorted[i] as usize].as_slice();
    let k = key(r);
    let far = key((r + 100).min(sorted.len() - 1));
    let mut p = k.iter().zip(far).take_while(|(a, b)| a == b).count();
    loop {
        let prefix = &k[..p];
        let lo = sorted.partition_point(|&i| ks.keys[i as usize].as_slice() < prefix);
        let n = sorted[lo..].partition_point(|&i| ks.keys[i as usize].starts_with(prefix));
        if n <= PREFIX_MAX || p >= k.len().min(255) {
            return (p.min(255), n);
        }
        p += 1;
    }
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

/// Fresh keys a key set needs for `workloads` with `loaded` keys loaded
/// and phases of `ops`: [`fresh_needed`], and at least as many as are
/// loaded if a mix is among them ([`mix_space`]).
pub fn fresh_for(workloads: &[Workload], loaded: usize, ops: usize) -> usize {
    let mix = workloads.iter().any(|w| w.read_pct().is_some());
    fresh_needed(ops).max(if mix { loaded } else { 0 })
}

/// The keys a mix's upserts draw from: `keys[..mix_space(ks)]`, twice the
/// loaded keys (fewer if the key set holds fewer; see [`fresh_for`]).
pub fn mix_space(ks: &KeySet) -> usize {
    (2 * ks.loaded).min(ks.keys.len())
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
        Workload::Scan | Workload::E | Workload::Cursor | Workload::Prefix => ops.div_ceil(10),
        _ => ops,
    }
}

/// Generates the per-thread streams of `w` (not for `Load`, `Memtable`,
/// `Snapshot` and `ReadMostly`, which the runner drives directly), [`ops_for`]`(w, ops)`
/// operations in all.
pub fn plan(w: Workload, ks: &KeySet, threads: usize, ops: usize, seed: u64) -> Plan {
    let loaded = ks.loaded as u64;
    let per_thread = ops_for(w, ops).div_ceil(threads);
    let (flo, fhi) = fresh_region(ks, w);
    // For prefix scans: the loaded keys in key order, and the entries
    // each stream's scans meet.
    let sorted: Vec<u32> = if w == Workload::Prefix {
        let mut s: Vec<u32> = (0..ks.loaded as u32).collect();
        s.sort_unstable_by(|&a, &b| ks.keys[a as usize].cmp(&ks.keys[b as usize]));
        s
    } else {
        Vec::new()
    };
    let mut prefix_entries = 0u64;
    let streams = (0..threads)
        .map(|t| {
            let mut rng = SplitMix64::new(seed ^ ((t as u64 + 1) << 32) ^ w.stream());
            let mut zipf = ScrambledZipfian::new(loaded);
            let mut uniform = Uniform::new(loaded);
            let mut latest = Latest::new(loaded - 1);
            let mut newest = Uniform::new(newest_count(ks.loaded) as u64);
            let mut space = Uniform::new(mix_space(ks).max(1) as u64);
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
                    Workload::Prefix => {
                        let r = uniform.next(&mut rng) as usize;
                        let (len, n) = prefix_len(ks, &sorted, r);
                        prefix_entries += n as u64;
                        Op {
                            key: sorted[r],
                            len: len as u8,
                            kind: OpKind::Prefix,
                        }
                    }
                    Workload::Mix(read) => {
                        if roll < u64::from(read) {
                            Op {
                                key: uniform.next(&mut rng) as u32,
                                len: 0,
                                kind: OpKind::Read,
                            }
                        } else {
                            Op {
                                key: space.next(&mut rng) as u32,
                                len: 0,
                                kind: OpKind::Update,
                            }
                        }
                    }
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
                    Workload::Load
                    | Workload::Memtable
                    | Workload::Snapshot
                    | Workload::ReadMostly => {
                        unreachable!("{w} is driven by the runner")
                    }
                };
                out.push(op);
            }
            out
        })
        .collect();
    Plan {
        streams,
        prefix_entries,
    }
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
    Plan {
        streams,
        prefix_entries: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySetKind;

    #[test]
    fn mixes_are_named_mix_and_their_read_percentage() {
        assert_eq!("mix-50".parse::<Workload>(), Ok(Workload::Mix(50)));
        assert_eq!(" MIX-0".parse::<Workload>(), Ok(Workload::Mix(0)));
        assert_eq!("mix-100".parse::<Workload>(), Ok(Workload::Mix(100)));
        assert!("mix-101".parse::<Workload>().is_err());
        assert!("mix-half".parse::<Workload>().is_err());
        assert!("mix-".parse::<Workload>().is_err());
        assert_eq!(Workload::Mix(70).name(), "mix-70");
        assert_eq!(Workload::Mix(7).to_string(), "mix-7");
        assert_eq!(Workload::mix(100), Ok(Workload::Mix(100)));
        assert!(Workload::mix(300).is_err());
        assert_eq!(Workload::Mix(30).read_pct(), Some(30));
        assert_eq!(Workload::A.read_pct(), None);
        // Mixes run only when named.
        assert!(Workload::named().all(|w| w.read_pct().is_none()));
        // Every workload's operation stream is its own.
        let mut streams: Vec<u64> = Workload::named()
            .chain((0..=100).map(Workload::Mix))
            .map(Workload::stream)
            .collect();
        let n = streams.len();
        streams.sort_unstable();
        streams.dedup();
        assert_eq!(streams.len(), n);
    }

    /// `mix-<r>` reads loaded keys `r`% of the time and otherwise upserts a
    /// key of twice the loaded space, half of them beyond the loaded keys.
    #[test]
    fn a_mix_reads_its_fraction_and_upserts_twice_the_loaded_keys() {
        let loaded = 4000;
        let ks = KeySet::generate(KeySetKind::U64Random, loaded, loaded, 5);
        assert_eq!(mix_space(&ks), 2 * loaded);
        for read in [0u8, 30, 90, 100] {
            let p = plan(Workload::Mix(read), &ks, 2, 40_000, 9);
            assert_eq!(p.streams.len(), 2);
            let ops: Vec<&Op> = p.streams.iter().flatten().collect();
            assert_eq!(ops.len(), 40_000);
            let reads = ops.iter().filter(|o| o.kind == OpKind::Read).count();
            let writes: Vec<&&Op> = ops.iter().filter(|o| o.kind != OpKind::Read).collect();
            assert_eq!(reads + writes.len(), ops.len());
            let share = reads as f64 / ops.len() as f64;
            assert!(
                (share - f64::from(read) / 100.0).abs() < 0.01,
                "mix-{read}: {share} reads"
            );
            assert!(writes
                .iter()
                .all(|o| o.kind == OpKind::Update && o.len == 0));
            assert!(ops
                .iter()
                .filter(|o| o.kind == OpKind::Read)
                .all(|o| (o.key as usize) < loaded));
            assert!(writes.iter().all(|o| (o.key as usize) < 2 * loaded));
            if !writes.is_empty() {
                let fresh = writes.iter().filter(|o| o.key as usize >= loaded).count();
                let share = fresh as f64 / writes.len() as f64;
                assert!((share - 0.5).abs() < 0.03, "mix-{read}: {share} fresh");
            }
        }
        // The threads' streams differ, and a seed gives the same streams.
        let p = plan(Workload::Mix(50), &ks, 2, 1000, 9);
        let keys = |s: &[Op]| s.iter().map(|o| o.key).collect::<Vec<_>>();
        assert_ne!(keys(&p.streams[0]), keys(&p.streams[1]));
        let again = plan(Workload::Mix(50), &ks, 2, 1000, 9);
        assert_eq!(keys(&p.streams[0]), keys(&again.streams[0]));
    }

    /// A prefix scan's prefix is what its key shares with the key 100
    /// places after it (so at least 101 loaded keys share it, but near the
    /// end of the order), or longer where more than `PREFIX_MAX` keys
    /// share that; at most `PREFIX_MAX` keys share it (but where the whole
    /// key is the prefix); and the plan counts the keys its scans meet.
    #[test]
    fn prefixes_are_shared_by_up_to_1000_keys() {
        for kind in [
            KeySetKind::U64Random,
            KeySetKind::U64Mono,
            KeySetKind::Words,
            KeySetKind::Urls,
        ] {
            let ks = KeySet::generate(kind, 20_000, 0, 3);
            let p = plan(Workload::Prefix, &ks, 2, 20_000, 4);
            let ops: Vec<&Op> = p.streams.iter().flatten().collect();
            assert_eq!(ops.len(), 2000);
            let mut sorted: Vec<&Vec<u8>> = ks.keys[..ks.loaded].iter().collect();
            sorted.sort_unstable();
            let mut total = 0;
            for op in ops {
                assert_eq!(op.kind, OpKind::Prefix);
                let k = &ks.keys[op.key as usize];
                let prefix = &k[..op.len as usize];
                let n = ks.keys[..ks.loaded]
                    .iter()
                    .filter(|x| x.starts_with(prefix))
                    .count();
                let rank = sorted.partition_point(|x| *x < k);
                let far = sorted[(rank + 100).min(sorted.len() - 1)];
                let shared = k.iter().zip(far).take_while(|(a, b)| a == b).count();
                assert!(n <= PREFIX_MAX || prefix.len() == k.len(), "{kind}: {n}");
                if prefix.len() == shared {
                    // Not lengthened: the 101 keys from it on share it.
                    assert!(n >= 101 || rank + 101 > ks.loaded, "{kind}: {n} at {rank}");
                } else {
                    // Lengthened: the one byte shorter is shared by more
                    // than PREFIX_MAX.
                    assert!(prefix.len() > shared, "{kind}");
                    let shorter = &prefix[..prefix.len() - 1];
                    let m = sorted.iter().filter(|x| x.starts_with(shorter)).count();
                    assert!(m > PREFIX_MAX, "{kind}: {m}");
                }
                total += n as u64;
            }
            assert_eq!(p.prefix_entries, total, "{kind}");
        }
    }

    #[test]
    fn key_sets_hold_the_keys_a_mix_writes() {
        assert_eq!(
            fresh_for(&[Workload::A], 100_000, 50_000),
            fresh_needed(50_000)
        );
        assert_eq!(
            fresh_for(&[Workload::A, Workload::Mix(50)], 100_000, 50_000),
            100_000
        );
        assert_eq!(
            fresh_for(&[Workload::Mix(50)], 10, 50_000),
            fresh_needed(50_000)
        );
        // A key set without them: the mix writes what there is.
        let ks = KeySet::generate(KeySetKind::U64Random, 1000, 10, 1);
        assert_eq!(mix_space(&ks), 1010);
    }
}
