//! The picture of a block window: the vault's NAV, share price and risk mode at every pinned
//! block, as three stacked panels in one self-contained SVG (no script, no external font).
//! [`history`] draws the same panels over a longer series (the local chain's whole market
//! history) with the pinned blocks marked by vertical lines.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The vault at one block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub block: u64,
    pub timestamp: u64,
    /// USDT, whole units.
    pub nav: f64,
    /// USDT per share.
    pub share_price: f64,
    /// 0 NORMAL, 1 ONLY_UNWIND.
    pub risk_mode: u8,
}

const WIDTH: f64 = 900.0;
const PANEL: f64 = 150.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const GAP: f64 = 40.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A block to mark across the panels (a pinned block), with a short label.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub block: u64,
    pub label: String,
}

/// Series longer than this are drawn as lines only (plus a dot at every marked block).
const MAX_DOTS: usize = 80;

/// Render the window; `title` names the run. Every point is a pinned block and gets a dot.
pub fn window(title: &str, points: &[Point]) -> String {
    render(title, points, &[])
}

/// Render a series with `marks` (the pinned blocks) drawn as dashed vertical lines.
pub fn history(title: &str, points: &[Point], marks: &[Mark]) -> String {
    render(title, points, marks)
}

fn render(title: &str, points: &[Point], marks: &[Mark]) -> String {
    let height = TOP + 3.0 * PANEL + 3.0 * GAP + 20.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="15">{}</text>"#,
        escape(title)
    );
    if points.is_empty() {
        let _ = writeln!(
            svg,
            r#"<text x="{LEFT}" y="{}">no pinned block</text></svg>"#,
            TOP + 20.0
        );
        return svg;
    }
    let (b0, b1) = (
        points[0].block as f64,
        points[points.len() - 1].block as f64,
    );
    let x = |block: u64| LEFT + (block as f64 - b0) / (b1 - b0).max(1.0) * (WIDTH - LEFT - RIGHT);
    type Series = fn(&Point) -> f64;
    let panels: [(&str, Series, &str); 3] = [
        ("NAV (USDT)", |p| p.nav, "#1f77b4"),
        ("share price (USDT)", |p| p.share_price, "#2ca02c"),
        (
            "risk mode (1 = ONLY_UNWIND)",
            |p| f64::from(p.risk_mode),
            "#d62728",
        ),
    ];
    for (i, (label, value, colour)) in panels.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL + GAP);
        let values: Vec<f64> = points.iter().map(value).collect();
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        if i == 2 {
            (lo, hi) = (0.0, 1.0);
        }
        if (hi - lo).abs() < f64::EPSILON {
            (lo, hi) = (lo - 1.0, hi + 1.0);
        }
        let y = |v: f64| top + PANEL - (v - lo) / (hi - lo) * PANEL;
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="{PANEL}" fill="none" stroke="#ccc"/>"##,
            WIDTH - LEFT - RIGHT
        );
        let _ = writeln!(
            svg,
            r#"<text x="{LEFT}" y="{}">{}</text>"#,
            top - 6.0,
            escape(label)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            top + 10.0,
            fmt_value(hi)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            top + PANEL,
            fmt_value(lo)
        );
        let path: Vec<String> = points
            .iter()
            .zip(&values)
            .map(|(p, v)| format!("{:.1},{:.1}", x(p.block), y(*v)))
            .collect();
        let shape = if i == 2 {
            "stroke-linejoin=\"miter\""
        } else {
            "stroke-linejoin=\"round\""
        };
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" {shape} points="{}"/>"#,
            path.join(" ")
        );
        let dots = points.len() <= MAX_DOTS;
        for (p, v) in points.iter().zip(&values) {
            if !dots && !marks.iter().any(|m| m.block == p.block) {
                continue;
            }
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"><title>block {}: {}</title></circle>"#,
                x(p.block),
                y(*v),
                p.block,
                fmt_value(*v)
            );
        }
    }
    let bottom = TOP + 3.0 * PANEL + 2.0 * GAP + 16.0;
    for mark in marks
        .iter()
        .filter(|m| (b0..=b1).contains(&(m.block as f64)))
    {
        let mx = x(mark.block);
        let _ = writeln!(
            svg,
            r##"<line class="pin" x1="{mx:.1}" y1="{}" x2="{mx:.1}" y2="{}" stroke="#555" stroke-width="1" stroke-dasharray="4 3"><title>pinned block {} ({})</title></line>"##,
            TOP - 4.0,
            bottom - 14.0,
            mark.block,
            escape(&mark.label)
        );
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{}" font-size="10" fill="#555">{}</text>"##,
            mx + 3.0,
            TOP + 3.0 * PANEL + 2.0 * GAP + 4.0,
            escape(&mark.label)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="{bottom}">block {}</text>"#,
        points[0].block
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{bottom}" text-anchor="end">block {}</text>"#,
        WIDTH - RIGHT,
        points[points.len() - 1].block
    );
    svg.push_str("</svg>\n");
    svg
}

fn fmt_value(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_is_drawn_in_every_panel() {
        let points: Vec<Point> = (0..5)
            .map(|i| Point {
                block: 100 + i * 10,
                timestamp: i,
                nav: 1e6 - i as f64,
                share_price: 1.0,
                risk_mode: u8::from(i == 3),
            })
            .collect();
        let svg = window("run <1>", &points);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert_eq!(svg.matches("<circle").count(), 15);
        assert!(svg.contains("run &lt;1&gt;"), "titles are escaped");
        assert!(
            svg.contains("block 130: 1.0000"),
            "the ONLY_UNWIND point is labelled"
        );
        assert!(
            !svg.contains("class=\"pin\""),
            "a window marks no extra block"
        );
    }

    #[test]
    fn a_long_history_marks_its_pinned_blocks_and_dots_only_them() {
        let points: Vec<Point> = (0..400)
            .map(|i| Point {
                block: 1000 + i,
                timestamp: i,
                nav: 1e6 + i as f64,
                share_price: 1.0 + i as f64 / 1e4,
                risk_mode: 0,
            })
            .collect();
        let marks = [
            Mark {
                block: 1100,
                label: "calm".into(),
            },
            Mark {
                block: 1300,
                label: "<crash>".into(),
            },
            // Outside the series: not drawn.
            Mark {
                block: 9000,
                label: "far".into(),
            },
        ];
        let svg = history("h", &points, &marks);
        assert_eq!(svg.matches("class=\"pin\"").count(), 2);
        assert_eq!(
            svg.matches("<circle").count(),
            6,
            "a dot per panel per mark"
        );
        assert!(svg.contains("pinned block 1300 (&lt;crash&gt;)"));
        assert!(!svg.contains("far"));
    }
}
