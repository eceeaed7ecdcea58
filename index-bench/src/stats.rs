//! Paired ratios and their uncertainty.
//!
//! Every figure the project quotes is a ratio between two indexes (or two
//! builds) measured side by side. A ratio is taken per repeat, between
//! measurements made adjacent in time, so that a slow spell of the machine
//! moves both sides of it; the ratios of all repeats are then summarised by
//! their median and a distribution-free confidence interval for that median:
//! the order-statistics interval `[x(k), x(n+1-k)]` of the sorted ratios,
//! whose coverage is `1 - 2·P(Binomial(n, 1/2) < k)` whatever the
//! distribution of the ratios (Hollander & Wolfe, *Nonparametric Statistical
//! Methods*, §3.6). It needs no assumption of normality, which the timings of
//! a noisy 2-core VM do not meet, and it is exact for small samples, where a
//! bootstrap is not.
//!
//! Below six repeats no such interval reaches 95%: the widest one,
//! `[min, max]`, covers 75% with 3 repeats, 87.5% with 4 and 93.75% with 5.
//! [`median_ci`] then returns `[min, max]` and says which level it reached,
//! so that a table never claims more confidence than it has.
//!
//! ```
//! use index_bench::stats::{median_ci, paired_ratios};
//! let ordex = [2.0, 2.2, 1.9, 2.1, 2.05, 1.95, 2.0];
//! let peer = [1.0, 1.1, 1.0, 1.0, 1.0, 1.0, 1.05];
//! let e = median_ci(&paired_ratios(&ordex, &peer), 0.95).unwrap();
//! assert!(e.low <= e.median && e.median <= e.high);
//! assert!(e.level >= 0.95 && e.n == 7);
//! ```

/// The confidence level the reports aim for.
pub const LEVEL: f64 = 0.95;

/// A median with a distribution-free confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The sample median (mean of the middle two for an even count).
    pub median: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// The interval's actual coverage (at least the level asked for when
    /// there are enough samples; see [`median_ci`]).
    pub level: f64,
    /// Number of samples.
    pub n: usize,
}

impl Estimate {
    /// Whether `x` lies inside the interval (ends included).
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// Where the interval lies against a target the ratio should reach.
    pub fn against(&self, target: f64) -> Verdict {
        if self.low >= target {
            Verdict::Meets
        } else if self.high < target {
            Verdict::Misses
        } else {
            Verdict::Straddles
        }
    }

    /// Half the interval's width relative to the median, e.g. `0.04` for
    /// ±4%; NaN if the median is 0.
    pub fn relative_spread(&self) -> f64 {
        (self.high - self.low) / 2.0 / self.median
    }
}

/// Where a ratio's interval lies against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The whole interval is at or above the target.
    Meets,
    /// The target lies inside the interval: the run cannot tell.
    Straddles,
    /// The whole interval is below the target.
    Misses,
}

impl Verdict {
    /// `meets`, `straddles` or `misses`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Meets => "meets",
            Verdict::Straddles => "straddles",
            Verdict::Misses => "misses",
        }
    }
}

/// `a[i] / b[i]` for every `i` where both are finite and `b[i] > 0`.
pub fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite() && **y > 0.0)
        .map(|(x, y)| x / y)
        .collect()
}

/// The median of `values` and its order-statistics interval: the narrowest
/// `[x(k), x(n+1-k)]` whose coverage is at least `level`, or `[min, max]`
/// (with its lower coverage in [`Estimate::level`]) when no interval
/// reaches `level`. Non-finite
/// values are ignored; `None` if none is left.
pub fn median_ci(values: &[f64], level: f64) -> Option<Estimate> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    // Largest k (1-based, k <= (n+1)/2) whose interval still covers `level`;
    // coverage falls as k grows.
    let mut k = 1;
    while k < n.div_ceil(2) && coverage(n, k + 1) >= level {
        k += 1;
    }
    Some(Estimate {
        median,
        low: v[k - 1],
        high: v[n - k],
        level: coverage(n, k),
        n,
    })
}

/// Coverage of the order-statistics interval `[x(k), x(n+1-k)]` for the
/// median of `n` samples: `1 - 2·P(Binomial(n, 1/2) <= k - 1)`.
pub fn coverage(n: usize, k: usize) -> f64 {
    if n == 0 || k == 0 {
        return 0.0;
    }
    // P(B <= k-1) = sum_{i<k} C(n, i) / 2^n, summed in log space so that
    // large n neither overflows C(n, i) nor underflows 2^-n.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_c = 0.0; // ln C(n, 0)
    let mut tail = 0.0;
    for i in 0..k.min(n + 1) {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_c + ln_half_n).exp();
    }
    (1.0 - 2.0 * tail).max(0.0)
}

