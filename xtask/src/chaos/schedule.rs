//! The schedule: pinned blocks and their experiments cut into batches and run on a pool of
//! workers (`--jobs`), each batch on its own fork, with the next block's fork prepared ahead.

use crate::chaos::engine::in_evm::run_in_evm;
use crate::chaos::live::run::run_live;
use crate::chaos::pin::PinnedBlock;
use crate::chaos::progress::Finished;
use crate::chaos::upstream::ForkSource;
use crate::foundry::artifacts::Artifact;
use crate::project::Project;
use crate::report::{self, Block, Engine, Experiment, Verdict};
use crate::rpc::fault::FaultSpec;
use crate::rpc::keeper::KeeperCounters;
use crate::rpc::ledger::{Ledger, Unit};
use crate::rpc::retry::Policy;
use crate::shell;
use crate::toolchain::Toolchain;
use std::path::PathBuf;
use std::sync::Arc;

/// What every block of a run shares.
pub(super) struct Context<'a> {
    pub(in crate::chaos) toolchain: &'a Toolchain,
    pub(in crate::chaos) project: &'a Project,
    pub(in crate::chaos) runtime: &'a tokio::runtime::Runtime,
    pub(in crate::chaos) artifact: &'a Artifact,
    pub(in crate::chaos) script: &'a str,
    /// Where fork anvils' logs go.
    pub(in crate::chaos) log_dir: PathBuf,
    /// Faults between the live-fork keeper and its node (degraded runs).
    pub(in crate::chaos) keeper_faults: Vec<FaultSpec>,
    pub(in crate::chaos) seed: u64,
    /// Deploy a vault on each live fork instead of using the book's.
    pub(in crate::chaos) fresh_vault: bool,
    /// This run's record of RPC failures that reached a tool; `execute` moves its scope.
    pub(in crate::chaos) ledger: Arc<Ledger>,
    /// The live-fork keeper's transport: policy and counters.
    pub(in crate::chaos) keeper_policy: Policy,
    pub(in crate::chaos) keeper_counters: Arc<KeeperCounters>,
    /// Faults injected between the keeper and its node (degraded runs).
    pub(in crate::chaos) keeper_faults_injected: Arc<std::sync::atomic::AtomicU64>,
    /// How many forge/anvil processes run at once (`--jobs`): in-EVM batches of later blocks
    /// run while the current block's experiments do. 1: block by block, nothing ahead.
    pub(in crate::chaos) jobs: usize,
}

/// One block's in-EVM batch: its experiments and reverts, or the signal that cut it short.
pub(super) type BatchOutcome =
    Result<Vec<(Experiment, Option<crate::chaos::scenario::Revert>)>, crate::signals::Interrupted>;

pub(super) type Plan = [(PinnedBlock, Vec<String>, Vec<String>)];

