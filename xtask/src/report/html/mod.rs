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

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use alloy::primitives::I256;
use anyhow::Context as _;
use serde::Deserialize;

use crate::chaos::degraded::{Comparison, Outcome, Pair};
use crate::chaos::scenario::{Check, Relation};
use crate::report::{svg, Engine, Experiment, Report, Verdict};

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

/// The mutants section: a small typed input so that the page does not depend on the mutants
/// command's file format. Rendered only when given.
#[derive(Debug, Clone, Default)]
pub struct Mutants {
    /// Killed / compiled, in percent.
    pub score: f64,
    /// The score the run had to meet, if any.
    pub min_score: Option<f64>,
    pub generated: u64,
    pub compiled: u64,
    /// The experiments (columns of the kill matrix), in order.
    pub experiments: Vec<String>,
    pub mutants: Vec<Mutant>,
}

impl Mutants {
    /// The section from `cargo xtask mutants`'s `mutants.json`.
    pub fn from_report(m: &crate::mutants::report::MutantsReport) -> Self {
        use crate::mutants::report::Status;
        Self {
            score: m.score.unwrap_or(0.0),
            min_score: Some(m.min_score),
            generated: m.totals.generated,
            compiled: m.totals.compiled,
            experiments: m.experiments.clone(),
            mutants: m
                .mutants
                .iter()
                .filter_map(|x| {
                    let status = match x.status {
                        Status::Killed => MutantStatus::Killed,
                        Status::Survived => MutantStatus::Survived,
                        Status::TimedOut => MutantStatus::TimedOut,
                        Status::Equivalent => MutantStatus::Equivalent,
                        // Not run: not part of the matrix.
                        Status::NotCompiled | Status::Error => return None,
                    };
                    Some(Mutant {
                        id: x.id.clone(),
                        operator: x.operator.clone(),
                        file: x.file.clone(),
                        line: x.line as u64,
                        function: x.function.clone(),
                        status,
                        killed_by: x.killed_by.clone(),
                        diff: x.diff.clone(),
                    })
                })
                .collect(),
        }
    }
}

/// One mutant of the vault.
#[derive(Debug, Clone)]
pub struct Mutant {
    pub id: String,
    /// Operator family (`comparison swapped`, `require removed`, ...).
    pub operator: String,
    pub file: String,
    pub line: u64,
    pub function: String,
    pub status: MutantStatus,
    /// The experiments that disproved a hypothesis on this mutant.
    pub killed_by: Vec<String>,
    /// The change, as a unified diff.
    pub diff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutantStatus {
    Killed,
    Survived,
    TimedOut,
    /// A survivor reviewed as equivalent (no reachable behaviour change).
    Equivalent,
}

impl MutantStatus {
    fn word(self) -> &'static str {
        match self {
            MutantStatus::Killed => "killed",
            MutantStatus::Survived => "survived",
            MutantStatus::TimedOut => "timed out",
            MutantStatus::Equivalent => "equivalent",
        }
    }
}

// ----------------------------------------------------------------------------------- margin

/// How close a check came to failing.
///
/// For an ordered relation the *slack* is the distance from the observed value to the bound on
/// the passing side: `bound - observed` for `<=` and `<`, `observed - bound` for `>=` and `>`.
/// Positive slack is room left, zero is exactly at the bound (a failure for `<` and `>`),
/// negative is by how much the check failed. The *relative margin* is the slack divided by
/// `|bound|`: `+25%` means the observed value could move a quarter of the bound further before
/// the check fails. A bound of zero has no relative margin; the slack is shown as it is.
/// `==` and `!=` have no distance worth a percentage: they hold exactly or not at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Margin {
    /// `<=`, `<`, `>=`, `>`.
    Room {
        slack: I256,
        /// `slack / |bound|`, absent when the bound is zero.
        relative: Option<f64>,
    },
    /// `==`: `off` is `|observed - bound|` (zero when it held).
    Exact { off: I256 },
    /// `!=`.
    Distinct,
}

fn to_f64(v: I256) -> f64 {
    v.to_string().parse().unwrap_or(f64::NAN)
}

