//! [`Fixed`]: a leaf's entries as records of 16 or 24 bytes, for leaves
//! whose keys all have one length of at most 16 bytes and whose values
//! all have one length of at most 8 bytes (u64 keys and values, the
//! commonest table of all; ids behind a table prefix; the tuple codec's
//! (table, row) keys).
//!
//! ```text
//! keys of up to 8 bytes:  [ key 0, zero-padded to 8  ][ value 0, zero-padded to 8 ][ key 1 … ] …
//! keys of 9 to 16 bytes:  [ key 0, zero-padded to 16 ][ value 0, zero-padded to 8 ][ key 1 … ] …
//! ```
//!
//! A packed leaf (`strings::Strings`) keeps a head per key, an end per
//! key and per value, then the bytes: 32 bytes an entry for u64 keys and
//! values, in three regions, so that a point read's search reads the
//! heads, then the ends of the entry it found, then its bytes. Here a
//! key is its own head (read big-endian), the value sits beside it, and
//! a search's last probe lands on the line that holds the value: half
//! the bytes a copy moves, a reader asks for and a table keeps. In the
//! layout probe a get of 1M keys took 18-26% less time with leaves of
//! such records than with the packed leaf's regions (`cargo run
//! --release -p ordex-persistent --example layout_probe -- 1000000 32
//! 7`), and in the tree, at 1M, random u64 gets ran 1.07× and loads
//! 1.11× as fast, ascending ids' loads 1.12× and composite keys' 1.09×
//! (`index-bench ab`; docs/persistent.md, *Leaves of records*).
//!
//! A leaf's parent keeps the leaf's *descriptor* as its child's hint
//! (the records' address, count and lengths in one word, see
//! [`Fixed::descriptor`]), and a point read of a published version
//! searches the records through it ([`View::described`]) without reading
//! the leaf's node: gets of random u64 keys at 1M ran 1.04–1.05× and of
//! composite keys 1.08–1.10× as fast (`index-bench ab`; docs/persistent.md,
//! *A leaf of records read through its parent*).
//!
//! Order: every key has the same length, so keys order as their
//! zero-padded 8 (or 16) bytes read big-endian (two keys of one length
//! with the same padded bytes are the same key).

use crate::buf::Buf;
use crate::strings::capacity_for;
use ordex_core::head::head_u64;

/// Bytes of a value's room in a record, and of a short key's.
pub(crate) const WORD: usize = 8;
/// Most bytes of a key in a record.
pub(crate) const KEY_MAX: usize = 2 * WORD;

/// Up to `LEAF_CAP` entries as records of 16 bytes (keys of up to 8
/// bytes) or 24 (keys of 9 to 16), see the [module docs](self).
pub(crate) struct Fixed {
    /// How many entries.
    n: u32,
    /// The length of every key (0 to 16).
    klen: u8,
    /// The length of every value (0 to 8).
    vlen: u8,
    /// `n` records, nothing after them.
    buf: Buf,
}

/// Bit 63 of a child's hint: the hint is a leaf of records'
/// [descriptor](Fixed::descriptor), not an address and a line count.
pub(crate) const DESCRIPTOR: u64 = 1 << 63;
/// Where a descriptor's fields start: the address in bits `0..48`, the
/// count of records in `48..54`, the key length in `54..59`, the value
/// length in `59..63`.
const DESC_N_AT: u32 = 48;
const DESC_KLEN_AT: u32 = 54;
const DESC_VLEN_AT: u32 = 59;

const _: () = {
    assert!(crate::node::LEAF_CAP < 1 << (DESC_KLEN_AT - DESC_N_AT));
    assert!(KEY_MAX < 1 << (DESC_VLEN_AT - DESC_KLEN_AT));
    assert!(WORD < 1 << (63 - DESC_VLEN_AT));
};

/// Bytes of a record whose key is `klen` bytes long: the key's room (8
/// or 16), then the value's 8.
#[inline(always)]
fn stride_of(klen: u8) -> usize {
    if usize::from(klen) > WORD {
        KEY_MAX + WORD
    } else {
        2 * WORD
    }
}

/// A descriptor's address, count of records, key and value lengths.
#[inline(always)]
fn decode(d: u64) -> (usize, u32, u8, u8) {
    let field = |at: u32, to: u32| (d >> at) & ((1 << (to - at)) - 1);
    (
        field(0, DESC_N_AT) as usize,
        field(DESC_N_AT, DESC_KLEN_AT) as u32,
        field(DESC_KLEN_AT, DESC_VLEN_AT) as u8,
        field(DESC_VLEN_AT, 63) as u8,
    )
}

