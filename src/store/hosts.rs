//! Hosts: the machines rounds ran on and reports were ingested on (docs/FLEET.md).
//!
//! A host is found by its stable machine identity first, then by name. The SQL is plain and
//! portable (`ON CONFLICT DO NOTHING`, no SQLite-only functions) so the PostgreSQL backend can
//! run it as it is.

use chrono::Utc;
use rusqlite::Connection;

use super::db::{params, Conn, Optional as _};

use super::{Store, StoreError};
use crate::host::HostInfo;

/// A stored host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostRow {
    /// Row id (local to this database).
    #[serde(skip)]
    pub id: i64,
    /// The name selectors use (`host:NAME`).
    pub name: String,
    /// The stable machine identity, when known.
    pub machine_id: Option<String>,
    /// The hardware model, when known.
    pub hardware_model: Option<String>,
    /// The OS, when known.
    pub os: Option<String>,
    /// How many rounds it ran.
    pub rounds: i64,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The columns [`host_from`] reads, for `FROM hosts h`.
const HOST_COLUMNS: &str = "h.id, h.name, h.machine_id, h.hardware_model, h.os,
    (SELECT count(*) FROM rounds ro WHERE ro.host_id = h.id)";

fn host_from(r: &super::db::Row<'_>) -> Result<HostRow, super::db::DbError> {
    Ok(HostRow {
        id: r.get(0)?,
        name: r.get(1)?,
        machine_id: r.get(2)?,
        hardware_model: r.get(3)?,
        os: r.get(4)?,
        rounds: r.get(5)?,
    })
}

fn row(conn: &Conn, cond: &str, arg: &str) -> Result<Option<HostRow>, StoreError> {
    let sql = format!("SELECT {HOST_COLUMNS} FROM hosts h WHERE {cond}");
    Ok(conn.query_row(&sql, params![arg], host_from).optional()?)
}

/// The id of the host `info` describes, stored if new. Found by machine identity first (a
/// hostname changes with the network, the identity does not): its stored name is kept unless
/// `info.name_chosen`, which renames it. Failing that, by name: a stored host of that name and
/// no identity (imported, merged, or made by a build that could not read it) is this machine,
/// and learns its identity; one with another identity is another machine, a conflict the user
/// resolves by naming this one (`--host NAME`). Unknown parts never overwrite known ones.
pub(crate) fn ensure_host(conn: &Conn, info: &HostInfo) -> Result<i64, StoreError> {
    ensure_host_as(conn, info, Describe::AsItIsNow)
}

/// Whose description of a known host wins in [`ensure_host_as`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Describe {
    /// This machine as detected now: its hardware model and OS replace the stored ones (macOS
    /// updates).
    AsItIsNow,
    /// Another database's description (merge), which may be older than what is stored: it
    /// only fills parts that are unknown here, so merge order never rolls a host back.
    OnlyWhatIsMissing,
}

