//! [`Strings`]: up to `N` byte strings packed into one buffer, with the
//! heads of the keys among them.
//!
//! A node keeps its keys (and a leaf its short values) here, in one
//! `Vec<u8>`:
//!
//! ```text
//! [ front: F bytes ][ heads: u64 per key ][ ends: u32 per string ][ the strings' bytes ]
//! ```
//!
//! The *front* is `F` bytes (0 but for inner nodes) that `Strings` keeps
//! for its owner and never reads: an inner node keeps its children there
//! (see `node::Inner`), so that a node's keys and children are one
//! allocation, asked for at once. Every edit keeps the front's bytes as
//! they are (moving them with the buffer when it grows); a clone copies
//! them as bytes (the owner makes them right); a new `Strings` has them
//! zeroed. The buffer is aligned to 8 bytes (a [`Buf`]).
//!
//! Copying a node (the path copy of a write) is then one allocation and
//! one `memcpy` however many strings it holds, and a node pays for the
//! strings it holds, not for the most it could hold. The `u32` ends bound
//! a buffer to 4 GiB, which the index's [`Limits`](ordex_core::Limits)
//! keep it under (see `node::MAX_KEY_LEN`).
//!
//! **Keys and heads.** With `S = 1` every string is a key (an inner node's
//! separators); with `S = 2` the strings at even positions are (a leaf's
//! keys, each followed by its value); with `S = 0` none is. All keys of
//! one `Strings` share their first `skip` bytes (`skip` is the longest
//! prefix the first and the last key share: they are ascending), and the
//! head of a key is the 8 bytes after those, zero-padded, read big-endian.
//! Heads order as their keys do but for ties, so a search compares the
//! sought key with the shared prefix once, then with the heads in a
//! branch-free binary search (the node's lines were all asked for when
//! the reader reached it, so its probes do not queue behind one miss
//! each), and reads key bytes only among the keys whose head ties with
//! its own. Taking heads after the shared prefix keeps them telling keys
//! apart when every key of a node starts alike (ids behind a table
//! prefix, URLs).

use crate::buf::Buf;
use ordex_core::head::head_u64;
use smallvec::SmallVec;

/// Bytes of one end offset.
const END: usize = 4;
/// Bytes of one head.
const HEAD: usize = 8;

/// The head of `s` after its first `skip` bytes: the next 8 bytes,
/// zero-padded, read big-endian.
#[inline]
fn head_at(s: &[u8], skip: usize) -> u64 {
    // Loads of 8 bytes, not a copy into a zeroed array: that is a
    // `memcpy` call, and the load of the array after it waits on a store
    // it cannot forward (most of a bulk load's time went there).
    if let Some(b) = s.get(skip..).and_then(|r| r.first_chunk::<HEAD>()) {
        return u64::from_be_bytes(*b);
    }
    if skip >= s.len() {
        return 0;
    }
    if let Some(b) = s.last_chunk::<HEAD>() {
        // The last 8 bytes hold the rest (fewer than 8 bytes): shifted to
        // the top, zeros come in below it.
        return u64::from_be_bytes(*b) << (8 * (skip + HEAD - s.len()));
    }
    s[skip..]
        .iter()
        .enumerate()
        .fold(0, |h, (i, &b)| h | u64::from(b) << (8 * (HEAD - 1 - i)))
}

/// How many of `heads` satisfy `holds`, which holds of a prefix of them
/// (heads ascend, and `holds` is `x < h` or `x <= h`): a branch-free
/// binary search. Every step has the same shape whatever the heads, so a
/// search mispredicts no branch (a branchy one over random keys
/// mispredicts about every other step); against a pass over every head
/// it does 5 comparisons instead of 32 in a full node, and the lines it
/// reads were asked for together when the node was reached (the parent's
/// prefetch hints), so its dependent probes find them on the way.
#[inline(always)]
fn count_ascending(heads: &[[u8; HEAD]], holds: impl Fn(u64) -> bool) -> usize {
    if heads.is_empty() {
        return 0;
    }
    // Invariant: the count lies in `lo..=lo + len`, and `lo + len` is at
    // most the number of heads (every probe is in bounds).
    let (mut lo, mut len) = (0, heads.len());
    while len > 1 {
        let half = len / 2;
        let mid = lo + half;
        lo = core::hint::select_unpredictable(holds(u64::from_ne_bytes(heads[mid])), mid, lo);
        len -= half;
    }
    lo + usize::from(holds(u64::from_ne_bytes(heads[lo])))
}

/// `dst.copy_from_slice(src)` for the short strings of a node without a
/// `memcpy` call for each: strings of 4 to 16 bytes are copied as two
/// overlapping fixed-size words.
#[inline]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    debug_assert_eq!(dst.len(), n);
    if (8..=16).contains(&n) {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if (4..8).contains(&n) {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else {
        dst.copy_from_slice(src);
    }
}

/// Whether `a` and `b` hold the same bytes: for strings of at most 8
/// bytes (most keys a search compares whole) two words, no call to
/// `memcmp`.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && if a.len() <= HEAD {
            head_u64(a) == head_u64(b)
        } else {
            a == b
        }
}

