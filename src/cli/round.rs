//! `agx-triage round run|record|import` and `agx-triage rounds`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regex::Regex;
use serde::Serialize;

use agx_triage::ingest;
use agx_triage::ops::rounds::StoreSource;
use agx_triage::rounds::import::parse_jsonl_lines;
use agx_triage::rounds::model::{signal_name, signal_number, Attempt, Round};
use agx_triage::rounds::runner::{run_round, OutputStream, RetryOn, RunConfig};
use agx_triage::store::{RoundMeta, RoundSelector, SavedRound, Store, StoreError};

use super::{open_store, open_store_as, open_store_read, parse_secs, table, Cli, Exit};

#[derive(clap::Subcommand, Debug)]
pub enum RoundCmd {
    /// Run a test command as one round: retries, crash-report attribution, outcome.
    Run(Box<RunArgs>),
    /// Record one round by hand.
    Record(RecordArgs),
    /// Import rounds from a JSON-lines file (schema: docs/ROUNDS.md).
    Import {
        /// The file (`-` for standard input).
        file: PathBuf,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
        /// Overwrite stored rounds with the same host and number and different content
        /// (without it, such a line is a conflict and the stored round is kept).
        #[arg(long)]
        replace: bool,
        /// The host of the rounds that do not name one (default: this machine).
        #[arg(long = "host", value_name = "NAME", value_parser = agx_triage::host::check_name)]
        host: Option<String>,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Round number (unique: a stored round with this number is refused before anything runs,
    /// unless --replace).
    #[arg(long = "round", value_name = "N")]
    number: i64,
    /// Replace a stored round with this number.
    #[arg(long)]
    replace: bool,
    /// This machine's name in the database (default: $AGX_TRIAGE_HOST, else the hostname);
    /// a chosen name renames this machine's host (docs/FLEET.md).
    #[arg(long = "host", value_name = "NAME", value_parser = agx_triage::host::check_name)]
    pub(crate) host: Option<String>,
    /// Batch label (e.g. 1820-1829).
    #[arg(long)]
    batch: Option<String>,
    /// Registered fix version to inject (see `agx-triage fix list`).
    #[arg(long, conflicts_with = "dylib", value_name = "NAME")]
    fix: Option<String>,
    /// Fix dylib to inject with DYLD_INSERT_LIBRARIES.
    #[arg(long, value_name = "PATH")]
    dylib: Option<PathBuf>,
    /// Attempt budget (1 = no retries).
    #[arg(long, default_value_t = 1, value_name = "K")]
    max_attempts: u32,
    /// Retry only crashed attempts (signal or crash report), or every failed one.
    #[arg(long, value_enum, default_value_t = RetryPolicy::Crash)]
    retry_on: RetryPolicy,
    /// Folder where crash reports land (repeatable; default: DiagnosticReports).
    #[arg(long = "reports-dir", value_name = "DIR")]
    reports_dirs: Vec<PathBuf>,
    /// Seconds to wait after an attempt for ReportCrash to write its reports.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = parse_wait)]
    crash_wait: Duration,
    /// Kill an attempt (and everything it started) that runs longer than this many seconds
    /// (counts as a crash).
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// Configuration key=value recorded with the round (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_kv)]
    set: Vec<(String, String)>,
    /// Extra figure to read from the output: NAME=REGEX (first capture group; repeatable).
    /// With --until-decided, `raw` or `eventual` picks the pass rate compared.
    #[arg(long = "metric", value_name = "NAME=REGEX", value_parser = until_decided::parse_metric)]
    metrics: Vec<until_decided::MetricArg>,
    /// Regex for the efficiency line (first capture group, in percent).
    #[arg(long, value_name = "REGEX")]
    efficiency_pattern: Option<String>,
    /// The suite's JSON results file to store with the round.
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    /// Print the round as JSON at the end.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    seq: until_decided::SeqArgs,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

mod until_decided;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum RetryPolicy {
    Crash,
    Fail,
}

#[derive(clap::Args, Debug)]
pub struct RecordArgs {
    /// Round number.
    #[arg(long = "round", value_name = "N")]
    number: i64,
    /// Replace a stored round with this number and different content.
    #[arg(long)]
    replace: bool,
    /// The host the round ran on (default: this machine).
    #[arg(long = "host", value_name = "NAME", value_parser = agx_triage::host::check_name)]
    host: Option<String>,
    #[arg(long)]
    batch: Option<String>,
    /// Fix version name (omit for native).
    #[arg(long, value_name = "NAME")]
    fix: Option<String>,
    #[arg(long)]
    efficiency: Option<f64>,
    /// Configuration key=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_kv)]
    set: Vec<(String, String)>,
    /// One attempt, in order (repeatable): `exit=0`, `signal=SIGSEGV`,
    /// `exit=0,reports=INCIDENT+INCIDENT`.
    #[arg(long = "attempt", required = true, value_name = "SPEC", value_parser = parse_attempt)]
    attempts: Vec<Attempt>,
}

/// `--crash-wait`: seconds, 0 or more.
fn parse_wait(s: &str) -> Result<Duration, String> {
    parse_secs(s, false)
}

/// `--timeout`: seconds, more than 0 (`nan`, `inf` and absurd figures are refused, not turned
/// into "kill at once").
fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_secs(s, true)
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn parse_attempt(s: &str) -> Result<Attempt, String> {
    let mut a = Attempt::default();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = parse_kv(part)?;
        match k.as_str() {
            "exit" => a.exit_code = Some(v.parse().map_err(|_| format!("bad exit code `{v}`"))?),
            "signal" => {
                a.signal = Some(match v.parse::<i32>() {
                    Ok(n) => n,
                    Err(_) => signal_number(&v).ok_or_else(|| format!("unknown signal `{v}`"))?,
                })
            }
            "reports" => {
                a.crash_reports = v
                    .split('+')
                    .filter(|r| !r.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "pid" => a.pid = Some(v.parse().map_err(|_| format!("bad pid `{v}`"))?),
            _ => {
                return Err(format!(
                    "unknown attempt field `{k}` (exit, signal, reports, pid)"
                ))
            }
        }
    }
    Ok(a)
}

pub fn run(cli: &Cli, cmd: &RoundCmd) -> Result<Exit> {
    match cmd {
        RoundCmd::Run(a) => run_cmd(cli, a),
        RoundCmd::Record(a) => record(cli, a),
        RoundCmd::Import {
            file,
            json,
            replace,
            host,
        } => import(cli, file, *json, *replace, host.as_deref()),
    }
}

/// A line on standard error through the escaping sink ([`super::term::stderr`]); a closed
/// stderr must not stop a round.
fn say(text: std::fmt::Arguments) {
    let _ = writeln!(super::term::stderr(), "{text}");
}

/// What to say about a round number that is stored already.
fn exists_hint(number: i64) -> String {
    format!("round {number} is already stored; choose another number, or --replace to overwrite it")
}

fn run_cmd(cli: &Cli, a: &RunArgs) -> Result<Exit> {
    if a.seq.until_decided {
        return until_decided::run(cli, a);
    }
    until_decided::refuse_sequential_args(a)?;
    let mut store = open_store_as(cli, a.host.as_deref())?;
    // Refuse before running: a round that runs for an hour and then cannot be stored is lost
    // (a host name taken by another machine, a number this machine has already).
    // The reports the round ingests name this machine as their ingesting host.
    store.ingest_as_local_host()?;
    if !a.replace && store.has_round(a.number)? {
        say(format_args!("error: {}", exists_hint(a.number)));
        return Ok(Exit::Partial);
    }
    let prepared = prepare(&store, a)?;
    let mut sink = |stream: OutputStream, line: &str| {
        // Stream the command's output through as it comes, on the stream it came on. A closed
        // terminal or pipe must not stop the round.
        let _ = match stream {
            OutputStream::Stdout => writeln!(std::io::stdout(), "{line}"),
            OutputStream::Stderr => writeln!(std::io::stderr(), "{line}"),
        };
    };
    let ran = match run_one(&mut store, a, &prepared, a.number, &[], &mut sink)? {
        RunOne::Stored(ran) => ran,
        RunOne::Interrupted => bail!(
            "interrupted: round {} was not stored (its processes were ended)",
            a.number
        ),
        RunOne::Exists(round, n) => {
            // Stored by someone else while this round ran: keep theirs, show ours.
            let _ = writeln!(
                super::term::stderr(),
                "error: {}; this run was not stored:",
                exists_hint(n)
            );
            let mut out = super::term::stdout(a.json);
            super::term::print_json(&mut out, &round_json(&round))?;
            return Ok(Exit::Partial);
        }
    };
    let (round, saved, fix_checks) = (ran.round, ran.saved, ran.fix_checks);
    let outcome = round.outcome();
    let mut out = super::term::stdout(a.json);
    if a.json {
        let mut v = round_json(&round);
        if !fix_checks.is_empty() {
            // Each attempt's handshake verdict, for scripts (not stored: see `fix_confirmed`).
            v.fix_checks = Some(&fix_checks);
        }
        super::term::print_json(&mut out, &v)?;
    } else {
        writeln!(
            out,
            "round {}: {}{} ({} attempt(s){})",
            round.number,
            outcome,
            if saved == SavedRound::Replaced {
                ", replaced the stored round"
            } else {
                ""
            },
            round.attempts.len(),
            round
                .efficiency
                .map(|e| format!(", efficiency {e}%"))
                .unwrap_or_default()
        )?;
        for (i, at) in round.attempts.iter().enumerate() {
            let fix = fix_checks
                .get(i)
                .map(|c| format!("; {c}"))
                .unwrap_or_default();
            writeln!(out, "  attempt {}: {}{fix}", at.index, attempt_text(at))?;
        }
        if let (Some(fix), Some(confirmed)) = (&round.fix, round.fix_confirmed) {
            if confirmed {
                writeln!(out, "  fix {fix}: confirmed it loaded in every attempt")?;
            } else {
                writeln!(
                    out,
                    "  fix {fix}: NOT confirmed (see the warnings); this round is left out of \
                     compare and report unless --include-unconfirmed"
                )?;
            }
        }
    }
    Ok(if outcome.is_eventual_pass() {
        Exit::Ok
    } else {
        Exit::Partial
    })
}

/// The run configuration of `round run` (and of each arm of `--until-decided`): the command,
/// retries, figures, the fix to inject and the report folders to watch.
struct Prepared {
    cfg: RunConfig,
    fix_name: Option<String>,
    dirs: Vec<PathBuf>,
}

/// One flag for the whole process: Ctrl-C (and SIGTERM) end the running attempt's whole
/// process group; the attempts run in groups of their own, so the terminal's Ctrl-C reaches
/// only this process. Set once, so every round of `--until-decided` sees it.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let handler_flag = Arc::clone(&flag);
        // Fails only when a handler is already set, which this process never does twice.
        let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
        flag
    }))
}

