//! The README demo, end to end through the real binary: ingest `samples/`, bucket, import the
//! sample rounds, compare and write the verification writeup. Snapshots make every change to
//! bucketing, wording or numbers visible in review.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// A database with the samples ingested and the sample rounds imported.
fn demo_db(dir: &Path) -> PathBuf {
    let db = dir.join("demo.db");
    // One worker: report ids then follow the (sorted) walk, so snapshots are stable.
    let o = run(
        &db,
        &[
            "ingest",
            "--json",
            "--threads",
            "1",
            samples().join("reports").to_str().unwrap(),
        ],
    );
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        stderr(&o)
    );
    let o = run(
        &db,
        &[
            "round",
            "import",
            samples().join("rounds.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    db
}

const PATTERNS: &[&str] = &[
    "agx-null-impl-0x98",
    "agx-null-impl-0x5c8",
    "agx-null-0x5f4-dispatch",
    "agx-null-0x3b90-setbuffer",
    "agx-null-0x184-spill",
    "agx-null-0x1e0-bindresource",
    "objc-msgsend-freed-encoder",
    "objc-retain-freed-object",
    "agx-encoder-already-encoding",
    "metal-commit-open-encoder",
    "metal-signal-event-open-encoder",
    "metal-completed-handler-after-commit",
];

#[test]
fn samples_show_each_agx_pattern_in_its_own_bucket() {
    let t = tempfile::tempdir().unwrap();
    let db = demo_db(t.path());
    let buckets = json(&run(&db, &["buckets", "--json"]));
    let rows = buckets.as_array().unwrap();
    for key in [
        "signature",
        "pattern",
        "count",
        "first_seen",
        "last_seen",
        "example_report",
    ] {
        assert!(rows[0].get(key).is_some(), "buckets --json lacks {key}");
    }
    for p in PATTERNS {
        let n = rows.iter().filter(|b| b["pattern"] == *p).count();
        assert_eq!(n, 1, "pattern {p} should be exactly one bucket, got {n}");
    }
    // The AppKit objc_msgSend crash without Metal context keeps a plain signature.
    assert!(rows.iter().any(
        |b| b["pattern"].is_null() && b["signature"].as_str().unwrap().contains("objc_msgSend")
    ));
    // A one-line summary per bucket, reviewed in snapshots.
    let summary: Vec<String> = rows
        .iter()
        .map(|b| {
            format!(
                "{:>2} {} | {}",
                b["count"],
                b["pattern"].as_str().unwrap_or("-"),
                b["signature"].as_str().unwrap()
            )
        })
        .collect();
    insta::assert_snapshot!("sample_buckets", summary.join("\n"));

    // Copies: one report seen under five paths is one report with five sources.
    let reports = json(&run(&db, &["reports", "--json"]));
    assert!(reports
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["sources"] == 5));
    // Frame search.
    let hits = json(&run(
        &db,
        &["reports", "--json", "--frame", "*setComputePipelineState*"],
    ));
    assert!(!hits.as_array().unwrap().is_empty());
    assert!(hits
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["pattern"] == "agx-null-impl-0x5c8" || r["pattern"].is_string()));
    let none = json(&run(
        &db,
        &["reports", "--json", "--frame", "no_such_function_*"],
    ));
    assert!(none.as_array().unwrap().is_empty());
}

