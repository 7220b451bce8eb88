//! The PostgreSQL backend through the real binary, against a throwaway server
//! (`tests/common/pg.rs`; skipped with a message when PostgreSQL is not installed, required
//! under CI): the same commands give the same answers on SQLite and on PostgreSQL, two
//! concurrent ingests of the same reports store each once, a killed ingest leaves a consistent
//! database, and a database that is not ours is refused untouched.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/fix_build.rs"]
mod fix_build;
#[path = "common/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};

use common::*;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Drop what legitimately differs between two databases: row ids and wall-clock times.
fn normalize(v: &mut serde_json::Value) {
    const VOLATILE: &[&str] = &[
        "id",
        "example_report",
        "report_id",
        "ingested_at",
        "recorded_at",
        "registered_at",
        "db",
        "database",
    ];
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !VOLATILE.contains(&k.as_str()));
            m.values_mut().for_each(normalize);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn ok(o: &std::process::Output) {
    assert!(
        o.status.code() == Some(0),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Ingest the samples and synthetic reports, import the sample rounds, record one round by
/// hand, rebucket, and register a fix build when the tools to build one are here.
fn fill(db: &Path, synth: &Path, fix: Option<&Path>) {
    for folder in [samples().join("reports"), synth.to_path_buf()] {
        let o = run(db, &["ingest", "--threads", "1", folder.to_str().unwrap()]);
        assert!(
            matches!(o.status.code(), Some(0) | Some(1)),
            "{}",
            stderr(&o)
        );
    }
    ok(&run(
        db,
        &[
            "round",
            "import",
            samples().join("rounds.jsonl").to_str().unwrap(),
        ],
    ));
    ok(&run(
        db,
        &[
            "round",
            "record",
            "--round",
            "7",
            "--fix",
            "v2.4",
            "--set",
            "threads=8",
            "--attempt",
            "signal=SIGSEGV",
            "--attempt",
            "exit=0",
        ],
    ));
    ok(&run(db, &["rebucket"]));
    if let Some(dylib) = fix {
        ok(&run(
            db,
            &["fix", "add", dylib.to_str().unwrap(), "--name", "v2.4"],
        ));
    }
}

fn answers(db: &Path) -> Vec<(String, serde_json::Value)> {
    let cmds: Vec<Vec<&str>> = vec![
        vec!["buckets", "--json"],
        vec!["buckets", "--json", "--process", "PYTHON"],
        vec!["buckets", "--json", "--since", "2026-01-01"],
        vec!["buckets", "--json", "--rounds", "1820-1849"],
        vec!["buckets", "--json", "--fix", "v2.4"],
        vec![
            "buckets",
            "--json",
            "--fix",
            "v2.4",
            "--include-unconfirmed",
        ],
        vec!["buckets", "--json", "--pattern", "agx-null-impl-0x98"],
        vec!["reports", "--json", "--process", "python", "--limit", "5"],
        vec![
            "reports",
            "--json",
            "--since",
            "2026-01-01",
            "--pattern",
            "agx-null-impl-0x98",
        ],
        vec!["reports", "--json", "--frame", "objc_msgSend"],
        vec![
            "reports",
            "--json",
            "--image",
            "11111111-2222-3333-4444-555555555555",
        ],
        vec![
            "compare",
            "--a",
            "rounds:1790-1819",
            "--b",
            "rounds:1820-1849",
            "--json",
        ],
        vec![
            "report",
            "--rounds",
            "1820-1849",
            "--against",
            "1790-1819",
            "--format",
            "json",
        ],
        vec!["rounds", "--json"],
        vec!["compare", "--a", "fix:v2.4", "--b", "native", "--json"],
        vec!["rounds", "--json", "--select", "fix:v2.4"],
        vec!["rounds", "--json", "--select", "rounds:1800-1810"],
        vec!["rounds", "--json", "--select", "native"],
        vec!["fix", "list", "--json"],
        vec!["show", "--json", "1"],
        vec!["show", "--json", "40"],
        vec!["reports", "--json"],
        vec!["correlate", "--pattern", "agx-null-impl-0x98", "--json"],
        vec!["reports", "--json", "--image", "libsystem_kernel.dylib"],
    ];
    cmds.into_iter()
        .map(|args| {
            let o = bin()
                .arg("--db")
                .arg(db)
                .args(&args)
                .env("AGX_TRIAGE_NOW", "2026-11-25T12:00:00Z")
                .output()
                .unwrap();
            assert_eq!(
                o.status.code(),
                Some(0),
                "`{}` on {}: {}",
                args.join(" "),
                db.display(),
                stderr(&o)
            );
            let mut v = json(&o);
            normalize(&mut v);
            (args.join(" "), v)
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_give_the_same_answers() {
    // Regression: on a database that does not collate by bytes (en-US here, the default of
    // many servers) `buckets --json` and `rounds --json` came in another order than SQLite's.
    let Some(url) = pg::fresh_db_en_us() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let synth = t.path().join("synth");
    write_reports(&synth, "s", 0, 40, 12);
    let fix = fix_build::tools().map(|_| fix_build::build_fix("pg_cli", "2.4"));
    if fix.is_none() {
        eprintln!("no fix build tools: parity runs without a registered fix");
    }
    let lite = t.path().join("lite.db");
    fill(&lite, &synth, fix.as_deref());
    fill(Path::new(&url), &synth, fix.as_deref());
    let a = answers(&lite);
    let b = answers(Path::new(&url));
    for ((cmd, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x.to_string().len() > 4 || cmd.starts_with("fix list"),
            "`{cmd}` answered nothing on SQLite: {x}"
        );
        assert_eq!(x, y, "`{cmd}` differs between SQLite and PostgreSQL");
    }
}

// Regression: on an en-US database, `rounds --json` listed host "alpha" before "Zed" (SQLite:
// by bytes, "Zed" first) and attempts' incident ids read back as ["XZ1", "X_1"], so
// importing the same round again was a conflict (merge was not idempotent).
#[test]
fn rounds_read_back_in_byte_order_on_an_en_us_database() {
    let Some(url) = pg::fresh_db_en_us() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("r.jsonl");
    std::fs::write(
        &file,
        r#"{"round":1,"fix":"native","config":{"Zed":"1","alpha":"2","a_b":"3","aZ":"4"},"attempts":[{"signal":11,"crash_reports":["X_1","XZ1","x_1"]}]}"#,
    )
    .unwrap();
    let lite = t.path().join("lite.db");
    let mut answers = Vec::new();
    for db in [lite.as_path(), Path::new(&url)] {
        for host in ["alpha", "Zed", "alpha", "Zed"] {
            let o = run(
                db,
                &[
                    "round",
                    "import",
                    "--json",
                    "--host",
                    host,
                    file.to_str().unwrap(),
                ],
            );
            ok(&o);
            let v = json(&o);
            assert_eq!(v["conflicts"], 0, "{v}");
        }
        let o = run(
            db,
            &[
                "round",
                "import",
                "--json",
                "--host",
                "Zed",
                file.to_str().unwrap(),
            ],
        );
        ok(&o);
        assert_eq!(json(&o)["unchanged"], 1, "{}", stdout(&o));
        let o = run(db, &["rounds", "--json"]);
        ok(&o);
        let mut v = json(&o);
        normalize(&mut v);
        answers.push(v);
    }
    let hosts: Vec<String> = answers[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["host"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(hosts, ["Zed", "alpha"], "{}", answers[1]);
    assert_eq!(answers[0], answers[1]);
}

/// `n` letters that do not compress (a B-tree entry is compressed before its size is checked).
fn noise(seed: u64, n: usize) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (b'a' + ((x >> 33) % 26) as u8) as char
        })
        .collect()
}

// Regression: a report listing ~700 images (image_lists.key), an image with a 6,000-character
// path and no UUID (images.key), a 4,000-character symbol, a report file whose
// path is ~3,000 bytes (sources.path) and a round with a long config key and incident id
// failed the whole batch on PostgreSQL ("index row size ... exceeds btree maximum 2704")
// where SQLite stores them.
#[test]
fn keys_longer_than_a_btree_entry_are_stored_on_postgres_as_on_sqlite() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let mut deep = t.path().join("reports");
    for i in 0..14 {
        deep = deep.join(noise(100 + i, 200));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let mut many = synth_report("00000000-0000-4000-8000-000000000701", 701, 0);
    for i in 0..700u64 {
        many = many.image(
            agx_synth::Image::new(&format!("lib{i}.dylib"), &format!("/usr/lib/lib{i}.dylib"))
                .base(8_000_000_000 + i * 100_000)
                .size(50_000)
                .uuid(&format!("{i:08X}-0000-4000-8000-{:012X}", i * 7919)),
        );
    }
    std::fs::write(deep.join("many.ips"), many.build_ips()).unwrap();
    let long_path = format!("/opt/{}/libx.dylib", noise(1, 6000));
    let long_symbol = format!("sym_{}", noise(2, 4000));
    let mut long = synth_report("00000000-0000-4000-8000-000000000702", 702, 0).image(
        agx_synth::Image::new("libx.dylib", &long_path)
            .base(9_000_000_000)
            .size(4096),
    );
    long.threads[0]
        .frames
        .insert(0, agx_synth::Frame::new(3, 16).symbol(&long_symbol, 8));
    std::fs::write(deep.join("long.ips"), long.build_ips()).unwrap();
    let rounds = t.path().join("r.jsonl");
    std::fs::write(
        &rounds,
        format!(
            r#"{{"round":1,"fix":"native","config":{{"{}":"1"}},"attempts":[{{"signal":11,"crash_reports":["{}"]}}]}}"#,
            noise(3, 3000),
            noise(4, 3000)
        ),
    )
    .unwrap();
    // Host names are refused past 255 bytes, so they are B-tree keys.
    let host = noise(5, 255);
    let lite = t.path().join("lite.db");
    let mut answers = Vec::new();
    for db in [lite.as_path(), Path::new(&url)] {
        ok(&run(
            db,
            &[
                "ingest",
                "--threads",
                "1",
                t.path().join("reports").to_str().unwrap(),
            ],
        ));
        for _ in 0..2 {
            let o = run(
                db,
                &[
                    "round",
                    "import",
                    "--json",
                    "--host",
                    &host,
                    rounds.to_str().unwrap(),
                ],
            );
            ok(&o);
            assert_eq!(json(&o)["conflicts"], 0, "{}", stdout(&o));
        }
        let mut out = Vec::new();
        for args in [
            vec!["reports", "--json"],
            vec!["show", "--json", "1"],
            vec!["show", "--json", "2"],
            vec!["buckets", "--json"],
            vec!["rounds", "--json"],
        ] {
            let o = run(db, &args);
            ok(&o);
            let mut v = json(&o);
            normalize(&mut v);
            out.push(v);
        }
        answers.push(out);
    }
    assert_eq!(
        answers[0][0].as_array().map(Vec::len),
        Some(2),
        "{}",
        answers[0][0]
    );
    let mut c = pg::client(&url);
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM images WHERE length(path) > 6000"
        ),
        1
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM image_lists WHERE image_count > 700"
        ),
        1
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM sources WHERE length(path) > 2800"
        ),
        2
    );
    assert_eq!(answers[0], answers[1]);
}

