//! Writing reports: the write transaction ([`WriteTx`]), files, dictionaries, report rows,
//! image lists and frames, and the id cache that lets one writer keep up with the workers.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use crate::store::db::{params, Conn, Optional as _};
use chrono::Utc;

use super::frames;
use super::{frame_label, json_array, report_identity, rfc3339, Completeness, InsertOutcome};
use crate::crash::{CrashReport, Frame, Image};
use crate::store::{Store, StoreError};

/// An open write transaction (`BEGIN IMMEDIATE`). Dropping it without [`WriteTx::commit`]
/// rolls everything back.
pub struct WriteTx<'c> {
    pub(in crate::store) tx: &'c Conn,
    /// Committed (or rolled back by an error of COMMIT): nothing left to undo on drop.
    done: bool,
    pub(in crate::store) now: String,
    /// Ids met in transactions this store committed before.
    committed: &'c mut IdCache,
    /// Ids met in this one: kept only if it commits, so a rollback cannot leave stale ids.
    fresh: RefCell<IdCache>,
    /// UUIDs of registered fix builds, read once per transaction: most reports load no fix,
    /// and knowing that spares the linking queries.
    fix_uuids: std::cell::OnceCell<HashSet<String>>,
    /// The host new reports are recorded as ingested by (see [`Store::ingest_as_local_host`]).
    ingest_host: Option<i64>,
    /// Told of the commit, during [`Store::begin_bulk_writes`].
    checkpointer: Option<&'c crate::store::checkpoint::Checkpointer>,
}

/// Row ids of images, image lists and stacks by key, kept by a [`Store`] across its write
/// transactions. After the first few reports of a machine every image and image list a report
/// names is stored already, and looking them up here instead of in SQL is what lets the single
/// writer keep up with the parsing workers. An entry stays true: ids never change once
/// committed and none of these tables ever loses a row (an unreferenced stack stays). Bounded: a map that outgrows its limit is
/// emptied (the UNIQUE keys in SQL stay the truth), so memory is flat however many distinct
/// lists an ingest meets.
#[derive(Debug, Default)]
pub(crate) struct IdCache {
    images: HashMap<String, i64>,
    lists: HashMap<String, i64>,
    /// `stacks.hash` → id: a stress suite's reports repeat a few stacks, and a repeated one
    /// then costs a hash and no SQL.
    stacks: HashMap<String, i64>,
    /// Stacks met before, by a cheap summary of their frames: the frames (to compare whole)
    /// and the stack's `stacks.hash`. A repeated stack then skips its JSON encoding and its
    /// BLAKE3 hash, which were ~4% of an ingest's CPU on the real-derived set (all in the
    /// single writer). What it holds follows from the frames alone, never from the database.
    stack_keys: HashMap<u64, (Vec<frames::StoredFrame<'static>>, String)>,
}

impl IdCache {
    const MAX_IMAGES: usize = 1 << 16;
    /// List keys are ~5 bytes per image: 1,024 lists of 600 images are 3 MB.
    const MAX_LISTS: usize = 1 << 10;
    /// Keys are 64 bytes: 16,384 stacks are ~2 MB with the map's overhead.
    const MAX_STACKS: usize = 1 << 14;
    /// Each entry holds a stack's frames (~3 KB for 60 frames): 1,024 are ~3 MB.
    const MAX_STACK_KEYS: usize = 1 << 10;

    fn absorb(&mut self, other: IdCache) {
        if self.images.len() + other.images.len() > Self::MAX_IMAGES {
            self.images.clear();
        }
        if self.lists.len() + other.lists.len() > Self::MAX_LISTS {
            self.lists.clear();
        }
        if self.stacks.len() + other.stacks.len() > Self::MAX_STACKS {
            self.stacks.clear();
        }
        if self.stack_keys.len() + other.stack_keys.len() > Self::MAX_STACK_KEYS {
            self.stack_keys.clear();
        }
        self.images.extend(other.images);
        self.lists.extend(other.lists);
        self.stacks.extend(other.stacks);
        self.stack_keys.extend(other.stack_keys);
    }
}

/// The `image_lists.key` of a list of image ids: a JSON array without spaces, as migration 4's
/// `json_group_array` writes it.
pub(super) fn image_list_key(ids: &[i64]) -> String {
    use std::fmt::Write;
    let mut key = String::with_capacity(ids.len() * 5 + 2);
    key.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        let _ = write!(key, "{id}");
    }
    key.push(']');
    key
}

