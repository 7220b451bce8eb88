//! Proof that the injected fix dylib loaded: the per-attempt handshake file and its judgement,
//! and which rounds count in comparisons and writeups because of it.
//!
//! `DYLD_INSERT_LIBRARIES` is silently dropped for SIP-protected programs (Apple's own
//! `/usr/bin/python3`) and for programs built with the hardened runtime, so a "v2.4 round" can
//! run with no fix at all. When the runner injects a fix it points [`ENV_VAR`] at a fresh file
//! per attempt, in a private temporary folder ([`HandshakeDir`]). The fix dylib, once its hooks
//! are in place, appends one JSON line per process:
//!
//! ```json
//! {"version":"2.4","uuid":"5C1D0E2A-...","pid":123,"hooked_classes":["AGXG16XFamilyComputeContext"],"mode":"per-encoder","disabled":false}
//! ```
//!
//! [`read`] reads the file leniently (a line that is not such an object is skipped with a
//! problem note, never a panic; at most [`MAX_READ`] bytes; links and non-regular files are
//! not followed), and [`judge`] checks the lines against the UUIDs of the build injected. The
//! rules (also in `docs/ROUNDS.md`):
//!
//! - an attempt is **confirmed** when some line names one of the build's slice UUIDs, is not
//!   `disabled`, and hooked at least one class (a fix that hooked nothing protected nothing);
//! - a round is confirmed when **every** attempt is ([`round_confirmed`]); the CLI also
//!   accepts, for an attempt that wrote no line at all, a crash report attributed to it that
//!   lists one of the build's UUIDs among its images (a fix that crashes the process before
//!   its hooks are in place must not be left out of the comparison it loses);
//! - a round whose fix never confirmed is left out of comparisons and writeups by default
//!   ([`partition`]); rounds without a fix, and imported rounds that do not say, count.
//!
//! No SQL and no printing here; the only I/O is creating the folder and reading the files.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::Attempt;
use crate::crash::normalize_uuid;

/// The environment variable that tells the fix dylib where to write its handshake line.
pub const ENV_VAR: &str = "AGX_FIX_HANDSHAKE";

/// At most this many bytes of a handshake file are read. One line is a few hundred bytes;
/// a process tree of a few hundred processes fits.
pub const MAX_READ: u64 = 64 * 1024;

/// Malformed lines reported one by one; the rest are counted in one note.
const MAX_LINE_NOTES: usize = 3;

/// A private temporary folder (mode 0700, removed when dropped) holding one handshake file per
/// attempt. Nobody else can plant a link or a prepared file in it.
#[derive(Debug)]
pub struct HandshakeDir {
    dir: tempfile::TempDir,
}

impl HandshakeDir {
    /// Create the folder under the system temporary folder.
    pub fn new() -> std::io::Result<HandshakeDir> {
        use std::os::unix::fs::PermissionsExt;
        // Explicit: tempfile leaves a folder's mode to the umask (0755 is common).
        let dir = tempfile::Builder::new()
            .prefix("agx-triage-handshake-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()?;
        Ok(HandshakeDir { dir })
    }

    /// The fresh, empty file for attempt `attempt` (created with mode 0600, so the dylib only
    /// has to append). Each attempt has its own file: a line left by attempt 1 can never
    /// confirm attempt 2.
    pub fn file_for(&self, attempt: u32) -> std::io::Result<PathBuf> {
        let path = self.dir.path().join(format!("attempt-{attempt}.jsonl"));
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(path)
    }
}

/// One handshake line, as the dylib writes it. Unknown keys are allowed (later builds may say
/// more). The keys the verdict rests on are strict (`uuid` a UUID string, `hooked_classes` an
/// array of strings, `disabled` a boolean): a wrong type there makes the line malformed, so a
/// doubtful line never confirms. The informative ones are lenient: `version` may be a string
/// or a number (`2.4`), `pid` a number or a numeric string, and an odd value is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The fix's version, e.g. `2.4`.
    pub version: Option<String>,
    /// `LC_UUID` of the slice that loaded, normalised by [`read`] to lower case with dashes.
    pub uuid: String,
    /// The process that wrote the line.
    pub pid: Option<i64>,
    /// Classes whose methods were hooked (missing: none).
    pub hooked_classes: Vec<String>,
    /// `per-encoder` or `global-lock`.
    pub mode: Option<String>,
    /// The fix loaded but was switched off (`AGX_FIX_DISABLE=1`).
    pub disabled: Option<bool>,
}

