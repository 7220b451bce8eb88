//! `report --redact` against planted identifiers of every kind, in every place a writeup's
//! input holds them: report paths, process and image paths, frame source paths, the keys
//! macOS writes into a report, round configuration values and notes. Zero may leak into the
//! markdown, the JSON or the charts; look-alike user names (`mps`, `lib`, `system`) must
//! change no symbol.
//!
//! Reports are written as `.ips` text by agx-synth and ingested by the real binary.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agx_synth::{Exception, Frame, Image, Process, Report, Thread};
use common::{run, stderr};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The planted identifiers, each as it must never appear in a published writeup.
struct Plant {
    user: &'static str,
    ssh_user: &'static str,
    account: &'static str,
    win_user: &'static str,
    tilde_user: &'static str,
    home_user: &'static str,
    email: &'static str,
    fqdn: &'static str,
    local_host: &'static str,
    config_host: &'static str,
    ipv4: &'static str,
    ipv6: &'static str,
    mac: &'static str,
    serial: &'static str,
    reporter_key: &'static str,
    sleep_wake: &'static str,
}

const P: Plant = Plant {
    user: "zorvath",
    ssh_user: "qelmira",
    account: "trobnik",
    win_user: "wendelyn",
    tilde_user: "paxlore",
    home_user: "brimsey",
    email: "jo.smythe@veltrona-labs.com",
    fqdn: "build-7.corp.example.com",
    local_host: "Zorvaths-MacBook-Pro",
    config_host: "alices-mac-mini",
    ipv4: "10.0.4.17",
    ipv6: "fe80::1c2b:3d4e:5f60:7a8b",
    mac: "a4:83:e7:12:34:56",
    serial: "C02XL0GHJGH5",
    reporter_key: "3F2A9C1B-77E0-4B8F-9D1A-6C5E4B3A2F10",
    sleep_wake: "0E2F5D3C-1A2B-4C5D-8E9F-A0B1C2D3E4F5",
};

impl Plant {
    /// Every planted value, and the parts of it that identify on their own.
    fn leaks(&self) -> Vec<&'static str> {
        vec![
            self.user,
            self.ssh_user,
            self.account,
            self.win_user,
            self.tilde_user,
            self.home_user,
            self.email,
            "jo.smythe",
            "veltrona-labs",
            self.fqdn,
            "build-7",
            self.local_host,
            "zorvaths",
            self.config_host,
            self.ipv4,
            self.ipv6,
            "1c2b:3d4e",
            self.mac,
            self.serial,
            self.reporter_key,
            self.sleep_wake,
        ]
    }
}

/// A report of `user`'s: paths under their home, frames with source files there, and
/// `keys` (crash reporter key, sleep/wake UUID) when given.
fn ips(incident: &str, user: &str, symbols: &[&str], keys: Option<(&str, &str)>) -> String {
    let home = format!("/Users/{user}");
    let mut thread = Thread::new(77).queue("com.apple.main-thread");
    for (i, s) in symbols.iter().enumerate() {
        thread = thread.frame(Frame::new(i.min(2), 100 + i as u64).symbol(s, 4).source(
            &format!("{home}/src/pytorch/aten/src/ATen/native/mps/op{i}.mm"),
            10,
        ));
    }
    let mut process = Process::new("Python", &format!("{home}/.venv/bin/python3"))
        .pid(4321)
        .version("3.12.7", "3.12.7");
    process.user_id = 502;
    let mut r = Report::new()
        .incident(incident)
        .process(process)
        .exception(Exception::bad_access(0x98))
        .image(
            Image::new("python3", &format!("{home}/.venv/bin/python3"))
                .arch("arm64")
                .base(4_300_000_000)
                .size(16384)
                .uuid("11111111-2222-3333-4444-555555555555"),
        )
        .image(
            Image::new(
                "libtorch_cpu.dylib",
                &format!("{home}/.venv/lib/python3.12/site-packages/torch/lib/libtorch_cpu.dylib"),
            )
            .base(6_500_000_000)
            .size(300_000)
            .uuid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        )
        .image(
            Image::new(
                "libsystem_kernel.dylib",
                "/usr/lib/system/libsystem_kernel.dylib",
            )
            .base(7_500_000_000)
            .size(3_000_000)
            .uuid("99999999-8888-7777-6666-555555555555"),
        )
        .thread(thread)
        .faulting_thread(0);
    if let Some((reporter_key, sleep_wake)) = keys {
        r.system.crash_reporter_key = reporter_key.to_string();
        r.system.sleep_wake_uuid = sleep_wake.to_string();
    }
    r.absolute_null_image = false;
    r.build_ips()
}

