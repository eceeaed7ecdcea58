//! How versions share nodes: [`Shared`], a reference-counted pointer whose
//! count changes with plain loads and stores instead of locked
//! instructions, because every change happens under one lock, the
//! [`Family`]'s.
//!
//! With `Arc` a path copy adds a reference to each child of every node it
//! copies (up to [`INNER_CAP`](crate::node::INNER_CAP) per level), and
//! freeing the replaced version takes them off again: each a locked
//! read-modify-write and a cache miss. Here most copies touch no child's
//! count at all (they take over, below), and the rest are a load and a
//! store.
//!
//! # Who holds a count
//!
//! A count is held by an index's *current* tree (its parents and its
//! root) and by the references its batches *retired*; a published
//! [`Version`] holds none: it reads its tree through aliases. So a path
//! copy need not add a reference to each child of the nodes it copies:
//!
//! - **Taking over.** A batch ([`BatchScope`]) that must write a node it
//!   did not make copies it ([`Shared::make_mut`]). If the node has one
//!   reference (no other index shares it), the copy *takes over* its
//!   references (the same children, no count changed) and the original
//!   is left *hollow*: old versions still read through it, but it no
//!   longer gives anything up. Shared with another index (`split_off`,
//!   `append`), it is cloned as with `Arc` (each child gains a
//!   reference), pushing the sharing down a level.
//! - **Retiring.** A reference the batch gives up (the original's, a
//!   child a merge drops, a subtree a cut hands to another index) is
//!   *retired* if a published version may still reach its node, with
//!   the range of versions that may: from the first version the node's
//!   own batch could publish (0 if another index made it) up to the
//!   batch's base. The index gives it up (`WriterState::sweep`) once no
//!   version of that range is alive, so a snapshot keeps what it
//!   reaches, not what later batches retired. Giving it up frees a
//!   hollow node alone; a node that still held references retires them
//!   in turn, with the same end (a version that reads a child through a
//!   hollow node, whose references this one took over, reaches that
//!   child, so the child's own range covers it). A node another index
//!   holds too is handed to it, with everything under it, when this
//!   reference goes: that waits for every version before the end.
//! - A node the batch made itself is written in place, and given up at
//!   once if this was its last reference.
//!
//! A reference crosses indexes only through clones (a cut clones the
//! subtrees it hands over, an append those it takes in; a clone of a
//! hollow node is a copy, its children cloned in turn), and an index
//! takes over a node only when it holds its one reference: so the
//! versions of one index never depend on another index's schedule.
//! When an index is dropped, what it holds goes to the versions that
//! outlive it (the last of them frees it).
//!
//! # The invariant
//!
//! **Every change to a node's count (a [`Shared`] cloned, dropped, or
//! unwrapped) happens while its family's lock is held**, and the nodes of
//! one family are never referenced from another family's nodes. A
//! family is an index, every index cut from it by `split_off`, and every
//! index it took a version of by `append`, or that took one of its (they
//! share nodes); each gets its lock from [`Family::hold`]:
//!
//! - the group commit leader holds it while it builds a batch (the path
//!   copies and the nodes a batch replaces in place) and while it gives
//!   up what old batches retired;
//! - the last version of a dropped index holds it while it frees what
//!   the index held;
//! - the bulk load holds it while it builds (its nodes are new and
//!   unshared, but an error drops them);
//! - `append` of a version of another family first joins the two
//!   families ([`Family::join`]): from then on one lock covers both, and
//!   the index shares the version's nodes.
//!
//! Readers never clone or drop a `Shared`: a point read, a scan, a diff
//! and a cursor borrow nodes from a version they hold (an
//! `Arc<Version>` or an arc-swap guard), whose count is a real atomic.
//!
//! The lock orders every change to a count after every earlier one (a
//! mutex release and acquire), so each change reads the value the last
//! one wrote: the counts are exact, as `Arc`'s are. A version is dead
//! once the writer's retired list holds its last reference (arc-swap
//! paid its readers' debts when it was replaced); the writer then drops
//! that reference, and readers that read its nodes are finished with
//! them by then: the `Arc`'s decrements are Release and its last one is
//! followed by an Acquire fence, and the frees come after (likewise for
//! the last version of a dropped index, which frees what the index
//! held).
//!
//! Debug builds check the invariant: each node records the family it was
//! first counted under, and every count change asserts that the thread
//! holds the lock of that family (or of the one it joined since).

use crate::node::Node;
use crate::pool;
use crate::Version;
use core::alloc::Layout;
use ordex_core::sync::{Mutex, MutexGuard};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
// A family's own `Arc` is std's also under loom: it is not part of any
// protocol the models check (the lock is), and loom's cannot be a
// method receiver.
use std::sync::Arc;
use std::sync::OnceLock;

