//! Finding forge, anvil, cast and a Solidity compiler.
//!
//! Tools are looked up in this order: an explicit environment variable (`FORGE`, `ANVIL`,
//! `CAST`), the project's pinned npm install (`node_modules/@foundry-rs/<tool>-<platform>/bin`),
//! then `PATH`. When the pinned install is missing or does not match `package.json`, it is
//! installed with `npm ci` before anything else runs.
//!
//! The compiler: an explicit `FOUNDRY_SOLC`, else a native `solc` (0.8.24 or later) on `PATH`,
//! else the pinned solc-js behind `tools/solc-js-shim`, which forge is handed through
//! `FOUNDRY_SOLC`. Nothing machine-specific is written into `foundry.toml`.
//!
//! Room: where the pinned tools come from (npm pins, the compiler, `doctor`). May depend on
//! [`crate::project`], [`crate::shell`], [`crate::signals`] and [`crate::error`].

pub mod doctor;
pub mod solc_version;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;

use crate::error::Unusable;
use crate::project::Project;
use crate::shell;

/// One of the Foundry binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Forge,
    Anvil,
    Cast,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::Forge, Tool::Anvil, Tool::Cast];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Forge => "forge",
            Tool::Anvil => "anvil",
            Tool::Cast => "cast",
        }
    }

    /// The variable that names an explicit binary for this tool.
    pub fn env_var(self) -> &'static str {
        match self {
            Tool::Forge => "FORGE",
            Tool::Anvil => "ANVIL",
            Tool::Cast => "CAST",
        }
    }

    fn npm_package(self) -> String {
        format!("@foundry-rs/{}", self.name())
    }

    /// `node_modules/@foundry-rs/<tool>-<os>-<arch>/bin/<tool>`: the native binary shipped
    /// inside the platform package. The `.bin/<tool>` Node wrapper is avoided on purpose: it
    /// adds Node's start-up to every call.
    pub fn pinned_binary(self, project: &Project) -> Option<PathBuf> {
        let platform = npm_platform()?;
        Some(
            project
                .node_modules()
                .join("@foundry-rs")
                .join(format!("{}-{platform}", self.name()))
                .join("bin")
                .join(exe_name(self.name())),
        )
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `<os>-<arch>` suffix of Foundry's npm platform packages, if Foundry ships one for
/// this machine.
pub fn npm_platform() -> Option<&'static str> {
    use std::env::consts::{ARCH, OS};
    Some(match (OS, ARCH) {
        ("linux", "x86_64") => "linux-amd64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-amd64",
        ("macos", "aarch64") => "darwin-arm64",
        ("windows", "x86_64") => "win32-amd64",
        _ => return None,
    })
}

fn exe_name(name: &str) -> String {
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_owned()
    }
}

/// Where a binary was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Named by an environment variable.
    Env(&'static str),
    /// The project's pinned npm install.
    Pinned,
    /// Found on `PATH`.
    Path,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(var) => write!(f, "${var}"),
            Source::Pinned => f.write_str("pinned (npm)"),
            Source::Path => f.write_str("PATH"),
        }
    }
}

/// A binary and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    pub source: Source,
}

