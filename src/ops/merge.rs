//! `merge`'s work: fold another machine's database into this one (docs/FLEET.md).
//!
//! The source is read through the store's read API (opened with
//! [`Store::open_merge_source`], never written); the target is written only through store
//! functions. Order matters: hosts first (rounds and reports name them), then fix versions
//! (a merged report links to its fix on insert), then reports, then rounds.
//!
//! Identity of each kind: a host by machine identity, then name; a fix version by its name
//! and build (slice UUIDs); a report by its identity (incident id, or original file key and
//! index); a round by (host, round number). What is stored already with the same content is
//! "already there"; the same key with other content is a conflict, reported and left as it is
//! on both sides. Each report, round, fix and host is its own transaction, so a kill -9 leaves
//! every item whole, and merging again finishes the job (merge is idempotent).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ingest::Bucketer;
use crate::store::{self, InsertOutcome, RoundMeta, RoundSelector, SavedRound, Store, StoreError};

use super::OpsError;

/// Counts of one kind of item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Stored by this merge.
    pub added: usize,
    /// Stored already with the same content (nothing changed).
    pub already: usize,
    /// The same key with different content: left as it is on both sides.
    pub conflicts: usize,
    /// Could not be read from the source (e.g. a stored original that no longer parses).
    pub failed: usize,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.added += o.added;
        self.already += o.already;
        self.conflicts += o.conflicts;
        self.failed += o.failed;
    }
}

/// One item merge did not store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `host`, `fix`, `report` or `round`.
    pub kind: &'static str,
    /// Which: a host or fix name, a report identity, `HOST:ROUND`.
    pub key: String,
    /// `conflict` or `failed`.
    pub status: &'static str,
    /// Why.
    pub reason: String,
}

/// What merging one source did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeSummary {
    /// Hosts.
    pub hosts: Counts,
    /// Fix versions.
    pub fixes: Counts,
    /// Reports.
    pub reports: Counts,
    /// Rounds.
    pub rounds: Counts,
    /// Paths added as sources of reports (new reports' paths and further copies of known ones).
    pub sources_added: usize,
    /// Every conflict and failure, in merge order.
    pub problems: Vec<Problem>,
}

impl MergeSummary {
    /// Add another source's counts (the problems are kept per source).
    pub fn add_counts(&mut self, o: &MergeSummary) {
        self.hosts.add(&o.hosts);
        self.fixes.add(&o.fixes);
        self.reports.add(&o.reports);
        self.rounds.add(&o.rounds);
        self.sources_added += o.sources_added;
    }
}

/// Why merging one source stopped. Either way, what was merged before stays merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Reading the source failed partway (a damaged or crafted database): the rest of that
    /// source is not merged; other sources can be.
    #[error("cannot read the source database: {source}")]
    Source {
        /// The source's error.
        #[source]
        source: StoreError,
        /// What was merged from it before.
        merged: Box<MergeSummary>,
    },
    /// Writing the target failed (a full disk, a lost server): the merge stops.
    #[error(transparent)]
    Target(#[from] OpsError),
}

impl From<StoreError> for MergeError {
    fn from(e: StoreError) -> Self {
        MergeError::Target(e.into())
    }
}

impl MergeError {
    /// Short stable name for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            MergeError::Source { .. } => "merge-source",
            MergeError::Target(e) => e.code(),
        }
    }
}

