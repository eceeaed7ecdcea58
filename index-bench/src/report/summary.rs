//! Per-configuration summaries of repeated measurements, paired ratios to
//! the peers, and thread scaling.
//!
//! A ratio between two indexes is taken per repeat (the two were measured
//! adjacent in time, in the same round) and summarised by its median and an
//! order-statistics confidence interval ([`crate::stats`]); never as a
//! ratio of two medians, which would pair the fast spells of one index with
//! the slow spells of another.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::record::Row;
use crate::stats::{self, Estimate, Verdict};
use crate::targets::{self, Target};
use crate::workload::Workload;

/// The name of the no-op baseline index; never counted as a peer.
pub const NULL_INDEX: &str = "null";

/// Workloads in the order they are reported; others follow alphabetically.
pub const WORKLOAD_ORDER: &[&str] = &[
    "load",
    "read-uniform",
    "read-newest",
    "scan",
    "cursor",
    "ycsb-a",
    "ycsb-b",
    "ycsb-c",
    "ycsb-d",
    "ycsb-e",
    "ycsb-f",
    "memtable",
    "snapshot",
];

/// Key sets in the order they are reported; others follow alphabetically.
pub const KEYSET_ORDER: &[&str] = &[
    "u64-random",
    "u64-mono",
    "ids-asc",
    "ids-desc",
    "composite",
    "bin16",
    "words",
    "urls",
    "emails",
];

/// Sort key putting known workloads in [`WORKLOAD_ORDER`], others after by
/// name, the mixes by their read percentage (`mix-5` before `mix-40`).
pub fn workload_rank(name: &str) -> (usize, String) {
    match mix_read_pct(name) {
        Some(r) => (WORKLOAD_ORDER.len(), format!("mix-{r:03}")),
        None => rank(WORKLOAD_ORDER, name),
    }
}

/// The read percentage of a `mix-<r>` workload, by its name
/// ([`crate::workload::Workload::Mix`]); `None` for other workloads.
pub fn mix_read_pct(workload: &str) -> Option<u8> {
    workload.parse::<Workload>().ok()?.read_pct()
}

/// Sort key putting known key sets in [`KEYSET_ORDER`], others after by name.
pub fn keyset_rank(name: &str) -> (usize, String) {
    rank(KEYSET_ORDER, name)
}

fn rank(order: &[&str], name: &str) -> (usize, String) {
    match order.iter().position(|n| *n == name) {
        Some(i) => (i, String::new()),
        None => (order.len(), name.to_string()),
    }
}

/// Outcome of result verification over all repeats of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Every repeat verified `ok`.
    Ok,
    /// No failure, but at least one repeat was not verified (`n/a`).
    NotChecked,
    /// At least one repeat failed: how many, out of how many, and the first message.
    Failed {
        /// Repeats that failed.
        failed: usize,
        /// Repeats in total.
        of: usize,
        /// The first failure's message.
        first: String,
    },
}

impl Verified {
    /// Combines the `verified` fields of the repeats of one configuration.
    pub fn combine<'a>(fields: impl IntoIterator<Item = &'a str>) -> Verified {
        let mut n = 0;
        let mut failed = 0;
        let mut first = None;
        let mut unchecked = false;
        for f in fields {
            n += 1;
            let t = f.trim();
            if t == "ok" {
                continue;
            }
            if t.is_empty() || t.eq_ignore_ascii_case("n/a") {
                unchecked = true;
            } else {
                failed += 1;
                first.get_or_insert_with(|| t.to_string());
            }
        }
        match first {
            Some(first) => Verified::Failed {
                failed,
                of: n,
                first,
            },
            None if unchecked => Verified::NotChecked,
            None => Verified::Ok,
        }
    }

    /// `true` only if every repeat verified `ok`.
    pub fn all_ok(&self) -> bool {
        *self == Verified::Ok
    }

    /// Short text for tables: `ok`, `n/a`, `FAILED 1/3`.
    pub fn short(&self) -> String {
        match self {
            Verified::Ok => "ok".into(),
            Verified::NotChecked => "n/a".into(),
            Verified::Failed { failed, of, .. } => format!("FAILED {failed}/{of}"),
        }
    }
}

