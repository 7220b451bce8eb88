//! The fix-version registry: writes and queries.

use crate::store::db::{params, Optional as _};
use serde::Serialize;

use super::{Store, StoreError};

/// One Mach-O slice of a registered fix build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixSlice {
    /// Architecture of the slice (`arm64`, `arm64e`, `x86_64`, ...).
    pub arch: Option<String>,
    /// The slice's `LC_UUID`, lower-case with dashes (the form the store keeps for every image).
    pub uuid: String,
    /// `LC_ID_DYLIB` current version, e.g. `3.1.0`.
    pub current_version: Option<String>,
    /// `LC_ID_DYLIB` compatibility version, e.g. `3.0.0`.
    pub compatibility_version: Option<String>,
}

/// A registered fix version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixRecord {
    /// The name rounds and selectors use, e.g. `v2.4` (docs/FIX.md, "Image names").
    pub name: String,
    /// Where the file was when it was registered (it may have moved since).
    pub path: Option<String>,
    /// File size in bytes.
    pub size: Option<u64>,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: Option<String>,
    /// MD5 of the file, lower-case hex (what the origin project's notes quote).
    pub md5: Option<String>,
    /// The dylib's install name (`LC_ID_DYLIB`), e.g. `@rpath/libagx_fix_v2_4.dylib`.
    pub install_name: Option<String>,
    /// The build's embedded metadata (JSON object), if any.
    pub metadata: Option<serde_json::Value>,
    /// One entry per architecture slice (one for a thin file).
    pub slices: Vec<FixSlice>,
    /// Set by the store.
    pub registered_at: Option<String>,
    /// Reports linked to this fix (by image UUID). Set by queries.
    pub reports: i64,
    /// Rounds run with this fix name. Set by queries.
    pub rounds: i64,
}

/// What registering a fix did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterOutcome {
    /// The registry row's id.
    pub fix_id: i64,
    /// The name was registered before and has been replaced.
    pub replaced: bool,
    /// Reports now linked to this fix (already-ingested ones included).
    pub linked_reports: i64,
    /// Rounds recorded with this fix name before it was registered, now joined to it.
    pub joined_rounds: i64,
    /// Reports that loaded an image with this build's file name (or install name) but another
    /// UUID: a different build of the same name, which this registration does not describe.
    pub other_builds: Vec<OtherBuild>,
}

/// A report that loaded a different build under the registered build's file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherBuild {
    /// The report's row id (`show ID`).
    pub report_id: i64,
    /// Its incident id.
    pub incident_id: String,
    /// The image name it lists.
    pub image: String,
    /// The UUID of that image, if the report gives one.
    pub uuid: Option<String>,
}

