//! Writeup rendering: markdown, JSON and SVG from writeups built in code.
//!
//! The figures are the ones of a hand-written verification writeup of rounds 1820-1849 (the
//! kind users wrote before this tool); every interval and p-value was
//! computed outside this crate (commands in the comments), because the writeup module only
//! presents numbers and must show exactly these.
// Integration test crate: a failed unwrap is a test failure. clippy.toml's
// allow-unwrap-in-tests covers only `#[test]` functions, not this file's helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use agx_triage::writeup::*;
use chrono::{DateTime, TimeZone, Utc};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn row(label: &str, pass: u64, rounds: u64, ci: [f64; 2]) -> RateRow {
    RateRow {
        label: label.into(),
        rounds,
        pass,
        rate: pass as f64 / rounds as f64,
        ci,
    }
}

// Wilson 95% intervals, z = 1.959963984540054, computed with
//   python3 -c "from math import sqrt; z=1.959963984540054; k,n=15,30; p=k/n; d=1+z*z/n; \
//     c=(p+z*z/(2*n))/d; h=z*sqrt(p*(1-p)/n+z*z/(4*n*n))/d; print(c-h, c+h)"
// (rounded to 6 digits; the brief's 4-digit figures are these rounded: 15/30 = [0.3315,
// 0.6685], 29/30 = [0.8333, 0.9941], 20/20 = [0.8389, 1.0], 18/20 = [0.6990, 0.9721]).
const CI_15_30: [f64; 2] = [0.331541, 0.668459];
const CI_29_30: [f64; 2] = [0.833296, 0.994091];
const CI_16_30: [f64; 2] = [0.361423, 0.697676];
const CI_7_10: [f64; 2] = [0.396778, 0.892209];
const CI_8_20: [f64; 2] = [0.218807, 0.613418];
const CI_10_10: [f64; 2] = [0.722467, 1.0];
const CI_19_20: [f64; 2] = [0.763869, 0.991119];
const CI_20_20: [f64; 2] = [0.838875, 1.0];
const CI_18_20: [f64; 2] = [0.698966, 0.972134];
const CI_3_5: [f64; 2] = [0.230724, 0.882379];

// Fisher's exact test, two-sided:
//   python3 -c "from scipy.stats import fisher_exact as f; print(f([[15,15],[29,1]]).pvalue)"
//   → 6.415347065416128e-05 (the brief said ≈ 0.0000512; scipy 1.17.1 gives this value)
//   python3 -c "from scipy.stats import fisher_exact as f; print(f([[20,0],[18,2]]).pvalue)"
//   → 0.48717948717948717
//   python3 -c "from scipy.stats import fisher_exact as f; print(f([[15,15],[16,14]]).pvalue)"
//   → 1.0
//   python3 -c "from scipy.stats import fisher_exact as f; print(f([[3,2],[20,0]]).pvalue)"
//   → 0.03333333333333333
const P_15_30_VS_29_30: f64 = 6.415347065416128e-05;
const P_20_20_VS_18_20: f64 = 0.48717948717948717;
const P_15_30_VS_16_30: f64 = 1.0;
const P_3_5_VS_20_20: f64 = 0.03333333333333333;

// Rounds per side for 80% power at two-sided alpha 0.05 (normal approximation), the figure the
// stats module hands over as `rounds_needed`:
//   python3 -c "from scipy.stats import norm; from math import sqrt, ceil; p1,p2=1.0,0.9; \
//     za,zb=norm.ppf(.975),norm.ppf(.8); pb=(p1+p2)/2; \
//     print(ceil((za*sqrt(2*pb*(1-pb))+zb*sqrt(p1*(1-p1)+p2*(1-p2)))**2/(p1-p2)**2))"
//   → 74 (20/20 vs 18/20); with p1,p2 = 0.5,16/30 → 3527.
const NEEDED_20_VS_18: u64 = 74;
const NEEDED_15_VS_16: u64 = 3527;

// Efficiency of rounds 1860-1879 and its summary:
//   python3 -c "import statistics as s; v=[...]; print(s.mean(v), s.median(v), s.stdev(v))"
//   → 14.41 14.45 0.4089781875537335
const EFFICIENCY: [f64; 20] = [
    14.2, 14.6, 13.4, 14.9, 14.5, 14.1, 15.1, 14.3, 14.7, 14.4, 13.9, 14.8, 14.6, 14.0, 14.5, 14.2,
    15.0, 14.3, 14.6, 14.1,
];

const SIG_98: &str = "AGX::ComputeContext::prepareForEnqueue | -[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]";
const SIG_5C8: &str =
    "-[AGXG16XFamilyComputeContext setComputePipelineState:] | at::native::mps::gatherViewTensor";
const SIG_FREED: &str = "objc_msgSend | -[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:] | at::native::layer_norm_mps";
const SIG_184: &str =
    "AGX::SpillInfoGen3::allocateUSCSpillBuffer | -[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]";

fn hits(rounds: &[u64], first_id: i64) -> Vec<Hit> {
    rounds
        .iter()
        .enumerate()
        .map(|(i, r)| Hit {
            round: *r,
            host: None,
            attempt: 1,
            report_id: first_id + i as i64,
            incident_id: Some(format!(
                "{:08X}-1A2B-4C3D-8E9F-{:012X}",
                r,
                first_id + i as i64
            )),
        })
        .collect()
}