fn prepare(store: &Store, a: &RunArgs) -> Result<Prepared> {
    let mut cfg = RunConfig::new(a.command.clone());
    cfg.max_attempts = a.max_attempts.max(1);
    cfg.retry_on = match a.retry_on {
        RetryPolicy::Crash => RetryOn::Crash,
        RetryPolicy::Fail => RetryOn::Fail,
    };
    cfg.crash_wait = a.crash_wait;
    cfg.timeout = a.timeout;
    cfg.results_file = a.results.clone();
    if let Some(p) = &a.efficiency_pattern {
        cfg.efficiency = Regex::new(p).with_context(|| format!("bad --efficiency-pattern {p}"))?;
    }
    for (name, re) in a
        .metrics
        .iter()
        .filter_map(until_decided::MetricArg::extract)
    {
        cfg.metrics.push((
            name.clone(),
            Regex::new(re).with_context(|| format!("bad --metric {name}={re}"))?,
        ));
    }
    let fix_name = resolve_fix(store, a, &mut cfg)?;
    let dirs = if a.reports_dirs.is_empty() {
        ingest::default_report_dirs()
    } else {
        a.reports_dirs.clone()
    };
    if dirs.is_empty() {
        say(format_args!(
            "agx-triage: warning: no crash report folder to watch (none given and no \
             DiagnosticReports folder here): crashes can only be seen by signal"
        ));
    }
    cfg.interrupt = Some(interrupt_flag());
    Ok(Prepared {
        cfg,
        fix_name,
        dirs,
    })
}

