//! An engine-like workload in a debug build, on ordex-skiplist and on
//! crossbeam-skiplist: 50k inserts of 16-byte keys with 32-byte values,
//! 50k gets, 500 scans of 100 entries. Five rounds, the two interleaved;
//! prints each phase's median time and the ratio.

use ordex_core::OrderedIndex;
use std::time::Instant;

const N: u64 = 50_000;

fn key(i: u64) -> [u8; 16] {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&x.to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

fn ordex() -> [f64; 3] {
    let t = ordex_skiplist::SkipList::new();
    let s = Instant::now();
    for i in 0..N {
        t.insert(&key(i), &[7u8; 32]).unwrap();
    }
    let load = s.elapsed().as_secs_f64();
    let s = Instant::now();
    let mut hits = 0;
    for i in 0..N {
        hits += usize::from(t.get_live(&key(i)).is_some());
    }
    assert_eq!(hits, N as usize);
    let get = s.elapsed().as_secs_f64();
    let s = Instant::now();
    let mut seen = 0;
    for i in 0..500 {
        let mut c = t.cursor();
        let mut ok = c.seek(&key(i * 97));
        let mut n = 0;
        while ok && n < 100 {
            seen += c.value().unwrap().len();
            ok = c.next();
            n += 1;
        }
    }
    assert!(seen > 0);
    [load, get, s.elapsed().as_secs_f64()]
}

fn crossbeam() -> [f64; 3] {
    let t = crossbeam_skiplist::SkipMap::new();
    let s = Instant::now();
    for i in 0..N {
        t.insert(key(i).to_vec(), vec![7u8; 32]);
    }
    let load = s.elapsed().as_secs_f64();
    let s = Instant::now();
    let mut hits = 0;
    for i in 0..N {
        hits += usize::from(t.get(&key(i)[..]).is_some());
    }
    assert_eq!(hits, N as usize);
    let get = s.elapsed().as_secs_f64();
    let s = Instant::now();
    let mut seen = 0;
    for i in 0..500 {
        for e in t.range(key(i * 97).to_vec()..).take(100) {
            seen += e.value().len();
        }
    }
    assert!(seen > 0);
    [load, get, s.elapsed().as_secs_f64()]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..5 {
        if round % 2 == 0 {
            ours.push(ordex());
            theirs.push(crossbeam());
        } else {
            theirs.push(crossbeam());
            ours.push(ordex());
        }
    }
    println!("debug build, 50k entries, median of 5 (ms): ordex-skiplist / crossbeam-skiplist");
    for (i, phase) in ["load", "get", "500 scans of 100"].iter().enumerate() {
        let o = median(ours.iter().map(|r| r[i]).collect()) * 1e3;
        let c = median(theirs.iter().map(|r| r[i]).collect()) * 1e3;
        println!("{phase:>18}: {o:8.1} / {c:8.1}  = {:.2}x crossbeam's time", o / c);
    }
}
