//! The cursor checks: [`Cursor`]s against a model, exact on snapshots
//! while writers run, ordered and complete on the live index while writers
//! run, and allocation-free.

use crate::model::seeded_runner;
use crate::rng::{seed, Rng};
use crate::{alloc, CheckResult, Failure, Suite};
use ordex_core::{Cursor, OrderedIndex, Seqno};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

/// A model entry: the value and the seqno of the write that made it.
type Model = BTreeMap<Vec<u8>, (Vec<u8>, Seqno)>;

/// One cursor operation of a random program.
#[derive(Debug, Clone)]
enum Op {
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    First,
    Last,
    Next,
    Prev,
}

/// Awkward keys: the empty key, keys that are prefixes of others, runs of
/// 0x00 and 0xFF, and short strings over a few bytes that make prefixes
/// and neighbours common.
fn awkward_key() -> impl Strategy<Value = Vec<u8>> {
    const FIXED: &[&[u8]] = &[
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x00\x00\x00",
        b"\xFF",
        b"\xFF\xFF",
        b"\xFF\xFF\xFF",
        b"a",
        b"ab",
        b"abc",
        b"abc\x00",
        b"abd",
        b"b",
    ];
    const BYTES: &[u8] = &[0x00, 0x01, b'a', b'b', 0x7F, 0xFE, 0xFF];
    prop_oneof![
        3 => prop::sample::select(FIXED).prop_map(<[u8]>::to_vec),
        7 => prop::collection::vec(prop::sample::select(BYTES), 0..5),
    ]
}

/// A write of a cursor program's index: a put, or a remove.
#[derive(Debug, Clone)]
enum Write {
    Put(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        3 => (awkward_key(), prop::collection::vec(any::<u8>(), 0..12))
            .prop_map(|(k, v)| Write::Put(k, v)),
        1 => awkward_key().prop_map(Write::Remove),
    ]
}

/// Cursor operations: seeks to awkward keys (present or not), steps in
/// both directions (runs that go past either end, and turns).
fn cursor_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => awkward_key().prop_map(Op::Seek),
        2 => awkward_key().prop_map(Op::SeekForPrev),
        1 => Just(Op::First),
        1 => Just(Op::Last),
        3 => Just(Op::Next),
        3 => Just(Op::Prev),
    ]
}

/// Applies `w` to the index and the model.
fn apply_write(index: &dyn OrderedIndex, model: &mut Model, w: &Write) -> Result<(), String> {
    match w {
        Write::Put(k, v) => {
            let s = index.insert(k, v).map_err(|e| format!("insert: {e}"))?;
            model.insert(k.clone(), (v.clone(), s));
        }
        Write::Remove(k) => {
            if index.remove(k).map_err(|e| format!("remove: {e}"))? {
                model.remove(k);
            }
        }
    }
    Ok(())
}

/// Where the model's cursor goes for `op` from `pos`.
fn model_step(model: &Model, pos: &Option<Vec<u8>>, op: &Op) -> Option<Vec<u8>> {
    use Bound::{Excluded, Included, Unbounded};
    let pick = |from: Bound<&[u8]>, to: Bound<&[u8]>, back: bool| {
        let mut r = model.range::<[u8], _>((from, to));
        let e = if back { r.next_back() } else { r.next() };
        e.map(|(k, _)| k.clone())
    };
    match op {
        Op::Seek(k) => pick(Included(k), Unbounded, false),
        Op::SeekForPrev(k) => pick(Unbounded, Included(k), true),
        Op::First => pick(Unbounded, Unbounded, false),
        Op::Last => pick(Unbounded, Unbounded, true),
        Op::Next => pick(Excluded(pos.as_deref()?), Unbounded, false),
        Op::Prev => pick(Unbounded, Excluded(pos.as_deref()?), true),
    }
}

fn apply(c: &mut dyn Cursor, op: &Op) -> bool {
    match op {
        Op::Seek(k) => c.seek(k),
        Op::SeekForPrev(k) => c.seek_for_prev(k),
        Op::First => c.first(),
        Op::Last => c.last(),
        Op::Next => c.next(),
        Op::Prev => c.prev(),
    }
}

fn show(k: Option<&[u8]>) -> String {
    k.map_or("(none)".into(), crate::values::show)
}

