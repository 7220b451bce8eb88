//! WAL checkpoints off the writer's thread, for a run of many write transactions (ingest).
//!
//! A SQLite checkpoint copies the WAL's pages into the database file and fsyncs both: ~20-60 ms
//! on this project's machines, and SQLite runs it inside the COMMIT that crosses
//! `wal_autocheckpoint`, in the writer's thread. During an ingest the workers then fill their
//! channel and stop: both cores idle through every fsync (8,000 reports: 0.21 s of fsync in the
//! writer, a fifth of the run; docs/BENCHMARKS.md). Here a thread with its own connection runs
//! `PRAGMA wal_checkpoint(PASSIVE)` after commits. A passive checkpoint never blocks the writer
//! (SQLite appends to the WAL while it copies), so its fsyncs overlap the parsing.
//!
//! The writer still bounds the WAL ([`writer_hook`]). The WAL restarts from its first byte only
//! when a checkpoint has copied every frame before the writer's next `BEGIN`, which passive
//! checkpoints beside a busy writer seldom manage, and a writer filling the page cache outruns
//! checkpoints that wait for the disk: with the thread alone the WAL grew with everything an
//! ingest wrote (a 303 MB database: a 330 MB WAL, and "database or disk is full" on a disk that
//! the old code fitted). So the writer's commits still checkpoint past
//! [`AUTOCHECKPOINT_PAGES`] frames, passively as `wal_autocheckpoint` does, and past twice that
//! with a `RESTART` checkpoint: it waits for the thread's checkpoint (and for readers) to
//! finish, copies what is left and syncs, and the writer's next transaction starts the WAL
//! again from the first byte. That is the old pause, with most pages copied already, and it
//! holds the writer back when the disk falls behind.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// The least time between two checkpoints. Each copies every page written since the one
/// before (a page written by several commits once) and costs two fsyncs, so checkpointing after
/// every commit would copy hot index pages over and over; every 200 ms, an ingest of 8,000
/// reports makes about as many checkpoints as `wal_autocheckpoint = 8192` made in the writer.
const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// The writer connection's `wal_autocheckpoint` (see `Store::open_with`), during bulk writes
/// too.
pub(super) const AUTOCHECKPOINT_PAGES: i64 = 8192;