/// A round run and stored.
struct RanRound {
    round: Round,
    saved: SavedRound,
    fix_checks: Vec<agx_triage::rounds::handshake::Check>,
}

enum RunOne {
    Stored(RanRound),
    /// Ctrl-C: its processes were ended, nothing stored.
    Interrupted,
    /// Another process stored this number meanwhile (the round run here, and the number).
    Exists(Round, i64),
}

/// Run round `number` as `round run` does and store it, with `extra` configuration keys.
fn run_one(
    store: &mut Store,
    a: &RunArgs,
    p: &Prepared,
    number: i64,
    extra: &[(String, String)],
    sink: &mut dyn FnMut(OutputStream, &str),
) -> Result<RunOne> {
    let mut source = StoreSource::new(store, p.dirs.clone(), |f| {
        let _ = writeln!(super::term::stderr(), "agx-triage: {f}");
    });
    let result = run_round(number, &p.cfg, &mut source, sink)?;
    // The source borrows the store; let go of it before the round is saved.
    drop(source);
    for w in &result.warnings {
        let _ = writeln!(super::term::stderr(), "agx-triage: warning: {w}");
    }
    if result.interrupted {
        return Ok(RunOne::Interrupted);
    }
    let mut round = result.round;
    // Saved as this machine's (found by identity first); the name it has is read back below.
    round.host = None;
    round.batch = a.batch.clone();
    round.fix = p.fix_name.clone();
    round.config = a
        .set
        .iter()
        .chain(extra)
        .cloned()
        .collect::<BTreeMap<_, _>>();
    // The locking mode the fix reported (per-encoder or global-lock), so rounds of the two
    // designs can be told apart; a value given with --set wins.
    if let Some(mode) = agx_triage::rounds::handshake::modes(&result.fix_checks) {
        round.config.entry("fix_mode".into()).or_insert(mode);
    }
    let meta = RoundMeta {
        source: "run".into(),
        command: Some(shell_words(&a.command)),
        max_attempts: Some(p.cfg.max_attempts),
        output_tail: Some(result.output_tail),
        // This machine's, filled in when the round is saved.
        hardware_model: None,
        os: None,
    };
    let saved = store.save_round(&round, &meta, a.replace);
    round.host = store
        .local_host_name()?
        .or_else(|| Some(store.local_host().name.clone()));
    match saved {
        Ok(saved) => Ok(RunOne::Stored(RanRound {
            round,
            saved,
            fix_checks: result.fix_checks,
        })),
        Err(StoreError::RoundExists(n)) => Ok(RunOne::Exists(round, n)),
        Err(e) => Err(e.into()),
    }
}

