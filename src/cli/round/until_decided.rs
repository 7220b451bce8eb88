//! `agx-triage round run --until-decided`: the arguments, the bridge from the library loop
//! (`agx_triage::rounds::sequential`) to `round run`'s own round runner and store, and the
//! progress and final output. The decisions are the library's.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::Serialize;

use agx_triage::rounds::model::Round;
use agx_triage::rounds::runner::OutputStream;
use agx_triage::rounds::sequential::{
    run_until_decided, Arm, ArmCounts, Ending, Metric, Mode, RoundSource, SourceError, Spec, Step,
    Summary, ARM_KEY,
};
use agx_triage::stats::sequential::Design;
use agx_triage::store::{RoundSelector, Store};

use super::{
    open_store_as, parse_selector, prepare, run_one, Cli, Exit, Prepared, RunArgs, RunOne,
};

/// The `--until-decided` arguments of `round run`.
#[derive(clap::Args, Debug, Clone)]
pub struct SeqArgs {
    /// Keep running rounds, numbered upward from --round, until the sequential rule decides
    /// (docs/ROUNDS.md) or --max-rounds is spent. Run it again to continue an interrupted run.
    #[arg(long)]
    pub until_decided: bool,
    /// Budget: candidate rounds (pairs when interleaved), all runs of this comparison together.
    #[arg(long, value_name = "M", requires = "until_decided", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=agx_triage::stats::sequential::MAX_ROUNDS))]
    pub max_rounds: u64,
    /// Compare against these stored rounds (any selector `compare` takes).
    #[arg(long, value_name = "SEL", value_parser = parse_selector, requires = "until_decided",
          conflicts_with_all = ["alternate_with", "alternate_dylib"])]
    pub against: Option<RoundSelector>,
    /// Interleave with this registered fix (or `native`): each pair runs both, in random order.
    #[arg(
        long,
        value_name = "FIX",
        requires = "until_decided",
        conflicts_with = "alternate_dylib"
    )]
    pub alternate_with: Option<String>,
    /// Interleave with this fix dylib.
    #[arg(long, value_name = "PATH", requires = "until_decided")]
    pub alternate_dylib: Option<PathBuf>,
    /// Chance of a false decision allowed over all looks, strictly between 0 and 1.
    #[arg(long, default_value_t = 0.05, value_name = "A", requires = "until_decided",
          value_parser = parse_alpha)]
    pub alpha: f64,
    /// Planned baseline pass rate (with --target-rate, as `plan` prints): interleaved runs bet
    /// on it and decide faster near the target.
    #[arg(long, value_name = "RATE", requires = "target_rate", value_parser = parse_rate)]
    pub baseline_rate: Option<f64>,
    /// Planned target pass rate (with --baseline-rate).
    #[arg(long, value_name = "RATE", requires = "baseline_rate", value_parser = parse_rate)]
    pub target_rate: Option<f64>,
    /// Seed of the order of the arms within pairs (default: from the clock; printed).
    #[arg(long, value_name = "N", requires = "until_decided")]
    pub seed: Option<u64>,
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("`{s}` must be a number strictly between 0 and 1")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` must be a rate in 0..=1 (0.9, not 90)")),
    }
}

/// A `--metric` value: a figure to extract (`NAME=REGEX`), or, with --until-decided, the pass
/// rate compared (`raw` or `eventual`).
#[derive(Debug, Clone)]
pub enum MetricArg {
    /// NAME=REGEX.
    Extract(String, String),
    /// raw or eventual.
    Pass(Metric),
}

impl MetricArg {
    /// The NAME=REGEX pair, if this is one.
    pub fn extract(&self) -> Option<(&String, &String)> {
        match self {
            MetricArg::Extract(n, r) => Some((n, r)),
            MetricArg::Pass(_) => None,
        }
    }
}

pub fn parse_metric(s: &str) -> Result<MetricArg, String> {
    match s.trim() {
        "raw" => Ok(MetricArg::Pass(Metric::Raw)),
        "eventual" => Ok(MetricArg::Pass(Metric::Eventual)),
        _ => super::parse_kv(s)
            .map(|(k, v)| MetricArg::Extract(k, v))
            .map_err(|e| format!("{e} (or `raw`/`eventual` with --until-decided)")),
    }
}

/// `--metric raw|eventual` means nothing to a single round: say so rather than ignore it.
pub fn refuse_sequential_args(a: &RunArgs) -> Result<()> {
    if a.metrics.iter().any(|m| matches!(m, MetricArg::Pass(_))) {
        bail!("--metric raw|eventual chooses what --until-decided compares; add --until-decided");
    }
    if a.seq.baseline_rate.is_some() {
        bail!("--baseline-rate/--target-rate plan an --until-decided run; add --until-decided");
    }
    Ok(())
}

/// Runs each round with `round run`'s runner and stores it.
struct Source<'a> {
    store: &'a mut Store,
    args: &'a RunArgs,
    candidate: &'a Prepared,
    other: Option<&'a Prepared>,
    json: bool,
}

impl RoundSource for Source<'_> {
    fn stored(&mut self, number: i64) -> Result<Option<Round>, SourceError> {
        // This machine's round `number` (another machine's of the same number is another
        // round).
        let host = match self.store.local_host_name()? {
            Some(h) => h,
            None => return Ok(None),
        };
        let rounds = self.store.rounds(&RoundSelector::And(vec![
            RoundSelector::Range(number, number),
            RoundSelector::Host(host),
        ]))?;
        Ok(rounds.into_iter().next().map(|r| r.round))
    }

    fn run(&mut self, number: i64, arm: Arm) -> Result<Option<Round>, SourceError> {
        let prepared = match (arm, self.other) {
            (Arm::Other, Some(o)) => o,
            _ => self.candidate,
        };
        let json = self.json;
        // With --json the standard output is for the final object: the command's output goes
        // to standard error.
        let mut sink = |stream: OutputStream, line: &str| {
            let _ = if json || stream == OutputStream::Stderr {
                writeln!(std::io::stderr(), "{line}")
            } else {
                writeln!(std::io::stdout(), "{line}")
            };
        };
        let extra = [(ARM_KEY.to_string(), arm.as_str().to_string())];
        match run_one(self.store, self.args, prepared, number, &extra, &mut sink)? {
            RunOne::Stored(ran) => Ok(Some(ran.round)),
            RunOne::Interrupted => Ok(None),
            RunOne::Exists(_, n) => Err(format!(
                "round {n} was stored by another process while it ran; this run was not \
                 stored; choose another --round"
            )
            .into()),
        }
    }
}

fn counts_text(c: &ArmCounts) -> String {
    match c.interval() {
        Some(i) => format!(
            "{}/{} ({:.0}%, 95% [{:.0}%, {:.0}%])",
            c.passes,
            c.rounds,
            100.0 * c.passes as f64 / c.rounds as f64,
            100.0 * i.low,
            100.0 * i.high
        ),
        None => "0/0".into(),
    }
}

fn step_text(s: &Step, other_label: &str) -> String {
    let mut t = format!(
        "round {} ({}{}): {}{} | candidate {} | {other_label} {}",
        s.round,
        s.arm.as_str(),
        if s.resumed { ", stored earlier" } else { "" },
        if s.passed { "pass" } else { "fail" },
        if s.counted {
            ""
        } else {
            " (fix not confirmed: not counted)"
        },
        counts_text(&s.candidate),
        counts_text(&s.other),
    );
    if let Some(st) = &s.status {
        let threshold = st.ln_threshold.exp();
        t.push_str(&format!(
            " | evidence better {}, worse {}, boundary {} ({:.0}% of the way) | {} spent",
            short(st.ln_e_better.exp()),
            short(st.ln_e_worse.exp()),
            if threshold < 1e6 {
                format!("{threshold:.0}")
            } else {
                super::super::term::num(threshold)
            },
            100.0 * st.progress().min(1.0),
            s.spent
        ));
    }
    t
}

pub fn run(cli: &Cli, a: &RunArgs) -> Result<Exit> {
    let s = &a.seq;
    if a.replace {
        bail!("--replace cannot be combined with --until-decided (stored rounds are continued)");
    }
    let metric = a
        .metrics
        .iter()
        .filter_map(|m| match m {
            MetricArg::Pass(p) => Some(*p),
            MetricArg::Extract(..) => None,
        })
        .next_back()
        .unwrap_or(Metric::Raw);
    let design = match (s.baseline_rate, s.target_rate) {
        (Some(b), Some(t)) => Design::targeted(s.alpha, s.max_rounds, b, t)?,
        _ => Design::new(s.alpha, s.max_rounds)?,
    };
    let interleaved = s.alternate_with.is_some() || s.alternate_dylib.is_some();
    if !interleaved && s.against.is_none() {
        bail!(
            "--until-decided needs what to compare with: --against SEL (stored rounds), or \
             --alternate-with FIX / --alternate-dylib PATH (interleaved pairs)"
        );
    }
    let mut store = open_store_as(cli, a.host.as_deref())?;
    // The reports the round ingests name this machine as their ingesting host.
    store.ingest_as_local_host()?;
    let candidate = prepare(&store, a)?;
    let other = if interleaved {
        let mut o = a.clone();
        o.fix = s.alternate_with.clone().filter(|f| f != "native");
        o.dylib = s.alternate_dylib.clone();
        Some(prepare(&store, &o)?)
    } else {
        None
    };
    let seed = s.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let (mode, other_label, block_label) = match &s.against {
        Some(sel) => {
            let (passes, rounds) =
                agx_triage::ops::rounds::block_counts(&store, sel, a.number, s.max_rounds, metric)?;
            (
                Mode::AgainstBlock { passes, rounds },
                "block".to_string(),
                Some(agx_triage::ops::compare::selector_label(sel)),
            )
        }
        None => (
            Mode::Interleaved { seed },
            format!(
                "other ({})",
                other
                    .as_ref()
                    .and_then(|o| o.fix_name.clone())
                    .unwrap_or_else(|| "native".into())
            ),
            None,
        ),
    };
    let spec = Spec {
        design,
        mode,
        metric,
        first_round: a.number,
        candidate_fix: candidate.fix_name.clone(),
        other_fix: other.as_ref().and_then(|o| o.fix_name.clone()),
    };
    // Progress goes to standard output, or to standard error when that is for the JSON.
    let mut progress: Box<dyn Write> = if a.json {
        Box::new(super::super::term::stderr())
    } else {
        Box::new(super::super::term::stdout(false))
    };
    let _ = writeln!(
        progress,
        "until decided: {} vs {}, {} pass rate, alpha {}, at most {} {}{}",
        candidate.fix_name.as_deref().unwrap_or("native"),
        block_label.clone().unwrap_or_else(|| other_label.clone()),
        match metric {
            Metric::Raw => "raw",
            Metric::Eventual => "eventual",
        },
        super::super::term::num(s.alpha),
        s.max_rounds,
        if interleaved {
            "pairs"
        } else {
            "candidate rounds"
        },
        if interleaved {
            format!(", order seed {seed}")
        } else {
            String::new()
        }
    );
    let mut source = Source {
        store: &mut store,
        args: a,
        candidate: &candidate,
        other: other.as_ref(),
        json: a.json,
    };
    let summary = run_until_decided(&spec, &mut source, &mut |step| {
        let _ = writeln!(progress, "{}", step_text(step, &other_label));
    })?;
    drop(progress);
    let mut out = super::super::term::stdout(a.json);
    if a.json {
        let v = summary_json(&summary, &spec, seed, block_label.as_deref());
        super::super::term::print_json(&mut out, &v)?;
    } else {
        writeln!(
            out,
            "decision: {} ({} candidate round(s) run now, {} read back from an earlier run; \
             candidate {}, {other_label} {})",
            summary.decision.as_str(),
            summary.rounds_run,
            summary.rounds_resumed,
            counts_text(&summary.candidate),
            counts_text(&summary.other),
        )?;
    }
    match summary.decision {
        Ending::Better | Ending::Worse => Ok(Exit::Ok),
        Ending::Undecided => Ok(Exit::Partial),
        Ending::Interrupted => bail!(
            "interrupted: the rounds run so far are stored; run the same command again to \
             continue"
        ),
    }
}

/// One arm's counts in the `--json` summary.
#[derive(Serialize)]
struct RateJson {
    interval: Option<[f64; 2]>,
    passes: u64,
    rate: Option<f64>,
    rounds: u64,
}

fn rate_json(c: &ArmCounts) -> RateJson {
    RateJson {
        interval: c.interval().map(|i| [i.low, i.high]),
        passes: c.passes,
        rate: (c.rounds > 0).then(|| c.passes as f64 / c.rounds as f64),
        rounds: c.rounds,
    }
}

/// `round run --until-decided --json`. Fields in alphabetical order: the order the keys
/// always had.
#[derive(Serialize)]
struct SummaryJson<'a> {
    against: Option<&'a str>,
    alpha: f64,
    boundary: f64,
    candidate: RateJson,
    candidate_fix: &'a Option<String>,
    candidate_only_pairs: Option<u64>,
    decision: &'static str,
    e_better: f64,
    e_worse: f64,
    first_round: Option<i64>,
    /// For reference only: a fixed-size test's p on the final counts is not what decided (see
    /// docs/ROUNDS.md, "Sequential decisions").
    fisher_p_fixed_test: Option<f64>,
    last_round: Option<i64>,
    max_rounds: u64,
    metric: Metric,
    mode: &'static str,
    other: RateJson,
    other_fix: &'a Option<String>,
    other_only_pairs: Option<u64>,
    rounds_resumed: u64,
    rounds_run: u64,
    rounds_run_all_arms: u64,
    seed: Option<u64>,
    spent: u64,
}

fn summary_json<'a>(
    s: &Summary,
    spec: &'a Spec,
    seed: u64,
    against: Option<&'a str>,
) -> SummaryJson<'a> {
    SummaryJson {
        against,
        alpha: s.alpha,
        boundary: s.status.ln_threshold.exp(),
        candidate: rate_json(&s.candidate),
        candidate_fix: &spec.candidate_fix,
        candidate_only_pairs: s.candidate_only,
        decision: s.decision.as_str(),
        e_better: s.status.ln_e_better.exp(),
        e_worse: s.status.ln_e_worse.exp(),
        first_round: s.round_range.map(|r| r.0),
        fisher_p_fixed_test: agx_triage::ops::rounds::fixed_test_p(s),
        last_round: s.round_range.map(|r| r.1),
        max_rounds: s.max_rounds,
        metric: s.metric,
        mode: if against.is_some() {
            "against-block"
        } else {
            "interleaved"
        },
        other: rate_json(&s.other),
        other_fix: &spec.other_fix,
        other_only_pairs: s.other_only,
        rounds_resumed: s.rounds_resumed,
        rounds_run: s.rounds_run,
        rounds_run_all_arms: s.rounds_run_all_arms,
        seed: if against.is_some() { None } else { Some(seed) },
        spent: s.spent,
    }
}

/// An e-value or boundary for the progress line: two decimals while ordinary, scientific when
/// huge (a boundary of 1/alpha for `--alpha 1e-300` has 300 digits).
fn short(x: f64) -> String {
    if x.abs() < 1e6 {
        format!("{x:.2}")
    } else {
        super::super::term::num(x)
    }
}
