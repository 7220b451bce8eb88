//! Generates the project's own sample DiagnosticReports and verification-round log.
//!
//! `cargo run --example gen_samples -- samples` rewrites `samples/reports/` and
//! `samples/rounds.jsonl` (it never touches `samples/README.md`). Everything is deterministic:
//! a fixed seed drives a small xorshift generator, every date is written out here, UUIDs are
//! hashes of descriptive labels, and nothing reads the clock or the OS's randomness, so a
//! second run yields the same bytes (`tests/samples_fresh.rs` checks the committed copy).
//!
//! This file tells the story: three blocks of verification rounds (native, v2.3, v2.4), which
//! attempt crashes with which pattern, the odd files around them, and their names. The crashes
//! themselves come from `agx_synth::scenario` (machines, images, stack templates per known
//! crash pattern of docs/BUCKETS.md, ordinary non-AGX crashes), and every file is written by
//! `agx_synth::Report` in the layout macOS 15.6 ReportCrash uses: a one-line JSON header, then
//! a body whose top level is pretty-printed with `" : "` separators while `threads`,
//! `exception` and friends stay on one line, `/` escaped as `\/`, and the values after
//! `threads` printed as if they stood alone. No corpus file is copied; user names (`alice`,
//! `bob`), apps (`LedgerSync`, `PixelNotes`), UUIDs and addresses are made up.
//!
//! This is a sample-data tool, not library code: it may print.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use agx_synth::json::{obj, s, Json as J};
use agx_synth::scenario::{
    appkit_uaf_crash, file_stamp, fix_path, fmt_utc, local, millis, numpy_extension_crash, pattern,
    python_crash, render_gpu_event, render_ips, render_legacy, render_translated, secs,
    swift_abort_crash, Ctx, Local, Machine, PyCrash, Rng, Unsym, M1_MAX, M2_MAX, M3_MAX, M4_MAX,
};
use chrono::Duration;

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "samples".to_string());
    match generate(Path::new(&out)) {
        Ok(files) => println!("gen_samples: wrote {} files under {out}", files.len()),
        Err(e) => {
            eprintln!("gen_samples: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verification rounds: the plan (data) and the timeline
// ---------------------------------------------------------------------------------------------

/// One attempt of a round.
#[derive(Clone, Copy)]
enum Att {
    /// Exited 0, no report.
    Pass,
    /// Killed by a crash that left a report of this pattern, in this PyTorch context.
    Crash(&'static str, Ctx),
    /// Like `Crash`, but the report is also saved as the crash dialog's "Translated Report".
    CrashDialog(&'static str, Ctx),
    /// The test itself failed (Python exception, wrong result): exit 1, no report.
    Exit1,
    /// Exit code 0, yet a worker subprocess crashed and left a report: not a raw pass.
    Exit0WithReport(&'static str, Ctx),
}

use Att::{Crash, CrashDialog, Exit0WithReport, Exit1, Pass};

struct RoundPlan {
    round: u32,
    attempts: Vec<Att>,
}

fn r(round: u32, attempts: &[Att]) -> RoundPlan {
    RoundPlan {
        round,
        attempts: attempts.to_vec(),
    }
}

struct Block {
    fix: Option<&'static str>,
    batches: &'static [(u32, u32)],
    start: Local,
    first_pid: u64,
    runner_pid: u64,
    /// Efficiency (tenths of a percent) of each round that eventually passed, in round order.
    efficiency: &'static [u64],
    rounds: Vec<RoundPlan>,
}

fn machine_for(round: u32) -> Machine {
    match round {
        1780..=1784 => M2_MAX,
        1785..=1789 => M3_MAX,
        _ => M4_MAX,
    }
}

/// Native baseline (no fix) on two older Macs, 6/10 raw, 9/10 with retries.
fn native_block() -> Block {
    use Ctx::*;
    Block {
        fix: None,
        batches: &[(1780, 1789)],
        start: local((2026, 10, 30), (9, 20, 0), -7),
        first_pid: 40112,
        runner_pid: 40087,
        efficiency: &[152, 149, 155, 150, 147, 153, 151, 148, 154],
        rounds: vec![
            r(1780, &[Pass]),
            r(1781, &[Crash("agx-null-0x5f4-dispatch", Gather), Pass]),
            r(1782, &[Pass]),
            r(
                1783,
                &[Crash("agx-encoder-already-encoding", EncoderGather), Pass],
            ),
            r(1784, &[Pass]),
            r(1785, &[Pass]),
            r(
                1786,
                &[
                    Crash("agx-null-impl-0x98", Gather),
                    Crash("agx-null-0x5f4-dispatch", MulKernel),
                    Crash("objc-retain-freed-object", Gather),
                    Crash("agx-null-0x1e0-bindresource", Matmul),
                ],
            ),
            r(1787, &[Pass]),
            r(1788, &[Exit1, Pass]),
            r(1789, &[Pass]),
        ],
    }
}

/// v2.3: 20/30 raw, 28/30 with retries.
fn v23_block() -> Block {
    use Ctx::*;
    Block {
        fix: Some("v2_3"),
        batches: &[(1790, 1799), (1800, 1819)],
        start: local((2026, 10, 30), (10, 25, 0), -7),
        first_pid: 41020,
        runner_pid: 40990,
        efficiency: &[
            139, 141, 136, 143, 138, 140, 135, 142, 139, 137, 144, 140, 136, 139, 141, 138, 146,
            135, 140, 137, 142, 139, 131, 140, 138, 143, 137, 139,
        ],
        rounds: vec![
            r(1790, &[Pass]),
            r(1791, &[Crash("agx-null-impl-0x98", Gather), Pass]),
            r(1792, &[Pass]),
            r(
                1793,
                &[Crash("agx-encoder-already-encoding", EncoderGather), Pass],
            ),
            r(1794, &[Pass]),
            r(1795, &[Pass]),
            r(1796, &[Crash("metal-commit-open-encoder", Item), Pass]),
            r(1797, &[Pass]),
            r(1798, &[Pass]),
            r(1799, &[Pass]),
            r(1800, &[Pass]),
            r(
                1801,
                &[Crash("objc-msgsend-freed-encoder", LayerNorm), Pass],
            ),
            r(1802, &[Pass]),
            r(1803, &[Pass]),
            r(
                1804,
                &[
                    CrashDialog("agx-null-impl-0x98", BinaryGraph),
                    Crash("metal-signal-event-open-encoder", EventRecord),
                    Pass,
                ],
            ),
            r(1805, &[Pass]),
            r(1806, &[Pass]),
            r(
                1807,
                &[
                    Crash("objc-retain-freed-object", Gather),
                    Crash("agx-null-impl-0x5c8", MulKernel),
                    Crash("agx-null-impl-0x98", Gather),
                    Exit1,
                ],
            ),
            r(1808, &[Pass]),
            r(1809, &[Pass]),
            r(
                1810,
                &[Crash("agx-null-0x3b90-setbuffer", IndexSelect), Pass],
            ),
            r(1811, &[Pass]),
            r(1812, &[Pass]),
            r(
                1813,
                &[
                    Crash("metal-completed-handler-after-commit", Dealloc),
                    Exit1,
                    Exit1,
                    Crash("objc-msgsend-freed-encoder", LayerNorm),
                ],
            ),
            r(1814, &[Pass]),
            r(1815, &[Pass]),
            r(1816, &[Crash("agx-null-0x184-spill", MulKernel), Pass]),
            r(1817, &[Pass]),
            r(1818, &[Pass]),
            r(1819, &[Exit1, Pass]),
        ],
    }
}

/// v2.4: 15/30 raw, 29/30 with retries; efficiency mean 14.4 (min 13.4, max 15.1).
fn v24_block() -> Block {
    use Ctx::*;
    Block {
        fix: Some("v2_4"),
        batches: &[(1820, 1829), (1830, 1849)],
        start: local((2026, 11, 2), (9, 35, 0), -8),
        first_pid: 52310,
        runner_pid: 52288,
        efficiency: &[
            146, 143, 139, 148, 151, 142, 145, 144, 137, 146, 149, 141, 143, 134, 147, 145, 140,
            144, 148, 142, 146, 143, 139, 145, 150, 144, 141, 147, 147,
        ],
        rounds: vec![
            r(1820, &[Pass]),
            r(1821, &[Crash("agx-null-impl-0x98", Gather), Pass]),
            r(1822, &[Pass]),
            r(1823, &[Pass]),
            r(1824, &[Crash("agx-null-impl-0x5c8", MulKernel), Pass]),
            r(1825, &[Pass]),
            r(1826, &[Pass]),
            r(
                1827,
                &[
                    Exit0WithReport("objc-msgsend-freed-encoder", LayerNorm),
                    Pass,
                ],
            ),
            r(1828, &[Pass]),
            r(1829, &[Pass]),
            r(
                1830,
                &[
                    Crash("agx-null-impl-0x98", BinaryGraph),
                    Crash("agx-null-impl-0x5c8", Gather),
                    Pass,
                ],
            ),
            r(1831, &[Pass]),
            r(1832, &[Exit1, Pass]),
            r(1833, &[Crash("agx-null-impl-0x98", Gather), Pass]),
            r(1834, &[Pass]),
            r(1835, &[Crash("agx-null-impl-0x5c8", MulKernel), Pass]),
            r(
                1836,
                &[
                    Crash("agx-null-0x3b90-setbuffer", IndexSelect),
                    Crash("agx-null-impl-0x98", Gather),
                    Crash("agx-null-impl-0x5c8", MulKernel),
                    Crash("objc-msgsend-freed-encoder", LayerNorm),
                ],
            ),
            r(1837, &[Pass]),
            r(1838, &[Crash("agx-null-0x184-spill", MulKernel), Pass]),
            r(1839, &[Crash("agx-null-impl-0x98", Gather), Pass]),
            r(1840, &[Pass]),
            r(1841, &[Exit1, Exit1, Pass]),
            r(1842, &[Pass]),
            r(1843, &[Crash("agx-null-0x1e0-bindresource", Matmul), Pass]),
            r(1844, &[Pass]),
            r(1845, &[Pass]),
            r(1846, &[Exit1, Pass]),
            r(1847, &[Pass]),
            r(1848, &[Crash("agx-null-impl-0x5c8", MulKernel), Pass]),
            r(1849, &[Exit1, Pass]),
        ],
    }
}

/// A file to write, relative to the output folder.
struct OutFile {
    path: String,
    bytes: Vec<u8>,
}

struct Generated {
    files: Vec<OutFile>,
    /// The `.ips` of the report copied under `reports/copies/`.
    copy_source: Option<(String, Vec<u8>)>,
    crash_seq: usize,
    freed_variant: usize,
}

fn push_unique(files: &mut Vec<OutFile>, path: String, bytes: Vec<u8>) -> io::Result<()> {
    if files.iter().any(|f| f.path == path) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("two samples would be written to {path}"),
        ));
    }
    files.push(OutFile { path, bytes });
    Ok(())
}

fn unsym_for(seq: usize) -> Unsym {
    match seq % 7 {
        3 => Unsym::Deep,
        5 if seq > 20 => Unsym::All,
        _ => Unsym::None,
    }
}

/// A report an attempt leaves behind.
struct ReportReq {
    pattern: &'static str,
    ctx: Ctx,
    /// Also saved as the crash dialog's copy.
    dialog: bool,
    /// Written by a worker subprocess while the test itself exited 0.
    child: bool,
}

/// Runs a block's plan through a clock: every attempt gets a window, every crash a report whose
/// `captureTime` lies inside that window. Returns the block's JSON lines.
fn run_block(block: &Block, gen: &mut Generated, rng: &mut Rng) -> io::Result<Vec<String>> {
    let mut t = block.start + millis(rng.range(0, 999) as i64);
    let mut pid = block.first_pid;
    let mut eff = block.efficiency.iter();
    let mut lines = Vec::new();
    for plan in &block.rounds {
        let machine = machine_for(plan.round);
        let round_start = t;
        let mut attempts_json = Vec::new();
        let mut passed = false;
        for (ai, att) in plan.attempts.iter().enumerate() {
            let start = t;
            let launch = start + millis(rng.range(250, 480) as i64);
            pid += rng.range(3, 40);
            let (exit_code, signal, finish, report): (J, J, Local, Option<ReportReq>) = match *att {
                Pass => {
                    passed = true;
                    (
                        J::Int(0),
                        J::Null,
                        start + secs(rng.range(150, 195) as i64) + millis(rng.range(0, 999) as i64),
                        None,
                    )
                }
                Exit1 => (
                    J::Int(1),
                    J::Null,
                    start + secs(rng.range(60, 150) as i64) + millis(rng.range(0, 999) as i64),
                    None,
                ),
                Crash(p, c) | CrashDialog(p, c) => {
                    let sig = if pattern(p).abort { 6 } else { 11 };
                    let dialog = matches!(att, CrashDialog(..));
                    (
                        J::Null,
                        J::Int(sig),
                        start,
                        Some(ReportReq {
                            pattern: p,
                            ctx: c,
                            dialog,
                            child: false,
                        }),
                    )
                }
                Exit0WithReport(p, c) => (
                    J::Int(0),
                    J::Null,
                    start,
                    Some(ReportReq {
                        pattern: p,
                        ctx: c,
                        dialog: false,
                        child: true,
                    }),
                ),
            };
            let mut finish = finish;
            let mut incidents = Vec::new();
            if let Some(ReportReq {
                pattern: p,
                ctx: c,
                dialog,
                child,
            }) = report
            {
                let crash_at = launch
                    + secs(rng.range(20, 140) as i64)
                    + Duration::microseconds(rng.range(0, 9_999) as i64 * 100);
                let seq = gen.crash_seq;
                gen.crash_seq += 1;
                let variant = if p == "objc-msgsend-freed-encoder" {
                    gen.freed_variant += 1;
                    gen.freed_variant - 1
                } else {
                    seq
                };
                // A worker subprocess has its own pid; its parent is the test's Python.
                let (crash_pid, parent, crash_launch) = if child {
                    (pid + 7, ("Python", pid), launch + secs(4))
                } else {
                    (pid, ("bash", block.runner_pid), launch)
                };
                let report = python_crash(
                    PyCrash {
                        pattern: p,
                        ctx: c,
                        machine,
                        fix: block.fix,
                        capture: crash_at,
                        launch: crash_launch,
                        pid: crash_pid,
                        parent,
                        unsym: unsym_for(seq),
                        label: format!("round-{}/attempt-{}", plan.round, ai + 1),
                        variant,
                    },
                    rng,
                );
                finish = if child {
                    crash_at + secs(rng.range(60, 120) as i64)
                } else {
                    crash_at + millis(rng.range(1200, 2900) as i64)
                };
                incidents.push(s(report.incident.clone()));
                let stamp = file_stamp(&report.written);
                if dialog {
                    push_unique(
                        &mut gen.files,
                        format!("reports/Python-{stamp}-crash-dialog.crash"),
                        render_translated(&report).into_bytes(),
                    )?;
                } else {
                    let name = format!("reports/Python-{stamp}.ips");
                    let bytes = render_ips(&report).into_bytes();
                    if plan.round == 1833 {
                        gen.copy_source = Some((name.clone(), bytes.clone()));
                    }
                    push_unique(&mut gen.files, name, bytes)?;
                }
                // Two GPU restarts right after driver crashes, as the driver logs them.
                if (plan.round == 1786 && ai == 0) || plan.round == 1839 {
                    let at = report.written + secs(3);
                    push_unique(
                        &mut gen.files,
                        format!("reports/gpuEvent-Python-{}.ips", file_stamp(&at)),
                        render_gpu_event(
                            "Python",
                            &at,
                            &report.label,
                            (4, "firmware-detected lockup"),
                        )
                        .into_bytes(),
                    )?;
                }
            }
            attempts_json.push(obj(vec![
                ("exit_code", exit_code),
                ("signal", signal),
                ("started_at", s(fmt_utc(&start))),
                ("finished_at", s(fmt_utc(&finish))),
                ("crash_reports", J::Arr(incidents)),
            ]));
            t = finish + secs(2) + millis(rng.range(0, 999) as i64);
        }
        let round_end = t - secs(2);
        let efficiency = if passed {
            match eff.next() {
                Some(v) => J::Num(format!("{}.{}", v / 10, v % 10)),
                None => {
                    return Err(io::Error::other(format!(
                        "round {}: not enough efficiency values",
                        plan.round
                    )))
                }
            }
        } else {
            J::Null
        };
        let batch = block
            .batches
            .iter()
            .find(|(a, b)| (*a..=*b).contains(&plan.round))
            .map(|(a, b)| s(format!("{a}-{b}")))
            .unwrap_or(J::Null);
        let mut config = vec![
            ("test", s("complete_story_test.py")),
            ("threads", s("8")),
            ("iterations", s("50")),
            ("pytorch", s("2.9.0")),
            ("macos", s("15.6 (24G84)")),
            ("hardware", s(machine.model)),
            ("MPS_FORCE_GRAPH_PATH", s("1")),
        ];
        if let Some(fix) = block.fix {
            config.push(("DYLD_INSERT_LIBRARIES", s(fix_path(fix))));
        }
        let line = obj(vec![
            ("round", J::Int(i64::from(plan.round))),
            ("batch", batch),
            (
                "fix",
                s(block
                    .fix
                    .map(|f| f.replace('_', "."))
                    .unwrap_or_else(|| "native".to_string())),
            ),
            ("efficiency", efficiency),
            ("started_at", s(fmt_utc(&round_start))),
            ("finished_at", s(fmt_utc(&round_end))),
            ("config", obj(config)),
            ("attempts", J::Arr(attempts_json)),
        ]);
        lines.push(line.to_compact(false));
        t += secs(4);
    }
    if eff.next().is_some() {
        return Err(io::Error::other(
            "more efficiency values than passing rounds",
        ));
    }
    Ok(lines)
}

// ---------------------------------------------------------------------------------------------
// Everything together
// ---------------------------------------------------------------------------------------------

/// Builds every sample in memory, in a fixed order.
fn build() -> io::Result<Vec<OutFile>> {
    let mut rng = Rng::new(0x5eed_a6f1_2026_1102);
    let mut gen = Generated {
        files: Vec::new(),
        copy_source: None,
        crash_seq: 0,
        freed_variant: 0,
    };
    let mut lines = Vec::new();
    for block in [native_block(), v23_block(), v24_block()] {
        lines.extend(run_block(&block, &mut gen, &mut rng)?);
    }
    let mut rounds = lines.join("\n");
    rounds.push('\n');
    push_unique(
        &mut gen.files,
        "rounds.jsonl".to_string(),
        rounds.into_bytes(),
    )?;

    // Bob's older M1 Max report, saved as legacy text: not part of the recorded rounds (legacy
    // text carries no incident id, so rounds.jsonl could not name it anyway).
    let capture = local((2026, 10, 21), (16, 22, 31), -7) + millis(6604);
    let mut legacy = python_crash(
        PyCrash {
            pattern: "agx-null-impl-0x5c8",
            ctx: Ctx::MulKernel,
            machine: M1_MAX,
            fix: None,
            capture,
            launch: capture - secs(48),
            pid: 23114,
            parent: ("zsh", 22950),
            unsym: Unsym::None,
            label: "bob/legacy-0x5c8".to_string(),
            variant: 0,
        },
        &mut rng,
    );
    legacy.null_image = false;
    for img in legacy.images.iter_mut() {
        img.spec.path = img.spec.path.replace("/Users/alice", "/Users/bob");
    }
    push_unique(
        &mut gen.files,
        format!(
            "reports/Python_{}_bobs-mbp.crash",
            file_stamp(&legacy.written)
        ),
        render_legacy(&legacy).into_bytes(),
    )?;

    for report in [
        numpy_extension_crash(&mut rng),
        swift_abort_crash(&mut rng),
        appkit_uaf_crash(&mut rng),
    ] {
        push_unique(
            &mut gen.files,
            format!(
                "reports/{}-{}.ips",
                report.process.name,
                file_stamp(&report.written)
            ),
            render_ips(&report).into_bytes(),
        )?;
    }

    // A truncated report: the header is whole, the body stops inside `threads`.
    let capture = local((2026, 11, 3), (9, 14, 58), -8) + millis(3121);
    let broken = python_crash(
        PyCrash {
            pattern: "agx-null-impl-0x98",
            ctx: Ctx::Gather,
            machine: M4_MAX,
            fix: Some("v2_4"),
            capture,
            launch: capture - secs(61),
            pid: 58702,
            parent: ("zsh", 58833),
            unsym: Unsym::None,
            label: "interactive/truncated".to_string(),
            variant: 0,
        },
        &mut rng,
    );
    let text = render_ips(&broken);
    let cut = text
        .find("\"threads\" : ")
        .map(|i| i + 2600)
        .unwrap_or(text.len() / 2);
    push_unique(
        &mut gen.files,
        format!("reports/Python-{}.ips", file_stamp(&broken.written)),
        text.as_bytes()[..cut].to_vec(),
    )?;

    // The same bytes under four more paths: five paths, one report.
    let (name, bytes) = gen
        .copy_source
        .clone()
        .ok_or_else(|| io::Error::other("the copied report was not generated"))?;
    let base = name.trim_start_matches("reports/");
    for dir in [
        "reports/copies/a",
        "reports/copies/b",
        "reports/copies/b/Retired",
        "reports/copies/c",
    ] {
        push_unique(&mut gen.files, format!("{dir}/{base}"), bytes.clone())?;
    }
    Ok(gen.files)
}

/// Writes all samples under `out` (`out/reports/` is replaced, `out/rounds.jsonl` rewritten,
/// nothing else touched) and returns the written paths, relative to `out`, in write order.
pub fn generate(out: &Path) -> io::Result<Vec<PathBuf>> {
    let files = build()?;
    let reports = out.join("reports");
    if reports.exists() {
        fs::remove_dir_all(&reports)?;
    }
    let mut written = Vec::new();
    for f in files {
        let path = out.join(&f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &f.bytes)?;
        written.push(PathBuf::from(f.path));
    }
    Ok(written)
}
