//! Inner nodes: Node4, Node16, Node32, Node48 and Node256, and runs (up to
//! [`RUN`] entries in key order at the bottom of the tree), their layouts, the
//! racy-but-atomic reads optimistic readers make of them, the writes made
//! under their latch, and allocating and freeing them.
//!
//! Every field a reader may read while a writer changes it is an atomic
//! (loads and stores `Relaxed`; the [`VersionLock`] orders them), so a
//! racing read sees some old or new value, never undefined behaviour;
//! counts and indexes read that way are clamped to the node's capacity
//! before use, and the reader validates the version before it acts on what
//! it read. Writers hold the node's latch, so no field needs `&mut`.
//!
//! A slot holds a [`Word`]: empty, a node (untagged, with a hint of its
//! size in bit 2, see [`Word::prefetch_node`]), a leaf (tagged), an inline
//! entry (tagged: a short key tail and a value of at most 8 bytes, in the
//! slot's value word), or, in a run, a packed entry (tagged: a record of
//! its whole key and value in the run's area, see [`Packed`]), so small
//! entries cost no allocation of their own.
//! Module invariants:
//! 1. A node is freed only through the epoch after it was unlinked (made
//!    unreachable from every live node), or when the tree drops.
//! 2. A node is initialised before a Release publishes it (a latch unlock
//!    after the slot store), and its kind never changes.
//! 3. Once obsolete (replaced by a copy, or merged away) a node's slots
//!    never change, and everything they point to stayed reachable from
//!    the copy; so any word loaded from a node reached under a pinned
//!    guard names an object that stays allocated while the guard lives
//!    (a packed entry's record lives in its run's area, which a run
//!    replaces only through the epoch and hands over whole to its copy).
//!    In a [Node256 of values](Kind::V256) a word and an inline value
//!    share a slot, told apart by a bit: there, a word is one only once
//!    the node's version has been validated after the load (or when it
//!    was loaded under the latch).
//! 4. A run's area is append-only: a record's bytes are written once,
//!    before any store of a word naming it (a Release fence between), and
//!    never changed while the area is allocated.

use crate::leaf::{Leaf, LeafRef};
use crate::search::{find_sorted, key_at_n, rank_sorted, with_key_n};
use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use crossbeam_epoch::Guard;
use ordex_core::olc::VersionLock;
use ordex_core::sync::{fence, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

const R: Ordering = Ordering::Relaxed;

/// The four node kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    N4 = 0,
    N16 = 1,
    N32 = 2,
    N48 = 3,
    N256 = 4,
    /// Up to 4 entries (leaves or inline entries, never nodes) in key
    /// order, each under its tail: its key after the node's path.
    Run4 = 5,
    /// Up to 16 entries, as a `Run4`.
    Run16 = 6,
    /// Up to 32 entries, as a `Run4`.
    Run32 = 7,
    /// Up to [`RUN`] entries, as a `Run4`.
    Run64 = 8,
    /// A Node256 of 8-byte slots: each holds a node, a leaf, or the value
    /// of an inline entry whose key ends at the slot's byte (a bit per
    /// slot tells which), all such values as long as the node's
    /// [`value length`](NodeRef::values_len). What the bottom level of
    /// dense integer keys is made of: half a Node256's bytes.
    V256 = 9,
}

impl Kind {
    /// How many children it holds.
    pub(crate) fn capacity(self) -> usize {
        match self {
            Kind::N4 => 4,
            Kind::N16 => 16,
            Kind::N32 => 32,
            Kind::N48 => 48,
            Kind::N256 | Kind::V256 => 256,
            Kind::Run4 => 4,
            Kind::Run16 => 16,
            Kind::Run32 => 32,
            Kind::Run64 => RUN,
        }
    }

    /// Its size in bytes.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Kind::N4 => core::mem::size_of::<N4>(),
            Kind::N16 => core::mem::size_of::<N16>(),
            Kind::N32 => core::mem::size_of::<N32>(),
            Kind::N48 => core::mem::size_of::<N48>(),
            Kind::N256 => core::mem::size_of::<N256>(),
            Kind::Run4 => core::mem::size_of::<Run4>(),
            Kind::Run16 => core::mem::size_of::<Run16>(),
            Kind::Run32 => core::mem::size_of::<Run32>(),
            Kind::Run64 => core::mem::size_of::<Run64>(),
            Kind::V256 => core::mem::size_of::<V256>(),
        }
    }

    /// The next larger kind.
    fn grown(self) -> Kind {
        match self {
            Kind::N4 => Kind::N16,
            Kind::N16 => Kind::N32,
            Kind::N32 => Kind::N48,
            Kind::N48 | Kind::N256 => Kind::N256,
            Kind::V256 => Kind::V256,
            Kind::Run4 => Kind::Run16,
            Kind::Run16 => Kind::Run32,
            Kind::Run32 | Kind::Run64 => Kind::Run64,
        }
    }

    /// The kind a node of this kind shrinks to once it holds at most this
    /// many children (with hysteresis against growing straight back).
    fn shrink_at(self) -> Option<(usize, Kind)> {
        match self {
            Kind::N4 => None,
            Kind::N16 => Some((3, Kind::N4)),
            Kind::N32 => Some((12, Kind::N16)),
            Kind::N48 => Some((24, Kind::N32)),
            Kind::N256 | Kind::V256 => Some((40, Kind::N48)),
            Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => None,
        }
    }

    /// Every kind, in the order of their tags.
    pub(crate) const ALL_KINDS: [Kind; 10] = [
        Kind::N4,
        Kind::N16,
        Kind::N32,
        Kind::N48,
        Kind::N256,
        Kind::Run4,
        Kind::Run16,
        Kind::Run32,
        Kind::Run64,
        Kind::V256,
    ];

    /// The smallest run that holds `n` entries (at most [`RUN`]).
    pub(crate) fn for_entries(n: usize) -> Kind {
        if n <= 4 {
            Kind::Run4
        } else if n <= 16 {
            Kind::Run16
        } else if n <= 32 {
            Kind::Run32
        } else {
            Kind::Run64
        }
    }

    /// Every kind that holds children by byte, for the tests.
    #[cfg(test)]
    pub(crate) const ALL: [Kind; 6] = [
        Kind::N4,
        Kind::N16,
        Kind::N32,
        Kind::N48,
        Kind::N256,
        Kind::V256,
    ];

    /// The smallest kind that holds `n` children by byte.
    pub(crate) fn for_children(n: usize) -> Kind {
        match n {
            0..=4 => Kind::N4,
            5..=16 => Kind::N16,
            17..=32 => Kind::N32,
            33..=48 => Kind::N48,
            _ => Kind::N256,
        }
    }
}

/// Prefix bytes stored in the node; a longer compressed path keeps only
/// its length beyond these, and searches check its other bytes at the
/// leaf (hybrid path compression). 16: ids and composite keys behind a
/// fixed table prefix share more than 8.
pub(crate) const STORED: usize = 16;

/// A node's stored path bytes, byte `i` in bits `8 (i % 8)..` of word
/// `i / 8`.
pub(crate) type Prefix = [u64; 2];

/// What every node starts with.
#[repr(C)]
pub(crate) struct Header {
    lock: VersionLock,
    /// The leaf of the key that ends at this node (its length is the
    /// node's depth plus its prefix), sorting before every child.
    end: AtomicUsize,
    /// The first `min(plen, STORED)` prefix bytes (see [`Prefix`]).
    prefix: [AtomicU64; 2],
    plen: AtomicU32,
    count: AtomicU16,
    kind: u8,
    /// A [`Kind::V256`]'s inline values' length (fixed when it is made).
    vlen: u8,
}

#[repr(C)]
struct N4 {
    h: Header,
    keys: AtomicU32,
    slots: [Slot; 4],
}

/// Node16 and Node32: up to `C` children, their bytes sorted and packed
/// into `W` words (searched 16 at a time).
#[repr(C)]
struct Sorted<const W: usize, const C: usize> {
    h: Header,
    keys: [AtomicU64; W],
    slots: [Slot; C],
}

type N16 = Sorted<2, 16>;
type N32 = Sorted<4, 32>;

#[repr(C)]
struct N48 {
    h: Header,
    /// Per byte: 0, or the child's slot plus one.
    index: [AtomicU8; 256],
    slots: [Slot; 48],
}

#[repr(C)]
struct N256 {
    h: Header,
    slots: [Slot; 256],
}

/// A Node256 of values ([`Kind::V256`]). Slot `b` holds an inline entry's
/// value if bit `b % 64` of `inline[b / 64]` is set, else a [`Word`]
/// (empty, a node or a leaf; never an inline word). A racing reader may
/// pair a slot with a stale bit, and so read a value as a word: what it
/// loads from this node it uses only after validating the node's version
/// (as every reader does before it follows a word).
#[repr(C)]
struct V256 {
    h: Header,
    inline: [AtomicU64; 4],
    slots: [AtomicU64; 256],
}

/// Lines of a small node that a descent asks for at once (see
/// [`Word::prefetch_node`]): 640 bytes, all of a Node32 however it sits
/// on its lines. Ten against five measured words' gets at 1M keys 1.075
/// [1.055–1.170] faster and the other shapes the same.
pub(crate) const AHEAD_LINES: usize = 10;

/// Entries of the largest run.
pub(crate) const RUN: usize = 64;

/// How far ahead of a forward walk through a run its slots' leaves are
/// asked for (the entry being read included).
const AHEAD: usize = 8;

/// A run: entries in key order, entry `i` under its tail (its key after
/// the node's depth and path, never empty: the key that ends at the node
/// is its end leaf). `heads[i]` is the tail's first [`HEAD`] bytes,
/// big-endian, zero-padded ([`head_of`]): heads order as tails do but for
/// ties, which a comparison of whole tails settles. A slot holds a leaf,
/// or an inline entry whose suffix is the rest of the tail after its
/// head (so a run's inline entries hold tails of up to
/// [`RUN_INLINE_TAIL`] bytes, a slot's of up to 6 after its byte).
#[repr(C)]
struct Run<const C: usize> {
    h: Header,
    a: RunArea,
    heads: [AtomicU32; C],
    slots: [Slot; C],
}

/// A run's hold on its [`Area`]: the area (0: none yet), how many of its
/// bytes records took, and how many of those belong to records no entry
/// names any more (overwritten or removed). Only the run's writers, under
/// the latch, read or change them (readers reach records through the
/// words that name them; `stats` reads them as a racy estimate); a writer
/// replaces the area by a larger one when a record does not fit.
#[repr(C)]
struct RunArea {
    area: AtomicUsize,
    used: AtomicU32,
    dead: AtomicU32,
}

impl<const C: usize> Run<C> {
    /// A new, empty run with header `h` and area `area` (0: none), on the
    /// heap (for [`new_run`]).
    fn boxed(h: Header, area: usize) -> *mut Header {
        Box::into_raw(Box::new(Run::<C> {
            h,
            a: RunArea {
                area: AtomicUsize::new(area),
                used: AtomicU32::new(0),
                dead: AtomicU32::new(0),
            },
            heads: core::array::from_fn(|_| AtomicU32::new(0)),
            slots: slots(),
        }))
        .cast()
    }