/// The repeats of one (workload, keyset, value_size, threads, index), summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Workload name.
    pub workload: String,
    /// Key set name.
    pub keyset: String,
    /// Value size, bytes.
    pub value_size: usize,
    /// Worker threads.
    pub threads: usize,
    /// Index name.
    pub index: String,
    /// `true` for ordex backends.
    pub ordex: bool,
    /// Whether `threads` exceeded the machine's cores (any repeat).
    pub oversubscribed: bool,
    /// Number of repeats summarised.
    pub repeats: usize,
    /// Median throughput across repeats, Mops/s.
    pub median_mops: f64,
    /// Lowest throughput across repeats, Mops/s.
    pub min_mops: f64,
    /// Highest throughput across repeats, Mops/s.
    pub max_mops: f64,
    /// Median across repeats of the p50 latency, ns.
    pub p50_ns: f64,
    /// Median across repeats of the p90 latency, ns.
    pub p90_ns: f64,
    /// Median across repeats of the p99 latency, ns.
    pub p99_ns: f64,
    /// Median across repeats of the p99.9 latency, ns.
    pub p999_ns: f64,
    /// Median across repeats of the maximum latency, ns.
    pub max_ns: f64,
    /// Median of the measured bytes per entry (NaN repeats ignored; NaN if none measured).
    pub bytes_per_entry: f64,
    /// Verification over all repeats.
    pub verified: Verified,
    /// Median restarts per operation across repeats
    /// ([`Row::restarts_per_op`]); NaN where the rows carry none.
    pub restarts_per_op: f64,
    /// Median lock waits per operation across repeats
    /// ([`Row::waits_per_op`]); NaN where the rows carry none.
    pub waits_per_op: f64,
    /// For ordex indexes: the paired ratio to the best peer (the peer with
    /// the highest median in the same workload, keyset, value size and
    /// thread count), repeat by repeat, with its interval; `None` for peers,
    /// for `null`, and when no peer was measured.
    pub ratio_to_best_peer: Option<Estimate>,
    /// For ordex indexes: the name of that best peer.
    pub best_peer: Option<String>,
}

impl Summary {
    /// Whether this index counts as a peer (neither ordex nor `null`).
    pub fn is_peer(&self) -> bool {
        !self.ordex && self.index != NULL_INDEX
    }

    /// (workload, keyset, value_size): the configuration a report table covers.
    pub fn group(&self) -> (&str, &str, usize) {
        (&self.workload, &self.keyset, self.value_size)
    }
}

/// Median of the finite values (mean of the middle two for an even count);
/// NaN if there are none.
pub fn median(values: &[f64]) -> f64 {
    stats::median(values)
}

/// Throughput by repeat of one index in one configuration.
type ByRepeat = BTreeMap<usize, f64>;

/// The paired ratio `a / b` over the repeats both measured.
fn paired(a: &ByRepeat, b: &ByRepeat) -> Option<Estimate> {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .filter_map(|(r, &m)| b.get(r).map(|&n| (m, n)))
        .unzip();
    stats::median_ci(&stats::paired_ratios(&x, &y), stats::LEVEL)
}

/// Throughput by repeat for every (workload, keyset, value_size, threads,
/// index).
fn by_repeat(rows: &[Row]) -> BTreeMap<(&str, &str, usize, usize, &str), ByRepeat> {
    let mut map: BTreeMap<_, ByRepeat> = BTreeMap::new();
    for r in rows {
        map.entry((
            r.workload.as_str(),
            r.keyset.as_str(),
            r.value_size,
            r.threads,
            r.index.as_str(),
        ))
        .or_default()
        .insert(r.repeat, r.mops);
    }
    map
}

