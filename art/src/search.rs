//! The byte searches of Node4 and Node16: one choice point between SSE2
//! (every x86-64 CPU has it) and a portable fallback, which the tests run
//! side by side.
//!
//! A node's key bytes are packed little-endian into words (byte `i` in
//! bits `8i..8i+8` of word `i / 8`), read with one atomic load each, so a
//! search compares a consistent-or-torn copy that validation vets.

/// The index of `byte` among the first `count` bytes of `keys`, if present.
#[inline]
pub(crate) fn find16(keys: [u64; 2], count: usize, byte: u8) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        find16_sse2(keys, count, byte)
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    {
        find16_portable(keys, count, byte)
    }
}

/// The number of the first `count` bytes of `keys` that are below `byte`
/// (the keys are ascending): where `byte` goes.
#[inline]
pub(crate) fn rank16(keys: [u64; 2], count: usize, byte: u8) -> usize {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        rank16_sse2(keys, count, byte)
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    {
        rank16_portable(keys, count, byte)
    }
}

#[cfg(all(target_arch = "x86_64", not(loom)))]
fn mask(count: usize) -> u32 {
    if count >= 16 {
        0xffff
    } else {
        (1u32 << count) - 1
    }
}

#[cfg(all(target_arch = "x86_64", not(loom)))]
#[inline]
fn find16_sse2(keys: [u64; 2], count: usize, byte: u8) -> Option<usize> {
    use core::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline; these intrinsics only
    // operate on registers.
    let bits = unsafe {
        let v = _mm_set_epi64x(keys[1] as i64, keys[0] as i64);
        let eq = _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8));
        _mm_movemask_epi8(eq) as u32
    } & mask(count);
    (bits != 0).then(|| bits.trailing_zeros() as usize)
}

#[cfg(all(target_arch = "x86_64", not(loom)))]
#[inline]
fn rank16_sse2(keys: [u64; 2], count: usize, byte: u8) -> usize {
    use core::arch::x86_64::*;
    // SAFETY: as in `find16_sse2`. Bytes are compared unsigned by
    // flipping their top bit first.
    let bits = unsafe {
        let flip = _mm_set1_epi8(i8::MIN);
        let v = _mm_xor_si128(_mm_set_epi64x(keys[1] as i64, keys[0] as i64), flip);
        let b = _mm_xor_si128(_mm_set1_epi8(byte as i8), flip);
        _mm_movemask_epi8(_mm_cmplt_epi8(v, b)) as u32
    } & mask(count);
    bits.count_ones() as usize
}

/// The portable `find16`.
#[cfg_attr(all(target_arch = "x86_64", not(loom)), allow(dead_code))]
pub(crate) fn find16_portable(keys: [u64; 2], count: usize, byte: u8) -> Option<usize> {
    (0..count.min(16)).find(|&i| key_at_n(&keys, i) == byte)
}

/// The portable `rank16`.
#[cfg_attr(all(target_arch = "x86_64", not(loom)), allow(dead_code))]
pub(crate) fn rank16_portable(keys: [u64; 2], count: usize, byte: u8) -> usize {
    (0..count.min(16))
        .filter(|&i| key_at_n(&keys, i) < byte)
        .count()
}

/// The index of `byte` among the first `count` bytes of `keys`, 16 at a
/// time (Node16: two words; Node32: four).
#[inline]
pub(crate) fn find_sorted(keys: &[u64], count: usize, byte: u8) -> Option<usize> {
    let count = count.min(keys.len() * 8);
    let mut c = 0;
    while 16 * c < count {
        let n = (count - 16 * c).min(16);
        if let Some(i) = find16([keys[2 * c], keys[2 * c + 1]], n, byte) {
            return Some(16 * c + i);
        }
        c += 1;
    }
    None
}

/// How many of the first `count` bytes of `keys` (ascending) are below
/// `byte`.
#[inline]
pub(crate) fn rank_sorted(keys: &[u64], count: usize, byte: u8) -> usize {
    let count = count.min(keys.len() * 8);
    let mut c = 0;
    let mut r = 0;
    while 16 * c < count {
        let n = (count - 16 * c).min(16);
        r += rank16([keys[2 * c], keys[2 * c + 1]], n, byte);
        c += 1;
    }
    r
}

/// Byte `i` of packed keys (any number of words).
#[inline]
pub(crate) fn key_at_n(keys: &[u64], i: usize) -> u8 {
    (keys[(i / 8) % keys.len()] >> (8 * (i % 8))) as u8
}

/// Sets byte `i` of packed keys to `b`.
#[inline]
pub(crate) fn with_key_n(keys: &mut [u64], i: usize, b: u8) {
    let n = keys.len();
    let w = &mut keys[(i / 8) % n];
    let shift = 8 * (i % 8);
    *w = (*w & !(0xff << shift)) | (u64::from(b) << shift);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn pack(bytes: &[u8]) -> [u64; 2] {
        let mut k = [0, 0];
        for (i, &b) in bytes.iter().enumerate() {
            with_key_n(&mut k, i, b);
        }
        k
    }

    /// The SSE2 and portable searches agree with a plain search on every
    /// byte, for every count, including bytes beyond `count` that must be
    /// ignored and the signed/unsigned boundary at 0x80.
    #[test]
    fn searches_agree_with_a_plain_search() {
        let bytes: Vec<u8> = vec![
            0x00, 0x01, 0x10, 0x3f, 0x7f, 0x80, 0x81, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0,
            0xfe, 0xff,
        ];
        let keys = pack(&bytes);
        for count in 0..=16 {
            for b in 0..=255u8 {
                let want_find = bytes[..count].iter().position(|&x| x == b);
                let want_rank = bytes[..count].iter().filter(|&&x| x < b).count();
                assert_eq!(find16(keys, count, b), want_find, "find {b} in {count}");
                assert_eq!(find16_portable(keys, count, b), want_find);
                assert_eq!(rank16(keys, count, b), want_rank, "rank {b} in {count}");
                assert_eq!(rank16_portable(keys, count, b), want_rank);
            }
        }
        for (i, &b) in bytes.iter().enumerate() {
            assert_eq!(key_at_n(&keys, i), b);
        }
        // Four words (Node32): the second half is searched too.
        let mut wide = [0u64; 4];
        let all: Vec<u8> = (0..32u8).map(|i| i * 7 + 1).collect();
        for (i, &b) in all.iter().enumerate() {
            with_key_n(&mut wide, i, b);
        }
        for count in 0..=32 {
            for b in 0..=255u8 {
                let want = all[..count].iter().position(|&x| x == b);
                assert_eq!(
                    find_sorted(&wide, count, b),
                    want,
                    "find {b} in {count} of 32"
                );
                let rank = all[..count].iter().filter(|&&x| x < b).count();
                assert_eq!(rank_sorted(&wide, count, b), rank);
            }
        }
    }
}
