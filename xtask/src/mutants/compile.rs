//! Compiling the vault, clean or mutated, into artifacts the in-EVM engine deploys.
//!
//! Only the vault's own sources (the deployable `YieldVault` and `CycleModule` and what they
//! import) are compiled, through solc's standard JSON with every source passed inline: a
//! mutant's source exists only in memory and in the compiler's input, never in the working
//! tree. With solc-js one `node` process stays warm for the whole run (loading the compiler
//! costs more than compiling one contract); a native solc is run once per compilation.
//! Each mutant recompiles only the contracts whose code can contain the mutated file (from
//! the clean compilation's AST: bases, created contracts, libraries and constants used).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use anyhow::Context as _;
use serde_json::{json, Value};

use super::generate::imports_of;
use crate::error::Unusable;
use crate::project::Project;
use crate::toolchain::{Compiler, Toolchain};

/// A deployable contract of the vault: (source unit, contract name).
pub const TARGETS: [(&str, &str); 2] = [
    ("contracts/vault/CycleModule.sol", "CycleModule"),
    ("contracts/vault/YieldVault.sol", "YieldVault"),
];

/// Compiler settings, read from foundry.toml's default profile so that mutants are compiled
/// exactly as forge compiles the vault.
#[derive(Debug, Clone)]
pub struct Settings {
    pub optimizer: bool,
    pub runs: u64,
    pub evm_version: String,
    pub via_ir: bool,
    pub bytecode_hash: String,
}

impl Settings {
    pub fn from_foundry_toml(root: &Path) -> anyhow::Result<Self> {
        let path = root.join("foundry.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let value: toml::Table =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let profile = value
            .get("profile")
            .and_then(|p| p.get("default"))
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default();
        let get_bool =
            |k: &str, d: bool| profile.get(k).and_then(toml::Value::as_bool).unwrap_or(d);
        let get_str = |k: &str, d: &str| {
            profile
                .get(k)
                .and_then(toml::Value::as_str)
                .unwrap_or(d)
                .to_owned()
        };
        Ok(Self {
            optimizer: get_bool("optimizer", false),
            runs: profile
                .get("optimizer_runs")
                .and_then(toml::Value::as_integer)
                .and_then(|r| u64::try_from(r).ok())
                .unwrap_or(200),
            evm_version: get_str("evm_version", "cancun"),
            via_ir: get_bool("via_ir", false),
            bytecode_hash: get_str("bytecode_hash", "ipfs"),
        })
    }
}

/// The vault's sources: every file the targets import, transitively, keyed by source unit
/// name (the path relative to the project root).
#[derive(Debug, Clone)]
pub struct Sources {
    pub files: BTreeMap<String, String>,
}

impl Sources {
    pub fn load(root: &Path) -> Result<Self, Unusable> {
        let mut files = BTreeMap::new();
        let mut todo: Vec<String> = TARGETS.iter().map(|(f, _)| (*f).to_owned()).collect();
        while let Some(unit) = todo.pop() {
            if files.contains_key(&unit) {
                continue;
            }
            let text = std::fs::read_to_string(root.join(&unit))
                .map_err(|e| Unusable::new(format!("cannot read {unit}: {e}")))?;
            for import in imports_of(&unit, &text)? {
                todo.push(resolve_import(&unit, &import)?);
            }
            files.insert(unit, text);
        }
        Ok(Self { files })
    }
}

/// `../interfaces/IERC20.sol` seen from `contracts/vault/X.sol` -> `contracts/interfaces/IERC20.sol`;
/// a non-relative import is a path from the project root.
fn resolve_import(from: &str, import: &str) -> Result<String, Unusable> {
    if !(import.starts_with("./") || import.starts_with("../")) {
        return Ok(import.to_owned());
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in import.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Unusable::new(format!(
                        "{from}: import `{import}` leaves the project"
                    )));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// One compiled contract: ABI and creation code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub abi: Value,
    pub bytecode: String,
}

/// The result of compiling a set of sources.
pub enum CompileOutcome {
    Ok(BTreeMap<String, Compiled>),
    /// The first compiler error, one line.
    Failed(String),
}

/// A warm compiler: one node process with solc-js loaded, or a native solc run per input.
pub struct Solc {
    kind: Kind,
    settings: Settings,
}

enum Kind {
    Node {
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
        /// Dropped after the pipes: its drop ends node's process group.
        _child: crate::signals::Owned,
        _script: tempfile::TempDir,
    },
    Native(PathBuf),
}

/// The solc-js worker: one standard JSON input per line in, one output per line out.
const WORKER_JS: &str = r#"'use strict';
const solc = require(process.argv[2]);
const readline = require('readline');
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
lines.on('line', (line) => {
  let out;
  try {
    out = solc.compile(line);
  } catch (err) {
    out = JSON.stringify({ errors: [{ severity: 'error', formattedMessage: String(err) }] });
  }
  // JSON escapes newlines inside strings: the ones left are whitespace.
  process.stdout.write(out.replace(/[\r\n]+/g, ' ') + '\n');
});
"#;

impl Solc {
    pub fn start(toolchain: &Toolchain, project: &Project) -> anyhow::Result<Self> {
        let settings = Settings::from_foundry_toml(project.root())?;
        let kind = match &toolchain.compiler {
            Compiler::Explicit(path) | Compiler::Native { path, .. } => Kind::Native(path.clone()),
            Compiler::SolcJs { node, .. } => {
                let dir = tempfile::Builder::new()
                    .prefix("xtask-solc-worker.")
                    .tempdir()
                    .context("a directory for the solc-js worker")?;
                let script = dir.path().join("worker.js");
                std::fs::write(&script, WORKER_JS)?;
                let mut cmd = Command::new(node);
                cmd.arg(&script)
                    .arg(project.node_modules().join("solc"))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null());
                let mut child =
                    crate::signals::spawn(&mut cmd).context("starting node for solc-js")?;
                let stdin = child.child_mut().stdin.take().context("worker stdin")?;
                let stdout =
                    BufReader::new(child.child_mut().stdout.take().context("worker stdout")?);
                Kind::Node {
                    _child: child,
                    stdin,
                    stdout,
                    _script: dir,
                }
            }
        };
        Ok(Self { kind, settings })
    }

