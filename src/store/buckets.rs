//! Bucket columns of reports: writes at ingest and rebucket, and the `buckets` query.

use std::collections::HashMap;

use crate::store::db::{params, ToValue as _, Value};
use serde::Serialize;

use super::{Store, StoreError, WriteTx};

/// The bucketing of one report, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketFields {
    /// The signature text (docs/BUCKETS.md), e.g.
    /// `AGX::ComputeContext<T>::prepareForEnqueue`.
    pub signature: String,
    /// The signature algorithm version that made `signature`, so a rebucket can tell stale
    /// buckets from current ones.
    pub signature_version: u32,
    /// Rule id of the known pattern, if one matched.
    pub pattern: Option<String>,
    /// The matched rule's one-line title, kept beside its id so a later rules file with another
    /// title does not rewrite history.
    pub pattern_title: Option<String>,
}

/// Which reports to count in [`Store::buckets`]. Every filter narrows the set.
#[derive(Debug, Clone, Default)]
pub struct BucketFilter {
    /// Captured at or after (RFC 3339 UTC text compares as time).
    pub since: Option<String>,
    /// Process name, any case.
    pub process: Option<String>,
    /// Pattern rule id.
    pub pattern: Option<String>,
    /// Only reports attributed to a round numbered in this inclusive range.
    pub rounds: Option<(i64, i64)>,
    /// Only reports linked to this fix version (by image UUID) or attributed to its rounds.
    /// Rounds whose fix never confirmed it loaded do not count here (a report that does not
    /// list the build is not the fix's crash) unless `include_unconfirmed`.
    pub fix: Option<String>,
    /// With `fix`: also count reports attributed to its unconfirmed rounds.
    pub include_unconfirmed: bool,
    /// Only reports attributed to rounds this selector picks (`host:mac-a,fix:v2.4`).
    pub select: Option<super::RoundSelector>,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketRow {
    /// The bucket's signature text.
    pub signature: String,
    /// Known-pattern rule id of the bucket's reports, when a rule matched.
    pub pattern: Option<String>,
    /// That rule's title.
    pub pattern_title: Option<String>,
    /// Crash reports in the bucket (after the filter).
    pub count: i64,
    /// Distinct process names among them.
    pub processes: i64,
    /// Capture time of the oldest report (RFC 3339 UTC), when any report states one.
    pub first_seen: Option<String>,
    /// Capture time of the newest report (RFC 3339 UTC), when any report states one.
    pub last_seen: Option<String>,
    /// The id of the newest report in the bucket.
    pub example_report: i64,
}

/// What rebucketing needs of a stored report.
#[derive(Debug, Clone)]
pub struct BucketInput {
    /// The report's id.
    pub id: i64,
    /// Content key of the stored original the report was parsed from.
    pub file_sha256: String,
    /// Which report of that file (a crash dialog's copy may hold several).
    pub file_index: usize,
    /// The stored signature, `None` when the report was never bucketed.
    pub signature: Option<String>,
    /// The stored known-pattern id, when a rule matched.
    pub pattern: Option<String>,
}

impl WriteTx<'_> {
    /// Set (or replace) a report's bucketing.
    pub fn set_bucket(&self, report_id: i64, b: &BucketFields) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE reports SET signature = ?2, signature_version = ?3, pattern = ?4,
                    pattern_title = ?5 WHERE id = ?1",
            params![
                report_id,
                b.signature,
                b.signature_version,
                b.pattern,
                b.pattern_title
            ],
        )?;
        Ok(())
    }
}

/// SQL condition (on alias `r`) and arguments for a bucket filter.
pub(crate) fn filter_sql(f: &BucketFilter) -> (String, Vec<Value<'_>>) {
    let mut sql = String::new();
    let mut args: Vec<Value<'_>> = Vec::new();
    if let Some(t) = &f.since {
        sql.push_str(" AND r.captured_at >= ?");
        args.push(t.to_value());
    }
    if let Some(p) = &f.process {
        sql.push_str(" AND lower(r.process) = lower(?)");
        args.push(p.to_value());
    }
    if let Some(p) = &f.pattern {
        sql.push_str(" AND r.pattern = ?");
        args.push(p.to_value());
    }
    if let Some((lo, hi)) = f.rounds {
        sql.push_str(
            " AND r.identity IN (SELECT ar.incident_id FROM attempt_reports ar
                JOIN rounds ro ON ro.id = ar.round_id WHERE ro.number BETWEEN ? AND ?)",
        );
        args.push(Value::Int(lo));
        args.push(Value::Int(hi));
    }
    if let Some(fix) = &f.fix {
        sql.push_str(
            " AND (r.fix_id IN (SELECT id FROM fixes WHERE name = ?)
                OR r.identity IN (SELECT ar.incident_id FROM attempt_reports ar
                   JOIN rounds ro ON ro.id = ar.round_id WHERE ro.fix_name = ?
                   AND (? OR ro.fix_confirmed IS DISTINCT FROM 0)))",
        );
        args.push(fix.to_value());
        args.push(fix.to_value());
        args.push(f.include_unconfirmed.to_value());
    }
    if let Some(sel) = &f.select {
        let (cond, a) = sel.sql();
        sql.push_str(&format!(
            " AND r.identity IN (SELECT ar.incident_id FROM attempt_reports ar
                JOIN rounds ro ON ro.id = ar.round_id WHERE 1=1 {cond})"
        ));
        args.extend(a);
    }
    (sql, args)
}

