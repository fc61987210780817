//! `cargo xtask mutants` end to end with the real binary, kept short (one day of history, one
//! pinned block, one or two experiments): a known-bad mutant of the vault is killed by the
//! chaos suite, a boundary mutant survives and is reported with its diff, a reviewed
//! equivalent is recognised, a stale review is an error, bad input exits 2, and neither a run
//! nor SIGINT changes a byte of the working tree or leaves a process or a mutant behind.

use crate::support;
use support::xtask;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// CycleModule._evaluateRisk: the TWAP deviation guard's condition negated.
const BAD: &str = "9f9f344a14";
/// The same guard's `>` made `>=`: only a deviation of exactly maxDeviationBps tells them apart.
const BOUNDARY: &str = "1084778f83";
/// VaultMath.absDiff `>` -> `>=`, reviewed as equivalent in mutants.toml.
const EQUIVALENT: &str = "0d0578a276";

fn root() -> PathBuf {
    xtask::project::Project::locate().root().to_path_buf()
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let (code, stdout, stderr, _) = run_pid(args);
    (code, stdout, stderr)
}

/// Also returns the xtask's pid (its scratch directory is named after it).
fn run_pid(args: &[&str]) -> (Option<i32>, String, String, u32) {
    let child = xtask()
        .arg("mutants")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        pid,
    )
}

/// Every byte of the sources a run could touch: the contracts, scripts, tests and configs.
fn tree() -> BTreeMap<String, Vec<u8>> {
    let root = root();
    let mut out = BTreeMap::new();
    let mut stack: Vec<PathBuf> = ["contracts", "script", "test"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    for file in ["foundry.toml", "mutants.toml"] {
        out.insert(file.to_owned(), std::fs::read(root.join(file)).unwrap());
    }
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                stack.push(e.path());
            }
        } else {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
    out
}

fn assert_same_tree(before: &BTreeMap<String, Vec<u8>>) {
    let after = tree();
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "the working tree changed: {changed:?}");
}

