//! Number formatting and the sentences a writeup says, derived from the model only.
//!
//! This is where over-claiming is prevented: a comparison sentence is chosen by the verdict the
//! statistics module computed, never by looking at which rate is higher. "Better" and "worse"
//! appear only when the verdict says so; otherwise the two sides are "not distinguishable yet"
//! and the sentence says how many more rounds would tell. Words such as "stable", "improved",
//! "100% stability" or "counterproductive" are never produced. Sentences are plain text (no
//! markdown) so the JSON output carries exactly what the markdown shows.

use super::model::{Comparison, RateRow, SideStats, Verdict, VerdictKind, Writeup};
use crate::rounds::compare::{BucketComparison, EfficiencyGap, ROUNDS_NEEDED_MAX};
use crate::stats::buckets::{BucketTest, BucketVerdict};
use crate::stats::intervals::RatePer100;

/// A fraction as a percentage with one decimal: `0.5` → `50.0%`; not finite → `n/a`.
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "n/a".to_string()
    }
}

/// A 95% interval of fractions: `[0.3315, 0.6685]` → `33.2–66.8%` (en dash).
pub fn ci(ci: [f64; 2]) -> String {
    if ci[0].is_finite() && ci[1].is_finite() {
        format!("{:.1}–{:.1}%", ci[0] * 100.0, ci[1] * 100.0)
    } else {
        "n/a".to_string()
    }
}

/// A figure that is already a percentage (efficiency): `14.4` → `14.4%`.
pub fn pct_value(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}%")
    } else {
        "n/a".to_string()
    }
}

/// An optional percentage figure (a [`crate::stats::Summary`] field): `None` → `n/a`.
pub fn pct_opt(x: Option<f64>) -> String {
    pct_value(x.unwrap_or(f64::NAN))
}

/// A standard deviation with two decimals; `None` (fewer than two values) → `n/a`.
pub fn sd_text(x: Option<f64>) -> String {
    match x {
        Some(d) if d.is_finite() => format!("{d:.2}"),
        _ => "n/a".to_string(),
    }
}

/// The spread `max − min` of a summary with one decimal, `n/a` when empty.
pub fn range_text(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => one_decimal(hi - lo),
        _ => "n/a".to_string(),
    }
}

/// A plain number with one decimal (crashes per 100 rounds, percentage points).
pub fn one_decimal(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "n/a".to_string()
    }
}

/// A p-value with two significant digits: `0.4872` → `0.49`, `0.0333` → `0.033`, `1.0` →
/// `1.0`; below 0.0001 → `< 0.0001`.
pub fn p_value(p: f64) -> String {
    if !p.is_finite() || p < 0.0 {
        return "n/a".to_string();
    }
    if p < 0.0001 {
        return "< 0.0001".to_string();
    }
    if p >= 1.0 {
        return "1.0".to_string();
    }
    // Two significant digits: the number of decimals depends on the magnitude. Rounding can
    // carry into the next magnitude (0.0996 → 0.10), which then needs one decimal less.
    let exp = p.log10().floor() as i32;
    let mut decimals = (1 - exp).max(0) as usize;
    let rounded: f64 = format!("{p:.decimals$}").parse().unwrap_or(p);
    if rounded >= 10f64.powi(exp + 1) && decimals > 0 {
        decimals -= 1;
    }
    format!("{p:.decimals$}")
}

/// `p = 0.49` or `p < 0.0001`, for use after "Fisher exact".
pub fn p_clause(p: f64) -> String {
    let s = p_value(p);
    if s.starts_with('<') {
        format!("p {s}")
    } else {
        format!("p = {s}")
    }
}

/// `50.0% (95% CI 33.2–66.8%, 15/30)`.
pub fn rate_with_ci(pass: u64, rounds: u64, rate: f64, interval: [f64; 2]) -> String {
    format!("{} (95% CI {}, {pass}/{rounds})", pct(rate), ci(interval))
}

/// [`rate_with_ci`] of a table row.
pub fn row_rate(r: &RateRow) -> String {
    rate_with_ci(r.pass, r.rounds, r.rate, r.ci)
}

/// The label of a verdict as tables show it.
pub fn verdict_label(v: VerdictKind) -> &'static str {
    match v {
        VerdictKind::Better => "better",
        VerdictKind::Worse => "worse",
        VerdictKind::Inconclusive => "not distinguishable yet",
    }
}

