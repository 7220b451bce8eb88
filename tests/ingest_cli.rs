//! Integration tests for `agx-triage ingest`, `reports` and `show`, run through the real
//! binary: dedup, bad input, kill -9 and concurrent writers.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    let mut bad_utf8 = synth_report("00000000-0000-4000-8000-0000000000bb", 98, 0);
    bad_utf8.process.path = "/opt/homebrew/bin/pyth\u{FFFD}n3".to_string();
    bad_utf8.images[0].path = bad_utf8.process.path.clone();
    let mut bytes = bad_utf8.build_ips().into_bytes();
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
    drop(store);
    // Every original, whichever batch and dictionary version it went in with, reads back.
    assert_every_original_kept(&db, &dir);
}

#[test]
fn concurrent_ingests_of_overlapping_folders() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let a = t.path().join("in/a");
    let b = t.path().join("in/b");
    let c = t.path().join("in/c");
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
    // Both writers made and used dictionaries of their own; every original reads back.
    let stats = Store::open(&db).unwrap().file_stats().unwrap();
    assert!(stats.with_dictionary > 0, "{stats:?}");
    assert_every_original_kept(&db, &t.path().join("in"));
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

/// The content key (BLAKE3) of every file under `dir`, with its bytes.
fn files_by_hash(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            // Changed: the stored key is the BLAKE3 hash of the file's bytes since migration 9
            // (it was SHA-256). The intent is unchanged: a file's key is its content hash,
            // computed here independently of the store's code.
            let sha: String = blake3::hash(&bytes).to_hex().to_string();
            out.push((sha, bytes));
        }
    }
    out
}

/// Every file under `dir` reads back from the store byte for byte, and the store holds no
/// other file.
fn assert_every_original_kept(db: &Path, dir: &Path) {
    let store = Store::open(db).unwrap();
    let files = files_by_hash(dir);
    let mut stored = store.file_hashes().unwrap();
    stored.sort();
    let mut expected: Vec<String> = files.iter().map(|(s, _)| s.clone()).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(
        stored, expected,
        "the stored files are exactly the input files"
    );
    for (sha, bytes) in &files {
        assert!(
            store.file_bytes(sha).unwrap() == *bytes,
            "file {sha} does not read back byte for byte"
        );
    }
}

// Regression: with dictionary compression (migration 5), every original still reads back
// exactly, whether it was compressed without a dictionary, with the first version or with a
// later one, and the near-copies of a stress suite are stored in a fraction of their size.
#[test]
fn every_original_reads_back_byte_exact_with_dictionaries() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("r");
    // Three kinds of report (different frame counts), 200 near-copies of each, then a few
    // odd files: empty-ish, binary junk that is still a parse error, a report cut short.
    write_reports(&dir.join("a"), "a", 0, 200, 10);
    write_reports(&dir.join("b"), "b", 1000, 200, 300);
    write_reports(&dir.join("c"), "c", 2000, 200, 3);
    let odd = dir.join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    // A report whose first bytes are zstd's dictionary magic number: it must never be taken
    // for a trained dictionary if it becomes a sample.
    let mut magic = vec![0x37, 0xA4, 0x30, 0xEC];
    magic.extend_from_slice(synth_ips("00000000-0000-4000-8000-000000009999", 9, 50).as_bytes());
    std::fs::write(odd.join("magic.ips"), &magic).unwrap();
    let full = synth_ips("00000000-0000-4000-8000-000000009998", 9, 400);
    std::fs::write(odd.join("cut.ips"), &full.as_bytes()[..full.len() / 3]).unwrap();
    let o = run(&db, &["ingest", "--json", dir.to_str().unwrap()]);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        stderr(&o)
    );
    let store = Store::open(&db).unwrap();
    assert!(
        store.latest_dictionary().unwrap().is_some(),
        "near-copies made a dictionary"
    );
    drop(store);
    // Keep only the files that were stored (the magic-number file fails to parse).
    let failed: Vec<String> = json(&o)["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    for f in &failed {
        std::fs::remove_file(f).unwrap();
    }
    assert_every_original_kept(&db, &dir);
    let input: u64 = files_by_hash(&dir)
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    let stats = Store::open(&db).unwrap().file_stats().unwrap();
    assert_eq!(stats.bytes, input);
    assert!(
        stats.with_dictionary > 500,
        "most near-copies went in with a dictionary: {stats:?}"
    );
    // Without dictionaries these reports compress to ~10% of their size.
    assert!(
        stats.stored * 30 < stats.bytes,
        "near-copies stored in {} bytes for {} bytes",
        stats.stored,
        stats.bytes
    );
}

