//! Verification rounds and their attempts: writes and queries.

use std::collections::BTreeMap;

use super::db::{params, Conn, Optional as _, ToValue as _, Value};
use chrono::{DateTime, Utc};

use super::{Store, StoreError};
use crate::rounds::compare::{CrashBucket, RoundSummary};
use crate::rounds::model::{Attempt, Outcome, Round};

/// Which rounds a query covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundSelector {
    /// Every round.
    All,
    /// Round numbers in an inclusive range (`rounds:1820-1849`).
    Range(i64, i64),
    /// Rounds with this batch label (`batch:1820-1829`).
    Batch(String),
    /// Rounds run with this fix name (`fix:v2.3`).
    Fix(String),
    /// Rounds with no fix loaded (`native`).
    Native,
    /// Rounds run on the host of this name (`host:mac-a`).
    Host(String),
    /// Rounds every one of these selects (`fix:v2.4,host:mac-a`).
    And(Vec<RoundSelector>),
}

impl RoundSelector {
    pub(crate) fn sql(&self) -> (String, Vec<Value<'_>>) {
        match self {
            RoundSelector::All => (String::new(), vec![]),
            RoundSelector::Range(lo, hi) => (
                " AND ro.number BETWEEN ? AND ?".into(),
                vec![Value::Int(*lo), Value::Int(*hi)],
            ),
            RoundSelector::Batch(b) => (" AND ro.batch = ?".into(), vec![b.to_value()]),
            RoundSelector::Fix(f) => (" AND ro.fix_name = ?".into(), vec![f.to_value()]),
            RoundSelector::Native => (" AND ro.fix_name IS NULL".into(), vec![]),
            RoundSelector::Host(h) => (
                " AND ro.host_id IN (SELECT id FROM hosts WHERE name = ?)".into(),
                vec![h.to_value()],
            ),
            RoundSelector::And(all) => {
                let mut sql = String::new();
                let mut args = Vec::new();
                for s in all {
                    let (c, a) = s.sql();
                    sql.push_str(&c);
                    args.extend(a);
                }
                (sql, args)
            }
        }
    }
}

/// Extra facts about how a round was recorded.
#[derive(Debug, Clone, Default)]
pub struct RoundMeta {
    /// `run`, `record` or `import`.
    pub source: String,
    /// The command line, when agx-triage ran it.
    pub command: Option<String>,
    /// The retry budget.
    pub max_attempts: Option<u32>,
    /// The last lines of output, when agx-triage ran the round.
    pub output_tail: Option<String>,
    /// The hardware model it ran on (`Mac16,5`), when known; a round of this machine that
    /// names none gets this machine's.
    pub hardware_model: Option<String>,
    /// The OS it ran under (`macOS 15.1 (24B83)`), when known; as `hardware_model`.
    pub os: Option<String>,
}

/// What [`Store::save_round`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedRound {
    /// No round had this number; it is stored.
    Inserted,
    /// The same round was stored already; nothing changed.
    Unchanged,
    /// A different round with this number was replaced (only when asked to).
    Replaced,
}

/// A stored round with its recorded extras.
#[derive(Debug, Clone)]
pub struct StoredRound {
    /// The round as recorded: attempts, fix, configuration, figures.
    pub round: Round,
    /// Its outcome, computed from the attempts (never stored on its own).
    pub outcome: Outcome,
    /// How it got here: `run`, `record` or `import`.
    pub source: String,
    /// The test command, for rounds made by `round run`.
    pub command: Option<String>,
    /// The retry budget it ran with, for rounds made by `round run`.
    pub max_attempts: Option<u32>,
    /// The last 64 KiB of the command's output (each attempt headed), for rounds made by
    /// `round run`.
    pub output_tail: Option<String>,
    /// The hardware model it ran on, when known (migration 11 gave older rounds their
    /// host's).
    pub hardware_model: Option<String>,
    /// The OS it ran under, when known (as `hardware_model`).
    pub os: Option<String>,
}

