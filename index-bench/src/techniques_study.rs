//! `index-bench techniques`: concurrency techniques on identical work.
//!
//! The same B-tree (ordex-btree: one node layout, one set of code paths)
//! under its three synchronization protocols — one reader-writer lock
//! around the tree (`GlobalLock`), per-node reader-writer latches taken
//! hand-over-hand (`LockCoupling`), and optimistic lock coupling with
//! version words (`Optimistic`, the default) — beside the lock-free skip
//! list (ordex-skiplist) and `RwLock<BTreeMap>` (the baseline of Badger's
//! skip-list sweep). The ART and the persistent tree join as the RCU and
//! path-copying data points once they are implemented.
//!
//! Every run of a cell (technique × thread count × read fraction; the
//! techniques take turns, repeat by repeat) builds a fresh
//! index, loads the same `--entries` random u64 keys (big-endian, 8-byte
//! values), then runs `--threads` threads for `--millis` ms: each
//! operation is a get of a loaded key with probability `read%`, otherwise
//! an upsert of a key drawn from twice the loaded key space (half of the
//! writes insert new keys, so nodes split). Reported per cell: the median
//! throughput of `--repeat` runs, and for the B-tree protocols restarts
//! and lock waits per operation (ordex_btree's per-thread counters, from
//! the median run). Every get of a loaded key must hit (the study fails
//! otherwise). Writes `techniques.md`, `techniques.csv` and
//! `techniques.svg` (throughput against read fraction, one line per
//! technique, one panel per thread count).

use crate::adapter::{BenchIndex, Key};
use crate::adapters::ordex_index::Ordex;
use crate::adapters::rwlock_btreemap::RwLockBTreeMap;
use crate::dist::SplitMix64;
use clap::Args;
use ordex_btree::{BTree, GlobalLock, LockCoupling, Optimistic};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Options of `index-bench techniques`.
#[derive(Args, Debug, Clone)]
pub struct TechniquesArgs {
    /// Keys loaded into each fresh index before a cell runs.
    #[arg(long, default_value_t = 100_000)]
    pub entries: usize,
    /// Duration of each cell's timed run, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub millis: u64,
    /// Thread counts, comma-separated (above this machine's cores they are
    /// oversubscribed).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub threads: Vec<usize>,
    /// Read percentages, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,10,20,30,40,50,60,70,80,90,100"
    )]
    pub reads: Vec<u32>,
    /// Techniques, comma-separated (default: all): btree-global,
    /// btree-coupling, btree-optimistic, skiplist, rwlock-btreemap.
    #[arg(long, value_delimiter = ',')]
    pub techniques: Vec<String>,
    /// Repeats of each cell (the median throughput is reported).
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

/// A technique of the study: a name, how the technique synchronizes, and
/// whether it reports ordex_btree's restart / wait counters.
struct Technique {
    name: &'static str,
    what: &'static str,
    counters: bool,
    run: fn(&Cell<'_>) -> Measured,
}

const TECHNIQUES: &[Technique] = &[
    Technique {
        name: "btree-global",
        what: "ordex-btree, one reader-writer lock around the tree",
        counters: true,
        run: run_cell::<Ordex<BTree<GlobalLock>>>,
    },
    Technique {
        name: "btree-coupling",
        what: "ordex-btree, per-node reader-writer latches hand-over-hand",
        counters: true,
        run: run_cell::<Ordex<BTree<LockCoupling>>>,
    },
    Technique {
        name: "btree-optimistic",
        what: "ordex-btree, optimistic lock coupling (version words, B-link)",
        counters: true,
        run: run_cell::<Ordex<BTree<Optimistic>>>,
    },
    Technique {
        name: "skiplist",
        what: "ordex-skiplist, lock-free (CAS on links)",
        counters: false,
        run: run_cell::<Ordex<ordex_skiplist::SkipList>>,
    },
    Technique {
        name: "rwlock-btreemap",
        what: "std BTreeMap behind a parking_lot RwLock",
        counters: false,
        run: run_cell::<RwLockBTreeMap>,
    },
];

/// One cell's parameters.
struct Cell<'a> {
    keys: &'a [[u8; 8]],
    loaded: usize,
    threads: usize,
    read_pct: u32,
    millis: u64,
    seed: u64,
}