    /// Frees run `p` and its area; returns their size.
    ///
    /// # Safety
    /// `p` came from [`Run::boxed`] for `C`, is unreachable, and is freed
    /// once.
    unsafe fn free(p: *mut u8) -> usize {
        // SAFETY: the caller's contract; the run owns its current area
        // (one it replaced was retired on its own).
        unsafe {
            let run = Box::from_raw(p.cast::<Run<C>>());
            let area = run.a.area.load(R);
            drop(run);
            let freed = if area == 0 {
                0
            } else {
                free_area(area as *mut u8)
            };
            core::mem::size_of::<Run<C>>() + freed
        }
    }
}

/// A run's area: where its packed entries' records live, an allocation
/// of its own (so that a run whose area is full gets a larger one in
/// place, under its own latch, without a copy of the run that would take
/// its parent's latch too, and so that a larger run copied from it takes
/// it over without copying the records). Its header holds its capacity
/// (immutable); the run counts what it holds ([`RunArea`]). Records are
/// appended and never changed (module invariant 4); a larger area
/// compacts them.
#[repr(C)]
struct Area {
    cap: u32,
}

/// Bytes of an [`Area`]'s header (the records follow it, 8-aligned).
const AREA_HDR: usize = 8;

/// The layout of an area of `cap` record bytes.
fn area_layout(cap: usize) -> Layout {
    Layout::from_size_align(AREA_HDR + cap, 8).expect("an area's layout")
}

/// A new, empty area of `cap` record bytes (at least 8); returns its
/// address and its size in bytes.
fn new_area(cap: usize) -> (usize, usize) {
    let cap = cap.max(8).next_multiple_of(8);
    let layout = area_layout(cap);
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: a fresh allocation of `layout`, which starts with an `Area`
    // (8-aligned, within `AREA_HDR` bytes).
    unsafe { p.cast::<Area>().write(Area { cap: cap as u32 }) };
    (p as usize, layout.size())
}

/// Frees an area made by [`new_area`]; returns its size. The function
/// `retire` takes for an area a run replaced.
///
/// # Safety
/// `p` came from [`new_area`], is no run's any more, no reader can reach a
/// record in it (retired through the epoch after its run replaced it, or
/// freed with its run), and is freed once.
pub(crate) unsafe fn free_area(p: *mut u8) -> usize {
    // SAFETY: a live area (the caller's contract), whose capacity is
    // immutable; freed with the layout it was allocated with.
    unsafe {
        let layout = area_layout((*p.cast::<Area>()).cap as usize);
        std::alloc::dealloc(p, layout);
        layout.size()
    }
}

/// A run entry's head: the first bytes of its tail.
pub(crate) type Head = u32;
/// Bytes of a [`Head`]: 4 keep a run of 4 entries as small as a Node4
/// nearly (120 bytes against 112), where 8 took 136.
pub(crate) const HEAD: usize = 4;

type Run4 = Run<4>;
type Run16 = Run<16>;
type Run32 = Run<32>;
type Run64 = Run<RUN>;

/// The head of a run entry's tail: its first [`HEAD`] bytes, big-endian,
/// zero-padded.
#[inline]
pub(crate) fn head_of(tail: &[u8]) -> Head {
    // Loads of the tail, not a copy into an array (`ordex_core::head`).
    ordex_core::head::head_u32(tail)
}

/// A child slot: its word and, beside it (one cache line for both), the
/// value word of an inline entry (in a run, of a leaf: its tail's tie
/// word, see [`tie_of`]).
#[repr(C)]
struct Slot {
    word: AtomicUsize,
    value: AtomicU64,
}

/// A slot's word: empty, a node, a leaf (tag `01`), an inline entry
/// (tag `10`: the key's last bytes and the value's length, with the value
/// in the slot's value word), or, in a run, a packed entry (tag `11`: the
/// address of its record in the run's area, see [`Packed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(usize);

/// The longest key tail an inline entry holds.
pub(crate) const INLINE_SUFFIX: usize = 6;
/// The longest value an inline entry holds.
pub(crate) const INLINE_VALUE: usize = 8;
/// The longest tail an inline entry of a run holds: its first [`HEAD`]
/// bytes are the run's head for it, the rest the entry's suffix.
pub(crate) const RUN_INLINE_TAIL: usize = HEAD + INLINE_SUFFIX;

const TAG: usize = 0b11;
const TAG_LEAF: usize = 0b01;
const TAG_INLINE: usize = 0b10;
const TAG_PACKED: usize = 0b11;
/// In a node's word (tag 0), set for a node of many children (a Node48,
/// a Node256 or a Node256 of values): how many of its lines a descent
/// asks for before reading it (see [`Word::prefetch_node`]). Nodes are
/// 8-byte aligned, so the bit is free; [`Entry::get`] clears it.
const BIG: usize = 0b100;

/// A slot: its word and, for an inline entry, its value word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) word: Word,
    pub(crate) value: u64,
}

/// An inline entry: a key whose bytes above the slot are those of the
/// path to it (every node on the way stores its whole path) and whose
/// last bytes are in the word, and a value of at most 8 bytes. It is the
/// only version of its key and every reader sees it (it is made only when
/// no snapshot is older than its write); its seqno reads as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inline(Entry);

/// A slot's content, decoded.
#[derive(Clone, Copy)]
pub(crate) enum Child<'g> {
    Leaf(LeafRef<'g>),
    Node(NodeRef<'g>),
    Inline(Inline),
    Packed(Packed<'g>),
}

impl Word {
    /// An empty slot.
    pub(crate) const EMPTY: Word = Word(0);

    /// A word naming a leaf.
    pub(crate) fn leaf(p: NonNull<Leaf>) -> Word {
        Word(p.as_ptr() as usize | TAG_LEAF)
    }

    /// A word naming a node, without the [`BIG`] hint: a root's (whose
    /// lines nobody prefetches); [`NodeRef::word`] adds the hint.
    pub(crate) fn node(p: NonNull<Header>) -> Word {
        Word(p.as_ptr() as usize)
    }

    /// Asks for the first lines of the node this word names (a node's
    /// word), before its header is read: a descent calls it as soon as it
    /// has the word. A search reads the header's line (version, path,
    /// kind, and a small node's key bytes), and only then the line of the
    /// slot it picks: in a Node4, Node16 or Node32 not in cache (112, 312
    /// and 584 bytes: the bottom levels of random integers, most nodes of
    /// words and URLs) that slot sits a line or more past the header, and
    /// asking for it once the header had come made a second wait in a row
    /// at every such level. Asked for together, the two waits overlap. So
    /// a small node's first [`AHEAD_LINES`] lines are asked for, and a
    /// [`BIG`] node's header line only (where the slot lies depends on
    /// its kind; lines asked for in vain cost bandwidth that the other
    /// misses of a descent wait on). A prefetch reads nothing and never
    /// faults: addresses past a small node's end are harmless.
    #[inline(always)]
    pub(crate) fn prefetch_node(self) {
        let p = (self.0 & !BIG) as *const u8;
        let lines = if self.0 & BIG != 0 { 1 } else { AHEAD_LINES };
        for i in 0..lines {
            ordex_core::sync::prefetch(p.wrapping_add(64 * i));
        }
    }

    /// [`prefetch_node`](Self::prefetch_node) for a point lookup that
    /// will next search the node for byte `next`: a [`BIG`] node's slot
    /// for that byte is also asked for, at the offsets a Node256's and a
    /// Node256 of values' slot for it would have with an empty path
    /// (and the line of the latter's inline bits). A guess, as the kind
    /// and the path are the header's to tell: wrong for a Node48 or a
    /// node with a path, and then only lines asked for in vain. Only
    /// point lookups take it: a dense key's bottom node is a Node256 of
    /// values, and its header and slot, asked for together, arrive
    /// together.
    #[inline(always)]
    pub(crate) fn prefetch_node_for(self, next: Option<u8>) {
        self.prefetch_node();
        if let (true, Some(b)) = (self.0 & BIG != 0, next) {
            use core::mem::{offset_of, size_of};
            let p = (self.0 & !BIG) as *const u8;
            let b = usize::from(b);
            let n256_slot = offset_of!(N256, slots) + b * size_of::<Slot>();
            let v256_bits = offset_of!(V256, inline) + (b / 64) * size_of::<AtomicU64>();
            let v256_slot = offset_of!(V256, slots) + b * size_of::<AtomicU64>();
            for at in [n256_slot, v256_bits, v256_slot] {
                ordex_core::sync::prefetch(p.wrapping_add(at));
            }
        }
    }

    /// Whether the slot is empty.
    #[inline]
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether it is an inline entry (whose value word matters).
    #[inline]
    pub(crate) fn is_inline(self) -> bool {
        self.0 & TAG == TAG_INLINE
    }

    /// Whether it names a packed entry.
    #[inline]
    pub(crate) fn is_packed(self) -> bool {
        self.0 & TAG == TAG_PACKED
    }

    /// Whether a run keeps a tie word in its slot's value word: a leaf or
    /// a packed entry (see [`tie_of`]).
    #[inline]
    pub(crate) fn has_tie(self) -> bool {
        self.0 & TAG == TAG_LEAF || self.0 & TAG == TAG_PACKED
    }
}

/// The tie word of a run entry's tail: its 8 bytes after the head,
/// big-endian, zero-padded. A run keeps it in a leaf's value word (which
/// a leaf does not otherwise use), so that a search tells apart entries
/// whose heads tie without reading their leaves: if two tails' heads are
/// equal and their tie words differ, the tie words order them as memcmp
/// orders the tails (zero-padding, as for heads).
#[inline]
pub(crate) fn tie_of(tail: &[u8]) -> u64 {
    ordex_core::head::head_u64(tail.get(HEAD..).unwrap_or(&[]))
}

impl Entry {
    /// An empty slot.
    pub(crate) const EMPTY: Entry = Entry {
        word: Word::EMPTY,
        value: 0,
    };

    /// A slot holding `w` (a node or a leaf).
    pub(crate) fn of(word: Word) -> Entry {
        Entry { word, value: 0 }
    }

    /// The entry as a run keeps it under `tail`: a leaf or a packed entry
    /// with its tail's tie word ([`tie_of`]) in its value word; an inline
    /// entry as it is.
    #[inline]
    pub(crate) fn for_run(self, tail: &[u8]) -> Entry {
        if self.word.has_tie() {
            Entry {
                word: self.word,
                value: tie_of(tail),
            }
        } else {
            self
        }
    }

    /// Whether the slot is empty.
    #[inline]
    pub(crate) fn is_empty(self) -> bool {
        self.word.is_empty()
    }

    /// What the slot holds.
    ///
    /// # Safety
    /// The entry was loaded from a slot of a node reached under a guard of
    /// lifetime `'g` (or names a fresh object the caller owns), and, if
    /// that node is a [`Kind::V256`], validated after the load or loaded
    /// under its latch; module invariant 3 then keeps what it names
    /// allocated for `'g`.
    #[inline]
    pub(crate) unsafe fn get<'g>(self, guard: &'g Guard) -> Option<Child<'g>> {
        if self.word.is_inline() {
            return Some(Child::Inline(Inline(self)));
        }
        // SAFETY: the caller's contract.
        unsafe { self.word.get(guard) }
    }
}

impl Inline {
    /// A placeholder (an empty slot's entry), to fill arrays that
    /// [`NodeRef::v256_values`] writes before any is read.
    pub(crate) const PLACEHOLDER: Inline = Inline(Entry::EMPTY);

