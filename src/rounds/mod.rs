//! Verification rounds: the round model and its outcome rules ([`model`]), JSON-lines import
//! ([`import`]), the retrying runner ([`runner`]), attribution of crash reports to attempts
//! ([`attribute`](mod@attribute)), the comparison of two sets of rounds ([`compare`](mod@compare)),
//! the proof that an injected fix loaded ([`handshake`]) and the loop behind
//! `round run --until-decided` ([`sequential`]).
//!
//! No SQL and no printing here: the store persists rounds, the CLI shows them. See
//! `docs/ROUNDS.md` for the import schema and the rules.

pub mod attribute;
pub mod compare;
pub mod handshake;
pub mod import;
pub mod model;
pub mod runner;
pub mod sequential;

pub use attribute::{attribute, Assignment, Basis, ReportRef};
pub use compare::{
    compare, side_stats, verdict, BucketCount, CompareError, Comparison, CrashBucket, RoundSummary,
    Side, SideStats, Verdict, VerdictKind,
};
pub use import::{parse_jsonl, parse_jsonl_lines, ImportError};
pub use model::{signal_name, signal_number, Attempt, Outcome, Round};
pub use runner::{
    run_round, CrashSource, CrashSourceError, OutputStream, RetryOn, RunConfig, RunError,
    RunResult, RunWarning,
};