fn ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    /// Whether the local host (see [`Store::open_as`]) has a round with this number stored.
    pub fn has_round(&self, number: i64) -> Result<bool, StoreError> {
        let local = self.local.get();
        Ok(self.conn().exists(
            "SELECT 1 FROM rounds ro JOIN hosts h ON h.id = ro.host_id
                 WHERE ro.number = ?1 AND (h.machine_id = ?2 OR h.name = ?3)",
            params![number, local.machine_id, local.name],
        )?)
    }

    /// Store a round. A stored round with the same number and the same content (as stored:
    /// times to the millisecond, incident ids upper-case) makes this a no-op; one with different
    /// content is a [`StoreError::RoundExists`] and stays as it is, unless `replace` is set.
    /// How the round was recorded (`meta`) is not part of its content.
    pub fn save_round(
        &mut self,
        round: &Round,
        meta: &RoundMeta,
        replace: bool,
    ) -> Result<SavedRound, StoreError> {
        // A round of the local host (by default, or named as it) records what detection
        // knows of this machine; another host is known by name only.
        // A round that names its host (import, record --host, merge) is that host's, found
        // by name; only a round that names none is this machine's, found by identity. A named
        // host that happens to share this machine's name is not this machine: two Macs can
        // both be called `MacBook-Pro`, and merge must file the other one's rounds under it.
        let (host, this_machine) = match &round.host {
            Some(name) => (crate::host::HostInfo::named(name), false),
            None => (self.local.get().clone(), true),
        };
        // What the round ran under: as given, else (a round of this machine) this machine's.
        let hardware_model = meta
            .hardware_model
            .clone()
            .or_else(|| host.hardware_model.clone().filter(|_| this_machine));
        let os = meta
            .os
            .clone()
            .or_else(|| host.os.clone().filter(|_| this_machine));
        let tx = self.begin_write()?;
        let host_id = super::hosts::ensure_host(tx.tx, &host)?;
        let host_name: String = tx.tx.query_row(
            "SELECT name FROM hosts WHERE id = ?1",
            params![host_id],
            |r| r.get(0),
        )?;
        let mut round = round.clone();
        round.host = Some(host_name);
        let round = &round;
        let old: Option<i64> = tx
            .tx
            .query_row(
                "SELECT id FROM rounds WHERE host_id = ?1 AND number = ?2",
                params![host_id, round.number],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = old {
            let stored = read_rounds(tx.tx, " AND ro.id = ?", vec![Value::Int(id)])?;
            let same = stored
                .first()
                .is_some_and(|s| s.round == as_stored(round, tx.tx.is_postgres()));
            if same {
                return Ok(SavedRound::Unchanged);
            }
            if !replace {
                return Err(StoreError::RoundExists(round.number));
            }
            tx.tx
                .execute("DELETE FROM rounds WHERE id = ?1", params![id])?;
        }
        let metrics = if round.metrics.is_empty() {
            None
        } else {
            serde_json::to_string(&round.metrics).ok()
        };
        let id: i64 = tx.tx.insert_returning_id(
            "INSERT INTO rounds (number, batch, fix_name, started_at, finished_at, efficiency,
                outcome, max_attempts, command, metrics, results, source, recorded_at,
                output_tail, fix_confirmed, host_id, hardware_model, os)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18)",
            params![
                round.number,
                round.batch,
                round.fix,
                ts(round.started_at),
                ts(round.finished_at),
                round.efficiency,
                round.outcome().as_str(),
                meta.max_attempts,
                meta.command,
                metrics,
                round.results_json.as_ref().map(|v| v.to_string()),
                meta.source,
                tx.now,
                meta.output_tail,
                // A native round has nothing to confirm, whatever the caller set.
                round.fix_confirmed.filter(|_| round.fix.is_some()),
                host_id,
                hardware_model,
                os,
            ],
        )?;
        for (k, v) in &round.config {
            tx.tx.execute(
                "INSERT INTO round_config (round_id, key, value) VALUES (?1, ?2, ?3)",
                params![id, k, v],
            )?;
        }
        for a in &round.attempts {
            tx.tx.execute(
                "INSERT INTO attempts (round_id, idx, started_at, finished_at, exit_code,
                    signal, pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    a.index,
                    ts(a.started_at),
                    ts(a.finished_at),
                    a.exit_code,
                    a.signal,
                    a.pid
                ],
            )?;
            for inc in &a.crash_reports {
                tx.tx.execute(
                    "INSERT INTO attempt_reports (round_id, attempt_idx, incident_id)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![id, a.index, super::reports::normalize_identity(inc)],
                )?;
            }
        }
        tx.commit()?;
        Ok(if old.is_some() {
            SavedRound::Replaced
        } else {
            SavedRound::Inserted
        })
    }

    /// Rounds matching `sel`, by number (then host name).
    pub fn rounds(&self, sel: &RoundSelector) -> Result<Vec<StoredRound>, StoreError> {
        let (cond, args) = sel.sql();
        read_rounds(self.conn(), &cond, args)
    }

    /// What a comparison needs of each selected round: outcome, efficiency and the buckets of
    /// the crash reports attributed to it. A report named by a round but not ingested yet
    /// counts as a crash in the bucket `(not ingested)`, so it is never silently dropped.
    pub fn round_summaries(&self, sel: &RoundSelector) -> Result<Vec<RoundSummary>, StoreError> {
        let rounds = self.rounds(sel)?;
        const SQL: &str = "SELECT r.signature, r.pattern FROM reports r WHERE r.identity = ?1";
        let mut out = Vec::with_capacity(rounds.len());
        for sr in rounds {
            let mut crashes = Vec::new();
            for inc in sr.round.crash_reports() {
                let b: Option<(Option<String>, Option<String>)> = self
                    .conn()
                    .query_row(SQL, params![inc], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                crashes.push(match b {
                    Some((sig, pattern)) => CrashBucket {
                        signature: sig.unwrap_or_else(|| "(not bucketed)".into()),
                        pattern,
                    },
                    None => CrashBucket {
                        signature: "(not ingested)".into(),
                        pattern: None,
                    },
                });
            }
            out.push(RoundSummary {
                number: sr.round.number,
                outcome: sr.outcome,
                efficiency: sr.round.efficiency,
                crashes,
                fix: sr.round.fix,
                fix_confirmed: sr.round.fix_confirmed,
                host: sr.round.host,
            });
        }
        Ok(out)
    }
}