    /// An inline entry for a key tail and a value, if they fit.
    pub(crate) fn new(suffix: &[u8], value: &[u8]) -> Option<Inline> {
        if suffix.len() > INLINE_SUFFIX || value.len() > INLINE_VALUE {
            return None;
        }
        let mut w = TAG_INLINE | suffix.len() << 2 | value.len() << 5;
        for (i, &b) in suffix.iter().enumerate() {
            w |= (b as usize) << (9 + 8 * i);
        }
        // An 8-byte value is one load; a shorter one is packed byte by
        // byte (a `copy_from_slice` of a variable length is a `memcpy`
        // call, most of this function's time in a profile of loads).
        let value = match value.first_chunk::<8>() {
            Some(v) => u64::from_ne_bytes(*v),
            None => {
                let mut v = [0u8; 8];
                for (d, &b) in v.iter_mut().zip(value) {
                    *d = b;
                }
                u64::from_ne_bytes(v)
            }
        };
        Some(Inline(Entry {
            word: Word(w),
            value,
        }))
    }

    /// An inline entry of a run for a tail (whose first [`HEAD`] bytes are
    /// its head in the run) and a value, if they fit: the suffix holds the
    /// tail's bytes after the head, and bits 57..61 the tail's length.
    pub(crate) fn new_run(tail: &[u8], value: &[u8]) -> Option<Inline> {
        if tail.len() > RUN_INLINE_TAIL {
            return None;
        }
        let mut i = Inline::new(tail.get(HEAD..).unwrap_or(&[]), value)?;
        i.0.word.0 |= tail.len() << 57;
        Some(i)
    }

    /// The tail of a run's inline entry whose head is `head`, and its
    /// length.
    #[inline]
    pub(crate) fn run_tail(self, head: Head) -> ([u8; RUN_INLINE_TAIL], usize) {
        let len = ((self.0.word.0 >> 57) & 0xf).min(RUN_INLINE_TAIL);
        let mut out = [0u8; RUN_INLINE_TAIL];
        out[..HEAD].copy_from_slice(&head.to_be_bytes());
        out[HEAD..].copy_from_slice(&self.suffix().0);
        (out, len)
    }

    /// The inline entry in slot content `e` (which is one).
    pub(crate) fn from_entry(e: Entry) -> Inline {
        debug_assert!(e.word.is_inline());
        Inline(e)
    }

    /// The slot's content.
    pub(crate) fn entry(self) -> Entry {
        self.0
    }

    /// The key's bytes after the slot's byte.
    #[inline]
    pub(crate) fn suffix(self) -> ([u8; INLINE_SUFFIX], usize) {
        let w = self.0.word.0 as u64;
        let len = ((w >> 2) & 0b111).min(INLINE_SUFFIX as u64) as usize;
        let all = (w >> 9).to_le_bytes();
        let mut out = [0u8; INLINE_SUFFIX];
        out.copy_from_slice(&all[..INLINE_SUFFIX]);
        (out, len)
    }

    /// The value.
    #[inline]
    pub(crate) fn value(self) -> ([u8; INLINE_VALUE], usize) {
        let len = ((self.0.word.0 >> 5) & 0b1111).min(INLINE_VALUE);
        (self.0.value.to_ne_bytes(), len)
    }

    /// The value bytes, borrowed from the entry (its value word holds them
    /// in memory order).
    #[inline]
    pub(crate) fn value_bytes(&self) -> &[u8] {
        let len = ((self.0.word.0 >> 5) & 0b1111).min(INLINE_VALUE);
        &u64_bytes(&self.0.value)[..len]
    }

    /// Whether its key tail is `tail`.
    #[inline]
    pub(crate) fn suffix_is(self, tail: &[u8]) -> bool {
        let w = self.0.word.0 as u64;
        let n = ((w >> 2) & 0b111) as usize;
        if tail.len() != n || n > INLINE_SUFFIX {
            return false;
        }
        // Packed like the word's bytes, compared in one go (no memcmp).
        let mut packed = 0u64;
        for (i, &b) in tail.iter().enumerate() {
            packed |= u64::from(b) << (8 * i);
        }
        let mask = (1u64 << (8 * n)) - 1;
        (w >> 9) & mask == packed
    }
}

/// The longest record a run's area holds for a packed entry: its two
/// length bytes, the key and the value. Longer keys and values are
/// leaves.
pub(crate) const PACKED_MAX: usize = 252;

/// The bytes a packed entry's record takes in a run's area: two length
/// bytes, the key, the value, rounded up to 4 (records stay 4-aligned,
/// so a word's tag fits below their address). `None` if it is longer
/// than [`PACKED_MAX`].
#[inline]
pub(crate) fn packed_len(klen: usize, vlen: usize) -> Option<usize> {
    let n = 2 + klen + vlen;
    (n <= PACKED_MAX).then_some(n.next_multiple_of(4))
}

/// A packed entry: a key and its value, written once into a record in
/// the area of the run that holds it (`[klen, vlen, key.., value..]`),
/// never changed after (an overwrite writes a new record; the run's area
/// is append-only, compacted only into a larger area). Like an inline
/// entry, it is the only version of its key and every reader sees it
/// (made only when no snapshot is older than its write; its seqno reads
/// as 0), and it costs no allocation of its own; unlike one, it keeps
/// its whole key, so it needs no path stored whole above it and holds
/// keys of any length up to [`PACKED_MAX`].
#[derive(Clone, Copy)]
pub(crate) struct Packed<'g> {
    p: NonNull<u8>,
    _guard: PhantomData<&'g Guard>,
}

impl<'g> Packed<'g> {
    /// The key.
    #[inline]
    pub(crate) fn key(self) -> &'g [u8] {
        let p = self.p.as_ptr();
        // SAFETY: the record lives as long as its run, which is live for
        // `'g`; its bytes never change after the word naming it was
        // published (module docs of `Packed`), and `Word::get`'s fence
        // made them visible. The pointer has the run's provenance.
        unsafe { core::slice::from_raw_parts(p.add(2), usize::from(*p)) }
    }

    /// The value.
    #[inline]
    pub(crate) fn value(self) -> &'g [u8] {
        let p = self.p.as_ptr();
        // SAFETY: as in `key`; the value follows the key in the record.
        unsafe {
            let (klen, vlen) = (usize::from(*p), usize::from(*p.add(1)));
            core::slice::from_raw_parts(p.add(2 + klen), vlen)
        }
    }
}

impl Word {
    /// The node, leaf or packed entry it names (an inline word is not one:
    /// `None`).
    ///
    /// # Safety
    /// As for [`Entry::get`].
    #[inline]
    pub(crate) unsafe fn get<'g>(self, _guard: &'g Guard) -> Option<Child<'g>> {
        match self.0 & TAG {
            _ if self.0 == 0 => None,
            TAG_LEAF => Some(Child::Leaf(
                // SAFETY: a leaf word holds a leaf pointer with its tag;
                // the caller's contract keeps the leaf live for `'g`.
                unsafe { LeafRef::from_raw(NonNull::new_unchecked((self.0 & !TAG) as *mut Leaf)) },
            )),
            0 => Some(Child::Node(NodeRef {
                // SAFETY: non-zero and untagged, so a node pointer (as
                // above) but for the `BIG` hint, cleared here.
                p: unsafe { NonNull::new_unchecked((self.0 & !BIG) as *mut Header) },
                _guard: PhantomData,
            })),
            TAG_PACKED => {
                // Pairs with the writer's fence in `run_pack`: the record's
                // bytes, written before the word, are visible from here on.
                fence(Ordering::Acquire);
                Some(Child::Packed(Packed {
                    // SAFETY: a packed word holds the address of a record
                    // in a run's area with its tag; the caller's contract
                    // keeps the run (and so the record) live for `'g`.
                    p: unsafe { NonNull::new_unchecked((self.0 & !TAG) as *mut u8) },
                    _guard: PhantomData,
                }))
            }
            _ => None,
        }
    }
}

/// A node, live for `'g` (module invariant 3).
#[derive(Clone, Copy)]
pub(crate) struct NodeRef<'g> {
    p: NonNull<Header>,
    _guard: PhantomData<&'g Guard>,
}

impl PartialEq for NodeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.p == other.p
    }
}

impl<'g> NodeRef<'g> {
    /// A handle on a node the caller owns or keeps reachable for `'g`
    /// (the tree's root).
    ///
    /// # Safety
    /// `p` came from [`new_node`] and stays allocated for `'g`.
    pub(crate) unsafe fn from_raw(p: NonNull<Header>) -> Self {
        NodeRef {
            p,
            _guard: PhantomData,
        }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(self) -> *mut Header {
        self.p.as_ptr()
    }

    /// Its word, to store in a slot, with the [`BIG`] hint if it is a
    /// node of many children.
    pub(crate) fn word(self) -> Word {
        let big = matches!(self.kind(), Kind::N48 | Kind::N256 | Kind::V256);
        Word(Word::node(self.p).0 | if big { BIG } else { 0 })
    }

    #[inline]
    fn h(self) -> &'g Header {
        // SAFETY: live for `'g` (module invariant 3); the header is the
        // first field of every node (`repr(C)`).
        unsafe { self.p.as_ref() }
    }