fn fix_v23(path: &str) -> FixInfo {
    // sha256/md5 of b"agx-triage writeup test fixture v2.3" (python3 hashlib): a stand-in.
    FixInfo {
        name: "v2.3".into(),
        path: Some(path.into()),
        size: Some(167_936),
        sha256: Some("ce49691e32fc03649a5769fdbc9bec0a53e4a8085db5b70cf44b4b44add65a1e".into()),
        md5: Some("61f406ed4bebaa26c953200850648bba".into()),
        slices: vec![Slice {
            arch: "arm64e".into(),
            uuid: "3F2A9C1E-7B44-3D0A-9E21-5C8B6D4F1A07".into(),
        }],
        current_version: Some("2.3.0".into()),
        registered: true,
        in_block: true,
        other_build_reports: 0,
    }
}

/// Crashes of one bucket under one fix with its rate: native ran 30 rounds, v2.3 60 (both
/// blocks).
fn fix_bucket(fix: &str, bucket: &str, count: u64) -> FixBucketCount {
    let rounds = if fix == "native" { 30 } else { 60 };
    FixBucketCount {
        fix: fix.into(),
        bucket: bucket.into(),
        count,
        rounds,
        rate: agx_triage::stats::intervals::crash_rate_per_100(count, rounds).ok(),
    }
}

/// The comparison's bucket rates and efficiency difference, computed by the library from
/// the hand-written sides (as `rounds::compare::compare` does from rounds).
fn with_derived(mut w: Writeup, b_efficiency: &[f64]) -> Writeup {
    if let Some(c) = &mut w.comparison {
        c.bucket_rates = agx_triage::rounds::compare::bucket_comparison(&c.a, &c.b).unwrap();
        c.efficiency_difference =
            agx_triage::rounds::compare::efficiency_difference(&[], b_efficiency);
    }
    w
}

fn summary_1860() -> Summary {
    Summary {
        n: 20,
        mean: Some(14.41),
        median: Some(14.45),
        min: Some(13.4),
        max: Some(15.1),
        sd: Some(0.4089781875537335),
    }
}

/// The writeup of rounds 1820-1849 (v2.3, no retries) compared with the retry block 1850-1879.
fn realistic() -> Writeup {
    with_derived(realistic_figures(), &EFFICIENCY)
}