// Regression: any file carrying a stored report's incident id and "more" of it (threads,
// frames, images) replaced the stored row, so a different crash (another pid) with a copied or
// made-up incident id evicted a genuine report's process, exception, frames and bucket.
#[test]
fn another_crash_with_the_same_incident_id_does_not_replace_the_stored_one() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let inc = "00000000-0000-4000-8000-00000000beef";
    let genuine = t.path().join("genuine.ips");
    let other = t.path().join("other.ips");
    std::fs::write(&genuine, synth_ips(inc, 77, 10)).unwrap();
    std::fs::write(&other, synth_ips(inc, 31337, 600)).unwrap();
    for p in [&genuine, &other] {
        let o = run(&db, &["ingest", "--json", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let id = json(&run(&db, &["reports", "--json"]))[0]["id"].to_string();
    let shown = json(&run(&db, &["show", &id, "--json"]));
    assert_eq!(shown["pid"], 77, "{}", shown["pid"]);
    assert_eq!(
        shown["crashed_thread"]["frames"].as_array().unwrap().len(),
        12
    );
    // Both files are still kept, both paths recorded.
    assert_eq!(shown["sources"].as_array().unwrap().len(), 2);
}

// Regression (issue 12 item 4): the first 20 KB of a report, then the complete file, kept the
// truncated copy (without its images) and counted the complete one as a duplicate.
#[test]
fn a_more_complete_copy_replaces_a_truncated_one_and_both_sources_stay() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let full = synth_ips("00000000-0000-4000-8000-00000000abcd", 77, 600);
    assert!(full.len() > 40_000, "{}", full.len());
    let cut = t.path().join("in/partial/Python.ips");
    let whole = t.path().join("in/whole/Python.ips");
    for (p, b) in [
        (&cut, &full.as_bytes()[..20_000]),
        (&whole, full.as_bytes()),
    ] {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }
    let o = run(&db, &["ingest", "--json", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["new"], 1);
    let o = run(&db, &["ingest", "--json", whole.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(
        (s["new"].as_u64(), s["duplicates"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(s["replaced"], 1);
    let id = json(&run(&db, &["reports", "--json"]))[0]["id"].clone();
    let id = id.to_string();
    let shown = json(&run(&db, &["show", &id, "--json"]));
    assert_eq!(shown["report"]["images"].as_array().unwrap().len(), 3);
    assert_eq!(
        shown["crashed_thread"]["frames"].as_array().unwrap().len(),
        602
    );
    assert!(
        shown["report"]["warnings"]
            .as_array()
            .is_none_or(|w| w.is_empty()),
        "{}",
        shown["report"]["warnings"]
    );
    let sources = shown["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{sources:?}");
    // Both files stay stored; the cut copy again changes nothing now.
    let o = run(
        &db,
        &["ingest", "--json", t.path().join("in").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["replaced"], serde_json::Value::Null);
    let shown = json(&run(&db, &["show", &id, "--json"]));
    assert_eq!(shown["report"]["images"].as_array().unwrap().len(), 3);
    assert_every_original_kept(&db, t.path().join("in").as_path());
    // Regression: the cut copy alone, ingested again, was in no count (its report now points
    // at the complete file): it is a duplicate of that report.
    let o = run(&db, &["ingest", "--json", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(
        (s["new"].as_u64(), s["duplicates"].as_u64()),
        (Some(0), Some(1)),
        "{s}"
    );
    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

// The other order: the complete copy first, then a cut one, keeps the complete one.
#[test]
fn a_less_complete_copy_never_replaces_the_stored_one() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let full = synth_ips("00000000-0000-4000-8000-00000000abce", 77, 600);
    let whole = t.path().join("a/Python.ips");
    let cut = t.path().join("b/Python.ips");
    for (p, b) in [
        (&whole, full.as_bytes()),
        (&cut, &full.as_bytes()[..full.len() - 5]),
    ] {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }
    for p in [&whole, &cut] {
        let o = run(&db, &["ingest", "--json", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let id = json(&run(&db, &["reports", "--json"]))[0]["id"].to_string();
    let shown = json(&run(&db, &["show", &id, "--json"]));
    assert_eq!(shown["report"]["images"].as_array().unwrap().len(), 3);
    assert!(shown["report"]["warnings"]
        .as_array()
        .is_none_or(|w| w.is_empty()));
    assert_eq!(shown["sources"].as_array().unwrap().len(), 2);
}
