//! Symbol store and report symbolication against real Mach-O images built from
//! tests/fixtures/symbols/ (thin arm64 and x86_64, fat, DWARF in a dSYM), checked against
//! expected names and, where installed, against llvm-symbolizer.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "fixtures/symbols/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use agx_triage::crash::{
    CrashReport, Frame, Image, ReportKind, SourceFormat, SymbolSource, Thread,
};
use agx_triage::symbols::{
    symbolicate_report, FrameRef, Lookup, SourceKind, StackRef, SymbolStore,
};
use support::{llvm_symbolize, require_tool, slices, SliceFacts};

/// The fixture images, built once per test run (None: tools missing, test skipped).
fn fixtures() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("symbols-fixtures");
        support::build_fixtures(&out, false)
    })
    .as_deref()
}

/// Raw symbol-table name → the name a frame must carry after symbolication.
const EXPECTED: &[(&str, &str)] = &[
    ("_agx_encode_dispatch", "agx_encode_dispatch"),
    ("_agx_local_spill_helper", "agx_local_spill_helper"),
    (
        "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
        "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
    ),
    (
        "-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]",
        "-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]",
    ),
    (
        "__ZN3AGX13SpillInfoGen3INS_3G16EE22allocateUSCSpillBufferEv",
        "AGX::SpillInfoGen3<AGX::G16>::allocateUSCSpillBuffer()",
    ),
    (
        "__ZN3AGX14ComputeContextINS_3G16EE17prepareForEnqueueEb",
        "AGX::ComputeContext<AGX::G16>::prepareForEnqueue(bool)",
    ),
    (
        "__ZN3AGX14ComputeContextINS_3G16EE12bindResourceEiPKv",
        "AGX::ComputeContext<AGX::G16>::bindResource(int, void const*)",
    ),
    (
        "__ZN3AGX12clampThreadsIiEET_S1_",
        "int AGX::clampThreads<int>(int)",
    ),
    ("_agx_abort_encoder", "agx_abort_encoder"),
];

fn store_with(paths: &[&Path]) -> (tempfile::TempDir, SymbolStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SymbolStore::open(dir.path().join("triage.symbols")).unwrap();
    for p in paths {
        let outcome = store.add_path(p);
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    }
    (dir, store)
}

/// A report with one image per `(uuid, name)` and one thread per frame, each frame on top of
/// its thread (looked up as a pc, not a return address), names removed.
fn report(images: &[(&str, &str)], frames: &[(usize, u64)]) -> CrashReport {
    let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Ips);
    r.images = images
        .iter()
        .map(|(uuid, name)| Image {
            uuid: Some(uuid.to_string()),
            name: Some(name.to_string()),
            ..Image::default()
        })
        .collect();
    r.threads = frames
        .iter()
        .enumerate()
        .map(|(i, &(image, offset))| Thread {
            index: i,
            crashed: i == 0,
            frames: vec![Frame {
                image_index: Some(image),
                image_offset: Some(offset),
                ..Frame::default()
            }],
            ..Thread::default()
        })
        .collect();
    r.crashed_thread = Some(0);
    r
}

/// Offsets to probe in a slice: each expected symbol's first byte and one 4 bytes in.
fn probes(slice: &SliceFacts) -> Vec<(u64, &'static str)> {
    let mut out = Vec::new();
    for (raw, want) in EXPECTED {
        let start = slice.offset_of(raw);
        out.push((start, *want));
        if slice.end_of(start) > start + 4 {
            out.push((start + 4, *want));
        }
    }
    out
}