/// [`realistic`] before the comparison's derived figures.
fn realistic_figures() -> Writeup {
    let b98 = BucketSection {
        signature: SIG_98.into(),
        pattern: Some("agx-null-impl-0x98".into()),
        pattern_title: Some("null _impl + 0x98 in prepareForEnqueue".into()),
        count: 8,
        per_100_rounds: 8.0 / 30.0 * 100.0,
        rate: None,
        example_report: Some(401),
        example_incident: Some("0000071E-1A2B-4C3D-8E9F-000000000191".into()),
        stack: vec![
            "0  AGXMetalG16X      AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Classes>::prepareForEnqueue(bool) + 56".into(),
            "1  AGXMetalG16X      -[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:] + 292".into(),
            "2  MetalPerformanceShaders  -[MPSNDArrayMultiaryKernel encodeToCommandEncoder:commandBuffer:sourceArrays:destinationArray:] + 880".into(),
            "3  libtorch_cpu.dylib  at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&) + 1720".into(),
            "4  libdispatch.dylib   _dispatch_client_callout + 20".into(),
            "5  libtorch_cpu.dylib  at::native::mps::dispatch_sync_with_rethrow(dispatch_queue_s*, void () block_pointer) + 128".into(),
        ],
        pytorch_ops: vec!["gatherViewTensor".into(), "binary_op_kernel".into()],
        hits: hits(&[1822, 1831, 1834, 1837, 1840, 1843, 1845, 1848], 401),
    };
    let b5c8 = BucketSection {
        signature: SIG_5C8.into(),
        pattern: Some("agx-null-impl-0x5c8".into()),
        pattern_title: Some("null _impl + 0x5c8 in setComputePipelineState:".into()),
        count: 4,
        per_100_rounds: 4.0 / 30.0 * 100.0,
        rate: None,
        example_report: Some(409),
        example_incident: Some("00000721-1A2B-4C3D-8E9F-000000000199".into()),
        stack: vec![
            "0  AGXMetalG16X      -[AGXG16XFamilyComputeContext setComputePipelineState:] + 64".into(),
            "1  libtorch_cpu.dylib  at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&) + 1304".into(),
            "2  libtorch_cpu.dylib  at::native::mul_mps_kernel + 412".into(),
            "3  libdispatch.dylib   _dispatch_client_callout + 20".into(),
        ],
        pytorch_ops: vec!["gatherViewTensor".into(), "mul_mps_kernel".into()],
        hits: hits(&[1825, 1832, 1839, 1847], 409),
    };
    let bfreed = BucketSection {
        signature: SIG_FREED.into(),
        pattern: Some("objc-msgsend-freed-encoder".into()),
        pattern_title: Some("freed encoder (use-after-free) in objc_msgSend".into()),
        count: 3,
        per_100_rounds: 10.0,
        rate: None,
        example_report: Some(413),
        example_incident: Some("00000724-1A2B-4C3D-8E9F-00000000019D".into()),
        stack: vec![
            "0  libobjc.A.dylib    objc_msgSend + 56".into(),
            "1  libtorch_cpu.dylib  at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>, ...) + 2104".into(),
            "2  libdispatch.dylib   _dispatch_client_callout + 20".into(),
            "3  libdispatch.dylib   _dispatch_lane_barrier_sync_invoke_and_complete + 56".into(),
            "4  libtorch_cpu.dylib  at::native::mps::dispatch_sync_with_rethrow(dispatch_queue_s*, void () block_pointer) + 128".into(),
        ],
        pytorch_ops: vec!["layer_norm_mps".into()],
        hits: hits(&[1828, 1835, 1842], 413),
    };
    let side_bucket = |sig: &str, pattern: &str, count: u64| BucketCount {
        signature: sig.into(),
        pattern: Some(pattern.into()),
        count,
        per_100_rounds: count as f64 / 30.0 * 100.0,
    };
    Writeup {
        title: "Verification rounds 1820-1849".into(),
        generated_at: t(2025, 12, 23, 18, 0),
        block: Block {
            label: "1820-1849".into(),
            first_round: 1820,
            last_round: 1849,
            started_at: Some(t(2025, 12, 22, 14, 5)),
            finished_at: Some(t(2025, 12, 23, 9, 40)),
        },
        against: Some(Block {
            label: "1850-1879".into(),
            first_round: 1850,
            last_round: 1879,
            started_at: Some(t(2025, 12, 23, 10, 2)),
            finished_at: Some(t(2025, 12, 23, 17, 31)),
        }),
        fixes: vec![fix_v23("agx_fix/build/libagx_fix_v2_3.dylib")],
        raw_batches: vec![
            row("1820-1829", 7, 10, CI_7_10),
            row("1830-1849", 8, 20, CI_8_20),
        ],
        raw_total: row("Total", 15, 30, CI_15_30),
        retry_batches: vec![
            row("1850-1859", 10, 10, CI_10_10),
            row("1860-1879", 19, 20, CI_19_20),
        ],
        retry_total: row("Total", 29, 30, CI_29_30),
        max_attempts: Some(3),
        efficiency: Some(summary_1860()),
        efficiency_by_round: (1860..).zip(EFFICIENCY).collect(),
        buckets: vec![b98, b5c8, bfreed],
        comparison: Some(LabelledComparison {
            a_label: "1820-1849".into(),
            b_label: "1850-1879".into(),
            comparison: Comparison {
                a: SideStats {
                    rounds: 30,
                    raw_pass: 15,
                    raw_rate: 0.5,
                    raw_ci: CI_15_30,
                    eventual_pass: 15,
                    eventual_rate: 0.5,
                    eventual_ci: CI_15_30,
                    efficiency: Summary::default(),
                    buckets: vec![
                        side_bucket(SIG_98, "agx-null-impl-0x98", 8),
                        side_bucket(SIG_5C8, "agx-null-impl-0x5c8", 4),
                        side_bucket(SIG_FREED, "objc-msgsend-freed-encoder", 3),
                    ],
                },
                b: SideStats {
                    rounds: 30,
                    raw_pass: 16,
                    raw_rate: 16.0 / 30.0,
                    raw_ci: CI_16_30,
                    eventual_pass: 29,
                    eventual_rate: 29.0 / 30.0,
                    eventual_ci: CI_29_30,
                    efficiency: summary_1860(),
                    buckets: vec![
                        side_bucket(SIG_98, "agx-null-impl-0x98", 9),
                        side_bucket(SIG_FREED, "objc-msgsend-freed-encoder", 6),
                        side_bucket(SIG_184, "agx-spill-null-0x184", 2),
                    ],
                },
                raw: Verdict {
                    p_value: P_15_30_VS_16_30,
                    verdict: VerdictKind::Inconclusive,
                    rounds_needed: Some(NEEDED_15_VS_16),
                },
                eventual: Verdict {
                    p_value: P_15_30_VS_29_30,
                    verdict: VerdictKind::Better,
                    rounds_needed: None,
                },
                new_buckets: vec![side_bucket(SIG_184, "agx-spill-null-0x184", 2)],
                gone_buckets: vec![side_bucket(SIG_5C8, "agx-null-impl-0x5c8", 4)],
                // Filled in by `with_derived` from the figures above.
                bucket_rates: Default::default(),
                efficiency_difference: Default::default(),
                shared_rounds: vec![],
            },
        }),
        bucket_correlations: vec![],
        bucket_counts_by_fix: vec![
            fix_bucket("native", "agx-null-impl-0x98", 12),
            fix_bucket("native", "objc-msgsend-freed-encoder", 7),
            fix_bucket("native", "agx-null-0x5f4-dispatch", 5),
            fix_bucket("v2.3", "agx-null-impl-0x98", 17),
            fix_bucket("v2.3", "agx-null-impl-0x5c8", 4),
            fix_bucket("v2.3", "objc-msgsend-freed-encoder", 9),
            fix_bucket("v2.3", "agx-spill-null-0x184", 2),
        ],
        config: vec![
            (
                "Test command".into(),
                "python3 tests/complete_story_test_suite.py".into(),
            ),
            ("Threads".into(), "8".into()),
            ("Iterations per test".into(), "20".into()),
            ("Max attempts per round".into(), "3".into()),
            (
                "Environment".into(),
                "MPS_FORCE_GRAPH_PATH=1, MPS_USE_AGX_FIX=1".into(),
            ),
            ("PyTorch".into(), "2.9.1 (git 8cfbcc8)".into()),
            ("macOS".into(), "15.7.3 (24G419)".into()),
            ("Hardware".into(), "Apple M4 Max (Mac16,5)".into()),
        ],
        report_links: Some("https://crash.example.org/reports/".into()),
        redacted: None,
        notes: Vec::new(),
        breakdowns: Vec::new(),
    }
}

