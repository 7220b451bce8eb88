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

mod common;

use std::fs;
use std::path::Path;

use agx_triage::crash::{self, JsonReader, ThreadFrames};
use common::{corpus_dir, files_in};
use proptest::prelude::*;

/// Both readers, both depths: the same reports or the same error.
fn assert_same(what: &str, bytes: &[u8]) {
    if let Some(diff) = differ(bytes) {
        panic!("{what}: {diff}");
    }
}

/// How the two readers part on `bytes`, if they do.
fn differ(bytes: &[u8]) -> Option<String> {
    for depth in [ThreadFrames::All, ThreadFrames::Crashed] {
        let fast = crash::parse_with_reader(bytes, depth, JsonReader::Fast);
        let serde = crash::parse_with_reader(bytes, depth, JsonReader::Serde);
        match (fast, serde) {
            (Ok(f), Ok(s)) => {
                if f.len() != s.len() {
                    return Some(format!(
                        "({depth:?}): fast {} reports, serde {}",
                        f.len(),
                        s.len()
                    ));
                }
                for (i, (f, s)) in f.iter().zip(&s).enumerate() {
                    if f != s {
                        return Some(format!(
                            "({depth:?}): report {i} differs\nfast:  {f:?}\nserde: {s:?}"
                        ));
                    }
                }
            }
            (Err(f), Err(s)) => {
                if f.to_string() != s.to_string() {
                    return Some(format!("({depth:?}): errors: fast {f}, serde {s}"));
                }
            }
            (f, s) => {
                return Some(format!(
                    "({depth:?}): fast {:?} but serde {:?}",
                    f.map(|r| r.len()),
                    s.map(|r| r.len())
                ))
            }
        }
    }
    None
}

