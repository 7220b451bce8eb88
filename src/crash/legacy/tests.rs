//! Whole-report tests of the legacy parser: the text layouts and quirks it reads, through
//! [`parse`](super::parse).

use super::fields::parse_date;
use super::lines::{frame_line_is_cut, looks_like_frame_line, parse_frame};
use super::*;
use crate::crash::model::{ReportKind, SourceFormat, SymbolSource};

/// A small synthetic macOS 15 report exercising the common layout.
const SAMPLE: &str = "\
Process:               demo [4242]
Path:                  /Applications/Demo.app/Contents/MacOS/demo
Identifier:            com.example.demo
Version:               1.0 (1)
Code Type:             ARM-64 (Native)
Parent Process:        launchd [1]
Responsible:           demo [4242]
User ID:               501

Date/Time:             2025-05-30 07:23:49.5279 +0200
OS Version:            macOS 15.6.1 (24G90)
Report Version:        12
Hardware Model:        Mac16,5
Incident Identifier:   09F0975D-DBAA-4E88-9FFE-076D29699787

Crashed Thread:        1  Dispatch queue: com.apple.metal.queue

Exception Type:        EXC_BAD_ACCESS (SIGSEGV)
Exception Codes:       KERN_INVALID_ADDRESS at 0x0000000000000098
Exception Codes:       0x0000000000000001, 0x0000000000000098

Termination Reason:    Namespace SIGNAL, Code 11 Segmentation fault: 11
Terminating Process:   exc handler [4242]

Application Specific Information:
first line
second line

Thread 0:: Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t       0x1853d2388 mach_msg2_trap + 8
1   com.apple.AppKit              \t       0x1895c0000 -[NSApplication run] + 480
2   demo                          \t       0x102a3c100 main + 24 (main.swift:12)

Thread 1 Crashed:: Dispatch queue: com.apple.metal.queue
0   AGXMetalG13X                  \t       0x1a0000198 AGX::ComputeContext::performEnqueueKernel + 40
1   ???                           \t       0x12345678 ???
2   demo                          \t       0x102a3c200 0x102a3c000 + 512

Thread 1 crashed with ARM Thread State (64-bit):
x0: 0x0000000000000000   x1: 0x0000000000000017
fp: 0x000000016b8477a0   lr: 0x000000010b8a914c
sp: 0x000000016b847630   pc: 0x00000001a0000198 cpsr: 0x60001000
   far: 0x0000000000000098  esr: 0x92000006 (Data Abort) byte read Translation fault

Binary Images:
   0x102a3c000 -        0x102a4bfff com.example.demo (1.0 - 1) <2f5ccac7-cf4f-3f87-8689-7c673e90e595> /Applications/Demo.app/Contents/MacOS/demo
   0x1853a0000 -        0x1853dffff libsystem_kernel.dylib (*) <11111111-2222-3333-4444-555555555555> /usr/lib/system/libsystem_kernel.dylib
   0x189400000 -        0x18a3fffff com.apple.AppKit (6.9) <aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee> /System/Library/Frameworks/AppKit.framework/Versions/C/AppKit
   0x1a0000000 -        0x1a0ffffff com.apple.AGXMetalG13X (329.2) <81127308-935a-31e5-89f4-169529f19753> /System/Library/Extensions/AGXMetalG13X.bundle/Contents/MacOS/AGXMetalG13X

External Modification Summary:
  Calls made by other processes targeting this process:
task_for_pid: 0

Model: MacBookPro18,3, BootROM 11881.1.1, proc 8:6:2 processors, 16 GB, SMC 
Graphics: Apple M1 Pro, Apple M1 Pro, Built-In
";

fn ok(text: &str) -> CrashReport {
    match parse(text) {
        Ok(r) => r,
        Err(e) => panic!("parse failed: {e}"),
    }
}

