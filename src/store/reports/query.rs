//! Querying reports: lists and filters, a stored report with its re-parsed model, the stored
//! original files and dictionaries, and what round attribution reads.

use std::sync::Arc;

use crate::store::db::{params, DbError, Optional as _, Row, ToValue as _, Value};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::frames;
use super::{
    content_key, decompress_file, load_dictionary, rfc3339, Dictionary, FileDecodeError, FileStats,
};
use crate::crash::{self, CrashReport, ReportKind};
use crate::store::{Store, StoreError};

/// Filters for [`Store::list_reports`].
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// Process name, exact (case-insensitive).
    pub process: Option<String>,
    /// Only reports captured at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only this kind (`None`: every kind).
    pub kind: Option<ReportKind>,
    /// At most this many rows (newest first).
    pub limit: Option<usize>,
    /// Only these report ids (e.g. from a frame search).
    pub ids: Option<Vec<i64>>,
    /// Only this known pattern (rule id).
    pub pattern: Option<String>,
    /// Only reports whose process loaded this image: a UUID (any form), else an image name
    /// (any case), e.g. `AGXMetalG16X` or `libagx_fix_v2_4.dylib`.
    pub image: Option<String>,
}

/// One row of `reports`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportRow {
    /// The report's row id.
    pub id: i64,
    /// The incident id, if the report has one.
    pub incident_id: Option<String>,
    /// `crash`, `gpu-event` or `other`.
    pub kind: String,
    /// `ips` or `crash` (legacy text).
    pub format: String,
    /// The crashed process's name.
    pub process: Option<String>,
    /// Its pid.
    pub pid: Option<i64>,
    /// When it was captured (RFC 3339 UTC).
    pub captured_at: Option<String>,
    /// The OS version as the report writes it.
    pub os_version: Option<String>,
    /// The hardware model (`Mac14,2`).
    pub hardware_model: Option<String>,
    /// `EXC_BAD_ACCESS`, ...
    pub exception_type: Option<String>,
    /// `SIGSEGV`, ...
    pub signal: Option<String>,
    /// Hex (`0x98`), as people read it.
    pub fault_address: Option<String>,
    /// The crashed thread's number as the report writes it.
    pub crashed_thread: Option<i64>,
    /// The crashed thread's top frame, as lists show it.
    pub top_frame: Option<String>,
    /// Number of paths this report was seen at.
    pub sources: i64,
    /// Bucket signature (crashes only).
    pub signature: Option<String>,
    /// Known-pattern rule id, if one matched.
    pub pattern: Option<String>,
    /// The known pattern's title.
    pub pattern_title: Option<String>,
    /// Registered fix version linked by image UUID.
    pub fix: Option<String>,
    /// Name of a `libagx_fix*` image whose UUID is not registered.
    pub unregistered_fix: Option<String>,
    /// Where the top frame's name came from: `apple` or `symcache` (null when unnamed).
    pub top_frame_symbol_source: Option<String>,
    /// The host that ingested it (docs/FLEET.md); null when unknown (ingested before hosts
    /// existed, or the ingest was killed before its host was recorded).
    pub ingested_by: Option<String>,
}

/// The columns [`row_from`] reads, the same on both dialects. The crashed stack is read whole
/// and its first frame's symbol source taken in Rust: JSON is not parsed in SQL, where
/// PostgreSQL refuses a `\u0000` escape (a hostile report's symbol `"objc_\u0000msgSend"`)
/// and its versions differ in what they offer.
const ROW_COLUMNS: &str = "r.id, r.incident_id, r.kind, r.format, r.process, r.pid,
    r.captured_at, r.os_version, r.hardware_model, r.exception_type, r.signal, r.fault_address,
    r.crashed_thread, r.top_frame,
    (SELECT count(*) FROM sources s WHERE s.report_id = r.id),
    r.signature, r.pattern, r.pattern_title,
    (SELECT f.name FROM fixes f WHERE f.id = r.fix_id), r.unregistered_fix,
    (SELECT st.frames FROM stacks st WHERE st.id = r.crashed_stack),
    (SELECT h.name FROM hosts h WHERE h.id = r.host_id)";

/// The symbol source of a stored stack's first frame; `None` for no stack or a damaged one (a
/// listing shows what it can rather than failing every row).
fn top_frame_symbol_source(crashed: Option<String>) -> Option<String> {
    let frames = super::frames::decode(0, crashed.as_deref()).ok()?;
    frames.first()?.3.as_deref().map(str::to_string)
}

