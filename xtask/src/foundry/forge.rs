//! Running `forge script` and reading its JSON result.
//!
//! `forge script --json` prints one JSON object per line; the result object carries `success`,
//! `gas_used`, decoded `logs` and, in `returned`, the raw ABI-encoded return data of the entry
//! point, which [`crate::foundry::artifacts`] decodes exactly. Nothing is scraped from human output.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::primitives::Bytes;
use anyhow::Context as _;
use serde::Deserialize;

use crate::toolchain::{Tool, Toolchain};

mod result;

pub use result::{parse_script_output, parse_script_output_file, ScriptResultFields};
use result::{read_lossy, FIRST_END_WINDOW};

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
        /// docs/toolchain.md: a local chain that claims id 56 must not poison the real chain's cache).
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
#[derive(Debug)]
pub struct ScriptOutput {
    pub success: bool,
    pub gas_used: u64,
    pub returned: Bytes,
    pub logs: Vec<String>,
    pub duration: Duration,
    /// forge's whole stdout, in a scratch file (its result line carries the call traces, read
    /// only on demand by [`revert_paths`]).
    pub stdout: ScriptStdout,
}

/// forge's stdout, written by forge straight into a scratch file that is removed when this
/// drops (or by the signal handler). A batch of scenarios prints ~107 MB of call traces on its
/// result line: held in the xtask's memory (and in the doubling buffer that read it), that was
/// the xtask's peak resident set.
#[derive(Debug)]
pub struct ScriptStdout {
    scratch: crate::signals::Scratch,
}

impl ScriptStdout {
    fn new() -> anyhow::Result<Self> {
        let scratch = crate::signals::Scratch::new("forge-stdout")
            .context("creating a scratch directory for forge's output")?;
        Ok(Self { scratch })
    }

    pub fn path(&self) -> PathBuf {
        self.scratch.path().join("stdout.json")
    }

    /// The whole output, for the rare reader that needs the traces ([`revert_paths`]).
    pub fn read(&self) -> std::io::Result<String> {
        read_lossy(&self.path())
    }
}

/// A script that could not produce a result. `stderr` is forge's own message, already free
/// of the fork URL.
#[derive(Debug, thiserror::Error)]
#[error("forge script {target} failed: {message}")]
pub struct ScriptFailed {
    pub target: String,
    pub message: String,
}

/// Where `forge script --broadcast` keeps its transaction logs: `broadcast/<script>/<chain>/`
/// and `cache/<script>/<chain>/` by default, inside the repository, a file per run. The xtask's
/// own broadcasts (the local chain's deployment, a vault on a live fork) write them into a
/// scratch directory instead, removed when this guard drops: a run leaves nothing outside its
/// report directory. forge's compile cache is copied in, so the script still finds the
/// contracts compiled.
#[derive(Debug)]
pub struct BroadcastLogs {
    scratch: crate::signals::Scratch,
}

impl BroadcastLogs {
    pub fn new(toolchain: &Toolchain) -> anyhow::Result<Self> {
        let scratch = crate::signals::Scratch::new("broadcast")
            .context("creating a scratch directory for forge's broadcast logs")?;
        let cache = scratch.path().join("cache");
        std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
        let compiled = toolchain
            .project
            .forge_cache()
            .join("solidity-files-cache.json");
        if compiled.is_file() {
            std::fs::copy(&compiled, cache.join("solidity-files-cache.json"))
                .with_context(|| format!("copying {}", compiled.display()))?;
        }
        Ok(Self { scratch })
    }

    /// Point `cmd` (a `forge script --broadcast`) at the scratch directory.
    pub fn apply(&self, cmd: &mut std::process::Command) {
        cmd.env("FOUNDRY_BROADCAST", self.scratch.path().join("broadcast"))
            .env("FOUNDRY_CACHE_PATH", self.scratch.path().join("cache"));
    }
}

