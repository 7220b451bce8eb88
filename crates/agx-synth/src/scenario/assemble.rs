//! One crash assembled from its plan (images resolved to bases, frames to offsets, registers
//! and the fault filled in) and written out through [`crate::Report`].

use super::*;

// ---------------------------------------------------------------------------------------------
// The report model the renderers share
// ---------------------------------------------------------------------------------------------

pub(crate) struct FrameOut {
    pub(crate) image: usize,
    pub(crate) offset: u64,
    pub(crate) symbol: Option<String>,
    pub(crate) location: u64,
}

pub(crate) struct ThreadOut {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) queue: Option<String>,
    pub(crate) frames: Vec<FrameOut>,
    /// 29 general registers, then fp, lr, sp, pc, cpsr, far, esr.
    pub(crate) x: Vec<(u64, Option<String>)>,
    pub(crate) fp: u64,
    pub(crate) lr: u64,
    pub(crate) sp: u64,
    pub(crate) pc: u64,
    pub(crate) cpsr: u64,
    pub(crate) far: u64,
    pub(crate) esr: (u64, &'static str),
}

/// An image where one process loaded it.
pub struct ImageOut {
    /// What it is.
    pub spec: ImageSpec,
    /// Load address.
    pub base: u64,
}

/// The crashed process, as the scenario knows it.
pub struct Proc {
    /// Process name.
    pub name: String,
    /// The header's `bundleID`.
    pub bundle_id: Option<String>,
    /// `app_version`.
    pub app_version: String,
    /// `build_version`.
    pub build_version: String,
    /// Process id.
    pub pid: u64,
    /// Parent name and pid.
    pub parent: (String, u64),
    /// Responsible process name and pid.
    pub responsible: (String, u64),
    /// `procRole`.
    pub role: &'static str,
    /// `coalitionName` (its id is hashed from it).
    pub coalition: String,
    /// `codeSigningID`.
    pub signing_id: String,
    /// `codeSigningTeamID`.
    pub team_id: String,
}

