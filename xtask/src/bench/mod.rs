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
//!
//! Room: `cargo xtask bench`, a consumer of every other room (it runs the commands it measures).
//! Nothing depends on it. It re-enters the binary through [`crate::project::self_command`],
//! the way a user runs the commands it measures.

mod chaos_run;
mod probes;
mod warm;
mod window;

use crate::bench::probes::{cycle_gas, machine, peak_rss_mb, probe_never_answering, replay_bench};
use crate::bench::warm::{warm_goals, warm_markdown, warm_only, warm_runs};
use crate::bench::window::window_sweep;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use alloy::dyn_abi::DynSolValue;
use serde::Serialize;

use crate::chain::{self, ChainOptions};
use crate::foundry::artifacts::Artifact;
use crate::foundry::forge::{self, ScriptCall, Target};
use crate::project::Project;
use crate::rpc::proxy::{Proxy, ProxyConfig};
use crate::rpc::redact::Redacted;
use crate::shell;
use crate::toolchain::Toolchain;

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
    /// Priming the bench's own chain cache: the one-day chain built cold, keeping the window's
    /// blocks (what a first sweep of the window pays once).
    prime_ms: u64,
    /// Where the sweep's chain came from (`hit`: loaded from the primed cache).
    chain: String,
    /// The sweep as `cargo xtask chaos` runs it by default (`--jobs` = cores up to 2, chain
    /// cache on) when the cache holds the window, as a repeated sweep finds it.
    wall_ms: u64,
    blocks_per_minute: f64,
    /// The same sweep as before: one block at a time, the chain built, forge asking solc-js its
    /// version at every start (`--jobs 1 --no-chain-cache`, `XTASK_SOLC_VERSION_ONCE=off`).
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
        Some(window_sweep(&toolchain, project, &out_dir)?)
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
    let md = markdown(&bench);
    publish(&out_dir, "bench", &bench, &md, args.json, &bench.targets)
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
    targets_table(&mut md, &goals);
    let value = serde_json::json!({ "machine": machine(), "mutants": m, "targets": goals });
    publish(out_dir, "bench-mutants", &value, &md, json, &goals)
}

/// The targets table that ends every bench's markdown.
fn targets_table(md: &mut String, goals: &[Goal]) {
    let _ = writeln!(md, "\n| target | wanted | measured | met |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for t in goals {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.name,
            t.target,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        );
    }
}

/// Write a bench's `<stem>.json` and `<stem>.md` into `out_dir`, print one of them (the JSON
/// with `--json`), and exit 1 when a target is not met.
fn publish(
    out_dir: &Path,
    stem: &str,
    value: &impl Serialize,
    md: &str,
    json: bool,
    goals: &[Goal],
) -> anyhow::Result<ExitCode> {
    std::fs::write(
        out_dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(value)? + "\n",
    )?;
    std::fs::write(out_dir.join(format!("{stem}.md")), md)?;
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
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
    targets_table(&mut md, &b.targets);
    md
}