/// One timed run of a cell.
#[derive(Debug, Clone, Copy, Default)]
struct Measured {
    ops: u64,
    secs: f64,
    restarts: u64,
    waits: u64,
    /// Gets of loaded keys that found nothing (must be 0: loaded keys
    /// are never removed).
    misses: u64,
}

impl Measured {
    fn mops(&self) -> f64 {
        self.ops as f64 / self.secs / 1e6
    }
}

const VALUE: [u8; 8] = [0x5A; 8];

fn key(k: &[u8; 8]) -> Key<'_> {
    Key {
        bytes: k,
        int: Some(u64::from_be_bytes(*k)),
    }
}

/// Builds a fresh index, loads the first `loaded` keys, runs the mix.
fn run_cell<I: BenchIndex>(c: &Cell<'_>) -> Measured {
    let index = I::new();
    for k in &c.keys[..c.loaded] {
        index.insert(key(k), &VALUE);
    }
    let stop = AtomicBool::new(false);
    let start = Barrier::new(c.threads + 1);
    let (mut total, secs) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..c.threads)
            .map(|t| {
                let (index, stop, start) = (&index, &stop, &start);
                let mut rng = SplitMix64::new(c.seed ^ (0x7EC4 + t as u64));
                s.spawn(move || {
                    let before = ordex_btree::contention();
                    start.wait();
                    let mut ops = 0u64;
                    let (mut hits, mut misses) = (0usize, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            if rng.below(100) < u64::from(c.read_pct) {
                                let k = &c.keys[rng.below(c.loaded as u64) as usize];
                                match index.get(key(k)) {
                                    Some(d) => hits += d,
                                    None => misses += 1,
                                }
                            } else {
                                let k = &c.keys[rng.below(c.keys.len() as u64) as usize];
                                index.insert(key(k), &VALUE);
                            }
                        }
                        ops += 64;
                    }
                    black_box(hits);
                    let after = ordex_btree::contention();
                    Measured {
                        ops,
                        secs: 0.0,
                        restarts: after.restarts - before.restarts,
                        waits: after.waits - before.waits,
                        misses,
                    }
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(c.millis));
        stop.store(true, Ordering::Relaxed);
        let mut total = Measured::default();
        for w in workers {
            let m = w.join().expect("worker panicked");
            total.ops += m.ops;
            total.restarts += m.restarts;
            total.waits += m.waits;
            total.misses += m.misses;
        }
        (total, t0.elapsed().as_secs_f64())
    });
    total.secs = secs;
    drop(index);
    total
}

/// The median run (by throughput) of a cell's repeats.
fn median(mut runs: Vec<Measured>) -> Measured {
    runs.sort_by(|a, b| a.mops().total_cmp(&b.mops()));
    runs[runs.len() / 2]
}

/// One line of the results: a technique at a thread count and read %.
#[derive(Debug, Clone)]
struct Point {
    technique: &'static str,
    threads: usize,
    read_pct: u32,
    m: Measured,
    counters: bool,
}

