//! The scenarios' typed results, decoded from `script/chaos/ScenarioTypes.sol`'s structs.

use std::fmt;

use alloy::dyn_abi::DynSolValue;
use alloy::primitives::{B256, I256};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

pub use crate::report::check::{Check, Relation, Revert};

/// A scenario id from the catalogue (`oracle_divergence`, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ScenarioId(pub String);

impl fmt::Display for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One scenario at one block (`ScenarioResult` in ScenarioTypes.sol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioResult {
    pub id: ScenarioId,
    pub fault: String,
    pub held: bool,
    pub checks: Vec<Check>,
    pub digest_before: B256,
    pub digest_after: B256,
    pub cycle_gas: u64,
    pub cycles: u64,
}

fn fields<'a>(value: &'a DynSolValue, what: &str, n: usize) -> anyhow::Result<&'a [DynSolValue]> {
    let fields = value
        .as_fixed_seq()
        .or_else(|| value.as_tuple())
        .with_context(|| format!("{what} is not a tuple"))?;
    anyhow::ensure!(
        fields.len() == n,
        "{what} has {} fields, expected {n}",
        fields.len()
    );
    Ok(fields)
}

fn string(value: &DynSolValue, what: &str) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{what} is not a string"))
}

fn boolean(value: &DynSolValue, what: &str) -> anyhow::Result<bool> {
    value
        .as_bool()
        .with_context(|| format!("{what} is not a bool"))
}

fn int(value: &DynSolValue, what: &str) -> anyhow::Result<I256> {
    value
        .as_int()
        .map(|(v, _)| v)
        .with_context(|| format!("{what} is not an int"))
}

fn uint64(value: &DynSolValue, what: &str) -> anyhow::Result<u64> {
    let (v, _) = value
        .as_uint()
        .with_context(|| format!("{what} is not a uint"))?;
    u64::try_from(v).with_context(|| format!("{what} = {v} does not fit 64 bits"))
}

fn word(value: &DynSolValue, what: &str) -> anyhow::Result<B256> {
    let (word, size) = value
        .as_fixed_bytes()
        .with_context(|| format!("{what} is not bytes32"))?;
    anyhow::ensure!(size == 32, "{what} is bytes{size}, expected bytes32");
    Ok(B256::from_slice(word))
}

impl Check {
    pub fn from_abi(value: &DynSolValue) -> anyhow::Result<Self> {
        let f = fields(value, "Check", 5)?;
        let name = string(&f[0], "Check.name")?;
        let relation: Relation = string(&f[3], "Check.relation")?
            .parse()
            .with_context(|| format!("check `{name}`"))?;
        Check::verified(
            name,
            int(&f[1], "Check.observed")?,
            relation,
            int(&f[2], "Check.bound")?,
            boolean(&f[4], "Check.passed")?,
        )
    }
}

impl ScenarioResult {
    pub fn from_abi(value: &DynSolValue) -> anyhow::Result<Self> {
        let f = fields(value, "ScenarioResult", 8)?;
        let checks = f[3]
            .as_array()
            .context("ScenarioResult.checks is not an array")?;
        let checks: Vec<Check> = checks
            .iter()
            .map(Check::from_abi)
            .collect::<anyhow::Result<_>>()?;
        // The verdict is recomputed, not trusted: a scenario that says it held while one of its
        // checks failed, or that checked nothing, is reported as not held.
        let held = boolean(&f[2], "ScenarioResult.held")?
            && !checks.is_empty()
            && checks.iter().all(Check::passed);
        Ok(Self {
            id: ScenarioId(string(&f[0], "ScenarioResult.id")?),
            fault: string(&f[1], "ScenarioResult.fault")?,
            held,
            checks,
            digest_before: word(&f[4], "ScenarioResult.digestBefore")?,
            digest_after: word(&f[5], "ScenarioResult.digestAfter")?,
            cycle_gas: uint64(&f[6], "ScenarioResult.cycleGas")?,
            cycles: uint64(&f[7], "ScenarioResult.cycles")?,
        })
    }

