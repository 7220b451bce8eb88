//! The round runner's crash source over the database: ingest the report folders, then answer
//! with the crash reports captured since a moment, from the store (so reports ingested
//! meanwhile by `ingest --watch` count too). Files that fail to ingest go to a callback: this
//! layer never prints, the caller says how to show them.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};

use crate::ingest::{self, FileError, IngestOptions, NoProgress};
use crate::rounds::attribute::ReportRef;
use crate::rounds::handshake;
use crate::rounds::runner::{CrashSource, CrashSourceError};
use crate::rounds::sequential::{Metric, Summary};
use crate::store::{RoundSelector, Store};

use super::OpsError;

/// A [`CrashSource`] over the store and the crash report folders.
pub struct StoreSource<'a> {
    store: &'a mut Store,
    dirs: Vec<PathBuf>,
    on_failed: Box<dyn FnMut(&FileError) + 'a>,
}

impl<'a> StoreSource<'a> {
    /// A source that ingests `dirs` (those that exist) before each look-up and hands every
    /// file that failed to `on_failed`.
    pub fn new(
        store: &'a mut Store,
        dirs: Vec<PathBuf>,
        on_failed: impl FnMut(&FileError) + 'a,
    ) -> Self {
        StoreSource {
            store,
            dirs,
            on_failed: Box::new(on_failed),
        }
    }
}

impl CrashSource for StoreSource<'_> {
    fn collect(&mut self, since: DateTime<Utc>) -> Result<Vec<ReportRef>, CrashSourceError> {
        let dirs: Vec<PathBuf> = self.dirs.iter().filter(|d| d.exists()).cloned().collect();
        if !dirs.is_empty() {
            let s = ingest::ingest_into(
                self.store,
                &dirs,
                &IngestOptions::default(),
                &NoProgress,
                &AtomicBool::new(false),
            )?;
            for f in &s.failed {
                (self.on_failed)(f);
            }
        }
        // Report capture times come from another clock and are written with second-ish
        // precision: look back a second so a report captured at the very start still counts.
        let from = (since - chrono::Duration::seconds(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let refs = self.store.crash_reports_since(&from)?;
        Ok(refs
            .into_iter()
            .map(|r| ReportRef {
                incident_id: r.incident_id,
                pid: r.pid,
                parent_pid: r.parent_pid,
                captured_at: r
                    .captured_at
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc)),
                process: r.process,
            })
            .collect())
    }

    fn lists_image(&mut self, incident_id: &str, uuids: &[String]) -> bool {
        // A lookup error leaves the attempt unconfirmed, the cautious side.
        self.store
            .report_lists_image(incident_id, uuids)
            .unwrap_or(false)
    }
}

/// `round run --until-decided --against SEL`: passes and rounds of the block, under the
/// metric, leaving out unconfirmed fix rounds (as `compare` does) and the rounds this run may
/// number, `first..first + max_rounds` (they are the candidate's). A block without rounds is
/// [`OpsError::NoRounds`], saying why.
pub fn block_counts(
    store: &Store,
    sel: &RoundSelector,
    first: i64,
    max_rounds: u64,
    metric: Metric,
) -> Result<(u64, u64), OpsError> {
    let last = first.saturating_add(i64::try_from(max_rounds).unwrap_or(i64::MAX));
    let (rounds, _) = handshake::partition(store.round_summaries(sel)?, false, |r| {
        (r.number, r.fix.as_deref(), r.fix_confirmed)
    });
    let block: Vec<_> = rounds
        .into_iter()
        .filter(|r| r.number < first || r.number >= last)
        .collect();
    if block.is_empty() {
        return Err(OpsError::NoRounds(format!(
            "--against {}: no stored rounds to compare with (outside this run's numbers \
             {first}..{last}; see `agx-triage rounds`)",
            super::compare::selector_label(sel)
        )));
    }
    let passes = block
        .iter()
        .filter(|r| match metric {
            Metric::Raw => r.outcome.is_raw_pass(),
            Metric::Eventual => r.outcome.is_eventual_pass(),
        })
        .count() as u64;
    Ok((passes, block.len() as u64))
}

/// Fisher's exact p of a sequential run's final counts, candidate against the other arm (or
/// the block): for reference only, since a fixed-size test on the final counts is not what
/// decided (docs/ROUNDS.md, "Sequential decisions"). `None` when an arm has no rounds.
pub fn fixed_test_p(s: &Summary) -> Option<f64> {
    crate::stats::fisher_rates(
        s.other.passes,
        s.other.rounds,
        s.candidate.passes,
        s.candidate.rounds,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::model::{Attempt, Round};

    fn round(number: i64, pass: bool) -> Round {
        Round {
            number,
            attempts: vec![Attempt {
                index: 1,
                exit_code: Some(if pass { 0 } else { 1 }),
                ..Attempt::default()
            }],
            ..Round::default()
        }
    }

    #[test]
    fn block_counts_leave_out_this_runs_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        for n in 1..=10 {
            store
                .save_round(&round(n, n <= 6), &Default::default(), false)
                .unwrap();
        }
        // The run numbers 8.. for 5 rounds: 8-12 are the candidate's, 1-7 the block.
        let (passes, rounds) =
            block_counts(&store, &RoundSelector::All, 8, 5, Metric::Raw).unwrap();
        assert_eq!((passes, rounds), (6, 7));
        let err = block_counts(&store, &RoundSelector::All, 1, 20, Metric::Raw).unwrap_err();
        assert!(matches!(err, OpsError::NoRounds(ref m) if m.contains("no stored rounds")));
    }
}
