//! Crash-report parsing: one model ([`CrashReport`]), one parser per format.
//!
//! [`parse`] detects the format of a file's bytes and hands it to [`ips`] or [`legacy`].
//! This module knows nothing of SQL, markdown or the terminal. Untrusted input never panics:
//! a truncated file yields what it holds plus warnings, or one [`ParseError`].
//!
//! Detection, in order:
//! - `.ips` documents anywhere in the text ([`ips::scan`]): a JSON header line and a JSON body,
//!   possibly several per file, possibly after prose or the crash dialog's translated text;
//! - a JSON header over a *text* body (`bug_type` 109 on old iOS, Xcode exports with 309): the
//!   body goes to [`legacy::parse`] and the header's fields are laid over the result;
//! - a crash dialog copy whose embedded Full Report is missing or unreadable: its translated
//!   text goes to [`legacy::parse`];
//! - anything else: the whole text goes to [`legacy::parse`].

use std::borrow::Cow;

use chrono::{DateTime, Utc};

pub mod ips;
pub mod legacy;
pub mod model;

pub use model::*;

/// Why a file could not be parsed into any report.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The file has no bytes (or only white space).
    #[error("empty file")]
    Empty,
    /// Neither an `.ips` header nor any legacy crash-report field was found.
    #[error("not a crash report: {0}")]
    Unrecognized(String),
    /// JSON that could not be read at all (not even partially).
    #[error("invalid JSON in {part} at line {line}, column {column}: {message}")]
    Json {
        /// Which JSON object failed to read; today always `"header"` (a broken body keeps what
        /// precedes the break instead of failing).
        part: &'static str,
        /// 1-based line in the file where reading stopped.
        line: usize,
        /// 1-based column (in bytes) on that line.
        column: usize,
        /// serde_json's description, e.g. `expected value`.
        message: String,
    },
    /// The file ends before anything usable.
    #[error("truncated: {0}")]
    Truncated(String),
}

impl ParseError {
    /// A short stable name for logs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty",
            ParseError::Unrecognized(_) => "unrecognized",
            ParseError::Json { .. } => "json",
            ParseError::Truncated(_) => "truncated",
        }
    }
}

/// Which threads' frames a parse builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThreadFrames {
    /// Every thread with its frames (`show`, `symbolicate`, the model snapshots).
    #[default]
    All,
    /// Only the crashed thread's frames (and the last exception backtrace); every other thread
    /// is kept with its index, id, name and queue but no frames. What ingest stores; the
    /// report is otherwise the same as with [`ThreadFrames::All`], warnings included, and the
    /// stored original can always be parsed again in full.
    Crashed,
}

/// Parse one file's bytes into the reports it holds (usually one), every thread with its
/// frames.
pub fn parse(bytes: &[u8]) -> Result<Vec<CrashReport>, ParseError> {
    parse_with(bytes, ThreadFrames::All)
}

/// [`parse`], building only the frames `depth` asks for.
pub fn parse_with(bytes: &[u8], depth: ThreadFrames) -> Result<Vec<CrashReport>, ParseError> {
    parse_with_reader(bytes, depth, JsonReader::Fast)
}

/// Which reader turns `.ips` JSON objects into reports.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonReader {
    /// The fast reader, and serde for what it does not read (the default).
    Fast,
    /// serde alone: what the fast reader is checked against.
    Serde,
}