/// The lock under which the nodes of a family of indexes change their
/// counts (see the [module docs](self)). Families join (when an index
/// takes in another's version, see [`Family::join`]): the joined one then
/// forwards to the other, whose lock covers both from then on.
#[derive(Debug)]
pub(crate) struct Family {
    /// Orders the locks of two families that join (creation order; not
    /// their addresses, which a loom model's replays do not keep).
    id: u64,
    lock: Mutex<()>,
    /// Set once, under `lock`, when this family joins another: that one's
    /// lock (or the one it forwards to) is this family's from then on.
    forward: OnceLock<Arc<Family>>,
}

/// Proof that this thread holds a family's lock; releases it on drop.
pub(crate) struct Held<'a> {
    _guard: MutexGuard<'a, ()>,
    /// The family locked (debug builds: for the checks).
    #[cfg(all(debug_assertions, not(loom)))]
    family: *const Family,
}

#[cfg(all(debug_assertions, not(loom)))]
std::thread_local! {
    /// The families whose locks this thread holds (debug builds).
    static HELD: core::cell::RefCell<Vec<Arc<Family>>> = const { core::cell::RefCell::new(Vec::new()) };
}

impl Family {
    /// A new family (of one index, so far).
    pub(crate) fn new() -> Arc<Family> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Arc::new(Family {
            id: NEXT.fetch_add(1, Relaxed),
            lock: Mutex::new(()),
            forward: OnceLock::new(),
        })
    }

    /// The family this one forwards to, through every join so far
    /// (itself if it never joined another).
    fn root(self: &Arc<Self>) -> &Arc<Family> {
        let mut f = self;
        while let Some(next) = f.forward.get() {
            f = next;
        }
        f
    }

    /// Takes the lock that covers this family: its own, or the one of the
    /// family it joined (ignoring poisoning: a panic under it leaves every
    /// count exact, since each count change is one store).
    pub(crate) fn hold(self: &Arc<Self>) -> Held<'_> {
        let mut f = self;
        loop {
            let guard = lock(&f.lock);
            match f.forward.get() {
                // Not joined (checked under the lock `join` sets it under).
                None => {
                    #[cfg(all(debug_assertions, not(loom)))]
                    HELD.with(|h| h.borrow_mut().push(f.clone()));
                    return Held {
                        _guard: guard,
                        #[cfg(all(debug_assertions, not(loom)))]
                        family: Arc::as_ptr(f),
                    };
                }
                // Set once and never cleared: lives as long as `f`.
                Some(next) => {
                    drop(guard);
                    f = next;
                }
            }
        }
    }

    /// Joins the families of `a` and `b` (if they differ), so that their
    /// nodes may reference one another: `b`'s forwards to `a`'s from then
    /// on. Both locks are taken, in creation order (two joins of the same
    /// pair the other way round cannot deadlock), so nothing of either
    /// family is changing a count meanwhile. Not to be called while
    /// holding either.
    pub(crate) fn join(a: &Arc<Family>, b: &Arc<Family>) {
        loop {
            let (ra, rb) = (a.root(), b.root());
            if Arc::ptr_eq(ra, rb) {
                return;
            }
            let (first, second) = if ra.id < rb.id { (ra, rb) } else { (rb, ra) };
            let g1 = lock(&first.lock);
            let g2 = lock(&second.lock);
            // Still roots (a join elsewhere may have got in first)?
            if ra.forward.get().is_none() && rb.forward.get().is_none() {
                let set = rb.forward.set(ra.clone());
                debug_assert!(set.is_ok(), "a root has no forward");
                return;
            }
            drop((g2, g1));
        }
    }
}

/// Locks, ignoring poisoning.
fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        #[cfg(all(debug_assertions, not(loom)))]
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            let i = h.iter().rposition(|f| Arc::as_ptr(f) == self.family);
            h.remove(i.expect("a held family is on the stack"));
        });
    }
}

/// Values behind a `Shared` alive in the process (debug builds): for
/// tests that every node is freed exactly once.
#[cfg(debug_assertions)]
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many nodes (values behind a `Shared`) are alive in the process:
/// debug builds only (`None` in release builds, which do not count).
pub fn live_nodes() -> Option<usize> {
    #[cfg(debug_assertions)]
    return Some(LIVE.load(std::sync::atomic::Ordering::SeqCst));
    #[cfg(not(debug_assertions))]
    None
}

/// Asserts (debug builds) that this thread holds the lock of the family
/// `node` belongs to: the family it was first counted under (recorded
/// then), or the one that family joined since.
#[inline]
#[allow(unused_variables)]
fn check_held(node: &NodeFamily) {
    #[cfg(all(debug_assertions, not(loom)))]
    HELD.with(|h| {
        let h = h.borrow();
        if std::thread::panicking() {
            return;
        }
        let Some(top) = h.last() else {
            panic!("a node's count changed outside its family's lock");
        };
        let mine = node.get_or_init(|| top.clone()).root();
        assert!(
            h.iter().any(|f| Arc::ptr_eq(f, mine)),
            "a node's count changed under another family's lock"
        );
    });
}

