//! The project's task runner. One module per concern, mirroring the design:
//!
//! - [`toolchain`]: finding (and installing) forge, anvil, cast and a Solidity compiler;
//! - [`suite`]: the whole test suite behind `cargo xtask test`;
//! - [`doctor`]: what the machine has and what is missing;
//! - [`rpc`]: RPC degradation: the fault-injecting proxy and `rpc-probe`;
//! - [`anvil`]: a local anvil owned by a guard that kills it on drop;
//! - [`artifacts`], [`forge`] and [`scenario`]: forge's artifacts, `forge script` runs and the
//!   scenarios' typed results;
//! - [`chain`] and [`addressbook`]: the local BSC replica chain with its seeded history, and
//!   the address books;
//! - [`registry`] and [`patch`]: PancakeSwap V2 and Chainlink built from the npm registry's
//!   sources with the project's patches and their own compilers;
//! - [`chaos`], [`pin`], [`live`], [`steady`], [`vault`] and [`degraded`]: `cargo xtask chaos`,
//!   block pinning, the live-fork keeper, the steady state (S1-S10) in Rust as the twin of
//!   `script/chaos/SteadyState.sol`, reading the vault, degraded-RPC runs;
//! - [`report`], [`report_html`] and [`svg`]: report.json, junit.xml, summary.md, report.html
//!   and the window picture;
//! - [`mod@bench`]: `cargo xtask bench`;
//! - [`slither`]: Slither's static analysis of the vault against the committed triage;
//! - [`signals`] and [`rng`]: ending every child on SIGINT/SIGTERM; the seeded generator;
//! - [`cli`]: the command line;
//! - [`project`], [`shell`] and [`error`]: the repository layout, output and exit codes.

pub mod addressbook;
pub mod anvil;
pub mod artifacts;
pub mod bench;
pub mod chain;
pub mod chain_cache;
pub mod chaos;
pub mod cli;
pub mod degraded;
pub mod doctor;
pub mod error;
pub mod forge;
pub mod live;
pub mod mutants;
pub mod patch;
pub mod pin;
pub mod project;
pub mod registry;
pub mod report;
pub mod report_html;
pub mod rng;
pub mod rpc;
pub mod scenario;
pub mod shell;
pub mod signals;
pub mod slither;
pub mod steady;
pub mod suite;
pub mod svg;
pub mod toolchain;
pub mod vault;
