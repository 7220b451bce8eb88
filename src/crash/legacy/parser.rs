//! The section state machine: one pass over the lines, each line read according to the block
//! the previous lines opened; then the crashed thread and frame images are resolved.

use std::collections::HashMap;

use super::fields::{
    derive_fault_address, exception_codes, parse_date, parse_termination_reason, register_flavor,
    split_code_type, split_name_pid, split_name_queue, split_trailing_parens,
};
use super::lines::{frame_line_is_cut, looks_like_frame_line, parse_frame, parse_image};
use super::text::{leading_number, non_empty, parse_hex, path_basename, set_once, strip_prefix_ci};
use crate::crash::model::{
    CrashReport, Frame, Image, Register, RegisterState, ReportKind, SourceFormat, Termination,
    Thread,
};
use crate::crash::ParseError;

/// Which block the previous lines opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Header fields (`Key: value`) or lines we skip.
    Top,
    /// `Application Specific Information:` lines, until a blank line.
    Asi,
    /// Frames of `threads[i]`.
    Thread(usize),
    /// `Thread N crashed with ARM Thread State (64-bit):` register lines.
    Registers,
    /// `Binary Images:` lines.
    Images,
    /// `Last Exception Backtrace:` (or `Application Specific Backtrace 1:`) frames.
    Backtrace,
    /// A backtrace we do not keep (a second `Application Specific Backtrace`).
    SkipFrames,
    /// `Error Formulating Crash Report:` text lines.
    ErrorFormulating,
}

/// Parsing state; turned into a [`CrashReport`] by [`Parser::finish`].
pub(super) struct Parser {
    report: CrashReport,
    section: Section,
    /// A thread or the image list has begun: header keys after this are trailing text (the
    /// system profile's `Model: MacBookPro...`), never fields.
    in_body: bool,
    /// `Crashed Thread:` / `Triggered by Thread:` number.
    header_crashed: Option<usize>,
    /// Image name written in each frame, parallel to `threads[i].frames`.
    thread_image_names: Vec<Vec<Option<String>>>,
    /// Image name written in each `last_exception_backtrace` frame.
    backtrace_image_names: Vec<Option<String>>,
    /// `Thread N name:` seen before the `Thread N:` line (iOS layout).
    pending_name: Option<(usize, Option<String>, Option<String>)>,
    saw_images_header: bool,
    saw_asi_backtrace: bool,
    /// Lines of the `Error Formulating Crash Report:` block.
    error_formulating: Vec<String>,
    /// Set once a `Last Exception Backtrace:` one-line form closed with `)`.
    backtrace_done: bool,
    unparsed_image_lines: usize,
    /// Binary Images lines whose end address is below their start: kept (the base still
    /// places frames), without a size.
    inverted_image_ranges: usize,
    /// The line being read is the file's last non-blank line and the file does not end with a
    /// line break (where a cut paste ends).
    pub(super) at_last_line: bool,
    /// `Model:` in the system-profile trailer (reports before `Hardware Model:` existed).
    trailer_model: Option<String>,
    /// Frame lines read before any thread header (a pasted excerpt).
    headerless_frames: bool,
}

impl Parser {
    pub(super) fn new() -> Self {
        Parser {
            report: CrashReport::empty(ReportKind::Crash, SourceFormat::Legacy),
            section: Section::Top,
            in_body: false,
            header_crashed: None,
            thread_image_names: Vec::new(),
            backtrace_image_names: Vec::new(),
            pending_name: None,
            saw_images_header: false,
            saw_asi_backtrace: false,
            error_formulating: Vec::new(),
            backtrace_done: false,
            unparsed_image_lines: 0,
            inverted_image_ranges: 0,
            at_last_line: false,
            trailer_model: None,
            headerless_frames: false,
        }
    }