/// How many more rounds per side would settle an inconclusive comparison, as a clause.
///
/// `rounds_needed` is the total per side; what is printed is the difference to what each side
/// already ran, with the total in parentheses so nobody has to guess which one is meant.
pub fn rounds_clause(
    needed: Option<u64>,
    a_label: &str,
    a_rounds: u64,
    b_label: &str,
    b_rounds: u64,
    rates_equal: bool,
) -> String {
    let Some(needed) = needed else {
        return if rates_equal {
            "the observed rates are equal, so these rounds cannot size a difference to plan more \
             rounds for; equal rates are not evidence that the two behave the same"
                .to_string()
        } else {
            // The exact search stops at ROUNDS_NEEDED_MAX per side (rounds::compare).
            format!(
                "more than {ROUNDS_NEEDED_MAX} rounds per side would be needed to tell a \
                 difference this small"
            )
        };
    };
    let more_a = needed.saturating_sub(a_rounds);
    let more_b = needed.saturating_sub(b_rounds);
    match (more_a, more_b) {
        (0, 0) => format!(
            "a difference of this size would need about {needed} rounds per side, which both \
             sides have already run"
        ),
        (x, y) if x == y => {
            format!("about {x} more rounds per side would tell ({needed} per side in all)")
        }
        (0, y) => format!(
            "about {y} more rounds of {b_label} would tell ({needed} per side in all; \
             {a_label} already has {a_rounds})"
        ),
        (x, 0) => format!(
            "about {x} more rounds of {a_label} would tell ({needed} per side in all; \
             {b_label} already has {b_rounds})"
        ),
        (x, y) => format!(
            "about {x} more rounds of {a_label} and {y} more of {b_label} would tell \
             ({needed} per side in all)"
        ),
    }
}

/// One comparison sentence for one metric, worded by the verdict (b relative to a).
///
/// `metric` is lowercase, e.g. "raw pass rate".
pub fn verdict_sentence(
    metric: &str,
    a_label: &str,
    (a_pass, a_rounds, a_rate): (u64, u64, f64),
    b_label: &str,
    (b_pass, b_rounds, b_rate): (u64, u64, f64),
    v: &Verdict,
) -> String {
    let figures = format!(
        "{b_label} {}, {b_pass}/{b_rounds}; {a_label} {}, {a_pass}/{a_rounds}",
        pct(b_rate),
        pct(a_rate)
    );
    let p = p_clause(v.p_value);
    let head = capitalise(metric);
    match v.verdict {
        VerdictKind::Better | VerdictKind::Worse => format!(
            "{head}: {b_label} is {} than {a_label}, Fisher exact {p} ({figures}).",
            verdict_label(v.verdict)
        ),
        VerdictKind::Inconclusive => {
            // Equal counts out of equal rounds: no difference at all.
            let equal = a_pass * b_rounds == b_pass * a_rounds;
            format!(
                "{head}: {b_label} and {a_label} are not distinguishable yet ({figures}; \
                 Fisher exact {p}); {}.",
                rounds_clause(v.rounds_needed, a_label, a_rounds, b_label, b_rounds, equal)
            )
        }
    }
}

/// What a bucket comparison may say ([`crate::rounds::compare::BucketComparison`]): "regression"
/// or "fixed" only when the Holm-adjusted test supports it; a bucket going from 0 to 1 crash
/// is "seen only in B, not distinguishable yet".
pub fn bucket_change(v: BucketVerdict, a_label: &str, b_label: &str) -> String {
    match v {
        BucketVerdict::Regression => format!("regression: more frequent in {b_label}"),
        BucketVerdict::Fixed => format!("fixed: less frequent in {b_label}"),
        BucketVerdict::OnlyInBNotDistinguishable => {
            format!("seen only in {b_label}, not distinguishable yet")
        }
        BucketVerdict::OnlyInANotDistinguishable => {
            format!("seen only in {a_label}, not distinguishable yet")
        }
        BucketVerdict::NotDistinguishable => "no distinguishable change".to_string(),
        BucketVerdict::Absent => "not seen".to_string(),
    }
}

/// A crash rate per 100 rounds with its exact interval, for a table cell: `26.7 (11.5–52.5)`.
pub fn rate_per_100(r: &RatePer100) -> String {
    format!(
        "{} ({}–{})",
        one_decimal(r.per_100),
        one_decimal(r.low),
        one_decimal(r.high)
    )
}

