//! Degraded-fork experiments (`cargo xtask chaos --rpc-faults ...`): the same experiments are
//! run twice, once through a clean proxy and once through a proxy that degrades every upstream
//! read of forge and anvil (and every call of the live-fork keeper to its node), and each
//! (block, experiment) of the degraded run is compared with the clean one.
//!
//! The hypothesis: *a degraded RPC never produces a silently different result*. Each pair is
//! one of
//! - `matched`: the same verdict and the same digest of the vault's state at the end;
//! - `classified_failure`: the degraded run failed, with a cause that names an RPC failure
//!   (timeout, reset, partial read, malformed answer, rate limit, HTTP or JSON-RPC error, ...);
//! - `unclassified_failure`: the degraded run failed for a reason the tool cannot tie to the
//!   RPC (a defect of the tool or a gap in its error reporting);
//! - `silent_divergence`: the degraded run finished but with another verdict or another state:
//!   the hypothesis is disproved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Unusable;
use crate::report::{Block, Verdict};
use crate::rpc::fault::FaultSpec;
use crate::rpc::Class;

/// Named fault profiles; anything else given to `--rpc-faults` is read as a fault spec.
pub const PROFILES: [(&str, &[&str]); 5] = [
    ("slow", &["latency:120ms~80ms"]),
    ("flaky", &["http:503@p=0.05", "reset@p=0.03"]),
    ("truncating", &["truncate@p=0.05"]),
    ("rate-limited", &["http:429,retry-after=1@every=6"]),
    ("stale-head", &["stale-head:20"]),
];

/// `--rpc-faults` values (profile names or fault specs) to fault specs.
pub fn parse(values: &[String]) -> Result<Vec<FaultSpec>, Unusable> {
    let mut specs = Vec::new();
    for value in values {
        match PROFILES.iter().find(|(name, _)| name == value) {
            Some((_, list)) => {
                for spec in *list {
                    specs.push(
                        spec.parse().map_err(|e: crate::rpc::fault::SpecError| {
                            Unusable::new(e.to_string())
                        })?,
                    );
                }
            }
            None => specs.push(value.parse().map_err(|e: crate::rpc::fault::SpecError| {
                Unusable::with_fix(
                    e.to_string(),
                    format!(
                        "use a profile ({}) or a fault spec (README: the fault-spec grammar)",
                        profile_names()
                    ),
                )
            })?),
        }
    }
    Ok(specs)
}