/// `journal_size_limit` of the writer connection, bytes: twice the WAL the backstop allows.
pub(super) const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The writer connection's WAL hook during bulk writes, in place of `wal_autocheckpoint`'s:
/// past the limit a passive checkpoint as before, past twice the limit a `RESTART` one. Its outcome is not the commit's: the commit happened either way, and a
/// checkpoint that failed (busy, I/O) leaves the pages safe in the WAL for the next.
pub(super) fn writer_hook(
    wal: &rusqlite::hooks::Wal,
    frames: std::ffi::c_int,
) -> rusqlite::Result<()> {
    use rusqlite::hooks::CheckpointMode;
    let frames = i64::from(frames);
    if frames < AUTOCHECKPOINT_PAGES {
        return Ok(());
    }
    // What `wal_autocheckpoint` does: a passive checkpoint, which never waits. One running in
    // the thread makes it busy at once (SQLite waits for no other checkpointer); the next
    // commit tries again.
    if frames < 2 * AUTOCHECKPOINT_PAGES {
        let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
        return Ok(());
    }
    // Past twice the limit the thread has fallen behind the writer (or a reader kept the WAL
    // from restarting): the writer waits for them rather than let the WAL grow, as long as the
    // busy timeout for readers, and 10 s for the thread.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done = wal.checkpoint_v2(CheckpointMode::RESTART);
        let busy = matches!(
            &done,
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy
        );
        if !busy || Instant::now() >= deadline {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A running checkpoint thread. Dropping it stops the thread after its current checkpoint.
pub(super) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Start checkpointing the SQLite database at `path` from a new thread with its own
    /// connection.
    pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let wrap = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(wrap)?;
        // This connection writes nothing: its own close must not checkpoint in the middle of
        // the run either (the writer's close does that).
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(wrap)?;
        // One pending nudge is enough: a checkpoint copies everything committed before it.
        let (nudge, rx) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            nudge: Some(nudge),
            thread: Some(thread),
        })
    }

    /// A transaction was committed: checkpoint soon.
    pub(super) fn committed(&self) {
        if let Some(n) = &self.nudge {
            // Full: a nudge is pending already, which covers this commit too.
            let _ = n.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudge = None; // ends the thread's loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: Connection, rx: Receiver<()>) {
    let mut last: Option<Instant> = None;
    while rx.recv().is_ok() {
        if let Some(wait) = last.and_then(|t| MIN_INTERVAL.checked_sub(t.elapsed())) {
            // Wait out the interval, but stop at once when the run ends: the writer's own
            // checkpoint then does the rest.
            match rx.recv_timeout(wait) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        // An error (busy, I/O) leaves the pages in the WAL, where they are as safe; the
        // writer's checkpoint at the end copies them.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        last = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    fn autocheckpoint(store: &Store) -> i64 {
        store
            .sqlite_conn()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn bulk_writes_are_checkpointed_by_the_thread_and_the_writer_takes_over_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut store = Store::open(&path).unwrap();
        let main_file = || std::fs::metadata(&path).unwrap().len();
        let before = main_file();
        store.begin_bulk_writes();
        // Pages go to the WAL; only a checkpoint moves them into the main file, and these
        // commits are far below the writer's own checkpoint limit.
        let blob = vec![7u8; 64 * 1024];
        for i in 0..20 {
            let tx = store.begin_write().unwrap();
            tx.put_file(&format!("{i:064x}"), blob.len() as u64, &blob)
                .unwrap();
            tx.commit().unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while main_file() < before + 20 * 64 * 1024 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            main_file() >= before + 20 * 64 * 1024,
            "the checkpoint thread copied the commits into the database file ({} bytes)",
            main_file()
        );
        store.end_bulk_writes().unwrap();
        assert_eq!(autocheckpoint(&store), super::AUTOCHECKPOINT_PAGES);
        drop(store);
        // The last close removed the WAL, as without the thread.
        assert!(!dir.path().join("t.db-wal").exists());
        assert_eq!(Store::open(&path).unwrap().file_hashes().unwrap().len(), 20);
    }

    // Regression: with the writer's own checkpoints off during bulk writes, the WAL only
    // restarted when the thread happened to have copied everything before the next BEGIN, and
    // grew with everything an ingest wrote (a 303 MB database made a 330 MB WAL).
    #[test]
    fn the_wal_stays_bounded_however_much_bulk_writes_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut store = Store::open(&path).unwrap();
        store.begin_bulk_writes();
        // 200 MB in 800 back-to-back commits: six times the WAL the limit allows.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let blob: Vec<u8> = (0..256 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let wal = dir.path().join("t.db-wal");
        let mut largest = 0;
        for i in 0..800 {
            let tx = store.begin_write().unwrap();
            tx.put_file(&format!("{i:064x}"), blob.len() as u64, &blob)
                .unwrap();
            tx.commit().unwrap();
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        store.end_bulk_writes().unwrap();
        // Twice the limit (past it the writer waits for the thread) and one commit.
        let limit = 2 * (super::AUTOCHECKPOINT_PAGES as u64) * 4120 + 2 * 1024 * 1024;
        assert!(
            largest <= limit,
            "the WAL reached {largest} bytes (limit {limit})"
        );
    }

    #[test]
    fn a_store_dropped_during_bulk_writes_still_closes_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut store = Store::open(&path).unwrap();
        store.begin_bulk_writes();
        let tx = store.begin_write().unwrap();
        tx.put_file("aa", 1, b"x").unwrap();
        tx.commit().unwrap();
        drop(store);
        assert!(!dir.path().join("t.db-wal").exists());
        assert!(Store::open(&path).unwrap().has_file("aa").unwrap());
    }
}
