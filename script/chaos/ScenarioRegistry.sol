// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {World} from "./ChaosWorld.sol";
import {IScenarioGroup} from "./ScenarioRunner.sol";
import {OracleScenarios} from "./scenarios/OracleScenarios.sol";
import {AsterScenarios} from "./scenarios/AsterScenarios.sol";
import {MarketScenarios} from "./scenarios/MarketScenarios.sol";
import {StressScenarios} from "./scenarios/StressScenarios.sol";
import {BlockScenarios} from "./scenarios/BlockScenarios.sol";
import {FeedScenarios} from "./scenarios/FeedScenarios.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";

/// @notice The contracts of `scenarios/`, each running a few scenarios that share their helpers.
/// Oracle: oracle and time; Aster: Aster's failures; Market: market, gas and feed; Stress: the
/// long seeded run; Block: what a cycle must not do (idle, same-block manipulation); Feed: the
/// Chainlink proxy's aggregator.
enum ScenarioGroup {
    Oracle,
    Aster,
    Market,
    Stress,
    Block,
    Feed
}

/// @title ScenarioRegistry
/// @notice The in-EVM scenario catalogue, kept once: every scenario id with the group that runs
/// it, in catalogue order (the order of script/chaos/README.md, of `cargo xtask chaos --list`
/// and of a report). The runner derives from it the list (`ScenarioRunner.scenarioIds`, which
/// the xtask reads), the dispatch of an id to its group (`_groupOf`) and the group's contract
/// (`deploy`); a group's own `run(id)` then picks the scenario's function.
/// @dev Adding a scenario: one row here, one branch in its group's `run`, one row in the README's
/// catalogue. `test/chaos/ChaosScenarios.t.sol` holds the list to 18 distinct, dispatched ids.
library ScenarioRegistry {
    struct Entry {
        string id;
        ScenarioGroup group;
    }

    /// @notice The catalogue, in order.
    function entries() internal pure returns (Entry[] memory e) {
        e = new Entry[](18);
        e[0] = Entry("oracle_divergence", ScenarioGroup.Oracle);
        e[1] = Entry("oracle_recovery", ScenarioGroup.Oracle);
        e[2] = Entry("close_trade_blocked", ScenarioGroup.Aster);
        e[3] = Entry("burn_alp_reverts", ScenarioGroup.Aster);
        e[4] = Entry("cooldown_active", ScenarioGroup.Aster);
        e[5] = Entry("pending_trade_never_executed", ScenarioGroup.Aster);
        e[6] = Entry("flash_shortfall", ScenarioGroup.Market);
        e[7] = Entry("gas_spike", ScenarioGroup.Market);
        e[8] = Entry("stale_bnb_feed", ScenarioGroup.Market);
        e[9] = Entry("call_delay", ScenarioGroup.Oracle);
        e[10] = Entry("same_timestamp_blocks", ScenarioGroup.Oracle);
        e[11] = Entry("thin_liquidity_slippage", ScenarioGroup.Market);
        e[12] = Entry("repeated_cycle_stress", ScenarioGroup.Stress);
        e[13] = Entry("donation_inflation", ScenarioGroup.Market);
        e[14] = Entry("share_price_drop", ScenarioGroup.Aster);
        e[15] = Entry("idle_cycle", ScenarioGroup.Block);
        e[16] = Entry("same_block_manipulation", ScenarioGroup.Block);
        e[17] = Entry("feed_aggregator_switch", ScenarioGroup.Feed);
    }

    /// @notice Every id, in catalogue order.
    function ids() internal pure returns (string[] memory list) {
        Entry[] memory e = entries();
        list = new string[](e.length);
        for (uint256 i; i < e.length; ++i) {
            list[i] = e[i].id;
        }
    }

    /// @notice The group that runs `id` (`known` false for an id not in the catalogue).
    function groupOf(string memory id) internal pure returns (bool known, ScenarioGroup group) {
        Entry[] memory e = entries();
        bytes32 h = keccak256(bytes(id));
        for (uint256 i; i < e.length; ++i) {
            if (keccak256(bytes(e[i].id)) == h) return (true, e[i].group);
        }
    }

    /// @notice A fresh instance of `group` against `vault`, and the contract's name (for traces).
    function deploy(ScenarioGroup group, World memory world, YieldVault vault)
        internal
        returns (IScenarioGroup g, string memory name)
    {
        if (group == ScenarioGroup.Oracle) {
            return (IScenarioGroup(address(new OracleScenarios(world, vault))), "OracleScenarios");
        }
        if (group == ScenarioGroup.Aster) {
            return (IScenarioGroup(address(new AsterScenarios(world, vault))), "AsterScenarios");
        }
        if (group == ScenarioGroup.Market) {
            return (IScenarioGroup(address(new MarketScenarios(world, vault))), "MarketScenarios");
        }
        if (group == ScenarioGroup.Stress) {
            return (IScenarioGroup(address(new StressScenarios(world, vault))), "StressScenarios");
        }
        if (group == ScenarioGroup.Block) {
            return (IScenarioGroup(address(new BlockScenarios(world, vault))), "BlockScenarios");
        }
        return (IScenarioGroup(address(new FeedScenarios(world, vault))), "FeedScenarios");
    }
}
