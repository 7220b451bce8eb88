//! Build a [`Writeup`] from the database: select the rounds, compute the figures with
//! [`crate::stats`] and [`crate::rounds::compare()`], and collect bucket stacks and fix builds.
//!
//! The writeup's glue (it used to live in `writeup::gather`): it reads the store through its
//! methods (never SQL), so the `writeup` module itself stays pure rendering.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::crash::CrashReport;
use crate::rounds::compare::{self, CompareError, Side};
use crate::rounds::handshake;
use crate::stats;
use crate::store::{BucketRef, RoundSelector, Store, StoreError, StoredRound};
use crate::writeup::model::{
    Block, Breakdown, BreakdownRow, BucketCorrelations, BucketSection, FixBucketCount, FixInfo,
    Hit, LabelledComparison, RateRow, Slice, Writeup, CORRELATIONS_SHOWN,
};
use crate::writeup::redact::{Class, Redactor};

/// Errors while gathering a writeup.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The comparison's statistics.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// The correlation statistics of a bucket.
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
    /// A selection matched no rounds; the text says which and why.
    #[error("no rounds in {0}")]
    NoRounds(String),
    /// Redaction rules or learning failed.
    #[error(transparent)]
    Redact(#[from] crate::writeup::redact::RedactError),
}

/// What to compare the block with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// No comparison.
    None,
    /// Another block of rounds.
    Rounds(i64, i64),
    /// Every round run with this fix version.
    Fix(String),
}

/// What to gather.
#[derive(Debug, Clone)]
pub struct GatherOptions {
    /// The rounds written up, first and last (inclusive).
    pub rounds: (i64, i64),
    /// What to compare them with.
    pub against: Against,
    /// The title; `Verification rounds A-B` when `None`.
    pub title: Option<String>,
    /// Batches of this many rounds instead of the rounds' batch labels.
    pub batch_size: Option<u32>,
    /// The writeup's date (a fixed clock in tests).
    pub now: DateTime<Utc>,
    /// Frames of the representative stack to show per bucket.
    pub stack_frames: usize,
    /// Count rounds whose fix never confirmed it loaded (left out by default, with a note).
    pub include_unconfirmed: bool,
    /// Redact for publishing ([`crate::writeup::redact`]): the redactor learns user and host names,
    /// keys and addresses from every report and round behind the writeup (process, image and
    /// source paths, `crashReporterKey`, configuration...), then replaces them in the writeup.
    /// Nothing stored is changed.
    pub redact: bool,
    /// Only rounds this selector also picks, on both sides (`host:mac-a`).
    pub select: Option<RoundSelector>,
}

/// One line of a representative stack: index, image and [`super::frames::symbol_text`].
fn stack_line(r: &CrashReport, i: usize, f: &crate::crash::Frame) -> String {
    let img = r
        .image_of(f)
        .and_then(|m| m.name.as_deref())
        .unwrap_or("???");
    format!("{i:<3} {img:<28} {}", super::frames::symbol_text(r, f))
}

fn rate_row(label: String, pass: u64, n: u64) -> RateRow {
    let ci = stats::wilson_95(pass, n)
        .map(|i| i.as_array())
        .unwrap_or([0.0, 1.0]);
    RateRow {
        label,
        rounds: n,
        pass,
        rate: if n == 0 { 0.0 } else { pass as f64 / n as f64 },
        ci,
    }
}

fn block_of(label: String, rounds: &[StoredRound]) -> Block {
    Block {
        label,
        first_round: rounds
            .first()
            .map(|r| r.round.number.max(0) as u64)
            .unwrap_or(0),
        last_round: rounds
            .last()
            .map(|r| r.round.number.max(0) as u64)
            .unwrap_or(0),
        started_at: rounds.iter().filter_map(|r| r.round.started_at).min(),
        finished_at: rounds.iter().filter_map(|r| r.round.finished_at).max(),
    }
}

