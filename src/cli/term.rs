//! Terminal hygiene: report data never reaches a terminal as control characters.
//!
//! A crash report is untrusted text. A process name, a frame symbol or a round's
//! configuration value holding `ESC ] 0 ; TITLE BEL` would retitle the terminal, `ESC [ 2 J`
//! would clear it, U+202E (right-to-left override) would print the rest of the line reversed
//! and a NUL or a carriage return would hide what came before. Everything human-readable that
//! the CLI prints therefore goes through this module:
//!
//! - [`stdout`] and [`stderr`] wrap the standard streams in a [`TermWriter`] that escapes, as
//!   Rust does (`\u{1b}`), every C0 and C1 control character except newline and tab, DEL,
//!   the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and
//!   the line and paragraph separators (U+2028, U+2029) and the noncharacters (U+FFFE...),
//!   the set [`agx_triage::writeup::is_unsafe_char`] defines for writeups too. `--json` output is passed through
//!   untouched: serde_json already writes control characters as `\u001b`, and a JSON reader
//!   must get every other character exactly.
//! - [`Table`], the one table builder every command uses, escapes each cell completely
//!   (newline, tab and carriage return included, as `\n`, `\t`, `\r`) *before* comfy-table
//!   measures it, so an embedded newline cannot split a row and the column widths stay right.
//! - [`one_line`] does the same for a whole value (a report model before `show` lays it out).
//!
//! The escape is a presentation transform only: nothing escaped is ever stored.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use serde::{de::DeserializeOwned, Serialize};

/// True for the characters a terminal must never receive from report data (newline and tab
/// excepted; see [`escape_cell`] for text that must stay on one line).
fn is_dangerous(c: char) -> bool {
    c != '\n' && c != '\t' && agx_triage::writeup::is_unsafe_char(c)
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escape_with(s: &str, bad: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if bad(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escape the characters that control a terminal; newlines and tabs stay (the text's own
/// layout). `"a\u{1b}]0;x\u{7}b"` becomes `a\u{1b}]0;x\u{7}b` written out literally.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    escape_with(s, is_dangerous)
}

/// Escape for one table cell or one line: as [`escape_text`], and newline, tab and carriage
/// return too, so the value stays on its line.
pub fn escape_cell(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| is_dangerous(c) || matches!(c, '\n' | '\t'))
}

/// A copy of `value` in which every string is escaped with [`escape_cell`], for a text view
/// that lays fields out line by line (`show`): a newline inside a process name or a symbol
/// must not start a line of its own that looks like a frame. `None` when the value does not
/// survive the JSON round trip (the caller then prints the original, still through a
/// [`TermWriter`]).
pub fn one_line<T: Serialize + DeserializeOwned>(value: &T) -> Option<T> {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let Cow::Owned(e) = escape_cell(s) {
                    *s = e;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            serde_json::Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(value).ok()?;
    walk(&mut v);
    serde_json::from_value(v).ok()
}

/// A writer that escapes terminal controls (see the module docs) on their way to `inner`,
/// or passes everything through when built for JSON.
pub struct TermWriter<W: Write> {
    inner: W,
    escape: bool,
    /// The start of a UTF-8 sequence split across two `write` calls.
    pending: Vec<u8>,
}

impl<W: Write> TermWriter<W> {
    /// Escape what is written to `inner`, unless `json` (exact output).
    pub fn new(inner: W, json: bool) -> Self {
        TermWriter {
            inner,
            escape: !json,
            pending: Vec::new(),
        }
    }

    fn write_escaped(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.inner.write_all(escape_text(s).as_bytes())?;
                    return Ok(());
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // Valid up to here, so this cannot fail; no unwrap on output paths.
                    if let Ok(s) = std::str::from_utf8(good) {
                        self.inner.write_all(escape_text(s).as_bytes())?;
                    }
                    match e.error_len() {
                        // Incomplete sequence at the end: keep it for the next write.
                        None => {
                            self.pending.extend_from_slice(bad);
                            return Ok(());
                        }
                        // Not UTF-8 at all: show the bytes, never send them raw.
                        Some(n) => {
                            for b in &bad[..n] {
                                write!(self.inner, "\\x{b:02x}")?;
                            }
                            rest = &bad[n..];
                        }
                    }
                }
            }
        }
    }
}

impl<W: Write> Write for TermWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.escape {
            return self.inner.write(buf);
        }
        if self.pending.is_empty() {
            self.write_escaped(buf)?;
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(buf);
            self.write_escaped(&joined)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let bytes = std::mem::take(&mut self.pending);
            for b in bytes {
                write!(self.inner, "\\x{b:02x}")?;
            }
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for TermWriter<W> {
    fn drop(&mut self) {
        // Nothing to report to at this point; the last write already surfaced any error.
        let _ = self.flush();
    }
}

/// A number for people: as written (`0.05`, `12.5`) when of ordinary size, in scientific
/// notation when tiny or huge (`1e-300`, `3.2e24`), where Rust's `{}` would print hundreds of
/// digits.
pub fn num(x: f64) -> String {
    let a = x.abs();
    if x != 0.0 && a.is_finite() && !(1e-4..1e9).contains(&a) {
        format!("{x:.3e}")
            .replace(".000e", "e")
            .replace("00e", "e")
            .replace("0e", "e")
    } else {
        format!("{x}")
    }
}

/// Standard output for a command: escaped unless `json`.
pub fn stdout(json: bool) -> TermWriter<io::StdoutLock<'static>> {
    TermWriter::new(io::stdout().lock(), json)
}

/// Standard error, always escaped (messages name files and report data).
pub fn stderr() -> TermWriter<io::StderrLock<'static>> {
    TermWriter::new(io::stderr().lock(), false)
}

