//! Property tests: `crash::parse` never panics, whatever the bytes — random bytes, a valid
//! report cut anywhere, a valid report with random bytes changed, inserted or removed — and a
//! report cut after its header still yields a (partial) report.

use agx_triage::crash::{self, ParseError, ReportKind};
use proptest::prelude::*;

const HEADER: &str = r#"{"app_name":"python3.12","timestamp":"2026-04-01 12:40:07.00 -0700","app_version":"","slice_uuid":"2f5ccac7-cf4f-3f87-8689-7c673e90e595","build_version":"","platform":1,"bug_type":"309","os_version":"macOS 26.3 (25D125)","roots_installed":0,"name":"python3.12","incident_id":"33218F9D-FEB7-4525-92E3-5CF9934D6B87"}"#;

/// A small valid 309 body, made here (the real corpus stays outside the repository).
const BODY: &str = r#"{
  "procName" : "python3.12",
  "procPath" : "\/opt\/homebrew\/bin\/python3.12",
  "pid" : 34188,
  "incident" : "33218F9D-FEB7-4525-92E3-5CF9934D6B87",
  "captureTime" : "2026-04-01 12:39:56.0657 -0700",
  "osVersion" : {"train" : "macOS 26.3", "build" : "25D125"},
  "exception" : {"codes" : "0x0000000000000001, 0x0000000000000098", "type" : "EXC_BAD_ACCESS", "signal" : "SIGSEGV", "subtype" : "KERN_INVALID_ADDRESS at 0x00009ba36e2f2650 -> 0x00001ba36e2f2650 (possible pointer authentication failure)"},
  "termination" : {"code" : 11, "namespace" : "SIGNAL", "indicator" : "Segmentation fault: 11", "byProc" : "exc handler"},
  "asi" : {"libsystem_c.dylib" : ["abort() called"]},
  "faultingThread" : 1,
  "threads" : [
    {"id" : 100, "queue" : "com.apple.main-thread", "frames" : [{"imageOffset" : 4096, "symbol" : "mach_msg2_trap", "symbolLocation" : 8, "imageIndex" : 1}]},
    {"triggered" : true, "id" : 101, "threadState" : {"x" : [{"value" : 1}, {"value" : 2}], "flavor" : "ARM_THREAD_STATE64", "pc" : {"value" : 4385295640}, "far" : {"value" : 152}},
     "frames" : [{"imageOffset" : 1552, "symbol" : "-[AGXG16XFamilyComputeContext setComputePipelineState:]", "symbolLocation" : 100, "imageIndex" : 0}, {"imageOffset" : 2000, "imageIndex" : 0}]}
  ],
  "usedImages" : [
    {"arch" : "arm64e", "base" : 8589934592, "size" : 65536, "uuid" : "2f5ccac7-cf4f-3f87-8689-7c673e90e595", "name" : "AGXMetalG16X", "path" : "\/System\/Library\/Extensions\/AGXMetalG16X.bundle\/Contents\/MacOS\/AGXMetalG16X"},
    {"arch" : "arm64e", "base" : 4294967296, "size" : 8192, "uuid" : "a308656d-31e2-38dc-9b95-54f3287f3899", "name" : "libsystem_kernel.dylib"}
  ],
  "lastExceptionBacktrace" : [{"imageOffset" : 10, "symbol" : "__exceptionPreprocess", "imageIndex" : 1}]
}
"#;

const TRANSLATED: &str = "-------------------------------------\nTranslated Report (Full Report Below)\n-------------------------------------\n\nProcess:               python3.12 [34188]\nException Type:        EXC_BAD_ACCESS (SIGSEGV)\n\n-----------\nFull Report\n-----------\n\n";

fn report() -> String {
    format!("{HEADER}\n{BODY}")
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        report().into_bytes(),
        format!(
            "{TRANSLATED}{}\nModel: Mac16,5, BootROM 11881.81.4\n",
            report()
        )
        .into_bytes(),
        format!("{HEADER}\nIncident Identifier: X\nProcess: python3.12 [1]\n").into_bytes(),
    ]
}

