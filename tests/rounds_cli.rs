//! Integration tests for rounds through the real binary: import, record, run (with a crash
//! report written into a watched folder), rounds --json and compare --json.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;

fn import_lines(db: &Path, dir: &Path, name: &str, lines: &[String]) -> std::process::Output {
    let f = dir.join(name);
    std::fs::write(&f, lines.join("\n")).unwrap();
    run(db, &["round", "import", "--json", f.to_str().unwrap()])
}

/// `n` rounds numbered from `start`, the first `pass` of which pass on the first attempt and
/// the rest crash once (SIGSEGV) and are not retried.
fn block(start: i64, n: i64, pass: i64, fix: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            let attempt = if i < pass {
                r#"{"exit_code": 0}"#
            } else {
                r#"{"exit_code": null, "signal": 11}"#
            };
            format!(
                r#"{{"round": {}, "fix": "{fix}", "attempts": [{attempt}]}}"#,
                start + i
            )
        })
        .collect()
}

#[test]
fn seed_block_from_samples() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rounds.jsonl");
    let o = run(
        &db,
        &["round", "import", "--json", samples.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = json(&run(
        &db,
        &[
            "compare",
            "--a",
            "rounds:1790-1819",
            "--b",
            "rounds:1820-1849",
            "--json",
        ],
    ));
    let b = &c["b"];
    assert_eq!(b["rounds"], 30);
    assert_eq!(b["raw_pass"], 15, "seed: 30 raw rounds with 15 passes");
    assert_eq!(
        b["eventual_pass"], 29,
        "seed: 29 eventual passes with retries"
    );
    let ci = b["raw_ci"].as_array().unwrap();
    assert!((ci[0].as_f64().unwrap() - 0.3315).abs() < 1e-4);
    assert!((ci[1].as_f64().unwrap() - 0.6685).abs() < 1e-4);
    let eff = &b["efficiency"];
    assert!((eff["mean"].as_f64().unwrap() - 14.4).abs() < 0.05, "{eff}");
    assert_eq!(eff["min"].as_f64(), Some(13.4));
    assert_eq!(eff["max"].as_f64(), Some(15.1));
    for key in ["p_value", "verdict", "rounds_needed"] {
        assert!(c["raw"].get(key).is_some(), "raw lacks {key}");
        assert!(c["eventual"].get(key).is_some(), "eventual lacks {key}");
    }
    let rounds = json(&run(
        &db,
        &["rounds", "--json", "--select", "rounds:1820-1849"],
    ));
    let rounds = rounds.as_array().unwrap();
    assert_eq!(rounds.len(), 30);
    for key in ["round", "batch", "fix", "outcome", "efficiency", "attempts"] {
        assert!(rounds[0].get(key).is_some(), "rounds --json lacks {key}");
    }
    // Round 1827 exited 0 but left a crash report: never a raw pass.
    let r1827 = rounds.iter().find(|r| r["round"] == 1827).unwrap();
    assert_ne!(r1827["outcome"], "raw-pass", "{r1827}");
}

#[test]
fn twenty_of_twenty_vs_eighteen_is_inconclusive() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mut lines = block(1, 20, 20, "v2.2");
    lines.extend(block(101, 20, 18, "v2.3"));
    assert!(import_lines(&db, t.path(), "r.jsonl", &lines)
        .status
        .success());
    let c = json(&run(
        &db,
        &["compare", "--a", "fix:v2.2", "--b", "fix:v2.3", "--json"],
    ));
    assert_eq!(c["raw"]["verdict"], "inconclusive");
    assert!((c["raw"]["p_value"].as_f64().unwrap() - 0.4872).abs() < 1e-4);
    assert!(c["raw"]["rounds_needed"].as_u64().unwrap() > 20);
    let text = stdout(&run(
        &db,
        &["compare", "--a", "fix:v2.2", "--b", "fix:v2.3"],
    ));
    assert!(text.contains("not distinguishable yet"), "{text}");
    assert!(text.contains("rounds per side would tell"), "{text}");
}

