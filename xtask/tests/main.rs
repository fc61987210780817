//! The xtask's integration tests: one test binary (`cargo test -p xtask --test it`), one module
//! per file of this folder, sharing [`support`] (the one way a test starts the binary, a real
//! anvil, raw HTTP) and [`browser`] (headless Chromium for report.html). One binary links alloy
//! and hyper once instead of once per file; `cargo test -p xtask --test it -- chaos::` runs one
//! file's tests.

mod browser;
mod support;

mod bsc_constants;
mod chain;
mod chain_cache;
mod chaos;
mod cli;
mod conformance;
mod interrupt;
mod isolation;
mod mutants;
mod registry_build;
mod replica_abi;
mod report;
mod report_html;
mod rpc_probe;
mod rpc_proxy;
mod rpc_replay;
mod rpc_resilience;
mod scenario_decode;
mod solc_versions;
mod toolchain;
mod workflows;
