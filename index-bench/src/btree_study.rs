//! `index-bench btree`: what the workload grid does not show about
//! ordex-btree, measured in one run: 100-entry scans against
//! scc::TreeIndex, a node-size sweep, the parallel bulk load against a
//! one-thread build, epoch garbage under a steady overwrite load, memory
//! after every key is removed again, and heap allocations per get, seek
//! and cursor step.
//!
//! Random 8-byte big-endian u64 keys and 8-byte values unless a line says
//! otherwise; 1 thread except the bulk load. Each time is the median of
//! `--repeat` runs.

use crate::dist::SplitMix64;
use crate::study::{median, ns_per, table, Line};
use clap::Args;
use ordex_btree::{BTree, Optimistic};
use ordex_core::OrderedIndex;
use ordex_testkit::alloc::count_allocations;
use std::fmt::Write as _;
use std::hint::black_box;
use std::ops::Bound;
use std::path::PathBuf;

/// Options of `index-bench btree`.
#[derive(Args, Debug, Clone)]
pub struct BtreeArgs {
    /// Entries loaded (random u64 keys, 8-byte values).
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: usize,
    /// Repeats of each timed measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Seed for keys and probes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write btree.md (default: target/index-bench/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

const SCAN: usize = 100;

/// `repeat` measurements of each, alternating which runs first.
fn abba(repeat: usize, ours: impl Fn() -> f64, theirs: impl Fn() -> f64) -> (Vec<f64>, Vec<f64>) {
    let (mut o, mut t) = (Vec::new(), Vec::new());
    for r in 0..repeat {
        if r % 2 == 0 {
            o.push(ours());
            t.push(theirs());
        } else {
            t.push(theirs());
            o.push(ours());
        }
    }
    (o, t)
}

/// Load, get, 100-entry scan and bytes per entry of `BTree<Optimistic, N>`.
struct Sweep {
    node_bytes: usize,
    load_ns: f64,
    get_ns: f64,
    scan_ns: f64,
    bytes_per_entry: f64,
}

fn sweep<const N: usize>(keys: &[[u8; 8]], probes: &[[u8; 8]], repeat: usize) -> Sweep {
    let (mut load, mut get, mut scan) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0.0;
    for _ in 0..repeat {
        let tree = BTree::<Optimistic, N>::new();
        load.push(ns_per(keys.len(), || {
            for k in keys {
                tree.put(k, k);
            }
        }));
        bytes = tree.memory_usage() as f64 / keys.len() as f64;
        let guard = ordex_btree::pin();
        get.push(ns_per(probes.len(), || {
            let mut hits = 0usize;
            for k in probes {
                hits += usize::from(tree.get_ref(k, &guard).is_some());
            }
            assert_eq!(hits, probes.len(), "every probe is present");
        }));
        scan.push(ns_per(probes.len() / 10, || {
            let mut acc = 0u64;
            for k in &probes[..probes.len() / 10] {
                for (k, v) in tree
                    .range(Bound::Included(k), Bound::Unbounded, &guard)
                    .take(SCAN)
                {
                    acc = acc.wrapping_add(u64::from(k[7]) + u64::from(v[0]));
                }
            }
            black_box(acc);
        }));
    }
    Sweep {
        node_bytes: ordex_btree::node_bytes::<Optimistic, N>(),
        load_ns: median(load),
        get_ns: median(get),
        scan_ns: median(scan),
        bytes_per_entry: bytes,
    }
}

/// Runs the study; prints the table and writes `btree.md`.
pub fn run(args: BtreeArgs, default_out: PathBuf) -> Result<(), String> {
    let n = args.entries.max(10_000);
    let repeat = args.repeat.max(1);
    let mut rng = SplitMix64::new(args.seed);
    let keys: Vec<[u8; 8]> = (0..n).map(|_| rng.next_u64().to_be_bytes()).collect();
    let probes: Vec<[u8; 8]> = (0..100_000.min(n))
        .map(|_| keys[rng.below(n as u64) as usize])
        .collect();
    let mut lines = Vec::new();
    eprintln!("btree study: {n} random u64 keys");

    // Load, get and 100-entry scans against scc::TreeIndex<u64, u64> (the
    // main grid's scc adapter stores Vec<u8> keys; this is its native u64
    // form), from random present keys.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut trees = None;
    for _ in 0..repeat {
        let tree: BTree = BTree::new();
        let scc_tree = scc::TreeIndex::<u64, u64>::new();
        ours.push(ns_per(n, || {
            for k in &keys {
                tree.put(k, k);
            }
        }));
        theirs.push(ns_per(n, || {
            for k in &keys {
                let k = u64::from_be_bytes(*k);
                scc_tree.upsert_sync(k, k);
            }
        }));
        trees = Some((tree, scc_tree));
    }
    let (tree, scc_tree) = trees.expect("one repeat at least");
    let (o, t) = (median(ours), median(theirs));
    lines.push(Line {
        what: "load (random inserts) vs scc::TreeIndex<u64, u64> (ns/op)".into(),
        value: format!("{:.2}× ({o:.0} vs {t:.0} ns)", t / o),
        target: ">= 1.5×",
        pass: Some(t / o >= 1.5),
    });
    // Each repeat measures both, alternating which goes first (ABBA): the
    // second of a pair runs after the other tree's traffic went through
    // the caches.
    let our_get = || {
        ns_per(probes.len(), || {
            let guard = ordex_btree::pin();
            let mut acc = 0u64;
            for k in &probes {
                acc += tree.get_ref(k, &guard).map_or(0, |v| u64::from(v[0]));
            }
            black_box(acc);
        })
    };
    let their_get = || {
        ns_per(probes.len(), || {
            let guard = scc::Guard::new();
            let mut acc = 0u64;
            for k in &probes {
                acc += scc_tree
                    .peek(&u64::from_be_bytes(*k), &guard)
                    .map_or(0, |v| *v >> 56);
            }
            black_box(acc);
        })
    };
    let (ours, theirs) = abba(repeat, our_get, their_get);
    let (o, t) = (median(ours), median(theirs));
    lines.push(Line {
        what: "get vs scc::TreeIndex<u64, u64> (ns/op)".into(),
        value: format!("{:.2}× ({o:.0} vs {t:.0} ns)", t / o),
        target: ">= 1.3×",
        pass: Some(t / o >= 1.3),
    });
    let starts = &probes[..probes.len() / 10];
    let our_scan = || {
        ns_per(starts.len(), || {
            let guard = ordex_btree::pin();
            let mut acc = 0u64;
            for k in starts {
                for (k, v) in tree
                    .range(Bound::Included(k), Bound::Unbounded, &guard)
                    .take(SCAN)
                {
                    acc = acc.wrapping_add(u64::from(k[7]) + u64::from(v[0]));
                }
            }
            black_box(acc);
        })
    };
    let their_scan = || {
        ns_per(starts.len(), || {
            let guard = scc::Guard::new();
            let mut acc = 0u64;
            for k in starts {
                let k = u64::from_be_bytes(*k);
                for (k, v) in scc_tree.range(k.., &guard).take(SCAN) {
                    acc = acc.wrapping_add((k & 0xFF) + (v >> 56));
                }
            }
            black_box(acc);
        })
    };
    let (ours, theirs) = abba(repeat, our_scan, their_scan);
    let (o, t) = (median(ours), median(theirs));
    lines.push(Line {
        what: format!("{SCAN}-entry scan vs scc::TreeIndex<u64, u64> (ns/scan)"),
        value: format!("{:.2}× ({o:.0} vs {t:.0} ns)", t / o),
        target: ">= 2.5×",
        pass: Some(t / o >= 2.5),
    });
    drop(scc_tree);

    // Heap allocations per get, seek and cursor step.
    let ((), gets) = count_allocations(|| {
        let guard = ordex_btree::pin();
        for k in &probes {
            black_box(tree.get_ref(k, &guard));
        }
    });
    let ((), steps) = count_allocations(|| {
        let guard = ordex_btree::pin();
        let mut c = tree.cursor(&guard);
        for k in &probes[..1000] {
            let mut ok = c.seek(k);
            for i in 0..100 {
                ok = ok && if i % 3 == 0 { c.prev() } else { c.next() };
            }
            black_box(ok);
        }
    });
    lines.push(Line {
        what: "heap allocations: 100k gets / 1000 seeks with 100k cursor steps".into(),
        value: format!("{gets} / {steps}"),
        target: "0 / 0",
        pass: Some(gets == 0 && steps == 0),
    });
    drop(tree);

    // Node-size sweep.
    eprintln!("btree study: node-size sweep");
    let sweeps = [
        (16, sweep::<16>(&keys, &probes, repeat)),
        (32, sweep::<32>(&keys, &probes, repeat)),
        (64, sweep::<64>(&keys, &probes, repeat)),
        (128, sweep::<128>(&keys, &probes, repeat)),
        (256, sweep::<256>(&keys, &probes, repeat)),
    ];
    let mut sweep_md = String::new();
    let _ = writeln!(
        sweep_md,
        "| slots (N) | node bytes | load ns/op | get ns/op | {SCAN}-entry scan ns | bytes/entry |\n|---|---|---|---|---|---|"
    );
    for (slots, s) in &sweeps {
        let _ = writeln!(
            sweep_md,
            "| {slots} | {} | {:.0} | {:.0} | {:.0} | {:.1} |",
            s.node_bytes, s.load_ns, s.get_ns, s.scan_ns, s.bytes_per_entry
        );
    }
    // Best by the sum of load, get and a tenth of a scan (an entry's worth).
    let score = |s: &Sweep| s.load_ns + s.get_ns + s.scan_ns / SCAN as f64 * 10.0;
    let best = sweeps
        .iter()
        .min_by(|a, b| score(&a.1).total_cmp(&score(&b.1)))
        .map(|(slots, _)| *slots)
        .unwrap_or(64);
    lines.push(Line {
        what: "node-size sweep: best N by load + get + 10 scanned entries".into(),
        value: format!("N = {best} (default 64; table below)"),
        target: "(measured)",
        pass: None,
    });
    let mem64 = sweeps[2].1.bytes_per_entry;
    lines.push(Line {
        what: "bytes per entry, u64 -> u64, random inserts, N = 64".into(),
        value: format!("{mem64:.1}"),
        target: "<= 32",
        pass: Some(mem64 <= 32.0),
    });

    // Parallel bulk load against the same build on one thread.
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| e.to_string())?;
    let (mut par, mut seq) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        par.push(ns_per(sorted.len(), || {
            let t: BTree = BTree::from_sorted(sorted.iter().map(|k| (k, k)));
            black_box(t.len());
            std::mem::forget(t); // the drop is not what is measured
        }));
        seq.push(ns_per(sorted.len(), || {
            one.install(|| {
                let t: BTree = BTree::from_sorted(sorted.iter().map(|k| (k, k)));
                black_box(t.len());
                std::mem::forget(t);
            })
        }));
    }
    let (p, s) = (median(par), median(seq));
    let threads = rayon::current_num_threads();
    lines.push(Line {
        what: format!(
            "bulk load of {} sorted keys, {threads} threads vs 1 (ns/entry)",
            sorted.len()
        ),
        value: format!("{:.2}× ({p:.0} vs {s:.0} ns)", s / p),
        target: "(parallel)",
        pass: None,
    });
    let bulk: BTree = BTree::from_sorted(sorted.iter().map(|k| (k, k)));
    lines.push(Line {
        what: "bytes per entry after bulk load (full leaves)".into(),
        value: format!("{:.1}", bulk.memory_usage() as f64 / sorted.len() as f64),
        target: "(for reference)",
        pass: None,
    });
    drop(bulk);

    // Garbage under a steady overwrite load: 16-byte keys (their versions
    // are out-of-line records, retired through the epoch on overwrite).
    let long: BTree = BTree::new();
    let lkeys: Vec<[u8; 16]> = keys
        .iter()
        .take(n.min(200_000))
        .map(|k| {
            let mut l = [0u8; 16];
            l[..8].copy_from_slice(k);
            l[8..].copy_from_slice(k);
            l
        })
        .collect();
    for k in &lkeys {
        long.put(k, &k[..8]);
    }
    let rounds = 10;
    let mut peaks = Vec::new();
    for r in 0..rounds {
        let mut peak = 0;
        for (i, k) in lkeys.iter().enumerate() {
            long.put(k, &(r as u64 + i as u64).to_le_bytes());
            if i % 1024 == 0 {
                peak = peak.max(long.pending_garbage());
            }
        }
        peaks.push(peak);
    }
    let first = peaks[..rounds / 2].iter().max().copied().unwrap_or(0);
    let second = peaks[rounds / 2..].iter().max().copied().unwrap_or(0);
    lines.push(Line {
        what: format!(
            "pending epoch garbage, {} overwrites of {} 16-byte keys: peak in 1st / 2nd half",
            rounds * lkeys.len(),
            lkeys.len()
        ),
        value: format!("{first} / {second} retired objects"),
        target: "bounded (2nd <= 2 × 1st)",
        pass: Some(second <= 2 * first.max(1024)),
    });
    drop(long);

    // Memory after every key is removed again.
    let t: BTree = BTree::new();
    for k in &keys {
        t.put(k, k);
    }
    let full = t.memory_usage();
    for k in &keys {
        t.delete(k);
    }
    // Let the epoch free what the removes retired.
    for _ in 0..64 {
        ordex_btree::pin().flush();
    }
    let empty = t.memory_usage();
    lines.push(Line {
        what: format!("memory after inserting and removing {n} keys"),
        value: format!(
            "{:.1}% of peak ({} of {} bytes, {} leaves left)",
            100.0 * empty as f64 / full as f64,
            empty,
            full,
            t.leaf_count()
        ),
        target: "near empty (<= 5% of peak)",
        pass: Some(empty * 20 <= full),
    });
    drop(t);

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# ordex-btree study\n\n`index-bench btree --entries {n} --repeat {repeat} --seed {}`: \
         random u64 keys, 8-byte values, 1 thread (bulk load: all threads), median of {repeat}.\n",
        args.seed
    );
    table(
        &mut md,
        &format!("btree study · {n} entries · median of {repeat}"),
        &lines,
        [84, 40, 26],
    );
    println!("\nnode-size sweep:\n{sweep_md}");
    let _ = writeln!(md, "\n## Node-size sweep\n\n{sweep_md}");
    let dir = args.out.unwrap_or(default_out);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("btree.md");
    std::fs::write(&path, md).map_err(|e| e.to_string())?;
    println!("written to {}", path.display());
    Ok(())
}
