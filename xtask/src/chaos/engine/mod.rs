//! The engines that run experiments on a fork of a pinned block.
//!
//! - `in_evm`: the Solidity scenarios of `script/chaos/`, run by `forge script` on a fork;
//! - [`live`]: the live-fork keeper experiments, run by this process against an anvil fork.
//!
//! May depend on: [`crate::foundry`], [`crate::chain`] (address book, vault reader),
//! [`crate::rpc`] (the proxy in front of the upstream), the chaos room's checks
//! ([`crate::chaos::steady`], [`crate::chaos::scenario`]) and the report's types
//! ([`crate::report`]). Not on the orchestration in [`crate::chaos`] itself.

pub mod in_evm;
pub mod live;

use crate::report::{Engine, Experiment, Verdict};

/// An experiment that could not run: its error in the report, counted against the score.
pub(in crate::chaos) fn error_experiment(
    id: &str,
    engine: Engine,
    duration_ms: u64,
    err: &anyhow::Error,
) -> Experiment {
    Experiment {
        id: id.to_owned(),
        engine,
        fault: String::new(),
        verdict: Verdict::Error,
        duration_ms,
        checks: vec![],
        gas: 0,
        cycles: 0,
        digest_before: None,
        digest_after: None,
        error: Some(format!("{err:#}")),
    }
}
