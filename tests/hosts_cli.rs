//! Hosts through the real binary (docs/FLEET.md): two machines' round 1825 are two rounds,
//! `round import --host`, the `host` key, selectors joined with `,`, bad selectors, a database
//! from before hosts migrating its rounds to the local host, `round run` recording its host,
//! and writeups broken down by machine only when the rounds span several.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;

fn ok(o: &std::process::Output) {
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
}

/// Rounds 1825-1828 of `host`: the first `pass` pass, the rest crash (SIGSEGV).
fn import(db: &Path, dir: &Path, host: &str, pass: i64) {
    let lines: Vec<String> = (0..4)
        .map(|i| {
            let a = if i < pass {
                r#"{"exit_code": 0}"#
            } else {
                r#"{"exit_code": null, "signal": 11}"#
            };
            format!(
                r#"{{"round": {}, "fix": "v2.4", "attempts": [{a}]}}"#,
                1825 + i
            )
        })
        .collect();
    let f = dir.join(format!("{host}.jsonl"));
    std::fs::write(&f, lines.join("\n")).unwrap();
    ok(&run(
        db,
        &["round", "import", "--host", host, f.to_str().unwrap()],
    ));
}

fn hosts_of(v: &serde_json::Value) -> Vec<(i64, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["round"].as_i64().unwrap(),
                r["host"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn two_machines_round_numbers_are_two_rounds_and_selectors_pick_one() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    import(&db, t.path(), "mac-a", 4);
    import(&db, t.path(), "mac-b", 1);
    let v = json(&run(&db, &["rounds", "--json"]));
    assert_eq!(v.as_array().unwrap().len(), 8);
    let one = json(&run(
        &db,
        &["rounds", "--json", "--select", "rounds:1825,host:mac-b"],
    ));
    assert_eq!(hosts_of(&one), vec![(1825, "mac-b".to_string())]);
    // A line that names its host keeps it; --host fills in only the others.
    let f = t.path().join("named.jsonl");
    std::fs::write(
        &f,
        "{\"round\": 1825, \"host\": \"mac-c\", \"attempts\": [{\"exit_code\": 0}]}\n\
         {\"round\": 1826, \"attempts\": [{\"exit_code\": 0}]}\n",
    )
    .unwrap();
    ok(&run(
        &db,
        &["round", "import", "--host", "mac-d", f.to_str().unwrap()],
    ));
    let v = json(&run(&db, &["rounds", "--json", "--select", "native"]));
    assert_eq!(
        hosts_of(&v),
        vec![(1825, "mac-c".to_string()), (1826, "mac-d".to_string())]
    );
    let c = json(&run(
        &db,
        &[
            "compare",
            "--a",
            "fix:v2.4,host:mac-a",
            "--b",
            "fix:v2.4,host:mac-b",
            "--json",
        ],
    ));
    assert_eq!(
        (c["a"]["raw_pass"].as_u64(), c["b"]["raw_pass"].as_u64()),
        (Some(4), Some(1))
    );
    // Two machines' rounds 1825-1828 are not shared between the sides.
    assert_eq!(c["shared_rounds"], serde_json::json!([]), "{c:#}");
    // buckets and report take selectors too.
    ok(&run(
        &db,
        &["buckets", "--json", "--select", "host:mac-a,fix:v2.4"],
    ));
    // A single round number two machines have is said to be ambiguous, and counts both.
    let o = run(
        &db,
        &[
            "compare",
            "--a",
            "round:1825",
            "--b",
            "round:1826",
            "--json",
        ],
    );
    ok(&o);
    assert!(
        stderr(&o).contains("round 1825 exists on 3 hosts (mac-a, mac-b, mac-c)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(json(&o)["a"]["rounds"], 3);
    let o = run(
        &db,
        &[
            "compare",
            "--a",
            "round:1825,host:mac-a",
            "--b",
            "round:1826,host:mac-a",
        ],
    );
    ok(&o);
    assert!(!stderr(&o).contains("exists on"), "{}", stderr(&o));
    let o = run(&db, &["buckets", "--round", "1826"]);
    ok(&o);
    assert!(
        stderr(&o).contains("round 1826 exists on 3 hosts"),
        "{}",
        stderr(&o)
    );
    // The text table shows the host.
    let o = run(&db, &["rounds", "--select", "rounds:1825-1826,fix:v2.4"]);
    ok(&o);
    insta::assert_snapshot!("rounds_table_two_hosts", stdout(&o));
}

#[test]
fn bad_selectors_are_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    import(&db, t.path(), "mac-a", 4);
    for (sel, says) in [
        ("hots:mac-a", "host:NAME"),
        ("fix:v2.4,", "empty part"),
        ("host:", "cannot be empty"),
        ("fix:v2.4,,host:a", "empty part"),
        ("rounds:9-1,host:a", "backwards"),
    ] {
        let o = run(&db, &["rounds", "--select", sel]);
        assert_eq!(o.status.code(), Some(2), "{sel}");
        assert!(stderr(&o).contains(says), "{sel}: {}", stderr(&o));
        let o = run(&db, &["compare", "--a", sel, "--b", "all"]);
        assert_eq!(o.status.code(), Some(2), "{sel}");
    }
    let o = run(&db, &["round", "import", "--host", "a,b", "x.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    // A bad AGX_TRIAGE_HOST never fails a command: it is said and the hostname used.
    let o = bin()
        .env("AGX_TRIAGE_HOST", "a,b")
        .arg("--db")
        .arg(&db)
        .args(["rounds", "--json"])
        .output()
        .unwrap();
    ok(&o);
    assert!(
        stderr(&o).contains("AGX_TRIAGE_HOST ignored"),
        "{}",
        stderr(&o)
    );
    // A line's own host must be a name selectors can reach, or the line is refused.
    let f = t.path().join("hostile.jsonl");
    std::fs::write(
        &f,
        "{\"round\": 1, \"host\": \"a:b\", \"attempts\": [{\"exit_code\": 0}]}\n\
         {\"round\": 2, \"host\": \"\", \"attempts\": [{\"exit_code\": 0}]}\n\
         {\"round\": 3, \"host\": 7, \"attempts\": [{\"exit_code\": 0}]}\n\
         {\"round\": 4, \"host\": \"x\\u001b[31m\", \"attempts\": [{\"exit_code\": 0}]}\n\
         {\"round\": 5, \"host\": \"ok-host\", \"attempts\": [{\"exit_code\": 0}]}\n",
    )
    .unwrap();
    let o = run(&db, &["round", "import", "--json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["imported"], 1);
    let lines: Vec<u64> = v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![1, 2, 3, 4]);
    // The same number on two hosts in one file is two rounds; twice on one host is not.
    std::fs::write(
        &f,
        "{\"round\": 9, \"host\": \"h1\", \"attempts\": [{\"exit_code\": 0}]}\n\
         {\"round\": 9, \"host\": \"h2\", \"attempts\": [{\"exit_code\": 0}]}\n\
         {\"round\": 9, \"host\": \"h1\", \"attempts\": [{\"exit_code\": 1}]}\n",
    )
    .unwrap();
    let o = run(&db, &["round", "import", "--json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["imported"], 2);
    assert_eq!(v["failed"][0]["line"], 3);
}

#[test]
fn rounds_of_a_database_from_before_hosts_get_the_local_host() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("old.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for i in 1..=9 {
        let f = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with(&format!("{i:04}_"))
            })
            .unwrap();
        conn.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    conn.execute_batch(
        "PRAGMA user_version = 9; PRAGMA application_id = 1095194708;
         INSERT INTO rounds (id, number, fix_name, outcome, source, recorded_at)
             VALUES (1, 1825, 'v2.4', 'fail', 'import', '2026-11-01T00:00:00Z');
         INSERT INTO attempts (round_id, idx, signal) VALUES (1, 1, 11);
         INSERT INTO attempt_reports (round_id, attempt_idx, incident_id) VALUES (1, 1, 'X');",
    )
    .unwrap();
    drop(conn);
    let o = bin()
        .env("AGX_TRIAGE_HOST", "lab-mac")
        .arg("--db")
        .arg(&db)
        .args(["rounds", "--json"])
        .output()
        .unwrap();
    ok(&o);
    let v = json(&o);
    assert_eq!(hosts_of(&v), vec![(1825, "lab-mac".to_string())]);
    assert_eq!(
        v[0]["attempts"][0]["crash_reports"][0], "X",
        "children kept"
    );
    // The same number from another machine is another round now.
    let f = t.path().join("b.jsonl");
    std::fs::write(&f, r#"{"round": 1825, "attempts": [{"exit_code": 0}]}"#).unwrap();
    ok(&run(
        &db,
        &["round", "import", "--host", "mac-b", f.to_str().unwrap()],
    ));
    assert_eq!(
        json(&run(&db, &["rounds", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn round_run_records_its_host() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let reports = t.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--round",
            "7",
            "--host",
            "lab-1",
            "--crash-wait",
            "0",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--json",
            "--",
            "true",
        ],
    );
    ok(&o);
    assert_eq!(json(&o)["host"], "lab-1");
    let v = json(&run(&db, &["rounds", "--json"]));
    assert_eq!(hosts_of(&v), vec![(7, "lab-1".to_string())]);
    // What detection could read is stored with it (this machine's identity, when it has one).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (name, mid): (String, Option<String>) = conn
        .query_row("SELECT name, machine_id FROM hosts", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(name, "lab-1");
    let local = std::fs::read_to_string("/etc/machine-id")
        .ok()
        .and_then(|s| agx_triage::host::parse_machine_id(&s));
    if !cfg!(target_os = "macos") {
        assert_eq!(mid, local);
    }
    // Round 7 of this machine is taken; another machine's round 7 is not.
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--round",
            "7",
            "--host",
            "lab-1",
            "--crash-wait",
            "0",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--",
            "true",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already stored"), "{}", stderr(&o));
}

/// The "Pass rates by machine" section of a markdown writeup, if any.
fn machine_section(md: &str) -> Option<String> {
    let start = md.find("## Pass rates by machine")?;
    let rest = &md[start..];
    let end = rest[3..].find("\n## ").map(|e| e + 4).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

#[test]
fn writeups_break_pass_rates_down_by_host_only_across_several() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    import(&db, t.path(), "mac-a", 4);
    import(&db, t.path(), "mac-b", 1);
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "--rounds", "1825-1828"];
        args.extend_from_slice(extra);
        let o = bin()
            .env("AGX_TRIAGE_NOW", "2026-12-01T00:00:00Z")
            .arg("--db")
            .arg(&db)
            .args(&args)
            .output()
            .unwrap();
        ok(&o);
        stdout(&o)
    };
    let both = report(&[]);
    let section = machine_section(&both).expect("a breakdown across two hosts");
    assert!(
        both.contains("- **Machines:** mac-a (4 rounds), mac-b (4 rounds)"),
        "{both}"
    );
    insta::assert_snapshot!("writeup_by_machine_two_hosts", section);
    let j: serde_json::Value = serde_json::from_str(&report(&["--format", "json"])).unwrap();
    assert_eq!(j["breakdowns"][0]["by"], "host");
    assert_eq!(j["breakdowns"][0]["rows"][1]["raw"]["pass"], 1);
    assert_eq!(j["raw_total"]["rounds"], 8, "both machines' rounds count");
    let one = report(&["--select", "host:mac-a"]);
    assert_eq!(machine_section(&one), None, "one machine: no breakdown");
    insta::assert_snapshot!(
        "writeup_one_host_summary",
        one.lines().take(12).collect::<Vec<_>>().join("\n")
    );
    let j: serde_json::Value =
        serde_json::from_str(&report(&["--select", "host:mac-a", "--format", "json"])).unwrap();
    assert!(j.get("breakdowns").is_none());
    assert_eq!(j["raw_total"]["rounds"], 4);
}

// Regression: `--until-decided` took another machine's stored round of the same number for
// one of its own and resumed from it.
#[test]
fn until_decided_resumes_only_from_this_machines_rounds() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    // The block to compare with, rounds 1-30 of this machine: half pass.
    let lines: Vec<String> = (1..=30)
        .map(|i| {
            let exit = if i <= 15 { 0 } else { 1 };
            format!(r#"{{"round": {i}, "attempts": [{{"exit_code": {exit}}}]}}"#)
        })
        .collect();
    let f = t.path().join("block.jsonl");
    std::fs::write(&f, lines.join("\n")).unwrap();
    ok(&run(
        &db,
        &["round", "import", "--host", "lab-1", f.to_str().unwrap()],
    ));
    // Another machine already has rounds 100-103.
    let other: Vec<String> = (100..104)
        .map(|i| format!(r#"{{"round": {i}, "attempts": [{{"exit_code": 0}}]}}"#))
        .collect();
    std::fs::write(&f, other.join("\n")).unwrap();
    ok(&run(
        &db,
        &[
            "round",
            "import",
            "--host",
            "mac-other",
            f.to_str().unwrap(),
        ],
    ));
    let none = t.path().join("no-reports");
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--host",
            "lab-1",
            "--until-decided",
            "--round",
            "100",
            "--max-rounds",
            "4",
            "--against",
            "rounds:1-30,host:lab-1",
            "--crash-wait",
            "0",
            "--reports-dir",
            none.to_str().unwrap(),
            "--json",
            "--",
            "true",
        ],
    );
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["rounds_resumed"], 0, "{v:#}");
    assert_eq!(v["rounds_run"], 4, "{v:#}");
    let mine = json(&run(
        &db,
        &["rounds", "--json", "--select", "rounds:100-103,host:lab-1"],
    ));
    assert_eq!(mine.as_array().unwrap().len(), 4);
}

#[test]
fn redacted_writeups_hide_host_names_in_the_breakdown() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    import(&db, t.path(), "erins-macbook", 4);
    import(&db, t.path(), "lab-m4max", 2);
    let o = run(&db, &["report", "--rounds", "1825-1828", "--redact"]);
    ok(&o);
    let md = stdout(&o);
    assert!(md.contains("## Pass rates by machine"), "{md}");
    for name in ["erins-macbook", "lab-m4max"] {
        assert!(!md.contains(name), "{name} left in:\n{md}");
    }
    let o = run(
        &db,
        &[
            "report",
            "--rounds",
            "1825-1828",
            "--redact",
            "--format",
            "json",
        ],
    );
    ok(&o);
    let j = stdout(&o);
    assert!(
        !j.contains("erins-macbook") && !j.contains("lab-m4max"),
        "{j}"
    );
}

// Regression: the ingesting host was recorded after all batches had committed, in its own
// transaction, so a refused host name (or a kill -9 in between) left the reports stored with
// no host for good. Now the host is stored first and written with each report.
#[test]
fn every_ingested_report_names_its_host_and_a_taken_name_stops_before_writing() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("h.db");
    let reports = t.path().join("r");
    write_reports(&reports, "r", 0, 5, 2);
    ok(&run(&db, &["ingest", reports.to_str().unwrap()]));
    let listed = json(&run(&db, &["reports", "--json"]));
    let hosts: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ingested_by"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, vec!["test-mac"; 5]);

    // The name "mac-z" belongs to another machine: ingesting as mac-z is refused.
    let detected = agx_triage::host::detect(None);
    if detected.machine_id.is_none() {
        eprintln!("skipped: this machine has no readable identity, so no name can be taken");
        return;
    }
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO hosts (name, machine_id, first_seen)
             VALUES ('mac-z', 'ANOTHER-MACHINE', '2026-12-01T00:00:00Z')",
            [],
        )
        .unwrap();
    let more = t.path().join("more");
    write_reports(&more, "m", 100, 4, 2);
    let o = bin()
        .env("AGX_TRIAGE_HOST", "mac-z")
        .args([
            "--db",
            db.to_str().unwrap(),
            "ingest",
            more.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("another machine"), "{}", stderr(&o));
    let listed = json(&run(&db, &["reports", "--json"]));
    assert_eq!(
        listed.as_array().unwrap().len(),
        5,
        "nothing stored without its host"
    );
}

// Regression: reports that `round run` ingested itself (the crash its attempt caused) had no
// ingesting host.
#[test]
fn reports_a_round_ingests_name_this_machine() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("r.db");
    let reports = t.path().join("rd");
    std::fs::create_dir_all(&reports).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/reports")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ips"))
        .min()
        .unwrap();
    let copy = format!("cp '{}' '{}/'", sample.display(), reports.display());
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--round",
            "9000",
            "--crash-wait",
            "1",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &copy,
        ],
    );
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    let listed = json(&run(&db, &["reports", "--json"]));
    let listed = listed.as_array().unwrap();
    assert!(
        !listed.is_empty(),
        "the round ingested the new report: {}",
        stderr(&o)
    );
    for r in listed {
        assert_eq!(r["ingested_by"], "test-mac", "{r}");
    }
}

