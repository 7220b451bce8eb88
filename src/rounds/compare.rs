//! Comparison of two sets of rounds (side A, usually the previous block or native, against
//! side B, the candidate): pass rates with Wilson intervals, Fisher's exact test with a plain
//! verdict, efficiency with the difference of means and its Welch interval, and crash buckets
//! as rates per 100 rounds with exact intervals, each tested between the sides and corrected
//! for the number of buckets compared. Round numbers the two selections share are recorded,
//! so a caller can warn that the sides are not independent.
//!
//! Pure: the caller (store/CLI) gathers [`RoundSummary`]s; rendering is the writeup's job.
//! Rates and interval bounds are fractions in `0..=1`, never percentages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::model::Outcome;
use crate::stats::buckets::{BucketSides, BucketTest, BucketVerdict};
use crate::stats::intervals::RatePer100;
use crate::stats::multiple::Correction;
use crate::stats::welch::WelchInterval;
use crate::stats::{self, StatsError, Summary};

/// One crash attributed to a round, as bucketed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrashBucket {
    /// The bucket's signature.
    pub signature: String,
    /// The known-pattern name, if a rule matched (e.g. `agx-null-impl-0x98`).
    pub pattern: Option<String>,
}

/// What the comparison needs to know about one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundSummary {
    /// Round number.
    pub number: i64,
    /// Its outcome.
    pub outcome: Outcome,
    /// Its efficiency figure, if any.
    pub efficiency: Option<f64>,
    /// One entry per crash report attributed to any of its attempts.
    pub crashes: Vec<CrashBucket>,
    /// Its fix name (`None`: native); with `fix_confirmed`, what decides whether it is left
    /// out as unconfirmed ([`super::handshake::partition`]).
    pub fix: Option<String>,
    /// Whether the fix confirmed it loaded (`None`: native or not known).
    pub fix_confirmed: Option<bool>,
    /// The host it ran on: with the number, its identity (docs/FLEET.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// Label for presentation (e.g. `v2.2 rounds 1790-1819`).
    pub label: String,
    /// Its rounds.
    pub rounds: Vec<RoundSummary>,
}

/// Crashes of one bucket on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketCount {
    /// The bucket's signature.
    pub signature: String,
    /// Its known-pattern name, if any.
    pub pattern: Option<String>,
    /// Number of crash reports in this bucket.
    pub count: u64,
    /// `count * 100 / rounds`.
    pub per_100_rounds: f64,
}

/// Figures of one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideStats {
    /// Number of rounds.
    pub rounds: u64,
    /// Rounds whose first attempt passed cleanly.
    pub raw_pass: u64,
    /// `raw_pass / rounds`.
    pub raw_rate: f64,
    /// 95% Wilson interval of the raw rate, `[low, high]`.
    pub raw_ci: [f64; 2],
    /// Rounds that passed on some attempt (raw passes included).
    pub eventual_pass: u64,
    /// `eventual_pass / rounds`.
    pub eventual_rate: f64,
    /// 95% Wilson interval of the eventual rate.
    pub eventual_ci: [f64; 2],
    /// Efficiency of the rounds that report one.
    pub efficiency: Summary,
    /// Crash buckets, most frequent first (ties by signature).
    pub buckets: Vec<BucketCount>,
}

/// The answer to "is B different from A?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// B's rate is higher and the difference is significant.
    Better,
    /// B's rate is lower and the difference is significant.
    Worse,
    /// Not distinguishable yet at this sample size.
    Inconclusive,
}

impl VerdictKind {
    /// `better`, `worse` or `inconclusive`.
    pub fn as_str(&self) -> &'static str {
        match self {
            VerdictKind::Better => "better",
            VerdictKind::Worse => "worse",
            VerdictKind::Inconclusive => "inconclusive",
        }
    }
}

/// A test of B's rate against A's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Fisher's exact two-sided p-value.
    pub p_value: f64,
    /// The verdict at [`stats::ALPHA`].
    pub verdict: VerdictKind,
    /// When inconclusive: rounds *per side in total* (not additional) at which Fisher's exact
    /// test has 80% power at alpha 0.05 to detect a difference of the observed size, computed
    /// exactly ([`stats::power::fixed_rounds_per_side`]). `None` when the verdict is not
    /// inconclusive, when the observed rates are equal (no number of rounds separates equal
    /// rates), or when no number up to [`ROUNDS_NEEDED_MAX`] per side would do (the wording
    /// then says "more than" that; [`rounds_needed_is_beyond_search`] tells the cases apart).
    pub rounds_needed: Option<u64>,
}

