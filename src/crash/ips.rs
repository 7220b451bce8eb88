//! `.ips` parser: a JSON header line followed by a JSON body (docs/DATA_MODEL.md describes the fields kept).
//!
//! [`scan`] finds every `.ips` document in a text (there may be several, with prose, a crash
//! dialog's translated text or a system profile around them), reads each header and body with
//! typed, borrowing serde structs, and turns them into [`CrashReport`]s. It never reads legacy
//! text: a header over a text body is handed back as [`Body::Text`] for [`super::parse`] to give
//! to the legacy parser. It never panics and never prints.
//!
//! Leniency, field by field: every scalar is read as a `Scalar` that accepts any JSON type, and
//! every object or array as an `Obj`/`List` that accepts any type too, so one field of an
//! unexpected type costs that field (with a warning), never the report. A body that is cut short
//! or broken is cut back to the last complete element, closed, and read again (a *partial*
//! report with a warning).
//!
//! Speed: the text is parsed once, from `&str`, borrowing strings where they have no escapes;
//! frames and images are read straight into the model (no `serde_json::Value`, no intermediate
//! struct), and the register state of every thread but the crashed one is only validated
//! (`RawValue`), never built.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::model::{
    normalize_uuid, CrashReport, ExceptionInfo, Frame, Image, OsInfo, ProcessInfo, Register,
    RegisterState, ReportKind, SourceFormat, SymbolSource, Termination, Thread,
};
use super::{fault_from_subtype, parse_report_time, ParseError};

/// Every `.ips` document found in one text, in file order.
#[derive(Debug)]
pub struct Scan<'a> {
    pub documents: Vec<Document<'a>>,
    /// A JSON object that looked like a header or body but could not be read at all (cut off
    /// before its first field, say). Only meaningful when `documents` is empty.
    pub broken: Option<ParseError>,
}

/// One `.ips` document: header and/or body, and the text before it.
#[derive(Debug)]
pub struct Document<'a> {
    /// Text between the previous document (or the start of the file) and this one's first `{`:
    /// empty for a plain `.ips`, the translated legacy text for a crash dialog's copy.
    pub prefix: &'a str,
    /// What header and JSON body hold. For [`Body::Text`], what the header alone holds.
    pub report: CrashReport,
    pub body: Body<'a>,
}

/// What followed the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A JSON body, read whole.
    Json,
    /// A JSON body that was cut short or broken: `report` holds what precedes the break.
    Partial,
    /// Nothing: the file ends after the header.
    Missing,
    /// A text body (legacy crash text under a `bug_type` 109/309 header, a `cpu_resource`
    /// microstackshot under 202 ...), up to the next document or the end of the file.
    Text(&'a str),
}

/// Find and read every `.ips` document in `text`.
pub fn scan(text: &str) -> Scan<'_> {
    let mut documents = Vec::new();
    let mut ctx = Ctx::new(text.len());
    let mut pos = 0;
    let mut fallback_used = false;
    loop {
        let found = match next_document_start(text, pos, false, &mut ctx) {
            Some(found) => found,
            None if documents.is_empty() && !fallback_used && ctx.broken.is_none() => {
                // Quirk: a header pasted mid-line ("Here it is: {"app_name":...") is not at a
                // line start; look at every `{"` once, only when nothing else was found.
                fallback_used = true;
                match next_document_start(text, pos, true, &mut ctx) {
                    Some(found) => found,
                    None => break,
                }
            }
            None => break,
        };
        let start = found.start;
        let prefix = &text[pos..start];
        let (document, end) = read_document(text, found, prefix, &mut ctx);
        documents.push(document);
        if end <= pos {
            break;
        }
        pos = end;
    }
    Scan {
        documents,
        broken: ctx.broken,
    }
}

/// State of one scan: the first unreadable object, and a work budget.
struct Ctx {
    broken: Option<ParseError>,
    /// Bytes that candidate objects may still make the JSON reader go through. Each candidate
    /// that is not a document (an object nested in a broken body, say) is read up to where it
    /// ends or breaks; crafted input (thousands of unclosed `{"a":` lines) could make that
    /// quadratic, so the search stops when the budget is spent.
    budget: usize,
}

impl Ctx {
    fn new(len: usize) -> Self {
        Ctx {
            broken: None,
            budget: len.saturating_mul(16).saturating_add(1 << 20),
        }
    }

    fn charge(&mut self, bytes: usize) {
        self.budget = self.budget.saturating_sub(bytes.max(1));
    }
}

/// The kind a `bug_type` stands for; `None` when it says nothing (empty).
pub fn kind_of_bug_type(bug_type: &str) -> Option<ReportKind> {
    match bug_type.trim() {
        "" => None,
        // 309: crash (macOS 12+ / iOS 15+); 109: the older crash form.
        "309" | "109" => Some(ReportKind::Crash),
        // 284: `gpuEvent-<process>-<date>.ips`, a GPU restart (e.g. "firmware-detected lockup").
        "284" => Some(ReportKind::GpuEvent),
        // 151/210 panics, 298 jetsam, 202 cpu_resource, 288 stackshot ...
        _ => Some(ReportKind::Other),
    }
}

// ---------------------------------------------------------------------------------------------
// Finding documents
// ---------------------------------------------------------------------------------------------

/// A candidate object that was read and looks like an `.ips` header or body.
struct Found<'a> {
    start: usize,
    probe: Probe<'a>,
    role: Role,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Header,
    Body,
}

/// An object read at some offset: either straight from the text, or repaired.
enum Probe<'a> {
    Whole {
        doc: Box<Doc<'a>>,
        end: usize,
    },
    Repaired {
        json: String,
        end: usize,
        warning: String,
        role: Option<Role>,
    },
}

impl Probe<'_> {
    fn role(&self) -> Option<Role> {
        match self {
            Probe::Whole { doc, .. } => doc.role(),
            Probe::Repaired { role, .. } => *role,
        }
    }
}

/// Find the next object at or after `from` that is an `.ips` header or body. Candidates are `{`
/// at the start of a line (after blanks), or, with `anywhere`, every `{"`.
fn next_document_start<'a>(
    text: &'a str,
    from: usize,
    anywhere: bool,
    ctx: &mut Ctx,
) -> Option<Found<'a>> {
    let bytes = text.as_bytes();
    let mut attempts = 0usize;
    let mut i = from;
    // `str::find` of one byte is a fast memchr: the text before a document (the translated
    // report) can be hundreds of kilobytes.
    while let Some(off) = text.get(i..).and_then(|t| t.find('{')) {
        let start = i + off;
        i = start + 1;
        // A line start: only blanks between the previous line break (or `from`) and the `{`.
        let line_start = bytes[from..start]
            .iter()
            .rev()
            .find(|b| !matches!(b, b' ' | b'\t'))
            .is_none_or(|b| matches!(b, b'\n' | b'\r'));
        let candidate = line_start || (anywhere && bytes.get(i) == Some(&b'"'));
        if !candidate {
            continue;
        }
        if ctx.budget == 0 {
            return None;
        }
        if anywhere {
            attempts += 1;
            if attempts > 64 {
                return None;
            }
        }
        // A `{"` found mid-line is as likely a piece of a body (`{"value":10}`) as a header:
        // its failure says nothing about the file.
        let want_error = !anywhere && ctx.broken.is_none();
        match probe(text, start, true, want_error, ctx) {
            ProbeResult::Found(probe) => {
                if let Some(role) = probe.role() {
                    return Some(Found { start, probe, role });
                }
            }
            ProbeResult::NotJson => {}
            ProbeResult::Broken(e) => {
                if want_error {
                    ctx.broken = Some(e);
                }
            }
        }
    }
    None
}

enum ProbeResult<'a> {
    Found(Probe<'a>),
    /// Not a JSON object (an NSDictionary description in legacy text, say) or one with no
    /// `.ips` key.
    NotJson,
    /// Looked like JSON but nothing could be read from it.
    Broken(ParseError),
}

