//! A counter that writers on different cores update without sharing a
//! cache line: an index's entry count and its byte account.
//!
//! A single `AtomicUsize` that every insert adds to moves its cache line
//! between the writers' cores at every write (a transfer of 50-100 ns on
//! this project's machines, where an in-cache insert costs a few hundred).
//! A [`Counter`] keeps [`STRIPES`] cells, each on a cache line of its own;
//! a thread adds to the cell of its own stripe (threads are given stripes
//! round-robin when they first count), and a read sums the cells. Reads
//! are as weak as a `Relaxed` load of one atomic was: a count, not a
//! synchronisation point. Cells wrap (a thread may remove what another
//! added), and the sum wraps back to the true total.
//!
//! The `Relaxed` sum of the cells is exact once the writers are done
//! (each cell's last value is read); while they run it is a value the
//! count had at some moment or close to one, like any racy count.
//!
//! ```
//! use ordex_core::counter::Counter;
//!
//! let c = Counter::new();
//! c.add(3);
//! std::thread::scope(|s| {
//!     s.spawn(|| c.sub(1));
//! });
//! assert_eq!(c.get(), 2);
//! ```

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Cells of a [`Counter`]: threads beyond this many share cells (and only
/// then their lines).
pub const STRIPES: usize = 8;

/// One cell, alone on its cache line (128 bytes: x86's adjacent-line
/// prefetcher fetches lines in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Cell(AtomicUsize);

/// A striped counter (see the [module docs](self)).
#[derive(Debug)]
pub struct Counter {
    cells: Box<[Cell; STRIPES]>,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

/// The calling thread's stripe, given round-robin at its first count.
#[inline]
fn stripe() -> usize {
    use std::cell::Cell as StdCell;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: StdCell<usize> = const { StdCell::new(usize::MAX) };
    }
    STRIPE
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT.fetch_add(1, Relaxed) % STRIPES;
                s.set(i);
            }
            i
        })
        // A thread being torn down counts in the first cell.
        .unwrap_or(0)
}

impl Counter {
    /// A counter at zero.
    pub fn new() -> Self {
        Counter {
            cells: Box::default(),
        }
    }

    /// A counter at `n`.
    pub fn with(n: usize) -> Self {
        let c = Self::new();
        c.cells[0].0.store(n, Relaxed);
        c
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: usize) {
        self.cells[stripe()].0.fetch_add(n, Relaxed);
    }

    /// Subtracts `n` (the total must not go below zero; a cell may).
    #[inline]
    pub fn sub(&self, n: usize) {
        self.cells[stripe()].0.fetch_sub(n, Relaxed);
    }

    /// The total: the cells' sum.
    pub fn get(&self) -> usize {
        self.cells
            .iter()
            .fold(0usize, |s, c| s.wrapping_add(c.0.load(Relaxed)))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn threads_adding_and_removing_sum_to_the_total() {
        let c = Counter::with(5);
        std::thread::scope(|s| {
            for t in 0..(2 * STRIPES + 3) {
                let c = &c;
                s.spawn(move || {
                    for i in 0..1000 {
                        c.add(2);
                        if i % 2 == t % 2 {
                            c.sub(1);
                        }
                    }
                });
            }
        });
        assert_eq!(c.get(), 5 + (2 * STRIPES + 3) * (2000 - 500));
    }

    #[test]
    fn a_count_removed_on_another_thread_wraps_back() {
        let c = Counter::new();
        std::thread::scope(|s| {
            s.spawn(|| c.add(7));
        });
        std::thread::scope(|s| {
            s.spawn(|| c.sub(7));
            s.spawn(|| c.add(1));
        });
        assert_eq!(c.get(), 1);
    }
}
