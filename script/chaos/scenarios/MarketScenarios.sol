// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ScenarioResult} from "../ScenarioTypes.sol";
import {World} from "../ChaosWorld.sol";
import {ScenarioBase} from "../ScenarioBase.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";

contract MarketScenarios is ScenarioBase {
    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function ids() external pure override returns (string[] memory list) {}

    function run(string calldata id) external override returns (ScenarioResult memory) {
        revert UnknownScenario(id);
    }
}
