//! Known-pattern rules and signatures on synthetic reports built in code (written by
//! agx-synth, read back by the parser).
//!
//! Each shipped rule gets a report shaped like the field reports of docs/BUCKETS.md (known AGX patterns), then variants
//! that must not matter (GPU family G13X..G16X, `+N` offsets, image order, irrelevant frames
//! on top, PAC-signed addresses) and near misses that must not match.

use agx_synth::{Exception, Frame, Image, Process, Report, Thread};
use agx_triage::bucket::{
    classify, frame_glob, signature, Bucketing, FrameLists, RuleError, RuleSet,
    SIGNATURE_ALGORITHM_VERSION,
};
use agx_triage::crash::{self, CrashReport, ReportKind, SourceFormat};

// ---- builder ----------------------------------------------------------------------------

/// Builds a crash report whose crashed thread is thread 0: agx-synth writes it as an `.ips`
/// and the parser reads it back, so the rules see what they see in the field. Frames are given
/// top first as `(image name, symbol)`; a `None` symbol is an unsymbolicated frame.
#[derive(Clone)]
struct Rb {
    r: Report,
}

impl Rb {
    fn new() -> Rb {
        let r = Report::new()
            .process(Process::new("python3.12", "/opt/homebrew/bin/python3.12"))
            .thread(Thread::new(1))
            .faulting_thread(0);
        Rb { r }
    }

    fn bad_access(mut self, addr: u64) -> Rb {
        self.r = self.r.exception(Exception::bad_access(addr));
        self
    }

    /// `KERN_INVALID_ADDRESS at <signed> -> <stripped> (possible pointer authentication failure)`.
    fn pac(mut self, signed: u64, stripped: Option<u64>) -> Rb {
        let mut e = Exception::bad_access(signed).signal("SIGBUS");
        e.subtype = Some(match stripped {
            Some(s) => format!(
                "KERN_INVALID_ADDRESS at 0x{signed:016x} -> 0x{s:016x} (possible pointer authentication failure)"
            ),
            None => format!(
                "KERN_INVALID_ADDRESS at 0x{signed:016x} (possible pointer authentication failure)"
            ),
        });
        self.r = self.r.exception(e);
        self
    }

    fn abort(mut self, asi: Option<&str>) -> Rb {
        self.r = self.r.exception(Exception::abort());
        if let Some(a) = asi {
            self.r = self.r.asi("libsystem_c.dylib", a);
        }
        self
    }

    fn image(&mut self, name: &str) -> usize {
        if let Some(i) = self.r.images.iter().position(|im| im.name == name) {
            return i;
        }
        let base = 0x1_0000_0000 + 0x100_0000 * self.r.images.len() as u64;
        self.r
            .images
            .push(Image::new(name, &format!("/System/Library/Somewhere/{name}")).base(base));
        self.r.images.len() - 1
    }

    fn frame(mut self, image: &str, symbol: Option<&str>) -> Rb {
        let idx = self.image(image);
        let n = self.r.threads[0].frames.len() as u64;
        let mut f = Frame::new(idx, 0x1000 + n * 0x40);
        if let Some(s) = symbol {
            f = f.symbol(s, 4 * (n + 3));
        }
        self.r.threads[0].frames.push(f);
        self
    }

    fn frames(mut self, fs: &[(&str, &str)]) -> Rb {
        for (img, sym) in fs {
            self = self.frame(img, Some(sym));
        }
        self
    }

    /// Signal-delivery and pthread frames on top, as a real SIGSEGV/SIGABRT stack has.
    fn noise_on_top(mut self) -> Rb {
        let noise = [
            ("libsystem_kernel.dylib", "__pthread_kill"),
            ("libsystem_pthread.dylib", "pthread_kill"),
            ("libsystem_platform.dylib", "_sigtramp"),
        ];
        let frames = std::mem::take(&mut self.r.threads[0].frames);
        for (img, sym) in noise {
            self = self.frame(img, Some(sym));
        }
        self.r.threads[0].frames.extend(frames);
        self
    }

    /// Different `+ N` offsets (and image offsets) on every frame.
    fn other_offsets(mut self) -> Rb {
        for (k, f) in self.r.threads[0].frames.iter_mut().enumerate() {
            if f.symbol.is_some() {
                f.location = f.location * 7 + 1000 + k as u64;
            }
            f.offset += 0x5_0000;
        }
        self
    }