/// Group rounds into batches: by `batch_size` consecutive round numbers from the first, or by
/// the rounds' batch labels in order of first appearance (unlabelled rounds form one batch).
fn batches(rounds: &[StoredRound], size: Option<u32>) -> Vec<(String, Vec<&StoredRound>)> {
    let mut out: Vec<(String, Vec<&StoredRound>)> = Vec::new();
    match size {
        Some(size) if size > 0 => {
            let first = rounds.first().map(|r| r.round.number).unwrap_or(0);
            for r in rounds {
                let k = (r.round.number - first) / size as i64;
                let lo = first + k * size as i64;
                let label = format!("{}-{}", lo, lo + size as i64 - 1);
                match out.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, v)) => v.push(r),
                    None => out.push((label, vec![r])),
                }
            }
        }
        _ => {
            for r in rounds {
                let label = r
                    .round
                    .batch
                    .clone()
                    .unwrap_or_else(|| "(no batch)".to_string());
                match out.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, v)) => v.push(r),
                    None => out.push((label, vec![r])),
                }
            }
        }
    }
    out
}

/// The PyTorch operator named by a frame, if any: `at::native::layer_norm_mps(...)` ->
/// `layer_norm_mps`; `at::native::mps::gatherViewTensor(...)` -> `gatherViewTensor`.
fn pytorch_op(symbol: &str) -> Option<String> {
    let start = symbol.find("at::native::")?;
    let rest = &symbol[start + "at::native::".len()..];
    let rest = rest.strip_prefix("mps::").unwrap_or(rest);
    let rest = rest.strip_prefix("(anonymous namespace)::").unwrap_or(rest);
    let end = rest.find(['(', '<', ' ']).unwrap_or(rest.len());
    let name = &rest[..end];
    let name = name.rsplit("::").next().unwrap_or(name);
    // Plumbing every MPS op goes through, and class names (constructors), are not ops.
    const PLUMBING: &[&str] = &[
        "dispatch_sync_with_rethrow",
        "impl",
        "runMPSGraph",
        "mtl_setBuffer",
        "mtl_dispatch1DJob",
        "getMPSProfiler",
    ];
    let is_op = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !PLUMBING.contains(&name);
    is_op.then(|| name.to_string())
}

fn stack_lines(r: &CrashReport, n: usize) -> Vec<String> {
    let Some(t) = r.crashed() else {
        return Vec::new();
    };
    t.frames
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, f)| stack_line(r, i, f))
        .collect()
}

fn bucket_label(sig: &str, pattern: &Option<String>) -> String {
    pattern.clone().unwrap_or_else(|| sig.to_string())
}

/// Why a selection came out empty, when unconfirmed rounds were left out of it.
fn left_out_text(u: &handshake::Unconfirmed) -> String {
    match u.rounds.len() {
        0 => String::new(),
        n => format!(
            " ({n} left out: their fix never confirmed it loaded; --include-unconfirmed \
             counts them)"
        ),
    }
}

/// What [`handshake::partition`] needs of a stored round.
fn round_key(r: &StoredRound) -> (i64, Option<&str>, Option<bool>) {
    (
        r.round.number,
        r.round.fix.as_deref(),
        r.round.fix_confirmed,
    )
}