/// A leaf's records as a reader searches them: the bytes, how many
/// records, the lengths of keys and values.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    bytes: &'a [u8],
    n: u32,
    klen: u8,
    vlen: u8,
}

impl<'a> View<'a> {
    /// The records a [descriptor](Fixed::descriptor) names, read without
    /// the leaf's node.
    ///
    /// # Safety
    ///
    /// `d` is the descriptor of a leaf of records that stays alive and
    /// unchanged for `'a` (a leaf reachable from a published version,
    /// whose parent keeps its descriptor exact: see `node::Child`).
    #[inline(always)]
    pub(crate) unsafe fn described(d: u64) -> View<'a> {
        debug_assert!(d & DESCRIPTOR != 0);
        let (addr, n, klen, vlen) = decode(d);
        let len = stride_of(klen) * n as usize;
        // SAFETY: by the contract, `addr` is the leaf's buffer, holding
        // `n` records of this stride, initialised, alive and unwritten
        // for `'a`; a pointer rebuilt from that address takes the
        // provenance of the block, which `Fixed::descriptor` exposed.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::with_exposed_provenance::<u8>(addr), len)
        };
        View {
            bytes,
            n,
            klen,
            vlen,
        }
    }

    /// The address and length of the records a descriptor names (for
    /// their prefetch; never dereferenced).
    #[inline(always)]
    pub(crate) fn described_bytes(d: u64) -> (usize, usize) {
        let (addr, n, klen, _) = decode(d);
        (addr, stride_of(klen) * n as usize)
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.n as usize
    }

    /// Whether keys take 16 bytes of a record (they are longer than 8).
    #[inline(always)]
    fn wide(&self) -> bool {
        usize::from(self.klen) > WORD
    }

    /// Bytes of one record: the key's room, then the value's 8.
    #[inline(always)]
    fn stride(&self) -> usize {
        stride_of(self.klen)
    }

    /// Key `i`'s 8 zero-padded bytes read big-endian: its order (short
    /// keys; the stride a constant, so a search's probes need no
    /// multiply).
    #[inline(always)]
    fn head(&self, i: usize) -> u64 {
        const S: usize = 2 * WORD;
        let b = &self.bytes[S * i..S * i + WORD];
        u64::from_be_bytes(*b.first_chunk().expect("8 bytes"))
    }

    /// Key `i`'s 16 zero-padded bytes read big-endian: its order (wide
    /// keys).
    #[inline(always)]
    fn head_wide(&self, i: usize) -> u128 {
        const S: usize = KEY_MAX + WORD;
        let b = &self.bytes[S * i..S * i + KEY_MAX];
        u128::from_be_bytes(*b.first_chunk().expect("16 bytes"))
    }

    /// Value `i`: the record's last 8 bytes, cut to the values' length.
    #[inline(always)]
    pub(crate) fn value(&self, i: usize) -> &'a [u8] {
        let at = self.stride() * (i + 1) - WORD;
        &self.bytes[at..at + usize::from(self.vlen)]
    }

    /// How many keys have a head below `h`, the heads read by `head` (a
    /// branch-free binary search, as a packed leaf's over its heads).
    #[inline(always)]
    fn count_below<H: Ord + Copy>(&self, h: H, head: impl Fn(usize) -> H) -> usize {
        let n = self.len();
        if n == 0 {
            return 0;
        }
        // Invariant: the count lies in `lo..=lo + len`, every probe in
        // bounds.
        let (mut lo, mut len) = (0, n);
        while len > 1 {
            let half = len / 2;
            let mid = lo + half;
            lo = core::hint::select_unpredictable(head(mid) < h, mid, lo);
            len -= half;
        }
        lo + usize::from(head(lo) < h)
    }

    /// Where `key` goes by its head: `(i, tie)`, `i` the count of keys
    /// whose head is below `key`'s, `tie` whether key `i`'s head is
    /// `key`'s (then key `i` is `key`, a prefix of it, or it with zeros
    /// after it: the lengths tell).
    #[inline(always)]
    fn place(&self, key: &[u8]) -> (usize, bool) {
        if self.wide() {
            let rest = key.get(WORD..).unwrap_or_default();
            let h = u128::from(head_u64(key)) << 64 | u128::from(head_u64(rest));
            let i = self.count_below(h, |j| self.head_wide(j));
            (i, i < self.len() && self.head_wide(i) == h)
        } else {
            let h = head_u64(key);
            let i = self.count_below(h, |j| self.head(j));
            (i, i < self.len() && self.head(i) == h)
        }
    }

    /// The index of `key`, or where it would go.
    #[inline]
    pub(crate) fn search(&self, key: &[u8]) -> Result<usize, usize> {
        let (i, tie) = self.place(key);
        if tie {
            // Key `i` is `key`'s first 8 bytes or `key` with zeros after
            // it, or `key` itself: the shorter sorts first.
            let kl = usize::from(self.klen);
            return match key.len().cmp(&kl) {
                core::cmp::Ordering::Equal => Ok(i),
                core::cmp::Ordering::Greater => Err(i + 1),
                core::cmp::Ordering::Less => Err(i),
            };
        }
        Err(i)
    }

    /// The value of `key`, if it is here.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        if key.len() != usize::from(self.klen) {
            return None;
        }
        let (i, tie) = self.place(key);
        tie.then(|| self.value(i))
    }
}

