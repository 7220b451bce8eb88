//! The PostgreSQL backend through the library, for what the binary cannot show: a connection
//! stays usable after a failed write lock. Against the throwaway server of `tests/common/pg.rs`
//! (skipped with a message when PostgreSQL is not installed, required under CI).
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pg.rs"]
mod pg;

use std::path::Path;

use agx_triage::store::{Store, APPLICATION_ID};

// Regression: `begin_write` sent `BEGIN; SELECT pg_advisory_xact_lock(..)` as one batch; when the
// lock failed (here `lock_timeout` while another session holds it) the connection stayed in an
// aborted transaction with no guard to end it, so every later statement on it failed.
#[test]
fn a_write_lock_that_times_out_leaves_the_connection_usable() {
    let Some(url) = pg::fresh_db() else { return };
    drop(Store::open(Path::new(&url)).unwrap());
    let mut holder = pg::client(&url);
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({APPLICATION_ID})"
        ))
        .unwrap();
    let short = format!("{url}?options=-c%20lock_timeout%3D100");
    let mut store = Store::open(Path::new(&short)).unwrap();
    assert!(store.begin_write().is_err(), "the lock is held elsewhere");
    holder.batch_execute("COMMIT").unwrap();
    let tx = store
        .begin_write()
        .expect("the connection is usable after a failed lock");
    tx.commit().unwrap();
}
