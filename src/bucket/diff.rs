//! Rebucket diff: what changed between two bucketings of the same reports, e.g. before and
//! after a signature-algorithm version bump or a rules edit.
//!
//! A bucket is a signature. Reports are followed from their old signature to their new one:
//! an old bucket whose reports now land in several new buckets *split*; a new bucket fed by
//! several old ones *merged*; a one-to-one change of text is a *rename*. Independently of the
//! report flow, a signature present only after is *appeared* and one present only before is
//! *vanished* (so the parts of a split that are new signatures are also listed as appeared).
//! Pure: no I/O. Output order is deterministic (most reports first, then by text).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A bucket and how many reports it holds (in the context it appears in). Not a crash
/// count per rounds ([`crate::rounds::compare::BucketCount`]): reports moved by a rebucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketReports {
    pub signature: String,
    /// The most common known-pattern id among those reports, if any has one.
    pub pattern: Option<String>,
    pub reports: usize,
}

/// One old bucket whose reports now fall into several new buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitBucket {
    pub signature: String,
    pub pattern: Option<String>,
    /// Reports of the old bucket present in both bucketings.
    pub reports: usize,
    /// Where they went, with how many reports each.
    pub into: Vec<BucketReports>,
}

/// One new bucket fed by several old buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedBucket {
    pub signature: String,
    pub pattern: Option<String>,
    /// Reports of the new bucket present in both bucketings.
    pub reports: usize,
    /// Where they came from, with how many reports each.
    pub from: Vec<BucketReports>,
}

/// A bucket whose reports all moved, together and alone, to a new signature text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenamedBucket {
    pub old_signature: String,
    pub new_signature: String,
    pub reports: usize,
}

/// One report whose signature or pattern changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportChange {
    pub report_id: String,
    pub old_signature: String,
    pub new_signature: String,
    pub old_pattern: Option<String>,
    pub new_pattern: Option<String>,
}

/// The result of [`diff`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketDiff {
    /// Distinct reports before / after / in both.
    pub reports_before: usize,
    pub reports_after: usize,
    pub reports_compared: usize,
    /// Distinct signatures before / after.
    pub buckets_before: usize,
    pub buckets_after: usize,
    pub split: Vec<SplitBucket>,
    pub merged: Vec<MergedBucket>,
    pub renamed: Vec<RenamedBucket>,
    /// Signatures only in `after`, with their report counts there.
    pub appeared: Vec<BucketReports>,
    /// Signatures only in `before`, with their report counts there.
    pub vanished: Vec<BucketReports>,
    /// Reports (in both) whose signature or pattern changed, by report id.
    pub changed_reports: Vec<ReportChange>,
    /// Report ids only in `before` / only in `after`.
    pub only_before: Vec<String>,
    pub only_after: Vec<String>,
}

impl BucketDiff {
    /// Nothing moved: same buckets, same patterns, same reports.
    pub fn is_empty(&self) -> bool {
        self.split.is_empty()
            && self.merged.is_empty()
            && self.renamed.is_empty()
            && self.appeared.is_empty()
            && self.vanished.is_empty()
            && self.changed_reports.is_empty()
            && self.only_before.is_empty()
            && self.only_after.is_empty()
    }
}

type Entry<'a> = (&'a str, Option<&'a str>);

fn index<'a, I, S, P>(rows: &'a [(I, S, Option<P>)]) -> BTreeMap<&'a str, Entry<'a>>
where
    I: AsRef<str>,
    S: AsRef<str>,
    P: AsRef<str>,
{
    // A report listed twice: the later row wins.
    rows.iter()
        .map(|(id, sig, pat)| {
            (
                id.as_ref(),
                (sig.as_ref(), pat.as_ref().map(|p| p.as_ref())),
            )
        })
        .collect()
}

/// Per signature: report count and the most common pattern.
fn buckets<'a>(m: &BTreeMap<&'a str, Entry<'a>>) -> BTreeMap<&'a str, BucketReports> {
    let mut pats: BTreeMap<&str, BTreeMap<Option<&str>, usize>> = BTreeMap::new();
    for (sig, pat) in m.values() {
        *pats.entry(*sig).or_default().entry(*pat).or_default() += 1;
    }
    pats.into_iter()
        .map(|(sig, p)| {
            let reports = p.values().sum();
            (
                sig,
                BucketReports {
                    signature: sig.to_string(),
                    pattern: top_pattern(&p),
                    reports,
                },
            )
        })
        .collect()
}

