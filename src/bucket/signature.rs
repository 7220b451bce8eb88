//! Crash signatures: the stable text that names a crash's cause and defines its bucket.
//!
//! The method follows Mozilla's signature generation (SPEC §5): walk the crashed thread's
//! first [`MAX_FRAMES`] frames, drop *irrelevant* frames, keep *prefix* frames and go on past
//! them, stop after the first frame that is neither; normalise each name
//! ([`normalize_symbol`]), join with `" | "`, cap the length at a frame boundary. The frame
//! lists are data ([`FrameLists`], embedded `irrelevant.txt` / `prefix.txt`). Every signature
//! carries [`SIGNATURE_ALGORITHM_VERSION`]; docs/BUCKETS.md keeps the version history.
//! Pure: no I/O.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::glob::compile_globs;
use super::normalize::{normalize_agx_family, normalize_symbol};
use super::rules::RuleError;
use crate::crash::{CrashReport, Frame, Thread};

/// Version of the signature algorithm (normalisation, frame lists, joining). Bump it whenever
/// the text produced for some report can change, and add a line to docs/BUCKETS.md.
pub const SIGNATURE_ALGORITHM_VERSION: u32 = 1;

/// Frames of the crashed thread looked at, from the top.
pub const MAX_FRAMES: usize = 40;

/// Longest signature, in characters; longer ones are cut at a frame boundary.
pub const MAX_SIGNATURE_CHARS: usize = 500;

/// Joins frame names in a signature.
pub const SEPARATOR: &str = " | ";

/// The built-in irrelevant-frame list (`src/bucket/irrelevant.txt`).
pub const BUILTIN_IRRELEVANT: &str = include_str!("irrelevant.txt");

/// The built-in prefix-frame list (`src/bucket/prefix.txt`).
pub const BUILTIN_PREFIX: &str = include_str!("prefix.txt");

/// A computed signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature {
    /// The signature text; never empty.
    pub text: String,
    /// [`SIGNATURE_ALGORITHM_VERSION`] at the time it was computed.
    pub algorithm_version: u32,
    /// How many frames the text is made of (0 for the no-frames fallback).
    pub frames_used: usize,
}

/// The irrelevant and prefix frame lists, compiled.
#[derive(Debug, Clone)]
pub struct FrameLists {
    irrelevant: Vec<String>,
    prefix: Vec<String>,
    irrelevant_re: Option<Regex>,
    prefix_re: Option<Regex>,
}

impl Default for FrameLists {
    fn default() -> Self {
        Self::builtin()
    }
}

impl FrameLists {
    /// The lists shipped in the binary. Compiled once per process.
    pub fn builtin() -> FrameLists {
        static BUILTIN: OnceLock<FrameLists> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                // The embedded lists are checked by `builtin_lists_compile` below.
                FrameLists::from_text(BUILTIN_IRRELEVANT, BUILTIN_PREFIX)
                    .expect("built-in frame lists are valid (tested)")
            })
            .clone()
    }

    /// Lists from text in the `irrelevant.txt` / `prefix.txt` format: one glob per line,
    /// blank lines and `#` comments ignored.
    pub fn from_text(irrelevant: &str, prefix: &str) -> Result<FrameLists, RuleError> {
        let irrelevant = parse_list(irrelevant, "irrelevant list")?;
        let prefix = parse_list(prefix, "prefix list")?;
        FrameLists::new(irrelevant, prefix)
    }

    /// Lists from globs.
    pub fn new(irrelevant: Vec<String>, prefix: Vec<String>) -> Result<FrameLists, RuleError> {
        let irrelevant_re = compile_optional(&irrelevant)?;
        let prefix_re = compile_optional(&prefix)?;
        Ok(FrameLists {
            irrelevant,
            prefix,
            irrelevant_re,
            prefix_re,
        })
    }

    /// The irrelevant-frame globs.
    pub fn irrelevant(&self) -> &[String] {
        &self.irrelevant
    }

    /// The prefix-frame globs.
    pub fn prefix(&self) -> &[String] {
        &self.prefix
    }

    /// `name` (a normalised frame name) is dropped from signatures.
    pub fn is_irrelevant(&self, name: &str) -> bool {
        self.irrelevant_re
            .as_ref()
            .is_some_and(|r| r.is_match(name))
    }

    /// `name` (a normalised frame name) is a prefix frame.
    pub fn is_prefix(&self, name: &str) -> bool {
        self.prefix_re.as_ref().is_some_and(|r| r.is_match(name))
    }
}

