//! Legacy `.crash` text parser.
//!
//! Reads the text layout macOS and iOS have written since Mac OS X 10.5: a block of
//! `Key:  value` header lines, `Thread N Crashed:` backtraces, a register dump and a
//! `Binary Images:` list. The same layout is the first half of the crash dialog's
//! "Translated Report (Full Report Below)" copy and the body of `bug_type` 109 `.ips` files;
//! the dispatcher in [`crate::crash`] hands us that text and adjusts `format`/`kind` afterwards.
//!
//! The parser is one pass over the lines with a small section state machine; no regex, no
//! per-line allocation beyond what the model keeps, so a 1.5 MB report with a 6400-frame thread
//! parses in linear time. It is lenient: unknown lines are skipped, a truncated report yields
//! what it holds plus warnings, and only text with no crash-report field at all is an error.
//! It never panics on any input. It must not know about SQL, symbol stores or presentation.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::model::{
    normalize_uuid, CrashReport, Frame, Image, Register, RegisterState, ReportKind, SourceFormat,
    SymbolSource, Termination, Thread,
};
use super::ParseError;

/// Parse the text of a legacy crash report.
///
/// Returns [`ParseError::Empty`] for blank text and [`ParseError::Unrecognized`] when the text
/// has none of `Process:`, `Exception Type:`, `Crashed Thread:`/`Triggered by Thread:` or a
/// thread backtrace. Everything else yields a report (format [`SourceFormat::Legacy`], kind
/// [`ReportKind::Crash`]) with warnings for what is missing.
pub fn parse(text: &str) -> Result<CrashReport, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut parser = Parser::new();
    let last = split_lines(text)
        .filter(|l| !l.trim().is_empty())
        .last()
        .map(|l| l.as_ptr());
    for line in split_lines(text) {
        // Quirk: a paste cut mid-line leaves a last frame line such as
        // `4   AGXMetalG13X    0x00000001a00022`; it is dropped with a warning.
        parser.at_last_line = Some(line.as_ptr()) == last && !text.ends_with(['\n', '\r']);
        if !parser.line(line) {
            break;
        }
    }
    parser.finish()
}

/// Lines ended by `\n`, `\r\n` or a lone `\r`. Quirk: files saved by classic Mac tools and
/// some pastes use CR alone; read as one line, the whole file became the process name.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

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
struct Parser {
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
    /// The line being read is the file's last non-blank line and the file does not end with a
    /// line break (where a cut paste ends).
    at_last_line: bool,
    /// `Model:` in the system-profile trailer (reports before `Hardware Model:` existed).
    trailer_model: Option<String>,
    /// Frame lines read before any thread header (a pasted excerpt).
    headerless_frames: bool,
}

impl Parser {
    fn new() -> Self {
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
            at_last_line: false,
            trailer_model: None,
            headerless_frames: false,
        }
    }

    /// Feed one line; returns false when the legacy part of the text has ended.
    fn line(&mut self, raw: &str) -> bool {
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
                Some(img) => self.report.images.push(img),
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

    fn finish(mut self) -> Result<CrashReport, ParseError> {
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

/// Parse one backtrace line:
/// `0   libsystem_kernel.dylib        \t0x00000001853d2388 __pthread_kill + 8`.
/// Returns the frame and the image name as written (`None` when the line has none).
fn parse_frame(t: &str) -> Option<(Frame, Option<&str>)> {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = &t[digits..];
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    // Quirk: image names can contain spaces (`FabFilter Pro-Q 4`), so the image is everything
    // up to the first whitespace-separated `0x...` token, which is the pc.
    let (pos, len, address, note) = address_token(rest)?;
    let image = rest[..pos].trim();
    let image = (!image.is_empty()).then_some(image);
    let mut frame = Frame {
        address,
        note,
        ..Frame::default()
    };
    fill_symbol(&mut frame, rest[pos + len..].trim());
    Some((frame, image))
}

/// The pc token of a frame line: its position, length, value and, when it is not a 64-bit
/// number, a note instead of a value. Quirk: hand-edited or converted reports carry pcs such
/// as `-0x10` or `0x1000000000001a2b3` (more than 64 bits); the frame is kept (it can be the
/// crashing frame) without an address.
fn address_token(rest: &str) -> Option<(usize, usize, Option<u64>, Option<String>)> {
    for (pos, tok) in tokens(rest) {
        let (negative, body) = match tok.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, tok),
        };
        let Some(h) = body.strip_prefix("0x").filter(|h| is_hex(h)) else {
            continue;
        };
        if negative {
            return Some((
                pos,
                tok.len(),
                None,
                Some(format!("negative address {tok}")),
            ));
        }
        return Some(match u64::from_str_radix(h, 16) {
            Ok(a) => (pos, tok.len(), Some(a), None),
            Err(_) => (
                pos,
                tok.len(),
                None,
                Some(format!(
                    "address {} has more than 64 bits",
                    tok.chars().take(40).collect::<String>()
                )),
            ),
        });
    }
    None
}

/// A numbered frame line as Apple writes it, strictly enough that prose with a number and a
/// hex value (`1 see 0x10`) is not taken for a backtrace: an image name, then a pc padded to 8
/// or 16 hex digits.
fn looks_like_frame_line(t: &str) -> bool {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &t[digits..];
    match (parse_frame(t), address_token(rest)) {
        (Some((_, Some(_))), Some((pos, len, Some(_), _))) => {
            len >= 10 && !rest[..pos].trim().is_empty()
        }
        _ => false,
    }
}

/// A frame line with nothing after its pc (`4   AGXMetalG13X   0x00000001a00022`): Apple always
/// writes a symbol, `???` or `base + offset` there, so the line was cut.
fn frame_line_is_cut(t: &str) -> bool {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    match address_token(&t[digits..]) {
        Some((pos, len, _, _)) => t[digits + pos + len..].trim().is_empty(),
        None => true,
    }
}

/// Read what follows the pc: `sym + 8`, `sym + 24 (file.swift:12)`, `???`,
/// `0x10b858000 + 904968` (load address + offset: no symbol).
fn fill_symbol(frame: &mut Frame, s: &str) {
    if s.is_empty() || s == "???" {
        return;
    }
    if let Some(first) = s.split_whitespace().next() {
        // Quirk: unsymbolicated frames write `load address + offset` where the symbol goes:
        // `0x10b858000 + 904968`, or for a frame outside every image `0 + 70368744177778`.
        let is_base = first.strip_prefix("0x").is_some_and(is_hex)
            || (first.bytes().all(|b| b.is_ascii_digit())
                && s[first.len()..].trim_start().starts_with('+'));
        if is_base {
            // The offset into the image, used when the image list is missing (resolution
            // overwrites it with address - base). With base `0` it is the address itself.
            let base_is_zero = first.trim_start_matches("0x").bytes().all(|b| b == b'0');
            if let Some(off) = s
                .rsplit_once(" + ")
                .and_then(|(_, o)| o.trim().parse().ok())
                .filter(|_| !base_is_zero)
            {
                frame.image_offset = Some(off);
            }
            return;
        }
    }
    // Drop a trailing `[inlined]`-style marker.
    let mut s = s;
    if s.ends_with(']') {
        if let Some(open) = s.rfind(" [") {
            s = s[..open].trim_end();
        }
    }
    let mut symbol = s;
    if let Some(plus) = find_offset_plus(s) {
        symbol = s[..plus].trim_end();
        let after = &s[plus + 3..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        frame.symbol_offset = after[..digits].parse().ok();
        let tail = after[digits..].trim();
        if let Some(src) = tail.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
            let mut parts = src.split(':');
            let file = parts.next().unwrap_or("").trim();
            let line = parts.next().and_then(|l| l.trim().parse::<u32>().ok());
            if !file.is_empty() && line.is_some() {
                frame.source_file = Some(file.to_string());
                frame.source_line = line;
            }
        }
    }
    if symbol.is_empty() || symbol == "???" {
        return;
    }
    frame.symbol = Some(symbol.to_string());
    frame.symbol_source = Some(SymbolSource::Apple);
}

/// Byte position of the last ` + N` (N decimal digits) in a frame's symbol text.
fn find_offset_plus(s: &str) -> Option<usize> {
    let mut end = s.len();
    while let Some(p) = s[..end].rfind(" + ") {
        if s[p + 3..].starts_with(|c: char| c.is_ascii_digit()) {
            return Some(p);
        }
        end = p;
    }
    None
}