    #[inline]
    fn n4(self) -> &'g N4 {
        debug_assert_eq!(self.kind(), Kind::N4);
        // SAFETY: the kind says the allocation is an `N4` (invariant 2),
        // and the pointer has the whole allocation's provenance.
        unsafe { &*self.p.as_ptr().cast::<N4>() }
    }

    #[inline]
    fn n16(self) -> &'g N16 {
        debug_assert_eq!(self.kind(), Kind::N16);
        // SAFETY: as for `n4`.
        unsafe { &*self.p.as_ptr().cast::<N16>() }
    }

    #[inline]
    fn n32(self) -> &'g N32 {
        debug_assert_eq!(self.kind(), Kind::N32);
        // SAFETY: as for `n4`.
        unsafe { &*self.p.as_ptr().cast::<N32>() }
    }

    #[inline]
    fn n48(self) -> &'g N48 {
        debug_assert_eq!(self.kind(), Kind::N48);
        // SAFETY: as for `n4`.
        unsafe { &*self.p.as_ptr().cast::<N48>() }
    }

    #[inline]
    fn n256(self) -> &'g N256 {
        debug_assert_eq!(self.kind(), Kind::N256);
        // SAFETY: as for `n4`.
        unsafe { &*self.p.as_ptr().cast::<N256>() }
    }

    #[inline]
    fn v256(self) -> &'g V256 {
        debug_assert_eq!(self.kind(), Kind::V256);
        // SAFETY: as for `n4`.
        unsafe { &*self.p.as_ptr().cast::<V256>() }
    }

    /// The length of a [`Kind::V256`]'s inline values (meaningless for
    /// other kinds).
    #[inline]
    pub(crate) fn values_len(self) -> usize {
        usize::from(self.h().vlen).min(INLINE_VALUE)
    }

    /// Whether this node can hold entry `e` in a slot as it is: every
    /// kind but a [`Kind::V256`] any entry, a `V256` nodes, leaves and
    /// inline entries whose key ends at the slot's byte with a value of
    /// its [`values_len`](Self::values_len).
    #[inline]
    pub(crate) fn holds(self, e: Entry) -> bool {
        self.kind() != Kind::V256 || !e.word.is_inline() || e.word == self.value_word()
    }

    /// The word of a [`Kind::V256`]'s inline entries: no suffix, a value
    /// of the node's value length.
    #[inline]
    fn value_word(self) -> Word {
        Word(TAG_INLINE | self.values_len() << 5)
    }

    /// A run's heads and slots (as many as its kind holds).
    #[inline]
    fn run(self) -> (&'g [AtomicU32], &'g [Slot]) {
        match self.kind() {
            Kind::Run4 => {
                // SAFETY: as for `n4`.
                let n = unsafe { &*self.p.as_ptr().cast::<Run4>() };
                (&n.heads, &n.slots)
            }
            Kind::Run16 => {
                // SAFETY: as for `n4`.
                let n = unsafe { &*self.p.as_ptr().cast::<Run16>() };
                (&n.heads, &n.slots)
            }
            Kind::Run32 => {
                // SAFETY: as for `n4`.
                let n = unsafe { &*self.p.as_ptr().cast::<Run32>() };
                (&n.heads, &n.slots)
            }
            kind => {
                debug_assert_eq!(kind, Kind::Run64);
                // SAFETY: as for `n4`.
                let n = unsafe { &*self.p.as_ptr().cast::<Run64>() };
                (&n.heads, &n.slots)
            }
        }
    }

    /// The node's version lock.
    #[inline]
    pub(crate) fn lock(self) -> &'g VersionLock {
        &self.h().lock
    }

    /// Its kind.
    #[inline]
    pub(crate) fn kind(self) -> Kind {
        match self.h().kind {
            0 => Kind::N4,
            1 => Kind::N16,
            2 => Kind::N32,
            3 => Kind::N48,
            4 => Kind::N256,
            5 => Kind::Run4,
            6 => Kind::Run16,
            7 => Kind::Run32,
            8 => Kind::Run64,
            _ => Kind::V256,
        }
    }

    /// Whether it is a run.
    #[inline]
    pub(crate) fn is_run(self) -> bool {
        (Kind::Run4 as u8..=Kind::Run64 as u8).contains(&self.h().kind)
    }

    /// The compressed path's length.
    #[inline]
    pub(crate) fn plen(self) -> usize {
        self.h().plen.load(R) as usize
    }

    /// The stored prefix bytes (the first `min(plen, STORED)`).
    #[inline]
    pub(crate) fn prefix(self) -> Prefix {
        let p = &self.h().prefix;
        [p[0].load(R), p[1].load(R)]
    }

    /// The leaf of the key that ends here.
    #[inline]
    pub(crate) fn end(self) -> Word {
        Word(self.h().end.load(R))
    }

    /// Children held (clamped to the capacity).
    #[inline]
    pub(crate) fn count(self) -> usize {
        (self.h().count.load(R) as usize).min(self.kind().capacity())
    }

    /// The child for byte `b` (empty if none).
    #[inline(always)]
    pub(crate) fn find(self, b: u8) -> Entry {
        match self.kind() {
            Kind::N4 => {
                let n = self.n4();
                let keys = n.keys.load(R);
                let count = self.count();
                for i in 0..count {
                    if (keys >> (8 * i)) as u8 == b {
                        return load(&n.slots, i);
                    }
                }
                Entry::EMPTY
            }
            Kind::N16 => self.n16().find(self.count(), b),
            Kind::N32 => self.n32().find(self.count(), b),
            Kind::N48 => {
                let n = self.n48();
                let i = n.index[b as usize].load(R) as usize;
                if i == 0 {
                    Entry::EMPTY
                } else {
                    load(&n.slots, (i - 1) % 48)
                }
            }
            Kind::N256 => {
                let n = self.n256();
                load(&n.slots, b as usize)
            }
            Kind::V256 => self.v256_load(b as usize),
            // Entries of a run are found by their tails (`run_*`).
            Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => Entry::EMPTY,
        }
    }

    /// The first slot after position `pos` (the end leaf is at −1+1 = 0,
    /// byte `b` at `b + 1`; start from −1) that holds something: its
    /// position and word.
    pub(crate) fn next_slot(self, pos: i32) -> Option<(i32, Entry)> {
        if pos < 0 {
            let e = self.end();
            if !e.is_empty() {
                return Some((0, Entry::of(e)));
            }
        }
        let from = pos.max(0) as usize; // the first byte whose position is above `pos`
        if from > 255 {
            return None;
        }
        match self.kind() {
            Kind::N4 => {
                // Sorted in every consistent state (as in `Sorted::next`).
                let n = self.n4();
                let keys = n.keys.load(R);
                let count = self.count();
                let i = (0..count).find(|&i| ((keys >> (8 * i)) as u8) as usize >= from)?;
                if i + 1 < count {
                    prefetch_target(&n.slots, i + 1);
                }
                Some((((keys >> (8 * i)) as u8) as i32 + 1, load(&n.slots, i)))
            }
            Kind::N16 => self.n16().next(self.count(), from),
            Kind::N32 => self.n32().next(self.count(), from),
            Kind::N48 => {
                let n = self.n48();
                for b in from..256 {
                    let i = n.index[b].load(R) as usize;
                    if i != 0 {
                        let w = load(&n.slots, (i - 1) % 48);
                        if !w.is_empty() {
                            return Some((b as i32 + 1, w));
                        }
                    }
                }
                None
            }
            Kind::N256 => {
                let n = self.n256();
                for b in from..256 {
                    if occupied(&n.slots, b) {
                        return Some((b as i32 + 1, load(&n.slots, b)));
                    }
                }
                None
            }
            Kind::V256 => (from..256).find_map(|b| {
                let e = self.v256_load(b);
                (!e.is_empty()).then_some((b as i32 + 1, e))
            }),
            // Entry `i` of a run is at position `i + 1`.
            Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => {
                let (_, slots) = self.run();
                let count = self.count();
                if from >= count {
                    return None;
                }
                // The leaves of a run (keys whose tails do not fit an
                // inline entry) are a miss each: keep a few asked for
                // ahead of the walk, not one.
                if from == 0 {
                    for i in 1..AHEAD.min(count) {
                        prefetch_target(slots, i);
                    }
                } else if from + AHEAD - 1 < count {
                    prefetch_target(slots, from + AHEAD - 1);
                }
                Some((from as i32 + 1, load(slots, from)))
            }
        }
    }

    /// Asks for the cache lines of every child a forward scan takes
    /// from the slots of bytes `from..to`, when this is a Node48 or
    /// Node256 (a Node4/16/32 asks in [`next_slot`](Self::next_slot)
    /// already). A walker going down to a child node asks for those of
    /// the 8 bytes after it (`Walker::ask_ahead`): the next siblings'
    /// misses then overlap the walk below (one sibling ahead left random
    /// u64 scans waiting on each bottom node).
    #[inline]
    pub(crate) fn prefetch_between(self, from: i32, to: i32) {
        let from = from.max(0) as usize;
        let to = (to.max(0) as usize).min(256);
        match self.kind() {
            Kind::N48 => {
                let n = self.n48();
                for c in from..to {
                    let j = n.index[c].load(R) as usize;
                    if j != 0 {
                        prefetch_target(&n.slots, (j - 1) % 48);
                    }
                }
            }
            Kind::N256 => {
                let n = self.n256();
                for c in from..to {
                    prefetch_target(&n.slots, c);
                }
            }
            Kind::V256 => {
                for c in from..to {
                    let e = self.v256_load(c);
                    if !e.word.is_inline() {
                        prefetch_word(e.word.0);
                    }
                }
            }
            _ => {}
        }
    }

    /// The last slot before position `pos` (see [`next_slot`](Self::next_slot);
    /// start from 257) that holds something.
    pub(crate) fn prev_slot(self, pos: i32) -> Option<(i32, Entry)> {
        if pos <= 0 {
            return None;
        }
        // Bytes whose position is below `pos`: those below `pos - 1`.
        let below = (pos - 1).min(256) as usize;
        let child = match self.kind() {
            Kind::N4 => {
                let n = self.n4();
                let keys = n.keys.load(R);
                (0..self.count())
                    .rev()
                    .find(|&i| (((keys >> (8 * i)) as u8) as usize) < below)
                    .map(|i| {
                        if i > 0 {
                            prefetch_target(&n.slots, i - 1);
                        }
                        (((keys >> (8 * i)) as u8) as i32 + 1, load(&n.slots, i))
                    })
            }
            Kind::N16 => self.n16().prev(self.count(), below),
            Kind::N32 => self.n32().prev(self.count(), below),
            Kind::N48 => {
                let n = self.n48();
                (0..below).rev().find_map(|b| {
                    let i = n.index[b].load(R) as usize;
                    if i == 0 {
                        return None;
                    }
                    let w = load(&n.slots, (i - 1) % 48);
                    (!w.is_empty()).then_some((b as i32 + 1, w))
                })
            }
            Kind::N256 => {
                let n = self.n256();
                (0..below)
                    .rev()
                    .find_map(|b| occupied(&n.slots, b).then(|| (b as i32 + 1, load(&n.slots, b))))
            }
            Kind::V256 => (0..below).rev().find_map(|b| {
                let e = self.v256_load(b);
                (!e.is_empty()).then_some((b as i32 + 1, e))
            }),
            Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => {
                let (_, slots) = self.run();
                below.min(self.count()).checked_sub(1).map(|i| {
                    if i > 0 {
                        prefetch_target(slots, i - 1);
                    }
                    (i as i32 + 1, load(slots, i))
                })
            }
        };
        if child.is_some() {
            return child;
        }
        let e = self.end();
        (!e.is_empty()).then_some((0, Entry::of(e)))
    }

    // -- Writes: the caller holds the node's latch. ------------------------

    /// Sets the end leaf.
    pub(crate) fn set_end(self, w: Word) {
        self.h().end.store(w.0, R);
    }

    /// Sets the compressed path.
    pub(crate) fn set_prefix(self, plen: usize, prefix: Prefix) {
        self.h().plen.store(plen as u32, R);
        self.h().prefix[0].store(prefix[0], R);
        self.h().prefix[1].store(prefix[1], R);
    }

    /// Whether adding a child needs a larger node.
    pub(crate) fn is_full(self) -> bool {
        self.count() >= self.kind().capacity()
    }

    /// Children and end leaf together.
    pub(crate) fn entries(self) -> usize {
        self.count() + usize::from(!self.end().is_empty())
    }

    /// Adds child `w` for byte `b` (absent; the node is not full).
    pub(crate) fn add(self, b: u8, w: Entry) {
        let count = self.count();
        debug_assert!(count < self.kind().capacity());
        match self.kind() {
            Kind::N4 => {
                let n = self.n4();
                let keys = n.keys.load(R);
                let at = (0..count)
                    .find(|&i| (keys >> (8 * i)) as u8 > b)
                    .unwrap_or(count);
                // Shift the tail one slot up, from the top down.
                let mut k = keys;
                for i in (at..count).rev() {
                    shift(&n.slots, i, i + 1);
                    let kb = (keys >> (8 * i)) as u8;
                    k = (k & !(0xff << (8 * (i + 1)))) | (u32::from(kb) << (8 * (i + 1)));
                }
                k = (k & !(0xff << (8 * at))) | (u32::from(b) << (8 * at));
                store(&n.slots, at, w);
                n.keys.store(k, R);
            }
            Kind::N16 => self.n16().add(count, b, w),
            Kind::N32 => self.n32().add(count, b, w),
            Kind::N48 => {
                let n = self.n48();
                let slot = (0..48)
                    .find(|&i| !occupied(&n.slots, i))
                    .expect("a Node48 that is not full has a free slot");
                store(&n.slots, slot, w);
                n.index[b as usize].store(slot as u8 + 1, R);
            }
            Kind::N256 => {
                let n = self.n256();
                store(&n.slots, b as usize, w);
            }
            Kind::V256 => self.v256_store(b as usize, w),
            Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => {
                unreachable!("a run's entries are added by tail (`run_insert`)")
            }
        }
        self.h().count.store(count as u16 + 1, R);
    }

    /// Replaces the child of byte `b` (present) by `w`.
    pub(crate) fn replace(self, b: u8, w: Entry) {
        match self.kind() {
            Kind::N4 => {
                let n = self.n4();
                let keys = n.keys.load(R);
                let i = (0..self.count())
                    .find(|&i| (keys >> (8 * i)) as u8 == b)
                    .expect("replace of a present byte");
                store(&n.slots, i, w);
            }
            Kind::N16 => self.n16().replace(self.count(), b, w),
            Kind::N32 => self.n32().replace(self.count(), b, w),
            Kind::N48 => {
                let n = self.n48();
                let i = n.index[b as usize].load(R) as usize;
                debug_assert!(i != 0);
                store(&n.slots, i - 1, w);
            }
            Kind::N256 => {
                let n = self.n256();
                store(&n.slots, b as usize, w);
            }
            Kind::V256 => self.v256_store(b as usize, w),
            Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => {
                unreachable!("a run's entries are replaced by index (`run_set`)")
            }
        }
    }

    /// Removes the child of byte `b` (present).
    pub(crate) fn remove(self, b: u8) {
        let count = self.count();
        match self.kind() {
            Kind::N4 => {
                let n = self.n4();
                let keys = n.keys.load(R);
                let at = (0..count)
                    .find(|&i| (keys >> (8 * i)) as u8 == b)
                    .expect("remove of a present byte");
                let mut k = keys;
                for i in at..count - 1 {
                    shift(&n.slots, i + 1, i);
                    let kb = (keys >> (8 * (i + 1))) as u8;
                    k = (k & !(0xff << (8 * i))) | (u32::from(kb) << (8 * i));
                }
                store(&n.slots, count - 1, Entry::EMPTY);
                n.keys.store(k, R);
            }
            Kind::N16 => self.n16().remove(count, b),
            Kind::N32 => self.n32().remove(count, b),
            Kind::N48 => {
                let n = self.n48();
                let i = n.index[b as usize].load(R) as usize;
                debug_assert!(i != 0);
                n.index[b as usize].store(0, R);
                store(&n.slots, i - 1, Entry::EMPTY);
            }
            Kind::N256 => {
                let n = self.n256();
                store(&n.slots, b as usize, Entry::EMPTY);
            }
            Kind::V256 => self.v256_store(b as usize, Entry::EMPTY),
            Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => {
                unreachable!("a run's entries are removed by index (`run_remove`)")
            }
        }
        self.h().count.store(count as u16 - 1, R);
    }

    // -- Runs (the node is a run). -----------------------------------------

    /// The head of entry `i` (below the run's capacity).
    #[inline]
    pub(crate) fn run_head(self, i: usize) -> Head {
        let (heads, _) = self.run();
        heads[i % heads.len()].load(R)
    }

    /// The tie word kept in slot `i` (below the run's capacity): a
    /// leaf's, see [`tie_of`].
    pub(crate) fn run_tie(self, i: usize) -> u64 {
        let (_, slots) = self.run();
        slots[i % slots.len()].value.load(R)
    }

    /// Entry `i` (below the run's capacity).
    #[inline]
    pub(crate) fn run_entry(self, i: usize) -> Entry {
        let (_, slots) = self.run();
        load(slots, i % slots.len())
    }

    /// Where an entry of head `h` is or would go: from the first entry
    /// whose head is not below `h`, `cmp` compares each entry of head `h`
    /// (given with its head and its slot's value word, a leaf's tie word:
    /// see [`tie_of`]) with the one sought, until one is equal (its
    /// index and entry) or greater (its index); `None` if `cmp` gave up (a
    /// torn read). Heads ascend in every consistent state; a torn read
    /// gives some index within the count, which validation rejects.
    #[inline]
    pub(crate) fn run_search(
        self,
        h: Head,
        mut cmp: impl FnMut(Entry, Head, u64) -> Option<core::cmp::Ordering>,
    ) -> Option<(usize, Option<Entry>)> {
        let (heads, slots) = self.run();
        let count = self.count().min(heads.len());
        let mut i = heads[..count].iter().filter(|a| a.load(R) < h).count();
        while i < count {
            let hi = heads[i].load(R);
            if hi != h {
                break;
            }
            let e = load(slots, i);
            match cmp(e, hi, slots[i].value.load(R))? {
                core::cmp::Ordering::Equal => return Some((i, Some(e))),
                core::cmp::Ordering::Greater => break,
                core::cmp::Ordering::Less => i += 1,
            }
        }
        Some((i, None))
    }

    /// Inserts entry `e` of head `h` at index `at`, shifting those from
    /// `at` on up (under the latch; the run is not full).
    pub(crate) fn run_insert(self, at: usize, h: Head, e: Entry) {
        let (heads, slots) = self.run();
        let count = self.count();
        debug_assert!(at <= count && count < slots.len());
        for i in (at..count).rev() {
            heads[i + 1].store(heads[i].load(R), R);
            shift(slots, i, i + 1);
        }
        heads[at].store(h, R);
        store(slots, at, e);
        self.h().count.store(count as u16 + 1, R);
    }

    /// A copy of this run (latched, and made obsolete by the caller once
    /// the copy is published) as a run of `kind`, not yet published. The
    /// copy takes over the run's area, records and all (the words keep
    /// naming them): the run keeps none, so freeing it leaves the area to
    /// the copy. Returns the copy and its size in bytes (the area's stay
    /// counted where they were).
    pub(crate) fn copy_run(self, kind: Kind) -> (NonNull<Header>, usize) {
        let (p, bytes) = new_run(kind, self.plen(), self.prefix(), 0);
        // SAFETY: fresh and ours.
        let copy = unsafe { NodeRef::from_raw(p) };
        copy.set_end(self.end());
        let (_, slots) = self.run();
        for (i, s) in slots.iter().enumerate().take(self.count()) {
            // The slot whole: a tie word too.
            let e = Entry {
                word: Word(s.word.load(R)),
                value: s.value.load(R),
            };
            copy.run_insert(i, self.run_head(i), e);
        }
        let (from, to) = (self.run_area(), copy.run_area());
        to.area.store(from.area.swap(0, R), R);
        to.used.store(from.used.load(R), R);
        to.dead.store(from.dead.load(R), R);
        (p, bytes)
    }

    /// Bytes the records of the run's packed entries take (under the
    /// latch): what a larger area needs for them.
    pub(crate) fn packed_bytes(self) -> usize {
        self.area().map_or(0, |(a, _, _)| {
            (a.used.load(R) as usize).saturating_sub(a.dead.load(R) as usize)
        })
    }

    /// Replaces entry `at`'s slot (same key; under the latch).
    pub(crate) fn run_set(self, at: usize, e: Entry) {
        let (_, slots) = self.run();
        self.bury(Word(slots[at % slots.len()].word.load(R)));
        store(slots, at % slots.len(), e);
    }

    /// Counts the record of `w`, an entry leaving the run (under the
    /// latch), as dead, if it is a packed entry.
    fn bury(self, w: Word) {
        if !w.is_packed() {
            return;
        }
        let Some((a, _, _)) = self.area() else {
            return;
        };
        let r = (w.0 & !TAG) as *const u8;
        // SAFETY: a packed word of this run (loaded under the latch) names
        // a record in its area, whose two length bytes never change.
        let (klen, vlen) = unsafe { (usize::from(*r), usize::from(*r.add(1))) };
        let n = packed_len(klen, vlen).unwrap_or(0) as u32;
        a.dead.store(a.dead.load(R) + n, R);
    }

    /// Removes entry `at`, shifting those after it down (under the latch).
    pub(crate) fn run_remove(self, at: usize) {
        let (heads, slots) = self.run();
        let count = self.count();
        debug_assert!(at < count);
        self.bury(Word(slots[at % slots.len()].word.load(R)));
        for i in at..count - 1 {
            heads[i].store(heads[i + 1].load(R), R);
            shift(slots, i + 1, i);
        }
        heads[count - 1].store(0, R);
        store(slots, count - 1, Entry::EMPTY);
        self.h().count.store(count as u16 - 1, R);
    }

    /// The run's area, if it has one: the run's counts of it, its
    /// capacity and the address of its first record byte (for the run's
    /// writers, under the latch, and for `stats`, whose reads are a racy
    /// estimate).
    #[inline]
    fn area(self) -> Option<(&'g RunArea, usize, *mut u8)> {
        if !self.is_run() {
            return None;
        }
        let ra = self.run_area();
        let a = ra.area.load(R);
        if a == 0 {
            return None;
        }
        let p = a as *mut u8;
        // SAFETY: a run's area pointer names an area made by `new_area`,
        // live while the run is or, once replaced, until the epoch frees
        // it (after every guard that could have read it); its capacity
        // never changes.
        unsafe { Some((ra, (*p.cast::<Area>()).cap as usize, p.add(AREA_HDR))) }
    }

    /// The run's hold on its area.
    #[inline]
    fn run_area(self) -> &'g RunArea {
        match self.kind() {
            // SAFETY: as for `n4`, for each run kind.
            Kind::Run4 => unsafe { &(*self.p.as_ptr().cast::<Run4>()).a },
            // SAFETY: as above.
            Kind::Run16 => unsafe { &(*self.p.as_ptr().cast::<Run16>()).a },
            // SAFETY: as above.
            Kind::Run32 => unsafe { &(*self.p.as_ptr().cast::<Run32>()).a },
            kind => {
                debug_assert_eq!(kind, Kind::Run64);
                // SAFETY: as above.
                unsafe { &(*self.p.as_ptr().cast::<Run64>()).a }
            }
        }
    }

    /// Asks for the line of the run's area where its next record goes (a
    /// hint, read without the latch: any address is harmless to prefetch).
    #[inline]
    pub(crate) fn prefetch_area_end(self) {
        let ra = self.run_area();
        let a = ra.area.load(R);
        if a != 0 {
            let end = (a + AREA_HDR + ra.used.load(R) as usize) as *const u8;
            ordex_core::sync::prefetch(end);
        }
    }

    /// Bytes of the run's area that records took (0 without an area).
    pub(crate) fn area_used(self) -> usize {
        self.area().map_or(0, |(a, _, _)| a.used.load(R) as usize)
    }

    /// The node's size in bytes, its area included.
    pub(crate) fn bytes(self) -> usize {
        self.kind().bytes() + self.area().map_or(0, |(_, cap, _)| AREA_HDR + cap)
    }

    /// Gives the run (latched, or fresh) a new area of `cap` record bytes
    /// (at least the live records' and 8) holding its live records,
    /// compacted, and points its packed entries' words at them. Returns
    /// the old area (to retire through the epoch: readers may still read
    /// its records) and the new one's size in bytes.
    pub(crate) fn regrow_area(self, cap: usize, guard: &Guard) -> (Option<NonNull<u8>>, usize) {
        let (new, bytes) = new_area(cap.max(self.packed_bytes()));
        let ra = self.run_area();
        let old = ra.area.swap(new, R);
        ra.used.store(0, R);
        ra.dead.store(0, R);
        let (_, slots) = self.run();
        for s in slots.iter().take(self.count()) {
            let w = Word(s.word.load(R));
            // SAFETY: loaded under the latch from a run reached under
            // `guard`; a packed word names a record in the old area,
            // which is still allocated.
            if let Some(Child::Packed(r)) = unsafe { w.get(guard) } {
                let moved = self
                    .run_pack(r.key(), r.value())
                    .expect("a new area holds the live records");
                s.word.store(moved.0, R);
            }
        }
        (NonNull::new(old as *mut u8), bytes)
    }

    /// Writes a record of `key` and `value` into the run's area (under the
    /// latch, or into a fresh run not yet published) and returns the word
    /// of the packed entry, for the caller to store in a slot; `None` if
    /// the record does not fit ([`packed_len`]) or the area has no room.
    pub(crate) fn run_pack(self, key: &[u8], value: &[u8]) -> Option<Word> {
        let n = packed_len(key.len(), value.len())?;
        let (a, cap, bytes) = self.area()?;
        let used = a.used.load(R) as usize;
        if used + n > cap {
            return None;
        }
        // SAFETY: `used..used + n` lies in the area, and no record was
        // written there yet: no reader reads those bytes (no word names
        // them) and only the latch holder writes the area.
        unsafe {
            let r = bytes.add(used);
            r.write(key.len() as u8);
            r.add(1).write(value.len() as u8);
            core::ptr::copy_nonoverlapping(key.as_ptr(), r.add(2), key.len());
            core::ptr::copy_nonoverlapping(value.as_ptr(), r.add(2 + key.len()), value.len());
            a.used.store((used + n) as u32, R);
            // The record is written before any store that publishes its
            // word (paired with the fence in `Word::get`).
            fence(Ordering::Release);
            Some(Word(r as usize | TAG_PACKED))
        }
    }

    /// Whether, after removing one child, the node should shrink to a
    /// smaller kind (not the root: the caller checks).
    pub(crate) fn shrinks_after_remove(self) -> bool {
        self.kind()
            .shrink_at()
            .is_some_and(|(at, _)| self.count() <= at + 1)
    }

    /// A copy of this node (header and children) of the next larger kind
    /// (`grow`) or of the smaller kind it shrinks to; not yet published.
    /// Returns it and its size in bytes.
    /// A Node48 grows into a [`Kind::V256`] or a Node256, as
    /// [`wide_kind`] says for its children.
    pub(crate) fn copy_resized(self, grow: bool) -> (NonNull<Header>, usize) {
        let (kind, vlen) = if grow {
            match self.kind().grown() {
                Kind::N256 => wide_kind(self.children().map(|(_, e)| e)),
                k => (k, INLINE_VALUE),
            }
        } else {
            let k = self.kind().shrink_at().map_or(self.kind(), |(_, k)| k);
            (k, INLINE_VALUE)
        };
        let (p, bytes) = new_node_with(kind, self.plen(), self.prefix(), vlen);
        // SAFETY: fresh and ours.
        let copy = unsafe { NodeRef::from_raw(p) };
        copy.set_end(self.end());
        for (b, e) in self.children() {
            copy.add(b, e);
        }
        (p, bytes)
    }

    /// Slot `b` of a [`Kind::V256`], as an entry (`b` below 256).
    #[inline(always)]
    fn v256_load(self, b: usize) -> Entry {
        let n = self.v256();
        let b = b % 256;
        let w = n.slots[b].load(R);
        if n.inline[b / 64].load(R) >> (b % 64) & 1 != 0 {
            Entry {
                word: self.value_word(),
                value: w,
            }
        } else {
            Entry {
                word: Word(w as usize),
                value: 0,
            }
        }
    }

    /// Whether this is a Node48 or a Node256.
    #[inline]
    pub(crate) fn is_wide(self) -> bool {
        matches!(self.kind(), Kind::N48 | Kind::N256)
    }

    /// Whether this is a Node4, 16 or 32.
    #[inline]
    pub(crate) fn is_small(self) -> bool {
        matches!(self.kind(), Kind::N4 | Kind::N16 | Kind::N32)
    }

    /// Whether this is a [`Kind::V256`].
    #[inline]
    pub(crate) fn is_v256(self) -> bool {
        self.kind() == Kind::V256
    }

    /// For a forward scan through a [`Kind::V256`]: its inline entries
    /// from byte `from` on, in byte order, into `out` (each with its
    /// slot's byte), as many as fit; empty slots are passed, and a slot
    /// that holds a node or a leaf ends the batch before it (a walk must
    /// enter it). Returns how many were copied. `None` for any other
    /// kind. Read racily, like any optimistic read: the caller validates
    /// the node's version before using them.
    #[inline]
    pub(crate) fn v256_values(self, from: usize, out: &mut [(u8, Inline)]) -> Option<usize> {
        if self.kind() != Kind::V256 {
            return None;
        }
        let n = self.v256();
        let word = self.value_word();
        let mut count = 0;
        let mut b = from;
        while b < 256 && count < out.len() {
            let bits = n.inline[b / 64].load(R) >> (b % 64);
            let w = n.slots[b].load(R);
            if bits & 1 != 0 {
                out[count] = (b as u8, Inline(Entry { word, value: w }));
                count += 1;
            } else if w != 0 {
                break;
            }
            b += 1;
        }
        Some(count)
    }

    /// For a forward scan through a run: its entries from index `from`
    /// on, with their heads, into `out`, as many as fit, up to the first
    /// leaf (whose versions a walk resolves at its seqno) or the run's
    /// end. Returns how many were copied. `None` if this is not a run.
    /// Read racily: the caller validates the node's version before it
    /// uses them (a packed entry's word names a record only then).
    #[inline]
    pub(crate) fn run_entries(self, from: usize, out: &mut [(Head, Entry)]) -> Option<usize> {
        if !self.is_run() {
            return None;
        }
        let (heads, slots) = self.run();
        let end = self.count().min(slots.len());
        let mut count = 0;
        for (i, head) in heads.iter().enumerate().take(end).skip(from) {
            if count == out.len() {
                break;
            }
            let e = load(slots, i);
            if !e.word.is_inline() && !e.word.is_packed() {
                break;
            }
            if e.word.is_packed() {
                // The batch's records, asked for together (a hint only:
                // the word is not validated yet).
                prefetch_word(e.word.0);
            }
            out[count] = (head.load(R), e);
            count += 1;
        }
        Some(count)
    }

    /// For a forward scan through a Node4, 16, 32, 48 or 256: its
    /// children from byte `from` on, in byte order, with their bytes, into
    /// `out` (cleared first), up to `max` of them (empty slots passed; the
    /// end leaf, which sorts before every child, is not among them). The
    /// node or leaf a copied slot names is asked for at once, so that the
    /// misses of a batch's children overlap. `None` for a run or a
    /// Node256 of values. Read racily: the caller validates the node's
    /// version before it uses them.
    #[inline]
    pub(crate) fn children_after<const N: usize>(
        self,
        from: usize,
        max: usize,
        out: &mut Copied<(u8, Entry), N>,
    ) -> Option<()> {
        out.clear();
        let max = max.min(N);
        if max == 0 {
            return Some(());
        }
        let mut put = |b: usize, e: Entry| {
            if !e.word.is_inline() {
                prefetch_word(e.word.0);
            }
            out.push((b as u8, e));
            out.len() < max
        };
        match self.kind() {
            Kind::N4 => {
                // Sorted in every consistent state (as in `next_slot`).
                let n = self.n4();
                let keys = n.keys.load(R);
                for i in 0..self.count().min(4) {
                    let b = ((keys >> (8 * i)) as u8) as usize;
                    if b >= from && !put(b, load(&n.slots, i)) {
                        break;
                    }
                }
            }
            Kind::N16 => self.n16().children_after(self.count(), from, &mut put),
            Kind::N32 => self.n32().children_after(self.count(), from, &mut put),
            Kind::N48 => {
                let n = self.n48();
                for b in from..256 {
                    let j = n.index[b].load(R) as usize;
                    if j != 0 {
                        let e = load(&n.slots, (j - 1) % 48);
                        if !e.is_empty() && !put(b, e) {
                            break;
                        }
                    }
                }
            }
            Kind::N256 => {
                let n = self.n256();
                for b in from..256 {
                    let e = load(&n.slots, b);
                    if !e.is_empty() && !put(b, e) {
                        break;
                    }
                }
            }
            _ => return None,
        }
        Some(())
    }

    /// For a forward scan: the children of a Node4, 16 or 32 that holds
    /// inline entries only (no end leaf, and no node, leaf or empty slot
    /// among its slots in use), with their bytes, in byte order, into
    /// `out` (cleared first). `None` for any other node (a walk enters
    /// it). Read racily, after the caller read the node's version, which
    /// it validates before it uses them.
    #[inline]
    pub(crate) fn inline_children(self, out: &mut Copied<(u8, Inline), 32>) -> Option<()> {
        out.clear();
        if !self.end().is_empty() {
            return None;
        }
        let count = self.count();
        match self.kind() {
            Kind::N4 => {
                let n = self.n4();
                let keys = n.keys.load(R);
                for i in 0..count.min(4) {
                    let e = load(&n.slots, i);
                    if !e.word.is_inline() {
                        return None;
                    }
                    out.push(((keys >> (8 * i)) as u8, Inline(e)));
                }
                Some(())
            }
            Kind::N16 => self.n16().inline_children(count, out),
            Kind::N32 => self.n32().inline_children(count, out),
            _ => None,
        }
    }

    /// Stores `e` in slot `b` of a [`Kind::V256`] (under the latch; the
    /// node [`holds`](Self::holds) `e`).
    fn v256_store(self, b: usize, e: Entry) {
        debug_assert!(self.holds(e));
        let n = self.v256();
        let b = b % 256;
        let bits = &n.inline[b / 64];
        let bit = 1u64 << (b % 64);
        if e.word.is_inline() {
            bits.store(bits.load(R) | bit, R);
            n.slots[b].store(e.value, R);
        } else {
            bits.store(bits.load(R) & !bit, R);
            n.slots[b].store(e.word.0 as u64, R);
        }
    }

    /// Every child, in byte order (for the structural checks and drop).
    pub(crate) fn children(self) -> impl Iterator<Item = (u8, Entry)> + 'g {
        let mut pos = 0;
        core::iter::from_fn(move || {
            let (at, w) = self.next_slot(pos)?;
            pos = at;
            Some(((at - 1) as u8, w))
        })
    }
}

