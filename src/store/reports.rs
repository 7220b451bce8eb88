//! Reports, their sources, stored files, images and frames: writes and queries.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::Serialize;

use super::{Store, StoreError};
use crate::crash::{self, CrashReport, Frame, Image, ReportKind, SymbolSource};

/// zstd level for stored files. Level 1: crash reports compress as well at 1 as at 3 (the real
/// corpus: 153,860 vs 154,288 bytes from 822,766) and level 1 is ~20% faster.
const ZSTD_LEVEL: i32 = 1;

/// Every dictionary's content starts with this line. zstd reads a dictionary that begins with
/// its magic number (`37 A4 30 EC`) as a trained dictionary and anything else as raw content;
/// a report whose first bytes were that number would otherwise be misread as one.
pub const DICT_PREFIX: &[u8] = b"agx-triage zstd raw-content dictionary v1\n";

/// The most a dictionary holds. Bigger dictionaries cover more kinds of report but cost more to
/// load into each compression context and to store with every new version.
pub const MAX_DICT_BYTES: usize = 1 << 20;

/// A stored zstd dictionary: its row id and its content (raw content: whole reports, see
/// [`DictionaryBuilder`]).
#[derive(Debug, Clone)]
pub struct Dictionary {
    pub id: i64,
    pub content: Arc<Vec<u8>>,
}

/// Compresses files the way the store keeps them, with the dictionary it was made with (if
/// any). One per ingest worker: reusing the zstd context spares an allocation and a table
/// reset per file, and loads the dictionary once. Callable from any thread, so the workers
/// compress in parallel and the single writer only inserts.
pub struct Compressor {
    inner: zstd::bulk::Compressor<'static>,
    dict_id: Option<i64>,
}

impl Compressor {
    pub fn new() -> Result<Compressor, StoreError> {
        zstd::bulk::Compressor::new(ZSTD_LEVEL)
            .map(|inner| Compressor {
                inner,
                dict_id: None,
            })
            .map_err(StoreError::Compression)
    }

    /// A compressor using a stored dictionary: what it makes must be stored with
    /// `dict_id = dict.id` ([`WriteTx::put_file_with`]).
    pub fn with_dictionary(dict: &Dictionary) -> Result<Compressor, StoreError> {
        zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, &dict.content)
            .map(|inner| Compressor {
                inner,
                dict_id: Some(dict.id),
            })
            .map_err(StoreError::Compression)
    }

    /// The dictionary this compressor uses (`None`: none).
    pub fn dict_id(&self) -> Option<i64> {
        self.dict_id
    }

    pub fn compress(&mut self, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.inner.compress(bytes).map_err(StoreError::Compression)
    }
}

/// Compress one file's bytes the way the store keeps them without a dictionary (a
/// [`Compressor`] for one use).
pub fn compress(bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    Compressor::new()?.compress(bytes)
}

/// Decompress a stored value (a file without a dictionary, or a dictionary) of `size` bytes.
/// `size` comes from the database: a corrupt one must be an error, not an allocation of
/// 2^62 bytes (which aborts the process), so it is bounded before anything is reserved, and
/// reading stops one byte past it.
fn decompress(data: &[u8], size: i64, what: &dyn std::fmt::Display) -> Result<Vec<u8>, StoreError> {
    let size = u64::try_from(size)
        .ok()
        .filter(|n| *n <= crate::ingest::MAX_FILE_SIZE)
        .ok_or_else(|| StoreError::Corrupt(format!("{what} has an impossible size {size}")))?;
    let mut out = Vec::with_capacity(size as usize);
    zstd::stream::read::Decoder::new(data)
        .and_then(|d| d.take(size + 1).read_to_end(&mut out))
        .map_err(StoreError::Compression)?;
    Ok(out)
}

/// Is a file that compressed to `compressed` bytes from `size` already covered by the
/// dictionary it was compressed with? A report with a near-copy in the dictionary compresses
/// to well under 1% of its size (30 bytes of a 20 KB report); without one, the real corpus's
/// crashes compress to 10-30% (a 136 KB report with 27 threads to 10%), and another crash of
/// the same app against the first to ~4%. 1/32 takes the first as covered and the others as
/// samples for the next dictionary.
pub fn is_covered(size: usize, compressed: usize) -> bool {
    compressed.saturating_mul(32) <= size
}

/// Decides, during an ingest, when the originals deserve a new dictionary and what it holds.
///
/// The dictionary is raw content: whole reports. zstd's trainer (`ZDICT`) was measured on the
/// reports of the bench's real-derived set and saves little (6.4 KB per report instead of
/// 8.3 KB), because it keeps short frequent fragments while what repeats across a stress
/// suite's reports is nearly the whole report; a dictionary holding one such report brings
/// every later copy down to tens of bytes. So: a stored file the current dictionary does not
/// cover ([`is_covered`]) is a candidate sample; a candidate that the pending samples already
/// cover is evidence that a dictionary would pay. A new version (the samples appended to the
/// current content, the oldest content dropped beyond [`MAX_DICT_BYTES`]) is due once there
/// are [`Self::EVIDENCE`] such files and their bytes reach a quarter of the new version's: a
/// version is stored whole, so it must be earned by the files it helps, and a suite that made
/// a few near-copies makes many more. Unrelated reports (nothing in common beyond JSON keys)
/// never give evidence and never make a version; their samples are kept up to
/// [`Self::MAX_PENDING`] bytes, oldest dropped first.
pub struct DictionaryBuilder {
    current: Option<Dictionary>,
    pending: std::collections::VecDeque<Vec<u8>>,
    pending_bytes: usize,
    evidence: usize,
    evidence_bytes: usize,
    /// Compresses against current content + pending samples; rebuilt when a sample is added.
    probe: Option<zstd::bulk::Compressor<'static>>,
}

impl DictionaryBuilder {
    /// Near-copies of pending samples seen before a new version is made.
    pub const EVIDENCE: usize = 4;
    /// Bytes of pending samples kept while waiting for evidence.
    pub const MAX_PENDING: usize = 512 * 1024;

    pub fn new(current: Option<Dictionary>) -> DictionaryBuilder {
        DictionaryBuilder {
            current,
            pending: Default::default(),
            pending_bytes: 0,
            evidence: 0,
            evidence_bytes: 0,
            probe: None,
        }
    }

    /// The dictionary new files should be compressed with.
    pub fn current(&self) -> Option<&Dictionary> {
        self.current.as_ref()
    }

