//! The in-EVM engine: the Solidity scenarios of `script/chaos/` run by `forge script` on a fork of
//! a pinned block, their typed results decoded into experiments (reverts named by the ABI).

use crate::chaos::engine::error_experiment;
use crate::chaos::pin::PinnedBlock;
use crate::chaos::scenario::{RawRevert, RevertDecoder, ScenarioResult};
use crate::chaos::upstream::{fork_target, ForkSource};
use crate::error::Unusable;
use crate::foundry::artifacts::Artifact;
use crate::foundry::forge::{self, relative_path, ScriptCall};
use crate::report::{Engine, Experiment, Verdict};
use crate::toolchain::Toolchain;
use alloy::dyn_abi::DynSolValue;
use std::path::Path;
use std::time::Instant;

pub(in crate::chaos) const SCENARIO_SCRIPT: &str =
    "script/ForkChaosScenarios.s.sol:ForkChaosScenarios";

/// `path/File.sol:Contract` -> (`File.sol`, `Contract`), as forge lays out `out/`.
pub(in crate::chaos) fn artifact_of(script: &str) -> Result<(String, String), Unusable> {
    let (path, contract) = script.rsplit_once(':').ok_or_else(|| {
        Unusable::with_fix(
            format!("`{script}` is not PATH:CONTRACT"),
            "write e.g. script/ForkChaosScenarios.s.sol:ForkChaosScenarios",
        )
    })?;
    let file = Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((file, contract.to_owned()))
}

/// All in-EVM scenarios of one block in one forge process (one fork, each scenario from the same
/// snapshot and cheatcode environment). A scenario that reverts is that scenario's finding
/// (`disproved`, with the decoded reason and the call it came from); only a failure of the
/// batch itself (forge, the fork, the runner) makes every scenario of the block an `error`.
/// `Err` only for a signal: a batch cut short by it is not a result.
pub(in crate::chaos) fn run_in_evm(
    toolchain: &Toolchain,
    artifact: &Artifact,
    script: &str,
    upstream: &ForkSource,
    pinned: &PinnedBlock,
    ids: &[String],
) -> Result<Vec<(Experiment, Option<crate::chaos::scenario::Revert>)>, crate::signals::Interrupted>
{
    let started = Instant::now();
    let outcome =
        (|| -> anyhow::Result<(Vec<(ScenarioResult, RawRevert)>, forge::ScriptOutput)> {
            let list = DynSolValue::Array(
                ids.iter()
                    .map(|id| DynSolValue::String(id.clone()))
                    .collect(),
            );
            let call = ScriptCall {
                target: script.into(),
                calldata: artifact.encode_call("runBatch", &[list])?,
                on: fork_target(upstream, pinned),
                // The scripts read the book relative to the project root.
                env: vec![(
                    "CHAOS_ADDRESS_BOOK".into(),
                    relative_path(toolchain, &upstream.book_path).into_os_string(),
                )],
            };
            let output = forge::run_script(toolchain, &call)?;
            if !output.success {
                // The runner catches every scenario's revert: this is the batch itself failing.
                let decoder = RevertDecoder::load(&toolchain.project.forge_out());
                anyhow::bail!(
                    "the scenario batch reverted before any result: {}",
                    decoder.decode(&output.returned)
                );
            }
            let batch = crate::chaos::scenario::batch_from_abi(
                &artifact.decode_output("runBatch", &output.returned)?,
            )?;
            Ok((batch, output))
        })();
    crate::signals::check()?;
    // forge reports one wall time for the batch; each scenario is given an equal share of it.
    let share =
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX) / ids.len().max(1) as u64;
    Ok(match outcome {
        Ok((batch, output)) => {
            let reverts = describe_reverts(toolchain, &batch, &output.stdout);
            batch
                .into_iter()
                .zip(reverts)
                .map(|((r, _), revert)| {
                    let experiment = Experiment {
                        id: r.id.0,
                        engine: Engine::InEvm,
                        fault: r.fault,
                        verdict: if r.held {
                            Verdict::Held
                        } else {
                            Verdict::Disproved
                        },
                        duration_ms: share,
                        checks: r.checks,
                        gas: r.cycle_gas,
                        cycles: r.cycles,
                        digest_before: revert.is_none().then(|| r.digest_before.to_string()),
                        digest_after: revert.is_none().then(|| r.digest_after.to_string()),
                        error: None,
                    };
                    (experiment, revert)
                })
                .collect()
        }
        Err(err) => ids
            .iter()
            .map(|id| (error_experiment(id, Engine::InEvm, share, &err), None))
            .collect(),
    })
}

/// Each reverted scenario's step, decoded reason and call path (None for those that returned).
/// The ABIs in out/ and forge's traces are read only when some scenario reverted.
pub(in crate::chaos) fn describe_reverts(
    toolchain: &Toolchain,
    batch: &[(ScenarioResult, RawRevert)],
    stdout: &forge::ScriptStdout,
) -> Vec<Option<crate::chaos::scenario::Revert>> {
    if batch.iter().all(|(_, f)| !f.reverted) {
        return vec![None; batch.len()];
    }
    let decoder = RevertDecoder::load(&toolchain.project.forge_out());
    // The traces are read from forge's output file only here, when some scenario reverted (an
    // unreadable file leaves the paths empty, as output without traces does).
    let stdout = stdout.read().unwrap_or_default();
    let mut paths = forge::revert_paths(&stdout, "ScenarioSteps", "run")
        .unwrap_or_default()
        .into_iter();
    batch
        .iter()
        .map(|(_, f)| {
            if !f.reverted {
                return None;
            }
            let path = paths.next().unwrap_or_default();
            Some(crate::chaos::scenario::Revert {
                step: f.step.clone(),
                reason: decoder.decode(&f.data),
                data: f.data.to_string(),
                call: path.last().cloned(),
                path,
            })
        })
        .collect()
}