#[test]
fn three_of_five_vs_twenty_of_twenty_gets_its_exact_p() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mut lines = block(1, 5, 3, "a");
    lines.extend(block(11, 20, 20, "b"));
    assert!(import_lines(&db, t.path(), "r.jsonl", &lines)
        .status
        .success());
    let c = json(&run(
        &db,
        &[
            "compare",
            "--a",
            "rounds:1-5",
            "--b",
            "rounds:11-30",
            "--json",
        ],
    ));
    // scipy.stats.fisher_exact([[3, 2], [20, 0]]) -> p = 0.03333333333333333
    assert!(
        (c["raw"]["p_value"].as_f64().unwrap() - 0.033333).abs() < 1e-5,
        "{c}"
    );
    assert_eq!(c["raw"]["verdict"], "better");
}

#[test]
fn bad_lines_are_reported_by_number_and_good_ones_kept() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let lines = vec![
        r#"{"round": 1, "attempts": [{"exit_code": 0}]}"#.to_string(),
        "not json".to_string(),
        r#"{"round": 2, "eficiency": 3, "attempts": [{"exit_code": 0}]}"#.to_string(),
        r#"{"round": 3, "attempts": [{"exit_code": 0}]}"#.to_string(),
    ];
    let o = import_lines(&db, t.path(), "r.jsonl", &lines);
    assert_eq!(o.status.code(), Some(1));
    let s = json(&o);
    assert_eq!(s["imported"], 2);
    let lines: Vec<u64> = s["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3]);
    assert!(stderr(&o).contains("r.jsonl:2:"), "{}", stderr(&o));
}

#[test]
fn record_by_hand() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let o = run(
        &db,
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
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("eventual-pass"), "{}", stdout(&o));
    let r = json(&run(&db, &["rounds", "--json"]));
    assert_eq!(r[0]["outcome"], "eventual-pass");
    assert_eq!(r[0]["attempts"][0]["signal"], 11);
}

#[test]
fn run_attributes_a_report_written_with_the_attempts_pid() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let reports = t.path().join("DiagnosticReports");
    std::fs::create_dir_all(&reports).unwrap();
    // The script writes a crash report naming its own pid and exits 0: a failed raw attempt.
    let template = synth_ips("00000000-0000-4000-8000-0000000000cc", 424242, 0);
    let tpl = t.path().join("template.ips");
    std::fs::write(&tpl, &template).unwrap();
    let now = chrono::Local::now();
    let capture = now.format("%Y-%m-%d %H:%M:%S%.3f %z").to_string();
    let script = format!(
        "sed -e \"s/424242/$$/\" -e 's/2026-11-02 10:15:30.1234 -0800/{capture}/' {} > {}/Python-1.ips; echo 'CONFIRMED: 14.6% efficiency at 8 threads'; exit 0",
        tpl.display(),
        reports.display()
    );
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--round",
            "1",
            "--crash-wait",
            "0.2",
            "--json",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &script,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a crashed round fails\n{}",
        stderr(&o)
    );
    let out = stdout(&o);
    let round: serde_json::Value =
        serde_json::from_str(&out[out.find("{\n").expect("JSON at the end")..]).unwrap();
    assert_eq!(round["outcome"], "fail", "{round}");
    assert_eq!(round["efficiency"], 14.6);
    assert_eq!(
        round["attempts"][0]["crash_reports"][0],
        "00000000-0000-4000-8000-0000000000CC"
    );
}

// Regression: a round without a fix passed an `AGX_FIX_HANDSHAKE` inherited from the caller on
// to the test command, so a fix loaded some other way wrote its handshake into a stale file.
#[test]
fn a_round_without_a_fix_does_not_pass_on_an_inherited_handshake_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let stale = dir.path().join("stale-handshake");
    let out = common::bin()
        .env("AGX_FIX_HANDSHAKE", &stale)
        .args(["--db", db.to_str().unwrap()])
        .args([
            "round",
            "run",
            "--round",
            "1",
            "--crash-wait",
            "0",
            "--reports-dir",
        ])
        .arg(&reports)
        .args(["--", "sh", "-c", "echo \"H=${AGX_FIX_HANDSHAKE:-unset}\""])
        .output()
        .unwrap();
    let text = common::stdout(&out);
    assert!(text.contains("H=unset"), "{text}\n{}", common::stderr(&out));
    assert!(!text.contains("stale-handshake"), "{text}");
}
