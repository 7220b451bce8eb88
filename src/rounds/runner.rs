//! The retrying round runner: starts the test command, streams its output to the caller,
//! records every attempt, asks a [`CrashSource`] for new crash reports after each attempt,
//! attributes them ([`attribute`](mod@super::attribute)) and retries according to the policy.
//!
//! It never prints: output lines go to the caller's sink, and problems that do not stop the
//! round (a stale results file, an unattributed report) come back as [`RunWarning`]s.
//!
//! Output is streamed: the figure patterns are applied line by line as the lines arrive, only a
//! bounded tail is kept ([`TAIL_BYTES`]), lines are cut at [`MAX_LINE`] bytes and the readers
//! hand lines over through a bounded channel, so a command that prints without end makes its
//! own pipe fill up instead of this process's memory grow. Output is read to end of file.
//!
//! Each attempt runs in a process group of its own. The whole group is ended (SIGKILL) on
//! timeout, on interruption (Ctrl-C, through [`RunConfig::interrupt`]), when the command has
//! exited but something it started still holds the output open after [`OUTPUT_GRACE`], and
//! when the attempt is over, so no process of a round outlives it. A crash
//! source that fails stops the run with an error, because a round whose reports could not be
//! checked might be counted as a pass that is not one.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use regex::Regex;
use thiserror::Error;

use super::attribute::{self, ReportRef};
use super::handshake::{self, HandshakeDir};
use super::model::{Attempt, Round};

/// Default pattern for the efficiency line, e.g. `CONFIRMED: 14.6% efficiency at 8 threads`.
/// The first capture group is the figure, in percent.
pub const DEFAULT_EFFICIENCY_PATTERN: &str = r"CONFIRMED:\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*efficiency";

/// How long to keep reading output after the command exited, when a background process it
/// started still holds the pipes open; then its process group is ended.
pub const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// The longest line handed to the sink and the patterns whole; a longer run of bytes without a
/// newline (a progress bar redrawn with `\r`, a binary dump) is handed over in pieces this size.
pub const MAX_LINE: usize = 64 * 1024;

/// How much of the output (the last lines, across attempts) a round keeps.
pub const TAIL_BYTES: usize = 64 * 1024;

/// Lines in flight between the reader threads and the runner. Bounded: when the runner (or the
/// sink, e.g. a slow terminal) falls behind, the readers wait and the command's pipe fills.
const CHANNEL_DEPTH: usize = 64;

/// An upper bound on the output a command can have written before it exited that is not read
/// yet when its exit is seen: the channel, a line in each reader, and a pipe buffer (at most
/// 1 MiB on Linux, less on macOS).
const BACKLOG: usize = (CHANNEL_DEPTH + 2) * MAX_LINE + (1 << 20);

/// How often to check whether the command exited while waiting for output.
const POLL: Duration = Duration::from_millis(50);

/// Which failed attempts are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOn {
    /// Retry only an attempt that crashed: killed by a signal or with a report attributed.
    Crash,
    /// Retry every attempt that did not pass, including a plain non-zero exit.
    Fail,
}

/// Where a line of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// The command's standard output.
    Stdout,
    /// The command's standard error.
    Stderr,
}

/// How to run a round.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Program and arguments (no shell is involved; use `["sh", "-c", "..."]` for one).
    pub command: Vec<String>,
    /// Attempt budget, at least 1 (1 = no retries).
    pub max_attempts: u32,
    /// Which failed attempts are retried.
    pub retry_on: RetryOn,
    /// How long to wait after an attempt before asking for crash reports (ReportCrash takes a
    /// few seconds to write them). Also the grace period of the attribution time window.
    pub crash_wait: Duration,
    /// Fix dylib to inject with `DYLD_INSERT_LIBRARIES` (appended with `:` to a value already
    /// in the environment; the rest of the environment is kept).
    pub dylib: Option<PathBuf>,
    /// Pattern of the efficiency line; the first capture group is the figure.
    pub efficiency: Regex,
    /// Further named figures: the first capture group of each pattern.
    pub metrics: Vec<(String, Regex)>,
    /// JSON file the suite writes, read after the last attempt.
    pub results_file: Option<PathBuf>,
    /// Kill an attempt (SIGKILL to its process group) that runs longer than this. The attempt
    /// then carries signal 9 and counts as crashed. `None`: no limit.
    pub timeout: Option<Duration>,
    /// Set (e.g. by a Ctrl-C handler) to stop the round: the running attempt's process group is
    /// ended, no further attempt starts and the result says [`RunResult::interrupted`].
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Slice UUIDs of the build in `dylib`, which its handshake must name (see
    /// [`handshake`]). Empty: no attempt can confirm the fix.
    pub fix_uuids: Vec<String>,
}

