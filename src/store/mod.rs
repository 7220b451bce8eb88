//! Everything SQL: connection setup, the migrations runner and every query.
//!
//! The database is one SQLite file in WAL mode with a busy timeout, so several `agx-triage`
//! processes can read and write at once. Every write runs in an `IMMEDIATE` transaction: a
//! writer takes the write lock before it reads what it is about to change, so two ingests of
//! overlapping folders never both insert the same report and never hit "database is locked"
//! on a read-to-write upgrade. A kill -9 at any point leaves the last committed state.
//!
//! Opening rules (docs/GUIDE.md, "The database"):
//! - An agx-triage database is marked with `PRAGMA application_id` ([`APPLICATION_ID`]). Any
//!   other non-empty SQLite file (or a file that is not SQLite) is refused as
//!   [`StoreError::NotOurs`] before anything is written to it: no WAL switch, no migration, so it
//!   stays byte-for-byte unchanged. A database made before the mark (its tables are ours) is
//!   adopted and marked on its next write.
//! - Read commands ([`Create::Nothing`]) never create anything: a missing file is
//!   [`StoreError::Missing`]. A database in a folder this user cannot write is still read.
//! - Write commands create the file ([`Create::File`]); the parent folders only for the
//!   default database ([`Create::FileAndFolders`]).
//! - Two processes creating the schema of a new file at once both succeed: the setup waits
//!   (up to [`BUSY_TIMEOUT`]) where SQLite answers "busy" without calling the busy handler.
//!
//! No other module writes SQL; this one never prints.

mod buckets;
mod checkpoint;
mod correlate;
pub(crate) mod db;
mod fixes;
mod hosts;
mod merge;
mod migrations;
mod pg;
mod reports;
mod rounds;

pub use buckets::*;
pub use correlate::*;
pub use fixes::*;
pub use hosts::*;
pub use merge::*;
pub use pg::{is_url as is_server_url, redact as redact_url};
pub use reports::*;
pub use rounds::*;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use db::{Conn, DbError};

/// `PRAGMA application_id` of an agx-triage database: "AGXT" in ASCII.
pub const APPLICATION_ID: i32 = 0x4147_5854;

