//! Opening a PostgreSQL database (`--db postgres://…`): the ownership check and the migrations
//! of `migrations/postgres/`.
//!
//! The rules are SQLite's (module doc of [`super`]): a database holding other tables, or an
//! `agx_triage_meta` table with another mark, is refused as [`StoreError::NotOurs`] before
//! anything is written; a read command never creates a table. Each migration runs in one
//! transaction (PostgreSQL's DDL is transactional) under the same advisory lock as every write
//! transaction, and re-reads the version under that lock: two machines opening a new database
//! at once create the schema once, and a failed migration leaves the database as it was.
//!
//! PostgreSQL support starts at schema version 9: `0009_baseline.sql` creates the SQLite schema
//! of migrations 1 to 9 at once. Every later migration is a pair with the same number.

use std::path::{Path, PathBuf};

use super::db::{Conn, DbError, Optional as _, PgConn};
use super::{migrations::SCHEMA_VERSION, Create, StoreError, APPLICATION_ID};

/// PostgreSQL migrations: (the schema version they bring the database to, their SQL). Only
/// those up to SQLite's [`SCHEMA_VERSION`] apply: a twin may land before its SQLite migration
/// is part of the build.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        9,
        include_str!("../../migrations/postgres/0009_baseline.sql"),
    ),
    (10, include_str!("../../migrations/postgres/0010_hosts.sql")),
    (
        11,
        include_str!("../../migrations/postgres/0011_round_machine.sql"),
    ),
    (
        12,
        include_str!("../../migrations/postgres/0012_files_rowid.sql"),
    ),
    (
        13,
        include_str!("../../migrations/postgres/0013_stacks.sql"),
    ),
];

/// Does `--db` name a PostgreSQL server rather than a file?
pub fn is_url(db: &Path) -> bool {
    let s = db.to_string_lossy();
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// The URL with any password replaced by `***`, for messages. Over-redacting is fine, showing
/// a password is not: the user info ends at the LAST `@` of the URL (the client accepts a `/`
/// or `@` in a password, `postgres://ann:pa/ss@db/triage`), and query keys are compared after
/// percent-decoding (`?passw%6Frd=...` is a password too).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (userinfo, after) = match rest.rsplit_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, rest),
    };
    let tail_start = after.find(['/', '?']).unwrap_or(after.len());
    let (host, tail) = after.split_at(tail_start);
    let tail = redact_query(tail);
    match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => format!("{scheme}://{u}@{host}{tail}"),
        },
        None => format!("{scheme}://{host}{tail}"),
    }
}

/// `?password=…` in the query part, redacted too.
fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if percent_decoded(k).eq_ignore_ascii_case("password") => {
                format!("{k}=***")
            }
            _ => kv.to_string(),
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

/// `%XX` escapes decoded (bytes that do not form UTF-8 are replaced); anything else kept.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a PostgreSQL database holds, as far as opening it is concerned.
enum Kind {
    Empty,
    Ours { version: i64 },
}

/// Connect to the server at `url` and bring its schema up to date (unless `create` is
/// [`Create::Nothing`] and it is current). Returns the connection.
pub(super) fn open(url: &str, create: Create) -> Result<Conn, StoreError> {
    let shown = PathBuf::from(redact(url));
    let client =
        postgres::Client::connect(url, postgres::NoTls).map_err(|source| StoreError::Server {
            url: shown.display().to_string(),
            source,
        })?;
    let conn = Conn::Pg(Box::new(PgConn::new(client)));
    match identify(&conn, &shown)? {
        Kind::Ours { version } if version > SCHEMA_VERSION => {
            return Err(StoreError::TooNew {
                found: version,
                known: SCHEMA_VERSION,
            })
        }
        Kind::Ours { version } if version == SCHEMA_VERSION => return Ok(conn),
        Kind::Empty if create == Create::Nothing => return Err(StoreError::Empty(shown)),
        _ => {}
    }
    migrate(&conn, &shown)?;
    Ok(conn)
}

/// Read the mark and version without writing anything.
fn identify(conn: &Conn, shown: &Path) -> Result<Kind, StoreError> {
    let tables: Vec<String> = conn.query_map(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() ORDER BY table_name",
        super::db::params![],
        |r| r.get(0),
    )?;
    if tables.is_empty() {
        return Ok(Kind::Empty);
    }
    let not_ours = |why: String| StoreError::NotOurs {
        path: shown.to_path_buf(),
        why,
    };
    if !tables.iter().any(|t| t == "agx_triage_meta") {
        return Err(not_ours(format!(
            "it holds other tables ({})",
            super::some_tables(&tables)
        )));
    }
    let app: Option<i64> = conn
        .query_row(
            "SELECT value FROM agx_triage_meta WHERE key = 'application_id'",
            super::db::params![],
            |r| r.get(0),
        )
        .optional()?;
    if app != Some(i64::from(APPLICATION_ID)) {
        return Err(not_ours(match app {
            Some(a) => format!("its application_id is {a:#x}"),
            None => "its agx_triage_meta table has no application_id".into(),
        }));
    }
    Ok(Kind::Ours {
        version: version(conn)?,
    })
}

