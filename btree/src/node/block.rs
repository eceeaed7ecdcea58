//! A leaf's block: the keys and values of its packed entries, side by side
//! in one append-only allocation, so that a scan reads a leaf's entries
//! from a few contiguous lines instead of one allocation each, and a load
//! allocates per leaf instead of per key.
//!
//! # Invariants
//!
//! 1. A block belongs to one leaf (`Node::block`) and is written only by
//!    that leaf's latch holder (or by the thread that owns the leaf before
//!    it is published). Readers never read its header.
//! 2. An item is written whole (lengths, key, value) into the block's
//!    unused tail before the Release store of the slot word that points
//!    to it, and never changes afterwards: a packed slot's word, loaded
//!    with Acquire in a read validated after the load, points to
//!    initialised, immutable bytes.
//! 3. A block is freed only through crossbeam-epoch after its leaf stopped
//!    naming it (a repack replaced it, or the leaf was unlinked), or with
//!    the tree: bytes borrowed from an item under a guard stay valid while
//!    the guard lives, as an out-of-line entry's do (node invariant 3).
//!
//! An item is `[key length: u16][value length: u16][key][value]`,
//! unaligned. A rewrite of a packed entry appends a new item and leaves
//! the old one dead; a repack (when the tail is too short, and at every
//! split) copies the live items in slot order into a new block and
//! retires the old one.

use super::*;

/// The block header (its capacity, for freeing it); the bytes follow
/// it. The capacity again, where the items end, and how many bytes of
/// them are dead, the leaf keeps in its own header (`Node::block_cap`,
/// `block_used`, `block_dead`), which a write has in cache already.
#[repr(C)]
#[derive(Debug)]
pub(super) struct Block {
    cap: u32,
}

pub(super) const BLOCK_HDR: usize = core::mem::size_of::<Block>().next_multiple_of(8);

/// The largest packed item (lengths, key and value): larger entries stay
/// out of line, as records and entries of their own.
pub(super) const PACK_MAX: usize = 256;

/// The smallest block a leaf gets.
const BLOCK_MIN: usize = 256;

/// How much room a repack leaves in the new block beyond the live items
/// (and the item about to be added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Room {
    /// None: a leaf that a run of inserts will not come back to (the left
    /// half of a split after ascending inserts, the right one after
    /// descending ones).
    Exact,
    /// Half as much again: a block that filled up, or a half of a split,
    /// which takes more inserts (blocks sized for a full leaf instead
    /// measured the same load speed with 10% more bytes per entry).
    Half,
}

/// The bytes of an item for a `klen`-byte key and a `vlen`-byte value.
#[inline]
pub(super) fn item_size(klen: usize, vlen: usize) -> usize {
    4 + klen + vlen
}

/// Whether an entry with this key and value is packed when no snapshot
/// needs its older versions: it does not fit the slot itself (a key and a
/// value of at most 8 bytes each) and its item is at most [`PACK_MAX`].
#[inline]
pub(crate) fn packable(key: &[u8], value: &[u8]) -> bool {
    !(key.len() <= 8 && value.len() <= INLINE_MAX) && item_size(key.len(), value.len()) <= PACK_MAX
}

fn block_layout(cap: usize) -> Layout {
    Layout::from_size_align(BLOCK_HDR + cap, core::mem::align_of::<Block>())
        .expect("block size fits an allocation")
}

/// A new, empty block of at least `cap` bytes (accounted to `heap`), and
/// its capacity.
pub(super) fn block_alloc(cap: usize, heap: &Account) -> (*mut Block, usize) {
    let cap = cap.clamp(BLOCK_MIN, u32::MAX as usize);
    let layout = block_layout(cap);
    heap.add(layout.size());
    // SAFETY: the layout has a non-zero size (the header).
    let p = unsafe { alloc::alloc(layout) }.cast::<Block>();
    if p.is_null() {
        alloc::handle_alloc_error(layout)
    }
    // SAFETY: a fresh allocation, large enough for the header.
    unsafe { p.write(Block { cap: cap as u32 }) };
    (p, cap)
}

/// Frees a block; returns its bytes.
///
/// # Safety
/// `p` is a `*mut Block` from [`block_alloc`], unreachable (no leaf names
/// it and no reader can hold an item of it), freed once.
pub(super) unsafe fn free_block(p: *mut u8) -> usize {
    let p = p.cast::<Block>();
    // SAFETY: the caller's contract; the layout is recomputed from the
    // immutable capacity.
    unsafe {
        let layout = block_layout((*p).cap as usize);
        alloc::dealloc(p.cast::<u8>(), layout);
        layout.size()
    }
}

/// Retires a block: frees it once no pinned reader can hold its items.
///
/// # Safety
/// No leaf names `p` any more (its leaf's latch holder replaced it, or the
/// leaf was unlinked), and it is retired once.
pub(super) unsafe fn retire_block(p: *mut Block, guard: &Guard, heap: &Arc<Account>) {
    // SAFETY: the caller's contract, with the matching free function.
    unsafe { retire(p.cast::<u8>(), free_block, guard, heap) }
}

