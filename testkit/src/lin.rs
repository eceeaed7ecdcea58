//! Linearizability checking for the history of a single key, viewed as a register.
//!
//! Test threads call the index concurrently and record every operation as an
//! [`Event`] whose `invoke` and `ret` timestamps come from one shared [`Clock`].
//! Because linearizability is a local property, checking each key's history
//! separately with [`check_register`] is sound.
//!
//! The checker is the Wing & Gong search with Lowe's memoization (the "WGL"
//! algorithm used by Knossos and Porcupine), implemented iteratively.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// An operation on one key, together with the result it observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Upsert of the unique value id `value`. If `seqno` is `Some`, writes with
    /// seqnos must linearize in strictly increasing seqno order.
    Put {
        /// The (unique) value id written.
        value: u64,
        /// The sequence number the index assigned to this write, if known.
        seqno: Option<u64>,
    },
    /// Removal; `removed` tells whether a live value was removed.
    Remove {
        /// Whether the operation reported removing a live value.
        removed: bool,
    },
    /// Point read; `seen` is the value id observed (`None` = absent).
    Get {
        /// The value id the read returned.
        seen: Option<u64>,
    },
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Op::Put { value, seqno: None } => write!(f, "put({value})"),
            Op::Put {
                value,
                seqno: Some(s),
            } => write!(f, "put({value}, seqno {s})"),
            Op::Remove { removed } => write!(f, "remove() -> {removed}"),
            Op::Get { seen: None } => write!(f, "get() -> absent"),
            Op::Get { seen: Some(v) } => write!(f, "get() -> {v}"),
        }
    }
}

/// One completed operation: who ran it, when it was invoked / returned, and what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// Identifier of the calling thread (informational only).
    pub thread: usize,
    /// Clock reading taken just before the call; must be `< ret`.
    pub invoke: u64,
    /// Clock reading taken just after the call returned.
    pub ret: u64,
    /// The operation and its observed result.
    pub op: Op,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "thread {} [{}, {}] {}",
            self.thread, self.invoke, self.ret, self.op
        )
    }
}

/// A global logical clock shared by all recording threads.
#[derive(Debug, Default)]
pub struct Clock(AtomicU64);

impl Clock {
    /// A clock starting at 0.
    pub fn new() -> Self {
        Clock(AtomicU64::new(0))
    }

    /// A fresh, unique, strictly increasing timestamp (`fetch_add(1, SeqCst)`).
    pub fn now(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

/// Why a history was rejected: a human-readable explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonLinearizable {
    message: String,
}

impl NonLinearizable {
    /// The full explanation (same text as `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for NonLinearizable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NonLinearizable {}

/// Register state: the current value id and the seqno of the last write that had one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct State {
    value: Option<u64>,
    last_seqno: Option<u64>,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) => write!(f, "value {v}")?,
            None => write!(f, "absent")?,
        }
        if let Some(s) = self.last_seqno {
            write!(f, ", last write seqno {s}")?;
        }
        Ok(())
    }
}

