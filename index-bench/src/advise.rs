//! `index-bench advise`: given a workload mix and a key sample, run a short
//! calibration of every available ordex backend on exactly that work and
//! recommend one, with the measured reason.

use crate::keys::{KeySet, KeySetKind};
use crate::registry;
use crate::workload::{fresh_needed, Mix};
use clap::Args;
use std::path::PathBuf;

/// Options of `advise`.
#[derive(Args, Debug)]
pub struct AdviseArgs {
    /// Percent of point reads.
    #[arg(long, default_value_t = 90)]
    read: u32,
    /// Percent of overwrites of existing keys.
    #[arg(long, default_value_t = 5)]
    update: u32,
    /// Percent of inserts of new keys.
    #[arg(long, default_value_t = 5)]
    insert: u32,
    /// Percent of range scans.
    #[arg(long, default_value_t = 0)]
    scan: u32,
    /// Entries per scan.
    #[arg(long, default_value_t = 50)]
    scan_len: u8,
    /// Choose keys uniformly instead of zipfian (0.99, scrambled).
    #[arg(long)]
    uniform: bool,
    /// A sample of your keys, one per line (the loaded set is built from
    /// it); without it, `--keyset` is used.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// A generated key set, when no `--keys` file is given.
    #[arg(long, default_value = "u64-random")]
    keyset: String,
    /// Entries to load (capped by the sample's size).
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Operations per calibration run.
    #[arg(long, default_value_t = 200_000)]
    ops: usize,
    /// Threads (default: this machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Value size in bytes.
    #[arg(long, default_value_t = 8)]
    value_size: usize,
    /// Repeats per backend (median taken).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Builds a key set from a file of keys, one per line: distinct lines,
/// shuffled; fresh keys for inserts are variants of sampled keys.
fn keys_from_file(
    path: &PathBuf,
    entries: usize,
    fresh: usize,
    seed: u64,
) -> Result<KeySet, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut keys: Vec<Vec<u8>> = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Err(format!("{} has no keys", path.display()));
    }
    let mut rng = crate::dist::SplitMix64::new(seed);
    for i in (1..keys.len()).rev() {
        keys.swap(i, rng.below(i as u64 + 1) as usize);
    }
    keys.truncate(entries);
    let loaded = keys.len();
    let mut seen: std::collections::HashSet<Vec<u8>> = keys.iter().cloned().collect();
    let mut n = 0u64;
    while keys.len() < loaded + fresh {
        let base = &keys[rng.below(loaded as u64) as usize];
        let mut k = base.clone();
        k.extend_from_slice(format!("~{n}").as_bytes());
        n += 1;
        if seen.insert(k.clone()) {
            keys.push(k);
        }
    }
    Ok(KeySet {
        kind: KeySetKind::Words,
        keys,
        ints: None,
        loaded,
        note: Some(format!("{loaded} keys sampled from {}", path.display())),
    })
}

/// Runs the calibration and prints the recommendation.
pub fn advise(args: AdviseArgs) -> Result<(), String> {
    let mix = Mix {
        read: args.read,
        update: args.update,
        insert: args.insert,
        scan: args.scan,
        scan_len: args.scan_len,
        zipfian: !args.uniform,
    };
    if mix.read + mix.update + mix.insert + mix.scan == 0 {
        return Err("the mix is empty: give --read, --update, --insert or --scan".into());
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let fresh = fresh_needed(args.ops) + args.ops * mix.insert as usize / 100;
    let ks = match &args.keys {
        Some(path) => keys_from_file(path, args.entries, fresh, args.seed)?,
        None => KeySet::generate(
            args.keyset
                .parse()
                .map_err(|e: crate::keys::ParseKeySetKindError| e.to_string())?,
            args.entries,
            fresh,
            args.seed,
        ),
    };
    let source = match &args.keys {
        Some(p) => format!("{} keys from {}", ks.loaded, p.display()),
        None => format!("{} generated {} keys", ks.loaded, ks.kind.name()),
    };
    println!(
        "calibrating on {source}, avg key {:.1} B, values {} B, {threads} threads, mix: {}% read / {}% update / {}% insert / {}% scan({}), {}",
        ks.avg_key_len(),
        args.value_size,
        mix.read,
        mix.update,
        mix.insert,
        mix.scan,
        mix.scan_len,
        if mix.zipfian { "zipfian" } else { "uniform" }
    );
    let mut results = Vec::new();
    for e in registry::all().into_iter().filter(|e| e.ordex) {
        if !(e.supports)(&ks, args.value_size) {
            continue;
        }
        let c = (e.calibrate)(
            mix,
            &ks,
            threads,
            args.ops,
            args.value_size,
            args.repeat,
            args.seed,
        );
        println!(
            "  {:<20} {:>8.2} Mops/s  p99 {:>8} ns  {:>7.1} B/entry{}",
            e.name,
            c.mops,
            c.p99_ns,
            c.bytes_per_entry,
            if c.verified {
                ""
            } else {
                "  VERIFICATION FAILED"
            }
        );
        results.push((e.name, c));
    }
    results.retain(|(_, c)| c.verified);
    if results.is_empty() {
        return Err("no ordex backend could run this workload".into());
    }
    results.sort_by(|a, b| b.1.mops.total_cmp(&a.1.mops));
    let best = &results[0];
    // Within 10% on speed, the leaner one wins.
    let pick = results
        .iter()
        .filter(|(_, c)| c.mops >= best.1.mops * 0.9)
        .min_by(|a, b| a.1.bytes_per_entry.total_cmp(&b.1.bytes_per_entry))
        .unwrap_or(best);
    let mut reason = format!(
        "{:.2} Mops/s, p99 {} ns, {:.1} B/entry",
        pick.1.mops, pick.1.p99_ns, pick.1.bytes_per_entry
    );
    if let Some(next) = results.iter().find(|(n, _)| *n != pick.0) {
        reason.push_str(&format!(
            "; {:.2}x the throughput of {} ({:.2} Mops/s, {:.1} B/entry)",
            pick.1.mops / next.1.mops,
            next.0,
            next.1.mops,
            next.1.bytes_per_entry
        ));
    }
    if pick.0 != best.0 {
        reason.push_str(&format!(
            "; chosen over the fastest, {}, for memory: within 10% of its speed",
            best.0
        ));
    }
    println!("recommendation: {} ({reason})", pick.0);
    Ok(())
}
