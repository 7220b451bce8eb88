//! Helpers shared by the integration tests: the binary, temp databases, synthetic reports and
//! the corpus location.
// Test helper module: a failed unwrap here is a test failure, which is what a test wants.
// clippy.toml's allow-unwrap-in-tests covers only `#[test]` functions, not helpers like these.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The agx-triage binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_agx-triage"));
    c.env_remove("AGX_TRIAGE_DB");
    // Outputs name the host that ingested a report: the same name on every machine, so
    // snapshots do not depend on where the tests run. Tests of naming set their own.
    c.env("AGX_TRIAGE_HOST", "test-mac");
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

/// A small but complete `.ips` crash report (header line + body, in the layout macOS 15
/// writes, built by agx-synth) with the given incident id and pid: a `SIGSEGV` in
/// `objc_msgSend` under the AGX driver's `setBuffer:offset:atIndex:` on the main thread, a
/// second waiting thread, and three images (python3, libobjc, AGXMetalG16X; no absolute null
/// image, so tests can append their own at index 3). `frames` extra frames pad the crashed
/// thread (to make big files), ~150 bytes each.
pub fn synth_ips(incident: &str, pid: u32, frames: usize) -> String {
    synth_report(incident, pid, frames).build_ips()
}

/// The report behind [`synth_ips`], for tests that change it before writing it out.
pub fn synth_report(incident: &str, pid: u32, frames: usize) -> agx_synth::Report {
    use agx_synth::{Frame, Image, Report, Thread};
    let mut crashed = Thread::new(77)
        .queue("com.apple.main-thread")
        .frame(Frame::new(1, 1234).symbol("objc_msgSend", 32))
        .frame(Frame::new(2, 5678).symbol(
            "-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]",
            40,
        ));
    // A padding frame is ~150 bytes, as a frame with a PyTorch symbol is in a real report.
    for i in 0..frames {
        let symbol = format!(
            "at::native::mps::pad_{i}(at::Tensor const&, at::Tensor const&, c10::Scalar const&, bool)"
        );
        crashed = crashed.frame(Frame::new(0, 100 + i as u64).symbol(&symbol, 4));
    }
    let mut r = Report::new()
        .incident(incident)
        .pid(u64::from(pid))
        .image(
            Image::new("python3", "/opt/homebrew/bin/python3")
                .arch("arm64")
                .base(4_300_000_000)
                .size(16384)
                .uuid("11111111-2222-3333-4444-555555555555"),
        )
        .image(
            Image::new("libobjc.A.dylib", "/usr/lib/libobjc.A.dylib")
                .base(6_500_000_000)
                .size(300_000)
                .uuid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        )
        .image(
            Image::new(
                "AGXMetalG16X",
                "/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X",
            )
            .base(7_500_000_000)
            .size(3_000_000)
            .uuid("99999999-8888-7777-6666-555555555555"),
        )
        .thread(crashed)
        .thread(Thread::new(78).frame(Frame::new(1, 9).symbol("__psynch_cvwait", 8)))
        .faulting_thread(0);
    r.absolute_null_image = false;
    r
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

/// The files of a folder (not its subfolders, not `MANIFEST.tsv`), sorted.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "MANIFEST.tsv"))
        .collect();
    out.sort();
    out
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
