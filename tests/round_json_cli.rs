//! The `--json` of `round run --until-decided` through the real binary: a `Serialize` struct
//! now (it was `json!()`), with the same keys, snapshotted. (`rounds --json` and `round import
//! --json` are snapshotted in tests/json_output.rs.)

// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn until_decided_json_snapshot() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    // Rounds 1-30: 15 raw passes, 15 failures.
    for i in 1..=30 {
        let exit = if i <= 15 { "exit=0" } else { "exit=1" };
        let o = run(
            &db,
            &[
                "round",
                "record",
                "--round",
                &i.to_string(),
                "--attempt",
                exit,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let none = t.path().join("no-reports");
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--until-decided",
            "--round",
            "100",
            "--max-rounds",
            "25",
            "--against",
            "rounds:1-30",
            "--crash-wait",
            "0",
            "--reports-dir",
            none.to_str().unwrap(),
            "--json",
            "--",
            "sh",
            "-c",
            "exit 0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    // The reference Fisher p, now computed in ops::rounds::fixed_test_p:
    // python3 -c "from scipy.stats import fisher_exact; print(fisher_exact([[15,15],[16,0]]).pvalue)"
    // -> 0.000551959315529928
    let p = v["fisher_p_fixed_test"].as_f64().unwrap();
    assert!((p - 0.000_551_959_315_529_928).abs() < 1e-15, "{p}");
    insta::assert_json_snapshot!(v);
}