/// [`ensure_host`], with `describe` saying whether `info`'s hardware model and OS replace the
/// stored ones or only fill unknown parts.
pub(crate) fn ensure_host_as(
    conn: &Conn,
    info: &HostInfo,
    describe: Describe,
) -> Result<i64, StoreError> {
    let fill = |id: i64| -> Result<(), StoreError> {
        let sql = match describe {
            Describe::AsItIsNow => {
                "UPDATE hosts SET machine_id = coalesce(machine_id, ?2),
                    hardware_model = coalesce(?3, hardware_model), os = coalesce(?4, os)
                 WHERE id = ?1"
            }
            Describe::OnlyWhatIsMissing => {
                "UPDATE hosts SET machine_id = coalesce(machine_id, ?2),
                    hardware_model = coalesce(hardware_model, ?3), os = coalesce(os, ?4)
                 WHERE id = ?1"
            }
        };
        conn.execute(
            sql,
            params![id, info.machine_id, info.hardware_model, info.os],
        )?;
        Ok(())
    };
    if let Some(mid) = &info.machine_id {
        if let Some(h) = row(conn, "h.machine_id = ?1", mid)? {
            if info.name_chosen && h.name != info.name {
                if let Some(other) = row(conn, "h.name = ?1", &info.name)? {
                    return Err(StoreError::Conflict(format!(
                        "host name {} is taken by another machine ({}); this machine is stored \
                         as {}",
                        other.name,
                        other.machine_id.as_deref().unwrap_or("identity unknown"),
                        h.name
                    )));
                }
                conn.execute(
                    "UPDATE hosts SET name = ?2 WHERE id = ?1",
                    params![h.id, info.name],
                )?;
            }
            fill(h.id)?;
            return Ok(h.id);
        }
    }
    if let Some(h) = row(conn, "h.name = ?1", &info.name)? {
        match (&h.machine_id, &info.machine_id) {
            (Some(theirs), Some(ours)) if theirs != ours => {
                return Err(StoreError::Conflict(format!(
                    "host name {} belongs to another machine ({theirs}); name this one with \
                     AGX_TRIAGE_HOST=NAME (or --host NAME, for round run, record and import)",
                    h.name
                )))
            }
            _ => {
                fill(h.id)?;
                return Ok(h.id);
            }
        }
    }
    conn.execute(
        "INSERT INTO hosts (name, machine_id, hardware_model, os, first_seen)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![
            info.name,
            info.machine_id,
            info.hardware_model,
            info.os,
            now()
        ],
    )?;
    row(conn, "h.name = ?1", &info.name)?
        .map(|h| h.id)
        .ok_or_else(|| StoreError::Corrupt(format!("host {} was not stored", info.name)))
}

/// Migration 10's data step (SQLite: PostgreSQL databases start at schema 9 with no rounds
/// made before hosts): rounds stored before hosts existed ran on this machine (a database is
/// a machine's own until merged), so they get the local host. It runs inside migration 10's
/// transaction, right after the `hosts` table was created empty, so the local host is new.
pub(crate) fn fill_round_hosts(
    conn: &Connection,
    local: &crate::host::LocalHost,
) -> Result<usize, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM rounds WHERE host_id IS NULL",
        [],
        |r| r.get(0),
    )?;
    if n == 0 {
        return Ok(0);
    }
    let local = local.get();
    let id: i64 = conn.query_row(
        "INSERT INTO hosts (name, machine_id, hardware_model, os, first_seen)
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        rusqlite::params![
            local.name,
            local.machine_id,
            local.hardware_model,
            local.os,
            now()
        ],
        |r| r.get(0),
    )?;
    Ok(conn.execute("UPDATE rounds SET host_id = ?1 WHERE host_id IS NULL", [id])?)
}

impl Store {
    /// Every stored host, by name.
    pub fn hosts(&self) -> Result<Vec<HostRow>, StoreError> {
        Ok(self.conn().query_map(
            &format!("SELECT {HOST_COLUMNS} FROM hosts h ORDER BY h.name"),
            params![],
            host_from,
        )?)
    }

    /// Store this machine's host now (a name taken by another machine is refused here, before
    /// anything is ingested) and record it as the host that ingested every report this store
    /// writes from now on, in each report's own transaction. Returns its id.
    pub fn ingest_as_local_host(&mut self) -> Result<i64, StoreError> {
        let id = self.register_local_host()?;
        self.ingest_host = Some(id);
        Ok(id)
    }

    /// Store the local host now (see [`Store::open_as`]), so that a name taken by another
    /// machine is refused before a round runs rather than when it is saved. Returns its id.
    pub fn register_local_host(&mut self) -> Result<i64, StoreError> {
        let local = self.local.get().clone();
        let tx = self.begin_write()?;
        let id = ensure_host(tx.tx, &local)?;
        tx.commit()?;
        Ok(id)
    }

    /// The name the local host (see [`Store::open_as`]) has in this database, if it is stored:
    /// found by machine identity first, as rounds are saved.
    pub fn local_host_name(&self) -> Result<Option<String>, StoreError> {
        let local = self.local.get();
        if let Some(mid) = &local.machine_id {
            if let Some(h) = row(self.conn(), "h.machine_id = ?1", mid)? {
                return Ok(Some(h.name));
            }
        }
        Ok(row(self.conn(), "h.name = ?1", &local.name)?.map(|h| h.name))
    }

