//! Reports nobody here wrote (issue 11): legacy layouts, excerpts pasted into issues and odd
//! lines, written for the test and run through the real binary. Each test names the
//! regression it guards.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;

const HEADER: &str = "Process:               Python [4242]
Path:                  /opt/homebrew/bin/python3
Identifier:            Python
Version:               3.12
Code Type:             ARM-64 (Native)
Parent Process:        zsh [100]
Date/Time:             2024-05-01 10:00:00.000 +0200
OS Version:            macOS 14.4 (23E214)
Report Version:        12

Exception Type:        EXC_CRASH (SIGABRT)
Exception Codes:       0x0000000000000000, 0x0000000000000000
Exception Note:        EXC_CORPSE_NOTIFY

";

const CRASHED_FRAMES: &str = "0   libsystem_kernel.dylib        \t0x000000018b1a5a60 __pthread_kill + 8
1   libsystem_pthread.dylib       \t0x000000018b1dcc20 pthread_kill + 288
2   libsystem_c.dylib             \t0x000000018b0b0000 abort + 180
3   AGXMetalG13X                  \t0x00000001a0001234 AGX::ComputeContext<AGX::G13::Encoders, AGX::G13::Classes>::prepareForEnqueue(bool) + 40
4   libtorch_cpu.dylib            \t0x0000000110004000 at::native::mps::runMPSGraph + 120
5   libdispatch.dylib             \t0x000000018b063910 _dispatch_client_callout + 20
";

const IMAGES: &str = "Binary Images:
       0x18b1a0000 -        0x18b1affff libsystem_kernel.dylib arm64e  <11111111222233334444555555555501> /usr/lib/system/libsystem_kernel.dylib
       0x1a0000000 -        0x1a00fffff com.apple.AGXMetalG13X (1.0) <11111111222233334444555555555502> /System/Library/Extensions/AGXMetalG13X.bundle/Contents/MacOS/AGXMetalG13X
       0x110000000 -        0x11fffffff libtorch_cpu.dylib arm64  <11111111222233334444555555555503> /opt/torch/lib/libtorch_cpu.dylib
";

fn ingest(dir: &Path, name: &str, text: &str) -> (std::path::PathBuf, std::process::Output) {
    let db = dir.join("t.db");
    let f = dir.join(name);
    std::fs::write(&f, text).unwrap();
    let o = run(&db, &["ingest", f.to_str().unwrap()]);
    (db, o)
}

fn show_json(db: &Path) -> serde_json::Value {
    let o = run(db, &["show", "1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    json(&o)
}

fn warnings(v: &serde_json::Value) -> Vec<String> {
    v["report"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

// Regression: a report without a `Crashed Thread:` line whose `Thread 4 Crashed:` section is
// the only thread (an excerpt) was stored with crashed thread 0.
#[test]
fn the_section_header_names_the_crashed_thread() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}Thread 4 Crashed::  Dispatch queue: com.Metal.CompletionQueueDispatch\n{CRASHED_FRAMES}\n{IMAGES}");
    let (db, o) = ingest(dir.path(), "a.crash", &text);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = json(&run(&db, &["reports", "--json"]));
    assert_eq!(rows[0]["crashed_thread"], 4, "{rows}");
    let v = show_json(&db);
    assert_eq!(v["crashed_thread"]["index"], 4);
    // With every thread present it is the same number.
    let dir = tempfile::tempdir().unwrap();
    let mut threads = String::new();
    for i in 0..4 {
        threads.push_str(&format!("Thread {i}:\n0   libsystem_kernel.dylib        \t0x000000018b1a0010 mach_msg2_trap + 8\n\n"));
    }
    let text = format!("{HEADER}{threads}Thread 4 Crashed:\n{CRASHED_FRAMES}\n{IMAGES}");
    let (db, _) = ingest(dir.path(), "b.crash", &text);
    assert_eq!(
        json(&run(&db, &["reports", "--json"]))[0]["crashed_thread"],
        4
    );
}

// Regression: numbered frame lines pasted alone were refused with "no ... thread backtrace
// found"; a half-cut last line was read as a frame with a wrong pc.
#[test]
fn frames_only_excerpts_are_partial_reports() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{CRASHED_FRAMES}6   libtorch_cpu.dylib            \t0x00000001100");
    let (db, o) = ingest(dir.path(), "frames.txt", &text);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = show_json(&db);
    let frames = v["crashed_thread"]["frames"].as_array().unwrap();
    assert_eq!(
        frames.len(),
        6,
        "the cut line is dropped, the six whole ones kept"
    );
    let w = warnings(&v);
    assert!(
        w.iter().any(|w| w.contains("without a thread header")),
        "{w:?}"
    );
    assert!(w.iter().any(|w| w.contains("cut short")), "{w:?}");
    let b = json(&run(&db, &["buckets", "--json"]));
    assert!(
        b.to_string()
            .contains("abort | AGX::ComputeContext<T>::prepareForEnqueue"),
        "{b}"
    );
    // A `Thread N Crashed` block alone, also cut inside the image name.
    let dir = tempfile::tempdir().unwrap();
    let text = format!("Thread 2 Crashed:\n{CRASHED_FRAMES}6   libtorch_c");
    let (db, o) = ingest(dir.path(), "block.txt", &text);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = show_json(&db);
    assert_eq!(v["crashed_thread"]["index"], 2);
    assert_eq!(v["crashed_thread"]["frames"].as_array().unwrap().len(), 6);
    assert!(warnings(&v).iter().any(|w| w.contains("cut short")));
}

// Regression: `Model:` (the older name, in the header or the system-profile trailer) gave no
// hardware model.
#[test]
fn model_lines_give_the_hardware_model() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}Thread 0 Crashed:\n{CRASHED_FRAMES}\n{IMAGES}\nModel: MacBookPro11,5, BootROM MBP114.0172.B16, 4 processors, Intel Core i7, 2.5 GHz, 16 GB\n"
    );
    let (db, _) = ingest(dir.path(), "m.crash", &text);
    assert_eq!(show_json(&db)["hardware_model"], "MacBookPro11,5");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}Hardware Model:        Mac14,2\nThread 0 Crashed:\n{CRASHED_FRAMES}\n{IMAGES}\nModel: MacBookPro11,5, BootROM x\n",
        HEADER.replace("Report Version:        12\n", "")
    );
    let (db, _) = ingest(dir.path(), "h.crash", &text);
    assert_eq!(
        show_json(&db)["hardware_model"],
        "Mac14,2",
        "the header wins"
    );
}