    /// Decode the single return value of `runScenarios(string[])`.
    pub fn list_from_abi(values: &[DynSolValue]) -> anyhow::Result<Vec<Self>> {
        let [list] = values else {
            anyhow::bail!("expected one return value, got {}", values.len())
        };
        list.as_array()
            .context("runScenarios did not return an array")?
            .iter()
            .map(Self::from_abi)
            .collect()
    }
}

/// `ScenarioRevert` of ScenarioRunner.sol: (reverted, step, data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRevert {
    pub reverted: bool,
    pub step: String,
    pub data: alloy::primitives::Bytes,
}

impl RawRevert {
    pub fn from_abi(value: &DynSolValue) -> anyhow::Result<Self> {
        let f = fields(value, "ScenarioRevert", 3)?;
        Ok(Self {
            reverted: boolean(&f[0], "ScenarioRevert.reverted")?,
            step: string(&f[1], "ScenarioRevert.step")?,
            data: f[2]
                .as_bytes()
                .map(alloy::primitives::Bytes::copy_from_slice)
                .context("ScenarioRevert.data is not bytes")?,
        })
    }
}

/// Decode the two return values of `runBatch(string[])`: the results and, for each, how it
/// reverted.
pub fn batch_from_abi(values: &[DynSolValue]) -> anyhow::Result<Vec<(ScenarioResult, RawRevert)>> {
    let [results, reverts] = values else {
        anyhow::bail!("expected two return values, got {}", values.len())
    };
    let results = results
        .as_array()
        .context("runBatch did not return an array of results")?;
    let reverts = reverts
        .as_array()
        .context("runBatch did not return an array of reverts")?;
    anyhow::ensure!(
        results.len() == reverts.len(),
        "runBatch returned {} results and {} reverts",
        results.len(),
        reverts.len()
    );
    results
        .iter()
        .zip(reverts)
        .map(|(r, f)| Ok((ScenarioResult::from_abi(r)?, RawRevert::from_abi(f)?)))
        .collect()
}

/// Names revert data with the errors of every ABI forge wrote into `out/`.
#[derive(Debug, Default)]
pub struct RevertDecoder {
    /// selector -> (the contract whose ABI declares it, or None when several do, error).
    errors: std::collections::HashMap<[u8; 4], (Option<String>, alloy::json_abi::Error)>,
}

