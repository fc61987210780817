//! Degraded-fork experiments (`cargo xtask chaos --rpc-faults ...`): the same experiments are
//! run twice, once clean and once with faults injected into the RPC, and each
//! (block, experiment) of the degraded run is compared with the clean one.
//!
//! Faults have a position ([`Position`]): `front`, between forge/anvil (and the live-fork
//! keeper) and the xtask, which tests how the tools themselves cope; or `upstream`, between
//! the xtask's resilient layer and the provider, which tests what that layer absorbs.
//! `--rpc-faults-at` sets the position of every value; a value may also carry its own,
//! `upstream:flaky` or `front:reset@p=0.1`.
//!
//! The hypothesis: *a degraded RPC never produces a silently different result*. Each pair is
//! one of
//! - `matched`: the same verdict and the same digest of the vault's state at the end;
//! - `classified_failure`: the degraded run failed, and the run's own ledger
//!   ([`crate::rpc::ledger`]) holds an RPC failure that reached a tool in that experiment's
//!   scope (a fault injected in front of forge, anvil or the keeper, or a request the
//!   resilient layer gave up on), whose [`Class`](crate::rpc::Class) becomes the pair's class;
//! - `unclassified_failure`: the degraded run failed and no RPC failure reached the tools in
//!   its scope: a defect of the tool or a gap in its error reporting;
//! - `silent_divergence`: the degraded run finished but with another verdict or another state:
//!   the hypothesis is disproved.
//!
//! The class is never read from an error message: messages are kept for people only.

use serde::Serialize;

pub use crate::report::degraded::{Comparison, Pair, PairOutcome};

use crate::error::Unusable;
use crate::report::{Block, Engine, Verdict};
use crate::rpc::fault::FaultSpec;
use crate::rpc::ledger::Ledger;

/// Named fault profiles; anything else given to `--rpc-faults` is read as a fault spec.
pub const PROFILES: [(&str, &[&str]); 5] = [
    ("slow", &["latency:120ms~80ms"]),
    ("flaky", &["http:503@p=0.05", "reset@p=0.03"]),
    ("truncating", &["truncate@p=0.05"]),
    ("rate-limited", &["http:429,retry-after=1@every=6"]),
    ("stale-head", &["stale-head:20"]),
];

/// Where a fault acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Between forge, anvil and the keeper and the xtask (today's tools face the fault).
    Front,
    /// Between the xtask's resilient layer and the provider (the layer must absorb it).
    Upstream,
}

impl Position {
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Front => "front",
            Position::Upstream => "upstream",
        }
    }
}

/// A fault and where it acts.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub position: Position,
    pub spec: FaultSpec,
}

impl std::fmt::Display for Placed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.position.as_str(), self.spec)
    }
}