fn row_from(r: &Row<'_>) -> Result<ReportRow, DbError> {
    Ok(ReportRow {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        kind: r.get(2)?,
        format: r.get(3)?,
        process: r.get(4)?,
        pid: r.get(5)?,
        captured_at: r.get(6)?,
        os_version: r.get(7)?,
        hardware_model: r.get(8)?,
        exception_type: r.get(9)?,
        signal: r.get(10)?,
        fault_address: r
            .get::<Option<i64>>(11)?
            .map(|a| format!("{:#x}", a as u64)),
        crashed_thread: r.get(12)?,
        top_frame: r.get(13)?,
        sources: r.get(14)?,
        signature: r.get(15)?,
        pattern: r.get(16)?,
        pattern_title: r.get(17)?,
        fix: r.get(18)?,
        unregistered_fix: r.get(19)?,
        top_frame_symbol_source: top_frame_symbol_source(r.get(20)?),
        ingested_by: r.get(21)?,
    })
}

/// Counts of stored reports by kind.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct KindCounts {
    /// Crash reports.
    pub crash: i64,
    /// GPU events (`bug_type` 284).
    pub gpu_event: i64,
    /// Every other kind.
    pub other: i64,
}

/// A stored report with everything `show` needs.
#[derive(Debug, Clone, Serialize)]
pub struct StoredReport {
    /// The report's row.
    pub row: ReportRow,
    /// Every path the report was seen at.
    pub sources: Vec<String>,
    /// The full model, re-parsed from the stored file, with the stored frames (which may have
    /// been symbolicated since) laid over the crashed thread and exception backtrace.
    pub report: CrashReport,
}

