//! The fix's Objective-C glue (`fix/src/agx_fix.c`, built unchanged) run on Linux against the
//! fake Objective-C runtime, dyld and AGX-like driver of `fix/tests/fake_runtime.c`, under
//! ThreadSanitizer and AddressSanitizer (`fix/tests/glue_test.c`, one scenario per process
//! because the fix's constructor runs once per process, before `main`). These tests also read
//! what the glue writes: stderr (the always-logged warnings, once) and the handshake line in
//! `AGX_FIX_HANDSHAKE` (issue 18).
//!
//! Without make or a C compiler the tests print a skip message and pass, unless `CI` is set.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The UUID the fake dyld gives the fix's own image (`FAKE_FIX_UUID` in fake_runtime.h).
const FAKE_FIX_UUID: &str = "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Glue {
    _dir: tempfile::TempDir,
    bins: Vec<(&'static str, PathBuf)>,
}

/// Builds `glue_tsan` and `glue_asan` in a fresh build directory, or `None` (skip).
fn build(test: &str) -> Option<Glue> {
    let have = |c: &str| Command::new(c).arg("--version").output().is_ok();
    if !have("make") || !(have("cc") || have("clang")) {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CI must have make and a C compiler for the fix glue tests"
        );
        eprintln!("skipping {test}: no make or C compiler");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let bins: Vec<_> = [("tsan", "host/glue_tsan"), ("asan", "host/glue_asan")]
        .into_iter()
        .map(|(s, p)| (s, dir.path().join(p)))
        .collect();
    let out = Command::new("make")
        .args(["-s", "-C"])
        .arg(repo().join("fix"))
        .arg(format!("BUILD={}", dir.path().display()))
        .args(bins.iter().map(|(_, p)| p.clone()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building the glue tests failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(Glue { _dir: dir, bins })
}

/// Runs one scenario with exactly the given AGX_FIX_*/FAKE_* variables (the caller's are
/// removed). Returns the output and the child's pid.
fn run(bin: &Path, args: &[&str], env: &[(&str, &str)], handshake: Option<&Path>) -> (Output, u32) {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("AGX_FIX_") || k.starts_with("FAKE_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    if let Some(h) = handshake {
        cmd.env("AGX_FIX_HANDSHAKE", h);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} {env:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        bin.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, pid)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every line of the handshake file, parsed (each must be one complete JSON object).
fn handshake_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn classes(line: &Value) -> Vec<String> {
    line["hooked_classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn version() -> String {
    std::fs::read_to_string(repo().join("fix/VERSION"))
        .unwrap()
        .trim()
        .to_string()
}

// Regression (issue 18, defects 1 and 2): the old glue aborted at launch on the recursive
// runtime lock (objc_copyClassNamesForImage inside the load-image callback) and, past that,
// hooked nothing. Here: hooked at load through real (fake) Metal objects, and the handshake
// says so with the image's own LC_UUID.
#[test]
fn launch_hooks_the_classes_of_real_objects_and_writes_the_handshake() {
    let Some(g) = build("launch_hooks_the_classes_of_real_objects_and_writes_the_handshake") else {
        return;
    };
    for (san, bin) in &g.bins {
        let dir = tempfile::tempdir().unwrap();
        let hs = dir.path().join("attempt-1.jsonl");
        let (out, pid) = run(bin, &["launch"], &[], Some(&hs));
        let err = stderr(&out);
        assert!(!err.contains("WARNING"), "{san}: {err}");
        let lines = handshake_lines(&hs);
        assert_eq!(lines.len(), 1, "{san}: {lines:?}");
        let l = &lines[0];
        assert_eq!(l["version"], version().as_str(), "{san}");
        assert_eq!(l["uuid"], FAKE_FIX_UUID, "{san}");
        assert_eq!(l["pid"], pid, "{san}");
        assert_eq!(l["mode"], "per-encoder", "{san}");
        assert_eq!(l["disabled"], false, "{san}");
        let c = classes(l);
        for want in [
            "AGXG16XFamilyCommandBuffer",
            "IOGPUMetalCommandBuffer",
            "_MTLCommandBuffer",
            "AGXG16XFamilyComputeContext",
            "IOGPUMetalComputeCommandEncoder",
            "_MTLCommandEncoder",
            "AGXG16XFamilyBlitContext",
        ] {
            assert!(c.iter().any(|x| x == want), "{san}: {want} not in {c:?}");
        }
        assert!(
            !c.iter().any(|x| x == "NSObject"),
            "{san}: a root class was hooked: {c:?}"
        );
        // The private selector of the fake driver is reported only with AGX_FIX_VERBOSE.
        assert!(l["missing_selectors"].as_u64().unwrap() >= 1, "{san}: {l}");
        assert!(
            !err.contains("not hooked (not in selectors.def)"),
            "{san}: {err}"
        );
    }
}

#[test]
fn verbose_names_encoder_selectors_the_table_lacks() {
    let Some(g) = build("verbose_names_encoder_selectors_the_table_lacks") else {
        return;
    };
    let (out, _) = run(&g.bins[1].1, &["launch"], &[("AGX_FIX_VERBOSE", "1")], None);
    let err = stderr(&out);
    assert!(
        err.contains(
            "not hooked (not in selectors.def): -[AGXG16XFamilyComputeContext dispatchWaitFlush]"
        ),
        "{err}"
    );
    assert!(err.contains("loaded (mode per-encoder)"), "{err}");
    assert!(err.contains("stats: tracked="), "{err}");
}

#[test]
fn disable_1_hooks_nothing_and_disable_0_keeps_the_fix() {
    let Some(g) = build("disable_1_hooks_nothing_and_disable_0_keeps_the_fix") else {
        return;
    };
    for (san, bin) in &g.bins {
        let dir = tempfile::tempdir().unwrap();
        let hs = dir.path().join("hs.jsonl");
        // Two processes of one attempt append a line each (the glue_test launch scenario
        // checks the hooks themselves: none with =1, all with =0).
        run(bin, &["launch"], &[("AGX_FIX_DISABLE", "1")], Some(&hs));
        run(bin, &["launch"], &[("AGX_FIX_DISABLE", "0")], Some(&hs));
        run(bin, &["launch"], &[("AGX_FIX_DISABLE", "TRUE")], Some(&hs));
        let lines = handshake_lines(&hs);
        assert_eq!(lines.len(), 3, "{san}");
        assert_eq!(lines[0]["disabled"], true, "{san}");
        assert!(classes(&lines[0]).is_empty(), "{san}");
        assert_eq!(lines[0]["uuid"], FAKE_FIX_UUID, "{san}");
        assert_eq!(lines[1]["disabled"], false, "{san}");
        assert!(!classes(&lines[1]).is_empty(), "{san}");
        assert_eq!(lines[2]["disabled"], true, "{san}");
        assert_ne!(lines[0]["pid"], lines[1]["pid"]);
    }
}

// Regression (issue 18, defects 3, 4 and 6): each part of `glue_test encode` failed on the old
// glue (reuse: dropped calls then the commit aborted; new encoder while one is open: the fake
// Metal's assertion; forced end: the driver's endEncoding ran twice, a double free).
#[test]
fn encoding_scenarios_pass_in_both_modes_and_the_first_drop_is_logged_once() {
    let Some(g) = build("encoding_scenarios_pass_in_both_modes_and_the_first_drop_is_logged_once")
    else {
        return;
    };
    for (san, bin) in &g.bins {
        for mode in ["0", "1"] {
            let dir = tempfile::tempdir().unwrap();
            let hs = dir.path().join("hs.jsonl");
            let (out, _) = run(
                bin,
                &["encode"],
                &[("AGX_FIX_GLOBAL_LOCK", mode)],
                Some(&hs),
            );
            let err = stderr(&out);
            // Calls are dropped several times in the scenario; the log says so once, to stderr
            // and to os_log, whatever AGX_FIX_VERBOSE says.
            let first =
                "agx_fix 2.4: dropped -[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]"
                    .replace("2.4", &version());
            assert_eq!(err.matches(&first).count(), 1, "{san} {mode}: {err}");
            assert_eq!(
                err.matches(": dropped -[").count(),
                1,
                "{san} {mode}: {err}"
            );
            assert_eq!(
                err.matches("os_log[16]: ").count(),
                1,
                "{san} {mode}: {err}"
            );
            let want = if mode == "1" {
                "global-lock"
            } else {
                "per-encoder"
            };
            assert_eq!(handshake_lines(&hs)[0]["mode"], want, "{san}");
        }
        for part in [
            "args",
            "forced_end",
            "new_while_open",
            "dropped",
            "mps",
            "reuse",
        ] {
            run(bin, &["encode", part], &[], None);
        }
    }
}

#[test]
fn threads_share_an_encoder_that_one_ends_and_commits_at_a_random_moment() {
    let Some(g) = build("threads_share_an_encoder_that_one_ends_and_commits_at_a_random_moment")
    else {
        return;
    };
    for (san, bin) in &g.bins {
        for mode in ["0", "1"] {
            let (out, _) = run(bin, &["threads"], &[("AGX_FIX_GLOBAL_LOCK", mode)], None);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("rounds=200"), "{san} {mode}: {text}");
        }
        let (out, _) = run(
            bin,
            &["threads"],
            &[("FAKE_REUSE", "1"), ("ROUNDS", "100")],
            None,
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("passed"),
            "{san}"
        );
    }
}

// Regression (issue 18, defects 1 and 2): the driver loaded after the fix's constructor (here
// Metal cannot load at launch) reaches the load-image callback under the runtime lock; the
// glue records it there and hooks it from outside the lock. The "nothing hooked" warning is
// logged once without AGX_FIX_VERBOSE.
#[test]
fn a_driver_loaded_later_is_hooked_and_nothing_hooked_is_always_logged() {
    let Some(g) = build("a_driver_loaded_later_is_hooked_and_nothing_hooked_is_always_logged")
    else {
        return;
    };
    for (san, bin) in &g.bins {
        let dir = tempfile::tempdir().unwrap();
        let hs = dir.path().join("hs.jsonl");
        let (out, _) = run(bin, &["late"], &[("FAKE_METAL_LATE", "1")], Some(&hs));
        let err = stderr(&out);
        assert_eq!(
            err.matches("WARNING: no Metal device").count(),
            2,
            "{san}: stderr and os_log: {err}"
        );
        assert_eq!(err.matches("os_log[16]: ").count(), 1, "{san}: {err}");
        let lines = handshake_lines(&hs);
        assert_eq!(lines.len(), 1);
        assert!(
            classes(&lines[0]).is_empty(),
            "{san}: written at load, before the driver came"
        );
        assert_eq!(lines[0]["disabled"], false);
    }
}

#[test]
fn an_unwritable_handshake_path_is_reported_not_fatal() {
    let Some(g) = build("an_unwritable_handshake_path_is_reported_not_fatal") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hs = dir.path().join("no/such/dir/hs.jsonl");
    let (out, _) = run(&g.bins[1].1, &["launch"], &[], Some(&hs));
    assert!(
        stderr(&out).contains("cannot open AGX_FIX_HANDSHAKE"),
        "{}",
        stderr(&out)
    );
}

// Regression (issue 18, defect 6): a Mac without AGX classes (Intel, AMD) got nothing hooked,
// MPSCommandBuffer included. Discovery hooks the classes of the real objects, whatever they are.
#[test]
fn a_driver_without_agx_classes_is_hooked_through_its_objects() {
    let Some(g) = build("a_driver_without_agx_classes_is_hooked_through_its_objects") else {
        return;
    };
    for (san, bin) in &g.bins {
        let dir = tempfile::tempdir().unwrap();
        let hs = dir.path().join("hs.jsonl");
        let (out, _) = run(bin, &["amd"], &[("FAKE_GPU", "amd")], Some(&hs));
        assert!(!stderr(&out).contains("WARNING"), "{san}: {}", stderr(&out));
        let c = classes(&handshake_lines(&hs)[0]);
        for want in ["AMDMTLBronzeCommandBuffer", "AMDMTLBronzeComputeContext"] {
            assert!(c.iter().any(|x| x == want), "{san}: {want} not in {c:?}");
        }
        assert!(!c.iter().any(|x| x.starts_with("AGX")), "{san}: {c:?}");
    }
}

// Regression: the glue opened the handshake path without O_NOFOLLOW, so a symbolic link planted
// at it (the path comes from the environment) turned the append into a write into the link's
// target. Now the open fails, the glue says so once, and the target is untouched.
#[test]
fn a_symbolic_link_at_the_handshake_path_is_not_written_through() {
    let Some(g) = build("a_symbolic_link_at_the_handshake_path_is_not_written_through") else {
        return;
    };
    for (san, bin) in &g.bins {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("someone-elses-file");
        std::fs::write(&target, "keep me\n").unwrap();
        let hs = dir.path().join("attempt-1.jsonl");
        std::os::unix::fs::symlink(&target, &hs).unwrap();
        let (out, _) = run(bin, &["launch"], &[], Some(&hs));
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "keep me\n",
            "{san}: written through the link"
        );
        let err = stderr(&out);
        assert!(
            err.contains("cannot open AGX_FIX_HANDSHAKE"),
            "{san}: no warning: {err}"
        );
    }
}
