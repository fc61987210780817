//! The real binary: exit codes and messages for bad input and a machine without tools.

use crate::support;
use support::xtask;

use std::process::Command;

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

/// Every command and subcommand of the command line, as the words that select it (the top
/// level is the empty path).
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = vec![Vec::new()];
    walk(
        &<xtask::cli::Cli as clap::CommandFactory>::command(),
        &[],
        &mut out,
    );
    out
}

/// `--help` of every command and subcommand against the committed text in
/// `tests/snapshots/help/` (`UPDATE_EXPECT=1 cargo test -p xtask --test it -- cli::every_help`
/// rewrites them after a deliberate change): a flag renamed, dropped or described differently
/// shows up here.
#[test]
fn every_help_text_matches_its_snapshot() {
    let paths = command_paths();
    assert!(paths.len() >= 13, "{paths:?}");
    let mut names = std::collections::BTreeSet::new();
    for path in &paths {
        let output = xtask()
            .args(path)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{path:?}: {stdout}");
        let name = if path.is_empty() {
            "xtask".to_owned()
        } else {
            path.join("-")
        };
        expect_test::expect_file![format!("snapshots/help/{name}.txt")].assert_eq(&stdout);
        names.insert(format!("{name}.txt"));
    }
    // A snapshot of a command that no longer exists is not kept.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/help");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        assert!(names.contains(&file), "{file}: no such command any more");
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

/// A fresh clone: the project's package.json, lock file and solc-js shim, nothing installed,
/// and a PATH with node and npm (and, with `system`, the system's directories for npm's
/// install scripts), but no Foundry tool.
fn fresh_clone(system: bool) -> (tempfile::TempDir, std::path::PathBuf, Command) {
    let (dir, mut cmd) = bare_machine();
    let root = dir.path().join("repo");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    std::fs::copy(
        repo.join("tools/solc-js-shim"),
        root.join("tools/solc-js-shim"),
    )
    .unwrap();
    let bin = dir.path().join("node-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["node", "npm"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} is needed on PATH for this test"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    let path = if system {
        format!("{}:/usr/bin:/bin", bin.display())
    } else {
        bin.display().to_string()
    };
    cmd.env("PATH", path);
    (dir, root, cmd)
}

fn doctor_rows(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (mark, rest) = l.split_once(' ')?;
            ["ok", "warn", "FAIL", "todo"].contains(&mark).then(|| {
                (
                    mark.to_owned(),
                    rest.split_whitespace().next().unwrap_or("").to_owned(),
                )
            })
        })
        .collect()
}

#[test]
fn doctor_on_a_fresh_clone_says_what_the_first_command_installs_and_exits_0() {
    let (_dir, root, mut cmd) = fresh_clone(false);
    let output = cmd.arg("doctor").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let rows = doctor_rows(&stderr);
    let todo: Vec<&str> = rows
        .iter()
        .filter(|(m, _)| m == "todo")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        todo,
        ["pinned", "forge", "anvil", "cast", "solc", "forge-std"],
        "{stderr}"
    );
    assert!(!rows.iter().any(|(m, _)| m == "FAIL"), "{stderr}");
    // Each pending row names the pinned package and version that will provide it.
    for needle in [
        "todo forge           not installed yet: @foundry-rs/forge 1.7.1, installed by the first `cargo xtask` command (npm ci)",
        "solc 0.8.37 (solc-js)",
        "@layerzerolabs/toolbox-foundry 0.1.13, which carries it",
        "runs `npm ci`, which installs @chainlink/contracts 0.1.9, @foundry-rs/anvil 1.7.1, @foundry-rs/cast 1.7.1, @foundry-rs/forge 1.7.1",
        "`cargo xtask doctor --fix` installs it now",
    ] {
        assert!(stderr.contains(needle), "`{needle}` missing:\n{stderr}");
    }
    // Nothing was installed by looking.
    assert!(!root.join("node_modules").exists());

    let (_dir, _root, mut cmd) = fresh_clone(false);
    let json = cmd.args(["doctor", "--json"]).output().unwrap();
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["usable"], true);
    assert_eq!(
        v["pending_install"],
        serde_json::json!([
            "pinned install",
            "forge",
            "anvil",
            "cast",
            "solc",
            "forge-std"
        ])
    );
}

#[test]
fn doctor_without_node_and_npm_cannot_install_and_exits_2() {
    let (_dir, mut cmd) = bare_machine();
    let output = cmd.arg("doctor").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed: Vec<String> = doctor_rows(&stderr)
        .into_iter()
        .filter(|(m, _)| m == "FAIL")
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        failed,
        ["forge", "anvil", "cast", "solc", "node", "npm", "forge-std"],
        "nothing is pending when nothing can install it:\n{stderr}"
    );
    assert!(
        stderr.contains("fix: install Node.js 20 or later")
            && stderr.contains("7 required item(s) unusable"),
        "{stderr}"
    );
}

#[test]
fn doctor_fix_installs_the_pinned_toolchain_on_a_fresh_clone() {
    let (_dir, root, mut cmd) = fresh_clone(true);
    let output = cmd.args(["doctor", "--fix"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Installing the pinned toolchain with `npm ci`"),
        "{stderr}"
    );
    let rows = doctor_rows(&stderr);
    // Every row is ok after the install (the optional browser may only warn).
    assert!(
        rows.iter()
            .all(|(m, n)| m == "ok" || (m == "warn" && n == "chromium")),
        "{stderr}"
    );
    assert!(
        stderr.contains("forge Version: 1.7.1 [pinned (npm)]"),
        "{stderr}"
    );
    assert!(root
        .join("node_modules/@foundry-rs/forge/package.json")
        .is_file());
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