/// Symbolicate `probes` in `slice` and check names, offsets and (if present) llvm-symbolizer.
fn check_slice(store: &SymbolStore, object: &Path, slice: &SliceFacts) {
    let probes = probes(slice);
    let offsets: Vec<(usize, u64)> = probes.iter().map(|(o, _)| (0, *o)).collect();
    let mut r = report(&[(&slice.uuid, "libagx")], &offsets);
    let summary = symbolicate_report(&mut r, store, false);
    assert_eq!(summary.filled, probes.len(), "{summary:?}");
    assert_eq!(summary.unknown_uuid, 0);
    assert_eq!(summary.outside_symbols, 0);
    let ours: Vec<String> = r
        .threads
        .iter()
        .map(|t| t.frames[0].symbol.clone().unwrap())
        .collect();
    for ((offset, want), (got, thread)) in probes.iter().zip(ours.iter().zip(&r.threads)) {
        assert_eq!(got, want, "{} at {offset:#x}", slice.arch);
        let f = &thread.frames[0];
        assert_eq!(f.symbol_source, Some(SymbolSource::Symcache));
        // Probes are a function's first byte or 4 bytes in.
        assert!(
            f.symbol_offset == Some(0) || f.symbol_offset == Some(4),
            "{f:?}"
        );
    }
    if let Some(symbolizer) = require_tool("llvm-symbolizer") {
        let addrs: Vec<u64> = probes.iter().map(|(o, _)| slice.vmaddr + o).collect();
        let theirs = llvm_symbolize(&symbolizer, object, &slice.arch, &addrs);
        let theirs: Vec<String> = theirs.into_iter().map(|s| s.function).collect();
        assert_eq!(
            ours, theirs,
            "{} names differ from llvm-symbolizer",
            slice.arch
        );
    }
}

#[test]
fn thin_arm64_executable_names_match_llvm_symbolizer() {
    let Some(dir) = fixtures() else { return };
    // An executable: __TEXT at 0x100000000, so offsets must be image-relative.
    let bin = dir.join("agx_arm64");
    let slice = &slices(&bin)[0];
    assert_eq!(slice.vmaddr, 0x1_0000_0000);
    let (_tmp, store) = store_with(&[&bin]);
    let listed = store.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].uuid, slice.uuid);
    assert_eq!(listed[0].arch, "arm64");
    assert_eq!(listed[0].name, "agx_arm64");
    assert_eq!(listed[0].source, SourceKind::SymbolTable);
    assert!(listed[0].symbol_count >= EXPECTED.len());
    check_slice(&store, &bin, slice);
}

#[test]
fn thin_x86_64_dylib_names_match_llvm_symbolizer() {
    let Some(dir) = fixtures() else { return };
    let bin = dir.join("libagx_x86_64.dylib");
    let slice = &slices(&bin)[0];
    let (_tmp, store) = store_with(&[&bin]);
    assert_eq!(store.list()[0].arch, "x86_64");
    check_slice(&store, &bin, slice);
}

#[test]
fn fat_binary_slice_is_chosen_by_uuid() {
    let Some(dir) = fixtures() else { return };
    let fat = dir.join("libagx_fat.dylib");
    let fat_slices = slices(&fat);
    assert_eq!(fat_slices.len(), 2);
    let (_tmp, store) = store_with(&[&fat]);
    let mut listed: Vec<(String, String)> =
        store.list().into_iter().map(|s| (s.arch, s.uuid)).collect();
    listed.sort();
    let mut want: Vec<(String, String)> = fat_slices
        .iter()
        .map(|s| (s.arch.clone(), s.uuid.clone()))
        .collect();
    want.sort();
    assert_eq!(listed, want);
    assert_ne!(fat_slices[0].uuid, fat_slices[1].uuid);

    for slice in &fat_slices {
        check_slice(&store, &fat, slice);
    }

    // The same offset means different functions in the two slices: the x86-only function's
    // offset must resolve to it only through the x86_64 UUID.
    let x86 = fat_slices.iter().find(|s| s.arch == "x86_64").unwrap();
    let arm = fat_slices.iter().find(|s| s.arch == "arm64").unwrap();
    let shim = x86.offset_of("_agx_x86_only_translation_shim");
    let by_x86 = store.lookup(&x86.uuid, shim, true);
    let by_arm = store.lookup(&arm.uuid, shim, true);
    assert!(
        matches!(&by_x86, Lookup::Found { symbol, symbol_offset: 0, .. } if symbol == "agx_x86_only_translation_shim"),
        "{by_x86:?}"
    );
    assert!(
        !matches!(&by_arm, Lookup::Found { symbol, .. } if symbol == "agx_x86_only_translation_shim"),
        "{by_arm:?}"
    );
    // Uppercase / undashed UUIDs as some reports write them find the same slice.
    let loud = x86.uuid.replace('-', "").to_uppercase();
    assert_eq!(store.lookup(&loud, shim, true), by_x86);
}

