//! The conformance witness: at each judged cycle (and each deposit and each S5 comparison) of
//! a live-fork experiment, the Solidity library `script/chaos/SteadyState.sol` measures and
//! judges the same blocks through `test/conformance/SteadyStateHarness.sol`, placed on the fork
//! with an `eth_call` state override (nothing is mined, the experiment is not disturbed). Each
//! record holds both engines' checks of the same state, and the tapes both computed, for
//! `xtask/tests/conformance.rs` to compare.

use std::path::Path;
use std::sync::Mutex;

use alloy::dyn_abi::DynSolValue;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::state::{StateOverride, StateOverridesBuilder};
use alloy::rpc::types::TransactionRequest;
use anyhow::Context as _;

use super::Fork;
use crate::chain::accounts::DEPOSITOR_A;
use crate::chaos::scenario::Check;
use crate::chaos::steady::{Action, Checks, CycleInput, Fairness, Holding, Snapshot};
use crate::foundry::artifacts::Artifact;

/// What both engines said about one moment of an experiment.
#[derive(Debug, Clone)]
pub struct Record {
    /// `cycle`, `deposit` or `unchanged`.
    pub kind: &'static str,
    pub tag: String,
    pub rust: Vec<Check>,
    pub solidity: Vec<Check>,
    /// Tape points the Rust module read, and what the library's `record` gives at the same
    /// blocks.
    pub tape_rust: Vec<U256>,
    pub tape_solidity: Vec<U256>,
    /// (shadow NAV, tolerance, TWAP, TWAP min, TWAP max) before and after, by each engine.
    pub shadow_rust: Vec<[U256; 5]>,
    pub shadow_solidity: Vec<[U256; 5]>,
}

pub struct Witness {
    harness: Artifact,
    overrides: StateOverride,
    address: Address,
    records: Mutex<Vec<Record>>,
}

impl Witness {
    /// The harness from forge's `out/` directory.
    pub fn new(out: &Path) -> anyhow::Result<Self> {
        let harness = Artifact::load(out, "SteadyStateHarness.sol", "SteadyStateHarness")?;
        let code = harness
            .deployed_bytecode
            .clone()
            .filter(|c| !c.is_empty())
            .context("SteadyStateHarness has no runtime code (run `cargo xtask forge -- build`)")?;
        let address =
            Address::from_slice(&alloy::primitives::keccak256("chaos.conformance.harness")[12..]);
        let overrides = StateOverridesBuilder::default()
            .with_code(address, code)
            .build();
        Ok(Self {
            harness,
            overrides,
            address,
            records: Mutex::new(Vec::new()),
        })
    }

    pub fn records(&self) -> Vec<Record> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn push(&self, record: Record) {
        if let Ok(mut r) = self.records.lock() {
            r.push(record);
        }
    }

    async fn call(
        &self,
        fork: &Fork,
        function: &str,
        args: &[DynSolValue],
        block: u64,
    ) -> anyhow::Result<Vec<DynSolValue>> {
        let data = self.harness.encode_call(function, args)?;
        let raw = fork
            .vault
            .provider
            .call(
                TransactionRequest::default()
                    .to(self.address)
                    .input(data.into()),
            )
            .block(block.into())
            .overrides(self.overrides.clone())
            .await
            .with_context(|| format!("SteadyStateHarness.{function} at block {block}"))?;
        self.harness.decode_output(function, &raw)
    }

    fn deps(fork: &Fork) -> DynSolValue {
        let d = fork.observer.deps;
        DynSolValue::Tuple(
            [
                d.usdt,
                d.btcb,
                d.lp_pair,
                d.flash_pair,
                d.aster,
                d.alp,
                d.bnb_usd_feed,
            ]
            .into_iter()
            .map(DynSolValue::Address)
            .collect(),
        )
    }

