//! Statistics for verification rounds: Wilson score intervals, Fisher's exact test, the number
//! of rounds needed to tell two pass rates apart, and summary statistics; and, in submodules,
//! exact intervals ([`intervals`]), exact power ([`power`]), bucket crash-rate tests
//! ([`buckets`]), multiple-testing corrections ([`multiple`]), Welch's interval ([`welch`]),
//! the sequential decision rule ([`sequential`]), planning ([`plan`]) and attribute correlations
//! ([`correlate`]).
//!
//! Why these: pass rates over 20-30 rounds are small samples near 0 or 1, where the textbook
//! normal ("Wald") interval collapses to zero width (20/20 would read "100% ± 0"). The Wilson
//! interval stays honest there, and Fisher's exact test needs no large-sample assumption. This
//! module is pure arithmetic: no I/O, no printing, no knowledge of rounds or the store.

#![warn(missing_docs)]

use serde::Serialize;
use thiserror::Error;

pub mod buckets;
pub mod correlate;
pub mod exact;
pub mod intervals;
pub mod multiple;
pub mod plan;
pub mod power;
pub mod sequential;
pub mod special;
pub mod welch;

/// What the submodules' tests share.
#[cfg(test)]
pub(crate) mod test_util {
    /// Asserts that `actual` is within relative tolerance `tol` of `expected`.
    #[track_caller]
    pub(crate) fn rel(actual: f64, expected: f64, tol: f64) {
        let err = (actual - expected).abs() / expected.abs().max(1e-300);
        assert!(
            err <= tol,
            "expected {expected}, got {actual} (rel err {err})"
        );
    }
}

/// z for a two-sided 95% interval: the 0.975 quantile of the standard normal distribution.
/// (`python3 -c "from scipy.stats import norm; print(repr(norm.ppf(0.975)))"`)
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Significance level used for verdicts (two-sided).
pub const ALPHA: f64 = 0.05;

/// Power used when estimating how many rounds would settle a difference.
pub const POWER: f64 = 0.8;

/// Relative tolerance when comparing a table's probability with the observed table's in
/// Fisher's test, so tables that are equally likely up to rounding are counted (the same idea
/// as R's `fisher.test` and SciPy's `fisher_exact`).
const FISHER_REL_TOLERANCE: f64 = 1e-7;

/// Errors from the statistics functions; only invalid arguments can fail.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StatsError {
    /// More successes than trials, e.g. `wilson(21, 20, ..)`.
    #[error("successes ({successes}) exceed trials ({trials})")]
    SuccessesExceedTrials {
        /// Successes given.
        successes: u64,
        /// Trials given.
        trials: u64,
    },
    /// z must be finite and positive.
    #[error("z must be a finite positive number, got {0}")]
    InvalidZ(f64),
    /// A rate or probability outside `0..=1` (or NaN), e.g. a target pass rate of 1.2.
    #[error("{what} must be a probability in 0..=1, got {value}")]
    InvalidProbability {
        /// Which argument.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A level (alpha, power, confidence) outside the open interval `(0, 1)`.
    #[error("{what} must lie strictly between 0 and 1, got {value}")]
    InvalidLevel {
        /// Which argument.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// Too few (finite) values for the statistic, e.g. Welch's interval with one value.
    #[error("{what} needs at least {needed} finite values, got {got}")]
    TooFewValues {
        /// Which sample.
        what: &'static str,
        /// Values needed.
        needed: usize,
        /// Values given.
        got: usize,
    },
    /// Both samples have zero spread, so no interval for their difference exists.
    #[error("both samples have zero variance")]
    ZeroVariance,
    /// A count beyond what the exact computations handle in reasonable time and memory.
    #[error("{what} is {value}, above the supported maximum {max}")]
    TooLarge {
        /// Which argument.
        what: &'static str,
        /// The value given.
        value: u64,
        /// The largest value supported.
        max: u64,
    },
    /// An intermediate figure overflowed (values near the limits of f64).
    #[error("{0} is not a finite number")]
    NonFinite(&'static str),
    /// Rounds of zero where at least one is needed (e.g. a crash rate over 0 rounds).
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A plan whose baseline and target are the same rate: no number of rounds tells them
    /// apart.
    #[error("the target rate equals the baseline rate: no number of rounds tells them apart")]
    EqualRates,
}

impl StatsError {
    /// Short stable name for logs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            StatsError::SuccessesExceedTrials { .. } => "successes-exceed-trials",
            StatsError::InvalidZ(_) => "invalid-z",
            StatsError::InvalidProbability { .. } => "invalid-probability",
            StatsError::InvalidLevel { .. } => "invalid-level",
            StatsError::TooFewValues { .. } => "too-few-values",
            StatsError::ZeroVariance => "zero-variance",
            StatsError::TooLarge { .. } => "too-large",
            StatsError::Zero(_) => "zero",
            StatsError::NonFinite(_) => "non-finite",
            StatsError::EqualRates => "equal-rates",
        }
    }
}

