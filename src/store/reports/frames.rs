//! How a report's frames are stored: one `report_frames` row per report, each stack (the
//! crashed thread's, the exception backtrace's) one JSON array of frames (migration 8, see
//! `docs/DATA_MODEL.md`).
//!
//! Why not a row per frame: a report has ~30 frames, and writing 30 rows (each a B-tree insert
//! and WAL traffic) was most of the single writer's time at ingest. Nothing looks frames up one
//! by one: `reports --frame` scans every crashed stack, `show` and symbolication read or write
//! one report's stacks whole.
//!
//! A frame is an object with short keys, absent when unknown, e.g.
//! `{"i":3,"img":17,"off":1552,"sym":"__pthread_kill","symoff":8,"src":"apple"}`. Integers are
//! stored as SQLite stored them before (signed 64-bit: an address above `i64::MAX` reads back
//! negative and is cast back), so rows carried over by the migration and new rows agree.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::crash::{Frame, SymbolSource};
use crate::store::StoreError;

/// One stored frame (see the module doc for the encoding).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(in crate::store) struct StoredFrame<'a> {
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub image_index: Option<i64>,
    #[serde(rename = "img", default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<i64>,
    #[serde(rename = "off", default, skip_serializing_if = "Option::is_none")]
    pub image_offset: Option<i64>,
    #[serde(rename = "addr", default, skip_serializing_if = "Option::is_none")]
    pub address: Option<i64>,
    #[serde(
        rename = "sym",
        default,
        skip_serializing_if = "Option::is_none",
        borrow
    )]
    pub symbol: Option<Cow<'a, str>>,
    #[serde(rename = "symoff", default, skip_serializing_if = "Option::is_none")]
    pub symbol_offset: Option<i64>,
    #[serde(
        rename = "src",
        default,
        skip_serializing_if = "Option::is_none",
        borrow
    )]
    pub symbol_source: Option<Cow<'a, str>>,
    #[serde(
        rename = "file",
        default,
        skip_serializing_if = "Option::is_none",
        borrow
    )]
    pub source_file: Option<Cow<'a, str>>,
    #[serde(rename = "line", default, skip_serializing_if = "Option::is_none")]
    pub source_line: Option<u32>,
}

impl<'a> StoredFrame<'a> {
    /// A model frame as stored; `image_ids` maps the report's image indexes to `images` ids.
    pub fn of(f: &'a Frame, image_ids: &[i64]) -> StoredFrame<'a> {
        StoredFrame {
            image_index: f.image_index.map(|x| x as i64),
            image_id: f.image_index.and_then(|ix| image_ids.get(ix)).copied(),
            image_offset: f.image_offset.map(|x| x as i64),
            address: f.address.map(|x| x as i64),
            symbol: f.symbol.as_deref().map(Cow::Borrowed),
            symbol_offset: f.symbol_offset.map(|x| x as i64),
            symbol_source: f.symbol_source.map(|s| Cow::Borrowed(s.as_str())),
            source_file: f.source_file.as_deref().map(Cow::Borrowed),
            source_line: f.source_line,
        }
    }

    /// Copy what symbolication may change (symbol, offset, source, file, line) from a model
    /// frame.
    pub fn set_symbol_of(&mut self, f: &'a Frame) {
        self.symbol = f.symbol.as_deref().map(Cow::Borrowed);
        self.symbol_offset = f.symbol_offset.map(|x| x as i64);
        self.symbol_source = f.symbol_source.map(|s| Cow::Borrowed(s.as_str()));
        self.source_file = f.source_file.as_deref().map(Cow::Borrowed);
        self.source_line = f.source_line;
    }

    /// Lay what symbolication may have changed over a frame re-parsed from the original.
    pub fn overlay(&self, f: &mut Frame) {
        f.symbol = self.symbol.as_deref().map(str::to_string);
        f.symbol_offset = self.symbol_offset.map(|x| x as u64);
        f.symbol_source = self.symbol_source.as_deref().and_then(SymbolSource::parse);
        f.source_file = self.source_file.as_deref().map(str::to_string);
        f.source_line = self.source_line;
    }
}

/// A stack as stored: `None` for no frames (the column is NULL).
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
    serde_json::to_string(&stored)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("frames do not encode: {e}")))
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
    fn a_frame_round_trips_and_unknowns_take_no_bytes() {
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
        assert_eq!(
            text,
            r#"[{"i":3,"img":13,"off":1552,"addr":-2,"sym":"__pthread_kill","symoff":8,"src":"apple"}]"#
        );
        let back = decode(1, Some(&text)).unwrap();
        let mut g = Frame::default();
        back[0].overlay(&mut g);
        assert_eq!(g.symbol.as_deref(), Some("__pthread_kill"));
        assert_eq!(g.symbol_source, Some(SymbolSource::Apple));
        assert_eq!(back[0].address.map(|a| a as u64), f.address);
        assert_eq!(encode(&[], &[]).unwrap(), None);
    }

    #[test]
    fn damaged_frames_are_a_corrupt_error_not_a_panic() {
        for bad in ["", "{", "[1]", r#"[{"i":"x"}]"#, r#"[{"line":-1}]"#] {
            assert!(
                matches!(decode(7, Some(bad)), Err(StoreError::Corrupt(_))),
                "{bad}"
            );
        }
        // What migration 8 writes for a frame with every column NULL.
        assert_eq!(
            decode(7, Some("[{}]")).unwrap(),
            vec![StoredFrame::default()]
        );
    }
}
