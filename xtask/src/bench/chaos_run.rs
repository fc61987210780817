//! One timed `cargo xtask chaos` of the bench, through the real command (the binary is built:
//! no compile inside the timing), and its report read with the report's own type.

use crate::project::Project;
use crate::report::Report;
use anyhow::Context as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `cargo xtask chaos --force ARGS --report-dir OUT/NAME`, timed from the outside. Its progress
/// goes to the bench's stderr when `show_progress`. A run whose verdict is disproved (exit 1)
/// still counts: what is measured is the time it took.
pub(super) fn timed_chaos(
    project: &Project,
    out_dir: &Path,
    name: &str,
    args: &[&str],
    show_progress: bool,
) -> anyhow::Result<(Duration, Report)> {
    timed_chaos_in(project, out_dir, name, args, show_progress, None)
}

/// [`timed_chaos`] with the chain cache in `cache_dir` (`XTASK_CHAIN_CACHE_DIR`) when given.
pub(super) fn timed_chaos_in(
    project: &Project,
    out_dir: &Path,
    name: &str,
    args: &[&str],
    show_progress: bool,
    cache_dir: Option<&Path>,
) -> anyhow::Result<(Duration, Report)> {
    let dir = out_dir.join(name);
    let mut command = crate::project::self_command(project);
    if let Some(cache_dir) = cache_dir {
        command.env(crate::chain::cache::DIR_ENV_VAR, cache_dir);
    }
    let started = Instant::now();
    let status = crate::signals::status_as_is(
        command
            .args(["chaos", "--force"])
            .args(args)
            .arg("--report-dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if show_progress {
                Stdio::inherit()
            } else {
                Stdio::null()
            }),
    )?;
    crate::signals::check()?;
    let wall = started.elapsed();
    anyhow::ensure!(
        status.success() || status.code() == Some(1),
        "cargo xtask chaos ({name}) could not run ({status})"
    );
    let file = dir.join("report.json");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("the run {name} ({status}) wrote no report"))?;
    let report: Report =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    Ok((wall, report))
}

/// A report without what differs between two runs of the same experiments on the same chain:
/// ids, times, the chain's URL and where the chain came from.
pub(super) fn comparable(report: &Report) -> anyhow::Result<serde_json::Value> {
    let mut report = report.clone();
    report.run_id.clear();
    report.started_at = 0;
    report.duration_ms = 0;
    report.chain.endpoint.clear();
    report.chain.cache = None;
    for block in &mut report.blocks {
        for e in &mut block.experiments {
            e.duration_ms = 0;
        }
    }
    Ok(serde_json::to_value(report)?)
}

/// `a` / `b`, two decimals.
pub(super) fn ratio(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() / b.as_secs_f64().max(0.001) * 100.0).round() / 100.0
}
