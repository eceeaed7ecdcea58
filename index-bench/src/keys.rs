//! Key sets: deterministic, seeded collections of distinct byte-string keys.
//!
//! A [`KeySet`] holds `loaded + fresh` distinct keys. `keys[..loaded]` are loaded into
//! an index before a workload runs; `keys[loaded..]` are fresh keys, absent from the
//! loaded set, used for inserts (YCSB D/E inserts, memtable fills, later load phases).
//!
//! Generation uses only [`SplitMix64`]; every kind is a pure function of
//! `(kind, loaded, fresh, seed)` (the `words` kind additionally of the contents of
//! [`WORDS_PATH`]).

use std::collections::HashSet;
use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr;

use crate::dist::{mix64, SplitMix64, Zipfian};

/// The word list used by [`KeySetKind::Words`] (Debian's `wamerican`).
pub const WORDS_PATH: &str = "/usr/share/dict/words";

/// The kind of keys in a [`KeySet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySetKind {
    /// Distinct random `u64`s, encoded as 8-byte big-endian.
    U64Random,
    /// `0, 1, 2, …` ascending, encoded as 8-byte big-endian (fresh keys continue the
    /// sequence, so inserts are monotonic).
    U64Mono,
    /// Distinct random 16-byte binary strings.
    Bin16,
    /// English words from [`WORDS_PATH`] (or generated pseudo-words if missing).
    Words,
    /// Synthetic URLs with shared, zipf-skewed domain/section prefixes.
    Urls,
    /// Synthetic email addresses `first.lastN@domain` with zipf-skewed domains.
    Emails,
}

impl KeySetKind {
    /// All kinds, in canonical order.
    pub const ALL: [KeySetKind; 6] = [
        KeySetKind::U64Random,
        KeySetKind::U64Mono,
        KeySetKind::Bin16,
        KeySetKind::Words,
        KeySetKind::Urls,
        KeySetKind::Emails,
    ];

    /// Stable short name: `u64-random`, `u64-mono`, `bin16`, `words`, `urls`, `emails`.
    pub fn name(self) -> &'static str {
        match self {
            KeySetKind::U64Random => "u64-random",
            KeySetKind::U64Mono => "u64-mono",
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
    /// Distinct keys in the order they should be loaded (random order, except
    /// `u64-mono`, which is ascending).
    pub keys: Vec<Vec<u8>>,
    /// For integer kinds: `ints[i]` encodes (8-byte big-endian) to `keys[i]`.
    pub ints: Option<Vec<u64>>,
    /// `keys[..loaded]` are loaded before a workload; `keys[loaded..]` are fresh.
    pub loaded: usize,
    /// A remark about how the set was built (e.g. word-list fallback or extension).
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
        let mut rng = SplitMix64::new(mix64(seed ^ (kind as u64 + 1).wrapping_mul(0x9E37_79B9)));
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
            KeySetKind::Bin16 => gen_bin16(total, &mut rng),
            KeySetKind::Words => {
                let (k, n) = gen_words_from(Path::new(WORDS_PATH), total, &mut rng);
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

/// Reads the distinct words of `path` (one per line; `~` words dropped so suffixed
/// variants stay distinct), sorted. `None` if unreadable or empty.
fn read_words(path: &Path) -> Option<Vec<Vec<u8>>> {
    let data = std::fs::read(path).ok()?;
    let mut words: Vec<Vec<u8>> = data
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty() && !l.contains(&b'~'))
        .map(<[u8]>::to_vec)
        .collect();
    words.sort_unstable();
    words.dedup();
    (!words.is_empty()).then_some(words)
}

/// `total` distinct words from the list at `path` in random order, extended with
/// `word~2`, `word~3`, … variants if the list is too short; generated pseudo-words if
/// the list is missing. Returns the keys and an optional note.
fn gen_words_from(
    path: &Path,
    total: usize,
    rng: &mut SplitMix64,
) -> (Vec<Vec<u8>>, Option<String>) {
    let Some(mut base) = read_words(path) else {
        let keys = gen_pseudo_words(total, rng);
        let note = format!(
            "{} not found or empty; using {} generated pseudo-words",
            path.display(),
            total
        );
        return (keys, Some(note));
    };
    shuffle(&mut base, rng);
    if base.len() >= total {
        base.truncate(total);
        return (base, None);
    }
    let distinct = base.len();
    let mut keys = Vec::with_capacity(total);
    keys.extend_from_slice(&base);
    let mut round: u64 = 2;
    'outer: loop {
        for w in &base {
            if keys.len() == total {
                break 'outer;
            }
            let mut k = Vec::with_capacity(w.len() + 4);
            k.extend_from_slice(w);
            write!(k, "~{round}").expect("write to Vec");
            keys.push(k);
        }
        round += 1;
    }
    // Interleave variants with originals so loaded and fresh keys look alike.
    shuffle(&mut keys, rng);
    let note = format!(
        "{} has {} distinct words; extended with {} suffixed variants (word~2 … word~{}) to reach {}",
        path.display(),
        distinct,
        total - distinct,
        round,
        total
    );
    (keys, Some(note))
}

const CONSONANTS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y", "z",
    "ch", "sh", "th", "st", "tr", "br", "pl", "gr", "cr",
];
const VOWELS: &[&str] = &[
    "a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "oo", "ou", "ie",
];