/// A full comparison of B against A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Side A's figures.
    pub a: SideStats,
    /// Side B's figures.
    pub b: SideStats,
    /// Raw pass rate, B vs A.
    pub raw: Verdict,
    /// Eventual pass rate, B vs A.
    pub eventual: Verdict,
    /// Buckets seen on B but not on A, with B's counts. Being new is not by itself a
    /// regression: [`Comparison::bucket_rates`] says when a test supports that.
    pub new_buckets: Vec<BucketCount>,
    /// Buckets seen on A but not on B (possibly fixed), with A's counts.
    pub gone_buckets: Vec<BucketCount>,
    /// Every bucket of either side as rates per 100 rounds with exact intervals, tested
    /// between the sides and corrected for the number of buckets ([`bucket_comparison`]).
    #[serde(default)]
    pub bucket_rates: BucketComparison,
    /// Efficiency of B minus efficiency of A, with Welch's 95% interval when both sides have
    /// at least two figures ([`efficiency_difference`]).
    #[serde(default)]
    pub efficiency_difference: EfficiencyDifference,
    /// Round numbers in both selections (ascending). Not empty: the sides are not
    /// independent samples, and the tests overstate what they can tell.
    #[serde(default)]
    pub shared_rounds: Vec<i64>,
}

/// Crash buckets of both sides compared as rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketComparison {
    /// The exact test between the sides (`crashes-given-rounds`: the conditional binomial
    /// test of two Poisson rates).
    pub test: BucketTest,
    /// The multiple-testing correction over the buckets compared (`holm`).
    pub correction: Correction,
    /// The level the corrected p-values are compared with.
    pub alpha: f64,
    /// One entry per bucket of either side: A's order, then B's new ones.
    pub buckets: Vec<BucketChange>,
}

impl Default for BucketComparison {
    fn default() -> Self {
        BucketComparison {
            test: BUCKET_TEST,
            correction: BUCKET_CORRECTION,
            alpha: stats::ALPHA,
            buckets: Vec::new(),
        }
    }
}

/// The test [`bucket_comparison`] uses.
pub const BUCKET_TEST: BucketTest = BucketTest::CrashesGivenRounds;
/// The correction [`bucket_comparison`] uses: Holm (family-wise), since one false
/// "regression" sends someone chasing a bug that is not there.
pub const BUCKET_CORRECTION: Correction = Correction::Holm;

/// Why no efficiency difference is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EfficiencyGap {
    /// A side has fewer than two efficiency figures.
    TooFewValues,
    /// Both sides are constant: no spread, so no interval.
    ZeroVariance,
    /// The figures are so large the standard error is not a finite number.
    NotFinite,
}

/// Efficiency of B minus efficiency of A.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EfficiencyDifference {
    /// How the interval is computed: always `welch` (Welch's t interval, unequal variances).
    pub method: DifferenceMethod,
    /// Efficiency figures on side A.
    pub n_a: usize,
    /// Efficiency figures on side B.
    pub n_b: usize,
    /// Mean of B minus mean of A with its 95% Welch interval; `None` with `missing` saying why.
    pub welch: Option<WelchInterval>,
    /// Why `welch` is `None`.
    pub missing: Option<EfficiencyGap>,
}

impl Default for EfficiencyDifference {
    fn default() -> Self {
        EfficiencyDifference {
            method: DifferenceMethod::Welch,
            n_a: 0,
            n_b: 0,
            welch: None,
            missing: Some(EfficiencyGap::TooFewValues),
        }
    }
}

/// The method of an interval for a difference of means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DifferenceMethod {
    /// Welch's t interval.
    Welch,
}

/// Errors of the comparison.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CompareError {
    /// A side has no rounds, so it has no rates.
    #[error("side {0:?} has no rounds")]
    EmptySide(String),
    /// Invalid counts reached the statistics.
    #[error(transparent)]
    Stats(#[from] StatsError),
}

impl CompareError {
    /// Short stable name for logs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            CompareError::EmptySide(_) => "empty-side",
            CompareError::Stats(e) => e.code(),
        }
    }
}

/// Figures of one side. Fails on a side without rounds.
pub fn side_stats(side: &Side) -> Result<SideStats, CompareError> {
    let rounds = side.rounds.len() as u64;
    if rounds == 0 {
        return Err(CompareError::EmptySide(side.label.clone()));
    }
    let raw_pass = side
        .rounds
        .iter()
        .filter(|r| r.outcome.is_raw_pass())
        .count() as u64;
    let eventual_pass = side
        .rounds
        .iter()
        .filter(|r| r.outcome.is_eventual_pass())
        .count() as u64;
    let efficiencies: Vec<f64> = side.rounds.iter().filter_map(|r| r.efficiency).collect();

    let mut buckets: BTreeMap<&str, (Option<&str>, u64)> = BTreeMap::new();
    for crash in side.rounds.iter().flat_map(|r| &r.crashes) {
        let entry = buckets.entry(crash.signature.as_str()).or_insert((None, 0));
        // The pattern is a property of the signature; keep the first one named.
        if entry.0.is_none() {
            entry.0 = crash.pattern.as_deref();
        }
        entry.1 += 1;
    }
    let mut buckets: Vec<BucketCount> = buckets
        .into_iter()
        .map(|(signature, (pattern, count))| BucketCount {
            signature: signature.to_string(),
            pattern: pattern.map(str::to_string),
            count,
            per_100_rounds: count as f64 * 100.0 / rounds as f64,
        })
        .collect();
    // Stable sort keeps the signature order among equal counts.
    buckets.sort_by_key(|b| std::cmp::Reverse(b.count));

    Ok(SideStats {
        rounds,
        raw_pass,
        raw_rate: raw_pass as f64 / rounds as f64,
        raw_ci: stats::wilson_95(raw_pass, rounds)?.as_array(),
        eventual_pass,
        eventual_rate: eventual_pass as f64 / rounds as f64,
        eventual_ci: stats::wilson_95(eventual_pass, rounds)?.as_array(),
        efficiency: stats::summarize(&efficiencies),
        buckets,
    })
}

