//! How a report's frames are stored: each stack (the crashed thread's, the exception
//! backtrace's) is one JSON array of frames (migration 8), kept once per distinct text in
//! `stacks` and pointed at by `reports.crashed_stack` / `reports.exception_stack` (migration
//! 13; see `docs/DATA_MODEL.md`). Equal stacks are equal texts: the encoding below is
//! deterministic (arrays in order, no spaces), which is what lets reports share a row.
//!
//! Why not a row per frame: a report has ~30 frames, and writing 30 rows (each a B-tree insert
//! and WAL traffic) was most of the single writer's time at ingest. Nothing looks frames up one
//! by one: `reports --frame` scans every crashed stack, `show` and symbolication read or write
//! one report's stacks whole.
//!
//! A frame is an array of what the store adds to or needs without the original: `[image id,
//! symbol, symbol offset, symbol source, source file, source line]`, null when unknown, e.g.
//! `[11,"__pthread_kill",8,"apple",null,null]`. What the re-parsed original gives again (the
//! image index, the offset in the image, the address) is not repeated: `show` re-parses the
//! stored original and lays these over it. Arrays rather than objects with keys: a third of the
//! bytes (the real-derived bench set: ~40 against ~100 bytes a frame).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::crash::{Frame, SymbolSource};
use crate::store::StoreError;

/// One stored frame (see the module doc for the encoding).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(in crate::store) struct StoredFrame<'a>(
    /// `images.id` of the frame's image.
    pub Option<i64>,
    /// Symbol name.
    #[serde(borrow)]
    pub Option<Cow<'a, str>>,
    /// Symbol offset.
    pub Option<i64>,
    /// Symbol source (`apple`, `symcache`).
    #[serde(borrow)]
    pub Option<Cow<'a, str>>,
    /// Source file.
    #[serde(borrow)]
    pub Option<Cow<'a, str>>,
    /// Source line.
    pub Option<u32>,
);

impl<'a> StoredFrame<'a> {
    /// A model frame as stored; `image_ids` maps the report's image indexes to `images` ids.
    pub fn of(f: &'a Frame, image_ids: &[i64]) -> StoredFrame<'a> {
        let mut s = StoredFrame(
            f.image_index.and_then(|ix| image_ids.get(ix)).copied(),
            None,
            None,
            None,
            None,
            None,
        );
        s.set_symbol_of(f);
        s
    }

    /// `images.id` of the frame's image.
    pub fn image_id(&self) -> Option<i64> {
        self.0
    }

    /// The same frame, owning its strings.
    pub fn into_owned(self) -> StoredFrame<'static> {
        let own = |s: Option<Cow<'a, str>>| s.map(|s| Cow::Owned(s.into_owned()));
        StoredFrame(
            self.0,
            own(self.1),
            self.2,
            own(self.3),
            own(self.4),
            self.5,
        )
    }

    /// The symbol name.
    pub fn symbol(&self) -> Option<&str> {
        self.1.as_deref()
    }

    /// Copy what symbolication may change (symbol, offset, source, file, line) from a model
    /// frame.
    pub fn set_symbol_of(&mut self, f: &'a Frame) {
        self.1 = f.symbol.as_deref().map(Cow::Borrowed);
        self.2 = f.symbol_offset.map(|x| x as i64);
        self.3 = f.symbol_source.map(|s| Cow::Borrowed(s.as_str()));
        self.4 = f.source_file.as_deref().map(Cow::Borrowed);
        self.5 = f.source_line;
    }

    /// Lay what symbolication may have changed over a frame re-parsed from the original.
    pub fn overlay(&self, f: &mut Frame) {
        f.symbol = self.1.as_deref().map(str::to_string);
        f.symbol_offset = self.2.map(|x| x as u64);
        f.symbol_source = self.3.as_deref().and_then(SymbolSource::parse);
        f.source_file = self.4.as_deref().map(str::to_string);
        f.source_line = self.5;
    }
}

