//! Multiple-testing corrections: Holm's step-down adjustment (controls the chance of any false
//! finding, the family-wise error rate) and Benjamini-Hochberg q-values (control the expected
//! share of false findings among those reported, the false discovery rate).
//!
//! Both take the raw p-values in any order and return adjusted values in the same order,
//! monotone in the raw p-values and capped at 1. Compare an adjusted value with alpha as you
//! would a raw one.

use serde::{Deserialize, Serialize};

use super::StatsError;

/// Which correction to apply when several buckets or attribute values are tested at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Correction {
    /// Holm's step-down method (family-wise error rate).
    Holm,
    /// Benjamini-Hochberg (false discovery rate).
    BenjaminiHochberg,
}

impl Correction {
    /// Adjust `p_values` with this correction; see [`holm`] and [`benjamini_hochberg`].
    pub fn adjust(self, p_values: &[f64]) -> Result<Vec<f64>, StatsError> {
        match self {
            Correction::Holm => holm(p_values),
            Correction::BenjaminiHochberg => benjamini_hochberg(p_values),
        }
    }

    /// Name as written in reports: "Holm" or "Benjamini-Hochberg".
    pub fn label(self) -> &'static str {
        match self {
            Correction::Holm => "Holm",
            Correction::BenjaminiHochberg => "Benjamini-Hochberg",
        }
    }
}

fn check_p_values(p_values: &[f64]) -> Result<(), StatsError> {
    for &p in p_values {
        super::check_probability("p-value", p)?;
    }
    Ok(())
}

/// Indices of `p_values` sorted by ascending p (ties keep their order).
fn ascending(p_values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p_values.len()).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    order
}

/// Holm-adjusted p-values: with the m p-values sorted ascending as p₍₁₎ <= … <= p₍ₘ₎,
/// adj₍ᵢ₎ = max over j <= i of min(1, (m − j + 1) · p₍ⱼ₎). Errors on a value outside `0..=1`.
pub fn holm(p_values: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_p_values(p_values)?;
    let m = p_values.len();
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in ascending(p_values).iter().enumerate() {
        let value = ((m - rank) as f64 * p_values[i]).min(1.0);
        running = running.max(value);
        adjusted[i] = running;
    }
    Ok(adjusted)
}

/// Benjamini-Hochberg q-values: with the p-values sorted ascending,
/// q₍ᵢ₎ = min over j >= i of min(1, m / j · p₍ⱼ₎). This is
/// `scipy.stats.false_discovery_control(p, method='bh')`. Errors on a value outside `0..=1`.
pub fn benjamini_hochberg(p_values: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_p_values(p_values)?;
    let m = p_values.len();
    let mut adjusted = vec![0.0; m];
    let mut running = 1.0_f64;
    let order = ascending(p_values);
    for (rank, &i) in order.iter().enumerate().rev() {
        let value = (m as f64 / (rank + 1) as f64 * p_values[i]).min(1.0);
        running = running.min(value);
        adjusted[i] = running;
    }
    Ok(adjusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: [f64; 6] = [0.01, 0.04, 0.03, 0.2, 0.001, 0.04];

    #[track_caller]
    fn all_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{actual:?} vs {expected:?}");
        }
    }

    // python3 -c "from scipy.stats import false_discovery_control as f; print(list(f([0.01,0.04,0.03,0.2,0.001,0.04])))"
    #[test]
    fn bh_matches_scipy() {
        all_close(
            &benjamini_hochberg(&P).unwrap(),
            &[0.03, 0.048, 0.048, 0.2, 0.006, 0.048],
        );
    }

    // Holm by hand: sorted 0.001, 0.01, 0.03, 0.04, 0.04, 0.2 times 6, 5, 4, 3, 2, 1 =
    // 0.006, 0.05, 0.12, 0.12, 0.08, 0.2; running maximum 0.006, 0.05, 0.12, 0.12, 0.12, 0.2.
    #[test]
    fn holm_by_hand() {
        all_close(&holm(&P).unwrap(), &[0.05, 0.12, 0.12, 0.2, 0.006, 0.12]);
    }

    #[test]
    fn corrections_edges() {
        assert_eq!(holm(&[]).unwrap(), Vec::<f64>::new());
        assert_eq!(benjamini_hochberg(&[]).unwrap(), Vec::<f64>::new());
        assert_eq!(holm(&[0.3]).unwrap(), vec![0.3]);
        assert_eq!(benjamini_hochberg(&[0.3]).unwrap(), vec![0.3]);
        assert!(holm(&[f64::NAN]).is_err());
        assert!(benjamini_hochberg(&[1.5]).is_err());
        assert_eq!(holm(&[0.9, 0.9]).unwrap(), vec![1.0, 1.0]);
    }

    proptest::proptest! {
        // Adjusted values are at least the raw ones, at most 1, and keep the raw order.
        #[test]
        fn adjustments_are_monotone(p in proptest::collection::vec(0.0f64..=1.0, 0..40)) {
            for adj in [holm(&p).unwrap(), benjamini_hochberg(&p).unwrap()] {
                for i in 0..p.len() {
                    proptest::prop_assert!(adj[i] >= p[i] && adj[i] <= 1.0);
                    for j in 0..p.len() {
                        if p[i] < p[j] {
                            proptest::prop_assert!(adj[i] <= adj[j]);
                        }
                    }
                }
            }
        }
    }
}
