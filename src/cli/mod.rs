//! Command-line interface: clap definitions, one file per subcommand. The only place that
//! prints. Errors are `anyhow` here (and only here); each subcommand returns an [`Exit`].

mod buckets;
mod compare;
mod correlate;
mod fix;
mod ingest;
mod merge;
mod plan;
mod report;
mod reports;
mod round;
mod show;
mod symbols;
pub mod term;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{CommandFactory, Parser, Subcommand};

/// Exit status of a subcommand that did not fail fatally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// Some inputs failed; the rest was done.
    Partial = 1,
}

/// Exit code for fatal errors.
pub const EXIT_FATAL: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "agx-triage",
    version,
    about = "Triage macOS crash reports from AGX GPU-driver races: ingest, bucket, rounds, compare, writeups",
    long_about = None,
    after_help = "Exit codes: 0 ok, 1 some inputs failed (the rest was done), 2 fatal.\n\
                  Database: --db, else $AGX_TRIAGE_DB, else the platform data folder."
)]
pub struct Cli {
    /// SQLite database file to use (created on first use), or a PostgreSQL server's
    /// `postgres://user@host/db` URL (docs/FLEET.md).
    // hide_env_values: a server URL in the environment may hold a password, and `--help`
    // would otherwise print it (`[env: AGX_TRIAGE_DB=postgres://ann:secret@...]`).
    #[arg(
        long,
        global = true,
        env = "AGX_TRIAGE_DB",
        hide_env_values = true,
        value_name = "PATH|URL"
    )]
    db: Option<PathBuf>,

    /// Extra known-pattern rules (TOML, docs/BUCKETS.md), tried before the shipped ones.
    /// A `rules.toml` next to the database is read too.
    #[arg(long, global = true, value_name = "FILE")]
    rules: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Ingest crash reports (.ips, .crash) from files or folders into the database.
    Ingest(ingest::Args),
    /// List stored reports.
    Reports(reports::Args),
    /// Show one report in an Apple-style text view (or as JSON).
    Show(show::Args),
    /// Crash buckets (signatures and known patterns), largest first.
    Buckets(buckets::Args),
    /// Recompute every signature and pattern with the current algorithm and rules.
    Rebucket(buckets::RebucketArgs),
    /// Run, record or import verification rounds.
    #[command(subcommand)]
    Round(round::RoundCmd),
    /// List verification rounds.
    Rounds(round::RoundsArgs),
    /// Compare two sets of rounds: pass rates with 95% intervals, Fisher's exact test, verdicts.
    Compare(compare::Args),
    /// How many rounds a comparison needs: Fisher's fixed design and the sequential rule.
    Plan(plan::Args),
    /// What sets a bucket's crashes apart: per attribute value, the share in the bucket and
    /// elsewhere, Fisher's p and a Benjamini-Hochberg q.
    Correlate(correlate::Args),
    /// Inspect, register and list fix dylib versions.
    #[command(subcommand)]
    Fix(fix::FixCmd),
    /// Index binaries and dSYMs by UUID for symbolication.
    #[command(subcommand)]
    Symbols(symbols::SymbolsCmd),
    /// Fill in frame names from the symbol store (and rebucket what changed).
    Symbolicate(symbols::SymbolicateArgs),
    /// Write a markdown verification writeup with charts (or its JSON).
    Report(report::Args),
    /// Fold other machines' databases into this one: reports, rounds by (host, round),
    /// fix versions, hosts (docs/FLEET.md).
    Merge(merge::Args),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

impl Cli {
    /// The database path: --db, $AGX_TRIAGE_DB, or the platform default.
    fn db_path(&self) -> Result<PathBuf> {
        match &self.db {
            Some(p) => Ok(p.clone()),
            None => agx_triage::store::default_db_path().context(
                "no --db given, AGX_TRIAGE_DB unset, and no home folder for the default database",
            ),
        }
    }
}

/// Run the CLI and return the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_FATAL } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(Exit::Ok) => 0,
        Ok(Exit::Partial) => 1,
        Err(e) => {
            if is_broken_pipe(&e) {
                return 0;
            }
            let _ = writeln!(term::stderr(), "error: {}", error_text(&e));
            EXIT_FATAL
        }
    }
}