    fn input(&self, sources: &BTreeMap<String, String>, targets: &[&str], ast: bool) -> Value {
        let mut selection = serde_json::Map::new();
        for (file, contract) in TARGETS {
            if targets.contains(&contract) {
                selection.insert(
                    file.to_owned(),
                    json!({ contract: ["abi", "evm.bytecode.object"] }),
                );
            }
        }
        if ast {
            selection.insert("*".into(), json!({ "": ["ast"] }));
        }
        let sources: serde_json::Map<String, Value> = sources
            .iter()
            .map(|(k, v)| (k.clone(), json!({ "content": v })))
            .collect();
        json!({
            "language": "Solidity",
            "sources": sources,
            "settings": {
                "optimizer": { "enabled": self.settings.optimizer, "runs": self.settings.runs },
                "evmVersion": self.settings.evm_version,
                "viaIR": self.settings.via_ir,
                "metadata": { "bytecodeHash": self.settings.bytecode_hash },
                "outputSelection": Value::Object(selection),
            }
        })
    }

    fn raw(&mut self, input: &Value) -> anyhow::Result<Value> {
        let text = serde_json::to_string(input)?;
        let out = match &mut self.kind {
            Kind::Node { stdin, stdout, .. } => {
                stdin.write_all(text.as_bytes())?;
                stdin.write_all(b"\n")?;
                stdin.flush()?;
                let mut line = String::new();
                let n = stdout.read_line(&mut line)?;
                anyhow::ensure!(n != 0, "the solc-js worker stopped");
                line
            }
            Kind::Native(path) => {
                let mut cmd = Command::new(path);
                cmd.arg("--standard-json")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = crate::signals::spawn(&mut cmd).context("starting solc")?;
                if let Some(mut stdin) = child.child_mut().stdin.take() {
                    stdin.write_all(text.as_bytes())?;
                }
                let output = child.wait_with_output()?;
                String::from_utf8_lossy(&output.stdout).into_owned()
            }
        };
        serde_json::from_str(&out).context("the compiler's output is not JSON")
    }