/// v2.3 at 18/20 against v2.2 at 20/20, no retries: the pair once called "counterproductive".
fn twenty_vs_eighteen() -> Writeup {
    let mut w = realistic();
    w.title = "Verification rounds 1900-1919 (v2.3) against 1880-1899 (v2.2)".into();
    w.block = Block {
        label: "1900-1919".into(),
        first_round: 1900,
        last_round: 1919,
        started_at: None,
        finished_at: None,
    };
    w.against = Some(Block {
        label: "1880-1899".into(),
        first_round: 1880,
        last_round: 1899,
        started_at: None,
        finished_at: None,
    });
    w.raw_batches = vec![row("1900-1919", 18, 20, CI_18_20)];
    w.raw_total = row("Total", 18, 20, CI_18_20);
    w.retry_batches = vec![];
    w.retry_total = RateRow {
        label: "Total".into(),
        rounds: 0,
        pass: 0,
        rate: 0.0,
        ci: [0.0, 0.0],
    };
    w.max_attempts = Some(1);
    w.efficiency = None;
    w.efficiency_by_round = vec![];
    let mut freed = w.buckets[2].clone();
    freed.count = 2;
    freed.per_100_rounds = 10.0;
    freed.hits = hits(&[1904, 1913], 501);
    freed.example_report = Some(501);
    w.buckets = vec![freed];
    let side = |pass: u64, ci: [f64; 2], buckets: Vec<BucketCount>| SideStats {
        rounds: 20,
        raw_pass: pass,
        raw_rate: pass as f64 / 20.0,
        raw_ci: ci,
        eventual_pass: pass,
        eventual_rate: pass as f64 / 20.0,
        eventual_ci: ci,
        efficiency: Summary::default(),
        buckets,
    };
    let verdict = Verdict {
        p_value: P_20_20_VS_18_20,
        verdict: VerdictKind::Inconclusive,
        rounds_needed: Some(NEEDED_20_VS_18),
    };
    let freed_b = BucketCount {
        signature: SIG_FREED.into(),
        pattern: Some("objc-msgsend-freed-encoder".into()),
        count: 2,
        per_100_rounds: 10.0,
    };
    w.comparison = Some(LabelledComparison {
        a_label: "1880-1899 (v2.2)".into(),
        b_label: "1900-1919 (v2.3)".into(),
        comparison: Comparison {
            a: side(20, CI_20_20, vec![]),
            b: side(18, CI_18_20, vec![freed_b.clone()]),
            raw: verdict,
            eventual: verdict,
            new_buckets: vec![freed_b],
            gone_buckets: vec![],
            bucket_rates: Default::default(),
            efficiency_difference: Default::default(),
            shared_rounds: vec![],
        },
    });
    w.bucket_counts_by_fix = vec![fix_bucket("v2.3", "objc-msgsend-freed-encoder", 2)];
    with_derived(w, &[])
}

fn render_all(w: &Writeup) -> (String, serde_json::Value, Vec<Chart>) {
    let charts = render_charts(w);
    let refs: Vec<ChartRef> = charts.iter().map(Chart::reference).collect();
    (render_markdown(w, &refs), render_json(w).unwrap(), charts)
}

/// Tables as pulldown-cmark sees them: header cells, then rows of cell texts.
#[derive(Debug)]
struct ParsedTable {
    columns: usize,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn parse_tables(md: &str) -> Vec<ParsedTable> {
    let mut tables = Vec::new();
    let mut cur: Option<ParsedTable> = None;
    let mut row: Vec<String> = Vec::new();
    let mut cell: Option<String> = None;
    for ev in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Table(al)) => {
                cur = Some(ParsedTable {
                    columns: al.len(),
                    header: vec![],
                    rows: vec![],
                })
            }
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => row = Vec::new(),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::Text(s) | Event::Code(s) => {
                if let Some(c) = &mut cell {
                    c.push_str(&s);
                }
            }
            Event::End(TagEnd::TableCell) => row.push(cell.take().unwrap()),
            Event::End(TagEnd::TableHead) => {
                cur.as_mut().unwrap().header = std::mem::take(&mut row)
            }
            Event::End(TagEnd::TableRow) => {
                cur.as_mut().unwrap().rows.push(std::mem::take(&mut row))
            }
            Event::End(TagEnd::Table) => tables.push(cur.take().unwrap()),
            _ => {}
        }
    }
    tables
}

