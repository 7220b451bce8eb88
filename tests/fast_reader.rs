//! The fast `.ips` reader (`crash::ips::fast`) must give exactly what serde alone gives: the
//! same reports, field by field and warning by warning, or the same error. It reads most
//! objects itself and gives way to serde wherever the two could differ; these tests check
//! that on the real corpus and its truncated fragments, on `samples/`, and on mutations of
//! them that aim at every place where the two readers could part: a type changed, a number
//! serde reads as a float or refuses (`1e400`, `-0`, `01`), escapes (in keys, lone
//! surrogates, control characters), duplicate keys, `null` where a container goes, deep
//! nesting, truncation.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use agx_triage::crash::{self, JsonReader, ThreadFrames};
use proptest::prelude::*;

/// Both readers, both depths: the same reports or the same error.
fn assert_same(what: &str, bytes: &[u8]) {
    for depth in [ThreadFrames::All, ThreadFrames::Crashed] {
        let fast = crash::parse_with_reader(bytes, depth, JsonReader::Fast);
        let serde = crash::parse_with_reader(bytes, depth, JsonReader::Serde);
        match (fast, serde) {
            (Ok(f), Ok(s)) => {
                assert_eq!(f.len(), s.len(), "{what} ({depth:?}): report count");
                for (i, (f, s)) in f.iter().zip(&s).enumerate() {
                    assert_eq!(f, s, "{what} ({depth:?}): report {i} differs");
                }
            }
            (Err(f), Err(s)) => {
                assert_eq!(f.to_string(), s.to_string(), "{what} ({depth:?}): errors");
            }
            (f, s) => panic!(
                "{what} ({depth:?}): fast {:?} but serde {:?}",
                f.map(|r| r.len()),
                s.map(|r| r.len())
            ),
        }
    }
}

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

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "MANIFEST.tsv"))
        .collect();
    out.sort();
    out
}

fn sample_texts() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/reports");
    files(&dir)
        .into_iter()
        .filter_map(|p| {
            let text = fs::read_to_string(&p).ok()?;
            Some((p.display().to_string(), text))
        })
        .collect()
}

#[test]
fn the_readers_agree_on_the_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let mut n = 0;
    for sub in ["real", "fragments"] {
        for path in files(&dir.join(sub)) {
            assert_same(&path.display().to_string(), &fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 10, "{n}");
}

#[test]
fn the_readers_agree_on_the_samples() {
    let samples = sample_texts();
    assert!(!samples.is_empty());
    for (name, text) in &samples {
        assert_same(name, text.as_bytes());
    }
}

/// Values that one reader could take differently from the other: each is written in place of
/// a value, inserted, or used as a key.
const TOKENS: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-0",
    "01",
    "-1",
    "1.5",
    "1e3",
    "1e400",
    "-1e400",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "\"\"",
    "\" \"",
    "\"x\"",
    "\"12\"",
    "\"0x7b\"",
    "\"a\\\"b\"",
    "\"\\u00e9\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud800\"",
    "\"\\udc00x\"",
    "\"\\x\"",
    "\"tab\there\"",
    "\"\\/path\"",
    "[]",
    "{}",
    "[1,2]",
    "{\"a\":1}",
    "[null]",
    "[{}]",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
];

/// Keys of the structs the readers fill: a duplicate or an odd value of one of these is where
/// they could part.
const KEYS: &[&str] = &[
    "bug_type",
    "incident_id",
    "pid",
    "procName",
    "bundleInfo",
    "CFBundleIdentifier",
    "osVersion",
    "exception",
    "type",
    "subtype",
    "termination",
    "asi",
    "faultingThread",
    "threads",
    "triggered",
    "id",
    "name",
    "queue",
    "frames",
    "threadState",
    "imageIndex",
    "imageOffset",
    "symbol",
    "symbolLocation",
    "sourceLine",
    "usedImages",
    "uuid",
    "base",
    "size",
    "path",
    "arch",
    "CFBundleShortVersionString",
    "lastExceptionBacktrace",
    "crashReporterKey",
    "processes",
    "analysis",
    "p\\u0069d",
    "unknownKey",
];

/// One edit of a report's text.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the value after the `n`-th occurrence of `"KEY":` with a token.
    Value(usize, usize, usize),
    /// Insert `"KEY":TOKEN,` after the `n`-th `{`.
    Insert(usize, usize, usize),
    /// Write a token at a byte offset (per mille of the length).
    Splice(usize, usize),
    /// Cut the text at a byte offset (per mille of the length).
    Cut(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0..KEYS.len(), 0usize..40, 0..TOKENS.len()).prop_map(|(k, n, t)| Edit::Value(k, n, t)),
        3 => (0..KEYS.len(), 0usize..60, 0..TOKENS.len()).prop_map(|(k, n, t)| Edit::Insert(k, n, t)),
        1 => (0usize..1000, 0..TOKENS.len()).prop_map(|(at, t)| Edit::Splice(at, t)),
        1 => (0usize..1000).prop_map(Edit::Cut),
    ]
}

/// The end of the JSON value starting at `at` (roughly: up to the next `,`, `}` or `]` at
/// depth 0, outside strings), for replacing it.
fn value_end(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    let mut i = at;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return i,
                b'}' | b']' => depth -= 1,
                b',' if depth == 0 => return i,
                _ => {}
            }
        }
        i += 1;
    }
    b.len()
}

fn char_floor(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, e: &Edit) -> String {
    match *e {
        Edit::Value(k, n, t) => {
            let pat = format!("\"{}\":", KEYS[k]);
            let Some((at, _)) = text.match_indices(&pat).nth(n) else {
                return text.to_string();
            };
            let start = at + pat.len();
            let end = value_end(text, start);
            format!("{}{}{}", &text[..start], TOKENS[t], &text[end..])
        }
        Edit::Insert(k, n, t) => {
            let Some((at, _)) = text.match_indices('{').nth(n) else {
                return text.to_string();
            };
            format!(
                "{}\"{}\":{},{}",
                &text[..=at],
                KEYS[k],
                TOKENS[t],
                &text[at + 1..]
            )
        }
        Edit::Splice(at, t) => {
            let at = char_floor(text, text.len() * at / 1000);
            format!("{}{}{}", &text[..at], TOKENS[t], &text[at..])
        }
        Edit::Cut(at) => text[..char_floor(text, text.len() * at / 1000)].to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_readers_agree_on_edited_reports(
        which in 0usize..1000,
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let samples = sample_texts();
        let (name, text) = &samples[which % samples.len()];
        let mut edited = text.clone();
        for e in &edits {
            edited = apply(&edited, e);
        }
        assert_same(&format!("{name} after {edits:?}"), edited.as_bytes());
    }
}

/// Every key with every token, as a value and as an inserted (often duplicate) field, in one
/// sample: the cases the random edits reach only by chance.
#[test]
fn edits_that_keep_the_json_valid_still_agree() {
    let samples = sample_texts();
    let (name, text) = &samples[0];
    for (k, key) in KEYS.iter().enumerate() {
        for (t, _) in TOKENS.iter().enumerate() {
            for n in [0, 1] {
                let edited = apply(text, &Edit::Value(k, n, t));
                assert_same(
                    &format!("{name}: {key} #{n} = {}", TOKENS[t]),
                    edited.as_bytes(),
                );
                let edited = apply(text, &Edit::Insert(k, n * 3, t));
                assert_same(
                    &format!("{name}: insert {key} = {}", TOKENS[t]),
                    edited.as_bytes(),
                );
            }
        }
    }
}
