//! Synthetic macOS crash reports for agx-triage's tests, benches and sample data.
//!
//! One builder, two outputs, as macOS writes them: [`Report::build_ips`] gives an `.ips` file
//! (a one-line JSON header, then a JSON body in ReportCrash's own mixed pretty/compact printing,
//! see [`json`]), [`Report::build_legacy`] the legacy `.crash` text, and
//! [`Report::build_translated`] the crash dialog's copy (legacy text, then the `.ips`). Like
//! rust-minidump's `minidump-synth`, it knows the file formats and nothing about the tool that
//! reads them: it does not depend on agx-triage, so the parser under test never builds its own
//! inputs.
//!
//! Every field has a plain default (a Python process on a Mac16,1 with macOS 15.6 that took a
//! `SIGSEGV`), so a test sets only what it is about:
//!
//! ```
//! use agx_synth::{Exception, Frame, Image, Report, Thread};
//!
//! let report = Report::new()
//!     .incident("00000000-0000-4000-8000-000000000001")
//!     .pid(4242)
//!     .exception(Exception::bad_access(0x98))
//!     .image(Image::new("python3", "/opt/homebrew/bin/python3").base(0x1_0000_0000))
//!     .image(
//!         Image::new(
//!             "AGXMetalG16X",
//!             "/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X",
//!         )
//!         .base(0x1_f000_0000)
//!         .size(0x80_0000),
//!     )
//!     .thread(
//!         Thread::new(77)
//!             .queue("com.apple.main-thread")
//!             .frame(Frame::new(1, 0x1234).symbol("AGX::ComputeContext::prepareForEnqueue(bool)", 40))
//!             .frame(Frame::new(0, 0x400)),
//!     )
//!     .faulting_thread(0);
//!
//! let ips = report.build_ips();
//! let (header, body) = ips.split_once('\n').unwrap();
//! let header: serde_json::Value = serde_json::from_str(header).unwrap();
//! assert_eq!(header["bug_type"], "309");
//! let body: serde_json::Value = serde_json::from_str(body).unwrap();
//! assert_eq!(body["pid"], 4242);
//! assert_eq!(body["threads"][0]["frames"][0]["imageIndex"], 1);
//!
//! let legacy = report.build_legacy();
//! assert!(legacy.starts_with("Process:               Python [4242]\n"));
//! assert!(legacy.contains("Thread 0 Crashed::  Dispatch queue: com.apple.main-thread\n"));
//! ```
//!
//! Values that macOS derives (`slice_uuid` from the main image, `byPid` from the process, a
//! legacy frame's address from its image's base) are derived here the same way, so they
//! cannot disagree. Anything else is a public field, set directly when a builder method is
//! missing.

pub mod ids;
mod ips;
pub mod json;
mod legacy;
pub mod scenario;

pub use json::{Json, Style};

/// The OS that wrote the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Os {
    /// `macOS 15.6`.
    pub train: String,
    /// `24G84`.
    pub build: String,
    /// `User`.
    pub release_type: String,
}

impl Os {
    /// An OS from its train (`macOS 15.6`) and build (`24G84`).
    pub fn new(train: &str, build: &str) -> Os {
        Os {
            train: train.to_string(),
            build: build.to_string(),
            release_type: "User".to_string(),
        }
    }

    /// `macOS 15.6 (24G84)`, as the header and the legacy `OS Version:` line write it.
    pub fn version(&self) -> String {
        format!("{} ({})", self.train, self.build)
    }
}

impl Default for Os {
    fn default() -> Os {
        Os::new("macOS 15.6", "24G84")
    }
}

/// The machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Hardware {
    /// `modelCode`: `Mac16,5`.
    pub model_code: String,
    /// `cpuType`: `ARM-64`.
    pub cpu_type: String,
    /// The chip, for the system profile of a translated report: `Apple M4 Max`.
    pub chip: String,
    /// The memory, for the system profile of a translated report: `64 GB`.
    pub memory: String,
}