// Regression: on an en-US database buckets of equal size came in collation order ("alpha"
// before "Zed", "a_b" after "aZ"), SQLite's by bytes.
#[test]
fn buckets_list_in_byte_order_on_an_en_us_database() {
    let Some(url) = pg::fresh_db_en_us() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let folder = t.path().join("r");
    std::fs::create_dir_all(&folder).unwrap();
    for (i, name) in ["alpha_fn", "Zed_fn", "a_b", "aZ", "X_1", "XZ1"]
        .iter()
        .enumerate()
    {
        let ips = synth_ips(
            &format!("00000000-0000-4000-8000-00000000095{i}"),
            950 + i as u32,
            0,
        )
        .replace("objc_msgSend", name)
        .replace("setBuffer:offset:atIndex:", name);
        std::fs::write(folder.join(format!("b{i}.ips")), ips).unwrap();
    }
    let lite = t.path().join("lite.db");
    let mut answers = Vec::new();
    for db in [lite.as_path(), Path::new(&url)] {
        ok(&run(
            db,
            &["ingest", "--threads", "1", folder.to_str().unwrap()],
        ));
        let o = run(db, &["buckets", "--json"]);
        ok(&o);
        let mut v = json(&o);
        normalize(&mut v);
        answers.push(v);
    }
    assert!(answers[0].as_array().unwrap().len() > 1, "{}", answers[0]);
    assert_eq!(answers[0], answers[1]);
}

