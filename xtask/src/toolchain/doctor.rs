//! `cargo xtask doctor`: what the project will use, where it comes from, what is missing.
//! It changes nothing on the machine unless asked (`--fix` installs the pinned toolchain); it
//! never prints the value of `BSC_RPC_URL`.
//!
//! On a fresh clone nothing of the pinned toolchain is installed yet, and every `cargo xtask`
//! command installs it with `npm ci` before it runs. When that install is all that is missing
//! (node 20+ and npm are there), the items it provides are *pending*, not failures: the doctor
//! says what the first command will install, and exits 0.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::error::EXIT_UNUSABLE;
use crate::project::Project;
use crate::shell;
use crate::toolchain::{self, find_on_path, Compiler, Environment, ProcessEnv, Tool};

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Install the pinned toolchain now (`npm ci`) when it is missing or out of date, then check.
    #[arg(long)]
    pub fix: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Ok,
    /// Works, but not the way the project pins it.
    Warn,
    /// Cannot be used.
    Broken,
    /// Not installed yet; the pinned install (`npm ci`, run by any `cargo xtask` command)
    /// provides it.
    Pending,
}

#[derive(Debug)]
struct Finding {
    name: &'static str,
    value: String,
    path: Option<PathBuf>,
    health: Health,
    fix: Option<String>,
}

impl Finding {
    fn ok(name: &'static str, value: impl Into<String>, path: Option<PathBuf>) -> Self {
        Self {
            name,
            value: value.into(),
            path,
            health: Health::Ok,
            fix: None,
        }
    }

    fn problem(
        name: &'static str,
        health: Health,
        value: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name,
            value: value.into(),
            path: None,
            health,
            fix: Some(fix.into()),
        }
    }
}