/// The largest number of rounds per side the exact "rounds needed" search tries. The search
/// costs about n³ (0.3 s up to 300 in the dev profile), and a difference that needs more than
/// 300 rounds per side is too small to chase with verification rounds anyway.
pub const ROUNDS_NEEDED_MAX: u64 = 300;

/// Whether a verdict's missing `rounds_needed` means "more than [`ROUNDS_NEEDED_MAX`] per side"
/// (an inconclusive verdict between different rates) rather than "no difference to settle".
pub fn rounds_needed_is_beyond_search(v: &Verdict, rates_equal: bool) -> bool {
    v.verdict == VerdictKind::Inconclusive && v.rounds_needed.is_none() && !rates_equal
}

/// Test `pass_b` of `n_b` against `pass_a` of `n_a`: Fisher's exact two-sided test at alpha
/// 0.05; B is better or worse when p < 0.05, otherwise inconclusive with the rounds per side
/// that a difference of the observed size would need.
///
/// Public so a writeup can also compare across kinds of rate, e.g. A's raw rate against B's
/// eventual rate.
pub fn verdict(pass_a: u64, n_a: u64, pass_b: u64, n_b: u64) -> Result<Verdict, CompareError> {
    let p_value = stats::fisher_rates(pass_a, n_a, pass_b, n_b)?;
    let rate = |k: u64, n: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let (rate_a, rate_b) = (rate(pass_a, n_a), rate(pass_b, n_b));
    let kind = if p_value < stats::ALPHA && rate_b > rate_a {
        VerdictKind::Better
    } else if p_value < stats::ALPHA && rate_b < rate_a {
        VerdictKind::Worse
    } else {
        VerdictKind::Inconclusive
    };
    let rounds_needed = match kind {
        VerdictKind::Inconclusive => stats::power::fixed_rounds_per_side(
            rate_a,
            rate_b,
            stats::ALPHA,
            stats::POWER,
            ROUNDS_NEEDED_MAX,
        )?,
        _ => None,
    };
    Ok(Verdict {
        p_value,
        verdict: kind,
        rounds_needed,
    })
}

/// Compare side B against side A.
pub fn compare(a: &Side, b: &Side) -> Result<Comparison, CompareError> {
    let sa = side_stats(a)?;
    let sb = side_stats(b)?;
    let raw = verdict(sa.raw_pass, sa.rounds, sb.raw_pass, sb.rounds)?;
    let eventual = verdict(sa.eventual_pass, sa.rounds, sb.eventual_pass, sb.rounds)?;
    let only_in = |x: &SideStats, y: &SideStats| -> Vec<BucketCount> {
        x.buckets
            .iter()
            .filter(|bx| !y.buckets.iter().any(|by| by.signature == bx.signature))
            .cloned()
            .collect()
    };
    let new_buckets = only_in(&sb, &sa);
    let gone_buckets = only_in(&sa, &sb);
    let bucket_rates = bucket_comparison(&sa, &sb)?;
    let efficiencies =
        |s: &Side| -> Vec<f64> { s.rounds.iter().filter_map(|r| r.efficiency).collect() };
    Ok(Comparison {
        a: sa,
        b: sb,
        raw,
        eventual,
        new_buckets,
        gone_buckets,
        bucket_rates,
        efficiency_difference: efficiency_difference(&efficiencies(a), &efficiencies(b)),
        shared_rounds: shared_rounds(a, b),
    })
}

/// Numbers of the rounds present in both sides, ascending and distinct. A round is (host,
/// number): two machines' round 1825 on either side are two rounds, not one shared.
pub fn shared_rounds(a: &Side, b: &Side) -> Vec<i64> {
    let in_a: std::collections::BTreeSet<(Option<&str>, i64)> = a
        .rounds
        .iter()
        .map(|r| (r.host.as_deref(), r.number))
        .collect();
    let shared: std::collections::BTreeSet<i64> = b
        .rounds
        .iter()
        .filter(|r| in_a.contains(&(r.host.as_deref(), r.number)))
        .map(|r| r.number)
        .collect();
    shared.into_iter().collect()
}

