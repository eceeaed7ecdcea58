//! `index-bench ab`: is build B faster or slower than build A?
//!
//! The project judges its own changes this way. Each side is an
//! `index-bench` binary, given as a path or as a git revision of this
//! repository (built once into `target/ab/<commit>/`, then reused). The two
//! run the same measurements in turn, each run in a fresh process on the
//! same seed, in ABBA order (A B, B A, A B, …), so that a drift of the
//! machine during the comparison falls on both sides equally. Each pair of
//! runs gives one ratio per figure (B's throughput over A's, for every
//! index, workload, key set and thread count); the table shows the median
//! of those ratios with its order-statistics interval ([`crate::stats`]).
//! An interval that excludes 1 is a change; one that contains 1 is none
//! this comparison can show. Each run pre-faults its memory before every
//! measured phase ([`crate::warm`]), so neither side inherits the other's
//! freed memory.

use crate::record::Row;
use crate::report;
use crate::stats::{self, Estimate, LEVEL};
use clap::Args;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options of `index-bench ab`.
#[derive(Args, Debug, Clone)]
pub struct AbArgs {
    /// Build A (the baseline): a path to an index-bench binary, or a git
    /// revision of this repository (a commit, branch or tag).
    pub a: String,
    /// Build B (the change): a path or a git revision, as for A.
    pub b: String,
    /// Pairs of runs (each pair is one A run and one B run). Six or more
    /// give 95% intervals.
    #[arg(long, default_value_t = 6)]
    pub pairs: usize,
    /// Indexes to compare, comma-separated (see `index-bench list`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ordex-skiplist,ordex-btree"
    )]
    pub indexes: Vec<String>,
    /// Workloads, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "load,read-uniform,read-newest,scan"
    )]
    pub workloads: Vec<String>,
    /// Key sets, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "u64-random,ids-asc,composite,words,urls"
    )]
    pub keysets: Vec<String>,
    /// Thread counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub threads: Vec<usize>,
    /// Entries loaded.
    #[arg(long, default_value_t = 100_000)]
    pub entries: usize,
    /// Operations per workload.
    #[arg(long, default_value_t = 100_000)]
    pub ops: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 8)]
    pub value_size: usize,
    /// Seed of the first pair (pair `i` uses `seed + i`, the same for A and B).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write ab.md and ab.csv (default: target/index-bench/ab-<time>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The figure a ratio is about.
type Figure = (String, String, String, usize);

/// Runs the comparison; prints the table and writes `ab.md` and `ab.csv`.
pub fn run(args: AbArgs, default_out: PathBuf, run_id: String) -> Result<(), String> {
    if args.pairs == 0 {
        return Err("--pairs must be positive".into());
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out.join(format!("ab-{run_id}")));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let a = resolve(&args.a, &default_out)?;
    let b = resolve(&args.b, &default_out)?;
    eprintln!(
        "ab: A = {} ({}), B = {} ({}); {} pairs in ABBA order",
        args.a,
        a.display(),
        args.b,
        b.display(),
        args.pairs
    );
    // Per figure: A's and B's throughput, pair by pair.
    let mut a_runs: Vec<BTreeMap<Figure, f64>> = Vec::new();
    let mut b_runs: Vec<BTreeMap<Figure, f64>> = Vec::new();
    for pair in 0..args.pairs {
        let seed = args.seed.wrapping_add(pair as u64);
        let sides: [(&Path, bool); 2] = if pair % 2 == 0 {
            [(&a, true), (&b, false)]
        } else {
            [(&b, false), (&a, true)]
        };
        for (bin, is_a) in sides {
            let label = if is_a { "A" } else { "B" };
            eprintln!("ab: pair {}/{}: {label}", pair + 1, args.pairs);
            let rows = run_side(bin, &args, seed, &dir.join(format!("{pair}-{label}")))?;
            let figures = rows
                .iter()
                .map(|r| {
                    (
                        (
                            r.index.clone(),
                            r.workload.clone(),
                            r.keyset.clone(),
                            r.threads,
                        ),
                        r.mops,
                    )
                })
                .collect();
            if is_a {
                a_runs.push(figures);
            } else {
                b_runs.push(figures);
            }
        }
    }
    let results = compare(&a_runs, &b_runs);
    let table = render(&args, &results);
    println!("{table}");
    let md = format!(
        "# index-bench ab\n\nA = `{}`, B = `{}`, {} pairs in ABBA order, seeds {}..{}.\n\n\
         B/A is B's throughput over A's, pair by pair: the median, its order-statistics \
         interval (95% from six pairs on; the coverage is shown when lower), and whether \
         the interval excludes 1.\n\n```\n{table}```\n",
        args.a,
        args.b,
        args.pairs,
        args.seed,
        args.seed + args.pairs as u64 - 1
    );
    std::fs::write(dir.join("ab.md"), md).map_err(|e| format!("writing ab.md: {e}"))?;
    write_csv(&dir.join("ab.csv"), &results).map_err(|e| format!("writing ab.csv: {e}"))?;
    eprintln!("ab: written to {}", dir.display());
    Ok(())
}