/// Whether the error comes from writing to a closed pipe (`agx-triage ... | head -1`), which is
/// not an error: the reader had what it wanted. serde_json wraps the I/O error in its own
/// error, whose `source()` skips it, so that one is asked for its I/O kind.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// The error and its causes, joined with `: `, each thing said once. Error types that print
/// their cause in their own message (`cannot open {path}: {source}`) and also return it as
/// `source()` would otherwise repeat it ("database is locked: database is locked"), and
/// SQLite's own code line (`Error code 5: The database file is locked`) adds nothing to
/// rusqlite's message.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        if cause.downcast_ref::<rusqlite::ffi::Error>().is_some() && !text.is_empty() {
            continue;
        }
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Parse a number of seconds: finite, not negative (more than 0 when `positive`), at most
/// [`MAX_SECS`]. `nan`, `inf` and `1e20` are argument errors, never a panic or "at once".
pub fn parse_secs(s: &str, positive: bool) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() {
        return Err(format!("`{s}` is not a finite number of seconds"));
    }
    if v < 0.0 || (positive && v == 0.0) {
        return Err(format!(
            "`{s}`: seconds must be {}",
            if positive { "more than 0" } else { "0 or more" }
        ));
    }
    if v > MAX_SECS as f64 {
        return Err(format!(
            "`{s}` seconds is more than a year ({MAX_SECS} s); use a smaller figure"
        ));
    }
    Duration::try_from_secs_f64(v).map_err(|e| format!("`{s}`: {e}"))
}

/// The longest wait or timeout accepted: one year, in seconds.
pub const MAX_SECS: u64 = 366 * 86_400;

/// Largest rounds file read whole (256 MiB, about a million rounds).
pub const MAX_ROUNDS_FILE: u64 = 256 * 1024 * 1024;

/// Largest rules file (16 MiB: some 50,000 rules).
pub const MAX_RULES_FILE: u64 = 16 * 1024 * 1024;

/// Read a file named on the command line as text: it must be a regular file (a FIFO would
/// block for ever, `/dev/zero` never ends) of at most `max` bytes. `what` names it in errors
/// (`rules file`).
pub fn read_regular_file(what: &str, path: &Path, max: u64) -> Result<String> {
    use std::io::Read;
    let p = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("reading {what} {p}"))?;
    if !meta.is_file() {
        bail!("{what} {p} is not a regular file");
    }
    if meta.len() > max {
        bail!(
            "{what} {p} is too large ({} bytes; at most {max})",
            meta.len()
        );
    }
    let file = std::fs::File::open(path).with_context(|| format!("reading {what} {p}"))?;
    // Checked again on the open file: the name may have been swapped since.
    let meta = file
        .metadata()
        .with_context(|| format!("reading {what} {p}"))?;
    if !meta.is_file() {
        bail!("{what} {p} is not a regular file");
    }
    let mut text = String::new();
    let n = file
        .take(max + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {what} {p}"))?;
    if n as u64 > max {
        bail!("{what} {p} is too large (more than {max} bytes)");
    }
    Ok(text)
}

fn run(cli: Cli) -> Result<Exit> {
    match &cli.command {
        Command::Ingest(a) => ingest::run(&cli, a),
        Command::Reports(a) => reports::run(&cli, a),
        Command::Show(a) => show::run(&cli, a),
        Command::Buckets(a) => buckets::run(&cli, a),
        Command::Rebucket(a) => buckets::rebucket(&cli, a),
        Command::Round(c) => round::run(&cli, c),
        Command::Rounds(a) => round::list(&cli, a),
        Command::Compare(a) => compare::run(&cli, a),
        Command::Plan(a) => plan::run(&cli, a),
        Command::Correlate(a) => correlate::run(&cli, a),
        Command::Fix(c) => fix::run(&cli, c),
        Command::Symbols(c) => symbols::run(&cli, c),
        Command::Symbolicate(a) => symbols::symbolicate(&cli, a),
        Command::Report(a) => report::run(&cli, a),
        Command::Merge(a) => merge::run(&cli, a),
        Command::Completions { shell } => {
            // Generated into memory first: clap_complete panics when its writer fails (a closed
            // pipe), the write below returns the error instead.
            let mut cmd = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "agx-triage", &mut script);
            std::io::stdout().write_all(&script)?;
            Ok(Exit::Ok)
        }
    }
}

/// Open the database named by the global options for a command that writes: it is created if
/// missing, with its folder only when it is the default database (an explicit `--db` in a
/// folder that does not exist is a typo, not a request).
fn open_store(cli: &Cli) -> Result<agx_triage::store::Store> {
    use agx_triage::store::{Create, Store};
    let path = cli.db_path()?;
    let create = if cli.db.is_some() {
        Create::File
    } else {
        Create::FileAndFolders
    };
    Ok(Store::open_as(&path, create, local_host(None)?)?)
}