/// What opening may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Nothing: the database must exist (read commands).
    Nothing,
    /// The file, in a folder that exists (write commands with an explicit `--db`).
    File,
    /// The file and its missing parent folders (write commands on the default database).
    FileAndFolders,
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite could not open (or set up) the file.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        #[source]
        source: rusqlite::Error,
    },
    /// The default database's folder could not be made.
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The file system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A read command named a database that does not exist (read commands never create one).
    #[error("no database at {0} (read commands never create one; `agx-triage ingest` or `round import` does)")]
    Missing(PathBuf),
    /// A database path whose folder does not exist (only the default one's folder is made).
    #[error("the folder of {0} does not exist (it is created only for the default database)")]
    NoFolder(PathBuf),
    /// Another program's file: not left in any other state than it was found.
    #[error("{path} is not an agx-triage database ({why}); refusing to touch it")]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What gave it away, e.g. another `application_id`.
        why: String,
    },
    /// An agx-triage database created but never written (a read command has nothing to read).
    #[error("database {0} has no agx-triage data yet")]
    Empty(PathBuf),
    /// A schema migration failed; the transaction rolled back and the database is unchanged.
    #[error("database schema migration failed: {0}")]
    Migrate(String),
    /// The database was written by a newer agx-triage.
    #[error("database schema version {found} is newer than this agx-triage understands ({known}); upgrade agx-triage")]
    TooNew {
        /// The database's schema version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The PostgreSQL server could not be reached or refused the login.
    #[error("cannot connect to {url}: {source}")]
    Server {
        /// The server's URL, password removed.
        url: String,
        /// The client's reason.
        #[source]
        source: postgres::Error,
    },
    /// Any other PostgreSQL error.
    #[error("database error: {0}")]
    Pg(#[source] postgres::Error),
    /// zstd failed on a stored original (compressing at ingest or reading back).
    #[error("cannot compress or decompress a stored file: {0}")]
    Compression(#[source] std::io::Error),
    /// Stored data does not hold together (e.g. a dictionary whose bytes do not match its
    /// hash); the message says what.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// No report has this id.
    #[error("no report with id {0}")]
    NoSuchReport(i64),
    /// A write that would contradict what is stored; the message says what and how to resolve it.
    #[error("{0}")]
    Conflict(String),
    /// A round with this number is stored with other content (use `--replace` to overwrite).
    #[error("round {0} is already stored with different content")]
    RoundExists(i64),
}

impl StoreError {
    /// A short stable name for logs.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Open { .. } => "open",
            StoreError::CreateDir { .. } => "create-dir",
            StoreError::Missing(_) => "missing",
            StoreError::NoFolder(_) => "no-folder",
            StoreError::NotOurs { .. } => "not-ours",
            StoreError::Empty(_) => "empty",
            StoreError::Migrate(_) => "migrate",
            StoreError::TooNew { .. } => "too-new",
            StoreError::Sql(_) => "sql",
            StoreError::Server { .. } => "server",
            StoreError::Pg(_) => "sql",
            StoreError::Compression(_) => "compression",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::NoSuchReport(_) => "no-such-report",
            StoreError::Conflict(_) => "conflict",
            StoreError::RoundExists(_) => "round-exists",
        }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> StoreError {
        match e {
            DbError::Sqlite(e) => StoreError::Sql(e),
            DbError::Pg(e) => StoreError::Pg(e),
            DbError::NoRows => StoreError::Sql(rusqlite::Error::QueryReturnedNoRows),
            DbError::Type(idx, what) => {
                StoreError::Corrupt(format!("column {idx} holds {what}, not the type expected"))
            }
        }
    }
}

/// How long a writer waits for another writer before giving up. Ingests commit in small
/// batches, so real waits are short; the generous limit only guards against a stuck peer.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// An open database.
pub struct Store {
    /// Checkpoints from another thread while [`Store::begin_bulk_writes`] is in effect. First,
    /// so that it is dropped (its thread stopped, its connection closed) before `conn`, whose
    /// close, the last, checkpoints and removes the WAL.
    checkpointer: Option<checkpoint::Checkpointer>,
    conn: Conn,
    path: PathBuf,
    /// Row ids the writer has met in committed transactions (see [`reports::IdCache`]).
    ids: reports::IdCache,
    /// Dictionaries read so far (see [`reports::DictCache`]).
    dicts: reports::DictCache,
    /// The machine this process runs on: rounds saved without a host and rounds migrated
    /// from before hosts existed get it (see [`Store::open_as`]).
    local: crate::host::LocalHost,
    /// The host id new reports are recorded as ingested by, once
    /// [`Store::ingest_as_local_host`] has stored this machine.
    ingest_host: Option<i64>,
}

impl Store {
    /// A store over an open connection, with nothing cached yet.
    pub(crate) fn new(conn: Conn, path: &Path, local: crate::host::LocalHost) -> Store {
        Store {
            checkpointer: None,
            conn,
            path: path.to_path_buf(),
            ids: Default::default(),
            dicts: Default::default(),
            local,
            ingest_host: None,
        }
    }

    /// Open (creating it and its folders if needed) the database at `path` and bring its
    /// schema up to date. Same as [`Store::open_with`] with [`Create::FileAndFolders`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, Create::FileAndFolders)
    }

    /// Open the database at `path` under the opening rules (module doc): refuse files that are
    /// not agx-triage databases, create only what `create` allows, bring the schema up to date.
    /// With [`Create::Nothing`] the database is opened for reading only, unless its schema is
    /// older and must be upgraded first.
    ///
    /// A `postgres://` or `postgresql://` URL as `path` opens that PostgreSQL database instead
    /// (same rules; see `pg`).
    pub fn open_with(path: &Path, create: Create) -> Result<Store, StoreError> {
        Store::open_as(
            path,
            create,
            crate::host::LocalHost::known(crate::host::HostInfo::named(crate::host::UNKNOWN_NAME)),
        )
    }

    /// [`Store::open_with`] on the machine `local` (`crate::host::detect`): rounds saved
    /// without a host, and rounds stored before hosts existed (migration 10), get it.
    pub fn open_as(
        path: &Path,
        create: Create,
        local: crate::host::LocalHost,
    ) -> Result<Store, StoreError> {
        if pg::is_url(path) {
            let conn = pg::open(&path.to_string_lossy(), create)?;
            return Ok(Store::new(conn, path, local.clone()));
        }
        let exists = path.exists();
        if !exists {
            if create == Create::Nothing {
                return Err(StoreError::Missing(path.to_path_buf()));
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.exists() {
                    if create == Create::File {
                        return Err(StoreError::NoFolder(path.to_path_buf()));
                    }
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
            }
        }
        if create == Create::Nothing {
            let conn = open_for_reading(path)?;
            match identify(&conn, path)? {
                Kind::Ours { version } if version == migrations::SCHEMA_VERSION => {
                    return Ok(Store::new(Conn::Sqlite(conn), path, local.clone()));
                }
                Kind::Ours { .. } => {} // older: upgrade below, with a writable connection
                Kind::Empty => return Err(StoreError::Empty(path.to_path_buf())),
            }
        }
        let conn = open_connection(path, false, create != Create::Nothing)?;
        if let Kind::Empty = identify(&conn, path)? {
            if create == Create::Nothing {
                return Err(StoreError::Empty(path.to_path_buf()));
            }
        }
        let wrap = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        // WAL lets readers run beside the one writer; NORMAL sync is durable across process
        // crashes (kill -9), which is what we promise; a power cut may lose the last commit.
        // Switching to WAL needs a moment alone with the file: another process setting up the
        // same new file answers "busy" at once, without the busy handler, hence the retry.
        retry_busy(|| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")
        })
        .map_err(wrap)?;
        // A writing connection's statement journals (each INSERT ... ON CONFLICT and each
        // statement under foreign keys in a multi-statement transaction opens one) live in
        // memory, not in a temporary file: ingest wrote half its pages to those files (8,000
        // reports: 158,000 pwrite64 calls with the default, 83,000 with MEMORY).
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(wrap)?;
        // Checkpoint after 8,192 WAL pages (32 MB with 4 KB pages) rather than 1,000: each
        // checkpoint costs two fsyncs in the one writer thread (~4 ms each here); an ingest of
        // 8,000 reports made 90 of them with the default, 17 with this. The WAL is removed on
        // close as before, and commits stay as durable (docs/BENCHMARKS.md).
        conn.pragma_update(None, "wal_autocheckpoint", checkpoint::AUTOCHECKPOINT_PAGES)
            .map_err(wrap)?;
        // A WAL that grew past this (a long ingest while another connection kept it from
        // being restarted) is cut back to it when it restarts, instead of keeping its size.
        conn.pragma_update(None, "journal_size_limit", checkpoint::WAL_SIZE_LIMIT)
            .map_err(wrap)?;
        migrations::migrate(&conn, path, &local)?;
        // Room for every statement of an ingest transaction and the queries beside it.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Store::new(Conn::Sqlite(conn), path, local.clone()))
    }

    /// Open an existing database for reading only (no migration). Used by ingest workers to
    /// skip files that are already stored.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if pg::is_url(path) {
            return Store::open_with(path, Create::Nothing);
        }
        let conn = open_connection(path, true, false)?;
        Ok(Store::new(
            Conn::Sqlite(conn),
            path,
            crate::host::LocalHost::known(crate::host::HostInfo::named(crate::host::UNKNOWN_NAME)),
        ))
    }

    /// Where this database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?),
            Conn::Pg(_) => pg::schema_version(&self.conn),
        }
    }

    /// Is this database on a PostgreSQL server (rather than an SQLite file)?
    pub fn is_server(&self) -> bool {
        self.conn.is_postgres()
    }

    /// `PRAGMA integrity_check`: `"ok"` for a healthy database. A PostgreSQL server keeps its
    /// own consistency; its answer is always `"ok"`.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?),
            Conn::Pg(_) => Ok("ok".into()),
        }
    }

    /// Many write transactions follow (an ingest): until [`Store::end_bulk_writes`], a thread
    /// of its own checkpoints the WAL after commits, so the writer's commits rarely have to
    /// (see `checkpoint`). Nothing changes on PostgreSQL, or when the thread cannot start.
    pub fn begin_bulk_writes(&mut self) {
        let Conn::Sqlite(conn) = &self.conn else {
            return;
        };
        if self.checkpointer.is_some() {
            return;
        }
        self.checkpointer = checkpoint::Checkpointer::start(&self.path).ok();
        if self.checkpointer.is_some() {
            conn.wal_hook(Some(checkpoint::writer_hook));
        }
    }

    /// The end of [`Store::begin_bulk_writes`]: stop the thread after its current checkpoint,
    /// and the writer checkpoints as before.
    pub fn end_bulk_writes(&mut self) -> Result<(), StoreError> {
        if self.checkpointer.take().is_none() {
            return Ok(());
        }
        if let Conn::Sqlite(conn) = &self.conn {
            // Setting it again puts SQLite's own hook back in place of ours.
            conn.pragma_update(None, "wal_autocheckpoint", checkpoint::AUTOCHECKPOINT_PAGES)?;
        }
        Ok(())
    }

    /// The SQLite connection of a store known to be one (tests of SQLite specifics).
    #[cfg(test)]
    pub(crate) fn sqlite_conn(&self) -> &Connection {
        self.conn.sqlite().unwrap()
    }

    pub(crate) fn conn(&self) -> &Conn {
        &self.conn
    }
}

