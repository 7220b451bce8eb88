//! The builder's own checks: both outputs are what a reader of macOS reports expects.

use super::*;

fn sample() -> Report {
    Report::new()
        .incident("00000000-0000-4000-8000-000000000007")
        .process(
            Process::new(
                "LedgerSync",
                "/Applications/LedgerSync.app/Contents/MacOS/LedgerSync",
            )
            .pid(321)
            .bundle(Bundle::new("com.example.ledgersync", "2.4.1", "241")),
        )
        .exception(Exception::abort())
        .asi("libsystem_c.dylib", "abort() called")
        .image(
            Image::new(
                "LedgerSync",
                "/Applications/LedgerSync.app/Contents/MacOS/LedgerSync",
            )
            .base(0x1_0000_0000)
            .size(0x1_0000)
            .arch("arm64"),
        )
        .image(
            Image::new("libsystem_c.dylib", "/usr/lib/system/libsystem_c.dylib")
                .base(0x1_8c00_0000)
                .size(0x8_0000),
        )
        .thread(
            Thread::new(10)
                .queue("com.apple.main-thread")
                .frame(Frame::new(1, 0x7c).symbol("abort", 124))
                .frame(Frame::new(0, 0x1f00))
                .state(ThreadState {
                    pc: 0x1_8c00_007c,
                    ..ThreadState::default()
                }),
        )
        .thread(Thread::new(11).name("worker").frame(Frame::new(1, 8)))
        .last_exception_backtrace(vec![Frame::new(0, 0x10).symbol("main", 16)])
}

fn split(ips: &str) -> (serde_json::Value, serde_json::Value) {
    let (header, body) = ips.split_once('\n').expect("a header line");
    (
        serde_json::from_str(header).expect("header is JSON"),
        serde_json::from_str(body).expect("body is JSON"),
    )
}

#[test]
fn ips_is_a_header_line_and_a_json_body() {
    let ips = sample().build_ips();
    let (header, body) = split(&ips);
    assert_eq!(header["app_name"], "LedgerSync");
    assert_eq!(header["bundleID"], "com.example.ledgersync");
    assert_eq!(header["os_version"], "macOS 15.6 (24G84)");
    assert_eq!(
        header["incident_id"],
        "00000000-0000-4000-8000-000000000007"
    );
    // slice_uuid is the main image's UUID, as macOS writes it.
    assert_eq!(header["slice_uuid"], body["usedImages"][0]["uuid"]);
    assert_eq!(body["incident"], header["incident_id"]);
    assert_eq!(body["pid"], 321);
    assert_eq!(body["exception"]["type"], "EXC_CRASH");
    assert_eq!(body["termination"]["indicator"], "Abort trap: 6");
    assert_eq!(body["termination"]["byProc"], "LedgerSync");
    assert_eq!(body["termination"]["byPid"], 321);
    assert_eq!(body["asi"]["libsystem_c.dylib"][0], "abort() called");
    assert_eq!(body["threads"][0]["triggered"], true);
    assert_eq!(
        body["threads"][0]["threadState"]["pc"]["matchesCrashFrame"],
        1
    );
    assert!(body["threads"][1].get("triggered").is_none());
    assert!(body["threads"][1].get("threadState").is_none());
    assert_eq!(body["threads"][1]["name"], "worker");
    assert_eq!(body["threads"][0]["frames"][0]["symbol"], "abort");
    assert!(body["threads"][0]["frames"][1].get("symbol").is_none());
    assert_eq!(body["lastExceptionBacktrace"][0]["symbol"], "main");
    assert_eq!(
        body["legacyInfo"]["threadTriggered"]["queue"],
        "com.apple.main-thread"
    );
    // The absolute null image macOS appends.
    assert_eq!(body["usedImages"][2]["source"], "A");
}

#[test]
fn ips_keeps_apples_printing_quirks() {
    let ips = sample().build_ips();
    let (header, body) = ips.split_once('\n').unwrap();
    assert!(!header.contains(": ") && header.contains("\"bug_type\":\"309\""));
    assert!(body.starts_with("{\n  \"uptime\" : "), "{body}");
    assert!(body.contains("\n  \"procPath\" : \"\\/Applications\\/LedgerSync.app"));
    assert!(body.contains("\n  \"threads\" : [{\"triggered\":true,"));
    assert!(body.contains("\n  \"usedImages\" : [\n  {\n    \"source\" : \"P\","));
    assert!(body.contains("\"experiments\" : [\n\n  ]"));
    assert!(body.ends_with("\n}\n"));
}

