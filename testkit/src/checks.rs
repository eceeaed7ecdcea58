//! Checks 3, 5, 6 and 7: linearizability, allocation-free reads, bad
//! input, drop.

use crate::alloc;
use crate::lin::{check_register, Clock, Event, Op};
use crate::model::scan_collect;
use crate::rng::{seed, Rng};
use crate::values::{decode, encode, show};
use crate::{CheckResult, Failure, Suite};
use ordex_core::{Error, OrderedIndex, Seqno};
use std::ops::Bound;
use std::sync::Barrier;

const LIN_THREADS: usize = 6;

/// Hot keys: short ones, one that is a prefix of another, and a long one
/// (slow to copy, so races last longer).
fn hot_keys() -> Vec<Vec<u8>> {
    vec![
        b"h".to_vec(),
        b"hot".to_vec(),
        b"hot\x00".to_vec(),
        vec![b'H'; 2048],
    ]
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    /// Every thread puts, removes, gets and point-scans.
    Mixed,
    /// Keys start present; half the threads only overwrite, half only read
    /// (the crossbeam-skiplist #1023 bug class: a reader must never see an
    /// upserted key as absent).
    OverwriteWhileReading,
}

fn lin_thread<I: OrderedIndex>(
    index: &I,
    keys: &[Vec<u8>],
    clock: &Clock,
    t: usize,
    ops: usize,
    scenario: Scenario,
    seed: u64,
) -> Result<Vec<(usize, Event)>, String> {
    let mut rng = Rng::new(seed ^ ((t as u64 + 1) * 0x5151_5151));
    let mut events = Vec::with_capacity(ops);
    let mut next = ((t as u64) << 32) + 1;
    let writer = t.is_multiple_of(2);
    for _ in 0..ops {
        let ki = rng.index(keys.len());
        let k = &keys[ki][..];
        let roll = rng.below(100);
        let kind = match scenario {
            Scenario::Mixed => roll,
            Scenario::OverwriteWhileReading if writer => 0,
            Scenario::OverwriteWhileReading => 40 + roll % 40,
        };
        let read = |v: Option<&[u8]>| -> Result<Option<u64>, String> {
            v.map(|v| decode(k, v).map_err(|e| format!("thread {t} read {}: {e}", show(k))))
                .transpose()
        };
        let invoke = clock.now();
        let op = if kind < 40 {
            let id = next;
            next += 1;
            let v = encode(k, id, (id % 5) as usize * 200);
            let s = index
                .insert(k, &v)
                .map_err(|e| format!("insert failed: {e}"))?;
            Op::Put {
                value: id,
                seqno: Some(s),
            }
        } else if kind < 65 {
            let mut seen: Option<Result<Option<u64>, String>> = None;
            index.get(k, &mut |v| seen = Some(read(Some(v))));
            Op::Get {
                seen: seen.unwrap_or(Ok(None))?,
            }
        } else if kind < 80 {
            let mut seen = Ok(None);
            let mut wrong_key = None;
            index.scan(Bound::Included(k), Bound::Included(k), &mut |sk, v| {
                if sk != k {
                    wrong_key = Some(sk.to_vec());
                }
                seen = read(Some(v));
                false
            });
            if let Some(w) = wrong_key {
                return Err(format!(
                    "scan of [{}, {}] returned {}",
                    show(k),
                    show(k),
                    show(&w)
                ));
            }
            Op::Get { seen: seen? }
        } else {
            let removed = index.remove(k).map_err(|e| format!("remove failed: {e}"))?;
            Op::Remove { removed }
        };
        let ret = clock.now();
        events.push((
            ki,
            Event {
                thread: t,
                invoke,
                ret,
                op,
            },
        ));
    }
    Ok(events)
}

