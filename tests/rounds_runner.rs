//! Integration tests of the round runner with real processes: small `sh` scripts written to a
//! temporary folder. Crash reports are faked: a script "crashes" by writing a tiny JSON file
//! `*.ips` carrying its own pid (`$$`) into a watched folder, and [`FolderSource`] reads those
//! back with serde_json. The crash parser is deliberately not involved.
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agx_triage::rounds::{
    run_round, Basis, CrashSource, CrashSourceError, Outcome, OutputStream, ReportRef, RetryOn,
    RunConfig, RunResult, RunWarning,
};
use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Deserialize;

/// The fake report a script writes: `{"incident_id": "...", "pid": 123, "parent_pid": 1}`.
#[derive(Deserialize)]
struct FakeReport {
    incident_id: String,
    pid: Option<i64>,
    parent_pid: Option<i64>,
}

/// A crash source that lists `*.ips` files in a folder. `collect` returns every file each
/// time (the runner deduplicates), stamped with the time it was collected.
struct FolderSource {
    dir: PathBuf,
    calls: usize,
}

impl CrashSource for FolderSource {
    fn collect(&mut self, _since: DateTime<Utc>) -> Result<Vec<ReportRef>, CrashSourceError> {
        self.calls += 1;
        let mut out = Vec::new();
        let mut paths: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "ips"))
            .collect();
        paths.sort();
        for path in paths {
            let report: FakeReport = serde_json::from_str(&fs::read_to_string(&path)?)?;
            out.push(ReportRef {
                incident_id: report.incident_id,
                pid: report.pid,
                parent_pid: report.parent_pid,
                captured_at: None,
                process: Some("sh".into()),
            });
        }
        Ok(out)
    }
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    reports: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let reports = dir.join("DiagnosticReports");
    fs::create_dir(&reports).unwrap();
    Setup {
        _tmp: tmp,
        dir,
        reports,
    }
}

/// Write `body` as a script and return a config running it with `sh`. The script sees `$DIR`
/// (the temp folder) and `$REPORTS` (the watched folder); core dumps are off so a SEGV leaves
/// no `core` file behind.
fn script(s: &Setup, name: &str, body: &str) -> RunConfig {
    let path = s.dir.join(name);
    let text = format!(
        "ulimit -c 0\nDIR='{}'\nREPORTS='{}'\n{body}\n",
        s.dir.display(),
        s.reports.display()
    );
    fs::write(&path, text).unwrap();
    let mut cfg = RunConfig::new(vec!["sh".into(), path.display().to_string()]);
    cfg.crash_wait = Duration::from_millis(100);
    cfg
}

/// Shell line writing a fake crash report for the current shell (`$$`).
const CRASH_REPORT: &str =
    r#"printf '{"incident_id": "INC-%s", "pid": %s}' $$ $$ > "$REPORTS/python3-$$.ips""#;

fn run(s: &Setup, cfg: &RunConfig) -> (RunResult, Vec<(OutputStream, String)>, usize) {
    let mut source = FolderSource {
        dir: s.reports.clone(),
        calls: 0,
    };
    let mut lines = Vec::new();
    let mut sink = |stream: OutputStream, line: &str| lines.push((stream, line.to_string()));
    let result = run_round(1820, cfg, &mut source, &mut sink).unwrap();
    (result, lines, source.calls)
}

