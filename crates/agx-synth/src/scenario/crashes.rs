//! The crashes themselves: multithreaded PyTorch/MPS crashes of every pattern, ordinary
//! non-AGX crashes (a C extension, a Swift `abort()`, an AppKit use-after-free) and GPU
//! restart events.

use super::*;

// ---------------------------------------------------------------------------------------------
// Building the Python (PyTorch MPS) crashes
// ---------------------------------------------------------------------------------------------

/// A PyTorch/MPS crash to assemble with [`python_crash`].
pub struct PyCrash<'a> {
    /// The pattern's rule id.
    pub pattern: &'a str,
    /// The PyTorch operation under the driver frames.
    pub ctx: Ctx,
    /// The Mac.
    pub machine: Machine,
    /// `v2_3`, `v2_4`, or `None` for native rounds.
    pub fix: Option<&'static str>,
    /// When it crashed (`captureTime`).
    pub capture: Local,
    /// When the process started.
    pub launch: Local,
    /// Process id.
    pub pid: u64,
    /// Parent name and pid.
    pub parent: (&'static str, u64),
    /// Which libtorch frames lose their names.
    pub unsym: Unsym,
    /// Names the crash in hashed identifiers.
    pub label: String,
    /// Picks among the pattern's fault addresses.
    pub variant: usize,
}

pub(crate) fn python_process(pid: u64, parent: (&str, u64)) -> Proc {
    Proc {
        name: "Python".to_string(),
        bundle_id: Some("org.python.python".to_string()),
        app_version: "3.12.11".to_string(),
        build_version: "3.12.11".to_string(),
        pid,
        parent: (parent.0.to_string(), parent.1),
        responsible: ("Terminal".to_string(), 612),
        role: "Unspecified",
        coalition: "com.apple.Terminal".to_string(),
        signing_id: "org.python.python".to_string(),
        team_id: String::new(),
    }
}

/// A multithreaded PyTorch/MPS crash: main thread, eight workers (one crashed with the pattern's stack), Metal's completion queue and idle workqueue threads.
pub fn python_crash(c: PyCrash, rng: &mut Rng) -> Crash {
    let m = c.machine;
    let pat = pattern(c.pattern);
    let fault = pattern_fault(c.pattern, rng, c.variant);
    let mut crashed: Vec<(Img, Option<String>, u64)> = Vec::new();
    if pat.abort {
        crashed.extend(tframes(ABORT, &m));
    }
    // Driver build offsets differ per GPU family; the rules must ignore `+N`.
    let family_shift = (hash(m.family) % 8) * 4;
    for f in pat.top {
        let shift = if f.0 == Img::Agx { family_shift } else { 0 };
        crashed.push((f.0, Some(family_symbol(f.1, &m)), f.2 + shift));
    }
    if let (Some(_), Some(fixf)) = (c.fix, pat.fix_frame) {
        crashed.push((Img::Fix, Some(fixf.to_string()), 68 + (hash(fixf) % 12) * 4));
    }
    let (ctx, call) = ctx_frames(c.ctx);
    crashed.extend(tframes(&ctx, &m));
    crashed.extend(tframes(&python_worker_tail(call, rng), &m));
    apply_unsym(&mut crashed, c.unsym);

    // main, 8 workers (one crashed), the Metal completion queue, idle workqueue threads.
    let crashed_worker = rng.range(1, 8) as usize;
    let mut threads = vec![ThreadPlan {
        name: None,
        queue: Some("com.apple.main-thread".to_string()),
        frames: tframes(PY_MAIN, &m),
    }];
    let mut crashed_index = 0;
    for w in 1..=8 {
        if w == crashed_worker {
            crashed_index = threads.len();
            threads.push(ThreadPlan {
                name: None,
                queue: Some("metal gpu stream".to_string()),
                frames: crashed.clone(),
            });
        } else {
            let body: &[F] = if w % 3 == 0 { WAIT_COMPLETED } else { GIL_WAIT };
            let mut frames = tframes(body, &m);
            let call = F(Img::PyFw, "method_vectorcall_VARARGS_KEYWORDS", 152);
            frames.extend(tframes(&python_worker_tail(call, rng)[1..], &m));
            threads.push(ThreadPlan {
                name: None,
                queue: None,
                frames,
            });
        }
    }
    threads.push(ThreadPlan {
        name: None,
        queue: Some("com.Metal.CompletionQueueDispatch".to_string()),
        frames: tframes(COMPLETION_QUEUE, &m),
    });
    for _ in 0..2 {
        threads.push(ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        });
    }

    let mut loaded = vec![Img::PyApp];
    if c.fix.is_some() {
        loaded.push(Img::Fix);
    }
    loaded.extend([Img::PyFw, Img::LibC10, Img::Torch, Img::TorchPy, Img::Agx]);
    let annotate = match fault {
        Fault::NullRead(_) | Fault::NullWrite(_) => Some((
            Img::Agx,
            format!("OBJC_CLASS_$_AGX{}FamilyComputeContext", m.family),
        )),
        _ => None,
    };
    assemble(
        CrashInput {
            machine: m,
            process: python_process(c.pid, c.parent),
            loaded,
            fix: c.fix.map(str::to_string),
            threads,
            crashed: crashed_index,
            fault,
            capture: c.capture,
            launch: c.launch,
            written_delay: rng.range(2, 9) as i64,
            label: c.label,
            annotate,
        },
        rng,
    )
}

