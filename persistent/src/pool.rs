//! [`Pool`]: the memory of the nodes an index frees, kept for the nodes
//! its next batches make, as LMDB reuses the pages its old versions
//! free.
//!
//! A batch copies about as many nodes as the sweep after it frees (the
//! nodes of the versions it replaced): each copy is an allocation for
//! the node and one for its packed buffer (an inner node's children
//! live in that buffer too), each free a call into the allocator that
//! touches the block's header, a cache miss when the old node has gone cold.
//! With the system allocator those calls were a third of the time of a
//! batch of 1024 random keys into a million entries (a `perf` profile,
//! see docs/persistent.md). Here the writer *enters* its index's pool
//! while it builds a batch and while it sweeps: the frees of that thread
//! then keep their blocks (their addresses only: the blocks are not
//! touched), and its allocations take from them first, the most recently
//! freed first. Frees on other threads (a snapshot dropped by a reader)
//! and outside those spans go to the allocator.
//!
//! The blocks of the nodes themselves are kept only from sweeps that free many (a large batch's):
//! after a write or two the allocator's per-thread caches serve them as
//! fast, and place a node beside its buffer (see [`Pool::keep_nodes`]).
//!
//! Bounded: a pool keeps at most [`MOST_BYTES`], and after each sweep
//! gives back to the allocator what it holds beyond twice what was
//! asked of it since the sweep before (plus [`FLOOR_BYTES`]), so an
//! index idle after a large batch does not keep that batch's memory.
//!
//! Under AddressSanitizer (`--cfg ordex_asan`, set by `.ci/asan.sh`) a
//! block in a pool is poisoned: a read of a freed node through a stale
//! reference is reported as if the block had gone to the allocator.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;

/// The alignment of byte buffers' blocks (see the `buf` module).
pub(crate) const BUF_ALIGN: usize = 8;

/// Byte buffers are kept by size class: class `c` holds blocks of
/// `c * STEP` up to `(c + 1) * STEP - 1` bytes, and a request of `n`
/// bytes takes from class `ceil(n / STEP)` (every block there is large
/// enough).
const STEP: usize = 128;
/// Byte buffer classes kept: blocks of up to `CLASSES * STEP - 1` bytes.
const CLASSES: usize = 64;
/// Most bytes a pool keeps.
pub(crate) const MOST_BYTES: usize = 8 << 20;
/// Fewest references a sweep gives up for the pool to keep the blocks
/// of the nodes themselves (see [`Pool::keep_nodes`]).
pub(crate) const NODES_FROM: usize = 64;
/// Bytes a pool may keep beyond twice what was asked of it since the
/// last sweep.
pub(crate) const FLOOR_BYTES: usize = 256 << 10;

/// Blocks freed by an index's writer, for its next allocations (see the
/// [module docs](self)).
#[derive(Default)]
pub(crate) struct Pool {
    /// Byte buffers (alignment [`BUF_ALIGN`]) by size class, each with
    /// its size.
    bytes: Vec<Vec<(NonNull<u8>, usize)>>,
    /// Blocks of any other layout, by exact layout.
    other: Vec<(Layout, Vec<NonNull<u8>>)>,
    /// Bytes of the blocks kept.
    kept: usize,
    /// Bytes asked of the pool (taken or not) since the last sweep.
    asked: usize,
    /// Whether blocks of layouts other than byte buffers (the nodes
    /// themselves) are kept: only in
    /// large sweeps (see [`Pool::keep_nodes`]).
    nodes: bool,
}

// SAFETY: a pool owns the blocks it keeps (each given up by its last
// owner, nothing else points into them for use); moving the pool to
// another thread moves that ownership, as moving a `Vec<Box<[u8]>>`
// would.
unsafe impl Send for Pool {}

impl Pool {
    /// Bytes of the blocks kept.
    pub(crate) fn kept_bytes(&self) -> usize {
        self.kept
    }

    /// Whether to keep blocks of the nodes themselves, not only their
    /// packed buffers, until this is
    /// called again: for a sweep that frees many (a large batch's, which
    /// the allocator's per-thread caches would not hold), not for one
    /// that frees a path or two. Kept node blocks go to the nodes the
    /// next batches make, the block freed last first, and the node a
    /// path copy makes then no longer sits beside its buffer as the
    /// allocator places them: after single-key writes of descending ids,
    /// gets of 100,000 entries measured 0.89× and 0.93× of the build
    /// without a pool (`index-bench ab`, 20 sessions), and the same once
    /// node blocks were left to the allocator in such sweeps.
    pub(crate) fn keep_nodes(&mut self, yes: bool) {
        self.nodes = yes;
    }

