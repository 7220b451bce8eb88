//! The two dialects' schemas match after all migrations: the same tables, columns,
//! nullability, primary keys and unique keys, read from SQLite's `pragma_table_info` /
//! `pragma_index_list` and PostgreSQL's catalogs. A migration added to one dialect only fails
//! here.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;

/// Per table: columns with their NOT NULL, the primary key, and the unique keys.
#[derive(Debug, PartialEq, Eq, Default)]
struct Table {
    columns: BTreeMap<String, bool>,
    primary: Vec<String>,
    unique: BTreeSet<Vec<String>>,
}

fn sqlite_schema(db: &Path) -> BTreeMap<String, Table> {
    let c = rusqlite::Connection::open(db).unwrap();
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = BTreeMap::new();
    for t in names {
        let mut table = Table::default();
        let cols: Vec<(String, bool, i64)> = c
            .prepare("SELECT name, \"notnull\", pk FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([&t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for (name, notnull, k) in cols {
            // A primary key column is NOT NULL on PostgreSQL whatever it declares (and in
            // SQLite as a rowid alias or in a WITHOUT ROWID table, which are all ours).
            table.columns.insert(name.clone(), notnull || k > 0);
            if k > 0 {
                pk.push((k, name));
            }
        }
        pk.sort();
        table.primary = pk.into_iter().map(|(_, n)| n).collect();
        let indexes: Vec<(String, String)> = c
            .prepare("SELECT name, origin FROM pragma_index_list(?1) WHERE \"unique\" = 1")
            .unwrap()
            .query_map([&t], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (index, origin) in indexes {
            if origin == "pk" {
                continue;
            }
            let cols: Vec<String> = c
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .unwrap()
                .query_map([&index], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            table.unique.insert(cols);
        }
        out.insert(t, table);
    }
    out
}

fn postgres_schema(url: &str) -> BTreeMap<String, Table> {
    let mut c = pg::client(url);
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    for r in c
        .query(
            "SELECT table_name::text, column_name::text, is_nullable::text
             FROM information_schema.columns WHERE table_schema = current_schema()
             AND table_name <> 'agx_triage_meta'",
            &[],
        )
        .unwrap()
    {
        let nullable: String = r.get(2);
        out.entry(r.get(0))
            .or_default()
            .columns
            .insert(r.get(1), nullable == "NO");
    }
    for r in c
        .query(
            "SELECT t.relname::text, i.indisprimary,
                    array_agg(pg_get_indexdef(i.indexrelid, k.n::int, true) ORDER BY k.n)
             FROM pg_index i
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace ns ON ns.oid = t.relnamespace
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
             WHERE ns.nspname = current_schema() AND i.indisunique
               AND t.relname <> 'agx_triage_meta'
             GROUP BY t.relname, i.indexrelid, i.indisprimary",
            &[],
        )
        .unwrap()
    {
        let table = out.entry(r.get(0)).or_default();
        // A key that report data can make longer than a B-tree entry is unique by its md5 on
        // PostgreSQL (migrations/postgres/0009): `md5(key)` stands for `key`.
        let cols: Vec<String> = r
            .get::<_, Vec<String>>(2)
            .into_iter()
            .map(|c| {
                c.strip_prefix("md5(")
                    .and_then(|c| c.strip_suffix(')'))
                    .map_or(c.clone(), str::to_string)
            })
            .collect();
        if r.get::<_, bool>(1) {
            table.primary = cols;
        } else {
            table.unique.insert(cols);
        }
    }
    out
}

#[test]
fn sqlite_and_postgres_schemas_match_after_all_migrations() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("s.db");
    create_db(&db);
    // Not `create_db`: its empty folder is named after the database, and a URL's would land
    // in the working directory.
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = run(Path::new(&url), &["ingest", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lite = sqlite_schema(&db);
    let server = postgres_schema(&url);
    assert!(lite.contains_key("reports"), "{lite:?}");
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        server.keys().collect::<Vec<_>>(),
        "the dialects have different tables"
    );
    for (name, table) in &lite {
        // A primary key of text that report data can make long is a unique index on
        // PostgreSQL (no expression in a primary key): both are "a unique key" here.
        let as_unique = |t: &Table| {
            let mut unique = t.unique.clone();
            if t.primary.len() > 1 {
                unique.insert(t.primary.clone());
            }
            (t.columns.clone(), unique)
        };
        let server = server
            .get(name)
            .unwrap_or_else(|| panic!("no table {name}"));
        if table.primary.len() <= 1 {
            assert_eq!(
                table.primary, server.primary,
                "table {name}'s primary key differs"
            );
        }
        assert_eq!(as_unique(table), as_unique(server), "table {name} differs");
    }
}

#[test]
fn opening_a_postgres_database_twice_migrates_once_and_reports_the_same_version() {
    let Some(url) = pg::fresh_db() else { return };
    // Two processes creating the schema of one new database at once both succeed.
    let empty = tempfile::tempdir().unwrap();
    let spawn = || {
        bin()
            .arg("--db")
            .arg(&url)
            .args(["ingest", empty.path().to_str().unwrap()])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    for o in [a, b] {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let mut c = pg::client(&url);
    let v: i64 = c
        .query_one(
            "SELECT value FROM agx_triage_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(v >= 9);
}
