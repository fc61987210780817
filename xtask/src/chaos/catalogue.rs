//! The experiment catalogue: the in-EVM scenario ids (read from the scenario script's ABI) and the
//! live-fork experiment ids, and how `--scenario`, `--engine` and `--shard` select from it.

use crate::chaos::args::EngineChoice;
use crate::chaos::engine::live;
use crate::error::Unusable;
use crate::foundry::artifacts::Artifact;
use crate::foundry::forge::{self, ScriptCall, Target};
use crate::toolchain::Toolchain;
use alloy::dyn_abi::DynSolValue;
use anyhow::Context as _;

/// The whole catalogue: in-EVM scenario ids (from the script itself) and live-fork ids.
pub struct Catalogue {
    pub in_evm: Vec<String>,
    pub live: Vec<String>,
}

impl Catalogue {
    pub fn load(toolchain: &Toolchain, artifact: &Artifact, script: &str) -> anyhow::Result<Self> {
        let call = ScriptCall {
            target: script.into(),
            calldata: artifact.encode_call("scenarioIds", &[])?,
            on: Target::Local,
            env: vec![],
        };
        let output = forge::run_script(toolchain, &call)?;
        let values = artifact.decode_output("scenarioIds", &output.returned)?;
        let ids = values
            .first()
            .and_then(DynSolValue::as_array)
            .context("scenarioIds() returned no array")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .context("scenario id is not a string")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            in_evm: ids,
            live: live::EXPERIMENTS
                .iter()
                .map(|(id, _)| (*id).to_owned())
                .collect(),
        })
    }

    /// The experiments to run, in catalogue order; an unknown id is bad input.
    pub fn select(
        &self,
        asked: &[String],
        engine: EngineChoice,
    ) -> Result<(Vec<String>, Vec<String>), Unusable> {
        for id in asked {
            if !self.in_evm.contains(id) && !self.live.contains(id) {
                return Err(Unusable::with_fix(
                    format!("unknown scenario `{id}`"),
                    "`cargo xtask chaos --list` lists every scenario id",
                ));
            }
            let (runs, kind, other) = if self.in_evm.contains(id) {
                (engine != EngineChoice::LiveFork, "an in-EVM", "in-evm")
            } else {
                (engine != EngineChoice::InEvm, "a live-fork", "live-fork")
            };
            if !runs {
                return Err(Unusable::with_fix(
                    format!("`{id}` is {kind} experiment, and the --engine chosen does not run it"),
                    format!("drop --scenario {id}, or use --engine {other} or all"),
                ));
            }
        }
        let pick = |ids: &[String], on: bool| -> Vec<String> {
            if !on {
                return vec![];
            }
            ids.iter()
                .filter(|id| asked.is_empty() || asked.contains(id))
                .cloned()
                .collect()
        };
        Ok((
            pick(&self.in_evm, engine != EngineChoice::LiveFork),
            pick(&self.live, engine != EngineChoice::InEvm),
        ))
    }
}

pub(super) fn print_catalogue(catalogue: &Catalogue) {
    println!("in-evm (script/ForkChaosScenarios.s.sol):");
    for id in &catalogue.in_evm {
        println!("  {id}");
    }
    println!("live-fork (keeper against an anvil fork):");
    for (id, fault) in live::EXPERIMENTS {
        println!("  {id:<22} {fault}");
    }
}