/// Gather everything a writeup of `opts.rounds` needs.
pub fn gather(store: &Store, opts: &GatherOptions) -> Result<Writeup, GatherError> {
    let (lo, hi) = opts.rounds;
    let narrow = |s: RoundSelector| match &opts.select {
        Some(extra) => RoundSelector::And(vec![s, extra.clone()]),
        None => s,
    };
    let sel = narrow(RoundSelector::Range(lo, hi));
    let mut redactor = if opts.redact {
        Some(Redactor::new()?)
    } else {
        None
    };
    let label = format!("{lo}-{hi}");
    // Issue 18: rounds whose fix never confirmed it loaded are left out (or counted, noted).
    let (rounds, mut unconfirmed) =
        handshake::partition(store.rounds(&sel)?, opts.include_unconfirmed, round_key);
    if rounds.is_empty() {
        return Err(GatherError::NoRounds(format!(
            "rounds {label}{}",
            left_out_text(&unconfirmed)
        )));
    }
    let n = rounds.len() as u64;
    let count = |v: &[&StoredRound], f: fn(&StoredRound) -> bool| -> u64 {
        v.iter().filter(|r| f(r)).count() as u64
    };
    let raw = |r: &StoredRound| r.outcome.is_raw_pass();
    let eventual = |r: &StoredRound| r.outcome.is_eventual_pass();
    let all: Vec<&StoredRound> = rounds.iter().collect();
    let mut raw_batches = Vec::new();
    let mut retry_batches = Vec::new();
    for (bl, rs) in batches(&rounds, opts.batch_size) {
        raw_batches.push(rate_row(bl.clone(), count(&rs, raw), rs.len() as u64));
        retry_batches.push(rate_row(bl, count(&rs, eventual), rs.len() as u64));
    }
    let raw_total = rate_row("Total".into(), count(&all, raw), n);
    let retry_total = rate_row("Total".into(), count(&all, eventual), n);
    let max_attempts = rounds
        .iter()
        .map(|r| r.max_attempts.unwrap_or(r.round.attempts.len() as u32))
        .max();

    let effs: Vec<(u64, f64)> = rounds
        .iter()
        .filter_map(|r| {
            r.round
                .efficiency
                .map(|e| (r.round.number.max(0) as u64, e))
        })
        .collect();
    let efficiency = Some(stats::summarize(
        &effs.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
    ))
    .filter(|s| s.n > 0);

    // Buckets of the crash reports attributed to the block's attempts.
    struct Acc {
        pattern: Option<String>,
        title: Option<String>,
        hits: Vec<Hit>,
        newest: Option<(String, i64)>,
    }
    let mut acc: BTreeMap<(String, Option<String>), Acc> = BTreeMap::new();
    // A round number names one round only when the rounds ran on one machine.
    let machines: BTreeSet<Option<&str>> = rounds.iter().map(|r| r.round.host.as_deref()).collect();
    let several = machines.len() > 1;
    for r in &rounds {
        for a in &r.round.attempts {
            for inc in &a.crash_reports {
                let row = store.report_by_identity(inc)?;
                let (sig, pattern, title, id, at) = match &row {
                    Some(row) => (
                        row.signature
                            .clone()
                            .unwrap_or_else(|| "(not bucketed)".into()),
                        row.pattern.clone(),
                        row.pattern_title.clone(),
                        row.id,
                        row.captured_at.clone().unwrap_or_default(),
                    ),
                    None => ("(not ingested)".into(), None, None, 0, String::new()),
                };
                let e = acc.entry((sig, pattern.clone())).or_insert(Acc {
                    pattern,
                    title,
                    hits: Vec::new(),
                    newest: None,
                });
                e.hits.push(Hit {
                    round: r.round.number.max(0) as u64,
                    host: r.round.host.clone().filter(|_| several),
                    attempt: a.index,
                    report_id: id,
                    incident_id: Some(inc.clone()),
                });
                if id > 0 && e.newest.as_ref().is_none_or(|(t, _)| at > *t) {
                    e.newest = Some((at, id));
                }
            }
        }
    }
    let mut buckets = Vec::new();
    for ((sig, _), a) in acc {
        let mut ops = BTreeSet::new();
        let mut stack = Vec::new();
        let mut example_incident = None;
        for h in &a.hits {
            if h.report_id <= 0 {
                continue;
            }
            if let Ok(sr) = store.load_report(h.report_id) {
                if let Some(r) = &mut redactor {
                    learn(r, &sr.report)?;
                    learn(r, &sr.sources)?;
                }
                if let Some(t) = sr.report.crashed() {
                    for f in &t.frames {
                        if let Some(op) = f.symbol.as_deref().and_then(pytorch_op) {
                            ops.insert(op);
                        }
                    }
                }
                if Some(h.report_id) == a.newest.as_ref().map(|x| x.1) {
                    stack = stack_lines(&sr.report, opts.stack_frames);
                    example_incident = sr.report.incident_id.clone();
                }
            }
        }
        let count = a.hits.len() as u64;
        buckets.push(BucketSection {
            signature: sig,
            pattern: a.pattern,
            pattern_title: a.title,
            count,
            per_100_rounds: count as f64 * 100.0 / n as f64,
            rate: stats::intervals::crash_rate_per_100(count, n).ok(),
            example_report: a.newest.map(|x| x.1),
            example_incident,
            stack,
            pytorch_ops: ops.into_iter().collect(),
            hits: a.hits,
        });
    }
    buckets.sort_by(|x, y| y.count.cmp(&x.count).then(x.signature.cmp(&y.signature)));

    let bucket_correlations = correlations(store, &buckets, opts.redact)?;

    // Comparison.
    let (against_block, comparison, other_rounds) = match &opts.against {
        Against::None => (None, None, Vec::new()),
        other => {
            let (osel, olabel) = match other {
                Against::Rounds(a, b) => (narrow(RoundSelector::Range(*a, *b)), format!("{a}-{b}")),
                Against::Fix(f) => (narrow(RoundSelector::Fix(f.clone())), format!("fix {f}")),
                Against::None => unreachable_none(),
            };
            let (orounds, left) =
                handshake::partition(store.rounds(&osel)?, opts.include_unconfirmed, round_key);
            if orounds.is_empty() {
                return Err(GatherError::NoRounds(format!(
                    "{olabel}{}",
                    left_out_text(&left)
                )));
            }
            unconfirmed.extend(left);
            let summaries = |s: &RoundSelector| -> Result<_, GatherError> {
                let all = store.round_summaries(s)?;
                Ok(handshake::partition(all, opts.include_unconfirmed, |r| {
                    (r.number, r.fix.as_deref(), r.fix_confirmed)
                })
                .0)
            };
            let a_side = Side {
                label: olabel.clone(),
                rounds: summaries(&osel)?,
            };
            let b_side = Side {
                label: label.clone(),
                rounds: summaries(&sel)?,
            };
            let c = compare::compare(&a_side, &b_side)?;
            (
                Some(block_of(olabel.clone(), &orounds)),
                Some(LabelledComparison {
                    a_label: olabel,
                    b_label: label.clone(),
                    comparison: c,
                }),
                orounds,
            )
        }
    };

    // Fix builds involved, and bucket counts per fix.
    let mut fix_names: BTreeSet<String> = BTreeSet::new();
    let block_fixes: BTreeSet<String> = rounds.iter().filter_map(|r| r.round.fix.clone()).collect();
    let mut by_fix: BTreeMap<(String, String), u64> = BTreeMap::new();
    // Per fix name: crash reports that loaded another build than the one registered under it.
    let mut other_build: BTreeMap<String, u64> = BTreeMap::new();
    // Rounds per fix name; a round in both selections counts once.
    let mut fix_rounds: BTreeMap<String, u64> = BTreeMap::new();
    // A round is (host, number): two machines' round 1825 are two rounds.
    let mut seen_rounds: BTreeSet<(Option<String>, i64)> = BTreeSet::new();
    for r in rounds.iter().chain(other_rounds.iter()) {
        if !seen_rounds.insert((r.round.host.clone(), r.round.number)) {
            continue;
        }
        let fname = r.round.fix.clone().unwrap_or_else(|| "native".into());
        *fix_rounds.entry(fname.clone()).or_default() += 1;
        if let Some(f) = &r.round.fix {
            fix_names.insert(f.clone());
        }
        if let Some(red) = &mut redactor {
            learn(red, &r.round)?;
            if let Some(c) = &r.command {
                red.learn(c, Class::Text)?;
            }
        }
        for inc in r.round.crash_reports() {
            let row = store.report_by_identity(inc)?;
            if let (Some(red), Some(row)) = (&mut redactor, &row) {
                learn(red, row)?;
            }
            let key = match row {
                Some(row) => {
                    if let Some(f) = &r.round.fix {
                        let loaded_fix = row.fix.is_some() || row.unregistered_fix.is_some();
                        if loaded_fix && row.fix.as_deref() != Some(f.as_str()) {
                            *other_build.entry(f.clone()).or_default() += 1;
                        }
                    }
                    bucket_label(
                        row.signature.as_deref().unwrap_or("(not bucketed)"),
                        &row.pattern,
                    )
                }
                None => "(not ingested)".into(),
            };
            *by_fix.entry((fname.clone(), key)).or_default() += 1;
        }
    }
    let mut fixes = Vec::new();
    for name in &fix_names {
        let in_block = block_fixes.contains(name);
        let Some(f) = store.fix(name)? else {
            fixes.push(FixInfo {
                name: name.clone(),
                path: None,
                size: None,
                sha256: None,
                md5: None,
                slices: Vec::new(),
                current_version: None,
                registered: false,
                in_block,
                other_build_reports: other_build.get(name).copied().unwrap_or(0),
            });
            continue;
        };
        {
            fixes.push(FixInfo {
                name: f.name,
                path: f.path,
                size: f.size,
                sha256: f.sha256,
                md5: f.md5,
                current_version: f.slices.first().and_then(|s| s.current_version.clone()),
                slices: f
                    .slices
                    .into_iter()
                    .map(|s| Slice {
                        arch: s.arch.unwrap_or_default(),
                        uuid: s.uuid,
                    })
                    .collect(),
                registered: true,
                in_block,
                other_build_reports: other_build.get(name).copied().unwrap_or(0),
            });
        }
    }

    // Configuration: every key of the block's rounds, with its distinct values.
    let mut cfg: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &rounds {
        for (k, v) in &r.round.config {
            cfg.entry(k.clone()).or_default().insert(v.clone());
        }
        if let Some(c) = &r.command {
            cfg.entry("command".into()).or_default().insert(c.clone());
        }
        cfg.entry("fix".into())
            .or_default()
            .insert(r.round.fix.clone().unwrap_or_else(|| "native".into()));
    }
    if let Some(m) = max_attempts {
        cfg.entry("max attempts".into())
            .or_default()
            .insert(m.to_string());
    }
    let config = cfg
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect::<Vec<_>>().join(", ")))
        .collect();

    let mut w = Writeup {
        title: opts
            .title
            .clone()
            .unwrap_or_else(|| format!("Verification rounds {label}")),
        generated_at: opts.now,
        block: block_of(label, &rounds),
        against: against_block,
        fixes,
        raw_batches,
        raw_total,
        retry_batches,
        retry_total,
        max_attempts,
        efficiency,
        efficiency_by_round: effs,
        buckets,
        bucket_correlations,
        comparison,
        bucket_counts_by_fix: fix_bucket_rates(&fix_rounds, &by_fix),
        config,
        report_links: None,
        redacted: None,
        notes: unconfirmed.warning().into_iter().collect(),
        breakdowns: breakdowns(store, &rounds)?,
    };
    if let Some(r) = &mut redactor {
        // Host names are names of machines wherever they appear.
        for h in rounds.iter().filter_map(|r| r.round.host.as_deref()) {
            r.register_host(h);
        }
        r.redact_writeup(&mut w)?;
    }
    Ok(w)
}

