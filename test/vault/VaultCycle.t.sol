// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Test.sol";
import {VaultFixture} from "./VaultFixture.sol";
import {VaultCore} from "../../contracts/vault/VaultCore.sol";
import {IAsterDiamond} from "../../contracts/interfaces/IAster.sol";
import {AlpSkipReason, Config, CyclePath, Legs, Regime, RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @notice cycle(): rate limit, investing, hedging, risk modes and the failure semantics.
contract VaultCycleTest is VaultFixture {
    function test_cycle_revertsWhenCalledBeforeMinCycleInterval() public {
        _invest();
        _warp(cfg.minCycleInterval - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                VaultCore.CycleTooSoon.selector, vault.lastCycle().timestamp + cfg.minCycleInterval
            )
        );
        vault.cycle();
    }

    function test_cycle_investsTowardRegimeWeights() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        (CyclePath path,) = _cycle();
        assertEq(uint256(path), uint256(CyclePath.REBALANCE));
        Legs memory l = vault.legs();
        // NORMAL regime (too few volatility samples): LP+hedge 50%, ALP 30%, buffer 20%.
        assertApproxEqRel(l.lp + l.hedge, l.nav / 2, 0.03e18);
        assertApproxEqRel(l.alp, l.nav * 3 / 10, 0.03e18);
        assertApproxEqRel(l.buffer, l.nav / 5, 0.05e18);
    }

    function test_cycle_isIdleWhenLegsAreOnTarget() public {
        _invest();
        (CyclePath path, uint256 bounty) = _nextCycle();
        assertEq(uint256(path), uint256(CyclePath.IDLE));
        assertEq(bounty, 0);
    }

    function test_cycle_opensHedgeOnceWhilePending() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        (bool pending, uint256 qty,,) = vault.pendingHedge();
        assertTrue(pending);
        assertGt(qty, 0);
        // Aster's keepers have not executed it: the next cycle must not send another trade.
        vm.recordLogs();
        _nextCycle();
        (bool opened,) = _findLog(vm.getRecordedLogs(), VaultCore.HedgeOpened.selector);
        assertFalse(opened);
        assertEq(env.asterDiamond.pendingTradeHashes().length, 1);
        (, uint256 qtyAfter,,) = vault.pendingHedge();
        assertEq(qtyAfter, qty);
        // Counted once: the delta is within the band with the trade still pending.
        int256 delta = vault.hedgeDeltaBps();
        assertLe(delta < 0 ? -delta : delta, int256(uint256(cfg.deltaBandBps)));
    }

    /// One pending trade at a time: while Aster has not settled the first trade, more exposure
    /// sends no second one (its fate, executed or refunded, would be ambiguous in the record);
    /// once it executed, the next cycle covers the rest with one new trade.
    function test_cycle_sendsNoSecondTradeWhileOneIsPending() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        (, uint256 firstQty, uint256 firstMargin,) = vault.pendingHedge();
        assertGt(firstQty, 0);
        // More exposure arrives while the first trade is still pending at Aster.
        _deposit(bob, DEPOSIT);
        _nextCycle();
        assertEq(env.asterDiamond.pendingTradeHashes().length, 1, "no second trade while one is pending");
        (, uint256 qty, uint256 margin,) = vault.pendingHedge();
        assertEq(qty, firstQty, "the pending trade counted once, not re-sent");
        assertEq(margin, firstMargin);
        // Aster executes it: the next cycle covers the rest with one new trade.
        _executeHedges();
        _nextCycle();
        assertEq(env.asterDiamond.pendingTradeHashes().length, 1);
        (, uint256 rest,,) = vault.pendingHedge();
        assertGt(rest, 0, "the uncovered exposure is hedged by a new trade");
        assertApproxEqRel(firstQty + rest, vault.legs().btcExposure / 1e8, 0.03e18);
        int256 delta = vault.hedgeDeltaBps();
        assertLe(delta < 0 ? -delta : delta, int256(uint256(cfg.deltaBandBps)));
    }

    function test_cycle_lpLegWaitsWhileHedgeTradesArePending() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        // Half the vault leaves: the LP leg is now too large, but the pending short cannot be
        // cancelled, so cutting LP now would leave the vault net short.
        vm.startPrank(alice);
        vault.requestRedeem(vault.balanceOf(alice) / 2, alice, alice);
        vm.stopPrank();
        uint256 lp = env.lpPair.balanceOf(address(vault));
        _nextCycle();
        assertEq(env.lpPair.balanceOf(address(vault)), lp);
        // Once Aster executed the trade, the cut goes ahead and the hedge follows.
        _executeHedges();
        _nextCycle();
        assertLt(env.lpPair.balanceOf(address(vault)), lp);
        int256 delta = vault.hedgeDeltaBps();
        assertLe(delta < 0 ? -delta : delta, int256(uint256(cfg.deltaBandBps)));
    }

    function test_cycle_mergesHedgePositionsPastTheCap() public {
        _invest();
        uint256 most;
        for (uint256 i; i < 12; ++i) {
            _deposit(bob, 15_000e18); // each one needs a little more short
            _nextCycle();
            _syncMark(); // Aster's mark follows the market the vault's buys move
            _executeHedges();
            uint256 n = env.asterDiamond.getPositionsV2(address(vault), address(env.btcb)).length;
            if (n > most) most = n;
        }
        assertLe(most, 8);
        int256 delta = vault.hedgeDeltaBps();
        assertLe(delta < 0 ? -delta : delta, int256(uint256(cfg.deltaBandBps)));
    }

    function test_cycle_clearsPendingHedgeOnceExecuted() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        _executeHedges();
        vm.recordLogs();
        _nextCycle();
        (bool executed,) = _findLog(vm.getRecordedLogs(), VaultCore.HedgeExecuted.selector);
        assertTrue(executed);
        (bool pending,,,) = vault.pendingHedge();
        assertFalse(pending);
        assertEq(env.asterDiamond.getPositionsV2(address(vault), address(env.btcb)).length, 1);
    }

    function test_cycle_rehedgesAfterPendingTradeIsRefunded() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        uint256 navBefore = vault.nav();
        // Aster's keeper gives up on the trade and refunds the margin: counted once, not twice.
        bytes32[] memory hashes = env.asterDiamond.pendingTradeHashes();
        env.asterDiamond.cancelPendingTrade(hashes[0]);
        assertApproxEqRel(vault.nav(), navBefore, 0.001e18);
        _warp(cfg.minCycleInterval);
        vm.recordLogs();
        (CyclePath path,) = _cycle();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (bool refunded,) = _findLog(logs, VaultCore.HedgePendingRefunded.selector);
        (bool opened,) = _findLog(logs, VaultCore.HedgeOpened.selector);
        assertTrue(refunded);
        assertTrue(opened);
        assertEq(uint256(path), uint256(CyclePath.REHEDGE));
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.NORMAL));
    }

    /// Past pendingHedgeTimeout an unexecuted, unrefunded trade is reported overdue once and
    /// stays counted (qty and margin, Aster still holds it): nothing is sent again.
    function test_cycle_keepsOverduePendingHedgeCounted() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        (, uint256 qty, uint256 margin,) = vault.pendingHedge();
        assertGt(qty, 0);
        _warp(cfg.pendingHedgeTimeout + 1);
        vm.recordLogs();
        _cycle();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (bool expired,) = _findLog(logs, VaultCore.HedgePendingExpired.selector);
        (bool opened,) = _findLog(logs, VaultCore.HedgeOpened.selector);
        assertTrue(expired, "reported overdue");
        assertFalse(opened, "no second trade");
        (bool pending, uint256 qtyAfter, uint256 marginAfter,) = vault.pendingHedge();
        assertTrue(pending);
        assertEq(qtyAfter, qty);
        assertEq(marginAfter, margin);
        assertEq(env.asterDiamond.pendingTradeHashes().length, 1);
        _warp(cfg.minCycleInterval);
        vm.recordLogs();
        _cycle();
        (expired,) = _findLog(vm.getRecordedLogs(), VaultCore.HedgePendingExpired.selector);
        assertFalse(expired, "reported once");
    }

    function test_cycle_keepsDeltaWithinBandAfterNormalCycle() public {
        _invest();
        int256 delta = vault.hedgeDeltaBps();
        assertLe(delta < 0 ? -delta : delta, int256(uint256(cfg.deltaBandBps)));
    }

    // ------------------------------------------------------------------ risk mode

    function test_cycle_entersOnlyUnwindWhenSpotDeviatesFromTwap() public {
        _invest();
        _moveSpotTo(-400);
        _warp(cfg.minCycleInterval);
        vm.expectEmit(address(vault));
        emit VaultCore.RiskModeChanged(RiskMode.NORMAL, RiskMode.ONLY_UNWIND, VaultCore.RiskReason.DEVIATION);
        _cycle();
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
        assertEq(vault.maxDeposit(alice), 0);
        assertEq(vault.maxMint(alice), 0);
    }

    function test_cycle_entersOnlyUnwindWhenOracleNotReady() public {
        _deposit(alice, DEPOSIT);
        vm.expectEmit(address(vault));
        emit VaultCore.RiskModeChanged(
            RiskMode.NORMAL, RiskMode.ONLY_UNWIND, VaultCore.RiskReason.ORACLE_NOT_READY
        );
        _cycle();
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
    }

    function test_cycle_entersOnlyUnwindWhenOracleStale() public {
        _invest();
        _warp(cfg.maxTwapAge + 1);
        vm.expectEmit(address(vault));
        emit VaultCore.RiskModeChanged(
            RiskMode.NORMAL, RiskMode.ONLY_UNWIND, VaultCore.RiskReason.ORACLE_STALE
        );
        _cycle();
    }

    function test_cycle_entersOnlyUnwindOnNavDrop() public {
        _invest();
        env.asterDiamond.setAlpPrice(0.8e8); // ALP (30% of NAV) -20%: NAV -6% > 3%
        _warp(cfg.minCycleInterval);
        vm.expectEmit(address(vault));
        emit VaultCore.RiskModeChanged(RiskMode.NORMAL, RiskMode.ONLY_UNWIND, VaultCore.RiskReason.NAV_DROP);
        _cycle();
    }

    function test_depositAndMint_revertInOnlyUnwind() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        env.usdt.mint(bob, 1000e18);
        vm.startPrank(bob);
        env.usdt.approve(address(vault), type(uint256).max);
        vm.expectRevert(VaultCore.DepositsPaused.selector);
        vault.deposit(1000e18, bob);
        vm.expectRevert(VaultCore.DepositsPaused.selector);
        vault.mint(1e24, bob);
        vm.stopPrank();
    }

    function test_cycle_returnsToNormalOnlyAfterSafeCycleThreshold() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        _moveSpotTo(0);
        // Let the TWAP forget the excursion, then count healthy cycles.
        uint256 cycles;
        while (vault.healthyCycleCount() == 0 && cycles < 10) {
            _nextCycle();
            cycles++;
        }
        assertEq(vault.healthyCycleCount(), 1);
        for (uint256 i = 1; i < cfg.safeCycleThreshold; ++i) {
            assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
            _nextCycle();
        }
        assertEq(vault.healthyCycleCount(), cfg.safeCycleThreshold);
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.NORMAL));
    }

    function test_cycle_unreadableSignalResetsHealthyCount() public {
        _invest();
        assertGt(vault.healthyCycleCount(), 0);
        _warp(cfg.maxTwapAge + 1);
        _cycle();
        assertEq(vault.healthyCycleCount(), 0);
    }

    function test_cycle_onlyUnwindRemovesLpAndDoesNotAddRisk() public {
        _invest();
        uint256 alpBefore = env.alp.balanceOf(address(vault));
        _moveSpotTo(400);
        _syncMark();
        vm.recordLogs();
        (CyclePath path,) = _nextCycle();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(uint256(path), uint256(CyclePath.UNWIND));
        (bool added,) = _findLog(logs, VaultCore.LiquidityAdded.selector);
        (bool minted,) = _findLog(logs, VaultCore.AlpMinted.selector);
        (bool opened,) = _findLog(logs, VaultCore.HedgeOpened.selector);
        assertFalse(added || minted || opened);
        assertEq(env.lpPair.balanceOf(address(vault)), 0);
        // Spot above the TWAP: BTCB sells within the bound, so the hedge is closed too.
        assertEq(env.btcb.balanceOf(address(vault)), 0);
        assertEq(env.asterDiamond.getPositionsV2(address(vault), address(env.btcb)).length, 0);
        (bool pending,,,) = vault.pendingHedge();
        assertFalse(pending);
        // ALP under cooldown stays (and stays accounted).
        assertEq(env.alp.balanceOf(address(vault)), alpBefore);
        assertGt(vault.legs().alp, 0);
    }

    // ------------------------------------------------------------------ failure semantics

    function test_cycle_revertsWhenCloseTradeFails() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _warp(cfg.minCycleInterval);
        bytes32 digest = vault.stateDigest();
        bytes memory reason = abi.encodeWithSignature("Error(string)", "aster: close paused");
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.closeTrade.selector), reason
        );
        vm.expectRevert(abi.encodeWithSelector(VaultCore.HedgeCloseFailed.selector, reason));
        vault.cycle();
        assertEq(vault.stateDigest(), digest);
    }

    function test_cycle_skipsAlpBurnDuringCooldownAndProceeds() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        uint256 alpBal = env.alp.balanceOf(address(vault));
        _warp(cfg.minCycleInterval);
        vm.expectEmit(address(vault));
        emit VaultCore.AlpBurnSkipped(AlpSkipReason.COOLDOWN, alpBal, "");
        (CyclePath path,) = _cycle();
        assertEq(uint256(path), uint256(CyclePath.UNWIND));
        assertEq(env.alp.balanceOf(address(vault)), alpBal);
        assertEq(vault.legs().alp, alpBal * env.asterDiamond.alpPrice() / 1e8);
    }

    function test_cycle_skipsAlpBurnWhenBurnRevertsAndProceeds() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _warp(env.asterDiamond.coolingDuration());
        uint256 alpBal = env.alp.balanceOf(address(vault));
        bytes memory reason = abi.encodeWithSignature("Error(string)", "aster: burn paused");
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.burnAlp.selector), reason
        );
        vm.expectEmit(address(vault));
        emit VaultCore.AlpBurnSkipped(AlpSkipReason.BURN_REVERTED, alpBal, reason);
        _cycle();
        assertEq(env.alp.balanceOf(address(vault)), alpBal);
        assertEq(env.lpPair.balanceOf(address(vault)), 0); // the rest of the cycle ran
        assertGt(vault.legs().alp, 0);
    }

    function test_cycle_burnsAlpInOnlyUnwindOnceCooldownElapsed() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _warp(env.asterDiamond.coolingDuration());
        _cycle();
        assertEq(env.alp.balanceOf(address(vault)), 0);
    }

    function test_cycle_refusesSwapBelowTwapBoundAndKeepsBtcb() public {
        _invest();
        _moveSpotTo(-400); // selling BTCB now would realise 4% below the TWAP
        vm.recordLogs();
        _nextCycle();
        (bool refused,) = _findLog(vm.getRecordedLogs(), VaultCore.SwapRefused.selector);
        assertTrue(refused);
        uint256 btc = env.btcb.balanceOf(address(vault));
        assertGt(btc, 0);
        // The BTCB is still valued (at the TWAP) and still hedged.
        assertGe(vault.legs().lp, btc * vault.oracle().price() / 1e18);
        assertGt(vault.legs().hedgeQty, 0);
    }

    function test_swap_minOutDerivedFromTwapFeeAndSlippage() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        vm.recordLogs();
        _cycle();
        (bool swapped, bytes memory data) = _findLog(vm.getRecordedLogs(), VaultCore.Swapped.selector);
        assertTrue(swapped);
        (uint256 amountIn, uint256 amountOut, uint256 minOut) = abi.decode(data, (uint256, uint256, uint256));
        uint256 twap = vault.oracle().lastTwap();
        // USDT -> BTCB at the TWAP, less Pancake's 0.25% and swapSlippageBps.
        uint256 expected = amountIn * 1e18 / twap * 9975 / 10_000 * (10_000 - cfg.swapSlippageBps) / 10_000;
        assertApproxEqRel(minOut, expected, 1e12);
        assertGe(amountOut, minOut);
    }

    function test_cycle_sameTimestampBlocksNeverFalseOnlyUnwind() public {
        _invest();
        // Several 0.45 s blocks share one timestamp: views and trades in them must not revert
        // or disturb the oracle, and the next cycle stays NORMAL.
        for (uint256 i; i < 5; ++i) {
            vm.roll(block.number + 1);
            _pushSpot(1000e18);
            _pushSpot(-1000e18);
            vault.nav();
            vault.oracle().read();
        }
        (, uint256 bounty) = _nextCycle();
        bounty;
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.NORMAL));
    }

    // ------------------------------------------------------------------ STORM flash deleverage

    function test_cycle_stormDeleveragesWithFlashSwapFromOtherPair() public {
        _invest();
        _enterStorm();
        uint256 lpBefore = env.lpPair.balanceOf(address(vault));
        (uint112 f0, uint112 f1,) = env.flashPair.getReserves();
        (CyclePath path,) = _cycle();
        assertEq(uint256(path), uint256(CyclePath.FLASH_DELEVERAGE));
        assertEq(uint256(vault.lastCycle().regime), uint256(Regime.STORM));
        assertLt(env.lpPair.balanceOf(address(vault)), lpBefore);
        (bool active, uint256 borrowed, uint256 allowance) = vault.flashState();
        assertFalse(active);
        assertEq(borrowed, 0);
        assertEq(allowance, 0);
        (uint112 g0, uint112 g1,) = env.flashPair.getReserves();
        assertGe(uint256(g0) * g1, uint256(f0) * f1);
    }

    function test_cycle_stormFallsBackWhenFlashPairDrained() public {
        _invest();
        _enterStorm();
        deal(address(env.usdt), address(env.flashPair), 1e18);
        env.flashPair.sync();
        uint256 lpBefore = env.lpPair.balanceOf(address(vault));
        (CyclePath path,) = _cycle();
        assertEq(uint256(path), uint256(CyclePath.DELEVERAGE_FALLBACK));
        assertLt(env.lpPair.balanceOf(address(vault)), lpBefore);
    }

    function test_cycle_stormFallsBackWhenFlashUnwindCannotRepay() public {
        _invest();
        _enterStorm();
        vm.mockCallRevert(
            address(env.pancakeRouter),
            abi.encodeWithSelector(env.pancakeRouter.swapExactTokensForTokens.selector),
            "router down"
        );
        vm.recordLogs();
        (CyclePath path,) = _cycle();
        (bool fellBack, bytes memory data) = _findLog(vm.getRecordedLogs(), VaultCore.FlashFallback.selector);
        assertTrue(fellBack);
        (,, bytes memory reason) = abi.decode(data, (uint256, uint256, bytes));
        // the selector is the first four bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(bytes4(reason), VaultCore.FlashRepayShortfall.selector);
        assertEq(uint256(path), uint256(CyclePath.DELEVERAGE_FALLBACK));
        (bool active, uint256 borrowed,) = vault.flashState();
        assertFalse(active);
        assertEq(borrowed, 0);
    }

    // ------------------------------------------------------------------ pancakeCall guards

    function test_pancakeCall_rejectsCallerOtherThanFlashPair() public {
        vm.expectRevert(VaultCore.FlashUnexpectedCaller.selector);
        vault.pancakeCall(address(vault), 1, 0, abi.encode(uint256(1), uint256(1), uint256(1)));
    }

    function test_pancakeCall_rejectsSwapNotStartedByVault() public {
        vm.prank(address(env.flashPair));
        vm.expectRevert(VaultCore.FlashUnexpectedSender.selector);
        vault.pancakeCall(alice, 1, 0, abi.encode(uint256(1), uint256(1), uint256(1)));
    }

    function test_pancakeCall_rejectsOutsideActiveFlash() public {
        vm.prank(address(env.flashPair));
        vm.expectRevert(VaultCore.FlashNotActive.selector);
        vault.pancakeCall(address(vault), 1, 0, abi.encode(uint256(1), uint256(1), uint256(1)));
    }

    function test_cycleModule_refusesDirectCalls() public {
        (bool ok, bytes memory ret) = vault.cycleModule().call(abi.encodeWithSignature("cycle()"));
        assertFalse(ok);
        // the selector is the first four bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(bytes4(ret), bytes4(keccak256("OnlyDelegateCall()")));
    }
}