/// The family a node was first counted under (debug builds; nothing in
/// release builds).
#[cfg(all(debug_assertions, not(loom)))]
type NodeFamily = OnceLock<Arc<Family>>;
#[cfg(not(all(debug_assertions, not(loom))))]
type NodeFamily = ();

/// The bit of [`Counted::count`] that marks a *hollow* value: one whose
/// references a copy took over (see [`Shared::make_mut`]).
const HOLLOW: usize = 1 << (usize::BITS - 1);

/// The allocation behind a [`Shared`]: the count, then the value.
struct Counted<T> {
    /// The references to this value, and the [`HOLLOW`] bit.
    count: AtomicUsize,
    /// Where it was made: the index whose batch made it and the seqno of
    /// the first version that batch can publish (0 and 0: outside a
    /// batch). See [`BatchScope`].
    born: Born,
    family: NodeFamily,
    value: T,
}

/// What a value behind a [`Shared`] holds of other `Shared` values, for
/// a copy to take over (see [`Shared::make_mut`]).
pub(crate) trait Owns: Clone {
    /// A copy of `self` that holds the same references as `self`
    /// without taking new ones (each an alias, as [`Shared::alias`]
    /// makes), or `None` if values of this kind are copied with
    /// [`Clone`]. `self` is then hollow: it keeps its references to
    /// read, but no longer gives them up (see
    /// [`forget_references`](Self::forget_references)).
    ///
    /// # Safety
    ///
    /// The copy's references stand for no count of their own: the
    /// caller makes sure each reference is given up once, by `self` or
    /// by the copy (marking `self` hollow before anything gives one up,
    /// or making each of the copy's references one of its own, counted
    /// or replaced, before the copy is given out), as for
    /// [`Shared::alias`].
    unsafe fn take_over(&self) -> Option<Self>;

    /// Lets go of every reference `self` holds without giving any up:
    /// `self` is hollow, and the copy that took them over owns them.
    fn forget_references(&mut self);

    /// Calls `f` on every reference `self` holds.
    fn for_each_reference(&mut self, f: &mut dyn FnMut(&mut Shared<Self>));
}

/// Empties `v` without dropping its elements (they are leaked), keeping
/// its buffer: for [`Owns::forget_references`] of a hollow value, whose
/// references its copy gives up instead.
#[cfg(test)]
pub(crate) fn forget_elements<E>(v: &mut Vec<E>) {
    // SAFETY: a length of 0 exposes no element, initialised or not; the
    // elements are leaked, never read or dropped again, which is safe.
    unsafe { v.set_len(0) }
}

/// A reference-counted pointer to an immutable-once-shared `T` whose
/// count changes only under a family's lock (see the [module
/// docs](self)). Like `Arc`, without locked instructions.
pub(crate) struct Shared<T: Owns> {
    p: NonNull<Counted<T>>,
    _owns: PhantomData<Counted<T>>,
}

// SAFETY: a `Shared<T>` gives out `&T` to any thread that has a
// `&Shared<T>` (hence `T: Sync`) and may drop the `T` on whichever thread
// takes the last reference off (hence `T: Send`), as `Arc` does. Its
// count is shared between threads without synchronisation of its own:
// the module invariant (every change under the family's lock) orders
// every change after the previous one.
unsafe impl<T: Owns + Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Owns + Send + Sync> Sync for Shared<T> {}

