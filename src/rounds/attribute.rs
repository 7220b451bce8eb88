//! Attribution of crash reports to the attempts of a round. Pure: takes the reports found and
//! the attempts run, returns which report belongs to which attempt and why.
//!
//! The rule, in order (the first step that matches decides):
//!
//! 1. **pid**: the report's `pid` equals an attempt's pid — the started command itself crashed.
//! 2. **parent pid**: the report's `parent_pid` equals an attempt's pid — a worker subprocess
//!    of the command crashed (e.g. `sh run.sh` starting `python3`).
//! 3. **time window**: the report's `captured_at` lies in `[started_at, finished_at +
//!    crash_wait]` of an attempt. Only reached when neither pid matches any attempt of the
//!    round, so a late report from attempt 1 that arrives during attempt 2 still goes to
//!    attempt 1. Deeper descendants (grandchildren) are caught here.
//! 4. otherwise the report is left unattributed (reported back, never silently dropped).
//!
//! When several attempts qualify in one step (a pid reused by the OS, windows that touch), the
//! attempt whose run `[started_at, finished_at]` contains `captured_at` wins; failing that the
//! latest attempt that started before `captured_at`; failing that the first candidate.
//!
//! The time-window step trusts the [`ReportRef`]s it is given: a report from an unrelated
//! process that crashed during the attempt would be attributed too, so the crash source should
//! only hand over reports of the processes under test (by process name or path).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::model::Attempt;

/// What a crash source knows about one report, enough to attribute it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ReportRef {
    /// Incident id (or content hash) identifying the report in the store.
    pub incident_id: String,
    /// Process id of the crashed process.
    pub pid: Option<i64>,
    /// Parent process id of the crashed process.
    pub parent_pid: Option<i64>,
    /// When the crash was captured (`captureTime`, or the header `timestamp`).
    pub captured_at: Option<DateTime<Utc>>,
    /// Process name (`procName`).
    pub process: Option<String>,
}

/// Why a report was attributed to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The report's pid is the attempt's pid.
    Pid,
    /// The report's parent pid is the attempt's pid.
    ParentPid,
    /// The report was captured during the attempt or its crash wait.
    TimeWindow,
}

/// The attribution of one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    /// The report's incident id.
    pub incident_id: String,
    /// 1-based attempt index, `None` when unattributed.
    pub attempt: Option<u32>,
    /// Which rule matched, `None` when unattributed.
    pub basis: Option<Basis>,
}

/// Attribute `reports` to `attempts` (see the module docs for the rule). Reports with the same
/// incident id are considered once. The result is in the order of first appearance.
pub fn attribute(
    reports: &[ReportRef],
    attempts: &[Attempt],
    crash_wait: Duration,
) -> Vec<Assignment> {
    let grace = TimeDelta::from_std(crash_wait).unwrap_or(TimeDelta::MAX);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for report in reports {
        if !seen.insert(report.incident_id.as_str()) {
            continue;
        }
        let (attempt, basis) = match attribute_one(report, attempts, grace) {
            Some((index, basis)) => (Some(index), Some(basis)),
            None => (None, None),
        };
        out.push(Assignment {
            incident_id: report.incident_id.clone(),
            attempt,
            basis,
        });
    }
    out
}

/// Write the attributed incident ids into each attempt's `crash_reports` (replacing what was
/// there) and return the assignments; unattributed ones have `attempt == None`.
pub fn apply(
    reports: &[ReportRef],
    attempts: &mut [Attempt],
    crash_wait: Duration,
) -> Vec<Assignment> {
    let assignments = attribute(reports, attempts, crash_wait);
    for attempt in attempts.iter_mut() {
        attempt.crash_reports = assignments
            .iter()
            .filter(|a| a.attempt == Some(attempt.index))
            .map(|a| a.incident_id.clone())
            .collect();
    }
    assignments
}

fn attribute_one(
    report: &ReportRef,
    attempts: &[Attempt],
    grace: TimeDelta,
) -> Option<(u32, Basis)> {
    let by_pid = |pid: Option<i64>| -> Vec<&Attempt> {
        match pid {
            Some(pid) => attempts.iter().filter(|a| a.pid == Some(pid)).collect(),
            None => Vec::new(),
        }
    };
    let pid_matches = by_pid(report.pid);
    if !pid_matches.is_empty() {
        return pick(&pid_matches, report.captured_at).map(|i| (i, Basis::Pid));
    }
    let parent_matches = by_pid(report.parent_pid);
    if !parent_matches.is_empty() {
        return pick(&parent_matches, report.captured_at).map(|i| (i, Basis::ParentPid));
    }
    let at = report.captured_at?;
    let in_window: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| match a.started_at {
            Some(start) if start <= at => match a.finished_at {
                // An attempt without an end is treated as still running.
                Some(end) => {
                    at <= end
                        .checked_add_signed(grace)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC)
                }
                None => true,
            },
            _ => false,
        })
        .collect();
    pick(&in_window, Some(at)).map(|i| (i, Basis::TimeWindow))
}