/// @notice A flash cap below the need: a partial flash step, never leaving debt.
contract VaultFlashPartialTest is VaultFixture {
    function _tune(Config memory c) internal pure override {
        c.flashCapBps = 50; // 0.5% of the flash pair's 2.7M USDT: ~13.5k, below the need
        c.minFlashStepBps = 1000;
    }

    function test_cycle_stormTakesPartialFlashStepWhenCapBelowNeed() public {
        _invest();
        _enterStorm();
        (uint112 r0, uint112 r1,) = env.flashPair.getReserves();
        uint256 usdtReserve = env.flashPair.token0() == address(env.usdt) ? r0 : r1;
        vm.recordLogs();
        (CyclePath path,) = _cycle();
        assertEq(uint256(path), uint256(CyclePath.FLASH_PARTIAL));
        (bool found, bytes memory data) = _findLog(vm.getRecordedLogs(), VaultCore.FlashDeleverage.selector);
        assertTrue(found);
        (uint256 borrowed,,, bool partialStep) = abi.decode(data, (uint256, uint256, uint256, bool));
        assertTrue(partialStep);
        assertLe(borrowed, usdtReserve * cfg.flashCapBps / 10_000);
        (bool active, uint256 outstanding,) = vault.flashState();
        assertFalse(active);
        assertEq(outstanding, 0);
    }
}
