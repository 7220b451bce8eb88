//! `agx-triage compare --a SEL --b SEL`: pass rates with intervals, Fisher's exact test,
//! verdicts, efficiency and buckets, side by side.

use std::io::Write;

use anyhow::Result;

use agx_triage::ops::compare::{compare_selectors, selector_label};
use agx_triage::rounds::compare::{Comparison, SideStats};
use agx_triage::store::RoundSelector;
use agx_triage::writeup::wording::{
    bucket_change, bucket_method, ci, comparison_sentences, efficiency_difference, p_value, pct,
    rate_per_100, shared_rounds_warning,
};
use serde::Serialize;

use super::round::parse_selector;
use super::{ellipsize, open_store_read, table, Cli, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Side A (the baseline): rounds:A-B, batch:LABEL, fix:NAME or native.
    #[arg(long = "a", value_name = "SEL", value_parser = parse_selector)]
    a: RoundSelector,
    /// Side B (the candidate), same forms.
    #[arg(long = "b", value_name = "SEL", value_parser = parse_selector)]
    b: RoundSelector,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Count rounds whose fix never confirmed it loaded (left out by default).
    #[arg(long)]
    include_unconfirmed: bool,
}

/// `compare --json`: the comparison (`rounds::compare::Comparison`, the same the writeup
/// JSON carries) and the rounds left out (or counted) as unconfirmed.
#[derive(Serialize)]
struct CompareJson<'a> {
    #[serde(flatten)]
    comparison: &'a Comparison,
    unconfirmed: UnconfirmedJson<'a>,
}

/// Round numbers whose fix never confirmed it loaded; `counted` with --include-unconfirmed.
#[derive(Serialize)]
struct UnconfirmedJson<'a> {
    rounds: &'a [i64],
    counted: bool,
}

pub fn run(cli: &Cli, args: &Args) -> Result<Exit> {
    let store = open_store_read(cli)?;
    super::round::warn_ambiguous(&store, &args.a)?;
    super::round::warn_ambiguous(&store, &args.b)?;
    let (c, unconfirmed) = compare_selectors(&store, &args.a, &args.b, args.include_unconfirmed)?;
    if let Some(w) = unconfirmed.warning() {
        let _ = writeln!(super::term::stderr(), "agx-triage: warning: {w}");
    }
    if let Some(w) = shared_rounds_warning(&c.shared_rounds) {
        let _ = writeln!(super::term::stderr(), "agx-triage: warning: {w}");
    }
    let mut out = super::term::stdout(args.json);
    if args.json {
        let counted = unconfirmed.included;
        let v = CompareJson {
            comparison: &c,
            unconfirmed: UnconfirmedJson {
                rounds: &unconfirmed.rounds,
                counted,
            },
        };
        super::term::print_json(&mut out, &v)?;
        return Ok(Exit::Ok);
    }
    let (la, lb) = (selector_label(&args.a), selector_label(&args.b));
    let mut t = table();
    t.set_header(vec![
        "figure".to_string(),
        format!("A: {la}"),
        format!("B: {lb}"),
    ]);
    t.add_row(vec![
        "rounds".into(),
        c.a.rounds.to_string(),
        c.b.rounds.to_string(),
    ]);
    let rate =
        |pass: u64, n: u64, r: f64, i: [f64; 2]| format!("{pass}/{n} = {} ({})", pct(r), ci(i));
    t.add_row(vec![
        "raw pass (95% CI)".into(),
        rate(c.a.raw_pass, c.a.rounds, c.a.raw_rate, c.a.raw_ci),
        rate(c.b.raw_pass, c.b.rounds, c.b.raw_rate, c.b.raw_ci),
    ]);
    t.add_row(vec![
        "eventual pass (95% CI)".into(),
        rate(
            c.a.eventual_pass,
            c.a.rounds,
            c.a.eventual_rate,
            c.a.eventual_ci,
        ),
        rate(
            c.b.eventual_pass,
            c.b.rounds,
            c.b.eventual_rate,
            c.b.eventual_ci,
        ),
    ]);
    let eff = |side: &SideStats| match (
        side.efficiency.mean,
        side.efficiency.min,
        side.efficiency.max,
    ) {
        (Some(m), Some(lo), Some(hi)) => format!(
            "mean {m:.1}%, median {:.1}%, {lo:.1}–{hi:.1}%, sd {}, n {}",
            side.efficiency.median.unwrap_or(m),
            side.efficiency
                .sd
                .map(|d| format!("{d:.2}"))
                .unwrap_or_else(|| "–".into()),
            side.efficiency.n
        ),
        _ => "no figures".into(),
    };
    t.add_row(vec!["efficiency".into(), eff(&c.a), eff(&c.b)]);
    writeln!(out, "{t}")?;
    // The one wording of a verdict, shared with writeups (sides named A and B, as above).
    for s in comparison_sentences(&c, "A", "B") {
        writeln!(out, "{s}")?;
    }

    if let Some(s) = efficiency_difference(&c, "A", "B") {
        writeln!(out, "{s}")?;
    }

    let changes = &c.bucket_rates.buckets;
    if !changes.is_empty() {
        let mut bt = table();
        let adjusted = format!("{} p", c.bucket_rates.correction.label());
        bt.set_header(vec![
            "bucket",
            "A crashes",
            "A per 100 (95% CI)",
            "B crashes",
            "B per 100 (95% CI)",
            adjusted.as_str(),
            "status",
        ]);
        for ch in changes {
            let label = match &ch.pattern {
                Some(p) => format!("{p}: {}", ellipsize(&ch.signature, 50)),
                None => ellipsize(&ch.signature, 60),
            };
            bt.add_row(vec![
                label,
                ch.count_a.to_string(),
                rate_per_100(&ch.rate_a),
                ch.count_b.to_string(),
                rate_per_100(&ch.rate_b),
                p_value(ch.adjusted_p),
                bucket_change(ch.verdict, "A", "B"),
            ]);
        }
        writeln!(out, "\n{bt}")?;
        writeln!(out, "{}", bucket_method(&c.bucket_rates))?;
    }
    Ok(Exit::Ok)
}
