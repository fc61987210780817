//! Third-party Solidity from the npm registry, built with its own compilers for the local chain:
//! PancakeSwap's core (pair and factory, solc 0.5.16) and router (solc 0.6.6) with the V2
//! arithmetic applied by the project's patches, and Chainlink's `EACAggregatorProxy`
//! (solc 0.6.6) as published.
//!
//! Nothing third-party is committed and `node_modules` is never modified. For each compiler
//! version (a *unit*), the entry files and everything they import are copied from the installed
//! packages into `build/solc-X.Y.Z/src/<package>/...`, the patch of each package
//! (`tools/patches/<package>@<version>.patch`, see `tools/patches/README.md`) is applied to
//! the copies, and forge compiles the unit with its own profile of `foundry.toml`
//! (`solc-0_5_16`, `solc-0_6_6`: own `src`, `out` and `cache`) through the solc-js shim with
//! `SOLC_JS_VERSION` set. The router's init-code hash is not in any patch: it is keccak256 of
//! the pair's creation code as the first unit compiled it, substituted for the
//! `@PAIR_INIT_CODE_HASH@` placeholder before the second unit is staged.
//!
//! Scenarios, tests and `script/DeployLocal.s.sol` deploy the results by artifact
//! (`vm.getCode("build/solc-0.5.16/out/PancakeFactory.sol/PancakeFactory.json")`). A stamp per
//! unit (a digest of what was staged) lets an up-to-date build skip forge entirely.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use alloy::primitives::{keccak256, B256};
use anyhow::Context as _;

use super::patch;
use crate::error::Unusable;
use crate::project::Project;
use crate::shell;
use crate::toolchain::{Tool, Toolchain};

/// The placeholder of the router patch, replaced by the pair's init-code hash.
pub const PAIR_INIT_CODE_HASH_PLACEHOLDER: &str = "@PAIR_INIT_CODE_HASH@";

/// An npm package whose sources are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// The name in `package.json` (and the folder under `node_modules`).
    pub npm: &'static str,
    /// The version the patch was written for; the installed one must be this.
    pub version: &'static str,
    /// `tools/patches/<file>`, if the package is patched.
    pub patch: Option<&'static str>,
}

pub const PANCAKE_CORE: Package = Package {
    npm: "@pancakeswap-libs/pancake-swap-core",
    version: "0.1.0",
    patch: Some("pancake-swap-core@0.1.0.patch"),
};
pub const PANCAKE_PERIPHERY: Package = Package {
    npm: "pancakeswap-peripheral",
    version: "1.1.0-beta.0",
    patch: Some("pancakeswap-peripheral@1.1.0-beta.0.patch"),
};
pub const UNISWAP_LIB: Package = Package {
    npm: "@uniswap/lib",
    version: "1.1.1",
    patch: None,
};
pub const CHAINLINK: Package = Package {
    npm: "@chainlink/contracts",
    version: "0.1.9",
    patch: None,
};

pub const PACKAGES: [Package; 4] = [PANCAKE_CORE, PANCAKE_PERIPHERY, UNISWAP_LIB, CHAINLINK];

/// Everything one compiler version builds.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    /// The forge profile in `foundry.toml`.
    pub profile: &'static str,
    /// The solc-js version (`node_modules/solc-<solc>`).
    pub solc: &'static str,
    /// Relative to the project root: `src/`, `out/`, `cache/` and `stamp` live here.
    pub dir: &'static str,
    /// The files to build (package, path inside it); their imports come along.
    pub entries: &'static [(Package, &'static str)],
    /// Non-relative imports: a prefix and the package it names. The same remappings are in
    /// the unit's profile in `foundry.toml`, pointing into the staged `src/`.
    pub remappings: &'static [(&'static str, Package)],
    /// Artifacts (relative to `out/`) the build must produce.
    pub artifacts: &'static [&'static str],
}

