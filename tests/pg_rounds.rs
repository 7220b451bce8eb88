//! `round run` and `report --out` against a throwaway PostgreSQL server (`tests/common/pg.rs`;
//! skipped with a message when PostgreSQL is not installed, required under CI): rounds run
//! into the server are stored under this machine with what they ran under, a round of the
//! same number is refused the same way as on SQLite, and a writeup written from the server is
//! the writeup written from a SQLite file holding the same rounds.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::path::Path;

use common::*;

fn round_run(db: &Path, reports: &Path, number: &str, cmd: &[&str]) -> std::process::Output {
    let mut args = vec![
        "round",
        "run",
        "--round",
        number,
        "--crash-wait",
        "0",
        "--reports-dir",
        reports.to_str().unwrap(),
        "--json",
        "--",
    ];
    args.extend_from_slice(cmd);
    run(db, &args)
}

#[test]
fn rounds_run_into_postgres_and_its_writeup_matches_sqlite() {
    let Some(url) = pg::fresh_db() else { return };
    let server = Path::new(&url);
    let t = tempfile::tempdir().unwrap();
    let lite = t.path().join("t.db");
    let reports = t.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    for db in [server, lite.as_path()] {
        for n in ["1", "2", "3"] {
            let o = round_run(db, &reports, n, &["true"]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            assert_eq!(json(&o)["host"], "test-mac");
        }
        // Exit 1 on every attempt: the round fails (no crash report to attribute).
        let o = round_run(db, &reports, "4", &["false"]);
        assert_eq!(json(&o)["outcome"], "fail", "{}", stderr(&o));
        // Round 1 of this machine is taken, on the server as on the file.
        let o = round_run(db, &reports, "1", &["true"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("already stored"), "{}", stderr(&o));
    }
    let rounds = json(&run(server, &["rounds", "--json"]));
    let rounds = rounds.as_array().unwrap();
    assert_eq!(rounds.len(), 4);
    let detected = agx_triage::host::detect(None);
    for r in rounds {
        assert_eq!(r["host"], "test-mac");
        assert_eq!(r["os"].as_str(), detected.os.as_deref(), "{r}");
    }

    let mut written = Vec::new();
    for (db, name) in [(server, "pg"), (lite.as_path(), "lite")] {
        let out = t.path().join(name);
        let o = run(
            db,
            &["report", "--rounds", "1-4", "--out", out.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        written.push(std::fs::read_to_string(out.join("report.md")).unwrap());
    }
    // The writeup names its database in one line; everything else is the same.
    let strip = |md: &str| -> String {
        md.lines()
            .filter(|l| !l.contains("postgresql://") && !l.contains("t.db"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&written[0]), strip(&written[1]));
    assert!(written[0].contains("3/4"), "{}", written[0]);
}