/// Scratch directories of the xtask with this pid (`reports/.mutants-scratch-*-PID`).
fn scratch_of(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(root().join("reports"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    name.starts_with(".mutants-scratch-") && name.ends_with(&format!("-{pid}"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn report(dir: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join(dir).join("mutants.json")).unwrap())
        .unwrap()
}

fn mutant<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["mutants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the report"))
}

#[test]
fn a_known_bad_mutant_is_killed_a_boundary_one_survives_and_the_tree_is_unchanged() {
    support::contracts_built();
    let before = tree();
    let dir = "reports/test-mutants";
    let (code, _, stderr, pid) = run_pid(&[
        "--mutant",
        BAD,
        "--mutant",
        BOUNDARY,
        "--days",
        "1",
        "--fork-block",
        "700",
        "--scenario",
        "oracle_divergence",
        "--scenario",
        "gas_spike",
        "--report-dir",
        dir,
    ]);
    // One of two scored mutants killed: 50% is below mutants.toml's minimum.
    assert_eq!(code, Some(1), "{stderr}");
    assert_same_tree(&before);
    let r = report(dir);
    let bad = mutant(&r, BAD);
    assert_eq!(bad["status"], "killed", "{bad:#}");
    // The guard disproved by its own experiment; the vault stuck in ONLY_UNWIND also makes
    // gas_spike's deposit revert (a crash of that scenario: killed, not by a check).
    assert_eq!(
        bad["killed_by"],
        serde_json::json!(["oracle_divergence", "gas_spike"])
    );
    assert_eq!(bad["matrix"]["oracle_divergence"], "disproved");
    assert_eq!(bad["matrix"]["gas_spike"], "reverted");
    let details = bad["details"].as_array().unwrap();
    let guard = details
        .iter()
        .find(|d| d["experiment"] == "oracle_divergence")
        .unwrap();
    assert!(
        guard["detail"].as_str().unwrap().contains("S4_risk_mode"),
        "{guard}"
    );
    let crash = details
        .iter()
        .find(|d| d["experiment"] == "gas_spike")
        .unwrap();
    assert!(
        crash["detail"]
            .as_str()
            .unwrap()
            .contains("DepositsPaused()"),
        "{crash}"
    );
    let boundary = mutant(&r, BOUNDARY);
    assert_eq!(boundary["status"], "survived");
    assert_eq!(r["score"], 50.0);
    assert_eq!(r["verdict"], "below");
    assert_eq!(r["totals"]["killed"], 1);
    assert_eq!(r["totals"]["survived"], 1);
    assert_eq!(r["per_experiment"][0]["by_check"], 1);
    assert_eq!(r["per_experiment"][1]["id"], "gas_spike");
    assert_eq!(r["per_experiment"][1]["kills"], 1);
    assert_eq!(r["per_experiment"][1]["by_check"], 0);
    // The report matches its schema, and the schema is not vacuous.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/mutants.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&r).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut broken = r.clone();
    broken["mutants"][0]["status"] = "exploded".into();
    assert!(!validator.is_valid(&broken));
    // The summary names the survivor with its diff and the experiment that catches nothing.
    let summary = std::fs::read_to_string(root().join(dir).join("summary.md")).unwrap();
    assert!(summary.contains("#### Survivors (1)"), "{summary}");
    assert!(summary.contains("+        } else if (o.deviationBps >= _cfg.maxDeviationBps) {"));
    assert!(
        scratch_of(pid).is_empty(),
        "the scratch directory (compiled mutants) is left behind"
    );
}

#[test]
fn a_reviewed_equivalent_is_recognised_and_a_stale_review_is_an_error() {
    let before = tree();
    let dir = "reports/test-mutants-equivalent";
    let (code, _, stderr) = run(&["--mutant", EQUIVALENT, "--report-dir", dir]);
    assert_eq!(code, Some(0), "{stderr}");
    let r = report(dir);
    let m = mutant(&r, EQUIVALENT);
    assert_eq!(m["status"], "equivalent");
    assert!(m["reason"].as_str().unwrap().contains("a - b == b - a"));
    assert_eq!(r["totals"]["equivalent_reviewed"], 1);
    assert_eq!(r["score"], serde_json::Value::Null);
    // --list marks it.
    let (code, stdout, _) = run(&["--list", "--path", "contracts/vault/VaultMath.sol"]);
    assert_eq!(code, Some(0));
    let line = stdout.lines().find(|l| l.starts_with(EQUIVALENT)).unwrap();
    assert!(line.contains("[equivalent: "), "{line}");

    // A review whose mutant no longer exists (the code changed) stops the run.
    let config = std::fs::read_to_string(root().join("mutants.toml")).unwrap();
    let stale = format!(
        "{config}\n[[equivalent]]\nid = \"00000000ff\"\nfile = \"contracts/vault/VaultMath.sol\"\nfunction = \"VaultMath.min\"\noriginal = \"<\"\nreplacement = \">\"\ncontext = \"return a < b ? a : b;\"\nreason = \"reviewed on code that changed since\"\n"
    );
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("mutants.toml");
    std::fs::write(&path, stale).unwrap();
    let (code, _, stderr) = run(&["--list", "--config", path.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("stale equivalent"), "{stderr}");
    assert!(stderr.contains("00000000ff"), "{stderr}");
    assert_same_tree(&before);
}

#[test]
fn diffs_and_bad_input() {
    let (code, stdout, _) = run(&["--diff", BAD]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("-        } else if (o.deviationBps > _cfg.maxDeviationBps) {"));
    assert!(stdout.contains("+        } else if (!(o.deviationBps > _cfg.maxDeviationBps)) {"));
    for (args, wanted) in [
        (
            vec!["--mutant", "0123456789"],
            "unknown mutant `0123456789`",
        ),
        (vec!["--diff", "nope"], "unknown mutant `nope`"),
        (
            vec!["--path", "contracts/replicas", "--list"],
            "not part of the vault's code",
        ),
        (
            vec!["--path", "no/such/dir", "--list"],
            "no such file or directory",
        ),
        (vec!["--min-score", "150", "--list"], "between 0 and 100"),
        (
            vec!["--shard", "3/2", "--list"],
            "I must be between 1 and N",
        ),
        (vec!["--timeout", "soon", "--list"], "soon"),
        (vec!["merge", "reports/no-such-shard"], "cannot read"),
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Direct children of `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) == Some(pid) {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

#[test]
fn sigint_leaves_nothing_running_and_no_mutant_behind() {
    support::contracts_built();
    let before = tree();
    let mut child = xtask()
        .args([
            "mutants",
            "--mutant",
            BAD,
            "--days",
            "1",
            "--fork-block",
            "700",
            "--report-dir",
            "reports/test-mutants-sigint",
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
    // Wait until the suite runs: the chain's anvil, the warm compiler and a forge. (Generous:
    // on a busy machine the chain alone takes minutes.)
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut seen = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "the run never reached the suite: {seen:?}"
        );
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(line);
        }
        if seen.iter().any(|l| l.contains("the clean vault")) && children_of(pid).len() >= 3 {
            break;
        }
    }
    let kids = children_of(pid);
    assert_eq!(
        scratch_of(pid).len(),
        1,
        "no scratch directory while running"
    );
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130));
    std::thread::sleep(Duration::from_millis(300));
    let left: Vec<u32> = kids.into_iter().filter(|p| alive(*p)).collect();
    assert!(
        left.is_empty(),
        "children still running after SIGINT: {left:?}"
    );
    assert!(
        scratch_of(pid).is_empty(),
        "the scratch directory (compiled mutants) is left behind"
    );
    assert_same_tree(&before);
}
