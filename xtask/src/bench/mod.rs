//! `cargo xtask bench`: the chaos suite as the xtask runs it against the naive way, measured
//! side by side in one run on the local chain (ratios, not absolute times: these machines are
//! shared and noisy).
//!
//! - suite: per pinned block, every in-EVM scenario in one forge process on one fork, against a
//!   naive baseline that runs each scenario in its own `forge script` forking the upstream;
//!   wall time and upstream requests (counted by a proxy in front of the upstream) for both;
//! - the duplicate-fetch ratio: upstream requests per distinct state key, xtask way;
//! - a window sweep: one day at one-hour steps, every experiment, pinned blocks per minute;
//! - `rpc-probe` against an endpoint that accepts connections and never answers, against its
//!   bound (checks x timeout + 1 s);
//! - gas of every `cycle()` path (the vault's `test_gas_*` tests);
//! - record and replay: `chaos --days 1 --record` on the live local chain against
//!   `--replay` of that recording (wall-time ratio, identical outcomes), and the recording's
//!   compressed size per pinned block;
//! - peak memory (maximum resident set) of the xtask process itself.
//! - mutation testing (`crate::mutants::bench`): a mutant against a warm in-EVM suite at the
//!   same blocks and against the naive way (`--mutants-only` measures this alone).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use alloy::dyn_abi::DynSolValue;
use anyhow::Context as _;
use serde::Serialize;

use crate::chain::{self, ChainOptions};
use crate::foundry::artifacts::Artifact;
use crate::foundry::forge::{self, ScriptCall, Target};
use crate::project::Project;
use crate::rpc::proxy::{Proxy, ProxyConfig};
use crate::rpc::redact::Redacted;
use crate::shell;
use crate::toolchain::{Tool, Toolchain};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Print bench.json on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where bench.json and bench.md go.
    #[arg(long, value_name = "DIR", default_value = "reports/bench")]
    pub out: std::path::PathBuf,
    /// Skip the window sweep (the longest part).
    #[arg(long)]
    pub no_window: bool,
    /// Skip the record-and-replay comparison.
    #[arg(long)]
    pub no_replay: bool,
    /// Measure mutation testing only (`cargo xtask mutants` against a warm suite and the naive way).
    #[arg(long)]
    pub mutants_only: bool,
    /// Measure the chain cache and the concurrent executor only: a warm default run against the
    /// same run with `--no-chain-cache`, and the window sweep against `--jobs 1 --no-chain-cache`.
    #[arg(long, conflicts_with = "mutants_only")]
    pub warm_only: bool,
}

#[derive(Debug, Serialize)]
struct SuiteBlock {
    block: u64,
    label: String,
    scenarios: usize,
    xtask_wall_ms: u64,
    xtask_requests: u64,
    xtask_distinct_keys: u64,
    naive_wall_ms: u64,
    naive_requests: u64,
}

#[derive(Debug, Serialize)]
struct Bench {
    machine: String,
    seed: u64,
    suite: Vec<SuiteBlock>,
    totals: Totals,
    window: Option<Window>,
    probe_never_answering: Probe,
    /// `cargo xtask chaos` with its defaults on a cached chain against the same run with
    /// `--no-chain-cache`.
    warm: WarmBench,
    cycle_gas: Vec<(String, u64)>,
    peak_rss_mb: f64,
    /// `chaos --days 1 --record` through the live local chain against `--replay` of it.
    replay: Option<ReplayBench>,
    /// `cargo xtask mutants`: a mutant against a warm suite and against the naive way.
    mutants: Option<crate::mutants::bench::MutantsBench>,
    targets: Vec<Goal>,
}

#[derive(Debug, Serialize)]
struct ReplayBench {
    /// The recording run: chain built, history played, every experiment at its blocks.
    live_wall_ms: u64,
    /// The same run served from the recording (no chain, no upstream).
    replay_wall_ms: u64,
    speedup: f64,
    pinned_blocks: usize,
    answers: u64,
    compressed_bytes: u64,
    bytes_per_pinned_block: u64,
    /// Every experiment's verdict, digests, gas and checks the same in both runs.
    identical: bool,
}

#[derive(Debug, Serialize)]
struct Totals {
    xtask_wall_ms: u64,
    naive_wall_ms: u64,
    wall_speedup: f64,
    xtask_requests: u64,
    naive_requests: u64,
    request_reduction: f64,
    duplicate_fetch_ratio: f64,
}