/// Summarises `rows`: one [`Summary`] per (workload, keyset, value_size,
/// threads, index), with ratios to the best peer filled in.
///
/// Ordered by workload ([`WORKLOAD_ORDER`]), keyset ([`KEYSET_ORDER`]),
/// value size, threads, then throughput (highest first) and index name.
pub fn summarize(rows: &[Row]) -> Vec<Summary> {
    type Key<'a> = (&'a str, &'a str, usize, usize, &'a str);
    let mut groups: BTreeMap<Key<'_>, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((&r.workload, &r.keyset, r.value_size, r.threads, &r.index))
            .or_default()
            .push(r);
    }
    let mut out: Vec<Summary> = groups
        .into_iter()
        .map(|((workload, keyset, value_size, threads, index), rs)| {
            let col = |f: fn(&Row) -> f64| rs.iter().map(|r| f(r)).collect::<Vec<f64>>();
            let mops = col(|r| r.mops);
            Summary {
                workload: workload.to_string(),
                keyset: keyset.to_string(),
                value_size,
                threads,
                index: index.to_string(),
                ordex: rs.iter().any(|r| r.ordex),
                oversubscribed: rs.iter().any(|r| r.oversubscribed),
                repeats: rs.len(),
                median_mops: median(&mops),
                min_mops: mops.iter().copied().fold(f64::INFINITY, f64::min),
                max_mops: mops.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                p50_ns: median(&col(|r| r.p50_ns as f64)),
                p90_ns: median(&col(|r| r.p90_ns as f64)),
                p99_ns: median(&col(|r| r.p99_ns as f64)),
                p999_ns: median(&col(|r| r.p999_ns as f64)),
                max_ns: median(&col(|r| r.max_ns as f64)),
                bytes_per_entry: median(&col(|r| r.bytes_per_entry)),
                verified: Verified::combine(rs.iter().map(|r| r.verified.as_str())),
                restarts_per_op: median(&col(|r| r.restarts_per_op.unwrap_or(f64::NAN))),
                waits_per_op: median(&col(|r| r.waits_per_op.unwrap_or(f64::NAN))),
                ratio_to_best_peer: None,
                best_peer: None,
            }
        })
        .collect();
    out.sort_by(compare_for_report);

    // Ratios: within each (workload, keyset, value_size, threads) run of `out`.
    let repeats = by_repeat(rows);
    let mops_of = |s: &Summary| {
        repeats
            .get(&(
                s.workload.as_str(),
                s.keyset.as_str(),
                s.value_size,
                s.threads,
                s.index.as_str(),
            ))
            .cloned()
    };
    let mut start = 0;
    while start < out.len() {
        let same = |s: &Summary| s.group() == out[start].group() && s.threads == out[start].threads;
        let end = start + out[start..].iter().take_while(|s| same(s)).count();
        let best = out[start..end]
            .iter()
            .filter(|s| s.is_peer() && s.median_mops.is_finite())
            .max_by(|a, b| a.median_mops.total_cmp(&b.median_mops))
            .and_then(|s| Some((s.index.clone(), mops_of(s)?)));
        if let Some((name, peer)) = best {
            for s in out[start..end].iter_mut().filter(|s| s.ordex) {
                let ratio = mops_of(s).and_then(|own| paired(&own, &peer));
                s.ratio_to_best_peer = ratio;
                s.best_peer = ratio.map(|_| name.clone());
            }
        }
        start = end;
    }
    out
}

/// The report order of two summaries (see [`summarize`]).
fn compare_for_report(a: &Summary, b: &Summary) -> Ordering {
    workload_rank(&a.workload)
        .cmp(&workload_rank(&b.workload))
        .then_with(|| keyset_rank(&a.keyset).cmp(&keyset_rank(&b.keyset)))
        .then(a.value_size.cmp(&b.value_size))
        .then(a.threads.cmp(&b.threads))
        .then(b.median_mops.total_cmp(&a.median_mops))
        .then_with(|| a.index.cmp(&b.index))
}

/// An ordex index against one peer in one configuration: the paired ratio
/// of their throughputs, with its interval and, where the project set one,
/// its target.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRatio {
    /// Workload name.
    pub workload: String,
    /// Key set name.
    pub keyset: String,
    /// Value size, bytes.
    pub value_size: usize,
    /// Worker threads.
    pub threads: usize,
    /// The ordex index.
    pub index: String,
    /// The peer.
    pub peer: String,
    /// `index / peer`, repeat by repeat.
    pub ratio: Estimate,
    /// The project's target for this ratio, if it has one.
    pub target: Option<&'static Target>,
}

impl PeerRatio {
    /// Where the interval lies against the target (`None` without one).
    pub fn verdict(&self) -> Option<Verdict> {
        self.target.map(|t| self.ratio.against(t.min))
    }
}