// The common macOS layout: header fields land in the model.
#[test]
fn sample_header_fields() {
    let r = ok(SAMPLE);
    assert_eq!(r.format, SourceFormat::Legacy);
    assert_eq!(r.kind, ReportKind::Crash);
    assert_eq!(r.process.name.as_deref(), Some("demo"));
    assert_eq!(r.process.pid, Some(4242));
    assert_eq!(
        r.process.path.as_deref(),
        Some("/Applications/Demo.app/Contents/MacOS/demo")
    );
    assert_eq!(r.process.bundle_id.as_deref(), Some("com.example.demo"));
    assert_eq!(r.process.bundle_version.as_deref(), Some("1.0 (1)"));
    assert_eq!(r.process.parent_name.as_deref(), Some("launchd"));
    assert_eq!(r.process.parent_pid, Some(1));
    assert_eq!(r.process.responsible.as_deref(), Some("demo"));
    assert_eq!(r.process.user_id, Some(501));
    assert_eq!(r.cpu_type.as_deref(), Some("ARM-64"));
    assert_eq!(r.translated, Some(false));
    assert_eq!(r.os.version.as_deref(), Some("macOS 15.6.1 (24G90)"));
    assert_eq!(r.os.train.as_deref(), Some("macOS 15.6.1"));
    assert_eq!(r.os.build.as_deref(), Some("24G90"));
    assert_eq!(r.hardware_model.as_deref(), Some("Mac16,5"));
    assert_eq!(
        r.incident_id.as_deref(),
        Some("09F0975D-DBAA-4E88-9FFE-076D29699787")
    );
    assert_eq!(
        r.captured_at_raw.as_deref(),
        Some("2025-05-30 07:23:49.5279 +0200")
    );
    assert_eq!(
        r.captured_at.map(|d| d.to_rfc3339()),
        Some("2025-05-30T05:23:49.527900+00:00".to_string())
    );
    assert_eq!(r.asi, vec!["first line", "second line"]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

// Exception, termination and fault address from the older two-`Exception Codes` layout.
#[test]
fn sample_exception_and_termination() {
    let r = ok(SAMPLE);
    let e = &r.exception;
    assert_eq!(e.exc_type.as_deref(), Some("EXC_BAD_ACCESS"));
    assert_eq!(e.signal.as_deref(), Some("SIGSEGV"));
    assert_eq!(
        e.subtype.as_deref(),
        Some("KERN_INVALID_ADDRESS at 0x0000000000000098")
    );
    assert_eq!(
        e.codes.as_deref(),
        Some("0x0000000000000001, 0x0000000000000098")
    );
    assert_eq!(e.fault_address, Some(0x98));
    assert_eq!(e.fault_address_stripped, None);
    assert!(!e.pointer_auth_failure);
    let t = r.termination.as_ref().unwrap();
    assert_eq!(t.namespace.as_deref(), Some("SIGNAL"));
    assert_eq!(t.code, Some(11));
    assert_eq!(t.indicator.as_deref(), Some("Segmentation fault: 11"));
    assert_eq!(t.by_process.as_deref(), Some("exc handler"));
}

// Threads, crashed thread, frames, symbols, source info and image resolution.
#[test]
fn sample_threads_frames_images() {
    let r = ok(SAMPLE);
    assert_eq!(r.threads.len(), 2);
    assert_eq!(r.crashed_thread, Some(1));
    let crashed = r.crashed().unwrap();
    assert!(crashed.crashed);
    assert!(!r.threads[0].crashed);
    assert_eq!(crashed.queue.as_deref(), Some("com.apple.metal.queue"));
    assert_eq!(r.threads[0].queue.as_deref(), Some("com.apple.main-thread"));

    let f0 = &crashed.frames[0];
    assert_eq!(
        f0.symbol.as_deref(),
        Some("AGX::ComputeContext::performEnqueueKernel")
    );
    assert_eq!(f0.symbol_offset, Some(40));
    assert_eq!(f0.symbol_source, Some(SymbolSource::Apple));
    assert_eq!(f0.image_index, Some(3));
    assert_eq!(f0.image_offset, Some(0x198));
    // `???` image and symbol: no symbol, no image (address outside every image).
    let f1 = &crashed.frames[1];
    assert_eq!(f1.symbol, None);
    assert_eq!(f1.symbol_source, None);
    assert_eq!(f1.image_index, None);
    assert_eq!(f1.address, Some(0x12345678));
    // `0x102a3c000 + 512`: an address, not a symbol.
    let f2 = &crashed.frames[2];
    assert_eq!(f2.symbol, None);
    assert_eq!(f2.image_index, Some(0));
    assert_eq!(f2.image_offset, Some(0x200));

    // Resolved by bundle id (`com.apple.AppKit` -> .../AppKit).
    assert_eq!(r.threads[0].frames[1].image_index, Some(2));
    assert_eq!(
        r.threads[0].frames[1].symbol.as_deref(),
        Some("-[NSApplication run]")
    );
    // Source info.
    let main = &r.threads[0].frames[2];
    assert_eq!(main.symbol.as_deref(), Some("main"));
    assert_eq!(main.symbol_offset, Some(24));
    assert_eq!(main.source_file.as_deref(), Some("main.swift"));
    assert_eq!(main.source_line, Some(12));

    assert_eq!(r.images.len(), 4);
    let app = &r.images[0];
    assert_eq!(app.name.as_deref(), Some("demo"));
    assert_eq!(app.bundle_id.as_deref(), Some("com.example.demo"));
    assert_eq!(app.bundle_version.as_deref(), Some("1.0 - 1"));
    assert_eq!(
        app.uuid.as_deref(),
        Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595")
    );
    assert_eq!(app.base, Some(0x102a3c000));
    assert_eq!(app.size, Some(0x10000));
    assert_eq!(r.images[1].bundle_version, None);
    assert_eq!(r.images[1].bundle_id, None);
}

// Register dump: `esr:` followed by a description, `far` used as the fault address.
#[test]
fn sample_registers() {
    let r = ok(SAMPLE);
    let regs = r.registers.as_ref().unwrap();
    assert_eq!(regs.flavor.as_deref(), Some("ARM_THREAD_STATE64"));
    let names: Vec<&str> = regs.registers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["x0", "x1", "fp", "lr", "sp", "pc", "cpsr", "far", "esr"]
    );
    assert_eq!(regs.get("pc"), Some(0x1a0000198));
    assert_eq!(regs.get("esr"), Some(0x92000006));
}

#[test]
fn line_endings() {
    let lines: Vec<&str> = split_lines("a\rb\r\nc\nd\r\re").collect();
    assert_eq!(lines, ["a", "b", "c", "d", "", "e"]);
    assert_eq!(split_lines("").count(), 0);
    assert_eq!(split_lines("x\n").collect::<Vec<_>>(), ["x"]);
}

#[test]
fn cut_and_odd_frame_lines() {
    assert!(frame_line_is_cut("4   AGXMetalG13X   0x00000001a00022"));
    assert!(frame_line_is_cut("4   AGXMetalG1"));
    assert!(!frame_line_is_cut(
        "4   AGXMetalG13X   0x00000001a0002234 ???"
    ));
    assert!(!frame_line_is_cut(
        "4   x   0x00000001a0002234 0x1a0000000 + 8756"
    ));
    let (f, _) = parse_frame("3   AGXMetalG13X   -0x10 foo + 4").unwrap();
    assert_eq!(f.address, None);
    assert_eq!(f.symbol.as_deref(), Some("foo"));
    assert!(f.note.unwrap().contains("-0x10"));
    let (f, _) = parse_frame("3   AGXMetalG13X   0x1000000000000000000 foo + 4").unwrap();
    assert_eq!(f.address, None);
    assert!(f.note.unwrap().contains("64 bits"));
    assert!(looks_like_frame_line(
        "0   libsystem_kernel.dylib        \t0x000000018b1a5a60 __pthread_kill + 8"
    ));
    assert!(!looks_like_frame_line("1 see 0x10 for details"));
    assert!(!looks_like_frame_line("2   0x000000018b1a5a60"));
    assert!(
        parse("1 see 0x10 for details\n2 then 0xff\n").is_err(),
        "prose is not a report"
    );
    // A crash header without its colon.
    let r = ok("Thread 3 Crashed\n0   libfoo.dylib   0x0000000100000010 foo + 4\n");
    assert_eq!(r.crashed().map(|t| t.index), Some(3));
}

// Regression: reports written before `Hardware Model:` existed name the machine only in
// the system-profile trailer (`Model: MacBookPro18,3, ...`); it is the hardware model when
// the header has none, and never overrides the header.
#[test]
fn system_profile_trailer_model() {
    let r = ok(SAMPLE);
    assert_eq!(r.hardware_model.as_deref(), Some("Mac16,5"));
    let text = SAMPLE.replace("Hardware Model:        Mac16,5\n", "");
    let r = ok(&text);
    assert_eq!(r.hardware_model.as_deref(), Some("MacBookPro18,3"));
    // Before the body, `Model:` is a field (first comma item).
    let r = ok("Process: x [1]\nModel: MacBookPro15,1, BootROM 1\nThread 0 Crashed:\n");
    assert_eq!(r.hardware_model.as_deref(), Some("MacBookPro15,1"));
}

// The whole sample as JSON, reviewed once by a human.
#[test]
fn sample_snapshot() {
    insta::assert_json_snapshot!("legacy_sample", ok(SAMPLE));
}

// Date/Time variants: 3- and 4-digit fractions, none, negative offsets, garbage.
#[test]
fn date_time_forms() {
    let d = |s: &str| parse_date(s).map(|d| d.to_rfc3339());
    assert_eq!(
        d("2018-06-12 08:34:37.421 +0100").as_deref(),
        Some("2018-06-12T07:34:37.421+00:00")
    );
    assert_eq!(
        d("2026-03-01 10:00:00.0000 -0800").as_deref(),
        Some("2026-03-01T18:00:00+00:00")
    );
    assert_eq!(
        d("2012-07-05 11:56:34 +0200").as_deref(),
        Some("2012-07-05T09:56:34+00:00")
    );
    assert_eq!(d("yesterday"), None);
    let r = ok("Process: x [1]\nDate/Time: sometime\n");
    assert_eq!(r.captured_at, None);
    assert_eq!(r.captured_at_raw.as_deref(), Some("sometime"));
    assert!(r.warnings.iter().any(|w| w.contains("Date/Time")));
}

// Rosetta: `Code Type: X86-64 (Translated)`.
#[test]
fn code_type_translated() {
    let r = ok("Process: x [1]\nCode Type: X86-64 (Translated)\n");
    assert_eq!(r.cpu_type.as_deref(), Some("X86-64"));
    assert_eq!(r.translated, Some(true));
    let r = ok("Process: x [1]\nCode Type: X86-64\n");
    assert_eq!(r.cpu_type.as_deref(), Some("X86-64"));
    assert_eq!(r.translated, None);
}

// 32-bit x86: `X86 (Native)` and `X86 Thread State (32-bit)`.
#[test]
fn x86_32_bit() {
    let text = "\
Process: old [7]
Code Type: X86 (Native)
Crashed Thread: 0

Thread 0 Crashed:
0   libSystem.B.dylib             \t0x9a7b3c1e __kill + 10

Thread 0 crashed with X86 Thread State (32-bit):
  eax: 0x00000000  ebx: 0x9a7b3c0c  ecx: 0xbffff6dc  edx: 0x9a7b3c1e
  eip: 0x9a7b3c1e  eflags: 0x00000286  cr2: 0x00000000
";
    let r = ok(text);
    assert_eq!(r.cpu_type.as_deref(), Some("X86"));
    assert_eq!(r.translated, Some(false));
    let regs = r.registers.unwrap();
    assert_eq!(regs.flavor.as_deref(), Some("x86_THREAD_STATE32"));
    assert_eq!(regs.get("eip"), Some(0x9a7b3c1e));
    assert_eq!(regs.get("eflags"), Some(0x286));
    assert_eq!(regs.registers.len(), 7);
}

// x86-64 dump followed directly by `Logical CPU: 0` / `Error Code:` lines.
#[test]
fn x86_64_registers_then_trap_info() {
    let text = "\
Process: p [1]
Thread 0 Crashed:
0   libsystem_kernel.dylib        \t0x00007fff8ea98df2 __select + 10

Thread 0 crashed with X86 Thread State (64-bit):
  rax: 0x0000000000000004  rbx: 0x0000000000000000
  rip: 0x00007fff8ea98df2  rfl: 0x0000000000000283  cr2: 0x00000001007bb880
Logical CPU: 0
Error Code:      0x00000004
";
    let regs = ok(text).registers.unwrap();
    assert_eq!(regs.flavor.as_deref(), Some("x86_THREAD_STATE"));
    let names: Vec<&str> = regs.registers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["rax", "rbx", "rip", "rfl", "cr2"]);
}

