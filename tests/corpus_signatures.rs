//! Every crash in the real corpus gets a non-empty signature, and the corpus-wide signatures
//! are a reviewed snapshot, so every change to bucketing shows up in review. (One line per
//! report; the corpus itself stays outside the repository.)

mod common;

use agx_triage::bucket::{classify, FrameLists, RuleSet};
use agx_triage::crash::{self, ReportKind};

#[test]
fn every_corpus_crash_gets_a_signature() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let rules = RuleSet::builtin();
    let lists = FrameLists::builtin();
    let mut files: Vec<_> = std::fs::read_dir(corpus.join("real"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "MANIFEST.tsv"))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    let mut empty = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let reports =
            crash::parse(&std::fs::read(f).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for r in reports.iter().filter(|r| r.kind == ReportKind::Crash) {
            let b = classify(r, &rules, &lists);
            if b.signature.text.trim().is_empty() {
                empty.push(name.clone());
            }
            lines.push(format!(
                "{name} | {} | {}",
                b.pattern.as_ref().map(|p| p.id.as_str()).unwrap_or("-"),
                b.signature.text
            ));
        }
    }
    assert!(empty.is_empty(), "empty signatures: {empty:?}");
    assert!(lines.len() >= 35, "only {} crashes", lines.len());
    insta::assert_snapshot!("corpus_signatures", lines.join("\n"));
}
