// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {CycleModule} from "../../contracts/vault/CycleModule.sol";
import {VaultCore} from "../../contracts/vault/VaultCore.sol";
import {Config, Regime, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @notice The constructor validates the one Config struct and the addresses with typed errors.
contract VaultConfigTest is VaultFixture {
    CycleModule internal module;

    function setUp() public override {
        super.setUp();
        module = new CycleModule(addresses());
    }

    function _expectDeployRevert(VaultAddresses memory a, Config memory c, bytes memory err) internal {
        vm.expectRevert(err);
        new YieldVault(a, c, address(module));
    }

    function test_deployVault_defaultConfigDeploys() public view {
        assertEq(address(vault.lpPair()), address(env.lpPair));
        assertEq(address(vault.flashPair()), address(env.flashPair));
        assertEq(vault.getConfig().minCycleInterval, cfg.minCycleInterval);
        assertEq(address(vault.oracle().pair()), address(env.lpPair));
    }

    function test_constructor_revertsWhenWeightsDoNotSumTo10000() public {
        Config memory c = DeployVault.defaultConfig();
        c.storm.lpBps += 1;
        _expectDeployRevert(
            addresses(), c, abi.encodeWithSelector(VaultCore.InvalidWeights.selector, Regime.STORM)
        );
    }

    function test_constructor_revertsWhenBufferWeightBelowTarget() public {
        Config memory c = DeployVault.defaultConfig();
        c.calm.bufferBps = 500;
        c.calm.lpBps = 6500;
        _expectDeployRevert(
            addresses(), c, abi.encodeWithSelector(VaultCore.InvalidWeights.selector, Regime.CALM)
        );
    }

    function test_constructor_revertsOnZeroAddress() public {
        VaultAddresses memory a = addresses();
        a.bnbUsdFeed = address(0);
        _expectDeployRevert(
            a, DeployVault.defaultConfig(), abi.encodeWithSelector(VaultCore.ZeroAddress.selector)
        );
    }

    function test_constructor_revertsWhenFlashPairIsLpPair() public {
        VaultAddresses memory a = addresses();
        a.flashPair = a.lpPair;
        _expectDeployRevert(
            a, DeployVault.defaultConfig(), abi.encodeWithSelector(VaultCore.PairMismatch.selector)
        );
    }

    function test_constructor_revertsWhenNavDropGuardNotAboveBountyCap() public {
        Config memory c = DeployVault.defaultConfig();
        c.maxNavDropBps = c.maxBountyBps;
        _expectDeployRevert(
            addresses(),
            c,
            // a short literal fits bytes32.
            // forge-lint: disable-next-line(unsafe-typecast)
            abi.encodeWithSelector(VaultCore.InvalidBps.selector, bytes32("maxNavDropBps"))
        );
    }

    function test_constructor_revertsOnZeroCycleInterval() public {
        Config memory c = DeployVault.defaultConfig();
        c.minCycleInterval = 0;
        _expectDeployRevert(
            addresses(),
            c,
            // a short literal fits bytes32.
            // forge-lint: disable-next-line(unsafe-typecast)
            abi.encodeWithSelector(VaultCore.InvalidInterval.selector, bytes32("minCycleInterval"))
        );
    }

    function test_constructor_revertsWhenCalmVolNotBelowStormVol() public {
        Config memory c = DeployVault.defaultConfig();
        c.calmVolBps = c.stormVolBps;
        _expectDeployRevert(
            addresses(),
            c,
            // a short literal fits bytes32.
            // forge-lint: disable-next-line(unsafe-typecast)
            abi.encodeWithSelector(VaultCore.InvalidBps.selector, bytes32("calmVolBps"))
        );
    }

    function test_constructor_revertsWhenModuleBuiltForOtherDependencies() public {
        VaultAddresses memory other = addresses();
        other.router = address(0xBEEF);
        CycleModule wrong = new CycleModule(other);
        vm.expectRevert(YieldVault.ModuleMismatch.selector);
        new YieldVault(addresses(), DeployVault.defaultConfig(), address(wrong));
    }
}
