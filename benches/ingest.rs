//! Ingest throughput and memory benchmark (`cargo bench --bench ingest`).
//!
//! Writes a few thousand realistic `.ips` reports to a temp folder, then measures in the same
//! run:
//! - the floor: read every file and parse its JSON values into `serde::de::IgnoredAny`;
//! - `agx_triage::ingest` into a fresh database (parse, hash, compress, bucket, SQLite), with
//!   one worker thread and with the default.
//!
//! It prints MB/s, reports/s and the ratio to the floor. Then it runs itself as a child
//! process to ingest 300 and 3000 reports and compares peak resident memory (VmHWM).
//!
//! `AGX_BENCH_REPORTS` overrides the report count (default 3000).
//!
//! Then the real-derived set, when `../shared/corpus/real` (or `$AGX_TRIAGE_CORPUS/real`) is
//! there: every `.ips` in it whose body has threads, each written 1,000 times
//! (`AGX_BENCH_REAL_COPIES`) with a new incident id. On it, runs interleaved (floor, ingest,
//! origin script; three times, medians): the floor, `agx_triage::ingest` with the default
//! workers, and the origin project's `check_crashes.py --sync` on the same files (when
//! `python3` and `../shared/anchors/check_crashes.py` are there); the store's bytes over the
//! input's; every original read back and compared byte for byte; peak memory ingesting a tenth
//! of the copies and all of them.
// A benchmark harness over files it wrote itself: a failed unwrap is a failed run, with its
// location, which is what a bench should report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use sha2::Digest;

// The allocator the binary uses (src/main.rs), so the bench measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use agx_triage::ingest::{ingest, IngestOptions, NoProgress};

