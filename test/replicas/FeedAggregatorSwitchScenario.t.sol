// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Check, ScenarioResult} from "../../script/chaos/ScenarioTypes.sol";
import {
    ScenarioRunner,
    ScenarioSteps,
    IVaultFactory,
    DefaultVaultFactory
} from "../../script/chaos/ScenarioRunner.sol";
import {ChaosWorld, World} from "../../script/chaos/ChaosWorld.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";
import {BrokenModule} from "../chaos/broken/BrokenModules.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config, CyclePath, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @notice A vault that takes any feed answer for fresh (maxOracleAge ignored inside `cycle`).
contract StalenessIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint32 age = _cfg.maxOracleAge;
        _cfg.maxOracleAge = type(uint32).max;
        (path, bounty) = _realCycle();
        _cfg.maxOracleAge = age;
    }
}

contract StalenessIgnoredFactory is IVaultFactory {
    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        return new YieldVault(a, cfg, address(new StalenessIgnoredModule(a)));
    }
}

/// @notice Deploys the environment of `replicas` and stays its admin, as ChaosWorld's own
/// deployer does for the default one.
contract ReplicasWorldDeployer {
    function deploy(LocalEnvironment.Replicas replicas) external returns (World memory) {
        LocalEnvironment.Config memory cfg = LocalEnvironment.defaultConfig();
        cfg.replicas = replicas;
        return ChaosWorld.fromEnvironment(LocalEnvironment.deploy(cfg, address(this)), address(this));
    }
}

/// @notice `feed_aggregator_switch` (script/chaos/scenarios/FeedScenarios.sol): on the real
/// Chainlink proxy of the default local chain, on the hand-written replicas (the switch
/// emulated), and against a vault that mis-reads freshness, which it must catch.
abstract contract FeedSwitchSuite is Test, ScenarioRunner {
    string internal constant ID = "feed_aggregator_switch";

    function _replicas() internal pure virtual returns (LocalEnvironment.Replicas);

    function setUp() public {
        vm.warp(1_760_000_000);
        ReplicasWorldDeployer deployer = new ReplicasWorldDeployer();
        vm.deal(address(deployer), 10_000 ether);
        _world = deployer.deploy(_replicas());
        _defaultFactory = new DefaultVaultFactory();
        _steps = new ScenarioSteps();
        _worldReady = true;
    }

    function _check(ScenarioResult memory r, string memory name) internal pure returns (Check memory) {
        for (uint256 i; i < r.checks.length; ++i) {
            if (keccak256(bytes(r.checks[i].name)) == keccak256(bytes(name))) return r.checks[i];
        }
        revert(string.concat("no check ", name));
    }

    function test_feedAggregatorSwitch_holds() public {
        ScenarioResult memory r = runScenarioAgainst(ID, _factory());
        assertTrue(r.held, "the vault holds across an aggregator switch");
        assertEq(_check(r, "feed_phase_jump_fresh").observed, 1);
        assertEq(_check(r, "feed_phase_jump_stale").observed, 1);
        assertGt(_check(r, "S2_bounty_with_fresh_feed_wei_fresh").observed, 0);
        assertEq(_check(r, "S2_bounty_wei_stale").observed, 0);
        assertGt(r.cycles, 0);
    }

    function test_feedAggregatorSwitch_catchesAVaultThatIgnoresStaleness() public {
        ScenarioResult memory r = runScenarioAgainst(ID, new StalenessIgnoredFactory());
        assertFalse(r.held, "a vault that takes a stale switched feed for fresh must be caught");
        Check memory stale = _check(r, "S2_bounty_wei_stale");
        assertFalse(stale.passed);
        assertGt(stale.observed, 0);
        assertTrue(_check(r, "S2_bounty_with_fresh_feed_wei_fresh").passed, "the fresh case still holds");
    }
}

contract FeedSwitchRealProxyTest is FeedSwitchSuite {
    function _replicas() internal pure override returns (LocalEnvironment.Replicas) {
        return LocalEnvironment.Replicas.REAL;
    }

    /// On the real proxy the switch is real: phase 2, and the old aggregator's fresh round does
    /// not reach the vault.
    function test_feedAggregatorSwitch_usesTheProxysOwnSwitch() public {
        ScenarioResult memory r = runScenarioAgainst(ID, _factory());
        assertEq(_check(r, "S2_bounty_wei_stale_old_aggregator_fresh").observed, 0);
        assertGt(_check(r, "feed_round_id_increase_fresh").observed, int256(uint256(1) << 64) - 1e6);
    }
}

contract FeedSwitchHandReplicaTest is FeedSwitchSuite {
    function _replicas() internal pure override returns (LocalEnvironment.Replicas) {
        return LocalEnvironment.Replicas.HAND;
    }
}
