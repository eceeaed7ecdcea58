//! The binary end to end: a smoke run writes every artefact, `report`
//! re-renders them from the CSV, `advise` recommends a backend, and bad
//! options are refused with a message.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_index-bench"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("index-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The records of a CSV file, each a map from column name to value.
fn records(path: &Path) -> Vec<HashMap<String, String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn only_subdir(dir: &Path) -> PathBuf {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "one run directory expected in {}",
        dir.display()
    );
    runs.pop().unwrap()
}

#[test]
fn smoke_run_writes_every_artefact_and_report_rerenders_them() {
    let out = scratch("smoke");
    let status = bin()
        .args([
            "--smoke",
            "--entries",
            "2000",
            "--ops",
            "4000",
            "--keysets",
            "u64-random,emails",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let run = only_subdir(&out);
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("run,index,ordex,workload,keyset"));
    let rows = index_bench::report::read_csv(&run.join("results.csv")).unwrap();
    for index in [
        "ordex-reference",
        "crossbeam-skiplist",
        "scc-treeindex",
        "imbl-ordmap",
        "null",
    ] {
        assert!(rows.iter().any(|r| r.index == index), "no rows for {index}");
    }
    assert!(
        rows.iter().any(|r| r.index == "congee"),
        "congee runs on integer keys"
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.index == "congee" && r.keyset == "emails"),
        "congee is u64-only and must not run on string keys"
    );
    let ordex_failures = rows
        .iter()
        .filter(|r| r.index == "ordex-reference" && r.verified.contains("FAILED"))
        .count();
    assert_eq!(ordex_failures, 0);
    // Naming key sets replaces the default suite.
    assert!(rows
        .iter()
        .all(|r| ["u64-random", "emails"].contains(&r.keyset.as_str())));
    let ratios_text = std::fs::read_to_string(run.join("ratios.csv")).unwrap();
    assert!(ratios_text.starts_with(
        "workload,keyset,value_size,threads,index,peer,repeats,ratio,ci_low,ci_high,ci_level"
    ));
    let ratios = records(&run.join("ratios.csv"));
    assert!(
        ratios
            .iter()
            .any(|r| r["index"] == "ordex-reference" && r["peer"] == "crossbeam-skiplist"),
        "{ratios_text}"
    );
    assert!(
        ratios
            .iter()
            .all(|r| r["index"] != "null" && r["peer"] != "null"),
        "null is never a peer"
    );
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"cores\""));
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("ycsb-c"));
    for plot in ["throughput-u64-random.svg", "bytes-per-entry.svg"] {
        let svg = std::fs::read_to_string(run.join(plot)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("ordex-reference"),
            "{plot}"
        );
    }

    let rerender = scratch("rerender");
    let status = bin()
        .arg("report")
        .arg(run.join("results.csv"))
        .arg("--out")
        .arg(&rerender)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(rerender.join("report.md").exists());
    assert!(rerender.join("throughput-emails.svg").exists());
}

