//! `cargo xtask chaos` end to end with the real binary: the local chain, forge, anvil, the
//! proxy. Bad input exits 2 with a one-line cause and leaves nothing running; secrets never
//! show; a run writes a report that matches the schema; SIGINT stops every child.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn xtask() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.env("NO_COLOR", "1")
        .env_remove("BSC_RPC_URL")
        .env_remove("BSC_FORK_BLOCK")
        .env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

/// Compile the contracts once per test binary before any test runs the chaos command: the
/// tests run in parallel, and two first builds must not write out/ at the same time.
fn contracts_built() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let project = xtask::project::Project::locate();
        let toolchain = xtask::toolchain::Toolchain::ensure(&project).unwrap();
        let output = toolchain
            .command(xtask::toolchain::Tool::Forge)
            .arg("build")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    contracts_built();
    let mut cmd = xtask();
    cmd.arg("chaos").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// A JSON file written by a run, relative to the project root.
fn read_json(path: &str) -> serde_json::Value {
    let root = xtask::project::Project::locate().root().to_path_buf();
    serde_json::from_str(&std::fs::read_to_string(root.join(path)).unwrap()).unwrap()
}

/// Children of `pid` (direct), from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
            == Some(pid)
        {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn list_names_both_engines() {
    let (code, text) = run(&["--list"], &[]);
    assert_eq!(code, Some(0), "{text}");
    for id in [
        "oracle_divergence",
        "repeated_cycle_stress",
        "keeper_gas_spike",
        "keeper_stuck_tx",
    ] {
        assert!(text.contains(id), "{id} missing:\n{text}");
    }
}

#[test]
fn an_unknown_scenario_exits_2_with_the_fix() {
    let (code, text) = run(&["--scenario", "no_such_scenario"], &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("unknown scenario `no_such_scenario`") && text.contains("--list"),
        "{text}"
    );
}

#[test]
fn a_fork_block_beyond_the_head_and_a_reversed_window_exit_2() {
    let (code, text) = run(
        &[
            "--days",
            "1",
            "--fork-block",
            "99999999",
            "--report-dir",
            "reports/test-beyond-head",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("block 99999999 is beyond the head"), "{text}");
    let (code, text) = run(
        &[
            "--days",
            "1",
            "--window",
            "500..100",
            "--step",
            "10",
            "--report-dir",
            "reports/test-reversed",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("the window is reversed"), "{text}");
    let (code, text) = run(&["--window", "100..500"], &[]);
    assert_eq!(
        code,
        Some(2),
        "--window without --step is a usage error: {text}"
    );
}

#[test]
fn bad_rpc_urls_exit_2_and_never_show_the_secret() {
    for url in [
        "http://127.0.0.1:1/?key=SECRET",
        "http://127.0.0.1:1/SECRET",
        "not a url SECRET",
    ] {
        let (code, text) = run(&["--scenario", "gas_spike"], &[("BSC_RPC_URL", url)]);
        assert_eq!(code, Some(2), "{url}: {text}");
        assert!(!text.contains("SECRET"), "secret leaked for {url}:\n{text}");
        assert!(text.contains("BSC_RPC_URL"), "{text}");
    }
}

#[test]
fn an_rpc_with_the_wrong_chain_id_exits_2() {
    let project = xtask::project::Project::locate();
    let toolchain = xtask::toolchain::Toolchain::ensure(&project).unwrap();
    let anvil = xtask::anvil::Anvil::builder()
        .chain_id(97)
        .spawn(&toolchain)
        .unwrap();
    let url = format!("{}?key=SECRET", anvil.url());
    let (code, text) = run(&["--scenario", "gas_spike"], &[("BSC_RPC_URL", &url)]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("serves chain id 97, not BSC (56)"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

#[test]
fn a_short_run_holds_and_writes_a_report_that_matches_the_schema() {
    let dir = "reports/test-short-run";
    let (code, text) = run(
        &[
            "--days",
            "1",
            "--fork-block",
            "700",
            "--scenario",
            "gas_spike",
            "--scenario",
            "keeper_stuck_tx",
            "--report-dir",
            dir,
            "--json",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    let root = xtask::project::Project::locate().root().to_path_buf();
    let report: serde_json::Value = read_json(&format!("{dir}/report.json"));
    let schema: serde_json::Value = read_json("schemas/report.schema.json");
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        validator.is_valid(&report),
        "report.json does not match the schema"
    );
    assert_eq!(report["blocks"][0]["number"], 700);
    let experiments = report["blocks"][0]["experiments"].as_array().unwrap();
    let engines: Vec<&str> = experiments
        .iter()
        .map(|e| e["engine"].as_str().unwrap())
        .collect();
    assert_eq!(engines, ["in-evm", "live-fork"]);
    assert!(experiments
        .iter()
        .all(|e| e["verdict"] == "held" && !e["checks"].as_array().unwrap().is_empty()));
    for file in [
        "junit.xml",
        "summary.md",
        "rpc.json",
        "chain/address-book.json",
        "anvil-fork-700.log",
    ] {
        assert!(root.join(dir).join(file).is_file(), "{file} missing");
    }
    // Shards split the pairs; merged, they are the whole run again.
    let (c1, t1) = run(
        &[
            "--days",
            "1",
            "--fork-block",
            "700",
            "--scenario",
            "gas_spike",
            "--scenario",
            "stale_bnb_feed",
            "--shard",
            "1/2",
            "--report-dir",
            "reports/test-shard1",
        ],
        &[],
    );
    let (c2, t2) = run(
        &[
            "--days",
            "1",
            "--fork-block",
            "700",
            "--scenario",
            "gas_spike",
            "--scenario",
            "stale_bnb_feed",
            "--shard",
            "2/2",
            "--report-dir",
            "reports/test-shard2",
        ],
        &[],
    );
    assert_eq!((c1, c2), (Some(0), Some(0)), "{t1}\n{t2}");
    let mut merge = xtask();
    merge
        .args([
            "chaos",
            "merge",
            "reports/test-shard1",
            "reports/test-shard2",
            "--out",
            "reports/test-merged",
        ])
        .current_dir(&root);
    let merged = merge.output().unwrap();
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let merged: serde_json::Value = read_json("reports/test-merged/report.json");
    let ids: Vec<&str> = merged["blocks"][0]["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.contains(&"gas_spike") && ids.contains(&"stale_bnb_feed"),
        "{ids:?}"
    );
}

#[test]
fn sigint_during_a_run_leaves_no_child_running() {
    contracts_built();
    // anvil's on-disk state goes to a scratch home under TMPDIR: it must be gone afterwards.
    let scratch = tempfile::tempdir().unwrap();
    let mut child = xtask()
        .env("TMPDIR", scratch.path())
        .args([
            "chaos",
            "--days",
            "1",
            "--report-dir",
            "reports/test-sigint",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Wait until forks are running: the local upstream anvil and the forge or anvil of a fork.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "the run never reached its forks");
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(line);
        }
        if seen.iter().any(|l| l.contains("Forking block")) && children_of(pid).len() >= 2 {
            break;
        }
    }
    let kids = children_of(pid);
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130));
    std::thread::sleep(Duration::from_millis(300));
    let left: Vec<u32> = kids.into_iter().filter(|p| alive(*p)).collect();
    let described: Vec<String> = left
        .iter()
        .map(|p| {
            format!(
                "{p}: {}",
                std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " ")
            )
        })
        .collect();
    assert!(
        left.is_empty(),
        "children still running after SIGINT: {described:?}"
    );
    let homes: Vec<_> = std::fs::read_dir(scratch.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        homes.is_empty(),
        "anvil scratch homes left behind: {homes:?}"
    );
}

#[test]
fn a_broken_vault_exits_1_and_the_report_names_the_disproved_check() {
    let dir = "reports/test-broken-guard";
    let (code, text) = run(
        &[
            "--days",
            "1",
            "--fork-block",
            "700",
            "--engine",
            "in-evm",
            "--scenario",
            "oracle_divergence",
            "--scenario-script",
            "test/chaos/broken/BrokenForkChaosScenarios.sol:BrokenForkChaosScenarios",
            "--report-dir",
            dir,
        ],
        // Defect 0: the divergence guard is disabled.
        &[("CHAOS_BROKEN_DEFECT", "0")],
    );
    assert_eq!(code, Some(1), "{text}");
    let root = xtask::project::Project::locate().root().to_path_buf();
    let report: serde_json::Value = read_json(&format!("{dir}/report.json"));
    assert_eq!(report["verdict"], "disproved");
    let experiment = &report["blocks"][0]["experiments"][0];
    assert_eq!(experiment["id"], "oracle_divergence");
    assert_eq!(experiment["verdict"], "disproved");
    let failed: Vec<&str> = experiment["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        failed.iter().any(|n| n.starts_with("S4")),
        "no S4 check failed: {failed:?}"
    );
    let summary = std::fs::read_to_string(root.join(dir).join("summary.md")).unwrap();
    assert!(
        summary.contains("`oracle_divergence`") && summary.contains(failed[0]),
        "{summary}"
    );
}

#[test]
fn the_live_fork_keeper_works_on_a_vault_deployed_on_the_fork() {
    // How real BSC runs: the book names no vault, so each fork gets a fresh, funded one.
    let dir = "reports/test-fresh-vault";
    let (code, text) = run(
        &[
            "--days",
            "1",
            "--fork-block",
            "700",
            "--engine",
            "live-fork",
            "--scenario",
            "keeper_gas_spike",
            "--fresh-vault",
            "--report-dir",
            dir,
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    let report: serde_json::Value = read_json(&format!("{dir}/report.json"));
    let experiment = &report["blocks"][0]["experiments"][0];
    assert_eq!(experiment["verdict"], "held");
    assert_eq!(experiment["cycles"], 3);
}