/// The `images.key` of an image: its UUID, or `nouuid:name:path:arch` when it has none.
fn image_key(img: &Image) -> Cow<'_, str> {
    match &img.uuid {
        Some(u) => Cow::Borrowed(u.as_str()),
        None => Cow::Owned(format!(
            "nouuid:{}:{}:{}",
            img.name.as_deref().unwrap_or(""),
            img.path.as_deref().unwrap_or(""),
            img.arch.as_deref().unwrap_or("")
        )),
    }
}

impl Store {
    /// Start a write transaction. It takes the database write lock at once (waiting up to
    /// [`super::BUSY_TIMEOUT`] for another writer).
    pub fn begin_write(&mut self) -> Result<WriteTx<'_>, StoreError> {
        let Store {
            conn,
            ids,
            ingest_host,
            checkpointer,
            ..
        } = self;
        conn.begin_write()?;
        Ok(WriteTx {
            tx: conn,
            done: false,
            now: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            committed: ids,
            fresh: Default::default(),
            fix_uuids: Default::default(),
            ingest_host: *ingest_host,
            checkpointer: checkpointer.as_ref(),
        })
    }

    /// Is a file with this content hash stored already?
    pub fn has_file(&self, hash: &str) -> Result<bool, StoreError> {
        has_file(self.conn(), hash)
    }
}

fn has_file(conn: &Conn, hash: &str) -> Result<bool, StoreError> {
    Ok(conn.exists("SELECT 1 FROM files WHERE hash = ?1", params![hash])?)
}

