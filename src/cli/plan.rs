//! `agx-triage plan --baseline RATE --target RATE`: how many rounds a comparison needs, for
//! Fisher's fixed design and for the sequential rule of `round run --until-decided`
//! (computed in `agx_triage::stats::plan`).

use std::io::Write;

use anyhow::Result;

use agx_triage::stats::plan::{plan, PlanRequest, DEFAULT_FIXED_SEARCH, MAX_SIMULATE};
use agx_triage::stats::power::MAX_ROUNDS_PER_SIDE;
use agx_triage::stats::sequential::MAX_EXACT_ROUNDS;

use super::term::num;
use super::{table, Cli, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pass rate of the baseline (the other arm, or the stored block), in 0..=1.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    baseline: f64,
    /// Pass rate the candidate should reach, in 0..=1 (not equal to the baseline).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    target: f64,
    /// Chance of a false decision allowed, strictly between 0 and 1.
    #[arg(long, default_value_t = 0.05, value_name = "A", value_parser = parse_level)]
    alpha: f64,
    /// Power wanted for the fixed design, strictly between 0 and 1.
    #[arg(long, default_value_t = 0.8, value_name = "P", value_parser = parse_level)]
    power: f64,
    /// Budget of the sequential run, in candidate rounds (pairs when interleaved); default
    /// 1.3 x the fixed design's figure.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..=MAX_EXACT_ROUNDS))]
    max_rounds: Option<u64>,
    /// Plan against a stored block of this many baseline rounds instead of interleaving.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_EXACT_ROUNDS))]
    block: Option<u64>,
    /// Also run the decision rule N times under each hypothesis (seeded Monte Carlo).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_SIMULATE))]
    simulate: Option<u64>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Largest rounds per side the fixed-design search tries.
    #[arg(long, default_value_t = DEFAULT_FIXED_SEARCH, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_ROUNDS_PER_SIDE))]
    fixed_search_max: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A pass rate: a finite number in 0..=1.
fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("`{s}`: a rate must lie in 0..=1 (0.9, not 90)"));
    }
    Ok(v)
}

/// A level (alpha, power): strictly between 0 and 1.
fn parse_level(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err(format!("`{s}` must lie strictly between 0 and 1"));
    }
    Ok(v)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub fn run(_cli: &Cli, a: &Args) -> Result<Exit> {
    if a.baseline == a.target {
        // An argument error (exit 2), said in the user's terms before any computing.
        anyhow::bail!(
            "--target equals --baseline ({}): no number of rounds tells equal rates apart",
            a.baseline
        );
    }
    let report = plan(&PlanRequest {
        baseline: a.baseline,
        target: a.target,
        alpha: a.alpha,
        power: a.power,
        max_rounds: a.max_rounds,
        block_rounds: a.block,
        simulate: a.simulate,
        seed: a.seed,
        fixed_search_max: a.fixed_search_max,
    })?;
    let mut out = super::term::stdout(a.json);
    if a.json {
        super::term::print_json(&mut out, &report)?;
        return Ok(Exit::Ok);
    }
    let s = &report.sequential;
    writeln!(
        out,
        "baseline {} -> target {}, alpha {}, power {}",
        pct(report.baseline),
        pct(report.target),
        num(report.alpha),
        num(report.power)
    )?;
    let mut t = table();
    t.set_header(vec![
        "design",
        "rounds per side",
        "power",
        "false decisions",
    ]);
    t.add_row(vec![
        "fixed (Fisher, exact)".to_string(),
        match report.fixed_rounds_per_side {
            Some(n) => n.to_string(),
            None => format!("more than {}", report.fixed_search_max),
        },
        report.fixed_power.map(pct).unwrap_or_else(|| "-".into()),
        format!("at most {}", num(report.alpha)),
    ]);
    let mode = match s.block_rounds {
        Some(n) => format!("sequential, against a block of {n}"),
        None => "sequential, interleaved".to_string(),
    };
    t.add_row(vec![
        format!("{mode}: under the target"),
        format!(
            "{:.1} on average, at most {}",
            s.expected_rounds_per_side.under_target, s.max_rounds_per_side
        ),
        pct(s.exact.power),
        String::new(),
    ]);
    t.add_row(vec![
        format!("{mode}: no difference"),
        format!(
            "{:.1} on average, at most {}",
            s.expected_rounds_per_side.under_no_difference, s.max_rounds_per_side
        ),
        String::new(),
        pct(s.exact.false_decision_rate),
    ]);
    if let (Some(sim), Some(fdr)) = (&s.simulation, s.false_decision_rate) {
        t.add_row(vec![
            format!("simulated ({} runs each, seed {})", sim.runs, sim.seed),
            format!(
                "{:.1} / {:.1} on average",
                sim.mean_rounds_under_target, sim.mean_rounds_under_no_difference
            ),
            s.power.map(pct).unwrap_or_else(|| "-".into()),
            pct(fdr),
        ]);
    }
    writeln!(out, "{t}")?;
    // Against a block the planned rates change nothing in the rule (stats::sequential::
    // Design::targeted), so they are only suggested for interleaved runs.
    match s.block_rounds {
        Some(_) => writeln!(
            out,
            "Run it with: agx-triage round run --until-decided --max-rounds {} --alpha {} \
             --against SEL ...",
            s.max_rounds_per_side,
            num(report.alpha),
        )?,
        None => writeln!(
            out,
            "Run it with: agx-triage round run --until-decided --max-rounds {} --alpha {} \
             --baseline-rate {} --target-rate {} --alternate-with FIX ...",
            s.max_rounds_per_side,
            num(report.alpha),
            num(report.baseline),
            num(report.target),
        )?,
    }
    Ok(Exit::Ok)
}
