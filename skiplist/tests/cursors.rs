//! Engine-facing cursors against a model: the bounded version cursor
//! (borrowed and owned) for bounds of every kind at both ends, owned and
//! borrowed cursors walking alike, an owned cursor outliving the scope of
//! its table (and freeing it when it drops), and no allocation per step or
//! seek.

use ordex_skiplist::{
    Cursor, OwnedCursor, OwnedVersionCursor, SkipList, Version, VersionCursor, WriteAtError,
};
use ordex_testkit::alloc::{count_allocations, installed, CountingAllocator};
use proptest::prelude::*;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Weak};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// The largest seqno a write may carry (2^56 − 1).
const MAX_SEQNO: u64 = (1 << 56) - 1;

/// (key, Reverse(seqno)) -> value or tombstone: the table order.
type Model = BTreeMap<(Vec<u8>, Reverse<u64>), Option<Vec<u8>>>;

/// A position in table order, comparable with the model's keys.
type Pos = (Vec<u8>, Reverse<u64>);

/// A small alphabet: the empty key, keys that are prefixes of others, a
/// zero byte right after a prefix, and 0xff.
const KEYS: [&[u8]; 8] = [b"", b"a", b"ab", b"abc", b"a\0", b"b", b"\0", b"\xff"];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(&KEYS[..]).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(prop::sample::select(&[0u8, b'a', b'b', 0xff][..]), 0..4),
    ]
}

/// Seqnos of writes: a few small ones (so versions of a key collide with
/// the bounds), now and then the largest there is.
fn write_seqno() -> impl Strategy<Value = u64> {
    prop_oneof![10 => 0u64..12, 1 => Just(MAX_SEQNO)]
}

/// Seqnos of bounds and seeks: the writes' and the extremes beyond them.
fn probe_seqno() -> impl Strategy<Value = u64> {
    prop_oneof![10 => 0u64..13, 1 => Just(MAX_SEQNO), 1 => Just(u64::MAX)]
}

/// One caller-seqno write: key, seqno, value (`None`: tombstone).
type WriteAt = (Vec<u8>, u64, Option<Vec<u8>>);

fn writes() -> impl Strategy<Value = Vec<WriteAt>> {
    prop::collection::vec(
        (
            key(),
            write_seqno(),
            prop::option::weighted(0.75, prop::collection::vec(any::<u8>(), 0..4)),
        ),
        0..48,
    )
}

fn build(writes: &[WriteAt]) -> (Arc<SkipList>, Model) {
    let table = Arc::new(SkipList::new());
    let mut model = Model::new();
    for (k, seqno, value) in writes {
        let got = match value {
            Some(v) => table.insert_at(k, *seqno, v),
            None => table.delete_at(k, *seqno),
        };
        match model.entry((k.clone(), Reverse(*seqno))) {
            std::collections::btree_map::Entry::Occupied(_) => {
                assert_eq!(got, Err(WriteAtError::Duplicate));
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                assert_eq!(got, Ok(()));
                slot.insert(value.clone());
            }
        }
    }
    (table, model)
}

fn bound() -> impl Strategy<Value = Bound<(Vec<u8>, u64)>> {
    prop_oneof![
        2 => (key(), probe_seqno()).prop_map(Bound::Included),
        2 => (key(), probe_seqno()).prop_map(Bound::Excluded),
        1 => Just(Bound::Unbounded),
    ]
}

