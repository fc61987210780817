//! The window sweep: one chaos run over a block window, against the same blocks run one by one.

use super::chaos_run::{comparable, ratio, timed_chaos};
use super::{ms, Window};
use crate::project::Project;
use crate::shell;
use std::path::Path;
use std::time::Duration;

/// One day at one-hour steps with every experiment, through the real `chaos` command: as it
/// runs by default, then one block at a time with the chain built (the way before the chain
/// cache and `--jobs`).
pub(super) fn window_sweep(project: &Project, out_dir: &Path) -> anyhow::Result<Window> {
    shell::status(
        "Measuring",
        "a window sweep: one day at one-hour steps, every experiment; then with --jobs 1 --no-chain-cache",
    );
    let sweep = [
        "--days",
        "1",
        "--window",
        "2026-01-01T00:30:00Z..2026-01-01T23:30:00Z",
        "--step",
        "1h",
    ];
    let (wall, report) = timed_chaos(project, out_dir, "window", &sweep, true)?;
    let baseline_args = [&sweep[..], &["--jobs", "1", "--no-chain-cache"]].concat();
    let (baseline, baseline_report) =
        timed_chaos(project, out_dir, "window-baseline", &baseline_args, true)?;
    let blocks = report.blocks.len();
    let per_minute = |d: Duration| (blocks as f64 / d.as_secs_f64() * 60.0 * 100.0).round() / 100.0;
    Ok(Window {
        blocks,
        experiments: report.totals.experiments,
        wall_ms: ms(wall),
        blocks_per_minute: per_minute(wall),
        baseline_wall_ms: ms(baseline),
        baseline_blocks_per_minute: per_minute(baseline),
        speedup: ratio(baseline, wall),
        identical: comparable(&report)? == comparable(&baseline_report)?,
    })
}
