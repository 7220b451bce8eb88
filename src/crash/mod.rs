//! Crash-report parsing: one model ([`CrashReport`]), one parser per format.
//!
//! [`parse`] detects the format of a file's bytes and hands it to [`ips`] or [`legacy`].
//! This module knows nothing of SQL, markdown or the terminal. Untrusted input never panics:
//! a truncated file yields what it holds plus warnings, or one [`ParseError`].

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
        part: &'static str,
        line: usize,
        column: usize,
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

/// Parse one file's bytes into the reports it holds (usually one).
pub fn parse(bytes: &[u8]) -> Result<Vec<CrashReport>, ParseError> {
    let _ = bytes;
    Err(ParseError::Unrecognized("parser not wired yet".into()))
}
