//! Foundry: the room that runs the pinned tools and reads what they write.
//!
//! - [`anvil`]: a local anvil owned by a guard that kills it (and its scratch) on drop;
//! - [`forge`]: `forge build`, `forge script` and `forge test` runs with the project's compiler
//!   set-up, and the one place that builds an in-EVM script call;
//! - [`artifacts`]: forge's compiled artifacts in `out/`;
//! - [`registry`]: the third-party Solidity from the npm registry (PancakeSwap V2, Chainlink's
//!   proxy) built with its own compilers before any forge build, after [`patch`] applied the
//!   project's patches to the copies;
//! - [`passthrough`]: `cargo xtask forge|anvil|cast -- ...`.
//!
//! May depend on: [`crate::toolchain`] (where the tools are), [`crate::project`],
//! [`crate::shell`], [`crate::signals`] and [`crate::error`]. Nothing here knows about chaos
//! experiments or reports.

pub mod anvil;
pub mod artifacts;
pub mod forge;
pub mod patch;
pub mod registry;

use std::ffi::{OsStr, OsString};

use anyhow::Context as _;

use crate::toolchain::{exit_code_of, Tool, Toolchain};

/// Run a tool with the user's arguments, inheriting stdio, and return its exit code. Before
/// forge, the registry sources the project's tests and scripts deploy by artifact are brought
/// up to date (nothing is compiled when they already are).
pub fn passthrough(toolchain: &Toolchain, tool: Tool, args: &[OsString]) -> anyhow::Result<i32> {
    if tool == Tool::Forge {
        registry::ensure(toolchain)?;
    }
    // In a process group of its own (with its children), ended on a signal like any child;
    // it holds the terminal while it runs.
    let status = crate::signals::status_foreground(
        toolchain.command(tool).args(
            args.iter()
                .map(OsString::as_os_str)
                .collect::<Vec<&OsStr>>(),
        ),
    )
    .with_context(|| format!("starting {}", toolchain.located(tool).path.display()))?;
    Ok(exit_code_of(status))
}