/// Every ordex index against every peer measured in the same configuration
/// (workload, keyset, value size, threads), in report order; and against
/// another ordex index where a target names that pair (ordex-art's point
/// reads against ordex-btree, ordex-persistent's gets against it), so that
/// those targets get their verdict too.
pub fn peer_ratios(rows: &[Row]) -> Vec<PeerRatio> {
    let repeats = by_repeat(rows);
    let ordex: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.ordex)
        .map(|r| r.index.as_str())
        .collect();
    let is_peer = |name: &str| !ordex.contains(name) && name != NULL_INDEX;
    let mut out = Vec::new();
    for (&(w, k, v, t, index), own) in &repeats {
        if !ordex.contains(index) {
            continue;
        }
        for (&(w2, k2, v2, t2, peer), theirs) in repeats.range((w, k, v, t, "")..) {
            if (w2, k2, v2, t2) != (w, k, v, t) {
                break;
            }
            let target = targets::find(index, peer, w, k, t);
            let targeted_ordex = ordex.contains(peer) && peer != index && target.is_some();
            if !is_peer(peer) && !targeted_ordex {
                continue;
            }
            if let Some(ratio) = paired(own, theirs) {
                out.push(PeerRatio {
                    workload: w.to_string(),
                    keyset: k.to_string(),
                    value_size: v,
                    threads: t,
                    index: index.to_string(),
                    peer: peer.to_string(),
                    ratio,
                    target,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        workload_rank(&a.workload)
            .cmp(&workload_rank(&b.workload))
            .then_with(|| keyset_rank(&a.keyset).cmp(&keyset_rank(&b.keyset)))
            .then(a.value_size.cmp(&b.value_size))
            .then(a.threads.cmp(&b.threads))
            .then_with(|| a.index.cmp(&b.index))
            .then_with(|| a.peer.cmp(&b.peer))
    });
    out
}

/// One thread count of a [`Scaling`] series.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingPoint {
    /// Worker threads.
    pub threads: usize,
    /// Whether this thread count was oversubscribed.
    pub oversubscribed: bool,
    /// Median throughput, Mops/s.
    pub median_mops: f64,
    /// `median_mops(threads) / median_mops(1)`; `None` without a 1-thread measurement.
    pub speedup: Option<f64>,
}

/// Throughput against threads for one (index, workload, keyset, value_size).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    /// Index name.
    pub index: String,
    /// `true` for ordex backends.
    pub ordex: bool,
    /// Workload name.
    pub workload: String,
    /// Key set name.
    pub keyset: String,
    /// Value size, bytes.
    pub value_size: usize,
    /// One point per measured thread count, ascending.
    pub points: Vec<ScalingPoint>,
}

