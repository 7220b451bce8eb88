//! The fix dylib's portable thread-safety core under ThreadSanitizer and AddressSanitizer:
//! `make -C fix test` builds the host stress test, checks it is clean with the core's locking,
//! and checks that the sanitizers DO catch the same test built without it (so it can fail).
//! `make test` also runs the glue harness (`fix/tests/glue_test.c` against the fake runtime);
//! `tests/fix_glue.rs` runs those scenarios one by one and checks their output.
//! Run here so that the README's one test command covers the fix too.

use std::path::Path;
use std::process::Command;

#[test]
fn core_is_clean_under_tsan_and_asan_and_the_unlocked_variant_is_caught() {
    let have_cc = Command::new("cc").arg("--version").output().is_ok()
        || Command::new("clang").arg("--version").output().is_ok();
    if !have_cc || Command::new("make").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have make and a C compiler for the fix core tests"
        );
        eprintln!("skipping: no make or C compiler");
        return;
    }
    let build = tempfile::tempdir().unwrap();
    let fix = Path::new(env!("CARGO_MANIFEST_DIR")).join("fix");
    let out = Command::new("make")
        .arg("-C")
        .arg(&fix)
        .arg(format!("BUILD={}", build.path().display()))
        .arg("test")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make -C fix test failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