/// A bound as the cursor takes it: borrowing the key.
fn as_ref(b: &Bound<(Vec<u8>, u64)>) -> Bound<(&[u8], u64)> {
    match b {
        Bound::Included((k, s)) => Bound::Included((&k[..], *s)),
        Bound::Excluded((k, s)) => Bound::Excluded((&k[..], *s)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// A bound as a model position.
fn as_pos(b: &Bound<(Vec<u8>, u64)>) -> Bound<Pos> {
    match b {
        Bound::Included((k, s)) => Bound::Included((k.clone(), Reverse(*s))),
        Bound::Excluded((k, s)) => Bound::Excluded((k.clone(), Reverse(*s))),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether `p` is inside `(lower, upper)` in table order. (Not
/// `BTreeMap::range`, which panics on a lower bound above the upper one.)
fn inside(p: &Pos, lower: &Bound<Pos>, upper: &Bound<Pos>) -> bool {
    let above = match lower {
        Bound::Included(b) => p >= b,
        Bound::Excluded(b) => p > b,
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(b) => p <= b,
        Bound::Excluded(b) => p < b,
        Bound::Unbounded => true,
    };
    above && below
}

/// A version cursor move.
#[derive(Debug, Clone)]
enum Move {
    First,
    Last,
    Next,
    Prev,
    Seek(Vec<u8>, u64),
    SeekForPrevAt(Vec<u8>, u64),
    SeekForPrev(Vec<u8>),
    SeekBefore(Vec<u8>),
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    let one = prop_oneof![
        2 => Just(Move::First),
        2 => Just(Move::Last),
        6 => Just(Move::Next),
        6 => Just(Move::Prev),
        2 => (key(), probe_seqno()).prop_map(|(k, s)| Move::Seek(k, s)),
        2 => (key(), probe_seqno()).prop_map(|(k, s)| Move::SeekForPrevAt(k, s)),
        1 => key().prop_map(Move::SeekForPrev),
        1 => key().prop_map(Move::SeekBefore),
    ];
    prop::collection::vec(one, 1..40)
}

/// Where `m` takes a cursor at `at` over `want` (the versions inside the
/// bounds, in table order), by the model.
fn model_move(want: &[Version<'_>], at: Option<usize>, m: &Move) -> Option<usize> {
    let pos = |v: &Version<'_>| (v.key.to_vec(), Reverse(v.seqno));
    let first_where = |f: &dyn Fn(&Version<'_>) -> bool| want.iter().position(f);
    let last_where = |f: &dyn Fn(&Version<'_>) -> bool| want.iter().rposition(f);
    match m {
        Move::First => (!want.is_empty()).then_some(0),
        Move::Last => want.len().checked_sub(1),
        Move::Next => at.map(|i| i + 1).filter(|&i| i < want.len()),
        Move::Prev => at.and_then(|i| i.checked_sub(1)),
        Move::Seek(k, s) => first_where(&|v| pos(v) >= (k.clone(), Reverse(*s))),
        Move::SeekForPrevAt(k, s) => last_where(&|v| pos(v) <= (k.clone(), Reverse(*s))),
        Move::SeekForPrev(k) => last_where(&|v| v.key <= &k[..]),
        Move::SeekBefore(k) => last_where(&|v| v.key < &k[..]),
    }
}

/// The moves both version cursors have, whatever holds their table.
trait Moves {
    fn apply(&mut self, m: &Move) -> bool;
    fn at(&self) -> Option<Version<'_>>;
    fn is_valid(&self) -> bool;
}

macro_rules! moves_for {
    ($t:ty) => {
        impl Moves for $t {
            fn apply(&mut self, m: &Move) -> bool {
                match m {
                    Move::First => self.first(),
                    Move::Last => self.last(),
                    Move::Next => self.next(),
                    Move::Prev => self.prev(),
                    Move::Seek(k, s) => self.seek(k, *s),
                    Move::SeekForPrevAt(k, s) => self.seek_for_prev_at(k, *s),
                    Move::SeekForPrev(k) => self.seek_for_prev(k),
                    Move::SeekBefore(k) => self.seek_before(k),
                }
            }
            fn at(&self) -> Option<Version<'_>> {
                self.version()
            }
            fn is_valid(&self) -> bool {
                self.valid()
            }
        }
    };
}
moves_for!(VersionCursor<'_>);
moves_for!(OwnedVersionCursor);

/// Seeks of every kind at, just before and just after each of
/// `positions` (in (key, seqno) terms).
fn probes_at(positions: impl IntoIterator<Item = (Vec<u8>, u64)>) -> Vec<Move> {
    let mut out = Vec::new();
    for (k, s) in positions {
        for s in [s.saturating_sub(1), s, s.saturating_add(1)] {
            out.push(Move::Seek(k.clone(), s));
            out.push(Move::SeekForPrevAt(k.clone(), s));
        }
        out.push(Move::SeekForPrev(k.clone()));
        out.push(Move::SeekBefore(k));
    }
    out
}

/// Walks `c` forwards from `first` and backwards from `last`, each to the
/// end and one step past it (which must leave it unpositioned and keep it
/// so), turning at both ends; seeks to each of `probes` and steps from
/// there; then makes `moves`. Each checked against the model.
fn check_walks(
    c: &mut dyn Moves,
    want: &[Version<'_>],
    probes: &[Move],
    moves: &[Move],
) -> Result<(), TestCaseError> {
    let mut fwd = Vec::new();
    let mut ok = c.apply(&Move::First);
    while ok {
        fwd.push(c.at().unwrap().to_owned_version());
        ok = c.apply(&Move::Next);
    }
    let owned = |w: &[Version<'_>]| w.iter().map(|v| v.to_owned_version()).collect::<Vec<_>>();
    prop_assert_eq!(&fwd, &owned(want));
    prop_assert!(!c.is_valid());
    prop_assert!(!c.apply(&Move::Next) && !c.is_valid(), "stays unpositioned");
    prop_assert!(!c.apply(&Move::Prev) && !c.is_valid(), "stays unpositioned");
    let mut back = Vec::new();
    let mut ok = c.apply(&Move::Last);
    while ok {
        back.push(c.at().unwrap().to_owned_version());
        ok = c.apply(&Move::Prev);
    }
    back.reverse();
    prop_assert_eq!(&back, &owned(want));
    prop_assert!(!c.is_valid());
    // Turning at both ends: back from the first, on from the last.
    if let (Some(head), Some(tail)) = (want.first(), want.last()) {
        prop_assert!(c.apply(&Move::First) && !c.apply(&Move::Prev) && !c.is_valid());
        prop_assert!(c.apply(&Move::Last) && !c.apply(&Move::Next) && !c.is_valid());
        if want.len() > 1 {
            prop_assert!(c.apply(&Move::First) && c.apply(&Move::Next) && c.apply(&Move::Prev));
            prop_assert_eq!(c.at(), Some(*head));
            prop_assert!(c.apply(&Move::Last) && c.apply(&Move::Prev) && c.apply(&Move::Next));
            prop_assert_eq!(c.at(), Some(*tail));
        }
    }
    // Seeks at, just before and just after every version and both
    // bounds (where an off-by-one in a bound shows), each followed by a
    // step either way.
    for seek in probes {
        for step in [Move::Next, Move::Prev] {
            let mut at = model_move(want, None, seek);
            prop_assert_eq!(c.apply(seek), at.is_some(), "{:?}", seek);
            prop_assert_eq!(c.at(), at.map(|i| want[i]), "{:?}", seek);
            at = model_move(want, at, &step);
            prop_assert_eq!(c.apply(&step), at.is_some(), "{:?} {:?}", seek, step);
            prop_assert_eq!(c.at(), at.map(|i| want[i]), "{:?} {:?}", seek, step);
        }
    }
    let mut at = None;
    c.apply(&Move::First);
    if !want.is_empty() {
        at = Some(0);
    }
    for m in moves {
        at = model_move(want, at, m);
        let moved = c.apply(m);
        prop_assert_eq!(moved, at.is_some(), "{:?}", m);
        prop_assert_eq!(c.is_valid(), at.is_some(), "{:?}", m);
        prop_assert_eq!(c.at(), at.map(|i| want[i]), "{:?}", m);
    }
    Ok(())
}

/// A version with its data copied, to compare walks of different cursors.
trait ToOwnedVersion {
    fn to_owned_version(&self) -> (Vec<u8>, u64, Option<Vec<u8>>);
}

impl ToOwnedVersion for Version<'_> {
    fn to_owned_version(&self) -> (Vec<u8>, u64, Option<Vec<u8>>) {
        (
            self.key.to_vec(),
            self.seqno,
            self.value.map(<[u8]>::to_vec),
        )
    }
}

/// A latest-view cursor move.
#[derive(Debug, Clone)]
enum Step {
    First,
    Last,
    Next,
    Prev,
    Seek(Vec<u8>),
    SeekAfter(Vec<u8>),
    SeekForPrev(Vec<u8>),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let one = prop_oneof![
        1 => Just(Step::First),
        1 => Just(Step::Last),
        4 => Just(Step::Next),
        4 => Just(Step::Prev),
        2 => key().prop_map(Step::Seek),
        1 => key().prop_map(Step::SeekAfter),
        1 => key().prop_map(Step::SeekForPrev),
    ];
    prop::collection::vec(one, 1..40)
}

/// The newest version of each key at or below `seqno`, puts only.
fn visible(model: &Model, seqno: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut last: Option<&Vec<u8>> = None;
    for ((k, Reverse(s)), v) in model {
        if *s > seqno || last == Some(k) {
            continue;
        }
        last = Some(k);
        if let Some(v) = v {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

macro_rules! step {
    ($c:expr, $s:expr) => {
        match $s {
            Step::First => $c.first(),
            Step::Last => $c.last(),
            Step::Next => $c.next(),
            Step::Prev => $c.prev(),
            Step::Seek(k) => $c.seek(k),
            Step::SeekAfter(k) => $c.seek_after(k),
            Step::SeekForPrev(k) => $c.seek_for_prev(k),
        }
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The bounded version cursor, borrowed and owned (and one whose
    /// bounds replace earlier ones), against the model's versions inside
    /// the bounds: full walks both ways, turns at both ends, and random
    /// moves (seeks of every kind clamped to the bounds, steps that leave
    /// them). (Mutation-checked: with the upper bound's check flipped in
    /// `set_forward`, or `seek` not clamped to the lower bound, or
    /// `Cut::is_passed` treating an excluded seqno as included, it fails.)
    #[test]
    fn bounded_version_cursor_matches_the_model(
        writes in writes(),
        lower in bound(),
        upper in bound(),
        earlier in (bound(), bound()),
        moves in moves(),
    ) {
        let (table, model) = build(&writes);
        let (lo, hi) = (as_pos(&lower), as_pos(&upper));
        let want: Vec<Version<'_>> = model
            .iter()
            .filter(|(p, _)| inside(p, &lo, &hi))
            .map(|((k, Reverse(s)), v)| Version { key: k, seqno: *s, value: v.as_deref() })
            .collect();
        let range = (as_ref(&lower), as_ref(&upper));
        let edges = [&lower, &upper].into_iter().filter_map(|b| match b {
            Bound::Included(p) | Bound::Excluded(p) => Some(p.clone()),
            Bound::Unbounded => None,
        });
        let probes = probes_at(model.keys().map(|(k, Reverse(s))| (k.clone(), *s)).chain(edges));
        let mut borrowed = table.version_range(range);
        check_walks(&mut borrowed, &want, &probes, &moves)?;
        let mut owned = table.owned_version_range(range);
        check_walks(&mut owned, &want, &probes, &moves)?;
        // Bounds set again over others (the key buffer reused).
        let mut again = table.owned_version_cursor();
        again.set_bounds((as_ref(&earlier.0), as_ref(&earlier.1)));
        again.first();
        again.set_bounds(range);
        prop_assert!(!again.valid(), "set_bounds unpositions");
        check_walks(&mut again, &want, &probes, &moves)?;
    }

    /// Owned and borrowed latest-view cursors, at a random seqno, make the
    /// same random moves and agree with each other and the model at every
    /// one. (Mutation-checked: with `owned_cursor_at` reading at the newest
    /// seqno instead of the one given, it fails.)
    #[test]
    fn owned_and_borrowed_cursors_walk_alike(
        writes in writes(),
        seqno in probe_seqno(),
        steps in steps(),
    ) {
        let (table, model) = build(&writes);
        let want = visible(&model, seqno);
        let mut borrowed: Cursor<'_> = table.cursor_at(seqno);
        let mut owned: OwnedCursor = table.owned_cursor_at(seqno);
        prop_assert_eq!(owned.read_seqno(), borrowed.read_seqno());
        let mut at: Option<usize> = None;
        for s in &steps {
            at = match s {
                Step::First => (!want.is_empty()).then_some(0),
                Step::Last => want.len().checked_sub(1),
                Step::Next => at.map(|i| i + 1).filter(|&i| i < want.len()),
                Step::Prev => at.and_then(|i| i.checked_sub(1)),
                Step::Seek(k) => want.iter().position(|(w, _)| w >= k),
                Step::SeekAfter(k) => want.iter().position(|(w, _)| w > k),
                Step::SeekForPrev(k) => want.iter().rposition(|(w, _)| w <= k),
            };
            let b = step!(borrowed, s);
            let o = step!(owned, s);
            prop_assert_eq!(b, at.is_some(), "{:?}", s);
            prop_assert_eq!(o, at.is_some(), "{:?}", s);
            let expect = at.map(|i| (&want[i].0[..], &want[i].1[..]));
            prop_assert_eq!(borrowed.entry(), expect, "{:?}", s);
            prop_assert_eq!(owned.entry(), expect, "{:?}", s);
            prop_assert_eq!(owned.key(), borrowed.key());
            prop_assert_eq!(owned.value(), borrowed.value());
            prop_assert_eq!(owned.seqno(), borrowed.seqno());
        }
    }
}

/// Only `'static` things go in here, the way an engine keeps its
/// iterators.
struct IteratorStack<T: 'static + Send + Sync> {
    iters: Vec<T>,
}

fn assert_static_send_sync<T: 'static + Send + Sync>() {}

/// A table made, filled and handed out as cursors inside a function;
/// the function's handle is gone when it returns.
fn open() -> (OwnedCursor, OwnedVersionCursor, Weak<SkipList>) {
    let table = Arc::new(SkipList::new());
    for (i, k) in [&b"a"[..], b"b", b"c", b"d"].into_iter().enumerate() {
        let s = 10 * (i as u64 + 1);
        table.insert_at(k, s, &[b'0' + i as u8]).unwrap();
        table.insert_at(k, s + 1, &[b'A' + i as u8]).unwrap();
    }
    table.delete_at(b"c", 50).unwrap();
    let range = (
        Bound::Excluded((&b"a"[..], 11)),
        Bound::Included((&b"c"[..], 50)),
    );
    let cursors = (table.owned_cursor(), table.owned_version_range(range));
    (cursors.0, cursors.1, Arc::downgrade(&table))
}

/// An owned cursor outlives the scope where its table's `Arc` was made:
/// returned from a function, moved into a spawned (not scoped) thread,
/// kept in a `'static` struct. It reads the right data there, keeps the
/// table alive while any cursor does, and the table is freed when the last
/// one drops. (Mutation-checked: with `owned_cursor` leaking a clone of
/// the `Arc`, the table outlives its cursors and this fails.)
#[test]
fn an_owned_cursor_outlives_the_scope_of_its_table() {
    assert_static_send_sync::<OwnedCursor>();
    assert_static_send_sync::<OwnedVersionCursor>();
    let (mut latest, versions, table) = open();
    assert_eq!(table.strong_count(), 2, "the two cursors hold the table");
    let copy = latest.clone();
    assert_eq!(table.strong_count(), 3);
    drop(copy);
    assert_eq!(Arc::as_ptr(latest.table()), table.as_ptr());

    // Moved into a thread that outlives this statement's borrows.
    let walker = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut c = versions;
        let mut ok = c.first();
        while ok {
            let v = c.version().unwrap();
            seen.push((v.key.to_vec(), v.seqno, v.value.map(<[u8]>::to_vec)));
            ok = c.next();
        }
        (seen, c)
    });
    let (seen, versions) = walker.join().unwrap();
    let want: Vec<(Vec<u8>, u64, Option<Vec<u8>>)> = vec![
        (b"a".to_vec(), 10, Some(b"0".to_vec())),
        (b"b".to_vec(), 21, Some(b"B".to_vec())),
        (b"b".to_vec(), 20, Some(b"1".to_vec())),
        (b"c".to_vec(), 50, None),
    ];
    assert_eq!(seen, want);

    // The latest view: "c" is deleted at 50.
    assert!(latest.first());
    let mut keys = vec![(
        latest.key().unwrap().to_vec(),
        latest.value().unwrap().to_vec(),
    )];
    while latest.next() {
        keys.push((
            latest.key().unwrap().to_vec(),
            latest.value().unwrap().to_vec(),
        ));
    }
    assert_eq!(
        keys,
        [
            (b"a".to_vec(), b"A".to_vec()),
            (b"b".to_vec(), b"B".to_vec()),
            (b"d".to_vec(), b"D".to_vec()),
        ]
    );

    // Kept in a 'static struct, handed to another thread, dropped one by
    // one: the table lives until the last.
    let mut stack = IteratorStack {
        iters: vec![latest],
    };
    assert!(stack.iters[0].seek(b"b"));
    let stack = std::thread::spawn(move || {
        assert_eq!(stack.iters[0].value(), Some(&b"B"[..]));
        stack
    })
    .join()
    .unwrap();
    assert!(table.upgrade().is_some());
    drop(stack);
    assert_eq!(table.strong_count(), 1, "the version cursor still holds it");
    drop(versions);
    assert!(table.upgrade().is_none(), "the last cursor freed the table");
}

/// Owned cursors cost nothing to make; a bounded one copies its bound keys
/// once (one allocation), and setting bounds again that fit reuses it;
/// steps and seeks allocate nothing. (Mutation-checked: with the bound
/// keys copied into two buffers, or a seek cloning the bounds, it fails.)
#[test]
fn owned_cursors_allocate_only_to_copy_bounds() {
    assert!(installed(), "the counting allocator is this binary's");
    let table = Arc::new(SkipList::new());
    for i in 0..200u32 {
        table
            .insert_at(&i.to_be_bytes(), u64::from(i % 7), b"v")
            .unwrap();
        table.insert_at(&i.to_be_bytes(), 100, b"w").unwrap();
    }
    let (mut c, n) = count_allocations(|| table.owned_cursor());
    assert_eq!(n, 0, "making an owned cursor");
    let (_, n) = count_allocations(|| {
        let mut walked = 0;
        let mut ok = c.first();
        while ok {
            walked += c.key().unwrap().len() + c.value().unwrap().len();
            ok = c.next();
        }
        assert!(c.seek(&50u32.to_be_bytes()) && c.prev() && c.seek_for_prev(b"\xff"));
        assert!(c.last() && c.prev() && c.seek_after(&3u32.to_be_bytes()));
        assert_eq!(walked, 200 * 5);
    });
    assert_eq!(n, 0, "steps and seeks of an owned cursor");

    let (lo, hi) = (10u32.to_be_bytes(), 20u32.to_be_bytes());
    let (mut v, n) = count_allocations(|| {
        table.owned_version_range((
            Bound::Included((&lo[..], 50)),
            Bound::Excluded((&hi[..], 3)),
        ))
    });
    assert_eq!(n, 1, "one copy of both bound keys");
    let (_, n) = count_allocations(|| {
        let mut walked = 0;
        let mut ok = v.first();
        while ok {
            walked += v.version().unwrap().key.len();
            ok = v.next();
        }
        // (10, 3); both versions of 11 to 19; (20, 100) and (20, 6).
        assert_eq!(walked, 4 * (1 + 2 * 9 + 2));
        assert!(v.seek(&[], 0) && v.version().unwrap().key == lo);
        assert!(v.seek_for_prev_at(b"\xff", 0) && v.version().unwrap().key == hi);
        assert!(v.last() && v.prev() && v.seek_before(&15u32.to_be_bytes()));
        assert!(v.seek_for_prev(&12u32.to_be_bytes()) && v.version().unwrap().seqno == 5);
    });
    assert_eq!(n, 0, "steps and seeks of a bounded version cursor");
    let (_, n) = count_allocations(|| {
        v.set_bounds((Bound::Included((&hi[..], 9)), Bound::Unbounded));
        v.set_bounds((Bound::Unbounded, Bound::Excluded((&lo[..], 9))));
        v.set_bounds(..);
    });
    assert_eq!(n, 0, "bounds that fit the buffer reuse it");
}
