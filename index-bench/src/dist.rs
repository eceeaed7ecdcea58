//! Request distributions for YCSB-style workloads, over the [`SplitMix64`] PRNG (the testkit's, re-exported here).
//!
//! All generators are deterministic functions of the [`SplitMix64`] stream passed to
//! `next`, so a workload is reproducible from its seed. The generators themselves hold
//! no RNG state, which lets one generator be shared by code paths that use different
//! RNG streams (e.g. one RNG per benchmark thread).
//!
//! The zipfian family follows YCSB's `ZipfianGenerator`, `ScrambledZipfianGenerator`
//! and `SkewedLatestGenerator` (Gray et al., "Quickly generating billion-record
//! synthetic databases", SIGMOD 1994).

/// The one SplitMix64 of the workspace (from the testkit), and its output
/// function, which the key sets use as a hash.
pub(crate) use ordex_testkit::rng::mix64;
pub use ordex_testkit::rng::SplitMix64;

/// YCSB's default zipfian constant (theta).
pub const ZIPFIAN_CONSTANT: f64 = 0.99;

/// The fixed item space of YCSB's scrambled zipfian (10 billion).
pub const SCRAMBLED_ITEM_COUNT: u64 = 10_000_000_000;

/// YCSB's precomputed zeta for the scrambled zipfian's item space with theta 0.99.
pub const SCRAMBLED_ZETAN: f64 = 26.469_028_201_783_02;

/// `zeta(n, theta) = sum_{i=1..=n} 1 / i^theta`, computed directly in O(n).
pub fn zeta(n: u64, theta: f64) -> f64 {
    zeta_range(0, n, theta, 0.0)
}

/// Adds the terms `i = st+1 ..= n` to `initial` (YCSB's incremental `zetastatic`).
fn zeta_range(st: u64, n: u64, theta: f64, initial: f64) -> f64 {
    let mut sum = initial;
    for i in st..n {
        sum += 1.0 / ((i + 1) as f64).powf(theta);
    }
    sum
}

/// YCSB's `ZipfianGenerator`: items `0..n`, item 0 most popular, `P(i) ∝ 1/(i+1)^theta`.
///
/// Uses Gray et al.'s constant-time sampling with a precomputed `zeta(n, theta)`
/// (O(n) once, in [`Zipfian::new`]; use [`Zipfian::with_zetan`] to supply it).
/// `P(0)` is exactly `1/zeta(n)`; the tail is approximated as in YCSB.
#[derive(Debug, Clone)]
pub struct Zipfian {
    items: u64,
    theta: f64,
    zeta2theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
    /// The item count `zetan` was computed for (YCSB's `countforzeta`).
    count_for_zeta: u64,
}

impl Zipfian {
    /// Zipfian over `0..n` with constant `theta` (YCSB default: [`ZIPFIAN_CONSTANT`]).
    /// Computes `zeta(n, theta)` in O(n).
    ///
    /// # Panics
    /// Panics if `n == 0` or `theta` is not in `(0, 1)`.
    pub fn new(n: u64, theta: f64) -> Self {
        Self::with_zetan(n, theta, zeta(n, theta))
    }

    /// Like [`Zipfian::new`] but with a caller-supplied `zetan = zeta(n, theta)`
    /// (YCSB uses this for huge item spaces).
    ///
    /// # Panics
    /// Panics if `n == 0`, `theta` is not in `(0, 1)` or `zetan` is not finite and ≥ 1.
    pub fn with_zetan(n: u64, theta: f64, zetan: f64) -> Self {
        assert!(n > 0, "Zipfian over an empty item space");
        assert!(
            theta > 0.0 && theta < 1.0,
            "zipfian theta must be in (0, 1), got {theta}"
        );
        assert!(zetan.is_finite() && zetan >= 1.0, "invalid zetan {zetan}");
        let zeta2theta = zeta(2, theta);
        let mut z = Zipfian {
            items: n,
            theta,
            zeta2theta,
            alpha: 1.0 / (1.0 - theta),
            zetan,
            eta: 0.0,
            count_for_zeta: n,
        };
        z.eta = z.compute_eta(n);
        z
    }

    fn compute_eta(&self, n: u64) -> f64 {
        (1.0 - (2.0 / n as f64).powf(1.0 - self.theta)) / (1.0 - self.zeta2theta / self.zetan)
    }

    /// Number of items (`n`); samples are in `0..n`.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// The zipfian constant.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// The `zeta(n, theta)` in use.
    pub fn zetan(&self) -> f64 {
        self.zetan
    }

