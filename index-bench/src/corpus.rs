//! Real key material shipped with the benchmark, so that every run on every
//! machine uses the same string keys.
//!
//! # The English word list
//!
//! [`english_words`] is ENABLE (the *Enhanced North American Benchmark
//! LExicon*, `enable1.txt`, by M. Cooper and Alan Beale): 172,823 distinct
//! lowercase words of 2–28 ASCII letters (mean 9.1), placed in the public
//! domain by its authors. `index-bench/data/README.md` records its source,
//! checksum and dedication.
//!
//! It is embedded in the binary as `data/enable1.fc.zlib` (about 230 KB
//! instead of 1.7 MB): the sorted words front-coded, then zlib-compressed.
//! Front coding writes each word as one byte `p` (the length of the prefix it
//! shares with the previous word; always below `0x20`, so it cannot be taken
//! for a letter) followed by the rest of the word. The list is decoded once
//! per process, on first use, in a few milliseconds.
//!
//! To rebuild the data file from `enable1.txt` (one word a line, sorted):
//! `ENABLE1_TXT=path/to/enable1.txt cargo test -p index-bench --lib
//! corpus::tests::rebuild_enable_data -- --ignored`.

use std::io::Read as _;
use std::sync::OnceLock;

/// The front-coded, zlib-compressed ENABLE word list (see the module docs).
static ENABLE_FC_ZLIB: &[u8] = include_bytes!("../data/enable1.fc.zlib");

/// Number of words in the shipped English word list.
pub const ENGLISH_WORD_COUNT: usize = 172_823;

/// Prefix-length bytes of the front coding are below this value; words are
/// lowercase ASCII letters.
const MAX_SHARED: u8 = 0x20;

/// A decoded word list: distinct lowercase ASCII words in ascending order.
#[derive(Debug)]
pub struct WordList {
    /// All words, concatenated.
    text: String,
    /// `text[ends[i - 1]..ends[i]]` is word `i` (with `ends[-1] = 0`).
    ends: Vec<u32>,
}

impl WordList {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True if the list has no words.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Word `i` (in ascending order).
    ///
    /// # Panics
    /// Panics if `i >= self.len()`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// The words in ascending order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// The shipped English word list (ENABLE, public domain; see the module docs),
/// decoded on first use and kept for the rest of the process.
pub fn english_words() -> &'static WordList {
    static WORDS: OnceLock<WordList> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut fc = Vec::with_capacity(600_000);
        flate2::read::ZlibDecoder::new(ENABLE_FC_ZLIB)
            .read_to_end(&mut fc)
            .expect("the embedded word list is a valid zlib stream");
        let list = front_decode(&fc).expect("the embedded word list is valid front coding");
        assert_eq!(list.len(), ENGLISH_WORD_COUNT, "embedded word list size");
        list
    })
}

/// Front-codes `words` (sorted, distinct, lowercase ASCII letters, at most 255
/// bytes each) as described in the module docs.
///
/// # Panics
/// Panics if the words are not sorted and distinct, or contain other bytes.
pub fn front_encode<'a>(words: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev: &[u8] = &[];
    for w in words {
        assert!(prev < w, "words must be sorted and distinct");
        assert!(
            !w.is_empty() && w.iter().all(u8::is_ascii_lowercase),
            "words must be non-empty lowercase ASCII: {:?}",
            String::from_utf8_lossy(w)
        );
        let shared = prev.iter().zip(w).take_while(|(a, b)| a == b).count();
        let shared = shared.min(usize::from(MAX_SHARED - 1));
        out.push(shared as u8);
        out.extend_from_slice(&w[shared..]);
        prev = w;
    }
    out
}

