//! Verification writeups: markdown reports with charts that never overclaim.
//!
//! This module *presents* precomputed figures; it runs no SQL. The caller
//! ([`crate::ops::writeup`], from the database via `store`, `rounds` and `stats`) builds a
//! [`Writeup`] holding every count, rate, interval, p-value and verdict, including each
//! bucket's rates and corrected test between the compared sides, the efficiency difference
//! (`rounds::compare::Comparison`, the same `compare` prints) and the top correlations of the
//! largest buckets; nothing is computed while rendering. The renderers turn it into
//! GitHub-flavoured markdown ([`render_markdown`]), JSON ([`render_json`]) and standalone SVG
//! charts ([`render_charts`]). Comparisons are worded by their verdict ([`wording`]), never by
//! which number looks bigger. [`redact`] removes user and host names before publishing.
//!
//! Renderers share the [`Renderer`] trait (one file per format, as hyperfine's exporters do),
//! and [`write_folder`] writes a complete writeup folder: `report.md`, `report.json` and the
//! SVG files the markdown links.

pub mod json;
pub mod markdown;
pub mod model;
pub mod redact;
pub mod svg;
pub mod wording;

pub use json::render_json;
pub use markdown::render_markdown;
pub use model::*;
pub use redact::{redact_writeup, RedactError, Redactor};
pub use svg::render_charts;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Characters no published text may carry raw: C0 and C1 controls, DEL, the bidirectional
/// controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069: "Trojan Source" reversal),
/// the line and paragraph separators, and the noncharacters (U+FFFE, U+FFFF, U+FDD0–U+FDEF and
/// their kin in every plane), which XML forbids. Renderers show them as `\u{1b}`; the CLI uses
/// the same set for the terminal.
pub fn is_unsafe_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        | '\u{fdd0}'..='\u{fdef}')
        || (c as u32 & 0xfffe) == 0xfffe
}

/// `c` written out as Rust escapes it: `\u{1b}`.
pub fn visible_escape(c: char) -> String {
    format!("\\u{{{:x}}}", c as u32)
}

/// Errors of the writeup module.
#[derive(Debug, Error)]
pub enum WriteupError {
    /// The model could not be serialised (`json`).
    #[error("cannot serialise the writeup: {0}")]
    Json(#[from] serde_json::Error),
    /// A file of the writeup folder could not be written (`io`).
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl WriteupError {
    /// A short stable name for logs.
    pub fn code(&self) -> &'static str {
        match self {
            WriteupError::Json(_) => "json",
            WriteupError::Io { .. } => "io",
        }
    }
}

/// Which chart a file is, so the markdown can place its link in the right section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// Pass rate per batch, raw and with retries, with interval whiskers.
    PassRate,
    /// Efficiency per round.
    Efficiency,
    /// Crash reports per bucket and fix version.
    BucketsByFix,
}

/// A rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Which chart.
    pub kind: ChartKind,
    /// File name to save it under, next to the markdown (e.g. `pass-rate.svg`).
    pub file_name: String,
    /// Human title (used as the image's alt text).
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

impl Chart {
    /// The reference the markdown links.
    pub fn reference(&self) -> ChartRef {
        ChartRef {
            kind: self.kind,
            file: self.file_name.clone(),
            title: self.title.clone(),
        }
    }
}

/// A chart file the markdown links (relative path from the markdown file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartRef {
    /// Which section the link goes in.
    pub kind: ChartKind,
    /// Relative path of the SVG file.
    pub file: String,
    /// Alt text.
    pub title: String,
}

/// One output format of a writeup.
pub trait Renderer {
    /// File name of the document in a writeup folder (`report.md`).
    fn file_name(&self) -> &'static str;
    /// Render the document, linking the given charts where the format can.
    fn render(&self, w: &Writeup, charts: &[ChartRef]) -> Result<String, WriteupError>;
}

/// GitHub-flavoured markdown ([`render_markdown`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownRenderer;

impl Renderer for MarkdownRenderer {
    fn file_name(&self) -> &'static str {
        "report.md"
    }
    fn render(&self, w: &Writeup, charts: &[ChartRef]) -> Result<String, WriteupError> {
        Ok(render_markdown(w, charts))
    }
}

/// Pretty-printed JSON ([`render_json`]); charts are not part of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRenderer;

impl Renderer for JsonRenderer {
    fn file_name(&self) -> &'static str {
        "report.json"
    }
    fn render(&self, w: &Writeup, _charts: &[ChartRef]) -> Result<String, WriteupError> {
        let mut s = serde_json::to_string_pretty(&render_json(w)?)?;
        s.push('\n');
        Ok(s)
    }
}

/// Write a writeup folder: `report.md`, `report.json` and the charts, creating `dir` if
/// needed. The writeup is rendered as given (redact it first to publish). Returns the files
/// written.
///
/// Each file is written to a temporary name in `dir` and renamed over its target, so a link
/// planted in `dir` (`report.md -> ../victim.txt`) is replaced, never written through, and a
/// reader never sees a half-written file.
pub fn write_folder(w: &Writeup, dir: &Path) -> Result<Vec<PathBuf>, WriteupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteupError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let charts = render_charts(w);
    let refs: Vec<ChartRef> = charts.iter().map(Chart::reference).collect();
    let mut written = Vec::new();
    for c in &charts {
        let p = dir.join(&c.file_name);
        replace_file(dir, &p, c.svg.as_bytes()).map_err(io(&p))?;
        written.push(p);
    }
    let renderers: [&dyn Renderer; 2] = [&MarkdownRenderer, &JsonRenderer];
    for r in renderers {
        let p = dir.join(r.file_name());
        replace_file(dir, &p, r.render(w, &refs)?.as_bytes()).map_err(io(&p))?;
        written.push(p);
    }
    Ok(written)
}

/// Write `bytes` to a new temporary file in `dir` and rename it to `target` (which replaces a
/// file or link of that name; the link itself, not what it points to).
fn replace_file(dir: &Path, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".agx-triage-");
    // Readable like any file this user writes (the umask applies), not tempfile's 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}
