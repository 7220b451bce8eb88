//! `agx-triage reports`: one row per stored report.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};

use agx_triage::store::ReportFilter;

use super::{ellipsize, open_store_read, parse_since, table, Cli, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Only this process (exact name, any case).
    #[arg(long, value_name = "NAME")]
    process: Option<String>,
    /// Only reports captured since T (2026-11-02, RFC 3339, or an age like 7d / 36h).
    #[arg(long, value_name = "T", value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// At most N reports (newest first).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Only reports with a crashed-thread frame matching GLOB (`*` `?` `[..]`; the AGX
    /// family may be written `AGXG1?X...`), e.g. `'*setComputePipelineState*'`.
    #[arg(long, value_name = "GLOB")]
    frame: Option<String>,
    /// Only reports of this known pattern (rule id).
    #[arg(long, value_name = "ID")]
    pattern: Option<String>,
    /// Only reports whose process loaded this image: a UUID, or an image name (any case),
    /// e.g. `AGXMetalG16X` or `libagx_fix_v2_4.dylib`.
    #[arg(long, value_name = "UUID|NAME")]
    image: Option<String>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<Exit> {
    let store = open_store_read(cli)?;
    let ids = match &args.frame {
        Some(g) => {
            let m = agx_triage::bucket::frame_glob(g)?;
            Some(store.reports_with_frame(&|s| m.matches(s))?)
        }
        None => None,
    };
    let filter = ReportFilter {
        process: args.process.clone(),
        since: args.since,
        kind: None,
        limit: args.limit,
        ids,
        pattern: args.pattern.clone(),
        image: args.image.clone(),
    };
    let rows = store.list_reports(&filter)?;
    let mut out = super::term::stdout(args.json);
    if args.json {
        super::term::print_json(&mut out, &rows)?;
        return Ok(Exit::Ok);
    }
    let mut t = table();
    t.set_header(vec![
        "id",
        "captured (UTC)",
        "kind",
        "process",
        "pid",
        "exception",
        "fault",
        "pattern",
        "top frame",
        "copies",
    ]);
    for r in &rows {
        let exc = match (&r.exception_type, &r.signal) {
            (Some(e), Some(s)) => format!("{e} ({s})"),
            (Some(e), None) => e.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        };
        t.add_row(vec![
            r.id.to_string(),
            r.captured_at
                .as_deref()
                .map(|c| c.get(..16).unwrap_or(c).replace('T', " "))
                .unwrap_or_default(),
            r.kind.clone(),
            r.process.clone().unwrap_or_default(),
            r.pid.map(|p| p.to_string()).unwrap_or_default(),
            exc,
            r.fault_address.clone().unwrap_or_default(),
            r.pattern.clone().unwrap_or_default(),
            ellipsize(r.top_frame.as_deref().unwrap_or(""), 60),
            r.sources.to_string(),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(out, "{} report(s)", rows.len())?;
    Ok(Exit::Ok)
}
