//! `agx-triage report`: a markdown verification writeup (with SVG charts) or its JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};

use agx_triage::ops::writeup::{gather, Against, GatherOptions};
use agx_triage::writeup;

use super::round::parse_range;
use super::{open_store_read, Cli, Exit};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Md,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The block of rounds to write up: A-B.
    #[arg(long, value_name = "A-B", value_parser = parse_range)]
    rounds: (i64, i64),
    /// Compare with this block of rounds.
    #[arg(long, value_name = "C-D", value_parser = parse_range, conflicts_with = "against_fix")]
    against: Option<(i64, i64)>,
    /// Compare with every round of this fix version.
    #[arg(long, value_name = "NAME")]
    against_fix: Option<String>,
    /// The writeup's title (default: `Verification rounds A-B`).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Write DIR/report.md (or report.json), DIR/report.json and the SVG charts; without it the
    /// writeup goes to standard output (no charts).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Md)]
    format: Format,
    /// Replace what identifies a person or a machine (user and host names, e-mail, IP and MAC
    /// addresses, serial numbers, crashReporterKey, sleepWakeUUID, userID) with consistent
    /// pseudonyms, for publishing (docs/WRITEUPS.md lists what is kept).
    #[arg(long)]
    redact: bool,
    /// Batches of N consecutive rounds instead of the rounds' batch labels.
    #[arg(long, value_name = "N")]
    batch_size: Option<u32>,
    /// Count rounds whose fix never confirmed it loaded (left out by default; the writeup
    /// says how many either way).
    #[arg(long)]
    include_unconfirmed: bool,
    /// Only rounds this selector also picks, on both sides: e.g. `host:mac-a`, or
    /// `host:mac-a,fix:v2.4` (rounds:A-B, batch:LABEL, fix:NAME, host:NAME, native; `,` = and).
    #[arg(long, value_name = "SEL", value_parser = super::round::parse_selector)]
    select: Option<agx_triage::store::RoundSelector>,
    /// The writeup's date (RFC 3339), for reproducible output. Default: now.
    #[arg(long, value_name = "T", hide = true, env = "AGX_TRIAGE_NOW")]
    now: Option<DateTime<Utc>>,
}

pub fn run(cli: &Cli, a: &Args) -> Result<Exit> {
    let store = open_store_read(cli)?;
    let against = match (&a.against, &a.against_fix) {
        (Some((c, d)), _) => Against::Rounds(*c, *d),
        (None, Some(f)) => Against::Fix(f.clone()),
        (None, None) => Against::None,
    };
    let opts = GatherOptions {
        rounds: a.rounds,
        against,
        title: a.title.clone(),
        batch_size: a.batch_size,
        now: a.now.unwrap_or_else(Utc::now),
        stack_frames: 12,
        include_unconfirmed: a.include_unconfirmed,
        redact: a.redact,
        select: a.select.clone(),
    };
    let w = gather(&store, &opts)?;
    for note in &w.notes {
        let _ = writeln!(super::term::stderr(), "agx-triage: warning: {note}");
    }
    match &a.out {
        Some(dir) => {
            let files = writeup::write_folder(&w, dir)?;
            if files.is_empty() {
                bail!("nothing written to {}", dir.display());
            }
            let mut out = super::term::stdout(false);
            for f in files {
                writeln!(out, "wrote {}", f.display())?;
            }
        }
        None => {
            let mut out = super::term::stdout(a.format == Format::Json);
            match a.format {
                Format::Md => write!(out, "{}", writeup::render_markdown(&w, &[]))?,
                Format::Json => {
                    super::term::print_json(&mut out, &writeup::render_json(&w)?)?;
                }
            }
        }
    }
    Ok(Exit::Ok)
}