/// A stack as stored: `None` for no frames (the column is NULL).
#[cfg(test)]
pub(in crate::store) fn encode(
    frames: &[Frame],
    image_ids: &[i64],
) -> Result<Option<String>, StoreError> {
    if frames.is_empty() {
        return Ok(None);
    }
    let stored: Vec<StoredFrame<'_>> = frames
        .iter()
        .map(|f| StoredFrame::of(f, image_ids))
        .collect();
    encode_stored(&stored).map(Some)
}

/// The text of a stack of stored frames.
pub(in crate::store) fn encode_stored(stored: &[StoredFrame<'_>]) -> Result<String, StoreError> {
    serde_json::to_string(stored)
        .map_err(|e| StoreError::Corrupt(format!("frames do not encode: {e}")))
}

/// A cheap summary of a stack, for finding one met before: its length and its frames' image
/// ids, offsets, lines and symbol lengths, mixed. Equal stacks have equal summaries; unequal
/// ones usually differ, and the caller compares the frames whole anyway.
pub(in crate::store) fn summary(stored: &[StoredFrame<'_>]) -> u64 {
    let mut h: u64 = stored.len() as u64;
    for f in stored {
        for x in [
            f.0.unwrap_or(-1) as u64,
            f.2.unwrap_or(-1) as u64,
            f.1.as_deref().map_or(u64::MAX, |s| s.len() as u64),
            u64::from(f.5.unwrap_or(u32::MAX)),
        ] {
            // FNV-1a's prime over whole words: the order of the frames counts.
            h = (h ^ x).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// A stored stack's frames (none for NULL).
pub(in crate::store) fn decode<'a>(
    report_id: i64,
    text: Option<&'a str>,
) -> Result<Vec<StoredFrame<'a>>, StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(t).map_err(|e| {
            StoreError::Corrupt(format!(
                "the stored frames of report {report_id} are damaged: {e}"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_with_what_the_original_lacks() {
        let f = Frame {
            image_index: Some(3),
            image_offset: Some(1552),
            address: Some(u64::MAX - 1),
            symbol: Some("__pthread_kill".into()),
            symbol_offset: Some(8),
            symbol_source: Some(SymbolSource::Apple),
            ..Frame::default()
        };
        let text = encode(std::slice::from_ref(&f), &[10, 11, 12, 13])
            .unwrap()
            .unwrap();
        assert_eq!(text, r#"[[13,"__pthread_kill",8,"apple",null,null]]"#);
        let back = decode(1, Some(&text)).unwrap();
        assert_eq!(back[0].image_id(), Some(13));
        let mut g = Frame {
            symbol: Some("other".into()),
            source_line: Some(9),
            ..Frame::default()
        };
        back[0].overlay(&mut g);
        assert_eq!(g.symbol.as_deref(), Some("__pthread_kill"));
        assert_eq!(g.symbol_offset, Some(8));
        assert_eq!(g.symbol_source, Some(SymbolSource::Apple));
        assert_eq!(g.source_line, None, "an unknown line clears a stale one");
        // An image index outside the list has no image id; no frames is NULL.
        let lost = Frame {
            image_index: Some(99),
            ..Frame::default()
        };
        assert_eq!(
            encode(&[lost], &[1]).unwrap().unwrap(),
            "[[null,null,null,null,null,null]]"
        );
        assert_eq!(encode(&[], &[]).unwrap(), None);
    }

    #[test]
    fn damaged_frames_are_a_corrupt_error_not_a_panic() {
        for bad in [
            "",
            "[",
            "[1]",
            "[[1]]",
            r#"[["x",null,null,null,null,null]]"#,
            "[[null,null,null,null,null,-1]]",
            "{}",
        ] {
            assert!(
                matches!(decode(7, Some(bad)), Err(StoreError::Corrupt(_))),
                "{bad}"
            );
        }
    }
}