#[test]
fn rebucket_is_stable_and_dry_run_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let db = demo_db(t.path());
    let before = stdout(&run(&db, &["buckets", "--json"]));
    let d = json(&run(&db, &["rebucket", "--dry-run", "--json"]));
    assert_eq!(
        d["changed_reports"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0),
        0,
        "{d}"
    );
    // A user rule placed before the shipped ones renames a bucket: the diff says so.
    let rules = t.path().join("extra.toml");
    std::fs::write(
        &rules,
        r#"[[rule]]
id = "python-c-extension-crash"
title = "Crash in a Python C extension"
description = "test rule"
top_frame = "blur_rows_f32"
"#,
    )
    .unwrap();
    let o = run(
        &db,
        &[
            "--rules",
            rules.to_str().unwrap(),
            "rebucket",
            "--dry-run",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let d = json(&o);
    assert!(
        d.to_string().contains("python-c-extension-crash")
            || d.to_string().contains("blur_rows_f32"),
        "{d}"
    );
    assert_eq!(
        stdout(&run(&db, &["buckets", "--json"])),
        before,
        "dry run wrote nothing"
    );
    let o = run(&db, &["--rules", rules.to_str().unwrap(), "rebucket"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b = json(&run(
        &db,
        &["buckets", "--json", "--pattern", "python-c-extension-crash"],
    ));
    assert_eq!(b.as_array().unwrap().len(), 1);
    // A rule file with an error names the line.
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"x\"\ntitle = \"t\"\ndescription = \"d\"\ncolour = \"red\"\n",
    )
    .unwrap();
    let o = run(
        &db,
        &["--rules", rules.to_str().unwrap(), "rebucket", "--dry-run"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line"), "{}", stderr(&o));
}

#[test]
fn writeup_from_samples() {
    let t = tempfile::tempdir().unwrap();
    let db = demo_db(t.path());
    let out = t.path().join("writeup");
    let o = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "report",
            "--rounds",
            "1820-1849",
            "--against",
            "1790-1819",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("AGX_TRIAGE_NOW", "2026-11-25T12:00:00Z")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    insta::assert_snapshot!("sample_writeup", md);

    // Every table is well-formed (same cell count on every row).
    for table in md.split("\n\n").filter(|b| b.trim_start().starts_with('|')) {
        let widths: Vec<usize> = table
            .lines()
            .map(|l| l.replace("\\|", "").matches('|').count())
            .collect();
        assert!(
            widths.windows(2).all(|w| w[0] == w[1]),
            "ragged table:\n{table}"
        );
    }
    // The totals equal the compare figures.
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
    let raw = c["b"]["raw_pass"].as_u64().unwrap();
    let n = c["b"]["rounds"].as_u64().unwrap();
    assert!(
        md.contains(&format!(
            "| **Total** | **{n}** | **{raw}** | **{}** |",
            n - raw
        )),
        "raw total row {n}/{raw} not found"
    );
    // Every SVG parses and is linked.
    let mut svgs = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "svg") {
            svgs += 1;
            let text = std::fs::read_to_string(&p).unwrap();
            roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p.file_name().unwrap().to_str().unwrap();
            assert!(md.contains(name), "{name} not linked from report.md");
        }
    }
    assert!(svgs >= 3, "{svgs} charts");
}

#[test]
fn redacted_writeup_has_no_user_or_home_path() {
    let t = tempfile::tempdir().unwrap();
    let db = demo_db(t.path());
    // Register a fix build from a home path so the writeup has one to hide.
    let out = t.path().join("w");
    let o = run(
        &db,
        &[
            "report",
            "--rounds",
            "1790-1849",
            "--redact",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The user names that appear in the sample reports and rounds.
    let raw = std::fs::read_to_string(samples().join("rounds.jsonl")).unwrap();
    let mut users: Vec<String> = Vec::new();
    for part in raw.split("/Users/").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| *c != '/' && *c != '"')
            .collect();
        if !users.contains(&name) {
            users.push(name);
        }
    }
    assert!(
        !users.is_empty(),
        "the samples should name a user to redact"
    );
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        for u in &users {
            assert!(
                !text.contains(&format!("/Users/{u}")) && !text.contains(u.as_str()),
                "{} leaks {u}",
                p.display()
            );
        }
    }
}

#[test]
fn help_is_reviewed() {
    let o = bin().arg("--help").output().unwrap();
    insta::assert_snapshot!("help", stdout(&o));
}

/// `reports --image` finds every report whose process loaded an image, by name (any case) or
/// by UUID (any form), through the shared image lists; it agrees with the fix column.
#[test]
fn reports_by_loaded_image() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut a = vec!["reports", "--json"];
        a.extend_from_slice(args);
        let o = run(&db, &a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut v: Vec<i64> = json(&o)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };
    let all = run(&db, &["reports", "--json"]);
    let mut with_v23: Vec<i64> = json(&all)
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["unregistered_fix"] == "libagx_fix_v2_3.dylib")
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    with_v23.sort();
    assert!(with_v23.len() >= 5, "{with_v23:?}");
    assert_eq!(ids(&["--image", "libagx_fix_v2_3.dylib"]), with_v23);
    assert_eq!(ids(&["--image", "LIBAGX_FIX_V2_3.DYLIB"]), with_v23);

    // The same by UUID, written upper-case without dashes as some tools print it.
    let shown = run(&db, &["show", "--json", &with_v23[0].to_string()]);
    let model = json(&shown);
    let uuid = model["report"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "libagx_fix_v2_3.dylib")
        .and_then(|i| i["uuid"].as_str())
        .expect("fix image with a uuid")
        .to_string();
    let bare = uuid.replace('-', "").to_uppercase();
    let by_uuid = ids(&["--image", &bare]);
    assert!(by_uuid.contains(&with_v23[0]), "{by_uuid:?}");
    assert!(by_uuid.iter().all(|id| with_v23.contains(id)));

    assert!(ids(&["--image", "libnothing.dylib"]).is_empty());
    // Every crash loaded libsystem_kernel: the filter keeps them all.
    let crashes = ids(&["--image", "libsystem_kernel.dylib"]);
    assert!(crashes.len() > with_v23.len());
}