/// A two-sided confidence interval for a proportion, as fractions in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// The bounds as `[low, high]`.
    pub fn as_array(&self) -> [f64; 2] {
        [self.low, self.high]
    }
}

/// Check that `value` is a probability in `0..=1`.
pub(crate) fn check_probability(what: &'static str, value: f64) -> Result<f64, StatsError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(StatsError::InvalidProbability { what, value })
    }
}

/// Check that `value` lies strictly inside `(0, 1)`.
pub(crate) fn check_level(what: &'static str, value: f64) -> Result<f64, StatsError> {
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(StatsError::InvalidLevel { what, value })
    }
}

/// Check `successes <= trials`.
pub(crate) fn check_counts(successes: u64, trials: u64) -> Result<(), StatsError> {
    if successes > trials {
        Err(StatsError::SuccessesExceedTrials { successes, trials })
    } else {
        Ok(())
    }
}

/// Wilson score interval for `successes` out of `trials` with normal quantile `z`
/// (use [`Z_95`] for 95%).
///
/// With `trials == 0` nothing is known and the whole range `[0, 1]` is returned. Bounds are
/// clamped to `[0, 1]` (they only leave it by rounding) and are exactly 0 or 1 when all trials
/// failed or passed.
pub fn wilson(successes: u64, trials: u64, z: f64) -> Result<Interval, StatsError> {
    if !(z.is_finite() && z > 0.0) {
        return Err(StatsError::InvalidZ(z));
    }
    if successes > trials {
        return Err(StatsError::SuccessesExceedTrials { successes, trials });
    }
    if trials == 0 {
        return Ok(Interval {
            low: 0.0,
            high: 1.0,
        });
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let high = if successes == trials {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Ok(Interval { low, high })
}

/// 95% Wilson interval; see [`wilson`].
pub fn wilson_95(successes: u64, trials: u64) -> Result<Interval, StatsError> {
    wilson(successes, trials, Z_95)
}

/// Natural logarithms of `0!..=n!`, built by summing logarithms. Exact enough for the table
/// sizes of verification rounds (a few thousand at most) and needs no gamma function.
fn ln_factorials(n: u64) -> Vec<f64> {
    let mut table = Vec::with_capacity(n as usize + 1);
    let mut acc = 0.0_f64;
    table.push(0.0);
    for i in 1..=n {
        acc += (i as f64).ln();
        table.push(acc);
    }
    table
}

/// Fisher's exact test, two-sided, for the 2×2 table
///
/// ```text
///            pass  fail
///   side A    a     b
///   side B    c     d
/// ```
///
/// With the margins fixed, the count in the top-left cell follows the hypergeometric
/// distribution; the p-value is the sum of the probabilities of all tables that are no more
/// likely than the observed one (with a relative tolerance of 1e-7), capped at 1. This is the
/// definition used by R's `fisher.test` and SciPy's `fisher_exact`.
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let row1 = a + b;
    let row2 = c + d;
    let col1 = a + c;
    let n = row1 + row2;
    if n == 0 {
        return 1.0;
    }
    let lf = ln_factorials(n);
    let f = |k: u64| lf[k as usize];
    // ln P(top-left = x) = ln[C(row1, x) C(row2, col1 - x) / C(n, col1)]
    let ln_p = |x: u64| {
        let y = col1 - x;
        f(row1) - f(x) - f(row1 - x) + f(row2) - f(y) - f(row2 - y) - f(n) + f(col1) + f(n - col1)
    };
    let observed = ln_p(a);
    let lo = col1.saturating_sub(row2);
    let hi = row1.min(col1);
    let threshold = observed + FISHER_REL_TOLERANCE.ln_1p();
    let p: f64 = (lo..=hi)
        .map(ln_p)
        .filter(|&lp| lp <= threshold)
        .map(f64::exp)
        .sum();
    p.min(1.0)
}

/// Fisher's exact test comparing `pass_a` of `n_a` with `pass_b` of `n_b`; see
/// [`fisher_exact`].
pub fn fisher_rates(pass_a: u64, n_a: u64, pass_b: u64, n_b: u64) -> Result<f64, StatsError> {
    for (successes, trials) in [(pass_a, n_a), (pass_b, n_b)] {
        if successes > trials {
            return Err(StatsError::SuccessesExceedTrials { successes, trials });
        }
    }
    Ok(fisher_exact(pass_a, n_a - pass_a, pass_b, n_b - pass_b))
}

/// Quantile function of the standard normal distribution (inverse CDF), for `0 < p < 1`.
///
/// Peter Acklam's rational approximation (relative error below 1.15e-9), which is plenty for
/// sample-size estimates that are rounded up to whole rounds anyway.
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    };
    Some(x)
}