fn compile_optional(globs: &[String]) -> Result<Option<Regex>, RuleError> {
    if globs.is_empty() {
        Ok(None)
    } else {
        compile_globs(globs).map(Some)
    }
}

fn parse_list(text: &str, origin: &str) -> Result<Vec<String>, RuleError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Check each glob alone so the error names its line.
        compile_globs(&[line]).map_err(|e| RuleError::List {
            origin: origin.to_string(),
            line: n + 1,
            message: e.to_string(),
        })?;
        out.push(line.to_string());
    }
    Ok(out)
}

/// One frame of the crashed thread that survived the irrelevant list.
#[derive(Debug, Clone)]
pub(crate) struct KeptFrame<'a> {
    /// The symbol as written, when the frame has one.
    pub raw: Option<&'a str>,
    /// Normalised symbol, or the (family-normalised) image name for unsymbolicated frames.
    pub name: String,
    /// Name of the image the frame is in.
    pub image: Option<&'a str>,
}

/// The crashed thread's relevant frames and the signature built from them, computed once and
/// shared by [`signature`] and the rules.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<'a> {
    pub kept: Vec<KeptFrame<'a>>,
    pub signature: Signature,
}

/// The signature of a report.
pub fn signature(report: &CrashReport, lists: &FrameLists) -> Signature {
    prepare(report, lists, 0).signature
}

/// The crashed thread: `crashed_thread`, else the first thread flagged as crashed.
pub(crate) fn crashed_thread(report: &CrashReport) -> Option<&Thread> {
    report
        .crashed()
        .or_else(|| report.threads.iter().find(|t| t.crashed))
}

/// Walk the crashed thread once. Frames are normalised only until the signature has stopped
/// and at least `min_kept` relevant frames are known (what the rules look at).
pub(crate) fn prepare<'a>(
    report: &'a CrashReport,
    lists: &FrameLists,
    min_kept: usize,
) -> Prepared<'a> {
    let mut kept: Vec<KeptFrame<'a>> = Vec::new();
    let mut sig_frames = 0usize;
    let mut stopped = false;
    if let Some(thread) = crashed_thread(report) {
        for frame in thread.frames.iter().take(MAX_FRAMES) {
            if stopped && kept.len() >= min_kept {
                break;
            }
            let Some(kf) = keep_frame(report, frame) else {
                continue;
            };
            if lists.is_irrelevant(&kf.name) {
                continue;
            }
            // A function and its split-off cold part (`MTLReportFailure.cold.1` above
            // `MTLReportFailure`) normalise to one name: keep it once.
            if kept.last().is_some_and(|k| k.name == kf.name) {
                continue;
            }
            if !stopped {
                sig_frames += 1;
                stopped = !lists.is_prefix(&kf.name);
            }
            kept.push(kf);
        }
    }
    let signature = if sig_frames == 0 {
        fallback_signature(report)
    } else {
        join_capped(kept[..sig_frames].iter().map(|k| k.name.as_str()))
    };
    Prepared { kept, signature }
}

/// A frame's name and image, or `None` for an address-only frame.
fn keep_frame<'a>(report: &'a CrashReport, frame: &'a Frame) -> Option<KeptFrame<'a>> {
    let image = report.image_of(frame).and_then(image_name);
    let raw = frame
        .symbol
        .as_deref()
        .map(str::trim)
        .filter(|s| !is_placeholder_symbol(s));
    // `0x1a2b3c + 12` written as a symbol is only a placeholder once its offset is gone.
    let normalized = raw
        .map(normalize_symbol)
        .filter(|n| !is_placeholder_symbol(n));
    let raw = raw.filter(|_| normalized.is_some());
    let name = match (normalized, image) {
        (Some(n), _) => n,
        // Unsymbolicated: the module is the best stable name (`libtorch_cpu.dylib`).
        (None, Some(img)) => normalize_agx_family(img),
        (None, None) => return None,
    };
    if name.is_empty() {
        return None;
    }
    Some(KeptFrame { raw, name, image })
}