fn profile_names() -> String {
    PROFILES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The RPC failure an experiment's error message names, if any.
pub fn classify(message: &str) -> Option<Class> {
    let m = message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    Some(
        if has(&["429", "too many requests", "rate limit", "-32005"]) {
            Class::RateLimited
        } else if has(&["timed out", "timeout", "deadline"]) {
            Class::Timeout
        } else if has(&[
            "connection reset",
            "reset by peer",
            "connection closed",
            "incomplete message",
            "broken pipe",
            "channel closed",
        ]) {
            Class::Reset
        } else if has(&[
            "end of file",
            "eof while parsing",
            "error decoding response body",
            "unexpected eof",
        ]) {
            Class::PartialRead
        } else if has(&[
            "expected value",
            "invalid type",
            "deserializ",
            "invalid json",
            "parse error",
        ]) {
            Class::Malformed
        } else if has(&[
            "502",
            "503",
            "500 internal",
            "504",
            "bad gateway",
            "service unavailable",
            "http error",
            "status code",
        ]) {
            Class::HttpError
        } else if has(&["connection refused", "error sending request", "tcp connect"]) {
            Class::Unreachable
        } else if has(&[
            "rpc error",
            "json-rpc error",
            "server returned an error",
            "code: -32",
            "code -32",
        ]) {
            Class::RpcError
        } else {
            return None;
        },
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Matched,
    ClassifiedFailure { class: String, error: String },
    UnclassifiedFailure { error: String },
    SilentDivergence { detail: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pair {
    pub block: u64,
    pub experiment: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Comparison {
    pub faults: Vec<String>,
    pub matched: u64,
    pub classified_failures: u64,
    pub unclassified_failures: u64,
    pub silent_divergences: u64,
    /// Upstream requests of the degraded run, per method.
    pub requests: BTreeMap<String, u64>,
    pub faults_injected: u64,
    pub pairs: Vec<Pair>,
}

/// Compare the degraded run with the clean one, pair by pair.
pub fn compare(clean: &[Block], degraded: &[Block]) -> Comparison {
    let mut out = Comparison::default();
    for (c_block, d_block) in clean.iter().zip(degraded) {
        for c in &c_block.experiments {
            let d = d_block
                .experiments
                .iter()
                .find(|d| d.id == c.id && d.engine == c.engine);
            let outcome = match d {
                None => Outcome::UnclassifiedFailure {
                    error: "missing from the degraded run".into(),
                },
                Some(d) if d.verdict == Verdict::Error => {
                    let error = d.error.clone().unwrap_or_default();
                    match classify(&error) {
                        Some(class) => Outcome::ClassifiedFailure {
                            class: class.to_string(),
                            error,
                        },
                        None => Outcome::UnclassifiedFailure { error },
                    }
                }
                Some(d) if c.verdict == Verdict::Error => Outcome::SilentDivergence {
                    detail: format!(
                        "the clean run could not run it, the degraded run says {:?}",
                        d.verdict
                    ),
                },
                Some(d) if d.verdict != c.verdict => Outcome::SilentDivergence {
                    detail: format!(
                        "verdict {:?} in the clean run, {:?} degraded",
                        c.verdict, d.verdict
                    ),
                },
                Some(d) if d.digest_after != c.digest_after => Outcome::SilentDivergence {
                    detail: format!(
                        "same verdict, different state: digest {} clean, {} degraded",
                        c.digest_after.as_deref().unwrap_or("-"),
                        d.digest_after.as_deref().unwrap_or("-")
                    ),
                },
                Some(_) => Outcome::Matched,
            };
            match &outcome {
                Outcome::Matched => out.matched += 1,
                Outcome::ClassifiedFailure { .. } => out.classified_failures += 1,
                Outcome::UnclassifiedFailure { .. } => out.unclassified_failures += 1,
                Outcome::SilentDivergence { .. } => out.silent_divergences += 1,
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
    use crate::report::{Engine, Experiment};

    fn experiment(id: &str, verdict: Verdict, digest: &str, error: Option<&str>) -> Experiment {
        Experiment {
            id: id.into(),
            engine: Engine::InEvm,
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
    fn profiles_and_specs_parse_and_bad_ones_are_named() {
        assert_eq!(parse(&["flaky".into()]).unwrap().len(), 2);
        assert_eq!(
            parse(&["slow".into(), "reset@first=2".into()])
                .unwrap()
                .len(),
            2
        );
        let err = parse(&["sluggish".into()]).unwrap_err();
        assert!(err.to_string().contains("sluggish") && err.fix.unwrap().contains("truncating"));
    }

    #[test]
    fn every_outcome_is_told_apart() {
        let clean = [block(vec![
            experiment("a", Verdict::Held, "0x1", None),
            experiment("b", Verdict::Held, "0x2", None),
            experiment("c", Verdict::Held, "0x3", None),
            experiment("d", Verdict::Held, "0x4", None),
            experiment("e", Verdict::Disproved, "0x5", None),
        ])];
        let degraded = [block(vec![
            experiment("a", Verdict::Held, "0x1", None),
            experiment(
                "b",
                Verdict::Error,
                "",
                Some("forge script failed: HTTP 429 Too Many Requests"),
            ),
            experiment("c", Verdict::Error, "", Some("the sky fell")),
            experiment("d", Verdict::Held, "0x44", None),
            experiment("e", Verdict::Held, "0x5", None),
        ])];
        let c = compare(&clean, &degraded);
        assert_eq!(
            (
                c.matched,
                c.classified_failures,
                c.unclassified_failures,
                c.silent_divergences
            ),
            (1, 1, 1, 2)
        );
        assert!(
            matches!(&c.pairs[1].outcome, Outcome::ClassifiedFailure { class, .. } if class == "rate_limited")
        );
    }

    #[test]
    fn rpc_failures_are_classified() {
        assert_eq!(classify("operation timed out"), Some(Class::Timeout));
        assert_eq!(classify("connection reset by peer"), Some(Class::Reset));
        assert_eq!(
            classify("error decoding response body: EOF while parsing"),
            Some(Class::PartialRead)
        );
        assert_eq!(
            classify("HTTP error 503 Service Unavailable"),
            Some(Class::HttpError)
        );
        assert_eq!(classify("assertion failed"), None);
    }
}
