//! The committed `samples/` must be exactly what `examples/gen_samples.rs` produces today, so the
//! sample data can never drift from its generator. The generator is compiled into this test
//! as a module (not run through `cargo run`), so the check needs no second cargo invocation.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../examples/gen_samples.rs"]
mod gen_samples;

/// Every file under `root`, relative to it, sorted.
fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out
}

#[test]
fn committed_samples_match_a_fresh_generation() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let tmp = tempfile::tempdir().unwrap();
    let written = gen_samples::generate(tmp.path()).unwrap();
    assert!(written.len() > 40, "only {} files generated", written.len());

    let fresh = files_under(tmp.path());
    let mut expected = files_under(&committed);
    // The README and the demo script are written by hand; everything else in samples/ comes
    // from the generator.
    expected.remove(Path::new("README.md"));
    expected.remove(Path::new("demo.sh"));
    assert_eq!(
        fresh, expected,
        "samples/ and a fresh generation list different files; run \
         `cargo run --example gen_samples -- samples` and commit the result"
    );
    for rel in &fresh {
        let a = fs::read(tmp.path().join(rel)).unwrap();
        let b = fs::read(committed.join(rel)).unwrap();
        assert!(
            a == b,
            "samples/{} differs from a fresh generation; run \
             `cargo run --example gen_samples -- samples` and commit the result",
            rel.display()
        );
    }
}

#[test]
fn generation_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let files_a = gen_samples::generate(a.path()).unwrap();
    let files_b = gen_samples::generate(b.path()).unwrap();
    assert_eq!(files_a, files_b);
    for rel in &files_a {
        assert_eq!(
            fs::read(a.path().join(rel)).unwrap(),
            fs::read(b.path().join(rel)).unwrap(),
            "{} differs between two runs",
            rel.display()
        );
    }
}