/// One figure's comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// Index, workload, key set, threads.
    pub figure: (String, String, String, usize),
    /// Median throughput of A, Mops/s.
    pub a_mops: f64,
    /// Median throughput of B, Mops/s.
    pub b_mops: f64,
    /// B / A, pair by pair.
    pub ratio: Estimate,
}

impl Compared {
    /// `faster`, `slower` (the interval excludes 1) or `same`.
    pub fn change(&self) -> &'static str {
        if self.ratio.low > 1.0 {
            "faster"
        } else if self.ratio.high < 1.0 {
            "slower"
        } else {
            "same"
        }
    }
}

/// Pairs the i-th A run with the i-th B run, figure by figure.
pub fn compare(a: &[BTreeMap<Figure, f64>], b: &[BTreeMap<Figure, f64>]) -> Vec<Compared> {
    let Some(first) = a.first() else {
        return Vec::new();
    };
    first
        .keys()
        .filter_map(|fig| {
            let (xa, xb): (Vec<f64>, Vec<f64>) = a
                .iter()
                .zip(b)
                .filter_map(|(ra, rb)| Some((*ra.get(fig)?, *rb.get(fig)?)))
                .unzip();
            let ratio = stats::median_ci(&stats::paired_ratios(&xb, &xa), LEVEL)?;
            Some(Compared {
                figure: fig.clone(),
                a_mops: stats::median(&xa),
                b_mops: stats::median(&xb),
                ratio,
            })
        })
        .collect()
}

fn render(args: &AbArgs, results: &[Compared]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<20} {:<13} {:<11} {:>3} {:>9} {:>9}  {:<24} change",
        "index", "workload", "keyset", "thr", "A Mops/s", "B Mops/s", "B/A [interval]"
    );
    for c in results {
        let (index, workload, keyset, threads) = &c.figure;
        let mut ratio = format!(
            "{:.3} [{:.3}-{:.3}]",
            c.ratio.median, c.ratio.low, c.ratio.high
        );
        if c.ratio.level < LEVEL {
            let _ = write!(ratio, " {:.0}%", c.ratio.level * 100.0);
        }
        let _ = writeln!(
            t,
            "{index:<20} {workload:<13} {keyset:<11} {threads:>3} {:>9.3} {:>9.3}  {ratio:<24} {}",
            c.a_mops,
            c.b_mops,
            c.change()
        );
    }
    if results.is_empty() {
        let _ = writeln!(
            t,
            "(no figure measured by both builds: {:?} on {:?})",
            args.indexes, args.keysets
        );
    }
    t
}

#[derive(serde::Serialize)]
struct Record<'a> {
    index: &'a str,
    workload: &'a str,
    keyset: &'a str,
    threads: usize,
    pairs: usize,
    a_mops: f64,
    b_mops: f64,
    ratio: f64,
    ci_low: f64,
    ci_high: f64,
    ci_level: f64,
    change: &'a str,
}

fn write_csv(path: &Path, results: &[Compared]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    for c in results {
        let (index, workload, keyset, threads) = &c.figure;
        w.serialize(Record {
            index,
            workload,
            keyset,
            threads: *threads,
            pairs: c.ratio.n,
            a_mops: c.a_mops,
            b_mops: c.b_mops,
            ratio: c.ratio.median,
            ci_low: c.ratio.low,
            ci_high: c.ratio.high,
            ci_level: c.ratio.level,
            change: c.change(),
        })?;
    }
    w.flush()
}

