//! The migrations runner: numbered `.sql` files from `migrations/`, embedded in the binary
//! and applied in order on open, tracked in `PRAGMA user_version`.
//!
//! History (keep in step with `docs/DATA_MODEL.md`):
//! - 1: reports, sources, files, images, report_images, frames.
//! - 2: signature, signature_version, pattern, pattern_title on reports.
//! - 3: fixes, fix_slices, rounds, round_config, attempts, attempt_reports; reports.fix_id.
//! - 4: image_lists, image_list_members, reports.image_list_id replace report_images; the
//!   frames_image and frames_symbol indexes are dropped.
//! - 5: dictionaries (zstd dictionaries for stored originals); files.dict_id.
//! - 6: rounds.fix_confirmed (the fix handshake; NULL for rounds stored before).
//! - 7: rounds.output_tail (the last lines of a round's output).
//! - 8: report_frames (a report's frames, one JSON array per stack) replaces frames; the
//!   reports_process, reports_incident, reports_pid, reports_exception and sources_path
//!   indexes are dropped.
//! - 9: originals keyed by BLAKE3 instead of SHA-256: files.sha256, reports.file_sha256 and
//!   sources.file_sha256 renamed to hash / file_hash, and every key recomputed from the stored
//!   original by [`rekey_files`] (Rust: SQL cannot hash), identities `sha256:<key>#<i>` with it.
//! - 10: hosts; rounds.host_id with (host_id, number) unique instead of number (the rounds
//!   tables rebuilt); reports.host_id. Older rounds get the local host (Rust: SQL cannot know
//!   the machine it runs on).
//! - 11: rounds.hardware_model and rounds.os (what the round ran under; older rounds take
//!   their host's).
//! - 12: `files` rebuilt as a rowid table with `data` last (it was `WITHOUT ROWID`: a key
//!   lookup read the compressed originals). Migrations now run with foreign keys off and are
//!   checked before they commit.
//! - 13: stacks (each distinct stack once, keyed by the BLAKE3 hash of its text);
//!   reports.crashed_stack and reports.exception_stack point at them and replace
//!   report_frames. [`hash_stacks`] (Rust: SQL cannot hash) keys the carried-over stacks.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _};

use super::{retry_busy, StoreError, APPLICATION_ID};

/// Every migration, in order. Never edit a released one: add a new file.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_reports.sql"),
    include_str!("../../migrations/0002_buckets.sql"),
    include_str!("../../migrations/0003_rounds_fixes.sql"),
    include_str!("../../migrations/0004_image_lists.sql"),
    include_str!("../../migrations/0005_dictionaries.sql"),
    include_str!("../../migrations/0006_fix_confirmed.sql"),
    include_str!("../../migrations/0007_round_output_tail.sql"),
    include_str!("../../migrations/0008_report_frames.sql"),
    include_str!("../../migrations/0009_blake3_keys.sql"),
    include_str!("../../migrations/0010_hosts.sql"),
    include_str!("../../migrations/0011_round_machine.sql"),
    include_str!("../../migrations/0012_files_rowid.sql"),
    include_str!("../../migrations/0013_stacks.sql"),
];

/// The migration after whose SQL [`super::hosts::fill_round_hosts`] gives older rounds the
/// local host.
pub(super) const HOSTS_AFTER: usize = 10;

/// The migration after whose SQL [`rekey_files`] runs.
const REKEY_AFTER: usize = 9;

/// The migration after whose SQL [`hash_stacks`] keys the stacks it carried over.
const STACKS_AFTER: usize = 13;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(
    conn: &Connection,
    path: &Path,
    local: &crate::host::LocalHost,
) -> Result<(), StoreError> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    if current == SCHEMA_VERSION && application_id(conn)? == APPLICATION_ID {
        return Ok(());
    }
    // A database of an older version that this user may only read (a shared file, a copy from
    // another machine; SQLite opens an unwritable file read-only): say what is needed instead
    // of SQLite's bare "attempt to write a readonly database" halfway through a migration.
    let needs_write = || {
        StoreError::Migrate(format!(
            "{} has schema version {current} and this agx-triage needs {SCHEMA_VERSION}; the \
             upgrade writes to it, so open it once with write access (any command does it), \
             then it can be read read-only again",
            path.display()
        ))
    };
    if current > 0 && conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(needs_write());
    }
    // Two processes opening a new database at once must not both apply migration 1. Taking
    // the write lock first (`BEGIN IMMEDIATE`) and re-reading the version inside the lock makes
    // the second opener wait, then find nothing to do. (rusqlite_migration opens a deferred
    // transaction, which lets both read version 0 and the second fail; hence this small runner.)
    //
    // Foreign keys are off while migrations run (the pragma only takes effect outside a
    // transaction, hence before BEGIN) and checked before COMMIT instead: a migration that
    // rebuilds a parent table (0012: `files`, which `reports.file_hash` refers to) must drop the
    // old one, and with foreign keys on, DROP TABLE deletes its rows first, under the children.
    let keys_were_on: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = migrate_locked(conn, path, local, needs_write);
    if keys_were_on {
        conn.execute_batch("PRAGMA foreign_keys = ON")?;
    }
    result
}