// ---------------------------------------------------------------------------------------------
// Ordinary (non-AGX) crashes
// ---------------------------------------------------------------------------------------------

/// Python segfault in a custom C extension working on a numpy array (uv-managed Python).
pub fn numpy_extension_crash(rng: &mut Rng) -> Crash {
    let m = M4_MAX;
    let capture = local((2026, 11, 3), (14, 22, 41), -8) + millis(5072);
    let crashed = vec![
        F(Img::FastBlur, "blur_rows_f32", 212),
        F(Img::FastBlur, "fastblur_gaussian", 596),
        F(Img::UvPython, "cfunction_call", 60),
        F(Img::UvPython, "_PyObject_MakeTpCall", 128),
        F(Img::UvPython, "_PyEval_EvalFrameDefault", 30572),
        F(Img::UvPython, "PyEval_EvalCode", 184),
        F(Img::UvPython, "run_eval_code_obj", 88),
        F(Img::UvPython, "run_mod", 124),
        F(Img::UvPython, "_PyRun_SimpleFileObject", 876),
        F(Img::UvPython, "_PyRun_AnyFileObject", 112),
        F(Img::UvPython, "pymain_run_python", 1304),
        F(Img::UvPython, "Py_RunMain", 24),
        F(Img::UvPython, "pymain_main", 52),
        F(Img::UvPython, "main", 28),
        F(Img::Dyld, "start", 6076),
    ];
    let openblas = [
        F(Img::Kernel, "__psynch_cvwait", 8),
        F(Img::Pthread, "_pthread_cond_wait", 984),
        F(Img::Numpy, "blas_thread_server", 388),
        F(Img::Pthread, "_pthread_start", 136),
        F(Img::Pthread, "thread_start", 8),
    ];
    let mut threads = vec![ThreadPlan {
        name: None,
        queue: Some("com.apple.main-thread".to_string()),
        frames: tframes(&crashed, &m),
    }];
    for _ in 0..3 {
        threads.push(ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(&openblas, &m),
        });
    }
    let process = Proc {
        name: "python3.12".to_string(),
        bundle_id: None,
        app_version: String::new(),
        build_version: String::new(),
        pid: 61207,
        parent: ("zsh".to_string(), 58833),
        responsible: ("Terminal".to_string(), 612),
        role: "Unspecified",
        coalition: "com.apple.Terminal".to_string(),
        signing_id: "python3.12".to_string(),
        team_id: String::new(),
    };
    assemble(
        CrashInput {
            machine: m,
            process,
            loaded: vec![Img::UvPython, Img::Numpy, Img::FastBlur],
            fix: None,
            threads,
            crashed: 0,
            fault: Fault::NullRead(0x10),
            capture,
            launch: capture - secs(3) - millis(412),
            written_delay: 4,
            label: "non-agx/numpy-extension-segv".to_string(),
            annotate: None,
        },
        rng,
    )
}

pub(crate) const APPKIT_MAIN_TAIL: &[F] = &[
    F(
        Img::CoreFoundation,
        "__CFRUNLOOP_IS_CALLING_OUT_TO_A_SOURCE0_PERFORM_FUNCTION__",
        28,
    ),
    F(Img::CoreFoundation, "__CFRunLoopDoSource0", 172),
    F(Img::CoreFoundation, "__CFRunLoopDoSources0", 232),
    F(Img::CoreFoundation, "__CFRunLoopRun", 840),
    F(Img::CoreFoundation, "CFRunLoopRunSpecific", 572),
    F(Img::HiToolbox, "RunCurrentEventLoopInMode", 324),
    F(Img::HiToolbox, "ReceiveNextEventCommon", 676),
    F(
        Img::HiToolbox,
        "_BlockUntilNextEventMatchingListInModeWithFilter",
        76,
    ),
    F(Img::AppKit, "_DPSNextEvent", 684),
    F(
        Img::AppKit,
        "-[NSApplication(NSEventRouting) _nextEventMatchingEventMask:untilDate:inMode:dequeue:]",
        688,
    ),
    F(Img::AppKit, "-[NSApplication run]", 480),
    F(Img::AppKit, "NSApplicationMain", 880),
];