    /// Feed one line; returns false when the legacy part of the text has ended.
    pub(super) fn line(&mut self, raw: &str) -> bool {
        let t = raw.trim();
        if t.is_empty() {
            self.blank_line();
            return true;
        }
        // Quirk: the crash dialog copy continues after the legacy text with
        //   -----------
        //   Full Report
        //   -----------
        // and the `.ips` JSON; nothing after that is legacy text.
        if t.eq_ignore_ascii_case("Full Report") {
            return false;
        }
        if self.section_header(t) {
            return true;
        }
        match self.section {
            Section::Top => {
                // Quirk: people paste the numbered frame lines alone into issues, without the
                // `Thread 0 Crashed:` line over them; they are read as the crashed thread.
                if !self.in_body && looks_like_frame_line(t) {
                    self.headerless_frames = true;
                    self.in_body = true;
                    self.report.threads.push(Thread {
                        crashed: true,
                        ..Thread::default()
                    });
                    self.thread_image_names.push(Vec::new());
                    self.section = Section::Thread(self.report.threads.len() - 1);
                    self.frame_line(self.report.threads.len() - 1, t);
                } else {
                    self.header_line(t);
                }
            }
            Section::Asi => self.report.asi.push(t.to_string()),
            Section::Thread(i) => self.frame_line(i, t),
            Section::Registers => self.register_line(t),
            Section::Images => match parse_image(t) {
                Some(img) => {
                    // Only the null image (`0x0 - 0xffffffffffffffff`) overflows its size;
                    // any other image without one has its end below its start.
                    if img.size.is_none() && img.base.is_some_and(|b| b > 0) {
                        self.inverted_image_ranges += 1;
                    }
                    self.report.images.push(img)
                }
                None => self.unparsed_image_lines += 1,
            },
            Section::Backtrace => self.backtrace_line(t),
            Section::SkipFrames => {}
            Section::ErrorFormulating => self.error_formulating.push(t.to_string()),
        }
        true
    }

    /// A line in thread `i`'s backtrace.
    fn frame_line(&mut self, i: usize, t: &str) {
        let parsed = parse_frame(t);
        let cut = self.at_last_line
            && t.starts_with(|c: char| c.is_ascii_digit())
            && parsed.as_ref().is_none_or(|_| frame_line_is_cut(t));
        if cut {
            self.report.warnings.push(format!(
                "the last frame line is cut short and was dropped: {:?}",
                t.chars().take(120).collect::<String>()
            ));
            return;
        }
        let Some((frame, name)) = parsed else {
            return;
        };
        if let Some(note) = &frame.note {
            self.report.warnings.push(format!(
                "thread {} frame {}: {note}",
                self.report.threads.get(i).map_or(0, |t| t.index),
                t.split_whitespace().next().unwrap_or("?")
            ));
        }
        if let (Some(th), Some(names)) = (
            self.report.threads.get_mut(i),
            self.thread_image_names.get_mut(i),
        ) {
            th.frames.push(frame);
            names.push(name.map(str::to_string));
        }
    }

    fn blank_line(&mut self) {
        match self.section {
            // Quirk: some reports put a blank line between `Binary Images:` and the list;
            // keep the section open until at least one image was read.
            Section::Images if self.report.images.is_empty() => {}
            // The one-line form may sit on the line after the header, after a blank line.
            Section::Backtrace
                if self.report.last_exception_backtrace.is_empty() && !self.backtrace_done => {}
            _ => self.section = Section::Top,
        }
    }

    /// Recognise the lines that open a block; returns true when `t` was one.
    fn section_header(&mut self, t: &str) -> bool {
        if let Some(rest) = strip_prefix_ci(t, "Thread ") {
            return self.thread_header(rest);
        }
        if strip_prefix_ci(t, "Binary Images:").is_some() {
            self.section = Section::Images;
            self.in_body = true;
            self.saw_images_header = true;
            return true;
        }
        if let Some(rest) = strip_prefix_ci(t, "Last Exception Backtrace:") {
            // A report with both an `Application Specific Backtrace` and this keeps this one.
            self.report.last_exception_backtrace.clear();
            self.backtrace_image_names.clear();
            self.backtrace_done = false;
            self.section = Section::Backtrace;
            let rest = rest.trim();
            if !rest.is_empty() {
                self.backtrace_line(rest);
            }
            return true;
        }
        if let Some(rest) = strip_prefix_ci(t, "Application Specific Information:") {
            self.section = Section::Asi;
            let rest = rest.trim();
            if !rest.is_empty() {
                self.report.asi.push(rest.to_string());
            }
            return true;
        }
        // Quirk: macOS 10.x wrote the uncaught exception's backtrace as
        //   Application Specific Backtrace 1:
        //   0   CoreFoundation   0x00007fff3fc7d32b __exceptionPreprocess + 171
        // It is the same thing as the later `Last Exception Backtrace:`; we keep the first.
        if strip_prefix_ci(t, "Application Specific Backtrace").is_some() && t.ends_with(':') {
            if self.saw_asi_backtrace || !self.report.last_exception_backtrace.is_empty() {
                self.section = Section::SkipFrames;
            } else {
                self.saw_asi_backtrace = true;
                self.backtrace_done = false;
                self.section = Section::Backtrace;
            }
            return true;
        }
        // Quirk: when ReportCrash cannot read the process it says so and still writes the
        // rest, e.g. `Error Formulating Crash Report:\n_dyld_process_info_create failed with 30`.
        if strip_prefix_ci(t, "Error Formulating Crash Report:").is_some() {
            self.section = Section::ErrorFormulating;
            return true;
        }
        false
    }

