//! Ingest parses with `ThreadFrames::Crashed` (only the crashed thread's frames become model
//! frames). What it stores must be exactly what the full parse would have stored: the store
//! writes the report after `ingest` drops every other thread's frames and the registers, so the
//! lean report must equal the full one with the other threads' frames dropped — every field,
//! every warning, in order. Checked on the real corpus, on `samples/`, and on agx-synth reports
//! made hostile (image indexes out of range, `faultingThread` missing, out of range, odd or
//! after `threads`, several or odd `triggered` flags, `triggered` after `frames`, odd fields and
//! entries, exception backtraces).
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::Path;

use agx_synth::{Exception, Frame, Image, Process, Report, Thread};
use agx_triage::crash::{self, ThreadFrames};
use common::{corpus_dir, files_in};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The lean parse of `bytes` is the full parse minus the other threads' frames (or the same
/// error). Returns the full reports, for callers that check more.
fn assert_lean_is_full(what: &str, bytes: &[u8]) -> Vec<crash::CrashReport> {
    let full = crash::parse(bytes);
    let lean = crash::parse_with(bytes, ThreadFrames::Crashed);
    match (full, lean) {
        (Ok(full), Ok(lean)) => {
            let mut expected = full.clone();
            for r in &mut expected {
                r.drop_other_threads_frames();
            }
            assert_eq!(expected.len(), lean.len(), "{what}: report count");
            for (i, (e, l)) in expected.iter().zip(&lean).enumerate() {
                assert_eq!(
                    e, l,
                    "{what}: report {i} differs between the full and lean parse"
                );
            }
            full
        }
        (Err(f), Err(l)) => {
            assert_eq!(f.to_string(), l.to_string(), "{what}: errors differ");
            Vec::new()
        }
        (f, l) => panic!(
            "{what}: full {:?} but lean {:?}",
            f.map(|_| ()),
            l.map(|_| ())
        ),
    }
}

#[test]
fn lean_parse_equals_full_parse_on_the_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let mut with_other_frames = 0;
    for sub in ["real", "fragments"] {
        for path in files_in(&dir.join(sub)) {
            let bytes = fs::read(&path).unwrap();
            let full = assert_lean_is_full(&path.display().to_string(), &bytes);
            with_other_frames += full
                .iter()
                .filter(|r| {
                    r.threads
                        .iter()
                        .enumerate()
                        .any(|(i, t)| Some(i) != r.crashed_thread && !t.frames.is_empty())
                })
                .count();
        }
    }
    // The check means something only if the lean parse had frames to leave out.
    assert!(with_other_frames >= 8, "{with_other_frames}");
}

#[test]
fn lean_parse_equals_full_parse_on_the_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/reports");
    let all = files_in(&dir);
    assert!(!all.is_empty());
    for path in all {
        let bytes = fs::read(&path).unwrap();
        assert_lean_is_full(&path.display().to_string(), &bytes);
    }
}

/// A report whose only odd frame is on a thread that did not crash: the lean parse builds no
/// frame of that thread, but must still say what the full parse says about it (the image list
/// it needs for that comes after the threads).
#[test]
fn warnings_about_other_threads_frames_are_kept() {
    let r = Report::new()
        .image(Image::new("a", "/usr/lib/a").base(0x1000))
        .thread(Thread::new(1).frame(Frame::new(7, 16)))
        .thread(Thread::new(2).frame(Frame::new(0, 32)))
        .faulting_thread(1);
    let ips = r.build_ips();
    let full = assert_lean_is_full("odd frame on thread 0", ips.as_bytes());
    assert!(
        full[0]
            .warnings
            .iter()
            .any(|w| w.contains("`frames[].imageIndex` 7 is out of range")),
        "{:?}",
        full[0].warnings
    );
    let lean = crash::parse_with(ips.as_bytes(), ThreadFrames::Crashed).unwrap();
    assert!(lean[0].threads[0].frames.is_empty());
    assert_eq!(lean[0].threads[1].frames.len(), 1);
    assert_eq!(lean[0].threads.len(), 2);
}

/// JSON text of `v`, objects' keys in order except those in `late`, which come last: the
/// parser may meet `faultingThread` after `threads`, or `frames` before `triggered`.
fn write(v: &Value, late: &[&str], out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| late.contains(&k.as_str()));
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(&m[k], late, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, late, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// What to do to a generated report's body.
#[derive(Debug, Clone)]
struct Hostile {
    /// 0 keep, 1 remove, 2 out of range, 3 a string, 4 a boolean, 5 far out of range.
    faulting: u8,
    /// Per thread: 0 absent, 1 true, 2 false, 3 "true", 4 1, 5 "maybe", 6 the thread is `7`.
    triggered: Vec<u8>,
    /// Odd values put into frames: (thread, frame, field 0..4).
    odd_fields: Vec<(usize, usize, u8)>,
    /// A frames entry replaced by a string: (thread, frame).
    odd_entries: Vec<(usize, usize)>,
    /// A `usedImages` entry replaced by `null` (it keeps its slot).
    null_image: Option<usize>,
    /// Keys written last.
    late: Vec<&'static str>,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (
        0u8..6,
        prop::collection::vec(0u8..7, 0..6),
        prop::collection::vec((0usize..6, 0usize..6, 0u8..5), 0..4),
        prop::collection::vec((0usize..6, 0usize..6), 0..3),
        prop::option::of(0usize..4),
        prop::sample::subsequence(
            vec![
                "faultingThread",
                "triggered",
                "frames",
                "usedImages",
                "threadState",
            ],
            0..=5,
        ),
    )
        .prop_map(
            |(faulting, triggered, odd_fields, odd_entries, null_image, late)| Hostile {
                faulting,
                triggered,
                odd_fields,
                odd_entries,
                null_image,
                late,
            },
        )
}

