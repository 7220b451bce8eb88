//! Import of rounds recorded elsewhere, as JSON lines (one round per line). The schema is
//! documented with an example in `docs/ROUNDS.md`.
//!
//! Lenient per line, strict within a line: a bad line is reported with its line number and the
//! reason while every good line is kept; within a line, unknown keys and wrongly typed values
//! are errors (a misspelt `"eficiency"` silently dropped would be worse than a rejected line).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::model::{signal_number, Attempt, Round};

/// A line that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ImportError {
    /// 1-based line number in the input.
    pub line: usize,
    /// What is wrong with the line.
    pub message: String,
}

const ROUND_KEYS: &[&str] = &[
    "round",
    "batch",
    "fix",
    "efficiency",
    "config",
    "metrics",
    "attempts",
    "started_at",
    "finished_at",
    "results",
    "fix_confirmed",
    "host",
];

const ATTEMPT_KEYS: &[&str] = &[
    "exit_code",
    "signal",
    "pid",
    "started_at",
    "finished_at",
    "crash_reports",
];

/// Parse JSON lines into rounds. Blank lines and lines starting with `#` (after leading
/// whitespace) are skipped. A round number seen twice is an error on the later line.
pub fn parse_jsonl(text: &str) -> (Vec<Round>, Vec<ImportError>) {
    let (rounds, errors) = parse_jsonl_lines(text);
    (rounds.into_iter().map(|(_, r)| r).collect(), errors)
}

/// [`parse_jsonl`], each round with its 1-based line number (to report a conflict or a failed
/// write of that round by line).
pub fn parse_jsonl_lines(text: &str) -> (Vec<(usize, Round)>, Vec<ImportError>) {
    let mut rounds = Vec::new();
    let mut errors = Vec::new();
    let mut first_line_of: HashMap<(Option<String>, i64), usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        // A UTF-8 byte-order mark at the start of the file is not part of the JSON.
        let trimmed = if line == 1 {
            trimmed.trim_start_matches('\u{feff}').trim_start()
        } else {
            trimmed
        };
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(trimmed) {
            Ok(round) => match first_line_of.get(&(round.host.clone(), round.number)) {
                Some(&earlier) => errors.push(ImportError {
                    line,
                    message: format!("round {} already given on line {earlier}", round.number),
                }),
                None => {
                    first_line_of.insert((round.host.clone(), round.number), line);
                    rounds.push((line, round));
                }
            },
            Err(message) => errors.push(ImportError { line, message }),
        }
    }
    (rounds, errors)
}

/// Parse one non-blank line; the error is the reason only (the caller adds the line number).
fn parse_line(text: &str) -> Result<Round, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err(format!(
            "expected a JSON object, found {}",
            type_name(&value)
        ));
    };
    check_keys(&obj, ROUND_KEYS, "")?;
    let number = match obj.get("round") {
        None => return Err("missing required key \"round\"".into()),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| format!("\"round\" must be an integer, found {}", show(v)))?,
    };
    let mut round = Round {
        number,
        batch: opt_string(&obj, "batch")?,
        fix: opt_string(&obj, "fix")?.filter(|f| !f.eq_ignore_ascii_case("native")),
        started_at: opt_time(&obj, "started_at", "")?,
        finished_at: opt_time(&obj, "finished_at", "")?,
        config: config(&obj)?,
        efficiency: opt_number(&obj, "efficiency", "")?,
        metrics: metrics(&obj)?,
        attempts: Vec::new(),
        results_json: obj.get("results").filter(|v| !v.is_null()).cloned(),
        fix_confirmed: fix_confirmed(&obj)?,
        host: match opt_string(&obj, "host")? {
            Some(h) => Some(crate::host::check_name(&h).map_err(|e| format!("\"host\": {e}"))?),
            None => None,
        },
    };
    if round.fix.is_none() && round.fix_confirmed.is_some() {
        return Err("\"fix_confirmed\" is given for a round without a fix (native)".into());
    }
    check_order(round.started_at, round.finished_at, "")?;
    round.attempts = attempts(&obj)?;
    Ok(round)
}

/// `fix_confirmed` (issue 18): `true`, `false`, or absent/`null` for "not known" (the round
/// then counts, as rounds recorded before the fix handshake existed do).
fn fix_confirmed(obj: &Map<String, Value>) -> Result<Option<bool>, String> {
    match obj.get("fix_confirmed") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(format!(
            "\"fix_confirmed\" must be true or false, found {}",
            show(v)
        )),
    }
}

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], ctx: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{ctx}unknown key {k:?} (allowed: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!("\"{key}\" must be a string, found {}", show(v))),
    }
}

fn opt_number(obj: &Map<String, Value>, key: &str, ctx: &str) -> Result<Option<f64>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("{ctx}\"{key}\" must be a number, found {}", show(v))),
    }
}

fn opt_int<T: TryFrom<i64>>(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<T>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "{ctx}\"{key}\" must be an integer in range, found {}",
                    show(v)
                )
            }),
    }
}

