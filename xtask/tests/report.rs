//! report.json against the committed JSON Schema, junit.xml and summary.md from one report.

use alloy::primitives::I256;
use xtask::chaos::scenario::{Check, Relation};
use xtask::report::{Block, Chain, Engine, Experiment, ExperimentTotals, Report, Verdict};

/// `observed <= bound`; `passed` says which the test means, and is checked against the relation.
fn check(name: &str, observed: i64, bound: i64, passed: bool) -> Check {
    let c = Check::new(
        name,
        I256::try_from(observed).unwrap(),
        Relation::Le,
        I256::try_from(bound).unwrap(),
    );
    assert_eq!(c.passed(), passed, "{name}: the sample contradicts itself");
    c
}

fn experiment(id: &str, verdict: Verdict, checks: Vec<Check>) -> Experiment {
    Experiment {
        id: id.into(),
        engine: Engine::InEvm,
        fault: "a fault".into(),
        verdict,
        duration_ms: 12,
        checks,
        gas: 345_678,
        cycles: 2,
        digest_before: Some(format!("0x{}", "ab".repeat(32))),
        digest_after: Some(format!("0x{}", "cd".repeat(32))),
        error: (verdict == Verdict::Error)
            .then(|| "forge script failed: <fork url> refused".into()),
    }
}

fn sample() -> Report {
    let block = |number: u64, experiments| Block {
        number,
        hash: format!("0x{:064x}", number),
        timestamp: 1_700_000_000 + number,
        label: "storm".into(),
        experiments,
        resilience: 0.0,
    };
    Report {
        schema_version: xtask::report::SCHEMA_VERSION,
        run_id: "20261125T140000Z-seed42".into(),
        tool_version: "0.1.0".into(),
        started_at: 1_764_079_200,
        duration_ms: 5_000,
        seed: 42,
        chain: Chain {
            id: 56,
            kind: "local-replica".into(),
            endpoint: "http://127.0.0.1:8545/".into(),
            cache: None,
        },
        blocks: vec![
            block(
                100,
                vec![
                    experiment(
                        "gas_spike",
                        Verdict::Held,
                        vec![check("S2_bounty_wei", 5, 10, true)],
                    ),
                    experiment(
                        "oracle_divergence",
                        Verdict::Disproved,
                        vec![
                            check("S4_mode", 1, 0, false),
                            check("S7_liquid_paid_wei", 10, 10, true),
                        ],
                    ),
                ],
            ),
            block(
                200,
                vec![
                    experiment(
                        "gas_spike",
                        Verdict::Held,
                        vec![check("S2_bounty_wei", 5, 10, true)],
                    ),
                    experiment("flash_shortfall", Verdict::Error, vec![]),
                ],
            ),
        ],
        resilience: 0.0,
        verdict: Verdict::Held,
        totals: ExperimentTotals::default(),
        rpc_degradation: None,
        rpc_resilience: None,
        reverts: vec![],
        shard: None,
        interrupted: None,
    }
    .finish()
}

#[test]
fn scores_totals_and_verdict_are_derived_from_the_experiments() {
    let report = sample();
    assert_eq!(report.blocks[0].resilience, 50.0);
    assert_eq!(report.blocks[1].resilience, 50.0);
    assert_eq!(report.resilience, 50.0);
    assert_eq!(report.totals.experiments, 4);
    assert_eq!(report.totals.held, 2);
    assert_eq!(report.totals.disproved, 1);
    assert_eq!(report.totals.errors, 1);
    assert_eq!(report.totals.checks_failed, 1);
    assert_eq!(
        report.verdict,
        Verdict::Error,
        "an experiment that could not run makes the run an error"
    );
}

#[test]
fn an_empty_run_is_not_a_passing_run() {
    let mut report = sample();
    report.blocks.clear();
    let report = report.finish();
    assert_eq!(report.verdict, Verdict::Disproved);
    assert_eq!(report.resilience, 0.0);
}