#[test]
fn unknown_uuid_is_left_as_is_and_counted() {
    let Some(dir) = fixtures() else { return };
    let bin = dir.join("libagx_arm64.dylib");
    let slice = &slices(&bin)[0];
    let (_tmp, store) = store_with(&[&bin]);
    let known = slice.offset_of("_agx_encode_dispatch");
    let metal = "0dd1ca7e-0000-4000-8000-00000000abcd";
    let mut r = report(
        &[(&slice.uuid, "libagx_arm64.dylib"), (metal, "Metal")],
        &[(0, known), (1, 0x4242), (1, 0x4343)],
    );
    let before = r.threads[1].clone();
    let summary = symbolicate_report(&mut r, &store, false);
    assert_eq!(summary.filled, 1);
    assert_eq!(summary.unknown_uuid, 2);
    assert_eq!(summary.unknown_uuids, vec![metal.to_string()]);
    assert_eq!(r.threads[1], before);
    assert_eq!(r.threads[2].frames[0].symbol, None);
}

#[test]
fn offset_outside_any_symbol_is_reported_not_guessed() {
    let Some(dir) = fixtures() else { return };
    let bin = dir.join("libagx_arm64.dylib");
    let slice = &slices(&bin)[0];
    let (_tmp, store) = store_with(&[&bin]);
    let first = slice.symbols[0].offset;
    assert!(
        first > 0x40,
        "the Mach-O header precedes the first function"
    );
    // Inside the load commands; and past the end of __text (where, without clamping, the last
    // symbol of the table would swallow everything).
    let mut r = report(
        &[(&slice.uuid, "libagx_arm64.dylib")],
        &[(0, 0x20), (0, slice.text.1 + 0x40), (0, first)],
    );
    let summary = symbolicate_report(&mut r, &store, false);
    assert_eq!(summary.outside_symbols, 2, "{summary:?}");
    assert_eq!(
        summary.outside,
        vec![
            FrameRef {
                thread: StackRef::Thread(0),
                frame: 0
            },
            FrameRef {
                thread: StackRef::Thread(1),
                frame: 0
            },
        ]
    );
    assert_eq!(r.threads[0].frames[0].symbol, None);
    assert_eq!(r.threads[1].frames[0].symbol, None);
    assert_eq!(summary.filled, 1);
    assert_eq!(
        store.lookup(&slice.uuid, slice.text.1 + 0x40, true),
        Lookup::OutsideSymbols
    );
}

#[test]
fn return_address_at_next_function_resolves_to_the_caller() {
    let Some(dir) = fixtures() else { return };
    for name in ["libagx_arm64.dylib", "libagx_x86_64.dylib"] {
        let bin = dir.join(name);
        let slice = &slices(&bin)[0];
        let (_tmp, store) = store_with(&[&bin]);
        let caller = slice.offset_of("_agx_ends_with_call");
        let next = slice.offset_of("_agx_after_tail_call");
        assert!(next > caller);

        // As the crashing pc: the instruction at `next` is the next function's.
        assert_eq!(
            store.lookup(&slice.uuid, next, true),
            Lookup::Found {
                symbol: "agx_after_tail_call".into(),
                symbol_offset: 0,
                source_file: None,
                source_line: None,
            }
        );
        // As a return address: the call before it, in the caller; the offset is measured from
        // the address as written, so it equals the caller's size.
        assert_eq!(
            store.lookup(&slice.uuid, next, false),
            Lookup::Found {
                symbol: "agx_ends_with_call".into(),
                symbol_offset: next - caller,
                source_file: None,
                source_line: None,
            }
        );

        // The same through a report: frame 1 of the crashed thread is a return address.
        let mut r = report(&[(&slice.uuid, name)], &[]);
        r.threads = vec![Thread {
            index: 0,
            crashed: true,
            frames: vec![
                Frame {
                    image_index: Some(0),
                    image_offset: Some(slice.offset_of("_agx_abort_encoder")),
                    ..Frame::default()
                },
                Frame {
                    image_index: Some(0),
                    image_offset: Some(next),
                    ..Frame::default()
                },
            ],
            ..Thread::default()
        }];
        r.crashed_thread = Some(0);
        symbolicate_report(&mut r, &store, false);
        let f = &r.threads[0].frames;
        assert_eq!(f[0].symbol.as_deref(), Some("agx_abort_encoder"));
        assert_eq!(f[1].symbol.as_deref(), Some("agx_ends_with_call"), "{name}");
        assert_eq!(f[1].symbol_offset, Some(next - caller));

        if let Some(symbolizer) = require_tool("llvm-symbolizer") {
            let back = if slice.arch == "arm64" { 4 } else { 1 };
            let theirs = llvm_symbolize(
                &symbolizer,
                &bin,
                &slice.arch,
                &[slice.vmaddr + next - back],
            );
            assert_eq!(theirs[0].function, "agx_ends_with_call");
        }
    }
}

