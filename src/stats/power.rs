//! Exact power of Fisher's two-sided test for a fixed number of rounds per side, and the
//! smallest number of rounds per side that reaches a given power: the "fixed design" figure
//! `plan` reports, computed exactly rather than from a normal approximation.
//!
//! Power is the sum, over every outcome (x passes on side A, y on side B, each side
//! Binomial(n, p)), of P(x) · P(y) · [Fisher's p-value of the table <= alpha]. For a fixed
//! total x + y = s the margins are fixed, so the rejection region is computed once per s
//! ([`super::exact::fisher_p_values_for_margins`]); the cost is O(n² log n) per n.
//!
//! Exact power is not monotone in n (the discreteness of the test makes it wobble), so
//! [`fixed_rounds_per_side`] is defined as the *smallest* n at which the power reaches the
//! target; a slightly larger n can have slightly less power.

use super::exact::{binomial_pmfs, fisher_p_values_with};
use super::{check_level, check_probability, StatsError};

/// Largest per-side n the exact power search accepts (the cost grows as n³ over a search).
pub const MAX_ROUNDS_PER_SIDE: u64 = 2_000;

/// Natural logarithms of 0!..=n!.
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

fn power_with_table(p1: f64, p2: f64, n: u64, alpha: f64, lf: &[f64]) -> f64 {
    let pmf_a = binomial_pmfs(n, p1);
    let pmf_b = binomial_pmfs(n, p2);
    let ln_choose = |m: u64, k: u64| lf[m as usize] - lf[k as usize] - lf[(m - k) as usize];
    let mut power = 0.0;
    for s in 0..=2 * n {
        // Skip totals that (practically) cannot happen: the sort per total is the cost, and
        // far from the expected total the probability is below 1e-18, so skipping all of them
        // changes the power by less than 2n · 1e-18.
        let lo = s.saturating_sub(n);
        let hi = s.min(n);
        let mass: f64 = (lo..=hi)
            .map(|x| pmf_a[x as usize] * pmf_b[(s - x) as usize])
            .sum();
        if mass < 1e-18 {
            continue;
        }
        let (first, p_values) = fisher_p_values_with(n, n, s, ln_choose);
        for (i, p) in p_values.iter().enumerate() {
            if *p <= alpha {
                let x = first + i as u64;
                power += pmf_a[x as usize] * pmf_b[(s - x) as usize];
            }
        }
    }
    power.min(1.0)
}

fn check_args(p1: f64, p2: f64, alpha: f64) -> Result<(), StatsError> {
    check_probability("baseline rate", p1)?;
    check_probability("target rate", p2)?;
    check_level("alpha", alpha)?;
    Ok(())
}

/// Exact power of Fisher's two-sided exact test at level `alpha` (reject when p <= alpha)
/// with `n_per_side` rounds per side, when the true pass rates are `p1` and `p2`.
pub fn fisher_power(p1: f64, p2: f64, n_per_side: u64, alpha: f64) -> Result<f64, StatsError> {
    check_args(p1, p2, alpha)?;
    if n_per_side > MAX_ROUNDS_PER_SIDE {
        return Err(StatsError::TooLarge {
            what: "rounds per side",
            value: n_per_side,
            max: MAX_ROUNDS_PER_SIDE,
        });
    }
    let lf = ln_factorials(2 * n_per_side);
    Ok(power_with_table(p1, p2, n_per_side, alpha, &lf))
}

