//! Offline symbolication by Mach-O UUID.
//!
//! Crash reports from machines without symbols (or from stripped system binaries) carry frames
//! as `imageIndex + imageOffset` with no name. This module keeps a *symbol store*: a directory of
//! symcache files, one per Mach-O slice, keyed by the slice's UUID (see [`SymbolStore`]), and
//! fills frame names from it ([`symbolicate_report`]).
//!
//! - [`macho`] reads Mach-O images, fat binaries and dSYM bundles and turns every slice into a
//!   symcache (symbolic's compact address → function/line format);
//! - [`store`] is the directory with its JSON index, lookups and the in-memory cache;
//! - [`report`] walks a [`CrashReport`](crate::crash::CrashReport) and fills or replaces names.
//!
//! This module never prints and never touches SQL; a report is changed only through
//! [`symbolicate_report`]. See `docs/SYMBOLS.md` for the user-facing description.

pub mod macho;
pub mod report;
pub mod store;

use std::path::PathBuf;

pub use report::{
    symbolicate_crashed, symbolicate_report, Disagreement, FrameRef, StackRef, SymbolicateSummary,
};
pub use store::{AddOutcome, Lookup, SkippedSlice, SliceInfo, SourceKind, SymbolStore};

/// Anything that can resolve `(uuid, image offset)` to a symbol. [`SymbolStore`] is the real
/// one; tests and other stores (a remote symbol server, say) can stand in.
pub trait SymbolProvider {
    /// Resolve `image_offset` inside the image with this UUID. `is_crashing_frame` is false for
    /// return addresses, which are moved back one instruction before the lookup.
    fn lookup(&self, uuid: &str, image_offset: u64, is_crashing_frame: bool) -> Lookup;
}

/// Why a file could not be added to the store, or the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SymbolError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a Mach-O image, fat binary or dSYM.
    #[error("not a Mach-O file ({0})")]
    NotMachO(String),
    /// The file looks like Mach-O but cannot be parsed (truncated, corrupt load commands ...).
    #[error("malformed Mach-O: {0}")]
    Malformed(String),
    /// A slice without an `LC_UUID` load command cannot be matched to any crash report.
    #[error("Mach-O slice ({arch}) has no LC_UUID")]
    NoUuid { arch: String },
    /// symbolic could not convert the slice into a symcache.
    #[error("cannot build symcache: {0}")]
    SymCache(String),
    /// The store's `index.json` is not valid JSON of the expected shape (or cannot be written).
    #[error("symbol index {path}: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The store's `index.json` was written by a build with another index format.
    #[error("symbol index {path}: index version {found} (this build reads {expected})")]
    IndexVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    /// An indexed symcache file is not a readable symcache (damaged, or cut short).
    #[error("symcache {path} is unreadable: {source}")]
    BrokenCache {
        path: PathBuf,
        #[source]
        source: symbolic::symcache::Error,
    },
}

impl SymbolError {
    /// A short stable name for logs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            SymbolError::Io { .. } => "io",
            SymbolError::NotMachO(_) => "not-macho",
            SymbolError::Malformed(_) => "malformed",
            SymbolError::NoUuid { .. } => "no-uuid",
            SymbolError::SymCache(_) => "symcache",
            SymbolError::Index { .. } => "index",
            SymbolError::IndexVersion { .. } => "index-version",
            SymbolError::BrokenCache { .. } => "broken-cache",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SymbolError::Io {
            path: path.into(),
            source,
        }
    }
}
