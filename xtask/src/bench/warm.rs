//! Warm runs: a cold chaos run against one served from the chain cache, side by side, and their
//! goals.

use super::{ms, publish, target, targets_table, Goal, WarmBench, Window};
use crate::bench::chaos_run::{comparable, ratio, timed_chaos};
use crate::bench::probes::machine;
use crate::bench::window::window_sweep;
use crate::chain::{self, ChainOptions};
use crate::project::Project;
use crate::shell;
use crate::toolchain::Toolchain;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// The default `cargo xtask chaos` (both engines) on the cached chain, then the same run with
/// `--no-chain-cache`, both timed from the outside (the binary is built: no compile). The
/// bench's own chain build (or `--warm-only`'s) stores the entry first.
pub(super) fn warm_runs(project: &Project, out_dir: &Path) -> anyhow::Result<WarmBench> {
    shell::status(
        "Measuring",
        "a warm default `cargo xtask chaos`, then the same with --no-chain-cache",
    );
    let (warm_wall, warm) = timed_chaos(project, out_dir, "warm-chaos", &[], false)?;
    let (uncached_wall, uncached) = timed_chaos(
        project,
        out_dir,
        "uncached-chaos",
        &["--no-chain-cache"],
        false,
    )?;
    Ok(WarmBench {
        warm_wall_ms: ms(warm_wall),
        warm_chain: warm.chain.cache.clone().unwrap_or_else(|| "none".into()),
        uncached_wall_ms: ms(uncached_wall),
        speedup: ratio(uncached_wall, warm_wall),
        identical: comparable(&warm) == comparable(&uncached),
    })
}

/// The targets of the chain cache and the concurrent executor, each a ratio within one run.
pub(super) fn warm_goals(warm: &WarmBench, window: Option<&Window>) -> Vec<Goal> {
    let mut goals = vec![
        target(
            "warm default `chaos` (chain cache hit) vs the same run with --no-chain-cache",
            ">= 2x shorter",
            warm.speedup,
            warm.speedup >= 2.0 && warm.warm_chain == "hit",
        ),
        Goal {
            name: "cached and uncached default runs' reports".into(),
            target: "identical".into(),
            measured: if warm.identical {
                "identical"
            } else {
                "different"
            }
            .into(),
            met: warm.identical,
        },
    ];
    if let Some(w) = window {
        goals.push(target(
            "repeated window sweep (chain cache holding the window) pinned blocks per minute vs the sweep as before (--jobs 1 --no-chain-cache, XTASK_SOLC_VERSION_ONCE=off)",
            ">= 2x",
            w.speedup,
            w.speedup >= 2.0 && w.chain == "hit",
        ));
        goals.push(Goal {
            name: "window sweep reports, default vs --jobs 1 --no-chain-cache".into(),
            target: "identical".into(),
            measured: if w.identical {
                "identical"
            } else {
                "different"
            }
            .into(),
            met: w.identical,
        });
    }
    goals
}

/// `cargo xtask bench --warm-only`: the chain cache and the executor alone, written to
/// bench-warm.json and bench-warm.md.
pub(super) fn warm_only(
    toolchain: &Toolchain,
    project: &Project,
    out_dir: &Path,
    json: bool,
    no_window: bool,
) -> anyhow::Result<ExitCode> {
    // The entry a warm default run loads (a hit, or built and stored now).
    drop(chain::build(
        toolchain,
        &ChainOptions {
            seed: chain::DEFAULT_SEED,
            days: chain::DEFAULT_DAYS,
            out_dir: out_dir.join("chain"),
            port: 0,
            cache: crate::chain::cache::Mode::new(
                crate::chain::cache::default_dir(project.root()),
                false,
            ),
        },
    )?);
    let warm = warm_runs(project, out_dir)?;
    let window = if no_window {
        None
    } else {
        Some(window_sweep(toolchain, project, out_dir)?)
    };
    let goals = warm_goals(&warm, window.as_ref());
    let mut md = format!("Machine: {}.\n", machine());
    md.push_str(&warm_markdown(&warm, window.as_ref()));
    targets_table(&mut md, &goals);
    let value = serde_json::json!({
        "machine": machine(),
        "warm": warm,
        "window": window,
        "targets": goals,
    });
    publish(out_dir, "bench-warm", &value, &md, json, &goals)
}

pub(super) fn warm_markdown(warm: &WarmBench, window: Option<&Window>) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\nDefault `chaos`: {:.1} s on the cached chain (cache: {}), {:.1} s with --no-chain-cache ({:.2}x); reports {}.",
        warm.warm_wall_ms as f64 / 1000.0,
        warm.warm_chain,
        warm.uncached_wall_ms as f64 / 1000.0,
        warm.speedup,
        if warm.identical { "identical" } else { "DIFFERENT" }
    );
    if let Some(w) = window {
        let _ = writeln!(
            md,
            "\nWindow sweep: {} blocks, {} experiments in {:.1} s on a chain cache holding the window \
             (cache: {}; priming it, the cold one-day build a first sweep does, took {:.1} s) \
             ({:.2} pinned blocks per minute); \
             as before (--jobs 1 --no-chain-cache, XTASK_SOLC_VERSION_ONCE=off) {:.1} s ({:.2} per minute): {:.2}x; reports {}.",
            w.blocks,
            w.experiments,
            w.wall_ms as f64 / 1000.0,
            w.chain,
            w.prime_ms as f64 / 1000.0,
            w.blocks_per_minute,
            w.baseline_wall_ms as f64 / 1000.0,
            w.baseline_blocks_per_minute,
            w.speedup,
            if w.identical { "identical" } else { "DIFFERENT" }
        );
    }
    md
}
