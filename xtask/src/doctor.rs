//! `cargo xtask doctor`: what the project will use, where it comes from, what is missing.
//! It changes nothing on the machine; it never prints the value of `BSC_RPC_URL`.

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Ok,
    /// Works, but not the way the project pins it.
    Warn,
    /// Cannot be used.
    Broken,
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
    let findings = examine(project, &ProcessEnv);
    let broken = findings.iter().any(|f| f.health == Health::Broken);
    if args.json {
        let rows: Vec<_> = findings
            .iter()
            .map(|f| {
                json!({
                    "name": f.name,
                    "value": f.value,
                    "path": f.path.as_ref().map(|p| p.display().to_string()),
                    "health": match f.health { Health::Ok => "ok", Health::Warn => "warn", Health::Broken => "broken" },
                    "fix": f.fix,
                })
            })
            .collect();
        let out = json!({ "usable": !broken, "findings": rows });
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
    if broken == 0 {
        shell::status("Ready", "every tool the project needs is usable");
    } else {
        shell::error(format!(
            "{broken} required item(s) unusable; see the fixes above"
        ));
    }
}

fn examine(project: &Project, env: &dyn Environment) -> Vec<Finding> {
    let mut out = vec![Finding::ok(
        "project",
        project.root().display().to_string(),
        None,
    )];

    out.push(match toolchain::pinned_drift(project) {
        Ok(drift) if drift.is_empty() => Finding::ok(
            "pinned install",
            "matches package.json",
            Some(project.node_modules()),
        ),
        Ok(drift) => Finding::problem(
            "pinned install",
            Health::Warn,
            drift
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            "run any `cargo xtask` command (it runs `npm ci`), or `npm ci` yourself",
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
            Ok(None) => Finding::problem(
                tool.name(),
                Health::Broken,
                "not found",
                "run `npm ci` (Node.js 20+ with npm)",
            ),
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
            match (version, solc_js_ready) {
                (Some(v), true) => {
                    Finding::ok("solc", format!("{v} via {}", compiler.describe()), None)
                }
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

    for (name, fix) in [
        ("node", "install Node.js 20 or later"),
        ("npm", "install npm (ships with Node.js)"),
    ] {
        out.push(match find_on_path(name, env) {
            Some(path) => match toolchain::version_line(&path, &["--version"]) {
                Ok(version) => Finding::ok(name, version, Some(path)),
                Err(err) => Finding::problem(name, Health::Broken, format!("{err:#}"), fix),
            },
            None => Finding::problem(name, Health::Broken, "not on PATH", fix),
        });
    }

    let forge_std = project.forge_std();
    out.push(
        match std::fs::read_to_string(forge_std.join("package.json"))
            .ok()
            .and_then(|t| {
                let v: serde_json::Value = serde_json::from_str(&t).ok()?;
                v.get("version")?.as_str().map(str::to_owned)
            }) {
            Some(version) => Finding::ok("forge-std", version, Some(forge_std)),
            None => Finding::problem("forge-std", Health::Broken, "not installed", "run `npm ci`"),
        },
    );

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