/// Scaling series from [`summarize`]'s output, in the same workload/keyset
/// order, indexes by name.
pub fn scaling(summaries: &[Summary]) -> Vec<Scaling> {
    type Key<'a> = (
        (usize, String),
        (usize, String),
        usize,
        &'a str,
        &'a str,
        &'a str,
    );
    let mut map: BTreeMap<Key<'_>, Vec<&Summary>> = BTreeMap::new();
    for s in summaries {
        map.entry((
            workload_rank(&s.workload),
            keyset_rank(&s.keyset),
            s.value_size,
            &s.workload,
            &s.keyset,
            &s.index,
        ))
        .or_default()
        .push(s);
    }
    map.into_iter()
        .map(|((_, _, value_size, workload, keyset, index), mut ss)| {
            ss.sort_by_key(|s| s.threads);
            let base = ss
                .iter()
                .find(|s| s.threads == 1)
                .map(|s| s.median_mops)
                .filter(|m| *m > 0.0);
            Scaling {
                index: index.to_string(),
                ordex: ss.iter().any(|s| s.ordex),
                workload: workload.to_string(),
                keyset: keyset.to_string(),
                value_size,
                points: ss
                    .iter()
                    .map(|s| ScalingPoint {
                        threads: s.threads,
                        oversubscribed: s.oversubscribed,
                        median_mops: s.median_mops,
                        speedup: base.map(|b| s.median_mops / b),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A row with the given identity and throughput; latencies derived from `mops`.
    pub(crate) fn mk(index: &str, ordex: bool, threads: usize, repeat: usize, mops: f64) -> Row {
        Row {
            run: "t".into(),
            index: index.into(),
            ordex,
            workload: "ycsb-c".into(),
            keyset: "u64-random".into(),
            value_size: 8,
            threads,
            oversubscribed: threads > 1,
            repeat,
            entries: 1000,
            ops: (mops * 1e6) as u64,
            seconds: 1.0,
            mops,
            p50_ns: 100 + repeat as u64 * 10,
            p90_ns: 200,
            p99_ns: 1000 + repeat as u64 * 100,
            p999_ns: 5000,
            max_ns: 10_000 * (repeat as u64 + 1),
            bytes_per_entry: if repeat == 1 {
                f64::NAN
            } else {
                40.0 + repeat as f64
            },
            verified: "ok".into(),
            restarts_per_op: None,
            waits_per_op: None,
        }
    }

    /// 2 ordex + 3 peers + null, threads 1 and 2, 3 repeats each.
    /// Per (index, threads) the repeats are base*{0.9, 1.0, 1.2} * threads.
    pub(crate) fn synthetic() -> Vec<Row> {
        let indexes: &[(&str, bool, f64)] = &[
            ("ordex-a", true, 10.0),
            ("ordex-b", true, 4.0),
            ("peer-x", false, 5.0),
            ("peer-y", false, 8.0),
            ("peer-z", false, 2.0),
            ("null", false, 100.0),
        ];
        let mut rows = Vec::new();
        for &(name, ordex, base) in indexes {
            for threads in [1, 2] {
                for (repeat, f) in [0.9, 1.0, 1.2].into_iter().enumerate() {
                    rows.push(mk(name, ordex, threads, repeat, base * f * threads as f64));
                }
            }
        }
        rows
    }

    fn find<'a>(s: &'a [Summary], index: &str, threads: usize) -> &'a Summary {
        s.iter()
            .find(|x| x.index == index && x.threads == threads)
            .unwrap()
    }

    #[test]
    fn medians_and_ratios() {
        let s = summarize(&synthetic());
        assert_eq!(s.len(), 12);
        let a1 = find(&s, "ordex-a", 1);
        assert_eq!(a1.repeats, 3);
        assert_eq!(a1.median_mops, 10.0);
        assert!((a1.min_mops - 9.0).abs() < 1e-12 && (a1.max_mops - 12.0).abs() < 1e-12);
        assert_eq!(a1.p50_ns, 110.0);
        assert_eq!(a1.p99_ns, 1100.0);
        assert_eq!(a1.max_ns, 20_000.0);
        assert_eq!(a1.bytes_per_entry, 41.0); // median of 40 and 42, NaN ignored
        assert!(a1.verified.all_ok());
        // Best peer is peer-y (8), not null (100).
        assert_eq!(a1.best_peer.as_deref(), Some("peer-y"));
        assert!((a1.ratio_to_best_peer.unwrap().median - 1.25).abs() < 1e-12);
        let b2 = find(&s, "ordex-b", 2);
        assert!((b2.ratio_to_best_peer.unwrap().median - 0.5).abs() < 1e-12);
        assert_eq!(find(&s, "peer-y", 1).ratio_to_best_peer, None);
        assert_eq!(find(&s, "null", 2).ratio_to_best_peer, None);
        // Order: threads ascending, then throughput descending.
        let order: Vec<&str> = s.iter().take(6).map(|x| x.index.as_str()).collect();
        assert_eq!(
            order,
            ["null", "ordex-a", "peer-y", "peer-x", "ordex-b", "peer-z"]
        );
        assert!(s[6..].iter().all(|x| x.threads == 2));
    }

    /// Ratios pair the repeats: a slow spell that hits both indexes in one
    /// repeat cancels out, where a ratio of medians would not.
    #[test]
    fn ratios_are_paired_by_repeat() {
        // Repeat 1 is slow for both; ordex is 2x the peer in every repeat.
        let mut rows = Vec::new();
        for (repeat, f) in [1.0, 0.5, 1.0, 0.9, 1.1, 1.0].into_iter().enumerate() {
            rows.push(mk("ordex-a", true, 1, repeat, 20.0 * f));
            rows.push(mk("peer-x", false, 1, repeat, 10.0 * f));
            // peer-y is slow only in repeat 0, fast otherwise.
            let g = if repeat == 0 { 0.5 } else { 1.0 };
            rows.push(mk("peer-y", false, 1, repeat, 9.0 * g));
        }
        let s = summarize(&rows);
        let a = find(&s, "ordex-a", 1);
        assert_eq!(a.best_peer.as_deref(), Some("peer-x"));
        let r = a.ratio_to_best_peer.unwrap();
        assert!((r.median - 2.0).abs() < 1e-12 && (r.high - r.low).abs() < 1e-12);
        assert_eq!(r.n, 6);
        assert!(r.level >= crate::stats::LEVEL);

        let all = peer_ratios(&rows);
        assert_eq!(
            all.len(),
            2,
            "ordex-a against each peer; null and itself excluded"
        );
        let y = all.iter().find(|p| p.peer == "peer-y").unwrap();
        assert_eq!(y.index, "ordex-a");
        assert!(y.ratio.low < y.ratio.median && y.ratio.median < y.ratio.high);
        assert!(y.target.is_none() && y.verdict().is_none());
    }

    #[test]
    fn ratios_carry_their_targets() {
        let mut rows = Vec::new();
        for repeat in 0..6 {
            for (index, ordex, mops) in [("ordex-skiplist", true, 3.0), ("fastskip", false, 2.0)] {
                let mut r = mk(
                    index,
                    ordex,
                    1,
                    repeat,
                    mops * (1.0 + repeat as f64 / 100.0),
                );
                r.workload = "load".into();
                r.keyset = "ids-asc".into();
                rows.push(r);
            }
        }
        let all = peer_ratios(&rows);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].target.unwrap().min, 1.5);
        assert_eq!(all[0].verdict(), Some(crate::stats::Verdict::Meets));
    }

    #[test]
    fn ordex_pairs_are_compared_where_a_target_names_them() {
        let mut rows = Vec::new();
        for repeat in 0..6 {
            for (index, mops) in [
                ("ordex-art", 5.0),
                ("ordex-btree", 4.0),
                ("ordex-skiplist", 2.0),
            ] {
                let mut r = mk(index, true, 1, repeat, mops * (1.0 + repeat as f64 / 100.0));
                r.workload = "read-uniform".into();
                r.keyset = "u64-random".into();
                rows.push(r);
            }
        }
        let all = peer_ratios(&rows);
        // Only ordex-art against ordex-btree has a target among these.
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(
            (all[0].index.as_str(), all[0].peer.as_str()),
            ("ordex-art", "ordex-btree")
        );
        assert_eq!(all[0].target.unwrap().min, 1.3);
        assert_eq!(all[0].verdict(), Some(crate::stats::Verdict::Misses));
    }

    #[test]
    fn no_peer_means_no_ratio() {
        let rows: Vec<Row> = synthetic()
            .into_iter()
            .filter(|r| r.ordex || r.index == "null")
            .collect();
        assert!(summarize(&rows)
            .iter()
            .all(|s| s.ratio_to_best_peer.is_none()));
    }

    #[test]
    fn scaling_vs_one_thread() {
        let s = summarize(&synthetic());
        let sc = scaling(&s);
        assert_eq!(sc.len(), 6);
        for series in &sc {
            assert_eq!(series.points.len(), 2);
            assert_eq!(series.points[0].threads, 1);
            assert_eq!(series.points[0].speedup, Some(1.0));
            assert!((series.points[1].speedup.unwrap() - 2.0).abs() < 1e-12);
            assert!(series.points[1].oversubscribed);
        }
        // Without 1-thread rows there is no speedup.
        let rows: Vec<Row> = synthetic().into_iter().filter(|r| r.threads == 2).collect();
        let sc = scaling(&summarize(&rows));
        assert!(sc.iter().all(|x| x.points[0].speedup.is_none()));
    }

    #[test]
    fn verification_and_median_edge_cases() {
        assert_eq!(Verified::combine(["ok", "ok"]), Verified::Ok);
        assert_eq!(Verified::combine(["ok", "n/a"]), Verified::NotChecked);
        let f = Verified::combine(["ok", "FAILED: a, \"b\"", "FAILED: c"]);
        assert_eq!(f.short(), "FAILED 2/3");
        assert!(matches!(&f, Verified::Failed { first, .. } if first == "FAILED: a, \"b\""));
        assert!(median(&[]).is_nan());
        assert!(median(&[f64::NAN, f64::NAN]).is_nan());
        assert_eq!(median(&[3.0, 1.0, 2.0, f64::NAN]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert!(workload_rank("load") < workload_rank("ycsb-a"));
        assert!(workload_rank("snapshot") < workload_rank("aaa-custom"));
        assert!(keyset_rank("u64-random") < keyset_rank("words"));
    }
}
