// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {CyclePath} from "../../contracts/vault/VaultTypes.sol";
import {console} from "forge-std/Test.sol";

/// @notice One contract per cycle() path: setUp prepares the state, the test runs only the
/// cycle, so `forge snapshot --match-test test_gas_` prints one line per path. Each test
/// asserts the path, the 2,000,000 gas ceiling and that bountyGasUnits covers paid paths.
abstract contract GasPath is VaultFixture {
    uint256 internal constant MAX_CYCLE_GAS = 2_000_000;

    function _measure(CyclePath expected, bool paid) internal returns (uint256 used) {
        vm.txGasPrice(GAS_PRICE);
        vm.prank(keeper, keeper);
        uint256 g = gasleft();
        (CyclePath path, uint256 bounty) = vault.cycle();
        used = g - gasleft();
        console.log("cycle gas", used, "path", uint256(path));
        assertEq(uint256(path), uint256(expected));
        assertLt(used, MAX_CYCLE_GAS);
        if (paid) {
            assertGt(bounty, 0);
            assertLe(used, cfg.bountyGasUnits);
            assertLe(vault.lastCycle().gasUsed, cfg.bountyGasUnits);
        } else {
            assertEq(bounty, 0);
        }
    }
}

contract GasIdleTest is GasPath {
    function setUp() public override {
        super.setUp();
        _invest();
        _warp(cfg.minCycleInterval);
    }

    function test_gas_cycle_idle() public {
        _measure(CyclePath.IDLE, false);
    }
}

contract GasRebalanceTest is GasPath {
    function setUp() public override {
        super.setUp();
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
    }

    function test_gas_cycle_rebalance() public {
        _measure(CyclePath.REBALANCE, true);
    }
}

contract GasRehedgeTest is GasPath {
    function setUp() public override {
        super.setUp();
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        env.asterDiamond.cancelPendingTrade(env.asterDiamond.pendingTradeHashes()[0]);
        _warp(cfg.minCycleInterval);
    }

    function test_gas_cycle_rehedge() public {
        _measure(CyclePath.REHEDGE, true);
    }
}

contract GasUnwindTest is GasPath {
    function setUp() public override {
        super.setUp();
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _warp(cfg.minCycleInterval);
    }

    function test_gas_cycle_onlyUnwind() public {
        _measure(CyclePath.UNWIND, true);
    }
}

contract GasFlashTest is GasPath {
    function setUp() public override {
        super.setUp();
        _invest();
        _enterStorm();
    }

    function test_gas_cycle_stormFlashDeleverage() public {
        _measure(CyclePath.FLASH_DELEVERAGE, true);
    }
}
