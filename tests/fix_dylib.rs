//! Builds the real fix dylib (`make -C fix`) and small C test dylibs with clang + ld64.lld +
//! llvm-lipo, and checks that `agx_triage::fixes::inspect` agrees with
//! `llvm-objdump --macho --private-headers` on every slice.
//!
//! Without the toolchain the tests print a skip message and pass, unless the environment
//! variable `CI` is set: then a missing tool is a failure.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use agx_triage::fixes::{inspect, DylibInfo};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Tool paths as the fix Makefile resolves them (`make -C fix -s tools`), or `None` (skip).
fn tools(test: &str) -> Option<BTreeMap<String, String>> {
    let out = Command::new("make")
        .args(["-s", "-C"])
        .arg(repo().join("fix"))
        .arg("tools")
        .output();
    let ok = matches!(&out, Ok(o) if o.status.success());
    if !ok {
        let why = match &out {
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => format!("cannot run make: {e}"),
        };
        if std::env::var_os("CI").is_some() {
            panic!("{test}: toolchain missing in CI ({why}); install clang lld llvm");
        }
        eprintln!("skipping {test}: toolchain missing ({why}); apt-get install clang lld llvm");
        return None;
    }
    let stdout = String::from_utf8_lossy(&out.unwrap().stdout).into_owned();
    Some(
        stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What llvm-objdump says about one slice.
#[derive(Debug, Default, PartialEq)]
struct ObjdumpSlice {
    uuid: Option<String>,
    install_name: Option<String>,
    current_version: Option<String>,
    compatibility_version: Option<String>,
}

/// Parses `llvm-objdump --macho --private-headers --arch=all` output into arch -> slice.
/// A thin file has no "(architecture ...)" line; its slice is keyed "".
fn objdump_slices(objdump: &str, file: &Path) -> BTreeMap<String, ObjdumpSlice> {
    let text = run(Command::new(objdump)
        .args(["--macho", "--private-headers", "--arch=all"])
        .arg(file));
    let mut slices: BTreeMap<String, ObjdumpSlice> = BTreeMap::new();
    let mut arch = String::new();
    let mut in_id = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = line.split("(architecture ").nth(1) {
            arch = rest.trim_end_matches("):").to_string();
            continue;
        }
        if t.starts_with("cmd ") {
            in_id = t == "cmd LC_ID_DYLIB";
        }
        let s = slices.entry(arch.clone()).or_default();
        if let Some(u) = t.strip_prefix("uuid ") {
            s.uuid = agx_triage::crash::normalize_uuid(u);
        } else if in_id {
            if let Some(n) = t.strip_prefix("name ") {
                s.install_name = n.split(" (offset").next().map(str::to_string);
            } else if let Some(v) = t.strip_prefix("current version ") {
                s.current_version = Some(v.to_string());
            } else if let Some(v) = t.strip_prefix("compatibility version ") {
                s.compatibility_version = Some(v.to_string());
            }
        }
    }
    slices.retain(|_, s| *s != ObjdumpSlice::default());
    slices
}

/// inspect() and llvm-objdump must agree on every slice.
fn assert_agrees(info: &DylibInfo, objdump: &str, file: &Path) {
    let od = objdump_slices(objdump, file);
    assert_eq!(
        od.len(),
        info.slices.len(),
        "slice count: objdump {od:?} vs {info:?}"
    );
    for s in &info.slices {
        let o = od
            .get(&s.arch)
            .or_else(|| (od.len() == 1).then(|| od.get("")).flatten())
            .unwrap_or_else(|| panic!("objdump has no slice {} in {od:?}", s.arch));
        assert!(s.uuid.is_some(), "{}: no uuid", s.arch);
        assert_eq!(s.uuid, o.uuid, "{}: uuid", s.arch);
        assert_eq!(
            s.current_version, o.current_version,
            "{}: current version",
            s.arch
        );
        assert_eq!(
            s.compatibility_version, o.compatibility_version,
            "{}: compatibility version",
            s.arch
        );
        assert_eq!(
            info.install_name, o.install_name,
            "{}: install name",
            s.arch
        );
    }
}

fn make_fix(build: &Path, extra: &[&str], envs: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("make");
    cmd.args(["-s", "-C"])
        .arg(repo().join("fix"))
        .arg(format!("BUILD={}", build.display()))
        .args(extra);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn fix_dylib_metadata_and_headers_agree_with_objdump() {
    let Some(t) = tools("fix_dylib_metadata_and_headers_agree_with_objdump") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let version = std::fs::read_to_string(repo().join("fix/VERSION")).unwrap();
    let version = version.trim();
    make_fix(dir.path(), &[], &[]);
    let name = format!("libagx_fix_v{}.dylib", version.replace('.', "_"));
    let path = dir.path().join(&name);
    let info = inspect(&path).unwrap();

    let arches: Vec<_> = info.slices.iter().map(|s| s.arch.as_str()).collect();
    assert!(
        arches.contains(&"arm64") && arches.contains(&"x86_64"),
        "{arches:?}"
    );
    assert_eq!(info.install_name.as_deref(), Some(name.as_str()));
    let want_current = format!("{version}.0");
    for s in &info.slices {
        assert_eq!(s.current_version.as_deref(), Some(want_current.as_str()));
    }
    assert_ne!(
        info.slices[0].uuid, info.slices[1].uuid,
        "each slice has its own UUID"
    );
    assert_agrees(&info, &t["OBJDUMP"], &path);

    let meta = info.metadata.as_ref().expect("metadata section");
    assert_eq!(meta["version"], version);
    assert_eq!(meta["name"], "agx_fix");
    let cb = meta["selectors"]["command_buffer"].as_array().unwrap();
    let enc = meta["selectors"]["encoder"].as_array().unwrap();
    // The metadata lists exactly the hooked-selector table, in order.
    let def = std::fs::read_to_string(repo().join("fix/src/selectors.def")).unwrap();
    let table = |target: &str| -> Vec<serde_json::Value> {
        def.lines()
            .filter(|l| l.starts_with(&format!("AGX_SEL({target},")))
            .filter_map(|l| l.split('"').nth(1))
            .map(|s| serde_json::Value::String(s.to_string()))
            .collect()
    };
    assert_eq!(*cb, table("CB"));
    assert_eq!(*enc, table("ENC"));
    for sel in [
        "computeCommandEncoder",
        "commit",
        "encodeSignalEvent:value:",
    ] {
        assert!(cb.iter().any(|v| v == sel), "command_buffer lacks {sel}");
    }
    for sel in [
        "setComputePipelineState:",
        "setBuffer:offset:atIndex:",
        "dispatchThreads:threadsPerThreadgroup:",
        "endEncoding",
        "dealloc",
    ] {
        assert!(enc.iter().any(|v| v == sel), "encoder lacks {sel}");
    }
    assert!(!meta["commit"].as_str().unwrap().is_empty());
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    // Hashes are of the file.
    assert_eq!(info.size, std::fs::metadata(&path).unwrap().len());
    assert_eq!(info.sha256.len(), 64);
    assert_eq!(info.md5.len(), 32);

    // The make target's own checks pass on the same build.
    let out = make_fix(dir.path(), &["check-dylib"], &[]);
    assert!(
        out.contains("arm64 ok") && out.contains("x86_64 ok"),
        "{out}"
    );
}

#[test]
fn fix_version_stamp_and_reproducible_date() {
    let Some(t) = tools("fix_version_stamp_and_reproducible_date") else {
        return;
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    make_fix(a.path(), &["VERSION=9.8"], &env);
    make_fix(b.path(), &["VERSION=9.8"], &env);
    let pa = a.path().join("libagx_fix_v9_8.dylib");
    let ia = inspect(&pa).unwrap();
    let ib = inspect(&b.path().join("libagx_fix_v9_8.dylib")).unwrap();
    assert_eq!(ia.install_name.as_deref(), Some("libagx_fix_v9_8.dylib"));
    for s in &ia.slices {
        assert_eq!(s.current_version.as_deref(), Some("9.8.0"));
        assert_eq!(s.compatibility_version.as_deref(), Some("9.0.0"));
    }
    let meta = ia.metadata.as_ref().unwrap();
    assert_eq!(meta["version"], "9.8");
    assert_eq!(meta["build_date"], "2023-11-14T22:13:20Z");
    assert_eq!(
        ia.sha256, ib.sha256,
        "same epoch and commit: byte-identical builds"
    );
    assert_agrees(&ia, &t["OBJDUMP"], &pa);
}

#[test]
fn fix_make_rejects_a_bad_version() {
    if tools("fix_make_rejects_a_bad_version").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("make")
        .args(["-s", "-C"])
        .arg(repo().join("fix"))
        .arg(format!("BUILD={}", dir.path().display()))
        .arg("VERSION=2.4;rm")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("VERSION must look like"));
}

const TEST_DYLIB_C: &str = r#"
__attribute__((used, section("__DATA,__agx_fix_meta")))
static const char meta[] = META;
int answer(void) { return 42; }
"#;

/// Builds a thin test dylib for `arch` with the given metadata literal (a C string).
fn build_test_dylib(t: &BTreeMap<String, String>, dir: &Path, arch: &str, meta: &str) -> PathBuf {
    let src = dir.join("t.c");
    std::fs::write(&src, TEST_DYLIB_C).unwrap();
    let obj = dir.join(format!("t_{arch}.o"));
    let out = dir.join(format!("libt_{arch}.dylib"));
    run(Command::new(&t["CLANG"])
        .args([
            "-target",
            &format!("{arch}-apple-macos12"),
            "-ffreestanding",
            "-nostdlibinc",
        ])
        .arg(format!("-DMETA={meta}"))
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj));
    run(Command::new(&t["LD64"])
        .args([
            "-arch",
            arch,
            "-platform_version",
            "macos",
            "12.0",
            "12.0",
            "-dylib",
        ])
        .args(["-install_name", "@rpath/libt.dylib"])
        .args(["-current_version", "1.2.3", "-compatibility_version", "1.1"])
        .arg(&obj)
        .arg("-o")
        .arg(&out));
    out
}

#[test]
fn inspect_thin_and_fat_test_dylibs_built_from_c() {
    let Some(t) = tools("inspect_thin_and_fat_test_dylibs_built_from_c") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let arm = build_test_dylib(
        &t,
        dir.path(),
        "arm64",
        r#""{\"version\":\"0.1\",\"k\":[1,2]}""#,
    );
    let x86 = build_test_dylib(&t, dir.path(), "x86_64", r#""not json at all""#);
    let fat = dir.path().join("libt.dylib");
    run(Command::new(&t["LIPO"])
        .arg("-create")
        .arg(&arm)
        .arg(&x86)
        .arg("-output")
        .arg(&fat));

    let ia = inspect(&arm).unwrap();
    assert_eq!(ia.slices.len(), 1);
    assert_eq!(ia.slices[0].arch, "arm64");
    assert_eq!(ia.slices[0].current_version.as_deref(), Some("1.2.3"));
    assert_eq!(ia.slices[0].compatibility_version.as_deref(), Some("1.1.0"));
    assert_eq!(ia.install_name.as_deref(), Some("@rpath/libt.dylib"));
    assert_eq!(ia.metadata.as_ref().unwrap()["k"][1], 2);
    assert_agrees(&ia, &t["OBJDUMP"], &arm);

    let ix = inspect(&x86).unwrap();
    assert_eq!(ix.slices[0].arch, "x86_64");
    assert_eq!(ix.metadata, None, "invalid JSON gives no metadata...");
    assert_eq!(ix.warnings.len(), 1, "...and a warning: {:?}", ix.warnings);
    assert_agrees(&ix, &t["OBJDUMP"], &x86);

    let ifat = inspect(&fat).unwrap();
    let arches: Vec<_> = ifat.slices.iter().map(|s| s.arch.as_str()).collect();
    assert_eq!(arches.len(), 2);
    assert!(arches.contains(&"arm64") && arches.contains(&"x86_64"));
    // The fat file's slices are the thin files' slices (same UUIDs).
    for s in &ifat.slices {
        let thin = if s.arch == "arm64" { &ia } else { &ix };
        assert_eq!(s, &thin.slices[0]);
    }
    assert_eq!(
        ifat.metadata, ia.metadata,
        "the one valid metadata is reported"
    );
    assert_eq!(ifat.warnings.len(), 1);
    assert_agrees(&ifat, &t["OBJDUMP"], &fat);
    assert_ne!(ifat.sha256, ia.sha256);

    // Serialised keys are exactly the documented ones.
    let v = serde_json::to_value(&ifat).unwrap();
    let mut got: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    got.sort();
    assert_eq!(
        got,
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
    let mut slice_keys: Vec<_> = v["slices"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    slice_keys.sort();
    assert_eq!(
        slice_keys,
        ["arch", "compatibility_version", "current_version", "uuid"]
    );
}

/// The handshake's uuid is read by the dylib from its own mach header
/// (`agx_macho_uuid` in fix/src/core.c, via dladdr on a Mac). The same function, run on each
/// cross-built thin slice, must give what `inspect` and llvm-objdump read from the file.
#[test]
fn fix_reads_its_own_lc_uuid_like_inspect_does() {
    let Some(t) = tools("fix_reads_its_own_lc_uuid_like_inspect_does") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let version = std::fs::read_to_string(repo().join("fix/VERSION")).unwrap();
    let name = format!("libagx_fix_v{}.dylib", version.trim().replace('.', "_"));
    let tool = dir.path().join("host/macho_uuid");
    make_fix(dir.path(), &[], &[]);
    make_fix(dir.path(), &[tool.to_str().unwrap()], &[]);
    for arch in ["arm64", "x86_64"] {
        let thin = dir.path().join(arch).join(&name);
        let info = inspect(&thin).unwrap();
        let out = run(Command::new(&tool).arg(&thin));
        let got = out.trim();
        assert_eq!(got.len(), 36, "{arch}: {got}");
        assert_eq!(
            got,
            got.to_uppercase(),
            "{arch}: the handshake form is uppercase"
        );
        assert_eq!(
            Some(got.to_lowercase()),
            info.slices[0].uuid.as_ref().map(|u| u.to_lowercase()),
            "{arch}"
        );
        assert_agrees(&info, &t["OBJDUMP"], &thin);
    }
}