impl Hardware {
    /// An Apple-silicon Mac with the given model code, chip and memory.
    pub fn new(model_code: &str, chip: &str, memory: &str) -> Hardware {
        Hardware {
            model_code: model_code.to_string(),
            cpu_type: "ARM-64".to_string(),
            chip: chip.to_string(),
            memory: memory.to_string(),
        }
    }
}

impl Default for Hardware {
    fn default() -> Hardware {
        Hardware::new("Mac16,1", "Apple M4", "16 GB")
    }
}

/// A bundle's identity: `CFBundleIdentifier`, `CFBundleShortVersionString`, `CFBundleVersion`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    /// `org.python.python`.
    pub id: String,
    /// `3.12.11`.
    pub short_version: String,
    /// `3.12.11`.
    pub version: String,
}

impl Bundle {
    /// A bundle from its identifier, short version and version.
    pub fn new(id: &str, short_version: &str, version: &str) -> Bundle {
        Bundle {
            id: id.to_string(),
            short_version: short_version.to_string(),
            version: version.to_string(),
        }
    }
}

/// The crashed process.
#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    /// `procName`, `app_name`, `name`.
    pub name: String,
    /// `procPath` and the legacy `Path:`.
    pub path: String,
    /// `pid`.
    pub pid: u64,
    /// The header's `bundleID`.
    pub bundle_id: Option<String>,
    /// `bundleInfo`, the legacy `Identifier:` and `Version:`.
    pub bundle: Option<Bundle>,
    /// The header's `app_version`.
    pub app_version: String,
    /// The header's `build_version`.
    pub build_version: String,
    /// `parentProc` and `parentPid`.
    pub parent: (String, u64),
    /// `responsibleProc` (and the legacy `Responsible:` pid).
    pub responsible: (String, u64),
    /// `procRole`: `Foreground`, `Unspecified`...
    pub role: String,
    /// `userID`.
    pub user_id: u64,
    /// `coalitionID`.
    pub coalition_id: u64,
    /// `coalitionName`.
    pub coalition_name: String,
    /// `codeSigningID`.
    pub signing_id: String,
    /// `codeSigningTeamID`.
    pub team_id: String,
    /// `procLaunch`, in `captureTime` style.
    pub launch: String,
    /// `procStartAbsTime` (mach ticks).
    pub start_abs_time: u64,
    /// `procExitAbsTime` (mach ticks).
    pub exit_abs_time: u64,
}

impl Process {
    /// A process with the given name and executable path; everything else is a plain default.
    pub fn new(name: &str, path: &str) -> Process {
        Process {
            name: name.to_string(),
            path: path.to_string(),
            pid: 1000,
            bundle_id: None,
            bundle: None,
            app_version: String::new(),
            build_version: String::new(),
            parent: ("zsh".to_string(), 4242),
            responsible: ("Terminal".to_string(), 612),
            role: "Foreground".to_string(),
            user_id: 501,
            coalition_id: 2000,
            coalition_name: "com.apple.Terminal".to_string(),
            signing_id: name.to_string(),
            team_id: String::new(),
            launch: "2026-11-02 10:14:30.0000 -0800".to_string(),
            start_abs_time: 1_000_000,
            exit_abs_time: 2_440_000_000,
        }
    }

    /// Sets the pid.
    pub fn pid(mut self, pid: u64) -> Process {
        self.pid = pid;
        self
    }

    /// Sets the parent process.
    pub fn parent(mut self, name: &str, pid: u64) -> Process {
        self.parent = (name.to_string(), pid);
        self
    }

    /// Sets the bundle (and the header's `bundleID` with it).
    pub fn bundle(mut self, bundle: Bundle) -> Process {
        self.bundle_id = Some(bundle.id.clone());
        self.bundle = Some(bundle);
        self
    }

    /// Sets the header's `app_version` and `build_version`.
    pub fn version(mut self, app_version: &str, build_version: &str) -> Process {
        self.app_version = app_version.to_string();
        self.build_version = build_version.to_string();
        self
    }
}