#[test]
fn written_files_match_the_schema_junit_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let report = sample();
    let written = report.write(dir.path()).unwrap();
    assert_eq!(
        written.len(),
        4,
        "report.json, junit.xml, summary.md, report.html"
    );

    let schema_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        json["blocks"][0]["experiments"][1]["checks"][0]["observed"], "1",
        "int256 values are strings"
    );

    // The schema is not vacuous: a report missing a check's bound is rejected.
    let mut broken = json.clone();
    broken["blocks"][0]["experiments"][0]["checks"][0]
        .as_object_mut()
        .unwrap()
        .remove("bound");
    assert!(!validator.is_valid(&broken));

    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="2""#) && junit.contains("<failure") && junit.contains("<error"),
        "{junit}"
    );
    assert!(
        junit.contains("S4_mode: observed 1 not &lt;= bound 0"),
        "{junit}"
    );

    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("Resilience score **50.00%**"), "{md}");
    assert!(
        md.contains("block 100 `oracle_divergence` (in-evm): S4_mode: observed 1 not <= bound 0"),
        "{md}"
    );
    assert!(
        md.contains("block 200 `flash_shortfall` (in-evm): forge script failed"),
        "{md}"
    );
}

#[test]
fn a_report_whose_check_contradicts_its_relation_is_refused() {
    let report = sample().finish();
    let text = serde_json::to_string(&report).unwrap();
    // Read back as written: accepted, every verdict the relation applied.
    let back: Report = serde_json::from_str(&text).unwrap();
    let c = &back.blocks[0].experiments[1].checks[0];
    assert_eq!((c.relation(), c.passed()), (Relation::Le, false), "{c:?}");
    // A check that claims to have held while 1 <= 0 is false, or that names no known relation,
    // is refused (what `chaos merge` reads back).
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["blocks"][0]["experiments"][1]["checks"][0]["passed"] = true.into();
    let err = serde_json::from_value::<Report>(json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("claims passed = true"), "{err}");
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["blocks"][0]["experiments"][1]["checks"][0]["relation"] = "=<".into();
    let err = serde_json::from_value::<Report>(json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`=<` is not a relation"), "{err}");
}

fn validate(json: &serde_json::Value) -> Vec<String> {
    let schema_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn a_reverted_scenario_is_reported_with_its_reason_and_call() {
    let mut report = sample();
    report.blocks[0].experiments[1].checks = vec![Check::new(
        "scenario_completed",
        I256::ZERO,
        Relation::Eq,
        I256::ONE,
    )];
    report.reverts = vec![xtask::report::RevertRecord {
        block: 100,
        experiment: "oracle_divergence".into(),
        revert: xtask::chaos::scenario::Revert {
            step: "running the scenario".into(),
            reason: "SetupCycleFailed(Panic(0x11): arithmetic underflow or overflow)".into(),
            data: "0x4e487b71".into(),
            call: Some("BrokenModule.cycle() [delegatecall]".into()),
            path: vec![
                "OracleScenarios.run(string)".into(),
                "YieldVault.cycle()".into(),
                "BrokenModule.cycle() [delegatecall]".into(),
            ],
        },
    }];
    let report = report.finish();
    let dir = tempfile::tempdir().unwrap();
    report.write(dir.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert!(validate(&json).is_empty(), "{:#?}", validate(&json));
    assert_eq!(
        json["reverts"][0]["call"],
        "BrokenModule.cycle() [delegatecall]"
    );
    let want = "reverted while running the scenario: SetupCycleFailed(Panic(0x11): arithmetic underflow or overflow) in BrokenModule.cycle() [delegatecall]";
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains(&format!("block 100 `oracle_divergence` (in-evm): {want}")),
        "{md}"
    );
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(want) && junit.contains(r#"type="scenario reverted""#),
        "{junit}"
    );
    assert!(
        junit.contains("call path: OracleScenarios.run(string) -&gt; YieldVault.cycle()"),
        "{junit}"
    );
    // The same id at another block did not revert: nothing is attached to it.
    assert!(report
        .revert_of(200, &report.blocks[1].experiments[0])
        .is_none());
}

#[test]
fn an_interrupted_run_says_so_everywhere() {
    let mut report = sample();
    report.interrupted = Some(xtask::report::Interruption {
        signal: "SIGINT".into(),
        phase: "live-fork".into(),
        planned: 36,
        finished: 4,
    });
    let report = report.finish();
    assert_eq!(report.verdict, Verdict::Interrupted);
    assert_ne!(report.exit_code(), std::process::ExitCode::SUCCESS);
    let dir = tempfile::tempdir().unwrap();
    report.write(dir.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert!(validate(&json).is_empty(), "{:#?}", validate(&json));
    assert_eq!(json["verdict"], "interrupted");
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("interrupted")
            && md.contains("Interrupted by SIGINT during live-fork**: 4 of 36"),
        "{md}"
    );
    // No half-written file is left next to them.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
}
