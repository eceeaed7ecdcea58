//! Check 8: live scans keep their bounds while other threads link keys
//! right at them.
//!
//! A live scan is weakly consistent, but never loosely bounded: whatever
//! is linked meanwhile, every key it yields lies within its bounds, keys
//! come strictly ascending, and a key present throughout is seen. The
//! places where a backend can get this wrong are the bounds themselves: a
//! search that finds the last key `<= b` and then reloads that node's link
//! (instead of taking the successor it compared) yields a key linked in
//! between, `b` itself or one below it (the skip list's `seek_after` did).
//!
//! Writers link keys in rounds. A round's keys share a 9-byte prefix (the
//! rounds descend in key order, so a scan from `Unbounded` reaches the
//! newest round after a few keys) and its two bound keys `lo` and `hi`
//! are never present at the round's start. The writer first inserts the
//! round's stable keys (below, between and above the bounds), then links
//! two clusters in ascending order: keys just below `lo` (each, when
//! linked, the key right below the bound), `lo` itself, then keys just
//! above it; the same around `hi` (which cluster goes first is drawn from
//! the seed, per round). Before each link it announces how far it got. Readers read an announcement and scan that round with the
//! bound kinds of a cycle that covers every combination of `Included`,
//! `Excluded` and `Unbounded` at both ends (weighted towards
//! `Included`/`Excluded` at the end being linked), so most scans race a
//! link at or right next to one of their bounds.

use crate::rng::{seed, Rng};
use crate::values::{decode, encode, show};
use crate::{CheckResult, Failure, Suite};
use ordex_core::{below_start, past_end, OrderedIndex};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Writers and readers: six threads, more than this machine's cores.
const WRITERS: usize = 2;
const READERS: usize = 4;
/// Rounds each writer runs (scaled by the suite's scale).
const ROUNDS: usize = 1000;
/// Scans a reader makes per link (per announcement of a writer) before it
/// yields until the writer goes on: enough to race every link several
/// times, few enough that readers never keep a writer from its latch or
/// lock for long.
const SCANS_PER_LINK: usize = 3;
/// A writer waits while it is this many rounds ahead of another one, so
/// that a scan from `Unbounded` passes few rounds before its own.
const LEAD: u64 = 4;

/// The byte after the round prefix of the lower and upper bound keys.
const LO: u8 = b'L';
const HI: u8 = b'U';
/// Keys just below a bound, linked in ascending order before it.
const BELOW: usize = 8;
/// Keys just above a bound (the bound followed by 0, 1, ...), linked in
/// ascending order after it.
const ABOVE: usize = 2;
/// Keys a writer links per cluster, and per round.
const CLUSTER: usize = BELOW + 1 + ABOVE;
const LINKED: usize = 2 * CLUSTER;
/// Suffixes of the round's stable keys, inserted before the round is
/// announced: below `lo`, between the bounds, above `hi`.
const STABLE: [&[u8]; 3] = [b"A", b"P", b"Z"];

/// No round announced yet.
const NONE: u64 = u64::MAX;

/// Length of the prefix of a round's keys.
const PREFIX: usize = 9;

/// The prefix of round `g`'s keys: `r` and 8 digits, descending with `g`.
fn prefix(g: u64) -> [u8; PREFIX] {
    let mut p = [0u8; PREFIX];
    let s = format!("r{:08}", 99_999_999 - g.min(99_999_999));
    p.copy_from_slice(s.as_bytes());
    p
}

fn key(g: u64, suffix: &[u8]) -> Vec<u8> {
    let mut k = prefix(g).to_vec();
    k.extend_from_slice(suffix);
    k
}

/// Whether round `g` links the cluster around `lo` first (drawn from the
/// seed).
fn lo_first(seed: u64, g: u64) -> bool {
    Rng::new(seed ^ g.wrapping_mul(0x2545_F491_4F6C_DD1D)).percent(50)
}

/// Whether the `i`-th key linked in round `g` is in the cluster around
/// `lo`.
fn at_lo(seed: u64, g: u64, i: usize) -> bool {
    (i < CLUSTER) == lo_first(seed, g)
}

/// The `i`-th key linked in round `g` (`i < LINKED`): a cluster around one
/// bound, then one around the other, each ascending.
fn linked_key(seed: u64, g: u64, i: usize) -> Vec<u8> {
    let bound = if at_lo(seed, g, i) { LO } else { HI };
    match i % CLUSTER {
        j if j < BELOW => key(g, &[bound - 1, 0xFF - (BELOW - 1 - j) as u8]),
        BELOW => key(g, &[bound]),
        j => key(g, &[bound, (j - BELOW - 1) as u8]),
    }
}