// Regression: frames whose pc is `-0x10` or has more than 64 bits vanished in silence, and
// with them the crashing AGX frame and its bucket.
#[test]
fn frames_with_odd_addresses_are_kept_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let frames = CRASHED_FRAMES
        .replace("0x00000001a0001234", "-0x10")
        .replace("0x0000000110004000", "0x1000000000110004000");
    let text = format!("{HEADER}Thread 0 Crashed:\n{frames}\n{IMAGES}");
    let (db, o) = ingest(dir.path(), "odd.crash", &text);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = show_json(&db);
    let fr = v["report"]["threads"][0]["frames"].as_array().unwrap();
    assert_eq!(fr.len(), 6);
    assert!(
        fr[3]["note"].as_str().unwrap().contains("-0x10"),
        "{}",
        fr[3]
    );
    assert!(
        fr[4]["note"].as_str().unwrap().contains("64 bits"),
        "{}",
        fr[4]
    );
    assert_eq!(
        fr[3]["symbol"],
        "AGX::ComputeContext<AGX::G13::Encoders, AGX::G13::Classes>::prepareForEnqueue(bool)"
    );
    assert_eq!(
        warnings(&v).iter().filter(|w| w.contains("frame")).count(),
        2
    );
    let b = json(&run(&db, &["buckets", "--json"]));
    assert!(
        b.to_string()
            .contains("AGX::ComputeContext<T>::prepareForEnqueue"),
        "{b}"
    );
}

