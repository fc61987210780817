//! Gathering a page: the report and what lies next to it (the chain's history, the window picture,
//! the mutants' results), read typed.

use super::{Mutants, Page, Plot};
use crate::report::degraded::Comparison;
use crate::report::{svg, Report};
use anyhow::Context as _;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One sample of `chain/chain.json` (see [`crate::chain::Sample`]): only what the plot needs.
#[derive(Debug, Deserialize)]
pub(super) struct HistorySample {
    block: u64,
    timestamp: u64,
    nav: String,
    share_price: String,
    risk_mode: u8,
}

#[derive(Debug, Deserialize)]
pub(super) struct ChainFile {
    samples: Vec<HistorySample>,
}

/// `chain/chain.json`, `window.json` and `degraded/comparison.json` are looked up in these
/// directories, the first found wins (a merged report looks in its shards' directories).
pub(super) fn find(dirs: &[&Path], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

pub(super) fn read_typed<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
}

pub(super) fn wei_to_whole(text: &str) -> f64 {
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
            match read_typed::<crate::report::mutants::MutantsReport>(&path) {
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
