//! The comparison of a degraded-RPC run with the clean run as the report holds it: one
//! [`Pair`] per (block, experiment) and its [`PairOutcome`]. Made by [`crate::chaos::degraded`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rpc::retry::MethodCounters;
use crate::rpc::Class;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PairOutcome {
    Matched,
    ClassifiedFailure {
        class: Class,
        /// The ledger's entry that classifies it.
        #[serde(default)]
        cause: String,
        error: String,
    },
    UnclassifiedFailure {
        error: String,
    },
    SilentDivergence {
        detail: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pair {
    pub block: u64,
    pub experiment: String,
    #[serde(flatten)]
    pub outcome: PairOutcome,
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
    /// What the degraded run's resilient layers (proxy and keeper) did, per method.
    #[serde(default)]
    pub resilience: BTreeMap<String, MethodCounters>,
    pub pairs: Vec<Pair>,
}
