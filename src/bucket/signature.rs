//! Crash signatures: the stable text that names a crash's cause and defines its bucket.
//!
//! The method follows Mozilla's signature generation (docs/BUCKETS.md): walk the crashed thread's
//! first [`MAX_FRAMES`] frames, drop *irrelevant* frames, keep *prefix* frames and go on past
//! them, stop after the first symbolicated frame that is neither; normalise each name
//! ([`normalize_symbol`]); an unsymbolicated frame is `module@0xOFFSET` and is walked past like
//! a prefix frame; join with `" | "`, cap the length at a frame boundary. The frame
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
pub const SIGNATURE_ALGORITHM_VERSION: u32 = 2;

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
    // The lists are embedded at compile time and never come from the user: if they failed to
    // compile, every call would fail the same way, and the `builtin_lists_compile` test catches
    // that before a release. Returning a `Result` would push an impossible error into every caller.
    #[allow(clippy::expect_used)]
    pub fn builtin() -> FrameLists {
        static BUILTIN: OnceLock<FrameLists> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
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
    /// This is what rules and the frame lists match.
    pub name: String,
    /// Name of the image the frame is in.
    pub image: Option<&'a str>,
    /// The name this frame has in a signature: `name` for a symbolicated frame;
    /// `module@0xOFFSET` for one without a symbol (stable for one build of the module, as in
    /// Socorro and Sentry); the bare image name when the report gives no offset either.
    pub sig_name: String,
    /// The frame has a symbol (it is not named after its image).
    pub symbolicated: bool,
}

impl KeptFrame<'_> {
    /// An unsymbolicated frame that has neither symbol nor offset: only its image name.
    fn image_name_only(&self) -> bool {
        !self.symbolicated && !self.sig_name.contains('@')
    }
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
    // Index in `kept` of the frame of interest: the first symbolicated frame that is not a
    // prefix frame. The signature ends there.
    let mut stop: Option<usize> = None;
    // Index in `kept` of the first unsymbolicated frame above the frame of interest.
    let mut first_unsymbolicated: Option<usize> = None;
    if let Some(thread) = crashed_thread(report) {
        for frame in thread.frames.iter().take(MAX_FRAMES) {
            if stop.is_some() && kept.len() >= min_kept {
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
            if kept.last().is_some_and(|k| k.sig_name == kf.sig_name) {
                continue;
            }
            if stop.is_none() {
                if !kf.symbolicated {
                    // Skipped like a prefix frame: a symbolicated frame below names the cause
                    // better than an offset into a module. The prefix list is matched against
                    // `module@0xOFFSET`, so it can name images that hold only machinery
                    // (`libsystem_kernel.dylib*`): those never end a signature.
                    if !lists.is_prefix(&kf.sig_name) {
                        first_unsymbolicated.get_or_insert(kept.len());
                    }
                } else if !lists.is_prefix(&kf.name) {
                    stop = Some(kept.len());
                }
            }
            kept.push(kf);
        }
    }
    let frames = signature_frames(&kept, stop.or(first_unsymbolicated));
    // Never a signature of image names alone (`libsystem_kernel.dylib`): unrelated crashes
    // would share it. The exception, signal and process say more.
    let signature = if frames.is_empty() || frames.iter().all(KeptFrame::image_name_only) {
        fallback_signature(report)
    } else {
        join_capped(frames.iter().map(|k| k.sig_name.as_str()))
    };
    Prepared { kept, signature }
}

/// The kept frames that make the signature. With a last frame (the frame of interest, else the
/// first unsymbolicated frame outside the machinery images): every frame down to it, and when
/// that is longer than [`MAX_SIGNATURE_CHARS`] the frames on top are dropped first, so stacks
/// that differ in that frame never share a signature. Without one (all prefix frames): every
/// kept frame, cut from the end by [`join_capped`].
fn signature_frames<'k, 'a>(kept: &'k [KeptFrame<'a>], last: Option<usize>) -> &'k [KeptFrame<'a>] {
    let Some(last) = last else {
        return kept;
    };
    let sep = SEPARATOR.chars().count();
    let mut start = last;
    let mut chars = kept[last].sig_name.chars().count();
    while start > 0 {
        let more = kept[start - 1].sig_name.chars().count() + sep;
        if chars + more > MAX_SIGNATURE_CHARS {
            break;
        }
        chars += more;
        start -= 1;
    }
    &kept[start..=last]
}

