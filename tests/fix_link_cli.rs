//! The fix-version registry through the binary: `fix inspect` on the real fix dylib (built with
//! `make -C fix`) agrees with llvm-objdump, and reports are linked to a registered fix by the
//! UUID of the image they list, whichever comes first (ingest or `fix add`); a `libagx_fix*`
//! image with an unknown UUID is noted as an unregistered fix; one UUID cannot carry two names.
//!
//! Without clang / ld64.lld / llvm-lipo / llvm-objdump the tests print a skip message and pass,
//! unless the environment variable `CI` is set: then a missing tool is a failure.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use agx_synth::Image;
use common::*;

/// The version the test builds and registers.
const VERSION: &str = "9.9";
/// The name the crash reports give the fix image. It deliberately says another version than
/// the registered name: linking goes by UUID, never by file name.
const IMAGE_NAME: &str = "libagx_fix_v2_4.dylib";

#[path = "common/fix_build.rs"]
mod fix_build;
use fix_build::tools;

/// Build the fix at `version` into this test's temp folder.
fn build_fix(version: &str) -> PathBuf {
    fix_build::build_fix("fix_link_cli", version)
}

/// The fix dylib at [`VERSION`], or `None` when the tools are missing (skip).
fn fix_dylib() -> Option<&'static Path> {
    tools()?;
    static DYLIB: OnceLock<PathBuf> = OnceLock::new();
    Some(DYLIB.get_or_init(|| build_fix(VERSION)))
}