    /// `rest` is a line after `Thread `: a backtrace header, a name line or a register dump.
    fn thread_header(&mut self, rest: &str) -> bool {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        let Ok(index) = rest[..digits].parse::<usize>() else {
            return false;
        };
        let after = &rest[digits..];
        // `Thread 0 crashed with ARM Thread State (64-bit):`
        if let Some(state) = strip_prefix_ci(after, " crashed with ") {
            self.in_body = true;
            self.section = Section::Registers;
            if self.report.registers.is_none() {
                let flavor = state.trim().trim_end_matches(':').trim();
                self.report.registers = Some(RegisterState {
                    flavor: Some(register_flavor(flavor)),
                    registers: Vec::new(),
                });
            } else {
                // A second dump is not the crashed thread's; skip its lines.
                self.section = Section::SkipFrames;
            }
            return true;
        }
        // iOS: `Thread 0 name:  Dispatch queue: com.apple.main-thread` before `Thread 0:`.
        if let Some(name) = strip_prefix_ci(after, " name:") {
            let (n, q) = split_name_queue(name);
            self.pending_name = Some((index, n, q));
            return true;
        }
        let (crashed, after) = match strip_prefix_ci(after, " Crashed") {
            Some(a) => (true, a),
            None => (false, after),
        };
        let after = after.trim_start();
        // Quirk: pastes lose the colon (`Thread 4 Crashed`); with `Crashed` it is still the
        // header of a backtrace.
        let label = match after.strip_prefix(':') {
            Some(label) => label,
            None if crashed && after.is_empty() => "",
            None => return false,
        };
        // `Thread 1 Crashed:: Dispatch queue: q` / `Thread 5:: com.apple.NSEventThread`.
        let label = label.trim_start_matches(':');
        let (mut name, mut queue) = split_name_queue(label);
        if let Some((pi, pn, pq)) = self.pending_name.take() {
            if pi == index {
                name = name.or(pn);
                queue = queue.or(pq);
            }
        }
        self.in_body = true;
        self.report.threads.push(Thread {
            index,
            id: None,
            name,
            queue,
            crashed,
            frames: Vec::new(),
        });
        self.thread_image_names.push(Vec::new());
        self.section = Section::Thread(self.report.threads.len() - 1);
        true
    }

