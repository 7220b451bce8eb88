//! The fix handshake through the binary (issue 18, "Proof the fix was loaded, every round").
//!
//! `round run --fix NAME` / `--dylib PATH` sets `AGX_FIX_HANDSHAKE` for each attempt; the
//! stand-in commands here are `sh` scripts that play the fix dylib's part: they write a right
//! line, a line of another build, none, a disabled one, one that hooked nothing, or junk. The
//! round is stored with `fix_confirmed`, shown by `rounds`, and rounds that never confirmed
//! are left out of `compare`, `report` and `buckets --fix` unless `--include-unconfirmed`.
//!
//! The fix builds are small Mach-O dylibs written here (a header, `LC_UUID` and `LC_ID_DYLIB`:
//! all `fix inspect` and `fix add` read), so these tests always run; one test also uses the
//! real cross-built fix (`make -C fix`) and skips without clang/lld unless `CI` is set.
#![cfg(unix)]

mod common;
#[path = "common/fix_build.rs"]
mod fix_build;

use std::path::{Path, PathBuf};
use std::process::Output;

use agx_synth::Image;
use common::*;

/// The slice UUID of the build registered as `v7.7`, as the dylib writes it (upper case).
const OURS: &str = "5C1D0E2A-1111-4222-8333-444455556666";
/// Another build's UUID.
const OTHER: &str = "DEADBEEF-0000-4000-8000-000000000000";
const CLASSES: &str = r#"["AGXG16XFamilyComputeContext","AGXG16XFamilyBlitContext"]"#;

/// A thin arm64 `MH_DYLIB` with one `LC_UUID` and an `LC_ID_DYLIB`: the smallest file
/// `fix inspect` accepts as a fix build.
fn thin_dylib(uuid: &str, install_name: &str) -> Vec<u8> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let uuid_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut name = install_name.as_bytes().to_vec();
    name.push(0);
    while !(24 + name.len()).is_multiple_of(8) {
        name.push(0);
    }
    let u32le = |v: u32| v.to_le_bytes();
    let mut cmds = Vec::new();
    // LC_UUID
    cmds.extend(u32le(0x1b));
    cmds.extend(u32le(24));
    cmds.extend(&uuid_bytes);
    // LC_ID_DYLIB: name offset 24, timestamp, current 2.4.0, compatibility 1.0.0
    cmds.extend(u32le(0xd));
    cmds.extend(u32le(24 + name.len() as u32));
    for v in [24, 2, 0x0002_0400, 0x0001_0000] {
        cmds.extend(u32le(v));
    }
    cmds.extend(&name);
    let mut out = Vec::new();
    // mach_header_64: magic, cputype arm64, subtype, MH_DYLIB, ncmds, sizeofcmds, flags, reserved
    for v in [0xfeed_facf, 0x0100_000c, 0, 6, 2, cmds.len() as u32, 0, 0] {
        out.extend(u32le(v));
    }
    out.extend(cmds);
    out
}

struct Env {
    tmp: tempfile::TempDir,
    db: PathBuf,
    reports: PathBuf,
    /// The `v7.7` build (UUID [`OURS`]), registered.
    dylib: PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let reports = tmp.path().join("DiagnosticReports");
    std::fs::create_dir_all(&reports).unwrap();
    let dylib = tmp.path().join("libagx_fix_v7_7.dylib");
    std::fs::write(&dylib, thin_dylib(OURS, "@rpath/libagx_fix_v7_7.dylib")).unwrap();
    let o = run(
        &db,
        &["fix", "add", dylib.to_str().unwrap(), "--name", "v7.7"],
    );
    assert!(o.status.success(), "fix add: {}", stderr(&o));
    Env {
        tmp,
        db,
        reports,
        dylib,
    }
}

/// A handshake line as the dylib writes it (without a pid: the shell adds none).
fn line(uuid: &str, classes: &str, disabled: bool) -> String {
    format!(
        r#"{{"version":"7.7","uuid":"{uuid}","pid":4242,"hooked_classes":{classes},"mode":"per-encoder","disabled":{disabled}}}"#
    )
}

