//! Helpers shared by the integration tests: the binary, temp databases, synthetic reports and
//! the corpus location.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The agx-triage binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_agx-triage"));
    c.env_remove("AGX_TRIAGE_DB");
    c
}

/// Run agx-triage with `--db db` and the given arguments.
pub fn run(db: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run agx-triage")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse stdout as JSON, with the output in the panic message when it is not.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// A small but complete `.ips` crash report (header line + pretty body) in the layout macOS
/// 15 writes, with the given incident id and pid. `frames` extra frames pad the crashed thread
/// (to make big files).
pub fn synth_ips(incident: &str, pid: u32, frames: usize) -> String {
    let mut fr = vec![
        serde_json::json!({"imageOffset": 1234, "symbol": "objc_msgSend", "symbolLocation": 32, "imageIndex": 1}),
        serde_json::json!({"imageOffset": 5678, "symbol": "-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]", "symbolLocation": 40, "imageIndex": 2}),
    ];
    for i in 0..frames {
        fr.push(serde_json::json!({"imageOffset": 100 + i, "symbol": format!("pad_{i}"), "symbolLocation": 4, "imageIndex": 0}));
    }
    let header = serde_json::json!({
        "app_name": "Python", "timestamp": "2026-11-02 10:15:30.00 -0800", "app_version": "3.12.7",
        "slice_uuid": "11111111-2222-3333-4444-555555555555", "build_version": "3.12.7",
        "platform": 1, "bug_type": "309", "os_version": "macOS 15.6 (24G84)",
        "incident_id": incident, "name": "Python"
    });
    let body = serde_json::json!({
        "uptime": 1000, "procRole": "Foreground", "version": 2, "userID": 501,
        "modelCode": "Mac16,1",
        "osVersion": {"train": "macOS 15.6", "build": "24G84", "releaseType": "User"},
        "captureTime": "2026-11-02 10:15:30.1234 -0800", "incident": incident, "pid": pid,
        "cpuType": "ARM-64", "procName": "Python", "procPath": "/opt/homebrew/bin/python3",
        "parentProc": "zsh", "parentPid": 4242,
        "exception": {"codes": "0x0000000000000001, 0x00001ba36e2f2650", "type": "EXC_BAD_ACCESS",
                      "signal": "SIGSEGV", "subtype": "KERN_INVALID_ADDRESS at 0x00001ba36e2f2650"},
        "termination": {"flags": 0, "code": 11, "namespace": "SIGNAL", "indicator": "Segmentation fault: 11"},
        "faultingThread": 0,
        "threads": [{"triggered": true, "id": 77, "queue": "com.apple.main-thread", "frames": fr},
                    {"id": 78, "frames": [{"imageOffset": 9, "symbol": "__psynch_cvwait", "symbolLocation": 8, "imageIndex": 1}]}],
        "usedImages": [
            {"source": "P", "arch": "arm64", "base": 4300000000u64, "size": 16384, "uuid": "11111111-2222-3333-4444-555555555555", "path": "/opt/homebrew/bin/python3", "name": "python3"},
            {"source": "P", "arch": "arm64e", "base": 6500000000u64, "size": 300000, "uuid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "path": "/usr/lib/libobjc.A.dylib", "name": "libobjc.A.dylib"},
            {"source": "P", "arch": "arm64e", "base": 7500000000u64, "size": 3000000, "uuid": "99999999-8888-7777-6666-555555555555", "path": "/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X", "name": "AGXMetalG16X"}
        ]
    });
    format!(
        "{}\n{}\n",
        serde_json::to_string(&header).unwrap(),
        serde_json::to_string_pretty(&body).unwrap()
    )
}

/// Write `synth_ips` files named `<prefix>-<i>.ips` into `dir`, incident ids numbered from
/// `start`.
pub fn write_reports(dir: &Path, prefix: &str, start: usize, n: usize, frames: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in start..start + n {
        let id = format!("00000000-0000-4000-8000-{i:012}");
        std::fs::write(
            dir.join(format!("{prefix}-{i}.ips")),
            synth_ips(&id, 1000 + i as u32, frames),
        )
        .unwrap();
    }
}

/// The shared corpus folder, or `None` (with a message) when this checkout has none.
/// With `AGX_TRIAGE_CORPUS` set, a missing folder is a failure, not a skip.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AGX_TRIAGE_CORPUS") {
        let mut p = PathBuf::from(p);
        if p.is_relative() {
            p = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
        }
        assert!(
            p.join("real").is_dir(),
            "AGX_TRIAGE_CORPUS={} has no real/ folder",
            p.display()
        );
        return Some(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if p.join("real").is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: no crash corpus (set AGX_TRIAGE_CORPUS to run this test)");
        None
    }
}

/// Create an empty agx-triage database at `db` (read commands never create one): ingest an
/// empty folder.
pub fn create_db(db: &Path) {
    let empty = db.with_extension("empty-folder");
    std::fs::create_dir_all(&empty).unwrap();
    let o = run(db, &["ingest", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_dir(&empty).unwrap();
}
