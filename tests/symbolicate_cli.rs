//! Symbolication through the binary: `symbols add` indexes Mach-O images built from
//! tests/fixtures/symbols/ (a thin arm64 executable and a fat dylib), and a crash report whose
//! frames carry only image offsets gets its names either at ingest (symbols added first) or
//! later with `symbolicate --all` (report ingested first). Names are checked against the symbol
//! tables (read with goblin) and, where installed, against llvm-symbolizer; frames of an image
//! whose UUID is unknown, or at an offset no symbol covers, are counted and left unnamed.
//!
//! Without clang / ld64.lld / llvm-lipo / dsymutil the tests print a skip message and pass,
//! unless the environment variable `CI` is set: then a missing tool is a failure.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "fixtures/symbols/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};

use agx_synth::{Frame, Image};
use common::*;
use support::{llvm_symbolize, require_tool, slices, SliceFacts};

/// The fixture images, built once per test run into this test's own folder.
fn fixtures() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("symbolicate-cli-fixtures");
        support::build_fixtures(&out, false)
    })
    .as_deref()
}

/// An image of the test report that points into a fixture slice.
struct Target {
    /// Index in the report's `usedImages`.
    image_index: usize,
    /// The file the slice is in (for llvm-symbolizer).
    object: PathBuf,
    slice: SliceFacts,
}

