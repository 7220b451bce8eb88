//! `agx-triage show ID`: one report, Apple-style text or full JSON.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use agx_triage::crash::{CrashReport, Frame, SourceFormat, SymbolSource};
use agx_triage::store::StoredReport;

use super::{open_store_read, Cli, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Report id (from `agx-triage reports`).
    id: i64,
    /// Print the full model as JSON.
    #[arg(long)]
    json: bool,
    /// Print every thread's backtrace, not only the crashed thread's.
    #[arg(long)]
    all_threads: bool,
}

pub fn run(cli: &Cli, args: &Args) -> Result<Exit> {
    let store = open_store_read(cli)?;
    let stored = store.load_report(args.id)?;
    let mut out = super::term::stdout(args.json);
    if args.json {
        super::term::print_json(&mut out, &json_view(&stored))?;
    } else {
        // One line per field: a newline inside report data must not fake a line of the view.
        let shown = super::term::one_line(&stored.report).map(|report| StoredReport {
            row: stored.row.clone(),
            sources: stored
                .sources
                .iter()
                .map(|p| super::term::escape_cell(p).into_owned())
                .collect(),
            report,
        });
        write!(
            out,
            "{}",
            text_view_with(shown.as_ref().unwrap_or(&stored), args.all_threads)
        )?;
    }
    Ok(Exit::Ok)
}

/// One frame in `show --json`, with its image resolved.
#[derive(Serialize)]
struct FrameJson<'a> {
    index: usize,
    image_index: Option<usize>,
    image_name: Option<&'a str>,
    image_uuid: Option<&'a str>,
    image_offset: Option<u64>,
    /// `0x`-prefixed hex.
    address: Option<String>,
    symbol: Option<&'a str>,
    symbol_offset: Option<u64>,
    symbol_source: Option<&'static str>,
    source_file: Option<&'a str>,
    source_line: Option<u32>,
}

fn frame_json<'a>(report: &'a CrashReport, i: usize, f: &'a Frame) -> FrameJson<'a> {
    let img = report.image_of(f);
    FrameJson {
        index: i,
        image_index: f.image_index,
        image_name: img.and_then(|m| m.name.as_deref()),
        image_uuid: img.and_then(|m| m.uuid.as_deref()),
        image_offset: f.image_offset,
        address: f.address.map(|a| format!("{a:#x}")),
        symbol: f.symbol.as_deref(),
        symbol_offset: f.symbol_offset,
        symbol_source: f.symbol_source.map(|s| s.as_str()),
        source_file: f.source_file.as_deref(),
        source_line: f.source_line,
    }
}

/// The crashed thread in `show --json`.
#[derive(Serialize)]
struct ThreadJson<'a> {
    index: usize,
    id: Option<u64>,
    name: Option<&'a str>,
    queue: Option<&'a str>,
    frames: Vec<FrameJson<'a>>,
}

/// `show --json`: the stored row, the sources, the crashed thread with resolved frames, and
/// the full model.
#[derive(Serialize)]
pub struct ShowJson<'a> {
    id: i64,
    incident_id: Option<&'a str>,
    kind: &'a str,
    format: &'a str,
    process: Option<&'a str>,
    pid: Option<i64>,
    captured_at: Option<&'a str>,
    os_version: Option<&'a str>,
    hardware_model: Option<&'a str>,
    exception_type: Option<&'a str>,
    signal: Option<&'a str>,
    fault_address: Option<&'a str>,
    top_frame: Option<&'a str>,
    sources: &'a [String],
    ingested_by: Option<&'a str>,
    crashed_thread: Option<ThreadJson<'a>>,
    last_exception_backtrace: Vec<FrameJson<'a>>,
    report: &'a CrashReport,
}

