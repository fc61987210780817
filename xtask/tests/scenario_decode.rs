//! The whole typed-result path against the real forge: a script returning `ScenarioResult[]`
//! (the project's own ScenarioTypes.sol), run with `forge script --json`, decoded with the ABI
//! from the artifact forge wrote.

use alloy::dyn_abi::DynSolValue;
use alloy::primitives::{B256, I256};
use xtask::chaos::scenario::ScenarioResult;
use xtask::foundry::artifacts::Artifact;
use xtask::foundry::forge::{self, ScriptCall, Target};
use xtask::project::Project;
use xtask::toolchain::Toolchain;

const SCRIPT: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Check, ScenarioResult} from "./ScenarioTypes.sol";

contract Emit {
    function runScenarios(string[] calldata ids) external pure returns (ScenarioResult[] memory out) {
        out = new ScenarioResult[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            Check[] memory checks = new Check[](2);
            checks[0] = Check("S1_nav_loss_wei", -5, 1e30, "<=", true);
            checks[1] = Check("S2_bounty_wei", int256(i) * 7, 3, "<=", i == 0);
            out[i] = ScenarioResult(ids[i], "a fault", i == 0, checks, keccak256("before"), bytes32(uint256(i)), 123_456 + i, 3);
        }
    }

    function liar() external pure returns (ScenarioResult[] memory out) {
        out = new ScenarioResult[](1);
        out[0] = ScenarioResult("liar", "none", true, new Check[](0), bytes32(0), bytes32(0), 0, 0);
    }

    function oneCheck(Check memory c) internal pure returns (ScenarioResult[] memory out) {
        Check[] memory checks = new Check[](1);
        checks[0] = c;
        out = new ScenarioResult[](1);
        out[0] = ScenarioResult("one", "none", c.passed, checks, bytes32(0), bytes32(0), 0, 0);
    }

    function liarCheck() external pure returns (ScenarioResult[] memory) {
        return oneCheck(Check("S1_nav_loss_beyond_bounty_wei", 5, 3, "<=", true));
    }

    function badRelation() external pure returns (ScenarioResult[] memory) {
        return oneCheck(Check("S1_nav_loss_beyond_bounty_wei", 1, 3, "=<", true));
    }
}
"#;

#[test]
fn scenario_results_round_trip_through_forge_and_the_artifact_abi() {
    let project = Project::locate();
    let toolchain = Toolchain::ensure(&project).expect("toolchain");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::copy(
        project.root().join("script/chaos/ScenarioTypes.sol"),
        dir.path().join("src/ScenarioTypes.sol"),
    )
    .unwrap();
    std::fs::write(dir.path().join("src/Emit.sol"), SCRIPT).unwrap();
    std::fs::write(
        dir.path().join("foundry.toml"),
        "[profile.default]\nsrc = \"src\"\nout = \"out\"\nlibs = []\noffline = true\nauto_detect_solc = false\n",
    )
    .unwrap();

    let mut toolchain = toolchain;
    toolchain.project = Project::at(dir.path());
    let build = toolchain
        .command(xtask::toolchain::Tool::Forge)
        .arg("build")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let artifact = Artifact::load(&dir.path().join("out"), "Emit.sol", "Emit").unwrap();

    let ids = DynSolValue::Array(vec![
        DynSolValue::String("alpha".into()),
        DynSolValue::String("beta".into()),
    ]);
    let call = ScriptCall {
        target: "src/Emit.sol:Emit".into(),
        calldata: artifact.encode_call("runScenarios", &[ids]).unwrap(),
        on: Target::Local,
        env: vec![],
    };
    let output = forge::run_script(&toolchain, &call).unwrap();
    assert!(output.success);
    let results = ScenarioResult::list_from_abi(
        &artifact
            .decode_output("runScenarios", &output.returned)
            .unwrap(),
    )
    .unwrap();

    assert_eq!(results.len(), 2);
    assert_eq!(results[0].id.0, "alpha");
    assert!(results[0].held);
    assert_eq!(results[0].checks[0].observed(), I256::try_from(-5).unwrap());
    assert_eq!(
        results[0].checks[0].relation(),
        xtask::chaos::scenario::Relation::Le
    );
    assert_eq!(
        results[0].checks[0].bound(),
        I256::try_from(10)
            .unwrap()
            .pow(alloy::primitives::U256::from(30))
    );
    assert_eq!(
        results[0].digest_before,
        alloy::primitives::keccak256("before")
    );
    assert_eq!(results[1].digest_after, B256::with_last_byte(1));
    assert_eq!(results[1].cycle_gas, 123_457);
    assert_eq!(results[1].cycles, 3);
    assert!(!results[1].held);
    assert!(!results[1].checks[1].passed());

    // A scenario claiming to hold with no checks is not believed.
    let call = ScriptCall {
        calldata: artifact.encode_call("liar", &[]).unwrap(),
        ..call
    };
    let output = forge::run_script(&toolchain, &call).unwrap();
    let liar =
        ScenarioResult::list_from_abi(&artifact.decode_output("liar", &output.returned).unwrap())
            .unwrap();
    assert!(!liar[0].held);

    // A check whose claimed verdict is not what its relation says, or whose relation is not one
    // of the six, is refused rather than believed.
    for (function, expected) in [
        ("liarCheck", "claims passed = true, but 5 <= 3 is false"),
        ("badRelation", "`=<` is not a relation"),
    ] {
        let call = ScriptCall {
            calldata: artifact.encode_call(function, &[]).unwrap(),
            ..call.clone()
        };
        let output = forge::run_script(&toolchain, &call).unwrap();
        let err = ScenarioResult::list_from_abi(
            &artifact.decode_output(function, &output.returned).unwrap(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains(expected), "{function}: {err:#}");
    }
}