/// One assembled crash: what happened, when and where, before it is written out.
pub struct Crash {
    /// The Mac.
    pub machine: Machine,
    /// The crashed process.
    pub process: Proc,
    /// Incident id.
    pub incident: String,
    /// When it crashed (`captureTime`).
    pub capture: Local,
    /// When the report was written (the header's `timestamp`, the file name).
    pub written: Local,
    /// When the process started.
    pub launch: Local,
    /// `EXC_BAD_ACCESS`...
    pub exc_type: &'static str,
    /// `SIGSEGV`...
    pub signal: &'static str,
    /// Exception codes.
    pub codes: (u64, u64),
    /// Exception subtype.
    pub subtype: Option<String>,
    /// Termination code, indicator and `byProc`.
    pub termination: (u64, &'static str, String),
    /// Application-specific information: library and message.
    pub asi: Option<(String, String)>,
    /// `vmRegionInfo`.
    pub vm_region: Option<String>,
    /// Index of the crashed thread.
    pub crashed: usize,
    pub(crate) threads: Vec<ThreadOut>,
    /// Images in `usedImages` order.
    pub images: Vec<ImageOut>,
    /// Whether `usedImages` ends with the absolute (`source: "A"`) null entry.
    pub null_image: bool,
    /// Names the crash in hashed identifiers.
    pub label: String,
}

/// A thread before images are resolved.
pub(crate) struct ThreadPlan {
    pub(crate) name: Option<String>,
    pub(crate) queue: Option<String>,
    pub(crate) frames: Vec<(Img, Option<String>, u64)>,
}

pub(crate) fn tframes(list: &[F], m: &Machine) -> Vec<(Img, Option<String>, u64)> {
    list.iter()
        .map(|f| (f.0, Some(family_symbol(f.1, m)), f.2))
        .collect()
}

/// The Python stack below a torch C-API call on a `threading.Thread`.
pub(crate) fn python_worker_tail(call: F, rng: &mut Rng) -> Vec<F> {
    let evals: [u64; 5] = [11384, 23412, 4608, 30572, 7196];
    vec![
        call,
        F(Img::PyFw, "PyObject_Vectorcall", 92),
        F(Img::PyFw, "_PyEval_EvalFrameDefault", rng.pick(&evals)),
        F(Img::PyFw, "_PyFunction_Vectorcall", 184),
        F(Img::PyFw, "_PyEval_EvalFrameDefault", rng.pick(&evals)),
        F(Img::PyFw, "method_vectorcall", 372),
        F(Img::PyFw, "thread_run", 180),
        F(Img::PyFw, "pythread_wrapper", 48),
        F(Img::Pthread, "_pthread_start", 136),
        F(Img::Pthread, "thread_start", 8),
    ]
}

pub(crate) const PY_MAIN: &[F] = &[
    F(Img::Kernel, "__psynch_cvwait", 8),
    F(Img::Pthread, "_pthread_cond_wait", 984),
    F(Img::PyFw, "PyThread_acquire_lock_timed", 396),
    F(Img::PyFw, "lock_PyThread_acquire_lock", 276),
    F(Img::PyFw, "method_vectorcall_VARARGS_KEYWORDS", 152),
    F(Img::PyFw, "_PyEval_EvalFrameDefault", 25608),
    F(Img::PyFw, "PyEval_EvalCode", 184),
    F(Img::PyFw, "run_eval_code_obj", 88),
    F(Img::PyFw, "run_mod", 124),
    F(Img::PyFw, "_PyRun_SimpleFileObject", 876),
    F(Img::PyFw, "_PyRun_AnyFileObject", 112),
    F(Img::PyFw, "pymain_run_python", 1304),
    F(Img::PyFw, "Py_RunMain", 24),
    F(Img::PyFw, "pymain_main", 52),
    F(Img::PyFw, "Py_BytesMain", 40),
    F(Img::PyApp, "main", 24),
    F(Img::Dyld, "start", 6076),
];

pub(crate) const GIL_WAIT: &[F] = &[
    F(Img::Kernel, "__psynch_cvwait", 8),
    F(Img::Pthread, "_pthread_cond_wait", 984),
    F(Img::PyFw, "take_gil", 224),
    F(Img::PyFw, "PyEval_RestoreThread", 28),
    F(
        Img::TorchPy,
        "torch::autograd::THPVariable_mul(_object*, _object*, _object*)",
        536,
    ),
];

pub(crate) const WAIT_COMPLETED: &[F] = &[
    F(Img::Kernel, "__psynch_cvwait", 8),
    F(Img::Pthread, "_pthread_cond_wait", 984),
    F(Img::Metal, "-[_MTLCommandBuffer waitUntilCompleted]", 76),
    F(Img::Torch, "at::mps::MPSStream::commitAndWait()", 96),
    F(
        Img::Torch,
        "invocation function for block in at::mps::MPSStream::synchronize(at::mps::SyncType)",
        152,
    ),
    F(Img::LibDispatch, "_dispatch_client_callout", 16),
    F(
        Img::LibDispatch,
        "_dispatch_lane_barrier_sync_invoke_and_complete",
        56,
    ),
    F(
        Img::Torch,
        "at::native::mps::dispatch_sync_with_rethrow(dispatch_queue_s*, void () block_pointer)",
        128,
    ),
    F(
        Img::Torch,
        "at::mps::MPSStream::synchronize(at::mps::SyncType)",
        180,
    ),
    F(
        Img::TorchPy,
        "torch::mps::_mps_deviceSynchronize(_object*, _object*)",
        48,
    ),
];

pub(crate) const COMPLETION_QUEUE: &[F] = &[
    F(Img::Kernel, "__psynch_mutexwait", 8),
    F(Img::Pthread, "_pthread_mutex_firstfit_lock_wait", 84),
    F(Img::Pthread, "_pthread_mutex_firstfit_lock_slow", 220),
    F(Img::LibCxx, "std::__1::mutex::lock()", 16),
    F(
        Img::Torch,
        "invocation function for block in at::mps::HeapAllocator::MPSHeapAllocatorImpl::free_buffer(at::mps::HeapAllocator::BufferBlock*)",
        60,
    ),
    F(
        Img::Metal,
        "-[_MTLCommandBuffer didCompleteWithStartTime:endTime:error:]",
        584,
    ),
    F(
        Img::IoGpu,
        "-[IOGPUMetalCommandBuffer didCompleteWithStartTime:endTime:error:]",
        220,
    ),
    F(
        Img::Metal,
        "-[_MTLCommandQueue commandBufferDidComplete:startTime:completionTime:error:]",
        108,
    ),
    F(
        Img::IoGpu,
        "IOGPUNotificationQueueDispatchAvailableCompletionNotifications",
        128,
    ),
    F(
        Img::IoGpu,
        "__IOGPUNotificationQueueSetDispatchQueue_block_invoke",
        64,
    ),
    F(Img::LibDispatch, "_dispatch_client_callout4", 16),
    F(Img::LibDispatch, "_dispatch_mach_msg_invoke", 468),
    F(Img::LibDispatch, "_dispatch_lane_serial_drain", 368),
    F(Img::LibDispatch, "_dispatch_mach_invoke", 444),
    F(Img::LibDispatch, "_dispatch_lane_serial_drain", 368),
    F(Img::LibDispatch, "_dispatch_lane_invoke", 380),
    F(Img::LibDispatch, "_dispatch_root_queue_drain_deferred_wlh", 288),
    F(Img::LibDispatch, "_dispatch_workloop_worker_thread", 540),
    F(Img::Pthread, "_pthread_wqthread", 288),
    F(Img::Pthread, "start_wqthread", 8),
];

pub(crate) const IDLE_WQ: &[F] = &[
    F(Img::Kernel, "__workq_kernreturn", 8),
    F(Img::Pthread, "_pthread_wqthread", 364),
    F(Img::Pthread, "start_wqthread", 8),
];

/// Which libtorch_cpu frames lose their names (a stripped wheel, a partial symbolication).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unsym {
    None,
    /// libtorch_cpu frames after the first three keep only their offsets.
    Deep,
    /// Every libtorch_cpu frame keeps only its offset.
    All,
}

