//! The legacy text parser over the real corpus: every legacy-layout file against its
//! `MANIFEST.tsv` row and its own thread headers, specific quirks (PAC address, Rosetta, iOS arch
//! images, the 1.5 MB report), fragments and cut prefixes that must never panic.
//!
//! The corpus lives outside the repository; [`common::corpus_dir`] finds it through
//! `AGX_TRIAGE_CORPUS` or `<repo>/../shared/corpus` and skips with a message when neither exists
//! (a missing folder is a failure when `AGX_TRIAGE_CORPUS` is set).

mod common;

use std::collections::HashMap;
use std::path::Path;

use agx_triage::crash::legacy::parse;
use agx_triage::crash::ParseError;
use common::corpus_dir;

/// `0x1f` -> 31; only the `0x` form, as the legacy parser reads addresses.
fn parse_hex(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(h, 16).ok()
}

/// The legacy text of a corpus file: before `Full Report` for crash-dialog copies,
/// without the JSON header line for `bug_type` 109 / Xcode exports.
fn legacy_part(raw: &str) -> &str {
    let mut text = raw;
    if text.trim_start().starts_with('{') {
        text = text.split_once('\n').map_or("", |(_, rest)| rest);
    }
    let mut end = text.len();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == "Full Report" {
            end = pos;
            break;
        }
        pos += line.len();
    }
    &text[..end]
}

/// (file, crashed thread number as written in the report)
const CORPUS: &[(&str, usize)] = &[
    ("bibleshow-maui-1.crash", 0),
    ("chunkhound-duckdb-1.crash", 0),
    ("closeyourtab-sim-1.crash", 0),
    ("decodableresult-1.crash", 0),
    ("focustogether-1.crash", 0),
    ("graphtool-python-1.crash", 0),
    ("icdab-avx-rosetta-1.crash", 0),
    ("icdab-camera-iosonmac-1.crash", 3),
    ("icdab-fud-1.crash", 1),
    ("icdab-planets-iosonmac-1.crash", 0),
    ("icdab-rosetta-native-0.crash", 1),
    ("icdab-rosetta-translated-0.crash", 0),
    ("icdab-securityagent-1.crash", 0),
    ("icdab-sema-1.crash", 0),
    ("icdab-sema-arm64-1.crash", 0),
    ("icdab-sirincservice-1.crash", 0),
    ("icdab-taskforpid-1.crash", 0),
    ("icdab-thread-arm64-1.crash", 0),
    ("icdab-wrap-iosonmac-1.crash", 0),
    ("imageoptimizer-1.crash", 0),
    ("ips2crashlog-transit-sim-1-translated.crash", 13),
    ("jubilee-simulator-1.crash", 0),
    ("macsymbolicator-ios-1-jsonheader.crash", 0),
    ("novellum-tauri-1.crash", 0),
    ("novellum-tauri-3.crash", 0),
    ("opendrcom-1.crash", 0),
    ("passenger-helper-1.crash", 0),
    ("photoguru-llama-1.crash", 0),
    ("qlcplus-1.crash", 0),
    ("qmedia-ios-bt109-1.crash", 35),
    ("trashmailpanda-dotnet-1.crash", 0),
    ("xcode15crash-1.crash", 0),
    ("yearbirder-pyside-1.crash", 0),
    ("pycrashreport-itunescloudd-ios14-bt109-1.ips", 7),
];

/// MANIFEST.tsv rows: file -> (process, exception type column).
fn manifest(dir: &Path) -> HashMap<String, (String, String)> {
    let text = std::fs::read_to_string(dir.join("real/MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (pc, ec) = (col("process"), col("exception type"));
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some((
                f.first()?.to_string(),
                (f.get(pc)?.to_string(), f.get(ec)?.to_string()),
            ))
        })
        .collect()
}