/// Mean efficiency of B minus A with Welch's 95% interval ([`stats::welch::welch_95`]);
/// without a number when a side has fewer than two finite figures or both are constant.
pub fn efficiency_difference(a: &[f64], b: &[f64]) -> EfficiencyDifference {
    let finite = |v: &[f64]| v.iter().filter(|x| x.is_finite()).count();
    let (n_a, n_b) = (finite(a), finite(b));
    let (welch, missing) = match stats::welch::welch_95(a, b) {
        Ok(w) => (Some(w), None),
        Err(StatsError::ZeroVariance) => (None, Some(EfficiencyGap::ZeroVariance)),
        Err(StatsError::TooFewValues { .. }) => (None, Some(EfficiencyGap::TooFewValues)),
        Err(_) => (None, Some(EfficiencyGap::NotFinite)),
    };
    EfficiencyDifference {
        method: DifferenceMethod::Welch,
        n_a,
        n_b,
        welch,
        missing,
    }
}

/// What may be said about one bucket between the two sides of a [`Comparison`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketChange {
    /// The bucket's signature.
    pub signature: String,
    /// Its known-pattern name, if any.
    pub pattern: Option<String>,
    /// Crash reports of the bucket on side A.
    pub count_a: u64,
    /// Crash reports per 100 rounds on side A.
    pub per_100_a: f64,
    /// Crash reports of the bucket on side B.
    pub count_b: u64,
    /// Crash reports per 100 rounds on side B.
    pub per_100_b: f64,
    /// Side A's rate per 100 rounds with its exact 95% (Garwood) interval.
    pub rate_a: RatePer100,
    /// Side B's rate per 100 rounds with its exact 95% (Garwood) interval.
    pub rate_b: RatePer100,
    /// Raw two-sided p-value of the conditional exact test of the two rates.
    pub p_value: f64,
    /// The p-value corrected for the number of buckets compared
    /// ([`BucketComparison::correction`]).
    pub adjusted_p: f64,
    /// "Regression" or "fixed" only when the adjusted test supports it.
    pub verdict: BucketVerdict,
}

/// Every bucket of either side (A's order, then B's new ones), tested as crash rates per
/// round: the conditional exact test of two Poisson rates, Holm-corrected over all the
/// buckets ([`stats::buckets::assess_buckets`]). A bucket going from 0 to 1 crash is "seen
/// only in B, not distinguishable yet", not a regression.
pub fn bucket_comparison(a: &SideStats, b: &SideStats) -> Result<BucketComparison, CompareError> {
    let mut keys: Vec<(&str, Option<&str>)> = Vec::new();
    for bucket in a.buckets.iter().chain(&b.buckets) {
        if !keys.iter().any(|(s, _)| *s == bucket.signature) {
            keys.push((&bucket.signature, bucket.pattern.as_deref()));
        }
    }
    let find = |side: &SideStats, sig: &str| -> (u64, f64) {
        side.buckets
            .iter()
            .find(|x| x.signature == sig)
            .map(|x| (x.count, x.per_100_rounds))
            .unwrap_or((0, 0.0))
    };
    let sides: Vec<BucketSides> = keys
        .iter()
        .map(|(sig, _)| {
            let (xa, xb) = (find(a, sig).0, find(b, sig).0);
            BucketSides {
                crashes_a: xa,
                // The conditional test uses crash counts only; rounds hit are not known here
                // and only bounded-checked, so the count (capped at the rounds) stands in.
                hit_rounds_a: xa.min(a.rounds),
                rounds_a: a.rounds,
                crashes_b: xb,
                hit_rounds_b: xb.min(b.rounds),
                rounds_b: b.rounds,
            }
        })
        .collect();
    let assessed =
        stats::buckets::assess_buckets(&sides, BUCKET_TEST, BUCKET_CORRECTION, stats::ALPHA)?;
    let buckets = keys
        .iter()
        .zip(assessed)
        .map(|((sig, pattern), x)| {
            let (count_a, per_100_a) = find(a, sig);
            let (count_b, per_100_b) = find(b, sig);
            BucketChange {
                signature: sig.to_string(),
                pattern: pattern.map(str::to_string),
                count_a,
                per_100_a,
                count_b,
                per_100_b,
                rate_a: x.rate_a,
                rate_b: x.rate_b,
                p_value: x.p_value,
                adjusted_p: x.adjusted_p,
                verdict: x.verdict,
            }
        })
        .collect();
    Ok(BucketComparison {
        buckets,
        ..BucketComparison::default()
    })
}

