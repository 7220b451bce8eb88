//! Property: two crashes whose stacks differ below the frames a signature skips (abort,
//! assertion, exception and signal machinery; unsymbolicated frames in the system's machinery
//! images) never share a bucket, however many such frames sit on top.

use agx_triage::bucket::{signature, FrameLists};
use agx_triage::crash::{CrashReport, Frame, Image, ReportKind, SourceFormat, Thread};
use proptest::prelude::*;

/// Frames every program reaches the same way when it aborts, throws or takes a signal.
const SKIPPED: &[&str] = &[
    "__pthread_kill",
    "pthread_kill",
    "_sigtramp",
    "abort",
    "__abort",
    "__stack_chk_fail",
    "abort_with_payload",
    "abort_with_reason",
    "__assert_rtn",
    "_os_crash",
    "objc_exception_throw",
    "objc_exception_rethrow",
    "_objc_terminate()",
    "__cxa_throw",
    "std::terminate()",
    "std::__1::__terminate(void (*)())",
    "_Unwind_RaiseException",
    "demangling_terminate_handler()",
    "raise",
    "MTLReportFailure.cold.1",
    "objc_msgSend",
    "__exceptionPreprocess",
    "Py_FatalError",
];

const MACHINERY_IMAGES: &[&str] = &[
    "libsystem_kernel.dylib",
    "libsystem_pthread.dylib",
    "libsystem_c.dylib",
    "libc++abi.dylib",
    "libobjc.A.dylib",
];

/// A skipped frame: a machinery symbol, or an unsymbolicated frame in a machinery image.
#[derive(Debug, Clone)]
enum Top {
    Symbol(usize),
    Unsymbolicated(usize, u64),
}

fn top() -> impl Strategy<Value = Top> {
    prop_oneof![
        (0..SKIPPED.len()).prop_map(Top::Symbol),
        (0..MACHINERY_IMAGES.len(), 0u64..0x100000).prop_map(|(i, o)| Top::Unsymbolicated(i, o)),
    ]
}

/// What sits below the skipped frames: a function, or an unsymbolicated frame in some module.
#[derive(Debug, Clone, PartialEq)]
enum Below {
    Function(String),
    Module(String, u64),
}

fn below() -> impl Strategy<Value = Below> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,12}(::[a-z][a-z0-9_]{0,8})?".prop_map(Below::Function),
        ("[A-Z][A-Za-z]{0,10}", 0u64..0x1000000).prop_map(|(m, o)| Below::Module(m, o)),
    ]
}

fn report(top: &[Top], below: &Below, rest: &[String]) -> CrashReport {
    let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Ips);
    r.exception.exc_type = Some("EXC_CRASH".into());
    r.exception.signal = Some("SIGABRT".into());
    r.process.name = Some("prog".into());
    let mut image = |name: &str| -> usize {
        match r
            .images
            .iter()
            .position(|i| i.name.as_deref() == Some(name))
        {
            Some(p) => p,
            None => {
                r.images.push(Image {
                    name: Some(name.to_string()),
                    ..Image::default()
                });
                r.images.len() - 1
            }
        }
    };
    let mut frames = Vec::new();
    for t in top {
        frames.push(match t {
            Top::Symbol(i) => Frame {
                symbol: Some(SKIPPED[*i].to_string()),
                image_index: Some(image("libsystem_c.dylib")),
                image_offset: Some(0x100),
                ..Frame::default()
            },
            Top::Unsymbolicated(i, o) => Frame {
                image_index: Some(image(MACHINERY_IMAGES[*i])),
                image_offset: Some(*o),
                ..Frame::default()
            },
        });
    }
    frames.push(match below {
        Below::Function(f) => Frame {
            symbol: Some(f.clone()),
            image_index: Some(image("prog")),
            image_offset: Some(0x4000),
            ..Frame::default()
        },
        Below::Module(m, o) => Frame {
            image_index: Some(image(m)),
            image_offset: Some(*o),
            ..Frame::default()
        },
    });
    for f in rest {
        frames.push(Frame {
            symbol: Some(f.clone()),
            image_index: Some(image("prog")),
            ..Frame::default()
        });
    }
    r.threads.push(Thread {
        crashed: true,
        frames,
        ..Thread::default()
    });
    r.crashed_thread = Some(0);
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn stacks_that_differ_below_the_skipped_frames_never_share_a_bucket(
        top_a in prop::collection::vec(top(), 0..30),
        top_b in prop::collection::vec(top(), 0..30),
        below_a in below(),
        below_b in below(),
        rest in prop::collection::vec("[a-z]{1,8}", 0..4),
    ) {
        prop_assume!(below_a != below_b);
        let lists = FrameLists::builtin();
        let a = signature(&report(&top_a, &below_a, &rest), &lists);
        let b = signature(&report(&top_b, &below_b, &rest), &lists);
        prop_assert_ne!(&a.text, &b.text);
        // ... and the signature is never only image names.
        for s in [&a.text, &b.text] {
            prop_assert!(s.split(" | ").any(|f| !MACHINERY_IMAGES.contains(&f)), "{}", s);
        }
    }

    #[test]
    fn frames_below_the_frame_of_interest_do_not_matter(
        top_a in prop::collection::vec(top(), 0..10),
        function in "[a-z][a-z0-9_]{0,12}",
    ) {
        // (An unsymbolicated frame is skipped when a symbolicated one follows, so this holds
        // for a symbolicated frame of interest.)
        let below_a = Below::Function(function);
        let lists = FrameLists::builtin();
        let a = signature(&report(&top_a, &below_a, &[]), &lists);
        let b = signature(&report(&top_a, &below_a, &["other".to_string()]), &lists);
        // What lies below the frame of interest does not matter.
        prop_assert_eq!(a.text, b.text);
    }
}