    /// The same images listed in reverse order, frame indices remapped.
    fn images_reversed(mut self) -> Rb {
        let n = self.r.images.len();
        self.r.images.reverse();
        for f in &mut self.r.threads[0].frames {
            f.image = n - 1 - f.image;
        }
        // Unrelated images in between, as real reports list hundreds.
        self.r.images.insert(
            0,
            Image::new("libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"),
        );
        for f in &mut self.r.threads[0].frames {
            f.image += 1;
        }
        self
    }

    fn build(self) -> CrashReport {
        let text = self.r.build_ips();
        let mut reports = crash::parse(text.as_bytes()).expect("a built report parses");
        assert_eq!(reports.len(), 1);
        reports.remove(0)
    }
}

const FAMILIES: [(&str, &str); 5] = [
    ("G13X", "G13"),
    ("G13G", "G13"),
    ("G14X", "G14"),
    ("G15G", "G15"),
    ("G16X", "G16"),
];

fn fam(s: &str, f: (&str, &str)) -> String {
    s.replace("{F}", f.0).replace("{f}", f.1)
}

fn classify_builtin(r: &CrashReport) -> Bucketing {
    classify(r, &RuleSet::builtin(), &FrameLists::builtin())
}

fn pattern_of(r: &CrashReport) -> Option<String> {
    classify_builtin(r).pattern.map(|p| p.id)
}

/// Every variant of `make(family)` must match `id` and share one signature. Returns it.
fn assert_rule_stable(id: &str, make: impl Fn((&str, &str)) -> Rb) -> String {
    let mut sigs = Vec::new();
    for f in FAMILIES {
        let base = make(f);
        let variants = [
            ("base", base.clone()),
            ("noise", base.clone().noise_on_top()),
            ("offsets", base.clone().other_offsets()),
            ("images", base.clone().images_reversed()),
            (
                "all",
                base.clone()
                    .noise_on_top()
                    .other_offsets()
                    .images_reversed(),
            ),
        ];
        for (what, v) in variants {
            let b = classify_builtin(&v.build());
            assert_eq!(
                b.pattern.as_ref().map(|p| p.id.as_str()),
                Some(id),
                "{id}: family {} variant {what}: signature {}",
                f.0,
                b.signature.text
            );
            assert_eq!(b.signature.algorithm_version, SIGNATURE_ALGORITHM_VERSION);
            sigs.push((f.0, what, b.signature.text));
        }
    }
    let first = sigs[0].2.clone();
    for (f, what, s) in &sigs {
        assert_eq!(
            s, &first,
            "{id}: family {f} variant {what} split the bucket"
        );
    }
    first
}

// ---- stacks shaped like the field reports ------------------------------------------------

fn null_0x98(f: (&str, &str)) -> Rb {
    let drv = fam("AGXMetal{F}", f);
    Rb::new().bad_access(0x98).frames(&[
        (&drv, &fam("AGX::ComputeContext<AGX::{f}::Encoders, AGX::{f}::Classes, AGX::{f}::ObjClasses>::prepareForEnqueue(bool)", f)),
        (&drv, &fam("-[AGX{F}FamilyComputeContext dispatchThreads:threadsPerThreadgroup:]", f)),
        ("MetalPerformanceShaders", "-[MPSNDArrayBinaryKernel encodeToCommandEncoder:commandBuffer:sourceArrays:destinationArray:]"),
        ("libtorch_cpu.dylib", "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)"),
    ])
}

fn objc_method_null(addr: u64, method: &'static str) -> impl Fn((&str, &str)) -> Rb {
    move |f| {
        let drv = fam("AGXMetal{F}", f);
        Rb::new().bad_access(addr).frames(&[
            (&drv, &fam(method, f)),
            ("libtorch_cpu.dylib", "at::native::mps::mul_mps_kernel(at::Tensor const&, at::Tensor const&, at::Tensor const&)"),
            ("libtorch_cpu.dylib", "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)"),
        ])
    }
}