/// Open for writing on this machine named `name` (`round run --host NAME`).
fn open_store_as(cli: &Cli, name: Option<&str>) -> Result<agx_triage::store::Store> {
    use agx_triage::store::{Create, Store};
    let path = cli.db_path()?;
    let create = if cli.db.is_some() {
        Create::File
    } else {
        Create::FileAndFolders
    };
    Ok(Store::open_as(&path, create, local_host(name)?)?)
}

/// This machine (docs/FLEET.md), named `name` (`--host`, checked by clap), else
/// `$AGX_TRIAGE_HOST`, else by its hostname. Detection never fails a command: an
/// `AGX_TRIAGE_HOST` that is no usable name is said on stderr and the hostname used instead.
fn local_host(name: Option<&str>) -> Result<agx_triage::host::LocalHost> {
    let env = match std::env::var("AGX_TRIAGE_HOST") {
        Ok(v) if !v.trim().is_empty() => match agx_triage::host::check_name(&v) {
            Ok(n) => Some(n),
            Err(e) => {
                let _ = writeln!(
                    term::stderr(),
                    "agx-triage: warning: AGX_TRIAGE_HOST ignored: {e}; using the hostname"
                );
                None
            }
        },
        _ => None,
    };
    Ok(agx_triage::host::LocalHost::detect_later(
        name.or(env.as_deref()),
    ))
}

/// Open the database named by the global options for a command that only reads: nothing is
/// created, a missing database is an error.
fn open_store_read(cli: &Cli) -> Result<agx_triage::store::Store> {
    use agx_triage::store::{Create, Store};
    let path = cli.db_path()?;
    Ok(Store::open_as(&path, Create::Nothing, local_host(None)?)?)
}

/// Parse a `--since` value: RFC 3339 (`2026-11-02T10:00:00Z`), a date (`2026-11-02`, UTC
/// midnight), or an age (`90m`, `36h`, `7d`, `2w`) counted back from now.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_since_at(s, Utc::now())
}

fn parse_since_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a time: use 2026-11-02, RFC 3339 or an age like 7d"))?;
    let secs: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("`{s}`: age unit must be s, m, h, d or w")),
    };
    n.checked_mul(secs)
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|age| now.checked_sub_signed(age))
        .ok_or_else(|| format!("`{s}` is too far back"))
}

/// Shorten `s` to at most `max` characters, marking the cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A table styled the same way everywhere, whose cells are escaped for the terminal
/// ([`term::Table`]).
pub fn table() -> term::Table {
    term::Table::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_since_at("7d", now).unwrap().to_rfc3339(),
            "2026-11-18T12:00:00+00:00"
        );
        assert_eq!(
            parse_since_at("2026-11-02", now).unwrap().to_rfc3339(),
            "2026-11-02T00:00:00+00:00"
        );
        assert!(parse_since_at("yesterday", now).is_err());
        assert!(parse_since_at("5y", now).is_err());
    }

    // Regression: these ages panicked (exit 101) on overflow.
    #[test]
    fn absurd_ages_are_errors() {
        let now = Utc::now();
        for s in [
            "99999999999999d",
            "15250285w",
            "9223372036854775807s",
            "99999999999999999999d",
        ] {
            assert!(parse_since_at(s, now).is_err(), "{s}");
        }
    }

    // Regression: `--timeout nan` killed at once, `1e20` panicked.
    #[test]
    fn seconds_are_finite_and_bounded() {
        for bad in ["nan", "NaN", "inf", "-inf", "1e20", "-1", "x", ""] {
            assert!(parse_secs(bad, false).is_err(), "{bad}");
        }
        assert!(parse_secs("0", true).is_err());
        assert_eq!(parse_secs("0", false), Ok(Duration::ZERO));
        assert_eq!(parse_secs("2.5", true), Ok(Duration::from_millis(2500)));
    }

    #[test]
    fn errors_say_each_thing_once() {
        let io = std::io::Error::from_raw_os_error(17);
        let e = anyhow::Error::new(std::io::Error::new(io.kind(), io.to_string()))
            .context(format!("cannot create x: {io}"));
        assert_eq!(error_text(&e), format!("cannot create x: {io}"));

        // Regression: "database is locked: database is locked: Error code 5: The database
        // file is locked".
        let locked = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(5),
            Some("database is locked".into()),
        );
        let e = anyhow::Error::new(agx_triage::store::StoreError::Open {
            path: "x.db".into(),
            source: locked,
        });
        assert_eq!(
            error_text(&e),
            "cannot open database x.db: database is locked"
        );
    }

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