/// The process environment as resolution sees it. Tests build one by hand.
pub trait Environment {
    fn var(&self, name: &str) -> Option<OsString>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

impl<F: Fn(&str) -> Option<OsString>> Environment for F {
    fn var(&self, name: &str) -> Option<OsString> {
        self(name)
    }
}

fn non_empty(value: Option<OsString>) -> Option<OsString> {
    value.filter(|v| !v.is_empty())
}

/// Find `name` on the `PATH` of `env`.
pub fn find_on_path(name: &str, env: &dyn Environment) -> Option<PathBuf> {
    let path = non_empty(env.var("PATH"))?;
    let file = exe_name(name);
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

/// A regular file we may execute.
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// An explicit variable naming a binary: an existing executable path, or a bare name found
/// on `PATH`. A variable that names nothing usable is an error, not a silent fallback.
fn explicit(var: &'static str, env: &dyn Environment) -> Result<Option<Located>, Unusable> {
    let Some(value) = non_empty(env.var(var)) else {
        return Ok(None);
    };
    let candidate = PathBuf::from(&value);
    let bare_name = candidate.components().count() == 1 && !candidate.is_absolute();
    let path = if bare_name {
        find_on_path(&value.to_string_lossy(), env)
    } else {
        Some(candidate.clone()).filter(|p| is_executable(p))
    };
    match path {
        Some(path) => Ok(Some(Located {
            path,
            source: Source::Env(var),
        })),
        None => Err(Unusable::with_fix(
            format!("{var}={} is not an executable file", candidate.display()),
            format!("point {var} at the binary, or unset it to use the pinned one"),
        )),
    }
}

/// Resolve one tool: environment, then the pinned install, then `PATH`.
pub fn resolve(
    tool: Tool,
    project: &Project,
    env: &dyn Environment,
) -> Result<Option<Located>, Unusable> {
    if let Some(found) = explicit(tool.env_var(), env)? {
        return Ok(Some(found));
    }
    if let Some(pinned) = tool.pinned_binary(project).filter(|p| is_executable(p)) {
        return Ok(Some(Located {
            path: pinned,
            source: Source::Pinned,
        }));
    }
    Ok(find_on_path(tool.name(), env).map(|path| Located {
        path,
        source: Source::Path,
    }))
}

/// Where the Solidity compiler comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiler {
    /// `FOUNDRY_SOLC` was set by the user; forge reads it itself.
    Explicit(PathBuf),
    /// A native solc on `PATH`, recent enough for the contracts.
    Native { path: PathBuf, version: String },
    /// The pinned solc-js behind our shim.
    SolcJs { shim: PathBuf, node: PathBuf },
}

impl Compiler {
    /// The binary forge should use.
    pub fn binary(&self) -> &Path {
        match self {
            Compiler::Explicit(path) | Compiler::Native { path, .. } => path,
            Compiler::SolcJs { shim, .. } => shim,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Compiler::Explicit(path) => format!("$FOUNDRY_SOLC ({})", path.display()),
            Compiler::Native { path, version } => {
                format!("native solc {version} on PATH ({})", path.display())
            }
            Compiler::SolcJs { shim, .. } => format!("pinned solc-js through {}", shim.display()),
        }
    }
}

/// The oldest compiler the contracts accept (`pragma solidity ^0.8.24`).
pub const MIN_SOLC: (u64, u64, u64) = (0, 8, 24);

/// Parse the `Version: 0.8.37+commit...` line that native solc and our shim print.
pub fn parse_solc_version(output: &str) -> Option<(u64, u64, u64)> {
    let line = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Version:"))?;
    let core = line.trim().split(['+', '-']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

fn solc_version_of(path: &Path) -> Option<(u64, u64, u64)> {
    let output = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    parse_solc_version(&String::from_utf8_lossy(&output.stdout))
}

/// Choose the compiler: `FOUNDRY_SOLC`, then a recent native `solc` on `PATH`, then the shim.
pub fn resolve_compiler(project: &Project, env: &dyn Environment) -> Result<Compiler, Unusable> {
    if let Some(value) = non_empty(env.var("FOUNDRY_SOLC")) {
        let path = PathBuf::from(value);
        if !is_executable(&path) {
            return Err(Unusable::with_fix(
                format!("FOUNDRY_SOLC={} is not an executable file", path.display()),
                "point FOUNDRY_SOLC at a solc binary, or unset it",
            ));
        }
        return Ok(Compiler::Explicit(path));
    }
    if let Some(path) = find_on_path("solc", env) {
        if let Some(version) = solc_version_of(&path).filter(|v| *v >= MIN_SOLC) {
            let version = format!("{}.{}.{}", version.0, version.1, version.2);
            return Ok(Compiler::Native { path, version });
        }
    }
    let node = find_node(env).ok_or_else(node_missing)?;
    let shim = project.solc_shim();
    if !is_executable(&shim) {
        return Err(Unusable::new(format!(
            "{} is missing or not executable",
            shim.display()
        )));
    }
    Ok(Compiler::SolcJs { shim, node })
}

/// `NODE` when it names an executable, else `node` on `PATH`.
pub fn find_node(env: &dyn Environment) -> Option<PathBuf> {
    if let Some(node) = non_empty(env.var("NODE"))
        .map(PathBuf::from)
        .filter(|p| is_executable(p))
    {
        return Some(node);
    }
    find_on_path("node", env)
}

fn node_missing() -> Unusable {
    Unusable::with_fix(
        "node and npm are not on PATH, and the pinned toolchain is not installed",
        "install Node.js 20 or later with npm (https://nodejs.org), then run the command again",
    )
}

/// A package pinned in `package.json` whose installed version differs or is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub package: String,
    pub pinned: String,
    pub installed: Option<String>,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.installed {
            Some(found) => write!(
                f,
                "{} {} installed, {} pinned",
                self.package, found, self.pinned
            ),
            None => write!(f, "{} {} not installed", self.package, self.pinned),
        }
    }
}

/// The pinned packages whose install does not match `package.json`, plus the Foundry
/// platform binaries when they are absent.
pub fn pinned_drift(project: &Project) -> anyhow::Result<Vec<Drift>> {
    let manifest = std::fs::read_to_string(project.package_json())
        .with_context(|| format!("reading {}", project.package_json().display()))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&manifest).context("package.json is not valid JSON")?;
    let mut drift = Vec::new();
    let pins = manifest.get("devDependencies").and_then(|d| d.as_object());
    for (package, pinned) in pins.into_iter().flatten() {
        let pinned = pinned.as_str().unwrap_or_default().to_owned();
        let installed = installed_version(&project.node_modules().join(package));
        if installed.as_deref() != Some(pinned_version(&pinned)) {
            drift.push(Drift {
                package: package.clone(),
                pinned,
                installed,
            });
        }
    }
    for tool in Tool::ALL {
        let present = tool
            .pinned_binary(project)
            .is_some_and(|p| is_executable(&p));
        if !present && drift.iter().all(|d| d.package != tool.npm_package()) {
            drift.push(Drift {
                package: format!(
                    "{}-{}",
                    tool.npm_package(),
                    npm_platform().unwrap_or("unsupported-platform")
                ),
                pinned: "binary".to_owned(),
                installed: None,
            });
        }
    }
    Ok(drift)
}