    /// Draws an item in `0..n`.
    #[inline]
    pub fn next(&mut self, rng: &mut SplitMix64) -> u64 {
        self.sample(rng.next_f64())
    }

    /// Draws an item in `0..count`, first resizing the item space to `count` if it
    /// differs (YCSB's `nextLong(itemcount)`): growing updates zeta incrementally in
    /// O(growth); shrinking recomputes it in O(count).
    ///
    /// # Panics
    /// Panics if `count == 0`.
    #[inline]
    pub fn next_in(&mut self, count: u64, rng: &mut SplitMix64) -> u64 {
        if count != self.count_for_zeta {
            self.resize(count);
        }
        self.next(rng)
    }

    /// Changes the item space to `0..count` (see [`Zipfian::next_in`]).
    ///
    /// # Panics
    /// Panics if `count == 0`.
    pub fn resize(&mut self, count: u64) {
        assert!(count > 0, "Zipfian over an empty item space");
        if count == self.count_for_zeta {
            return;
        }
        self.zetan = if count > self.count_for_zeta {
            zeta_range(self.count_for_zeta, count, self.theta, self.zetan)
        } else {
            zeta(count, self.theta)
        };
        self.count_for_zeta = count;
        self.items = count;
        self.eta = self.compute_eta(count);
    }

    #[inline]
    fn sample(&self, u: f64) -> u64 {
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1.min(self.items - 1);
        }
        let v = (self.items as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        // Guard against floating-point round-off at the top end.
        v.min(self.items - 1)
    }
}

/// YCSB's 64-bit FNV-1a hash of a `long` (8 little-endian octets), as in YCSB's
/// `Utils.fnvhash64`, including its final `Math.abs`.
///
/// The only difference from Java is the single input whose hash is `i64::MIN`
/// (where `Math.abs` stays negative): here it maps to `2^63`.
#[inline]
pub fn fnv_hash64(mut val: u64) -> u64 {
    const FNV_OFFSET_BASIS_64: u64 = 0xCBF2_9CE4_8422_2325;
    const FNV_PRIME_64: u64 = 1_099_511_628_211;
    let mut h = FNV_OFFSET_BASIS_64;
    for _ in 0..8 {
        h ^= val & 0xff;
        h = h.wrapping_mul(FNV_PRIME_64);
        val >>= 8;
    }
    (h as i64).unsigned_abs()
}

/// YCSB's `ScrambledZipfianGenerator`: a zipfian (theta 0.99) over
/// [`SCRAMBLED_ITEM_COUNT`] items with the precomputed [`SCRAMBLED_ZETAN`], hashed
/// with [`fnv_hash64`] and reduced mod `n`, so the popular items are scattered over
/// `0..n` instead of clustered at 0.
///
/// As in YCSB, the popularity of individual items is therefore independent of `n`
/// (and only approximately zipfian once folded into `n` buckets).
#[derive(Debug, Clone)]
pub struct ScrambledZipfian {
    zipf: Zipfian,
    n: u64,
}

impl ScrambledZipfian {
    /// Scrambled zipfian over `0..n`.
    ///
    /// # Panics
    /// Panics if `n == 0`.
    pub fn new(n: u64) -> Self {
        assert!(n > 0, "ScrambledZipfian over an empty item space");
        // YCSB: new ZipfianGenerator(0, ITEM_COUNT, 0.99, ZETAN), i.e. ITEM_COUNT + 1 items.
        ScrambledZipfian {
            zipf: Zipfian::with_zetan(SCRAMBLED_ITEM_COUNT + 1, ZIPFIAN_CONSTANT, SCRAMBLED_ZETAN),
            n,
        }
    }

    /// Number of items (`n`); samples are in `0..n`.
    pub fn items(&self) -> u64 {
        self.n
    }

    /// Draws an item in `0..n`.
    #[inline]
    pub fn next(&mut self, rng: &mut SplitMix64) -> u64 {
        fnv_hash64(self.zipf.next(rng)) % self.n
    }
}

/// YCSB's `SkewedLatestGenerator`: zipfian over recency, `max - zipf(max + 1)`, where
/// `max` is the index of the most recently inserted item, so the newest items are the
/// most popular.
///
/// Unlike YCSB (whose zipfian there covers only `max` items, so index 0 is never
/// drawn) the zipfian covers `max + 1` items and samples span exactly `0..=max`.
/// Growing `max` with [`Latest::set_max`] costs O(growth) (incremental zeta).
#[derive(Debug, Clone)]
pub struct Latest {
    zipf: Zipfian,
    max: u64,
}

