//! `congee::Congee<usize, usize>`: a concurrent adaptive radix tree
//! (ART with optimistic lock coupling) over fixed 8-byte keys and
//! word-sized values.
//!
//! - **Integer keys only** (`caps.int_keys_only`): the key is `key.int`
//!   (the harness sends integer key sets to this adapter only); congee
//!   orders it by its big-endian bytes, the same order as `key.bytes`.
//! - **Values are one word** (`caps.max_value_len = 8`): the first 8 bytes
//!   of the value, zero-padded, stored as a `usize` (little-endian, so
//!   the value's first byte is the word's low byte). `get` returns the
//!   digest of those 8 bytes, `8 + first byte`, which equals
//!   [`digest`]`(value)` for the 8-byte values the harness sends; longer
//!   values are truncated, shorter ones padded.
//! - `insert` = [`Congee::insert`], an atomic upsert; no allocation beyond
//!   the tree's own nodes.
//! - Each operation pins a crossbeam epoch ([`Congee::pin`]), as the crate
//!   requires.
//! - `scan` = [`Congee::range`], which copies up to `result.len()` entries
//!   into a caller buffer: this adapter scans in chunks of [`SCAN_CHUNK`]
//!   through a stack buffer (no allocation), restarting each chunk after
//!   the last key seen. Congee's range end is exclusive, so the key
//!   `u64::MAX` is fetched with a point lookup at the end of a scan.
//!   Weakly consistent.
//! - **`len` is O(n)**: congee keeps no count (keeping one would add a
//!   shared atomic to every write), so `len` counts by scanning. Call it
//!   outside timed sections.
//! - No snapshots, and no `cursor_walk`: [`Congee::range`] copies entries
//!   in ascending order only, and congee has no reverse iteration or
//!   predecessor search, so the `cursor` workload skips it
//!   (`caps.cursors = false`).

use crate::adapter::{digest, BenchIndex, Caps, Key};
use congee::Congee;
use std::hint::black_box;

// Keys are u64; congee's are usize.
const _: () = assert!(usize::BITS == 64, "the congee adapter needs 64-bit usize");

/// Entries copied per [`Congee::range`] call during a scan.
pub const SCAN_CHUNK: usize = 128;

/// Adapter over [`Congee`].
#[derive(Default)]
pub struct CongeeArt(Congee<usize, usize>);

/// The integer of an integer key.
#[inline(always)]
fn int_key(key: Key<'_>) -> usize {
    super::int_key(key, "congee") as usize
}

/// The stored word ([`super::pack_word`]).
#[inline(always)]
fn pack(value: &[u8]) -> usize {
    super::pack_word(value) as usize
}

/// The digest of a stored word: that of its 8 bytes.
#[inline(always)]
fn word_digest(word: usize) -> usize {
    digest(&word.to_le_bytes())
}

/// The per-entry scan work of [`super::touch`] for an integer entry.
#[inline(always)]
fn touch_word(acc: usize, key: usize, word: usize) -> usize {
    super::touch(acc, &key.to_be_bytes(), &word.to_le_bytes())
}

impl CongeeArt {
    /// Visits up to `n` entries from `from` (chunked range scans, then the
    /// key `usize::MAX`, which congee's exclusive range end never returns).
    fn scan_from(&self, mut from: usize, n: usize) -> usize {
        let guard = self.0.pin();
        let mut buf = [(0usize, 0usize); SCAN_CHUNK];
        let mut acc = 0;
        let mut seen = 0;
        while seen < n {
            let want = (n - seen).min(SCAN_CHUNK);
            let got = self.0.range(&from, &usize::MAX, &mut buf[..want], &guard);
            for &(k, w) in &buf[..got] {
                acc = touch_word(acc, k, w);
            }
            seen += got;
            if got < want {
                // The range below usize::MAX is exhausted.
                if seen < n {
                    if let Some(w) = self.0.get(&usize::MAX, &guard) {
                        acc = touch_word(acc, usize::MAX, w);
                        seen += 1;
                    }
                }
                break;
            }
            // `buf[got - 1].0 < usize::MAX`: the range end is exclusive.
            from = buf[got - 1].0 + 1;
        }
        black_box(acc);
        seen
    }
}

impl BenchIndex for CongeeArt {
    const NAME: &'static str = "congee";
    const ORDEX: bool = false;

    fn caps() -> Caps {
        Caps {
            int_keys_only: true,
            max_value_len: 8,
            snapshots: false,
            scans: true,
            upserts: true,
            cursors: false,
        }
    }

    fn new() -> Self {
        Self(Congee::default())
    }

    #[inline]
    fn insert(&self, key: Key<'_>, value: &[u8]) {
        let guard = self.0.pin();
        self.0
            .insert(int_key(key), pack(value), &guard)
            .expect("congee: allocation failed");
    }

    #[inline]
    fn get(&self, key: Key<'_>) -> Option<usize> {
        let guard = self.0.pin();
        self.0.get(&int_key(key), &guard).map(word_digest)
    }

    #[inline]
    fn remove(&self, key: Key<'_>) -> bool {
        let guard = self.0.pin();
        self.0.remove(&int_key(key), &guard).is_some()
    }

    fn scan(&self, start: Key<'_>, n: usize) -> usize {
        self.scan_from(int_key(start), n)
    }

    /// O(n): counts by scanning.
    fn len(&self) -> usize {
        self.scan_from(0, usize::MAX)
    }

    fn iterate_all(&self) -> usize {
        self.scan_from(0, usize::MAX)
    }
}