/// What a handshake file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    /// The well-formed lines, in file order.
    pub lines: Vec<Line>,
    /// What was wrong with the file or with skipped lines (for warnings).
    pub problems: Vec<String>,
}

/// Read a handshake file: missing or empty gives no lines. Never follows a link, never opens
/// a non-regular file (a FIFO would block), reads at most [`MAX_READ`] bytes.
pub fn read(path: &Path) -> Contents {
    let mut out = Contents::default();
    let before = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.problems.push(format!("cannot read it: {e}"));
            return out;
        }
    };
    if !before.file_type().is_file() {
        out.problems
            .push("it is not a regular file (a link?); not read".into());
        return out;
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            out.problems.push(format!("cannot open it: {e}"));
            return out;
        }
    };
    // The file opened must be the one checked (nothing swapped in between).
    match file.metadata() {
        Ok(m) if m.dev() == before.dev() && m.ino() == before.ino() && m.is_file() => {}
        _ => {
            out.problems
                .push("it changed while being opened; not read".into());
            return out;
        }
    }
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_READ + 1).read_to_end(&mut bytes) {
        out.problems.push(format!("cannot read it: {e}"));
        return out;
    }
    if bytes.len() as u64 > MAX_READ {
        bytes.truncate(MAX_READ as usize);
        // The line cut by the limit is incomplete: drop it.
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(keep);
        out.problems.push(format!(
            "longer than {} KiB; only the first {} KiB read",
            MAX_READ / 1024,
            MAX_READ / 1024
        ));
    }
    out.lines = parse_lines(&bytes, &mut out.problems);
    out
}

/// The well-formed lines of `bytes`; a note in `problems` for each skipped line (the first
/// few by number, the rest counted).
pub fn parse_lines(bytes: &[u8], problems: &mut Vec<String>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut skipped = 0usize;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(line) => lines.push(line),
            Err(why) => {
                skipped += 1;
                if skipped <= MAX_LINE_NOTES {
                    problems.push(format!("line {}: skipped: {why}", i + 1));
                }
            }
        }
    }
    if skipped > MAX_LINE_NOTES {
        problems.push(format!(
            "{} more malformed line(s) skipped",
            skipped - MAX_LINE_NOTES
        ));
    }
    lines
}

fn parse_line(text: &str) -> Result<Line, String> {
    use serde_json::Value;
    // serde's message names the problem; the text itself may be anything, so it is not echoed.
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not a handshake object ({e})"))?;
    let Value::Object(obj) = value else {
        return Err("not a handshake object (not a JSON object)".into());
    };
    let uuid = match obj.get("uuid") {
        Some(Value::String(u)) => {
            normalize_uuid(u).ok_or_else(|| format!("\"uuid\" {:?} is not a UUID", short(u)))?
        }
        Some(_) => return Err("\"uuid\" is not a string".into()),
        None => return Err("no \"uuid\"".into()),
    };
    let hooked_classes = match obj.get("hooked_classes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("\"hooked_classes\" is not an array of strings")?,
        Some(_) => return Err("\"hooked_classes\" is not an array of strings".into()),
    };
    let disabled = match obj.get("disabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err("\"disabled\" is not true or false".into()),
    };
    let version = match obj.get("version") {
        Some(Value::String(v)) => Some(short(v)),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let pid = match obj.get("pid") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(p)) => p.trim().parse().ok(),
        _ => None,
    };
    let mode = obj.get("mode").and_then(Value::as_str).map(short);
    Ok(Line {
        version,
        uuid,
        pid,
        hooked_classes,
        mode,
        disabled,
    })
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The verdict on one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Check {
    /// A line named the build's UUID, not disabled, with at least one hooked class.
    Confirmed {
        /// The UUID of the slice that loaded.
        uuid: String,
        /// The process that wrote the line.
        pid: Option<i64>,
        /// How many classes it hooked.
        hooked_classes: usize,
        /// `per-encoder` or `global-lock`, as the dylib said.
        mode: Option<String>,
    },
    /// No line was written, but a crash report attributed to the attempt lists the build's
    /// image: the fix was in the process (it may have crashed it before its hooks were set).
    ConfirmedByCrashReport {
        /// The report's incident id.
        incident_id: String,
    },
    /// No well-formed line: the fix did not load (SIP-protected or hardened-runtime program?),
    /// or the process died before its hooks were in place.
    NoHandshake,
    /// Only other builds wrote lines: another dylib of the fix was loaded.
    WrongBuild {
        /// The UUIDs the lines named.
        uuids: Vec<String>,
    },
    /// The build loaded but was disabled (`AGX_FIX_DISABLE=1`).
    Disabled {
        /// The process that said so.
        pid: Option<i64>,
    },
    /// The build loaded but hooked no class (no AGX classes on this Mac?).
    NothingHooked {
        /// The process that said so.
        pid: Option<i64>,
    },
}

