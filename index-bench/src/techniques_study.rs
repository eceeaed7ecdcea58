//! `index-bench techniques`: concurrency techniques on identical work.
//!
//! The same B-tree (ordex-btree: one node layout, one set of code paths)
//! under its three synchronization protocols — one reader-writer lock
//! around the tree (`ordex-btree-global`), per-node reader-writer latches
//! taken hand-over-hand (`ordex-btree-coupling`), and optimistic lock
//! coupling with version words (`ordex-btree`, the default) — beside the
//! lock-free skip list (`ordex-skiplist`) and `RwLock<BTreeMap>`
//! (`rwlock-btreemap`, the baseline of Badger's skip-list sweep). The ART
//! and the persistent tree join as the RCU and path-copying data points
//! once they are implemented.
//!
//! The study is a configuration of the benchmark's pipeline: the runner
//! ([`runner::run_keyset`]) over those indexes, the `mix-<r>` workload at
//! each read fraction `r` ([`Workload::Mix`]), the thread counts, on random
//! u64 keys with as many fresh keys as loaded; contention counters on
//! ([`runner::Config::contention`]). Each read fraction is its own call,
//! so every cell starts from freshly loaded indexes. The report is the
//! shared one: `techniques.csv` is a results CSV ([`report::write_csv`],
//! one row per repeat, with restarts and lock waits per operation),
//! `techniques.md` is [`report::render_sweep`] and `techniques.svg` is
//! [`report::write_sweep_plot`]. The study fails if a read misses a loaded
//! key (every read is verified).

use crate::keys::{KeySet, KeySetKind};
use crate::record::Row;
use crate::registry;
use crate::report;
use crate::runner::{self, Config, Order};
use crate::workload::Workload;
use clap::Args;
use std::path::PathBuf;

/// Options of `index-bench techniques`.
#[derive(Args, Debug, Clone)]
pub struct TechniquesArgs {
    /// Keys loaded into each fresh index before a cell runs.
    #[arg(long, default_value_t = 100_000)]
    pub entries: usize,
    /// Operations of each cell's timed run (all threads together),
    /// generated before timing.
    #[arg(long, default_value_t = 200_000)]
    pub ops: usize,
    /// Thread counts, comma-separated (above this machine's cores they are
    /// oversubscribed).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub threads: Vec<usize>,
    /// Read percentages, comma-separated (each is the workload mix-{r}).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,10,20,30,40,50,60,70,80,90,100"
    )]
    pub reads: Vec<u32>,
    /// Techniques, comma-separated index names (default: all):
    /// ordex-btree-global, ordex-btree-coupling, ordex-btree,
    /// ordex-skiplist, rwlock-btreemap. The names of earlier versions
    /// (btree-global, btree-coupling, btree-optimistic, skiplist) are
    /// accepted too.
    #[arg(long, value_delimiter = ',')]
    pub techniques: Vec<String>,
    /// Repeats of each cell (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Seed for keys and operation streams.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write techniques.md, techniques.csv and techniques.svg
    /// (default: target/index-bench/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the SVG plot.
    #[arg(long)]
    pub no_plot: bool,
}

/// The techniques: the index's name, the name earlier versions of the
/// study gave it, and how it synchronizes.
const TECHNIQUES: &[(&str, &str, &str)] = &[
    (
        "ordex-btree-global",
        "btree-global",
        "ordex-btree, one reader-writer lock around the tree",
    ),
    (
        "ordex-btree-coupling",
        "btree-coupling",
        "ordex-btree, per-node reader-writer latches hand-over-hand",
    ),
    (
        "ordex-btree",
        "btree-optimistic",
        "ordex-btree, optimistic lock coupling (version words, B-link)",
    ),
    (
        "ordex-skiplist",
        "skiplist",
        "ordex-skiplist, lock-free (CAS on links)",
    ),
    (
        "rwlock-btreemap",
        "rwlock-btreemap",
        "std BTreeMap behind a parking_lot RwLock",
    ),
];