pub(crate) fn apply_unsym(frames: &mut [(Img, Option<String>, u64)], mode: Unsym) {
    let mut seen = 0;
    for f in frames.iter_mut() {
        if f.0 != Img::Torch {
            continue;
        }
        seen += 1;
        let strip = match mode {
            Unsym::None => false,
            Unsym::Deep => seen > 3,
            Unsym::All => true,
        };
        if strip {
            f.1 = None;
        }
    }
}

/// Everything a crash needs before assembly.
pub(crate) struct CrashInput {
    pub(crate) machine: Machine,
    pub(crate) process: Proc,
    /// Images loaded outside the shared cache, in load order (main executable first).
    pub(crate) loaded: Vec<Img>,
    pub(crate) fix: Option<String>,
    pub(crate) threads: Vec<ThreadPlan>,
    pub(crate) crashed: usize,
    pub(crate) fault: Fault,
    pub(crate) capture: Local,
    pub(crate) launch: Local,
    pub(crate) written_delay: i64,
    pub(crate) label: String,
    /// A register to annotate with a symbol (`OBJC_CLASS_$_...`), by image.
    pub(crate) annotate: Option<(Img, String)>,
}

pub(crate) fn assemble(input: CrashInput, rng: &mut Rng) -> Crash {
    let m = input.machine;
    let fix = input.fix.as_deref();
    // usedImages: loaded images first, then shared-cache images in order of first reference.
    let mut order: Vec<Img> = input.loaded.clone();
    for t in &input.threads {
        for f in &t.frames {
            if !order.contains(&f.0) {
                order.push(f.0);
            }
        }
    }
    let mut next_base = 0x1_0000_0000 + rng.range(0x100, 0x3ff) * 0x4000;
    let mut images: Vec<ImageOut> = Vec::new();
    for img in &order {
        let spec = image_spec(*img, &m, fix);
        let base = if spec.in_cache {
            cache_image_base(*img, &m)
        } else {
            let b = next_base;
            next_base = page_up(b + spec.size) + rng.range(0, 24) * 0x4000;
            b
        };
        images.push(ImageOut { spec, base });
    }
    let index_of = |img: Img| order.iter().position(|x| *x == img).unwrap_or(0);

    let mut thread_id = 0x6a_0000 + rng.range(0, 0x3f_ffff);
    let mut threads = Vec::new();
    for (ti, plan) in input.threads.iter().enumerate() {
        let frames: Vec<FrameOut> = plan
            .frames
            .iter()
            .map(|(img, sym, loc)| {
                let i = index_of(*img);
                let spec = &images[i].spec;
                let key = sym.clone().unwrap_or_default();
                // Unsymbolicated frames keep the offset they would have had with a name.
                let start = func_start(spec, &key);
                FrameOut {
                    image: i,
                    offset: start + loc,
                    symbol: sym.clone(),
                    location: *loc,
                }
            })
            .collect();
        let addr = |k: usize| -> u64 {
            frames
                .get(k)
                .map(|f| images[f.image].base + f.offset)
                .unwrap_or(0)
        };
        let pc = addr(0);
        let lr = addr(1);
        let sp = (0x1_6b00_0000 + (ti as u64) * 0x8_0000 + rng.range(0x1000, 0x7_0000)) & !0xf;
        let mut x: Vec<(u64, Option<String>)> = (0..29)
            .map(|r| {
                let v = match rng.range(0, 5) {
                    0 => 0,
                    1 => rng.range(1, 0x400),
                    2 => 0x6000_0000_0000 + (rng.range(0, 0xff_ffff) << 4),
                    3 => (sp + rng.range(0x10, 0x400)) & !0x7,
                    _ => rng.next_u64() >> (r % 3 * 8),
                };
                (v, None)
            })
            .collect();
        let crashed = ti == input.crashed;
        let (far, esr) = if crashed {
            match input.fault {
                Fault::NullRead(a) => {
                    (a, (0x9200_0006, "(Data Abort) byte read Translation fault"))
                }
                Fault::NullWrite(a) => (
                    a,
                    (0x9200_0046, "(Data Abort) byte write Translation fault"),
                ),
                Fault::Wild(a) => (a, (0x9200_0004, "(Data Abort) byte read Translation fault")),
                Fault::Pac(a, _) => (a, (0x9200_0004, "(Data Abort) byte read Translation fault")),
                Fault::Abort(..) => (0, (0x5600_0080, "(Syscall)")),
            }
        } else {
            (0, (0x5600_0080, "(Syscall)"))
        };
        if crashed {
            match input.fault {
                // `_impl` was NULL: the base register of the faulting load is zero.
                Fault::NullRead(_) | Fault::NullWrite(_) => {
                    x[8] = (0, None);
                }
                Fault::Wild(a) | Fault::Pac(a, _) => {
                    x[0] = (0x6000_0000_0000 + (rng.range(0, 0xff_ffff) << 4), None);
                    x[16] = (a, None);
                }
                Fault::Abort(..) => {
                    x[0] = (0, None);
                    x[1] = (0, None);
                    x[2] = (0, None);
                    x[16] = (328, None);
                }
            }
            if let Some((img, sym)) = &input.annotate {
                let i = index_of(*img);
                let value = images[i].base
                    + page_up(images[i].spec.size)
                    + 0x2_4000
                    + rng.range(0, 0x800) * 8;
                x[20] = (value, Some(sym.clone()));
            }
        }
        threads.push(ThreadOut {
            id: thread_id,
            name: plan.name.clone(),
            queue: plan.queue.clone(),
            frames,
            x,
            fp: sp + 0x60 + rng.range(0, 0x40) * 0x10,
            lr,
            sp,
            pc,
            cpsr: if crashed { 0x8000_1000 } else { 0x6000_0000 },
            far,
            esr,
        });
        thread_id += rng.range(3, 400);
    }

    let (exc_type, signal, codes, subtype, termination, vm_region, asi) = match input.fault {
        Fault::NullRead(a) | Fault::NullWrite(a) | Fault::Wild(a) => (
            "EXC_BAD_ACCESS",
            "SIGSEGV",
            (1, a),
            Some(format!("KERN_INVALID_ADDRESS at 0x{a:016x}")),
            (11, "Segmentation fault: 11", "exc handler".to_string()),
            Some(vm_region_info(a, &images)),
            None,
        ),
        Fault::Pac(signed, stripped) => (
            "EXC_BAD_ACCESS",
            "SIGSEGV",
            (1, signed),
            Some(format!(
                "KERN_INVALID_ADDRESS at 0x{signed:016x} -> 0x{stripped:016x} (possible pointer authentication failure)"
            )),
            (11, "Segmentation fault: 11", "exc handler".to_string()),
            Some(vm_region_info(stripped, &images)),
            None,
        ),
        Fault::Abort(lib, msg) => (
            "EXC_CRASH",
            "SIGABRT",
            (0, 0),
            None,
            (6, "Abort trap: 6", input.process.name.clone()),
            None,
            Some((lib.to_string(), family_symbol(msg, &m))),
        ),
    };
    Crash {
        machine: m,
        incident: upper_uuid(&format!("incident/{}", input.label)),
        capture: input.capture,
        written: input.capture + secs(input.written_delay),
        launch: input.launch,
        exc_type,
        signal,
        codes,
        subtype,
        termination,
        asi,
        vm_region,
        crashed: input.crashed,
        threads,
        images,
        null_image: true,
        label: input.label,
        process: input.process,
    }
}

