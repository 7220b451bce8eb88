//! `.ips` parser: a JSON header line followed by a JSON body (docs/DATA_MODEL.md describes the fields kept).
//!
//! [`scan`] finds every `.ips` document in a text (there may be several, with prose, a crash
//! dialog's translated text or a system profile around them), reads each header and body with
//! typed, borrowing serde structs, and turns them into [`CrashReport`]s. It never reads legacy
//! text: a header over a text body is handed back as [`Body::Text`] for [`super::parse`] to give
//! to the legacy parser. It never panics and never prints.
//!
//! Leniency, field by field: every scalar is read as a `Scalar` that accepts any JSON type, and
//! every object or array as an `Obj`/`List` that accepts any type too, so one field of an
//! unexpected type costs that field (with a warning), never the report. A body that is cut short
//! or broken is cut back to the last complete element, closed, and read again (a *partial*
//! report with a warning).
//!
//! Speed: the text is parsed once, from `&str`, borrowing strings where they have no escapes;
//! images are read straight into the model and frames into a borrowing `FrameJ` (no
//! `serde_json::Value`; their keys are matched and their values converted where they are read,
//! with the same conversions as a `Scalar`'s, without building one), and the register state of every thread but the crashed one is only
//! validated (`RawValue`), never built. With [`ThreadFrames::Crashed`] (ingest), only the
//! crashed thread's frames and the exception backtrace become model frames (with owned
//! strings); the other threads' frames are read and checked for the same warnings, then
//! dropped without a single allocation per frame.
//!
//! Layout: `locate` finds documents, `lenient` holds the any-type wrappers, `shape` the
//! typed header/body structs, and `build` turns them into the model.

use super::model::{CrashReport, ReportKind};
use super::{ParseError, ThreadFrames};

mod build;
mod fast;
mod lenient;
mod locate;
mod shape;

use locate::{next_document_start, read_document};

/// Every `.ips` document found in one text, in file order.
#[derive(Debug)]
pub struct Scan<'a> {
    /// The documents read, in file order: one for a plain `.ips` or a crash dialog's copy (its
    /// legacy text is the document's `prefix`), several for reports concatenated into one
    /// file; empty when nothing could be read.
    pub documents: Vec<Document<'a>>,
    /// A JSON object that looked like a header or body but could not be read at all (cut off
    /// before its first field, say). Only meaningful when `documents` is empty.
    pub broken: Option<ParseError>,
}

/// One `.ips` document: header and/or body, and the text before it.
#[derive(Debug)]
pub struct Document<'a> {
    /// Text between the previous document (or the start of the file) and this one's first `{`:
    /// empty for a plain `.ips`, the translated legacy text for a crash dialog's copy.
    pub prefix: &'a str,
    /// What header and JSON body hold. For [`Body::Text`], what the header alone holds.
    pub report: CrashReport,
    /// Whether the body was read whole, cut short, missing, or text.
    pub body: Body<'a>,
}

/// What followed the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A JSON body, read whole.
    Json,
    /// A JSON body that was cut short or broken: `report` holds what precedes the break.
    Partial,
    /// Nothing: the file ends after the header.
    Missing,
    /// A text body (legacy crash text under a `bug_type` 109/309 header, a `cpu_resource`
    /// microstackshot under 202 ...), up to the next document or the end of the file.
    Text(&'a str),
}

/// Find and read every `.ips` document in `text`, every thread with its frames.
pub fn scan(text: &str) -> Scan<'_> {
    scan_with(text, ThreadFrames::All)
}

/// [`scan`], building the frames of the threads `depth` asks for (the warnings are the same
/// either way).
pub fn scan_with(text: &str, depth: ThreadFrames) -> Scan<'_> {
    scan_with_reader(text, depth, true)
}