pub const CORE_UNIT: Unit = Unit {
    profile: "solc-0_5_16",
    solc: "0.5.16",
    dir: "build/solc-0.5.16",
    entries: &[(PANCAKE_CORE, "contracts/PancakeFactory.sol")],
    remappings: &[],
    artifacts: &[
        "PancakeFactory.sol/PancakeFactory.json",
        "PancakePair.sol/PancakePair.json",
    ],
};

pub const PERIPHERY_UNIT: Unit = Unit {
    profile: "solc-0_6_6",
    solc: "0.6.6",
    dir: "build/solc-0.6.6",
    entries: &[
        (PANCAKE_PERIPHERY, "contracts/PancakeRouter.sol"),
        (CHAINLINK, "src/v0.6/EACAggregatorProxy.sol"),
    ],
    remappings: &[
        ("@uniswap/v2-core/", PANCAKE_CORE),
        ("@uniswap/lib/", UNISWAP_LIB),
    ],
    artifacts: &[
        "PancakeRouter.sol/PancakeRouter.json",
        "EACAggregatorProxy.sol/EACAggregatorProxy.json",
        "AggregatorV2V3Interface.sol/AggregatorV2V3Interface.json",
    ],
};

/// In build order: the router needs the pair's init-code hash.
pub const UNITS: [Unit; 2] = [CORE_UNIT, PERIPHERY_UNIT];

impl Unit {
    pub fn src(&self, project: &Project) -> PathBuf {
        project.root().join(self.dir).join("src")
    }

    pub fn out(&self, project: &Project) -> PathBuf {
        project.root().join(self.dir).join("out")
    }

    /// Where a package's file is staged, relative to the project root (the source unit name
    /// forge gives it).
    pub fn staged_name(&self, package: &Package, path: &str) -> String {
        format!("{}/src/{}/{path}", self.dir, package.npm)
    }
}

/// The files of one unit, staged: source unit name (relative to the project root) -> content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staged {
    pub files: BTreeMap<String, String>,
    /// Patched files: source unit name -> (package, path inside the package).
    pub patched: BTreeMap<String, (String, String)>,
}

impl Staged {
    /// A digest of everything that decides the unit's output.
    pub fn digest(&self, unit: &Unit) -> B256 {
        let mut text = format!("{}\n{}\n", unit.profile, unit.solc);
        for (name, content) in &self.files {
            text.push_str(name);
            text.push('\n');
            text.push_str(&keccak256(content.as_bytes()).to_string());
            text.push('\n');
        }
        keccak256(text.as_bytes())
    }
}

fn package_dir(project: &Project, package: &Package) -> PathBuf {
    project.node_modules().join(package.npm)
}

/// The installed version of `package` must be the one its patch was written for.
pub fn check_installed(project: &Project, package: &Package) -> Result<(), Unusable> {
    let manifest = package_dir(project, package).join("package.json");
    let installed = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("version")?.as_str().map(str::to_owned));
    match installed {
        Some(v) if v == package.version => Ok(()),
        Some(v) => Err(Unusable::with_fix(
            format!(
                "{} {v} is installed; the project builds {} {}",
                package.npm, package.npm, package.version
            ),
            "run `npm ci` (package-lock.json pins it)",
        )),
        None => Err(Unusable::with_fix(
            format!("{} is not installed", package.npm),
            "run `npm ci` in the repository root (cargo xtask does it for you)",
        )),
    }
}

/// The parsed patch of `package`, if it has one.
pub fn load_patch(project: &Project, package: &Package) -> anyhow::Result<Vec<patch::FilePatch>> {
    let Some(file) = package.patch else {
        return Ok(Vec::new());
    };
    let path = project.root().join("tools").join("patches").join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    patch::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The paths a Solidity file imports, as written (`./X.sol`, `@uniswap/lib/...`).
pub fn imports(source: &str) -> Vec<String> {
    source
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("import ") || l.starts_with("import\t"))
        .filter_map(|l| {
            let start = l.find(['\'', '"'])?;
            let quote = l[start..].chars().next()?;
            let rest = &l[start + 1..];
            let end = rest.find(quote)?;
            Some(rest[..end].to_owned())
        })
        .collect()
}