    /// Look at a stored file the current dictionary did not cover.
    pub fn offer(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.is_empty() || bytes.len() > Self::MAX_PENDING {
            return Ok(()); // an empty file teaches nothing; a huge one would crowd out the rest
        }
        if !self.pending.is_empty() {
            if self.probe.is_none() {
                let content = self.content_with_pending();
                self.probe = Some(
                    zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, &content)
                        .map_err(StoreError::Compression)?,
                );
            }
            if let Some(p) = self.probe.as_mut() {
                let c = p.compress(bytes).map_err(StoreError::Compression)?;
                if is_covered(bytes.len(), c.len()) {
                    self.evidence += 1;
                    self.evidence_bytes += bytes.len();
                    return Ok(());
                }
            }
        }
        self.pending_bytes += bytes.len();
        self.pending.push_back(bytes.to_vec());
        while self.pending_bytes > Self::MAX_PENDING {
            match self.pending.pop_front() {
                Some(old) => self.pending_bytes -= old.len(),
                None => break,
            }
        }
        self.probe = None;
        Ok(())
    }

    /// The content of the next version, when one is due: store it and then call
    /// [`Self::installed`] with its id.
    pub fn due(&self) -> Option<Vec<u8>> {
        if self.pending.is_empty() || self.evidence < Self::EVIDENCE {
            return None;
        }
        let content = self.content_with_pending();
        (self.evidence_bytes.saturating_mul(4) >= content.len()).then_some(content)
    }

    /// The version made from [`Self::due`]'s content was committed with this id.
    pub fn installed(&mut self, dict: Dictionary) {
        self.current = Some(dict);
        self.pending.clear();
        self.pending_bytes = 0;
        self.evidence = 0;
        self.evidence_bytes = 0;
        self.probe = None;
    }

    /// The prefix, then the current content (without its prefix) and the pending samples,
    /// keeping the newest bytes: zstd reaches the end of a dictionary with the shortest
    /// offsets, and the newest samples are what the next files most resemble.
    fn content_with_pending(&self) -> Vec<u8> {
        let old = self
            .current
            .as_ref()
            .map(|d| d.content.get(DICT_PREFIX.len()..).unwrap_or(&[]))
            .unwrap_or(&[]);
        let room = MAX_DICT_BYTES - DICT_PREFIX.len();
        let pending: Vec<u8> = self.pending.iter().flatten().copied().collect();
        let body_len = (old.len() + pending.len()).min(room);
        let mut out = Vec::with_capacity(DICT_PREFIX.len() + body_len);
        out.extend_from_slice(DICT_PREFIX);
        let from_pending = pending.len().min(body_len);
        let from_old = body_len - from_pending;
        out.extend_from_slice(&old[old.len() - from_old..]);
        out.extend_from_slice(&pending[pending.len() - from_pending..]);
        out
    }
}

/// How the original files are stored ([`Store::file_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileStats {
    /// Stored files.
    pub files: i64,
    /// Of those, compressed with a dictionary.
    pub with_dictionary: i64,
    /// Their bytes, uncompressed.
    pub bytes: u64,
    /// Their bytes as stored (compressed).
    pub stored: u64,
    /// Bytes of the stored dictionaries (compressed).
    pub dictionaries: u64,
}

/// Decompressed dictionaries by id, kept by a [`Store`] for reads (`show`, `rebucket` and a
/// full read-back load each one once).
#[derive(Debug, Default)]
pub(crate) struct DictCache(RefCell<HashMap<i64, Arc<Vec<u8>>>>);

/// What happened to one report handed to [`WriteTx::insert_report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A report not seen before; its new id.
    New(i64),
    /// A copy of a stored report (same identity); the stored id. The path was recorded as a
    /// further source.
    Duplicate(i64),
    /// A copy of a stored report that is more complete than the stored one (see
    /// [`Completeness`]): the row now describes this copy, under the same id; every path
    /// stays a source and the file of the other copy stays stored.
    Replaced(i64),
}

/// How much of a report came through, to choose between two copies of one report (the first
/// 20 KB of a file still being written and the whole file, say). Compared in order: the
/// threads, crashed-thread frames and images the copy holds, counted together (a cut copy
/// lacks some); then fewer parse warnings (a copy cut in its last bytes holds as much but
/// says it ends early); then more bytes. Equal copies keep the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Completeness {
    pub parts: i64,
    pub fewer_warnings: std::cmp::Reverse<i64>,
    pub bytes: i64,
}

impl Completeness {
    /// The completeness of a parsed copy from a file of `bytes` bytes.
    pub fn of(report: &CrashReport, bytes: u64) -> Completeness {
        let frames = report.crashed().map(|t| t.frames.len()).unwrap_or(0);
        Completeness {
            parts: (report.threads.len() + frames + report.images.len()) as i64,
            fewer_warnings: std::cmp::Reverse(report.warnings.len() as i64),
            bytes: bytes as i64,
        }
    }
}

/// The identity that makes copies of one report one report: the incident id, or for reports
/// without one a hash of the file plus the report's position in it.
pub fn report_identity(report: &CrashReport, file_sha256: &str, index: usize) -> String {
    match report.incident_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => id.to_ascii_uppercase(),
        _ => format!("sha256:{file_sha256}#{index}"),
    }
}

/// The top frame as shown in lists: the symbol, else `image + 0xoffset`, else the address.
pub fn frame_label(report: &CrashReport, frame: &Frame) -> String {
    if let Some(s) = &frame.symbol {
        return s.clone();
    }
    let image = report.image_of(frame).and_then(|i| i.name.clone());
    match (image, frame.image_offset, frame.address) {
        (Some(name), Some(off), _) => format!("{name} + {off:#x}"),
        (Some(name), None, _) => name,
        (None, _, Some(addr)) => format!("{addr:#x}"),
        _ => "???".to_string(),
    }
}

/// An open write transaction (`BEGIN IMMEDIATE`). Dropping it without [`WriteTx::commit`]
/// rolls everything back.
pub struct WriteTx<'c> {
    pub(super) tx: Transaction<'c>,
    pub(super) now: String,
    /// Ids met in transactions this store committed before.
    committed: &'c mut IdCache,
    /// Ids met in this one: kept only if it commits, so a rollback cannot leave stale ids.
    fresh: RefCell<IdCache>,
    /// UUIDs of registered fix builds, read once per transaction: most reports load no fix,
    /// and knowing that spares the linking queries.
    fix_uuids: std::cell::OnceCell<HashSet<String>>,
}

/// Row ids of images and image lists by key, kept by a [`Store`] across its write
/// transactions. After the first few reports of a machine every image and image list a report
/// names is stored already, and looking them up here instead of in SQL is what lets the single
/// writer keep up with the parsing workers. An entry stays true: ids never change once
/// committed and neither table ever loses a row. Bounded: a map that outgrows its limit is
/// emptied (the UNIQUE keys in SQL stay the truth), so memory is flat however many distinct
/// lists an ingest meets.
#[derive(Debug, Default)]
pub(crate) struct IdCache {
    images: HashMap<String, i64>,
    lists: HashMap<String, i64>,
}