/// [`parse_with`] with a choice of JSON reader: the results are the same (the fast reader gives
/// way to serde wherever they could differ); tests and benchmarks compare the two.
#[doc(hidden)]
pub fn parse_with_reader(
    bytes: &[u8],
    depth: ThreadFrames,
    reader: JsonReader,
) -> Result<Vec<CrashReport>, ParseError> {
    let (text, decode_warning) = decode(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let scan = ips::scan_with_reader(text, depth, reader == JsonReader::Fast);
    let mut reports = Vec::with_capacity(scan.documents.len().max(1));
    if scan.documents.is_empty() {
        match legacy::parse(text) {
            Ok(r) => reports.push(r),
            Err(legacy_err) => {
                return Err(match scan.broken {
                    Some(e) => e,
                    None if looks_like_json(text) => ParseError::Unrecognized(
                        "JSON without an .ips header or body object (a fragment?)".into(),
                    ),
                    None => legacy_err,
                })
            }
        }
    }
    for doc in scan.documents {
        let report = finish(doc);
        // `{"bug_type":"309"}` over `hello world` (or over nothing): a header that names no
        // process, incident or exception, with no stack or image under it, is not a partial
        // crash report but nothing at all; storing it would add an empty "unknown exception"
        // crash to every count.
        if !is_empty_shell(&report) {
            reports.push(report);
        }
    }
    if reports.is_empty() {
        return Err(ParseError::Unrecognized(
            "an .ips header that names no process, incident or exception, over a body that is \
             not a crash report"
                .into(),
        ));
    }
    if let Some(w) = decode_warning {
        for r in &mut reports {
            r.warnings.insert(0, w.clone());
        }
    }
    for r in &mut reports {
        cap_warnings(&mut r.warnings);
        if depth == ThreadFrames::Crashed {
            // Legacy text builds every thread (it is cheap there); drop the others' frames, so
            // that the depth means the same whatever the format.
            r.drop_other_threads_frames();
        }
    }
    Ok(reports)
}

/// A crash "report" with nothing in it: no process, incident id or exception, no stack, no
/// image. GPU events and other diagnostics are kept whatever they hold (they are counted
/// apart).
fn is_empty_shell(r: &CrashReport) -> bool {
    r.kind == ReportKind::Crash
        && r.process.name.is_none()
        && r.incident_id.is_none()
        && r.exception.exc_type.is_none()
        && r.exception.signal.is_none()
        && r.threads.is_empty()
        && r.images.is_empty()
        && r.last_exception_backtrace.is_empty()
}

/// At most this many warnings are kept per report; the rest are counted in one last line.
pub const MAX_WARNINGS: usize = 100;

/// Keep the first [`MAX_WARNINGS`] warnings and say how many more there were. A report whose
/// every frame is odd in its own way (e.g. 25,000 frames each pointing at a different missing
/// image) would otherwise carry, store and print 25,000 lines that say the same thing.
fn cap_warnings(warnings: &mut Vec<String>) {
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
        warnings.push(format!("... and {more} more warnings, not listed"));
    }
}

/// Turn one found `.ips` document into its report, calling the legacy parser where the JSON
/// alone is not the report.
fn finish(doc: ips::Document<'_>) -> CrashReport {
    let ips::Document {
        prefix,
        mut report,
        body,
    } = doc;
    match body {
        ips::Body::Json => report,
        ips::Body::Partial | ips::Body::Missing => {
            let usable = report.exception.exc_type.is_some()
                && report.crashed().is_some_and(|t| !t.frames.is_empty());
            // Regression: a crash dialog copy whose Full Report was cut off in the paste; its
            // translated text above holds the crash.
            let translated = match translated_text(prefix) {
                Some(t) if !usable => t,
                _ => return report,
            };
            match legacy::parse(translated) {
                Ok(mut l) => {
                    overlay_header(&mut l, &report);
                    l.warnings.push(
                        "the embedded Full Report is missing or cut short; fields come from the \
                         translated text"
                            .into(),
                    );
                    l
                }
                Err(e) => {
                    report.warnings.push(format!(
                        "the translated text above the Full Report could not be read either: {e}"
                    ));
                    report
                }
            }
        }
        ips::Body::Text(body) => {
            report.format = SourceFormat::JsonHeaderLegacy;
            let crash_or_unknown = report
                .bug_type
                .as_deref()
                .and_then(ips::kind_of_bug_type)
                .is_none_or(|k| k == ReportKind::Crash);
            if !crash_or_unknown {
                // e.g. 202 cpu_resource: a microstackshot, not a crash text; the header is all
                // we read.
                return report;
            }
            match legacy::parse(body) {
                Ok(mut l) => {
                    overlay_header(&mut l, &report);
                    l.kind = ReportKind::Crash;
                    l.format = SourceFormat::JsonHeaderLegacy;
                    l
                }
                Err(e) => {
                    report.warnings.push(format!(
                        "the text body under the JSON header could not be read: {e}"
                    ));
                    report
                }
            }
        }
    }
}