// macOS 26: `Triggered by Thread:  0  main, Dispatch Queue: ...`, Termination Reason with
// commas, no `Report Version`.
#[test]
fn macos26_layout() {
    let text = "\
Process:             app [9]
Triggered by Thread:  2  worker, Dispatch Queue: com.example.q

Exception Type:    EXC_CRASH (SIGABRT)
Exception Codes:   0x0000000000000000, 0x0000000000000000

Termination Reason:  Namespace SIGNAL, Code 6, Abort trap: 6

Thread 0::  Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t       0x19633d388 mach_msg2_trap + 8

Thread 2 Crashed:: worker Dispatch queue: com.example.q
0   libsystem_kernel.dylib        \t       0x19633d388 __pthread_kill + 8
";
    let r = ok(text);
    assert_eq!(r.crashed_thread, Some(1));
    let t = r.crashed().unwrap();
    assert_eq!(t.index, 2);
    assert_eq!(t.name.as_deref(), Some("worker"));
    assert_eq!(t.queue.as_deref(), Some("com.example.q"));
    assert_eq!(r.threads[0].name, None);
    let term = r.termination.unwrap();
    assert_eq!(term.namespace.as_deref(), Some("SIGNAL"));
    assert_eq!(term.code, Some(6));
    assert_eq!(term.indicator.as_deref(), Some("Abort trap: 6"));
    // EXC_CRASH codes are never an address.
    assert_eq!(r.exception.fault_address, None);
}