/// A realistic report: 12 threads of 25 frames, 180 images, registers, asi, ~136 KB. The
/// reports of one machine list the same images; with `distinct_lists`, each report also lists
/// an image of its own (an extension module), so no two share an image list (the store's
/// worst case).
fn report(i: usize, distinct_lists: bool) -> String {
    let mut images = Vec::new();
    let own = if distinct_lists { 181 } else { 180 };
    for k in 0..own {
        if k == 180 {
            images.push(serde_json::json!({
                "source": "P", "arch": "arm64", "base": 4_200_000_000u64, "size": 0x4000,
                "uuid": format!("eeeeeeee-1111-2222-3333-{i:012x}"),
                "path": format!("/opt/homebrew/lib/python3.12/site-packages/ext{i}.so"),
                "name": format!("ext{i}.so")
            }));
            continue;
        }
        images.push(serde_json::json!({
            "source": "P", "arch": if k % 3 == 0 { "arm64" } else { "arm64e" },
            "base": 4_300_000_000u64 + (k as u64) * 0x400000, "size": 0x3f0000 + k * 16,
            "uuid": format!("{:08x}-1111-2222-3333-{:012x}", k, k * 7919),
            "path": format!("/System/Library/Frameworks/Framework{k}.framework/Versions/A/Framework{k}"),
            "name": format!("Framework{k}"),
            "CFBundleIdentifier": format!("com.apple.Framework{k}"),
            "CFBundleShortVersionString": "1.0", "CFBundleVersion": "100.2"
        }));
    }
    let mut threads = Vec::new();
    for t in 0..12usize {
        let frames: Vec<_> = (0..25usize)
            .map(|f| {
                serde_json::json!({
                    "imageOffset": 10_000 + f * 97 + t, "imageIndex": (f * 7 + t) % 180,
                    "symbol": format!("at::native::mps::kernel_{}_{}(at::Tensor const&, long long)", t, f),
                    "symbolLocation": 16 + f
                })
            })
            .collect();
        let mut th = serde_json::json!({"id": 1_000_000 + t, "frames": frames});
        if t == 3 {
            th["triggered"] = serde_json::json!(true);
            th["threadState"] = serde_json::json!({
                "x": (0..29).map(|r| serde_json::json!({"value": r * 1000 + i})).collect::<Vec<_>>(),
                "flavor": "ARM_THREAD_STATE64", "lr": {"value": 6_000_000_000u64},
                "fp": {"value": 6_100_000_000u64}, "sp": {"value": 6_100_000_000u64},
                "pc": {"value": 7_000_000_000u64, "matchesCrashFrame": 1},
                "far": {"value": 152}, "esr": {"value": 2_449_473_542u64, "description": "(Data Abort) byte read Translation fault"},
                "cpsr": {"value": 1_610_612_736u64}
            });
        }
        threads.push(th);
    }
    let incident = format!("B0000000-0000-4000-8000-{i:012}");
    let header = serde_json::json!({"app_name": "Python", "timestamp": "2026-11-02 10:15:30.00 -0800",
        "app_version": "3.12.7", "slice_uuid": "11111111-2222-3333-4444-555555555555",
        "build_version": "3.12.7", "platform": 1, "bug_type": "309",
        "os_version": "macOS 15.6 (24G84)", "incident_id": incident, "name": "Python"});
    let body = serde_json::json!({"uptime": 1000, "procRole": "Foreground", "version": 2,
        "userID": 501, "modelCode": "Mac16,1",
        "osVersion": {"train": "macOS 15.6", "build": "24G84", "releaseType": "User"},
        "captureTime": "2026-11-02 10:15:30.1234 -0800", "incident": incident, "pid": 5000 + i,
        "cpuType": "ARM-64", "procName": "Python", "procPath": "/opt/homebrew/bin/python3",
        "parentProc": "zsh", "parentPid": 4242,
        "exception": {"codes": "0x0000000000000001, 0x0000000000000098", "rawCodes": [1, 152],
            "type": "EXC_BAD_ACCESS", "signal": "SIGSEGV",
            "subtype": "KERN_INVALID_ADDRESS at 0x0000000000000098"},
        "termination": {"flags": 0, "code": 11, "namespace": "SIGNAL", "indicator": "Segmentation fault: 11",
            "byProc": "exc handler", "byPid": 5000 + i},
        "vmRegionInfo": "0x98 is not in any region.  Bytes before following region: 4302585704",
        "faultingThread": 3, "threads": threads, "usedImages": images,
        "sharedCache": {"base": 6_442_450_944u64, "size": 4_000_000_000u64, "uuid": "cb1d2d40-3a8f-3f6e-9a0b-5d2e4d1c0a11"},
        "legacyInfo": {"threadTriggered": {"queue": "metal gpu stream"}}});
    format!(
        "{}\n{}\n",
        header,
        serde_json::to_string_pretty(&body).unwrap()
    )
}

fn write_corpus(dir: &Path, n: usize) -> u64 {
    write_corpus_with(dir, n, false)
}

fn write_corpus_with(dir: &Path, n: usize, distinct_lists: bool) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let mut bytes = 0;
    for i in 0..n {
        let r = report(i, distinct_lists);
        bytes += r.len() as u64;
        std::fs::write(dir.join(format!("Python-{i:05}.ips")), r).unwrap();
    }
    bytes
}

fn floor(dir: &Path) -> (f64, usize) {
    let start = Instant::now();
    let mut values = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ips"))
        .collect();
    files.sort();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for v in serde_json::Deserializer::from_slice(&bytes).into_iter::<serde::de::IgnoredAny>() {
            v.unwrap();
            values += 1;
        }
    }
    (start.elapsed().as_secs_f64(), values)
}

/// Runs per measurement; the median is reported (single runs on a shared 2-core machine vary
/// by ±15%).
const RUNS: usize = 3;

fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut t: Vec<f64> = (0..RUNS).map(|_| f()).collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[RUNS / 2]
}

fn run_ingest(dir: &Path, db: &Path, threads: usize) -> f64 {
    run_ingest_with(dir, db, threads, true)
}

/// CPU seconds (user + system, every thread) this process has used so far.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(u.user_time()) + secs(u.system_time())
}