fn opt_time(
    obj: &Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<Option<DateTime<Utc>>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| {
                format!(
                    "{ctx}\"{key}\" must be an RFC 3339 time like \"2025-12-23T10:15:00Z\", found {s:?} ({e})"
                )
            }),
        Some(v) => Err(format!(
            "{ctx}\"{key}\" must be an RFC 3339 time string, found {}",
            show(v)
        )),
    }
}

fn check_order(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    ctx: &str,
) -> Result<(), String> {
    match (start, end) {
        (Some(s), Some(e)) if e < s => Err(format!(
            "{ctx}\"finished_at\" ({e}) is before \"started_at\" ({s})"
        )),
        _ => Ok(()),
    }
}

/// `config`: an object whose values are strings, numbers or booleans, all kept as text
/// (`{"threads": 8}` becomes `threads = "8"`).
fn config(obj: &Map<String, Value>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    match obj.get("config") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(format!(
                            "config value {k:?} must be a string, number or boolean, found {}",
                            show(other)
                        ))
                    }
                };
                out.insert(k.clone(), text);
            }
        }
        Some(v) => return Err(format!("\"config\" must be an object, found {}", show(v))),
    }
    Ok(out)
}

fn metrics(obj: &Map<String, Value>) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    match obj.get("metrics") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let n = v
                    .as_f64()
                    .ok_or_else(|| format!("metric {k:?} must be a number, found {}", show(v)))?;
                out.insert(k.clone(), n);
            }
        }
        Some(v) => return Err(format!("\"metrics\" must be an object, found {}", show(v))),
    }
    Ok(out)
}

fn attempts(obj: &Map<String, Value>) -> Result<Vec<Attempt>, String> {
    let list = match obj.get("attempts") {
        None | Some(Value::Null) => {
            return Err(
                "missing \"attempts\": a round needs at least one attempt to have an outcome \
                 (a clean pass is [{\"exit_code\": 0}])"
                    .into(),
            )
        }
        Some(Value::Array(list)) => list,
        Some(v) => return Err(format!("\"attempts\" must be an array, found {}", show(v))),
    };
    if list.is_empty() {
        return Err("\"attempts\" is empty: a round needs at least one attempt".into());
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let index = u32::try_from(i + 1).map_err(|_| "too many attempts".to_string())?;
            attempt(index, v)
        })
        .collect()
}

