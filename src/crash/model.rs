//! The crash-report model shared by every parser and every later stage.
//!
//! Both formats (`.ips` JSON and legacy `.crash` text) parse into [`CrashReport`]. Every field
//! a real report can lack is an `Option` (or an empty `Vec`): a missing field is data, never
//! an error. The model is plain owned data with `Serialize`/`Deserialize`, so it can be
//! snapshotted, printed as JSON by the CLI and stored; it knows nothing of SQL or markdown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a report is: a crash, a GPU event, or some other diagnostic (`bug_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    /// A process crash (`bug_type` 309 or the older 109, or a legacy `.crash` text).
    Crash,
    /// A GPU event (`gpuEvent-*.ips`, `bug_type` 284 and relatives): counted apart, never a crash.
    GpuEvent,
    /// Any other diagnostic (panics, jetsam events, CPU resource reports, ...).
    Other,
}

impl ReportKind {
    /// Stable name used in the database and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Crash => "crash",
            ReportKind::GpuEvent => "gpu-event",
            ReportKind::Other => "other",
        }
    }

    /// Inverse of [`ReportKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "crash" => Some(ReportKind::Crash),
            "gpu-event" => Some(ReportKind::GpuEvent),
            "other" => Some(ReportKind::Other),
            _ => None,
        }
    }
}

/// The layout the report was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// `.ips`: one-line JSON header followed by a JSON body.
    Ips,
    /// The crash dialog's "Translated Report (Full Report Below)" copy; parsed from the `.ips`
    /// embedded after `Full Report`.
    TranslatedIps,
    /// A JSON header line over a legacy text body (`bug_type` 109, Xcode exports).
    JsonHeaderLegacy,
    /// Legacy `.crash` text (`Process:`, `Exception Type:`, `Thread N Crashed:` ...).
    Legacy,
}

impl SourceFormat {
    /// Stable name used in the database and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Ips => "ips",
            SourceFormat::TranslatedIps => "translated-ips",
            SourceFormat::JsonHeaderLegacy => "json-header-legacy",
            SourceFormat::Legacy => "legacy",
        }
    }
}

/// One parsed report. See the module docs for the rules on optional fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrashReport {
    /// Crash, GPU event or other diagnostic; only crashes are bucketed and counted in rounds.
    pub kind: ReportKind,
    /// The layout the report was read from (`.ips`, translated copy, legacy text...).
    pub format: SourceFormat,
    /// `bug_type` from the `.ips` header (`"309"`, `"109"`, `"284"`...); `None` for legacy text.
    pub bug_type: Option<String>,
    /// `incident_id` (header) or `incident` (body) or `Incident Identifier:` (legacy).
    pub incident_id: Option<String>,
    /// The crashed process: name, path, pid, parent, bundle.
    pub process: ProcessInfo,
    /// Capture time (`captureTime` / `Date/Time:`) converted to UTC.
    pub captured_at: Option<DateTime<Utc>>,
    /// The capture time exactly as written, for display and as a fallback when unparseable.
    pub captured_at_raw: Option<String>,
    /// The macOS version the report was written on.
    pub os: OsInfo,
    /// `modelCode` / `Hardware Model:` (e.g. `Mac16,5`).
    pub hardware_model: Option<String>,
    /// `cpuType` / `Code Type:` (e.g. `ARM-64`, `X86-64 (Translated)`).
    pub cpu_type: Option<String>,
    /// True when the process ran under Rosetta (`translated: true` / `(Translated)`).
    pub translated: Option<bool>,
    /// Exception type, signal, codes and fault address; every field empty for reports that
    /// have no exception (most GPU events and other diagnostics).
    pub exception: ExceptionInfo,
    /// `termination` / `Termination Reason:`; `None` when the report does not say.
    pub termination: Option<Termination>,
    /// Application-specific messages (`asi`), flattened: assertion texts live here.
    pub asi: Vec<String>,
    /// Index into `threads` of the crashed (triggered) thread.
    pub crashed_thread: Option<usize>,
    /// Every thread with its frames, in report order (`Thread 0` first).
    pub threads: Vec<Thread>,
    /// Register state of the crashed thread, where the report has one.
    pub registers: Option<RegisterState>,
    /// Every binary image the report lists (`usedImages` / `Binary Images:`), in report order.
    pub images: Vec<Image>,
    /// `lastExceptionBacktrace` / `Last Exception Backtrace:` frames.
    pub last_exception_backtrace: Vec<Frame>,
    /// Non-fatal problems met while parsing (truncation, unparseable fields ...).
    pub warnings: Vec<String>,
}

