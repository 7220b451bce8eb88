//! Property: two crashes whose stacks differ below the frames a signature skips (abort,
//! assertion, exception and signal machinery; unsymbolicated frames in the system's machinery
//! images) never share a bucket, however many such frames sit on top.

use agx_synth::{Exception, Frame, Image, Process, Report, Thread};
use agx_triage::bucket::{signature, FrameLists};
use agx_triage::crash::{self, CrashReport};
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

/// The report, written as an `.ips` by agx-synth and read back by the parser: thread 0 aborts
/// with `top` on top of `below`, then `rest`.
fn report(top: &[Top], below: &Below, rest: &[String]) -> CrashReport {
    let mut r = Report::new()
        .process(Process::new("prog", "/Users/dev/prog"))
        .exception(Exception::abort());
    let mut image = |name: &str| -> usize {
        match r.images.iter().position(|i| i.name == name) {
            Some(p) => p,
            None => {
                let base = 0x1_0000_0000 + 0x100_0000 * r.images.len() as u64;
                r.images
                    .push(Image::new(name, &format!("/Users/dev/lib/{name}")).base(base));
                r.images.len() - 1
            }
        }
    };
    let mut frames = Vec::new();
    for t in top {
        frames.push(match t {
            Top::Symbol(i) => Frame::new(image("libsystem_c.dylib"), 0x100).symbol(SKIPPED[*i], 0),
            Top::Unsymbolicated(i, o) => Frame::new(image(MACHINERY_IMAGES[*i]), *o),
        });
    }
    frames.push(match below {
        Below::Function(f) => Frame::new(image("prog"), 0x4000).symbol(f, 0),
        Below::Module(m, o) => Frame::new(image(m), *o),
    });
    for (k, f) in rest.iter().enumerate() {
        frames.push(Frame::new(image("prog"), 0x5000 + 0x10 * k as u64).symbol(f, 0));
    }
    let mut crashed = Thread::new(1);
    crashed.frames = frames;
    let text = r.thread(crashed).faulting_thread(0).build_ips();
    let mut parsed = crash::parse(text.as_bytes()).expect("a built report parses");
    assert_eq!(parsed.len(), 1);
    parsed.remove(0)
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