/// The fix name for the round, the dylib to inject and the slice UUIDs its handshake must
/// name: the registered build's for `--fix`, the file's own (read now) for `--dylib`.
fn resolve_fix(store: &Store, a: &RunArgs, cfg: &mut RunConfig) -> Result<Option<String>> {
    let name = if let Some(name) = &a.fix {
        let fix = store
            .fix(name)?
            .with_context(|| format!("no fix registered as {name} (see `agx-triage fix list`)"))?;
        let path = fix
            .path
            .with_context(|| format!("fix {name} was registered without a path"))?;
        cfg.fix_uuids = fix.slices.into_iter().map(|s| s.uuid).collect();
        // A build rebuilt in place since `fix add` would fail every handshake as "another
        // build"; say why before the round runs.
        match agx_triage::fixes::inspect(Path::new(&path)) {
            Ok(info) => {
                let now: Vec<String> = info.slices.into_iter().filter_map(|s| s.uuid).collect();
                if !now.iter().all(|u| cfg.fix_uuids.contains(u)) {
                    say(format_args!(
                        "agx-triage: warning: {path} is no longer the build registered as \
                         {name} (its UUIDs changed): its handshakes will not confirm {name}; \
                         register it again with `agx-triage fix add {path} --name NAME`"
                    ));
                }
            }
            Err(e) => say(format_args!(
                "agx-triage: warning: fix {name}: {e}; the fix will probably not load and the \
                 round not count as confirmed"
            )),
        }
        cfg.dylib = Some(PathBuf::from(path));
        name.clone()
    } else if let Some(p) = &a.dylib {
        if !p.is_file() {
            bail!("--dylib {}: no such file", p.display());
        }
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
        let info = agx_triage::fixes::inspect(&abs)?;
        cfg.fix_uuids = info.slices.into_iter().filter_map(|s| s.uuid).collect();
        cfg.dylib = Some(abs.clone());
        agx_triage::ops::fixes::name_for_dylib(store, &abs)?
    } else {
        return Ok(None);
    };
    if cfg.fix_uuids.is_empty() {
        say(format_args!(
            "agx-triage: warning: fix {name} has no LC_UUID, so its handshake cannot be checked \
             and the round will not count as confirmed"
        ));
    }
    Ok(Some(name))
}

