//! Safe under real use (issue 12): the processes a round runs, absurd numbers, the database
//! opening rules, round conflicts, closed pipes and error messages, through the real binary.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Pids of live (not zombie) processes whose command line contains `needle` as one argument.
fn procs_with_arg(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // A zombie has an empty command line.
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if cmd.split(|&b| b == 0).any(|a| a == needle.as_bytes()) {
                out.push(pid);
            }
        }
    }
    out
}

/// Wait up to `secs` for `f` to hold.
fn wait_for(mut f: impl FnMut() -> bool, secs: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Kill what a failed test left behind, so one failure does not leave sleeps for an hour.
fn reap(needles: &[&str]) {
    for n in needles {
        for pid in procs_with_arg(n) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn has_proc_fs() -> bool {
    Path::new("/proc/self/cmdline").exists()
}

/// `round run` arguments with no crash wait and an empty reports folder.
fn round_run(db: &Path, reports: &Path, extra: &[&str], cmd: &[&str]) -> Output {
    let mut args = vec![
        "round",
        "run",
        "--crash-wait",
        "0",
        "--reports-dir",
        reports.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(cmd);
    run(db, &args)
}

fn rounds_json(db: &Path) -> Vec<serde_json::Value> {
    json(&run(db, &["rounds", "--json"]))
        .as_array()
        .unwrap()
        .clone()
}

// Regression: with `--timeout 2 -- sh -c 'sleep 778 & sleep 779'` both sleeps outlived the round.
#[test]
fn timeout_ends_the_whole_process_group() {
    if !has_proc_fs() {
        eprintln!("skipped: no /proc to look for leftover processes");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let o = round_run(
        &db,
        t.path(),
        &["--round", "1", "--timeout", "1"],
        &["sh", "-c", "sleep 77801 & sleep 77802"],
    );
    let left = wait_for(
        || procs_with_arg("77801").is_empty() && procs_with_arg("77802").is_empty(),
        5,
    );
    reap(&["77801", "77802"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(left, "a sleep outlived the timed-out round");
    let r = rounds_json(&db);
    assert_eq!(r[0]["attempts"][0]["signal"], 9);
}

// Regression: a background child holding the output open outlived the round.
#[test]
fn children_holding_the_output_end_after_the_command_exits() {
    if !has_proc_fs() {
        eprintln!("skipped: no /proc");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let o = round_run(
        &db,
        t.path(),
        &["--round", "2"],
        &["sh", "-c", "sleep 77803 & echo started"],
    );
    let gone = wait_for(|| procs_with_arg("77803").is_empty(), 5);
    reap(&["77803"]);
    assert!(gone, "the background sleep outlived the round");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("started"));
    assert!(stderr(&o).contains("output still open"), "{}", stderr(&o));
}

// Regression: Ctrl-C killed agx-triage and left the round's processes running.
#[test]
fn ctrl_c_ends_the_attempt_and_stores_nothing() {
    if !has_proc_fs() {
        eprintln!("skipped: no /proc");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mut child: Child = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "round",
            "run",
            "--round",
            "3",
            "--crash-wait",
            "0",
            "--reports-dir",
            t.path().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "sleep 77805 & sleep 77806",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = wait_for(|| !procs_with_arg("77806").is_empty(), 20);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let finished = wait_for(|| child.try_wait().unwrap().is_some(), 20);
    if !finished {
        let _ = child.kill();
    }
    let o = child.wait_with_output().unwrap();
    let gone = wait_for(
        || procs_with_arg("77805").is_empty() && procs_with_arg("77806").is_empty(),
        5,
    );
    reap(&["77805", "77806"]);
    assert!(started && finished);
    assert!(gone, "a sleep outlived the interrupted round");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert!(
        rounds_json(&db).is_empty(),
        "an interrupted round is not stored"
    );
}

/// Peak resident size of the largest waited-for child so far, in bytes.
fn children_max_rss() -> u64 {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    // Linux reports kilobytes, macOS bytes.
    let v = u.max_rss().max(0) as u64;
    if cfg!(target_os = "macos") {
        v
    } else {
        v * 1024
    }
}

// Regression: 100 MB of output followed by the efficiency line stored `efficiency = None`, lost
// 85 MB of the output and peaked at 2.1 GB; `yes err >&2` grew without bound.
#[test]
fn a_hundred_megabytes_of_output_keep_the_figure_the_tail_and_flat_memory() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    // 100 MB on stderr in 101-byte lines, one 200 kB line without a newline, then the figure,
    // all on stderr (the order of lines across stdout and stderr is not kept).
    let script = "{ yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c 100000000; \
                  head -c 200000 /dev/zero | tr '\\0' z; echo; \
                  echo 'CONFIRMED: 14.6% efficiency at 8 threads'; echo the-last-line; } >&2";
    let o = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "round",
            "run",
            "--round",
            "4",
            "--crash-wait",
            "0",
            "--reports-dir",
            t.path().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(o.code(), Some(0));
    let rss = children_max_rss();
    let r = rounds_json(&db);
    assert_eq!(r[0]["efficiency"], 14.6);
    let tail = r[0]["output_tail"].as_str().unwrap();
    assert!(tail.ends_with("CONFIRMED: 14.6% efficiency at 8 threads\nthe-last-line\n"));
    assert!(tail.len() <= 64 * 1024 + 1, "{}", tail.len());
    // A sanity bound, far above a streaming runner (~20 MB) and far below holding the output.
    assert!(rss < 400 << 20, "peak RSS of a child {} MB", rss >> 20);
}

#[test]
fn absurd_numbers_are_argument_errors_not_panics() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    create_db(&db);
    let dir = t.path().to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "round",
            "run",
            "--round",
            "1",
            "--timeout",
            "1e20",
            "--",
            "true",
        ],
        vec![
            "round",
            "run",
            "--round",
            "1",
            "--timeout",
            "nan",
            "--",
            "true",
        ],
        vec![
            "round",
            "run",
            "--round",
            "1",
            "--timeout",
            "inf",
            "--",
            "true",
        ],
        vec![
            "round",
            "run",
            "--round",
            "1",
            "--timeout",
            "-1",
            "--",
            "true",
        ],
        vec![
            "round",
            "run",
            "--round",
            "1",
            "--crash-wait",
            "nan",
            "--",
            "true",
        ],
        vec![
            "round",
            "run",
            "--round",
            "1",
            "--crash-wait",
            "1e300",
            "--",
            "true",
        ],
        vec!["reports", "--since", "99999999999999d"],
        vec!["reports", "--since", "15250285w"],
        vec!["buckets", "--since", "99999999999999d"],
        vec!["ingest", "--watch", "--interval", "inf", dir],
        vec!["ingest", "--watch", "--interval", "nan", dir],
    ];
    for args in cases {
        let o = run(&db, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
    assert!(rounds_json(&db).is_empty(), "nothing ran");
}

// Regression: `--timeout nan` killed the attempt at once and counted a crash.
#[test]
fn timeout_nan_never_runs_the_command() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let marker = t.path().join("ran");
    let o = round_run(
        &db,
        t.path(),
        &["--round", "1", "--timeout", "nan"],
        &["touch", marker.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!marker.exists());
}

// Regression: a report over rounds whose efficiency is ±1e308 exited 101.
#[test]
fn huge_stored_efficiencies_are_rendered() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let file = t.path().join("r.jsonl");
    let mut lines = String::new();
    for (n, e) in [
        (1, "1e308"),
        (2, "-1e308"),
        (3, "1.7976931348623157e308"),
        (4, "5"),
    ] {
        lines.push_str(&format!(
            "{{\"round\": {n}, \"efficiency\": {e}, \"attempts\": [{{\"exit_code\": 0}}]}}\n"
        ));
    }
    for (n, e) in [(11, "-1.7976931348623157e308"), (12, "1e308")] {
        lines.push_str(&format!(
            "{{\"round\": {n}, \"fix\": \"v1\", \"efficiency\": {e}, \"attempts\": [{{\"signal\": \"SIGSEGV\"}}, {{\"exit_code\": 0}}]}}\n"
        ));
    }
    std::fs::write(&file, lines).unwrap();
    let o = run(&db, &["round", "import", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = t.path().join("w");
    for args in [
        vec!["rounds"],
        vec!["compare", "--a", "rounds:1-4", "--b", "rounds:11-12"],
        vec![
            "compare",
            "--a",
            "rounds:1-4",
            "--b",
            "rounds:11-12",
            "--json",
        ],
        vec!["report", "--rounds", "11-12", "--against", "1-4"],
        vec!["report", "--rounds", "1-4", "--format", "json"],
        vec!["report", "--rounds", "1-12", "--out", out.to_str().unwrap()],
    ] {
        let o = run(&db, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
}

/// A small SQLite database of another program.
fn foreign_db(path: &Path) -> Vec<u8> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);
         INSERT INTO notes (text) VALUES ('my own data');",
    )
    .unwrap();
    drop(conn);
    std::fs::read(path).unwrap()
}

// Regression: even `reports` on another program's SQLite file added 15 tables and switched it
// to WAL.
#[test]
fn another_programs_sqlite_file_is_refused_and_left_unchanged() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("other.sqlite");
    let before = foreign_db(&db);
    let rounds = t.path().join("r.jsonl");
    std::fs::write(
        &rounds,
        "{\"round\": 1, \"attempts\": [{\"exit_code\": 0}]}\n",
    )
    .unwrap();
    let reports = t.path().join("reports");
    write_reports(&reports, "r", 0, 2, 0);
    for args in [
        vec!["reports"],
        vec!["rounds", "--json"],
        vec!["ingest", reports.to_str().unwrap()],
        vec!["round", "import", rounds.to_str().unwrap()],
        vec!["round", "record", "--round", "1", "--attempt", "exit=0"],
        vec!["rebucket"],
    ] {
        let o = run(&db, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("not an agx-triage database"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(std::fs::read(&db).unwrap() == before, "{args:?} changed it");
        assert!(!t.path().join("other.sqlite-wal").exists());
    }
}

#[test]
fn agx_databases_are_marked_and_older_unmarked_ones_adopted() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    create_db(&db);
    let id = |p: &Path| -> i32 {
        rusqlite::Connection::open(p)
            .unwrap()
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(id(&db), 0x4147_5854);
    // A database made before the mark: same tables, application_id 0.
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "application_id", 0)
        .unwrap();
    let o = run(&db, &["reports", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(
        &db,
        &["round", "record", "--round", "1", "--attempt", "exit=0"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(id(&db), 0x4147_5854, "marked on its next write");
}

// Regression: read commands created the folders and an empty database.
#[test]
fn read_commands_never_create_and_write_commands_only_what_they_may() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("no/such/dir/x.db");
    let here = t.path().join("x.db");
    for db in [&missing, &here] {
        for args in [
            vec!["reports"],
            vec!["buckets"],
            vec!["rounds"],
            vec!["show", "1"],
            vec!["compare", "--a", "native", "--b", "fix:v1"],
            vec!["report", "--rounds", "1-2"],
            vec!["fix", "list"],
            // Regression: `symbols list` opened the database for writing and created it.
            vec!["symbols", "list"],
        ] {
            let o = run(db, &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains("no database at"), "{}", stderr(&o));
        }
    }
    assert!(!t.path().join("no").exists());
    assert!(!here.exists());

    // An explicit --db: the file is created, a missing folder is not.
    let o = run(
        &missing,
        &["round", "record", "--round", "1", "--attempt", "exit=0"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!t.path().join("no").exists());
    let o = run(
        &here,
        &["round", "record", "--round", "1", "--attempt", "exit=0"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(here.is_file());

    // The default database: created with its folder by a write command only.
    let home = t.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let with_home = |args: &[&str]| {
        bin()
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = with_home(&["reports"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!home.join("data").exists());
    let o = with_home(&["round", "record", "--round", "1", "--attempt", "exit=0"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = with_home(&["rounds", "--json"]);
    assert_eq!(json(&o).as_array().unwrap().len(), 1);
}

#[test]
fn a_database_in_a_read_only_folder_can_be_read() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("t.db");
    let o = run(
        &db,
        &["round", "record", "--round", "7", "--attempt", "exit=0"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root may write anywhere: read as `nobody` then, when that is possible.
    // A file we created belongs to our effective user.
    let as_root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&db).unwrap()) == 0;
    let runuser = Path::new("/usr/sbin/runuser");
    let o = if as_root && runuser.exists() {
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::process::Command::new(runuser)
            .args(["-u", "nobody", "--"])
            .arg(env!("CARGO_BIN_EXE_agx-triage"))
            .arg("--db")
            .arg(&db)
            .args(["rounds", "--json"])
            .env_remove("AGX_TRIAGE_DB")
            .output()
            .unwrap()
    } else {
        if as_root {
            eprintln!("note: running as root without runuser; the folder is not really read-only");
        }
        run(&db, &["rounds", "--json"])
    };
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)[0]["round"], 7);
}

// Regression: two ingests on a new file failed about two times in three with "database is
// locked" while the schema was being created.
#[test]
fn two_commands_on_a_new_database_at_once_both_succeed() {
    let t = tempfile::tempdir().unwrap();
    let reports = t.path().join("reports");
    write_reports(&reports, "r", 0, 3, 0);
    for i in 0..8 {
        let db = t.path().join(format!("new{i}.db"));
        let spawn = |args: &[&str]| {
            bin()
                .arg("--db")
                .arg(&db)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let a = spawn(&["ingest", "--json", reports.to_str().unwrap()]);
        let b = spawn(&["ingest", "--json", reports.to_str().unwrap()]);
        let c = spawn(&["round", "record", "--round", "1", "--attempt", "exit=0"]);
        for child in [a, b, c] {
            let o = child.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(0), "try {i}: {}", stderr(&o));
        }
        let o = run(&db, &["reports", "--json"]);
        assert_eq!(json(&o).as_array().unwrap().len(), 3);
    }
}

fn write_rounds(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn round_line(n: i64, efficiency: f64, note: &str) -> String {
    format!(
        "{{\"round\": {n}, \"efficiency\": {efficiency}, \"config\": {{\"note\": \"{note}\"}}, \
         \"started_at\": \"2026-11-02T10:00:00.123456Z\", \
         \"attempts\": [{{\"exit_code\": 0, \"crash_reports\": [\"abc-1\", \"ABC-1\"]}}]}}"
    )
}

// Regression: `round import` of a round number already stored with other content replaced it
// in silence (the demo replaced a user's round 1825 and its note).
#[test]
fn imports_and_records_never_replace_a_round_in_silence() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mine = t.path().join("mine.jsonl");
    write_rounds(&mine, &[round_line(1825, 12.5, "my own round")]);
    let o = run(&db, &["round", "import", "--json", mine.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["imported"], 1);

    // The same file again: identical, a no-op.
    let o = run(&db, &["round", "import", "--json", mine.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        (json(&o)["imported"].clone(), json(&o)["unchanged"].clone()),
        (0.into(), 1.into())
    );

    // A different round 1825 on line 2: a conflict on that line; the good line 1 is imported.
    let other = t.path().join("other.jsonl");
    write_rounds(
        &other,
        &[round_line(1, 3.0, "new"), round_line(1825, 14.6, "sample")],
    );
    let o = run(&db, &["round", "import", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("other.jsonl:2: round 1825 is already stored"),
        "{}",
        stderr(&o)
    );
    let stored = |n: i64| -> serde_json::Value {
        rounds_json(&db)
            .into_iter()
            .find(|r| r["round"] == n)
            .unwrap_or(serde_json::Value::Null)
    };
    assert_eq!(stored(1825)["config"]["note"], "my own round");
    assert_eq!(stored(1)["efficiency"], 3.0);

    // `round record` and `round run` on the stored number: refused, the round kept.
    let o = run(
        &db,
        &[
            "round",
            "record",
            "--round",
            "1825",
            "--attempt",
            "signal=SIGSEGV",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already stored"), "{}", stderr(&o));
    let marker = t.path().join("ran");
    let o = round_run(
        &db,
        t.path(),
        &["--round", "1825"],
        &["touch", marker.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!marker.exists(), "refused before running");
    assert_eq!(stored(1825)["config"]["note"], "my own round");

    // --replace does replace.
    let o = run(
        &db,
        &["round", "import", "--replace", other.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stored(1825)["config"]["note"], "sample");
    let o = run(
        &db,
        &[
            "round",
            "record",
            "--round",
            "1825",
            "--replace",
            "--attempt",
            "signal=SIGSEGV",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stored(1825)["outcome"], "fail");
    // Recording the same thing again is a no-op.
    let o = run(
        &db,
        &[
            "round",
            "record",
            "--round",
            "1825",
            "--attempt",
            "signal=SIGSEGV",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

// Regression: a full disk in `round import` stored 4 of 70 rounds, exited 2 and said nothing.
#[test]
fn a_failed_write_in_import_says_how_far_it_got() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    create_db(&db);
    // The fifth round cannot be written, the way a full disk fails a write.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER full BEFORE INSERT ON rounds WHEN NEW.number = 5
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    let file = t.path().join("r.jsonl");
    let lines: Vec<String> = (1..=10)
        .map(|n| format!("{{\"round\": {n}, \"attempts\": [{{\"exit_code\": 0}}]}}"))
        .collect();
    write_rounds(&file, &lines);
    let o = run(&db, &["round", "import", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("r.jsonl:5:"), "{err}");
    assert!(err.contains("after 4 of 10"), "{err}");
    assert!(err.contains("database or disk is full"), "{err}");
    assert_eq!(rounds_json(&db).len(), 4);
}

/// Run with stdout a pipe whose reading end is already closed: every write fails with EPIPE.
fn run_into_closed_pipe(db: &Path, args: &[&str]) -> Output {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

// Regression: `show ID --json | head -1`, `rounds --json | head -1` and `report --format json`
// exited 2 on the closed pipe.
#[test]
fn a_closed_pipe_is_not_an_error_for_any_command() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let reports = t.path().join("reports");
    write_reports(&reports, "r", 0, 3, 0);
    assert!(run(&db, &["ingest", reports.to_str().unwrap()])
        .status
        .success());
    let file = t.path().join("r.jsonl");
    let lines: Vec<String> = (1..=20)
        .map(|n| {
            let a = if n % 3 == 0 { "{\"signal\": \"SIGSEGV\"}, " } else { "" };
            format!("{{\"round\": {n}, \"efficiency\": 14.{n}, \"attempts\": [{a}{{\"exit_code\": 0}}]}}")
        })
        .collect();
    write_rounds(&file, &lines);
    assert!(run(&db, &["round", "import", file.to_str().unwrap()])
        .status
        .success());
    for args in [
        vec!["reports"],
        vec!["reports", "--json"],
        vec!["show", "1"],
        vec!["show", "1", "--json"],
        vec!["buckets"],
        vec!["buckets", "--json"],
        vec!["rounds"],
        vec!["rounds", "--json"],
        vec!["compare", "--a", "rounds:1-10", "--b", "rounds:11-20"],
        vec![
            "compare",
            "--a",
            "rounds:1-10",
            "--b",
            "rounds:11-20",
            "--json",
        ],
        vec!["report", "--rounds", "1-20"],
        vec!["report", "--rounds", "1-20", "--format", "json"],
        vec!["fix", "list", "--json"],
        vec!["round", "import", "--json", file.to_str().unwrap()],
        vec!["completions", "bash"],
    ] {
        let o = run_into_closed_pipe(&db, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
    }
}

// Regression: "File exists (os error 17): File exists (os error 17)".
#[test]
fn error_messages_say_each_thing_once() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let file = t.path().join("r.jsonl");
    write_rounds(
        &file,
        &["{\"round\": 1, \"attempts\": [{\"exit_code\": 0}]}".to_string()],
    );
    assert!(run(&db, &["round", "import", file.to_str().unwrap()])
        .status
        .success());
    let not_a_dir = t.path().join("plain-file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let o = run(
        &db,
        &[
            "report",
            "--rounds",
            "1",
            "--out",
            not_a_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    for word in ["File exists", "Not a directory", "os error"] {
        assert!(err.matches(word).count() <= 1, "{err}");
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// Regression: the demo imported its rounds and fictitious reports into the user's database
// and replaced the user's round 1825.
#[test]
fn the_demo_runs_twice_and_leaves_the_users_database_unchanged() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no bash");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let data = t.path().join("data");
    std::fs::create_dir_all(&home).unwrap();
    let with_env = |c: &mut std::process::Command| {
        c.env("HOME", &home)
            .env("XDG_DATA_HOME", &data)
            .env_remove("AGX_TRIAGE_DB");
    };
    // The user's own database, at the default place, with their own round 1825.
    let mine = t.path().join("mine.jsonl");
    write_rounds(&mine, &[round_line(1825, 12.5, "my own round")]);
    let mut c = bin();
    with_env(&mut c);
    let o = c
        .args(["round", "import", mine.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let user_db = data.join("agx-triage/agx-triage.db");
    assert!(user_db.is_file());
    let dump = |p: &Path| -> (Vec<u8>, String) {
        let mut c = bin();
        with_env(&mut c);
        let rounds = c
            .arg("--db")
            .arg(p)
            .args(["rounds", "--json"])
            .output()
            .unwrap();
        let mut c = bin();
        with_env(&mut c);
        let reports = c
            .arg("--db")
            .arg(p)
            .args(["reports", "--json"])
            .output()
            .unwrap();
        (rounds.stdout, stdout(&reports))
    };
    let before = dump(&user_db);
    for run_no in 1..=2 {
        let mut c = std::process::Command::new("bash");
        with_env(&mut c);
        let o = c
            .arg(repo().join("samples/demo.sh"))
            .env("AGX_TRIAGE_BIN", env!("CARGO_BIN_EXE_agx-triage"))
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "demo run {run_no}:\n{}\n{}",
            stdout(&o),
            stderr(&o)
        );
        let demo_db = data.join("agx-triage/demo/agx-triage-demo.db");
        assert!(
            stdout(&o).contains(demo_db.to_str().unwrap()),
            "the demo prints its database: {}",
            stdout(&o)
        );
        assert!(demo_db.is_file());
        assert_eq!(
            dump(&user_db),
            before,
            "demo run {run_no} changed the user's database"
        );
    }
}

// Regression: a planted `DIR/report.md -> ../victim.txt` got the writeup written into
// `victim.txt`.
#[test]
fn report_out_replaces_links_in_the_folder_instead_of_writing_through_them() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let file = t.path().join("r.jsonl");
    write_rounds(
        &file,
        &["{\"round\": 1, \"efficiency\": 14.6, \"attempts\": [{\"exit_code\": 0}]}".to_string()],
    );
    assert!(run(&db, &["round", "import", file.to_str().unwrap()])
        .status
        .success());
    let out = t.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = t.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink("../victim.txt", out.join("report.md")).unwrap();
    std::os::unix::fs::symlink(&victim, out.join("report.json")).unwrap();
    let o = run(
        &db,
        &["report", "--rounds", "1", "--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    for name in ["report.md", "report.json"] {
        let meta = std::fs::symlink_metadata(out.join(name)).unwrap();
        assert!(meta.file_type().is_file(), "{name} is a file now");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
}

/// Run with a limit: a command that hangs is killed and the test fails instead of hanging.
fn run_with_limit(db: &Path, args: &[&str], secs: u64) -> Output {
    let mut child = bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if !wait_for(|| child.try_wait().unwrap().is_some(), secs) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{args:?} hung");
    }
    child.wait_with_output().unwrap()
}

// Regression: a FIFO or device named on the command line was skipped in silence ("scanned 0",
// exit 0); `--rules` on a FIFO hung and on /dev/zero grew to 7.8 GB.
#[test]
fn fifos_and_devices_named_on_the_command_line_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    create_db(&db);
    let fifo = t.path().join("pipe.ips");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let reports = t.path().join("reports");
    write_reports(&reports, "r", 0, 1, 0);
    let mut specials = vec!["/dev/null".to_string()];
    if made {
        specials.push(fifo.display().to_string());
    }
    for special in &specials {
        let o = run_with_limit(
            &db,
            &["ingest", "--json", special, reports.to_str().unwrap()],
            30,
        );
        assert_eq!(o.status.code(), Some(1), "{special}: {}", stderr(&o));
        let s = json(&o);
        assert_eq!(s["failed"][0]["path"], special.as_str(), "{s}");
        assert!(
            s["failed"][0]["error"]
                .as_str()
                .unwrap()
                .contains("not a regular file"),
            "{s}"
        );
        assert_eq!(
            s["new"].as_u64().unwrap() + s["duplicates"].as_u64().unwrap(),
            1,
            "{s}"
        );
    }
    let big = t.path().join("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let mut rules = vec!["/dev/zero".to_string(), big.display().to_string()];
    if made {
        rules.push(fifo.display().to_string());
    }
    for r in &rules {
        let o = run_with_limit(
            &db,
            &["--rules", r, "ingest", reports.to_str().unwrap()],
            30,
        );
        assert_eq!(o.status.code(), Some(2), "{r}: {}", stderr(&o));
        assert!(stderr(&o).contains("rules file"), "{}", stderr(&o));
    }
    let o = run_with_limit(&db, &["round", "import", "/dev/zero"], 30);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

// Regression: a database of an older schema that the user may only read failed with SQLite's
// bare "attempt to write a readonly database" halfway through the upgrade; now it says what
// is needed. Needs a user other than root (root writes any file): runs under `runuser` as
// `nobody` when the test runs as root, else as the user (who cannot write a 0444 file).
#[test]
fn an_old_database_that_can_only_be_read_says_it_needs_one_writable_open() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = t.path().join("old.db");
    let o = run(
        &db,
        &["round", "record", "--round", "7", "--attempt", "exit=0"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    {
        // Back to schema 8: the columns migration 9 renamed, and its version.
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "ALTER TABLE files RENAME COLUMN hash TO sha256;
             ALTER TABLE reports RENAME COLUMN file_hash TO file_sha256;
             ALTER TABLE sources RENAME COLUMN file_hash TO file_sha256;
             PRAGMA user_version = 8;",
        )
        .unwrap();
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let as_root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&db).unwrap()) == 0;
    let runuser = Path::new("/usr/sbin/runuser");
    if as_root && !runuser.exists() {
        eprintln!("skipped: running as root without runuser (root may write any file)");
        return;
    }
    let mut cmd = if as_root {
        let mut c = std::process::Command::new(runuser);
        c.args(["-u", "nobody", "--"])
            .arg(env!("CARGO_BIN_EXE_agx-triage"));
        c
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_agx-triage"))
    };
    let o = cmd
        .arg("--db")
        .arg(&db)
        .arg("rounds")
        .env_remove("AGX_TRIAGE_DB")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("schema version 8"), "{e}");
    assert!(e.contains("open it once with write access"), "{e}");
}