impl IdCache {
    const MAX_IMAGES: usize = 1 << 16;
    /// List keys are ~5 bytes per image: 1,024 lists of 600 images are 3 MB.
    const MAX_LISTS: usize = 1 << 10;

    fn absorb(&mut self, other: IdCache) {
        if self.images.len() + other.images.len() > Self::MAX_IMAGES {
            self.images.clear();
        }
        if self.lists.len() + other.lists.len() > Self::MAX_LISTS {
            self.lists.clear();
        }
        self.images.extend(other.images);
        self.lists.extend(other.lists);
    }
}

/// The `image_lists.key` of a list of image ids: a JSON array without spaces, as migration 4's
/// `json_group_array` writes it.
fn image_list_key(ids: &[i64]) -> String {
    use std::fmt::Write;
    let mut key = String::with_capacity(ids.len() * 5 + 2);
    key.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        let _ = write!(key, "{id}");
    }
    key.push(']');
    key
}

/// The `images.key` of an image: its UUID, or `nouuid:name:path:arch` when it has none.
fn image_key(img: &Image) -> Cow<'_, str> {
    match &img.uuid {
        Some(u) => Cow::Borrowed(u.as_str()),
        None => Cow::Owned(format!(
            "nouuid:{}:{}:{}",
            img.name.as_deref().unwrap_or(""),
            img.path.as_deref().unwrap_or(""),
            img.arch.as_deref().unwrap_or("")
        )),
    }
}

impl Store {
    /// Start a write transaction. It takes the database write lock at once (waiting up to
    /// [`super::BUSY_TIMEOUT`] for another writer).
    pub fn begin_write(&mut self) -> Result<WriteTx<'_>, StoreError> {
        let Store { conn, ids, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(WriteTx {
            tx,
            now: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            committed: ids,
            fresh: Default::default(),
            fix_uuids: Default::default(),
        })
    }

    /// Is a file with this content hash stored already?
    pub fn has_file(&self, sha256: &str) -> Result<bool, StoreError> {
        has_file(self.conn(), sha256)
    }
}

fn has_file(conn: &rusqlite::Connection, sha256: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM files WHERE sha256 = ?1")?
        .exists([sha256])?)
}