impl Latest {
    /// Latest-skewed distribution over `0..=max` with theta [`ZIPFIAN_CONSTANT`].
    pub fn new(max: u64) -> Self {
        Self::with_theta(max, ZIPFIAN_CONSTANT)
    }

    /// Latest-skewed distribution over `0..=max` with the given zipfian constant.
    ///
    /// # Panics
    /// Panics if `theta` is not in `(0, 1)` or `max == u64::MAX`.
    pub fn with_theta(max: u64, theta: f64) -> Self {
        let count = max.checked_add(1).expect("Latest: max too large");
        Latest {
            zipf: Zipfian::new(count, theta),
            max,
        }
    }

    /// Sets the index of the latest inserted item (call after each insert).
    ///
    /// # Panics
    /// Panics if `max == u64::MAX`.
    pub fn set_max(&mut self, max: u64) {
        self.max = max;
        self.zipf
            .resize(max.checked_add(1).expect("Latest: max too large"));
    }

    /// The index of the latest inserted item.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Draws an item in `0..=max`, favouring items close to `max`.
    #[inline]
    pub fn next(&mut self, rng: &mut SplitMix64) -> u64 {
        self.max - self.zipf.next(rng)
    }
}

/// Uniform distribution over `0..n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uniform {
    n: u64,
}

impl Uniform {
    /// Uniform over `0..n`.
    ///
    /// # Panics
    /// Panics if `n == 0`.
    pub fn new(n: u64) -> Self {
        assert!(n > 0, "Uniform over an empty item space");
        Uniform { n }
    }

    /// Number of items (`n`); samples are in `0..n`.
    pub fn items(&self) -> u64 {
        self.n
    }