/// `16K`, `4.7M`: the VSIZE column of region listings.
pub(crate) fn vsize(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{}K", bytes / 1024)
    } else {
        format!("{:.1}M", bytes as f64 / (1024.0 * 1024.0))
    }
}

pub(crate) const REGION_HEADER: &str =
    "      REGION TYPE                    START - END         [ VSIZE] PRT/MAX SHRMOD  REGION DETAIL";

pub(crate) fn vm_region_info(addr: u64, images: &[ImageOut]) -> String {
    if addr < 0x1_0000_0000 {
        let first = &images[0];
        return format!(
            "0x{addr:x} is not in any region.  Bytes before following region: {}\n{REGION_HEADER}\n      UNUSED SPACE AT START\n--->  \n      __TEXT                      {:x}-{:x}    [{:>6}] r-x/r-x SM=COW  {}",
            first.base - addr,
            first.base,
            first.base + page_up(first.spec.size),
            vsize(page_up(first.spec.size)),
            first.spec.path
        );
    }
    let nano = "MALLOC_NANO                 600000000000-600020000000 [512.0M] rw-/rwx SM=PRV  ";
    if addr < 0x6000_0000_0000 {
        format!(
            "0x{addr:x} is not in any region.  Bytes after previous region: {}  Bytes before following region: {}\n{REGION_HEADER}\n      commpage (reserved)        fc0000000-1000000000   [  1.0G] ---/--- SM=NUL  reserved VM address space (unallocated)\n--->  \n      {nano}",
            addr - 0x10_0000_0000,
            0x6000_0000_0000 - addr
        )
    } else {
        format!(
            "0x{addr:x} is not in any region.  Bytes after previous region: {}  \n{REGION_HEADER}\n      {nano}\n--->  \n      UNUSED SPACE AT END",
            addr - 0x6000_2000_0000
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering: .ips
// ---------------------------------------------------------------------------------------------

pub(crate) fn uptime_secs(r: &Crash) -> i64 {
    (r.capture - r.machine.boot_time()).num_seconds()
}

/// Apple rounds `uptime` coarsely.
pub(crate) fn rounded_uptime(r: &Crash) -> u64 {
    let up = uptime_secs(r).max(0) as u64;
    if up > 10_000 {
        up / 1000 * 1000
    } else {
        up / 100 * 100
    }
}

pub(crate) fn abs_time(r: &Crash, t: &Local) -> u64 {
    // Mach absolute time ticks at 24 MHz on Apple silicon.
    let since = *t - r.machine.boot_time();
    (since.num_milliseconds().max(0) as u64) * 24_000
}

pub(crate) fn vm_summary(r: &Crash) -> String {
    let h = hash(&r.label);
    let malloc = 180 + h % 900;
    let stack = 8 + h % 7;
    format!(
        "ReadOnly portion of Libraries: Total=1.4G resident=0K(0%) swapped_out_or_unallocated=1.4G(100%)\nWritable regions: Total={:.1}G written=1129K(0%) resident=1129K(0%) swapped_out=0K(0%) unallocated={:.1}G(100%)\n\n                                VIRTUAL   REGION \nREGION TYPE                        SIZE    COUNT (non-coalesced) \n===========                     =======  ======= \nActivity Tracing                   256K        1 \nIOAccelerator                     {malloc:>4}.0M     {:>4} \nKernel Alloc Once                   32K        1 \nMALLOC                             2.4G      117 \nMALLOC guard page                  288K       18 \nSTACK GUARD                       56.3M       {stack:>2} \nStack                             {:>4}.1M       {stack:>2} \n__AUTH                            1163K      247 \n__AUTH_CONST                      14.6M      452 \n__DATA                            12.9M      455 \n__DATA_CONST                      18.5M      474 \n__DATA_DIRTY                       978K      160 \n__LINKEDIT                       668.6M       12 \n__OBJC_RO                         61.3M        1 \n__OBJC_RW                         2391K        1 \n__TEXT                           777.3M      486 \ndyld private memory                128K        1 \nshared memory                      720K        9 \n===========                     =======  ======= \nTOTAL                              3.8G     2543 \n",
        2.1 + (h % 40) as f64 / 10.0,
        2.1 + (h % 40) as f64 / 10.0,
        malloc / 60 + 1,
        stack * 8,
    )
}

// ---------------------------------------------------------------------------------------------
// Rendering: every format through agx-synth
// ---------------------------------------------------------------------------------------------

pub(crate) fn synth_bundle(b: &Option<(String, String, String)>) -> Option<Bundle> {
    b.as_ref()
        .map(|(id, short, ver)| Bundle::new(id, short, ver))
}

pub(crate) fn synth_frame(f: &FrameOut) -> Frame {
    Frame {
        image: f.image,
        offset: f.offset,
        symbol: f.symbol.clone(),
        location: f.location,
        source: None,
    }
}

/// The report as agx-synth writes it: times formatted, keys and counters derived from the
/// machine and the report's label.
pub(crate) fn synth(r: &Crash) -> SynthReport {
    let p = &r.process;
    let m = &r.machine;
    let main = &r.images[0].spec;
    let key = |k: &str| upper_uuid(&format!("{}/{k}", m.label));
    let threads = r
        .threads
        .iter()
        .map(|t| Thread {
            id: t.id,
            name: t.name.clone(),
            queue: t.queue.clone(),
            state: Some(ThreadState {
                x: t.x
                    .iter()
                    .map(|(value, symbol)| Register {
                        value: *value,
                        symbol: symbol.clone(),
                    })
                    .collect(),
                fp: t.fp,
                lr: t.lr,
                sp: t.sp,
                pc: t.pc,
                cpsr: t.cpsr,
                far: t.far,
                esr: (t.esr.0, t.esr.1.to_string()),
            }),
            frames: t.frames.iter().map(synth_frame).collect(),
        })
        .collect();
    let images = r
        .images
        .iter()
        .map(|img| Image {
            name: img.spec.name.clone(),
            path: img.spec.path.clone(),
            uuid: img.spec.uuid.clone(),
            base: img.base,
            size: img.spec.size,
            arch: img.spec.arch.to_string(),
            source: "P".to_string(),
            bundle: synth_bundle(&img.spec.bundle),
        })
        .collect();
    let process = SynthProcess {
        name: p.name.clone(),
        path: main.path.clone(),
        pid: p.pid,
        bundle_id: p.bundle_id.clone(),
        bundle: synth_bundle(&main.bundle),
        app_version: p.app_version.clone(),
        build_version: p.build_version.clone(),
        parent: p.parent.clone(),
        responsible: p.responsible.clone(),
        role: p.role.to_string(),
        user_id: 501,
        coalition_id: 2000 + hash(&p.coalition) % 9000,
        coalition_name: p.coalition.clone(),
        signing_id: p.signing_id.clone(),
        team_id: p.team_id.clone(),
        launch: fmt_capture(&r.launch),
        start_abs_time: abs_time(r, &r.launch),
        exit_abs_time: abs_time(r, &r.capture),
    };
    SynthReport {
        incident: r.incident.clone(),
        timestamp: fmt_header(&r.written),
        capture_time: fmt_capture(&r.capture),
        os: Os::new(OS_TRAIN, OS_BUILD),
        hardware: Hardware::new(m.model, m.chip, m.memory),
        process,
        exception: Exception {
            exc_type: r.exc_type.to_string(),
            signal: r.signal.to_string(),
            codes: r.codes,
            subtype: r.subtype.clone(),
            message: None,
        },
        termination: Termination::signal(r.termination.0, r.termination.1).by(&r.termination.2),
        asi: r.asi.clone().map(|(lib, msg)| (lib, vec![msg])),
        vm_region_info: r.vm_region.clone(),
        last_exception_backtrace: None,
        faulting_thread: r.crashed,
        threads,
        images,
        absolute_null_image: r.null_image,
        shared_cache: Some(SharedCache {
            base: m.cache_base(),
            size: 5_025_398_784,
            uuid: image_uuid(&format!("{OS_BUILD}/shared-cache")),
        }),
        vm_summary: Some(vm_summary(r)),
        system: System {
            uptime: rounded_uptime(r),
            wake_time: 3000 + hash(&r.label) % 4000,
            time_since_wake: 1500 + hash(&r.label) % 3000,
            crash_reporter_key: key("crash-reporter-key"),
            anonymous_uuid: key("anonymous"),
            boot_session_uuid: key("boot-session"),
            sleep_wake_uuid: key("sleep-wake"),
            log_writing_signature: hex40(&r.label),
            task_for_pid: 12 + hash(&r.label) % 40,
        },
    }
}

/// The crash as an `.ips` file.
pub fn render_ips(r: &Crash) -> String {
    synth(r).build_ips()
}

/// The crash as legacy `.crash` text.
pub fn render_legacy(r: &Crash) -> String {
    synth(r).build_legacy()
}

/// The crash as the crash dialog's copy (legacy text, then the `.ips`).
pub fn render_translated(r: &Crash) -> String {
    synth(r).build_translated()
}
