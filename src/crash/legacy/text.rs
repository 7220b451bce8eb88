//! Small text helpers the legacy readers share: case-insensitive matching, hex numbers,
//! whitespace tokens on char boundaries, and setting a field once.

pub(super) fn leading_number(v: &str) -> Option<usize> {
    let v = v.trim_start();
    let d = v.bytes().take_while(u8::is_ascii_digit).count();
    v[..d].parse().ok()
}

pub(super) fn set_once(slot: &mut Option<String>, v: &str) {
    if slot.is_none() && !v.is_empty() {
        *slot = Some(v.to_string());
    }
}

pub(super) fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

pub(super) fn path_basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

pub(super) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `0x1f` -> 31; only the `0x` form.
pub(super) fn parse_hex(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if !is_hex(h) {
        return None;
    }
    u64::from_str_radix(h, 16).ok()
}

/// ASCII-case-insensitive prefix strip that never splits a UTF-8 character.
pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// ASCII-case-insensitive find (needles here are short ASCII).
pub(super) fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    if n == 0 || hay.len() < n {
        return None;
    }
    let hb = hay.as_bytes();
    let nb = needle.as_bytes();
    (0..=hb.len() - n).find(|&i| hay.is_char_boundary(i) && hb[i..i + n].eq_ignore_ascii_case(nb))
}

/// Whitespace-separated tokens with their byte positions (always on char boundaries, also
/// when the separator is a multi-byte space such as U+00A0).
pub(super) fn tokens(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut next = 0usize;
    std::iter::from_fn(move || {
        let tail = s.get(next..)?;
        let start = next + tail.find(|c: char| !c.is_whitespace())?;
        let len = s[start..]
            .find(char::is_whitespace)
            .unwrap_or(s.len() - start);
        next = start + len;
        Some((start, &s[start..start + len]))
    })
}

/// Position of the `(` matching the final `)` of `s`.
pub(super) fn matching_open_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