fn shell_words(cmd: &[String]) -> String {
    cmd.iter()
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "'\"$\\".contains(c)) {
                format!("'{}'", w.replace('\'', "'\\''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn record(cli: &Cli, a: &RecordArgs) -> Result<Exit> {
    let mut store = open_store(cli)?;
    let mut attempts = a.attempts.clone();
    for (i, at) in attempts.iter_mut().enumerate() {
        at.index = i as u32 + 1;
    }
    let round = Round {
        number: a.number,
        batch: a.batch.clone(),
        fix: a.fix.clone().filter(|f| f != "native"),
        config: a.set.iter().cloned().collect(),
        efficiency: a.efficiency,
        attempts,
        host: a.host.clone(),
        ..Round::default()
    };
    let meta = RoundMeta {
        source: "record".into(),
        ..RoundMeta::default()
    };
    let saved = match store.save_round(&round, &meta, a.replace) {
        Ok(saved) => saved,
        Err(StoreError::RoundExists(n)) => {
            say(format_args!(
                "error: round {n} is already stored with different content; kept it \
                 (--replace overwrites it)"
            ));
            return Ok(Exit::Partial);
        }
        Err(e) => return Err(e.into()),
    };
    writeln!(
        super::term::stdout(false),
        "round {}: {}{}",
        round.number,
        round.outcome(),
        match saved {
            SavedRound::Inserted => "",
            SavedRound::Unchanged => " (already stored, unchanged)",
            SavedRound::Replaced => " (replaced the stored round)",
        }
    )?;
    Ok(Exit::Ok)
}

fn import(
    cli: &Cli,
    file: &std::path::Path,
    json: bool,
    replace: bool,
    host: Option<&str>,
) -> Result<Exit> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        super::read_regular_file("rounds file", file, super::MAX_ROUNDS_FILE)?
    };
    let (mut rounds, mut errors) = parse_jsonl_lines(&text);
    if let Some(h) = host {
        for (_, r) in rounds.iter_mut() {
            r.host.get_or_insert_with(|| h.to_string());
        }
    }
    let mut store = open_store(cli)?;
    let (mut inserted, mut unchanged, mut replaced, mut conflicts) = (0, 0, 0, 0);
    let meta = RoundMeta {
        source: "import".into(),
        ..RoundMeta::default()
    };
    for (line, r) in &rounds {
        match store.save_round(r, &meta, replace) {
            Ok(SavedRound::Inserted) => inserted += 1,
            Ok(SavedRound::Unchanged) => unchanged += 1,
            Ok(SavedRound::Replaced) => replaced += 1,
            Err(StoreError::RoundExists(n)) => {
                conflicts += 1;
                errors.push(agx_triage::rounds::ImportError {
                    line: *line,
                    message: format!(
                        "round {n} is already stored with different content; kept the stored \
                         one (--replace overwrites it)"
                    ),
                });
            }
            Err(e) => {
                // A full disk or a lost database: what was stored stays stored (each round is
                // its own transaction); say how far it got.
                let stored = inserted + replaced;
                return Err(anyhow::Error::new(e).context(format!(
                    "{}:{line}: stopped storing rounds after {stored} of {} \
                     ({unchanged} already stored)",
                    file.display(),
                    rounds.len()
                )));
            }
        }
    }
    errors.sort_by_key(|e| e.line);
    let mut out = super::term::stdout(json);
    if json {
        let v = ImportJson {
            conflicts,
            failed: errors
                .iter()
                .map(|e| FailedLineJson {
                    error: e.message.clone(),
                    line: e.line,
                })
                .collect(),
            imported: inserted + replaced,
            replaced,
            unchanged,
        };
        super::term::print_json(&mut out, &v)?;
    } else {
        writeln!(
            out,
            "imported {} round(s) ({} replaced), {} already stored unchanged, {} conflict(s), \
             {} bad line(s)",
            inserted + replaced,
            replaced,
            unchanged,
            conflicts,
            errors.len() - conflicts
        )?;
    }
    drop(out);
    for e in &errors {
        let _ = writeln!(
            super::term::stderr(),
            "{}:{}: {}",
            file.display(),
            e.line,
            e.message
        );
    }
    Ok(if errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    })
}