pub fn run(args: DoctorArgs, project: &Project) -> anyhow::Result<ExitCode> {
    if args.fix {
        toolchain::ensure_pinned(project, &ProcessEnv)?;
    }
    let findings = examine(project, &ProcessEnv);
    let broken = findings.iter().any(|f| f.health == Health::Broken);
    let pending: Vec<&str> = findings
        .iter()
        .filter(|f| f.health == Health::Pending)
        .map(|f| f.name)
        .collect();
    if args.json {
        let rows: Vec<_> = findings
            .iter()
            .map(|f| {
                json!({
                    "name": f.name,
                    "value": f.value,
                    "path": f.path.as_ref().map(|p| p.display().to_string()),
                    "health": match f.health { Health::Ok => "ok", Health::Warn => "warn", Health::Broken => "broken", Health::Pending => "pending" },
                    "fix": f.fix,
                })
            })
            .collect();
        let out = json!({ "usable": !broken, "pending_install": pending, "findings": rows });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&findings);
    }
    Ok(if broken {
        ExitCode::from(EXIT_UNUSABLE)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_table(findings: &[Finding]) {
    let width = findings.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in findings {
        let mark = match f.health {
            Health::Ok => "ok  ",
            Health::Warn => "warn",
            Health::Broken => "FAIL",
            Health::Pending => "todo",
        };
        let path = f
            .path
            .as_ref()
            .map(|p| format!("  ({})", p.display()))
            .unwrap_or_default();
        shell::line(format!("{mark} {:width$}  {}{path}", f.name, f.value));
        if let Some(fix) = &f.fix {
            shell::line(format!("     {:width$}  fix: {fix}", ""));
        }
    }
    let broken = findings
        .iter()
        .filter(|f| f.health == Health::Broken)
        .count();
    let pending = findings
        .iter()
        .filter(|f| f.health == Health::Pending)
        .count();
    if broken == 0 && pending > 0 {
        shell::status(
            "Ready",
            "to install: the first `cargo xtask` command (any of them) installs the pinned toolchain \
             with `npm ci` and then every tool is usable; `cargo xtask doctor --fix` installs it now",
        );
    } else if broken == 0 {
        shell::status("Ready", "every tool the project needs is usable");
    } else {
        shell::error(format!(
            "{broken} required item(s) unusable; see the fixes above"
        ));
    }
}

/// The oldest Node.js the pinned install supports (`engines` in package.json).
const MIN_NODE_MAJOR: u64 = 20;

/// `v20.20.2` -> 20.
fn node_major(version: &str) -> Option<u64> {
    version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// node and npm, each usable or not; node must be 20 or later.
fn node_and_npm(env: &dyn Environment) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, fix) in [
        ("node", "install Node.js 20 or later"),
        ("npm", "install npm (ships with Node.js)"),
    ] {
        out.push(match find_on_path(name, env) {
            Some(path) => match toolchain::version_line(&path, &["--version"]) {
                Ok(version)
                    if name == "node"
                        && node_major(&version).is_none_or(|m| m < MIN_NODE_MAJOR) =>
                {
                    Finding {
                        name,
                        value: format!(
                            "{version} is older than the {MIN_NODE_MAJOR} the pinned install needs"
                        ),
                        path: Some(path),
                        health: Health::Broken,
                        fix: Some(fix.to_owned()),
                    }
                }
                Ok(version) => Finding::ok(name, version, Some(path)),
                Err(err) => Finding::problem(name, Health::Broken, format!("{err:#}"), fix),
            },
            None => Finding::problem(name, Health::Broken, "not on PATH", fix),
        });
    }
    out
}

/// `name version` of the pinned package that provides `item`, when it is part of the drift.
fn provided_by(drift: &[toolchain::Drift], package: &str) -> Option<String> {
    drift
        .iter()
        .find(|d| d.package == package || d.package.starts_with(&format!("{package}-")))
        .map(|d| {
            if d.pinned == "binary" {
                d.package.clone()
            } else {
                format!("{} {}", d.package, d.pinned)
            }
        })
}

/// A finding for something the pending install provides.
fn pending(name: &'static str, package: String) -> Finding {
    Finding {
        name,
        value: format!(
            "not installed yet: {package}, installed by the first `cargo xtask` command (npm ci)"
        ),
        path: None,
        health: Health::Pending,
        fix: None,
    }
}

fn examine(project: &Project, env: &dyn Environment) -> Vec<Finding> {
    let mut out = vec![Finding::ok(
        "project",
        project.root().display().to_string(),
        None,
    )];
    let node_npm = node_and_npm(env);
    let drift = toolchain::pinned_drift(project);
    // The pinned install can still be made here: npm and a recent node are usable.
    let installable = node_npm.iter().all(|f| f.health == Health::Ok);
    let missing: Vec<toolchain::Drift> = match &drift {
        Ok(d) if installable => d.clone(),
        _ => vec![],
    };

    out.push(match &drift {
        Ok(drift) if drift.is_empty() => Finding::ok(
            "pinned install",
            "matches package.json",
            Some(project.node_modules()),
        ),
        Ok(drift) if installable && drift.iter().all(|d| d.installed.is_none()) => Finding {
            name: "pinned install",
            value: format!(
                "not installed yet: the first `cargo xtask` command runs `npm ci`, which installs {}",
                drift
                    .iter()
                    .map(|d| format!("{} {}", d.package, d.pinned))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            path: Some(project.node_modules()),
            health: Health::Pending,
            fix: None,
        },
        Ok(drift) => Finding::problem(
            "pinned install",
            Health::Warn,
            drift
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            "run any `cargo xtask` command (it runs `npm ci`), `cargo xtask doctor --fix`, or `npm ci` yourself",
        ),
        Err(err) => Finding::problem(
            "pinned install",
            Health::Broken,
            format!("{err:#}"),
            "restore package.json",
        ),
    });

    for tool in Tool::ALL {
        out.push(match toolchain::resolve(tool, project, env) {
            Ok(Some(found)) => match toolchain::version_line(&found.path, &["--version"]) {
                Ok(version) => Finding {
                    name: tool.name(),
                    value: format!("{version} [{}]", found.source),
                    path: Some(found.path),
                    health: if found.source == toolchain::Source::Path {
                        Health::Warn
                    } else {
                        Health::Ok
                    },
                    fix: (found.source == toolchain::Source::Path).then(|| {
                        "not the pinned version; `npm ci` installs the pinned one".to_owned()
                    }),
                },
                Err(err) => Finding::problem(
                    tool.name(),
                    Health::Broken,
                    format!("{err:#}"),
                    "reinstall with `npm ci`",
                ),
            },
            Ok(None) => match provided_by(&missing, &format!("@foundry-rs/{}", tool.name())) {
                Some(package) => pending(tool.name(), package),
                None => Finding::problem(
                    tool.name(),
                    Health::Broken,
                    "not found",
                    "run `npm ci` (Node.js 20+ with npm)",
                ),
            },
            Err(err) => Finding::problem(
                tool.name(),
                Health::Broken,
                err.cause,
                err.fix.unwrap_or_default(),
            ),
        });
    }

    out.push(match toolchain::resolve_compiler(project, env) {
        Ok(compiler) => {
            let version = std::process::Command::new(compiler.binary())
                .arg("--version")
                .stdin(std::process::Stdio::null())
                .output()
                .ok()
                .and_then(|output| {
                    toolchain::parse_solc_version(&String::from_utf8_lossy(&output.stdout))
                })
                .map(|(a, b, c)| format!("{a}.{b}.{c}"));
            let solc_js_ready =
                !matches!(compiler, Compiler::SolcJs { .. }) || project.solc_js().is_file();
            let pending_solc_js = matches!(compiler, Compiler::SolcJs { .. })
                .then(|| provided_by(&missing, "solc"))
                .flatten();
            match (version, solc_js_ready, pending_solc_js) {
                (Some(v), true, _) => {
                    Finding::ok("solc", format!("{v} via {}", compiler.describe()), None)
                }
                (_, false, Some(package)) => pending("solc", format!("{package} (solc-js)")),
                _ => Finding::problem(
                    "solc",
                    Health::Broken,
                    format!("{} does not answer `--version`", compiler.describe()),
                    "run `npm ci` for the pinned solc-js, or set FOUNDRY_SOLC to a native solc",
                ),
            }
        }
        Err(err) => Finding::problem(
            "solc",
            Health::Broken,
            err.cause,
            err.fix.unwrap_or_default(),
        ),
    });

    out.extend(node_npm);

    let forge_std = project.forge_std();
    out.push(
        match std::fs::read_to_string(forge_std.join("package.json"))
            .ok()
            .and_then(|t| {
                let v: serde_json::Value = serde_json::from_str(&t).ok()?;
                v.get("version")?.as_str().map(str::to_owned)
            }) {
            Some(version) => Finding::ok("forge-std", version, Some(forge_std)),
            None => match provided_by(&missing, "@layerzerolabs/toolbox-foundry") {
                Some(package) => pending("forge-std", format!("{package}, which carries it")),
                None => {
                    Finding::problem("forge-std", Health::Broken, "not installed", "run `npm ci`")
                }
            },
        },
    );

    out.push(chromium(env));

    // Never the value: RPC URLs carry API keys.
    let rpc_set = env.var("BSC_RPC_URL").is_some_and(|v| !v.is_empty());
    out.push(Finding::ok(
        "BSC_RPC_URL",
        if rpc_set {
            "set (real BSC forks)"
        } else {
            "not set (the local BSC replica chain is used)"
        },
        None,
    ));
    if let Some(block) = env.var("BSC_FORK_BLOCK").filter(|v| !v.is_empty()) {
        out.push(Finding::ok(
            "BSC_FORK_BLOCK",
            block.to_string_lossy().into_owned(),
            None,
        ));
    }

    let home = env.var("HOME").map(PathBuf::from);
    let foundry_cache = home.map(|h| h.join(".foundry").join("cache").join("rpc"));
    if let Some(cache) = foundry_cache {
        out.push(Finding::ok(
            "fork cache",
            "forge/anvil RPC cache (real chains only)",
            Some(cache),
        ));
    }
    out.push(Finding::ok(
        "forge out",
        "compiled artifacts",
        Some(project.forge_out()),
    ));
    out.push(Finding::ok(
        "forge cache",
        "compiler cache",
        Some(project.forge_cache()),
    ));
    if let Some(npm) = find_on_path("npm", env) {
        if let Ok(cache) = toolchain::version_line(&npm, &["config", "get", "cache"]) {
            out.push(Finding::ok(
                "npm cache",
                "package downloads",
                Some(PathBuf::from(cache)),
            ));
        }
    }
    out
}

/// A Chromium or Chrome for the test suite's browser test of report.html (`$CHROMIUM`, else
/// the usual names on PATH). Optional: only `cargo xtask test` needs it.
fn chromium(env: &dyn Environment) -> Finding {
    let explicit = env
        .var("CHROMIUM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let found = explicit.or_else(|| {
        [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ]
        .iter()
        .find_map(|name| find_on_path(name, env))
    });
    match found {
        Some(path) => match toolchain::version_line(&path, &["--version"]) {
            Ok(version) => Finding::ok("chromium", format!("{version} (the browser test of report.html)"), Some(path)),
            Err(err) => Finding::problem(
                "chromium",
                Health::Warn,
                format!("{err:#}"),
                "only `cargo xtask test` needs it: reinstall it, or set CHROMIUM to a working Chromium or Chrome",
            ),
        },
        None => Finding::problem(
            "chromium",
            Health::Warn,
            "not found (only `cargo xtask test` needs it, for report.html's browser test)",
            "apt-get install chromium (Debian), or set CHROMIUM to a Chromium or Chrome",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_below_20_are_refused() {
        assert_eq!(node_major("v20.20.2"), Some(20));
        assert_eq!(node_major("v18.19.0\n"), Some(18));
        assert_eq!(node_major("nonsense"), None);
    }
}
