//! Key sets: deterministic, seeded collections of distinct byte-string keys.
//!
//! A [`KeySet`] holds `loaded + fresh` distinct keys. `keys[..loaded]` are loaded into
//! an index before a workload runs; `keys[loaded..]` are fresh keys, absent from the
//! loaded set, used for inserts (YCSB D/E inserts, memtable fills, later load phases).
//!
//! Every kind is a pure function of `(kind, loaded, fresh, seed)`: generation uses
//! only [`SplitMix64`] and data compiled into the binary (the English word list of
//! [`crate::corpus`]), never a file of the machine it runs on.
//!
//! # Shapes
//!
//! | kind | bytes | load order ([`KeySetKind::order`]) | what it stands for |
//! | --- | --- | --- | --- |
//! | `u64-random` | 8 | random | hashed or random integer keys |
//! | `u64-mono` | 8 | ascending from 0 | a bare sequence number |
//! | `ids-asc` | 16 | ascending | a fixed 8-byte table/tenant id, then an 8-byte big-endian counter: auto-increment or time-ordered ids |
//! | `ids-desc` | 16 | descending | the same, counting down (newest-first ids, reversed timestamps) |
//! | `composite` | 12 | random | `ordex_core::codec::encode(&(table_id: u32, row_id: u64))`, six tables, zipf-skewed |
//! | `bin16` | 16 | random | UUIDs, hashes |
//! | `words` | 2–28 (mean 9.1) | random | English words (ENABLE, public domain) |
//! | `urls` | 40–100 (mean ≈ 63) | random | URLs of a few big sites, deep paths |
//! | `emails` | 6–60 (mean ≈ 23) | random | e-mail addresses |
//!
//! In `ids-asc`, `ids-desc` and `u64-mono` the fresh keys continue the load order, so
//! inserts after the load land at the same end as the load did.
//!
//! # Words
//!
//! `words` draws from the 172,823 words of the shipped ENABLE list
//! ([`crate::corpus::english_words`]) without replacement, in seeded random order. A
//! set larger than the list takes every word once and then numbered variants of
//! them (`apple2`, `apple3`, …, as user names and tags extend a taken word), in
//! rounds over the whole list, mixed with the plain words by one shuffle. The list
//! has letters only, so a variant never collides with a word. Variants keep the
//! prefix structure of real words, which generated pseudo-words, made from a few
//! syllables, would not; the default run (100k entries) needs none.
//!
//! # URLs
//!
//! `urls` follows the URL schemes of a few real sites, filled with words of the
//! shipped list, so that keys share the long prefixes real URL sets have: 27 hosts
//! (scheme + host of 16–46 bytes, most 19–30, e.g. `https://github.com/`), then
//! shared path heads (`https://en.wikipedia.org/wiki/`, 30 bytes;
//! `https://developer.mozilla.org/en-US/docs/Web/API/`, 49) and, within a host, shared
//! owners, repositories, crates, sections and dates. In a set of 10^6 URLs a key
//! shares 42 bytes on average with its sorted neighbour. Per key, one scheme is
//! picked with these weights:
//!
//! | weight | scheme |
//! | --- | --- |
//! | 26% | `https://<lang>.wikipedia.org/wiki/<Title_Words>[_(qualifier)]`, 10 languages, zipf |
//! | 22% | `https://github.com/<owner>/<repo>/{blob,tree}/<branch>/<dirs>/<file>.<ext>`, or `…/{issues,pull}/<n>`: 1,500 owners (zipf), repos zipf per owner |
//! | 20% | news: `https://www.theguardian.com/<section>/<yyyy>/<mon>/<dd>/<slug>`, `https://www.nytimes.com/<yyyy>/<mm>/<dd>/<section>/<slug>.html`, `https://edition.cnn.com/<yyyy>/<mm>/<dd>/<section>/<slug>/index.html`, `https://www.reuters.com/<section>/<slug>-<yyyy>-<mm>-<dd>/`, `https://www.bbc.com/news/<section>-<8 digits>` |
//! | 10% | `https://docs.rs/<crate>/<version>/<crate_ident>/<mods>/<item>.<Name>.html`: 400 crates (zipf), item kinds struct, enum, trait, fn, … |
//! | 10% | `https://<stackoverflow.com or a Stack Exchange site>/questions/<id>/<slug>` |
//! | 5% | `https://www.amazon.com/<Title-Words>/dp/<ASIN>` |
//! | 4% | `https://developer.mozilla.org/en-US/docs/Web/API/<Interface>/<member>` |
//! | 3% | `https://www.youtube.com/watch?v=<11-character id>` |
//!
//! Title and slug words are zipf-distributed (theta 0.8) over the list's words of 3–8
//! letters in seeded order, with English function words (`the`, `of`, `how`, …) mixed
//! in. A candidate outside 40–100 bytes, or equal to an earlier key, is drawn again.
//!
//! # E-mail addresses
//!
//! `emails` are `<local>@<domain>`. Local parts follow common patterns over ~200 first
//! and ~200 last names (zipf 0.5): `first.last`, `firstlast`, `flast`, `first_last`,
//! `firstl`, `first.last<nn>` or `first.last<year>`, or a handle of one or two list
//! words with an optional number. Domains are 30 mail providers (70%, zipf 0.99) or a
//! pool of 2,000 company and university domains built from list words (30%, zipf
//! 0.8). An address already taken gets a number appended, as real providers suggest.

use std::collections::HashSet;
use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use crate::corpus::english_words;
use crate::dist::{mix64, SplitMix64, Zipfian};

/// The order of a key set's keys in load order ([`KeySet::keys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyOrder {
    /// Seeded random order.
    Random,
    /// Strictly ascending (bytewise), fresh keys included: every key is above all keys
    /// before it.
    Ascending,
    /// Strictly descending (bytewise), fresh keys included: every key is below all keys
    /// before it.
    Descending,
}

impl KeyOrder {
    /// True for [`KeyOrder::Ascending`] and [`KeyOrder::Descending`].
    pub fn is_sorted(self) -> bool {
        !matches!(self, KeyOrder::Random)
    }
}

/// The kind of keys in a [`KeySet`] (see the module docs for each shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySetKind {
    /// Distinct random `u64`s, encoded as 8-byte big-endian.
    U64Random,
    /// `0, 1, 2, …` ascending, encoded as 8-byte big-endian (fresh keys continue the
    /// sequence, so inserts are monotonic).
    U64Mono,
    /// 16 bytes: a fixed 8-byte prefix (a table or tenant id), then an 8-byte
    /// big-endian counter, ascending in load order; fresh keys continue the sequence.
    IdsAsc,
    /// Like [`KeySetKind::IdsAsc`], but the counter counts down from a high value;
    /// fresh keys continue downwards.
    IdsDesc,
    /// `ordex_core::codec::encode(&(table_id, row_id))` with a `u32` table id (six
    /// tables, zipf-skewed) and a random `u64` row id, in random order.
    Composite,
    /// Distinct random 16-byte binary strings.
    Bin16,
    /// English words from the shipped ENABLE list ([`crate::corpus::english_words`]).
    Words,
    /// URLs built on the schemes of a few real sites (see the module docs).
    Urls,
    /// E-mail addresses `<local>@<domain>` (see the module docs).
    Emails,
}

