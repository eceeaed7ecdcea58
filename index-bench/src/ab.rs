//! `index-bench ab`: is build B faster or slower than build A?
//!
//! The project judges its own changes this way. Each side is an
//! `index-bench` binary, given as a path or as a git revision of this
//! repository (built once into `target/ab/<commit>/`, then reused).
//!
//! A *session* starts one process of each build on the same options and
//! seed and runs them in lockstep: each announces its next timed slice and
//! waits ([`crate::runner::gate`]); `ab` lets them go one slice at a time,
//! the two builds' copies of each slice back to back in an order drawn at
//! random (a fixed ABBA pattern resonated with each build's own rotation
//! of its indexes), so that every slice of A runs right next to the same
//! slice of B while the other process waits. On this
//! machine the noise of a measurement barely shrinks with its length but
//! is largely independent from one window to the next, so many short
//! interleaved slices give a sharper ratio than a few long runs. Every
//! repeat of a session gives one ratio per figure (B's throughput over
//! A's, for every index, workload, key set and thread count); sessions
//! start fresh processes, alternating which build starts, so that a lucky
//! or unlucky memory layout of one process does not decide the result. The
//! table shows the median of all ratios with its order-statistics interval
//! ([`crate::stats`]): an interval that excludes 1 is a change; one that
//! contains 1 is none this comparison can show. Each process pre-faults its
//! memory before every slice ([`crate::warm`]), so neither side inherits
//! the other's freed memory.
//!
//! A build from before lockstep runs (no hidden `--gated` option) is
//! compared run against run instead: whole runs, alternating ABBA.

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
    /// Sessions: fresh processes of both builds, run in lockstep. Each
    /// gives one ratio per figure; intervals are taken over sessions, so
    /// their number sets the precision (see `compare`).
    #[arg(long, default_value_t = 16)]
    pub sessions: usize,
    /// Repeats per session (a session's ratio is their median).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Most operations per slice of a workload (each slice of A runs next
    /// to the same slice of B).
    #[arg(long, default_value_t = 10_000)]
    pub phase_slice: usize,
    /// Most keys per slice of a load.
    #[arg(long, default_value_t = 25_000)]
    pub load_slice: usize,
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
    /// Operations per workload (more operations, more slices: a sharper
    /// ratio).
    #[arg(long, default_value_t = 100_000)]
    pub ops: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 8)]
    pub value_size: usize,
    /// Seed of the first session (session `i` uses `seed + i`, the same for
    /// A and B).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write ab.md and ab.csv (default: target/index-bench/ab-{time}/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The figure a ratio is about.
type Figure = (String, String, String, usize);

