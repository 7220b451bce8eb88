//! Exact confidence intervals: Clopper-Pearson for a proportion, and Garwood's exact Poisson
//! interval for a count, which gives crashes per 100 rounds with an interval.
//!
//! "Exact" means the coverage is at least the nominal level for every true value (the
//! intervals invert the exact binomial and Poisson tails), at the price of being a little wider
//! than the Wilson interval the verdicts quote. Bounds are quantiles of the Beta and Gamma
//! distributions, found by bisection on their CDFs ([`super::special`]).

use serde::{Deserialize, Serialize};

use super::special::{beta_quantile, gamma_quantile};
use super::{check_counts, check_level, Interval, StatsError};

/// Largest count or number of trials the exact intervals accept. The continued fractions
/// behind them take about √n steps; beyond this they would lose accuracy (and no verification
/// campaign comes near a billion rounds).
pub const MAX_COUNT: u64 = 1_000_000_000;

fn check_size(what: &'static str, value: u64) -> Result<(), StatsError> {
    if value > MAX_COUNT {
        Err(StatsError::TooLarge {
            what,
            value,
            max: MAX_COUNT,
        })
    } else {
        Ok(())
    }
}

/// Clopper-Pearson ("exact") two-sided interval for `successes` out of `trials` at the given
/// `confidence` (e.g. 0.95): the bounds are the Beta(k, n−k+1) quantile at (1−c)/2 and the
/// Beta(k+1, n−k) quantile at (1+c)/2, and exactly 0 / 1 at k = 0 / k = n. With no trials the
/// whole range `[0, 1]` is returned. Matches
/// `scipy.stats.binomtest(k, n).proportion_ci(confidence, method='exact')`.
pub fn clopper_pearson(
    successes: u64,
    trials: u64,
    confidence: f64,
) -> Result<Interval, StatsError> {
    check_counts(successes, trials)?;
    check_level("confidence", confidence)?;
    check_size("trials", trials)?;
    let tail = (1.0 - confidence) / 2.0;
    let (k, n) = (successes as f64, trials as f64);
    let low = if successes == 0 {
        0.0
    } else {
        beta_quantile(tail, k, n - k + 1.0)
    };
    let high = if successes == trials {
        1.0
    } else {
        beta_quantile(1.0 - tail, k + 1.0, n - k)
    };
    Ok(Interval { low, high })
}

/// Garwood's exact two-sided interval for the mean of a Poisson count: `[χ²(α/2; 2x)/2,
/// χ²(1−α/2; 2x+2)/2]` with α = 1 − confidence, i.e. Gamma(x) and Gamma(x+1) quantiles;
/// the lower bound is 0 for a count of 0. Counts above [`MAX_COUNT`] are an error.
pub fn poisson_interval(count: u64, confidence: f64) -> Result<Interval, StatsError> {
    check_level("confidence", confidence)?;
    check_size("count", count)?;
    let tail = (1.0 - confidence) / 2.0;
    let x = count as f64;
    let low = if count == 0 {
        0.0
    } else {
        gamma_quantile(tail, x)
    };
    let high = gamma_quantile(1.0 - tail, x + 1.0);
    Ok(Interval { low, high })
}

/// A crash rate per 100 rounds with its exact 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePer100 {
    /// Crashes per 100 rounds (count / rounds × 100).
    pub per_100: f64,
    /// Lower bound of the 95% Garwood interval, per 100 rounds.
    pub low: f64,
    /// Upper bound of the 95% Garwood interval, per 100 rounds.
    pub high: f64,
}