/// Read the object starting at `start` (a `{`). With `require_keys`, an object with no `.ips`
/// key is [`ProbeResult::NotJson`]. With `want_error`, a broken object's error names its line
/// (which costs a count of the lines before it).
fn probe<'a>(
    text: &'a str,
    start: usize,
    require_keys: bool,
    want_error: bool,
    ctx: &mut Ctx,
) -> ProbeResult<'a> {
    let sub = &text[start..];
    let mut stream = serde_json::Deserializer::from_str(sub).into_iter::<Doc<'_>>();
    let err = match stream.next() {
        Some(Ok(doc)) => {
            let end = start + stream.byte_offset();
            ctx.charge(end - start);
            let role = doc.role();
            if require_keys && role.is_none() {
                return ProbeResult::NotJson;
            }
            return ProbeResult::Found(Probe::Whole {
                doc: Box::new(doc),
                end,
            });
        }
        Some(Err(e)) => e,
        None => return ProbeResult::NotJson,
    };
    let eof = err.classify() == serde_json::error::Category::Eof;
    let looks_json = sub.as_bytes().get(1..).is_some_and(|rest| {
        rest.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'"')
    });
    // Quirk: legacy text holds NSDictionary descriptions that start a line with `{`
    // (`{\n    NSLocalizedDescription = "...";`): not JSON, not an error.
    if !eof && !looks_json {
        return ProbeResult::NotJson;
    }
    let err_at = error_offset(sub, &err);
    ctx.charge(err_at);
    let message = error_message(&err);
    if let Some(found) = drop_bad_fields(sub, start, &err, require_keys, ctx) {
        return found;
    }
    for json in repairs(sub, err_at) {
        ctx.charge(json.len());
        if let Ok(doc) = parse_doc(&json) {
            let role = doc.role();
            if require_keys && role.is_none() {
                continue;
            }
            let what = if eof { "ends early" } else { "is broken" };
            let warning = format!(
                "JSON object starting at byte {start} {what} at byte {} ({message}); kept what \
                 precedes the break",
                start + err_at
            );
            return ProbeResult::Found(Probe::Repaired {
                json,
                end: start + err_at,
                warning,
                role,
            });
        }
    }
    if !looks_json || !want_error {
        return ProbeResult::NotJson;
    }
    let before = &text[..start + err_at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    ProbeResult::Broken(if eof {
        ParseError::Truncated(format!(
            "JSON object at line {} ends before any field could be read",
            text[..start].matches('\n').count() + 1
        ))
    } else {
        ParseError::Json {
            part: "header",
            line,
            column,
            message,
        }
    })
}

/// Errors that concern one field only: a duplicate key or a number out of range
/// (`"pid": 1e400`). Quirk: both are seen in hand-edited or converted `.ips` files; serde
/// stops the whole object at them. Each such field is blanked in a copy of the same length (a
/// duplicate key becomes an unknown key, so the first value stays; the number becomes
/// `null`), with a warning, and the object is read again: the rest of the body is kept.
fn drop_bad_fields<'a>(
    sub: &str,
    start: usize,
    first: &serde_json::Error,
    require_keys: bool,
    ctx: &mut Ctx,
) -> Option<ProbeResult<'a>> {
    const MAX_FIELDS: usize = 32;
    let mut fixed: Option<String> = None;
    let mut warnings = Vec::new();
    let mut err_msg = error_message(first);
    let mut err_at = error_offset(sub, first);
    for _ in 0..MAX_FIELDS {
        let text = fixed.get_or_insert_with(|| sub.to_string());
        if let Some(key) = err_msg
            .strip_prefix("duplicate field `")
            .and_then(|k| k.strip_suffix('`'))
        {
            let (open, close) = key_before(text, err_at)?;
            // Same length, never a real field name.
            text.replace_range(open + 1..close, &"~".repeat(close - open - 1));
            warnings.push(format!(
                "duplicate key `{key}`: the later value was ignored"
            ));
        } else if err_msg.starts_with("number out of range") {
            let (a, b) = number_around(text, err_at)?;
            if b - a < 4 {
                return None;
            }
            let token = text[a..b].to_string();
            text.replace_range(a..b, &format!("{:<1$}", "null", b - a));
            warnings.push(format!(
                "number {token} is out of range; that field was dropped"
            ));
        } else {
            return None;
        }
        ctx.charge(text.len());
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Doc<'_>>();
        match stream.next() {
            Some(Ok(doc)) => {
                let end = stream.byte_offset();
                let role = doc.role();
                if require_keys && role.is_none() {
                    return None;
                }
                let json = text[..end].to_string();
                return Some(ProbeResult::Found(Probe::Repaired {
                    json,
                    end: start + end,
                    warning: warnings.join("; "),
                    role,
                }));
            }
            Some(Err(e)) => {
                err_msg = error_message(&e);
                err_at = error_offset(text, &e);
            }
            None => return None,
        }
    }
    None
}

/// The quotes around the object key that ends at or just before `at` (serde reports a
/// duplicate field after reading its key).
fn key_before(text: &str, at: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut close = at.min(b.len().checked_sub(1)?);
    while close > 0 && b[close] != b'"' {
        close -= 1;
    }
    let mut open = close.checked_sub(1)?;
    loop {
        if b[open] == b'"' {
            // An escaped quote has an odd run of backslashes before it.
            let slashes = b[..open].iter().rev().take_while(|&&c| c == b'\\').count();
            if slashes % 2 == 0 {
                break;
            }
        }
        open = open.checked_sub(1)?;
    }
    Some((open, close))
}

/// The JSON number token that contains or ends at `at`.
fn number_around(text: &str, at: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let is_num = |c: u8| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E');
    let mut a = at.min(b.len());
    while a > 0 && is_num(b[a - 1]) {
        a -= 1;
    }
    let mut e = a;
    while e < b.len() && is_num(b[e]) {
        e += 1;
    }
    (e > a).then_some((a, e))
}

/// serde_json's message without its position (which counts from the object, not the file).
fn error_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    }
}

fn parse_doc(json: &str) -> Result<Doc<'_>, serde_json::Error> {
    serde_json::from_str(json)
}

/// Byte offset in `sub` where serde_json reports `err` (its column counts bytes).
fn error_offset(sub: &str, err: &serde_json::Error) -> usize {
    if err.classify() == serde_json::error::Category::Eof {
        return sub.len();
    }
    let mut line_start = 0;
    for _ in 1..err.line() {
        match sub[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let mut at = (line_start + err.column().saturating_sub(1)).min(sub.len());
    while !sub.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Closed versions of the broken object `src` (which starts with `{`), best first: cut before
/// the last complete element preceding `err_at`, then close every open container.
///
/// Example: `{"threads":[{"id":1},{"id":2,"na` cut at the last `,` gives
/// `{"threads":[{"id":1},{"id":2}]}`.
fn repairs(src: &str, err_at: usize) -> impl Iterator<Item = String> + '_ {
    const TRIES: usize = 8;
    let bytes = &src.as_bytes()[..err_at.min(src.len())];
    // Cut points: before a `,` (the element before it is complete) or just after an opening
    // bracket (an empty container), never inside a string.
    let mut cuts: Vec<usize> = Vec::new();
    let mut in_str = false;
    let mut esc = false;
    let mut depth = 0usize;
    for (i, &c) in bytes.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                cuts.push(i + 1);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth >= 1 => cuts.push(i),
            _ => {}
        }
    }
    let skip = cuts.len().saturating_sub(TRIES);
    cuts.into_iter()
        .skip(skip)
        .rev()
        .filter_map(move |cut| close_at(src, cut))
}

/// `src[..cut]` with its open containers closed; `None` if the brackets do not balance.
fn close_at(src: &str, cut: usize) -> Option<String> {
    let head = src.get(..cut)?;
    let mut stack: Vec<u8> = Vec::new();
    let mut in_str = false;
    let mut esc = false;
    for &c in head.as_bytes() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' => stack.push(b'}'),
            b'[' => stack.push(b']'),
            // The guard pops: a closer that does not match its opener ends the attempt.
            b'}' | b']' if stack.pop() != Some(c) => return None,
            _ => {}
        }
    }
    if in_str || stack.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(head.len() + stack.len());
    out.push_str(head.trim_end());
    while let Some(c) = stack.pop() {
        out.push(c as char);
    }
    Some(out)
}

