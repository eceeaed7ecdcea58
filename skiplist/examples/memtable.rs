//! The LSM memtable lifecycle: concurrent writers fill the active table;
//! when it is under backpressure it is sealed (rotated) and a flusher
//! writes the frozen table, in order, to a sorted file, then drops it.
//!
//! `cargo run --release -p ordex-skiplist --example memtable`

use ordex_core::OrderedIndex;
use ordex_skiplist::{Config, SkipList};
use std::io::Write;
use std::sync::{mpsc, Arc, RwLock};

fn main() -> std::io::Result<()> {
    let config = Config {
        max_memory: 8 << 20, // an 8 MiB write buffer
        ..Config::default()
    };
    let active = Arc::new(RwLock::new(Arc::new(SkipList::with_config(config))));
    let (to_flush, flush_queue) = mpsc::channel::<Arc<SkipList>>();
    let dir = std::env::temp_dir().join(format!("ordex-memtable-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    // The flusher: writes each frozen table out as a sorted run.
    let flusher = {
        let dir = dir.clone();
        std::thread::spawn(move || -> std::io::Result<Vec<(String, usize)>> {
            let mut runs = Vec::new();
            for (n, frozen) in flush_queue.into_iter().enumerate() {
                let path = dir.join(format!("run-{n:04}.sst"));
                let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
                let mut count = 0;
                let mut last: Option<&[u8]> = None;
                for v in frozen.versions() {
                    // Keep the newest version of each key (a flush with no
                    // snapshot to preserve), tombstones included.
                    if last == Some(v.key) {
                        continue;
                    }
                    last = Some(v.key);
                    let value = v.value.unwrap_or(b"<deleted>");
                    out.write_all(&(v.key.len() as u32).to_le_bytes())?;
                    out.write_all(v.key)?;
                    out.write_all(&v.seqno.to_le_bytes())?;
                    out.write_all(&(value.len() as u32).to_le_bytes())?;
                    out.write_all(value)?;
                    count += 1;
                }
                out.flush()?;
                runs.push((path.display().to_string(), count));
                // Dropping the last Arc frees every chunk at once.
            }
            Ok(runs)
        })
    };

    // Four writers; whoever sees backpressure first rotates the table.
    std::thread::scope(|s| {
        for w in 0..4u64 {
            let (active, to_flush) = (active.clone(), to_flush.clone());
            s.spawn(move || {
                for i in 0..100_000u64 {
                    let key = format!("user{:08}", (i * 7919 + w * 13) % 250_000);
                    let value = [w as u8; 48];
                    loop {
                        let table = active.read().unwrap().clone();
                        match table.insert(key.as_bytes(), &value) {
                            Ok(_) => {
                                if table.is_under_backpressure() {
                                    let mut slot = active.write().unwrap();
                                    if Arc::ptr_eq(&slot, &table) {
                                        let fresh = Arc::new(table.seal());
                                        let frozen = std::mem::replace(&mut *slot, fresh);
                                        to_flush.send(frozen).unwrap();
                                    }
                                }
                                break;
                            }
                            // Raced with a rotation: retry on the new table.
                            Err(ordex_core::Error::Sealed) => continue,
                            Err(e) => panic!("write failed: {e}"),
                        }
                    }
                }
            });
        }
    });
    // Flush what is left and stop the flusher.
    let last = active.read().unwrap().clone();
    last.freeze();
    to_flush.send(last).unwrap();
    drop(to_flush);
    let runs = flusher.join().expect("flusher panicked")?;
    let total: usize = runs.iter().map(|(_, n)| n).sum();
    for (path, n) in &runs {
        println!("{path}: {n} keys");
    }
    println!("{} sorted runs, {total} keys written", runs.len());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