#[test]
fn dsym_dwarf_gives_source_lines_and_wins_over_the_symbol_table() {
    let Some(dir) = fixtures() else { return };
    let binary = dir.join("dwarf/libagx_dwarf.dylib");
    let dsym = dir.join("libagx_dwarf.dylib.dSYM");
    let dwarf_file = dsym.join("Contents/Resources/DWARF/libagx_dwarf.dylib");
    let slice = &slices(&binary)[0];
    assert_eq!(slices(&dwarf_file)[0].uuid, slice.uuid);

    // Binary first, then the dSYM: the DWARF slice replaces the symbol-table one.
    let (_tmp, mut store) = store_with(&[&binary]);
    assert_eq!(store.list()[0].source, SourceKind::SymbolTable);
    let added = store.add_path(&dsym);
    assert!(added.errors.is_empty(), "{:?}", added.errors);
    assert_eq!(added.added.len(), 1);
    assert_eq!(added.not_macho.len(), 1, "the bundle's Info.plist");
    assert_eq!(store.list()[0].source, SourceKind::Dwarf);
    assert_eq!(store.list()[0].name, "libagx_dwarf.dylib");
    // Adding the binary again does not downgrade it.
    let again = store.add_path(&binary);
    assert!(again.added.is_empty());
    assert_eq!(again.skipped.len(), 1);
    assert_eq!(store.list()[0].source, SourceKind::Dwarf);

    // dSYM first, then the binary: same result.
    let (_tmp2, mut store2) = store_with(&[&dsym]);
    let later = store2.add_path(&binary);
    assert_eq!(later.skipped.len(), 1);
    assert_eq!(store2.list()[0].source, SourceKind::Dwarf);

    let probes = probes(slice);
    let mut found = Vec::new();
    for (offset, want) in &probes {
        match store.lookup(&slice.uuid, *offset, true) {
            Lookup::Found {
                symbol,
                source_file,
                source_line,
                ..
            } => {
                assert_eq!(&symbol, want);
                found.push((symbol, source_file, source_line));
            }
            other => panic!("{want} at {offset:#x}: {other:?}"),
        }
    }
    // C and C++ functions carry lines; asm-only functions do not exist in this list.
    let (_, file, line) = &found[0];
    assert!(
        file.as_deref().unwrap().ends_with("agx_driver.c"),
        "{file:?}"
    );
    assert!(line.unwrap() > 10);
    let spill = found
        .iter()
        .find(|(s, _, _)| s.starts_with("AGX::ComputeContext"))
        .unwrap();
    assert!(spill.1.as_deref().unwrap().ends_with("agx_context.cpp"));

    if let Some(symbolizer) = require_tool("llvm-symbolizer") {
        let addrs: Vec<u64> = probes.iter().map(|(o, _)| slice.vmaddr + o).collect();
        let theirs = llvm_symbolize(&symbolizer, &dwarf_file, "arm64", &addrs);
        for ((symbol, file, line), t) in found.iter().zip(&theirs) {
            assert_eq!(symbol, &t.function);
            assert_eq!(file.as_deref().unwrap_or(""), t.file, "{symbol}");
            assert_eq!(line.unwrap_or(0), t.line, "{symbol}");
        }
    }
}