#[derive(Debug, Serialize)]
struct Window {
    blocks: usize,
    experiments: u64,
    /// The sweep as `cargo xtask chaos` runs it by default (`--jobs` = cores up to 2, chain
    /// cache on).
    wall_ms: u64,
    blocks_per_minute: f64,
    /// The same sweep one block at a time with the chain built: `--jobs 1 --no-chain-cache`.
    baseline_wall_ms: u64,
    baseline_blocks_per_minute: f64,
    speedup: f64,
    /// Both reports the same apart from times and the chain's URL.
    identical: bool,
}

#[derive(Debug, Serialize)]
struct WarmBench {
    /// `cargo xtask chaos` (defaults) on the cached chain.
    warm_wall_ms: u64,
    /// Where the warm run's chain came from (`hit` when the cache served it).
    warm_chain: String,
    /// The same run with `--no-chain-cache`.
    uncached_wall_ms: u64,
    speedup: f64,
    identical: bool,
}

#[derive(Debug, Serialize)]
struct Probe {
    wall_ms: u64,
    bound_ms: u64,
    verdict: String,
}

#[derive(Debug, Serialize)]
struct Goal {
    name: String,
    target: String,
    measured: String,
    met: bool,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub fn run(args: BenchArgs, project: &Project) -> anyhow::Result<ExitCode> {
    crate::signals::install();
    if args.out.as_os_str().is_empty() {
        return Err(crate::error::Unusable::new("--out is empty").into());
    }
    let toolchain = Toolchain::ensure(project)?;
    forge::build(&toolchain)?;
    let out_dir = project.root().join(&args.out);
    std::fs::create_dir_all(&out_dir)?;
    if args.mutants_only {
        return mutants_only(project, &out_dir, args.json);
    }
    if args.warm_only {
        return warm_only(&toolchain, project, &out_dir, args.json, args.no_window);
    }
    let seed = chain::DEFAULT_SEED;
    let local = chain::build(
        &toolchain,
        &ChainOptions {
            seed,
            days: chain::DEFAULT_DAYS,
            out_dir: out_dir.join("chain"),
            port: 0,
            cache: crate::chain::cache::Mode::new(
                crate::chain::cache::default_dir(project.root()),
                false,
            ),
        },
    )?;
    let upstream = Redacted::parse(&local.info.url, "the local chain's URL")?;
    let artifact = Artifact::load(
        &project.forge_out(),
        "ForkChaosScenarios.s.sol",
        "ForkChaosScenarios",
    )?;
    let catalogue = crate::chaos::catalogue::Catalogue::load(
        &toolchain,
        &artifact,
        "script/ForkChaosScenarios.s.sol:ForkChaosScenarios",
    )?;
    let ids = catalogue.in_evm;
    let book = crate::foundry::forge::relative_path(&toolchain, &local.info.address_book);
    let env = vec![("CHAOS_ADDRESS_BOOK".into(), book.into_os_string())];

    let mut suite = Vec::new();
    for mark in &local.info.landmarks {
        shell::status(
            "Measuring",
            format!(
                "block {} ({}): the xtask way, then the naive way",
                mark.block, mark.label
            ),
        );
        // The xtask way: one forge process, one fork, every scenario (snapshot per scenario).
        let proxy = Proxy::start(ProxyConfig::new(upstream.clone()))?;
        let list = DynSolValue::Array(
            ids.iter()
                .map(|id| DynSolValue::String(id.clone()))
                .collect(),
        );
        let call = ScriptCall {
            target: "script/ForkChaosScenarios.s.sol:ForkChaosScenarios".into(),
            calldata: artifact.encode_call("runScenarios", &[list])?,
            on: Target::Fork {
                url: proxy.url(),
                block: Some(mark.block),
                no_storage_caching: true,
            },
            env: env.clone(),
        };
        let started = Instant::now();
        let output = forge::run_script(&toolchain, &call)?;
        anyhow::ensure!(
            output.success,
            "runScenarios reverted at block {}",
            mark.block
        );
        let xtask_wall = started.elapsed();
        let stats = proxy.stats();
        drop(proxy);

        // The naive way: one forge process per scenario, each forking the upstream afresh.
        let proxy = Proxy::start(ProxyConfig::new(upstream.clone()))?;
        let started = Instant::now();
        for id in &ids {
            let call = ScriptCall {
                target: "script/ForkChaosScenarios.s.sol:ForkChaosScenarios".into(),
                calldata: artifact
                    .encode_call("runScenario", &[DynSolValue::String(id.clone())])?,
                on: Target::Fork {
                    url: proxy.url(),
                    block: Some(mark.block),
                    no_storage_caching: true,
                },
                env: env.clone(),
            };
            let output = forge::run_script(&toolchain, &call)?;
            anyhow::ensure!(
                output.success,
                "runScenario({id}) reverted at block {}",
                mark.block
            );
        }
        let naive_wall = started.elapsed();
        let naive = proxy.stats();
        suite.push(SuiteBlock {
            block: mark.block,
            label: mark.label.clone(),
            scenarios: ids.len(),
            xtask_wall_ms: ms(xtask_wall),
            xtask_requests: stats.calls,
            xtask_distinct_keys: stats.distinct_state_keys,
            naive_wall_ms: ms(naive_wall),
            naive_requests: naive.calls,
        });
    }
    drop(local);

    let sum = |f: fn(&SuiteBlock) -> u64| suite.iter().map(f).sum::<u64>();
    let (xw, nw, xr, nr, keys) = (
        sum(|b| b.xtask_wall_ms),
        sum(|b| b.naive_wall_ms),
        sum(|b| b.xtask_requests),
        sum(|b| b.naive_requests),
        sum(|b| b.xtask_distinct_keys),
    );
    let ratio = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 100.0).round() / 100.0
        }
    };
    let totals = Totals {
        xtask_wall_ms: xw,
        naive_wall_ms: nw,
        wall_speedup: ratio(nw, xw),
        xtask_requests: xr,
        naive_requests: nr,
        request_reduction: ratio(nr, xr),
        duplicate_fetch_ratio: ratio(xr, keys),
    };

    let window = if args.no_window {
        None
    } else {
        Some(window_sweep(project, &out_dir)?)
    };
    let probe = probe_never_answering()?;
    let cycle_gas = cycle_gas(&toolchain)?;
    let replay = if args.no_replay {
        None
    } else {
        Some(replay_bench(project, &out_dir)?)
    };
    let mutants = crate::mutants::bench::measure(project, &out_dir)?;
    let warm = warm_runs(project, &out_dir)?;
    let peak_rss_mb = peak_rss_mb();

    let mut targets = vec![
        target(
            "upstream requests vs naive",
            ">= 5x fewer",
            totals.request_reduction,
            totals.request_reduction >= 5.0,
        ),
        target(
            "duplicate-fetch ratio",
            "<= 1.10",
            totals.duplicate_fetch_ratio,
            totals.duplicate_fetch_ratio <= 1.10,
        ),
        target(
            "suite wall time vs naive",
            ">= 3x shorter",
            totals.wall_speedup,
            totals.wall_speedup >= 3.0,
        ),
        Goal {
            name: "rpc-probe, never-answering endpoint".into(),
            target: format!("<= {} ms", probe.bound_ms),
            measured: format!("{} ms", probe.wall_ms),
            met: probe.wall_ms <= probe.bound_ms,
        },
        Goal {
            name: "peak memory of the xtask".into(),
            target: "< 200 MB".into(),
            measured: format!("{peak_rss_mb:.1} MB"),
            met: peak_rss_mb < 200.0,
        },
    ];
    if let Some((name, gas)) = cycle_gas.iter().max_by_key(|(_, g)| *g) {
        targets.push(Goal {
            name: format!("heaviest cycle() path ({name})"),
            target: "< 2,000,000 gas".into(),
            measured: gas.to_string(),
            met: *gas < 2_000_000,
        });
    }
    if let Some(r) = &replay {
        // A replay still runs every experiment (forge, anvil forks); what it saves on the
        // local chain is building the chain and playing its history, about a fifth of a
        // one-day run. Against a remote provider it also saves every round trip.
        targets.push(target(
            "replayed run vs the same run on the live local chain",
            ">= 1.2x shorter",
            r.speedup,
            r.speedup >= 1.2,
        ));
        targets.push(Goal {
            name: "recording size per pinned block (compressed)".into(),
            target: "<= 256 KiB".into(),
            measured: format!("{:.1} KiB", r.bytes_per_pinned_block as f64 / 1024.0),
            met: r.bytes_per_pinned_block <= 256 * 1024,
        });
        targets.push(Goal {
            name: "replayed verdicts, digests, gas and checks".into(),
            target: "identical".into(),
            measured: if r.identical {
                "identical"
            } else {
                "different"
            }
            .into(),
            met: r.identical,
        });
    }
    for (name, target, measured, met) in crate::mutants::bench::goals(&mutants) {
        targets.push(Goal {
            name,
            target,
            measured,
            met,
        });
    }
    targets.extend(warm_goals(&warm, window.as_ref()));
    let bench = Bench {
        machine: machine(),
        seed,
        suite,
        totals,
        window,
        probe_never_answering: probe,
        warm,
        cycle_gas,
        peak_rss_mb,
        replay,
        mutants: Some(mutants),
        targets,
    };
    std::fs::write(
        out_dir.join("bench.json"),
        serde_json::to_string_pretty(&bench)? + "\n",
    )?;
    let md = markdown(&bench);
    std::fs::write(out_dir.join("bench.md"), &md)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&bench)?);
    } else {
        shell::line(md);
    }
    let met = bench.targets.iter().all(|t| t.met);
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `cargo xtask bench --mutants-only`: the mutation-testing measurement alone, written to
/// bench-mutants.json and bench-mutants.md.
fn mutants_only(project: &Project, out_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let m = crate::mutants::bench::measure(project, out_dir)?;
    let goals: Vec<Goal> = crate::mutants::bench::goals(&m)
        .into_iter()
        .map(|(name, target, measured, met)| Goal {
            name,
            target,
            measured,
            met,
        })
        .collect();
    let mut md = format!("Machine: {}.\n", machine());
    md.push_str(&crate::mutants::bench::markdown(&m));
    let _ = writeln!(md, "\n| target | wanted | measured | met |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for t in &goals {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.name,
            t.target,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        );
    }
    let value = serde_json::json!({ "machine": machine(), "mutants": m, "targets": goals });
    std::fs::write(
        out_dir.join("bench-mutants.json"),
        serde_json::to_string_pretty(&value)? + "\n",
    )?;
    std::fs::write(out_dir.join("bench-mutants.md"), &md)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        shell::line(md);
    }
    Ok(if goals.iter().all(|g| g.met) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn target(name: &str, target: &str, measured: f64, met: bool) -> Goal {
    Goal {
        name: name.into(),
        target: target.into(),
        measured: format!("{measured:.2}x"),
        met,
    }
}

/// One day at one-hour steps with every experiment, through the real `chaos` command: as it
/// runs by default, then one block at a time with the chain built (the way before the chain
/// cache and `--jobs`).
fn window_sweep(project: &Project, out_dir: &Path) -> anyhow::Result<Window> {
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
fn comparable(mut report: serde_json::Value) -> serde_json::Value {
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

/// The default in-EVM `cargo xtask chaos` on the cached chain, then the same run with
/// `--no-chain-cache`, both timed from the outside (the binary is built: no compile). The
/// bench's own chain build (or `--warm-only`'s) stores the entry first. In-EVM only: runs with
/// live-fork experiments build the chain (they read history an entry does not keep).
fn warm_runs(project: &Project, out_dir: &Path) -> anyhow::Result<WarmBench> {
    shell::status(
        "Measuring",
        "a warm `cargo xtask chaos --engine in-evm`, then the same with --no-chain-cache",
    );
    let run = |name: &str, extra: &[&str]| -> anyhow::Result<(u64, serde_json::Value)> {
        let dir = out_dir.join(name);
        let started = Instant::now();
        let status = crate::signals::status_as_is(
            crate::cli::self_command(project)
                .args(["chaos", "--force", "--engine", "in-evm"])
                .args(extra)
                .arg("--report-dir")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        crate::signals::check()?;
        let wall = ms(started.elapsed());
        anyhow::ensure!(
            status.success() || status.code() == Some(1),
            "cargo xtask chaos could not run ({status})"
        );
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("report.json"))
                .with_context(|| format!("the run ({status}) wrote no report"))?,
        )?;
        Ok((wall, report))
    };
    let (warm_wall_ms, warm) = run("warm-chaos", &[])?;
    let (uncached_wall_ms, uncached) = run("uncached-chaos", &["--no-chain-cache"])?;
    Ok(WarmBench {
        warm_wall_ms,
        warm_chain: warm["chain"]["cache"].as_str().unwrap_or("none").to_owned(),
        uncached_wall_ms,
        speedup: (uncached_wall_ms as f64 / warm_wall_ms.max(1) as f64 * 100.0).round() / 100.0,
        identical: comparable(warm) == comparable(uncached),
    })
}

/// The targets of the chain cache and the concurrent executor, each a ratio within one run.
fn warm_goals(warm: &WarmBench, window: Option<&Window>) -> Vec<Goal> {
    let mut goals = vec![
        target(
            "warm in-EVM `chaos` (chain cache hit) vs the same run with --no-chain-cache",
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
            "window sweep pinned blocks per minute vs --jobs 1 --no-chain-cache",
            ">= 2x",
            w.speedup,
            w.speedup >= 2.0,
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
fn warm_only(
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
        Some(window_sweep(project, out_dir)?)
    };
    let goals = warm_goals(&warm, window.as_ref());
    let mut md = format!("Machine: {}.\n", machine());
    md.push_str(&warm_markdown(&warm, window.as_ref()));
    let _ = writeln!(md, "\n| target | wanted | measured | met |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for t in &goals {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.name,
            t.target,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        );
    }
    let value = serde_json::json!({
        "machine": machine(),
        "warm": warm,
        "window": window,
        "targets": goals,
    });
    std::fs::write(
        out_dir.join("bench-warm.json"),
        serde_json::to_string_pretty(&value)? + "\n",
    )?;
    std::fs::write(out_dir.join("bench-warm.md"), &md)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        shell::line(md);
    }
    Ok(if goals.iter().all(|g| g.met) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn warm_markdown(warm: &WarmBench, window: Option<&Window>) -> String {
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
            "\nWindow sweep: {} blocks, {} experiments in {:.1} s ({:.2} pinned blocks per minute); \
             --jobs 1 --no-chain-cache {:.1} s ({:.2} per minute): {:.2}x; reports {}.",
            w.blocks,
            w.experiments,
            w.wall_ms as f64 / 1000.0,
            w.blocks_per_minute,
            w.baseline_wall_ms as f64 / 1000.0,
            w.baseline_blocks_per_minute,
            w.speedup,
            if w.identical { "identical" } else { "DIFFERENT" }
        );
    }
    md
}

/// `chaos --days 1 --record DIR` (chain built, history played, every experiment at the four
/// landmark blocks) against `chaos --days 1 --replay DIR`, both through the real command.
fn replay_bench(project: &Project, out_dir: &Path) -> anyhow::Result<ReplayBench> {
    shell::status(
        "Measuring",
        "a recorded run on the live local chain, then its replay",
    );
    let recording = out_dir.join("recording");
    let _ = std::fs::remove_dir_all(&recording);
    let timed = |mode: &str, report_dir: &Path| -> anyhow::Result<Duration> {
        let started = Instant::now();
        let status = crate::cli::self_command(project)
            .args(["chaos", "--days", "1", mode])
            .arg(&recording)
            .arg("--report-dir")
            .arg(report_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        anyhow::ensure!(
            status.success(),
            "cargo xtask chaos {mode} failed ({status})"
        );
        Ok(started.elapsed())
    };
    let (live_dir, replay_dir) = (out_dir.join("replay-live"), out_dir.join("replay-replayed"));
    let live = timed("--record", &live_dir)?;
    let replayed = timed("--replay", &replay_dir)?;
    // Everything but the times must be the same.
    let outcomes = |dir: &Path| -> anyhow::Result<Vec<serde_json::Value>> {
        let report: crate::report::Report =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json"))?)?;
        report
            .blocks
            .iter()
            .flat_map(|b| &b.experiments)
            .map(|e| {
                let mut value = serde_json::to_value(e)?;
                if let Some(object) = value.as_object_mut() {
                    object.remove("duration_ms");
                }
                Ok(value)
            })
            .collect()
    };
    let identical = outcomes(&live_dir)? == outcomes(&replay_dir)?;
    let manifest: crate::rpc::record::Manifest = serde_json::from_str(&std::fs::read_to_string(
        recording.join(crate::rpc::record::MANIFEST),
    )?)?;
    let blocks = manifest.pinned.len().max(1);
    Ok(ReplayBench {
        live_wall_ms: ms(live),
        replay_wall_ms: ms(replayed),
        speedup: (live.as_secs_f64() / replayed.as_secs_f64().max(0.001) * 100.0).round() / 100.0,
        pinned_blocks: manifest.pinned.len(),
        answers: manifest.answers,
        compressed_bytes: manifest.compressed_bytes,
        bytes_per_pinned_block: manifest.compressed_bytes / blocks as u64,
        identical,
    })
}

/// `rpc-probe --timeout 1s` against a listener that accepts connections and never answers.
fn probe_never_answering() -> anyhow::Result<Probe> {
    shell::status(
        "Measuring",
        "rpc-probe against an endpoint that never answers",
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Ok(mut list) = keep.lock() {
                list.push(stream);
            }
        }
    });
    // In process: the probe's own time, without a process start-up in front of it.
    let settings = crate::rpc::probe::ProbeSettings {
        endpoint: Redacted::parse(&format!("http://127.0.0.1:{port}/"), "the silent endpoint")?,
        expect_chain_id: 56,
        fork_block: None,
        samples: 10,
        timeout: Duration::from_secs(1),
        max_head_age: Duration::from_secs(60),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let report = runtime.block_on(crate::rpc::probe::probe(&settings))?;
    let wall = started.elapsed();
    // Eight checks of one timeout each, plus a second.
    Ok(Probe {
        wall_ms: ms(wall),
        bound_ms: 8 * 1000 + 1000,
        verdict: report.verdict.as_str().to_owned(),
    })
}

/// Gas of each `cycle()` path from the vault's `test_gas_*` tests.
fn cycle_gas(toolchain: &Toolchain) -> anyhow::Result<Vec<(String, u64)>> {
    shell::status(
        "Measuring",
        "gas of every cycle() path (forge test --match-test test_gas_)",
    );
    let output = crate::signals::output(
        toolchain
            .command(Tool::Forge)
            .args(["test", "--match-test", "test_gas_", "--json"])
            .stdin(Stdio::null()),
    )?;
    let report = crate::suite::parse_forge_report(&String::from_utf8_lossy(&output.stdout))?;
    let mut gas = Vec::new();
    for suite in report.values() {
        for (name, test) in &suite.test_results {
            if let Some(units) = test
                .kind
                .as_ref()
                .and_then(|k| k.get("Unit"))
                .and_then(|u| u.get("gas"))
                .and_then(|g| g.as_u64())
            {
                gas.push((
                    name.trim_end_matches("()")
                        .trim_start_matches("test_gas_")
                        .to_owned(),
                    units,
                ));
            }
        }
    }
    gas.sort();
    Ok(gas)
}

/// Maximum resident set of this process (not its children), in MB.
fn peak_rss_mb() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
            return usage.ru_maxrss as f64 / 1024.0;
        }
    }
    0.0
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    format!("{cpus} cores, {model}, {mem}")
}