/// Read one document (header and what follows it, or a body alone) starting at `found`; returns
/// it and the offset where scanning goes on.
fn read_document<'a>(
    text: &'a str,
    found: Found<'a>,
    prefix: &'a str,
    ctx: &mut Ctx,
) -> (Document<'a>, usize) {
    let mut warnings = Warnings::default();
    let format = if is_translated(prefix) {
        SourceFormat::TranslatedIps
    } else {
        SourceFormat::Ips
    };
    let first_store: String;
    let (mut first, first_end, first_repaired) = match found.probe {
        Probe::Whole { doc, end } => (*doc, end, false),
        Probe::Repaired {
            json, end, warning, ..
        } => {
            warnings.push(warning);
            first_store = json;
            match parse_doc(&first_store) {
                Ok(doc) => (doc, end, true),
                // Unreachable in practice: the same text was read a moment ago.
                Err(_) => (Doc::default(), end, true),
            }
        }
    };

    if found.role == Role::Body {
        let body = if first_repaired {
            Body::Partial
        } else {
            Body::Json
        };
        warnings.push("no `.ips` header line before the JSON body".to_string());
        let report = build(None, Some(&mut first), format, &mut warnings);
        return (
            Document {
                prefix,
                report,
                body,
            },
            first_end,
        );
    }

    // A header. What follows it?
    if first_repaired {
        // The header itself was cut short: nothing readable can follow it.
        warnings.push("the file ends inside the header; no body".to_string());
        let report = build(Some(&first), None, format, &mut warnings);
        let doc = Document {
            prefix,
            report,
            body: Body::Missing,
        };
        return (doc, first_end);
    }
    let rest = &text[first_end..];
    let ws = rest.len() - rest.trim_start().len();
    let body_start = first_end + ws;
    if body_start >= text.len() {
        warnings.push("the file ends after the header; no body".to_string());
        let report = build(Some(&first), None, format, &mut warnings);
        let doc = Document {
            prefix,
            report,
            body: Body::Missing,
        };
        return (doc, text.len());
    }

    if text.as_bytes()[body_start] == b'{' {
        let body_store: String;
        let read = match probe(text, body_start, false, false, ctx) {
            ProbeResult::Found(Probe::Whole { doc, end }) => Some((*doc, end, None)),
            ProbeResult::Found(Probe::Repaired {
                json, end, warning, ..
            }) => {
                body_store = json;
                parse_doc(&body_store)
                    .ok()
                    .map(|doc| (doc, end, Some(warning)))
            }
            ProbeResult::NotJson | ProbeResult::Broken(_) => None,
        };
        match read {
            // Two headers in a row (a header-only file followed by another document): the
            // second has `incident_id` but no body key.
            Some((body, _, _)) if body.role() == Some(Role::Header) && body.has_incident_id() => {
                warnings.push("no body after the header".to_string());
                let report = build(Some(&first), None, format, &mut warnings);
                let doc = Document {
                    prefix,
                    report,
                    body: Body::Missing,
                };
                return (doc, body_start);
            }
            Some((mut body, end, repair_warning)) => {
                let body_state = match repair_warning {
                    Some(w) => {
                        warnings.push(w);
                        Body::Partial
                    }
                    None => Body::Json,
                };
                let report = build(Some(&first), Some(&mut body), format, &mut warnings);
                let body = body_state;
                let doc = Document {
                    prefix,
                    report,
                    body,
                };
                return (doc, end);
            }
            None => {
                // Not JSON after all: a text body that happens to start with `{`.
            }
        }
    }

    // A text body, up to the next document.
    let body_end = next_document_start(text, body_start, false, ctx)
        .map(|f| f.start)
        .unwrap_or(text.len());
    let body_text = &text[first_end..body_end];
    let report = build(Some(&first), None, format, &mut warnings);
    let doc = Document {
        prefix,
        report,
        body: Body::Text(body_text),
    };
    (doc, body_end)
}

/// The text before the JSON is the crash dialog's copy ("Translated Report (Full Report
/// Below)" ... "Full Report" ...).
fn is_translated(prefix: &str) -> bool {
    prefix.contains("Translated Report")
        || prefix
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("Full Report"))
}

// ---------------------------------------------------------------------------------------------
// Lenient building blocks
// ---------------------------------------------------------------------------------------------

/// Warnings, deduplicated: a field that is odd in every one of 3000 frames gives one line.
#[derive(Default)]
struct Warnings {
    list: Vec<(String, usize)>,
}

impl Warnings {
    fn push(&mut self, msg: String) {
        match self.list.iter_mut().find(|(m, _)| *m == msg) {
            Some(entry) => entry.1 += 1,
            None => self.list.push((msg, 1)),
        }
    }

    fn odd(&mut self, path: &str, found: &str) {
        self.push(format!(
            "field `{path}` has an unexpected type ({found}); ignored"
        ));
    }

    fn into_vec(self) -> Vec<String> {
        self.list
            .into_iter()
            .map(|(m, n)| if n > 1 { format!("{m} ({n} times)") } else { m })
            .collect()
    }
}

/// Any JSON value where a scalar is expected; objects and arrays are skipped, not built.
#[derive(Debug, Default)]
enum Scalar<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    U(u64),
    I(i64),
    F(f64),
    Bool(bool),
    Compound(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(PhantomData))
    }
}

struct ScalarVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Absent)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Absent)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Scalar::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Compound("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Compound("object"))
    }
}

impl Scalar<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Scalar::Absent => "null",
            Scalar::Str(_) => "string",
            Scalar::U(_) | Scalar::I(_) | Scalar::F(_) => "number",
            Scalar::Bool(_) => "boolean",
            Scalar::Compound(k) => k,
        }
    }

    fn is_present(&self) -> bool {
        !matches!(self, Scalar::Absent)
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Text; numbers are written out (`"bug_type": 309` happens), blank text is absent.
    fn text(&self, w: &mut Warnings, path: &str) -> Option<String> {
        match self {
            Scalar::Absent => None,
            Scalar::Str(s) if s.trim().is_empty() => None,
            Scalar::Str(s) => Some(s.to_string()),
            Scalar::U(v) => Some(v.to_string()),
            Scalar::I(v) => Some(v.to_string()),
            Scalar::F(v) => Some(v.to_string()),
            Scalar::Bool(_) | Scalar::Compound(_) => {
                w.odd(path, self.type_name());
                None
            }
        }
    }

    /// A non-negative integer; text holding a decimal or `0x` hex number is read too.
    fn u64(&self, w: &mut Warnings, path: &str) -> Option<u64> {
        self.to_u64().unwrap_or_else(|found| {
            w.odd(path, found);
            None
        })
    }

    /// [`Scalar::u64`] without the warning: `Err` names the type found.
    fn to_u64(&self) -> Result<Option<u64>, &'static str> {
        let v = match self {
            Scalar::Absent => return Ok(None),
            Scalar::U(v) => Some(*v),
            Scalar::I(v) => u64::try_from(*v).ok(),
            Scalar::F(v) if v.fract() == 0.0 && *v >= 0.0 && *v < u64::MAX as f64 => {
                Some(*v as u64)
            }
            Scalar::Str(s) => parse_int_text(s),
            _ => None,
        };
        v.map(Some).ok_or(self.type_name())
    }

    /// [`Scalar::text`], moving a string that is already owned (it had escapes in the JSON)
    /// instead of copying it; `Err` names the type found.
    fn into_text(self) -> Result<Option<String>, &'static str> {
        match self {
            Scalar::Absent => Ok(None),
            Scalar::Str(s) if s.trim().is_empty() => Ok(None),
            Scalar::Str(s) => Ok(Some(s.into_owned())),
            Scalar::U(v) => Ok(Some(v.to_string())),
            Scalar::I(v) => Ok(Some(v.to_string())),
            Scalar::F(v) => Ok(Some(v.to_string())),
            Scalar::Bool(_) | Scalar::Compound(_) => Err(self.type_name()),
        }
    }

    fn i64(&self, w: &mut Warnings, path: &str) -> Option<i64> {
        let v = match self {
            Scalar::Absent => return None,
            Scalar::U(v) => i64::try_from(*v).ok(),
            Scalar::I(v) => Some(*v),
            Scalar::F(v) if v.fract() == 0.0 && v.abs() < i64::MAX as f64 => Some(*v as i64),
            Scalar::Str(s) => {
                let t = s.trim();
                match t.strip_prefix('-') {
                    Some(n) => parse_int_text(n)
                        .and_then(|n| i64::try_from(n).ok())
                        .map(|n| -n),
                    None => parse_int_text(t).and_then(|n| i64::try_from(n).ok()),
                }
            }
            _ => None,
        };
        if v.is_none() {
            w.odd(path, self.type_name());
        }
        v
    }

    fn bool(&self, w: &mut Warnings, path: &str) -> Option<bool> {
        let v = match self {
            Scalar::Absent => return None,
            Scalar::Bool(b) => Some(*b),
            Scalar::U(0) | Scalar::I(0) => Some(false),
            Scalar::U(1) | Scalar::I(1) => Some(true),
            Scalar::Str(s) => match s.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if v.is_none() {
            w.odd(path, self.type_name());
        }
        v
    }

    fn usize(&self, w: &mut Warnings, path: &str) -> Option<usize> {
        self.u64(w, path).and_then(|v| usize::try_from(v).ok())
    }
}