fn cpp_null(addr: u64, symbol: &'static str) -> impl Fn((&str, &str)) -> Rb {
    move |f| {
        let drv = fam("AGXMetal{F}", f);
        Rb::new().bad_access(addr).frames(&[
            (&drv, &fam(symbol, f)),
            (&drv, &fam("-[AGX{F}FamilyComputeContext dispatchThreadgroups:threadsPerThreadgroup:]", f)),
            ("libtorch_cpu.dylib", "at::native::mps::mul_mps_kernel(at::Tensor const&, at::Tensor const&, at::Tensor const&)"),
        ])
    }
}

const UAF_ADDR: u64 = 0x0000_1ba3_6e2f_2650;

fn freed_encoder(f: (&str, &str)) -> Rb {
    let drv = fam("AGXMetal{F}", f);
    Rb::new()
        .bad_access(UAF_ADDR)
        .frames(&[
            ("libobjc.A.dylib", "objc_msgSend"),
            ("libtorch_cpu.dylib", "invocation function for block in at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>, std::__1::optional<at::Tensor> const&, double)"),
            ("libdispatch.dylib", "_dispatch_client_callout"),
            ("libdispatch.dylib", "_dispatch_lane_barrier_sync_invoke_and_complete"),
            ("libtorch_cpu.dylib", "at::native::mps::dispatch_sync_with_rethrow(dispatch_queue_s*, void () block_pointer)"),
            ("libtorch_cpu.dylib", "at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>, std::__1::optional<at::Tensor> const&, double)"),
        ])
        // The driver is loaded, as always; which family must not matter.
        .frame(&drv, None)
}

fn freed_retain(f: (&str, &str)) -> Rb {
    let drv = fam("AGXMetal{F}", f);
    Rb::new().bad_access(0x0000_6000_0123_4560).frames(&[
        ("libobjc.A.dylib", "objc_retain"),
        (
            &drv,
            &fam(
                "-[AGX{F}FamilyCommandBuffer computeCommandEncoderWithConfig:]",
                f,
            ),
        ),
        ("libtorch_cpu.dylib", "at::mps::MPSStream::commandEncoder()"),
    ])
}

