//! `round run --until-decided` and `plan` through the real binary, with stand-in commands
//! (`sh -c 'exit 0'`, `sh -c 'exit 1'`, and one that passes every other call by a counter
//! file).

mod common;

use std::path::Path;

use agx_triage::stats::power::{fisher_power, fixed_rounds_per_side};
use agx_triage::stats::sequential::{expected_rounds, Design, Plan};
use common::*;

/// Rounds 1-30: 15 raw passes, 15 failures.
fn block_15_of_30(db: &Path) {
    for i in 1..=30 {
        let exit = if i <= 15 { "exit=0" } else { "exit=1" };
        let o = run(
            db,
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
}

/// `round run --until-decided --round FIRST --max-rounds MAX --against rounds:1-30 --json`.
fn until_decided(
    db: &Path,
    dir: &Path,
    first: i64,
    max: u64,
    script: &str,
) -> std::process::Output {
    let none = dir.join("no-reports");
    run(
        db,
        &[
            "round",
            "run",
            "--until-decided",
            "--round",
            &first.to_string(),
            "--max-rounds",
            &max.to_string(),
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
            script,
        ],
    )
}

/// A script that counts its calls in `file` and passes on even calls; on call `kill_at` it
/// interrupts agx-triage (its parent) as Ctrl-C would.
fn counter_script(file: &Path, kill_at: Option<u32>) -> String {
    let f = file.display();
    let kill = match kill_at {
        Some(k) => format!("if [ $n -eq {k} ]; then kill -INT $PPID; sleep 10; fi; "),
        None => String::new(),
    };
    format!(
        "n=$(cat '{f}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{f}'; {kill}\
         [ $((n % 2)) -eq 0 ]"
    )
}

#[test]
fn always_passing_against_15_of_30_is_better_within_25() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    block_15_of_30(&db);
    let o = until_decided(&db, t.path(), 100, 25, "exit 0");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["decision"], "better");
    let n = v["rounds_run"].as_u64().unwrap();
    assert!(n <= 25, "{v}");
    // The rule's own figure (stats::sequential, checked in Python there): the 16th round.
    assert_eq!(n, 16);
    assert_eq!(v["alpha"], 0.05);
    assert_eq!(v["other"]["passes"], 15);
    assert_eq!(v["other"]["rounds"], 30);
    assert_eq!(v["candidate"]["passes"], 16);
    // Every round is stored, as `round run` stores it, with its arm.
    let rounds = json(&run(
        &db,
        &["rounds", "--json", "--select", "rounds:100-199"],
    ));
    let rounds = rounds.as_array().unwrap();
    assert_eq!(rounds.len(), 16);
    assert!(rounds
        .iter()
        .all(|r| r["config"]["sequential_arm"] == "candidate" && r["outcome"] == "raw-pass"));
}

#[test]
fn always_failing_against_15_of_30_is_worse_within_25() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    block_15_of_30(&db);
    let o = until_decided(&db, t.path(), 100, 25, "exit 1");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["decision"], "worse");
    assert!(v["rounds_run"].as_u64().unwrap() <= 25, "{v}");
}

#[test]
fn half_passing_with_a_budget_of_12_is_undecided() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    block_15_of_30(&db);
    let script = counter_script(&t.path().join("count"), None);
    let o = until_decided(&db, t.path(), 100, 12, &script);
    // Undecided: the question is not answered, exit 1.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["decision"], "undecided");
    assert_eq!(v["rounds_run"], 12);
    assert_eq!(v["candidate"]["passes"], 6);
}

#[test]
fn an_interrupted_run_continues_from_the_stored_rounds() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    block_15_of_30(&db);
    // Always passes, but the 5th call interrupts: rounds 100-103 are stored, 104 is not.
    let script = format!(
        "{}; exit 0",
        counter_script(&t.path().join("count"), Some(5))
    );
    let o = until_decided(&db, t.path(), 100, 25, &script);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run the same command again"),
        "{}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["decision"], "interrupted");
    assert_eq!(v["rounds_run"], 4);
    let o = until_decided(&db, t.path(), 100, 25, "exit 0");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["decision"], "better");
    assert_eq!(v["rounds_resumed"], 4);
    assert_eq!(
        v["rounds_run"], 12,
        "16 in all, as without the interruption"
    );
    assert_eq!(v["first_round"], 100);
    assert_eq!(v["last_round"], 115);
}

#[test]
fn interleaved_pairs_record_their_arms() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let none = t.path().join("no-reports");
    let o = run(
        &db,
        &[
            "round",
            "run",
            "--until-decided",
            "--round",
            "1",
            "--max-rounds",
            "6",
            "--alternate-with",
            "native",
            "--seed",
            "7",
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
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["decision"], "undecided");
    assert_eq!(v["rounds_run"], 6);
    assert_eq!(v["rounds_run_all_arms"], 12);
    assert_eq!(v["seed"], 7);
    let rounds = json(&run(&db, &["rounds", "--json"]));
    let arms: Vec<&str> = rounds
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["config"]["sequential_arm"].as_str().unwrap())
        .collect();
    assert_eq!(arms.len(), 12);
    for pair in arms.chunks(2) {
        assert_ne!(pair[0], pair[1], "{arms:?}");
    }
}

