//! The node layout and its invariants.
//!
//! A tree is a B+tree of immutable-once-published nodes shared between
//! versions through `Shared` (the `shared` module: reference counts
//! changed under the family's lock):
//!
//! - a leaf holds `1..=LEAF_CAP` entries (only the root may hold
//!   fewer than [`LEAF_MIN`]; an empty tree has no root), keys strictly
//!   ascending, as records of a fixed stride when every key has one
//!   length of at most 16 bytes and every value one length of at most 8
//!   (the `fixed` module), else packed in one buffer (`Strings`) as
//!   `key0, value0, key1, value1, …`;
//! - an inner node holds `2..=INNER_CAP` children (at least
//!   [`INNER_MIN`] unless it is the root) and one separator fewer: child
//!   `i` holds the keys `k` with `sep[i - 1] <= k < sep[i]`; it also
//!   records how many entries its subtree holds, so that a cut
//!   (`split_off`) knows the length of both parts from the nodes along
//!   its path, without counting the entries;
//! - every leaf is at the same depth; a version records its height (0:
//!   the root is a leaf);
//! - an inner node's children are `Child`ren: the node and a prefetch
//!   hint for its buffer, which every write keeps current (the
//!   structure check verifies it), so that a reader asks for a level's
//!   node and buffer at once; they live in the same buffer as the
//!   node's separators (the `inner` module).
//!
//! A node reachable from a published version is never written again: a
//! writer changes a node only through `Shared::make_mut`, which writes in place
//! only when the writer's batch holds the sole reference (a node it copied
//! itself earlier in the batch: a Clojure transient), and copies it
//! otherwise.
//!
//! Dropping a tree never recurses: a node's `Drop` moves the children it
//! owns alone onto an explicit stack.

use crate::fixed::Fixed;
pub(crate) use crate::inner::{Child, Hint, Inner};
use crate::shared::{Owns, Shared};
use crate::strings::Strings;
use std::sync::Arc;

/// Most entries of a leaf. (4 under `--cfg ordex_small_nodes`, which
/// `.ci/small-nodes.sh` uses to run every test on trees many levels
/// tall.)
#[cfg(not(ordex_small_nodes))]
pub const LEAF_CAP: usize = 32;
/// Most entries of a leaf (small, to test tall trees).
#[cfg(ordex_small_nodes)]
pub const LEAF_CAP: usize = 4;
/// Fewest entries of a leaf other than the root: a quarter of
/// [`LEAF_CAP`] (at least 2). Lower than the textbook half so that a leaf
/// split by an append (a key above all of its keys: ascending ids,
/// timestamps) keeps three quarters of its entries and the new leaf one
/// quarter, and ascending inserts leave leaves three quarters full rather
/// than half (and likewise for descending inserts and inner nodes).
pub const LEAF_MIN: usize = min_of(LEAF_CAP);
/// Most children of an inner node (4 under `--cfg ordex_small_nodes`).
/// 48 rather than 32: a million random keys then sit four levels deep
/// instead of five, and gets and scans at that size ran 1.05–1.12×
/// faster with writes the same (docs/persistent.md, *Inner nodes of
/// 48 children*).
#[cfg(not(ordex_small_nodes))]
pub const INNER_CAP: usize = 48;
/// Most children of an inner node (small, to test tall trees).
#[cfg(ordex_small_nodes)]
pub const INNER_CAP: usize = 4;
/// Fewest children of an inner node other than the root (a quarter of
/// [`INNER_CAP`], at least 2; see [`LEAF_MIN`]).
pub const INNER_MIN: usize = min_of(INNER_CAP);

const fn min_of(cap: usize) -> usize {
    if cap / 4 > 2 {
        cap / 4
    } else {
        2
    }
}

/// Most levels a tree can have: with at least 2 children per inner node
/// below the root and at least 2 entries per leaf (any fan-out of 4 or
/// more), a tree of `h` levels holds at least `2^h` entries, so a tree of
/// `usize` entries has fewer than 64 levels.
pub const MAX_LEVELS: usize = 64;

/// Values longer than this live out of line, each in an `Arc<[u8]>` that
/// every copy of its leaf shares: a write that copies a leaf copies its
/// short values and only a reference to each long one.
pub const BIG_VALUE: usize = 256;