/// The bucket changes of a comparison, recomputed from its sides' counts (the same figures
/// as [`Comparison::bucket_rates`]).
pub fn bucket_changes(c: &Comparison) -> Result<Vec<BucketChange>, CompareError> {
    Ok(bucket_comparison(&c.a, &c.b)?.buckets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn rounds(start: i64, outcomes: &[(Outcome, usize)]) -> Vec<RoundSummary> {
        let mut out = Vec::new();
        for &(outcome, n) in outcomes {
            for _ in 0..n {
                out.push(RoundSummary {
                    number: start + out.len() as i64,
                    outcome,
                    efficiency: None,
                    crashes: Vec::new(),
                    fix: None,
                    fix_confirmed: None,
                    host: None,
                });
            }
        }
        out
    }

    fn side(label: &str, rounds: Vec<RoundSummary>) -> Side {
        Side {
            label: label.into(),
            rounds,
        }
    }

    fn crash(sig: &str, pattern: Option<&str>) -> CrashBucket {
        CrashBucket {
            signature: sig.into(),
            pattern: pattern.map(Into::into),
        }
    }

    // Regression: "v2.3 gives 100% stability" from 20/20 after "v2.3 is counterproductive"
    // from 18/20. Fisher p = 0.4872 (scipy: fisher_exact([[20,0],[18,2]]).pvalue =
    // 0.48717948717948717). Rounds needed: the exact figure, 78 per side (Fleiss' normal
    // approximation, used before, said 93). Independent check, exact enumeration with
    // scipy's own Fisher test:
    // python3 -c "
    // from scipy.stats import fisher_exact, binom
    // def pw(p1,p2,n): return sum(binom.pmf(x,n,p1)*binom.pmf(y,n,p2) for x in range(n+1) for y in range(n+1) if fisher_exact([[x,n-x],[y,n-y]]).pvalue<=0.05)
    // print(pw(1.0,0.9,77), pw(1.0,0.9,78))"  -> 0.7941... 0.8041...
    #[test]
    fn twenty_of_twenty_vs_eighteen_is_inconclusive() {
        let v = verdict(20, 20, 18, 20).unwrap();
        assert_eq!(v.verdict, VerdictKind::Inconclusive);
        assert!(close(v.p_value, 0.487_179_487_179_487_17));
        assert_eq!(v.rounds_needed, Some(78));
    }

    // python3 -c "from scipy.stats import fisher_exact; print(fisher_exact([[3,2],[20,0]]).pvalue)"
    // -> 0.03333333333333333: significant at 0.05, B better.
    #[test]
    fn three_of_five_vs_twenty_of_twenty() {
        let v = verdict(3, 5, 20, 20).unwrap();
        assert!(close(v.p_value, 1.0 / 30.0), "{}", v.p_value);
        assert_eq!(v.verdict, VerdictKind::Better);
        assert_eq!(v.rounds_needed, None);
        let w = verdict(20, 20, 3, 5).unwrap();
        assert_eq!(w.verdict, VerdictKind::Worse);
        assert!(close(w.p_value, v.p_value));
    }

    // python3 -c "from scipy.stats import fisher_exact; print(fisher_exact([[15,15],[29,1]]).pvalue)"
    // -> 6.415347065416128e-05
    #[test]
    fn raw_fifteen_of_thirty_vs_eventual_twenty_nine() {
        let v = verdict(15, 30, 29, 30).unwrap();
        assert_eq!(v.verdict, VerdictKind::Better);
        assert!((v.p_value - 6.415_347_065_416_128e-5).abs() < 1e-15);
    }

    #[test]
    fn equal_rates_need_no_rounds_number() {
        let v = verdict(20, 20, 20, 20).unwrap();
        assert_eq!(v.verdict, VerdictKind::Inconclusive);
        assert_eq!(v.p_value, 1.0);
        assert_eq!(v.rounds_needed, None);
        let v = verdict(5, 10, 10, 20).unwrap();
        assert_eq!(v.rounds_needed, None);
    }

    /// The seed block (verification rounds 1820-1849 and their retried rerun 1850-1879):
    /// A = 30 raw rounds, 15 passes; B = 30 rounds with 3 retries, 29 eventual passes, and an
    /// efficiency figure on 20 of them with mean 14.4, min 13.4, max 15.1.
    fn seed_block() -> (Side, Side) {
        let mut a = rounds(1820, &[(Outcome::RawPass, 15), (Outcome::Fail, 15)]);
        // Crashes of the failed raw rounds: 0x98 (8), 0x5c8 (4), objc_msgSend UAF (3).
        for (i, r) in a.iter_mut().skip(15).enumerate() {
            r.crashes.push(match i {
                0..=7 => crash(
                    "AGX::ComputeContext::prepareForEnqueue",
                    Some("agx-null-impl-0x98"),
                ),
                8..=11 => crash(
                    "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
                    Some("agx-null-impl-0x5c8"),
                ),
                _ => crash(
                    "objc_msgSend | -[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]",
                    Some("freed-encoder"),
                ),
            });
        }
        let mut b = rounds(
            1850,
            &[
                (Outcome::RawPass, 14),
                (Outcome::EventualPass, 15),
                (Outcome::Fail, 1),
            ],
        );
        // Efficiencies of rounds 1860-1879 (the last 20).
        const EFF: [f64; 20] = [
            14.2, 14.5, 13.4, 14.6, 14.4, 14.7, 14.1, 14.8, 14.4, 14.5, 14.3, 14.6, 14.2, 15.1,
            14.0, 14.5, 14.4, 14.6, 14.3, 14.4,
        ];
        for (r, e) in b.iter_mut().skip(10).zip(EFF) {
            r.efficiency = Some(e);
        }
        // Each retried round crashed once before passing; the failed round crashed three times.
        for r in b.iter_mut().skip(14) {
            let n = if r.outcome == Outcome::Fail { 3 } else { 1 };
            for k in 0..n {
                r.crashes.push(if k == 0 && r.number % 2 == 0 {
                    crash(
                        "AGX::ComputeContext::prepareForEnqueue",
                        Some("agx-null-impl-0x98"),
                    )
                } else {
                    crash(
                        "objc_msgSend | -[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]",
                        Some("freed-encoder"),
                    )
                });
            }
        }
        b[29].crashes.push(crash(
            "AGX::SpillInfoGen3::allocateUSCSpillBuffer",
            Some("agx-null-0x184-write"),
        ));
        (
            side("v2.3 raw 1820-1849", a),
            side("v2.3 retry 1850-1879", b),
        )
    }

    // Expected figures, computed independently:
    // python3 -c "
    // import statistics as s; from scipy.stats import binomtest
    // v=[14.2,14.5,13.4,14.6,14.4,14.7,14.1,14.8,14.4,14.5,14.3,14.6,14.2,15.1,14.0,14.5,14.4,14.6,14.3,14.4]
    // print(len(v), s.mean(v), s.median(v), min(v), max(v), s.stdev(v))
    // for k in (15,14,29): ci=binomtest(k,30).proportion_ci(method='wilson'); print(k, ci.low, ci.high)"
    // -> 20 14.4 14.4 13.4 15.1 0.3433580301115808
    //    15 0.3315412564053377 0.6684587435946623
    //    14 0.30232388907699753 0.638577003801267
    //    29 0.8332960900859083 0.9940914096183875
    #[test]
    fn seed_block_figures() {
        let (a, b) = seed_block();
        let c = compare(&a, &b).unwrap();

        assert_eq!((c.a.rounds, c.a.raw_pass, c.a.eventual_pass), (30, 15, 15));
        assert!(close(c.a.raw_rate, 0.5));
        assert!(close(c.a.raw_ci[0], 0.331_541_256_405_337_7));
        assert!(close(c.a.raw_ci[1], 0.668_458_743_594_662_3));

        assert_eq!((c.b.rounds, c.b.raw_pass, c.b.eventual_pass), (30, 14, 29));
        assert!(close(c.b.eventual_rate, 29.0 / 30.0));
        assert!(close(c.b.eventual_ci[0], 0.833_296_090_085_908_3));
        assert!(close(c.b.eventual_ci[1], 0.994_091_409_618_387_5));
        assert!(close(c.b.raw_ci[0], 0.302_323_889_076_997_53));
        assert!(close(c.b.raw_ci[1], 0.638_577_003_801_267));

        let e = &c.b.efficiency;
        assert_eq!(e.n, 20);
        assert!(close(e.mean.unwrap(), 14.4));
        assert!(close(e.median.unwrap(), 14.4));
        assert_eq!((e.min, e.max), (Some(13.4), Some(15.1)));
        assert!(close(e.sd.unwrap(), 0.343_358_030_111_580_8));
        assert_eq!(c.a.efficiency.n, 0);

        // The raw rates (15/30 vs 14/30) cannot be told apart; the eventual rates can.
        assert_eq!(c.raw.verdict, VerdictKind::Inconclusive);
        // 0.5 vs 14/30 needs thousands of rounds per side (Fleiss' approximation: 3587), more
        // than the exact search tries: no figure, and the wording says "more than 300".
        assert_eq!(c.raw.rounds_needed, None);
        assert!(rounds_needed_is_beyond_search(&c.raw, false));
        assert_eq!(c.eventual.verdict, VerdictKind::Better);
        assert!((c.eventual.p_value - 6.415_347_065_416_128e-5).abs() < 1e-15);

        // Buckets: A 8 + 4 + 3 crashes over 30 rounds.
        let counts: Vec<(u64, f64)> =
            c.a.buckets
                .iter()
                .map(|b| (b.count, b.per_100_rounds))
                .collect();
        assert_eq!(counts.len(), 3);
        assert_eq!(counts[0].0, 8);
        assert!(close(counts[0].1, 800.0 / 30.0));
        assert_eq!(
            c.new_buckets
                .iter()
                .map(|b| b.pattern.as_deref())
                .collect::<Vec<_>>(),
            vec![Some("agx-null-0x184-write")]
        );
        assert_eq!(
            c.gone_buckets
                .iter()
                .map(|b| b.pattern.as_deref())
                .collect::<Vec<_>>(),
            vec![Some("agx-null-impl-0x5c8")]
        );
        insta::assert_json_snapshot!(c);
    }

    fn side_with_crashes(label: &str, n: usize, crashes: usize, sig: &str) -> Side {
        let mut r = rounds(
            1,
            &[(Outcome::RawPass, n - crashes), (Outcome::Fail, crashes)],
        );
        for x in r.iter_mut().skip(n - crashes) {
            x.crashes.push(crash(sig, None));
        }
        side(label, r)
    }

    // Regression: `compare` called a bucket going from 0 to 1 crash "new in B (regression)".
    // One crash in 30 rounds against none in 30 is p = 1; twelve is p = 0.00049 (scipy:
    // binomtest(0, 12, 0.5).pvalue = 0.00048828125), a regression even after Holm.
    #[test]
    fn one_new_crash_is_not_a_regression() {
        let c = compare(
            &side_with_crashes("a", 30, 0, "x"),
            &side_with_crashes("b", 30, 1, "new"),
        )
        .unwrap();
        let ch = bucket_changes(&c).unwrap();
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].verdict, BucketVerdict::OnlyInBNotDistinguishable);
        assert_eq!((ch[0].count_a, ch[0].count_b), (0, 1));

        let c = compare(
            &side_with_crashes("a", 30, 0, "x"),
            &side_with_crashes("b", 30, 12, "new"),
        )
        .unwrap();
        let ch = bucket_changes(&c).unwrap();
        assert_eq!(ch[0].verdict, BucketVerdict::Regression);
        assert!((ch[0].adjusted_p - 0.000_488_281_25).abs() < 1e-12);
    }

    #[test]
    fn bucket_changes_cover_both_sides_in_order() {
        let (a, b) = seed_block();
        let c = compare(&a, &b).unwrap();
        let ch = bucket_changes(&c).unwrap();
        let names: Vec<_> = ch.iter().map(|x| x.pattern.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            [
                "agx-null-impl-0x98",
                "agx-null-impl-0x5c8",
                "freed-encoder",
                "agx-null-0x184-write"
            ]
        );
        // 0x184 is one crash only in B: not distinguishable.
        assert_eq!(ch[3].verdict, BucketVerdict::OnlyInBNotDistinguishable);
    }

    // Every bucket carries both rates with Garwood intervals; the figures are those of
    // stats::intervals (checked against scipy there): 8 crashes in 30 rounds is 26.7 per 100,
    // interval chi2.ppf(0.025,16)/2*100/30 .. chi2.ppf(0.975,18)/2*100/30:
    // python3 -c "from scipy.stats import chi2; print(chi2.ppf(0.025,16)/2*100/30, chi2.ppf(0.975,18)/2*100/30)"
    // -> 11.512... 52.54...
    #[test]
    fn bucket_rates_carry_exact_intervals() {
        let (a, b) = seed_block();
        let c = compare(&a, &b).unwrap();
        assert_eq!(c.bucket_rates, bucket_comparison(&c.a, &c.b).unwrap());
        assert_eq!(c.bucket_rates.correction, Correction::Holm);
        let x98 = &c.bucket_rates.buckets[0];
        assert_eq!(x98.pattern.as_deref(), Some("agx-null-impl-0x98"));
        assert!(close(x98.rate_a.per_100, 800.0 / 30.0));
        assert!((x98.rate_a.low - 11.512).abs() < 1e-3, "{:?}", x98.rate_a);
        assert!((x98.rate_a.high - 52.54).abs() < 1e-2, "{:?}", x98.rate_a);
        assert!(x98.adjusted_p >= x98.p_value);
        assert!(c.shared_rounds.is_empty());
    }

    // Figures from stats::welch's own scipy check (welch_matches_scipy):
    // a = [14.6, 13.9, 15.1, 14.2], b = [15.8, 16.4, 15.1, 17.0, 16.2] ->
    // difference 1.65, 95% interval 0.6817111321624609 .. 2.6182888678375433,
    // p = 0.00501346048694641 (scipy.stats.ttest_ind(b, a, equal_var=False)).
    #[test]
    fn efficiency_difference_is_welch_or_says_why_not() {
        let d = efficiency_difference(&[14.6, 13.9, 15.1, 14.2], &[15.8, 16.4, 15.1, 17.0, 16.2]);
        let w = d.welch.unwrap();
        assert_eq!((d.n_a, d.n_b, d.missing), (4, 5, None));
        assert!(close(w.difference, 1.65));
        assert!((w.low - 0.681_711_132_162_460_9).abs() < 1e-9);
        assert!((w.high - 2.618_288_867_837_543_3).abs() < 1e-9);
        assert!((w.p_value - 0.005_013_460_486_946_41).abs() < 1e-9);

        let one = efficiency_difference(&[14.0], &[15.0, 16.0]);
        assert_eq!(one.welch, None);
        assert_eq!(one.missing, Some(EfficiencyGap::TooFewValues));
        assert_eq!((one.n_a, one.n_b), (1, 2));
        let flat = efficiency_difference(&[14.0, 14.0], &[15.0, 15.0]);
        assert_eq!(flat.missing, Some(EfficiencyGap::ZeroVariance));
        // A non-finite figure is left out, not counted.
        let nan = efficiency_difference(&[14.0, f64::NAN], &[15.0, 16.0]);
        assert_eq!(
            (nan.n_a, nan.missing),
            (1, Some(EfficiencyGap::TooFewValues))
        );
        let huge = efficiency_difference(&[f64::MAX, -f64::MAX], &[1.0, 2.0]);
        assert!(huge.welch.is_none() || huge.welch.unwrap().low.is_finite());

        // Through compare: the seed block has figures on B only.
        let (a, b) = seed_block();
        let c = compare(&a, &b).unwrap();
        assert_eq!(c.efficiency_difference.n_a, 0);
        assert_eq!(c.efficiency_difference.n_b, 20);
        assert_eq!(
            c.efficiency_difference.missing,
            Some(EfficiencyGap::TooFewValues)
        );
    }

    #[test]
    fn shared_rounds_are_found() {
        let a = side("a", rounds(10, &[(Outcome::RawPass, 10)]));
        let b = side("b", rounds(15, &[(Outcome::RawPass, 10)]));
        assert_eq!(shared_rounds(&a, &b), vec![15, 16, 17, 18, 19]);
        assert_eq!(compare(&a, &b).unwrap().shared_rounds.len(), 5);
        let c = side("c", rounds(100, &[(Outcome::RawPass, 3)]));
        assert!(shared_rounds(&a, &c).is_empty());
    }

    // Regression: two machines' rounds with the same numbers were taken for shared rounds
    // (`compare --a fix:v2.4,host:mac-a --b fix:v2.4,host:mac-b` warned the sides overlap).
    #[test]
    fn the_same_numbers_on_two_hosts_are_not_shared() {
        let on = |host: &str| {
            let mut r = rounds(10, &[(Outcome::RawPass, 5)]);
            for x in &mut r {
                x.host = Some(host.into());
            }
            r
        };
        let a = side("a", on("mac-a"));
        let b = side("b", on("mac-b"));
        assert!(shared_rounds(&a, &b).is_empty());
        let a2 = side("a2", on("mac-a"));
        assert_eq!(shared_rounds(&a, &a2), vec![10, 11, 12, 13, 14]);
    }

    #[test]
    fn empty_side_is_an_error() {
        let err = compare(
            &side("a", vec![]),
            &side("b", rounds(1, &[(Outcome::Fail, 1)])),
        )
        .unwrap_err();
        assert_eq!(err, CompareError::EmptySide("a".into()));
        assert_eq!(err.code(), "empty-side");
    }

    #[test]
    fn serialized_keys_are_exact() {
        let (a, b) = seed_block();
        let c = compare(&a, &b).unwrap();
        let v = serde_json::to_value(&c).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(
            keys(&v),
            [
                "a",
                "b",
                "bucket_rates",
                "efficiency_difference",
                "eventual",
                "gone_buckets",
                "new_buckets",
                "raw",
                "shared_rounds"
            ]
        );
        assert_eq!(
            keys(&v["bucket_rates"]),
            ["alpha", "buckets", "correction", "test"]
        );
        assert_eq!(v["bucket_rates"]["correction"], "holm");
        assert_eq!(v["bucket_rates"]["test"], "crashes-given-rounds");
        assert_eq!(
            keys(&v["bucket_rates"]["buckets"][0]),
            [
                "adjusted_p",
                "count_a",
                "count_b",
                "p_value",
                "pattern",
                "per_100_a",
                "per_100_b",
                "rate_a",
                "rate_b",
                "signature",
                "verdict"
            ]
        );
        assert_eq!(
            keys(&v["bucket_rates"]["buckets"][0]["rate_a"]),
            ["high", "low", "per_100"]
        );
        assert_eq!(
            keys(&v["efficiency_difference"]),
            ["method", "missing", "n_a", "n_b", "welch"]
        );
        assert_eq!(
            keys(&v["a"]),
            [
                "buckets",
                "efficiency",
                "eventual_ci",
                "eventual_pass",
                "eventual_rate",
                "raw_ci",
                "raw_pass",
                "raw_rate",
                "rounds"
            ]
        );
        assert_eq!(keys(&v["raw"]), ["p_value", "rounds_needed", "verdict"]);
        assert_eq!(v["eventual"]["verdict"], "better");
        assert_eq!(
            keys(&v["b"]["efficiency"]),
            ["max", "mean", "median", "min", "n", "sd"]
        );
        assert_eq!(
            keys(&v["a"]["buckets"][0]),
            ["count", "pattern", "per_100_rounds", "signature"]
        );
    }
}
