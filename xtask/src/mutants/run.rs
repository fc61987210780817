//! Running the in-EVM chaos suite against compiled vaults: one `forge script` per (pinned
//! block, batch of vaults), `script/chaos/MutantScenarios.s.sol`, which runs every scenario of
//! ForkChaosScenarios against each vault of the batch on one fork of the block.

use std::io::Read as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::dyn_abi::DynSolValue;
use alloy::primitives::Bytes;
use anyhow::Context as _;

use crate::chaos::pin::PinnedBlock;
use crate::chaos::scenario::ScenarioResult;
use crate::foundry::artifacts::Artifact;
use crate::foundry::forge;
use crate::toolchain::{Tool, Toolchain};

pub const SCRIPT: &str = "script/chaos/MutantScenarios.s.sol:MutantScenarios";

/// How one scenario ended against one vault at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioVerdict {
    Held,
    /// Failed checks, described.
    Disproved(Vec<String>),
    /// The scenario itself reverted (a crash of the suite against this vault).
    Reverted(String),
    TimedOut,
    /// The tool failed (forge, RPC): says nothing about the vault.
    Error(String),
}

impl ScenarioVerdict {
    pub fn kills(&self) -> bool {
        matches!(
            self,
            ScenarioVerdict::Disproved(_) | ScenarioVerdict::Reverted(_)
        )
    }
}

/// What the forge process of one batch produced.
pub enum BatchOutcome {
    /// `[vault][scenario]`.
    Done(Vec<Vec<ScenarioVerdict>>),
    TimedOut,
    Failed(String),
}

/// Everything a batch needs besides its vaults.
pub struct Runner<'a> {
    pub toolchain: &'a Toolchain,
    pub artifact: &'a Artifact,
    pub fork_url: String,
    /// The address book, relative to the project root (forge reads it from there).
    pub book: String,
    pub scenarios: Vec<String>,
    /// Custom errors of the vault, for readable revert reasons.
    pub errors: &'a crate::chaos::scenario::RevertDecoder,
}

impl Runner<'_> {
    /// Runs every scenario against every vault of `dirs` (artifact directories relative to the
    /// project root) on a fork of `block`, within `deadline`.
    pub fn run(&self, block: &PinnedBlock, dirs: &[String], deadline: Duration) -> BatchOutcome {
        match self.try_run(block, dirs, deadline) {
            Ok(outcome) => outcome,
            Err(err) => BatchOutcome::Failed(format!("{err:#}")),
        }
    }

    fn try_run(
        &self,
        block: &PinnedBlock,
        dirs: &[String],
        deadline: Duration,
    ) -> anyhow::Result<BatchOutcome> {
        let strings = |v: &[String]| {
            DynSolValue::Array(v.iter().map(|s| DynSolValue::String(s.clone())).collect())
        };
        let calldata = self
            .artifact
            .encode_call("runMutants", &[strings(dirs), strings(&self.scenarios)])?;
        let mut cmd = self.toolchain.command(Tool::Forge);
        cmd.args(["script", SCRIPT, "--sig"])
            .arg(calldata.to_string())
            .arg("--json")
            .arg("--fork-url")
            .arg(&self.fork_url)
            .arg("--fork-block-number")
            .arg(block.number.to_string())
            .args([
                "--no-storage-caching",
                "--fork-retries",
                "5",
                "--fork-retry-backoff",
                "300",
            ])
            .env("CHAOS_ADDRESS_BOOK", &self.book)
            .env_remove("FOUNDRY_ETH_RPC_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let Some((stdout, stderr)) = run_with_deadline(&mut cmd, deadline)? else {
            return Ok(BatchOutcome::TimedOut);
        };
        let text = String::from_utf8_lossy(&stdout);
        let Some((success, _, returned, _)) = forge::parse_script_output(&text) else {
            let stderr = String::from_utf8_lossy(&stderr);
            let last = stderr
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or("no output");
            anyhow::bail!("forge script printed no result: {last}");
        };
        anyhow::ensure!(
            success,
            "MutantScenarios.runMutants reverted: {}",
            self.errors.decode(&returned)
        );
        Ok(BatchOutcome::Done(self.decode(dirs.len(), &returned)?))
    }

    fn decode(&self, vaults: usize, returned: &Bytes) -> anyhow::Result<Vec<Vec<ScenarioVerdict>>> {
        let values = self.artifact.decode_output("runMutants", returned)?;
        let [results, reverted, reasons] = values.as_slice() else {
            anyhow::bail!("runMutants returned {} values, not 3", values.len());
        };
        let results = results.as_array().context("results is not an array")?;
        let reverted = reverted.as_array().context("reverted is not an array")?;
        let reasons = reasons.as_array().context("reasons is not an array")?;
        let n = self.scenarios.len();
        anyhow::ensure!(
            results.len() == vaults * n && reverted.len() == results.len(),
            "runMutants returned {} results for {vaults} vaults x {n} scenarios",
            results.len()
        );
        let mut out = Vec::with_capacity(vaults);
        for v in 0..vaults {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                let k = v * n + i;
                let verdict = if reverted[k].as_bool() == Some(true) {
                    let data = reasons
                        .get(k)
                        .and_then(DynSolValue::as_bytes)
                        .unwrap_or_default();
                    ScenarioVerdict::Reverted(self.errors.decode(data))
                } else {
                    let r = ScenarioResult::from_abi(&results[k])?;
                    anyhow::ensure!(
                        r.id.0 == self.scenarios[i],
                        "result {k} is for `{}`, expected `{}`",
                        r.id.0,
                        self.scenarios[i]
                    );
                    if r.held {
                        ScenarioVerdict::Held
                    } else {
                        let failed: Vec<String> = r
                            .checks
                            .iter()
                            .filter(|c| !c.passed())
                            .map(crate::report::describe_check)
                            .collect();
                        ScenarioVerdict::Disproved(if failed.is_empty() {
                            vec!["no check ran".to_owned()]
                        } else {
                            failed
                        })
                    }
                };
                row.push(verdict);
            }
            out.push(row);
        }
        Ok(out)
    }
}

/// Runs `cmd` (registered for SIGINT), collecting stdout and stderr; `None` when it did not
/// finish within `deadline` (it is killed then).
pub fn run_with_deadline(
    cmd: &mut std::process::Command,
    deadline: Duration,
) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut owned = crate::signals::spawn(cmd).context("starting forge script")?;
    let child = owned.child_mut();
    let mut out = child.stdout.take().context("stdout")?;
    let mut err = child.stderr.take().context("stderr")?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let finished = loop {
        if child.try_wait()?.is_some() {
            break true;
        }
        if started.elapsed() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Ends forge's whole process group (its solc-js children too) and reaps it.
    drop(owned);
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(finished.then_some((stdout, stderr)))
}

/// `forge build` must know MutantScenarios; its artifact is read from `out/`.
pub fn script_artifact(out: &Path) -> anyhow::Result<Artifact> {
    Artifact::load(out, "MutantScenarios.s.sol", "MutantScenarios")
}
