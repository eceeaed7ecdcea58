//! Models of the optimistic version lock. `cargo test` runs each once on
//! real threads; `RUSTFLAGS="--cfg loom" cargo test --release -p ordex-core
//! --test olc_model` explores every interleaving (see `.ci/loom.sh`).

use ordex_core::olc::VersionLock;
use ordex_core::sync::{self, thread, Arc, AtomicU64, Ordering::Relaxed};

struct Node {
    lock: VersionLock,
    a: AtomicU64,
    b: AtomicU64,
}

impl Node {
    fn new() -> Self {
        Node {
            lock: VersionLock::new(),
            a: AtomicU64::new(0),
            b: AtomicU64::new(0),
        }
    }

    /// Writes the pair (x, x) under the lock.
    fn write(&self, x: u64) {
        self.lock.lock().unwrap();
        self.a.store(x, Relaxed);
        self.b.store(x, Relaxed);
        self.lock.unlock();
    }

    /// An optimistic read: returns the pair only if validation succeeded.
    fn try_read(&self) -> Option<(u64, u64)> {
        let v = self.lock.read_begin().ok()?;
        let a = self.a.load(Relaxed);
        let b = self.b.load(Relaxed);
        self.lock.validate(v).then_some((a, b))
    }
}

/// A validated optimistic read never sees a torn pair, whatever the writer
/// does concurrently.
#[test]
fn validated_read_is_consistent() {
    sync::model(|| {
        let node = Arc::new(Node::new());
        let w = {
            let node = node.clone();
            thread::spawn(move || node.write(1))
        };
        for _ in 0..2 {
            if let Some((a, b)) = node.try_read() {
                assert_eq!(a, b, "validated read saw a torn write");
            }
        }
        w.join().unwrap();
        assert_eq!(node.try_read(), Some((1, 1)));
    });
}

/// Two writers exclude each other: a non-atomic read-modify-write under the
/// lock loses no update.
#[test]
fn writers_exclude_each_other() {
    sync::model(|| {
        let node = Arc::new(Node::new());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let node = node.clone();
                thread::spawn(move || {
                    node.lock.lock().unwrap();
                    let x = node.a.load(Relaxed);
                    node.a.store(x + 1, Relaxed);
                    node.lock.unlock();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(node.a.load(Relaxed), 2);
    });
}

/// An upgrade from a stale version fails; the reader that wins the upgrade
/// sees the latest state.
#[test]
fn upgrade_races() {
    sync::model(|| {
        let node = Arc::new(Node::new());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let node = node.clone();
                thread::spawn(move || loop {
                    let Ok(v) = node.lock.read_begin() else {
                        thread::yield_now();
                        continue;
                    };
                    let x = node.a.load(Relaxed);
                    if node.lock.try_upgrade(v).is_ok() {
                        node.a.store(x + 1, Relaxed);
                        node.lock.unlock();
                        return;
                    }
                    thread::yield_now();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(node.a.load(Relaxed), 2, "an increment was lost");
    });
}

/// Once a node is unlocked as obsolete, no reader validates against it and
/// no writer can lock it.
#[test]
fn obsolete_is_final() {
    sync::model(|| {
        let node = Arc::new(Node::new());
        let v = node.lock.read_begin().unwrap();
        let retire = {
            let node = node.clone();
            thread::spawn(move || {
                node.lock.lock().unwrap();
                node.a.store(9, Relaxed);
                node.lock.unlock_obsolete();
            })
        };
        let saw = node.a.load(Relaxed);
        if node.lock.validate(v) {
            assert_eq!(saw, 0);
        }
        retire.join().unwrap();
        assert!(!node.lock.validate(v));
        assert!(node.lock.read_begin().is_err());
        assert!(node.lock.lock().is_err());
    });
}
