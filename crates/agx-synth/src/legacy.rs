//! The legacy `.crash` text writer (`Report Version: 12`, as macOS 15 still writes it for the
//! crash dialog's copy and `log show`-era tooling), and the dialog's translated copy.

use std::fmt::Write as _;

use crate::{Report, Thread};

fn thread_title(i: usize, t: &Thread, crashed: bool) -> String {
    let mark = if crashed { " Crashed" } else { "" };
    match (&t.name, &t.queue) {
        (Some(n), Some(q)) => format!("Thread {i}{mark}:: {n} Dispatch queue: {q}"),
        (Some(n), None) => format!("Thread {i}{mark}:: {n}"),
        (None, Some(q)) => format!("Thread {i}{mark}::  Dispatch queue: {q}"),
        (None, None) => format!("Thread {i}{mark}:"),
    }
}

pub(crate) fn render(r: &Report) -> String {
    let p = &r.process;
    let sys = &r.system;
    let mut o = String::new();
    let version = match &p.bundle {
        Some(b) => format!("{} ({})", b.short_version, b.version),
        None => "???".to_string(),
    };
    let ident = p
        .bundle
        .as_ref()
        .map(|b| b.id.clone())
        .unwrap_or_else(|| p.name.clone());
    let _ = writeln!(o, "Process:               {} [{}]", p.name, p.pid);
    let _ = writeln!(o, "Path:                  {}", p.path);
    let _ = writeln!(o, "Identifier:            {ident}");
    let _ = writeln!(o, "Version:               {version}");
    let _ = writeln!(o, "Code Type:             {} (Native)", r.hardware.cpu_type);
    let _ = writeln!(o, "Parent Process:        {} [{}]", p.parent.0, p.parent.1);
    let _ = writeln!(
        o,
        "Responsible:           {} [{}]",
        p.responsible.0, p.responsible.1
    );
    let _ = writeln!(o, "User ID:               {}\n", p.user_id);
    let _ = writeln!(o, "Date/Time:             {}", r.capture_time);
    let _ = writeln!(o, "OS Version:            {}", r.os.version());
    let _ = writeln!(o, "Report Version:        12");
    let _ = writeln!(o, "Anonymous UUID:        {}\n", sys.anonymous_uuid);
    let _ = writeln!(o, "Sleep/Wake UUID:       {}\n", sys.sleep_wake_uuid);
    let _ = writeln!(o, "Time Awake Since Boot: {} seconds", sys.uptime);
    let _ = writeln!(
        o,
        "Time Since Wake:       {} seconds\n",
        sys.time_since_wake
    );
    let _ = writeln!(o, "System Integrity Protection: enabled\n");
    let crashed = r.threads.get(r.faulting_thread);
    match crashed.and_then(|t| t.queue.as_ref()) {
        Some(q) => {
            let _ = writeln!(
                o,
                "Crashed Thread:        {}  Dispatch queue: {q}\n",
                r.faulting_thread
            );
        }
        None => {
            let _ = writeln!(o, "Crashed Thread:        {}\n", r.faulting_thread);
        }
    }
    let e = &r.exception;
    let _ = writeln!(o, "Exception Type:        {} ({})", e.exc_type, e.signal);
    if let Some(sub) = &e.subtype {
        let _ = writeln!(o, "Exception Codes:       {sub}");
    }
    let _ = writeln!(
        o,
        "Exception Codes:       0x{:016x}, 0x{:016x}\n",
        e.codes.0, e.codes.1
    );
    if let Some(m) = &e.message {
        let _ = writeln!(o, "Exception Message:     {m}\n");
    }
    let t = &r.termination;
    let _ = writeln!(
        o,
        "Termination Reason:    Namespace {}, Code {} {}",
        t.namespace, t.code, t.indicator
    );
    let _ = writeln!(o, "Terminating Process:   {} [{}]\n", t.by_proc, p.pid);
    if let Some(v) = &r.vm_region_info {
        let _ = writeln!(o, "VM Region Info: {v}\n");
    }
    if let Some((_, messages)) = &r.asi {
        let _ = writeln!(
            o,
            "Application Specific Information:\n{}\n\n",
            messages.join("\n")
        );
    }
    let frame_line = |o: &mut String, k: usize, f: &crate::Frame| {
        let (name, base) = r
            .images
            .get(f.image)
            .map(|img| (img.name.as_str(), img.base))
            .unwrap_or(("???", 0));
        let addr = format!("0x{:x}", base + f.offset);
        let mut what = match &f.symbol {
            Some(sym) => format!("{sym} + {}", f.location),
            None => format!("0x{base:x} + {}", f.offset),
        };
        if let Some((file, line)) = &f.source {
            let _ = write!(what, " ({file}:{line})");
        }
        let _ = writeln!(o, "{k:<4}{name:<30}\t{addr:>18} {what}");
    };
    if let Some(frames) = &r.last_exception_backtrace {
        o.push_str("Last Exception Backtrace:\n");
        for (k, f) in frames.iter().enumerate() {
            frame_line(&mut o, k, f);
        }
        o.push('\n');
    }
    for (i, t) in r.threads.iter().enumerate() {
        let _ = writeln!(o, "{}", thread_title(i, t, i == r.faulting_thread));
        for (k, f) in t.frames.iter().enumerate() {
            frame_line(&mut o, k, f);
        }
        o.push('\n');
    }
    if let Some(st) = crashed.and_then(|t| t.state.as_ref()) {
        let _ = writeln!(
            o,
            "\nThread {} crashed with ARM Thread State (64-bit):",
            r.faulting_thread
        );
        let reg = |name: &str, v: u64| format!("{name:>3}: 0x{v:016x}");
        let mut regs: Vec<String> =
            st.x.iter()
                .enumerate()
                .map(|(i, x)| reg(&format!("x{i}"), x.value))
                .collect();
        regs.push(reg("fp", st.fp));
        regs.push(reg("lr", st.lr));
        // Rows of four: x0..x27 in seven rows, then x28, fp and lr.
        for row in regs.chunks(4) {
            let _ = writeln!(o, "   {}", row.join("  "));
        }
        let _ = writeln!(
            o,
            "   {}  {} cpsr: 0x{:08x}",
            reg("sp", st.sp),
            reg("pc", st.pc),
            st.cpsr
        );
        let _ = writeln!(
            o,
            "   {}  esr: 0x{:08x} {}\n",
            reg("far", st.far),
            st.esr.0,
            st.esr.1
        );
    }
    let _ = writeln!(o, "Binary Images:");
    for img in &r.images {
        let (ident, ver) = match &img.bundle {
            Some(b) => (b.id.clone(), b.short_version.clone()),
            None => (img.name.clone(), "*".to_string()),
        };
        let _ = writeln!(
            o,
            "{:>18} - {:>18} {ident} ({ver}) <{}> {}",
            format!("0x{:x}", img.base),
            format!("0x{:x}", (img.base + img.size).saturating_sub(1)),
            img.uuid,
            img.path
        );
    }
    o.push_str("\nExternal Modification Summary:\n  Calls made by other processes targeting this process:\n    task_for_pid: 0\n    thread_create: 0\n    thread_set_state: 0\n  Calls made by this process:\n    task_for_pid: 0\n    thread_create: 0\n    thread_set_state: 0\n  Calls made by all processes on this machine:\n");
    let _ = writeln!(
        o,
        "    task_for_pid: {}\n    thread_create: 0\n    thread_set_state: 0\n",
        sys.task_for_pid
    );
    if let Some(v) = &r.vm_summary {
        o.push_str("VM Region Summary:\n");
        o.push_str(v);
    }
    o
}

pub(crate) fn render_translated(r: &Report) -> String {
    let mut o = String::from(
        "-------------------------------------\nTranslated Report (Full Report Below)\n-------------------------------------\n\n",
    );
    o.push_str(&render(r));
    o.push_str("\n\n-----------\nFull Report\n-----------\n\n");
    o.push_str(&crate::ips::render(r));
    let h = &r.hardware;
    let _ = write!(
        o,
        "\n\nModel: {}, BootROM 11881.140.96, proc 16:12:4 processors, {}, SMC \nGraphics: {}, {}, Built-In\nDisplay: Color LCD, 3456 x 2234 Retina, Main, MirrorOff, Online\nMemory Module: LPDDR5, Micron\nAirPort: spairport_wireless_card_type_wifi (0x14E4, 0x4388), wl0: Jun 12 2025 21:05:11 version 23.41.7.0.41.51.194 FWID 01-e5d51d5b\nAirPort: \nBluetooth: Version (null), 0 services, 0 devices, 0 incoming serial ports\nNetwork Service: Wi-Fi, AirPort, en0\nThunderbolt Bus: MacBook Pro, Apple Inc.\n",
        h.model_code, h.memory, h.chip, h.chip
    );
    o
}