impl Store {
    /// Reports, newest first.
    pub fn list_reports(&self, f: &ReportFilter) -> Result<Vec<ReportRow>, StoreError> {
        let mut sql = format!("SELECT {} FROM reports r WHERE 1=1", ROW_COLUMNS);
        let since = f.since.map(rfc3339);
        let uuid = f.image.as_deref().and_then(crate::crash::normalize_uuid);
        let mut args: Vec<Value<'_>> = Vec::new();
        if let Some(p) = &f.process {
            // lower() on both sides: SQLite's NOCASE, also on PostgreSQL (ASCII letters alike).
            sql.push_str(" AND lower(r.process) = lower(?)");
            args.push(p.to_value());
        }
        if let Some(t) = &since {
            sql.push_str(" AND r.captured_at >= ?");
            args.push(t.to_value());
        }
        if let Some(k) = f.kind {
            sql.push_str(" AND r.kind = ?");
            args.push(Value::Text(k.as_str()));
        }
        if let Some(p) = &f.pattern {
            sql.push_str(" AND r.pattern = ?");
            args.push(p.to_value());
        }
        if let Some(image) = &f.image {
            // images(uuid) -> image_list_members(image_id) -> reports(image_list_id), all indexed.
            sql.push_str(
                " AND r.image_list_id IN (SELECT m.list_id FROM images i
                    JOIN image_list_members m ON m.image_id = i.id
                    WHERE i.uuid = ? OR (CAST(? AS TEXT) IS NULL AND lower(i.name) = lower(?)))",
            );
            args.push(uuid.to_value());
            args.push(uuid.to_value());
            args.push(Value::Text(image.trim()));
        }
        if let Some(ids) = &f.ids {
            // Ids are integers from our own query: safe to inline, and no 999-parameter limit.
            // An empty set matches nothing: `IN ()` is SQLite's only (PostgreSQL: syntax error).
            let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            if list.is_empty() {
                sql.push_str(" AND 0 = 1");
            } else {
                sql.push_str(&format!(" AND r.id IN ({})", list.join(",")));
            }
        }
        sql.push_str(" ORDER BY r.captured_at DESC NULLS LAST, r.id DESC");
        if let Some(n) = f.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let rows = self
            .conn()
            .query_map(&sql, &args, row_from)?
            .into_iter()
            .collect::<Vec<_>>();
        Ok(rows)
    }

    /// Counts by kind.
    pub fn kind_counts(&self) -> Result<KindCounts, StoreError> {
        let mut c = KindCounts::default();
        for (kind, n) in self.conn().query_map(
            "SELECT kind, count(*) FROM reports GROUP BY kind",
            params![],
            |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
        )? {
            match kind.as_str() {
                "crash" => c.crash = n,
                "gpu-event" => c.gpu_event = n,
                _ => c.other += n,
            }
        }
        Ok(c)
    }

    /// Number of stored source paths.
    pub fn source_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM sources", params![], |r| r.get(0))?)
    }

    /// The stored bytes of a file, decompressed (byte for byte the file that was ingested).
    pub fn file_bytes(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        let (size, data, dict_id): (i64, Vec<u8>, Option<i64>) = self
            .conn()
            .query_row(
                "SELECT size, data, dict_id FROM files WHERE hash = ?1",
                params![hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("file {hash} is missing")))?;
        let dict = dict_id.map(|d| self.dictionary(d)).transpose()?;
        let out = decompress_file(&data, size, dict.as_deref().map(Vec::as_slice)).map_err(
            |e| match e {
                FileDecodeError::Store(e) => e,
                FileDecodeError::Size => {
                    StoreError::Corrupt(format!("file {hash} has an impossible size {size}"))
                }
                FileDecodeError::Length(n) => StoreError::Corrupt(format!(
                    "file {hash} decompresses to {n} bytes, {size} were stored"
                )),
            },
        )?;
        // A raw-content frame names no dictionary and carries no checksum: against a damaged
        // or wrong dictionary it decodes to other bytes of the right length, silently. The
        // content key the file is stored under says whether these are the bytes ingested.
        if let Some(d) = dict_id {
            if !content_key(&out).eq_ignore_ascii_case(hash) {
                return Err(StoreError::Corrupt(format!(
                    "file {hash} does not read back as stored (dictionary {d} damaged?)"
                )));
            }
        }
        Ok(out)
    }

    /// A stored dictionary's content, by id (cached for the life of this store).
    pub fn dictionary(&self, id: i64) -> Result<Arc<Vec<u8>>, StoreError> {
        if let Some(d) = self.dicts.0.borrow().get(&id) {
            return Ok(Arc::clone(d));
        }
        let content = load_dictionary(self.conn(), id)?;
        let content = Arc::new(content);
        self.dicts.0.borrow_mut().insert(id, Arc::clone(&content));
        Ok(content)
    }

    /// The newest dictionary, which new files are compressed with (`None` before the first).
    pub fn latest_dictionary(&self) -> Result<Option<Dictionary>, StoreError> {
        let id: Option<i64> =
            self.conn()
                .query_row("SELECT max(id) FROM dictionaries", params![], |r| r.get(0))?;
        match id {
            None => Ok(None),
            Some(id) => Ok(Some(Dictionary {
                id,
                content: self.dictionary(id)?,
            })),
        }
    }

    /// How the original files are stored: counts and bytes.
    pub fn file_stats(&self) -> Result<FileStats, StoreError> {
        Ok(self.conn().query_row(
            "SELECT count(*), count(dict_id), CAST(coalesce(sum(size), 0) AS BIGINT),
                CAST(coalesce(sum(length(data)), 0) AS BIGINT),
                (SELECT CAST(coalesce(sum(length(data)), 0) AS BIGINT) FROM dictionaries)
             FROM files",
            params![],
            |r| {
                Ok(FileStats {
                    files: r.get(0)?,
                    with_dictionary: r.get(1)?,
                    bytes: r.get::<i64>(2)?.max(0) as u64,
                    stored: r.get::<i64>(3)?.max(0) as u64,
                    dictionaries: r.get::<i64>(4)?.max(0) as u64,
                })
            },
        )?)
    }

    /// Every stored file's content hash, in no particular order (for a full read-back).
    pub fn file_hashes(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .conn()
            .query_map("SELECT hash FROM files", params![], |r| r.get(0))?
            .into_iter()
            .collect::<Vec<String>>();
        Ok(rows)
    }

    /// One report with its sources and full model.
    pub fn load_report(&self, id: i64) -> Result<StoredReport, StoreError> {
        let row = self
            .conn()
            .query_row(
                &format!("SELECT {} FROM reports r WHERE r.id = ?1", ROW_COLUMNS),
                params![id],
                row_from,
            )
            .optional()?
            .ok_or(StoreError::NoSuchReport(id))?;
        let (sha, index): (String, i64) = self.conn().query_row(
            "SELECT file_hash, file_index FROM reports WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let sources = self
            .conn()
            .query_map(
                "SELECT path FROM sources WHERE report_id = ?1 ORDER BY path",
                params![id],
                |r| r.get(0),
            )?
            .into_iter()
            .collect::<Vec<String>>();
        let bytes = self.file_bytes(&sha)?;
        let mut reports = crash::parse(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("stored file {sha} no longer parses: {e}")))?;
        let idx = index.max(0) as usize;
        if idx >= reports.len() {
            return Err(StoreError::Corrupt(format!(
                "stored file {sha} holds {} reports, report {id} is number {idx}",
                reports.len()
            )));
        }
        let mut report = reports.swap_remove(idx);
        self.overlay_frames(id, &mut report)?;
        Ok(StoredReport {
            row,
            sources,
            report,
        })
    }

    /// Lay the stored frames (symbol names may have been filled in since ingest) over the
    /// re-parsed model.
    fn overlay_frames(&self, id: i64, report: &mut CrashReport) -> Result<(), StoreError> {
        let stored: Option<(Option<String>, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT (SELECT s.frames FROM stacks s WHERE s.id = r.crashed_stack),
                        (SELECT s.frames FROM stacks s WHERE s.id = r.exception_stack)
                 FROM reports r WHERE r.id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((crashed, exception)) = stored else {
            return Ok(());
        };
        let crashed = frames::decode(id, crashed.as_deref())?;
        if let Some(t) = report
            .crashed_thread
            .and_then(|t| report.threads.get_mut(t))
        {
            for (s, f) in crashed.iter().zip(t.frames.iter_mut()) {
                s.overlay(f);
            }
        }
        let exception = frames::decode(id, exception.as_deref())?;
        for (s, f) in exception
            .iter()
            .zip(report.last_exception_backtrace.iter_mut())
        {
            s.overlay(f);
        }
        Ok(())
    }
}

