//! Standalone SVG charts for a writeup, written by hand.
//!
//! Three charts, each a small self-contained file placed next to the markdown: pass rate per
//! batch with 95% interval whiskers (raw and with retries side by side), efficiency per round,
//! and crashes per 100 rounds per bucket and fix version with exact 95% interval whiskers
//! (rates, not counts: fix versions run different numbers of rounds). No plotting crate: the charts are simple, and
//! hand-written SVG stays small, diffable and free of fonts or scripts. Every text is
//! XML-escaped; a chart with no data is not produced (and so not linked).

use super::model::{RateRow, Writeup};
use super::wording::{pct, pct_opt, pct_value};
use super::{Chart, ChartKind};
use std::fmt::Write as _;

const W: f64 = 800.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 92.0;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
const PALETTE: [&str; 7] = [
    "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
];
const INK: &str = "#222222";
const GRID: &str = "#e3e3e3";

/// Render every chart the writeup has data for.
pub fn render_charts(w: &Writeup) -> Vec<Chart> {
    let mut out = Vec::new();
    if let Some(svg) = pass_rate_chart(w) {
        out.push(Chart {
            kind: ChartKind::PassRate,
            file_name: "pass-rate.svg".to_string(),
            title: PASS_RATE_TITLE.to_string(),
            svg,
        });
    }
    if let Some(svg) = efficiency_chart(w) {
        out.push(Chart {
            kind: ChartKind::Efficiency,
            file_name: "efficiency.svg".to_string(),
            title: EFFICIENCY_TITLE.to_string(),
            svg,
        });
    }
    if let Some(svg) = buckets_chart(w) {
        out.push(Chart {
            kind: ChartKind::BucketsByFix,
            file_name: "buckets-by-fix.svg".to_string(),
            title: BUCKETS_TITLE.to_string(),
            svg,
        });
    }
    out
}

const PASS_RATE_TITLE: &str = "Pass rate per batch with 95% Wilson intervals";
const EFFICIENCY_TITLE: &str = "Efficiency per round";
const BUCKETS_TITLE: &str = "Crashes per 100 rounds by bucket and fix version";

/// Escape text for XML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Layout whitespace: one line of chart text.
            '\n' | '\t' | '\r' => out.push(' '),
            // XML 1.0 forbids C0 controls and U+FFFE/U+FFFF; bidi overrides would reverse the
            // label: shown as escapes (`\u{fffe}`) so every chart parses and reads true.
            c if super::is_unsafe_char(c) => out.push_str(&super::visible_escape(c)),
            c => out.push(c),
        }
    }
    out
}

/// Shorten a label for an axis.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The SVG document, its title, subtitle, and the legend (name, colour) at the top right.
struct Doc {
    body: String,
}

impl Doc {
    fn new(title: &str, subtitle: &str, legend: &[(String, &str)]) -> Self {
        let mut body = String::new();
        let _ = write!(
            body,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" \
             height=\"{H}\" font-family=\"{FONT}\" role=\"img\" aria-label=\"{t}\">\n\
             <title>{t}</title>\n\
             <rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>\n\
             <text x=\"{LEFT}\" y=\"28\" font-size=\"18\" font-weight=\"600\" fill=\"{INK}\">{t}</text>\n",
            t = esc(title)
        );
        if !subtitle.is_empty() {
            let _ = writeln!(
                body,
                "<text x=\"{LEFT}\" y=\"48\" font-size=\"12\" fill=\"#555555\">{}</text>",
                esc(subtitle)
            );
        }
        // Legend entries laid out right to left so they end at the right margin.
        let mut x = W - RIGHT;
        for (name, colour) in legend.iter().rev() {
            let width = 7.0 * name.chars().count() as f64 + 22.0;
            x -= width;
            let _ = writeln!(
                body,
                "<rect x=\"{x:.1}\" y=\"58\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"69\" font-size=\"12\" fill=\"{INK}\">{}</text>",
                x + 16.0,
                esc(name)
            );
            x -= 8.0;
        }
        Doc { body }
    }