impl<T: Owns> Shared<T> {
    /// A new, unshared value (count one), made by the batch being built
    /// on this thread if there is one. Needs no lock: nothing else can
    /// reach it yet.
    ///
    /// Its memory comes from the writer's pool when one is active on
    /// this thread (see the `pool` module), else from the allocator.
    pub(crate) fn new(value: T) -> Self {
        let p = pool::alloc(Layout::new::<Counted<T>>()).cast::<Counted<T>>();
        // SAFETY: a block of `Counted<T>`'s layout, unused: written
        // whole before anything reads it.
        unsafe {
            p.as_ptr().write(Counted {
                count: AtomicUsize::new(1),
                born: batch_born(),
                family: NodeFamily::default(),
                value,
            })
        };
        #[cfg(debug_assertions)]
        LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Shared {
            p,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn counted(&self) -> &Counted<T> {
        // SAFETY: `p` was written in `new` and is freed only when the
        // last reference goes; `self` is one.
        unsafe { self.p.as_ref() }
    }

    /// Whether `a` and `b` point to the same allocation.
    #[inline]
    pub(crate) fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.p == b.p
    }

    /// The value's address (for identity only).
    #[inline]
    pub(crate) fn as_ptr(a: &Self) -> *const T {
        &a.counted().value
    }

    /// Whether a copy took over this value's references.
    #[inline]
    pub(crate) fn is_hollow(a: &Self) -> bool {
        a.counted().count.load(Relaxed) & HOLLOW != 0
    }

    /// The same reference again, without a count of its own: for a
    /// published version, whose nodes the retirement by version keeps
    /// alive (see [`BatchScope`]), not their counts.
    ///
    /// # Safety
    ///
    /// The alias must never be dropped (or must be forgotten): it stands
    /// for no reference, so dropping it would give up one that another
    /// holder still counts on.
    pub(crate) unsafe fn alias(a: &Self) -> Self {
        Shared {
            p: a.p,
            _owns: PhantomData,
        }
    }

    /// Whether giving up `a` frees a value that batch `born` made: no
    /// published version reaches it.
    fn freed_unseen(a: &Self, born: Born) -> bool {
        let c = a.counted();
        c.born == born && c.count.load(Relaxed) == 1
    }

    /// Gives up this reference now (under the family's lock), freeing the
    /// value if it was the last; returns the value if it was freed.
    fn release(a: Self) -> Option<T> {
        check_held(&a.counted().family);
        let a = core::mem::ManuallyDrop::new(a);
        let c = a.counted().count.load(Relaxed);
        if c & !HOLLOW == 1 {
            // SAFETY: the last reference (the count is exact under the
            // lock): nothing else can reach the allocation, written in
            // `new`; its contents move out once (the fields other than
            // the value drop here), and `a` is not used again
            // (`ManuallyDrop`).
            let Counted { mut value, .. } = unsafe { a.p.as_ptr().read() };
            // SAFETY: as above: the block came from `pool::alloc` with
            // this layout in `new`, and its contents have moved out.
            unsafe { pool::free(a.p.cast(), Layout::new::<Counted<T>>()) };
            #[cfg(debug_assertions)]
            LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            if c & HOLLOW != 0 {
                value.forget_references();
            }
            Some(value)
        } else {
            a.counted().count.store(c - 1, Relaxed);
            None
        }
    }

    /// Gives up this reference: now if no batch is being built on this
    /// thread, or if this frees a value the batch made; else once no
    /// version that may reach the value is left (the batch retires it,
    /// see [`retire`]). Returns the value if it was freed now. Under the
    /// family's lock.
    pub(crate) fn into_inner(a: Self) -> Option<T> {
        match retire(a) {
            Ok(()) => None,
            Err(a) => Self::release(a),
        }
    }
}

impl<T: Owns> Shared<T> {
    /// A mutable reference to the value, for the batch being built on
    /// this thread (under the family's lock): the value itself if this
    /// batch made it and holds its only reference, else a copy made now
    /// (which this reference then points to). The value copied is
    /// retired by the batch: versions published before it still read it.
    ///
    /// A copy of a value with one reference (this one: no other index
    /// shares it) *takes over* its references ([`Owns::take_over`]), so
    /// copying an inner node touches none of its children; the original
    /// is left hollow. A value other indexes share too is cloned (its
    /// children gain a reference each).
    #[inline]
    pub(crate) fn make_mut(a: &mut Self) -> &mut T {
        let born = batch_born();
        debug_assert!(born.index != 0, "a node written outside a batch");
        let c = a.counted().count.load(Relaxed);
        debug_assert!(c & HOLLOW == 0, "a hollow node is never written");
        if a.counted().born != born || c != 1 {
            Self::copy_for_batch(a, c);
        }
        // SAFETY: this batch made the value and `a` is its only
        // reference (checked under the lock, or a copy just made), and
        // `&mut a` keeps it so for the borrow. No reader reaches it: it
        // is in no published version yet.
        unsafe { &mut (*a.p.as_ptr()).value }
    }