impl Store {
    /// Register (or replace) a fix version and link every stored report that lists one of
    /// its UUIDs. A UUID registered under another name is an error, not a silent move.
    pub fn register_fix(&mut self, fix: &FixRecord) -> Result<RegisterOutcome, StoreError> {
        let tx = self.begin_write()?;
        for s in &fix.slices {
            let other: Option<String> = tx
                .tx
                .query_row(
                    "SELECT f.name FROM fix_slices fs JOIN fixes f ON f.id = fs.fix_id
                     WHERE fs.uuid = ?1 AND f.name <> ?2",
                    params![s.uuid, fix.name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(other) = other {
                return Err(StoreError::Conflict(format!(
                    "UUID {} is already registered as fix {other}",
                    s.uuid
                )));
            }
        }
        let old: Option<i64> = tx
            .tx
            .query_row(
                "SELECT id FROM fixes WHERE name = ?1",
                params![&fix.name],
                |r| r.get(0),
            )
            .optional()?;
        // Reports linked to the build being replaced: relinked below, so a report of the old
        // build becomes an unregistered fix (or links to the new build) rather than nothing.
        let mut relink: Vec<i64> = Vec::new();
        if let Some(id) = old {
            relink = tx
                .tx
                .query_map(
                    "SELECT id FROM reports WHERE fix_id = ?1",
                    params![id],
                    |r| r.get(0),
                )?
                .into_iter()
                .collect::<_>();
            tx.tx.execute(
                "UPDATE reports SET fix_id = NULL WHERE fix_id = ?1",
                params![id],
            )?;
            tx.tx
                .execute("DELETE FROM fixes WHERE id = ?1", params![id])?;
        }
        let fix_id: i64 = tx.tx.insert_returning_id(
            "INSERT INTO fixes (name, path, size, sha256, md5, install_name, metadata,
                registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                fix.name,
                fix.path,
                fix.size.map(|s| s as i64),
                fix.sha256,
                fix.md5,
                fix.install_name,
                fix.metadata.as_ref().map(|m| m.to_string()),
                tx.now,
            ],
        )?;
        for s in &fix.slices {
            tx.tx.execute(
                "INSERT INTO fix_slices (fix_id, arch, uuid, current_version,
                    compatibility_version) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![
                    fix_id,
                    s.arch,
                    s.uuid,
                    s.current_version,
                    s.compatibility_version
                ],
            )?;
        }
        let ids: Vec<i64> = tx
            .tx
            .query_map(
                "SELECT DISTINCT r.id FROM fix_slices fs
                 JOIN images i ON i.uuid = fs.uuid
                 JOIN image_list_members m ON m.image_id = i.id
                 JOIN reports r ON r.image_list_id = m.list_id
                 WHERE fs.fix_id = ?1",
                params![fix_id],
                |r| r.get(0),
            )?
            .into_iter()
            .collect::<_>();
        for id in ids.iter().chain(relink.iter()) {
            tx.link_fix(*id)?;
        }
        // Same file name, other UUID: a different build that crashed under this name. Its
        // reports stay unlinked, and the caller says so rather than let them pass as this build.
        let names: Vec<String> = [fix.path.as_deref(), fix.install_name.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|p| {
                std::path::Path::new(p)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .collect();
        let mut other_builds = Vec::new();
        if !names.is_empty() {
            let first = names[0].clone();
            let second = names.get(1).cloned().unwrap_or_else(|| first.clone());
            other_builds = tx
                .tx
                .query_map(
                    "SELECT DISTINCT r.id, r.identity, i.name, i.uuid FROM reports r
                 JOIN image_list_members m ON m.list_id = r.image_list_id
                 JOIN images i ON i.id = m.image_id
                 WHERE i.name IN (?1, ?2)
                   AND (i.uuid IS NULL
                        OR i.uuid NOT IN (SELECT uuid FROM fix_slices WHERE fix_id = ?3))
                 ORDER BY r.id",
                    params![first, second, fix_id],
                    |r| {
                        Ok(OtherBuild {
                            report_id: r.get(0)?,
                            incident_id: r.get(1)?,
                            image: r.get(2)?,
                            uuid: r.get(3)?,
                        })
                    },
                )?
                .into_iter()
                .collect::<_>();
        }
        let joined_rounds: i64 = tx.tx.query_row(
            "SELECT count(*) FROM rounds WHERE fix_name = ?1",
            params![&fix.name],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(RegisterOutcome {
            fix_id,
            replaced: old.is_some(),
            linked_reports: ids.len() as i64,
            joined_rounds,
            other_builds,
        })
    }

    /// Every registered fix, by name.
    pub fn list_fixes(&self) -> Result<Vec<FixRecord>, StoreError> {
        let mut fixes = Vec::new();
        self.conn().query_each(
            "SELECT f.id, f.name, f.path, f.size, f.sha256, f.md5, f.install_name, f.metadata,
                    f.registered_at,
                    (SELECT count(*) FROM reports r WHERE r.fix_id = f.id),
                    (SELECT count(*) FROM rounds ro WHERE ro.fix_name = f.name)
             FROM fixes f ORDER BY f.name",
            params![],
            |r| -> Result<(), StoreError> {
                let id: i64 = r.get(0)?;
                let meta: Option<String> = r.get(7)?;
                fixes.push((
                    id,
                    FixRecord {
                        name: r.get(1)?,
                        path: r.get(2)?,
                        size: r.get::<Option<i64>>(3)?.map(|s| s as u64),
                        sha256: r.get(4)?,
                        md5: r.get(5)?,
                        install_name: r.get(6)?,
                        metadata: meta.and_then(|m| serde_json::from_str(&m).ok()),
                        slices: Vec::new(),
                        registered_at: r.get(8)?,
                        reports: r.get(9)?,
                        rounds: r.get(10)?,
                    },
                ));
                Ok(())
            },
        )?;
        let mut out = Vec::with_capacity(fixes.len());
        for (id, mut f) in fixes {
            f.slices = self
                .conn()
                .query_map(
                    "SELECT arch, uuid, current_version, compatibility_version
                     FROM fix_slices WHERE fix_id = ?1 ORDER BY arch NULLS FIRST",
                    params![id],
                    |r| {
                        Ok(FixSlice {
                            arch: r.get(0)?,
                            uuid: r.get(1)?,
                            current_version: r.get(2)?,
                            compatibility_version: r.get(3)?,
                        })
                    },
                )?
                .into_iter()
                .collect::<_>();
            out.push(f);
        }
        Ok(out)
    }

    /// One registered fix by name.
    pub fn fix(&self, name: &str) -> Result<Option<FixRecord>, StoreError> {
        Ok(self.list_fixes()?.into_iter().find(|f| f.name == name))
    }

    /// Whether the stored report `identity` (an incident id, any case) lists an image with
    /// one of `uuids` (any form): proof that this build was loaded in the crashed process
    /// (used for an attempt whose fix wrote no handshake, see `rounds::handshake`).
    pub fn report_lists_image(&self, identity: &str, uuids: &[String]) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT 1 FROM reports r
             JOIN image_list_members m ON m.list_id = r.image_list_id
             JOIN images i ON i.id = m.image_id
             WHERE r.identity = ?1 AND i.uuid = ?2 LIMIT 1";
        let identity = super::reports::normalize_identity(identity);
        for uuid in uuids.iter().filter_map(|u| crate::crash::normalize_uuid(u)) {
            if self.conn().exists(SQL, params![identity, uuid])? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