/// The index names of `chosen` (all techniques if empty), old names
/// translated; unknown names are left for the registry to refuse.
fn index_names(chosen: &[String]) -> Vec<String> {
    if chosen.is_empty() {
        return TECHNIQUES.iter().map(|t| t.0.to_string()).collect();
    }
    chosen
        .iter()
        .map(|n| {
            let n = n.trim();
            TECHNIQUES
                .iter()
                .find(|t| t.1 == n)
                .map_or(n, |t| t.0)
                .to_string()
        })
        .collect()
}

/// Runs the study; prints the report and writes its files.
pub fn run(args: TechniquesArgs, default_out: PathBuf) -> Result<(), String> {
    let loaded = args.entries.max(100);
    if loaded > u32::MAX as usize / 2 {
        return Err("--entries is limited to 2^31 keys".into());
    }
    let repeat = args.repeat.max(1);
    if args.threads.is_empty() || args.threads.contains(&0) {
        return Err("thread counts must be >= 1".into());
    }
    let mixes: Vec<Workload> = args
        .reads
        .iter()
        .map(|&r| Workload::mix(r))
        .collect::<Result<_, _>>()?;
    let entries = registry::select(&index_names(&args.techniques))
        .map_err(|e| format!("unknown technique: {e}"))?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let ks = KeySet::generate(KeySetKind::U64Random, loaded, loaded, args.seed);
    let cfg = Config {
        run: "techniques".into(),
        threads: args.threads.clone(),
        ops: args.ops.max(1),
        value_size: 8,
        repeat,
        seed: args.seed,
        latency_every: 16,
        cores,
        order: Order::Rotate,
        warm: true,
        load_slice: runner::LOAD_SLICE,
        load_passes: 1,
        phase_slice: runner::PHASE_SLICE,
        gated: false,
        contention: true,
    };
    eprintln!(
        "techniques study: {} techniques × threads {:?} × reads {:?} %, {loaded} keys loaded, \
         {} operations per cell, median of {repeat}",
        entries.len(),
        args.threads,
        args.reads,
        cfg.ops
    );
    let mut contenders: Vec<_> = entries.iter().map(|e| (e.contender)()).collect();
    let mut rows: Vec<Row> = Vec::new();
    for &mix in &mixes {
        let new = runner::run_keyset(&cfg, &ks, &[mix], &mut contenders, &|_| {});
        eprintln!("  {mix}: {} measurements", new.len());
        rows.extend(new);
    }

    let command = format!(
        "index-bench techniques --entries {loaded} --ops {} --threads {} --reads {} --repeat {repeat} --seed {}",
        cfg.ops,
        join(&args.threads),
        join(&args.reads),
        args.seed
    );
    let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
    let manifest = report::collect("techniques", vec![("command".into(), command)], Vec::new());
    let intro = intro(&names, loaded, cfg.ops, repeat);
    let dir = args.out.unwrap_or(default_out);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let svg = (!args.no_plot).then_some("techniques.svg");
    let md = report::render_sweep(
        &rows,
        &manifest,
        "Concurrency techniques on identical work",
        &intro,
        svg,
    );
    print!("\n{md}");
    let md_path = dir.join("techniques.md");
    std::fs::write(&md_path, &md).map_err(|e| format!("writing {}: {e}", md_path.display()))?;
    let csv_path = dir.join("techniques.csv");
    report::write_csv(&csv_path, &rows)
        .map_err(|e| format!("writing {}: {e}", csv_path.display()))?;
    println!(
        "\nwritten to {} and {}",
        md_path.display(),
        csv_path.display()
    );
    if let Some(svg) = svg {
        let path = dir.join(svg);
        report::write_sweep_plot(
            &path,
            &rows,
            "Throughput against read fraction (ordex-btree protocols and peers)",
        )
        .map_err(|e| e.to_string())?;
        println!("plot: {}", path.display());
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.verified.starts_with("FAILED"))
        .map(|r| format!("{} {} t={}: {}", r.index, r.workload, r.threads, r.verified))
        .collect();
    if !failed.is_empty() {
        return Err(format!(
            "{} measurements failed verification (a lost write or a broken read):\n  {}",
            failed.len(),
            failed.join("\n  ")
        ));
    }
    Ok(())
}

