//! Fuzz the `.ips` reader alone: finding documents, typed reading, repair of broken JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = agx_triage::crash::ips::scan(text);
    }
});
