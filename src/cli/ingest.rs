//! `agx-triage ingest`: files or folders into the database, with a summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use agx_triage::ingest::{self, IngestOptions, IngestSummary, Progress, WatchState};

use super::{open_store, table, Cli, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or folders (walked recursively). Default: the macOS DiagnosticReports folders
    /// (~/Library/Logs/DiagnosticReports, /Library/Logs/DiagnosticReports and their Retired).
    paths: Vec<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Keep running and ingest reports as they land (polls every --interval seconds).
    #[arg(long)]
    watch: bool,
    /// Seconds between polls with --watch (at least 0.1).
    #[arg(long, default_value = "2", value_name = "SECS", value_parser = parse_interval)]
    interval: Duration,
    /// Worker threads (default: number of CPUs).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// `--interval`: finite seconds, more than 0 (`inf` panicked).
fn parse_interval(s: &str) -> Result<Duration, String> {
    super::parse_secs(s, true)
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn discovered(&self, _path: &Path) {
        self.0.inc_length(1);
    }
    fn processed(&self, _path: &Path) {
        self.0.inc(1);
    }
}

pub fn run(cli: &Cli, args: &Args) -> Result<Exit> {
    let paths = if args.paths.is_empty() {
        let dirs = ingest::default_report_dirs();
        if dirs.is_empty() {
            anyhow::bail!(
                "no paths given and no DiagnosticReports folder found (looked in \
                 ~/Library/Logs/DiagnosticReports and /Library/Logs/DiagnosticReports)"
            );
        }
        dirs
    } else {
        args.paths.clone()
    };
    let mut store = open_store(cli)?;
    // Every report this run stores names this machine as its ingesting host, in the report's
    // own transaction (docs/FLEET.md); a host name taken by another machine stops here, before
    // anything is written.
    store.ingest_as_local_host()?;
    let mut opts = IngestOptions::default();
    if let Some(n) = args.threads {
        opts.threads = n.max(1);
    }
    opts.bucketer = Some(std::sync::Arc::new(super::buckets::bucketer(cli)?));
    let symdir = store.symbols_dir();
    if symdir.is_dir() {
        opts.symbols = Some(std::sync::Arc::new(
            agx_triage::symbols::SymbolStore::open(&symdir)
                .with_context(|| format!("opening symbol store {}", symdir.display()))?,
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Ctrl-C only sets a flag: the writer commits the batch in hand and returns, so
        // nothing is left half-written. A second Ctrl-C is not needed: batches are short.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    if args.watch {
        return watch(&mut store, &paths, &opts, &stop, args);
    }
    let bar = progress_bar(args.json);
    let summary =
        ingest::ingest_into(&mut store, &paths, &opts, &bar, &stop).context("ingest failed")?;
    bar.0.finish_and_clear();
    print_summary(&summary, args.json)?;
    Ok(if summary.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    })
}

fn progress_bar(json: bool) -> Bar {
    if json || !std::io::stderr().is_terminal() {
        return Bar(ProgressBar::hidden());
    }
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    Bar(pb)
}

fn print_summary(s: &IngestSummary, json: bool) -> Result<()> {
    let mut out = super::term::stdout(json);
    if json {
        super::term::print_json(&mut out, s)?;
        return Ok(());
    }
    let mut t = table();
    t.set_header(vec![
        "scanned",
        "new",
        "duplicates",
        "GPU events/other",
        "failed",
    ]);
    t.add_row(vec![
        s.scanned.to_string(),
        s.new.to_string(),
        s.duplicates.to_string(),
        format!("{}/{}", s.gpu_events, s.other),
        s.failed.len().to_string(),
    ]);
    writeln!(out, "{t}")?;
    if s.with_warnings > 0 {
        writeln!(
            out,
            "{} report(s) stored with parse warnings (see `agx-triage show ID`)",
            s.with_warnings
        )?;
    }
    drop(out);
    let mut err = super::term::stderr();
    for f in &s.failed {
        writeln!(err, "{f}")?;
    }
    Ok(())
}

fn watch(
    store: &mut agx_triage::store::Store,
    paths: &[PathBuf],
    opts: &IngestOptions,
    stop: &AtomicBool,
    args: &Args,
) -> Result<Exit> {
    let mut state = WatchState::default();
    let interval = args.interval.max(Duration::from_millis(100));
    let mut any_failed = false;
    // Through the escaping sink: a folder name is user data and may hold control characters.
    let _ = writeln!(
        super::term::stderr(),
        "watching {} (Ctrl-C to stop)",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    while !stop.load(Ordering::SeqCst) {
        let changed = state.changed_files(paths);
        if !changed.is_empty() {
            let s = ingest::ingest_into(store, &changed, opts, &ingest::NoProgress, stop)
                .context("ingest failed")?;
            any_failed |= !s.failed.is_empty();
            if s.new + s.non_crash + s.duplicates > 0 || !s.failed.is_empty() {
                let mut out = super::term::stdout(args.json);
                if args.json {
                    // `--watch --json` is a stream: one compact object per line (JSON Lines),
                    // not the pretty form of `print_json`.
                    serde_json::to_writer(&mut out, &s)?;
                    writeln!(out)?;
                } else {
                    writeln!(
                        out,
                        "{}  new {}  duplicates {}  GPU events/other {}/{}  failed {}",
                        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"),
                        s.new,
                        s.duplicates,
                        s.gpu_events,
                        s.other,
                        s.failed.len()
                    )?;
                }
                for f in &s.failed {
                    let _ = writeln!(super::term::stderr(), "{f}");
                }
            }
        }
        // Sleep in short steps so Ctrl-C is seen promptly.
        let mut slept = Duration::ZERO;
        while slept < interval && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            slept += Duration::from_millis(100);
        }
    }
    Ok(if any_failed { Exit::Partial } else { Exit::Ok })
}
