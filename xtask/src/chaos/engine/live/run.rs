//! Running the live-fork experiments of one pinned block: an anvil fork behind the proxy, the
//! vault deployed on it when the block predates it, every experiment, and the degraded-RPC runs.

use crate::chain::vault::VaultReader;
use crate::chaos::degraded::Position;
use crate::chaos::engine::{error_experiment, live};
use crate::chaos::pin::PinnedBlock;
use crate::chaos::progress::Finished;
use crate::chaos::schedule::{Executor, Plan};
use crate::chaos::upstream::{merge_counters, origin_config, Connection, ForkSource};
use crate::foundry::anvil::Anvil;
use crate::foundry::forge::{self, relative_path};
use crate::report::{Block, Engine, Experiment};
use crate::rpc::keeper::KeeperCounters;
use crate::rpc::ledger::{Ledger, Unit};
use crate::rpc::proxy::{Proxy, ProxyConfig, ProxyHandle};
use crate::rpc::redact::Redacted;
use crate::shell;
use crate::toolchain::Tool;
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// One anvil fork of the block, every live-fork experiment on it from the same snapshot.
/// Finished experiments go into `out`; on a signal it stops at the next step (`Err`), and an
/// experiment the signal cut short is dropped.
pub(in crate::chaos) fn run_live(
    context: &Executor<'_>,
    source: &ForkSource,
    pinned: &PinnedBlock,
    ids: &[String],
    out: &mut Vec<Experiment>,
) -> Result<(), crate::signals::Interrupted> {
    let started = Instant::now();
    let fork = (|| -> anyhow::Result<(Anvil, Option<ProxyHandle>, live::Fork)> {
        let anvil = Anvil::builder()
            .arg("--fork-url")
            .arg(&source.url)
            .arg("--fork-block-number")
            .arg(pinned.number.to_string())
            .arg("--no-storage-caching")
            .args(["--retries", "5", "--fork-retry-backoff", "300"])
            .log_to(
                context
                    .log_dir
                    .join(format!("anvil-fork-{}.log", pinned.number)),
            )
            .spawn(context.toolchain)?;
        // In a degraded run the keeper reaches its node through a faulty proxy as well.
        let (keeper_proxy, node_url) = if context.keeper_faults.is_empty() {
            (None, anvil.url())
        } else {
            // The keeper's own transport is the client here: it writes its give-ups to the
            // ledger itself, so the faults this proxy injects are not written as reaching it.
            let mut config = ProxyConfig::new(Redacted::parse(&anvil.url(), "the fork's URL")?)
                .seed(context.seed);
            for fault in &context.keeper_faults {
                config = config.fault(fault.clone());
            }
            let proxy = Proxy::start(config)?;
            let url = proxy.url();
            (Some(proxy), url)
        };
        let provider = crate::rpc::keeper::connect(
            &node_url,
            context.keeper_policy.clone(),
            Some(Arc::clone(&context.ledger)),
            Arc::clone(&context.keeper_counters),
        )?;
        let address = if context.fresh_vault {
            deploy_vault_on_fork(context, source, &anvil.url())?
        } else {
            source.book.vault
        };
        let vault = VaultReader::new(context.project, address, provider)?;
        let upstream = source.tape.clone().map(|tape| (tape, pinned.number));
        let fork = context.runtime.block_on(live::Fork::new_on(
            vault,
            source.book.clone(),
            context.fresh_vault,
            upstream,
        ))?;
        Ok((anvil, keeper_proxy, fork))
    })();
    crate::signals::check()?;
    match fork {
        Ok((_anvil, proxy, fork)) => {
            let outcome = (|| {
                for id in ids {
                    context
                        .ledger
                        .enter(Some(pinned.number), Unit::Live(id.clone()));
                    let experiment = context.runtime.block_on(fork.run(id));
                    crate::signals::check()?;
                    out.push(experiment);
                }
                Ok::<(), crate::signals::Interrupted>(())
            })();
            if let Some(proxy) = proxy {
                let injected: u64 = proxy.stats().faults.iter().map(|f| f.injected).sum();
                context
                    .keeper_faults_injected
                    .fetch_add(injected, std::sync::atomic::Ordering::Relaxed);
            }
            outcome?;
        }
        Err(err) => {
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            out.extend(
                ids.iter()
                    .map(|id| error_experiment(id, Engine::LiveFork, ms, &err)),
            );
        }
    }
    Ok(())
}

