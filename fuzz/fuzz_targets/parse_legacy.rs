//! Fuzz the legacy `.crash` text parser alone.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = agx_triage::crash::legacy::parse(&text);
});
