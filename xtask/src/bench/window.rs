//! The window sweep: one chaos run over a block window, against the same blocks run one by one.

use super::chaos_run::{comparable, ratio, timed_chaos_with};
use super::{ms, Window};
use crate::chain::cache::keep::{At, Every, Keep};
use crate::chain::cache::Mode;
use crate::chain::{self, ChainOptions};
use crate::project::Project;
use crate::shell;
use crate::toolchain::Toolchain;
use std::path::Path;
use std::time::{Duration, Instant};

const FROM: &str = "2026-01-01T00:30:00Z";
const TO: &str = "2026-01-01T23:30:00Z";

/// One day at one-hour steps with every experiment, through the real `chaos` command: as a
/// repeated sweep runs by default (the chain cache holds the chain with the window's blocks,
/// two workers), then one block at a time with the chain built (the way before the chain cache
/// and `--jobs`). The cache is the bench's own, primed first by the cold build a first sweep
/// does (timed and reported, not hidden).
pub(super) fn window_sweep(
    toolchain: &Toolchain,
    project: &Project,
    out_dir: &Path,
) -> anyhow::Result<Window> {
    shell::status(
        "Measuring",
        "a window sweep: one day at one-hour steps, every experiment, on a chain cache that \
         holds the window; then as before (--jobs 1 --no-chain-cache, XTASK_SOLC_VERSION_ONCE=off)",
    );
    let cache_dir = out_dir.join("window-cache");
    let _ = std::fs::remove_dir_all(&cache_dir);
    let time = |t: &str| {
        crate::chaos::pin::parse_time(t).map_err(|e| anyhow::anyhow!("the sweep's window: {e}"))
    };
    let keep = Keep::Window {
        from: At::Time(time(FROM)?),
        to: At::Time(time(TO)?),
        every: Every::Seconds(3600),
    };
    // What a first sweep pays once: the one-day chain built cold, keeping the window's blocks.
    let started = Instant::now();
    let primed = chain::build(
        toolchain,
        &ChainOptions {
            seed: chain::DEFAULT_SEED,
            days: 1,
            out_dir: out_dir.join("window-chain"),
            port: 0,
            cache: Mode::Keep(cache_dir.clone(), keep),
        },
    )?;
    let prime = started.elapsed();
    anyhow::ensure!(
        primed.info.cache == chain::cache::Status::Stored,
        "priming the sweep's chain cache did not store an entry ({})",
        primed.info.cache.as_str()
    );
    drop(primed);

    let window = format!("{FROM}..{TO}");
    let sweep = ["--days", "1", "--window", &window, "--step", "1h"];
    let cache_env = [(chain::cache::DIR_ENV_VAR, cache_dir.as_os_str())];
    let (wall, report) = timed_chaos_with(project, out_dir, "window", &sweep, true, &cache_env)?;
    // The sweep as it ran before: block by block, the chain built, and forge asking solc-js
    // its version at every start.
    let baseline_args = [&sweep[..], &["--jobs", "1", "--no-chain-cache"]].concat();
    let before = [(
        crate::toolchain::solc_version::ENV_VAR,
        std::ffi::OsStr::new("off"),
    )];
    let (baseline, baseline_report) = timed_chaos_with(
        project,
        out_dir,
        "window-baseline",
        &baseline_args,
        true,
        &before,
    )?;
    let blocks = report.blocks.len();
    let per_minute = |d: Duration| (blocks as f64 / d.as_secs_f64() * 60.0 * 100.0).round() / 100.0;
    // Said at once: the rest of the bench takes long, and an interrupted bench writes no bench.md.
    shell::status(
        "Measured",
        format!(
            "the window sweep: {blocks} blocks in {:.1} s ({} per minute; chain {}), \
             as before {:.1} s ({} per minute): {:.2}x",
            wall.as_secs_f64(),
            per_minute(wall),
            report.chain.cache.as_deref().unwrap_or("none"),
            baseline.as_secs_f64(),
            per_minute(baseline),
            ratio(baseline, wall)
        ),
    );
    Ok(Window {
        blocks,
        experiments: report.totals.experiments,
        prime_ms: ms(prime),
        chain: report.chain.cache.clone().unwrap_or_else(|| "none".into()),
        wall_ms: ms(wall),
        blocks_per_minute: per_minute(wall),
        baseline_wall_ms: ms(baseline),
        baseline_blocks_per_minute: per_minute(baseline),
        speedup: ratio(baseline, wall),
        identical: comparable(&report) == comparable(&baseline_report),
    })
}