/// Runs the comparison; prints the table and writes `ab.md` and `ab.csv`.
pub fn run(args: AbArgs, default_out: PathBuf, run_id: String) -> Result<(), String> {
    if args.sessions == 0 || args.repeat == 0 {
        return Err("--sessions and --repeat must be positive".into());
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out.join(format!("ab-{run_id}")));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let a = resolve(&args.a, &default_out)?;
    let b = resolve(&args.b, &default_out)?;
    let lockstep = gates(&a) && gates(&b);
    let mode = if lockstep {
        "lockstep, slice by slice, in random order per slice"
    } else {
        "whole runs in ABBA order (a build without lockstep)"
    };
    eprintln!(
        "ab: A = {} ({}), B = {} ({}); {} sessions of {} repeats, {mode}",
        args.a,
        a.display(),
        args.b,
        b.display(),
        args.sessions,
        args.repeat
    );
    // Per session, per repeat: A's and B's throughput per figure.
    let mut sessions: Vec<Vec<Repeat>> = Vec::new();
    let mut notes = Vec::new();
    for session in 0..args.sessions {
        let seed = args.seed.wrapping_add(session as u64);
        let a_first = session % 2 == 0;
        eprintln!(
            "ab: session {}/{} ({} first)",
            session + 1,
            args.sessions,
            if a_first { "A" } else { "B" }
        );
        let out = dir.join(format!("session-{session}"));
        let (rows_a, rows_b) = if lockstep {
            let (ra, rb, note) = run_lockstep([&a, &b], a_first, &args, seed, &out)?;
            notes.extend(note);
            (ra, rb)
        } else if a_first {
            let ra = run_side(&a, &args, seed, &out.join("A"))?;
            (ra, run_side(&b, &args, seed, &out.join("B"))?)
        } else {
            let rb = run_side(&b, &args, seed, &out.join("B"))?;
            (run_side(&a, &args, seed, &out.join("A"))?, rb)
        };
        sessions.push(
            (0..args.repeat)
                .map(|r| (figures(&rows_a, r), figures(&rows_b, r)))
                .collect(),
        );
    }
    let results = compare(&sessions, LEVEL);
    let table = render(&args, &results);
    println!("{table}");
    for n in &notes {
        eprintln!("ab: note: {n}");
    }
    let mut md = format!(
        "# index-bench ab\n\nA = `{}`, B = `{}`: {} sessions of {} repeats ({mode}), \
         seeds {}..={}.\n\n\
         B/A is B's throughput over A's: per session the median of its repeats' ratios, \
         then the median over sessions and its order-statistics interval. The intervals \
         hold together for all figures at 95% (Bonferroni); an interval that reached \
         less shows its coverage. A change is an interval that excludes 1.\n\n\
         ```\n{table}```\n",
        args.a,
        args.b,
        args.sessions,
        args.repeat,
        args.seed,
        args.seed + args.sessions as u64 - 1
    );
    for n in &notes {
        md.push_str(&format!("\nNote: {n}\n"));
    }
    std::fs::write(dir.join("ab.md"), md).map_err(|e| format!("writing ab.md: {e}"))?;
    write_csv(&dir.join("ab.csv"), &results).map_err(|e| format!("writing ab.csv: {e}"))?;
    eprintln!("ab: written to {}", dir.display());
    Ok(())
}

/// The figures of one repeat of a run.
fn figures(rows: &[Row], repeat: usize) -> BTreeMap<Figure, f64> {
    rows.iter()
        .filter(|r| r.repeat == repeat)
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
        .collect()
}