pub(crate) const NS_EVENT_THREAD: &[F] = &[
    F(Img::Kernel, "mach_msg2_trap", 8),
    F(Img::Kernel, "mach_msg2_internal", 76),
    F(Img::Kernel, "mach_msg_overwrite", 484),
    F(Img::Kernel, "mach_msg", 24),
    F(Img::CoreFoundation, "__CFRunLoopServiceMachPort", 160),
    F(Img::CoreFoundation, "__CFRunLoopRun", 1208),
    F(Img::CoreFoundation, "CFRunLoopRunSpecific", 572),
    F(Img::AppKit, "_NSEventThread", 140),
    F(Img::Pthread, "_pthread_start", 136),
    F(Img::Pthread, "thread_start", 8),
];

pub(crate) fn app_process(name: &str, id: &str, short: &str, ver: &str, pid: u64) -> Proc {
    Proc {
        name: name.to_string(),
        bundle_id: Some(id.to_string()),
        app_version: short.to_string(),
        build_version: ver.to_string(),
        pid,
        parent: ("launchd".to_string(), 1),
        responsible: (name.to_string(), pid),
        role: "Foreground",
        coalition: id.to_string(),
        signing_id: id.to_string(),
        team_id: "EXAMPLE42Q".to_string(),
    }
}

/// A Swift app that calls `abort()` when its database cannot be opened. The AGX driver is
/// loaded (every AppKit app has it) but nowhere near the crash.
pub fn swift_abort_crash(rng: &mut Rng) -> Crash {
    let m = M4_MAX;
    let capture = local((2026, 11, 4), (8, 47, 12), -8) + millis(2215);
    let mut main = vec![
        F(Img::Kernel, "__pthread_kill", 8),
        F(Img::Pthread, "pthread_kill", 296),
        F(Img::LibC, "abort", 124),
        F(
            Img::LedgerSync,
            "closure #1 in LedgerStore.openDatabase(at:)",
            412,
        ),
        F(Img::LedgerSync, "LedgerStore.openDatabase(at:)", 1288),
        F(Img::LedgerSync, "LedgerStore.init(url:)", 236),
        F(
            Img::LedgerSync,
            "AppDelegate.applicationDidFinishLaunching(_:)",
            644,
        ),
        F(
            Img::LedgerSync,
            "@objc AppDelegate.applicationDidFinishLaunching(_:)",
            52,
        ),
        F(
            Img::CoreFoundation,
            "__CFNOTIFICATIONCENTER_IS_CALLING_OUT_TO_AN_OBSERVER__",
            148,
        ),
        F(
            Img::CoreFoundation,
            "___CFXRegistrationPost_block_invoke",
            88,
        ),
        F(Img::CoreFoundation, "_CFXRegistrationPost", 436),
        F(Img::CoreFoundation, "_CFXNotificationPost", 740),
        F(
            Img::Foundation,
            "-[NSNotificationCenter postNotificationName:object:userInfo:]",
            88,
        ),
        F(
            Img::AppKit,
            "-[NSApplication _postDidFinishNotification]",
            284,
        ),
        F(
            Img::AppKit,
            "-[NSApplication _sendFinishLaunchingNotification]",
            172,
        ),
    ];
    main.extend_from_slice(APPKIT_MAIN_TAIL);
    main.extend_from_slice(&[F(Img::LedgerSync, "main", 64), F(Img::Dyld, "start", 6076)]);
    let threads = vec![
        ThreadPlan {
            name: None,
            queue: Some("com.apple.main-thread".to_string()),
            frames: tframes(&main, &m),
        },
        ThreadPlan {
            name: Some("com.apple.NSEventThread".to_string()),
            queue: None,
            frames: tframes(NS_EVENT_THREAD, &m),
        },
        ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        },
    ];
    let process = app_process(
        "LedgerSync",
        "com.example.ledgersync",
        "2.4.1",
        "241",
        70311,
    );
    assemble(
        CrashInput {
            machine: m,
            process,
            loaded: vec![Img::LedgerSync, Img::Agx],
            fix: None,
            threads,
            crashed: 0,
            fault: Fault::Abort("libsystem_c.dylib", "abort() called"),
            capture,
            launch: capture - millis(1830),
            written_delay: 3,
            label: "non-agx/swift-abort".to_string(),
            annotate: None,
        },
        rng,
    )
}