impl<const W: usize, const C: usize> Sorted<W, C> {
    #[inline]
    fn load_keys(&self) -> [u64; W] {
        core::array::from_fn(|i| self.keys[i].load(R))
    }

    fn store_keys(&self, keys: [u64; W]) {
        for (a, k) in self.keys.iter().zip(keys) {
            a.store(k, R);
        }
    }

    #[inline]
    fn find(&self, count: usize, b: u8) -> Entry {
        match find_sorted(&self.load_keys(), count, b) {
            Some(i) => load(&self.slots, i % C),
            None => Entry::EMPTY,
        }
    }

    /// The child with the least byte at or above `from` (below 256). The
    /// bytes are sorted in every consistent state, so their rank finds it
    /// (SIMD, 16 at a time); a read torn by a racing write gives some
    /// in-bounds slot, which the caller's validation then rejects.
    #[inline]
    fn next(&self, count: usize, from: usize) -> Option<(i32, Entry)> {
        let keys = self.load_keys();
        let count = count.min(C);
        let i = rank_sorted(&keys, count, from as u8);
        if i >= count {
            return None;
        }
        let k = key_at_n(&keys, i);
        if i + 1 < count {
            // A scan goes there next: ask for its node or leaf now, so
            // that miss overlaps this entry's.
            prefetch_target(&self.slots, (i + 1) % C);
        }
        Some((k as i32 + 1, load(&self.slots, i % C)))
    }

