//! Hostile strings from reports and round configurations through every output: terminal
//! tables (`reports`, `buckets`, `rounds`), `show`, the markdown writeup (rendered as
//! CommonMark with tables and checked for live HTML), the SVG charts (parsed as XML) and JSON
//! (parsed, and exact).
//!
//! The reports are written as `.ips` text by agx-synth and ingested by the real binary.

mod common;

use agx_synth::{Exception, Frame, Image, Process, Report, Thread};
use common::{json, run, stderr, stdout};
use pulldown_cmark::{Event, Options, Parser, Tag};
use serde_json::json;
use std::path::Path;

/// Strings a report can carry that must not act on a terminal, a browser or an XML parser.
const HOSTILE: &[&str] = &[
    "\u{1b}]0;OWNED\u{7}",                 // OSC: retitles the terminal
    "\u{1b}[2J\u{1b}[H",                   // clear screen, cursor home
    "nul\u{0}byte",                        // NUL
    "rlo\u{202e}gnp.exe",                  // right-to-left override
    "iso\u{2066}late\u{2069}",             // bidi isolate
    "c1\u{9b}31m",                         // C1 CSI
    "cr\roverwrite",                       // carriage return
    "two\nlines",                          // newline inside a field
    "</svg><script>alert(1)</script>",     // closes the chart, opens a script
    "<img src=x onerror=alert(1)>",        // event attribute
    "```\n<script>alert(2)</script>\n```", // tries to close the code fence
    "| a | b |",                           // table pipes
    "back\\slash\\|pipe",                  // backslash before a pipe
    "bad\u{fffe}xml\u{ffff}",              // XML-invalid characters
    "[x](javascript:alert(3))",            // a javascript: link
];

/// Raw characters none of the human-readable outputs may contain.
fn assert_no_raw_controls(what: &str, s: &str) {
    for (i, c) in s.char_indices() {
        let bad = matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}');
        assert!(!bad, "{what}: raw U+{:04X} at byte {i}:\n{s}", c as u32);
    }
}

fn ips(incident: &str, symbols: &[&str], proc_name: &str, asi: &[&str]) -> String {
    let mut thread = Thread::new(77)
        .name(asi.first().copied().unwrap_or("t"))
        .queue("com.apple.main-thread");
    for (i, s) in symbols.iter().enumerate() {
        thread = thread.frame(Frame::new(1, 100 + i as u64).symbol(s, 4));
    }
    thread = thread.frame(Frame::new(2, 5678).symbol(
        "-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]",
        40,
    ));
    let mut r = Report::new()
        .incident(incident)
        .process(
            Process::new(proc_name, "/opt/homebrew/bin/python3")
                .pid(4321)
                .version("3.12.7", "3.12.7"),
        )
        .exception(Exception::bad_access(0x98))
        .image(
            Image::new("python3", "/opt/homebrew/bin/python3")
                .arch("arm64")
                .base(4_300_000_000)
                .size(16384)
                .uuid("11111111-2222-3333-4444-555555555555"),
        )
        // A library named after the hostile process name.
        .image(
            Image::new(proc_name, "/opt/hostile/libhostile.dylib")
                .base(6_500_000_000)
                .size(300_000)
                .uuid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        )
        .image(
            Image::new(
                "AGXMetalG16X",
                "/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X",
            )
            .base(7_500_000_000)
            .size(3_000_000)
            .uuid("99999999-8888-7777-6666-555555555555"),
        )
        .thread(thread)
        .faulting_thread(0);
    r.asi = Some((
        "libsystem_c.dylib".to_string(),
        asi.iter().map(|s| s.to_string()).collect(),
    ));
    r.absolute_null_image = false;
    r.build_ips()
}