fn attempt(index: u32, value: &Value) -> Result<Attempt, String> {
    let ctx = format!("attempt {index}: ");
    let Value::Object(obj) = value else {
        return Err(format!("{ctx}expected an object, found {}", show(value)));
    };
    check_keys(obj, ATTEMPT_KEYS, &ctx)?;
    let signal = match obj.get("signal") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{ctx}\"signal\" must be a positive integer, found {n}"))?,
        ),
        Some(Value::String(s)) => Some(match s.trim().parse::<i32>() {
            Ok(n) if n > 0 => n,
            _ => signal_number(s)
                .ok_or_else(|| format!("{ctx}unknown signal name {s:?} (e.g. \"SIGSEGV\")"))?,
        }),
        Some(v) => {
            return Err(format!(
                "{ctx}\"signal\" must be a number or a name like \"SIGSEGV\", found {}",
                show(v)
            ))
        }
    };
    let crash_reports = match obj.get("crash_reports") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                other => Err(format!(
                    "{ctx}\"crash_reports\" must hold incident id strings, found {}",
                    show(other)
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(v) => {
            return Err(format!(
                "{ctx}\"crash_reports\" must be an array of incident ids, found {}",
                show(v)
            ))
        }
    };
    let started_at = opt_time(obj, "started_at", &ctx)?;
    let finished_at = opt_time(obj, "finished_at", &ctx)?;
    check_order(started_at, finished_at, &ctx)?;
    Ok(Attempt {
        index,
        started_at,
        finished_at,
        exit_code: opt_int(obj, "exit_code", &ctx)?,
        signal,
        pid: opt_int(obj, "pid", &ctx)?,
        crash_reports,
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a value for messages: the type plus the value when it is small.
fn show(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) => type_name(v).to_string(),
        other => {
            let text = other.to_string();
            if text.len() > 40 {
                type_name(v).to_string()
            } else {
                format!("{} ({text})", type_name(v))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::model::Outcome;

    const GOOD: &str = r#"
# rounds 1820-1822, v2.3, raw (no retries)
{"round": 1820, "batch": "1820-1829", "fix": "v2.3", "efficiency": 14.6, "config": {"threads": 8, "test": "complete_story", "graph_path": true}, "attempts": [{"exit_code": 0, "started_at": "2025-12-23T10:00:00Z", "finished_at": "2025-12-23T10:01:30Z"}]}

{"round": 1821, "fix": "native", "attempts": [{"signal": "SIGSEGV", "crash_reports": ["0B7C1D2E-AAAA-4F00-9C3B-123456789ABC"]}]}
   {"round": 1822, "attempts": [{"exit_code": 0, "crash_reports": ["INC-2"]}, {"exit_code": 0, "pid": 4242}], "metrics": {"iters_per_s": 31.5}, "results": {"passed": 7}}
"#;

    #[test]
    fn parses_good_lines() {
        let (rounds, errors) = parse_jsonl(GOOD);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rounds.len(), 3);
        let r0 = &rounds[0];
        assert_eq!(r0.number, 1820);
        assert_eq!(r0.batch.as_deref(), Some("1820-1829"));
        assert_eq!(r0.fix.as_deref(), Some("v2.3"));
        assert_eq!(r0.efficiency, Some(14.6));
        assert_eq!(r0.config["threads"], "8");
        assert_eq!(r0.config["graph_path"], "true");
        assert_eq!(r0.attempts[0].index, 1);
        assert_eq!(
            r0.attempts[0].finished_at.unwrap() - r0.attempts[0].started_at.unwrap(),
            chrono::TimeDelta::seconds(90)
        );
        assert_eq!(r0.outcome(), Outcome::RawPass);

        let r1 = &rounds[1];
        assert_eq!(r1.fix, None, "\"native\" means no fix");
        assert_eq!(r1.attempts[0].signal, Some(11));
        assert_eq!(r1.outcome(), Outcome::Fail);

        let r2 = &rounds[2];
        assert_eq!(r2.outcome(), Outcome::EventualPass);
        assert_eq!(r2.attempts[1].index, 2);
        assert_eq!(r2.attempts[1].pid, Some(4242));
        assert_eq!(r2.metrics["iters_per_s"], 31.5);
        assert_eq!(r2.results_json, Some(serde_json::json!({"passed": 7})));
    }

    #[test]
    fn fix_confirmed_is_optional_and_checked() {
        let text = [
            r#"{"round": 1, "fix": "v2.4", "fix_confirmed": true, "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 2, "fix": "v2.4", "fix_confirmed": false, "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 3, "fix": "v2.4", "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 4, "fix": "v2.4", "fix_confirmed": null, "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 5, "fix": "v2.4", "fix_confirmed": "yes", "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 6, "fix": "native", "fix_confirmed": true, "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 7, "fix_confirmed": 1, "attempts": [{"exit_code": 0}]}"#,
        ]
        .join("\n");
        let (rounds, errors) = parse_jsonl(&text);
        let got: Vec<(i64, Option<bool>)> =
            rounds.iter().map(|r| (r.number, r.fix_confirmed)).collect();
        // Absent or null: not known (imported rounds were not run by us), counted.
        assert_eq!(
            got,
            vec![(1, Some(true)), (2, Some(false)), (3, None), (4, None)]
        );
        let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "line 5: \"fix_confirmed\" must be true or false, found a string (\"yes\")",
                "line 6: \"fix_confirmed\" is given for a round without a fix (native)",
                "line 7: \"fix_confirmed\" must be true or false, found a number (1)",
            ]
        );
    }

    #[test]
    fn bad_lines_are_reported_and_good_ones_kept() {
        let text = [
            r#"{"round": 1, "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 2, "attempts": [{"exit_code": 0}]"#,
            r#"[1, 2]"#,
            r#"{"batch": "x", "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": "4", "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 5, "eficiency": 3, "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 6}"#,
            r#"{"round": 7, "attempts": [{"signal": "SIGFOO"}]}"#,
            r#"{"round": 8, "attempts": [{"exit_code": 0, "started_at": "yesterday"}]}"#,
            r#"{"round": 9, "config": {"env": {"A": 1}}, "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 1, "attempts": [{"exit_code": 1}]}"#,
            r#"{"round": 10, "attempts": [{"exit_code": 0, "started_at": "2025-12-23T10:00:00Z", "finished_at": "2025-12-23T09:00:00Z"}]}"#,
            r#"{"round": 11, "attempts": [{"exit_code": 0.5}]}"#,
            r#"{"round": 12, "attempts": [{"exit_code": 0, "crash_reports": "INC"}]}"#,
            r#"{"round": 13, "efficiency": "14%", "attempts": [{"exit_code": 0}]}"#,
            r#"{"round": 14, "attempts": []}"#,
            r#"{"round": 15, "attempts": [{"signal": 11}]}"#,
        ]
        .join("\n");
        let (rounds, errors) = parse_jsonl(&text);
        assert_eq!(
            rounds.iter().map(|r| r.number).collect::<Vec<_>>(),
            vec![1, 15]
        );
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(
            lines,
            vec![2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(rendered.join("\n"));
    }

    #[test]
    fn signal_forms() {
        let (rounds, errors) = parse_jsonl(
            r#"{"round": 1, "attempts": [{"signal": 6}, {"signal": "segv"}, {"signal": "10"}, {"signal": "SIGBUS"}]}"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let signals: Vec<_> = rounds[0].attempts.iter().map(|a| a.signal).collect();
        assert_eq!(signals, vec![Some(6), Some(11), Some(10), Some(10)]);
        let (_, errors) = parse_jsonl(r#"{"round": 1, "attempts": [{"signal": -1}]}"#);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn bom_and_crlf_are_tolerated() {
        let text = "\u{feff}{\"round\": 1, \"attempts\": [{\"exit_code\": 0}]}\r\n# c\r\n";
        let (rounds, errors) = parse_jsonl(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rounds.len(), 1);
    }
}