impl Context<'_> {
    /// Every planned experiment on forks of `source`, block by block, into `done`. On a signal
    /// it stops at the next step: `done` then holds exactly the experiments that finished
    /// before it (a batch or experiment that the signal cut short is dropped, never reported).
    ///
    /// With `jobs` > 1, worker threads run the in-EVM batches of the coming blocks (one forge
    /// process each, independent of every other) while this thread takes the blocks in plan
    /// order and runs their live-fork experiments; results are only ever taken in plan order,
    /// so the report is the same as a run with `--jobs 1`, whatever finished first.
    pub(crate) fn execute(
        &self,
        source: &ForkSource,
        plan: &Plan,
        done: &mut Finished,
    ) -> Result<(), crate::signals::Interrupted> {
        let total = plan
            .iter()
            .map(|(_, a, b)| (a.len() + b.len()) as u64)
            .sum();
        let progress = shell::Progress::new(total, "experiments");
        let batches: Vec<usize> = (0..plan.len()).filter(|&i| !plan[i].1.is_empty()).collect();
        let live_any = plan.iter().any(|(_, _, live)| !live.is_empty());
        // This thread's live-fork experiments count as one of the jobs.
        let workers = match self.jobs {
            0 | 1 => 0,
            _ if batches.is_empty() => 0,
            jobs if live_any => jobs - 1,
            jobs => jobs,
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel::<(usize, BatchOutcome)>();
        let outcome = std::thread::scope(|scope| {
            for _ in 0..workers {
                let (tx, next, batches) = (tx.clone(), &next, &batches);
                scope.spawn(move || loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&i) = batches.get(k) else { break };
                    if crate::signals::received().is_some() {
                        break;
                    }
                    let (pinned, ids, _) = &plan[i];
                    let outcome = run_in_evm(
                        self.toolchain,
                        self.artifact,
                        self.script,
                        source,
                        pinned,
                        ids,
                    );
                    if tx.send((i, outcome)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut ahead = (workers > 0).then(|| Ahead {
                rx: &rx,
                ready: std::collections::BTreeMap::new(),
            });
            let outcome = self.execute_in_order(source, plan, ahead.as_mut(), &progress, done);
            if let (Err((stopped_at, _)), Some(ahead)) = (&outcome, ahead) {
                // The batches that workers finished for later blocks are finished experiments
                // too: reported, in plan order (the workers stop at their next step).
                let mut ready = ahead.ready;
                ready.extend(rx.iter());
                let stopped_block_reported =
                    done.blocks.last().map(|b| b.number) == Some(plan[*stopped_at].0.number);
                for (i, batch) in ready {
                    let later = i > *stopped_at || (i == *stopped_at && !stopped_block_reported);
                    if let (true, Ok(batch)) = (later, batch) {
                        let mut experiments = Vec::new();
                        let mut reverts = Vec::new();
                        take_batch(&plan[i].0, batch, &mut experiments, &mut reverts);
                        self.finish_block(&plan[i].0, experiments, reverts, &progress, done);
                    }
                }
            }
            outcome
        });
        outcome.map_err(|(_, interrupted)| interrupted)?;
        self.ledger.enter(None, Unit::Run);
        Ok(())
    }

    /// The blocks in plan order; `Err` names the block a signal stopped.
    fn execute_in_order(
        &self,
        source: &ForkSource,
        plan: &Plan,
        mut ahead: Option<&mut Ahead<'_>>,
        progress: &shell::Progress,
        done: &mut Finished,
    ) -> Result<(), (usize, crate::signals::Interrupted)> {
        for (i, (pinned, scenario_ids, live_experiments)) in plan.iter().enumerate() {
            progress.message(format!("at block {}", pinned.number));
            progress.line(format!(
                "     Forking block {} ({}, time {})",
                pinned.number, pinned.label, pinned.timestamp
            ));
            let mut experiments = Vec::new();
            let mut reverts = Vec::new();
            let outcome = (|| {
                if !scenario_ids.is_empty() {
                    crate::signals::phase("in-evm")?;
                    let batch = match ahead.as_deref_mut().map(|a| a.take(i)).transpose()? {
                        Some(Some(batch)) => batch?,
                        _ => {
                            self.ledger.enter(Some(pinned.number), Unit::InEvm);
                            run_in_evm(
                                self.toolchain,
                                self.artifact,
                                self.script,
                                source,
                                pinned,
                                scenario_ids,
                            )?
                        }
                    };
                    take_batch(pinned, batch, &mut experiments, &mut reverts);
                    progress.inc(scenario_ids.len() as u64);
                }
                if !live_experiments.is_empty() {
                    crate::signals::phase("live-fork")?;
                    self.ledger.enter(Some(pinned.number), Unit::LiveSetup);
                    run_live(self, source, pinned, live_experiments, &mut experiments)?;
                    progress.inc(live_experiments.len() as u64);
                }
                Ok(())
            })();
            self.finish_block(pinned, experiments, reverts, progress, done);
            outcome.map_err(|interrupted| (i, interrupted))?;
        }
        Ok(())
    }

    /// Print a block's experiments and add them (if any finished) to `done`.
    fn finish_block(
        &self,
        pinned: &PinnedBlock,
        experiments: Vec<Experiment>,
        reverts: Vec<report::RevertRecord>,
        progress: &shell::Progress,
        done: &mut Finished,
    ) {
        for e in &experiments {
            let revert = reverts
                .iter()
                .find(|r| r.experiment == e.id && e.engine == Engine::InEvm)
                .map(|r| &r.revert);
            let detail = match e.verdict {
                Verdict::Held => String::new(),
                Verdict::Disproved => format!(": {}", report::not_held(e, revert)),
                Verdict::Error | Verdict::Interrupted => {
                    format!(": {}", e.error.clone().unwrap_or_default())
                }
            };
            progress.line(format!(
                "  {} {} [{}]{detail}",
                shell::verdict(e.verdict == Verdict::Held),
                e.id,
                e.engine.label()
            ));
        }
        done.reverts.extend(reverts);
        if !experiments.is_empty() {
            done.blocks.push(Block {
                number: pinned.number,
                hash: pinned.hash.clone(),
                timestamp: pinned.timestamp,
                label: pinned.label.clone(),
                experiments,
                resilience: 0.0,
            });
        }
    }
}

/// In-EVM batches run ahead by worker threads, as they arrive, for the blocks to come.
pub(super) struct Ahead<'a> {
    pub(in crate::chaos) rx: &'a std::sync::mpsc::Receiver<(usize, BatchOutcome)>,
    pub(in crate::chaos) ready: std::collections::BTreeMap<usize, BatchOutcome>,
}

impl Ahead<'_> {
    /// Block `i`'s batch, waiting for it (and keeping what arrives for later blocks); `None`
    /// when no worker will bring it (the caller runs it).
    fn take(&mut self, i: usize) -> Result<Option<BatchOutcome>, crate::signals::Interrupted> {
        loop {
            if let Some(batch) = self.ready.remove(&i) {
                return Ok(Some(batch));
            }
            match self.rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok((j, batch)) => {
                    self.ready.insert(j, batch);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => crate::signals::check()?,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    // Every worker stopped without this block's batch (only a signal does that).
                    crate::signals::check()?;
                    return Ok(None);
                }
            }
        }
    }
}

/// A block's in-EVM results into its experiments and reverts.
pub(super) fn take_batch(
    pinned: &PinnedBlock,
    batch: Vec<(Experiment, Option<crate::chaos::scenario::Revert>)>,
    experiments: &mut Vec<Experiment>,
    reverts: &mut Vec<report::RevertRecord>,
) {
    for (experiment, revert) in batch {
        if let Some(revert) = revert {
            reverts.push(report::RevertRecord {
                block: pinned.number,
                experiment: experiment.id.clone(),
                revert,
            });
        }
        experiments.push(experiment);
    }
}

/// `--jobs`: what was asked, or the machine's cores, at most 2 (a forge batch and a live fork
/// are the two things worth running side by side; more contend for the same cores).
pub fn jobs(asked: Option<usize>) -> usize {
    asked.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
            .min(2)
    })
}