impl RunConfig {
    /// A configuration with defaults: one attempt, retry on crash, 5 s crash wait, the default
    /// efficiency pattern, no dylib, no metrics, no results file, no timeout.
    pub fn new(command: Vec<String>) -> Self {
        RunConfig {
            command,
            max_attempts: 1,
            retry_on: RetryOn::Crash,
            crash_wait: Duration::from_secs(5),
            dylib: None,
            efficiency: default_efficiency_regex(),
            metrics: Vec::new(),
            results_file: None,
            timeout: None,
            interrupt: None,
            fix_uuids: Vec::new(),
        }
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }
}

/// The compiled [`DEFAULT_EFFICIENCY_PATTERN`].
pub fn default_efficiency_regex() -> Regex {
    // The pattern is a constant covered by the unit tests, not user input.
    #[allow(clippy::expect_used)]
    Regex::new(DEFAULT_EFFICIENCY_PATTERN).expect("default efficiency pattern compiles")
}

/// Error type a [`CrashSource`] may return.
pub type CrashSourceError = Box<dyn std::error::Error + Send + Sync>;

/// Something that can list crash reports written since a moment, e.g. a watcher of the
/// DiagnosticReports folders that ingests what it finds.
pub trait CrashSource {
    /// Reports captured (or appeared) at or after `since`. Returning a report more than once
    /// across calls is fine: reports are deduplicated by incident id.
    fn collect(&mut self, since: DateTime<Utc>) -> Result<Vec<ReportRef>, CrashSourceError>;

    /// Whether the report `incident_id` lists an image with one of `uuids` among its loaded
    /// images: proof that a fix build was in the crashed process (see
    /// [`handshake::confirm_by_crash_reports`]). Default: not known.
    fn lists_image(&mut self, _incident_id: &str, _uuids: &[String]) -> bool {
        false
    }
}

/// Errors that stop a run.
#[derive(Debug, Error)]
pub enum RunError {
    /// `command` is empty.
    #[error("no command to run")]
    EmptyCommand,
    /// `max_attempts` is 0.
    #[error("the attempt budget must be at least 1")]
    NoAttempts,
    /// The command could not be started.
    #[error("cannot start {program:?}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The private folder or file for the fix handshake could not be created.
    #[error("cannot create the fix handshake file: {0}")]
    Handshake(#[source] std::io::Error),
    /// Waiting for the command failed.
    #[error("waiting for attempt {attempt} failed: {source}")]
    Wait {
        /// 1-based attempt index.
        attempt: u32,
        /// The OS error.
        source: std::io::Error,
    },
    /// The crash source failed; the attempt's crash status is unknown.
    #[error("collecting crash reports after attempt {attempt} failed: {source}")]
    CrashSource {
        /// 1-based attempt index.
        attempt: u32,
        /// The source's error.
        source: CrashSourceError,
    },
}

impl RunError {
    /// Short stable name for logs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            RunError::EmptyCommand => "empty-command",
            RunError::NoAttempts => "no-attempts",
            RunError::Spawn { .. } => "spawn",
            RunError::Handshake(_) => "handshake",
            RunError::Wait { .. } => "wait",
            RunError::CrashSource { .. } => "crash-source",
        }
    }
}

