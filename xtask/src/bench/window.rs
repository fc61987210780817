//! The window sweep: one chaos run over a block window, against the same blocks run one by one.

use super::{ms, Window};
use crate::project::Project;
use crate::shell;
use anyhow::Context as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// One day at one-hour steps with every experiment, through the real `chaos` command: as it
/// runs by default, then one block at a time with the chain built (the way before the chain
/// cache and `--jobs`).
pub(super) fn window_sweep(project: &Project, out_dir: &Path) -> anyhow::Result<Window> {
    shell::status(
        "Measuring",
        "a window sweep: one day at one-hour steps, every experiment; then with --jobs 1 --no-chain-cache",
    );
    let sweep = |name: &str, extra: &[&str]| -> anyhow::Result<(Duration, serde_json::Value)> {
        let dir = out_dir.join(name);
        let started = Instant::now();
        let status = crate::signals::status_as_is(
            crate::cli::self_command(project)
                .args([
                    "chaos",
                    "--days",
                    "1",
                    "--window",
                    "2026-01-01T00:30:00Z..2026-01-01T23:30:00Z",
                    "--step",
                    "1h",
                    "--force",
                ])
                .args(extra)
                .arg("--report-dir")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        )?;
        crate::signals::check()?;
        let wall = started.elapsed();
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("report.json"))
                .with_context(|| format!("the window sweep ({status}) wrote no report"))?,
        )?;
        Ok((wall, report))
    };
    let (wall, report) = sweep("window", &[])?;
    let (baseline, baseline_report) =
        sweep("window-baseline", &["--jobs", "1", "--no-chain-cache"])?;
    let blocks = report["blocks"].as_array().map_or(0, Vec::len);
    let per_minute = |d: Duration| (blocks as f64 / d.as_secs_f64() * 60.0 * 100.0).round() / 100.0;
    Ok(Window {
        blocks,
        experiments: report["totals"]["experiments"].as_u64().unwrap_or_default(),
        wall_ms: ms(wall),
        blocks_per_minute: per_minute(wall),
        baseline_wall_ms: ms(baseline),
        baseline_blocks_per_minute: per_minute(baseline),
        speedup: (baseline.as_secs_f64() / wall.as_secs_f64() * 100.0).round() / 100.0,
        identical: comparable(report) == comparable(baseline_report),
    })
}

/// A report without what differs between two runs of the same experiments on the same chain:
/// ids, times, the chain's URL and where the chain came from.
pub(super) fn comparable(mut report: serde_json::Value) -> serde_json::Value {
    if let Some(object) = report.as_object_mut() {
        for key in ["run_id", "started_at", "duration_ms"] {
            object.remove(key);
        }
        if let Some(chain) = object.get_mut("chain").and_then(|c| c.as_object_mut()) {
            chain.remove("endpoint");
            chain.remove("cache");
        }
        if let Some(blocks) = object.get_mut("blocks").and_then(|b| b.as_array_mut()) {
            for block in blocks {
                if let Some(es) = block.get_mut("experiments").and_then(|e| e.as_array_mut()) {
                    for e in es {
                        if let Some(e) = e.as_object_mut() {
                            e.remove("duration_ms");
                        }
                    }
                }
            }
        }
    }
    report
}