// `Exception Subtype:` with a pointer-authentication failure: both addresses kept.
#[test]
fn pac_fault_address() {
    let text = "\
Process: Python [5579]
Exception Type:    EXC_BAD_ACCESS (SIGSEGV)
Exception Subtype: KERN_INVALID_ADDRESS at 0x1741a4f9ef46998d -> 0x000024f9ef46998d (possible pointer authentication failure)
Exception Codes:   0x0000000000000001, 0x1741a4f9ef46998d
";
    let e = ok(text).exception;
    assert_eq!(e.fault_address, Some(0x1741a4f9ef46998d));
    assert_eq!(e.fault_address_stripped, Some(0x24f9ef46998d));
    assert!(e.pointer_auth_failure);
    assert_eq!(
        e.codes.as_deref(),
        Some("0x0000000000000001, 0x1741a4f9ef46998d")
    );
}

// `Exception Message:` (macOS) and `Exception Reason:` (iOS exports) fill the message.
#[test]
fn exception_message_and_reason() {
    let r = ok("Process: a [1]\nException Message: Namespace SIGNAL, Code 6\n");
    assert_eq!(
        r.exception.message.as_deref(),
        Some("Namespace SIGNAL, Code 6")
    );
    let r = ok("Process: a [1]\nException Reason: *** nil object\n");
    assert_eq!(r.exception.message.as_deref(), Some("*** nil object"));
}

