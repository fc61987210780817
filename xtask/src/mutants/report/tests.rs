use super::*;
use std::collections::BTreeMap;

fn record(id: &str, status: Status, killed_by: &[&str]) -> MutantRecord {
    MutantRecord {
        id: id.into(),
        file: "contracts/vault/X.sol".into(),
        line: 1,
        column: 1,
        contract: "X".into(),
        function: "f".into(),
        operator: "comparison".into(),
        original: "<".into(),
        replacement: "<=".into(),
        diff: "--- a/contracts/vault/X.sol\n".into(),
        status,
        reason: None,
        killed_by: killed_by.iter().map(|s| (*s).to_owned()).collect(),
        matrix: killed_by
            .iter()
            .map(|e| ((*e).to_owned(), Cell::Disproved))
            .chain([("b".to_owned(), Cell::Held)])
            .collect(),
        details: vec![],
        compile_ms: 1,
    }
}

fn shard(index: u32, mutants: Vec<MutantRecord>) -> MutantsReport {
    MutantsReport {
        schema_version: SCHEMA_VERSION,
        run_id: format!("run-{index}"),
        tool_version: "0".into(),
        started_at: 0,
        duration_ms: 10,
        seed: 42,
        days: 1,
        engine: "in-evm".into(),
        paths: vec!["contracts/vault".into()],
        shard: Some(ShardInfo { index, count: 2 }),
        timeout_ms: 1000,
        min_score: 0.0,
        full_matrix: false,
        blocks: vec![BlockInfo {
            number: 7,
            hash: format!("0x{}", "ab".repeat(32)),
            timestamp: 1,
            label: "pinned".into(),
        }],
        experiments: vec!["a".into(), "b".into()],
        timing: Timing::default(),
        totals: MutantTotals::default(),
        score: None,
        verdict: String::new(),
        per_experiment: vec![],
        mutants,
    }
    .finish(4)
}

#[test]
fn shards_merge_into_one_score_with_the_reviewed_equivalents() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("out"),
    );
    shard(
        1,
        vec![
            record("k1", Status::Killed, &["a"]),
            record("s1", Status::Survived, &[]),
        ],
    )
    .write(&a)
    .unwrap();
    shard(
        2,
        vec![
            record("k2", Status::Killed, &["a"]),
            record("s2", Status::Survived, &[]),
        ],
    )
    .write(&b)
    .unwrap();
    // s2 was reviewed as equivalent after the shards ran.
    let reviewed = |_: &[String]| -> anyhow::Result<BTreeMap<String, String>> {
        Ok([("s2".to_owned(), "same value".to_owned())].into())
    };
    let code = merge(&[a.clone(), b.clone()], &out, 60.0, &reviewed).unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    let merged: MutantsReport =
        serde_json::from_str(&std::fs::read_to_string(out.join("mutants.json")).unwrap()).unwrap();
    assert_eq!(merged.totals.killed, 2);
    assert_eq!(merged.totals.survived, 1);
    assert_eq!(merged.totals.equivalent_reviewed, 1);
    assert_eq!(merged.score, Some(66.67));
    assert_eq!(merged.verdict, "met");
    assert_eq!(merged.per_experiment[0].kills, 2);
    assert_eq!(merged.per_experiment[1].kills, 0);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("**b** (catches nothing)"), "{md}");
    assert!(md.contains("#### Survivors (1)"), "{md}");
    // Below the minimum: exit 1; the same shard twice: refused.
    assert_eq!(
        merge(&[a.clone(), b.clone()], &out, 70.0, &reviewed).unwrap(),
        ExitCode::from(1)
    );
    let err = merge(&[a.clone(), a], &out, 0.0, &reviewed).unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
}