/// The longest key accepted: a node's packed buffer of up to `INNER_CAP`
/// keys, or `LEAF_CAP` keys and short values, must stay below 4 GiB (`u32`
/// offsets); and a write copies the keys of the nodes on its path, so
/// keys are meant to be short.
pub const MAX_KEY_LEN: usize = 1 << 20;
/// The longest value accepted: any (a value longer than [`BIG_VALUE`]
/// lives out of line, outside the packed buffer).
pub const MAX_VALUE_LEN: usize = usize::MAX;

const _: () = {
    assert!(
        HINT_BYTES <= 20 * LINE,
        "a hint's lines are asked for in five groups of four"
    );
    assert!(LEAF_CAP >= 4 && INNER_CAP >= 4, "fan-out of at least 4");
    assert!(
        2 * LEAF_MIN <= LEAF_CAP && 2 * INNER_MIN <= INNER_CAP,
        "merges fit"
    );
    assert!(
        LEAF_CAP <= 64,
        "a leaf's out-of-line values are a u64 bitmap"
    );
    assert!(INNER_CAP <= 1024);
    assert!(
        (LEAF_CAP as u64) * ((MAX_KEY_LEN + BIG_VALUE) as u64) < u32::MAX as u64,
        "a leaf's buffer fits u32 offsets"
    );
    assert!((INNER_CAP as u64) * (MAX_KEY_LEN as u64) < u32::MAX as u64);
};

/// Bytes of one cache line.
const LINE: usize = 64;
/// Most bytes of a child's buffer that its parent's hint asks for: all
/// that a search of a full inner node reads (its children's 768 bytes,
/// then its heads' 384).
const HINT_BYTES: usize = 1280;
/// Where a hint's line count starts; the bits below hold the address.
const HINT_LINES_AT: u32 = 56;

/// A prefetch hint ([`Hint`]): where a buffer was, and how many of its cache lines
/// (up to [`HINT_BYTES`]) a reader should ask for, in one `u64` (the top
/// byte counts the lines). Such a hint is never dereferenced, only
/// prefetched (which never faults and has no effect a program can
/// observe), so a stale one costs time, never correctness (a leaf of
/// records has a descriptor instead, see [`Hint`]).
#[inline]
pub(crate) fn hint_of(addr: usize, bytes: usize) -> Hint {
    let bytes = bytes.min(HINT_BYTES);
    if bytes == 0 {
        return 0;
    }
    (addr as u64 & ((1 << HINT_LINES_AT) - 1)) | ((lines_of(addr, bytes) as u64) << HINT_LINES_AT)
}

/// The cache lines that `bytes` bytes from `addr` touch.
#[inline(always)]
fn lines_of(addr: usize, bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (addr + bytes - 1) / LINE - addr / LINE + 1
    }
}

/// Asks for the lines a hint (or a descriptor) names.
#[inline(always)]
pub(crate) fn prefetch_hint(h: Hint) {
    let (lines, base) = if h & crate::fixed::DESCRIPTOR != 0 {
        let (addr, bytes) = crate::fixed::View::described_bytes(h);
        (lines_of(addr, bytes), addr & !(LINE - 1))
    } else {
        (
            (h >> HINT_LINES_AT) as usize,
            (h & ((1 << HINT_LINES_AT) - 1)) as usize & !(LINE - 1),
        )
    };
    let p = core::ptr::without_provenance::<u8>(base);
    let ask = |l: usize| ordex_core::sync::prefetch(p.wrapping_add(l * LINE));
    // Whole groups of four lines (up to three more than the hint names,
    // at most 16), straight-line: a loop of one line a round spent two
    // instructions of loop on each prefetch.
    let groups = lines.div_ceil(4);
    if groups >= 1 {
        ask(0);
        ask(1);
        ask(2);
        ask(3);
    }
    if groups >= 2 {
        ask(4);
        ask(5);
        ask(6);
        ask(7);
    }
    if groups >= 3 {
        ask(8);
        ask(9);
        ask(10);
        ask(11);
    }
    if groups >= 4 {
        ask(12);
        ask(13);
        ask(14);
        ask(15);
    }
    if groups >= 5 {
        ask(16);
        ask(17);
        ask(18);
        ask(19);
    }
}