fn attempt_text(a: &Attempt) -> String {
    let mut parts = Vec::new();
    if let Some(s) = a.signal {
        parts.push(match signal_name(s) {
            Some(n) => format!("killed by {n}"),
            None => format!("killed by signal {s}"),
        });
    }
    if let Some(c) = a.exit_code {
        parts.push(format!("exit {c}"));
    }
    if !a.crash_reports.is_empty() {
        parts.push(format!("crash reports: {}", a.crash_reports.join(", ")));
    }
    if parts.is_empty() {
        "no exit status".into()
    } else {
        parts.join(", ")
    }
}

/// The JSON shape of a round in `rounds --json` and `round run --json`. Fields in
/// alphabetical order: the order the keys always had.
#[derive(Serialize)]
pub struct RoundJson<'a> {
    attempts: Vec<AttemptJson<'a>>,
    batch: &'a Option<String>,
    config: &'a BTreeMap<String, String>,
    efficiency: Option<f64>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    fix: &'a Option<String>,
    /// `round run --json`: each attempt's handshake verdict (not stored: see `fix_confirmed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    fix_checks: Option<&'a [agx_triage::rounds::handshake::Check]>,
    fix_confirmed: Option<bool>,
    /// The host it ran on (`round run --json` before storing: this machine).
    host: &'a Option<String>,
    /// `rounds --json`: the hardware model and OS it ran under, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    hardware_model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<&'a str>,
    metrics: &'a BTreeMap<String, f64>,
    outcome: &'static str,
    /// `rounds --json`: the end of the output of rounds agx-triage ran (recorded and imported
    /// ones have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    output_tail: Option<&'a str>,
    round: i64,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One attempt of a [`RoundJson`].
#[derive(Serialize)]
struct AttemptJson<'a> {
    crash_reports: &'a [String],
    exit_code: Option<i32>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    index: u32,
    pid: Option<i64>,
    signal: Option<i32>,
    signal_name: Option<&'static str>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A round as `rounds --json` and `round run --json` print it.
pub fn round_json(r: &Round) -> RoundJson<'_> {
    RoundJson {
        attempts: r
            .attempts
            .iter()
            .map(|a| AttemptJson {
                crash_reports: &a.crash_reports,
                exit_code: a.exit_code,
                finished_at: a.finished_at,
                index: a.index,
                pid: a.pid,
                signal: a.signal,
                signal_name: a.signal.and_then(signal_name),
                started_at: a.started_at,
            })
            .collect(),
        batch: &r.batch,
        config: &r.config,
        efficiency: r.efficiency,
        finished_at: r.finished_at,
        fix: &r.fix,
        fix_checks: None,
        fix_confirmed: r.fix_confirmed,
        host: &r.host,
        hardware_model: None,
        os: None,
        metrics: &r.metrics,
        outcome: r.outcome().as_str(),
        output_tail: None,
        round: r.number,
        started_at: r.started_at,
    }
}

