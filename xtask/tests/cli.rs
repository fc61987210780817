//! The real binary: exit codes and messages for bad input and a machine without tools.

use std::process::Command;

fn xtask() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.env("NO_COLOR", "1");
    cmd
}

#[test]
fn unknown_command_exits_2_with_usage() {
    let output = xtask().arg("nonsense").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unrecognized subcommand 'nonsense'") && stderr.contains("Usage:"),
        "{stderr}"
    );
}

#[test]
fn unknown_flag_exits_2_with_usage() {
    for command in ["test", "doctor", "chaos"] {
        let output = xtask().args([command, "--no-such-flag"]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("Usage:"), "{command}: {stderr}");
    }
}

#[test]
fn help_exits_0() {
    let output = xtask().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for command in ["test", "doctor", "forge", "anvil", "cast"] {
        assert!(stdout.contains(command), "{stdout}");
    }
}

/// A scratch checkout with the project's package.json but nothing installed, and a PATH with
/// neither npm nor node nor any Foundry tool.
fn bare_machine() -> (tempfile::TempDir, Command) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("tools")).unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    std::fs::copy(repo.join("package.json"), root.join("package.json")).unwrap();
    std::fs::copy(
        repo.join("package-lock.json"),
        root.join("package-lock.json"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("empty-bin")).unwrap();
    let mut cmd = xtask();
    cmd.env("XTASK_ROOT", &root)
        .env("PATH", dir.path().join("empty-bin"))
        .env_remove("FORGE")
        .env_remove("ANVIL")
        .env_remove("CAST")
        .env_remove("FOUNDRY_SOLC")
        .env_remove("NODE");
    (dir, cmd)
}

#[test]
fn no_npm_and_no_pinned_tools_exits_2_with_the_fix() {
    let (_dir, mut cmd) = bare_machine();
    let output = cmd.args(["forge", "--", "--version"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let fix: Vec<&str> = stderr.lines().filter(|l| l.contains("fix:")).collect();
    assert_eq!(fix.len(), 1, "{stderr}");
    assert!(
        fix[0].contains("install Node.js 20 or later with npm"),
        "{stderr}"
    );
}

#[test]
fn doctor_on_a_bare_machine_exits_2() {
    let (_dir, mut cmd) = bare_machine();
    let output = cmd.arg("doctor").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FAIL forge") && stderr.contains("fix:"),
        "{stderr}"
    );
}

#[test]
fn doctor_never_prints_the_rpc_url() {
    let secret = "https://bsc.example.invalid/v1/0123456789abcdef-secret-key";
    let output = xtask()
        .arg("doctor")
        .arg("--json")
        .env("BSC_RPC_URL", secret)
        .output()
        .unwrap();
    let all = [output.stdout, output.stderr].concat();
    let text = String::from_utf8_lossy(&all);
    assert!(
        !text.contains("secret-key") && !text.contains("example.invalid"),
        "{text}"
    );
    assert!(text.contains("set (real BSC forks)"), "{text}");
}