/// Asks for `node`'s allocation and the buffer `hint` names (a hint once
/// taken from it: a stale one costs time only, see [`hint_of`]).
#[inline(always)]
pub(crate) fn prefetch_node(node: &Shared<Node>, hint: Hint) {
    let p = Shared::as_ptr(node).cast::<u8>();
    ordex_core::sync::prefetch(p);
    ordex_core::sync::prefetch(p.wrapping_add(LINE));
    prefetch_hint(hint);
}

/// Sets the hint a descent holds for the node it is in (none: the node
/// is a root) to `hint`, once the descent is done changing the node.
#[inline]
pub(crate) fn set_hint(slot: Option<&mut Hint>, hint: Hint) {
    if let Some(h) = slot {
        *h = hint;
    }
}

/// A node: a leaf or an inner node (see the [module docs](self)).
#[derive(Clone)]
pub(crate) enum Node {
    Leaf(Leaf),
    Inner(Inner),
}

/// A leaf's entries: as records of 16 or 24 bytes when every key has
/// one length of at most 16 bytes and every value one length of at most
/// 8 ([`Fixed`]: u64 keys and values, ids, composite keys), else packed
/// ([`Packed`]). A leaf
/// starts as records and becomes packed when an entry that does not fit
/// them goes in (it stays packed: a later removal does not convert it
/// back); a bulk load or a split makes whichever fits.
#[derive(Clone)]
pub(crate) enum Leaf {
    Fixed(Fixed),
    Packed(Packed),
}

/// Entries, keys and values packed together; values longer than
/// [`BIG_VALUE`] live out of line, each in an `Arc<[u8]>` shared by every
/// copy of the leaf, so a write copies a leaf in time proportional to its
/// entries and short values, never to its big values.
#[derive(Clone)]
pub(crate) struct Packed {
    /// `key0, value0, key1, value1, …`; an out-of-line value is empty here.
    kv: Strings<{ 2 * LEAF_CAP }, 2>,
    /// Bit `i`: value `i` is out of line.
    outline: u64,
    /// The out-of-line values, in entry order.
    big: Vec<Arc<[u8]>>,
}

/// Bits `0..i` set.
#[inline]
fn below(i: usize) -> u64 {
    if i >= 64 {
        u64::MAX
    } else {
        (1u64 << i) - 1
    }
}

impl Packed {
    pub(crate) fn new() -> Self {
        Packed {
            kv: Strings::new(),
            outline: 0,
            big: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.kv.len() / 2
    }

    #[inline]
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        self.kv.get(2 * i)
    }

    /// Where value `i` is among the out-of-line ones (if it is one).
    #[inline]
    fn rank(&self, i: usize) -> usize {
        (self.outline & below(i)).count_ones() as usize
    }

    #[inline]
    fn is_big(&self, i: usize) -> bool {
        self.outline & (1u64 << i) != 0
    }

    #[inline]
    pub(crate) fn value(&self, i: usize) -> &[u8] {
        if self.is_big(i) {
            &self.big[self.rank(i)]
        } else {
            self.kv.get(2 * i + 1)
        }
    }