/// Problems that do not stop a round but belong in its record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunWarning {
    /// A report was found but matches no attempt.
    #[error(
        "crash report {incident_id} matches no attempt (pid {pid:?}, parent pid {parent_pid:?})"
    )]
    UnattributedReport {
        /// Its incident id.
        incident_id: String,
        /// Its pid.
        pid: Option<i64>,
        /// Its parent pid.
        parent_pid: Option<i64>,
    },
    /// The results file does not exist after the run.
    #[error("results file {0} was not written")]
    ResultsFileMissing(PathBuf),
    /// The results file predates the round (left over from an earlier run), so it was ignored.
    #[error("results file {0} was not updated during this round; ignored")]
    ResultsFileStale(PathBuf),
    /// The results file could not be read or is not JSON.
    #[error("results file {path}: {message}")]
    ResultsFileInvalid {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The command exited but something it started kept the output open; its process group was
    /// ended.
    #[error(
        "attempt {0}: output still open {OUTPUT_GRACE:?} after the command exited; ended the processes it left"
    )]
    OutputLeftOpen(u32),
    /// Something outside the attempt's process group kept the output open even after the group
    /// was ended; reading stopped.
    #[error("attempt {0}: output still open after its process group was ended; stopped reading")]
    OutputAbandoned(u32),
    /// The round was interrupted during this attempt; its processes were ended.
    #[error("attempt {0} was interrupted; its processes were ended")]
    Interrupted(u32),
    /// The attempt ran past the timeout and was killed.
    #[error("attempt {0} exceeded the timeout and was killed")]
    TimedOut(u32),
    /// The injected fix did not confirm it loaded in this attempt, or its handshake file had
    /// problems (the message says which; see [`handshake::Check`]).
    #[error("attempt {attempt}: {message}")]
    FixHandshake {
        /// 1-based attempt index.
        attempt: u32,
        /// `no-handshake`, `wrong-build`, `disabled`, `nothing-hooked`,
        /// `confirmed-by-crash-report` (a note, not a failure) or `handshake-file`.
        kind: &'static str,
        /// What happened.
        message: String,
    },
    /// A line matched a figure pattern but the captured text is not a number.
    #[error("attempt {attempt}: {name} pattern matched but {text:?} is not a number")]
    BadFigure {
        /// 1-based attempt index.
        attempt: u32,
        /// `efficiency` or the metric name.
        name: String,
        /// The captured text.
        text: String,
    },
}

impl RunWarning {
    /// Short stable name for logs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            RunWarning::UnattributedReport { .. } => "unattributed-report",
            RunWarning::ResultsFileMissing(_) => "results-file-missing",
            RunWarning::ResultsFileStale(_) => "results-file-stale",
            RunWarning::ResultsFileInvalid { .. } => "results-file-invalid",
            RunWarning::OutputLeftOpen(_) => "output-left-open",
            RunWarning::OutputAbandoned(_) => "output-abandoned",
            RunWarning::Interrupted(_) => "interrupted",
            RunWarning::TimedOut(_) => "timed-out",
            RunWarning::FixHandshake { kind, .. } => kind,
            RunWarning::BadFigure { .. } => "bad-figure",
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The round, with its attempts and attributed reports; see [`Round::outcome`].
    pub round: Round,
    /// Every report the crash source returned (deduplicated), attributed or not.
    pub reports: Vec<ReportRef>,
    /// Problems worth recording.
    pub warnings: Vec<RunWarning>,
    /// The last lines of output (at most [`TAIL_BYTES`]), each attempt's introduced by a
    /// `--- attempt N ---` line.
    pub output_tail: String,
    /// The round was stopped through [`RunConfig::interrupt`]: its last attempt did not run to
    /// its end, so the round says nothing about the fix.
    pub interrupted: bool,
    /// With a fix injected: the handshake verdict on each attempt, in order (empty without).
    pub fix_checks: Vec<handshake::Check>,
}

/// The `DYLD_INSERT_LIBRARIES` value that adds `dylib` to `existing` (colon-separated), without
/// listing it twice.
pub fn dyld_insert_value(existing: Option<&OsStr>, dylib: &Path) -> OsString {
    match existing {
        Some(old) if !old.is_empty() => {
            let already = old
                .to_string_lossy()
                .split(':')
                .any(|p| Path::new(p) == dylib);
            if already {
                return old.to_os_string();
            }
            let mut value = old.to_os_string();
            value.push(":");
            value.push(dylib.as_os_str());
            value
        }
        _ => dylib.as_os_str().to_os_string(),
    }
}