/// Source-level check: consecutive `|` lines form a table; every line has the same number of
/// cells (pipes not escaped with `\`), the second is the separator. pulldown-cmark pads short
/// rows, so this is the check that catches a missing or extra cell.
fn assert_tables_well_formed(md: &str) -> usize {
    let cells = |line: &str| {
        let mut n = 0;
        let mut prev = ' ';
        for ch in line.chars() {
            if ch == '|' && prev != '\\' {
                n += 1;
            }
            prev = ch;
        }
        n - 1
    };
    let sep = regex::Regex::new(r"^\|( *:?-{3,}:? *\|)+$").unwrap();
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    let mut count = 0;
    while i < lines.len() {
        if lines[i].starts_with('|') {
            let start = i;
            while i < lines.len() && lines[i].starts_with('|') {
                i += 1;
            }
            let block = &lines[start..i];
            assert!(block.len() >= 3, "table without body at line {}", start + 1);
            assert!(sep.is_match(block[1]), "bad separator: {}", block[1]);
            let n = cells(block[0]);
            for l in block {
                assert_eq!(
                    cells(l),
                    n,
                    "cell count differs in table at line {}: {l}",
                    start + 1
                );
                assert!(l.ends_with('|'), "row does not end with a pipe: {l}");
            }
            assert!(
                start == 0 || lines[start - 1].is_empty(),
                "no blank line before table"
            );
            count += 1;
        } else {
            i += 1;
        }
    }
    count
}

fn fmt_pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn fmt_ci(c: [f64; 2]) -> String {
    format!("{:.1}–{:.1}%", c[0] * 100.0, c[1] * 100.0)
}

#[test]
fn markdown_snapshot() {
    let (md, _, _) = render_all(&realistic());
    insta::assert_snapshot!("realistic_markdown", md);
}

#[test]
fn pass_rate_svg_snapshot() {
    let charts = render_charts(&realistic());
    let c = charts
        .iter()
        .find(|c| c.kind == ChartKind::PassRate)
        .unwrap();
    insta::assert_snapshot!("realistic_pass_rate_svg", c.svg);
}

#[test]
fn tables_are_well_formed_and_show_the_input_figures() {
    for w in [realistic(), twenty_vs_eighteen()] {
        let (md, _, _) = render_all(&w);
        let n = assert_tables_well_formed(&md);
        let tables = parse_tables(&md);
        assert_eq!(n, tables.len(), "every source table parses as a table");
        for t in &tables {
            assert_eq!(t.header.len(), t.columns);
            for r in &t.rows {
                assert_eq!(r.len(), t.columns, "{r:?}");
            }
        }
        // The raw table is the first with a Batch column; its rows are the batches and total.
        let batch_tables: Vec<&ParsedTable> =
            tables.iter().filter(|t| t.header[0] == "Batch").collect();
        let raw = batch_tables[0];
        assert_eq!(
            raw.header,
            ["Batch", "Rounds", "Pass", "Fail", "Pass rate", "95% CI"]
        );
        let expect = |r: &RateRow| {
            vec![
                r.label.clone(),
                r.rounds.to_string(),
                r.pass.to_string(),
                (r.rounds - r.pass).to_string(),
                fmt_pct(r.rate),
                fmt_ci(r.ci),
            ]
        };
        let mut want: Vec<Vec<String>> = w.raw_batches.iter().map(expect).collect();
        want.push(expect(&w.raw_total));
        assert_eq!(raw.rows, want);
        if w.retry_total.rounds > 0 {
            let mut want: Vec<Vec<String>> = w.retry_batches.iter().map(expect).collect();
            want.push(expect(&w.retry_total));
            assert_eq!(batch_tables[1].rows, want);
        } else {
            assert_eq!(batch_tables.len(), 1, "no retry table without retry rounds");
        }
    }
    // And the literal figures of the hand-written writeup.
    let (md, _, _) = render_all(&realistic());
    let tables = parse_tables(&md);
    let total = tables[0].rows.last().unwrap();
    assert_eq!(total, &["Total", "30", "15", "15", "50.0%", "33.2–66.8%"]);
    let retry_total = tables[1].rows.last().unwrap();
    assert_eq!(
        retry_total,
        &["Total", "30", "29", "1", "96.7%", "83.3–99.4%"]
    );
    let eff = tables.iter().find(|t| t.header[1] == "Mean").unwrap();
    // The median 14.45 is 14.4499... as an f64, so it prints as 14.4%.
    assert_eq!(
        eff.rows[0],
        ["20", "14.4%", "14.4%", "13.4%", "15.1%", "0.41", "1.7"]
    );
    let cmp = tables.iter().find(|t| t.header[0] == "Metric").unwrap();
    assert_eq!(cmp.header[1..3], ["1820-1849", "1850-1879"]);
    let eventual = cmp
        .rows
        .iter()
        .find(|r| r[0].starts_with("Eventual"))
        .unwrap();
    assert_eq!(
        eventual[1..],
        [
            "50.0% (33.2–66.8%) 15/30",
            "96.7% (83.3–99.4%) 29/30",
            "<\u{a0}0.0001", // no-break space: stays on one line
            "better",
            "–"
        ]
    );
    // Signatures hold ` | `: the escaped pipes must come back as one cell.
    let crash = tables.iter().find(|t| t.header[1] == "Pattern").unwrap();
    assert_eq!(crash.rows[0][5], SIG_98);
    assert_eq!(crash.rows[0][2], "8");
    assert_eq!(crash.rows[0][3], "26.7");
}

