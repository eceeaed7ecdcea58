//! Key heads and node prefixes: the 8-byte big-endian head every slot keeps for the branch-free search, and the prefix a node stores once for all its keys.

use super::*;

/// The 8-byte big-endian key head: the first eight bytes, zero-padded.
///
/// If the heads of two keys differ, they order the keys exactly as memcmp
/// does; if they are equal and one key has at most 8 bytes, the shorter
/// key is the smaller (it is a prefix of the other); otherwise the full
/// keys decide.
#[inline]
pub(crate) fn head_of(key: &[u8]) -> u64 {
    // Loads of the key, not a copy into an array (`ordex_core::head`).
    ordex_core::head::head_u64(key)
}

/// The longest prefix a node records (prefix lengths are any common
/// prefix of the node's range, so a longer shared prefix is just cut).
/// One byte keeps the node header (latch, level, prefix length, length
/// class and count, then seven words) within 64 bytes: a descent reads
/// the level, count and prefix of every node, and a header that spilled
/// into another cache line cost a miss per level.
pub(super) const PFX_MAX: usize = u8::MAX as usize;

/// `x` shifted left by `n` bytes (0 from 8 on).
#[inline]
pub(super) fn shl_bytes(x: u64, n: usize) -> u64 {
    if n >= 8 {
        0
    } else {
        x << (8 * n)
    }
}

/// `x` shifted right by `n` bytes (0 from 8 on).
#[inline]
pub(super) fn shr_bytes(x: u64, n: usize) -> u64 {
    if n >= 8 {
        0
    } else {
        x >> (8 * n)
    }
}

/// The length of the longest common prefix of `a` and `b`.
pub(super) fn lcp(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = (
            u64::from_be_bytes(a[i..i + 8].try_into().expect("8 bytes")),
            u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes")),
        );
        if x != y {
            return i + (x ^ y).leading_zeros() as usize / 8;
        }
        i += 8;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

impl Prefix {
    /// No prefix.
    pub(crate) const NONE: Prefix = Prefix { len: 0, head: 0 };

    /// The first `len` bytes of `key` (`len <= key.len()`).
    pub(super) fn of(key: &[u8], len: usize) -> Prefix {
        let len = len.min(key.len()).min(PFX_MAX);
        Prefix {
            len,
            head: head_of(&key[..len.min(8)]),
        }
    }

    /// The prefix of the range `(low, high]` (None: -∞ or +∞): every key
    /// strictly above `low` and at most `high` starts with what the two
    /// share.
    pub(super) fn of_range(low: Option<&[u8]>, high: Option<&[u8]>) -> Prefix {
        match (low, high) {
            (Some(l), Some(h)) => Prefix::of(h, lcp(l, h)),
            _ => Prefix::NONE,
        }
    }

    /// The prefix of a node whose range is open at one end (the first or
    /// last node of its level, or a root): what its one fence (or a key it
    /// holds) shares with its key at the other extreme, at most 8 bytes.
    /// Its range does not bound what may arrive, so a key that does not
    /// share it cuts it first ([`admits`](Self::admits)); at most 8 bytes,
    /// a key's head tells whether it does.
    pub(super) fn open(a: &[u8], b: &[u8]) -> Prefix {
        Prefix::of(a, lcp(a, b).min(8))
    }

    /// Whether `key` may go into a node with this prefix as it is: a
    /// prefix of more than 8 bytes comes from both fences, which every
    /// key placed in the node shares; one of at most 8 bytes may be an
    /// open range's, which the key's head checks.
    #[inline]
    pub(super) fn admits(self, key: &[u8]) -> bool {
        self.len > 8 || self.order(SearchKey::new(key)) == core::cmp::Ordering::Equal
    }

    /// This prefix cut to what it shares with `key` (for a key it does
    /// not [`admit`](Self::admits)).
    pub(super) fn cut_for(self, key: &[u8]) -> Prefix {
        let bytes = self.head.to_be_bytes();
        self.cut(lcp(&bytes[..self.len.min(8)], key))
    }

    /// This prefix cut to `len` bytes.
    pub(super) fn cut(self, len: usize) -> Prefix {
        if len >= self.len {
            return self;
        }
        Prefix {
            len,
            head: self.head & !shr_bytes(u64::MAX, len),
        }
    }

    /// The head of `key` (which starts with the prefix) in a node with
    /// this prefix: the 8 bytes after the prefix.
    #[inline]
    pub(super) fn rel(self, key: &[u8]) -> u64 {
        match key.get(self.len..self.len + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            None => head_of(key.get(self.len..).unwrap_or(&[])),
        }
    }

    /// The 8 bytes of `key` after its head in a node with this prefix
    /// (zero-padded, big-endian): an inner node's separator *tail*.
    #[inline]
    pub(super) fn tail(self, key: &[u8]) -> u64 {
        let at = self.len + 8;
        match key.get(at..at + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            None => head_of(key.get(at..).unwrap_or(&[])),
        }
    }

    /// The head of a search key in a node with this prefix, from its
    /// whole-key head when the key has at most 8 bytes.
    #[inline]
    pub(super) fn rel_sk(self, sk: SearchKey<'_>) -> u64 {
        if self.len == 0 {
            sk.head
        } else if sk.key.len() <= 8 {
            shl_bytes(sk.head, self.len)
        } else {
            self.rel(sk.key)
        }
    }

    /// The whole-key head of a key of at most 8 bytes from its slot head.
    #[inline]
    pub(super) fn abs_short(self, rel: u64) -> u64 {
        self.head | shr_bytes(rel, self.len)
    }

    /// How a search key compares with the prefix, as far as its first 8
    /// bytes tell: `Less` or `Greater` if the key is below or above every
    /// key that starts with the prefix, `Equal` if it may start with it
    /// (it does if the prefix has at most 8 bytes).
    #[inline]
    pub(super) fn order(self, sk: SearchKey<'_>) -> core::cmp::Ordering {
        if self.len == 0 {
            return core::cmp::Ordering::Equal;
        }
        let mask = !shr_bytes(u64::MAX, self.len);
        match (sk.head & mask).cmp(&self.head) {
            core::cmp::Ordering::Equal if sk.key.len() < self.len.min(8) => {
                core::cmp::Ordering::Less
            }
            o => o,
        }
    }
}

/// How much of the prefix of a node whose range ends at `old_high` is
/// left when the range grows to `new_high` (None: +∞): the keys above
/// `old_high` share only what the two high keys share.
pub(super) fn grown_prefix(old_high: Option<&[u8]>, new_high: Option<&[u8]>) -> usize {
    match (old_high, new_high) {
        (Some(a), Some(b)) => lcp(a, b),
        _ => 0,
    }
}
