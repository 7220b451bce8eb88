//! Snapshots of the full parsed model for the project's own samples, one per format: every
//! change to what the parsers extract is reviewed here.

use std::path::Path;

use agx_triage::crash;

fn parse_sample(name: &str) -> Vec<crash::CrashReport> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/reports")
        .join(name);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    crash::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn ips_crash_model() {
    // An AGX 0x5c8 crash with the fix dylib loaded and unsymbolicated libtorch frames.
    let r = parse_sample("Python-2026-11-02-093917.ips");
    assert_eq!(r.len(), 1);
    insta::assert_json_snapshot!("ips_crash_model", r[0]);
}

#[test]
fn legacy_crash_model() {
    let r = parse_sample("Python_2026-10-21-162242_bobs-mbp.crash");
    assert_eq!(r[0].format, crash::SourceFormat::Legacy);
    insta::assert_json_snapshot!("legacy_crash_model", r[0]);
}

#[test]
fn crash_dialog_copy_model() {
    let r = parse_sample("Python-2026-10-30-111325-crash-dialog.crash");
    assert_eq!(r[0].format, crash::SourceFormat::TranslatedIps);
    insta::assert_json_snapshot!("crash_dialog_model", r[0]);
}

#[test]
fn gpu_event_model() {
    let r = parse_sample("gpuEvent-Python-2026-10-30-094127.ips");
    assert_eq!(r[0].kind, crash::ReportKind::GpuEvent);
    insta::assert_json_snapshot!("gpu_event_model", r[0]);
}