fn open_connection(path: &Path, read_only: bool, create: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else if create {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let wrap = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(wrap)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(wrap)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(wrap)?;
    Ok(conn)
}

/// A read-only connection that works in a folder this user cannot write. SQLite needs the WAL
/// index (`-shm`) beside a WAL database to read it; when the folder is read-only and the last
/// writer removed it on a clean close, the database file holds every commit (no `-wal` either),
/// so it is opened as immutable.
fn open_for_reading(path: &Path) -> Result<Connection, StoreError> {
    let conn = open_connection(path, true, false)?;
    let probe = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
    match probe {
        Err(e) if is_cant_open(&e) && !wal_file(path).exists() => open_immutable(path),
        _ => Ok(conn),
    }
}

/// Open `path` read-only as a file nobody writes (`immutable=1`): SQLite then makes no `-shm`
/// or `-wal` beside it and takes no lock. Only for a database with no `-wal` (no connection
/// has it open in WAL mode, which every agx-triage database uses, so its main file is whole).
pub(super) fn open_immutable(path: &Path) -> Result<Connection, StoreError> {
    let mut uri = std::ffi::OsString::from("file:");
    uri.push(uri_path(path));
    uri.push("?immutable=1");
    Connection::open_with_flags(
        std::path::Path::new(&uri),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })
}

