//! Fuzz the fix handshake reader (`rounds::handshake`): whatever a command writes into
//! `AGX_FIX_HANDSHAKE` is parsed and judged without panicking.
#![no_main]

use agx_triage::rounds::handshake;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut problems = Vec::new();
    let lines = handshake::parse_lines(data, &mut problems);
    let expected = ["5c1d0e2a-1111-4222-8333-444455556666".to_string()];
    let _ = handshake::judge(&lines, &expected);
});