/// Lay the header's fields over a report read from legacy text: `bug_type` and `incident_id`
/// from the header; OS version, process name and time only where the text had none.
fn overlay_header(target: &mut CrashReport, header: &CrashReport) {
    if header.bug_type.is_some() {
        target.bug_type = header.bug_type.clone();
    }
    if header.incident_id.is_some() {
        target.incident_id = header.incident_id.clone();
    }
    if target.os.version.is_none() {
        target.os.version = header.os.version.clone();
    }
    if target.process.name.is_none() {
        target.process.name = header.process.name.clone();
    }
    if target.captured_at.is_none() && target.captured_at_raw.is_none() {
        target.captured_at = header.captured_at;
        target.captured_at_raw = header.captured_at_raw.clone();
    }
    let mut warnings = header.warnings.clone();
    warnings.append(&mut target.warnings);
    target.warnings = warnings;
}

/// The crash dialog's translated text in the text before an embedded `.ips`, without the
/// `Full Report` banner; `None` when there is none.
fn translated_text(prefix: &str) -> Option<&str> {
    let mut text = prefix;
    if let Some(i) = text.rfind("Full Report") {
        // Keep "Translated Report (Full Report Below)": only cut at the banner line.
        let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        if text[line_start..i].trim().is_empty()
            && text[i..].lines().next().map(str::trim) == Some("Full Report")
        {
            text = &text[..line_start];
        }
    }
    let text = text.trim_end().trim_end_matches('-').trim_end();
    let has_fields = text.contains("Process:")
        || text.contains("Exception Type:")
        || text.contains("Incident Identifier:");
    has_fields.then_some(text)
}

