//! Foundry: the room that runs the pinned tools and reads what they write.
//!
//! - [`anvil`]: a local anvil owned by a guard that kills it (and its scratch) on drop;
//! - [`forge`]: `forge build`, `forge script` and `forge test` runs with the project's compiler
//!   set-up, and the one place that builds an in-EVM script call;
//! - [`artifacts`]: forge's compiled artifacts in `out/`.
//!
//! May depend on: [`crate::toolchain`] (where the tools are), [`crate::project`],
//! [`crate::shell`], [`crate::signals`] and [`crate::error`]; one exception not yet removed:
//! [`forge::build`] first has [`crate::chain::registry`] compile the registry replicas, which
//! the project's contracts deploy by artifact. Nothing here knows about chaos experiments or
//! reports.

pub mod anvil;
pub mod artifacts;
pub mod forge;