/// The median of the finite values; NaN if there are none.
pub fn median(values: &[f64]) -> f64 {
    median_ci(values, 0.0).map_or(f64::NAN, |e| e.median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_matches_the_binomial() {
        // [min, max] misses the median only if all samples fall on one side.
        for n in 1..20 {
            let want = 1.0 - 2.0 * 0.5f64.powi(n as i32);
            assert!((coverage(n, 1) - want).abs() < 1e-12, "n={n}");
        }
        // n = 8, k = 2: 1 - 2 * (1 + 8) / 256.
        assert!((coverage(8, 2) - (1.0 - 18.0 / 256.0)).abs() < 1e-12);
        // Large n stays finite and in range.
        let c = coverage(2000, 950);
        assert!(c > 0.9 && c < 1.0, "{c}");
    }

    #[test]
    fn small_samples_fall_back_to_min_max_and_say_so() {
        let e = median_ci(&[3.0, 1.0, 2.0], LEVEL).unwrap();
        assert_eq!((e.low, e.median, e.high, e.n), (1.0, 2.0, 3.0, 3));
        assert!((e.level - 0.75).abs() < 1e-12);
        let e = median_ci(&[1.0, 2.0, 3.0, 4.0, 5.0], LEVEL).unwrap();
        assert!((e.level - 0.9375).abs() < 1e-12);
        assert_eq!((e.low, e.high), (1.0, 5.0));
    }

    #[test]
    fn enough_samples_reach_the_level_with_the_narrowest_interval() {
        // n = 6: only k = 1 reaches 95% (96.9%).
        let e = median_ci(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0], LEVEL).unwrap();
        assert_eq!((e.low, e.median, e.high), (1.0, 3.5, 6.0));
        assert!(e.level >= LEVEL);
        // n = 20: k = 6 covers 95.9%, k = 7 only 88.5%.
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let e = median_ci(&v, LEVEL).unwrap();
        assert_eq!((e.low, e.high), (6.0, 15.0));
        assert!(e.level >= LEVEL && coverage(20, 7) < LEVEL);
    }

    #[test]
    fn non_finite_values_are_ignored() {
        assert!(median_ci(&[], LEVEL).is_none());
        assert!(median_ci(&[f64::NAN, f64::INFINITY], LEVEL).is_none());
        let e = median_ci(&[f64::NAN, 2.0, 4.0], LEVEL).unwrap();
        assert_eq!((e.median, e.n), (3.0, 2));
        assert!(median(&[]).is_nan());
        assert_eq!(
            paired_ratios(&[2.0, 1.0, f64::NAN], &[1.0, 0.0, 1.0]),
            [2.0]
        );
    }

    #[test]
    fn verdicts_against_a_target() {
        let e = Estimate {
            median: 1.5,
            low: 1.4,
            high: 1.6,
            level: 0.95,
            n: 7,
        };
        assert_eq!(e.against(1.3), Verdict::Meets);
        assert_eq!(e.against(1.4), Verdict::Meets);
        assert_eq!(e.against(1.5), Verdict::Straddles);
        assert_eq!(e.against(1.7), Verdict::Misses);
        assert!(e.contains(1.6) && !e.contains(1.61));
        assert!((e.relative_spread() - 0.1 / 1.5).abs() < 1e-12);
    }

    /// The interval does what it claims: over many samples from a skewed
    /// distribution, it contains the true median at least `level` of the time.
    #[test]
    fn empirical_coverage_holds() {
        let mut rng = crate::dist::SplitMix64::new(7);
        for n in [6, 9, 15] {
            let trials = 4000;
            let mut hit = 0;
            let mut level = 0.0;
            for _ in 0..trials {
                // Exponential(1): true median ln 2.
                let v: Vec<f64> = (0..n).map(|_| -(1.0 - rng.next_f64()).ln()).collect();
                let e = median_ci(&v, LEVEL).unwrap();
                level = e.level;
                hit += usize::from(e.contains(std::f64::consts::LN_2));
            }
            let got = hit as f64 / trials as f64;
            assert!(got > level - 0.02, "n={n}: {got} < {level}");
        }
    }
}