impl Check {
    /// Whether this attempt counts as having run with the fix.
    pub fn confirmed(&self) -> bool {
        matches!(
            self,
            Check::Confirmed { .. } | Check::ConfirmedByCrashReport { .. }
        )
    }

    /// Short stable name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Check::Confirmed { .. } => "confirmed",
            Check::ConfirmedByCrashReport { .. } => "confirmed-by-crash-report",
            Check::NoHandshake => "no-handshake",
            Check::WrongBuild { .. } => "wrong-build",
            Check::Disabled { .. } => "disabled",
            Check::NothingHooked { .. } => "nothing-hooked",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = |p: &Option<i64>| p.map(|p| format!(" (pid {p})")).unwrap_or_default();
        match self {
            Check::Confirmed {
                uuid,
                pid: p,
                hooked_classes,
                mode,
            } => write!(
                f,
                "the fix confirmed it loaded: slice {uuid}{}, {hooked_classes} class(es) \
                 hooked{}",
                pid(p),
                mode.as_deref()
                    .map(|m| format!(", mode {m}"))
                    .unwrap_or_default()
            ),
            Check::ConfirmedByCrashReport { incident_id } => write!(
                f,
                "no handshake, but crash report {incident_id} lists the fix's image: counted \
                 as loaded"
            ),
            Check::NoHandshake => f.write_str(
                "the fix never confirmed it loaded (no handshake line; SIP-protected or \
                 hardened-runtime program?)",
            ),
            Check::WrongBuild { uuids } => write!(
                f,
                "another build of the fix loaded (UUID {}), not the one injected",
                uuids.join(", ")
            ),
            Check::Disabled { pid: p } => write!(
                f,
                "the fix loaded but was disabled{} (AGX_FIX_DISABLE=1?)",
                pid(p)
            ),
            Check::NothingHooked { pid: p } => write!(
                f,
                "the fix loaded but hooked no class{}: it protected nothing",
                pid(p)
            ),
        }
    }
}

/// Judge an attempt's lines against the UUIDs of the build injected (any form; compared
/// normalised). Any confirming line confirms (a child process may be the one that loads the
/// fix while its SIP-protected parent does not). Otherwise the most telling failure wins:
/// disabled, then nothing hooked (both name the right build), then another build, then none.
pub fn judge(lines: &[Line], expected: &[String]) -> Check {
    let expected: Vec<String> = expected.iter().filter_map(|u| normalize_uuid(u)).collect();
    let ours = |l: &&Line| expected.contains(&l.uuid);
    if let Some(l) = lines
        .iter()
        .filter(ours)
        .find(|l| l.disabled != Some(true) && !l.hooked_classes.is_empty())
    {
        return Check::Confirmed {
            uuid: l.uuid.to_ascii_uppercase(),
            pid: l.pid,
            hooked_classes: l.hooked_classes.len(),
            mode: l.mode.clone(),
        };
    }
    if let Some(l) = lines.iter().filter(ours).find(|l| l.disabled == Some(true)) {
        return Check::Disabled { pid: l.pid };
    }
    if let Some(l) = lines.iter().find(ours) {
        return Check::NothingHooked { pid: l.pid };
    }
    let mut others: Vec<String> = Vec::new();
    for l in lines {
        let u = l.uuid.to_ascii_uppercase();
        if !others.contains(&u) {
            others.push(u);
        }
    }
    if others.is_empty() {
        Check::NoHandshake
    } else {
        Check::WrongBuild { uuids: others }
    }
}

