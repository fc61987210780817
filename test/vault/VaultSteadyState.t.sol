// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {SteadyState} from "./SteadyState.sol";
import {IAsterDiamond} from "../../contracts/interfaces/IAster.sol";
import {IPancakePair} from "../../contracts/interfaces/IPancake.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {CycleRecord, RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @notice For each steady-state check: the vault keeps it, and the check catches a violation.
contract VaultSteadyStateTest is VaultFixture, SteadyState {
    uint256 internal constant RISK_MODE_SLOT = 12;
    uint256 internal constant FLASH_BORROWED_SLOT = 23;

    function _prank(address who) internal override {
        vm.prank(who);
    }

    // S1 ------------------------------------------------------------------------------------

    function test_S1_vaultKeepsValueAcrossCycles() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        for (uint256 i; i < 4; ++i) {
            _cycle();
            CycleRecord memory r = vault.lastCycle();
            assertTrue(s1Value(r.navBefore, r.navAfter, r.bounty, cfg.swapSlippageBps), "S1");
            _executeHedges();
            _warp(cfg.minCycleInterval);
        }
    }

    function test_S1_catchesValueLeak() public {
        _invest();
        uint256 navBefore = vault.nav();
        _nextCycle();
        // Broken state: USDT leaves the vault without a reason (e.g. a bad approval drained).
        deal(address(env.usdt), address(vault), 0);
        assertFalse(s1Value(navBefore, vault.nav(), vault.lastCycle().bounty, cfg.swapSlippageBps));
    }

    // S2 ------------------------------------------------------------------------------------

    function test_S2_vaultKeepsBountyCapsAtAnyGasPrice() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        vm.txGasPrice(50_000 gwei);
        vm.prank(keeper, keeper);
        (, uint256 bounty) = vault.cycle();
        assertGt(bounty, 0);
        assertTrue(s2Bounty(bounty, vault.lastCycle().navAfter + bounty, cfg, 50_000 gwei, 900e18), "S2");
    }

    function test_S2_catchesUncappedGasBounty() public view {
        uint256 uncapped = uint256(cfg.bountyGasUnits) * 50_000 gwei * 900; // tx.gasprice unclamped
        assertFalse(s2Bounty(uncapped, 1_000_000e18, cfg, 50_000 gwei, 900e18));
    }

    // S3 ------------------------------------------------------------------------------------

    function test_S3_vaultLeavesNoFlashDebt() public {
        _invest();
        _enterStorm();
        (uint112 r0, uint112 r1,) = env.flashPair.getReserves();
        _cycle();
        assertTrue(s3Flash(vault, IPancakePair(address(env.flashPair)), uint256(r0) * r1), "S3");
    }

    function test_S3_catchesOutstandingFlashBorrow() public {
        _invest();
        (uint112 r0, uint112 r1,) = env.flashPair.getReserves();
        vm.store(address(vault), bytes32(FLASH_BORROWED_SLOT), bytes32(uint256(1000e18)));
        assertFalse(s3Flash(vault, IPancakePair(address(env.flashPair)), uint256(r0) * r1));
    }

    function test_S3_catchesPairKDecrease() public {
        _invest();
        (uint112 r0, uint112 r1,) = env.flashPair.getReserves();
        uint256 k = uint256(r0) * r1;
        deal(
            address(env.usdt),
            address(env.flashPair),
            IERC20(address(env.usdt)).balanceOf(address(env.flashPair)) / 2
        );
        env.flashPair.sync();
        assertFalse(s3Flash(vault, IPancakePair(address(env.flashPair)), k));
    }

    // S4 ------------------------------------------------------------------------------------

    function test_S4_vaultEntersOnlyUnwindBeyondGuard() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        uint256 dev = vault.oracle().read().deviationBps;
        assertGt(dev, cfg.maxDeviationBps);
        assertTrue(s4Guard(vault, dev, cfg.maxDeviationBps, bob), "S4 guard");
        // and exits only after the threshold
        _moveSpotTo(0);
        RiskMode prev = vault.riskMode();
        for (uint256 i; i < 12; ++i) {
            _nextCycle();
            assertTrue(
                s4Exit(prev, vault.riskMode(), vault.healthyCycleCount(), cfg.safeCycleThreshold), "S4 exit"
            );
            prev = vault.riskMode();
        }
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.NORMAL));
    }

    function test_S4_catchesNormalModeBeyondGuard() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        vm.store(address(vault), bytes32(RISK_MODE_SLOT), bytes32(uint256(uint8(RiskMode.NORMAL))));
        uint256 dev = vault.oracle().read().deviationBps;
        assertFalse(s4Guard(vault, dev, cfg.maxDeviationBps, bob));
    }

    function test_S4_catchesEarlyExit() public pure {
        assertFalse(s4Exit(RiskMode.ONLY_UNWIND, RiskMode.NORMAL, 1, 3));
    }

    // S5 ------------------------------------------------------------------------------------

    function test_S5_revertedCycleChangesNothing() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _warp(cfg.minCycleInterval);
        bytes32 before = vault.stateDigest();
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.closeTrade.selector), ""
        );
        try vault.cycle() {
            fail();
        } catch {}
        assertTrue(s5Atomic(before, vault.stateDigest()), "S5");
    }

    function test_S5_skippedLegStaysAccounted() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _nextCycle(); // ALP burn skipped (cooldown)
        uint256 alpBal = env.alp.balanceOf(address(vault));
        assertGt(alpBal, 0);
        assertEq(vault.legs().alp, alpBal * env.asterDiamond.alpPrice() / 1e8, "S5 consistent");
    }

    function test_S5_catchesChangedState() public {
        _invest();
        bytes32 before = vault.stateDigest();
        _deposit(bob, 1e18);
        assertFalse(s5Atomic(before, vault.stateDigest()));
    }

    // S6 ------------------------------------------------------------------------------------

    function test_S6_sharePriceStableAcrossCycles() public {
        _invest();
        for (uint256 i; i < 4; ++i) {
            uint256 before = vault.sharePrice();
            _nextCycle();
            _executeHedges();
            assertTrue(s6SharePrice(before, vault.sharePrice(), cfg.maxNavDropBps), "S6");
        }
    }

    function test_S6_catchesSharePriceJump() public {
        _invest();
        uint256 before = vault.sharePrice();
        env.usdt.mint(address(vault), DEPOSIT); // broken: value appears from nowhere
        assertFalse(s6SharePrice(before, vault.sharePrice(), cfg.maxNavDropBps));
    }

    // S7 ------------------------------------------------------------------------------------

    function test_S7_exitLiveInOnlyUnwindWithAsterFaults() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.burnAlp.selector), ""
        );
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.closeTrade.selector), ""
        );
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
        assertTrue(s7ExitLiveness(vault, alice), "S7");
    }

    function test_S7_catchesBlockedExit() public {
        _invest();
        vm.mockCallRevert(address(env.usdt), abi.encodeWithSelector(IERC20.transfer.selector), "frozen");
        assertFalse(s7ExitLiveness(vault, alice));
    }

    // S8 ------------------------------------------------------------------------------------

    function test_S8_deltaWithinBandAfterNormalCycles() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        for (uint256 i; i < 4; ++i) {
            _cycle();
            assertTrue(s8Hedge(vault, cfg.deltaBandBps), "S8");
            if (i % 2 == 1) _executeHedges(); // pending across a cycle, counted once
            _warp(cfg.minCycleInterval);
        }
    }

    function test_S8_catchesMissingHedge() public {
        _invest();
        vm.mockCall(
            address(env.asterDiamond),
            abi.encodeWithSelector(IAsterDiamond.getPositionsV2.selector),
            abi.encode(new IAsterDiamond.Position[](0))
        );
        assertFalse(s8Hedge(vault, cfg.deltaBandBps));
    }
}
