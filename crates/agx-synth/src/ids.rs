//! Deterministic identifiers: UUIDs and hex strings derived from descriptive labels, so a
//! synthetic report is the same bytes on every run and platform (no clock, no OS randomness).

use std::fmt::Write as _;

/// FNV-1a followed by a splitmix finaliser, so labels that differ only at the end spread well.
pub fn hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A lower-case UUID derived from a label, with the given version nibble: 3 for Mach-O images
/// (as dyld's are), 4 for incident ids and other random-looking identifiers.
pub fn uuid(label: &str, version: u8) -> String {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hash(label).to_be_bytes());
    b[8..].copy_from_slice(&hash(&format!("{label}#2")).to_be_bytes());
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// An image UUID (version 3, lower case) for a label.
pub fn image_uuid(label: &str) -> String {
    uuid(label, 3)
}

/// An incident-style UUID (version 4, upper case, as `incident_id` is written) for a label.
pub fn upper_uuid(label: &str) -> String {
    uuid(label, 4).to_uppercase()
}

/// 40 hex digits (a `logWritingSignature`) for a label.
pub fn hex40(label: &str) -> String {
    let mut s = String::new();
    for i in 0..3 {
        let _ = write!(s, "{:016x}", hash(&format!("{label}/{i}")));
    }
    s.truncate(40);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_and_versioned() {
        let a = uuid("x", 3);
        assert_eq!(a, uuid("x", 3));
        assert_ne!(a, uuid("y", 3));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "3");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(&upper_uuid("x")[14..15], "4");
        assert_eq!(hex40("x").len(), 40);
    }
}
