//! `cargo xtask chaos` end to end with the real binary: the local chain, forge, anvil, the
//! proxy. Bad input exits 2 with a one-line cause before any expensive work; secrets never show
//! and never reach forge or anvil; a run writes a report that matches the schema and nothing
//! outside its report directory; shards merged give the unsharded report; a scenario that
//! reverts is reported with its reason and call. Interrupts are in `interrupt.rs`.

use crate::support;
use support::xtask;

use std::process::Stdio;
use std::time::{Duration, Instant};

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    support::contracts_built();
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

/// `reports/<name>`, removed first: a run refuses a report directory that exists.
fn fresh(name: &str) -> String {
    let root = xtask::project::Project::locate().root().to_path_buf();
    let dir = format!("reports/{name}");
    let _ = std::fs::remove_dir_all(root.join(&dir));
    dir
}

/// `summary.md` and `junit.xml` of the run in `dir` against the committed text in
/// `tests/snapshots/report/<name>.summary.md` and `<name>.junit.xml` (`UPDATE_EXPECT=1` rewrites
/// them after a deliberate change). What differs from run to run is replaced first: the run id,
/// the durations (`time=` and `timestamp=` in junit.xml) and the report's own path. Verdicts,
/// counts, check names, observed values and bounds, block numbers and times stay, so a changed
/// verdict or value fails here.
fn assert_report_snapshots(dir: &std::path::Path, name: &str) {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let root = xtask::project::Project::locate()
        .root()
        .display()
        .to_string();
    let normalise = |text: String| -> String {
        let mut text = text
            .replace(&run_id, "<run-id>")
            .replace(&dir.display().to_string(), "<report-dir>")
            .replace(&root, "<root>");
        for attribute in [" time=\"", " timestamp=\""] {
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(at) = rest.find(attribute) {
                let value = &rest[at + attribute.len()..];
                let end = value.find('"').expect("a closed attribute");
                out.push_str(&rest[..at + attribute.len()]);
                out.push_str("<time>");
                rest = &value[end..];
            }
            out.push_str(rest);
            text = out;
        }
        text
    };
    for file in ["summary.md", "junit.xml"] {
        let text = normalise(std::fs::read_to_string(dir.join(file)).unwrap());
        expect_test::expect_file![format!("snapshots/report/{name}.{file}")].assert_eq(&text);
    }
}

/// Every file under `dir`, recursively.
fn files_in(dir: &std::path::Path) -> std::collections::BTreeSet<std::path::PathBuf> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path());
            }
        }
    }
    out
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
    // The whole listing, against `tests/snapshots/chaos-list.txt` (`UPDATE_EXPECT=1` rewrites
    // it): an experiment added, dropped or renamed shows up here.
    expect_test::expect_file!["snapshots/chaos-list.txt"].assert_eq(&text);
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