    #[cold]
    #[inline(never)]
    fn copy_for_batch(a: &mut Self, count: usize) {
        check_held(&a.counted().family);
        let value = &a.counted().value;
        let taken = if count == 1 {
            // SAFETY: the original is marked hollow right after, before
            // anything can give up a reference, so each reference is
            // given up once, by the copy.
            unsafe { value.take_over() }
        } else {
            None
        };
        let copy = match taken {
            Some(copy) => {
                a.counted().count.store(count | HOLLOW, Relaxed);
                copy
            }
            None => value.clone(),
        };
        // Retired (or, if no published version reaches it, given up now).
        drop(Shared::into_inner(core::mem::replace(a, Shared::new(copy))));
    }
}

impl<T: Owns> Clone for Shared<T> {
    /// Another reference. Under the family's lock. A hollow value is not
    /// shared (the references it reads are not its own to share): the
    /// clone is a copy of it, whose own children are cloned in turn.
    #[inline]
    fn clone(&self) -> Self {
        check_held(&self.counted().family);
        let count = &self.counted().count;
        let c = count.load(Relaxed);
        if c & HOLLOW != 0 {
            return Self::copy_hollow(self);
        }
        count.store(c + 1, Relaxed);
        Shared {
            p: self.p,
            _owns: PhantomData,
        }
    }
}

impl<T: Owns> Shared<T> {
    /// A copy of the hollow value `h` with references of its own: each
    /// of its references to a value that is not hollow is counted, and
    /// each one to a hollow value is replaced by a copy made the same
    /// way (an explicit stack, no recursion, however many levels are
    /// hollow). Under the family's lock.
    #[cold]
    fn copy_hollow(h: &Self) -> Self {
        // Aliases first (no count changed), each then made a reference
        // of the copy's own.
        let copy = |v: &Shared<T>| {
            // SAFETY: every alias made here is either counted (made a
            // reference of the copy's own) or forgotten and replaced by
            // a copy, below, before the copy is given out.
            let value =
                unsafe { v.take_over() }.expect("only a copy that took over leaves a value hollow");
            Shared::new(value)
        };
        let top = copy(h);
        let mut stack = vec![top.p];
        while let Some(p) = stack.pop() {
            // SAFETY: `p` is a value made above, whose one reference is
            // `top` or a reference inside another value made above: no
            // other thread and no borrow reaches it meanwhile.
            let value = unsafe { &mut (*p.as_ptr()).value };
            value.for_each_reference(&mut |r| {
                let c = r.counted().count.load(Relaxed);
                if c & HOLLOW == 0 {
                    r.counted().count.store(c + 1, Relaxed);
                } else {
                    let fresh = copy(r);
                    stack.push(fresh.p);
                    core::mem::forget(core::mem::replace(r, fresh));
                }
            });
        }
        top
    }
}

impl<T: Owns> core::ops::Deref for Shared<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.counted().value
    }
}

impl<T: Owns> Drop for Shared<T> {
    /// Gives up this reference (see [`Shared::into_inner`]). Under the
    /// family's lock.
    fn drop(&mut self) {
        // SAFETY: `self` is being dropped: its reference moves into the
        // alias, which gives it up once, and `self` is not used again.
        let a = unsafe { Shared::alias(self) };
        drop(Shared::into_inner(a));
    }
}

/// A reference given up by a batch, held until no version that can
/// reach its value is left (see [`BatchScope`]); then dropping it gives it up.
pub(crate) struct Retired {
    p: NonNull<()>,
    release: unsafe fn(NonNull<()>),
    count: unsafe fn(NonNull<()>) -> usize,
}

impl Retired {
    /// Whether other references to the value are left: giving this one
    /// up then only counts down, handing the value and everything under
    /// it to their holders. Under the family's lock.
    pub(crate) fn is_shared(&self) -> bool {
        // SAFETY: `p` and `count` were made together by `retire` from a
        // `Shared<T>` whose reference this holds: the value is alive.
        unsafe { (self.count)(self.p) > 1 }
    }
}

// SAFETY: a `Retired` is a `Shared<T>` of a `T: Send + Sync` with its
// type erased (see `retire`), and is dropped under the family's lock
// like one.
unsafe impl Send for Retired {}

impl Drop for Retired {
    fn drop(&mut self) {
        // SAFETY: `p` and `release` were made together by `retire` from
        // one `Shared<T>`, whose reference this is, given up once here.
        unsafe { (self.release)(self.p) }
    }
}

/// The count of a [`Shared<T>`]'s value erased into `p` (without the
/// hollow bit).
///
/// # Safety
///
/// `p` must come from a `Shared<T>` (of this `T`) whose reference is
/// still held.
unsafe fn count_erased<T: Owns>(p: NonNull<()>) -> usize {
    // SAFETY: the value is alive (a reference is held), and `p` points
    // to its `Counted<T>`.
    let c = unsafe { p.cast::<Counted<T>>().as_ref() };
    check_held(&c.family);
    c.count.load(Relaxed) & !HOLLOW
}

/// Gives up the reference of a [`Shared<T>`] erased into `p`.
///
/// # Safety
///
/// `p` must come from a `Shared<T>` (of this `T`) that was forgotten,
/// and this is its one release.
unsafe fn release_erased<T: Owns>(p: NonNull<()>) {
    let s = Shared::<T> {
        p: p.cast(),
        _owns: PhantomData,
    };
    drop(Shared::release(s));
}