impl KeySetKind {
    /// All kinds, in canonical (report) order.
    pub const ALL: [KeySetKind; 9] = [
        KeySetKind::U64Random,
        KeySetKind::U64Mono,
        KeySetKind::IdsAsc,
        KeySetKind::IdsDesc,
        KeySetKind::Composite,
        KeySetKind::Bin16,
        KeySetKind::Words,
        KeySetKind::Urls,
        KeySetKind::Emails,
    ];

    /// Stable short name: `u64-random`, `u64-mono`, `ids-asc`, `ids-desc`, `composite`,
    /// `bin16`, `words`, `urls`, `emails`.
    pub fn name(self) -> &'static str {
        match self {
            KeySetKind::U64Random => "u64-random",
            KeySetKind::U64Mono => "u64-mono",
            KeySetKind::IdsAsc => "ids-asc",
            KeySetKind::IdsDesc => "ids-desc",
            KeySetKind::Composite => "composite",
            KeySetKind::Bin16 => "bin16",
            KeySetKind::Words => "words",
            KeySetKind::Urls => "urls",
            KeySetKind::Emails => "emails",
        }
    }

    /// True for the integer kinds (`u64-random`, `u64-mono`), whose [`KeySet::ints`] is set.
    pub fn is_integer(self) -> bool {
        matches!(self, KeySetKind::U64Random | KeySetKind::U64Mono)
    }

    /// The order of the generated keys, loaded and fresh together: ascending for
    /// `u64-mono` and `ids-asc`, descending for `ids-desc`, random for the others.
    /// A sorted kind loads as a bulk load in key order would, and its inserts all
    /// land at one end of the index.
    pub fn order(self) -> KeyOrder {
        match self {
            KeySetKind::U64Mono | KeySetKind::IdsAsc => KeyOrder::Ascending,
            KeySetKind::IdsDesc => KeyOrder::Descending,
            KeySetKind::U64Random
            | KeySetKind::Composite
            | KeySetKind::Bin16
            | KeySetKind::Words
            | KeySetKind::Urls
            | KeySetKind::Emails => KeyOrder::Random,
        }
    }

    /// The number that selects this kind's random stream. Fixed per kind (not the
    /// declaration order), so adding kinds changes no existing key set.
    fn stream(self) -> u64 {
        match self {
            KeySetKind::U64Random => 0,
            KeySetKind::U64Mono => 1,
            KeySetKind::Bin16 => 2,
            KeySetKind::Words => 3,
            KeySetKind::Urls => 4,
            KeySetKind::Emails => 5,
            KeySetKind::IdsAsc => 6,
            KeySetKind::IdsDesc => 7,
            KeySetKind::Composite => 8,
        }
    }
}

impl fmt::Display for KeySetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error returned when parsing an unknown [`KeySetKind`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseKeySetKindError {
    /// The rejected input.
    pub input: String,
}

impl fmt::Display for ParseKeySetKindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = KeySetKind::ALL.iter().map(|k| k.name()).collect();
        write!(
            f,
            "unknown key set {:?} (expected one of: {})",
            self.input,
            names.join(", ")
        )
    }
}

impl std::error::Error for ParseKeySetKindError {}

impl FromStr for KeySetKind {
    type Err = ParseKeySetKindError;

    /// Parses a [`KeySetKind::name`] (case-insensitive; `_` accepted for `-`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        KeySetKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == norm)
            .ok_or_else(|| ParseKeySetKindError {
                input: s.to_string(),
            })
    }
}

/// A set of distinct keys in load order, split into loaded and fresh keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet {
    /// The kind of keys.
    pub kind: KeySetKind,
    /// Distinct keys in the order they should be loaded ([`KeySetKind::order`]:
    /// random, except `u64-mono` and `ids-asc`, ascending, and `ids-desc`, descending).
    pub keys: Vec<Vec<u8>>,
    /// For integer kinds: `ints[i]` encodes (8-byte big-endian) to `keys[i]`.
    pub ints: Option<Vec<u64>>,
    /// `keys[..loaded]` are loaded before a workload; `keys[loaded..]` are fresh.
    pub loaded: usize,
    /// A remark about how the set was built (e.g. words extended beyond the list).
    pub note: Option<String>,
}

impl KeySet {
    /// Generates `loaded + fresh` distinct keys of `kind`, deterministically from `seed`.
    ///
    /// # Panics
    /// Panics if `loaded + fresh` overflows `usize`.
    pub fn generate(kind: KeySetKind, loaded: usize, fresh: usize, seed: u64) -> KeySet {
        let total = loaded
            .checked_add(fresh)
            .expect("KeySet size overflows usize");
        let mut rng = SplitMix64::new(mix64(seed ^ (kind.stream() + 1).wrapping_mul(0x9E37_79B9)));
        let mut ints = None;
        let mut note = None;
        let keys = match kind {
            KeySetKind::U64Random => {
                // SplitMix64 outputs of one stream are distinct (bijective mix of a
                // full-period counter), so no deduplication is needed.
                let v: Vec<u64> = (0..total).map(|_| rng.next_u64()).collect();
                let k = encode_ints(&v);
                ints = Some(v);
                k
            }
            KeySetKind::U64Mono => {
                let v: Vec<u64> = (0..total as u64).collect();
                let k = encode_ints(&v);
                ints = Some(v);
                k
            }
            KeySetKind::IdsAsc => gen_ids(total, false, &mut rng),
            KeySetKind::IdsDesc => gen_ids(total, true, &mut rng),
            KeySetKind::Composite => gen_composite(total, &mut rng),
            KeySetKind::Bin16 => gen_bin16(total, &mut rng),
            KeySetKind::Words => {
                let (k, n) = gen_words(total, &mut rng);
                note = n;
                k
            }
            KeySetKind::Urls => gen_urls(total, &mut rng),
            KeySetKind::Emails => gen_emails(total, &mut rng),
        };
        debug_assert_eq!(keys.len(), total);
        KeySet {
            kind,
            keys,
            ints,
            loaded,
            note,
        }
    }

    /// Mean key length in bytes over all keys (loaded and fresh); 0 if empty.
    pub fn avg_key_len(&self) -> f64 {
        if self.keys.is_empty() {
            return 0.0;
        }
        self.keys.iter().map(|k| k.len() as f64).sum::<f64>() / self.keys.len() as f64
    }

    /// Mean length of the prefix each key shares with its successor in key
    /// order (how much a prefix-compressing index can strip); 0 for fewer
    /// than two keys.
    pub fn mean_shared_prefix(&self) -> f64 {
        let mut sorted: Vec<&[u8]> = self.keys.iter().map(Vec::as_slice).collect();
        if sorted.len() < 2 {
            return 0.0;
        }
        sorted.sort_unstable();
        let total: usize = sorted
            .windows(2)
            .map(|w| w[0].iter().zip(w[1]).take_while(|(a, b)| a == b).count())
            .sum();
        total as f64 / (sorted.len() - 1) as f64
    }

