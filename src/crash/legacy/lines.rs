//! Readers for one line of a block: a backtrace frame line and a `Binary Images:` line.

use super::text::{is_hex, matching_open_paren, parse_hex, path_basename, tokens};
use crate::crash::model::{normalize_uuid, Frame, Image, SymbolSource};

/// Parse one backtrace line:
/// `0   libsystem_kernel.dylib        \t0x00000001853d2388 __pthread_kill + 8`.
/// Returns the frame and the image name as written (`None` when the line has none).
pub(super) fn parse_frame(t: &str) -> Option<(Frame, Option<&str>)> {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = &t[digits..];
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    // Quirk: image names can contain spaces (`FabFilter Pro-Q 4`), so the image is everything
    // up to the first whitespace-separated `0x...` token, which is the pc.
    let (pos, len, address, note) = address_token(rest)?;
    let image = rest[..pos].trim();
    let image = (!image.is_empty()).then_some(image);
    let mut frame = Frame {
        address,
        note,
        ..Frame::default()
    };
    fill_symbol(&mut frame, rest[pos + len..].trim());
    Some((frame, image))
}

/// The pc token of a frame line: its position, length, value and, when it is not a 64-bit
/// number, a note instead of a value. Quirk: hand-edited or converted reports carry pcs such
/// as `-0x10` or `0x1000000000001a2b3` (more than 64 bits); the frame is kept (it can be the
/// crashing frame) without an address.
fn address_token(rest: &str) -> Option<(usize, usize, Option<u64>, Option<String>)> {
    for (pos, tok) in tokens(rest) {
        let (negative, body) = match tok.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, tok),
        };
        let Some(h) = body.strip_prefix("0x").filter(|h| is_hex(h)) else {
            continue;
        };
        if negative {
            return Some((
                pos,
                tok.len(),
                None,
                Some(format!("negative address {tok}")),
            ));
        }
        return Some(match u64::from_str_radix(h, 16) {
            Ok(a) => (pos, tok.len(), Some(a), None),
            Err(_) => (
                pos,
                tok.len(),
                None,
                Some(format!(
                    "address {} has more than 64 bits",
                    tok.chars().take(40).collect::<String>()
                )),
            ),
        });
    }
    None
}

/// A numbered frame line as Apple writes it, strictly enough that prose with a number and a
/// hex value (`1 see 0x10`) is not taken for a backtrace: an image name, then a pc padded to 8
/// or 16 hex digits.
pub(super) fn looks_like_frame_line(t: &str) -> bool {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &t[digits..];
    match (parse_frame(t), address_token(rest)) {
        (Some((_, Some(_))), Some((pos, len, Some(_), _))) => {
            len >= 10 && !rest[..pos].trim().is_empty()
        }
        _ => false,
    }
}

/// A frame line with nothing after its pc (`4   AGXMetalG13X   0x00000001a00022`): Apple always
/// writes a symbol, `???` or `base + offset` there, so the line was cut.
pub(super) fn frame_line_is_cut(t: &str) -> bool {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    match address_token(&t[digits..]) {
        Some((pos, len, _, _)) => t[digits + pos + len..].trim().is_empty(),
        None => true,
    }
}

/// Read what follows the pc: `sym + 8`, `sym + 24 (file.swift:12)`, `???`,
/// `0x10b858000 + 904968` (load address + offset: no symbol).
fn fill_symbol(frame: &mut Frame, s: &str) {
    if s.is_empty() || s == "???" {
        return;
    }
    if let Some(first) = s.split_whitespace().next() {
        // Quirk: unsymbolicated frames write `load address + offset` where the symbol goes:
        // `0x10b858000 + 904968`, or for a frame outside every image `0 + 70368744177778`.
        let is_base = first.strip_prefix("0x").is_some_and(is_hex)
            || (first.bytes().all(|b| b.is_ascii_digit())
                && s[first.len()..].trim_start().starts_with('+'));
        if is_base {
            // The offset into the image, used when the image list is missing (resolution
            // overwrites it with address - base). With base `0` it is the address itself.
            let base_is_zero = first.trim_start_matches("0x").bytes().all(|b| b == b'0');
            if let Some(off) = s
                .rsplit_once(" + ")
                .and_then(|(_, o)| o.trim().parse().ok())
                .filter(|_| !base_is_zero)
            {
                frame.image_offset = Some(off);
            }
            return;
        }
    }
    // Drop a trailing `[inlined]`-style marker.
    let mut s = s;
    if s.ends_with(']') {
        if let Some(open) = s.rfind(" [") {
            s = s[..open].trim_end();
        }
    }
    let mut symbol = s;
    if let Some(plus) = find_offset_plus(s) {
        symbol = s[..plus].trim_end();
        let after = &s[plus + 3..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        frame.symbol_offset = after[..digits].parse().ok();
        let tail = after[digits..].trim();
        if let Some(src) = tail.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
            let mut parts = src.split(':');
            let file = parts.next().unwrap_or("").trim();
            let line = parts.next().and_then(|l| l.trim().parse::<u32>().ok());
            if !file.is_empty() && line.is_some() {
                frame.source_file = Some(file.to_string());
                frame.source_line = line;
            }
        }
    }
    if symbol.is_empty() || symbol == "???" {
        return;
    }
    frame.symbol = Some(symbol.to_string());
    frame.symbol_source = Some(SymbolSource::Apple);
}

