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
pub(super) struct Executor<'a> {
    pub(in crate::chaos) toolchain: &'a Toolchain,
    pub(in crate::chaos) project: &'a Project,
    /// The command's runtime ([`crate::runtime::shared`]).
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

impl Executor<'_> {
    /// Every planned experiment on forks of `source`, block by block, into `done`. On a signal
    /// it stops at the next step: `done` then holds exactly the experiments that finished
    /// before it (a batch or experiment that the signal cut short is dropped, never reported).
    ///
    /// With `jobs` > 1 the blocks' units of work (a block's in-EVM batch, a block's live-fork
    /// experiments) run side by side on `jobs` worker threads, each unit on forks of its own
    /// (one forge process, one anvil fork), taken in plan order; results are only ever
    /// reported in plan order, so the report is the same as a run with `--jobs 1`, whatever
    /// finished first.
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
        if self.jobs > 1 {
            self.execute_side_by_side(source, plan, &progress, done)?;
        } else {
            self.execute_in_order(source, plan, &progress, done)?;
        }
        self.ledger.enter(None, Unit::Run);
        Ok(())
    }

    /// `--jobs` > 1: the units of work on a pool of worker threads (see [`Self::execute`]).
    fn execute_side_by_side(
        &self,
        source: &ForkSource,
        plan: &Plan,
        progress: &shell::Progress,
        done: &mut Finished,
    ) -> Result<(), crate::signals::Interrupted> {
        let units: Vec<Work> = plan
            .iter()
            .enumerate()
            .flat_map(|(i, (_, in_evm, live))| {
                let a = (!in_evm.is_empty()).then_some(Work::InEvm(i));
                let b = (!live.is_empty()).then_some(Work::Live(i));
                a.into_iter().chain(b)
            })
            .collect();
        let workers = self.jobs.min(units.len()).max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel::<(Work, Outcome)>();
        let mut slots: Vec<Slot> = plan.iter().map(|_| Slot::default()).collect();
        let mut stopped = None;
        // Whether a block's first unit has started (its "Forking block" line is printed then).
        let forked: Vec<std::sync::atomic::AtomicBool> = plan
            .iter()
            .map(|_| std::sync::atomic::AtomicBool::new(false))
            .collect();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let (tx, next, units, forked) = (tx.clone(), &next, &units, &forked);
                scope.spawn(move || {
                    // Its live forks are driven on the command's multi-thread runtime, side
                    // by side with the other workers' (each worker blocks on its own).
                    let context = self;
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(&unit) = units.get(k) else { break };
                        let phase = match unit {
                            Work::InEvm(_) => "in-evm",
                            Work::Live(_) => "live-fork",
                        };
                        // A signal came: no new unit starts.
                        if crate::signals::phase(phase).is_err() {
                            break;
                        }
                        let (Work::InEvm(i) | Work::Live(i)) = unit;
                        if !forked[i].swap(true, std::sync::atomic::Ordering::SeqCst) {
                            let pinned = &plan[i].0;
                            progress.message(format!("at block {}", pinned.number));
                            progress.line(format!(
                                "     Forking block {} ({}, time {})",
                                pinned.number, pinned.label, pinned.timestamp
                            ));
                        }
                        let outcome = match unit {
                            Work::InEvm(i) => {
                                let (pinned, ids, _) = &plan[i];
                                context.ledger.enter(Some(pinned.number), Unit::InEvm);
                                Outcome::InEvm(run_in_evm(
                                    context.toolchain,
                                    context.artifact,
                                    context.script,
                                    source,
                                    pinned,
                                    ids,
                                ))
                            }
                            Work::Live(i) => {
                                let (pinned, _, ids) = &plan[i];
                                context.ledger.enter(Some(pinned.number), Unit::LiveSetup);
                                let mut out = Vec::new();
                                let result = run_live(context, source, pinned, ids, &mut out);
                                Outcome::Live(out, result)
                            }
                        };
                        if tx.send((unit, outcome)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            // Blocks are reported in plan order as soon as all their units are in.
            let mut reported = 0;
            for (unit, outcome) in rx.iter() {
                let (Work::InEvm(i) | Work::Live(i)) = unit;
                match outcome {
                    Outcome::InEvm(batch) => {
                        if let Err(interrupted) = &batch {
                            stopped.get_or_insert_with(|| interrupted.clone());
                        }
                        slots[i].in_evm = Some(batch);
                    }
                    Outcome::Live(out, result) => {
                        if let Err(interrupted) = result {
                            stopped.get_or_insert(interrupted);
                        }
                        slots[i].live = Some(out);
                    }
                }
                while reported < plan.len() && slots[reported].complete(&plan[reported]) {
                    let slot = std::mem::take(&mut slots[reported]);
                    self.report_block(&plan[reported], slot, progress, done);
                    reported += 1;
                }
            }
            // Stopped by a signal: what finished at the blocks not reported yet, in plan order.
            for (i, slot) in slots.into_iter().enumerate().skip(reported) {
                self.report_block(&plan[i], slot, progress, done);
            }
        });
        if let Some(interrupted) = stopped {
            return Err(interrupted);
        }
        crate::signals::check()
    }

    /// One block's finished units into `done` (an in-EVM batch a signal cut short is dropped);
    /// its "Forking block" line was printed when its first unit started.
    fn report_block(
        &self,
        (pinned, scenario_ids, live_experiments): &(PinnedBlock, Vec<String>, Vec<String>),
        slot: Slot,
        progress: &shell::Progress,
        done: &mut Finished,
    ) {
        let mut experiments = Vec::new();
        let mut reverts = Vec::new();
        if let Some(Ok(batch)) = slot.in_evm {
            take_batch(pinned, batch, &mut experiments, &mut reverts);
            progress.inc(scenario_ids.len() as u64);
        }
        if let Some(live) = slot.live {
            if live.len() == live_experiments.len() {
                progress.inc(live.len() as u64);
            }
            experiments.extend(live);
        }
        self.finish_block(pinned, experiments, reverts, progress, done);
    }

    /// `--jobs 1`: the blocks in plan order, one unit at a time.
    fn execute_in_order(
        &self,
        source: &ForkSource,
        plan: &Plan,
        progress: &shell::Progress,
        done: &mut Finished,
    ) -> Result<(), crate::signals::Interrupted> {
        for (pinned, scenario_ids, live_experiments) in plan {
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
                    self.ledger.enter(Some(pinned.number), Unit::InEvm);
                    let batch = run_in_evm(
                        self.toolchain,
                        self.artifact,
                        self.script,
                        source,
                        pinned,
                        scenario_ids,
                    )?;
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
            outcome?;
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

/// A unit of work of a block (its index in the plan).
#[derive(Debug, Clone, Copy)]
enum Work {
    InEvm(usize),
    Live(usize),
}

/// What a unit brought back: the batch, or the live-fork experiments that finished (and
/// whether a signal stopped the rest).
enum Outcome {
    InEvm(BatchOutcome),
    Live(Vec<Experiment>, Result<(), crate::signals::Interrupted>),
}

/// A block's units as they come in.
#[derive(Default)]
struct Slot {
    in_evm: Option<BatchOutcome>,
    live: Option<Vec<Experiment>>,
}

impl Slot {
    fn complete(&self, (_, in_evm, live): &(PinnedBlock, Vec<String>, Vec<String>)) -> bool {
        (in_evm.is_empty() || self.in_evm.is_some()) && (live.is_empty() || self.live.is_some())
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
