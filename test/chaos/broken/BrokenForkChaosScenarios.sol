// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ForkChaosScenarios} from "../../../script/ForkChaosScenarios.s.sol";
import {IVaultFactory} from "../../../script/chaos/ScenarioRunner.sol";
import {BrokenVaultFactory, Defect} from "./BrokenModules.sol";

/// @notice The scenario script against a deliberately broken vault, for the xtask's own tests:
/// `cargo xtask chaos --scenario-script test/chaos/broken/BrokenForkChaosScenarios.sol:BrokenForkChaosScenarios`
/// with `CHAOS_BROKEN_DEFECT` = the index of a `Defect` (0: guard disabled). A run against it
/// must exit 1 and name the disproved check; one that held would mean the chaos layer is blind.
contract BrokenForkChaosScenarios is ForkChaosScenarios {
    function _factory() internal override returns (IVaultFactory) {
        return new BrokenVaultFactory(Defect(vm.envUint("CHAOS_BROKEN_DEFECT")));
    }
}