/// `total` distinct pronounceable pseudo-words: consonant–vowel syllables, 3–12
/// lowercase ASCII letters, in random order.
fn gen_pseudo_words(total: usize, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(total);
    let mut keys = Vec::with_capacity(total);
    let mut w = Vec::with_capacity(16);
    while keys.len() < total {
        // Length 3..=12, peaked around 7–8 like real words.
        let len = 3 + rng.below(5) as usize + rng.below(6) as usize;
        w.clear();
        let mut consonant = rng.below(5) != 0; // most words start with a consonant
        while w.len() < len {
            let set = if consonant { CONSONANTS } else { VOWELS };
            w.extend_from_slice(set[rng.below(set.len() as u64) as usize].as_bytes());
            consonant = !consonant;
        }
        w.truncate(len);
        if !seen.contains(&w) {
            seen.insert(w.clone());
            keys.push(w.clone());
        }
    }
    keys
}

// ---------------------------------------------------------------------------------
// urls

const DOMAIN_HEADS: &str = "blue red green silver golden north south east west big little \
    bright dark open smart quick happy wild urban global cloud data pixel star";
const DOMAIN_TAILS: &str = "river stone wave forge works labs hub news media store market \
    press digital books travel tech";
/// TLDs with repetition as popularity weights.
const TLDS: &[&str] = &[
    "com", "com", "com", "com", "com", "com", "com", "com", "com", "com", "org", "org", "org",
    "net", "net", "net", "io", "io", "de", "de", "co.uk", "fr", "info", "dev", "ca", "nl", "jp",
];
const SECTIONS: &str = "news blog products docs forum wiki shop help articles events";
const SUBS: &str = "world tech sports science health business politics culture travel food \
    music movies games books finance education design security cloud mobile web data ai \
    history art fashion auto home garden local";
const SLUG_WORDS: &str = "the best how to guide new review top ways make your why first great \
    for with about simple easy quick ultimate complete introduction getting started advanced \
    tips tricks using building understanding learning beyond future modern history story \
    inside behind world city life home day night year time people love water fire light dark \
    open free small big old young little long short fast slow rust python linux server \
    database index tree cache memory storage network search engine market price deal sale \
    update release notes version report analysis study data results summer winter spring \
    autumn recipe chicken pasta garden travel beach mountain river photo video music album \
    game team player season match goal";

/// Number of distinct domains in the URL key set.
const URL_DOMAINS: usize = 300;