/// Writes an item for `key` and `value` at `used` bytes into block `b`,
/// which has room for it; returns where it starts.
///
/// # Safety
/// `b` is a live block whose leaf the caller holds latched (or owns, or
/// a new block not yet published), `used` is where its items end, and
/// `used + item_size(..) <= cap`.
unsafe fn write_item(b: *mut Block, used: usize, key: &[u8], value: &[u8]) -> *mut u8 {
    // SAFETY: the caller's contract: only this thread writes the unused
    // tail (block invariant 1), and the item fits.
    unsafe {
        let at = b.cast::<u8>().add(BLOCK_HDR + used);
        at.cast::<[u8; 2]>().write((key.len() as u16).to_le_bytes());
        at.add(2)
            .cast::<[u8; 2]>()
            .write((value.len() as u16).to_le_bytes());
        ptr::copy_nonoverlapping(key.as_ptr(), at.add(4), key.len());
        ptr::copy_nonoverlapping(value.as_ptr(), at.add(4 + key.len()), value.len());
        at
    }
}

/// The key and value of the item at `p`.
///
/// # Safety
/// `p` starts an item of a block that stays live for `'a` (block
/// invariants 2 and 3: loaded from a packed slot in a validated read
/// under a guard for `'a`, or from a latched or owned leaf).
#[inline]
pub(super) unsafe fn packed<'a>(p: *const u8) -> (&'a [u8], &'a [u8]) {
    // SAFETY: the caller's contract; the item is initialised and
    // immutable, its lengths first.
    unsafe {
        let klen = usize::from(u16::from_le_bytes(p.cast::<[u8; 2]>().read()));
        let vlen = usize::from(u16::from_le_bytes(p.add(2).cast::<[u8; 2]>().read()));
        (
            slice::from_raw_parts(p.add(4), klen),
            slice::from_raw_parts(p.add(4 + klen), vlen),
        )
    }
}

/// The key and value of the item at `p` as [`Bytes`] for `'g`.
///
/// # Safety
/// As for [`packed`].
#[inline]
pub(super) unsafe fn packed_bytes<'g>(p: *const u8) -> (Bytes<'g>, Bytes<'g>) {
    // SAFETY: the caller's contract.
    let (k, v) = unsafe { packed::<'g>(p) };
    (Bytes::packed(k), Bytes::packed(v))
}

impl<L: Latch, const N: usize> Node<L, N> {
    /// The leaf's block (null: none yet).
    pub(super) fn block(&self) -> *mut Block {
        self.block.load(Ordering::Relaxed)
    }

    /// Where this leaf's items end, and its block's capacity (0: no
    /// block).
    fn tail(&self) -> (usize, usize) {
        (
            self.block_used.load(Ordering::Relaxed) as usize,
            self.block_cap.load(Ordering::Relaxed) as usize,
        )
    }

    /// Makes `b` (capacity `cap`, null: none) this leaf's block, with its
    /// items ending at `used`, none of them dead.
    fn set_block(&self, b: *mut Block, cap: usize, used: usize) {
        self.block.store(b, Ordering::Relaxed);
        self.block_cap.store(cap as u32, Ordering::Relaxed);
        self.block_used.store(used as u32, Ordering::Relaxed);
        self.block_dead.store(0, Ordering::Relaxed);
    }

    /// Appends an item to this leaf's block (latched or owned) if it has
    /// room.
    fn push(&self, key: &[u8], value: &[u8]) -> Option<*mut u8> {
        let size = item_size(key.len(), value.len());
        let (used, cap) = self.tail();
        if size > cap - used {
            return None;
        }
        // SAFETY: the leaf's own live block (`cap > 0`), latched or owned,
        // with room for the item.
        let p = unsafe { write_item(self.block(), used, key, value) };
        self.block_used
            .store((used + size) as u32, Ordering::Relaxed);
        Some(p)
    }

    /// Starts loading where this leaf's next item goes (racy: only a
    /// hint, for a write about to take the latch).
    #[inline]
    pub(crate) fn prefetch_tail(&self) {
        let b = self.block.load(Ordering::Relaxed);
        if !b.is_null() {
            let used = self.block_used.load(Ordering::Relaxed) as usize;
            ordex_core::sync::prefetch(b.cast::<u8>().wrapping_add(BLOCK_HDR + used).cast_const());
        }
    }

    /// Packs `key` and `value` into this leaf's block (latched by the
    /// caller), repacking it first if its tail is too short; returns the
    /// item's address, for a packed slot's word.
    pub(super) fn pack(
        &self,
        key: &[u8],
        value: &[u8],
        heap: &Arc<Account>,
        guard: &Guard,
    ) -> *mut u8 {
        if let Some(p) = self.push(key, value) {
            return p;
        }
        self.repack(item_size(key.len(), value.len()), Room::Half, heap, guard);
        self.push(key, value).expect("a repacked block has room")
    }

    /// Gives this leaf, owned by the caller and not yet published, an
    /// empty block of `cap` bytes (see [`pack_owned`](Self::pack_owned)).
    pub(super) fn reserve_block(&self, cap: usize, heap: &Account) {
        debug_assert!(self.block().is_null());
        let (b, cap) = block_alloc(cap, heap);
        self.set_block(b, cap, 0);
    }