    /// Horizontal grid lines, y tick labels and the rotated y-axis label.
    fn y_axis(
        &mut self,
        ticks: &[(f64, String)],
        y: &dyn Fn(f64) -> f64,
        bottom: f64,
        label: &str,
    ) {
        for (v, t) in ticks {
            let yy = y(*v);
            let _ = writeln!(
                self.body,
                "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"{GRID}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"{INK}\">{}</text>",
                W - RIGHT,
                LEFT - 8.0,
                yy + 4.0,
                esc(t)
            );
        }
        let mid = (TOP + bottom) / 2.0;
        let _ = writeln!(
            self.body,
            "<text x=\"18\" y=\"{mid:.1}\" font-size=\"13\" text-anchor=\"middle\" \
             transform=\"rotate(-90 18 {mid:.1})\" fill=\"{INK}\">{}</text>",
            esc(label)
        );
        let _ = writeln!(
            self.body,
            "<line x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"{INK}\"/>\
             <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom:.1}\" stroke=\"{INK}\"/>",
            W - RIGHT
        );
    }

    fn x_label(&mut self, label: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
            (LEFT + W - RIGHT) / 2.0,
            H - 10.0,
            esc(label)
        );
    }

    fn finish(mut self) -> String {
        self.body.push_str("</svg>\n");
        self.body
    }
}

/// A "nice" step (1, 2, 2.5 or 5 × 10^k) giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn pass_rate_chart(w: &Writeup) -> Option<String> {
    // Categories in order: raw batches, retry batches (sharing a category when the label is the
    // same), then the totals. Each holds up to one row per series (0 raw, 1 with retries).
    let mut cats: Vec<Category> = Vec::new();
    for r in w.raw_batches.iter().filter(|r| r.rounds > 0) {
        add_to_category(&mut cats, &r.label, 0, r);
    }
    for r in w.retry_batches.iter().filter(|r| r.rounds > 0) {
        add_to_category(&mut cats, &r.label, 1, r);
    }
    let mut total: [Option<&RateRow>; 2] = [None, None];
    if w.raw_total.rounds > 0 {
        total[0] = Some(&w.raw_total);
    }
    if w.retry_total.rounds > 0 {
        total[1] = Some(&w.retry_total);
    }
    if total.iter().any(Option::is_some) {
        cats.push(("Total".to_string(), total));
    }
    if cats.is_empty() {
        return None;
    }
    let has = |s: usize| cats.iter().any(|c| c.1[s].is_some());
    let series_names = ["raw (first attempt)", "with retries (eventual)"];
    let legend: Vec<(String, &str)> = (0..2)
        .filter(|&s| has(s))
        .map(|s| (series_names[s].to_string(), PALETTE[s]))
        .collect();
    let mut doc = Doc::new(
        PASS_RATE_TITLE,
        "bars: pass rate; whiskers: 95% Wilson interval; below each bar: passes/rounds",
        &legend,
    );
    let bottom = H - 80.0;
    let y = |v: f64| bottom - (bottom - TOP) * v.clamp(0.0, 1.0);
    let ticks: Vec<(f64, String)> = (0..=5)
        .map(|i| (i as f64 * 0.2, format!("{}%", i * 20)))
        .collect();
    doc.y_axis(&ticks, &y, bottom, "pass rate (%)");
    let plot_w = W - RIGHT - LEFT;
    let cat_w = plot_w / cats.len() as f64;
    let bar_w = (cat_w * 0.32).min(56.0);
    for (i, (label, slots)) in cats.iter().enumerate() {
        let cx = LEFT + cat_w * (i as f64 + 0.5);
        let present: Vec<usize> = (0..2).filter(|&s| slots[s].is_some()).collect();
        for (k, &s) in present.iter().enumerate() {
            let Some(r) = slots[s] else { continue };
            let offset = if present.len() == 2 {
                (k as f64 - 0.5) * (bar_w + 6.0)
            } else {
                0.0
            };
            let bx = cx + offset;
            let top = y(r.rate);
            let _ = writeln!(
                doc.body,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"0.85\"><title>{}</title></rect>",
                bx - bar_w / 2.0,
                (bottom - top).max(0.0),
                PALETTE[s],
                esc(&format!(
                    "{} {}: {} ({}/{}), 95% CI {}",
                    label,
                    series_names[s],
                    pct(r.rate),
                    r.pass,
                    r.rounds,
                    super::wording::ci(r.ci)
                ))
            );
            if r.ci[0].is_finite() && r.ci[1].is_finite() {
                let (y0, y1) = (y(r.ci[0]), y(r.ci[1]));
                let _ = writeln!(
                    doc.body,
                    "<path d=\"M{bx:.1} {y0:.1}V{y1:.1}M{:.1} {y0:.1}h10M{:.1} {y1:.1}h10\" stroke=\"{INK}\" stroke-width=\"1.5\" fill=\"none\"/>",
                    bx - 5.0,
                    bx - 5.0
                );
            }
            let label_y = if r.ci[1].is_finite() { y(r.ci[1]) } else { top } - 6.0;
            let _ = writeln!(
                doc.body,
                "<text x=\"{bx:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>\
                 <text x=\"{bx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555555\">{}/{}</text>",
                label_y.max(TOP - 4.0),
                esc(&pct(r.rate)),
                bottom + 15.0,
                r.pass,
                r.rounds
            );
        }
        let weight = if label == "Total" {
            " font-weight=\"600\""
        } else {
            ""
        };
        let _ = writeln!(
            doc.body,
            "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"{INK}\"{weight}>{}</text>",
            bottom + 34.0,
            esc(&short(label, (cat_w / 7.5) as usize))
        );
    }
    doc.x_label("batch (rounds)");
    Some(doc.finish())
}