fn words(s: &'static str) -> Vec<&'static str> {
    s.split_ascii_whitespace().collect()
}

/// `https://www.<domain>.<tld>/<section>/<sub>/<slug>-<id>`: domains (300, zipf 0.99
/// by seed-shuffled rank), sections and subsections (zipf 0.8), 1–4 slug words, and an
/// id from a seeded permutation of `0..10^k`, which makes every URL distinct.
fn gen_urls(total: usize, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let heads = words(DOMAIN_HEADS);
    let tails = words(DOMAIN_TAILS);
    let mut domains: Vec<String> = heads
        .iter()
        .flat_map(|h| tails.iter().map(move |t| format!("{h}{t}")))
        .collect();
    shuffle(&mut domains, rng);
    domains.truncate(URL_DOMAINS);
    let domains: Vec<String> = domains
        .into_iter()
        .map(|d| format!("{d}.{}", TLDS[rng.below(TLDS.len() as u64) as usize]))
        .collect();
    let sections = words(SECTIONS);
    let subs = words(SUBS);
    let slug = words(SLUG_WORDS);

    let mut domain_dist = Zipfian::new(domains.len() as u64, 0.99);
    let mut section_dist = Zipfian::new(sections.len() as u64, 0.8);
    let mut sub_dist = Zipfian::new(subs.len() as u64, 0.8);
    // Each section has its own ordering of sub popularity.
    let sub_orders: Vec<Vec<usize>> = (0..sections.len())
        .map(|_| {
            let mut o: Vec<usize> = (0..subs.len()).collect();
            shuffle(&mut o, rng);
            o
        })
        .collect();

    let perm = IdPermutation::new(total, rng);
    let mut keys = Vec::with_capacity(total);
    let mut buf: Vec<u8> = Vec::with_capacity(128);
    for i in 0..total {
        let d = &domains[domain_dist.next(rng) as usize];
        let s = section_dist.next(rng) as usize;
        let sub = subs[sub_orders[s][sub_dist.next(rng) as usize]];
        buf.clear();
        buf.extend_from_slice(b"https://www.");
        buf.extend_from_slice(d.as_bytes());
        buf.push(b'/');
        buf.extend_from_slice(sections[s].as_bytes());
        buf.push(b'/');
        buf.extend_from_slice(sub.as_bytes());
        buf.push(b'/');
        for _ in 0..1 + rng.below(4) {
            buf.extend_from_slice(slug[rng.below(slug.len() as u64) as usize].as_bytes());
            buf.push(b'-');
        }
        write!(buf, "{}", perm.get(i as u64)).expect("write to Vec");
        keys.push(buf.clone());
    }
    keys
}

/// A seeded bijection `i -> (a*i + b) mod m` on `0..m`, with `m = 10^k ≥ 10·total`
/// (at least 10^6) and `a` coprime to 10; used to give URLs distinct random-looking ids.
struct IdPermutation {
    a: u128,
    b: u128,
    m: u128,
}

impl IdPermutation {
    fn new(total: usize, rng: &mut SplitMix64) -> Self {
        let mut m: u128 = 1_000_000;
        while m < 10 * total as u128 {
            m *= 10;
        }
        let mut a = (u128::from(rng.next_u64()) % m) | 1;
        if a.is_multiple_of(5) {
            a = (a + 2) % m;
        }
        let b = u128::from(rng.next_u64()) % m;
        IdPermutation { a, b, m }
    }

    fn get(&self, i: u64) -> u128 {
        (self.a * u128::from(i) + self.b) % self.m
    }
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
const EMAIL_DOMAINS: &str = "gmail.com yahoo.com hotmail.com outlook.com aol.com icloud.com \
    mail.com protonmail.com gmx.de web.de yandex.ru qq.com 163.com live.com msn.com \
    comcast.net verizon.net att.net me.com mac.com zoho.com fastmail.com hey.com \
    tutanota.com orange.fr free.fr libero.it t-online.de btinternet.com example.org";

/// `<first>.<last><n>@<domain>`: names zipf 0.5 over ~200 first/last names, domains zipf
/// 0.99 over 30; `n` counts earlier uses of the same (first, last, domain), empty for
/// the first, which makes every address distinct.
fn gen_emails(total: usize, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let mut first = words(FIRST_NAMES);
    let mut last = words(LAST_NAMES);
    let domains = words(EMAIL_DOMAINS);
    // Seed-dependent name popularity; domain popularity follows the list order.
    shuffle(&mut first, rng);
    shuffle(&mut last, rng);
    let (nf, nl, nd) = (first.len(), last.len(), domains.len());
    let mut first_dist = Zipfian::new(nf as u64, 0.5);
    let mut last_dist = Zipfian::new(nl as u64, 0.5);
    let mut domain_dist = Zipfian::new(nd as u64, 0.99);
    let mut counts = vec![0u32; nf * nl * nd];
    let mut keys = Vec::with_capacity(total);
    let mut buf: Vec<u8> = Vec::with_capacity(64);
    for _ in 0..total {
        let f = first_dist.next(rng) as usize;
        let l = last_dist.next(rng) as usize;
        let d = domain_dist.next(rng) as usize;
        let c = &mut counts[(f * nl + l) * nd + d];
        buf.clear();
        buf.extend_from_slice(first[f].as_bytes());
        buf.push(b'.');
        buf.extend_from_slice(last[l].as_bytes());
        if *c > 0 {
            write!(buf, "{c}").expect("write to Vec");
        }
        *c += 1;
        buf.push(b'@');
        buf.extend_from_slice(domains[d].as_bytes());
        keys.push(buf.clone());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_distinct(keys: &[Vec<u8>], what: &str) {
        let set: HashSet<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        assert_eq!(set.len(), keys.len(), "{what}: duplicate keys");
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
        let e = "nope".parse::<KeySetKind>().unwrap_err();
        assert!(e.to_string().contains("u64-mono"));
        assert!(KeySetKind::U64Random.is_integer() && KeySetKind::U64Mono.is_integer());
        assert!(!KeySetKind::Bin16.is_integer() && !KeySetKind::Words.is_integer());
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
                KeySetKind::Bin16 => assert_eq!(avg, 16.0),
                KeySetKind::Words => assert!((3.0..20.0).contains(&avg), "{avg}"),
                KeySetKind::Urls => assert!((40.0..100.0).contains(&avg), "{avg}"),
                KeySetKind::Emails => assert!((15.0..40.0).contains(&avg), "{avg}"),
            }
        }
    }

    #[test]
    fn mono_is_ascending_and_continues() {
        let ks = KeySet::generate(KeySetKind::U64Mono, 1000, 500, 1);
        let ints = ks.ints.as_ref().unwrap();
        assert_eq!(ints, &(0..1500).collect::<Vec<u64>>());
        assert!(ks.keys.windows(2).all(|w| w[0] < w[1]));
        assert!(ks.fresh_keys()[0] > *ks.loaded_keys().last().unwrap());
    }

    #[test]
    fn random_kinds_are_not_sorted() {
        for kind in [
            KeySetKind::U64Random,
            KeySetKind::Bin16,
            KeySetKind::Words,
            KeySetKind::Urls,
            KeySetKind::Emails,
        ] {
            let ks = KeySet::generate(kind, 1000, 0, 3);
            assert!(!ks.keys.windows(2).all(|w| w[0] < w[1]), "{kind}");
        }
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
    fn empty_sets() {
        for kind in KeySetKind::ALL {
            let ks = KeySet::generate(kind, 0, 0, 1);
            assert!(ks.keys.is_empty());
            assert_eq!(ks.avg_key_len(), 0.0);
        }
    }

    #[test]
    fn url_and_email_shapes() {
        let urls = KeySet::generate(KeySetKind::Urls, 20_000, 0, 5);
        let mut domains: std::collections::HashMap<&[u8], usize> = Default::default();
        for u in &urls.keys {
            let s = std::str::from_utf8(u).unwrap();
            assert!(s.starts_with("https://www."), "{s}");
            assert_eq!(s.matches('/').count(), 5, "{s}");
            let host = u[12..].split(|&b| b == b'/').next().unwrap();
            *domains.entry(host).or_default() += 1;
        }
        // Zipf-skewed: many domains, with the most popular one far above the mean.
        let max = *domains.values().max().unwrap();
        assert!(domains.len() > 150, "{}", domains.len());
        assert!(max > 10 * 20_000 / domains.len(), "max {max}");

        let emails = KeySet::generate(KeySetKind::Emails, 20_000, 0, 5);
        for e in &emails.keys {
            let s = std::str::from_utf8(e).unwrap();
            let (local, domain) = s.split_once('@').unwrap();
            assert!(local.contains('.') && domain.contains('.'), "{s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".@-".contains(&b)),
                "{s}"
            );
        }
    }

    #[test]
    fn name_lists_have_no_duplicates() {
        for list in [
            FIRST_NAMES,
            LAST_NAMES,
            EMAIL_DOMAINS,
            SECTIONS,
            SUBS,
            DOMAIN_HEADS,
            DOMAIN_TAILS,
        ] {
            let w = words(list);
            let set: HashSet<&str> = w.iter().copied().collect();
            assert_eq!(set.len(), w.len(), "duplicate in {list:.30}");
        }
        assert!(words(FIRST_NAMES).len() >= 190 && words(LAST_NAMES).len() >= 190);
        assert!(words(DOMAIN_HEADS).len() * words(DOMAIN_TAILS).len() >= URL_DOMAINS);
    }

    #[test]
    fn id_permutation_is_bijective() {
        let mut rng = SplitMix64::new(4);
        let p = IdPermutation::new(1000, &mut rng);
        let ids: HashSet<u128> = (0..1_000_000u64).map(|i| p.get(i)).collect();
        assert_eq!(ids.len(), 1_000_000);
    }

    #[test]
    fn words_fallback_when_file_missing() {
        let mut rng = SplitMix64::new(1);
        let (keys, note) = gen_words_from(Path::new("/nonexistent/dict/words"), 50_000, &mut rng);
        assert_eq!(keys.len(), 50_000);
        assert_distinct(&keys, "pseudo-words");
        let note = note.expect("fallback sets a note");
        assert!(
            note.contains("/nonexistent/dict/words") && note.contains("generated"),
            "{note}"
        );
        for k in &keys {
            assert!(
                (3..=12).contains(&k.len()),
                "{:?}",
                String::from_utf8_lossy(k)
            );
            assert!(k.iter().all(u8::is_ascii_lowercase));
        }
    }

    #[test]
    fn words_extension_with_suffixes() {
        let dir = std::env::temp_dir().join(format!("keys-dev-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("words");
        // Duplicates, blank lines, CRLF and a '~' word that must be dropped.
        std::fs::write(&path, "apple\nbanana\r\napple\n\ncherry\nfig~2\ndate\n").unwrap();
        let mut rng = SplitMix64::new(2);
        let (keys, note) = gen_words_from(&path, 11, &mut rng);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(keys.len(), 11);
        assert_distinct(&keys, "extended words");
        let mut sorted: Vec<String> = keys
            .iter()
            .map(|k| String::from_utf8(k.clone()).unwrap())
            .collect();
        sorted.sort();
        for w in ["apple", "banana", "cherry", "date"] {
            assert!(sorted.contains(&w.to_string()), "{sorted:?}");
            assert!(sorted.contains(&format!("{w}~2")), "{sorted:?}");
        }
        assert_eq!(sorted.iter().filter(|w| w.ends_with("~3")).count(), 3);
        assert!(!sorted.iter().any(|w| w.starts_with("fig")));
        assert!(note.unwrap().contains("extended"));
    }

    #[test]
    fn real_word_list_if_present() {
        if !Path::new(WORDS_PATH).exists() {
            return;
        }
        let ks = KeySet::generate(KeySetKind::Words, 50_000, 10_000, 9);
        assert!(ks.note.is_none(), "{:?}", ks.note);
        let n = read_words(Path::new(WORDS_PATH)).unwrap().len();
        let big = KeySet::generate(KeySetKind::Words, n + 1000, 1000, 9);
        assert_distinct(&big.keys, "extended real words");
        assert!(big.note.as_deref().unwrap().contains("extended"));
    }
}