    /// Packs `key` and `value` into the block of this owned leaf, which
    /// [`reserve_block`](Self::reserve_block) sized for them.
    pub(super) fn pack_owned(&self, key: &[u8], value: &[u8]) -> *mut u8 {
        self.push(key, value)
            .expect("a block reserved for the leaf's items")
    }

    /// Marks the item of a packed slot dead (its slot was removed or
    /// rewritten) in this latched or owned leaf.
    pub(super) fn unpack_slot(&self, r: RawSlot) {
        debug_assert!(r.is_packed());
        // SAFETY: a packed slot of this leaf points to a live item (in
        // its block, or in the block a repack just retired, which the
        // caller's guard keeps).
        let (k, v) = unsafe { packed(r.word) };
        let dead = self.block_dead.load(Ordering::Relaxed) as usize;
        self.block_dead.store(
            (dead + item_size(k.len(), v.len())) as u32,
            Ordering::Relaxed,
        );
    }

    /// Copies the live items of this leaf (latched, or owned) into a new
    /// block with room for `extra` more bytes and as much again as `room`
    /// says, in slot order, and repoints the slots; returns the old block
    /// (null: none), which no slot of this leaf points into any more.
    fn repack_into_new(&self, extra: usize, room: Room, heap: &Account) -> *mut Block {
        let n = (self.count.load(Ordering::Relaxed) as usize).min(N);
        let mut live = 0;
        for i in 0..n {
            let r = self.raw(i);
            if r.is_packed() {
                // SAFETY: a packed slot of a latched or owned leaf points
                // to a live item.
                let (k, v) = unsafe { packed(r.word) };
                live += item_size(k.len(), v.len());
            }
        }
        let old = self.block();
        if live + extra == 0 {
            self.set_block(ptr::null_mut(), 0, 0);
            return old;
        }
        let want = live + extra;
        let want = match room {
            Room::Exact => want,
            Room::Half => want + want / 2,
        };
        let (new, cap) = block_alloc(want, heap);
        let mut used = 0;
        for i in 0..n {
            let r = self.raw(i);
            if r.is_packed() {
                // SAFETY: as above; the new block was sized for every
                // live item (`used` stays within `live <= cap`), and is
                // this thread's alone until the stores below publish it.
                let p = unsafe {
                    let (k, v) = packed(r.word);
                    debug_assert!(used + item_size(k.len(), v.len()) <= cap);
                    let p = write_item(new, used, k, v);
                    used += item_size(k.len(), v.len());
                    p
                };
                self.words[i].store(p, Ordering::Release);
            }
        }
        self.set_block(new, cap, used);
        old
    }

    /// Repacks this latched leaf (see `repack_into_new`) and retires its
    /// old block.
    pub(super) fn repack(&self, extra: usize, room: Room, heap: &Arc<Account>, guard: &Guard) {
        let old = self.repack_into_new(extra, room, heap);
        if !old.is_null() {
            // SAFETY: no slot of this leaf points into `old` now and the
            // leaf no longer names it; readers that loaded a word into it
            // hold guards (block invariant 3). Retired once: the leaf
            // named it until now.
            unsafe { retire_block(old, guard, heap) };
        }
    }

    /// Gives this new leaf (owned by the caller, its slots pointing into
    /// another leaf's block) a block of its own with copies of its
    /// packed items.
    pub(super) fn repack_owned(&self, room: Room, heap: &Account) {
        debug_assert!(self.block().is_null());
        let old = self.repack_into_new(0, room, heap);
        debug_assert!(old.is_null());
    }

    /// For invariant checks: every packed slot points to an item inside
    /// the used part of this leaf's block, and the items no slot points
    /// to are counted dead.
    pub(crate) fn check_block(&self) -> Result<(), String> {
        let b = self.block();
        let (used, cap) = self.tail();
        if used > cap {
            return Err(format!(
                "a block's items end at {used}, past its {cap} bytes"
            ));
        }
        let start = b.cast::<u8>().wrapping_add(BLOCK_HDR) as usize;
        let mut live = 0;
        for i in 0..self.count() {
            let r = self.raw(i);
            if !r.is_packed() {
                continue;
            }
            if b.is_null() {
                return Err(format!("slot {i} is packed in a leaf without a block"));
            }
            let at = r.word as usize;
            if at < start || at + 4 > start + used {
                return Err(format!("slot {i} points outside its leaf's block"));
            }
            // SAFETY: within the block's items (checked above), in a
            // quiescent tree (the caller's contract).
            let (k, v) = unsafe { packed(r.word) };
            if at + item_size(k.len(), v.len()) > start + used {
                return Err(format!("slot {i}'s item overruns its leaf's block"));
            }
            live += item_size(k.len(), v.len());
        }
        let dead = self.block_dead.load(Ordering::Relaxed) as usize;
        if live + dead != used {
            return Err(format!(
                "a block holds {used} bytes of items: {live} live, {dead} counted dead"
            ));
        }
        Ok(())
    }
}
