//! Reports, their sources, stored files, images and frames. This file holds what writing and
//! querying share (how files are compressed, dictionaries, a report's identity and
//! completeness); [`write`] holds the write transaction, [`query`] the reads.

pub(in crate::store) mod frames;
mod query;
mod write;

pub use query::*;
pub use write::*;

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{params, Optional as _};
use super::StoreError;
use crate::crash::{CrashReport, Frame};

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
    /// Its row id in `dictionaries`.
    pub id: i64,
    /// Its content (the fixed first line, then whole reports).
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
    /// A compressor without a dictionary.
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
        Ok(Compressor {
            inner: dictionary_compressor(&dict.content)?,
            dict_id: Some(dict.id),
        })
    }

    /// The dictionary this compressor uses (`None`: none).
    pub fn dict_id(&self) -> Option<i64> {
        self.dict_id
    }

    /// Compress one file's bytes.
    pub fn compress(&mut self, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.inner.compress(bytes).map_err(StoreError::Compression)
    }
}

/// The hash table of a compressor with a dictionary holds 2^this positions. Level 1 on its own
/// sizes it for the input (2^13-2^14 for a report), so against a dictionary of several
/// reports it keeps only the last positions seen and finds the older reports' bytes no more:
/// on the bench's real-derived set, each file compressed to ~3 KB against the last
/// dictionary instead of ~40 bytes, and 4x slower (few matches, every byte hashed). 2^18
/// positions (1 MiB of table, built once per dictionary version and compressor) cover a
/// dictionary of [`MAX_DICT_BYTES`].
const DICT_HASH_LOG: u32 = 18;

/// A zstd compressor with `content` as its dictionary, set up for whole-report dictionaries:
/// a hash table that covers the whole dictionary ([`DICT_HASH_LOG`]), and the dictionary's
/// tables used in place (attached) rather than copied into the context for each file, which
/// for a table this size cost more than compressing a near-copy. The frames it makes are
/// ordinary zstd frames: they decompress with the dictionary alone, as before.
fn dictionary_compressor(content: &[u8]) -> Result<zstd::bulk::Compressor<'static>, StoreError> {
    use zstd::zstd_safe::{CParameter, DictAttachPref};
    let mut c = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(StoreError::Compression)?;
    c.set_parameter(CParameter::HashLog(DICT_HASH_LOG))
        .map_err(StoreError::Compression)?;
    c.set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach))
        .map_err(StoreError::Compression)?;
    c.set_dictionary(ZSTD_LEVEL, content)
        .map_err(StoreError::Compression)?;
    Ok(c)
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

/// Why a stored original did not decode (the caller names the file).
pub(crate) enum FileDecodeError {
    Store(StoreError),
    /// The stored size is negative or over the ingest limit.
    Size,
    /// It decoded to this many bytes, not the stored size.
    Length(usize),
}

/// A stored original's bytes: `data` decompressed, with `dict` (a dictionary's content) when
/// it was compressed with one, checked against the stored `size`.
pub(crate) fn decompress_file(
    data: &[u8],
    size: i64,
    dict: Option<&[u8]>,
) -> Result<Vec<u8>, FileDecodeError> {
    let out = match dict {
        None => decompress(data, size, &"file").map_err(|e| match e {
            StoreError::Corrupt(_) => FileDecodeError::Size,
            e => FileDecodeError::Store(e),
        })?,
        Some(dict) => {
            let capacity = usize::try_from(size)
                .ok()
                .filter(|n| *n as u64 <= crate::ingest::MAX_FILE_SIZE)
                .ok_or(FileDecodeError::Size)?;
            zstd::bulk::Decompressor::with_dictionary(dict)
                .and_then(|mut z| z.decompress(data, capacity))
                .map_err(|e| FileDecodeError::Store(StoreError::Compression(e)))?
        }
    };
    if out.len() as i64 != size {
        return Err(FileDecodeError::Length(out.len()));
    }
    Ok(out)
}