impl WriteTx<'_> {
    /// Is a file with this content hash stored already?
    pub fn has_file(&self, sha256: &str) -> Result<bool, StoreError> {
        has_file(&self.tx, sha256)
    }

    /// Store a file's bytes compressed without a dictionary (no-op when already stored).
    pub fn put_file(&self, sha256: &str, size: u64, compressed: &[u8]) -> Result<(), StoreError> {
        self.put_file_with(sha256, size, compressed, None)
    }

    /// Store a file's compressed bytes and the dictionary they were compressed with (no-op
    /// when already stored). The dictionary must be committed already or stored in this
    /// transaction.
    pub fn put_file_with(
        &self,
        sha256: &str,
        size: u64,
        compressed: &[u8],
        dict_id: Option<i64>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO files (sha256, size, compression, data, dict_id)
                 VALUES (?1, ?2, 'zstd', ?3, ?4)",
            )?
            .execute(params![sha256, size as i64, compressed, dict_id])?;
        Ok(())
    }

    /// Store a new dictionary version; its id. Files compressed with it may be stored in this
    /// transaction or later ones.
    pub fn put_dictionary(&self, content: &[u8]) -> Result<i64, StoreError> {
        // Level 3: a dictionary is written once per version and is mostly whole reports.
        let data = zstd::bulk::compress(content, 3).map_err(StoreError::Compression)?;
        self.tx
            .prepare_cached(
                "INSERT INTO dictionaries (kind, size, data, created_at)
                 VALUES ('zstd-raw', ?1, ?2, ?3)",
            )?
            .execute(params![content.len() as i64, data, self.now])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Record `path` as a further source of every report stored from file `sha256`.
    /// Returns how many reports that file holds (0 when no report came from it).
    pub fn add_sources_for_file(&self, sha256: &str, path: &str) -> Result<usize, StoreError> {
        let ids: Vec<i64> = self
            .tx
            .prepare_cached("SELECT id FROM reports WHERE file_sha256 = ?1")?
            .query_map([sha256], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &ids {
            self.add_source(*id, path, sha256)?;
        }
        Ok(ids.len())
    }

    fn add_source(&self, report_id: i64, path: &str, sha256: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO sources (report_id, path, file_sha256, first_seen)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![report_id, path, sha256, self.now])?;
        Ok(())
    }

    /// Insert one parsed report (or, when its identity is stored already, record the path as a
    /// further source of the stored one). The file must have been stored with
    /// [`WriteTx::put_file`] first.
    pub fn insert_report(
        &self,
        report: &CrashReport,
        file_sha256: &str,
        file_index: usize,
        path: &str,
        bucket: Option<&super::BucketFields>,
    ) -> Result<InsertOutcome, StoreError> {
        let identity = report_identity(report, file_sha256, file_index);
        let existing: Option<i64> = self
            .tx
            .prepare_cached("SELECT id FROM reports WHERE identity = ?1")?
            .query_row([&identity], |r| r.get(0))
            .optional()?;
        if let Some(id) = existing {
            self.add_source(id, path, file_sha256)?;
            if self.more_complete_than_stored(id, report, file_sha256)? {
                self.write_report(Some(id), &identity, report, file_sha256, file_index, bucket)?;
                return Ok(InsertOutcome::Replaced(id));
            }
            return Ok(InsertOutcome::Duplicate(id));
        }
        let id = self.write_report(None, &identity, report, file_sha256, file_index, bucket)?;
        self.add_source(id, path, file_sha256)?;
        Ok(InsertOutcome::New(id))
    }

    /// Is this copy of stored report `id` more complete than the stored one?
    fn more_complete_than_stored(
        &self,
        id: i64,
        report: &CrashReport,
        file_sha256: &str,
    ) -> Result<bool, StoreError> {
        type Stored = (
            String,
            i64,
            i64,
            i64,
            Option<String>,
            i64,
            Option<String>,
            Option<i64>,
        );
        let (stored_sha, threads, frames, images, warnings, bytes, process, pid): Stored = self
            .tx
            .prepare_cached(
                "SELECT r.file_sha256, r.thread_count, r.frame_count,
                    coalesce(l.image_count, 0), r.warnings, coalesce(f.size, 0), r.process, r.pid
                 FROM reports r LEFT JOIN image_lists l ON l.id = r.image_list_id
                    LEFT JOIN files f ON f.sha256 = r.file_sha256
                 WHERE r.id = ?1",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?;
        if stored_sha == file_sha256 {
            return Ok(false); // the same bytes (a second report of a multi-report file...)
        }
        // Only a copy of the same crash may replace it: another report that merely carries the
        // same incident id (edited, or made up to evict it) differs in its process or pid, which
        // a copy cut after its first lines still holds. Unknown on either side proves nothing.
        let differs =
            |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(a), Some(b)) if a != b);
        if differs(process.as_deref(), report.process.name.as_deref())
            || matches!((pid, report.process.pid), (Some(a), Some(b)) if a != b)
        {
            return Ok(false);
        }
        let warnings = warnings
            .and_then(|w| serde_json::from_str::<Vec<String>>(&w).ok())
            .map(|w| w.len())
            .unwrap_or(0);
        let stored = Completeness {
            parts: threads + frames + images,
            fewer_warnings: std::cmp::Reverse(warnings as i64),
            bytes,
        };
        let size: i64 = self
            .tx
            .prepare_cached("SELECT size FROM files WHERE sha256 = ?1")?
            .query_row([file_sha256], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        Ok(Completeness::of(report, size.max(0) as u64) > stored)
    }

    /// Write a report's row and frames: a new row (`id` `None`; returns its id), or over the
    /// stored row `id` (a more complete copy: its frames are replaced, its sources kept).
    fn write_report(
        &self,
        id: Option<i64>,
        identity: &str,
        report: &CrashReport,
        file_sha256: &str,
        file_index: usize,
        bucket: Option<&super::BucketFields>,
    ) -> Result<i64, StoreError> {
        let crashed = report.crashed();
        let top = crashed
            .and_then(|t| t.frames.first())
            .map(|f| frame_label(report, f));
        let asi = json_array(&report.asi);
        let warnings = json_array(&report.warnings);
        let term = report.termination.as_ref();
        let (image_list_id, image_ids) = self.image_list(&report.images)?;
        const COLUMNS: &str =
            "identity, incident_id, kind, format, bug_type, file_sha256, file_index,
                    process, process_path, pid, parent_process, parent_pid, bundle_id,
                    bundle_version, captured_at, captured_at_raw, os_version, os_train, os_build,
                    hardware_model, cpu_type, translated, exception_type, signal,
                    exception_codes, exception_subtype, exception_message, fault_address,
                    fault_address_stripped, pointer_auth_failure, termination_namespace,
                    termination_code, termination_indicator, asi, crashed_thread,
                    crashed_thread_name, crashed_thread_queue, thread_count, frame_count,
                    top_frame, warnings, ingested_at, image_list_id, signature,
                    signature_version, pattern, pattern_title";
        const VALUES: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                    ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30,
                    ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45,
                    ?46, ?47";
        let sql = match id {
            // ?48 is NULL: SQLite picks the new row's id.
            None => format!("INSERT INTO reports (id, {COLUMNS}) VALUES (?48, {VALUES})"),
            Some(_) => format!("UPDATE reports SET ({COLUMNS}) = ({VALUES}) WHERE id = ?48"),
        };
        self.tx.prepare_cached(&sql)?.execute(params![
            identity,
            report.incident_id,
            report.kind.as_str(),
            report.format.as_str(),
            report.bug_type,
            file_sha256,
            file_index as i64,
            report.process.name,
            report.process.path,
            report.process.pid,
            report.process.parent_name,
            report.process.parent_pid,
            report.process.bundle_id,
            report.process.bundle_version,
            report.captured_at.map(rfc3339),
            report.captured_at_raw,
            report.os.version,
            report.os.train,
            report.os.build,
            report.hardware_model,
            report.cpu_type,
            report.translated,
            report.exception.exc_type,
            report.exception.signal,
            report.exception.codes,
            report.exception.subtype,
            report.exception.message,
            report.exception.fault_address.map(|a| a as i64),
            report.exception.fault_address_stripped.map(|a| a as i64),
            report.exception.pointer_auth_failure,
            term.and_then(|t| t.namespace.clone()),
            term.and_then(|t| t.code),
            term.and_then(|t| t.indicator.clone()),
            asi,
            // The thread number as the report writes it (`Thread 4 Crashed:`), not its position
            // in `threads`: an excerpt may hold thread 4 alone.
            crashed.map(|t| t.index as i64),
            crashed.and_then(|t| t.name.clone()),
            crashed.and_then(|t| t.queue.clone()),
            report.threads.len() as i64,
            crashed.map(|t| t.frames.len()).unwrap_or(0) as i64,
            top,
            warnings,
            self.now,
            image_list_id,
            bucket.map(|b| &b.signature),
            bucket.map(|b| b.signature_version),
            bucket.and_then(|b| b.pattern.as_ref()),
            bucket.and_then(|b| b.pattern_title.as_ref()),
            id,
        ])?;
        let replacing = id.is_some();
        let id = id.unwrap_or_else(|| self.tx.last_insert_rowid());
        if replacing {
            self.tx
                .prepare_cached("DELETE FROM frames WHERE report_id = ?1")?
                .execute([id])?;
        }
        if let Some(t) = crashed {
            self.insert_frames(id, "crashed", &t.frames, &image_ids)?;
        }
        self.insert_frames(
            id,
            "exception",
            &report.last_exception_backtrace,
            &image_ids,
        )?;
        // A replaced row may have linked a fix its new image list does not load: relink.
        if replacing || self.may_load_a_fix(&report.images)? {
            self.link_fix(id)?;
        }
        Ok(id)
    }

    /// The id of an image's row, inserting it when new.
    fn image_id(&self, img: &Image) -> Result<i64, StoreError> {
        let key = image_key(img);
        if let Some(id) = self.committed.images.get(key.as_ref()) {
            return Ok(*id);
        }
        if let Some(id) = self.fresh.borrow().images.get(key.as_ref()) {
            return Ok(*id);
        }
        let id = self
            .tx
            .prepare_cached(
                "INSERT INTO images (key, uuid, name, path, arch, bundle_id, bundle_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (key) DO UPDATE SET key = key
                 RETURNING id",
            )?
            .query_row(
                params![
                    key,
                    img.uuid,
                    img.name,
                    img.path,
                    img.arch,
                    img.bundle_id,
                    img.bundle_version
                ],
                |r| r.get(0),
            )?;
        self.fresh.borrow_mut().images.insert(key.into_owned(), id);
        Ok(id)
    }

    /// The id of the stored list holding these images in this order (inserting it and its
    /// images when new; `None` for a report that lists none), and the images' row ids.
    fn image_list(&self, images: &[Image]) -> Result<(Option<i64>, Vec<i64>), StoreError> {
        if images.is_empty() {
            return Ok((None, Vec::new()));
        }
        let ids = images
            .iter()
            .map(|img| self.image_id(img))
            .collect::<Result<Vec<i64>, _>>()?;
        let key = image_list_key(&ids);
        if let Some(id) = self.committed.lists.get(&key) {
            return Ok((Some(*id), ids));
        }
        if let Some(id) = self.fresh.borrow().lists.get(&key) {
            return Ok((Some(*id), ids));
        }
        let stored: Option<i64> = self
            .tx
            .prepare_cached("SELECT id FROM image_lists WHERE key = ?1")?
            .query_row([&key], |r| r.get(0))
            .optional()?;
        let list_id = match stored {
            Some(id) => id,
            None => {
                self.tx
                    .prepare_cached("INSERT INTO image_lists (key, image_count) VALUES (?1, ?2)")?
                    .execute(params![key, ids.len() as i64])?;
                let list_id = self.tx.last_insert_rowid();
                let mut member = self.tx.prepare_cached(
                    "INSERT INTO image_list_members (list_id, image_index, image_id)
                     VALUES (?1, ?2, ?3)",
                )?;
                for (i, image_id) in ids.iter().enumerate() {
                    member.execute(params![list_id, i as i64, image_id])?;
                }
                list_id
            }
        };
        self.fresh.borrow_mut().lists.insert(key, list_id);
        Ok((Some(list_id), ids))
    }

    fn insert_frames(
        &self,
        report_id: i64,
        stack: &str,
        frames: &[Frame],
        image_ids: &[i64],
    ) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO frames (report_id, stack, idx, image_index, image_id,
                image_offset, address, symbol, symbol_offset, symbol_source, source_file,
                source_line)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for (i, f) in frames.iter().enumerate() {
            let image_id = f.image_index.and_then(|ix| image_ids.get(ix)).copied();
            stmt.execute(params![
                report_id,
                stack,
                i as i64,
                f.image_index.map(|x| x as i64),
                image_id,
                f.image_offset.map(|x| x as i64),
                f.address.map(|x| x as i64),
                f.symbol,
                f.symbol_offset.map(|x| x as i64),
                f.symbol_source.map(|s| s.as_str()),
                f.source_file,
                f.source_line,
            ])?;
        }
        Ok(())
    }

    /// Could this image list link to a fix (registered UUID, or a `libagx_fix*` image)?
    fn may_load_a_fix(&self, images: &[Image]) -> Result<bool, StoreError> {
        if self.fix_uuids.get().is_none() {
            let uuids: HashSet<String> = self
                .tx
                .prepare_cached("SELECT uuid FROM fix_slices")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let _ = self.fix_uuids.set(uuids);
        }
        let known = self.fix_uuids.get();
        Ok(images.iter().any(|i| {
            i.name.as_deref().is_some_and(|n| {
                n.get(..10)
                    .is_some_and(|p| p.eq_ignore_ascii_case("libagx_fix"))
            }) || i
                .uuid
                .as_ref()
                .is_some_and(|u| known.is_some_and(|k| k.contains(u)))
        }))
    }

    /// Make everything in this transaction durable.
    pub fn commit(self) -> Result<(), StoreError> {
        let WriteTx {
            tx,
            committed,
            fresh,
            ..
        } = self;
        tx.commit()?;
        committed.absorb(fresh.into_inner());
        Ok(())
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn json_array(v: &[String]) -> Option<String> {
    if v.is_empty() {
        None
    } else {
        serde_json::to_string(v).ok()
    }
}

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
    pub id: i64,
    pub incident_id: Option<String>,
    pub kind: String,
    pub format: String,
    pub process: Option<String>,
    pub pid: Option<i64>,
    pub captured_at: Option<String>,
    pub os_version: Option<String>,
    pub hardware_model: Option<String>,
    pub exception_type: Option<String>,
    pub signal: Option<String>,
    /// Hex (`0x98`), as people read it.
    pub fault_address: Option<String>,
    pub crashed_thread: Option<i64>,
    pub top_frame: Option<String>,
    /// Number of paths this report was seen at.
    pub sources: i64,
    /// Bucket signature (crashes only).
    pub signature: Option<String>,
    /// Known-pattern rule id, if one matched.
    pub pattern: Option<String>,
    pub pattern_title: Option<String>,
    /// Registered fix version linked by image UUID.
    pub fix: Option<String>,
    /// Name of a `libagx_fix*` image whose UUID is not registered.
    pub unregistered_fix: Option<String>,
    /// Where the top frame's name came from: `apple` or `symcache` (null when unnamed).
    pub top_frame_symbol_source: Option<String>,
}