/// Shell that appends `text` (no single quotes in it) to the handshake file.
fn append(text: &str) -> String {
    format!("printf '%s\\n' '{text}' >> \"$AGX_FIX_HANDSHAKE\"")
}

/// `round run --round N <how...> -- sh -c BODY`, quickly (no crash wait), with `--json`. The
/// script's own output goes to stderr so stdout is the round's JSON.
fn round_run(e: &Env, n: u32, how: &[&str], body: &str) -> (Output, serde_json::Value) {
    let n = n.to_string();
    let mut args = vec![
        "round",
        "run",
        "--round",
        &n,
        "--crash-wait",
        "0",
        "--reports-dir",
        e.reports.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(how);
    args.extend_from_slice(&["--", "sh", "-c", body]);
    let o = bin()
        .env_remove("AGX_FIX_HANDSHAKE")
        .env_remove("DYLD_INSERT_LIBRARIES")
        .arg("--db")
        .arg(&e.db)
        .args(&args)
        .output()
        .unwrap();
    let v = json(&o);
    (o, v)
}

fn stored(db: &Path, round: i64) -> serde_json::Value {
    let all = json(&run(db, &["rounds", "--json"]));
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["round"] == round)
        .unwrap_or_else(|| panic!("round {round} not stored: {all}"))
        .clone()
}