/// The most common non-empty pattern (ties: the smallest id).
fn top_pattern(p: &BTreeMap<Option<&str>, usize>) -> Option<String> {
    p.iter()
        .filter_map(|(k, n)| k.map(|k| (k, *n)))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(k, _)| k.to_string())
}

/// `reports` reports of bucket `sig`, labelled with that bucket's pattern in `m`.
fn count_in(m: &BTreeMap<&str, BucketReports>, sig: &str, reports: usize) -> BucketReports {
    BucketReports {
        signature: sig.to_string(),
        pattern: m.get(sig).and_then(|b| b.pattern.clone()),
        reports,
    }
}

fn sort_counts(v: &mut [BucketReports]) {
    v.sort_by(|a, b| {
        b.reports
            .cmp(&a.reports)
            .then(a.signature.cmp(&b.signature))
    });
}

/// Compare two bucketings, each a list of `(report_id, signature, pattern)`.
pub fn diff<I, S, P>(before: &[(I, S, Option<P>)], after: &[(I, S, Option<P>)]) -> BucketDiff
where
    I: AsRef<str>,
    S: AsRef<str>,
    P: AsRef<str>,
{
    let old = index(before);
    let new = index(after);
    let old_buckets = buckets(&old);
    let new_buckets = buckets(&new);

    let mut flows: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut changed_reports = Vec::new();
    let mut compared = 0;
    for (id, (osig, opat)) in &old {
        let Some((nsig, npat)) = new.get(id) else {
            continue;
        };
        compared += 1;
        *flows.entry((*osig, *nsig)).or_default() += 1;
        if osig != nsig || opat != npat {
            changed_reports.push(ReportChange {
                report_id: id.to_string(),
                old_signature: osig.to_string(),
                new_signature: nsig.to_string(),
                old_pattern: opat.map(str::to_string),
                new_pattern: npat.map(str::to_string),
            });
        }
    }

    let mut out_of: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    let mut into: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for (&(o, n), &c) in &flows {
        out_of.entry(o).or_default().push((n, c));
        into.entry(n).or_default().push((o, c));
    }

    let mut split = Vec::new();
    let mut renamed = Vec::new();
    for (o, targets) in &out_of {
        if targets.len() > 1 {
            let mut parts: Vec<BucketReports> = targets
                .iter()
                .map(|(n, c)| count_in(&new_buckets, n, *c))
                .collect();
            sort_counts(&mut parts);
            split.push(SplitBucket {
                signature: o.to_string(),
                pattern: old_buckets.get(o).and_then(|b| b.pattern.clone()),
                reports: targets.iter().map(|t| t.1).sum(),
                into: parts,
            });
        } else if let [(n, c)] = targets.as_slice() {
            let sole_source = into.get(n).is_some_and(|s| s.len() == 1);
            if n != o && sole_source {
                renamed.push(RenamedBucket {
                    old_signature: o.to_string(),
                    new_signature: n.to_string(),
                    reports: *c,
                });
            }
        }
    }
    let mut merged = Vec::new();
    for (n, sources) in &into {
        if sources.len() > 1 {
            let mut parts: Vec<BucketReports> = sources
                .iter()
                .map(|(o, c)| count_in(&old_buckets, o, *c))
                .collect();
            sort_counts(&mut parts);
            merged.push(MergedBucket {
                signature: n.to_string(),
                pattern: new_buckets.get(n).and_then(|b| b.pattern.clone()),
                reports: sources.iter().map(|s| s.1).sum(),
                from: parts,
            });
        }
    }
    split.sort_by(|a, b| {
        b.reports
            .cmp(&a.reports)
            .then(a.signature.cmp(&b.signature))
    });
    merged.sort_by(|a, b| {
        b.reports
            .cmp(&a.reports)
            .then(a.signature.cmp(&b.signature))
    });
    renamed.sort_by(|a, b| {
        b.reports
            .cmp(&a.reports)
            .then(a.old_signature.cmp(&b.old_signature))
    });

    let old_sigs: BTreeSet<&str> = old_buckets.keys().copied().collect();
    let new_sigs: BTreeSet<&str> = new_buckets.keys().copied().collect();
    let mut appeared: Vec<BucketReports> = new_sigs
        .difference(&old_sigs)
        .filter_map(|s| new_buckets.get(s).cloned())
        .collect();
    let mut vanished: Vec<BucketReports> = old_sigs
        .difference(&new_sigs)
        .filter_map(|s| old_buckets.get(s).cloned())
        .collect();
    sort_counts(&mut appeared);
    sort_counts(&mut vanished);

    BucketDiff {
        reports_before: old.len(),
        reports_after: new.len(),
        reports_compared: compared,
        buckets_before: old_buckets.len(),
        buckets_after: new_buckets.len(),
        split,
        merged,
        renamed,
        appeared,
        vanished,
        changed_reports,
        only_before: old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| k.to_string())
            .collect(),
        only_after: new
            .keys()
            .filter(|k| !old.contains_key(*k))
            .map(|k| k.to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (&'static str, &'static str, Option<&'static str>);

    #[test]
    fn identical_bucketings_diff_empty() {
        let a: Vec<Row> = vec![("r1", "A", Some("p")), ("r2", "B", None)];
        let d = diff(&a, &a);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(d.reports_compared, 2);
        assert_eq!(d.buckets_before, 2);
    }

    #[test]
    fn split_merge_rename_appear_vanish() {
        let before: Vec<Row> = vec![
            ("r1", "A", None),
            ("r2", "A", None),
            ("r3", "A", None),
            ("r4", "B", None),
            ("r5", "C", None),
            ("r6", "D", Some("old-rule")),
            ("r7", "E", None),
            ("gone", "F", None),
        ];
        let after: Vec<Row> = vec![
            ("r1", "A1", None),
            ("r2", "A1", None),
            ("r3", "A2", None),
            ("r4", "BC", None),
            ("r5", "BC", None),
            ("r6", "D2", Some("new-rule")),
            ("r7", "E", Some("named")),
            ("new", "G", None),
        ];
        let d = diff(&before, &after);
        assert_eq!(d.split.len(), 1);
        assert_eq!(d.split[0].signature, "A");
        assert_eq!(d.split[0].reports, 3);
        let into: Vec<(&str, usize)> = d.split[0]
            .into
            .iter()
            .map(|b| (b.signature.as_str(), b.reports))
            .collect();
        assert_eq!(into, vec![("A1", 2), ("A2", 1)]);

        assert_eq!(d.merged.len(), 1);
        assert_eq!(d.merged[0].signature, "BC");
        assert_eq!(d.merged[0].from.len(), 2);

        assert_eq!(
            d.renamed,
            vec![RenamedBucket {
                old_signature: "D".into(),
                new_signature: "D2".into(),
                reports: 1
            }]
        );
        let appeared: Vec<&str> = d.appeared.iter().map(|b| b.signature.as_str()).collect();
        // Most reports first, then by text.
        assert_eq!(appeared, vec!["A1", "BC", "A2", "D2", "G"]);
        let vanished: Vec<&str> = d.vanished.iter().map(|b| b.signature.as_str()).collect();
        assert_eq!(vanished, vec!["A", "B", "C", "D", "F"]);
        assert_eq!(d.appeared[0].reports, 2);
        // r7 kept its signature but gained a pattern: a changed report, not a moved bucket.
        let changed: Vec<&str> = d
            .changed_reports
            .iter()
            .map(|c| c.report_id.as_str())
            .collect();
        assert_eq!(changed, vec!["r1", "r2", "r3", "r4", "r5", "r6", "r7"]);
        assert_eq!(d.only_before, vec!["gone"]);
        assert_eq!(d.only_after, vec!["new"]);
        assert_eq!(d.reports_compared, 7);
        insta::assert_json_snapshot!(d);
    }

    #[test]
    fn owned_strings_work_too() {
        let a = vec![("1".to_string(), "A".to_string(), None::<String>)];
        let b = vec![("1".to_string(), "B".to_string(), Some("x".to_string()))];
        let d = diff(&a, &b);
        assert_eq!(d.renamed.len(), 1);
        assert_eq!(d.changed_reports[0].new_pattern.as_deref(), Some("x"));
    }
}
