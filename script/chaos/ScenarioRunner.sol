// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {ScenarioResult} from "./ScenarioTypes.sol";
import {ChaosWorld, World} from "./ChaosWorld.sol";
import {ScenarioBase} from "./ScenarioBase.sol";
import {OracleScenarios} from "./scenarios/OracleScenarios.sol";
import {AsterScenarios} from "./scenarios/AsterScenarios.sol";
import {MarketScenarios} from "./scenarios/MarketScenarios.sol";
import {StressScenarios} from "./scenarios/StressScenarios.sol";
import {FeedScenarios} from "./scenarios/FeedScenarios.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";
import {DeployVault} from "../lib/DeployVault.sol";

/// @notice Deploys the vault a scenario runs against. The default deploys the real vault with
/// DeployVault; tests pass deliberately broken variants to show the scenarios catch them.
interface IVaultFactory {
    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault);
}

/// @notice The vault as the team ships it (script/lib/DeployVault.sol).
contract DefaultVaultFactory is IVaultFactory {
    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        return DeployVault.deploy(a, cfg);
    }
}

/// @title ScenarioRunner
/// @notice The scenario catalogue and the machinery around it: builds the world once (local
/// replicas, or the address book's dependencies on a fork), then runs each scenario against a
/// fresh vault inside a state snapshot, so several scenarios share one fork without seeing each
/// other.
abstract contract ScenarioRunner {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// Set to `true` to run against the vault named by the address book instead of a fresh one.
    string internal constant ATTACH_VAULT_ENV = "CHAOS_ATTACH_VAULT";

    error UnknownScenario(string id);

    World internal _world;
    bool internal _worldReady;
    IVaultFactory internal _defaultFactory;

    /// @notice Every scenario id, in catalogue order (DESIGN.md, issue 4).
    function scenarioIds() public pure returns (string[] memory list) {
        list = new string[](14);
        list[0] = "oracle_divergence";
        list[1] = "oracle_recovery";
        list[2] = "close_trade_blocked";
        list[3] = "burn_alp_reverts";
        list[4] = "cooldown_active";
        list[5] = "pending_trade_never_executed";
        list[6] = "flash_shortfall";
        list[7] = "gas_spike";
        list[8] = "stale_bnb_feed";
        list[9] = "call_delay";
        list[10] = "same_timestamp_blocks";
        list[11] = "thin_liquidity_slippage";
        list[12] = "repeated_cycle_stress";
        list[13] = "feed_aggregator_switch";
    }

    /// @notice Group 0: oracle and time; 1: Aster; 2: market, gas and feed; 3: stress.
    function _groupOf(string memory id) internal pure returns (uint256) {
        bytes32 h = keccak256(bytes(id));
        if (
            h == keccak256("oracle_divergence") || h == keccak256("oracle_recovery")
                || h == keccak256("call_delay") || h == keccak256("same_timestamp_blocks")
        ) return 0;
        if (
            h == keccak256("close_trade_blocked") || h == keccak256("burn_alp_reverts")
                || h == keccak256("cooldown_active") || h == keccak256("pending_trade_never_executed")
        ) return 1;
        if (
            h == keccak256("flash_shortfall") || h == keccak256("gas_spike")
                || h == keccak256("stale_bnb_feed") || h == keccak256("thin_liquidity_slippage")
        ) return 2;
        if (h == keccak256("repeated_cycle_stress")) return 3;
        if (h == keccak256("feed_aggregator_switch")) return 4;
        revert UnknownScenario(id);
    }

    /// @notice Builds the world once: on a fork (CHAOS_ADDRESS_BOOK set) attach to the book's
    /// dependencies, otherwise deploy the local replicas.
    function _prepareWorld() internal {
        if (_worldReady) return;
        if (ChaosWorld.wantsAddressBook()) {
            _world = ChaosWorld.attach(VM.envString(ChaosWorld.ADDRESS_BOOK_ENV));
        } else {
            _world = ChaosWorld.deployLocal();
        }
        _defaultFactory = new DefaultVaultFactory();
        _worldReady = true;
    }

    /// @notice The vault factory `run`, `runScenario` and `runScenarios` use.
    function _factory() internal virtual returns (IVaultFactory) {
        _prepareWorld();
        return _defaultFactory;
    }

    function world() public returns (World memory) {
        _prepareWorld();
        return _world;
    }

    /// @notice Runs `id` against a vault from `factory` and leaves no trace: the state is
    /// restored afterwards.
    function runScenarioAgainst(string memory id, IVaultFactory factory)
        internal
        returns (ScenarioResult memory r)
    {
        uint256 group = _groupOf(id); // unknown ids fail before anything runs
        _prepareWorld();
        uint256 snap = VM.snapshotState();
        YieldVault vault = _vaultFor(factory);
        ScenarioBase g;
        if (group == 0) g = new OracleScenarios(_world, vault);
        else if (group == 1) g = new AsterScenarios(_world, vault);
        else if (group == 2) g = new MarketScenarios(_world, vault);
        else if (group == 3) g = new StressScenarios(_world, vault);
        else g = new FeedScenarios(_world, vault);
        r = g.run(id);
        VM.revertToState(snap);
    }

    function _vaultFor(IVaultFactory factory) internal returns (YieldVault) {
        if (
            address(factory) == address(_defaultFactory) && _world.bookVault != address(0)
                && VM.envOr(ATTACH_VAULT_ENV, false)
        ) return YieldVault(_world.bookVault);
        return factory.deployVault(ChaosWorld.vaultAddresses(_world), DeployVault.defaultConfig());
    }

    function _runAll(string[] memory ids, IVaultFactory factory)
        internal
        returns (ScenarioResult[] memory out)
    {
        for (uint256 i; i < ids.length; ++i) {
            _groupOf(ids[i]);
        }
        out = new ScenarioResult[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            out[i] = runScenarioAgainst(ids[i], factory);
        }
    }
}
