//! The library's glue: what a command does, below `cli` and above the modules.
//!
//! `cli` parses arguments and presents results; everything between (selecting rounds from the
//! store and comparing them, gathering a writeup, naming a fix build, feeding a round runner
//! its crash reports) lives here, so tests and other front ends call it without the binary.
//! `ops` calls `crash`, `bucket`, `rounds`, `writeup`, `stats`, `symbols`, `fixes`, `ingest`
//! and `store`; none of them calls `ops`, and `ops` never prints (docs/ARCHITECTURE.md).

pub mod compare;
pub mod correlate;
pub mod fixes;
pub mod frames;
pub mod merge;
pub mod rebucket;
pub mod rounds;
pub mod symbolicate;
pub mod writeup;

use thiserror::Error;

/// Errors of the glue, wrapping the modules' own.
#[derive(Debug, Error)]
pub enum OpsError {
    /// A selection matched no rounds; the text says which and why.
    #[error("{0}")]
    NoRounds(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The comparison's statistics.
    #[error(transparent)]
    Compare(#[from] crate::rounds::compare::CompareError),
    /// Reading a fix dylib.
    #[error(transparent)]
    Fix(#[from] crate::fixes::FixError),
    /// A statistic that could not be computed from these figures.
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
    /// An input the operation cannot use; the text says which and why.
    #[error("{0}")]
    Invalid(String),
}

impl OpsError {
    /// Short stable name for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            OpsError::NoRounds(_) => "no-rounds",
            OpsError::Store(_) => "store",
            OpsError::Compare(e) => e.code(),
            OpsError::Fix(_) => "fix",
            OpsError::Stats(e) => e.code(),
            OpsError::Invalid(_) => "invalid",
        }
    }
}
