//! Integration tests for `agx-triage ingest`, `reports` and `show`, run through the real
//! binary: dedup, bad input, kill -9 and concurrent writers.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use agx_triage::store::Store;
use common::*;

fn count_reports(db: &Path) -> usize {
    let o = run(db, &["reports", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    json(&o).as_array().unwrap().len()
}

#[test]
fn reingest_adds_nothing_and_copies_are_sources() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("reports");
    write_reports(&dir, "r", 0, 3, 0);
    // One report under five paths: the original plus four copies.
    let one = std::fs::read(dir.join("r-0.ips")).unwrap();
    for sub in ["a", "b", "c/d", "e"] {
        let d = t.path().join("copies").join(sub);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("copy.ips"), &one).unwrap();
    }
    let o = run(&db, &["ingest", "--json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["scanned"], 3);
    assert_eq!(s["new"], 3);
    assert_eq!(s["duplicates"], 0);

    let o = run(
        &db,
        &[
            "ingest",
            "--json",
            t.path().join("copies").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["new"], 0);
    assert_eq!(s["duplicates"], 4);

    // Re-ingesting everything adds nothing.
    let o = run(&db, &["ingest", "--json", t.path().to_str().unwrap()]);
    let s = json(&o);
    assert_eq!(
        (s["new"].as_u64(), s["duplicates"].as_u64()),
        (Some(0), Some(7))
    );
    assert_eq!(count_reports(&db), 3);

    let rows = json(&run(&db, &["reports", "--json"]));
    let r0 = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["incident_id"] == "00000000-0000-4000-8000-000000000000")
        .expect("report r-0");
    assert_eq!(r0["sources"], 5, "one report seen under five paths");
    for key in [
        "id",
        "incident_id",
        "kind",
        "process",
        "pid",
        "captured_at",
        "os_version",
        "hardware_model",
        "exception_type",
        "signal",
        "fault_address",
        "crashed_thread",
        "top_frame",
        "sources",
    ] {
        assert!(r0.get(key).is_some(), "reports --json lacks {key}");
    }
    assert_eq!(r0["captured_at"], "2026-11-02T18:15:30.123Z");

    let id = r0["id"].as_i64().unwrap().to_string();
    let show = json(&run(&db, &["show", &id, "--json"]));
    let f0 = &show["crashed_thread"]["frames"][1];
    assert_eq!(f0["image_name"], "AGXMetalG16X");
    assert_eq!(f0["image_uuid"], "99999999-8888-7777-6666-555555555555");
    assert_eq!(f0["image_offset"], 5678);
    assert_eq!(
        f0["symbol"],
        "-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]"
    );
    assert_eq!(f0["symbol_offset"], 40);
    assert_eq!(show["sources"].as_array().unwrap().len(), 5);

    let text = stdout(&run(&db, &["show", &id]));
    assert!(text.contains("Thread 0 Crashed"), "{text}");
    assert!(text.contains("AGXMetalG16X"), "{text}");
    assert!(
        text.contains("<99999999-8888-7777-6666-555555555555>"),
        "{text}"
    );
}

#[test]
fn bad_inputs_are_per_file_errors_and_the_rest_is_ingested() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("in");
    write_reports(&dir, "good", 0, 5, 0);
    let good = synth_ips("00000000-0000-4000-8000-0000000000aa", 99, 0);
    std::fs::write(dir.join("empty.ips"), b"").unwrap();
    // Random bytes (deterministic xorshift).
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(dir.join("noise.ips"), &noise).unwrap();
    // Truncated at several offsets: inside the header, just after it, mid-body.
    let header_len = good.find('\n').unwrap();
    for (i, cut) in [
        10,
        header_len - 3,
        header_len + 1,
        good.len() / 2,
        good.len() - 5,
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(dir.join(format!("trunc-{i}.ips")), &good.as_bytes()[..cut]).unwrap();
    }
    // Invalid UTF-8 inside a JSON string: the report must still be stored.
    let bad_utf8 = synth_ips("00000000-0000-4000-8000-0000000000bb", 98, 0).replace(
        "/opt/homebrew/bin/python3\"",
        "/opt/homebrew/bin/pyth\u{FFFD}n3\"",
    );
    let mut bytes = bad_utf8.into_bytes();
    let pos = bytes
        .windows(3)
        .position(|w| w == "\u{FFFD}".as_bytes())
        .unwrap();
    bytes.splice(pos..pos + 3, [0xff, 0xfe]);
    std::fs::write(dir.join("badutf8.ips"), &bytes).unwrap();
    // A dangling symlink and a symlink loop.
    std::os::unix::fs::symlink(dir.join("nowhere.ips"), dir.join("dangling.ips")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    // An unreadable file (only meaningful when not running as root).
    let locked = dir.join("locked.ips");
    std::fs::write(&locked, &good).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root_can_read = std::fs::read(&locked).is_ok();
    // A file no one can read, root included: reading /proc/self/mem at offset 0 fails with
    // EIO, so the read-error path is exercised even where the test runs as root (CI).
    #[cfg(target_os = "linux")]
    std::os::unix::fs::symlink("/proc/self/mem", dir.join("ioerror.ips")).unwrap();

    let o = run(&db, &["ingest", "--json", dir.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "some inputs failed: exit 1\n{}",
        stderr(&o)
    );
    let s = json(&o);
    let failed = s["failed"].as_array().unwrap();
    let failed_paths: Vec<&str> = failed.iter().map(|f| f["path"].as_str().unwrap()).collect();
    for f in failed {
        assert!(
            !f["error"].as_str().unwrap().is_empty(),
            "error has a reason: {f}"
        );
    }
    let has = |name: &str| failed_paths.iter().any(|p| p.ends_with(name));
    assert!(has("empty.ips"), "{failed_paths:?}");
    assert!(has("noise.ips"), "{failed_paths:?}");
    assert!(has("dangling.ips"), "{failed_paths:?}");
    assert!(has("loop"), "symlink loop reported: {failed_paths:?}");
    assert!(
        has("trunc-0.ips"),
        "cut inside the header: {failed_paths:?}"
    );
    #[cfg(target_os = "linux")]
    {
        let e = failed
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with("ioerror.ips"))
            .unwrap_or_else(|| panic!("read error reported: {failed_paths:?}"));
        assert!(
            e["error"].as_str().unwrap().contains("Input/output error"),
            "{e}"
        );
    }
    if !root_can_read {
        assert!(has("locked.ips"), "{failed_paths:?}");
    } else {
        eprintln!("note: running as root, the unreadable-file case is not exercised");
    }
    assert!(
        !has("badutf8.ips"),
        "invalid UTF-8 in a string is not fatal"
    );
    // Five good reports plus the invalid-UTF-8 one are stored, and the truncated copies of
    // `good` that kept its header (incident 0xaa) are one partial report, whatever else failed.
    let rows = json(&run(&db, &["reports", "--json"]));
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["incident_id"].as_str())
        .collect();
    for i in 0..5 {
        assert!(ids.contains(&format!("00000000-0000-4000-8000-{i:012}").as_str()));
    }
    assert!(
        ids.contains(&"00000000-0000-4000-8000-0000000000bb"),
        "{ids:?}"
    );
    // stderr lists each failure as `path: reason`.
    let err = stderr(&run(&db, &["ingest", dir.to_str().unwrap()]));
    assert!(err.lines().any(|l| l.contains("empty.ips: ")), "{err}");
}

#[test]
fn fifty_megabyte_report_is_ingested() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let big = t.path().join("big.ips");
    // ~145 bytes per pretty-printed frame: 360k frames is over 50 MB.
    let text = synth_ips("00000000-0000-4000-8000-00000000b16b", 7, 360_000);
    assert!(text.len() > 50_000_000, "{}", text.len());
    std::fs::write(&big, &text).unwrap();
    let o = run(&db, &["ingest", "--json", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["new"], 1);
}

#[test]
fn folder_of_ten_thousand_files() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("many");
    write_reports(&dir, "r", 0, 9_990, 0);
    for i in 0..10 {
        std::fs::write(
            dir.join(format!("broken-{i}.ips")),
            b"{\"bug_type\":\"309\"",
        )
        .unwrap();
    }
    let o = run(&db, &["ingest", "--json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["scanned"], 10_000);
    assert_eq!(s["new"], 9_990);
    assert_eq!(s["failed"].as_array().unwrap().len(), 10);
}

#[test]
fn kill_9_mid_ingest_leaves_a_consistent_database() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("many");
    write_reports(&dir, "r", 0, 3_000, 40);
    for round in 0..5u64 {
        let mut child = bin()
            .arg("--db")
            .arg(&db)
            .args(["ingest", "--json", dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + 120 * round));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let store = Store::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok", "after kill {round}");
    }
    let o = run(&db, &["ingest", "--json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(count_reports(&db), 3_000);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    // Every report has exactly one source (its one path), none lost or doubled.
    assert_eq!(store.source_count().unwrap(), 3_000);
}

#[test]
fn concurrent_ingests_of_overlapping_folders() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let a = t.path().join("a");
    let b = t.path().join("b");
    let c = t.path().join("c");
    write_reports(&a, "r", 0, 600, 10);
    write_reports(&b, "r", 400, 600, 10); // overlaps a in 400..600 (same content)
    write_reports(&c, "r", 900, 300, 10); // overlaps b in 900..1000
    let spawn = |dirs: &[&Path]| {
        let mut cmd = bin();
        cmd.arg("--db").arg(&db).args(["ingest", "--json"]);
        for d in dirs {
            cmd.arg(d);
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let p1 = spawn(&[&a, &b]);
    let p2 = spawn(&[&b, &c]);
    let o1 = p1.wait_with_output().unwrap();
    let o2 = p2.wait_with_output().unwrap();
    for o in [&o1, &o2] {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        assert!(!stderr(o).contains("locked"), "{}", stderr(o));
    }
    let n1 = json(&o1)["new"].as_u64().unwrap();
    let n2 = json(&o2)["new"].as_u64().unwrap();
    assert_eq!(n1 + n2, 1_200, "every distinct report stored exactly once");
    assert_eq!(count_reports(&db), 1_200);
}

#[test]
fn broken_pipe_is_quiet() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("r");
    write_reports(&dir, "r", 0, 400, 0);
    assert!(run(&db, &["ingest", dir.to_str().unwrap()])
        .status
        .success());
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args(["reports"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

// Regression: `--db /no/such/dir/x.db reports` created the folders and an empty database.
#[test]
fn read_commands_create_nothing_and_a_file_that_is_not_a_database_is_fatal() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("deep/er/t.db");
    let o = run(&db, &["reports", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no database at"), "{}", stderr(&o));
    assert!(!t.path().join("deep").exists());
    let notdb = t.path().join("not.db");
    std::fs::write(&notdb, vec![b'x'; 4096]).unwrap();
    for args in [&["reports"][..], &["ingest", t.path().to_str().unwrap()]] {
        let o = run(&notdb, args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("not an agx-triage database"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(&notdb).unwrap(), vec![b'x'; 4096]);
    }
}
