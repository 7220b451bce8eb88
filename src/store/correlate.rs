//! The counts behind `agx-triage correlate`: for one bucket (a known pattern or a signature)
//! and every attribute value of crash reports — OS build and train, hardware model, fix
//! version, process, thread count, each loaded image's version (or UUID when it has none), and
//! the configuration keys of the rounds the crashes were attributed to — how many crashes in
//! the bucket carry it and how many elsewhere, with the totals of crashes whose attribute is
//! known. The statistics are `stats::correlate`'s.

use crate::store::db::params;

use super::{Store, StoreError};
use crate::stats::correlate::AttributeCounts;

/// Which bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketRef {
    /// Reports matched by this known-pattern rule id.
    Pattern(String),
    /// Reports with this signature.
    Signature(String),
}

/// Every attribute value, as (report, in bucket, attribute, value), kept distinct. Only crash
/// reports count (GPU events and other kinds have no bucket). A report's round configuration
/// is known only when it was attributed to a round; totals count the reports whose attribute
/// is known, so a report outside any round does not dilute the configuration rows.
const COUNTS_SQL: &str = "
WITH crash AS (
    SELECT r.id, r.identity, r.image_list_id,
           CASE WHEN (?1 = 'pattern' AND r.pattern = ?2) OR (?1 = 'signature' AND r.signature = ?2)
                THEN 1 ELSE 0 END AS inb,
           r.os_build, r.os_train, r.hardware_model, r.process, r.thread_count,
           COALESCE(f.name, r.unregistered_fix, 'none') AS fix
    FROM reports r LEFT JOIN fixes f ON f.id = r.fix_id
    WHERE r.kind = 'crash'
),
attrs AS (
    SELECT id, inb, 'os_build' AS attribute, os_build AS value FROM crash WHERE os_build IS NOT NULL
    UNION ALL SELECT id, inb, 'os_train', os_train FROM crash WHERE os_train IS NOT NULL
    UNION ALL SELECT id, inb, 'hardware_model', hardware_model FROM crash
        WHERE hardware_model IS NOT NULL
    UNION ALL SELECT id, inb, 'process', process FROM crash WHERE process IS NOT NULL
    UNION ALL SELECT id, inb, 'thread_count', CAST(thread_count AS TEXT) FROM crash
        WHERE thread_count > 0
    UNION ALL SELECT id, inb, 'fix', fix FROM crash
    UNION ALL SELECT c.id, c.inb, 'image ' || i.name, COALESCE(i.bundle_version, i.uuid)
        FROM crash c
        JOIN image_list_members m ON m.list_id = c.image_list_id
        JOIN images i ON i.id = m.image_id
        WHERE i.name IS NOT NULL AND COALESCE(i.bundle_version, i.uuid) IS NOT NULL
    UNION ALL SELECT c.id, c.inb, 'config ' || rc.key, rc.value
        FROM crash c
        JOIN attempt_reports ar ON ar.incident_id = c.identity
        JOIN round_config rc ON rc.round_id = ar.round_id
),
d AS (SELECT DISTINCT id, inb, attribute, value FROM attrs),
known AS (SELECT DISTINCT id, inb, attribute FROM d),
totals AS (
    SELECT attribute, CAST(SUM(inb) AS BIGINT) AS bucket_total,
        CAST(SUM(1 - inb) AS BIGINT) AS elsewhere_total
    FROM known GROUP BY attribute
)
-- SUM is NUMERIC on PostgreSQL: cast, so both dialects return integers.
SELECT d.attribute, d.value, CAST(SUM(d.inb) AS BIGINT), t.bucket_total,
    CAST(SUM(1 - d.inb) AS BIGINT), t.elsewhere_total
FROM d JOIN totals t ON t.attribute = d.attribute
GROUP BY d.attribute, d.value, t.bucket_total, t.elsewhere_total
ORDER BY d.attribute, d.value NULLS FIRST";

impl Store {
    /// Crash reports in the bucket (0: no such bucket).
    pub fn bucket_crash_count(&self, bucket: &BucketRef) -> Result<u64, StoreError> {
        let (kind, key) = bucket_params(bucket);
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM reports WHERE kind = 'crash' AND
                 ((?1 = 'pattern' AND pattern = ?2) OR (?1 = 'signature' AND signature = ?2))",
            params![kind, key],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Per attribute value, the crashes with it in the bucket and elsewhere, and the totals of
    /// crashes whose attribute is known on each side, sorted by attribute and value.
    pub fn correlation_counts(
        &self,
        bucket: &BucketRef,
    ) -> Result<Vec<AttributeCounts>, StoreError> {
        let (kind, key) = bucket_params(bucket);
        let rows = self.conn().query_map(COUNTS_SQL, params![kind, key], |r| {
            let n = |i: usize| -> Result<u64, super::db::DbError> {
                Ok(r.get::<i64>(i)?.max(0) as u64)
            };
            Ok(AttributeCounts {
                attribute: r.get(0)?,
                value: r.get(1)?,
                in_bucket: n(2)?,
                bucket_total: n(3)?,
                elsewhere: n(4)?,
                elsewhere_total: n(5)?,
            })
        })?;
        Ok(rows)
    }
}

fn bucket_params(bucket: &BucketRef) -> (&'static str, &str) {
    match bucket {
        BucketRef::Pattern(p) => ("pattern", p.as_str()),
        BucketRef::Signature(s) => ("signature", s.as_str()),
    }
}
