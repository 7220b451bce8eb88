//! Building the model: a read header and body become one [`CrashReport`], with absolute frame
//! addresses, the fault address and the crashed thread's registers.

use chrono::{DateTime, Utc};

use super::kind_of_bug_type;
use super::lenient::{List, Obj, Warnings};
use super::shape::{
    version_string, warn_bits, Doc, FramesIn, ImagesIn, StateJ, ThreadJ, FRAME_FIELDS,
};
use crate::crash::model::{
    CrashReport, ExceptionInfo, Frame, Image, OsInfo, ProcessInfo, Register, RegisterState,
    ReportKind, SourceFormat, Termination, Thread,
};
use crate::crash::{fault_from_subtype, parse_report_time, ThreadFrames};

pub(super) fn build(
    header: Option<&Doc<'_>>,
    mut body: Option<&mut Doc<'_>>,
    format: SourceFormat,
    depth: ThreadFrames,
    w: &mut Warnings,
) -> CrashReport {
    // The big arrays are moved out, to be moved (not copied) into the report.
    let arrays = body.as_deref_mut().map(|b| Arrays {
        threads: std::mem::take(&mut b.threads),
        images: std::mem::take(&mut b.used_images),
        last_exception_backtrace: std::mem::take(&mut b.last_exception_backtrace),
    });
    let body = body.as_deref();
    // A crash body repeats the header's `bug_type` ("309" in both). When they disagree the
    // header wins, but silently trusting it could file a crash under "other": say so.
    let header_bug_type = header.and_then(|h| h.bug_type.text(w, "header.bug_type"));
    let body_bug_type = body.and_then(|b| b.bug_type.text(w, "bug_type"));
    if let (Some(h), Some(b)) = (&header_bug_type, &body_bug_type) {
        if h.trim() != b.trim() {
            w.push(format!(
                "the header's bug_type {h:?} and the body's {b:?} disagree; the header's is used"
            ));
        }
    }
    let bug_type = header_bug_type.or(body_bug_type);

    let gpu_hint = [header, body].into_iter().flatten().any(|d| {
        [&d.name, &d.app_name]
            .iter()
            .filter_map(|s| s.as_str())
            .any(|n| n.to_ascii_lowercase().starts_with("gpuevent"))
    }) || body.is_some_and(|b| {
        matches!(&b.analysis, Obj::Ok(a) if a.restart_reason.is_present() || a.restart_reason_desc.is_present())
    });
    let crash_body = body
        .is_some_and(|b| b.proc_name.is_present() || !matches!(b.exception, Obj::Absent))
        || arrays.as_ref().is_some_and(|a| a.threads.is_present());
    // What only a crash report has: an exception and the threads' stacks. A panic, jetsam or
    // stackshot body has neither, so a body with both under another `bug_type` (e.g. a header
    // edited to "210" over a 309 body) is a crash: filing it as "other" would hide it from
    // buckets and comparisons.
    let crash_shaped = body.is_some_and(|b| !matches!(b.exception, Obj::Absent))
        && arrays.as_ref().is_some_and(|a| a.threads.is_present());
    let kind = match bug_type.as_deref().and_then(kind_of_bug_type) {
        Some(ReportKind::Crash) => ReportKind::Crash,
        _ if gpu_hint => ReportKind::GpuEvent,
        Some(k) if crash_shaped => {
            w.push(format!(
                "bug_type {:?} stands for {} reports, but the body has an exception and threads: \
                 read as a crash",
                bug_type.as_deref().unwrap_or_default(),
                k.as_str()
            ));
            ReportKind::Crash
        }
        Some(k) => k,
        None if crash_body => ReportKind::Crash,
        None => ReportKind::Other,
    };

    let mut r = CrashReport::empty(kind, format);
    r.bug_type = bug_type;
    r.incident_id = header
        .and_then(|h| h.incident_id.text(w, "header.incident_id"))
        .or_else(|| body.and_then(|b| b.incident.text(w, "incident")))
        .or_else(|| body.and_then(|b| b.incident_id.text(w, "incident_id")));

    // Process.
    let mut p = ProcessInfo {
        name: body
            .and_then(|b| b.proc_name.text(w, "procName"))
            .or_else(|| body.and_then(|b| b.process_name.text(w, "process_name")))
            .or_else(|| header.and_then(|h| h.name.text(w, "header.name")))
            .or_else(|| header.and_then(|h| h.app_name.text(w, "header.app_name"))),
        ..ProcessInfo::default()
    };
    if let Some(b) = body {
        p.path = b.proc_path.text(w, "procPath");
        p.pid = b.pid.i64(w, "pid");
        p.parent_name = b.parent_proc.text(w, "parentProc");
        p.parent_pid = b.parent_pid.i64(w, "parentPid");
        p.responsible = b.responsible_proc.text(w, "responsibleProc");
        p.user_id = b.user_id.i64(w, "userID");
        if let Some(bi) = b.bundle_info.get(w, "bundleInfo") {
            p.bundle_id = bi.id.text(w, "bundleInfo.CFBundleIdentifier");
            p.bundle_version = version_string(
                bi.short_version
                    .text(w, "bundleInfo.CFBundleShortVersionString"),
                bi.version.text(w, "bundleInfo.CFBundleVersion"),
            );
        }
    }
    if let Some(h) = header {
        if p.bundle_id.is_none() {
            p.bundle_id = h.bundle_id.text(w, "header.bundleID");
        }
        if p.bundle_version.is_none() {
            p.bundle_version = version_string(
                h.app_version.text(w, "header.app_version"),
                h.build_version.text(w, "header.build_version"),
            );
        }
    }
    r.process = p;

    // Time: captureTime (body), else the header's timestamp, else a panic's `date`, else a GPU
    // event body's Unix `timestamp`.
    let raw_time = body
        .and_then(|b| b.capture_time.text(w, "captureTime"))
        .or_else(|| header.and_then(|h| h.timestamp.text(w, "header.timestamp")))
        .or_else(|| body.and_then(|b| b.date.text(w, "date")));
    match raw_time {
        Some(raw) => {
            r.captured_at = parse_report_time(&raw);
            if r.captured_at.is_none() {
                w.push(format!("capture time `{raw}` not understood"));
            }
            r.captured_at_raw = Some(raw);
        }
        None => {
            if let Some(b) = body {
                if let Some(secs) = b.timestamp.i64(w, "timestamp") {
                    r.captured_at = DateTime::<Utc>::from_timestamp(secs, 0);
                    r.captured_at_raw = Some(secs.to_string());
                }
            }
        }
    }

    // Operating system.
    let mut os = OsInfo {
        version: header
            .and_then(|h| h.os_version.text(w, "header.os_version"))
            .or_else(|| body.and_then(|b| b.os_version.text(w, "os_version"))),
        ..OsInfo::default()
    };
    if let Some(ov) = body.and_then(|b| b.os_version_body.get(w, "osVersion")) {
        os.train = ov.train.text(w, "osVersion.train");
        os.build = ov.build.text(w, "osVersion.build");
    }
    if os.version.is_none() {
        os.version = match (&os.train, &os.build) {
            (Some(t), Some(b)) => Some(format!("{t} ({b})")),
            (Some(t), None) => Some(t.clone()),
            _ => body.and_then(|b| b.build.text(w, "build")),
        };
    }
    r.os = os;

    if let Some(b) = body {
        r.hardware_model = b
            .model_code
            .text(w, "modelCode")
            .or_else(|| b.product.text(w, "product"));
        r.cpu_type = b.cpu_type.text(w, "cpuType");
        r.translated = b.translated.bool(w, "translated");
        fill_body(&mut r, b, arrays.unwrap_or_default(), depth, w);
        if b.is_corpse.bool(w, "isCorpse") == Some(true) {
            r.exception.note = Some("EXC_CORPSE_NOTIFY".into());
        }
    }

    r.warnings = std::mem::take(w).into_vec();
    r
}