fn markdown(b: &Bench) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "Machine: {}. Seed {}.\n", b.machine, b.seed);
    let _ = writeln!(md, "| block | scenarios | xtask wall | naive wall | xtask requests | naive requests | distinct keys |");
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for s in &b.suite {
        let _ = writeln!(
            md,
            "| {} ({}) | {} | {:.1} s | {:.1} s | {} | {} | {} |",
            s.block,
            s.label,
            s.scenarios,
            s.xtask_wall_ms as f64 / 1000.0,
            s.naive_wall_ms as f64 / 1000.0,
            s.xtask_requests,
            s.naive_requests,
            s.xtask_distinct_keys
        );
    }
    md.push_str(&warm_markdown(&b.warm, b.window.as_ref()));
    if let Some(r) = &b.replay {
        let _ = writeln!(
            md,
            "\nRecord and replay (`chaos --days 1`, {} pinned blocks): live {:.1} s, replayed {:.1} s ({:.2}x); \
             recording {} answers, {} bytes compressed, {:.1} KiB per pinned block; outcomes {}.",
            r.pinned_blocks,
            r.live_wall_ms as f64 / 1000.0,
            r.replay_wall_ms as f64 / 1000.0,
            r.speedup,
            r.answers,
            r.compressed_bytes,
            r.bytes_per_pinned_block as f64 / 1024.0,
            if r.identical { "identical" } else { "DIFFERENT" }
        );
    }
    let _ = writeln!(
        md,
        "\nCycle gas: {}.",
        b.cycle_gas
            .iter()
            .map(|(n, g)| format!("{n} {g}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(m) = &b.mutants {
        md.push_str(&crate::mutants::bench::markdown(m));
    }
    let _ = writeln!(md, "\n| target | wanted | measured | met |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for t in &b.targets {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.name,
            t.target,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        );
    }
    md
}