#[test]
fn legacy_text_has_the_sections_in_order() {
    let text = sample().build_legacy();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from\n{text}"))
    };
    assert!(text.starts_with("Process:               LedgerSync [321]\n"));
    assert!(text.contains("Identifier:            com.example.ledgersync\n"));
    assert!(text.contains("Version:               2.4.1 (241)\n"));
    assert!(text.contains("Crashed Thread:        0  Dispatch queue: com.apple.main-thread\n"));
    assert!(text.contains("Exception Type:        EXC_CRASH (SIGABRT)\n"));
    assert!(text.contains("Termination Reason:    Namespace SIGNAL, Code 6 Abort trap: 6\n"));
    assert!(text.contains("Application Specific Information:\nabort() called\n"));
    assert!(text.contains("0   libsystem_c.dylib             \t       0x18c00007c abort + 124\n"));
    // An unsymbolicated frame is written as `<image base> + <offset>`.
    assert!(text
        .contains("1   LedgerSync                    \t       0x100001f00 0x100000000 + 7936\n"));
    assert!(text.contains("Thread 1:: worker\n"));
    assert!(text.contains("       0x100000000 -        0x10000ffff LedgerSync (*) <"));
    assert!(at("Last Exception Backtrace:") < at("Thread 0 Crashed::"));
    assert!(at("Thread 0 Crashed::") < at("Thread 0 crashed with ARM Thread State (64-bit):"));
    assert!(at("crashed with ARM Thread State") < at("Binary Images:"));
    assert!(text.contains("   pc: 0x000000018c00007c"));
}

#[test]
fn translated_report_carries_both_formats() {
    let r = sample();
    let t = r.build_translated();
    assert!(t.starts_with(
        "-------------------------------------\nTranslated Report (Full Report Below)\n"
    ));
    assert!(t.contains(&r.build_legacy()));
    assert!(t.contains(&r.build_ips()));
    assert!(t.contains("\nModel: Mac16,1, "));
}

#[test]
fn defaults_build_a_complete_report() {
    let r = Report::new()
        .image(Image::new("python3", "/opt/homebrew/bin/python3"))
        .thread(Thread::new(1).frame(Frame::new(0, 0x10)));
    let (header, body) = split(&r.build_ips());
    assert_eq!(header["app_name"], "Python");
    assert_eq!(body["exception"]["signal"], "SIGSEGV");
    assert_eq!(body["termination"]["code"], 11);
    assert!(r.build_legacy().contains("Thread 0 Crashed:\n"));
}

#[test]
fn odd_inputs_do_not_panic() {
    // A faulting thread that does not exist and a frame naming a missing image.
    let r = Report::new()
        .faulting_thread(5)
        .thread(Thread::new(1).frame(Frame::new(3, 0x10)));
    let (_, body) = split(&r.build_ips());
    assert_eq!(body["legacyInfo"]["threadTriggered"], serde_json::json!({}));
    assert!(r.build_legacy().contains("0   ???"));
}

#[test]
fn output_is_deterministic() {
    assert_eq!(sample().build_ips(), sample().build_ips());
    assert_eq!(sample().build_legacy(), sample().build_legacy());
}

#[test]
fn source_positions_are_written_in_both_formats() {
    let r = Report::new()
        .image(Image::new("libagx.dylib", "/opt/agx/libagx.dylib").base(0x1000_0000))
        .thread(
            Thread::new(1).frame(
                Frame::new(0, 0x40)
                    .symbol("encode", 8)
                    .source("/src/agx.mm", 12),
            ),
        );
    let (_, body) = split(&r.build_ips());
    let frame = &body["threads"][0]["frames"][0];
    assert_eq!(frame["sourceFile"], "/src/agx.mm");
    assert_eq!(frame["sourceLine"], 12);
    assert_eq!(frame["symbol"], "encode");
    assert!(r.build_legacy().contains(" encode + 8 (/src/agx.mm:12)\n"));
}

#[test]
fn the_exception_picks_its_termination_and_a_message_is_written_in_both_formats() {
    let bus = Report::new().exception(Exception::bad_access(0x10).signal("SIGBUS"));
    assert_eq!(bus.termination.indicator, "Bus error: 10");
    let abort = Report::new()
        .process(Process::new("tool", "/usr/local/bin/tool"))
        .exception(Exception::abort().message("Namespace SIGNAL, Code 6"));
    assert_eq!(abort.termination.by_proc, "tool");
    let (_, body) = split(&abort.build_ips());
    assert_eq!(body["exception"]["message"], "Namespace SIGNAL, Code 6");
    assert!(abort
        .build_legacy()
        .contains("\nException Message:     Namespace SIGNAL, Code 6\n"));
    // An explicit termination after the exception wins.
    let custom = Report::new()
        .exception(Exception::abort())
        .termination(Termination::signal(9, "Killed: 9"));
    assert_eq!(custom.termination.code, 9);
}
