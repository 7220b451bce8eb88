//! The JSON writeup: the model itself plus the sentences the markdown says.
//!
//! Other tools get exactly what a reader of the markdown gets: every figure (the serialised
//! [`Writeup`]) and the derived `summary` sentences and numbered `key_findings`, so nobody has
//! to re-derive wording. `format` names the layout version; bump it when a field changes
//! meaning.

use super::model::Writeup;
use super::wording::{key_findings, summary_sentences};
use super::WriteupError;
use serde_json::Value;

/// Layout version of the JSON writeup.
///
/// - 1: the [`Writeup`] fields at the top level, plus `format`, `summary`, `key_findings`.
pub const JSON_FORMAT: &str = "agx-triage-writeup/1";

/// The writeup as JSON: the model's fields at the top level, plus `format`, `summary` (list of
/// sentences) and `key_findings` (list, in order).
pub fn render_json(w: &Writeup) -> Result<Value, WriteupError> {
    let mut v = serde_json::to_value(w)?;
    if let Value::Object(map) = &mut v {
        map.insert("format".into(), Value::from(JSON_FORMAT));
        map.insert("summary".into(), Value::from(summary_sentences(w)));
        map.insert("key_findings".into(), Value::from(key_findings(w)));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writeup::model::{Block, RateRow};
    use chrono::{TimeZone, Utc};

    fn tiny() -> Writeup {
        let row = |label: &str| RateRow {
            label: label.into(),
            rounds: 2,
            pass: 1,
            rate: 0.5,
            ci: [0.0945, 0.9055],
        };
        Writeup {
            title: "t".into(),
            generated_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            block: Block {
                label: "1-2".into(),
                first_round: 1,
                last_round: 2,
                started_at: None,
                finished_at: None,
            },
            against: None,
            fixes: vec![],
            raw_batches: vec![],
            raw_total: row("Total"),
            retry_batches: vec![],
            retry_total: row("Total"),
            max_attempts: Some(3),
            efficiency: None,
            efficiency_by_round: vec![],
            buckets: vec![],
            comparison: None,
            bucket_counts_by_fix: vec![],
            bucket_correlations: vec![],
            config: vec![],
            report_links: None,
            redacted: None,
            notes: Vec::new(),
            breakdowns: Vec::new(),
        }
    }

    #[test]
    fn json_round_trips_and_carries_the_sentences() {
        let w = tiny();
        let v = render_json(&w).unwrap();
        assert_eq!(v["format"], JSON_FORMAT);
        assert_eq!(v["raw_total"]["pass"], 1);
        let summary = v["summary"].as_array().unwrap();
        assert!(summary.iter().any(|s| s
            .as_str()
            .unwrap()
            .contains("50.0% (95% CI 9.4–90.5%, 1/2)")));
        // The model part deserialises back (extra keys are ignored).
        let back: Writeup = serde_json::from_value(v).unwrap();
        assert_eq!(back, w);
    }
}