/// `round` as it reads back once stored: times cut to the millisecond, incident ids trimmed,
/// upper-case, sorted and once each, the results JSON through its text form. On PostgreSQL
/// (`postgres`) a U+0000 in a text column reads back as U+FFFD (its text cannot hold U+0000;
/// `db.rs` maps it when binding), so it is mapped here too and a round holding one (a config
/// value `"a\u0000b"`) is "unchanged" when imported again, not a conflict. JSON columns
/// (metrics, results) keep it as the `\u0000` escape.
fn as_stored(round: &Round, postgres: bool) -> Round {
    let mut r = round.clone();
    if postgres {
        let text = |s: &mut String| {
            if let std::borrow::Cow::Owned(mapped) = super::db::pg_text(s) {
                *s = mapped;
            }
        };
        for s in [&mut r.batch, &mut r.fix, &mut r.host]
            .into_iter()
            .flatten()
        {
            text(s);
        }
        r.config = std::mem::take(&mut r.config)
            .into_iter()
            .map(|(mut k, mut v)| {
                text(&mut k);
                text(&mut v);
                (k, v)
            })
            .collect();
        for a in &mut r.attempts {
            a.crash_reports.iter_mut().for_each(text);
        }
    }
    r.fix_confirmed = r.fix_confirmed.filter(|_| r.fix.is_some());
    let cut = |t: Option<DateTime<Utc>>| parse_ts(ts(t));
    r.started_at = cut(r.started_at);
    r.finished_at = cut(r.finished_at);
    r.results_json = r
        .results_json
        .as_ref()
        .and_then(|v| serde_json::from_str(&v.to_string()).ok());
    for a in &mut r.attempts {
        a.started_at = cut(a.started_at);
        a.finished_at = cut(a.finished_at);
        let mut ids: Vec<String> = a
            .crash_reports
            .iter()
            .map(|i| super::reports::normalize_identity(i))
            .collect();
        ids.sort();
        ids.dedup();
        a.crash_reports = ids;
    }
    r
}

