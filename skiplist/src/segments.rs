//! Grow-only segments that any thread may add without waiting: the writer
//! lanes a table adds when every lane is taken (see `lane.rs`).
//!
//! Segment `k` is installed at most once, by a CAS from null (a thread that
//! loses the race frees its own allocation and uses the winner's), and
//! stays until the `Segments` drops: a reference to one lives as long as
//! the `Segments`. `OnceLock` would block a thread that finds another one
//! initialising the same segment, and a descheduled initialiser would then
//! hold up every writer looking for a lane.

use ordex_core::sync::{AtomicPtr, Ordering};

/// Up to `N` segments of `T`s.
pub(crate) struct Segments<T, const N: usize> {
    slots: [AtomicPtr<Box<[T]>>; N],
}

impl<T, const N: usize> Segments<T, N> {
    pub(crate) fn new() -> Self {
        Segments {
            slots: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
        }
    }

    /// Segment `k`, if it was installed (`None` past `N` too).
    #[inline]
    pub(crate) fn get(&self, k: usize) -> Option<&[T]> {
        let p = self.slots.get(k)?.load(Ordering::Acquire);
        // SAFETY: a non-null slot holds a pointer from `Box::into_raw`,
        // installed by the Release CAS in `get_or_install` that this
        // Acquire load read from (so the segment's initialisation is
        // visible), and freed only in `drop`, which `&self` excludes.
        (!p.is_null()).then(|| unsafe { &**p })
    }

    /// Segment `k` (below `N`), installing `make()` if there is none yet.
    pub(crate) fn get_or_install(&self, k: usize, make: impl FnOnce() -> Box<[T]>) -> &[T] {
        if let Some(s) = self.get(k) {
            return s;
        }
        let mine = Box::into_raw(Box::new(make()));
        match self.slots[k].compare_exchange(
            std::ptr::null_mut(),
            mine,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: installed just now (see `get`); freed only in `drop`.
            Ok(_) => unsafe { &*mine },
            Err(_) => {
                // SAFETY: `mine` came from `Box::into_raw` above and was
                // never shared: the CAS that would have published it failed.
                drop(unsafe { Box::from_raw(mine) });
                self.get(k).expect("the CAS failed on an installed segment")
            }
        }
    }

    /// The installed segments, in order (they are installed in order, so
    /// the first empty slot ends them).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[T]> {
        (0..N).map_while(|k| self.get(k))
    }
}

impl<T, const N: usize> Drop for Segments<T, N> {
    fn drop(&mut self) {
        for slot in &mut self.slots {
            let p = slot.load(Ordering::Relaxed);
            if !p.is_null() {
                // SAFETY: from `Box::into_raw` in `get_or_install`, installed
                // once; `&mut self` means no reference to it is left.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

impl<T, const N: usize> std::fmt::Debug for Segments<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segments")
            .field("installed", &self.iter().count())
            .finish()
    }
}