/// For each attempt that wrote no handshake at all ([`Check::NoHandshake`]), accept a crash
/// report attributed to it that lists the build (`lists_build(incident_id)`) as proof the fix
/// was loaded. `checks[i]` belongs to `attempts[i]`. Other verdicts stay: a line of another
/// build, a disabled or an idle fix is positive evidence against the round.
pub fn confirm_by_crash_reports(
    checks: &mut [Check],
    attempts: &[Attempt],
    mut lists_build: impl FnMut(&str) -> bool,
) {
    for (check, attempt) in checks.iter_mut().zip(attempts) {
        if *check != Check::NoHandshake {
            continue;
        }
        if let Some(inc) = attempt.crash_reports.iter().find(|i| lists_build(i)) {
            *check = Check::ConfirmedByCrashReport {
                incident_id: inc.clone(),
            };
        }
    }
}

/// The locking mode(s) the confirming attempts' fix reported, e.g. `global-lock` (several
/// joined with `, `), kept with the round so rounds of the two designs can be told apart.
pub fn modes(checks: &[Check]) -> Option<String> {
    let mut modes: Vec<&str> = Vec::new();
    for c in checks {
        if let Check::Confirmed { mode: Some(m), .. } = c {
            if !modes.contains(&m.as_str()) {
                modes.push(m);
            }
        }
    }
    (!modes.is_empty()).then(|| modes.join(", "))
}

/// Whether a round confirmed its fix: every attempt did (and it has at least one). A retry
/// that ran without the fix would otherwise make an "eventual pass with the fix" of a pass
/// without it.
pub fn round_confirmed(checks: &[Check]) -> bool {
    !checks.is_empty() && checks.iter().all(Check::confirmed)
}

/// Whether a round counts in a comparison or writeup: unless its fix is known *not* to have
/// confirmed it loaded (`Some(false)`), or `include_unconfirmed` is given. `None` (a native
/// round, a round recorded by hand or imported without the key, or one stored before the
/// handshake existed) counts: it was not run by this runner, so nothing says otherwise.
pub fn counts(fix_confirmed: Option<bool>, include_unconfirmed: bool) -> bool {
    include_unconfirmed || fix_confirmed != Some(false)
}

/// Rounds whose fix never confirmed it loaded, found while selecting rounds, by fix name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Unconfirmed {
    /// Their round numbers, in the order met.
    pub rounds: Vec<i64>,
    /// How many per fix name.
    pub by_fix: BTreeMap<String, usize>,
    /// Whether they were counted anyway (`--include-unconfirmed`).
    pub included: bool,
}

impl Unconfirmed {
    /// No such round.
    pub fn is_empty(&self) -> bool {
        self.rounds.is_empty()
    }

    /// Merge another selection's (the other side of a comparison).
    pub fn extend(&mut self, other: Unconfirmed) {
        for n in other.rounds {
            if !self.rounds.contains(&n) {
                self.rounds.push(n);
            }
        }
        for (k, v) in other.by_fix {
            *self.by_fix.entry(k).or_default() += v;
        }
        self.included |= other.included;
    }