impl Clone for Fixed {
    /// A copy whose capacity is the length rounded up to a capacity step
    /// (often room for the write that copied it), as a packed leaf's.
    fn clone(&self) -> Self {
        let mut buf = Buf::with_capacity(capacity_for(self.buf.len()));
        buf.extend_from_slice(&self.buf);
        Fixed {
            n: self.n,
            klen: self.klen,
            vlen: self.vlen,
            buf,
        }
    }
}

impl Fixed {
    /// No entries (any key and value of at most 8 bytes fit).
    pub(crate) fn new() -> Fixed {
        Fixed {
            n: 0,
            klen: 0,
            vlen: 0,
            buf: Buf::new(),
        }
    }

    /// Whether `key` and `value` can go in: both at most 8 bytes, and as
    /// long as the entries' (if there are any).
    #[inline]
    pub(crate) fn fits(&self, key: &[u8], value: &[u8]) -> bool {
        if self.n == 0 {
            key.len() <= KEY_MAX && value.len() <= WORD
        } else {
            key.len() == usize::from(self.klen) && value.len() == usize::from(self.vlen)
        }
    }

    /// Whether a leaf of `entries` (keys ascending) can be one of these.
    pub(crate) fn all_fit<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> bool {
        let Some((k0, v0)) = entries.first() else {
            return true;
        };
        let (kl, vl) = (k0.as_ref().len(), v0.as_ref().len());
        kl <= KEY_MAX
            && vl <= WORD
            && entries
                .iter()
                .all(|(k, v)| k.as_ref().len() == kl && v.as_ref().len() == vl)
    }

    /// A leaf of `entries` (at most `LEAF_CAP`, keys ascending, every one
    /// fitting: see [`all_fit`](Self::all_fit)), in one allocation of
    /// exactly its size.
    pub(crate) fn from_entries<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Fixed {
        debug_assert!(Self::all_fit(entries));
        let mut f = Fixed::new();
        if let Some((k, v)) = entries.first() {
            f.klen = k.as_ref().len() as u8;
            f.vlen = v.as_ref().len() as u8;
        }
        let (rec, at) = (f.stride(), f.value_at());
        f.buf = Buf::with_capacity(rec * entries.len());
        f.buf.resize(rec * entries.len());
        for (r, (k, v)) in f.buf.chunks_exact_mut(rec).zip(entries) {
            let (k, v) = (k.as_ref(), v.as_ref());
            r[..k.len()].copy_from_slice(k);
            r[at..at + v.len()].copy_from_slice(v);
        }
        f.n = entries.len() as u32;
        f
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.n as usize
    }