/// Parse one `Binary Images:` line. Forms seen:
/// `0x102a3c000 - 0x102a4bfff com.example.app (1.0 - 1) <2f5ccac7-...> /path/to/app`,
/// `0x1043c4000 -        0x108287fff +osaurus arm64  <2f5ccac7cf4f...> /Users/...`,
/// `0x104fe4000 - 0x105307fff org.python.python (3.12.3, (c) 2001-2023 PSF.) <uuid> /path`.
fn parse_image(t: &str) -> Option<Image> {
    let (start_s, rest) = t.split_once('-')?;
    let base = parse_hex(start_s.trim())?;
    let rest = rest.trim_start();
    let end_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let end = parse_hex(&rest[..end_len])?;
    let rest = rest[end_len..].trim();
    // Quirk: the null image `0x0 - 0xffffffffffffffff ??? (*) <00000000-...> ???` would
    // overflow `end - start + 1`.
    let size = end.checked_sub(base).and_then(|d| d.checked_add(1));

    let (middle, uuid, path) = match rest.find('<') {
        Some(lt) => {
            let close = rest[lt..].find('>').map(|c| lt + c);
            match close {
                Some(gt) => (
                    &rest[..lt],
                    normalize_uuid(&rest[lt + 1..gt]),
                    rest[gt + 1..].trim(),
                ),
                None => (&rest[..lt], None, ""),
            }
        }
        // Very old reports have no UUID: the path starts at ` /`.
        None => match rest.find(" /") {
            Some(p) => (&rest[..p], None, rest[p..].trim()),
            None => (rest, None, ""),
        },
    };
    let mut middle = middle.trim();
    // `+` marks an image outside the OS.
    middle = middle.strip_prefix('+').unwrap_or(middle).trim_start();
    let mut version = None;
    if middle.ends_with(')') {
        if let Some(open) = matching_open_paren(middle) {
            version = Some(middle[open + 1..middle.len() - 1].trim());
            middle = middle[..open].trim_end();
        }
    }
    let mut arch = None;
    if let Some((head, last)) = middle.rsplit_once(char::is_whitespace) {
        if is_arch(last) {
            arch = Some(last.to_string());
            middle = head.trim_end();
        } else if last == "???" {
            middle = head.trim_end();
        }
    } else if is_arch(middle) {
        // Name missing, arch only.
        arch = Some(middle.to_string());
        middle = "";
    }
    let listed = (!middle.is_empty() && middle != "???").then_some(middle);
    let path = (!path.is_empty() && path != "???").then_some(path);
    let basename = path.map(path_basename).filter(|b| !b.is_empty());
    let name = basename.or(listed).map(str::to_string);
    // The listed name is the bundle id when it differs from the file name
    // (`com.apple.AGXMetalG16G-B0` for `.../AGXMetalG16G_B0`).
    let bundle_id = match (listed, basename) {
        (Some(l), Some(b)) if l != b => Some(l.to_string()),
        _ => None,
    };
    let bundle_version = version
        .filter(|v| !v.is_empty() && !v.chars().all(|c| matches!(c, '*' | '_' | '?' | '-' | ' ')))
        .map(str::to_string);
    Some(Image {
        uuid,
        name,
        path: path.map(str::to_string),
        arch,
        base: Some(base),
        size,
        bundle_id,
        bundle_version,
    })
}

/// Position of the `(` matching the final `)` of `s`.
fn matching_open_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_arch(s: &str) -> bool {
    matches!(
        s,
        "arm64"
            | "arm64e"
            | "arm64_32"
            | "armv7"
            | "armv7s"
            | "armv7k"
            | "x86_64"
            | "x86_64h"
            | "i386"
            | "ppc"
    )
}

/// `Exception Codes:` value. Numeric codes (`0x0000000000000001, 0x0000000000000098`) are
/// kept in `codes`; the older named form (`KERN_INVALID_ADDRESS at 0x...`, which some reports
/// write on a second `Exception Codes:` line) is also the subtype when there is none.
fn exception_codes(exc: &mut super::model::ExceptionInfo, value: &str) {
    if value.is_empty() {
        return;
    }
    let numeric = value.starts_with(|c: char| c.is_ascii_digit());
    if numeric {
        let prev_named = exc
            .codes
            .as_deref()
            .is_some_and(|c| !c.starts_with(|ch: char| ch.is_ascii_digit()));
        if exc.codes.is_none() || prev_named {
            exc.codes = Some(value.to_string());
        }
    } else {
        if exc.subtype.is_none() {
            exc.subtype = Some(value.to_string());
        }
        if exc.codes.is_none() {
            exc.codes = Some(value.to_string());
        }
    }
}

/// Fault address from the subtype (`KERN_INVALID_ADDRESS at 0x98`, PAC form
/// `at 0x1741a4f9ef46998d -> 0x000024f9ef46998d (possible pointer authentication failure)`),
/// else for `EXC_BAD_ACCESS` the crashed thread's `far` register. Never for `EXC_CRASH` or
/// `EXC_BREAKPOINT`, whose codes are not addresses.
fn derive_fault_address(r: &mut CrashReport) {
    let exc = &mut r.exception;
    let ty = exc.exc_type.as_deref().unwrap_or("");
    if ty.eq_ignore_ascii_case("EXC_CRASH") || ty.eq_ignore_ascii_case("EXC_BREAKPOINT") {
        return;
    }
    if let Some(sub) = exc.subtype.as_deref() {
        if let Some(pos) = find_ci(sub, " at 0x") {
            let after = &sub[pos + 4..];
            let first = after.split_whitespace().next().unwrap_or("");
            exc.fault_address = parse_hex(first.trim_end_matches(','));
            if let Some(arrow) = after.find("->") {
                let second = after[arrow + 2..].split_whitespace().next().unwrap_or("");
                exc.fault_address_stripped = parse_hex(second);
            }
        }
        exc.pointer_auth_failure = find_ci(sub, "pointer authentication").is_some();
    }
    if exc.fault_address.is_none() && ty.eq_ignore_ascii_case("EXC_BAD_ACCESS") {
        exc.fault_address = r.registers.as_ref().and_then(|s| s.get("far"));
    }
}

/// `Namespace SIGNAL, Code 6 Abort trap: 6`, macOS 26 `Namespace SIGNAL, Code 6, Abort trap: 6`,
/// `Namespace SIGNAL, Code 0xb`, iOS `SIGNAL 5 Trace/BPT trap: 5`.
fn parse_termination_reason(term: &mut Termination, value: &str) {
    let v = strip_prefix_ci(value, "Namespace ").unwrap_or(value).trim();
    let ns_end = v
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(v.len());
    term.namespace = non_empty(&v[..ns_end]);
    let rest = v[ns_end..].trim_start_matches(',').trim_start();
    let rest = strip_prefix_ci(rest, "Code ").unwrap_or(rest).trim_start();
    let code_end = rest
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(rest.len());
    let code_s = &rest[..code_end];
    let code = match code_s
        .strip_prefix("0x")
        .or_else(|| code_s.strip_prefix("0X"))
    {
        Some(h) => i64::from_str_radix(h, 16)
            .ok()
            .or_else(|| u64::from_str_radix(h, 16).ok().map(|u| u as i64)),
        None => code_s.parse().ok(),
    };
    if code.is_none() {
        // No code: everything after the namespace is the indicator.
        if term.indicator.is_none() {
            term.indicator = non_empty(rest);
        }
        return;
    }
    term.code = code;
    let ind = rest[code_end..].trim_start_matches(',').trim();
    if !ind.is_empty() {
        term.indicator = Some(ind.to_string());
    }
}

