//! Node layout, version records, and the tree's whole unsafe core: the
//! one fence around the tree's `unsafe` (the tree and the cursors above it
//! are safe code). This file holds the types and the invariants every
//! module below keeps; each concern is a module of its own:
//!
//! | module | concern |
//! |---|---|
//! | `prefix` | key heads and node prefixes |
//! | `records` | version records and long-key entries; freeing and retiring them and nodes |
//! | `slots` | slot encoding: length classes, inline values, raw slots, resolving them |
//! | `block` | a leaf's block: the keys and values of its packed entries, appended, repacked |
//! | `leaf_copy` | the leaf copies optimistic readers take |
//! | `search` | a node read: latching, the branch-free search, slot and child loads, leaf copies |
//! | `split` | where a node splits, and the separator it pushes up |
//! | `locked` | writes under the latch: slots, version chains, splits, merges, unlinks |
//! | `root` | the root, growth and shrinking at the top, the bulk load, the drop |
//!
//! # Layout
//!
//! A [`Node`] is a fixed-size block of `N` slots (a const generic):
//!
//! - `latch`: the version lock ([`Latch`]);
//! - `level`: 0 for leaves, parent = child + 1 (immutable after creation);
//! - `count`: entries in a leaf, separators in an inner node (which has
//!   `count + 1` children, so at most `N - 1` separators);
//! - `high`: the node's high key (inclusive upper bound of its range), or
//!   null for the rightmost node of a level (+∞), with its head and length
//!   class copied into `high_head`/`high_meta` so that moving right is
//!   decided inside the node; `right`: the right sibling (B-link); `low`
//!   (leaves only): the low fence key, the exclusive lower bound, which
//!   lets reverse iteration find the previous leaf by descending to it;
//! - `plen`, `pfx`: the node's prefix ([`Prefix`]), which every key of its
//!   range starts with (at most what its fences share), stored once: its
//!   length and first 8 bytes. A node whose range is open at one end (the
//!   first or last of its level, a root) has no such bound: its prefix is
//!   what its keys share, at most 8 bytes, and a key that does not share
//!   it cuts it (re-encoding the heads) before it is placed;
//! - `heads[i]`: the 8 bytes of key `i` after the node's prefix,
//!   big-endian, zero-padded; with the key length class in `meta[i]`, it
//!   orders any key of at most 8 bytes completely (all keys of the node
//!   share the prefix), so such keys live in the slot (rebuilt from `pfx`
//!   and the head) and comparisons with them never leave the node; the
//!   high key's head `high_head` is of the whole key;
//! - `meta[i]`: the key length if at most 8 bytes, else [`KLEN_LONG`];
//!   in a leaf also whether the value is inline ([`CHAIN`] clear) and its
//!   length;
//! - `words[i]`, in a leaf, the value of key `i`, one of:
//!   - *inline* (key of at most 8 bytes, value of at most 8 bytes, no
//!     older version any snapshot needs): the value bytes themselves, as
//!     a pointer-sized integer (no provenance);
//!   - *chain* (key of at most 8 bytes): the newest [`Record`] of the key's
//!     version chain (seqno, value bytes, older version), out of line;
//!   - *long key*: an out-of-line, immutable [`Entry`] (the key bytes)
//!     which anchors the key's version chain;
//!   - *packed* ([`PACKED`] in `meta`; an entry that is not inline, of
//!     at most [`PACK_MAX`] bytes, with no older version any snapshot
//!     needs): the address of its item (key and value bytes) in the
//!     leaf's `block`, one append-only allocation per leaf (see the
//!     `block` module), so that a leaf's entries are read from a few
//!     contiguous lines;
//!
//!   in an inner node, `words[i]` is child `i`, which holds the keys in
//!   `(sep[i-1], sep[i]]`, and separator `i`'s bytes are an [`Entry`] in
//!   the node's `ext` ([`Ext`]), with its *tail*, the 8 bytes after its
//!   head (zero-padded): where heads tie on long keys (URLs behind one
//!   host) the tails order most separators without a read of their
//!   entries, which a descent would wait for at every level.
//!
//! Every field read by optimistic readers is an atomic, so a reader that
//! races a writer reads stale or mixed values but never undefined
//! behaviour; every count is clamped to the node capacity before it is
//! used as an index; and a word is interpreted (as inline bytes or as a
//! pointer to follow) only after the read of the node has been validated,
//! so a torn `(meta, word)` pair is never dereferenced.
//!
//! An inline (or packed) value carries no seqno: a write stores inline
//! only if no live snapshot is older than it and any snapshot taken later
//! pins a seqno at or above it (see `ordex_core::mvcc::Clock::take`), so
//! every reader may see it. When a snapshot needs an older version kept,
//! the inline value moves into a chain record with seqno 0 (visible to
//! every snapshot) and the new version is pushed on top (a packed entry
//! leaves its block: a short key's value becomes such a record, a long
//! key gets an entry whose first version is that record); a sweep (or a
//! later write) folds the chain back inline, or packs it, when no
//! snapshot needs it.
//!
//! # Memory invariants (what makes the safe accessors sound)
//!
//! 1. Every pointer ever stored in a node field (other than an inline
//!    value word) points to an object allocated here and fully
//!    initialised before the (Release) store that published it; readers
//!    load with Acquire.
//! 2. A node is freed when the tree is dropped (which needs `&mut`
//!    access), or, for an empty leaf unlinked by
//!    [`Locked::unlink_right_leaf`], through crossbeam-epoch after it was
//!    marked obsolete: a `&Node` obtained under a guard stays valid while
//!    the guard lives, and a reader that reaches an obsolete node restarts.
//! 3. An [`Entry`] or a run of [`Record`]s is retired only after a writer
//!    holding the owning leaf's latch has made it unreachable from every
//!    node and chain, and it is freed through crossbeam-epoch only once
//!    every guard pinned before the retirement is gone. A pointer read in
//!    a validated read of a node, under a guard, therefore stays
//!    dereferenceable while the guard lives.
//! 4. Entries and records are immutable once published, except the atomic
//!    links (`Entry::versions`, `Record::older`), which change only under the
//!    owning leaf's latch.
//! 5. The root's hot-leaf pointer is null or names a leaf of the tree that
//!    has not been unlinked: it is stored only under the latch of a leaf
//!    that is not obsolete, and an unlink clears it under the leaf's latch
//!    before the leaf is marked obsolete and retired. A pointer loaded from
//!    it under a guard therefore stays valid while the guard lives, as a
//!    right-link does (invariant 2).
//! 6. A leaf's block follows the `block` module's invariants: packed
//!    items are immutable once published, and a block is freed through
//!    the epoch after its leaf stopped naming it (a repack replaced it,
//!    or the leaf was unlinked) or with the tree.
//!
//! Outside this module, entries and records are reached only through the
//! guard-bound handles [`EntryRef`] and [`RecordRef`] (raw pointers inside, so
//! the trailing bytes keep the allocation's provenance), and slots only
//! through [`LeafSlot`]s, which only this module creates, from validated
//! reads under a guard.
//!
//! Under `cfg(loom)` retired objects go to a limbo list freed with the tree
//! instead of to crossbeam-epoch (whose collector runs outside the model).

