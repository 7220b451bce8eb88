//! The one way a frame is written as text: `symbol + offset`, else `image + 0xoffset`, else
//! `???`. `show` lays it out in Apple's columns and writeups in their stack excerpts; both
//! call [`symbol_text`] so the two never disagree.

use crate::crash::{CrashReport, Frame};

/// The symbol part of a frame line: `-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:] + 64`,
/// `AGXMetalG16X + 0x5c8` (no symbol: the image and the offset into it), or `???`.
pub fn symbol_text(r: &CrashReport, f: &Frame) -> String {
    match (&f.symbol, f.symbol_offset, f.image_offset) {
        (Some(s), Some(o), _) => format!("{s} + {o}"),
        (Some(s), None, _) => s.clone(),
        (None, _, Some(o)) => {
            let img = r
                .image_of(f)
                .and_then(|m| m.name.as_deref())
                .unwrap_or("???");
            format!("{img} + {o:#x}")
        }
        _ => "???".to_string(),
    }
}
