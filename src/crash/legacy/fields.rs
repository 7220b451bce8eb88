//! Readers for header field values: exception codes and fault address, termination reason,
//! date, code type, register flavor, and process and thread labels.

use chrono::{DateTime, Utc};

use super::text::{find_ci, matching_open_paren, non_empty, parse_hex, strip_prefix_ci};
use crate::crash::model::{CrashReport, Termination};

/// `Exception Codes:` value. Numeric codes (`0x0000000000000001, 0x0000000000000098`) are
/// kept in `codes`; the older named form (`KERN_INVALID_ADDRESS at 0x...`, which some reports
/// write on a second `Exception Codes:` line) is also the subtype when there is none.
pub(super) fn exception_codes(exc: &mut crate::crash::model::ExceptionInfo, value: &str) {
    if value.is_empty() {
        return;
    }
    let numeric = value.starts_with(|c: char| c.is_ascii_digit());
    if numeric {
        let prev_named = exc
            .codes
            .as_deref()
            .is_some_and(|c| !c.starts_with(|ch: char| ch.is_ascii_digit()));
        if exc.codes.is_none() || prev_named {
            exc.codes = Some(value.to_string());
        }
    } else {
        if exc.subtype.is_none() {
            exc.subtype = Some(value.to_string());
        }
        if exc.codes.is_none() {
            exc.codes = Some(value.to_string());
        }
    }
}

/// Fault address from the subtype (`KERN_INVALID_ADDRESS at 0x98`, PAC form
/// `at 0x1741a4f9ef46998d -> 0x000024f9ef46998d (possible pointer authentication failure)`),
/// else for `EXC_BAD_ACCESS` the crashed thread's `far` register. Never for `EXC_CRASH` or
/// `EXC_BREAKPOINT`, whose codes are not addresses.
pub(super) fn derive_fault_address(r: &mut CrashReport) {
    let exc = &mut r.exception;
    let ty = exc.exc_type.as_deref().unwrap_or("");
    if ty.eq_ignore_ascii_case("EXC_CRASH") || ty.eq_ignore_ascii_case("EXC_BREAKPOINT") {
        return;
    }
    if let Some(sub) = exc.subtype.as_deref() {
        if let Some(pos) = find_ci(sub, " at 0x") {
            let after = &sub[pos + 4..];
            let first = after.split_whitespace().next().unwrap_or("");
            exc.fault_address = parse_hex(first.trim_end_matches(','));
            if let Some(arrow) = after.find("->") {
                let second = after[arrow + 2..].split_whitespace().next().unwrap_or("");
                exc.fault_address_stripped = parse_hex(second);
            }
        }
        exc.pointer_auth_failure = find_ci(sub, "pointer authentication").is_some();
    }
    if exc.fault_address.is_none() && ty.eq_ignore_ascii_case("EXC_BAD_ACCESS") {
        exc.fault_address = r.registers.as_ref().and_then(|s| s.get("far"));
    }
}

/// `Namespace SIGNAL, Code 6 Abort trap: 6`, macOS 26 `Namespace SIGNAL, Code 6, Abort trap: 6`,
/// `Namespace SIGNAL, Code 0xb`, iOS `SIGNAL 5 Trace/BPT trap: 5`.
pub(super) fn parse_termination_reason(term: &mut Termination, value: &str) {
    let v = strip_prefix_ci(value, "Namespace ").unwrap_or(value).trim();
    let ns_end = v
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(v.len());
    term.namespace = non_empty(&v[..ns_end]);
    let rest = v[ns_end..].trim_start_matches(',').trim_start();
    let rest = strip_prefix_ci(rest, "Code ").unwrap_or(rest).trim_start();
    let code_end = rest
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(rest.len());
    let code_s = &rest[..code_end];
    let code = match code_s
        .strip_prefix("0x")
        .or_else(|| code_s.strip_prefix("0X"))
    {
        Some(h) => i64::from_str_radix(h, 16)
            .ok()
            .or_else(|| u64::from_str_radix(h, 16).ok().map(|u| u as i64)),
        None => code_s.parse().ok(),
    };
    if code.is_none() {
        // No code: everything after the namespace is the indicator.
        if term.indicator.is_none() {
            term.indicator = non_empty(rest);
        }
        return;
    }
    term.code = code;
    let ind = rest[code_end..].trim_start_matches(',').trim();
    if !ind.is_empty() {
        term.indicator = Some(ind.to_string());
    }
}