fn run_ingest_with(dir: &Path, db: &Path, threads: usize, bucket: bool) -> f64 {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let mut opts = IngestOptions {
        threads,
        ..IngestOptions::default()
    };
    if !bucket {
        opts.bucketer = None;
    }
    let start = Instant::now();
    let s = ingest(
        db,
        &[dir.to_path_buf()],
        &opts,
        &NoProgress,
        &AtomicBool::new(false),
    )
    .unwrap();
    let t = start.elapsed().as_secs_f64();
    assert!(s.failed.is_empty(), "{:?}", s.failed);
    t
}

/// Time each part of the ingest path alone, one thread, over the same files: where the
/// time goes, as ratios to the floor.
/// Returns the time bucketing alone took.
fn breakdown(dir: &Path, tmp: &Path, t_floor: f64) -> f64 {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let data: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let time = |name: &str, f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        let t = start.elapsed().as_secs_f64();
        println!("  part: {name:<40} {t:>8.3} s  {:>5.2}x floor", t / t_floor);
        t
    };
    time("parse into the model, every thread", &mut || {
        for b in &data {
            std::hint::black_box(agx_triage::crash::parse(b).unwrap());
        }
    });
    time("parse as ingest does (crashed thread)", &mut || {
        for b in &data {
            std::hint::black_box(
                agx_triage::crash::parse_with(b, agx_triage::crash::ThreadFrames::Crashed).unwrap(),
            );
        }
    });
    time("content key (blake3)", &mut || {
        for b in &data {
            std::hint::black_box(blake3::hash(b));
        }
    });
    time("sha256 (the key before migration 9)", &mut || {
        for b in &data {
            std::hint::black_box(sha2::Sha256::digest(b));
        }
    });
    for level in [1, 3] {
        time(&format!("zstd level {level}"), &mut || {
            for b in &data {
                std::hint::black_box(zstd::bulk::compress(b, level).unwrap());
            }
        });
    }
    for level in [1, 3] {
        let mut c = zstd::bulk::Compressor::new(level).unwrap();
        time(&format!("zstd level {level}, one context"), &mut || {
            for b in &data {
                std::hint::black_box(c.compress(b).unwrap());
            }
        });
    }
    let reports: Vec<_> = data
        .iter()
        .map(|b| agx_triage::crash::parse(b).unwrap())
        .collect();
    let bucketer = agx_triage::ingest::Bucketer::builtin();
    let t_bucket = time("bucket (signature and rules)", &mut || {
        for rs in &reports {
            for r in rs {
                std::hint::black_box(bucketer.fields(r));
            }
        }
    });
    let compressed: Vec<Vec<u8>> = data
        .iter()
        .map(|b| agx_triage::store::compress(b).unwrap())
        .collect();
    let db = tmp.join("writer-only.db");
    let mut store = agx_triage::store::Store::open(&db).unwrap();
    let batch = IngestOptions::default().batch_files;
    time("writer alone (SQLite inserts)", &mut || {
        for (chunk_i, chunk) in reports.chunks(batch).enumerate() {
            let tx = store.begin_write().unwrap();
            for (k, rs) in chunk.iter().enumerate() {
                let i = chunk_i * batch + k;
                let sha = format!("{i:064x}");
                tx.put_file(&sha, data[i].len() as u64, &compressed[i])
                    .unwrap();
                for (j, r) in rs.iter().enumerate() {
                    tx.insert_report(r, &sha, j, &files[i].display().to_string(), None)
                        .unwrap();
                }
            }
            tx.commit().unwrap();
        }
    });
    t_bucket
}

/// The shared corpus's `real/` folder, when this checkout has one.
fn real_corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = match std::env::var_os("AGX_TRIAGE_CORPUS") {
        Some(p) => root.join(p),
        None => root.join("../shared/corpus"),
    };
    let real = corpus.join("real");
    real.is_dir().then_some(real)
}