/// `123` or `0x7b`.
fn parse_int_text(s: &str) -> Option<u64> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// The scalar arms shared by the lenient [`Obj`] and [`List`] visitors: `null` is absent, any
/// other scalar is skipped and remembered as odd (with its JSON type for the warning).
macro_rules! lenient_scalars {
    ($ty:ident) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($ty::Absent)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($ty::Absent)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            $ty::deserialize(d)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($ty::Odd("boolean"))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($ty::Odd("number"))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($ty::Odd("number"))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($ty::Odd("number"))
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($ty::Odd("string"))
        }
    };
}

/// A JSON object read as `T`; anything else is skipped and remembered as odd.
#[derive(Debug, Default)]
enum Obj<T> {
    #[default]
    Absent,
    Ok(T),
    Odd(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj::Ok)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Obj::Odd("array"))
    }
    lenient_scalars!(Obj);
}

impl<T> Obj<T> {
    fn get(&self, w: &mut Warnings, path: &str) -> Option<&T> {
        match self {
            Obj::Absent => None,
            Obj::Ok(t) => Some(t),
            Obj::Odd(k) => {
                w.odd(path, k);
                None
            }
        }
    }
}

/// A JSON array of `T`; anything else is skipped and remembered as odd.
#[derive(Debug, Default)]
enum List<T> {
    #[default]
    Absent,
    Ok(Vec<T>),
    Odd(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(List::Ok(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(List::Odd("object"))
    }
    lenient_scalars!(List);
}

impl<T> List<T> {
    fn into_vec(self, w: &mut Warnings, path: &str) -> Vec<T> {
        match self {
            List::Absent => Vec::new(),
            List::Ok(v) => v,
            List::Odd(k) => {
                w.odd(path, k);
                Vec::new()
            }
        }
    }

    fn is_present(&self) -> bool {
        !matches!(self, List::Absent)
    }
}

// ---------------------------------------------------------------------------------------------
// The typed shape of headers and bodies
// ---------------------------------------------------------------------------------------------

/// A header or a body: one struct for both, since each is recognised by its keys (a 309 body
/// repeats `bug_type`, a GPU event body has `process_name` and `analysis`). Unknown keys are
/// ignored.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Doc<'a> {
    // Header keys.
    #[serde(borrow)]
    bug_type: Scalar<'a>,
    #[serde(borrow)]
    incident_id: Scalar<'a>,
    #[serde(borrow)]
    timestamp: Scalar<'a>,
    #[serde(borrow)]
    os_version: Scalar<'a>,
    #[serde(borrow)]
    app_name: Scalar<'a>,
    #[serde(borrow)]
    app_version: Scalar<'a>,
    #[serde(borrow)]
    build_version: Scalar<'a>,
    #[serde(borrow)]
    name: Scalar<'a>,
    #[serde(rename = "bundleID", borrow)]
    bundle_id: Scalar<'a>,

    // Crash body keys (bug_type 309).
    #[serde(borrow)]
    incident: Scalar<'a>,
    #[serde(rename = "procName", borrow)]
    proc_name: Scalar<'a>,
    #[serde(rename = "procPath", borrow)]
    proc_path: Scalar<'a>,
    #[serde(borrow)]
    pid: Scalar<'a>,
    #[serde(rename = "parentProc", borrow)]
    parent_proc: Scalar<'a>,
    #[serde(rename = "parentPid", borrow)]
    parent_pid: Scalar<'a>,
    #[serde(rename = "responsibleProc", borrow)]
    responsible_proc: Scalar<'a>,
    #[serde(rename = "userID", borrow)]
    user_id: Scalar<'a>,
    #[serde(rename = "bundleInfo", borrow)]
    bundle_info: Obj<BundleInfoJ<'a>>,
    #[serde(rename = "captureTime", borrow)]
    capture_time: Scalar<'a>,
    #[serde(rename = "osVersion", borrow)]
    os_version_body: Obj<OsVersionJ<'a>>,
    #[serde(rename = "modelCode", borrow)]
    model_code: Scalar<'a>,
    #[serde(rename = "cpuType", borrow)]
    cpu_type: Scalar<'a>,
    #[serde(borrow)]
    translated: Scalar<'a>,
    /// Apple renders it as `Exception Note: EXC_CORPSE_NOTIFY`.
    #[serde(rename = "isCorpse", borrow)]
    is_corpse: Scalar<'a>,
    #[serde(borrow)]
    exception: Obj<ExceptionJ<'a>>,
    #[serde(borrow)]
    termination: Obj<TerminationJ<'a>>,
    #[serde(borrow)]
    asi: Obj<AsiJ<'a>>,
    #[serde(rename = "faultingThread", borrow)]
    faulting_thread: Scalar<'a>,
    #[serde(borrow)]
    threads: List<Obj<ThreadJ<'a>>>,
    #[serde(rename = "usedImages")]
    used_images: ImagesIn,
    #[serde(rename = "lastExceptionBacktrace")]
    last_exception_backtrace: FramesIn,

    // Other diagnostics: panics (151, 210), jetsam (298), GPU events (284).
    #[serde(borrow)]
    product: Scalar<'a>,
    #[serde(borrow)]
    date: Scalar<'a>,
    #[serde(borrow)]
    build: Scalar<'a>,
    #[serde(rename = "panicString", borrow)]
    panic_string: Scalar<'a>,
    /// The iOS 16 panic body names its panic text `string`.
    #[serde(rename = "string", borrow)]
    panic_text: Scalar<'a>,
    #[serde(borrow)]
    process_name: Scalar<'a>,
    #[serde(borrow)]
    analysis: Obj<AnalysisJ<'a>>,
    #[serde(rename = "crashReporterKey")]
    crash_reporter_key: Option<IgnoredAny>,
    processes: Option<IgnoredAny>,
}

impl Doc<'_> {
    /// Body keys win: a crash body repeats `bug_type`, but no header has `procName`.
    fn role(&self) -> Option<Role> {
        let body = self.proc_name.is_present()
            || self.incident.is_present()
            || self.capture_time.is_present()
            || self.threads.is_present()
            || self.used_images.present
            || self.last_exception_backtrace.present
            || !matches!(self.exception, Obj::Absent)
            || self.panic_string.is_present()
            || self.crash_reporter_key.is_some()
            || self.processes.is_some()
            || !matches!(self.analysis, Obj::Absent)
            || self.process_name.is_present();
        if body {
            Some(Role::Body)
        } else if self.bug_type.is_present() || self.incident_id.is_present() {
            Some(Role::Header)
        } else {
            None
        }
    }