impl Default for Process {
    fn default() -> Process {
        Process::new("Python", "/opt/homebrew/bin/python3").version("3.12.7", "3.12.7")
    }
}

/// The `exception` object and the legacy `Exception Type:` / `Exception Codes:` lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Exception {
    /// `EXC_BAD_ACCESS`.
    pub exc_type: String,
    /// `SIGSEGV`.
    pub signal: String,
    /// The two exception codes (`codes` and `rawCodes`).
    pub codes: (u64, u64),
    /// `KERN_INVALID_ADDRESS at 0x...`.
    pub subtype: Option<String>,
    /// `message` (written after `subtype` when set).
    pub message: Option<String>,
}

impl Exception {
    /// An exception of the given type and signal, with zero codes.
    pub fn new(exc_type: &str, signal: &str) -> Exception {
        Exception {
            exc_type: exc_type.to_string(),
            signal: signal.to_string(),
            codes: (0, 0),
            subtype: None,
            message: None,
        }
    }

    /// `EXC_BAD_ACCESS (SIGSEGV)`, `KERN_INVALID_ADDRESS at <addr>`.
    pub fn bad_access(addr: u64) -> Exception {
        Exception {
            codes: (1, addr),
            subtype: Some(format!("KERN_INVALID_ADDRESS at 0x{addr:016x}")),
            ..Exception::new("EXC_BAD_ACCESS", "SIGSEGV")
        }
    }

    /// `EXC_BAD_ACCESS (SIGSEGV)` at a PAC-signed address whose stripped form is `stripped`:
    /// `KERN_INVALID_ADDRESS at <signed> -> <stripped> (possible pointer authentication failure)`.
    pub fn pac(signed: u64, stripped: u64) -> Exception {
        Exception {
            codes: (1, signed),
            subtype: Some(format!(
                "KERN_INVALID_ADDRESS at 0x{signed:016x} -> 0x{stripped:016x} (possible pointer authentication failure)"
            )),
            ..Exception::new("EXC_BAD_ACCESS", "SIGSEGV")
        }
    }

    /// `EXC_CRASH (SIGABRT)`.
    pub fn abort() -> Exception {
        Exception::new("EXC_CRASH", "SIGABRT")
    }

    /// Sets the signal (`SIGBUS` for a bus error, say).
    pub fn signal(mut self, signal: &str) -> Exception {
        self.signal = signal.to_string();
        self
    }

    /// Sets the `message`.
    pub fn message(mut self, message: &str) -> Exception {
        self.message = Some(message.to_string());
        self
    }
}

impl Default for Exception {
    fn default() -> Exception {
        Exception::bad_access(0x0000_1ba3_6e2f_2650)
    }
}

/// The `termination` object and the legacy `Termination Reason:` lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Termination {
    /// `flags`.
    pub flags: u64,
    /// `code`: the signal number for `SIGNAL`.
    pub code: u64,
    /// `namespace`: `SIGNAL`.
    pub namespace: String,
    /// `indicator`: `Segmentation fault: 11`.
    pub indicator: String,
    /// `byProc`: `exc handler`, or the process itself for an abort.
    pub by_proc: String,
}

impl Termination {
    /// A `SIGNAL` termination with the given code and indicator, by the exception handler.
    pub fn signal(code: u64, indicator: &str) -> Termination {
        Termination {
            flags: 0,
            code,
            namespace: "SIGNAL".to_string(),
            indicator: indicator.to_string(),
            by_proc: "exc handler".to_string(),
        }
    }

    /// Sets `byProc`.
    pub fn by(mut self, process: &str) -> Termination {
        self.by_proc = process.to_string();
        self
    }
}

impl Default for Termination {
    fn default() -> Termination {
        Termination::signal(11, "Segmentation fault: 11")
    }
}

/// One register of a thread state: a value, and the symbol it points into when macOS names one.
#[derive(Clone, Debug, PartialEq)]
pub struct Register {
    /// The value.
    pub value: u64,
    /// `OBJC_CLASS_$_...`.
    pub symbol: Option<String>,
}

