//! The `ops` layer called as a library, without the binary: compare two blocks of rounds
//! from a store, and check that the verdict sentence `compare` prints is the one the docs
//! quote (docs/GUIDE.md, docs/WRITEUPS.md).
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use agx_triage::ops::{self, OpsError};
use agx_triage::rounds::compare::{bucket_changes, VerdictKind};
use agx_triage::rounds::import::parse_jsonl_lines;
use agx_triage::stats::buckets::BucketVerdict;
use agx_triage::store::{RoundMeta, RoundSelector, Store};
use agx_triage::writeup::wording::comparison_sentences;

/// `n` rounds from `start`, the first `pass` passing, the rest crashing once (SIGSEGV).
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

fn store_with(dir: &Path, lines: &[String]) -> Store {
    let mut store = Store::open(&dir.join("t.db")).unwrap();
    let (rounds, errors) = parse_jsonl_lines(&lines.join("\n"));
    assert!(errors.is_empty(), "{errors:?}");
    for (_, r) in &rounds {
        store.save_round(r, &RoundMeta::default(), false).unwrap();
    }
    store
}

/// The 18/20 vs 20/20 sentence, as `compare` prints it and the docs quote it.
const EIGHTEEN_VS_TWENTY: &str = "Pass rate (no round passed on a retry, so raw and eventual are \
the same): B and A are not distinguishable yet (B 90.0%, 18/20; A 100.0%, 20/20; Fisher exact \
p = 0.49); about 58 more rounds per side would tell (78 per side in all).";

#[test]
fn compare_selectors_without_the_binary() {
    let t = tempfile::tempdir().unwrap();
    let mut lines = block(1, 20, 20, "v2.2");
    lines.extend(block(101, 20, 18, "v2.3"));
    let store = store_with(t.path(), &lines);
    let (c, unconfirmed) = ops::compare::compare_selectors(
        &store,
        &RoundSelector::Fix("v2.2".into()),
        &RoundSelector::Fix("v2.3".into()),
        false,
    )
    .unwrap();
    assert!(unconfirmed.rounds.is_empty());
    assert_eq!(c.raw.verdict, VerdictKind::Inconclusive);
    // Exact Fisher power: 78 rounds per side (stats::power), not Fleiss' 93.
    assert_eq!(c.raw.rounds_needed, Some(78));
    assert_eq!(comparison_sentences(&c, "A", "B"), [EIGHTEEN_VS_TWENTY]);
    // No bucket: the rounds have no crash reports attributed.
    assert!(bucket_changes(&c).unwrap().is_empty());
}

#[test]
fn an_empty_side_says_which() {
    let t = tempfile::tempdir().unwrap();
    let store = store_with(t.path(), &block(1, 5, 5, "v2.2"));
    let err = ops::compare::compare_selectors(
        &store,
        &RoundSelector::Fix("v2.2".into()),
        &RoundSelector::Fix("v9".into()),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, OpsError::NoRounds(_)), "{err:?}");
    assert_eq!(err.code(), "no-rounds");
    assert!(err.to_string().contains("fix v9"), "{err}");
}

#[test]
fn selector_labels() {
    assert_eq!(
        ops::compare::selector_label(&RoundSelector::Range(3, 3)),
        "round 3"
    );
    assert_eq!(
        ops::compare::selector_label(&RoundSelector::Range(1, 20)),
        "rounds 1-20"
    );
    assert_eq!(
        ops::compare::selector_label(&RoundSelector::Native),
        "native"
    );
}