#[test]
fn every_chart_parses_as_xml_and_is_linked() {
    for w in [realistic(), twenty_vs_eighteen()] {
        let (md, _, charts) = render_all(&w);
        let mut linked = Vec::new();
        for ev in Parser::new_ext(&md, Options::ENABLE_TABLES) {
            if let Event::Start(Tag::Image { dest_url, .. }) = ev {
                linked.push(dest_url.to_string());
            }
        }
        let files: Vec<String> = charts.iter().map(|c| c.file_name.clone()).collect();
        assert_eq!(linked, files, "each chart linked once, nothing else");
        for c in &charts {
            let doc = roxmltree::Document::parse(&c.svg)
                .unwrap_or_else(|e| panic!("{} is not XML: {e}", c.file_name));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "svg");
            assert!(root.attribute("viewBox").is_some());
            let texts: Vec<&str> = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .filter_map(|n| n.text())
                .collect();
            assert!(
                texts.contains(&c.title.as_str()),
                "{} has its title",
                c.file_name
            );
        }
    }
    // 20/20 vs 18/20 has no efficiency: that chart is neither made nor linked.
    let charts = render_charts(&twenty_vs_eighteen());
    assert!(charts.iter().all(|c| c.kind != ChartKind::Efficiency));
    assert_eq!(render_charts(&realistic()).len(), 3);
}

#[test]
fn svg_text_is_escaped() {
    let mut w = realistic();
    w.raw_batches[0].label = "<b>&\"x\"".into();
    w.bucket_counts_by_fix[0].bucket = "a<b>&c".into();
    for c in render_charts(&w) {
        roxmltree::Document::parse(&c.svg).unwrap();
        assert!(!c.svg.contains("<b>"));
    }
}

#[test]
fn pass_rate_chart_shows_the_figures() {
    let charts = render_charts(&realistic());
    let c = charts
        .iter()
        .find(|c| c.kind == ChartKind::PassRate)
        .unwrap();
    let doc = roxmltree::Document::parse(&c.svg).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for want in [
        "50.0%",
        "96.7%",
        "15/30",
        "29/30",
        "70.0%",
        "1830-1849",
        "1860-1879",
        "Total",
    ] {
        assert!(texts.contains(&want), "missing {want} in {texts:?}");
    }
    // Two series in the legend.
    assert!(texts.contains(&"raw (first attempt)"));
    assert!(texts.contains(&"with retries (eventual)"));
}

// Issue 15: the bucket chart shows crashes per 100 rounds with whiskers, not raw counts: 12
// crashes of agx-null-impl-0x98 in native's 30 rounds is 40 per 100, Garwood's 95% interval
// chi2.ppf(0.025,24)/2*100/30 .. chi2.ppf(0.975,26)/2*100/30 = 20.7 .. 69.9 (the figures of
// stats::intervals::crash_rate_scales_to_100_rounds); 17 in v2.3's 60 rounds is 28.3.
#[test]
fn bucket_chart_shows_rates_with_whiskers() {
    let charts = render_charts(&realistic());
    let c = charts
        .iter()
        .find(|c| c.kind == ChartKind::BucketsByFix)
        .unwrap();
    let doc = roxmltree::Document::parse(&c.svg).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") || n.has_tag_name("title"))
        .filter_map(|n| n.text())
        .collect();
    assert!(texts.contains(&"crashes per 100 rounds"), "{texts:?}");
    assert!(texts.contains(&"12/30"), "{texts:?}");
    assert!(texts.contains(&"17/60"), "{texts:?}");
    assert!(
        texts.contains(
            &"agx-null-impl-0x98 under native: 12 crashes in 30 rounds, 40.0 per 100 rounds (95% CI 20.7–69.9)"
        ),
        "{texts:?}"
    );
    // One whisker per bar: a bar for every fix × bucket entry with a rate.
    let bars = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    let whiskers = doc.descendants().filter(|n| n.has_tag_name("path")).count();
    let entries = realistic().bucket_counts_by_fix.len();
    assert_eq!(whiskers, entries);
    assert!(bars >= entries);
    // No rounds known (an old writeup's JSON): no rate, so no chart rather than counts.
    let mut w = realistic();
    for e in &mut w.bucket_counts_by_fix {
        e.rate = None;
    }
    assert!(render_charts(&w)
        .iter()
        .all(|c| c.kind != ChartKind::BucketsByFix));
}

const OVERCLAIMS: [&str; 5] = [
    "improved",
    "better",
    "stable",
    "counterproductive",
    "stability",
];

