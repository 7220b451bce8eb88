//! Every report of the real corpus parses with the fields its manifest names; every fragment
//! gives reports with warnings or one error, never a panic.
//!
//! The corpus lives outside the repository (its files are never copied in). It is found through
//! `AGX_TRIAGE_CORPUS` (relative paths are taken from the repository root) or at
//! `<repo>/../shared/corpus`; when neither exists the tests say so and pass, but when
//! `AGX_TRIAGE_CORPUS` is set the folder must exist.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use agx_triage::crash::{self, fault_from_subtype, CrashReport, ParseError};

fn corpus_dir() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(dir) = std::env::var_os("AGX_TRIAGE_CORPUS") {
        let dir = root.join(dir);
        assert!(
            dir.is_dir(),
            "AGX_TRIAGE_CORPUS is set but {} is not a folder",
            dir.display()
        );
        return Some(dir);
    }
    let fallback = root.join("../shared/corpus");
    if fallback.is_dir() {
        return Some(fallback);
    }
    eprintln!("skipped: no crash corpus (set AGX_TRIAGE_CORPUS or provide ../shared/corpus)");
    None
}

/// Rows of a `MANIFEST.tsv`, as (file, process, exception type).
fn manifest(dir: &Path) -> Vec<(String, String, String)> {
    let text = fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().expect("manifest header").split('\t').collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("manifest has no `{name}` column"))
    };
    let (f, p, e) = (col("file"), col("process"), col("exception type"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or("").to_string();
            (cell(f), cell(p), cell(e))
        })
        .collect()
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .expect("corpus folder")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n != "MANIFEST.tsv" && !n.starts_with('.'))
        .collect()
}

fn parse_file(path: &Path) -> Result<Result<Vec<CrashReport>, ParseError>, String> {
    let bytes = fs::read(path).expect("read corpus file");
    catch_unwind(AssertUnwindSafe(|| crash::parse(&bytes))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// One line per report: what a reviewer needs to see that the parse is right.
fn summary(file: &str, r: &CrashReport) -> String {
    let crashed = r.crashed();
    format!(
        "{file} | {} | {} | {} | {} ({}) | crashed {} | frames {} | images {} | warnings {}",
        r.kind.as_str(),
        r.format.as_str(),
        r.process.name.as_deref().unwrap_or("-"),
        r.exception.exc_type.as_deref().unwrap_or("-"),
        r.exception.signal.as_deref().unwrap_or("-"),
        r.crashed_thread
            .map_or_else(|| "-".to_string(), |i| i.to_string()),
        crashed.map_or(0, |t| t.frames.len()),
        r.images.len(),
        r.warnings.len(),
    )
}

/// Check one real report against its manifest row; returns the mismatches.
fn check_real(file: &str, process: &str, exc: &str, r: &CrashReport) -> Vec<String> {
    let mut bad = Vec::new();
    let mut expect = |what: &str, want: Option<&str>, got: Option<&str>| {
        if want != got {
            bad.push(format!("{file}: {what}: want {want:?}, got {got:?}"));
        }
    };
    if exc.starts_with("EXC_") {
        // "EXC_BAD_ACCESS (SIGSEGV) KERN_INVALID_ADDRESS at 0x00000000000000a7"
        let mut words = exc.split_whitespace();
        let exc_type = words.next();
        let signal = words
            .next()
            .filter(|w| w.starts_with('('))
            .map(|w| w.trim_matches(|c| c == '(' || c == ')'));
        expect("kind", Some("crash"), Some(r.kind.as_str()));
        expect("process", Some(process), r.process.name.as_deref());
        expect("exception type", exc_type, r.exception.exc_type.as_deref());
        expect("signal", signal, r.exception.signal.as_deref());
        let (want_addr, want_stripped, want_pac) = fault_from_subtype(exc);
        if want_addr.is_some()
            && (want_addr, want_stripped, want_pac)
                != (
                    r.exception.fault_address,
                    r.exception.fault_address_stripped,
                    r.exception.pointer_auth_failure,
                )
        {
            bad.push(format!(
                "{file}: fault address: want {want_addr:x?} {want_stripped:x?} {want_pac}, got {:x?} {:x?} {}",
                r.exception.fault_address,
                r.exception.fault_address_stripped,
                r.exception.pointer_auth_failure
            ));
        }
        match r.crashed() {
            Some(t) if !t.frames.is_empty() => {}
            Some(_) => bad.push(format!("{file}: crashed thread has no frames")),
            None => bad.push(format!("{file}: no crashed thread")),
        }
    } else {
        // Panics, jetsam and resource reports: the manifest says so in its own words.
        expect("kind", Some("other"), Some(r.kind.as_str()));
        if !process.contains([' ', '(']) {
            expect("process", Some(process), r.process.name.as_deref());
        }
    }
    bad
}

#[test]
fn real_reports_match_the_manifest() {
    let Some(corpus) = corpus_dir() else { return };
    let dir = corpus.join("real");
    let rows = manifest(&dir);
    let listed: BTreeSet<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut bad = Vec::new();
    for missing in files_in(&dir).difference(&listed) {
        bad.push(format!("{missing}: not in MANIFEST.tsv"));
    }
    for (file, process, exc) in &rows {
        match parse_file(&dir.join(file)) {
            Err(panic) => bad.push(format!("{file}: PANIC {panic}")),
            Ok(Err(e)) => bad.push(format!("{file}: parse error: {e}")),
            Ok(Ok(reports)) => {
                if reports.len() != 1 {
                    bad.push(format!("{file}: {} reports, want 1", reports.len()));
                }
                if let Some(r) = reports.first() {
                    bad.extend(check_real(file, process, exc, r));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn real_reports_summary() {
    let Some(corpus) = corpus_dir() else { return };
    let dir = corpus.join("real");
    let mut lines = Vec::new();
    for file in files_in(&dir) {
        match parse_file(&dir.join(&file)) {
            Err(panic) => lines.push(format!("{file} | PANIC {panic}")),
            Ok(Err(e)) => lines.push(format!("{file} | error {}: {e}", e.code())),
            Ok(Ok(reports)) => lines.extend(reports.iter().map(|r| summary(&file, r))),
        }
    }
    insta::assert_snapshot!("real_reports_summary", lines.join("\n"));
}

#[test]
fn fragments_give_reports_or_one_error() {
    let Some(corpus) = corpus_dir() else { return };
    let dir = corpus.join("fragments");
    let mut lines = Vec::new();
    let mut panics = Vec::new();
    for file in files_in(&dir) {
        match parse_file(&dir.join(&file)) {
            Err(panic) => {
                panics.push(format!("{file}: {panic}"));
                lines.push(format!("{file} | PANIC"));
            }
            Ok(Err(e)) => lines.push(format!("{file} | error {}: {e}", e.code())),
            Ok(Ok(reports)) => {
                for r in &reports {
                    lines.push(format!(
                        "{file} | ok | {} | {} warnings",
                        r.format.as_str(),
                        r.warnings.len()
                    ));
                }
            }
        }
    }
    assert!(panics.is_empty(), "panics:\n{}", panics.join("\n"));
    insta::assert_snapshot!("fragments", lines.join("\n"));
}
