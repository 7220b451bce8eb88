//! Differential fuzzing of the two `.ips` JSON readers: the fast reader (with serde where it
//! gives way) and serde alone must give the same reports or the same error, at both depths.
#![no_main]

use agx_triage::crash::{parse_with_reader, JsonReader, ThreadFrames};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for depth in [ThreadFrames::All, ThreadFrames::Crashed] {
        let fast = parse_with_reader(data, depth, JsonReader::Fast);
        let serde = parse_with_reader(data, depth, JsonReader::Serde);
        match (fast, serde) {
            (Ok(f), Ok(s)) => assert_eq!(f, s),
            (Err(f), Err(s)) => assert_eq!(f.to_string(), s.to_string()),
            (f, s) => panic!("fast {:?} but serde {:?}", f.map(|r| r.len()), s.map(|r| r.len())),
        }
    }
});
