//! Property tests: `crash::parse` never panics, whatever the bytes — random bytes, a valid
//! report cut anywhere, a valid report with random bytes changed, inserted or removed — and a
//! report cut after its header still yields a (partial) report; and any report agx-synth
//! writes, whatever its strings, reads back with its process, threads and frames.

use agx_synth::{Exception, Frame, Image, Os, Process, Register, Report, Thread, ThreadState};
use agx_triage::crash::{self, ParseError, ReportKind};
use proptest::prelude::*;

/// A small valid 309 report, made with agx-synth (the real corpus stays outside the
/// repository): a PAC-failed `SIGSEGV` in the AGX driver on thread 1, an ASI message, an
/// unsymbolicated frame and a last exception backtrace.
fn synth() -> Report {
    let mut process = Process::new("python3.12", "/opt/homebrew/bin/python3.12").pid(34188);
    process.launch = "2026-04-01 12:39:50.0000 -0700".to_string();
    let mut r = Report::new()
        .incident("33218F9D-FEB7-4525-92E3-5CF9934D6B87")
        .process(process)
        .os(Os::new("macOS 26.3", "25D125"))
        .exception(Exception::pac(0x0000_9ba3_6e2f_2650, 0x0000_1ba3_6e2f_2650))
        .asi("libsystem_c.dylib", "abort() called")
        .image(
            Image::new(
                "AGXMetalG16X",
                "/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X",
            )
            .base(8_589_934_592)
            .size(65536)
            .uuid("2f5ccac7-cf4f-3f87-8689-7c673e90e595"),
        )
        .image(
            Image::new(
                "libsystem_kernel.dylib",
                "/usr/lib/system/libsystem_kernel.dylib",
            )
            .base(4_294_967_296)
            .size(8192)
            .uuid("a308656d-31e2-38dc-9b95-54f3287f3899"),
        )
        .thread(
            Thread::new(100)
                .queue("com.apple.main-thread")
                .frame(Frame::new(1, 4096).symbol("mach_msg2_trap", 8)),
        )
        .thread(
            Thread::new(101)
                .state(ThreadState {
                    x: (1..=2)
                        .map(|value| Register {
                            value,
                            symbol: None,
                        })
                        .collect(),
                    pc: 4_385_295_640,
                    far: 152,
                    ..ThreadState::default()
                })
                .frame(Frame::new(0, 1552).symbol(
                    "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
                    100,
                ))
                .frame(Frame::new(0, 2000)),
        )
        .faulting_thread(1)
        .last_exception_backtrace(vec![Frame::new(1, 10).symbol("__exceptionPreprocess", 0)]);
    r.timestamp = "2026-04-01 12:40:07.00 -0700".to_string();
    r.capture_time = "2026-04-01 12:39:56.0657 -0700".to_string();
    r
}

/// The report's header line.
fn header() -> String {
    let ips = synth().build_ips();
    ips.split_once('\n').expect("a header line").0.to_string()
}

fn seeds() -> Vec<Vec<u8>> {
    let r = synth();
    vec![
        r.build_ips().into_bytes(),
        // The crash dialog's copy: legacy text, then the `.ips`, then the system profile.
        r.build_translated().into_bytes(),
        // A JSON header over a legacy text body.
        format!("{}\n{}", header(), r.build_legacy()).into_bytes(),
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
        let _ = crash::parse(format!("{}\n{text}", header()).as_bytes());
    }

    #[test]
    fn truncated_reports_never_panic(seed in 0usize..3, cut in any::<prop::sample::Index>()) {
        let bytes = &seeds()[seed];
        let cut = cut.index(bytes.len() + 1);
        let result = crash::parse(&bytes[..cut]);
        let header = header();
        let header_end = bytes.windows(header.len()).position(|w| w == header.as_bytes()).unwrap() + header.len();
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
    let header = header();
    for (seed, bytes) in seeds().iter().enumerate() {
        let header_end = bytes
            .windows(header.len())
            .position(|w| w == header.as_bytes())
            .unwrap()
            + header.len();
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

/// Strings a report may carry: JSON's special characters, `/` (escaped by macOS), controls,
/// non-ASCII, and the legacy layout's own separators. Never blank or padded with whitespace
/// (the parser trims a field and drops a blank one, as macOS never writes either).
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_:.<>()*&, -]{1,24}",
        "[\\\\/\"{}\\[\\]:,+\t\u{1}\u{7f}é漢🙂 a-z]{1,16}",
        any::<String>(),
    ]
    .prop_filter("trimmed, not blank", |s| {
        !s.trim().is_empty() && s.trim() == s
    })
}

/// A report with random names, symbols and shape.
fn random_report() -> impl Strategy<Value = Report> {
    (
        field(),
        1u64..1_000_000,
        prop::collection::vec(field(), 1..4),
        prop::collection::vec(
            prop::collection::vec((0usize..4, any::<u32>(), prop::option::of(field())), 0..6),
            1..4,
        ),
    )
        .prop_map(|(name, pid, images, threads)| {
            let mut r =
                Report::new().process(Process::new(&name, &format!("/opt/{name}")).pid(pid));
            for (i, image) in images.iter().enumerate() {
                r = r.image(
                    Image::new(image, &format!("/usr/lib/{image}"))
                        .base(0x1_0000_0000 * (i as u64 + 1)),
                );
            }
            let n = images.len();
            for (id, frames) in threads.iter().enumerate() {
                let mut t = Thread::new(id as u64 + 10);
                for (image, offset, symbol) in frames {
                    let mut f = Frame::new(image % n, u64::from(*offset));
                    if let Some(s) = symbol {
                        f = f.symbol(s, 4);
                    }
                    t = t.frame(f);
                }
                r = r.thread(t);
            }
            let crashed = threads.len() - 1;
            r.faulting_thread(crashed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn built_ips_reads_back_exactly(r in random_report()) {
        let text = r.build_ips();
        let reports = crash::parse(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(reports.len(), 1);
        let got = &reports[0];
        prop_assert_eq!(got.process.name.as_deref(), Some(r.process.name.as_str()));
        prop_assert_eq!(got.process.pid, Some(r.process.pid as i64));
        prop_assert_eq!(got.crashed_thread, Some(r.faulting_thread));
        prop_assert_eq!(got.threads.len(), r.threads.len());
        for (gt, t) in got.threads.iter().zip(&r.threads) {
            prop_assert_eq!(gt.frames.len(), t.frames.len());
            for (gf, f) in gt.frames.iter().zip(&t.frames) {
                prop_assert_eq!(gf.symbol.as_deref(), f.symbol.as_deref());
                prop_assert_eq!(gf.image_index, Some(f.image));
                prop_assert_eq!(gf.image_offset, Some(f.offset));
            }
        }
    }

    #[test]
    fn built_legacy_text_never_panics_and_keeps_the_crashed_thread(r in random_report()) {
        let text = r.build_legacy();
        let reports = crash::parse(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(reports.len(), 1);
        prop_assert_eq!(reports[0].crashed_thread, Some(r.faulting_thread));
        let _ = crash::parse(r.build_translated().as_bytes());
    }
}