    fn has_incident_id(&self) -> bool {
        self.incident_id.is_present()
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct BundleInfoJ<'a> {
    #[serde(rename = "CFBundleIdentifier", borrow)]
    id: Scalar<'a>,
    #[serde(rename = "CFBundleShortVersionString", borrow)]
    short_version: Scalar<'a>,
    #[serde(rename = "CFBundleVersion", borrow)]
    version: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct OsVersionJ<'a> {
    #[serde(borrow)]
    train: Scalar<'a>,
    #[serde(borrow)]
    build: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ExceptionJ<'a> {
    #[serde(rename = "type", borrow)]
    kind: Scalar<'a>,
    #[serde(borrow)]
    signal: Scalar<'a>,
    #[serde(borrow)]
    codes: Scalar<'a>,
    #[serde(borrow)]
    subtype: Scalar<'a>,
    #[serde(borrow)]
    message: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct TerminationJ<'a> {
    #[serde(borrow)]
    namespace: Scalar<'a>,
    #[serde(borrow)]
    code: Scalar<'a>,
    #[serde(borrow)]
    indicator: Scalar<'a>,
    #[serde(rename = "byProc", borrow)]
    by_proc: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AnalysisJ<'a> {
    #[serde(borrow)]
    restart_reason_desc: Scalar<'a>,
    #[serde(borrow)]
    restart_reason: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ThreadJ<'a> {
    #[serde(borrow)]
    id: Scalar<'a>,
    #[serde(borrow)]
    name: Scalar<'a>,
    #[serde(borrow)]
    queue: Scalar<'a>,
    #[serde(borrow)]
    triggered: Scalar<'a>,
    frames: FramesIn,
    /// Kept raw: only the crashed thread's registers are built.
    #[serde(rename = "threadState", borrow)]
    thread_state: Option<&'a RawValue>,
}

const FRAME_FIELDS: [&str; 6] = [
    "imageIndex",
    "imageOffset",
    "symbol",
    "symbolLocation",
    "sourceFile",
    "sourceLine",
];

const IMAGE_FIELDS: [&str; 9] = [
    "uuid",
    "name",
    "path",
    "arch",
    "base",
    "size",
    "CFBundleIdentifier",
    "CFBundleShortVersionString",
    "CFBundleVersion",
];

/// A frames array read straight into model frames (frames are most of a report: no
/// intermediate struct, no moves). Fields of an unexpected type are left out and remembered in
/// `odd`, one bit per entry of [`FRAME_FIELDS`], merged over all frames (warnings are per kind,
/// not per frame); `address` is filled in later, once the images are known.
#[derive(Debug, Default)]
struct FramesIn {
    /// The key was there (even as `[]`).
    present: bool,
    frames: Vec<Frame>,
    odd: u8,
    /// Entries that are not objects.
    odd_items: usize,
    /// Set when the value is not an array (its type).
    not_array: Option<&'static str>,
}

/// A `usedImages` array read straight into model images, like [`FramesIn`]; `odd` has one bit
/// per entry of [`IMAGE_FIELDS`]. An entry that is not an object keeps its slot (frames refer to
/// images by position).
#[derive(Debug, Default)]
struct ImagesIn {
    /// The key was there (even as `[]`): a body marker.
    present: bool,
    images: Vec<Image>,
    odd: u16,
    odd_items: usize,
    not_array: Option<&'static str>,
    /// `uuid`s that are not 32 hex digits, for the warning.
    bad_uuids: Vec<String>,
}

impl ImagesIn {
    fn finish(self, w: &mut Warnings) -> Vec<Image> {
        if let Some(k) = self.not_array {
            w.odd("usedImages", k);
        }
        if self.odd_items > 0 {
            w.push(format!(
                "{} entries of `usedImages` are not objects; kept empty",
                self.odd_items
            ));
        }
        warn_bits(self.odd.into(), &IMAGE_FIELDS, "usedImages[]", w);
        for u in self.bad_uuids {
            w.push(format!("image uuid `{u}` is not 32 hex digits; ignored"));
        }
        self.images
    }
}

/// An array whose object entries are read in place into the array's own vector.
trait FillFrom: Default {
    /// Read one object entry (push it, then fill it where it lies).
    fn fill<'de, A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error>;
    /// An entry that is not an object.
    fn odd_item(&mut self);
    fn not_array(kind: &'static str) -> Self;
    fn mark_present(&mut self);
}

impl FillFrom for FramesIn {
    fn fill<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        self.frames.push(Frame::default());
        let odd = &mut self.odd;
        let Some(f) = self.frames.last_mut() else {
            return Ok(());
        };
        while let Some(key) = map.next_key::<Scalar<'de>>()? {
            let Some(field) = key
                .as_str()
                .and_then(|k| FRAME_FIELDS.iter().position(|f| *f == k))
            else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let v: Scalar<'de> = map.next_value()?;
            let read = match field {
                0 => v
                    .to_u64()
                    .map(|x| f.image_index = x.and_then(|x| usize::try_from(x).ok())),
                1 => v.to_u64().map(|x| f.image_offset = x),
                // `???` is how the text form writes "no symbol"; JSON leaves it out.
                2 => v.into_text().map(|x| f.symbol = x.filter(|s| s != "???")),
                3 => v.to_u64().map(|x| f.symbol_offset = x),
                4 => v.into_text().map(|x| f.source_file = x),
                _ => v
                    .to_u64()
                    .map(|x| f.source_line = x.and_then(|l| u32::try_from(l).ok())),
            };
            if read.is_err() {
                *odd |= 1 << field;
            }
        }
        f.symbol_source = f.symbol.as_ref().map(|_| SymbolSource::Apple);
        Ok(())
    }

    fn odd_item(&mut self) {
        self.odd_items += 1;
    }

    fn not_array(kind: &'static str) -> Self {
        FramesIn {
            present: true,
            not_array: Some(kind),
            ..FramesIn::default()
        }
    }

    fn mark_present(&mut self) {
        self.present = true;
    }
}

impl FillFrom for ImagesIn {
    fn fill<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        self.images.push(Image::default());
        let (odd, bad_uuids) = (&mut self.odd, &mut self.bad_uuids);
        let Some(im) = self.images.last_mut() else {
            return Ok(());
        };
        let (mut short, mut build) = (None, None);
        while let Some(key) = map.next_key::<Scalar<'de>>()? {
            let Some(field) = key
                .as_str()
                .and_then(|k| IMAGE_FIELDS.iter().position(|f| *f == k))
            else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let v: Scalar<'de> = map.next_value()?;
            let read = match field {
                0 => v.into_text().map(|x| {
                    im.uuid = x.and_then(|u| {
                        if is_normal_uuid(&u) {
                            return Some(u);
                        }
                        let n = normalize_uuid(&u);
                        if n.is_none() {
                            bad_uuids.push(u);
                        }
                        n
                    })
                }),
                1 => v.into_text().map(|x| im.name = x),
                2 => v.into_text().map(|x| im.path = x),
                3 => v.into_text().map(|x| im.arch = x),
                4 => v.to_u64().map(|x| im.base = x),
                5 => v.to_u64().map(|x| im.size = x),
                6 => v.into_text().map(|x| im.bundle_id = x),
                7 => v.into_text().map(|x| short = x),
                _ => v.into_text().map(|x| build = x),
            };
            if read.is_err() {
                *odd |= 1 << field;
            }
        }
        im.bundle_version = version_string(short, build);
        if im.name.is_none() {
            // No `name` (older reports, some system images): the path's last part.
            im.name = im
                .path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .filter(|n| !n.is_empty())
                .map(String::from);
        }
        Ok(())
    }

    fn odd_item(&mut self) {
        self.odd_items += 1;
        self.images.push(Image::default());
    }

    fn not_array(kind: &'static str) -> Self {
        ImagesIn {
            present: true,
            not_array: Some(kind),
            ..ImagesIn::default()
        }
    }

    fn mark_present(&mut self) {
        self.present = true;
    }
}

/// Any JSON value as a [`FillFrom`] array: an array's entries are read in place, anything else
/// is remembered as odd.
struct ArrayVisitor<T>(PhantomData<T>);

impl<'de, T: FillFrom> Visitor<'de> for ArrayVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut out = T::default();
        out.mark_present();
        while seq.next_element_seed(EntrySeed(&mut out))?.is_some() {}
        Ok(out)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(T::not_array("object"))
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::not_array("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::not_array("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::not_array("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::not_array("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<T, E> {
        Ok(T::not_array("string"))
    }
}

/// One array entry, read into the array's vector.
struct EntrySeed<'x, T>(&'x mut T);

impl<'de, T: FillFrom> de::DeserializeSeed<'de> for EntrySeed<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: FillFrom> Visitor<'de> for EntrySeed<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.fill(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.0.odd_item();
        Ok(())
    }
    // `null` entries are odd too (and keep their slot among images).
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
}

impl<'de> Deserialize<'de> for FramesIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrayVisitor(PhantomData))
    }
}

impl<'de> Deserialize<'de> for ImagesIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrayVisitor(PhantomData))
    }
}

/// `asi`: an object of image name → array of messages, e.g.
/// `{"libsystem_c.dylib":["abort() called"]}`. Read as the messages, in order.
#[derive(Debug, Default)]
struct AsiJ<'a> {
    messages: Vec<Scalar<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for AsiJ<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = AsiJ<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of arrays of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut messages = Vec::new();
                while map.next_key::<IgnoredAny>()?.is_some() {
                    // Each value is normally an array of strings; a lone string is taken too.
                    match map.next_value::<ScalarOrList<'a>>()? {
                        ScalarOrList::One(s) => messages.push(s),
                        ScalarOrList::Many(v) => messages.extend(v),
                    }
                }
                Ok(AsiJ { messages })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