/// Every `--json` output: `value` (a `Serialize` struct of the command's output) as pretty
/// JSON and a newline. Write it to [`stdout`]`(true)`: JSON escapes control characters itself,
/// so the sink passes it through unchanged.
pub fn print_json<W: Write, T: Serialize + ?Sized>(out: &mut W, value: &T) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// One cell of a [`Table`].
pub enum TermCell {
    /// Report or user data: escaped completely (one line).
    Text(String),
    /// Several lines, each escaped completely, shown one under the other in the cell.
    Lines(Vec<String>),
    /// A styled comfy-table cell; rebuilt from its escaped content when that needs escaping.
    Styled(comfy_table::Cell),
}

impl TermCell {
    /// A multi-line cell whose line breaks are the caller's, not the data's.
    pub fn lines<I: IntoIterator<Item = S>, S: Into<String>>(lines: I) -> Self {
        TermCell::Lines(lines.into_iter().map(Into::into).collect())
    }

    fn into_cell(self) -> comfy_table::Cell {
        match self {
            TermCell::Text(s) => comfy_table::Cell::new(escape_cell(&s)),
            TermCell::Lines(v) => comfy_table::Cell::new(
                v.iter()
                    .map(|l| escape_cell(l).into_owned())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            TermCell::Styled(c) => {
                let content = c.content();
                match escape_text(&content) {
                    Cow::Borrowed(_) => c,
                    Cow::Owned(e) => comfy_table::Cell::new(e),
                }
            }
        }
    }
}

impl From<String> for TermCell {
    fn from(s: String) -> Self {
        TermCell::Text(s)
    }
}
impl From<&String> for TermCell {
    fn from(s: &String) -> Self {
        TermCell::Text(s.clone())
    }
}
impl From<&str> for TermCell {
    fn from(s: &str) -> Self {
        TermCell::Text(s.to_string())
    }
}
impl From<Cow<'_, str>> for TermCell {
    fn from(s: Cow<'_, str>) -> Self {
        TermCell::Text(s.into_owned())
    }
}
impl From<comfy_table::Cell> for TermCell {
    fn from(c: comfy_table::Cell) -> Self {
        TermCell::Styled(c)
    }
}

/// The table every command prints: comfy-table with one style, whose cells are escaped
/// before they are measured. Other comfy-table settings are reachable through `Deref`.
pub struct Table(comfy_table::Table);

impl Table {
    /// An empty table in the shared style.
    pub fn new() -> Self {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        Table(t)
    }

    /// Set the header row (escaped like any cell: headers can hold labels from the data).
    pub fn set_header<I, C>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = C>,
        C: Into<TermCell>,
    {
        self.0
            .set_header(cells.into_iter().map(|c| c.into().into_cell()));
        self
    }

    /// Add a row.
    pub fn add_row<I, C>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = C>,
        C: Into<TermCell>,
    {
        self.0
            .add_row(cells.into_iter().map(|c| c.into().into_cell()));
        self
    }
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for Table {
    type Target = comfy_table::Table;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Table {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: `plan --alpha 1e-300` printed alpha as a 300-digit decimal.
    #[test]
    fn numbers_of_any_size_stay_short() {
        assert_eq!(num(0.05), "0.05");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1e-300), "1e-300");
        assert_eq!(num(2.5e-7), "2.5e-7");
        assert_eq!(num(3.25e24), "3.25e24");
        assert!(num(1e300).len() < 10, "{}", num(1e300));
    }

    const HOSTILE: &str = "a\u{1b}]0;TITLE\u{7}b\u{0}c\u{202e}d\u{9b}2Je\rf\u{2066}g";

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(
            escape_text(HOSTILE),
            "a\\u{1b}]0;TITLE\\u{7}b\\u{0}c\\u{202e}d\\u{9b}2Je\\rf\\u{2066}g"
        );
        assert_eq!(escape_text("two\nlines\tok"), "two\nlines\tok");
        assert_eq!(escape_cell("two\nlines\tok"), "two\\nlines\\tok");
        assert!(matches!(escape_text("plain ü ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_escapes_across_split_writes() {
        let mut buf = Vec::new();
        {
            let mut w = TermWriter::new(&mut buf, false);
            let bytes = "x\u{202e}y\u{1b}".as_bytes();
            // U+202E is three bytes: split it between two writes.
            w.write_all(&bytes[..2]).unwrap();
            w.write_all(&bytes[2..]).unwrap();
            w.write_all(b"\xff").unwrap();
        }
        assert_eq!(String::from_utf8(buf).unwrap(), "x\\u{202e}y\\u{1b}\\xff");
    }

    #[test]
    fn json_passes_through_exactly() {
        let mut buf = Vec::new();
        TermWriter::new(&mut buf, true)
            .write_all("\u{202e}\u{1b}".as_bytes())
            .unwrap();
        assert_eq!(buf, "\u{202e}\u{1b}".as_bytes());
    }

    #[test]
    fn a_newline_in_a_cell_keeps_the_row() {
        let mut t = Table::new();
        t.set_header(vec!["a", "b"]);
        t.add_row(vec!["x\ny\u{1b}[2J", "z"]);
        let s = t.to_string();
        assert_eq!(s.lines().count(), 5, "{s}");
        assert!(s.contains("x\\ny\\u{1b}[2J"));
        let mut t = Table::new();
        t.add_row(vec![TermCell::lines(["id", "title\u{7}"])]);
        assert!(t.to_string().contains("title\\u{7}"));
    }

    #[test]
    fn one_line_escapes_every_string_of_a_value() {
        let v = vec![("k\n".to_string(), Some("\u{1b}x".to_string()))];
        assert_eq!(
            one_line(&v),
            Some(vec![("k\\n".to_string(), Some("\\u{1b}x".to_string()))])
        );
    }
}
