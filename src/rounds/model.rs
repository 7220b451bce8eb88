//! The round model: a verification round, its attempts, and the outcome rules.
//!
//! The outcome is always *computed* from the attempts, never stored on its own, so a round
//! cannot claim "pass" while one of its attempts left a crash report (docs/ROUNDS.md: a round whose
//! attempt crashed is never a raw pass, whatever its exit code). Pure data: no I/O here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One verification round: one run of the test command under one configuration, with its
/// retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Round {
    /// Round number chosen by the user (e.g. 1820).
    pub number: i64,
    /// Batch label (e.g. `1820-1829`).
    pub batch: Option<String>,
    /// Fix version name (e.g. `v2.3`); `None` means native (no fix loaded).
    pub fix: Option<String>,
    /// When the first attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the last attempt (and its crash wait) finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Free key-value configuration (threads, iterations, test, PyTorch version, env...).
    pub config: BTreeMap<String, String>,
    /// Efficiency figure printed by the suite, in percent (e.g. 14.6).
    pub efficiency: Option<f64>,
    /// Other named figures parsed from the output.
    pub metrics: BTreeMap<String, f64>,
    /// Attempts in order; `attempts[i].index == i + 1`.
    pub attempts: Vec<Attempt>,
    /// The suite's own results file, if one was read (e.g. `complete_story_results.json`).
    pub results_json: Option<serde_json::Value>,
    /// Whether the fix confirmed it loaded in every attempt (see [`super::handshake`]):
    /// `Some(false)` rounds are left out of comparisons and writeups by default. `None` for a
    /// native round, and for a round recorded by hand, imported without the key or stored
    /// before the handshake existed (unknown; counted).
    #[serde(default)]
    pub fix_confirmed: Option<bool>,
    /// The name of the host (machine) it ran on (docs/FLEET.md). Part of its identity: two
    /// machines' round 1825 are two rounds. `None` before it is stored means the local host.
    #[serde(default)]
    pub host: Option<String>,
}

/// One attempt (try) of a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Attempt {
    /// 1-based position within the round.
    pub index: u32,
    /// When the process was started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the process exited.
    pub finished_at: Option<DateTime<Utc>>,
    /// Exit code; `None` when the process was killed by a signal or the code is unknown.
    pub exit_code: Option<i32>,
    /// Number of the signal that terminated the process, if any.
    ///
    /// Numbers, not names: the runner records what the OS reported (macOS numbering when run
    /// on macOS, where rounds run); imported names such as `"SIGSEGV"` are converted with the
    /// macOS table ([`signal_number`]). SEGV (11), ABRT (6), KILL (9), ILL (4), TRAP (5),
    /// FPE (8) and TERM (15) have the same numbers on Linux; BUS (macOS 10, Linux 7) does not.
    pub signal: Option<i32>,
    /// Process id of the started command.
    pub pid: Option<i64>,
    /// Incident ids of the crash reports attributed to this attempt.
    pub crash_reports: Vec<String>,
}

impl Attempt {
    /// Whether the attempt crashed: killed by a signal or at least one report attributed.
    pub fn crashed(&self) -> bool {
        self.signal.is_some() || !self.crash_reports.is_empty()
    }

    /// Whether the attempt passed cleanly: exit code 0, no signal, no attributed report.
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0) && !self.crashed()
    }
}

/// How a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The first attempt passed cleanly.
    RawPass,
    /// A later attempt passed cleanly.
    EventualPass,
    /// No attempt passed cleanly.
    Fail,
}

impl Outcome {
    /// Stable text: `raw-pass`, `eventual-pass` or `fail`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::RawPass => "raw-pass",
            Outcome::EventualPass => "eventual-pass",
            Outcome::Fail => "fail",
        }
    }

    /// Raw pass (first attempt clean).
    pub fn is_raw_pass(&self) -> bool {
        *self == Outcome::RawPass
    }

    /// Raw or eventual pass: every raw pass is also an eventual pass.
    pub fn is_eventual_pass(&self) -> bool {
        matches!(self, Outcome::RawPass | Outcome::EventualPass)
    }

    /// Outcome of a sequence of attempts (see [`Round::outcome`]).
    pub fn of_attempts(attempts: &[Attempt]) -> Outcome {
        match attempts.iter().position(Attempt::passed) {
            Some(0) => Outcome::RawPass,
            Some(_) => Outcome::EventualPass,
            None => Outcome::Fail,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown outcome text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown outcome {0:?} (expected raw-pass, eventual-pass or fail)")]
pub struct UnknownOutcome(pub String);

impl FromStr for Outcome {
    type Err = UnknownOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raw-pass" => Ok(Outcome::RawPass),
            "eventual-pass" => Ok(Outcome::EventualPass),
            "fail" => Ok(Outcome::Fail),
            other => Err(UnknownOutcome(other.to_string())),
        }
    }
}

impl Round {
    /// The round's outcome:
    /// - raw pass: the first attempt exited 0, without a signal, with no report attributed;
    /// - eventual pass: a later attempt passed that way (the attempts recorded are the budget);
    /// - fail: otherwise, including a round with no attempts at all.
    pub fn outcome(&self) -> Outcome {
        Outcome::of_attempts(&self.attempts)
    }

