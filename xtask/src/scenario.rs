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

/// The closed set of relations a check may use (`Relation` in `script/chaos/SteadyState.sol`),
/// rendered with the same symbols in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    Le,
    Ge,
    Eq,
    Ne,
    Lt,
    Gt,
}

impl Relation {
    pub const ALL: [Relation; 6] = [
        Relation::Le,
        Relation::Ge,
        Relation::Eq,
        Relation::Ne,
        Relation::Lt,
        Relation::Gt,
    ];

    /// The symbol reports show (`<=`, `>=`, `==`, `!=`, `<`, `>`).
    pub fn symbol(self) -> &'static str {
        match self {
            Relation::Le => "<=",
            Relation::Ge => ">=",
            Relation::Eq => "==",
            Relation::Ne => "!=",
            Relation::Lt => "<",
            Relation::Gt => ">",
        }
    }

    /// `observed <relation> bound`.
    pub fn holds(self, observed: I256, bound: I256) -> bool {
        match self {
            Relation::Le => observed <= bound,
            Relation::Ge => observed >= bound,
            Relation::Eq => observed == bound,
            Relation::Ne => observed != bound,
            Relation::Lt => observed < bound,
            Relation::Gt => observed > bound,
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl std::str::FromStr for Relation {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        Relation::ALL
            .into_iter()
            .find(|r| r.symbol() == text)
            .with_context(|| format!("`{text}` is not a relation (one of <=, >=, ==, !=, <, >)"))
    }
}

impl Serialize for Relation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

impl<'de> Deserialize<'de> for Relation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One steady-state check (`Check` in ScenarioTypes.sol): a named observation, the bound it is
/// held to and the relation between them. The verdict is the relation applied, computed when
/// the check is made; it cannot be set by hand, and a check read back (from a scenario's return
/// data or a report) whose claimed verdict disagrees with its numbers is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCheck")]
pub struct Check {
    pub name: String,
    #[serde(serialize_with = "as_decimal")]
    observed: I256,
    #[serde(serialize_with = "as_decimal")]
    bound: I256,
    relation: Relation,
    passed: bool,
}

/// A check as written in a report, before its verdict is verified.
#[derive(Deserialize)]
struct RawCheck {
    name: String,
    #[serde(deserialize_with = "from_decimal")]
    observed: I256,
    #[serde(deserialize_with = "from_decimal")]
    bound: I256,
    relation: Relation,
    passed: bool,
}

impl TryFrom<RawCheck> for Check {
    type Error = String;

    fn try_from(raw: RawCheck) -> Result<Self, String> {
        Check::verified(raw.name, raw.observed, raw.relation, raw.bound, raw.passed)
            .map_err(|e| e.to_string())
    }
}

impl Check {
    /// The one way a check is made: `passed` is `observed <relation> bound`.
    pub fn new(name: impl Into<String>, observed: I256, relation: Relation, bound: I256) -> Self {
        Self {
            name: name.into(),
            observed,
            bound,
            relation,
            passed: relation.holds(observed, bound),
        }
    }

    /// A check made elsewhere (the in-EVM engine, a report), with the verdict it claims:
    /// refused when the claim is not what the relation says.
    pub fn verified(
        name: String,
        observed: I256,
        relation: Relation,
        bound: I256,
        claimed: bool,
    ) -> anyhow::Result<Self> {
        let check = Self::new(name, observed, relation, bound);
        anyhow::ensure!(
            check.passed == claimed,
            "check `{}` claims passed = {claimed}, but {observed} {relation} {bound} is {}",
            check.name,
            check.passed
        );
        Ok(check)
    }

    pub fn observed(&self) -> I256 {
        self.observed
    }

    pub fn bound(&self) -> I256 {
        self.bound
    }

    pub fn relation(&self) -> Relation {
        self.relation
    }

    pub fn passed(&self) -> bool {
        self.passed
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