/// The default suite runs every key shape with load, reads of all and of
/// the newest keys, and scans; every index once per repeat, in a rotating
/// order.
#[test]
fn default_suite_covers_every_key_shape() {
    let out = scratch("suite");
    let status = bin()
        .args([
            "--no-plots",
            "--entries",
            "1500",
            "--ops",
            "2000",
            "--threads",
            "1",
            "--repeat",
            "2",
            "--indexes",
            "ordex-reference,rwlock-btreemap",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let rows = index_bench::report::read_csv(&only_subdir(&out).join("results.csv")).unwrap();
    for keyset in [
        "u64-random",
        "u64-mono",
        "ids-asc",
        "ids-desc",
        "composite",
        "words",
        "urls",
    ] {
        for workload in ["load", "read-uniform", "read-newest", "scan"] {
            let n = rows
                .iter()
                .filter(|r| r.keyset == keyset && r.workload == workload)
                .count();
            assert_eq!(n, 2 * 2, "{keyset} {workload}: 2 indexes x 2 repeats");
        }
    }
    assert!(rows
        .iter()
        .any(|r| r.keyset == "words" && r.workload == "ycsb-a"));
    assert!(!rows
        .iter()
        .any(|r| r.keyset == "ids-asc" && r.workload == "ycsb-a"));
    assert!(
        rows.iter().all(|r| r.verified == "ok"),
        "every read verified"
    );
}

/// `ab` compares two builds; here the same binary twice, which must run
/// both sides in lockstep and report every figure with its ratio.
#[test]
fn ab_compares_two_builds() {
    let out = scratch("ab");
    let me = env!("CARGO_BIN_EXE_index-bench");
    let run = bin()
        .args([
            "ab",
            me,
            me,
            "--sessions",
            "2",
            "--entries",
            "2000",
            "--ops",
            "2000",
        ])
        .args([
            "--indexes",
            "ordex-reference,null",
            "--keysets",
            "u64-random,words",
        ])
        .args(["--workloads", "load,read-uniform"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "ab failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let csv = std::fs::read_to_string(out.join("ab.csv")).unwrap();
    let records = records(&out.join("ab.csv"));
    // 2 indexes x 2 workloads x 2 key sets, each over 2 sessions.
    assert_eq!(records.len(), 8, "{csv}");
    assert!(records.iter().all(|r| r["sessions"] == "2"), "{csv}");
    assert!(stdout.contains("B/A"), "{stdout}");
    let md = std::fs::read_to_string(out.join("ab.md")).unwrap();
    assert!(md.contains("lockstep"), "{md}");
    // Both sides ran gated, slice by slice, and wrote their results.
    for side in ["A", "B"] {
        assert!(out.join("session-1").join(side).is_dir(), "{side}");
    }
    // A side that is not a build is refused with a message.
    let bad = bin()
        .args(["ab", me, "no-such-build-xyz"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a file nor a git revision"));
}

#[test]
fn advise_recommends_an_ordex_backend() {
    let out = bin()
        .args([
            "advise",
            "--entries",
            "2000",
            "--ops",
            "4000",
            "--repeat",
            "1",
            "--read",
            "70",
            "--scan",
            "30",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("recommendation: ordex-"), "{text}");
}

#[test]
fn bad_options_are_refused_with_a_message() {
    for args in [
        &["--threads", "0"][..],
        &["--workloads", "ycsb-z"],
        &["--indexes", "nope"],
        &["--keysets", "x"],
    ] {
        let out = bin().args(args).arg("--smoke").output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(!out.stderr.is_empty(), "{args:?} gave no message");
    }
}

#[test]
fn memtable_study_writes_its_table_and_finds_every_key() {
    let out = scratch("memtable");
    let run = bin()
        .args(["memtable", "--entries", "3000", "--repeat", "1"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "memtable study failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let md = std::fs::read_to_string(out.join("memtable.md")).unwrap();
    for row in [
        "multi_get of 64 random keys",
        "sorted insert_batch",
        "reverse vs forward scan",
        "flush iteration vs crossbeam-skiplist",
        "heap allocations",
    ] {
        assert!(md.contains(row), "memtable.md lacks {row:?}:\n{md}");
    }
    // Reads and cursor steps never allocate, whatever the machine's speed.
    assert!(md.contains("| 0 / 0 / "), "allocations row:\n{md}");
}

#[test]
fn btree_study_writes_its_table() {
    let out = scratch("btree");
    let run = bin()
        .args(["btree", "--entries", "10000", "--repeat", "1"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "btree study failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let md = std::fs::read_to_string(out.join("btree.md")).unwrap();
    for row in [
        "load (random inserts) vs scc::TreeIndex<u64, u64>",
        "get vs scc::TreeIndex<u64, u64>",
        "100-entry scan vs scc::TreeIndex<u64, u64>",
        "node-size sweep",
        "bulk load of",
        "pending epoch garbage",
        "memory after inserting and removing",
        "| 256 |",
    ] {
        assert!(md.contains(row), "btree.md lacks {row:?}:\n{md}");
    }
    // Gets, seeks and cursor steps never allocate, whatever the speed.
    assert!(md.contains("| 0 / 0 |"), "allocations row:\n{md}");
}

#[test]
fn techniques_study_writes_its_table_and_plot() {
    let out = scratch("techniques");
    let run = bin()
        .args([
            "techniques",
            "--entries",
            "2000",
            "--ops",
            "2000",
            "--threads",
            "1,2",
            "--reads",
            "0,50,100",
            "--repeat",
            "1",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "techniques study failed: {}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    let md = std::fs::read_to_string(out.join("techniques.md")).unwrap();
    for t in [
        "**ordex-btree-global**",
        "**ordex-btree-coupling**",
        "**ordex-btree**",
        "**ordex-skiplist**",
        "rwlock-btreemap",
    ] {
        assert!(
            md.contains(&format!("| {t} |")),
            "techniques.md lacks {t}:\n{md}"
        );
    }
    assert!(md.contains("## 2 threads"), "{md}");
    assert!(md.contains("| index | 0% | 50% | 100% |"), "{md}");
    let csv = std::fs::read_to_string(out.join("techniques.csv")).unwrap();
    // 5 techniques × 2 thread counts × 3 read fractions, every read verified,
    // restarts and waits counted by the ordex-btree protocols only.
    let rows = records(&out.join("techniques.csv"));
    assert_eq!(rows.len(), 5 * 2 * 3, "{csv}");
    for r in &rows {
        assert_eq!(r["verified"], "ok", "{r:?}");
        assert!(["mix-0", "mix-50", "mix-100"].contains(&r["workload"].as_str()));
        let counts = r["index"].starts_with("ordex-btree");
        assert_eq!(r["restarts_per_op"] != "NaN", counts, "{r:?}");
        assert_eq!(r["waits_per_op"] != "NaN", counts, "{r:?}");
    }
    let svg = std::fs::read_to_string(out.join("techniques.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("ordex-btree-coupling"));
}

#[test]
fn techniques_study_refuses_an_unknown_technique() {
    let run = bin()
        .args(["techniques", "--techniques", "btree-magic", "--repeat", "1"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown technique"));
}
