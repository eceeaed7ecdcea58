//! [`Strings`]: up to `N` byte strings packed into one buffer.
//!
//! A node keeps its keys (and a leaf its short values) here: in one
//! `Vec<u8>`, where each string ends (a `u32` per string), then the bytes
//! of every string back to back. Copying a node (the path copy of a write)
//! is then one allocation and one `memcpy` however many strings it holds,
//! a lookup touches one contiguous buffer, and a node pays for the offsets
//! of the strings it holds, not of the most it could hold. The `u32` ends
//! bound a buffer to 4 GiB, which the index's
//! [`Limits`](ordex_core::Limits) keep it under (see `node::MAX_KEY_LEN`).

/// Up to `N` byte strings in one buffer (see the [module docs](self)).
#[derive(Clone)]
pub(crate) struct Strings<const N: usize> {
    /// How many strings.
    len: u32,
    /// `len` little-endian `u32` ends (where each string ends, counted
    /// from the start of the data), then the strings' bytes back to back.
    buf: Vec<u8>,
}

/// Bytes of one end offset.
const END: usize = 4;

impl<const N: usize> Strings<N> {
    /// No strings.
    pub(crate) fn new() -> Self {
        Strings {
            len: 0,
            buf: Vec::new(),
        }
    }

    /// How many strings.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Where the data starts in `buf`.
    #[inline]
    fn data_start(&self) -> usize {
        END * self.len()
    }

    /// Where string `i` ends, from the start of the data.
    #[inline]
    fn end(&self, i: usize) -> usize {
        let at = END * i;
        u32::from_le_bytes([
            self.buf[at],
            self.buf[at + 1],
            self.buf[at + 2],
            self.buf[at + 3],
        ]) as usize
    }