/// What the study measured, for the top of `techniques.md`.
fn intro(names: &[&str], loaded: usize, ops: usize, repeat: usize) -> String {
    let mut s = format!(
        "Each cell (technique × thread count × read fraction) loads {loaded} random u64 keys \
         into a fresh index, then runs {ops} operations (all threads together, generated before \
         timing) of the workload `mix-<r>`: a read gets a uniformly chosen loaded key (and must \
         find it), a write upserts a key drawn uniformly from twice the loaded key space (8-byte \
         values), so that at first half the writes insert new keys. The techniques take turns \
         slice by slice, in an order that changes from slice to slice and repeat to repeat; \
         each figure is the median of {repeat} repeats.\n\n"
    );
    for n in names {
        let what = TECHNIQUES.iter().find(|t| t.0 == *n).map_or("", |t| t.2);
        s.push_str(&format!("- **{n}**: {what}\n"));
    }
    s
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn techniques_are_registered_indexes_and_old_names_still_work() {
        let all = index_names(&[]);
        let entries = registry::select(&all).unwrap();
        assert_eq!(entries.len(), TECHNIQUES.len());
        assert!(entries.iter().all(|e| e.name != "null"));
        let old: Vec<String> = ["btree-optimistic", "skiplist", "ordex-btree-global"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            index_names(&old),
            ["ordex-btree", "ordex-skiplist", "ordex-btree-global"]
        );
        assert!(registry::select(&index_names(&["btree-magic".into()])).is_err());
    }

    /// A tiny study writes its CSV (every protocol at every read fraction
    /// and thread count, reads verified, counters where counted), its
    /// markdown and its plot.
    #[test]
    fn a_tiny_study_writes_its_report() {
        let out = std::env::temp_dir().join(format!("techniques-study-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let args = TechniquesArgs {
            entries: 500,
            ops: 600,
            threads: vec![1, 2],
            reads: vec![0, 50, 100],
            techniques: Vec::new(),
            repeat: 1,
            seed: 7,
            out: Some(out.clone()),
            no_plot: false,
        };
        run(args, PathBuf::from("unused")).unwrap();
        let rows = report::read_csv(&out.join("techniques.csv")).unwrap();
        assert_eq!(rows.len(), TECHNIQUES.len() * 2 * 3);
        for &(index, _, _) in TECHNIQUES {
            for threads in [1, 2] {
                for read in [0, 50, 100] {
                    let r = rows
                        .iter()
                        .find(|r| {
                            r.index == index
                                && r.threads == threads
                                && r.workload == format!("mix-{read}")
                        })
                        .unwrap_or_else(|| panic!("no {index} t={threads} mix-{read}"));
                    assert_eq!((r.ops, r.entries), (600, 500));
                    assert_eq!(r.verified, "ok");
                    let counts = index.starts_with("ordex-btree");
                    let restarts = r.restarts_per_op.unwrap();
                    assert_eq!(restarts.is_finite(), counts, "{r:?}");
                    assert_eq!(r.waits_per_op.unwrap().is_finite(), counts, "{r:?}");
                }
            }
        }
        let md = std::fs::read_to_string(out.join("techniques.md")).unwrap();
        assert!(md.starts_with("# Concurrency techniques on identical work"));
        assert!(md.contains("| index | 0% | 50% | 100% |"), "{md}");
        assert!(md.contains("## 2 threads: throughput"), "{md}");
        assert!(md.contains("Restarts / lock waits per operation"), "{md}");
        assert!(md.contains("](techniques.svg)"));
        for &(index, _, what) in TECHNIQUES {
            assert!(md.contains(&format!("- **{index}**: {what}")), "{md}");
        }
        let svg = std::fs::read_to_string(out.join("techniques.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
        for &(index, _, _) in TECHNIQUES {
            assert!(svg.contains(index), "{index} missing from the plot");
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}
