//! Issue 15 through the real binary: `compare` says "regression" only when the corrected
//! exact test of the bucket rates supports it, gives every bucket its rate per 100 rounds with
//! an exact interval, compares efficiency with Welch's interval, warns when the selections
//! share rounds, and quotes `plan`'s fixed figure.

// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;

/// `n` rounds numbered from `start` under `fix`; the last `crashes` of them crash once with a
/// report of their own (never ingested, so bucketed as `(not ingested)`, the same bucket on
/// both sides); `efficiency` figures go to the first rounds.
fn block(start: i64, n: i64, crashes: i64, fix: &str, efficiency: &[f64]) -> Vec<String> {
    (0..n)
        .map(|i| {
            let attempt = if i >= n - crashes {
                format!(
                    r#"{{"exit_code": null, "signal": 11, "crash_reports": ["{fix}-{}"]}}"#,
                    start + i
                )
            } else {
                r#"{"exit_code": 0}"#.to_string()
            };
            let eff = efficiency
                .get(i as usize)
                .map(|e| format!(r#", "efficiency": {e}"#))
                .unwrap_or_default();
            format!(
                r#"{{"round": {}, "fix": "{fix}"{eff}, "attempts": [{attempt}]}}"#,
                start + i
            )
        })
        .collect()
}

fn import(db: &Path, dir: &Path, lines: &[String]) {
    let f = dir.join("rounds.jsonl");
    std::fs::write(&f, lines.join("\n")).unwrap();
    let o = run(db, &["round", "import", "--json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn compare(db: &Path, a: &str, b: &str, json_out: bool) -> std::process::Output {
    let mut args = vec!["compare", "--a", a, "--b", b];
    if json_out {
        args.push("--json");
    }
    run(db, &args)
}

// Regression: a bucket going from none in 30 rounds to 1 in 30 was called "new in B
// (regression)". The conditional exact test: scipy.stats.binomtest(0, 1, 0.5).pvalue = 1.0;
// binomtest(0, 12, 0.5).pvalue = 0.00048828125 (a regression).
#[test]
fn one_crash_in_30_is_not_a_regression_but_12_is() {
    for (crashes, verdict, words) in [
        (
            1,
            "only-in-b-not-distinguishable",
            "seen only in B, not distinguishable yet",
        ),
        (12, "regression", "regression: more frequent in B"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let db = t.path().join("t.db");
        let mut lines = block(1, 30, 0, "a", &[]);
        lines.extend(block(101, 30, crashes, "b", &[]));
        import(&db, t.path(), &lines);

        let c = json(&compare(&db, "fix:a", "fix:b", true));
        let rates = &c["bucket_rates"];
        assert_eq!(rates["correction"], "holm", "{c}");
        assert_eq!(rates["test"], "crashes-given-rounds");
        let bucket = &rates["buckets"][0];
        assert_eq!(bucket["verdict"], verdict, "{bucket}");
        assert_eq!(bucket["count_b"], crashes);
        // Garwood's exact interval of the count, per 100 rounds: for 0 crashes the upper
        // bound is chi2.ppf(0.975, 2)/2 * 100/30 = 3.6888794541139354 * 100/30.
        assert_eq!(bucket["rate_a"]["low"].as_f64(), Some(0.0));
        let high_a = bucket["rate_a"]["high"].as_f64().unwrap();
        assert!(
            (high_a - 368.887_945_411_393_54 / 30.0).abs() < 1e-6,
            "{high_a}"
        );
        let p = bucket["adjusted_p"].as_f64().unwrap();
        if crashes == 1 {
            assert_eq!(p, 1.0);
        } else {
            assert!((p - 0.000_488_281_25).abs() < 1e-12, "{p}");
        }

        let text = stdout(&compare(&db, "fix:a", "fix:b", false));
        assert!(text.contains(words), "{text}");
        assert!(text.contains("Holm-corrected"), "{text}");
        assert!(text.contains("per 100 (95% CI)"), "{text}");
        if crashes == 1 {
            assert!(!text.contains("regression:"), "{text}");
        }
    }
}

#[test]
fn compare_warns_when_the_selections_share_rounds() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    import(&db, t.path(), &block(1, 40, 4, "a", &[]));
    let o = compare(&db, "rounds:1-30", "rounds:21-40", true);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the two selections share 10 rounds (21-30)"),
        "{err}"
    );
    let shared: Vec<i64> = json(&o)["shared_rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(shared, (21..=30).collect::<Vec<_>>());
    // The same warning for the human output; none for selections apart.
    let o = compare(&db, "rounds:1-30", "rounds:21-40", false);
    assert!(stderr(&o).contains("share 10 rounds"));
    let o = compare(&db, "rounds:1-20", "rounds:21-40", false);
    assert!(!stderr(&o).contains("share"), "{}", stderr(&o));
}

// Figures of stats::welch's scipy check: a = [14.6, 13.9, 15.1, 14.2], b = [15.8, 16.4,
// 15.1, 17.0, 16.2]: scipy.stats.ttest_ind(b, a, equal_var=False) p = 0.00501346048694641,
// difference 1.65, 95% interval 0.6817111321624609 .. 2.6182888678375433.
#[test]
fn efficiency_difference_with_welch_interval() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mut lines = block(1, 10, 0, "a", &[14.6, 13.9, 15.1, 14.2]);
    lines.extend(block(101, 10, 0, "b", &[15.8, 16.4, 15.1, 17.0, 16.2]));
    lines.extend(block(201, 10, 0, "c", &[15.0]));
    import(&db, t.path(), &lines);

    let c = json(&compare(&db, "fix:a", "fix:b", true));
    let d = &c["efficiency_difference"];
    assert_eq!(d["method"], "welch", "{d}");
    let w = &d["welch"];
    let f = |k: &str| w[k].as_f64().unwrap();
    assert!((f("difference") - 1.65).abs() < 1e-9, "{w}");
    assert!((f("low") - 0.681_711_132_162_460_9).abs() < 1e-9, "{w}");
    assert!((f("high") - 2.618_288_867_837_543_3).abs() < 1e-9, "{w}");
    assert!(
        (f("p_value") - 0.005_013_460_486_946_41).abs() < 1e-9,
        "{w}"
    );
    let text = stdout(&compare(&db, "fix:a", "fix:b", false));
    // 1.65 is 1.6499999999999986 in floating point, rounded to +1.6... or up: either way
    // the interval's ends are +0.7 and +2.6.
    assert!(
        text.contains("Efficiency: B minus A is +1.")
            && text.contains("percentage points (95% Welch interval +0.7 to +2.6, Welch t-test p = 0.0050; means 16.1% and 14.5%, n = 5 and 4)"),
        "{text}"
    );

    // One figure on a side: said, not computed.
    let c = json(&compare(&db, "fix:a", "fix:c", true));
    assert!(c["efficiency_difference"]["welch"].is_null(), "{c}");
    assert_eq!(c["efficiency_difference"]["missing"], "too-few-values");
    let text = stdout(&compare(&db, "fix:a", "fix:c", false));
    assert!(
        text.contains(
            "Efficiency: not compared: A has 4 efficiency figures and B has 1 efficiency figure"
        ),
        "{text}"
    );
    assert!(!text.contains("Welch interval"), "{text}");
}

// `compare` says "about N rounds per side would tell" with `plan`'s fixed figure: the same
// function (stats::power::fixed_rounds_per_side) behind both, shown to agree here.
#[test]
fn compare_quotes_plans_fixed_figure() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mut lines = block(1, 20, 0, "a", &[]);
    lines.extend(block(101, 20, 2, "b", &[]));
    import(&db, t.path(), &lines);
    let c = json(&compare(&db, "fix:a", "fix:b", true));
    let needed = c["raw"]["rounds_needed"].as_u64().unwrap();
    let plan = json(&run(
        &db,
        &["plan", "--baseline", "1.0", "--target", "0.9", "--json"],
    ));
    assert_eq!(
        plan["fixed_rounds_per_side"].as_u64(),
        Some(needed),
        "{plan}"
    );
    assert_eq!(needed, 78);
    let text = stdout(&compare(&db, "fix:a", "fix:b", false));
    assert!(
        text.contains("about 58 more rounds per side would tell (78 per side in all)"),
        "{text}"
    );
}

/// docs/GUIDE.md with words joined by single spaces and quote marks dropped.
fn guide() -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/GUIDE.md"))
        .unwrap();
    text.split_whitespace()
        .filter(|w| *w != ">")
        .collect::<Vec<_>>()
        .join(" ")
}

// docs/GUIDE.md quotes what `compare` prints for efficiency and shared rounds.
#[test]
fn guide_quotes_the_efficiency_and_shared_round_lines() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mut lines = block(1, 30, 5, "a", &[14.6, 13.9, 15.1, 14.2]);
    lines.extend(block(101, 30, 12, "b", &[15.8, 16.4, 15.1, 17.0, 16.2]));
    lines.extend(block(201, 10, 0, "c", &[15.0]));
    import(&db, t.path(), &lines);
    let guide = guide();
    let line_of = |out: &str, head: &str| -> String {
        out.lines()
            .find(|l| l.starts_with(head))
            .unwrap_or_else(|| panic!("no {head} in {out}"))
            .to_string()
    };
    let text = stdout(&compare(&db, "fix:a", "fix:b", false));
    let eff = line_of(&text, "Efficiency:");
    assert!(guide.contains(&eff), "docs/GUIDE.md does not quote {eff:?}");
    let text = stdout(&compare(&db, "fix:a", "fix:c", false));
    let eff = line_of(&text, "Efficiency:");
    assert!(guide.contains(&eff), "docs/GUIDE.md does not quote {eff:?}");
    let o = compare(&db, "rounds:1-30", "rounds:21-40", false);
    let warning = stderr(&o);
    let warning = warning
        .lines()
        .find_map(|l| l.strip_prefix("agx-triage: warning: "))
        .unwrap();
    assert!(
        guide.contains(warning),
        "docs/GUIDE.md does not quote {warning:?}"
    );
}