/// A frame's names and image, or `None` for an address-only frame.
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
        .filter(|n| !is_placeholder_symbol(n) && !n.is_empty());
    let raw = raw.filter(|_| normalized.is_some());
    let (name, sig_name, symbolicated) = match (normalized, image) {
        (Some(n), _) => (n.clone(), n, true),
        // Unsymbolicated: rules see the module (`libtorch_cpu.dylib`); the signature gets
        // `libtorch_cpu.dylib@0x1a2b3c` when the offset is known.
        (None, Some(img)) => {
            let sig = match frame.image_offset {
                Some(off) => format!("{img}@{off:#x}"),
                None => img.to_string(),
            };
            (normalize_agx_family(img), sig, false)
        }
        (None, None) => return None,
    };
    if name.is_empty() {
        return None;
    }
    Some(KeptFrame {
        raw,
        name,
        image,
        sig_name,
        symbolicated,
    })
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
    fn unsymbolicated_frames_are_skipped_like_prefix_frames() {
        // `???` in a module walks on to the symbolicated frame below; the frame without
        // symbol or image is dropped.
        let r = report(
            &[(None, None), (Some("???"), Some(0)), (Some("foo"), Some(1))],
            &["libtorch_cpu.dylib", "x"],
        );
        assert_eq!(
            signature(&r, &FrameLists::builtin()).text,
            "libtorch_cpu.dylib | foo"
        );
        // Placeholders written as symbols count as unsymbolicated.
        for placeholder in ["0x1a2b3c + 12", "<redacted>", "<unknown>", "", "0x1a2b3c"] {
            let r = report(
                &[(Some(placeholder), Some(0)), (Some("bar"), Some(0))],
                &["UIKitCore"],
            );
            assert_eq!(
                signature(&r, &FrameLists::builtin()).text,
                "UIKitCore | bar",
                "{placeholder:?}"
            );
        }
    }

    fn with_offsets(mut r: CrashReport, offsets: &[Option<u64>]) -> CrashReport {
        for (f, o) in r.threads[0].frames.iter_mut().zip(offsets) {
            f.image_offset = *o;
        }
        r
    }

    // Regression: a stack with no symbols on top became `libsystem_kernel.dylib` alone, the
    // bucket of every unsymbolicated crash (a Python fatal error and an AGX encoder abort).
    #[test]
    fn unsymbolicated_frames_are_named_module_at_offset() {
        let lists = FrameLists::builtin();
        let python = with_offsets(
            report(
                &[(None, Some(0)), (None, Some(1)), (None, Some(1))],
                &["libsystem_kernel.dylib", "Python"],
            ),
            &[Some(0x7d58), Some(0x1a2b0), Some(0x2c00)],
        );
        let agx = with_offsets(
            report(
                &[(None, Some(0)), (None, Some(1))],
                &["libsystem_kernel.dylib", "AGXMetalG13X"],
            ),
            &[Some(0x7d58), Some(0x5c8)],
        );
        let sp = signature(&python, &lists).text;
        let sa = signature(&agx, &lists).text;
        // No frame of interest: the signature ends at the first unsymbolicated frame outside
        // the system's machinery images.
        assert_eq!(sp, "libsystem_kernel.dylib@0x7d58 | Python@0x1a2b0");
        assert_eq!(sa, "libsystem_kernel.dylib@0x7d58 | AGXMetalG13X@0x5c8");
        assert_ne!(sp, sa);
        // ... unless a symbolicated frame of interest follows: then it goes on to that one.
        let mut agx2 = agx.clone();
        agx2.threads[0].frames.push(Frame {
            symbol: Some("-[MTLComputeEncoder endEncoding]".into()),
            ..Frame::default()
        });
        assert_eq!(
            signature(&agx2, &lists).text,
            "libsystem_kernel.dylib@0x7d58 | AGXMetalG13X@0x5c8 | -[MTLComputeEncoder endEncoding]"
        );
        // Two consecutive frames in one module are two frames, not one.
        let mut py2 = python.clone();
        py2.threads[0].frames.push(Frame {
            symbol: Some("Py_RunMain".into()),
            ..Frame::default()
        });
        assert_eq!(
            signature(&py2, &lists).text,
            "libsystem_kernel.dylib@0x7d58 | Python@0x1a2b0 | Python@0x2c00 | Py_RunMain"
        );
    }

    #[test]
    fn a_signature_is_never_only_image_names() {
        let lists = FrameLists::builtin();
        // Unsymbolicated frames without offsets: only image names; the fallback says more.
        let mut r = report(
            &[(None, Some(0)), (None, Some(1))],
            &["libsystem_kernel.dylib", "Python"],
        );
        r.exception.exc_type = Some("EXC_CRASH".into());
        r.exception.signal = Some("SIGABRT".into());
        r.process.name = Some("Python".into());
        let s = signature(&r, &lists);
        assert_eq!(s.text, "EXC_CRASH (SIGABRT) in Python");
        assert_eq!(s.frames_used, 0);
        // A prefix frame above one: not image names alone.
        let r = report(
            &[(Some("abort"), Some(0)), (None, Some(1))],
            &["libsystem_c.dylib", "prog"],
        );
        assert_eq!(signature(&r, &lists).text, "abort | prog");
    }

    #[test]
    fn a_long_way_to_the_frame_of_interest_drops_frames_from_the_top() {
        let lists = FrameLists::builtin();
        let long = format!("Module{}", "x".repeat(100));
        let mut frames: Vec<(Option<&str>, Option<usize>)> = vec![(None, Some(0)); 6];
        frames.push((Some("interesting"), Some(0)));
        let offsets: Vec<Option<u64>> = (0..6).map(|i| Some(0x100 * (i + 1))).collect();
        let r = with_offsets(report(&frames, &[long.as_str()]), &offsets);
        let s = signature(&r, &lists);
        assert!(s.text.chars().count() <= MAX_SIGNATURE_CHARS);
        assert!(s.text.ends_with(" | interesting"), "{}", s.text);
        assert!(!s.text.contains("@0x100 "), "{}", s.text);
        assert_eq!(s.frames_used, 5);
    }

    // Regression: `__abort` and `__stack_chk_fail` were frames of interest, so two programs'
    // stack-protector failures shared the bucket `__abort`.
    #[test]
    fn abort_machinery_is_skipped() {
        let lists = FrameLists::builtin();
        for name in [
            "__abort",
            "__stack_chk_fail",
            "abort_with_payload",
            "abort_with_reason",
            "__assert_rtn",
            "_os_crash",
            "_os_crash_msg",
            "objc_exception_throw",
            "__cxa_throw",
            "std::terminate",
            "std::__terminate",
            "_Unwind_RaiseException",
            "__chk_fail_overflow",
            "__strcpy_chk",
            "__exceptionPreprocess",
            "_objc_fatal",
            "Py_FatalError",
            "-[NSAssertionHandler handleFailureInMethod:object:file:lineNumber:description:]",
            "Swift._assertionFailure",
        ] {
            assert!(
                lists.is_prefix(name) || lists.is_irrelevant(name),
                "{name} is neither prefix nor irrelevant"
            );
        }
        for name in ["_sigtramp", "__pthread_kill", "pthread_kill"] {
            assert!(lists.is_irrelevant(name), "{name}");
        }
        let a = report(
            &[
                (Some("__pthread_kill"), Some(0)),
                (Some("abort"), Some(0)),
                (Some("__abort"), Some(0)),
                (Some("__stack_chk_fail"), Some(0)),
                (Some("parse_header"), Some(1)),
            ],
            &["libsystem_c.dylib", "progA"],
        );
        let mut b = a.clone();
        b.threads[0].frames[4].symbol = Some("read_config".into());
        let (sa, sb) = (signature(&a, &lists).text, signature(&b, &lists).text);
        assert_eq!(sa, "abort | __abort | __stack_chk_fail | parse_header");
        assert_ne!(sa, sb);
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