/// Run round `number` under `config`, streaming output lines to `sink` and asking `crashes`
/// for reports after each attempt. Batch, fix and configuration are the caller's to fill in.
///
/// Figures: the efficiency (and each metric) is taken from the last matching line of the last
/// attempt that printed one.
pub fn run_round(
    number: i64,
    config: &RunConfig,
    crashes: &mut dyn CrashSource,
    sink: &mut dyn FnMut(OutputStream, &str),
) -> Result<RunResult, RunError> {
    if config.command.is_empty() {
        return Err(RunError::EmptyCommand);
    }
    if config.max_attempts == 0 {
        return Err(RunError::NoAttempts);
    }
    let round_start = Utc::now();
    let round_start_sys = SystemTime::now();
    let mut round = Round {
        number,
        started_at: Some(round_start),
        ..Round::default()
    };
    let mut reports: Vec<ReportRef> = Vec::new();
    let mut warnings = Vec::new();
    let mut tail = Tail::new(TAIL_BYTES);
    // Fix handshake (issue 18): a private folder with one fresh file per attempt.
    let handshake_dir = match config.dylib {
        Some(_) => Some(HandshakeDir::new().map_err(RunError::Handshake)?),
        None => None,
    };
    let mut fix_checks = Vec::new();

    for index in 1..=config.max_attempts {
        if config.interrupted() {
            break;
        }
        let handshake_file = match &handshake_dir {
            Some(d) => Some(d.file_for(index).map_err(RunError::Handshake)?),
            None => None,
        };
        tail.push(&format!("--- attempt {index} ---"));
        let run = run_attempt(
            index,
            config,
            handshake_file.as_deref(),
            sink,
            &mut warnings,
            &mut tail,
        )?;
        if let Some(e) = run.efficiency {
            round.efficiency = Some(e);
        }
        round.metrics.extend(run.metrics);
        round.attempts.push(run.attempt);

        sleep_unless_interrupted(config.crash_wait, config);
        if let Some(path) = &handshake_file {
            // Read after the crash wait: a worker still starting up may write its line late.
            fix_checks.push(check_handshake(index, path, config, &mut warnings));
        }
        // Ask from the round's start, not the attempt's: a report of attempt 1 written late
        // must still be found (and goes to attempt 1 by pid).
        let found = crashes
            .collect(round_start)
            .map_err(|source| RunError::CrashSource {
                attempt: index,
                source,
            })?;
        for r in found {
            if !reports.iter().any(|k| k.incident_id == r.incident_id) {
                reports.push(r);
            }
        }
        attribute::apply(&reports, &mut round.attempts, config.crash_wait);

        let Some(last) = round.attempts.last() else {
            break;
        };
        let retry = !last.passed()
            && match config.retry_on {
                RetryOn::Crash => last.crashed(),
                RetryOn::Fail => true,
            };
        if !retry {
            break;
        }
    }

    let assignments = attribute::attribute(&reports, &round.attempts, config.crash_wait);
    for a in assignments.iter().filter(|a| a.attempt.is_none()) {
        if let Some(r) = reports.iter().find(|r| r.incident_id == a.incident_id) {
            warnings.push(RunWarning::UnattributedReport {
                incident_id: r.incident_id.clone(),
                pid: r.pid,
                parent_pid: r.parent_pid,
            });
        }
    }
    if let Some(path) = &config.results_file {
        round.results_json = read_results(path, round_start_sys, &mut warnings);
    }
    round.finished_at = Some(Utc::now());
    if config.dylib.is_some() {
        // Issue 18: with every report attributed, an attempt without a handshake still ran
        // with the fix when one of its reports lists the build; then decide the round.
        handshake::confirm_by_crash_reports(&mut fix_checks, &round.attempts, |inc| {
            crashes.lists_image(inc, &config.fix_uuids)
        });
        for (check, attempt) in fix_checks.iter().zip(&round.attempts) {
            if !matches!(check, handshake::Check::Confirmed { .. }) {
                warnings.push(RunWarning::FixHandshake {
                    attempt: attempt.index,
                    kind: check.name(),
                    message: check.to_string(),
                });
            }
        }
        round.fix_confirmed = Some(handshake::round_confirmed(&fix_checks));
    }
    Ok(RunResult {
        round,
        reports,
        warnings,
        output_tail: tail.text(),
        interrupted: config.interrupted(),
        fix_checks,
    })
}

/// Sleep `d` in short steps, returning early once the round is interrupted.
fn sleep_unless_interrupted(d: Duration, config: &RunConfig) {
    let until = Instant::now().checked_add(d);
    loop {
        if config.interrupted() {
            return;
        }
        let left = match until {
            Some(u) => u.saturating_duration_since(Instant::now()),
            None => POLL,
        };
        if left.is_zero() {
            return;
        }
        thread::sleep(left.min(POLL));
    }
}

/// The last lines of output, at most `cap` bytes in all.
struct Tail {
    lines: std::collections::VecDeque<String>,
    bytes: usize,
    cap: usize,
}

