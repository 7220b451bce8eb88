//! The writeup's input: plain, precomputed data.
//!
//! Everything a writeup shows is in [`Writeup`]: counts, rates, Wilson intervals, Fisher
//! p-values, verdicts, summaries. Other modules compute them (`stats`, `rounds`, `store`); the
//! renderers in this module only present them, so a number in a writeup can always be traced to
//! one field here. `--format json` is this model serialised, plus the derived sentences.
//!
//! Conventions:
//! - rates and interval bounds are fractions in `0..=1` (`0.5` is 50%);
//! - efficiency figures are percentages as the suite prints them (`14.4` is 14.4%);
//! - in a [`Comparison`] (the one type of `rounds::compare`, shared with `compare --json`),
//!   verdicts say how side **b** does relative to side **a**, and `new_buckets` are buckets
//!   seen in b but not in a (not by themselves regressions: see `wording::bucket_change`),
//!   `gone_buckets` the reverse.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::rounds::compare::{BucketCount, Comparison, SideStats, Verdict, VerdictKind};
pub use crate::stats::correlate::Correlation;
pub use crate::stats::intervals::RatePer100;
pub use crate::stats::Summary;

/// One verification writeup, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Writeup {
    /// Document title, e.g. "Verification rounds 1820-1849".
    pub title: String,
    /// When the writeup was generated (tests pass a fixed clock).
    pub generated_at: DateTime<Utc>,
    /// The rounds this writeup is about.
    pub block: Block,
    /// The block it is compared with, if any (usually the previous one).
    #[serde(default)]
    pub against: Option<Block>,
    /// Fix dylib versions involved in the block (empty: native only).
    #[serde(default)]
    pub fixes: Vec<FixInfo>,
    /// Raw pass rate (first attempt, no crash report) per batch.
    #[serde(default)]
    pub raw_batches: Vec<RateRow>,
    /// Raw pass rate over the whole block.
    pub raw_total: RateRow,
    /// Eventual pass rate (within the retry budget) per batch.
    #[serde(default)]
    pub retry_batches: Vec<RateRow>,
    /// Eventual pass rate over all rounds run with retries; `rounds == 0` means none were.
    pub retry_total: RateRow,
    /// The retry budget: attempts allowed per round (1 = no retries), if known.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Efficiency summary (percent figures), if the suite reported efficiency (`None`, not an
    /// empty summary, when no round did).
    #[serde(default)]
    pub efficiency: Option<Summary>,
    /// Efficiency per round: `(round number, percent)`, in round order.
    #[serde(default)]
    pub efficiency_by_round: Vec<(u64, f64)>,
    /// Crash buckets seen in the block, most frequent first.
    #[serde(default)]
    pub buckets: Vec<BucketSection>,
    /// The top attribute-value correlations of the largest buckets (`agx-triage correlate`'s
    /// figures), for the buckets with enough reports to say anything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bucket_correlations: Vec<BucketCorrelations>,
    /// Comparison with [`Writeup::against`], if one was computed.
    #[serde(default)]
    pub comparison: Option<LabelledComparison>,
    /// Crash counts per fix version and bucket (for the grouped-bar chart).
    #[serde(default)]
    pub bucket_counts_by_fix: Vec<FixBucketCount>,
    /// Test configuration, in display order: key and value (several values joined).
    #[serde(default)]
    pub config: Vec<(String, String)>,
    /// Where example reports can be opened: a URL or path prefix (`https://host/reports/`,
    /// the report id is appended) or a template containing `{id}`. `None`: no links, only the
    /// `agx-triage show ID` command.
    #[serde(default)]
    pub report_links: Option<String>,
    /// Caveats on what the figures count, shown under the header: e.g. rounds left out
    /// because their fix never confirmed it loaded (`rounds::handshake`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What `--redact` replaced, by kind (distinct values); `None` when the writeup was not
    /// redacted. The footer of the markdown says it.
    #[serde(default)]
    pub redacted: Option<Vec<RedactedKind>>,
    /// Pass rates by machine (host, hardware model, OS), one breakdown per attribute whose
    /// values differ among the block's rounds; empty when the block ran on one machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdowns: Vec<Breakdown>,
}

/// The block's pass rates split by one attribute of the machine the rounds ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// `host`, `hardware model` or `OS`.
    pub by: String,
    /// One row per value, in order of the values (`unknown` for rounds whose machine did not
    /// say).
    pub rows: Vec<BreakdownRow>,
}

/// One value of a [`Breakdown`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRow {
    /// The host name, hardware model or OS.
    pub value: String,
    /// Raw pass rate of its rounds (`label` is the value too).
    pub raw: RateRow,
    /// Eventual pass rate of its rounds.
    pub eventual: RateRow,
}

/// How many distinct values of one kind redaction replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactedKind {
    /// `user`, `host`, `email`, `ip`, `mac`, `serial`, `crkey`, `sleepwake`, `device`, `uid`
    /// or `password` (the pseudonyms' stem).
    pub kind: String,
    /// Distinct values replaced.
    pub count: u64,
}

