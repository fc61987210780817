//! Record and replay end to end with the real binary: a run recorded on the local chain is
//! replayed after that chain is gone and gives the same verdicts, state digests, gas and
//! checks for every experiment; a replay that needs an answer the recording lacks exits 2
//! naming it; faults upstream of the resilient layer are absorbed, faults in front of the
//! tools are classified from the run's ledger.

use crate::support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn root() -> PathBuf {
    xtask::project::Project::locate().root().to_path_buf()
}

fn xtask() -> Command {
    let mut cmd = support::xtask();
    cmd.current_dir(root());
    cmd
}

fn chaos(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    // A report directory left by an earlier run of this test is not a finding of this one.
    if let Some(i) = args.iter().position(|a| *a == "--report-dir") {
        let _ = std::fs::remove_dir_all(root().join(args[i + 1]));
    }
    let mut cmd = xtask();
    cmd.arg("chaos").args(args);
    if args.contains(&"--report-dir") {
        // The report of an earlier run of these tests is replaced.
        cmd.arg("--force");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("the xtask runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

fn report(dir: &str) -> Value {
    let text = std::fs::read_to_string(root().join(dir).join("report.json")).expect("a report");
    serde_json::from_str(&text).expect("JSON")
}

const RECORDING: &str = "reports/test-recording";

/// One recording for every test here: every experiment at block 700 of a one-day chain. The
/// chain's anvil belongs to the recording xtask and is gone when it exits.
fn recorded() -> &'static Value {
    static RECORDED: OnceLock<Value> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let build = xtask().args(["forge", "--", "build"]).output().unwrap();
        assert!(
            build.status.success(),
            "{}",
            String::from_utf8_lossy(&build.stderr)
        );
        let _ = std::fs::remove_dir_all(root().join(RECORDING));
        let (code, text) = chaos(
            &[
                "--days",
                "1",
                "--fork-block",
                "700",
                "--record",
                RECORDING,
                "--report-dir",
                "reports/test-recorded",
            ],
            &[],
        );
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("Recorded"), "{text}");
        report("reports/test-recorded")
    })
}

fn experiments(report: &Value) -> Vec<Value> {
    report["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["experiments"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn a_replay_with_the_chain_stopped_gives_the_same_verdicts_and_digests() {
    let recorded = recorded();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(RECORDING).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["chain_id"], 56);
    assert_eq!(manifest["pinned"], serde_json::json!([700]));
    // A replay needs no upstream: an unusable BSC_RPC_URL is never touched.
    let (code, text) = chaos(
        &[
            "--days",
            "1",
            "--fork-block",
            "700",
            "--replay",
            RECORDING,
            "--report-dir",
            "reports/test-replayed",
        ],
        &[("BSC_RPC_URL", "http://127.0.0.1:1/?key=SECRET")],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        !text.contains("Deploying") && !text.contains("SECRET"),
        "{text}"
    );
    let replayed = report("reports/test-replayed");
    let (before, after) = (experiments(recorded), experiments(&replayed));
    // The catalogue at one pinned block: 18 in-EVM scenarios and 5 live-fork experiments.
    assert_eq!(before.len(), 23, "every experiment was recorded");
    assert_eq!(before.len(), after.len());
    for (a, b) in before.iter().zip(&after) {
        for key in [
            "id",
            "engine",
            "verdict",
            "digest_before",
            "digest_after",
            "gas",
            "cycles",
            "checks",
        ] {
            assert_eq!(a[key], b[key], "{} differs in {key}", a["id"]);
        }
        assert_eq!(a["verdict"], "held", "{}", a["id"]);
    }
    let rpc: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("reports/test-replayed/rpc.json")).unwrap(),
    )
    .unwrap();
    assert!(rpc["replay"]["served"].as_u64().unwrap() > 100, "{rpc}");
    assert_eq!(rpc["replay"]["missing"], serde_json::json!([]));
}

#[test]
fn a_replay_that_needs_an_answer_the_recording_lacks_exits_2_naming_it() {
    recorded();
    let (code, text) = chaos(
        &[
            "--fork-block",
            "701",
            "--replay",
            RECORDING,
            "--report-dir",
            "reports/test-replay-gap",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("holds no answer for eth_getBlockByNumber [\"0x2bd\""),
        "{text}"
    );
    // Another seed is another chain: refused before anything runs.
    let (code, text) = chaos(&["--seed", "7", "--replay", RECORDING], &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("made with --seed 42"), "{text}");
}

#[test]
fn faults_upstream_are_absorbed_and_faults_in_front_are_classified_by_the_ledger() {
    recorded();
    let subset = [
        "--scenario",
        "gas_spike",
        "--scenario",
        "stale_bnb_feed",
        "--scenario",
        "keeper_gas_spike",
        "--scenario",
        "keeper_dropped_tx",
    ];
    let mut args = vec![
        "--fork-block",
        "700",
        "--replay",
        RECORDING,
        "--rpc-faults",
        "flaky",
        "--rpc-faults",
        "truncating",
        "--rpc-faults-at",
        "upstream",
        "--report-dir",
        "reports/test-upstream-faults",
    ];
    args.extend(subset);
    let (code, text) = chaos(&args, &[]);
    assert_eq!(code, Some(0), "{text}");
    let degradation = &report("reports/test-upstream-faults")["rpc_degradation"];
    assert_eq!(degradation["matched"], 4, "{degradation}");
    assert!(
        degradation["faults_injected"].as_u64().unwrap() > 0,
        "{degradation}"
    );
    assert!(
        degradation["resilience"]["retries"].as_u64().unwrap() > 0,
        "{degradation}"
    );
    assert_eq!(degradation["resilience"]["give_ups"], 0, "{degradation}");

    // In front of forge: the first storage read of the in-EVM batch is reset. forge does
    // not retry it, so the batch fails, and the ledger says why; the live experiments match.
    let mut args = vec![
        "--fork-block",
        "700",
        "--replay",
        RECORDING,
        "--rpc-faults",
        "front:reset@method=eth_getStorageAt@first=1",
        "--report-dir",
        "reports/test-front-faults",
    ];
    args.extend(subset);
    let (code, text) = chaos(&args, &[]);
    assert_eq!(
        code,
        Some(0),
        "no silent divergence, nothing unclassified: {text}"
    );
    let degradation = &report("reports/test-front-faults")["rpc_degradation"];
    assert_eq!(degradation["silent_divergences"], 0, "{degradation}");
    assert_eq!(degradation["unclassified_failures"], 0, "{degradation}");
    assert_eq!(degradation["classified_failures"], 2, "{degradation}");
    assert_eq!(degradation["matched"], 2, "{degradation}");
    let comparison: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("reports/test-front-faults/degraded/comparison.json"))
            .unwrap(),
    )
    .unwrap();
    let classes: Vec<&str> = comparison["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["class"].as_str())
        .collect();
    assert_eq!(classes, ["reset", "reset"], "{comparison}");
}
