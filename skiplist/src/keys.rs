//! Key comparison, shared by the list, its top index and the cursors:
//! memcmp order, with the first 16 bytes compared as words.

pub(crate) use std::cmp::Ordering as Cmp;

/// memcmp order, with the first 16 bytes compared as two big-endian
/// words: most comparisons in a search are decided by the first, and the
/// one that finds the key itself (equal keys) by the second, without a
/// call to `memcmp` for keys of up to 16 bytes.
#[inline(always)]
pub(crate) fn compare_keys(a: &[u8], b: &[u8]) -> Cmp {
    let word = |c: &[u8; 8]| u64::from_be_bytes(*c);
    let (Some((a0, a)), Some((b0, b))) = (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    else {
        return a.cmp(b);
    };
    if a0 != b0 {
        return word(a0).cmp(&word(b0));
    }
    let (Some((a1, a)), Some((b1, b))) = (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    else {
        return a.cmp(b);
    };
    if a1 != b1 {
        return word(a1).cmp(&word(b1));
    }
    if a.is_empty() || b.is_empty() {
        return a.len().cmp(&b.len());
    }
    a.cmp(b)
}

/// Whether two keys are equal: [`compare_keys`]' inline words instead of
/// a call to `memcmp` (which `==` on slices makes, for every length).
#[inline(always)]
pub(crate) fn same_key(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && compare_keys(a, b) == Cmp::Equal
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::compare_keys;

    #[test]
    fn compare_keys_is_memcmp_order() {
        // Keys of 0 to 24 bytes that differ (or not) at every position,
        // in both words and in the tail, and in length.
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for len in 0..=24usize {
            let base: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            keys.push(base.clone());
            for at in 0..len {
                for b in [0u8, 1, 0x7F, 0x80, 0xFF] {
                    let mut k = base.clone();
                    k[at] = b;
                    keys.push(k);
                }
            }
        }
        for a in &keys {
            for b in &keys {
                assert_eq!(compare_keys(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}
