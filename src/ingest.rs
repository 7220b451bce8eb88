//! The ingest pipeline: walk paths, read and parse files in parallel, store them.
//!
//! Shape: one walker thread enumerates files; `threads` workers read each file, hash it,
//! skip it early when the same bytes are stored already, else parse and compress it; the
//! calling thread is the single writer and inserts in batched `IMMEDIATE` transactions.
//! Channels are bounded, so memory stays flat however many files there are. A per-file
//! problem becomes a [`FileError`] in the summary and the rest goes on; only a database
//! failure stops the run. Stopping (Ctrl-C) is checked between files: what is committed is
//! whole, the open batch is committed before returning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::bucket::{self, FrameLists, RuleSet};
use crate::crash::{self, CrashReport, ReportKind};
use crate::store::{self, BucketFields, InsertOutcome, Store, StoreError};

/// Files larger than this are refused with a per-file error rather than read into memory.
/// The largest real report seen is 1.5 MB; 256 MiB leaves room for anything sane.
pub const MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// Errors that stop an ingest (per-file problems are not errors: see [`FileError`]).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    /// The store failed (opening, a write, a commit).
    Store(#[from] StoreError),
    #[error("ingest worker failed: {0}")]
    /// A worker thread could not be started or panicked.
    Worker(String),
}

/// One file that could not be ingested, and why. In JSON (`ingest --json`):
/// `{"path": "...", "code": "not_a_crash_report", "error": "not a crash report: ..."}`, where
/// `code` is [`FileErrorKind::code`] (stable, for scripts) and `error` the message (for people).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct FileError {
    /// The path as given or found while walking.
    pub path: String,
    /// What went wrong.
    pub kind: FileErrorKind,
}

impl FileError {
    fn new(path: impl Into<String>, kind: FileErrorKind) -> FileError {
        FileError {
            path: path.into(),
            kind,
        }
    }
}

impl Serialize for FileError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            path: &'a str,
            code: &'static str,
            error: String,
        }
        Shown {
            path: &self.path,
            code: self.kind.code(),
            error: self.kind.to_string(),
        }
        .serialize(s)
    }
}

/// Why a file could not be ingested. The messages are what `ingest` prints after the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileErrorKind {
    /// The path does not exist (a dangling symlink, a file removed while walking).
    #[error("no such file or folder")]
    NotFound,
    #[error("permission denied")]
    /// The OS refused to read the path.
    PermissionDenied,
    /// Any other read error (EIO from a failing disk, ...), as the OS words it.
    #[error("{0}")]
    Io(String),
    /// A folder symlink pointing back at one of its ancestors.
    #[error("symlink loop back to {0}")]
    SymlinkLoop(String),
    /// A FIFO, device or socket given as a path (reading one blocks or never ends).
    #[error("not a regular file or folder ({0})")]
    NotARegularFile(&'static str),
    #[error("file is {size} bytes, larger than the {limit} byte limit")]
    /// Larger than [`MAX_FILE_SIZE`] (no crash report is): not read.
    TooLarge {
        /// The file's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// No bytes, or only white space.
    #[error("empty file")]
    Empty,
    /// Neither an `.ips` header nor any legacy crash-report field, or a file that holds no
    /// report.
    #[error("{0}")]
    NotACrashReport(String),
    /// JSON that could not be read even partially.
    #[error("{0}")]
    InvalidJson(String),
    /// The file ends before anything usable.
    #[error("{0}")]
    Truncated(String),
    /// The store could not compress the file.
    #[error("{0}")]
    Compression(String),
}

impl FileErrorKind {
    /// A stable code for scripts (`ingest --json`): never renamed once released.
    pub fn code(&self) -> &'static str {
        match self {
            FileErrorKind::NotFound => "not_found",
            FileErrorKind::PermissionDenied => "permission_denied",
            FileErrorKind::Io(_) => "io",
            FileErrorKind::SymlinkLoop(_) => "symlink_loop",
            FileErrorKind::NotARegularFile(_) => "not_a_regular_file",
            FileErrorKind::TooLarge { .. } => "too_large",
            FileErrorKind::Empty => "empty",
            FileErrorKind::NotACrashReport(_) => "not_a_crash_report",
            FileErrorKind::InvalidJson(_) => "invalid_json",
            FileErrorKind::Truncated(_) => "truncated",
            FileErrorKind::Compression(_) => "compression",
        }
    }

    fn io(e: &std::io::Error) -> FileErrorKind {
        match e.kind() {
            std::io::ErrorKind::NotFound => FileErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => FileErrorKind::PermissionDenied,
            // A file link that points at itself (`self.ips -> self.ips`) fails to open with
            // ELOOP: the same code as a folder loop found while walking.
            #[cfg(unix)]
            _ if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
                FileErrorKind::SymlinkLoop(e.to_string())
            }
            _ => FileErrorKind::Io(e.to_string()),
        }
    }

    fn parse(e: &crash::ParseError) -> FileErrorKind {
        match e {
            crash::ParseError::Empty => FileErrorKind::Empty,
            crash::ParseError::Unrecognized(_) => FileErrorKind::NotACrashReport(e.to_string()),
            crash::ParseError::Json { .. } => FileErrorKind::InvalidJson(e.to_string()),
            crash::ParseError::Truncated(_) => FileErrorKind::Truncated(e.to_string()),
        }
    }
}

