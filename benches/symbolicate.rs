//! Symbolication throughput: `SymbolStore::lookup` against llvm-symbolizer on the same addresses.
//!
//! Builds `libagx_big.dylib` (30,000 functions: C, local, Objective-C and mangled C++ names) with
//! tests/fixtures/symbols/build.sh, adds it to a fresh store, then resolves the same random
//! in-function addresses with the store (cold: includes loading the symcache) and with one
//! llvm-symbolizer process fed through stdin. Prints both rates, the ratio and the share of
//! identical names. Run: `cargo bench --bench symbolicate` (env AGX_BENCH_LOOKUPS to change the
//! number of addresses, default 200000).
// Benchmark program: a failed unwrap aborts the run with its location, which is all a
// benchmark needs (clippy.toml's allow-unwrap-in-tests does not cover benches).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/fixtures/symbols/support.rs"]
mod support;

use std::path::Path;
use std::time::Instant;

use agx_triage::symbols::{Lookup, SymbolStore};

fn main() {
    let lookups: usize = std::env::var("AGX_BENCH_LOOKUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("symbols-bench");
    let big = out.join("libagx_big.dylib");
    if !big.exists() {
        eprintln!(
            "building {} (30,000 functions; takes a while)...",
            big.display()
        );
        if support::build_fixtures(&out, true).is_none() {
            return;
        }
    }
    let Some(symbolizer) = support::require_tool("llvm-symbolizer") else {
        return;
    };
    let slice = &support::slices(&big)[0];
    println!(
        "image: {} ({} bytes, {} functions in __text, arch {})",
        big.display(),
        std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0),
        slice.symbols.len(),
        slice.arch
    );

    // Deterministic pseudo-random addresses, each strictly inside a function (4-byte aligned, as
    // arm64 pcs are).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let offsets: Vec<u64> = (0..lookups)
        .map(|_| {
            let i = (next() % slice.symbols.len() as u64) as usize;
            let start = slice.symbols[i].offset;
            let len = (slice.end_of(start) - start).max(4);
            start + (next() % len) / 4 * 4
        })
        .collect();

    let tmp = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let mut store = SymbolStore::open(tmp.path()).expect("open store");
    let added = store.add_path(&big);
    let convert = t.elapsed();
    assert!(added.errors.is_empty(), "{:?}", added.errors);
    println!(
        "symcache build: {:.2} s ({} symbols)",
        convert.as_secs_f64(),
        added.added[0].symbol_count
    );

    // Fresh store: the timing includes loading the symcache from disk.
    let store = SymbolStore::open(tmp.path()).expect("reopen store");
    let t = Instant::now();
    let ours: Vec<String> = offsets
        .iter()
        .map(|&o| match store.lookup(&slice.uuid, o, true) {
            Lookup::Found { symbol, .. } => symbol,
            other => format!("<{other:?}>"),
        })
        .collect();
    let ours_time = t.elapsed().as_secs_f64();

    let addrs: Vec<u64> = offsets.iter().map(|o| slice.vmaddr + o).collect();
    let t = Instant::now();
    let theirs = support::llvm_symbolize(&symbolizer, &big, &slice.arch, &addrs);
    let theirs_time = t.elapsed().as_secs_f64();

    let same = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| **a == b.function)
        .count();
    for (o, (a, b)) in offsets
        .iter()
        .zip(ours.iter().zip(&theirs))
        .filter(|(_, (a, b))| **a != b.function)
        .take(5)
    {
        println!(
            "differs at {o:#x}: ours {a:?}, llvm-symbolizer {:?}",
            b.function
        );
    }
    let ours_rate = lookups as f64 / ours_time;
    let theirs_rate = lookups as f64 / theirs_time;
    println!("lookups: {lookups}");
    println!("agx-triage SymbolStore::lookup: {ours_rate:>12.0} lookups/s ({ours_time:.3} s)");
    println!("llvm-symbolizer (one process):  {theirs_rate:>12.0} lookups/s ({theirs_time:.3} s)");
    println!("ratio: {:.1}x", ours_rate / theirs_rate);
    println!(
        "identical names: {same}/{lookups} ({:.2}%)",
        100.0 * same as f64 / lookups as f64
    );
}
