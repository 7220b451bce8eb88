//! Wrong input to the commands that take files or selections: one clear error, exit 2, and
//! nothing half-done.

mod common;

use common::*;

fn fatal(o: &std::process::Output, needle: &str) {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    assert!(
        stderr(o).contains(needle),
        "expected {needle:?} in: {}",
        stderr(o)
    );
}

#[test]
fn selections_with_no_rounds_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    create_db(&db);
    fatal(&run(&db, &["report", "--rounds", "1-10"]), "no rounds");
    fatal(
        &run(&db, &["compare", "--a", "rounds:1-2", "--b", "native"]),
        "no rounds match",
    );
    fatal(
        &run(&db, &["compare", "--a", "v2.3", "--b", "native"]),
        "rounds:A-B",
    );
    fatal(&run(&db, &["report", "--rounds", "9-1"]), "backwards");
}

#[test]
fn files_that_are_not_what_they_should_be() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    create_db(&db);
    let text = t.path().join("notes.txt");
    std::fs::write(&text, "not a Mach-O file").unwrap();
    let o = run(&db, &["fix", "inspect", text.to_str().unwrap()]);
    fatal(&o, "notes.txt");
    let o = run(&db, &["fix", "add", text.to_str().unwrap(), "--name", "v1"]);
    fatal(&o, "notes.txt");
    assert_eq!(
        json(&run(&db, &["fix", "list", "--json"])),
        serde_json::json!([])
    );
    let missing = t.path().join("nowhere.dylib");
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--round",
            "1",
            "--dylib",
            missing.to_str().unwrap(),
            "--",
            "true",
        ],
    );
    fatal(&o, "no such file");
    assert_eq!(
        json(&run(&db, &["rounds", "--json"])),
        serde_json::json!([])
    );
    let o = run(
        &db,
        &["round", "run", "--round", "1", "--fix", "v9", "--", "true"],
    );
    fatal(&o, "no fix registered as v9");
    let o = run(
        &db,
        &[
            "round",
            "import",
            t.path().join("absent.jsonl").to_str().unwrap(),
        ],
    );
    fatal(&o, "absent.jsonl");
    let o = run(&db, &["show", "12345"]);
    fatal(&o, "no report with id 12345");
}