    /// The keys loaded before a workload (`keys[..loaded]`).
    pub fn loaded_keys(&self) -> &[Vec<u8>] {
        &self.keys[..self.loaded]
    }

    /// The fresh keys, absent from the loaded set (`keys[loaded..]`).
    pub fn fresh_keys(&self) -> &[Vec<u8>] {
        &self.keys[self.loaded..]
    }
}

fn encode_ints(v: &[u64]) -> Vec<Vec<u8>> {
    v.iter().map(|x| x.to_be_bytes().to_vec()).collect()
}

fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// Rejects keys equal to an earlier one, by a 64-bit hash: two distinct keys with
/// equal hashes (about one chance in 10^7 at 10^6 keys) only cost a redraw, and the
/// outcome stays a function of the seed.
struct Distinct(HashSet<u64>);

impl Distinct {
    fn with_capacity(n: usize) -> Self {
        Distinct(HashSet::with_capacity(n))
    }

    /// True (and remembered) if no earlier key hashed like `key`.
    fn insert(&mut self, key: &[u8]) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in key {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0.insert(mix64(h))
    }
}

// ---------------------------------------------------------------------------------
// integers, ids, composite, binary

/// Counter start of `ids-asc`: below it, a seeded offset of up to 2^39.
const IDS_ASC_BASE: u64 = 1 << 40;
/// Counter start of `ids-desc`: above it, a seeded offset of up to 2^39.
const IDS_DESC_BASE: u64 = 1 << 62;

/// `prefix ‖ counter` (16 bytes): `prefix` a seeded table id (8-byte big-endian, below
/// 2^16), the counter from a seeded start, up by one per key (down if `descending`).
fn gen_ids(total: usize, descending: bool, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let prefix = (1 + rng.below(u64::from(u16::MAX))).to_be_bytes();
    let offset = rng.below(1 << 39);
    let n = total as u64;
    (0..n)
        .map(|i| {
            let counter = if descending {
                IDS_DESC_BASE + offset - i
            } else {
                IDS_ASC_BASE + offset + i
            };
            let mut k = Vec::with_capacity(16);
            k.extend_from_slice(&prefix);
            k.extend_from_slice(&counter.to_be_bytes());
            k
        })
        .collect()
}

/// Number of tables of the `composite` key set.
const COMPOSITE_TABLES: usize = 6;

/// `encode(&(table_id: u32, row_id: u64))`: six distinct seeded table ids in `1..=64`,
/// picked zipf 0.99 (the first about 40% of keys), and row ids from one SplitMix64
/// stream, which makes every key distinct.
fn gen_composite(total: usize, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let mut ids: Vec<u32> = (1..=64).collect();
    shuffle(&mut ids, rng);
    ids.truncate(COMPOSITE_TABLES);
    let mut tables = Zipfian::new(COMPOSITE_TABLES as u64, 0.99);
    let mut rows = rng.fork();
    (0..total)
        .map(|_| {
            let table = ids[tables.next(rng) as usize];
            ordex_core::codec::encode(&(table, rows.next_u64()))
        })
        .collect()
}

fn gen_bin16(total: usize, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    // The first 8 bytes come from one SplitMix64 stream and are therefore distinct;
    // the last 8 come from an independent stream.
    let mut tail = rng.fork();
    (0..total)
        .map(|_| {
            let mut k = Vec::with_capacity(16);
            k.extend_from_slice(&rng.next_u64().to_be_bytes());
            k.extend_from_slice(&tail.next_u64().to_be_bytes());
            k
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// words

/// `total` distinct words of the shipped list in random order; past the list's size,
/// numbered variants `word2`, `word3`, … of every word in turn (see the module docs).
/// Returns the keys and a note if variants were needed.
fn gen_words(total: usize, rng: &mut SplitMix64) -> (Vec<Vec<u8>>, Option<String>) {
    let list = english_words();
    let mut order: Vec<u32> = (0..list.len() as u32).collect();
    shuffle(&mut order, rng);
    let mut keys: Vec<Vec<u8>> = (0..total)
        .map(|i| {
            // Round r (from 1) takes every word once, with suffix r from round 2 on.
            let round = i / order.len() + 1;
            let w = list.get(order[i % order.len()] as usize);
            let mut k = Vec::with_capacity(w.len() + 2);
            k.extend_from_slice(w.as_bytes());
            if round > 1 {
                k.extend_from_slice(round.to_string().as_bytes());
            }
            k
        })
        .collect();
    if total <= list.len() {
        return (keys, None);
    }
    // Mix variants with plain words so loaded and fresh keys look alike.
    shuffle(&mut keys, rng);
    let note = format!(
        "words: the {} words of the shipped ENABLE list, extended with {} numbered variants \
         (word2 … word{}) to reach {}",
        list.len(),
        total - list.len(),
        total.div_ceil(list.len()),
        total
    );
    (keys, Some(note))
}

/// Words of the shipped list between `min` and `max` letters, in seeded order, drawn
/// zipf-skewed (the first of that order most often), or picked by a hash.
struct Vocab {
    words: Vec<&'static str>,
    zipf: Zipfian,
}

impl Vocab {
    fn new(min: usize, max: usize, theta: f64, rng: &mut SplitMix64) -> Self {
        let mut words: Vec<&'static str> = english_words()
            .iter()
            .filter(|w| (min..=max).contains(&w.len()))
            .collect();
        shuffle(&mut words, rng);
        let zipf = Zipfian::new(words.len() as u64, theta);
        Vocab { words, zipf }
    }

    /// A zipf-distributed word.
    fn word(&mut self, rng: &mut SplitMix64) -> &'static str {
        self.words[self.zipf.next(rng) as usize]
    }

    /// A word fixed by `h` (uniform over the vocabulary for distinct `h`).
    fn hashed(&self, h: u64) -> &'static str {
        self.words[(mix64(h) % self.words.len() as u64) as usize]
    }
}

fn push_capitalized(out: &mut String, w: &str) {
    let mut chars = w.chars();
    if let Some(c) = chars.next() {
        out.push(c.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
}

fn pick<'a>(list: &[&'a str], rng: &mut SplitMix64) -> &'a str {
    list[rng.below(list.len() as u64) as usize]
}

/// Returns true with probability `percent / 100`.
fn chance(rng: &mut SplitMix64, percent: u64) -> bool {
    rng.below(100) < percent
}

// ---------------------------------------------------------------------------------
// urls

/// Minimum and maximum length of a `urls` key.
const URL_LEN: std::ops::RangeInclusive<usize> = 40..=100;