/// Applies `op` to `s`; `Err` explains why the op is illegal in `s`.
fn step(s: State, op: &Op) -> Result<State, String> {
    match *op {
        Op::Put { value, seqno } => match (seqno, s.last_seqno) {
            (Some(new), Some(last)) if new <= last => Err(format!(
                "seqno {new} is not above the last write's seqno {last}"
            )),
            _ => Ok(State {
                value: Some(value),
                last_seqno: seqno.or(s.last_seqno),
            }),
        },
        Op::Remove { removed } => {
            if s.value.is_some() == removed {
                Ok(State { value: None, ..s })
            } else if removed {
                Err("nothing to remove".to_string())
            } else {
                Err("a live value was present".to_string())
            }
        }
        Op::Get { seen } => {
            if seen == s.value {
                Ok(s)
            } else {
                Err(format!("current state is {s}"))
            }
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(n: usize) -> Self {
        Bitset(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

const NIL: usize = usize::MAX;
const HEAD: usize = 0;

/// Doubly linked list of call/return entries (dancing links). Node 0 is the
/// head sentinel; event `i` has call node `2i + 1` and return node `2i + 2`.
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
}

fn call_node(ev: usize) -> usize {
    2 * ev + 1
}
fn is_call(node: usize) -> bool {
    node % 2 == 1
}
fn event_of(node: usize) -> usize {
    (node - 1) / 2
}

impl Entries {
    /// Entries sorted by time; at equal times calls come before returns (treated as concurrent).
    fn new(events: &[Event]) -> Self {
        let mut order: Vec<usize> = (1..=2 * events.len()).collect();
        order.sort_by_key(|&node| {
            let e = &events[event_of(node)];
            if is_call(node) {
                (e.invoke, 0)
            } else {
                (e.ret, 1)
            }
        });
        let mut next = vec![NIL; order.len() + 1];
        let mut prev = vec![NIL; order.len() + 1];
        let mut last = HEAD;
        for node in order {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        Entries { next, prev }
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }

    fn lift(&mut self, ev: usize) {
        self.unlink(call_node(ev));
        self.unlink(call_node(ev) + 1);
    }

    fn unlift(&mut self, ev: usize) {
        self.relink(call_node(ev) + 1);
        self.relink(call_node(ev));
    }
}

/// Checks that `events` (all operations on one key, whose value before the
/// history was `initial`) is linearizable with respect to register semantics.
pub fn check_register(initial: Option<u64>, events: &[Event]) -> Result<(), NonLinearizable> {
    for (i, e) in events.iter().enumerate() {
        if e.ret <= e.invoke {
            return Err(NonLinearizable {
                message: format!(
                    "invalid history: event #{i} ({e}) has return time {} not after invoke time {}",
                    e.ret, e.invoke
                ),
            });
        }
    }
    let init = State {
        value: initial,
        last_seqno: None,
    };
    let mut list = Entries::new(events);
    let mut linearized = Bitset::new(events.len());
    let mut cache: HashMap<Bitset, Vec<State>> = HashMap::new();
    let mut calls: Vec<(usize, State)> = Vec::new();
    let mut best: Vec<usize> = Vec::new();
    let mut state = init;
    let mut entry = list.next[HEAD];
    while list.next[HEAD] != NIL {
        if entry != NIL && is_call(entry) {
            let ev = event_of(entry);
            if let Ok(new_state) = step(state, &events[ev].op) {
                linearized.set(ev);
                let fresh = match cache.get_mut(&linearized) {
                    Some(states) if states.contains(&new_state) => false,
                    Some(states) => {
                        states.push(new_state);
                        true
                    }
                    None => {
                        cache.insert(linearized.clone(), vec![new_state]);
                        true
                    }
                };
                if fresh {
                    calls.push((ev, state));
                    state = new_state;
                    list.lift(ev);
                    if calls.len() > best.len() {
                        best = calls.iter().map(|&(e, _)| e).collect();
                    }
                    entry = list.next[HEAD];
                    continue;
                }
                linearized.clear(ev);
            }
            entry = list.next[entry];
        } else {
            // A return entry whose call is not linearized: backtrack.
            let Some((ev, prev_state)) = calls.pop() else {
                return Err(explain(init, events, &best));
            };
            state = prev_state;
            linearized.clear(ev);
            list.unlift(ev);
            entry = list.next[call_node(ev)];
        }
    }
    Ok(())
}

/// Maximum number of prefix events listed in an explanation.
const SHOWN_PREFIX: usize = 30;

fn explain(init: State, events: &[Event], best: &[usize]) -> NonLinearizable {
    use fmt::Write;
    let mut m = String::new();
    let n = events.len();
    let _ = writeln!(
        m,
        "history of {n} events is not linearizable (initial state: {init})"
    );
    let mut state = init;
    let mut placed = vec![false; n];
    for &ev in best {
        placed[ev] = true;
        // The prefix was produced by the search, so every step is legal.
        state = step(state, &events[ev].op).unwrap_or(state);
    }
    let _ = writeln!(
        m,
        "longest linearizable prefix found: {} of {n} events, ending in state: {state}",
        best.len()
    );
    if best.len() > SHOWN_PREFIX {
        let _ = writeln!(m, "  ... ({} earlier events)", best.len() - SHOWN_PREFIX);
    }
    for &ev in &best[best.len().saturating_sub(SHOWN_PREFIX)..] {
        let _ = writeln!(m, "  #{ev}: {}", events[ev]);
    }
    // Candidates after that prefix: unplaced events invoked before the first
    // unplaced return.
    let mut list = Entries::new(events);
    for &ev in best {
        list.lift(ev);
    }
    let mut node = list.next[HEAD];
    let mut stuck = Vec::new();
    while node != NIL && is_call(node) {
        stuck.push(event_of(node));
        node = list.next[node];
    }
    if node != NIL {
        let ev = event_of(node);
        let _ = writeln!(
            m,
            "none of these {} pending events can be placed next without failing \
             (#{ev} must take effect before it returns at {}):",
            stuck.len(),
            events[ev].ret
        );
    }
    for ev in stuck {
        let why = match step(state, &events[ev].op) {
            Err(why) => format!("illegal: {why}"),
            Ok(_) => "legal here, but every continuation fails".to_string(),
        };
        let _ = writeln!(m, "  #{ev}: {} -- {why}", events[ev]);
    }
    let _ = write!(
        m,
        "{} events unplaced in total",
        placed.iter().filter(|p| !**p).count()
    );
    NonLinearizable { message: m }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(thread: usize, invoke: u64, ret: u64, op: Op) -> Event {
        Event {
            thread,
            invoke,
            ret,
            op,
        }
    }
    fn put(value: u64) -> Op {
        Op::Put { value, seqno: None }
    }
    fn put_s(value: u64, seqno: u64) -> Op {
        Op::Put {
            value,
            seqno: Some(seqno),
        }
    }
    fn get(seen: Option<u64>) -> Op {
        Op::Get { seen }
    }
    fn rm(removed: bool) -> Op {
        Op::Remove { removed }
    }

    fn assert_bad(initial: Option<u64>, events: &[Event]) -> String {
        match check_register(initial, events) {
            Ok(()) => panic!("accepted non-linearizable history {events:#?}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("not linearizable") || msg.contains("invalid"));
                msg
            }
        }
    }

    #[test]
    fn stale_read() {
        let h = [
            ev(0, 1, 2, put(1)),
            ev(1, 3, 4, put(2)),
            ev(2, 5, 6, get(Some(1))),
        ];
        let msg = assert_bad(None, &h);
        assert!(msg.contains("thread 2 [5, 6] get() -> 1"), "{msg}");
    }

    #[test]
    fn read_of_unwritten_value() {
        let h = [ev(0, 1, 4, put(1)), ev(1, 2, 3, get(Some(7)))];
        assert_bad(None, &h);
    }

    #[test]
    fn absent_during_overwrite() {
        let h = [
            ev(0, 1, 5, put(1)),
            ev(1, 2, 7, put(2)),
            ev(2, 3, 6, get(None)),
            ev(2, 8, 9, get(Some(2))),
        ];
        assert_bad(Some(0), &h);
    }

    #[test]
    fn reads_go_backwards() {
        let h = [
            ev(0, 1, 2, put(1)),
            ev(0, 3, 10, put(2)),
            ev(1, 4, 5, get(Some(2))),
            ev(1, 6, 7, get(Some(1))),
        ];
        assert_bad(None, &h);
    }

    #[test]
    fn double_remove() {
        let h = [
            ev(0, 1, 2, put(1)),
            ev(1, 3, 4, rm(true)),
            ev(2, 5, 6, rm(true)),
        ];
        assert_bad(None, &h);
    }

    #[test]
    fn seqno_against_real_time() {
        let h = [ev(0, 1, 2, put_s(1, 5)), ev(1, 3, 4, put_s(2, 3))];
        let msg = assert_bad(None, &h);
        assert!(msg.contains("seqno 3 is not above"), "{msg}");
        // Overlapping, the lower seqno may go first.
        let h = [ev(0, 1, 3, put_s(1, 5)), ev(1, 2, 4, put_s(2, 3))];
        assert!(check_register(None, &h).is_ok());
    }

    #[test]
    fn invalid_timestamps() {
        let h = [ev(0, 3, 3, put(1))];
        let msg = assert_bad(None, &h);
        assert!(msg.contains("invalid history"), "{msg}");
    }

    #[test]
    fn overlapping_put_get() {
        for seen in [Some(0), Some(1)] {
            let h = [ev(0, 1, 4, put(1)), ev(1, 2, 3, get(seen))];
            assert!(check_register(Some(0), &h).is_ok());
        }
        let h = [ev(0, 1, 4, put(1)), ev(1, 2, 3, get(Some(2)))];
        assert_bad(Some(0), &h);
    }

    #[test]
    fn concurrent_removes() {
        let h = [
            ev(0, 1, 2, put(1)),
            ev(1, 3, 8, rm(false)),
            ev(2, 4, 7, rm(true)),
            ev(3, 5, 6, rm(false)),
            ev(0, 9, 10, get(None)),
        ];
        assert!(check_register(None, &h).is_ok());
    }

    #[test]
    fn empty_history() {
        assert!(check_register(None, &[]).is_ok());
        assert!(check_register(Some(3), &[]).is_ok());
    }

    #[test]
    fn long_sequential() {
        let mut h = Vec::new();
        let mut t = 0;
        let mut cur = None;
        for i in 0..3000u64 {
            let op = match i % 5 {
                0 | 3 => {
                    cur = Some(i);
                    put_s(i, i)
                }
                4 => {
                    let removed = cur.take().is_some();
                    rm(removed)
                }
                _ => get(cur),
            };
            h.push(ev((i % 4) as usize, t, t + 1, op));
            t += 2;
        }
        assert!(check_register(None, &h).is_ok());
        // Break it at the very end.
        h.push(ev(0, t, t + 1, get(Some(1))));
        let msg = assert_bad(None, &h);
        assert!(msg.contains("3000 of 3001"), "{msg}");
    }

    /// The one SplitMix64, drawn from by modulo (these histories as they were).
    struct Rng(crate::rng::SplitMix64);
    impl Rng {
        fn new(seed: u64) -> Self {
            Rng(crate::rng::SplitMix64::new(seed))
        }
        fn below(&mut self, n: u64) -> u64 {
            self.0.next_u64() % n
        }
    }

    #[derive(Clone, Copy)]
    enum Phase {
        Idle,
        Invoked(u64, Op),
        Done(u64, Op),
    }

    /// Simulates `threads` threads running `n_ops` ops in total on an atomic
    /// register; each op takes effect at a random point inside its interval.
    /// With `unique`, values and seqnos are unique and increasing; otherwise
    /// values come from a tiny set and seqnos are used only sometimes.
    fn simulate(rng: &mut Rng, threads: usize, n_ops: usize, unique: bool) -> Vec<Event> {
        let mut phase = vec![Phase::Idle; threads];
        let (mut issued, mut t, mut seq) = (0, 0u64, 0u64);
        let mut reg: Option<u64> = None;
        let use_seqno = unique || rng.below(2) == 0;
        let mut out = Vec::new();
        loop {
            let live: Vec<usize> = (0..threads)
                .filter(|&i| issued < n_ops || !matches!(phase[i], Phase::Idle))
                .collect();
            if live.is_empty() {
                return out;
            }
            let th = live[rng.below(live.len() as u64) as usize];
            t += 1;
            phase[th] = match phase[th] {
                Phase::Idle => {
                    issued += 1;
                    let op = match rng.below(if unique { 5 } else { 3 }) {
                        0 => put(if unique { t } else { 1 + rng.below(3) }),
                        1 => rm(false),
                        _ => get(None),
                    };
                    Phase::Invoked(t, op)
                }
                Phase::Invoked(inv, op) => {
                    let op = match op {
                        Op::Put { value, .. } => {
                            seq += 1;
                            reg = Some(value);
                            Op::Put {
                                value,
                                seqno: use_seqno.then_some(seq),
                            }
                        }
                        Op::Remove { .. } => rm(reg.take().is_some()),
                        Op::Get { .. } => get(reg),
                    };
                    Phase::Done(inv, op)
                }
                Phase::Done(inv, op) => {
                    out.push(ev(th, inv, t, op));
                    Phase::Idle
                }
            };
        }
    }

    /// Independent reference semantics: (value, last seqno).
    fn ref_step(s: (Option<u64>, Option<u64>), op: Op) -> Option<(Option<u64>, Option<u64>)> {
        match op {
            Op::Put { value, seqno } => {
                if let (Some(n), Some(l)) = (seqno, s.1) {
                    if n <= l {
                        return None;
                    }
                }
                Some((Some(value), seqno.or(s.1)))
            }
            Op::Remove { removed } => (s.0.is_some() == removed).then_some((None, s.1)),
            Op::Get { seen } => (seen == s.0).then_some(s),
        }
    }

    /// Exhaustive search over all orders consistent with real time.
    fn brute(s: (Option<u64>, Option<u64>), h: &[Event], used: &mut [bool]) -> bool {
        if used.iter().all(|u| *u) {
            return true;
        }
        for e in 0..h.len() {
            let ready = !used[e] && (0..h.len()).all(|f| used[f] || h[f].ret >= h[e].invoke);
            if ready {
                if let Some(ns) = ref_step(s, h[e].op) {
                    used[e] = true;
                    if brute(ns, h, used) {
                        return true;
                    }
                    used[e] = false;
                }
            }
        }
        false
    }

    #[test]
    fn cross_check_against_brute_force() {
        let mut rng = Rng::new(0x5EED);
        let (mut oks, mut errs) = (0, 0);
        for case in 0..4000 {
            let n = 1 + rng.below(7) as usize;
            let mut h = simulate(&mut rng, 3, n, false);
            let initial = [None, Some(1), Some(2)][rng.below(3) as usize];
            // Perturb most histories so that many become non-linearizable.
            if rng.below(4) != 0 {
                let i = rng.below(h.len() as u64) as usize;
                h[i].op = match h[i].op {
                    Op::Put { seqno, .. } => Op::Put {
                        value: 1 + rng.below(3),
                        seqno: seqno.map(|_| 1 + rng.below(n as u64)),
                    },
                    Op::Remove { removed } => rm(!removed),
                    Op::Get { .. } => get([None, Some(1), Some(2), Some(3)][rng.below(4) as usize]),
                };
            }
            let expected = brute((initial, None), &h, &mut vec![false; h.len()]);
            let got = check_register(initial, &h);
            assert_eq!(
                got.is_ok(),
                expected,
                "case {case}: initial {initial:?}, history {h:#?}, checker said {got:?}"
            );
            if expected {
                oks += 1;
            } else {
                errs += 1;
            }
        }
        assert!(oks > 500 && errs > 500, "oks {oks}, errs {errs}");
    }

    #[test]
    fn performance_2000_events_8_threads() {
        let mut rng = Rng::new(42);
        let h = simulate(&mut rng, 8, 2000, true);
        assert_eq!(h.len(), 2000);
        if let Err(e) = check_register(None, &h) {
            panic!("{e}");
        }
        // A read of a never-written value in the middle must be caught.
        let mut bad = h.clone();
        let mid = bad[1000].invoke;
        bad.push(ev(9, mid, mid + 1, get(Some(u64::MAX))));
        for e in bad.iter_mut() {
            // Make room for the extra event's unique timestamps.
            e.invoke = e.invoke * 3 + u64::from(e.thread == 9);
            e.ret = e.ret * 3 + u64::from(e.thread == 9);
        }
        let msg = assert_bad(None, &bad);
        assert!(msg.contains("get() -> 18446744073709551615"), "{msg}");
    }
}