    /// Entries `i..`, in order, as (key, value).
    #[inline]
    pub(crate) fn entries_from(&self, i: usize) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let mut strings = self.kv.iter_from(2 * i);
        let mut j = i;
        core::iter::from_fn(move || {
            let k = strings.next()?;
            let v = strings.next()?;
            let v = if self.is_big(j) {
                &self.big[self.rank(j)][..]
            } else {
                v
            };
            j += 1;
            Some((k, v))
        })
    }

    /// The value of `key`, if it is here (a point read: see
    /// `Strings::find_with_next`).
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let (i, v) = self.kv.find_with_next(key)?;
        Some(if self.is_big(i) {
            &self.big[self.rank(i)]
        } else {
            v
        })
    }

    /// The index of `key`, or where it would go.
    #[inline]
    pub(crate) fn search(&self, key: &[u8]) -> Result<usize, usize> {
        self.kv.find(key)
    }

    /// A hint for the leaf's buffer (see [`Child`]): all of it (up to
    /// [`HINT_BYTES`]), as a point read's search reads the heads, then the
    /// ends of the entry it found, then its key and value bytes, each
    /// load waiting for the one before when they are not on their way.
    #[inline]
    pub(crate) fn hint(&self) -> Hint {
        let (addr, bytes) = self.kv.buffer();
        hint_of(addr, bytes)
    }

    pub(crate) fn insert(&mut self, i: usize, key: &[u8], value: &[u8]) {
        debug_assert!(i <= self.len() && self.len() < LEAF_CAP);
        // Make room for bit `i`.
        let low = self.outline & below(i);
        self.outline = low | ((self.outline & !below(i)) << 1);
        if value.len() > BIG_VALUE {
            self.kv.insert_pair(i, key, &[]);
            self.big.insert(self.rank(i), Arc::from(value));
            self.outline |= 1u64 << i;
        } else {
            self.kv.insert_pair(i, key, value);
        }
    }

    pub(crate) fn remove(&mut self, i: usize) {
        if self.is_big(i) {
            self.big.remove(self.rank(i));
        }
        let low = self.outline & below(i);
        self.outline = low | ((self.outline & !below(i + 1)) >> 1);
        self.kv.remove_pair(i);
    }

    /// A leaf of `entries` (at most [`LEAF_CAP`], keys ascending), its
    /// buffer made in one allocation of exactly its size when no value is
    /// big (the bulk load's path).
    pub(crate) fn from_entries<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Packed {
        if entries.iter().any(|(_, v)| v.as_ref().len() > BIG_VALUE) {
            let mut leaf = Packed::new();
            for (k, v) in entries {
                leaf.push(k.as_ref(), v.as_ref());
            }
            return leaf;
        }
        Packed {
            kv: Strings::from_indexed(2 * entries.len(), |i| {
                let (k, v) = &entries[i / 2];
                if i % 2 == 0 {
                    k.as_ref()
                } else {
                    v.as_ref()
                }
            }),
            outline: 0,
            big: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        self.insert(self.len(), key, value);
    }

    /// Replaces value `i`.
    pub(crate) fn set_value(&mut self, i: usize, value: &[u8]) {
        let r = self.rank(i);
        match (self.is_big(i), value.len() > BIG_VALUE) {
            (false, false) => self.kv.replace(2 * i + 1, value),
            (true, true) => self.big[r] = Arc::from(value),
            (false, true) => {
                self.kv.replace(2 * i + 1, &[]);
                self.big.insert(r, Arc::from(value));
                self.outline |= 1u64 << i;
            }
            (true, false) => {
                self.big.remove(r);
                self.outline &= !(1u64 << i);
                self.kv.replace(2 * i + 1, value);
            }
        }
    }

    /// Moves entries `at..` into a new leaf.
    pub(crate) fn split_off(&mut self, at: usize) -> Packed {
        let r = self.rank(at);
        let right = Packed {
            kv: self.kv.split_off(2 * at),
            outline: if at >= 64 { 0 } else { self.outline >> at },
            big: self.big.split_off(r),
        };
        self.outline &= below(at);
        right
    }

    /// Appends every entry of `other` (whose keys are all greater).
    pub(crate) fn append(&mut self, other: &Packed) {
        let n = self.len();
        debug_assert!(n + other.len() <= LEAF_CAP);
        self.kv.extend_from(&other.kv, 0, other.kv.len());
        if other.outline != 0 {
            self.outline |= other.outline << n;
            self.big.extend(other.big.iter().cloned());
        }
    }

    /// Checks the out-of-line bookkeeping (for the structure check).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.outline.count_ones() as usize != self.big.len()
            || self.outline & !below(self.len()) != 0
        {
            return Err("leaf: out-of-line bitmap and values disagree".into());
        }
        if !self.kv.heads_agree() {
            return Err("leaf: heads and keys disagree".into());
        }
        for i in 0..self.len() {
            if self.is_big(i) != (self.value(i).len() > BIG_VALUE)
                || (self.is_big(i) && !self.kv.get(2 * i + 1).is_empty())
            {
                return Err(format!("leaf: value {i} stored on the wrong side"));
            }
        }
        Ok(())
    }

    /// The out-of-line values.
    pub(crate) fn big_values(&self) -> &[Arc<[u8]>] {
        &self.big
    }

    /// Heap bytes of the leaf's buffers (not of its out-of-line values,
    /// which copies of the leaf share).
    fn buffer_bytes(&self) -> usize {
        self.kv.heap_bytes() + self.big.capacity() * core::mem::size_of::<Arc<[u8]>>()
    }
}

// A node's header is its count, its birth and this (see `heap_bytes`):
// leaves of records took no byte from it.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<Node>() == 64);