fn version(conn: &Conn) -> Result<i64, DbError> {
    Ok(conn
        .query_row(
            "SELECT value FROM agx_triage_meta WHERE key = 'schema_version'",
            super::db::params![],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The schema version of an open PostgreSQL database.
pub(super) fn schema_version(conn: &Conn) -> Result<i64, StoreError> {
    Ok(version(conn)?)
}

/// Apply every migration newer than the database, each in its own locked transaction.
fn migrate(conn: &Conn, shown: &Path) -> Result<(), StoreError> {
    for (to, sql) in MIGRATIONS.iter().filter(|(to, _)| *to <= SCHEMA_VERSION) {
        let step = || -> Result<(), StoreError> {
            conn.begin_write()?;
            // Under the lock: another process may have migrated (or created) it meanwhile.
            let now = match identify(conn, shown)? {
                Kind::Ours { version } => version,
                Kind::Empty => 0,
            };
            if now < *to {
                if now == 0 && *to != 9 {
                    return Err(StoreError::Migrate(format!(
                        "{} has no schema and migration {to} is not the baseline",
                        shown.display()
                    )));
                }
                conn.execute_batch(sql)
                    .map_err(|e| StoreError::Migrate(format!("migration {to}: {e}")))?;
                if *to == 13 {
                    hash_stacks(conn)
                        .map_err(|e| StoreError::Migrate(format!("migration {to}: {e}")))?;
                }
                conn.execute(
                    "INSERT INTO agx_triage_meta (key, value) VALUES ('application_id', ?1),
                        ('schema_version', ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    super::db::params![i64::from(APPLICATION_ID), *to],
                )?;
            }
            Ok(conn.commit()?)
        };
        if let Err(e) = step() {
            // The transaction is void after an error; ending it cannot lose anything.
            let _ = conn.rollback();
            return Err(e);
        }
    }
    Ok(())
}

/// Migration 13's data step, as SQLite's (`hash_stacks` in `migrations.rs`): every stack it
/// carried over (key `migrating:<n>`) gets the BLAKE3 hash of its text as its key, in pages by
/// id so that memory stays flat.
fn hash_stacks(conn: &Conn) -> Result<usize, StoreError> {
    let mut last = 0i64;
    let mut done = 0;
    loop {
        let page: Vec<(i64, String)> = conn.query_map(
            "SELECT id, frames FROM stacks
             WHERE id > ?1 AND hash LIKE 'migrating:%' ORDER BY id LIMIT 512",
            super::db::params![last],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((id, _)) = page.last() else {
            return Ok(done);
        };
        last = *id;
        for (id, frames) in &page {
            conn.execute(
                "UPDATE stacks SET hash = ?1 WHERE id = ?2",
                super::db::params![super::reports::content_key(frames.as_bytes()), *id],
            )?;
            done += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_version_from_the_baseline_has_a_postgres_migration() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        for v in 9..=SCHEMA_VERSION {
            assert!(
                versions.contains(&v),
                "SQLite schema version {v} has no migrations/postgres/ twin"
            );
        }
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ann:s3cret@db.lan:5432/triage"),
            "postgres://ann:***@db.lan:5432/triage"
        );
        assert_eq!(
            redact("postgresql://ann@db/triage?password=x&sslmode=disable"),
            "postgresql://ann@db/triage?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://db/triage"), "postgres://db/triage");
        // A password holding '@': the user info ends at the last '@'.
        assert_eq!(redact("postgres://a:p@ss@h/d"), "postgres://a:***@h/d");
        // Regression: a '/' in the password ended the user info early and showed it whole.
        assert_eq!(
            redact("postgresql://ann:pa/ss@h/d"),
            "postgresql://ann:***@h/d"
        );
        assert_eq!(
            redact("postgresql://ann:p?w@h/d"),
            "postgresql://ann:***@h/d"
        );
        // Regression: a percent-encoded key is still the password.
        assert_eq!(
            redact("postgres://h/d?passw%6Frd=S3cret&x=1"),
            "postgres://h/d?passw%6Frd=***&x=1"
        );
        assert!(!redact("postgres://u:S3cret@h").contains("S3cret"));
        assert_eq!(percent_decoded("a%2"), "a%2");
    }
}
