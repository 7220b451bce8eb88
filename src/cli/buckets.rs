//! `agx-triage buckets` and `agx-triage rebucket`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};

use agx_triage::bucket;
use agx_triage::ingest::Bucketer;
use agx_triage::store::BucketFilter;

use super::round::parse_range;
use super::term::TermCell;
use super::{ellipsize, open_store, open_store_read, parse_since, table, Cli, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Only reports captured since T (2026-11-02, RFC 3339, or an age like 7d).
    #[arg(long, value_name = "T", value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// Only this process.
    #[arg(long, value_name = "NAME")]
    process: Option<String>,
    /// Only this known pattern (rule id).
    #[arg(long, value_name = "ID")]
    pattern: Option<String>,
    /// Only reports attributed to this round.
    #[arg(long, value_name = "N", conflicts_with = "rounds")]
    round: Option<i64>,
    /// Only reports attributed to rounds in A-B.
    #[arg(long, value_name = "A-B", value_parser = parse_range)]
    rounds: Option<(i64, i64)>,
    /// Only reports of this fix version (linked by UUID, or attributed to its rounds).
    #[arg(long, value_name = "NAME")]
    fix: Option<String>,
    /// With --fix: also count reports of its rounds whose fix never confirmed it loaded.
    #[arg(long, requires = "fix")]
    include_unconfirmed: bool,
    /// Only reports attributed to rounds this selector picks: rounds:A-B, batch:LABEL,
    /// fix:NAME, host:NAME, native, joined with `,` (all must hold), e.g. `host:mac-a,fix:v2.4`.
    #[arg(long, value_name = "SEL", value_parser = super::round::parse_selector)]
    select: Option<agx_triage::store::RoundSelector>,
}

pub fn run(cli: &Cli, a: &Args) -> Result<Exit> {
    let store = open_store_read(cli)?;
    let f = BucketFilter {
        since: a
            .since
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        process: a.process.clone(),
        pattern: a.pattern.clone(),
        rounds: a.rounds.or(a.round.map(|n| (n, n))),
        fix: a.fix.clone(),
        include_unconfirmed: a.include_unconfirmed,
        select: a.select.clone(),
    };
    if let Some(n) = a.round {
        super::round::warn_ambiguous(&store, &agx_triage::store::RoundSelector::Range(n, n))?;
    }
    if let Some(sel) = &a.select {
        super::round::warn_ambiguous(&store, sel)?;
    }
    let rows = store.buckets(&f)?;
    if let Some(fix) = &a.fix {
        // Say how many of the fix's rounds had their reports left out (or counted) as
        // unconfirmed; a report that lists the build still counts through its UUID.
        let rounds = store.rounds(&agx_triage::store::RoundSelector::Fix(fix.clone()))?;
        let (_, unconfirmed) =
            agx_triage::rounds::handshake::partition(rounds, a.include_unconfirmed, |r| {
                (
                    r.round.number,
                    r.round.fix.as_deref(),
                    r.round.fix_confirmed,
                )
            });
        if let Some(w) = unconfirmed.warning() {
            let _ = writeln!(super::term::stderr(), "agx-triage: warning: {w}");
        }
    }
    let mut out = super::term::stdout(a.json);
    if a.json {
        super::term::print_json(&mut out, &rows)?;
        return Ok(Exit::Ok);
    }
    let mut t = table();
    t.set_header(vec![
        "count",
        "pattern",
        "signature",
        "processes",
        "first seen",
        "last seen",
        "example",
    ]);
    for b in &rows {
        // The id above its title: a line break of ours, escaped data on each line.
        let pattern = match (&b.pattern, &b.pattern_title) {
            (Some(id), Some(title)) => TermCell::lines([id.as_str(), title.as_str()]),
            (Some(id), None) => TermCell::from(id),
            _ => TermCell::from("—"),
        };
        let day = |s: &Option<String>| {
            s.as_deref()
                .map(|t| t.get(..10).unwrap_or(t).to_string())
                .unwrap_or_default()
        };
        t.add_row(vec![
            TermCell::from(b.count.to_string()),
            pattern,
            TermCell::from(ellipsize(&b.signature, 90)),
            TermCell::from(b.processes.to_string()),
            TermCell::from(day(&b.first_seen)),
            TermCell::from(day(&b.last_seen)),
            TermCell::from(b.example_report.to_string()),
        ]);
    }
    writeln!(out, "{t}")?;
    let total: i64 = rows.iter().map(|b| b.count).sum();
    let named = rows.iter().filter(|b| b.pattern.is_some()).count();
    writeln!(
        out,
        "{total} crash report(s) in {} bucket(s), {named} named by a known pattern",
        rows.len()
    )?;
    Ok(Exit::Ok)
}

#[derive(clap::Args, Debug)]
pub struct RebucketArgs {
    /// Print which buckets split, merged, appeared and vanished.
    #[arg(long)]
    diff: bool,
    /// Compute and show, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the diff as JSON.
    #[arg(long)]
    json: bool,
}