/// `Date/Time:` forms: `2018-06-12 08:34:37.421 +0100`, `2026-03-01 10:00:00.0000 -0800`,
/// `2012-07-05 11:56:34 +0200`.
pub(super) fn parse_date(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f %z")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `ARM Thread State (64-bit)` -> the `.ips` flavor name, so both formats agree.
pub(super) fn register_flavor(s: &str) -> String {
    let l = s.to_ascii_lowercase();
    let is32 = l.contains("32-bit");
    if l.starts_with("arm") {
        if is32 {
            "ARM_THREAD_STATE"
        } else {
            "ARM_THREAD_STATE64"
        }
        .to_string()
    } else if l.starts_with("x86") {
        if is32 {
            "x86_THREAD_STATE32"
        } else {
            "x86_THREAD_STATE"
        }
        .to_string()
    } else {
        s.to_string()
    }
}

/// `Code Type:  X86-64 (Translated)` -> (`X86-64`, Some(true)); `ARM-64 (Native)` ->
/// (`ARM-64`, Some(false)); `X86-64` -> (`X86-64`, None). The suffix is dropped so the cpu type
/// matches the `.ips` `cpuType`; it lives on in `translated`.
pub(super) fn split_code_type(v: &str) -> (Option<String>, Option<bool>) {
    let (cpu, paren) = split_trailing_parens(v);
    let translated = match paren.map(str::to_ascii_lowercase).as_deref() {
        Some("translated") => Some(true),
        Some("native") => Some(false),
        Some(_) => return (non_empty(v), None),
        None => None,
    };
    (non_empty(cpu), translated)
}

/// `name [123]` -> (`name`, 123). Without brackets the whole value is the name.
pub(super) fn split_name_pid(v: &str) -> (Option<String>, Option<i64>) {
    let v = v.trim();
    if let Some(inner) = v.strip_suffix(']') {
        if let Some(open) = inner.rfind('[') {
            let pid = inner[open + 1..].trim().parse().ok();
            return (non_empty(&inner[..open]), pid);
        }
    }
    // A paste cut inside the pid, `python3.12 [12`: the name is whole, the pid is not.
    // (checked by tests/parse_props.rs over every cut)
    if let Some(open) = v.rfind(" [") {
        if v[open + 2..].chars().all(|c| c.is_ascii_digit()) {
            return (non_empty(&v[..open]), None);
        }
    }
    (non_empty(v), None)
}

/// `text (inner)` -> (`text`, Some(`inner`)); otherwise (`v`, None).
pub(super) fn split_trailing_parens(v: &str) -> (&str, Option<&str>) {
    let v = v.trim();
    if v.ends_with(')') {
        if let Some(open) = matching_open_paren(v) {
            return (v[..open].trim_end(), Some(v[open + 1..v.len() - 1].trim()));
        }
    }
    (v, None)
}

/// Thread label after `Thread N:` / `Thread N Crashed::` / `Thread N name:`:
/// `main Dispatch queue: com.apple.main-thread` -> (main, queue), `com.apple.NSEventThread`
/// -> (name, None), `Dispatch queue: q` -> (None, q).
pub(super) fn split_name_queue(label: &str) -> (Option<String>, Option<String>) {
    let label = label.trim();
    match find_ci(label, "Dispatch queue:") {
        Some(p) => {
            let name = label[..p].trim().trim_end_matches(',').trim();
            let queue = label[p + "Dispatch queue:".len()..].trim();
            (non_empty(name), non_empty(queue))
        }
        None => (non_empty(label), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Termination reason variants: `Code 6 Abort trap: 6`, hex code, iOS `SIGNAL 5 ...`.
    #[test]
    fn termination_reason_forms() {
        let t = |v: &str| {
            let mut t = Termination::default();
            parse_termination_reason(&mut t, v);
            (t.namespace, t.code, t.indicator)
        };
        assert_eq!(
            t("Namespace SIGNAL, Code 6 Abort trap: 6"),
            (Some("SIGNAL".into()), Some(6), Some("Abort trap: 6".into()))
        );
        assert_eq!(
            t("Namespace SIGNAL, Code 0xb"),
            (Some("SIGNAL".into()), Some(11), None)
        );
        assert_eq!(
            t("SIGNAL 5 Trace/BPT trap: 5"),
            (
                Some("SIGNAL".into()),
                Some(5),
                Some("Trace/BPT trap: 5".into())
            )
        );
        assert_eq!(
            t("Namespace SPRINGBOARD, Code 0x8badf00d"),
            (Some("SPRINGBOARD".into()), Some(0x8badf00d), None)
        );
    }

    // Regression: a paste cut inside the pid (`Process: python3.12 [12`) keeps the name clean.
    #[test]
    fn process_cut_inside_pid() {
        assert_eq!(
            split_name_pid("python3.12 [12"),
            (Some("python3.12".into()), None)
        );
        assert_eq!(
            split_name_pid("python3.12 ["),
            (Some("python3.12".into()), None)
        );
        assert_eq!(
            split_name_pid("python3.12 [12]"),
            (Some("python3.12".into()), Some(12))
        );
    }
}