// Older single `Exception Codes: KERN_INVALID_ADDRESS at 0x...` line.
#[test]
fn old_codes_with_address() {
    let text = "Process: a [1]\nException Type: EXC_BAD_ACCESS (SIGBUS)\n\
                Exception Codes: KERN_PROTECTION_FAILURE at 0x00000001ffb3d458\n";
    let e = ok(text).exception;
    assert_eq!(e.fault_address, Some(0x1ffb3d458));
    assert_eq!(e.signal.as_deref(), Some("SIGBUS"));
    assert_eq!(
        e.subtype.as_deref(),
        Some("KERN_PROTECTION_FAILURE at 0x00000001ffb3d458")
    );
}

// EXC_BREAKPOINT codes look like addresses but are not.
#[test]
fn breakpoint_codes_not_an_address() {
    let text = "Process: a [1]\nException Type: EXC_BREAKPOINT (SIGTRAP)\n\
                Exception Codes: 0x0000000000000001, 0x000000018a98520c\n";
    let e = ok(text).exception;
    assert_eq!(e.fault_address, None);
    assert_eq!(
        e.codes.as_deref(),
        Some("0x0000000000000001, 0x000000018a98520c")
    );
}

// EXC_BAD_ACCESS without an address in the text: the `far` register.
#[test]
fn bad_access_falls_back_to_far() {
    let text = "Process: a [1]\nException Type: EXC_BAD_ACCESS (SIGSEGV)\n\
                Exception Codes: EXC_ARM_DA_ALIGN\n\n\
                Thread 0 crashed with ARM Thread State (64-bit):\n    far: 0x0000000000000018\n";
    assert_eq!(ok(text).exception.fault_address, Some(0x18));
}

// iOS: `Thread 0 name:  Dispatch queue: ...` on its own line before `Thread 0 Crashed:`.
#[test]
fn ios_thread_name_lines() {
    let text = "\
Process: app [1]
Triggered by Thread:  1

Thread 0 name:  Dispatch queue: com.apple.main-thread
Thread 0:
0   libsystem_kernel.dylib        \t0x00000001925c70f4 0x1925af000 + 98548

Thread 1 name:  Profiler.Dispatcher
Thread 1 Crashed:
0   libsystem_kernel.dylib        \t0x00000001925c7130 0x1925af000 + 98608
";
    let r = ok(text);
    assert_eq!(r.threads[0].queue.as_deref(), Some("com.apple.main-thread"));
    assert_eq!(r.threads[0].name, None);
    assert_eq!(r.threads[1].name.as_deref(), Some("Profiler.Dispatcher"));
    assert_eq!(r.crashed_thread, Some(1));
    // No image list: the offset written after `+` is kept, the image is name-only.
    assert_eq!(r.threads[0].frames[0].image_offset, Some(98548));
    assert_eq!(r.threads[0].frames[0].image_index, Some(0));
    assert_eq!(r.images[0].name.as_deref(), Some("libsystem_kernel.dylib"));
}