/// Input that cannot work is refused at once, before the chain is built (no "Deploying").
#[test]
fn bad_input_exits_2_before_any_chain_is_built() {
    let root = xtask::project::Project::locate().root().to_path_buf();
    let existing = fresh("test-existing");
    std::fs::create_dir_all(root.join(&existing)).unwrap();
    std::fs::write(root.join(&existing).join("notes.txt"), "mine").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--days", "1", "--fork-block", "99999999"],
            "block 99999999 is beyond the local chain's head",
        ),
        (
            vec!["--days", "1", "--window", "0..1034", "--step", "1s"],
            "the window pins at least 1035 blocks (at most 500)",
        ),
        (
            vec!["--days", "1", "--window", "500..100", "--step", "10"],
            "the window is reversed",
        ),
        (
            vec!["--days", "1", "--at", "2025-01-01T00:00:00Z"],
            "before the local chain's first block",
        ),
        (
            vec!["--engine", "in-evm", "--fresh-vault"],
            "--fresh-vault applies to live-fork experiments",
        ),
        (
            vec!["--scenario", "gas_spike", "--scenario", "gas_spike"],
            "--scenario gas_spike is given twice",
        ),
        (
            vec!["--engine", "live-fork", "--scenario", "gas_spike"],
            "`gas_spike` is an in-EVM experiment",
        ),
        (vec!["--force"], "--force replaces an existing --report-dir"),
        (vec!["--report-dir", existing.as_str()], "already exists"),
        (
            vec!["--report-dir", existing.as_str(), "--force"],
            "is not a report directory",
        ),
    ];
    for (args, want) in cases {
        let started = Instant::now();
        let (code, text) = run(&args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains(want), "{args:?}: want `{want}` in:\n{text}");
        assert!(
            !text.contains("Deploying"),
            "{args:?} built a chain first:\n{text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        std::fs::read_to_string(root.join(&existing).join("notes.txt")).unwrap(),
        "mine",
        "--force removed a directory that is not a report directory"
    );
    let _ = std::fs::remove_dir_all(root.join(&existing));
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
    let anvil = xtask::foundry::anvil::Anvil::builder()
        .chain_id(97)
        .spawn(&toolchain)
        .unwrap();
    let url = format!("{}?key=SECRET", anvil.url());
    let (code, text) = run(&["--scenario", "gas_spike"], &[("BSC_RPC_URL", &url)]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("serves chain id 97, not BSC (56)"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

/// The report without what may differ between two runs of the same experiments: ids, times,
/// the local chain's ephemeral URL, the shard.
fn comparable(mut report: serde_json::Value) -> serde_json::Value {
    let object = report.as_object_mut().unwrap();
    for key in ["run_id", "started_at", "duration_ms", "shard"] {
        object.remove(key);
    }
    object["chain"].as_object_mut().unwrap().remove("endpoint");
    // Whether the chain was built or loaded from the chain cache: the chain is the same.
    object["chain"].as_object_mut().unwrap().remove("cache");
    for block in object["blocks"].as_array_mut().unwrap() {
        for e in block["experiments"].as_array_mut().unwrap() {
            e.as_object_mut().unwrap().remove("duration_ms");
        }
    }
    report
}

/// Isolation at the level users see: the catalogue at one block, whole and in three shards
/// (each shard's in-EVM scenarios share a batch with other neighbours), merged, is the same
/// report apart from times. The unsharded report also matches the schema.
#[test]
fn three_shards_merged_are_the_unsharded_run() {
    let root = xtask::project::Project::locate().root().to_path_buf();
    let whole = fresh("test-shards-whole");
    let (code, text) = run(
        &[
            "--days",
            "1",
            "--fork-block",
            "336",
            "--report-dir",
            &whole,
            "--json",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    let report = read_json(&format!("{whole}/report.json"));
    let schema = read_json("schemas/report.schema.json");
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        validator.is_valid(&report),
        "report.json does not match the schema"
    );
    let experiments = report["blocks"][0]["experiments"].as_array().unwrap();
    assert!(experiments.len() >= 18, "{}", experiments.len());
    assert!(experiments.iter().any(|e| e["engine"] == "live-fork"));
    assert!(experiments
        .iter()
        .all(|e| e["verdict"] == "held" && !e["checks"].as_array().unwrap().is_empty()));
    for file in [
        "junit.xml",
        "summary.md",
        "rpc.json",
        "chain/address-book.json",
        "anvil-fork-336.log",
    ] {
        assert!(root.join(&whole).join(file).is_file(), "{file} missing");
    }

    let shards: Vec<String> = (1..=3)
        .map(|i| fresh(&format!("test-shards-{i}")))
        .collect();
    for (i, dir) in shards.iter().enumerate() {
        let shard = format!("{}/3", i + 1);
        let (code, text) = run(
            &[
                "--days",
                "1",
                "--fork-block",
                "336",
                "--shard",
                &shard,
                "--report-dir",
                dir,
            ],
            &[],
        );
        assert_eq!(code, Some(0), "shard {shard}: {text}");
    }
    let merge = |dirs: &[&str], out: &str| -> (Option<i32>, String) {
        let output = xtask()
            .args(["chaos", "merge"])
            .args(dirs)
            .args(["--out", out])
            .current_dir(&root)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let merged = fresh("test-shards-merged");
    let (code, text) = merge(&[&shards[2], &shards[0], &shards[1]], &merged);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        comparable(read_json(&format!("{merged}/report.json"))),
        comparable(report.clone()),
        "the merged shards differ from the unsharded run"
    );

    // What merge refuses, each with exit 2 and its cause.
    let copy = fresh("test-shards-copy");
    std::fs::create_dir_all(root.join(&copy)).unwrap();
    let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut r = read_json(&format!("{}/report.json", shards[0]));
        edit(&mut r);
        std::fs::write(root.join(&copy).join("report.json"), r.to_string()).unwrap();
    };
    let refused = |dirs: &[&str], want: &str| {
        let out = fresh("test-shards-refused");
        let (code, text) = merge(dirs, &out);
        assert_eq!(code, Some(2), "{dirs:?}: {text}");
        assert!(text.contains(want), "{dirs:?}: want `{want}` in {text}");
        assert!(!root.join(&out).exists(), "{dirs:?} wrote a merged report");
    };
    refused(
        &[&shards[0], &shards[1], &shards[0]],
        "are the same directory",
    );
    refused(&[&shards[0], &shards[1]], "shard 3/3 is missing");
    refused(
        &[&whole, &shards[0]],
        "some reports are shards and some are whole runs",
    );
    edited(&|_| {});
    refused(
        &[&shards[0], &shards[1], &shards[2], &copy],
        "shard 1/3 is given twice",
    );
    edited(&|r| r["shard"] = serde_json::Value::Null);
    refused(&[&whole, &copy], "is in two of the reports");
    edited(&|r| r["seed"] = 7.into());
    refused(&[&copy, &shards[1], &shards[2]], "runs of different seeds");
    edited(&|r| r["chain"]["kind"] = "bsc".into());
    refused(&[&copy, &shards[1], &shards[2]], "runs of different chains");
    edited(&|r| r["blocks"][0]["hash"] = format!("0x{}", "11".repeat(32)).into());
    refused(
        &[&copy, &shards[1], &shards[2]],
        "disagree on the hash of block 336",
    );
    edited(&|r| {
        r["verdict"] = "interrupted".into();
        r["interrupted"] =
            serde_json::json!({"signal": "SIGINT", "phase": "in-evm", "planned": 6, "finished": 2});
    });
    refused(&[&copy, &shards[1], &shards[2]], "is an interrupted run");
    // A FIFO where report.json should be: refused at once, never read (it would block).
    std::fs::remove_file(root.join(&copy).join("report.json")).unwrap();
    let fifo =
        std::ffi::CString::new(root.join(&copy).join("report.json").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    refused(&[&copy, &shards[1], &shards[2]], "is not a regular file");
    // The output must be new (or --force over a finished report).
    let (code, text) = merge(&[&shards[0], &shards[1], &shards[2]], &merged);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("already exists"), "{text}");
    let output = xtask()
        .args([
            "chaos", "merge", &shards[0], &shards[1], &shards[2], "--force", "--out", &merged,
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    for dir in shards.iter().chain([&whole, &merged, &copy]) {
        let _ = std::fs::remove_dir_all(root.join(dir));
    }
}

/// A vault computation that panics in one scenario of the batch (gas_spike's 5,000 USDT vault):
/// that scenario alone is disproved, with the decoded panic, its wrapper and the call it came
/// from; the others hold. The same run shows what reaches forge and anvil (an environment
/// without upstream URLs or keys) and that a report directory outside the project leaves nothing
/// behind in it.
#[test]
fn a_reverting_scenario_is_disproved_alone_and_children_never_see_upstream_secrets() {
    support::contracts_built();
    let root = xtask::project::Project::locate().root().to_path_buf();
    let scratch = tempfile::tempdir().unwrap();
    let dumps = scratch.path().join("env");
    std::fs::create_dir_all(&dumps).unwrap();
    let project = xtask::project::Project::locate();
    let toolchain = xtask::toolchain::Toolchain::ensure(&project).unwrap();
    let mut wrappers = Vec::new();
    for (name, real) in [
        ("forge", &toolchain.forge.path),
        ("anvil", &toolchain.anvil.path),
    ] {
        let wrapper = scratch.path().join(name);
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nenv > \"{}/{name}-$$.env\"\nexec \"{}\" \"$@\"\n",
                dumps.display(),
                real.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        wrappers.push(wrapper);
    }
    let report_dir = scratch.path().join("report");
    let broadcast_before = files_in(&root.join("broadcast"));
    let child = xtask()
        .args([
            "chaos",
            "--days",
            "1",
            "--fork-block",
            "336",
            "--engine",
            "in-evm",
            "--scenario",
            "oracle_divergence",
            "--scenario",
            "gas_spike",
            "--scenario",
            "stale_bnb_feed",
            "--scenario-script",
            "test/chaos/ScenarioIsolation.t.sol:SmallVaultPanicScenarios",
            "--report-dir",
        ])
        .arg(&report_dir)
        .env("FORGE", &wrappers[0])
        .env("ANVIL", &wrappers[1])
        .env("ETH_RPC_URL", "https://eth.example/v2/SECRET-ETH")
        .env("ALCHEMY_API_KEY", "SECRET-KEY")
        .env("SOME_ENDPOINT", "wss://bsc.example/ws?apikey=SECRET-WS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    let experiments = report["blocks"][0]["experiments"].as_array().unwrap();
    let verdicts: Vec<(&str, &str)> = experiments
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("oracle_divergence", "held"),
            ("gas_spike", "disproved"),
            ("stale_bnb_feed", "held")
        ]
    );
    assert_eq!(experiments[1]["checks"][0]["name"], "scenario_completed");
    let revert = &report["reverts"][0];
    assert_eq!(revert["block"], 336);
    assert_eq!(revert["experiment"], "gas_spike");
    assert_eq!(revert["step"], "running the scenario");
    assert_eq!(
        revert["reason"],
        "SetupCycleFailed(Panic(0x11): arithmetic underflow or overflow)"
    );
    assert_eq!(
        revert["call"],
        "SmallVaultPanicModule.cycle() [delegatecall]"
    );
    let path: Vec<&str> = revert["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        path,
        [
            "MarketScenarios.run(string)",
            "YieldVault.cycle()",
            "SmallVaultPanicModule.cycle() [delegatecall]"
        ]
    );
    let summary = std::fs::read_to_string(report_dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("`gas_spike` (in-evm): reverted while running the scenario: SetupCycleFailed(Panic(0x11): arithmetic underflow or overflow) in SmallVaultPanicModule.cycle() [delegatecall]"),
        "{summary}"
    );
    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).unwrap();
    assert!(junit.contains(r#"type="scenario reverted""#), "{junit}");
    assert_report_snapshots(&report_dir, "reverting-scenario");
    assert!(
        text.contains("FAILED gas_spike [in-evm]: reverted while running the scenario"),
        "{text}"
    );

    // Every forge and anvil the run started, and what each saw.
    let seen: Vec<(String, String)> = std::fs::read_dir(&dumps)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    assert!(
        seen.iter().any(|(n, _)| n.starts_with("forge-")),
        "no forge ran"
    );
    assert!(
        seen.iter().any(|(n, _)| n.starts_with("anvil-")),
        "no anvil ran"
    );
    for (name, env) in &seen {
        assert!(!env.contains("SECRET"), "{name} saw a secret:\n{env}");
    }

    // Nothing outside the report directory: no broadcast log, no address-book copy.
    assert_eq!(files_in(&root.join("broadcast")), broadcast_before);
    let copies: Vec<_> = std::fs::read_dir(root.join("reports/.address-books"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("book-{pid}-"))
        })
        .collect();
    assert!(copies.is_empty(), "{copies:?}");
}

#[test]
fn a_broken_vault_exits_1_and_the_report_names_the_disproved_check() {
    let dir = fresh("test-broken-guard");
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
            &dir,
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
    let summary = std::fs::read_to_string(root.join(&dir).join("summary.md")).unwrap();
    assert!(
        summary.contains("`oracle_divergence`") && summary.contains(failed[0]),
        "{summary}"
    );
    assert_report_snapshots(&root.join(&dir), "broken-guard");
}

#[test]
fn the_live_fork_keeper_works_on_a_vault_deployed_on_the_fork() {
    // How real BSC runs: the book names no vault, so each fork gets a fresh, funded one.
    let root = xtask::project::Project::locate().root().to_path_buf();
    let broadcast_before = files_in(&root.join("broadcast"));
    let dir = fresh("test-fresh-vault");
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
            &dir,
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    let report: serde_json::Value = read_json(&format!("{dir}/report.json"));
    let experiment = &report["blocks"][0]["experiments"][0];
    assert_eq!(experiment["verdict"], "held");
    assert_eq!(experiment["cycles"], 3);
    // DeployVaultOnFork broadcast to the fork, and its logs went to scratch, not broadcast/.
    assert_eq!(files_in(&root.join("broadcast")), broadcast_before);
}