/// Runs the study; prints the table and writes the report files.
pub fn run(args: TechniquesArgs, default_out: PathBuf) -> Result<(), String> {
    let loaded = args.entries.max(100);
    let repeat = args.repeat.max(1);
    let chosen: Vec<&Technique> = if args.techniques.is_empty() {
        TECHNIQUES.iter().collect()
    } else {
        args.techniques
            .iter()
            .map(|n| {
                TECHNIQUES.iter().find(|t| t.name == n).ok_or_else(|| {
                    let names: Vec<_> = TECHNIQUES.iter().map(|t| t.name).collect();
                    format!("unknown technique {n:?} (known: {})", names.join(", "))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if args.threads.contains(&0) || args.reads.iter().any(|&r| r > 100) {
        return Err("thread counts must be >= 1 and read percentages <= 100".into());
    }
    let mut rng = SplitMix64::new(args.seed);
    let keys: Vec<[u8; 8]> = (0..2 * loaded)
        .map(|_| rng.next_u64().to_be_bytes())
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    eprintln!(
        "techniques study: {} techniques × threads {:?} × reads {:?} %, {loaded} keys loaded, \
         {} ms per cell, median of {repeat}",
        chosen.len(),
        args.threads,
        args.reads,
        args.millis
    );
    // Techniques take turns within each cell, repeat by repeat, so that a
    // burst of load from elsewhere on a shared machine hits them alike
    // rather than one technique's whole line.
    let mut points = Vec::new();
    for &threads in &args.threads {
        for &read_pct in &args.reads {
            let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); chosen.len()];
            for r in 0..repeat {
                for (i, t) in chosen.iter().enumerate() {
                    let m = (t.run)(&Cell {
                        keys: &keys,
                        loaded,
                        threads,
                        read_pct,
                        millis: args.millis,
                        seed: args.seed ^ (r as u64) << 32,
                    });
                    if m.misses > 0 {
                        return Err(format!(
                            "{} missed {} gets of loaded keys ({threads} threads, \
                             {read_pct}% reads): a lost write or a broken read",
                            t.name, m.misses
                        ));
                    }
                    runs[i].push(m);
                }
            }
            let mut line = format!("  {threads} thr {read_pct:>3}% reads:");
            for (t, runs) in chosen.iter().zip(runs) {
                let m = median(runs);
                let _ = write!(line, " {} {:.2}", t.name, m.mops());
                points.push(Point {
                    technique: t.name,
                    threads,
                    read_pct,
                    m,
                    counters: t.counters,
                });
            }
            eprintln!("{line} Mops/s");
        }
    }

    let command = format!(
        "index-bench techniques --entries {loaded} --millis {} --threads {} --reads {} --repeat {repeat} --seed {}",
        args.millis,
        join(&args.threads),
        join(&args.reads),
        args.seed
    );
    let md = markdown(&points, &chosen, &args, cores, &command);
    print!("\n{md}");
    let dir = args.out.unwrap_or(default_out);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let md_path = dir.join("techniques.md");
    std::fs::write(&md_path, &md).map_err(|e| e.to_string())?;
    let csv_path = dir.join("techniques.csv");
    std::fs::write(&csv_path, csv(&points)).map_err(|e| e.to_string())?;
    println!(
        "\nwritten to {} and {}",
        md_path.display(),
        csv_path.display()
    );
    if !args.no_plot {
        let svg = dir.join("techniques.svg");
        plot(&svg, &points, &chosen, &args.threads, cores)
            .map_err(|e| format!("drawing {}: {e}", svg.display()))?;
        println!("plot: {}", svg.display());
    }
    Ok(())
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

fn per_op(n: u64, ops: u64) -> String {
    format!("{:.4}", n as f64 / ops.max(1) as f64)
}

fn markdown(
    points: &[Point],
    chosen: &[&Technique],
    args: &TechniquesArgs,
    cores: usize,
    command: &str,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Concurrency techniques on identical work\n\n`{command}`\n\n\
         {} random u64 keys loaded; a read gets a loaded key, a write upserts a key from twice \
         that space (8-byte values). {} ms per cell, median of {} runs; this machine has {cores} \
         cores (thread counts above that are oversubscribed).\n",
        args.entries.max(100),
        args.millis,
        args.repeat.max(1)
    );
    for t in chosen {
        let _ = writeln!(md, "- **{}**: {}", t.name, t.what);
    }
    let _ = writeln!(md);
    for &threads in &args.threads {
        let _ = writeln!(md, "## {threads} thread(s): throughput, Mops/s\n");
        table_header(&mut md, &args.reads);
        for t in chosen {
            let _ = write!(md, "| {} |", t.name);
            for &r in &args.reads {
                let p = points
                    .iter()
                    .find(|p| p.technique == t.name && p.threads == threads && p.read_pct == r);
                let _ = write!(
                    md,
                    " {} |",
                    p.map_or("".into(), |p| format!("{:.2}", p.m.mops()))
                );
            }
            let _ = writeln!(md);
        }
        let _ = writeln!(
            md,
            "\nRestarts / lock waits per operation (ordex-btree protocols):\n"
        );
        table_header(&mut md, &args.reads);
        for t in chosen.iter().filter(|t| t.counters) {
            let _ = write!(md, "| {} |", t.name);
            for &r in &args.reads {
                let p = points
                    .iter()
                    .find(|p| p.technique == t.name && p.threads == threads && p.read_pct == r);
                let cell = p.map_or(String::new(), |p| {
                    format!(
                        "{} / {}",
                        per_op(p.m.restarts, p.m.ops),
                        per_op(p.m.waits, p.m.ops)
                    )
                });
                let _ = write!(md, " {cell} |");
            }
            let _ = writeln!(md);
        }
        let _ = writeln!(md);
    }
    md
}

/// One line of `techniques.csv`; the rates are written with four decimals,
/// the counters left empty where the technique has none.
#[derive(serde::Serialize)]
struct CsvRecord<'a> {
    technique: &'a str,
    threads: usize,
    read_pct: u32,
    ops: u64,
    secs: String,
    mops: String,
    restarts_per_op: String,
    waits_per_op: String,
}

fn csv(points: &[Point]) -> String {
    // The header is written even with no points (serde writes it only
    // before a first record).
    let mut w = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record([
        "technique",
        "threads",
        "read_pct",
        "ops",
        "secs",
        "mops",
        "restarts_per_op",
        "waits_per_op",
    ])
    .expect("writing to memory cannot fail");
    for p in points {
        let (restarts_per_op, waits_per_op) = if p.counters {
            (per_op(p.m.restarts, p.m.ops), per_op(p.m.waits, p.m.ops))
        } else {
            (String::new(), String::new())
        };
        w.serialize(CsvRecord {
            technique: p.technique,
            threads: p.threads,
            read_pct: p.read_pct,
            ops: p.m.ops,
            secs: format!("{:.4}", p.m.secs),
            mops: format!("{:.4}", p.m.mops()),
            restarts_per_op,
            waits_per_op,
        })
        .expect("serializing to memory cannot fail");
    }
    let bytes = w.into_inner().expect("flushing to memory cannot fail");
    String::from_utf8(bytes).expect("the CSV of UTF-8 fields is UTF-8")
}

const COLOURS: &[RGBColor] = &[
    RGBColor(0x8d, 0x6e, 0x63), // brown: global lock
    RGBColor(0x1f, 0x5f, 0xd6), // blue: lock coupling
    RGBColor(0xd6, 0x27, 0x28), // red: optimistic
    RGBColor(0x0b, 0x8f, 0x3e), // green: skip list
    RGBColor(0x9e, 0x9e, 0x9e), // grey: RwLock<BTreeMap>
    RGBColor(0x8e, 0x24, 0xaa),
    RGBColor(0xef, 0x6c, 0x00),
];

/// Throughput against read fraction, one line per technique, one panel
/// per thread count.
fn plot(
    path: &Path,
    points: &[Point],
    chosen: &[&Technique],
    threads: &[usize],
    cores: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let panels = threads.len().max(1);
    let root = SVGBackend::new(path, (460 * panels as u32, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    title.draw(&Text::new(
        "Throughput against read fraction (ordex-btree protocols and peers)",
        (10, 10),
        ("sans-serif", 18).into_font(),
    ))?;
    let ymax = points.iter().map(|p| p.m.mops()).fold(0.0, f64::max) * 1.1 + 1e-9;
    for (area, &thr) in body.split_evenly((1, panels)).iter().zip(threads) {
        let over = if thr > cores { " (oversubscribed)" } else { "" };
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{thr} thread(s){over}"), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(0u32..100u32, 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_desc("reads, %")
            .y_desc("Mops/s")
            .draw()?;
        for (i, t) in chosen.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let mut pts: Vec<(u32, f64)> = points
                .iter()
                .filter(|p| p.technique == t.name && p.threads == thr)
                .map(|p| (p.read_pct, p.m.mops()))
                .collect();
            pts.sort_by_key(|p| p.0);
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
                .label(t.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            chart.draw_series(pts.iter().map(|&pt| Circle::new(pt, 3, colour.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The header of a table with one column per read percentage.
fn table_header(md: &mut String, reads: &[u32]) {
    let _ = write!(md, "| technique |");
    for r in reads {
        let _ = write!(md, " {r}% |");
    }
    let _ = write!(md, "\n|---|");
    for _ in reads {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md);
}