impl Store {
    /// Crash buckets, largest first.
    pub fn buckets(&self, f: &BucketFilter) -> Result<Vec<BucketRow>, StoreError> {
        let (cond, args) = filter_sql(f);
        let sql = format!(
            "SELECT r.signature, r.pattern, max(r.pattern_title), count(*),
                    count(DISTINCT r.process), min(r.captured_at), max(r.captured_at),
                    (SELECT r2.id FROM reports r2 WHERE r2.signature = r.signature
                       AND r2.kind = 'crash' ORDER BY r2.captured_at DESC NULLS LAST, r2.id DESC LIMIT 1)
             FROM reports r
             WHERE r.kind = 'crash' AND r.signature IS NOT NULL {cond}
             GROUP BY r.signature, r.pattern
             ORDER BY count(*) DESC, r.signature"
        );
        let rows = self
            .conn()
            .query_map(&sql, &args, |r| {
                Ok(BucketRow {
                    signature: r.get(0)?,
                    pattern: r.get(1)?,
                    pattern_title: r.get(2)?,
                    count: r.get(3)?,
                    processes: r.get(4)?,
                    first_seen: r.get(5)?,
                    last_seen: r.get(6)?,
                    example_report: r.get(7)?,
                })
            })?
            .into_iter()
            .collect::<Vec<_>>();
        Ok(rows)
    }

    /// Every report with what rebucketing needs, grouped by file (so each file is
    /// decompressed and parsed once).
    pub fn bucket_inputs(&self) -> Result<Vec<BucketInput>, StoreError> {
        let rows = self
            .conn()
            .query_map(
                "SELECT id, file_hash, file_index, signature, pattern FROM reports
             ORDER BY file_hash, file_index",
                params![],
                |r| {
                    Ok(BucketInput {
                        id: r.get(0)?,
                        file_sha256: r.get(1)?,
                        file_index: r.get::<i64>(2)?.max(0) as usize,
                        signature: r.get(3)?,
                        pattern: r.get(4)?,
                    })
                },
            )?
            .into_iter()
            .collect::<Vec<_>>();
        Ok(rows)
    }

    /// Ids of reports with a crashed-thread frame whose symbol satisfies `pred` (or, for
    /// frames without a symbol, whose image name does).
    pub fn reports_with_frame(&self, pred: &dyn Fn(&str) -> bool) -> Result<Vec<i64>, StoreError> {
        let names: HashMap<i64, String> = self
            .conn()
            .query_map(
                "SELECT id, name FROM images WHERE name IS NOT NULL",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .into_iter()
            .collect::<_>();
        let mut out: Vec<i64> = Vec::new();
        self.conn().query_each(
            "SELECT r.id, s.frames FROM reports r JOIN stacks s ON s.id = r.crashed_stack
             ORDER BY r.id",
            params![],
            |r| -> Result<(), StoreError> {
                let id: i64 = r.get(0)?;
                let text: String = r.get(1)?;
                let hit = super::reports::frames::decode(id, Some(&text))?
                    .iter()
                    .any(
                        |f| match (f.symbol(), f.image_id().and_then(|i| names.get(&i))) {
                            (Some(s), _) => pred(s),
                            (None, Some(i)) => pred(i),
                            _ => false,
                        },
                    );
                if hit {
                    out.push(id);
                }
                Ok(())
            },
        )?;
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// Link a report to the registered fix whose slice UUID it lists among its images; failing
    /// that, note an image named `libagx_fix*` as an unregistered fix.
    pub fn link_fix(&self, report_id: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE reports SET
                    fix_id = (SELECT fs.fix_id FROM image_list_members m
                              JOIN images i ON i.id = m.image_id
                              JOIN fix_slices fs ON fs.uuid = i.uuid
                              WHERE m.list_id = reports.image_list_id
                              ORDER BY m.image_index LIMIT 1),
                    unregistered_fix = (SELECT i.name FROM image_list_members m
                              JOIN images i ON i.id = m.image_id
                              WHERE m.list_id = reports.image_list_id
                                AND lower(i.name) LIKE 'libagx\\_fix%' ESCAPE '\\'
                              ORDER BY m.image_index LIMIT 1)
                 WHERE id = ?1",
            params![report_id],
        )?;
        self.tx.execute(
            "UPDATE reports SET unregistered_fix = NULL
                 WHERE id = ?1 AND fix_id IS NOT NULL",
            params![report_id],
        )?;
        Ok(())
    }
}