/// Either of two iterators of one item type.
enum Either<A, B> {
    A(A),
    B(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        match self {
            Either::A(a) => a.next(),
            Either::B(b) => b.next(),
        }
    }
}

impl Leaf {
    /// No entries (as records: see [`Leaf`]).
    pub(crate) fn new() -> Self {
        Leaf::Fixed(Fixed::new())
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Leaf::Fixed(f) => f.len(),
            Leaf::Packed(p) => p.len(),
        }
    }

    #[inline]
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        match self {
            Leaf::Fixed(f) => f.key(i),
            Leaf::Packed(p) => p.key(i),
        }
    }

    #[inline]
    pub(crate) fn value(&self, i: usize) -> &[u8] {
        match self {
            Leaf::Fixed(f) => f.value(i),
            Leaf::Packed(p) => p.value(i),
        }
    }

    /// Entries `i..`, in order, as (key, value).
    #[inline]
    pub(crate) fn entries_from(&self, i: usize) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        match self {
            Leaf::Fixed(f) => Either::A((i..f.len()).map(move |j| (f.key(j), f.value(j)))),
            Leaf::Packed(p) => Either::B(p.entries_from(i)),
        }
    }

    /// The value of `key`, if it is here (a point read).
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        match self {
            Leaf::Fixed(f) => f.get(key),
            Leaf::Packed(p) => p.get(key),
        }
    }

    /// The index of `key`, or where it would go.
    #[inline]
    pub(crate) fn search(&self, key: &[u8]) -> Result<usize, usize> {
        match self {
            Leaf::Fixed(f) => f.search(key),
            Leaf::Packed(p) => p.search(key),
        }
    }

    /// A hint for the leaf's buffer (see [`Child`]): all of it (up to
    /// [`HINT_BYTES`]; records: 512 bytes for a full leaf).
    #[inline]
    pub(crate) fn hint(&self) -> Hint {
        match self {
            Leaf::Fixed(f) => f.descriptor().unwrap_or_else(|| {
                let (addr, bytes) = f.buffer();
                hint_of(addr, bytes)
            }),
            Leaf::Packed(p) => p.hint(),
        }
    }

    /// The packed form of this leaf (made from its records if it has
    /// them: out of line, as an entry that does not fit records is rare).
    #[cold]
    #[inline(never)]
    fn packed(&mut self) -> &mut Packed {
        if let Leaf::Fixed(f) = self {
            let packed = {
                let entries: smallvec::SmallVec<[(&[u8], &[u8]); LEAF_CAP]> =
                    (0..f.len()).map(|i| (f.key(i), f.value(i))).collect();
                Packed::from_entries(&entries)
            };
            *self = Leaf::Packed(packed);
        }
        match self {
            Leaf::Packed(p) => p,
            Leaf::Fixed(_) => unreachable!("made packed above"),
        }
    }

    pub(crate) fn insert(&mut self, i: usize, key: &[u8], value: &[u8]) {
        debug_assert!(i <= self.len() && self.len() < LEAF_CAP);
        match self {
            Leaf::Packed(p) => p.insert(i, key, value),
            Leaf::Fixed(f) if f.fits(key, value) => f.insert(i, key, value),
            Leaf::Fixed(_) => self.packed().insert(i, key, value),
        }
    }

    pub(crate) fn remove(&mut self, i: usize) {
        match self {
            Leaf::Fixed(f) => f.remove(i),
            Leaf::Packed(p) => p.remove(i),
        }
    }

    /// A leaf of `entries` (at most [`LEAF_CAP`], keys ascending), its
    /// buffer made in one allocation of exactly its size when no value is
    /// big (the bulk load's path).
    pub(crate) fn from_entries<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Leaf {
        if Fixed::all_fit(entries) {
            Leaf::Fixed(Fixed::from_entries(entries))
        } else {
            Leaf::Packed(Packed::from_entries(entries))
        }
    }

    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        self.insert(self.len(), key, value);
    }

    /// Replaces value `i`.
    pub(crate) fn set_value(&mut self, i: usize, value: &[u8]) {
        match self {
            Leaf::Packed(p) => p.set_value(i, value),
            Leaf::Fixed(f) if f.fits(f.key(i), value) => f.set_value(i, value),
            Leaf::Fixed(_) => self.packed().set_value(i, value),
        }
    }

    /// Moves entries `at..` into a new leaf.
    pub(crate) fn split_off(&mut self, at: usize) -> Leaf {
        match self {
            Leaf::Fixed(f) => Leaf::Fixed(f.split_off(at)),
            Leaf::Packed(p) => Leaf::Packed(p.split_off(at)),
        }
    }

    /// Appends every entry of `other` (whose keys are all greater).
    pub(crate) fn append(&mut self, other: &Leaf) {
        match (&mut *self, other) {
            (Leaf::Fixed(f), Leaf::Fixed(g)) if f.can_append(g) => f.append(g),
            (_, Leaf::Packed(g)) => self.packed().append(g),
            (_, Leaf::Fixed(g)) => {
                let mut g = Leaf::Fixed(g.clone());
                let g = g.packed();
                self.packed().append(g);
            }
        }
    }

    /// Checks the leaf's own bookkeeping (for the structure check).
    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            Leaf::Fixed(f) => f.check(),
            Leaf::Packed(p) => p.check(),
        }
    }

    /// The out-of-line values.
    pub(crate) fn big_values(&self) -> &[Arc<[u8]>] {
        match self {
            Leaf::Fixed(_) => &[],
            Leaf::Packed(p) => p.big_values(),
        }
    }

    /// Heap bytes of the leaf's buffers (not of its out-of-line values,
    /// which copies of the leaf share).
    fn buffer_bytes(&self) -> usize {
        match self {
            Leaf::Fixed(f) => f.heap_bytes(),
            Leaf::Packed(p) => p.buffer_bytes(),
        }
    }
}

