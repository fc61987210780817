//! `cargo xtask chaos`: pin blocks of an upstream chain, run the in-EVM scenarios and the
//! live-fork keeper experiments on forks of each, and write the report.
//!
//! The upstream is the local BSC replica chain ([`crate::chain`]) unless `BSC_RPC_URL` names a
//! real BSC archive endpoint. Either way every fork (forge's and anvil's) reads the upstream
//! through the xtask's own JSON-RPC proxy ([`crate::rpc::proxy`]) on 127.0.0.1: forge and
//! anvil never see the real URL (it carries an API key), and the proxy counts every upstream
//! request per method for the report.
//!
//! Room: `cargo xtask chaos` from arguments to report (catalogue, upstream, pinned blocks, both
//! engines, the steady state, degraded-RPC comparison). May depend on every room below it in the
//! data flow ([`crate::toolchain`], [`crate::foundry`], [`crate::chain`], [`crate::rpc`]) and on
//! [`crate::report`], which it writes; nothing below it may depend on it (the exceptions left are
//! listed in `docs/architecture.md`).

pub mod args;
pub mod catalogue;
pub mod degraded;
pub mod engine;
pub mod pin;
mod progress;
pub mod scenario;
mod schedule;
pub mod steady;
mod upstream;

use crate::chaos::args::{validate, ChaosArgs, ChaosCommand};
use crate::chaos::catalogue::{print_catalogue, Catalogue};
use crate::chaos::engine::in_evm::artifact_of;
use crate::chaos::engine::live::run::run_degraded;
use crate::chaos::progress::Progress;
use crate::chaos::schedule::{jobs, Executor};
use crate::chaos::upstream::{
    check_served, connect_upstream, merge_counters, preflight_archive, record, replay_gap,
    write_rpc_stats, Connection,
};
use crate::report::merge::merge;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alloy::providers::Provider as _;
use anyhow::Context as _;

use crate::chain::vault::VaultReader;
use crate::chaos::engine::live;
use crate::chaos::pin::{PinnedBlock, Selection};
use crate::error::Unusable;
use crate::foundry::artifacts::Artifact;
use crate::foundry::forge;
use crate::project::Project;
use crate::report::{self, Chain, ExperimentTotals, Verdict};
use crate::rpc::keeper::KeeperCounters;
use crate::shell;
use crate::toolchain::Toolchain;

pub fn run(args: ChaosArgs, project: &Project) -> anyhow::Result<ExitCode> {
    if let Some(ChaosCommand::Merge {
        dirs,
        out,
        open,
        force,
    }) = &args.command
    {
        return merge(dirs, &project.root().join(out), *open, *force);
    }
    crate::signals::install();
    let mut progress = Progress::default();
    let outcome = run_experiments(&args, project, &mut progress);
    progress.conclude(outcome)
}