/// The JSON view of a stored report.
pub fn json_view(s: &StoredReport) -> ShowJson<'_> {
    let r = &s.report;
    let row = &s.row;
    ShowJson {
        id: row.id,
        incident_id: row.incident_id.as_deref(),
        kind: &row.kind,
        format: &row.format,
        process: row.process.as_deref(),
        pid: row.pid,
        captured_at: row.captured_at.as_deref(),
        os_version: row.os_version.as_deref(),
        hardware_model: row.hardware_model.as_deref(),
        exception_type: row.exception_type.as_deref(),
        signal: row.signal.as_deref(),
        fault_address: row.fault_address.as_deref(),
        top_frame: row.top_frame.as_deref(),
        sources: &s.sources,
        ingested_by: row.ingested_by.as_deref(),
        crashed_thread: r.crashed().map(|t| ThreadJson {
            index: t.index,
            id: t.id,
            name: t.name.as_deref(),
            queue: t.queue.as_deref(),
            frames: t
                .frames
                .iter()
                .enumerate()
                .map(|(i, f)| frame_json(r, i, f))
                .collect(),
        }),
        last_exception_backtrace: r
            .last_exception_backtrace
            .iter()
            .enumerate()
            .map(|(i, f)| frame_json(r, i, f))
            .collect(),
        report: r,
    }
}

/// A frame address as Apple prints it (`0x` and 16 digits), `?` when unknown.
fn address_text(v: Option<u64>) -> String {
    v.map(|a| format!("0x{a:016x}"))
        .unwrap_or_else(|| "?".into())
}