/// The smallest number of rounds per side, at most `max`, at which Fisher's two-sided exact
/// test at `alpha` has power at least `power` to tell `baseline` from `target`; `None` when no
/// n up to `max` does (always the case for equal rates). See the module doc on monotonicity.
pub fn fixed_rounds_per_side(
    baseline: f64,
    target: f64,
    alpha: f64,
    power: f64,
    max: u64,
) -> Result<Option<u64>, StatsError> {
    check_args(baseline, target, alpha)?;
    check_level("power", power)?;
    if max > MAX_ROUNDS_PER_SIDE {
        return Err(StatsError::TooLarge {
            what: "max rounds per side",
            value: max,
            max: MAX_ROUNDS_PER_SIDE,
        });
    }
    if baseline == target {
        return Ok(None);
    }
    let lf = ln_factorials(2 * max);
    Ok((1..=max).find(|&n| power_with_table(baseline, target, n, alpha, &lf) >= power))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::exact::binomial_ln_pmf;
    use crate::stats::fisher_exact;

    /// Power by brute force: every (x, y) pair, each with its own Fisher test.
    fn brute_force_power(p1: f64, p2: f64, n: u64, alpha: f64) -> f64 {
        let mut power = 0.0;
        for x in 0..=n {
            for y in 0..=n {
                if fisher_exact(x, n - x, y, n - y) <= alpha {
                    power += (binomial_ln_pmf(x, n, p1) + binomial_ln_pmf(y, n, p2)).exp();
                }
            }
        }
        power
    }

    #[test]
    fn power_matches_brute_force_enumeration() {
        for (p1, p2, n) in [
            (0.5, 0.9, 12),
            (0.5, 1.0, 20),
            (0.3, 0.35, 17),
            (0.0, 0.2, 25),
            (0.9, 0.9, 10),
        ] {
            let fast = fisher_power(p1, p2, n, 0.05).unwrap();
            let slow = brute_force_power(p1, p2, n, 0.05);
            assert!(
                (fast - slow).abs() < 1e-12,
                "{p1} {p2} {n}: {fast} vs {slow}"
            );
        }
    }

    // Independent check with SciPy (exact enumeration with scipy's own Fisher test):
    // python3 -c "
    // from scipy.stats import fisher_exact, binom
    // def pw(p1,p2,n): return sum(binom.pmf(x,n,p1)*binom.pmf(y,n,p2) for x in range(n+1) for y in range(n+1) if fisher_exact([[x,n-x],[y,n-y]]).pvalue<=0.05)
    // print(repr(pw(0.5,0.9,30)), repr(pw(1.0,0.9,93)))"  -> 0.9135265918758863 0.9129623690809263
    #[test]
    fn power_matches_scipy_enumeration() {
        let p = fisher_power(0.5, 0.9, 30, 0.05).unwrap();
        assert!((p - 0.9135265918758863).abs() < 1e-10, "{p}");
        let p = fisher_power(1.0, 0.9, 93, 0.05).unwrap();
        assert!((p - 0.9129623690809263).abs() < 1e-10, "{p}");
    }

    // python3 -c "
    // from scipy.stats import fisher_exact, binom
    // def pw(p1,p2,n): return sum(binom.pmf(x,n,p1)*binom.pmf(y,n,p2) for x in range(n+1) for y in range(n+1) if fisher_exact([[x,n-x],[y,n-y]]).pvalue<=0.05)
    // print(next(n for n in range(1,200) if pw(0.5,0.9,n)>=0.8), next(n for n in range(1,200) if pw(0.5,1.0,n)>=0.8))"  -> 23 12
    #[test]
    fn fixed_rounds_match_scipy_search() {
        assert_eq!(
            fixed_rounds_per_side(0.5, 0.9, 0.05, 0.8, 200).unwrap(),
            Some(23)
        );
        assert_eq!(
            fixed_rounds_per_side(0.5, 1.0, 0.05, 0.8, 200).unwrap(),
            Some(12)
        );
        // Symmetric in the two rates (the test is two-sided).
        assert_eq!(
            fixed_rounds_per_side(0.9, 0.5, 0.05, 0.8, 200).unwrap(),
            Some(23)
        );
    }

    #[test]
    fn power_edges() {
        assert_eq!(
            fixed_rounds_per_side(0.5, 0.5, 0.05, 0.8, 100).unwrap(),
            None
        );
        assert_eq!(
            fixed_rounds_per_side(0.5, 0.51, 0.05, 0.8, 20).unwrap(),
            None
        );
        assert!(fixed_rounds_per_side(0.5, 0.6, 0.05, 0.8, 1_000_000).is_err());
        assert!(fisher_power(f64::NAN, 0.5, 10, 0.05).is_err());
        assert!(fisher_power(0.5, 0.6, 10, 0.0).is_err());
        assert!(fixed_rounds_per_side(0.5, 0.6, 0.05, 1.0, 10).is_err());
        assert_eq!(fisher_power(0.5, 0.9, 0, 0.05).unwrap(), 0.0);
        // Certain outcomes: 0% vs 100% is told apart with 4 rounds per side
        // (Fisher p for 0/4 vs 4/4 is 0.0286; for 0/3 vs 3/3 it is 0.1).
        assert_eq!(
            fixed_rounds_per_side(0.0, 1.0, 0.05, 0.8, 50).unwrap(),
            Some(4)
        );
    }

    // A few hundred rounds per side: 50% vs 60% needs 404 (Fleiss' approximation says 408).
    // SciPy at the boundary (pmf-weighted enumeration with scipy's own Fisher test):
    // python3 -c "
    // from scipy.stats import fisher_exact, binom; import numpy as np
    // def pw(p1,p2,n):
    //   a=binom.pmf(np.arange(n+1),n,p1); b=binom.pmf(np.arange(n+1),n,p2)
    //   return sum(a[x]*b[y] for x in range(n+1) for y in range(n+1) if a[x]*b[y]>1e-18 and fisher_exact([[x,n-x],[y,n-y]]).pvalue<=0.05)
    // print(repr(pw(0.5,0.6,403)), repr(pw(0.5,0.6,404)))"
    // -> 0.799557765038457 0.801250732051101
    #[test]
    fn hundreds_of_rounds_match_scipy() {
        assert!((fisher_power(0.5, 0.6, 403, 0.05).unwrap() - 0.799557765038457).abs() < 1e-9);
        assert!((fisher_power(0.5, 0.6, 404, 0.05).unwrap() - 0.801250732051101).abs() < 1e-9);
        assert_eq!(
            fixed_rounds_per_side(0.5, 0.6, 0.05, 0.8, 600).unwrap(),
            Some(404)
        );
    }
}