// `Thread 5:: com.apple.NSEventThread` and `Thread 7:: Thread (pooled)`: names only.
#[test]
fn thread_names_without_queue() {
    let text = "Process: a [1]\nThread 5:: com.apple.NSEventThread\n\
                Thread 7:: Thread (pooled)\nThread 8:\n";
    let r = ok(text);
    let names: Vec<Option<&str>> = r.threads.iter().map(|t| t.name.as_deref()).collect();
    assert_eq!(
        names,
        [
            Some("com.apple.NSEventThread"),
            Some("Thread (pooled)"),
            None
        ]
    );
}

// Two images with the same bundle id (Python's launcher and framework): the address
// picks the right one; unknown names fall back to the address range.
#[test]
fn image_resolution_ambiguous_name_and_range_fallback() {
    let text = "\
Process: Python [1]
Thread 0 Crashed:
0   org.python.python             \t0x0000000104fe5000 PyRun + 4
1   org.python.python             \t0x00000001045b4010 main + 16
2   SomethingTruncated            \t0x0000000104fe6000 0x104fe4000 + 8192

Binary Images:
   0x1045b4000 -        0x1045b7fff org.python.python (3.12.3) <61ef1b6c-8138-31f9-9565-7398d3bb05de> /opt/Python.app/Contents/MacOS/Python
   0x104fe4000 -        0x105307fff org.python.python (3.12.3) <bb235480-7ef7-3727-8512-14b6e41b25b4> /opt/Python.framework/Versions/3.12/Python
";
    let r = ok(text);
    let f = &r.threads[0].frames;
    assert_eq!(f[0].image_index, Some(1));
    assert_eq!(f[0].image_offset, Some(0x1000));
    assert_eq!(f[1].image_index, Some(0));
    assert_eq!(f[1].image_offset, Some(0x10));
    assert_eq!(f[2].image_index, Some(1));
    assert_eq!(f[2].image_offset, Some(0x2000));
}

// Old iOS `Last Exception Backtrace:` as one parenthesised line of addresses.
#[test]
fn last_exception_backtrace_one_line() {
    let text = "\
Process: app [1]
Last Exception Backtrace:
(0x1850f6d8c 0x1842b05ec 0x100e1c010)

Thread 0 Crashed:
0   libsystem_kernel.dylib        \t0x00000001853d2388 __pthread_kill + 8

Binary Images:
0x100e1c000 - 0x100e23fff app arm64  <82d13d98219e3040b62a07a297007a7c> /var/app.app/app
";
    let r = ok(text);
    let leb = &r.last_exception_backtrace;
    assert_eq!(leb.len(), 3);
    assert_eq!(leb[0].address, Some(0x1850f6d8c));
    assert_eq!(leb[0].image_index, None);
    assert_eq!(leb[2].image_index, Some(0));
    assert_eq!(leb[2].image_offset, Some(0x10));
    assert_eq!(r.threads.len(), 1);
}

// The numbered-frame `Last Exception Backtrace:` of macOS 12+.
#[test]
fn last_exception_backtrace_frames() {
    let text = "\
Process: app [1]
Last Exception Backtrace:
0   CoreFoundation                        0x1804f71c4 __exceptionPreprocess + 160
1   libobjc.A.dylib                       0x18009c094 objc_exception_throw + 72

Thread 0 Crashed::  Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t       0x1853d2388 __pthread_kill + 8
";
    let r = ok(text);
    let leb = &r.last_exception_backtrace;
    assert_eq!(leb.len(), 2);
    assert_eq!(leb[1].symbol.as_deref(), Some("objc_exception_throw"));
    assert_eq!(r.crashed_thread, Some(0));
    assert_eq!(r.threads[0].frames.len(), 1);
}

// macOS 10.x `Application Specific Backtrace 1:` is the exception backtrace.
#[test]
fn application_specific_backtrace() {
    let text = "\
Process: SecurityAgent [1]
Application Specific Information:
*** Terminating app due to uncaught exception
abort() called

Application Specific Backtrace 1:
0   CoreFoundation                      0x00007fff3fc7d32b __exceptionPreprocess + 171
1   libobjc.A.dylib                     0x00007fff66df6c76 objc_exception_throw + 48

Thread 0 Crashed:: Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t0x00007fff6813ee3e __pthread_kill + 10
";
    let r = ok(text);
    assert_eq!(r.asi.len(), 2);
    assert_eq!(r.last_exception_backtrace.len(), 2);
    assert_eq!(r.threads[0].frames.len(), 1);
}