use crate::bytes::Bytes;
use crate::latch::Latch;
use crossbeam_epoch::Guard;
use ordex_core::olc::Restart;
use ordex_core::reclaim::{retire, Account};
use ordex_core::sync::{AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::slice;
use std::sync::Arc;

mod block;
mod leaf_copy;
mod locked;
mod prefix;
mod records;
mod root;
mod search;
mod slots;
mod split;

// The concerns' free functions and constants, for one another (through
// `use super::*`) and, where `pub(crate)`, for the tree and cursors.
pub(crate) use self::block::packable;
use self::block::*;
use self::leaf_copy::*;
pub(crate) use self::prefix::*;
use self::records::*;
pub(crate) use self::root::*;
pub(crate) use self::slots::*;
use self::split::*;

/// A node's prefix (prefix truncation): every key the node may hold (its
/// range, between its fences) starts with the same `len` bytes, stored
/// once for the node; slot heads hold the 8 bytes after them. In a node
/// whose range is open at one end, every key it holds does, and the
/// prefix has at most 8 bytes (see [`Prefix::open`]). `head` is
/// the prefix's first (at most) 8 bytes, big-endian, zero-padded, which
/// is all it takes to rebuild a key of at most 8 bytes from its slot and
/// to check that a search key starts with the prefix; the rest of it is
/// in the fence keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Prefix {
    pub(crate) len: usize,
    head: u64,
}

/// One immutable version of a key: this header, then the value bytes, in
/// an allocation of its own, or (`embedded`) inside the allocation of a
/// long key's [`Entry`], as the key's first version, so that a get or a
/// scan of a key that was written once takes one miss for key and value.
/// An embedded record is freed with its entry, never on its own. Handled
/// through [`RecordRef`] outside this module.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Record {
    seqno: u64,
    older: AtomicPtr<Record>,
    len: usize,
    tomb: bool,
    embedded: bool,
}

/// A version record borrowed under an epoch guard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'g> {
    p: NonNull<Record>,
    _guard: PhantomData<&'g Guard>,
}

/// A version record not yet published (owned).
#[derive(Debug)]
pub(crate) struct NewRecord(NonNull<Record>);

// SAFETY: a `NewRecord` owns its allocation exclusively.
unsafe impl Send for NewRecord {}