/// One crashed-thread frame of the test report and what it must become.
struct Expect {
    image_index: usize,
    offset: u64,
    /// `Some((name, symbol_offset, object, vmaddr))` when the frame must be named.
    named: Option<(&'static str, u64, PathBuf, u64)>,
}

const METAL_UUID: &str = "0dd1ca7e-0000-4000-8000-00000000abcd";

/// The report's images beyond `synth_ips`'s three: the thin arm64 executable, the arm64 slice
/// of the fat dylib, and Metal with a UUID no store knows.
fn targets(dir: &Path) -> (Target, Target) {
    let exe = dir.join("agx_arm64");
    let fat = dir.join("libagx_fat.dylib");
    let exe_slice = slices(&exe).remove(0);
    let fat_slice = slices(&fat)
        .into_iter()
        .find(|s| s.arch == "arm64")
        .expect("fat file has an arm64 slice");
    (
        Target {
            image_index: 3,
            object: exe,
            slice: exe_slice,
        },
        Target {
            image_index: 4,
            object: fat,
            slice: fat_slice,
        },
    )
}

/// A frame 4 bytes into `raw` (so it is inside the function as a pc and as a return address).
fn inside(t: &Target, raw: &str, want: &'static str) -> Expect {
    let start = t.slice.offset_of(raw);
    assert!(
        t.slice.end_of(start) > start + 4,
        "{raw} is too short for a probe 4 bytes in"
    );
    Expect {
        image_index: t.image_index,
        offset: start + 4,
        named: Some((want, 4, t.object.clone(), t.slice.vmaddr)),
    }
}

/// The crashed thread: two frames in the fat slice (top: a C++ template method), two in the
/// executable, one in Metal (unknown UUID), one past the end of the executable's `__text`.
fn frames(exe: &Target, fat: &Target) -> Vec<Expect> {
    vec![
        inside(
            fat,
            "__ZN3AGX14ComputeContextINS_3G16EE17prepareForEnqueueEb",
            "AGX::ComputeContext<AGX::G16>::prepareForEnqueue(bool)",
        ),
        inside(
            fat,
            "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
            "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
        ),
        inside(exe, "_agx_encode_dispatch", "agx_encode_dispatch"),
        Expect {
            image_index: 5,
            offset: 0x4242,
            named: None,
        },
        Expect {
            image_index: exe.image_index,
            offset: exe.slice.text.1 + 0x40,
            named: None,
        },
        inside(
            exe,
            "__ZN3AGX12clampThreadsIiEET_S1_",
            "int AGX::clampThreads<int>(int)",
        ),
    ]
}

const TOP: &str = "AGX::ComputeContext<AGX::G16>::prepareForEnqueue(bool)";
const UNKNOWN_FRAME: usize = 3;
const OUTSIDE_FRAME: usize = 4;

/// `synth_report` with the crashed thread's frames replaced by `frames` (image offsets only,
/// no symbol fields) and the fixture images appended to its images.
fn report_text(exe: &Target, fat: &Target, frames: &[Expect]) -> String {
    let mut r = synth_report("00000000-0000-4000-8000-00000000517b", 3131, 0);
    assert_eq!(r.images.len(), exe.image_index);
    for (t, name, base) in [
        (exe, "agx_arm64", 0x1_0400_0000u64),
        (fat, "libagx_fat.dylib", 0x1_0600_0000u64),
    ] {
        r.images.push(
            Image::new(name, &format!("/opt/agx/{name}"))
                .arch("arm64")
                .base(base)
                .size(0x10000)
                .uuid(&t.slice.uuid),
        );
    }
    r.images.push(
        Image::new(
            "Metal",
            "/System/Library/Frameworks/Metal.framework/Versions/A/Metal",
        )
        .base(0x1_8000_0000)
        .size(0x100000)
        .uuid(METAL_UUID),
    );
    assert_eq!(r.images.len(), 6);
    r.threads[0].frames = frames
        .iter()
        .map(|f| Frame::new(f.image_index, f.offset))
        .collect();
    r.build_ips()
}

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// `symbols add` of the executable and the fat file; all three slices must be added.
fn add_symbols(db: &Path, exe: &Target, fat: &Target) {
    let o = run(
        db,
        &[
            "symbols",
            "add",
            exe.object.to_str().unwrap(),
            fat.object.to_str().unwrap(),
            "--json",
        ],
    );
    ok(&o, "symbols add");
    let v = json(&o);
    let mut added: Vec<(String, String)> = v["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["uuid"].as_str().unwrap().to_string(),
                s["arch"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    added.sort();
    let mut want: Vec<(String, String)> = slices(&fat.object)
        .into_iter()
        .chain([exe.slice.clone()])
        .map(|s| (s.uuid, s.arch))
        .collect();
    want.sort();
    assert_eq!(added, want, "{v}");
    assert_eq!(v["failed"], json!([]));

    let o = run(db, &["symbols", "list", "--json"]);
    ok(&o, "symbols list");
    assert_eq!(json(&o).as_array().unwrap().len(), 3);
    assert!(symbols_dir_exists(db));
}

/// The store lives in `<db>.symbols/` beside the database.
fn symbols_dir_exists(db: &Path) -> bool {
    let mut name = db.file_name().unwrap().to_os_string();
    name.push(".symbols");
    db.with_file_name(name).is_dir()
}

fn ingest(db: &Path, file: &Path) {
    let o = run(db, &["ingest", file.to_str().unwrap(), "--json"]);
    ok(&o, "ingest");
    assert_eq!(json(&o)["new"], 1, "{}", stdout(&o));
}

/// The one report's row from `reports --json`.
fn row(db: &Path) -> Value {
    let o = run(db, &["reports", "--json"]);
    ok(&o, "reports");
    let rows = json(&o);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    rows[0].clone()
}

fn show_json(db: &Path, id: &Value) -> Value {
    let o = run(db, &["show", &id.to_string(), "--json"]);
    ok(&o, "show --json");
    json(&o)
}

/// The crashed-thread frames of `show --json` must be exactly what `frames` expects.
fn check_named(shown: &Value, frames: &[Expect]) {
    let got = shown["crashed_thread"]["frames"].as_array().unwrap();
    assert_eq!(got.len(), frames.len());
    for (i, (g, f)) in got.iter().zip(frames).enumerate() {
        assert_eq!(g["image_offset"], f.offset, "frame {i}");
        assert_eq!(g["image_index"], f.image_index, "frame {i}");
        match &f.named {
            Some((name, off, _, _)) => {
                assert_eq!(g["symbol"], *name, "frame {i}: {g}");
                assert_eq!(g["symbol_offset"], *off, "frame {i}: {g}");
                assert_eq!(g["symbol_source"], "symcache", "frame {i}: {g}");
            }
            None => {
                assert_eq!(g["symbol"], Value::Null, "frame {i}: {g}");
                assert_eq!(g["symbol_source"], Value::Null, "frame {i}: {g}");
            }
        }
    }
    assert_eq!(got[UNKNOWN_FRAME]["image_uuid"], METAL_UUID);
    assert_eq!(got[UNKNOWN_FRAME]["image_name"], "Metal");

    // An independent symbolizer agrees on every name (at __TEXT vmaddr + offset).
    if let Some(symbolizer) = require_tool("llvm-symbolizer") {
        for (i, f) in frames.iter().enumerate() {
            let Some((_, _, object, vmaddr)) = &f.named else {
                continue;
            };
            let theirs = llvm_symbolize(&symbolizer, object, "arm64", &[vmaddr + f.offset]);
            assert_eq!(
                got[i]["symbol"].as_str().unwrap(),
                theirs[0].function,
                "frame {i}: ours vs llvm-symbolizer"
            );
        }
    }
}

#[test]
fn symbols_added_first_name_frames_at_ingest() {
    let Some(dir) = fixtures() else { return };
    let (exe, fat) = targets(dir);
    let frames = frames(&exe, &fat);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let ips = tmp.path().join("agx.ips");
    std::fs::write(&ips, report_text(&exe, &fat, &frames)).unwrap();

    add_symbols(&db, &exe, &fat);
    assert!(symbols_dir_exists(&db));
    ingest(&db, &ips);

    let r = row(&db);
    assert_eq!(r["top_frame"], TOP, "{r}");
    let shown = show_json(&db, &r["id"]);
    check_named(&shown, &frames);
}

#[test]
fn symbolicate_names_frames_of_reports_ingested_before_the_symbols() {
    let Some(dir) = fixtures() else { return };
    let (exe, fat) = targets(dir);
    let frames = frames(&exe, &fat);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let ips = tmp.path().join("agx.ips");
    std::fs::write(&ips, report_text(&exe, &fat, &frames)).unwrap();

    // Ingest first: no symbol store yet, so no names.
    ingest(&db, &ips);
    assert!(!symbols_dir_exists(&db));
    let before = row(&db);
    let id = before["id"].clone();
    let top_before = before["top_frame"].as_str().unwrap().to_string();
    assert!(top_before.starts_with("libagx_fat.dylib + 0x"), "{before}");
    let shown = show_json(&db, &id);
    for f in shown["crashed_thread"]["frames"].as_array().unwrap() {
        assert_eq!(f["symbol"], Value::Null, "{f}");
    }

    add_symbols(&db, &exe, &fat);
    let o = run(&db, &["symbolicate", "--all", "--json"]);
    ok(&o, "symbolicate --all");
    let s = json(&o);
    let named = frames.iter().filter(|f| f.named.is_some()).count();
    assert_eq!(s["reports"], 1, "{s}");
    assert_eq!(s["changed_reports"], 1, "{s}");
    assert_eq!(s["filled"], named, "{s}");
    assert_eq!(s["replaced"], 0, "{s}");
    assert_eq!(s["unknown_uuid"], 1, "{s}");
    assert_eq!(s["outside_symbols"], 1, "{s}");
    assert_eq!(s["disagreements"], json!([]));
    assert_eq!(
        s["outside"],
        json!([{"report": id, "thread": {"thread": 0}, "frame": OUTSIDE_FRAME}]),
        "{s}"
    );

    let shown = show_json(&db, &id);
    check_named(&shown, &frames);

    // A second run has nothing left to do.
    let again = json(&run(&db, &["symbolicate", "--all", "--json"]));
    assert_eq!(again["changed_reports"], 0, "{again}");
    assert_eq!(again["filled"], 0, "{again}");

    // The text view marks our names, and only ours.
    let o = run(&db, &["show", &id.to_string()]);
    ok(&o, "show");
    let text = stdout(&o);
    let marked: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[symbolicated by agx-triage]"))
        .collect();
    assert_eq!(marked.len(), named, "{text}");
    assert!(
        marked[0].contains(&format!("{TOP} + 4")),
        "frame 0: {}",
        marked[0]
    );
    let metal = text
        .lines()
        .find(|l| l.contains("Metal + 0x4242"))
        .unwrap_or_else(|| panic!("no unnamed Metal frame:\n{text}"));
    assert!(!metal.contains("[symbolicated"), "{metal}");

    // The row follows: top frame and signature now use the names, as if the symbols had been
    // there at ingest.
    let after = row(&db);
    assert_eq!(after["top_frame"], TOP, "{after}");
    assert_eq!(after["top_frame_symbol_source"], "symcache", "{after}");
    assert_ne!(after["signature"], before["signature"]);
    let fresh = tempfile::tempdir().unwrap();
    let db2 = fresh.path().join("t.db");
    add_symbols(&db2, &exe, &fat);
    ingest(&db2, &ips);
    let at_ingest = row(&db2);
    assert_eq!(after["signature"], at_ingest["signature"]);
    assert_eq!(after["pattern"], at_ingest["pattern"]);
}

/// Two copies of one crash share their stored stacks (docs/DATA_MODEL.md, `stacks`):
/// symbolicating one of them must not name the other's frames (copy on write), and naming the
/// other later gives both the same frames again.
#[test]
fn symbolicating_one_report_leaves_another_with_the_same_stack_as_it_was() {
    let Some(dir) = fixtures() else { return };
    let (exe, fat) = targets(dir);
    let frames = frames(&exe, &fat);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let text = report_text(&exe, &fat, &frames);
    let other = text.replace(
        "00000000-0000-4000-8000-00000000517b",
        "00000000-0000-4000-8000-00000000517c",
    );
    assert_ne!(text, other);
    for (name, t) in [("a.ips", &text), ("b.ips", &other)] {
        let p = tmp.path().join(name);
        std::fs::write(&p, t).unwrap();
        ingest(&db, &p);
    }
    let rows = json(&run(&db, &["reports", "--json"]));
    let ids: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids.len(), 2, "{rows}");
    let unnamed = |shown: &Value| {
        shown["crashed_thread"]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["symbol"].is_null())
    };
    let frames_of = |id: &Value| show_json(&db, id)["crashed_thread"]["frames"].clone();
    let ingested = frames_of(&ids[1]);
    assert_eq!(frames_of(&ids[0]), ingested);
    assert!(unnamed(&show_json(&db, &ids[1])));

    add_symbols(&db, &exe, &fat);
    let o = run(
        &db,
        &["symbolicate", "--report", &ids[0].to_string(), "--json"],
    );
    ok(&o, "symbolicate --report");
    assert_eq!(json(&o)["changed_reports"], 1);
    check_named(&show_json(&db, &ids[0]), &frames);
    assert_eq!(frames_of(&ids[1]), ingested, "the other copy is unchanged");
    let rows = json(&run(&db, &["reports", "--json"]));
    let top = |id: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == *id)
            .unwrap()["top_frame_symbol_source"]
            .clone()
    };
    assert_eq!(top(&ids[0]), "symcache");
    assert_eq!(top(&ids[1]), Value::Null);

    // Naming the other one too: both show the same frames again.
    let o = run(&db, &["symbolicate", "--all", "--json"]);
    ok(&o, "symbolicate --all");
    assert_eq!(json(&o)["changed_reports"], 1);
    check_named(&show_json(&db, &ids[1]), &frames);
    assert_eq!(frames_of(&ids[0]), frames_of(&ids[1]));
}