    /// Incident ids of every report attributed to any attempt, in attempt order.
    pub fn crash_reports(&self) -> impl Iterator<Item = &str> {
        self.attempts
            .iter()
            .flat_map(|a| a.crash_reports.iter().map(String::as_str))
    }
}

/// macOS signal numbers by name (from `<sys/signal.h>`), used for imported signal names.
const DARWIN_SIGNALS: [(&str, i32); 31] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("EMT", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("BUS", 10),
    ("SEGV", 11),
    ("SYS", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("URG", 16),
    ("STOP", 17),
    ("TSTP", 18),
    ("CONT", 19),
    ("CHLD", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("IO", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("INFO", 29),
    ("USR1", 30),
    ("USR2", 31),
];

/// Signal number for a name such as `SIGSEGV`, `segv` or `SIGABRT`, in macOS numbering.
/// `SIGIOT` is accepted as an alias of `SIGABRT`.
pub fn signal_number(name: &str) -> Option<i32> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let bare = if bare == "IOT" { "ABRT" } else { bare };
    DARWIN_SIGNALS
        .iter()
        .find(|(n, _)| *n == bare)
        .map(|&(_, num)| num)
}

/// Name (`SIGSEGV`) of a signal number in macOS numbering.
pub fn signal_name(number: i32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGEMT",
        "SIGFPE",
        "SIGKILL",
        "SIGBUS",
        "SIGSEGV",
        "SIGSYS",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGURG",
        "SIGSTOP",
        "SIGTSTP",
        "SIGCONT",
        "SIGCHLD",
        "SIGTTIN",
        "SIGTTOU",
        "SIGIO",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGINFO",
        "SIGUSR1",
        "SIGUSR2",
    ];
    usize::try_from(number)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| NAMES.get(i).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(index: u32, exit: Option<i32>, signal: Option<i32>, reports: &[&str]) -> Attempt {
        Attempt {
            index,
            exit_code: exit,
            signal,
            crash_reports: reports.iter().map(|s| s.to_string()).collect(),
            ..Attempt::default()
        }
    }

    fn round(attempts: Vec<Attempt>) -> Round {
        Round {
            number: 1820,
            attempts,
            ..Round::default()
        }
    }

    #[test]
    fn clean_first_attempt_is_raw_pass() {
        assert_eq!(
            round(vec![attempt(1, Some(0), None, &[])]).outcome(),
            Outcome::RawPass
        );
    }

    // Regression: a worker thread crashed and left a report while the exit code was 0.
    #[test]
    fn exit_zero_with_report_is_not_a_pass() {
        let r = round(vec![attempt(1, Some(0), None, &["INC-1"])]);
        assert_eq!(r.outcome(), Outcome::Fail);
        assert!(r.attempts[0].crashed());
    }

    #[test]
    fn signal_is_never_a_pass() {
        // Some wrappers report code 0 alongside a signal; the signal wins.
        assert_eq!(
            round(vec![attempt(1, Some(0), Some(11), &[])]).outcome(),
            Outcome::Fail
        );
    }

    #[test]
    fn later_clean_attempt_is_eventual_pass() {
        let r = round(vec![
            attempt(1, None, Some(11), &["INC-1"]),
            attempt(2, Some(1), None, &[]),
            attempt(3, Some(0), None, &[]),
        ]);
        assert_eq!(r.outcome(), Outcome::EventualPass);
        assert_eq!(r.crash_reports().collect::<Vec<_>>(), vec!["INC-1"]);
    }

    #[test]
    fn no_clean_attempt_or_no_attempt_is_fail() {
        let r = round(vec![
            attempt(1, Some(1), None, &[]),
            attempt(2, None, None, &[]),
        ]);
        assert_eq!(r.outcome(), Outcome::Fail);
        assert_eq!(round(vec![]).outcome(), Outcome::Fail);
    }

    #[test]
    fn outcome_text_round_trips() {
        for o in [Outcome::RawPass, Outcome::EventualPass, Outcome::Fail] {
            assert_eq!(o.as_str().parse::<Outcome>().unwrap(), o);
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
        assert!("pass".parse::<Outcome>().is_err());
        assert!(Outcome::RawPass.is_eventual_pass());
        assert!(!Outcome::EventualPass.is_raw_pass());
        assert!(!Outcome::Fail.is_eventual_pass());
    }

    #[test]
    fn signal_names_use_macos_numbers() {
        assert_eq!(signal_number("SIGSEGV"), Some(11));
        assert_eq!(signal_number("segv"), Some(11));
        assert_eq!(signal_number("SIGABRT"), Some(6));
        assert_eq!(signal_number("SIGIOT"), Some(6));
        assert_eq!(signal_number("SIGBUS"), Some(10));
        assert_eq!(signal_number("SIGNOPE"), None);
        assert_eq!(signal_name(11), Some("SIGSEGV"));
        assert_eq!(signal_name(31), Some("SIGUSR2"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(-3), None);
        for (name, num) in DARWIN_SIGNALS {
            assert_eq!(signal_name(num), Some(format!("SIG{name}").as_str()));
        }
    }
}