/// One bar per series per category; a label seen again in the other series shares its category.
type Category<'a> = (String, [Option<&'a RateRow>; 2]);

fn add_to_category<'a>(cats: &mut Vec<Category<'a>>, label: &str, series: usize, r: &'a RateRow) {
    if let Some(c) = cats
        .iter_mut()
        .find(|c| c.0 == label && c.1[series].is_none())
    {
        c.1[series] = Some(r);
    } else {
        let mut slots = [None, None];
        slots[series] = Some(r);
        cats.push((label.to_string(), slots));
    }
}

fn efficiency_chart(w: &Writeup) -> Option<String> {
    let pts: Vec<(u64, f64)> = w
        .efficiency_by_round
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    if pts.is_empty() {
        return None;
    }
    let (mut lo, mut hi) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, v)| {
        (a.min(*v), b.max(*v))
    });
    let pad = ((hi - lo) * 0.15).max(0.5);
    lo -= pad;
    hi += pad;
    // Stored figures may be absurd (±1e308): keep the axis span finite so the ticks stay a
    // handful (an infinite span asked for i64::MAX of them); such points land off the chart.
    lo = lo.max(-f64::MAX / 4.0);
    hi = hi.min(f64::MAX / 4.0);
    let step = nice_step(hi - lo, 5.0);
    let lo = (lo / step).floor() * step;
    let hi = (hi / step).ceil() * step;
    let (r0, r1) = pts
        .iter()
        .fold((u64::MAX, 0u64), |(a, b), (r, _)| (a.min(*r), b.max(*r)));
    let (x0, x1) = if r0 == r1 {
        (r0 as f64 - 1.0, r1 as f64 + 1.0)
    } else {
        (r0 as f64, r1 as f64)
    };
    let mut legend = vec![("per round".to_string(), PALETTE[0])];
    let mean = w
        .efficiency
        .as_ref()
        .and_then(|e| e.mean)
        .filter(|m| m.is_finite());
    if let Some(m) = mean {
        legend.push((format!("mean {}", pct_value(m)), PALETTE[5]));
    }
    let subtitle = match &w.efficiency {
        Some(e) => format!(
            "mean {}, median {}, min {}, max {}, n = {}",
            pct_opt(e.mean),
            pct_opt(e.median),
            pct_opt(e.min),
            pct_opt(e.max),
            e.n
        ),
        None => String::new(),
    };
    let mut doc = Doc::new(EFFICIENCY_TITLE, &subtitle, &legend);
    let bottom = H - 60.0;
    let y = |v: f64| bottom - (bottom - TOP) * (v - lo) / (hi - lo);
    let inner_l = LEFT + 16.0;
    let inner_r = W - RIGHT - 16.0;
    let x = |r: f64| inner_l + (inner_r - inner_l) * (r - x0) / (x1 - x0);
    let decimals: usize = if step < 1.0 { 1 } else { 0 };
    let n_ticks = ((hi - lo) / step).round().clamp(0.0, 50.0) as i64;
    let ticks: Vec<(f64, String)> = (0..=n_ticks)
        .map(|i| {
            let v = lo + step * i as f64;
            (v, format!("{v:.decimals$}%"))
        })
        .collect();
    doc.y_axis(&ticks, &y, bottom, "efficiency (%)");
    // Round numbers are integers: a 2.5 step would give ticks at 1862.5.
    let xstep = match nice_step(x1 - x0, 8.0) {
        s if s < 1.0 => 1.0,
        2.5 => 2.0,
        s => s.round(),
    };
    let mut t = (x0 / xstep).ceil() * xstep;
    while t <= x1 {
        let xx = x(t);
        let _ = writeln!(
            doc.body,
            "<line x1=\"{xx:.1}\" y1=\"{bottom:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"{INK}\"/>\
             <text x=\"{xx:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"{INK}\">{t:.0}</text>",
            bottom + 5.0,
            bottom + 19.0
        );
        t += xstep;
    }
    {
        if let Some(m) = mean {
            let ym = y(m);
            let _ = writeln!(
                doc.body,
                "<line x1=\"{LEFT}\" y1=\"{ym:.1}\" x2=\"{:.1}\" y2=\"{ym:.1}\" stroke=\"{}\" \
                 stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
                W - RIGHT,
                PALETTE[5],
            );
        }
    }
    let path: Vec<String> = pts
        .iter()
        .map(|(r, v)| format!("{:.1},{:.1}", x(*r as f64), y(*v)))
        .collect();
    let _ = writeln!(
        doc.body,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" stroke-opacity=\"0.6\"/>",
        path.join(" "),
        PALETTE[0]
    );
    for (r, v) in &pts {
        let _ = writeln!(
            doc.body,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\"><title>round {r}: {}</title></circle>",
            x(*r as f64),
            y(*v),
            PALETTE[0],
            esc(&pct_value(*v))
        );
    }
    doc.x_label("round");
    Some(doc.finish())
}

