//! An entry's key: a hash of everything that decides the chain (see the cache's own notes in
//! [`super`]): the format, the chain options, anvil's flags, the history's code, the tools'
//! versions and the bytecode of every deployable artifact.

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::FORMAT;
use crate::toolchain::{Tool, Toolchain};

/// An entry's key and what went into it (kept in the manifest, readable).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Key {
    pub hash: String,
    pub inputs: Vec<String>,
}

impl Key {
    pub fn from_inputs(inputs: Vec<String>) -> Self {
        let mut hasher = Sha256::new();
        for line in &inputs {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        Self {
            hash: hex(&hasher.finalize()[..16]),
            inputs,
        }
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The key of the chain `options` would build, with this toolchain and these artifacts.
pub fn key(
    toolchain: &Toolchain,
    determining: &[(&str, String)],
    anvil_args: &[String],
) -> anyhow::Result<Key> {
    let mut inputs = vec![format!("format {FORMAT}")];
    for (name, value) in determining {
        inputs.push(format!("option {name}={value}"));
    }
    inputs.push(format!("anvil-args {}", anvil_args.join(" ")));
    inputs.push(format!(
        "history-code {}",
        sha256_hex(
            [
                include_str!("../mod.rs"),
                include_str!("../build.rs"),
                include_str!("../history.rs"),
            ]
            .concat()
            .as_bytes(),
        )
    ));
    for tool in [Tool::Anvil, Tool::Forge] {
        // Through `signals::output`, like every child: scrubbed environment (no upstream URL or
        // key reaches a tool), ended on a signal.
        let output = crate::signals::output(
            toolchain
                .command(tool)
                .arg("--version")
                .stdin(std::process::Stdio::null()),
        )
        .with_context(|| format!("running {} --version", tool.name()))?;
        crate::signals::check()?;
        inputs.push(format!("{} {}", tool.name(), sha256_hex(&output.stdout)));
    }
    inputs.extend(artifact_inputs(toolchain.project.root())?);
    Ok(Key::from_inputs(inputs))
}

/// One line per deployable artifact: its path and the hash of its creation and runtime code.
/// Deployable: every source forge compiled that is not under `test/` or `script/`, plus the
/// deployment script and everything it imports. Generic on purpose: a new replica (another
/// compiler version, an npm source) is covered as soon as forge compiles it.
pub fn artifact_inputs(root: &Path) -> anyhow::Result<Vec<String>> {
    let cache_file = root.join("cache").join("solidity-files-cache.json");
    let text = std::fs::read_to_string(&cache_file).with_context(|| {
        format!(
            "reading {} (run `cargo xtask forge -- build`)",
            cache_file.display()
        )
    })?;
    let files: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", cache_file.display()))?;
    let files = files["files"]
        .as_object()
        .context("forge's files cache has no `files`")?;
    let deploy = "script/DeployLocal.s.sol";
    let mut closure: std::collections::BTreeSet<String> = files
        .get(deploy)
        .and_then(|f| f["imports"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| i.as_str().map(str::to_owned))
        .collect();
    closure.insert(deploy.into());
    let mut lines = Vec::new();
    for (source, entry) in files {
        let deployable = closure.contains(source)
            || !(source.starts_with("test/") || source.starts_with("script/"));
        if !deployable {
            continue;
        }
        let Some(artifacts) = entry["artifacts"].as_object() else {
            continue;
        };
        for (contract, versions) in artifacts {
            let Some(versions) = versions.as_object() else {
                continue;
            };
            for (version, profiles) in versions {
                let Some(profiles) = profiles.as_object() else {
                    continue;
                };
                for (profile, artifact) in profiles {
                    let Some(path) = artifact["path"].as_str() else {
                        continue;
                    };
                    let file = root.join("out").join(path);
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading artifact {}", file.display()))?;
                    let value: serde_json::Value = serde_json::from_str(&text)
                        .with_context(|| format!("parsing artifact {}", file.display()))?;
                    let code = format!(
                        "{}|{}",
                        value["bytecode"]["object"].as_str().unwrap_or_default(),
                        value["deployedBytecode"]["object"]
                            .as_str()
                            .unwrap_or_default()
                    );
                    lines.push(format!(
                        "artifact {source}:{contract}@{version}/{profile} {}",
                        sha256_hex(code.as_bytes())
                    ));
                }
            }
        }
    }
    anyhow::ensure!(
        !lines.is_empty(),
        "forge's files cache lists no deployable artifact"
    );
    lines.extend(registry_inputs(&root.join("build"))?);
    Ok(lines)
}

/// The registry-built contracts (PancakeSwap V2, Chainlink's proxy) that the chain deploys with
/// `vm.getCode` from `build/solc-<version>/out/` (see `crate::chain::registry`): one line per artifact,
/// the hash of its whole file. Absent with `--replicas hand` before the first real build.
fn registry_inputs(build: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    let Ok(compilers) = std::fs::read_dir(build) else {
        return Ok(vec![]);
    };
    for compiler in compilers.flatten() {
        let out = compiler.path().join("out");
        let Ok(sources) = std::fs::read_dir(&out) else {
            continue;
        };
        for source in sources.flatten() {
            let Ok(artifacts) = std::fs::read_dir(source.path()) else {
                continue;
            };
            for artifact in artifacts.flatten() {
                let path = artifact.path();
                if path.extension().is_some_and(|x| x == "json") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
        .iter()
        .map(|file| {
            let bytes = std::fs::read(file)
                .with_context(|| format!("reading artifact {}", file.display()))?;
            let name = file.strip_prefix(build).unwrap_or(file).display();
            Ok(format!("registry {name} {}", sha256_hex(&bytes)))
        })
        .collect()
}
