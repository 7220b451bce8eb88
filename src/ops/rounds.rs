//! The round runner's crash source over the database: ingest the report folders, then answer
//! with the crash reports captured since a moment, from the store (so reports ingested
//! meanwhile by `ingest --watch` count too). Files that fail to ingest go to a callback: this
//! layer never prints, the caller says how to show them.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};

use crate::ingest::{self, FileError, IngestOptions, NoProgress};
use crate::rounds::attribute::ReportRef;
use crate::rounds::runner::{CrashSource, CrashSourceError};
use crate::store::Store;

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