/// The arrays of a body, moved out of it.
#[derive(Default)]
struct Arrays<'a> {
    threads: List<Obj<ThreadJ<'a>>>,
    images: ImagesIn,
    last_exception_backtrace: FramesIn<'a>,
}

/// Exception, termination, threads, images, registers: what only a JSON body holds.
fn fill_body(
    r: &mut CrashReport,
    b: &Doc<'_>,
    arrays: Arrays<'_>,
    depth: ThreadFrames,
    w: &mut Warnings,
) {
    if let Some(e) = b.exception.get(w, "exception") {
        r.exception = ExceptionInfo {
            exc_type: e.kind.text(w, "exception.type"),
            signal: e.signal.text(w, "exception.signal"),
            codes: e.codes.text(w, "exception.codes"),
            subtype: e.subtype.text(w, "exception.subtype"),
            message: e.message.text(w, "exception.message"),
            ..ExceptionInfo::default()
        };
    }
    if r.exception.message.is_none() {
        // Panics: the first line of the panic text; GPU events: the restart reason.
        let panic = b
            .panic_string
            .text(w, "panicString")
            .or_else(|| b.panic_text.text(w, "string"));
        r.exception.message = panic
            .and_then(|s| {
                s.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(String::from)
            })
            .or_else(|| {
                b.analysis.get(w, "analysis").and_then(|a| {
                    a.restart_reason_desc
                        .text(w, "analysis.restart_reason_desc")
                })
            });
    }
    if let Some(t) = b.termination.get(w, "termination") {
        r.termination = Some(Termination {
            namespace: t.namespace.text(w, "termination.namespace"),
            code: t.code.i64(w, "termination.code"),
            indicator: t.indicator.text(w, "termination.indicator"),
            by_process: t.by_proc.text(w, "termination.byProc"),
        });
    }
    if let Some(asi) = b.asi.get(w, "asi") {
        r.asi = asi
            .messages
            .iter()
            .filter_map(|m| m.text(w, "asi[]"))
            .collect();
    }

    r.images = arrays.images.finish(w);

    let faulting = b.faulting_thread.usize(w, "faultingThread");
    let threads_j = arrays.threads.into_vec(w, "threads");
    // The crashed thread: `faultingThread` when it is in range, else the first `triggered`
    // one. Decided before any frame is built, so that with `ThreadFrames::Crashed` only its
    // frames become model frames; every thread's frames are still checked the same way, so
    // the warnings are the same at either depth (the out-of-range warning comes after the
    // threads' own, as it always has).
    let keep_all = depth == ThreadFrames::All;
    let crashed = match faulting {
        Some(i) if i < threads_j.len() => Some(i),
        _ => threads_j
            .iter()
            .position(|t| matches!(t, Obj::Ok(t) if t.triggered.to_bool() == Some(true))),
    };
    let mut states: Vec<Option<&str>> = Vec::with_capacity(threads_j.len());
    r.threads = Vec::with_capacity(threads_j.len());
    for (index, t) in threads_j.into_iter().enumerate() {
        let thread = match t {
            Obj::Ok(t) => {
                states.push(t.thread_state);
                let keep = keep_all || crashed == Some(index);
                Thread {
                    index,
                    id: t.id.u64(w, "threads[].id"),
                    name: t.name.text(w, "threads[].name"),
                    queue: t.queue.text(w, "threads[].queue"),
                    crashed: t.triggered.bool(w, "threads[].triggered").unwrap_or(false),
                    frames: frames(t.frames, &r.images, w, "threads[].frames", keep),
                }
            }
            other => {
                if let Obj::Odd(k) = other {
                    w.odd("threads[]", k);
                }
                states.push(None);
                Thread {
                    index,
                    ..Thread::default()
                }
            }
        };
        r.threads.push(thread);
    }
    if let Some(i) = faulting.filter(|&i| i >= r.threads.len()) {
        w.push(format!(
            "faultingThread {i} is out of range ({} threads)",
            r.threads.len()
        ));
    }
    r.crashed_thread = crashed;
    if let Some(i) = r.crashed_thread {
        if let Some(t) = r.threads.get_mut(i) {
            t.crashed = true;
        }
        if let Some(raw) = states.get(i).copied().flatten() {
            r.registers = registers(raw, w);
        }
    }

    r.last_exception_backtrace = frames(
        arrays.last_exception_backtrace,
        &r.images,
        w,
        "lastExceptionBacktrace",
        true,
    );

    fill_fault_address(r);
}