// Regression: a file with CR-only line endings became one line, a 22,223-character process
// name.
#[test]
fn cr_only_line_endings_parse() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}Thread 0 Crashed:\n{CRASHED_FRAMES}\n{IMAGES}").replace('\n', "\r");
    let (db, o) = ingest(dir.path(), "cr.crash", &text);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = show_json(&db);
    assert_eq!(v["process"], "Python");
    assert_eq!(v["crashed_thread"]["frames"].as_array().unwrap().len(), 6);
    assert_eq!(v["report"]["images"].as_array().unwrap().len(), 3);
    // CRLF is one line break, not two (a blank line would end the thread).
    let dir = tempfile::tempdir().unwrap();
    let text =
        format!("{HEADER}Thread 0 Crashed:\n{CRASHED_FRAMES}\n{IMAGES}").replace('\n', "\r\n");
    let (db, _) = ingest(dir.path(), "crlf.crash", &text);
    assert_eq!(
        show_json(&db)["crashed_thread"]["frames"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

/// Cells per line of a comfy-table in the UTF8_FULL_CONDENSED style: the header line is the
/// first `│` line, rows follow the `╞` rule.
fn check_table(what: &str, out: &str) {
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with('│')).collect();
    let Some(head) = lines.first() else {
        return;
    };
    let cells = |l: &str| l.matches('┆').count() + 1;
    for row in &lines[1..] {
        assert_eq!(
            cells(row),
            cells(head),
            "{what}: header and row differ:\n{out}"
        );
    }
}

// Regression: the `reports` header had 9 cells for 10 columns.
#[test]
fn every_table_header_matches_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let db = dir.path().join("t.db");
    let o = run(
        &db,
        &[
            "ingest",
            "--threads",
            "1",
            samples.join("reports").to_str().unwrap(),
        ],
    );
    check_table("ingest", &stdout(&o));
    let o = run(
        &db,
        &[
            "round",
            "import",
            samples.join("rounds.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for args in [
        &["reports"][..],
        &["buckets"],
        &["rounds"],
        &["fix", "list"],
        &["symbols", "list"],
    ] {
        let o = run(&db, args);
        let out = stdout(&o);
        if args == ["reports"] {
            assert!(out.contains("pattern"), "{out}");
            assert!(out.lines().any(|l| l.contains('┆')), "{out}");
        }
        check_table(&args.join(" "), &out);
    }
}

const IPS: &str = r#"{"app_name":"Python","timestamp":"2026-04-01 12:40:07.00 -0700","app_version":"","slice_uuid":"2f5ccac7-cf4f-3f87-8689-7c673e90e595","build_version":"","platform":1,"bug_type":"309","os_version":"macOS 26.3 (25D125)","name":"Python","incident_id":"33218F9D-FEB7-4525-92E3-5CF9934D6B87"}
{
  "procName" : "Python",
  "procPath" : "\/opt\/homebrew\/bin\/python3.12",
  "pid" : 34188,
  "isCorpse" : 1,
  "cpuType" : "ARM-64",
  "modelCode" : "Mac16,5",
  "incident" : "33218F9D-FEB7-4525-92E3-5CF9934D6B87",
  "captureTime" : "2026-04-01 12:39:56.0657 -0700",
  "osVersion" : {"train" : "macOS 26.3", "build" : "25D125"},
  "exception" : {"codes" : "0x0000000000000000, 0x0000000000000000", "type" : "EXC_CRASH", "signal" : "SIGABRT"},
  "termination" : {"code" : 6, "namespace" : "SIGNAL", "indicator" : "Abort trap: 6", "byProc" : "Python"},
  "asi" : {"libsystem_c.dylib" : ["abort() called"]},
  "faultingThread" : 1,
  "threads" : [
    {"id" : 100, "queue" : "com.apple.main-thread", "frames" : [{"imageOffset" : 4096, "symbol" : "mach_msg2_trap", "symbolLocation" : 8, "imageIndex" : 1}]},
    {"triggered" : true, "id" : 101, "threadState" : {"x" : [{"value" : 1}, {"value" : 2}], "flavor" : "ARM_THREAD_STATE64", "pc" : {"value" : 4385295640}, "far" : {"value" : 0}},
     "frames" : [{"imageOffset" : 1552, "symbol" : "__pthread_kill", "symbolLocation" : 8, "imageIndex" : 1}, {"imageOffset" : 2000, "symbol" : "abort", "symbolLocation" : 124, "imageIndex" : 1}, {"imageOffset" : 3000, "symbol" : "-[MTLDebugComputeCommandEncoder setBuffer:offset:atIndex:]", "symbolLocation" : 40, "imageIndex" : 0}]}
  ],
  "usedImages" : [
    {"arch" : "arm64e", "base" : 8589934592, "size" : 65536, "uuid" : "2f5ccac7-cf4f-3f87-8689-7c673e90e595", "name" : "MetalTools", "path" : "\/System\/Library\/PrivateFrameworks\/MetalTools.framework\/MetalTools"},
    {"arch" : "arm64e", "base" : 4294967296, "size" : 8192, "uuid" : "a308656d-31e2-38dc-9b95-54f3287f3899", "name" : "libsystem_kernel.dylib"}
  ],
  "lastExceptionBacktrace" : [{"imageOffset" : 10, "symbol" : "__exceptionPreprocess", "symbolLocation" : 164, "imageIndex" : 1}, {"imageOffset" : 3000, "symbol" : "-[MTLDebugComputeCommandEncoder setBuffer:offset:atIndex:]", "symbolLocation" : 40, "imageIndex" : 0}]
}
"#;

fn show_text(name: &str, text: &str, all_threads: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (db, o) = ingest(dir.path(), name, text);
    assert!(o.status.code() == Some(0), "{}", stderr(&o));
    let mut args = vec!["show", "1"];
    if all_threads {
        args.push("--all-threads");
    }
    let o = run(&db, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o).replace(dir.path().to_str().unwrap(), "<dir>")
}

// Regression: `show` dropped the Last Exception Backtrace, the crashed thread's line and state,
// "(Translated)" and every other thread, and printed a legacy subtype twice.
#[test]
fn show_ips_with_last_exception_backtrace() {
    let out = show_text("a.ips", IPS, false);
    assert!(out.contains("Last Exception Backtrace:"), "{out}");
    assert!(out.contains("Triggered by Thread:  1"), "{out}");
    assert!(out.contains("crashed with ARM_THREAD_STATE64"), "{out}");
    assert!(
        out.contains("Exception Note:       EXC_CORPSE_NOTIFY"),
        "{out}"
    );
    insta::assert_snapshot!("show_ips_last_exception_backtrace", out);
    let all = show_text("a.ips", IPS, true);
    assert!(all.contains("\nThread 0:"), "{all}");
    assert!(all.contains("mach_msg2_trap"), "{all}");
}

#[test]
fn show_legacy_report() {
    let text = format!(
        "{}Thread 0:\n0   libsystem_kernel.dylib        \t0x000000018b1a0010 mach_msg2_trap + 8\n\nThread 1 Crashed:\n{CRASHED_FRAMES}\nThread 1 crashed with ARM Thread State (64-bit):\n    x0: 0x0000000000000000   x1: 0x0000000000000000   x2: 0x0000000000000000\n    fp: 0x000000016fdfe9f0   lr: 0x000000018b1dcc20   sp: 0x000000016fdfe9d0   pc: 0x000000018b1a5a60\n\n{IMAGES}",
        HEADER.replace(
            "Exception Codes:       0x0000000000000000, 0x0000000000000000",
            "Exception Codes:       KERN_INVALID_ADDRESS at 0x0000000000000098"
        ).replace("EXC_CRASH (SIGABRT)", "EXC_BAD_ACCESS (SIGSEGV)")
    );
    let out = show_text("l.crash", &text, false);
    assert_eq!(out.matches("KERN_INVALID_ADDRESS").count(), 1, "{out}");
    assert!(
        out.contains("Exception Note:       EXC_CORPSE_NOTIFY"),
        "{out}"
    );
    assert!(!out.contains("mach_msg2_trap"), "{out}");
    insta::assert_snapshot!("show_legacy", out);
    let all = show_text("l.crash", &text, true);
    assert!(
        all.contains("\nThread 0:\n0   libsystem_kernel.dylib"),
        "{all}"
    );
}

#[test]
fn show_rosetta_report() {
    let text = format!(
        "{}Thread 0 Crashed:\n{CRASHED_FRAMES}\n{IMAGES}",
        HEADER.replace("ARM-64 (Native)", "X86-64 (Translated)")
    );
    let out = show_text("r.crash", &text, false);
    assert!(
        out.contains("Code Type:            X86-64 (Translated)"),
        "{out}"
    );
    insta::assert_snapshot!("show_rosetta", out);
}

#[test]
fn show_excerpt() {
    let text = format!("Thread 4 Crashed::  Dispatch queue: com.Metal.CompletionQueueDispatch\n{CRASHED_FRAMES}6   libtorch_cpu.dylib   \t0x00000001100");
    let out = show_text("e.txt", &text, false);
    assert!(out.contains("Thread 4 Crashed"), "{out}");
    assert!(out.contains("cut short"), "{out}");
    insta::assert_snapshot!("show_excerpt", out);
}

// Regression: a duplicate key or a number out of range (`"pid": 1e400`) stopped the whole
// `.ips` body there: threads, images and the rest were lost.
#[test]
fn ips_bad_fields_drop_only_themselves() {
    let cases = [
        (
            IPS.replace("\"pid\" : 34188,", "\"pid\" : 34188,\n  \"pid\" : 1,"),
            Some(34188),
            "duplicate key `pid`",
        ),
        (
            IPS.replace("\"pid\" : 34188,", "\"pid\" : 1e400,"),
            None,
            "1e400 is out of range",
        ),
        (
            IPS.replace("\"code\" : 6,", "\"code\" : -1E+999,"),
            Some(34188),
            "-1E+999 is out of range",
        ),
    ];
    for (text, pid, warning) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (db, o) = ingest(dir.path(), "b.ips", &text);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = show_json(&db);
        assert_eq!(v["pid"].as_i64(), pid, "{warning}");
        assert_eq!(
            v["report"]["threads"].as_array().unwrap().len(),
            2,
            "{warning}"
        );
        assert_eq!(
            v["report"]["images"].as_array().unwrap().len(),
            2,
            "{warning}"
        );
        assert_eq!(
            v["report"]["last_exception_backtrace"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(v["report"]["termination"]["indicator"], "Abort trap: 6");
        let w = warnings(&v);
        assert!(w.iter().any(|x| x.contains(warning)), "{w:?}");
    }
}
