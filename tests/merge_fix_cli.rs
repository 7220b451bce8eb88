//! `merge` carries fix versions over by their build (docs/FLEET.md): a registered fix and the
//! link of a report to it arrive with the report; the same build under the same name is
//! already there; another build under the same name is a conflict, left as it is.
//!
//! Needs the real fix dylib (`make -C fix`, see `tests/common/fix_build.rs`): without clang /
//! ld64.lld / llvm-lipo the tests print a skip message and pass, unless `CI` is set.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use agx_synth::Image;
use common::*;

#[path = "common/fix_build.rs"]
mod fix_build;

fn build(version: &str) -> Option<PathBuf> {
    fix_build::tools()?;
    Some(fix_build::build_fix("merge_fix_cli", version))
}

fn ok(o: &std::process::Output) {
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
}

fn arm64_uuid(db: &Path, dylib: &Path) -> String {
    let o = run(db, &["fix", "inspect", dylib.to_str().unwrap(), "--json"]);
    ok(&o);
    json(&o)["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["arch"] == "arm64")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn fixes_merge_by_build_and_reports_keep_their_link() {
    let Some(v99) = build("9.9") else { return };
    let Some(v98) = build("9.8") else { return };
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a.db");
    let b = t.path().join("b.db");
    create_db(&a);
    ok(&run(
        &b,
        &["fix", "add", v99.to_str().unwrap(), "--name", "v9.9"],
    ));
    let uuid = arm64_uuid(&b, &v99);
    let mut r = synth_report("00000000-0000-4000-8000-0000000fe001", 2001, 0);
    r = r.image(
        Image::new("libagx_fix_v9_9.dylib", "/opt/fix/libagx_fix_v9_9.dylib")
            .arch("arm64")
            .base(4_400_000_000)
            .size(49152)
            .uuid(&uuid),
    );
    let f = t.path().join("fix.ips");
    std::fs::write(&f, r.build_ips()).unwrap();
    ok(&run(&b, &["ingest", f.to_str().unwrap()]));

    let o = run(&a, &["merge", "--json", b.to_str().unwrap()]);
    ok(&o);
    let v = json(&o);
    assert_eq!(v["total"]["fixes"]["added"], 1, "{v:#}");
    let reports = json(&run(&a, &["reports", "--json"]));
    assert_eq!(
        reports[0]["fix"], "v9.9",
        "the report is linked to the merged fix"
    );
    let theirs = json(&run(&b, &["fix", "list", "--json"]));
    let mine = json(&run(&a, &["fix", "list", "--json"]));
    for k in ["name", "sha256", "md5", "slices", "install_name"] {
        assert_eq!(mine[0][k], theirs[0][k], "{k}");
    }
    // The same build again: already there.
    let v = json(&run(&a, &["merge", "--json", b.to_str().unwrap()]));
    assert_eq!(v["total"]["fixes"]["already"], 1, "{v:#}");

    // Another build registered as v9.9 elsewhere: a conflict; ours stays.
    let c = t.path().join("c.db");
    ok(&run(
        &c,
        &["fix", "add", v98.to_str().unwrap(), "--name", "v9.9"],
    ));
    let o = run(&a, &["merge", "--json", c.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["total"]["fixes"]["conflicts"], 1, "{v:#}");
    assert_eq!(v["sources"][0]["problems"][0]["key"], "v9.9");
    let after = json(&run(&a, &["fix", "list", "--json"]));
    assert_eq!(
        after[0]["sha256"], theirs[0]["sha256"],
        "the registered build is kept"
    );
}
