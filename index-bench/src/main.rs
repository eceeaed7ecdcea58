//! `index-bench`: the comparative benchmark of the ordex backends and their
//! peers. `cargo run --release -p index-bench` runs a short comparison of
//! everything and writes a report; `--help` lists every option.

use clap::{Args, Parser, Subcommand};
use index_bench::{
    ab, advise, btree_study, keys, memtable_study, persistent_study, record, registry, report,
    runner, suite, techniques_study, workload,
};
use indicatif::{ProgressBar, ProgressStyle};
use keys::{KeySet, KeySetKind};
use record::Row;
use std::path::{Path, PathBuf};
use std::time::Instant;
use workload::Workload;

#[global_allocator]
static ALLOC: ordex_testkit::alloc::GatedAllocator = ordex_testkit::alloc::GatedAllocator;

/// Compare concurrent ordered indexes on identical work.
///
/// With no subcommand, runs the default comparison (a few minutes on a
/// 2-core machine): every ordex backend and every peer on every key shape
/// (load, reads of all and of the newest keys, scans), and YCSB A-F,
/// memtable and snapshot workloads on random u64 keys and English words, at
/// 1 and 2 threads. Each repeat measures every index once, adjacent in time,
/// in an order that changes from repeat to repeat; ratios between indexes
/// are taken per repeat and reported as a median with a confidence
/// interval. Prints a table per workload and writes CSVs, a JSON manifest,
/// report.md and SVG plots under target/index-bench/<run>/.
#[derive(Parser, Debug)]
#[command(
    name = "index-bench",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run benchmarks (the default).
    Run(RunArgs),
    /// Compare two builds of index-bench (binaries or git revisions): the
    /// same measurements in lockstep, slice by slice in random order, each
    /// figure's B/A ratio with its interval. How the project judges its
    /// own changes.
    Ab(ab::AbArgs),
    /// Re-render report.md, the tables and the plots from a results CSV.
    Report(ReportArgs),
    /// Recommend an ordex backend for a workload mix and a key sample, from
    /// a short calibration run.
    Advise(advise::AdviseArgs),
    /// The memtable study of ordex-skiplist: multi_get, sorted batches,
    /// reverse scans, flush iteration against its peers, bytes and
    /// allocations per entry.
    Memtable(memtable_study::MemtableArgs),
    /// The ordex-btree study: load, get and 100-entry scans against
    /// scc::TreeIndex<u64, u64>, a node-size sweep, parallel bulk load,
    /// epoch garbage under steady overwrites, memory after removing every
    /// key, allocations per get and cursor step.
    Btree(btree_study::BtreeArgs),
    /// The ordex-persistent study, against the targets of its plan: gets
    /// live and from a snapshot, scans, single writes each published and
    /// batches of 1024 against imbl's OrdMap behind ArcSwap; bytes per
    /// entry; bulk load against BTreeMap::from_iter; snapshot() and a
    /// one-change diff; a reader beside a writer; two writers through group
    /// commit; allocations per get, seek and cursor step.
    Persistent(persistent_study::PersistentArgs),
    /// The concurrency-techniques study: ordex-btree under its three
    /// protocols (global lock, lock coupling, optimistic) beside the
    /// lock-free skip list and RwLock<BTreeMap>, across read fractions
    /// 0-100% and 1, 2, 4 threads: the benchmark run over those indexes and
    /// the mix-<r> workloads, with restarts and lock waits; a table and a
    /// plot.
    Techniques(techniques_study::TechniquesArgs),
    /// Why every measured phase pre-faults its memory: time touching fresh
    /// huge-page memory after a pause, right after a free, and after a pause
    /// then a pre-fault.
    MemoryProbe {
        /// Megabytes to touch.
        #[arg(long, default_value_t = 80)]
        mb: usize,
        /// Seconds of pause (free page reporting acts after about 2 s).
        #[arg(long, default_value_t = 4)]
        pause: u64,
        /// Rounds.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// What each key set looks like: generation time, mean length, mean
    /// prefix shared with the sorted neighbour, and samples.
    Keysets {
        /// Keys per set.
        #[arg(long, default_value_t = 100_000)]
        entries: usize,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// List the indexes, workloads and key sets.
    List,
}

#[derive(Args, Debug, Clone)]
struct RunArgs {
    /// Indexes to run, comma-separated (see `list`); default: all but those
    /// run only when named (ordex-btree's other protocols).
    #[arg(long, value_delimiter = ',')]
    indexes: Vec<String>,
    /// Workloads, comma-separated: load, ycsb-a … ycsb-f (or a … f),
    /// read-uniform, read-newest, scan, memtable, snapshot, and cursor and
    /// mix-<read %> (0-100), which run only when named (see `list`).
    /// Default: the default suite (see `list`); with --keysets, all but
    /// those run only when named.
    #[arg(long, value_delimiter = ',')]
    workloads: Vec<String>,
    /// Key sets, comma-separated (see `list`). Default: every key shape of
    /// the default suite.
    #[arg(long, value_delimiter = ',')]
    keysets: Vec<String>,
    /// Thread counts, comma-separated; counts above this machine's cores
    /// are run and marked as oversubscribed.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,
    /// Entries loaded before each workload.
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Operations per workload (all threads together); scan workloads run a
    /// tenth as many.
    #[arg(long, default_value_t = 50_000)]
    ops: usize,
    /// Value size in bytes (8, 32, 1024, …).
    #[arg(long, default_value_t = 8)]
    value_size: usize,
    /// Repeats (rounds): each measures every index once. Ratios get a 95%
    /// interval from 6 repeats on; fewer give [min, max] with its lower
    /// coverage (75% for 3). From 9 on the interval leaves out the lowest
    /// and the highest ratio, so one disturbed repeat does not set it.
    #[arg(long, default_value_t = 9)]
    repeat: usize,
    /// The order of the indexes within a repeat: `rotate` changes it every
    /// repeat (ABBA for two indexes); `given` keeps the order of --indexes
    /// (to show what order does to a ratio).
    #[arg(long, default_value = "rotate", value_parser = parse_order)]
    order: runner::Order,
    /// Skip pre-faulting memory before each measured phase and trimming the
    /// allocator between repeats (to show what they do; ratios then depend
    /// on what ran before).
    #[arg(long)]
    cold: bool,
    /// Most keys per slice of a load. Each slice runs on every index in
    /// turn; more slices give sharper ratios.
    #[arg(long, default_value_t = runner::LOAD_SLICE)]
    load_slice: usize,
    /// Loads per index and repeat when the load workload is measured,
    /// each on a fresh index; the repeat's figure is the pass of median
    /// time, so that a stall of the machine in one pass does not set it.
    /// It triples the loads' time, and on this machine did not tighten
    /// the load intervals (`docs/index-bench.md`), so the default is one.
    #[arg(long, default_value_t = runner::LOAD_PASSES)]
    load_passes: usize,
    /// Most operations per slice of a workload (at least two slices per
    /// phase). Each slice starts on caches the other indexes' slices have
    /// used: a larger slice measures an index warmer, and less precisely.
    #[arg(long, default_value_t = runner::PHASE_SLICE)]
    phase_slice: usize,
    /// Announce every timed slice on stdout and wait for a line on stdin
    /// before it (how `ab` runs two builds in lockstep).
    #[arg(long, hide = true)]
    gated: bool,
    /// Seed for key sets and operation streams.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Time one operation in this many for the latency percentiles.
    #[arg(long, default_value_t = 16)]
    latency_every: usize,
    /// Output directory; each run writes a subdirectory named by its start
    /// time.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A tiny run that checks everything works end to end (CI). Like a
    /// normal run, it fails if an ordex backend fails verification.
    #[arg(long)]
    smoke: bool,
    /// Skip the SVG plots.
    #[arg(long)]
    no_plots: bool,
    /// Record restarts and lock waits per operation of the indexes that
    /// count them (ordex-btree's protocols): results.csv gains the columns
    /// restarts_per_op and waits_per_op (NaN for the other indexes).
    #[arg(long)]
    contention: bool,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// The results.csv of a run.
    csv: PathBuf,
    /// Where to write report.md and the plots (default: beside the CSV).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_order(s: &str) -> Result<runner::Order, String> {
    match s {
        "rotate" => Ok(runner::Order::Rotate),
        "given" => Ok(runner::Order::Given),
        _ => Err(format!("unknown order {s:?}; expected rotate or given")),
    }
}

fn default_out() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("index-bench")
}