impl WriteTx<'_> {
    /// Is a file with this content hash stored already?
    pub fn has_file(&self, hash: &str) -> Result<bool, StoreError> {
        has_file(self.tx, hash)
    }

    /// Store a file's bytes compressed without a dictionary (no-op when already stored).
    pub fn put_file(&self, hash: &str, size: u64, compressed: &[u8]) -> Result<(), StoreError> {
        self.put_file_with(hash, size, compressed, None)
    }

    /// Store a file's compressed bytes and the dictionary they were compressed with (no-op
    /// when already stored). The dictionary must be committed already or stored in this
    /// transaction.
    pub fn put_file_with(
        &self,
        hash: &str,
        size: u64,
        compressed: &[u8],
        dict_id: Option<i64>,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO files (hash, size, compression, data, dict_id)
                 VALUES (?1, ?2, 'zstd', ?3, ?4) ON CONFLICT DO NOTHING",
            params![hash, size as i64, compressed, dict_id],
        )?;
        Ok(())
    }

    /// Store a new dictionary version; its id. Files compressed with it may be stored in this
    /// transaction or later ones.
    pub fn put_dictionary(&self, content: &[u8]) -> Result<i64, StoreError> {
        // Level 3: a dictionary is written once per version and is mostly whole reports.
        let data = zstd::bulk::compress(content, 3).map_err(StoreError::Compression)?;
        Ok(self.tx.insert_returning_id(
            "INSERT INTO dictionaries (kind, size, data, created_at)
             VALUES ('zstd-raw', ?1, ?2, ?3)",
            params![content.len() as i64, data, self.now],
        )?)
    }

    /// Record `path` as a further source of every report stored from file `hash`.
    /// Returns how many reports that file holds (0 when no report came from it).
    pub fn add_sources_for_file(&self, hash: &str, path: &str) -> Result<usize, StoreError> {
        let mut ids: Vec<i64> = self
            .tx
            .query_map(
                "SELECT id FROM reports WHERE file_hash = ?1",
                params![hash],
                |r| r.get(0),
            )?
            .into_iter()
            .collect::<_>();
        if ids.is_empty() {
            // The file's report was replaced by a more complete copy from another file (the
            // report now points there): the reports this file was a source of are still its
            // reports. Rare, so the scan of `sources` (no index by file) costs nothing usual.
            ids = self
                .tx
                .query_map(
                    "SELECT DISTINCT report_id FROM sources WHERE file_hash = ?1",
                    params![hash],
                    |r| r.get(0),
                )?
                .into_iter()
                .collect::<_>();
        }
        for id in &ids {
            self.add_source(*id, path, hash)?;
        }
        Ok(ids.len())
    }

    fn add_source(&self, report_id: i64, path: &str, hash: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO sources (report_id, path, file_hash, first_seen)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![report_id, path, hash, self.now],
        )?;
        Ok(())
    }

    /// Insert one parsed report (or, when its identity is stored already, record the path as a
    /// further source of the stored one). The file must have been stored with
    /// [`WriteTx::put_file`] first.
    pub fn insert_report(
        &self,
        report: &CrashReport,
        file_hash: &str,
        file_index: usize,
        path: &str,
        bucket: Option<&crate::store::BucketFields>,
    ) -> Result<InsertOutcome, StoreError> {
        let identity = report_identity(report, file_hash, file_index);
        let existing: Option<i64> = self
            .tx
            .query_row(
                "SELECT id FROM reports WHERE identity = ?1",
                params![&identity],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            self.add_source(id, path, file_hash)?;
            if self.more_complete_than_stored(id, report, file_hash)? {
                self.write_report(Some(id), &identity, report, file_hash, file_index, bucket)?;
                return Ok(InsertOutcome::Replaced(id));
            }
            return Ok(InsertOutcome::Duplicate(id));
        }
        let id = self.write_report(None, &identity, report, file_hash, file_index, bucket)?;
        self.add_source(id, path, file_hash)?;
        Ok(InsertOutcome::New(id))
    }

    /// Is this copy of stored report `id` more complete than the stored one?
    fn more_complete_than_stored(
        &self,
        id: i64,
        report: &CrashReport,
        file_hash: &str,
    ) -> Result<bool, StoreError> {
        type Stored = (
            String,
            i64,
            i64,
            i64,
            Option<String>,
            i64,
            Option<String>,
            Option<i64>,
        );
        let (stored_sha, threads, frames, images, warnings, bytes, process, pid): Stored =
            self.tx.query_row(
                "SELECT r.file_hash, r.thread_count, r.frame_count,
                    coalesce(l.image_count, 0), r.warnings, coalesce(f.size, 0), r.process, r.pid
                 FROM reports r LEFT JOIN image_lists l ON l.id = r.image_list_id
                    LEFT JOIN files f ON f.hash = r.file_hash
                 WHERE r.id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )?;
        if stored_sha == file_hash {
            return Ok(false); // the same bytes (a second report of a multi-report file...)
        }
        // Only a copy of the same crash may replace it: another report that merely carries the
        // same incident id (edited, or made up to evict it) differs in its process or pid, which
        // a copy cut after its first lines still holds. Unknown on either side proves nothing.
        let differs =
            |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(a), Some(b)) if a != b);
        if differs(process.as_deref(), report.process.name.as_deref())
            || matches!((pid, report.process.pid), (Some(a), Some(b)) if a != b)
        {
            return Ok(false);
        }
        let warnings = warnings
            .and_then(|w| serde_json::from_str::<Vec<String>>(&w).ok())
            .map(|w| w.len())
            .unwrap_or(0);
        let stored = Completeness {
            parts: threads + frames + images,
            fewer_warnings: std::cmp::Reverse(warnings as i64),
            bytes,
        };
        let size: i64 = self
            .tx
            .query_row(
                "SELECT size FROM files WHERE hash = ?1",
                params![file_hash],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        Ok(Completeness::of(report, size.max(0) as u64) > stored)
    }

    /// Write a report's row and frames: a new row (`id` `None`; returns its id), or over the
    /// stored row `id` (a more complete copy: its frames are replaced, its sources kept).
    fn write_report(
        &self,
        id: Option<i64>,
        identity: &str,
        report: &CrashReport,
        file_hash: &str,
        file_index: usize,
        bucket: Option<&crate::store::BucketFields>,
    ) -> Result<i64, StoreError> {
        let crashed = report.crashed();
        let top = crashed
            .and_then(|t| t.frames.first())
            .map(|f| frame_label(report, f));
        let asi = json_array(&report.asi);
        let warnings = json_array(&report.warnings);
        let term = report.termination.as_ref();
        let (image_list_id, image_ids) = self.image_list(&report.images)?;
        // Each stack stored once (`stacks`); the row points at it. A replacement points at
        // the new copy's stacks and leaves the old ones, which other reports may share.
        let crashed_stack =
            self.stack_of(crashed.map(|t| &t.frames[..]).unwrap_or(&[]), &image_ids)?;
        let exception_stack = self.stack_of(&report.last_exception_backtrace, &image_ids)?;
        const COLUMNS: &str =
            "identity, incident_id, kind, format, bug_type, file_hash, file_index,
                    process, process_path, pid, parent_process, parent_pid, bundle_id,
                    bundle_version, captured_at, captured_at_raw, os_version, os_train, os_build,
                    hardware_model, cpu_type, translated, exception_type, signal,
                    exception_codes, exception_subtype, exception_message, fault_address,
                    fault_address_stripped, pointer_auth_failure, termination_namespace,
                    termination_code, termination_indicator, asi, crashed_thread,
                    crashed_thread_name, crashed_thread_queue, thread_count, frame_count,
                    top_frame, warnings, ingested_at, image_list_id, signature,
                    signature_version, pattern, pattern_title, crashed_stack, exception_stack";
        const VALUES: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                    ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30,
                    ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45,
                    ?46, ?47, ?48, ?49";
        // ?50 is the row's id in the UPDATE and, in the INSERT, the host that ingested it: a
        // new report gets its host in its own INSERT (a kill -9 cannot separate them), and a
        // replacement keeps the host of the report it replaces.
        // Built once: the statement cache finds a prepared statement by its text.
        static INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("INSERT INTO reports ({COLUMNS}, host_id) VALUES ({VALUES}, ?50)")
        });
        static UPDATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("UPDATE reports SET ({COLUMNS}) = ({VALUES}) WHERE id = ?50")
        });
        let sql: &str = match id {
            None => &INSERT,
            Some(_) => &UPDATE,
        };
        let last = match id {
            Some(id) => Some(id),
            None => self.ingest_host,
        };
        // One `match`: the parameters borrow temporaries that live to its end.
        let replacing = id.is_some();
        let id = match (
            id,
            params![
                identity,
                report.incident_id,
                report.kind.as_str(),
                report.format.as_str(),
                report.bug_type,
                file_hash,
                file_index as i64,
                report.process.name,
                report.process.path,
                report.process.pid,
                report.process.parent_name,
                report.process.parent_pid,
                report.process.bundle_id,
                report.process.bundle_version,
                report.captured_at.map(rfc3339),
                report.captured_at_raw,
                report.os.version,
                report.os.train,
                report.os.build,
                report.hardware_model,
                report.cpu_type,
                report.translated,
                report.exception.exc_type,
                report.exception.signal,
                report.exception.codes,
                report.exception.subtype,
                report.exception.message,
                report.exception.fault_address.map(|a| a as i64),
                report.exception.fault_address_stripped.map(|a| a as i64),
                report.exception.pointer_auth_failure,
                term.and_then(|t| t.namespace.clone()),
                term.and_then(|t| t.code),
                term.and_then(|t| t.indicator.clone()),
                asi,
                // The thread number as the report writes it (`Thread 4 Crashed:`), not its position
                // in `threads`: an excerpt may hold thread 4 alone.
                crashed.map(|t| t.index as i64),
                crashed.and_then(|t| t.name.clone()),
                crashed.and_then(|t| t.queue.clone()),
                report.threads.len() as i64,
                crashed.map(|t| t.frames.len()).unwrap_or(0) as i64,
                top,
                warnings,
                self.now,
                image_list_id,
                bucket.map(|b| &b.signature),
                bucket.map(|b| b.signature_version),
                bucket.and_then(|b| b.pattern.as_ref()),
                bucket.and_then(|b| b.pattern_title.as_ref()),
                crashed_stack,
                exception_stack,
                last,
            ],
        ) {
            (Some(id), values) => {
                self.tx.execute(sql, values)?;
                id
            }
            // The new row's id comes from the database.
            (None, values) => self.tx.insert_returning_id(sql, values)?,
        };
        // A replaced row may have linked a fix its new image list does not load: relink.
        if replacing || self.may_load_a_fix(&report.images)? {
            self.link_fix(id)?;
        }
        Ok(id)
    }

    /// The id of the `stacks` row of a report's stack (`None` for no frames), inserting it
    /// when new. A stack met before (the same frames, compared whole) reuses its hash instead
    /// of encoding and hashing the frames again.
    fn stack_of(&self, stack: &[Frame], image_ids: &[i64]) -> Result<Option<i64>, StoreError> {
        if stack.is_empty() {
            return Ok(None);
        }
        let stored: Vec<frames::StoredFrame<'_>> = stack
            .iter()
            .map(|f| frames::StoredFrame::of(f, image_ids))
            .collect();
        let key = frames::summary(&stored);
        let known = |cache: &IdCache| {
            cache
                .stack_keys
                .get(&key)
                .filter(|(seen, _)| *seen == stored)
                .and_then(|(_, hash)| cache.stacks.get(hash).copied())
        };
        let found = known(self.committed).or_else(|| known(&self.fresh.borrow()));
        if let Some(id) = found {
            return Ok(Some(id));
        }
        let text = frames::encode_stored(&stored)?;
        let hash = super::content_key(text.as_bytes());
        let id = self.stack_id_keyed(&text, &hash)?;
        let owned = stored
            .into_iter()
            .map(frames::StoredFrame::into_owned)
            .collect();
        self.fresh
            .borrow_mut()
            .stack_keys
            .insert(key, (owned, hash));
        Ok(Some(id))
    }

    /// The id of the `stacks` row holding this stack text, inserting it when new. Content
    /// addressed: the key is the BLAKE3 hash of the text, so equal stacks share a row.
    fn stack_id(&self, frames: &str) -> Result<i64, StoreError> {
        self.stack_id_keyed(frames, &super::content_key(frames.as_bytes()))
    }

    /// [`WriteTx::stack_id`] with the text's hash computed already.
    fn stack_id_keyed(&self, frames: &str, hash: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.committed.stacks.get(hash) {
            return Ok(*id);
        }
        if let Some(id) = self.fresh.borrow().stacks.get(hash) {
            return Ok(*id);
        }
        // Insert first (a stack met for the first time is usually new), then read the row
        // another writer stored: on PostgreSQL a second machine inserting the same new stack
        // at once waits for the first one's commit at the unique key, inserts nothing, and
        // finds the committed row.
        let inserted = self
            .tx
            .insert_returning_id(
                "INSERT INTO stacks (hash, frames) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING",
                params![hash, frames],
            )
            .optional()?;
        let id = match inserted {
            Some(id) => id,
            None => self.tx.query_row(
                "SELECT id FROM stacks WHERE hash = ?1",
                params![hash],
                |r| r.get(0),
            )?,
        };
        self.fresh.borrow_mut().stacks.insert(hash.to_string(), id);
        Ok(id)
    }

    /// The id of an image's row, inserting it when new.
    fn image_id(&self, img: &Image) -> Result<i64, StoreError> {
        let key = image_key(img);
        if let Some(id) = self.committed.images.get(key.as_ref()) {
            return Ok(*id);
        }
        if let Some(id) = self.fresh.borrow().images.get(key.as_ref()) {
            return Ok(*id);
        }
        // PostgreSQL's unique key is md5(key) (migrations/postgres/0009: a key can be too long
        // for a B-tree), which the conflict target names.
        let sql = if self.tx.is_postgres() {
            "INSERT INTO images (key, uuid, name, path, arch, bundle_id, bundle_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT ((md5(key))) DO UPDATE SET key = excluded.key
                 RETURNING id"
        } else {
            "INSERT INTO images (key, uuid, name, path, arch, bundle_id, bundle_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (key) DO UPDATE SET key = excluded.key
                 RETURNING id"
        };
        let id = self.tx.query_row(
            sql,
            params![
                key,
                img.uuid,
                img.name,
                img.path,
                img.arch,
                img.bundle_id,
                img.bundle_version
            ],
            |r| r.get(0),
        )?;
        self.fresh.borrow_mut().images.insert(key.into_owned(), id);
        Ok(id)
    }

    /// The id of the stored list holding these images in this order (inserting it and its
    /// images when new; `None` for a report that lists none), and the images' row ids.
    fn image_list(&self, images: &[Image]) -> Result<(Option<i64>, Vec<i64>), StoreError> {
        if images.is_empty() {
            return Ok((None, Vec::new()));
        }
        let ids = images
            .iter()
            .map(|img| self.image_id(img))
            .collect::<Result<Vec<i64>, _>>()?;
        let key = image_list_key(&ids);
        if let Some(id) = self.committed.lists.get(&key) {
            return Ok((Some(*id), ids));
        }
        if let Some(id) = self.fresh.borrow().lists.get(&key) {
            return Ok((Some(*id), ids));
        }
        let stored: Option<i64> = self
            .tx
            .query_row(
                "SELECT id FROM image_lists WHERE key = ?1",
                params![&key],
                |r| r.get(0),
            )
            .optional()?;
        let list_id = match stored {
            Some(id) => id,
            None => {
                let list_id: i64 = self.tx.insert_returning_id(
                    "INSERT INTO image_lists (key, image_count) VALUES (?1, ?2)",
                    params![key, ids.len() as i64],
                )?;
                for (i, image_id) in ids.iter().enumerate() {
                    self.tx.execute(
                        "INSERT INTO image_list_members (list_id, image_index, image_id)
                         VALUES (?1, ?2, ?3)",
                        params![list_id, i as i64, image_id],
                    )?;
                }
                list_id
            }
        };
        self.fresh.borrow_mut().lists.insert(key, list_id);
        Ok((Some(list_id), ids))
    }

    /// Could this image list link to a fix (registered UUID, or a `libagx_fix*` image)?
    fn may_load_a_fix(&self, images: &[Image]) -> Result<bool, StoreError> {
        if self.fix_uuids.get().is_none() {
            let uuids: HashSet<String> = self
                .tx
                .query_map("SELECT uuid FROM fix_slices", params![], |r| r.get(0))?
                .into_iter()
                .collect::<_>();
            let _ = self.fix_uuids.set(uuids);
        }
        let known = self.fix_uuids.get();
        Ok(images.iter().any(|i| {
            i.name.as_deref().is_some_and(|n| {
                n.get(..10)
                    .is_some_and(|p| p.eq_ignore_ascii_case("libagx_fix"))
            }) || i
                .uuid
                .as_ref()
                .is_some_and(|u| known.is_some_and(|k| k.contains(u)))
        }))
    }

    /// Make everything in this transaction durable.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.tx.commit()?;
        self.done = true;
        if let Some(c) = self.checkpointer {
            c.committed();
        }
        let fresh = std::mem::take(&mut *self.fresh.borrow_mut());
        self.committed.absorb(fresh);
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    /// Not committed: roll everything back (the connection may be gone after an error; the
    /// server or SQLite then drops the transaction itself).
    fn drop(&mut self) {
        if !self.done {
            let _ = self.tx.rollback();
        }
    }
}

