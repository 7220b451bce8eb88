//! Crash buckets compared as rates, not counts: crashes per 100 rounds on each side with an
//! exact interval, an exact test between the sides, a multiple-testing correction over all
//! buckets compared, and a verdict that says "regression" or "fixed" only when the corrected
//! test supports it.
//!
//! Two exact tests are offered:
//! - **crashes given rounds** (the default): if crashes of a bucket arrive as a Poisson process
//!   at the same rate per round on both sides, then given the total `x_a + x_b` the count on
//!   side A is Binomial(x_a + x_b, r_a / (r_a + r_b)); the two-sided exact binomial test of that
//!   is the conditional test for two Poisson rates.
//! - **rounds hit**: Fisher's exact test on rounds with at least one crash of the bucket against
//!   rounds without, which makes no Poisson assumption (a round that crashes five times counts
//!   once).
//!
//! Side A is the baseline (older) side and B the candidate: "regression" means B's rate is
//! higher. One crash in 30 rounds against none in 30 gives p = 1, not a regression; twelve in
//! 30 against none gives p = 0.00049.

use serde::{Deserialize, Serialize};

use super::exact::binomial_test_two_sided;
use super::intervals::{crash_rate_per_100, RatePer100};
use super::multiple::Correction;
use super::{check_counts, check_level, fisher_exact, StatsError};

/// One bucket's counts on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BucketSides {
    /// Crash reports of the bucket on side A (baseline).
    pub crashes_a: u64,
    /// Rounds of side A with at least one crash of the bucket (`<= rounds_a`).
    pub hit_rounds_a: u64,
    /// Rounds on side A.
    pub rounds_a: u64,
    /// Crash reports of the bucket on side B (candidate).
    pub crashes_b: u64,
    /// Rounds of side B with at least one crash of the bucket (`<= rounds_b`).
    pub hit_rounds_b: u64,
    /// Rounds on side B.
    pub rounds_b: u64,
}

/// Which exact test compares a bucket's two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BucketTest {
    /// Conditional binomial test on crash counts given the rounds (Poisson rates).
    CrashesGivenRounds,
    /// Fisher's exact test on rounds hit against rounds not hit.
    RoundsHit,
}

/// What may be said about a bucket. Its one wording is `writeup::wording::bucket_change`
/// (stats stay numbers and verdicts; sentences live with the other sentences).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BucketVerdict {
    /// B's rate is higher, and the corrected test supports it.
    Regression,
    /// B's rate is lower, and the corrected test supports it.
    Fixed,
    /// Seen only in B, not distinguishable yet.
    OnlyInBNotDistinguishable,
    /// Seen only in A, not distinguishable yet.
    OnlyInANotDistinguishable,
    /// Seen on both sides; the rates are not distinguishable.
    NotDistinguishable,
    /// Seen on neither side.
    Absent,
}

/// One bucket's rates, test and verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BucketAssessment {
    /// Crashes per 100 rounds on side A with a 95% exact interval.
    pub rate_a: RatePer100,
    /// Crashes per 100 rounds on side B with a 95% exact interval.
    pub rate_b: RatePer100,
    /// Raw two-sided p-value of the chosen test.
    pub p_value: f64,
    /// p-value adjusted for the number of buckets compared.
    pub adjusted_p: f64,
    /// The verdict at the given alpha on the adjusted p-value.
    pub verdict: BucketVerdict,
}

/// Conditional exact test of two Poisson rates: `x_a` crashes over `r_a` rounds against `x_b`
/// over `r_b`. Under equal rates, given `x_a + x_b`, `x_a` ~ Binomial(x_a + x_b,
/// r_a / (r_a + r_b)); returns the two-sided exact binomial p-value
/// (`scipy.stats.binomtest(x_a, x_a + x_b, r_a / (r_a + r_b)).pvalue`).
pub fn conditional_rate_test(x_a: u64, r_a: u64, x_b: u64, r_b: u64) -> Result<f64, StatsError> {
    if r_a == 0 || r_b == 0 {
        return Err(StatsError::Zero("rounds"));
    }
    let total = x_a.checked_add(x_b).ok_or(StatsError::TooLarge {
        what: "crashes",
        value: u64::MAX,
        max: super::exact::MAX_TRIALS,
    })?;
    let share = r_a as f64 / (r_a as f64 + r_b as f64);
    binomial_test_two_sided(x_a, total, share)
}