/// Retires `a` into the batch being built on this thread unless giving
/// it up frees a value the batch made (no published version reaches it;
/// its own references are then given up through here in turn). A value
/// others hold too is retired even if the batch made it: giving this
/// reference up would hand them the value and what is under it, where a
/// node made earlier in the batch may have taken over references that
/// versions read. Gives `a` back if it is not retired (or there is no
/// batch).
fn retire<T: Owns>(a: Shared<T>) -> Result<(), Shared<T>> {
    BATCH.with(|b| {
        let mut b = b.borrow_mut();
        match b.as_mut() {
            Some(batch) if !Shared::freed_unseen(&a, batch.born) => {
                let c = a.counted();
                // The first version that can reach it: known only for a
                // value this index made.
                let since = if c.born.index == batch.born.index {
                    c.born.since
                } else {
                    0
                };
                let a = core::mem::ManuallyDrop::new(a);
                batch.retired.push(Retiring {
                    since,
                    reference: Retired {
                        p: a.p.cast(),
                        release: release_erased::<T>,
                        count: count_erased::<T>,
                    },
                });
                Ok(())
            }
            _ => Err(a),
        }
    })
}

/// Where a value was made (see [`Counted::born`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Born {
    /// The index whose batch made it (see [`index_id`]; 0: none).
    pub(crate) index: u64,
    /// The seqno of the first version that batch can publish.
    pub(crate) since: u64,
}

/// A new index's id (never 0), for [`Born`].
pub(crate) fn index_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, Relaxed)
}

/// A reference a batch retired: the versions from `since` up to the
/// batch's own (excluded) may reach its value.
pub(crate) struct Retiring {
    pub(crate) since: u64,
    pub(crate) reference: Retired,
}

/// The batch being built on this thread: where its nodes are made, and
/// what it retired.
struct Building {
    born: Born,
    retired: Vec<Retiring>,
}

std::thread_local! {
    /// The batch being built on this thread, if any. Set only while the
    /// thread holds the family's lock, so no other thread changes a
    /// count meanwhile (under loom, whose threads may share this, as
    /// well).
    static BATCH: core::cell::RefCell<Option<Building>> = const { core::cell::RefCell::new(None) };
}

/// Where the batch being built on this thread makes nodes (none: 0, 0).
#[inline]
fn batch_born() -> Born {
    BATCH.with(|b| b.borrow().as_ref().map_or(Born::default(), |b| b.born))
}

/// A batch being built on this thread, by index `index` on its version
/// `base`: while it lives, nodes made are marked as made by it,
/// [`Shared::make_mut`] copies every node it did not make, and a
/// reference given up to a node it did not make is *retired* instead of
/// given up. A retired reference is to be given up once no version that
/// may reach its value is left: a version of this index from the one
/// the value was made for (0 if another index made it) up to `base`.
/// The nodes a copy hollowed stay readable for those versions meanwhile.
///
/// This is *freeing by version*: a path copy takes over the references
/// of the nodes it copies instead of adding one to each of their
/// children (and freeing the version later takes none off), so a copy of
/// an inner node costs its own bytes, not a cache miss per child. A
/// snapshot keeps alive what it reaches, not what later batches retired
/// (a value made after it is released without waiting for it).
pub(crate) struct BatchScope<'h> {
    _held: PhantomData<&'h Held<'h>>,
    done: bool,
}

impl<'h> BatchScope<'h> {
    /// [`begin_with`](Self::begin_with) a buffer of its own (tests).
    #[cfg(test)]
    pub(crate) fn begin(held: &'h Held<'h>, index: u64, base: u64) -> Self {
        Self::begin_with(held, index, base, Vec::new())
    }

    /// Starts a batch of index `index` (see [`index_id`]) on its version
    /// `base`, on this thread, under the family's lock `held`, retiring
    /// into `retired` (emptied first: a buffer to reuse).
    pub(crate) fn begin_with(
        _held: &'h Held<'h>,
        index: u64,
        base: u64,
        mut retired: Vec<Retiring>,
    ) -> Self {
        retired.clear();
        BATCH.with(|b| {
            let mut b = b.borrow_mut();
            assert!(b.is_none(), "one batch at a time per thread");
            *b = Some(Building {
                born: Born {
                    index,
                    since: base + 1,
                },
                retired,
            });
        });
        BatchScope {
            _held: PhantomData,
            done: false,
        }
    }

    /// Ends the batch; returns the references it retired, each to be
    /// dropped under the family's lock once no version from its `since`
    /// up to `base` is left.
    pub(crate) fn finish(mut self) -> Vec<Retiring> {
        self.done = true;
        BATCH.with(|b| b.borrow_mut().take().expect("a batch").retired)
    }
}

/// A batch for the unit tests of trees built outside an index: every
/// edit of the test is one batch, finished (its retired references
/// dropped) when this goes.
#[cfg(test)]
pub(crate) struct TestBatch<'h>(Option<BatchScope<'h>>);