const ROW_COLUMNS: &str = "r.id, r.incident_id, r.kind, r.format, r.process, r.pid,
    r.captured_at, r.os_version, r.hardware_model, r.exception_type, r.signal, r.fault_address,
    r.crashed_thread, r.top_frame,
    (SELECT count(*) FROM sources s WHERE s.report_id = r.id),
    r.signature, r.pattern, r.pattern_title,
    (SELECT f.name FROM fixes f WHERE f.id = r.fix_id), r.unregistered_fix,
    (SELECT fr.symbol_source FROM frames fr
       WHERE fr.report_id = r.id AND fr.stack = 'crashed' AND fr.idx = 0)";

fn row_from(r: &Row<'_>) -> rusqlite::Result<ReportRow> {
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
            .get::<_, Option<i64>>(11)?
            .map(|a| format!("{:#x}", a as u64)),
        crashed_thread: r.get(12)?,
        top_frame: r.get(13)?,
        sources: r.get(14)?,
        signature: r.get(15)?,
        pattern: r.get(16)?,
        pattern_title: r.get(17)?,
        fix: r.get(18)?,
        unregistered_fix: r.get(19)?,
        top_frame_symbol_source: r.get(20)?,
    })
}

/// Counts of stored reports by kind.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct KindCounts {
    pub crash: i64,
    pub gpu_event: i64,
    pub other: i64,
}