/// The length of the longest common prefix of `a` and `b`.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Up to `N` byte strings in one buffer, the strings at positions that
/// are multiples of `S` being keys with heads (none when `S` is 0); see
/// the [module docs](self).
pub(crate) struct Strings<const N: usize, const S: usize, const F: usize = 0> {
    /// How many strings.
    len: u32,
    /// The bytes every key shares, before its head.
    skip: u32,
    /// The first 8 bytes of the first key, big-endian, zero-padded (0
    /// when `skip` is 0): a search compares a shared prefix of up to 8
    /// bytes with it, in the node's own allocation, before it reads the
    /// buffer.
    pre: u64,
    /// The front (`F` bytes, see the [module docs](self)), a head per
    /// key (native-endian `u64`), a little-endian `u32` end per string
    /// (where it ends, counted from the start of the data), then the
    /// strings' bytes back to back. At least `F` bytes long.
    buf: Buf,
}

/// Buffer capacities are multiples of this: a writer frees the buffers
/// of the version it replaced and allocates its copies of the same
/// nodes, and with a few size classes instead of one per byte count the
/// allocator's per-thread caches serve most of them.
const CAPACITY_STEP: usize = 128;

/// `n` rounded up to a capacity step.
#[inline]
pub(crate) fn capacity_for(n: usize) -> usize {
    n.div_ceil(CAPACITY_STEP) * CAPACITY_STEP
}

impl<const N: usize, const S: usize, const F: usize> Clone for Strings<N, S, F> {
    /// A copy whose capacity is the length rounded up to a
    /// [`CAPACITY_STEP`] (often room for the write that copied it); the
    /// front is copied as bytes.
    fn clone(&self) -> Self {
        let mut buf = Buf::with_capacity(capacity_for(self.buf.len()));
        buf.extend_from_slice(&self.buf);
        Strings {
            len: self.len,
            skip: self.skip,
            pre: self.pre,
            buf,
        }
    }
}

impl<const N: usize, const S: usize, const F: usize> Strings<N, S, F> {
    /// No strings (a zeroed front).
    pub(crate) fn new() -> Self {
        let mut buf = Buf::new();
        if F > 0 {
            buf = Buf::with_capacity(capacity_for(F));
            buf.resize(F);
        }
        Strings {
            len: 0,
            skip: 0,
            pre: 0,
            buf,
        }
    }

    /// No strings and no buffer, not even a front: a value only to be
    /// dropped (see `inner::Inner::take`).
    pub(crate) fn unallocated() -> Self {
        Strings {
            len: 0,
            skip: 0,
            pre: 0,
            buf: Buf::new(),
        }
    }

    /// Sets this one's front to `other`'s bytes.
    pub(crate) fn copy_front_from(&mut self, other: &Self) {
        self.buf[..F].copy_from_slice(&other.buf[..F]);
    }

    /// The front's address (see the [module docs](self)): `F` bytes,
    /// aligned to 8, valid until the next edit through `&mut self`
    /// (which may move the buffer, with the front's bytes as they are).
    #[inline]
    pub(crate) fn front(&self) -> *const u8 {
        debug_assert!(self.buf.len() >= F);
        self.buf.as_ptr()
    }

    /// The front's address, for writes (see [`front`](Self::front)): the
    /// buffer's first `F` bytes, unless it is
    /// [`unallocated`](Self::unallocated) (see
    /// [`ensure_front`](Self::ensure_front)).
    #[inline]
    pub(crate) fn front_mut(&mut self) -> *mut u8 {
        debug_assert!(self.buf.len() >= F);
        self.buf.as_mut_ptr()
    }

    /// Gives an [`unallocated`](Self::unallocated) one its (zeroed)
    /// front, so that the `F` bytes [`front_mut`](Self::front_mut)
    /// points to are the buffer's. Only a node `Inner::take` left behind
    /// has none; the check sits where a first child goes in, not in
    /// `front_mut` (there, on every write's descent, it made loads of 1M
    /// keys 1.4× slower, and 1.04–1.09× out of line).
    #[inline]
    pub(crate) fn ensure_front(&mut self) {
        if self.buf.len() < F {
            self.allocate_front();
        }
    }

    #[cold]
    #[inline(never)]
    fn allocate_front(&mut self) {
        // Only an unallocated one: it holds no strings.
        debug_assert_eq!(self.len, 0);
        self.buf.resize(F);
    }

    /// How many strings.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// How many keys among `n` strings.
    #[inline]
    const fn keys_of(n: usize) -> usize {
        if S == 0 {
            0
        } else {
            n.div_ceil(S)
        }
    }

    /// The buffer's address and length (for prefetch hints).
    #[inline]
    pub(crate) fn buffer(&self) -> (usize, usize) {
        (self.buf.as_ptr() as usize, self.buf.len())
    }

    /// The bytes at the start of the buffer that a search reads when no
    /// head ties with its key's: the front and the heads, and for a
    /// shared prefix of more than 8 bytes (compared first, with the first
    /// key's bytes) the ends and that prefix too.
    #[inline]
    pub(crate) fn search_bytes(&self) -> usize {
        if self.skip as usize <= HEAD {
            self.ends_start()
        } else {
            self.data_start() + self.skip as usize
        }
    }

    /// How many keys.
    #[inline]
    fn keys(&self) -> usize {
        Self::keys_of(self.len())
    }

    /// Where the ends start in `buf`.
    #[inline]
    fn ends_start(&self) -> usize {
        F + HEAD * self.keys()
    }