/// How the bucket rates were compared, in one sentence: the interval, the test and the
/// correction (named), and when a verdict is given.
pub fn bucket_method(bc: &BucketComparison) -> String {
    let test = match bc.test {
        BucketTest::CrashesGivenRounds => {
            "the exact conditional binomial test of the two crash counts given the rounds"
        }
        BucketTest::RoundsHit => "Fisher's exact test on the rounds hit",
    };
    let n = bc.buckets.len();
    format!(
        "Crashes per 100 rounds with exact 95% (Garwood) intervals; each bucket's two sides \
         compared with {test}, p-values {}-corrected for the {n} {} compared; \"regression\" \
         and \"fixed\" only when the corrected p is below {}.",
        bc.correction.label(),
        plural(n as u64, "bucket", "buckets"),
        bc.alpha
    )
}

/// The efficiency of B against A: the difference of means with Welch's 95% interval, or why
/// there is no number (a side with fewer than two figures, or no spread on either side).
/// `None` when neither side has any efficiency figure.
pub fn efficiency_difference(c: &Comparison, a_label: &str, b_label: &str) -> Option<String> {
    let d = &c.efficiency_difference;
    if d.n_a == 0 && d.n_b == 0 {
        return None;
    }
    let figures = |n: usize| match n {
        0 => "no efficiency figures".to_string(),
        1 => "1 efficiency figure".to_string(),
        n => format!("{n} efficiency figures"),
    };
    let signed = |x: f64| {
        if x > 0.0 {
            format!("+{}", one_decimal(x))
        } else {
            one_decimal(x)
        }
    };
    Some(match (&d.welch, d.missing) {
        (Some(w), _) => format!(
            "Efficiency: {b_label} minus {a_label} is {} percentage points (95% Welch interval \
             {} to {}, Welch t-test {}; means {} and {}, n = {} and {}).",
            signed(w.difference),
            signed(w.low),
            signed(w.high),
            p_clause(w.p_value),
            pct_opt(c.b.efficiency.mean),
            pct_opt(c.a.efficiency.mean),
            w.n_b,
            w.n_a
        ),
        (None, Some(EfficiencyGap::ZeroVariance)) => format!(
            "Efficiency: not compared: every figure of {a_label} is {} and every figure of \
             {b_label} is {}, so there is no spread for Welch's interval.",
            pct_opt(c.a.efficiency.mean),
            pct_opt(c.b.efficiency.mean)
        ),
        (None, Some(EfficiencyGap::NotFinite)) => {
            "Efficiency: not compared: the figures are too large for a finite interval.".to_string()
        }
        (None, _) => format!(
            "Efficiency: not compared: {a_label} has {} and {b_label} has {}; Welch's \
             interval for the difference of means needs at least 2 on each side.",
            figures(d.n_a),
            figures(d.n_b)
        ),
    })
}

/// The warning when both selections hold some of the same rounds: `None` when they share none.
pub fn shared_rounds_warning(rounds: &[i64]) -> Option<String> {
    if rounds.is_empty() {
        return None;
    }
    // Consecutive numbers as ranges: 1820-1829, 1835.
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for &n in rounds {
        match ranges.last_mut() {
            Some((_, hi)) if n == *hi + 1 => *hi = n,
            _ => ranges.push((n, n)),
        }
    }
    let shown: Vec<String> = ranges
        .iter()
        .take(8)
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    let more = if ranges.len() > 8 { ", ..." } else { "" };
    Some(format!(
        "the two selections share {} {} ({}{more}): the sides are not independent, so the \
         tests overstate what they can tell; choose selections without common rounds",
        rounds.len(),
        plural(rounds.len() as u64, "round", "rounds"),
        shown.join(", ")
    ))
}

/// A share as a table shows it: `4/5 (80%)`; `-` of nothing.
pub fn share(k: u64, n: u64) -> String {
    if n == 0 {
        "-".to_string()
    } else {
        format!("{k}/{n} ({:.0}%)", 100.0 * k as f64 / n as f64)
    }
}

/// The line over a bucket's correlation table: what was counted and tested.
pub fn correlations_intro(c: &super::model::BucketCorrelations) -> String {
    format!(
        "What sets this bucket's crashes apart: the attribute values with the smallest \
         Benjamini-Hochberg q among the {} tested, over the {} crash {} of the bucket and the \
         {} other crash {} in the database (Fisher's exact test; agx-triage correlate lists \
         them all).",
        c.values_tested,
        c.bucket_reports,
        plural(c.bucket_reports, "report", "reports"),
        c.other_reports,
        plural(c.other_reports, "report", "reports")
    )
}