/// The fields round attribution needs of a crash report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrashRef {
    /// The report's row id.
    pub id: i64,
    /// Its incident id.
    pub incident_id: String,
    /// The crashed process's pid.
    pub pid: Option<i64>,
    /// Its parent's pid.
    pub parent_pid: Option<i64>,
    /// When it was captured (RFC 3339 UTC).
    pub captured_at: Option<String>,
    /// The process name.
    pub process: Option<String>,
}

impl Store {
    /// Crash reports captured at or after `since` (RFC 3339 UTC), oldest first.
    pub fn crash_reports_since(&self, since: &str) -> Result<Vec<CrashRef>, StoreError> {
        let rows = self
            .conn()
            .query_map(
                "SELECT id, identity, pid, parent_pid, captured_at, process FROM reports
             WHERE kind = 'crash' AND captured_at >= ?1 ORDER BY captured_at, id",
                params![since],
                |r| {
                    Ok(CrashRef {
                        id: r.get(0)?,
                        incident_id: r.get(1)?,
                        pid: r.get(2)?,
                        parent_pid: r.get(3)?,
                        captured_at: r.get(4)?,
                        process: r.get(5)?,
                    })
                },
            )?
            .into_iter()
            .collect::<Vec<_>>();
        Ok(rows)
    }
}

impl Store {
    /// The stored report with this identity (an incident id, any case), if any.
    pub fn report_by_identity(&self, identity: &str) -> Result<Option<ReportRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {} FROM reports r WHERE r.identity = ?1",
                    ROW_COLUMNS
                ),
                params![super::normalize_identity(identity)],
                row_from,
            )
            .optional()?)
    }
}

impl Store {
    /// Ids of every stored crash report, oldest first.
    pub fn crash_report_ids(&self) -> Result<Vec<i64>, StoreError> {
        let ids = self
            .conn()
            .query_map(
                "SELECT id FROM reports WHERE kind = 'crash' ORDER BY id",
                params![],
                |r| r.get(0),
            )?
            .into_iter()
            .collect::<Vec<i64>>();
        Ok(ids)
    }

    /// The symbol store that belongs to this database: `<db>.symbols/` beside it (for a
    /// PostgreSQL database, see [`server_symbols_dir`]).
    pub fn symbols_dir(&self) -> std::path::PathBuf {
        if self.is_server() {
            return server_symbols_dir(&self.path().to_string_lossy());
        }
        symbols_dir_for(self.path())
    }
}

/// The symbol store of a PostgreSQL database: symbol files stay on the machine that has them,
/// in the platform data folder beside the default database, one folder per server database
/// (`<data folder>/postgres-<host>-<db>.symbols`; the password never appears in the name).
pub fn server_symbols_dir(url: &str) -> std::path::PathBuf {
    let shown = crate::store::redact_url(url);
    let rest = shown.split_once("://").map(|(_, r)| r).unwrap_or(&shown);
    let rest = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let name: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = crate::store::default_db_path()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    base.join(format!("postgres-{name}.symbols"))
}

/// The symbol store folder for a database path: `<db>.symbols/` beside it.
pub fn symbols_dir_for(db: &std::path::Path) -> std::path::PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".symbols");
    db.with_file_name(name)
}
