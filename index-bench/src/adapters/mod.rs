//! One adapter per benchmarked index, each translating [`BenchIndex`] calls
//! into its crate's idiomatic API.
//!
//! Every scan does the same per-entry work, [`touch`]: it adds the key's
//! length and the value's [`digest`] to an accumulator that is passed
//! through [`std::hint::black_box`] at the end, so the visit cannot be
//! optimised away and no adapter does more or less than another.
//!
//! [`BenchIndex`]: crate::adapter::BenchIndex
//! [`digest`]: crate::adapter::digest

pub mod congee;
pub mod crossbeam_skiplist;
pub mod fastskip;
pub mod imbl_ordmap;
pub mod null;
pub mod ordex_index;
pub mod rwlock_btreemap;
pub mod scc_tree;

#[cfg(test)]
mod tests;

use crate::adapter::digest;

/// The per-entry work of every scan: folds the key's length and the
/// value's digest into `acc`.
#[inline(always)]
pub fn touch(acc: usize, key: &[u8], value: &[u8]) -> usize {
    acc.wrapping_add(key.len()).wrapping_add(digest(value))
}

/// The integer of an integer key, for adapters with `caps.int_keys_only`
/// (the harness sends them integer key sets only); `who` names the
/// adapter in the panic otherwise.
#[inline(always)]
pub fn int_key(key: crate::adapter::Key<'_>, who: &str) -> u64 {
    match key.int {
        Some(k) => k,
        None => panic!("{who} takes integer keys only (caps.int_keys_only)"),
    }
}

/// A one-word value as integer adapters store it: the value's first 8
/// bytes, zero-padded, little-endian.
#[inline(always)]
pub fn pack_word(value: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = value.len().min(8);
    word[..n].copy_from_slice(&value[..n]);
    u64::from_le_bytes(word)
}