/// `script/DeployVaultOnFork.s.sol` broadcast to the fork's own anvil; returns the vault.
pub(in crate::chaos) fn deploy_vault_on_fork(
    context: &Executor<'_>,
    source: &ForkSource,
    fork_url: &str,
) -> anyhow::Result<alloy::primitives::Address> {
    let mut cmd = context.toolchain.command(Tool::Forge);
    cmd.args([
        "script",
        "script/DeployVaultOnFork.s.sol:DeployVaultOnFork",
        "--broadcast",
        "--json",
        "--rpc-url",
        fork_url,
    ])
    .env(
        "CHAOS_ADDRESS_BOOK",
        relative_path(context.toolchain, &source.book_path),
    )
    .stdin(std::process::Stdio::null());
    let logs = forge::BroadcastLogs::new(context.toolchain)?;
    logs.apply(&mut cmd);
    let output =
        crate::signals::output(&mut cmd).context("starting forge script DeployVaultOnFork")?;
    crate::signals::check()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (success, _, returned, _) = forge::parse_script_output(&stdout).with_context(|| {
        format!(
            "DeployVaultOnFork printed no result: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )
    })?;
    anyhow::ensure!(success && returned.len() == 32, "DeployVaultOnFork failed");
    Ok(alloy::primitives::Address::from_slice(&returned[12..]))
}

/// The same plan again with `faults` placed in front of the tools (a faulty proxy between
/// forge/anvil and a fresh resilient layer, and between the keeper and its node) and/or
/// upstream of the resilient layer (a faulty proxy between it and the provider); compared
/// with the clean run pair by pair, failures classified by this run's own ledger.
pub(in crate::chaos) fn run_degraded(
    context: &Executor<'_>,
    upstream: &Connection,
    plan: &Plan,
    clean: &[Block],
    faults: &[crate::chaos::degraded::Placed],
    report_dir: &Path,
) -> anyhow::Result<crate::chaos::degraded::Comparison> {
    let names: Vec<String> = faults.iter().map(ToString::to_string).collect();
    shell::status(
        "Degrading",
        format!("the same run through faulty RPC: {}", names.join(", ")),
    );
    let front = crate::chaos::degraded::at(faults, Position::Front);
    let behind = crate::chaos::degraded::at(faults, Position::Upstream);
    let ledger = Arc::new(Ledger::default());
    let upstream_faults = if behind.is_empty() {
        None
    } else {
        let mut config = origin_config(upstream).seed(context.seed);
        config.faults = behind;
        // Its faults reach the resilient layer, not the tools; the ledger gives a replay
        // its scope.
        config.ledger = Some(Arc::clone(&ledger));
        Some(Proxy::start(config)?)
    };
    let mut config = match &upstream_faults {
        Some(faulty) => ProxyConfig::new(Redacted::parse(&faulty.url(), "the faulty proxy")?),
        None => origin_config(upstream),
    }
    .resilient(upstream.policy.clone());
    config.ledger = Some(Arc::clone(&ledger));
    config.recorder = upstream.recorder.clone();
    let resilient = Proxy::start(config)?;
    let front_faults = if front.is_empty() {
        None
    } else {
        let mut config =
            ProxyConfig::new(Redacted::parse(&resilient.url(), "the resilient proxy")?)
                .seed(context.seed);
        config.faults = front.clone();
        config.ledger = Some(Arc::clone(&ledger));
        config.faults_reach_client = true;
        Some(Proxy::start(config)?)
    };
    let url = front_faults
        .as_ref()
        .map_or_else(|| resilient.url(), ProxyHandle::url);
    let log_dir = report_dir.join("degraded");
    std::fs::create_dir_all(&log_dir)?;
    let degraded_context = Executor {
        log_dir: log_dir.clone(),
        keeper_faults: front,
        ledger: Arc::clone(&ledger),
        keeper_policy: context.keeper_policy.clone(),
        keeper_counters: Arc::new(KeeperCounters::default()),
        keeper_faults_injected: Arc::default(),
        // One block at a time: the faults are drawn in request order, and the ledger's scope
        // (which block a failure belongs to) is the one unit running.
        jobs: 1,
        ..*context
    };
    let mut finished = Finished::default();
    degraded_context.execute(&upstream.source(&url), plan, &mut finished)?;
    let blocks = finished.blocks;
    let nearest = upstream_faults.as_ref().unwrap_or(&resilient).stats();
    let injected = [&front_faults, &upstream_faults]
        .iter()
        .filter_map(|p| p.as_ref())
        .map(|p| p.stats().faults.iter().map(|f| f.injected).sum::<u64>())
        .sum::<u64>()
        + degraded_context
            .keeper_faults_injected
            .load(std::sync::atomic::Ordering::Relaxed);
    let mut comparison = crate::chaos::degraded::compare(clean, &blocks, &ledger);
    comparison.faults = names;
    comparison.requests = nearest.methods.clone();
    comparison.faults_injected = injected;
    comparison.resilience = merge_counters(
        &resilient.stats().resilience,
        &degraded_context.keeper_counters.snapshot(),
    );
    std::fs::write(
        log_dir.join("comparison.json"),
        serde_json::to_string_pretty(&comparison)? + "\n",
    )?;
    std::fs::write(
        log_dir.join("ledger.json"),
        serde_json::to_string_pretty(&ledger.events())? + "\n",
    )?;
    let (retries, give_ups) = comparison
        .resilience
        .values()
        .fold((0, 0), |t, c| (t.0 + c.retries, t.1 + c.give_ups));
    shell::status(
        "Compared",
        format!(
            "{} matched, {} classified failures, {} unclassified failures, {} silent divergences ({} faults injected in {} upstream requests; {retries} retries, {give_ups} give-ups)",
            comparison.matched,
            comparison.classified_failures,
            comparison.unclassified_failures,
            comparison.silent_divergences,
            comparison.faults_injected,
            nearest.calls
        ),
    );
    Ok(comparison)
}