const SYMBOLS: &[&str] = &[
    "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)",
    "at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>)",
    "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
];

/// Ingest `reports` (name, text) into a fresh database with one round per report in `rounds`,
/// then write the writeup of rounds 1-N, redacted or not; returns (markdown, json, svgs).
fn writeup(
    dir: &Path,
    reports: &[String],
    config: serde_json::Value,
    redact: bool,
) -> (String, String, Vec<String>) {
    let db = dir.join("db.sqlite");
    // The report files live under a home folder too (the `sources` of each report).
    let rdir: PathBuf = dir
        .join("Users")
        .join(P.home_user)
        .join("DiagnosticReports");
    std::fs::create_dir_all(&rdir).unwrap();
    let mut rounds = String::new();
    for (i, text) in reports.iter().enumerate() {
        std::fs::write(rdir.join(format!("Python-{i}.ips")), text).unwrap();
        let incident = format!("00000000-0000-4000-8000-{:012}", i + 1);
        let r = json!({"round": i + 1, "batch": "1-9", "fix": "v2.4", "config": config,
                       "attempts": [{"signal": 11, "crash_reports": [incident]}, {"exit_code": 0}]});
        rounds.push_str(&format!("{r}\n"));
    }
    let o = run(&db, &["ingest", rdir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f = dir.join("rounds.jsonl");
    std::fs::write(&f, rounds).unwrap();
    let o = run(&db, &["round", "import", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join(if redact { "red" } else { "plain" });
    let range = format!("1-{}", reports.len());
    let mut args = vec!["report", "--rounds", &range, "--out", out.to_str().unwrap()];
    if redact {
        args.push("--redact");
    }
    let o = run(&db, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let js = std::fs::read_to_string(out.join("report.json")).unwrap();
    let svgs = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    (md, js, svgs)
}

fn planted_config() -> serde_json::Value {
    json!({
        "hostname": P.config_host,
        "python": format!("/Users/{}/.venv/bin/python3", P.user),
        "notes": format!(
            "ran by {} on {} ({}, {}, MAC {}); serial {}; crashReporterKey: {}; \
             sleepWakeUUID={}; mail {}; ssh://{}@{}/srv; https://github.com/{}/agx-fix; \
             logs in C:\\Users\\{}\\logs and ~{}/logs; Bonjour {}.local",
            P.user, P.fqdn, P.ipv4, P.ipv6, P.mac, P.serial, P.reporter_key, P.sleep_wake,
            P.email, P.ssh_user, P.fqdn, P.account, P.win_user, P.tilde_user, P.local_host
        ),
        "owner note": format!("{} asked for this run", P.home_user),
    })
}

// Regression: `--redact` left 14 of 17 planted identifiers (IP, MAC, serial, keys, host names,
// the domain of an e-mail, Windows and tilde homes, URL users, account URLs).
#[test]
fn planted_identifiers_do_not_leak() {
    let t = tempfile::tempdir().unwrap();
    let keys = Some((P.reporter_key, P.sleep_wake));
    let reports = vec![
        ips(
            "00000000-0000-4000-8000-000000000001",
            P.user,
            SYMBOLS,
            keys,
        ),
        ips(
            "00000000-0000-4000-8000-000000000002",
            P.user,
            SYMBOLS,
            keys,
        ),
    ];
    let (md, js, svgs) = writeup(t.path(), &reports, planted_config(), true);
    let mut outputs = vec![("report.md", md.clone()), ("report.json", js.clone())];
    outputs.extend(svgs.into_iter().map(|s| ("chart", s)));
    for (name, text) in &outputs {
        let lower = text.to_lowercase();
        for leak in P.leaks() {
            assert!(
                !lower.contains(&leak.to_lowercase()),
                "{name} leaks {leak}:\n{text}"
            );
        }
    }
    serde_json::from_str::<serde_json::Value>(&js).unwrap();
    // Pseudonyms of each kind, and the footer that counts them.
    for p in [
        "user1",
        "host1",
        "ip1",
        "ip2",
        "mac1",
        "serial1",
        "crkey1",
        "sleepwake1",
        "email1@example.invalid",
    ] {
        assert!(md.contains(p), "{p} missing:\n{md}");
    }
    let footer = md
        .lines()
        .find(|l| l.starts_with("Redacted for publishing:"))
        .expect("footer");
    for kind in [
        "user names",
        "host names",
        "IP addresses",
        "MAC address",
        "serial number",
        "e-mail address",
    ] {
        assert!(footer.contains(kind), "{kind} not counted: {footer}");
    }
    // Symbols are untouched by the redaction of the same user in paths.
    assert!(md.contains("at::native::mps::gatherViewTensor"));
}

// Regression: for a user named `mps`, `at::native::mps::gatherViewTensor` became
// `at::native::user1::gatherViewTensor`.
#[test]
fn look_alike_user_names_change_no_symbol() {
    let t = tempfile::tempdir().unwrap();
    let reports: Vec<String> = ["mps", "lib", "system"]
        .iter()
        .enumerate()
        .map(|(i, u)| {
            ips(
                &format!("00000000-0000-4000-8000-{:012}", i + 1),
                u,
                SYMBOLS,
                None,
            )
        })
        .collect();
    let config = json!({"notes": "mps ran this; lib and system were idle", "op": "at::native::mps::gatherViewTensor"});
    let (plain_md, plain_js, _) = writeup(&t.path().join("a"), &reports, config.clone(), false);
    let (md, js, _) = writeup(&t.path().join("b"), &reports, config, true);
    let plain: serde_json::Value = serde_json::from_str(&plain_js).unwrap();
    let red: serde_json::Value = serde_json::from_str(&js).unwrap();
    // Every symbol-bearing field is the same, redacted or not.
    for b in ["signature", "stack", "pytorch_ops", "pattern"] {
        let a: Vec<_> = plain["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x[b])
            .collect();
        let r: Vec<_> = red["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x[b])
            .collect();
        assert_eq!(a, r, "{b} changed");
    }
    assert!(plain_md.contains("libsystem_kernel.dylib") && md.contains("libsystem_kernel.dylib"));
    let cfg = red["config"].to_string();
    assert!(cfg.contains("at::native::mps::gatherViewTensor"), "{cfg}");
    // In prose the names are words and do go.
    assert!(
        cfg.contains("user1 ran this")
            || cfg.contains("user2 ran this")
            || cfg.contains("user3 ran this"),
        "{cfg}"
    );
}

// Regression: a host seen only inside a URL in one round configuration value
// (`ssh://qwyzzt@buildbox9/x`) was learnt only while that value was replaced, so configuration
// keys sorted before it and the title kept `buildbox9` in the published writeup.
#[test]
fn a_host_learnt_from_a_url_is_replaced_in_every_field() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db.sqlite");
    let rounds = t.path().join("r.jsonl");
    std::fs::write(
        &rounds,
        r#"{"round": 500, "batch": "b", "fix": "native", "config": {"ssh": "ssh://qwyzzt@buildbox9/x", "zcmd": "python p.py --host buildbox9", "acmd": "python p.py --host buildbox9"}, "attempts": [{"exit_code": 0}]}
"#,
    )
    .unwrap();
    let o = run(&db, &["round", "import", rounds.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = t.path().join("out");
    let o = run(
        &db,
        &[
            "report",
            "--rounds",
            "500-500",
            "--redact",
            "--title",
            "nightly on buildbox9 by qwyzzt",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in std::fs::read_dir(&out).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for secret in ["buildbox9", "qwyzzt"] {
            assert!(
                !text.contains(secret),
                "{secret} in {}:\n{text}",
                path.display()
            );
        }
    }
}