/// A report with random shape: images, threads of frames whose image indexes may be out of
/// range, a last exception backtrace, a faulting thread.
fn random_report() -> impl Strategy<Value = Report> {
    (
        1usize..4,
        prop::collection::vec(
            prop::collection::vec(
                (0usize..6, any::<u16>(), prop::option::of("[a-z_:]{1,12}")),
                0..6,
            ),
            1..6,
        ),
        prop::option::of(prop::collection::vec(0usize..6, 0..4)),
        0usize..6,
    )
        .prop_map(|(images, threads, backtrace, faulting)| {
            let mut r = Report::new()
                .process(Process::new("python3", "/opt/homebrew/bin/python3").pid(42))
                .exception(Exception::bad_access(0x98));
            for i in 0..images {
                r = r.image(
                    Image::new(&format!("lib{i}"), &format!("/usr/lib/lib{i}.dylib"))
                        .base(0x1_0000_0000 * (i as u64 + 1)),
                );
            }
            for (id, frames) in threads.iter().enumerate() {
                let mut t = Thread::new(id as u64 + 100);
                for (image, offset, symbol) in frames {
                    let mut f = Frame::new(*image, u64::from(*offset));
                    if let Some(s) = symbol {
                        f = f.symbol(s, 8);
                    }
                    t = t.frame(f);
                }
                r = r.thread(t);
            }
            if let Some(bt) = backtrace {
                r = r.last_exception_backtrace(
                    bt.into_iter().map(|i| Frame::new(i, 0x10)).collect(),
                );
            }
            // May be out of range: the parser then falls back to a `triggered` thread.
            r.faulting_thread(faulting)
        })
}

fn make_hostile(report: &Report, h: &Hostile) -> String {
    let ips = report.build_ips();
    let (header, body) = ips.split_once('\n').unwrap();
    let mut body: Map<String, Value> = serde_json::from_str(body).unwrap();
    let n = body["threads"].as_array().map_or(0, Vec::len);
    match h.faulting {
        1 => {
            body.remove("faultingThread");
        }
        2 => {
            body.insert("faultingThread".into(), Value::from(n));
        }
        3 => {
            body.insert("faultingThread".into(), Value::from("0"));
        }
        4 => {
            body.insert("faultingThread".into(), Value::from(true));
        }
        5 => {
            body.insert("faultingThread".into(), Value::from(u64::MAX));
        }
        _ => {}
    }
    if let Some(Value::Array(threads)) = body.get_mut("threads") {
        for (t, how) in threads.iter_mut().zip(&h.triggered) {
            let v = match how {
                1 => Value::from(true),
                2 => Value::from(false),
                3 => Value::from("true"),
                4 => Value::from(1),
                5 => Value::from("maybe"),
                6 => {
                    *t = Value::from(7);
                    continue;
                }
                _ => {
                    if let Some(o) = t.as_object_mut() {
                        o.remove("triggered");
                    }
                    continue;
                }
            };
            if let Some(o) = t.as_object_mut() {
                o.insert("triggered".into(), v);
            }
        }
        for &(ti, fi, field) in &h.odd_fields {
            let Some(f) = threads
                .get_mut(ti)
                .and_then(|t| t.get_mut("frames"))
                .and_then(|f| f.get_mut(fi))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let (key, v) = match field {
                0 => ("symbol", Value::from(false)),
                1 => ("imageIndex", Value::from("2")),
                2 => ("imageIndex", Value::from(-1)),
                3 => ("imageOffset", Value::from("zz")),
                _ => ("sourceLine", Value::from(vec![1, 2])),
            };
            f.insert(key.into(), v);
        }
        for &(ti, fi) in &h.odd_entries {
            if let Some(f) = threads
                .get_mut(ti)
                .and_then(|t| t.get_mut("frames"))
                .and_then(|f| f.get_mut(fi))
            {
                *f = Value::from("not a frame");
            }
        }
    }
    if let (Some(i), Some(Value::Array(images))) = (h.null_image, body.get_mut("usedImages")) {
        if let Some(im) = images.get_mut(i) {
            *im = Value::Null;
        }
    }
    let mut text = String::new();
    write(&Value::Object(body), &h.late, &mut text);
    format!("{header}\n{text}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn lean_parse_equals_full_parse_on_hostile_reports(r in random_report(), h in hostile()) {
        let text = make_hostile(&r, &h);
        assert_lean_is_full(&format!("{h:?}\n{text}"), text.as_bytes());
    }

    #[test]
    fn lean_parse_equals_full_parse_on_cut_reports(r in random_report(), h in hostile(), cut in any::<prop::sample::Index>()) {
        // A body cut short is repaired and read again: the same path, with a partial report.
        let text = make_hostile(&r, &h);
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        assert_lean_is_full(&format!("{h:?} cut at {at}"), &text.as_bytes()[..at]);
    }
}