/// A stored report with everything `show` needs.
#[derive(Debug, Clone, Serialize)]
pub struct StoredReport {
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
        let mut sql = format!("SELECT {ROW_COLUMNS} FROM reports r WHERE 1=1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(p) = &f.process {
            sql.push_str(" AND r.process = ? COLLATE NOCASE");
            args.push(Box::new(p.clone()));
        }
        if let Some(t) = f.since {
            sql.push_str(" AND r.captured_at >= ?");
            args.push(Box::new(rfc3339(t)));
        }
        if let Some(k) = f.kind {
            sql.push_str(" AND r.kind = ?");
            args.push(Box::new(k.as_str()));
        }
        if let Some(p) = &f.pattern {
            sql.push_str(" AND r.pattern = ?");
            args.push(Box::new(p.clone()));
        }
        if let Some(image) = &f.image {
            // images(uuid) -> image_list_members(image_id) -> reports(image_list_id), all indexed.
            sql.push_str(
                " AND r.image_list_id IN (SELECT m.list_id FROM images i
                    JOIN image_list_members m ON m.image_id = i.id
                    WHERE i.uuid = ? OR (? IS NULL AND i.name = ? COLLATE NOCASE))",
            );
            let uuid = crate::crash::normalize_uuid(image);
            args.push(Box::new(uuid.clone()));
            args.push(Box::new(uuid));
            args.push(Box::new(image.trim().to_string()));
        }
        if let Some(ids) = &f.ids {
            // Ids are integers from our own query: safe to inline, and no 999-parameter limit.
            let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            sql.push_str(&format!(" AND r.id IN ({})", list.join(",")));
        }
        sql.push_str(" ORDER BY r.captured_at DESC, r.id DESC");
        if let Some(n) = f.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), row_from)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Counts by kind.
    pub fn kind_counts(&self) -> Result<KindCounts, StoreError> {
        let mut c = KindCounts::default();
        let mut stmt = self
            .conn()
            .prepare("SELECT kind, count(*) FROM reports GROUP BY kind")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get(0)?;
            let n: i64 = r.get(1)?;
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
            .query_row("SELECT count(*) FROM sources", [], |r| r.get(0))?)
    }

    /// The stored bytes of a file, decompressed (byte for byte the file that was ingested).
    pub fn file_bytes(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let (size, data, dict_id): (i64, Vec<u8>, Option<i64>) = self
            .conn()
            .prepare_cached("SELECT size, data, dict_id FROM files WHERE sha256 = ?1")?
            .query_row([sha256], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("file {sha256} is missing")))?;
        let out = match dict_id {
            None => decompress(&data, size, &format_args!("file {sha256}"))?,
            Some(d) => {
                let dict = self.dictionary(d)?;
                let capacity = usize::try_from(size)
                    .ok()
                    .filter(|n| *n as u64 <= crate::ingest::MAX_FILE_SIZE)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("file {sha256} has an impossible size {size}"))
                    })?;
                let out = zstd::bulk::Decompressor::with_dictionary(&dict)
                    .and_then(|mut z| z.decompress(&data, capacity))
                    .map_err(StoreError::Compression)?;
                // A raw-content frame names no dictionary and carries no checksum: against a
                // damaged or wrong dictionary it decodes to other bytes of the right length,
                // silently. The content hash the file is stored under says whether these are
                // the bytes ingested.
                use sha2::Digest as _;
                let got = sha2::Sha256::digest(&out);
                let hex: String = got.iter().map(|b| format!("{b:02x}")).collect();
                if !hex.eq_ignore_ascii_case(sha256) {
                    return Err(StoreError::Corrupt(format!(
                        "file {sha256} does not read back as stored (dictionary {d} damaged?)"
                    )));
                }
                out
            }
        };
        if out.len() as i64 != size {
            return Err(StoreError::Corrupt(format!(
                "file {sha256} decompresses to {} bytes, {size} were stored",
                out.len()
            )));
        }
        Ok(out)
    }

    /// A stored dictionary's content, by id (cached for the life of this store).
    pub fn dictionary(&self, id: i64) -> Result<Arc<Vec<u8>>, StoreError> {
        if let Some(d) = self.dicts.0.borrow().get(&id) {
            return Ok(Arc::clone(d));
        }
        let (size, data): (i64, Vec<u8>) = self
            .conn()
            .query_row(
                "SELECT size, data FROM dictionaries WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("dictionary {id} is missing")))?;
        let content = decompress(&data, size, &format_args!("dictionary {id}"))?;
        if content.len() as i64 != size || !content.starts_with(DICT_PREFIX) {
            return Err(StoreError::Corrupt(format!(
                "dictionary {id} is damaged ({} bytes, {size} were stored)",
                content.len()
            )));
        }
        let content = Arc::new(content);
        self.dicts.0.borrow_mut().insert(id, Arc::clone(&content));
        Ok(content)
    }

    /// The newest dictionary, which new files are compressed with (`None` before the first).
    pub fn latest_dictionary(&self) -> Result<Option<Dictionary>, StoreError> {
        let id: Option<i64> =
            self.conn()
                .query_row("SELECT max(id) FROM dictionaries", [], |r| r.get(0))?;
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
            "SELECT count(*), count(dict_id), coalesce(sum(size), 0),
                coalesce(sum(length(data)), 0),
                (SELECT coalesce(sum(length(data)), 0) FROM dictionaries)
             FROM files",
            [],
            |r| {
                Ok(FileStats {
                    files: r.get(0)?,
                    with_dictionary: r.get(1)?,
                    bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    stored: r.get::<_, i64>(3)?.max(0) as u64,
                    dictionaries: r.get::<_, i64>(4)?.max(0) as u64,
                })
            },
        )?)
    }

    /// Every stored file's content hash, in no particular order (for a full read-back).
    pub fn file_hashes(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn().prepare("SELECT sha256 FROM files")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    /// One report with its sources and full model.
    pub fn load_report(&self, id: i64) -> Result<StoredReport, StoreError> {
        let row = self
            .conn()
            .query_row(
                &format!("SELECT {ROW_COLUMNS} FROM reports r WHERE r.id = ?1"),
                [id],
                row_from,
            )
            .optional()?
            .ok_or(StoreError::NoSuchReport(id))?;
        let (sha, index): (String, i64) = self.conn().query_row(
            "SELECT file_sha256, file_index FROM reports WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let sources = self
            .conn()
            .prepare("SELECT path FROM sources WHERE report_id = ?1 ORDER BY path")?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
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
        let frames = self.stored_frames(id)?;
        for (stack, idx, sym, off, src, file, line) in frames {
            let target = match stack.as_str() {
                "crashed" => report
                    .crashed_thread
                    .and_then(|t| report.threads.get_mut(t))
                    .and_then(|t| t.frames.get_mut(idx)),
                _ => report.last_exception_backtrace.get_mut(idx),
            };
            if let Some(f) = target {
                f.symbol = sym;
                f.symbol_offset = off;
                f.symbol_source = src;
                f.source_file = file;
                f.source_line = line;
            }
        }
        Ok(())
    }

    fn stored_frames(&self, id: i64) -> Result<Vec<StoredFrame>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT stack, idx, symbol, symbol_offset, symbol_source, source_file, source_line
             FROM frames WHERE report_id = ?1 ORDER BY stack, idx",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?.max(0) as usize,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?.map(|x| x as u64),
                    r.get::<_, Option<String>>(4)?
                        .and_then(|s| SymbolSource::parse(&s)),
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<u32>>(6)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

/// A stored frame's stack, index, symbol, symbol offset, symbol source, source file and line.
type StoredFrame = (
    String,
    usize,
    Option<String>,
    Option<u64>,
    Option<SymbolSource>,
    Option<String>,
    Option<u32>,
);

/// The fields round attribution needs of a crash report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrashRef {
    pub id: i64,
    pub incident_id: String,
    pub pid: Option<i64>,
    pub parent_pid: Option<i64>,
    pub captured_at: Option<String>,
    pub process: Option<String>,
}

impl Store {
    /// Crash reports captured at or after `since` (RFC 3339 UTC), oldest first.
    pub fn crash_reports_since(&self, since: &str) -> Result<Vec<CrashRef>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, identity, pid, parent_pid, captured_at, process FROM reports
             WHERE kind = 'crash' AND captured_at >= ?1 ORDER BY captured_at, id",
        )?;
        let rows = stmt
            .query_map([since], |r| {
                Ok(CrashRef {
                    id: r.get(0)?,
                    incident_id: r.get(1)?,
                    pid: r.get(2)?,
                    parent_pid: r.get(3)?,
                    captured_at: r.get(4)?,
                    process: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl Store {
    /// The stored report with this identity (an incident id, any case), if any.
    pub fn report_by_identity(&self, identity: &str) -> Result<Option<ReportRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {ROW_COLUMNS} FROM reports r WHERE r.identity = ?1"),
                [identity.trim().to_ascii_uppercase()],
                row_from,
            )
            .optional()?)
    }
}

impl WriteTx<'_> {
    /// Set a stored frame's symbol (after symbolication).
    pub fn set_frame_symbol(
        &self,
        report_id: i64,
        stack: &str,
        idx: usize,
        frame: &Frame,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE frames SET symbol = ?4, symbol_offset = ?5, symbol_source = ?6,
                    source_file = ?7, source_line = ?8
                 WHERE report_id = ?1 AND stack = ?2 AND idx = ?3",
            )?
            .execute(params![
                report_id,
                stack,
                idx as i64,
                frame.symbol,
                frame.symbol_offset.map(|x| x as i64),
                frame.symbol_source.map(|s| s.as_str()),
                frame.source_file,
                frame.source_line,
            ])?;
        Ok(())
    }

    /// Set a report's top frame label (after symbolication named it).
    pub fn set_top_frame(&self, report_id: i64, label: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE reports SET top_frame = ?2 WHERE id = ?1")?
            .execute(params![report_id, label])?;
        Ok(())
    }
}

