//! `rebucket`'s work: re-parse every stored report from its stored file, recompute its
//! signature and pattern with the rules in force, diff the old bucketing against the new
//! ([`crate::bucket::diff`]) and, unless it is a dry run, write the changes.

use std::collections::HashMap;

use crate::bucket::{diff, BucketDiff};
use crate::crash;
use crate::ingest::Bucketer;
use crate::store::{BucketFields, Store};

use super::OpsError;

/// What a rebucket found (and, unless a dry run, wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebucketed {
    /// Old bucketing against new.
    pub diff: BucketDiff,
    /// Reports bucketed again.
    pub reports: usize,
    /// Reports whose signature or pattern changed.
    pub changed: usize,
    /// Reports whose stored file could not be parsed again (left as they are).
    pub failed: usize,
}

/// Rebucket every stored report with `bucketer`; writes only when not `dry_run`.
pub fn rebucket(
    store: &mut Store,
    bucketer: &Bucketer,
    dry_run: bool,
) -> Result<Rebucketed, OpsError> {
    let inputs = store.bucket_inputs()?;
    let mut before = Vec::with_capacity(inputs.len());
    let mut after = Vec::with_capacity(inputs.len());
    let mut updates: Vec<(i64, BucketFields)> = Vec::new();
    let mut failed = 0usize;
    let mut cache: HashMap<String, Vec<crash::CrashReport>> = HashMap::new();
    for inp in &inputs {
        if !cache.contains_key(&inp.file_sha256) {
            cache.clear(); // inputs are grouped by file: keep one file's reports at a time
            let parsed = store
                .file_bytes(&inp.file_sha256)
                .ok()
                .and_then(|b| crash::parse(&b).ok())
                .unwrap_or_default();
            cache.insert(inp.file_sha256.clone(), parsed);
        }
        let Some(report) = cache
            .get(&inp.file_sha256)
            .and_then(|v| v.get(inp.file_index))
        else {
            failed += 1;
            continue;
        };
        let Some(fields) = bucketer.fields(report) else {
            continue;
        };
        before.push((
            inp.id.to_string(),
            inp.signature.clone().unwrap_or_default(),
            inp.pattern.clone(),
        ));
        after.push((
            inp.id.to_string(),
            fields.signature.clone(),
            fields.pattern.clone(),
        ));
        if inp.signature.as_deref() != Some(fields.signature.as_str())
            || inp.pattern != fields.pattern
        {
            updates.push((inp.id, fields));
        }
    }
    let d = diff(&before, &after);
    if !dry_run {
        let tx = store.begin_write()?;
        for (id, f) in &updates {
            tx.set_bucket(*id, f)?;
        }
        tx.commit()?;
    }
    Ok(Rebucketed {
        diff: d,
        reports: before.len(),
        changed: updates.len(),
        failed,
    })
}