    fn header_line(&mut self, t: &str) {
        let Some(colon) = t.find(':') else {
            return;
        };
        if self.in_body {
            // Quirk: reports before `Hardware Model:` existed name the machine only in the
            // system-profile trailer: `Model: MacBookPro11,5, BootROM MBP114.0172.B16, 4
            // processors, ...`. Used when the header has no model.
            if t[..colon].trim().eq_ignore_ascii_case("model") && self.trailer_model.is_none() {
                let value = t[colon + 1..].trim();
                let first = value.split(", ").next().unwrap_or(value).trim();
                self.trailer_model = non_empty(first);
            }
            return;
        }
        let key = t[..colon].trim();
        if key.is_empty() || key.len() > 40 {
            return;
        }
        let value = t[colon + 1..].trim();
        // Quirk: hand-edited pastes change case (`process:  Python [53306]`); keys are
        // matched case-insensitively.
        let key = key.to_ascii_lowercase();
        let r = &mut self.report;
        match key.as_str() {
            "process" if r.process.name.is_none() => {
                let (name, pid) = split_name_pid(value);
                if pid.is_none() && value.ends_with(']') {
                    // `Python [99999999999999999999999999]` or `Python [-]`: say so rather
                    // than drop the pid in silence.
                    r.warnings.push(format!(
                        "Process: the pid in {value:?} is not a number; ignored"
                    ));
                }
                r.process.name = name;
                r.process.pid = pid;
            }
            "path" => set_once(&mut r.process.path, value),
            "identifier" => set_once(&mut r.process.bundle_id, value),
            // `Version: ???` (unbundled tools) says nothing.
            "version" if value != "???" => set_once(&mut r.process.bundle_version, value),
            "code type" if r.cpu_type.is_none() => {
                let (cpu, translated) = split_code_type(value);
                r.cpu_type = cpu;
                r.translated = translated;
            }
            "parent process" if r.process.parent_name.is_none() => {
                let (name, pid) = split_name_pid(value);
                r.process.parent_name = name;
                r.process.parent_pid = pid;
            }
            "responsible" | "responsible process" if r.process.responsible.is_none() => {
                r.process.responsible = split_name_pid(value).0;
            }
            "user id" if r.process.user_id.is_none() => {
                r.process.user_id = value.parse().ok();
                if r.process.user_id.is_none() && !value.is_empty() {
                    r.warnings
                        .push(format!("User ID {value:?} is not a number; ignored"));
                }
            }
            "date/time" if r.captured_at_raw.is_none() && !value.is_empty() => {
                r.captured_at_raw = Some(value.to_string());
                r.captured_at = parse_date(value);
                if r.captured_at.is_none() {
                    r.warnings.push(format!("unparseable Date/Time: {value:?}"));
                }
            }
            "os version" if r.os.version.is_none() && !value.is_empty() => {
                r.os.version = Some(value.to_string());
                let (train, build) = split_trailing_parens(value);
                r.os.train = non_empty(train);
                r.os.build = build.and_then(non_empty);
            }
            "hardware model" => set_once(&mut r.hardware_model, value),
            // `Model: MacBookPro15,1, BootROM ...` inside the header: the first item.
            "model" => {
                let first = value.split(", ").next().unwrap_or(value);
                set_once(&mut r.hardware_model, first);
            }
            "incident identifier" => set_once(&mut r.incident_id, value),
            // `Crashed Thread:  1  Dispatch queue: ...` and macOS 26's
            // `Triggered by Thread:  0  main, Dispatch Queue: com.apple.main-thread`.
            "crashed thread" | "triggered by thread" if self.header_crashed.is_none() => {
                self.header_crashed = leading_number(value);
                if self.header_crashed.is_none() && !value.is_empty() {
                    // `Crashed Thread: -1` or a number past any thread count: the crashed
                    // thread then comes from the `Thread N Crashed:` heading, if any.
                    r.warnings
                        .push(format!("{key}: {value:?} is not a thread number; ignored"));
                }
            }
            "exception type" if r.exception.exc_type.is_none() && !value.is_empty() => {
                let (ty, sig) = split_trailing_parens(value);
                r.exception.exc_type = non_empty(ty);
                r.exception.signal = sig.and_then(non_empty);
            }
            "exception subtype" => set_once(&mut r.exception.subtype, value),
            "exception codes" => exception_codes(&mut r.exception, value),
            "exception message" => set_once(&mut r.exception.message, value),
            "exception note" => set_once(&mut r.exception.note, value),
            // iOS 15+ text exports: `Exception Reason: *** -[__NSArrayM insertObject:...]`.
            "exception reason" => set_once(&mut r.exception.message, value),
            "termination reason" => {
                let term = r.termination.get_or_insert_with(Termination::default);
                if term.namespace.is_none() && term.code.is_none() {
                    parse_termination_reason(term, value);
                }
            }
            // Before macOS 10.15: `Termination Signal:    Segmentation fault: 11`.
            "termination signal" if !value.is_empty() => {
                let term = r.termination.get_or_insert_with(Termination::default);
                if term.indicator.is_none() {
                    term.indicator = Some(value.to_string());
                }
            }
            "terminating process" if !value.is_empty() => {
                let term = r.termination.get_or_insert_with(Termination::default);
                if term.by_process.is_none() {
                    term.by_process = split_name_pid(value).0;
                }
            }
            _ => {}
        }
    }

    /// `    x0: 0x000000073e5e8d00   x1: 0x0000000000000017 ...`; stops at the first token
    /// pair that is not `name: 0xvalue`, so `esr: 0x92000004 (Data Abort) ...` keeps `esr`
    /// and `Logical CPU: 0` / `Error Code: 0x4` lines add nothing.
    fn register_line(&mut self, t: &str) {
        let Some(state) = self.report.registers.as_mut() else {
            return;
        };
        let mut tokens = t.split_whitespace();
        while let Some(name_tok) = tokens.next() {
            let Some(name) = name_tok.strip_suffix(':') else {
                break;
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
                break;
            }
            let Some(value) = tokens.next().and_then(parse_hex) else {
                break;
            };
            state.registers.push(Register {
                name: name.to_string(),
                value,
                symbol: None,
            });
        }
    }