/// `forge build`, quiet when it works; forge's own output and an error when it does not. The
/// registry sources ([`super::registry`]) are built first: the project deploys them by artifact.
pub fn build(toolchain: &Toolchain) -> anyhow::Result<()> {
    super::registry::ensure(toolchain)?;
    let output = crate::signals::output(
        toolchain
            .command(Tool::Forge)
            .arg("build")
            .stdin(Stdio::null()),
    )
    .context("starting forge build")?;
    crate::signals::check()?;
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
    // Tens of megabytes for a batch: forge writes them to a file, of which only the result
    // line's ends are read (the scratch goes on every return, an error's too).
    let stdout = ScriptStdout::new()?;
    let file = std::fs::File::create(stdout.path())
        .with_context(|| format!("creating {}", stdout.path().display()))?;
    cmd.stdin(Stdio::null()).stdout(file).stderr(Stdio::piped());
    let started = Instant::now();
    let output = crate::signals::spawn(&mut cmd)
        .and_then(crate::signals::Owned::wait_with_output)
        .context("starting forge script")?;
    let duration = started.elapsed();
    let parsed = parse_script_output_file(&stdout.path())
        .with_context(|| format!("reading forge's output in {}", stdout.path().display()))?;
    match parsed {
        Some((success, gas_used, returned, logs)) => Ok(ScriptOutput {
            success,
            gas_used,
            returned,
            logs,
            duration,
            stdout,
        }),
        None => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let mut message = last_meaningful_line(&stderr)
                .or_else(|| last_meaningful_line(&read_end(&stdout.path(), FIRST_END_WINDOW)))
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

/// One call of forge's trace, as much of it as finding a revert needs. Strings are borrowed from
/// the output line (hex and names carry no escapes), so even a batch's tens of megabytes of
/// traces are read without copies.
#[derive(Debug, Deserialize)]
struct TraceNode<'a> {
    #[serde(default)]
    children: Vec<usize>,
    #[serde(borrow)]
    trace: TraceCall<'a>,
}

#[derive(Debug, Deserialize)]
struct TraceCall<'a> {
    success: bool,
    #[serde(borrow)]
    address: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    data: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    output: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    decoded: Option<TraceDecoded<'a>>,
}

#[derive(Debug, Deserialize)]
struct TraceDecoded<'a> {
    #[serde(borrow, default)]
    label: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    call_data: Option<TraceCallData<'a>>,
}

#[derive(Debug, Deserialize)]
struct TraceCallData<'a> {
    #[serde(borrow)]
    signature: std::borrow::Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
struct TraceArena<'a> {
    #[serde(borrow)]
    arena: Vec<TraceNode<'a>>,
}

#[derive(Debug, Deserialize)]
struct TracedResult<'a> {
    #[serde(borrow, default)]
    traces: Vec<(std::borrow::Cow<'a, str>, TraceArena<'a>)>,
}

impl TraceCall<'_> {
    /// `Label.signature`, or the address and selector when forge could not decode the call.
    fn describe(&self) -> String {
        let label = self
            .decoded
            .as_ref()
            .and_then(|d| d.label.as_deref())
            .unwrap_or(&self.address);
        let mut text = if self.kind.starts_with("CREATE") {
            format!("new {label}")
        } else {
            match self.decoded.as_ref().and_then(|d| d.call_data.as_ref()) {
                Some(call) => format!("{label}.{}", call.signature),
                None => format!("{label}.{}", self.data.get(..10).unwrap_or(&self.data)),
            }
        };
        if self.kind == "DELEGATECALL" {
            text.push_str(" [delegatecall]");
        }
        text
    }
}

/// For every failed call of `contract.function` in the traces of forge's result line (in call
/// order), the chain of calls its revert came from: each step goes into the last failed child
/// whose revert data is, or contains (a wrapped `bytes` reason), the data of its parent. The
/// first element is the failed call's first step below `contract.function`, the last is where the
/// revert started. `None` when the output carries no traces.
pub fn revert_paths(stdout: &str, contract: &str, function: &str) -> Option<Vec<Vec<String>>> {
    let line = stdout
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .find(|l| l.contains("\"traces\""))?;
    let result: TracedResult<'_> = serde_json::from_str(line).ok()?;
    let mut paths = Vec::new();
    for (_, arena) in &result.traces {
        let nodes = &arena.arena;
        for node in nodes {
            let call = &node.trace;
            let is_target = !call.success
                && call.decoded.as_ref().is_some_and(|d| {
                    d.label.as_deref() == Some(contract)
                        && d.call_data
                            .as_ref()
                            .is_some_and(|c| c.signature.starts_with(&format!("{function}(")))
                });
            if !is_target {
                continue;
            }
            let mut path = Vec::new();
            let mut at = node;
            loop {
                let output = hex_body(&at.trace.output);
                let next = at
                    .children
                    .iter()
                    .rev()
                    .filter_map(|&i| nodes.get(i))
                    .find(|child| {
                        let inner = hex_body(&child.trace.output);
                        !child.trace.success
                            && !inner.is_empty()
                            && inner.len().is_multiple_of(2)
                            && output.match_indices(inner).any(|(i, _)| i % 2 == 0)
                    });
                match next {
                    Some(child) => {
                        path.push(child.trace.describe());
                        at = child;
                    }
                    None => break,
                }
            }
            paths.push(path);
        }
    }
    Some(paths)
}

fn hex_body(text: &str) -> &str {
    text.strip_prefix("0x").unwrap_or(text)
}

/// The last `len` bytes of a file, as text (empty when it cannot be read).
fn read_end(path: &Path, len: u64) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut buf = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if file.seek(SeekFrom::Start(size.saturating_sub(len))).is_ok() {
            let _ = file.read_to_end(&mut buf);
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
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

/// `path` as forge is handed it: relative to the project root when it lies inside it.
pub fn relative_path(toolchain: &Toolchain, path: &Path) -> PathBuf {
    path.strip_prefix(toolchain.project.root())
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}