/// [`scan_with`], with the fast reader (`fast`) in front of serde or not.
pub(crate) fn scan_with_reader(text: &str, depth: ThreadFrames, fast: bool) -> Scan<'_> {
    let mut documents = Vec::new();
    let mut ctx = Ctx::new(text.len(), depth);
    ctx.fast = fast;
    let mut pos = 0;
    let mut fallback_used = false;
    loop {
        let found = match next_document_start(text, pos, false, &mut ctx) {
            Some(found) => found,
            None if documents.is_empty() && !fallback_used && ctx.broken.is_none() => {
                // Quirk: a header pasted mid-line ("Here it is: {"app_name":...") is not at a
                // line start; look at every `{"` once, only when nothing else was found.
                fallback_used = true;
                match next_document_start(text, pos, true, &mut ctx) {
                    Some(found) => found,
                    None => break,
                }
            }
            None => break,
        };
        let start = found.start;
        let prefix = &text[pos..start];
        let (document, end) = read_document(text, found, prefix, &mut ctx);
        documents.push(document);
        if end <= pos {
            break;
        }
        pos = end;
    }
    Scan {
        documents,
        broken: ctx.broken,
    }
}

/// State of one scan: the first unreadable object, a work budget, and which threads' frames
/// to build.
struct Ctx {
    broken: Option<ParseError>,
    depth: ThreadFrames,
    /// Whether objects go to the fast reader first (`fast`); off only to check it against
    /// serde alone.
    fast: bool,
    /// Bytes that candidate objects may still make the JSON reader go through. Each candidate
    /// that is not a document (an object nested in a broken body, say) is read up to where it
    /// ends or breaks; crafted input (thousands of unclosed `{"a":` lines) could make that
    /// quadratic, so the search stops when the budget is spent.
    budget: usize,
}

impl Ctx {
    fn new(len: usize, depth: ThreadFrames) -> Self {
        Ctx {
            broken: None,
            depth,
            fast: true,
            budget: len.saturating_mul(16).saturating_add(1 << 20),
        }
    }

    fn charge(&mut self, bytes: usize) {
        self.budget = self.budget.saturating_sub(bytes.max(1));
    }
}

