//! The SQL `merge` needs beyond the store's ordinary reads and writes (docs/FLEET.md):
//! opening another machine's database as a read-only source, listing its reports by identity,
//! and adding sources to a stored report.
//!
//! The source is only ever read: a database of the current schema through a read-only
//! connection; one of an older schema is first copied (`VACUUM INTO`, which reads) and the
//! copy migrated, so the other machine's file stays byte-for-byte as it was. Everything is
//! written to the target through store functions, so the target can be any backend.

use std::path::{Path, PathBuf};

use super::db::{params, Conn, Optional as _};

use super::{
    identify, migrations, open_for_reading, open_immutable, shm_file, wal_file, Create, Kind,
    Store, StoreError,
};
use crate::host::HostInfo;

impl super::WriteTx<'_> {
    /// Record `paths` as sources of stored report `report_id` (copies of it seen elsewhere);
    /// paths it has already are left alone. Returns how many were new.
    pub fn add_report_sources(
        &self,
        report_id: i64,
        file_hash: &str,
        paths: &[String],
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for p in paths {
            n += self.tx.execute(
                "INSERT INTO sources (report_id, path, file_hash, first_seen)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![report_id, p, file_hash, self.now],
            )?;
        }
        Ok(n)
    }

    /// Set the host (by name) that ingested report `id`, where none is recorded.
    pub fn set_report_host(&self, id: i64, host: &str) -> Result<(), StoreError> {
        let host_id = super::hosts::ensure_host(self.tx, &HostInfo::named(host))?;
        self.tx.execute(
            "UPDATE reports SET host_id = ?2 WHERE id = ?1 AND host_id IS NULL",
            params![id, host_id],
        )?;
        Ok(())
    }
}

/// A report of a source database, as merge walks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReportKey {
    /// Its row id in the source.
    pub id: i64,
    /// Its identity (upper-case incident id, or `sha256:<file key>#<index>`).
    pub identity: String,
    /// The key of its stored original.
    pub file_hash: String,
    /// Which report of that file it is.
    pub file_index: usize,
}

/// A database opened as a merge source.
pub struct MergeSource {
    /// The source, read-only (or a migrated copy of it).
    pub store: Store,
    /// The schema version the file had (older ones are read through a migrated copy).
    pub found_version: i64,
    /// The copy's folder, removed when this is dropped.
    _copy: Option<tempfile::TempDir>,
}

impl MergeSource {
    /// Whether the file is from before rounds named their host (schema 9 and older), so that
    /// `merge --host` names the machine its rounds ran on.
    pub fn needs_host(&self) -> bool {
        self.found_version < migrations::HOSTS_AFTER as i64
    }
}