fn assertion(asi: &'static str, frames: &'static [&'static str]) -> impl Fn((&str, &str)) -> Rb {
    move |f| {
        let drv = fam("AGXMetal{F}", f);
        let mut b = Rb::new().abort(Some(&fam(asi, f))).frames(&[
            ("libsystem_c.dylib", "abort"),
            ("libsystem_c.dylib", "__assert_rtn"),
            ("Metal", "MTLReportFailure.cold.1"),
            ("Metal", "MTLReportFailure"),
        ]);
        for s in frames {
            let img = if s.contains("AGX") {
                drv.as_str()
            } else {
                "IOGPU"
            };
            b = b.frame(img, Some(&fam(s, f)));
        }
        b.frame(
            "libtorch_cpu.dylib",
            Some("at::mps::MPSStream::synchronize(at::mps::SyncType)"),
        )
    }
}

// ---- one test per shipped rule ------------------------------------------------------------

#[test]
fn agx_null_impl_0x98() {
    let sig = assert_rule_stable("agx-null-impl-0x98", null_0x98);
    assert_eq!(sig, "AGX::ComputeContext<T>::prepareForEnqueue");
}

#[test]
fn agx_null_impl_0x5c8() {
    let sig = assert_rule_stable(
        "agx-null-impl-0x5c8",
        objc_method_null(
            0x5c8,
            "-[AGX{F}FamilyComputeContext setComputePipelineState:]",
        ),
    );
    assert_eq!(sig, "-[AGXG*FamilyComputeContext setComputePipelineState:]");
}

#[test]
fn agx_null_0x5f4_dispatch() {
    assert_rule_stable(
        "agx-null-0x5f4-dispatch",
        objc_method_null(
            0x5f4,
            "-[AGX{F}FamilyComputeContext dispatchThreads:threadsPerThreadgroup:]",
        ),
    );
}

#[test]
fn agx_null_0x3b90_setbuffer() {
    assert_rule_stable(
        "agx-null-0x3b90-setbuffer",
        objc_method_null(
            0x3b90,
            "-[AGX{F}FamilyComputeContext setBuffer:offset:atIndex:]",
        ),
    );
}

#[test]
fn agx_null_0x184_spill() {
    let sig = assert_rule_stable(
        "agx-null-0x184-spill",
        cpp_null(
            0x184,
            "AGX::SpillInfoGen3<AGX::{f}::Encoders, AGX::{f}::Classes, AGX::{f}::ObjClasses>::allocateUSCSpillBuffer(unsigned int, unsigned int) [clone .cold.1]",
        ),
    );
    assert_eq!(sig, "AGX::SpillInfoGen3<T>::allocateUSCSpillBuffer");
}

#[test]
fn agx_null_0x1e0_bindresource() {
    assert_rule_stable(
        "agx-null-0x1e0-bindresource",
        cpp_null(
            0x1e0,
            "AGX::ResourceGroupUsage<AGX::{f}::Encoders, AGX::{f}::Classes, AGX::{f}::ObjClasses>::bindResource(AGX::{f}::Resource const*, unsigned int)",
        ),
    );
}

#[test]
fn objc_msgsend_freed_encoder() {
    let sig = assert_rule_stable("objc-msgsend-freed-encoder", freed_encoder);
    assert_eq!(
        sig,
        "objc_msgSend | invocation function for block in at::native::layer_norm_mps"
    );
    // PAC-failed address, with and without the stripped address in the report.
    for stripped in [Some(UAF_ADDR), None] {
        let r = freed_encoder(FAMILIES[4])
            .pac(0x0000_9ba3_6e2f_2650, stripped)
            .build();
        assert_eq!(
            pattern_of(&r).as_deref(),
            Some("objc-msgsend-freed-encoder")
        );
    }
}

#[test]
fn objc_retain_freed_object() {
    let sig = assert_rule_stable("objc-retain-freed-object", freed_retain);
    assert_eq!(
        sig,
        "objc_retain | -[AGXG*FamilyCommandBuffer computeCommandEncoderWithConfig:]"
    );
}

#[test]
fn agx_encoder_already_encoding() {
    let sig = assert_rule_stable(
        "agx-encoder-already-encoding",
        assertion(
            "-[AGX{F}FamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]:1094: failed assertion `A command encoder is already encoding to this command buffer'",
            &[
                "-[AGX{F}FamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]",
                "-[AGX{F}FamilyCommandBuffer computeCommandEncoderWithConfig:]",
            ],
        ),
    );
    assert_eq!(
        sig,
        "abort | __assert_rtn | MTLReportFailure | -[AGXG*FamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]"
    );
}

#[test]
fn metal_commit_open_encoder() {
    assert_rule_stable(
        "metal-commit-open-encoder",
        assertion(
            "-[IOGPUMetalCommandBuffer validate]:215: failed assertion `commit command buffer with uncommitted encoder'",
            &["-[IOGPUMetalCommandBuffer validate]", "-[_MTLCommandBuffer commit]"],
        ),
    );
    // The paraphrase in the known-pattern table of docs/BUCKETS.md names the same bug.
    assert_rule_stable(
        "metal-commit-open-encoder",
        assertion(
            "Encoder attached to command buffer is not ended",
            &["-[IOGPUMetalCommandBuffer validate]"],
        ),
    );
}

#[test]
fn metal_signal_event_open_encoder() {
    assert_rule_stable(
        "metal-signal-event-open-encoder",
        assertion(
            "-[IOGPUMetalCommandBuffer encodeSignalEvent:value:]:394: failed assertion `encodeSignalEvent:value: with uncommitted encoder'",
            &["-[IOGPUMetalCommandBuffer encodeSignalEvent:value:]", "at::mps::MPSEvent::recordLocked(bool)"],
        ),
    );
}

#[test]
fn metal_completed_handler_after_commit() {
    assert_rule_stable(
        "metal-completed-handler-after-commit",
        assertion(
            "-[_MTLCommandBuffer addCompletedHandler:]:867: failed assertion `Completed handler provided after commit call'",
            &["-[_MTLCommandBuffer addCompletedHandler:]", "at::mps::MPSStream::addCompletedHandler(void (id<MTLCommandBuffer>) block_pointer)"],
        ),
    );
}

#[test]
fn assertion_text_in_exception_message_counts_as_asi() {
    let mut r =
        assertion("unused", &["-[_MTLCommandBuffer addCompletedHandler:]"])(FAMILIES[0]).build();
    r.asi.clear();
    r.exception.message =
        Some("failed assertion `Completed handler provided after commit call'".into());
    assert_eq!(
        pattern_of(&r).as_deref(),
        Some("metal-completed-handler-after-commit")
    );
}

#[test]
fn pac_signed_small_offset_still_matches_exact_address() {
    // The rule names 0x98; the report writes the signed pointer first and the stripped one
    // after `->`, or only the signed one.
    for stripped in [Some(0x98), None] {
        let r = null_0x98(FAMILIES[2])
            .pac(0x002d_0000_0000_0098, stripped)
            .build();
        assert_eq!(
            pattern_of(&r).as_deref(),
            Some("agx-null-impl-0x98"),
            "{stripped:?}"
        );
    }
    // A rule could name the signed form too: both addresses are candidates.
    let rules = RuleSet::from_toml(
        r#"
[[rule]]
id = "signed"
title = "t"
fault = "0x002d000000000098"
"#,
        "test",
    )
    .unwrap();
    let r = null_0x98(FAMILIES[2])
        .pac(0x002d_0000_0000_0098, Some(0x98))
        .build();
    assert!(rules.first_match(&r, &FrameLists::builtin()).is_some());
}

// ---- near misses ---------------------------------------------------------------------------

#[test]
fn fault_0x98_without_agx_frame_is_not_the_driver_bug() {
    let r = Rb::new()
        .bad_access(0x98)
        .frames(&[
            ("libfoo.dylib", "Foo::Bar::update(int)"),
            ("libfoo.dylib", "Foo::run()"),
        ])
        .frame("AGXMetalG16X", None)
        .build();
    let b = classify_builtin(&r);
    assert_eq!(b.pattern, None);
    assert_eq!(b.signature.text, "Foo::Bar::update");
}

#[test]
fn wrong_offset_for_the_method_is_not_named() {
    // setBuffer: at 0x5c8 is neither the 0x5c8 rule (setComputePipelineState:) nor 0x3b90.
    let r = objc_method_null(
        0x5c8,
        "-[AGX{F}FamilyComputeContext setBuffer:offset:atIndex:]",
    )(FAMILIES[0])
    .build();
    assert_eq!(pattern_of(&r), None);
}

#[test]
fn assertion_text_in_a_frame_but_not_in_asi_does_not_match() {
    // Regression guard: the text must come from this report's asi/message, not frame names.
    let r = Rb::new()
        .abort(None)
        .frames(&[
            ("libsystem_c.dylib", "abort"),
            ("AGXMetalG16X", "-[AGXG16XFamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]"),
            ("libfoo.dylib", "log_message(\"A command encoder is already encoding to this command buffer\")"),
        ])
        .build();
    assert_eq!(pattern_of(&r), None);
    // Same report with the text in asi: named.
    let mut r2 = r.clone();
    r2.asi.push(
        "failed assertion `A command encoder is already encoding to this command buffer'".into(),
    );
    assert_eq!(
        pattern_of(&r2).as_deref(),
        Some("agx-encoder-already-encoding")
    );
}

#[test]
fn objc_msgsend_uaf_without_metal_context_keeps_plain_signature() {
    let mut b = Rb::new().bad_access(UAF_ADDR).frames(&[
        ("libobjc.A.dylib", "objc_msgSend"),
        ("AppKit", "-[NSView layoutSubtreeIfNeeded]"),
        ("AppKit", "-[NSWindow layoutIfNeeded]"),
        ("AppKit", "-[NSApplication run]"),
    ]);
    // The driver is loaded (every GPU app has it) but not on this stack.
    b.image("AGXMetalG16X");
    let r = b.build();
    let b = classify_builtin(&r);
    assert_eq!(b.pattern, None);
    assert_eq!(
        b.signature.text,
        "objc_msgSend | -[NSView layoutSubtreeIfNeeded]"
    );
    // Same for objc_retain.
    let mut r2 = r.clone();
    r2.threads[0].frames[0].symbol = Some("objc_retain".into());
    assert_eq!(pattern_of(&r2), None);
}

#[test]
fn objc_msgsend_with_metal_context_but_small_fault_is_not_uaf() {
    let mut r = freed_encoder(FAMILIES[0]).build();
    r.exception.fault_address = Some(0x10);
    assert_eq!(pattern_of(&r), None);
}

#[test]
fn metal_context_deeper_than_within_does_not_count() {
    let mut b = Rb::new()
        .bad_access(UAF_ADDR)
        .frame("libobjc.A.dylib", Some("objc_msgSend"));
    for i in 0..10 {
        b = b.frame("libapp.dylib", Some(&format!("app::layer{i}()")));
    }
    let r = b
        .frame("libtorch_cpu.dylib", Some("at::native::mps::dispatch_sync_with_rethrow(dispatch_queue_s*, void () block_pointer)"))
        .build();
    assert_eq!(pattern_of(&r), None);
}

// ---- signatures ----------------------------------------------------------------------------

#[test]
fn shipped_rule_signatures_snapshot() {
    let mut out = String::new();
    let cases: Vec<(&str, CrashReport)> = vec![
        (
            "agx-null-impl-0x98",
            null_0x98(FAMILIES[0]).noise_on_top().build(),
        ),
        (
            "agx-null-0x184-spill",
            cpp_null(
                0x184,
                "AGX::SpillInfoGen3<AGX::{f}::Encoders>::allocateUSCSpillBuffer(unsigned int)",
            )(FAMILIES[1])
            .build(),
        ),
        (
            "objc-msgsend-freed-encoder",
            freed_encoder(FAMILIES[2]).noise_on_top().build(),
        ),
        (
            "objc-retain-freed-object",
            freed_retain(FAMILIES[3]).build(),
        ),
        (
            "metal-completed-handler-after-commit",
            assertion(
                "`Completed handler provided after commit call'",
                &["-[_MTLCommandBuffer addCompletedHandler:]"],
            )(FAMILIES[4])
            .noise_on_top()
            .build(),
        ),
    ];
    for (name, r) in cases {
        let b = classify_builtin(&r);
        out.push_str(&format!(
            "{name}\n  pattern: {}\n  signature (v{}, {} frames): {}\n",
            b.pattern.map(|p| p.id).unwrap_or_else(|| "-".into()),
            b.signature.algorithm_version,
            b.signature.frames_used,
            b.signature.text
        ));
    }
    insta::assert_snapshot!(out);
}

// Signature algorithm 2: an unsymbolicated frame is `module@0xOFFSET` (stable for one build
// of the module), no longer the bare module name that merged every unsymbolicated crash in one
// image. Rules still see the image, so the family wildcard keeps working there.
#[test]
fn unsymbolicated_driver_frames_use_module_at_offset() {
    let a = Rb::new()
        .bad_access(0x98)
        .frame("AGXMetalG13X", None)
        .frame("libtorch_cpu.dylib", None)
        .build();
    let b = Rb::new()
        .bad_access(0x98)
        .frame("AGXMetalG16G_B0", None)
        .frame("libtorch_cpu.dylib", None)
        .build();
    let lists = FrameLists::builtin();
    assert_eq!(signature(&a, &lists).text, "AGXMetalG13X@0x1000");
    assert_eq!(signature(&b, &lists).text, "AGXMetalG16G_B0@0x1000");
    let c = Rb::new()
        .bad_access(0x98)
        .frame("libtorch_cpu.dylib", None)
        .build();
    assert_eq!(signature(&c, &lists).text, "libtorch_cpu.dylib@0x1000");
    // Machinery images are walked past to the module that called them.
    let d = Rb::new()
        .bad_access(0x98)
        .frame("libsystem_kernel.dylib", None)
        .frame("libsystem_c.dylib", None)
        .frame("libtorch_cpu.dylib", None)
        .build();
    assert_eq!(
        signature(&d, &lists).text,
        "libsystem_kernel.dylib@0x1000 | libsystem_c.dylib@0x1040 | libtorch_cpu.dylib@0x1080"
    );
    // Rules match the image of an unsymbolicated frame by glob, for every family.
    let rules = RuleSet::from_toml(
        "[[rule]]\nid = \"u\"\ntitle = \"t\"\n[[rule.frames]]\nimage = \"AGXMetal*\"\n",
        "t.toml",
    )
    .unwrap();
    for r in [&a, &b] {
        assert_eq!(
            classify(r, &rules, &lists).pattern.map(|p| p.id),
            Some("u".to_string())
        );
    }
}

#[test]
fn no_crashed_thread_falls_back_to_exception_signal_process() {
    let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Legacy);
    r.exception.exc_type = Some("EXC_BAD_ACCESS".into());
    r.exception.signal = Some("SIGSEGV".into());
    r.process.name = Some("Python".into());
    let b = classify_builtin(&r);
    assert_eq!(b.signature.text, "EXC_BAD_ACCESS (SIGSEGV) in Python");
    assert_eq!(b.pattern, None);
}

