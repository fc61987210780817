//! The chain cache and the concurrent executor, end to end with real anvil and forge: a run on
//! a cached chain is the run on a cold-built one (same pinned blocks and hashes, same verdicts,
//! checks, digests and gas); a run with `--jobs 2` is the run with `--jobs 1`; a changed key is a
//! miss; a damaged entry is rejected and the chain rebuilt, never trusted. Each test has a
//! cache directory of its own (`XTASK_CHAIN_CACHE_DIR`).

use crate::support;

use std::path::{Path, PathBuf};

use sha2::Digest as _;

use xtask::chain::cache::{self, Mode};
use xtask::chain::{self, ChainOptions};
use xtask::project::Project;
use xtask::toolchain::Toolchain;

fn root() -> PathBuf {
    Project::locate().root().to_path_buf()
}

/// `cargo xtask chaos ARGS --json` with the chain cache in `cache`; the report.
fn chaos(cache: &Path, name: &str, args: &[&str]) -> serde_json::Value {
    support::contracts_built();
    let dir = root()
        .join("reports")
        .join(format!("test-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = support::xtask()
        .env_remove(cache::ENV_VAR)
        .env(cache::DIR_ENV_VAR, cache)
        .arg("chaos")
        .args(args)
        .arg("--report-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{name}: {stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    report
}

/// The report without what may differ between two runs of the same experiments on the same
/// chain: ids, times, the chain's URL, where the chain came from.
fn comparable(mut report: serde_json::Value) -> serde_json::Value {
    let object = report.as_object_mut().unwrap();
    for key in ["run_id", "started_at", "duration_ms"] {
        object.remove(key);
    }
    let chain = object["chain"].as_object_mut().unwrap();
    chain.remove("endpoint");
    chain.remove("cache");
    for block in object["blocks"].as_array_mut().unwrap() {
        for e in block["experiments"].as_array_mut().unwrap() {
            e.as_object_mut().unwrap().remove("duration_ms");
        }
    }
    report
}

#[test]
fn a_cached_chain_gives_the_cold_run_and_jobs_2_gives_jobs_1() {
    let cache = tempfile::tempdir().unwrap();
    // Two in-EVM scenarios and two live-fork experiments at the four landmarks. The live-fork
    // ones read the LP pair at upstream blocks the entry keeps no state for: the cold run reads
    // them with eth_call, the warm one from the entry's pair tape. With --jobs 2 the blocks'
    // batches run side by side.
    let args = [
        "--days",
        "1",
        "--scenario",
        "gas_spike",
        "--scenario",
        "oracle_divergence",
        "--scenario",
        "keeper_gas_spike",
        "--scenario",
        "keeper_missed_blocks",
    ];
    let with = |jobs: &'static str| {
        let mut a = args.to_vec();
        a.extend(["--jobs", jobs]);
        a
    };
    let cold = chaos(cache.path(), "cold", &with("1"));
    assert_eq!(cold["chain"]["cache"], "stored");
    let warm = chaos(cache.path(), "warm", &with("2"));
    assert_eq!(warm["chain"]["cache"], "hit");
    let warm_sequential = chaos(cache.path(), "warm-seq", &with("1"));
    assert_eq!(warm_sequential["chain"]["cache"], "hit");

    let blocks = |r: &serde_json::Value| -> Vec<(u64, String)> {
        r["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["number"].as_u64().unwrap(),
                    b["hash"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(blocks(&cold).len(), 4, "{cold:#}");
    assert_eq!(blocks(&cold), blocks(&warm));
    assert_eq!(cold["totals"]["experiments"], 16);
    assert_eq!(cold["totals"]["held"], 16, "{cold:#}");
    // Verdicts, checks (observed values and bounds), digests, gas, reverts: all the same.
    assert_eq!(comparable(warm.clone()), comparable(cold));
    assert_eq!(comparable(warm), comparable(warm_sequential));
}

#[test]
fn a_changed_seed_or_artifact_is_another_key() {
    support::contracts_built();
    let project = Project::locate();
    let toolchain = Toolchain::ensure(&project).unwrap();
    let options = |seed: u64| ChainOptions {
        seed,
        days: 1,
        out_dir: PathBuf::new(),
        port: 0,
        cache: Mode::Off,
    };
    let key = |o: &ChainOptions| cache::key(&toolchain, &o.determining(), &[]).unwrap();
    let a = key(&options(42));
    assert_eq!(a.hash, key(&options(42)).hash);
    assert_ne!(a.hash, key(&options(43)).hash);
    let mut three_days = options(42);
    three_days.days = 3;
    assert_ne!(a.hash, key(&three_days).hash);

    // A copy of forge's outputs with one byte of the vault's runtime code changed.
    let copy = tempfile::tempdir().unwrap();
    let src = project.root();
    std::fs::create_dir_all(copy.path().join("cache")).unwrap();
    std::fs::copy(
        src.join("cache/solidity-files-cache.json"),
        copy.path().join("cache/solidity-files-cache.json"),
    )
    .unwrap();
    copy_dir(&src.join("out"), &copy.path().join("out"));
    // The registry-built PancakeSwap V2 and Chainlink proxies are part of the key too.
    if src.join("build").is_dir() {
        copy_dir(&src.join("build"), &copy.path().join("build"));
    }
    let before = cache::artifact_inputs(copy.path()).unwrap();
    assert_eq!(before, cache::artifact_inputs(src).unwrap());
    let vault = copy.path().join("out/VaultCore.sol/VaultCore.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&vault).unwrap()).unwrap();
    let code = json["deployedBytecode"]["object"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = format!(
        "{}{}",
        &code[..code.len() - 2],
        if code.ends_with('0') { "01" } else { "00" }
    );
    json["deployedBytecode"]["object"] = flipped.into();
    std::fs::write(&vault, serde_json::to_string(&json).unwrap()).unwrap();
    let after = cache::artifact_inputs(copy.path()).unwrap();
    let changed: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].contains("VaultCore"), "{changed:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_damaged_entry_is_rejected_and_the_chain_rebuilt() {
    support::contracts_built();
    let project = Project::locate();
    let toolchain = Toolchain::ensure(&project).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let build = |name: &str| {
        chain::build(
            &toolchain,
            &ChainOptions {
                seed: 42,
                days: 1,
                out_dir: out.path().join(name),
                port: 0,
                cache: Mode::Use(cache.path().to_path_buf()),
            },
        )
        .unwrap()
    };
    let cold = build("cold");
    assert_eq!(cold.info.cache, cache::Status::Stored);
    let head = cold.info.head;
    drop(cold);
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .find(|e| e.path().join("entry.json").exists())
        .unwrap()
        .path();
    let manifest_path = entry.join("entry.json");
    let pristine = std::fs::read_to_string(&manifest_path).unwrap();

    // The vault at a kept block recorded differently (the files still hash right): the loaded
    // chain does not read what the entry claims, so it is not used.
    let mut manifest: serde_json::Value = serde_json::from_str(&pristine).unwrap();
    manifest["kept"][0]["nav"] = "1".into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let rebuilt = build("tampered");
    assert_eq!(rebuilt.info.cache, cache::Status::Stored);
    assert_eq!(rebuilt.info.head, head);
    drop(rebuilt);

    // The pair tape recorded differently at a block the loaded chain serves (its hash fixed
    // in the manifest): the pair there does not read what the tape claims, so it is not used.
    let hit = build("hit");
    assert_eq!(hit.info.cache, cache::Status::Hit);
    let tape = hit.tape.clone().expect("a hit carries the pair tape");
    let kept = hit.info.state_only_at.clone().unwrap();
    drop(hit);
    let tape_path = entry.join("pair-tape.json");
    let pristine_tape = std::fs::read(&tape_path).unwrap();
    let mut tampered = (*tape).clone();
    let at = tampered
        .changes
        .partition_point(|(b, _)| *b <= kept[0])
        .checked_sub(1)
        .unwrap();
    tampered.changes[at].1.reserve0 += alloy::primitives::U256::from(1u64);
    let bytes = serde_json::to_vec(&tampered).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["files"]["pair-tape.json"] = alloy::hex::encode(sha2::Sha256::digest(&bytes)).into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    std::fs::write(&tape_path, bytes).unwrap();
    let rebuilt = build("tampered-tape");
    assert_eq!(rebuilt.info.cache, cache::Status::Stored);
    drop(rebuilt);
    assert_eq!(std::fs::read(&tape_path).unwrap(), pristine_tape);

    // A flipped byte in the state: rejected before anvil sees it, and removed.
    let hit = build("hit-again");
    assert_eq!(hit.info.cache, cache::Status::Hit);
    drop(hit);
    let state = entry.join("state.json.gz");
    let mut bytes = std::fs::read(&state).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&state, bytes).unwrap();
    let key: cache::Key = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(&pristine).unwrap()["key"].clone(),
    )
    .unwrap();
    let err = cache::lookup(cache.path(), &key).err().unwrap();
    assert!(format!("{err:#}").contains("corrupted"), "{err:#}");
    assert!(!entry.exists(), "a corrupted entry is removed");
}

/// A window's pinned blocks are kept by the entry its first run stores: the same window again
/// loads the chain (the same report), another window rebuilds the entry keeping both, after
/// which each window loads it.
#[test]
fn a_repeated_window_loads_a_chain_that_keeps_its_blocks() {
    let cache = tempfile::tempdir().unwrap();
    let window = |step: &'static str| {
        vec![
            "--days",
            "1",
            "--window",
            "2026-01-01T00:30:00Z..2026-01-01T12:30:00Z",
            "--step",
            step,
            "--scenario",
            "gas_spike",
        ]
    };
    let first = chaos(cache.path(), "win-first", &window("6h"));
    assert_eq!(first["chain"]["cache"], "stored");
    let again = chaos(cache.path(), "win-again", &window("6h"));
    assert_eq!(again["chain"]["cache"], "hit");
    assert_eq!(comparable(again), comparable(first));
    let other = chaos(cache.path(), "win-other", &window("4h"));
    assert_eq!(
        other["chain"]["cache"], "stored",
        "4h pins blocks the 6h entry lacks"
    );
    let first_again = chaos(cache.path(), "win-first-again", &window("6h"));
    assert_eq!(first_again["chain"]["cache"], "hit");
    let other_again = chaos(cache.path(), "win-other-again", &window("4h"));
    assert_eq!(other_again["chain"]["cache"], "hit");
    assert_eq!(comparable(other_again), comparable(other));
}