/// [`migrate`] under the write lock, with foreign keys off: apply what is pending, then commit
/// only if the migrations broke no foreign key.
fn migrate_locked(
    conn: &Connection,
    path: &Path,
    local: &crate::host::LocalHost,
    needs_write: impl Fn() -> StoreError,
) -> Result<(), StoreError> {
    if let Err(e) = retry_busy(|| conn.execute_batch("BEGIN IMMEDIATE")) {
        return Err(
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
                needs_write()
            } else {
                e.into()
            },
        );
    }
    let check = |when: &str| {
        foreign_key_violations(conn).map_err(|e| match e {
            StoreError::Sql(e) => StoreError::Migrate(format!(
                "checking the references {when} the upgrade: {}",
                why(&e, path)
            )),
            e => e,
        })
    };
    let result = check("before").and_then(|before| {
        apply_pending(conn, path, local)?;
        // Only violations the migrations made stop them: a database damaged before (written
        // by a tool with foreign keys off) must still open, as it did.
        let after = check("after")?;
        if after > before {
            return Err(StoreError::Migrate(format!(
                "the migrations would leave {} rows pointing at nothing; nothing was changed",
                after - before
            )));
        }
        Ok(())
    });
    match result {
        Ok(()) => {
            retry_busy(|| conn.execute_batch("COMMIT"))?;
            // A migration that rebuilt a table wrote it all to the WAL: give that space back
            // now rather than at the last close (a failure here loses nothing: the pages stay
            // in the WAL, which the next checkpoint copies).
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// A SQLite error met while upgrading `path`, in words that say what to do about it.
fn why(e: &rusqlite::Error, path: &Path) -> String {
    let size_mb = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => format!(
            "{e}: the upgrade rewrites tables inside one transaction and needs free space about              the size of the database ({:.0} MB) beside it; free some space and run the command              again (nothing was changed)",
            size_mb(path)
        ),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => format!(
            "{e}: the database is damaged, and the upgrade reads all of it (nothing was              changed); `sqlite3 OLD.db .recover | sqlite3 NEW.db` can rebuild what is              readable, then open NEW.db"
        ),
        _ => format!("{e} (nothing was changed)"),
    }
}

/// Rows whose foreign key points at no row (`PRAGMA foreign_key_check`).
fn foreign_key_violations(conn: &Connection) -> Result<i64, StoreError> {
    Ok(
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?,
    )
}

fn apply_pending(
    conn: &Connection,
    path: &Path,
    local: &crate::host::LocalHost,
) -> Result<(), StoreError> {
    // Another process may have created tables between the first look and the lock: look again.
    let app = application_id(conn)?;
    if app != 0 && app != APPLICATION_ID {
        return Err(StoreError::NotOurs {
            path: path.to_path_buf(),
            why: format!("its application_id is {app:#x}"),
        });
    }
    let version = user_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        conn.execute_batch(sql)
            .map_err(|e| StoreError::Migrate(format!("migration {}: {}", i + 1, why(&e, path))))?;
        if i + 1 == REKEY_AFTER {
            rekey_files(conn)
                .map_err(|e| StoreError::Migrate(format!("migration {}: {e}", i + 1)))?;
        }
        if i + 1 == STACKS_AFTER {
            hash_stacks(conn)
                .map_err(|e| StoreError::Migrate(format!("migration {}: {e}", i + 1)))?;
        }
        if i + 1 == HOSTS_AFTER {
            super::hosts::fill_round_hosts(conn, local)
                .map_err(|e| StoreError::Migrate(format!("migration {}: {e}", i + 1)))?;
        }
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    Ok(())
}

/// Migration 9's data step: every stored original's key becomes the BLAKE3 hash of its bytes
/// (`content_key`), and the rows that name it (reports, sources, identities built from a key)
/// follow, so that the same bytes ingested after the migration find the file stored before it.
///
/// An original is re-keyed only when it decompresses to bytes whose SHA-256 is its old key: a
/// row that does not (damaged, or never a real key) keeps its key and its bytes as they were,
/// so the migration loses nothing and invents no key for bytes it cannot vouch for. Returns how
/// many files were re-keyed.
fn rekey_files(conn: &Connection) -> Result<usize, StoreError> {
    use rusqlite::OptionalExtension as _;
    use sha2::Digest as _;
    // The keys are parent keys of reports.file_hash: checked at COMMIT, after both moved.
    conn.pragma_update(None, "defer_foreign_keys", "ON")?;
    let keys: Vec<String> = conn
        .prepare("SELECT hash FROM files")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // Old key -> new key, for one set-based update of the rows that name files at the end
    // (`sources` has no index by file: an update per file would scan it once per file).
    conn.execute_batch(
        "CREATE TEMP TABLE rekey (old TEXT PRIMARY KEY, new TEXT NOT NULL) WITHOUT ROWID",
    )?;
    let mut dicts: std::collections::HashMap<i64, Option<Vec<u8>>> = Default::default();
    let mut done = 0;
    for old in keys {
        let Some((size, data, dict_id)) = conn
            .query_row(
                "SELECT size, data, dict_id FROM files WHERE hash = ?1",
                [&old],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                },
            )
            .optional()?
        else {
            continue;
        };
        let bytes = match dict_id {
            None => super::reports::decompress_file(&data, size, None).map_err(|_| ()),
            Some(d) => {
                let dict = dicts
                    .entry(d)
                    .or_insert_with(|| load_dictionary(conn, d).ok());
                match dict {
                    Some(dict) => {
                        super::reports::decompress_file(&data, size, Some(dict)).map_err(|_| ())
                    }
                    None => continue,
                }
            }
        };
        let Ok(bytes) = bytes else { continue };
        let sha: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !sha.eq_ignore_ascii_case(&old) {
            continue;
        }
        let new = super::reports::content_key(&bytes);
        conn.execute("UPDATE files SET hash = ?1 WHERE hash = ?2", [&new, &old])?;
        conn.execute(
            "INSERT INTO temp.rekey (old, new) VALUES (?1, ?2)",
            [&old, &new],
        )?;
        done += 1;
    }
    // SET expressions see the row as it was: `file_hash` is the old key in each of them.
    // Identities of reports without an incident id: 'sha256:<old>#<i>' -> 'blake3:<new>#<i>'.
    conn.execute(
        "UPDATE reports SET
            identity = CASE
                WHEN substr(identity, 1, length(file_hash) + 8) = 'sha256:' || file_hash || '#'
                THEN ?1 || (SELECT new FROM temp.rekey WHERE old = reports.file_hash)
                     || substr(identity, length(file_hash) + 8)
                ELSE identity END,
            file_hash = (SELECT new FROM temp.rekey WHERE old = reports.file_hash)
         WHERE file_hash IN (SELECT old FROM temp.rekey)",
        [super::reports::KEY_PREFIX],
    )?;
    conn.execute(
        "UPDATE sources SET file_hash = (SELECT new FROM temp.rekey WHERE old = sources.file_hash)
         WHERE file_hash IN (SELECT old FROM temp.rekey)",
        [],
    )?;
    // Rounds' attributed reports name content identities too; they were stored upper-cased
    // (`SHA256:<HEX>#<i>`, 64 hex digits, so `#` is at position 72): the same re-keying.
    conn.execute(
        "UPDATE OR IGNORE attempt_reports SET incident_id = ?1
            || (SELECT k.new FROM temp.rekey k
                WHERE k.old = lower(substr(attempt_reports.incident_id, 8, 64)))
            || substr(incident_id, 72)
         WHERE lower(substr(incident_id, 1, 7)) = 'sha256:'
           AND substr(incident_id, 72, 1) = '#'
           AND lower(substr(incident_id, 8, 64)) IN (SELECT old FROM temp.rekey)",
        [super::reports::KEY_PREFIX],
    )?;
    conn.execute_batch("DROP TABLE temp.rekey")?;
    Ok(done)
}