impl Tail {
    fn new(cap: usize) -> Tail {
        Tail {
            lines: Default::default(),
            bytes: 0,
            cap,
        }
    }

    fn push(&mut self, line: &str) {
        // A line longer than the whole tail keeps its end (on a character boundary).
        let mut start = line.len().saturating_sub(self.cap);
        while !line.is_char_boundary(start) {
            start += 1;
        }
        let line = &line[start..];
        self.bytes += line.len() + 1;
        self.lines.push_back(line.to_string());
        while self.bytes > self.cap {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len() + 1,
                None => break,
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::with_capacity(self.bytes);
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

/// What one attempt produced besides its record.
struct AttemptRun {
    attempt: Attempt,
    efficiency: Option<f64>,
    metrics: BTreeMap<String, f64>,
}

/// Read and judge attempt `index`'s handshake file; problems with the file become warnings
/// (the verdict's own warning comes at the end of the round, see [`run_round`]).
fn check_handshake(
    index: u32,
    path: &Path,
    config: &RunConfig,
    warnings: &mut Vec<RunWarning>,
) -> handshake::Check {
    let contents = handshake::read(path);
    for p in contents.problems {
        warnings.push(RunWarning::FixHandshake {
            attempt: index,
            kind: "handshake-file",
            message: format!("fix handshake file: {p}"),
        });
    }
    handshake::judge(&contents.lines, &config.fix_uuids)
}

/// The command of one attempt: the configured program in a process group of its own, with no
/// input, its output piped to us, the fix dylib (if any) injected and told where to write its
/// handshake.
fn attempt_command(config: &RunConfig, handshake_file: Option<&Path>) -> Result<Command, RunError> {
    let (program, args) = match config.command.split_first() {
        Some(split) => split,
        None => return Err(RunError::EmptyCommand),
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group (pgid = its pid): the terminal's Ctrl-C reaches only us, and
        // the group can be ended as a whole, background children included.
        .process_group(0);
    if let Some(dylib) = &config.dylib {
        let existing = std::env::var_os("DYLD_INSERT_LIBRARIES");
        cmd.env(
            "DYLD_INSERT_LIBRARIES",
            dyld_insert_value(existing.as_deref(), dylib),
        );
    }
    if let Some(path) = handshake_file {
        // Where the fix writes its proof of loading (issue 18, `handshake`).
        cmd.env(handshake::ENV_VAR, path);
    }
    Ok(cmd)
}

/// SIGKILL every process of the group `pgid`. A group that is already empty is fine.
fn end_group(pgid: u32) {
    if let Ok(raw) = i32::try_from(pgid) {
        if raw > 0 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(raw),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn run_attempt(
    index: u32,
    config: &RunConfig,
    handshake_file: Option<&Path>,
    sink: &mut dyn FnMut(OutputStream, &str),
    warnings: &mut Vec<RunWarning>,
    tail: &mut Tail,
) -> Result<AttemptRun, RunError> {
    let mut cmd = attempt_command(config, handshake_file)?;
    let started_at = Utc::now();
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| RunError::Spawn {
        program: config.command.first().cloned().unwrap_or_default(),
        source,
    })?;
    let pgid = child.id();
    let pid = i64::from(pgid);

    let (tx, rx) = mpsc::sync_channel::<(OutputStream, String)>(CHANNEL_DEPTH);
    if let Some(out) = child.stdout.take() {
        spawn_reader(out, OutputStream::Stdout, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        spawn_reader(err, OutputStream::Stderr, tx.clone());
    }
    drop(tx);

    let mut run = AttemptRun {
        attempt: Attempt {
            index,
            started_at: Some(started_at),
            pid: Some(pid),
            ..Attempt::default()
        },
        efficiency: None,
        metrics: BTreeMap::new(),
    };
    let deadline = config.timeout.and_then(|t| started.checked_add(t));
    let mut exited: Option<(ExitStatus, Instant, DateTime<Utc>)> = None;
    // After the exit: when the current wait for the end of the output began, how many bytes
    // came since, and whether the group was ended already because the output stayed open.
    let mut waiting_since: Option<Instant> = None;
    let mut drained = 0usize;
    let mut group_ended = false;
    let mut idle;
    let mut interrupted = false;
    let mut last_poll = Instant::now();
    loop {
        match rx.recv_timeout(POLL) {
            Ok((stream, line)) => {
                idle = false;
                drained = drained.saturating_add(line.len() + 1);
                scan_line(&line, index, config, &mut run, warnings);
                tail.push(&line);
                sink(stream, &line);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => idle = true,
        }
        if last_poll.elapsed() < POLL {
            continue;
        }
        last_poll = Instant::now();
        if !interrupted && config.interrupted() {
            interrupted = true;
            end_group(pgid);
            warnings.push(RunWarning::Interrupted(index));
        }
        if exited.is_none() {
            exited = poll_exit(&mut child, pgid, index, deadline, warnings)?;
            if exited.is_some() {
                waiting_since = Some(Instant::now());
                drained = 0;
            }
            continue;
        }
        // The command exited and the output is still open. What it wrote before exiting may
        // still be on its way (pipe, readers, channel: at most BACKLOG bytes) and a slow sink
        // may take a while over it; the output is only "held open" once the grace has passed
        // and either nothing arrives or more than that backlog has come since.
        let held_open = waiting_since.is_some_and(|at| at.elapsed() > OUTPUT_GRACE)
            && (idle || drained > BACKLOG);
        if !held_open {
            continue;
        }
        if !group_ended {
            // Something it started still holds the output open. Ending the group closes it;
            // what is already in the pipe is still read.
            end_group(pgid);
            warnings.push(RunWarning::OutputLeftOpen(index));
            group_ended = true;
            waiting_since = Some(Instant::now());
            drained = 0;
        } else {
            // A process that left the group (setsid) holds the output: stop reading. The
            // reader threads finish on their own when it closes.
            warnings.push(RunWarning::OutputAbandoned(index));
            break;
        }
    }
    // The output closed before the exit was seen: keep polling so the timeout (and an
    // interruption) still apply to a command that closed its pipes and hung.
    let (status, finished_at) = loop {
        if let Some((status, _, at)) = exited {
            break (status, at);
        }
        if !interrupted && config.interrupted() {
            interrupted = true;
            end_group(pgid);
            warnings.push(RunWarning::Interrupted(index));
        }
        thread::sleep(POLL);
        exited = poll_exit(&mut child, pgid, index, deadline, warnings)?;
    };
    // Whatever the command left running in its group (a daemon with its output redirected)
    // ends with the attempt.
    end_group(pgid);
    run.attempt.finished_at = Some(finished_at);
    run.attempt.exit_code = status.code();
    run.attempt.signal = status.signal();
    Ok(run)
}

/// The exit status with the moment it was seen, once the child has exited (ending its process
/// group first when it ran past `deadline`).
fn poll_exit(
    child: &mut Child,
    pgid: u32,
    index: u32,
    deadline: Option<Instant>,
    warnings: &mut Vec<RunWarning>,
) -> Result<Option<(ExitStatus, Instant, DateTime<Utc>)>, RunError> {
    let wait_err = |source| RunError::Wait {
        attempt: index,
        source,
    };
    if let Some(status) = child.try_wait().map_err(wait_err)? {
        return Ok(Some((status, Instant::now(), Utc::now())));
    }
    if deadline.is_some_and(|d| Instant::now() > d) {
        end_group(pgid);
        // The child may have exited between the check and the kill; that error is harmless
        // and the wait below reports the real status either way.
        let _ = child.kill();
        warnings.push(RunWarning::TimedOut(index));
        let status = child.wait().map_err(wait_err)?;
        return Ok(Some((status, Instant::now(), Utc::now())));
    }
    Ok(None)
}

fn spawn_reader<R: Read + Send + 'static>(
    source: R,
    stream: OutputStream,
    tx: mpsc::SyncSender<(OutputStream, String)>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::with_capacity(MAX_LINE, source);
        let mut line: Vec<u8> = Vec::new();
        let send = |line: &mut Vec<u8>| {
            // Test suites print progress bars and stray bytes; keep going lossily.
            let text = String::from_utf8_lossy(line);
            let text = text.trim_end_matches(['\n', '\r']).to_string();
            line.clear();
            tx.send((stream, text)).is_ok()
        };
        loop {
            let buf = match reader.fill_buf() {
                Ok([]) => break,
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let room = MAX_LINE.saturating_sub(line.len()).max(1);
            let window = &buf[..buf.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    line.extend_from_slice(&window[..i]);
                    reader.consume(i + 1);
                    if !send(&mut line) {
                        return;
                    }
                }
                None => {
                    let n = window.len();
                    line.extend_from_slice(window);
                    reader.consume(n);
                    if line.len() >= MAX_LINE && !send(&mut line) {
                        return;
                    }
                }
            }
        }
        if !line.is_empty() {
            let _ = send(&mut line);
        }
    });
}

fn scan_line(
    line: &str,
    attempt: u32,
    config: &RunConfig,
    run: &mut AttemptRun,
    warnings: &mut Vec<RunWarning>,
) {
    let mut figure = |name: &str, re: &Regex| -> Option<f64> {
        let text = re.captures(line)?.get(1)?.as_str();
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                warnings.push(RunWarning::BadFigure {
                    attempt,
                    name: name.to_string(),
                    text: text.to_string(),
                });
                None
            }
        }
    };
    if let Some(v) = figure("efficiency", &config.efficiency) {
        run.efficiency = Some(v);
    }
    for (name, re) in &config.metrics {
        if let Some(v) = figure(name, re) {
            run.metrics.insert(name.clone(), v);
        }
    }
}

fn read_results(
    path: &Path,
    round_start: SystemTime,
    warnings: &mut Vec<RunWarning>,
) -> Option<serde_json::Value> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            warnings.push(RunWarning::ResultsFileMissing(path.to_path_buf()));
            return None;
        }
        Err(e) => {
            warnings.push(RunWarning::ResultsFileInvalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
            return None;
        }
    };
    // File systems with coarse timestamps (1-2 s) may stamp a file written right after the
    // start slightly before it; allow for that.
    let slack = Duration::from_secs(2);
    let fresh = meta
        .modified()
        .map(|m| m + slack >= round_start)
        .unwrap_or(true);
    if !fresh {
        warnings.push(RunWarning::ResultsFileStale(path.to_path_buf()));
        return None;
    }
    let parsed = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}")));
    match parsed {
        Ok(v) => Some(v),
        Err(message) => {
            warnings.push(RunWarning::ResultsFileInvalid {
                path: path.to_path_buf(),
                message,
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_efficiency_pattern() {
        let re = default_efficiency_regex();
        let cap = |s: &str| re.captures(s).map(|c| c[1].to_string());
        assert_eq!(
            cap("CONFIRMED: 14.6% efficiency at 8 threads").as_deref(),
            Some("14.6")
        );
        assert_eq!(cap("  CONFIRMED:15% efficiency").as_deref(), Some("15"));
        assert_eq!(cap("efficiency: 14.6%"), None);
        assert_eq!(cap("CONFIRMED: n/a% efficiency"), None);
    }

    #[test]
    fn dyld_value_appends_once() {
        let fix = Path::new("/opt/fix/libagx_fix_v2_3.dylib");
        assert_eq!(dyld_insert_value(None, fix), fix.as_os_str());
        assert_eq!(
            dyld_insert_value(Some(OsStr::new("")), fix),
            fix.as_os_str()
        );
        assert_eq!(
            dyld_insert_value(Some(OsStr::new("/usr/lib/libtrace.dylib")), fix),
            OsStr::new("/usr/lib/libtrace.dylib:/opt/fix/libagx_fix_v2_3.dylib")
        );
        let both = OsStr::new("/opt/fix/libagx_fix_v2_3.dylib:/x.dylib");
        assert_eq!(dyld_insert_value(Some(both), fix), both);
    }

    #[test]
    fn bad_config_is_an_error() {
        struct NoCrashes;
        impl CrashSource for NoCrashes {
            fn collect(&mut self, _: DateTime<Utc>) -> Result<Vec<ReportRef>, CrashSourceError> {
                Ok(Vec::new())
            }
        }
        let mut sink = |_: OutputStream, _: &str| {};
        let err = run_round(1, &RunConfig::new(vec![]), &mut NoCrashes, &mut sink).unwrap_err();
        assert_eq!(err.code(), "empty-command");
        let mut cfg = RunConfig::new(vec!["true".into()]);
        cfg.max_attempts = 0;
        let err = run_round(1, &cfg, &mut NoCrashes, &mut sink).unwrap_err();
        assert_eq!(err.code(), "no-attempts");
        let cfg = RunConfig::new(vec!["/nonexistent/agx-triage-test-binary".into()]);
        let err = run_round(1, &cfg, &mut NoCrashes, &mut sink).unwrap_err();
        assert_eq!(err.code(), "spawn");
    }
}
