//! [`Strings`]: up to `N` byte strings packed into one buffer.
//!
//! A node keeps its keys (and a leaf its short values) here: the bytes of every
//! string back to back in one `Vec<u8>`, and where each ends in an inline
//! array of `u32`. Copying a node (the path copy of a write) is then one
//! allocation and one `memcpy` however many strings it holds, and a lookup
//! touches one contiguous buffer. The `u32` ends bound a buffer to 4 GiB,
//! which the index's [`Limits`](ordex_core::Limits) keep it under (see
//! `node::MAX_KEY_LEN`).

/// Up to `N` byte strings in one buffer (see the [module docs](self)).
#[derive(Clone)]
pub(crate) struct Strings<const N: usize> {
    /// How many strings.
    len: u32,
    /// `ends[i]`: where string `i` ends in `data` (it starts where `i - 1`
    /// ends, or at 0).
    ends: [u32; N],
    /// The strings' bytes, back to back.
    data: Vec<u8>,
}

impl<const N: usize> Strings<N> {
    /// No strings.
    pub(crate) fn new() -> Self {
        Strings {
            len: 0,
            ends: [0; N],
            data: Vec::new(),
        }
    }

    /// How many strings.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.ends[i - 1] as usize
        }
    }

    /// String `i` (`i < len`).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        &self.data[self.start(i)..self.ends[i] as usize]
    }

    /// The last string (`len > 0`).
    pub(crate) fn last(&self) -> &[u8] {
        self.get(self.len() - 1)
    }

    /// Heap bytes of the buffer.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.data.capacity()
    }

    /// Bytes of the strings.
    #[cfg(test)]
    pub(crate) fn data_len(&self) -> usize {
        self.data.len()
    }

    /// Makes room for `extra` more bytes. A node copied for a write has a
    /// buffer of exactly its length (`Vec::clone`), and the write then
    /// grows it: doubling, as `Vec` does, would leave most copied nodes
    /// with twice the bytes they hold, so the buffer grows by what is
    /// needed plus an eighth (a batch writing many entries into one node
    /// still reallocates only every few entries).
    #[inline]
    fn grow(&mut self, extra: usize) {
        if self.data.capacity() - self.data.len() < extra {
            self.data.reserve_exact(extra + self.data.len() / 8);
        }
    }

    /// Inserts `s` as string `i` (`i <= len < N`).
    pub(crate) fn insert(&mut self, i: usize, s: &[u8]) {
        let n = self.len();
        debug_assert!(i <= n && n < N);
        let at = self.start(i);
        let old = self.data.len();
        self.grow(s.len());
        self.data.resize(old + s.len(), 0);
        self.data.copy_within(at..old, at + s.len());
        self.data[at..at + s.len()].copy_from_slice(s);
        let grow = s.len() as u32;
        self.ends.copy_within(i..n, i + 1);
        self.ends[i] = at as u32;
        for e in &mut self.ends[i..=n] {
            *e += grow;
        }
        self.len += 1;
    }

    /// Appends `s`.
    pub(crate) fn push(&mut self, s: &[u8]) {
        self.insert(self.len(), s);
    }

    /// Removes string `i` (`i < len`).
    pub(crate) fn remove(&mut self, i: usize) {
        let n = self.len();
        debug_assert!(i < n);
        let (at, end) = (self.start(i), self.ends[i] as usize);
        let shrink = (end - at) as u32;
        self.data.copy_within(end.., at);
        self.data.truncate(self.data.len() - shrink as usize);
        self.ends.copy_within(i + 1..n, i);
        for e in &mut self.ends[i..n - 1] {
            *e -= shrink;
        }
        self.len -= 1;
    }

    /// Replaces string `i` with `s`.
    pub(crate) fn replace(&mut self, i: usize, s: &[u8]) {
        let (at, end) = (self.start(i), self.ends[i] as usize);
        let old_len = end - at;
        if old_len == s.len() {
            self.data[at..end].copy_from_slice(s);
            return;
        }
        let n = self.len();
        let tail = self.data.len();
        if s.len() > old_len {
            let grow = s.len() - old_len;
            self.grow(grow);
            self.data.resize(tail + grow, 0);
            self.data.copy_within(end..tail, end + grow);
            for e in &mut self.ends[i..n] {
                *e += grow as u32;
            }
        } else {
            let shrink = old_len - s.len();
            self.data.copy_within(end..tail, end - shrink);
            self.data.truncate(tail - shrink);
            for e in &mut self.ends[i..n] {
                *e -= shrink as u32;
            }
        }
        self.data[at..at + s.len()].copy_from_slice(s);
    }

    /// Moves strings `at..` into a new `Strings`.
    pub(crate) fn split_off(&mut self, at: usize) -> Self {
        let n = self.len();
        debug_assert!(at <= n);
        let base = self.start(at);
        let mut right = Strings::new();
        right.data = self.data[base..].to_vec();
        self.data.truncate(base);
        // The left part keeps what it holds plus an eighth, not the whole
        // node's buffer.
        self.data.shrink_to(base + base / 8);
        for (k, i) in (at..n).enumerate() {
            right.ends[k] = self.ends[i] - base as u32;
        }
        right.len = (n - at) as u32;
        self.len = at as u32;
        right
    }

    /// Appends strings `from..to` of `other`.
    pub(crate) fn extend_from(&mut self, other: &Self, from: usize, to: usize) {
        let n = self.len();
        debug_assert!(from <= to && to <= other.len() && n + (to - from) <= N);
        let (a, b) = (other.start(from), other.start(to));
        let base = self.data.len() as u32;
        self.grow(b - a);
        self.data.extend_from_slice(&other.data[a..b]);
        for (k, i) in (from..to).enumerate() {
            self.ends[n + k] = base + other.ends[i] - a as u32;
        }
        self.len += (to - from) as u32;
    }

    /// Keeps the first `n` strings.
    pub(crate) fn truncate(&mut self, n: usize) {
        if n < self.len() {
            let end = self.start(n);
            self.data.truncate(end);
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