#[cfg(test)]
impl<'h> TestBatch<'h> {
    pub(crate) fn begin(held: &'h Held<'h>) -> Self {
        TestBatch(Some(BatchScope::begin(held, index_id(), 0)))
    }
}

#[cfg(test)]
impl Drop for TestBatch<'_> {
    fn drop(&mut self) {
        if let Some(scope) = self.0.take() {
            drop(scope.finish());
        }
    }
}

impl Drop for BatchScope<'_> {
    /// A batch left unfinished (a panic while it was built) forgets what
    /// it retired: versions may still read those nodes, and nothing says
    /// when they stop; leaking is safe.
    fn drop(&mut self) {
        if !self.done {
            if let Some(b) = BATCH.with(|b| b.borrow_mut().take()) {
                core::mem::forget(b.retired);
            }
        }
    }
}

/// A tree that reads another's nodes through aliases of its references,
/// holding none itself: a published version's tree (see the [module
/// docs](self)). It is never dropped and gives out only shared borrows,
/// so the aliases are never given up.
pub(crate) struct TreeAlias(core::mem::ManuallyDrop<crate::edit::Tree>);

impl TreeAlias {
    /// The tree of `tree`'s nodes. Its nodes stay alive as long as a
    /// version that reaches them does (the index retires what it gives
    /// up, see [`BatchScope`]), which the holder of this alias is.
    pub(crate) fn of(tree: &crate::edit::Tree) -> TreeAlias {
        TreeAlias(core::mem::ManuallyDrop::new(crate::edit::Tree {
            root: tree.root.as_ref().map(|r| {
                // SAFETY: the alias lives in a `ManuallyDrop` that nothing
                // takes out (`TreeAlias` gives out only `&Tree`): it is
                // never dropped, so it never gives up the reference it
                // copies.
                unsafe { Shared::alias(r) }
            }),
            height: tree.height,
            len: tree.len,
        }))
    }
}

impl core::ops::Deref for TreeAlias {
    type Target = crate::edit::Tree;

    #[inline]
    fn deref(&self) -> &crate::edit::Tree {
        &self.0
    }
}

/// A version and one node of its tree, kept together without a count
/// on the node (readers change no count): the node lives as long as the
/// version, which this holds. A cursor's position.
pub(crate) struct VersionNode {
    version: ordex_core::sync::Arc<Version>,
    /// A node of `version`'s tree (None: no node).
    node: Option<NonNull<Node>>,
}

// SAFETY: a `VersionNode` is an `Arc<Version>` and a `&Node` borrowed
// from it (both `Send` and `Sync`; nodes reachable from a version are
// never written).
unsafe impl Send for VersionNode {}
// SAFETY: as above.
unsafe impl Sync for VersionNode {}

impl VersionNode {
    /// `version`, with no node.
    pub(crate) fn new(version: ordex_core::sync::Arc<Version>) -> Self {
        VersionNode {
            version,
            node: None,
        }
    }

    /// The version.
    #[inline]
    pub(crate) fn version(&self) -> &ordex_core::sync::Arc<Version> {
        &self.version
    }

    /// Moves to another version, with no node.
    pub(crate) fn set_version(&mut self, version: ordex_core::sync::Arc<Version>) {
        self.node = None;
        self.version = version;
    }

