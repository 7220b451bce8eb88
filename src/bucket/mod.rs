//! Bucketing: crash signatures and known-pattern rules (docs/BUCKETS.md).
//!
//! [`signature()`] turns a report's crashed thread into a stable text (see [`signature`](mod@signature)
//! and [`normalize`]); [`RuleSet`] names known bugs from data (`rules.toml`, user files);
//! [`classify`] does both at once; [`diff()`] compares two bucketings of the same reports after
//! the algorithm or the rules changed (`rebucket`). Everything here is a pure function of its
//! inputs: no I/O, no SQL, no printing. Rules and frame lists are compiled once, so
//! classifying a report costs microseconds.
//!
//! The format of signatures, their version history and how to write rules are in
//! docs/BUCKETS.md.

pub mod diff;
pub mod glob;
pub mod normalize;
pub mod rules;
pub mod signature;

use serde::{Deserialize, Serialize};

use crate::crash::CrashReport;

pub use diff::{
    diff, BucketDiff, BucketReports, MergedBucket, RenamedBucket, ReportChange, SplitBucket,
};
pub use glob::{frame_glob, FrameMatcher};
pub use normalize::normalize_symbol;
pub use rules::{Rule, RuleError, RuleMatch, RuleSet};
pub use signature::{signature, FrameLists, Signature, SIGNATURE_ALGORITHM_VERSION};

/// A report's bucket: its signature and, when a rule matched, the known pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucketing {
    pub signature: Signature,
    pub pattern: Option<RuleMatch>,
}

/// Compute the signature and the first matching rule, walking the crashed thread once.
pub fn classify(report: &CrashReport, rules: &RuleSet, lists: &FrameLists) -> Bucketing {
    let prepared = signature::prepare(report, lists, rules.max_within());
    let pattern = rules
        .first_match_prepared(report, &prepared.kept)
        .map(Rule::to_match);
    Bucketing {
        signature: prepared.signature,
        pattern,
    }
}