/// The margin of one check (see [`Margin`]).
pub fn margin(check: &Check) -> Margin {
    let (o, b) = (check.observed(), check.bound());
    let slack = match check.relation() {
        Relation::Le | Relation::Lt => b.saturating_sub(o),
        Relation::Ge | Relation::Gt => o.saturating_sub(b),
        Relation::Eq => {
            return Margin::Exact {
                off: o.saturating_sub(b).saturating_abs(),
            }
        }
        Relation::Ne => return Margin::Distinct,
    };
    let relative = (!b.is_zero()).then(|| to_f64(slack) / to_f64(b.saturating_abs()));
    Margin::Room { slack, relative }
}

impl Margin {
    /// Sort key, smallest first = closest to failing: failed checks (by how far they failed),
    /// then relative margins from the tightest, then checks without a relative margin.
    pub fn sort_key(&self, passed: bool) -> f64 {
        const NO_RELATIVE: f64 = 1e12;
        match (self, passed) {
            (
                Margin::Room {
                    relative: Some(r), ..
                },
                _,
            ) if r.is_finite() => {
                if passed {
                    *r
                } else {
                    -1e12 + r.max(-1e11)
                }
            }
            (_, false) => -1e12,
            _ => NO_RELATIVE,
        }
    }

    /// Short text for the table: the relative margin, else the slack.
    pub fn text(&self, passed: bool) -> String {
        match self {
            Margin::Room { slack, .. } if slack.is_zero() => {
                if passed {
                    "at the bound".into()
                } else {
                    "at the bound (strict)".into()
                }
            }
            Margin::Room {
                relative: Some(r),
                slack,
            } if r.is_finite() => {
                let pct = r * 100.0;
                let shown = if pct.abs() >= 1e6 || pct.abs() < 0.01 {
                    format!("{}{:.1e}%", if pct > 0.0 { "+" } else { "" }, pct)
                } else {
                    format!("{pct:+.2}%")
                };
                // A tiny relative margin hides a small absolute one (1 wei of a large bound).
                if pct.abs() < 0.01 {
                    format!("{shown} (slack {slack})")
                } else {
                    shown
                }
            }
            Margin::Room { slack, .. } if slack.is_negative() => {
                format!("over by {}", compact(slack.saturating_abs()))
            }
            Margin::Room { slack, .. } => format!("slack {}", compact(*slack)),
            Margin::Exact { off } if off.is_zero() => "exact".into(),
            Margin::Exact { off } => format!("off by {}", compact(*off)),
            Margin::Distinct => if passed { "differs" } else { "equal" }.into(),
        }
    }

    /// The slack in words, for the cell's tooltip.
    fn detail(&self) -> String {
        match self {
            Margin::Room { slack, relative } => match relative {
                Some(_) => format!("slack {slack} (distance to the bound on the passing side)"),
                None => format!("slack {slack}; the bound is 0, so no relative margin"),
            },
            Margin::Exact { off } => format!("|observed - bound| = {off}"),
            Margin::Distinct => "must differ from the bound".into(),
        }
    }
}

// ----------------------------------------------------------------------------------- gather

/// One sample of `chain/chain.json` (see [`crate::chain::Sample`]): only what the plot needs.
#[derive(Debug, Deserialize)]
struct HistorySample {
    block: u64,
    timestamp: u64,
    nav: String,
    share_price: String,
    risk_mode: u8,
}

#[derive(Debug, Deserialize)]
struct ChainFile {
    samples: Vec<HistorySample>,
}

/// `chain/chain.json`, `window.json` and `degraded/comparison.json` are looked up in these
/// directories, the first found wins (a merged report looks in its shards' directories).
fn find(dirs: &[&Path], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn read_typed<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
}

fn wei_to_whole(text: &str) -> f64 {
    text.parse::<f64>().map(|v| v / 1e18).unwrap_or(f64::NAN)
}