fn run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (d, s) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = d as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run(cli.run),
        Some(Command::Run(args)) => run(args),
        Some(Command::Report(args)) => report_cmd(args),
        Some(Command::Ab(args)) => ab::run(args, default_out(), run_id()),
        Some(Command::Advise(args)) => advise::advise(args),
        Some(Command::Memtable(args)) => memtable_study::run(args, default_out()),
        Some(Command::Btree(args)) => btree_study::run(args, default_out()),
        Some(Command::Persistent(args)) => persistent_study::run(args, default_out()),
        Some(Command::Techniques(args)) => techniques_study::run(args, default_out()),
        Some(Command::MemoryProbe { mb, pause, rounds }) => {
            for round in 0..rounds {
                let p = index_bench::warm::probe(mb << 20, std::time::Duration::from_secs(pause));
                println!(
                    "round {round}: {mb} MB of huge pages touched after a {pause} s pause: \
                     {:.1} ms; right after a free: {:.1} ms; after a pause and a pre-fault: {:.1} ms",
                    p.cold_ms, p.warm_ms, p.prefaulted_ms
                );
            }
            Ok(())
        }
        Some(Command::Keysets { entries, seed }) => {
            for kind in KeySetKind::ALL {
                let t = Instant::now();
                let ks = KeySet::generate(kind, entries, 0, seed);
                let took = t.elapsed();
                println!(
                    "{:<11} {entries} keys in {:.1} ms; mean {:.1} bytes, {:.1} shared with the sorted neighbour",
                    kind.name(),
                    took.as_secs_f64() * 1e3,
                    ks.avg_key_len(),
                    ks.mean_shared_prefix()
                );
                for k in ks.keys.iter().step_by((entries / 4).max(1)).take(4) {
                    println!("    {}", k.escape_ascii());
                }
            }
            Ok(())
        }
        Some(Command::List) => {
            list();
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("index-bench: {e}");
        std::process::exit(2);
    }
}