/// Names from a dSYM come with a source file and line; `symbolicate` stores them and `show`
/// must give them back.
/// Regression: `show` once laid only symbol, offset and source over the re-parsed file.
#[test]
fn dsym_source_lines_survive_into_show() {
    let Some(dir) = fixtures() else { return };
    let binary = dir.join("dwarf/libagx_dwarf.dylib");
    let dsym = dir.join("libagx_dwarf.dylib.dSYM");
    let slice = slices(&binary).remove(0);
    let start = slice.offset_of("_agx_encode_dispatch");
    let mut r = synth_report("00000000-0000-4000-8000-0000000d5e11", 3232, 0);
    r.images.push(
        Image::new("libagx_dwarf.dylib", "/opt/agx/libagx_dwarf.dylib")
            .arch("arm64")
            .base(0x1_0400_0000)
            .size(0x10000)
            .uuid(&slice.uuid),
    );
    r.threads[0].frames = vec![Frame::new(3, start + 4)];
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let ips = tmp.path().join("dwarf.ips");
    std::fs::write(&ips, r.build_ips()).unwrap();
    ingest(&db, &ips);
    let o = run(&db, &["symbols", "add", dsym.to_str().unwrap(), "--json"]);
    ok(&o, "symbols add dSYM");
    let o = run(&db, &["symbolicate", "--all", "--json"]);
    ok(&o, "symbolicate");
    assert_eq!(json(&o)["filled"], 1, "{}", stdout(&o));

    let shown = show_json(&db, &row(&db)["id"]);
    let f = &shown["crashed_thread"]["frames"][0];
    assert_eq!(f["symbol"], "agx_encode_dispatch", "{f}");
    let file = f["source_file"].as_str().unwrap_or("");
    assert!(file.ends_with("agx_driver.c"), "no source file: {f}");
    assert!(f["source_line"].as_u64().unwrap_or(0) > 10, "no line: {f}");
}