    /// The library's measurement of the snapshot's block, with a tape of the same points whose
    /// cumulatives the library computes itself; returns the encoded snapshot, those
    /// cumulatives and the shadow's headline numbers.
    async fn measure(
        &self,
        fork: &Fork,
        s: &Snapshot,
    ) -> anyhow::Result<(Bytes, Vec<U256>, [U256; 5])> {
        let d = fork.observer.deps;
        let mut cumulatives = Vec::new();
        for block in &s.tape_blocks {
            let out = self
                .call(
                    fork,
                    "cumulativeNow",
                    &[
                        DynSolValue::Address(d.lp_pair),
                        DynSolValue::Address(d.btcb),
                    ],
                    *block,
                )
                .await?;
            cumulatives.push(crate::chain::vault::uint(
                out.first().context("cumulativeNow")?,
            )?);
        }
        let u64s = |v: &[u64]| {
            DynSolValue::Array(
                v.iter()
                    .map(|t| DynSolValue::Uint(U256::from(*t), 64))
                    .collect(),
            )
        };
        let out = self
            .call(
                fork,
                "measure",
                &[
                    Self::deps(fork),
                    DynSolValue::Address(fork.vault.address),
                    DynSolValue::Uint(U256::from(s.tape.start), 64),
                    u64s(&s.tape.times),
                    DynSolValue::Array(
                        cumulatives
                            .iter()
                            .map(|c| DynSolValue::Uint(*c, 256))
                            .collect(),
                    ),
                    u64s(&s.tape.cycles),
                ],
                s.block,
            )
            .await?;
        let encoded = match out.first() {
            Some(DynSolValue::Bytes(b)) => Bytes::from(b.clone()),
            _ => anyhow::bail!("SteadyStateHarness.measure returned no bytes"),
        };
        let head = self
            .call(
                fork,
                "shadowOf",
                &[DynSolValue::Bytes(encoded.to_vec())],
                s.block,
            )
            .await?;
        let mut numbers = [U256::ZERO; 5];
        for (slot, value) in numbers.iter_mut().zip(&head) {
            *slot = crate::chain::vault::uint(value)?;
        }
        Ok((encoded, cumulatives, numbers))
    }

    fn checks(out: &[DynSolValue]) -> anyhow::Result<Vec<Check>> {
        out.first()
            .and_then(DynSolValue::as_array)
            .context("the harness returned no Check[]")?
            .iter()
            .map(Check::from_abi)
            .collect()
    }

    fn headline(s: &Snapshot) -> [U256; 5] {
        let h = &s.shadow;
        [h.nav, h.tolerance, h.twap, h.twap_min, h.twap_max]
    }

    /// One judged cycle: the harness's `cycle` on the library's own snapshots of the same two
    /// blocks, against the Rust checks `rust` of it.
    pub async fn cycle(
        &self,
        fork: &Fork,
        tag: &str,
        a: &Snapshot,
        b: &Snapshot,
        o: &CycleInput,
        rust: &Checks,
    ) -> anyhow::Result<()> {
        let (a_enc, a_cum, a_head) = self.measure(fork, a).await?;
        let (b_enc, b_cum, b_head) = self.measure(fork, b).await?;
        let logs = o
            .logs
            .iter()
            .map(|l| {
                DynSolValue::Tuple(vec![
                    DynSolValue::Array(
                        l.topics
                            .iter()
                            .map(|t| DynSolValue::FixedBytes(*t, 32))
                            .collect(),
                    ),
                    DynSolValue::Bytes(l.data.to_vec()),
                    DynSolValue::Address(l.emitter),
                ])
            })
            .collect();
        let input = DynSolValue::Tuple(vec![
            DynSolValue::Bool(o.ok),
            DynSolValue::Uint(o.bounty, 256),
            DynSolValue::Uint(o.keeper_gain, 256),
            DynSolValue::Array(logs),
            DynSolValue::Uint(o.gas_price, 256),
        ]);
        let out = self
            .call(
                fork,
                "cycle",
                &[DynSolValue::Tuple(vec![
                    Self::deps(fork),
                    DynSolValue::Address(fork.vault.address),
                    DynSolValue::Bytes(a_enc.to_vec()),
                    DynSolValue::Bytes(b_enc.to_vec()),
                    input,
                    DynSolValue::String(tag.to_owned()),
                    DynSolValue::Address(DEPOSITOR_A),
                ])],
                b.block,
            )
            .await?;
        self.push(Record {
            kind: "cycle",
            tag: tag.to_owned(),
            rust: rust.0.clone(),
            solidity: Self::checks(&out)?,
            tape_rust: [a.tape.cumulatives.clone(), b.tape.cumulatives.clone()].concat(),
            tape_solidity: [a_cum, b_cum].concat(),
            shadow_rust: vec![Self::headline(a), Self::headline(b)],
            shadow_solidity: vec![a_head, b_head],
        });
        Ok(())
    }