/// Every `.ips` in `real` whose body has threads (a crash, not a panic or jetsam report): its
/// name, bytes and incident id.
fn real_crashes(real: &Path) -> Vec<(String, Vec<u8>, Option<String>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(real)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ips"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        let bytes = std::fs::read(&p).unwrap();
        let Some(nl) = bytes.iter().position(|b| *b == b'\n') else {
            continue;
        };
        let header: Option<serde_json::Value> = serde_json::from_slice(&bytes[..nl]).ok();
        let body: Option<serde_json::Value> = serde_json::from_slice(&bytes[nl + 1..]).ok();
        let (Some(header), Some(body)) = (header, body) else {
            continue;
        };
        if body["threads"].as_array().is_none_or(|t| t.is_empty()) {
            continue;
        }
        let incident = header["incident_id"]
            .as_str()
            .or(body["incident"].as_str())
            .map(str::to_string);
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        out.push((stem, bytes, incident));
    }
    out
}

/// Write `copies` copies of each real crash into `dir`, each with a new incident id (same
/// length, every occurrence replaced). Returns the bytes written.
fn write_real_set(crashes: &[(String, Vec<u8>, Option<String>)], dir: &Path, copies: usize) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let mut total = 0;
    for (n, (stem, bytes, incident)) in crashes.iter().enumerate() {
        let text = String::from_utf8_lossy(bytes);
        for k in 0..copies {
            let new_id = format!("{n:08X}-0000-4000-8000-{k:012X}");
            let out = match incident {
                Some(id) if id.len() == new_id.len() => text.replace(id.as_str(), &new_id),
                _ => text.to_string(),
            };
            total += out.len() as u64;
            std::fs::write(dir.join(format!("{stem}-{k:05}.ips")), out).unwrap();
        }
    }
    total
}

/// Bytes of the database and everything beside it that belongs to it (`-wal`, `-shm`).
fn store_bytes(db: &Path) -> u64 {
    let name = db.file_name().unwrap().to_string_lossy().to_string();
    std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&name))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Read every file of `dir` back from the store at `db` and compare: (matching, total).
fn read_back(db: &Path, dir: &Path) -> (usize, usize) {
    let store = agx_triage::store::Store::open(db).unwrap();
    let (mut ok, mut total) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|e| e != "ips") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        // Independently of the store's code: the key is the BLAKE3 hash of the bytes.
        let sha: String = blake3::hash(&bytes).to_hex().to_string();
        total += 1;
        if store.file_bytes(&sha).is_ok_and(|b| b == bytes) {
            ok += 1;
        }
    }
    (ok, total)
}

/// Peak memory (KB) of a child process ingesting `dir`.
fn child_peak_kb(dir: &Path, db: &Path) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("AGX_BENCH_CHILD_DIR", dir)
        .env("AGX_BENCH_CHILD_DB", db)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// The real-derived set: floor, ingest, the origin script, store size, read-back, memory.