/// What the top correlations may be taken to say.
pub fn correlations_verdict(c: &super::model::BucketCorrelations) -> String {
    match c.top.first() {
        Some(best) if best.q_value < crate::stats::ALPHA => format!(
            "A q below {}: the value is more (or less) common in the bucket than elsewhere \
             beyond what chance explains across the values tested; a correlation, not a cause.",
            crate::stats::ALPHA
        ),
        Some(best) => format!(
            "No value stands out (smallest q = {}): these differences are within chance.",
            p_value(best.q_value)
        ),
        None => "No attribute values were recorded.".to_string(),
    }
}

/// Whether a comparison's eventual figures add nothing to the raw ones (no round passed on a
/// retry on either side), so one sentence covers both.
fn eventual_same_as_raw(c: &Comparison) -> bool {
    c.a.raw_pass == c.a.eventual_pass
        && c.b.raw_pass == c.b.eventual_pass
        && c.raw.verdict == c.eventual.verdict
}

/// The comparison sentences: raw, then eventual (or one when they coincide). The one wording
/// of a verdict: `compare` prints these (sides labelled `A` and `B`), writeups show them, and
/// docs/GUIDE.md and docs/WRITEUPS.md quote them.
pub fn comparison_sentences(c: &Comparison, a_label: &str, b_label: &str) -> Vec<String> {
    let side_raw = |s: &SideStats| (s.raw_pass, s.rounds, s.raw_rate);
    let side_ev = |s: &SideStats| (s.eventual_pass, s.rounds, s.eventual_rate);
    if eventual_same_as_raw(c) {
        return vec![verdict_sentence(
            "pass rate (no round passed on a retry, so raw and eventual are the same)",
            a_label,
            side_raw(&c.a),
            b_label,
            side_raw(&c.b),
            &c.raw,
        )];
    }
    vec![
        verdict_sentence(
            "raw pass rate",
            a_label,
            side_raw(&c.a),
            b_label,
            side_raw(&c.b),
            &c.raw,
        ),
        verdict_sentence(
            "eventual pass rate (with retries)",
            a_label,
            side_ev(&c.a),
            b_label,
            side_ev(&c.b),
            &c.eventual,
        ),
    ]
}

/// The date range of a block, `2025-12-22 14:05 – 2025-12-23 09:40 UTC`, if recorded.
pub fn date_range(b: &super::model::Block) -> Option<String> {
    let f = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    match (&b.started_at, &b.finished_at) {
        (Some(s), Some(e)) => Some(format!("{} – {} UTC", f(s), f(e))),
        (Some(s), None) => Some(format!("from {} UTC", f(s))),
        (None, Some(e)) => Some(format!("until {} UTC", f(e))),
        (None, None) => None,
    }
}

/// A bucket's short name: its pattern id, else its signature cut to 60 characters.
pub fn bucket_name(pattern: Option<&str>, signature: &str) -> String {
    match pattern {
        Some(p) => p.to_string(),
        None => {
            let mut s: String = signature.chars().take(60).collect();
            if signature.chars().count() > 60 {
                s.push('…');
            }
            s
        }
    }
}

fn fix_phrase(w: &Writeup) -> String {
    let used: Vec<_> = w.fixes.iter().filter(|f| f.in_block).collect();
    match used.len() {
        0 => "without a fix dylib (native)".to_string(),
        1 => format!("with fix {}", used[0].name),
        _ => {
            let names: Vec<&str> = used.iter().map(|f| f.name.as_str()).collect();
            format!("with fix versions {}", names.join(", "))
        }
    }
}

fn attempts_phrase(w: &Writeup) -> String {
    match w.max_attempts {
        Some(1) => "with no retries".to_string(),
        Some(n) => format!("with up to {n} attempts per round"),
        None => "with retries".to_string(),
    }
}

