// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Script, console} from "forge-std/Script.sol";
import {Check, ScenarioResult} from "./chaos/ScenarioTypes.sol";
import {ScenarioRevert, ScenarioRunner} from "./chaos/ScenarioRunner.sol";

/// @title ForkChaosScenarios
/// @notice The in-EVM chaos engine: each scenario injects one fault around the vault's `cycle()`
/// and states the steady-state checks (S1-S10, docs/steady-state.md) it expects to hold.
///
///   Plain local run (deploys the replicas and the vault itself), one line per scenario:
///     forge script script/ForkChaosScenarios.s.sol:ForkChaosScenarios -vvv
///   On a fork of a pinned block, typed results for the xtask:
///     CHAOS_ADDRESS_BOOK=deployments/local/bsc-replica.json forge script \
///       script/ForkChaosScenarios.s.sol:ForkChaosScenarios --fork-url $RPC \
///       --sig 'runScenarios(string[])' '[oracle_divergence,gas_spike]' --json
///
/// `CHAOS_ADDRESS_BOOK` names the address book of the forked chain (deployments/bsc.json for
/// real BSC); a fresh vault is deployed there and funded by dealt USDT depositors.
contract ForkChaosScenarios is Script, ScenarioRunner {
    /// @notice At least one scenario disproved its hypothesis (the logs say which checks).
    error HypothesisDisproved(uint256 failed, uint256 total);

    /// @notice Runs every scenario, logs `PASS <id>` or `FAIL <id>: <checks>` per scenario and
    /// reverts at the end if any failed.
    function run() external {
        (ScenarioResult[] memory results, ScenarioRevert[] memory reverts) =
            _runBatch(scenarioIds(), _factory());
        uint256 failed;
        for (uint256 i; i < results.length; ++i) {
            if (!results[i].held) failed++;
            console.log(describe(results[i]));
            if (reverts[i].reverted) {
                console.log(
                    string.concat("  reverted while ", reverts[i].step, ": ", vm.toString(reverts[i].data))
                );
            }
        }
        if (failed != 0) revert HypothesisDisproved(failed, results.length);
    }

    /// @notice One scenario by id; reverts with UnknownScenario(id) for an id not in the catalogue.
    function runScenario(string calldata id) external returns (ScenarioResult memory r) {
        _groupOf(id); // an unknown id fails before anything is deployed
        r = runScenarioAgainst(id, _factory());
        console.log(describe(r));
    }

    /// @notice Several scenarios on one fork, each from the same state (snapshot and revert).
    function runScenarios(string[] calldata ids) external returns (ScenarioResult[] memory results) {
        results = _runAll(ids, _factory());
        for (uint256 i; i < results.length; ++i) {
            console.log(describe(results[i]));
        }
    }

    /// @notice What the xtask calls: `runScenarios` plus, for each scenario, whether it reverted,
    /// in which step and with which revert data (decoded by the xtask with the ABIs in out/).
    function runBatch(string[] calldata ids)
        external
        returns (ScenarioResult[] memory results, ScenarioRevert[] memory reverts)
    {
        (results, reverts) = _runBatch(ids, _factory());
    }

    /// @notice `PASS <id>` or `FAIL <id>: name observed relation bound, ...`.
    function describe(ScenarioResult memory r) public pure returns (string memory line) {
        if (r.held) return string.concat("PASS ", r.id);
        line = string.concat("FAIL ", r.id, ":");
        bool first = true;
        for (uint256 i; i < r.checks.length; ++i) {
            Check memory c = r.checks[i];
            if (c.passed) continue;
            line = string.concat(
                line,
                first ? " " : ", ",
                c.name,
                " = ",
                vm.toString(c.observed),
                " (want ",
                c.relation,
                " ",
                vm.toString(c.bound),
                ")"
            );
            first = false;
        }
    }
}
