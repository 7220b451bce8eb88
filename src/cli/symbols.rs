//! `agx-triage symbols add|list` and `agx-triage symbolicate`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use agx_triage::ingest::Bucketer;
use agx_triage::store::Store;
use agx_triage::symbols::SymbolStore;

use super::{open_store, open_store_read, table, Cli, Exit};

#[derive(clap::Subcommand, Debug)]
pub enum SymbolsCmd {
    /// Index Mach-O binaries, dylibs, .dSYM bundles or folders of them, by UUID.
    Add {
        /// Files or folders (walked recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// List the indexed images.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
pub struct SymbolicateArgs {
    /// Only this report.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    report: Option<i64>,
    /// Every stored crash report (the default).
    #[arg(long)]
    all: bool,
    /// Replace the names macOS wrote too, and report where they disagree.
    #[arg(long)]
    force: bool,
    #[arg(long)]
    json: bool,
}

/// `symbols add --json`.
#[derive(Serialize)]
struct AddJson<'a, T: Serialize> {
    added: &'a [T],
    skipped: usize,
    failed: Vec<FailedJson>,
}

/// A file that could not be indexed.
#[derive(Serialize)]
struct FailedJson {
    path: String,
    error: String,
}

fn open_symbols(store: &Store) -> Result<SymbolStore> {
    Ok(SymbolStore::open(store.symbols_dir())?)
}

pub fn run(cli: &Cli, cmd: &SymbolsCmd) -> Result<Exit> {
    // Listing only reads: it must not create a database (or its folders) that is not there.
    let store = match cmd {
        SymbolsCmd::List { .. } => open_store_read(cli)?,
        SymbolsCmd::Add { .. } => open_store(cli)?,
    };
    let mut symbols = open_symbols(&store)?;
    let json = match cmd {
        SymbolsCmd::Add { json, .. } | SymbolsCmd::List { json } => *json,
    };
    let mut out = super::term::stdout(json);
    match cmd {
        SymbolsCmd::Add { paths, json } => {
            let mut added = Vec::new();
            let mut errors = Vec::new();
            let mut skipped = 0;
            for p in paths {
                let o = symbols.add_path(p);
                added.extend(o.added);
                skipped += o.skipped.len();
                errors.extend(o.errors);
            }
            if *json {
                let v = AddJson {
                    added: &added,
                    skipped,
                    failed: errors
                        .iter()
                        .map(|(p, e)| FailedJson {
                            path: p.display().to_string(),
                            error: e.to_string(),
                        })
                        .collect(),
                };
                super::term::print_json(&mut out, &v)?;
            } else {
                for s in &added {
                    writeln!(
                        out,
                        "added {} {} {} ({}, {} symbols)",
                        s.uuid,
                        s.arch,
                        s.name,
                        s.source.as_str(),
                        s.symbol_count
                    )?;
                }
                writeln!(
                    out,
                    "{} slice(s) added, {} skipped (DWARF already indexed), {} failed",
                    added.len(),
                    skipped,
                    errors.len()
                )?;
            }
            drop(out);
            for (p, e) in &errors {
                let _ = writeln!(super::term::stderr(), "{}: {e}", p.display());
            }
            Ok(if errors.is_empty() {
                Exit::Ok
            } else {
                Exit::Partial
            })
        }
        SymbolsCmd::List { json } => {
            let list = symbols.list();
            if *json {
                super::term::print_json(&mut out, &list)?;
            } else {
                let mut t = table();
                t.set_header(vec!["uuid", "arch", "name", "source", "symbols", "path"]);
                for s in &list {
                    t.add_row(vec![
                        s.uuid.clone(),
                        s.arch.clone(),
                        s.name.clone(),
                        s.source.as_str().to_string(),
                        s.symbol_count.to_string(),
                        s.path.display().to_string(),
                    ]);
                }
                writeln!(out, "{t}")?;
            }
            Ok(Exit::Ok)
        }
    }
}

pub fn symbolicate(cli: &Cli, a: &SymbolicateArgs) -> Result<Exit> {
    let mut store = open_store(cli)?;
    let symbols = open_symbols(&store)?;
    let bucketer: Bucketer = super::buckets::bucketer(cli)?;
    let ids = a.report.map(|id| vec![id]);
    let t = agx_triage::ops::symbolicate::symbolicate_stored(
        &mut store, &symbols, &bucketer, ids, a.force,
    )?;
    let mut out = super::term::stdout(a.json);
    if a.json {
        super::term::print_json(&mut out, &t)?;
        return Ok(Exit::Ok);
    }
    writeln!(
        out,
        "{} report(s): {} changed; {} frame(s) named, {} replaced; {} frame(s) with an unknown image UUID left as they are; {} frame(s) outside any symbol",
        t.reports, t.changed_reports, t.filled, t.replaced, t.unknown_uuid, t.outside_symbols
    )?;
    for d in &t.disagreements {
        writeln!(
            out,
            "  report {} frame {}: macOS wrote `{}`, symbols say `{}`",
            d.report, d.disagreement.frame, d.disagreement.apple, d.disagreement.ours
        )?;
    }
    Ok(Exit::Ok)
}