/// `fix inspect --json` of `path`, through the binary.
fn inspect(db: &Path, path: &Path) -> serde_json::Value {
    let o = run(db, &["fix", "inspect", path.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "fix inspect: {}", stderr(&o));
    json(&o)
}

/// The UUID of the slice `arch` in `fix inspect --json` output.
fn slice_uuid(info: &serde_json::Value, arch: &str) -> String {
    info["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["arch"] == arch)
        .unwrap_or_else(|| panic!("no {arch} slice in {info}"))["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A valid `.ips` (from `synth_report`) whose `usedImages` also lists `(name, uuid)` images.
fn ips_with_images(incident: &str, pid: u32, images: &[(&str, &str)]) -> String {
    let mut r = synth_report(incident, pid, 0);
    for (i, (name, uuid)) in images.iter().enumerate() {
        r = r.image(
            Image::new(name, &format!("/Users/dev/agx-fix/build/{name}"))
                .arch("arm64")
                .base(4_400_000_000u64 + 0x10_0000 * i as u64)
                .size(49152)
                .uuid(uuid),
        );
    }
    r.build_ips()
}

/// Write one report listing `images` and ingest it into `db`.
fn ingest_report(db: &Path, dir: &Path, n: u32, images: &[(&str, &str)]) {
    let incident = format!("00000000-0000-4000-8000-0000000fe{n:03}");
    let path = dir.join(format!("fix-{n}.ips"));
    std::fs::write(&path, ips_with_images(&incident, 2000 + n, images)).unwrap();
    let o = run(db, &["ingest", path.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "ingest: {}", stderr(&o));
    assert_eq!(json(&o)["new"], 1, "{}", stdout(&o));
}

/// `reports --json` as (pid -> row).
fn reports_by_pid(db: &Path) -> BTreeMap<u64, serde_json::Value> {
    let o = run(db, &["reports", "--json"]);
    assert!(o.status.success(), "reports: {}", stderr(&o));
    json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["pid"].as_u64().unwrap(), r.clone()))
        .collect()
}

/// `fix add PATH --name NAME --json`, which must succeed.
fn fix_add(db: &Path, path: &Path, name: &str) -> serde_json::Value {
    let o = run(
        db,
        &[
            "fix",
            "add",
            path.to_str().unwrap(),
            "--name",
            name,
            "--json",
        ],
    );
    assert!(o.status.success(), "fix add {name}: {}", stderr(&o));
    json(&o)
}

/// What `llvm-objdump --macho --private-headers --arch=all` says: arch -> uuid (normalised).
fn objdump_uuids(objdump: &str, file: &Path) -> BTreeMap<String, String> {
    let out = Command::new(objdump)
        .args(["--macho", "--private-headers", "--arch=all"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut arch = String::new();
    let mut uuids = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(rest) = line.split("(architecture ").nth(1) {
            arch = rest.trim_end_matches("):").to_string();
        } else if let Some(u) = line.trim().strip_prefix("uuid ") {
            uuids.insert(arch.clone(), u.to_lowercase());
        }
    }
    uuids
}

#[test]
fn fix_inspect_json_agrees_with_objdump_and_carries_metadata() {
    let Some(dylib) = fix_dylib() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let info = inspect(&tmp.path().join("t.db"), dylib);

    let mut keys: Vec<_> = info.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "install_name",
            "md5",
            "metadata",
            "path",
            "sha256",
            "size",
            "slices"
        ]
    );
    assert_eq!(info["install_name"], "libagx_fix_v9_9.dylib");
    assert_eq!(info["size"], std::fs::metadata(dylib).unwrap().len());
    assert_eq!(info["metadata"]["version"], VERSION);
    assert_eq!(info["metadata"]["name"], "agx_fix");

    let objdump = objdump_uuids(&tools().unwrap()["OBJDUMP"], dylib);
    let ours: BTreeMap<String, String> = info["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["current_version"], "9.9.0", "{s}");
            assert_eq!(s["compatibility_version"], "9.0.0", "{s}");
            (
                s["arch"].as_str().unwrap().to_string(),
                s["uuid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert!(ours.contains_key("arm64") && ours.contains_key("x86_64"));
    assert_eq!(ours, objdump, "fix inspect vs llvm-objdump");
    assert_ne!(ours["arm64"], ours["x86_64"]);
}

#[test]
fn registered_fix_links_reports_ingested_after_it() {
    let Some(dylib) = fix_dylib() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let info = inspect(&db, dylib);
    let arm = slice_uuid(&info, "arm64");
    let x86 = slice_uuid(&info, "x86_64");

    let added = fix_add(&db, dylib, "v9.9");
    assert_eq!(added["replaced"], false);
    assert_eq!(added["linked_reports"], 0);
    assert!(added["fix_id"].as_i64().unwrap() > 0);

    ingest_report(&db, tmp.path(), 1, &[(IMAGE_NAME, &arm)]);
    // A Rosetta process loads the x86_64 slice: the same fix.
    ingest_report(&db, tmp.path(), 2, &[(IMAGE_NAME, &x86)]);
    // No fix image at all.
    ingest_report(&db, tmp.path(), 3, &[]);

    let rows = reports_by_pid(&db);
    assert_eq!(rows.len(), 3);
    for pid in [2001, 2002] {
        assert_eq!(rows[&pid]["fix"], "v9.9", "{}", rows[&pid]);
        assert_eq!(rows[&pid]["unregistered_fix"], serde_json::Value::Null);
    }
    assert_eq!(rows[&2003]["fix"], serde_json::Value::Null);
    assert_eq!(rows[&2003]["unregistered_fix"], serde_json::Value::Null);

    let o = run(&db, &["fix", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = json(&o);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "v9.9");
    assert_eq!(list[0]["reports"], 2);
    assert_eq!(list[0]["metadata"]["version"], VERSION);
    assert_eq!(list[0]["sha256"], info["sha256"]);
    let mut listed: Vec<String> = list[0]["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uuid"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut want = vec![arm, x86];
    want.sort();
    assert_eq!(listed, want);
}

#[test]
fn registering_a_fix_links_reports_already_ingested() {
    let Some(dylib) = fix_dylib() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let arm = slice_uuid(&inspect(&db, dylib), "arm64");

    ingest_report(&db, tmp.path(), 1, &[(IMAGE_NAME, &arm)]);
    ingest_report(&db, tmp.path(), 2, &[]);
    let before = reports_by_pid(&db);
    // Not registered yet: noted by name only.
    assert_eq!(before[&2001]["fix"], serde_json::Value::Null);
    assert_eq!(before[&2001]["unregistered_fix"], IMAGE_NAME);

    let added = fix_add(&db, dylib, "v9.9");
    assert_eq!(added["linked_reports"], 1, "{added}");
    assert_eq!(added["replaced"], false);

    let after = reports_by_pid(&db);
    assert_eq!(after[&2001]["fix"], "v9.9", "{}", after[&2001]);
    assert_eq!(
        after[&2001]["unregistered_fix"],
        serde_json::Value::Null,
        "a registered fix is no longer an unregistered one"
    );
    assert_eq!(after[&2002]["fix"], serde_json::Value::Null);
}

#[test]
fn fix_image_with_an_unknown_uuid_is_an_unregistered_fix() {
    let Some(dylib) = fix_dylib() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let arm = slice_uuid(&inspect(&db, dylib), "arm64");
    fix_add(&db, dylib, "v9.9");

    let old = "0badf1c5-0000-4000-8000-000000000010";
    ingest_report(&db, tmp.path(), 1, &[("libagx_fix_v1_0.dylib", old)]);
    ingest_report(&db, tmp.path(), 2, &[(IMAGE_NAME, &arm)]);
    let rows = reports_by_pid(&db);
    assert_eq!(rows[&2001]["fix"], serde_json::Value::Null);
    assert_eq!(rows[&2001]["unregistered_fix"], "libagx_fix_v1_0.dylib");
    assert_eq!(rows[&2002]["fix"], "v9.9");
    assert_eq!(rows[&2002]["unregistered_fix"], serde_json::Value::Null);
}

#[test]
fn one_uuid_cannot_be_registered_under_two_names() {
    let Some(dylib) = fix_dylib() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let arm = slice_uuid(&inspect(&db, dylib), "arm64");
    fix_add(&db, dylib, "v9.9");
    ingest_report(&db, tmp.path(), 1, &[(IMAGE_NAME, &arm)]);

    let o = run(
        &db,
        &["fix", "add", dylib.to_str().unwrap(), "--name", "v10.0"],
    );
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("already registered as fix v9.9"),
        "unclear message: {err}"
    );
    assert!(err.contains("v10.0"), "the rejected name is named: {err}");
    // One of the two UUIDs is named (whichever slice was checked first).
    let x86 = slice_uuid(&inspect(&db, dylib), "x86_64");
    assert!(err.contains(&arm) || err.contains(&x86), "{err}");

    // Nothing changed: still one fix, the report still linked to it.
    let o = run(&db, &["fix", "list", "--json"]);
    let list = json(&o);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "v9.9");
    assert_eq!(list[0]["reports"], 1);
    assert_eq!(reports_by_pid(&db)[&2001]["fix"], "v9.9");

    // Registering the same build under its own name again is a replacement, not a conflict.
    let again = fix_add(&db, dylib, "v9.9");
    assert_eq!(again["replaced"], true);
    assert_eq!(again["linked_reports"], 1);
    assert_eq!(reports_by_pid(&db)[&2001]["fix"], "v9.9");
}

/// Replacing a name with another build (`fix add NEW --name v9.9` over an older v9.9) unlinks
/// the reports of the old build; they must then read as what a fresh ingest of them gives: an
/// unregistered fix, by image name.
/// Regression: `register_fix` once relinked only the new build's reports, leaving the old ones
/// with neither `fix` nor `unregistered_fix`.
#[test]
fn replacing_a_fix_build_turns_its_old_reports_into_unregistered_fixes() {
    let Some(dylib) = fix_dylib() else { return };
    let other = build_fix("9.8");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let arm = slice_uuid(&inspect(&db, dylib), "arm64");
    assert_ne!(arm, slice_uuid(&inspect(&db, &other), "arm64"));
    fix_add(&db, dylib, "v9.9");
    ingest_report(&db, tmp.path(), 1, &[(IMAGE_NAME, &arm)]);
    assert_eq!(reports_by_pid(&db)[&2001]["fix"], "v9.9");

    let replaced = fix_add(&db, &other, "v9.9");
    assert_eq!(replaced["replaced"], true);
    assert_eq!(replaced["linked_reports"], 0);
    let row = &reports_by_pid(&db)[&2001];
    assert_eq!(row["fix"], serde_json::Value::Null, "{row}");
    // What ingesting the same report into this database now gives:
    let fresh = tempfile::tempdir().unwrap();
    let db2 = fresh.path().join("t.db");
    fix_add(&db2, &other, "v9.9");
    ingest_report(&db2, fresh.path(), 1, &[(IMAGE_NAME, &arm)]);
    let want = &reports_by_pid(&db2)[&2001];
    assert_eq!(want["unregistered_fix"], IMAGE_NAME);
    assert_eq!(row["unregistered_fix"], want["unregistered_fix"], "{row}");
}

// Regression: `fix add` of a build whose file name matched reports that had loaded a different
// build (other UUIDs) said nothing, so the local build could pass for the one that crashed.
#[test]
fn fix_add_names_reports_that_loaded_another_build_of_the_same_name() {
    let Some(dylib) = fix_dylib() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    let info = inspect(&db, dylib);
    let arm = slice_uuid(&info, "arm64");
    let file_name = dylib.file_name().unwrap().to_str().unwrap();
    let other_uuid = "0badc0de-0000-4000-8000-000000000001";
    ingest_report(&db, tmp.path(), 1, &[(file_name, other_uuid)]);
    ingest_report(&db, tmp.path(), 2, &[(file_name, &arm)]);
    let o = run(
        &db,
        &[
            "fix",
            "add",
            dylib.to_str().unwrap(),
            "--name",
            "v9.9",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let added = json(&o);
    assert_eq!(added["linked_reports"], 1);
    let others = added["other_builds"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{added}");
    assert_eq!(
        others[0]["uuid"].as_str().unwrap().to_lowercase(),
        other_uuid
    );
    assert!(
        stderr(&o).contains("loaded a different build"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(&format!("report {}", others[0]["report_id"])));
    let rows = reports_by_pid(&db);
    assert_eq!(
        rows[&2001]["fix"],
        serde_json::Value::Null,
        "not linked to v9.9"
    );
    assert_eq!(rows[&2001]["unregistered_fix"], file_name);
    assert_eq!(rows[&2002]["fix"], "v9.9");

    // A round run as v9.9 whose crash report loaded the other build: the writeup says the
    // registered checksums are not those of the build that crashed.
    let o = run(
        &db,
        &[
            "round",
            "record",
            "--round",
            "1",
            "--fix",
            "v9.9",
            "--attempt",
            "signal=SIGSEGV,reports=00000000-0000-4000-8000-0000000fe001",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&db, &["report", "--rounds", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("**Not the build that crashed:** 1 crash report(s)"),
        "{}",
        stdout(&o)
    );
}