/// The summary paragraph: a few sentences, each derived from the numbers.
pub fn summary_sentences(w: &Writeup) -> Vec<String> {
    let mut out = Vec::new();
    let dates = date_range(&w.block)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    out.push(format!(
        "This writeup covers rounds {}{dates}, run {}.",
        w.block.label,
        fix_phrase(w)
    ));
    if w.raw_total.rounds > 0 {
        out.push(format!(
            "Raw pass rate (first attempt exited 0 and left no crash report): {}.",
            row_rate(&w.raw_total)
        ));
    }
    if w.retry_total.rounds > 0 {
        // Retry rounds may be other rounds than the raw ones (a separate block): name them.
        let labels: Vec<&str> = w.retry_batches.iter().map(|r| r.label.as_str()).collect();
        // Rounds imported without a batch are grouped as "(no batch)": naming that alone
        // ("batch (no batch)") says nothing.
        let unnamed = labels.iter().all(|l| l.starts_with('('));
        let which = if labels.is_empty() || unnamed {
            String::new()
        } else {
            format!(
                " ({} {})",
                plural(labels.len() as u64, "batch", "batches"),
                labels.join(", ")
            )
        };
        out.push(format!(
            "Of the {} rounds run {}{which}, {} eventually passed (95% CI {}, {}/{}).",
            w.retry_total.rounds,
            attempts_phrase(w),
            pct(w.retry_total.rate),
            ci(w.retry_total.ci),
            w.retry_total.pass,
            w.retry_total.rounds
        ));
    }
    if let Some((names, count, per_100)) = most_frequent(w) {
        let total: u64 = w.buckets.iter().map(|b| b.count).sum();
        let which = if names.len() == 1 {
            format!("the most frequent is {}", names[0])
        } else {
            format!("the most frequent, tied, are {}", and_list(&names))
        };
        out.push(format!(
            "{total} crash {} in {} {}; {which} ({count} {}{}, {} per 100 rounds).",
            plural(total, "report", "reports"),
            w.buckets.len(),
            plural(w.buckets.len() as u64, "signature", "signatures"),
            plural(count, "report", "reports"),
            if names.len() == 1 { "" } else { " each" },
            one_decimal(per_100)
        ));
    }
    if let Some(c) = &w.comparison {
        out.extend(comparison_sentences(c, &c.a_label, &c.b_label));
    }
    out
}

/// The numbered key findings, each backed by a figure from the tables.
pub fn key_findings(w: &Writeup) -> Vec<String> {
    let mut out = Vec::new();
    if w.raw_total.rounds > 0 {
        let mut s = format!("Raw pass rate {}", row_rate(&w.raw_total));
        let batches: Vec<&RateRow> = w.raw_batches.iter().filter(|r| r.rounds > 0).collect();
        if batches.len() > 1 {
            if let (Some(lo), Some(hi)) = (
                batches.iter().min_by(|a, b| a.rate.total_cmp(&b.rate)),
                batches.iter().max_by(|a, b| a.rate.total_cmp(&b.rate)),
            ) {
                s.push_str(&format!(
                    "; by batch from {} ({}, {}/{}) to {} ({}, {}/{})",
                    pct(lo.rate),
                    lo.label,
                    lo.pass,
                    lo.rounds,
                    pct(hi.rate),
                    hi.label,
                    hi.pass,
                    hi.rounds
                ));
            }
        }
        s.push('.');
        out.push(s);
    }
    if w.retry_total.rounds > 0 {
        out.push(format!(
            "Eventual pass rate {} {}.",
            attempts_phrase(w),
            row_rate(&w.retry_total)
        ));
    }
    if let Some(c) = &w.comparison {
        out.extend(comparison_sentences(c, &c.a_label, &c.b_label));
        out.extend(efficiency_difference(c, &c.a_label, &c.b_label));
    }
    if let Some(e) = &w.efficiency {
        out.push(format!(
            "Efficiency mean {} (median {}, sd {} pp, range {}–{} = {} percentage points, \
             n = {}).",
            pct_opt(e.mean),
            pct_opt(e.median),
            sd_text(e.sd),
            pct_opt(e.min),
            pct_opt(e.max),
            range_text(e.min, e.max),
            e.n
        ));
    }
    if let Some((names, count, per_100)) = most_frequent(w) {
        out.push(format!(
            "Most frequent {}: {}, {count} {}{} ({} per 100 rounds); {} {} in all.",
            if names.len() == 1 {
                "crash"
            } else {
                "crashes (tied)"
            },
            and_list(&names),
            plural(count, "report", "reports"),
            if names.len() == 1 { "" } else { " each" },
            one_decimal(per_100),
            w.buckets.len(),
            plural(w.buckets.len() as u64, "signature", "signatures"),
        ));
    }
    if let Some(c) = &w.comparison {
        // Name buckets by their pattern where known: signatures are long.
        let name = |b: &crate::rounds::compare::BucketCount| {
            bucket_name(b.pattern.as_deref(), &b.signature)
        };
        let new: Vec<String> = c.new_buckets.iter().map(name).collect();
        let gone: Vec<String> = c.gone_buckets.iter().map(name).collect();
        // A bucket seen on one side only is a finding to state with its test: one crash in 30
        // rounds against none is not a regression (the bucket table's status column).
        let supported = |buckets: &[crate::rounds::compare::BucketCount], v: BucketVerdict| {
            buckets
                .iter()
                .filter(|b| {
                    c.bucket_rates
                        .buckets
                        .iter()
                        .any(|x| x.signature == b.signature && x.verdict == v)
                })
                .count()
        };
        let qualifier = |n: usize, shown: usize, v: BucketVerdict| match n {
            0 if shown == 1 => " Not distinguishable yet (bucket table).".to_string(),
            0 => " None of them is distinguishable yet (bucket table).".to_string(),
            n if n == shown => format!(
                " The corrected test supports {}: {}.",
                if shown == 1 { "it" } else { "each" },
                bucket_change(v, &c.a_label, &c.b_label)
            ),
            n => format!(
                " The corrected test supports {n} of them ({}); the others are not \
                 distinguishable yet (bucket table).",
                bucket_change(v, &c.a_label, &c.b_label)
            ),
        };
        if !new.is_empty() {
            out.push(format!(
                "Seen in {} and not in {} ({}): {}.{}",
                c.b_label,
                c.a_label,
                plural(new.len() as u64, "new signature", "new signatures"),
                new.join(", "),
                qualifier(
                    supported(&c.new_buckets, BucketVerdict::Regression),
                    new.len(),
                    BucketVerdict::Regression
                )
            ));
        }
        if !gone.is_empty() {
            out.push(format!(
                "Seen in {} and not in {}: {}.{}",
                c.a_label,
                c.b_label,
                gone.join(", "),
                qualifier(
                    supported(&c.gone_buckets, BucketVerdict::Fixed),
                    gone.len(),
                    BucketVerdict::Fixed
                )
            ));
        }
    }
    out
}