impl Store {
    /// Open `path` as a merge source without ever writing to it. A database older than
    /// migration 10 names no host for its rounds: they get `old_rounds_host`, and without it
    /// such a database with rounds is refused ([`StoreError::Conflict`], saying to name one).
    pub fn open_merge_source(
        path: &Path,
        old_rounds_host: Option<&str>,
    ) -> Result<MergeSource, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        // Reading a database normally leaves `-shm` and `-wal` files beside it, and another
        // machine's file must stay exactly as it was: with no `-wal` (nobody has it open),
        // read it as immutable, which creates nothing. With one, its side files exist already
        // and the database is read as usual (a live writer's last commits included).
        let quiet = !wal_file(path).exists() && !shm_file(path).exists();
        let conn = if quiet {
            open_immutable(path)?
        } else {
            open_for_reading(path)?
        };
        let version = match identify(&conn, path)? {
            Kind::Ours { version } => version,
            Kind::Empty => return Err(StoreError::Empty(path.to_path_buf())),
        };
        if version > migrations::SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found: version,
                known: migrations::SCHEMA_VERSION,
            });
        }
        if version == migrations::SCHEMA_VERSION {
            return Ok(MergeSource {
                store: Store::new(
                    Conn::Sqlite(conn),
                    path,
                    crate::host::LocalHost::known(HostInfo::named(crate::host::UNKNOWN_NAME)),
                ),
                found_version: version,
                _copy: None,
            });
        }
        let host = if version < migrations::HOSTS_AFTER as i64 {
            let rounds: i64 = conn.query_row("SELECT count(*) FROM rounds", [], |r| r.get(0))?;
            match old_rounds_host {
                Some(h) => HostInfo::named(h),
                None if rounds == 0 => HostInfo::named(crate::host::UNKNOWN_NAME),
                None => {
                    return Err(StoreError::Conflict(format!(
                        "{} was written before rounds recorded their host, so its {rounds} \
                         round(s) name no machine; say which with --host NAME",
                        path.display()
                    )))
                }
            }
        } else {
            HostInfo::named(crate::host::UNKNOWN_NAME)
        };
        let dir = tempfile::tempdir().map_err(|e| StoreError::Migrate(e.to_string()))?;
        let copy: PathBuf = dir.path().join("source.db");
        conn.execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
        drop(conn);
        let store = Store::open_as(&copy, Create::Nothing, crate::host::LocalHost::known(host))?;
        Ok(MergeSource {
            store,
            found_version: version,
            _copy: Some(dir),
        })
    }

    /// Every report, by id: what merge needs to find it in the target and to copy it.
    pub fn merge_report_keys(&self) -> Result<Vec<MergeReportKey>, StoreError> {
        Ok(self.conn().query_map(
            "SELECT id, identity, file_hash, file_index FROM reports ORDER BY id",
            params![],
            |r| {
                Ok(MergeReportKey {
                    id: r.get(0)?,
                    identity: r.get(1)?,
                    file_hash: r.get(2)?,
                    file_index: r.get::<i64>(3)?.max(0) as usize,
                })
            },
        )?)
    }

    /// The paths stored report `id` was seen at.
    pub fn report_source_paths(&self, id: i64) -> Result<Vec<String>, StoreError> {
        Ok(self.conn().query_map(
            "SELECT path FROM sources WHERE report_id = ?1 ORDER BY path",
            params![id],
            |r| r.get(0),
        )?)
    }

    /// The id of the stored report with exactly this identity.
    pub fn report_id_by_identity(&self, identity: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM reports WHERE identity = ?1",
                params![identity],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Record `paths` as further sources of stored report `report_id` and `host` (a name) as
    /// the host that ingested it where none is recorded: what merge adds to a report this
    /// database has already. One transaction; returns how many paths were new.
    pub fn add_report_sources(
        &mut self,
        report_id: i64,
        file_hash: &str,
        paths: &[String],
        host: Option<&str>,
    ) -> Result<usize, StoreError> {
        let tx = self.begin_write()?;
        let n = tx.add_report_sources(report_id, file_hash, paths)?;
        if let Some(h) = host {
            tx.set_report_host(report_id, h)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// The name of the host that ingested stored report `id`, if known.
    pub fn report_host(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT h.name FROM reports r JOIN hosts h ON h.id = r.host_id WHERE r.id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Store a host as another database describes it (found by identity, then name; see
    /// `ensure_host`). Returns the name it has here and whether it was new.
    pub fn merge_host(&mut self, h: &super::HostRow) -> Result<(String, bool), StoreError> {
        // Another file's data: a name this tool would refuse anywhere else (`,` or `:`, which
        // selectors cannot express; control characters) is a conflict, not stored.
        match crate::host::check_name(&h.name) {
            Ok(n) if n == h.name => {}
            Ok(_) => {
                return Err(StoreError::Conflict(format!(
                    "host name `{}` has surrounding blanks; its rounds are not merged",
                    h.name.escape_debug()
                )))
            }
            Err(why) => {
                return Err(StoreError::Conflict(format!(
                    "{why}; its rounds are not merged"
                )))
            }
        }
        let tx = self.begin_write()?;
        let before: i64 = tx
            .tx
            .query_row("SELECT count(*) FROM hosts", params![], |r| r.get(0))?;
        let info = HostInfo {
            name: h.name.clone(),
            machine_id: h.machine_id.clone(),
            hardware_model: h.hardware_model.clone(),
            os: h.os.clone(),
            name_chosen: false,
        };
        let id =
            super::hosts::ensure_host_as(tx.tx, &info, super::hosts::Describe::OnlyWhatIsMissing)?;
        let (name, after): (String, i64) = tx.tx.query_row(
            "SELECT name, (SELECT count(*) FROM hosts) FROM hosts WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.commit()?;
        Ok((name, after > before))
    }

    /// Whether this is the same database file as `other` (merging a database into itself).
    pub fn is_same_file(&self, other: &Path) -> bool {
        same_file(self.path(), other)
    }
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