/// `dir/a/../b.sol` -> `dir/b.sol` (paths inside a package, `/`-separated).
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Where an import of `from` (package, path) leads: (package, path inside it).
fn resolve(
    unit: &Unit,
    from: (&Package, &str),
    import: &str,
) -> Result<(Package, String), Unusable> {
    if import.starts_with("./") || import.starts_with("../") {
        let dir = from.1.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let path = normalize(&format!("{dir}/{import}")).ok_or_else(|| {
            Unusable::new(format!(
                "{}/{}: import `{import}` leaves the package",
                from.0.npm, from.1
            ))
        })?;
        return Ok((*from.0, path));
    }
    for (prefix, package) in unit.remappings {
        if let Some(rest) = import.strip_prefix(prefix) {
            return Ok((*package, rest.to_owned()));
        }
    }
    Err(Unusable::new(format!(
        "{}/{}: import `{import}` has no remapping in the {} unit",
        from.0.npm, from.1, unit.profile
    )))
}

/// Collect the unit's files (entries and their imports), patch them, substitute placeholders.
/// Reads only `node_modules` and `tools/patches`; writes nothing.
pub fn stage(
    project: &Project,
    unit: &Unit,
    substitutions: &[(&str, String)],
) -> anyhow::Result<Staged> {
    let mut patches: BTreeMap<&str, Vec<patch::FilePatch>> = BTreeMap::new();
    let mut queue: Vec<(Package, String)> = Vec::new();
    for (package, path) in unit.entries {
        queue.push((*package, (*path).to_owned()));
    }
    let mut seen: BTreeSet<(&'static str, String)> = BTreeSet::new();
    let mut staged = Staged::default();
    while let Some((package, path)) = queue.pop() {
        if !seen.insert((package.npm, path.clone())) {
            continue;
        }
        check_installed(project, &package)?;
        let file = package_dir(project, &package).join(&path);
        let mut content = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for import in imports(&content) {
            queue.push(resolve(unit, (&package, &path), &import)?);
        }
        if !patches.contains_key(package.npm) {
            patches.insert(package.npm, load_patch(project, &package)?);
        }
        let name = unit.staged_name(&package, &path);
        if let Some(file_patch) = patches[package.npm].iter().find(|p| p.path == path) {
            content = patch::apply(&format!("{}/{path}", package.npm), &content, file_patch)?;
            staged
                .patched
                .insert(name.clone(), (package.npm.to_owned(), path.clone()));
        }
        staged.files.insert(name, content);
    }
    for (placeholder, value) in substitutions {
        let hits: usize = staged
            .files
            .values()
            .map(|c| c.matches(placeholder).count())
            .sum();
        if hits != 1 {
            anyhow::bail!(
                "{placeholder} occurs {hits} times in the {} unit, expected once",
                unit.profile
            );
        }
        for content in staged.files.values_mut() {
            if content.contains(placeholder) {
                *content = content.replace(placeholder, value);
            }
        }
    }
    if let Some((name, _)) = staged
        .files
        .iter()
        .find(|(_, c)| c.contains(PAIR_INIT_CODE_HASH_PLACEHOLDER))
    {
        anyhow::bail!("{name} still holds {PAIR_INIT_CODE_HASH_PLACEHOLDER}");
    }
    Ok(staged)
}

/// Every hunk of every patch must have landed in some unit: a patch for a file no unit builds
/// would be documentation that does nothing.
fn check_patches_used(project: &Project, staged: &[Staged]) -> anyhow::Result<()> {
    for package in PACKAGES {
        for file_patch in load_patch(project, &package)? {
            let used = staged.iter().any(|s| {
                s.patched
                    .values()
                    .any(|(npm, path)| npm == package.npm && *path == file_patch.path)
            });
            if !used {
                anyhow::bail!(
                    "tools/patches/{}: {} is not built by any unit",
                    package.patch.unwrap_or_default(),
                    file_patch.path
                );
            }
        }
    }
    Ok(())
}

/// Write the staged files under the unit's `src/` (only files whose content changed, so forge's
/// cache stays warm) and remove anything else there.
fn write_staged(project: &Project, unit: &Unit, staged: &Staged) -> anyhow::Result<()> {
    let root = project.root();
    let wanted: BTreeSet<PathBuf> = staged.files.keys().map(|n| root.join(n)).collect();
    for (name, content) in &staged.files {
        let path = root.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stack = vec![unit.src(project)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !wanted.contains(&path) {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// keccak256 of a compiled contract's creation code, from its artifact.
pub fn creation_code_hash(artifact: &Path) -> anyhow::Result<B256> {
    let text = std::fs::read_to_string(artifact)
        .with_context(|| format!("reading {}", artifact.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", artifact.display()))?;
    let hex = value
        .pointer("/bytecode/object")
        .and_then(|v| v.as_str())
        .with_context(|| format!("{} has no bytecode", artifact.display()))?;
    let code = alloy::primitives::hex::decode(hex)
        .with_context(|| format!("{}: bytecode is not hex", artifact.display()))?;
    anyhow::ensure!(!code.is_empty(), "{}: empty bytecode", artifact.display());
    Ok(keccak256(code))
}

/// What [`ensure`] built.
#[derive(Debug, Clone)]
pub struct Built {
    /// keccak256 of the patched pair's creation code: what the router is bound to.
    pub pair_init_code_hash: B256,
    /// Units that were compiled this time (empty when everything was up to date).
    pub compiled: Vec<&'static str>,
}

fn stamp_path(project: &Project, unit: &Unit) -> PathBuf {
    project.root().join(unit.dir).join("stamp")
}

fn up_to_date(project: &Project, unit: &Unit, digest: &B256) -> bool {
    let stamp = std::fs::read_to_string(stamp_path(project, unit)).unwrap_or_default();
    stamp.trim() == digest.to_string()
        && unit
            .artifacts
            .iter()
            .all(|a| unit.out(project).join(a).is_file())
}

/// Stage, patch and compile every unit whose inputs changed. Quiet when nothing had to be done.
/// Processes that build at the same time (tests run the xtask in parallel) take turns on
/// `build/.lock`, so no two write the same staged file or forge cache.
pub fn ensure(toolchain: &Toolchain) -> anyhow::Result<Built> {
    let project = &toolchain.project;
    let build_dir = project.root().join("build");
    std::fs::create_dir_all(&build_dir)
        .with_context(|| format!("creating {}", build_dir.display()))?;
    let lock_path = build_dir.join(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    let built = ensure_locked(toolchain);
    drop(lock);
    built
}

fn ensure_locked(toolchain: &Toolchain) -> anyhow::Result<Built> {
    let project = &toolchain.project;
    let mut compiled = Vec::new();
    let mut all = Vec::new();
    let mut substitutions: Vec<(&str, String)> = Vec::new();
    let mut pair_init_code_hash = B256::ZERO;
    for unit in UNITS {
        let staged = stage(project, &unit, &substitutions)?;
        let digest = staged.digest(&unit);
        write_staged(project, &unit, &staged)?;
        if !up_to_date(project, &unit, &digest) {
            compile(toolchain, &unit)?;
            for artifact in unit.artifacts {
                anyhow::ensure!(
                    unit.out(project).join(artifact).is_file(),
                    "forge built the {} unit but {artifact} is missing",
                    unit.profile
                );
            }
            std::fs::write(stamp_path(project, &unit), format!("{digest}\n"))?;
            compiled.push(unit.profile);
        }
        if unit.profile == CORE_UNIT.profile {
            pair_init_code_hash =
                creation_code_hash(&unit.out(project).join("PancakePair.sol/PancakePair.json"))?;
            let hex = alloy::primitives::hex::encode(pair_init_code_hash);
            substitutions.push((PAIR_INIT_CODE_HASH_PLACEHOLDER, hex));
        }
        all.push(staged);
    }
    check_patches_used(project, &all)?;
    Ok(Built {
        pair_init_code_hash,
        compiled,
    })
}

/// `forge build` of one unit with its profile and its solc-js version.
fn compile(toolchain: &Toolchain, unit: &Unit) -> anyhow::Result<()> {
    let project = &toolchain.project;
    shell::status(
        "Compiling",
        format!(
            "registry sources with solc-js {} ({}, profile {})",
            unit.solc, unit.dir, unit.profile
        ),
    );
    let node = crate::toolchain::find_node(&crate::toolchain::ProcessEnv).ok_or_else(|| {
        Unusable::with_fix(
            "node is not on PATH: the registry sources are compiled with solc-js",
            "install Node.js 20 or later",
        )
    })?;
    let mut cmd = toolchain.command(Tool::Forge);
    cmd.arg("build")
        .env("FOUNDRY_PROFILE", unit.profile)
        .env("FOUNDRY_SOLC", project.solc_shim())
        .env("SOLC_JS_VERSION", unit.solc)
        .env("NODE", node)
        .env_remove("SOLC_JS")
        .stdin(Stdio::null());
    let output = crate::signals::output(&mut cmd).context("starting forge build")?;
    if !output.status.success() {
        shell::line(String::from_utf8_lossy(&output.stdout));
        shell::line(String::from_utf8_lossy(&output.stderr));
        anyhow::bail!(
            "forge build of the {} unit (solc-js {}) failed",
            unit.profile,
            unit.solc
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_imports_in_both_quote_styles() {
        let src = "pragma solidity =0.6.6;\nimport '@uniswap/lib/contracts/libraries/TransferHelper.sol';\n  import \"./libraries/SafeMath.sol\";\n// import './no.sol';\n";
        assert_eq!(
            imports(src),
            [
                "@uniswap/lib/contracts/libraries/TransferHelper.sol",
                "./libraries/SafeMath.sol"
            ]
        );
    }

    #[test]
    fn resolves_relative_and_remapped_imports() {
        let from = (&PANCAKE_PERIPHERY, "contracts/libraries/PancakeLibrary.sol");
        assert_eq!(
            resolve(&PERIPHERY_UNIT, from, "./SafeMath.sol").unwrap(),
            (
                PANCAKE_PERIPHERY,
                "contracts/libraries/SafeMath.sol".to_owned()
            )
        );
        assert_eq!(
            resolve(&PERIPHERY_UNIT, from, "../interfaces/IWETH.sol").unwrap(),
            (
                PANCAKE_PERIPHERY,
                "contracts/interfaces/IWETH.sol".to_owned()
            )
        );
        let (package, path) = resolve(
            &PERIPHERY_UNIT,
            from,
            "@uniswap/v2-core/contracts/interfaces/IPancakePair.sol",
        )
        .unwrap();
        assert_eq!(
            (package.npm, path.as_str()),
            (PANCAKE_CORE.npm, "contracts/interfaces/IPancakePair.sol")
        );
        assert!(resolve(&CORE_UNIT, from, "@uniswap/lib/x.sol").is_err());
        assert!(resolve(&CORE_UNIT, (&PANCAKE_CORE, "a.sol"), "../../x.sol").is_err());
    }

    #[test]
    fn foundry_toml_has_the_units_remappings() {
        let toml = include_str!("../../../foundry.toml");
        for unit in UNITS {
            assert!(
                toml.contains(&format!("[profile.{}]", unit.profile)),
                "{}",
                unit.profile
            );
            for (prefix, package) in unit.remappings {
                let line = format!("\"{prefix}={}/src/{}/\"", unit.dir, package.npm);
                assert!(toml.contains(&line), "foundry.toml lacks {line}");
            }
        }
    }
}
