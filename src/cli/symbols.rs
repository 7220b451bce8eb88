//! `agx-triage symbols add|list` and `agx-triage symbolicate`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use agx_triage::crash::Frame;
use agx_triage::ingest::Bucketer;
use agx_triage::store::Store;
use agx_triage::symbols::{symbolicate_crashed, SymbolStore};

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
                let v = json!({
                    "added": added,
                    "skipped": skipped,
                    "failed": errors.iter().map(|(p, e)| json!({"path": p.display().to_string(), "error": e.to_string()})).collect::<Vec<_>>(),
                });
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
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
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
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
    let ids = match a.report {
        Some(id) => vec![id],
        None => store.crash_report_ids()?,
    };
    let mut totals = json!({"reports": 0, "changed_reports": 0, "filled": 0, "replaced": 0,
        "unknown_uuid": 0, "outside_symbols": 0});
    let mut disagreements = Vec::new();
    let mut outside = Vec::new();
    let bump = |t: &mut serde_json::Value, k: &str, n: usize| {
        t[k] = json!(t[k].as_u64().unwrap_or(0) + n as u64);
    };
    for id in ids {
        let sr = store.load_report(id)?;
        let mut report = sr.report;
        let before_crashed: Vec<Frame> = report
            .crashed()
            .map(|t| t.frames.clone())
            .unwrap_or_default();
        let before_exc = report.last_exception_backtrace.clone();
        let s = symbolicate_crashed(&mut report, &symbols, a.force);
        // A frame named by an earlier run is named again identically: count real changes only,
        // so a second `symbolicate` reports nothing to do.
        let changed = |before: &[Frame], after: &[Frame]| {
            after
                .iter()
                .enumerate()
                .filter(|(i, f)| before.get(*i) != Some(*f))
                .count()
        };
        let n_changed = report
            .crashed()
            .map(|t| changed(&before_crashed, &t.frames))
            .unwrap_or(0)
            + changed(&before_exc, &report.last_exception_backtrace);
        let replaced = s.replaced.min(n_changed);
        bump(&mut totals, "reports", 1);
        bump(&mut totals, "filled", n_changed - replaced);
        bump(&mut totals, "replaced", replaced);
        bump(&mut totals, "unknown_uuid", s.unknown_uuid);
        bump(&mut totals, "outside_symbols", s.outside_symbols);
        for d in &s.disagreements {
            disagreements.push(json!({"report": id, "frame": d.frame, "thread": d.thread, "apple": d.apple, "ours": d.ours}));
        }
        for o in &s.outside {
            outside.push(json!({"report": id, "thread": o.thread, "frame": o.frame}));
        }
        if n_changed == 0 {
            continue;
        }
        bump(&mut totals, "changed_reports", 1);
        let tx = store.begin_write()?;
        if let Some(t) = report.crashed() {
            for (i, f) in t.frames.iter().enumerate() {
                if before_crashed.get(i) != Some(f) {
                    tx.set_frame_symbol(id, "crashed", i, f)?;
                }
            }
            if let Some(f0) = t.frames.first() {
                tx.set_top_frame(id, &agx_triage::store::frame_label(&report, f0))?;
            }
        }
        for (i, f) in report.last_exception_backtrace.iter().enumerate() {
            if before_exc.get(i) != Some(f) {
                tx.set_frame_symbol(id, "exception", i, f)?;
            }
        }
        // Names changed: the signature may change too.
        if let Some(b) = bucketer.fields(&report) {
            tx.set_bucket(id, &b)?;
        }
        tx.commit()?;
    }
    let mut out = super::term::stdout(a.json);
    if a.json {
        totals["disagreements"] = json!(disagreements);
        totals["outside"] = json!(outside);
        serde_json::to_writer_pretty(&mut out, &totals)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} report(s): {} changed; {} frame(s) named, {} replaced; {} frame(s) with an unknown image UUID left as they are; {} frame(s) outside any symbol",
            totals["reports"], totals["changed_reports"], totals["filled"], totals["replaced"],
            totals["unknown_uuid"], totals["outside_symbols"]
        )?;
        for d in &disagreements {
            writeln!(
                out,
                "  report {} frame {}: macOS wrote `{}`, symbols say `{}`",
                d["report"],
                d["frame"],
                d["apple"].as_str().unwrap_or(""),
                d["ours"].as_str().unwrap_or("")
            )?;
        }
    }
    Ok(Exit::Ok)
}