/// A database with one hostile report per hostile string, each attributed to a round whose
/// batch, fix and configuration carry the string too.
fn hostile_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("db.sqlite");
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let mut rounds = String::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        let incident = format!("00000000-0000-4000-8000-{:012}", i + 1);
        let sym = format!("hostile_{i}{h}");
        let text = ips(&incident, &[&sym], &format!("Py{h}"), &[h]);
        std::fs::write(reports.join(format!("r{i}.ips")), text).unwrap();
        let round = json!({
            "round": 100 + i, "batch": format!("b{h}"), "fix": format!("v{i}{h}"),
            "efficiency": 14.0,
            "config": {"note": h, "hostname": format!("mini{i}"), "test": format!("t.py {h}")},
            "attempts": [{"signal": 11, "crash_reports": [incident]}, {"exit_code": 0}]
        });
        rounds.push_str(&round.to_string());
        rounds.push('\n');
    }
    let o = run(&db, &["ingest", reports.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = dir.join("rounds.jsonl");
    std::fs::write(&file, rounds).unwrap();
    let o = run(&db, &["round", "import", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    db
}

/// Every line of a comfy-table block is a table line (a newline in a cell did not break out
/// of its row).
fn assert_table_intact(what: &str, out: &str) {
    let table: Vec<&str> = out
        .lines()
        .take_while(|l| l.starts_with(['┌', '│', '├', '╞', '└']))
        .collect();
    assert!(!table.is_empty(), "{what}: no table:\n{out}");
    let rest: Vec<&str> = out.lines().skip(table.len()).collect();
    assert_eq!(rest.len(), 1, "{what}: lines after the table:\n{out}");
}

// Regression: `reports`, `show` and `rounds` passed ESC/OSC, NUL and U+202E straight to the
// terminal.
#[test]
fn terminal_outputs_escape_every_hostile_string() {
    let t = tempfile::tempdir().unwrap();
    let db = hostile_db(t.path());
    for args in [
        vec!["reports"],
        vec!["buckets"],
        vec!["rounds"],
        vec!["compare", "--a", "rounds:100-105", "--b", "rounds:106-114"],
    ] {
        let o = run(&db, &args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert_no_raw_controls(&format!("{args:?}"), &out);
        assert_no_raw_controls(&format!("{args:?} stderr"), &stderr(&o));
        if args[0] != "compare" {
            assert_table_intact(&format!("{args:?}"), &out);
        }
    }
    let out = stdout(&run(&db, &["reports"]));
    assert!(out.contains("\\u{1b}]0;OWNED\\u{7}"), "{out}");
    assert!(out.contains("rlo\\u{202e}gnp.exe"), "{out}");
    for id in 1..=HOSTILE.len() {
        let o = run(&db, &["show", &id.to_string()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert_no_raw_controls("show", &out);
        // A newline inside a field is shown, not obeyed: no line of its own.
        assert!(
            !out.lines()
                .any(|l| l == "lines" || l.starts_with("<script>")),
            "{out}"
        );
    }
}

#[test]
fn json_outputs_stay_exact() {
    let t = tempfile::tempdir().unwrap();
    let db = hostile_db(t.path());
    let rows = json(&run(&db, &["reports", "--json"]));
    let procs: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["process"].as_str())
        .collect();
    for h in HOSTILE {
        assert!(
            procs.contains(&format!("Py{h}").as_str()),
            "{h:?} not exact in {procs:?}"
        );
    }
    let mut asi: Vec<String> = Vec::new();
    for id in 1..=HOSTILE.len() {
        let v = json(&run(&db, &["show", &id.to_string(), "--json"]));
        for a in v["report"]["asi"].as_array().unwrap() {
            asi.push(a.as_str().unwrap().to_string());
        }
    }
    for h in HOSTILE {
        assert!(
            asi.iter().any(|a| a.contains(h)),
            "{h:?} not exact in {asi:?}"
        );
    }
    let rounds = json(&run(&db, &["rounds", "--json"]));
    assert!(rounds.to_string().contains("\\u001b]0;OWNED\\u0007"));
}

// Regression: `buckets-by-fix.svg` was malformed XML for a symbol holding U+FFFE, and
// `report.md` carried raw ESC and NUL inside its code blocks.
#[test]
fn writeups_and_charts_carry_no_live_markup() {
    let t = tempfile::tempdir().unwrap();
    let db = hostile_db(t.path());
    let out = t.path().join("w");
    // A command-line argument cannot hold NUL: the title carries the others.
    let title: Vec<&str> = HOSTILE
        .iter()
        .copied()
        .filter(|h| !h.contains('\0'))
        .collect();
    let title = title.join(" ");
    let o = run(
        &db,
        &[
            "report",
            "--rounds",
            "100-114",
            "--title",
            title.as_str(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_no_raw_controls("report.md", &md);
    let mut html = String::new();
    let mut code_blocks = 0;
    for ev in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match &ev {
            Event::Html(h) | Event::InlineHtml(h) => panic!("live HTML {h:?} in:\n{md}"),
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                assert!(
                    !dest_url.to_ascii_lowercase().contains("javascript:"),
                    "{dest_url}"
                );
            }
            Event::Start(Tag::CodeBlock(_)) => code_blocks += 1,
            _ => {}
        }
        pulldown_cmark::html::push_html(&mut html, std::iter::once(ev));
    }
    // Every `<` left in the HTML opens a real element (text ones are `&lt;`): only the
    // renderer's own, with no event attribute, and images only of our charts.
    let tag = regex::Regex::new(r"<(/?)([A-Za-z0-9]+)([^>]*)>").unwrap();
    let event = regex::Regex::new(r"\son[a-z]+=").unwrap();
    const OURS: &[&str] = &[
        "h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "table", "thead",
        "tbody", "tr", "th", "td", "a", "img", "hr", "br",
    ];
    for c in tag.captures_iter(&html) {
        let (name, attrs) = (c[2].to_ascii_lowercase(), c[3].to_ascii_lowercase());
        assert!(OURS.contains(&name.as_str()), "live <{name}> in:\n{html}");
        assert!(!event.is_match(&attrs), "event attribute {attrs}");
        assert!(!attrs.contains("javascript:"), "javascript: in {attrs}");
        if name == "img" {
            assert!(
                attrs.trim_start().starts_with("src=\"") && attrs.contains(".svg\""),
                "{attrs}"
            );
            assert!(!attrs.contains("src=\"x\""), "{attrs}");
        }
    }
    // One stack block per bucket: no symbol closed a fence early or opened another.
    let buckets = md.matches("Crashed thread of the example report").count();
    assert_eq!(code_blocks, buckets, "{md}");
    let mut charts = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "svg") {
            charts += 1;
            let svg = std::fs::read_to_string(&p).unwrap();
            let doc = roxmltree::Document::parse(&svg)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{svg}", p.display()));
            assert!(
                !doc.descendants().any(|n| n.has_tag_name("script")),
                "{} has a script",
                p.display()
            );
            assert_no_raw_controls(&p.display().to_string(), &svg);
        }
    }
    assert!(charts >= 2, "{charts} charts");
    // JSON: parsed, and the hostile strings are in it exactly.
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(j["title"], title);
    let stacks = j["buckets"].to_string();
    let back: serde_json::Value = serde_json::from_str(&stacks).unwrap();
    for h in HOSTILE {
        let sym = format!(
            "hostile_{}{h}",
            HOSTILE.iter().position(|x| x == h).unwrap()
        );
        assert!(
            back.as_array().unwrap().iter().any(|b| b["stack"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l.as_str().unwrap().contains(&sym))),
            "{sym:?} not exact in report.json"
        );
    }
    // The markdown on standard output is as clean.
    let o = run(&db, &["report", "--rounds", "100-114"]);
    assert_no_raw_controls("report to stdout", &stdout(&o));
}