/// Crashes per 100 rounds for `crashes` seen over `rounds` rounds, with Garwood's exact 95%
/// interval, treating the number of crashes per round as Poisson (crashes of one round may be
/// several). Errors on zero rounds: a rate over nothing is not a number.
pub fn crash_rate_per_100(crashes: u64, rounds: u64) -> Result<RatePer100, StatsError> {
    if rounds == 0 {
        return Err(StatsError::Zero("rounds"));
    }
    let ci = poisson_interval(crashes, 0.95)?;
    let scale = 100.0 / rounds as f64;
    Ok(RatePer100 {
        per_100: crashes as f64 * scale,
        low: ci.low * scale,
        high: ci.high * scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_util::rel;

    // python3 -c "from scipy.stats import binomtest; [print(k,n,repr(c.low),repr(c.high)) for k,n in [(15,30),(0,30),(30,30),(1,1000),(999,1000),(3,5)] for c in [binomtest(k,n).proportion_ci(0.95,method='exact')]]"
    #[test]
    fn clopper_pearson_matches_scipy() {
        let cases: [(u64, u64, f64, f64); 6] = [
            (15, 30, 0.3129702858679498, 0.6870297141320502),
            (0, 30, 0.0, 0.11570330822202743),
            (30, 30, 0.8842966917779725, 1.0),
            (1, 1000, 2.5317487491674634e-05, 0.0055589242798499),
            (999, 1000, 0.9944410757201502, 0.9999746825125083),
            (3, 5, 0.14663279963467254, 0.9472550494736843),
        ];
        for (k, n, low, high) in cases {
            let ci = clopper_pearson(k, n, 0.95).unwrap();
            if low == 0.0 {
                assert_eq!(ci.low, 0.0);
            } else {
                rel(ci.low, low, 1e-9);
            }
            rel(ci.high, high, 1e-9);
        }
        assert_eq!(clopper_pearson(0, 0, 0.95).unwrap().as_array(), [0.0, 1.0]);
        assert!(clopper_pearson(4, 3, 0.95).is_err());
        assert!(clopper_pearson(1, 3, 1.0).is_err());
        assert!(clopper_pearson(1, 3, f64::NAN).is_err());
    }

    // python3 -c "from scipy.stats import chi2; [print(x, repr(chi2.ppf(0.025,2*x)/2 if x else 0.0), repr(chi2.ppf(0.975,2*x+2)/2)) for x in (0,1,12,250)]"
    #[test]
    fn poisson_interval_matches_scipy() {
        let cases: [(u64, f64, f64); 4] = [
            (0, 0.0, 3.6888794541139354),
            (1, 0.025317807984289876, 5.571643390938898),
            (12, 6.200575108722218, 20.96158504817696),
            (250, 219.9679956309373, 282.98770504231607),
        ];
        for (x, low, high) in cases {
            let ci = poisson_interval(x, 0.95).unwrap();
            if low == 0.0 {
                assert_eq!(ci.low, 0.0);
            } else {
                rel(ci.low, low, 1e-9);
            }
            rel(ci.high, high, 1e-9);
        }
    }

    #[test]
    fn crash_rate_scales_to_100_rounds() {
        // 12 crashes over 30 rounds: 40 per 100, interval = Garwood(12) × 100/30.
        let r = crash_rate_per_100(12, 30).unwrap();
        rel(r.per_100, 40.0, 1e-12);
        rel(r.low, 6.200575108722218 * 100.0 / 30.0, 1e-9);
        rel(r.high, 20.96158504817696 * 100.0 / 30.0, 1e-9);
        assert_eq!(crash_rate_per_100(1, 0), Err(StatsError::Zero("rounds")));
        // Large counts stay finite and sensible; beyond MAX_COUNT they are an error.
        let big = crash_rate_per_100(MAX_COUNT, 1).unwrap();
        assert!(big.low < big.per_100 && big.per_100 < big.high, "{big:?}");
        assert!(big.high / big.per_100 < 1.001);
        assert!(matches!(
            crash_rate_per_100(u64::MAX, 1),
            Err(StatsError::TooLarge { .. })
        ));
        assert!(matches!(
            clopper_pearson(1, u64::MAX, 0.95),
            Err(StatsError::TooLarge { .. })
        ));
        let ci = clopper_pearson(MAX_COUNT / 2, MAX_COUNT, 0.95).unwrap();
        assert!(
            ci.low < 0.5 && ci.high > 0.5 && ci.high - ci.low < 1e-4,
            "{ci:?}"
        );
    }
}