    fn backtrace_line(&mut self, t: &str) {
        if self.backtrace_done {
            return;
        }
        // Quirk: old iOS reports write the exception backtrace as one line of addresses:
        //   Last Exception Backtrace:
        //   (0x1850f6d8c 0x1842b05ec 0x185004750 ...)
        if t.starts_with('(') || (self.backtrace_image_names.is_empty() && t.starts_with("0x")) {
            for tok in t.split_whitespace() {
                let tok = tok.trim_matches(|c| c == '(' || c == ')');
                if let Some(address) = parse_hex(tok) {
                    self.report.last_exception_backtrace.push(Frame {
                        address: Some(address),
                        ..Frame::default()
                    });
                    self.backtrace_image_names.push(None);
                }
            }
            if t.ends_with(')') {
                self.backtrace_done = true;
            }
            return;
        }
        if let Some((frame, name)) = parse_frame(t) {
            self.report.last_exception_backtrace.push(frame);
            self.backtrace_image_names.push(name.map(str::to_string));
        }
    }

    pub(super) fn finish(mut self) -> Result<CrashReport, ParseError> {
        let has_frames = self.report.threads.iter().any(|t| !t.frames.is_empty());
        if self.report.process.name.is_none()
            && self.report.exception.exc_type.is_none()
            && self.header_crashed.is_none()
            && !has_frames
        {
            return Err(ParseError::Unrecognized(
                "no Process, Exception Type, Crashed Thread or thread backtrace found".into(),
            ));
        }
        if !self.error_formulating.is_empty() || self.section == Section::ErrorFormulating {
            self.report.warnings.push(format!(
                "Error Formulating Crash Report: {}",
                self.error_formulating.join("; ")
            ));
        }
        if self.headerless_frames {
            self.report.warnings.push(
                "frame lines without a thread header (a pasted excerpt): read as the crashed \
                 thread; the thread number is unknown"
                    .into(),
            );
        }
        if self.report.hardware_model.is_none() {
            self.report.hardware_model = self.trailer_model.take();
        }
        self.resolve_crashed_thread();
        self.resolve_images();
        derive_fault_address(&mut self.report);

        let r = &mut self.report;
        if r.threads.is_empty() {
            r.warnings.push("no thread backtraces".into());
        }
        if !self.saw_images_header {
            r.warnings.push("no Binary Images section".into());
        } else if r.images.is_empty() {
            r.warnings.push("Binary Images section is empty".into());
        }
        if self.unparsed_image_lines > 0 {
            r.warnings.push(format!(
                "{} unparseable Binary Images line(s)",
                self.unparsed_image_lines
            ));
        }
        if self.inverted_image_ranges > 0 {
            r.warnings.push(format!(
                "{} Binary Images line(s) end below their start; kept without a size",
                self.inverted_image_ranges
            ));
        }
        Ok(self.report)
    }

    /// Set `crashed_thread` from `Crashed Thread:`/`Triggered by Thread:`, else from the
    /// `Thread N Crashed:` block.
    fn resolve_crashed_thread(&mut self) {
        let r = &mut self.report;
        let marked = r.threads.iter().position(|t| t.crashed);
        let wanted = self
            .header_crashed
            .or_else(|| marked.and_then(|p| r.threads.get(p)).map(|t| t.index));
        let Some(wanted) = wanted else {
            if !r.threads.is_empty() {
                r.warnings.push("no crashed thread named".into());
            }
            return;
        };
        match r.threads.iter().position(|t| t.index == wanted) {
            Some(pos) => {
                if let Some(m) = marked {
                    if m != pos {
                        r.warnings.push(format!(
                            "Crashed Thread says {wanted} but the backtrace of thread {} is \
                             marked Crashed",
                            r.threads.get(m).map_or(0, |t| t.index)
                        ));
                    }
                }
                if let Some(t) = r.threads.get_mut(pos) {
                    t.crashed = true;
                }
                r.crashed_thread = Some(pos);
            }
            None => r
                .warnings
                .push(format!("crashed thread {wanted} not found")),
        }
    }

