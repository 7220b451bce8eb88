//! Legacy `.crash` text parser.
//!
//! Placeholder in this branch: the real parser is written on another branch and replaces this
//! file at merge. It keeps the agreed signature so that format detection in [`super::parse`]
//! can call it; it recognises nothing.

use super::{CrashReport, ParseError};

/// Parse one legacy text report (`Process:`, `Exception Type:`, `Thread N Crashed:` ...).
pub fn parse(text: &str) -> Result<CrashReport, ParseError> {
    let _ = text;
    Err(ParseError::Unrecognized(
        "legacy text parser not available in this build".into(),
    ))
}
