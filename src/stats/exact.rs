//! Exact distributions in log space: binomial and hypergeometric probabilities, the two-sided
//! exact binomial test, and Fisher's two-sided p-value for every table with given margins at
//! once (what exact power calculations need).
//!
//! Probabilities are computed as logarithms and exponentiated at the end, so counts in the
//! thousands neither overflow nor underflow to a wrong answer. Two-sided p-values use the same
//! rule as R and SciPy: the sum of the probabilities of all outcomes no more likely than the
//! observed one, with a relative tolerance of 1e-7 so ties broken by rounding still count.

use super::special::ln_choose;
use super::{check_counts, check_probability, StatsError};

/// Relative tolerance for "no more likely than the observed outcome" (R, SciPy).
pub const REL_TOLERANCE: f64 = 1e-7;

/// Largest number of trials the exact binomial test accepts (it sums one term per outcome).
pub const MAX_TRIALS: u64 = 50_000_000;

/// ln P(X = k) for X ~ Binomial(n, p); −∞ for impossible outcomes (including `k > n`).
pub fn binomial_ln_pmf(k: u64, n: u64, p: f64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    // 0 * ln(0) is 0 here: with p = 0 only k = 0 is possible, with p = 1 only k = n.
    let success = if k == 0 { 0.0 } else { k as f64 * p.ln() };
    let failure = if k == n {
        0.0
    } else {
        (n - k) as f64 * (-p).ln_1p()
    };
    ln_choose(n, k) + success + failure
}

/// P(X = k) for k = 0..=n, X ~ Binomial(n, p). `p` must be in `0..=1`.
pub fn binomial_pmfs(n: u64, p: f64) -> Vec<f64> {
    (0..=n).map(|k| binomial_ln_pmf(k, n, p).exp()).collect()
}

/// Two-sided exact binomial test of H0: X ~ Binomial(n, p) given `k` successes: the sum of
/// P(X = j) over all `j` with P(X = j) <= P(X = k) · (1 + 1e-7), capped at 1. This is
/// `scipy.stats.binomtest(k, n, p).pvalue`.
pub fn binomial_test_two_sided(k: u64, n: u64, p: f64) -> Result<f64, StatsError> {
    check_counts(k, n)?;
    check_probability("p", p)?;
    if n > MAX_TRIALS {
        return Err(StatsError::TooLarge {
            what: "trials",
            value: n,
            max: MAX_TRIALS,
        });
    }
    if n == 0 {
        return Ok(1.0);
    }
    let observed = binomial_ln_pmf(k, n, p);
    if observed == f64::NEG_INFINITY {
        // Impossible under H0 (e.g. a success when p = 0): nothing is as unlikely.
        return Ok(0.0);
    }
    let threshold = observed + REL_TOLERANCE.ln_1p();
    let p_value: f64 = (0..=n)
        .map(|j| binomial_ln_pmf(j, n, p))
        .filter(|&lp| lp <= threshold)
        .map(f64::exp)
        .sum();
    Ok(p_value.min(1.0))
}

/// Fisher's two-sided p-value for every possible top-left cell `x` of a 2×2 table with row
/// sums `row1`, `row2` and first column sum `col1` (`col1 <= row1 + row2`).
///
/// Returns `(lo, p)` where `p[i]` is the p-value of the table with `x = lo + i`. One sort of
/// the hypergeometric probabilities serves all tables, so this costs O(m log m) for m possible
/// tables instead of O(m²). The values agree with [`super::fisher_exact`] up to summation order.
pub fn fisher_p_values_for_margins(row1: u64, row2: u64, col1: u64) -> (u64, Vec<f64>) {
    fisher_p_values_with(row1, row2, col1, ln_choose)
}

/// [`fisher_p_values_for_margins`] with a caller-supplied ln C(n, k) (a factorial table makes
/// the power search several times faster than the gamma function).
pub(crate) fn fisher_p_values_with(
    row1: u64,
    row2: u64,
    col1: u64,
    ln_choose: impl Fn(u64, u64) -> f64,
) -> (u64, Vec<f64>) {
    let n = row1 + row2;
    let col1 = col1.min(n);
    let lo = col1.saturating_sub(row2);
    let hi = row1.min(col1);
    let ln_total = ln_choose(n, col1);
    let probs: Vec<f64> = (lo..=hi)
        .map(|x| (ln_choose(row1, x) + ln_choose(row2, col1 - x) - ln_total).exp())
        .collect();
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[a].total_cmp(&probs[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| probs[i]).collect();
    // Prefix sums in ascending order of probability: the small terms are added first.
    let mut prefix = Vec::with_capacity(sorted.len());
    let mut acc = 0.0;
    for &q in &sorted {
        acc += q;
        prefix.push(acc);
    }
    let p = probs
        .iter()
        .map(|&q| {
            let limit = q * (1.0 + REL_TOLERANCE);
            let count = sorted.partition_point(|&s| s <= limit);
            if count == 0 {
                0.0
            } else {
                prefix[count - 1].min(1.0)
            }
        })
        .collect();
    (lo, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    // python3 -c "from scipy.stats import binomtest; print(repr(binomtest(12,12,0.5).pvalue), repr(binomtest(1,1,0.5).pvalue), repr(binomtest(3,40,0.2).pvalue), repr(binomtest(7,20,0.3).pvalue))"
    #[test]
    fn binomial_test_matches_scipy() {
        let cases = [
            (12, 12, 0.5, 0.00048828125),
            (1, 1, 0.5, 1.0),
            (3, 40, 0.2, 0.04786946338839313),
            (7, 20, 0.3, 0.6294979666766769),
        ];
        for (k, n, p, expected) in cases {
            let got = binomial_test_two_sided(k, n, p).unwrap();
            assert!(
                (got - expected).abs() <= 1e-12 * expected.max(1e-300) + 1e-15,
                "{k}/{n} p={p}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn binomial_test_edges() {
        assert_eq!(binomial_test_two_sided(0, 0, 0.5), Ok(1.0));
        assert_eq!(binomial_test_two_sided(1, 5, 0.0), Ok(0.0));
        assert_eq!(binomial_test_two_sided(0, 5, 0.0), Ok(1.0));
        assert!(binomial_test_two_sided(6, 5, 0.5).is_err());
        assert!(binomial_test_two_sided(1, 5, f64::NAN).is_err());
        assert!(binomial_test_two_sided(1, u64::MAX, 0.5).is_err());
    }

    // The batch computation agrees with the one-table Fisher test for every table.
    #[test]
    fn margins_batch_matches_fisher_exact() {
        for (row1, row2, col1) in [
            (20, 20, 38),
            (30, 30, 17),
            (5, 20, 23),
            (7, 3, 0),
            (9, 4, 13),
        ] {
            let (lo, ps) = fisher_p_values_for_margins(row1, row2, col1);
            for (i, p) in ps.iter().enumerate() {
                let x = lo + i as u64;
                let expected = super::super::fisher_exact(x, row1 - x, col1 - x, row2 - (col1 - x));
                assert!((p - expected).abs() < 1e-12, "{row1} {row2} {col1} x={x}");
            }
        }
    }
}
