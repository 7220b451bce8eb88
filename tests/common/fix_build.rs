//! Building the real fix dylib (`make -C fix`, cross-built for macOS with clang and ld64.lld)
//! for the tests that need a Mach-O with real slice UUIDs. Shared by `fix_link_cli.rs` and
//! `fix_handshake_cli.rs` through `#[path]`.
//!
//! Without the tools the helpers print a skip message and return `None`, unless the
//! environment variable `CI` is set: then a missing tool is a failure.
// Test helper module: a failed unwrap here is a test failure, which is what a test wants.
// clippy.toml's allow-unwrap-in-tests covers only `#[test]` functions, not helpers like these.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Tool paths as the fix Makefile resolves them (`make -s -C fix tools`), or `None` (skip).
pub fn tools() -> Option<&'static BTreeMap<String, String>> {
    static TOOLS: OnceLock<Option<BTreeMap<String, String>>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let out = Command::new("make")
                .args(["-s", "-C"])
                .arg(repo().join("fix"))
                .arg("tools")
                .output();
            match out {
                Ok(o) if o.status.success() => Some(
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .filter_map(|l| l.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                other => {
                    let why = match other {
                        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                        Err(e) => format!("cannot run make: {e}"),
                    };
                    if std::env::var_os("CI").is_some() {
                        panic!("toolchain missing in CI ({why}); install clang lld llvm");
                    }
                    eprintln!(
                        "skipping: toolchain missing ({why}); apt-get install clang lld llvm"
                    );
                    None
                }
            }
        })
        .as_ref()
}

/// Build the fix at `version` into `target/tmp/<tag>/<version>` (the tag keeps test binaries
/// that run at the same time apart) and return the dylib's path. Call [`tools`] first.
pub fn build_fix(tag: &str, version: &str) -> PathBuf {
    let build = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(tag)
        .join(version);
    let out = Command::new("make")
        .args(["-s", "-C"])
        .arg(repo().join("fix"))
        .arg(format!("BUILD={}", build.display()))
        .arg(format!("VERSION={version}"))
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make -C fix VERSION={version} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    build.join(format!("libagx_fix_v{}.dylib", version.replace('.', "_")))
}
