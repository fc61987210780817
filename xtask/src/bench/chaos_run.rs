//! One timed `cargo xtask chaos` of the bench, through the real command (the binary is built:
//! no compile inside the timing), and its report read with the report's own type.

use crate::project::Project;
use crate::report::Report;
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
    timed_chaos_with(project, out_dir, name, args, show_progress, &[])
}

/// [`timed_chaos`] with these environment variables set for the run (the chain cache's
/// directory, a speed-up switched off).
pub(super) fn timed_chaos_with(
    project: &Project,
    out_dir: &Path,
    name: &str,
    args: &[&str],
    show_progress: bool,
    env: &[(&str, &std::ffi::OsStr)],
) -> anyhow::Result<(Duration, Report)> {
    let dir = out_dir.join(name);
    let mut command = crate::project::self_command(project);
    command.envs(env.iter().copied());
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
    if !file.is_file() {
        anyhow::bail!("the run {name} ({status}) wrote no report");
    }
    let report = Report::read(&file)?;
    Ok((wall, report))
}

/// A report without what differs between two runs of the same experiments on the same chain:
/// ids, times, the chain's URL and where the chain came from. Two runs agree when their
/// comparable reports are equal (typed: every verdict, check, digest, gas and count).
pub(super) fn comparable(report: &Report) -> Report {
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
    report
}

/// `a` / `b`, two decimals.
pub(super) fn ratio(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() / b.as_secs_f64().max(0.001) * 100.0).round() / 100.0
}
