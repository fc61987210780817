// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {ReplicaFixture} from "./ReplicaFixture.sol";
import {
    IAsterAlpManager,
    IAsterBook,
    IAsterTradingPortal,
    IAsterTradingReader
} from "../../contracts/replicas/aster/IAsterFacets.sol";
import {IAsterReplica} from "../../contracts/replicas/aster/IAsterReplica.sol";
import {AsterDiamondReplica} from "../../contracts/replicas/aster/AsterDiamondReplica.sol";

contract AsterDiamondReplicaTest is ReplicaFixture {
    AsterDiamondReplica internal aster;
    address internal user = makeAddr("user");
    address internal other = makeAddr("other");
    address internal btc;
    address internal bnb;

    uint64 internal constant BTC_90K = 90_000e8;
    uint80 internal constant ONE_BTC = 1e10; // qty has 10 decimals

    function setUp() public override {
        super.setUp();
        aster = env.asterDiamond;
        btc = address(env.btcb);
        bnb = address(env.wbnb);
        for (uint256 i; i < 2; i++) {
            address who = i == 0 ? user : other;
            _give(address(env.usdt), who, 1_000_000e18);
            vm.prank(who);
            env.usdt.approve(address(aster), type(uint256).max);
        }
    }

    // ------------------------------------------------------------------ helpers

    function _trade(address pairBase, bool isLong, uint96 amountIn, uint80 qty, uint64 limit)
        internal
        pure
        returns (IAsterBook.OpenDataInput memory data)
    {
        data = IAsterBook.OpenDataInput({
            pairBase: pairBase,
            isLong: isLong,
            tokenIn: address(0), // set by _open
            amountIn: amountIn,
            qty: qty,
            // 0 here means "any price": the worst price a long or short can name.
            price: limit != 0 ? limit : (isLong ? type(uint64).max : 0),
            stopLoss: 0,
            takeProfit: 0,
            broker: 0
        });
    }

    /// @dev Submits a market trade as `who` and returns its hash from the MarketPendingTrade log.
    function _open(address who, IAsterBook.OpenDataInput memory data) internal returns (bytes32 tradeHash) {
        data.tokenIn = address(env.usdt);
        vm.recordLogs();
        vm.prank(who);
        aster.openMarketTrade(data);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; i++) {
            if (logs[i].topics[0] == IAsterTradingPortal.MarketPendingTrade.selector) {
                return logs[i].topics[2];
            }
        }
        revert("no MarketPendingTrade");
    }

    /// @dev A 10x BTC position of one BTC at 90,000: 9,000 USDT in, 72 USDT open fee.
    function _openBtc(address who, bool isLong) internal returns (bytes32 tradeHash) {
        tradeHash = _open(who, _trade(btc, isLong, 9000e18, ONE_BTC, 0));
        aster.executePendingTrade(tradeHash);
    }

    function _closeFee(uint64 price) internal pure returns (uint256) {
        return uint256(ONE_BTC) * price * 8 / 10_000;
    }

    // ------------------------------------------------------------------ ALP

    function test_aster_mintAlpMintsAtAlpPrice() public {
        aster.setAlpPrice(1.25e8);
        uint256 pool = aster.poolBalance();
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1000e18, 800e18, false);
        assertEq(env.alp.balanceOf(user), 800e18);
        assertEq(aster.poolBalance(), pool + 1000e18);
        assertEq(env.usdt.balanceOf(user), 999_000e18);
    }

    function test_aster_mintAlpRecordsLastMintedTimestamp() public {
        vm.warp(1_800_000_000);
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1e18, 0, false);
        assertEq(aster.lastMintedTimestamp(user), 1_800_000_000);
        assertEq(aster.lastMintedTimestamp(other), 0);
    }

    function test_aster_mintAlpRevertsBelowMinAlp() public {
        aster.setAlpPrice(1.25e8);
        vm.prank(user);
        vm.expectRevert("AlpManagerFacet: insufficient ALP output");
        aster.mintAlp(address(env.usdt), 1000e18, 800e18 + 1, false);
    }

    function test_aster_mintAlpEmitsAstersEvent() public {
        vm.expectEmit(address(aster));
        emit IAsterAlpManager.MintAlp(user, address(env.usdt), 10e18, 10e18);
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 10e18, 0, false);
    }

    function test_aster_mintAlpRevertsForZeroAmount() public {
        vm.prank(user);
        vm.expectRevert("AlpManagerFacet: invalid amount");
        aster.mintAlp(address(env.usdt), 0, 0, false);
    }

    function test_aster_mintAlpRevertsForATokenOtherThanUsdt() public {
        vm.prank(user);
        vm.expectRevert("LibAlpManager: Token does not exist");
        aster.mintAlp(btc, 1e18, 0, false);
    }

    function test_aster_mintAlpRevertsWhenStakingIsRequested() public {
        vm.prank(user);
        vm.expectRevert(AsterDiamondReplica.StakeNotSupported.selector);
        aster.mintAlp(address(env.usdt), 1e18, 0, true);
    }

    function test_aster_burnAlpRevertsDuringCooldown() public {
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1000e18, 0, false);
        uint256 unlocksAt = block.timestamp + 48 hours;
        vm.warp(unlocksAt - 1);
        vm.prank(user);
        vm.expectRevert("LibAlpManager: Cooling duration not yet passed");
        aster.burnAlp(address(env.usdt), 1e18, 0, user);
    }

    function test_aster_burnAlpSucceedsWhenCooldownEnds() public {
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1000e18, 0, false);
        vm.warp(block.timestamp + aster.coolingDuration());
        vm.prank(user);
        aster.burnAlp(address(env.usdt), 1000e18, 1000e18, other);
        assertEq(env.alp.balanceOf(user), 0);
        assertEq(env.usdt.balanceOf(other), 1_001_000e18);
    }

    function test_aster_anotherMintRestartsTheCooldown() public {
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1000e18, 0, false);
        vm.warp(block.timestamp + 47 hours);
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1e18, 0, false);
        vm.warp(block.timestamp + 2 hours); // 49 h after the first mint, 2 h after the second
        vm.prank(user);
        vm.expectRevert("LibAlpManager: Cooling duration not yet passed");
        aster.burnAlp(address(env.usdt), 1e18, 0, user);
    }

    function test_aster_burnAlpPaysAtTheDriftedAlpPrice() public {
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1000e18, 0, false);
        aster.setAlpPrice(0.9e8); // the pool lost 10%
        vm.warp(block.timestamp + 48 hours);
        vm.prank(user);
        aster.burnAlp(address(env.usdt), 1000e18, 0, user);
        assertEq(env.usdt.balanceOf(user), 999_000e18 + 900e18);
    }

    function test_aster_burnAlpRevertsBelowMinOut() public {
        vm.prank(user);
        aster.mintAlp(address(env.usdt), 1000e18, 0, false);
        vm.warp(block.timestamp + 48 hours);
        vm.prank(user);
        vm.expectRevert("AlpManagerFacet: insufficient token output");
        aster.burnAlp(address(env.usdt), 1000e18, 1001e18, user);
    }

    function test_aster_burnAlpRevertsWhenThePoolCannotPay() public {
        aster.setAlpPrice(2e8); // ALP claims twice the USDT the pool holds
        vm.warp(block.timestamp + 48 hours);
        uint256 alpAmount = env.alp.balanceOf(address(this));
        vm.expectRevert("LibAlpManager: tokenOut balance is insufficient");
        aster.burnAlp(address(env.usdt), alpAmount, 0, address(this));
    }

    function test_aster_coolingDurationIsSettableByAdminOnly() public {
        assertEq(aster.coolingDuration(), 48 hours);
        aster.setCoolingDuration(1 hours);
        assertEq(aster.coolingDuration(), 1 hours);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(AsterDiamondReplica.NotAdmin.selector, user));
        aster.setCoolingDuration(0);
    }

    function test_aster_alpPriceIsSettableByKeeperOnly() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(AsterDiamondReplica.NotKeeper.selector, user));
        aster.setAlpPrice(2e8);
        aster.setKeeper(user, true);
        vm.prank(user);
        aster.setAlpPrice(2e8);
        assertEq(aster.alpPrice(), 2e8);
    }

    // ------------------------------------------------------------------ pending trades

    function test_aster_openMarketTradeOnlyRecordsAPendingTrade() public {
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        assertTrue(aster.isPending(tradeHash));
        assertFalse(aster.isOpen(tradeHash));
        assertEq(aster.getPositionsV2(user, btc).length, 0, "a pending trade is not a position");
        assertEq(env.usdt.balanceOf(user), 1_000_000e18 - 9000e18, "margin taken at submission");
        IAsterReplica.PendingTrade memory pending = aster.pendingTrade(tradeHash);
        assertEq(pending.user, user);
        assertEq(pending.data.qty, ONE_BTC);
        assertEq(pending.blockNumber, block.number);
    }

    function test_aster_identicalTradesInOneBlockGetDistinctHashes() public {
        bytes32 first = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        bytes32 second = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        assertTrue(first != second);
        assertEq(aster.pendingTradeHashes().length, 2);
    }

    function test_aster_executePendingTradeOpensAtTheKeepersMarkPrice() public {
        bytes32 tradeHash = _open(user, _trade(btc, false, 9000e18, ONE_BTC, 0));
        aster.setMarkPrice(btc, 91_000e8);
        assertTrue(aster.executePendingTrade(tradeHash));
        IAsterTradingReader.Position[] memory positions = aster.getPositionsV2(user, btc);
        assertEq(positions.length, 1);
        assertEq(positions[0].positionHash, tradeHash);
        assertEq(positions[0].entryPrice, 91_000e8);
        assertEq(positions[0].qty, ONE_BTC);
        assertFalse(positions[0].isLong);
        uint256 openFee = uint256(ONE_BTC) * 91_000e8 * 8 / 10_000;
        assertEq(positions[0].openFee, openFee);
        assertEq(positions[0].margin, 9000e18 - openFee);
        assertEq(positions[0].pair, "BTC/USD");
        assertEq(positions[0].marginToken, address(env.usdt));
        assertFalse(aster.isPending(tradeHash));
        assertTrue(aster.isOpen(tradeHash));
    }

    function test_aster_executePendingTradeIsKeeperOnly() public {
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(AsterDiamondReplica.NotKeeper.selector, user));
        aster.executePendingTrade(tradeHash);
    }

    function test_aster_executePendingTradeCancelsAndRefundsBeyondTheLimitPrice() public {
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 90_500e8));
        aster.setMarkPrice(btc, 90_501e8); // worse than the long's limit
        vm.expectEmit(address(aster));
        emit IAsterReplica.PendingTradeRefund(user, tradeHash, IAsterReplica.Refund.USER_PRICE);
        assertFalse(aster.executePendingTrade(tradeHash));
        assertEq(env.usdt.balanceOf(user), 1_000_000e18);
        assertEq(aster.getPositionsV2(user, btc).length, 0);
        assertFalse(aster.isPending(tradeHash));
    }

    function test_aster_longWithPriceZeroIsAlwaysRefunded() public {
        IAsterBook.OpenDataInput memory data = _trade(btc, true, 9000e18, ONE_BTC, 0);
        data.price = 0; // Aster has no "no limit" value: a long at most 0 never fills
        bytes32 tradeHash = _open(user, data);
        vm.expectEmit(address(aster));
        emit IAsterReplica.PendingTradeRefund(user, tradeHash, IAsterReplica.Refund.USER_PRICE);
        assertFalse(aster.executePendingTrade(tradeHash));
        assertEq(env.usdt.balanceOf(user), 1_000_000e18);
    }

    function test_aster_executionMoreThanFeedDelayBlocksLateIsRefunded() public {
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        vm.roll(block.number + aster.feedDelayBlocks() + 1);
        vm.expectEmit(address(aster));
        emit IAsterReplica.PendingTradeRefund(user, tradeHash, IAsterReplica.Refund.FEED_DELAY);
        assertFalse(aster.executePendingTrade(tradeHash));
        assertEq(env.usdt.balanceOf(user), 1_000_000e18);
    }

    function test_aster_executionExactlyFeedDelayBlocksLateStillOpens() public {
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        vm.roll(block.number + 100);
        assertTrue(aster.executePendingTrade(tradeHash));
    }

    function test_aster_feedDelayCheckCanBeDisabled() public {
        aster.setFeedDelayBlocks(0);
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        vm.roll(block.number + 10_000);
        assertTrue(aster.executePendingTrade(tradeHash));
    }

    function test_aster_executePendingTradesExecutesEveryPendingTrade() public {
        _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        _open(other, _trade(btc, false, 9000e18, ONE_BTC, 0));
        _open(user, _trade(bnb, true, 900e18, 10e10, 0));
        (uint256 opened, uint256 cancelled) = aster.executePendingTrades();
        assertEq(opened, 3);
        assertEq(cancelled, 0);
        assertEq(aster.pendingTradeHashes().length, 0);
        assertEq(aster.getPositionsV2(user, address(0)).length, 2);
    }

    function test_aster_cancelPendingTradeRefundsTheMargin() public {
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        aster.cancelPendingTrade(tradeHash);
        assertEq(env.usdt.balanceOf(user), 1_000_000e18);
        vm.expectRevert(abi.encodeWithSelector(AsterDiamondReplica.UnknownPendingTrade.selector, tradeHash));
        aster.executePendingTrade(tradeHash);
    }

    function test_aster_openMarketTradeRevertsAboveMaxLeverage() public {
        IAsterBook.OpenDataInput memory data = _trade(btc, true, 899e18, ONE_BTC, 0); // 100.1x
        data.tokenIn = address(env.usdt);
        vm.prank(user);
        vm.expectRevert(
            abi.encodeWithSelector(AsterDiamondReplica.LeverageTooHigh.selector, 90_000e18, 899e18, 100)
        );
        aster.openMarketTrade(data);
    }

    function test_aster_openMarketTradeRevertsForAnUnlistedPair() public {
        IAsterBook.OpenDataInput memory data = _trade(address(0xB0B), true, 9000e18, ONE_BTC, 0);
        data.tokenIn = address(env.usdt);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(AsterDiamondReplica.PairNotListed.selector, address(0xB0B)));
        aster.openMarketTrade(data);
    }

    // ------------------------------------------------------------------ closing and PnL

    function _assertClosePays(bool isLong, uint64 closePrice, int256 expectedPnl) internal {
        bytes32 tradeHash = _openBtc(user, isLong);
        uint96 margin = aster.getPositionsV2(user, btc)[0].margin;
        aster.setMarkPrice(btc, closePrice);
        assertEq(aster.unrealizedPnl(tradeHash), expectedPnl);
        uint256 before = env.usdt.balanceOf(user);
        vm.prank(user);
        aster.closeTrade(tradeHash);
        int256 expected = int256(uint256(margin)) + expectedPnl - int256(_closeFee(closePrice));
        // Balances here are far below 2^255.
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(int256(env.usdt.balanceOf(user)) - int256(before), expected);
        assertEq(aster.getPositionsV2(user, btc).length, 0);
        _assertSolvent();
    }

    function test_aster_closeLongInProfitPaysMarginPlusPnlMinusFee() public {
        _assertClosePays(true, 99_000e8, 9000e18);
    }

    function test_aster_closeLongInLossPaysMarginMinusLossAndFee() public {
        _assertClosePays(true, 85_500e8, -4500e18);
    }

    function test_aster_closeShortInProfitPaysMarginPlusPnlMinusFee() public {
        _assertClosePays(false, 81_000e8, 9000e18);
    }

    function test_aster_closeShortInLossPaysMarginMinusLossAndFee() public {
        _assertClosePays(false, 94_500e8, -4500e18);
    }

    function test_aster_lossBeyondTheMarginPaysNothing() public {
        bytes32 tradeHash = _openBtc(user, true);
        uint256 pool = aster.poolBalance();
        uint96 margin = aster.getPositionsV2(user, btc)[0].margin;
        aster.setMarkPrice(btc, 70_000e8); // -20,000 USDT on 8,928 of margin
        uint256 before = env.usdt.balanceOf(user);
        vm.prank(user);
        aster.closeTrade(tradeHash);
        assertEq(env.usdt.balanceOf(user), before);
        assertEq(aster.poolBalance(), pool + margin, "the whole margin goes to the pool");
    }

    function test_aster_closeTradeRevertsForAnotherUsersPosition() public {
        bytes32 tradeHash = _openBtc(user, true);
        vm.prank(other);
        vm.expectRevert("TradingPortalFacet: Can only be updated by yourself");
        aster.closeTrade(tradeHash);
    }

    function test_aster_closeTradeRevertsWhileTheTradeIsPending() public {
        bytes32 tradeHash = _open(user, _trade(btc, true, 9000e18, ONE_BTC, 0));
        vm.prank(user);
        vm.expectRevert("TradingPortalFacet: Trade information does not exist");
        aster.closeTrade(tradeHash);
    }

    function test_aster_closeTradeRevertsWhenThePoolCannotPayTheProfit() public {
        aster.setMaxLeverage(1000);
        // 100 BTC long with 1M USDT of margin: a 60% move owes 5.4M, more than pool + margin.
        _give(address(env.usdt), user, 1_000_000e18);
        bytes32 tradeHash = _open(user, _trade(btc, true, 1_000_000e18, 100 * ONE_BTC, 0));
        aster.executePendingTrade(tradeHash);
        aster.setMarkPrice(btc, 144_000e8);
        vm.prank(user);
        vm.expectPartialRevert(AsterDiamondReplica.InsufficientPoolLiquidity.selector);
        aster.closeTrade(tradeHash);
    }

    // ------------------------------------------------------------------ reading

    function test_aster_getPositionsV2FiltersByUserAndPairBase() public {
        bytes32 userBtc = _openBtc(user, true);
        _openBtc(other, false);
        bytes32 userBnb = _open(user, _trade(bnb, false, 900e18, 10e10, 0));
        aster.executePendingTrade(userBnb);

        IAsterTradingReader.Position[] memory btcOnly = aster.getPositionsV2(user, btc);
        assertEq(btcOnly.length, 1);
        assertEq(btcOnly[0].positionHash, userBtc);
        IAsterTradingReader.Position[] memory bnbOnly = aster.getPositionsV2(user, bnb);
        assertEq(bnbOnly.length, 1);
        assertEq(bnbOnly[0].positionHash, userBnb);
        assertEq(bnbOnly[0].entryPrice, 900e8);
        assertEq(bnbOnly[0].pair, "BNB/USD");
        assertEq(aster.getPositionsV2(user, address(0)).length, 2, "address(0): every pair");
        assertEq(aster.getPositionsV2(other, bnb).length, 0);
        assertEq(aster.getPositionsV2(makeAddr("nobody"), address(0)).length, 0);
    }

    function test_aster_closingOnePositionKeepsTheOthersListed() public {
        bytes32 first = _openBtc(user, true);
        bytes32 second = _openBtc(user, false);
        bytes32 third = _openBtc(user, true);
        vm.prank(user);
        aster.closeTrade(first);
        IAsterTradingReader.Position[] memory positions = aster.getPositionsV2(user, btc);
        assertEq(positions.length, 2);
        assertTrue(
            (positions[0].positionHash == second && positions[1].positionHash == third)
                || (positions[0].positionHash == third && positions[1].positionHash == second)
        );
    }

    function test_aster_markPriceIsKeeperOnly() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(AsterDiamondReplica.NotKeeper.selector, user));
        aster.setMarkPrice(btc, 1);
        aster.setMarkPrice(btc, 95_000e8);
        assertEq(aster.markPrice(btc), 95_000e8);
    }

    /// @dev The diamond's USDT is exactly the pool plus the margins it holds for traders.
    function _assertSolvent() internal view {
        uint256 held;
        bytes32[] memory pending = aster.pendingTradeHashes();
        for (uint256 i; i < pending.length; i++) {
            held += aster.pendingTrade(pending[i]).data.amountIn;
        }
        address[2] memory users = [user, other];
        for (uint256 u; u < users.length; u++) {
            IAsterTradingReader.Position[] memory positions = aster.getPositionsV2(users[u], address(0));
            for (uint256 i; i < positions.length; i++) {
                held += positions[i].margin;
            }
        }
        assertEq(env.usdt.balanceOf(address(aster)), aster.poolBalance() + held, "USDT = pool + margins");
    }

    function test_aster_usdtHeldIsPoolPlusMarginsThroughATradingDay() public {
        _openBtc(user, true);
        bytes32 shortHash = _openBtc(other, false);
        _open(user, _trade(bnb, true, 900e18, 10e10, 0));
        _assertSolvent();
        aster.setMarkPrice(btc, 93_000e8);
        vm.prank(other);
        aster.closeTrade(shortHash);
        _assertSolvent();
        aster.executePendingTrades();
        _assertSolvent();
    }
}