/// Runs `ops` on `c` and on the model's cursor; the first disagreement.
fn run_program(c: &mut dyn Cursor, model: &Model, ops: &[Op]) -> Result<(), String> {
    let mut pos: Option<Vec<u8>> = None;
    for (i, op) in ops.iter().enumerate() {
        let moved = apply(c, op);
        pos = model_step(model, &pos, op);
        let at = |what: String| format!("step {i} ({op:?}): {what}");
        if moved != pos.is_some() || c.valid() != pos.is_some() {
            return Err(at(format!(
                "returned {moved}, valid() {}, the model is {}",
                c.valid(),
                show(pos.as_deref())
            )));
        }
        if c.key() != pos.as_deref() {
            return Err(at(format!(
                "on key {}, the model on {}",
                show(c.key()),
                show(pos.as_deref())
            )));
        }
        if let Some(k) = &pos {
            let (v, s) = &model[k];
            if c.value() != Some(&v[..]) || c.entry() != Some((&k[..], &v[..])) {
                return Err(at(format!(
                    "key {}: value {}, the model's {}",
                    show(Some(k)),
                    show(c.value()),
                    show(Some(v))
                )));
            }
            // Exact, or 0 where a backend keeps no seqno for a version
            // every reader sees (see `Cursor::seqno`).
            match c.seqno() {
                Some(got) if got == *s || got == 0 => {}
                got => {
                    return Err(at(format!(
                        "key {}: seqno {got:?}, written at {s}",
                        show(Some(k))
                    )))
                }
            }
        } else if c.value().is_some() || c.seqno().is_some() {
            return Err(at("unpositioned, but shows a value or a seqno".into()));
        }
    }
    Ok(())
}

/// Runs `read` while three threads call `write` in a loop (each with a
/// generator of its own), once they have written 100 times between them;
/// stops them when `read` returns. `read` gets a `progress` function
/// that makes one write itself: a reader that calls it every few steps is
/// sure to step among writes. Without it, on a loaded machine a reader
/// could run whole walks in one time slice while the writers waited, and
/// the checks missed cursors that go wrong only after writes (once in two
/// runs here, with a CI run beside them).
fn with_writers<I: OrderedIndex>(
    index: &I,
    seed: u64,
    write: impl Fn(&mut Rng) + Sync,
    read: impl FnOnce(&dyn Fn()) -> CheckResult,
) -> CheckResult {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for t in 0..3u64 {
            let (write, stop) = (&write, &stop);
            scope.spawn(move || {
                let mut rng = Rng::new(seed ^ t);
                while !stop.load(Ordering::Relaxed) {
                    write(&mut rng);
                }
            });
        }
        let started = index.snapshot().seqno() + 100;
        while index.snapshot().seqno() < started {
            std::thread::yield_now();
        }
        let own = std::cell::RefCell::new(Rng::new(!seed));
        let progress = || write(&mut own.borrow_mut());
        let result = read(&progress);
        stop.store(true, Ordering::Relaxed);
        result
    })
}