/// objc_msgSend on a released view controller from AppKit code: the same top frame and the
/// same kind of PAC-failed address as the freed-encoder pattern, but no Metal anywhere in the
/// stack — a rule that names this `objc-msgsend-freed-encoder` is wrong.
pub fn appkit_uaf_crash(rng: &mut Rng) -> Crash {
    let m = M4_MAX;
    let capture = local((2026, 11, 4), (16, 3, 55), -8) + millis(8731);
    let main = vec![
        F(Img::LibObjc, "objc_msgSend", 56),
        F(
            Img::AppKit,
            "-[NSViewController _sendViewDidDisappear]",
            148,
        ),
        F(Img::AppKit, "-[NSView _setWindow:]", 2108),
        F(Img::AppKit, "-[NSView removeFromSuperview]", 164),
        F(
            Img::PixelNotes,
            "NoteCanvasController.closeInspector()",
            220,
        ),
        F(
            Img::PixelNotes,
            "@objc NoteCanvasController.closeInspector()",
            44,
        ),
        F(
            Img::AppKit,
            "-[NSApplication(NSResponder) sendAction:to:from:]",
            460,
        ),
        F(Img::AppKit, "-[NSControl sendAction:to:]", 88),
        F(
            Img::AppKit,
            "__26-[NSCell _sendActionFrom:]_block_invoke",
            116,
        ),
        F(Img::AppKit, "-[NSCell _sendActionFrom:]", 176),
        F(Img::AppKit, "-[NSButtonCell _sendActionFrom:]", 96),
        F(Img::AppKit, "NSControlTrackMouse", 1500),
        F(
            Img::AppKit,
            "-[NSCell trackMouse:inRect:ofView:untilMouseUp:]",
            124,
        ),
        F(
            Img::AppKit,
            "-[NSButtonCell trackMouse:inRect:ofView:untilMouseUp:]",
            612,
        ),
        F(Img::AppKit, "-[NSControl mouseDown:]", 448),
        F(
            Img::AppKit,
            "-[NSWindow(NSEventRouting) _handleMouseDownEvent:isDelayedEvent:]",
            4560,
        ),
        F(
            Img::AppKit,
            "-[NSWindow(NSEventRouting) _reallySendEvent:isDelayedEvent:]",
            404,
        ),
        F(Img::AppKit, "-[NSWindow(NSEventRouting) sendEvent:]", 284),
        F(
            Img::AppKit,
            "-[NSApplication(NSEventRouting) sendEvent:]",
            1656,
        ),
        F(Img::AppKit, "-[NSApplication run]", 632),
        F(Img::AppKit, "NSApplicationMain", 880),
        F(Img::PixelNotes, "main", 64),
        F(Img::Dyld, "start", 6076),
    ];
    let threads = vec![
        ThreadPlan {
            name: None,
            queue: Some("com.apple.main-thread".to_string()),
            frames: tframes(&main, &m),
        },
        ThreadPlan {
            name: Some("com.apple.NSEventThread".to_string()),
            queue: None,
            frames: tframes(NS_EVENT_THREAD, &m),
        },
        ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        },
        ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        },
    ];
    let process = app_process("PixelNotes", "com.example.pixelnotes", "1.8", "1803", 73950);
    let signed = 0x0000_f12a_4c8e_1b30;
    assemble(
        CrashInput {
            machine: m,
            process,
            loaded: vec![Img::PixelNotes, Img::Agx],
            fix: None,
            threads,
            crashed: 0,
            fault: Fault::Pac(signed, signed & 0x0000_1fff_ffff_ffff),
            capture,
            launch: capture - secs(2417),
            written_delay: 2,
            label: "non-agx/appkit-objc-msgsend-uaf".to_string(),
            annotate: None,
        },
        rng,
    )
}

/// A GPU event (`bug_type` 284). Shape from public test fixtures of GPU-event handling: a JSON
/// header line without `app_name`, then a small JSON body naming the process (cut to 16
/// characters) and the firmware's analysis; no pid, no threads.
pub fn render_gpu_event(
    process: &str,
    written: &Local,
    label: &str,
    reason: (u64, &str),
) -> String {
    let header = obj(vec![
        ("bug_type", s("284")),
        ("timestamp", s(fmt_header(written))),
        ("os_version", s(OS_VERSION)),
        ("roots_installed", u(0)),
        ("incident_id", s(upper_uuid(&format!("gpu-event/{label}")))),
    ]);
    let name: String = process.chars().take(16).collect();
    let analysis = obj(vec![
        ("guilty_dm", u(3)),
        (
            "command_buffer_trace_id",
            u(1_400_000_000_000 + hash(label) % 9_000_000_000),
        ),
        ("signature", u(560 + hash(label) % 40)),
        ("restart_reason_desc", s(reason.1)),
        ("restart_reason", u(reason.0)),
    ]);
    let body = render_body(&[
        ("roots_installed", u(0), Sty::Line),
        ("bug_type", s("284"), Sty::Line),
        ("process_name", s(name), Sty::Line),
        ("registers", obj(vec![]), Sty::Line),
        ("timestamp", u(written.timestamp() as u64), Sty::Line),
        ("analysis", analysis, Sty::Line),
    ]);
    format!("{}\n{body}", header.to_compact(true))
}
