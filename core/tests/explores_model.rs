//! The loom shim explores what it must: a spawned thread that starts with
//! an atomic load (as every optimistic reader and writer does) still has
//! its later store ordered before and after the other thread's load.
//! Loom 0.7 alone runs such a model once (tokio-rs/loom#392), and every
//! model built that way passed without checking anything; this model
//! fails if `ordex_core::sync::thread::spawn` loses its workaround.

use ordex_core::sync::{self, thread, Arc, AtomicU64, Ordering};
use std::collections::BTreeSet;
use std::sync::Mutex;

#[test]
fn a_thread_that_starts_with_a_load_is_explored() {
    let seen = std::sync::Arc::new(Mutex::new(BTreeSet::new()));
    let record = seen.clone();
    sync::model(move || {
        let word = Arc::new(AtomicU64::new(0));
        let w = {
            let word = word.clone();
            thread::spawn(move || {
                let v = word.load(Ordering::Acquire);
                word.store(v + 1, Ordering::Release);
            })
        };
        let read = word.load(Ordering::Acquire);
        w.join().unwrap();
        record.lock().unwrap().insert(read);
    });
    let seen = seen.lock().unwrap();
    if cfg!(loom) {
        assert_eq!(
            *seen,
            BTreeSet::from([0, 1]),
            "the model missed an interleaving"
        );
    } else {
        assert_eq!(seen.len(), 1);
    }
}