/// What an ingest did. Counts are of reports unless they say files.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IngestSummary {
    /// Files looked at.
    pub scanned: u64,
    /// New crash reports stored.
    pub new: u64,
    /// Copies of reports already stored (their paths were recorded as further sources).
    pub duplicates: u64,
    /// Of `duplicates`: copies more complete than the stored one, which now describes them
    /// (the whole file after its first 20 KB, say; see `store::Completeness`).
    #[serde(skip_serializing_if = "is_zero")]
    pub replaced: u64,
    /// New reports that are not crashes (GPU events and other diagnostics).
    pub non_crash: u64,
    /// Of `non_crash`: GPU events.
    pub gpu_events: u64,
    /// Of `non_crash`: other diagnostics (panics, jetsam, resource reports...).
    pub other: u64,
    /// Reports stored with parse warnings (partial reports from truncated files...).
    pub with_warnings: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Files that failed, with the reason.
    pub failed: Vec<FileError>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Progress notifications for a caller that wants to draw a bar (the library never prints).
pub trait Progress: Sync {
    /// A file was discovered by the walker.
    fn discovered(&self, _path: &Path) {}
    /// A file was processed (stored, found a duplicate or failed).
    fn processed(&self, _path: &Path) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The rules and frame lists reports are bucketed with at ingest.
#[derive(Debug)]
pub struct Bucketer {
    /// The known-pattern rules, compiled.
    pub rules: RuleSet,
    /// The irrelevant and prefix frame lists the signature is made with.
    pub lists: FrameLists,
}

impl Bucketer {
    /// The shipped rules and frame lists.
    pub fn builtin() -> Bucketer {
        Bucketer {
            rules: RuleSet::builtin(),
            lists: FrameLists::builtin(),
        }
    }

    /// The bucket columns for one report (crashes only: GPU events and other diagnostics
    /// have no crashed thread to sign).
    pub fn fields(&self, report: &CrashReport) -> Option<BucketFields> {
        if report.kind != ReportKind::Crash {
            return None;
        }
        let b = bucket::classify(report, &self.rules, &self.lists);
        Some(BucketFields {
            signature: b.signature.text,
            signature_version: b.signature.algorithm_version,
            pattern: b.pattern.as_ref().map(|m| m.id.clone()),
            pattern_title: b.pattern.map(|m| m.title),
        })
    }
}

/// Knobs for an ingest run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Worker threads for reading/parsing/compressing (default: available parallelism).
    pub threads: usize,
    /// Commit after this many files...
    pub batch_files: usize,
    /// ...or after this long, whichever comes first.
    pub batch_time: Duration,
    /// How reports are bucketed (signature and known pattern), in the workers; `None` stores
    /// reports unbucketed (`rebucket` fills them in later).
    pub bucketer: Option<Arc<Bucketer>>,
    /// Symbols to name unsymbolicated frames with before bucketing (when the user has indexed
    /// any with `symbols add`).
    pub symbols: Option<Arc<crate::symbols::SymbolStore>>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            batch_files: 64,
            batch_time: Duration::from_millis(500),
            bucketer: Some(Arc::new(Bucketer::builtin())),
            symbols: None,
        }
    }
}

/// The macOS DiagnosticReports folders (user, system, and their `Retired` subfolders) that
/// exist on this machine.
pub fn default_report_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join("Library/Logs/DiagnosticReports"));
    }
    dirs.push(PathBuf::from("/Library/Logs/DiagnosticReports"));
    let mut all = Vec::new();
    for d in dirs {
        all.push(d.join("Retired"));
        all.push(d);
    }
    all.retain(|d| d.is_dir());
    all.sort();
    all
}

/// Extensions taken from folders. Files named explicitly are always taken.
/// `.synced` covers `X.ips.synced` copies from device syncs.
const FOLDER_EXTENSIONS: &[&str] = &["ips", "crash", "synced", "txt"];

fn wanted_in_folder(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') {
        return false;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| FOLDER_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        .unwrap_or(false)
}

/// A discovered file, or a walk error attributed to a path.
pub type WalkItem = Result<PathBuf, FileError>;

/// Walk `paths` (files or folders, recursively, following symlinks with loop detection) and
/// send every candidate file to `out`. Stops early when `out` hangs up.
pub fn walk(paths: &[PathBuf], out: &dyn Fn(WalkItem) -> bool) {
    walk_with(paths, out, &|| true)
}

/// [`walk`], calling `between` at every folder entry it does not send (folders, files of other
/// kinds): a walk through a big tree that holds few reports still hands over what it found
/// (see `CHUNK_WAIT`) and notices a stop. It stops when `between` returns false.
fn walk_with(paths: &[PathBuf], out: &dyn Fn(WalkItem) -> bool, between: &dyn Fn() -> bool) {
    for root in paths {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                if !out(Err(FileError::new(
                    display_path(root),
                    FileErrorKind::io(&e),
                ))) {
                    return;
                }
                continue;
            }
        };
        if meta.is_file() {
            if !out(Ok(root.clone())) {
                return;
            }
            continue;
        }
        // A FIFO, device or socket named on the command line is an error of its own (reading
        // one blocks or never ends), not something to skip in silence.
        if !meta.is_dir() {
            if !out(Err(FileError::new(
                display_path(root),
                FileErrorKind::NotARegularFile(special_kind(&meta)),
            ))) {
                return;
            }
            continue;
        }
        // follow_links: DiagnosticReports folders are often symlinked; walkdir detects loops
        // and reports them as errors, which become per-file errors here.
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
        {
            let item = match entry {
                Ok(e) if e.file_type().is_file() => {
                    if wanted_in_folder(e.path()) {
                        Ok(e.into_path())
                    } else if between() {
                        continue;
                    } else {
                        return;
                    }
                }
                // A FIFO or device with a report's name inside a folder: the same per-file error
                // as when it is named on the command line, never skipped in silence.
                Ok(e) if !e.file_type().is_dir() && wanted_in_folder(e.path()) => {
                    let kind = match e.metadata() {
                        Ok(meta) => FileErrorKind::NotARegularFile(special_kind(&meta)),
                        Err(err) => FileErrorKind::Io(err.to_string()),
                    };
                    Err(FileError::new(display_path(e.path()), kind))
                }
                Ok(_) if between() => continue,
                Ok(_) => return,
                Err(e) => {
                    let path = e
                        .path()
                        .map(display_path)
                        .unwrap_or_else(|| display_path(root));
                    let kind = if let Some(anc) = e.loop_ancestor() {
                        FileErrorKind::SymlinkLoop(anc.display().to_string())
                    } else if let Some(io) = e.io_error() {
                        FileErrorKind::io(io)
                    } else {
                        FileErrorKind::Io(e.to_string())
                    };
                    Err(FileError::new(path, kind))
                }
            };
            if !out(item) {
                return;
            }
        }
    }
}