    /// The warning to show, e.g. `3 rounds of fix v2.4 left out: the fix never confirmed it
    /// loaded (SIP-protected or hardened-runtime program?); --include-unconfirmed counts them`.
    /// `None` when there are none.
    pub fn warning(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let what = self
            .by_fix
            .iter()
            .map(|(fix, n)| format!("{n} round{} of fix {fix}", if *n == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ");
        Some(if self.included {
            format!(
                "{what} counted although the fix never confirmed it loaded \
                 (--include-unconfirmed): these figures may include rounds run without it"
            )
        } else {
            format!(
                "{what} left out: the fix never confirmed it loaded (SIP-protected or \
                 hardened-runtime program?); --include-unconfirmed counts them"
            )
        })
    }
}

/// Split `items` into those that count and the record of the unconfirmed ones. `info` gives
/// an item's round number, fix name and `fix_confirmed`. With `include_unconfirmed` every item
/// is kept and the record says they were counted.
pub fn partition<T>(
    items: Vec<T>,
    include_unconfirmed: bool,
    info: impl Fn(&T) -> (i64, Option<&str>, Option<bool>),
) -> (Vec<T>, Unconfirmed) {
    let mut record = Unconfirmed {
        included: include_unconfirmed,
        ..Unconfirmed::default()
    };
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        let (number, fix, confirmed) = info(&item);
        if confirmed == Some(false) {
            record.rounds.push(number);
            *record
                .by_fix
                .entry(fix.unwrap_or("(none)").to_string())
                .or_default() += 1;
        }
        if counts(confirmed, include_unconfirmed) {
            kept.push(item);
        }
    }
    (kept, record)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "5c1d0e2a-1111-4222-8333-444455556666";
    const OURS_X86: &str = "0A0B0C0D-1111-4222-8333-444455556666";
    const OTHER: &str = "DEADBEEF-0000-4000-8000-000000000000";

    fn expected() -> Vec<String> {
        vec![OURS.to_string(), OURS_X86.to_string()]
    }

    fn parse(text: &str) -> Contents {
        let mut c = Contents::default();
        c.lines = parse_lines(text.as_bytes(), &mut c.problems);
        c
    }

    fn line(uuid: &str, hooked: &[&str], disabled: Option<bool>) -> String {
        serde_json::json!({
            "version": "2.4", "uuid": uuid, "pid": 77, "hooked_classes": hooked,
            "mode": "per-encoder", "disabled": disabled,
        })
        .to_string()
    }

    #[test]
    fn a_right_line_confirms_in_any_uuid_form() {
        // The dylib writes upper case; registered slices are lower case.
        let c = parse(&line(
            &OURS.to_uppercase(),
            &["AGXG16XFamilyComputeContext"],
            None,
        ));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let check = judge(&c.lines, &expected());
        assert!(check.confirmed(), "{check}");
        assert_eq!(
            check,
            Check::Confirmed {
                uuid: OURS.to_uppercase(),
                pid: Some(77),
                hooked_classes: 1,
                mode: Some("per-encoder".into())
            }
        );
        // The x86_64 slice of the same build confirms too.
        let c = parse(&line(OURS_X86, &["A"], Some(false)));
        assert!(judge(&c.lines, &expected()).confirmed());
    }

    #[test]
    fn nothing_written_is_no_handshake() {
        assert_eq!(judge(&[], &expected()), Check::NoHandshake);
        assert_eq!(judge(&parse("\n\n").lines, &expected()), Check::NoHandshake);
    }

    #[test]
    fn another_build_is_a_wrong_build_not_a_confirmation() {
        let c = parse(&line(OTHER, &["A"], None));
        assert_eq!(
            judge(&c.lines, &expected()),
            Check::WrongBuild {
                uuids: vec![OTHER.to_string()]
            }
        );
    }

    #[test]
    fn disabled_or_hooking_nothing_does_not_confirm() {
        let c = parse(&line(OURS, &["A"], Some(true)));
        assert_eq!(
            judge(&c.lines, &expected()),
            Check::Disabled { pid: Some(77) }
        );
        let c = parse(&line(OURS, &[], None));
        assert_eq!(
            judge(&c.lines, &expected()),
            Check::NothingHooked { pid: Some(77) }
        );
        // A line without hooked_classes at all hooked nothing we know of.
        let c = parse(&format!("{{\"uuid\":\"{OURS}\"}}"));
        assert_eq!(
            judge(&c.lines, &expected()),
            Check::NothingHooked { pid: None }
        );
    }

    #[test]
    fn one_confirming_process_among_several_is_enough() {
        // A SIP-protected parent writes nothing; a child of another build and a child of ours.
        let text = format!(
            "{}\n{}\n",
            line(OTHER, &["A"], None),
            line(OURS, &["A", "B"], None)
        );
        assert!(judge(&parse(&text).lines, &expected()).confirmed());
    }

    #[test]
    fn junk_lines_are_skipped_with_a_note_and_never_panic() {
        let text = format!(
            "garbage\n{{\"uuid\": 5}}\n[1,2]\n{{\"uuid\":\"not-a-uuid\"}}\n\u{0}\u{ff}\n{}\n\
             {{\"uuid\":\"{OURS}\",\"hooked_classes\":\"A\"}}\n",
            line(OURS, &["A"], None)
        );
        let c = parse(&text);
        assert_eq!(c.lines.len(), 1);
        assert!(judge(&c.lines, &expected()).confirmed());
        assert_eq!(c.problems.len(), MAX_LINE_NOTES + 1, "{:?}", c.problems);
        assert!(c.problems[0].starts_with("line 1: skipped"));
        assert!(c.problems.last().unwrap().starts_with("3 more malformed"));
        // Only junk: nothing confirms.
        assert_eq!(
            judge(&parse("{\"uuid\":\"x\"}").lines, &expected()),
            Check::NoHandshake
        );
    }

    #[test]
    fn informative_keys_are_lenient_and_deciding_keys_strict() {
        // version as a number, pid as a string, an odd mode: still our build, confirmed.
        let c = parse(&format!(
            "{{\"uuid\":\"{OURS}\",\"hooked_classes\":[\"A\"],\"version\":2.4,\"pid\":\"99\",\"mode\":7}}"
        ));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.lines[0].version.as_deref(), Some("2.4"));
        assert_eq!(c.lines[0].pid, Some(99));
        assert_eq!(c.lines[0].mode, None);
        assert!(judge(&c.lines, &expected()).confirmed());
        // A doubtful deciding key never confirms.
        for bad in [
            format!("{{\"uuid\":\"{OURS}\",\"hooked_classes\":[\"A\"],\"disabled\":\"false\"}}"),
            format!("{{\"uuid\":\"{OURS}\",\"hooked_classes\":[\"A\", 3]}}"),
            format!("{{\"uuid\":[\"{OURS}\"],\"hooked_classes\":[\"A\"]}}"),
            "{\"hooked_classes\":[\"A\"]}".to_string(),
        ] {
            let c = parse(&bad);
            assert!(c.lines.is_empty(), "{bad}");
            assert_eq!(c.problems.len(), 1, "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_allowed() {
        let c = parse(&format!(
            "{{\"uuid\":\"{OURS}\",\"hooked_classes\":[\"A\"],\"selectors\":79,\"extra\":{{}}}}"
        ));
        assert!(judge(&c.lines, &expected()).confirmed());
    }

    #[test]
    fn no_expected_uuid_confirms_nothing() {
        let c = parse(&line(OURS, &["A"], None));
        assert!(!judge(&c.lines, &[]).confirmed());
        assert!(!judge(&c.lines, &["not a uuid".into()]).confirmed());
    }

    #[test]
    fn every_attempt_must_confirm() {
        let ok = Check::Confirmed {
            uuid: OURS.into(),
            pid: None,
            hooked_classes: 1,
            mode: None,
        };
        let by_report = Check::ConfirmedByCrashReport {
            incident_id: "X".into(),
        };
        assert!(round_confirmed(&[ok.clone(), by_report.clone()]));
        assert!(!round_confirmed(&[ok.clone(), Check::NoHandshake]));
        assert!(!round_confirmed(&[Check::NoHandshake, ok]));
        assert!(!round_confirmed(&[]));
    }

    #[test]
    fn a_crash_report_listing_the_build_stands_in_only_for_a_missing_handshake() {
        let attempt = |index: u32, reports: &[&str]| Attempt {
            index,
            crash_reports: reports.iter().map(|s| s.to_string()).collect(),
            ..Attempt::default()
        };
        let attempts = vec![
            attempt(1, &["A", "OURS-1"]),
            attempt(2, &["B"]),
            attempt(3, &["OURS-3"]),
            attempt(4, &[]),
        ];
        let mut checks = vec![
            Check::NoHandshake,
            Check::NoHandshake,
            Check::Disabled { pid: None },
            Check::NoHandshake,
        ];
        confirm_by_crash_reports(&mut checks, &attempts, |inc| inc.starts_with("OURS"));
        assert_eq!(
            checks,
            vec![
                Check::ConfirmedByCrashReport {
                    incident_id: "OURS-1".into()
                },
                Check::NoHandshake,
                Check::Disabled { pid: None },
                Check::NoHandshake,
            ]
        );
    }

    #[test]
    fn modes_are_collected_once() {
        let c = |mode: Option<&str>| Check::Confirmed {
            uuid: OURS.into(),
            pid: None,
            hooked_classes: 1,
            mode: mode.map(String::from),
        };
        assert_eq!(modes(&[c(None), Check::NoHandshake]), None);
        assert_eq!(
            modes(&[c(Some("global-lock")), c(None), c(Some("global-lock"))]).as_deref(),
            Some("global-lock")
        );
        assert_eq!(
            modes(&[c(Some("per-encoder")), c(Some("global-lock"))]).as_deref(),
            Some("per-encoder, global-lock")
        );
    }

    #[test]
    fn files_are_fresh_per_attempt_and_read_safely() {
        let dir = HandshakeDir::new().unwrap();
        let p1 = dir.file_for(1).unwrap();
        let p2 = dir.file_for(2).unwrap();
        assert_ne!(p1, p2);
        assert_eq!(read(&p1), Contents::default());
        // The folder is private.
        let mode = std::fs::metadata(p1.parent().unwrap()).unwrap().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        // A second file for the same attempt is refused rather than reused.
        assert!(dir.file_for(1).is_err());

        std::fs::write(&p1, format!("{}\n", line(OURS, &["A"], None))).unwrap();
        assert!(judge(&read(&p1).lines, &expected()).confirmed());

        // Missing file: nothing, no problem.
        let gone = p1.with_file_name("never-created.jsonl");
        assert_eq!(read(&gone), Contents::default());

        // A link is not followed, even to a confirming file.
        let link = p1.with_file_name("link.jsonl");
        std::os::unix::fs::symlink(&p1, &link).unwrap();
        let c = read(&link);
        assert!(c.lines.is_empty());
        assert!(
            c.problems[0].contains("not a regular file"),
            "{:?}",
            c.problems
        );
        drop(p2);
    }

    #[test]
    fn a_huge_file_is_read_up_to_the_cap() {
        let dir = HandshakeDir::new().unwrap();
        let p = dir.file_for(1).unwrap();
        let good = line(OURS, &["A"], None);
        let mut text = format!("{good}\n");
        while text.len() < 3 * MAX_READ as usize {
            text.push_str(&line(OTHER, &["A"], None));
            text.push('\n');
        }
        std::fs::write(&p, &text).unwrap();
        let c = read(&p);
        assert!(c
            .problems
            .iter()
            .any(|p| p.contains("only the first 64 KiB")));
        // The cut last line is dropped, not reported as junk.
        assert!(
            !c.problems.iter().any(|p| p.contains("skipped")),
            "{:?}",
            c.problems
        );
        assert!(c.lines.len() < text.lines().count());
        assert!(judge(&c.lines, &expected()).confirmed());
    }

    #[test]
    fn unconfirmed_rounds_are_left_out_unless_included() {
        let rounds = vec![
            (1, Some("v2.4"), Some(true)),
            (2, Some("v2.4"), Some(false)),
            (3, None, None),
            (4, Some("v2.4"), None),
            (5, Some("v2.4"), Some(false)),
            (6, Some("v2.3"), Some(false)),
        ];
        let (kept, un) = partition(rounds.clone(), false, |r| (r.0, r.1, r.2));
        assert_eq!(kept.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 3, 4]);
        assert_eq!(un.rounds, vec![2, 5, 6]);
        assert_eq!(
            un.warning().unwrap(),
            "1 round of fix v2.3, 2 rounds of fix v2.4 left out: the fix never confirmed it \
             loaded (SIP-protected or hardened-runtime program?); --include-unconfirmed counts \
             them"
        );
        let (kept, un) = partition(rounds, true, |r| (r.0, r.1, r.2));
        assert_eq!(kept.len(), 6);
        assert!(un.warning().unwrap().contains("counted although"));
        let (_, none) = partition(vec![(1, None::<&str>, None)], false, |r| (r.0, r.1, r.2));
        assert_eq!(none.warning(), None);
    }
}
