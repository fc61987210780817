//! The toolchain module against the real machine: resolution precedence with fake binaries,
//! and the solc-js shim through the real pinned solc-js and forge.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use xtask::project::Project;
use xtask::toolchain::{self, Compiler, ProcessEnv, Source, Tool};

/// A fake executable that prints `output` when run.
fn fake_binary(dir: &Path, name: &str, output: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\nprintf '%s\\n' '{output}'\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// A scratch project with an optional pinned forge and a PATH directory.
struct Scratch {
    _dir: tempfile::TempDir,
    project: Project,
    path_dir: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::at(dir.path().join("repo"));
        std::fs::create_dir_all(project.root()).unwrap();
        let path_dir = dir.path().join("bin");
        std::fs::create_dir_all(&path_dir).unwrap();
        Self {
            _dir: dir,
            project,
            path_dir,
        }
    }

    fn pin(&self, tool: Tool) -> PathBuf {
        let binary = tool
            .pinned_binary(&self.project)
            .expect("supported platform");
        fake_binary(binary.parent().unwrap(), tool.name(), "pinned")
    }

    fn env<'a>(
        &'a self,
        vars: &'a [(&'a str, OsString)],
    ) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name: &str| {
            if name == "PATH" {
                return Some(self.path_dir.clone().into_os_string());
            }
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }
}

#[test]
fn environment_variable_wins_over_pinned_and_path() {
    let s = Scratch::new();
    s.pin(Tool::Forge);
    fake_binary(&s.path_dir, "forge", "path");
    let explicit = fake_binary(&s.path_dir.join("custom"), "my-forge", "env");
    let vars = [("FORGE", explicit.clone().into_os_string())];
    let found = toolchain::resolve(Tool::Forge, &s.project, &s.env(&vars))
        .unwrap()
        .unwrap();
    assert_eq!(found.source, Source::Env("FORGE"));
    assert_eq!(found.path, explicit);
}

#[test]
fn pinned_install_wins_over_path() {
    let s = Scratch::new();
    let pinned = s.pin(Tool::Anvil);
    fake_binary(&s.path_dir, "anvil", "path");
    let found = toolchain::resolve(Tool::Anvil, &s.project, &s.env(&[]))
        .unwrap()
        .unwrap();
    assert_eq!(found.source, Source::Pinned);
    assert_eq!(found.path, pinned);
}

#[test]
fn path_is_the_last_resort() {
    let s = Scratch::new();
    let on_path = fake_binary(&s.path_dir, "cast", "path");
    let found = toolchain::resolve(Tool::Cast, &s.project, &s.env(&[]))
        .unwrap()
        .unwrap();
    assert_eq!(
        found,
        toolchain::Located {
            path: on_path,
            source: Source::Path
        }
    );
}

#[test]
fn nothing_anywhere_resolves_to_none() {
    let s = Scratch::new();
    assert_eq!(
        toolchain::resolve(Tool::Forge, &s.project, &s.env(&[])).unwrap(),
        None
    );
}

#[test]
fn a_bare_name_in_the_variable_is_looked_up_on_path() {
    let s = Scratch::new();
    let on_path = fake_binary(&s.path_dir, "forge-nightly", "path");
    s.pin(Tool::Forge);
    let vars = [("FORGE", OsString::from("forge-nightly"))];
    let found = toolchain::resolve(Tool::Forge, &s.project, &s.env(&vars))
        .unwrap()
        .unwrap();
    assert_eq!(
        found,
        toolchain::Located {
            path: on_path,
            source: Source::Env("FORGE")
        }
    );
}

#[test]
fn a_variable_naming_nothing_is_an_error_not_a_fallback() {
    let s = Scratch::new();
    s.pin(Tool::Forge);
    let vars = [("FORGE", OsString::from("/nonexistent/forge"))];
    let err = toolchain::resolve(Tool::Forge, &s.project, &s.env(&vars)).unwrap_err();
    assert!(err.cause.contains("FORGE=/nonexistent/forge"), "{err}");
    assert!(err.fix.is_some());
}