fn run_scenario<I: OrderedIndex>(
    index: &I,
    scenario: Scenario,
    ops: usize,
    seed: u64,
) -> Result<(), String> {
    let keys = hot_keys();
    let clock = Clock::new();
    let mut initial = vec![None; keys.len()];
    if scenario == Scenario::OverwriteWhileReading {
        for (i, k) in keys.iter().enumerate() {
            let id = 1000 + i as u64;
            index
                .insert(k, &encode(k, id, 100))
                .map_err(|e| format!("insert failed: {e}"))?;
            initial[i] = Some(id);
        }
    }
    let barrier = Barrier::new(LIN_THREADS);
    let results: Vec<Result<Vec<(usize, Event)>, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..LIN_THREADS)
            .map(|t| {
                let (keys, clock, barrier) = (&keys, &clock, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    lin_thread(index, keys, clock, t, ops, scenario, seed)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let mut per_key: Vec<Vec<Event>> = vec![Vec::new(); keys.len()];
    for r in results {
        for (ki, e) in r? {
            per_key[ki].push(e);
        }
    }
    for (ki, events) in per_key.iter().enumerate() {
        check_register(initial[ki], events).map_err(|e| {
            format!(
                "history of key {} is not linearizable:\n{e}",
                show(&keys[ki])
            )
        })?;
    }
    Ok(())
}

impl<I: OrderedIndex> Suite<I> {
    /// Check 3: six threads hammer a few hot keys with put / get /
    /// point-scan / remove, recording invoke and return times on one
    /// logical clock; each key's history must be linearizable as a
    /// register, with put seqnos increasing in linearization order. Two
    /// scenarios: mixed, and overwrite-while-reading.
    pub fn linearizability(&self) -> CheckResult {
        let seed = seed();
        let ops = self.n(400);
        for round in 0..3 {
            for scenario in [Scenario::Mixed, Scenario::OverwriteWhileReading] {
                let index = self.index();
                let s = seed.wrapping_add(round);
                run_scenario(&index, scenario, ops, s).map_err(|m| {
                    Failure::new(
                        "linearizability",
                        format!(
                            "{} scenario, round {round}: {m}\nseed: ORDEX_TEST_SEED={seed}",
                            match scenario {
                                Scenario::Mixed => "mixed",
                                Scenario::OverwriteWhileReading => "overwrite-while-reading",
                            }
                        ),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// An index of 3,000 entries (every 50th key 1,000 bytes longer,
    /// values of 0 to 99 bytes) for the allocation checks, and its keys.
    pub(crate) fn warm_index(&self) -> Result<(I, Vec<Vec<u8>>), String> {
        let index = self.index();
        let keys: Vec<Vec<u8>> = (0..3000u64)
            .map(|i| {
                let mut k = (i * 2654435761 % 1_000_003).to_be_bytes().to_vec();
                if i % 50 == 0 {
                    k.extend(std::iter::repeat_n(b'z', 1000));
                }
                k
            })
            .collect();
        for (i, k) in keys.iter().enumerate() {
            index
                .insert(k, &vec![i as u8; i % 100])
                .map_err(|e| format!("insert failed: {e}"))?;
        }
        Ok((index, keys))
    }

    /// Check 5: on a warm index, `get` (hits and misses), a 100-entry
    /// `scan`, and `get`/`scan` through a snapshot (with newer versions
    /// written after it) perform zero heap allocations on the calling
    /// thread: in one of three attempts, each after the thread's epoch
    /// bookkeeping is settled ([`alloc::count_settled_allocations`]), so
    /// that crossbeam-epoch's rare queue node is not charged to a read.
    /// Fails if the counting allocator is not installed.
    pub fn allocation_free_reads(&self) -> CheckResult {
        let fail = |m: String| Failure::new("allocation_free_reads", m);
        if !alloc::installed() {
            return Err(fail(
                "the counting allocator is not the global allocator of this test binary; use `ordex_testkit::conformance!` or install `ordex_testkit::alloc::CountingAllocator`".into(),
            ));
        }
        let (_, n) = alloc::count_allocations(|| std::hint::black_box(Vec::<u8>::with_capacity(8)));
        if n != 1 {
            return Err(fail(format!(
                "allocation counter is broken: a Vec counted {n} allocations"
            )));
        }
        let (index, keys) = self.warm_index().map_err(fail)?;
        let mut sink = 0usize;
        let mut reads = |what: &str, f: &mut dyn FnMut(&mut usize)| -> CheckResult {
            f(&mut sink); // warm-up (thread registration, lazy init)
            let counts = alloc::count_settled_allocations(|| {
                for _ in 0..3 {
                    f(&mut sink)
                }
            });
            if alloc::always_allocated(&counts) {
                return Err(fail(format!(
                    "{what} performed {counts:?} heap allocations (3 rounds, in each of {} attempts)",
                    counts.len()
                )));
            }
            Ok(())
        };
        let probes: Vec<Vec<u8>> = keys
            .iter()
            .step_by(7)
            .cloned()
            .chain((0..100u64).map(|i| (i * 3 + 7_000_000).to_be_bytes().to_vec()))
            .collect();
        reads("get of 529 keys (hits and misses)", &mut |sink| {
            for k in &probes {
                index.get(k, &mut |v| *sink += v.len());
            }
        })?;
        reads("scan of 100 entries (20 scans)", &mut |sink| {
            for k in probes.iter().take(20) {
                let mut n = 0;
                index.scan(Bound::Included(k), Bound::Unbounded, &mut |k, v| {
                    n += 1;
                    *sink += k.len() + v.len();
                    n < 100
                });
                n = 0;
                index.scan(Bound::Excluded(k), Bound::Unbounded, &mut |_, _| {
                    n += 1;
                    n < 100
                });
                *sink += n;
            }
        })?;
        let snap = index.snapshot();
        for (i, k) in keys.iter().enumerate().step_by(3) {
            if i % 2 == 0 {
                index
                    .remove(k)
                    .map_err(|e| fail(format!("remove failed: {e}")))?;
            } else {
                index
                    .insert(k, b"newer")
                    .map_err(|e| fail(format!("insert failed: {e}")))?;
            }
        }
        let snap = &*snap;
        reads(
            "snapshot get of 529 keys (with newer versions present)",
            &mut |sink| {
                for k in &probes {
                    snap.get(k, &mut |v| *sink += v.len());
                }
            },
        )?;
        reads("snapshot scan of 100 entries (20 scans)", &mut |sink| {
            for k in probes.iter().take(20) {
                let mut n = 0;
                snap.scan(Bound::Included(k), Bound::Unbounded, &mut |_, v| {
                    n += 1;
                    *sink += v.len();
                    n < 100
                });
            }
        })?;
        std::hint::black_box(sink);
        Ok(())
    }

    /// Check 6: bad input gets a precise `Err` and changes nothing:
    /// oversized keys and values (alone and inside a batch), writes to a
    /// full bounded index (if [`bounded`](Self::bounded) is configured) and
    /// to a sealed one (if [`sealable`](Self::sealable) is). Without a key
    /// or value limit, a 64 KiB key with a 1 MiB value must round-trip.
    pub fn bad_input(&self) -> CheckResult {
        let fail = |m: String| Failure::new("bad_input", m);
        let index = self.index();
        for i in 0..50u64 {
            index
                .insert(&i.to_be_bytes(), &i.to_le_bytes())
                .map_err(|e| fail(format!("insert failed: {e}")))?;
        }
        let limits = index.limits();
        const HUGE: usize = 1 << 24;
        let ok: (&[u8], &[u8]) = (b"fine", b"fine");
        if limits.max_key_len < HUGE {
            let max = limits.max_key_len;
            let at_max = vec![0xAB; max];
            index.insert(&at_max, b"v").map_err(|e| {
                fail(format!(
                    "a key of exactly max_key_len ({max}) was refused: {e}"
                ))
            })?;
            if index.get_copied(&at_max).as_deref() != Some(&b"v"[..]) {
                return Err(fail(format!(
                    "a key of exactly max_key_len ({max}) did not read back"
                )));
            }
            index
                .remove(&at_max)
                .map_err(|e| fail(format!("remove failed: {e}")))?;
            let big = vec![0xAB; max + 1];
            let want = Error::KeyTooLarge { len: max + 1, max };
            unchanged(&index, "oversized key", |ix| {
                expect_err(ix.insert(&big, b"v"), want, "insert")?;
                expect_err(
                    ix.insert_batch(&[ok, (&big, b"v"), ok]),
                    want,
                    "insert_batch",
                )?;
                match ix.remove(&big) {
                    Ok(false) | Err(Error::KeyTooLarge { .. }) => {}
                    other => return Err(format!("remove of an oversized key returned {other:?}")),
                }
                if ix.contains(&big) {
                    return Err("get of an oversized key found something".into());
                }
                Ok(())
            })
            .map_err(fail)?;
        } else {
            let k = vec![0x5A; 64 << 10];
            let v: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
            index.insert(&k, &v).map_err(|e| fail(format!("a 64 KiB key with a 1 MiB value was refused ({e}) though limits() says unbounded")))?;
            if index.get_copied(&k) != Some(v) {
                return Err(fail(
                    "a 64 KiB key with a 1 MiB value did not read back intact".into(),
                ));
            }
            index
                .remove(&k)
                .map_err(|e| fail(format!("remove failed: {e}")))?;
        }
        if limits.max_value_len < HUGE {
            let max = limits.max_value_len;
            let big = vec![0xCD; max + 1];
            let want = Error::ValueTooLarge { len: max + 1, max };
            unchanged(&index, "oversized value", |ix| {
                expect_err(ix.insert(b"k", &big), want, "insert")?;
                expect_err(
                    ix.insert_batch(&[ok, (b"k", &big), ok]),
                    want,
                    "insert_batch",
                )
            })
            .map_err(fail)?;
        }
        if let Some(bounded) = &self.bounded {
            check_full(&bounded(), self.n(10_000_000))
                .map_err(|m| fail(format!("bounded index: {m}")))?;
        }
        if let Some(seal) = &self.seal {
            seal(&index);
            unchanged(&index, "sealed", |ix| {
                expect_err(ix.insert(b"new", b"v"), Error::Sealed, "insert")?;
                expect_err(
                    ix.insert(&7u64.to_be_bytes(), b"v"),
                    Error::Sealed,
                    "overwrite",
                )?;
                expect_err(ix.remove(&7u64.to_be_bytes()), Error::Sealed, "remove")?;
                expect_err(ix.insert_batch(&[ok, ok]), Error::Sealed, "insert_batch")
            })
            .map_err(|m| fail(format!("after sealing: {m}")))?;
            let snap = index.snapshot();
            if snap.get_copied(&7u64.to_be_bytes()).as_deref() != Some(&7u64.to_le_bytes()[..]) {
                return Err(fail("a snapshot of a sealed index does not read".into()));
            }
        }
        Ok(())
    }

    /// Check 7: an index of a million entries, with overwritten and removed
    /// versions that a snapshot held, gives back every byte when dropped
    /// (the counting allocator returns to its baseline); on the way,
    /// `memory_usage()` is checked to be within a factor of what the heap
    /// says. `ORDEX_TEST_SCALE` below 1 makes the index smaller; above 1 it
    /// stays at a million (the scale lengthens the randomized and
    /// concurrent checks, and a bigger index frees through the same code:
    /// under AddressSanitizer three million cost the persistent tree's
    /// suite two minutes).
    pub fn drop_frees_everything(&self) -> CheckResult {
        let fail = |m: String| Failure::new("drop_frees_everything", m);
        if !alloc::installed() {
            return Err(fail(
                "the counting allocator is not the global allocator of this test binary".into(),
            ));
        }
        let n = self.n(1_000_000).min(1_000_000) as u64;
        let seed = seed();
        let baseline = alloc::live_bytes();
        let baseline_rss = alloc::resident_bytes();
        // Peak growth seen by the allocator and, beyond it, memory the
        // index mapped from the kernel itself (0 where RSS is unknown).
        let (heap, mapped);
        {
            let index = self.index();
            let key = |i: u64| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed).to_be_bytes();
            let half = n / 2;
            for i in 0..half {
                index
                    .insert(&key(i), &i.to_le_bytes()[..(i % 8) as usize])
                    .map_err(|e| fail(format!("insert failed: {e}")))?;
            }
            let mut i = half;
            while i < n {
                let end = (i + 1000).min(n);
                let keys: Vec<[u8; 8]> = (i..end).map(key).collect();
                let entries: Vec<(&[u8], &[u8])> =
                    keys.iter().map(|k| (&k[..], &b"batch-value"[..])).collect();
                index
                    .insert_batch(&entries)
                    .map_err(|e| fail(format!("insert_batch failed: {e}")))?;
                i = end;
            }
            let snap = index.snapshot();
            let mut removed = 0;
            for i in (0..n).step_by(4) {
                if i % 8 == 0 {
                    removed += u64::from(
                        index
                            .remove(&key(i))
                            .map_err(|e| fail(format!("remove failed: {e}")))?,
                    );
                } else {
                    index
                        .insert(&key(i), b"overwritten, once")
                        .map_err(|e| fail(format!("insert failed: {e}")))?;
                }
            }
            if snap.get_copied(&key(0)).is_none() {
                return Err(fail("the snapshot lost a removed key".into()));
            }
            drop(snap);
            let snap = index.snapshot();
            for i in (2..n).step_by(16) {
                index
                    .insert(&key(i), b"overwritten while a snapshot is alive")
                    .map_err(|e| fail(format!("insert failed: {e}")))?;
            }
            drop(snap);
            if index.len() as u64 != n - removed {
                return Err(fail(format!(
                    "len() is {}, expected {}",
                    index.len(),
                    n - removed
                )));
            }
            heap = (alloc::live_bytes() - baseline).max(0) as usize;
            let rss = match (baseline_rss, alloc::resident_bytes()) {
                (Some(before), Some(now)) => (now - before).max(0) as usize,
                _ => 0,
            };
            mapped = rss.saturating_sub(heap);
            let grown = heap.max(rss);
            let reported = index.memory_usage();
            let payload = (n - removed) as usize * 8;
            if reported < payload || reported > 4 * grown + (1 << 20) {
                return Err(fail(format!(
                    "memory_usage() reports {reported} bytes; the heap grew by {heap} bytes and the resident set by {rss} for {} live entries ({payload} bytes of keys alone)",
                    n - removed
                )));
            }
        }
        // Memory the index mapped itself must be unmapped: the resident set
        // may keep what the allocator freed (up to the heap's peak), not
        // more. Checked only where the index holds most of its memory
        // outside the allocator (for a heap-based index, the resident set
        // beyond the heap is the allocator's own overhead, which it need
        // not give back).
        if mapped > 16 << 20 && mapped > heap && !under_sanitizer() {
            if let (Some(before), Some(now)) = (baseline_rss, alloc::resident_bytes()) {
                let kept = (now - before).max(0) as usize;
                if kept > heap + (8 << 20) {
                    return Err(fail(format!(
                        "the resident set is still {kept} bytes above its start after dropping the index, which mapped about {mapped} bytes itself"
                    )));
                }
            }
        }
        let leaked = alloc::live_bytes() - baseline;
        // A little slack for the test harness's own bookkeeping.
        if leaked > 256 << 10 {
            return Err(fail(format!(
                "{leaked} bytes were still allocated after dropping the index of {n} entries"
            )));
        }
        Ok(())
    }
}

fn expect_err<T: std::fmt::Debug>(
    got: Result<T, Error>,
    want: Error,
    what: &str,
) -> Result<(), String> {
    match got {
        Err(e) if e == want => Ok(()),
        other => Err(format!("{what} returned {other:?}, expected Err({want:?})")),
    }
}

type State = (Vec<(Vec<u8>, Vec<u8>)>, usize, Seqno);

fn state<I: OrderedIndex>(index: &I) -> Result<State, String> {
    let all = scan_collect(|f| index.scan(Bound::Unbounded, Bound::Unbounded, f), None)?;
    Ok((all, index.len(), index.snapshot().seqno()))
}

/// Runs `f` and checks that the index's contents, `len()` and seqno are
/// exactly as before.
fn unchanged<I: OrderedIndex>(
    index: &I,
    what: &str,
    f: impl FnOnce(&I) -> Result<(), String>,
) -> Result<(), String> {
    let before = state(index)?;
    f(index).map_err(|m| format!("{what}: {m}"))?;
    let after = state(index)?;
    if before.0 != after.0 {
        return Err(format!(
            "{what}: a refused write changed the contents ({} entries before, {} after)",
            before.0.len(),
            after.0.len()
        ));
    }
    if before.1 != after.1 {
        return Err(format!(
            "{what}: a refused write changed len() from {} to {}",
            before.1, after.1
        ));
    }
    if before.2 != after.2 {
        return Err(format!(
            "{what}: a refused write consumed seqnos ({} before, {} after)",
            before.2, after.2
        ));
    }
    Ok(())
}

fn check_full<I: OrderedIndex>(index: &I, max_writes: usize) -> Result<(), String> {
    let value = [0x42u8; 100];
    let mut written = 0u64;
    loop {
        if written as usize >= max_writes {
            return Err(format!(
                "never returned Error::Full after {written} inserts of 108 bytes"
            ));
        }
        match index.insert(&written.to_be_bytes(), &value) {
            Ok(_) => written += 1,
            Err(Error::Full) => break,
            Err(e) => return Err(format!("returned {e:?} instead of Error::Full")),
        }
    }
    let failed = written.to_be_bytes();
    if index.contains(&failed) {
        return Err("the insert that returned Full is visible".into());
    }
    unchanged(index, "full", |ix| {
        expect_err(ix.insert(&failed, &value), Error::Full, "insert")?;
        let keys: Vec<[u8; 8]> = (written..written + 64).map(u64::to_be_bytes).collect();
        let batch: Vec<(&[u8], &[u8])> = keys.iter().map(|k| (&k[..], &value[..])).collect();
        expect_err(ix.insert_batch(&batch), Error::Full, "insert_batch")
    })?;
    if index.len() as u64 != written {
        return Err(format!(
            "len() is {} after {written} successful inserts",
            index.len()
        ));
    }
    for i in 0..written {
        if index.get_copied(&i.to_be_bytes()).as_deref() != Some(&value[..]) {
            return Err(format!(
                "entry {i}, written before Full, is missing or wrong"
            ));
        }
    }
    Ok(())
}

/// Whether this process runs under a sanitizer (as `.ci/asan.sh` runs the
/// suites): AddressSanitizer's shadow memory and its quarantine of freed
/// blocks make the resident set useless as a measure of what an index
/// holds, so the checks that read it step aside.
fn under_sanitizer() -> bool {
    std::env::var_os("ASAN_OPTIONS").is_some() || std::env::var_os("ORDEX_SANITIZER").is_some()
}