    /// A kept byte buffer block of at least `size` bytes, with its size.
    fn take_bytes(&mut self, size: usize) -> Option<(NonNull<u8>, usize)> {
        self.asked += size;
        let c = size.div_ceil(STEP);
        let (p, size) = self.bytes.get_mut(c)?.pop()?;
        self.kept -= size;
        unpoison(p, size);
        Some((p, size))
    }

    /// A kept block for `layout` (not a byte buffer's).
    fn take(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.asked += layout.size();
        let (_, blocks) = self.other.iter_mut().find(|(l, _)| *l == layout)?;
        let p = blocks.pop()?;
        self.kept -= layout.size();
        unpoison(p, layout.size());
        Some(p)
    }

    /// Keeps the byte buffer block `p` of `size` bytes, or gives it back
    /// (`false`) if the pool is full or does not keep blocks of that
    /// size.
    ///
    /// # Safety
    ///
    /// `p` was allocated by the global allocator with `size` bytes and
    /// alignment [`BUF_ALIGN`], and the caller gives it up if this
    /// returns `true`: nothing uses it again.
    unsafe fn keep_bytes(&mut self, p: NonNull<u8>, size: usize) -> bool {
        let c = size / STEP;
        if c == 0 || c >= CLASSES || self.kept + size > MOST_BYTES {
            return false;
        }
        if self.bytes.len() <= c {
            self.bytes.resize_with(c + 1, Vec::new);
        }
        self.bytes[c].push((p, size));
        self.kept += size;
        poison(p, size);
        true
    }

    /// Keeps the block `p` of `layout` (not a byte buffer's), or gives
    /// it back (`false`) if the pool is full or does not keep such
    /// blocks.
    ///
    /// # Safety
    ///
    /// `p` was allocated by the global allocator with `layout`, and the
    /// caller gives it up if this returns `true`: nothing uses it again.
    unsafe fn keep(&mut self, p: NonNull<u8>, layout: Layout) -> bool {
        let size = layout.size();
        if size == 0 || self.kept + size > MOST_BYTES || !self.nodes {
            return false;
        }
        match self.other.iter_mut().find(|(l, _)| *l == layout) {
            Some((_, blocks)) => blocks.push(p),
            None => self.other.push((layout, vec![p])),
        }
        self.kept += size;
        poison(p, size);
        true
    }