/// The run's body. What it has finished lives in `progress`, so that a signal at any step
/// leaves a report of exactly that (or nothing).
fn run_experiments(
    args: &ChaosArgs,
    project: &Project,
    progress: &mut Progress,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // Everything that can be judged from the command line alone, before any expensive work.
    validate(args)?;
    let rpc_faults = crate::chaos::degraded::parse(&args.rpc_faults, args.rpc_faults_at)?;
    let selection = match (args.fork_block, args.at, args.window, args.step) {
        (Some(n), _, _, _) => Selection::Block(n),
        (_, Some(t), _, _) => Selection::At(t),
        (_, _, Some((from, to)), Some(step)) => Selection::Window { from, to, step },
        _ => Selection::Default,
    };
    let local_chain = std::env::var("BSC_RPC_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .is_none();
    pin::precheck(
        &selection,
        local_chain.then(|| crate::chain::bounds(args.days)),
    )?;
    let run_id = new_run_id(started_at, args.seed);
    let report_dir = project.root().join(
        args.report_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("reports/chaos-{run_id}"))),
    );
    if !args.list {
        report::ReportDir::available(&report_dir, args.force)?;
    }

    crate::signals::phase("compile")?;
    let toolchain = Toolchain::ensure(project)?;
    forge::build(&toolchain)?;
    let (file, contract) = artifact_of(&args.scenario_script)?;
    let artifact = Artifact::load(&project.forge_out(), &file, &contract)?;
    let catalogue = Catalogue::load(&toolchain, &artifact, &args.scenario_script)?;
    if args.list {
        print_catalogue(&catalogue);
        return Ok(ExitCode::SUCCESS);
    }
    let (in_evm, live_ids) = catalogue.select(&args.scenarios, args.engine)?;
    let report_dir = progress.create_dir(report::ReportDir::create(&report_dir, args.force)?);

    crate::signals::phase("chain")?;
    let upstream = connect_upstream(&toolchain, args, &report_dir)?;
    crate::signals::phase("pin")?;
    let runtime = crate::runtime::shared()?;
    let provider = crate::chain::connect(&upstream.url)?;
    let head = runtime
        .block_on(provider.get_block_number())
        .context("reading the upstream's head")
        .map_err(|e| replay_gap(&upstream, e))?;
    let pins = runtime
        .block_on(
            pin::BlockReader {
                provider: &provider,
                head,
            }
            .resolve(&selection, &upstream.default_blocks),
        )
        .map_err(|e| replay_gap(&upstream, e))?;
    if upstream.kind == "bsc" {
        preflight_archive(runtime, &provider, &upstream.book, &pins)?;
    }
    check_served(&upstream, &pins)?;
    for pinned in &pins {
        upstream.proxy.pin(pinned.number, &pinned.hash);
    }

    // (block, experiment) pairs, then this shard's share of them.
    let mut position = 0usize;
    let mut plan: Vec<(PinnedBlock, Vec<String>, Vec<String>)> = Vec::new();
    for pinned in &pins {
        let mut take = |ids: &[String]| -> Vec<String> {
            ids.iter()
                .filter(|_| {
                    let keep = args.shard.is_none_or(|s| s.keeps(position));
                    position += 1;
                    keep
                })
                .cloned()
                .collect()
        };
        let a = take(&in_evm);
        let b = take(&live_ids);
        plan.push((pinned.clone(), a, b));
    }
    let total: usize = plan.iter().map(|(_, a, b)| a.len() + b.len()).sum();
    if let (Some(shard), 0) = (args.shard, total) {
        return Err(Unusable::with_fix(
            format!(
                "shard {}/{} has no experiment: the run has only {position} (block, experiment) pairs",
                shard.index, shard.count
            ),
            format!("use at most {position} shards"),
        )
        .into());
    }
    progress.header = Some(report::Report {
        schema_version: report::SCHEMA_VERSION,
        run_id: run_id.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        duration_ms: 0,
        seed: args.seed,
        chain: Chain {
            id: upstream.chain_id,
            kind: upstream.kind.into(),
            endpoint: upstream.endpoint.clone(),
            cache: upstream.chain_cache.clone(),
        },
        blocks: vec![],
        resilience: 0.0,
        verdict: Verdict::Held,
        totals: ExperimentTotals::default(),
        rpc_degradation: None,
        rpc_resilience: None,
        reverts: vec![],
        shard: args.shard.map(|s| report::ShardOf {
            index: s.index,
            count: s.count,
        }),
        interrupted: None,
    });
    progress.planned = total as u64;
    progress.started = Some(started);
    shell::status(
        "Running",
        format!(
            "{total} experiments at {} pinned blocks on {} ({})",
            pins.len(),
            upstream.endpoint,
            upstream.kind
        ),
    );

    let source = upstream.source(&upstream.url);
    // Every in-EVM batch starts forge, and forge asks its compiler's version at every start.
    let (batch_toolchain, _version_answer) =
        crate::toolchain::solc_version::answering_version(&toolchain);
    let context = Executor {
        toolchain: &batch_toolchain,
        project,
        runtime,
        artifact: &artifact,
        script: &args.scenario_script,
        log_dir: report_dir.clone(),
        keeper_faults: vec![],
        seed: args.seed,
        fresh_vault: match &upstream.replay {
            // A replay deploys (or not) exactly as the recorded run did.
            Some(replay) => replay.meta.fresh_vault,
            None => args.fresh_vault || upstream.book.vault == alloy::primitives::Address::ZERO,
        },
        ledger: Arc::clone(&upstream.ledger),
        keeper_policy: upstream.policy.clone(),
        keeper_counters: Arc::new(KeeperCounters::default()),
        keeper_faults_injected: Arc::default(),
        // A recording (and its replay) is scoped by the ledger's one running unit: block by
        // block.
        jobs: if args.record.is_some() || args.replay.is_some() {
            1
        } else {
            jobs(args.jobs.map(usize::from))
        },
    };
    if let Some(replay) = &upstream.replay {
        if args.fresh_vault && !replay.meta.fresh_vault {
            return Err(Unusable::with_fix(
                "--fresh-vault was not used when the recording was made",
                "replay without --fresh-vault, or record again with it",
            )
            .into());
        }
    }
    context.execute(&source, &plan, &mut progress.finished)?;
    let degraded = if rpc_faults.is_empty() {
        None
    } else {
        crate::signals::phase("degraded")?;
        Some(run_degraded(
            &context,
            &upstream,
            &plan,
            &progress.finished.blocks,
            &rpc_faults,
            &report_dir,
        )?)
    };

    crate::signals::phase("report")?;
    if matches!(selection, Selection::Window { .. }) {
        match runtime.block_on(window_points(project, &upstream, &pins)) {
            Ok(points) => {
                let svg = crate::report::svg::window(
                    &format!(
                        "chaos {run_id}: vault across blocks {}..{}",
                        pins[0].number,
                        pins[pins.len() - 1].number
                    ),
                    &points,
                );
                std::fs::write(report_dir.join("window.svg"), svg)?;
                // The same points for report.html (and a merged report's page).
                std::fs::write(
                    report_dir.join("window.json"),
                    serde_json::to_string_pretty(&points)? + "\n",
                )?;
            }
            Err(err) => shell::warn(format!("no window picture: {err:#}")),
        }
    }

    let stats = upstream.proxy.stats();
    let keeper_counters = context.keeper_counters.snapshot();
    write_rpc_stats(&report_dir, &stats, &keeper_counters, &upstream)?;
    progress.degradation = degraded.map(|c| report::Degradation {
        faults: c.faults,
        matched: c.matched,
        classified_failures: c.classified_failures,
        unclassified_failures: c.unclassified_failures,
        silent_divergences: c.silent_divergences,
        faults_injected: c.faults_injected,
        requests: c.requests,
        resilience: report::Resilience::from_methods(c.resilience),
    });
    progress.resilience = Some(report::Resilience::from_methods(merge_counters(
        &stats.resilience,
        &keeper_counters,
    )));
    let report = progress.write_report()?;
    if report.interrupted.is_some() {
        // The signal came while the report was written: it says so; the exit code follows.
        crate::signals::check()?;
    }
    let markdown = report.summary_markdown();
    report::append_step_summary(&markdown)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if let Some(dir) = &args.record {
        let manifest = record(
            &upstream,
            args,
            context.fresh_vault,
            head,
            &pins,
            &project.root().join(dir),
        )?;
        shell::status(
            "Recorded",
            format!(
                "{} answers for {} pinned blocks in {} ({} bytes compressed, hash {})",
                manifest.answers,
                manifest.pinned.len(),
                dir.display(),
                manifest.compressed_bytes,
                manifest.content_hash
            ),
        );
    }
    if let Some(gap) = upstream.replay.as_ref().and_then(|r| r.missing_error()) {
        return Err(gap);
    }
    shell::status(
        "Finished",
        format!(
            "{} held, {} disproved, {} errors; resilience {:.2}%; {} upstream requests; report in {}",
            report.totals.held,
            report.totals.disproved,
            report.totals.errors,
            report.resilience,
            stats.calls,
            report_dir.display()
        ),
    );
    if args.open {
        crate::report::html::open(&report_dir.join(crate::report::html::FILE_NAME));
    }
    Ok(report.exit_code())
}