    /// Point every frame at its binary image: by the image name written in the frame (file
    /// name, bundle id, or the name listed in Binary Images), else by address range.
    fn resolve_images(&mut self) {
        if !self.saw_images_header {
            self.images_from_frame_names();
        }
        let images = &self.report.images;
        if images.is_empty() {
            return;
        }
        let index = ImageIndex::new(images);
        for (thread, names) in self
            .report
            .threads
            .iter_mut()
            .zip(self.thread_image_names.iter())
        {
            for (frame, name) in thread.frames.iter_mut().zip(names.iter()) {
                index.resolve(images, frame, name.as_deref());
            }
        }
        for (frame, name) in self
            .report
            .last_exception_backtrace
            .iter_mut()
            .zip(self.backtrace_image_names.iter())
        {
            index.resolve(images, frame, name.as_deref());
        }
    }
}

impl Parser {
    /// Quirk: pasted fragments often stop before `Binary Images:`. Rather than lose the image
    /// names written in the frames (`AGXMetalG13X`, `rs-vst-host`), list each distinct name
    /// once as an image with only a name (no UUID, base or size), and say so in a warning.
    fn images_from_frame_names(&mut self) {
        let mut seen: HashMap<&str, ()> = HashMap::new();
        let names = self
            .thread_image_names
            .iter()
            .flatten()
            .chain(self.backtrace_image_names.iter());
        for name in names.flatten() {
            if name == "???" || seen.contains_key(name.as_str()) {
                continue;
            }
            seen.insert(name, ());
            self.report.images.push(Image {
                name: Some(name.clone()),
                ..Image::default()
            });
        }
        if !self.report.images.is_empty() {
            self.report.warnings.push(format!(
                "{} image(s) named from frames only (no Binary Images section)",
                self.report.images.len()
            ));
        }
    }
}

/// Lookup tables over the image list for frame resolution.
struct ImageIndex<'a> {
    by_name: HashMap<&'a str, Vec<usize>>,
    /// (base, last address, index), sorted by base.
    ranges: Vec<(u64, u64, usize)>,
}

impl<'a> ImageIndex<'a> {
    fn new(images: &'a [Image]) -> Self {
        let mut by_name: HashMap<&'a str, Vec<usize>> = HashMap::new();
        let mut ranges = Vec::with_capacity(images.len());
        for (i, img) in images.iter().enumerate() {
            let basename = img.path.as_deref().map(path_basename);
            let keys = [img.name.as_deref(), img.bundle_id.as_deref(), basename];
            for (k, key) in keys.iter().enumerate() {
                let Some(key) = key.filter(|s| !s.is_empty() && *s != "???") else {
                    continue;
                };
                // Do not list one image twice under the same key.
                if keys[..k].contains(&Some(key)) {
                    continue;
                }
                by_name.entry(key).or_default().push(i);
            }
            if let (Some(base), Some(size)) = (img.base, img.size) {
                if size > 0 {
                    ranges.push((base, base.saturating_add(size - 1), i));
                }
            }
        }
        ranges.sort_unstable();
        ImageIndex { by_name, ranges }
    }

    fn by_address(&self, address: u64) -> Option<usize> {
        // Last range starting at or below the address.
        let pos = self.ranges.partition_point(|&(base, _, _)| base <= address);
        let (_, last, i) = *self.ranges.get(pos.checked_sub(1)?)?;
        (address <= last).then_some(i)
    }

    fn contains(images: &[Image], i: usize, address: u64) -> bool {
        images.get(i).is_some_and(|img| match (img.base, img.size) {
            (Some(b), Some(s)) => address >= b && address - b < s,
            _ => false,
        })
    }

    fn resolve(&self, images: &[Image], frame: &mut Frame, name: Option<&str>) {
        let candidates = name.and_then(|n| self.by_name.get(n));
        let chosen = match (candidates, frame.address) {
            (Some(c), Some(addr)) => c
                .iter()
                .copied()
                .find(|&i| Self::contains(images, i, addr))
                .or_else(|| c.first().copied()),
            (Some(c), None) => c.first().copied(),
            (None, Some(addr)) => self.by_address(addr),
            (None, None) => None,
        };
        let Some(i) = chosen else {
            return;
        };
        frame.image_index = Some(i);
        if let (Some(addr), Some(base)) = (frame.address, images.get(i).and_then(|m| m.base)) {
            if let Some(off) = addr.checked_sub(base) {
                frame.image_offset = Some(off);
            }
        }
    }
}