/// Byte position of the last ` + N` (N decimal digits) in a frame's symbol text.
fn find_offset_plus(s: &str) -> Option<usize> {
    let mut end = s.len();
    while let Some(p) = s[..end].rfind(" + ") {
        if s[p + 3..].starts_with(|c: char| c.is_ascii_digit()) {
            return Some(p);
        }
        end = p;
    }
    None
}

/// Parse one `Binary Images:` line. Forms seen:
/// `0x102a3c000 - 0x102a4bfff com.example.app (1.0 - 1) <2f5ccac7-...> /path/to/app`,
/// `0x1043c4000 -        0x108287fff +osaurus arm64  <2f5ccac7cf4f...> /Users/...`,
/// `0x104fe4000 - 0x105307fff org.python.python (3.12.3, (c) 2001-2023 PSF.) <uuid> /path`.
pub(super) fn parse_image(t: &str) -> Option<Image> {
    let (start_s, rest) = t.split_once('-')?;
    let base = parse_hex(start_s.trim())?;
    let rest = rest.trim_start();
    let end_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let end = parse_hex(&rest[..end_len])?;
    let rest = rest[end_len..].trim();
    // Quirk: the null image `0x0 - 0xffffffffffffffff ??? (*) <00000000-...> ???` would
    // overflow `end - start + 1`.
    let size = end.checked_sub(base).and_then(|d| d.checked_add(1));

    let (middle, uuid, path) = match rest.find('<') {
        Some(lt) => {
            let close = rest[lt..].find('>').map(|c| lt + c);
            match close {
                Some(gt) => (
                    &rest[..lt],
                    normalize_uuid(&rest[lt + 1..gt]),
                    rest[gt + 1..].trim(),
                ),
                None => (&rest[..lt], None, ""),
            }
        }
        // Very old reports have no UUID: the path starts at ` /`.
        None => match rest.find(" /") {
            Some(p) => (&rest[..p], None, rest[p..].trim()),
            None => (rest, None, ""),
        },
    };
    let mut middle = middle.trim();
    // `+` marks an image outside the OS.
    middle = middle.strip_prefix('+').unwrap_or(middle).trim_start();
    let mut version = None;
    if middle.ends_with(')') {
        if let Some(open) = matching_open_paren(middle) {
            version = Some(middle[open + 1..middle.len() - 1].trim());
            middle = middle[..open].trim_end();
        }
    }
    let mut arch = None;
    if let Some((head, last)) = middle.rsplit_once(char::is_whitespace) {
        if is_arch(last) {
            arch = Some(last.to_string());
            middle = head.trim_end();
        } else if last == "???" {
            middle = head.trim_end();
        }
    } else if is_arch(middle) {
        // Name missing, arch only.
        arch = Some(middle.to_string());
        middle = "";
    }
    let listed = (!middle.is_empty() && middle != "???").then_some(middle);
    let path = (!path.is_empty() && path != "???").then_some(path);
    let basename = path.map(path_basename).filter(|b| !b.is_empty());
    let name = basename.or(listed).map(str::to_string);
    // The listed name is the bundle id when it differs from the file name
    // (`com.apple.AGXMetalG16G-B0` for `.../AGXMetalG16G_B0`).
    let bundle_id = match (listed, basename) {
        (Some(l), Some(b)) if l != b => Some(l.to_string()),
        _ => None,
    };
    let bundle_version = version
        .filter(|v| !v.is_empty() && !v.chars().all(|c| matches!(c, '*' | '_' | '?' | '-' | ' ')))
        .map(str::to_string);
    Some(Image {
        uuid,
        name,
        path: path.map(str::to_string),
        arch,
        base: Some(base),
        size,
        bundle_id,
        bundle_version,
    })
}

