//! The engines that run experiments on a fork of a pinned block.
//!
//! - `in_evm`: the Solidity scenarios of `script/chaos/`, run by `forge script` on a fork;
//! - [`live`]: the live-fork keeper experiments, run by this process against an anvil fork.
//!
//! May depend on: [`crate::foundry`], [`crate::chain`] (address book, vault reader),
//! [`crate::rpc`] (the proxy in front of the upstream), the chaos room's checks
//! ([`crate::chaos::steady`], [`crate::chaos::scenario`]) and the report's types
//! ([`crate::report`]). Not on the orchestration in [`crate::chaos`] itself.

pub mod live;
