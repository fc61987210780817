// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ForkChaosScenarios} from "../ForkChaosScenarios.s.sol";
import {ScenarioResult} from "./ScenarioTypes.sol";
import {ScenarioRevert} from "./ScenarioRunner.sol";
import {ArtifactVaultFactory} from "./ArtifactVaultFactory.sol";

/// @title MutantScenarios
/// @notice The in-EVM chaos engine (ForkChaosScenarios, unchanged) run against several vaults
/// in one forge process: each artifact directory holds one compiled vault (a mutant, or the
/// clean vault), deployed by ArtifactVaultFactory. The world and the fork are built once and
/// every vault's scenarios read the same fork state.
/// @dev Each scenario runs in its own call, inside a state snapshot, with a gas cap: a vault
/// that makes a scenario revert (or loop until it runs out of gas) yields `reverted` for that
/// scenario only, and the next one starts from the same state, block and time as the first.
contract MutantScenarios is ForkChaosScenarios {
    error OnlyCaller();

    /// A scenario's budget: 60 cycles of repeated_cycle_stress use well under 200M gas; an
    /// endless loop stops here instead of running until the xtask's timeout.
    uint256 internal constant SCENARIO_GAS = 2_000_000_000;

    ArtifactVaultFactory internal _artifacts;
    ScenarioCaller internal _caller;

    /// @notice `ids` against the vault in each of `dirs`, in that order: results[d * ids.length + i]
    /// is scenario i against vault d. `reverted[k]` says the scenario itself reverted
    /// (`reasons[k]` holds the revert data; `results[k]` then carries only the id).
    function runMutants(string[] calldata dirs, string[] calldata ids)
        external
        returns (ScenarioResult[] memory results, bool[] memory reverted, bytes[] memory reasons)
    {
        for (uint256 i; i < ids.length; ++i) {
            _groupOf(ids[i]); // unknown ids fail before anything runs
        }
        _prepareWorld();
        if (address(_artifacts) == address(0)) {
            _artifacts = new ArtifactVaultFactory();
            _caller = new ScenarioCaller();
        }
        uint256 n = dirs.length * ids.length;
        results = new ScenarioResult[](n);
        reverted = new bool[](n);
        reasons = new bytes[](n);
        for (uint256 d; d < dirs.length; ++d) {
            _artifacts.use(dirs[d]);
            for (uint256 i; i < ids.length; ++i) {
                uint256 k = d * ids.length + i;
                uint256 snap = vm.snapshotState();
                try _caller.runOne{gas: SCENARIO_GAS}(ids[i]) returns (ScenarioResult memory r) {
                    results[k] = r;
                } catch (bytes memory reason) {
                    results[k].id = ids[i];
                    reverted[k] = true;
                    reasons[k] = reason;
                    // A prank left active by the reverted scenario must not leak into the next.
                    (bool stopped,) = address(vm).call(abi.encodeWithSignature("stopPrank()"));
                    stopped;
                }
                // Also restores block number and time, which a revert alone does not.
                vm.revertToStateAndDelete(snap);
            }
        }
    }

    /// @notice One scenario against the selected artifacts, called back by the ScenarioCaller
    /// (an external call, so that its revert is caught by `runMutants`).
    function runOne(string calldata id) external returns (ScenarioResult memory) {
        if (msg.sender != address(_caller)) revert OnlyCaller();
        (ScenarioResult memory r, ScenarioRevert memory failure) = _runIsolated(id, _artifacts);
        if (failure.reverted) {
            // Passed on as the scenario's own revert, so that `runMutants` reports the vault's
            // error (a crash of the suite against this mutant) instead of a bare failed check.
            bytes memory data = failure.data;
            assembly ("memory-safe") {
                revert(add(data, 32), mload(data))
            }
        }
        return r;
    }
}

/// @notice Calls a scenario of the script that deployed it from outside: forge forbids a
/// script from calling itself through `this` (script addresses are ephemeral).
contract ScenarioCaller {
    function runOne(string calldata id) external returns (ScenarioResult memory) {
        return MutantScenarios(msg.sender).runOne(id);
    }
}