/// The fault address: from the subtype (`KERN_INVALID_ADDRESS at 0x...`), else, for
/// `EXC_BAD_ACCESS` only, from the crashed thread's `far` (arm64) or `cr2` (x86) register.
/// Never from `codes` (for `EXC_CRASH`/`EXC_BREAKPOINT` they are not addresses).
fn fill_fault_address(r: &mut CrashReport) {
    if let Some(sub) = &r.exception.subtype {
        let (addr, stripped, pac) = fault_from_subtype(sub);
        r.exception.fault_address = addr;
        r.exception.fault_address_stripped = stripped;
        r.exception.pointer_auth_failure = pac;
    }
    if r.exception.fault_address.is_none()
        && r.exception.exc_type.as_deref() == Some("EXC_BAD_ACCESS")
    {
        r.exception.fault_address = r
            .registers
            .as_ref()
            .and_then(|regs| regs.get("far").or_else(|| regs.get("cr2")));
    }
}

/// The frames of a list, with their absolute address (`usedImages[imageIndex].base +
/// imageOffset`) where computable; without `keep`, only their warnings (the same ones) and no
/// frames.
fn frames(
    list: FramesIn<'_>,
    images: &[Image],
    w: &mut Warnings,
    path: &str,
    keep: bool,
) -> Vec<Frame> {
    if let Some(k) = list.not_array {
        w.odd(path, k);
    }
    if list.odd_items > 0 {
        w.push(format!(
            "{} entries of `{path}` are not objects; ignored",
            list.odd_items
        ));
    }
    if list.odd != 0 {
        warn_bits(list.odd.into(), &FRAME_FIELDS, "frames[]", w);
    }
    if !keep {
        for i in list.frames.iter().filter_map(|f| f.image_index) {
            if i >= images.len() {
                out_of_range(i, images, w);
            }
        }
        return Vec::new();
    }
    let mut frames = Vec::with_capacity(list.frames.len());
    for frame in list.frames {
        let mut frame = frame.into_frame();
        if let Some(i) = frame.image_index {
            match images.get(i) {
                Some(im) => {
                    frame.address = match (im.base, frame.image_offset) {
                        (Some(base), Some(off)) => base.checked_add(off),
                        _ => None,
                    }
                }
                None => {
                    out_of_range(i, images, w);
                    frame.image_index = None;
                }
            }
        }
        frames.push(frame);
    }
    frames
}