/// A byte edit: replace, insert or remove at a position (taken modulo the length).
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Remove(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to JSON are more likely than the rest.
    let byte = prop_oneof![
        prop::sample::select(b"{}[]\",:\\ \n0x-".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Remove),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match *e {
            Edit::Replace(i, b) if !bytes.is_empty() => bytes[i % n] = b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Remove(i) if !bytes.is_empty() => {
                bytes.remove(i % n);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = crash::parse(&bytes);
    }

    #[test]
    fn random_text_with_braces_never_panics(text in "[{}\\[\\]\":,a-z0-9 \n\\\\]{0,512}") {
        let _ = crash::parse(text.as_bytes());
        let _ = crash::parse(format!("{HEADER}\n{text}").as_bytes());
    }

    #[test]
    fn truncated_reports_never_panic(seed in 0usize..3, cut in any::<prop::sample::Index>()) {
        let bytes = &seeds()[seed];
        let cut = cut.index(bytes.len() + 1);
        let result = crash::parse(&bytes[..cut]);
        let header_end = bytes.windows(HEADER.len()).position(|w| w == HEADER.as_bytes()).unwrap() + HEADER.len();
        if cut >= header_end {
            // The whole header is there: always a report, at worst a partial one.
            let reports = result.map_err(|e| TestCaseError::fail(format!("cut {cut}: {e}")))?;
            prop_assert_eq!(reports.len(), 1);
            prop_assert_eq!(reports[0].kind, ReportKind::Crash);
            let name = reports[0].process.name.as_deref().unwrap_or("");
            if seed == 2 {
                // A text body cut inside `Process: python3.12` gives the part written so far.
                prop_assert!(!name.is_empty() && "python3.12".starts_with(name), "{name}");
            } else {
                prop_assert_eq!(name, "python3.12");
            }
        } else if seed == 0 {
            // Cut inside the header: a header cut back to its complete fields (which must
            // include `bug_type` to be taken for a header), or one error.
            match result {
                Ok(reports) => {
                    prop_assert_eq!(reports.len(), 1);
                    prop_assert_eq!(reports[0].bug_type.as_deref(), Some("309"));
                }
                Err(e) => {
                    // A cut is a truncation, never "invalid JSON".
                    let json_error = matches!(e, ParseError::Json { .. });
                    prop_assert!(!json_error, "cut {}: {}", cut, e);
                }
            }
        }
    }

    #[test]
    fn mutated_reports_never_panic(seed in 0usize..3, edits in prop::collection::vec(edit(), 1..12)) {
        let bytes = apply(seeds()[seed].clone(), &edits);
        let _ = crash::parse(&bytes);
    }
}

/// The truncation property over every cut of every seed, not a random sample: a cut after the
/// header always yields one crash report named after the process (or a prefix of its name,
/// for a text body cut inside `Process:`).
#[test]
fn every_cut_after_the_header_gives_a_report() {
    for (seed, bytes) in seeds().iter().enumerate() {
        let header_end = bytes
            .windows(HEADER.len())
            .position(|w| w == HEADER.as_bytes())
            .unwrap()
            + HEADER.len();
        for cut in header_end..=bytes.len() {
            let reports = crash::parse(&bytes[..cut])
                .unwrap_or_else(|e| panic!("seed {seed} cut {cut}: {e}"));
            assert_eq!(reports.len(), 1, "seed {seed} cut {cut}");
            let name = reports[0].process.name.as_deref().unwrap_or("");
            let ok = if seed == 2 {
                !name.is_empty() && "python3.12".starts_with(name)
            } else {
                name == "python3.12"
            };
            assert!(ok, "seed {seed} cut {cut}: name {name:?}");
        }
    }
}