/// Function words mixed into titles and slugs.
const FUNCTION_WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "for", "on", "with", "how", "why", "what", "is", "a", "at",
    "by", "from", "your", "new", "best", "vs", "not", "can", "when", "after",
];
const WIKI_LANGS: &[&str] = &["en", "de", "fr", "es", "ja", "ru", "it", "pt", "zh", "nl"];
const WIKI_QUALIFIERS: &[&str] = &[
    "film",
    "band",
    "album",
    "song",
    "novel",
    "company",
    "river",
    "city",
    "surname",
    "disambiguation",
    "video_game",
    "TV_series",
    "horse",
    "ship",
    "play",
];
const GIT_DIRS: &[&str] = &[
    "src", "lib", "tests", "docs", "examples", "crates", "pkg", "internal", "cmd", "scripts",
    "benches", "include", "app", "api", "utils", "core", "test", "tools", "config", "web",
];
const GIT_EXTS: &[&str] = &[
    "rs", "go", "py", "ts", "js", "md", "c", "h", "java", "toml", "json", "yml", "cpp", "rb",
];
const NEWS_SECTIONS: &[&str] = &[
    "world",
    "us",
    "politics",
    "business",
    "technology",
    "science",
    "health",
    "sport",
    "culture",
    "opinion",
    "environment",
    "travel",
    "money",
    "education",
    "media",
    "books",
    "film",
    "music",
    "lifeandstyle",
    "uk-news",
    "football",
    "society",
    "food",
    "style",
];
const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const QA_HOSTS: &[&str] = &[
    "stackoverflow.com",
    "superuser.com",
    "askubuntu.com",
    "serverfault.com",
    "unix.stackexchange.com",
    "math.stackexchange.com",
    "softwareengineering.stackexchange.com",
];
const RUST_ITEMS: &[&str] = &[
    "struct", "struct", "struct", "fn", "fn", "trait", "enum", "enum", "type", "macro", "constant",
];

/// Owners in the `github.com` part of the URL set.
const GIT_OWNERS: usize = 1_500;
/// Crates in the `docs.rs` part of the URL set.
const DOC_CRATES: usize = 400;

/// The URL generator's vocabulary and per-site pools (see the module docs).
struct UrlGen {
    vocab: Vocab,
    langs: Zipfian,
    owners: Vec<String>,
    owner_dist: Zipfian,
    repo_dist: Zipfian,
    /// `(crate name, version)`.
    crates: Vec<(String, String)>,
    crate_dist: Zipfian,
    dirs: Zipfian,
    sections: Zipfian,
    qa: Zipfian,
}

impl UrlGen {
    fn new(rng: &mut SplitMix64) -> Self {
        let vocab = Vocab::new(3, 8, 0.8, rng);
        let owners = (0..GIT_OWNERS)
            .map(|_| {
                let mut o = String::new();
                let a = vocab.hashed(rng.next_u64());
                match rng.below(10) {
                    0..=3 => o.push_str(a),
                    4 | 5 => {
                        o.push_str(a);
                        o.push_str(vocab.hashed(rng.next_u64()));
                    }
                    6 => {
                        o.push_str(a);
                        o.push('-');
                        o.push_str(vocab.hashed(rng.next_u64()));
                    }
                    7 | 8 => write!(o, "{a}{}", rng.below(100)).expect("write to String"),
                    _ => {
                        push_capitalized(&mut o, a);
                        push_capitalized(&mut o, vocab.hashed(rng.next_u64()));
                    }
                }
                o
            })
            .collect();
        let crates = (0..DOC_CRATES)
            .map(|_| {
                let mut c = vocab.hashed(rng.next_u64()).to_string();
                match rng.below(4) {
                    0 => write!(c, "-{}", vocab.hashed(rng.next_u64())),
                    1 => write!(c, "_{}", vocab.hashed(rng.next_u64())),
                    _ => Ok(()),
                }
                .expect("write to String");
                let version = if chance(rng, 30) {
                    "latest".to_string()
                } else {
                    format!("{}.{}.{}", rng.below(3), rng.below(30), rng.below(20))
                };
                (c, version)
            })
            .collect();
        UrlGen {
            vocab,
            langs: Zipfian::new(WIKI_LANGS.len() as u64, 0.99),
            owners,
            owner_dist: Zipfian::new(GIT_OWNERS as u64, 0.9),
            repo_dist: Zipfian::new(40, 0.9),
            crates,
            crate_dist: Zipfian::new(DOC_CRATES as u64, 0.9),
            dirs: Zipfian::new(GIT_DIRS.len() as u64, 0.9),
            sections: Zipfian::new(NEWS_SECTIONS.len() as u64, 0.8),
            qa: Zipfian::new(QA_HOSTS.len() as u64, 0.99),
        }
    }

    /// From `min` to `max` words, a quarter of them function words, joined by `sep`.
    fn slug(&mut self, out: &mut String, min: u64, max: u64, sep: &str, rng: &mut SplitMix64) {
        let n = min + rng.below(max - min + 1);
        for i in 0..n {
            if i > 0 {
                out.push_str(sep);
            }
            let w = if chance(rng, 25) {
                pick(FUNCTION_WORDS, rng)
            } else {
                self.vocab.word(rng)
            };
            out.push_str(w);
        }
    }

    /// Words joined by `sep`, each capitalized.
    fn title(&mut self, out: &mut String, min: u64, max: u64, sep: &str, rng: &mut SplitMix64) {
        let n = min + rng.below(max - min + 1);
        for i in 0..n {
            if i > 0 {
                out.push_str(sep);
            }
            let w = self.vocab.word(rng);
            push_capitalized(out, w);
        }
    }

    fn date(out: &mut String, rng: &mut SplitMix64, sep: char, month_names: bool) {
        let (y, m, d) = (2005 + rng.below(21), 1 + rng.below(12), 1 + rng.below(28));
        if month_names {
            write!(out, "{y}{sep}{}{sep}{d:02}", MONTHS[m as usize - 1])
        } else {
            write!(out, "{y}{sep}{m:02}{sep}{d:02}")
        }
        .expect("write to String");
    }

    /// One candidate URL into `out` (cleared first).
    fn url(&mut self, out: &mut String, rng: &mut SplitMix64) {
        out.clear();
        match rng.below(100) {
            0..=25 => self.wikipedia(out, rng),
            26..=47 => self.github(out, rng),
            48..=67 => self.news(out, rng),
            68..=77 => self.docs_rs(out, rng),
            78..=87 => self.questions(out, rng),
            88..=92 => self.shop(out, rng),
            93..=96 => self.mdn(out, rng),
            _ => {
                out.push_str("https://www.youtube.com/watch?v=");
                push_random(out, 11, B64URL, rng);
            }
        }
    }

    fn wikipedia(&mut self, out: &mut String, rng: &mut SplitMix64) {
        let lang = WIKI_LANGS[self.langs.next(rng) as usize];
        write!(out, "https://{lang}.wikipedia.org/wiki/").expect("write to String");
        let n = 1 + rng.below(3);
        for i in 0..n {
            let w = self.vocab.word(rng);
            if i == 0 {
                push_capitalized(out, w);
            } else {
                out.push('_');
                if chance(rng, 50) {
                    push_capitalized(out, w);
                } else {
                    out.push_str(w);
                }
            }
        }
        if chance(rng, 15) {
            write!(out, "_({})", pick(WIKI_QUALIFIERS, rng)).expect("write to String");
        }
    }