impl Store {
    /// Ids of every stored crash report, oldest first.
    pub fn crash_report_ids(&self) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id FROM reports WHERE kind = 'crash' ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }

    /// The symbol store that belongs to this database: `<db>.symbols/` beside it.
    pub fn symbols_dir(&self) -> std::path::PathBuf {
        symbols_dir_for(self.path())
    }
}

/// The symbol store folder for a database path: `<db>.symbols/` beside it.
pub fn symbols_dir_for(db: &std::path::Path) -> std::path::PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".symbols");
    db.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crash::{SourceFormat, Thread};

    fn report(incident: &str, images: &[&str]) -> CrashReport {
        let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Ips);
        r.incident_id = Some(incident.to_string());
        r.images = images
            .iter()
            .map(|u| Image {
                uuid: Some(u.to_string()),
                name: Some(format!("lib{}", &u[..4])),
                ..Image::default()
            })
            .collect();
        r.threads = vec![Thread {
            crashed: true,
            frames: vec![Frame {
                image_index: Some(images.len() - 1),
                image_offset: Some(0x98),
                ..Frame::default()
            }],
            ..Thread::default()
        }];
        r.crashed_thread = Some(0);
        r
    }

    const A: &str = "aaaaaaaa-0000-0000-0000-000000000000";
    const B: &str = "bbbbbbbb-0000-0000-0000-000000000000";
    const C: &str = "cccccccc-0000-0000-0000-000000000000";

    fn insert(store: &mut Store, r: &CrashReport, sha: &str) -> i64 {
        let tx = store.begin_write().unwrap();
        tx.put_file(sha, 1, b"x").unwrap();
        let InsertOutcome::New(id) = tx.insert_report(r, sha, 0, "/p", None).unwrap() else {
            panic!("not new")
        };
        tx.commit().unwrap();
        id
    }

    fn list_of(store: &Store, id: i64) -> Vec<String> {
        store
            .conn()
            .prepare(
                "SELECT i.uuid FROM reports r
                 JOIN image_list_members m ON m.list_id = r.image_list_id
                 JOIN images i ON i.id = m.image_id WHERE r.id = ?1 ORDER BY m.image_index",
            )
            .unwrap()
            .query_map([id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn reports_with_the_same_images_share_one_list_and_order_matters() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let r1 = insert(&mut store, &report("I1", &[A, B]), "s1");
        let r2 = insert(&mut store, &report("I2", &[A, B]), "s2");
        let r3 = insert(&mut store, &report("I3", &[B, A]), "s3");
        let lists: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM image_lists", [], |r| r.get(0))
            .unwrap();
        assert_eq!(lists, 2);
        assert_eq!(list_of(&store, r1), vec![A, B]);
        assert_eq!(list_of(&store, r2), vec![A, B]);
        assert_eq!(list_of(&store, r3), vec![B, A]);
        // The frame points at the last image of its own report's order.
        let frame_image: String = store
            .conn()
            .query_row(
                "SELECT i.uuid FROM frames f JOIN images i ON i.id = f.image_id
                 WHERE f.report_id = ?1",
                [r3],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(frame_image, A);
    }

    #[test]
    fn a_dictionary_version_is_due_on_evidence_and_keeps_the_newest_bytes() {
        let report = |k: u32| {
            let mut s = format!("{{\"incident\": \"{k:08}\", \"threads\": [");
            for i in 0..400 {
                s.push_str(&format!(
                    "{{\"symbol\": \"frame_{i}_{}\"}},",
                    i * 7919 % 1000
                ));
            }
            s.push_str("]}\n");
            s.into_bytes()
        };
        let mut b = DictionaryBuilder::new(None);
        b.offer(&report(1)).unwrap();
        assert!(b.due().is_none(), "one sample is no evidence yet");
        for k in 2..2 + DictionaryBuilder::EVIDENCE as u32 {
            b.offer(&report(k)).unwrap();
        }
        let content = b.due().expect("near-copies of a sample make a version due");
        assert!(content.starts_with(DICT_PREFIX));
        // Only the first copy is a sample: the others were covered by it.
        assert_eq!(content.len(), DICT_PREFIX.len() + report(1).len());
        let dict = Dictionary {
            id: 7,
            content: Arc::new(content),
        };
        b.installed(dict.clone());
        assert!(b.due().is_none());
        let mut c = Compressor::with_dictionary(&dict).unwrap();
        let r = report(99);
        let z = c.compress(&r).unwrap();
        assert!(is_covered(r.len(), z.len()), "{} of {}", z.len(), r.len());
        let back = zstd::bulk::Decompressor::with_dictionary(&dict.content)
            .unwrap()
            .decompress(&z, r.len())
            .unwrap();
        assert_eq!(back, r);

        // Unrelated samples never make a version (it would cost more than it saves), and
        // what is kept of them stays bounded.
        let mut b = DictionaryBuilder::new(Some(dict));
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..40 {
            // xorshift bytes: nothing covers them.
            let junk: Vec<u8> = (0..100_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 32) as u8
                })
                .collect();
            b.offer(&junk).unwrap();
            assert!(b.due().is_none());
            assert!(b.pending_bytes <= DictionaryBuilder::MAX_PENDING);
        }
        assert!(b.content_with_pending().len() <= MAX_DICT_BYTES);
    }

    #[test]
    fn a_version_must_be_earned_by_the_bytes_it_helps() {
        // One big sample, then four small files that its start covers: not enough bytes.
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{{\"frame\": {}}},", i * 7919 % 100_003).into_bytes())
            .take(200_000)
            .collect();
        let mut b = DictionaryBuilder::new(None);
        b.offer(&big).unwrap();
        for _ in 0..DictionaryBuilder::EVIDENCE {
            b.offer(&big[..8_000]).unwrap();
        }
        assert!(b.due().is_none());
        // Copies of the whole sample earn it.
        for _ in 0..DictionaryBuilder::EVIDENCE {
            b.offer(&big).unwrap();
        }
        assert!(b.due().is_some());
    }

    #[test]
    fn completeness_orders_parts_then_warnings_then_bytes() {
        let mut whole = report("I1", &[A, B, C]);
        let mut cut = whole.clone();
        cut.images.truncate(1);
        cut.warnings.push("the body ends early".into());
        assert!(Completeness::of(&whole, 100) > Completeness::of(&cut, 100));
        // A cut copy that still holds every part loses on its warning, even if longer.
        let mut cut_late = whole.clone();
        cut_late.warnings.push("the body ends early".into());
        assert!(Completeness::of(&whole, 100) > Completeness::of(&cut_late, 200));
        // Equal but longer wins; equal and same length is no improvement.
        assert!(Completeness::of(&whole, 101) > Completeness::of(&whole, 100));
        assert!(Completeness::of(&whole, 100) <= Completeness::of(&whole, 100));
        whole.threads[0].frames.clear();
        assert!(Completeness::of(&whole, 100) < Completeness::of(&cut_late, 100));
    }

    // Regression: a damaged dictionary row made `file_bytes` abort the process (a corrupt
    // `size` was reserved as is: "memory allocation of 4611686018427387904 bytes failed") or,
    // with its content altered, return other bytes of the right length without an error.
    #[test]
    fn a_damaged_dictionary_is_a_corrupt_error_never_an_abort_or_other_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let old = b"{\"bug_type\":\"309\"}\n{\"procName\": \"python3\", \"pid\": 1}\n".repeat(20);
        let mut new = old.clone();
        new.extend_from_slice(b"one more line\n");
        let sha: String = {
            use sha2::Digest as _;
            sha2::Sha256::digest(&new)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let mut content = DICT_PREFIX.to_vec();
        content.extend_from_slice(&old);
        {
            let tx = store.begin_write().unwrap();
            let id = tx.put_dictionary(&content).unwrap();
            let dict = Dictionary {
                id,
                content: Arc::new(content.clone()),
            };
            let z = Compressor::with_dictionary(&dict)
                .unwrap()
                .compress(&new)
                .unwrap();
            tx.put_file_with(&sha, new.len() as u64, &z, Some(id))
                .unwrap();
            tx.put_file("plain", 10, &compress(b"0123456789").unwrap())
                .unwrap();
            tx.commit().unwrap();
        }
        assert_eq!(store.file_bytes(&sha).unwrap(), new);
        let path = store.path().to_path_buf();
        let damaged = |sql: &str, params: &[&dyn rusqlite::ToSql], sha: &str| {
            let conn = rusqlite::Connection::open(&path).unwrap();
            // Damage as a disk or a hand edit would, past the schema's checks.
            conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            conn.execute(sql, params).unwrap();
            drop(conn);
            // A fresh store: nothing cached.
            let store = Store::open(&path).unwrap();
            let e = store.file_bytes(sha).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        };
        damaged(
            "UPDATE dictionaries SET size = 4611686018427387904",
            &[],
            &sha,
        );
        damaged("UPDATE dictionaries SET size = 7", &[], &sha);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE dictionaries SET size = ?1", [content.len() as i64])
            .unwrap();
        drop(conn);
        assert_eq!(Store::open(&path).unwrap().file_bytes(&sha).unwrap(), new);
        // The same length, one byte changed: still decodes, to other bytes.
        let mut altered = content.clone();
        let at = altered.len() - 5;
        altered[at] ^= 0x20;
        let z = zstd::bulk::compress(&altered, 3).unwrap();
        damaged("UPDATE dictionaries SET data = ?1", &[&z], &sha);
        damaged("DELETE FROM dictionaries", &[], &sha);
        // A file without a dictionary with an impossible size.
        damaged(
            "UPDATE files SET size = 4611686018427387904 WHERE sha256 = 'plain'",
            &[],
            "plain",
        );
    }

    #[test]
    fn ids_from_a_rolled_back_transaction_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        insert(&mut store, &report("I1", &[A]), "s1");
        {
            // New image C and a new list [A, C], then a rollback: both rows are gone.
            let tx = store.begin_write().unwrap();
            tx.put_file("s2", 1, b"x").unwrap();
            tx.insert_report(&report("I2", &[A, C]), "s2", 0, "/p", None)
                .unwrap();
        }
        // Something else takes the ids C and [A, C] had (another writer, say).
        store
            .conn()
            .execute_batch(
                "INSERT INTO images (key, uuid, name) VALUES ('other', 'other', 'other');
                 INSERT INTO image_lists (key, image_count) VALUES ('[999]', 1);",
            )
            .unwrap();
        let r = insert(&mut store, &report("I3", &[A, C]), "s3");
        assert_eq!(list_of(&store, r), vec![A, C]);
        let broken: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
    }

    #[test]
    fn list_keys_are_what_the_migration_writes() {
        assert_eq!(image_list_key(&[3, 1, 7]), "[3,1,7]");
        assert_eq!(image_list_key(&[12]), "[12]");
    }
}