    /// [`NodeRef::children_after`] for this kind: each child from byte
    /// `from` on, in order, to `put` until it says stop.
    #[inline]
    fn children_after(
        &self,
        count: usize,
        from: usize,
        put: &mut impl FnMut(usize, Entry) -> bool,
    ) {
        if from > 255 {
            return;
        }
        let keys = self.load_keys();
        let count = count.min(C);
        for i in rank_sorted(&keys, count, from as u8)..count {
            if !put(usize::from(key_at_n(&keys, i)), load(&self.slots, i % C)) {
                break;
            }
        }
    }

    /// [`NodeRef::inline_children`] for this kind (`None`: a child is
    /// not inline).
    #[inline]
    fn inline_children(&self, count: usize, out: &mut Copied<(u8, Inline), 32>) -> Option<()> {
        let keys = self.load_keys();
        for i in 0..count.min(C) {
            let e = load(&self.slots, i % C);
            if !e.word.is_inline() {
                return None;
            }
            out.push((key_at_n(&keys, i), Inline(e)));
        }
        Some(())
    }

    /// The child with the greatest byte below `below` (at most 256).
    #[inline]
    fn prev(&self, count: usize, below: usize) -> Option<(i32, Entry)> {
        let keys = self.load_keys();
        let count = count.min(C);
        let r = if below > 255 {
            count
        } else {
            rank_sorted(&keys, count, below as u8)
        };
        let i = r.checked_sub(1)?;
        let k = key_at_n(&keys, i);
        if i > 0 {
            prefetch_target(&self.slots, (i - 1) % C);
        }
        Some((k as i32 + 1, load(&self.slots, i % C)))
    }