// `Error Formulating Crash Report:` is a warning; parsing goes on.
#[test]
fn error_formulating_is_a_warning() {
    let text = "\
Process: Python [1]
Crashed Thread:        0  Dispatch queue: cache queue
Exception Type:        EXC_CRASH (SIGABRT)

Error Formulating Crash Report:
dyld_process_snapshot_create_for_process failed with 5

Thread 0 Crashed::  Dispatch queue: cache queue
0   libsystem_kernel.dylib        \t       0x1853d2388 __pthread_kill + 8
";
    let r = ok(text);
    assert!(r
        .warnings
        .iter()
        .any(|w| w.contains("dyld_process_snapshot_create_for_process failed with 5")));
    assert_eq!(r.crashed_thread, Some(0));
    assert_eq!(r.threads[0].queue.as_deref(), Some("cache queue"));
}

// A hand-edited paste starting with lowercase `process:`.
#[test]
fn lowercase_keys() {
    let r = ok("process:               Python [53306]\ncode type: ARM-64 (Native)\n");
    assert_eq!(r.process.name.as_deref(), Some("Python"));
    assert_eq!(r.process.pid, Some(53306));
    assert_eq!(r.cpu_type.as_deref(), Some("ARM-64"));
}

// Not a crash report, or nothing at all.
#[test]
fn not_a_crash_report() {
    assert_eq!(parse(""), Err(ParseError::Empty));
    assert_eq!(parse(" \n\t\n"), Err(ParseError::Empty));
    assert!(matches!(
        parse("# Notes\nVersion: 1.0\nPath: /tmp\nsome prose here\n"),
        Err(ParseError::Unrecognized(_))
    ));
    assert!(matches!(
        parse("{\"bug_type\":\"309\"}\n{\n  \"procName\" : \"x\"\n}\n"),
        Err(ParseError::Unrecognized(_))
    ));
}

// Truncated pastes: what is there, plus warnings.
#[test]
fn truncated_report_warns() {
    let text = "Process: a [1]\nCrashed Thread: 3\n\nThread 0:\n0   libfoo.dylib  0x1000 foo + 1\n";
    let r = ok(text);
    assert_eq!(r.crashed_thread, None);
    assert!(r.warnings.iter().any(|w| w == "crashed thread 3 not found"));
    assert!(r.warnings.iter().any(|w| w == "no Binary Images section"));
    // A thread backtrace alone is enough to recognise a fragment.
    let r = ok("Thread 4 Crashed::  Dispatch queue: q\n0   libsystem_kernel.dylib  0x1c25699b8 __pthread_kill + 8\n");
    assert_eq!(r.crashed_thread, Some(0));
    assert_eq!(r.crashed().unwrap().index, 4);
}

// A fragment without `Binary Images:` keeps the frames' image names as name-only images.
#[test]
fn fragment_without_images_keeps_image_names() {
    let text = "Thread 4 Crashed::  Dispatch queue: q\n\
                0   libsystem_kernel.dylib  0x1c25699b8 __pthread_kill + 8\n\
                1   FabFilter Pro-Q 4  0x124643ebc 0x12450c000 + 1277628\n\
                2   ???  0x1ffb3d458 ???\n\
                3   libsystem_kernel.dylib  0x1c2569000 mach_msg + 8\n";
    let r = ok(text);
    let names: Vec<Option<&str>> = r.images.iter().map(|i| i.name.as_deref()).collect();
    assert_eq!(
        names,
        [Some("libsystem_kernel.dylib"), Some("FabFilter Pro-Q 4")]
    );
    assert!(r
        .images
        .iter()
        .all(|i| i.uuid.is_none() && i.base.is_none()));
    let f = &r.threads[0].frames;
    assert_eq!(f[0].image_index, Some(0));
    assert_eq!(f[0].image_offset, None);
    assert_eq!(f[1].image_index, Some(1));
    assert_eq!(f[1].image_offset, Some(1277628));
    assert_eq!(f[2].image_index, None);
    assert_eq!(f[3].image_index, Some(0));
    assert!(r
        .warnings
        .iter()
        .any(|w| w.contains("named from frames only")));
}

