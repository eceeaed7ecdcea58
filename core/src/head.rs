//! Big-endian heads of byte strings: their first 4 or 8 bytes as an
//! integer, zero-padded, so that integer order is memcmp order wherever
//! two heads differ (every backend's branch-free searches compare them);
//! and the little-endian word a short value is packed into.
//!
//! Built from loads of the string itself, never by copying a short string
//! into a zeroed array and loading the array: that load waits on narrower
//! stores the core cannot forward into it (about a dozen cycles), and a
//! search makes a head of its key every time (in ordex-btree's inserts of
//! 8-byte keys that wait was three quarters of building a slot).
//!
//! ```
//! use ordex_core::head::{head_u32, head_u64, word_le};
//! assert_eq!(head_u64(b"abcdefghij"), u64::from_be_bytes(*b"abcdefgh"));
//! assert_eq!(head_u64(b"abc"), u64::from_be_bytes(*b"abc\0\0\0\0\0"));
//! assert_eq!(head_u32(b"ab"), u32::from_be_bytes(*b"ab\0\0"));
//! assert!(head_u64(b"ab") < head_u64(b"ab\x01"));
//! assert_eq!(word_le(b"ab"), u64::from_le_bytes(*b"ab\0\0\0\0\0\0"));
//! ```

/// The first 8 bytes of `s`, big-endian, zero-padded.
#[inline(always)]
pub fn head_u64(s: &[u8]) -> u64 {
    if let Some(b) = s.first_chunk::<8>() {
        return u64::from_be_bytes(*b);
    }
    if let (Some(lo), Some(hi)) = (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        // 4 to 7 bytes: two loads that overlap in the middle; the second
        // one's bytes go where they sit in `s` (shifted down by the bytes
        // missing from 8), and the overlap holds the same bytes twice.
        let lo = u64::from(u32::from_be_bytes(*lo)) << 32;
        let hi = u64::from(u32::from_be_bytes(*hi)) << (8 * (8 - s.len()));
        return lo | hi;
    }
    s.iter()
        .enumerate()
        .fold(0, |h, (i, &b)| h | u64::from(b) << (56 - 8 * i))
}

/// The first 4 bytes of `s`, big-endian, zero-padded.
#[inline(always)]
pub fn head_u32(s: &[u8]) -> u32 {
    if let Some(b) = s.first_chunk::<4>() {
        return u32::from_be_bytes(*b);
    }
    s.iter()
        .enumerate()
        .fold(0, |h, (i, &b)| h | u32::from(b) << (24 - 8 * i))
}

/// The first 8 bytes of `s` as a little-endian word, zero above them:
/// how a backend packs a value of at most 8 bytes into a word.
#[inline(always)]
pub fn word_le(s: &[u8]) -> u64 {
    if let Some(b) = s.first_chunk::<8>() {
        return u64::from_le_bytes(*b);
    }
    if let (Some(lo), Some(hi)) = (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        let lo = u64::from(u32::from_le_bytes(*lo));
        let hi = u64::from(u32::from_le_bytes(*hi)) << (8 * (s.len() - 4));
        return lo | hi;
    }
    s.iter()
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded<const N: usize>(s: &[u8]) -> [u8; N] {
        let mut b = [0u8; N];
        let n = s.len().min(N);
        b[..n].copy_from_slice(&s[..n]);
        b
    }

    /// Every length from 0 to 12, over bytes that differ at every
    /// position (so a byte placed wrong or dropped shows).
    #[test]
    fn heads_are_the_zero_padded_prefix() {
        let src: Vec<u8> = (0..12u8)
            .map(|i| 0x81u8.wrapping_add(i.wrapping_mul(17)))
            .collect();
        for n in 0..=12 {
            let s = &src[..n];
            assert_eq!(head_u64(s), u64::from_be_bytes(padded::<8>(s)), "{n} bytes");
            assert_eq!(head_u32(s), u32::from_be_bytes(padded::<4>(s)), "{n} bytes");
            assert_eq!(word_le(s), u64::from_le_bytes(padded::<8>(s)), "{n} bytes");
        }
        for n in 0..=12 {
            let s = vec![0xFF; n];
            assert_eq!(head_u64(&s), u64::from_be_bytes(padded::<8>(&s)));
            assert_eq!(head_u32(&s), u32::from_be_bytes(padded::<4>(&s)));
            assert_eq!(word_le(&s), u64::from_le_bytes(padded::<8>(&s)));
        }
    }
}