impl<'a> Page<'a> {
    /// The report and what `dirs` hold beside it. A side file that cannot be read is left out
    /// with a warning: the page is still written.
    pub fn gather(report: &'a Report, dirs: &[&Path]) -> Self {
        let mut page = Page {
            report,
            plot: None,
            degraded_pairs: vec![],
            mutants: None,
        };
        let marks: Vec<svg::Mark> = report
            .blocks
            .iter()
            .map(|b| svg::Mark {
                block: b.number,
                label: b.label.clone(),
            })
            .collect();
        if let Some(path) = find(dirs, "window.json") {
            match read_typed::<Vec<svg::Point>>(&path) {
                Ok(points) if !points.is_empty() => {
                    page.plot = Some(Plot {
                        svg: svg::window(&format!("chaos {}: the window", report.run_id), &points),
                        caption: format!(
                            "The vault at each of the {} pinned blocks of the window (read from the upstream at each block).",
                            points.len()
                        ),
                    });
                }
                Ok(_) => {}
                Err(err) => crate::shell::warn(format!("report.html without the window: {err:#}")),
            }
        }
        if page.plot.is_none() {
            if let Some(path) = find(dirs, "chain/chain.json") {
                match read_typed::<ChainFile>(&path) {
                    Ok(chain) if !chain.samples.is_empty() => {
                        let points: Vec<svg::Point> = chain
                            .samples
                            .iter()
                            .map(|s| svg::Point {
                                block: s.block,
                                timestamp: s.timestamp,
                                nav: wei_to_whole(&s.nav),
                                share_price: wei_to_whole(&s.share_price),
                                risk_mode: s.risk_mode,
                            })
                            .collect();
                        page.plot = Some(Plot {
                            svg: svg::history(
                                &format!("chaos {}: the local chain's market history", report.run_id),
                                &points,
                                &marks,
                            ),
                            caption: format!(
                                "The vault after each of the {} ticks of the local chain's history (chain/chain.json); dashed lines: the pinned blocks.",
                                points.len()
                            ),
                        });
                    }
                    Ok(_) => {}
                    Err(err) => {
                        crate::shell::warn(format!("report.html without the history: {err:#}"))
                    }
                }
            }
        }
        if let Some(path) = find(dirs, "mutants.json") {
            match read_typed::<crate::mutants::report::MutantsReport>(&path) {
                Ok(m) => page.mutants = Some(Mutants::from_report(&m)),
                Err(err) => crate::shell::warn(format!("report.html without the mutants: {err:#}")),
            }
        }
        if report.rpc_degradation.is_some() {
            if let Some(path) = find(dirs, "degraded/comparison.json") {
                match read_typed::<Comparison>(&path) {
                    Ok(c) => page.degraded_pairs = c.pairs,
                    Err(err) => crate::shell::warn(format!(
                        "report.html without the degraded pairs: {err:#}"
                    )),
                }
            }
        }
        page
    }
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

/// Digits beyond which a value is shown in scientific notation (the exact value in its tooltip).
const MAX_DIGITS: usize = 24;

/// `d.dddddde+N`: the leading `significant` digits of a long integer, truncated, without
/// going through a float.
fn scientific(text: &str, significant: usize) -> String {
    let (sign, body) = text.split_at(usize::from(text.starts_with('-')));
    let kept = &body[..significant.min(body.len())];
    let (first, rest) = kept.split_at(1);
    let rest = rest.trim_end_matches('0');
    let dot = if rest.is_empty() { "" } else { "." };
    format!("{sign}{first}{dot}{rest}e{}", body.len() - 1)
}

/// A value for the margin column: exact when short, scientific when long.
fn compact(v: I256) -> String {
    let text = v.to_string();
    if text.trim_start_matches('-').len() > 12 {
        scientific(&text, 3)
    } else {
        text
    }
}

/// A big integer with its digits in groups of three (spans, so that copying keeps the digits);
/// beyond [`MAX_DIGITS`] in scientific notation with the exact value as its tooltip.
fn digits(v: I256) -> String {
    let text = v.to_string();
    let (sign, body) = text.split_at(usize::from(text.starts_with('-')));
    if body.len() > MAX_DIGITS {
        return format!(
            "<span class=\"sci\" title=\"{text}\">{}</span>",
            scientific(&text, 7)
        );
    }
    if body.len() <= 6 {
        return text;
    }
    let first = body.len() % 3;
    let mut out = String::from(sign);
    if first > 0 {
        out.push_str(&body[..first]);
    }
    for (i, chunk) in body.as_bytes()[first..].chunks(3).enumerate() {
        let chunk = std::str::from_utf8(chunk).unwrap_or_default();
        if i == 0 && first == 0 {
            out.push_str(chunk);
        } else {
            let _ = write!(out, "<span class=\"g\">{chunk}</span>");
        }
    }
    out
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

fn filters(h: &mut String, r: &Report) {
    let mut checks: BTreeSet<&str> = BTreeSet::new();
    let mut groups: BTreeSet<&str> = BTreeSet::new();
    for c in r
        .blocks
        .iter()
        .flat_map(|b| &b.experiments)
        .flat_map(|e| &e.checks)
    {
        checks.insert(&c.name);
        groups.extend(check_group(&c.name));
    }
    h.push_str(
        r#"<form id="filters" class="filters" autocomplete="off">
<label>verdict <select id="f-verdict"><option value="">all</option><option value="held">held</option><option value="disproved">disproved</option><option value="error">error</option></select></label>
<label>block <select id="f-block"><option value="">all</option>"#,
    );
    for b in &r.blocks {
        let _ = write!(
            h,
            "<option value=\"{}\">{} ({})</option>",
            b.number,
            b.number,
            esc(&b.label)
        );
    }
    h.push_str(
        "</select></label>\n<label>check <select id=\"f-check\"><option value=\"\">all</option>",
    );
    for g in groups.iter().filter(|g| !checks.contains(*g)) {
        let _ = write!(h, "<option value=\"{}\">{} (all)</option>", esc(g), esc(g));
    }
    for c in &checks {
        let _ = write!(h, "<option value=\"{}\">{}</option>", esc(c), esc(c));
    }
    h.push_str(
        r#"</select></label>
<label>experiment <input id="f-q" type="search" placeholder="text in the id"></label>
<label><input id="f-failed" type="checkbox"> only what did not hold</label>
<button id="f-reset" type="reset">clear</button>
</form>
"#,
    );
}

fn blocks_table(h: &mut String, r: &Report) {
    h.push_str(
        r#"<section id="blocks"><h2>Resilience per block</h2>
<table class="sortable" id="blocks-table"><thead><tr><th data-sort="num">block</th><th>label</th><th data-sort="num">time (UTC)</th><th>hash</th><th data-sort="num">experiments</th><th data-sort="num">held</th><th data-sort="num">disproved</th><th data-sort="num">errors</th><th data-sort="num">resilience</th></tr></thead><tbody>
"#,
    );
    for b in &r.blocks {
        let count = |v: Verdict| b.experiments.iter().filter(|e| e.verdict == v).count();
        let short = if b.hash.len() > 14 {
            format!(
                "{}…",
                &b.hash[..b
                    .hash
                    .char_indices()
                    .nth(12)
                    .map_or(b.hash.len(), |(i, _)| i)]
            )
        } else {
            b.hash.clone()
        };
        let _ = writeln!(
            h,
            r#"<tr data-block="{n}"><td>{n}</td><td>{label}</td><td data-v="{ts}">{time}</td><td title="{hash}"><code>{short}</code></td><td>{total}</td><td>{held}</td><td>{dis}</td><td>{err}</td><td data-v="{res}"><span class="bar" style="--w:{res:.2}%"></span>{res:.2}%</td></tr>"#,
            n = b.number,
            label = esc(&b.label),
            ts = b.timestamp,
            time = utc(b.timestamp),
            hash = esc(&b.hash),
            short = esc(&short),
            total = b.experiments.len(),
            held = count(Verdict::Held),
            dis = count(Verdict::Disproved),
            err = count(Verdict::Error),
            res = b.resilience,
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// Experiment ids in order of first appearance.
fn experiment_ids(r: &Report) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for e in r.blocks.iter().flat_map(|b| &b.experiments) {
        if !ids.contains(&e.id.as_str()) {
            ids.push(&e.id);
        }
    }
    ids
}

fn failed_checks(e: &Experiment) -> String {
    e.checks
        .iter()
        .filter(|c| !c.passed())
        .map(crate::report::describe_check)
        .collect::<Vec<_>>()
        .join("; ")
}

fn grid(h: &mut String, r: &Report) {
    h.push_str(
        "<section id=\"grid\"><h2>Blocks x experiments</h2>\n<div class=\"scroll\"><table id=\"grid-table\"><thead><tr><th>experiment</th>",
    );
    for b in &r.blocks {
        let _ = write!(
            h,
            "<th data-block=\"{n}\">{n}<br><small>{}</small></th>",
            esc(&b.label),
            n = b.number
        );
    }
    h.push_str("</tr></thead><tbody>\n");
    for id in experiment_ids(r) {
        let verdicts: Vec<&str> = r
            .blocks
            .iter()
            .flat_map(|b| b.experiments.iter().filter(|e| e.id == id))
            .map(|e| verdict_word(e.verdict))
            .collect();
        let _ = write!(
            h,
            "<tr data-id=\"{}\" data-verdicts=\"{}\"><th>{}</th>",
            esc(id),
            verdicts.join(" "),
            esc(id)
        );
        for (bi, b) in r.blocks.iter().enumerate() {
            match b.experiments.iter().position(|e| e.id == id) {
                Some(ei) => {
                    let e = &b.experiments[ei];
                    let word = verdict_word(e.verdict);
                    let why = match e.verdict {
                        Verdict::Held => String::new(),
                        Verdict::Disproved => format!(": {}", failed_checks(e)),
                        Verdict::Error => format!(": {}", e.error.as_deref().unwrap_or_default()),
                        Verdict::Interrupted => String::new(),
                    };
                    let symbol = match e.verdict {
                        Verdict::Held => "✓",
                        Verdict::Disproved => "✗",
                        Verdict::Error | Verdict::Interrupted => "!",
                    };
                    let _ = write!(
                        h,
                        "<td class=\"cell {word}\" data-block=\"{}\" data-verdict=\"{word}\" title=\"{} at block {}: {word}{}\"><a href=\"#x-{bi}-{ei}\">{symbol}</a></td>",
                        b.number,
                        esc(id),
                        b.number,
                        esc(&why)
                    );
                }
                None => {
                    let _ = write!(
                        h,
                        "<td class=\"cell none\" data-block=\"{}\" data-verdict=\"\" title=\"not run at this block\">-</td>",
                        b.number
                    );
                }
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n<p class=\"legend\"><span class=\"cell held\">✓ held</span> <span class=\"cell disproved\">✗ disproved</span> <span class=\"cell error\">! error</span> <span class=\"cell none\">- not run (another shard, or not selected)</span></p></section>\n");
}

fn experiments_table(h: &mut String, r: &Report) {
    let total: usize = r.blocks.iter().map(|b| b.experiments.len()).sum();
    let _ = write!(
        h,
        r#"<section id="experiments-section"><h2>Experiments <small class="count" id="count-experiments">{total} of {total}</small></h2>
<div class="scroll"><table class="sortable" id="experiments"><thead><tr><th data-sort="num">block</th><th>experiment</th><th>engine</th><th>fault</th><th data-sort="num">verdict</th><th data-sort="num">checks held</th><th data-sort="num">tightest margin</th><th data-sort="num">gas</th><th data-sort="num">cycles</th><th data-sort="num">ms</th><th>state digest</th><th>why not held</th></tr></thead><tbody>
"#
    );
    for (bi, b) in r.blocks.iter().enumerate() {
        for (ei, e) in b.experiments.iter().enumerate() {
            let word = verdict_word(e.verdict);
            let mut names: Vec<String> = e.checks.iter().map(|c| esc(&c.name)).collect();
            let groups: BTreeSet<&str> = e
                .checks
                .iter()
                .filter_map(|c| check_group(&c.name))
                .collect();
            names.extend(groups.into_iter().map(str::to_owned));
            let held = e.checks.iter().filter(|c| c.passed()).count();
            let tightest = e
                .checks
                .iter()
                .map(|c| (margin(c).sort_key(c.passed()), c))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let (tight_key, tight_text) = match tightest {
                Some((key, c)) => (
                    key,
                    format!(
                        "{} <small>{}</small>",
                        esc(&margin(c).text(c.passed())),
                        esc(&c.name)
                    ),
                ),
                None => (f64::INFINITY, "-".to_owned()),
            };
            let digest = match (&e.digest_before, &e.digest_after) {
                (Some(a), Some(b)) if a == b => {
                    format!("<span title=\"{}\">unchanged</span>", esc(a))
                }
                (Some(a), Some(b)) => format!(
                    "<span title=\"before {} after {}\">changed</span>",
                    esc(a),
                    esc(b)
                ),
                _ => "-".into(),
            };
            let why = match e.verdict {
                Verdict::Held => String::new(),
                Verdict::Disproved if reverted(r, b.number, &e.id).is_some() => {
                    let record = reverted(r, b.number, &e.id);
                    let revert = record.map(|x| &x.revert);
                    format!(
                        "<span class=\"revert\">reverted{}: <code class=\"reason\">{}</code>{}</span>",
                        revert
                            .map(|v| format!(" at {}", esc(&v.step)))
                            .unwrap_or_default(),
                        esc(revert.map(|v| v.reason.as_str()).unwrap_or_default()),
                        revert
                            .and_then(|v| v.call.as_deref())
                            .map(|c| format!(" in <code class=\"call\">{}</code>", esc(c)))
                            .unwrap_or_default(),
                    )
                }
                Verdict::Disproved => {
                    let failed: Vec<&str> = e
                        .checks
                        .iter()
                        .filter(|c| !c.passed())
                        .map(|c| c.name.as_str())
                        .collect();
                    let shown: Vec<String> = failed
                        .iter()
                        .take(3)
                        .map(|n| format!("<code>{}</code>", esc(n)))
                        .collect();
                    format!(
                        "{} failed: {}{} <a href=\"#block={}&amp;q={}&amp;failed=1\">show</a>",
                        failed.len(),
                        shown.join(", "),
                        if failed.len() > 3 { ", …" } else { "" },
                        b.number,
                        esc(&fragment_value(&e.id)),
                    )
                }
                Verdict::Error | Verdict::Interrupted => {
                    esc(e.error.as_deref().unwrap_or("could not run"))
                }
            };
            let _ = writeln!(
                h,
                r#"<tr id="x-{bi}-{ei}" class="{word}" data-block="{n}" data-id="{id}" data-verdict="{word}" data-checks="{checks}"><td>{n}</td><td><code>{id}</code></td><td>{engine}</td><td>{fault}</td><td class="v {word}" data-v="{rank}">{word}</td><td data-v="{held}">{held} / {all}</td><td data-v="{tight_key:e}">{tight_text}</td><td>{gas}</td><td>{cycles}</td><td>{ms}</td><td>{digest}</td><td class="why">{why}</td></tr>"#,
                n = b.number,
                id = esc(&e.id),
                checks = names.join("&#10;"),
                engine = engine_word(e.engine),
                fault = esc(&e.fault),
                rank = verdict_rank(e.verdict),
                all = e.checks.len(),
                gas = e.gas,
                cycles = e.cycles,
                ms = e.duration_ms,
            );
        }
    }
    h.push_str("</tbody></table></div></section>\n");
}

/// The decoded revert of experiment `id` at `block`, if it reverted.
fn reverted<'r>(r: &'r Report, block: u64, id: &str) -> Option<&'r crate::report::RevertRecord> {
    r.reverts
        .iter()
        .find(|x| x.block == block && x.experiment == id)
}

fn checks_table(h: &mut String, r: &Report) {
    let total: usize = r
        .blocks
        .iter()
        .flat_map(|b| &b.experiments)
        .map(|e| e.checks.len())
        .sum();
    let _ = write!(
        h,
        r#"<section id="checks-section"><h2>Checks <small class="count" id="count-checks">{total} of {total}</small></h2>
<p>Every steady-state check of every experiment: the observed value, the relation it must satisfy and the bound, and the margin (below: how close it came to failing). Sort by margin to see the tightest first.</p>
<div class="scroll"><table class="sortable" id="checks"><thead><tr><th data-sort="num">block</th><th>experiment</th><th>check</th><th data-sort="num" class="num">observed</th><th>relation</th><th data-sort="num" class="num">bound</th><th data-sort="num" data-key="margin">margin</th><th data-sort="num">result</th></tr></thead><tbody>
"#
    );
    for b in &r.blocks {
        for e in &b.experiments {
            let word = verdict_word(e.verdict);
            for c in &e.checks {
                let m = margin(c);
                let result = if c.passed() { "held" } else { "failed" };
                let _ = writeln!(
                    h,
                    r#"<tr class="{row}" data-block="{n}" data-id="{id}" data-verdict="{word}" data-check="{name}" data-group="{group}" data-passed="{passed}"><td>{n}</td><td><code>{id}</code></td><td><code>{name}</code></td><td class="num obs" data-v="{obs}">{obs_text}</td><td class="rel">{rel}</td><td class="num bound" data-v="{bound}">{bound_text}</td><td class="margin" data-v="{key:e}" title="{detail}">{mtext}</td><td class="result" data-v="{rank}">{result}</td></tr>"#,
                    row = if c.passed() { "pass" } else { "fail" },
                    n = b.number,
                    id = esc(&e.id),
                    name = esc(&c.name),
                    group = check_group(&c.name).unwrap_or_default(),
                    passed = c.passed(),
                    obs = c.observed(),
                    obs_text = digits(c.observed()),
                    bound_text = digits(c.bound()),
                    rel = esc(c.relation().symbol()),
                    bound = c.bound(),
                    key = m.sort_key(c.passed()),
                    detail = esc(&m.detail()),
                    mtext = esc(&m.text(c.passed())),
                    rank = u8::from(c.passed()),
                );
            }
        }
    }
    h.push_str("</tbody></table></div></section>\n");
}

fn degraded(h: &mut String, page: &Page<'_>) {
    let Some(d) = &page.report.rpc_degradation else {
        return;
    };
    let held = d.held();
    let _ = write!(
        h,
        r#"<section id="degraded"><h2>Degraded RPC</h2>
<p class="verdict {cls}">{verdict}</p>
<p>The same experiments ran a second time with every upstream read going through faults: <code>{faults}</code> ({injected} injected). Each pair of a clean and a degraded experiment is <i>matched</i> (same verdict and state), a <i>classified failure</i> (it failed with a cause naming the RPC), an <i>unclassified failure</i>, or a <i>silent divergence</i> (another verdict or another state: the hypothesis is disproved).</p>
<dl class="totals"><div class="held"><dt>matched</dt><dd id="deg-matched">{matched}</dd></div><div><dt>classified failures</dt><dd id="deg-classified">{classified}</dd></div><div class="error"><dt>unclassified failures</dt><dd id="deg-unclassified">{unclassified}</dd></div><div class="disproved"><dt>silent divergences</dt><dd id="deg-silent">{silent}</dd></div></dl>
"#,
        cls = if held { "held" } else { "disproved" },
        verdict = if held {
            "no silent divergence: a degraded RPC never produced a different result"
        } else {
            "disproved: a degraded RPC produced a different result or an unexplained failure"
        },
        faults = esc(&d.faults.join(", ")),
        injected = d.faults_injected,
        matched = d.matched,
        classified = d.classified_failures,
        unclassified = d.unclassified_failures,
        silent = d.silent_divergences,
    );
    if !page.degraded_pairs.is_empty() {
        h.push_str(
            r#"<div class="scroll"><table class="sortable" id="degraded-pairs"><thead><tr><th data-sort="num">block</th><th>experiment</th><th>outcome</th><th>class</th><th>cause</th></tr></thead><tbody>
"#,
        );
        for p in &page.degraded_pairs {
            let (word, cls, class, cause) = match &p.outcome {
                Outcome::Matched => ("matched", "held", "", ""),
                Outcome::ClassifiedFailure { class, error, .. } => (
                    "classified failure",
                    "classified",
                    class.as_str(),
                    error.as_str(),
                ),
                Outcome::UnclassifiedFailure { error } => {
                    ("unclassified failure", "error", "", error.as_str())
                }
                Outcome::SilentDivergence { detail } => {
                    ("silent divergence", "disproved", "", detail.as_str())
                }
            };
            let _ = writeln!(
                h,
                r#"<tr class="{cls}" data-block="{n}" data-id="{id}"><td>{n}</td><td><code>{id}</code></td><td class="v {cls}">{word}</td><td>{class}</td><td class="why">{cause}</td></tr>"#,
                n = p.block,
                id = esc(&p.experiment),
                class = esc(class),
                cause = esc(cause),
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    if !d.requests.is_empty() {
        h.push_str("<details><summary>Upstream requests of the degraded run, per method</summary><table><tbody>");
        for (method, n) in &d.requests {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td class=\"num\">{n}</td></tr>",
                esc(method)
            );
        }
        h.push_str("</tbody></table></details>\n");
    }
    h.push_str("</section>\n");
}

fn mutants(h: &mut String, m: &Mutants) {
    let count = |s: MutantStatus| m.mutants.iter().filter(|x| x.status == s).count();
    let _ = write!(
        h,
        r#"<section id="mutants"><h2>Mutants</h2>
<p>Single-point changes of the vault's source, each run through the chaos suite: a mutant is killed when an experiment disproves a hypothesis on it. A survivor is a defect the suite cannot see.</p>
<dl class="totals"><div><dt>score</dt><dd id="mutants-score">{score:.2}%</dd></div>{min}<div><dt>generated</dt><dd>{generated}</dd></div><div><dt>compiled</dt><dd>{compiled}</dd></div><div class="held"><dt>killed</dt><dd id="mutants-killed">{killed}</dd></div><div class="disproved"><dt>survived</dt><dd id="mutants-survived">{survived}</dd></div><div class="error"><dt>timed out</dt><dd>{timed_out}</dd></div><div><dt>equivalent</dt><dd>{equivalent}</dd></div></dl>
"#,
        score = m.score,
        min = m
            .min_score
            .map(|s| format!("<div><dt>required</dt><dd>{s:.2}%</dd></div>"))
            .unwrap_or_default(),
        generated = m.generated,
        compiled = m.compiled,
        killed = count(MutantStatus::Killed),
        survived = count(MutantStatus::Survived),
        timed_out = count(MutantStatus::TimedOut),
        equivalent = count(MutantStatus::Equivalent),
    );
    // Kills per experiment: the experiments that kill nothing are blind spots.
    h.push_str("<h3>Kill matrix</h3>\n<div class=\"scroll\"><table class=\"sortable\" id=\"kill-matrix\"><thead><tr><th>mutant</th><th>status</th>");
    for e in &m.experiments {
        let _ = write!(h, "<th class=\"vertical\"><code>{}</code></th>", esc(e));
    }
    h.push_str("</tr></thead><tbody>\n");
    for x in &m.mutants {
        let cls = match x.status {
            MutantStatus::Killed => "held",
            MutantStatus::Survived => "disproved",
            MutantStatus::TimedOut => "error",
            MutantStatus::Equivalent => "none",
        };
        let _ = write!(
            h,
            "<tr class=\"{cls}\" data-status=\"{}\"><th title=\"{}:{} {}\"><code>{}</code></th><td class=\"v {cls}\">{}</td>",
            x.status.word(),
            esc(&x.file),
            x.line,
            esc(&x.function),
            esc(&x.id),
            x.status.word()
        );
        for e in &m.experiments {
            if x.killed_by.contains(e) {
                h.push_str("<td class=\"cell held\" data-v=\"1\">✗</td>");
            } else {
                h.push_str("<td class=\"cell\" data-v=\"0\"></td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody><tfoot><tr><th>kills</th><td></td>");
    for e in &m.experiments {
        let kills = m.mutants.iter().filter(|x| x.killed_by.contains(e)).count();
        let _ = write!(
            h,
            "<td class=\"num{}\">{kills}</td>",
            if kills == 0 { " disproved" } else { "" }
        );
    }
    h.push_str("</tr></tfoot></table></div>\n");
    let survivors: Vec<&Mutant> = m
        .mutants
        .iter()
        .filter(|x| x.status == MutantStatus::Survived)
        .collect();
    if !survivors.is_empty() {
        h.push_str("<h3>Survivors</h3>\n<div id=\"survivors\">");
        for x in survivors {
            let _ = writeln!(
                h,
                "<details class=\"survivor\"><summary><code>{}</code> {} in <code>{}</code>, <code>{}:{}</code></summary><pre>{}</pre></details>",
                esc(&x.id),
                esc(&x.operator),
                esc(&x.function),
                esc(&x.file),
                x.line,
                esc(&x.diff)
            );
        }
        h.push_str("</div>\n");
    }
    h.push_str("</section>\n");
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