// The crash dialog copy: the legacy part ends at `Full Report`.
#[test]
fn stops_at_full_report() {
    let text = "\
-------------------------------------
Translated Report (Full Report Below)
-------------------------------------
Process: a [1]
Thread 0 Crashed:
0   libfoo.dylib  0x1000 foo + 1

-----------
Full Report
-----------
{\"app_name\":\"a\"}
Process: not-this [2]
Thread 9:
0   libbar.dylib  0x2000 bar + 1
";
    let r = ok(text);
    assert_eq!(r.threads.len(), 1);
    assert_eq!(r.process.name.as_deref(), Some("a"));
}

// Odd bytes and multi-byte spaces never panic (slicing stays on char boundaries).
#[test]
fn unicode_never_panics() {
    let text = "Process: é [1]\nThread 0 Crashed:\n0\u{a0}\u{a0}lib é\u{a0}0x10\u{a0}sym + 1\n\
                Binary Images:\n0x1\u{2003}-\u{2003}0x2 é (ü) <ä> /é\nThread é\nThread 1é:\n";
    let r = ok(text);
    assert_eq!(r.process.name.as_deref(), Some("é"));
}

// A 6400-frame thread parses in linear time.
#[test]
fn deep_thread_is_fast() {
    let mut text = String::from("Process: deep [1]\nCrashed Thread: 0\n\nThread 0 Crashed:\n");
    for i in 0..6400u64 {
        text.push_str(&format!(
            "{i:<3} deep                          \t0x{:016x} recurse(int) + 12\n",
            0x100000000u64 + i * 4
        ));
    }
    text.push_str("\nBinary Images:\n0x100000000 - 0x10000ffff +deep x86_64 <2f5ccac7cf4f3f8786897c673e90e595> /bin/deep\n");
    let start = std::time::Instant::now();
    let r = ok(&text);
    let took = start.elapsed();
    assert_eq!(r.threads[0].frames.len(), 6400);
    assert!(r.threads[0].frames.iter().all(|f| f.image_index == Some(0)));
    // Generous bound: only a quadratic algorithm gets near it.
    assert!(took.as_secs_f64() < 5.0, "took {took:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    // Arbitrary text never panics.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = parse(&s);
    }
    // Arbitrary lines that look like report lines never panic.
    #[test]
    fn report_like_lines_never_panic(lines in proptest::collection::vec(
        "(Thread [0-9]{1,3}( Crashed)?:{1,2}|[0-9]{1,3} +|0x[0-9a-f]{1,17} - |Exception (Type|Codes|Subtype): |Termination Reason: |Date/Time: |Binary Images:|Last Exception Backtrace:|)[ -~\\t]{0,60}",
        0..40,
    )) {
        let _ = parse(&lines.join("\n"));
    }
}

// Regression: header numbers that do not parse (`Crashed Thread: -1`, a 26-digit pid, a
// User ID of letters) were dropped without a word.
#[test]
fn header_numbers_that_do_not_parse_are_warned_about() {
    let text = "Process: python3.12 [99999999999999999999999999]\nUser ID: abc\n\
                Crashed Thread: -1\n\nThread 0 Crashed:\n0   libfoo.dylib  0x1000 foo + 1\n";
    let r = ok(text);
    assert_eq!(r.process.name.as_deref(), Some("python3.12"));
    assert_eq!(r.process.pid, None);
    for needle in [
        "the pid in \"python3.12 [99999999999999999999999999]\" is not a number",
        "User ID \"abc\" is not a number",
        "\"-1\" is not a thread number",
    ] {
        assert!(
            r.warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {:?}",
            r.warnings
        );
    }
    // The heading still says which thread crashed.
    assert_eq!(r.crashed().unwrap().index, 0);
}

// Regression: a Binary Images line whose end is below its start was accepted in silence.
#[test]
fn an_image_range_that_ends_below_its_start_is_warned_about() {
    let text = "Process: a [1]\nCrashed Thread: 0\n\nThread 0 Crashed:\n\
                0   libfoo.dylib  0x1000 foo + 1\n\nBinary Images:\n\
                0x2000 - 0x1fff libfoo.dylib <2f5ccac7-cf4f-3f87-8689-7c673e90e595> /usr/lib/libfoo.dylib\n\
                0x0 - 0xffffffffffffffff ??? (*) <00000000-0000-0000-0000-000000000000> ???\n";
    let r = ok(text);
    assert_eq!(r.images.len(), 2);
    let w: Vec<_> = r
        .warnings
        .iter()
        .filter(|w| w.contains("end below their start"))
        .collect();
    assert_eq!(
        w,
        ["1 Binary Images line(s) end below their start; kept without a size"]
    );
}