fn out_of_range(i: usize, images: &[Image], w: &mut Warnings) {
    w.push(format!(
        "`frames[].imageIndex` {i} is out of range ({} images)",
        images.len()
    ));
}

/// Order registers the way the text form lists them: x0..x28 then fp lr sp pc cpsr far esr;
/// x86 rax..r15 rip rflags cr2; anything else after, in report order.
fn register_rank(name: &str) -> usize {
    const NAMED: &[&str] = &[
        "fp", "lr", "sp", "pc", "cpsr", "far", "esr", "rax", "rbx", "rcx", "rdx", "rdi", "rsi",
        "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags", "cr2",
        "eax", "ebx", "ecx", "edx", "edi", "esi", "ebp", "esp", "eip", "eflags",
    ];
    if let Some(n) = name.strip_prefix('x').and_then(|d| d.parse::<usize>().ok()) {
        return n;
    }
    match NAMED.iter().position(|n| *n == name) {
        Some(p) => 100 + p,
        None => 1000,
    }
}

fn registers(raw: &str, w: &mut Warnings) -> Option<RegisterState> {
    let state: Obj<StateJ<'_>> = match serde_json::from_str(raw) {
        Ok(s) => s,
        Err(e) => {
            w.push(format!("crashed thread's threadState unreadable: {e}"));
            return None;
        }
    };
    let state = state.get(w, "threads[].threadState")?;
    if state.odd > 0 {
        w.push(format!(
            "{} register entries of the crashed thread have an unexpected shape; ignored",
            state.odd
        ));
    }
    let mut regs: Vec<Register> = state
        .regs
        .iter()
        .filter_map(|(name, r)| {
            let value = r.value.u64(w, "threadState.*.value")?;
            Some(Register {
                name: name.to_string(),
                value,
                symbol: r.symbol.text(w, "threadState.*.symbol"),
            })
        })
        .collect();
    // Cached: a rank costs a parse and up to 36 string compares, and a sort asks for it
    // O(n log n) times (stable either way: unknown names keep report order).
    regs.sort_by_cached_key(|r| register_rank(&r.name));
    Some(RegisterState {
        flavor: state.flavor.text(w, "threadState.flavor"),
        registers: regs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_order_follows_the_text_form() {
        let mut names = vec!["far", "x1", "pc", "rip", "x0", "weird", "fp", "rax"];
        names.sort_by_key(|n| register_rank(n));
        assert_eq!(
            names,
            ["x0", "x1", "fp", "pc", "far", "rax", "rip", "weird"]
        );
    }
}