fn sample_texts() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/reports");
    files_in(&dir)
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
        for path in files_in(&dir.join(sub)) {
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

/// A small report with a marker `«N»` at every place a value or a key goes: each marker is
/// filled with its entry of [`SLOT_DEFAULTS`] or, in turn, with a hostile value.
const TEMPLATE: &str = concat!(
    r#"{«0»"bug_type":«1»,"incident_id":«2»,"timestamp":«3»,"os_version":«4»,"name":«5»}"#,
    "\n",
    r#"{«6»"incident":«7»,"procName":«8»,"pid":«9»,"captureTime":«10»,"#,
    r#""bundleInfo":{«11»"CFBundleIdentifier":«12»,"CFBundleShortVersionString":«13»},"#,
    r#""osVersion":«14»,"exception":{«15»"type":«16»,"signal":«17»,"codes":«18»,"subtype":«19»,"message":«20»},"#,
    r#""termination":{«21»"namespace":«22»,"code":«23»,"indicator":«24»,"byProc":«25»},"#,
    r#""asi":{«26»"libsystem_c.dylib":«27»,"x":[«28»]},"faultingThread":«29»,"#,
    r#""threads":[«30»{«31»"id":«32»,"name":«33»,"queue":«34»,"triggered":«35»,"#,
    r#""frames":[«36»{«37»"imageIndex":«38»,"imageOffset":«39»,"symbol":«40»,"symbolLocation":«41»,"sourceFile":«42»,"sourceLine":«43»}],"#,
    r#""threadState":«44»},{"frames":«45»}],"#,
    r#""usedImages":[«46»{«47»"uuid":«48»,"name":«49»,"path":«50»,"arch":«51»,"base":«52»,"size":«53»,"CFBundleIdentifier":«54»,"CFBundleVersion":«55»}],"#,
    r#""lastExceptionBacktrace":«56»,"crashReporterKey":«57»,"processes":«58»,"analysis":«59»,"#,
    r#""modelCode":«60»,"cpuType":«61»,"isCorpse":«62»,"unknown":«63»,"usedImages2":[«64»]«65»}"#,
    "\n",
);

/// What each marker of [`TEMPLATE`] holds when it is not the one being tested (`""` for a key
/// slot or an array slot: nothing there).
const SLOT_DEFAULTS: &[&str] = &[
    "",
    r#""309""#,
    r#""A1B2""#,
    r#""2024-01-02 03:04:05.00 +0000""#,
    r#""macOS 14.5 (23F79)""#,
    r#""python3.11""#,
    "",
    r#""A1B2""#,
    r#""python3.11""#,
    "4242",
    r#""2024-01-02 03:04:05.0000 +0000""#,
    "",
    r#""org.python.python""#,
    r#""3.11.9""#,
    r#"{"train":"macOS 14.5","build":"23F79"}"#,
    "",
    r#""EXC_BAD_ACCESS""#,
    r#""SIGSEGV""#,
    r#""0x0000000000000001, 0x0000000000000000""#,
    r#""KERN_INVALID_ADDRESS at 0x0000000000000000""#,
    r#""m""#,
    "",
    r#""SIGNAL""#,
    "11",
    r#""Segmentation fault: 11""#,
    r#""exc handler [4242]""#,
    "",
    r#"["abort() called"]"#,
    "",
    "0",
    "",
    "",
    "7",
    r#""main""#,
    r#""com.apple.main-thread""#,
    "true",
    "",
    "",
    "0",
    "4096",
    r#""AGX::Compute::dispatch""#,
    "12",
    r#""agx.c""#,
    "3",
    r#"{"flavor":"ARM_THREAD_STATE64","x":[{"value":1},{"value":2}],"pc":{"value":4112},"far":{"value":0}}"#,
    r#"[{"imageIndex":0,"imageOffset":1}]"#,
    "",
    "",
    r#""2f5ccac7-cf4f-3f87-8689-7c673e90e595""#,
    r#""AGXMetalG13X""#,
    r#""/System/Library/Extensions/AGXMetalG13X.bundle/Contents/MacOS/AGXMetalG13X""#,
    r#""arm64e""#,
    "4294967296",
    "65536",
    r#""com.apple.AGXMetalG13X""#,
    r#""1""#,
    r#"[{"imageIndex":0,"imageOffset":2}]"#,
    r#""k""#,
    "[]",
    r#"{"restart_reason_desc":"r"}"#,
    r#""Mac14,2""#,
    r#""ARM-64""#,
    "false",
    r#"{"a":[1,{"b":null}]}"#,
    "",
    "",
];

/// [`TEMPLATE`] with marker `slot` holding `value` and every other marker its default.
fn fill(slot: usize, value: &str) -> String {
    fill_with(|n| (n == slot).then_some(value))
}

/// Whether marker `n` stands where a key goes (then a filler is `KEY:VALUE,`) or where the
/// last member of an object or an entry of an array goes.
fn slot_kind(n: usize) -> SlotKind {
    let key_slots = [0, 6, 11, 15, 21, 26, 31, 37, 47];
    if key_slots.contains(&n) {
        SlotKind::Key
    } else if n == 65 {
        SlotKind::LastMember
    } else if [28, 30, 36, 46, 64].contains(&n) {
        SlotKind::Entry
    } else {
        SlotKind::Value
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SlotKind {
    Key,
    LastMember,
    Entry,
    Value,
}

/// The text a hostile `value` (or key) becomes at a marker of kind `kind`.
fn in_slot(kind: SlotKind, value: &str) -> String {
    match kind {
        // A value in a key slot becomes the key of a member; a key-shaped text is used as is.
        SlotKind::Key if value.starts_with('"') => format!("{value}:1,"),
        SlotKind::Key => format!("\"k\":{value},"),
        SlotKind::LastMember if value.starts_with('"') => format!(",{value}:1"),
        SlotKind::LastMember => format!(",\"k\":{value}"),
        SlotKind::Entry => format!("{value},"),
        SlotKind::Value => value.to_string(),
    }
}

#[test]
fn the_template_is_read_by_both_readers_alike() {
    assert_eq!(SLOT_DEFAULTS.len(), 66);
    let text = fill(usize::MAX, "");
    let reports = crash::parse_with_reader(text.as_bytes(), ThreadFrames::All, JsonReader::Serde)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(reports.len(), 1);
    assert_same("the template", text.as_bytes());
}

/// Values (and keys) where a reader that skips what the other reads, or reads what the other
/// skips, would part from serde: every one in every slot of [`TEMPLATE`].
const HOSTILE: &[&str] = &[
    // Keys serde reads with `parse_str` (which refuses lone surrogates) even inside a value it
    // otherwise ignores: an object where a scalar, an array or a register state goes.
    r#"{"\ud800":1}"#,
    r#"{"\udc00":1}"#,
    r#"{"a\ud800b":[]}"#,
    r#"{"\ud83d\ude00":1,"\ud800x":2}"#,
    r#"{"ok":1,"\udfff":2}"#,
    r#"[{"\ud800":1}]"#,
    r#"[[{"\ud800":1}]]"#,
    r#"{"a":{"\ud800":1}}"#,
    r#"{"\u0000":1}"#,
    r#"{"\ud800\u0041":1}"#,
    // Strings.
    r#""\ud800""#,
    r#""\udc00""#,
    r#""\ud800\udc00""#,
    r#""\ud800\ud800""#,
    r#""\u0000""#,
    r#""\u00""#,
    r#""\U00e9""#,
    "\"\u{7f}\"",
    "\"\u{1f}\"",
    "\"é\u{2028}\"",
    r#""\/\b\f\n\r\t\"\\""#,
    // Numbers.
    "-0",
    "-0.0",
    "0e0",
    "1E+2",
    "1e-400",
    "1e400",
    "-1e400",
    "00",
    "-",
    "1.",
    ".5",
    "+1",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999",
    "-9223372036854775808",
    "-9223372036854775809",
    "4.2",
    // Literals and containers.
    "null",
    "nul",
    "True",
    "[]",
    "{}",
    "[null]",
    "[1,]",
    "{\"a\":1,}",
    "[\"\\ud800\"]",
    "{\"a\":\"\\ud800\"}",
    "{\"a\" \t\n\r:\r\n1 }",
    "\u{c}1",
    "\u{a0}1",
];

#[test]
fn hostile_values_in_every_slot_agree() {
    let mut parted = Vec::new();
    for slot in 0..SLOT_DEFAULTS.len() {
        for value in HOSTILE {
            let text = fill(slot, &in_slot(slot_kind(slot), value));
            if let Some(diff) = differ(text.as_bytes()) {
                parted.push(format!("slot {slot} = {value}: {}", first_line(&diff)));
            }
        }
    }
    assert!(
        parted.is_empty(),
        "{} cases:\n{}",
        parted.len(),
        parted.join("\n")
    );
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

// Regression: serde_json reads every key of an object it visits as a map (a scalar field, a
// `threads`, `frames` or `usedImages` that is an object, an `asi` message) with `parse_str`,
// which refuses a lone surrogate, even though it ignores the values; the fast reader skipped
// such an object as it skips an unknown value, and kept a body serde refuses.
#[test]
fn keys_of_an_object_serde_visits_as_a_map_are_checked() {
    let header = r#"{"bug_type":"309","incident_id":"A1"}"#;
    for body in [
        r#"{"procName":"p","threads":{"\ud800":1}}"#,
        r#"{"procName":"p","usedImages":{"\udc00":1}}"#,
        r#"{"procName":"p","lastExceptionBacktrace":{"a\ud800":[]}}"#,
        r#"{"procName":"p","threads":[{"frames":{"\ud800":1}}]}"#,
        r#"{"procName":"p","threads":[{"frames":[{"symbol":{"\ud800":1}}]}]}"#,
        r#"{"procName":"p","usedImages":[{"name":{"\ud800":1}}]}"#,
        r#"{"procName":"p","asi":{"x":[{"\ud800":1}]}}"#,
        r#"{"procName":"p","asi":{"x":{"\ud800":1}}}"#,
        r#"{"procName":{"\ud800":1}}"#,
        r#"{"procName":"p","exception":{"type":{"\ud800":1}}}"#,
    ] {
        let text = format!("{header}\n{body}\n");
        assert_same(&text, text.as_bytes());
        // The same objects without the lone surrogate are read alike too.
        let text = text
            .replace("\\ud800", "\\ud83d\\ude00")
            .replace("\\udc00", "x");
        assert_same(&text, text.as_bytes());
    }
}

/// Pieces of string content, each valid or not as serde_json sees it.
const STRING_PIECES: &[&str] = &[
    "a",
    " ",
    "AGX::Compute",
    "\\\"",
    "\\\\",
    "\\/",
    "\\b\\f\\n\\r\\t",
    "\\u0041",
    "\\u00e9",
    "\\u0000",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00",
    "\\ud800\\u0041",
    "\\ud800\\ud800",
    "\\u12",
    "\\x",
    "\\U0041",
    "\u{1}",
    "\t",
    "\u{7f}",
    "é",
    "\u{2028}",
    "😀",
];

/// Pieces of number text: sign, integer part, fraction, exponent.
const INT_PARTS: &[&str] = &[
    "0",
    "7",
    "4096",
    "00",
    "01",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "",
];
const FRACTIONS: &[&str] = &["", "", "", ".0", ".5", ".", ".e1"];
const EXPONENTS: &[&str] = &["", "", "", "e0", "E+2", "e-400", "e400", "e", "e+"];
const BLANKS: &[&str] = &["", "", "", " ", "\n", "\t", "\r\n", "\u{c}", "\u{a0}"];

fn json_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(STRING_PIECES), 0..4)
        .prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

fn json_number() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["", "", "-", "+"][..]),
        prop::sample::select(INT_PARTS),
        prop::sample::select(FRACTIONS),
        prop::sample::select(EXPONENTS),
    )
        .prop_map(|(s, i, f, e)| format!("{s}{i}{f}{e}"))
}