fn is_arch(s: &str) -> bool {
    matches!(
        s,
        "arm64"
            | "arm64e"
            | "arm64_32"
            | "armv7"
            | "armv7s"
            | "armv7k"
            | "x86_64"
            | "x86_64h"
            | "i386"
            | "ppc"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Frame forms: image names with spaces, Rust symbols with `+` inside, `[inlined]`.
    #[test]
    fn frame_forms() {
        let (f, img) = parse_frame(
            "1   FabFilter Pro-Q 4             \t       0x124643ebc 0x12450c000 + 1277628",
        )
        .unwrap();
        assert_eq!(img, Some("FabFilter Pro-Q 4"));
        assert_eq!(f.address, Some(0x124643ebc));
        assert_eq!(f.symbol, None);
        assert_eq!(f.image_offset, Some(1277628));

        let (f, img) = parse_frame(
            "3   QtWidgets                     \t       0x10b8b3f20 QWidget::event(QEvent*) + 236",
        )
        .unwrap();
        assert_eq!(img, Some("QtWidgets"));
        assert_eq!(f.symbol.as_deref(), Some("QWidget::event(QEvent*)"));
        assert_eq!(f.symbol_offset, Some(236));
        assert_eq!(f.source_file, None);

        let (f, _) = parse_frame(
            "2   rs-vst-host  0x1005dd4cc core::ops::function::FnOnce::call_once + 180 (function.rs:250) [inlined]",
        )
        .unwrap();
        assert_eq!(
            f.symbol.as_deref(),
            Some("core::ops::function::FnOnce::call_once")
        );
        assert_eq!(f.source_file.as_deref(), Some("function.rs"));
        assert_eq!(f.source_line, Some(250));

        let (f, img) = parse_frame("0   ???   0x7ff89ccf4940 ???").unwrap();
        assert_eq!(img, Some("???"));
        assert_eq!(f.symbol, None);

        // `0 + N`: a frame outside every image, no symbol.
        let (f, _) = parse_frame("1   ???  \t0x000064656b636f6c 0 + 110386756153196").unwrap();
        assert_eq!(f.symbol, None);

        // A symbol without an offset.
        let (f, _) = parse_frame("4   dyld  0x190762b98 start").unwrap();
        assert_eq!(f.symbol.as_deref(), Some("start"));
        assert_eq!(f.symbol_offset, None);

        assert!(parse_frame("Logical CPU: 0").is_none());
        assert!(parse_frame("12abc").is_none());
        assert!(parse_frame("3   image-without-address foo").is_none());
    }

    // Binary image line forms.
    #[test]
    fn binary_image_forms() {
        // Version with nested parentheses; bundle id differs from the file name.
        let i = parse_image("0x104fe4000 -        0x105307fff org.python.python (3.12.3, (c) 2001-2023 Python Software Foundation.) <bb235480-7ef7-3727-8512-14b6e41b25b4> /opt/homebrew/Python.framework/Versions/3.12/Python").unwrap();
        assert_eq!(i.name.as_deref(), Some("Python"));
        assert_eq!(i.bundle_id.as_deref(), Some("org.python.python"));
        assert_eq!(
            i.bundle_version.as_deref(),
            Some("3.12.3, (c) 2001-2023 Python Software Foundation.")
        );
        assert_eq!(i.size, Some(0x105307fff - 0x104fe4000 + 1));

        // `+` prefix, arch, UUID without dashes, no version.
        let i = parse_image("0x1043c4000 -        0x108287fff +osaurus arm64  <2f5ccac7cf4f3f8786897c673e90e595> /Users/me/osaurus").unwrap();
        assert_eq!(i.name.as_deref(), Some("osaurus"));
        assert_eq!(i.arch.as_deref(), Some("arm64"));
        assert_eq!(i.bundle_id, None);
        assert_eq!(
            i.uuid.as_deref(),
            Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595")
        );

        // iOS form.
        let i = parse_image("0x100e1c000 - 0x100e23fff iOSCrashingTest arm64e  <82d13d98219e3040b62a07a297007a7c> /private/var/containers/Bundle/Application/X/iOSCrashingTest.app/iOSCrashingTest").unwrap();
        assert_eq!(i.arch.as_deref(), Some("arm64e"));
        assert_eq!(i.base, Some(0x100e1c000));
        assert_eq!(i.size, Some(0x8000));

        // Path with spaces, upper-case UUID.
        let i = parse_image("0x10a9d6000 -        0x10ab4bfff libvips.dylib (*) <1D4C196B-2627-3B71-9183-CDBAB8DE5498> /Applications/Image Optimizer.app/Contents/Frameworks/libvips.dylib").unwrap();
        assert_eq!(
            i.path.as_deref(),
            Some("/Applications/Image Optimizer.app/Contents/Frameworks/libvips.dylib")
        );
        assert_eq!(
            i.uuid.as_deref(),
            Some("1d4c196b-2627-3b71-9183-cdbab8de5498")
        );
        assert_eq!(i.bundle_version, None);

        // The null image: size would overflow.
        let i = parse_image(
            "0x0 - 0xffffffffffffffff ??? (*) <00000000-0000-0000-0000-000000000000> ???",
        )
        .unwrap();
        assert_eq!(i.size, None);
        assert_eq!(i.name, None);
        assert_eq!(i.path, None);

        // Old reports without a UUID.
        let i = parse_image("0x1000 - 0x1fff +foo ??? (1.0) /usr/lib/foo").unwrap();
        assert_eq!(i.uuid, None);
        assert_eq!(i.name.as_deref(), Some("foo"));
        assert_eq!(i.path.as_deref(), Some("/usr/lib/foo"));

        assert!(parse_image("not an image").is_none());
        assert!(parse_image("0xzz - 0x1 foo").is_none());
    }
}