#[test]
fn twenty_vs_eighteen_is_not_distinguishable_yet() {
    let w = twenty_vs_eighteen();
    let (md, json, charts) = render_all(&w);
    let lower = md.to_lowercase();
    for word in OVERCLAIMS {
        assert!(!lower.contains(word), "markdown says {word:?}:\n{md}");
    }
    let json_text = json.to_string().to_lowercase();
    for word in OVERCLAIMS {
        assert!(!json_text.contains(word), "json says {word:?}");
    }
    for c in &charts {
        for word in OVERCLAIMS {
            assert!(!c.svg.to_lowercase().contains(word));
        }
    }
    assert!(md.contains("not distinguishable yet"));
    // 74 per side in total, 20 already run on each: 54 more per side.
    assert!(
        md.contains("about 54 more rounds per side would tell (74 per side in all)"),
        "{md}"
    );
    assert!(md.contains("Fisher exact p = 0.49"));
    let want = "Pass rate (no round passed on a retry, so raw and eventual are the same): \
                1900-1919 (v2.3) and 1880-1899 (v2.2) are not distinguishable yet (1900-1919 \
                (v2.3) 90.0%, 18/20; 1880-1899 (v2.2) 100.0%, 20/20; Fisher exact p = 0.49); \
                about 54 more rounds per side would tell (74 per side in all).";
    assert!(md.contains(want), "{md}");
    // Raw and eventual coincide without retries: said once, not twice.
    let summary = json["summary"].as_array().unwrap();
    assert_eq!(
        summary
            .iter()
            .filter(|s| s.as_str().unwrap().contains("Fisher"))
            .count(),
        1
    );
}

#[test]
fn fifteen_of_thirty_vs_twenty_nine_of_thirty_is_better() {
    let (md, json, _) = render_all(&realistic());
    let want = "Eventual pass rate (with retries): 1850-1879 is better than 1820-1849, Fisher \
                exact p < 0.0001 (1850-1879 96.7%, 29/30; 1820-1849 50.0%, 15/30).";
    assert!(md.contains(want), "{md}");
    let findings = json["key_findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f == want));
    // The raw rates (15/30 vs 16/30) are not told apart, with the honest (large) round count.
    assert!(md.contains(
        "not distinguishable yet (1850-1879 53.3%, 16/30; 1820-1849 50.0%, 15/30; Fisher exact \
         p = 1.0); about 3497 more rounds per side would tell (3527 per side in all)"
    ));
    let lower = md.to_lowercase();
    for word in ["improved", "stable", "counterproductive", "stability"] {
        assert!(!lower.contains(word), "says {word:?}");
    }
    // The first key finding is backed by the table's figures.
    assert!(md.contains("1. Raw pass rate 50.0% (95% CI 33.2–66.8%, 15/30); by batch from 40.0% (1830-1849, 8/20) to 70.0% (1820-1829, 7/10)."));
}

#[test]
fn three_of_five_vs_twenty_of_twenty_never_says_stability() {
    let mut w = twenty_vs_eighteen();
    let c = w.comparison.as_mut().unwrap();
    c.a_label = "v2.2".into();
    c.b_label = "v2.3".into();
    c.a.rounds = 5;
    c.a.raw_pass = 3;
    c.a.raw_rate = 0.6;
    c.a.raw_ci = CI_3_5;
    c.a.eventual_pass = 3;
    c.a.eventual_rate = 0.6;
    c.a.eventual_ci = CI_3_5;
    c.b.raw_pass = 20;
    c.b.raw_rate = 1.0;
    c.b.raw_ci = CI_20_20;
    c.b.eventual_pass = 20;
    c.b.eventual_rate = 1.0;
    c.b.eventual_ci = CI_20_20;
    let v = Verdict {
        p_value: P_3_5_VS_20_20,
        verdict: VerdictKind::Better,
        rounds_needed: None,
    };
    c.raw = v;
    c.eventual = v;
    let (md, _, _) = render_all(&w);
    assert!(
        md.contains("v2.3 is better than v2.2, Fisher exact p = 0.033"),
        "{md}"
    );
    assert!(md.contains("100.0% (83.9–100.0%) 20/20"));
    assert!(!md.to_lowercase().contains("stability"));
}

#[test]
fn json_is_the_model_plus_the_sentences() {
    let w = realistic();
    let (md, json, _) = render_all(&w);
    let back: Writeup = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, w);
    assert_eq!(json["raw_total"]["pass"], 15);
    assert_eq!(json["comparison"]["eventual"]["verdict"], "better");
    // Every key finding is in the markdown's numbered list, in order.
    for (i, f) in json["key_findings"].as_array().unwrap().iter().enumerate() {
        let line = format!("{}. ", i + 1);
        let found = md.lines().find(|l| l.starts_with(&line)).unwrap();
        // The markdown escapes punctuation; compare without the backslashes.
        assert_eq!(found[line.len()..].replace('\\', ""), f.as_str().unwrap());
    }
    assert!(json["summary"].as_array().unwrap().len() >= 4);
}

