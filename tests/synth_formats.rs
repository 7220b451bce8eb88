//! One crash, three files: the `.ips`, the legacy `.crash` text and the crash dialog's
//! translated copy that agx-synth writes for the same report must parse to the same facts
//! (process, exception, fault address, ASI, crashed thread, every frame's symbol and image,
//! every image's identity). This checks the builder against the parsers and the two parsers
//! against each other, for every known crash pattern of the samples' scenario.

use agx_synth::scenario::{
    local, millis, python_crash, render_ips, render_legacy, render_translated, secs, Ctx, PyCrash,
    Rng, Unsym, M1_MAX, M4_MAX, PATTERNS,
};
use agx_triage::crash::{self, CrashReport};

/// A frame as the formats must agree on it: symbol, image name, image offset.
type FrameFacts = (Option<String>, Option<String>, Option<u64>);

/// The facts every format must agree on.
#[derive(Debug, PartialEq)]
struct Facts {
    process: (Option<String>, Option<i64>),
    parent: (Option<String>, Option<i64>),
    exception: (Option<String>, Option<String>),
    fault: (Option<u64>, Option<u64>, bool),
    asi: Vec<String>,
    crashed: Option<usize>,
    /// Per thread: (crashed, frames as (symbol, image name, image offset)).
    threads: Vec<(bool, Vec<FrameFacts>)>,
    /// Per image: (name, lower-case UUID).
    images: Vec<(Option<String>, Option<String>)>,
}

fn facts(r: &CrashReport) -> Facts {
    Facts {
        process: (r.process.name.clone(), r.process.pid),
        parent: (r.process.parent_name.clone(), r.process.parent_pid),
        exception: (r.exception.exc_type.clone(), r.exception.signal.clone()),
        fault: (
            r.exception.fault_address,
            r.exception.fault_address_stripped,
            r.exception.pointer_auth_failure,
        ),
        asi: r.asi.clone(),
        crashed: r.crashed_thread,
        threads: r
            .threads
            .iter()
            .map(|t| {
                let frames = t
                    .frames
                    .iter()
                    .map(|f| {
                        (
                            f.symbol.clone(),
                            r.image_of(f).and_then(|i| i.name.clone()),
                            f.image_offset,
                        )
                    })
                    .collect();
                (t.crashed, frames)
            })
            .collect(),
        // The `.ips` ends its list with macOS's absolute null image (`source: "A"`, no name,
        // a zero UUID), which the legacy text does not print.
        images: r
            .images
            .iter()
            .filter(|i| i.name.is_some())
            .map(|i| (i.name.clone(), i.uuid.as_ref().map(|u| u.to_lowercase())))
            .collect(),
    }
}

/// Field by field, so a failure names the field and not two pages of debug output.
fn assert_same(what: &str, got: &Facts, want: &Facts) {
    assert_eq!(got.process, want.process, "{what}: process");
    assert_eq!(got.parent, want.parent, "{what}: parent");
    assert_eq!(got.exception, want.exception, "{what}: exception");
    assert_eq!(got.fault, want.fault, "{what}: fault address");
    assert_eq!(got.asi, want.asi, "{what}: asi");
    assert_eq!(got.crashed, want.crashed, "{what}: crashed thread");
    assert_eq!(got.images, want.images, "{what}: images");
    assert_eq!(
        got.threads.len(),
        want.threads.len(),
        "{what}: thread count"
    );
    for (i, (g, w)) in got.threads.iter().zip(&want.threads).enumerate() {
        assert_eq!(g.0, w.0, "{what}: thread {i} crashed");
        assert_eq!(g.1.len(), w.1.len(), "{what}: thread {i} frame count");
        for (k, (gf, wf)) in g.1.iter().zip(&w.1).enumerate() {
            assert_eq!(gf, wf, "{what}: thread {i} frame {k}");
        }
    }
    assert_eq!(got, want, "{what}");
}

fn parse_one(what: &str, text: &str) -> CrashReport {
    let mut reports =
        crash::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{what} does not parse: {e}"));
    assert_eq!(reports.len(), 1, "{what}");
    reports.remove(0)
}

#[test]
fn every_pattern_reads_the_same_in_every_format() {
    let mut rng = Rng::new(0x5eed);
    for (k, p) in PATTERNS.iter().enumerate() {
        let capture = local((2026, 11, 2), (10, 15, 30), -8) + millis(1234);
        let c = python_crash(
            PyCrash {
                pattern: p.id,
                ctx: if p.abort { Ctx::Item } else { Ctx::Gather },
                machine: if k % 2 == 0 { M4_MAX } else { M1_MAX },
                fix: if k % 3 == 0 { None } else { Some("v2_4") },
                capture,
                launch: capture - secs(90),
                pid: 4000 + k as u64,
                parent: ("bash", 3999),
                unsym: if k % 4 == 1 { Unsym::Deep } else { Unsym::None },
                label: format!("formats/{}", p.id),
                variant: k,
            },
            &mut rng,
        );
        let ips = parse_one(&format!("{} .ips", p.id), &render_ips(&c));
        let legacy = parse_one(&format!("{} .crash", p.id), &render_legacy(&c));
        let dialog = parse_one(&format!("{} dialog", p.id), &render_translated(&c));
        let want = facts(&ips);
        assert!(want.crashed.is_some(), "{}: no crashed thread", p.id);
        assert!(
            want.fault.0.is_some() || p.abort,
            "{}: no fault address",
            p.id
        );
        for (what, got) in [
            ("legacy text", facts(&legacy)),
            ("dialog copy", facts(&dialog)),
        ] {
            assert_same(&format!("{}: {what}", p.id), &got, &want);
        }
    }
}

#[test]
fn a_builder_report_with_a_last_exception_backtrace_reads_the_same_in_both_formats() {
    use agx_synth::{Exception, Frame, Image, Report, Thread};
    let r = Report::new()
        .exception(Exception::abort())
        .asi("libsystem_c.dylib", "abort() called")
        .image(Image::new("python3", "/opt/homebrew/bin/python3").base(0x1_0000_0000))
        .image(
            Image::new("libobjc.A.dylib", "/usr/lib/libobjc.A.dylib")
                .base(0x1_8000_0000)
                .size(0x4_0000),
        )
        .thread(
            Thread::new(1)
                .queue("com.apple.main-thread")
                .frame(Frame::new(1, 0x40).symbol("mach_msg2_trap", 8)),
        )
        .thread(
            Thread::new(2)
                .frame(Frame::new(1, 0x100).symbol("objc_exception_throw", 64))
                .frame(Frame::new(0, 0x2000)),
        )
        .faulting_thread(1)
        .last_exception_backtrace(vec![
            Frame::new(1, 0x80).symbol("__exceptionPreprocess", 164),
            Frame::new(0, 0x1f00),
        ]);
    let ips = parse_one(".ips", &r.build_ips());
    let legacy = parse_one(".crash", &r.build_legacy());
    assert_same("legacy text", &facts(&legacy), &facts(&ips));
    let leb = |c: &CrashReport| -> Vec<(Option<String>, Option<u64>)> {
        c.last_exception_backtrace
            .iter()
            .map(|f| (f.symbol.clone(), f.image_offset))
            .collect()
    };
    assert_eq!(leb(&ips).len(), 2);
    assert_eq!(leb(&legacy), leb(&ips));
}
