//! Symbolication on a PostgreSQL database: `symbols add` into the machine-local symbol folder,
//! `symbolicate --all` writing names into the server's rows, and `ingest` naming frames at
//! once when the symbols are there; the same outputs as on SQLite. Needs PostgreSQL
//! (`tests/common/pg.rs`) and the symbol fixtures' tools (`tests/fixtures/symbols/`); skips
//! with a message without them.
// Integration test crate: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "fixtures/symbols/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use agx_synth::{Frame, Image};
use common::*;

/// The report: the fixture executable as image 3, with two frames inside its functions.
fn report(exe: &support::SliceFacts) -> String {
    let mut r = synth_report("00000000-0000-4000-8000-0000000051a7", 3132, 0);
    r.images.push(
        Image::new("agx_arm64", "/opt/agx/agx_arm64")
            .arch("arm64")
            .base(0x1_0400_0000)
            .size(0x10000)
            .uuid(&exe.uuid),
    );
    r.threads[0].frames = vec![
        Frame::new(3, exe.offset_of("_agx_encode_dispatch") + 4),
        Frame::new(3, exe.offset_of("__ZN3AGX12clampThreadsIiEET_S1_") + 4),
    ];
    r.build_ips()
}

/// Run with `home` as the home and data folder: a PostgreSQL database's symbol store lives in
/// the platform data folder.
fn run_in(home: &Path, db: &Path, args: &[&str]) -> Output {
    bin()
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(o), stderr(o));
    json(o)
}

/// Ingest first, then add symbols and symbolicate; a second report ingested after the symbols.
fn flow(home: &Path, db: &Path, exe: &Path, ips: &Path, later: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    out.push(
        ok_json(&run_in(
            home,
            db,
            &["ingest", "--json", ips.to_str().unwrap()],
        ))["new"]
            .clone(),
    );
    let mut added = ok_json(&run_in(
        home,
        db,
        &["symbols", "add", "--json", exe.to_str().unwrap()],
    ))["added"]
        .clone();
    for a in added.as_array_mut().unwrap() {
        a.as_object_mut().unwrap().remove("added_at");
    }
    out.push(added);
    out.push(ok_json(&run_in(
        home,
        db,
        &["symbolicate", "--all", "--json"],
    )));
    out.push(
        ok_json(&run_in(
            home,
            db,
            &["ingest", "--json", later.to_str().unwrap()],
        ))["new"]
            .clone(),
    );
    let mut rows = ok_json(&run_in(home, db, &["reports", "--json"]));
    for r in rows.as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("id");
    }
    out.push(rows);
    let mut shown = ok_json(&run_in(home, db, &["show", "--json", "1"]));
    shown.as_object_mut().unwrap().remove("id");
    out.push(shown);
    out
}

#[test]
fn symbolication_on_postgres_matches_sqlite() {
    let fixtures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pg-symbols-fixtures");
    let Some(dir) = support::build_fixtures(&fixtures, false) else {
        return;
    };
    let Some(url) = pg::fresh_db() else { return };
    let exe: PathBuf = dir.join("agx_arm64");
    let slice = support::slices(&exe).remove(0);
    let t = tempfile::tempdir().unwrap();
    let ips = t.path().join("a.ips");
    std::fs::write(&ips, report(&slice)).unwrap();
    let later = t.path().join("later");
    std::fs::create_dir(&later).unwrap();
    std::fs::write(
        later.join("b.ips"),
        report(&slice)
            .replace("0000000051A7", "0000000051B8")
            .replace("0000000051a7", "0000000051b8"),
    )
    .unwrap();

    let home_lite = t.path().join("home-lite");
    let home_pg = t.path().join("home-pg");
    let lite = flow(&home_lite, &t.path().join("s.db"), &exe, &ips, &later);
    let server = flow(&home_pg, Path::new(&url), &exe, &ips, &later);
    assert_eq!(lite[2]["changed_reports"], 1, "{}", lite[2]);
    assert_eq!(lite[1].as_array().unwrap().len(), 1, "{}", lite[1]);
    assert_eq!(lite, server);
    // Symbols stay on this machine: in its data folder, never named after the password.
    let data = home_pg.join("data/agx-triage");
    let names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("postgres-") && n.ends_with(".symbols")),
        "{names:?}"
    );
}