    /// Sets the node to what `find` returns from the version.
    #[inline]
    pub(crate) fn set_node(&mut self, find: impl for<'a> FnOnce(&'a Version) -> Option<&'a Node>) {
        self.node = find(&self.version).map(NonNull::from);
    }

    /// The node, if any.
    #[inline]
    pub(crate) fn node(&self) -> Option<&Node> {
        // SAFETY: `node` was borrowed from `self.version` (`set_node`'s
        // closure returns a borrow of the version it is given, and
        // `set_version` clears it), which `self` keeps alive, and the
        // nodes a version reaches are never written or freed while it is
        // alive (see the module docs). The borrow is tied to `&self`.
        self.node.map(|p| unsafe { p.as_ref() })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A value holding references to others, as an inner node does.
    #[derive(Clone)]
    struct T {
        v: u32,
        refs: Vec<Shared<T>>,
        _tally: Tally,
    }

    std::thread_local! {
        /// `T` values alive on this thread.
        static ALIVE: core::cell::Cell<isize> = const { core::cell::Cell::new(0) };
    }

    /// Counts the `T` values alive on this thread.
    struct Tally;

    impl Tally {
        fn new() -> Tally {
            ALIVE.with(|a| a.set(a.get() + 1));
            Tally
        }
    }

    impl Clone for Tally {
        fn clone(&self) -> Tally {
            Tally::new()
        }
    }

    impl Drop for Tally {
        fn drop(&mut self) {
            ALIVE.with(|a| a.set(a.get() - 1));
        }
    }

    impl Owns for T {
        unsafe fn take_over(&self) -> Option<T> {
            let refs = self
                .refs
                .iter()
                // SAFETY: the caller's contract.
                .map(|r| unsafe { Shared::alias(r) })
                .collect();
            Some(T {
                v: self.v,
                refs,
                _tally: Tally::new(),
            })
        }

        fn forget_references(&mut self) {
            forget_elements(&mut self.refs);
        }

        fn for_each_reference(&mut self, f: &mut dyn FnMut(&mut Shared<T>)) {
            self.refs.iter_mut().for_each(f);
        }
    }

    impl Owns for u8 {
        unsafe fn take_over(&self) -> Option<u8> {
            None
        }

        fn forget_references(&mut self) {}

        fn for_each_reference(&mut self, _: &mut dyn FnMut(&mut Shared<u8>)) {}
    }

    fn leaf(v: u32) -> Shared<T> {
        Shared::new(T {
            v,
            refs: Vec::new(),
            _tally: Tally::new(),
        })
    }

    fn count<U: Owns>(a: &Shared<U>) -> usize {
        a.counted().count.load(Relaxed) & !HOLLOW
    }

    /// Outside a batch, references are counted as `Arc`'s are.
    #[test]
    fn counts_follow_clones_and_drops() {
        let family = Family::new();
        let _held = family.hold();
        let a = leaf(1);
        let b = a.clone();
        assert!(Shared::ptr_eq(&a, &b));
        assert_eq!(count(&a), 2);
        assert!(Shared::into_inner(a).is_none(), "b still holds it");
        assert_eq!(Shared::into_inner(b).map(|t| t.v), Some(1));
    }

    /// In a batch, `make_mut` copies a value the batch did not make (a
    /// one-reference value with references of its own is taken over, and
    /// left hollow) and retires the original; it writes in place what the
    /// batch made. The retired references go when dropped.
    #[test]
    fn a_batch_takes_over_copies_and_retires_originals() {
        let family = Family::new();
        let held = family.hold();
        let child = leaf(7);
        let mut root = Shared::new(T {
            v: 1,
            refs: vec![child.clone()],
            _tally: Tally::new(),
        });
        drop(child);
        let old_root = Shared::as_ptr(&root);
        let scope = BatchScope::begin(&held, index_id(), 0);
        let copy = Shared::make_mut(&mut root);
        copy.v = 2;
        assert_ne!(Shared::as_ptr(&root), old_root, "copied");
        // The copy took over the child: same node, count unchanged.
        assert_eq!(count(&root.refs[0]), 1);
        // Made by this batch: written in place now.
        Shared::make_mut(&mut root).v = 3;
        let child = &mut Shared::make_mut(&mut root).refs[0];
        Shared::make_mut(child).v = 8;
        let retired = scope.finish();
        assert_eq!(retired.len(), 2, "the old root and the old child");
        let retired: Vec<Retired> = retired.into_iter().map(|r| r.reference).collect();
        // SAFETY: the old root is alive until `retired` is dropped.
        let old = unsafe { &*old_root };
        assert_eq!(
            (old.v, old.refs[0].v),
            (1, 7),
            "old versions read as before"
        );
        assert_eq!((root.v, root.refs[0].v), (3, 8));
        // A clone of a hollow value is a copy (its references are not
        // its own to share).
        let hollow = &retired[0];
        // SAFETY: `hollow` is the old root's retired reference.
        let hollow = unsafe {
            Shared::alias(&*core::mem::ManuallyDrop::new(Shared::<T> {
                p: hollow.p.cast(),
                _owns: PhantomData,
            }))
        };
        let hollow = core::mem::ManuallyDrop::new(hollow);
        assert!(Shared::is_hollow(&hollow));
        let copy = Shared::clone(&hollow);
        assert!(!Shared::is_hollow(&copy) && !Shared::ptr_eq(&copy, &hollow));
        assert_eq!((copy.v, copy.refs[0].v), (1, 7));
        // The old child was taken over too (hollow): copied as well.
        assert!(Shared::is_hollow(&hollow.refs[0]));
        assert!(!Shared::ptr_eq(&copy.refs[0], &hollow.refs[0]));
        drop(copy);
        drop(retired);
        drop(root);
        drop(held);
        assert_eq!(ALIVE.with(|a| a.get()), 0, "every value freed, once");
    }

    #[test]
    #[cfg(debug_assertions)]
    fn a_clone_outside_the_lock_is_caught() {
        let a = Shared::new(1u8);
        let clone = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.clone()));
        let message = clone
            .err()
            .and_then(|e| e.downcast_ref::<&str>().map(|s| s.to_string()));
        assert_eq!(
            message.as_deref(),
            Some("a node's count changed outside its family's lock")
        );
        let family = Family::new();
        let _held = family.hold();
        drop(a);
    }
}
