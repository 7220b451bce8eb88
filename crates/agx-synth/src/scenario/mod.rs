//! Realistic crashes of multithreaded PyTorch on MPS (and a few ordinary ones) on
//! Apple-silicon Macs, as the project's sample data tells them: machines, the images each
//! process loads (system images at their shared-cache bases, third-party ones at slid bases),
//! stack templates for every known AGX crash pattern of docs/BUCKETS.md and their contexts,
//! registers and faults, assembled into a [`Crash`] and written through [`crate::Report`].
//!
//! Everything is deterministic: a caller-seeded [`Rng`], explicit dates, and labels hashed into
//! UUIDs ([`crate::ids`]). The templates are made up in the shape of real reports; no real
//! report is copied. `examples/gen_samples.rs` tells the story (rounds, fixes, file names) with
//! these pieces.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};

use crate::ids::{hash, hex40, image_uuid, upper_uuid};
use crate::json::{obj, render_body, s, u, Style as Sty};
use crate::{
    Bundle, Exception, Frame, Hardware, Image, Os, Process as SynthProcess, Register,
    Report as SynthReport, SharedCache, System, Termination, Thread, ThreadState,
};

mod assemble;
mod crashes;
mod machines;
mod templates;

use assemble::*;
pub use assemble::{render_ips, render_legacy, render_translated, Crash, ImageOut, Proc, Unsym};
pub use crashes::{
    appkit_uaf_crash, numpy_extension_crash, python_crash, render_gpu_event, swift_abort_crash,
    PyCrash,
};
use machines::*;
pub use machines::{fix_path, ImageSpec, Img, Machine, M1_MAX, M2_MAX, M3_MAX, M4_MAX};
use templates::*;
pub use templates::{family_symbol, pattern, Ctx, Pattern, F, PATTERNS};

// ---------------------------------------------------------------------------------------------
// Deterministic helpers
// ---------------------------------------------------------------------------------------------

/// xorshift64* — small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value but 0).
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-enough value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    /// One of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

/// A wall-clock time with its UTC offset, as reports write times.
pub type Local = DateTime<FixedOffset>;

/// A wall-clock time in the given UTC offset (hours). October 2026 dates are PDT (-7), November
/// dates after the 1st are PST (-8): the samples straddle the DST change on purpose.
pub fn local(ymd: (i32, u32, u32), hms: (u32, u32, u32), offset_hours: i32) -> Local {
    let tz = FixedOffset::east_opt(offset_hours * 3600).expect("valid offset");
    tz.with_ymd_and_hms(ymd.0, ymd.1, ymd.2, hms.0, hms.1, hms.2)
        .single()
        .expect("valid date")
}

/// `captureTime` style: `2026-11-02 10:15:30.1234 -0800`.
pub fn fmt_capture(t: &Local) -> String {
    format!(
        "{}.{:04} {}",
        t.format("%Y-%m-%d %H:%M:%S"),
        t.timestamp_subsec_nanos() / 100_000,
        t.format("%z")
    )
}

/// Header `timestamp` style: `2026-11-02 10:15:33.00 -0800`.
pub fn fmt_header(t: &Local) -> String {
    format!("{}.00 {}", t.format("%Y-%m-%d %H:%M:%S"), t.format("%z"))
}

/// `2026-11-02T18:15:30.123Z`, as `rounds.jsonl` writes times.
pub fn fmt_utc(t: &Local) -> String {
    t.with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `2026-11-02-101530`, as DiagnosticReports names files.
pub fn file_stamp(t: &Local) -> String {
    t.format("%Y-%m-%d-%H%M%S").to_string()
}

/// `s` seconds.
pub fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

/// `ms` milliseconds.
pub fn millis(ms: i64) -> Duration {
    Duration::milliseconds(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash_of(pattern: &str, fix: Option<&'static str>, seed: u64) -> Crash {
        let capture = local((2026, 11, 2), (10, 15, 30), -8) + millis(1234);
        python_crash(
            PyCrash {
                pattern,
                ctx: Ctx::Gather,
                machine: M4_MAX,
                fix,
                capture,
                launch: capture - secs(60),
                pid: 4242,
                parent: ("bash", 4000),
                unsym: Unsym::None,
                label: format!("test/{pattern}"),
                variant: 0,
            },
            &mut Rng(seed),
        )
    }

    #[test]
    fn every_pattern_builds_a_report_with_its_top_frames_on_the_crashed_thread() {
        for p in PATTERNS {
            let crash = crash_of(p.id, Some("v2_4"), 7);
            let ips = render_ips(&crash);
            let (header, body) = ips.split_once('\n').unwrap();
            let header: serde_json::Value = serde_json::from_str(header).unwrap();
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(header["incident_id"], body["incident"], "{}", p.id);
            let t = body["faultingThread"].as_u64().unwrap() as usize;
            let symbols: Vec<&str> = body["threads"][t]["frames"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f["symbol"].as_str())
                .collect();
            let first = family_symbol(p.top[0].1, &M4_MAX);
            assert!(symbols.contains(&first.as_str()), "{}: {symbols:?}", p.id);
            let signal = body["exception"]["signal"].as_str().unwrap();
            assert_eq!(signal == "SIGABRT", p.abort, "{}", p.id);
            // Every frame names an image that is listed.
            let n = body["usedImages"].as_array().unwrap().len() as u64;
            for th in body["threads"].as_array().unwrap() {
                for f in th["frames"].as_array().unwrap() {
                    assert!(f["imageIndex"].as_u64().unwrap() < n, "{}", p.id);
                }
            }
            let legacy = render_legacy(&crash);
            assert!(legacy.contains(&first), "{}", p.id);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = render_ips(&crash_of("agx-null-impl-0x98", None, 1));
        assert_eq!(a, render_ips(&crash_of("agx-null-impl-0x98", None, 1)));
        assert_ne!(a, render_ips(&crash_of("agx-null-impl-0x98", None, 2)));
    }
}