    /// The records as a reader sees them.
    #[inline(always)]
    fn view(&self) -> View<'_> {
        View {
            bytes: &self.buf,
            n: self.n,
            klen: self.klen,
            vlen: self.vlen,
        }
    }

    /// Bytes of one record: the key's room, then the value's 8.
    #[inline(always)]
    fn stride(&self) -> usize {
        stride_of(self.klen)
    }

    /// Where a record's value starts.
    #[inline(always)]
    fn value_at(&self) -> usize {
        self.stride() - WORD
    }

    /// Record `i`'s bytes.
    #[inline(always)]
    fn rec(&self, i: usize) -> &[u8] {
        let s = self.stride();
        &self.buf[s * i..s * i + s]
    }

    #[inline]
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        &self.rec(i)[..usize::from(self.klen)]
    }

    #[inline]
    pub(crate) fn value(&self, i: usize) -> &[u8] {
        let at = self.value_at();
        &self.rec(i)[at..at + usize::from(self.vlen)]
    }

    /// The index of `key`, or where it would go.
    #[inline]
    pub(crate) fn search(&self, key: &[u8]) -> Result<usize, usize> {
        self.view().search(key)
    }

    /// The value of `key`, if it is here.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.view().get(key)
    }

    /// The leaf's *descriptor*: its records' address, count and lengths
    /// in one word, which a parent keeps as its child's hint (see
    /// [`View::described`]); `None` where they do not fit one (an
    /// address above 48 bits).
    #[inline]
    pub(crate) fn descriptor(&self) -> Option<u64> {
        let addr = self.buf.as_ptr().expose_provenance() as u64;
        (addr < 1 << DESC_N_AT && u64::from(self.n) < 1 << (DESC_KLEN_AT - DESC_N_AT)).then(|| {
            DESCRIPTOR
                | u64::from(self.vlen) << DESC_VLEN_AT
                | u64::from(self.klen) << DESC_KLEN_AT
                | u64::from(self.n) << DESC_N_AT
                | addr
        })
    }

    /// The buffer's address and length (for prefetch hints).
    #[inline]
    pub(crate) fn buffer(&self) -> (usize, usize) {
        (self.buf.as_ptr() as usize, self.buf.len())
    }

    /// Heap bytes of the buffer.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Inserts `key` and `value` as entry `i` (they [`fit`](Self::fits),
    /// `i` is where `key` goes).
    pub(crate) fn insert(&mut self, i: usize, key: &[u8], value: &[u8]) {
        debug_assert!(self.fits(key, value) && i <= self.len());
        if self.n == 0 {
            self.klen = key.len() as u8;
            self.vlen = value.len() as u8;
        }
        let (rec, at) = (self.stride(), self.value_at());
        let old = self.buf.len();
        if old + rec > self.buf.capacity() {
            self.buf.reserve_to(capacity_for(old + rec));
        }
        self.buf.resize(old + rec);
        self.buf.copy_within(rec * i..old, rec * i + rec);
        let r = &mut self.buf[rec * i..rec * i + rec];
        r.fill(0);
        r[..key.len()].copy_from_slice(key);
        r[at..at + value.len()].copy_from_slice(value);
        self.n += 1;
    }

    /// Removes entry `i`.
    pub(crate) fn remove(&mut self, i: usize) {
        let rec = self.stride();
        let old = self.buf.len();
        self.buf.copy_within(rec * i + rec..old, rec * i);
        self.buf.truncate(old - rec);
        self.n -= 1;
    }

    /// Replaces value `i` with `value`, as long as the others.
    pub(crate) fn set_value(&mut self, i: usize, value: &[u8]) {
        debug_assert_eq!(value.len(), usize::from(self.vlen));
        let (rec, at) = (self.stride(), self.value_at());
        self.buf[rec * i + at..rec * i + at + value.len()].copy_from_slice(value);
    }

    /// Moves entries `at..` into a new one.
    pub(crate) fn split_off(&mut self, at: usize) -> Fixed {
        let rec = self.stride();
        let tail = &self.buf[rec * at..];
        let mut buf = Buf::with_capacity(tail.len());
        buf.extend_from_slice(tail);
        let right = Fixed {
            n: self.n - at as u32,
            klen: self.klen,
            vlen: self.vlen,
            buf,
        };
        self.buf.truncate(rec * at);
        self.n = at as u32;
        // The left part keeps what it holds plus an eighth, as a packed
        // leaf's does.
        let keep = self.buf.len();
        self.buf.shrink_to(keep + keep / 8);
        right
    }

    /// Whether `other`'s entries can follow this one's in it.
    pub(crate) fn can_append(&self, other: &Fixed) -> bool {
        self.n == 0 || other.n == 0 || (self.klen, self.vlen) == (other.klen, other.vlen)
    }

    /// Appends `other`'s entries (all greater; [`can_append`](Self::can_append)).
    pub(crate) fn append(&mut self, other: &Fixed) {
        debug_assert!(self.can_append(other));
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            self.klen = other.klen;
            self.vlen = other.vlen;
        }
        self.buf.extend_from_slice(&other.buf);
        self.n += other.n;
    }

    /// Checks the records: lengths, zero padding, keys ascending.
    pub(crate) fn check(&self) -> Result<(), String> {
        let (kl, vl) = (usize::from(self.klen), usize::from(self.vlen));
        if kl > KEY_MAX || vl > WORD || self.buf.len() != self.stride() * self.len() {
            return Err("fixed leaf: lengths and buffer disagree".into());
        }
        let at = self.value_at();
        for i in 0..self.len() {
            let r = self.rec(i);
            if r[kl..at].iter().chain(&r[at + vl..]).any(|&b| b != 0) {
                return Err(format!("fixed leaf: record {i} not zero-padded"));
            }
            if i > 0 && self.key(i - 1) >= self.key(i) {
                return Err(format!("fixed leaf: key {i} not above key {}", i - 1));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Keys of one length, values of one length: every search, get and
    /// edit agrees with a `BTreeMap`, for keys of every length up to 16
    /// (zero bytes at their ends too) and searched keys of any length.
    #[test]
    fn records_agree_with_a_btreemap() {
        for kl in 0..=KEY_MAX {
            for vl in [0, 3, 8] {
                let mut f = Fixed::new();
                let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
                let mut x = 0x2545_f491_4f6c_dd1du64 ^ (kl * 31 + vl) as u64;
                for round in 0..400u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Few distinct bytes, so keys share prefixes and end
                    // in zeros.
                    let key: Vec<u8> = (0..kl).map(|b| ((x >> (3 * b)) & 3) as u8).collect();
                    let value: Vec<u8> = (0..vl).map(|b| (round as u8) ^ b as u8).collect();
                    match (f.search(&key), x % 5) {
                        (Ok(i), 0) if f.len() > 0 => {
                            f.remove(i);
                            model.remove(&key);
                        }
                        (Ok(i), _) => {
                            f.set_value(i, &value);
                            model.insert(key, value);
                        }
                        (Err(i), _) if f.len() < 32 => {
                            assert!(f.fits(&key, &value));
                            f.insert(i, &key, &value);
                            model.insert(key, value);
                        }
                        (Err(_), _) => {}
                    }
                    f.check().unwrap();
                    let got: Vec<(Vec<u8>, Vec<u8>)> = (0..f.len())
                        .map(|i| (f.key(i).to_vec(), f.value(i).to_vec()))
                        .collect();
                    let want: Vec<(Vec<u8>, Vec<u8>)> =
                        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    assert_eq!(got, want, "klen {kl}, vlen {vl}, round {round}");
                }
                // Searches for keys of every length: shorter, longer (a
                // key with bytes after a stored one), absent.
                let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
                for k in &keys {
                    for probe in [
                        k.clone(),
                        k[..k.len().saturating_sub(1)].to_vec(),
                        [&k[..], &[0]].concat(),
                        [&k[..], &[0, 0, 0, 0, 0, 0, 0, 0, 1]].concat(),
                        [&k[..], &[9]].concat(),
                    ] {
                        let want = model.range(..probe.clone()).count();
                        let got = match f.search(&probe) {
                            Ok(i) => {
                                assert_eq!(f.key(i), &probe[..]);
                                i
                            }
                            Err(i) => i,
                        };
                        assert_eq!(got, want, "{probe:?} among {keys:?}");
                        assert_eq!(f.get(&probe), model.get(&probe).map(|v| &v[..]));
                        // The same records read through the descriptor.
                        let d = f.descriptor().expect("a heap address under 48 bits");
                        // SAFETY: `f`'s own descriptor, `f` unchanged
                        // while the view lives.
                        let view = unsafe { View::described(d) };
                        assert_eq!(view.get(&probe), f.get(&probe));
                        assert_eq!(view.search(&probe), f.search(&probe));
                    }
                }
            }
        }
    }

    #[test]
    fn splits_and_appends_keep_the_entries() {
        let entries: Vec<([u8; 8], [u8; 8])> = (0..32u64)
            .map(|i| ((i * 3).to_be_bytes(), i.to_le_bytes()))
            .collect();
        assert!(Fixed::all_fit(&entries));
        let mut left = Fixed::from_entries(&entries);
        left.check().unwrap();
        let right = left.split_off(20);
        assert_eq!((left.len(), right.len()), (20, 12));
        assert_eq!(right.key(0), &60u64.to_be_bytes()[..]);
        assert!(left.can_append(&right));
        left.append(&right);
        left.check().unwrap();
        for (i, (k, v)) in entries.iter().enumerate() {
            assert_eq!((left.key(i), left.value(i)), (&k[..], &v[..]));
        }
        let other = Fixed::from_entries(&[([1u8; 4], [2u8; 8])]);
        assert!(!left.can_append(&other));
        assert!(!Fixed::all_fit(&[
            (&[1u8; 4][..], &[0u8; 1][..]),
            (&[2u8; 4], &[0u8; 2])
        ]));
        assert!(Fixed::all_fit(&[([1u8; 16], [0u8; 1])]));
        assert!(!Fixed::all_fit(&[([1u8; 17], [0u8; 1])]));
        assert!(!Fixed::all_fit(&[([1u8; 2], [0u8; 9])]));
    }
}