    fn add(&self, count: usize, b: u8, w: Entry) {
        let keys = self.load_keys();
        let at = rank_sorted(&keys, count, b);
        let mut k = keys;
        for i in (at..count).rev() {
            shift(&self.slots, i, i + 1);
            with_key_n(&mut k, i + 1, key_at_n(&keys, i));
        }
        with_key_n(&mut k, at, b);
        store(&self.slots, at, w);
        self.store_keys(k);
    }

    fn replace(&self, count: usize, b: u8, w: Entry) {
        let i = find_sorted(&self.load_keys(), count, b).expect("replace of a present byte");
        store(&self.slots, i, w);
    }

    fn remove(&self, count: usize, b: u8) {
        let keys = self.load_keys();
        let at = find_sorted(&keys, count, b).expect("remove of a present byte");
        let mut k = keys;
        for i in at..count - 1 {
            shift(&self.slots, i + 1, i);
            with_key_n(&mut k, i, key_at_n(&keys, i + 1));
        }
        store(&self.slots, count - 1, Entry::EMPTY);
        self.store_keys(k);
    }
}

impl Header {
    fn new(kind: Kind, plen: usize, prefix: Prefix, vlen: usize) -> Header {
        Header {
            lock: VersionLock::new(),
            end: AtomicUsize::new(0),
            prefix: [AtomicU64::new(prefix[0]), AtomicU64::new(prefix[1])],
            plen: AtomicU32::new(plen as u32),
            count: AtomicU16::new(0),
            kind: kind as u8,
            vlen: vlen as u8,
        }
    }
}

/// Items a scan copied from a node in a racy batch read, to use once the
/// node's version is validated: up to `N`, the array left uninitialised
/// beyond them, so that a batch costs no clearing of its whole array
/// (which cost a scan more than its reads where a batch ends early).
pub(crate) struct Copied<T: Copy, const N: usize> {
    len: usize,
    items: [MaybeUninit<T>; N],
}

impl<T: Copy, const N: usize> Copied<T, N> {
    /// None yet.
    #[inline]
    pub(crate) fn new() -> Self {
        Copied {
            len: 0,
            items: [const { MaybeUninit::uninit() }; N],
        }
    }

    /// Forgets the items.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Adds `t` (dropped if full).
    #[inline]
    pub(crate) fn push(&mut self, t: T) {
        if let Some(slot) = self.items.get_mut(self.len) {
            slot.write(t);
            self.len += 1;
        }
    }

    /// How many.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The items, in the order pushed.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        let init = &self.items[..self.len.min(N)];
        // SAFETY: `push` wrote every item below `len` (and `len` never
        // exceeds `N`); `MaybeUninit<T>` has `T`'s layout, so the
        // initialised prefix reads as a `[T]`.
        unsafe { &*(core::ptr::from_ref(init) as *const [T]) }
    }
}

fn slots<const K: usize>() -> [Slot; K] {
    core::array::from_fn(|_| Slot {
        word: AtomicUsize::new(0),
        value: AtomicU64::new(0),
    })
}

/// Slot `i`'s entry (its value word only for an inline entry).
#[inline]
fn load(slots: &[Slot], i: usize) -> Entry {
    let s = &slots[i];
    let word = Word(s.word.load(R));
    let value = if word.is_inline() { s.value.load(R) } else { 0 };
    Entry { word, value }
}

/// Asks for the first two cache lines of what slot `i` names (a node or
/// a leaf; an inline entry or an empty slot names nothing): a Node16 or a
/// leaf with a URL-sized key spans two. A hint: the word may be stale or
/// torn, and a prefetch of any address is harmless.
#[inline]
fn prefetch_target(slots: &[Slot], i: usize) {
    let w = slots[i].word.load(R);
    if w & TAG != TAG_INLINE {
        prefetch_word(w);
    }
}

/// Asks for the first two cache lines of what word `w` names (a hint, as
/// in [`prefetch_target`]).
#[inline]
fn prefetch_word(w: usize) {
    let p = (w & !TAG) as *const u8;
    ordex_core::sync::prefetch(p);
    ordex_core::sync::prefetch(p.wrapping_add(64));
}

/// Whether slot `i` holds anything.
#[inline]
fn occupied(slots: &[Slot], i: usize) -> bool {
    slots[i].word.load(R) != 0
}

/// Stores `e` in slot `i` (under the latch).
#[inline]
fn store(slots: &[Slot], i: usize, e: Entry) {
    slots[i].value.store(e.value, R);
    slots[i].word.store(e.word.0, R);
}

/// Moves slot `from` to slot `to` (under the latch).
#[inline]
fn shift(slots: &[Slot], from: usize, to: usize) {
    slots[to].value.store(slots[from].value.load(R), R);
    slots[to].word.store(slots[from].word.load(R), R);
}

/// A new, empty node of `kind` with the given compressed path, not yet
/// published; returns it and its size in bytes.
pub(crate) fn new_node(kind: Kind, plen: usize, prefix: Prefix) -> (NonNull<Header>, usize) {
    new_node_with(kind, plen, prefix, INLINE_VALUE)
}

/// As [`new_node`], with the value length of a [`Kind::V256`]'s inline
/// entries (at most 8; other kinds ignore it).
pub(crate) fn new_node_with(
    kind: Kind,
    plen: usize,
    prefix: Prefix,
    vlen: usize,
) -> (NonNull<Header>, usize) {
    let h = Header::new(kind, plen, prefix, vlen.min(INLINE_VALUE));
    let p: *mut Header = match kind {
        Kind::N4 => Box::into_raw(Box::new(N4 {
            h,
            keys: AtomicU32::new(0),
            slots: slots(),
        }))
        .cast(),
        Kind::N16 => Box::into_raw(Box::new(N16 {
            h,
            keys: core::array::from_fn(|_| AtomicU64::new(0)),
            slots: slots(),
        }))
        .cast(),
        Kind::N32 => Box::into_raw(Box::new(N32 {
            h,
            keys: core::array::from_fn(|_| AtomicU64::new(0)),
            slots: slots(),
        }))
        .cast(),
        Kind::N48 => Box::into_raw(Box::new(N48 {
            h,
            index: core::array::from_fn(|_| AtomicU8::new(0)),
            slots: slots(),
        }))
        .cast(),
        Kind::N256 => Box::into_raw(Box::new(N256 { h, slots: slots() })).cast(),
        Kind::Run4 | Kind::Run16 | Kind::Run32 | Kind::Run64 => {
            return new_run(kind, plen, prefix, 0);
        }
        Kind::V256 => Box::into_raw(Box::new(V256 {
            h,
            inline: core::array::from_fn(|_| AtomicU64::new(0)),
            slots: core::array::from_fn(|_| AtomicU64::new(0)),
        }))
        .cast(),
    };
    // SAFETY: `Box::into_raw` never returns null.
    (unsafe { NonNull::new_unchecked(p) }, kind.bytes())
}

/// A new, empty run of `kind` with the given compressed path and an area
/// of `area` bytes for packed entries (none if 0), not yet published;
/// returns it and its size in bytes (its area's included).
pub(crate) fn new_run(
    kind: Kind,
    plen: usize,
    prefix: Prefix,
    area: usize,
) -> (NonNull<Header>, usize) {
    let (area, area_bytes) = if area == 0 { (0, 0) } else { new_area(area) };
    let h = Header::new(kind, plen, prefix, INLINE_VALUE);
    let p = match kind {
        Kind::Run4 => Run4::boxed(h, area),
        Kind::Run16 => Run16::boxed(h, area),
        Kind::Run32 => Run32::boxed(h, area),
        kind => {
            debug_assert_eq!(kind, Kind::Run64);
            Run64::boxed(h, area)
        }
    };
    // SAFETY: `Box::into_raw` never returns null.
    (
        unsafe { NonNull::new_unchecked(p) },
        kind.bytes() + area_bytes,
    )
}

/// Frees a node made by [`new_node`] (not what its slots point to);
/// returns its size. The function `retire` takes for a replaced node.
///
/// # Safety
/// `p` came from [`new_node`] or [`new_run`], is unreachable, and is
/// freed once.
pub(crate) unsafe fn free_node(p: *mut u8) -> usize {
    // SAFETY: a live node (the caller's contract); the kind is immutable.
    let kind = unsafe { (*p.cast::<Header>()).kind };
    // SAFETY: each arm rebuilds the box `new_node` made for that kind, or
    // frees the run `new_run` made.
    unsafe {
        match kind {
            0 => drop(Box::from_raw(p.cast::<N4>())),
            1 => drop(Box::from_raw(p.cast::<N16>())),
            2 => drop(Box::from_raw(p.cast::<N32>())),
            3 => drop(Box::from_raw(p.cast::<N48>())),
            4 => drop(Box::from_raw(p.cast::<N256>())),
            5 => return Run4::free(p),
            6 => return Run16::free(p),
            7 => return Run32::free(p),
            8 => return Run64::free(p),
            _ => drop(Box::from_raw(p.cast::<V256>())),
        }
    }
    Kind::ALL_KINDS[(kind as usize).min(9)].bytes()
}

