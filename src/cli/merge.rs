//! `agx-triage merge OTHER.db...`: fold other machines' databases into `--db`
//! (docs/FLEET.md).
//!
//! Exit codes: 0 when every source merged with no conflict; 1 when a source could not be read
//! (missing, not an agx-triage database, the target itself) or some item conflicted or failed
//! (everything else was merged); 2 when the target failed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use agx_triage::ops::merge::{merge_from, Counts, MergeError, MergeSummary};
use agx_triage::store::Store;

use super::{open_store, Cli, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The databases to fold in (only read, never changed).
    #[arg(required = true, value_name = "OTHER.db")]
    others: Vec<PathBuf>,
    /// The host of the rounds of a database written before rounds recorded their host
    /// (such a database with rounds is refused without it).
    #[arg(long = "host", value_name = "NAME", value_parser = agx_triage::host::check_name)]
    host: Option<String>,
    /// Print counts as JSON.
    #[arg(long)]
    json: bool,
}

/// One source in `merge --json`.
#[derive(Serialize)]
struct SourceJson {
    /// Why the source could not be merged at all (`null` when it was).
    error: Option<String>,
    #[serde(flatten)]
    summary: MergeSummary,
    path: String,
}

/// `merge --json`.
#[derive(Serialize)]
struct MergeJson {
    sources: Vec<SourceJson>,
    total: Total,
}

#[derive(Serialize)]
struct Total {
    fixes: Counts,
    hosts: Counts,
    reports: Counts,
    rounds: Counts,
    sources_added: usize,
    unreadable_sources: usize,
}

pub fn run(cli: &Cli, a: &Args) -> Result<Exit> {
    let mut target = open_store(cli)?;
    let bucketer = super::buckets::bucketer(cli)?;
    let mut out = super::term::stdout(a.json);
    let mut sources = Vec::new();
    let mut total = MergeSummary::default();
    let mut unreadable = 0;
    for other in &a.others {
        let server = agx_triage::store::is_server_url(other);
        // A URL names a server, and may hold a password: never shown as given.
        let shown = if server {
            agx_triage::store::redact_url(&other.to_string_lossy())
        } else {
            other.display().to_string()
        };
        let result = if server {
            Err(anyhow::anyhow!(
                "{shown} is a PostgreSQL server; merge reads database files (machines that \
                 share a server write to it directly, docs/FLEET.md)"
            ))
        } else if target.is_same_file(other) {
            Err(anyhow::anyhow!(
                "{shown} is the --db database itself; nothing to merge"
            ))
        } else {
            Store::open_merge_source(other, a.host.as_deref())
                .map_err(anyhow::Error::new)
                .and_then(|src| {
                    if a.host.is_some() && !src.needs_host() {
                        let _ = writeln!(
                            super::term::stderr(),
                            "warning: {shown}: its rounds name their hosts; --host applies only \
                             to databases from before hosts existed, and is ignored for it"
                        );
                    }
                    match merge_from(&mut target, &src.store, &bucketer) {
                        Ok(s) => Ok(s),
                        // The source is damaged: what was merged from it stays, the rest of
                        // it is not merged, and the next source is.
                        Err(MergeError::Source { source, merged }) => Err(PartlyMerged {
                            error: anyhow::Error::new(source)
                                .context("cannot read the rest of this database"),
                            merged,
                        }
                        .into()),
                        Err(e) => Err(Fatal(anyhow::Error::new(e)).into()),
                    }
                })
        };
        match result {
            Ok(s) => {
                total.add_counts(&s);
                if !a.json {
                    write_text(&mut out, &shown, &s)?;
                }
                sources.push(SourceJson {
                    error: None,
                    summary: s,
                    path: shown,
                });
            }
            Err(e) if e.is::<Fatal>() => {
                return Err(e).with_context(|| format!("merging {shown}"));
            }
            Err(e) => match e.downcast::<PartlyMerged>() {
                Ok(p) => {
                    unreadable += 1;
                    let why = format!("{:#}", p.error);
                    let _ = writeln!(super::term::stderr(), "error: {shown}: {why}");
                    total.add_counts(&p.merged);
                    if !a.json {
                        write_text(&mut out, &shown, &p.merged)?;
                    }
                    sources.push(SourceJson {
                        error: Some(why),
                        summary: *p.merged,
                        path: shown,
                    });
                }
                Err(e) => {
                    unreadable += 1;
                    let why = super::error_text(&e);
                    let _ = writeln!(super::term::stderr(), "error: {shown}: {why}");
                    sources.push(SourceJson {
                        error: Some(why),
                        summary: MergeSummary::default(),
                        path: shown,
                    });
                }
            },
        }
    }
    let troubled = unreadable > 0 || sources.iter().any(|s| !s.summary.problems.is_empty());
    if a.json {
        let v = MergeJson {
            total: Total {
                fixes: total.fixes,
                hosts: total.hosts,
                reports: total.reports,
                rounds: total.rounds,
                sources_added: total.sources_added,
                unreadable_sources: unreadable,
            },
            sources,
        };
        super::term::print_json(&mut out, &v)?;
    }
    Ok(if troubled { Exit::Partial } else { Exit::Ok })
}

/// A failure of the target (the merge stops), told apart from a source that cannot be read
/// (that source is skipped).
#[derive(Debug)]
struct Fatal(anyhow::Error);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Fatal {}

/// A source that could be read only partway: what was merged from it, and why the rest was
/// not.
#[derive(Debug)]
struct PartlyMerged {
    error: anyhow::Error,
    merged: Box<MergeSummary>,
}

impl std::fmt::Display for PartlyMerged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for PartlyMerged {}

fn write_text(out: &mut impl Write, shown: &str, s: &MergeSummary) -> Result<()> {
    writeln!(out, "{shown}:")?;
    for (kind, c) in [
        ("hosts", s.hosts),
        ("fixes", s.fixes),
        ("reports", s.reports),
        ("rounds", s.rounds),
    ] {
        write!(
            out,
            "  {kind:<8} {} added, {} already here, {} conflict(s)",
            c.added, c.already, c.conflicts
        )?;
        if c.failed > 0 {
            write!(out, ", {} failed", c.failed)?;
        }
        writeln!(out)?;
    }
    writeln!(out, "  sources  {} path(s) added", s.sources_added)?;
    for p in &s.problems {
        // Keys and reasons carry another database's data: one line each, whatever they hold.
        writeln!(
            out,
            "  {} {} {}: {}",
            p.status,
            p.kind,
            super::term::escape_cell(&p.key),
            super::term::escape_cell(&p.reason)
        )?;
    }
    Ok(())
}
