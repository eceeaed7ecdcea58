//! Check 1: random sequential programs against `BTreeMap` (proptest).

use crate::values::show;
use crate::{CheckResult, Failure, Suite};
use ordex_core::{Error, OrderedIndex, Seqno, Snapshot};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// Entries copied out of a scan.
pub(crate) type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Keys that break naive implementations: empty, single bytes at the
/// extremes, chains of prefixes, embedded zeros.
const SPECIAL_KEYS: &[&[u8]] = &[
    b"",
    b"\x00",
    b"\x00\x00",
    b"\x01",
    b"\xff",
    b"\xff\xff",
    b"\xff\x00",
    b"a",
    b"a\x00",
    b"ab",
    b"abc",
    b"abd",
    b"ab\xff",
    b"b",
];

/// A key: special, short over a small alphabet (so keys collide and share
/// prefixes), or long (1–4 KiB) from a few fill bytes (so long keys are
/// prefixes of one another and differ only at the end).
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(SPECIAL_KEYS).prop_map(<[u8]>::to_vec),
        5 => prop::collection::vec(
            prop::sample::select(&[0u8, 1, b'a', b'b', 0x7f, 0x80, 0xfe, 0xff][..]),
            0..5
        ),
        1 => (0u8..3, 1024usize..=4096, prop::option::of(any::<u8>())).prop_map(|(fill, len, last)| {
            let mut k = vec![b'L' + fill; len];
            if let Some(b) = last {
                k[len - 1] = b;
            }
            k
        }),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(any::<u8>(), 0..24),
        1 => (any::<u8>(), 0usize..=4096).prop_map(|(b, n)| vec![b; n]),
    ]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
        Just(Bound::Unbounded),
    ]
}

#[derive(Clone)]
enum Op {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    Get(Vec<u8>),
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>, Option<usize>),
    Batch(Vec<(Vec<u8>, Vec<u8>)>),
    TakeSnapshot,
    ReadSnapshot(usize, Bound<Vec<u8>>, Bound<Vec<u8>>, Vec<u8>),
    DropSnapshot(usize),
}