/// `--rpc-faults` values (profile names or fault specs, each optionally prefixed with
/// `front:` or `upstream:`) to placed fault specs; `default` places unprefixed values.
pub fn parse(values: &[String], default: Position) -> Result<Vec<Placed>, Unusable> {
    let mut placed = Vec::new();
    for value in values {
        let (position, value) = match value.split_once(':') {
            Some(("front", rest)) => (Position::Front, rest),
            Some(("upstream", rest)) => (Position::Upstream, rest),
            _ => (default, value.as_str()),
        };
        let specs = match PROFILES.iter().find(|(name, _)| *name == value) {
            Some((_, list)) => list
                .iter()
                .map(|spec| {
                    spec.parse::<FaultSpec>()
                        .map_err(|e| Unusable::new(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![value.parse().map_err(|e: crate::rpc::fault::SpecError| {
                Unusable::with_fix(
                    e.to_string(),
                    format!(
                        "use a profile ({}) or a fault spec (README: the fault-spec grammar), \
                         optionally prefixed with front: or upstream:",
                        profile_names()
                    ),
                )
            })?],
        };
        placed.extend(specs.into_iter().map(|spec| Placed { position, spec }));
    }
    Ok(placed)
}

/// The specs placed at `position`.
pub fn at(placed: &[Placed], position: Position) -> Vec<FaultSpec> {
    placed
        .iter()
        .filter(|p| p.position == position)
        .map(|p| p.spec.clone())
        .collect()
}

fn profile_names() -> String {
    PROFILES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compare the degraded run with the clean one, pair by pair; failures are classified by
/// what the degraded run's `ledger` holds for their scope.
pub fn compare(clean: &[Block], degraded: &[Block], ledger: &Ledger) -> Comparison {
    let mut out = Comparison::default();
    for (c_block, d_block) in clean.iter().zip(degraded) {
        for c in &c_block.experiments {
            let d = d_block
                .experiments
                .iter()
                .find(|d| d.id == c.id && d.engine == c.engine);
            let outcome = match d {
                None => PairOutcome::UnclassifiedFailure {
                    error: "missing from the degraded run".into(),
                },
                Some(d) if d.verdict == Verdict::Error => {
                    let error = d.error.clone().unwrap_or_default();
                    match ledger.cause(c_block.number, &d.id, d.engine == Engine::InEvm) {
                        Some(cause) => PairOutcome::ClassifiedFailure {
                            class: cause.class,
                            cause: cause.what,
                            error,
                        },
                        None => PairOutcome::UnclassifiedFailure { error },
                    }
                }
                Some(d) if c.verdict == Verdict::Error => PairOutcome::SilentDivergence {
                    detail: format!(
                        "the clean run could not run it, the degraded run says {:?}",
                        d.verdict
                    ),
                },
                Some(d) if d.verdict != c.verdict => PairOutcome::SilentDivergence {
                    detail: format!(
                        "verdict {:?} in the clean run, {:?} degraded",
                        c.verdict, d.verdict
                    ),
                },
                Some(d) if d.digest_after != c.digest_after => PairOutcome::SilentDivergence {
                    detail: format!(
                        "same verdict, different state: digest {} clean, {} degraded",
                        c.digest_after.as_deref().unwrap_or("-"),
                        d.digest_after.as_deref().unwrap_or("-")
                    ),
                },
                Some(_) => PairOutcome::Matched,
            };
            match &outcome {
                PairOutcome::Matched => out.matched += 1,
                PairOutcome::ClassifiedFailure { .. } => out.classified_failures += 1,
                PairOutcome::UnclassifiedFailure { .. } => out.unclassified_failures += 1,
                PairOutcome::SilentDivergence { .. } => out.silent_divergences += 1,
            }
            out.pairs.push(Pair {
                block: c_block.number,
                experiment: c.id.clone(),
                outcome,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Experiment;
    use crate::rpc::ledger::Unit;
    use crate::rpc::Class;

    fn experiment(id: &str, verdict: Verdict, digest: &str, error: Option<&str>) -> Experiment {
        Experiment {
            id: id.into(),
            engine: if id.starts_with("keeper") {
                Engine::LiveFork
            } else {
                Engine::InEvm
            },
            fault: String::new(),
            verdict,
            duration_ms: 1,
            checks: vec![],
            gas: 0,
            cycles: 0,
            digest_before: None,
            digest_after: Some(digest.into()),
            error: error.map(str::to_owned),
        }
    }

    fn block(experiments: Vec<Experiment>) -> Block {
        Block {
            number: 7,
            hash: "0x".into(),
            timestamp: 0,
            label: String::new(),
            experiments,
            resilience: 0.0,
        }
    }

    #[test]
    fn profiles_and_specs_parse_with_their_position_and_bad_ones_are_named() {
        let placed = parse(&["flaky".into()], Position::Front).unwrap();
        assert_eq!(placed.len(), 2);
        assert!(placed.iter().all(|p| p.position == Position::Front));
        let placed = parse(
            &[
                "slow".into(),
                "upstream:reset@first=2".into(),
                "front:truncating".into(),
            ],
            Position::Upstream,
        )
        .unwrap();
        let shown: Vec<String> = placed.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "upstream:latency:120ms~80ms",
                "upstream:reset@first=2",
                "front:truncate@p=0.05"
            ]
        );
        assert_eq!(at(&placed, Position::Front).len(), 1);
        let err = parse(&["sluggish".into()], Position::Front).unwrap_err();
        assert!(err.to_string().contains("sluggish") && err.fix.unwrap().contains("truncating"));
        let err = parse(&["upstream:reset@p=0.5@p=0.1".into()], Position::Front).unwrap_err();
        assert!(err.to_string().contains("repeats p="), "{err}");
    }

    #[test]
    fn failures_are_classified_by_the_ledger_not_by_their_message() {
        let clean = [block(vec![
            experiment("a", Verdict::Held, "0x1", None),
            experiment("b", Verdict::Held, "0x2", None),
            experiment("keeper_c", Verdict::Held, "0x3", None),
            experiment("keeper_d", Verdict::Held, "0x4", None),
            experiment("keeper_e", Verdict::Disproved, "0x5", None),
            experiment("keeper_f", Verdict::Held, "0x6", None),
        ])];
        // b's message names a rate limit, but nothing reached the tools in its scope; c's
        // message says nothing about RPC, but the ledger has a reset in its scope.
        let degraded = [block(vec![
            experiment("a", Verdict::Held, "0x1", None),
            experiment("b", Verdict::Error, "", Some("HTTP 429 Too Many Requests")),
            experiment("keeper_c", Verdict::Error, "", Some("the sky fell")),
            experiment("keeper_d", Verdict::Held, "0x44", None),
            experiment("keeper_e", Verdict::Held, "0x5", None),
            experiment("keeper_f", Verdict::Error, "", Some("no answer")),
        ])];
        let ledger = Ledger::default();
        ledger.enter(Some(7), Unit::Live("keeper_c".into()));
        ledger.note(Class::Reset, "fault reset on eth_call");
        ledger.enter(Some(8), Unit::Live("keeper_f".into()));
        ledger.note(Class::Timeout, "at another block");
        let c = compare(&clean, &degraded, &ledger);
        assert_eq!(
            (
                c.matched,
                c.classified_failures,
                c.unclassified_failures,
                c.silent_divergences
            ),
            (1, 1, 2, 2)
        );
        assert!(matches!(
            &c.pairs[2].outcome,
            PairOutcome::ClassifiedFailure {
                class: Class::Reset,
                ..
            }
        ));
        assert!(matches!(
            &c.pairs[1].outcome,
            PairOutcome::UnclassifiedFailure { .. }
        ));
        assert!(matches!(
            &c.pairs[5].outcome,
            PairOutcome::UnclassifiedFailure { .. }
        ));
    }
}