enum ScalarOrList<'a> {
    One(Scalar<'a>),
    Many(Vec<Scalar<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for ScalarOrList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = ScalarOrList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<Scalar<'a>>()? {
                    v.push(s);
                }
                Ok(ScalarOrList::Many(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ScalarVisitor(PhantomData)
                    .visit_map(map)
                    .map(ScalarOrList::One)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::Str(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::Str(Cow::Owned(v.to_owned()))))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::Bool(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::U(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::I(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::F(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ScalarOrList::Many(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// One register: `{"value": 4385295640, "symbol": "...", "symbolLocation": 8}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct RegJ<'a> {
    #[serde(borrow)]
    value: Scalar<'a>,
    #[serde(borrow)]
    symbol: Scalar<'a>,
}

/// `threadState`: `flavor`, an `x` array (arm64: x0..x28), and named registers (`fp`, `lr`,
/// `sp`, `pc`, `cpsr`, `far`, `esr`; x86: `rax`, `rbx` ...), each `{"value": ...}`.
#[derive(Debug, Default)]
struct StateJ<'a> {
    flavor: Scalar<'a>,
    regs: Vec<(Cow<'a, str>, RegJ<'a>)>,
    odd: usize,
}

impl<'de: 'a, 'a> Deserialize<'de> for StateJ<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = StateJ<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a thread state object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut st = StateJ::default();
                while let Some(key) = map.next_key::<Scalar<'a>>()? {
                    let Scalar::Str(key) = key else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    match key.as_ref() {
                        "flavor" => st.flavor = map.next_value()?,
                        // `x` (arm64) and `r` (arm32) are arrays of registers.
                        "x" | "r" => {
                            let list: List<Obj<RegJ<'a>>> = map.next_value()?;
                            match list {
                                List::Ok(items) => {
                                    for (i, item) in items.into_iter().enumerate() {
                                        match item {
                                            Obj::Ok(r) => {
                                                st.regs.push((Cow::Owned(format!("{key}{i}")), r))
                                            }
                                            _ => st.odd += 1,
                                        }
                                    }
                                }
                                List::Absent => {}
                                List::Odd(_) => st.odd += 1,
                            }
                        }
                        _ => match map.next_value::<Obj<RegJ<'a>>>()? {
                            Obj::Ok(r) => st.regs.push((key, r)),
                            Obj::Absent => {}
                            Obj::Odd(_) => st.odd += 1,
                        },
                    }
                }
                Ok(st)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// Building the model
// ---------------------------------------------------------------------------------------------

/// `"1.0 (1)"`, `"1.0"` or `"1"`, as the legacy text writes versions.
fn version_string(short: Option<String>, build: Option<String>) -> Option<String> {
    match (short, build) {
        (Some(s), Some(b)) if s != b => Some(format!("{s} ({b})")),
        (Some(s), _) => Some(s),
        (None, b) => b,
    }
}

fn build(
    header: Option<&Doc<'_>>,
    mut body: Option<&mut Doc<'_>>,
    format: SourceFormat,
    w: &mut Warnings,
) -> CrashReport {
    // The big arrays are moved out, to be moved (not copied) into the report.
    let arrays = body.as_deref_mut().map(|b| Arrays {
        threads: std::mem::take(&mut b.threads),
        images: std::mem::take(&mut b.used_images),
        last_exception_backtrace: std::mem::take(&mut b.last_exception_backtrace),
    });
    let body = body.as_deref();
    let bug_type = header
        .and_then(|h| h.bug_type.text(w, "header.bug_type"))
        .or_else(|| body.and_then(|b| b.bug_type.text(w, "bug_type")));

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
    let kind = match bug_type.as_deref().and_then(kind_of_bug_type) {
        Some(ReportKind::Crash) => ReportKind::Crash,
        _ if gpu_hint => ReportKind::GpuEvent,
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
        fill_body(&mut r, b, arrays.unwrap_or_default(), w);
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
    last_exception_backtrace: FramesIn,
}

/// Exception, termination, threads, images, registers: what only a JSON body holds.
fn fill_body(r: &mut CrashReport, b: &Doc<'_>, arrays: Arrays<'_>, w: &mut Warnings) {
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
    let mut states: Vec<Option<&RawValue>> = Vec::with_capacity(threads_j.len());
    r.threads = Vec::with_capacity(threads_j.len());
    for (index, t) in threads_j.into_iter().enumerate() {
        let thread = match t {
            Obj::Ok(t) => {
                states.push(t.thread_state);
                Thread {
                    index,
                    id: t.id.u64(w, "threads[].id"),
                    name: t.name.text(w, "threads[].name"),
                    queue: t.queue.text(w, "threads[].queue"),
                    crashed: t.triggered.bool(w, "threads[].triggered").unwrap_or(false),
                    frames: frames(t.frames, &r.images, w, "threads[].frames"),
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
    let triggered = r.threads.iter().position(|t| t.crashed);
    r.crashed_thread = match faulting {
        Some(i) if i < r.threads.len() => Some(i),
        Some(i) => {
            w.push(format!(
                "faultingThread {i} is out of range ({} threads)",
                r.threads.len()
            ));
            triggered
        }
        None => triggered,
    };
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

fn warn_bits(odd: u32, fields: &[&str], path: &str, w: &mut Warnings) {
    for (bit, field) in fields.iter().enumerate() {
        if odd & (1 << bit) != 0 {
            w.push(format!(
                "field `{path}.{field}` has an unexpected type; ignored"
            ));
        }
    }
}

/// Already lowercase and dashed, as `.ips` writes it (`2f5ccac7-cf4f-3f87-8689-7c673e90e595`):
/// [`normalize_uuid`] would give it back unchanged, at the price of three allocations.
fn is_normal_uuid(u: &str) -> bool {
    u.len() == 36
        && u.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// The frames of a list, with their absolute address (`usedImages[imageIndex].base +
/// imageOffset`) where computable.
fn frames(list: FramesIn, images: &[Image], w: &mut Warnings, path: &str) -> Vec<Frame> {
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
    let mut frames = list.frames;
    for frame in &mut frames {
        let Some(i) = frame.image_index else { continue };
        match images.get(i) {
            Some(im) => {
                frame.address = match (im.base, frame.image_offset) {
                    (Some(base), Some(off)) => base.checked_add(off),
                    _ => None,
                }
            }
            None => {
                w.push(format!(
                    "`frames[].imageIndex` {i} is out of range ({} images)",
                    images.len()
                ));
                frame.image_index = None;
            }
        }
    }
    frames
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

fn registers(raw: &RawValue, w: &mut Warnings) -> Option<RegisterState> {
    let state: Obj<StateJ<'_>> = match serde_json::from_str(raw.get()) {
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
    regs.sort_by_key(|r| register_rank(&r.name));
    Some(RegisterState {
        flavor: state.flavor.text(w, "threadState.flavor"),
        registers: regs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small but complete 309 report, built here (the corpus stays outside the repository).
    pub(crate) fn sample_body() -> String {
        r#"{
  "uptime" : 1900000,
  "procRole" : "Background",
  "userID" : 501,
  "modelCode" : "Mac16,5",
  "osVersion" : {"train" : "macOS 26.3", "build" : "25D125", "releaseType" : "User"},
  "captureTime" : "2026-04-01 12:39:56.0657 -0700",
  "incident" : "33218F9D-FEB7-4525-92E3-5CF9934D6B87",
  "pid" : 34188,
  "translated" : false,
  "cpuType" : "ARM-64",
  "procName" : "python3.12",
  "procPath" : "\/opt\/homebrew\/bin\/python3.12",
  "bundleInfo" : {"CFBundleShortVersionString" : "3.12.4", "CFBundleVersion" : "3.12.4f1", "CFBundleIdentifier" : "org.python.python"},
  "parentProc" : "zsh",
  "parentPid" : 1200,
  "responsibleProc" : "Terminal",
  "exception" : {"codes" : "0x0000000000000001, 0x0000000000000098", "rawCodes" : [1, 152], "type" : "EXC_BAD_ACCESS", "signal" : "SIGSEGV", "subtype" : "KERN_INVALID_ADDRESS at 0x0000000000000098"},
  "termination" : {"flags" : 0, "code" : 11, "namespace" : "SIGNAL", "indicator" : "Segmentation fault: 11", "byProc" : "exc handler", "byPid" : 34188},
  "asi" : {"libsystem_c.dylib" : ["first message", "second message"]},
  "faultingThread" : 1,
  "threads" : [
    {"id" : 100, "queue" : "com.apple.main-thread", "frames" : [{"imageOffset" : 4096, "symbol" : "mach_msg2_trap", "symbolLocation" : 8, "imageIndex" : 1}]},
    {"triggered" : true, "id" : 101, "name" : "worker",
     "threadState" : {"x" : [{"value" : 1}, {"value" : 2, "symbol" : "_MergedGlobals", "symbolLocation" : 8}], "flavor" : "ARM_THREAD_STATE64", "lr" : {"value" : 4385295568}, "cpsr" : {"value" : 1610612736}, "fp" : {"value" : 6104850592}, "sp" : {"value" : 6104850528}, "esr" : {"value" : 2449473542, "description" : "(Data Abort) byte read Translation fault"}, "pc" : {"value" : 4385295640, "matchesCrashFrame" : 1}, "far" : {"value" : 152}},
     "frames" : [
       {"imageOffset" : 1552, "symbol" : "AGX::ComputeContext::prepareForEnqueue(bool)", "symbolLocation" : 100, "imageIndex" : 0},
       {"imageOffset" : 2000, "imageIndex" : 0},
       {"imageOffset" : 300, "sourceLine" : 367, "sourceFile" : "custom_kernel.cpp", "symbol" : "mlx::core::eval", "imageIndex" : 1, "symbolLocation" : 4}
     ]}
  ],
  "usedImages" : [
    {"source" : "P", "arch" : "arm64e", "base" : 8589934592, "size" : 65536, "uuid" : "2F5CCAC7CF4F3F8786897C673E90E595", "name" : "AGXMetalG16X", "path" : "\/System\/Library\/Extensions\/AGXMetalG16X.bundle\/Contents\/MacOS\/AGXMetalG16X", "CFBundleIdentifier" : "com.apple.AGXMetalG16X", "CFBundleShortVersionString" : "341.11", "CFBundleVersion" : "341.11"},
    {"source" : "P", "arch" : "arm64e", "base" : 4294967296, "size" : 8192, "uuid" : "a308656d-31e2-38dc-9b95-54f3287f3899", "path" : "\/usr\/lib\/system\/libsystem_kernel.dylib"}
  ],
  "lastExceptionBacktrace" : [{"imageOffset" : 10, "symbol" : "__exceptionPreprocess", "symbolLocation" : 164, "imageIndex" : 1}],
  "vmSummary" : "ReadOnly portion of Libraries: Total=2.1G"
}"#
        .to_string()
    }

    pub(crate) const HEADER: &str = r#"{"app_name":"python3.12","timestamp":"2026-04-01 12:40:07.00 -0700","app_version":"","slice_uuid":"2f5ccac7-cf4f-3f87-8689-7c673e90e595","build_version":"","platform":1,"bug_type":"309","os_version":"macOS 26.3 (25D125)","roots_installed":0,"name":"python3.12","incident_id":"33218F9D-FEB7-4525-92E3-5CF9934D6B87"}"#;

    fn sample() -> String {
        format!("{HEADER}\n{}\n", sample_body())
    }

    fn one(text: &str) -> (CrashReport, Body<'_>) {
        let mut scan = scan(text);
        assert_eq!(scan.documents.len(), 1, "documents: {:#?}", scan.documents);
        let d = scan.documents.remove(0);
        (d.report, d.body)
    }

    #[test]
    fn pretty_body_fills_the_model() {
        let text = sample();
        let (r, body) = one(&text);
        assert_eq!(body, Body::Json);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.kind, ReportKind::Crash);
        assert_eq!(r.format, SourceFormat::Ips);
        assert_eq!(r.bug_type.as_deref(), Some("309"));
        assert_eq!(
            r.incident_id.as_deref(),
            Some("33218F9D-FEB7-4525-92E3-5CF9934D6B87")
        );
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
        // `\/` escapes: the path cannot be borrowed, and must come out unescaped.
        assert_eq!(
            r.process.path.as_deref(),
            Some("/opt/homebrew/bin/python3.12")
        );
        assert_eq!(r.process.pid, Some(34188));
        assert_eq!(r.process.parent_name.as_deref(), Some("zsh"));
        assert_eq!(r.process.parent_pid, Some(1200));
        assert_eq!(r.process.responsible.as_deref(), Some("Terminal"));
        assert_eq!(r.process.user_id, Some(501));
        assert_eq!(r.process.bundle_id.as_deref(), Some("org.python.python"));
        assert_eq!(
            r.process.bundle_version.as_deref(),
            Some("3.12.4 (3.12.4f1)")
        );
        assert_eq!(
            r.captured_at.map(|t| t.to_rfc3339()),
            Some("2026-04-01T19:39:56.065700+00:00".to_string())
        );
        assert_eq!(
            r.captured_at_raw.as_deref(),
            Some("2026-04-01 12:39:56.0657 -0700")
        );
        assert_eq!(r.os.version.as_deref(), Some("macOS 26.3 (25D125)"));
        assert_eq!(r.os.train.as_deref(), Some("macOS 26.3"));
        assert_eq!(r.os.build.as_deref(), Some("25D125"));
        assert_eq!(r.hardware_model.as_deref(), Some("Mac16,5"));
        assert_eq!(r.cpu_type.as_deref(), Some("ARM-64"));
        assert_eq!(r.translated, Some(false));
        assert_eq!(r.exception.exc_type.as_deref(), Some("EXC_BAD_ACCESS"));
        assert_eq!(r.exception.signal.as_deref(), Some("SIGSEGV"));
        assert_eq!(r.exception.fault_address, Some(0x98));
        assert!(!r.exception.pointer_auth_failure);
        let term = r.termination.clone().unwrap();
        assert_eq!(term.namespace.as_deref(), Some("SIGNAL"));
        assert_eq!(term.code, Some(11));
        assert_eq!(term.by_process.as_deref(), Some("exc handler"));
        assert_eq!(r.asi, vec!["first message", "second message"]);
        assert_eq!(r.crashed_thread, Some(1));
        let t = r.crashed().unwrap();
        assert!(t.crashed);
        assert_eq!(t.name.as_deref(), Some("worker"));
        assert_eq!(t.id, Some(101));
        assert_eq!(t.frames.len(), 3);
        let f0 = &t.frames[0];
        assert_eq!(f0.image_index, Some(0));
        assert_eq!(f0.address, Some(8589934592 + 1552));
        assert_eq!(f0.symbol_offset, Some(100));
        assert_eq!(f0.symbol_source, Some(SymbolSource::Apple));
        assert_eq!(t.frames[1].symbol, None);
        assert_eq!(t.frames[1].symbol_source, None);
        assert_eq!(
            t.frames[2].source_file.as_deref(),
            Some("custom_kernel.cpp")
        );
        assert_eq!(t.frames[2].source_line, Some(367));
        assert_eq!(r.threads[0].queue.as_deref(), Some("com.apple.main-thread"));
        assert!(!r.threads[0].crashed);
        let regs = r.registers.clone().unwrap();
        assert_eq!(regs.flavor.as_deref(), Some("ARM_THREAD_STATE64"));
        let names: Vec<&str> = regs.registers.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["x0", "x1", "fp", "lr", "sp", "pc", "cpsr", "far", "esr"]
        );
        assert_eq!(regs.registers[1].symbol.as_deref(), Some("_MergedGlobals"));
        assert_eq!(regs.get("far"), Some(152));
        assert_eq!(r.images.len(), 2);
        assert_eq!(
            r.images[0].uuid.as_deref(),
            Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595")
        );
        assert_eq!(r.images[0].bundle_version.as_deref(), Some("341.11"));
        // No `name` in the report: taken from the path.
        assert_eq!(r.images[1].name.as_deref(), Some("libsystem_kernel.dylib"));
        assert_eq!(r.last_exception_backtrace.len(), 1);
        assert_eq!(r.last_exception_backtrace[0].address, Some(4294967296 + 10));
    }

    #[test]
    fn one_line_body_reads_the_same_as_pretty() {
        let pretty = sample();
        let compact_body: serde_json::Value = serde_json::from_str(&sample_body()).unwrap();
        let compact = format!(
            "{HEADER}\n{}",
            serde_json::to_string(&compact_body).unwrap()
        );
        assert!(!compact.trim_end().contains("\n{\n"));
        assert_eq!(one(&pretty).0, one(&compact).0);
    }

    #[test]
    fn header_only_file_is_a_partial_report() {
        let (r, body) = one(HEADER);
        assert_eq!(body, Body::Missing);
        assert_eq!(r.kind, ReportKind::Crash);
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
        assert_eq!(r.os.version.as_deref(), Some("macOS 26.3 (25D125)"));
        assert!(r.captured_at.is_some());
        assert!(r.threads.is_empty());
        assert!(
            r.warnings.iter().any(|w| w.contains("no body")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn truncated_body_gives_partial_reports() {
        let text = sample();
        let body_start = HEADER.len() + 1;
        // Cut inside the first thread, inside the crashed thread, inside usedImages.
        for marker in ["mach_msg2_trap", "prepareForEnqueue", "AGXMetalG16X.bundle"] {
            let cut = text.find(marker).unwrap();
            let (r, body) = one(&text[..cut]);
            assert_eq!(body, Body::Partial, "cut at {marker}");
            assert_eq!(r.process.name.as_deref(), Some("python3.12"));
            assert_eq!(r.exception.exc_type.as_deref(), Some("EXC_BAD_ACCESS"));
            assert!(
                r.warnings.iter().any(|w| w.contains("ends early")),
                "cut at {marker}: {:?}",
                r.warnings
            );
        }
        // Every cut inside the body gives a report, never a panic or an error.
        for cut in body_start..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let scan = scan(&text[..cut]);
            assert_eq!(scan.documents.len(), 1, "cut at {cut}");
        }
    }

    #[test]
    fn truncated_header_is_partial_or_a_clear_error() {
        let cut = HEADER.find("\"os_version\"").unwrap();
        let (r, body) = one(&HEADER[..cut + 5]);
        assert_eq!(body, Body::Missing);
        assert_eq!(r.bug_type.as_deref(), Some("309"));
        let scan = scan(&HEADER[..8]);
        assert!(scan.documents.is_empty());
        assert!(
            matches!(scan.broken, Some(ParseError::Truncated(_))),
            "{:?}",
            scan.broken
        );
    }

    #[test]
    fn pointer_authentication_fault_keeps_both_addresses() {
        let body = sample_body().replace(
            "KERN_INVALID_ADDRESS at 0x0000000000000098",
            "KERN_INVALID_ADDRESS at 0x00009ba36e2f2650 -> 0x00001ba36e2f2650 (possible pointer authentication failure)",
        );
        let text = format!("{HEADER}\n{body}");
        let (r, _) = one(&text);
        assert_eq!(r.exception.fault_address, Some(0x00009ba36e2f2650));
        assert_eq!(r.exception.fault_address_stripped, Some(0x00001ba36e2f2650));
        assert!(r.exception.pointer_auth_failure);
    }

    #[test]
    fn fault_address_from_far_only_for_bad_access() {
        let body = sample_body().replace(
            r#", "subtype" : "KERN_INVALID_ADDRESS at 0x0000000000000098""#,
            "",
        );
        let text = format!("{HEADER}\n{body}");
        assert_eq!(one(&text).0.exception.fault_address, Some(152));
        let crash = body.replace("EXC_BAD_ACCESS", "EXC_CRASH");
        let text = format!("{HEADER}\n{crash}");
        let (r, _) = one(&text);
        assert_eq!(r.exception.exc_type.as_deref(), Some("EXC_CRASH"));
        assert_eq!(r.exception.fault_address, None);
    }

    #[test]
    fn gpu_event_is_its_own_kind() {
        let text = r#"{"bug_type":"284","timestamp":"2026-10-09 22:59:04.00 -0500","os_version":"macOS 26.2 (25C56)","roots_installed":0,"incident_id":"0D63083D-3260-46A7-9573-BD91CA218FCD"}
{
  "roots_installed" : 0,
  "bug_type" : "284",
  "process_name" : "python3.12",
  "registers" : {},
  "timestamp" : 1791604744,
  "analysis" : {"guilty_dm":3,"signature":579,"restart_reason_desc":"firmware-detected lockup","restart_reason":4}
}
"#;
        let (r, body) = one(text);
        assert_eq!(body, Body::Json);
        assert_eq!(r.kind, ReportKind::GpuEvent);
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
        assert_eq!(
            r.exception.message.as_deref(),
            Some("firmware-detected lockup")
        );
        assert_eq!(
            r.incident_id.as_deref(),
            Some("0D63083D-3260-46A7-9573-BD91CA218FCD")
        );
        // A header hint alone is enough.
        let hinted = r#"{"bug_type":"999","name":"gpuEvent-python3.12","incident_id":"X"}"#;
        assert_eq!(one(hinted).0.kind, ReportKind::GpuEvent);
    }

    #[test]
    fn other_bug_types_are_other() {
        let text = r#"{"bug_type":"298","timestamp":"2020-10-15 17:29:58.79 +0100","os_version":"iPhone OS 14.2 (18B5061e)","incident_id":"B04A36B1-19EC-4895-B203-6AE21BE52B02"}
{"crashReporterKey":"d3e6","product":"iPhone12,1","incident":"B04A36B1-19EC-4895-B203-6AE21BE52B02","date":"2020-10-15 17:29:58.79 +0100","processes":[{"name":"x"}]}
"#;
        let (r, _) = one(text);
        assert_eq!(r.kind, ReportKind::Other);
        assert_eq!(r.hardware_model.as_deref(), Some("iPhone12,1"));
        assert_eq!(r.os.version.as_deref(), Some("iPhone OS 14.2 (18B5061e)"));
        assert!(r.captured_at.is_some());
    }

    #[test]
    fn several_documents_in_one_file() {
        let second = sample_body().replace("python3.12", "ruby");
        let text = format!(
            "{HEADER}\n{}\n{}\n{second}\nModel: Mac16,5, BootROM 11881.81.4\n",
            sample_body(),
            HEADER.replace("33218F9D", "44444444")
        );
        let scan = scan(&text);
        assert_eq!(scan.documents.len(), 2);
        assert_eq!(
            scan.documents[1].report.process.name.as_deref(),
            Some("ruby")
        );
        assert_eq!(
            scan.documents[1].report.incident_id.as_deref(),
            Some("44444444-FEB7-4525-92E3-5CF9934D6B87")
        );
        assert!(scan.documents[1].prefix.trim().is_empty());
    }

    #[test]
    fn text_before_the_first_brace_is_the_prefix() {
        let prefix = "-------------------------------------\nTranslated Report (Full Report Below)\n-------------------------------------\n\nProcess: python3.12 [34188]\nApplication Specific Information:\n{\n    NSLocalizedDescription = \"x\";\n}\n\n-----------\nFull Report\n-----------\n\n";
        let text = format!("{prefix}{}", sample());
        let (r, body) = one(&text);
        assert_eq!(body, Body::Json);
        assert_eq!(r.format, SourceFormat::TranslatedIps);
        assert_eq!(r.crashed().map(|t| t.frames.len()), Some(3));
        let scan = scan(&text);
        assert_eq!(scan.documents[0].prefix, prefix);
        // Prose around, no dialog text: plain `.ips`.
        let text = format!("Here is the crash:\n```\n{}```\nthanks", sample());
        let (r, _) = one(&text);
        assert_eq!(r.format, SourceFormat::Ips);
        assert_eq!(r.process.name.as_deref(), Some("python3.12"));
    }

    #[test]
    fn text_body_is_handed_back() {
        let text = format!("{HEADER}\nIncident Identifier: X\nProcess: foo [1]\n");
        let (r, body) = one(&text);
        assert_eq!(
            body,
            Body::Text("\nIncident Identifier: X\nProcess: foo [1]\n")
        );
        assert_eq!(r.kind, ReportKind::Crash);
    }

    #[test]
    fn odd_field_types_cost_only_the_field() {
        let body = sample_body()
            .replace("\"pid\" : 34188", "\"pid\" : {\"odd\" : true}")
            .replace("\"userID\" : 501", "\"userID\" : \"501\"")
            .replace(
                "\"asi\" : {",
                "\"asi\" : {\"odd\" : 5, \"more\" : {\"x\" : 1}, ",
            )
            .replace("\"imageOffset\" : 2000", "\"imageOffset\" : [1, 2]")
            .replace("\"bundleInfo\" : {", "\"bundleInfo\" : 7, \"unused\" : {");
        let text = format!("{HEADER}\n{body}");
        let (r, b) = one(&text);
        assert_eq!(b, Body::Json);
        assert_eq!(r.process.pid, None);
        assert_eq!(r.process.user_id, Some(501));
        assert_eq!(r.process.bundle_id, None);
        assert_eq!(r.crashed().unwrap().frames.len(), 3);
        assert_eq!(r.crashed().unwrap().frames[1].image_offset, None);
        assert!(r.asi.contains(&"first message".to_string()));
        for needle in ["`pid`", "`bundleInfo`", "imageOffset"] {
            assert!(
                r.warnings.iter().any(|w| w.contains(needle)),
                "{needle}: {:?}",
                r.warnings
            );
        }
    }

    #[test]
    fn broken_body_keeps_what_precedes_the_break() {
        // A raw line break inside a string (a paste wrapped the line): not JSON.
        let body = sample_body().replace("\"Terminal\"", "\"Term\ninal\"");
        let text = format!("{HEADER}\n{body}");
        let (r, b) = one(&text);
        assert_eq!(b, Body::Partial);
        assert_eq!(r.process.parent_name.as_deref(), Some("zsh"));
        assert!(
            r.warnings.iter().any(|w| w.contains("is broken")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn repairs_close_open_containers() {
        let src = r#"{"threads":[{"id":1},{"id":2,"na"#;
        let first = repairs(src, src.len()).next().unwrap();
        assert_eq!(first, r#"{"threads":[{"id":1},{"id":2}]}"#);
        let src = r#"{"a":"x,y"#;
        assert_eq!(repairs(src, src.len()).next().unwrap(), "{}");
    }

    #[test]
    fn crafted_unclosed_objects_do_not_make_the_search_quadratic() {
        // 20 000 nested, never closed objects, each a line-start candidate that reads to the
        // end of the text: without the work budget this reads ~2 GB.
        let text = "{\"a\":\n".repeat(20_000);
        let scan = scan(&text);
        assert!(scan.documents.is_empty());
    }

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
