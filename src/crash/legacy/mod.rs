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
//!
//! Layout: `parser` is the section state machine, `lines` reads frame and image lines,
//! `fields` reads header values, `text` holds the small text helpers; whole-report tests are
//! in `tests.rs`, tests over the real corpus in `tests/corpus_legacy.rs`.

use super::model::CrashReport;
use super::ParseError;

mod fields;
mod lines;
mod parser;
#[cfg(test)]
mod tests;
mod text;

use parser::Parser;

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