/// Choose among candidate attempts (see the module docs for the tie-break).
fn pick(candidates: &[&Attempt], at: Option<DateTime<Utc>>) -> Option<u32> {
    if candidates.len() <= 1 {
        return candidates.first().map(|a| a.index);
    }
    if let Some(at) = at {
        let running = candidates.iter().rev().find(
            |a| matches!((a.started_at, a.finished_at), (Some(s), Some(e)) if s <= at && at <= e),
        );
        if let Some(a) = running {
            return Some(a.index);
        }
        let started_before = candidates
            .iter()
            .filter(|a| a.started_at.is_some_and(|s| s <= at))
            .max_by_key(|a| a.started_at);
        if let Some(a) = started_before {
            return Some(a.index);
        }
    }
    candidates.first().map(|a| a.index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(sec: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_766_000_000 + sec, 0).unwrap()
    }

    fn attempt(index: u32, pid: i64, start: i64, end: i64) -> Attempt {
        Attempt {
            index,
            pid: Some(pid),
            started_at: Some(t(start)),
            finished_at: Some(t(end)),
            ..Attempt::default()
        }
    }

    fn report(id: &str, pid: Option<i64>, ppid: Option<i64>, at: Option<i64>) -> ReportRef {
        ReportRef {
            incident_id: id.into(),
            pid,
            parent_pid: ppid,
            captured_at: at.map(t),
            process: Some("python3".into()),
        }
    }

    fn result(a: &[Assignment]) -> Vec<(String, Option<u32>, Option<Basis>)> {
        a.iter()
            .map(|x| (x.incident_id.clone(), x.attempt, x.basis))
            .collect()
    }

    const WAIT: Duration = Duration::from_secs(5);

    #[test]
    fn pid_beats_time_window() {
        // Attempt 1 ran 0..10 (pid 100), attempt 2 ran 15..25 (pid 200). A report from pid 100
        // written late, at 17, belongs to attempt 1 although attempt 2 was running.
        let attempts = [attempt(1, 100, 0, 10), attempt(2, 200, 15, 25)];
        let got = attribute(&[report("A", Some(100), None, Some(17))], &attempts, WAIT);
        assert_eq!(result(&got), vec![("A".into(), Some(1), Some(Basis::Pid))]);
    }

    #[test]
    fn parent_pid_catches_worker_subprocesses() {
        let attempts = [attempt(1, 100, 0, 10), attempt(2, 200, 15, 25)];
        let got = attribute(
            &[report("W", Some(4242), Some(200), Some(9))],
            &attempts,
            WAIT,
        );
        assert_eq!(
            result(&got),
            vec![("W".into(), Some(2), Some(Basis::ParentPid))]
        );
    }

    #[test]
    fn time_window_includes_the_crash_wait() {
        let attempts = [attempt(1, 100, 0, 10), attempt(2, 200, 15, 25)];
        let reports = [
            report("in-run", Some(7), Some(1), Some(20)),
            report("in-wait", None, None, Some(14)),
            report("edge", None, None, Some(30)),
            report("after", None, None, Some(31)),
            report("before", None, None, Some(-1)),
            report("no-time", Some(7), None, None),
        ];
        let got = attribute(&reports, &attempts, WAIT);
        assert_eq!(
            result(&got),
            vec![
                ("in-run".into(), Some(2), Some(Basis::TimeWindow)),
                ("in-wait".into(), Some(1), Some(Basis::TimeWindow)),
                ("edge".into(), Some(2), Some(Basis::TimeWindow)),
                ("after".into(), None, None),
                ("before".into(), None, None),
                ("no-time".into(), None, None),
            ]
        );
    }

    #[test]
    fn overlapping_windows_prefer_the_running_attempt() {
        // With no crash wait between attempts, attempt 1's grace overlaps attempt 2's run.
        let attempts = [attempt(1, 100, 0, 10), attempt(2, 200, 11, 25)];
        let got = attribute(&[report("X", None, None, Some(12))], &attempts, WAIT);
        assert_eq!(got[0].attempt, Some(2));
        let got = attribute(&[report("Y", None, None, Some(10))], &attempts, WAIT);
        assert_eq!(got[0].attempt, Some(1));
    }

    #[test]
    fn reused_pid_goes_to_the_attempt_running_at_capture() {
        let attempts = [attempt(1, 100, 0, 10), attempt(2, 100, 15, 25)];
        let got = attribute(&[report("R", Some(100), None, Some(20))], &attempts, WAIT);
        assert_eq!(got[0].attempt, Some(2));
        let got = attribute(&[report("S", Some(100), None, Some(12))], &attempts, WAIT);
        assert_eq!(got[0].attempt, Some(1));
        let got = attribute(&[report("T", Some(100), None, None)], &attempts, WAIT);
        assert_eq!(got[0].attempt, Some(1));
    }

    #[test]
    fn duplicates_are_counted_once_and_applied() {
        let mut attempts = [attempt(1, 100, 0, 10), attempt(2, 200, 15, 25)];
        attempts[1].crash_reports = vec!["stale".into()];
        let reports = [
            report("A", Some(100), None, Some(5)),
            report("A", Some(100), None, Some(5)),
            report("B", None, None, Some(99)),
        ];
        let got = apply(&reports, &mut attempts, WAIT);
        assert_eq!(got.len(), 2);
        assert_eq!(attempts[0].crash_reports, vec!["A".to_string()]);
        assert!(attempts[1].crash_reports.is_empty());
    }

    #[test]
    fn unfinished_attempt_is_open_ended() {
        let mut a = attempt(1, 100, 0, 10);
        a.finished_at = None;
        let got = attribute(&[report("L", None, None, Some(1000))], &[a], WAIT);
        assert_eq!(got[0].attempt, Some(1));
    }
}
