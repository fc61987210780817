//! Running `forge script` and reading its JSON result.
//!
//! `forge script --json` prints one JSON object per line; the result object carries `success`,
//! `gas_used`, decoded `logs` and, in `returned`, the raw ABI-encoded return data of the entry
//! point, which [`crate::artifacts`] decodes exactly. Nothing is scraped from human output.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::primitives::Bytes;
use anyhow::Context as _;
use serde::Deserialize;

use crate::toolchain::{Tool, Toolchain};

/// Where a script runs: in forge's own fresh EVM, or on a fork of an RPC endpoint.
#[derive(Debug, Clone)]
pub enum Target {
    Local,
    Fork {
        /// The xtask's own proxy on 127.0.0.1 in `cargo xtask chaos`: the real upstream URL
        /// (which carries an API key) never reaches forge's command line or output.
        url: String,
        block: Option<u64>,
        /// Keep fork state out of forge's shared on-disk cache (generated chains, see
        /// TOOLCHAIN.md: a local chain that claims id 56 must not poison the real chain's cache).
        no_storage_caching: bool,
    },
}

/// One `forge script` invocation.
#[derive(Debug, Clone)]
pub struct ScriptCall {
    /// `path/to/File.s.sol:Contract`.
    pub target: String,
    /// ABI-encoded calldata of the entry point (`--sig` accepts raw calldata).
    pub calldata: Bytes,
    pub on: Target,
    pub env: Vec<(OsString, OsString)>,
}

/// The result object of `forge script --json`.
#[derive(Debug, Clone)]
pub struct ScriptOutput {
    pub success: bool,
    pub gas_used: u64,
    pub returned: Bytes,
    pub logs: Vec<String>,
    pub duration: Duration,
}

/// The fields of forge's result object that the xtask uses. Everything else (`traces`, tens of
/// megabytes for a batch of scenarios, `raw_logs`, ...) is skipped while parsing, never built
/// as a JSON tree: the xtask's memory stays flat whatever the scripts do.
#[derive(Debug, Deserialize)]
struct RawResult {
    success: bool,
    gas_used: u64,
    #[serde(default)]
    returned: Option<Bytes>,
    #[serde(default)]
    logs: Vec<String>,
}

/// Find the result object among forge's JSON lines (the last one that has `success` and
/// `gas_used`).
pub fn parse_script_output(stdout: &str) -> Option<(bool, u64, Bytes, Vec<String>)> {
    stdout
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .find_map(|l| serde_json::from_str::<RawResult>(l).ok())
        .map(|r| {
            (
                r.success,
                r.gas_used,
                r.returned.unwrap_or_default(),
                r.logs,
            )
        })
}

/// A script that could not produce a result. `stderr` is forge's own message, already free
/// of the fork URL.
#[derive(Debug, thiserror::Error)]
#[error("forge script {target} failed: {message}")]
pub struct ScriptFailed {
    pub target: String,
    pub message: String,
}

/// `forge build`, quiet when it works; forge's own output and an error when it does not. The
/// registry sources ([`crate::registry`]) are built first: the project deploys them by artifact.
pub fn build(toolchain: &Toolchain) -> anyhow::Result<()> {
    crate::registry::ensure(toolchain)?;
    let output = crate::signals::output(
        toolchain
            .command(Tool::Forge)
            .arg("build")
            .stdin(Stdio::null()),
    )
    .context("starting forge build")?;
    if !output.status.success() {
        crate::shell::line(String::from_utf8_lossy(&output.stdout));
        crate::shell::line(String::from_utf8_lossy(&output.stderr));
        anyhow::bail!("forge build failed");
    }
    Ok(())
}

/// Run one script and return its result object.
pub fn run_script(toolchain: &Toolchain, call: &ScriptCall) -> anyhow::Result<ScriptOutput> {
    let mut cmd = toolchain.command(Tool::Forge);
    cmd.arg("script")
        .arg(&call.target)
        .arg("--sig")
        .arg(call.calldata.to_string())
        .arg("--json");
    let mut secret = None;
    match &call.on {
        Target::Local => {
            cmd.env_remove("FOUNDRY_ETH_RPC_URL");
        }
        Target::Fork {
            url,
            block,
            no_storage_caching,
        } => {
            cmd.arg("--fork-url").arg(url);
            // Ride out transient upstream failures (429, resets) as a nightly run must; what
            // still fails after the retries is reported with its cause.
            cmd.args(["--fork-retries", "5", "--fork-retry-backoff", "300"]);
            secret = Some(url.as_str());
            if let Some(block) = block {
                cmd.arg("--fork-block-number").arg(block.to_string());
            }
            if *no_storage_caching {
                cmd.arg("--no-storage-caching");
            }
        }
    }
    for (key, value) in &call.env {
        cmd.env(key, value);
    }
    let started = Instant::now();
    let output =
        crate::signals::output(cmd.stdin(Stdio::null())).context("starting forge script")?;
    let duration = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    match parse_script_output(&stdout) {
        Some((success, gas_used, returned, logs)) => Ok(ScriptOutput {
            success,
            gas_used,
            returned,
            logs,
            duration,
        }),
        None => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let mut message = last_meaningful_line(&stderr)
                .or_else(|| last_meaningful_line(&stdout))
                .unwrap_or_else(|| format!("no result ({})", output.status));
            if let Some(secret) = secret.filter(|s| !s.is_empty()) {
                message = message.replace(secret, "<fork url>");
            }
            Err(ScriptFailed {
                target: call.target.clone(),
                message,
            }
            .into())
        }
    }
}

fn last_meaningful_line(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let error_at = lines
        .iter()
        .rposition(|l| l.starts_with("Error") || l.contains("error"));
    let from = error_at.unwrap_or(lines.len().saturating_sub(1));
    (!lines.is_empty()).then(|| {
        lines[from..]
            .iter()
            .take(4)
            .copied()
            .collect::<Vec<_>>()
            .join(" | ")
    })
}