/// A value for `key` that names the round and the link.
fn value(key: &[u8], g: u64, i: usize) -> Vec<u8> {
    encode(key, g << 8 | i as u64, (g as usize + i) % 7)
}

fn kind_name(b: Bound<&[u8]>) -> String {
    match b {
        Bound::Included(k) => format!("Included({})", show(k)),
        Bound::Excluded(k) => format!("Excluded({})", show(k)),
        Bound::Unbounded => "Unbounded".into(),
    }
}

/// Bound kinds at the end being linked: `Included` and `Excluded` five
/// times each, `Unbounded` twice. The other end takes each kind in turn
/// for each full cycle of these, so 36 scans cover all nine combinations.
const NEAR: [u8; 12] = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 2];

fn bound(kind: u8, key: &[u8]) -> Bound<&[u8]> {
    match kind {
        0 => Bound::Included(key),
        1 => Bound::Excluded(key),
        _ => Bound::Unbounded,
    }
}

fn writer<I: OrderedIndex>(
    index: &I,
    seed: u64,
    w: usize,
    rounds: usize,
    announced: &[AtomicU64; WRITERS],
    stop: &AtomicBool,
) -> Result<(), String> {
    for r in 0..rounds as u64 {
        let g = r * WRITERS as u64 + w as u64;
        // Keep within `LEAD` rounds of the other writers.
        let lagging = |a: &AtomicU64| {
            let at = a.load(Ordering::Acquire);
            at == NONE || (at >> 8) + LEAD * (WRITERS as u64) < g
        };
        while announced.iter().any(lagging) && !stop.load(Ordering::Relaxed) && r > 0 {
            std::thread::yield_now();
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let stable: Vec<(Vec<u8>, Vec<u8>)> = STABLE
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let k = key(g, s);
                let v = value(&k, g, LINKED + i);
                (k, v)
            })
            .collect();
        let refs: Vec<(&[u8], &[u8])> = stable.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        index
            .insert_batch(&refs)
            .map_err(|e| format!("writer {w}: insert_batch of round {g} failed: {e}"))?;
        for i in 0..LINKED {
            // Release: the keys linked before are present for a scan
            // that reads this.
            announced[w].store(g << 8 | i as u64, Ordering::Release);
            let k = linked_key(seed, g, i);
            index
                .insert(&k, &value(&k, g, i))
                .map_err(|e| format!("writer {w}: insert of {} failed: {e}", show(&k)))?;
        }
        announced[w].store(g << 8 | LINKED as u64, Ordering::Release);
    }
    Ok(())
}

/// Scans until `done`; returns how many.
fn reader<I: OrderedIndex>(
    index: &I,
    seed: u64,
    reader: usize,
    announced: &[AtomicU64; WRITERS],
    done: &AtomicBool,
) -> Result<u64, String> {
    let mut scans = 0u64;
    // Where in the cycle of bound kinds this reader starts.
    let mut turn = Rng::new(seed ^ reader as u64).below(1 << 16);
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    // Per writer: the announcement last scanned, and how many times.
    let mut seen = [(NONE, 0usize); WRITERS];
    while !done.load(Ordering::Relaxed) {
        turn += 1;
        let w = turn as usize % WRITERS;
        let at = announced[w].load(Ordering::Acquire);
        if seen[w].0 != at {
            seen[w] = (at, 0);
        }
        if at == NONE || seen[w].1 >= SCANS_PER_LINK {
            std::thread::yield_now();
            continue;
        }
        seen[w].1 += 1;
        let (g, linked) = (at >> 8, (at & 0xFF) as usize);
        let (lo, hi) = (key(g, &[LO]), key(g, &[HI]));
        let c = turn / WRITERS as u64;
        let near = NEAR[(c % NEAR.len() as u64) as usize];
        let far = ((c / NEAR.len() as u64) % 3) as u8;
        let (from, to) = if at_lo(seed, g, linked.min(LINKED - 1)) {
            (bound(near, &lo), bound(far, &hi))
        } else {
            (bound(far, &lo), bound(near, &hi))
        };
        let round = prefix(g);
        out.clear();
        let n = index.scan(from, to, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            // Past the round (rounds above are older): enough.
            !(to == Bound::Unbounded && k.get(..PREFIX).is_some_and(|p| p > &round[..]))
        });
        scans += 1;
        let what = || {
            let keys: Vec<String> = out.iter().take(40).map(|(k, _)| show(k)).collect();
            let linking = match linked {
                LINKED => "after linking all its keys".to_string(),
                i => format!("linking {}", show(&linked_key(seed, g, i))),
            };
            format!(
                "scan({}, {}) of round {g}, writer {w} {linking} (reader {reader}, scan \
                 {scans}); it yielded [{}]",
                kind_name(from),
                kind_name(to),
                keys.join(", ")
            )
        };
        if n != out.len() {
            return Err(format!(
                "{}: returned {n} but called back {} times",
                what(),
                out.len()
            ));
        }
        for (k, v) in &out {
            if below_start(k, from) {
                return Err(format!("{}: {} is below its lower bound", what(), show(k)));
            }
            if past_end(k, to) {
                return Err(format!("{}: {} is past its upper bound", what(), show(k)));
            }
            decode(k, v).map_err(|e| format!("{}: value of {}: {e}", what(), show(k)))?;
        }
        if let Some(p) = out.windows(2).position(|p| p[0].0 >= p[1].0) {
            return Err(format!(
                "{}: {} then {}: not strictly ascending",
                what(),
                show(&out[p].0),
                show(&out[p + 1].0)
            ));
        }
        // Present before the announcement was read, so throughout.
        let present = STABLE
            .iter()
            .map(|s| key(g, s))
            .chain((0..linked).map(|i| linked_key(seed, g, i)));
        for k in present {
            let inside = !below_start(&k, from) && !past_end(&k, to);
            if inside && out.binary_search_by(|(x, _)| x.cmp(&k)).is_err() {
                return Err(format!(
                    "{}: missed {}, present throughout",
                    what(),
                    show(&k)
                ));
            }
        }
    }
    Ok(scans)
}

