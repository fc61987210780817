//! The scenarios' typed results, decoded from `script/chaos/ScenarioTypes.sol`'s structs.

use std::fmt;

use alloy::dyn_abi::DynSolValue;
use alloy::primitives::{B256, I256};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// A scenario id from the catalogue (`oracle_divergence`, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ScenarioId(pub String);

impl fmt::Display for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One steady-state check (`Check` in ScenarioTypes.sol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    #[serde(serialize_with = "as_decimal", deserialize_with = "from_decimal")]
    pub observed: I256,
    #[serde(serialize_with = "as_decimal", deserialize_with = "from_decimal")]
    pub bound: I256,
    pub relation: String,
    pub passed: bool,
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

/// Integers beyond 2^53 lose precision in JSON numbers: they are written as decimal strings.
fn as_decimal<S: serde::Serializer>(value: &I256, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

fn from_decimal<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<I256, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an int256: {e}")))
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
        Ok(Self {
            name: string(&f[0], "Check.name")?,
            observed: int(&f[1], "Check.observed")?,
            bound: int(&f[2], "Check.bound")?,
            relation: string(&f[3], "Check.relation")?,
            passed: boolean(&f[4], "Check.passed")?,
        })
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
            && checks.iter().all(|c| c.passed);
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