/// `round import --json`.
#[derive(Serialize)]
struct ImportJson {
    conflicts: usize,
    failed: Vec<FailedLineJson>,
    imported: usize,
    replaced: usize,
    unchanged: usize,
}

/// One line `round import` could not store.
#[derive(Serialize)]
struct FailedLineJson {
    error: String,
    line: usize,
}

#[derive(clap::Args, Debug)]
pub struct RoundsArgs {
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Only these rounds: rounds:A-B, batch:LABEL, fix:NAME, host:NAME or native; join
    /// several with `,` (all must hold).
    #[arg(long, value_name = "SEL", value_parser = parse_selector)]
    select: Option<RoundSelector>,
}

/// Parse a round selector: `rounds:1820-1849`, `batch:LABEL`, `fix:NAME`, `host:NAME`,
/// `native`, `all`, or several joined with `,`, all of which must hold
/// (`fix:v2.4,host:mac-a`).
pub fn parse_selector(s: &str) -> Result<RoundSelector, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() == 1 {
        return parse_one_selector(parts[0]);
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{s}`: an empty part between commas"));
    }
    let all = parts
        .iter()
        .map(|p| parse_one_selector(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RoundSelector::And(all))
}

fn parse_one_selector(s: &str) -> Result<RoundSelector, String> {
    let s = s.trim();
    if s == "native" {
        return Ok(RoundSelector::Native);
    }
    if s == "all" {
        return Ok(RoundSelector::All);
    }
    match s.split_once(':') {
        Some(("rounds", r)) | Some(("round", r)) => {
            let (lo, hi) = parse_range(r)?;
            Ok(RoundSelector::Range(lo, hi))
        }
        Some(("batch", b)) if !b.is_empty() => Ok(RoundSelector::Batch(b.to_string())),
        Some(("fix", f)) if !f.is_empty() => Ok(if f == "native" {
            RoundSelector::Native
        } else {
            RoundSelector::Fix(f.to_string())
        }),
        Some(("host", h)) => Ok(RoundSelector::Host(agx_triage::host::check_name(h)?)),
        _ => Err(format!(
            "`{s}`: use rounds:A-B, batch:LABEL, fix:NAME, host:NAME, native or all (joined \
             with `,` to select rounds that match every one)"
        )),
    }
}

/// Say so on stderr when `sel` names one round number (`round:1825`, `--round 1825`) that
/// several hosts have and no `host:` part narrows it: every such round is counted, which may
/// not be what was meant (docs/FLEET.md).
pub fn warn_ambiguous(store: &Store, sel: &RoundSelector) -> Result<()> {
    let parts: Vec<&RoundSelector> = match sel {
        RoundSelector::And(all) => all.iter().collect(),
        s => vec![s],
    };
    if parts.iter().any(|p| matches!(p, RoundSelector::Host(_))) {
        return Ok(());
    }
    for p in parts {
        if let RoundSelector::Range(a, b) = p {
            if a == b {
                let hosts = store.hosts_with_round(*a)?;
                if hosts.len() > 1 {
                    say(format_args!(
                        "agx-triage: warning: round {a} exists on {} hosts ({}): all are \
                         counted; add host:NAME to mean one (e.g. `round:{a},host:{}`)",
                        hosts.len(),
                        hosts.join(", "),
                        hosts[0]
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Parse `A-B` (or a single `N`) into an inclusive range.
pub fn parse_range(r: &str) -> Result<(i64, i64), String> {
    let bad = || format!("`{r}` is not a round range like 1820-1849");
    let (lo, hi) = match r.split_once('-') {
        Some((a, b)) => (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let n = r.trim().parse().map_err(|_| bad())?;
            (n, n)
        }
    };
    if lo > hi {
        return Err(format!("`{r}`: the range is backwards"));
    }
    Ok((lo, hi))
}

pub fn list(cli: &Cli, a: &RoundsArgs) -> Result<Exit> {
    let store = open_store_read(cli)?;
    let rounds = store.rounds(a.select.as_ref().unwrap_or(&RoundSelector::All))?;
    let mut out = super::term::stdout(a.json);
    if a.json {
        let v: Vec<RoundJson> = rounds
            .iter()
            .map(|r| RoundJson {
                // Only rounds agx-triage ran have output; recorded and imported ones have none.
                output_tail: r.output_tail.as_deref(),
                hardware_model: r.hardware_model.as_deref(),
                os: r.os.as_deref(),
                ..round_json(&r.round)
            })
            .collect();
        super::term::print_json(&mut out, &v)?;
        return Ok(Exit::Ok);
    }
    let mut t = table();
    t.set_header(vec![
        "round",
        "host",
        "batch",
        "fix",
        "fix loaded",
        "outcome",
        "attempts",
        "efficiency",
        "crash reports",
        "started",
    ]);
    for r in &rounds {
        let rd = &r.round;
        t.add_row(vec![
            rd.number.to_string(),
            rd.host.clone().unwrap_or_default(),
            rd.batch.clone().unwrap_or_default(),
            rd.fix.clone().unwrap_or_else(|| "native".into()),
            fix_loaded_text(rd).into(),
            r.outcome.to_string(),
            rd.attempts
                .iter()
                .map(|a| match (a.signal, a.exit_code) {
                    (Some(s), _) => signal_name(s).map(str::to_string).unwrap_or(s.to_string()),
                    (None, Some(c)) if !a.crash_reports.is_empty() => format!("{c}+crash"),
                    (None, Some(c)) => c.to_string(),
                    (None, None) => "?".into(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            rd.efficiency
                .map(|e| format!("{e:.1}%"))
                .unwrap_or_default(),
            rd.crash_reports().count().to_string(),
            rd.started_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(out, "{} round(s)", rounds.len())?;
    Ok(Exit::Ok)
}

/// The rounds table's "fix loaded" cell: `yes`, `NO` (left out by default), `?` (a fix round
/// nobody checked: recorded by hand, imported without the key, or stored before the handshake
/// existed), empty for native.
fn fix_loaded_text(r: &Round) -> &'static str {
    match (&r.fix, r.fix_confirmed) {
        (None, _) => "",
        (Some(_), Some(true)) => "yes",
        (Some(_), Some(false)) => "NO",
        (Some(_), None) => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(
            parse_selector("rounds:1820-1849"),
            Ok(RoundSelector::Range(1820, 1849))
        );
        assert_eq!(
            parse_selector("batch:A"),
            Ok(RoundSelector::Batch("A".into()))
        );
        assert_eq!(
            parse_selector("fix:v2.3"),
            Ok(RoundSelector::Fix("v2.3".into()))
        );
        assert_eq!(parse_selector("native"), Ok(RoundSelector::Native));
        assert_eq!(
            parse_selector("fix:v2.4, host:mac-a"),
            Ok(RoundSelector::And(vec![
                RoundSelector::Fix("v2.4".into()),
                RoundSelector::Host("mac-a".into())
            ]))
        );
        assert!(parse_selector("fix:v2.4,").is_err());
        assert!(parse_selector("host:").is_err());
        assert!(parse_selector("fix:v2.4,hots:mac-a").is_err());
        assert!(parse_selector("rounds:9-1").is_err());
        assert!(parse_selector("v2.3").is_err());
    }

    #[test]
    fn attempt_specs() {
        let a = parse_attempt("exit=0,reports=A+B").unwrap();
        assert_eq!(a.exit_code, Some(0));
        assert_eq!(a.crash_reports, vec!["A", "B"]);
        assert_eq!(parse_attempt("signal=SIGSEGV").unwrap().signal, Some(11));
        assert!(parse_attempt("exit=zero").is_err());
        assert!(parse_attempt("colour=red").is_err());
    }
}