    #[inline]
    fn set_end(&mut self, i: usize, end: usize) {
        self.buf[END * i..END * (i + 1)].copy_from_slice(&(end as u32).to_le_bytes());
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

    /// The last string (`len > 0`).
    pub(crate) fn last(&self) -> &[u8] {
        self.get(self.len() - 1)
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
    /// buffer of exactly its length (`Vec::clone`), and the write then
    /// grows it: doubling, as `Vec` does, would leave most copied nodes
    /// with twice the bytes they hold, so the buffer grows by what is
    /// needed plus an eighth (a batch writing many entries into one node
    /// still reallocates only every few entries).
    #[inline]
    fn grow(&mut self, extra: usize) {
        if self.buf.capacity() - self.buf.len() < extra {
            self.buf.reserve_exact(extra + self.buf.len() / 8);
        }
    }

    /// Adds `delta` to the ends of strings `from..to`.
    fn shift_ends(&mut self, from: usize, to: usize, delta: isize) {
        for j in from..to {
            let e = self.end(j) as isize + delta;
            self.set_end(j, e as usize);
        }
    }

    /// Inserts `s` as string `i` (`i <= len < N`): the bytes after it and
    /// the ends after its own move right with one `memmove` each.
    pub(crate) fn insert(&mut self, i: usize, s: &[u8]) {
        let n = self.len();
        debug_assert!(i <= n && n < N);
        let at = self.start(i);
        self.grow(END + s.len());
        let d = self.data_start();
        let old = self.buf.len();
        self.buf.resize(old + END + s.len(), 0);
        // Right to left, so that nothing is overwritten before it moves:
        // the strings after `i`, the strings before it, then the ends
        // after `i`'s.
        self.buf.copy_within(d + at..old, d + END + at + s.len());
        self.buf.copy_within(d..d + at, d + END);
        self.buf.copy_within(END * i..END * n, END * (i + 1));
        let new_d = d + END;
        self.buf[new_d + at..new_d + at + s.len()].copy_from_slice(s);
        self.len += 1;
        self.set_end(i, at + s.len());
        self.shift_ends(i + 1, n + 1, s.len() as isize);
    }

    /// Strings made of `parts` (at most `N`), in one allocation of exactly
    /// their size.
    pub(crate) fn from_parts<'a>(parts: impl Iterator<Item = &'a [u8]> + Clone) -> Self {
        let (mut count, mut bytes) = (0usize, 0usize);
        for p in parts.clone() {
            count += 1;
            bytes += p.len();
        }
        debug_assert!(count <= N);
        let mut buf = Vec::with_capacity(END * count + bytes);
        let mut end = 0usize;
        for p in parts.clone() {
            end += p.len();
            buf.extend_from_slice(&(end as u32).to_le_bytes());
        }
        for p in parts {
            buf.extend_from_slice(p);
        }
        Strings {
            len: count as u32,
            buf,
        }
    }

    /// Appends `s`.
    pub(crate) fn push(&mut self, s: &[u8]) {
        self.insert(self.len(), s);
    }

    /// Removes string `i` (`i < len`).
    pub(crate) fn remove(&mut self, i: usize) {
        let n = self.len();
        debug_assert!(i < n);
        let (at, end) = (self.start(i), self.end(i));
        let d = self.data_start();
        self.buf.drain(d + at..d + end);
        self.buf.drain(END * i..END * (i + 1));
        self.len -= 1;
        self.shift_ends(i, n - 1, -((end - at) as isize));
    }

    /// Replaces string `i` with `s`.
    pub(crate) fn replace(&mut self, i: usize, s: &[u8]) {
        let (at, end) = (self.start(i), self.end(i));
        let d = self.data_start();
        if s.len() == end - at {
            self.buf[d + at..d + end].copy_from_slice(s);
            return;
        }
        if s.len() > end - at {
            self.grow(s.len() - (end - at));
        }
        self.buf.splice(d + at..d + end, s.iter().copied());
        let n = self.len();
        self.shift_ends(i, n, s.len() as isize - (end - at) as isize);
    }

    /// Moves strings `at..` into a new `Strings`.
    pub(crate) fn split_off(&mut self, at: usize) -> Self {
        let n = self.len();
        debug_assert!(at <= n);
        let base = self.start(at);
        let d = self.data_start();
        let mut right = Strings::new();
        right
            .buf
            .reserve_exact(END * (n - at) + (self.buf.len() - d - base));
        for j in at..n {
            right
                .buf
                .extend_from_slice(&((self.end(j) - base) as u32).to_le_bytes());
        }
        right.buf.extend_from_slice(&self.buf[d + base..]);
        right.len = (n - at) as u32;
        self.buf.truncate(d + base);
        self.buf.drain(END * at..END * n);
        self.len = at as u32;
        // The left part keeps what it holds plus an eighth, not the whole
        // node's buffer.
        let keep = self.buf.len();
        self.buf.shrink_to(keep + keep / 8);
        right
    }

    /// Appends strings `from..to` of `other`.
    pub(crate) fn extend_from(&mut self, other: &Self, from: usize, to: usize) {
        let n = self.len();
        debug_assert!(from <= to && to <= other.len() && n + (to - from) <= N);
        let (a, b) = (other.start(from), other.start(to));
        let base = self.buf.len() - self.data_start();
        self.grow(END * (to - from) + (b - a));
        let k = to - from;
        self.buf
            .splice(END * n..END * n, core::iter::repeat_n(0, END * k));
        self.len += k as u32;
        for j in 0..k {
            self.set_end(n + j, base + other.end(from + j) - a);
        }
        let od = other.data_start();
        self.buf.extend_from_slice(&other.buf[od + a..od + b]);
    }

    /// Keeps the first `n` strings.
    pub(crate) fn truncate(&mut self, n: usize) {
        let len = self.len();
        if n < len {
            let keep = self.data_start() + self.start(n);
            self.buf.truncate(keep);
            self.buf.drain(END * n..END * len);
            self.len = n as u32;
        }
    }

    /// The index of the first string `>= key` among strings at even
    /// positions `0, 2, 4…` when `STRIDE` is 2, or all when it is 1, and
    /// whether it equals `key` (a binary search; the strings searched are
    /// ascending).
    #[inline]
    pub(crate) fn search<const STRIDE: usize>(&self, key: &[u8]) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len() / STRIDE);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid * STRIDE).cmp(key) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// How many of the (ascending) strings are `<= key`.
    #[inline]
    pub(crate) fn count_le(&self, key: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.get(mid) <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents<const N: usize>(s: &Strings<N>) -> Vec<Vec<u8>> {
        (0..s.len()).map(|i| s.get(i).to_vec()).collect()
    }

    #[test]
    fn edits_agree_with_a_vec() {
        let mut s = Strings::<16>::new();
        let mut m: Vec<Vec<u8>> = Vec::new();
        let mut x = 7u64;
        for step in 0..4000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (x >> 33) as usize;
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
        }
    }

    #[test]
    fn searches() {
        let mut s = Strings::<8>::new();
        for w in [&b"b"[..], b"d", b"f"] {
            s.push(w);
        }
        assert_eq!(s.search::<1>(b"a"), Err(0));
        assert_eq!(s.search::<1>(b"d"), Ok(1));
        assert_eq!(s.search::<1>(b"e"), Err(2));
        assert_eq!(s.search::<1>(b"z"), Err(3));
        assert_eq!(s.count_le(b"d"), 2);
        assert_eq!(s.count_le(b"a"), 0);
        let mut kv = Strings::<8>::new();
        for w in [&b"a"[..], b"1", b"c", b"2"] {
            kv.push(w);
        }
        assert_eq!(kv.search::<2>(b"c"), Ok(1));
        assert_eq!(kv.search::<2>(b"b"), Err(1));
        assert_eq!(kv.search::<2>(b"1"), Err(0));
    }
}