impl RevertDecoder {
    /// Read the error ABIs of every artifact under `out_dir` (unreadable artifacts are skipped:
    /// their errors are shown as raw selectors).
    pub fn load(out_dir: &std::path::Path) -> Self {
        #[derive(Deserialize)]
        struct AbiOnly {
            #[serde(default)]
            abi: Option<alloy::json_abi::JsonAbi>,
        }
        let mut decoder = Self::default();
        let Ok(sources) = std::fs::read_dir(out_dir) else {
            return decoder;
        };
        let mut files: Vec<std::path::PathBuf> = sources
            .flatten()
            .filter(|e| e.path().is_dir())
            .flat_map(|dir| {
                std::fs::read_dir(dir.path())
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        // A stable choice when two contracts declare the same error.
        files.sort();
        for file in files {
            let Some(contract) = file.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(AbiOnly { abi: Some(abi) }) = serde_json::from_str::<AbiOnly>(&text) else {
                continue;
            };
            for error in abi.errors() {
                decoder
                    .errors
                    .entry(error.selector().0)
                    .and_modify(|(owner, _)| {
                        // Inherited by several contracts (a base contract's error): which one
                        // raised it is not in the data, so none is named.
                        if owner.as_deref() != Some(contract.as_str()) {
                            *owner = None;
                        }
                    })
                    .or_insert_with(|| (Some(contract.clone()), error.clone()));
            }
        }
        decoder
    }

    /// `Panic(0x11): arithmetic underflow or overflow`, `Error("reason")`,
    /// `Contract.Name(arg, ...)` (a `bytes` argument that is itself revert data is decoded in
    /// place), or `unknown error 0x12345678` when no ABI declares the selector.
    pub fn decode(&self, data: &[u8]) -> String {
        self.decode_depth(data, 0)
    }

    fn decode_depth(&self, data: &[u8], depth: usize) -> String {
        use alloy::dyn_abi::JsonAbiExt as _;
        if data.is_empty() {
            return "no revert data (a bare revert, an invalid opcode or out of gas)".into();
        }
        if data.len() < 4 {
            return format!("malformed revert data 0x{}", alloy::hex::encode(data));
        }
        let selector: [u8; 4] = [data[0], data[1], data[2], data[3]];
        let args = &data[4..];
        match selector {
            // Error(string)
            [0x08, 0xc3, 0x79, 0xa0] => {
                match alloy::dyn_abi::DynSolType::String.abi_decode_params(args) {
                    Ok(DynSolValue::String(text)) => format!("Error({text:?})"),
                    _ => format!("Error(<malformed> 0x{})", alloy::hex::encode(args)),
                }
            }
            // Panic(uint256)
            [0x4e, 0x48, 0x7b, 0x71] => {
                match alloy::dyn_abi::DynSolType::Uint(256).abi_decode_params(args) {
                    Ok(DynSolValue::Uint(code, _)) => {
                        let code = u64::try_from(code).unwrap_or(u64::MAX);
                        format!("Panic(0x{code:02x}): {}", panic_meaning(code))
                    }
                    _ => format!("Panic(<malformed> 0x{})", alloy::hex::encode(args)),
                }
            }
            _ => match self.errors.get(&selector) {
                Some((contract, error)) => {
                    let owner = contract
                        .as_ref()
                        .map(|c| format!("{c}."))
                        .unwrap_or_default();
                    match error.abi_decode_input(args) {
                        Ok(values) => {
                            let shown: Vec<String> =
                                values.iter().map(|v| self.show_value(v, depth)).collect();
                            format!("{owner}{}({})", error.name, shown.join(", "))
                        }
                        Err(_) => format!(
                            "{owner}{} with undecodable arguments 0x{}",
                            error.signature(),
                            alloy::hex::encode(args)
                        ),
                    }
                }
                None => format!("unknown error 0x{}", alloy::hex::encode(selector)),
            },
        }
    }

    fn show_value(&self, value: &DynSolValue, depth: usize) -> String {
        match value {
            // Wrapped revert data (SetupCycleFailed(bytes reason), HedgeCloseFailed(bytes)):
            // decoded in place, a few levels deep at most.
            DynSolValue::Bytes(inner) if depth < 4 && inner.len() >= 4 => {
                self.decode_depth(inner, depth + 1)
            }
            DynSolValue::Bytes(inner) => format!("0x{}", alloy::hex::encode(inner)),
            DynSolValue::String(text) => format!("{text:?}"),
            DynSolValue::Uint(v, _) => v.to_string(),
            DynSolValue::Int(v, _) => v.to_string(),
            DynSolValue::Bool(b) => b.to_string(),
            DynSolValue::Address(a) => a.to_string(),
            DynSolValue::FixedBytes(word, size) => {
                format!("0x{}", alloy::hex::encode(&word[..*size]))
            }
            DynSolValue::Array(items) | DynSolValue::FixedArray(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|v| self.show_value(v, depth))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DynSolValue::Tuple(items) => format!(
                "({})",
                items
                    .iter()
                    .map(|v| self.show_value(v, depth))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => format!("{other:?}"),
        }
    }
}

/// What Solidity's panic codes mean.
fn panic_meaning(code: u64) -> &'static str {
    match code {
        0x00 => "generic compiler panic",
        0x01 => "assertion failed",
        0x11 => "arithmetic underflow or overflow",
        0x12 => "division or modulo by zero",
        0x21 => "conversion to an invalid enum value",
        0x22 => "incorrectly encoded storage byte array",
        0x31 => "pop() on an empty array",
        0x32 => "array index out of bounds",
        0x41 => "out of memory",
        0x51 => "call to a zero-initialised internal function",
        _ => "unknown panic code",
    }
}

#[cfg(test)]
mod tests;
