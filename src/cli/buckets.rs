//! `agx-triage buckets` and `agx-triage rebucket`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};

use agx_triage::bucket::{self, diff};
use agx_triage::crash;
use agx_triage::ingest::Bucketer;
use agx_triage::store::{BucketFields, BucketFilter};

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
    };
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
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
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
    if let Ok(db) = cli.db_path() {
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
    let mut store = open_store(cli)?;
    let bucketer = bucketer(cli)?;
    let inputs = store.bucket_inputs()?;
    let mut before = Vec::with_capacity(inputs.len());
    let mut after = Vec::with_capacity(inputs.len());
    let mut updates: Vec<(i64, BucketFields)> = Vec::new();
    let mut failed = 0usize;
    let mut cache: HashMap<String, Vec<crash::CrashReport>> = HashMap::new();
    for inp in &inputs {
        if !cache.contains_key(&inp.file_sha256) {
            cache.clear(); // inputs are grouped by file: keep one file's reports at a time
            let parsed = store
                .file_bytes(&inp.file_sha256)
                .ok()
                .and_then(|b| crash::parse(&b).ok())
                .unwrap_or_default();
            cache.insert(inp.file_sha256.clone(), parsed);
        }
        let Some(report) = cache
            .get(&inp.file_sha256)
            .and_then(|v| v.get(inp.file_index))
        else {
            failed += 1;
            continue;
        };
        let Some(fields) = bucketer.fields(report) else {
            continue;
        };
        before.push((
            inp.id.to_string(),
            inp.signature.clone().unwrap_or_default(),
            inp.pattern.clone(),
        ));
        after.push((
            inp.id.to_string(),
            fields.signature.clone(),
            fields.pattern.clone(),
        ));
        if inp.signature.as_deref() != Some(fields.signature.as_str())
            || inp.pattern != fields.pattern
        {
            updates.push((inp.id, fields));
        }
    }
    let d = diff(&before, &after);
    let mut out = super::term::stdout(a.json);
    if a.json {
        serde_json::to_writer_pretty(&mut out, &d)?;
        writeln!(out)?;
    } else if a.diff || a.dry_run {
        writeln!(out, "{}", serde_yaml_like(&d))?;
    }
    if !a.dry_run {
        let tx = store.begin_write()?;
        for (id, f) in &updates {
            tx.set_bucket(*id, f)?;
        }
        tx.commit()?;
    }
    if !a.json {
        writeln!(
            out,
            "{} report(s) rebucketed, {} changed{}{}",
            before.len(),
            updates.len(),
            if a.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            },
            if failed > 0 {
                format!(", {failed} could not be re-parsed")
            } else {
                String::new()
            }
        )?;
    }
    Ok(if failed > 0 { Exit::Partial } else { Exit::Ok })
}

/// A readable rendering of a bucket diff.
fn serde_yaml_like(d: &bucket::BucketDiff) -> String {
    let v = serde_json::to_value(d).unwrap_or_default();
    let mut o = String::new();
    if let serde_json::Value::Object(m) = v {
        for (k, v) in m {
            match v {
                serde_json::Value::Array(items) => {
                    o.push_str(&format!("{k}: {}\n", items.len()));
                    for it in items {
                        o.push_str(&format!("  - {it}\n"));
                    }
                }
                other => o.push_str(&format!("{k}: {other}\n")),
            }
        }
    }
    o
}