/// Fisher's exact test on rounds hit: `hit_a` of `r_a` rounds against `hit_b` of `r_b`.
pub fn rounds_hit_test(hit_a: u64, r_a: u64, hit_b: u64, r_b: u64) -> Result<f64, StatsError> {
    super::fisher_rates(hit_a, r_a, hit_b, r_b)
}

/// Assess every bucket: rates with intervals, the chosen exact test, the correction over all
/// buckets given, and a verdict at `alpha` (a bucket is a regression or fixed only when its
/// adjusted p-value is below `alpha`). Errors on zero rounds, on hit rounds exceeding rounds,
/// or on an alpha outside `(0, 1)`.
pub fn assess_buckets(
    buckets: &[BucketSides],
    test: BucketTest,
    correction: Correction,
    alpha: f64,
) -> Result<Vec<BucketAssessment>, StatsError> {
    check_level("alpha", alpha)?;
    let mut raw = Vec::with_capacity(buckets.len());
    for b in buckets {
        check_counts(b.hit_rounds_a, b.rounds_a)?;
        check_counts(b.hit_rounds_b, b.rounds_b)?;
        let p = match test {
            BucketTest::CrashesGivenRounds => {
                conditional_rate_test(b.crashes_a, b.rounds_a, b.crashes_b, b.rounds_b)?
            }
            BucketTest::RoundsHit => {
                if b.rounds_a == 0 || b.rounds_b == 0 {
                    return Err(StatsError::Zero("rounds"));
                }
                fisher_exact(
                    b.hit_rounds_a,
                    b.rounds_a - b.hit_rounds_a,
                    b.hit_rounds_b,
                    b.rounds_b - b.hit_rounds_b,
                )
            }
        };
        raw.push(p);
    }
    let adjusted = correction.adjust(&raw)?;
    buckets
        .iter()
        .zip(raw.iter().zip(&adjusted))
        .map(|(b, (&p_value, &adjusted_p))| {
            let rate_a = crash_rate_per_100(b.crashes_a, b.rounds_a)?;
            let rate_b = crash_rate_per_100(b.crashes_b, b.rounds_b)?;
            let significant = adjusted_p < alpha;
            let verdict = if significant && rate_b.per_100 > rate_a.per_100 {
                BucketVerdict::Regression
            } else if significant && rate_b.per_100 < rate_a.per_100 {
                BucketVerdict::Fixed
            } else {
                match (b.crashes_a > 0, b.crashes_b > 0) {
                    (false, true) => BucketVerdict::OnlyInBNotDistinguishable,
                    (true, false) => BucketVerdict::OnlyInANotDistinguishable,
                    (true, true) => BucketVerdict::NotDistinguishable,
                    (false, false) => BucketVerdict::Absent,
                }
            };
            Ok(BucketAssessment {
                rate_a,
                rate_b,
                p_value,
                adjusted_p,
                verdict,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides(crashes_a: u64, crashes_b: u64, rounds: u64) -> BucketSides {
        BucketSides {
            crashes_a,
            hit_rounds_a: crashes_a.min(rounds),
            rounds_a: rounds,
            crashes_b,
            hit_rounds_b: crashes_b.min(rounds),
            rounds_b: rounds,
        }
    }

    // python3 -c "from scipy.stats import binomtest; print(repr(binomtest(0,1,0.5).pvalue), repr(binomtest(0,12,0.5).pvalue), repr(binomtest(3,14,40/(40+25)).pvalue))"
    #[test]
    fn conditional_test_matches_scipy() {
        assert_eq!(conditional_rate_test(0, 30, 1, 30).unwrap(), 1.0);
        let p12 = conditional_rate_test(0, 30, 12, 30).unwrap();
        assert!((p12 - 0.00048828125).abs() < 1e-15, "{p12}");
        let p = conditional_rate_test(3, 40, 11, 25).unwrap();
        assert!((p - 0.0038255788375826843).abs() < 1e-12, "{p}");
        assert_eq!(
            conditional_rate_test(1, 0, 1, 3),
            Err(StatsError::Zero("rounds"))
        );
        assert!(conditional_rate_test(u64::MAX, 1, 1, 1).is_err());
    }

    // python3 -c "from scipy.stats import fisher_exact; print(repr(fisher_exact([[0,30],[12,18]]).pvalue))"
    #[test]
    fn rounds_hit_matches_scipy() {
        let p = rounds_hit_test(0, 30, 12, 30).unwrap();
        assert!((p - 0.0001236183632391236).abs() < 1e-15, "{p}");
    }

    // The two examples: 1 crash in 30 rounds where there were none in 30 is not a
    // regression; 12 in 30 is, even after correcting for five buckets compared.
    #[test]
    fn one_in_30_is_not_a_regression_but_12_is() {
        let buckets = [
            sides(0, 1, 30),
            sides(0, 12, 30),
            sides(5, 0, 30),
            sides(3, 4, 30),
            sides(0, 0, 30),
        ];
        for test in [BucketTest::CrashesGivenRounds, BucketTest::RoundsHit] {
            for correction in [Correction::Holm, Correction::BenjaminiHochberg] {
                let out = assess_buckets(&buckets, test, correction, 0.05).unwrap();
                let verdicts: Vec<_> = out.iter().map(|a| a.verdict).collect();
                assert_eq!(
                    verdicts,
                    [
                        BucketVerdict::OnlyInBNotDistinguishable,
                        BucketVerdict::Regression,
                        BucketVerdict::OnlyInANotDistinguishable,
                        BucketVerdict::NotDistinguishable,
                        BucketVerdict::Absent,
                    ],
                    "{test:?} {correction:?}"
                );
                assert!(out.iter().all(|a| a.adjusted_p >= a.p_value));
            }
        }
        // Twelve crashes gone is "fixed".
        let out = assess_buckets(
            &[sides(12, 0, 30)],
            BucketTest::CrashesGivenRounds,
            Correction::Holm,
            0.05,
        )
        .unwrap();
        assert_eq!(out[0].verdict, BucketVerdict::Fixed);
        assert!((out[0].rate_a.per_100 - 40.0).abs() < 1e-12);
    }

    // A p-value that clears 0.05 alone but not after Holm over many buckets stays undecided.
    #[test]
    fn correction_can_withhold_a_verdict() {
        // 0 vs 6 in 30 rounds: p = 2 * 0.5^6 = 0.03125 raw; Holm over 3 buckets gives 0.094.
        let buckets = [sides(0, 6, 30), sides(2, 2, 30), sides(1, 1, 30)];
        let out = assess_buckets(
            &buckets,
            BucketTest::CrashesGivenRounds,
            Correction::Holm,
            0.05,
        )
        .unwrap();
        assert!((out[0].p_value - 0.03125).abs() < 1e-15);
        assert!((out[0].adjusted_p - 0.09375).abs() < 1e-15);
        assert_eq!(out[0].verdict, BucketVerdict::OnlyInBNotDistinguishable);
        let alone = assess_buckets(
            &buckets[..1],
            BucketTest::CrashesGivenRounds,
            Correction::Holm,
            0.05,
        )
        .unwrap();
        assert_eq!(alone[0].verdict, BucketVerdict::Regression);
    }

    #[test]
    fn bad_bucket_input_is_an_error() {
        let mut b = sides(1, 1, 30);
        b.hit_rounds_a = 31;
        assert!(assess_buckets(&[b], BucketTest::RoundsHit, Correction::Holm, 0.05).is_err());
        let zero = sides(0, 0, 0);
        assert!(assess_buckets(&[zero], BucketTest::RoundsHit, Correction::Holm, 0.05).is_err());
        assert!(
            assess_buckets(&[], BucketTest::RoundsHit, Correction::Holm, 0.05)
                .unwrap()
                .is_empty()
        );
        assert!(assess_buckets(&[], BucketTest::RoundsHit, Correction::Holm, f64::NAN).is_err());
    }
}