// The docs quote what the tool prints: a changed wording or figure fails here until the docs
// follow.
#[test]
fn docs_quote_the_tool() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let flat = |name: &str| {
        let text = std::fs::read_to_string(root.join("docs").join(name)).unwrap();
        // Words joined by single spaces; markdown quote marks (`>`) dropped.
        text.split_whitespace()
            .filter(|w| *w != ">")
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        flat("GUIDE.md").contains(EIGHTEEN_VS_TWENTY),
        "docs/GUIDE.md"
    );
    let writeups = flat("WRITEUPS.md");
    assert!(
        writeups.contains("about 58 more rounds per side would tell (78 per side in all)"),
        "docs/WRITEUPS.md"
    );
    for doc in ["GUIDE.md", "WRITEUPS.md"] {
        let text = flat(doc);
        assert!(!text.contains("(regression)"), "{doc}");
        assert!(!text.contains("possible regression"), "{doc}");
    }
    assert_eq!(
        // The one wording of a bucket verdict (stats::buckets keeps numbers and verdicts).
        agx_triage::writeup::wording::bucket_change(
            BucketVerdict::OnlyInBNotDistinguishable,
            "A",
            "B"
        ),
        "seen only in B, not distinguishable yet"
    );
}

// One frame formatter: every frame of every sample report is written the same way whichever
// command shows it (`show`, writeup stacks).
#[test]
fn frame_symbol_text_on_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/reports");
    let mut frames = 0;
    let mut by_offset = 0;
    for entry in walkdir::WalkDir::new(&dir).into_iter().flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        let Ok(reports) = agx_triage::crash::parse(&bytes) else {
            continue;
        };
        for r in &reports {
            for t in &r.threads {
                for f in &t.frames {
                    frames += 1;
                    let s = ops::frames::symbol_text(r, f);
                    match (&f.symbol, f.symbol_offset, f.image_offset) {
                        (Some(sym), Some(o), _) => assert_eq!(s, format!("{sym} + {o}")),
                        (Some(sym), None, _) => assert_eq!(&s, sym),
                        (None, _, Some(o)) => {
                            by_offset += 1;
                            assert!(s.ends_with(&format!(" + {o:#x}")), "{s}");
                        }
                        (None, _, None) => assert_eq!(s, "???"),
                    }
                }
            }
        }
    }
    assert!(frames > 100, "samples have frames: {frames}");
    assert!(by_offset > 0, "some sample frame has no symbol");
}

#[test]
fn a_file_that_is_not_a_fix_cannot_be_registered() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("libagx_fix_v2_4.dylib");
    std::fs::write(&f, "not a Mach-O file").unwrap();
    let err = ops::fixes::fix_record(&f, "v2.4").unwrap_err();
    assert!(matches!(err, OpsError::Fix(_)), "{err:?}");
    let mut store = Store::open(&t.path().join("t.db")).unwrap();
    assert!(ops::fixes::register(&mut store, &f, "v2.4").is_err());
    assert!(store.list_fixes().unwrap().is_empty(), "nothing registered");
    // Naming follows the one convention even for a file that is not registered.
    assert_eq!(agx_triage::fixes::fix_name_from_file(&f), "v2.4");
}

#[test]
fn gather_a_writeup_without_the_binary() {
    use agx_triage::ops::writeup::{gather, Against, GatherOptions};
    let t = tempfile::tempdir().unwrap();
    let mut lines = block(1, 20, 20, "v2.2");
    lines.extend(block(101, 20, 18, "v2.3"));
    let store = store_with(t.path(), &lines);
    let opts = GatherOptions {
        rounds: (101, 120),
        against: Against::Rounds(1, 20),
        title: None,
        batch_size: None,
        now: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap(),
        stack_frames: 8,
        include_unconfirmed: false,
        redact: false,
        select: None,
    };
    let w = gather(&store, &opts).unwrap();
    let c = w.comparison.as_ref().expect("a comparison");
    assert_eq!(
        (c.a_label.as_str(), c.b_label.as_str()),
        ("1-20", "101-120")
    );
    // The writeup carries the very figures `compare` computes (one type).
    let (direct, _) = ops::compare::compare_selectors(
        &store,
        &RoundSelector::Range(1, 20),
        &RoundSelector::Range(101, 120),
        false,
    )
    .unwrap();
    assert_eq!(c.comparison, direct);
    assert_eq!(c.raw.rounds_needed, Some(78));
    assert_eq!(w.raw_total.pass, 18);
    // No efficiency figures: none, not an empty summary.
    assert_eq!(w.efficiency, None);
}
