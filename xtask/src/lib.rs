//! The project's task runner. One module per concern, mirroring the design:
//!
//! - [`toolchain`]: finding (and installing) forge, anvil, cast and a Solidity compiler;
//! - [`suite`]: the whole test suite behind `cargo xtask test`;
//! - [`doctor`]: what the machine has and what is missing;
//! - [`rpc`]: RPC degradation: the fault-injecting proxy and `rpc-probe`;
//! - [`anvil`]: a local anvil owned by a guard that kills it on drop;
//! - [`cli`]: the command line;
//! - [`project`], [`shell`] and [`error`]: the repository layout, output and exit codes.

pub mod anvil;
pub mod cli;
pub mod doctor;
pub mod error;
pub mod project;
pub mod rpc;
pub mod shell;
pub mod suite;
pub mod toolchain;
