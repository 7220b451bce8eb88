//! `ingest --json` names why each file failed with a stable code beside the message, so a
//! script can tell a file that is not a crash report from a read error without parsing words.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn ingest_json(db: &Path, paths: &[&Path]) -> (Output, serde_json::Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_agx-triage"))
        .arg("--db")
        .arg(db)
        .args(["ingest", "--json"])
        .args(paths)
        .output()
        .expect("run agx-triage");
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "ingest --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o, v)
}

/// (file name, code) of every failure, sorted, and every failure's message non-empty.
fn codes(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["failed"]
        .as_array()
        .unwrap_or_else(|| panic!("no failed list: {v}"))
        .iter()
        .map(|f| {
            assert!(
                !f["error"].as_str().unwrap_or_default().is_empty(),
                "a message for people too: {f}"
            );
            let path = f["path"].as_str().unwrap();
            let name = Path::new(path).file_name().unwrap().to_string_lossy();
            (
                name.into_owned(),
                f["code"].as_str().unwrap_or("<none>").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_failed_file_has_a_stable_code_in_json() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty.ips"), b"").unwrap();
    std::fs::write(dir.join("blank.crash"), b" \n\t\n").unwrap();
    std::fs::write(
        dir.join("noise.ips"),
        b"hello, this is not a crash report\n",
    )
    .unwrap();
    std::fs::write(dir.join("binary.ips"), [0u8, 159, 146, 150, 1, 2, 3]).unwrap();
    // A header cut inside its first key: nothing usable.
    std::fs::write(dir.join("cut.ips"), br#"{"bug_typ"#).unwrap();
    // A header that is not JSON at all past its first key.
    std::fs::write(dir.join("broken.ips"), b"{\"bug_type\": ]}\n").unwrap();
    // Sparse: the size check refuses it before reading a byte.
    std::fs::File::create(dir.join("huge.ips"))
        .unwrap()
        .set_len(agx_triage::ingest::MAX_FILE_SIZE + 1)
        .unwrap();
    let missing = t.path().join("missing.ips");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
        std::os::unix::fs::symlink(t.path().join("nowhere"), dir.join("dangling.ips")).unwrap();
    }
    let (o, v) = ingest_json(&db, &[&dir, &missing]);
    assert_eq!(o.status.code(), Some(1), "some inputs failed: {v}");
    let mut want = vec![
        ("binary.ips", "not_a_crash_report"),
        ("blank.crash", "empty"),
        ("broken.ips", "invalid_json"),
        ("cut.ips", "truncated"),
        ("empty.ips", "empty"),
        ("huge.ips", "too_large"),
        ("missing.ips", "not_found"),
        ("noise.ips", "not_a_crash_report"),
    ];
    #[cfg(unix)]
    want.extend([("dangling.ips", "not_found"), ("loop", "symlink_loop")]);
    want.sort();
    let want: Vec<(String, String)> = want
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(codes(&v), want, "{v:#}");
    // The message stays what it was before codes existed.
    let huge = v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "too_large")
        .unwrap();
    assert_eq!(
        huge["error"],
        format!(
            "file is {} bytes, larger than the {} byte limit",
            agx_triage::ingest::MAX_FILE_SIZE + 1,
            agx_triage::ingest::MAX_FILE_SIZE
        )
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_named_on_the_command_line_is_not_a_regular_file() {
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("pipe.ips");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !matches!(made, Ok(s) if s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let (o, v) = ingest_json(&t.path().join("t.db"), &[&fifo]);
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert_eq!(
        codes(&v),
        vec![("pipe.ips".to_string(), "not_a_regular_file".to_string())]
    );
    assert_eq!(
        v["failed"][0]["error"],
        "not a regular file or folder (a FIFO)"
    );
}

// Regression: a FIFO with a report's name inside a folder was skipped without a word (named on
// the command line it was an error), and a file link to itself got the generic `io` code while
// a folder loop got `symlink_loop`.
#[test]
fn special_files_and_link_loops_inside_a_folder_are_failures_with_their_codes() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    let made = Command::new("mkfifo").arg(dir.join("pipe.crash")).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    std::os::unix::fs::symlink("self.ips", dir.join("self.ips")).unwrap();
    let (o, v) = ingest_json(&t.path().join("db.sqlite"), &[&dir]);
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert_eq!(
        codes(&v),
        [
            ("pipe.crash".to_string(), "not_a_regular_file".to_string()),
            ("self.ips".to_string(), "symlink_loop".to_string()),
        ]
    );
}

// Regression: failures found while walking named the path as typed, failures found while
// parsing an absolute one; scripts matching paths got two forms in one list.
#[test]
fn every_failed_path_has_one_form() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("empty.ips"), "").unwrap();
    std::os::unix::fs::symlink("self.ips", dir.join("self.ips")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_agx-triage"))
        .current_dir(t.path())
        .args(["--db", "db.sqlite", "ingest", "--json", "in"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{v}");
    for f in failed {
        let p = f["path"].as_str().unwrap();
        assert!(Path::new(p).is_absolute(), "{p}");
    }
}