/// A thread's ARM64 state (`threadState` / the legacy register dump of the crashed thread).
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadState {
    /// x0..x28.
    pub x: Vec<Register>,
    /// Frame pointer.
    pub fp: u64,
    /// Link register.
    pub lr: u64,
    /// Stack pointer.
    pub sp: u64,
    /// Program counter.
    pub pc: u64,
    /// Status register.
    pub cpsr: u64,
    /// Fault address register.
    pub far: u64,
    /// Exception syndrome register and its description (`(Data Abort) byte read Translation fault`).
    pub esr: (u64, String),
}

impl Default for ThreadState {
    fn default() -> ThreadState {
        ThreadState {
            x: (0..29)
                .map(|_| Register {
                    value: 0,
                    symbol: None,
                })
                .collect(),
            fp: 0,
            lr: 0,
            sp: 0,
            pc: 0,
            cpsr: 0,
            far: 0,
            esr: (0x5600_0080, "(Syscall)".to_string()),
        }
    }
}

/// One stack frame: an image index into [`Report::images`] and an offset into that image.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// `imageIndex`.
    pub image: usize,
    /// `imageOffset`.
    pub offset: u64,
    /// `symbol`, or `None` for an unsymbolicated frame.
    pub symbol: Option<String>,
    /// `symbolLocation`: the offset into the symbol (`+ 40`).
    pub location: u64,
    /// `sourceFile` and `sourceLine`, when the image had debug information.
    pub source: Option<(String, u64)>,
}

impl Frame {
    /// An unsymbolicated frame at `offset` into image `image`.
    pub fn new(image: usize, offset: u64) -> Frame {
        Frame {
            image,
            offset,
            symbol: None,
            location: 0,
            source: None,
        }
    }

    /// Names the frame: `symbol + location`.
    pub fn symbol(mut self, symbol: &str, location: u64) -> Frame {
        self.symbol = Some(symbol.to_string());
        self.location = location;
        self
    }

    /// Sets the source file and line.
    pub fn source(mut self, file: &str, line: u64) -> Frame {
        self.source = Some((file.to_string(), line));
        self
    }
}

/// One thread.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Thread {
    /// `id`.
    pub id: u64,
    /// `name`.
    pub name: Option<String>,
    /// `queue`.
    pub queue: Option<String>,
    /// `threadState`, when written (macOS writes one for every thread).
    pub state: Option<ThreadState>,
    /// Frames, top first.
    pub frames: Vec<Frame>,
}

impl Thread {
    /// A thread with the given id, no frames and no state.
    pub fn new(id: u64) -> Thread {
        Thread {
            id,
            ..Thread::default()
        }
    }

    /// Sets the thread's name.
    pub fn name(mut self, name: &str) -> Thread {
        self.name = Some(name.to_string());
        self
    }

    /// Sets the dispatch queue.
    pub fn queue(mut self, queue: &str) -> Thread {
        self.queue = Some(queue.to_string());
        self
    }

    /// Sets the register state.
    pub fn state(mut self, state: ThreadState) -> Thread {
        self.state = Some(state);
        self
    }

    /// Adds a frame below the ones already there.
    pub fn frame(mut self, frame: Frame) -> Thread {
        self.frames.push(frame);
        self
    }
}

/// One loaded image (`usedImages` / `Binary Images:`).
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// `name`: `libobjc.A.dylib`.
    pub name: String,
    /// `path`.
    pub path: String,
    /// `uuid`, lower case.
    pub uuid: String,
    /// `base` load address.
    pub base: u64,
    /// `size` in bytes.
    pub size: u64,
    /// `arch`: `arm64e`, `arm64`, `x86_64`.
    pub arch: String,
    /// `source`: `P`.
    pub source: String,
    /// The bundle keys, for images inside a bundle.
    pub bundle: Option<Bundle>,
}

impl Image {
    /// An `arm64e` image with the given name and path, a UUID derived from the path, base 0
    /// and size 16 KiB.
    pub fn new(name: &str, path: &str) -> Image {
        Image {
            name: name.to_string(),
            path: path.to_string(),
            uuid: ids::image_uuid(path),
            base: 0,
            size: 0x4000,
            arch: "arm64e".to_string(),
            source: "P".to_string(),
            bundle: None,
        }
    }