/// Decodes [`front_encode`]'s output; `None` if it is malformed (a prefix
/// longer than the previous word, an empty word, words out of order or
/// repeated, or a byte that is neither a prefix length nor a lowercase letter).
pub fn front_decode(fc: &[u8]) -> Option<WordList> {
    let mut text = String::with_capacity(fc.len() * 3);
    let mut ends: Vec<u32> = Vec::new();
    let mut prev_start = 0usize;
    let mut i = 0;
    while i < fc.len() {
        let shared = usize::from(fc[i]);
        if fc[i] >= MAX_SHARED || shared > text.len() - prev_start {
            return None;
        }
        i += 1;
        let rest = fc[i..]
            .iter()
            .position(|&b| b < MAX_SHARED)
            .unwrap_or(fc.len() - i);
        let suffix = std::str::from_utf8(&fc[i..i + rest]).ok()?;
        if !suffix.bytes().all(|b| b.is_ascii_lowercase()) || shared + rest == 0 {
            return None;
        }
        let start = text.len();
        text.extend_from_within(prev_start..prev_start + shared);
        text.push_str(suffix);
        if !ends.is_empty() && text[prev_start..start] >= text[start..] {
            return None;
        }
        ends.push(u32::try_from(text.len()).ok()?);
        prev_start = start;
        i += rest;
    }
    Some(WordList { text, ends })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte length of the original `enable1.txt` (the words, each ending in `\n`).
    const ENABLE_TXT_LEN: usize = 1_743_363;

    /// FNV-1a (64-bit) of the original `enable1.txt`; its SHA-256 is in
    /// `data/README.md`.
    const ENABLE_TXT_FNV1A: u64 = 0x543f_76ca_f241_3aea;

    /// FNV-1a, 64-bit.
    fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
        bytes.iter().fold(h, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    #[test]
    fn embedded_list_decodes_to_enable() {
        let words = english_words();
        assert_eq!(words.len(), ENGLISH_WORD_COUNT);
        assert!(!words.is_empty());
        let (mut len, mut h) = (0usize, 0xcbf2_9ce4_8422_2325u64);
        for w in words.iter() {
            len += w.len() + 1;
            h = fnv1a(fnv1a(h, w.as_bytes()), b"\n");
        }
        // Byte for byte the original enable1.txt.
        assert_eq!(len, ENABLE_TXT_LEN);
        assert_eq!(h, ENABLE_TXT_FNV1A);
        assert!(words.iter().zip(words.iter().skip(1)).all(|(a, b)| a < b));
        assert!(words
            .iter()
            .all(|w| (2..=28).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase())));
        assert_eq!(words.get(0), "aa");
        assert_eq!(words.get(words.len() - 1), "zyzzyvas");
        // Compressed well under 1 MB.
        assert!(ENABLE_FC_ZLIB.len() < 300_000, "{}", ENABLE_FC_ZLIB.len());
    }

    #[test]
    fn front_coding_roundtrip_and_rejects_malformed() {
        let words: [&[u8]; 6] = [b"a", b"ab", b"abc", b"abd", b"b", b"banana"];
        let fc = front_encode(words.iter().copied());
        assert_eq!(fc, b"\0a\x01b\x02c\x02d\0b\x01anana");
        let list = front_decode(&fc).unwrap();
        let back: Vec<&str> = list.iter().collect();
        assert_eq!(back, ["a", "ab", "abc", "abd", "b", "banana"]);
        assert!(front_decode(b"").unwrap().is_empty());
        assert!(
            front_decode(b"\x01a").is_none(),
            "prefix longer than the previous word"
        );
        assert!(front_decode(b"\0").is_none(), "empty word");
        assert!(front_decode(b"\0a\x01").is_none(), "repeated word");
        assert!(front_decode(b"\0b\0a").is_none(), "words out of order");
        assert!(front_decode(b"\0aB").is_none(), "not a lowercase letter");
        assert!(front_decode(b"\x20a").is_none(), "prefix byte out of range");
    }

    /// Rebuilds `data/enable1.fc.zlib` from the `enable1.txt` named by the
    /// `ENABLE1_TXT` environment variable (see the module docs); does
    /// nothing without it (CI runs the ignored tests too).
    #[test]
    #[ignore = "rewrites data/enable1.fc.zlib from ENABLE1_TXT"]
    fn rebuild_enable_data() {
        use std::io::Write as _;
        let Ok(src) = std::env::var("ENABLE1_TXT") else {
            eprintln!("ENABLE1_TXT is not set: nothing to rebuild");
            return;
        };
        let txt = std::fs::read(src).unwrap();
        assert_eq!(txt.len(), ENABLE_TXT_LEN);
        assert_eq!(fnv1a(0xcbf2_9ce4_8422_2325, &txt), ENABLE_TXT_FNV1A);
        let fc = front_encode(txt.split(|&b| b == b'\n').filter(|l| !l.is_empty()));
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&fc).unwrap();
        let out = concat!(env!("CARGO_MANIFEST_DIR"), "/data/enable1.fc.zlib");
        std::fs::write(out, z.finish().unwrap()).unwrap();
    }
}