#[test]
fn redaction_leaves_no_user_or_host_name() {
    let mut w = realistic();
    w.fixes = vec![fix_v23("/Users/alice/agx_fix/build/libagx_fix_v2_3.dylib")];
    w.title = "Verification rounds 1820-1849 on Alices-MacBook-Pro.local".into();
    w.buckets[0].stack.push(
        "6  libtorch_cpu.dylib  /home/bob/venv/lib/python3.12/site-packages/torch/lib/libtorch_cpu.dylib".into(),
    );
    w.config
        .push(("Host".into(), "Alices-MacBook-Pro.local".into()));
    w.config
        .push(("Runner".into(), "buildbox7 (alice@example.com)".into()));
    w.config
        .push(("Python".into(), "/Users/alice/venv/bin/python3".into()));
    w.config.push(("Owner".into(), "alice".into()));
    w.report_links = Some("file:///Users/alice/reports/".into());
    let mut r = Redactor::new().unwrap();
    r.register_host("buildbox7");
    r.redact_writeup(&mut w).unwrap();
    let (md, json, charts) = render_all(&w);
    let mut outputs = vec![md.clone(), serde_json::to_string_pretty(&json).unwrap()];
    outputs.extend(charts.iter().map(|c| c.svg.clone()));
    // Names as whole words (`bob` is inside `libobjc`), paths and host parts as substrings.
    let words = regex::Regex::new(r"(?i)\b(alice|alices|bob|buildbox7)\b").unwrap();
    for out in &outputs {
        assert!(!words.is_match(out), "{:?} leaked:\n{out}", words.find(out));
        let lower = out.to_lowercase();
        for leak in ["/users/alice", "/home/bob", "macbook", "alice@"] {
            assert!(!lower.contains(leak), "{leak} leaked:\n{out}");
        }
    }
    // Same input, same pseudonym: both /Users/alice paths became /Users/user1.
    assert!(md.contains("/Users/user1/agx_fix/build/libagx_fix_v2_3.dylib"));
    assert!(md.contains("/Users/user1/venv/bin/python3"));
    assert!(md.contains("/home/user2/venv"));
    assert!(md.contains("host2.local") || md.contains("host1.local"));
    assert!(md.contains("email1@example.invalid"));
    // Figures are untouched.
    assert!(md.contains("| **Total** | **30** | **15** | **15** | **50.0%** | **33.2–66.8%** |"));
}

#[test]
fn an_empty_writeup_renders_without_charts() {
    let mut w = twenty_vs_eighteen();
    w.raw_batches.clear();
    w.raw_total = RateRow {
        label: "Total".into(),
        rounds: 0,
        pass: 0,
        rate: f64::NAN,
        ci: [f64::NAN, f64::NAN],
    };
    w.buckets.clear();
    w.bucket_counts_by_fix.clear();
    w.comparison = None;
    w.fixes.clear();
    let (md, json, charts) = render_all(&w);
    assert!(charts.is_empty());
    assert!(!md.contains("!["));
    assert!(md.contains("No crash report was attributed to these rounds."));
    assert!(md.contains("No fix dylib was loaded (native)."));
    assert!(md.contains("No comparison figures were given."));
    assert_tables_well_formed(&md);
    assert!(json["raw_total"]["rate"].is_null());
}

/// Writes the realistic writeup as a folder; `AGX_TRIAGE_WRITEUP_OUT=DIR` keeps it (the
/// screenshot script `docs/render-writeup.sh --sample` uses this).
#[test]
fn writes_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("AGX_TRIAGE_WRITEUP_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("writeup"));
    let files = write_folder(&realistic(), &dir).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "pass-rate.svg",
            "efficiency.svg",
            "buckets-by-fix.svg",
            "report.md",
            "report.json"
        ]
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for ev in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        if let Event::Start(Tag::Image { dest_url, .. }) = ev {
            assert!(dir.join(dest_url.as_ref()).is_file(), "{dest_url} missing");
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["format"], "agx-triage-writeup/1");
}

#[test]
fn the_table_check_catches_bad_rows() {
    // An extra cell, and a signature whose pipe was not escaped: both must be caught.
    let extra = "\n| a | b |\n| --- | --- |\n| 1 | 2 | 3 |\n";
    let pipe = "\n| a | b |\n| --- | --- |\n| `x | y` | 2 |\n";
    let good = "\n| a | b |\n| --- | --- |\n| `x \\| y` | 2 |\n";
    assert!(std::panic::catch_unwind(|| assert_tables_well_formed(extra)).is_err());
    assert!(std::panic::catch_unwind(|| assert_tables_well_formed(pipe)).is_err());
    assert_eq!(assert_tables_well_formed(good), 1);
}

// Regression: a registered build whose name the rounds used was presented with its checksums
// and UUIDs as the build that crashed, though the crash reports had loaded another build.
#[test]
fn a_fix_whose_reports_loaded_another_build_says_so() {
    let mut w = realistic();
    let plain = render_markdown(&w, &[]);
    assert!(!plain.contains("Not the build that crashed"));
    w.fixes[0].other_build_reports = 3;
    let md = render_markdown(&w, &[]);
    assert!(
        md.contains("**Not the build that crashed:** 3 crash report(s) of rounds run as"),
        "{md}"
    );
    assert_eq!(
        render_json(&w).unwrap()["fixes"][0]["other_build_reports"],
        3
    );
}