    /// Sets the load address.
    pub fn base(mut self, base: u64) -> Image {
        self.base = base;
        self
    }

    /// Sets the size.
    pub fn size(mut self, size: u64) -> Image {
        self.size = size;
        self
    }

    /// Sets the UUID.
    pub fn uuid(mut self, uuid: &str) -> Image {
        self.uuid = uuid.to_string();
        self
    }

    /// Sets the architecture.
    pub fn arch(mut self, arch: &str) -> Image {
        self.arch = arch.to_string();
        self
    }

    /// Sets the bundle keys.
    pub fn bundle(mut self, bundle: Bundle) -> Image {
        self.bundle = Some(bundle);
        self
    }
}

/// `sharedCache`: where the dyld shared cache sat.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedCache {
    /// `base`.
    pub base: u64,
    /// `size`.
    pub size: u64,
    /// `uuid`.
    pub uuid: String,
}

/// The system facts around the crash: uptime, wake, the per-boot and per-machine keys.
#[derive(Clone, Debug, PartialEq)]
pub struct System {
    /// `uptime` / `Time Awake Since Boot:` (seconds; macOS rounds it).
    pub uptime: u64,
    /// `wakeTime`.
    pub wake_time: u64,
    /// The legacy `Time Since Wake:` (seconds).
    pub time_since_wake: u64,
    /// `crashReporterKey`.
    pub crash_reporter_key: String,
    /// The legacy `Anonymous UUID:`.
    pub anonymous_uuid: String,
    /// `bootSessionUUID`.
    pub boot_session_uuid: String,
    /// `sleepWakeUUID` / `Sleep/Wake UUID:`.
    pub sleep_wake_uuid: String,
    /// `logWritingSignature`.
    pub log_writing_signature: String,
    /// `task_for_pid` calls by all processes (`extMods.system`).
    pub task_for_pid: u64,
}

impl Default for System {
    fn default() -> System {
        System {
            uptime: 1000,
            wake_time: 3000,
            time_since_wake: 1500,
            crash_reporter_key: ids::upper_uuid("crash-reporter-key"),
            anonymous_uuid: ids::upper_uuid("anonymous"),
            boot_session_uuid: ids::upper_uuid("boot-session"),
            sleep_wake_uuid: ids::upper_uuid("sleep-wake"),
            log_writing_signature: ids::hex40("log-writing-signature"),
            task_for_pid: 0,
        }
    }
}

/// A whole crash report (`bug_type` 309).
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `incident_id` / `incident` (upper case).
    pub incident: String,
    /// The header's `timestamp` (when the file was written): `2026-11-02 10:15:33.00 -0800`.
    pub timestamp: String,
    /// `captureTime` / `Date/Time:`: `2026-11-02 10:15:30.1234 -0800`.
    pub capture_time: String,
    /// The OS.
    pub os: Os,
    /// The machine.
    pub hardware: Hardware,
    /// The crashed process.
    pub process: Process,
    /// The exception.
    pub exception: Exception,
    /// The termination.
    pub termination: Termination,
    /// `asi`: the owning library and its messages (`Application Specific Information:`).
    pub asi: Option<(String, Vec<String>)>,
    /// `vmRegionInfo` / `VM Region Info:`.
    pub vm_region_info: Option<String>,
    /// `lastExceptionBacktrace`, written before `faultingThread` when set.
    pub last_exception_backtrace: Option<Vec<Frame>>,
    /// `faultingThread`: an index into `threads`.
    pub faulting_thread: usize,
    /// Threads, in order.
    pub threads: Vec<Thread>,
    /// Images, in `usedImages` order; the first is the main executable.
    pub images: Vec<Image>,
    /// Whether `usedImages` ends with the absolute (`source: "A"`) null entry macOS adds.
    pub absolute_null_image: bool,
    /// `sharedCache`.
    pub shared_cache: Option<SharedCache>,
    /// `vmSummary` / `VM Region Summary:`.
    pub vm_summary: Option<String>,
    /// Uptime, wake and keys.
    pub system: System,
}

