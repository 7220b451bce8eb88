//! `agx-triage merge` through the real binary (docs/FLEET.md): two machines' databases that
//! share half their reports and all their round numbers, merged twice; a conflicting round;
//! a database of an older schema (read, never changed); files that are not agx-triage
//! databases; a database merged into itself.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::path::Path;

use common::*;

fn ok(o: &std::process::Output) {
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
}

fn incident(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A machine's database: reports `reports` ingested (same bytes on every machine), rounds
/// 1825-1828 of host `host`, round 1825 crashing with the first report.
fn machine(
    dir: &Path,
    name: &str,
    host: &str,
    reports: std::ops::Range<usize>,
) -> std::path::PathBuf {
    let db = dir.join(format!("{name}.db"));
    let rdir = dir.join(format!("{name}-reports"));
    write_reports(&rdir, "r", reports.start, reports.len(), 0);
    ok(&run(&db, &["ingest", rdir.to_str().unwrap()]));
    let first = incident(reports.start);
    let lines: Vec<String> = (1825..1829)
        .map(|n| {
            if n == 1825 {
                format!(
                    r#"{{"round": {n}, "fix": "v2.4", "attempts": [{{"exit_code": null, "signal": 11, "crash_reports": ["{first}"]}}]}}"#
                )
            } else {
                format!(r#"{{"round": {n}, "fix": "v2.4", "attempts": [{{"exit_code": 0}}]}}"#)
            }
        })
        .collect();
    let f = dir.join(format!("{name}.jsonl"));
    std::fs::write(&f, lines.join("\n")).unwrap();
    ok(&run(
        &db,
        &["round", "import", "--host", host, f.to_str().unwrap()],
    ));
    db
}

fn bytes_hash(p: &Path) -> String {
    blake3::hash(&std::fs::read(p).unwrap())
        .to_hex()
        .to_string()
}

fn counts(v: &serde_json::Value, kind: &str) -> (u64, u64, u64) {
    let c = &v["total"][kind];
    (
        c["added"].as_u64().unwrap(),
        c["already"].as_u64().unwrap(),
        c["conflicts"].as_u64().unwrap(),
    )
}

#[test]
fn two_machines_merge_into_the_union_and_merging_again_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..6);
    let b = machine(t.path(), "b", "mac-b", 3..9);
    let b_before = bytes_hash(&b);

    let o = run(&a, &["merge", "--json", b.to_str().unwrap()]);
    ok(&o);
    let v = json(&o);
    assert_eq!(counts(&v, "reports"), (3, 3, 0), "{v:#}");
    assert_eq!(counts(&v, "rounds"), (4, 0, 0), "{v:#}");
    // mac-b, and this machine (which ingested both databases' reports) already here.
    assert_eq!(counts(&v, "hosts"), (1, 1, 0), "{v:#}");

    let reports = json(&run(&a, &["reports", "--json"]));
    assert_eq!(reports.as_array().unwrap().len(), 9, "the union of reports");
    let rounds = json(&run(&a, &["rounds", "--json"]));
    let keys: Vec<(i64, String)> = rounds
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["round"].as_i64().unwrap(),
                r["host"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want = Vec::new();
    for n in 1825..1829 {
        want.push((n, "mac-a".to_string()));
        want.push((n, "mac-b".to_string()));
    }
    assert_eq!(keys, want, "both machines' rounds, apart");
    // mac-b's round 1825 names a report only b had: it is in the union now.
    let b1825 = &rounds[1];
    assert_eq!(
        b1825["attempts"][0]["crash_reports"][0],
        incident(3).to_uppercase()
    );

    // The selector picks one machine's rounds.
    let c = json(&run(
        &a,
        &[
            "compare",
            "--a",
            "fix:v2.4,host:mac-a",
            "--b",
            "fix:v2.4,host:mac-b",
            "--json",
        ],
    ));
    assert_eq!(c["a"]["rounds"], 4);
    assert_eq!(c["b"]["rounds"], 4);

    // Again: nothing added, everything already there.
    let o = run(&a, &["merge", "--json", b.to_str().unwrap()]);
    ok(&o);
    let v = json(&o);
    assert_eq!(counts(&v, "reports"), (0, 6, 0), "{v:#}");
    assert_eq!(counts(&v, "rounds"), (0, 4, 0), "{v:#}");
    assert_eq!(counts(&v, "hosts"), (0, 2, 0), "{v:#}");
    assert_eq!(v["total"]["sources_added"], 0);
    assert_eq!(
        json(&run(&a, &["reports", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        9
    );
    assert_eq!(
        json(&run(&a, &["rounds", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert_eq!(bytes_hash(&b), b_before, "the source is only read");
}

#[test]
fn a_conflicting_round_is_reported_and_left_alone_on_both_sides() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..2);
    let b = machine(t.path(), "b", "mac-b", 0..2);
    ok(&run(&a, &["merge", b.to_str().unwrap()]));
    // b's round 1826 is recorded again, differently (a retry that crashed).
    let f = t.path().join("again.jsonl");
    std::fs::write(
        &f,
        r#"{"round": 1826, "fix": "v2.4", "attempts": [{"exit_code": 1}]}"#,
    )
    .unwrap();
    ok(&run(
        &b,
        &[
            "round",
            "import",
            "--replace",
            "--host",
            "mac-b",
            f.to_str().unwrap(),
        ],
    ));
    let b_before = bytes_hash(&b);
    let o = run(&a, &["merge", "--json", b.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a conflict is exit 1: {}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(counts(&v, "rounds"), (0, 3, 1), "{v:#}");
    let p = &v["sources"][0]["problems"][0];
    assert_eq!(
        (p["kind"].as_str(), p["key"].as_str()),
        (Some("round"), Some("mac-b:1826"))
    );
    let rounds = json(&run(
        &a,
        &["rounds", "--json", "--select", "host:mac-b,rounds:1826"],
    ));
    assert_eq!(
        rounds[0]["outcome"], "raw-pass",
        "the target's round is kept"
    );
    assert_eq!(bytes_hash(&b), b_before);
    // The text form names the round too.
    let o = run(&a, &["merge", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("conflict round mac-b:1826"),
        "{}",
        stdout(&o)
    );
}

/// A database as version 9 (before hosts) wrote it: the migrations' SQL up to 0009.
fn version_9_db(p: &Path) {
    let conn = rusqlite::Connection::open(p).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .filter(|p| p.file_name().unwrap().to_str().unwrap() < "0010")
        .collect();
    files.sort();
    assert_eq!(files.len(), 9);
    for f in files {
        conn.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    conn.execute_batch(
        "PRAGMA user_version = 9; PRAGMA application_id = 1095194708;
         INSERT INTO rounds (id, number, fix_name, outcome, source, recorded_at)
             VALUES (1, 1825, 'v2.4', 'raw-pass', 'import', '2026-11-01T00:00:00Z');
         INSERT INTO attempts (round_id, idx, exit_code) VALUES (1, 1, 0);",
    )
    .unwrap();
}

#[test]
fn an_older_database_is_read_through_a_migrated_copy_and_never_changed() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..1);
    let old = t.path().join("old.db");
    version_9_db(&old);
    let before = bytes_hash(&old);
    // Its rounds name no machine: merge asks which.
    let o = run(&a, &["merge", old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--host NAME"), "{}", stderr(&o));
    let o = run(
        &a,
        &[
            "merge",
            "--json",
            "--host",
            "mac-old",
            old.to_str().unwrap(),
        ],
    );
    ok(&o);
    assert_eq!(counts(&json(&o), "rounds"), (1, 0, 0));
    let r = json(&run(&a, &["rounds", "--json", "--select", "host:mac-old"]));
    assert_eq!(r[0]["round"], 1825);
    assert_eq!(
        bytes_hash(&old),
        before,
        "the old file is never migrated in place"
    );
    let o = run(
        &a,
        &[
            "merge",
            "--json",
            "--host",
            "mac-old",
            old.to_str().unwrap(),
        ],
    );
    ok(&o);
    assert_eq!(counts(&json(&o), "rounds"), (0, 1, 0));
}

#[test]
fn files_that_are_not_agx_triage_databases_are_refused_and_the_rest_merged() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..1);
    let b = machine(t.path(), "b", "mac-b", 1..2);
    let text = t.path().join("notes.db");
    std::fs::write(&text, "not a database\n").unwrap();
    let other = t.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE songs (title TEXT)")
        .unwrap();
    let other_before = bytes_hash(&other);
    let missing = t.path().join("missing.db");
    let o = run(
        &a,
        &[
            "merge",
            "--json",
            text.to_str().unwrap(),
            other.to_str().unwrap(),
            missing.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "some inputs failed: {}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["total"]["unreadable_sources"], 3);
    assert_eq!(counts(&v, "rounds"), (4, 0, 0), "the good source is merged");
    let e = stderr(&o);
    assert!(
        e.contains("notes.db") && e.contains("not an agx-triage database"),
        "{e}"
    );
    assert!(e.contains("other.sqlite") && e.contains("songs"), "{e}");
    assert!(e.contains("missing.db") && e.contains("no database"), "{e}");
    assert_eq!(bytes_hash(&other), other_before);
}

#[test]
fn a_database_merged_into_itself_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..1);
    let before = json(&run(&a, &["rounds", "--json"]));
    let o = run(&a, &["merge", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is the --db database itself"),
        "{}",
        stderr(&o)
    );
    // Through another name for the same file (a symlink) too.
    let link = t.path().join("link.db");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let o = run(&a, &["merge", link.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&run(&a, &["rounds", "--json"])), before);
}

#[test]
fn symbol_names_stored_originals_and_the_ingesting_host_are_carried_over() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..1);
    let b = machine(t.path(), "b", "mac-b", 5..6);
    // Symbolicate b's report by hand, as `symbolicate` would have.
    let id = {
        let mut s = agx_triage::store::Store::open(&b).unwrap();
        let id = s.report_by_identity(&incident(5)).unwrap().unwrap().id;
        let mut f = s.load_report(id).unwrap().report.crashed().unwrap().frames[0].clone();
        f.symbol = Some("AGX::merged_symbol_name".into());
        let tx = s.begin_write().unwrap();
        tx.set_frame_symbol(id, "crashed", 0, &f).unwrap();
        tx.commit().unwrap();
        id
    };
    let show = |db: &Path, id: i64| json(&run(db, &["show", &id.to_string(), "--json"]));
    let theirs = show(&b, id);
    ok(&run(&a, &["merge", b.to_str().unwrap()]));
    let mine_id = json(&run(&a, &["reports", "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["incident_id"].as_str() == Some(&incident(5).to_uppercase()))
        .map(|r| r["id"].as_i64().unwrap())
        .expect("merged report");
    let mine = show(&a, mine_id);
    let frames = |v: &serde_json::Value| v["report"]["threads"].clone();
    assert!(
        theirs.to_string().contains("AGX::merged_symbol_name"),
        "the source shows its symbol"
    );
    assert_eq!(
        frames(&mine),
        frames(&theirs),
        "same frames, symbol included"
    );
    // The stored original is the same bytes: `show --original`-style access re-parses it.
    let conn = rusqlite::Connection::open(&a).unwrap();
    let host: Option<String> = conn
        .query_row(
            "SELECT h.name FROM reports r JOIN hosts h ON h.id = r.host_id WHERE r.id = ?1",
            [mine_id],
            |r| r.get(0),
        )
        .unwrap();
    let conn_b = rusqlite::Connection::open(&b).unwrap();
    let host_b: Option<String> = conn_b
        .query_row(
            "SELECT h.name FROM reports r JOIN hosts h ON h.id = r.host_id WHERE r.id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(host_b.is_some(), "ingest records its host");
    assert_eq!(host, host_b, "the ingesting host is carried over");
}

/// Drop what legitimately differs between two targets: row ids and wall-clock times.
fn without_ids_and_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| {
                !matches!(
                    k.as_str(),
                    "id" | "report_id" | "recorded_at" | "ingested_at" | "first_seen"
                )
            });
            m.values_mut().for_each(without_ids_and_times);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(without_ids_and_times),
        _ => {}
    }
}

#[test]
fn merging_into_postgres_gives_what_merging_into_sqlite_gives_and_is_idempotent() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..6);
    let b = machine(t.path(), "b", "mac-b", 3..9);
    let server = Path::new(&url);
    let lite = t.path().join("central.db");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

    for target in [server, lite.as_path()] {
        let v = json(&run(target, &["merge", "--json", a, b]));
        assert_eq!(counts(&v, "reports"), (9, 3, 0), "{v:#}");
        assert_eq!(counts(&v, "rounds"), (8, 0, 0), "{v:#}");
        let again = run(target, &["merge", "--json", a, b]);
        ok(&again);
        let v = json(&again);
        assert_eq!(counts(&v, "reports"), (0, 12, 0), "{v:#}");
        assert_eq!(counts(&v, "rounds"), (0, 8, 0), "{v:#}");
        assert_eq!(v["total"]["sources_added"], 0, "{v:#}");
    }
    for args in [
        &["reports", "--json"][..],
        &["rounds", "--json"],
        &["buckets", "--json"],
        &[
            "compare",
            "--a",
            "host:mac-a",
            "--b",
            "host:mac-b",
            "--json",
        ],
    ] {
        let mut on_server = json(&run(server, args));
        let mut on_file = json(&run(&lite, args));
        without_ids_and_times(&mut on_server);
        without_ids_and_times(&mut on_file);
        assert_eq!(on_server, on_file, "{args:?}");
    }
    let rounds = json(&run(server, &["rounds", "--json"]));
    assert_eq!(
        rounds.as_array().unwrap().len(),
        8,
        "both machines' rounds, apart"
    );
}

// Regression: a server URL given as a source was printed whole, password included, on stderr
// and in `--json`; and `--help` printed `$AGX_TRIAGE_DB`, password included.
#[test]
fn a_server_url_as_a_source_is_refused_and_its_password_never_shown() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..1);
    let url = "postgresql://ann:pa/ss@db.lan/triage?passw%6Frd=S3cret";
    let o = run(&a, &["merge", "--json", url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    for secret in ["pa/ss", "S3cret"] {
        assert!(!out.contains(secret) && !err.contains(secret), "{out}{err}");
    }
    assert!(err.contains("PostgreSQL server"), "{err}");
    assert_eq!(json(&o)["total"]["unreadable_sources"], 1);

    let help = bin()
        .env("AGX_TRIAGE_DB", "postgres://ann:S3cret@db.lan/triage")
        .args(["merge", "--help"])
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(!stdout(&help).contains("S3cret"), "{}", stdout(&help));
}

/// A copy of `db` (main file only: merged databases are closed, their WAL checkpointed).
fn copy_of(db: &Path, to: &Path) -> std::path::PathBuf {
    std::fs::copy(db, to).unwrap();
    to.to_path_buf()
}

fn sql(db: &Path, statements: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(statements)
        .unwrap();
}

fn identities(db: &Path) -> Vec<String> {
    let mut v: Vec<String> = json(&run(db, &["reports", "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["incident_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

// Regression: merge stored a source's original under the key the source gave it, unchecked:
// a damaged or crafted source (one report's original stored under another's key) made the
// target hold report B under report A's key, so ingesting A's real file later found it
// "already stored" and A was lost for good, while merge said all was well.
#[test]
fn a_source_whose_originals_do_not_match_their_keys_is_not_trusted() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..3);
    let bad = copy_of(&a, &t.path().join("bad.db"));
    let conn = rusqlite::Connection::open(&bad).unwrap();
    let strings = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        let rows = st.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let keys = strings("SELECT file_hash FROM reports ORDER BY id");
    let cols = strings("SELECT name FROM pragma_table_info('files') WHERE name <> 'hash'");
    let cols = cols.join(", ");
    conn.execute(
        &format!("UPDATE files SET ({cols}) = (SELECT {cols} FROM files WHERE hash = ?2) WHERE hash = ?1"),
        [&keys[0], &keys[1]],
    )
    .unwrap();
    drop(conn);

    let target = t.path().join("t.db");
    let o = run(&target, &["merge", "--json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["total"]["reports"]["failed"], 1, "{v:#}");
    assert_eq!(v["total"]["reports"]["added"], 2, "{v:#}");
    // The real file of the report that failed still ingests as new.
    let o = run(
        &target,
        &[
            "ingest",
            "--json",
            t.path().join("a-reports").to_str().unwrap(),
        ],
    );
    assert_eq!(json(&o)["new"], 1, "{}", stdout(&o));
    assert_eq!(identities(&target), identities(&a));
}

// Regression: one unreadable row in a source stopped the whole merge with exit 2 ("the target
// failed") and skipped every later source.
#[test]
fn a_damaged_source_keeps_what_was_merged_and_the_next_source_is_merged() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..3);
    let b = machine(t.path(), "b", "mac-b", 3..6);
    let damaged = copy_of(&a, &t.path().join("damaged.db"));
    sql(&damaged, "UPDATE attempts SET exit_code = 'abc'");
    let target = t.path().join("t.db");
    let o = run(
        &target,
        &[
            "merge",
            "--json",
            damaged.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("damaged.db"), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["sources"][0]["reports"]["added"], 3, "{v:#}");
    assert!(v["sources"][0]["error"].is_string(), "{v:#}");
    assert_eq!(v["sources"][1]["rounds"]["added"], 4, "{v:#}");
    assert_eq!(identities(&target).len(), 6);
}

// Regression: merging an older copy of a machine's database rolled its OS back.
#[test]
fn merge_order_never_rolls_a_hosts_description_back() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..1);
    let newer = copy_of(&a, &t.path().join("newer.db"));
    sql(
        &newer,
        "UPDATE hosts SET os = 'macOS 26.1 (25B78)' WHERE name = 'mac-a'",
    );
    let older = copy_of(&a, &t.path().join("older.db"));
    sql(
        &older,
        "UPDATE hosts SET os = 'macOS 15.6 (24G84)' WHERE name = 'mac-a'",
    );
    let target = t.path().join("t.db");
    for src in [&newer, &older, &newer] {
        let o = run(&target, &["merge", src.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let os: String = rusqlite::Connection::open(&target)
        .unwrap()
        .query_row("SELECT os FROM hosts WHERE name = 'mac-a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(os, "macOS 26.1 (25B78)");
}

// Regression: reading a source left `-wal` and `-shm` files beside it; and host names this
// tool refuses everywhere else (`,`, `:`, a newline) were merged and printed raw, forging
// lines of the report; `--host` was ignored silently for a current source.
#[test]
fn a_source_is_left_without_side_files_and_its_bad_host_names_are_conflicts() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "mac-a", 0..2);
    let evil = copy_of(&a, &t.path().join("evil.db"));
    sql(
        &evil,
        "UPDATE hosts SET name = 'evil,host:x' || char(10) || 'line' WHERE name = 'mac-a'",
    );
    let before = bytes_hash(&evil);
    let target = t.path().join("t.db");
    let o = run(
        &target,
        &["merge", "--host", "mac-z", evil.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for side in ["evil.db-wal", "evil.db-shm"] {
        assert!(
            !t.path().join(side).exists(),
            "{side} left beside the source"
        );
    }
    assert_eq!(bytes_hash(&evil), before);
    let out = stdout(&o);
    assert!(
        out.lines().all(|l| !l.starts_with("line")),
        "a host name forged a line: {out}"
    );
    assert!(out.contains("conflict host"), "{out}");
    assert!(stderr(&o).contains("--host applies only"), "{}", stderr(&o));
    let rounds = json(&run(&target, &["rounds", "--json"]));
    assert_eq!(
        rounds.as_array().unwrap().len(),
        0,
        "its rounds are conflicts"
    );
}