fn buckets_chart(w: &Writeup) -> Option<String> {
    // Only entries whose rounds are known have a rate; a writeup without any has no chart.
    let entries: Vec<&super::model::FixBucketCount> = w
        .bucket_counts_by_fix
        .iter()
        .filter(|c| c.rate.is_some())
        .collect();
    if entries.is_empty() {
        return None;
    }
    let mut groups: Vec<&str> = Vec::new();
    let mut fixes: Vec<&str> = Vec::new();
    for c in &entries {
        if !groups.contains(&c.bucket.as_str()) {
            groups.push(&c.bucket);
        }
        if !fixes.contains(&c.fix.as_str()) {
            fixes.push(&c.fix);
        }
    }
    let entry = |g: &str, f: &str| entries.iter().find(|c| c.bucket == g && c.fix == f);
    // The axis reaches the highest whisker, so every interval is drawn whole.
    let max = entries
        .iter()
        .filter_map(|c| c.rate.map(|r| r.high))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let step = nice_step(max, 5.0);
    let top_v = (max / step).ceil() * step;
    let legend: Vec<(String, &str)> = fixes
        .iter()
        .enumerate()
        .map(|(i, f)| (f.to_string(), PALETTE[i % PALETTE.len()]))
        .collect();
    let mut doc = Doc::new(
        BUCKETS_TITLE,
        "bars: crashes per 100 rounds; whiskers: exact 95% interval; above: crashes/rounds",
        &legend,
    );
    let plot_w = W - RIGHT - LEFT;
    let group_w = plot_w / groups.len() as f64;
    // Long bucket names are rotated so neighbours do not overlap.
    let longest = groups.iter().map(|g| g.chars().count()).max().unwrap_or(0);
    let rotate = longest as f64 * 7.0 > group_w - 8.0;
    let bottom = if rotate { H - 130.0 } else { H - 70.0 };
    let y = |v: f64| bottom - (bottom - TOP) * (v / top_v).clamp(0.0, 1.0);
    let n_ticks = (top_v / step).round() as i64;
    let ticks: Vec<(f64, String)> = (0..=n_ticks)
        .map(|i| {
            (
                step * i as f64,
                super::wording::one_decimal(step * i as f64),
            )
        })
        .collect();
    doc.y_axis(&ticks, &y, bottom, "crashes per 100 rounds");
    let bar_w = ((group_w * 0.8) / fixes.len() as f64).min(48.0);
    for (gi, g) in groups.iter().enumerate() {
        let cx = LEFT + group_w * (gi as f64 + 0.5);
        let first = cx - bar_w * fixes.len() as f64 / 2.0;
        for (fi, f) in fixes.iter().enumerate() {
            let Some(c) = entry(g, f) else { continue };
            let Some(r) = c.rate else { continue };
            let bx = first + bar_w * fi as f64;
            let mid = bx + bar_w / 2.0;
            let top = y(r.per_100);
            let _ = writeln!(
                doc.body,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"0.85\"><title>{}</title></rect>",
                bx + 1.0,
                (bar_w - 2.0).max(1.0),
                (bottom - top).max(0.0),
                PALETTE[fi % PALETTE.len()],
                esc(&format!(
                    "{g} under {f}: {} crashes in {} rounds, {} per 100 rounds (95% CI {}–{})",
                    c.count,
                    c.rounds,
                    super::wording::one_decimal(r.per_100),
                    super::wording::one_decimal(r.low),
                    super::wording::one_decimal(r.high)
                ))
            );
            let (y0, y1) = (y(r.low), y(r.high));
            let _ = writeln!(
                doc.body,
                "<path d=\"M{mid:.1} {y0:.1}V{y1:.1}M{:.1} {y0:.1}h8M{:.1} {y1:.1}h8\" stroke=\"{INK}\" stroke-width=\"1.5\" fill=\"none\"/>\
                 <text x=\"{mid:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{INK}\">{}/{}</text>",
                mid - 4.0,
                mid - 4.0,
                (y1 - 5.0).max(TOP - 4.0),
                c.count,
                c.rounds
            );
        }
        // A label rotated -30° and anchored at its end reaches left about 5.6 px per
        // character: shorten the first groups' labels so they stay inside the picture.
        let room = if rotate {
            (((cx - 4.0) / 5.6) as usize).clamp(8, 32)
        } else {
            32
        };
        let label = esc(&short(g, room));
        if rotate {
            let ly = bottom + 16.0;
            let _ = writeln!(
                doc.body,
                "<text x=\"{cx:.1}\" y=\"{ly:.1}\" font-size=\"12\" text-anchor=\"end\" \
                 transform=\"rotate(-30 {cx:.1} {ly:.1})\" fill=\"{INK}\">{label}</text>"
            );
        } else {
            let _ = writeln!(
                doc.body,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"{INK}\">{label}</text>",
                bottom + 18.0
            );
        }
    }
    doc.x_label("bucket");
    Some(doc.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_xml() {
        assert_eq!(
            esc("a<b & 'c' \"d\">"),
            "a&lt;b &amp; &apos;c&apos; &quot;d&quot;&gt;"
        );
        assert_eq!(esc("x\u{1}y"), "x\\u{1}y");
        assert_eq!(
            esc("a\u{fffe}\u{202e}</svg>\nb"),
            "a\\u{fffe}\\u{202e}&lt;/svg&gt; b"
        );
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(3.0, 5.0), 1.0);
        assert_eq!(nice_step(12.0, 5.0), 2.5);
        assert_eq!(nice_step(0.0, 5.0), 1.0);
    }

    #[test]
    fn short_labels_get_an_ellipsis() {
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("abc", 4), "abc");
    }
}