/// A key, stored out of line and immutable, in one allocation (this
/// header, then the key bytes); in a leaf it also anchors the key's
/// version chain (newest first). Handled through [`EntryRef`] outside this
/// module.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Entry {
    versions: AtomicPtr<Record>,
    len: usize,
    /// The allocation's size (with an embedded record, if any).
    size: usize,
}

/// An entry borrowed under an epoch guard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryRef<'g> {
    p: NonNull<Entry>,
    _guard: PhantomData<&'g Guard>,
}

const _: () = assert!(INLINE_MAX <= 8, "inline values fit in a Bytes copy");

/// A search key with its head computed once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchKey<'k> {
    pub(crate) key: &'k [u8],
    pub(crate) head: u64,
}

/// The raw contents of a slot, loaded without interpretation.
#[derive(Debug, Clone, Copy)]
struct RawSlot {
    head: u64,
    meta: u16,
    word: *mut u8,
}

/// The value of a leaf slot as of a validated read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SlotValue<'g> {
    /// An inline or packed value: visible to every reader and snapshot.
    Inline(Bytes<'g>),
    /// The newest record of the key's version chain.
    Chain(RecordRef<'g>),
}

/// A leaf slot copied in a validated read (by [`Node::copy_leaf`]), not
/// yet interpreted; only this module creates one, so its pointers are
/// known to be live for `'g`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Copied<'g> {
    raw: RawSlot,
    versions: *mut Record,
    _guard: PhantomData<&'g Guard>,
}

/// A leaf entry as of a validated read, resolved for one reader: its key
/// and its value at the reader's seqno (keys without a value there are
/// left out of the copy).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'g> {
    pub(crate) key: Bytes<'g>,
    pub(crate) val: Bytes<'g>,
    /// Items are made only in this module (by `copy_leaf`), so that
    /// [`value_seqno`](Self::value_seqno) may rely on where `val` points.
    made_here: (),
}

/// A buffer slot: the raw copy while the read is unvalidated, the
/// resolved entry once it is (below `len`, always the latter).
#[derive(Clone, Copy)]
union Slot<'g> {
    copied: Copied<'g>,
    item: Item<'g>,
}

/// A buffer of copied leaf entries (uninitialised beyond `len`, so a scan
/// does not clear a whole leaf's worth of memory before it starts).
pub(crate) struct LeafBuf<'g, const N: usize> {
    slots: [MaybeUninit<Slot<'g>>; N],
    len: usize,
}

/// A copy of a leaf whose copied slots all hold their key and value in
/// the slot (keys and values of at most 8 bytes, no version chain, not
/// packed), as the slots' own words: [`Node::copy_inline`] fills it with
/// plain loads and stores and [`entry`](Self::entry) makes an entry's
/// bytes as a scan hands it out. Integers only, so a torn read is
/// harmless until the copy is validated (and none is readable before).
pub(crate) struct InlineBuf<const N: usize> {
    heads: [u64; N],
    metas: [u16; N],
    words: [u64; N],
    /// The copied leaf's prefix.
    pfx: Prefix,
    /// Entries copied (`0..len` valid).
    len: usize,
}

/// How [`Node::hand_out_inline`] ended. `last` is the key of the last
/// entry handed out (bytes and length), if any was.
pub(crate) enum HandedOut<'g, L: Latch, const N: usize> {
    /// Every entry was handed out; the leaf's fences and right sibling,
    /// validated with them.
    End {
        last: Option<([u8; 8], usize)>,
        high: Option<EntryRef<'g>>,
        low: Option<EntryRef<'g>>,
        right: Option<&'g Node<L, N>>,
    },
    /// The callback asked to stop, or the walk reached an entry past
    /// the scan's upper end.
    Stopped,
    /// The leaf changed, or holds an entry that is not inline, before
    /// every entry was handed out: the walk goes on after `last` another
    /// way.
    Broke(Option<([u8; 8], usize)>),
}

/// What [`Node::copy_leaf`] read besides the slots.
#[derive(Debug)]
pub(crate) struct LeafCopy<'g, L: Latch, const N: usize> {
    /// Slots copied.
    pub(crate) len: usize,
    /// The high key (None: +∞); its bytes are another cache line, read
    /// only if needed.
    pub(crate) high: Option<EntryRef<'g>>,
    /// The low fence key (None: -∞), likewise.
    pub(crate) low: Option<EntryRef<'g>>,
    /// The right sibling.
    pub(crate) right: Option<&'g Node<L, N>>,
}

/// A leaf slot as of a validated read: its key and value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeafSlot<'g> {
    pub(crate) key: Bytes<'g>,
    pub(crate) val: SlotValue<'g>,
}

