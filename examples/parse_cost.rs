//! One stage of the ingest path over every file of a folder, for an instruction count under
//! `valgrind --tool=callgrind` (the machine is shared: wall time is too noisy for an A/B, an
//! instruction count is not). docs/BENCHMARKS.md says how it was used.
//!
//! `parse_cost STAGE DIR [ROUNDS]`, STAGE one of: `floor` (serde_json into `IgnoredAny`, the
//! bench's floor), `full` (`crash::parse`), `crashed` (`crash::parse_with(ThreadFrames::Crashed)`,
//! what ingest calls), `serde` (the same with serde alone, without the fast reader). The files are read once, before the rounds; the stage runs ROUNDS times
//! (default 1) over all of them. `dump` prints both parses of every file (`{:?}`), once: run the
//! tool built before and after a parser change on the same folder and `diff` the outputs.
//!
//! This is a measuring tool, not library code: it may print.

use std::path::PathBuf;

use agx_triage::crash::{self, ThreadFrames};
use serde::de::IgnoredAny;

// As the binary and the bench: allocation counts differ a lot between allocators.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(stage), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: parse_cost floor|full|crashed|dump DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(1);
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("{dir}: {e}");
            std::process::exit(2);
        }
    };
    paths.sort();
    let files: Vec<(PathBuf, Vec<u8>)> = paths
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect();
    let mut reports = 0usize;
    for _ in 0..rounds {
        for (path, bytes) in &files {
            match stage.as_str() {
                "dump" => {
                    println!("{}", path.display());
                    println!("{:?}", crash::parse(bytes));
                    println!("{:?}", crash::parse_with(bytes, ThreadFrames::Crashed));
                    reports += 1;
                }
                "floor" => {
                    // As the bench's floor: every JSON value of the file, built into nothing.
                    let mut de =
                        serde_json::Deserializer::from_slice(bytes).into_iter::<IgnoredAny>();
                    while let Some(Ok(_)) = de.next() {
                        reports += 1;
                    }
                }
                "serde" => {
                    reports += crash::parse_with_reader(
                        bytes,
                        ThreadFrames::Crashed,
                        crash::JsonReader::Serde,
                    )
                    .map_or(0, |r| r.len())
                }
                "full" => reports += crash::parse(bytes).map_or(0, |r| r.len()),
                "crashed" => {
                    reports +=
                        crash::parse_with(bytes, ThreadFrames::Crashed).map_or(0, |r| r.len())
                }
                other => {
                    eprintln!("unknown stage {other}");
                    std::process::exit(2);
                }
            }
        }
    }
    println!(
        "{stage}: {} files x {rounds}: {reports} values or reports",
        files.len()
    );
}