    /// Compile `targets` (contract names of [`TARGETS`]) from `sources`.
    pub fn compile(
        &mut self,
        sources: &BTreeMap<String, String>,
        targets: &[&str],
    ) -> anyhow::Result<CompileOutcome> {
        let output = self.raw(&self.input(sources, targets, false))?;
        Ok(read_output(&output, targets))
    }

    /// Compile every target with the AST, and work out which source files can change the code
    /// of which target.
    pub fn compile_clean(
        &mut self,
        sources: &BTreeMap<String, String>,
    ) -> anyhow::Result<(BTreeMap<String, Compiled>, CodeFiles)> {
        let targets: Vec<&str> = TARGETS.iter().map(|(_, c)| *c).collect();
        let output = self.raw(&self.input(sources, &targets, true))?;
        match read_output(&output, &targets) {
            CompileOutcome::Ok(compiled) => Ok((compiled, CodeFiles::from_output(&output))),
            CompileOutcome::Failed(error) => Err(Unusable::with_fix(
                format!("the vault does not compile: {error}"),
                "`cargo xtask forge -- build` shows every message",
            )
            .into()),
        }
    }
}

fn read_output(output: &Value, targets: &[&str]) -> CompileOutcome {
    if let Some(error) = output["errors"].as_array().and_then(|errors| {
        errors
            .iter()
            .find(|e| e["severity"].as_str() == Some("error"))
    }) {
        let message = error["formattedMessage"]
            .as_str()
            .or_else(|| error["message"].as_str())
            .unwrap_or("unknown compiler error");
        let first = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        return CompileOutcome::Failed(first);
    }
    let mut compiled = BTreeMap::new();
    for (file, contract) in TARGETS {
        if !targets.contains(&contract) {
            continue;
        }
        let c = &output["contracts"][file][contract];
        let Some(bytecode) = c["evm"]["bytecode"]["object"].as_str() else {
            return CompileOutcome::Failed(format!(
                "no bytecode for {contract} in the compiler output"
            ));
        };
        compiled.insert(
            contract.to_owned(),
            Compiled {
                abi: c["abi"].clone(),
                bytecode: bytecode.to_owned(),
            },
        );
    }
    CompileOutcome::Ok(compiled)
}

/// For each target contract, the source files whose text can change its bytecode.
#[derive(Debug, Clone, Default)]
pub struct CodeFiles(pub BTreeMap<String, BTreeSet<String>>);