/// A B-link tree node of `N` slots. See the module docs for the layout.
#[derive(Debug)]
pub(crate) struct Node<L: Latch, const N: usize> {
    latch: L,
    level: u8,
    /// Leaves only: inserts in a row each right after the one before
    /// (positive) or each right before it (negative), as an `i8`: a
    /// split follows such a run (see [`split_point`]). Read and written
    /// only under the latch, as is `last`.
    run: AtomicU8,
    /// Leaves only: the slot of the last insert.
    last: AtomicU16,
    count: AtomicU32,
    high_meta: AtomicU16,
    /// The node's prefix ([`Prefix`]): its length and first 8 bytes. Changed
    /// only under the latch, with every head re-encoded in the same
    /// critical section (see [`Locked::set_prefix`]).
    plen: AtomicU8,
    pfx: AtomicU64,
    high_head: AtomicU64,
    high: AtomicPtr<Entry>,
    /// Leaves only: the low fence key (exclusive lower bound; null: -∞).
    /// Immutable once the leaf is published (an unlink changes the left
    /// sibling's high key, never a low key).
    low: AtomicPtr<Entry>,
    right: AtomicPtr<Node<L, N>>,
    /// Inner nodes only: the separator entries (immutable box).
    ext: Option<Box<Ext<N>>>,
    /// Leaves only: the block the packed entries' items live in (null:
    /// none yet), its capacity, its bytes in use, and of those the dead
    /// ones (items no slot points to). Read and written only under the latch (or by the
    /// leaf's owner; atomics only because the node is shared); readers
    /// reach items through slot words. Kept in the node, whose header a
    /// write has just read, rather than in the block's: an insert then
    /// takes no miss to find where its item goes.
    block: AtomicPtr<Block>,
    block_cap: AtomicU32,
    block_used: AtomicU32,
    block_dead: AtomicU32,
    heads: [AtomicU64; N],
    meta: [AtomicU16; N],
    words: [AtomicPtr<u8>; N],
}

/// An inner node's separator slot as stored: moving one copies these
/// words instead of reading the entry's key again (a miss per separator
/// moved).
#[derive(Debug, Clone, Copy)]
struct Separator {
    head: u64,
    meta: u16,
    e: *mut Entry,
    tail: u64,
}

/// An inner node's separators: each one's entry (its key bytes) and its
/// tail, the 8 bytes of its key after its head in the node's prefix,
/// zero-padded, big-endian (see the layout above). Two separators whose
/// heads and tails both agree are ordered by their entries' keys; a
/// tail that differs orders a long separator against a long search key
/// whose head ties with it, as the head does one byte window earlier.
#[derive(Debug)]
pub(crate) struct Ext<const N: usize> {
    seps: [AtomicPtr<Entry>; N],
    tails: [AtomicU64; N],
}

/// A half-split to finish: the separator (the left node's new high key,
/// already copied for the parent) and the new right node.
#[derive(Debug)]
pub(crate) struct Split<L: Latch, const N: usize> {
    sep: *mut Entry,
    right: *mut Node<L, N>,
}

/// A key read under a latch: rebuilt from a short slot, or borrowed from a
/// long key's entry.
enum KeyBuf<'a> {
    Short([u8; 8], usize),
    Long(&'a [u8]),
}

/// A read of a node in progress (a token of [`Latch::read`]); ends the
/// read on drop, also on early returns and unwinding. Descents assign the
/// child's read over the parent's, which ends the parent's read after the
/// child's started: hand-over-hand.
pub(crate) struct Reading<'a, L: Latch> {
    latch: &'a L,
    t: L::Token,
}

/// A node whose latch this thread holds; unlocks on drop (also on unwind).
pub(crate) struct Locked<'a, L: Latch, const N: usize> {
    node: &'a Node<L, N>,
    heap: &'a Arc<Account>,
}

/// What a write did to a key: whether the replaced version was a value,
/// and whether the chain kept more than the new version for a snapshot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pushed {
    pub(crate) was_live: bool,
    pub(crate) kept: bool,
}

/// The leaves of a build, shared with its rayon workers.
struct Leaves<'a, L: Latch, const N: usize>(&'a [*mut Node<L, N>]);

// SAFETY: the workers only read the pointers and write disjoint leaves
// through atomics (see `Root::build`); nodes are `Sync` apart from the raw
// pointers that name them.
unsafe impl<L: Latch, const N: usize> Sync for Leaves<'_, L, N> {}

/// The root pointer; owns the whole tree.
#[derive(Debug)]
pub(crate) struct Root<L: Latch, const N: usize> {
    ptr: AtomicPtr<Node<L, N>>,
    heap: Arc<Account>,
    /// The hot leaf (see [`Root::hot`]): null, or a leaf of this tree
    /// that is not unlinked (invariant 5).
    hot: Hot<L, N>,
}

/// The hot leaf's pointer, on a cache line of its own: every insert reads
/// it, and writers store it now and then.
#[derive(Debug)]
#[repr(align(128))]
struct Hot<L: Latch, const N: usize>(AtomicPtr<Node<L, N>>);