impl<I: OrderedIndex> Suite<I> {
    /// Random programs of seeks and steps in both directions, on a live
    /// cursor and on a snapshot's, agree with a model cursor over
    /// `BTreeMap`: awkward keys (empty, prefixes of others, 0x00 / 0xFF
    /// runs), steps past both ends, direction changes; key, value, entry
    /// and seqno at every step. Writes before the snapshot, more after it
    /// (which only the live cursor sees), then the cursor program; a
    /// failure is shrunk to a minimal one (proptest).
    pub fn cursor_model(&self) -> CheckResult {
        let config = Config {
            cases: self.n(96) as u32,
            failure_persistence: None,
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            ..Config::default()
        };
        let (mut runner, seed) = seeded_runner(config);
        let program = (
            prop::collection::vec(write(), 0..80),
            prop::collection::vec(write(), 0..30),
            prop::collection::vec(cursor_op(), 1..120),
        );
        let result = runner.run(&program, |(before, after, ops)| {
            let index = self.index();
            let mut live = Model::new();
            for w in &before {
                apply_write(&index, &mut live, w).map_err(TestCaseError::fail)?;
            }
            let snap_model = live.clone();
            let snap = index.snapshot();
            for w in &after {
                apply_write(&index, &mut live, w).map_err(TestCaseError::fail)?;
            }
            run_program(&mut *snap.cursor(), &snap_model, &ops)
                .map_err(|m| TestCaseError::fail(format!("snapshot cursor: {m}")))?;
            run_program(&mut *index.cursor(), &live, &ops)
                .map_err(|m| TestCaseError::fail(format!("live cursor: {m}")))?;
            Ok(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(TestError::Fail(why, (before, after, ops))) => Err(Failure::new(
                "cursor_model",
                format!(
                    "{why}\nminimal program: writes before the snapshot {before:?}, after it \
                     {after:?}, cursor operations {ops:?}\nseed: ORDEX_TEST_SEED={seed}"
                ),
            )),
            Err(TestError::Abort(why)) => {
                Err(Failure::new("cursor_model", format!("aborted: {why}")))
            }
        }
    }

    /// Snapshot cursors are exact while writers run: walks in both
    /// directions and seeks show exactly the snapshot's entries while
    /// three threads overwrite, remove and add keys.
    pub fn cursor_snapshot_exact(&self) -> CheckResult {
        let seed = seed();
        let fail = |m: String| {
            Failure::new(
                "cursor_snapshot_exact",
                format!("seed {seed} (ORDEX_TEST_SEED): {m}"),
            )
        };
        let index = self.index();
        let key = |i: u64| (i * 7919 % 100_003).to_be_bytes().to_vec();
        let n = self.n(3000) as u64;
        let mut model = Model::new();
        for i in 0..n {
            let s = index
                .insert(&key(i), &i.to_le_bytes())
                .map_err(|e| fail(format!("insert: {e}")))?;
            model.insert(key(i), (i.to_le_bytes().to_vec(), s));
        }
        let snap = index.snapshot();
        let write = |rng: &mut Rng| {
            let k = key(rng.below(2 * n));
            let _ = if rng.percent(40) {
                index.remove(&k).map(|_| ())
            } else {
                index.insert(&k, &rng.next_u64().to_le_bytes()).map(|_| ())
            };
        };
        with_writers(&index, seed, write, |progress| {
            let mut rng = Rng::new(seed);
            let mut c = snap.cursor();
            for walk in 0..4 {
                let forward = walk % 2 == 0;
                let mut seen = Vec::with_capacity(model.len());
                let mut ok = if forward { c.first() } else { c.last() };
                while ok {
                    seen.push((
                        c.key().unwrap_or(&[]).to_vec(),
                        c.value().map(<[u8]>::to_vec),
                    ));
                    if seen.len().is_multiple_of(32) {
                        progress();
                    }
                    ok = if forward { c.next() } else { c.prev() };
                }
                if !forward {
                    seen.reverse();
                }
                let want: Vec<_> = model
                    .iter()
                    .map(|(k, (v, _))| (k.clone(), Some(v.clone())))
                    .collect();
                if seen != want {
                    let at = seen.iter().zip(&want).position(|(a, b)| a != b);
                    return Err(fail(format!(
                            "walk {walk} ({}): {} entries, the snapshot holds {}; first difference at {at:?}",
                            if forward { "forward" } else { "backward" },
                            seen.len(),
                            want.len()
                        )));
                }
                for _ in 0..200 {
                    progress();
                    let probe = key(rng.below(2 * n));
                    let op = if rng.percent(50) {
                        Op::Seek(probe)
                    } else {
                        Op::SeekForPrev(probe)
                    };
                    let mut ops = vec![op];
                    ops.extend((0..rng.index(8)).map(|_| {
                        if rng.percent(50) {
                            Op::Next
                        } else {
                            Op::Prev
                        }
                    }));
                    run_program(&mut *c, &model, &ops)
                        .map_err(|m| fail(format!("seek and steps: {m}")))?;
                }
            }
            Ok(())
        })
    }

    /// Live cursors while writers run: along `next` keys strictly ascend,
    /// along `prev` strictly descend (no key twice, none out of order),
    /// and every key present for the whole walk is seen with its value.
    /// Even keys stay put; three threads add and remove the odd ones.
    pub fn cursor_live_order(&self) -> CheckResult {
        let seed = seed();
        let fail = |m: String| {
            Failure::new(
                "cursor_live_order",
                format!("seed {seed} (ORDEX_TEST_SEED): {m}"),
            )
        };
        let index = self.index();
        let n = self.n(2000) as u32;
        let key = |i: u32| i.to_be_bytes();
        for i in (0..2 * n).step_by(2) {
            index
                .insert(&key(i), &crate::values::encode(&key(i), 0, 0))
                .map_err(|e| fail(format!("insert: {e}")))?;
        }
        let write = |rng: &mut Rng| {
            let k = key(rng.below(u64::from(n)) as u32 * 2 + 1);
            let _ = if rng.percent(50) {
                index.remove(&k).map(|_| ())
            } else {
                index.insert(&k, b"churn").map(|_| ())
            };
        };
        with_writers(&index, seed, write, |progress| {
            let mut c = index.cursor();
            for walk in 0..6 {
                let forward = walk % 2 == 0;
                let mut last: Option<Vec<u8>> = None;
                let mut stable = 0u32;
                let mut steps = 0u32;
                let mut ok = if forward { c.first() } else { c.last() };
                while ok {
                    let k = c.key().unwrap_or(&[]).to_vec();
                    if let Some(l) = &last {
                        if (forward && k <= *l) || (!forward && k >= *l) {
                            return Err(fail(format!(
                                "walk {walk} ({}): key {} after {}",
                                if forward { "next" } else { "prev" },
                                crate::values::show(&k),
                                crate::values::show(l)
                            )));
                        }
                    }
                    let i = k.as_slice().try_into().map(u32::from_be_bytes);
                    if let Ok(i) = i {
                        if i % 2 == 0 {
                            let want = if forward {
                                stable * 2
                            } else {
                                2 * n - 2 - stable * 2
                            };
                            if i != want {
                                return Err(fail(format!(
                                        "walk {walk}: stable key {want} missed (next stable key seen: {i})"
                                    )));
                            }
                            let v = c.value().unwrap_or(&[]);
                            crate::values::decode(&k, v)
                                .map_err(|e| fail(format!("walk {walk}: key {i}: {e}")))?;
                            stable += 1;
                        }
                    }
                    last = Some(k);
                    steps += 1;
                    if steps.is_multiple_of(32) {
                        progress();
                    }
                    ok = if forward { c.next() } else { c.prev() };
                }
                if stable != n {
                    return Err(fail(format!(
                        "walk {walk}: {stable} of the {n} stable keys seen"
                    )));
                }
            }
            Ok(())
        })
    }

    /// Seeks and steps of live and snapshot cursors on a warm index
    /// allocate nothing, and making one allocates once (the box).
    pub fn cursor_allocation_free(&self) -> CheckResult {
        let fail = |m: String| Failure::new("cursor_allocation_free", m);
        if !alloc::installed() {
            return Err(fail(
                "the counting allocator is not the global allocator of this test binary".into(),
            ));
        }
        let (index, keys) = self.warm_index().map_err(fail)?;
        let snap = index.snapshot();
        let walk = |c: &mut dyn Cursor, sink: &mut usize| {
            for k in keys.iter().step_by(150) {
                let mut ok = c.seek(k);
                for _ in 0..100 {
                    *sink += c.key().map_or(0, <[u8]>::len) + c.value().map_or(0, <[u8]>::len);
                    ok = ok && c.next();
                }
                ok = c.seek_for_prev(k);
                for _ in 0..100 {
                    *sink += c.entry().map_or(0, |(k, v)| k.len() + v.len());
                    ok = ok && c.prev();
                }
                let _ = (ok, c.first(), c.last(), c.seqno());
            }
        };
        for (what, mut c) in [("live", index.cursor()), ("snapshot", snap.cursor())] {
            let mut sink = 0usize;
            walk(&mut *c, &mut sink); // warm-up
            let counts = alloc::count_settled_allocations(|| {
                for _ in 0..3 {
                    walk(&mut *c, &mut sink)
                }
            });
            std::hint::black_box(sink);
            if alloc::always_allocated(&counts) {
                return Err(fail(format!(
                    "a {what} cursor performed {counts:?} heap allocations in 3 rounds of 20 seeks with 100 steps each way (in each of {} attempts)",
                    counts.len()
                )));
            }
        }
        // Making a cursor: one allocation (the box). Counted over many
        // cursors, so that a runtime's rare allocation of its own (an
        // epoch's garbage bag, say) is not charged to one of them.
        const MADE: u64 = 16;
        for what in ["live", "snapshot"] {
            let make = || match what {
                "live" => index.cursor(),
                _ => snap.cursor(),
            };
            drop(make()); // warm-up: a thread's first pin registers it
            let mut held = Vec::with_capacity(MADE as usize);
            let ((), n) = alloc::count_allocations(|| held.extend((0..MADE).map(|_| make())));
            drop(held);
            if n > MADE {
                return Err(fail(format!(
                    "making {MADE} {what} cursors performed {n} heap allocations: more than one each"
                )));
            }
        }
        Ok(())
    }
}