impl Node {
    /// A hint for the node's buffer as it is now (see [`Child`]).
    #[inline]
    pub(crate) fn hint(&self) -> Hint {
        match self {
            Node::Leaf(l) => l.hint(),
            Node::Inner(i) => i.hint(),
        }
    }

    /// Entries of a leaf, children of an inner node.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        match self {
            Node::Leaf(l) => l.len(),
            Node::Inner(i) => i.len(),
        }
    }

    /// Entries in this subtree.
    #[inline]
    pub(crate) fn entries(&self) -> usize {
        match self {
            Node::Leaf(l) => l.len(),
            Node::Inner(i) => i.entries,
        }
    }

    /// Whether it holds fewer entries (a leaf) or children (an inner
    /// node) than a node other than the root may.
    #[inline]
    pub(crate) fn is_underfull(&self) -> bool {
        match self {
            Node::Leaf(l) => l.len() < LEAF_MIN,
            Node::Inner(i) => i.len() < INNER_MIN,
        }
    }

    /// Whether one more entry or child would overflow it.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        match self {
            Node::Leaf(l) => l.len() >= LEAF_CAP,
            Node::Inner(i) => i.len() >= INNER_CAP,
        }
    }

    /// Whether one entry or child fewer would underflow it.
    #[inline]
    pub(crate) fn is_minimal(&self) -> bool {
        match self {
            Node::Leaf(l) => l.len() <= LEAF_MIN,
            Node::Inner(i) => i.len() <= INNER_MIN,
        }
    }

    /// The heap bytes of this node alone: its allocation (with the `Arc`
    /// counts) and its buffers, not the out-of-line values it shares.
    pub(crate) fn heap_bytes(&self) -> usize {
        let own = 2 * core::mem::size_of::<usize>() + core::mem::size_of::<Node>();
        own + match self {
            Node::Leaf(l) => l.buffer_bytes(),
            Node::Inner(i) => i.buffer_bytes(),
        }
    }

    /// The smallest key under this node (it must not be empty).
    pub(crate) fn first_key(&self) -> &[u8] {
        let mut node = self;
        loop {
            match node {
                Node::Leaf(l) => return l.key(0),
                Node::Inner(i) => node = &i.children()[0],
            }
        }
    }

    /// The greatest key under this node (it must not be empty).
    pub(crate) fn last_key(&self) -> &[u8] {
        let mut node = self;
        loop {
            match node {
                Node::Leaf(l) => return l.key(l.len() - 1),
                Node::Inner(i) => node = &i.children()[i.len() - 1],
            }
        }
    }
}