#[test]
fn a_right_handshake_confirms_the_registered_fix() {
    let e = env();
    // The script checks what the runner gives it: the fix injected, a fresh empty file.
    let body = format!(
        "case \"$DYLD_INSERT_LIBRARIES\" in *libagx_fix_v7_7.dylib) ;; *) exit 3;; esac\n\
         [ -f \"$AGX_FIX_HANDSHAKE\" ] && [ ! -s \"$AGX_FIX_HANDSHAKE\" ] || exit 4\n{}",
        append(&line(OURS, CLASSES, false))
    );
    let (o, r) = round_run(&e, 1, &["--fix", "v7.7"], &body);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(r["outcome"], "raw-pass", "{r}");
    assert_eq!(r["fix"], "v7.7");
    assert_eq!(r["fix_confirmed"], true, "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(r["fix_checks"][0]["status"], "confirmed", "{r}");
    assert_eq!(r["fix_checks"][0]["uuid"], OURS);
    assert_eq!(r["fix_checks"][0]["hooked_classes"], 2);
    // The locking mode the fix reported is kept with the round's configuration.
    assert_eq!(stored(&e.db, 1)["config"]["fix_mode"], "per-encoder");
    assert_eq!(stored(&e.db, 1)["fix_confirmed"], true);
    let table = stdout(&run(&e.db, &["rounds"]));
    assert!(table.contains("fix loaded"), "{table}");
    assert!(table.contains("yes"), "{table}");
}

// Regression: a "v2.4 round" whose program dropped DYLD_INSERT_LIBRARIES (SIP, hardened
// runtime) was stored as a v2.4 round like any other.
#[test]
fn each_failed_handshake_is_unconfirmed_with_its_own_warning() {
    let e = env();
    let cases: Vec<(String, &str)> = vec![
        (
            String::new(),
            "the fix never confirmed it loaded (no handshake line",
        ),
        (
            append(&line(OTHER, CLASSES, false)),
            "another build of the fix loaded (UUID DEADBEEF-0000-4000-8000-000000000000)",
        ),
        (
            append(&line(OURS, CLASSES, true)),
            "the fix loaded but was disabled (pid 4242)",
        ),
        (
            append(&line(OURS, "[]", false)),
            "the fix loaded but hooked no class (pid 4242): it protected nothing",
        ),
        (
            format!(
                "{}\n{}\nhead -c 3000 /dev/urandom >> \"$AGX_FIX_HANDSHAKE\"",
                append("not json"),
                append(&format!(
                    "{{\"uuid\":\"{OURS}\",\"hooked_classes\":\"all\"}}"
                ))
            ),
            "the fix never confirmed it loaded",
        ),
    ];
    for (i, (body, warning)) in cases.iter().enumerate() {
        let n = 10 + i as u32;
        let (o, r) = round_run(&e, n, &["--fix", "v7.7"], &format!("{body}\nexit 0"));
        // The command passed: the outcome is untouched, only the fix is unconfirmed.
        assert_eq!(o.status.code(), Some(0), "case {i}: {}", stderr(&o));
        assert_eq!(r["outcome"], "raw-pass", "case {i}");
        assert_eq!(r["fix_confirmed"], false, "case {i}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("agx-triage: warning: attempt 1: {warning}")),
            "case {i}: want {warning:?} in\n{err}"
        );
        assert_eq!(stored(&e.db, n as i64)["fix_confirmed"], false);
    }
    // Junk was reported, not fatal.
    let table = stdout(&run(&e.db, &["rounds"]));
    assert!(table.contains("NO"), "{table}");
}

#[test]
fn junk_beside_a_right_line_still_confirms_with_a_note() {
    let e = env();
    let body = format!(
        "{}\n{}\n{}",
        append("{\"uuid\":"),
        append(&line(OTHER, CLASSES, false)),
        append(&line(OURS, CLASSES, false))
    );
    let (o, r) = round_run(&e, 1, &["--fix", "v7.7"], &body);
    assert_eq!(r["fix_confirmed"], true, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("fix handshake file: line 1: skipped"),
        "{}",
        stderr(&o)
    );
}

// Adversarial: the command swaps the handshake file for a link to a confirming file, or for a
// FIFO. Neither is followed or opened (a FIFO would hang the runner).
#[test]
fn a_link_or_fifo_in_place_of_the_file_is_not_read() {
    let e = env();
    let good = e.tmp.path().join("good.jsonl");
    std::fs::write(&good, format!("{}\n", line(OURS, CLASSES, false))).unwrap();
    let body = format!(
        "rm \"$AGX_FIX_HANDSHAKE\" && ln -s '{}' \"$AGX_FIX_HANDSHAKE\"",
        good.display()
    );
    let (o, r) = round_run(&e, 1, &["--fix", "v7.7"], &body);
    assert_eq!(r["fix_confirmed"], false, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));

    let body = "rm \"$AGX_FIX_HANDSHAKE\" && mkfifo \"$AGX_FIX_HANDSHAKE\"";
    let (o, r) = round_run(&e, 2, &["--fix", "v7.7"], body);
    assert_eq!(r["fix_confirmed"], false, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
}

#[test]
fn dylib_path_is_checked_against_the_files_own_uuids() {
    let e = env();
    // An unregistered build: its UUIDs come from the file itself.
    let other = e.tmp.path().join("libagx_fix_v8_0.dylib");
    std::fs::write(&other, thin_dylib(OTHER, "@rpath/libagx_fix_v8_0.dylib")).unwrap();
    let p = other.to_str().unwrap();
    let (o, r) = round_run(
        &e,
        1,
        &["--dylib", p],
        &append(&line(OTHER, CLASSES, false)),
    );
    assert_eq!(r["fix"], "v8.0");
    assert_eq!(r["fix_confirmed"], true, "{}", stderr(&o));
    // The registered v7.7 loaded instead of the file given: another build.
    let (o, r) = round_run(&e, 2, &["--dylib", p], &append(&line(OURS, CLASSES, false)));
    assert_eq!(r["fix_confirmed"], false);
    assert!(
        stderr(&o).contains("another build of the fix loaded (UUID 5C1D0E2A-"),
        "{}",
        stderr(&o)
    );
    // The registered file given by path is named after its registration.
    let (_, r) = round_run(
        &e,
        3,
        &["--dylib", e.dylib.to_str().unwrap()],
        &append(&line(OURS, CLASSES, false)),
    );
    assert_eq!(
        (&r["fix"], &r["fix_confirmed"]),
        (&"v7.7".into(), &true.into())
    );
}

// A build rebuilt in place after `fix add` is another build: its handshake does not confirm
// the registered one, and the runner says why before the round runs.
#[test]
fn a_registered_fix_rebuilt_in_place_does_not_confirm() {
    let e = env();
    std::fs::write(&e.dylib, thin_dylib(OTHER, "@rpath/libagx_fix_v7_7.dylib")).unwrap();
    let (o, r) = round_run(
        &e,
        1,
        &["--fix", "v7.7"],
        &append(&line(OTHER, CLASSES, false)),
    );
    assert_eq!(r["fix_confirmed"], false);
    let err = stderr(&o);
    assert!(
        err.contains("is no longer the build registered as v7.7 (its UUIDs changed)"),
        "{err}"
    );
    assert!(err.contains("another build of the fix loaded"), "{err}");

    // Deleted since: said before the run, and nothing confirms.
    std::fs::remove_file(&e.dylib).unwrap();
    let (o, r) = round_run(&e, 2, &["--fix", "v7.7"], "exit 0");
    assert_eq!(r["fix_confirmed"], false);
    assert!(
        stderr(&o).contains("the fix will probably not load"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_attempt_gets_its_own_file_and_must_confirm() {
    let e = env();
    // Attempt 1 confirms and crashes (SIGSEGV), attempt 2 passes without a handshake: the
    // eventual pass may have run without the fix, so the round is unconfirmed.
    let count = e.tmp.path().join("count");
    let paths = e.tmp.path().join("paths");
    let body = format!(
        "ulimit -c 0\necho \"$AGX_FIX_HANDSHAKE\" >> '{paths}'\n\
         if [ -e '{count}' ]; then exit 0; fi\ntouch '{count}'\n{}\nkill -SEGV $$",
        append(&line(OURS, CLASSES, false)),
        paths = paths.display(),
        count = count.display()
    );
    let (o, r) = round_run(&e, 1, &["--fix", "v7.7", "--max-attempts", "3"], &body);
    assert_eq!(r["outcome"], "eventual-pass", "{}", stderr(&o));
    assert_eq!(r["fix_confirmed"], false);
    assert!(
        stderr(&o).contains("attempt 2: the fix never confirmed it loaded"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("attempt 1: the fix"), "{}", stderr(&o));
    let seen = std::fs::read_to_string(&paths).unwrap();
    let seen: Vec<&str> = seen.lines().collect();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1], "a fresh file per attempt");
    // Both files were in one private folder that is gone after the run.
    assert!(!Path::new(seen[0]).exists());

    // Both attempts confirm: confirmed.
    std::fs::remove_file(&count).unwrap();
    let body = body.replace(
        "then exit 0; fi",
        &format!("then {}; exit 0; fi", append(&line(OURS, CLASSES, false))),
    );
    let (o, r) = round_run(&e, 2, &["--fix", "v7.7", "--max-attempts", "3"], &body);
    assert_eq!(r["outcome"], "eventual-pass", "{}", stderr(&o));
    assert_eq!(r["fix_confirmed"], true, "{}", stderr(&o));
}

#[test]
fn a_native_round_has_nothing_to_confirm() {
    let e = env();
    let (o, r) = round_run(&e, 1, &[], "[ -z \"$AGX_FIX_HANDSHAKE\" ] || exit 5");
    assert_eq!(
        o.status.code(),
        Some(0),
        "the runner set no handshake for native"
    );
    assert_eq!(r["fix"], serde_json::Value::Null);
    assert_eq!(r["fix_confirmed"], serde_json::Value::Null);
    assert_eq!(stored(&e.db, 1)["fix_confirmed"], serde_json::Value::Null);
}

// A fix that crashes the process before its hooks are in place writes no handshake; its crash
// report lists the build's image, which proves it loaded. Leaving such rounds out would hide
// exactly the rounds the fix loses.
#[test]
fn a_crash_report_listing_the_build_confirms_an_attempt_without_handshake() {
    let e = env();
    for (n, uuid, confirmed) in [(1u32, OURS, true), (2, OTHER, false)] {
        let incident = format!("00000000-0000-4000-8000-00000000c0d{n}");
        let report = synth_report(&incident, 424242, 0).image(
            Image::new(
                "libagx_fix_v7_7.dylib",
                "/Users/dev/fix/libagx_fix_v7_7.dylib",
            )
            .arch("arm64")
            .base(4_400_000_000)
            .size(49152)
            .uuid(uuid),
        );
        let tpl = e.tmp.path().join(format!("template-{n}.ips"));
        std::fs::write(&tpl, report.build_ips()).unwrap();
        let capture = chrono::Local::now()
            .format("%Y-%m-%d %H:%M:%S%.3f %z")
            .to_string();
        let script = format!(
            "sed -e \"s/424242/$$/\" -e 's/2026-11-02 10:15:30.1234 -0800/{capture}/' '{}' > '{}/Python-{n}.ips'; exit 1",
            tpl.display(),
            e.reports.display()
        );
        let (o, r) = round_run(&e, n, &["--fix", "v7.7"], &script);
        assert_eq!(r["outcome"], "fail", "{}", stderr(&o));
        assert_eq!(
            r["attempts"][0]["crash_reports"][0],
            incident.to_uppercase(),
            "{}",
            stderr(&o)
        );
        assert_eq!(r["fix_confirmed"], confirmed, "{}", stderr(&o));
        if confirmed {
            assert!(
                stderr(&o).contains(&format!(
                    "no handshake, but crash report {} lists the fix's image",
                    incident.to_uppercase()
                )),
                "{}",
                stderr(&o)
            );
            assert!(!stderr(&o).contains("never confirmed"), "{}", stderr(&o));
        } else {
            assert!(stderr(&o).contains("never confirmed"), "{}", stderr(&o));
        }
    }
}

fn import(e: &Env, lines: &[String]) {
    let path = e.tmp.path().join("rounds.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let o = run(&e.db, &["round", "import", path.to_str().unwrap()]);
    assert!(o.status.success(), "import: {}", stderr(&o));
}

/// Rounds 1-3 native (pass), 11-12 v7.7 confirmed (pass), 13 v7.7 imported without the key
/// (unknown: counted), 14-16 v7.7 unconfirmed (fail).
fn compare_fixture(e: &Env) {
    let mut lines = Vec::new();
    for n in 1..=3 {
        lines.push(format!(
            r#"{{"round": {n}, "attempts": [{{"exit_code": 0}}]}}"#
        ));
    }
    for n in 11..=12 {
        lines.push(format!(
            r#"{{"round": {n}, "fix": "v7.7", "fix_confirmed": true, "attempts": [{{"exit_code": 0}}]}}"#
        ));
    }
    lines.push(r#"{"round": 13, "fix": "v7.7", "attempts": [{"exit_code": 0}]}"#.into());
    for n in 14..=16 {
        lines.push(format!(
            r#"{{"round": {n}, "fix": "v7.7", "fix_confirmed": false, "attempts": [{{"signal": 11, "crash_reports": ["00000000-0000-4000-8000-0000000000{n}"]}}]}}"#
        ));
    }
    import(e, &lines);
}

const LEFT_OUT: &str = "3 rounds of fix v7.7 left out: the fix never confirmed it loaded \
    (SIP-protected or hardened-runtime program?); --include-unconfirmed counts them";

// Regression: rounds run without the fix counted in the fix's pass rate.
#[test]
fn compare_leaves_out_unconfirmed_rounds_unless_asked() {
    let e = env();
    compare_fixture(&e);
    let o = run(
        &e.db,
        &["compare", "--a", "native", "--b", "fix:v7.7", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(LEFT_OUT), "{}", stderr(&o));
    let c = json(&o);
    assert_eq!(c["b"]["rounds"], 3, "11, 12 and the unknown 13");
    assert_eq!(c["b"]["raw_pass"], 3);
    assert_eq!(c["unconfirmed"]["rounds"], serde_json::json!([14, 15, 16]));
    assert_eq!(c["unconfirmed"]["counted"], false);

    let o = run(
        &e.db,
        &[
            "compare",
            "--a",
            "native",
            "--b",
            "fix:v7.7",
            "--include-unconfirmed",
            "--json",
        ],
    );
    let c = json(&o);
    assert_eq!(c["b"]["rounds"], 6);
    assert_eq!(c["b"]["raw_pass"], 3);
    assert_eq!(c["unconfirmed"]["counted"], true);
    assert!(
        stderr(&o).contains("3 rounds of fix v7.7 counted although the fix never confirmed"),
        "{}",
        stderr(&o)
    );

    // A side made only of unconfirmed rounds says why it is empty.
    let o = run(&e.db, &["compare", "--a", "native", "--b", "rounds:14-16"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("3 matching round(s) were left out because their fix never confirmed"),
        "{}",
        stderr(&o)
    );
    // Text output warns too; native-only comparisons say nothing.
    let o = run(&e.db, &["compare", "--a", "native", "--b", "fix:v7.7"]);
    assert!(stderr(&o).contains(LEFT_OUT), "{}", stderr(&o));
    let o = run(
        &e.db,
        &["compare", "--a", "rounds:1-2", "--b", "rounds:3-3"],
    );
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn the_writeup_leaves_them_out_and_says_so() {
    let e = env();
    compare_fixture(&e);
    let o = run(&e.db, &["report", "--rounds", "11-16", "--against", "1-3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.contains(&format!("> **Note:** {LEFT_OUT}")), "{md}");
    assert!(stderr(&o).contains(LEFT_OUT), "{}", stderr(&o));
    let json_out = json(&run(
        &e.db,
        &[
            "report",
            "--rounds",
            "11-16",
            "--against",
            "1-3",
            "--format",
            "json",
        ],
    ));
    assert_eq!(json_out["raw_total"]["rounds"], 3, "{json_out}");
    assert_eq!(json_out["notes"][0], LEFT_OUT);

    let json_in = json(&run(
        &e.db,
        &[
            "report",
            "--rounds",
            "11-16",
            "--against",
            "1-3",
            "--format",
            "json",
            "--include-unconfirmed",
        ],
    ));
    assert_eq!(json_in["raw_total"]["rounds"], 6);
    assert!(json_in["notes"][0]
        .as_str()
        .unwrap()
        .contains("counted although"));

    // Only unconfirmed rounds: an error that says why.
    let o = run(&e.db, &["report", "--rounds", "14-16"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("3 left out"), "{}", stderr(&o));
}

#[test]
fn buckets_of_a_fix_leave_out_reports_of_its_unconfirmed_rounds() {
    let e = env();
    let dir = e.tmp.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    // Report ...0014 belongs to unconfirmed round 14 and does not list the build.
    let incident = "00000000-0000-4000-8000-000000000014";
    std::fs::write(dir.join("a.ips"), synth_ips(incident, 31, 0)).unwrap();
    let o = run(&e.db, &["ingest", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    compare_fixture(&e);
    let count = |args: &[&str]| -> (u64, String) {
        let o = run(&e.db, args);
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = json(&o);
        let n = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        (n, stderr(&o))
    };
    let (n, err) = count(&["buckets", "--fix", "v7.7", "--json"]);
    assert_eq!(n, 0);
    assert!(err.contains(LEFT_OUT), "{err}");
    let (n, _) = count(&[
        "buckets",
        "--fix",
        "v7.7",
        "--include-unconfirmed",
        "--json",
    ]);
    assert_eq!(n, 1);
    // By round number the report still counts: the crash happened in that round.
    let (n, _) = count(&["buckets", "--round", "14", "--json"]);
    assert_eq!(n, 1);
}

#[test]
fn the_real_fix_build_is_checked_by_its_slice_uuids() {
    if fix_build::tools().is_none() {
        return;
    }
    let e = env();
    let dylib = fix_build::build_fix("fix_handshake_cli", "7.8");
    let o = run(
        &e.db,
        &["fix", "add", dylib.to_str().unwrap(), "--name", "v7.8"],
    );
    assert!(o.status.success(), "fix add: {}", stderr(&o));
    let info = json(&run(
        &e.db,
        &["fix", "inspect", dylib.to_str().unwrap(), "--json"],
    ));
    let uuids: Vec<String> = info["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uuid"].as_str().unwrap().to_uppercase())
        .collect();
    assert!(!uuids.is_empty(), "{info}");
    for (i, uuid) in uuids.iter().enumerate() {
        let (o, r) = round_run(
            &e,
            1 + i as u32,
            &["--fix", "v7.8"],
            &append(&line(uuid, CLASSES, false)),
        );
        assert_eq!(r["fix_confirmed"], true, "slice {uuid}: {}", stderr(&o));
    }
    let (_, r) = round_run(
        &e,
        9,
        &["--fix", "v7.8"],
        &append(&line(OURS, CLASSES, false)),
    );
    assert_eq!(r["fix_confirmed"], false, "v7.7's UUID is not v7.8's");
}