    /// S5 between two snapshots.
    pub async fn unchanged(
        &self,
        fork: &Fork,
        tag: &str,
        a: &Snapshot,
        b: &Snapshot,
    ) -> anyhow::Result<()> {
        let (a_enc, _, a_head) = self.measure(fork, a).await?;
        let (b_enc, _, b_head) = self.measure(fork, b).await?;
        let out = self
            .call(
                fork,
                "unchanged",
                &[
                    DynSolValue::Bytes(a_enc.to_vec()),
                    DynSolValue::Bytes(b_enc.to_vec()),
                    DynSolValue::String(tag.to_owned()),
                ],
                b.block,
            )
            .await?;
        let mut rust = Checks::default();
        crate::chaos::steady::s5_unchanged(&mut rust, tag, a, b);
        self.push(Record {
            kind: "unchanged",
            tag: tag.to_owned(),
            rust: rust.into_vec(),
            solidity: Self::checks(&out)?,
            tape_rust: vec![],
            tape_solidity: vec![],
            shadow_rust: vec![Self::headline(a), Self::headline(b)],
            shadow_solidity: vec![a_head, b_head],
        });
        Ok(())
    }

    /// S10 around one deposit, each engine starting from no earlier action.
    pub async fn deposit(
        &self,
        fork: &Fork,
        actor: Address,
        amount: U256,
        holdings: &[Holding],
        a: &Snapshot,
        b: &Snapshot,
    ) -> anyhow::Result<()> {
        let (a_enc, _, a_head) = self.measure(fork, a).await?;
        let (b_enc, _, b_head) = self.measure(fork, b).await?;
        let out = self
            .call(
                fork,
                "deposit",
                &[DynSolValue::Tuple(vec![
                    DynSolValue::Address(fork.vault.address),
                    DynSolValue::Address(actor),
                    DynSolValue::Uint(amount, 256),
                    DynSolValue::Array(
                        holdings
                            .iter()
                            .map(|h| DynSolValue::Address(h.holder))
                            .collect(),
                    ),
                    DynSolValue::Array(
                        holdings
                            .iter()
                            .map(|h| DynSolValue::Uint(h.before, 256))
                            .collect(),
                    ),
                    DynSolValue::Bytes(a_enc.to_vec()),
                    DynSolValue::Bytes(b_enc.to_vec()),
                ])],
                b.block,
            )
            .await?;
        let mut fair = Fairness::default();
        fair.record(Action::Deposit, actor, amount, holdings, a, b);
        let mut rust = Checks::default();
        fair.checks(&mut rust);
        self.push(Record {
            kind: "deposit",
            tag: String::new(),
            rust: rust.into_vec(),
            solidity: Self::checks(&out)?,
            tape_rust: vec![],
            tape_solidity: vec![],
            shadow_rust: vec![Self::headline(a), Self::headline(b)],
            shadow_solidity: vec![a_head, b_head],
        });
        Ok(())
    }
}