/// What kind of special file `meta` is, in words.
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    let _ = meta;
    "a special file"
}

/// Files handed from the walker to a worker at once, and results from a worker to the writer:
/// one channel operation, and at most one thread woken, per chunk. Handed over one by one, the
/// three stages woke each other ~28,000 times for 8,000 reports (`perf sched`), a context
/// switch every ~65 µs of work on each thread.
const CHUNK: usize = 16;

/// The walker hands over a chunk that is not full after this long (a slow walk of a network
/// folder must not hold back the files it has found).
const CHUNK_WAIT: Duration = Duration::from_millis(20);

/// A worker hands its results over once they hold this many bytes, even mid-chunk (a chunk of
/// reports is ~100 KB; a file the dictionary does not cover travels with its bytes).
const HELD_BYTES: usize = 2 * 1024 * 1024;

/// What a worker hands the writer.
enum Work {
    /// The bytes are stored already: only record the path.
    Known {
        path: String,
        hash: String,
    },
    /// Parsed and compressed, ready to insert.
    Parsed {
        path: String,
        hash: String,
        size: u64,
        compressed: Vec<u8>,
        /// The dictionary `compressed` was made with.
        dict_id: Option<i64>,
        /// The file's bytes, kept only when that dictionary did not cover them: a candidate
        /// for the next dictionary (see `store::DictionaryBuilder`).
        uncovered: Option<Vec<u8>>,
        reports: Vec<(CrashReport, Option<BucketFields>)>,
    },
    Failed(FileError),
}

impl Work {
    /// The path this result is for, as recorded.
    fn path(&self) -> &str {
        match self {
            Work::Known { path, .. } | Work::Parsed { path, .. } => path,
            Work::Failed(fe) => &fe.path,
        }
    }

    /// The bytes this result holds (its compressed file, and the file itself when kept as a
    /// dictionary sample).
    fn held_bytes(&self) -> usize {
        match self {
            Work::Parsed {
                compressed,
                uncovered,
                ..
            } => compressed.len() + uncovered.as_ref().map_or(0, Vec::len),
            _ => 0,
        }
    }
}

/// Make a path absolute (without resolving symlinks) for recording as a source, and for every
/// per-file error: one form whether the walk or the parse found the problem.
fn display_path(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// Read (into `buf`), hash, dedup-check, parse and compress one file.
fn process_file(
    path: &Path,
    buf: &mut Vec<u8>,
    compressor: Option<&mut store::Compressor>,
    reader: Option<&Store>,
    bucketer: Option<&Bucketer>,
    symbols: Option<&crate::symbols::SymbolStore>,
) -> Work {
    let shown = display_path(path);
    let fail = |kind: FileErrorKind| Work::Failed(FileError::new(shown.clone(), kind));
    if let Err(kind) = read_file(path, buf) {
        return fail(kind);
    }
    let bytes = &buf[..];
    let hash = store::content_key(bytes);
    if let Some(r) = reader {
        if let Ok(true) = r.has_file(&hash) {
            return Work::Known { path: shown, hash };
        }
    }
    // Only the crashed thread's frames: the rest is all the writer would drop (the stored
    // original gives them back to `show`).
    let mut reports = match crash::parse_with(bytes, crash::ThreadFrames::Crashed) {
        Ok(r) if r.is_empty() => {
            return fail(FileErrorKind::NotACrashReport(
                "no report found in file".to_string(),
            ))
        }
        Ok(r) => r,
        Err(e) => return fail(FileErrorKind::parse(&e)),
    };
    let (compressed, dict_id) = match compressor {
        Some(c) => (c.compress(bytes), c.dict_id()),
        None => (store::compress(bytes), None),
    };
    let compressed = match compressed {
        Ok(c) => c,
        Err(e) => return fail(FileErrorKind::Compression(e.to_string())),
    };
    let size = bytes.len() as u64;
    // A file the dictionary does not cover travels to the writer as a sample for the next
    // version, unless it is too big to be one (the builder refuses it): 24 files of 8 MB
    // each carried a copy of themselves through the queues for nothing.
    let uncovered = (bytes.len() <= store::DictionaryBuilder::MAX_PENDING
        && !store::is_covered(bytes.len(), compressed.len()))
    .then(|| bytes.to_vec());
    if let Some(sym) = symbols {
        for r in reports.iter_mut() {
            crate::symbols::symbolicate_crashed(r, sym, false);
        }
    }
    let reports = reports
        .into_iter()
        .map(|mut r| {
            let b = bucketer.and_then(|b| b.fields(&r));
            keep_what_the_store_writes(&mut r);
            (r, b)
        })
        .collect();
    Work::Parsed {
        path: shown,
        hash,
        size,
        compressed,
        dict_id,
        uncovered,
        reports,
    }
}

/// Read the file at `path` into `buf` (its old content replaced). One open: the size limit is
/// checked on the open file, so a file swapped between the check and the read cannot pass it.
fn read_file(path: &Path, buf: &mut Vec<u8>) -> Result<(), FileErrorKind> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| FileErrorKind::io(&e))?;
    let size = file.metadata().map_err(|e| FileErrorKind::io(&e))?.len();
    if size > MAX_FILE_SIZE {
        return Err(FileErrorKind::TooLarge {
            size,
            limit: MAX_FILE_SIZE,
        });
    }
    buf.clear();
    buf.reserve(size as usize);
    // A file that grows while it is read stops one byte past the limit.
    let read = file
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(buf)
        .map_err(|e| FileErrorKind::io(&e))?;
    if read as u64 > MAX_FILE_SIZE {
        return Err(FileErrorKind::TooLarge {
            size: read as u64,
            limit: MAX_FILE_SIZE,
        });
    }
    // A huge file read once must not keep its buffer for the rest of the run: a buffer much
    // larger than what it holds shrinks (to what it holds, at least 1 MB).
    if buf.capacity() > (4 * read).max(4 * 1024 * 1024) {
        buf.shrink_to(read.max(1024 * 1024));
    }
    Ok(())
}