/// Rounds per side needed to detect the difference between pass rates `p1` and `p2` with a
/// two-sided test at level `alpha` and the given `power`.
///
/// Formula: Fleiss' normal approximation with continuity correction (Fleiss, Levin & Paik,
/// *Statistical Methods for Rates and Proportions*, 3rd ed., eq. 4.14 and 4.15):
///
/// ```text
/// n' = ( z(1-alpha/2) * sqrt(2 p̄ q̄) + z(power) * sqrt(p1 q1 + p2 q2) )² / (p1 - p2)²
/// n  = n'/4 * ( 1 + sqrt(1 + 4 / (n' |p1 - p2|)) )²          (rounded up)
/// ```
///
/// with `q = 1 - p` and `p̄ = (p1 + p2) / 2`. The continuity correction makes the estimate
/// track the power of Fisher's exact test, which the verdicts use; without it the estimate is
/// far too optimistic near 0 and 1 (19 instead of 93 rounds for 100% vs 90%).
///
/// Returns `None` when the rates are equal (no number of rounds separates them), when a rate
/// is outside `0..=1` or not a number, or when `alpha`/`power` are not in `(0, 1)`. One rate
/// being exactly 0 or 1 is fine: `p̄` then lies strictly inside `(0, 1)`.
pub fn rounds_needed(p1: f64, p2: f64, alpha: f64, power: f64) -> Option<u64> {
    let in_unit = |p: f64| (0.0..=1.0).contains(&p);
    if !(in_unit(p1) && in_unit(p2)) || p1 == p2 {
        return None;
    }
    let z_alpha = normal_quantile(1.0 - alpha / 2.0)?;
    let z_beta = normal_quantile(power)?;
    let delta = (p1 - p2).abs();
    let p_bar = (p1 + p2) / 2.0;
    let numerator = z_alpha * (2.0 * p_bar * (1.0 - p_bar)).sqrt()
        + z_beta * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n_prime = numerator * numerator / (delta * delta);
    let root = 1.0 + (1.0 + 4.0 / (n_prime * delta)).sqrt();
    let n = n_prime / 4.0 * root * root;
    if !n.is_finite() {
        return None;
    }
    // Subtract a hair before rounding up so a value like 93.0000000001 caused by rounding in
    // the quantile approximation does not become 94.
    Some((n - 1e-9).ceil().max(1.0) as u64)
}

/// [`rounds_needed`] at [`ALPHA`] (0.05, two-sided) and [`POWER`] (0.8).
pub fn rounds_needed_default(p1: f64, p2: f64) -> Option<u64> {
    rounds_needed(p1, p2, ALPHA, POWER)
}

/// Summary statistics of a sample. Every figure is `None` for an empty sample; `sd` (the
/// sample standard deviation, divisor n − 1) is `None` below two values.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, Default)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Median (mean of the two middle values for an even count).
    pub median: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Sample standard deviation (n − 1 in the divisor).
    pub sd: Option<f64>,
    /// Number of values summarised (non-finite values are left out).
    pub n: usize,
}