/// `Date/Time:` forms: `2018-06-12 08:34:37.421 +0100`, `2026-03-01 10:00:00.0000 -0800`,
/// `2012-07-05 11:56:34 +0200`.
fn parse_date(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f %z")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `ARM Thread State (64-bit)` -> the `.ips` flavor name, so both formats agree.
fn register_flavor(s: &str) -> String {
    let l = s.to_ascii_lowercase();
    let is32 = l.contains("32-bit");
    if l.starts_with("arm") {
        if is32 {
            "ARM_THREAD_STATE"
        } else {
            "ARM_THREAD_STATE64"
        }
        .to_string()
    } else if l.starts_with("x86") {
        if is32 {
            "x86_THREAD_STATE32"
        } else {
            "x86_THREAD_STATE"
        }
        .to_string()
    } else {
        s.to_string()
    }
}

/// `Code Type:  X86-64 (Translated)` -> (`X86-64`, Some(true)); `ARM-64 (Native)` ->
/// (`ARM-64`, Some(false)); `X86-64` -> (`X86-64`, None). The suffix is dropped so the cpu type
/// matches the `.ips` `cpuType`; it lives on in `translated`.
fn split_code_type(v: &str) -> (Option<String>, Option<bool>) {
    let (cpu, paren) = split_trailing_parens(v);
    let translated = match paren.map(str::to_ascii_lowercase).as_deref() {
        Some("translated") => Some(true),
        Some("native") => Some(false),
        Some(_) => return (non_empty(v), None),
        None => None,
    };
    (non_empty(cpu), translated)
}

/// `name [123]` -> (`name`, 123). Without brackets the whole value is the name.
fn split_name_pid(v: &str) -> (Option<String>, Option<i64>) {
    let v = v.trim();
    if let Some(inner) = v.strip_suffix(']') {
        if let Some(open) = inner.rfind('[') {
            let pid = inner[open + 1..].trim().parse().ok();
            return (non_empty(&inner[..open]), pid);
        }
    }
    // A paste cut inside the pid, `python3.12 [12`: the name is whole, the pid is not.
    // (checked by tests/parse_props.rs over every cut)
    if let Some(open) = v.rfind(" [") {
        if v[open + 2..].chars().all(|c| c.is_ascii_digit()) {
            return (non_empty(&v[..open]), None);
        }
    }
    (non_empty(v), None)
}

/// `text (inner)` -> (`text`, Some(`inner`)); otherwise (`v`, None).
fn split_trailing_parens(v: &str) -> (&str, Option<&str>) {
    let v = v.trim();
    if v.ends_with(')') {
        if let Some(open) = matching_open_paren(v) {
            return (v[..open].trim_end(), Some(v[open + 1..v.len() - 1].trim()));
        }
    }
    (v, None)
}

/// Thread label after `Thread N:` / `Thread N Crashed::` / `Thread N name:`:
/// `main Dispatch queue: com.apple.main-thread` -> (main, queue), `com.apple.NSEventThread`
/// -> (name, None), `Dispatch queue: q` -> (None, q).
fn split_name_queue(label: &str) -> (Option<String>, Option<String>) {
    let label = label.trim();
    match find_ci(label, "Dispatch queue:") {
        Some(p) => {
            let name = label[..p].trim().trim_end_matches(',').trim();
            let queue = label[p + "Dispatch queue:".len()..].trim();
            (non_empty(name), non_empty(queue))
        }
        None => (non_empty(label), None),
    }
}

fn leading_number(v: &str) -> Option<usize> {
    let v = v.trim_start();
    let d = v.bytes().take_while(u8::is_ascii_digit).count();
    v[..d].parse().ok()
}

fn set_once(slot: &mut Option<String>, v: &str) {
    if slot.is_none() && !v.is_empty() {
        *slot = Some(v.to_string());
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn path_basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `0x1f` -> 31; only the `0x` form.
fn parse_hex(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if !is_hex(h) {
        return None;
    }
    u64::from_str_radix(h, 16).ok()
}

/// ASCII-case-insensitive prefix strip that never splits a UTF-8 character.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// ASCII-case-insensitive find (needles here are short ASCII).
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    if n == 0 || hay.len() < n {
        return None;
    }
    let hb = hay.as_bytes();
    let nb = needle.as_bytes();
    (0..=hb.len() - n).find(|&i| hay.is_char_boundary(i) && hb[i..i + n].eq_ignore_ascii_case(nb))
}

/// Whitespace-separated tokens with their byte positions (always on char boundaries, also
/// when the separator is a multi-byte space such as U+00A0).
fn tokens(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut next = 0usize;
    std::iter::from_fn(move || {
        let tail = s.get(next..)?;
        let start = next + tail.find(|c: char| !c.is_whitespace())?;
        let len = s[start..]
            .find(char::is_whitespace)
            .unwrap_or(s.len() - start);
        next = start + len;
        Some((start, &s[start..start + len]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// A small synthetic macOS 15 report exercising the common layout.
    const SAMPLE: &str = "\
Process:               demo [4242]
Path:                  /Applications/Demo.app/Contents/MacOS/demo
Identifier:            com.example.demo
Version:               1.0 (1)
Code Type:             ARM-64 (Native)
Parent Process:        launchd [1]
Responsible:           demo [4242]
User ID:               501

Date/Time:             2025-05-30 07:23:49.5279 +0200
OS Version:            macOS 15.6.1 (24G90)
Report Version:        12
Hardware Model:        Mac16,5
Incident Identifier:   09F0975D-DBAA-4E88-9FFE-076D29699787

Crashed Thread:        1  Dispatch queue: com.apple.metal.queue

Exception Type:        EXC_BAD_ACCESS (SIGSEGV)
Exception Codes:       KERN_INVALID_ADDRESS at 0x0000000000000098
Exception Codes:       0x0000000000000001, 0x0000000000000098

Termination Reason:    Namespace SIGNAL, Code 11 Segmentation fault: 11
Terminating Process:   exc handler [4242]

Application Specific Information:
first line
second line

Thread 0:: Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t       0x1853d2388 mach_msg2_trap + 8
1   com.apple.AppKit              \t       0x1895c0000 -[NSApplication run] + 480
2   demo                          \t       0x102a3c100 main + 24 (main.swift:12)

Thread 1 Crashed:: Dispatch queue: com.apple.metal.queue
0   AGXMetalG13X                  \t       0x1a0000198 AGX::ComputeContext::performEnqueueKernel + 40
1   ???                           \t       0x12345678 ???
2   demo                          \t       0x102a3c200 0x102a3c000 + 512

Thread 1 crashed with ARM Thread State (64-bit):
    x0: 0x0000000000000000   x1: 0x0000000000000017
    fp: 0x000000016b8477a0   lr: 0x000000010b8a914c
    sp: 0x000000016b847630   pc: 0x00000001a0000198 cpsr: 0x60001000
   far: 0x0000000000000098  esr: 0x92000006 (Data Abort) byte read Translation fault

Binary Images:
       0x102a3c000 -        0x102a4bfff com.example.demo (1.0 - 1) <2f5ccac7-cf4f-3f87-8689-7c673e90e595> /Applications/Demo.app/Contents/MacOS/demo
       0x1853a0000 -        0x1853dffff libsystem_kernel.dylib (*) <11111111-2222-3333-4444-555555555555> /usr/lib/system/libsystem_kernel.dylib
       0x189400000 -        0x18a3fffff com.apple.AppKit (6.9) <aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee> /System/Library/Frameworks/AppKit.framework/Versions/C/AppKit
       0x1a0000000 -        0x1a0ffffff com.apple.AGXMetalG13X (329.2) <81127308-935a-31e5-89f4-169529f19753> /System/Library/Extensions/AGXMetalG13X.bundle/Contents/MacOS/AGXMetalG13X

External Modification Summary:
  Calls made by other processes targeting this process:
    task_for_pid: 0

Model: MacBookPro18,3, BootROM 11881.1.1, proc 8:6:2 processors, 16 GB, SMC 
Graphics: Apple M1 Pro, Apple M1 Pro, Built-In
";

    fn ok(text: &str) -> CrashReport {
        match parse(text) {
            Ok(r) => r,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    // The common macOS layout: header fields land in the model.
    #[test]
    fn sample_header_fields() {
        let r = ok(SAMPLE);
        assert_eq!(r.format, SourceFormat::Legacy);
        assert_eq!(r.kind, ReportKind::Crash);
        assert_eq!(r.process.name.as_deref(), Some("demo"));
        assert_eq!(r.process.pid, Some(4242));
        assert_eq!(
            r.process.path.as_deref(),
            Some("/Applications/Demo.app/Contents/MacOS/demo")
        );
        assert_eq!(r.process.bundle_id.as_deref(), Some("com.example.demo"));
        assert_eq!(r.process.bundle_version.as_deref(), Some("1.0 (1)"));
        assert_eq!(r.process.parent_name.as_deref(), Some("launchd"));
        assert_eq!(r.process.parent_pid, Some(1));
        assert_eq!(r.process.responsible.as_deref(), Some("demo"));
        assert_eq!(r.process.user_id, Some(501));
        assert_eq!(r.cpu_type.as_deref(), Some("ARM-64"));
        assert_eq!(r.translated, Some(false));
        assert_eq!(r.os.version.as_deref(), Some("macOS 15.6.1 (24G90)"));
        assert_eq!(r.os.train.as_deref(), Some("macOS 15.6.1"));
        assert_eq!(r.os.build.as_deref(), Some("24G90"));
        assert_eq!(r.hardware_model.as_deref(), Some("Mac16,5"));
        assert_eq!(
            r.incident_id.as_deref(),
            Some("09F0975D-DBAA-4E88-9FFE-076D29699787")
        );
        assert_eq!(
            r.captured_at_raw.as_deref(),
            Some("2025-05-30 07:23:49.5279 +0200")
        );
        assert_eq!(
            r.captured_at.map(|d| d.to_rfc3339()),
            Some("2025-05-30T05:23:49.527900+00:00".to_string())
        );
        assert_eq!(r.asi, vec!["first line", "second line"]);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    // Exception, termination and fault address from the older two-`Exception Codes` layout.
    #[test]
    fn sample_exception_and_termination() {
        let r = ok(SAMPLE);
        let e = &r.exception;
        assert_eq!(e.exc_type.as_deref(), Some("EXC_BAD_ACCESS"));
        assert_eq!(e.signal.as_deref(), Some("SIGSEGV"));
        assert_eq!(
            e.subtype.as_deref(),
            Some("KERN_INVALID_ADDRESS at 0x0000000000000098")
        );
        assert_eq!(
            e.codes.as_deref(),
            Some("0x0000000000000001, 0x0000000000000098")
        );
        assert_eq!(e.fault_address, Some(0x98));
        assert_eq!(e.fault_address_stripped, None);
        assert!(!e.pointer_auth_failure);
        let t = r.termination.as_ref().unwrap();
        assert_eq!(t.namespace.as_deref(), Some("SIGNAL"));
        assert_eq!(t.code, Some(11));
        assert_eq!(t.indicator.as_deref(), Some("Segmentation fault: 11"));
        assert_eq!(t.by_process.as_deref(), Some("exc handler"));
    }

    // Threads, crashed thread, frames, symbols, source info and image resolution.
    #[test]
    fn sample_threads_frames_images() {
        let r = ok(SAMPLE);
        assert_eq!(r.threads.len(), 2);
        assert_eq!(r.crashed_thread, Some(1));
        let crashed = r.crashed().unwrap();
        assert!(crashed.crashed);
        assert!(!r.threads[0].crashed);
        assert_eq!(crashed.queue.as_deref(), Some("com.apple.metal.queue"));
        assert_eq!(r.threads[0].queue.as_deref(), Some("com.apple.main-thread"));

        let f0 = &crashed.frames[0];
        assert_eq!(
            f0.symbol.as_deref(),
            Some("AGX::ComputeContext::performEnqueueKernel")
        );
        assert_eq!(f0.symbol_offset, Some(40));
        assert_eq!(f0.symbol_source, Some(SymbolSource::Apple));
        assert_eq!(f0.image_index, Some(3));
        assert_eq!(f0.image_offset, Some(0x198));
        // `???` image and symbol: no symbol, no image (address outside every image).
        let f1 = &crashed.frames[1];
        assert_eq!(f1.symbol, None);
        assert_eq!(f1.symbol_source, None);
        assert_eq!(f1.image_index, None);
        assert_eq!(f1.address, Some(0x12345678));
        // `0x102a3c000 + 512`: an address, not a symbol.
        let f2 = &crashed.frames[2];
        assert_eq!(f2.symbol, None);
        assert_eq!(f2.image_index, Some(0));
        assert_eq!(f2.image_offset, Some(0x200));

        // Resolved by bundle id (`com.apple.AppKit` -> .../AppKit).
        assert_eq!(r.threads[0].frames[1].image_index, Some(2));
        assert_eq!(
            r.threads[0].frames[1].symbol.as_deref(),
            Some("-[NSApplication run]")
        );
        // Source info.
        let main = &r.threads[0].frames[2];
        assert_eq!(main.symbol.as_deref(), Some("main"));
        assert_eq!(main.symbol_offset, Some(24));
        assert_eq!(main.source_file.as_deref(), Some("main.swift"));
        assert_eq!(main.source_line, Some(12));

        assert_eq!(r.images.len(), 4);
        let app = &r.images[0];
        assert_eq!(app.name.as_deref(), Some("demo"));
        assert_eq!(app.bundle_id.as_deref(), Some("com.example.demo"));
        assert_eq!(app.bundle_version.as_deref(), Some("1.0 - 1"));
        assert_eq!(
            app.uuid.as_deref(),
            Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595")
        );
        assert_eq!(app.base, Some(0x102a3c000));
        assert_eq!(app.size, Some(0x10000));
        assert_eq!(r.images[1].bundle_version, None);
        assert_eq!(r.images[1].bundle_id, None);
    }

    // Register dump: `esr:` followed by a description, `far` used as the fault address.
    #[test]
    fn sample_registers() {
        let r = ok(SAMPLE);
        let regs = r.registers.as_ref().unwrap();
        assert_eq!(regs.flavor.as_deref(), Some("ARM_THREAD_STATE64"));
        let names: Vec<&str> = regs.registers.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["x0", "x1", "fp", "lr", "sp", "pc", "cpsr", "far", "esr"]
        );
        assert_eq!(regs.get("pc"), Some(0x1a0000198));
        assert_eq!(regs.get("esr"), Some(0x92000006));
    }

    #[test]
    fn line_endings() {
        let lines: Vec<&str> = split_lines("a\rb\r\nc\nd\r\re").collect();
        assert_eq!(lines, ["a", "b", "c", "d", "", "e"]);
        assert_eq!(split_lines("").count(), 0);
        assert_eq!(split_lines("x\n").collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn cut_and_odd_frame_lines() {
        assert!(frame_line_is_cut("4   AGXMetalG13X   0x00000001a00022"));
        assert!(frame_line_is_cut("4   AGXMetalG1"));
        assert!(!frame_line_is_cut(
            "4   AGXMetalG13X   0x00000001a0002234 ???"
        ));
        assert!(!frame_line_is_cut(
            "4   x   0x00000001a0002234 0x1a0000000 + 8756"
        ));
        let (f, _) = parse_frame("3   AGXMetalG13X   -0x10 foo + 4").unwrap();
        assert_eq!(f.address, None);
        assert_eq!(f.symbol.as_deref(), Some("foo"));
        assert!(f.note.unwrap().contains("-0x10"));
        let (f, _) = parse_frame("3   AGXMetalG13X   0x1000000000000000000 foo + 4").unwrap();
        assert_eq!(f.address, None);
        assert!(f.note.unwrap().contains("64 bits"));
        assert!(looks_like_frame_line(
            "0   libsystem_kernel.dylib        \t0x000000018b1a5a60 __pthread_kill + 8"
        ));
        assert!(!looks_like_frame_line("1 see 0x10 for details"));
        assert!(!looks_like_frame_line("2   0x000000018b1a5a60"));
        assert!(
            parse("1 see 0x10 for details\n2 then 0xff\n").is_err(),
            "prose is not a report"
        );
        // A crash header without its colon.
        let r = ok("Thread 3 Crashed\n0   libfoo.dylib   0x0000000100000010 foo + 4\n");
        assert_eq!(r.crashed().map(|t| t.index), Some(3));
    }

    // Regression: reports written before `Hardware Model:` existed name the machine only in
    // the system-profile trailer (`Model: MacBookPro18,3, ...`); it is the hardware model when
    // the header has none, and never overrides the header.
    #[test]
    fn system_profile_trailer_model() {
        let r = ok(SAMPLE);
        assert_eq!(r.hardware_model.as_deref(), Some("Mac16,5"));
        let text = SAMPLE.replace("Hardware Model:        Mac16,5\n", "");
        let r = ok(&text);
        assert_eq!(r.hardware_model.as_deref(), Some("MacBookPro18,3"));
        // Before the body, `Model:` is a field (first comma item).
        let r = ok("Process: x [1]\nModel: MacBookPro15,1, BootROM 1\nThread 0 Crashed:\n");
        assert_eq!(r.hardware_model.as_deref(), Some("MacBookPro15,1"));
    }

    // The whole sample as JSON, reviewed once by a human.
    #[test]
    fn sample_snapshot() {
        insta::assert_json_snapshot!("legacy_sample", ok(SAMPLE));
    }

    // Date/Time variants: 3- and 4-digit fractions, none, negative offsets, garbage.
    #[test]
    fn date_time_forms() {
        let d = |s: &str| parse_date(s).map(|d| d.to_rfc3339());
        assert_eq!(
            d("2018-06-12 08:34:37.421 +0100").as_deref(),
            Some("2018-06-12T07:34:37.421+00:00")
        );
        assert_eq!(
            d("2026-03-01 10:00:00.0000 -0800").as_deref(),
            Some("2026-03-01T18:00:00+00:00")
        );
        assert_eq!(
            d("2012-07-05 11:56:34 +0200").as_deref(),
            Some("2012-07-05T09:56:34+00:00")
        );
        assert_eq!(d("yesterday"), None);
        let r = ok("Process: x [1]\nDate/Time: sometime\n");
        assert_eq!(r.captured_at, None);
        assert_eq!(r.captured_at_raw.as_deref(), Some("sometime"));
        assert!(r.warnings.iter().any(|w| w.contains("Date/Time")));
    }

    // Rosetta: `Code Type: X86-64 (Translated)`.
    #[test]
    fn code_type_translated() {
        let r = ok("Process: x [1]\nCode Type: X86-64 (Translated)\n");
        assert_eq!(r.cpu_type.as_deref(), Some("X86-64"));
        assert_eq!(r.translated, Some(true));
        let r = ok("Process: x [1]\nCode Type: X86-64\n");
        assert_eq!(r.cpu_type.as_deref(), Some("X86-64"));
        assert_eq!(r.translated, None);
    }

    // 32-bit x86: `X86 (Native)` and `X86 Thread State (32-bit)`.
    #[test]
    fn x86_32_bit() {
        let text = "\
Process: old [7]
Code Type: X86 (Native)
Crashed Thread: 0

Thread 0 Crashed:
0   libSystem.B.dylib             \t0x9a7b3c1e __kill + 10

Thread 0 crashed with X86 Thread State (32-bit):
  eax: 0x00000000  ebx: 0x9a7b3c0c  ecx: 0xbffff6dc  edx: 0x9a7b3c1e
  eip: 0x9a7b3c1e  eflags: 0x00000286  cr2: 0x00000000
";
        let r = ok(text);
        assert_eq!(r.cpu_type.as_deref(), Some("X86"));
        assert_eq!(r.translated, Some(false));
        let regs = r.registers.unwrap();
        assert_eq!(regs.flavor.as_deref(), Some("x86_THREAD_STATE32"));
        assert_eq!(regs.get("eip"), Some(0x9a7b3c1e));
        assert_eq!(regs.get("eflags"), Some(0x286));
        assert_eq!(regs.registers.len(), 7);
    }

    // x86-64 dump followed directly by `Logical CPU: 0` / `Error Code:` lines.
    #[test]
    fn x86_64_registers_then_trap_info() {
        let text = "\
Process: p [1]
Thread 0 Crashed:
0   libsystem_kernel.dylib        \t0x00007fff8ea98df2 __select + 10

Thread 0 crashed with X86 Thread State (64-bit):
  rax: 0x0000000000000004  rbx: 0x0000000000000000
  rip: 0x00007fff8ea98df2  rfl: 0x0000000000000283  cr2: 0x00000001007bb880
Logical CPU: 0
Error Code:      0x00000004
";
        let regs = ok(text).registers.unwrap();
        assert_eq!(regs.flavor.as_deref(), Some("x86_THREAD_STATE"));
        let names: Vec<&str> = regs.registers.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["rax", "rbx", "rip", "rfl", "cr2"]);
    }

    // macOS 26: `Triggered by Thread:  0  main, Dispatch Queue: ...`, Termination Reason with
    // commas, no `Report Version`.
    #[test]
    fn macos26_layout() {
        let text = "\
Process:             app [9]
Triggered by Thread:  2  worker, Dispatch Queue: com.example.q

Exception Type:    EXC_CRASH (SIGABRT)
Exception Codes:   0x0000000000000000, 0x0000000000000000

Termination Reason:  Namespace SIGNAL, Code 6, Abort trap: 6

Thread 0::  Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t       0x19633d388 mach_msg2_trap + 8

Thread 2 Crashed:: worker Dispatch queue: com.example.q
0   libsystem_kernel.dylib        \t       0x19633d388 __pthread_kill + 8
";
        let r = ok(text);
        assert_eq!(r.crashed_thread, Some(1));
        let t = r.crashed().unwrap();
        assert_eq!(t.index, 2);
        assert_eq!(t.name.as_deref(), Some("worker"));
        assert_eq!(t.queue.as_deref(), Some("com.example.q"));
        assert_eq!(r.threads[0].name, None);
        let term = r.termination.unwrap();
        assert_eq!(term.namespace.as_deref(), Some("SIGNAL"));
        assert_eq!(term.code, Some(6));
        assert_eq!(term.indicator.as_deref(), Some("Abort trap: 6"));
        // EXC_CRASH codes are never an address.
        assert_eq!(r.exception.fault_address, None);
    }

    // Termination reason variants: `Code 6 Abort trap: 6`, hex code, iOS `SIGNAL 5 ...`.
    #[test]
    fn termination_reason_forms() {
        let t = |v: &str| {
            let mut t = Termination::default();
            parse_termination_reason(&mut t, v);
            (t.namespace, t.code, t.indicator)
        };
        assert_eq!(
            t("Namespace SIGNAL, Code 6 Abort trap: 6"),
            (Some("SIGNAL".into()), Some(6), Some("Abort trap: 6".into()))
        );
        assert_eq!(
            t("Namespace SIGNAL, Code 0xb"),
            (Some("SIGNAL".into()), Some(11), None)
        );
        assert_eq!(
            t("SIGNAL 5 Trace/BPT trap: 5"),
            (
                Some("SIGNAL".into()),
                Some(5),
                Some("Trace/BPT trap: 5".into())
            )
        );
        assert_eq!(
            t("Namespace SPRINGBOARD, Code 0x8badf00d"),
            (Some("SPRINGBOARD".into()), Some(0x8badf00d), None)
        );
    }

    // `Exception Subtype:` with a pointer-authentication failure: both addresses kept.
    #[test]
    fn pac_fault_address() {
        let text = "\
Process: Python [5579]
Exception Type:    EXC_BAD_ACCESS (SIGSEGV)
Exception Subtype: KERN_INVALID_ADDRESS at 0x1741a4f9ef46998d -> 0x000024f9ef46998d (possible pointer authentication failure)
Exception Codes:   0x0000000000000001, 0x1741a4f9ef46998d
";
        let e = ok(text).exception;
        assert_eq!(e.fault_address, Some(0x1741a4f9ef46998d));
        assert_eq!(e.fault_address_stripped, Some(0x24f9ef46998d));
        assert!(e.pointer_auth_failure);
        assert_eq!(
            e.codes.as_deref(),
            Some("0x0000000000000001, 0x1741a4f9ef46998d")
        );
    }

    // `Exception Message:` (macOS) and `Exception Reason:` (iOS exports) fill the message.
    #[test]
    fn exception_message_and_reason() {
        let r = ok("Process: a [1]\nException Message: Namespace SIGNAL, Code 6\n");
        assert_eq!(
            r.exception.message.as_deref(),
            Some("Namespace SIGNAL, Code 6")
        );
        let r = ok("Process: a [1]\nException Reason: *** nil object\n");
        assert_eq!(r.exception.message.as_deref(), Some("*** nil object"));
    }

    // Older single `Exception Codes: KERN_INVALID_ADDRESS at 0x...` line.
    #[test]
    fn old_codes_with_address() {
        let text = "Process: a [1]\nException Type: EXC_BAD_ACCESS (SIGBUS)\n\
                    Exception Codes: KERN_PROTECTION_FAILURE at 0x00000001ffb3d458\n";
        let e = ok(text).exception;
        assert_eq!(e.fault_address, Some(0x1ffb3d458));
        assert_eq!(e.signal.as_deref(), Some("SIGBUS"));
        assert_eq!(
            e.subtype.as_deref(),
            Some("KERN_PROTECTION_FAILURE at 0x00000001ffb3d458")
        );
    }

    // EXC_BREAKPOINT codes look like addresses but are not.
    #[test]
    fn breakpoint_codes_not_an_address() {
        let text = "Process: a [1]\nException Type: EXC_BREAKPOINT (SIGTRAP)\n\
                    Exception Codes: 0x0000000000000001, 0x000000018a98520c\n";
        let e = ok(text).exception;
        assert_eq!(e.fault_address, None);
        assert_eq!(
            e.codes.as_deref(),
            Some("0x0000000000000001, 0x000000018a98520c")
        );
    }

    // EXC_BAD_ACCESS without an address in the text: the `far` register.
    #[test]
    fn bad_access_falls_back_to_far() {
        let text = "Process: a [1]\nException Type: EXC_BAD_ACCESS (SIGSEGV)\n\
                    Exception Codes: EXC_ARM_DA_ALIGN\n\n\
                    Thread 0 crashed with ARM Thread State (64-bit):\n    far: 0x0000000000000018\n";
        assert_eq!(ok(text).exception.fault_address, Some(0x18));
    }

    // iOS: `Thread 0 name:  Dispatch queue: ...` on its own line before `Thread 0 Crashed:`.
    #[test]
    fn ios_thread_name_lines() {
        let text = "\
Process: app [1]
Triggered by Thread:  1

Thread 0 name:  Dispatch queue: com.apple.main-thread
Thread 0:
0   libsystem_kernel.dylib        \t0x00000001925c70f4 0x1925af000 + 98548

Thread 1 name:  Profiler.Dispatcher
Thread 1 Crashed:
0   libsystem_kernel.dylib        \t0x00000001925c7130 0x1925af000 + 98608
";
        let r = ok(text);
        assert_eq!(r.threads[0].queue.as_deref(), Some("com.apple.main-thread"));
        assert_eq!(r.threads[0].name, None);
        assert_eq!(r.threads[1].name.as_deref(), Some("Profiler.Dispatcher"));
        assert_eq!(r.crashed_thread, Some(1));
        // No image list: the offset written after `+` is kept, the image is name-only.
        assert_eq!(r.threads[0].frames[0].image_offset, Some(98548));
        assert_eq!(r.threads[0].frames[0].image_index, Some(0));
        assert_eq!(r.images[0].name.as_deref(), Some("libsystem_kernel.dylib"));
    }

    // `Thread 5:: com.apple.NSEventThread` and `Thread 7:: Thread (pooled)`: names only.
    #[test]
    fn thread_names_without_queue() {
        let text = "Process: a [1]\nThread 5:: com.apple.NSEventThread\n\
                    Thread 7:: Thread (pooled)\nThread 8:\n";
        let r = ok(text);
        let names: Vec<Option<&str>> = r.threads.iter().map(|t| t.name.as_deref()).collect();
        assert_eq!(
            names,
            [
                Some("com.apple.NSEventThread"),
                Some("Thread (pooled)"),
                None
            ]
        );
    }

    // Frame forms: image names with spaces, Rust symbols with `+` inside, `[inlined]`.
    #[test]
    fn frame_forms() {
        let (f, img) = parse_frame(
            "1   FabFilter Pro-Q 4             \t       0x124643ebc 0x12450c000 + 1277628",
        )
        .unwrap();
        assert_eq!(img, Some("FabFilter Pro-Q 4"));
        assert_eq!(f.address, Some(0x124643ebc));
        assert_eq!(f.symbol, None);
        assert_eq!(f.image_offset, Some(1277628));

        let (f, img) = parse_frame(
            "3   QtWidgets                     \t       0x10b8b3f20 QWidget::event(QEvent*) + 236",
        )
        .unwrap();
        assert_eq!(img, Some("QtWidgets"));
        assert_eq!(f.symbol.as_deref(), Some("QWidget::event(QEvent*)"));
        assert_eq!(f.symbol_offset, Some(236));
        assert_eq!(f.source_file, None);

        let (f, _) = parse_frame(
            "2   rs-vst-host  0x1005dd4cc core::ops::function::FnOnce::call_once + 180 (function.rs:250) [inlined]",
        )
        .unwrap();
        assert_eq!(
            f.symbol.as_deref(),
            Some("core::ops::function::FnOnce::call_once")
        );
        assert_eq!(f.source_file.as_deref(), Some("function.rs"));
        assert_eq!(f.source_line, Some(250));

        let (f, img) = parse_frame("0   ???   0x7ff89ccf4940 ???").unwrap();
        assert_eq!(img, Some("???"));
        assert_eq!(f.symbol, None);

        // `0 + N`: a frame outside every image, no symbol.
        let (f, _) = parse_frame("1   ???  \t0x000064656b636f6c 0 + 110386756153196").unwrap();
        assert_eq!(f.symbol, None);

        // A symbol without an offset.
        let (f, _) = parse_frame("4   dyld  0x190762b98 start").unwrap();
        assert_eq!(f.symbol.as_deref(), Some("start"));
        assert_eq!(f.symbol_offset, None);

        assert!(parse_frame("Logical CPU: 0").is_none());
        assert!(parse_frame("12abc").is_none());
        assert!(parse_frame("3   image-without-address foo").is_none());
    }

    // Binary image line forms.
    #[test]
    fn binary_image_forms() {
        // Version with nested parentheses; bundle id differs from the file name.
        let i = parse_image("0x104fe4000 -        0x105307fff org.python.python (3.12.3, (c) 2001-2023 Python Software Foundation.) <bb235480-7ef7-3727-8512-14b6e41b25b4> /opt/homebrew/Python.framework/Versions/3.12/Python").unwrap();
        assert_eq!(i.name.as_deref(), Some("Python"));
        assert_eq!(i.bundle_id.as_deref(), Some("org.python.python"));
        assert_eq!(
            i.bundle_version.as_deref(),
            Some("3.12.3, (c) 2001-2023 Python Software Foundation.")
        );
        assert_eq!(i.size, Some(0x105307fff - 0x104fe4000 + 1));

        // `+` prefix, arch, UUID without dashes, no version.
        let i = parse_image("0x1043c4000 -        0x108287fff +osaurus arm64  <2f5ccac7cf4f3f8786897c673e90e595> /Users/me/osaurus").unwrap();
        assert_eq!(i.name.as_deref(), Some("osaurus"));
        assert_eq!(i.arch.as_deref(), Some("arm64"));
        assert_eq!(i.bundle_id, None);
        assert_eq!(
            i.uuid.as_deref(),
            Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595")
        );

        // iOS form.
        let i = parse_image("0x100e1c000 - 0x100e23fff iOSCrashingTest arm64e  <82d13d98219e3040b62a07a297007a7c> /private/var/containers/Bundle/Application/X/iOSCrashingTest.app/iOSCrashingTest").unwrap();
        assert_eq!(i.arch.as_deref(), Some("arm64e"));
        assert_eq!(i.base, Some(0x100e1c000));
        assert_eq!(i.size, Some(0x8000));

        // Path with spaces, upper-case UUID.
        let i = parse_image("0x10a9d6000 -        0x10ab4bfff libvips.dylib (*) <1D4C196B-2627-3B71-9183-CDBAB8DE5498> /Applications/Image Optimizer.app/Contents/Frameworks/libvips.dylib").unwrap();
        assert_eq!(
            i.path.as_deref(),
            Some("/Applications/Image Optimizer.app/Contents/Frameworks/libvips.dylib")
        );
        assert_eq!(
            i.uuid.as_deref(),
            Some("1d4c196b-2627-3b71-9183-cdbab8de5498")
        );
        assert_eq!(i.bundle_version, None);

        // The null image: size would overflow.
        let i = parse_image(
            "0x0 - 0xffffffffffffffff ??? (*) <00000000-0000-0000-0000-000000000000> ???",
        )
        .unwrap();
        assert_eq!(i.size, None);
        assert_eq!(i.name, None);
        assert_eq!(i.path, None);

        // Old reports without a UUID.
        let i = parse_image("0x1000 - 0x1fff +foo ??? (1.0) /usr/lib/foo").unwrap();
        assert_eq!(i.uuid, None);
        assert_eq!(i.name.as_deref(), Some("foo"));
        assert_eq!(i.path.as_deref(), Some("/usr/lib/foo"));

        assert!(parse_image("not an image").is_none());
        assert!(parse_image("0xzz - 0x1 foo").is_none());
    }

    // Two images with the same bundle id (Python's launcher and framework): the address
    // picks the right one; unknown names fall back to the address range.
    #[test]
    fn image_resolution_ambiguous_name_and_range_fallback() {
        let text = "\
Process: Python [1]
Thread 0 Crashed:
0   org.python.python             \t0x0000000104fe5000 PyRun + 4
1   org.python.python             \t0x00000001045b4010 main + 16
2   SomethingTruncated            \t0x0000000104fe6000 0x104fe4000 + 8192

Binary Images:
       0x1045b4000 -        0x1045b7fff org.python.python (3.12.3) <61ef1b6c-8138-31f9-9565-7398d3bb05de> /opt/Python.app/Contents/MacOS/Python
       0x104fe4000 -        0x105307fff org.python.python (3.12.3) <bb235480-7ef7-3727-8512-14b6e41b25b4> /opt/Python.framework/Versions/3.12/Python
";
        let r = ok(text);
        let f = &r.threads[0].frames;
        assert_eq!(f[0].image_index, Some(1));
        assert_eq!(f[0].image_offset, Some(0x1000));
        assert_eq!(f[1].image_index, Some(0));
        assert_eq!(f[1].image_offset, Some(0x10));
        assert_eq!(f[2].image_index, Some(1));
        assert_eq!(f[2].image_offset, Some(0x2000));
    }

    // Old iOS `Last Exception Backtrace:` as one parenthesised line of addresses.
    #[test]
    fn last_exception_backtrace_one_line() {
        let text = "\
Process: app [1]
Last Exception Backtrace:
(0x1850f6d8c 0x1842b05ec 0x100e1c010)

Thread 0 Crashed:
0   libsystem_kernel.dylib        \t0x00000001853d2388 __pthread_kill + 8

Binary Images:
0x100e1c000 - 0x100e23fff app arm64  <82d13d98219e3040b62a07a297007a7c> /var/app.app/app
";
        let r = ok(text);
        let leb = &r.last_exception_backtrace;
        assert_eq!(leb.len(), 3);
        assert_eq!(leb[0].address, Some(0x1850f6d8c));
        assert_eq!(leb[0].image_index, None);
        assert_eq!(leb[2].image_index, Some(0));
        assert_eq!(leb[2].image_offset, Some(0x10));
        assert_eq!(r.threads.len(), 1);
    }

    // The numbered-frame `Last Exception Backtrace:` of macOS 12+.
    #[test]
    fn last_exception_backtrace_frames() {
        let text = "\
Process: app [1]
Last Exception Backtrace:
0   CoreFoundation                        0x1804f71c4 __exceptionPreprocess + 160
1   libobjc.A.dylib                       0x18009c094 objc_exception_throw + 72

Thread 0 Crashed::  Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t       0x1853d2388 __pthread_kill + 8
";
        let r = ok(text);
        let leb = &r.last_exception_backtrace;
        assert_eq!(leb.len(), 2);
        assert_eq!(leb[1].symbol.as_deref(), Some("objc_exception_throw"));
        assert_eq!(r.crashed_thread, Some(0));
        assert_eq!(r.threads[0].frames.len(), 1);
    }

    // macOS 10.x `Application Specific Backtrace 1:` is the exception backtrace.
    #[test]
    fn application_specific_backtrace() {
        let text = "\
Process: SecurityAgent [1]
Application Specific Information:
*** Terminating app due to uncaught exception
abort() called

Application Specific Backtrace 1:
0   CoreFoundation                      0x00007fff3fc7d32b __exceptionPreprocess + 171
1   libobjc.A.dylib                     0x00007fff66df6c76 objc_exception_throw + 48

Thread 0 Crashed:: Dispatch queue: com.apple.main-thread
0   libsystem_kernel.dylib        \t0x00007fff6813ee3e __pthread_kill + 10
";
        let r = ok(text);
        assert_eq!(r.asi.len(), 2);
        assert_eq!(r.last_exception_backtrace.len(), 2);
        assert_eq!(r.threads[0].frames.len(), 1);
    }

    // `Error Formulating Crash Report:` is a warning; parsing goes on.
    #[test]
    fn error_formulating_is_a_warning() {
        let text = "\
Process: Python [1]
Crashed Thread:        0  Dispatch queue: cache queue
Exception Type:        EXC_CRASH (SIGABRT)

Error Formulating Crash Report:
dyld_process_snapshot_create_for_process failed with 5

Thread 0 Crashed::  Dispatch queue: cache queue
0   libsystem_kernel.dylib        \t       0x1853d2388 __pthread_kill + 8
";
        let r = ok(text);
        assert!(r
            .warnings
            .iter()
            .any(|w| w.contains("dyld_process_snapshot_create_for_process failed with 5")));
        assert_eq!(r.crashed_thread, Some(0));
        assert_eq!(r.threads[0].queue.as_deref(), Some("cache queue"));
    }

    // A hand-edited paste starting with lowercase `process:`.
    #[test]
    fn lowercase_keys() {
        let r = ok("process:               Python [53306]\ncode type: ARM-64 (Native)\n");
        assert_eq!(r.process.name.as_deref(), Some("Python"));
        assert_eq!(r.process.pid, Some(53306));
        assert_eq!(r.cpu_type.as_deref(), Some("ARM-64"));
    }

    // Not a crash report, or nothing at all.
    #[test]
    fn not_a_crash_report() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse(" \n\t\n"), Err(ParseError::Empty));
        assert!(matches!(
            parse("# Notes\nVersion: 1.0\nPath: /tmp\nsome prose here\n"),
            Err(ParseError::Unrecognized(_))
        ));
        assert!(matches!(
            parse("{\"bug_type\":\"309\"}\n{\n  \"procName\" : \"x\"\n}\n"),
            Err(ParseError::Unrecognized(_))
        ));
    }

    // Truncated pastes: what is there, plus warnings.
    #[test]
    fn truncated_report_warns() {
        let text =
            "Process: a [1]\nCrashed Thread: 3\n\nThread 0:\n0   libfoo.dylib  0x1000 foo + 1\n";
        let r = ok(text);
        assert_eq!(r.crashed_thread, None);
        assert!(r.warnings.iter().any(|w| w == "crashed thread 3 not found"));
        assert!(r.warnings.iter().any(|w| w == "no Binary Images section"));
        // A thread backtrace alone is enough to recognise a fragment.
        let r = ok("Thread 4 Crashed::  Dispatch queue: q\n0   libsystem_kernel.dylib  0x1c25699b8 __pthread_kill + 8\n");
        assert_eq!(r.crashed_thread, Some(0));
        assert_eq!(r.crashed().unwrap().index, 4);
    }

    // A fragment without `Binary Images:` keeps the frames' image names as name-only images.
    #[test]
    fn fragment_without_images_keeps_image_names() {
        let text = "Thread 4 Crashed::  Dispatch queue: q\n\
                    0   libsystem_kernel.dylib  0x1c25699b8 __pthread_kill + 8\n\
                    1   FabFilter Pro-Q 4  0x124643ebc 0x12450c000 + 1277628\n\
                    2   ???  0x1ffb3d458 ???\n\
                    3   libsystem_kernel.dylib  0x1c2569000 mach_msg + 8\n";
        let r = ok(text);
        let names: Vec<Option<&str>> = r.images.iter().map(|i| i.name.as_deref()).collect();
        assert_eq!(
            names,
            [Some("libsystem_kernel.dylib"), Some("FabFilter Pro-Q 4")]
        );
        assert!(r
            .images
            .iter()
            .all(|i| i.uuid.is_none() && i.base.is_none()));
        let f = &r.threads[0].frames;
        assert_eq!(f[0].image_index, Some(0));
        assert_eq!(f[0].image_offset, None);
        assert_eq!(f[1].image_index, Some(1));
        assert_eq!(f[1].image_offset, Some(1277628));
        assert_eq!(f[2].image_index, None);
        assert_eq!(f[3].image_index, Some(0));
        assert!(r
            .warnings
            .iter()
            .any(|w| w.contains("named from frames only")));
    }

    // The crash dialog copy: the legacy part ends at `Full Report`.
    #[test]
    fn stops_at_full_report() {
        let text = "\
-------------------------------------
Translated Report (Full Report Below)
-------------------------------------
Process: a [1]
Thread 0 Crashed:
0   libfoo.dylib  0x1000 foo + 1

-----------
Full Report
-----------
{\"app_name\":\"a\"}
Process: not-this [2]
Thread 9:
0   libbar.dylib  0x2000 bar + 1
";
        let r = ok(text);
        assert_eq!(r.threads.len(), 1);
        assert_eq!(r.process.name.as_deref(), Some("a"));
    }

    // Odd bytes and multi-byte spaces never panic (slicing stays on char boundaries).
    #[test]
    fn unicode_never_panics() {
        let text = "Process: é [1]\nThread 0 Crashed:\n0\u{a0}\u{a0}lib é\u{a0}0x10\u{a0}sym + 1\n\
                    Binary Images:\n0x1\u{2003}-\u{2003}0x2 é (ü) <ä> /é\nThread é\nThread 1é:\n";
        let r = ok(text);
        assert_eq!(r.process.name.as_deref(), Some("é"));
    }

    // A 6400-frame thread parses in linear time.
    #[test]
    fn deep_thread_is_fast() {
        let mut text = String::from("Process: deep [1]\nCrashed Thread: 0\n\nThread 0 Crashed:\n");
        for i in 0..6400u64 {
            text.push_str(&format!(
                "{i:<3} deep                          \t0x{:016x} recurse(int) + 12\n",
                0x100000000u64 + i * 4
            ));
        }
        text.push_str("\nBinary Images:\n0x100000000 - 0x10000ffff +deep x86_64 <2f5ccac7cf4f3f8786897c673e90e595> /bin/deep\n");
        let start = std::time::Instant::now();
        let r = ok(&text);
        let took = start.elapsed();
        assert_eq!(r.threads[0].frames.len(), 6400);
        assert!(r.threads[0].frames.iter().all(|f| f.image_index == Some(0)));
        // Generous bound: only a quadratic algorithm gets near it.
        assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        // Arbitrary text never panics.
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
        }
        // Arbitrary lines that look like report lines never panic.
        #[test]
        fn report_like_lines_never_panic(lines in proptest::collection::vec(
            "(Thread [0-9]{1,3}( Crashed)?:{1,2}|[0-9]{1,3} +|0x[0-9a-f]{1,17} - |Exception (Type|Codes|Subtype): |Termination Reason: |Date/Time: |Binary Images:|Last Exception Backtrace:|)[ -~\\t]{0,60}",
            0..40,
        )) {
            let _ = parse(&lines.join("\n"));
        }
    }

    // Regression: a paste cut inside the pid (`Process: python3.12 [12`) keeps the name clean.
    #[test]
    fn process_cut_inside_pid() {
        assert_eq!(
            split_name_pid("python3.12 [12"),
            (Some("python3.12".into()), None)
        );
        assert_eq!(
            split_name_pid("python3.12 ["),
            (Some("python3.12".into()), None)
        );
        assert_eq!(
            split_name_pid("python3.12 [12]"),
            (Some("python3.12".into()), Some(12))
        );
    }

    // ---- corpus tests (AGX_TRIAGE_CORPUS or <repo>/../shared/corpus) ----

    fn corpus_dir() -> Option<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if let Ok(v) = std::env::var("AGX_TRIAGE_CORPUS") {
            let p = root.join(v);
            assert!(
                p.is_dir(),
                "AGX_TRIAGE_CORPUS={} is not a folder",
                p.display()
            );
            return Some(p);
        }
        let p = root.join("../shared/corpus");
        if p.is_dir() {
            Some(p)
        } else {
            eprintln!("skipping corpus test: no corpus (set AGX_TRIAGE_CORPUS)");
            None
        }
    }

    /// The legacy text of a corpus file: before `Full Report` for crash-dialog copies,
    /// without the JSON header line for `bug_type` 109 / Xcode exports.
    fn legacy_part(raw: &str) -> &str {
        let mut text = raw;
        if text.trim_start().starts_with('{') {
            text = text.split_once('\n').map_or("", |(_, rest)| rest);
        }
        let mut end = text.len();
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            if line.trim() == "Full Report" {
                end = pos;
                break;
            }
            pos += line.len();
        }
        &text[..end]
    }

    /// (file, crashed thread number as written in the report)
    const CORPUS: &[(&str, usize)] = &[
        ("bibleshow-maui-1.crash", 0),
        ("chunkhound-duckdb-1.crash", 0),
        ("closeyourtab-sim-1.crash", 0),
        ("decodableresult-1.crash", 0),
        ("focustogether-1.crash", 0),
        ("graphtool-python-1.crash", 0),
        ("icdab-avx-rosetta-1.crash", 0),
        ("icdab-camera-iosonmac-1.crash", 3),
        ("icdab-fud-1.crash", 1),
        ("icdab-planets-iosonmac-1.crash", 0),
        ("icdab-rosetta-native-0.crash", 1),
        ("icdab-rosetta-translated-0.crash", 0),
        ("icdab-securityagent-1.crash", 0),
        ("icdab-sema-1.crash", 0),
        ("icdab-sema-arm64-1.crash", 0),
        ("icdab-sirincservice-1.crash", 0),
        ("icdab-taskforpid-1.crash", 0),
        ("icdab-thread-arm64-1.crash", 0),
        ("icdab-wrap-iosonmac-1.crash", 0),
        ("imageoptimizer-1.crash", 0),
        ("ips2crashlog-transit-sim-1-translated.crash", 13),
        ("jubilee-simulator-1.crash", 0),
        ("macsymbolicator-ios-1-jsonheader.crash", 0),
        ("novellum-tauri-1.crash", 0),
        ("novellum-tauri-3.crash", 0),
        ("opendrcom-1.crash", 0),
        ("passenger-helper-1.crash", 0),
        ("photoguru-llama-1.crash", 0),
        ("qlcplus-1.crash", 0),
        ("qmedia-ios-bt109-1.crash", 35),
        ("trashmailpanda-dotnet-1.crash", 0),
        ("xcode15crash-1.crash", 0),
        ("yearbirder-pyside-1.crash", 0),
        ("pycrashreport-itunescloudd-ios14-bt109-1.ips", 7),
    ];

    /// MANIFEST.tsv rows: file -> (process, exception type column).
    fn manifest(dir: &Path) -> HashMap<String, (String, String)> {
        let text = std::fs::read_to_string(dir.join("real/MANIFEST.tsv")).unwrap();
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
        let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
        let (pc, ec) = (col("process"), col("exception type"));
        lines
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                Some((
                    f.first()?.to_string(),
                    (f.get(pc)?.to_string(), f.get(ec)?.to_string()),
                ))
            })
            .collect()
    }

    // Every legacy-layout file of the corpus against MANIFEST.tsv and its own thread headers.
    #[test]
    fn corpus_real_reports() {
        let Some(dir) = corpus_dir() else { return };
        let man = manifest(&dir);
        let mut total_frames = 0usize;
        let mut resolved_frames = 0usize;
        for &(file, crashed_no) in CORPUS {
            let raw = std::fs::read_to_string(dir.join("real").join(file)).unwrap();
            let r = parse(legacy_part(&raw)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let (m_proc, m_exc) = man
                .get(file)
                .unwrap_or_else(|| panic!("{file} not in MANIFEST"));
            assert_eq!(r.process.name.as_deref(), Some(m_proc.as_str()), "{file}");
            let ty = r.exception.exc_type.as_deref().unwrap_or("");
            let sig = r.exception.signal.as_deref().unwrap_or("");
            let head = format!("{ty} ({sig})");
            assert!(m_exc.starts_with(&head), "{file}: {head} vs {m_exc}");
            // The manifest adds the subtype for EXC_BAD_ACCESS; it must match ours.
            let tail = m_exc[head.len()..].trim();
            if !tail.is_empty() {
                assert_eq!(r.exception.subtype.as_deref(), Some(tail), "{file}");
                let addr = tail
                    .split(" at ")
                    .nth(1)
                    .and_then(|a| a.split_whitespace().next());
                assert_eq!(
                    r.exception.fault_address,
                    addr.and_then(parse_hex),
                    "{file}"
                );
            }
            let crashed = r
                .crashed()
                .unwrap_or_else(|| panic!("{file}: no crashed thread"));
            assert_eq!(crashed.index, crashed_no, "{file}");
            assert!(crashed.crashed, "{file}");
            assert!(
                !crashed.frames.is_empty(),
                "{file}: crashed thread has no frames"
            );
            assert!(!r.images.is_empty(), "{file}: no images");
            assert!(
                r.images.iter().filter(|i| i.uuid.is_some()).count() * 10 >= r.images.len() * 9,
                "{file}: images without UUIDs"
            );
            // Frame 0 of the crashed thread resolves to an image with a UUID, unless it is
            // `???` (Rosetta and JIT frames).
            let f0 = &crashed.frames[0];
            if let Some(img) = r.image_of(f0) {
                assert!(img.uuid.is_some(), "{file}");
                assert_eq!(
                    f0.image_offset,
                    f0.address.zip(img.base).map(|(a, b)| a - b),
                    "{file}"
                );
            }
            for t in &r.threads {
                for f in &t.frames {
                    total_frames += 1;
                    if r.image_of(f).is_some_and(|i| i.uuid.is_some()) {
                        resolved_frames += 1;
                    }
                }
            }
            assert!(
                !r.warnings
                    .iter()
                    .any(|w| w.contains("not found") || w.contains("Binary Images")),
                "{file}: {:?}",
                r.warnings
            );
        }
        eprintln!(
            "corpus: {resolved_frames}/{total_frames} frames resolved to an image with a UUID"
        );
        assert!(resolved_frames * 100 >= total_frames * 97);
    }

    // Specific corpus quirks: PAC address, Rosetta, iOS arch images, the 1.5 MB report.
    #[test]
    fn corpus_specific_quirks() {
        let Some(dir) = corpus_dir() else { return };
        let read = |f: &str| std::fs::read_to_string(dir.join("real").join(f)).unwrap();

        let r = parse(legacy_part(&read("yearbirder-pyside-1.crash"))).unwrap();
        assert!(r.exception.pointer_auth_failure);
        assert_eq!(r.exception.fault_address, Some(0x1741a4f9ef46998d));
        assert_eq!(r.exception.fault_address_stripped, Some(0x24f9ef46998d));
        assert_eq!(
            r.registers.as_ref().and_then(|s| s.get("far")),
            Some(0x1741a4f9ef46998d)
        );
        assert_eq!(r.os.train.as_deref(), Some("macOS 26.3.1"));
        assert_eq!(r.crashed().unwrap().name.as_deref(), Some("CrBrowserMain"));

        let r = parse(legacy_part(&read("icdab-rosetta-translated-0.crash"))).unwrap();
        assert_eq!(r.translated, Some(true));
        assert_eq!(r.cpu_type.as_deref(), Some("X86-64"));

        let r = parse(legacy_part(&read("macsymbolicator-ios-1-jsonheader.crash"))).unwrap();
        assert!(r.images.iter().all(|i| i.arch.is_some()));
        let app = r
            .images
            .iter()
            .find(|i| i.name.as_deref() == Some("iOSCrashingTest"))
            .unwrap();
        assert_eq!(
            app.uuid.as_deref(),
            Some("82d13d98-219e-3040-b62a-07a297007a7c")
        );

        let r = parse(legacy_part(&read("icdab-fud-1.crash"))).unwrap();
        assert_eq!(r.os.train.as_deref(), Some("Mac OS X 10.13.4"));
        assert_eq!(r.os.build.as_deref(), Some("17E199"));
        assert_eq!(
            r.captured_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2018-06-12T07:34:15.054+00:00")
        );
        assert_eq!(
            r.registers.as_ref().and_then(|s| s.flavor.as_deref()),
            Some("x86_THREAD_STATE")
        );

        let raw = read("passenger-helper-1.crash");
        let start = std::time::Instant::now();
        let r = parse(&raw).unwrap();
        eprintln!(
            "passenger-helper-1.crash ({} bytes): {:?}",
            raw.len(),
            start.elapsed()
        );
        assert_eq!(r.threads.len(), 220);
        assert_eq!(r.crashed().unwrap().frames.len(), 5);
    }

    // Fragments (truncated pastes) parse or are refused, never panic; the ones with crash
    // fields yield reports.
    #[test]
    fn corpus_fragments_never_panic() {
        let Some(dir) = corpus_dir() else { return };
        let mut n = 0;
        for entry in std::fs::read_dir(dir.join("fragments")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tsv") {
                continue;
            }
            let raw = std::fs::read_to_string(&path).unwrap();
            let _ = parse(&raw);
            n += 1;
        }
        assert!(n >= 7);
        let frag = |f: &str| std::fs::read_to_string(dir.join("fragments").join(f)).unwrap();
        let r = parse(&frag("rsvsthost-1.crash")).unwrap();
        assert_eq!(r.process.name.as_deref(), Some("rs-vst-host"));
        assert_eq!(r.exception.fault_address, Some(0x1ffb3d458));
        assert_eq!(r.crashed().unwrap().frames.len(), 88);
        assert_eq!(r.crashed().unwrap().frames[1].symbol, None);
        assert!(r.warnings.iter().any(|w| w == "no Binary Images section"));
        let r = parse(&frag("invokeai-issue-2639-excerpt-1.crash")).unwrap();
        assert_eq!(r.process.name.as_deref(), Some("Python"));
        let r = parse(&frag("invokeai-issue-2336-excerpt-1.crash")).unwrap();
        assert!(r
            .warnings
            .iter()
            .any(|w| w.starts_with("Error Formulating")));
        let r = parse(&frag("metaljl-issue-282-excerpt-1.crash")).unwrap();
        assert_eq!(r.exception.fault_address, Some(0x18));
        assert!(r.warnings.iter().any(|w| w == "crashed thread 2 not found"));
        let r = parse(&frag("lettier-3dshaders-issue-28-excerpt-1.crash")).unwrap();
        assert_eq!(r.crashed().unwrap().index, 4);
    }

    // Every prefix of a few real files (20 cut points each) parses without panicking.
    #[test]
    fn corpus_prefixes_never_panic() {
        let Some(dir) = corpus_dir() else { return };
        for file in [
            "yearbirder-pyside-1.crash",
            "icdab-fud-1.crash",
            "qmedia-ios-bt109-1.crash",
            "opendrcom-1.crash",
        ] {
            let raw = std::fs::read_to_string(dir.join("real").join(file)).unwrap();
            let text = legacy_part(&raw);
            for k in 1..=20 {
                let mut cut = text.len() * k / 20;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                match parse(&text[..cut]) {
                    Ok(r) => assert!(r.process.name.is_some() || !r.threads.is_empty()),
                    Err(e) => assert!(
                        matches!(e, ParseError::Empty | ParseError::Unrecognized(_)),
                        "{file}@{cut}: {e}"
                    ),
                }
            }
        }
    }
}
