//! Finding `.ips` documents in a text: candidate `{` positions, reading each object (and
//! repairing one that is cut short or broken), and pairing headers with bodies.

use super::build::build;
use super::lenient::Warnings;
use super::shape::Doc;
use super::{Body, Ctx, Document};
use crate::crash::model::SourceFormat;
use crate::crash::ParseError;

/// A candidate object that was read and looks like an `.ips` header or body.
pub(super) struct Found<'a> {
    pub(super) start: usize,
    probe: Probe<'a>,
    role: Role,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Role {
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
pub(super) fn next_document_start<'a>(
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
    // Most objects are read by the fast reader; what it does not read exactly as serde
    // would, serde reads (the same `Doc` either way, see `fast`).
    if ctx.fast {
        if let Some((doc, len)) = super::fast::read_doc(sub) {
            let end = start + len;
            ctx.charge(len);
            let role = doc.role();
            if require_keys && role.is_none() {
                return ProbeResult::NotJson;
            }
            return ProbeResult::Found(Probe::Whole {
                doc: Box::new(doc),
                end,
            });
        }
    }
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
        } else if err_msg.starts_with("control character") {
            // A raw TAB or NUL pasted into a string (`"procName" : "py<TAB>thon"`): JSON
            // forbids it, serde stops the whole body there. Every such byte inside a string
            // becomes a space in one pass (same length), so one stray byte costs nothing else.
            let (blanked, n) = blank_controls_in_strings(text)?;
            *text = blanked;
            warnings.push(format!(
                "{n} raw control {} inside strings replaced by spaces",
                if n == 1 { "character" } else { "characters" }
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

/// Where a byte of JSON text stands: inside a string literal (quotes and escapes included) or
/// outside, where brackets and commas are structure. One state machine for every scan here.
#[derive(Default)]
struct StringState {
    in_str: bool,
    esc: bool,
}

impl StringState {
    /// Feed the next byte; true when it is structure (outside every string and not a quote).
    fn outside(&mut self, c: u8) -> bool {
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if c == b'\\' {
                self.esc = true;
            } else if c == b'"' {
                self.in_str = false;
            }
            return false;
        }
        if c == b'"' {
            self.in_str = true;
            return false;
        }
        true
    }
}

/// `text` with every raw control byte (below 0x20) inside a JSON string replaced by a space,
/// and how many there were; `None` when there were none (nothing to repair). Bytes outside
/// strings are left alone: there, newlines and tabs are ordinary whitespace.
fn blank_controls_in_strings(text: &str) -> Option<(String, usize)> {
    let mut bytes = text.as_bytes().to_vec();
    let (mut st, mut n) = (StringState::default(), 0usize);
    for b in &mut bytes {
        if st.in_str && !st.esc && *b < 0x20 {
            // A space is ordinary string content: the state does not change.
            *b = b' ';
            n += 1;
            continue;
        }
        st.outside(*b);
    }
    // Only ASCII bytes were replaced by ASCII, so the text is still UTF-8.
    let text = String::from_utf8(bytes).ok()?;
    (n > 0).then_some((text, n))
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
    let mut st = StringState::default();
    let mut depth = 0usize;
    for (i, &c) in bytes.iter().enumerate() {
        if !st.outside(c) {
            continue;
        }
        match c {
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
    let mut st = StringState::default();
    for &c in head.as_bytes() {
        if !st.outside(c) {
            continue;
        }
        match c {
            b'{' => stack.push(b'}'),
            b'[' => stack.push(b']'),
            // The guard pops: a closer that does not match its opener ends the attempt.
            b'}' | b']' if stack.pop() != Some(c) => return None,
            _ => {}
        }
    }
    if st.in_str || stack.is_empty() {
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
pub(super) fn read_document<'a>(
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
        let report = build(None, Some(&mut first), format, ctx.depth, &mut warnings);
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
        let report = build(Some(&first), None, format, ctx.depth, &mut warnings);
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
        let report = build(Some(&first), None, format, ctx.depth, &mut warnings);
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
                let report = build(Some(&first), None, format, ctx.depth, &mut warnings);
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
                let report = build(
                    Some(&first),
                    Some(&mut body),
                    format,
                    ctx.depth,
                    &mut warnings,
                );
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
    let report = build(Some(&first), None, format, ctx.depth, &mut warnings);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_close_open_containers() {
        let src = r#"{"threads":[{"id":1},{"id":2,"na"#;
        let first = repairs(src, src.len()).next().unwrap();
        assert_eq!(first, r#"{"threads":[{"id":1},{"id":2}]}"#);
        let src = r#"{"a":"x,y"#;
        assert_eq!(repairs(src, src.len()).next().unwrap(), "{}");
    }
}
