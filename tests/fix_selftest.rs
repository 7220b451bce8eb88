//! `fix/selftest/` runs only on a Mac (Metal, a GPU, `xcrun clang`). What CI can check here:
//! the script parses (`bash -n`) and the Objective-C program compiles (`clang -fsyntax-only`,
//! ARC, against the stub headers in `fix/selftest/stub/`, which declare exactly the SDK
//! signatures it uses). A missing tool skips with a message, unless `CI` is set.

use std::path::PathBuf;
use std::process::Command;

fn selftest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fix/selftest")
}

fn have(tool: &str, test: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI must have {tool}"
    );
    eprintln!("skipping {test}: no {tool}");
    false
}

#[test]
fn selftest_script_parses() {
    if !have("bash", "selftest_script_parses") {
        return;
    }
    let out = Command::new("bash")
        .arg("-n")
        .arg(selftest().join("run.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn selftest_program_compiles_against_the_stub_sdk() {
    if !have("clang", "selftest_program_compiles_against_the_stub_sdk") {
        return;
    }
    let out = Command::new("clang")
        .args([
            "-fsyntax-only",
            "-x",
            "objective-c",
            "-fobjc-arc",
            "-fobjc-runtime=macosx-12.0",
            "-D_GNU_SOURCE",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wno-unused-parameter",
        ])
        .arg("-I")
        .arg(selftest().join("stub"))
        .arg(selftest().join("selftest.m"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "selftest.m does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
