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
