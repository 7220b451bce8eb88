//! Everything SQL: connection setup, the migrations runner and every query.
//!
//! The database is one SQLite file in WAL mode with a busy timeout, so several `agx-triage`
//! processes can read and write at once. Every write runs in an `IMMEDIATE` transaction: a
//! writer takes the write lock before it reads what it is about to change, so two ingests of
//! overlapping folders never both insert the same report and never hit "database is locked"
//! on a read-to-write upgrade. A kill -9 at any point leaves the last committed state.
//!
//! No other module writes SQL; this one never prints.

mod buckets;
mod fixes;
mod migrations;
mod reports;
mod rounds;

pub use buckets::*;
pub use fixes::*;
pub use reports::*;
pub use rounds::*;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database schema migration failed: {0}")]
    Migrate(String),
    #[error("database schema version {found} is newer than this agx-triage understands ({known}); upgrade agx-triage")]
    TooNew { found: i64, known: i64 },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot compress or decompress a stored file: {0}")]
    Compression(#[source] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("no report with id {0}")]
    NoSuchReport(i64),
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    /// A short stable name for logs.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Open { .. } => "open",
            StoreError::CreateDir { .. } => "create-dir",
            StoreError::Migrate(_) => "migrate",
            StoreError::TooNew { .. } => "too-new",
            StoreError::Sql(_) => "sql",
            StoreError::Compression(_) => "compression",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::NoSuchReport(_) => "no-such-report",
            StoreError::Conflict(_) => "conflict",
        }
    }
}

/// How long a writer waits for another writer before giving up. Ingests commit in small
/// batches, so real waits are short; the generous limit only guards against a stuck peer.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Row ids the writer has met in committed transactions (see [`reports::IdCache`]).
    ids: reports::IdCache,
    /// Dictionaries read so far (see [`reports::DictCache`]).
    dicts: reports::DictCache,
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
        }
        let conn = open_connection(path, false)?;
        migrations::migrate(&conn)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            ids: Default::default(),
            dicts: Default::default(),
        })
    }

    /// Open an existing database for reading only (no migration). Used by ingest workers to
    /// skip files that are already stored.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let conn = open_connection(path, true)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            ids: Default::default(),
            dicts: Default::default(),
        })
    }

    /// Where this database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// `PRAGMA integrity_check`: `"ok"` for a healthy database.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let wrap = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(wrap)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(wrap)?;
    if !read_only {
        // WAL lets readers run beside the one writer; NORMAL sync is durable across process
        // crashes (kill -9), which is what we promise; a power cut may lose the last commit.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(wrap)?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(wrap)?;
    Ok(conn)
}

/// The platform's default database path (`~/.local/share/agx-triage/agx-triage.db` on Linux,
/// `~/Library/Application Support/agx-triage/agx-triage.db` on macOS).
pub fn default_db_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "agx-triage").map(|d| d.data_dir().join("agx-triage.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