// The human output of a comparison with buckets on both sides, new and gone, and efficiency.
#[test]
fn compare_output_snapshot() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let mut lines = block(1, 30, 5, "a", &[14.6, 13.9, 15.1, 14.2]);
    lines.extend(block(101, 30, 12, "b", &[15.8, 16.4, 15.1, 17.0, 16.2]));
    import(&db, t.path(), &lines);
    let o = compare(&db, "fix:a", "fix:b", false);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
}

fn samples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The samples ingested and their rounds imported; the writeup of 1820-1849 (its JSON), with
/// or without `--redact`.
fn sample_writeup(dir: &Path, redact: bool) -> (std::path::PathBuf, serde_json::Value, String) {
    let db = dir.join("demo.db");
    if !db.exists() {
        let reports = samples().join("reports");
        let o = run(
            &db,
            &["ingest", "--threads", "1", reports.to_str().unwrap()],
        );
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        let rounds = samples().join("rounds.jsonl");
        let o = run(&db, &["round", "import", rounds.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let out = dir.join(if redact { "red" } else { "plain" });
    let mut args = vec![
        "report",
        "--rounds",
        "1820-1849",
        "--against",
        "1790-1819",
        "--out",
        out.to_str().unwrap(),
    ];
    if redact {
        args.push("--redact");
    }
    let o = run(&db, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let js = std::fs::read_to_string(out.join("report.json")).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    (db, serde_json::from_str(&js).unwrap(), md)
}

// Issue 15, item 5: writeups show the top correlations of their largest buckets, the figures
// `correlate` prints for the same bucket (its first three rows by q).
#[test]
fn writeups_show_the_top_correlations_of_their_largest_buckets() {
    let t = tempfile::tempdir().unwrap();
    let (db, w, md) = sample_writeup(t.path(), false);
    let shown = w["bucket_correlations"].as_array().expect("correlations");
    assert!(!shown.is_empty() && shown.len() <= 3, "{shown:?}");
    for c in shown {
        let top = c["top"].as_array().unwrap();
        assert!(!top.is_empty() && top.len() <= 3);
        assert!(c["bucket_reports"].as_u64().unwrap() >= 5);
        let args: Vec<String> = match c["pattern"].as_str() {
            Some(p) => vec!["--pattern".into(), p.into()],
            None => vec![
                "--signature".into(),
                c["signature"].as_str().unwrap().into(),
            ],
        };
        let mut cmd = vec!["correlate", "--json"];
        cmd.extend(args.iter().map(String::as_str));
        let all = json(&run(&db, &cmd));
        let all = all.as_array().unwrap();
        assert_eq!(c["values_tested"].as_u64(), Some(all.len() as u64));
        assert_eq!(top.as_slice(), &all[..top.len()], "{c}");
    }
    assert!(md.contains("What sets this bucket's crashes apart"), "{md}");
    assert!(md.contains("| Attribute | Value | In this bucket | Elsewhere | Fisher p | BH q |"));

    // Redacted: the free-text attributes (round configuration, process) are left out, since
    // they come from reports and rounds beyond those the redactor learned from.
    let (_, w, md) = sample_writeup(t.path(), true);
    let shown = w["bucket_correlations"].as_array().expect("correlations");
    assert!(!shown.is_empty());
    for c in shown {
        for r in c["top"].as_array().unwrap() {
            let a = r["attribute"].as_str().unwrap();
            assert!(a != "process" && !a.starts_with("config "), "{r}");
        }
    }
    assert!(!md.to_lowercase().contains("alice"), "{md}");
}

// Buckets with fewer than 5 reports (or fewer than 5 elsewhere) get no correlation table: with
// so few, no value can be told from chance.
#[test]
fn too_few_reports_give_no_correlations() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    let rdir = t.path().join("reports");
    std::fs::create_dir(&rdir).unwrap();
    write_reports(&rdir, "few", 0, 3, 6);
    let o = run(&db, &["ingest", rdir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Three crashing rounds, each with one of the reports (all of one signature).
    let mut lines = block(1, 7, 0, "a", &[]);
    for i in 0..3 {
        lines.push(format!(
            r#"{{"round": {}, "fix": "a", "attempts": [{{"signal": 11, "crash_reports": ["00000000-0000-4000-8000-{i:012}"]}}]}}"#,
            8 + i
        ));
    }
    import(&db, t.path(), &lines);
    let out = t.path().join("w");
    let o = run(
        &db,
        &["report", "--rounds", "1-10", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    // The bucket is there (3 crashes), its correlations are not.
    assert!(md.contains("### 1. "), "{md}");
    assert!(md.contains("- **Crashes:** 3 "), "{md}");
    assert!(
        !md.contains("What sets this bucket's crashes apart"),
        "{md}"
    );
}

// A writeup compared with a block that overlaps it says so above its comparison, and its
// comparison carries the shared round numbers.
#[test]
fn writeup_warns_when_the_blocks_share_rounds() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("t.db");
    import(&db, t.path(), &block(1, 40, 4, "a", &[]));
    let out = t.path().join("w");
    let o = run(
        &db,
        &[
            "report",
            "--rounds",
            "21-40",
            "--against",
            "1-30",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("> **Warning:** the two selections share 10 rounds (21-30)"),
        "{md}"
    );
    let js: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        js["comparison"]["shared_rounds"].as_array().unwrap().len(),
        10
    );
    // Apart, no warning.
    let out = t.path().join("w2");
    let o = run(
        &db,
        &[
            "report",
            "--rounds",
            "21-40",
            "--against",
            "1-20",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md.contains("**Warning:**"), "{md}");
    // Rates per 100 rounds with intervals and the Holm column in the writeup's bucket table.
    assert!(md.contains("per 100 rounds (95% CI)"), "{md}");
    assert!(md.contains("| Holm p |"), "{md}");
}