/// The buckets with the most reports, in table order (ties are all named: picking one of
/// equal buckets would name a different one than the table's first row), their count and rate.
fn most_frequent(w: &Writeup) -> Option<(Vec<String>, u64, f64)> {
    let max = w.buckets.iter().map(|b| b.count).max()?;
    let top: Vec<_> = w.buckets.iter().filter(|b| b.count == max).collect();
    let names = top
        .iter()
        .map(|b| bucket_name(b.pattern.as_deref(), &b.signature))
        .collect();
    Some((names, max, top[0].per_100_rounds))
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_prose() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&v(&["a"])), "a");
        assert_eq!(and_list(&v(&["a", "b"])), "a and b");
        assert_eq!(and_list(&v(&["a", "b", "c"])), "a, b and c");
    }

    // Regression: equal observed rates were worded as "there is no difference", a claim two
    // 5/10 samples (each 24-76%) cannot support.
    #[test]
    fn equal_rates_never_claim_no_difference() {
        let text = rounds_clause(None, "A", 10, "B", 10, true);
        assert!(!text.contains("no difference"), "{text}");
        assert!(
            text.contains("not evidence that the two behave the same"),
            "{text}"
        );
    }

    #[test]
    fn percentages_have_one_decimal() {
        assert_eq!(pct(0.5), "50.0%");
        assert_eq!(pct(29.0 / 30.0), "96.7%");
        assert_eq!(pct(f64::NAN), "n/a");
        // Wilson 95% for 15/30, full precision: python3 -c "from math import sqrt; ..."
        assert_eq!(ci([0.331541, 0.668459]), "33.2–66.8%");
    }

    #[test]
    fn p_values_have_two_significant_digits() {
        assert_eq!(p_value(0.48717948717948717), "0.49");
        assert_eq!(p_value(0.03333), "0.033");
        assert_eq!(p_value(0.0996), "0.10");
        assert_eq!(p_value(0.00051), "0.00051");
        assert_eq!(p_value(1.0), "1.0");
        assert_eq!(p_value(0.0001), "0.00010");
        assert_eq!(p_value(6.4e-5), "< 0.0001");
        assert_eq!(p_clause(6.4e-5), "p < 0.0001");
        assert_eq!(p_clause(0.4872), "p = 0.49");
        assert_eq!(p_value(f64::NAN), "n/a");
    }

    #[test]
    fn rounds_clause_says_which_number_it_prints() {
        assert_eq!(
            rounds_clause(Some(74), "a", 20, "b", 20, false),
            "about 54 more rounds per side would tell (74 per side in all)"
        );
        assert_eq!(
            rounds_clause(Some(74), "a", 74, "b", 20, false),
            "about 54 more rounds of b would tell (74 per side in all; a already has 74)"
        );
        assert_eq!(
            rounds_clause(Some(74), "a", 30, "b", 20, false),
            "about 44 more rounds of a and 54 more of b would tell (74 per side in all)"
        );
        assert!(rounds_clause(Some(10), "a", 20, "b", 20, false).contains("already run"));
        assert!(rounds_clause(None, "a", 20, "b", 20, true).contains("equal"));
    }

    #[test]
    fn inconclusive_never_names_a_direction() {
        let v = Verdict {
            p_value: 0.4872,
            verdict: VerdictKind::Inconclusive,
            rounds_needed: Some(74),
        };
        let s = verdict_sentence("raw pass rate", "A", (20, 20, 1.0), "B", (18, 20, 0.9), &v);
        assert_eq!(
            s,
            "Raw pass rate: B and A are not distinguishable yet (B 90.0%, 18/20; A 100.0%, \
             20/20; Fisher exact p = 0.49); about 54 more rounds per side would tell (74 per \
             side in all)."
        );
    }

    #[test]
    fn shared_rounds_are_named_as_ranges() {
        assert_eq!(shared_rounds_warning(&[]), None);
        let w = shared_rounds_warning(&[3, 4, 5, 9]).unwrap();
        assert!(
            w.starts_with("the two selections share 4 rounds (3-5, 9):"),
            "{w}"
        );
        let one = shared_rounds_warning(&[7]).unwrap();
        assert!(
            one.starts_with("the two selections share 1 round (7):"),
            "{one}"
        );
        // Many separate rounds: the first eight ranges, then an ellipsis.
        let many: Vec<i64> = (0..20).map(|i| i * 10).collect();
        let w = shared_rounds_warning(&many).unwrap();
        assert!(w.contains("(0, 10, 20, 30, 40, 50, 60, 70, ...)"), "{w}");
    }

    fn with_efficiency(a: &[f64], b: &[f64]) -> Comparison {
        use crate::rounds::compare::{compare, RoundSummary, Side};
        use crate::rounds::model::Outcome;
        let side = |label: &str, start: i64, eff: &[f64]| Side {
            label: label.into(),
            rounds: (0..eff.len().max(2))
                .map(|i| RoundSummary {
                    number: start + i as i64,
                    outcome: Outcome::RawPass,
                    efficiency: eff.get(i).copied(),
                    crashes: Vec::new(),
                    fix: None,
                    fix_confirmed: None,
                    host: None,
                })
                .collect(),
        };
        compare(&side("a", 1, a), &side("b", 101, b)).unwrap()
    }

    #[test]
    fn efficiency_difference_says_why_there_is_no_number() {
        assert_eq!(
            efficiency_difference(&with_efficiency(&[], &[]), "A", "B"),
            None
        );
        let c = with_efficiency(&[14.0, 14.0], &[15.0, 15.0]);
        assert_eq!(
            efficiency_difference(&c, "A", "B").unwrap(),
            "Efficiency: not compared: every figure of A is 14.0% and every figure of B is \
             15.0%, so there is no spread for Welch's interval."
        );
        let c = with_efficiency(&[], &[15.0, 16.0]);
        assert_eq!(
            efficiency_difference(&c, "A", "B").unwrap(),
            "Efficiency: not compared: A has no efficiency figures and B has 2 efficiency \
             figures; Welch's interval for the difference of means needs at least 2 on each side."
        );
        // A decrease is signed.
        let c = with_efficiency(&[15.8, 16.4, 15.1, 17.0, 16.2], &[14.6, 13.9, 15.1, 14.2]);
        let s = efficiency_difference(&c, "A", "B").unwrap();
        assert!(
            s.contains("B minus A is -1.6 percentage points") || s.contains("is -1.7"),
            "{s}"
        );
        assert!(s.contains("95% Welch interval -2.6 to -0.7"), "{s}");
    }
}
