//! Correlation statistics for a crash bucket: for each attribute value (OS build, hardware
//! model, fix version, …), the share of the bucket's crashes that carry it against the share of
//! all other crashes that do, Fisher's exact two-sided p for that 2×2 table, and a
//! Benjamini-Hochberg q-value over all values tested. Pure arithmetic over counts; gathering
//! the counts is the caller's job.
//!
//! Read a small q as "this value is over- (or under-) represented in the bucket beyond what
//! chance explains across all values looked at" — a correlation, not a cause.

use serde::{Deserialize, Serialize};

use super::multiple::benjamini_hochberg;
use super::{check_counts, fisher_exact, StatsError};

/// Counts for one attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeCounts {
    /// Attribute name, e.g. "os_build".
    pub attribute: String,
    /// The value, e.g. "24A335".
    pub value: String,
    /// Crashes in the bucket with this value.
    pub in_bucket: u64,
    /// All crashes in the bucket (with the attribute known).
    pub bucket_total: u64,
    /// Crashes outside the bucket with this value.
    pub elsewhere: u64,
    /// All crashes outside the bucket (with the attribute known).
    pub elsewhere_total: u64,
}

/// One attribute value's correlation with the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Attribute name.
    pub attribute: String,
    /// The value.
    pub value: String,
    /// Crashes in the bucket with this value.
    pub in_bucket: u64,
    /// All crashes in the bucket.
    pub bucket_total: u64,
    /// Crashes elsewhere with this value.
    pub elsewhere: u64,
    /// All crashes elsewhere.
    pub elsewhere_total: u64,
    /// Fisher's exact two-sided p-value.
    pub p_value: f64,
    /// Benjamini-Hochberg q-value over all values given.
    pub q_value: f64,
}

/// Fisher's p and BH q for every row, sorted by q, then p, then attribute and value (so the
/// order is deterministic). Errors when a count exceeds its total.
pub fn correlate(rows: &[AttributeCounts]) -> Result<Vec<Correlation>, StatsError> {
    let mut p_values = Vec::with_capacity(rows.len());
    for r in rows {
        check_counts(r.in_bucket, r.bucket_total)?;
        check_counts(r.elsewhere, r.elsewhere_total)?;
        p_values.push(fisher_exact(
            r.in_bucket,
            r.bucket_total - r.in_bucket,
            r.elsewhere,
            r.elsewhere_total - r.elsewhere,
        ));
    }
    let q_values = benjamini_hochberg(&p_values)?;
    let mut out: Vec<Correlation> = rows
        .iter()
        .zip(p_values.iter().zip(&q_values))
        .map(|(r, (&p_value, &q_value))| Correlation {
            attribute: r.attribute.clone(),
            value: r.value.clone(),
            in_bucket: r.in_bucket,
            bucket_total: r.bucket_total,
            elsewhere: r.elsewhere,
            elsewhere_total: r.elsewhere_total,
            p_value,
            q_value,
        })
        .collect();
    out.sort_by(|a, b| {
        a.q_value
            .total_cmp(&b.q_value)
            .then(a.p_value.total_cmp(&b.p_value))
            .then_with(|| a.attribute.cmp(&b.attribute))
            .then_with(|| a.value.cmp(&b.value))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(attribute: &str, value: &str, i: u64, it: u64, e: u64, et: u64) -> AttributeCounts {
        AttributeCounts {
            attribute: attribute.into(),
            value: value.into(),
            in_bucket: i,
            bucket_total: it,
            elsewhere: e,
            elsewhere_total: et,
        }
    }

    // python3 -c "
    // from scipy.stats import fisher_exact, false_discovery_control as f
    // t=[(18,20,10,80),(2,20,70,80),(5,20,20,80)]
    // p=[fisher_exact([[a,b-a],[c,d-c]]).pvalue for a,b,c,d in t]; print([repr(x) for x in p], [repr(x) for x in f(p)])"
    #[test]
    fn correlate_matches_scipy() {
        let rows = [
            row("os_build", "24A335", 18, 20, 10, 80),
            row("os_build", "23H124", 2, 20, 70, 80),
            row("model", "Mac14,2", 5, 20, 20, 80),
        ];
        let out = correlate(&rows).unwrap();
        let find = |v: &str| out.iter().find(|c| c.value == v).unwrap();
        let expect = [
            ("24A335", 6.351516846381252e-11, 9.52727526957188e-11),
            ("23H124", 6.351516846381253e-11, 9.52727526957188e-11),
            ("Mac14,2", 1.0, 1.0),
        ];
        for (value, p, q) in expect {
            let c = find(value);
            assert!(
                (c.p_value - p).abs() <= 1e-9 * p,
                "{value} p {} vs {p}",
                c.p_value
            );
            assert!(
                (c.q_value - q).abs() <= 1e-9 * q,
                "{value} q {} vs {q}",
                c.q_value
            );
        }
        // Sorted by q: the last row is the uninformative model.
        assert_eq!(out[2].value, "Mac14,2");
        assert!(out.windows(2).all(|w| w[0].q_value <= w[1].q_value));
    }

    #[test]
    fn correlate_edges() {
        assert!(correlate(&[]).unwrap().is_empty());
        assert!(correlate(&[row("a", "b", 3, 2, 0, 0)]).is_err());
        let empty = correlate(&[row("a", "b", 0, 0, 0, 0)]).unwrap();
        assert_eq!(empty[0].p_value, 1.0);
        assert_eq!(empty[0].q_value, 1.0);
    }
}
