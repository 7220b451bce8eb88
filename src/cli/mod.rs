//! Command-line interface: clap definitions, one file per subcommand. The only place that
//! prints. Errors are `anyhow` here (and only here); each subcommand returns an [`Exit`].

mod buckets;
mod compare;
mod fix;
mod ingest;
mod report;
mod reports;
mod round;
mod show;
mod symbols;
pub mod term;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
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
    /// SQLite database to use (created on first use).
    #[arg(long, global = true, env = "AGX_TRIAGE_DB", value_name = "PATH")]
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
            let _ = writeln!(term::stderr(), "error: {e:#}");
            EXIT_FATAL
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
        Command::Fix(c) => fix::run(&cli, c),
        Command::Symbols(c) => symbols::run(&cli, c),
        Command::Symbolicate(a) => symbols::symbolicate(&cli, a),
        Command::Report(a) => report::run(&cli, a),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "agx-triage", &mut std::io::stdout());
            Ok(Exit::Ok)
        }
    }
}

/// Open the database named by the global options.
fn open_store(cli: &Cli) -> Result<agx_triage::store::Store> {
    let path = cli.db_path()?;
    agx_triage::store::Store::open(&path)
        .with_context(|| format!("opening database {}", path.display()))
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
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("`{s}`: age unit must be s, m, h, d or w")),
    };
    Ok(now - chrono::Duration::seconds(n.saturating_mul(secs)))
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

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