impl Default for Report {
    fn default() -> Report {
        Report {
            incident: ids::upper_uuid("incident"),
            timestamp: "2026-11-02 10:15:33.00 -0800".to_string(),
            capture_time: "2026-11-02 10:15:30.1234 -0800".to_string(),
            os: Os::default(),
            hardware: Hardware::default(),
            process: Process::default(),
            exception: Exception::default(),
            termination: Termination::default(),
            asi: None,
            vm_region_info: None,
            last_exception_backtrace: None,
            faulting_thread: 0,
            threads: Vec::new(),
            images: Vec::new(),
            absolute_null_image: true,
            shared_cache: None,
            vm_summary: None,
            system: System::default(),
        }
    }
}

impl Report {
    /// A report with every default and no threads or images.
    pub fn new() -> Report {
        Report::default()
    }

    /// Sets the incident id.
    pub fn incident(mut self, incident: &str) -> Report {
        self.incident = incident.to_string();
        self
    }

    /// Sets the process.
    pub fn process(mut self, process: Process) -> Report {
        self.process = process;
        self
    }

    /// Sets the process id.
    pub fn pid(mut self, pid: u64) -> Report {
        self.process.pid = pid;
        self
    }

    /// Sets the OS.
    pub fn os(mut self, os: Os) -> Report {
        self.os = os;
        self
    }

    /// Sets the hardware.
    pub fn hardware(mut self, hardware: Hardware) -> Report {
        self.hardware = hardware;
        self
    }

    /// Sets the exception, and the termination that goes with its signal (`SIGABRT` is
    /// `Abort trap: 6` by the process itself, `SIGBUS` `Bus error: 10`, anything else a
    /// segmentation fault), which [`Report::termination`] can override.
    pub fn exception(mut self, exception: Exception) -> Report {
        self.termination = match exception.signal.as_str() {
            "SIGABRT" => Termination::signal(6, "Abort trap: 6").by(&self.process.name),
            "SIGBUS" => Termination::signal(10, "Bus error: 10"),
            _ => Termination::default(),
        };
        self.exception = exception;
        self
    }

    /// Sets the termination.
    pub fn termination(mut self, termination: Termination) -> Report {
        self.termination = termination;
        self
    }

    /// Sets the application-specific information: `owner` (`libsystem_c.dylib`) and one message.
    pub fn asi(mut self, owner: &str, message: &str) -> Report {
        self.asi = Some((owner.to_string(), vec![message.to_string()]));
        self
    }

    /// Sets the VM region info.
    pub fn vm_region_info(mut self, info: &str) -> Report {
        self.vm_region_info = Some(info.to_string());
        self
    }

    /// Sets the last exception backtrace.
    pub fn last_exception_backtrace(mut self, frames: Vec<Frame>) -> Report {
        self.last_exception_backtrace = Some(frames);
        self
    }

    /// Sets the faulting thread's index.
    pub fn faulting_thread(mut self, index: usize) -> Report {
        self.faulting_thread = index;
        self
    }

    /// Adds a thread.
    pub fn thread(mut self, thread: Thread) -> Report {
        self.threads.push(thread);
        self
    }

    /// Adds an image (the first one added is the main executable).
    pub fn image(mut self, image: Image) -> Report {
        self.images.push(image);
        self
    }

    /// The `.ips` file: the JSON header line, then the body.
    pub fn build_ips(&self) -> String {
        ips::render(self)
    }

    /// The legacy `.crash` text.
    pub fn build_legacy(&self) -> String {
        legacy::render(self)
    }

    /// The crash dialog's copy: a `Translated Report (Full Report Below)` banner, the legacy
    /// text, `Full Report` and the `.ips`, then the system profile the dialog appends.
    pub fn build_translated(&self) -> String {
        legacy::render_translated(self)
    }
}

#[cfg(test)]
mod tests;