/// Summarise `values`. NaN and infinite values are left out (they cannot come from a parsed
/// efficiency line and would poison every figure); `n` counts the values used.
pub fn summarize(values: &[f64]) -> Summary {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return Summary::default();
    }
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let sd = (n >= 2).then(|| {
        let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
        (ss / (n as f64 - 1.0)).sqrt()
    });
    Summary {
        mean: Some(mean),
        median: Some(median),
        min: v.first().copied(),
        max: v.last().copied(),
        sd,
        n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[track_caller]
    fn assert_close(actual: f64, expected: f64, tol: f64) {
        assert!(
            close(actual, expected, tol),
            "expected {expected}, got {actual} (tolerance {tol})"
        );
    }

    // Expected Wilson bounds from SciPy 1.17.1:
    // python3 -c "from scipy.stats import binomtest; ci=binomtest(K,N).proportion_ci(confidence_level=0.95, method='wilson'); print(repr(ci.low), repr(ci.high))"
    #[test]
    fn wilson_matches_scipy() {
        let cases: [(u64, u64, f64, f64); 6] = [
            (15, 30, 0.3315412564053377, 0.6684587435946623),
            (29, 30, 0.8332960900859083, 0.9940914096183875),
            (0, 20, 0.0, 0.16112515805281935),
            (20, 20, 0.8388748419471808, 1.0),
            (18, 20, 0.6989663547715128, 0.9721335187862319),
            (3, 5, 0.23072428127601297, 0.8823792257673521),
        ];
        for (k, n, low, high) in cases {
            let ci = wilson_95(k, n).unwrap();
            assert_close(ci.low, low, 1e-12);
            assert_close(ci.high, high, 1e-12);
        }
    }

    #[test]
    fn wilson_edges_and_errors() {
        assert_eq!(
            wilson_95(0, 0).unwrap(),
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
        assert_eq!(
            wilson_95(21, 20),
            Err(StatsError::SuccessesExceedTrials {
                successes: 21,
                trials: 20
            })
        );
        assert!(matches!(wilson(1, 2, 0.0), Err(StatsError::InvalidZ(_))));
        assert!(matches!(
            wilson(1, 2, f64::NAN),
            Err(StatsError::InvalidZ(_))
        ));
        // A wider z gives a wider interval (99%: z = 2.5758293035489004).
        let i95 = wilson_95(15, 30).unwrap();
        let i99 = wilson(15, 30, 2.575_829_303_548_900_4).unwrap();
        assert!(i99.low < i95.low && i99.high > i95.high);
    }

    // python3 -c "from scipy.stats import fisher_exact; print(fisher_exact([[20,0],[18,2]]).pvalue)"
    // -> 0.48717948717948717
    #[test]
    fn fisher_20_of_20_vs_18_of_20() {
        let p = fisher_rates(20, 20, 18, 20).unwrap();
        assert_close(p, 0.487_179_487_179_487_17, 1e-12);
        // The test is symmetric in the sides.
        assert_close(fisher_rates(18, 20, 20, 20).unwrap(), p, 1e-12);
    }

    // python3 -c "from scipy.stats import fisher_exact; print(fisher_exact([[3,2],[20,0]]).pvalue)"
    // -> 0.03333333333333333
    #[test]
    fn fisher_3_of_5_vs_20_of_20() {
        assert_close(
            fisher_rates(3, 5, 20, 20).unwrap(),
            0.033_333_333_333_333_33,
            1e-12,
        );
    }

    // python3 -c "from scipy.stats import fisher_exact; print(fisher_exact([[15,15],[29,1]]).pvalue)"
    // -> 6.415347065416128e-05
    #[test]
    fn fisher_15_of_30_vs_29_of_30() {
        let p = fisher_rates(15, 30, 29, 30).unwrap();
        assert!(
            (p - 6.415_347_065_416_128e-5).abs() / 6.415_347_065_416_128e-5 < 1e-9,
            "{p}"
        );
    }

    #[test]
    fn fisher_degenerate_tables() {
        // Identical sides, empty table, and all-pass on both sides: nothing to see.
        assert_close(fisher_exact(5, 5, 5, 5), 1.0, 1e-12);
        assert_eq!(fisher_exact(0, 0, 0, 0), 1.0);
        assert_eq!(fisher_rates(20, 20, 20, 20).unwrap(), 1.0);
        assert!(fisher_rates(3, 2, 1, 1).is_err());
    }

    // python3 -c "from scipy.stats import norm; print(repr(norm.ppf(P)))" for each P.
    #[test]
    fn normal_quantile_matches_scipy() {
        let cases = [
            (0.975, 1.959963984540054),
            (0.8, 0.8416212335729143),
            (0.01, -2.3263478740408408),
            (1e-10, -6.361340902404056),
            (0.5, 0.0),
            (0.999, 3.090232306167813),
        ];
        for (p, z) in cases {
            let got = normal_quantile(p).unwrap();
            assert!(
                (got - z).abs() <= 1.2e-9 * z.abs().max(1.0),
                "p={p}: {got} vs {z}"
            );
        }
        assert_eq!(normal_quantile(0.0), None);
        assert_eq!(normal_quantile(1.0), None);
        assert_eq!(normal_quantile(f64::NAN), None);
    }

    // Expected values: the Fleiss formula evaluated independently in Python with SciPy's exact
    // quantiles:
    // python3 -c "
    // from scipy.stats import norm; from math import sqrt, ceil
    // def n(p1,p2,a=0.05,pw=0.8):
    //     za,zb=norm.ppf(1-a/2),norm.ppf(pw); d=abs(p1-p2); pb=(p1+p2)/2
    //     n1=(za*sqrt(2*pb*(1-pb))+zb*sqrt(p1*(1-p1)+p2*(1-p2)))**2/d**2
    //     return ceil(n1/4*(1+sqrt(1+4/(n1*d)))**2)
    // print(n(1,.9), n(.6,1), n(.5,29/30), n(0,.1), n(.5,.6), n(.7,.4))"
    // -> 93 20 17 93 408 49
    #[test]
    fn rounds_needed_matches_fleiss_in_python() {
        assert_eq!(rounds_needed_default(1.0, 0.9), Some(93));
        assert_eq!(rounds_needed_default(0.6, 1.0), Some(20));
        assert_eq!(rounds_needed_default(0.5, 29.0 / 30.0), Some(17));
        assert_eq!(rounds_needed_default(0.0, 0.1), Some(93));
        assert_eq!(rounds_needed_default(0.5, 0.6), Some(408));
        assert_eq!(rounds_needed_default(0.7, 0.4), Some(49));
        // Symmetric in its arguments.
        assert_eq!(rounds_needed_default(0.9, 1.0), Some(93));
    }

    // Sanity check of the formula against the exact power of Fisher's test at n = 93 per side
    // for 100% vs 90% (enumerating all outcomes): 0.913, so the estimate errs on the safe side:
    // python3 -c "
    // from scipy.stats import fisher_exact, binom
    // n=93; print(sum(binom.pmf(x,n,1.0)*binom.pmf(y,n,.9) for x in range(n+1) for y in range(n+1)
    //       if binom.pmf(x,n,1.0)*binom.pmf(y,n,.9)>1e-12 and fisher_exact([[x,n-x],[y,n-y]]).pvalue<0.05))"
    #[test]
    fn rounds_needed_edges() {
        assert_eq!(rounds_needed_default(0.5, 0.5), None);
        assert_eq!(rounds_needed_default(1.0, 1.0), None);
        assert_eq!(rounds_needed_default(0.0, 0.0), None);
        assert_eq!(rounds_needed_default(-0.1, 0.5), None);
        assert_eq!(rounds_needed_default(f64::NAN, 0.5), None);
        assert_eq!(rounds_needed(0.5, 0.6, 0.0, 0.8), None);
        assert_eq!(rounds_needed(0.5, 0.6, 0.05, 1.0), None);
        // Extreme rates stay finite; larger differences need fewer rounds.
        let all_vs_none = rounds_needed_default(0.0, 1.0).unwrap();
        assert!((1..10).contains(&all_vs_none), "{all_vs_none}");
        assert!(
            rounds_needed_default(1.0, 0.99).unwrap() > rounds_needed_default(1.0, 0.9).unwrap()
        );
        // Higher power needs more rounds.
        assert!(rounds_needed(0.5, 0.7, 0.05, 0.9) > rounds_needed(0.5, 0.7, 0.05, 0.8));
    }

    // python3 -c "import statistics as s; v=[14.6,13.9,15.1,14.2]; print(s.mean(v), s.median(v), s.stdev(v))"
    // -> 14.45 14.399999999999999 0.5196152422706632
    #[test]
    fn summary_matches_python_statistics() {
        let s = summarize(&[14.6, 13.9, 15.1, 14.2]);
        assert_eq!(s.n, 4);
        assert_close(s.mean.unwrap(), 14.45, 1e-12);
        assert_close(s.median.unwrap(), 14.4, 1e-12);
        assert_close(s.sd.unwrap(), 0.519_615_242_270_663_2, 1e-12);
        assert_eq!(s.min, Some(13.9));
        assert_eq!(s.max, Some(15.1));
    }

    #[test]
    fn summary_small_and_dirty_samples() {
        assert_eq!(summarize(&[]), Summary::default());
        let one = summarize(&[3.0, f64::NAN, f64::INFINITY]);
        assert_eq!(one.n, 1);
        assert_eq!(one.median, Some(3.0));
        assert_eq!(one.sd, None);
        let odd = summarize(&[5.0, 1.0, 3.0]);
        assert_eq!(odd.median, Some(3.0));
        assert_eq!(odd.sd, Some(2.0));
    }
}
