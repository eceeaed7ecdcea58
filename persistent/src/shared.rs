//! How versions share nodes: [`Shared`], a reference-counted pointer whose
//! count changes with plain loads and stores instead of locked
//! instructions, because every change happens under one lock, the
//! [`Family`]'s.
//!
//! A path copy adds a reference to each child of every node it copies (up
//! to [`INNER_CAP`](crate::node::INNER_CAP) per level), and freeing a
//! replaced version takes them off again. With `Arc` each of those is a
//! locked read-modify-write, and they wait on one another: a profile of
//! single-key writes put 41% of the time in `Arc::make_mut`'s increments
//! and `Node::drop`'s decrements (see `docs/persistent.md`). Here they are
//! a load and a store.
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
//!   copies and the nodes a batch replaces in place);
//! - a [`Version`] holds it while it drops its tree, so
//!   freeing a version is covered wherever its last reference goes (the
//!   writer's sweep, or a snapshot that outlives its index);
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
//! one wrote: the counts are exact, as `Arc`'s are. Everything else
//! follows as for `Arc`: a node is freed when its count reaches zero, by
//! the thread that took the last reference off; [`Shared::make_mut`]
//! writes in place only when the count is one, i.e. when no version
//! reaches the node, only the batch being built (a node reachable from a
//! published version has a reference from that version's parent or root
//! and one from the batch's own copy of the path). Readers that read a
//! node of a version being freed are finished with it before the
//! version's `Arc` count reaches zero (its decrements are Release, the
//! last one is followed by an Acquire fence), and the frees come after.
//!
//! Debug builds check the invariant: each node records the family it was
//! first counted under, and every count change asserts that the thread
//! holds the lock of that family (or of the one it joined since).

use crate::node::Node;
use crate::Version;
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

/// The allocation behind a [`Shared`]: the count, then the value.
struct Counted<T> {
    count: AtomicUsize,
    family: NodeFamily,
    value: T,
}

/// A reference-counted pointer to an immutable-once-shared `T` whose
/// count changes only under a family's lock (see the [module
/// docs](self)). Like `Arc`, without locked instructions.
pub(crate) struct Shared<T> {
    p: NonNull<Counted<T>>,
    _owns: PhantomData<Counted<T>>,
}

// SAFETY: a `Shared<T>` gives out `&T` to any thread that has a
// `&Shared<T>` (hence `T: Sync`) and may drop the `T` on whichever thread
// takes the last reference off (hence `T: Send`), as `Arc` does. Its
// count is shared between threads without synchronisation of its own:
// the module invariant (every change under the family's lock) orders
// every change after the previous one.
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// A new, unshared value (count one). Needs no lock: nothing else
    /// can reach it yet.
    pub(crate) fn new(value: T) -> Self {
        let b = Box::new(Counted {
            count: AtomicUsize::new(1),
            family: NodeFamily::default(),
            value,
        });
        #[cfg(debug_assertions)]
        LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Shared {
            p: NonNull::from(Box::leak(b)),
            _owns: PhantomData,
        }
    }

    #[inline]
    fn counted(&self) -> &Counted<T> {
        // SAFETY: `p` came from `Box::leak` and is freed only when the
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

    /// The value, if this was its last reference (else the reference is
    /// given up). Under the family's lock.
    pub(crate) fn into_inner(a: Self) -> Option<T> {
        check_held(&a.counted().family);
        let a = core::mem::ManuallyDrop::new(a);
        let c = a.counted().count.load(Relaxed);
        if c == 1 {
            // SAFETY: the last reference (the count is exact under the
            // lock): nothing else can reach the allocation, which came
            // from `Box::leak`; `a` is not used again (`ManuallyDrop`).
            let b = unsafe { Box::from_raw(a.p.as_ptr()) };
            #[cfg(debug_assertions)]
            LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            Some(b.value)
        } else {
            a.counted().count.store(c - 1, Relaxed);
            None
        }
    }
}

impl<T: Clone> Shared<T> {
    /// A mutable reference to the value, copying it first unless this is
    /// its only reference (`Arc::make_mut`). Under the family's lock.
    #[inline]
    pub(crate) fn make_mut(a: &mut Self) -> &mut T {
        if a.counted().count.load(Relaxed) != 1 {
            *a = Shared::new(a.counted().value.clone());
        }
        // SAFETY: the count is one (checked under the lock, or a copy
        // just made): `a` is the only reference, and `&mut a` keeps it so
        // for the borrow. No reader reaches the value: a node that a
        // version reaches has a reference from it and one from the
        // batch's path.
        unsafe { &mut (*a.p.as_ptr()).value }
    }
}

impl<T> Clone for Shared<T> {
    /// Another reference. Under the family's lock.
    #[inline]
    fn clone(&self) -> Self {
        check_held(&self.counted().family);
        let count = &self.counted().count;
        count.store(count.load(Relaxed) + 1, Relaxed);
        Shared {
            p: self.p,
            _owns: PhantomData,
        }
    }
}

impl<T> core::ops::Deref for Shared<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.counted().value
    }
}

impl<T> Drop for Shared<T> {
    /// Gives up this reference, freeing the value if it was the last.
    /// Under the family's lock.
    fn drop(&mut self) {
        check_held(&self.counted().family);
        let c = self.counted().count.load(Relaxed);
        if c == 1 {
            // SAFETY: the last reference (the count is exact under the
            // lock); the allocation came from `Box::leak`.
            unsafe { drop(Box::from_raw(self.p.as_ptr())) };
            #[cfg(debug_assertions)]
            LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        } else {
            self.counted().count.store(c - 1, Relaxed);
        }
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

    #[test]
    fn counts_follow_clones_and_drops() {
        let family = Family::new();
        let _held = family.hold();
        let a = Shared::new(vec![1u8]);
        let mut b = a.clone();
        assert!(Shared::ptr_eq(&a, &b));
        // Shared: `make_mut` copies, and the copy is b's alone.
        Shared::make_mut(&mut b).push(2);
        assert!(!Shared::ptr_eq(&a, &b));
        assert_eq!((&a[..], &b[..]), (&[1u8][..], &[1u8, 2][..]));
        // Unshared now: in place.
        let before = Shared::as_ptr(&b);
        Shared::make_mut(&mut b).push(3);
        assert_eq!(Shared::as_ptr(&b), before);
        let c = a.clone();
        assert!(Shared::into_inner(a).is_none(), "c still holds it");
        assert_eq!(Shared::into_inner(c), Some(vec![1u8]));
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