    /// Draws an item in `0..n`.
    #[inline]
    pub fn next(&mut self, rng: &mut SplitMix64) -> u64 {
        rng.below(self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(n: usize, samples: usize, mut f: impl FnMut() -> u64) -> Vec<u64> {
        let mut h = vec![0u64; n];
        for _ in 0..samples {
            let v = f() as usize;
            assert!(v < n, "sample {v} out of range 0..{n}");
            h[v] += 1;
        }
        h
    }

    fn argmax(h: &[u64]) -> usize {
        (0..h.len()).max_by_key(|&i| h[i]).unwrap()
    }

    #[test]
    fn splitmix_below_and_f64() {
        let mut r = SplitMix64::new(7);
        let h = histogram(10, 200_000, || r.below(10));
        for &c in &h {
            assert!((c as f64 - 20_000.0).abs() < 1_000.0, "{h:?}");
        }
        for _ in 0..100_000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
        assert_eq!(r.below(1), 0);
        assert!(r.below(u64::MAX) < u64::MAX);
    }

    #[test]
    fn zipfian_matches_theory() {
        let n = 1000;
        let mut z = Zipfian::new(n, ZIPFIAN_CONSTANT);
        let mut r = SplitMix64::new(42);
        let samples = 1_000_000;
        let h = histogram(n as usize, samples, || z.next(&mut r));
        assert_eq!(argmax(&h), 0);
        let expected = 1.0 / zeta(n, ZIPFIAN_CONSTANT);
        let got = h[0] as f64 / samples as f64;
        assert!(
            (got - expected).abs() / expected < 0.10,
            "p0 {got} vs {expected}"
        );
        // Monotone-ish head: item 1 beats item 10 beats item 500.
        assert!(
            h[1] > h[10] && h[10] > h[500],
            "{} {} {}",
            h[1],
            h[10],
            h[500]
        );
        // Item 1 probability is exactly 0.5^theta / zeta.
        let p1 = 0.5f64.powf(ZIPFIAN_CONSTANT) * expected;
        let got1 = h[1] as f64 / samples as f64;
        assert!((got1 - p1).abs() / p1 < 0.10, "p1 {got1} vs {p1}");
    }

    #[test]
    fn zipfian_tiny_spaces() {
        let mut r = SplitMix64::new(3);
        let mut z1 = Zipfian::new(1, 0.99);
        for _ in 0..1000 {
            assert_eq!(z1.next(&mut r), 0);
        }
        let mut z2 = Zipfian::new(2, 0.99);
        let h = histogram(2, 10_000, || z2.next(&mut r));
        assert!(h[0] > h[1] && h[1] > 0);
    }

    #[test]
    fn zipfian_resize_matches_fresh() {
        let mut z = Zipfian::new(100, 0.99);
        z.resize(5000);
        let fresh = Zipfian::new(5000, 0.99);
        assert!((z.zetan() - fresh.zetan()).abs() < 1e-9);
        z.resize(300);
        assert!((z.zetan() - zeta(300, 0.99)).abs() < 1e-12);
        assert_eq!(z.items(), 300);
    }

    #[test]
    fn scrambled_constant_is_consistent() {
        // Sanity-check YCSB's ZETAN against an integral approximation of zeta(1e10, 0.99):
        // zeta(N) ≈ zeta(M) + ∫_{M+1/2}^{N+1/2} x^-θ dx for large M.
        let theta = 0.99;
        let m: u64 = 1_000_000;
        let zm = zeta(m, theta);
        let a = m as f64 + 0.5;
        let b = SCRAMBLED_ITEM_COUNT as f64 + 0.5;
        let approx = zm + (b.powf(1.0 - theta) - a.powf(1.0 - theta)) / (1.0 - theta);
        assert!((approx - SCRAMBLED_ZETAN).abs() < 1e-3, "{approx}");
    }

    #[test]
    fn fnv_matches_reference() {
        // FNV-1a 64 of the 8 zero bytes.
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for _ in 0..8 {
            h = h.wrapping_mul(1_099_511_628_211);
        }
        assert_eq!(fnv_hash64(0), (h as i64).unsigned_abs());
        assert!(fnv_hash64(12345) <= i64::MAX as u64 + 1);
        assert_ne!(fnv_hash64(1), fnv_hash64(2));
    }

    #[test]
    fn scrambled_zipfian_spreads() {
        let n = 1000;
        let mut s = ScrambledZipfian::new(n);
        let mut r = SplitMix64::new(42);
        let h = histogram(n as usize, 1_000_000, || s.next(&mut r));
        let top = argmax(&h);
        assert_ne!(top, 0);
        assert_eq!(top as u64, fnv_hash64(0) % n);
        let covered = h.iter().filter(|&&c| c > 0).count();
        assert!(covered > 900, "covered {covered}");
        // Still skewed: the hottest item is well above the mean.
        assert!(h[top] > 10 * 1000);
        // Large n: stays in range.
        let big = 123_456_789;
        let mut s = ScrambledZipfian::new(big);
        for _ in 0..100_000 {
            assert!(s.next(&mut r) < big);
        }
    }

    #[test]
    fn latest_favours_recent() {
        let mut l = Latest::new(999);
        let mut r = SplitMix64::new(9);
        let h = histogram(1000, 200_000, || l.next(&mut r));
        assert_eq!(argmax(&h), 999);
        let recent: u64 = h[900..].iter().sum();
        let old: u64 = h[..100].iter().sum();
        assert!(recent > 5 * old, "recent {recent} old {old}");
        // Growing: new max becomes the hottest item and everything stays in range.
        for m in 1000..2000 {
            l.set_max(m);
            assert!(l.next(&mut r) <= m);
        }
        assert_eq!(l.max(), 1999);
        let h = histogram(2000, 200_000, || l.next(&mut r));
        assert_eq!(argmax(&h), 1999);
        assert!((l.zipf.zetan() - zeta(2000, ZIPFIAN_CONSTANT)).abs() < 1e-9);
        // max = 0: always 0.
        let mut l0 = Latest::new(0);
        assert_eq!(l0.next(&mut r), 0);
    }

    #[test]
    fn uniform_in_range() {
        let mut u = Uniform::new(37);
        let mut r = SplitMix64::new(1);
        let h = histogram(37, 370_000, || u.next(&mut r));
        assert!(h.iter().all(|&c| c > 9_000 && c < 11_000), "{h:?}");
    }

    #[test]
    fn deterministic_for_seed() {
        fn run(seed: u64) -> Vec<u64> {
            let mut r = SplitMix64::new(seed);
            let mut z = Zipfian::new(10_000, 0.99);
            let mut s = ScrambledZipfian::new(10_000);
            let mut l = Latest::new(10_000);
            let mut u = Uniform::new(10_000);
            (0..1000)
                .flat_map(|_| {
                    [
                        z.next(&mut r),
                        s.next(&mut r),
                        l.next(&mut r),
                        u.next(&mut r),
                    ]
                })
                .collect()
        }
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