impl CrashReport {
    /// An empty report of the given kind and format, for parsers to fill in.
    pub fn empty(kind: ReportKind, format: SourceFormat) -> Self {
        CrashReport {
            kind,
            format,
            bug_type: None,
            incident_id: None,
            process: ProcessInfo::default(),
            captured_at: None,
            captured_at_raw: None,
            os: OsInfo::default(),
            hardware_model: None,
            cpu_type: None,
            translated: None,
            exception: ExceptionInfo::default(),
            termination: None,
            asi: Vec::new(),
            crashed_thread: None,
            threads: Vec::new(),
            registers: None,
            images: Vec::new(),
            last_exception_backtrace: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The crashed thread, when known.
    pub fn crashed(&self) -> Option<&Thread> {
        self.crashed_thread.and_then(|i| self.threads.get(i))
    }

    /// Empty the frames of every thread but the crashed one (what
    /// [`ThreadFrames::Crashed`](crate::crash::ThreadFrames::Crashed) leaves).
    pub fn drop_other_threads_frames(&mut self) {
        let crashed = self.crashed_thread;
        for (i, t) in self.threads.iter_mut().enumerate() {
            if Some(i) != crashed {
                t.frames = Vec::new();
            }
        }
    }

    /// The image a frame points into.
    pub fn image_of(&self, frame: &Frame) -> Option<&Image> {
        frame.image_index.and_then(|i| self.images.get(i))
    }
}

/// The crashed process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Process name (`procName` / `Process:`), e.g. `python3.12`; an `.ips` whose body does not
    /// name it falls back to the header's `name` or `app_name`.
    pub name: Option<String>,
    /// Executable path (`procPath` / `Path:`), e.g. `/opt/homebrew/bin/python3.12`.
    pub path: Option<String>,
    /// Process id (`pid` / the `[4242]` after `Process:`).
    pub pid: Option<i64>,
    /// Parent process name (`parentProc` / `Parent Process:`), e.g. `zsh` or `launchd`.
    pub parent_name: Option<String>,
    /// Parent process id (`parentPid` / the `[612]` after `Parent Process:`).
    pub parent_pid: Option<i64>,
    /// Bundle identifier (`bundleInfo.CFBundleIdentifier` / `Identifier:`), e.g.
    /// `org.python.python`.
    pub bundle_id: Option<String>,
    /// Bundle version: `3.12.11`, or `short (build)` when the two differ (`1.4 (1402)`).
    pub bundle_version: Option<String>,
    /// `responsibleProc` / `Responsible:`.
    pub responsible: Option<String>,
    /// `userID` / `User ID:`.
    pub user_id: Option<i64>,
}

/// Operating system the report was written on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// The whole version line (`macOS 26.3 (25D125)`).
    pub version: Option<String>,
    /// `osVersion.train` (`macOS 26.3`).
    pub train: Option<String>,
    /// `osVersion.build` (`25D125`).
    pub build: Option<String>,
}

/// Exception information. Fault addresses are derived from `subtype` or the crashed thread's
/// `far` register; `codes` are never read as addresses for `EXC_CRASH`/`EXC_BREAKPOINT`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    /// `EXC_BAD_ACCESS`, `EXC_CRASH`, ...
    pub exc_type: Option<String>,
    /// `SIGSEGV`, `SIGABRT`, ...
    pub signal: Option<String>,
    /// `codes` as written (`0x0000000000000001, 0x0000000000000098`).
    pub codes: Option<String>,
    /// `subtype` as written (`KERN_INVALID_ADDRESS at 0x0000000000000098`).
    pub subtype: Option<String>,
    /// `Exception Message:` / `exception.message`, where present.
    pub message: Option<String>,
    /// `Exception Note:` (`EXC_CORPSE_NOTIFY`; an `.ips` says `isCorpse`), where present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The faulting address: for a pointer-authentication failure, the address as written
    /// first (`0x00009ba36e2f2650` in `... at 0x00009ba36e2f2650 -> 0x00001ba36e2f2650`).
    pub fault_address: Option<u64>,
    /// For a pointer-authentication failure: the address with its signature stripped (the one
    /// after `->`).
    pub fault_address_stripped: Option<u64>,
    /// The subtype says "possible pointer authentication failure".
    pub pointer_auth_failure: bool,
}

/// How the process was terminated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termination {
    /// Who terminated the process: `SIGNAL`, `CODESIGNING`, `DYLD`, ...
    pub namespace: Option<String>,
    /// The code within the namespace; for `SIGNAL`, the signal number (`11` for `SIGSEGV`).
    /// Hex codes (`0xb`) are read as numbers.
    pub code: Option<i64>,
    /// The human-readable reason, e.g. `Segmentation fault: 11` or `Abort trap: 6`.
    pub indicator: Option<String>,
    /// `byProc` (e.g. `exc handler`).
    pub by_process: Option<String>,
}