// ---- rule files ----------------------------------------------------------------------------

#[test]
fn user_rules_come_first_and_override_builtin_ids() {
    let user = RuleSet::from_toml(
        r#"
[[rule]]
id = "my-0x98"
title = "our own name for 0x98"
fault = "0x98"
top_frame = "AGX::ComputeContext*::prepareForEnqueue*"

[[rule]]
id = "objc-retain-freed-object"
title = "replaced"
top_frame = "never-matches"
"#,
        "user.toml",
    )
    .unwrap();
    let mut rules = RuleSet::builtin();
    let n_builtin = rules.len();
    rules.extend(user);
    assert_eq!(rules.len(), n_builtin + 1);
    assert_eq!(rules.rules()[0].id, "my-0x98");
    let lists = FrameLists::builtin();
    let b = classify(&null_0x98(FAMILIES[0]).build(), &rules, &lists);
    let m = b.pattern.unwrap();
    assert_eq!((m.id.as_str(), m.origin.as_str()), ("my-0x98", "user.toml"));
    // The overridden built-in rule is gone: its replacement never matches.
    let b = classify(&freed_retain(FAMILIES[0]).build(), &rules, &lists);
    assert_eq!(b.pattern, None);
}

fn load_err(text: &str) -> RuleError {
    RuleSet::from_toml(text, "bad.toml").unwrap_err()
}