    /// The stored host of this name.
    pub fn host(&self, name: &str) -> Result<Option<HostRow>, StoreError> {
        row(self.conn(), "h.name = ?1", name)
    }

    /// The machine this store was opened on (see [`Store::open_as`]).
    pub fn local_host(&self) -> &HostInfo {
        self.local.get()
    }

    /// The names of the hosts that hold a round with this number.
    pub fn hosts_with_round(&self, number: i64) -> Result<Vec<String>, StoreError> {
        Ok(self.conn().query_map(
            "SELECT h.name FROM rounds ro JOIN hosts h ON h.id = ro.host_id
             WHERE ro.number = ?1 ORDER BY h.name",
            params![number],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("h.db")).unwrap();
        (dir, s)
    }

    fn mac(name: &str, id: Option<&str>) -> HostInfo {
        HostInfo {
            name: name.into(),
            machine_id: id.map(str::to_string),
            ..HostInfo::default()
        }
    }

    #[test]
    fn a_machine_is_found_by_identity_whatever_its_hostname() {
        let (_d, s) = store();
        let a = ensure_host(s.conn(), &mac("mac-a.local", Some("UUID-A"))).unwrap();
        // macOS renamed itself on another network: same machine, stored name kept.
        let b = ensure_host(s.conn(), &mac("mac-a-2.local", Some("UUID-A"))).unwrap();
        assert_eq!(a, b);
        assert_eq!(s.hosts().unwrap()[0].name, "mac-a.local");
        // A chosen name renames it.
        let mut chosen = mac("lab-1", Some("UUID-A"));
        chosen.name_chosen = true;
        assert_eq!(ensure_host(s.conn(), &chosen).unwrap(), a);
        assert_eq!(s.hosts().unwrap()[0].name, "lab-1");
    }

    #[test]
    fn a_name_known_without_identity_is_adopted_and_another_identity_is_a_conflict() {
        let (_d, s) = store();
        let imported = ensure_host(s.conn(), &HostInfo::named("mac-b")).unwrap();
        let mut me = mac("mac-b", Some("UUID-B"));
        me.os = Some("macOS 15.1".into());
        assert_eq!(ensure_host(s.conn(), &me).unwrap(), imported);
        let h = s.host("mac-b").unwrap().unwrap();
        assert_eq!(h.machine_id.as_deref(), Some("UUID-B"));
        assert_eq!(h.os.as_deref(), Some("macOS 15.1"));
        // Unknown parts do not erase known ones.
        ensure_host(s.conn(), &HostInfo::named("mac-b")).unwrap();
        assert_eq!(
            s.host("mac-b").unwrap().unwrap().os.as_deref(),
            Some("macOS 15.1")
        );
        let err = ensure_host(s.conn(), &mac("mac-b", Some("UUID-OTHER"))).unwrap_err();
        assert!(err.to_string().contains("another machine"), "{err}");
    }

    // Regression: a round naming a host that shares this machine's name was filed under this
    // machine (or refused as a name conflict), so merging another Mac's rounds misfiled them.
    #[test]
    fn a_named_round_is_filed_under_that_host_even_when_it_shares_this_machines_name() {
        let dir = tempfile::tempdir().unwrap();
        let here = HostInfo {
            name: "vm".into(),
            machine_id: Some("LOCAL".into()),
            ..HostInfo::default()
        };
        let mut s = Store::open_as(
            &dir.path().join("h.db"),
            super::super::Create::File,
            crate::host::LocalHost::known(here),
        )
        .unwrap();
        let other = ensure_host(s.conn(), &mac("vm", Some("OTHER"))).unwrap();
        let round = crate::rounds::Round {
            number: 7,
            host: Some("vm".into()),
            ..crate::rounds::Round::default()
        };
        s.save_round(&round, &super::super::RoundMeta::default(), false)
            .unwrap();
        let stored: i64 = s
            .conn()
            .query_row(
                "SELECT host_id FROM rounds WHERE number = 7",
                params![],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, other);
        assert!(s.host("vm").unwrap().unwrap().machine_id.as_deref() == Some("OTHER"));
    }
}