/// One thread of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Position in the report (`Thread N`).
    pub index: usize,
    /// Kernel thread id (`id` in `.ips`).
    pub id: Option<u64>,
    /// Thread name set by the program (`pthread_setname_np`), e.g. `caulk.messenger.shared`;
    /// most threads have none.
    pub name: Option<String>,
    /// Dispatch queue name.
    pub queue: Option<String>,
    /// This is the crashed (`triggered`) thread.
    pub crashed: bool,
    /// Stack frames, innermost (frame 0, the pc) first.
    pub frames: Vec<Frame>,
}

/// Where a frame's symbol name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SymbolSource {
    /// Written by macOS in the report.
    #[default]
    Apple,
    /// Filled in by agx-triage from a symbol store (symcache).
    Symcache,
}

impl SymbolSource {
    /// Stable name used in the database and in JSON output (`apple`, `symcache`).
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolSource::Apple => "apple",
            SymbolSource::Symcache => "symcache",
        }
    }

    /// Inverse of [`SymbolSource::as_str`]; `None` for any other text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "apple" => Some(SymbolSource::Apple),
            "symcache" => Some(SymbolSource::Symcache),
            _ => None,
        }
    }
}

/// One stack frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Index into [`CrashReport::images`], when the frame resolves to an image.
    pub image_index: Option<usize>,
    /// Offset of the pc from the image's load address (`imageOffset`).
    pub image_offset: Option<u64>,
    /// Absolute pc, when written (legacy text) or computable (`base + imageOffset`).
    pub address: Option<u64>,
    /// Symbol name as written (`symbol`), `None` for `???` / unsymbolicated frames.
    pub symbol: Option<String>,
    /// Offset of the pc into the symbol (`symbolLocation`, the `+ 24` in legacy text).
    pub symbol_offset: Option<u64>,
    /// Source file of the frame, when the report or the symbol store knows it (`sourceFile`,
    /// the `(Module.swift:367)` after a legacy frame's offset); usually `None` for system code.
    pub source_file: Option<String>,
    /// Line in [`Frame::source_file`], set together with it.
    pub source_line: Option<u32>,
    /// Where `symbol` came from; `None` when there is no symbol.
    pub symbol_source: Option<SymbolSource>,
    /// What was odd about this frame as written (an address that is not a 64-bit number,
    /// e.g. `-0x10` or 17 hex digits); the frame is kept without that value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Register state of the crashed thread.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterState {
    /// `ARM_THREAD_STATE64`, `x86_THREAD_STATE`, ...
    pub flavor: Option<String>,
    /// Registers in report order: `x0`..`x28`, `fp`, `lr`, `sp`, `pc`, `cpsr`, `far`, `esr`...
    pub registers: Vec<Register>,
}

impl RegisterState {
    /// Look a register up by (case-insensitive) name.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.registers
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .map(|r| r.value)
    }
}

/// One register and, when the report names it, the symbol its value points into.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    /// Register name as written (`x0`, `lr`, `far`, `rip`...).
    pub name: String,
    /// The register's value.
    pub value: u64,
    /// The symbol the value points into, when the report names one (`lr` often does, e.g.
    /// `-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]`).
    pub symbol: Option<String>,
}

/// One binary image loaded in the process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Mach-O UUID, lowercase with dashes (`2f5ccac7-cf4f-3f87-8689-7c673e90e595`).
    pub uuid: Option<String>,
    /// Image name, e.g. `AGXMetalG16X`; when the report lists none, the last part of its path.
    pub name: Option<String>,
    /// Path on disk, e.g. `/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X`;
    /// `None` when the report writes `???`.
    pub path: Option<String>,
    /// CPU architecture of the image (`arm64e`, `arm64`, `x86_64`), where written.
    pub arch: Option<String>,
    /// Load address.
    pub base: Option<u64>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Bundle identifier, e.g. `com.apple.AGXMetalG16X`; `None` for plain libraries.
    pub bundle_id: Option<String>,
    /// Bundle version, `short (build)` when the two differ (`341.11`, `1.0 (1)`).
    pub bundle_version: Option<String>,
}

/// Normalise a UUID as written in any report (`2F5CCAC7CF4F3F8786897C673E90E595`,
/// `<2f5ccac7cf4f...>` or dashed) to lowercase dashed form. `None` if it is not 32 hex digits.
pub fn normalize_uuid(s: &str) -> Option<String> {
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '<' | '>' | ' '))
        .collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_forms_normalise() {
        let want = Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595".to_string());
        assert_eq!(normalize_uuid("2F5CCAC7CF4F3F8786897C673E90E595"), want);
        assert_eq!(normalize_uuid("<2f5ccac7cf4f3f8786897c673e90e595>"), want);
        assert_eq!(normalize_uuid("2f5ccac7-cf4f-3f87-8689-7c673e90e595"), want);
        assert_eq!(normalize_uuid("xyz"), None);
    }
}