/// Merge everything of `src` into `target`. A failed read of the source is
/// [`MergeError::Source`], a failed write of the target [`MergeError::Target`].
pub fn merge_from(
    target: &mut Store,
    src: &Store,
    bucketer: &Bucketer,
) -> Result<MergeSummary, MergeError> {
    let mut sum = MergeSummary::default();
    // Reading the source: an error stops this source, keeping what was merged from it.
    let read = |sum: &MergeSummary| {
        let merged = Box::new(sum.clone());
        move |source| MergeError::Source { source, merged }
    };
    let problem = |sum: &mut MergeSummary, kind, key: String, status, reason: String| {
        sum.problems.push(Problem {
            kind,
            key,
            status,
            reason,
        })
    };

    // Hosts: the source's name -> the name the same machine has here.
    let mut host_names: BTreeMap<String, String> = BTreeMap::new();
    for h in src.hosts().map_err(read(&sum))? {
        match target.merge_host(&h) {
            Ok((name, new)) => {
                if new {
                    sum.hosts.added += 1
                } else {
                    sum.hosts.already += 1
                }
                host_names.insert(h.name.clone(), name);
            }
            Err(StoreError::Conflict(why)) => {
                sum.hosts.conflicts += 1;
                problem(&mut sum, "host", h.name.clone(), "conflict", why);
            }
            Err(e) => return Err(e.into()),
        }
    }

    for f in src.list_fixes().map_err(read(&sum))? {
        let uuids = |r: &store::FixRecord| -> BTreeSet<String> {
            r.slices.iter().map(|s| s.uuid.clone()).collect()
        };
        match target.fix(&f.name)? {
            Some(t) if uuids(&t) == uuids(&f) && t.sha256 == f.sha256 => sum.fixes.already += 1,
            Some(_) => {
                sum.fixes.conflicts += 1;
                problem(
                    &mut sum,
                    "fix",
                    f.name.clone(),
                    "conflict",
                    format!("fix {} is registered here as another build", f.name),
                );
            }
            None => match target.register_fix(&f) {
                Ok(_) => sum.fixes.added += 1,
                Err(StoreError::Conflict(why)) => {
                    sum.fixes.conflicts += 1;
                    problem(&mut sum, "fix", f.name.clone(), "conflict", why);
                }
                Err(e) => return Err(e.into()),
            },
        }
    }

    for k in src.merge_report_keys().map_err(read(&sum))? {
        let paths = src.report_source_paths(k.id).map_err(read(&sum))?;
        // The host that ingested it, as named here.
        let host = src
            .report_host(k.id)
            .map_err(read(&sum))?
            .and_then(|h| host_names.get(&h).cloned());
        let known = target.report_id_by_identity(&k.identity)?;
        let known = match known {
            Some(id) => Some(id),
            None => match copy_report(target, src, &k, &paths, host.as_deref(), bucketer) {
                Ok(Copied::New(n)) => {
                    sum.reports.added += 1;
                    sum.sources_added += n;
                    None
                }
                // Stored already under the identity its file gives (stored meanwhile by
                // another writer, or a source whose identity was made otherwise).
                Ok(Copied::Known(id)) => Some(id),
                Err(CopyError::Source(e)) => {
                    sum.reports.failed += 1;
                    problem(
                        &mut sum,
                        "report",
                        k.identity.clone(),
                        "failed",
                        e.to_string(),
                    );
                    None
                }
                Err(CopyError::Target(e)) => return Err(e.into()),
            },
        };
        if let Some(id) = known {
            sum.reports.already += 1;
            sum.sources_added +=
                target.add_report_sources(id, &k.file_hash, &paths, host.as_deref())?;
        }
    }

    for sr in src.rounds(&RoundSelector::All).map_err(read(&sum))? {
        let mut round = sr.round;
        let shown = format!("{}:{}", round.host.as_deref().unwrap_or("?"), round.number);
        let Some(host) = round.host.as_ref().and_then(|h| host_names.get(h)) else {
            sum.rounds.conflicts += 1;
            problem(
                &mut sum,
                "round",
                shown,
                "conflict",
                "its host could not be merged (see the host conflict)".into(),
            );
            continue;
        };
        round.host = Some(host.clone());
        let meta = RoundMeta {
            source: sr.source,
            command: sr.command,
            max_attempts: sr.max_attempts,
            output_tail: sr.output_tail,
            hardware_model: sr.hardware_model,
            os: sr.os,
        };
        match target.save_round(&round, &meta, false) {
            Ok(SavedRound::Inserted) => sum.rounds.added += 1,
            Ok(_) => sum.rounds.already += 1,
            Err(StoreError::RoundExists(_)) => {
                sum.rounds.conflicts += 1;
                problem(
                    &mut sum,
                    "round",
                    format!("{host}:{}", round.number),
                    "conflict",
                    format!(
                        "round {} of host {host} is stored here with different content; kept \
                         both as they are",
                        round.number
                    ),
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(sum)
}

enum CopyError {
    /// The source's report cannot be read (its original no longer parses...): that report
    /// fails, the merge goes on.
    Source(StoreError),
    /// Writing the target failed: the merge stops.
    Target(StoreError),
}

/// Copy one report in one transaction: its original file, the report re-read from it with the
/// source's symbol names laid over its frames, bucketed here, its source paths and the host that
/// ingested it.
fn copy_report(
    target: &mut Store,
    src: &Store,
    k: &store::MergeReportKey,
    paths: &[String],
    host: Option<&str>,
    bucketer: &Bucketer,
) -> Result<Copied, CopyError> {
    let stored = src.load_report(k.id).map_err(CopyError::Source)?;
    let bytes = src.file_bytes(&k.file_hash).map_err(CopyError::Source)?;
    // Another file's data is checked, never trusted: the original must be the bytes its key
    // names, and re-read it must be the report of that identity. A damaged or crafted source
    // (one original's bytes stored under another's key) would otherwise store a report under
    // a key that later ingests of the real file take for it, and lose that report for good.
    if store::content_key(&bytes) != k.file_hash {
        return Err(CopyError::Source(StoreError::Corrupt(format!(
            "its stored original is not the file its key {} names",
            k.file_hash
        ))));
    }
    let identity = store::report_identity(&stored.report, &k.file_hash, k.file_index);
    if identity != k.identity {
        return Err(CopyError::Source(StoreError::Corrupt(format!(
            "its stored original is report {identity}, not {}",
            k.identity
        ))));
    }
    let compressed = store::compress(&bytes).map_err(CopyError::Target)?;
    let bucket = bucketer.fields(&stored.report);
    // A report always has a source; one stored without any still needs a path to be inserted.
    let first = paths
        .first()
        .cloned()
        .unwrap_or_else(|| format!("merged:{}", src.path().display()));
    let t = |e| CopyError::Target(e);
    let tx = target.begin_write().map_err(t)?;
    tx.put_file(&k.file_hash, bytes.len() as u64, &compressed)
        .map_err(t)?;
    let out = tx
        .insert_report(
            &stored.report,
            &k.file_hash,
            k.file_index,
            &first,
            bucket.as_ref(),
        )
        .map_err(t)?;
    let id = match out {
        InsertOutcome::New(id) => id,
        // Dropped without commit: rolled back, nothing written.
        InsertOutcome::Duplicate(id) | InsertOutcome::Replaced(id) => return Ok(Copied::Known(id)),
    };
    let n = 1 + tx
        .add_report_sources(id, &k.file_hash, paths.get(1..).unwrap_or(&[]))
        .map_err(t)?;
    if let Some(h) = host {
        tx.set_report_host(id, h).map_err(t)?;
    }
    tx.commit().map_err(t)?;
    Ok(Copied::New(n))
}

/// What [`copy_report`] did.
enum Copied {
    /// Stored, with this many source paths.
    New(usize),
    /// Stored already as this report (nothing written).
    Known(i64),
}