#[test]
fn force_replaces_apple_names_and_reports_disagreements() {
    let Some(dir) = fixtures() else { return };
    let bin = dir.join("libagx_arm64.dylib");
    let slice = &slices(&bin)[0];
    let (_tmp, store) = store_with(&[&bin]);
    let set = slice.offset_of("-[AGXG16XFamilyComputeContext setComputePipelineState:]");
    let enc = slice.offset_of("_agx_encode_dispatch");
    let mut r = report(
        &[(&slice.uuid, "AGXMetalG16X")],
        &[(0, set + 8), (0, enc + 4)],
    );
    // macOS named the first frame after the nearest exported symbol it had (what a stripped
    // system binary gives), and the second correctly.
    for (t, name) in [
        (0, "AGXMetalG16X_exported_neighbour"),
        (1, "agx_encode_dispatch"),
    ] {
        let f = &mut r.threads[t].frames[0];
        f.symbol = Some(name.into());
        f.symbol_offset = Some(0x1234);
        f.symbol_source = Some(SymbolSource::Apple);
    }
    let kept = symbolicate_report(&mut r.clone(), &store, false);
    assert_eq!((kept.filled, kept.replaced), (0, 0));

    let summary = symbolicate_report(&mut r, &store, true);
    assert_eq!(summary.replaced, 2);
    assert_eq!(summary.disagreements.len(), 1);
    let d = &summary.disagreements[0];
    assert_eq!(d.thread, StackRef::Thread(0));
    assert_eq!(d.apple, "AGXMetalG16X_exported_neighbour");
    assert_eq!(
        d.ours,
        "-[AGXG16XFamilyComputeContext setComputePipelineState:]"
    );
    assert_eq!(r.threads[0].frames[0].symbol_offset, Some(8));
    assert_eq!(r.threads[1].frames[0].symbol_offset, Some(4));
}

#[test]
fn store_survives_reopening_and_writes_no_temporary_files() {
    let Some(dir) = fixtures() else { return };
    let fat = dir.join("libagx_fat.dylib");
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("triage.symbols");
    let first = {
        let mut store = SymbolStore::open(&store_dir).unwrap();
        let out = store.add_path(&fat);
        assert_eq!(out.added.len(), 2);
        store.list()
    };
    let store = SymbolStore::open(&store_dir).unwrap();
    assert_eq!(store.list(), first);
    let mut names: Vec<String> = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = first
        .iter()
        .map(|s| format!("{}.symcache", s.uuid))
        .chain(["index.json".to_string()])
        .collect();
    want.sort();
    assert_eq!(names, want);

    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store_dir.join("index.json")).unwrap()).unwrap();
    let entry = &index["slices"][0];
    for key in [
        "uuid",
        "name",
        "arch",
        "path",
        "source",
        "symbol_count",
        "added_at",
    ] {
        assert!(!entry[key].is_null(), "index entry lacks {key}: {entry}");
    }
    assert_eq!(entry["source"], "symbol-table");

    let slice = &slices(&fat)[1];
    assert!(matches!(
        store.lookup(&slice.uuid, slice.offset_of("_agx_encode_dispatch"), true),
        Lookup::Found { .. }
    ));
}

#[test]
fn directory_walk_reports_bad_files_and_survives_symlink_loops() {
    let Some(dir) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("bundle");
    std::fs::create_dir_all(input.join("Contents/MacOS")).unwrap();
    std::fs::copy(
        dir.join("libagx_arm64.dylib"),
        input.join("Contents/MacOS/AGXMetalG16X"),
    )
    .unwrap();
    let whole = std::fs::read(dir.join("libagx_x86_64.dylib")).unwrap();
    std::fs::write(input.join("truncated.dylib"), &whole[..100]).unwrap();
    std::fs::write(input.join("Info.plist"), b"<?xml version=\"1.0\"?>").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&input, input.join("Contents/loop")).unwrap();

    let mut store = SymbolStore::open(tmp.path().join("store")).unwrap();
    let out = store.add_path(&input);
    assert_eq!(out.added.len(), 1);
    assert_eq!(out.added[0].name, "AGXMetalG16X");
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!(out.errors[0].0, input.join("truncated.dylib"));
    assert_eq!(out.errors[0].1.code(), "malformed");
    assert_eq!(out.not_macho, vec![input.join("Info.plist")]);
}