impl WriteTx<'_> {
    /// Set a stored frame's symbol (after symbolication). See [`WriteTx::set_frame_symbols`].
    pub fn set_frame_symbol(
        &self,
        report_id: i64,
        stack: &str,
        idx: usize,
        frame: &Frame,
    ) -> Result<(), StoreError> {
        self.set_frame_symbols(report_id, stack, &[(idx, frame)])
    }

    /// Set the symbols of some of a report's stored frames (after symbolication): `changes`
    /// are (index in the stack, frame whose symbol, offset, source, file and line to store).
    ///
    /// Copy on write: the stack may be shared with other reports (`stacks` holds each
    /// distinct stack once), which must keep their frames. So the report's stack is read,
    /// changed, and stored as a stack of its own (or found, when another report already has
    /// exactly that one), and only this report is pointed at it. The old stack stays, even when
    /// no report uses it any more (docs/DATA_MODEL.md). One call per stack, not per frame: each
    /// call stores one new stack.
    pub fn set_frame_symbols(
        &self,
        report_id: i64,
        stack: &str,
        changes: &[(usize, &Frame)],
    ) -> Result<(), StoreError> {
        let column = match stack {
            "crashed" => "crashed_stack",
            "exception" => "exception_stack",
            _ => return Err(StoreError::Corrupt(format!("no stack named `{stack}`"))),
        };
        let text: Option<String> = self
            .tx
            .query_row(
                &format!(
                    "SELECT s.frames FROM reports r JOIN stacks s ON s.id = r.{column}
                     WHERE r.id = ?1"
                ),
                params![report_id],
                |r| r.get(0),
            )
            .optional()?;
        let mut stored = frames::decode(report_id, text.as_deref())?;
        // Like the UPDATE of a frame row before migration 8: a frame not stored changes nothing.
        let mut changed = false;
        for (idx, frame) in changes {
            if let Some(target) = stored.get_mut(*idx) {
                target.set_symbol_of(frame);
                changed = true;
            }
        }
        if !changed {
            return Ok(());
        }
        let text = serde_json::to_string(&stored)
            .map_err(|e| StoreError::Corrupt(format!("frames do not encode: {e}")))?;
        let stack_id = self.stack_id(&text)?;
        self.tx.execute(
            &format!("UPDATE reports SET {column} = ?2 WHERE id = ?1"),
            params![report_id, stack_id],
        )?;
        Ok(())
    }

    /// Set a report's top frame label (after symbolication named it).
    pub fn set_top_frame(&self, report_id: i64, label: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE reports SET top_frame = ?2 WHERE id = ?1",
            params![report_id, label],
        )?;
        Ok(())
    }
}
