//! `report.html`: the run as one self-contained page, written next to `report.json`.
//!
//! The page is generated from the typed report ([`crate::report::Report`]) plus what else the
//! report directory holds in typed form: the local chain's history (`chain/chain.json`), the
//! window's points (`window.json`), the degraded-RPC comparison (`degraded/comparison.json`)
//! and, when given, a mutants section ([`Mutants`]). It shows
//!
//! - the verdict, resilience per block and overall, the totals;
//! - a block x experiment grid coloured by verdict;
//! - every experiment, and every check with its observed value, bound, relation and
//!   [`Margin`] (how close it came to failing);
//! - the vault's NAV, share price and risk mode with the pinned blocks marked ([`crate::report::svg`]);
//! - the degraded-RPC comparison and the mutants kill matrix when present.
//!
//! Tables sort by a click on a column head and filter by verdict, block, check and text; the
//! filter lives in the address's fragment (`report.html#verdict=disproved&block=700`), so a
//! filtered view can be linked. Without script every row is shown.
//!
//! Nothing is loaded from anywhere: CSS, script and pictures are inline, and the page's
//! Content-Security-Policy forbids every fetch and allows only its own script (by hash), so a
//! name or revert reason that slipped through escaping still could not run. Every text that
//! comes from a run (names, reasons, endpoints, labels) is escaped.

mod figures;
mod mutants;
mod page;
mod tables;

use crate::report::html::mutants::mutants;
use crate::report::html::tables::{
    blocks_table, checks_table, degraded, experiments_table, filters, grid,
};
pub use figures::{margin, Margin};
pub use mutants::{Mutant, MutantStatus, Mutants};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::report::degraded::Pair;
use crate::report::{Engine, Report, Verdict};

/// The page's file name in a report directory.
pub const FILE_NAME: &str = "report.html";

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub report: &'a Report,
    /// The vault's NAV, share price and risk mode over the run's blocks.
    pub plot: Option<Plot>,
    /// The degraded run's pairs (`degraded/comparison.json`), when the run had `--rpc-faults`.
    pub degraded_pairs: Vec<Pair>,
    /// The kill matrix of a mutants run, when there is one.
    pub mutants: Option<Mutants>,
}

/// A picture of the vault across blocks, already rendered as SVG.
#[derive(Debug, Clone)]
pub struct Plot {
    pub svg: String,
    /// What the picture shows and where its numbers come from.
    pub caption: String,
}

/// Write `report.html` for `report` into `dir`, with the side files found in `dirs`.
pub fn write(dir: &Path, report: &Report, dirs: &[&Path]) -> anyhow::Result<PathBuf> {
    let page = Page::gather(report, dirs);
    let path = dir.join(FILE_NAME);
    std::fs::write(&path, render(&page)).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

// ----------------------------------------------------------------------------------- render

/// Escape text for HTML content and attribute values (both quote kinds).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if c.is_control() && c != '\t' => {
                let _ = write!(out, "&#{};", u32::from(c).max(0x20));
            }
            c => out.push(c),
        }
    }
    out
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Held => "held",
        Verdict::Disproved => "disproved",
        Verdict::Error => "error",
        Verdict::Interrupted => "interrupted",
    }
}

/// Sort rank: the worst first.
fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Disproved => 0,
        Verdict::Error | Verdict::Interrupted => 1,
        Verdict::Held => 2,
    }
}

fn engine_word(e: Engine) -> &'static str {
    match e {
        Engine::InEvm => "in-evm",
        Engine::LiveFork => "live-fork",
    }
}

