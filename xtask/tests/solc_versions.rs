//! The solc-js shim serves every pinned compiler: `SOLC_JS_VERSION` picks the npm alias
//! `node_modules/solc-<version>` (0.5.16 and 0.6.6 for the registry sources), whose command line
//! knows neither `--base-path` nor `--include-path`; the shim drops them, as it drops
//! `--allow-paths` for every version. A version that is not pinned is a clear error.

use std::io::Write as _;
use std::process::{Command, Stdio};

use xtask::project::Project;
use xtask::toolchain::{self, ProcessEnv};

fn project() -> Project {
    let project = Project::locate();
    toolchain::ensure_pinned(&project, &ProcessEnv).expect("the pinned toolchain installs");
    project
}

fn shim(version: &str) -> Command {
    let mut cmd = Command::new(project().solc_shim());
    cmd.env("SOLC_JS_VERSION", version).env_remove("SOLC_JS");
    cmd
}

#[test]
fn each_pinned_version_reports_itself_in_the_native_form() {
    for version in ["0.5.16", "0.6.6"] {
        let output = shim(version).arg("--version").output().unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        let parsed = toolchain::parse_solc_version(&text);
        let want: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parsed, Some((want[0], want[1], want[2])), "{text}");
    }
}

#[test]
fn an_old_compiler_gets_standard_json_with_forges_path_flags() {
    let project = project();
    let input = serde_json::json!({
        "language": "Solidity",
        "sources": {"A.sol": {"content": "pragma solidity =0.6.6;\ncontract A { function f() external pure returns (uint) { return 7; } }\n"}},
        "settings": {"outputSelection": {"*": {"*": ["evm.bytecode.object"]}}}
    });
    let root = project.root().to_str().unwrap().to_owned();
    let mut child = shim("0.6.6")
        .args([
            "--standard-json",
            "--allow-paths",
            &root,
            "--base-path",
            &root,
            "--include-path",
            "node_modules",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON");
    let code = parsed["contracts"]["A.sol"]["A"]["evm"]["bytecode"]["object"]
        .as_str()
        .unwrap_or_default();
    assert!(code.len() > 50, "{parsed}");
}

#[test]
fn a_version_that_is_not_pinned_is_a_clear_error() {
    for (version, says) in [
        ("0.4.26", "node_modules/solc-0.4.26/solcjs not found"),
        ("latest", "is not a version"),
    ] {
        let output = shim(version).arg("--version").output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{version}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(says), "{version}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}
