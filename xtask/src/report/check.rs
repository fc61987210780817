//! The steady-state check and the revert of a scenario as reports hold them: made by both
//! engines ([`crate::chaos::scenario`] decodes them from the in-EVM scenarios' return data,
//! the live-fork engine makes them in Rust) and read back by `merge` and the report pages.

use std::fmt;

use alloy::primitives::I256;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

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

/// Integers beyond 2^53 lose precision in JSON numbers: they are written as decimal strings.
fn as_decimal<S: serde::Serializer>(value: &I256, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

fn from_decimal<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<I256, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an int256: {e}")))
}

/// How one scenario reverted, decoded: what the report shows for an unexpected revert inside a
/// scenario (ScenarioRevert in `script/chaos/ScenarioRunner.sol`, enriched from forge's traces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revert {
    /// The runner's step that reverted: `deploying the vault`, `deploying the scenario group` or
    /// `running the scenario`.
    pub step: String,
    /// The decoded reason: `Panic(0x11): arithmetic underflow or overflow`, `Error("...")`, a
    /// custom error with its arguments (`YieldVault.CycleTooSoon(1767...)`), or the raw selector.
    pub reason: String,
    /// The raw revert data (0x-hex).
    pub data: String,
    /// The innermost call that reverted, from forge's trace (`YieldVault.cycle()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The calls from the scenario down to `call`, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
}

impl Revert {
    /// One line: `reverted while running the scenario: <reason> in <call>`.
    pub fn describe(&self) -> String {
        let mut line = format!("reverted while {}: {}", self.step, self.reason);
        if let Some(call) = &self.call {
            line.push_str(" in ");
            line.push_str(call);
        }
        line
    }
}