fn real_derived(tmp: &Path) {
    let Some(real) = real_corpus() else {
        println!("real-derived set: skipped (no ../shared/corpus/real)");
        return;
    };
    let copies: usize = std::env::var("AGX_BENCH_REAL_COPIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let crashes = real_crashes(&real);
    // The origin script reads `<its folder>/../crash_logs/`: the set is written there.
    let origin = tmp.join("origin");
    let dir = origin.join("crash_logs");
    let bytes = write_real_set(&crashes, &dir, copies);
    let n = crashes.len() * copies;
    let mb = bytes as f64 / 1e6;
    println!();
    println!(
        "real-derived set: {} real crashes with threads x {copies} copies = {n} reports, {mb:.1} MB",
        crashes.len()
    );
    let script_src = real.join("../../anchors/check_crashes.py");
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let script = (python && script_src.is_file()).then(|| {
        let s = origin.join("scripts/check_crashes.py");
        std::fs::create_dir_all(s.parent().unwrap()).unwrap();
        std::fs::copy(&script_src, &s).unwrap();
        s
    });
    let db = tmp.join("real.db");
    let workers = IngestOptions::default().threads;
    let _ = floor(&dir);
    let (mut tf, mut ti, mut tp) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        tf.push(floor(&dir).0);
        let cpu = cpu_seconds();
        let wall = run_ingest(&dir, &db, workers);
        ti.push((wall, cpu_seconds() - cpu));
        if let Some(s) = &script {
            let start = Instant::now();
            let o = std::process::Command::new("python3")
                .arg(s)
                .arg("--sync")
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(o.success(), "check_crashes.py --sync failed");
            tp.push(start.elapsed().as_secs_f64());
        }
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let t_floor = med(tf);
    ti.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (t_ingest, cpu_ingest) = ti[ti.len() / 2];
    let row = |name: &str, t: f64| {
        println!(
            "{name:<52} {:>8.3} s {:>8.1} MB/s {:>8.0} reports/s  {:>5.2}x floor",
            t,
            mb / t,
            n as f64 / t,
            t / t_floor
        )
    };
    row("floor: read + serde_json IgnoredAny (1 thread)", t_floor);
    row(&format!("agx-triage ingest, {workers} workers"), t_ingest);
    println!(
        "  ingest CPU (user + system, all threads): {cpu_ingest:.3} s = {:.2} cores busy on average",
        cpu_ingest / t_ingest
    );
    if tp.is_empty() {
        println!("origin script: skipped (no python3 or ../shared/anchors/check_crashes.py)");
    } else {
        let t_py = med(tp);
        row("origin: python3 check_crashes.py --sync", t_py);
        println!(
            "origin script time / ingest time: {:.2}x (goal >= 3x); ingest / floor: {:.2}x \
             (goal <= 3.0x)",
            t_py / t_ingest,
            t_ingest / t_floor
        );
    }
    let stored = store_bytes(&db);
    println!(
        "store: {:.1} MB for {mb:.1} MB of input = {:.1}% (goal <= 15%)",
        stored as f64 / 1e6,
        stored as f64 / bytes as f64 * 100.0
    );
    let stats = agx_triage::store::Store::open(&db)
        .unwrap()
        .file_stats()
        .unwrap();
    println!(
        "  of which originals: {:.1} MB compressed ({} of {} files with a dictionary), \
         dictionaries {:.2} MB",
        stats.stored as f64 / 1e6,
        stats.with_dictionary,
        stats.files,
        stats.dictionaries as f64 / 1e6
    );
    let (ok, total) = read_back(&db, &dir);
    println!("originals read back byte-exact: {ok} / {total}");
    assert_eq!(ok, total, "an original did not read back byte for byte");

    let small = tmp.join("real-tenth");
    write_real_set(&crashes, &small, copies / 10);
    let kb_small = child_peak_kb(&small, &tmp.join("mem-real-small.db"));
    let kb_all = child_peak_kb(&dir, &tmp.join("mem-real-all.db"));
    println!(
        "peak RSS ingesting {:>5} reports: {:>7.1} MB",
        crashes.len() * (copies / 10),
        kb_small as f64 / 1024.0
    );
    println!(
        "peak RSS ingesting {n:>5} reports: {:>7.1} MB",
        kb_all as f64 / 1024.0
    );
    if kb_small > 0 {
        println!(
            "memory ratio {n}/{} reports: {:.2}x (goal <= 1.5x)",
            crashes.len() * (copies / 10),
            kb_all as f64 / kb_small as f64
        );
    }
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    // Child mode: ingest a folder, print peak memory.
    if let Ok(dir) = std::env::var("AGX_BENCH_CHILD_DIR") {
        let db = PathBuf::from(std::env::var("AGX_BENCH_CHILD_DB").unwrap());
        run_ingest(Path::new(&dir), &db, 2);
        println!("{}", vm_hwm_kb());
        return;
    }
    // Write the corpus somewhere and stop (for profiling the parts with other tools).
    if let Ok(dir) = std::env::var("AGX_BENCH_WRITE_TO") {
        let n = std::env::var("AGX_BENCH_REPORTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000);
        write_corpus(Path::new(&dir), n);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if std::env::var_os("AGX_BENCH_REAL_ONLY").is_some() {
        let tmp = tempfile::tempdir().unwrap();
        real_derived(tmp.path());
        return;
    }
    let n: usize = std::env::var("AGX_BENCH_REPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    let bytes = write_corpus(&dir, n);
    let mb = bytes as f64 / 1e6;
    println!(
        "ingest benchmark: {n} reports, {mb:.1} MB ({} KB each); median of {RUNS} runs each",
        bytes / n as u64 / 1000
    );
    // Warm the page cache for both contenders.
    let _ = floor(&dir);
    let t_floor = median(|| floor(&dir).0);
    let db = tmp.path().join("bench.db");
    let workers = IngestOptions::default().threads;
    let tn = median(|| run_ingest(&dir, &db, workers));
    // With and without bucketing interleaved, so a drift in the machine's speed hits both.
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        on.push(run_ingest(&dir, &db, 1));
        off.push(run_ingest_with(&dir, &db, 1, false));
    }
    let mut on = on.into_iter();
    let mut off = off.into_iter();
    let t1 = median(|| on.next().unwrap());
    let t1_nobucket = median(|| off.next().unwrap());
    let row = |name: &str, t: f64, floor: f64| {
        println!(
            "{name:<52} {:>8.3} s {:>8.1} MB/s {:>8.0} reports/s  {:>5.2}x floor",
            t,
            mb / t,
            n as f64 / t,
            t / floor
        )
    };
    row(
        "floor: read + serde_json IgnoredAny (1 thread)",
        t_floor,
        t_floor,
    );
    row("agx-triage ingest, 1 worker", t1, t_floor);
    row(
        &format!("agx-triage ingest, {workers} workers"),
        tn,
        t_floor,
    );
    row(
        "agx-triage ingest, 1 worker, no bucketing",
        t1_nobucket,
        t_floor,
    );

    // The store's worst case: no two reports share an image list.
    let distinct = tmp.path().join("distinct");
    write_corpus_with(&distinct, n, true);
    let _ = floor(&distinct);
    let t_floor_d = median(|| floor(&distinct).0);
    let td = median(|| run_ingest(&distinct, &db, workers));
    row("every image list distinct: floor", t_floor_d, t_floor_d);
    row(
        &format!("every image list distinct: ingest, {workers} workers"),
        td,
        t_floor_d,
    );

    println!("where the time goes (each part alone, one thread, same files):");
    let t_bucket = breakdown(&dir, tmp.path(), t_floor);
    println!(
        "bucketing: {:.1}% of the 1-worker ingest time alone; on/off runs differ by {:+.1}% \
         (goal <= 10%)",
        t_bucket / t1 * 100.0,
        (t1 / t1_nobucket - 1.0) * 100.0
    );

    // Peak memory: 300 vs 3000 reports, each in a fresh process.
    let exe = std::env::current_exe().unwrap();
    let mut peaks = Vec::new();
    for count in [300usize, 3000] {
        let d = tmp.path().join(format!("mem{count}"));
        write_corpus(&d, count);
        let out = std::process::Command::new(&exe)
            .env("AGX_BENCH_CHILD_DIR", &d)
            .env(
                "AGX_BENCH_CHILD_DB",
                tmp.path().join(format!("mem{count}.db")),
            )
            .output()
            .unwrap();
        let kb: u64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        peaks.push(kb);
        println!(
            "peak RSS ingesting {count:>5} reports: {:>7.1} MB",
            kb as f64 / 1024.0
        );
    }
    if peaks[0] > 0 {
        println!(
            "memory ratio 3000/300 reports: {:.2}x (goal <= 1.5x)",
            peaks[1] as f64 / peaks[0] as f64
        );
    }
    real_derived(tmp.path());
}