/// Migration 13's data step: every stack it carried over (key `migrating:<n>`) gets its real
/// key, the BLAKE3 hash of its text (`content_key`, as the writer computes it), so that the
/// same stack written after the migration finds the row made by it. Read in pages by id, so
/// memory stays flat however many distinct stacks the database holds. Returns how many.
fn hash_stacks(conn: &Connection) -> Result<usize, StoreError> {
    let mut last = 0i64;
    let mut done = 0;
    loop {
        // Bytes, not `String`: the key is the hash of the bytes as stored, whatever they are.
        let page: Vec<(i64, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT id, frames FROM stacks
                 WHERE id > ?1 AND hash LIKE 'migrating:%' ORDER BY id LIMIT 512",
            )?
            .query_map([last], |r| {
                Ok((r.get(0)?, r.get_ref(1)?.as_bytes()?.to_vec()))
            })?
            .collect::<Result<_, _>>()?;
        let Some((id, _)) = page.last() else {
            return Ok(done);
        };
        last = *id;
        for (id, frames) in &page {
            conn.prepare_cached("UPDATE stacks SET hash = ?1 WHERE id = ?2")?
                .execute(rusqlite::params![super::reports::content_key(frames), id])?;
            done += 1;
        }
    }
}

/// A stored dictionary's content, read from the SQLite file being migrated.
fn load_dictionary(conn: &Connection, id: i64) -> Result<Vec<u8>, StoreError> {
    let (size, data): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT size, data FROM dictionaries WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("dictionary {id} is missing")))?;
    super::reports::dictionary_content(id, size, &data)
}

fn application_id(conn: &Connection) -> Result<i32, StoreError> {
    Ok(conn.query_row("PRAGMA application_id", [], |r| r.get(0))?)
}

fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_version_1_database_upgrades_in_place_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO files (sha256, size, compression, data) VALUES ('ab', 1, 'zstd', x'00');
                 INSERT INTO reports (identity, kind, format, file_sha256, ingested_at)
                 VALUES ('INC-1', 'crash', 'ips', 'ab', '2026-11-01T00:00:00Z');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let (n, sig): (i64, Option<String>) = store
            .sqlite_conn()
            .query_row("SELECT count(*), max(signature) FROM reports", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, sig), (1, None));
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_version_3_database_gets_its_image_links_as_shared_lists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        {
            let conn = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[..3] {
                conn.execute_batch(m).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            // Reports 1 and 2 list images (10, 11, 12) in that order, report 3 lists (12, 10),
            // report 4 lists none.
            conn.execute_batch(
                "INSERT INTO files (sha256, size, compression, data) VALUES ('ab', 1, 'zstd', x'00');
                 INSERT INTO images (id, key, uuid, name) VALUES
                    (10, 'u10', 'u10', 'a'), (11, 'u11', 'u11', 'b'), (12, 'u12', 'u12', 'c');
                 INSERT INTO reports (id, identity, kind, format, file_sha256, ingested_at) VALUES
                    (1, 'R1', 'crash', 'ips', 'ab', 't'), (2, 'R2', 'crash', 'ips', 'ab', 't'),
                    (3, 'R3', 'crash', 'ips', 'ab', 't'), (4, 'R4', 'crash', 'ips', 'ab', 't');
                 INSERT INTO report_images (report_id, image_index, image_id, base) VALUES
                    (1, 0, 10, 1), (1, 1, 11, 2), (1, 2, 12, 3),
                    (2, 2, 12, 7), (2, 0, 10, 5), (2, 1, 11, 6),
                    (3, 0, 12, 1), (3, 1, 10, 2);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let conn = store.sqlite_conn();
        fn rows<T>(
            conn: &Connection,
            sql: &str,
            f: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        ) -> Vec<T> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], f)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        let lists: Vec<(i64, String, i64)> = rows(
            conn,
            "SELECT id, key, image_count FROM image_lists ORDER BY id",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        );
        assert_eq!(
            lists,
            vec![
                (1, "[10,11,12]".to_string(), 3),
                (2, "[12,10]".to_string(), 2)
            ]
        );
        let of_report: Vec<Option<i64>> =
            rows(conn, "SELECT image_list_id FROM reports ORDER BY id", |r| {
                r.get(0)
            });
        assert_eq!(of_report, vec![Some(1), Some(1), Some(2), None]);
        let members: Vec<(i64, i64, i64)> = rows(
            conn,
            "SELECT list_id, image_index, image_id FROM image_list_members ORDER BY 1, 2",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        );
        assert_eq!(
            members,
            vec![(1, 0, 10), (1, 1, 11), (1, 2, 12), (2, 0, 12), (2, 1, 10)]
        );
        let old_table: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'report_images'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old_table, 0);
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_version_4_database_keeps_its_originals_readable_beside_dictionary_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        let old = b"{\"bug_type\":\"309\"}\n{\"old\": \"report bytes\"}\n".to_vec();
        {
            let conn = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[..4] {
                conn.execute_batch(m).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            let data = zstd::bulk::compress(&old, 3).unwrap();
            conn.execute(
                "INSERT INTO files (sha256, size, compression, data) VALUES ('aa', ?1, 'zstd', ?2)",
                rusqlite::params![old.len() as i64, data],
            )
            .unwrap();
            conn.execute_batch(
                "INSERT INTO reports (identity, kind, format, file_sha256, ingested_at)
                 VALUES ('INC-1', 'crash', 'ips', 'aa', 't');",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.file_bytes("aa").unwrap(), old);
        assert!(store.latest_dictionary().unwrap().is_none());
        // A file stored with a dictionary after the migration reads back beside the old one.
        let mut content = crate::store::DICT_PREFIX.to_vec();
        content.extend_from_slice(&old);
        let new = b"{\"bug_type\":\"309\"}\n{\"new\": \"report bytes\"}\n".to_vec();
        // Files read back through a dictionary are checked against their content key.
        let new_sha = crate::store::content_key(&new);
        {
            let tx = store.begin_write().unwrap();
            let id = tx.put_dictionary(&content).unwrap();
            let dict = crate::store::Dictionary {
                id,
                content: std::sync::Arc::new(content.clone()),
            };
            let mut c = crate::store::Compressor::with_dictionary(&dict).unwrap();
            let data = c.compress(&new).unwrap();
            tx.put_file_with(&new_sha, new.len() as u64, &data, Some(id))
                .unwrap();
            tx.commit().unwrap();
        }
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.file_bytes("aa").unwrap(), old);
        assert_eq!(store.file_bytes(&new_sha).unwrap(), new);
        let stats = store.file_stats().unwrap();
        assert_eq!((stats.files, stats.with_dictionary), (2, 1));
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_version_7_database_keeps_its_frames_and_their_symbols() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v7.db");
        let ips = concat!(
            r#"{"bug_type":"309","incident_id":"AAAAAAAA-0000-0000-0000-000000000007"}"#,
            "\n",
            r#"{"incident":"AAAAAAAA-0000-0000-0000-000000000007","procName":"python3.11","pid":7,"#,
            r#""faultingThread":0,"threads":[{"triggered":true,"id":1,"frames":["#,
            r#"{"imageOffset":1552,"symbol":"abort","symbolLocation":8,"imageIndex":1},"#,
            r#"{"imageOffset":2000,"imageIndex":0},{"imageOffset":16,"imageIndex":0}]}],"#,
            r#""lastExceptionBacktrace":[{"imageOffset":64,"imageIndex":0}],"#,
            r#""usedImages":[{"arch":"arm64e","base":8589934592,"size":65536,"#,
            r#""uuid":"2f5ccac7-cf4f-3f87-8689-7c673e90e595","name":"AGXMetalG16X"},"#,
            r#"{"arch":"arm64e","base":4294967296,"size":8192,"#,
            r#""uuid":"a308656d-31e2-38dc-9b95-54f3287f3899","name":"libsystem_kernel.dylib"}]}"#
        );
        {
            let conn = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[..7] {
                conn.execute_batch(m).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            let data = zstd::bulk::compress(ips.as_bytes(), 1).unwrap();
            conn.execute(
                "INSERT INTO files (sha256, size, compression, data) VALUES ('aa', ?1, 'zstd', ?2)",
                rusqlite::params![ips.len() as i64, data],
            )
            .unwrap();
            // As the writer of migrations 1-7 stored them: frame 1 was symbolicated since
            // (a name the original lacks), frame 2 has no symbol, the exception frame was
            // named; one address is above i64::MAX (stored negative; the original has it).
            // Report 2 has none.
            conn.execute_batch(
                "INSERT INTO images (id, key, uuid, name) VALUES
                    (10, '2F5CCAC7-CF4F-3F87-8689-7C673E90E595', '2F5CCAC7-CF4F-3F87-8689-7C673E90E595', 'AGXMetalG16X'),
                    (11, 'A308656D-31E2-38DC-9B95-54F3287F3899', 'A308656D-31E2-38DC-9B95-54F3287F3899', 'libsystem_kernel.dylib');
                 INSERT INTO reports (id, identity, incident_id, kind, format, file_sha256, process,
                    pid, frame_count, ingested_at)
                 VALUES (1, 'AAAAAAAA-0000-0000-0000-000000000007', 'AAAAAAAA-0000-0000-0000-000000000007',
                    'crash', 'ips', 'aa', 'python3.11', 7, 3, 't'),
                    (2, 'OTHER', NULL, 'crash', 'ips', 'aa', NULL, NULL, 0, 't');
                 INSERT INTO frames (report_id, stack, idx, image_index, image_id, image_offset,
                    address, symbol, symbol_offset, symbol_source, source_file, source_line)
                 VALUES
                    (1, 'crashed', 2, 0, 10, 16, -16, NULL, NULL, NULL, NULL, NULL),
                    (1, 'crashed', 0, 1, 11, 1552, 4294968848, 'abort', 8, 'apple', NULL, NULL),
                    (1, 'crashed', 1, 0, 10, 2000, 8589936592, 'AGX::dispatch', 48, 'symcache',
                        'agx.cpp', 12),
                    (1, 'exception', 0, 0, 10, 64, 8589934656, 'AGX::encode', 4, 'symcache',
                        NULL, NULL);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let conn = store.sqlite_conn();
        let (crashed, exception): (String, String) = conn
            .query_row(
                "SELECT c.frames, e.frames FROM reports r JOIN stacks c ON c.id = r.crashed_stack
                 JOIN stacks e ON e.id = r.exception_stack WHERE r.id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        // In index order: [image id, symbol, offset, source, file, line], what the Rust
        // encoder writes for these frames.
        assert_eq!(
            crashed,
            concat!(
                r#"[[11,"abort",8,"apple",null,null],"#,
                r#"[10,"AGX::dispatch",48,"symcache","agx.cpp",12],"#,
                r#"[10,null,null,null,null,null]]"#
            )
        );
        assert_eq!(exception, r#"[[10,"AGX::encode",4,"symcache",null,null]]"#);
        let no_frames: i64 = conn
            .query_row(
                "SELECT count(*) FROM reports WHERE id = 2
                 AND (crashed_stack IS NOT NULL OR exception_stack IS NOT NULL)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(no_frames, 0);
        let gone: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('frames', 'reports_process',
                    'reports_incident', 'reports_pid', 'reports_exception', 'sources_path')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(gone, 0);
        // `show` lays the carried-over names over the re-parsed original.
        let shown = store.load_report(1).unwrap();
        let t = shown.report.crashed().unwrap();
        assert_eq!(t.frames[1].symbol.as_deref(), Some("AGX::dispatch"));
        assert_eq!(
            t.frames[1].symbol_source,
            Some(crate::crash::SymbolSource::Symcache)
        );
        assert_eq!(t.frames[1].source_line, Some(12));
        assert_eq!(t.frames[2].symbol, None);
        assert_eq!(
            shown.report.last_exception_backtrace[0].symbol.as_deref(),
            Some("AGX::encode")
        );
        assert_eq!(shown.row.top_frame_symbol_source.as_deref(), Some("apple"));
        assert_eq!(
            store
                .load_report(2)
                .unwrap()
                .report
                .crashed()
                .unwrap()
                .frames[1]
                .symbol,
            None
        );
        // `reports --frame` finds a carried-over name, and an unnamed frame by its image.
        assert_eq!(
            store.reports_with_frame(&|s| s == "AGX::dispatch").unwrap(),
            vec![1]
        );
        assert_eq!(
            store.reports_with_frame(&|s| s == "AGXMetalG16X").unwrap(),
            vec![1]
        );
        assert!(store
            .reports_with_frame(&|s| s == "AGX::encode")
            .unwrap()
            .is_empty());
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_version_4_database_gets_fix_confirmed_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        {
            let conn = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[..4] {
                conn.execute_batch(m).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            conn.execute_batch(
                "INSERT INTO rounds (number, fix_name, outcome, source, recorded_at)
                 VALUES (1820, 'v2.4', 'raw-pass', 'run', 't'), (1821, NULL, 'fail', 'import', 't');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let rounds = store.rounds(&crate::store::RoundSelector::All).unwrap();
        let got: Vec<(i64, Option<bool>)> = rounds
            .iter()
            .map(|r| (r.round.number, r.round.fix_confirmed))
            .collect();
        // Rounds stored before the handshake existed are "not known", and so still counted.
        assert_eq!(got, vec![(1820, None), (1821, None)]);
        let bad = store.sqlite_conn().execute(
            "UPDATE rounds SET fix_confirmed = 2 WHERE number = 1820",
            [],
        );
        assert!(bad.is_err(), "fix_confirmed only takes 0, 1 or NULL");
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
        }
        match Store::open(&path) {
            Err(StoreError::TooNew { found, known }) => {
                assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
            }
            other => panic!("expected TooNew, got {:?}", other.map(|_| ())),
        }
    }

    /// A database at schema `version` as that version's SQL made it, with dictionary 1 (the
    /// prefix, then `plain`) and two originals keyed in `key_column`: `plain` compressed on
    /// its own under `keys.0`, `with_dict` against the dictionary under `keys.1`.
    /// A database at schema `version`, as a release of that version made it (empty).
    fn database_at(path: &Path, version: usize) -> Connection {
        let conn = Connection::open(path).unwrap();
        for m in &MIGRATIONS[..version] {
            conn.execute_batch(m).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn
    }

    fn old_database_with_two_files(
        path: &Path,
        version: usize,
        key_column: &str,
        keys: (&str, &str),
        plain: &[u8],
        with_dict: &[u8],
    ) -> Connection {
        let conn = database_at(path, version);
        let mut dict = crate::store::DICT_PREFIX.to_vec();
        dict.extend_from_slice(plain);
        conn.execute(
            "INSERT INTO dictionaries (id, kind, size, data, created_at)
             VALUES (1, 'zstd-raw', ?1, ?2, 't')",
            rusqlite::params![dict.len() as i64, zstd::bulk::compress(&dict, 3).unwrap()],
        )
        .unwrap();
        conn.execute(
            &format!(
                "INSERT INTO files ({key_column}, size, compression, data) VALUES (?1, ?2, 'zstd', ?3)"
            ),
            rusqlite::params![
                keys.0,
                plain.len() as i64,
                zstd::bulk::compress(plain, 1).unwrap()
            ],
        )
        .unwrap();
        let packed = zstd::bulk::Compressor::with_dictionary(1, &dict)
            .unwrap()
            .compress(with_dict)
            .unwrap();
        conn.execute(
            &format!(
                "INSERT INTO files ({key_column}, size, compression, data, dict_id)
                 VALUES (?1, ?2, 'zstd', ?3, 1)"
            ),
            rusqlite::params![keys.1, with_dict.len() as i64, packed],
        )
        .unwrap();
        conn
    }

    /// A version-8 database (SHA-256 keys) as the code of that version wrote it: one original
    /// compressed plainly, one against a dictionary, one damaged row; reports with and without
    /// an incident id; their sources.
    fn version_8_database(path: &Path, plain: &[u8], with_dict: &[u8]) -> (String, String) {
        use sha2::Digest as _;
        let sha = |b: &[u8]| -> String {
            sha2::Sha256::digest(b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect()
        };
        let (a, b) = (sha(plain), sha(with_dict));
        let conn = old_database_with_two_files(path, 8, "sha256", (&a, &b), plain, with_dict);
        conn.execute_batch(&format!(
            "INSERT INTO files (sha256, size, compression, data) VALUES ('damaged', 3, 'zstd', x'00');
             INSERT INTO reports (id, identity, kind, format, file_sha256, ingested_at) VALUES
                (1, 'INC-A', 'crash', 'ips', '{a}', 't'),
                (2, 'sha256:{b}#0', 'crash', 'ips', '{b}', 't'),
                (3, 'sha256:{b}#1', 'crash', 'ips', '{b}', 't'),
                (4, 'sha256:damaged#0', 'crash', 'ips', 'damaged', 't');
             INSERT INTO sources (report_id, path, file_sha256, first_seen) VALUES
                (1, '/in/a.ips', '{a}', 't'), (2, '/in/b.ips', '{b}', 't'),
                (3, '/in/b.ips', '{b}', 't'), (4, '/in/c.ips', 'damaged', 't');"
        ))
        .unwrap();
        (a, b)
    }

    #[test]
    fn a_version_8_database_is_rekeyed_with_blake3_and_deduplicates_against_new_ingests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v8.db");
        let plain = b"{\"bug_type\":\"309\"}\n{\"procName\": \"python3\", \"pid\": 1}\n".repeat(9);
        let mut with_dict = plain.clone();
        with_dict.extend_from_slice(b"one more line\n");
        let (old_a, old_b) = version_8_database(&path, &plain, &with_dict);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let (a, b) = (
            crate::store::content_key(&plain),
            crate::store::content_key(&with_dict),
        );
        let mut keys = store.file_hashes().unwrap();
        keys.sort();
        let mut want = vec![a.clone(), b.clone(), "damaged".to_string()];
        want.sort();
        assert_eq!(keys, want, "old keys {old_a} {old_b}");
        assert_eq!(store.file_bytes(&a).unwrap(), plain);
        assert_eq!(store.file_bytes(&b).unwrap(), with_dict);
        let rows: Vec<(String, String)> = store
            .sqlite_conn()
            .prepare("SELECT identity, file_hash FROM reports ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                ("INC-A".to_string(), a.clone()),
                (format!("blake3:{b}#0"), b.clone()),
                (format!("blake3:{b}#1"), b.clone()),
                // The damaged row keeps what it had: nothing to vouch for a new key.
                ("sha256:damaged#0".to_string(), "damaged".to_string()),
            ]
        );
        let sources: Vec<String> = store
            .sqlite_conn()
            .prepare("SELECT file_hash FROM sources ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            sources,
            vec![a.clone(), b.clone(), b.clone(), "damaged".into()]
        );
        let broken: i64 = store
            .sqlite_conn()
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        drop(store);

        // The same bytes ingested after the migration are known files: a new source each,
        // no new file, no new report.
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        std::fs::write(input.join("again-a.ips"), &plain).unwrap();
        std::fs::write(input.join("again-b.ips"), &with_dict).unwrap();
        let summary = crate::ingest::ingest(
            &path,
            &[input],
            &crate::ingest::IngestOptions::default(),
            &crate::ingest::NoProgress,
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
        assert!(summary.failed.is_empty(), "{:?}", summary.failed);
        assert_eq!((summary.new, summary.duplicates), (0, 3));
        let store = Store::open(&path).unwrap();
        assert_eq!(store.file_hashes().unwrap().len(), 3);
        let n: i64 = store
            .sqlite_conn()
            .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 4);
    }

    // Adversarial: an original whose dictionary row is gone (a hand edit, a damaged file)
    // cannot be decoded, so it cannot be re-keyed: the migration still succeeds, the row keeps
    // its key, its bytes and its report, and the other files are re-keyed.
    #[test]
    fn an_original_without_its_dictionary_keeps_its_key_through_migration_9() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v8.db");
        let plain = b"{\"bug_type\":\"309\"}\n{\"pid\": 7}\n".repeat(5);
        let mut with_dict = plain.clone();
        with_dict.extend_from_slice(b"tail\n");
        let (_, old_b) = version_8_database(&path, &plain, &with_dict);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM dictionaries")
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let mut keys = store.file_hashes().unwrap();
        keys.sort();
        let mut want = vec![
            crate::store::content_key(&plain),
            old_b.clone(),
            "damaged".to_string(),
        ];
        want.sort();
        assert_eq!(keys, want);
        let (identity, file): (String, String) = store
            .sqlite_conn()
            .query_row(
                "SELECT identity, file_hash FROM reports WHERE id = 2",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((identity, file), (format!("sha256:{old_b}#0"), old_b));
    }

    /// A version-11 database whose `files` is still `WITHOUT ROWID`: a plain original, one
    /// against a dictionary, the reports and sources that name them.
    fn version_11_database(path: &Path, plain: &[u8], with_dict: &[u8]) -> (String, String) {
        let (a, b) = (
            crate::store::content_key(plain),
            crate::store::content_key(with_dict),
        );
        let conn = old_database_with_two_files(path, 11, "hash", (&a, &b), plain, with_dict);
        for (id, hash) in [(1, &a), (2, &b)] {
            conn.execute(
                "INSERT INTO reports (id, identity, kind, format, file_hash, ingested_at)
                 VALUES (?1, ?2, 'crash', 'ips', ?3, 't')",
                rusqlite::params![id, format!("r{id}"), hash],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO sources (report_id, path, file_hash, first_seen)
                 VALUES (?1, ?2, ?3, 't')",
                rusqlite::params![id, format!("/r/{id}.ips"), hash],
            )
            .unwrap();
        }
        (a, b)
    }

    /// Stack texts of a version-12 database: S1 and E1 are what the writer stores for the
    /// report of [`stacked_ips`] when its images have ids 1 and 2.
    const S1: &str = r#"[[2,"abort",8,"apple",null,null],[1,null,null,null,null,null]]"#;
    const E1: &str = "[[1,null,null,null,null,null]]";
    /// Symbolicated since ingest.
    const S2: &str =
        r#"[[2,"abort",8,"apple",null,null],[1,"AGX::dispatch",48,"symcache","agx.cpp",12]]"#;
    /// Escapes and non-ASCII, byte for byte (a JSON writer could have spelled them otherwise).
    const S3: &str = r#"[[1,"objc_\u0000msgSend \"q\" caf\u00e9 é 𝄞",0,"apple",null,4294967295]]"#;

    use crate::store::reports::tests::ips as stacked_ips;

    #[test]
    fn a_version_12_database_keeps_every_reports_frames_byte_for_byte_in_shared_stacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v12.db");
        // (report, crashed, exception) as stored; report 5 has no report_frames row.
        let stored: &[(i64, Option<&str>, Option<&str>)] = &[
            (1, Some(S1), Some(E1)),
            (2, Some(S1), Some(E1)), // shares both stacks with 1
            (3, Some(S2), None),     // a copy of 1's crash, symbolicated since
            (4, None, Some(S1)),     // the same text as 1's crashed stack, as an exception
            (5, None, None),
            (6, Some(S3), Some(S3)),
            (7, Some(E1), None),
        ];
        {
            let conn = database_at(&path, 12);
            conn.execute_batch(
                "INSERT INTO files (hash, size, compression, data) VALUES ('aa', 1, 'zstd', x'00');
                 INSERT INTO images (id, key, uuid, name) VALUES
                    (1, '2f5ccac7-cf4f-3f87-8689-7c673e90e595', '2f5ccac7-cf4f-3f87-8689-7c673e90e595', 'AGXMetalG16X'),
                    (2, 'a308656d-31e2-38dc-9b95-54f3287f3899', 'a308656d-31e2-38dc-9b95-54f3287f3899', 'libsystem_kernel.dylib');",
            )
            .unwrap();
            for (id, crashed, exception) in stored {
                conn.execute(
                    "INSERT INTO reports (id, identity, kind, format, file_hash, ingested_at)
                     VALUES (?1, ?2, 'crash', 'ips', 'aa', 't')",
                    rusqlite::params![id, format!("R{id}")],
                )
                .unwrap();
                if *id != 5 {
                    conn.execute(
                        "INSERT INTO report_frames (report_id, crashed, exception)
                         VALUES (?1, ?2, ?3)",
                        rusqlite::params![id, crashed, exception],
                    )
                    .unwrap();
                }
            }
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let conn = store.sqlite_conn();
        let of = |id: i64| of_in(conn, id);
        for (id, crashed, exception) in stored {
            let (c, e, _, _) = of(*id);
            assert_eq!(
                (c.as_deref(), e.as_deref()),
                (*crashed, *exception),
                "report {id}"
            );
        }
        // One row per distinct text, shared across reports and across the two columns.
        let n: i64 = conn
            .query_row("SELECT count(*) FROM stacks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 4);
        assert_eq!(of(1).2, of(2).2);
        assert_eq!(of(1).2, of(4).3);
        assert_eq!(of(1).3, of(7).2);
        assert_eq!(of(6).2, of(6).3);
        // Every key is the BLAKE3 hash of its text, none is left a placeholder.
        let keys: Vec<(String, String)> = conn
            .prepare("SELECT hash, frames FROM stacks")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (hash, frames) in &keys {
            assert_eq!(hash, &crate::store::content_key(frames.as_bytes()));
        }
        let gone: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master
                 WHERE name IN ('report_frames', 'stacks_frames_migrating')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(gone, 0);
        assert_eq!(foreign_key_violations(conn).unwrap(), 0);
        let first = of(1);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        // A report ingested after the migration with the same stacks finds their rows.
        let bytes = stacked_ips("AAAAAAAA-0000-0000-0000-000000000009");
        let hash = crate::store::content_key(&bytes);
        let report = &crate::crash::parse(&bytes).unwrap()[0];
        let tx = store.begin_write().unwrap();
        tx.put_file(
            &hash,
            bytes.len() as u64,
            &crate::store::reports::compress(&bytes).unwrap(),
        )
        .unwrap();
        let crate::store::InsertOutcome::New(new) = tx
            .insert_report(report, &hash, 0, "/new.ips", None)
            .unwrap()
        else {
            panic!("not new")
        };
        tx.commit().unwrap();
        let conn = store.sqlite_conn();
        let (_, _, c, e) = of_in(conn, new);
        assert_eq!((c, e), (first.2, first.3));
        let n: i64 = conn
            .query_row("SELECT count(*) FROM stacks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 4, "no stack stored twice");
    }

    // Regression: a damaged or hand-edited version 12 database whose `report_frames` holds a
    // stack as a BLOB (SQLite keeps a BLOB as one in a TEXT column) with the same bytes as
    // another report's TEXT stack. `UNION` keeps both (a BLOB never equals a TEXT), both get
    // the same BLAKE3 key, and the UNIQUE key stopped the migration: the database could not be
    // opened at all, where before only that report's frames were unreadable.
    #[test]
    fn a_version_12_stack_stored_as_a_blob_shares_the_row_of_the_same_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v12.db");
        {
            let conn = database_at(&path, 12);
            conn.execute_batch(
                "INSERT INTO files (hash, size, compression, data) VALUES ('aa', 1, 'zstd', x'00');
                 INSERT INTO reports (id, identity, kind, format, file_hash, ingested_at) VALUES
                    (1, 'R1', 'crash', 'ips', 'aa', 't'), (2, 'R2', 'crash', 'ips', 'aa', 't');",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO report_frames (report_id, crashed, exception) VALUES
                    (1, ?1, ?2), (2, CAST(?1 AS BLOB), CAST(?2 AS BLOB))",
                rusqlite::params![S1, E1],
            )
            .unwrap();
            let blobs: i64 = conn
                .query_row(
                    "SELECT count(*) FROM report_frames WHERE typeof(crashed) = 'blob'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(blobs, 1);
        }
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let conn = store.sqlite_conn();
        let (one, two) = (of_in(conn, 1), of_in(conn, 2));
        assert_eq!((one.0.as_deref(), one.1.as_deref()), (Some(S1), Some(E1)));
        assert_eq!((one.2, one.3), (two.2, two.3), "one row per text");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM stacks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }

    /// A report's (crashed frames, exception frames, crashed_stack, exception_stack).
    type StackRow = (Option<String>, Option<String>, Option<i64>, Option<i64>);

    fn of_in(conn: &Connection, id: i64) -> StackRow {
        conn.query_row(
            "SELECT (SELECT frames FROM stacks WHERE id = r.crashed_stack),
                    (SELECT frames FROM stacks WHERE id = r.exception_stack),
                    crashed_stack, exception_stack
             FROM reports r WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    }

    #[test]
    fn a_version_11_database_gets_files_as_a_rowid_table_with_every_original() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        // Larger than a B-tree cell, so the old table kept it in overflow pages.
        let plain: Vec<u8> = (0..20_000u32)
            .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
            .collect();
        let with_dict = [&plain[..1000], b"and a new tail".as_slice()].concat();
        let (a, b) = version_11_database(&path, &plain, &with_dict);
        let store = Store::open(&path).unwrap();
        let conn = store.sqlite_conn();
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'files'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('files')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(columns, ["hash", "size", "compression", "dict_id", "data"]);
        // Every original reads back byte for byte, with and without its dictionary.
        assert_eq!(store.file_bytes(&a).unwrap(), plain);
        assert_eq!(store.file_bytes(&b).unwrap(), with_dict);
        assert!(store.has_file(&a).unwrap() && store.has_file(&b).unwrap());
        // The reports still point at their files, and foreign keys are back on.
        let keys_on: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(keys_on);
        let dangling: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dangling, 0);
        let gone = conn.execute("DELETE FROM files WHERE hash = ?1", [&a]);
        assert!(gone.is_err(), "a file a report names cannot be deleted");
        // A rowid table would take a NULL key; this one does not.
        let null_key = conn.execute(
            "INSERT INTO files (hash, size, compression, data) VALUES (NULL, 1, 'zstd', x'00')",
            [],
        );
        assert!(null_key.is_err());
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_database_with_a_dangling_row_from_before_still_migrates() {
        // Written by another tool with foreign keys off: a report naming no stored file. The
        // migrations' own check counts what they break, not what was broken before.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        version_11_database(&path, b"plain", b"with a dictionary");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            conn.execute(
                "INSERT INTO reports (id, identity, kind, format, file_hash, ingested_at)
                 VALUES (3, 'r3', 'crash', 'ips', 'no-such-file', 't')",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(user_version(store.sqlite_conn()).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_migration_that_breaks_a_foreign_key_changes_nothing() {
        // As the runner sees a migration whose SQL leaves a row pointing at nothing.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        version_11_database(&path, b"plain", b"with a dictionary");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")
            .unwrap();
        let before = foreign_key_violations(&conn).unwrap();
        conn.execute_batch("DELETE FROM files").unwrap();
        let after = foreign_key_violations(&conn).unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!((before, after), (0, 2));
    }

    #[test]
    fn a_damaged_old_database_is_refused_with_what_to_do_and_left_as_it_was() {
        // Regression (review): one damaged page of `files` failed the upgrade with SQLite's bare
        // "database disk image is malformed".
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        let plain: Vec<u8> = (0..40_000u32)
            .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
            .collect();
        version_11_database(&path, &plain, b"small");
        let (page, size): (i64, i64) = {
            let conn = Connection::open(&path).unwrap();
            conn.query_row(
                "SELECT pageno, pgsize FROM dbstat WHERE name = 'files' AND pagetype = 'overflow'
                 LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        {
            use std::io::{Seek, SeekFrom, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.seek(SeekFrom::Start(((page - 1) * size) as u64)).unwrap();
            f.write_all(&vec![0xFF; size as usize]).unwrap();
        }
        let err = match Store::open(&path) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a damaged database was upgraded"),
        };
        assert!(err.contains("damaged") && err.contains(".recover"), "{err}");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 11);
    }
}