fn image_name(image: &crate::crash::Image) -> Option<&str> {
    image
        .name
        .as_deref()
        .filter(|n| !n.is_empty() && *n != "???")
        .or_else(|| {
            image
                .path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .filter(|n| !n.is_empty())
        })
}

/// `???`, `<unknown>`, `<redacted>` (iOS system symbols), or a bare address (`0x1a2b3c`)
/// written where a symbol goes.
fn is_placeholder_symbol(s: &str) -> bool {
    s.is_empty()
        || s == "???"
        || s == "<unknown>"
        || s == "<redacted>"
        || s.strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

fn join_capped<'n>(names: impl Iterator<Item = &'n str>) -> Signature {
    let mut text = String::new();
    let mut chars = 0usize;
    let mut used = 0usize;
    let sep_chars = SEPARATOR.chars().count();
    for name in names {
        let n = name.chars().count();
        if used == 0 {
            if n > MAX_SIGNATURE_CHARS {
                // One frame longer than the cap: cut it at a character boundary.
                text.extend(name.chars().take(MAX_SIGNATURE_CHARS));
                used = 1;
                break;
            }
            text.push_str(name);
            chars = n;
        } else {
            if chars + sep_chars + n > MAX_SIGNATURE_CHARS {
                break;
            }
            text.push_str(SEPARATOR);
            text.push_str(name);
            chars += sep_chars + n;
        }
        used += 1;
    }
    Signature {
        text,
        algorithm_version: SIGNATURE_ALGORITHM_VERSION,
        frames_used: used,
    }
}

