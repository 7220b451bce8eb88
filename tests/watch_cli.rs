//! `ingest --watch`: reports are ingested as they land, and Ctrl-C (SIGINT) stops it cleanly
//! with everything committed.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn wait_for(mut f: impl FnMut() -> bool, secs: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn watch_ingests_new_reports_and_stops_on_sigint() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("DiagnosticReports");
    write_reports(&dir, "first", 0, 2, 0);
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "ingest",
            "--watch",
            "--interval",
            "0.2",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let count = || {
        let o = run(&db, &["reports", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .ok()
            .and_then(|v| v.as_array().map(|a| a.len()))
            .unwrap_or(0)
    };
    assert!(wait_for(|| count() == 2, 20), "the first two reports");
    // A report that lands while watching.
    write_reports(&dir, "later", 10, 1, 0);
    assert!(
        wait_for(|| count() == 3, 20),
        "the report that landed later"
    );
    // SIGINT, as Ctrl-C sends.
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "watch did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let store = agx_triage::store::Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert_eq!(count(), 3);
}

#[test]
fn completions_are_printed() {
    for shell in ["bash", "zsh", "fish"] {
        let o = bin().args(["completions", shell]).output().unwrap();
        assert!(o.status.success());
        assert!(stdout(&o).contains("agx-triage"), "{shell}");
        assert!(stdout(&o).contains("ingest"), "{shell}");
    }
}

// Regression: `--watch` ingested a report while it was still being written: the first 20 KB
// were stored as a truncated report without its images, and the complete file then counted as
// its duplicate.
#[test]
fn watch_waits_until_a_report_is_completely_written() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("DiagnosticReports");
    std::fs::create_dir_all(&dir).unwrap();
    let full = synth_ips("00000000-0000-4000-8000-00000000aaaa", 4242, 400);
    assert!(full.len() > 40_000, "{}", full.len());
    let path = dir.join("Python-2026-11-02-101530.ips");
    std::fs::write(&path, &full.as_bytes()[..20_000]).unwrap();
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "ingest",
            "--watch",
            "--json",
            "--interval",
            "0.2",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Several polls see the half-written file.
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(&path, &full).unwrap();
    let count = || {
        let o = run(&db, &["reports", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .ok()
            .and_then(|v| v.as_array().map(|a| a.len()))
            .unwrap_or(0)
    };
    let stored = wait_for(|| count() == 1, 20);
    // Two more polls: nothing else may happen to the file.
    std::thread::sleep(Duration::from_millis(600));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let o = child.wait_with_output().unwrap();
    assert!(stored, "the complete report was stored: {}", stderr(&o));
    let (mut new, mut duplicates, mut failed) = (0, 0, 0);
    for line in stdout(&o).lines() {
        let s: serde_json::Value = serde_json::from_str(line).unwrap();
        new += s["new"].as_u64().unwrap();
        duplicates += s["duplicates"].as_u64().unwrap();
        failed += s["failed"].as_array().unwrap().len();
    }
    assert_eq!((new, duplicates, failed), (1, 0, 0), "{}", stdout(&o));
}