/// The kind a `bug_type` stands for; `None` when it says nothing (empty).
pub fn kind_of_bug_type(bug_type: &str) -> Option<ReportKind> {
    match bug_type.trim() {
        "" => None,
        // 309: crash (macOS 12+ / iOS 15+); 109: the older crash form.
        "309" | "109" => Some(ReportKind::Crash),
        // 284: `gpuEvent-<process>-<date>.ips`, a GPU restart (e.g. "firmware-detected lockup").
        "284" => Some(ReportKind::GpuEvent),
        // 151/210 panics, 298 jetsam, 202 cpu_resource, 288 stackshot ...
        _ => Some(ReportKind::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crash::model::{SourceFormat, SymbolSource};

    /// A small but complete 309 report, built here (the corpus stays outside the repository).
    pub(crate) fn sample_body() -> String {
        r#"{
  "uptime" : 1900000,
  "procRole" : "Background",
  "userID" : 501,
  "modelCode" : "Mac16,5",
  "osVersion" : {"train" : "macOS 26.3", "build" : "25D125", "releaseType" : "User"},
  "captureTime" : "2026-04-01 12:39:56.0657 -0700",
  "incident" : "33218F9D-FEB7-4525-92E3-5CF9934D6B87",
  "pid" : 34188,
  "translated" : false,
  "cpuType" : "ARM-64",
  "procName" : "python3.12",
  "procPath" : "\/opt\/homebrew\/bin\/python3.12",
  "bundleInfo" : {"CFBundleShortVersionString" : "3.12.4", "CFBundleVersion" : "3.12.4f1", "CFBundleIdentifier" : "org.python.python"},
  "parentProc" : "zsh",
  "parentPid" : 1200,
  "responsibleProc" : "Terminal",
  "exception" : {"codes" : "0x0000000000000001, 0x0000000000000098", "rawCodes" : [1, 152], "type" : "EXC_BAD_ACCESS", "signal" : "SIGSEGV", "subtype" : "KERN_INVALID_ADDRESS at 0x0000000000000098"},
  "termination" : {"flags" : 0, "code" : 11, "namespace" : "SIGNAL", "indicator" : "Segmentation fault: 11", "byProc" : "exc handler", "byPid" : 34188},
  "asi" : {"libsystem_c.dylib" : ["first message", "second message"]},
  "faultingThread" : 1,
  "threads" : [
    {"id" : 100, "queue" : "com.apple.main-thread", "frames" : [{"imageOffset" : 4096, "symbol" : "mach_msg2_trap", "symbolLocation" : 8, "imageIndex" : 1}]},
    {"triggered" : true, "id" : 101, "name" : "worker",
     "threadState" : {"x" : [{"value" : 1}, {"value" : 2, "symbol" : "_MergedGlobals", "symbolLocation" : 8}], "flavor" : "ARM_THREAD_STATE64", "lr" : {"value" : 4385295568}, "cpsr" : {"value" : 1610612736}, "fp" : {"value" : 6104850592}, "sp" : {"value" : 6104850528}, "esr" : {"value" : 2449473542, "description" : "(Data Abort) byte read Translation fault"}, "pc" : {"value" : 4385295640, "matchesCrashFrame" : 1}, "far" : {"value" : 152}},
     "frames" : [
       {"imageOffset" : 1552, "symbol" : "AGX::ComputeContext::prepareForEnqueue(bool)", "symbolLocation" : 100, "imageIndex" : 0},
       {"imageOffset" : 2000, "imageIndex" : 0},
       {"imageOffset" : 300, "sourceLine" : 367, "sourceFile" : "custom_kernel.cpp", "symbol" : "mlx::core::eval", "imageIndex" : 1, "symbolLocation" : 4}
     ]}
  ],
  "usedImages" : [
    {"source" : "P", "arch" : "arm64e", "base" : 8589934592, "size" : 65536, "uuid" : "2F5CCAC7CF4F3F8786897C673E90E595", "name" : "AGXMetalG16X", "path" : "\/System\/Library\/Extensions\/AGXMetalG16X.bundle\/Contents\/MacOS\/AGXMetalG16X", "CFBundleIdentifier" : "com.apple.AGXMetalG16X", "CFBundleShortVersionString" : "341.11", "CFBundleVersion" : "341.11"},
    {"source" : "P", "arch" : "arm64e", "base" : 4294967296, "size" : 8192, "uuid" : "a308656d-31e2-38dc-9b95-54f3287f3899", "path" : "\/usr\/lib\/system\/libsystem_kernel.dylib"}
  ],
  "lastExceptionBacktrace" : [{"imageOffset" : 10, "symbol" : "__exceptionPreprocess", "symbolLocation" : 164, "imageIndex" : 1}],
  "vmSummary" : "ReadOnly portion of Libraries: Total=2.1G"
}"#
        .to_string()
    }

    pub(crate) const HEADER: &str = r#"{"app_name":"python3.12","timestamp":"2026-04-01 12:40:07.00 -0700","app_version":"","slice_uuid":"2f5ccac7-cf4f-3f87-8689-7c673e90e595","build_version":"","platform":1,"bug_type":"309","os_version":"macOS 26.3 (25D125)","roots_installed":0,"name":"python3.12","incident_id":"33218F9D-FEB7-4525-92E3-5CF9934D6B87"}"#;

    fn sample() -> String {
        format!("{HEADER}\n{}\n", sample_body())
    }

    fn one(text: &str) -> (CrashReport, Body<'_>) {
        let mut scan = scan(text);
        assert_eq!(scan.documents.len(), 1, "documents: {:#?}", scan.documents);
        let d = scan.documents.remove(0);
        (d.report, d.body)
    }

    #[test]
    fn pretty_body_fills_the_model() {
        let text = sample();
        let (r, body) = one(&text);
        assert_eq!(body, Body::Json);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.kind, ReportKind::Crash);
        assert_eq!(r.format, SourceFormat::Ips);
        assert_eq!(r.bug_type.as_deref(), Some("309"));
        assert_eq!(
            r.incident_id.as_deref(),
            Some("33218F9D-FEB7-4525-92E3-5CF9934D6B87")
        );
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
        // `\/` escapes: the path cannot be borrowed, and must come out unescaped.
        assert_eq!(
            r.process.path.as_deref(),
            Some("/opt/homebrew/bin/python3.12")
        );
        assert_eq!(r.process.pid, Some(34188));
        assert_eq!(r.process.parent_name.as_deref(), Some("zsh"));
        assert_eq!(r.process.parent_pid, Some(1200));
        assert_eq!(r.process.responsible.as_deref(), Some("Terminal"));
        assert_eq!(r.process.user_id, Some(501));
        assert_eq!(r.process.bundle_id.as_deref(), Some("org.python.python"));
        assert_eq!(
            r.process.bundle_version.as_deref(),
            Some("3.12.4 (3.12.4f1)")
        );
        assert_eq!(
            r.captured_at.map(|t| t.to_rfc3339()),
            Some("2026-04-01T19:39:56.065700+00:00".to_string())
        );
        assert_eq!(
            r.captured_at_raw.as_deref(),
            Some("2026-04-01 12:39:56.0657 -0700")
        );
        assert_eq!(r.os.version.as_deref(), Some("macOS 26.3 (25D125)"));
        assert_eq!(r.os.train.as_deref(), Some("macOS 26.3"));
        assert_eq!(r.os.build.as_deref(), Some("25D125"));
        assert_eq!(r.hardware_model.as_deref(), Some("Mac16,5"));
        assert_eq!(r.cpu_type.as_deref(), Some("ARM-64"));
        assert_eq!(r.translated, Some(false));
        assert_eq!(r.exception.exc_type.as_deref(), Some("EXC_BAD_ACCESS"));
        assert_eq!(r.exception.signal.as_deref(), Some("SIGSEGV"));
        assert_eq!(r.exception.fault_address, Some(0x98));
        assert!(!r.exception.pointer_auth_failure);
        let term = r.termination.clone().unwrap();
        assert_eq!(term.namespace.as_deref(), Some("SIGNAL"));
        assert_eq!(term.code, Some(11));
        assert_eq!(term.by_process.as_deref(), Some("exc handler"));
        assert_eq!(r.asi, vec!["first message", "second message"]);
        assert_eq!(r.crashed_thread, Some(1));
        let t = r.crashed().unwrap();
        assert!(t.crashed);
        assert_eq!(t.name.as_deref(), Some("worker"));
        assert_eq!(t.id, Some(101));
        assert_eq!(t.frames.len(), 3);
        let f0 = &t.frames[0];
        assert_eq!(f0.image_index, Some(0));
        assert_eq!(f0.address, Some(8589934592 + 1552));
        assert_eq!(f0.symbol_offset, Some(100));
        assert_eq!(f0.symbol_source, Some(SymbolSource::Apple));
        assert_eq!(t.frames[1].symbol, None);
        assert_eq!(t.frames[1].symbol_source, None);
        assert_eq!(
            t.frames[2].source_file.as_deref(),
            Some("custom_kernel.cpp")
        );
        assert_eq!(t.frames[2].source_line, Some(367));
        assert_eq!(r.threads[0].queue.as_deref(), Some("com.apple.main-thread"));
        assert!(!r.threads[0].crashed);
        let regs = r.registers.clone().unwrap();
        assert_eq!(regs.flavor.as_deref(), Some("ARM_THREAD_STATE64"));
        let names: Vec<&str> = regs.registers.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["x0", "x1", "fp", "lr", "sp", "pc", "cpsr", "far", "esr"]
        );
        assert_eq!(regs.registers[1].symbol.as_deref(), Some("_MergedGlobals"));
        assert_eq!(regs.get("far"), Some(152));
        assert_eq!(r.images.len(), 2);
        assert_eq!(
            r.images[0].uuid.as_deref(),
            Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595")
        );
        assert_eq!(r.images[0].bundle_version.as_deref(), Some("341.11"));
        // No `name` in the report: taken from the path.
        assert_eq!(r.images[1].name.as_deref(), Some("libsystem_kernel.dylib"));
        assert_eq!(r.last_exception_backtrace.len(), 1);
        assert_eq!(r.last_exception_backtrace[0].address, Some(4294967296 + 10));
    }

    #[test]
    fn one_line_body_reads_the_same_as_pretty() {
        let pretty = sample();
        let compact_body: serde_json::Value = serde_json::from_str(&sample_body()).unwrap();
        let compact = format!(
            "{HEADER}\n{}",
            serde_json::to_string(&compact_body).unwrap()
        );
        assert!(!compact.trim_end().contains("\n{\n"));
        assert_eq!(one(&pretty).0, one(&compact).0);
    }

    #[test]
    fn header_only_file_is_a_partial_report() {
        let (r, body) = one(HEADER);
        assert_eq!(body, Body::Missing);
        assert_eq!(r.kind, ReportKind::Crash);
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
        assert_eq!(r.os.version.as_deref(), Some("macOS 26.3 (25D125)"));
        assert!(r.captured_at.is_some());
        assert!(r.threads.is_empty());
        assert!(
            r.warnings.iter().any(|w| w.contains("no body")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn truncated_body_gives_partial_reports() {
        let text = sample();
        let body_start = HEADER.len() + 1;
        // Cut inside the first thread, inside the crashed thread, inside usedImages.
        for marker in ["mach_msg2_trap", "prepareForEnqueue", "AGXMetalG16X.bundle"] {
            let cut = text.find(marker).unwrap();
            let (r, body) = one(&text[..cut]);
            assert_eq!(body, Body::Partial, "cut at {marker}");
            assert_eq!(r.process.name.as_deref(), Some("python3.12"));
            assert_eq!(r.exception.exc_type.as_deref(), Some("EXC_BAD_ACCESS"));
            assert!(
                r.warnings.iter().any(|w| w.contains("ends early")),
                "cut at {marker}: {:?}",
                r.warnings
            );
        }
        // Every cut inside the body gives a report, never a panic or an error.
        for cut in body_start..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let scan = scan(&text[..cut]);
            assert_eq!(scan.documents.len(), 1, "cut at {cut}");
        }
    }

    #[test]
    fn truncated_header_is_partial_or_a_clear_error() {
        let cut = HEADER.find("\"os_version\"").unwrap();
        let (r, body) = one(&HEADER[..cut + 5]);
        assert_eq!(body, Body::Missing);
        assert_eq!(r.bug_type.as_deref(), Some("309"));
        let scan = scan(&HEADER[..8]);
        assert!(scan.documents.is_empty());
        assert!(
            matches!(scan.broken, Some(ParseError::Truncated(_))),
            "{:?}",
            scan.broken
        );
    }

    #[test]
    fn pointer_authentication_fault_keeps_both_addresses() {
        let body = sample_body().replace(
            "KERN_INVALID_ADDRESS at 0x0000000000000098",
            "KERN_INVALID_ADDRESS at 0x00009ba36e2f2650 -> 0x00001ba36e2f2650 (possible pointer authentication failure)",
        );
        let text = format!("{HEADER}\n{body}");
        let (r, _) = one(&text);
        assert_eq!(r.exception.fault_address, Some(0x00009ba36e2f2650));
        assert_eq!(r.exception.fault_address_stripped, Some(0x00001ba36e2f2650));
        assert!(r.exception.pointer_auth_failure);
    }

    #[test]
    fn fault_address_from_far_only_for_bad_access() {
        let body = sample_body().replace(
            r#", "subtype" : "KERN_INVALID_ADDRESS at 0x0000000000000098""#,
            "",
        );
        let text = format!("{HEADER}\n{body}");
        assert_eq!(one(&text).0.exception.fault_address, Some(152));
        let crash = body.replace("EXC_BAD_ACCESS", "EXC_CRASH");
        let text = format!("{HEADER}\n{crash}");
        let (r, _) = one(&text);
        assert_eq!(r.exception.exc_type.as_deref(), Some("EXC_CRASH"));
        assert_eq!(r.exception.fault_address, None);
    }

    #[test]
    fn gpu_event_is_its_own_kind() {
        let text = r#"{"bug_type":"284","timestamp":"2026-10-09 22:59:04.00 -0500","os_version":"macOS 26.2 (25C56)","roots_installed":0,"incident_id":"0D63083D-3260-46A7-9573-BD91CA218FCD"}
{
  "roots_installed" : 0,
  "bug_type" : "284",
  "process_name" : "python3.12",
  "registers" : {},
  "timestamp" : 1791604744,
  "analysis" : {"guilty_dm":3,"signature":579,"restart_reason_desc":"firmware-detected lockup","restart_reason":4}
}
"#;
        let (r, body) = one(text);
        assert_eq!(body, Body::Json);
        assert_eq!(r.kind, ReportKind::GpuEvent);
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
        assert_eq!(
            r.exception.message.as_deref(),
            Some("firmware-detected lockup")
        );
        assert_eq!(
            r.incident_id.as_deref(),
            Some("0D63083D-3260-46A7-9573-BD91CA218FCD")
        );
        // A header hint alone is enough.
        let hinted = r#"{"bug_type":"999","name":"gpuEvent-python3.12","incident_id":"X"}"#;
        assert_eq!(one(hinted).0.kind, ReportKind::GpuEvent);
    }

    // Regression: one raw NUL or TAB inside a string made serde stop at it, and the report
    // kept nothing of the body after that byte (no exception, threads or images).
    #[test]
    fn raw_control_characters_in_strings_cost_nothing_else() {
        let full = crate::crash::parse(format!("{HEADER}\n{}", sample_body()).as_bytes())
            .unwrap()
            .remove(0);
        for bad in ["\u{0}", "\t", "\u{1b}"] {
            let body = sample_body().replacen(
                "\"procName\" : \"python3",
                &format!("\"procName\" : \"py{bad}thon3"),
                1,
            );
            assert_ne!(body, sample_body(), "the test must change the body");
            let r = crate::crash::parse(format!("{HEADER}\n{body}").as_bytes())
                .unwrap()
                .remove(0);
            assert_eq!(r.threads.len(), full.threads.len(), "{bad:?}");
            assert_eq!(r.images.len(), full.images.len(), "{bad:?}");
            assert_eq!(r.exception, full.exception, "{bad:?}");
            assert_eq!(r.process.name.as_deref(), Some("py thon3.12"), "{bad:?}");
            assert!(
                r.warnings
                    .iter()
                    .any(|w| w.contains("raw control character")),
                "{:?}",
                r.warnings
            );
        }
    }

    // Regression: a crash body under a header whose bug_type said "210" was filed as "other"
    // without a word, so the crash vanished from buckets and comparisons.
    #[test]
    fn a_crash_body_under_another_bug_type_stays_a_crash_and_says_so() {
        let header = HEADER.replace(r#""bug_type":"309""#, r#""bug_type":"210""#);
        // The body repeats the bug_type, as macOS writes it.
        let body = sample_body().replacen('{', "{\n  \"bug_type\" : \"309\",", 1);
        let text = format!("{header}\n{body}");
        let r = &crate::crash::parse(text.as_bytes()).unwrap()[0];
        assert_eq!(r.kind, ReportKind::Crash);
        assert_eq!(r.bug_type.as_deref(), Some("210"));
        assert!(
            r.warnings.iter().any(|w| w.contains("read as a crash")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("disagree")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn other_bug_types_are_other() {
        let text = r#"{"bug_type":"298","timestamp":"2020-10-15 17:29:58.79 +0100","os_version":"iPhone OS 14.2 (18B5061e)","incident_id":"B04A36B1-19EC-4895-B203-6AE21BE52B02"}
{"crashReporterKey":"d3e6","product":"iPhone12,1","incident":"B04A36B1-19EC-4895-B203-6AE21BE52B02","date":"2020-10-15 17:29:58.79 +0100","processes":[{"name":"x"}]}
"#;
        let (r, _) = one(text);
        assert_eq!(r.kind, ReportKind::Other);
        assert_eq!(r.hardware_model.as_deref(), Some("iPhone12,1"));
        assert_eq!(r.os.version.as_deref(), Some("iPhone OS 14.2 (18B5061e)"));
        assert!(r.captured_at.is_some());
    }

    #[test]
    fn several_documents_in_one_file() {
        let second = sample_body().replace("python3.12", "ruby");
        let text = format!(
            "{HEADER}\n{}\n{}\n{second}\nModel: Mac16,5, BootROM 11881.81.4\n",
            sample_body(),
            HEADER.replace("33218F9D", "44444444")
        );
        let scan = scan(&text);
        assert_eq!(scan.documents.len(), 2);
        assert_eq!(
            scan.documents[1].report.process.name.as_deref(),
            Some("ruby")
        );
        assert_eq!(
            scan.documents[1].report.incident_id.as_deref(),
            Some("44444444-FEB7-4525-92E3-5CF9934D6B87")
        );
        assert!(scan.documents[1].prefix.trim().is_empty());
    }

    #[test]
    fn text_before_the_first_brace_is_the_prefix() {
        let prefix = "-------------------------------------\nTranslated Report (Full Report Below)\n-------------------------------------\n\nProcess: python3.12 [34188]\nApplication Specific Information:\n{\n    NSLocalizedDescription = \"x\";\n}\n\n-----------\nFull Report\n-----------\n\n";
        let text = format!("{prefix}{}", sample());
        let (r, body) = one(&text);
        assert_eq!(body, Body::Json);
        assert_eq!(r.format, SourceFormat::TranslatedIps);
        assert_eq!(r.crashed().map(|t| t.frames.len()), Some(3));
        let scan = scan(&text);
        assert_eq!(scan.documents[0].prefix, prefix);
        // Prose around, no dialog text: plain `.ips`.
        let text = format!("Here is the crash:\n```\n{}```\nthanks", sample());
        let (r, _) = one(&text);
        assert_eq!(r.format, SourceFormat::Ips);
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
    }

    #[test]
    fn text_body_is_handed_back() {
        let text = format!("{HEADER}\nIncident Identifier: X\nProcess: foo [1]\n");
        let (r, body) = one(&text);
        assert_eq!(
            body,
            Body::Text("\nIncident Identifier: X\nProcess: foo [1]\n")
        );
        assert_eq!(r.kind, ReportKind::Crash);
    }

    #[test]
    fn odd_field_types_cost_only_the_field() {
        let body = sample_body()
            .replace("\"pid\" : 34188", "\"pid\" : {\"odd\" : true}")
            .replace("\"userID\" : 501", "\"userID\" : \"501\"")
            .replace(
                "\"asi\" : {",
                "\"asi\" : {\"odd\" : 5, \"more\" : {\"x\" : 1}, ",
            )
            .replace("\"imageOffset\" : 2000", "\"imageOffset\" : [1, 2]")
            .replace("\"bundleInfo\" : {", "\"bundleInfo\" : 7, \"unused\" : {");
        let text = format!("{HEADER}\n{body}");
        let (r, b) = one(&text);
        assert_eq!(b, Body::Json);
        assert_eq!(r.process.pid, None);
        assert_eq!(r.process.user_id, Some(501));
        assert_eq!(r.process.bundle_id, None);
        assert_eq!(r.crashed().unwrap().frames.len(), 3);
        assert_eq!(r.crashed().unwrap().frames[1].image_offset, None);
        assert!(r.asi.contains(&"first message".to_string()));
        for needle in ["`pid`", "`bundleInfo`", "imageOffset"] {
            assert!(
                r.warnings.iter().any(|w| w.contains(needle)),
                "{needle}: {:?}",
                r.warnings
            );
        }
    }

    /// Frame and image fields are matched on the key as decoded (a `\u` escape in a key names
    /// the same field) and read with the lenient conversions, whatever the value's type: a
    /// number where text is expected is written out, a hex or decimal string is a number,
    /// `null` is absent, a negative or fractional number is odd. Pins what the typed readers of
    /// `shape` (keys matched and values converted where read) must keep.
    #[test]
    fn frame_and_image_fields_read_leniently_by_decoded_key() {
        let body = sample_body()
            .replace(
                r#"{"imageOffset" : 2000, "imageIndex" : 0}"#,
                r#"{"image\u004fffset" : "0x7d0", "imageIndex" : 0, "symbol" : 42, "sourceLine" : null}"#,
            )
            .replace(
                r#""imageIndex" : 1, "symbolLocation" : 4}"#,
                r#""imageIndex" : 1, "symbolLocation" : -4, "sourceLine" : 2.5}"#,
            )
            .replace(
                r#""base" : 4294967296, "size" : 8192"#,
                r#""b\u0061se" : 4294967296.0, "size" : "8192", "arch" : 7"#,
            );
        assert_eq!(
            body.matches("\\u00").count(),
            2,
            "the test must change the body"
        );
        assert!(body.contains("2.5}") && body.contains("\"arch\" : 7"));
        let text = format!("{HEADER}\n{body}");
        let (r, b) = one(&text);
        assert_eq!(b, Body::Json);
        let frames = &r.crashed().unwrap().frames;
        assert_eq!(frames[1].image_offset, Some(2000));
        assert_eq!(frames[1].address, Some(8589934592 + 2000));
        assert_eq!(frames[1].symbol.as_deref(), Some("42"));
        assert_eq!(frames[1].source_line, None);
        assert_eq!(frames[2].symbol_offset, None);
        assert_eq!(frames[2].source_line, Some(367));
        assert_eq!(r.images[1].base, Some(4294967296));
        assert_eq!(r.images[1].size, Some(8192));
        assert_eq!(r.images[1].arch.as_deref(), Some("7"));
        assert_eq!(r.last_exception_backtrace[0].address, Some(4294967296 + 10));
        // The later `sourceLine`, 2.5, is odd and sets nothing (367 stays); -4 is odd.
        for field in ["frames[].symbolLocation", "frames[].sourceLine"] {
            assert!(
                r.warnings.iter().any(|w| w.contains(field)),
                "{field}: {:?}",
                r.warnings
            );
        }
        assert!(
            !r.warnings.iter().any(|w| w.contains("usedImages[]")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn broken_body_keeps_what_precedes_the_break() {
        // A quote lost in a paste (`"Term" inal"`): not JSON, and nothing to repair. (A raw
        // line break inside a string, this test's input before, is now repaired: see
        // `raw_control_characters_in_strings_cost_nothing_else`.)
        let body = sample_body().replace("\"Terminal\"", "\"Term\" inal\"");
        let text = format!("{HEADER}\n{body}");
        let (r, b) = one(&text);
        assert_eq!(b, Body::Partial);
        assert_eq!(r.process.parent_name.as_deref(), Some("zsh"));
        assert!(
            r.warnings.iter().any(|w| w.contains("is broken")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn crafted_unclosed_objects_do_not_make_the_search_quadratic() {
        // 20 000 nested, never closed objects, each a line-start candidate that reads to the
        // end of the text: without the work budget this reads ~2 GB.
        let text = "{\"a\":\n".repeat(20_000);
        let scan = scan(&text);
        assert!(scan.documents.is_empty());
    }
}
