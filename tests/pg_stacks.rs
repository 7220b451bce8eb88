//! Stacks stored once (migration 13) on PostgreSQL: a version-12 database keeps every report's
//! frames byte for byte through the upgrade, and two writers storing the same new stack at once
//! both succeed and share one row. Against the throwaway server of `tests/common/pg.rs`
//! (skipped with a message when PostgreSQL is not installed, required under CI).
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pg.rs"]
mod pg;

use std::path::Path;

use agx_triage::store::{compress, content_key, InsertOutcome, Store, APPLICATION_ID};

/// A small `.ips` report whose stacks are the same for every incident id.
fn ips(incident: &str) -> Vec<u8> {
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

fn incident(n: usize) -> String {
    format!("AAAAAAAA-0000-0000-0000-{n:012}")
}

/// Store a report file as ingest does; the outcome.
fn ingest(store: &mut Store, bytes: &[u8]) -> InsertOutcome {
    let hash = content_key(bytes);
    let report = &agx_triage::crash::parse(bytes).unwrap()[0];
    let tx = store.begin_write().unwrap();
    tx.put_file(&hash, bytes.len() as u64, &compress(bytes).unwrap())
        .unwrap();
    let out = tx.insert_report(report, &hash, 0, "/r.ips", None).unwrap();
    tx.commit().unwrap();
    out
}

/// What the writer stores for [`ips`] when its images have ids 1 and 2.
const S1: &str = r#"[[2,"abort",8,"apple",null,null],[1,null,null,null,null,null]]"#;
const E1: &str = "[[1,null,null,null,null,null]]";
const S2: &str =
    r#"[[2,"abort",8,"apple",null,null],[1,"AGX::dispatch",48,"symcache","agx.cpp",12]]"#;
const S3: &str = r#"[[1,"caf\u00e9 é \"q\" 𝄞",0,"apple",null,4294967295]]"#;

#[test]
fn a_version_12_database_keeps_every_reports_frames_through_migration_13() {
    let Some(url) = pg::fresh_db() else { return };
    let stored: &[(i64, Option<&str>, Option<&str>)] = &[
        (1, Some(S1), Some(E1)),
        (2, Some(S1), Some(E1)),
        (3, Some(S2), None),
        (4, None, Some(S1)),
        (5, None, None),
        (6, Some(S3), Some(S3)),
    ];
    {
        let mut c = pg::client(&url);
        for sql in [
            include_str!("../migrations/postgres/0009_baseline.sql"),
            include_str!("../migrations/postgres/0010_hosts.sql"),
            include_str!("../migrations/postgres/0011_round_machine.sql"),
            include_str!("../migrations/postgres/0012_files_rowid.sql"),
        ] {
            c.batch_execute(sql).unwrap();
        }
        c.execute(
            "INSERT INTO agx_triage_meta (key, value) VALUES ('application_id', $1),
                ('schema_version', 12)",
            &[&i64::from(APPLICATION_ID)],
        )
        .unwrap();
        c.batch_execute(
            "INSERT INTO files (hash, size, compression, data) VALUES ('aa', 1, 'zstd', '\\x00');
             INSERT INTO images (id, key, uuid, name) VALUES
                (1, '2f5ccac7-cf4f-3f87-8689-7c673e90e595', '2f5ccac7-cf4f-3f87-8689-7c673e90e595', 'AGXMetalG16X'),
                (2, 'a308656d-31e2-38dc-9b95-54f3287f3899', 'a308656d-31e2-38dc-9b95-54f3287f3899', 'libsystem_kernel.dylib');
             SELECT setval(pg_get_serial_sequence('images', 'id'), 2);",
        )
        .unwrap();
        for (id, crashed, exception) in stored {
            c.execute(
                "INSERT INTO reports (id, identity, kind, format, file_hash, ingested_at)
                 VALUES ($1, $2, 'crash', 'ips', 'aa', 't')",
                &[id, &format!("R{id}")],
            )
            .unwrap();
            if *id != 5 {
                c.execute(
                    "INSERT INTO report_frames (report_id, crashed, exception)
                     VALUES ($1, $2, $3)",
                    &[id, crashed, exception],
                )
                .unwrap();
            }
        }
        c.batch_execute("SELECT setval(pg_get_serial_sequence('reports', 'id'), 6)")
            .unwrap();
    }
    let mut store = Store::open(Path::new(&url)).unwrap();
    let mut c = pg::client(&url);
    let mut of = |id: i64| -> (Option<String>, Option<String>, Option<i64>, Option<i64>) {
        let r = c
            .query_one(
                "SELECT (SELECT frames FROM stacks WHERE id = r.crashed_stack),
                        (SELECT frames FROM stacks WHERE id = r.exception_stack),
                        crashed_stack, exception_stack
                 FROM reports r WHERE id = $1",
                &[&id],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2), r.get(3))
    };
    for (id, crashed, exception) in stored {
        let (cr, ex, _, _) = of(*id);
        assert_eq!(
            (cr.as_deref(), ex.as_deref()),
            (*crashed, *exception),
            "report {id}"
        );
    }
    assert_eq!(of(1).2, of(2).2);
    assert_eq!(of(1).2, of(4).3);
    let first = of(1);
    let mut c = pg::client(&url);
    for r in c.query("SELECT hash, frames FROM stacks", &[]).unwrap() {
        let (hash, frames): (String, String) = (r.get(0), r.get(1));
        assert_eq!(hash, content_key(frames.as_bytes()), "{frames}");
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM stacks", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 4);
    // A report ingested afterwards with the same stacks finds the migrated rows.
    let InsertOutcome::New(new) = ingest(&mut store, &ips(&incident(9))) else {
        panic!("not new")
    };
    let r = c
        .query_one(
            "SELECT crashed_stack, exception_stack FROM reports WHERE id = $1",
            &[&new],
        )
        .unwrap();
    let (cr, ex): (Option<i64>, Option<i64>) = (r.get(0), r.get(1));
    assert_eq!((cr, ex), (first.2, first.3));
    let n: i64 = c
        .query_one("SELECT count(*) FROM stacks", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 4, "no stack stored twice");
}

#[test]
fn two_writers_storing_the_same_new_stack_at_once_both_succeed() {
    let Some(url) = pg::fresh_db() else { return };
    drop(Store::open(Path::new(&url)).unwrap());
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for w in 0..2 {
            let (url, barrier) = (&url, &barrier);
            s.spawn(move || {
                let mut store = Store::open(Path::new(url)).unwrap();
                barrier.wait();
                for i in 0..20 {
                    let out = ingest(&mut store, &ips(&incident(w * 100 + i)));
                    assert!(matches!(out, InsertOutcome::New(_)), "{out:?}");
                }
            });
        }
    });
    let mut c = pg::client(&url);
    let r = c
        .query_one(
            "SELECT count(*), count(DISTINCT crashed_stack), count(DISTINCT exception_stack)
             FROM reports",
            &[],
        )
        .unwrap();
    let counts: (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
    assert_eq!(counts, (40, 1, 1));
    let n: i64 = c
        .query_one("SELECT count(*) FROM stacks", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}