/// A new run id: start time, pid and 32 random bits, so that runs started in the same second
/// (even with one seed, on one machine or on several sharing a disk) never share a directory.
pub fn new_run_id(started_at: u64, seed: u64) -> String {
    format!(
        "{started_at}-{}-{:08x}-seed{seed}",
        std::process::id(),
        crate::signals::random_u64() as u32
    )
}

/// NAV, share price and risk mode of the upstream's vault at every pinned block.
async fn window_points(
    project: &Project,
    upstream: &Connection,
    pins: &[PinnedBlock],
) -> anyhow::Result<Vec<crate::report::svg::Point>> {
    anyhow::ensure!(
        upstream.book.vault != alloy::primitives::Address::ZERO,
        "the address book names no deployed vault"
    );
    let vault = VaultReader::new(
        project,
        upstream.book.vault,
        crate::chain::connect(&upstream.url)?,
    )?;
    let whole = |v: alloy::primitives::U256| v.to_string().parse::<f64>().unwrap_or(0.0) / 1e18;
    let mut points = Vec::with_capacity(pins.len());
    for pinned in pins {
        let at = Some(pinned.number);
        points.push(crate::report::svg::Point {
            block: pinned.number,
            timestamp: pinned.timestamp,
            nav: whole(vault.u256("nav", &[], at).await?),
            share_price: whole(vault.u256("sharePrice", &[], at).await?),
            risk_mode: u8::try_from(vault.u256("riskMode", &[], at).await?)?,
        });
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::args::parse_shard;
    use crate::chaos::args::EngineChoice;
    use crate::chaos::args::Shard;

    #[test]
    fn shards_parse_and_split_every_pair_exactly_once() {
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("3").is_err());
        let shards: Vec<Shard> = (1..=3)
            .map(|i| parse_shard(&format!("{i}/3")).unwrap())
            .collect();
        for position in 0..50 {
            assert_eq!(shards.iter().filter(|s| s.keeps(position)).count(), 1);
        }
    }

    #[test]
    fn unknown_scenarios_are_bad_input_and_engines_filter() {
        let c = Catalogue {
            in_evm: vec!["a".into(), "b".into()],
            live: vec!["k".into()],
        };
        assert!(c
            .select(&["nope".into()], EngineChoice::All)
            .unwrap_err()
            .cause
            .contains("unknown scenario `nope`"));
        assert_eq!(
            c.select(&[], EngineChoice::All).unwrap(),
            (vec!["a".into(), "b".into()], vec!["k".into()])
        );
        assert_eq!(
            c.select(&["b".into()], EngineChoice::All).unwrap(),
            (vec!["b".into()], vec![])
        );
        assert_eq!(
            c.select(&[], EngineChoice::LiveFork).unwrap(),
            (vec![], vec!["k".into()])
        );
        assert!(c
            .select(&["a".into()], EngineChoice::LiveFork)
            .unwrap_err()
            .cause
            .contains("`a` is an in-EVM experiment"));
        assert!(c.select(&["k".into()], EngineChoice::InEvm).is_err());
    }

    #[test]
    fn run_ids_differ_within_one_second_and_one_process() {
        let ids: std::collections::BTreeSet<String> =
            (0..1000).map(|_| new_run_id(1_796_000_000, 42)).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id
            .starts_with(&format!("1796000000-{}-", std::process::id()))
            && id.ends_with("-seed42")));
    }
}
