//! Scenario isolation as a tested property, on a real fork: every in-EVM scenario of the
//! catalogue gives the same result (gas, checks, state digests, cycles) run alone in its own
//! forge process, in the whole batch, and in the whole batch in reverse order. One local chain
//! (one day of history), one pinned block, forge forking it directly.

use alloy::dyn_abi::DynSolValue;
use xtask::chain::{self, ChainOptions};
use xtask::chaos::scenario::{batch_from_abi, RawRevert, ScenarioResult};
use xtask::foundry::artifacts::Artifact;
use xtask::foundry::forge::{self, ScriptCall, Target};
use xtask::project::Project;
use xtask::toolchain::Toolchain;

const SCRIPT: &str = "script/ForkChaosScenarios.s.sol:ForkChaosScenarios";
const BLOCK: u64 = 336;

struct Fork<'a> {
    toolchain: &'a Toolchain,
    artifact: &'a Artifact,
    url: String,
    book: std::path::PathBuf,
}

impl Fork<'_> {
    fn batch(&self, ids: &[String]) -> Vec<(ScenarioResult, RawRevert)> {
        let list = DynSolValue::Array(
            ids.iter()
                .map(|id| DynSolValue::String(id.clone()))
                .collect(),
        );
        let call = ScriptCall {
            target: SCRIPT.into(),
            calldata: self.artifact.encode_call("runBatch", &[list]).unwrap(),
            on: Target::Fork {
                url: self.url.clone(),
                block: Some(BLOCK),
                no_storage_caching: true,
            },
            env: vec![(
                "CHAOS_ADDRESS_BOOK".into(),
                self.book.clone().into_os_string(),
            )],
        };
        let output = forge::run_script(self.toolchain, &call).unwrap();
        assert!(output.success, "runBatch({ids:?}) reverted");
        batch_from_abi(
            &self
                .artifact
                .decode_output("runBatch", &output.returned)
                .unwrap(),
        )
        .unwrap()
    }
}

#[test]
fn every_scenario_is_the_same_alone_in_the_batch_and_in_reverse_order() {
    let project = Project::locate();
    let toolchain = Toolchain::ensure(&project).unwrap();
    forge::build(&toolchain).unwrap();
    let artifact = Artifact::load(
        &project.forge_out(),
        "ForkChaosScenarios.s.sol",
        "ForkChaosScenarios",
    )
    .unwrap();
    let ids: Vec<String> = xtask::chaos::catalogue::Catalogue::load(&toolchain, &artifact, SCRIPT)
        .unwrap()
        .in_evm;
    assert!(ids.len() >= 13, "{ids:?}");
    // forge reads the address book relative to the project, under reports/.
    let out = project
        .root()
        .join("reports")
        .join(format!("test-isolation-{}", std::process::id()));
    let local = chain::build(
        &toolchain,
        &ChainOptions {
            seed: chain::DEFAULT_SEED,
            days: 1,
            out_dir: out.clone(),
            port: 0,
            cache: xtask::chain::cache::Mode::Off,
        },
    )
    .unwrap();
    let fork = Fork {
        toolchain: &toolchain,
        artifact: &artifact,
        url: local.info.url.clone(),
        book: xtask::foundry::forge::relative_path(&toolchain, &local.info.address_book),
    };

    let forward = fork.batch(&ids);
    let reversed_ids: Vec<String> = ids.iter().rev().cloned().collect();
    let mut reversed = fork.batch(&reversed_ids);
    reversed.reverse();
    // Alone: each in a forge process of its own, where nothing ran before it. Two at a time.
    let alone: Vec<(ScenarioResult, RawRevert)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .chunks(ids.len().div_ceil(2))
            .map(|chunk| {
                let fork = &fork;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .flat_map(|id| fork.batch(std::slice::from_ref(id)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let mut differences = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (one, one_revert) = &alone[i];
        assert_eq!(&one.id.0, id);
        assert!(!one_revert.reverted, "{id} reverted: {one_revert:?}");
        assert!(one.held, "{id} does not hold alone");
        for (how, (other, revert)) in [
            ("in the batch", &forward[i]),
            ("in reverse order", &reversed[i]),
        ] {
            assert_eq!(&other.id.0, id);
            assert!(!revert.reverted, "{id} reverted {how}");
            if other != one {
                let checks: Vec<String> = one
                    .checks
                    .iter()
                    .zip(&other.checks)
                    .filter(|(a, b)| a != b)
                    .map(|(a, b)| {
                        format!("{}: {} alone, {} {how}", a.name, a.observed(), b.observed())
                    })
                    .collect();
                differences.push(format!(
                    "{id} {how}: gas {} vs {}, digest {} vs {}; {checks:?}",
                    one.cycle_gas, other.cycle_gas, one.digest_before, other.digest_before
                ));
            }
        }
    }
    drop(local);
    let _ = std::fs::remove_dir_all(&out);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