fn utc(unix: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

/// Percent-encode a value for the page's fragment (`#q=...`).
fn fragment_value(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The steady-state property a check belongs to (`S1`..`S8`), read from its name
/// (`S4_risk_mode`, `1gwei:S2_bounty_vs_nav_cap_wei`), for the check filter.
pub fn check_group(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    (0..bytes.len().saturating_sub(1)).find_map(|i| {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let ends_word = bytes.get(i + 2).is_none_or(|b| !b.is_ascii_alphanumeric());
        (starts_word && ends_word && bytes[i] == b'S' && bytes[i + 1].is_ascii_digit())
            .then(|| &name[i..i + 2])
    })
}

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// `sha256-<base64>` of the page's script, for the Content-Security-Policy.
fn script_hash() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(SCRIPT.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The whole page.
pub fn render(page: &Page<'_>) -> String {
    let r = page.report;
    let mut h = String::with_capacity(64 * 1024);
    let degradation_held = r.rpc_degradation.as_ref().is_none_or(|d| d.held());
    let (overall, overall_class) = match r.verdict {
        Verdict::Held if degradation_held => ("every hypothesis held", "held"),
        Verdict::Held => ("the degraded-RPC hypothesis was disproved", "disproved"),
        Verdict::Disproved => ("a hypothesis was disproved", "disproved"),
        Verdict::Error => ("some experiments could not run", "error"),
        Verdict::Interrupted => (
            "the run was interrupted: only what finished is shown",
            "error",
        ),
    };
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src '{hash}'; base-uri 'none'; form-action 'none'">
<title>chaos {run}: {overall}</title>
<style>
{STYLE}</style>
</head>
<body>
<header>
<h1>Chaos run <code>{run}</code></h1>
<p id="verdict" class="verdict {overall_class}" data-verdict="{overall_class}">{overall}</p>
"#,
        hash = script_hash(),
        run = esc(&r.run_id),
    );
    if let Some(stop) = &r.interrupted {
        let _ = writeln!(
            h,
            r#"<p id="interrupted" class="verdict error" data-signal="{signal}" data-phase="{phase}" data-planned="{planned}" data-finished="{finished}">Interrupted by {signal} during {phase}: <span id="interrupted-finished">{finished}</span> of <span id="interrupted-planned">{planned}</span> planned experiments finished and are shown; the other {left} did not run.</p>"#,
            signal = esc(&stop.signal),
            phase = esc(&stop.phase),
            planned = stop.planned,
            finished = stop.finished,
            left = stop.planned.saturating_sub(stop.finished),
        );
    }
    let t = &r.totals;
    let chain_cache = match r.chain.cache.as_deref() {
        Some("hit") => " (loaded from the chain cache)",
        Some("stored" | "miss") => " (built)",
        Some("off") => " (built, chain cache off)",
        _ => "",
    };
    let _ = write!(
        h,
        r##"<p class="facts">Chain {} ({}{chain_cache}) at <code>{}</code>, seed {}, started {}, {:.1} s, <code>cargo xtask</code> {}.</p>
<dl class="totals">
<div><dt>resilience</dt><dd id="resilience">{:.2}%</dd></div>
<div><dt>experiments</dt><dd id="total-experiments">{}</dd></div>
<div class="held"><dt>held</dt><dd id="total-held">{}</dd></div>
<div class="disproved"><dt>disproved</dt><dd id="total-disproved">{}</dd></div>
<div class="error"><dt>errors</dt><dd id="total-errors">{}</dd></div>
<div><dt>checks failed</dt><dd id="total-checks-failed">{} of {}</dd></div>
</dl>
</header>
<nav><a href="#blocks">Blocks</a> <a href="#grid">Grid</a>{}{}{} <a href="#experiments-section">Experiments</a> <a href="#checks-section">Checks</a> <a href="#margins">How to read</a></nav>
"##,
        r.chain.id,
        esc(&r.chain.kind),
        esc(&r.chain.endpoint),
        r.seed,
        utc(r.started_at),
        r.duration_ms as f64 / 1000.0,
        esc(&r.tool_version),
        r.resilience,
        t.experiments,
        t.held,
        t.disproved,
        t.errors,
        t.checks_failed,
        t.checks,
        if page.plot.is_some() {
            r##" <a href="#plot">Vault</a>"##
        } else {
            ""
        },
        if r.rpc_degradation.is_some() {
            r##" <a href="#degraded">Degraded RPC</a>"##
        } else {
            ""
        },
        if page.mutants.is_some() {
            r##" <a href="#mutants">Mutants</a>"##
        } else {
            ""
        },
    );
    filters(&mut h, r);
    blocks_table(&mut h, r);
    grid(&mut h, r);
    if let Some(plot) = &page.plot {
        let _ = write!(
            h,
            "<section id=\"plot\"><h2>The vault across blocks</h2>\n<p>{}</p>\n<figure>{}</figure>\n</section>\n",
            esc(&plot.caption),
            plot.svg
        );
    }
    degraded(&mut h, page);
    if let Some(m) = &page.mutants {
        mutants(&mut h, m);
    }
    experiments_table(&mut h, r);
    checks_table(&mut h, r);
    let _ = write!(
        h,
        r#"<section id="margins"><h2>How to read this page</h2>
<p><b>Verdict</b>: an experiment <span class="held">held</span> when every check held, was <span class="disproved">disproved</span> when one check did not, and is an <span class="error">error</span> when it could not run to the end. The resilience score is the share of experiments that held; an error counts against it.</p>
<p><b>Margin</b>: how close a check came to failing. For <code>&lt;=</code> and <code>&lt;</code> the slack is <code>bound - observed</code>, for <code>&gt;=</code> and <code>&gt;</code> it is <code>observed - bound</code>: positive is room left, zero is exactly at the bound (which fails a strict relation), negative is by how much the check failed. The margin is the slack relative to the bound, <code>slack / |bound|</code>: <code>+25.00%</code> means the observed value could move a further quarter of the bound before the check fails. A bound of zero has no relative margin and shows the slack itself; <code>==</code> shows <i>exact</i> or <i>off by</i> the difference; <code>!=</code> shows <i>differs</i> or <i>equal</i>. Sorting by margin puts failed checks first, then the tightest relative margins, then checks without one.</p>
<p>Values are the raw integers the checks compare (wei, basis points, counts: the unit is in the check's name). Filters are kept in the address (<code>#verdict=disproved&amp;block=N&amp;check=S4</code>), so a filtered view can be shared.</p>
</section>
<footer>Generated from <code>report.json</code> (schema {}) by <code>cargo xtask</code> {}. Self-contained: no network, no external file.</footer>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        r.schema_version,
        esc(&r.tool_version),
    );
    h
}

/// Open `path` in the desktop's browser (`xdg-open` on Linux, `open` on macOS). Without a
/// desktop (no `DISPLAY` or `WAYLAND_DISPLAY` on Linux) it says so and where the file is.
pub fn open(path: &Path) {
    let shown = path.display();
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
        if !desktop {
            crate::shell::warn(format!(
                "--open: no desktop here (neither DISPLAY nor WAYLAND_DISPLAY is set); open {shown} in a browser"
            ));
            return;
        }
        "xdg-open"
    };
    let result = std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match result {
        Ok(status) if status.success() => crate::shell::status("Opened", shown),
        Ok(status) => crate::shell::warn(format!(
            "--open: `{opener}` failed ({status}); open {shown} in a browser"
        )),
        Err(err) => crate::shell::warn(format!(
            "--open: cannot run `{opener}` ({err}); open {shown} in a browser"
        )),
    }
}

#[cfg(test)]
mod tests;