fn list() {
    println!("indexes:");
    let kind = |e: &registry::Entry| if e.ordex { "ordex" } else { "peer" };
    for e in registry::all() {
        println!("  {:<20} {}", e.name, kind(&e));
    }
    println!("indexes run only when named:");
    for e in registry::on_request() {
        println!("  {:<20} {}", e.name, kind(&e));
    }
    println!("workloads:");
    for w in Workload::ALL {
        println!("  {:<20} {}", w.name(), w.describe());
    }
    println!("workloads run only when named:");
    for w in Workload::ON_REQUEST {
        println!("  {:<20} {}", w.name(), w.describe());
    }
    println!("  {:<20} {}", "mix-<r>", Workload::Mix(0).describe());
    println!("key sets:");
    for k in KeySetKind::ALL {
        println!("  {}", k.name());
    }
    println!("default suite (key set: workloads):");
    for p in suite::default_suite() {
        let w: Vec<&str> = p.workloads.iter().map(|w| w.name()).collect();
        println!("  {:<20} {}", p.keyset.name(), w.join(","));
    }
}

fn run(mut args: RunArgs) -> Result<(), String> {
    if args.smoke {
        args.entries = args.entries.min(5_000);
        args.ops = args.ops.min(10_000);
        args.repeat = 1;
    }
    if args.threads.is_empty() || args.threads.contains(&0) {
        return Err("--threads needs positive thread counts".into());
    }
    if args.entries == 0 || args.repeat == 0 {
        return Err("--entries and --repeat must be positive".into());
    }
    if args.entries > u32::MAX as usize / 2 {
        return Err("--entries is limited to 2^31 keys".into());
    }
    let workloads: Vec<Workload> = args
        .workloads
        .iter()
        .map(|w| w.parse())
        .collect::<Result<_, _>>()?;
    let kinds: Vec<KeySetKind> = args
        .keysets
        .iter()
        .map(|k| {
            k.parse()
                .map_err(|e: keys::ParseKeySetKindError| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let parts = suite::select(&kinds, &workloads);
    let entries = registry::select(&args.indexes)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run = run_id();
    let dir = args.out.clone().unwrap_or_else(default_out).join(&run);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cfg = runner::Config {
        run: run.clone(),
        threads: args.threads.clone(),
        ops: args.ops,
        value_size: args.value_size,
        repeat: args.repeat,
        seed: args.seed,
        latency_every: args.latency_every,
        cores,
        order: args.order,
        warm: !args.cold,
        load_slice: args.load_slice.max(1),
        load_passes: args.load_passes.max(1),
        phase_slice: args.phase_slice.max(1),
        gated: args.gated,
        contention: args.contention,
    };
    let mut notes = Vec::new();
    let t0 = Instant::now();
    let units: usize = parts
        .iter()
        .map(|p| {
            let ks = KeySet::generate(p.keyset, 1, 0, args.seed);
            entries
                .iter()
                .filter(|e| (e.supports)(&ks, args.value_size))
                .count()
        })
        .sum::<usize>()
        * args.threads.len()
        * args.repeat;
    let bar = if args.smoke || args.gated {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(units as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let csv = dir.join("results.csv");
    let mut rows: Vec<Row> = Vec::new();
    for part in &parts {
        let fresh = workload::fresh_for(&part.workloads, args.entries, args.ops);
        let ks = KeySet::generate(part.keyset, args.entries, fresh, args.seed);
        if let Some(n) = &ks.note {
            eprintln!("note: {n}");
            notes.push(n.clone());
        }
        let mut contenders: Vec<_> = entries.iter().map(|e| (e.contender)()).collect();
        bar.set_message(ks.kind.name().to_string());
        let tick = |_: String| bar.inc(1);
        rows.extend(runner::run_keyset(
            &cfg,
            &ks,
            &part.workloads,
            &mut contenders,
            &tick,
        ));
        report::write_csv(&csv, &rows).map_err(|e| format!("writing {}: {e}", csv.display()))?;
    }
    bar.finish_and_clear();
    // A peer that fails verification is a finding to report (e.g.
    // crossbeam-skiplist 0.1.3 lets a get miss a key being overwritten:
    // crossbeam-rs/crossbeam#1023); an ordex backend that fails is a bug
    // and fails the run, --smoke included.
    let failed: Vec<&Row> = rows
        .iter()
        .filter(|r| r.verified.starts_with("FAILED"))
        .collect();
    for r in &failed {
        notes.push(format!(
            "verification failed: {} {} {} t={}: {}",
            r.index, r.workload, r.keyset, r.threads, r.verified
        ));
    }
    let failed_ordex = failed.iter().filter(|r| r.ordex).count();
    let mut options = vec![
        (
            "indexes".into(),
            entries.iter().map(|e| e.name).collect::<Vec<_>>().join(","),
        ),
        (
            "suite".into(),
            parts
                .iter()
                .map(|p| {
                    let w: Vec<&str> = p.workloads.iter().map(|w| w.name()).collect();
                    format!("{}: {}", p.keyset.name(), w.join(","))
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "threads".into(),
            args.threads
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("entries".into(), args.entries.to_string()),
        ("ops".into(), args.ops.to_string()),
        ("value_size".into(), args.value_size.to_string()),
        ("repeat".into(), args.repeat.to_string()),
        (
            "order".into(),
            format!("{:?}", args.order).to_ascii_lowercase(),
        ),
        (
            "memory".into(),
            if args.cold { "cold" } else { "pre-faulted" }.into(),
        ),
        ("seed".into(), args.seed.to_string()),
        ("latency_every".into(), args.latency_every.to_string()),
        (
            "command".into(),
            std::env::args().collect::<Vec<_>>().join(" "),
        ),
    ];
    if args.contention {
        options.push(("contention".into(), "restarts, waits per op".into()));
    }
    let manifest = report::collect(&run, options, notes);
    manifest
        .write_json(&dir.join("manifest.json"))
        .map_err(|e| format!("writing manifest: {e}"))?;
    render(&dir, &rows, &manifest, !args.no_plots)?;
    println!("{}", report::render_terminal(&rows));
    println!(
        "{} measurements in {:.0} s; results in {}",
        rows.len(),
        t0.elapsed().as_secs_f64(),
        dir.display()
    );
    if !failed.is_empty() {
        eprintln!(
            "note: {} measurements failed verification ({} of an ordex backend); see report.md",
            failed.len(),
            failed_ordex
        );
    }
    if failed_ordex > 0 {
        return Err(format!(
            "{failed_ordex} measurements of ordex backends failed verification"
        ));
    }
    Ok(())
}

fn render(
    dir: &Path,
    rows: &[Row],
    manifest: &report::Manifest,
    plots: bool,
) -> Result<(), String> {
    let md = report::render_markdown(rows, manifest);
    std::fs::write(dir.join("report.md"), md).map_err(|e| format!("writing report.md: {e}"))?;
    report::write_ratios_csv(&dir.join("ratios.csv"), &report::peer_ratios(rows))
        .map_err(|e| format!("writing ratios.csv: {e}"))?;
    if plots {
        report::write_plots(dir, rows).map_err(|e| format!("writing plots: {e}"))?;
    }
    Ok(())
}

fn report_cmd(args: ReportArgs) -> Result<(), String> {
    let rows =
        report::read_csv(&args.csv).map_err(|e| format!("reading {}: {e}", args.csv.display()))?;
    let dir = args
        .out
        .or_else(|| args.csv.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let run = rows.first().map(|r| r.run.clone()).unwrap_or_default();
    let manifest = report::collect(
        &run,
        vec![("source".into(), args.csv.display().to_string())],
        vec![
            "re-rendered from a results CSV; machine details are those of the re-rendering machine"
                .into(),
        ],
    );
    render(&dir, &rows, &manifest, true)?;
    println!("{}", report::render_terminal(&rows));
    println!("report written to {}", dir.display());
    Ok(())
}