/// A key: mostly one of the readers' field names (duplicates come with them), sometimes a
/// hostile string.
fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(|k| format!("\"{k}\"")),
        1 => json_string(),
    ]
}

/// Any JSON value (valid or a near miss), up to a few levels deep, with stray blanks.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        json_string(),
        json_number(),
        prop::sample::select(&["null", "true", "false", "nul", "tru", "[]", "{}"][..])
            .prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        let blank = prop::sample::select(BLANKS);
        prop_oneof![
            (
                prop::collection::vec((inner.clone(), blank.clone()), 0..4),
                any::<bool>()
            )
                .prop_map(|(items, trailing)| {
                    let items: Vec<String> = items
                        .into_iter()
                        .map(|(v, b)| format!("{b}{v}{b}"))
                        .collect();
                    let comma = if trailing && !items.is_empty() {
                        ","
                    } else {
                        ""
                    };
                    format!("[{}{comma}]", items.join(","))
                }),
            prop::collection::vec((json_key(), inner, blank), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v, b)| format!("{b}{k}{b}:{b}{v}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Hostile values in one or two slots of [`TEMPLATE`]: every place of the report's
    /// structure (a scalar, a struct, an array of frames or images, an entry, a key).
    #[test]
    fn the_readers_agree_on_generated_values(
        slots in prop::collection::vec((0..SLOT_DEFAULTS.len(), json_value()), 1..3),
        framing in 0usize..8,
    ) {
        let mut values: Vec<Option<String>> = vec![None; SLOT_DEFAULTS.len()];
        for (slot, value) in &slots {
            values[*slot] = Some(in_slot(slot_kind(*slot), value));
        }
        let text = frame(framing, &fill_with(|n| values[n].as_deref()));
        assert_same(&text, text.as_bytes());
    }
}

/// [`TEMPLATE`] with the markers `value` gives a text for, and the defaults elsewhere.
fn fill_with<'a>(value: impl Fn(usize) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(TEMPLATE.len());
    let mut rest = TEMPLATE;
    while let Some(open) = rest.find('«') {
        out.push_str(&rest[..open]);
        let after = &rest[open + '«'.len_utf8()..];
        let close = after.find('»').unwrap();
        let n: usize = after[..close].parse().unwrap();
        out.push_str(value(n).unwrap_or(SLOT_DEFAULTS[n]));
        rest = &after[close + '»'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// The filled template as a file may hold it: alone, twice (two documents), after the
/// crash dialog's text, with CRLF line ends, body only, header only, cut short, or with a
/// hostile value's text after it.
fn frame(how: usize, text: &str) -> String {
    let (header, body) = text.split_once('\n').unwrap_or((text, ""));
    match how {
        1 => format!("{text}{}", fill(usize::MAX, "")),
        2 => format!("Translated Report (Full Report Below)\n\nProcess: x\n\nFull Report\n{text}"),
        3 => text.replace('\n', "\r\n"),
        4 => body.to_string(),
        5 => format!("{header}\n{header}\n{body}"),
        6 => text[..char_floor(text, text.len() * 2 / 3)].to_string(),
        7 => format!("{text}{text}"),
        _ => text.to_string(),
    }
}

/// Nesting around serde_json's recursion limit (128, counted only where it builds values, not
/// where it skips them) and the fast reader's own (100), in every slot.
#[test]
fn nesting_near_either_limit_agrees_in_every_slot() {
    let mut parted = Vec::new();
    for depth in [98, 99, 100, 101, 126, 127, 128, 129, 300] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        for value in [arrays, objects] {
            for slot in 0..SLOT_DEFAULTS.len() {
                let text = fill(slot, &in_slot(slot_kind(slot), &value));
                if let Some(diff) = differ(text.as_bytes()) {
                    parted.push(format!("slot {slot}, depth {depth}: {}", first_line(&diff)));
                }
            }
        }
    }
    assert!(parted.is_empty(), "{}", parted.join("\n"));
}

/// A byte that stops a string (`"`, `\`, a control character) or does not (DEL, UTF-8) at
/// every offset of strings up to three 8-byte words long: the fast reader looks for the
/// stops eight bytes at a time.
#[test]
fn a_stop_at_every_offset_of_a_string_agrees() {
    let mut parted = Vec::new();
    for len in 0..26 {
        for at in 0..=len {
            for stop in [
                "\\\"", "\\\\", "\\u00e9", "\\ud800", "\u{1}", "\u{1f}", "\u{7f}", "é", "\\q",
            ] {
                let s = format!("\"{}{stop}{}\"", "a".repeat(at), "b".repeat(len - at));
                for slot in [8, 63] {
                    let text = fill(slot, &s);
                    if let Some(diff) = differ(text.as_bytes()) {
                        parted.push(format!("{s} in slot {slot}: {}", first_line(&diff)));
                    }
                }
            }
        }
    }
    assert!(parted.is_empty(), "{}", parted.join("\n"));
}

/// Bytes that change JSON's structure or a token's class when written over another byte.
const MUTANT_BYTES: &[u8] =
    b"\"\\{}[],:-+0019eE.uUdD8nt \t\n\r\x00\x01\x0b\x0c\x1f\x7f\x80\xc3\xa9\xff";

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A few bytes of the template or a sample overwritten, inserted or removed: what the
    /// differential fuzz target (`fuzz/fuzz_targets/ips_readers.rs`) does, without cargo-fuzz.
    #[test]
    fn the_readers_agree_on_byte_mutations(
        which in 0usize..1000,
        edits in prop::collection::vec(
            (0u8..3, 0usize..100_000, prop::sample::select(MUTANT_BYTES)),
            1..6,
        ),
    ) {
        let samples = sample_texts();
        let mut bytes = if which % 4 == 0 {
            fill(usize::MAX, "").into_bytes()
        } else {
            samples[which % samples.len()].1.clone().into_bytes()
        };
        for &(op, at, b) in &edits {
            let at = at % (bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = b,
                1 => bytes.insert(at, b),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        if let Some(diff) = differ(&bytes) {
            panic!("{edits:?}: {diff}");
        }
    }
}