impl<I: OrderedIndex> Suite<I> {
    /// Check 8: live scans keep their bounds while other threads link keys
    /// right at them. Two writers link keys just below, at and just above
    /// a lower and an upper bound key, round after round, while four
    /// readers (six threads, more than this machine's cores) scan each
    /// round as it is linked with every combination of `Included`,
    /// `Excluded` and `Unbounded` at both ends. Every key a scan yields
    /// lies within its bounds, keys come strictly ascending with intact
    /// values, and every key of the round present before the scan began is
    /// seen. At the end, a full scan holds exactly the keys written.
    pub fn live_scan_bounds(&self) -> CheckResult {
        let seed = seed();
        let rounds = self.n(ROUNDS);
        let index = self.index();
        let announced: [AtomicU64; WRITERS] = std::array::from_fn(|_| AtomicU64::new(NONE));
        let (stop, done) = (AtomicBool::new(false), AtomicBool::new(false));
        let fail = |m: String| {
            Failure::new(
                "live_scan_bounds",
                format!("{m}\nseed: ORDEX_TEST_SEED={seed}"),
            )
        };
        let (written, scanned) = std::thread::scope(|s| {
            let readers: Vec<_> = (0..READERS)
                .map(|r| {
                    let (index, announced, stop, done) = (&index, &announced, &stop, &done);
                    s.spawn(move || {
                        let got = reader(index, seed, r, announced, done);
                        if got.is_err() {
                            stop.store(true, Ordering::Relaxed);
                            done.store(true, Ordering::Relaxed);
                        }
                        got
                    })
                })
                .collect();
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let (index, announced, stop) = (&index, &announced, &stop);
                    s.spawn(move || {
                        let got = writer(index, seed, w, rounds, announced, stop);
                        if got.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        got
                    })
                })
                .collect();
            let written: Vec<Result<(), String>> = writers
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("writer panicked".into())))
                .collect();
            done.store(true, Ordering::Relaxed);
            let scanned: Vec<Result<u64, String>> = readers
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("reader panicked".into())))
                .collect();
            (written, scanned)
        });
        // A reader's failure first: a writer only stops because of one.
        for r in scanned {
            r.map_err(fail)?;
        }
        for w in written {
            w.map_err(fail)?;
        }
        let mut want: Vec<Vec<u8>> = (0..(rounds * WRITERS) as u64)
            .flat_map(|g| {
                STABLE
                    .iter()
                    .map(move |s| key(g, s))
                    .chain((0..LINKED).map(move |i| linked_key(seed, g, i)))
            })
            .collect();
        want.sort();
        let mut all = Vec::with_capacity(want.len());
        index.scan(Bound::Unbounded, Bound::Unbounded, &mut |k, _| {
            all.push(k.to_vec());
            true
        });
        if all != want {
            return Err(fail(format!(
                "after the run a full scan holds {} keys, {} were written",
                all.len(),
                want.len()
            )));
        }
        Ok(())
    }
}