    fn github(&mut self, out: &mut String, rng: &mut SplitMix64) {
        let owner_ix = self.owner_dist.next(rng);
        let owner = &self.owners[owner_ix as usize];
        let repo_ix = self.repo_dist.next(rng);
        write!(out, "https://github.com/{owner}/").expect("write to String");
        // The repository name is a function of (owner, rank).
        let h = owner_ix << 8 | repo_ix;
        let r = self.vocab.hashed(h);
        match mix64(h ^ 0x5EED) % 6 {
            0 => write!(out, "{r}-{}", self.vocab.hashed(h ^ 0xA5A5)),
            1 => write!(out, "{r}-rs"),
            2 => write!(out, "py{r}"),
            _ => write!(out, "{r}"),
        }
        .expect("write to String");
        let branch = match rng.below(20) {
            0..=13 => "main",
            14..=18 => "master",
            _ => "develop",
        };
        match rng.below(100) {
            0..=59 => {
                write!(out, "/blob/{branch}/").expect("write to String");
                self.git_dirs(out, rng);
                out.push_str(self.vocab.word(rng));
                if chance(rng, 30) {
                    out.push('_');
                    out.push_str(self.vocab.word(rng));
                }
                write!(out, ".{}", pick(GIT_EXTS, rng)).expect("write to String");
            }
            60..=74 => {
                write!(out, "/tree/{branch}/").expect("write to String");
                self.git_dirs(out, rng);
                out.pop();
            }
            tab => {
                // Issue numbers skewed to small ones, as projects have more early ones.
                let bound = 1 + rng.below(30_000);
                let n = 1 + rng.below(bound);
                let tab = if tab < 90 { "issues" } else { "pull" };
                write!(out, "/{tab}/{n}").expect("write to String");
            }
        }
    }

    /// One to three directories, each followed by `/`.
    fn git_dirs(&mut self, out: &mut String, rng: &mut SplitMix64) {
        for depth in 0..1 + rng.below(3) {
            if depth == 0 || chance(rng, 60) {
                out.push_str(GIT_DIRS[self.dirs.next(rng) as usize]);
            } else {
                out.push_str(self.vocab.word(rng));
            }
            out.push('/');
        }
    }

    fn news(&mut self, out: &mut String, rng: &mut SplitMix64) {
        let section = NEWS_SECTIONS[self.sections.next(rng) as usize];
        match rng.below(100) {
            0..=29 => {
                write!(out, "https://www.theguardian.com/{section}/").expect("write to String");
                Self::date(out, rng, '/', true);
                out.push('/');
                self.slug(out, 2, 5, "-", rng);
            }
            30..=54 => {
                out.push_str("https://www.nytimes.com/");
                Self::date(out, rng, '/', false);
                write!(out, "/{section}/").expect("write to String");
                self.slug(out, 2, 5, "-", rng);
                out.push_str(".html");
            }
            55..=69 => {
                out.push_str("https://edition.cnn.com/");
                Self::date(out, rng, '/', false);
                write!(out, "/{section}/").expect("write to String");
                self.slug(out, 2, 4, "-", rng);
                out.push_str("/index.html");
            }
            70..=84 => {
                write!(out, "https://www.reuters.com/{section}/").expect("write to String");
                self.slug(out, 2, 5, "-", rng);
                out.push('-');
                Self::date(out, rng, '-', false);
                out.push('/');
            }
            _ => {
                let id = 10_000_000 + rng.below(60_000_000);
                write!(out, "https://www.bbc.com/news/{section}-{id}").expect("write to String");
            }
        }
    }

    fn docs_rs(&mut self, out: &mut String, rng: &mut SplitMix64) {
        let (krate, version) = &self.crates[self.crate_dist.next(rng) as usize];
        let ident = krate.replace('-', "_");
        write!(out, "https://docs.rs/{krate}/{version}/{ident}/").expect("write to String");
        for _ in 0..rng.below(4) / 2 {
            out.push_str(self.vocab.word(rng));
            out.push('/');
        }
        let item = pick(RUST_ITEMS, rng);
        write!(out, "{item}.").expect("write to String");
        let n = 1 + rng.below(2);
        match item {
            "fn" | "macro" => self.slug(out, n, n, "_", rng),
            "constant" => {
                let start = out.len();
                self.slug(out, n, n, "_", rng);
                out[start..].make_ascii_uppercase();
            }
            _ => self.title(out, n, n, "", rng),
        }
        out.push_str(".html");
    }

    fn questions(&mut self, out: &mut String, rng: &mut SplitMix64) {
        let host = QA_HOSTS[self.qa.next(rng) as usize];
        let id = 1 + rng.below(79_000_000);
        write!(out, "https://{host}/questions/{id}/").expect("write to String");
        self.slug(out, 2, 6, "-", rng);
    }

    fn shop(&mut self, out: &mut String, rng: &mut SplitMix64) {
        out.push_str("https://www.amazon.com/");
        self.title(out, 2, 5, "-", rng);
        out.push_str("/dp/B0");
        push_random(out, 8, ALNUM_UPPER, rng);
    }