/// The version a `package.json` pin names: `0.8.37`, or the version of an npm alias
/// (`npm:solc@0.6.6` installs `solc` 0.6.6 under the alias' name).
pub fn pinned_version(pin: &str) -> &str {
    match pin.strip_prefix("npm:") {
        Some(alias) => alias.rsplit_once('@').map_or(alias, |(_, v)| v),
        None => pin,
    }
}

fn installed_version(package_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(package_dir.join("package.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("version")?.as_str().map(str::to_owned)
}

/// Install the pinned toolchain with `npm ci` when it is missing or out of date.
/// Prints one progress line; says nothing when everything is in place.
pub fn ensure_pinned(project: &Project, env: &dyn Environment) -> anyhow::Result<()> {
    let drift = pinned_drift(project)?;
    if drift.is_empty() {
        return Ok(());
    }
    let npm = find_on_path("npm", env).ok_or_else(node_missing)?;
    let what = drift
        .iter()
        .map(|d| d.package.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    shell::status(
        "Installing",
        format!("the pinned toolchain with `npm ci` ({what})"),
    );
    let output = crate::signals::output_as_is(
        Command::new(&npm)
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(project.root()),
    )
    .with_context(|| format!("running {}", npm.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
        for line in tail.into_iter().rev() {
            shell::line(format!("  npm: {line}"));
        }
        return Err(Unusable::with_fix(
            format!("`npm ci` failed ({})", output.status),
            "check that the npm registry is reachable and package-lock.json is committed",
        )
        .into());
    }
    let left = pinned_drift(project)?;
    if let Some(first) = left.first() {
        return Err(Unusable::new(format!("`npm ci` finished but {first}")).into());
    }
    Ok(())
}

/// Everything needed to run forge, anvil and cast the project's way.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub project: Project,
    pub forge: Located,
    pub anvil: Located,
    pub cast: Located,
    pub compiler: Compiler,
}

impl Toolchain {
    /// Install what is missing, then resolve every tool and the compiler.
    pub fn ensure(project: &Project) -> anyhow::Result<Self> {
        let env = ProcessEnv;
        let needs_npm = Tool::ALL
            .iter()
            .any(|t| non_empty(env.var(t.env_var())).is_none());
        // The pinned install also carries forge-std and solc-js, so it is needed even when
        // FORGE/ANVIL/CAST are all given, unless npm itself is absent and the user brought
        // everything (binaries and a native compiler) themselves.
        match ensure_pinned(project, &env) {
            Ok(()) => {}
            Err(err) if !needs_npm && find_on_path("npm", &env).is_none() => {
                shell::warn(format!("pinned toolchain not installed: {err}"));
            }
            Err(err) => return Err(err),
        }
        Self::resolve(project, &env)
    }

    /// Resolve without installing anything.
    pub fn resolve(project: &Project, env: &dyn Environment) -> anyhow::Result<Self> {
        let find = |tool: Tool| -> anyhow::Result<Located> {
            resolve(tool, project, env)?.ok_or_else(|| {
                Unusable::with_fix(
                    format!(
                        "{tool} not found (not in ${}, the pinned npm install or PATH)",
                        tool.env_var()
                    ),
                    "run `npm ci` in the repository root (needs Node.js 20+ with npm)",
                )
                .into()
            })
        };
        Ok(Self {
            project: project.clone(),
            forge: find(Tool::Forge)?,
            anvil: find(Tool::Anvil)?,
            cast: find(Tool::Cast)?,
            compiler: resolve_compiler(project, env)?,
        })
    }

    pub fn located(&self, tool: Tool) -> &Located {
        match tool {
            Tool::Forge => &self.forge,
            Tool::Anvil => &self.anvil,
            Tool::Cast => &self.cast,
        }
    }

    /// A command for `tool`, run from the repository root with the project's compiler.
    pub fn command(&self, tool: Tool) -> Command {
        let mut cmd = Command::new(&self.located(tool).path);
        cmd.current_dir(self.project.root());
        cmd.env("FOUNDRY_SOLC", self.compiler.binary());
        if let Compiler::SolcJs { node, .. } = &self.compiler {
            cmd.env("NODE", node);
        }
        if shell::is_ci() {
            cmd.env("NO_COLOR", "1");
        }
        cmd
    }

    /// `<tool> --version`, first line.
    pub fn version(&self, tool: Tool) -> anyhow::Result<String> {
        version_line(&self.located(tool).path, &["--version"])
    }
}

/// First line of `<binary> <args>`'s stdout.
pub fn version_line(binary: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{} {} exited with {}",
        binary.display(),
        args.join(" "),
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout.lines().next().unwrap_or_default().trim().to_owned())
}

/// A child's exit code; a child killed by a signal maps to 128 + signal, as shells do.
pub fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::pinned_version;

    #[test]
    fn an_npm_alias_pins_the_aliased_version() {
        assert_eq!(pinned_version("0.8.37"), "0.8.37");
        assert_eq!(pinned_version("npm:solc@0.6.6"), "0.6.6");
        assert_eq!(pinned_version("npm:@scope/pkg@1.2.3"), "1.2.3");
    }
}