#[test]
fn unknown_key_error_names_the_line() {
    let e = load_err("[[rule]]\nid = \"x\"\ntitle = \"t\"\nfualt = \"0x98\"\n");
    let msg = e.to_string();
    assert!(matches!(e, RuleError::Toml { line: 4, .. }), "{msg}");
    assert!(msg.contains("bad.toml") && msg.contains("fualt"), "{msg}");
}

#[test]
fn bad_regex_error_names_rule_field_and_line() {
    let e = load_err(
        "[[rule]]\nid = \"r1\"\ntitle = \"t\"\nsignal = \"SIGABRT\"\nasi = \"(unclosed\"\n",
    );
    match &e {
        RuleError::Invalid {
            rule_id,
            field,
            line,
            ..
        } => {
            assert_eq!((rule_id.as_str(), field.as_str(), *line), ("r1", "asi", 5));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("rule `r1`, field `asi`"), "{e}");
}

#[test]
fn bad_glob_and_fault_and_within_errors() {
    let e = load_err("[[rule]]\nid = \"g\"\ntitle = \"t\"\ntop_frame = \"foo\\\\\"\n");
    assert!(
        matches!(&e, RuleError::Invalid { field, line: 4, .. } if field == "top_frame"),
        "{e:?}"
    );
    let e = load_err("[[rule]]\nid = \"f\"\ntitle = \"t\"\nfault = \"huge\"\n");
    assert!(
        matches!(&e, RuleError::Invalid { field, .. } if field == "fault"),
        "{e:?}"
    );
    let e = load_err(
        "[[rule]]\nid = \"w\"\ntitle = \"t\"\n\n[[rule.frames]]\nwithin = 0\nsymbol = \"x\"\n",
    );
    assert!(
        matches!(&e, RuleError::Invalid { field, .. } if field == "frames.within"),
        "{e:?}"
    );
    let e = load_err("[[rule]]\nid = \"n\"\ntitle = \"no conditions\"\n");
    assert!(matches!(&e, RuleError::Invalid { .. }), "{e:?}");
    let e = load_err("[[rule]]\nid = \"bad id!\"\ntitle = \"t\"\nsignal = \"SIGABRT\"\n");
    assert!(
        matches!(&e, RuleError::Invalid { field, .. } if field == "id"),
        "{e:?}"
    );
    let e = load_err("[[rule]]\nid = \"x\"\ntitle = \"t\"\nsignal = 6\n");
    assert!(matches!(&e, RuleError::Toml { line: 4, .. }), "{e:?}");
}

#[test]
fn duplicate_ids_are_rejected() {
    let e = load_err(
        "[[rule]]\nid = \"d\"\ntitle = \"t\"\nsignal = \"SIGABRT\"\n\n[[rule]]\nid = \"d\"\ntitle = \"t\"\nsignal = \"SIGSEGV\"\n",
    );
    assert!(
        matches!(
            &e,
            RuleError::DuplicateId {
                line: 7,
                first_line: 2,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn first_matching_rule_wins_in_file_order() {
    let rules = RuleSet::from_toml(
        r#"
[[rule]]
id = "first"
title = "t"
exception = "EXC_BAD_ACCESS"

[[rule]]
id = "second"
title = "t"
fault = "0x98"
"#,
        "order.toml",
    )
    .unwrap();
    let r = null_0x98(FAMILIES[0]).build();
    assert_eq!(
        rules.first_match(&r, &FrameLists::builtin()).unwrap().id,
        "first"
    );
}

#[test]
fn fault_ranges_large_and_exception_in_one_field() {
    let rules = RuleSet::from_toml(
        r#"
[[rule]]
id = "range"
title = "t"
exception = ["exc_bad_access"]
signal = ["SIGSEGV", "SIGBUS"]
fault = "0x90..0x9f"
"#,
        "r.toml",
    )
    .unwrap();
    let lists = FrameLists::builtin();
    let mut r = null_0x98(FAMILIES[0]).build();
    assert!(rules.first_match(&r, &lists).is_some());
    r.exception.fault_address = Some(0xa0);
    assert!(rules.first_match(&r, &lists).is_none());
    // Legacy text that kept `EXC_BAD_ACCESS (SIGSEGV)` in one field.
    r.exception.fault_address = Some(0x98);
    r.exception.exc_type = Some("EXC_BAD_ACCESS (SIGSEGV)".into());
    r.exception.signal = None;
    assert!(rules.first_match(&r, &lists).is_some());
}

// ---- frame globs for `reports --frame` -------------------------------------------------------

#[test]
fn frame_glob_for_search() {
    let g = frame_glob("-[AGXG1?XFamilyComputeContext *]").unwrap();
    assert!(g.matches("-[AGXG13XFamilyComputeContext setBuffer:offset:atIndex:]"));
    assert!(!g.matches("-[AGXG13GFamilyComputeContext setBuffer:offset:atIndex:]"));
    let g = frame_glob("*prepareForEnqueue").unwrap();
    assert!(g.matches("AGX::ComputeContext<AGX::G16::Encoders>::prepareForEnqueue(bool)"));
    assert!(frame_glob("oops\\").is_err());
}

// ---- speed -------------------------------------------------------------------------------

/// Timing depends on the machine and profile, so it is opt-in:
/// `cargo test --test bucket_rules classify_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn classify_speed() {
    let mut reports: Vec<CrashReport> = vec![
        null_0x98(FAMILIES[0]).noise_on_top().build(),
        freed_encoder(FAMILIES[1]).noise_on_top().build(),
        freed_retain(FAMILIES[2]).build(),
        assertion(
            "`Completed handler provided after commit call'",
            &["-[_MTLCommandBuffer addCompletedHandler:]"],
        )(FAMILIES[3])
        .build(),
    ];
    // A deep unrelated stack: every rule fails, all 40 frames may be looked at.
    let mut deep = Rb::new()
        .bad_access(UAF_ADDR)
        .frame("libobjc.A.dylib", Some("objc_msgSend"));
    for i in 0..60 {
        deep = deep.frame(
            "libapp.dylib",
            Some(&format!(
                "std::__1::function<void (int)>::operator()(int) const [clone .cold.{i}]"
            )),
        );
    }
    reports.push(deep.build());
    let (rules, lists) = (RuleSet::builtin(), FrameLists::builtin());
    let n = 20_000;
    let start = std::time::Instant::now();
    let mut named = 0;
    for i in 0..n {
        named += usize::from(
            classify(&reports[i % reports.len()], &rules, &lists)
                .pattern
                .is_some(),
        );
    }
    let per = start.elapsed() / n as u32;
    println!("classify: {per:?} per report ({n} reports, {named} named)");
    assert_eq!(named, n / reports.len() * 4);
    assert!(per < std::time::Duration::from_millis(1), "{per:?}");
}
