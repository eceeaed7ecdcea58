//! `index-bench memtable`: the memtable features of ordex-skiplist that the
//! workload grid does not cover, measured side by side in one run:
//! `multi_get` against the same keys one by one, sorted batches against
//! random single inserts, reverse against forward cursor steps, the flush
//! iteration against crossbeam-skiplist's and fastskip's iterators, bytes
//! per entry, and heap allocations per operation.
//!
//! Single-threaded (the thread scaling of loads is the `load` workload of
//! the main run). Each figure is the median of `--repeat` runs.

use crate::dist::SplitMix64;
use crate::study::{self, median, ns_per, Line};
use clap::Args;
use ordex_core::OrderedIndex;
use ordex_skiplist::SkipList;
use ordex_testkit::alloc::count_allocations;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;

/// Options of `index-bench memtable`.
#[derive(Args, Debug, Clone)]
pub struct MemtableArgs {
    /// Entries loaded (16-byte random keys, 32-byte values).
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: usize,
    /// Repeats of each measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Seed for keys and probes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write memtable.md (default: target/index-bench/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

const VALUE: [u8; 32] = [0x5A; 32];

fn key16(rng: &mut SplitMix64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    k[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    k
}

/// Runs the study; prints the table and writes `memtable.md`.
pub fn run(args: MemtableArgs, default_out: PathBuf) -> Result<(), String> {
    let n = args.entries.max(1000);
    let repeat = args.repeat.max(1);
    let mut rng = SplitMix64::new(args.seed);
    let keys: Vec<[u8; 16]> = (0..n).map(|_| key16(&mut rng)).collect();
    eprintln!(
        "memtable study: loading {n} entries into ordex-skiplist, crossbeam-skiplist and fastskip"
    );

    let table = SkipList::new();
    for k in &keys {
        table.insert(k, &VALUE).map_err(|e| e.to_string())?;
    }
    let cb = crossbeam_skiplist::SkipMap::<Vec<u8>, Vec<u8>>::new();
    for k in &keys {
        cb.insert(k.to_vec(), VALUE.to_vec());
    }
    let fs = fastskip::ConcurrentSkipList::new();
    for k in &keys {
        fs.insert(k, &VALUE);
    }

    let mut lines = Vec::new();
    let ratio_line = |what: &str, a: f64, b: f64, target: &'static str, min: f64| Line {
        what: what.to_string(),
        value: format!("{:.2}× ({a:.0} vs {b:.0} ns)", b / a),
        target,
        pass: Some(b / a >= min),
    };

    // multi_get of 64 random keys against the same keys one by one.
    let groups = 2000;
    let (mut multi, mut single) = (Vec::new(), Vec::new());
    for r in 0..repeat {
        let mut prng = SplitMix64::new(args.seed ^ 0xA11 ^ r as u64);
        let probes: Vec<&[u8]> = (0..groups * 64)
            .map(|_| &keys[prng.below(n as u64) as usize][..])
            .collect();
        let mut hits = 0usize;
        multi.push(ns_per(probes.len(), || {
            for g in probes.chunks(64) {
                table.multi_get(g, |_, v| hits += usize::from(v.is_some()));
            }
        }));
        single.push(ns_per(probes.len(), || {
            for k in &probes {
                hits += usize::from(table.get(k, &mut |v| {
                    black_box(v);
                }));
            }
        }));
        if hits != 2 * probes.len() {
            return Err("multi_get or get missed a present key".into());
        }
    }
    let (multi, single) = (median(multi), median(single));
    lines.push(ratio_line(
        "multi_get of 64 random keys vs one by one (ns/key)",
        multi,
        single,
        ">= 3×",
        3.0,
    ));

    // Sorted batches of 1000 sequential keys against random single inserts.
    let (mut batched, mut random) = (Vec::new(), Vec::new());
    for r in 0..repeat {
        let mut krng = SplitMix64::new(args.seed ^ 0xB47C ^ r as u64);
        let fresh: Vec<[u8; 16]> = (0..100_000).map(|_| key16(&mut krng)).collect();
        random.push(ns_per(fresh.len(), || {
            for k in &fresh {
                table.insert(k, &VALUE).expect("room");
            }
        }));
        let batches: Vec<Vec<[u8; 16]>> = (0..100)
            .map(|_| {
                let base = krng.next_u64();
                (0..1000u64)
                    .map(|i| {
                        let mut k = [0u8; 16];
                        k[..8].copy_from_slice(&base.to_be_bytes());
                        k[8..].copy_from_slice(&i.to_be_bytes());
                        k
                    })
                    .collect()
            })
            .collect();
        batched.push(ns_per(100 * 1000, || {
            for b in &batches {
                let entries: Vec<(&[u8], &[u8])> = b.iter().map(|k| (&k[..], &VALUE[..])).collect();
                table.insert_batch(&entries).expect("room");
            }
        }));
    }
    let (batched, random) = (median(batched), median(random));
    lines.push(Line {
        what: "sorted insert_batch of 1000 sequential keys vs random inserts (ns/key)".into(),
        value: format!(
            "{:.2} of the cost ({batched:.0} vs {random:.0} ns)",
            batched / random
        ),
        target: "<= 1/3",
        pass: Some(batched * 3.0 <= random),
    });

    // Reverse against forward cursor steps, 100 entries from random keys.
    let (mut fwd, mut rev) = (Vec::new(), Vec::new());
    for r in 0..repeat {
        let mut prng = SplitMix64::new(args.seed ^ 0x5CA ^ r as u64);
        let starts: Vec<[u8; 16]> = (0..5000).map(|_| key16(&mut prng)).collect();
        let mut seen = 0usize;
        fwd.push(ns_per(starts.len() * 100, || {
            let mut c = table.cursor();
            for s in &starts {
                let mut ok = c.seek(s);
                for _ in 0..100 {
                    if !ok {
                        break;
                    }
                    seen += c.value().map_or(0, <[u8]>::len);
                    ok = c.next();
                }
            }
        }));
        rev.push(ns_per(starts.len() * 100, || {
            let mut c = table.cursor();
            for s in &starts {
                let mut ok = c.seek_for_prev(s);
                for _ in 0..100 {
                    if !ok {
                        break;
                    }
                    seen += c.value().map_or(0, <[u8]>::len);
                    ok = c.prev();
                }
            }
        }));
        black_box(seen);
    }
    let (fwd, rev) = (median(fwd), median(rev));
    lines.push(Line {
        what: "reverse vs forward scan, 100 entries from a seek (ns/entry)".into(),
        value: format!("{:.2}× ({rev:.1} vs {fwd:.1} ns)", rev / fwd),
        target: "<= 1.5×",
        pass: Some(rev <= 1.5 * fwd),
    });

    // Full flush iteration against the peers' iterators.
    let total = table.version_count();
    let (mut ours, mut theirs_cb, mut theirs_fs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeat {
        ours.push(ns_per(total, || {
            let mut acc = 0usize;
            for v in table.versions() {
                acc += v.key.len() + v.value.map_or(0, |v| v.len() + usize::from(v[0]));
            }
            black_box(acc);
        }));
        theirs_cb.push(ns_per(cb.len(), || {
            let mut acc = 0usize;
            for e in cb.iter() {
                acc += e.key().len() + e.value().len() + usize::from(e.value()[0]);
            }
            black_box(acc);
        }));
        theirs_fs.push(ns_per(n, || {
            let mut acc = 0usize;
            for e in fs.iter() {
                acc += e.key.len() + e.value.len() + usize::from(e.value[0]);
            }
            black_box(acc);
        }));
    }
    let (ours, cbi, fsi) = (median(ours), median(theirs_cb), median(theirs_fs));
    lines.push(ratio_line(
        "flush iteration vs crossbeam-skiplist iter (ns/entry)",
        ours,
        cbi,
        ">= 2×",
        2.0,
    ));
    lines.push(ratio_line(
        "flush iteration vs fastskip iter (ns/entry)",
        ours,
        fsi,
        "(for reference)",
        0.0,
    ));

    // Making a table, as an engine does at every seal: new, one insert,
    // drop; interleaved with fastskip's and crossbeam-skiplist's.
    const TABLES: usize = 200;
    let (mut ours, mut theirs_fs, mut theirs_cb) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeat {
        ours.push(ns_per(TABLES, || {
            for k in keys.iter().take(TABLES) {
                let t = SkipList::new();
                t.insert(k, &VALUE).expect("room");
                drop(black_box(t));
            }
        }));
        theirs_fs.push(ns_per(TABLES, || {
            for k in keys.iter().take(TABLES) {
                let t = fastskip::ConcurrentSkipList::new();
                t.insert(k, &VALUE);
                drop(black_box(t));
            }
        }));
        theirs_cb.push(ns_per(TABLES, || {
            for k in keys.iter().take(TABLES) {
                let t = crossbeam_skiplist::SkipMap::new();
                t.insert(k.to_vec(), VALUE.to_vec());
                drop(black_box(t));
            }
        }));
    }
    let (ours, fsm, cbm) = (median(ours), median(theirs_fs), median(theirs_cb));
    lines.push(Line {
        what: "making a table: new, one insert, drop (µs) vs fastskip".into(),
        value: format!(
            "{:.2}× fastskip's time ({:.1} vs {:.1} µs; crossbeam-skiplist {:.1})",
            ours / fsm,
            ours / 1e3,
            fsm / 1e3,
            cbm / 1e3
        ),
        target: "<= 1.5×",
        pass: Some(ours <= 1.5 * fsm),
    });

    // Oversubscribed writers: twice as many threads as cores (at least 4)
    // each write 10k keys of their own into a fresh table, by
    // get_or_insert and by insert; a writer descheduled mid-write must not
    // hold the others up.
    let writers = std::thread::available_parallelism()
        .map_or(2, |c| c.get())
        .max(2)
        * 2;
    const PER_WRITER: usize = 10_000;
    let run_writers = |get_or_insert: bool| -> f64 {
        let table = SkipList::new();
        let start = std::time::Instant::now();
        std::thread::scope(|s| {
            for w in 0..writers {
                let table = &table;
                let keys = &keys;
                s.spawn(move || {
                    for k in keys.iter().skip(w * PER_WRITER).take(PER_WRITER) {
                        if get_or_insert {
                            black_box(table.get_or_insert(k, &VALUE).expect("room"));
                        } else {
                            table.insert(k, &VALUE).expect("room");
                        }
                    }
                });
            }
        });
        start.elapsed().as_secs_f64()
    };
    let (mut goi, mut ins) = (Vec::new(), Vec::new());
    if keys.len() >= writers * PER_WRITER {
        for r in 0..repeat {
            if r % 2 == 0 {
                goi.push(run_writers(true));
                ins.push(run_writers(false));
            } else {
                ins.push(run_writers(false));
                goi.push(run_writers(true));
            }
        }
        let (goi, ins) = (median(goi), median(ins));
        lines.push(Line {
            what: format!(
                "{writers} writers on {} cores: get_or_insert vs insert of 10k keys each (ms)",
                writers / 2
            ),
            value: format!(
                "{:.2}× insert's time ({:.1} vs {:.1} ms)",
                goi / ins,
                goi * 1e3,
                ins * 1e3
            ),
            target: "<= 1.5×",
            pass: Some(goi <= 1.5 * ins),
        });
    }

    // Bytes per entry, on a fresh table of `n` entries.
    let fresh = SkipList::new();
    for k in &keys {
        fresh.insert(k, &VALUE).map_err(|e| e.to_string())?;
    }
    let s = fresh.stats();
    let per_entry = |bytes: usize| bytes as f64 / s.entries as f64;
    let over = per_entry(s.memory_usage + s.index_bytes) - 48.0;
    lines.push(Line {
        what: "bytes per entry beyond key + value (16 + 32): arena and top index".into(),
        value: format!(
            "{over:.2} (arena {:.2} in use + index {:.2}; {:.2} counting whole chunks)",
            per_entry(s.memory_usage) - 48.0,
            per_entry(s.index_bytes),
            per_entry(s.memory_reserved + s.index_bytes) - 48.0
        ),
        target: "<= 24",
        pass: Some(over <= 24.0),
    });

    // Heap allocations per operation.
    let mut prng = SplitMix64::new(args.seed ^ 0xA10C);
    let probes: Vec<[u8; 16]> = (0..100_000)
        .map(|_| keys[prng.below(n as u64) as usize])
        .collect();
    let ((), gets) = count_allocations(|| {
        for k in &probes {
            black_box(fresh.get(k, &mut |v| {
                black_box(v);
            }));
        }
    });
    let ((), steps) = count_allocations(|| {
        let mut c = fresh.cursor();
        let mut ok = c.first();
        let mut i = 0;
        while ok && i < 100_000 {
            ok = c.next();
            i += 1;
        }
        let mut v = fresh.version_cursor();
        let mut ok = v.last();
        while ok && i > 0 {
            ok = v.prev();
            i -= 1;
        }
    });
    let new_keys: Vec<[u8; 16]> = (0..100_000).map(|_| key16(&mut prng)).collect();
    let before = fresh.stats();
    let ((), inserts) = count_allocations(|| {
        for k in &new_keys {
            fresh.insert(k, &VALUE).expect("room");
        }
    });
    let after = fresh.stats();
    let chunks = (after.memory_reserved - before.memory_reserved) >> 20;
    // A top-index snapshot allocates at most three times (its nodes, its
    // heads, and the prefix its keys share if any), about once for each
    // doubling of the table.
    let snapshots = after.index_snapshots - before.index_snapshots;
    lines.push(Line {
        what: "heap allocations: 100k gets / 200k cursor steps / 100k inserts".into(),
        value: format!(
            "{gets} / {steps} / {inserts} ({chunks} chunk refills, {snapshots} top-index snapshots)"
        ),
        target: "0 / 0 / refills and snapshots only",
        pass: Some(gets == 0 && steps == 0 && inserts <= (chunks + 1 + 3 * snapshots) as u64),
    });

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# ordex-skiplist memtable study\n\n`index-bench memtable --entries {n} --repeat {repeat} --seed {}`: \
         16-byte random keys, 32-byte values, 1 thread, median of {repeat}.\n",
        args.seed
    );
    study::table(
        &mut md,
        &format!("memtable study · {n} entries · median of {repeat}"),
        &lines,
        [72, 44, 28],
    );
    let dir = args.out.unwrap_or(default_out);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("memtable.md");
    std::fs::write(&path, md).map_err(|e| e.to_string())?;
    println!("\nwritten to {}", path.display());
    std::mem::forget(fs); // as the fastskip adapter does: its drop is slow and not measured
    Ok(())
}