/// Whether `bin` can run in lockstep (knows the hidden `--gated` option).
fn gates(bin: &Path) -> bool {
    Command::new(bin)
        .args(["--gated", "--help"])
        .output()
        .is_ok_and(|o| o.status.success())
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
    /// B / A: the median over sessions, and its interval.
    pub ratio: Estimate,
    /// The coverage this figure's interval aimed for (see [`compare`]).
    pub level: f64,
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

/// One repeat of a session: each build's throughput per figure.
pub type Repeat = (BTreeMap<Figure, f64>, BTreeMap<Figure, f64>);

/// Compares the builds figure by figure. A session's ratio is the median
/// of its repeats' B/A ratios; the interval is taken over sessions, since
/// repeats within one pair of processes share that pair's memory layout
/// and are not independent. The intervals hold together for every figure
/// at `level` (Bonferroni: each figure's at `1 - (1 - level) / figures`),
/// so that identical builds show no change anywhere with that probability.
pub fn compare(sessions: &[Vec<Repeat>], level: f64) -> Vec<Compared> {
    let Some((first, _)) = sessions.first().and_then(|s| s.first()) else {
        return Vec::new();
    };
    let figures: Vec<&Figure> = first
        .keys()
        .filter(|f| {
            sessions
                .iter()
                .flatten()
                .any(|(a, b)| a.contains_key(*f) && b.contains_key(*f))
        })
        .collect();
    let each = 1.0 - (1.0 - level) / figures.len().max(1) as f64;
    figures
        .into_iter()
        .filter_map(|fig| {
            let mut a_all = Vec::new();
            let mut b_all = Vec::new();
            let per_session: Vec<f64> = sessions
                .iter()
                .map(|repeats| {
                    let (xa, xb): (Vec<f64>, Vec<f64>) = repeats
                        .iter()
                        .filter_map(|(a, b)| Some((*a.get(fig)?, *b.get(fig)?)))
                        .unzip();
                    a_all.extend_from_slice(&xa);
                    b_all.extend_from_slice(&xb);
                    stats::median(&stats::paired_ratios(&xb, &xa))
                })
                .collect();
            let ratio = stats::median_ci(&per_session, each)?;
            Some(Compared {
                figure: fig.clone(),
                a_mops: stats::median(&a_all),
                b_mops: stats::median(&b_all),
                ratio,
                level: each,
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
        if c.ratio.level < c.level {
            let _ = write!(ratio, " {:.1}%", c.ratio.level * 100.0);
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
    sessions: usize,
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
            sessions: c.ratio.n,
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

/// The command line of one side's run: the options both sides share.
fn command(bin: &Path, args: &AbArgs, seed: u64, out: &Path) -> Command {
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
        .args(["--repeat", &args.repeat.to_string()])
        .args(["--seed", &seed.to_string(), "--no-plots"])
        .arg("--out")
        .arg(out);
    cmd
}

/// Runs one side on its own and reads back its rows. A failing run (an
/// ordex backend that fails verification, say) is an error that shows its
/// output.
fn run_side(bin: &Path, args: &AbArgs, seed: u64, out: &Path) -> Result<Vec<Row>, String> {
    let output = command(bin, args, seed, out)
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
    read_rows(bin, out)
}

/// The rows a run wrote under `out`.
fn read_rows(bin: &Path, out: &Path) -> Result<Vec<Row>, String> {
    let run_dir = std::fs::read_dir(out)
        .map_err(|e| format!("reading {}: {e}", out.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join(report::CSV_FILE).exists())
        .ok_or_else(|| format!("{} wrote no results under {}", bin.display(), out.display()))?;
    report::read_csv(&run_dir.join(report::CSV_FILE))
        .map_err(|e| format!("reading {}'s results: {e}", bin.display()))
}

/// What a lockstep session returns: A's rows, B's rows, and a note if
/// their slices did not match one to one.
type Session = (Vec<Row>, Vec<Row>, Option<String>);

/// One side of a lockstep session: a gated run of one build.
struct Gated {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// The slice it waits to run, or `None` once it has finished.
    next: Option<String>,
}

impl Gated {
    fn start(bin: &Path, args: &AbArgs, seed: u64, out: &Path) -> Result<Gated, String> {
        use std::process::Stdio;
        std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
        let log = std::fs::File::create(out.join("stderr.txt"))
            .map_err(|e| format!("creating {}: {e}", out.display()))?;
        let mut child = command(bin, args, seed, out)
            .args(["--gated", "--phase-slice", &args.phase_slice.to_string()])
            .args(["--load-slice", &args.load_slice.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let mut g = Gated {
            child,
            stdin,
            lines,
            next: None,
        };
        g.wait_at_gate();
        Ok(g)
    }

    /// Reads the child's output up to its next gate (or its end).
    fn wait_at_gate(&mut self) {
        self.next = None;
        for line in self.lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(label) = line.strip_prefix("gate ") {
                self.next = Some(label.to_string());
                return;
            }
        }
    }

    /// Lets the child run its next slice and waits until it is at the gate
    /// after it (or done).
    fn step(&mut self) {
        use std::io::Write as _;
        if self.next.is_none() {
            return;
        }
        let _ = writeln!(self.stdin, "go");
        let _ = self.stdin.flush();
        self.wait_at_gate();
    }

    fn finish(mut self, bin: &Path, out: &Path) -> Result<Vec<Row>, String> {
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            let log = std::fs::read_to_string(out.join("stderr.txt")).unwrap_or_default();
            return Err(format!("{} failed ({status}):\n{log}", bin.display()));
        }
        read_rows(bin, out)
    }
}

/// One lockstep session: both builds started, then let go one slice at a
/// time, in a random order per slice, until both are done. Returns A's rows, B's rows, and a note
/// if their slices did not match one to one (builds that measure
/// different things still run, but less tightly paired).
fn run_lockstep(
    [a, b]: [&Path; 2],
    a_first: bool,
    args: &AbArgs,
    seed: u64,
    out: &Path,
) -> Result<Session, String> {
    let (out_a, out_b) = (out.join("A"), out.join("B"));
    let mut sides = [
        Gated::start(a, args, seed, &out_a)?,
        Gated::start(b, args, seed, &out_b)?,
    ];
    let mut mismatch = None;
    let mut step = 0usize;
    // Which side goes first is drawn anew for every step. A fixed pattern
    // (ABBA) resonates with the order in which each side rotates its own
    // indexes: one build's slices then keep following its own slice of the
    // same index, on warm caches, and it measured 6% faster than an
    // identical build. A fair coin per step leaves no such pattern.
    let mut coin = crate::dist::SplitMix64::new(seed ^ u64::from(a_first));
    while sides.iter().any(|s| s.next.is_some()) {
        if let [Some(x), Some(y)] = [&sides[0].next, &sides[1].next] {
            if x != y && mismatch.is_none() {
                mismatch = Some(format!(
                    "the builds' slices differ from step {step} on (A: {x}; B: {y})"
                ));
            }
        }
        let first = (coin.next_u64() >> 63) as usize;
        sides[first].step();
        sides[1 - first].step();
        step += 1;
    }
    let [sa, sb] = sides;
    Ok((sa.finish(a, &out_a)?, sb.finish(b, &out_b)?, mismatch))
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
    fn compare_pairs_sessions_and_reports_changes() {
        // B is 10% slower on "x" in every session, equal on "y" up to noise;
        // the machine drifts from session to session, on both sides alike.
        let drift = [1.0, 0.8, 1.1, 0.9, 1.05, 0.95, 1.0];
        let noise = [1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01];
        let mut sessions: Vec<Vec<Repeat>> = drift
            .iter()
            .zip(noise)
            .map(|(d, n)| {
                let a = BTreeMap::from([(fig("x"), 10.0 * d), (fig("y"), 5.0 * d)]);
                let b = BTreeMap::from([(fig("x"), 9.0 * d), (fig("y"), 5.0 * d * n)]);
                vec![(a, b)]
            })
            .collect();
        // A figure only A measured is left out.
        sessions[0][0].0.insert(fig("z"), 1.0);
        let c = compare(&sessions, LEVEL);
        assert_eq!(c.len(), 2);
        let x = c.iter().find(|c| c.figure.0 == "x").unwrap();
        assert!((x.ratio.median - 0.9).abs() < 1e-9);
        assert_eq!(x.change(), "slower");
        let y = c.iter().find(|c| c.figure.0 == "y").unwrap();
        assert_eq!(y.change(), "same");
        assert_eq!(y.ratio.n, 7);
        // Two figures: each interval at 97.5%, which 7 sessions reach.
        assert!((y.level - 0.975).abs() < 1e-12 && y.ratio.level >= y.level);
    }

    /// A session's repeats give one ratio (their median), not several: the
    /// interval is over sessions.
    #[test]
    fn repeats_within_a_session_count_once() {
        let rep = |a: f64, b: f64| {
            (
                BTreeMap::from([(fig("x"), a)]),
                BTreeMap::from([(fig("x"), b)]),
            )
        };
        let sessions = vec![
            vec![rep(1.0, 1.1), rep(1.0, 1.3), rep(1.0, 1.2)],
            vec![rep(1.0, 0.9), rep(1.0, 0.9), rep(1.0, 0.9)],
        ];
        let c = compare(&sessions, LEVEL);
        assert_eq!(c[0].ratio.n, 2);
        assert!((c[0].ratio.low - 0.9).abs() < 1e-12 && (c[0].ratio.high - 1.2).abs() < 1e-12);
    }

    #[test]
    fn resolve_refuses_what_is_neither_file_nor_revision() {
        let err = resolve("no-such-file-or-rev-xyz", Path::new("/tmp")).unwrap_err();
        assert!(err.contains("neither a file nor a git revision"), "{err}");
    }
}
