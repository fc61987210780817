//! The project's task runner. Its folders are its rooms, in the order data flows through a
//! chaos run (`docs/architecture.md`):
//!
//! - [`toolchain`]: finding (and installing) forge, anvil, cast and a Solidity compiler, and
//!   `doctor`;
//! - [`foundry`]: running the pinned anvil and forge and reading forge's artifacts;
//! - [`chain`]: the local BSC replica chain (replicas built from the npm registry's sources,
//!   deployment, seeded history, the chain cache), the address book and the vault reader;
//! - [`chaos`]: `cargo xtask chaos`: arguments, catalogue, upstream, block pinning, the batch
//!   schedule, the engines (in-EVM and live-fork), the steady-state checks and degraded-RPC
//!   classification;
//! - [`report`]: report.json and its companions (junit.xml, summary.md, report.html, the window
//!   picture) and merging sharded reports;
//! - [`rpc`]: RPC degradation: the fault-injecting proxy, the retrying client and `rpc-probe`;
//! - [`suite`], [`mod@bench`], [`mutants`] and [`slither`]: the commands built on the rooms above
//!   (`test`, `bench`, `mutants`, `slither`);
//! - [`cli`]: the command line, which only parses and dispatches;
//! - [`project`], [`shell`], [`error`], [`signals`] and [`rng`]: the repository layout, output,
//!   exit codes, ending every child on SIGINT/SIGTERM, the seeded generator. Every room may use
//!   these.

pub mod bench;
pub mod chain;
pub mod chaos;
pub mod cli;
pub mod error;
pub mod foundry;
pub mod mutants;
pub mod project;
pub mod report;
pub mod rng;
#[cfg(test)]
mod rooms;
pub mod rpc;
pub mod runtime;
pub mod shell;
pub mod signals;
pub mod slither;
pub mod suite;
pub mod toolchain;