/// Rounds whose row matches `cond` (SQL starting with ` AND`, on `ro`), by number.
fn read_rounds(
    conn: &Conn,
    cond: &str,
    args: Vec<Value<'_>>,
) -> Result<Vec<StoredRound>, StoreError> {
    let sql = format!(
        "SELECT ro.id, ro.number, ro.batch, ro.fix_name, ro.started_at, ro.finished_at,
                ro.efficiency, ro.outcome, ro.max_attempts, ro.command, ro.metrics,
                ro.results, ro.source, ro.output_tail, ro.fix_confirmed, h.name,
                ro.hardware_model, ro.os
         FROM rounds ro LEFT JOIN hosts h ON h.id = ro.host_id
         WHERE 1=1 {cond} ORDER BY ro.number, h.name NULLS FIRST"
    );
    let mut out = Vec::new();
    conn.query_each(&sql, &args, |r| -> Result<(), StoreError> {
        let id: i64 = r.get(0)?;
        let outcome: String = r.get(7)?;
        let metrics: Option<String> = r.get(10)?;
        let results: Option<String> = r.get(11)?;
        let round = Round {
            number: r.get(1)?,
            batch: r.get(2)?,
            fix: r.get(3)?,
            started_at: parse_ts(r.get(4)?),
            finished_at: parse_ts(r.get(5)?),
            config: round_config(conn, id)?,
            efficiency: r.get(6)?,
            metrics: metrics
                .and_then(|m| serde_json::from_str(&m).ok())
                .unwrap_or_default(),
            attempts: attempts(conn, id)?,
            results_json: results.and_then(|m| serde_json::from_str(&m).ok()),
            fix_confirmed: r.get(14)?,
            host: r.get(15)?,
        };
        out.push(StoredRound {
            outcome: outcome
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("round {}: {e}", round.number)))?,
            round,
            max_attempts: r.get::<Option<i64>>(8)?.map(|m| m as u32),
            command: r.get(9)?,
            source: r.get(12)?,
            output_tail: r.get(13)?,
            hardware_model: r.get(16)?,
            os: r.get(17)?,
        });
        Ok(())
    })?;
    Ok(out)
}

fn round_config(conn: &Conn, id: i64) -> Result<BTreeMap<String, String>, StoreError> {
    let rows = conn
        .query_map(
            "SELECT key, value FROM round_config WHERE round_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .into_iter()
        .collect::<BTreeMap<_, _>>();
    Ok(rows)
}

fn attempts(conn: &Conn, id: i64) -> Result<Vec<Attempt>, StoreError> {
    let mut attempts = conn
        .query_map(
            "SELECT idx, started_at, finished_at, exit_code, signal, pid FROM attempts
         WHERE round_id = ?1 ORDER BY idx",
            params![id],
            |r| {
                Ok(Attempt {
                    index: r.get(0)?,
                    started_at: parse_ts(r.get(1)?),
                    finished_at: parse_ts(r.get(2)?),
                    exit_code: r.get(3)?,
                    signal: r.get(4)?,
                    pid: r.get(5)?,
                    crash_reports: Vec::new(),
                })
            },
        )?
        .into_iter()
        .collect::<Vec<_>>();
    let links = conn
        .query_map(
            "SELECT attempt_idx, incident_id FROM attempt_reports WHERE round_id = ?1
         ORDER BY attempt_idx, incident_id",
            params![id],
            |r| Ok((r.get::<u32>(0)?, r.get::<String>(1)?)),
        )?
        .into_iter()
        .collect::<Vec<_>>();
    for (idx, inc) in links {
        if let Some(a) = attempts.iter_mut().find(|a| a.index == idx) {
            a.crash_reports.push(inc);
        }
    }
    // By bytes, as `as_stored` sorts them, whatever order the database's collation gives.
    for a in &mut attempts {
        a.crash_reports.sort();
    }
    Ok(attempts)
}