/// The kind of node by byte of more than 48 children that should hold
/// `entries`, and its value length: a [`Kind::V256`] of their inline
/// entries' value length if there are some, none has a suffix and all
/// have one value length; else a Node256. (Nodes and leaves alone go
/// into a Node256: above the bottom level, a new key's entry has a
/// suffix, which a `V256` would have to make a leaf.)
pub(crate) fn wide_kind(entries: impl IntoIterator<Item = Entry>) -> (Kind, usize) {
    let mut len = None;
    for e in entries {
        if e.word.is_inline() {
            let n = Inline::from_entry(e).value().1;
            if Word(TAG_INLINE | n << 5) != e.word || len.is_some_and(|l| l != n) {
                return (Kind::N256, INLINE_VALUE);
            }
            len = Some(n);
        }
    }
    match len {
        Some(n) => (Kind::V256, n),
        None => (Kind::N256, INLINE_VALUE),
    }
}

/// A `u64`'s bytes in memory order.
#[inline]
fn u64_bytes(v: &u64) -> &[u8; 8] {
    // SAFETY: `u64` has no padding and `[u8; 8]` has alignment 1 and the
    // same size; the borrow keeps `v` alive.
    unsafe { &*(v as *const u64).cast::<[u8; 8]>() }
}

/// Packs `bytes` (the first [`STORED`] of them) as a node's stored prefix.
pub(crate) fn pack_prefix(bytes: &[u8]) -> Prefix {
    let mut p = [0u64; 2];
    for (i, &b) in bytes.iter().take(STORED).enumerate() {
        p[i / 8] |= u64::from(b) << (8 * (i % 8));
    }
    p
}

/// Byte `i` of a stored prefix.
#[inline]
pub(crate) fn prefix_byte(prefix: Prefix, i: usize) -> u8 {
    (prefix[(i / 8) % 2] >> (8 * (i % 8))) as u8
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Adding, replacing and removing children keeps every kind's
    /// children in byte order, and resized copies keep them all.
    #[test]
    fn kinds_keep_their_children_in_order() {
        let guard = crossbeam_epoch::pin();
        for kind in Kind::ALL {
            let (p, _) = new_node(kind, 0, [0, 0]);
            // SAFETY: fresh and ours.
            let n = unsafe { NodeRef::from_raw(p) };
            let cap = kind.capacity();
            let bytes: Vec<u8> = (0..cap).map(|i| ((i * 97 + 13) % 256) as u8).collect();
            let mut model = std::collections::BTreeMap::new();
            for &b in &bytes {
                assert!(!n.is_full());
                n.add(b, Entry::of(Word(8 * (b as usize + 1))));
                model.insert(b, 8 * (b as usize + 1));
            }
            assert!(n.is_full());
            let got: Vec<(u8, usize)> = n.children().map(|(b, w)| (b, w.word.0)).collect();
            let want: Vec<(u8, usize)> = model.iter().map(|(&b, &w)| (b, w)).collect();
            assert_eq!(got, want, "{kind:?}");
            for &b in &bytes {
                assert_eq!(n.find(b).word.0, model[&b]);
            }
            // Backwards.
            let mut back = Vec::new();
            let mut pos = 257;
            while let Some((at, w)) = n.prev_slot(pos) {
                back.push(((at - 1) as u8, w.word.0));
                pos = at;
            }
            back.reverse();
            assert_eq!(back, want);
            if kind != Kind::N256 {
                let (g, _) = n.copy_resized(true);
                // SAFETY: fresh and ours.
                let g = unsafe { NodeRef::from_raw(g) };
                assert_eq!(
                    g.children().map(|(b, w)| (b, w.word.0)).collect::<Vec<_>>(),
                    want
                );
                // SAFETY: ours, freed once.
                unsafe { free_node(g.as_ptr().cast()) };
            }
            for &b in bytes.iter().step_by(2) {
                n.replace(b, Entry::of(Word(8)));
                model.insert(b, 8);
            }
            for &b in bytes.iter().skip(1).step_by(2) {
                n.remove(b);
                model.remove(&b);
                assert_eq!(n.find(b), Entry::EMPTY);
            }
            let got: Vec<(u8, usize)> = n.children().map(|(b, w)| (b, w.word.0)).collect();
            let want: Vec<(u8, usize)> = model.iter().map(|(&b, &w)| (b, w)).collect();
            assert_eq!(got, want, "{kind:?} after removes");
            // SAFETY: ours, freed once.
            unsafe { free_node(p.as_ptr().cast()) };
        }
        drop(guard);
    }

    /// A node's word says whether it is a node of many children (what a
    /// descent prefetches of it) and names the node itself once read;
    /// runs are small.
    #[test]
    fn node_words_carry_their_size_and_name_their_node() {
        let guard = crossbeam_epoch::pin();
        for kind in Kind::ALL_KINDS {
            let (p, _) = new_node(kind, 0, [0, 0]);
            // SAFETY: fresh and ours.
            let n = unsafe { NodeRef::from_raw(p) };
            let w = n.word();
            let big = matches!(kind, Kind::N48 | Kind::N256 | Kind::V256);
            assert_eq!(w.0 & BIG != 0, big, "{kind:?}");
            assert_eq!(w.0 & TAG, 0, "{kind:?}");
            w.prefetch_node();
            // SAFETY: `n` is live for the guard.
            match unsafe { Entry::of(w).get(&guard) } {
                Some(Child::Node(c)) => {
                    assert_eq!(c.as_ptr(), p.as_ptr());
                    assert_eq!(c.kind(), kind);
                }
                _ => panic!("{kind:?}: a node's word read as something else"),
            }
            // SAFETY: ours, freed once.
            unsafe { free_node(p.as_ptr().cast()) };
        }
        drop(guard);
    }

    /// Inline entries keep their tail and value, whatever the bytes, and
    /// survive the moves of `add`, `remove` and resized copies; entries
    /// that do not fit are refused.
    /// A Node256 of values keeps inline values (any 8 bytes, zero too) and
    /// words apart, in every read; a Node48 grows into one only if it
    /// holds every child of the Node48 as it is.
    #[test]
    fn a_node256_of_values_keeps_values_and_words_apart() {
        let guard = crossbeam_epoch::pin();
        let (p, _) = new_node(Kind::N48, 0, [0, 0]);
        // SAFETY: fresh and ours.
        let n48 = unsafe { NodeRef::from_raw(p) };
        let value = |b: u8| -> [u8; 8] {
            match b % 3 {
                0 => [0; 8],
                1 => [0xff; 8],
                _ => [b, 1, 2, 3, 4, 5, 6, 7],
            }
        };
        // Bytes 0..48: inline entries (no suffix, 8-byte values) but for
        // every seventh, a word (a fake, never followed).
        let entry = |b: u8| -> Entry {
            if b.is_multiple_of(7) {
                Entry::of(Word(8 * (b as usize + 1)))
            } else {
                Inline::new(b"", &value(b)).unwrap().entry()
            }
        };
        for b in 0..48u8 {
            n48.add(b, entry(b));
        }
        let (g, _) = n48.copy_resized(true);
        // SAFETY: fresh and ours.
        let v = unsafe { NodeRef::from_raw(g) };
        assert_eq!(v.kind(), Kind::V256);
        assert_eq!(v.values_len(), 8);
        assert!(
            !v.holds(Inline::new(b"x", &[1; 8]).unwrap().entry()),
            "a suffix"
        );
        assert!(
            !v.holds(Inline::new(b"", &[1; 4]).unwrap().entry()),
            "a length"
        );
        assert!(v.holds(Inline::new(b"", &[1; 8]).unwrap().entry()));
        assert!(v.holds(Entry::of(Word(64))));
        for b in 48..=255u8 {
            v.add(b, entry(b));
        }
        let check = |v: NodeRef<'_>, gone: &dyn Fn(u8) -> bool| {
            for b in 0..=255u8 {
                let e = v.find(b);
                if gone(b) {
                    assert!(e.is_empty(), "{b}");
                    continue;
                }
                assert_eq!(e, entry(b), "{b}");
                // SAFETY: loaded from `v`, which we own.
                if let Some(Child::Inline(i)) = unsafe { e.get(&guard) } {
                    assert_eq!(i.value_bytes(), value(b));
                    assert!(i.suffix_is(b""));
                }
            }
            let fwd: Vec<(u8, Entry)> = v.children().collect();
            let want: Vec<(u8, Entry)> = (0..=255u8)
                .filter(|&b| !gone(b))
                .map(|b| (b, entry(b)))
                .collect();
            assert_eq!(fwd, want);
            let mut back = Vec::new();
            let mut pos = 257;
            while let Some((at, e)) = v.prev_slot(pos) {
                back.push(((at - 1) as u8, e));
                pos = at;
            }
            back.reverse();
            assert_eq!(back, want);
        };
        check(v, &|_| false);
        // A slot goes from a value to a word and back, or empty.
        v.replace(3, Entry::of(Word(800)));
        assert_eq!(v.find(3), Entry::of(Word(800)));
        v.replace(3, entry(3));
        for b in (1..=255u8).step_by(2) {
            v.remove(b);
        }
        check(v, &|b| b % 2 == 1);
        // One child with a suffix: a Node48 grows into a Node256.
        n48.replace(5, Inline::new(b"s", &value(5)).unwrap().entry());
        let (g2, _) = n48.copy_resized(true);
        // SAFETY: fresh and ours.
        assert_eq!(unsafe { NodeRef::from_raw(g2) }.kind(), Kind::N256);
        // SAFETY: ours, each freed once.
        unsafe {
            free_node(p.as_ptr().cast());
            free_node(g.as_ptr().cast());
            free_node(g2.as_ptr().cast());
        }
    }

    #[test]
    fn inline_entries_round_trip_through_nodes() {
        let tails: [&[u8]; 4] = [b"", b"\x00", b"\xff\xfe\x00\x01\x80\x7f", b"abc"];
        let values: [&[u8]; 4] = [b"", b"\xff", b"12345678", b"\x00\x00\x00"];
        for (t, v) in tails.iter().zip(values) {
            let i = Inline::new(t, v).unwrap();
            assert!(i.entry().word.is_inline());
            let (s, n) = i.suffix();
            assert_eq!(&s[..n], *t);
            let (vv, vn) = i.value();
            assert_eq!(&vv[..vn], v);
            assert_eq!(i.value_bytes(), v);
            assert!(i.suffix_is(t));
        }
        assert!(Inline::new(b"1234567", b"").is_none());
        assert!(Inline::new(b"", b"123456789").is_none());
        let (p, _) = new_node(Kind::N4, 0, [0, 0]);
        // SAFETY: fresh and ours.
        let n = unsafe { NodeRef::from_raw(p) };
        for b in 0..4u8 {
            n.add(b * 3, Inline::new(&[b; 6], &[b; 8]).unwrap().entry());
        }
        n.remove(3);
        let (g, _) = n.copy_resized(true);
        // SAFETY: fresh and ours.
        let g = unsafe { NodeRef::from_raw(g) };
        let guard = crossbeam_epoch::pin();
        for b in [0u8, 2, 3] {
            let e = g.find(b * 3);
            // SAFETY: loaded from `g`, which we own.
            let Some(Child::Inline(i)) = (unsafe { e.get(&guard) }) else {
                panic!("lost inline entry {b}")
            };
            assert!(i.suffix_is(&[b; 6]));
            assert_eq!(i.value_bytes(), &[b; 8]);
        }
        // SAFETY: ours, freed once.
        unsafe {
            free_node(p.as_ptr().cast());
            free_node(g.as_ptr().cast());
        }
    }
}
