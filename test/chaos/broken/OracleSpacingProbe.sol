// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {World} from "../../../script/chaos/ChaosWorld.sol";
import {ScenarioBase} from "../../../script/chaos/ScenarioBase.sol";
import {Check, ScenarioResult} from "../../../script/chaos/ScenarioTypes.sol";
import {SteadyState, Snapshot, CheckList} from "../../../script/chaos/SteadyState.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {RiskMode} from "../../../contracts/vault/VaultTypes.sol";

/// @notice The oracle's observation spacing driven through the vault: a vault configured with a
/// `minCycleInterval` below the spacing (a quarter of `twapWindow`; `_validate` accepts any
/// interval from one second) cycles once per interval on a quiet pool, longer than a whole
/// window. Every update inside the spacing must be read only, so the ring still reaches back a
/// window and the vault stays NORMAL and open to deposits (S4: no false ONLY_UNWIND). The
/// vault's shipped 10-minute interval is past the 7.5-minute spacing, and two cycles never share
/// a second (the rate limit refuses the second before the oracle is read), so no catalogue
/// experiment reaches this side of the guard.
contract OracleSpacingProbe is ScenarioBase {
    using SteadyState for CheckList;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external pure override returns (ScenarioResult memory) {
        revert UnknownScenario(id);
    }

    /// @return checks the checks made; held whether all of them passed; observed the oracle's
    /// observation count at the end.
    function probe(uint256 cycles) external returns (Check[] memory checks, bool held, uint256 observed) {
        _baseline(true);
        CheckList memory list;
        for (uint256 i; i < cycles; ++i) {
            _advance(cfg.minCycleInterval);
            _mustCycle();
            Snapshot memory b = _measure();
            list.s4Mode(string.concat("_short_interval_c", vm.toString(i + 1)), b, RiskMode.NORMAL);
        }
        (bool ok,) = _tryDeposit(CAROL, 1000e18);
        list.isTrue("S4_deposit_succeeded_short_interval", ok);
        observed = vault.oracle().count();
        (checks, held) = SteadyState.finish(list);
    }
}