impl CodeFiles {
    /// The targets a change in `file` can affect (all of them when none is known to).
    pub fn targets_of(&self, file: &str) -> Vec<&'static str> {
        let affected: Vec<&'static str> = TARGETS
            .iter()
            .filter(|(_, c)| self.0.get(*c).is_some_and(|files| files.contains(file)))
            .map(|(_, c)| *c)
            .collect();
        if affected.is_empty() {
            TARGETS.iter().map(|(_, c)| *c).collect()
        } else {
            affected
        }
    }

    fn from_output(output: &Value) -> Self {
        // Every contract: file, bases, created contracts, and the declarations it refers to.
        struct Info {
            file: String,
            bases: Vec<i64>,
            creates: Vec<i64>,
            refs: BTreeSet<i64>,
        }
        let mut contracts: BTreeMap<i64, Info> = BTreeMap::new();
        let mut names: BTreeMap<String, i64> = BTreeMap::new();
        // declaration id -> (file, enclosing top-level contract id if any, code-bearing?)
        let mut decls: BTreeMap<i64, (String, Option<i64>, bool)> = BTreeMap::new();
        let mut libraries: BTreeSet<i64> = BTreeSet::new();
        let Some(sources) = output["sources"].as_object() else {
            return Self::default();
        };
        for (file, source) in sources {
            let Some(nodes) = source["ast"]["nodes"].as_array() else {
                continue;
            };
            for node in nodes {
                let Some(id) = node["id"].as_i64() else {
                    continue;
                };
                match node["nodeType"].as_str() {
                    Some("ContractDefinition") => {
                        if node["contractKind"].as_str() == Some("library") {
                            libraries.insert(id);
                        }
                        let ids = |key: &str| -> Vec<i64> {
                            node[key]
                                .as_array()
                                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                                .unwrap_or_default()
                        };
                        let mut refs = BTreeSet::new();
                        collect_refs(node, &mut refs);
                        let mut inner = Vec::new();
                        collect_decls(node, &mut inner);
                        for (decl, constant) in inner {
                            decls.insert(decl, (file.clone(), Some(id), constant));
                        }
                        decls.insert(id, (file.clone(), Some(id), false));
                        if let Some(name) = node["name"].as_str() {
                            names.insert(name.to_owned(), id);
                        }
                        contracts.insert(
                            id,
                            Info {
                                file: file.clone(),
                                bases: ids("linearizedBaseContracts"),
                                creates: ids("contractDependencies"),
                                refs,
                            },
                        );
                    }
                    Some("FunctionDefinition") | Some("VariableDeclaration") => {
                        decls.insert(id, (file.clone(), None, true));
                    }
                    _ => {}
                }
            }
        }
        let mut out = BTreeMap::new();
        for (_, name) in TARGETS {
            let Some(&root) = names.get(name) else {
                continue;
            };
            let mut files = BTreeSet::new();
            let mut seen = BTreeSet::new();
            let mut todo = vec![root];
            while let Some(c) = todo.pop() {
                if !seen.insert(c) {
                    continue;
                }
                let Some(info) = contracts.get(&c) else {
                    continue;
                };
                files.insert(info.file.clone());
                todo.extend(info.bases.iter().copied());
                todo.extend(info.creates.iter().copied());
                for r in &info.refs {
                    match decls.get(r) {
                        // A library or a member of one: its code is inlined or linked in.
                        Some((_, Some(owner), _)) if libraries.contains(owner) => todo.push(*owner),
                        // A constant of another contract (inlined) or a free function/constant.
                        Some((file, Some(_), true)) | Some((file, None, true)) => {
                            files.insert(file.clone());
                        }
                        _ => {}
                    }
                }
            }
            out.insert(name.to_owned(), files);
        }
        Self(out)
    }
}

fn collect_refs(node: &Value, refs: &mut BTreeSet<i64>) {
    match node {
        Value::Object(map) => {
            if let Some(id) = map.get("referencedDeclaration").and_then(Value::as_i64) {
                refs.insert(id);
            }
            for v in map.values() {
                collect_refs(v, refs);
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_refs(v, refs);
            }
        }
        _ => {}
    }
}

/// Declarations inside a contract; `true` for constants (inlined wherever they are used).
/// Functions of a library are reached through the library itself; other contracts' functions
/// are called, not copied.
fn collect_decls(node: &Value, out: &mut Vec<(i64, bool)>) {
    let Some(nodes) = node["nodes"].as_array() else {
        return;
    };
    for n in nodes {
        let Some(id) = n["id"].as_i64() else { continue };
        let code = match n["nodeType"].as_str() {
            Some("VariableDeclaration") => n["constant"].as_bool() == Some(true),
            _ => false,
        };
        out.push((id, code));
    }
}

/// Writes `<dir>/<Contract>.json` in forge's artifact layout (what `vm.getCode` reads).
pub fn write_artifacts(dir: &Path, compiled: &BTreeMap<String, Compiled>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, c) in compiled {
        let artifact = json!({
            "abi": c.abi,
            "bytecode": { "object": format!("0x{}", c.bytecode.trim_start_matches("0x")) },
        });
        std::fs::write(dir.join(format!("{name}.json")), artifact.to_string())
            .with_context(|| format!("writing {name}.json in {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_imports_resolve_from_the_importing_file() {
        assert_eq!(
            resolve_import("contracts/vault/A.sol", "../interfaces/IERC20.sol").unwrap(),
            "contracts/interfaces/IERC20.sol"
        );
        assert_eq!(
            resolve_import("contracts/vault/A.sol", "./B.sol").unwrap(),
            "contracts/vault/B.sol"
        );
        assert!(resolve_import("a.sol", "../../x.sol").is_err());
    }
}