    /// Gives back to the allocator what is kept beyond twice what was
    /// asked since the last call (plus [`FLOOR_BYTES`]), the blocks freed
    /// first going first; then starts counting again.
    pub(crate) fn settle(&mut self) {
        let keep = (2 * self.asked + FLOOR_BYTES).min(MOST_BYTES);
        self.asked = 0;
        if self.kept <= keep {
            return;
        }
        let mut excess = self.kept - keep;
        for class in &mut self.bytes {
            let n = class.len();
            let mut cut = 0;
            while cut < n && excess > 0 {
                excess = excess.saturating_sub(class[cut].1);
                cut += 1;
            }
            for (p, size) in class.drain(..cut) {
                self.kept -= size;
                // SAFETY: kept by `keep_bytes`, whose caller allocated it
                // with alignment `BUF_ALIGN` and this size and gave it up.
                unsafe { release(p, Layout::from_size_align_unchecked(size, BUF_ALIGN)) };
            }
        }
        for (layout, blocks) in &mut self.other {
            let n = blocks.len();
            let mut cut = 0;
            while cut < n && excess > 0 {
                excess = excess.saturating_sub(layout.size());
                cut += 1;
            }
            for p in blocks.drain(..cut) {
                self.kept -= layout.size();
                // SAFETY: kept by `keep`, whose caller allocated it with
                // `layout` and gave it up.
                unsafe { release(p, *layout) };
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for class in self.bytes.drain(..) {
            for (p, size) in class {
                // SAFETY: as in `settle`.
                unsafe { release(p, Layout::from_size_align_unchecked(size, BUF_ALIGN)) };
            }
        }
        for (layout, blocks) in self.other.drain(..) {
            for p in blocks {
                // SAFETY: as in `settle`.
                unsafe { release(p, layout) };
            }
        }
    }
}

/// Gives a block back to the allocator.
///
/// # Safety
///
/// `p` was allocated by the global allocator with `layout`, is unused,
/// and no pool keeps it.
unsafe fn release(p: NonNull<u8>, layout: Layout) {
    unpoison(p, layout.size());
    // SAFETY: the caller's contract.
    unsafe { std::alloc::dealloc(p.as_ptr(), layout) }
}

#[cfg(ordex_asan)]
extern "C" {
    fn __asan_poison_memory_region(addr: *const u8, size: usize);
    fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
}

/// Marks a kept block unreadable for AddressSanitizer.
#[inline(always)]
fn poison(_p: NonNull<u8>, _size: usize) {
    #[cfg(ordex_asan)]
    // SAFETY: the runtime's annotation of memory this pool owns.
    unsafe {
        __asan_poison_memory_region(_p.as_ptr(), _size)
    }
}

/// Marks a block readable again for AddressSanitizer.
#[inline(always)]
fn unpoison(_p: NonNull<u8>, _size: usize) {
    #[cfg(ordex_asan)]
    // SAFETY: as in `poison`.
    unsafe {
        __asan_unpoison_memory_region(_p.as_ptr(), _size)
    }
}

std::thread_local! {
    /// The pool this thread's frees keep blocks in and its allocations
    /// take from, if any: the pool a [`Using`] span of this thread owns
    /// (null outside spans).
    static ACTIVE: Cell<*mut Pool> = const { Cell::new(core::ptr::null_mut()) };
}

/// Runs `f` on this thread's active pool, if there is one. `f` must not
/// free or allocate through the pool (the pool's own methods don't: its
/// lists grow through the allocator).
#[inline]
fn with_active<R>(f: impl FnOnce(&mut Pool) -> R) -> Option<R> {
    let p = ACTIVE.try_with(Cell::get).ok()?;
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null pointer here is the pool of a `Using` span of
    // this thread (set by `enter`, cleared by `leave` or the span's drop
    // before the pool is freed), which owns it and gives no other access
    // to it while it is active; no other `&mut` to it lives meanwhile,
    // as `f` does not come back here (the contract above).
    Some(f(unsafe { &mut *p }))
}

/// A span during which this thread's frees and allocations go through a
/// pool (see the [module docs](self)): the writer's while it builds a
/// batch or sweeps, under its index's locks. If this thread already has
/// a pool active, the outer one stays and this span changes nothing.
pub(crate) struct Using {
    /// The pool (owned by this span; pointed to by `ACTIVE` while this
    /// span is the active one).
    pool: *mut Pool,
    /// Whether this span made its pool the active one.
    active: bool,
}

impl Using {
    /// Makes `pool` this thread's active pool until [`leave`](Self::leave).
    pub(crate) fn enter(pool: Box<Pool>) -> Using {
        let pool = Box::into_raw(pool);
        let active = ACTIVE
            .try_with(|a| {
                let free = a.get().is_null();
                if free {
                    a.set(pool);
                }
                free
            })
            .unwrap_or(false);
        Using { pool, active }
    }

    /// Ends the span; returns the pool.
    pub(crate) fn leave(self) -> Box<Pool> {
        let this = core::mem::ManuallyDrop::new(self);
        this.end();
        // SAFETY: `pool` came from `Box::into_raw` in `enter`, and no
        // longer is the active pool (`end`): this is its one owner, and
        // `this` does not drop it again (`ManuallyDrop`).
        unsafe { Box::from_raw(this.pool) }
    }

    /// Clears `ACTIVE` if this span set it.
    fn end(&self) {
        if self.active {
            let _ = ACTIVE.try_with(|a| a.set(core::ptr::null_mut()));
        }
    }
}

impl Drop for Using {
    /// A span left without [`leave`](Self::leave) (a panic) frees its
    /// pool.
    fn drop(&mut self) {
        self.end();
        // SAFETY: as in `leave`: the span's own pool, no longer active.
        drop(unsafe { Box::from_raw(self.pool) });
    }
}

/// A block of at least `capacity` bytes (not 0), aligned to
/// [`BUF_ALIGN`], with its size: from this thread's pool if it has one
/// for it (for `buf::Buf`).
#[inline]
pub(crate) fn alloc_bytes(capacity: usize) -> (NonNull<u8>, usize) {
    debug_assert!(capacity > 0);
    if capacity >= STEP {
        if let Some(got) = with_active(|pool| pool.take_bytes(capacity)).flatten() {
            return got;
        }
    }
    let layout = Layout::from_size_align(capacity, BUF_ALIGN).expect("a buffer's size");
    // SAFETY: `layout` is not zero-sized.
    let p = unsafe { std::alloc::alloc(layout) };
    let p = NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
    (p, capacity)
}

/// Frees a block from [`alloc_bytes`] into this thread's pool if it has
/// one (and keeps blocks of its size), else to the allocator.
///
/// # Safety
///
/// `p` came from [`alloc_bytes`] with `size` bytes (the size it gave),
/// and nothing uses it again.
#[inline]
pub(crate) unsafe fn free_bytes(p: NonNull<u8>, size: usize) {
    // SAFETY: the caller's contract (`alloc_bytes`'s blocks come from the
    // global allocator with `size` bytes and alignment `BUF_ALIGN`).
    let kept = with_active(|pool| unsafe { pool.keep_bytes(p, size) }).unwrap_or(false);
    if !kept {
        // SAFETY: the caller's contract.
        unsafe { release(p, Layout::from_size_align_unchecked(size, BUF_ALIGN)) }
    }
}

/// A block for a value of layout `layout` (not zero-sized), from this
/// thread's pool if it has one, else from the allocator.
#[inline]
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.size() > 0);
    if let Some(p) = with_active(|pool| pool.take(layout)).flatten() {
        return p;
    }
    // SAFETY: `layout` is not zero-sized.
    let p = unsafe { std::alloc::alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// Frees a block from [`alloc`] into this thread's pool if it has one,
/// else to the allocator.
///
/// # Safety
///
/// `p` came from [`alloc`] with `layout`, and nothing uses it again.
#[inline]
pub(crate) unsafe fn free(p: NonNull<u8>, layout: Layout) {
    // SAFETY: the caller's contract (`alloc`'s blocks come from the
    // global allocator with `layout`).
    let kept = with_active(|pool| unsafe { pool.keep(p, layout) }).unwrap_or(false);
    if !kept {
        // SAFETY: the caller's contract.
        unsafe { std::alloc::dealloc(p.as_ptr(), layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::Buf;

    fn bytes(n: usize) -> Buf {
        Buf::with_capacity(n)
    }

    #[test]
    fn blocks_freed_in_a_span_serve_its_later_requests() {
        let mut pool = Box::<Pool>::default();
        pool.keep_nodes(true);
        let span = Using::enter(pool);
        let a = bytes(1000);
        let pa = a.as_ptr();
        drop(a);
        // A request its size class serves takes the block just freed.
        let mut b = bytes(800);
        assert_eq!(b.as_ptr(), pa);
        assert!(b.capacity() >= 1000);
        let l = Layout::new::<[u64; 5]>();
        let e = alloc(l);
        // SAFETY: from `alloc` with `l`, not used again.
        unsafe { free(e, l) };
        assert_eq!(alloc(l), e);
        // SAFETY: as above.
        unsafe { free(e, l) };
        let mut pool = span.leave();
        assert_eq!(pool.kept_bytes(), l.size(), "the block freed last is kept");
        // Unless the sweep is small: then only buffers are kept.
        pool.keep_nodes(false);
        let span = Using::enter(pool);
        let f = alloc(l);
        assert_eq!(f, e, "a kept block still serves");
        // SAFETY: as above.
        unsafe { free(f, l) };
        drop(core::mem::take(&mut b));
        let pool = span.leave();
        assert_eq!(pool.kept_bytes(), 1000, "the buffer only");
    }

    /// Under AddressSanitizer, a kept block is poisoned, and readable
    /// again once taken.
    #[cfg(ordex_asan)]
    #[test]
    fn kept_blocks_are_poisoned_for_the_sanitizer() {
        extern "C" {
            fn __asan_address_is_poisoned(addr: *const u8) -> i32;
        }
        // SAFETY: a query of the runtime's shadow memory, for any address.
        let poisoned = |p: *const u8| unsafe { __asan_address_is_poisoned(p) } != 0;
        let span = Using::enter(Box::default());
        let a = bytes(1000);
        let pa = a.as_ptr();
        assert!(!poisoned(pa));
        drop(a);
        assert!(poisoned(pa) && poisoned(pa.wrapping_add(999)));
        let b = bytes(800);
        assert_eq!(b.as_ptr(), pa);
        assert!(!poisoned(pa) && !poisoned(pa.wrapping_add(999)));
        drop(b);
        drop(span.leave());
    }

    #[test]
    fn outside_a_span_blocks_go_to_the_allocator() {
        let a = bytes(1000);
        drop(a);
        let span = Using::enter(Box::default());
        // A nested span keeps the outer pool active.
        let inner = Using::enter(Box::default());
        drop(bytes(2000));
        assert_eq!(inner.leave().kept_bytes(), 0);
        let outer = span.leave();
        assert_eq!(outer.kept_bytes(), 2000);
    }

    #[test]
    fn settling_gives_back_what_was_not_asked_for() {
        let span = Using::enter(Box::default());
        let buffers: Vec<Buf> = (0..1000).map(|_| bytes(1024)).collect();
        for b in buffers {
            drop(b);
        }
        let mut pool = span.leave();
        assert!(pool.kept_bytes() <= MOST_BYTES);
        // 1000 requests of 1024 bytes were asked: twice that is kept.
        pool.settle();
        assert!(pool.kept_bytes() >= 1000 * 1024);
        // Nothing asked since: down to the floor.
        pool.settle();
        assert!(pool.kept_bytes() <= FLOOR_BYTES);
        // A full pool gives the block back.
        let span = Using::enter(pool);
        let big: Vec<Buf> = (0..(MOST_BYTES / 4096 + 10)).map(|_| bytes(4096)).collect();
        for b in big {
            drop(b);
        }
        let pool = span.leave();
        assert!(pool.kept_bytes() <= MOST_BYTES);
    }
}