    fn mdn(&mut self, out: &mut String, rng: &mut SplitMix64) {
        out.push_str("https://developer.mozilla.org/en-US/docs/Web/API/");
        // The interface is a function of a zipf draw, so interfaces have many members.
        let i = self.vocab.zipf.next(rng);
        push_capitalized(out, self.vocab.hashed(i));
        push_capitalized(out, self.vocab.hashed(i ^ 0xF00D));
        out.push('/');
        out.push_str(self.vocab.word(rng));
        if chance(rng, 50) {
            push_capitalized(out, self.vocab.word(rng));
        }
    }
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ALNUM_UPPER: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn push_random(out: &mut String, n: usize, alphabet: &[u8], rng: &mut SplitMix64) {
    for _ in 0..n {
        out.push(char::from(
            alphabet[rng.below(alphabet.len() as u64) as usize],
        ));
    }
}

/// `total` distinct URLs (see the module docs), 40–100 bytes each.
fn gen_urls(total: usize, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let mut g = UrlGen::new(rng);
    let mut seen = Distinct::with_capacity(total);
    let mut keys = Vec::with_capacity(total);
    let mut buf = String::with_capacity(128);
    while keys.len() < total {
        g.url(&mut buf, rng);
        if URL_LEN.contains(&buf.len()) && seen.insert(buf.as_bytes()) {
            keys.push(buf.as_bytes().to_vec());
        }
    }
    keys
}

// ---------------------------------------------------------------------------------
// emails

const FIRST_NAMES: &str = "james mary robert patricia john jennifer michael linda david \
    elizabeth william barbara richard susan joseph jessica thomas sarah christopher karen \
    charles lisa daniel nancy matthew betty anthony sandra mark margaret donald ashley steven \
    kimberly andrew emily paul donna joshua michelle kenneth carol kevin amanda brian melissa \
    george deborah timothy stephanie ronald rebecca jason sharon edward laura jeffrey cynthia \
    ryan dorothy jacob amy gary kathleen nicholas angela eric shirley jonathan emma stephen \
    brenda larry pamela justin nicole scott anna brandon samantha benjamin katherine samuel \
    christine gregory debra alexander rachel patrick carolyn frank janet raymond maria jack \
    olivia dennis heather jerry helen tyler catherine aaron diane jose julie adam victoria \
    nathan joyce henry lauren zachary kelly douglas christina peter ruth kyle joan noah \
    virginia ethan judith jeremy evelyn walter hannah christian andrea keith megan roger \
    cheryl terry jacqueline austin martha sean madison gerald teresa carl gloria harold sara \
    dylan janice arthur ann lawrence kathryn jordan abigail jesse sophia bryan frances billy \
    jean bruce alice gabriel judy joe isabella logan julia alan grace juan amber albert \
    denise willie danielle elijah marilyn wayne beverly randy charlotte vincent natalie mason \
    theresa roy diana ralph brittany bobby doris russell kayla bradley alexis philip lori \
    eugene marie";
const LAST_NAMES: &str = "smith johnson williams brown jones garcia miller davis rodriguez \
    martinez hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin lee \
    perez thompson white harris sanchez clark ramirez lewis robinson walker young allen king \
    wright scott torres nguyen hill flores green adams nelson baker hall rivera campbell \
    mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins \
    reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson \
    bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james \
    bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long ross \
    foster jimenez powell jenkins perry russell sullivan bell coleman butler henderson barnes \
    gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham \
    reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina \
    aguilar stevens murray ford castro marshall owens harrison fernandez mcdonald woods \
    washington kennedy wells vargas henry chen freeman webb tucker guzman burns crawford \
    olson simpson porter hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks \
    holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice \
    schmidt garza daniels ferguson nichols stephens soto weaver";
const EMAIL_PROVIDERS: &str = "gmail.com yahoo.com hotmail.com outlook.com aol.com icloud.com \
    mail.com protonmail.com gmx.de web.de yandex.ru qq.com 163.com live.com msn.com \
    comcast.net verizon.net att.net me.com mac.com zoho.com fastmail.com hey.com \
    tutanota.com orange.fr free.fr libero.it t-online.de btinternet.com example.org";

/// Company and university domains of the `emails` key set.
const EMAIL_ORG_DOMAINS: usize = 2_000;
const ORG_TLDS: &[&str] = &[
    "com", "com", "com", "com", "org", "net", "io", "co.uk", "de", "edu", "edu",
];

fn words(s: &'static str) -> Vec<&'static str> {
    s.split_ascii_whitespace().collect()
}

/// `total` distinct e-mail addresses (see the module docs).
fn gen_emails(total: usize, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let mut first = words(FIRST_NAMES);
    let mut last = words(LAST_NAMES);
    let providers = words(EMAIL_PROVIDERS);
    // Seed-dependent name popularity; provider popularity follows the list order.
    shuffle(&mut first, rng);
    shuffle(&mut last, rng);
    let mut vocab = Vocab::new(3, 8, 0.8, rng);
    let orgs: Vec<String> = (0..EMAIL_ORG_DOMAINS)
        .map(|_| {
            let w = vocab.hashed(rng.next_u64());
            let tld = pick(ORG_TLDS, rng);
            match rng.below(6) {
                0 => format!("{w}{}.{tld}", vocab.hashed(rng.next_u64())),
                1 if tld == "edu" => format!("cs.{w}.{tld}"),
                1 => format!("mail.{w}.{tld}"),
                _ => format!("{w}.{tld}"),
            }
        })
        .collect();
    let mut first_dist = Zipfian::new(first.len() as u64, 0.5);
    let mut last_dist = Zipfian::new(last.len() as u64, 0.5);
    let mut provider_dist = Zipfian::new(providers.len() as u64, 0.99);
    let mut org_dist = Zipfian::new(orgs.len() as u64, 0.8);
    let mut seen = Distinct::with_capacity(total);
    let mut keys = Vec::with_capacity(total);
    let mut local = String::with_capacity(32);
    let mut buf = String::with_capacity(64);
    while keys.len() < total {
        let f = first[first_dist.next(rng) as usize];
        let l = last[last_dist.next(rng) as usize];
        local.clear();
        match rng.below(100) {
            0..=34 => write!(local, "{f}.{l}"),
            35..=44 => write!(local, "{f}{l}"),
            45..=59 => write!(local, "{}{l}", &f[..1]),
            60..=64 => write!(local, "{f}_{l}"),
            65..=69 => write!(local, "{f}{}", &l[..1]),
            70..=77 => write!(local, "{f}.{l}{:02}", rng.below(100)),
            78..=84 => write!(local, "{f}.{l}{}", 1950 + rng.below(56)),
            _ => {
                local.push_str(vocab.word(rng));
                if chance(rng, 50) {
                    local.push_str(vocab.word(rng));
                }
                if chance(rng, 50) {
                    write!(local, "{}", rng.below(1000))
                } else {
                    Ok(())
                }
            }
        }
        .expect("write to String");
        let domain: &str = if chance(rng, 70) {
            providers[provider_dist.next(rng) as usize]
        } else {
            &orgs[org_dist.next(rng) as usize]
        };
        // A taken address gets a number appended, as mail providers suggest.
        let (mut n, mut tries) = (0u64, 0u32);
        loop {
            buf.clear();
            buf.push_str(&local);
            if n > 0 {
                write!(buf, "{n}").expect("write to String");
            }
            buf.push('@');
            buf.push_str(domain);
            if seen.insert(buf.as_bytes()) {
                break;
            }
            tries += 1;
            n = 1 + rng.below(match tries {
                1..=3 => 100,
                4..=6 => 10_000,
                _ => 1_000_000_000,
            });
        }
        keys.push(buf.as_bytes().to_vec());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::ENGLISH_WORD_COUNT;

    fn assert_distinct(keys: &[Vec<u8>], what: &str) {
        let set: HashSet<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        assert_eq!(set.len(), keys.len(), "{what}: duplicate keys");
    }

    fn is_ascending(keys: &[Vec<u8>]) -> bool {
        keys.windows(2).all(|w| w[0] < w[1])
    }

    fn is_descending(keys: &[Vec<u8>]) -> bool {
        keys.windows(2).all(|w| w[0] > w[1])
    }

    fn strs(keys: &[Vec<u8>]) -> Vec<&str> {
        keys.iter()
            .map(|k| std::str::from_utf8(k).unwrap())
            .collect()
    }

    #[test]
    fn names_roundtrip() {
        for k in KeySetKind::ALL {
            assert_eq!(k.name().parse::<KeySetKind>().unwrap(), k);
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!(
            "U64_RANDOM".parse::<KeySetKind>().unwrap(),
            KeySetKind::U64Random
        );
        assert_eq!("IDS_ASC".parse::<KeySetKind>().unwrap(), KeySetKind::IdsAsc);
        let e = "nope".parse::<KeySetKind>().unwrap_err();
        assert!(e.to_string().contains("u64-mono") && e.to_string().contains("composite"));
        assert!(KeySetKind::U64Random.is_integer() && KeySetKind::U64Mono.is_integer());
        for k in KeySetKind::ALL.into_iter().skip(2) {
            assert!(!k.is_integer(), "{k}");
        }
        // ALL is the report order and the derived order.
        assert!(KeySetKind::ALL.windows(2).all(|w| w[0] < w[1]));
        let names: Vec<&str> = KeySetKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, crate::report::summary::KEYSET_ORDER);
        // Each kind has its own random stream.
        let streams: HashSet<u64> = KeySetKind::ALL.iter().map(|k| k.stream()).collect();
        assert_eq!(streams.len(), KeySetKind::ALL.len());
    }

    #[test]
    fn distinct_and_sized_for_every_kind() {
        for kind in KeySetKind::ALL {
            let ks = KeySet::generate(kind, 150_000, 50_000, 7);
            assert_eq!(ks.kind, kind);
            assert_eq!(ks.keys.len(), 200_000, "{kind}");
            assert_eq!(ks.loaded, 150_000);
            assert_eq!(ks.loaded_keys().len(), 150_000);
            assert_eq!(ks.fresh_keys().len(), 50_000);
            assert_distinct(&ks.keys, kind.name());
            assert!(ks.keys.iter().all(|k| !k.is_empty()));
            assert_eq!(ks.ints.is_some(), kind.is_integer(), "{kind}");
            if let Some(ints) = &ks.ints {
                assert_eq!(ints.len(), ks.keys.len());
                for (i, k) in ints.iter().zip(&ks.keys) {
                    assert_eq!(&i.to_be_bytes()[..], &k[..]);
                }
            }
            let avg = ks.avg_key_len();
            match kind {
                KeySetKind::U64Random | KeySetKind::U64Mono => assert_eq!(avg, 8.0),
                KeySetKind::IdsAsc | KeySetKind::IdsDesc | KeySetKind::Bin16 => {
                    assert_eq!(avg, 16.0)
                }
                KeySetKind::Composite => assert_eq!(avg, 12.0),
                KeySetKind::Words => assert!((8.0..10.0).contains(&avg), "{avg}"),
                KeySetKind::Urls => assert!((50.0..70.0).contains(&avg), "{avg}"),
                KeySetKind::Emails => assert!((15.0..40.0).contains(&avg), "{avg}"),
            }
        }
    }

    #[test]
    fn order_matches_generated_keys() {
        for kind in KeySetKind::ALL {
            let ks = KeySet::generate(kind, 1000, 200, 3);
            let (asc, desc) = (is_ascending(&ks.keys), is_descending(&ks.keys));
            match kind.order() {
                KeyOrder::Ascending => assert!(asc, "{kind}"),
                KeyOrder::Descending => assert!(desc, "{kind}"),
                KeyOrder::Random => assert!(!asc && !desc, "{kind}"),
            }
            assert_eq!(kind.order().is_sorted(), asc || desc, "{kind}");
        }
    }

    #[test]
    fn mono_is_ascending_and_continues() {
        let ks = KeySet::generate(KeySetKind::U64Mono, 1000, 500, 1);
        let ints = ks.ints.as_ref().unwrap();
        assert_eq!(ints, &(0..1500).collect::<Vec<u64>>());
        assert!(is_ascending(&ks.keys));
        assert!(ks.fresh_keys()[0] > *ks.loaded_keys().last().unwrap());
    }

    /// The 8-byte prefix of every key, and the counters.
    fn split_ids(ks: &KeySet) -> ([u8; 8], Vec<u64>) {
        let prefix: [u8; 8] = ks.keys[0][..8].try_into().unwrap();
        let counters = ks
            .keys
            .iter()
            .map(|k| {
                assert_eq!(k.len(), 16);
                assert_eq!(k[..8], prefix, "one fixed prefix");
                u64::from_be_bytes(k[8..].try_into().unwrap())
            })
            .collect();
        (prefix, counters)
    }

    #[test]
    fn ids_asc_ascending_and_fresh_continue() {
        let ks = KeySet::generate(KeySetKind::IdsAsc, 10_000, 2_000, 5);
        assert!(ks.ints.is_none());
        let (prefix, c) = split_ids(&ks);
        assert_ne!(prefix, [0; 8]);
        // A counter up by one per key, loaded then fresh.
        assert!(c.windows(2).all(|w| w[1] == w[0] + 1));
        assert!(is_ascending(&ks.keys));
        assert!(ks.fresh_keys()[0] > *ks.loaded_keys().last().unwrap());
        assert!(c[0] >= IDS_ASC_BASE);
        // A longer set with the same seed extends the same sequence.
        let more = KeySet::generate(KeySetKind::IdsAsc, 10_000, 5_000, 5);
        assert_eq!(more.keys[..12_000], ks.keys[..]);
    }

    #[test]
    fn ids_desc_descending_and_fresh_continue() {
        let ks = KeySet::generate(KeySetKind::IdsDesc, 10_000, 2_000, 5);
        assert!(ks.ints.is_none());
        let (_, c) = split_ids(&ks);
        assert!(c.windows(2).all(|w| w[1] + 1 == w[0]));
        assert!(is_descending(&ks.keys));
        assert!(ks.fresh_keys()[0] < *ks.loaded_keys().last().unwrap());
        assert!((IDS_DESC_BASE..IDS_DESC_BASE + (1 << 39)).contains(&c[0]));
        let asc = KeySet::generate(KeySetKind::IdsAsc, 10_000, 2_000, 5);
        assert_ne!(asc.keys[0][..8], ks.keys[0][..8], "own table id");
    }

    #[test]
    fn composite_decodes_to_table_and_row() {
        let ks = KeySet::generate(KeySetKind::Composite, 20_000, 5_000, 9);
        assert!(ks.ints.is_none());
        let mut tables: std::collections::HashMap<u32, usize> = Default::default();
        for k in &ks.keys {
            let (t, row) = ordex_core::codec::decode::<(u32, u64)>(k).unwrap();
            assert_eq!(ordex_core::codec::encode(&(t, row)), *k);
            assert!((1..=64).contains(&t));
            *tables.entry(t).or_default() += 1;
        }
        assert_eq!(tables.len(), COMPOSITE_TABLES, "{tables:?}");
        // Zipf-skewed: the biggest table holds several times the smallest.
        let (max, min) = (
            tables.values().max().unwrap(),
            tables.values().min().unwrap(),
        );
        assert!(*max > 3 * *min && *max > 25_000 / 4, "{tables:?}");
        // Rows of one table are spread across the key space, not appended.
        assert!(!is_ascending(&ks.keys));
    }

    #[test]
    fn deterministic_for_seed() {
        for kind in KeySetKind::ALL {
            let a = KeySet::generate(kind, 5000, 1000, 11);
            let b = KeySet::generate(kind, 5000, 1000, 11);
            assert_eq!(a, b, "{kind}");
            if kind != KeySetKind::U64Mono {
                let c = KeySet::generate(kind, 5000, 1000, 12);
                assert_ne!(a.keys, c.keys, "{kind}");
            }
        }
    }

    #[test]
    fn same_keys_as_before_for_unchanged_kinds() {
        // Adding kinds left the random streams of the old ones alone.
        let ks = KeySet::generate(KeySetKind::U64Random, 2, 0, 42);
        let mut rng = SplitMix64::new(mix64(42 ^ 0x9E37_79B9));
        assert_eq!(ks.ints.unwrap(), [rng.next_u64(), rng.next_u64()]);
    }

    #[test]
    fn empty_sets() {
        for kind in KeySetKind::ALL {
            let ks = KeySet::generate(kind, 0, 0, 1);
            assert!(ks.keys.is_empty());
            assert_eq!(ks.avg_key_len(), 0.0);
        }
    }

    #[test]
    fn words_come_from_shipped_list() {
        let list: HashSet<&str> = english_words().iter().collect();
        let ks = KeySet::generate(KeySetKind::Words, 50_000, 10_000, 9);
        assert!(ks.note.is_none(), "{:?}", ks.note);
        for w in strs(&ks.keys) {
            assert!(list.contains(w), "{w:?} is not in the list");
        }
        // The whole list fits without a note.
        let all = KeySet::generate(KeySetKind::Words, ENGLISH_WORD_COUNT, 0, 9);
        assert!(all.note.is_none());
        let got: HashSet<&str> = strs(&all.keys).into_iter().collect();
        assert_eq!(got, list);
    }

    #[test]
    fn words_beyond_the_list_are_numbered_variants() {
        let list: HashSet<&str> = english_words().iter().collect();
        let n = ENGLISH_WORD_COUNT;
        let ks = KeySet::generate(KeySetKind::Words, 2 * n, 1000, 4);
        assert_eq!(ks.keys.len(), 2 * n + 1000);
        assert_distinct(&ks.keys, "extended words");
        let (mut plain, mut second, mut third) = (0, 0, 0);
        for k in strs(&ks.keys) {
            let cut = k.find(|c: char| c.is_ascii_digit()).unwrap_or(k.len());
            assert!(list.contains(&k[..cut]), "{k:?}");
            match &k[cut..] {
                "" => plain += 1,
                "2" => second += 1,
                "3" => third += 1,
                s => panic!("unexpected suffix {s:?}"),
            }
        }
        assert_eq!((plain, second, third), (n, n, 1000));
        // Variants are mixed in, loaded and fresh alike.
        let fresh_plain = strs(ks.fresh_keys())
            .iter()
            .filter(|k| !k.ends_with(|c: char| c.is_ascii_digit()))
            .count();
        assert!((200..800).contains(&fresh_plain), "{fresh_plain}");
        let note = ks.note.unwrap();
        assert!(
            note.contains("numbered variants") && note.contains("word3"),
            "{note}"
        );
    }

    #[test]
    fn url_shapes() {
        let ks = KeySet::generate(KeySetKind::Urls, 50_000, 10_000, 5);
        let urls = strs(&ks.keys);
        let mut hosts: std::collections::HashMap<&str, usize> = Default::default();
        for u in &urls {
            assert!(URL_LEN.contains(&u.len()), "{u} ({} bytes)", u.len());
            let rest = u.strip_prefix("https://").unwrap_or_else(|| panic!("{u}"));
            assert!(u.bytes().all(|b| b.is_ascii_graphic()), "{u}");
            let host = rest.split('/').next().unwrap();
            assert!(host.contains('.') && rest.len() > host.len() + 1, "{u}");
            *hosts.entry(host).or_default() += 1;
        }
        // A few hosts with many paths; the biggest holds a fifth of the keys.
        assert!((20..=40).contains(&hosts.len()), "{:?}", hosts.keys());
        let max = *hosts.values().max().unwrap();
        assert!(max > urls.len() / 5, "{max}");
        // Keys share long prefixes with their sorted neighbours: hosts, path heads,
        // owners, crates, sections, dates.
        let prefix = ks.mean_shared_prefix();
        assert!(prefix > 25.0, "{prefix}");
        let avg = ks.avg_key_len();
        assert!((55.0..70.0).contains(&avg), "{avg}");
        let deep = urls.iter().filter(|u| u.matches('/').count() >= 5).count();
        assert!(deep > urls.len() / 3, "{deep}");
        for scheme in [
            "https://en.wikipedia.org/wiki/",
            "https://github.com/",
            "https://docs.rs/",
            "https://www.theguardian.com/",
            "https://www.nytimes.com/",
            "https://stackoverflow.com/questions/",
            "https://www.amazon.com/",
            "https://developer.mozilla.org/en-US/docs/Web/API/",
            "https://www.youtube.com/watch?v=",
        ] {
            let n = urls.iter().filter(|u| u.starts_with(scheme)).count();
            assert!(n > 500, "{scheme}: {n}");
        }
    }

    #[test]
    fn email_shapes() {
        let ks = KeySet::generate(KeySetKind::Emails, 50_000, 10_000, 5);
        let mut domains: HashSet<&str> = HashSet::new();
        let mut dotted = 0;
        for s in strs(&ks.keys) {
            let (local, domain) = s.split_once('@').unwrap();
            assert!(!local.is_empty() && domain.contains('.'), "{s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b)),
                "{s}"
            );
            assert!((6..=60).contains(&s.len()), "{s}");
            dotted += usize::from(local.contains('.'));
            domains.insert(domain);
        }
        assert!(
            domains.contains("gmail.com") && domains.len() > 500,
            "{}",
            domains.len()
        );
        assert!(dotted > 20_000 && dotted < 40_000, "{dotted}");
        let prefix = ks.mean_shared_prefix();
        assert!(prefix > 5.0, "{prefix}");
    }

    #[test]
    fn name_lists_have_no_duplicates() {
        for list in [FIRST_NAMES, LAST_NAMES, EMAIL_PROVIDERS] {
            let w = words(list);
            let set: HashSet<&str> = w.iter().copied().collect();
            assert_eq!(set.len(), w.len(), "duplicate in {list:.30}");
        }
        assert!(words(FIRST_NAMES).len() >= 190 && words(LAST_NAMES).len() >= 190);
        for list in [
            WIKI_LANGS,
            GIT_DIRS,
            NEWS_SECTIONS,
            QA_HOSTS,
            FUNCTION_WORDS,
        ] {
            let set: HashSet<&str> = list.iter().copied().collect();
            assert_eq!(set.len(), list.len(), "duplicate in {list:?}");
        }
    }
}