/// Bytes to text. `.ips` and `.crash` are UTF-8; invalid sequences (a paste cut mid-character,
/// a mangled path) are replaced, with a warning. UTF-16 with a byte-order mark is decoded.
fn decode(bytes: &[u8]) -> (Cow<'_, str>, Option<String>) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(s), None);
    }
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, true)),
        [0xFE, 0xFF, rest @ ..] => Some((rest, false)),
        _ => None,
    };
    if let Some((rest, little)) = utf16 {
        let units = rest.chunks_exact(2).map(|c| {
            if little {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        let text: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        return (Cow::Owned(text), Some("file is UTF-16; decoded".into()));
    }
    (
        String::from_utf8_lossy(bytes),
        Some("file is not valid UTF-8; invalid bytes were replaced with U+FFFD".into()),
    )
}

fn looks_like_json(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('{') || t.starts_with('[') || t.contains("\":")
}

/// Parse a report time as Apple writes it (`2026-04-01 12:39:56.0657 -0700`,
/// `2024-09-20 15:32:02.00 +0200`, `2018-06-12 08:34:37 +0100`) into UTC.
pub fn parse_report_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The fault address in an exception subtype, as `(address, stripped, pointer_auth_failure)`.
///
/// `KERN_INVALID_ADDRESS at 0x0000000000000098` gives `(Some(0x98), None, false)`; the arm64e
/// pointer-authentication form
/// `KERN_INVALID_ADDRESS at 0x00009ba36e2f2650 -> 0x00001ba36e2f2650 (possible pointer
/// authentication failure)` gives both addresses and `true`. Works on the legacy text's
/// `Exception Codes: KERN_INVALID_ADDRESS at 0x...` line too.
pub fn fault_from_subtype(subtype: &str) -> (Option<u64>, Option<u64>, bool) {
    let pac = subtype.contains("pointer authentication");
    let Some(at) = subtype.find("at 0x").or_else(|| subtype.find("at 0X")) else {
        return (None, None, pac);
    };
    if at > 0 && !subtype[..at].ends_with(char::is_whitespace) {
        return (None, None, pac);
    }
    let (first, rest) = hex_token(&subtype[at + 3..]);
    let stripped = rest
        .trim_start()
        .strip_prefix("->")
        .map(|r| hex_token(r.trim_start()).0)
        .unwrap_or(None);
    (first, stripped, pac)
}

/// A leading `0x...` number and the text after it.
fn hex_token(s: &str) -> (Option<u64>, &str) {
    let Some(digits) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) else {
        return (None, s);
    };
    let end = digits
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(digits.len());
    (u64::from_str_radix(&digits[..end], 16).ok(), &digits[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_addresses_from_subtypes() {
        assert_eq!(
            fault_from_subtype("KERN_INVALID_ADDRESS at 0x0000000000000098"),
            (Some(0x98), None, false)
        );
        assert_eq!(
            fault_from_subtype(
                "KERN_INVALID_ADDRESS at 0x1741a4f9ef46998d -> 0x000024f9ef46998d (possible pointer authentication failure)"
            ),
            (Some(0x1741a4f9ef46998d), Some(0x000024f9ef46998d), true)
        );
        assert_eq!(
            fault_from_subtype("KERN_PROTECTION_FAILURE at 0x00000001ffb3d458"),
            (Some(0x1ffb3d458), None, false)
        );
        assert_eq!(
            fault_from_subtype("EXC_ARM_BREAKPOINT"),
            (None, None, false)
        );
        assert_eq!(fault_from_subtype("format 0xzz"), (None, None, false));
    }

    #[test]
    fn report_times() {
        let t = parse_report_time("2026-04-01 12:39:56.0657 -0700").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-04-01T19:39:56.065700+00:00");
        let t = parse_report_time("2018-06-12 08:34:37 +0100").unwrap();
        assert_eq!(t.to_rfc3339(), "2018-06-12T07:34:37+00:00");
        assert_eq!(parse_report_time("yesterday"), None);
    }

    #[test]
    fn empty_and_blank_files() {
        assert_eq!(parse(b""), Err(ParseError::Empty));
        assert_eq!(parse(b" \n\t\r\n"), Err(ParseError::Empty));
    }

    #[test]
    fn invalid_utf8_inside_json_strings_is_replaced() {
        let mut bytes = ips_header().as_bytes().to_vec();
        bytes.extend_from_slice(
            b"\n{\"procName\":\"py\xFFthon\",\"incident\":\"A\",\"threads\":[]}\n",
        );
        let reports = parse(&bytes).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].process.name.as_deref(), Some("py\u{FFFD}thon"));
        assert!(reports[0].warnings[0].contains("UTF-8"));
    }

    #[test]
    fn utf16_files_are_decoded() {
        let text = format!(
            "{}\n{{\"procName\":\"python\",\"threads\":[]}}",
            ips_header()
        );
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let reports = parse(&bytes).unwrap();
        assert_eq!(reports[0].process.name.as_deref(), Some("python"));
    }

    #[test]
    fn json_fragment_without_header_is_one_error() {
        let frag = br#"value":10},{"value":3744}],"flavor":"ARM_THREAD_STATE64"}, "frames":[{"imageOffset":7376676}"#;
        let err = parse(frag).unwrap_err();
        assert_eq!(err.code(), "unrecognized");
    }

    #[test]
    fn cpu_resource_text_body_is_other_from_the_header() {
        let text = "{\"bug_type\":\"202\",\"timestamp\":\"2020-10-19 23:49:02.00 +0100\",\"os_version\":\"iPhone OS 14.2 (18B5072f)\",\"incident_id\":\"05D98B49\",\"app_name\":\"apfs_defragd\",\"name\":\"apfs_defragd\"}\nDate/Time:        2020-10-19 23:46:29.268 +0100\nEvent:            cpu usage\n";
        let r = parse(text.as_bytes()).unwrap().remove(0);
        assert_eq!(r.kind, ReportKind::Other);
        assert_eq!(r.format, SourceFormat::JsonHeaderLegacy);
        assert_eq!(r.process.name.as_deref(), Some("apfs_defragd"));
        assert_eq!(r.incident_id.as_deref(), Some("05D98B49"));
        assert!(r.captured_at.is_some());
    }

    #[test]
    fn translated_text_is_cut_at_the_banner() {
        let prefix = "----\nTranslated Report (Full Report Below)\n----\n\nProcess: x [1]\n\n-----------\nFull Report\n-----------\n\n";
        assert_eq!(
            translated_text(prefix),
            Some("----\nTranslated Report (Full Report Below)\n----\n\nProcess: x [1]")
        );
        assert_eq!(translated_text("some prose\n"), None);
    }

    #[test]
    fn translated_report_without_its_full_report_is_still_a_report() {
        let text = format!(
            "-------------------------------------\nTranslated Report (Full Report Below)\n-------------------------------------\n\nProcess:               python [34188]\nException Type:        EXC_CRASH (SIGABRT)\n\n-----------\nFull Report\n-----------\n\n{}\n",
            ips_header()
        );
        let reports = parse(text.as_bytes()).unwrap();
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_eq!(r.kind, ReportKind::Crash);
        assert_eq!(r.process.name.as_deref(), Some("python"));
        assert_eq!(
            r.incident_id.as_deref(),
            Some("33218F9D-FEB7-4525-92E3-5CF9934D6B87")
        );
        assert!(!r.warnings.is_empty());
    }

    // Regression: each of N frames pointing at a different missing image gave its own warning,
    // found by a linear search per push (200,000 frames took 44 s) and all N stored and printed.
    #[test]
    fn many_distinct_warnings_are_capped_and_counted() {
        let frames: Vec<String> = (0..20_000)
            .map(|i| format!(r#"{{"imageOffset":1,"imageIndex":{}}}"#, 100_000 + i))
            .collect();
        let body = format!(
            r#"{{"procName":"python","pid":7,"exception":{{"type":"EXC_BAD_ACCESS","signal":"SIGSEGV"}},"faultingThread":0,"threads":[{{"triggered":true,"frames":[{}]}}],"usedImages":[]}}"#,
            frames.join(",")
        );
        let text = format!("{}\n{body}", ips_header());
        let reports = parse(text.as_bytes()).unwrap();
        let w = &reports[0].warnings;
        assert_eq!(w.len(), MAX_WARNINGS + 1, "{:?}", &w[..3]);
        assert!(
            w[MAX_WARNINGS].contains("more warnings, not listed"),
            "{w:?}"
        );
        assert_eq!(reports[0].threads[0].frames.len(), 20_000);
    }

    // Regression: a bare `.ips` header over a body that is not a crash report was stored as an
    // empty crash ("unknown exception") and counted in every bucket table.
    #[test]
    fn a_bare_header_over_nothing_is_an_error_not_an_empty_crash() {
        for text in [
            "{\"bug_type\":\"309\"}\nhello world\n",
            "{\"bug_type\":\"109\"}\n",
        ] {
            let e = parse(text.as_bytes()).unwrap_err();
            assert!(matches!(e, ParseError::Unrecognized(_)), "{text:?}: {e}");
        }
        // A header that names its process and incident is kept as a partial report.
        let text = format!("{}\nhello world\n", ips_header());
        let r = parse(text.as_bytes()).unwrap();
        assert_eq!(r[0].process.name.as_deref(), Some("python"));
    }

    fn ips_header() -> &'static str {
        r#"{"app_name":"python","timestamp":"2026-04-01 12:40:07.00 -0700","bug_type":"309","os_version":"macOS 26.3 (25D125)","name":"python","incident_id":"33218F9D-FEB7-4525-92E3-5CF9934D6B87"}"#
    }
}