/// Pass rates split by host, hardware model and OS: one breakdown per attribute whose values
/// differ among `rounds` (none when they all ran on one machine). A round's hardware model and
/// OS are the ones it ran under (`round run` records them on the round, since a machine's OS
/// changes with updates); a round that has none takes its host's as stored; `unknown` when
/// neither is known.
fn breakdowns(store: &Store, rounds: &[StoredRound]) -> Result<Vec<Breakdown>, GatherError> {
    let hosts: BTreeMap<String, crate::store::HostRow> = store
        .hosts()?
        .into_iter()
        .map(|h| (h.name.clone(), h))
        .collect();
    let unknown = || "unknown".to_string();
    type Key = fn(&BTreeMap<String, crate::store::HostRow>, &StoredRound) -> Option<String>;
    let dims: [(&str, Key); 3] = [
        ("host", |_, r| r.round.host.clone()),
        ("hardware model", |h, r| {
            r.hardware_model.clone().or_else(|| {
                r.round
                    .host
                    .as_ref()
                    .and_then(|n| h.get(n))
                    .and_then(|h| h.hardware_model.clone())
            })
        }),
        ("OS", |h, r| {
            r.os.clone().or_else(|| {
                r.round
                    .host
                    .as_ref()
                    .and_then(|n| h.get(n))
                    .and_then(|h| h.os.clone())
            })
        }),
    ];
    let mut out = Vec::new();
    for (by, key) in dims {
        let mut groups: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for r in rounds {
            let g = groups
                .entry(key(&hosts, r).unwrap_or_else(unknown))
                .or_default();
            g.0 += 1;
            g.1 += u64::from(r.outcome.is_raw_pass());
            g.2 += u64::from(r.outcome.is_eventual_pass());
        }
        if groups.len() < 2 {
            continue;
        }
        out.push(Breakdown {
            by: by.to_string(),
            rows: groups
                .into_iter()
                .map(|(value, (n, raw, eventual))| BreakdownRow {
                    raw: rate_row(value.clone(), raw, n),
                    eventual: rate_row(value.clone(), eventual, n),
                    value,
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Buckets of the writeup whose correlations are looked at: the largest ones.
pub const CORRELATED_BUCKETS: usize = 3;
/// Fewer crash reports than this in a bucket, or outside it, and no attribute value can be
/// told apart from chance (with 4 against 4, even a value on every report of the bucket and
/// none elsewhere has Fisher p = 0.029 before any correction over the values tested), so
/// nothing is shown.
pub const MIN_CORRELATION_REPORTS: u64 = 5;

/// The top correlations (`agx-triage correlate`'s figures: store counts, Fisher p, BH q) of
/// the largest buckets with enough reports. Redacted writeups leave out the attributes that
/// hold free text (process names, round configuration values): they come from reports and
/// rounds outside the writeup, which the redactor has not learned from.
fn correlations(
    store: &Store,
    buckets: &[BucketSection],
    redact: bool,
) -> Result<Vec<BucketCorrelations>, GatherError> {
    let mut out = Vec::new();
    for b in buckets.iter().take(CORRELATED_BUCKETS) {
        if b.signature.starts_with('(') {
            // "(not ingested)" and "(not bucketed)" are not buckets of the store.
            continue;
        }
        let bucket = match &b.pattern {
            Some(p) => BucketRef::Pattern(p.clone()),
            None => BucketRef::Signature(b.signature.clone()),
        };
        let bucket_reports = store.bucket_crash_count(&bucket)?;
        let mut rows = store.correlation_counts(&bucket)?;
        if redact {
            rows.retain(|r| r.attribute != "process" && !r.attribute.starts_with("config "));
        }
        let other_reports = rows.iter().map(|r| r.elsewhere_total).max().unwrap_or(0);
        if bucket_reports < MIN_CORRELATION_REPORTS || other_reports < MIN_CORRELATION_REPORTS {
            continue;
        }
        let mut top = stats::correlate::correlate(&rows)?;
        let values_tested = top.len() as u64;
        top.truncate(CORRELATIONS_SHOWN);
        if top.is_empty() {
            continue;
        }
        out.push(BucketCorrelations {
            signature: b.signature.clone(),
            pattern: b.pattern.clone(),
            bucket_reports,
            other_reports,
            values_tested,
            top,
        });
    }
    Ok(out)
}

/// One entry per fix version (that ran rounds) and bucket (seen under any of them), zero
/// counts included, each with its crashes per 100 rounds and exact 95% interval.
fn fix_bucket_rates(
    fix_rounds: &BTreeMap<String, u64>,
    by_fix: &BTreeMap<(String, String), u64>,
) -> Vec<FixBucketCount> {
    let buckets: BTreeSet<&String> = by_fix.keys().map(|(_, b)| b).collect();
    let mut out = Vec::new();
    for (fix, &n) in fix_rounds {
        for bucket in &buckets {
            let count = by_fix
                .get(&(fix.clone(), (*bucket).clone()))
                .copied()
                .unwrap_or(0);
            out.push(FixBucketCount {
                fix: fix.clone(),
                bucket: (*bucket).clone(),
                count,
                rounds: n,
                rate: stats::intervals::crash_rate_per_100(count, n).ok(),
            });
        }
    }
    out
}

/// Let the redactor learn from any stored data (a report, a round, source paths).
fn learn<T: serde::Serialize>(r: &mut Redactor, v: &T) -> Result<(), GatherError> {
    // Serialising plain data cannot fail; if it ever did, learning less must not pass
    // silently, so it is an error like a rule that does not build.
    let v = serde_json::to_value(v).map_err(|e| {
        GatherError::Redact(crate::writeup::redact::RedactError::Learn(e.to_string()))
    })?;
    r.learn_json(&v)?;
    Ok(())
}

fn unreachable_none() -> (RoundSelector, String) {
    (RoundSelector::All, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: every round was counted under its host's OS as stored now, so a machine
    // updated from macOS 15.6 to 26.1 had its 15.6 failures counted against 26.1.
    #[test]
    fn each_round_counts_under_the_os_it_ran_under() {
        use crate::host::{HostInfo, LocalHost};
        use crate::rounds::{Attempt, Round};
        use crate::store::{Create, RoundMeta, RoundSelector};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let mac = |os: &str| HostInfo {
            name: "mac-a".into(),
            machine_id: Some("UUID-A".into()),
            os: Some(os.into()),
            ..HostInfo::default()
        };
        let round = |n: i64, pass: bool| Round {
            number: n,
            attempts: vec![Attempt {
                exit_code: Some(if pass { 0 } else { 1 }),
                ..Attempt::default()
            }],
            ..Round::default()
        };
        for (os, rounds) in [
            ("macOS 15.6", [(1, true), (2, false)]),
            ("macOS 26.1", [(3, true), (4, true)]),
        ] {
            let mut s = Store::open_as(&db, Create::File, LocalHost::known(mac(os))).unwrap();
            for (n, pass) in rounds {
                s.save_round(&round(n, pass), &RoundMeta::default(), false)
                    .unwrap();
            }
        }
        // Another machine, so the writeup has machines to break down by.
        let mut s = Store::open_as(
            &db,
            Create::File,
            LocalHost::known(HostInfo {
                name: "mac-b".into(),
                machine_id: Some("UUID-B".into()),
                os: Some("macOS 15.6".into()),
                ..HostInfo::default()
            }),
        )
        .unwrap();
        s.save_round(&round(1, true), &RoundMeta::default(), false)
            .unwrap();
        let rounds = s.rounds(&RoundSelector::All).unwrap();
        let by_os = breakdowns(&s, &rounds)
            .unwrap()
            .into_iter()
            .find(|b| b.by == "OS")
            .unwrap();
        let counts: Vec<(String, u64)> = by_os
            .rows
            .iter()
            .map(|r| (r.value.clone(), r.raw.rounds))
            .collect();
        assert_eq!(
            counts,
            vec![("macOS 15.6".to_string(), 3), ("macOS 26.1".to_string(), 2)]
        );
    }

    #[test]
    fn pytorch_ops_from_frames() {
        assert_eq!(
            pytorch_op("at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>)"),
            Some("layer_norm_mps".into())
        );
        assert_eq!(
            pytorch_op("at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)"),
            Some("gatherViewTensor".into())
        );
        assert_eq!(
            pytorch_op("-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]"),
            None
        );
    }
}