#[test]
fn exit_zero_is_raw_pass() {
    let s = setup();
    let cfg = script(&s, "ok.sh", "echo hello\necho oops >&2\nexit 0");
    let (r, lines, calls) = run(&s, &cfg);
    let round = &r.round;
    assert_eq!(round.number, 1820);
    assert_eq!(round.outcome(), Outcome::RawPass);
    assert_eq!(round.attempts.len(), 1);
    let a = &round.attempts[0];
    assert_eq!((a.index, a.exit_code, a.signal), (1, Some(0), None));
    assert!(a.pid.is_some_and(|p| p > 0));
    assert!(a.started_at.unwrap() <= a.finished_at.unwrap());
    assert!(round.started_at.unwrap() <= a.started_at.unwrap());
    assert!(a.finished_at.unwrap() <= round.finished_at.unwrap());
    assert!(lines.contains(&(OutputStream::Stdout, "hello".to_string())));
    assert!(lines.contains(&(OutputStream::Stderr, "oops".to_string())));
    assert_eq!(
        calls, 1,
        "crash reports are checked even after a clean exit"
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn sigsegv_is_fail_and_retried_on_crash() {
    let s = setup();
    let mut cfg = script(&s, "segv.sh", "kill -SEGV $$");
    cfg.max_attempts = 3;
    let (r, _, calls) = run(&s, &cfg);
    assert_eq!(r.round.outcome(), Outcome::Fail);
    assert_eq!(
        r.round.attempts.len(),
        3,
        "a crash is retried up to the budget"
    );
    for (i, a) in r.round.attempts.iter().enumerate() {
        assert_eq!(a.index as usize, i + 1);
        assert_eq!(a.signal, Some(11));
        assert_eq!(a.exit_code, None);
        assert!(a.crashed());
    }
    assert_eq!(calls, 3);
}

// Regression: a worker crashed and left a report while the command exited 0.
#[test]
fn report_with_own_pid_and_exit_zero_fails_the_raw_attempt() {
    let s = setup();
    let cfg = script(&s, "report.sh", &format!("{CRASH_REPORT}\nexit 0"));
    let (r, _, _) = run(&s, &cfg);
    let a = &r.round.attempts[0];
    assert_eq!(a.exit_code, Some(0));
    let pid = a.pid.unwrap();
    assert_eq!(a.crash_reports, vec![format!("INC-{pid}")]);
    assert_eq!(r.round.outcome(), Outcome::Fail);
    assert_eq!(r.reports.len(), 1);
}

#[test]
fn crash_once_then_pass_is_eventual_pass() {
    let s = setup();
    let body = format!(
        "if [ ! -e \"$DIR/crashed-once\" ]; then\n  touch \"$DIR/crashed-once\"\n  {CRASH_REPORT}\n  kill -SEGV $$\nfi\necho 'CONFIRMED: 14.6% efficiency at 8 threads'\nexit 0"
    );
    let mut cfg = script(&s, "flaky.sh", &body);
    cfg.max_attempts = 3;
    let (r, _, _) = run(&s, &cfg);
    let round = &r.round;
    assert_eq!(round.outcome(), Outcome::EventualPass);
    assert_eq!(round.attempts.len(), 2, "stops at the first clean attempt");
    let (first, second) = (&round.attempts[0], &round.attempts[1]);
    assert_eq!(first.signal, Some(11));
    assert_eq!(
        first.crash_reports,
        vec![format!("INC-{}", first.pid.unwrap())]
    );
    assert!(
        second.crash_reports.is_empty(),
        "the report stays with attempt 1"
    );
    assert_eq!((second.exit_code, second.signal), (Some(0), None));
    assert_eq!(round.efficiency, Some(14.6));
}

#[test]
fn never_passing_fails_after_k_attempts() {
    let s = setup();
    let mut cfg = script(&s, "fail.sh", "echo attempt; exit 3");
    cfg.max_attempts = 4;
    cfg.retry_on = RetryOn::Fail;
    let (r, lines, _) = run(&s, &cfg);
    assert_eq!(r.round.outcome(), Outcome::Fail);
    assert_eq!(r.round.attempts.len(), 4);
    assert!(r.round.attempts.iter().all(|a| a.exit_code == Some(3)));
    assert_eq!(lines.iter().filter(|(_, l)| l == "attempt").count(), 4);

    // Under retry-on-crash a plain non-zero exit is not retried.
    cfg.retry_on = RetryOn::Crash;
    let (r, _, _) = run(&s, &cfg);
    assert_eq!(r.round.attempts.len(), 1);
    assert_eq!(r.round.outcome(), Outcome::Fail);
}

#[test]
fn efficiency_and_metrics_are_parsed() {
    let s = setup();
    let body = "echo 'warming up'\n\
                echo 'CONFIRMED: 13.9% efficiency at 8 threads'\n\
                echo 'throughput: 812.5 ops/s'\n\
                echo 'CONFIRMED: 14.6% efficiency at 8 threads'\n\
                echo 'throughput: not-a-number ops/s'";
    let mut cfg = script(&s, "eff.sh", body);
    cfg.metrics = vec![(
        "throughput".into(),
        Regex::new(r"throughput: (\S+) ops/s").unwrap(),
    )];
    let (r, _, _) = run(&s, &cfg);
    assert_eq!(r.round.outcome(), Outcome::RawPass);
    assert_eq!(r.round.efficiency, Some(14.6), "last matching line wins");
    assert_eq!(r.round.metrics.get("throughput"), Some(&812.5));
    assert_eq!(
        r.warnings,
        vec![RunWarning::BadFigure {
            attempt: 1,
            name: "throughput".into(),
            text: "not-a-number".into()
        }]
    );
}

#[test]
fn worker_subprocess_report_is_attributed_by_parent_pid() {
    let s = setup();
    // The worker is a child shell: its report carries its own pid and the parent's.
    let worker = r#"sh -c 'printf "{\"incident_id\": \"W-%s\", \"pid\": %s, \"parent_pid\": %s}" $$ $$ $PPID > "$0/worker-$$.ips"' "$REPORTS""#;
    let cfg = script(&s, "workers.sh", &format!("{worker}\nexit 0"));
    let (r, _, _) = run(&s, &cfg);
    let a = &r.round.attempts[0];
    assert_eq!(a.crash_reports.len(), 1, "{:?}", r.reports);
    assert_eq!(r.reports[0].parent_pid, a.pid);
    assert_ne!(r.reports[0].pid, a.pid);
    assert_eq!(r.round.outcome(), Outcome::Fail);
    let assignments = agx_triage::rounds::attribute(&r.reports, &r.round.attempts, cfg.crash_wait);
    assert_eq!(assignments[0].basis, Some(Basis::ParentPid));
}

#[test]
fn unrelated_report_without_time_is_left_unattributed() {
    let s = setup();
    fs::write(
        s.reports.join("Safari.ips"),
        r#"{"incident_id": "OTHER", "pid": 1, "parent_pid": 0}"#,
    )
    .unwrap();
    let cfg = script(&s, "ok.sh", "exit 0");
    let (r, _, _) = run(&s, &cfg);
    assert_eq!(r.round.outcome(), Outcome::RawPass);
    assert_eq!(
        r.warnings,
        vec![RunWarning::UnattributedReport {
            incident_id: "OTHER".into(),
            pid: Some(1),
            parent_pid: Some(0)
        }]
    );
}

#[test]
fn dylib_is_injected_into_the_environment() {
    let s = setup();
    let mut cfg = script(
        &s,
        "env.sh",
        "echo \"DYLD=$DYLD_INSERT_LIBRARIES\"\necho \"PATH_SET=${PATH:+yes}\"",
    );
    cfg.dylib = Some(PathBuf::from("/opt/agx/libagx_fix_v2_3.dylib"));
    let (_, lines, _) = run(&s, &cfg);
    let dyld = lines
        .iter()
        .find_map(|(_, l)| l.strip_prefix("DYLD="))
        .unwrap();
    assert!(dyld.ends_with("/opt/agx/libagx_fix_v2_3.dylib"), "{dyld}");
    assert!(
        lines.iter().any(|(_, l)| l == "PATH_SET=yes"),
        "environment kept"
    );
}

#[test]
fn results_file_is_read_and_stale_one_ignored() {
    let s = setup();
    let results = s.dir.join("complete_story_results.json");
    let body = format!(
        "printf '{{\"passed\": 7, \"failed\": 0}}' > '{}'",
        results.display()
    );
    let mut cfg = script(&s, "results.sh", &body);
    cfg.results_file = Some(results.clone());
    let (r, _, _) = run(&s, &cfg);
    assert_eq!(
        r.round.results_json,
        Some(serde_json::json!({"passed": 7, "failed": 0}))
    );

    // A results file left from an earlier run is not this round's.
    let stale = s.dir.join("old_results.json");
    fs::write(&stale, "{}").unwrap();
    set_old_mtime(&stale);
    let mut cfg = script(&s, "noresults.sh", "exit 0");
    cfg.results_file = Some(stale.clone());
    let (r, _, _) = run(&s, &cfg);
    assert_eq!(r.round.results_json, None);
    assert_eq!(r.warnings, vec![RunWarning::ResultsFileStale(stale)]);

    let missing = s.dir.join("missing.json");
    cfg.results_file = Some(missing.clone());
    let (r, _, _) = run(&s, &cfg);
    assert_eq!(r.warnings, vec![RunWarning::ResultsFileMissing(missing)]);
}

fn set_old_mtime(path: &Path) {
    let file = fs::File::options().write(true).open(path).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    file.set_modified(old).unwrap();
}

#[test]
fn hung_attempt_is_killed_after_the_timeout() {
    let s = setup();
    let mut cfg = script(&s, "hang.sh", "exec sleep 30");
    cfg.timeout = Some(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let (r, _, _) = run(&s, &cfg);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.round.attempts[0].signal, Some(9));
    assert_eq!(r.round.outcome(), Outcome::Fail);
    assert!(r.warnings.contains(&RunWarning::TimedOut(1)));
    assert_eq!(r.warnings[0].code(), "timed-out");
}

// Regression: the readers queued output without bound and the runner stopped reading 2 s after
// the command exited, so a slow sink lost the end of the output (and the efficiency line).
#[test]
fn a_slow_sink_still_sees_every_line_and_the_figure_at_the_end() {
    let s = setup();
    let cfg = script(
        &s,
        "many.sh",
        "seq 1 30000\necho 'CONFIRMED: 14.6% efficiency at 8 threads'",
    );
    let mut source = FolderSource {
        dir: s.reports.clone(),
        calls: 0,
    };
    let mut count = 0usize;
    let mut last = String::new();
    // About 3 s of sink time in all, more than the 2 s grace after the exit.
    let mut sink = |_: OutputStream, line: &str| {
        count += 1;
        last = line.to_string();
        std::thread::sleep(Duration::from_micros(100));
    };
    let r = run_round(1820, &cfg, &mut source, &mut sink).unwrap();
    assert_eq!(count, 30001);
    assert_eq!(last, "CONFIRMED: 14.6% efficiency at 8 threads");
    assert_eq!(r.round.efficiency, Some(14.6));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r
        .output_tail
        .ends_with("30000\nCONFIRMED: 14.6% efficiency at 8 threads\n"));
}

// Regression: output without a newline was gathered into one line of any size.
#[test]
fn a_line_without_end_is_cut_and_the_tail_is_bounded() {
    use agx_triage::rounds::runner::{MAX_LINE, TAIL_BYTES};
    let s = setup();
    let cfg = script(
        &s,
        "long.sh",
        "head -c 1000000 /dev/zero | tr '\\0' x\necho\necho 'CONFIRMED: 9.5% efficiency'",
    );
    let mut source = FolderSource {
        dir: s.reports.clone(),
        calls: 0,
    };
    let mut longest = 0;
    let mut sink = |_: OutputStream, line: &str| longest = longest.max(line.len());
    let r = run_round(1820, &cfg, &mut source, &mut sink).unwrap();
    assert_eq!(longest, MAX_LINE);
    assert_eq!(r.round.efficiency, Some(9.5));
    assert!(r.output_tail.len() <= TAIL_BYTES);
    assert!(r.output_tail.starts_with('x') && r.output_tail.ends_with("9.5% efficiency\n"));
}

#[test]
fn every_attempt_gets_a_heading_in_the_tail() {
    let s = setup();
    let mut cfg = script(&s, "twice.sh", "echo try; exit 3");
    cfg.max_attempts = 2;
    cfg.retry_on = RetryOn::Fail;
    let (r, _, _) = run(&s, &cfg);
    assert_eq!(
        r.output_tail,
        "--- attempt 1 ---\ntry\n--- attempt 2 ---\ntry\n"
    );
}

#[test]
fn an_interrupted_round_stops_and_says_so() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let s = setup();
    let mut cfg = script(&s, "hang.sh", "sleep 30");
    cfg.max_attempts = 3;
    cfg.retry_on = RetryOn::Fail;
    let flag = Arc::new(AtomicBool::new(false));
    cfg.interrupt = Some(Arc::clone(&flag));
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    let started = std::time::Instant::now();
    let (r, _, _) = run(&s, &cfg);
    setter.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(r.interrupted);
    assert_eq!(
        r.round.attempts.len(),
        1,
        "no attempt after the interruption"
    );
    assert_eq!(r.round.attempts[0].signal, Some(9));
    assert!(r.warnings.contains(&RunWarning::Interrupted(1)));
}