#[test]
fn until_decided_argument_errors() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    block_15_of_30(&db);
    let base = ["round", "run", "--until-decided", "--round", "100"];
    for extra in [
        &["--", "true"][..],                                // nothing to compare with
        &["--against", "rounds:900-910", "--", "true"][..], // empty block
        &["--against", "native", "--alpha", "0", "--", "true"][..],
        &["--against", "native", "--max-rounds", "0", "--", "true"][..],
        &[
            "--against",
            "native",
            "--alternate-with",
            "native",
            "--",
            "true",
        ][..],
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let o = run(&db, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    // A stored round that is not part of a sequential run is not overwritten.
    let o = until_decided(&db, t.path(), 30, 5, "exit 0");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("round 30 is already stored"),
        "{}",
        stderr(&o)
    );
    // --metric raw without --until-decided is refused, not ignored.
    let o = run(
        &db,
        &[
            "round", "run", "--round", "500", "--metric", "raw", "--", "true",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn plan_json_matches_the_stats_functions() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let o = run(
        &db,
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--simulate",
            "500",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    // SciPy, exact enumeration with scipy's own Fisher test:
    // python3 -c "
    // from scipy.stats import fisher_exact, binom
    // def pw(p1,p2,n): return sum(binom.pmf(x,n,p1)*binom.pmf(y,n,p2) for x in range(n+1) for y in range(n+1) if fisher_exact([[x,n-x],[y,n-y]]).pvalue<=0.05)
    // print(next(n for n in range(1,200) if pw(0.5,0.9,n)>=0.8))"  -> 23
    assert_eq!(v["fixed_rounds_per_side"], 23);
    assert_eq!(
        Some(23),
        fixed_rounds_per_side(0.5, 0.9, 0.05, 0.8, 200).unwrap()
    );
    let fp = fisher_power(0.5, 0.9, 23, 0.05).unwrap();
    assert!((v["fixed_power"].as_f64().unwrap() - fp).abs() < 1e-12);
    let s = &v["sequential"];
    assert_eq!(s["max_rounds_per_side"], 30, "1.3 x 23, rounded up");
    let design = Design::targeted(0.05, 30, 0.5, 0.9).unwrap();
    let e = expected_rounds(&design, Plan::Interleaved, 0.5, 0.9).unwrap();
    let close = |key: &serde_json::Value, want: f64| (key.as_f64().unwrap() - want).abs() < 1e-9;
    assert!(close(
        &s["expected_rounds_per_side"]["under_target"],
        e.under_target
    ));
    assert!(close(
        &s["expected_rounds_per_side"]["under_no_difference"],
        e.under_no_difference
    ));
    // The independent Python DP in stats::sequential's tests gives 19.871920068354612.
    assert!(close(
        &s["expected_rounds_per_side"]["under_target"],
        19.871920068354612
    ));
    let fdr = s["false_decision_rate"].as_f64().unwrap();
    assert!(fdr <= 0.05 + 3.0 * (0.05_f64 * 0.95 / 500.0).sqrt(), "{v}");
    let power = s["power"].as_f64().unwrap();
    let se = (e.power * (1.0 - e.power) / 500.0).sqrt();
    assert!(
        (power - e.power).abs() <= 4.0 * se,
        "{power} vs exact {}",
        e.power
    );
}

#[test]
fn plan_argument_errors_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    for args in [
        &["plan", "--baseline", "0.5", "--target", "0.5"][..],
        &["plan", "--baseline", "1.5", "--target", "0.5"][..],
        &["plan", "--baseline", "-0.1", "--target", "0.5"][..],
        &["plan", "--baseline", "nan", "--target", "0.5"][..],
        &["plan", "--baseline", "0.5", "--target", "90"][..],
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--alpha",
            "0",
        ][..],
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--alpha",
            "1",
        ][..],
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--power",
            "1",
        ][..],
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--power",
            "-3",
        ][..],
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--max-rounds",
            "0",
        ][..],
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--max-rounds",
            "401",
        ][..],
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--simulate",
            "0",
        ][..],
    ] {
        let o = run(&db, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

#[test]
fn plan_human_output() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let o = run(
        &db,
        &[
            "plan",
            "--baseline",
            "0.5",
            "--target",
            "0.9",
            "--simulate",
            "200",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
}

/// A database with 20 crash reports: 7 in one bucket (6 from a Mac15,9, 1 from a Mac16,1) and
/// 13 in another (2 from a Mac15,9, 11 from a Mac16,1); everything else alike.
fn correlate_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("c.db");
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    for i in 0..20u32 {
        let id = format!("00000000-0000-4000-8000-{i:012}");
        let mut text = synth_ips(&id, 2000 + i, 0);
        let in_bucket = i < 7;
        let model = if (in_bucket && i < 6) || (!in_bucket && i < 9) {
            "Mac15,9"
        } else {
            "Mac16,1"
        };
        text = text.replace("Mac16,1", model);
        if !in_bucket {
            text = text.replace(
                "setBuffer:offset:atIndex:",
                "dispatchThreadgroups:threadsPerThreadgroup:",
            );
        }
        std::fs::write(reports.join(format!("r{i}.ips")), text).unwrap();
    }
    let o = run(&db, &["ingest", reports.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Round configuration: three bucket crashes came from a round with batch=64, two others
    // from a round with batch=8; the other fifteen from no round at all (configuration
    // unknown, so not in the totals).
    let inc = |i: u32| format!("00000000-0000-4000-8000-{i:012}");
    for (round, batch, ids) in [("1", "64", [0, 1, 2].as_slice()), ("2", "8", &[10, 11])] {
        let reports: Vec<String> = ids.iter().map(|&i| inc(i)).collect();
        let attempt = format!("signal=SIGSEGV,reports={}", reports.join("+"));
        let o = run(
            &db,
            &[
                "round",
                "record",
                "--round",
                round,
                "--set",
                &format!("batch={batch}"),
                "--attempt",
                &attempt,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    db
}

fn bucket_signature(db: &Path, size: u64) -> String {
    let b = json(&run(db, &["buckets", "--json"]));
    let rows = b.as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["count"] == size)
        .unwrap_or_else(|| panic!("no bucket of {size}: {b}"));
    row["signature"].as_str().unwrap().to_string()
}

#[test]
fn correlate_puts_the_hardware_model_first() {
    let t = tempfile::tempdir().unwrap();
    let db = correlate_db(t.path());
    let sig = bucket_signature(&db, 7);
    let o = run(&db, &["correlate", "--signature", &sig, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let rows = v.as_array().unwrap();
    assert_eq!(rows[0]["attribute"], "hardware_model", "{v:#}");
    assert_eq!(rows[1]["attribute"], "hardware_model", "{v:#}");
    let r = rows.iter().find(|r| r["value"] == "Mac15,9").unwrap();
    assert_eq!(
        (
            &r["in_bucket"],
            &r["bucket_total"],
            &r["elsewhere"],
            &r["elsewhere_total"]
        ),
        (&6.into(), &7.into(), &2.into(), &13.into())
    );
    // Independently: python3 -c "from scipy.stats import fisher_exact;
    //   print(repr(fisher_exact([[6,1],[2,11]]).pvalue))"  -> 0.004437564499484004
    // (and by exact enumeration with math.comb over tables with the same margins: the same).
    let p = r["p_value"].as_f64().unwrap();
    assert!((p - 0.004437564499484004).abs() < 1e-12, "{p}");
    // BH by hand over the m rows: the two hardware-model rows (the same, smallest p) get
    // p * m / 2.
    let m = rows.len() as f64;
    let q = r["q_value"].as_f64().unwrap();
    assert!(
        (q - 0.004437564499484004 * m / 2.0).abs() < 1e-12,
        "{q} with m = {m}"
    );
    // Round configuration, known for the five crashes attributed to rounds: batch=64 is 3/3
    // in the bucket against 0/2 elsewhere, Fisher p = 1/C(5,2) = 0.1 (scipy:
    // fisher_exact([[3,0],[0,2]]).pvalue -> 0.1).
    let c = rows
        .iter()
        .find(|r| r["attribute"] == "config batch" && r["value"] == "64")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(
        (&c["in_bucket"], &c["bucket_total"]),
        (&3.into(), &3.into())
    );
    assert_eq!(
        (&c["elsewhere"], &c["elsewhere_total"]),
        (&0.into(), &2.into())
    );
    assert!((c["p_value"].as_f64().unwrap() - 0.1).abs() < 1e-12, "{c}");
    // BH: the config rows (p = 0.1, ranks 3 and 4) get min(0.1 * m / 4, 1).
    assert!((c["q_value"].as_f64().unwrap() - (0.1 * m / 4.0).min(1.0)).abs() < 1e-12);
    for other in rows
        .iter()
        .filter(|r| r["attribute"] != "hardware_model" && r["attribute"] != "config batch")
    {
        assert_eq!(other["p_value"], 1.0, "{other}");
        assert_eq!(other["q_value"], 1.0, "{other}");
        assert_eq!(other["bucket_total"], 7);
    }
    // The loaded images are attributes too (by UUID: these have no version).
    assert!(rows.iter().any(|r| r["attribute"] == "image AGXMetalG16X"
        && r["value"] == "99999999-8888-7777-6666-555555555555"));
}

#[test]
fn correlate_human_output_and_errors() {
    let t = tempfile::tempdir().unwrap();
    let db = correlate_db(t.path());
    let sig = bucket_signature(&db, 7);
    let o = run(&db, &["correlate", "--signature", &sig]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
    let o = run(&db, &["correlate", "--pattern", "no-such-pattern"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no crash reports in the bucket"),
        "{}",
        stderr(&o)
    );
    let o = run(&db, &["correlate"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