/// Runs one side once (one repeat of every measurement) and reads back its
/// rows. A failing run (an ordex backend that fails verification, say) is
/// an error that shows its output.
fn run_side(bin: &Path, args: &AbArgs, seed: u64, out: &Path) -> Result<Vec<Row>, String> {
    let join = |v: &[String]| v.join(",");
    let threads: Vec<String> = args.threads.iter().map(usize::to_string).collect();
    let mut cmd = Command::new(bin);
    cmd.args(["--indexes", &join(&args.indexes)])
        .args(["--workloads", &join(&args.workloads)])
        .args(["--keysets", &join(&args.keysets)])
        .args(["--threads", &join(&threads)])
        .args(["--entries", &args.entries.to_string()])
        .args(["--ops", &args.ops.to_string()])
        .args(["--value-size", &args.value_size.to_string()])
        .args(["--repeat", "1", "--seed", &seed.to_string(), "--no-plots"])
        .arg("--out")
        .arg(out);
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            bin.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let run_dir = std::fs::read_dir(out)
        .map_err(|e| format!("reading {}: {e}", out.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join(report::CSV_FILE).exists())
        .ok_or_else(|| format!("{} wrote no results under {}", bin.display(), out.display()))?;
    report::read_csv(&run_dir.join(report::CSV_FILE))
        .map_err(|e| format!("reading {}'s results: {e}", bin.display()))
}

/// The binary for `spec`: the path itself if it names a file, else the
/// git revision `spec` of this repository, built once (release profile)
/// into `<out>/../ab/<commit>/`.
fn resolve(spec: &str, out: &Path) -> Result<PathBuf, String> {
    let path = Path::new(spec);
    if path.is_file() {
        return path.canonicalize().map_err(|e| format!("{spec}: {e}"));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let commit = git(
        &repo,
        &["rev-parse", "--verify", &format!("{spec}^{{commit}}")],
    )
    .map_err(|e| format!("{spec} is neither a file nor a git revision: {e}"))?;
    let root = out.join("..").join("ab").join(&commit);
    let bin = root.join("target").join("release").join("index-bench");
    if bin.is_file() {
        return Ok(bin);
    }
    let src = root.join("src");
    if !src.join("Cargo.toml").is_file() {
        std::fs::create_dir_all(&src).map_err(|e| format!("creating {}: {e}", src.display()))?;
        eprintln!("ab: extracting {spec} ({commit}) into {}", src.display());
        let archive = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["archive", "--format=tar", &commit])
            .output()
            .map_err(|e| format!("git archive: {e}"))?;
        if !archive.status.success() {
            return Err(format!(
                "git archive {commit}: {}",
                String::from_utf8_lossy(&archive.stderr)
            ));
        }
        let mut tar = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&src)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("tar: {e}"))?;
        {
            use std::io::Write as _;
            let mut stdin = tar.stdin.take().expect("piped stdin");
            stdin
                .write_all(&archive.stdout)
                .map_err(|e| format!("tar: {e}"))?;
        }
        let status = tar.wait().map_err(|e| format!("tar: {e}"))?;
        if !status.success() {
            return Err(format!("tar -x into {} failed", src.display()));
        }
    }
    eprintln!("ab: building {spec} ({commit}); this takes a few minutes once");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "index-bench", "--manifest-path"])
        .arg(src.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target"))
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() || !bin.is_file() {
        return Err(format!("building {spec} ({commit}) failed"));
    }
    Ok(bin)
}

fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(index: &str) -> Figure {
        (index.into(), "load".into(), "u64-random".into(), 1)
    }

    #[test]
    fn compare_pairs_runs_and_reports_changes() {
        // B is 10% slower on "x" in every pair, equal on "y" up to noise;
        // the machine drifts from pair to pair, on both sides alike.
        let drift = [1.0, 0.8, 1.1, 0.9, 1.05, 0.95, 1.0];
        let noise = [1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01];
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (i, d) in drift.iter().enumerate() {
            a.push(BTreeMap::from([(fig("x"), 10.0 * d), (fig("y"), 5.0 * d)]));
            b.push(BTreeMap::from([
                (fig("x"), 9.0 * d),
                (fig("y"), 5.0 * d * noise[i]),
            ]));
        }
        // A figure only A measured is left out.
        a[0].insert(fig("z"), 1.0);
        let c = compare(&a, &b);
        assert_eq!(c.len(), 2);
        let x = c.iter().find(|c| c.figure.0 == "x").unwrap();
        assert!((x.ratio.median - 0.9).abs() < 1e-9);
        assert_eq!(x.change(), "slower");
        let y = c.iter().find(|c| c.figure.0 == "y").unwrap();
        assert_eq!(y.change(), "same");
        assert_eq!(y.ratio.n, 7);
        assert!(y.ratio.level >= LEVEL);
    }

    #[test]
    fn resolve_refuses_what_is_neither_file_nor_revision() {
        let err = resolve("no-such-file-or-rev-xyz", Path::new("/tmp")).unwrap_err();
        assert!(err.contains("neither a file nor a git revision"), "{err}");
    }
}