/// The rules and frame lists in force: the shipped ones, extended (user rules first) by
/// `rules.toml` next to the database and by `--rules FILE`.
pub fn bucketer(cli: &Cli) -> Result<Bucketer> {
    let mut b = Bucketer::builtin();
    let mut files: Vec<PathBuf> = Vec::new();
    // A PostgreSQL URL has no folder: its rules come from --rules only.
    if let Some(db) = cli
        .db_path()
        .ok()
        .filter(|d| !agx_triage::store::is_server_url(d))
    {
        if let Some(dir) = db.parent() {
            let beside = dir.join("rules.toml");
            if beside.is_file() {
                files.push(beside);
            }
        }
    }
    if let Some(r) = &cli.rules {
        files.push(r.clone());
    }
    for f in files {
        // A regular file under a size cap: a FIFO hung here and /dev/zero grew without end.
        let text = super::read_regular_file("rules file", &f, super::MAX_RULES_FILE)?;
        let set = bucket::RuleSet::from_toml(&text, &f.display().to_string())?;
        b.rules.extend(set);
    }
    Ok(b)
}

pub fn rebucket(cli: &Cli, a: &RebucketArgs) -> Result<Exit> {
    // A dry run writes nothing, so it creates no database either.
    let mut store = if a.dry_run {
        open_store_read(cli)?
    } else {
        open_store(cli)?
    };
    let bucketer = bucketer(cli)?;
    let r = agx_triage::ops::rebucket::rebucket(&mut store, &bucketer, a.dry_run)?;
    let mut out = super::term::stdout(a.json);
    if a.json {
        super::term::print_json(&mut out, &r.diff)?;
    } else {
        if a.diff || a.dry_run {
            writeln!(out, "{}", diff_table(&r.diff))?;
        }
        writeln!(
            out,
            "{} report(s) rebucketed, {} changed{}{}",
            r.reports,
            r.changed,
            if a.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            },
            if r.failed > 0 {
                format!(", {} could not be re-parsed", r.failed)
            } else {
                String::new()
            }
        )?;
    }
    Ok(if r.failed > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// A bucket as a table cell: `pattern: signature`, or the signature.
fn bucket_cell(signature: &str, pattern: Option<&str>) -> String {
    match pattern {
        Some(p) => format!("{p}: {}", ellipsize(signature, 60)),
        None => ellipsize(signature, 70),
    }
}

/// A rebucket diff as a table: one row per bucket that split, merged, was renamed, appeared or
/// vanished, with the reports it holds; then the totals.
fn diff_table(d: &bucket::BucketDiff) -> String {
    let mut t = table();
    t.set_header(vec!["change", "before", "after", "reports"]);
    let list = |v: &[bucket::BucketReports]| {
        v.iter()
            .map(|b| {
                format!(
                    "{} ({})",
                    bucket_cell(&b.signature, b.pattern.as_deref()),
                    b.reports
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for s in &d.split {
        t.add_row(vec![
            "split".to_string(),
            bucket_cell(&s.signature, s.pattern.as_deref()),
            list(&s.into),
            s.reports.to_string(),
        ]);
    }
    for m in &d.merged {
        t.add_row(vec![
            "merged".to_string(),
            list(&m.from),
            bucket_cell(&m.signature, m.pattern.as_deref()),
            m.reports.to_string(),
        ]);
    }
    for r in &d.renamed {
        t.add_row(vec![
            "renamed".to_string(),
            ellipsize(&r.old_signature, 70),
            ellipsize(&r.new_signature, 70),
            r.reports.to_string(),
        ]);
    }
    for b in &d.appeared {
        t.add_row(vec![
            "appeared".to_string(),
            String::new(),
            bucket_cell(&b.signature, b.pattern.as_deref()),
            b.reports.to_string(),
        ]);
    }
    for b in &d.vanished {
        t.add_row(vec![
            "vanished".to_string(),
            bucket_cell(&b.signature, b.pattern.as_deref()),
            String::new(),
            b.reports.to_string(),
        ]);
    }
    let mut o = String::new();
    if t.row_count() > 0 {
        o.push_str(&format!("{t}\n"));
    }
    // Reports whose signature or pattern changed (a pattern can change without any bucket
    // moving), a table of their own.
    if !d.changed_reports.is_empty() {
        let mut r = table();
        r.set_header(vec!["report", "before", "after"]);
        for c in &d.changed_reports {
            r.add_row(vec![
                c.report_id.clone(),
                bucket_cell(&c.old_signature, c.old_pattern.as_deref()),
                bucket_cell(&c.new_signature, c.new_pattern.as_deref()),
            ]);
        }
        o.push_str(&format!("{r}\n"));
    }
    if d.is_empty() {
        o.push_str("no bucket changed\n");
    }
    format!(
        "{o}{} report(s) compared ({} only before, {} only after), {} changed signature \
         or pattern; {} bucket(s) before, {} after",
        d.reports_compared,
        d.only_before.len(),
        d.only_after.len(),
        d.changed_reports.len(),
        d.buckets_before,
        d.buckets_after
    )
}