/// No usable frame: `EXC_CRASH (SIGABRT) in Python`. Never empty.
fn fallback_signature(report: &CrashReport) -> Signature {
    let ex = &report.exception;
    let mut text = ex
        .exc_type
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown exception")
        .to_string();
    if let Some(sig) = ex
        .signal
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !text.contains(sig) {
            text.push_str(&format!(" ({sig})"));
        }
    }
    if let Some(p) = report
        .process
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        text.push_str(" in ");
        text.push_str(p);
    }
    text = text.chars().take(MAX_SIGNATURE_CHARS).collect();
    Signature {
        text,
        algorithm_version: SIGNATURE_ALGORITHM_VERSION,
        frames_used: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crash::{Image, ReportKind, SourceFormat};

    fn report(frames: &[(Option<&str>, Option<usize>)], images: &[&str]) -> CrashReport {
        let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Ips);
        r.images = images
            .iter()
            .map(|n| Image {
                name: Some(n.to_string()),
                ..Image::default()
            })
            .collect();
        r.threads.push(Thread {
            crashed: true,
            frames: frames
                .iter()
                .map(|(s, i)| Frame {
                    symbol: s.map(str::to_string),
                    image_index: *i,
                    symbol_offset: Some(12),
                    ..Frame::default()
                })
                .collect(),
            ..Thread::default()
        });
        r.crashed_thread = Some(0);
        r
    }

    #[test]
    fn builtin_lists_compile() {
        let l = FrameLists::from_text(BUILTIN_IRRELEVANT, BUILTIN_PREFIX).unwrap();
        assert!(l.is_irrelevant("_sigtramp"));
        assert!(l.is_irrelevant("_pthread_start"));
        assert!(l.is_irrelevant("\u{3f}??"));
        assert!(
            !l.is_irrelevant("foo"),
            "`???` must be literal, not three wildcards"
        );
        assert!(l.is_prefix("objc_msgSend"));
        assert!(l.is_prefix("-[NSException raise]"));
        assert!(!l.is_prefix("-[NSException foo]"));
        assert!(l.is_prefix("std::sys::pal::unix::abort_internal"));
        assert!(l.is_prefix("<deduplicated_symbol>"));
    }

    #[test]
    fn prefix_frames_continue_and_irrelevant_drop() {
        let r = report(
            &[
                (Some("__pthread_kill"), Some(0)),
                (Some("pthread_kill"), Some(1)),
                (Some("abort"), Some(0)),
                (Some("__assert_rtn"), Some(0)),
                (
                    Some("-[AGXG16XFamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]"),
                    Some(2),
                ),
                (Some("at::mps::MPSStream::commandEncoder()"), Some(3)),
            ],
            &["libsystem_kernel.dylib", "libsystem_pthread.dylib", "AGXMetalG16X", "libtorch_cpu.dylib"],
        );
        let s = signature(&r, &FrameLists::builtin());
        assert_eq!(
            s.text,
            "abort | __assert_rtn | -[AGXG*FamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]"
        );
        assert_eq!(s.frames_used, 3);
        assert_eq!(s.algorithm_version, SIGNATURE_ALGORITHM_VERSION);
    }

    #[test]
    fn unsymbolicated_frames_use_the_module_and_address_only_frames_drop() {
        let r = report(
            &[(None, None), (Some("???"), Some(0)), (Some("foo"), Some(1))],
            &["libtorch_cpu.dylib", "x"],
        );
        assert_eq!(
            signature(&r, &FrameLists::builtin()).text,
            "libtorch_cpu.dylib"
        );
        let r = report(&[(Some("0x1a2b3c"), Some(0))], &["AGXMetalG13X"]);
        assert_eq!(signature(&r, &FrameLists::builtin()).text, "AGXMetal*");
        for placeholder in ["0x1a2b3c + 12", "<redacted>", "<unknown>", ""] {
            let r = report(&[(Some(placeholder), Some(0))], &["UIKitCore"]);
            assert_eq!(
                signature(&r, &FrameLists::builtin()).text,
                "UIKitCore",
                "{placeholder:?}"
            );
        }
    }

    #[test]
    fn no_frames_falls_back_to_exception_and_process() {
        let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Legacy);
        assert_eq!(
            signature(&r, &FrameLists::builtin()).text,
            "unknown exception"
        );
        r.exception.exc_type = Some("EXC_CRASH".into());
        r.exception.signal = Some("SIGABRT".into());
        r.process.name = Some("Python".into());
        let s = signature(&r, &FrameLists::builtin());
        assert_eq!(s.text, "EXC_CRASH (SIGABRT) in Python");
        assert_eq!(s.frames_used, 0);
        // Every frame irrelevant: the same fallback.
        let mut r2 = report(
            &[(Some("_sigtramp"), Some(0))],
            &["libsystem_platform.dylib"],
        );
        r2.exception = r.exception.clone();
        assert_eq!(
            signature(&r2, &FrameLists::builtin()).text,
            "EXC_CRASH (SIGABRT)"
        );
    }

    #[test]
    fn length_is_capped_at_a_frame_boundary() {
        let long = format!("{}_fn", "x".repeat(150));
        let names: Vec<String> = (0..6).map(|i| format!("malloc_{i}{long}")).collect();
        let frames: Vec<(Option<&str>, Option<usize>)> =
            names.iter().map(|n| (Some(n.as_str()), None)).collect();
        let s = signature(&report(&frames, &[]), &FrameLists::builtin());
        assert!(
            s.text.chars().count() <= MAX_SIGNATURE_CHARS,
            "{}",
            s.text.len()
        );
        assert_eq!(s.frames_used, 3);
        assert!(s.text.ends_with("_fn"));
        // A single huge frame is cut, not dropped.
        let huge = "y".repeat(2000);
        let s = signature(&report(&[(Some(&huge), None)], &[]), &FrameLists::builtin());
        assert_eq!(s.text.chars().count(), MAX_SIGNATURE_CHARS);
    }

    #[test]
    fn only_the_first_forty_frames_count() {
        let mut frames: Vec<(Option<&str>, Option<usize>)> = vec![(Some("malloc"), None); 40];
        frames.push((Some("late_frame"), None));
        let s = signature(&report(&frames, &[]), &FrameLists::builtin());
        assert!(!s.text.contains("late_frame"));
    }

    #[test]
    fn custom_lists_override() {
        let lists = FrameLists::from_text("", "foo*\n").unwrap();
        let r = report(
            &[
                (Some("_sigtramp"), None),
                (Some("foo1"), None),
                (Some("bar"), None),
            ],
            &[],
        );
        assert_eq!(signature(&r, &lists).text, "_sigtramp");
        let lists = FrameLists::from_text("_sigtramp\n", "foo*\n").unwrap();
        assert_eq!(signature(&r, &lists).text, "foo1 | bar");
        let err = FrameLists::from_text("ok\n\nbad\\", "").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }
}
