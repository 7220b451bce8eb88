//! The difference of two means with Welch's interval, which does not assume equal variances:
//! efficiency (or any per-round figure) of selection B minus selection A.
//!
//! Standard error √(s_a²/n_a + s_b²/n_b); degrees of freedom by Welch–Satterthwaite; the
//! interval is the difference ± the Student t quantile at that (fractional) df times the
//! standard error. The p-value is the two-sided Welch t-test, as
//! `scipy.stats.ttest_ind(b, a, equal_var=False)`.

use serde::{Deserialize, Serialize};

use super::special::{student_t_quantile, student_t_sf};
use super::{check_level, StatsError};

/// Welch's comparison of two samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WelchInterval {
    /// Mean of B minus mean of A.
    pub difference: f64,
    /// Lower bound of the interval for the difference.
    pub low: f64,
    /// Upper bound of the interval for the difference.
    pub high: f64,
    /// Confidence level of the interval (e.g. 0.95).
    pub confidence: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Standard error of the difference.
    pub std_error: f64,
    /// Two-sided p-value of Welch's t-test of equal means.
    pub p_value: f64,
    /// Finite values used from A.
    pub n_a: usize,
    /// Finite values used from B.
    pub n_b: usize,
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, ss / (n - 1.0))
}

/// Welch's interval for mean(b) − mean(a) at `confidence`. Non-finite values are left out (as
/// in [`super::summarize`]); each side needs at least two values, and not both may have zero
/// variance (then no interval exists; the caller can report the two constant values).
pub fn welch(a: &[f64], b: &[f64], confidence: f64) -> Result<WelchInterval, StatsError> {
    check_level("confidence", confidence)?;
    let a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    for (what, v) in [("sample A", &a), ("sample B", &b)] {
        if v.len() < 2 {
            return Err(StatsError::TooFewValues {
                what,
                needed: 2,
                got: v.len(),
            });
        }
    }
    let (mean_a, var_a) = mean_var(&a);
    let (mean_b, var_b) = mean_var(&b);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ua, ub) = (var_a / na, var_b / nb);
    let se2 = ua + ub;
    if !se2.is_finite() {
        return Err(StatsError::NonFinite("standard error"));
    }
    if se2 <= 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let df = se2 * se2 / (ua * ua / (na - 1.0) + ub * ub / (nb - 1.0));
    let se = se2.sqrt();
    let difference = mean_b - mean_a;
    let t_crit = student_t_quantile(0.5 + confidence / 2.0, df)
        .ok_or(StatsError::NonFinite("degrees of freedom"))?;
    let p_value = (2.0 * student_t_sf((difference / se).abs(), df)).min(1.0);
    Ok(WelchInterval {
        difference,
        low: difference - t_crit * se,
        high: difference + t_crit * se,
        confidence,
        df,
        std_error: se,
        p_value,
        n_a: a.len(),
        n_b: b.len(),
    })
}

/// [`welch`] at 95%.
pub fn welch_95(a: &[f64], b: &[f64]) -> Result<WelchInterval, StatsError> {
    welch(a, b, 0.95)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_util::rel;

    // python3 -c "
    // from scipy.stats import ttest_ind, t; import numpy as np
    // a=[14.6,13.9,15.1,14.2]; b=[15.8,16.4,15.1,17.0,16.2]
    // r=ttest_ind(b,a,equal_var=False); va,vb=np.var(a,ddof=1)/4,np.var(b,ddof=1)/5
    // df=(va+vb)**2/(va**2/3+vb**2/4); d=np.mean(b)-np.mean(a); h=t.ppf(0.975,df)*np.sqrt(va+vb)
    // print(repr(r.pvalue), repr(r.df), repr(d-h), repr(d+h))"
    #[test]
    fn welch_matches_scipy() {
        let a = [14.6, 13.9, 15.1, 14.2];
        let b = [15.8, 16.4, 15.1, 17.0, 16.2];
        let w = welch_95(&a, &b).unwrap();
        rel(w.difference, 1.65, 1e-12);
        rel(w.df, 6.981337480559876, 1e-12);
        rel(w.p_value, 0.00501346048694641, 1e-9);
        rel(w.low, 0.6817111321624609, 1e-9);
        rel(w.high, 2.6182888678375433, 1e-9);
        // Swapping the sides negates the interval.
        let s = welch_95(&b, &a).unwrap();
        rel(s.low, -2.6182888678375433, 1e-9);
    }

    #[test]
    fn welch_degenerate_input() {
        assert!(matches!(
            welch_95(&[1.0], &[1.0, 2.0]),
            Err(StatsError::TooFewValues { got: 1, .. })
        ));
        assert!(matches!(
            welch_95(&[1.0, f64::NAN], &[1.0, 2.0]),
            Err(StatsError::TooFewValues { got: 1, .. })
        ));
        assert_eq!(
            welch_95(&[2.0, 2.0], &[3.0, 3.0]),
            Err(StatsError::ZeroVariance)
        );
        assert!(welch(&[1.0, 2.0], &[1.0, 2.0], 1.0).is_err());
        // One constant side is fine: the other side's variance carries the interval.
        let w = welch_95(&[2.0, 2.0], &[3.0, 4.0]).unwrap();
        assert!(w.low < 1.5 && w.high > 1.5);
        // Huge values stay finite or fail cleanly, never panic.
        let _ = welch_95(&[f64::MAX, -f64::MAX], &[1.0, 2.0]);
    }
}
