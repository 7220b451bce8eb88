//! Reports nobody here wrote (issue 11): legacy layouts, excerpts pasted into issues and odd
//! lines, written for the test and run through the real binary. Each test names the
//! regression it guards.

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

";

const CRASHED_FRAMES: &str = "0   libsystem_kernel.dylib        \t0x000000018b1a5a60 __pthread_kill + 8
1   libsystem_pthread.dylib       \t0x000000018b1dcc20 pthread_kill + 288
2   libsystem_c.dylib             \t0x000000018b0b0000 abort + 180
3   AGXMetalG13X                  \t0x00000001a0001234 AGX::ComputeContext<AGX::G13::Encoders, AGX::G13::Classes>::prepareForEnqueue(bool) + 40
4   libtorch_cpu.dylib            \t0x0000000110004000 at::native::mps::runMPSGraph + 120
5   libdispatch.dylib             \t0x000000018b063910 _dispatch_client_callout + 20
";

const IMAGES: &str = "Binary Images:
       0x18b1a0000 -        0x18b1dffff libsystem_kernel.dylib arm64e  <11111111222233334444555555555501> /usr/lib/system/libsystem_kernel.dylib
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