fn show_bound(b: &Bound<Vec<u8>>) -> String {
    match b {
        Bound::Included(k) => format!("Included({})", show(k)),
        Bound::Excluded(k) => format!("Excluded({})", show(k)),
        Bound::Unbounded => "Unbounded".into(),
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Insert(k, v) => write!(f, "insert({}, <{} bytes>)", show(k), v.len()),
            Op::Remove(k) => write!(f, "remove({})", show(k)),
            Op::Get(k) => write!(f, "get({})", show(k)),
            Op::Scan(a, b, l) => {
                write!(f, "scan({}, {}, limit {l:?})", show_bound(a), show_bound(b))
            }
            Op::Batch(es) => {
                let keys: Vec<_> = es
                    .iter()
                    .map(|(k, v)| format!("{}=<{}>", show(k), v.len()))
                    .collect();
                write!(f, "insert_batch([{}])", keys.join(", "))
            }
            Op::TakeSnapshot => write!(f, "snapshot()"),
            Op::ReadSnapshot(i, a, b, k) => write!(
                f,
                "snapshot#{i}.scan({}, {}) + get({})",
                show_bound(a),
                show_bound(b),
                show(k)
            ),
            Op::DropSnapshot(i) => write!(f, "drop(snapshot#{i})"),
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (key(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
        3 => key().prop_map(Op::Remove),
        4 => key().prop_map(Op::Get),
        3 => (bound(), bound(), prop::option::of(0usize..6)).prop_map(|(a, b, l)| Op::Scan(a, b, l)),
        1 => prop::collection::vec((key(), value()), 0..6).prop_map(Op::Batch),
        1 => Just(Op::TakeSnapshot),
        2 => (0usize..4, bound(), bound(), key()).prop_map(|(i, a, b, k)| Op::ReadSnapshot(i, a, b, k)),
        1 => (0usize..4).prop_map(Op::DropSnapshot),
    ]
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The model's answer to a scan: entries within bounds, never panicking on
/// inverted bounds.
pub(crate) fn model_range(
    map: &Map,
    from: Bound<&[u8]>,
    to: Bound<&[u8]>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if ordex_core::is_empty_range(from, to) {
        return Vec::new();
    }
    map.range::<[u8], _>((from, to))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Runs a scan, checking the callback/return-count contract; returns the
/// entries seen.
pub(crate) fn scan_collect(
    scan: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> usize,
    limit: Option<usize>,
) -> Result<Entries, String> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut calls = 0usize;
    let mut called_after_stop = false;
    let limit = limit.unwrap_or(usize::MAX);
    let n = scan(&mut |k, v| {
        if calls >= limit.max(1) {
            called_after_stop = true;
        }
        calls += 1;
        out.push((k.to_vec(), v.to_vec()));
        calls < limit
    });
    if called_after_stop {
        return Err("scan kept calling the callback after it returned false".into());
    }
    if n != calls {
        return Err(format!(
            "scan returned {n} but called the callback {calls} times"
        ));
    }
    Ok(out)
}

fn expect_limited(
    mut all: Vec<(Vec<u8>, Vec<u8>)>,
    limit: Option<usize>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if let Some(l) = limit {
        all.truncate(l.max(1));
    }
    all
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

fn get_once(get: impl FnOnce(&mut dyn FnMut(&[u8])) -> bool) -> Result<Option<Vec<u8>>, String> {
    let mut calls = 0;
    let mut out = None;
    let found = get(&mut |v| {
        calls += 1;
        out = Some(v.to_vec());
    });
    match (found, calls) {
        (true, 1) | (false, 0) => Ok(out),
        _ => Err(format!(
            "get returned {found} but called its callback {calls} times"
        )),
    }
}

fn diff(what: &str, got: &[(Vec<u8>, Vec<u8>)], want: &[(Vec<u8>, Vec<u8>)]) -> String {
    let show_all = |es: &[(Vec<u8>, Vec<u8>)]| {
        es.iter()
            .take(12)
            .map(|(k, v)| format!("{}=<{}>", show(k), v.len()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{what}: got {} entries [{}], model has {} [{}]",
        got.len(),
        show_all(got),
        want.len(),
        show_all(want)
    )
}

struct Snap<'a> {
    snap: Box<dyn Snapshot + 'a>,
    model: Map,
}

fn run_program<I: OrderedIndex>(index: &I, ops: &[Op]) -> Result<(), TestCaseError> {
    let limits = index.limits();
    let mut model = Map::new();
    let mut last: Seqno = 0;
    let mut snaps: Vec<Snap<'_>> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let at = |m: String| fail(format!("step {step} {op:?}: {m}"));
        match op {
            Op::Insert(k, v) => match (index.insert(k, v), limits.check(k, v)) {
                (Ok(s), Ok(())) => {
                    if s <= last {
                        return Err(at(format!("seqno {s} is not above the previous {last}")));
                    }
                    last = s;
                    model.insert(k.clone(), v.clone());
                }
                (Err(e), Err(want)) if e == want => {}
                (got, want) => {
                    return Err(at(format!(
                        "returned {got:?}, limits {limits:?} call for {want:?}"
                    )))
                }
            },
            Op::Remove(k) => {
                let want = model.contains_key(k);
                match index.remove(k) {
                    Ok(got) if got == want => {
                        if want {
                            model.remove(k);
                        }
                    }
                    Err(Error::KeyTooLarge { .. }) if k.len() > limits.max_key_len => {}
                    got => return Err(at(format!("returned {got:?}, model says Ok({want})"))),
                }
            }
            Op::Get(k) => {
                let got = get_once(|f| index.get(k, f)).map_err(at)?;
                if got.as_ref() != model.get(k) {
                    return Err(at(format!(
                        "got {:?}, model has {:?}",
                        got.map(|v| v.len()),
                        model.get(k).map(Vec::len)
                    )));
                }
            }
            Op::Scan(a, b, limit) => {
                let (a, b) = (as_ref(a), as_ref(b));
                let got = scan_collect(|f| index.scan(a, b, f), *limit).map_err(at)?;
                let want = expect_limited(model_range(&model, a, b), *limit);
                if got != want {
                    return Err(at(diff("scan", &got, &want)));
                }
            }
            Op::Batch(entries) => {
                let refs: Vec<(&[u8], &[u8])> =
                    entries.iter().map(|(k, v)| (&k[..], &v[..])).collect();
                let valid = entries.iter().try_for_each(|(k, v)| limits.check(k, v));
                match (index.insert_batch(&refs), valid) {
                    (Ok(s), Ok(())) => {
                        if !entries.is_empty() {
                            if s <= last {
                                return Err(at(format!("batch seqno {s} is not above {last}")));
                            }
                            last = s;
                        }
                        for (k, v) in entries {
                            model.insert(k.clone(), v.clone());
                        }
                    }
                    (Err(e), Err(want)) if e == want => {}
                    (got, want) => {
                        return Err(at(format!(
                            "returned {got:?}, limits {limits:?} call for {want:?}"
                        )))
                    }
                }
            }
            Op::TakeSnapshot => {
                let snap = index.snapshot();
                if snap.seqno() < last {
                    return Err(at(format!(
                        "snapshot pins seqno {} below the last write's {last}",
                        snap.seqno()
                    )));
                }
                if snaps.len() == 4 {
                    snaps.remove(0);
                }
                snaps.push(Snap {
                    snap,
                    model: model.clone(),
                });
            }
            Op::ReadSnapshot(i, a, b, k) => {
                if snaps.is_empty() {
                    continue;
                }
                let s = &snaps[i % snaps.len()];
                let (a, b) = (as_ref(a), as_ref(b));
                let got = scan_collect(|f| s.snap.scan(a, b, f), None).map_err(at)?;
                let want = model_range(&s.model, a, b);
                if got != want {
                    return Err(at(diff(
                        &format!("snapshot at seqno {} scan", s.snap.seqno()),
                        &got,
                        &want,
                    )));
                }
                let got = get_once(|f| s.snap.get(k, f)).map_err(at)?;
                if got.as_ref() != s.model.get(k) {
                    return Err(at(format!(
                        "snapshot at seqno {} get: got {:?} bytes, model has {:?}",
                        s.snap.seqno(),
                        got.map(|v| v.len()),
                        s.model.get(k).map(Vec::len)
                    )));
                }
            }
            Op::DropSnapshot(i) => {
                if !snaps.is_empty() {
                    let n = snaps.len();
                    snaps.remove(i % n);
                }
            }
        }
        if index.len() != model.len() {
            return Err(at(format!(
                "len() is {}, model has {}",
                index.len(),
                model.len()
            )));
        }
    }
    // Final full comparison, live and for every snapshot still held.
    let got =
        scan_collect(|f| index.scan(Bound::Unbounded, Bound::Unbounded, f), None).map_err(fail)?;
    let want = model_range(&model, Bound::Unbounded, Bound::Unbounded);
    if got != want {
        return Err(fail(diff("final scan", &got, &want)));
    }
    for s in &snaps {
        let got = scan_collect(|f| s.snap.scan(Bound::Unbounded, Bound::Unbounded, f), None)
            .map_err(fail)?;
        let want = model_range(&s.model, Bound::Unbounded, Bound::Unbounded);
        if got != want {
            return Err(fail(diff(
                &format!("final scan of snapshot at seqno {}", s.snap.seqno()),
                &got,
                &want,
            )));
        }
    }
    Ok(())
}

/// A proptest runner seeded from `ORDEX_TEST_SEED` (or the clock), and
/// the seed, which a failure prints.
pub(crate) fn seeded_runner(config: Config) -> (TestRunner, u64) {
    let seed = crate::rng::seed();
    let runner = TestRunner::new_with_rng(
        config,
        proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &{
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&seed.to_le_bytes());
            s
        }),
    );
    (runner, seed)
}

impl<I: OrderedIndex> Suite<I> {
    /// Check 1: random programs of insert, remove, get, scan (every bound
    /// kind, early stop), insert_batch and snapshots agree with a
    /// `BTreeMap` model, step by step, with `len()` after every step and
    /// strictly increasing seqnos. Failures are shrunk to a minimal program.
    pub fn sequential_model(&self) -> CheckResult {
        let config = Config {
            cases: self.n(96) as u32,
            failure_persistence: None,
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            ..Config::default()
        };
        let (mut runner, seed) = seeded_runner(config);
        let result = runner.run(&prop::collection::vec(op(), 1..64), |ops| {
            let index = self.index();
            run_program(&index, &ops)
        });
        match result {
            Ok(()) => Ok(()),
            Err(TestError::Fail(why, ops)) => Err(Failure::new(
                "sequential_model",
                format!(
                    "{why}\nminimal program ({} ops): {ops:#?}\nseed: ORDEX_TEST_SEED={seed}",
                    ops.len()
                ),
            )),
            Err(TestError::Abort(why)) => {
                Err(Failure::new("sequential_model", format!("aborted: {why}")))
            }
        }
    }
}