#[test]
fn compiler_precedence_explicit_then_native_then_shim() {
    let s = Scratch::new();
    let shim = s.project.solc_shim();
    fake_binary(shim.parent().unwrap(), "solc-js-shim", "shim");
    fake_binary(&s.path_dir, "node", "v20");

    // Only node: the shim.
    let compiler = toolchain::resolve_compiler(&s.project, &s.env(&[])).unwrap();
    assert!(matches!(compiler, Compiler::SolcJs { .. }), "{compiler:?}");

    // A native solc that is too old for the contracts is passed over.
    fake_binary(
        &s.path_dir,
        "solc",
        "Version: 0.8.19+commit.7dd6d404.Linux.g++",
    );
    let compiler = toolchain::resolve_compiler(&s.project, &s.env(&[])).unwrap();
    assert!(matches!(compiler, Compiler::SolcJs { .. }), "{compiler:?}");

    // A recent native solc wins over the shim.
    fake_binary(
        &s.path_dir,
        "solc",
        "Version: 0.8.30+commit.73712a01.Linux.g++",
    );
    let compiler = toolchain::resolve_compiler(&s.project, &s.env(&[])).unwrap();
    assert_eq!(
        compiler,
        Compiler::Native {
            path: s.path_dir.join("solc"),
            version: "0.8.30".into()
        }
    );

    // FOUNDRY_SOLC wins over everything.
    let explicit = fake_binary(
        &s.path_dir.join("elsewhere"),
        "solc-0.8.37",
        "Version: 0.8.37",
    );
    let vars = [("FOUNDRY_SOLC", explicit.clone().into_os_string())];
    let compiler = toolchain::resolve_compiler(&s.project, &s.env(&vars)).unwrap();
    assert_eq!(compiler, Compiler::Explicit(explicit));
}

#[test]
fn solc_version_lines_parse() {
    assert_eq!(
        toolchain::parse_solc_version(
            "solc, the solidity compiler\nVersion: 0.8.37+commit.f401782d.Emscripten.clang\n"
        ),
        Some((0, 8, 37))
    );
    assert_eq!(
        toolchain::parse_solc_version("0.8.37+commit.f401782d.Emscripten.clang"),
        None
    );
}

/// The repository, with the pinned toolchain installed (`npm ci` on first use).
fn installed_project() -> Project {
    let project = Project::locate();
    toolchain::ensure_pinned(&project, &ProcessEnv).expect("the pinned toolchain installs");
    project
}

/// Standard-JSON input with enough contracts that the output is far beyond 64 KiB.
fn large_standard_json() -> String {
    let mut sources = serde_json::Map::new();
    for i in 0..40 {
        let body = format!(
            "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n\
             contract Wide{i} {{\n  mapping(address => uint256) public balance;\n  event Moved(address indexed from, address indexed to, uint256 amount);\n\
               function move(address to, uint256 amount) external {{ balance[msg.sender] -= amount; balance[to] += amount; emit Moved(msg.sender, to, amount); }}\n\
               function scaled(uint256 x, uint256 y) external pure returns (uint256) {{ return x * {} / (y + 1); }}\n}}\n",
            i + 7
        );
        sources.insert(
            format!("Wide{i}.sol"),
            serde_json::json!({ "content": body }),
        );
    }
    serde_json::json!({
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": { "enabled": true, "runs": 200 },
            "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    })
    .to_string()
}

#[test]
fn shim_compiles_standard_json_with_output_beyond_64_kib() {
    let project = installed_project();
    let input = large_standard_json();
    let mut child = Command::new(project.solc_shim())
        // forge passes --allow-paths, which solc-js rejects: the shim must drop it.
        .args([
            "--standard-json",
            "--allow-paths",
            project.root().to_str().unwrap(),
            "--base-path",
            ".",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the shim starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "shim failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.len() > 64 * 1024,
        "output is only {} bytes",
        output.stdout.len()
    );
    // The whole output is one JSON document: not cut at 64 KiB, no SMT notice in front.
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("complete JSON");
    let errors = parsed["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors.iter().all(|e| e["severity"] != "error"),
        "{errors:?}"
    );
    for i in [0, 17, 39] {
        let bytecode = &parsed["contracts"][format!("Wide{i}.sol")][format!("Wide{i}")]["evm"]
            ["bytecode"]["object"];
        assert!(
            bytecode.as_str().is_some_and(|b| b.len() > 100),
            "Wide{i} has no bytecode"
        );
    }
}

#[test]
fn shim_version_has_the_two_line_native_form() {
    let project = installed_project();
    let output = Command::new(project.solc_shim())
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        toolchain::parse_solc_version(&text).is_some_and(|v| v >= toolchain::MIN_SOLC),
        "{text}"
    );
}

#[test]
fn forge_builds_through_the_shim() {
    let project = installed_project();
    let forge = Tool::Forge.pinned_binary(&project).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("foundry.toml"),
        "[profile.default]\nsrc = \"src\"\nout = \"out\"\nlibs = []\noffline = true\nauto_detect_solc = false\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/Counter.sol"),
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract Counter { uint256 public n; function bump() external { n += 1; } }\n",
    )
    .unwrap();
    let output = Command::new(forge)
        .arg("build")
        .current_dir(dir.path())
        .env("FOUNDRY_SOLC", project.solc_shim())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "forge build failed:\n{stdout}\n{stderr}"
    );
    // forge names the version it parsed from the shim's `--version`.
    assert!(stdout.contains("Solc 0.8.37"), "{stdout}");
    let artifact = dir.path().join("out/Counter.sol/Counter.json");
    let artifact: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifact).unwrap()).unwrap();
    assert!(artifact["bytecode"]["object"]
        .as_str()
        .is_some_and(|b| b.starts_with("0x6080")));
}