/// A stored dictionary's content (decompressed and checked), read from `conn`.
pub(crate) fn load_dictionary(conn: &super::db::Conn, id: i64) -> Result<Vec<u8>, StoreError> {
    let (size, data): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT size, data FROM dictionaries WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("dictionary {id} is missing")))?;
    dictionary_content(id, size, &data)
}

/// Dictionary `id`'s content from its stored `size` and compressed `data`, checked.
pub(crate) fn dictionary_content(id: i64, size: i64, data: &[u8]) -> Result<Vec<u8>, StoreError> {
    let content = decompress(data, size, &format_args!("dictionary {id}"))?;
    if content.len() as i64 != size || !content.starts_with(DICT_PREFIX) {
        return Err(StoreError::Corrupt(format!(
            "dictionary {id} is damaged ({} bytes, {size} were stored)",
            content.len()
        )));
    }
    Ok(content)
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

    /// A builder that extends `current` (or starts the first version).
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
        // A version is due already (stored at the end of this batch): until it is installed,
        // every further near-copy would only be more evidence for it. Probing each one was a
        // full compression in the writer's thread per file (~100 files per new kind of report
        // while the version waited for its commit).
        if self.is_due() {
            return Ok(());
        }
        if !self.pending.is_empty() {
            if self.probe.is_none() {
                let content = self.content_with_pending();
                self.probe = Some(dictionary_compressor(&content)?);
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
        self.is_due().then(|| self.content_with_pending())
    }

    /// Whether [`Self::due`] has a version (without building its content).
    fn is_due(&self) -> bool {
        !self.pending.is_empty()
            && self.evidence >= Self::EVIDENCE
            && self.evidence_bytes.saturating_mul(4) >= self.content_len()
    }

    /// The length of [`Self::content_with_pending`].
    fn content_len(&self) -> usize {
        let old = self
            .current
            .as_ref()
            .map(|d| d.content.len().saturating_sub(DICT_PREFIX.len()))
            .unwrap_or(0);
        DICT_PREFIX.len() + (old + self.pending_bytes).min(MAX_DICT_BYTES - DICT_PREFIX.len())
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
    /// Threads, crashed-thread frames and images, counted together.
    pub parts: i64,
    /// Fewer parse warnings compare greater.
    pub fewer_warnings: std::cmp::Reverse<i64>,
    /// The file's size.
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
/// without one the file's content key plus the report's position in it
/// (`blake3:<key>#<index>`; `sha256:` before migration 9, which rewrites those).
pub fn report_identity(report: &CrashReport, file_hash: &str, index: usize) -> String {
    match report.incident_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => id.to_ascii_uppercase(),
        _ => format!("{KEY_PREFIX}{file_hash}#{index}"),
    }
}

/// How identities built from a content key start (see [`report_identity`]).
pub(crate) const KEY_PREFIX: &str = "blake3:";

/// A report identity as stored: incident ids in upper case (macOS writes them so, users paste
/// them in any case), content identities (`blake3:<hex>#<i>`, `sha256:` before migration 9)
/// in lower case, as [`report_identity`] makes them. Every lookup and every round's attributed
/// reports go through this, so an attributed report without an incident id is found again.
pub fn normalize_identity(identity: &str) -> String {
    let t = identity.trim();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with(KEY_PREFIX) || lower.starts_with("sha256:") {
        lower
    } else {
        t.to_ascii_uppercase()
    }
}

/// The content key a file is stored under: the BLAKE3 hash of its bytes, 64 lowercase hex
/// digits. Equal keys mean equal bytes; this is what deduplicates originals.
pub fn content_key(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
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

#[cfg(test)]
pub(in crate::store) mod tests {
    use super::write::image_list_key;
    use super::*;
    use crate::crash::{Image, ReportKind, SourceFormat, Thread};
    use crate::store::Store;

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

    // Regression: a round's attributed report without an incident id was stored upper-cased
    // (`BLAKE3:37DA...#0`) and never matched its report (`blake3:37da...#0`): writeups showed
    // the crash as "(not ingested)".
    #[test]
    fn content_identities_keep_their_case_and_incident_ids_are_upper_case() {
        assert_eq!(normalize_identity(" BLAKE3:37DA#0 "), "blake3:37da#0");
        assert_eq!(normalize_identity("SHA256:AB#1"), "sha256:ab#1");
        assert_eq!(
            normalize_identity("33218f9d-feb7-4525-92e3-5cf9934d6b87"),
            "33218F9D-FEB7-4525-92E3-5CF9934D6B87"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let mut r = report("x", &[A]);
        r.incident_id = None;
        let id = insert(&mut store, &r, "ab12");
        let identity: String = store
            .sqlite_conn()
            .query_row(
                "SELECT identity FROM reports WHERE id = ?1",
                rusqlite::params![id],
                |row| row.get(0),
            )
            .unwrap();
        let shouted = identity.to_ascii_uppercase();
        let found = store.report_by_identity(&shouted).unwrap().unwrap();
        assert_eq!(found.id, id);
    }

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
            .sqlite_conn()
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
            .sqlite_conn()
            .query_row(
                "SELECT count(*) FROM image_lists",
                rusqlite::params![],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(lists, 2);
        assert_eq!(list_of(&store, r1), vec![A, B]);
        assert_eq!(list_of(&store, r2), vec![A, B]);
        assert_eq!(list_of(&store, r3), vec![B, A]);
        // The frame points at the last image of its own report's order.
        let frame_image: String = store
            .sqlite_conn()
            .query_row(
                "SELECT i.uuid FROM reports r JOIN stacks s ON s.id = r.crashed_stack
                 JOIN images i ON i.id = s.frames ->> '$[0][0]' WHERE r.id = ?1",
                rusqlite::params![r3],
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
    fn a_dictionary_of_many_reports_covers_a_copy_of_its_oldest_one() {
        // Eight kinds of report, ~40 KB each, in one dictionary (the bench's real-derived set
        // has eight). Regression: with level 1's own hash table (sized for the input) the
        // later kinds pushed the first one's positions out, and a copy of it compressed to
        // ~10% of its size instead of tens of bytes.
        let kind = |k: u32| -> Vec<u8> {
            (0..1200u32)
                .flat_map(|i| {
                    format!(
                        "{{\"k{k}\": {}, \"sym\": \"f{}\"}},",
                        i * 7919 % 100_003 + k,
                        i ^ k
                    )
                    .into_bytes()
                })
                .collect()
        };
        let mut content = DICT_PREFIX.to_vec();
        for k in 0..8 {
            content.extend_from_slice(&kind(k));
        }
        assert!(content.len() > 250_000 && content.len() <= MAX_DICT_BYTES);
        let dict = Dictionary {
            id: 1,
            content: Arc::new(content),
        };
        let mut c = Compressor::with_dictionary(&dict).unwrap();
        for k in [0, 7] {
            let mut copy = kind(k);
            copy[100] = b'9'; // a near-copy, as a new incident id makes
            let z = c.compress(&copy).unwrap();
            assert!(
                is_covered(copy.len(), z.len()),
                "kind {k}: {} of {}",
                z.len(),
                copy.len()
            );
            let back = zstd::bulk::Decompressor::with_dictionary(&dict.content)
                .unwrap()
                .decompress(&z, copy.len())
                .unwrap();
            assert_eq!(back, copy);
        }
    }

    #[test]
    fn a_due_version_takes_no_more_samples_and_its_length_is_known_without_building_it() {
        // A report-like text per kind: near-copies of one kind compress to nothing against it.
        let sample = |k: u8| -> Vec<u8> {
            (0..1500u32)
                .flat_map(|i| {
                    format!("{{\"kind\": {k}, \"frame\": {}}},", i * 7919 % 100_003).into_bytes()
                })
                .collect()
        };
        let mut b = DictionaryBuilder::new(None);
        assert_eq!(b.content_len(), b.content_with_pending().len());
        b.offer(&sample(1)).unwrap();
        assert_eq!(b.content_len(), b.content_with_pending().len());
        for _ in 0..DictionaryBuilder::EVIDENCE {
            b.offer(&sample(1)).unwrap();
        }
        let due = b.due().expect("due");
        assert_eq!(b.content_len(), due.len());
        // Another kind of report while the version waits for its commit: not a sample of this
        // version (it is not probed, nor kept), so the version stored is the one found due.
        b.offer(&sample(2)).unwrap();
        assert_eq!(b.due().as_deref(), Some(&due[..]));
        // Installed, the next kind starts the next version, and the length still agrees with
        // the content (the current dictionary's bytes, then the samples).
        b.installed(Dictionary {
            id: 1,
            content: Arc::new(due),
        });
        b.offer(&sample(2)).unwrap();
        assert_eq!(b.content_len(), b.content_with_pending().len());
        // Beyond the size limit, both cut at it.
        for k in 3..80 {
            b.offer(&sample(k)).unwrap();
            assert_eq!(b.content_len(), b.content_with_pending().len());
        }
        assert!(b.content_len() <= MAX_DICT_BYTES);
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
        let sha = content_key(&new);
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
        conn.execute(
            "UPDATE dictionaries SET size = ?1",
            rusqlite::params![content.len() as i64],
        )
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
            "UPDATE files SET size = 4611686018427387904 WHERE hash = 'plain'",
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
            .sqlite_conn()
            .execute_batch(
                "INSERT INTO images (key, uuid, name) VALUES ('other', 'other', 'other');
                 INSERT INTO image_lists (key, image_count) VALUES ('[999]', 1);",
            )
            .unwrap();
        let r = insert(&mut store, &report("I3", &[A, C]), "s3");
        assert_eq!(list_of(&store, r), vec![A, C]);
        let broken: i64 = store
            .sqlite_conn()
            .query_row(
                "SELECT count(*) FROM pragma_foreign_key_check",
                rusqlite::params![],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(broken, 0);
    }

    /// A small `.ips` report: two crashed-thread frames, one exception frame, the same for
    /// every incident id (migration 13's tests use it too).
    pub(in crate::store) fn ips(incident: &str) -> Vec<u8> {
        format!(
            concat!(
                r#"{{"bug_type":"309","incident_id":"{i}"}}"#,
                "\n",
                r#"{{"incident":"{i}","procName":"python3.11","pid":7,"#,
                r#""faultingThread":0,"threads":[{{"triggered":true,"id":1,"frames":["#,
                r#"{{"imageOffset":1552,"symbol":"abort","symbolLocation":8,"imageIndex":1}},"#,
                r#"{{"imageOffset":2000,"imageIndex":0}}]}}],"#,
                r#""lastExceptionBacktrace":[{{"imageOffset":64,"imageIndex":0}}],"#,
                r#""usedImages":[{{"arch":"arm64e","base":8589934592,"size":65536,"#,
                r#""uuid":"2f5ccac7-cf4f-3f87-8689-7c673e90e595","name":"AGXMetalG16X"}},"#,
                r#"{{"arch":"arm64e","base":4294967296,"size":8192,"#,
                r#""uuid":"a308656d-31e2-38dc-9b95-54f3287f3899","name":"libsystem_kernel.dylib"}}]}}"#
            ),
            i = incident
        )
        .into_bytes()
    }

    /// Store `bytes` and its reports as ingest does; the outcome of each.
    fn ingest(store: &mut Store, bytes: &[u8], path: &str) -> Vec<InsertOutcome> {
        let hash = content_key(bytes);
        let tx = store.begin_write().unwrap();
        tx.put_file(&hash, bytes.len() as u64, &compress(bytes).unwrap())
            .unwrap();
        let out = crate::crash::parse(bytes)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, r)| tx.insert_report(r, &hash, i, path, None).unwrap())
            .collect();
        tx.commit().unwrap();
        out
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store
            .sqlite_conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    /// (crashed, exception) stack ids of a report.
    fn stacks_of(store: &Store, id: i64) -> (Option<i64>, Option<i64>) {
        store
            .sqlite_conn()
            .query_row(
                "SELECT crashed_stack, exception_stack FROM reports WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    /// Symbol names of a report's crashed and exception frames as `show` gives them.
    fn shown_symbols(store: &Store, id: i64) -> (Vec<Option<String>>, Vec<Option<String>>) {
        let r = store.load_report(id).unwrap().report;
        let names = |f: &[Frame]| f.iter().map(|f| f.symbol.clone()).collect::<Vec<_>>();
        (
            names(&r.crashed().unwrap().frames),
            names(&r.last_exception_backtrace),
        )
    }

    const ID1: &str = "AAAAAAAA-0000-0000-0000-000000000001";
    const ID2: &str = "AAAAAAAA-0000-0000-0000-000000000002";
    const ID3: &str = "AAAAAAAA-0000-0000-0000-000000000003";

    #[test]
    fn reports_with_the_same_stack_share_one_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let [InsertOutcome::New(r1)] = ingest(&mut store, &ips(ID1), "/a")[..] else {
            panic!()
        };
        let [InsertOutcome::New(r2)] = ingest(&mut store, &ips(ID2), "/b")[..] else {
            panic!()
        };
        // A store opened afresh (empty cache) finds the stored row by its key.
        drop(store);
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let [InsertOutcome::New(r3)] = ingest(&mut store, &ips(ID3), "/c")[..] else {
            panic!()
        };
        let (c1, e1) = stacks_of(&store, r1);
        assert!(c1.is_some() && e1.is_some() && c1 != e1);
        assert_eq!(stacks_of(&store, r2), (c1, e1));
        assert_eq!(stacks_of(&store, r3), (c1, e1));
        assert_eq!(count(&store, "SELECT count(*) FROM stacks"), 2);
        // The key is the BLAKE3 hash of the text, as migration 13 computes it.
        let (hash, frames): (String, String) = store
            .sqlite_conn()
            .query_row(
                "SELECT hash, frames FROM stacks WHERE id = ?1",
                [c1.unwrap()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(hash, content_key(frames.as_bytes()));
        assert!(
            frames.starts_with(r#"[[2,"abort",8,"apple",null,null],"#),
            "{frames}"
        );
    }

    #[test]
    fn a_stack_met_before_is_found_by_its_frames_whole_not_by_its_summary() {
        // Regression guard for the writer's memo of stacks met before (`stack_keys`): a stack
        // that differs only in a symbol's letters (same length: the same summary) is a stack of
        // its own, in the same transaction and in a later one; the same frames again find the
        // first row.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let twin = |id: &str, sym: &str| {
            String::from_utf8(ips(id))
                .unwrap()
                .replace(r#""symbol":"abort""#, &format!(r#""symbol":"{sym}""#))
                .into_bytes()
        };
        // One report into an open transaction; its new row's id.
        let put = |tx: &WriteTx<'_>, b: &[u8]| {
            let hash = content_key(b);
            tx.put_file(&hash, b.len() as u64, &compress(b).unwrap())
                .unwrap();
            let r = &crate::crash::parse(b).unwrap()[0];
            let InsertOutcome::New(id) = tx.insert_report(r, &hash, 0, "/x", None).unwrap() else {
                panic!()
            };
            id
        };
        let ids: Vec<i64> = [twin(ID1, "abort"), twin(ID2, "abxrt"), twin(ID3, "abort")]
            .iter()
            .map(|b| {
                let tx = store.begin_write().unwrap();
                let id = put(&tx, b);
                tx.commit().unwrap();
                id
            })
            .collect();
        let (a, _) = stacks_of(&store, ids[0]);
        let (b, _) = stacks_of(&store, ids[1]);
        let (c, _) = stacks_of(&store, ids[2]);
        assert_ne!(a, b, "abxrt is not abort");
        assert_eq!(a, c);
        assert_eq!(shown_symbols(&store, ids[1]).0[0].as_deref(), Some("abxrt"));
        assert_eq!(shown_symbols(&store, ids[2]).0[0].as_deref(), Some("abort"));
        // Three reports in one transaction: the same answers.
        let tx = store.begin_write().unwrap();
        let mut again = Vec::new();
        for (i, sym) in ["abxrt", "abort", "abxrt"].iter().enumerate() {
            let id = put(
                &tx,
                &twin(&format!("00000000-0000-4000-8000-00000000000{i}"), sym),
            );
            again.push(stacks_of_tx(&tx, id));
        }
        tx.commit().unwrap();
        assert_eq!(again, vec![b, a, b]);
    }

    /// The crashed stack id of a report, read inside a write transaction.
    fn stacks_of_tx(tx: &WriteTx<'_>, id: i64) -> Option<i64> {
        tx.tx
            .query_row(
                "SELECT crashed_stack FROM reports WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn symbolicating_a_shared_stack_changes_only_its_report() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let [InsertOutcome::New(r1)] = ingest(&mut store, &ips(ID1), "/a")[..] else {
            panic!()
        };
        let [InsertOutcome::New(r2)] = ingest(&mut store, &ips(ID2), "/b")[..] else {
            panic!()
        };
        let before = stacks_of(&store, r1);
        let ingested = shown_symbols(&store, r2);
        assert_eq!(ingested.0, vec![Some("abort".to_string()), None]);
        // Name frame 1 of r1's crashed stack and its exception frame, as `symbolicate` does.
        let loaded = store.load_report(r1).unwrap().report;
        let mut f = loaded.crashed().unwrap().frames[1].clone();
        f.symbol = Some("AGX::dispatch".into());
        f.symbol_source = Some(crate::crash::SymbolSource::Symcache);
        let mut e = loaded.last_exception_backtrace[0].clone();
        e.symbol = Some("AGX::encode".into());
        let tx = store.begin_write().unwrap();
        tx.set_frame_symbols(r1, "crashed", &[(1, &f)]).unwrap();
        tx.set_frame_symbol(r1, "exception", 0, &e).unwrap();
        // A frame the stack does not have changes nothing (and stores nothing).
        tx.set_frame_symbol(r1, "crashed", 9, &f).unwrap();
        tx.commit().unwrap();
        let after = stacks_of(&store, r1);
        assert!(after.0 != before.0 && after.1 != before.1);
        assert_eq!(
            stacks_of(&store, r2),
            before,
            "the other report keeps its stacks"
        );
        assert_eq!(
            shown_symbols(&store, r1),
            (
                vec![Some("abort".to_string()), Some("AGX::dispatch".to_string())],
                vec![Some("AGX::encode".to_string())]
            )
        );
        assert_eq!(shown_symbols(&store, r2), ingested, "its frames unchanged");
        assert_eq!(
            store.reports_with_frame(&|s| s == "AGX::dispatch").unwrap(),
            vec![r1]
        );
        // The old stacks stay (r2 uses them); the changed ones are two more.
        assert_eq!(count(&store, "SELECT count(*) FROM stacks"), 4);
        // The same names on r2 find r1's changed stacks instead of storing them again.
        let tx = store.begin_write().unwrap();
        tx.set_frame_symbol(r2, "crashed", 1, &f).unwrap();
        tx.set_frame_symbol(r2, "exception", 0, &e).unwrap();
        tx.commit().unwrap();
        assert_eq!(stacks_of(&store, r2), after);
        assert_eq!(count(&store, "SELECT count(*) FROM stacks"), 4);
        // Re-ingesting both files is a duplicate each and changes no stored frame.
        assert!(matches!(
            ingest(&mut store, &ips(ID1), "/a2")[..],
            [InsertOutcome::Duplicate(id)] if id == r1
        ));
        assert!(matches!(
            ingest(&mut store, &ips(ID2), "/b2")[..],
            [InsertOutcome::Duplicate(id)] if id == r2
        ));
        assert_eq!(stacks_of(&store, r1), after);
        assert_eq!(shown_symbols(&store, r2), shown_symbols(&store, r1));
        // A new report of the same crash gets the stacks as ingested, not a symbolicated one.
        let [InsertOutcome::New(r3)] = ingest(&mut store, &ips(ID3), "/c")[..] else {
            panic!()
        };
        assert_eq!(stacks_of(&store, r3), before);
        assert_eq!(shown_symbols(&store, r3), ingested);
        assert_eq!(
            count(&store, "SELECT count(*) FROM pragma_foreign_key_check"),
            0
        );
    }

    #[test]
    fn a_symbolicated_stack_from_a_rolled_back_transaction_is_not_reused() {
        // The copy-on-write path (`set_frame_symbols`) caches the new stack's id too: a
        // symbolication whose transaction is rolled back must not leave it behind.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let [InsertOutcome::New(r1)] = ingest(&mut store, &ips(ID1), "/a")[..] else {
            panic!()
        };
        let loaded = store.load_report(r1).unwrap().report;
        let mut f = loaded.crashed().unwrap().frames[1].clone();
        f.symbol = Some("AGX::dispatch".into());
        f.symbol_source = Some(crate::crash::SymbolSource::Symcache);
        {
            let tx = store.begin_write().unwrap();
            tx.set_frame_symbols(r1, "crashed", &[(1, &f)]).unwrap();
            // Dropped: rolled back.
        }
        // Another writer takes the id the rolled-back stack had.
        store
            .sqlite_conn()
            .execute_batch("INSERT INTO stacks (hash, frames) VALUES ('x1', '[]')")
            .unwrap();
        let tx = store.begin_write().unwrap();
        tx.set_frame_symbols(r1, "crashed", &[(1, &f)]).unwrap();
        tx.commit().unwrap();
        assert_eq!(
            shown_symbols(&store, r1).0,
            vec![Some("abort".to_string()), Some("AGX::dispatch".to_string())]
        );
        assert_eq!(
            count(&store, "SELECT count(*) FROM pragma_foreign_key_check"),
            0
        );
    }

    #[test]
    fn a_stack_from_a_rolled_back_transaction_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        {
            let bytes = ips(ID1);
            let tx = store.begin_write().unwrap();
            let hash = content_key(&bytes);
            tx.put_file(&hash, bytes.len() as u64, &compress(&bytes).unwrap())
                .unwrap();
            let r = &crate::crash::parse(&bytes).unwrap()[0];
            tx.insert_report(r, &hash, 0, "/a", None).unwrap();
        }
        // Another writer takes the ids the rolled-back stacks had.
        store
            .sqlite_conn()
            .execute_batch(
                "INSERT INTO stacks (hash, frames) VALUES ('x1', '[]'), ('x2', '[]'), ('x3', '[]')",
            )
            .unwrap();
        let [InsertOutcome::New(r1)] = ingest(&mut store, &ips(ID1), "/a")[..] else {
            panic!()
        };
        assert_eq!(shown_symbols(&store, r1).0[0].as_deref(), Some("abort"));
        let (c, _) = stacks_of(&store, r1);
        let text: String = store
            .sqlite_conn()
            .query_row(
                "SELECT frames FROM stacks WHERE id = ?1",
                [c.unwrap()],
                |r| r.get(0),
            )
            .unwrap();
        assert_ne!(text, "[]");
    }

    #[test]
    fn list_keys_are_what_the_migration_writes() {
        assert_eq!(image_list_key(&[3, 1, 7]), "[3,1,7]");
        assert_eq!(image_list_key(&[12]), "[12]");
    }
}
