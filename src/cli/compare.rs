//! `agx-triage compare --a SEL --b SEL`: pass rates with intervals, Fisher's exact test,
//! verdicts, efficiency and buckets, side by side.

use std::io::Write;

use anyhow::{bail, Result};

use agx_triage::rounds::compare::{compare, Comparison, Side, Verdict, VerdictKind};
use agx_triage::rounds::handshake::{self, Unconfirmed};
use agx_triage::store::{RoundSelector, Store};
use agx_triage::writeup::wording::{ci, p_value as p_text, pct};

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

/// A human label for a selector.
pub fn selector_label(s: &RoundSelector) -> String {
    match s {
        RoundSelector::All => "all rounds".into(),
        RoundSelector::Range(a, b) if a == b => format!("round {a}"),
        RoundSelector::Range(a, b) => format!("rounds {a}-{b}"),
        RoundSelector::Batch(b) => format!("batch {b}"),
        RoundSelector::Fix(f) => format!("fix {f}"),
        RoundSelector::Native => "native".into(),
    }
}

/// Gather both sides from the store and compare them. Rounds whose fix never confirmed it
/// loaded are left out unless `include_unconfirmed`; the record of them comes back for the
/// warning.
pub fn compare_selectors(
    store: &Store,
    a: &RoundSelector,
    b: &RoundSelector,
    include_unconfirmed: bool,
) -> Result<(Comparison, Unconfirmed)> {
    let mut unconfirmed = Unconfirmed::default();
    let mut side = |s: &RoundSelector| -> Result<Side> {
        let (rounds, left) =
            handshake::partition(store.round_summaries(s)?, include_unconfirmed, |r| {
                (r.number, r.fix.as_deref(), r.fix_confirmed)
            });
        if rounds.is_empty() {
            let why = match left.rounds.len() {
                0 => String::new(),
                n => format!(
                    "; {n} matching round(s) were left out because their fix never confirmed \
                     it loaded (--include-unconfirmed counts them)"
                ),
            };
            bail!(
                "no rounds match {} (see `agx-triage rounds`){why}",
                selector_label(s)
            );
        }
        unconfirmed.extend(left);
        Ok(Side {
            label: selector_label(s),
            rounds,
        })
    };
    let (sa, sb) = (side(a)?, side(b)?);
    Ok((compare(&sa, &sb)?, unconfirmed))
}

fn verdict_text(v: &Verdict) -> String {
    match v.verdict {
        VerdictKind::Better => format!("B better (Fisher p = {})", p_text(v.p_value)),
        VerdictKind::Worse => format!("B worse (Fisher p = {})", p_text(v.p_value)),
        VerdictKind::Inconclusive => match v.rounds_needed {
            Some(n) => format!(
                "not distinguishable yet (p = {}); about {n} rounds per side would tell",
                p_text(v.p_value)
            ),
            None => format!(
                "not distinguishable (p = {}; same rates)",
                p_text(v.p_value)
            ),
        },
    }
}

pub fn run(cli: &Cli, args: &Args) -> Result<Exit> {
    let store = open_store_read(cli)?;
    let (c, unconfirmed) = compare_selectors(&store, &args.a, &args.b, args.include_unconfirmed)?;
    if let Some(w) = unconfirmed.warning() {
        let _ = writeln!(super::term::stderr(), "agx-triage: warning: {w}");
    }
    let mut out = super::term::stdout(args.json);
    if args.json {
        let mut v = serde_json::to_value(&c)?;
        // Round numbers left out (or counted with --include-unconfirmed) as unconfirmed.
        v["unconfirmed"] = serde_json::json!({
            "rounds": unconfirmed.rounds,
            "counted": unconfirmed.included,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    let (la, lb) = (selector_label(&args.a), selector_label(&args.b));
    let mut t = table();
    t.set_header(vec!["".to_string(), format!("A: {la}"), format!("B: {lb}")]);
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
    let eff = |s: &agx_triage::stats::Summary| match (s.mean, s.min, s.max) {
        (Some(m), Some(lo), Some(hi)) => format!(
            "mean {m:.1}%, median {:.1}%, {lo:.1}–{hi:.1}%, sd {}, n {}",
            s.median.unwrap_or(m),
            s.sd.map(|d| format!("{d:.2}"))
                .unwrap_or_else(|| "–".into()),
            s.n
        ),
        _ => "no figures".into(),
    };
    t.add_row(vec![
        "efficiency".into(),
        eff(&c.a.efficiency),
        eff(&c.b.efficiency),
    ]);
    writeln!(out, "{t}")?;
    writeln!(out, "raw pass rate:      {}", verdict_text(&c.raw))?;
    writeln!(out, "eventual pass rate: {}", verdict_text(&c.eventual))?;

    let mut sigs: Vec<(String, Option<String>)> = Vec::new();
    for b in c.a.buckets.iter().chain(c.b.buckets.iter()) {
        let key = (b.signature.clone(), b.pattern.clone());
        if !sigs.contains(&key) {
            sigs.push(key);
        }
    }
    if !sigs.is_empty() {
        let mut bt = table();
        bt.set_header(vec![
            "bucket",
            "A crashes",
            "A per 100",
            "B crashes",
            "B per 100",
            "",
        ]);
        for (sig, pat) in &sigs {
            let find = |v: &[agx_triage::rounds::compare::BucketCount]| {
                v.iter()
                    .find(|b| &b.signature == sig && &b.pattern == pat)
                    .map(|b| (b.count, b.per_100_rounds))
            };
            let a = find(&c.a.buckets);
            let b = find(&c.b.buckets);
            let mark = match (a, b) {
                (None, Some(_)) => "new in B (regression)",
                (Some(_), None) => "not seen in B",
                _ => "",
            };
            let label = match pat {
                Some(p) => format!("{p}: {}", ellipsize(sig, 50)),
                None => ellipsize(sig, 60),
            };
            bt.add_row(vec![
                label,
                a.map(|x| x.0.to_string()).unwrap_or_else(|| "0".into()),
                a.map(|x| format!("{:.1}", x.1))
                    .unwrap_or_else(|| "0.0".into()),
                b.map(|x| x.0.to_string()).unwrap_or_else(|| "0".into()),
                b.map(|x| format!("{:.1}", x.1))
                    .unwrap_or_else(|| "0.0".into()),
                mark.to_string(),
            ]);
        }
        writeln!(out, "\n{bt}")?;
    }
    Ok(Exit::Ok)
}
