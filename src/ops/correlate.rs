//! `correlate`: which attribute values set a bucket's crashes apart from the other crashes.
//! The counts come from the store (`store::correlate`), the tests from
//! `stats::correlate` (Fisher's exact p per value, Benjamini-Hochberg q over all values).

use crate::stats::correlate::{correlate, Correlation};
use crate::store::{BucketRef, Store};

use super::OpsError;

/// Every attribute value of the bucket's crashes against the other crashes, sorted by q.
/// A bucket without crash reports is an error that says where to look, not an empty list.
pub fn correlate_bucket(store: &Store, bucket: &BucketRef) -> Result<Vec<Correlation>, OpsError> {
    if store.bucket_crash_count(bucket)? == 0 {
        let what = match bucket {
            BucketRef::Pattern(p) => format!("pattern {p}"),
            BucketRef::Signature(s) => format!("signature {s}"),
        };
        return Err(OpsError::Invalid(format!(
            "no crash reports in the bucket with {what} (see `agx-triage buckets`)"
        )));
    }
    Ok(correlate(&store.correlation_counts(bucket)?)?)
}