/// The `-shm` file SQLite keeps beside a database in WAL mode.
pub(super) fn shm_file(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_os_string();
    p.push("-shm");
    PathBuf::from(p)
}

/// The first few of a database's tables, for "not ours" messages.
pub(super) fn some_tables(tables: &[String]) -> String {
    tables
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_cant_open(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
    )
}

pub(super) fn wal_file(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_os_string();
    p.push("-wal");
    PathBuf::from(p)
}

/// `path` escaped for a `file:` URI (`%`, `?` and `#` would end or change it).
fn uri_path(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for c in abs.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Run `f` again while SQLite answers busy or locked, up to [`BUSY_TIMEOUT`].
pub(crate) fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match f() {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// What a file holds, as far as opening it is concerned.
enum Kind {
    /// Nothing yet: a new (or 0-byte) file.
    Empty,
    /// An agx-triage database at this schema version.
    Ours { version: i64 },
}

/// Tell an agx-triage database from anything else, reading only (nothing is written to a file
/// that turns out not to be ours).
fn identify(conn: &Connection, path: &Path) -> Result<Kind, StoreError> {
    let not_ours = |why: String| StoreError::NotOurs {
        path: path.to_path_buf(),
        why,
    };
    // One read transaction, so the three reads see one state: another process may be creating
    // the schema of this new file right now (seen apart, its tables could show up without its
    // mark).
    let header = retry_busy(|| {
        conn.execute_batch("BEGIN")?;
        let read = (|| {
            let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let mut stmt = conn.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )?;
            let tables = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((app, version, tables))
        })();
        // Ending a read transaction cannot lose anything; its error is the read's.
        let _ = conn.execute_batch("COMMIT");
        read
    });
    let (app, version, tables) = match header {
        Ok(h) => h,
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            return Err(not_ours("not an SQLite file".into()))
        }
        Err(e) => {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    if app == APPLICATION_ID {
        return Ok(Kind::Ours { version });
    }
    if app != 0 {
        return Err(not_ours(format!("its application_id is {app:#x}")));
    }
    if tables.is_empty() && version == 0 {
        return Ok(Kind::Empty);
    }
    // Made before databases were marked: adopt it when it has our core tables.
    let ours = ["reports", "files", "sources"]
        .iter()
        .all(|t| tables.iter().any(|n| n == t));
    if ours && version >= 1 {
        return Ok(Kind::Ours { version });
    }
    Err(not_ours(format!(
        "it holds other tables ({})",
        some_tables(&tables)
    )))
}

/// The platform's default database path (`~/.local/share/agx-triage/agx-triage.db` on Linux,
/// `~/Library/Application Support/agx-triage/agx-triage.db` on macOS).
pub fn default_db_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "agx-triage").map(|d| d.data_dir().join("agx-triage.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression (issue 17): with SQLite's defaults the ingest writer wrote its statement
    // journals to a temporary file (half its page writes) and checkpointed every 1,000 WAL
    // pages (two fsyncs each, 90 for 8,000 reports); docs/BENCHMARKS.md has the counts.
    #[test]
    fn writing_connection_keeps_temp_in_memory_and_checkpoints_less_often() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("x.db")).unwrap();
        let Conn::Sqlite(c) = s.conn() else {
            panic!("a path opens SQLite")
        };
        let pragma = |name: &str| -> i64 {
            c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(pragma("temp_store"), 2, "MEMORY");
        assert_eq!(pragma("wal_autocheckpoint"), 8192);
    }

    #[test]
    fn opens_and_migrates_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.db");
        let s = Store::open(&p).unwrap();
        let v = s.schema_version().unwrap();
        assert!(v >= 1);
        drop(s);
        let s = Store::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), v);
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }
}