// Regression: a writeup across machines listed a bucket's hits by round number alone, so two
// machines' round 1825 read as one round.
#[test]
fn bucket_hits_name_their_machine_when_the_rounds_span_several() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    for (host, incident) in [
        ("mac-a", "00000000-0000-4000-8000-00000000000a"),
        ("mac-b", "00000000-0000-4000-8000-00000000000b"),
    ] {
        let f = t.path().join(format!("{host}.jsonl"));
        std::fs::write(
            &f,
            format!(
                r#"{{"round": 1825, "fix": "v2.4", "attempts": [{{"exit_code": null, "signal": 11, "crash_reports": ["{incident}"]}}]}}"#
            ),
        )
        .unwrap();
        ok(&run(
            &db,
            &["round", "import", "--host", host, f.to_str().unwrap()],
        ));
    }
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "--rounds", "1825"];
        args.extend_from_slice(extra);
        let o = run(&db, &args);
        ok(&o);
        stdout(&o)
    };
    let md = report(&[]);
    assert!(
        md.contains("mac-a:1825 (1)") && md.contains("mac-b:1825 (1)"),
        "{md}"
    );
    let one: serde_json::Value =
        serde_json::from_str(&report(&["--select", "host:mac-a", "--format", "json"])).unwrap();
    let hits = &one["buckets"][0]["hits"];
    assert_eq!(hits.as_array().unwrap().len(), 1, "{one:#}");
    assert!(
        hits[0].get("host").is_none(),
        "one machine: round numbers alone"
    );
    let redacted = report(&["--redact"]);
    assert!(
        !redacted.contains("mac-a") && !redacted.contains("mac-b"),
        "{redacted}"
    );
}
