//! WAL checkpoints off the writer's thread, for a run of many write transactions (ingest).
//!
//! A SQLite checkpoint copies the WAL's pages into the database file and fsyncs both: ~20-60 ms
//! on this project's machines, and SQLite runs it inside the COMMIT that crosses
//! `wal_autocheckpoint`, in the writer's thread. During an ingest the workers then fill their
//! channel and stop: both cores idle through every fsync (8,000 reports: 0.21 s of fsync in the
//! writer, a fifth of the run; docs/BENCHMARKS.md). Here the writer's connection stops
//! checkpointing and a thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)`
//! after commits instead. A passive checkpoint never blocks the writer (SQLite appends to the
//! WAL while it copies), so the fsyncs overlap the parsing.
//!
//! Durability is unchanged: a commit is in the WAL either way, and a checkpoint only moves
//! committed pages; the database file's own copy is the same whichever thread writes it.
//! When the run ends the writer's connection checkpoints again as before, and its close
//! checkpoints what is left and removes the WAL.

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

/// The writer connection's `wal_autocheckpoint` outside such a run (see `Store::open_with`).
pub(super) const AUTOCHECKPOINT_PAGES: i64 = 8192;

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
        assert_eq!(
            autocheckpoint(&store),
            0,
            "the writer no longer checkpoints"
        );
        // Pages go to the WAL; only a checkpoint moves them into the main file.
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
