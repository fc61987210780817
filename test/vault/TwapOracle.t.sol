// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {TwapOracle} from "../../contracts/vault/TwapOracle.sol";
import {IPancakePair} from "../../contracts/interfaces/IPancake.sol";
import {OracleReading, Regime} from "../../contracts/vault/VaultTypes.sol";

/// @notice The TWAP oracle on the replica pair, with this test as its vault.
contract TwapOracleTest is VaultFixture {
    TwapOracle internal oracle;

    function setUp() public override {
        super.setUp();
        oracle = new TwapOracle(
            IPancakePair(address(env.lpPair)), address(env.btcb), 30 minutes, 2 hours, 15, 100
        );
    }

    function test_oracle_notReadyBeforeOneWindow() public {
        _warp(29 minutes);
        OracleReading memory r = oracle.update();
        assertFalse(r.ready);
        assertEq(r.twap, 0);
        assertEq(r.deviationBps, type(uint256).max);
    }

    function test_oracle_twapEqualsSteadySpotAfterOneWindow() public {
        _warp(30 minutes);
        OracleReading memory r = oracle.update();
        assertTrue(r.ready);
        assertFalse(r.stale);
        assertApproxEqRel(r.twap, 90_000e18, 1e12);
        assertLe(r.deviationBps, 1);
    }

    function test_oracle_twapIgnoresSpotMovedInTheSameBlock() public {
        _warp(30 minutes);
        oracle.update();
        _moveSpotTo(-1000);
        OracleReading memory r = oracle.read();
        assertApproxEqRel(r.twap, 90_000e18, 1e12);
        assertApproxEqRel(r.spot, 81_000e18, 1e15);
        assertApproxEqAbs(r.deviationBps, 1000, 2);
    }

    function test_oracle_sameTimestampBlocksAddNoObservationAndNeverDivideByZero() public {
        _warp(30 minutes);
        oracle.update();
        uint8 count = oracle.count();
        for (uint256 i; i < 10; ++i) {
            vm.roll(block.number + 1); // 0.45 s blocks: same timestamp
            _pushSpot(int256(10_000e18));
            OracleReading memory r = oracle.update();
            assertTrue(r.ready);
            assertGt(r.twap, 0);
        }
        assertEq(oracle.count(), count);
    }

    function test_oracle_staleWhenWindowStartIsTooOld() public {
        _warp(3 hours);
        OracleReading memory r = oracle.update();
        assertTrue(r.ready);
        assertTrue(r.stale);
    }

    function test_oracle_observationsSpacedByQuarterWindow() public {
        _warp(1 minutes);
        oracle.update();
        assertEq(oracle.count(), 1);
        _warp(7 minutes + 30);
        oracle.update();
        assertEq(oracle.count(), 2);
    }

    function test_oracle_regimeStaysNormalWithFewSamples() public {
        _warp(10 minutes);
        OracleReading memory r = oracle.update();
        assertEq(uint256(r.regime), uint256(Regime.NORMAL));
    }

    function test_oracle_regimeCalmOnFlatPrices() public {
        OracleReading memory r;
        for (uint256 i; i < 6; ++i) {
            _warp(10 minutes);
            r = oracle.update();
        }
        assertEq(r.volBps, 0);
        assertEq(uint256(r.regime), uint256(Regime.CALM));
    }

    function test_oracle_regimeStormOnLargeReturns() public {
        OracleReading memory r;
        for (uint256 i; i < 6; ++i) {
            _moveSpotTo(i % 2 == 0 ? int256(-150) : int256(150));
            _warp(10 minutes);
            r = oracle.update();
        }
        assertGe(r.volBps, 100);
        assertEq(uint256(r.regime), uint256(Regime.STORM));
    }

    function test_oracle_onlyVaultMayUpdate() public {
        vm.prank(alice);
        vm.expectRevert(TwapOracle.OnlyVault.selector);
        oracle.update();
    }

    function test_oracle_counterfactualCumulativeCoversTimeSinceLastSwap() public {
        uint256 stored = env.lpPair.price0CumulativeLast();
        _warp(100);
        // token order decides which cumulative; with no swap since, it grows by price * 100 s.
        uint256 cum = oracle.currentCumulative();
        assertGt(cum, stored);
    }
}