    /// Where the data starts in `buf`.
    #[inline]
    fn data_start(&self) -> usize {
        self.ends_start() + END * self.len()
    }

    /// Where string `i` ends, from the start of the data.
    #[inline]
    fn end(&self, i: usize) -> usize {
        let at = self.ends_start() + END * i;
        // One bounds check and one load (four byte loads, each checked,
        // before).
        let (b, _) = self.buf[at..]
            .split_first_chunk::<END>()
            .expect("string `i` has an end");
        u32::from_le_bytes(*b) as usize
    }

    #[inline]
    fn set_end(&mut self, i: usize, end: usize) {
        let at = self.ends_start() + END * i;
        self.buf[at..at + END].copy_from_slice(&(end as u32).to_le_bytes());
    }

    /// Where string `i` starts, from the start of the data.
    #[inline]
    fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.end(i - 1)
        }
    }

    /// String `i` (`i < len`).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let d = self.data_start();
        &self.buf[d + self.start(i)..d + self.end(i)]
    }

    /// Strings `i..`, in order: one pass over the ends, each string's
    /// start being the end before it.
    #[inline]
    pub(crate) fn iter_from(&self, i: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (e, d) = (self.ends_start(), self.data_start());
        let ends = &self.buf[e..d];
        let data = &self.buf[d..];
        let mut start = self.start(i.min(self.len()));
        ends.chunks_exact(END).skip(i).map(move |c| {
            let end = u32::from_le_bytes(c.try_into().expect("4 bytes")) as usize;
            let s = &data[start..end];
            start = end;
            s
        })
    }

    /// The last string (`len > 0`).
    pub(crate) fn last(&self) -> &[u8] {
        self.get(self.len() - 1)
    }

    /// Key `j` (string `S * j`).
    #[inline]
    fn key(&self, j: usize) -> &[u8] {
        self.get(S * j)
    }

    /// Head `j`.
    #[inline]
    fn head(&self, j: usize) -> u64 {
        let at = F + HEAD * j;
        let mut b = [0u8; HEAD];
        b.copy_from_slice(&self.buf[at..at + HEAD]);
        u64::from_ne_bytes(b)
    }

    #[inline]
    fn set_head(&mut self, j: usize, h: u64) {
        let at = F + HEAD * j;
        self.buf[at..at + HEAD].copy_from_slice(&h.to_ne_bytes());
    }

    /// Heap bytes of the buffer.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes of the strings.
    #[cfg(test)]
    pub(crate) fn data_len(&self) -> usize {
        self.buf.len() - self.data_start()
    }

    /// Makes room for `extra` more bytes. A node copied for a write has a
    /// buffer of its length rounded up to a [`CAPACITY_STEP`], and the
    /// write may then grow it: doubling, as `Vec` does, would leave most
    /// copied nodes with twice the bytes they hold, so the buffer grows by
    /// what is needed plus an eighth, rounded up to a step (a batch
    /// writing many entries into one node still reallocates only every
    /// few entries).
    #[inline]
    fn grow(&mut self, extra: usize) {
        if self.buf.capacity() - self.buf.len() < extra {
            let want = capacity_for(self.buf.len() + extra + self.buf.len() / 8);
            self.buf.reserve_to(want);
        }
    }

    /// Adds `delta` to the ends of strings `from..to`.
    fn shift_ends(&mut self, from: usize, to: usize, delta: isize) {
        if from >= to {
            return;
        }
        let e = self.ends_start();
        let (ends, _) = self.buf[e + END * from..e + END * to].as_chunks_mut::<END>();
        // Every end stays in `0..=u32::MAX` (the buffer's bound), so adding
        // `delta` modulo 2^32 is adding it. One pass the compiler turns
        // into vector adds (a call per end, four checked byte loads and a
        // copy each, was 590 instructions of a single insert's 8,600).
        let d = delta as u32;
        for c in ends {
            *c = u32::from_le_bytes(*c).wrapping_add(d).to_le_bytes();
        }
    }

    /// The `pre` of a first key `first` and `skip`.
    #[inline]
    fn pre_of(skip: usize, first: &[u8]) -> u64 {
        if skip == 0 {
            0
        } else {
            head_u64(first)
        }
    }

    /// The `skip` of keys `first` and `last` (the first and the last of
    /// `count` keys).
    fn skip_of(count: usize, first: &[u8], last: &[u8]) -> usize {
        if count < 2 {
            0
        } else {
            common_prefix(first, last)
        }
    }

    /// Re-derives `skip` from the first and the last key and, if it
    /// changed, every head (after a change at either end of the keys).
    fn refresh_skip(&mut self) {
        let k = self.keys();
        if k == 0 {
            self.skip = 0;
            self.pre = 0;
            return;
        }
        let skip = Self::skip_of(k, self.key(0), self.key(k - 1));
        self.pre = Self::pre_of(skip, self.key(0));
        if skip != self.skip as usize {
            self.skip = skip as u32;
            for j in 0..k {
                let h = head_at(self.key(j), skip);
                self.set_head(j, h);
            }
        }
    }

    /// Inserts `parts` as strings `i..i + parts.len()`, where string `i`
    /// is key `i / S` when `keyed` (and no string of `parts` is a key
    /// otherwise). Every region after the insertion point moves right
    /// once, the rightmost first, so nothing is overwritten before it
    /// moves.
    fn insert_parts(&mut self, i: usize, parts: &[&[u8]], keyed: bool) {
        let n = self.len();
        let m = parts.len();
        debug_assert!(i <= n && n + m <= N);
        let bytes: usize = parts.iter().map(|p| p.len()).sum();
        let k = self.keys();
        let dk = Self::keys_of(n + m) - k;
        debug_assert_eq!(dk, usize::from(keyed));
        let at = self.start(i);
        let (e, d) = (self.ends_start(), self.data_start());
        let old = self.buf.len();
        self.grow(HEAD * dk + END * m + bytes);
        self.buf.resize(old + HEAD * dk + END * m + bytes);
        let (ne, nd) = (e + HEAD * dk, d + HEAD * dk + END * m);
        // The data after the insertion point, the data before it, the
        // ends after string `i`'s, the ends before it, then the heads
        // after key `i / S`'s: each region moves by no more than the one
        // to its right, which has moved already.
        self.buf.copy_within(d + at..old, nd + at + bytes);
        self.buf.copy_within(d..d + at, nd);
        self.buf.copy_within(e + END * i..d, ne + END * (i + m));
        self.buf.copy_within(e..e + END * i, ne);
        self.len += m as u32;
        let mut end = at;
        for (x, p) in parts.iter().enumerate() {
            self.buf[nd + end..nd + end + p.len()].copy_from_slice(p);
            end += p.len();
            self.set_end(i + x, end);
        }
        self.shift_ends(i + m, n + m, bytes as isize);
        if keyed {
            let j = i / S;
            self.buf
                .copy_within(F + HEAD * j..F + HEAD * k, F + HEAD * (j + 1));
            let h = head_at(parts[0], self.skip as usize);
            self.set_head(j, h);
            if j == 0 || j == k {
                self.refresh_skip();
            }
        }
    }

    /// Removes strings `i..i + m`, with key `i / S` when `keyed`: the
    /// mirror of [`insert_parts`](Self::insert_parts), left to right.
    fn remove_parts(&mut self, i: usize, m: usize, keyed: bool) {
        let n = self.len();
        debug_assert!(i + m <= n);
        let k = self.keys();
        let dk = k - Self::keys_of(n - m);
        debug_assert_eq!(dk, usize::from(keyed));
        let (at, to) = (self.start(i), self.start(i + m));
        let bytes = to - at;
        let (e, d) = (self.ends_start(), self.data_start());
        let old = self.buf.len();
        if keyed {
            let j = i / S;
            self.buf
                .copy_within(F + HEAD * (j + 1)..F + HEAD * k, F + HEAD * j);
        }
        let (ne, nd) = (e - HEAD * dk, d - HEAD * dk - END * m);
        self.buf.copy_within(e..e + END * i, ne);
        self.buf.copy_within(e + END * (i + m)..d, ne + END * i);
        self.buf.copy_within(d..d + at, nd);
        self.buf.copy_within(d + to..old, nd + at);
        self.buf.truncate(old - HEAD * dk - END * m - bytes);
        self.len -= m as u32;
        self.shift_ends(i, n - m, -(bytes as isize));
        if keyed {
            let j = i / S;
            if j == 0 || j == k - 1 {
                self.refresh_skip();
            }
        }
    }

    /// Inserts `s` as string `i` (`i <= len < N`): a key with its head if
    /// `S` is 1, a string with none if `S` is 0 (a leaf inserts pairs).
    pub(crate) fn insert(&mut self, i: usize, s: &[u8]) {
        debug_assert!(S <= 1, "a leaf inserts key-value pairs");
        self.insert_parts(i, &[s], S == 1);
    }

    /// Appends `s`.
    pub(crate) fn push(&mut self, s: &[u8]) {
        self.insert(self.len(), s);
    }

    /// Removes string `i` (`i < len`; `S` is 0 or 1).
    pub(crate) fn remove(&mut self, i: usize) {
        debug_assert!(S <= 1, "a leaf removes key-value pairs");
        self.remove_parts(i, 1, S == 1);
    }

    /// Inserts key `key` and its value as pair `j` (`S` is 2).
    pub(crate) fn insert_pair(&mut self, j: usize, key: &[u8], value: &[u8]) {
        debug_assert_eq!(S, 2);
        self.insert_parts(2 * j, &[key, value], true);
    }

    /// Removes pair `j` (`S` is 2).
    pub(crate) fn remove_pair(&mut self, j: usize) {
        debug_assert_eq!(S, 2);
        self.remove_parts(2 * j, 2, true);
    }

    /// Replaces string `i` with `s`: in place if it is as long and not a
    /// key, else by rebuilding the buffer.
    pub(crate) fn replace(&mut self, i: usize, s: &[u8]) {
        let (at, end) = (self.start(i), self.end(i));
        let is_key = S != 0 && i.is_multiple_of(S);
        if s.len() == end - at && !is_key {
            let d = self.data_start();
            self.buf[d + at..d + end].copy_from_slice(s);
            return;
        }
        let parts: Vec<&[u8]> = (0..self.len())
            .map(|x| if x == i { s } else { self.get(x) })
            .collect();
        *self = self.rebuilt(Self::from_parts(parts.into_iter()));
    }

    /// `new` (made of this one's strings) with this one's front.
    fn rebuilt(&self, mut new: Self) -> Self {
        new.copy_front_from(self);
        new
    }

    /// Strings made of `parts` (at most `N`), in one allocation of exactly
    /// their size (a zeroed front).
    pub(crate) fn from_parts<'a>(parts: impl Iterator<Item = &'a [u8]>) -> Self {
        let parts: SmallVec<[&[u8]; 64]> = parts.collect();
        Self::from_indexed(parts.len(), |i| parts[i])
    }

    /// Strings `part(0), …, part(count - 1)` (at most `N`), in one
    /// allocation of exactly their size. `part` is called a few times per
    /// string (one pass per region of the buffer, so each pass writes one
    /// region in order): for inputs that are cheap to index again, such
    /// as a bulk load's slice, which then needs no list of parts built
    /// first (that took a quarter of a bulk load's time in a profile).
    #[inline]
    pub(crate) fn from_indexed<'a>(count: usize, part: impl Fn(usize) -> &'a [u8]) -> Self {
        debug_assert!(count <= N);
        let bytes: usize = (0..count).map(|i| part(i).len()).sum();
        let keys = Self::keys_of(count);
        let skip = if keys == 0 {
            0
        } else {
            Self::skip_of(keys, part(0), part(S * (keys - 1)))
        };
        let data = F + HEAD * keys + END * count;
        let mut buf = Buf::with_capacity(data + bytes);
        buf.resize(data + bytes);
        let (_, rest) = buf.split_at_mut(F);
        let (heads, rest) = rest.split_at_mut(HEAD * keys);
        let (ends, mut out) = rest.split_at_mut(END * count);
        if S != 0 {
            for (j, h) in heads.chunks_exact_mut(HEAD).enumerate() {
                h.copy_from_slice(&head_at(part(S * j), skip).to_ne_bytes());
            }
        }
        let mut end = 0usize;
        for (i, e) in ends.chunks_exact_mut(END).enumerate() {
            end += part(i).len();
            e.copy_from_slice(&(end as u32).to_le_bytes());
        }
        for i in 0..count {
            let p = part(i);
            let (d, more) = out.split_at_mut(p.len());
            copy_short(d, p);
            out = more;
        }
        Strings {
            len: count as u32,
            skip: skip as u32,
            pre: if keys == 0 {
                0
            } else {
                Self::pre_of(skip, part(0))
            },
            buf,
        }
    }

    /// Moves strings `at..` into a new `Strings` (`at` a multiple of `S`).
    pub(crate) fn split_off(&mut self, at: usize) -> Self {
        debug_assert!(S == 0 || at.is_multiple_of(S));
        let right = Self::from_parts((at..self.len()).map(|x| self.get(x)));
        self.truncate(at);
        // The left part keeps what it holds plus an eighth, not the whole
        // node's buffer.
        let keep = self.buf.len();
        self.buf.shrink_to(keep + keep / 8);
        right
    }

    /// Appends strings `from..to` of `other` (`from` a multiple of `S`).
    pub(crate) fn extend_from(&mut self, other: &Self, from: usize, to: usize) {
        debug_assert!(from <= to && to <= other.len() && self.len() + (to - from) <= N);
        debug_assert!(S == 0 || (from.is_multiple_of(S) && self.len().is_multiple_of(S)));
        let mine = (0..self.len()).map(|x| self.get(x));
        let theirs = (from..to).map(|x| other.get(x));
        *self = self.rebuilt(Self::from_parts(mine.chain(theirs)));
    }

    /// Keeps the first `n` strings (`n` a multiple of `S`).
    pub(crate) fn truncate(&mut self, n: usize) {
        debug_assert!(S == 0 || n.is_multiple_of(S));
        if n >= self.len() {
            return;
        }
        // In place: the first heads stay, the first ends and the bytes of
        // the first strings move left over the dropped heads and ends.
        let keep = self.start(n);
        let (e, d) = (self.ends_start(), self.data_start());
        let ne = F + HEAD * Self::keys_of(n);
        self.buf.copy_within(e..e + END * n, ne);
        self.buf.copy_within(d..d + keep, ne + END * n);
        self.buf.truncate(ne + END * n + keep);
        self.len = n as u32;
        self.refresh_skip();
    }

    /// Where `key` goes among the heads: `Ok((lt, h))` if head `lt` is
    /// `key`'s own, `h` (the keys before `lt` are below `key`, and the
    /// keys whose heads tie from `lt` on must be compared), `Err(at)` if
    /// none is (exactly `at` keys are below `key`). Compares `key` with
    /// the shared prefix once, then with the heads.
    #[inline]
    fn first_tie(&self, key: &[u8]) -> Result<(usize, u64), usize> {
        let k = self.keys();
        if k == 0 {
            return Err(0);
        }
        let skip = self.skip as usize;
        if skip > 0 {
            let n = skip.min(key.len());
            let order = if skip <= HEAD {
                // The first `n` bytes of each as big-endian words (the
                // node's `pre`, no read of its buffer), cut to the `n`
                // compared: they order as those bytes do.
                let cut = 8 * (HEAD - n) as u32;
                (head_u64(key).checked_shr(cut).unwrap_or(0))
                    .cmp(&self.pre.checked_shr(cut).unwrap_or(0))
            } else {
                // Key 0 starts where the data does: its first `skip`
                // bytes without a read of its end.
                let d = self.data_start();
                key[..n].cmp(&self.buf[d..d + n])
            };
            match order {
                core::cmp::Ordering::Less => return Err(0),
                core::cmp::Ordering::Greater => return Err(k),
                // A proper prefix of the shared bytes sorts first.
                core::cmp::Ordering::Equal if key.len() < skip => return Err(0),
                core::cmp::Ordering::Equal => {}
            }
        }
        let h = head_at(key, skip);
        let (heads, _) = self.buf[F..F + HEAD * k].as_chunks::<HEAD>();
        let lt = count_ascending(heads, |x| x < h);
        // Most searches find no head equal to theirs (or one, at the key
        // itself): the run of ties is searched only when there is one.
        if lt == k || u64::from_ne_bytes(heads[lt]) != h {
            return Err(lt);
        }
        Ok((lt, h))
    }

    /// One past the last key whose head is `h`, given that head `lt` is
    /// the first.
    #[inline]
    fn tie_end(&self, lt: usize, h: u64) -> usize {
        let (heads, _) = self.buf[F..F + HEAD * self.keys()].as_chunks::<HEAD>();
        lt + 1 + count_ascending(&heads[lt + 1..], |x| x <= h)
    }

    /// The index of the key equal to `key`, or where it would go, among
    /// the keys (`S` is 1 or 2).
    #[inline]
    pub(crate) fn find(&self, key: &[u8]) -> Result<usize, usize> {
        debug_assert!(S != 0);
        let (lo, hi) = match self.first_tie(key) {
            // The key whose head is the sought key's own is most often
            // that key (a hit): one compare, not a search of the ties.
            Ok((lt, _)) if same_bytes(self.key(lt), key) => return Ok(lt),
            Ok((lt, h)) => (lt, self.tie_end(lt, h)),
            Err(at) => return Err(at),
        };
        self.find_in_ties(key, lo, hi)
    }

    /// [`find`](Self::find) among keys `lo..hi`, whose heads tie with
    /// `key`'s (the keys before `lo` are below it, those from `hi` on
    /// above it).
    #[inline]
    fn find_in_ties(&self, key: &[u8], mut lo: usize, mut hi: usize) -> Result<usize, usize> {
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.key(mid).cmp(key) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// The index of the key equal to `key` and the string after it (its
    /// value), if the key is here (`S` is 2: keys and values alternate).
    /// A point read's search: where a head finds the key (most hits),
    /// the key's start and end and its value's end are read in one load
    /// of the ends, and neither string is looked up again.
    #[inline]
    pub(crate) fn find_with_next(&self, key: &[u8]) -> Option<(usize, &[u8])> {
        debug_assert!(S == 2);
        let (lt, h) = self.first_tie(key).ok()?;
        let (start, end, next) = self.pair(S * lt);
        let data = &self.buf[self.data_start()..];
        if same_bytes(&data[start..end], key) {
            return Some((lt, &data[end..next]));
        }
        // Another key of the same head (or none): the run of ties is
        // searched as `find` does.
        let j = self.find_in_ties(key, lt, self.tie_end(lt, h)).ok()?;
        Some((j, self.get(S * j + 1)))
    }

    /// Where string `i` starts and ends and where string `i + 1` ends
    /// (from the start of the data; `i + 1 < len`), in one bounds check.
    #[inline]
    fn pair(&self, i: usize) -> (usize, usize, usize) {
        let at = self.ends_start() + END * i;
        let word = |b: &[u8; END]| u32::from_le_bytes(*b) as usize;
        if i == 0 {
            let (e, _) = self.buf[at..]
                .split_first_chunk::<{ 2 * END }>()
                .expect("strings `i` and `i + 1` have ends");
            let (a, b) = e.split_at(END);
            (
                0,
                word(a.try_into().expect("4")),
                word(b.try_into().expect("4")),
            )
        } else {
            let (e, _) = self.buf[at - END..]
                .split_first_chunk::<{ 3 * END }>()
                .expect("strings `i - 1` to `i + 1` have ends");
            let (s, rest) = e.split_at(END);
            let (a, b) = rest.split_at(END);
            (
                word(s.try_into().expect("4")),
                word(a.try_into().expect("4")),
                word(b.try_into().expect("4")),
            )
        }
    }

    /// How many of the keys are `<= key` (`S` is 1 or 2).
    #[inline]
    pub(crate) fn count_le(&self, key: &[u8]) -> usize {
        debug_assert!(S != 0);
        let (mut lo, mut hi) = match self.first_tie(key) {
            // Keys ascend strictly: if the first tied key is `key`, the
            // ones after it are above it.
            Ok((lt, _)) if same_bytes(self.key(lt), key) => return lt + 1,
            Ok((lt, h)) => (lt, self.tie_end(lt, h)),
            Err(at) => return at,
        };
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.key(mid) <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Whether `skip` and the heads agree with the keys (the structure
    /// check's).
    pub(crate) fn heads_agree(&self) -> bool {
        let k = self.keys();
        if S == 0 {
            return self.skip == 0;
        }
        if k == 0 {
            return true;
        }
        let skip = Self::skip_of(k, self.key(0), self.key(k - 1));
        skip == self.skip as usize
            && self.pre == Self::pre_of(skip, self.key(0))
            && (0..k).all(|j| self.head(j) == head_at(self.key(j), skip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents<const N: usize, const S: usize>(s: &Strings<N, S>) -> Vec<Vec<u8>> {
        (0..s.len()).map(|i| s.get(i).to_vec()).collect()
    }

    /// A small random generator for the tests.
    fn next(x: &mut u64) -> usize {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*x >> 33) as usize
    }

    /// Random edits of unordered strings (no keys) against a `Vec`.
    #[test]
    fn counts_of_ascending_heads_agree_with_a_pass_over_them() {
        // Every length a node has, runs of equal heads among them, every
        // threshold around each head.
        for n in 0..=40usize {
            let heads: Vec<[u8; HEAD]> =
                (0..n).map(|i| ((i / 3 * 2) as u64).to_ne_bytes()).collect();
            for h in 0..=(n as u64 + 2) {
                let lt = heads.iter().filter(|x| u64::from_ne_bytes(**x) < h).count();
                let le = heads
                    .iter()
                    .filter(|x| u64::from_ne_bytes(**x) <= h)
                    .count();
                assert_eq!(count_ascending(&heads, |x| x < h), lt, "{n} {h}");
                assert_eq!(count_ascending(&heads, |x| x <= h), le, "{n} {h}");
            }
        }
    }

    #[test]
    fn heads_and_short_copies_agree_with_their_definitions() {
        let bytes: Vec<u8> = (1..=24u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..=bytes.len() {
            let s = &bytes[..len];
            for skip in 0..=len + 2 {
                let mut b = [0u8; HEAD];
                let rest = s.get(skip..).unwrap_or(&[]);
                let n = rest.len().min(HEAD);
                b[..n].copy_from_slice(&rest[..n]);
                assert_eq!(
                    head_at(s, skip),
                    u64::from_be_bytes(b),
                    "len {len} skip {skip}"
                );
            }
            let mut d = vec![0u8; len];
            copy_short(&mut d, s);
            assert_eq!(d, s);
        }
    }

    #[test]
    fn edits_agree_with_a_vec() {
        let mut s = Strings::<16, 0>::new();
        let mut m: Vec<Vec<u8>> = Vec::new();
        let mut x = 7u64;
        for step in 0..4000 {
            let r = next(&mut x);
            let word = vec![(r % 251) as u8; r % 9];
            match r % 5 {
                0 | 1 if m.len() < 16 => {
                    let i = r % (m.len() + 1);
                    s.insert(i, &word);
                    m.insert(i, word);
                }
                2 if !m.is_empty() => {
                    let i = r % m.len();
                    s.remove(i);
                    m.remove(i);
                }
                3 if !m.is_empty() => {
                    let i = r % m.len();
                    s.replace(i, &word);
                    m[i] = word;
                }
                4 if !m.is_empty() => {
                    let at = r % (m.len() + 1);
                    let right = s.split_off(at);
                    let mr = m.split_off(at);
                    assert_eq!(contents(&right), mr, "step {step}");
                    let keep = r % (at + 1);
                    s.truncate(keep);
                    m.truncate(keep);
                    let (from, to) = (r % (mr.len() + 1), mr.len());
                    let take = (to - from).min(16 - m.len());
                    s.extend_from(&right, from, from + take);
                    m.extend_from_slice(&mr[from..from + take]);
                }
                _ => {}
            }
            assert_eq!(contents(&s), m, "step {step}");
            assert_eq!(s.data_len(), m.iter().map(Vec::len).sum::<usize>());
            let from = r % (m.len() + 2);
            let walked: Vec<&[u8]> = s.iter_from(from).collect();
            let want: Vec<&[u8]> = m.iter().skip(from).map(|w| &w[..]).collect();
            assert_eq!(walked, want, "step {step}");
            assert!(s.heads_agree());
        }
    }

    /// Keys drawn so that many share long prefixes, are prefixes of one
    /// another, or end in zero bytes: where heads tie and `skip` moves.
    fn tricky_key(r: usize) -> Vec<u8> {
        let stems: [&[u8]; 6] = [
            b"",
            b"a",
            b"https://example.org/",
            b"\0\0\0\0\0\0\0\0\0",
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
            b"tbl:0001:",
        ];
        let mut k = stems[r % stems.len()].to_vec();
        let tail = (r / 7) % 5;
        for t in 0..tail {
            k.push([0u8, 1, b'a', 0xff, b'z'][(r / 11 + t) % 5]);
        }
        k
    }

    /// Random edits of sorted keys (`S` = 1) and of key-value pairs
    /// (`S` = 2) against a `BTreeMap`, checking every search and the heads
    /// after each step.
    #[test]
    fn keyed_edits_and_searches_agree_with_a_model() {
        use std::collections::BTreeMap;
        let mut x = 11u64;
        for round in 0..40 {
            let mut keys = Strings::<16, 1>::new();
            let mut pairs = Strings::<32, 2>::new();
            let mut m: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for step in 0..300 {
                let r = next(&mut x);
                let k = tricky_key(r);
                match (r / 3) % 4 {
                    0 | 1 if m.len() < 16 && !m.contains_key(&k) => {
                        let j = m.keys().take_while(|w| **w < k).count();
                        let v = vec![(r % 13) as u8; r % 4];
                        keys.insert(j, &k);
                        pairs.insert_pair(j, &k, &v);
                        m.insert(k, v);
                    }
                    2 if !m.is_empty() => {
                        let j = r % m.len();
                        let key = m.keys().nth(j).unwrap().clone();
                        keys.remove(j);
                        pairs.remove_pair(j);
                        m.remove(&key);
                    }
                    3 if !m.is_empty() => {
                        let j = r % m.len();
                        let v = vec![(r % 17) as u8; r % 6];
                        pairs.replace(2 * j + 1, &v);
                        *m.values_mut().nth(j).unwrap() = v;
                    }
                    _ => {}
                }
                if step % 50 == 49 && m.len() >= 2 {
                    // Split, then put the halves back together.
                    let at = r % m.len();
                    let rk = keys.split_off(at);
                    let rp = pairs.split_off(2 * at);
                    keys.extend_from(&rk, 0, rk.len());
                    pairs.extend_from(&rp, 0, rp.len());
                }
                let want: Vec<&Vec<u8>> = m.keys().collect();
                assert_eq!(keys.len(), want.len());
                assert!(
                    keys.heads_agree() && pairs.heads_agree(),
                    "round {round} step {step}"
                );
                for (j, (k, v)) in m.iter().enumerate() {
                    assert_eq!(keys.get(j), &k[..]);
                    assert_eq!((pairs.get(2 * j), pairs.get(2 * j + 1)), (&k[..], &v[..]));
                }
                let walked: Vec<&[u8]> = pairs.iter_from(0).collect();
                let flat: Vec<&[u8]> = m.iter().flat_map(|(k, v)| [&k[..], &v[..]]).collect();
                assert_eq!(walked, flat);
                for probe in (0..8).map(|t| tricky_key(r / 5 + t * 977)) {
                    let le = want.iter().filter(|w| w[..] <= probe[..]).count();
                    let found = want.binary_search_by(|w| w[..].cmp(&probe[..]));
                    assert_eq!(keys.count_le(&probe), le, "{probe:?}");
                    assert_eq!(pairs.count_le(&probe), le, "{probe:?}");
                    assert_eq!(keys.find(&probe), found, "{probe:?}");
                    assert_eq!(pairs.find(&probe), found, "{probe:?}");
                }
            }
        }
    }

    /// A point read (`find_with_next`) finds the key `find` finds, with
    /// its value, and nothing for a key that is not there.
    #[test]
    fn a_point_read_finds_each_key_and_its_value() {
        // Keys whose heads tie (they share more than a head past the
        // shared prefix), one key a prefix of another, the empty key.
        let mut keys: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"k".to_vec(),
            b"key-0123456789-a".to_vec(),
            b"key-0123456789-b".to_vec(),
            b"key-0123456789".to_vec(),
            b"key-01234567".to_vec(),
            b"key-1".to_vec(),
            b"z\xff\xff".to_vec(),
        ];
        keys.sort();
        let model: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), vec![i as u8; i]))
            .collect();
        for skip_all in [false, true] {
            let mut s = Strings::<32, 2>::new();
            for (k, v) in &model {
                if skip_all && k.len() < 4 {
                    continue;
                }
                s.insert_pair(s.keys(), k, v);
            }
            let mut probes: Vec<Vec<u8>> = keys.clone();
            probes.extend(keys.iter().map(|k| [&k[..], b"\0"].concat()));
            probes.extend(
                keys.iter()
                    .filter(|k| !k.is_empty())
                    .map(|k| k[..k.len() - 1].to_vec()),
            );
            for p in &probes {
                let want = model
                    .get(p)
                    .filter(|_| !skip_all || p.len() >= 4)
                    .map(|v| (s.find(p).expect("present"), &v[..]));
                assert_eq!(s.find_with_next(p), want, "{p:?}");
            }
        }
    }

    /// Keys whose heads tie (a shared 8-byte prefix after the shared
    /// bytes, keys that are prefixes of others, zero bytes at the end) are
    /// told apart by their bytes, and keys that all share a long prefix
    /// get heads after it.
    #[test]
    fn searches_through_shared_prefixes_and_tied_heads() {
        let mut words: Vec<Vec<u8>> = vec![
            b"https://a.example/1".to_vec(),
            b"https://a.example/2".to_vec(),
            b"https://a.example/10".to_vec(),
            b"https://b.example".to_vec(),
            b"https://".to_vec(),
            b"https://\0".to_vec(),
            b"https://a.example/1\0".to_vec(),
        ];
        words.sort();
        let mut s = Strings::<16, 1>::new();
        for w in &words {
            s.push(w);
        }
        assert_eq!(s.skip, 8, "every key starts with https://");
        let probes: [&[u8]; 9] = [
            b"",
            b"http",
            b"https:/",
            b"https://",
            b"https://a",
            b"https://a.example/1",
            b"https://a.example/11",
            b"https://z",
            b"i",
        ];
        for p in probes {
            let le = words.iter().filter(|w| w[..] <= *p).count();
            assert_eq!(s.count_le(p), le, "{p:?}");
            assert_eq!(s.find(p), words.binary_search_by(|w| w[..].cmp(p)), "{p:?}");
        }
    }
}