// Every legacy-layout file of the corpus against MANIFEST.tsv and its own thread headers.
#[test]
fn corpus_real_reports() {
    let Some(dir) = corpus_dir() else { return };
    let man = manifest(&dir);
    let mut total_frames = 0usize;
    let mut resolved_frames = 0usize;
    for &(file, crashed_no) in CORPUS {
        let raw = std::fs::read_to_string(dir.join("real").join(file)).unwrap();
        let r = parse(legacy_part(&raw)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (m_proc, m_exc) = man
            .get(file)
            .unwrap_or_else(|| panic!("{file} not in MANIFEST"));
        assert_eq!(r.process.name.as_deref(), Some(m_proc.as_str()), "{file}");
        let ty = r.exception.exc_type.as_deref().unwrap_or("");
        let sig = r.exception.signal.as_deref().unwrap_or("");
        let head = format!("{ty} ({sig})");
        assert!(m_exc.starts_with(&head), "{file}: {head} vs {m_exc}");
        // The manifest adds the subtype for EXC_BAD_ACCESS; it must match ours.
        let tail = m_exc[head.len()..].trim();
        if !tail.is_empty() {
            assert_eq!(r.exception.subtype.as_deref(), Some(tail), "{file}");
            let addr = tail
                .split(" at ")
                .nth(1)
                .and_then(|a| a.split_whitespace().next());
            assert_eq!(
                r.exception.fault_address,
                addr.and_then(parse_hex),
                "{file}"
            );
        }
        let crashed = r
            .crashed()
            .unwrap_or_else(|| panic!("{file}: no crashed thread"));
        assert_eq!(crashed.index, crashed_no, "{file}");
        assert!(crashed.crashed, "{file}");
        assert!(
            !crashed.frames.is_empty(),
            "{file}: crashed thread has no frames"
        );
        assert!(!r.images.is_empty(), "{file}: no images");
        assert!(
            r.images.iter().filter(|i| i.uuid.is_some()).count() * 10 >= r.images.len() * 9,
            "{file}: images without UUIDs"
        );
        // Frame 0 of the crashed thread resolves to an image with a UUID, unless it is
        // `???` (Rosetta and JIT frames).
        let f0 = &crashed.frames[0];
        if let Some(img) = r.image_of(f0) {
            assert!(img.uuid.is_some(), "{file}");
            assert_eq!(
                f0.image_offset,
                f0.address.zip(img.base).map(|(a, b)| a - b),
                "{file}"
            );
        }
        for t in &r.threads {
            for f in &t.frames {
                total_frames += 1;
                if r.image_of(f).is_some_and(|i| i.uuid.is_some()) {
                    resolved_frames += 1;
                }
            }
        }
        assert!(
            !r.warnings
                .iter()
                .any(|w| w.contains("not found") || w.contains("Binary Images")),
            "{file}: {:?}",
            r.warnings
        );
    }
    eprintln!("corpus: {resolved_frames}/{total_frames} frames resolved to an image with a UUID");
    assert!(resolved_frames * 100 >= total_frames * 97);
}

// Specific corpus quirks: PAC address, Rosetta, iOS arch images, the 1.5 MB report.
#[test]
fn corpus_specific_quirks() {
    let Some(dir) = corpus_dir() else { return };
    let read = |f: &str| std::fs::read_to_string(dir.join("real").join(f)).unwrap();

    let r = parse(legacy_part(&read("yearbirder-pyside-1.crash"))).unwrap();
    assert!(r.exception.pointer_auth_failure);
    assert_eq!(r.exception.fault_address, Some(0x1741a4f9ef46998d));
    assert_eq!(r.exception.fault_address_stripped, Some(0x24f9ef46998d));
    assert_eq!(
        r.registers.as_ref().and_then(|s| s.get("far")),
        Some(0x1741a4f9ef46998d)
    );
    assert_eq!(r.os.train.as_deref(), Some("macOS 26.3.1"));
    assert_eq!(r.crashed().unwrap().name.as_deref(), Some("CrBrowserMain"));

    let r = parse(legacy_part(&read("icdab-rosetta-translated-0.crash"))).unwrap();
    assert_eq!(r.translated, Some(true));
    assert_eq!(r.cpu_type.as_deref(), Some("X86-64"));

    let r = parse(legacy_part(&read("macsymbolicator-ios-1-jsonheader.crash"))).unwrap();
    assert!(r.images.iter().all(|i| i.arch.is_some()));
    let app = r
        .images
        .iter()
        .find(|i| i.name.as_deref() == Some("iOSCrashingTest"))
        .unwrap();
    assert_eq!(
        app.uuid.as_deref(),
        Some("82d13d98-219e-3040-b62a-07a297007a7c")
    );

    let r = parse(legacy_part(&read("icdab-fud-1.crash"))).unwrap();
    assert_eq!(r.os.train.as_deref(), Some("Mac OS X 10.13.4"));
    assert_eq!(r.os.build.as_deref(), Some("17E199"));
    assert_eq!(
        r.captured_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2018-06-12T07:34:15.054+00:00")
    );
    assert_eq!(
        r.registers.as_ref().and_then(|s| s.flavor.as_deref()),
        Some("x86_THREAD_STATE")
    );

    let raw = read("passenger-helper-1.crash");
    let start = std::time::Instant::now();
    let r = parse(&raw).unwrap();
    eprintln!(
        "passenger-helper-1.crash ({} bytes): {:?}",
        raw.len(),
        start.elapsed()
    );
    assert_eq!(r.threads.len(), 220);
    assert_eq!(r.crashed().unwrap().frames.len(), 5);
}

// Fragments (truncated pastes) parse or are refused, never panic; the ones with crash
// fields yield reports.
#[test]
fn corpus_fragments_never_panic() {
    let Some(dir) = corpus_dir() else { return };
    let mut n = 0;
    for entry in std::fs::read_dir(dir.join("fragments")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tsv") {
            continue;
        }
        let raw = std::fs::read_to_string(&path).unwrap();
        let _ = parse(&raw);
        n += 1;
    }
    assert!(n >= 7);
    let frag = |f: &str| std::fs::read_to_string(dir.join("fragments").join(f)).unwrap();
    let r = parse(&frag("rsvsthost-1.crash")).unwrap();
    assert_eq!(r.process.name.as_deref(), Some("rs-vst-host"));
    assert_eq!(r.exception.fault_address, Some(0x1ffb3d458));
    assert_eq!(r.crashed().unwrap().frames.len(), 88);
    assert_eq!(r.crashed().unwrap().frames[1].symbol, None);
    assert!(r.warnings.iter().any(|w| w == "no Binary Images section"));
    let r = parse(&frag("invokeai-issue-2639-excerpt-1.crash")).unwrap();
    assert_eq!(r.process.name.as_deref(), Some("Python"));
    let r = parse(&frag("invokeai-issue-2336-excerpt-1.crash")).unwrap();
    assert!(r
        .warnings
        .iter()
        .any(|w| w.starts_with("Error Formulating")));
    let r = parse(&frag("metaljl-issue-282-excerpt-1.crash")).unwrap();
    assert_eq!(r.exception.fault_address, Some(0x18));
    assert!(r.warnings.iter().any(|w| w == "crashed thread 2 not found"));
    let r = parse(&frag("lettier-3dshaders-issue-28-excerpt-1.crash")).unwrap();
    assert_eq!(r.crashed().unwrap().index, 4);
}

// Every prefix of a few real files (20 cut points each) parses without panicking.
#[test]
fn corpus_prefixes_never_panic() {
    let Some(dir) = corpus_dir() else { return };
    for file in [
        "yearbirder-pyside-1.crash",
        "icdab-fud-1.crash",
        "qmedia-ios-bt109-1.crash",
        "opendrcom-1.crash",
    ] {
        let raw = std::fs::read_to_string(dir.join("real").join(file)).unwrap();
        let text = legacy_part(&raw);
        for k in 1..=20 {
            let mut cut = text.len() * k / 20;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            match parse(&text[..cut]) {
                Ok(r) => assert!(r.process.name.is_some() || !r.threads.is_empty()),
                Err(e) => assert!(
                    matches!(e, ParseError::Empty | ParseError::Unrecognized(_)),
                    "{file}@{cut}: {e}"
                ),
            }
        }
    }
}
