//! Every command's `--json` output through the real binary, snapshotted, on a database built
//! from `samples/`: the JSON comes from `Serialize` structs now (`cli::term::print_json`), and
//! these snapshots show that keys and shapes stayed what scripts and the docs rely on. Values
//! are snapshotted as parsed JSON (keys sorted), so only content and shape count, not key
//! order; paths of this checkout and of the temporary folder are replaced by placeholders.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Replace machine-specific paths inside every string.
fn normalise(v: &mut Value, tmp: &Path) {
    match v {
        Value::String(s) => {
            let root = env!("CARGO_MANIFEST_DIR");
            *s = s
                .replace(&tmp.display().to_string(), "<tmp>")
                .replace(root, "<repo>");
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalise(x, tmp)),
        Value::Object(o) => o.values_mut().for_each(|x| normalise(x, tmp)),
        _ => {}
    }
}

fn json_of(db: &Path, tmp: &Path, args: &[&str]) -> Value {
    let o = run(db, args);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{args:?}: {}",
        stderr(&o)
    );
    let mut v: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}): {}", stdout(&o)));
    normalise(&mut v, tmp);
    v
}

/// The first `n` items of an array, and how many there were.
fn head(v: Value, n: usize) -> Value {
    let a = v.as_array().expect("an array").clone();
    serde_json::json!({ "len": a.len(), "first": a.into_iter().take(n).collect::<Vec<_>>() })
}

#[test]
fn json_outputs() {
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path();
    let db = tmp.join("demo.db");
    let reports = samples().join("reports");
    // One worker: report ids follow the sorted walk, so the snapshots are stable.
    let ingest = json_of(
        &db,
        tmp,
        &[
            "ingest",
            "--json",
            "--threads",
            "1",
            reports.to_str().unwrap(),
        ],
    );
    insta::assert_json_snapshot!("ingest", ingest);
    let rounds_file = samples().join("rounds.jsonl");
    let import = json_of(
        &db,
        tmp,
        // A fixed host: the rounds' `host` would otherwise be this machine's hostname.
        &[
            "round",
            "import",
            "--json",
            "--host",
            "mac-a",
            rounds_file.to_str().unwrap(),
        ],
    );
    insta::assert_json_snapshot!("round_import", import);

    insta::assert_json_snapshot!("buckets", json_of(&db, tmp, &["buckets", "--json"]));
    insta::assert_json_snapshot!(
        "reports",
        head(json_of(&db, tmp, &["reports", "--json"]), 3)
    );
    insta::assert_json_snapshot!("rounds", head(json_of(&db, tmp, &["rounds", "--json"]), 2));
    insta::assert_json_snapshot!(
        "compare",
        json_of(
            &db,
            tmp,
            &[
                "compare",
                "--a",
                "rounds:1790-1819",
                "--b",
                "rounds:1820-1849",
                "--json"
            ]
        )
    );
    // The full parsed report is snapshotted by tests/samples_model.rs; here its keys.
    let mut show = json_of(&db, tmp, &["show", "34", "--json"]);
    let report_keys: Vec<String> = show["report"]
        .as_object()
        .expect("show --json has the report")
        .keys()
        .cloned()
        .collect();
    show["report"] = serde_json::json!(report_keys);
    insta::assert_json_snapshot!("show", show);
    insta::assert_json_snapshot!("fix_list", json_of(&db, tmp, &["fix", "list", "--json"]));
    insta::assert_json_snapshot!(
        "symbols_list",
        json_of(&db, tmp, &["symbols", "list", "--json"])
    );
    insta::assert_json_snapshot!(
        "symbolicate",
        json_of(&db, tmp, &["symbolicate", "--all", "--json"])
    );
    insta::assert_json_snapshot!(
        "rebucket",
        json_of(&db, tmp, &["rebucket", "--dry-run", "--json"])
    );
    // The writeup's JSON: the writeup model with `rounds::compare::Comparison` inside, dated
    // by a fixed clock.
    let o = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "report",
            "--rounds",
            "1820-1849",
            "--against",
            "1790-1819",
            "--format",
            "json",
        ])
        .env("AGX_TRIAGE_NOW", "2026-11-25T12:00:00Z")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut w: Value = serde_json::from_slice(&o.stdout).unwrap();
    normalise(&mut w, tmp);
    insta::assert_json_snapshot!("report", w);
}

// Regression: `rebucket --diff` printed a `key: N` dump with inline JSON objects.
#[test]
fn rebucket_diff_is_a_table() {
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path();
    let db = tmp.join("demo.db");
    let reports = samples().join("reports");
    json_of(
        &db,
        tmp,
        &[
            "ingest",
            "--json",
            "--threads",
            "1",
            reports.to_str().unwrap(),
        ],
    );
    // A user rule placed before the shipped ones names one report's bucket.
    let rules = tmp.join("extra.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"python-c-extension-crash\"\ntitle = \"Crash in a Python C extension\"\n\
         description = \"test rule\"\ntop_frame = \"blur_rows_f32\"\n",
    )
    .unwrap();
    let o = run(
        &db,
        &[
            "--rules",
            rules.to_str().unwrap(),
            "rebucket",
            "--diff",
            "--dry-run",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains("{\""), "inline JSON: {text}");
    assert!(!text.contains("changed_reports:"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("python-c-extension-crash: blur_rows_f32"))
        .unwrap_or_else(|| panic!("no row for the renamed bucket: {text}"));
    assert!(row.contains("blur_rows_f32"), "{row}");
    assert!(
        text.contains("1 changed (dry run: nothing written)"),
        "{text}"
    );
}

// Regression: `ingest --watch` announced the folders with `eprintln!`, bypassing the escaping
// stderr: a folder name with an escape sequence reached the terminal raw.
#[test]
fn watch_banner_escapes_folder_names() {
    use std::io::Read;
    use std::process::Stdio;
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let dir = t.path().join("Diag\u{1b}[31mReports");
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .arg("ingest")
        .arg("--watch")
        .arg("--interval")
        .arg("0.2")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The banner is written before the first scan; read until it is complete.
    let mut err = child.stderr.take().unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 256];
    while !text.contains(&b'\n') {
        let n = err.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("watching"), "{text:?}");
    assert!(!text.contains('\u{1b}'), "raw escape on stderr: {text:?}");
    assert!(text.contains("\\u{1b}"), "{text:?}");
}