impl Owns for Node {
    /// An inner node's copy takes over its children (same nodes, same
    /// hints, no counts changed); a leaf holds no nodes and is cloned.
    unsafe fn take_over(&self) -> Option<Node> {
        let Node::Inner(inner) = self else {
            return None;
        };
        // SAFETY: the caller's contract, which is `Inner::take_over`'s.
        Some(Node::Inner(unsafe { inner.take_over() }))
    }

    fn forget_references(&mut self) {
        if let Node::Inner(inner) = self {
            inner.forget_children();
        }
    }

    /// (Each child's hint is refreshed after `f`, which may replace the
    /// child.)
    fn for_each_reference(&mut self, f: &mut dyn FnMut(&mut Shared<Node>)) {
        if let Node::Inner(inner) = self {
            for c in inner.children_mut() {
                f(&mut c.node);
                c.refresh();
            }
        }
    }
}

impl Drop for Node {
    /// Frees the subtrees this node holds alone without recursion: each
    /// child whose last reference this is gives up its children (the
    /// inner node, taken whole) to a stack of nodes still to go through
    /// before it is dropped, so every drop below this one finds no
    /// children (depth 1 whatever the tree's height). Children still
    /// shared lose one reference each.
    fn drop(&mut self) {
        let Node::Inner(inner) = self else { return };
        if inner.len() == 0 {
            return;
        }
        let mut stack: Vec<Inner> = vec![inner.take()];
        while let Some(mut current) = stack.pop() {
            while let Some(child) = current.pop_child() {
                // A node freed here is dropped at the end of this
                // statement, its children taken first.
                if let Some(Node::Inner(i)) = Shared::into_inner(child.node).as_mut() {
                    stack.push(i.take());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(leaf: &Leaf) -> Vec<(Vec<u8>, Vec<u8>)> {
        leaf.entries_from(0)
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }

    /// Appends between leaves of records of different lengths and packed
    /// leaves keep every entry in order, in the kind that holds them.
    #[test]
    fn appends_across_kinds_keep_the_entries() {
        // Half a leaf each (LEAF_CAP is 4 with small nodes).
        let h = LEAF_CAP / 2;
        let short: Vec<([u8; 4], [u8; 8])> =
            (0..h as u32).map(|i| (i.to_be_bytes(), [1; 8])).collect();
        let long: Vec<([u8; 8], [u8; 2])> = (1..=h as u64)
            .map(|i| ((i << 40).to_be_bytes(), [2; 2]))
            .collect();
        let words: Vec<(Vec<u8>, Vec<u8>)> = (0..h as u8)
            .map(|i| (vec![0xF0, i, i], vec![i; usize::from(i)]))
            .collect();
        let fixed = |e: &[([u8; 4], [u8; 8])]| Leaf::from_entries(e);
        let mut want: Vec<(Vec<u8>, Vec<u8>)> = short
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        let mut leaf = fixed(&short);
        assert!(matches!(leaf, Leaf::Fixed(_)));
        let other = Leaf::from_entries(&long);
        assert!(matches!(other, Leaf::Fixed(_)));
        leaf.append(&other);
        want.extend(long.iter().map(|(k, v)| (k.to_vec(), v.to_vec())));
        assert!(matches!(leaf, Leaf::Packed(_)));
        assert_eq!(entries(&leaf), want);
        leaf.check().unwrap();
        let packed = Leaf::from_entries(&words);
        assert!(matches!(packed, Leaf::Packed(_)));
        let mut front = fixed(&short[..1]);
        front.append(&packed);
        let mut w: Vec<(Vec<u8>, Vec<u8>)> = short[..1]
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        w.extend(words.iter().cloned());
        assert_eq!(entries(&front), w);
        // Two leaves of records of one kind stay records.
        let mut a = fixed(&short[..1]);
        a.append(&fixed(&short[1..]));
        assert!(matches!(a, Leaf::Fixed(_)));
        assert_eq!(entries(&a), want[..h]);
        // A packed leaf takes records in.
        let mut p = Leaf::from_entries(&words[..2]);
        debug_assert!(h >= 2);
        assert!(matches!(p, Leaf::Packed(_)));
        let mut tail = Leaf::new();
        tail.push(&[0xF1], &[9; 8]);
        p.append(&tail);
        assert_eq!(entries(&p).last().unwrap(), &(vec![0xF1], vec![9; 8]));
        p.check().unwrap();
    }
}