fn count(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

/// No report without a source or its file, no crash without its frames, no source twice.
fn assert_consistent(url: &str) {
    let mut c = pg::client(url);
    for (sql, what) in [
        (
            "SELECT count(*) FROM reports r
             WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.report_id = r.id)",
            "a report without a source",
        ),
        (
            "SELECT count(*) FROM reports r
             WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.hash = r.file_hash)",
            "a report without its file",
        ),
        (
            "SELECT count(*) FROM reports r WHERE r.frame_count > 0
             AND NOT EXISTS (SELECT 1 FROM stacks s WHERE s.id = r.crashed_stack)",
            "a report without its frames",
        ),
        (
            "SELECT count(*) FROM (SELECT path FROM sources GROUP BY path
             HAVING count(*) > 1) d",
            "a source stored twice",
        ),
    ] {
        assert_eq!(count(&mut c, sql), 0, "{what}");
    }
}

#[test]
fn two_concurrent_ingests_of_the_same_600_reports_store_each_once() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    // A few reports first, so the two ingests add to a database that has some.
    let first = t.path().join("first");
    write_reports(&first, "f", 10_000, 5, 8);
    ok(&run(Path::new(&url), &["ingest", first.to_str().unwrap()]));
    let dir = t.path().join("same");
    write_reports(&dir, "r", 0, 600, 8);
    let spawn = || {
        bin()
            .arg("--db")
            .arg(&url)
            .args(["ingest", "--json", dir.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        ok(&child.wait_with_output().unwrap());
    }
    let mut c = pg::client(&url);
    assert_eq!(count(&mut c, "SELECT count(*) FROM reports"), 605);
    assert_eq!(count(&mut c, "SELECT count(*) FROM sources"), 605);
    assert_eq!(count(&mut c, "SELECT count(*) FROM files"), 605);
    assert_consistent(&url);
}

#[test]
fn a_killed_ingest_leaves_postgres_consistent_and_a_rerun_completes_it() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("many");
    write_reports(&dir, "k", 0, 1500, 20);
    let mut child = bin()
        .arg("--db")
        .arg(&url)
        .args(["ingest", "--threads", "1", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some batches are committed (or when it is done, which proves less but
    // cannot make the test fail wrongly).
    let mut c = pg::client(&url);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let has_schema = count(
            &mut c,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reports'",
        ) > 0;
        if has_schema && count(&mut c, "SELECT count(*) FROM reports") > 0 {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_consistent(&url);
    let stored = count(&mut c, "SELECT count(*) FROM reports");
    eprintln!("killed with {stored} of 1500 reports stored");
    ok(&run(Path::new(&url), &["ingest", dir.to_str().unwrap()]));
    assert_eq!(count(&mut c, "SELECT count(*) FROM reports"), 1500);
    assert_consistent(&url);
}

#[test]
fn a_postgres_database_that_is_not_ours_is_refused_untouched() {
    let Some(url) = pg::fresh_db() else { return };
    let mut c = pg::client(&url);
    c.batch_execute("CREATE TABLE customers (id BIGINT PRIMARY KEY, name TEXT)")
        .unwrap();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("r");
    write_reports(&dir, "r", 0, 2, 4);
    let o = run(Path::new(&url), &["ingest", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not an agx-triage database"),
        "{}",
        stderr(&o)
    );
    let tables = count(
        &mut c,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    );
    assert_eq!(
        tables, 1,
        "tables were created in a database that is not ours"
    );
}

#[test]
fn read_commands_create_nothing_on_postgres_and_passwords_never_show() {
    let Some(url) = pg::fresh_db() else { return };
    let o = run(Path::new(&url), &["buckets", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Regression: `rebucket --dry-run` created every table (and, on SQLite, the file).
    let o = run(Path::new(&url), &["rebucket", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let t = tempfile::tempdir().unwrap();
    let lite = t.path().join("none.db");
    let o = run(&lite, &["rebucket", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        !lite.exists(),
        "rebucket --dry-run created {}",
        lite.display()
    );
    let mut c = pg::client(&url);
    let tables = count(
        &mut c,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    );
    assert_eq!(tables, 0, "a read command created tables");
    // A wrong password: the message names the server without the password.
    let bad = "postgresql://ann:hunter2secret@127.0.0.1:1/nowhere";
    let o = run(Path::new(bad), &["buckets", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("hunter2secret"), "{}", stderr(&o));
    assert!(stderr(&o).contains("ann:***@127.0.0.1"), "{}", stderr(&o));
}

// Regression: PostgreSQL's text cannot hold U+0000; a report with one in its strings failed
// its whole batch (exit 2) instead of being stored.
#[test]
fn a_report_with_nul_characters_in_its_strings_is_stored_on_postgres() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let ips = synth_ips("00000000-0000-4000-8000-000000000777", 4242, 2)
        .replace("objc_msgSend", "objc_\\u0000msgSend")
        .replace(
            "/opt/homebrew/bin/python3",
            "/opt/home\\u0000brew/bin/python3",
        );
    assert!(ips.contains("\\u0000"));
    std::fs::write(t.path().join("nul.ips"), ips).unwrap();
    let o = run(
        Path::new(&url),
        &["ingest", "--json", t.path().to_str().unwrap()],
    );
    ok(&o);
    let mut c = pg::client(&url);
    assert_eq!(count(&mut c, "SELECT count(*) FROM reports"), 1);
    let listed = json(&run(Path::new(&url), &["reports", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_consistent(&url);
}

// Regression: PostgreSQL parsed the stored frames as JSON after removing every `\u0000`, so a
// symbol ending in the literal text `\u0000` (stored `"x\\u0000"`) became invalid JSON and
// `reports` failed for every listing that held it.
#[test]
fn a_symbol_ending_in_a_literal_backslash_u0000_lists_on_postgres_as_on_sqlite() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let folder = t.path().join("r");
    std::fs::create_dir_all(&folder).unwrap();
    let ips = synth_ips("00000000-0000-4000-8000-000000000778", 4243, 2)
        .replace("objc_msgSend", r"objc_msgSend\\u0000");
    assert!(ips.contains(r"\\u0000"));
    std::fs::write(folder.join("lit.ips"), ips).unwrap();
    let lite = t.path().join("lite.db");
    let mut answers = Vec::new();
    for db in [lite.as_path(), Path::new(&url)] {
        ok(&run(db, &["ingest", folder.to_str().unwrap()]));
        let mut out = Vec::new();
        for args in [
            vec!["reports", "--json"],
            vec!["reports", "--json", "--frame", "objc_msgSend"],
            // Regression: a frame search matching nothing sent `IN ()` (a syntax error there).
            vec!["reports", "--json", "--frame", "no_such_symbol"],
            vec!["show", "--json", "1"],
        ] {
            let o = run(db, &args);
            ok(&o);
            let mut v = json(&o);
            normalize(&mut v);
            out.push(v);
        }
        answers.push(out);
    }
    assert_eq!(
        answers[0][0].as_array().map(Vec::len),
        Some(1),
        "{}",
        answers[0][0]
    );
    assert_eq!(answers[0], answers[1]);
}

// Regression: PostgreSQL sorts NULL last ascending and first descending, SQLite the other way:
// `reports --limit` and `buckets --json`'s example_report differed when reports had no
// captured_at.
#[test]
fn reports_without_a_time_sort_alike_on_both_dialects() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let folder = t.path().join("r");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..4u32 {
        let mut r = synth_report(
            &format!("00000000-0000-4000-8000-00000000090{i}"),
            900 + i,
            0,
        );
        if i % 2 == 0 {
            r.timestamp = "someday".into();
            r.capture_time = "someday".into();
        }
        std::fs::write(folder.join(format!("n{i}.ips")), r.build_ips()).unwrap();
    }
    let lite = t.path().join("lite.db");
    let mut answers = Vec::new();
    for db in [lite.as_path(), Path::new(&url)] {
        ok(&run(
            db,
            &["ingest", "--threads", "1", folder.to_str().unwrap()],
        ));
        let o = run(db, &["reports", "--json", "--limit", "2"]);
        ok(&o);
        let ids: Vec<String> = json(&o)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["incident_id"].to_string())
            .collect();
        let o = run(db, &["buckets", "--json"]);
        ok(&o);
        let examples: Vec<String> = json(&o)
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["example_report"].to_string())
            .collect();
        answers.push((ids, examples));
    }
    assert_eq!(answers[0].0.len(), 2);
    assert!(!answers[0].1.is_empty());
    assert_eq!(answers[0], answers[1]);
}

// Regression: PostgreSQL stores U+0000 in text as U+FFFD, but the round-content check compared
// with the original, so a round whose config held "a\u0000b" was a conflict when imported again
// (and merge twice gave added, then conflict).
#[test]
fn a_round_with_nul_characters_imports_again_unchanged_on_postgres() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("r.jsonl");
    std::fs::write(
        &file,
        r#"{"round":3,"batch":"b\u0000","fix":"v\u00002","config":{"k\u0000":"a\u0000b"},"attempts":[{"signal":11,"crash_reports":["X\u00001"]}]}"#,
    )
    .unwrap();
    let lite = t.path().join("lite.db");
    for db in [lite.as_path(), Path::new(&url)] {
        let o = run(db, &["round", "import", "--json", file.to_str().unwrap()]);
        ok(&o);
        assert_eq!(json(&o)["conflicts"], 0, "{}", stdout(&o));
        let o = run(db, &["round", "import", "--json", file.to_str().unwrap()]);
        ok(&o);
        let v = json(&o);
        assert_eq!(
            (&v["unchanged"], &v["conflicts"]),
            (&1.into(), &0.into()),
            "{v}"
        );
    }
}

/// Poll `f` until it holds; `false` after a minute (a hung watcher, not a slow machine).
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..600 {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn watch_ingests_into_postgres_and_stops_on_sigint_with_everything_committed() {
    let Some(url) = pg::fresh_db() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("DiagnosticReports");
    write_reports(&dir, "first", 0, 2, 0);
    let child = bin()
        .arg("--db")
        .arg(&url)
        .args([
            "ingest",
            "--watch",
            "--interval",
            "0.2",
            dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = pg::client(&url);
    let mut stored = || {
        let has = count(
            &mut c,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reports'",
        ) > 0;
        if has {
            count(&mut c, "SELECT count(*) FROM reports")
        } else {
            0
        }
    };
    assert!(eventually(|| stored() == 2), "the first two reports");
    write_reports(&dir, "later", 10, 1, 0);
    assert!(eventually(|| stored() == 3), "the report that landed later");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stored(), 3);
    assert_consistent(&url);
}