impl Record {
    /// Where the two engines disagree about this moment: a check one has and the other lacks
    /// (a name differs), or a check of both whose relation, observed value, bound or verdict
    /// differs; a tape point or a headline number of the shadow that differs. Empty when they
    /// agree on everything.
    pub fn differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        let at = |tag: &str| {
            if tag.is_empty() {
                self.kind.to_owned()
            } else {
                format!("{} {tag}", self.kind)
            }
        };
        for r in &self.rust {
            match self.solidity.iter().find(|s| s.name == r.name) {
                None => out.push(format!(
                    "{}: `{}` is reported by the live-fork engine only",
                    at(&self.tag),
                    r.name
                )),
                Some(s) => {
                    let mut field = |what: &str, rust: String, sol: String| {
                        if rust != sol {
                            out.push(format!(
                                "{}: `{}` {what} differs: live-fork {rust}, in-EVM library {sol}",
                                at(&self.tag),
                                r.name
                            ));
                        }
                    };
                    field(
                        "relation",
                        r.relation().to_string(),
                        s.relation().to_string(),
                    );
                    field(
                        "observed",
                        r.observed().to_string(),
                        s.observed().to_string(),
                    );
                    field("bound", r.bound().to_string(), s.bound().to_string());
                    field("verdict", r.passed().to_string(), s.passed().to_string());
                }
            }
        }
        for s in &self.solidity {
            if !self.rust.iter().any(|r| r.name == s.name) {
                out.push(format!(
                    "{}: `{}` is reported by the in-EVM library only",
                    at(&self.tag),
                    s.name
                ));
            }
        }
        if self.tape_rust != self.tape_solidity {
            out.push(format!(
                "{}: tape cumulatives differ: live-fork {:?}, in-EVM library {:?}",
                at(&self.tag),
                self.tape_rust,
                self.tape_solidity
            ));
        }
        const NAMES: [&str; 5] = ["shadow NAV", "tolerance", "TWAP", "TWAP min", "TWAP max"];
        for (i, (r, s)) in self
            .shadow_rust
            .iter()
            .zip(&self.shadow_solidity)
            .enumerate()
        {
            for (k, name) in NAMES.iter().enumerate() {
                if r[k] != s[k] {
                    out.push(format!(
                        "{}: {name} of snapshot {} differs: live-fork {}, in-EVM library {}",
                        at(&self.tag),
                        if i == 0 { "before" } else { "after" },
                        r[k],
                        s[k]
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::scenario::Relation;
    use alloy::primitives::I256;

    fn c(name: &str, observed: i64, bound: i64) -> Check {
        Check::new(
            name,
            I256::try_from(observed).unwrap(),
            Relation::Le,
            I256::try_from(bound).unwrap(),
        )
    }

    fn record(rust: Vec<Check>, solidity: Vec<Check>) -> Record {
        Record {
            kind: "cycle",
            tag: "_50gwei".into(),
            rust,
            solidity,
            tape_rust: vec![U256::from(1u8)],
            tape_solidity: vec![U256::from(1u8)],
            shadow_rust: vec![[U256::ZERO; 5]],
            shadow_solidity: vec![[U256::ZERO; 5]],
        }
    }

    #[test]
    fn every_kind_of_disagreement_is_reported() {
        let same = record(vec![c("S1_a", 1, 2)], vec![c("S1_a", 1, 2)]);
        assert!(same.differences().is_empty());
        let bound = record(vec![c("S1_a", 1, 2)], vec![c("S1_a", 1, 3)]);
        assert_eq!(bound.differences().len(), 1, "{:?}", bound.differences());
        assert!(bound.differences()[0].contains("bound differs"));
        let verdict = record(vec![c("S1_a", 3, 2)], vec![c("S1_a", 1, 2)]);
        let d = verdict.differences().join("\n");
        assert!(
            d.contains("observed differs") && d.contains("verdict differs"),
            "{d}"
        );
        let renamed = record(vec![c("S1_a", 1, 2)], vec![c("S1_b", 1, 2)]);
        let d = renamed.differences().join("\n");
        assert!(
            d.contains("`S1_a` is reported by the live-fork engine only")
                && d.contains("`S1_b` is reported by the in-EVM library only"),
            "{d}"
        );
        let mut tape = record(vec![], vec![]);
        tape.tape_solidity = vec![U256::from(2u8)];
        tape.shadow_solidity = vec![[U256::from(1u8); 5]];
        let d = tape.differences();
        assert_eq!(d.len(), 6, "the tape and five headline numbers: {d:?}");
    }
}