/// Free, here in the worker, what the writer does not store: the register state, and the
/// frames of the threads that did not crash (`ThreadFrames::Crashed` builds none, so this only
/// holds for a model from elsewhere). The stored original keeps both; `show` re-parses it.
/// The writer reads the crashed thread, the exception backtrace, the images, the header fields
/// and the thread count. Freed before the hand-over, they do not sit in the queues; the rest
/// comes back to this thread to be freed once stored (see [`Spent`]).
fn keep_what_the_store_writes(r: &mut CrashReport) {
    r.drop_other_threads_frames();
    r.registers = None;
}

/// Ingest `paths` into the database at `db`.
pub fn ingest(
    db: &Path,
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<IngestSummary, IngestError> {
    let mut store = Store::open(db)?;
    ingest_into(&mut store, paths, opts, progress, stop)
}

/// Ingest `paths` into an open store.
pub fn ingest_into(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<IngestSummary, IngestError> {
    let threads = opts.threads.max(1);
    let db_path = store.path().to_path_buf();
    // Room for 512 paths per worker, in chunks (see [`CHUNK`]): with 64, the workers waited
    // ~80 ms of an ingest of 8,000 reports for a walker that was ready but not yet running
    // (all cores busy); paths cost little memory.
    let (walk_tx, walk_rx) = sync_channel::<Vec<WalkItem>>(threads * 512 / CHUNK);
    let walk_rx = Arc::new(std::sync::Mutex::new(walk_rx));
    // Room for 64 parsed files per worker: the writer's commit pauses its receive loop for a
    // few milliseconds, and with 4 per worker the workers spent a quarter of their time blocked
    // behind it (measured on the bench; 16 about halves that). With 16, both workers still
    // blocked behind each flush of a batch and a core stood idle: 64 took 8% off an ingest
    // of the real-derived set (8 paired runs; the same CPU time). Each chunk holds at most
    // about [`HELD_BYTES`], so the queue holds about 8 MB per worker at most.
    let (work_tx, work_rx) = sync_channel::<(usize, Vec<Work>)>(threads * 64 / CHUNK);
    // The writer hands each worker's results back to it once they are stored, to be freed
    // there (see [`Spent`]).
    let (spent_txs, spent_rxs): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| sync_channel::<Vec<Work>>(SPENT_QUEUE))
        .unzip();
    let mut spent_rxs = spent_rxs.into_iter();
    let mut summary = IngestSummary::default();
    let dicts = DictState::new(store.latest_dictionary()?);
    // Checkpoints in a thread of their own: a checkpoint's fsyncs inside the writer's commit
    // stopped every worker behind it (see store::Store::begin_bulk_writes).
    store.begin_bulk_writes();
    // Set when the writer returns (done, stopped or failed): the walker and the workers stop
    // at their next file instead of finishing work nobody will store.
    let done = AtomicBool::new(false);
    let done = &done;
    let result = std::thread::scope(|s| -> Result<(), IngestError> {
        // Named threads, so a profiler or a hang dump says which stage is which.
        let mut spawn_error = None;
        for n in 0..threads {
            let rx = Arc::clone(&walk_rx);
            let tx: SyncSender<(usize, Vec<Work>)> = work_tx.clone();
            let Some(spent) = spent_rxs.next() else {
                break;
            };
            let db_path = db_path.clone();
            let bucketer = opts.bucketer.clone();
            let symbols = opts.symbols.clone();
            let dicts = &dicts;
            let worker = std::thread::Builder::new().name(format!("ingest-worker-{n}"));
            let spawned = worker.spawn_scoped(s, move || {
                // A reader connection per worker lets it skip files stored already without
                // parsing them (re-ingest of a big folder then costs a hash per file).
                let reader = Store::open_read_only(&db_path).ok();
                // Failing to make one (no memory) leaves each file to compress on its own,
                // where a failure becomes that file's error.
                let mut compressor = None;
                let mut generation = None;
                // Each file is read into this one buffer: a report's bytes are dropped once it
                // is parsed and compressed, so the same memory serves every file.
                let mut buf = Vec::new();
                loop {
                    // Free what the writer has stored (this thread allocated it).
                    while spent.try_recv().is_ok() {}
                    let chunk = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok(chunk) = chunk else {
                        return; // walker finished
                    };
                    let mut out = Vec::with_capacity(chunk.len());
                    let mut held = 0;
                    for item in chunk {
                        // Stopped (Ctrl-C) or the writer is gone (it failed): the rest of the
                        // chunk would only be thrown away.
                        if stop.load(Ordering::Relaxed) || done.load(Ordering::Relaxed) {
                            return;
                        }
                        // Results are handed over early when they hold many bytes (large
                        // files the dictionary does not cover carry their bytes along), so
                        // memory stays bounded by bytes as well as by count.
                        if held >= HELD_BYTES && tx.send((n, std::mem::take(&mut out))).is_err() {
                            return;
                        }
                        if out.is_empty() {
                            held = 0;
                        }
                        // A new dictionary version since the last file: compress with it.
                        let now = dicts.generation.load(Ordering::Acquire);
                        if generation != Some(now) {
                            generation = Some(now);
                            compressor = dicts.compressor();
                        }
                        let work = match item {
                            Ok(path) => process_file(
                                &path,
                                &mut buf,
                                compressor.as_mut(),
                                reader.as_ref(),
                                bucketer.as_deref(),
                                symbols.as_deref(),
                            ),
                            Err(fe) => Work::Failed(fe),
                        };
                        held += work.held_bytes();
                        out.push(work);
                    }
                    if !out.is_empty() && tx.send((n, out)).is_err() {
                        return;
                    }
                }
            });
            if let Err(e) = spawned {
                spawn_error = Some(IngestError::Worker(format!("cannot start a worker: {e}")));
                break;
            }
        }
        // Only the workers hold the walk receiver now: when they all stop (the writer failed),
        // the walker's next send fails and it stops too, instead of waiting on a full channel.
        drop(walk_rx);
        if spawn_error.is_none() {
            let walk_paths = paths.to_vec();
            let walker = std::thread::Builder::new()
                .name("ingest-walk".into())
                .spawn_scoped(s, move || {
                    let chunk = std::cell::RefCell::new((Vec::new(), Instant::now()));
                    // Hand over what was found when the chunk is full or has waited long
                    // enough: checked at every folder entry, so files found early in a long
                    // walk do not wait for its end.
                    let hand_over = |full: bool| {
                        let mut c = chunk.borrow_mut();
                        if c.0.is_empty() || !(full || c.1.elapsed() >= CHUNK_WAIT) {
                            return true;
                        }
                        walk_tx.send(std::mem::take(&mut c.0)).is_ok()
                    };
                    let stopped = || stop.load(Ordering::Relaxed) || done.load(Ordering::Relaxed);
                    walk_with(
                        &walk_paths,
                        &|item| {
                            if stopped() {
                                return false;
                            }
                            if let Ok(p) = &item {
                                progress.discovered(p);
                            }
                            let full = {
                                let mut c = chunk.borrow_mut();
                                if c.0.is_empty() {
                                    c.1 = Instant::now();
                                }
                                c.0.push(item);
                                c.0.len() >= CHUNK
                            };
                            hand_over(full)
                        },
                        &|| !stopped() && hand_over(false),
                    );
                    let rest = std::mem::take(&mut chunk.borrow_mut().0);
                    if !rest.is_empty() {
                        let _ = walk_tx.send(rest);
                    }
                });
            if let Err(e) = walker {
                spawn_error = Some(IngestError::Worker(format!("cannot start the walker: {e}")));
            }
        }
        // Without a walker (it failed to start, or a worker did and it was never started) the
        // walk sender is gone, so the workers see the walk end and stop.
        drop(work_tx);
        if let Some(e) = spawn_error {
            return Err(e);
        }
        // On an early return the receiver is dropped here, which unblocks the workers; the
        // walker then sees its channel close.
        let spent = Spent(spent_txs);
        let written = write_all(
            store,
            work_rx,
            &spent,
            opts,
            progress,
            stop,
            &dicts,
            &mut summary,
        );
        done.store(true, Ordering::Relaxed);
        written
    });
    let ended = store.end_bulk_writes();
    result?;
    ended?;
    Ok(summary)
}

/// The dictionary the workers compress with, and how the writer grows it.
struct DictState {
    /// Bumped after each new version is committed; workers compare it before every file.
    generation: AtomicU64,
    current: Mutex<Option<store::Dictionary>>,
    /// The writer's: decides when a new version is due.
    builder: Mutex<store::DictionaryBuilder>,
}

impl DictState {
    fn new(current: Option<store::Dictionary>) -> DictState {
        DictState {
            generation: AtomicU64::new(0),
            current: Mutex::new(current.clone()),
            builder: Mutex::new(store::DictionaryBuilder::new(current)),
        }
    }

    /// A compressor for the current version. Failing to make one (no memory) leaves each file
    /// to compress on its own, where a failure becomes that file's error.
    fn compressor(&self) -> Option<store::Compressor> {
        let current = self.current.lock().ok()?.clone();
        match current {
            Some(d) => store::Compressor::with_dictionary(&d).ok(),
            None => store::Compressor::new().ok(),
        }
    }

    fn publish(&self, dict: store::Dictionary) {
        if let Ok(mut c) = self.current.lock() {
            *c = Some(dict);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// A batch whose results hold this many bytes is committed, however few files it has: 64
/// files of hundreds of megabytes each must not all wait in memory for one commit (an ingest
/// of 24 files of 8 MB of incompressible text peaked at 470 MB before this bound).
const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// Whether the writer's batch is due for its commit: enough files, enough bytes, or long
/// enough.
fn batch_due(files: usize, bytes: usize, waited: Duration, opts: &IngestOptions) -> bool {
    files >= opts.batch_files || bytes >= BATCH_BYTES || waited >= opts.batch_time
}

/// Results a worker may have waiting to be freed: the writer drops any beyond these itself.
const SPENT_QUEUE: usize = 8;

/// Where the writer sends results it has stored: back to the worker that made them, one queue
/// each. Freed there, a report's ~300 blocks (images, frames, strings) go back on the free list
/// of the thread that allocated them; freed by the writer, each is queued for that thread to
/// collect on a later allocation, which touched every block a second time. On the
/// real-derived set the writer spent 2.7% of the run's CPU freeing and the workers 4.6%
/// collecting (`perf record`, docs/BENCHMARKS.md).
struct Spent(Vec<SyncSender<Vec<Work>>>);

impl Spent {
    /// Hand `done` back, each result to its worker; what a full or closed queue refuses is
    /// dropped here.
    fn give_back(&self, done: &mut Vec<(usize, Work)>) {
        let mut by_worker: Vec<Vec<Work>> = Vec::new();
        for (from, mut w) in done.drain(..) {
            // A file's bytes are one large block each: freed here at once, they do not wait in
            // a worker's queue (it is the many small blocks that are cheaper on their own thread).
            if let Work::Parsed {
                compressed,
                uncovered,
                ..
            } = &mut w
            {
                *compressed = Vec::new();
                *uncovered = None;
            }
            if by_worker.len() <= from {
                by_worker.resize_with(from + 1, Vec::new);
            }
            by_worker[from].push(w);
        }
        for (from, works) in by_worker.into_iter().enumerate() {
            if let (false, Some(tx)) = (works.is_empty(), self.0.get(from)) {
                let _ = tx.try_send(works);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn write_all(
    store: &mut Store,
    rx: Receiver<(usize, Vec<Work>)>,
    spent: &Spent,
    opts: &IngestOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
    dicts: &DictState,
    summary: &mut IngestSummary,
) -> Result<(), IngestError> {
    let mut writer = Writer {
        dicts,
        compressor: None,
        generation: None,
    };
    let mut pending: Vec<(usize, Work)> = Vec::with_capacity(opts.batch_files);
    let mut pending_bytes = 0usize;
    let mut batch_started = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let timeout = opts.batch_time.saturating_sub(batch_started.elapsed());
        match rx.recv_timeout(timeout.max(Duration::from_millis(1))) {
            Ok((from, chunk)) => {
                for w in chunk {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if pending.is_empty() {
                        batch_started = Instant::now();
                        pending_bytes = 0;
                    }
                    pending_bytes += w.held_bytes();
                    pending.push((from, w));
                    if batch_due(pending.len(), pending_bytes, batch_started.elapsed(), opts) {
                        flush(store, &mut pending, &mut writer, progress, summary)?;
                        spent.give_back(&mut pending);
                    }
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                flush(store, &mut pending, &mut writer, progress, summary)?;
                spent.give_back(&mut pending);
                batch_started = Instant::now();
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    flush(store, &mut pending, &mut writer, progress, summary)?;
    Ok(())
}

/// The writer's side of the dictionaries: its own compressor for the current version.
struct Writer<'a> {
    dicts: &'a DictState,
    compressor: Option<store::Compressor>,
    generation: Option<u64>,
}

impl Writer<'_> {
    /// A file the dictionary it was compressed with did not cover. If a newer version covers
    /// it, store it compressed with that one instead; else it is a sample for the next.
    fn uncovered(
        &mut self,
        bytes: &[u8],
        compressed: &mut Vec<u8>,
        dict_id: &mut Option<i64>,
    ) -> Result<(), IngestError> {
        let now = self.dicts.generation.load(Ordering::Acquire);
        if self.generation != Some(now) {
            self.generation = Some(now);
            self.compressor = self.dicts.compressor();
        }
        if let Some(c) = self.compressor.as_mut() {
            if c.dict_id() != *dict_id && c.dict_id().is_some() {
                let again = c.compress(bytes)?;
                if again.len() < compressed.len() {
                    *compressed = again;
                    *dict_id = c.dict_id();
                }
                if store::is_covered(bytes.len(), compressed.len()) {
                    return Ok(());
                }
            }
        }
        let mut builder = self
            .dicts
            .builder
            .lock()
            .map_err(|_| IngestError::Worker("dictionary state poisoned".into()))?;
        builder.offer(bytes)?;
        Ok(())
    }
}

fn flush(
    store: &mut Store,
    pending: &mut [(usize, Work)],
    writer: &mut Writer<'_>,
    progress: &dyn Progress,
    summary: &mut IngestSummary,
) -> Result<(), IngestError> {
    if pending.is_empty() {
        return Ok(());
    }
    let tx = store.begin_write()?;
    let mut batch = IngestSummary::default();
    // Read in place: the caller hands the results back to their workers to be freed.
    for (_, work) in pending.iter_mut() {
        batch.scanned += 1;
        match work {
            Work::Failed(fe) => batch.failed.push(fe.clone()),
            Work::Known { path, hash } => {
                let n = tx.add_sources_for_file(hash, path)?;
                batch.duplicates += n as u64;
            }
            Work::Parsed {
                path,
                hash,
                size,
                compressed,
                dict_id,
                uncovered,
                reports,
            } => {
                batch.bytes += *size;
                if let Some(bytes) = uncovered {
                    writer.uncovered(bytes, compressed, dict_id)?;
                }
                tx.put_file_with(hash, *size, compressed, *dict_id)?;
                for (i, (report, bucket)) in reports.iter().enumerate() {
                    match tx.insert_report(report, hash, i, path, bucket.as_ref())? {
                        InsertOutcome::New(_) => {
                            if !report.warnings.is_empty() {
                                batch.with_warnings += 1;
                            }
                            match report.kind {
                                ReportKind::Crash => batch.new += 1,
                                ReportKind::GpuEvent => {
                                    batch.non_crash += 1;
                                    batch.gpu_events += 1
                                }
                                ReportKind::Other => {
                                    batch.non_crash += 1;
                                    batch.other += 1
                                }
                            }
                        }
                        InsertOutcome::Duplicate(_) => batch.duplicates += 1,
                        InsertOutcome::Replaced(_) => {
                            batch.duplicates += 1;
                            batch.replaced += 1;
                        }
                    }
                }
            }
        }
    }
    // A new dictionary version goes in with the batch that made it due; the workers get it
    // only once it is committed, so no stored file ever names a dictionary that is not.
    let due = writer
        .dicts
        .builder
        .lock()
        .map_err(|_| IngestError::Worker("dictionary state poisoned".into()))?
        .due();
    let new_dict = match due {
        Some(content) => Some(store::Dictionary {
            id: tx.put_dictionary(&content)?,
            content: Arc::new(content),
        }),
        None => None,
    };
    tx.commit()?;
    if let Some(d) = new_dict {
        if let Ok(mut b) = writer.dicts.builder.lock() {
            b.installed(d.clone());
        }
        writer.dicts.publish(d);
    }
    // Counts are merged only after the commit, so a summary never claims uncommitted work.
    summary.scanned += batch.scanned;
    summary.new += batch.new;
    summary.duplicates += batch.duplicates;
    summary.replaced += batch.replaced;
    summary.non_crash += batch.non_crash;
    summary.gpu_events += batch.gpu_events;
    summary.other += batch.other;
    summary.with_warnings += batch.with_warnings;
    summary.bytes += batch.bytes;
    summary.failed.extend(batch.failed);
    for (_, w) in pending.iter() {
        progress.processed(Path::new(w.path()));
    }
    Ok(())
}

/// Polling watcher state for `ingest --watch`: remembers each file's size and modification
/// time so an unchanged file is not read again. Polling (rather than FSEvents/inotify) works
/// the same on every platform and on network folders, and a crash folder changes rarely.
///
/// A file is handed over only once it has stopped changing: the same size and modification
/// time on two polls in a row and, for `.ips`, a body that is complete JSON. ReportCrash and
/// device syncs write reports in pieces; ingesting the first 20 KB of one stored a truncated
/// report without its images, and the complete file then counted as its duplicate. A file that
/// stays incomplete for [`WATCH_GIVE_UP`] is handed over anyway, to be reported as failing.
#[derive(Default)]
pub struct WatchState {
    seen: HashMap<PathBuf, Watched>,
}

/// How long an `.ips` that no longer changes may stay incomplete before it is ingested anyway
/// (and reported as a failure).
pub const WATCH_GIVE_UP: Duration = Duration::from_secs(30);

/// What the watcher knows of one file.
struct Watched {
    /// Size and modification time at the last poll.
    key: (u64, Option<SystemTime>),
    /// When the file last changed (or was first seen).
    since: Instant,
    /// The key it had when it was handed over, if it was.
    handed: Option<(u64, Option<SystemTime>)>,
}

impl WatchState {
    /// Files under `paths` that are new or changed since the last call and have stopped
    /// changing (see the type's doc).
    pub fn changed_files(&mut self, paths: &[PathBuf]) -> Vec<PathBuf> {
        let out = std::cell::RefCell::new(Vec::new());
        let seen = std::cell::RefCell::new(&mut self.seen);
        walk(paths, &|item| {
            let Ok(p) = item else { return true };
            let Ok(m) = std::fs::metadata(&p) else {
                return true;
            };
            let key = (m.len(), m.modified().ok());
            let mut seen = seen.borrow_mut();
            let Some(w) = seen.get_mut(&p) else {
                // First sighting: wait one poll to see whether it is still being written.
                seen.insert(
                    p,
                    Watched {
                        key,
                        since: Instant::now(),
                        handed: None,
                    },
                );
                return true;
            };
            if w.key != key {
                w.key = key;
                w.since = Instant::now();
                return true;
            }
            if w.handed == Some(key) {
                return true;
            }
            if looks_complete(&p) || w.since.elapsed() >= WATCH_GIVE_UP {
                w.handed = Some(key);
                out.borrow_mut().push(p);
            }
            true
        });
        out.into_inner()
    }
}

/// Whether a file looks completely written: an `.ips` must be a JSON header line followed by a
/// complete JSON body (or one complete JSON object); other files cannot tell.
fn looks_complete(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !(name.ends_with(".ips") || name.ends_with(".ips.synced")) {
        return true;
    }
    let Ok(bytes) = std::fs::read(path) else {
        // Unreadable: ingest reports why.
        return true;
    };
    let json = |b: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok();
    match bytes.iter().position(|&b| b == b'\n') {
        Some(i) if !bytes[i + 1..].iter().all(u8::is_ascii_whitespace) => {
            json(&bytes[..i]) && json(&bytes[i + 1..])
        }
        _ => json(&bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_due_by_files_by_bytes_or_by_time() {
        let opts = IngestOptions::default();
        let quick = Duration::from_millis(1);
        assert!(!batch_due(1, 1024, quick, &opts));
        assert!(batch_due(opts.batch_files, 0, quick, &opts));
        // Regression: a few huge results commit on their own, not after 64 of them.
        assert!(batch_due(2, BATCH_BYTES, quick, &opts));
        assert!(batch_due(1, 0, opts.batch_time, &opts));
    }

    #[test]
    fn only_a_file_the_dictionary_builder_could_take_carries_its_bytes_to_the_writer() {
        // Incompressible text in an otherwise valid report: never covered by a dictionary.
        let report = |pad: usize| {
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            let noise: String = (0..pad)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'a' + (x % 26) as u8)
                })
                .collect();
            format!(
                "{{\"bug_type\":\"309\",\"incident_id\":\"X-1\"}}\n{{\"incident\":\"X-1\",\
                 \"procName\":\"x\",\"vmSummary\":\"{noise}\",\"threads\":[{{\"triggered\":true,\
                 \"frames\":[{{\"imageOffset\":1,\"imageIndex\":0}}]}}],\"usedImages\":[{{\"name\":\"a\"}}]}}"
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let carried = |name: &str, pad: usize| {
            let path = dir.path().join(name);
            std::fs::write(&path, report(pad)).unwrap();
            match process_file(&path, &mut Vec::new(), None, None, None, None) {
                Work::Parsed { uncovered, .. } => uncovered.map(|u| u.len()),
                _ => panic!("not parsed"),
            }
        };
        assert!(carried("small.ips", 10_000).is_some());
        // Regression: a file too big to be a dictionary sample went to the writer twice over
        // (compressed, and its bytes), and the queues held many such.
        assert_eq!(
            carried("big.ips", store::DictionaryBuilder::MAX_PENDING + 1),
            None
        );
    }

    #[test]
    fn stored_results_go_back_to_the_worker_that_made_them_and_a_full_queue_refuses() {
        let (a_tx, a_rx) = sync_channel::<Vec<Work>>(1);
        let (b_tx, b_rx) = sync_channel::<Vec<Work>>(1);
        let spent = Spent(vec![a_tx, b_tx]);
        let known = |p: &str| Work::Known {
            path: p.into(),
            hash: "h".into(),
        };
        let mut done = vec![(1, known("b1")), (0, known("a1")), (1, known("b2"))];
        spent.give_back(&mut done);
        assert!(done.is_empty(), "what was handed back is no longer held");
        let paths = |v: Vec<Work>| v.iter().map(|w| w.path().to_string()).collect::<Vec<_>>();
        assert_eq!(paths(a_rx.try_recv().unwrap()), ["a1"]);
        // A worker index with no queue (there is none) and a full queue: dropped here, no error.
        let mut more = vec![(0, known("a2")), (7, known("x"))];
        spent.give_back(&mut more);
        let mut again = vec![(0, known("a3"))];
        spent.give_back(&mut again);
        assert!(again.is_empty());
        assert_eq!(paths(a_rx.try_recv().unwrap()), ["a2"]);
        assert!(a_rx.try_recv().is_err(), "the full queue refused a3");
        assert_eq!(paths(b_rx.try_recv().unwrap()), ["b1", "b2"]);
    }

    #[test]
    fn what_the_worker_frees_leaves_every_stored_value_as_it_was() {
        use crate::crash::{Frame, SourceFormat, Thread};
        let frames = |n: usize| -> Vec<Frame> {
            (0..n)
                .map(|i| Frame {
                    image_index: Some(0),
                    image_offset: Some(i as u64),
                    symbol: Some(format!("f{i}")),
                    ..Frame::default()
                })
                .collect()
        };
        let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Ips);
        r.threads = (0..3)
            .map(|i| Thread {
                index: i,
                crashed: i == 2,
                frames: frames(5 + i),
                ..Thread::default()
            })
            .collect();
        r.crashed_thread = Some(2);
        r.last_exception_backtrace = frames(2);
        let before = r.clone();
        keep_what_the_store_writes(&mut r);
        // What the writer reads (store::WriteTx::insert_report): the crashed thread, the
        // exception backtrace, the thread count, the completeness of a copy.
        assert_eq!(r.crashed(), before.crashed());
        assert_eq!(r.last_exception_backtrace, before.last_exception_backtrace);
        assert_eq!(r.threads.len(), 3);
        assert_eq!(
            store::Completeness::of(&r, 10),
            store::Completeness::of(&before, 10)
        );
        assert!(r.threads[0].frames.is_empty() && r.threads[1].frames.is_empty());
    }

    #[test]
    fn a_walk_calls_between_at_every_entry_it_does_not_send_and_stops_when_told() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b/deep/er");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        for i in 0..3 {
            std::fs::write(a.join(format!("{i}.ips")), "x").unwrap();
        }
        for i in 0..20 {
            std::fs::write(b.join(format!("{i}.md")), "x").unwrap();
        }
        let roots = [dir.path().to_path_buf()];
        // (files sent, calls of `between`), `between` answering false from its `stop_at`th call.
        let walk_counting = |stop_at: usize| {
            let (sent, between) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
            walk_with(
                &roots,
                &|_| {
                    sent.set(sent.get() + 1);
                    true
                },
                &|| {
                    between.set(between.get() + 1);
                    between.get() < stop_at
                },
            );
            (sent.get(), between.get())
        };
        // 3 reports sent; the 20 other files and the 5 folders (root included) were not.
        assert_eq!(walk_counting(usize::MAX), (3, 25));
        // Told to stop in the middle of the tree of other files: the walk ends there.
        let (_, between) = walk_counting(5);
        assert_eq!(between, 5);
    }

    #[test]
    fn folder_filter() {
        assert!(wanted_in_folder(Path::new(
            "/x/Python-2026-01-01-101010.ips"
        )));
        assert!(wanted_in_folder(Path::new("/x/a.crash")));
        assert!(wanted_in_folder(Path::new("/x/JetsamEvent.ips.synced")));
        assert!(!wanted_in_folder(Path::new("/x/.DS_Store")));
        assert!(!wanted_in_folder(Path::new("/x/notes.md")));
    }

    #[test]
    fn content_keys_are_lowercase_blake3_hex() {
        // BLAKE3 of the empty input (the reference test vector).
        assert_eq!(
            store::content_key(b""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}