/// A named range of rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Display label, e.g. "1820-1849".
    pub label: String,
    /// First round number.
    pub first_round: u64,
    /// Last round number (inclusive).
    pub last_round: u64,
    /// Start of the first round, if recorded.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// End of the last round, if recorded.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A registered fix dylib build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixInfo {
    /// Version name, e.g. "v2.3".
    pub name: String,
    /// Where the dylib was registered from, if known.
    #[serde(default)]
    pub path: Option<String>,
    /// File size in bytes; `None` when the build is not registered (unknown, not zero).
    #[serde(default)]
    pub size: Option<u64>,
    /// SHA-256 of the file, lowercase hex; `None` when unknown.
    #[serde(default)]
    pub sha256: Option<String>,
    /// MD5 of the file, lowercase hex; `None` when unknown.
    #[serde(default)]
    pub md5: Option<String>,
    /// Mach-O slices: architecture and UUID.
    #[serde(default)]
    pub slices: Vec<Slice>,
    /// LC_ID_DYLIB current version, e.g. "2.3.0".
    #[serde(default)]
    pub current_version: Option<String>,
    /// False for a fix name that rounds used but `fix add` never registered: size, checksums
    /// and slices are then unknown (`None` / empty).
    #[serde(default = "yes")]
    pub registered: bool,
    /// Used by the block written up (not only by the block it is compared with).
    #[serde(default = "yes")]
    pub in_block: bool,
    /// Crash reports of rounds run under this name that loaded a different build (a fix
    /// image with other UUIDs): the checksums and UUIDs here are then not those of the build
    /// that crashed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_build_reports: u64,
}

fn yes() -> bool {
    true
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One architecture slice of a (possibly fat) Mach-O file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// Architecture, e.g. "arm64e".
    pub arch: String,
    /// LC_UUID, uppercase with dashes as crash reports print it.
    pub uuid: String,
}

/// Pass counts and rate of one batch (or a total).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRow {
    /// Batch label, e.g. "1820-1829", or "Total".
    pub label: String,
    /// Rounds in the batch.
    pub rounds: u64,
    /// Rounds that passed.
    pub pass: u64,
    /// `pass / rounds` as a fraction.
    pub rate: f64,
    /// 95% Wilson interval of the rate, fractions.
    pub ci: [f64; 2],
}

/// One crash bucket of the block, with what the crash-analysis section shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketSection {
    /// The bucket's signature.
    pub signature: String,
    /// Known-pattern rule id, e.g. "agx-null-impl-0x98".
    #[serde(default)]
    pub pattern: Option<String>,
    /// The rule's human title.
    #[serde(default)]
    pub pattern_title: Option<String>,
    /// Crash reports in this bucket within the block.
    pub count: u64,
    /// Crash reports per 100 rounds of the block.
    pub per_100_rounds: f64,
    /// The same with its exact 95% (Garwood) interval; `None` in writeups from before it.
    #[serde(default)]
    pub rate: Option<RatePer100>,
    /// Database id of a representative report.
    #[serde(default)]
    pub example_report: Option<i64>,
    /// Incident id of that report.
    #[serde(default)]
    pub example_incident: Option<String>,
    /// Top frames of the representative crashed thread, already formatted, one per line.
    #[serde(default)]
    pub stack: Vec<String>,
    /// PyTorch operations seen in the bucket's stacks (e.g. `gatherViewTensor`).
    #[serde(default)]
    pub pytorch_ops: Vec<String>,
    /// Every attributed crash: where it hit.
    #[serde(default)]
    pub hits: Vec<Hit>,
}

/// One crash report attributed to a round attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Round number.
    pub round: u64,
    /// The host the round ran on, when the writeup's rounds ran on several machines (two
    /// machines' round 1825 are two rounds); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Database id of the report.
    pub report_id: i64,
    /// Incident id of the report, if it had one.
    #[serde(default)]
    pub incident_id: Option<String>,
}

/// What sets one bucket's crashes apart from the other crashes in the database: the attribute
/// values with the smallest Benjamini-Hochberg q ([`crate::stats::correlate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketCorrelations {
    /// The bucket's signature (as in [`BucketSection::signature`]).
    pub signature: String,
    /// Its known-pattern name, if any (then the bucket is every report of the pattern).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Crash reports in the bucket, across the database.
    pub bucket_reports: u64,
    /// Crash reports outside it.
    pub other_reports: u64,
    /// Attribute values tested (the q-values are corrected over all of them).
    pub values_tested: u64,
    /// The top values by q (at most [`CORRELATIONS_SHOWN`]).
    pub top: Vec<Correlation>,
}

/// Correlations shown per bucket.
pub const CORRELATIONS_SHOWN: usize = 3;

/// A comparison as a writeup shows it: the figures of [`crate::rounds::compare::compare`]
/// (one type, the same `compare --json` prints) with the labels the writeup names its sides
/// by. Reads through to the figures (`c.a`, `c.raw`...) by `Deref`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledComparison {
    /// Label of side a (the reference), e.g. "1790-1819".
    pub a_label: String,
    /// Label of side b, e.g. "1820-1849".
    pub b_label: String,
    /// The figures, tests and verdicts (b relative to a).
    #[serde(flatten)]
    pub comparison: Comparison,
}

impl std::ops::Deref for LabelledComparison {
    type Target = Comparison;
    fn deref(&self) -> &Comparison {
        &self.comparison
    }
}

impl std::ops::DerefMut for LabelledComparison {
    fn deref_mut(&mut self) -> &mut Comparison {
        &mut self.comparison
    }
}

/// Crashes of one bucket under one fix version (the grouped-bar chart's data): one entry
/// per fix version and bucket, zero counts included, so every fix shows its rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixBucketCount {
    /// Fix version name, or "native".
    pub fix: String,
    /// Bucket label: the pattern id, or the signature when no rule matched.
    pub bucket: String,
    /// Crash reports.
    pub count: u64,
    /// Rounds run under this fix version (in the block and the block it is compared with).
    #[serde(default)]
    pub rounds: u64,
    /// Crashes per 100 of those rounds with the exact 95% interval; `None` when the rounds
    /// are not known (the chart then leaves the entry out).
    #[serde(default)]
    pub rate: Option<RatePer100>,
}
