//! Fuzz format detection and every parser behind it, from raw bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = agx_triage::crash::parse(data);
});