/// One backtrace in Apple's layout; adds the images its frames use to `used`.
fn write_frames(o: &mut String, r: &CrashReport, frames: &[Frame], used: &mut BTreeSet<usize>) {
    use std::fmt::Write as _;
    for (i, f) in frames.iter().enumerate() {
        let img = r.image_of(f);
        if let Some(ix) = f.image_index {
            used.insert(ix);
        }
        let name = img.and_then(|m| m.name.as_deref()).unwrap_or("???");
        let sym = agx_triage::ops::frames::symbol_text(r, f);
        let mark = if f.symbol_source == Some(SymbolSource::Symcache) {
            "  [symbolicated by agx-triage]"
        } else {
            ""
        };
        let note = f
            .note
            .as_deref()
            .map(|n| format!("  [{n}]"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "{i:<4}{name:<32}{} {sym}{mark}{note}",
            address_text(f.address)
        );
    }
}

/// The Apple-style text view; `all_threads` prints every thread, as Console.app does.
pub fn text_view_with(s: &StoredReport, all_threads: bool) -> String {
    use std::fmt::Write as _;
    let r = &s.report;
    let mut o = String::new();
    let field = |o: &mut String, k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = writeln!(o, "{:<22}{}", format!("{k}:"), v);
        }
    };
    field(
        &mut o,
        "Report",
        Some(format!("{} ({}, {})", s.row.id, s.row.kind, s.row.format)),
    );
    field(&mut o, "Incident Identifier", r.incident_id.clone());
    field(
        &mut o,
        "Process",
        r.process.name.as_ref().map(|n| match r.process.pid {
            Some(p) => format!("{n} [{p}]"),
            None => n.clone(),
        }),
    );
    field(&mut o, "Path", r.process.path.clone());
    field(&mut o, "Identifier", r.process.bundle_id.clone());
    field(&mut o, "Version", r.process.bundle_version.clone());
    field(
        &mut o,
        "Code Type",
        r.cpu_type.clone().map(|c| {
            if r.translated == Some(true) && !c.contains("Translated") {
                format!("{c} (Translated)")
            } else {
                c
            }
        }),
    );
    field(
        &mut o,
        "Parent Process",
        r.process
            .parent_name
            .as_ref()
            .map(|n| match r.process.parent_pid {
                Some(p) => format!("{n} [{p}]"),
                None => n.clone(),
            }),
    );
    field(
        &mut o,
        "Date/Time",
        r.captured_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
            .or_else(|| r.captured_at_raw.clone()),
    );
    field(&mut o, "OS Version", r.os.version.clone());
    field(&mut o, "Hardware Model", r.hardware_model.clone());
    // Apple's order: the crashed thread's line sits between the header and the exception.
    if let Some(t) = r.crashed() {
        let _ = writeln!(o);
        let mut v = t.index.to_string();
        if let Some(n) = &t.name {
            v.push_str(&format!("  {n}"));
        }
        if let Some(q) = &t.queue {
            v.push_str(&format!("  Dispatch queue: {q}"));
        }
        // `.ips` reports (macOS 12+) say "Triggered by Thread"; legacy text "Crashed Thread".
        let label = match r.format {
            SourceFormat::Ips | SourceFormat::TranslatedIps => "Triggered by Thread",
            SourceFormat::JsonHeaderLegacy | SourceFormat::Legacy => "Crashed Thread",
        };
        field(&mut o, label, Some(v));
    }
    let _ = writeln!(o);
    let e = &r.exception;
    field(
        &mut o,
        "Exception Type",
        e.exc_type.as_ref().map(|t| match &e.signal {
            Some(sig) => format!("{t} ({sig})"),
            None => t.clone(),
        }),
    );
    // Legacy text has no subtype line: its `Exception Codes: KERN_INVALID_ADDRESS at 0x...`
    // is both; print it once.
    if e.codes.as_deref().map(str::trim) != e.subtype.as_deref().map(str::trim) {
        field(&mut o, "Exception Subtype", e.subtype.clone());
    }
    field(&mut o, "Exception Codes", e.codes.clone());
    field(&mut o, "Exception Note", e.note.clone());
    field(&mut o, "Exception Message", e.message.clone());
    if let Some(t) = &r.termination {
        let parts: Vec<String> = [
            t.namespace.as_ref().map(|n| format!("Namespace {n}")),
            t.code.map(|c| format!("Code {c}")),
            t.indicator.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        field(&mut o, "Termination Reason", Some(parts.join(", ")));
    }
    if !r.asi.is_empty() {
        let _ = writeln!(o, "\nApplication Specific Information:");
        for a in &r.asi {
            let _ = writeln!(o, "{a}");
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "\nParse warnings:");
        for w in &r.warnings {
            let _ = writeln!(o, "  {w}");
        }
    }
    let mut used = BTreeSet::new();
    if !r.last_exception_backtrace.is_empty() {
        let _ = writeln!(o, "\nLast Exception Backtrace:");
        write_frames(&mut o, r, &r.last_exception_backtrace, &mut used);
    }
    let crashed = r.crashed();
    for t in &r.threads {
        let is_crashed = crashed.is_some_and(|c| std::ptr::eq(c, t));
        if !is_crashed && !all_threads {
            continue;
        }
        let mut head = format!(
            "\nThread {}{}:",
            t.index,
            if is_crashed { " Crashed" } else { "" }
        );
        if let Some(n) = &t.name {
            head.push_str(&format!(":  {n}"));
        }
        if let Some(q) = &t.queue {
            head.push_str(&format!("  Dispatch queue: {q}"));
        }
        let _ = writeln!(o, "{head}");
        write_frames(&mut o, r, &t.frames, &mut used);
    }
    if crashed.is_none() {
        let _ = writeln!(o, "\n(no crashed thread in this report)");
    }
    if let (Some(t), Some(state)) = (crashed, &r.registers) {
        if !state.registers.is_empty() {
            let _ = writeln!(
                o,
                "\nThread {} crashed with {}:",
                t.index,
                state.flavor.as_deref().unwrap_or("thread state")
            );
            for row in state.registers.chunks(4) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|reg| format!("{:>5}: 0x{:016x}", reg.name, reg.value))
                    .collect();
                let _ = writeln!(o, "{}", cells.join("  "));
            }
        }
    }
    if !used.is_empty() {
        let _ = writeln!(o, "\nBinary Images (used by the frames shown):");
        for ix in used {
            if let Some(m) = r.images.get(ix) {
                let end = match (m.base, m.size) {
                    (Some(b), Some(sz)) if sz > 0 => Some(b + sz - 1),
                    _ => None,
                };
                let _ = writeln!(
                    o,
                    "{:>18} - {:>18} {} {} <{}> {}",
                    m.base
                        .map(|b| format!("{b:#x}"))
                        .unwrap_or_else(|| "?".into()),
                    end.map(|b| format!("{b:#x}")).unwrap_or_else(|| "?".into()),
                    m.name.as_deref().unwrap_or("???"),
                    m.arch.as_deref().unwrap_or(""),
                    m.uuid.as_deref().unwrap_or("no uuid"),
                    m.path.as_deref().unwrap_or("")
                );
            }
        }
    }
    if !s.sources.is_empty() {
        let _ = writeln!(o, "\nSeen at ({}):", s.sources.len());
        for p in &s.sources {
            let _ = writeln!(o, "  {p}");
        }
    }
    if let Some(h) = &s.row.ingested_by {
        // A merged database's host name is another file's data: one line, whatever it holds.
        let _ = writeln!(o, "Ingested on host: {}", super::term::escape_cell(h));
    }
    o
}
