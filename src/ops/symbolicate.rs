//! `symbolicate`'s work: name the frames of stored reports from the symbol index, write back
//! only the frames that changed (so a second run has nothing to do), and re-bucket a report
//! whose names changed (its signature may change with them).

use serde::Serialize;

use crate::crash::Frame;
use crate::ingest::Bucketer;
use crate::store::Store;
use crate::symbols::report::{Disagreement, FrameRef};
use crate::symbols::{symbolicate_crashed, SymbolStore};

use super::OpsError;

/// A frame where macOS and the symbols disagree, with its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDisagreement {
    /// Database id of the report.
    pub report: i64,
    /// Which frame, and the two names.
    #[serde(flatten)]
    pub disagreement: Disagreement,
}

/// A frame whose address lies outside every symbol of its image, with its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFrame {
    /// Database id of the report.
    pub report: i64,
    /// Which frame.
    #[serde(flatten)]
    pub frame: FrameRef,
}

/// What a `symbolicate` run did, over all the reports it looked at (`--json` prints this).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SymbolicateTotals {
    /// Reports looked at.
    pub reports: u64,
    /// Reports with at least one frame changed (and written back).
    pub changed_reports: u64,
    /// Frames named that had no name.
    pub filled: u64,
    /// Frames whose macOS name was replaced (`--force`).
    pub replaced: u64,
    /// Frames of images whose UUID is not indexed, left as they are.
    pub unknown_uuid: u64,
    /// Frames outside any symbol of their image.
    pub outside_symbols: u64,
    /// Where macOS and the symbols disagree (`--force`).
    pub disagreements: Vec<ReportDisagreement>,
    /// The frames outside any symbol.
    pub outside: Vec<ReportFrame>,
}

/// Symbolicate the reports `ids` (every crash report when `None`) and store what changed.
pub fn symbolicate_stored(
    store: &mut Store,
    symbols: &SymbolStore,
    bucketer: &Bucketer,
    ids: Option<Vec<i64>>,
    force: bool,
) -> Result<SymbolicateTotals, OpsError> {
    let ids = match ids {
        Some(ids) => ids,
        None => store.crash_report_ids()?,
    };
    let mut totals = SymbolicateTotals::default();
    for id in ids {
        let sr = store.load_report(id)?;
        let mut report = sr.report;
        let before_crashed: Vec<Frame> = report
            .crashed()
            .map(|t| t.frames.clone())
            .unwrap_or_default();
        let before_exc = report.last_exception_backtrace.clone();
        let s = symbolicate_crashed(&mut report, symbols, force);
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
        totals.reports += 1;
        totals.filled += (n_changed - replaced) as u64;
        totals.replaced += replaced as u64;
        totals.unknown_uuid += s.unknown_uuid as u64;
        totals.outside_symbols += s.outside_symbols as u64;
        totals
            .disagreements
            .extend(s.disagreements.into_iter().map(|d| ReportDisagreement {
                report: id,
                disagreement: d,
            }));
        totals
            .outside
            .extend(s.outside.into_iter().map(|f| ReportFrame {
                report: id,
                frame: f,
            }));
        if n_changed == 0 {
            continue;
        }
        totals.changed_reports += 1;
        let tx = store.begin_write()?;
        // One call per stack: a stack may be shared with other reports, and each call stores
        // this report's changed stack as one stack of its own (copy on write).
        fn changes<'a>(before: &[Frame], after: &'a [Frame]) -> Vec<(usize, &'a Frame)> {
            after
                .iter()
                .enumerate()
                .filter(|(i, f)| before.get(*i) != Some(*f))
                .collect()
        }
        if let Some(t) = report.crashed() {
            tx.set_frame_symbols(id, "crashed", &changes(&before_crashed, &t.frames))?;
            if let Some(f0) = t.frames.first() {
                tx.set_top_frame(id, &crate::store::frame_label(&report, f0))?;
            }
        }
        tx.set_frame_symbols(
            id,
            "exception",
            &changes(&before_exc, &report.last_exception_backtrace),
        )?;
        // Names changed: the signature may change too.
        if let Some(b) = bucketer.fields(&report) {
            tx.set_bucket(id, &b)?;
        }
        tx.commit()?;
    }
    Ok(totals)
}
