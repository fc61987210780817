// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {StdStorage, stdStorage} from "forge-std/Test.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {FlashBorrower} from "./FlashBorrower.sol";
import {ReplicaToken} from "../../contracts/replicas/tokens/ReplicaToken.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";
import {PancakeMath} from "../../contracts/replicas/pancake/PancakeMath.sol";

contract PancakePairTest is ReplicaFixture {
    using stdStorage for StdStorage;

    PancakePair internal pair; // the environment's BTCB/USDT pair
    IERC20 internal token0;
    IERC20 internal token1;
    address internal trader = makeAddr("trader");

    function setUp() public override {
        super.setUp();
        pair = PancakePair(address(env.lpPair));
        token0 = IERC20(pair.token0());
        token1 = IERC20(pair.token1());
    }

    // ------------------------------------------------------------------ mint / burn

    function test_pair_firstMintLocksMinimumLiquidity() public {
        (PancakePair fresh, ReplicaToken t0, ReplicaToken t1) = _freshPair();
        t0.mint(address(fresh), 4e18);
        t1.mint(address(fresh), 9e18);
        uint256 liquidity = fresh.mint(trader);
        assertEq(liquidity, 6e18 - 1000, "sqrt(4e18 * 9e18) - MINIMUM_LIQUIDITY");
        assertEq(fresh.balanceOf(address(0)), 1000);
        assertEq(fresh.totalSupply(), 6e18);
        assertEq(fresh.MINIMUM_LIQUIDITY(), 1000);
    }

    function test_pair_firstMintRevertsBelowMinimumLiquidity() public {
        (PancakePair fresh, ReplicaToken t0, ReplicaToken t1) = _freshPair();
        t0.mint(address(fresh), 1000);
        t1.mint(address(fresh), 1000);
        vm.expectRevert("Pancake: INSUFFICIENT_LIQUIDITY_MINTED");
        fresh.mint(trader);
    }

    function test_pair_mintOfUnbalancedDepositCreditsTheSmallerShare() public {
        (uint256 r0, uint256 r1) = _reserves(pair);
        uint256 supply = pair.totalSupply();
        uint256 deposit0 = r0 / 100; // 1% of reserve0
        _give(address(token0), address(pair), deposit0);
        _give(address(token1), address(pair), r1 / 50); // 2% of reserve1
        uint256 liquidity = pair.mint(trader);
        assertEq(liquidity, deposit0 * supply / r0);
    }

    function test_pair_mintRevertsWhenNothingWasDeposited() public {
        vm.expectRevert("Pancake: INSUFFICIENT_LIQUIDITY_MINTED");
        pair.mint(trader);
    }

    function test_pair_burnPaysProRataOfBalances() public {
        uint256 lp = pair.balanceOf(address(this)) / 4;
        uint256 supply = pair.totalSupply();
        uint256 b0 = token0.balanceOf(address(pair));
        uint256 b1 = token1.balanceOf(address(pair));
        assertTrue(pair.transfer(address(pair), lp));
        (uint256 amount0, uint256 amount1) = pair.burn(trader);
        assertEq(amount0, lp * b0 / supply);
        assertEq(amount1, lp * b1 / supply);
        assertEq(token0.balanceOf(trader), amount0);
        assertEq(token1.balanceOf(trader), amount1);
        assertEq(pair.totalSupply(), supply - lp);
    }

    function test_pair_burnRevertsWithoutLiquiditySent() public {
        vm.expectRevert("Pancake: INSUFFICIENT_LIQUIDITY_BURNED");
        pair.burn(trader);
    }

    // ------------------------------------------------------------------ swap and the 0.25% fee

    function test_pair_swapPaysExactlyTheRouterQuote() public {
        (uint256 r0, uint256 r1) = _reserves(pair);
        uint256 amountIn = r0 / 200;
        uint256 out = env.pancakeRouter.getAmountOut(amountIn, r0, r1);
        _give(address(token0), address(pair), amountIn);
        pair.swap(0, out, trader, "");
        assertEq(token1.balanceOf(trader), out);
        (uint256 n0, uint256 n1) = _reserves(pair);
        assertEq(n0, r0 + amountIn);
        assertEq(n1, r1 - out);
    }

    /// @dev The fee is exactly 0.25%: the quote with 9975/10000 is the largest output the K check
    /// accepts, one more wei fails; and it is not 0.2% or 0.3%.
    function test_pair_swapRevertsWhenTakingOneWeiMoreThanTheFeeAllows() public {
        (uint256 r0, uint256 r1) = _reserves(pair);
        uint256 amountIn = 3e18;
        uint256 out = env.pancakeRouter.getAmountOut(amountIn, r1, r0);
        _give(address(token1), address(pair), amountIn);
        vm.expectRevert("Pancake: K");
        pair.swap(out + 1, 0, trader, "");
        pair.swap(out, 0, trader, "");
        assertEq(token0.balanceOf(trader), out);
    }

    function test_pair_feeIsExactlyTwentyFiveBasisPoints() public {
        (uint256 r0, uint256 r1) = _reserves(pair);
        uint256 amountIn = r0 / 10;
        uint256 quoted = env.pancakeRouter.getAmountOut(amountIn, r0, r1);
        // Independent formula: out = in * (1 - 0.0025) * r1 / (r0 + in * (1 - 0.0025)).
        uint256 expected = amountIn * 9975 * r1 / (r0 * 10_000 + amountIn * 9975);
        assertEq(quoted, expected);
        // A 0.2% fee would promise more than the pair pays: that swap fails the K check.
        uint256 atTwentyBps = amountIn * 9980 * r1 / (r0 * 10_000 + amountIn * 9980);
        assertGt(atTwentyBps, quoted);
        _give(address(token0), address(pair), amountIn);
        vm.expectRevert("Pancake: K");
        pair.swap(0, atTwentyBps, trader, "");
        // A 0.3% fee output is accepted (the pair keeps the surplus).
        uint256 atThirtyBps = amountIn * 9970 * r1 / (r0 * 10_000 + amountIn * 9970);
        pair.swap(0, atThirtyBps, trader, "");
        assertEq(token1.balanceOf(trader), atThirtyBps);
    }

    function test_pair_swapRevertsWhenNothingIsPaidIn() public {
        // Not "Pancake: K", as this test once asserted: the registry-built pair checks the input
        // first (found by test/replicas/differential).
        vm.expectRevert("Pancake: INSUFFICIENT_INPUT_AMOUNT");
        pair.swap(1, 0, trader, "");
    }

    function test_pair_swapRevertsOnZeroOutput() public {
        vm.expectRevert("Pancake: INSUFFICIENT_OUTPUT_AMOUNT");
        pair.swap(0, 0, trader, "");
    }

    function test_pair_swapRevertsWhenOutputReachesTheReserve() public {
        (uint256 r0,) = _reserves(pair);
        vm.expectRevert("Pancake: INSUFFICIENT_LIQUIDITY");
        pair.swap(r0, 0, trader, "");
    }

    function test_pair_swapRevertsWhenRecipientIsAPairToken() public {
        vm.expectRevert("Pancake: INVALID_TO");
        pair.swap(1, 0, address(token0), "");
    }

    // ------------------------------------------------------------------ skim / sync

    function test_pair_skimSendsBalanceAboveReserves() public {
        (uint256 r0, uint256 r1) = _reserves(pair);
        _give(address(token0), address(pair), 5e18);
        pair.skim(trader);
        assertEq(token0.balanceOf(trader), 5e18);
        assertEq(token1.balanceOf(trader), 0);
        assertEq(token0.balanceOf(address(pair)), r0);
        assertEq(token1.balanceOf(address(pair)), r1);
    }

    function test_pair_syncSetsReservesToBalances() public {
        (uint256 r0,) = _reserves(pair);
        deal(address(token0), address(pair), r0 / 2); // a drained pool, as the chaos layer does
        pair.sync();
        (uint256 n0,) = _reserves(pair);
        assertEq(n0, r0 / 2);
    }

    function test_pair_syncRevertsWhenBalanceExceeds112Bits() public {
        deal(address(token0), address(pair), uint256(type(uint112).max) + 1);
        vm.expectRevert("Pancake: OVERFLOW");
        pair.sync();
    }

    // ------------------------------------------------------------------ flash swaps

    function test_pair_flashSwapRepaidInCallbackSucceeds() public {
        FlashBorrower borrower = new FlashBorrower(pair);
        uint256 borrowed = 1000e18;
        (uint256 r0, uint256 r1) = _reserves(pair);
        // Repaying the same token: the pair charges 0.25% of the repayment, so repay
        // ceil(borrowed * 10000 / 9975).
        (bool usdtIsToken1) = address(token1) == address(env.usdt);
        uint256 repay = borrowed * 10_000 / 9975 + 1;
        _give(usdtIsToken1 ? address(token1) : address(token0), address(borrower), repay);
        if (usdtIsToken1) {
            borrower.configure(0, repay, "");
            borrower.borrow(0, borrowed);
        } else {
            borrower.configure(repay, 0, "");
            borrower.borrow(borrowed, 0);
        }
        assertEq(borrower.lastSender(), address(borrower));
        assertGe(_k(pair), r0 * r1);
    }

    function test_pair_flashSwapNotRepaidReverts() public {
        FlashBorrower borrower = new FlashBorrower(pair);
        // Nothing came back at all: the input check fires before the K check.
        vm.expectRevert("Pancake: INSUFFICIENT_INPUT_AMOUNT");
        borrower.borrow(1e18, 0);
    }

    function test_pair_flashSwapRepaidWithoutFeeReverts() public {
        FlashBorrower borrower = new FlashBorrower(pair);
        _give(address(token0), address(borrower), 1e18);
        borrower.configure(1e18, 0, "");
        vm.expectRevert("Pancake: K");
        borrower.borrow(1e18, 0);
    }

    function test_pair_callbackCannotReenterSwap() public {
        FlashBorrower borrower = new FlashBorrower(pair);
        borrower.configure(0, 0, abi.encodeCall(PancakePair.swap, (1, 0, address(borrower), "")));
        vm.expectRevert("Pancake: LOCKED");
        borrower.borrow(1e18, 0);
    }

    function test_pair_callbackCannotReenterSync() public {
        FlashBorrower borrower = new FlashBorrower(pair);
        borrower.configure(0, 0, abi.encodeCall(PancakePair.sync, ()));
        vm.expectRevert("Pancake: LOCKED");
        borrower.borrow(1e18, 0);
    }

    function test_pair_callbackCannotReenterMintOrBurnOrSkim() public {
        FlashBorrower borrower = new FlashBorrower(pair);
        bytes[3] memory calls = [
            abi.encodeCall(PancakePair.mint, (address(borrower))),
            abi.encodeCall(PancakePair.burn, (address(borrower))),
            abi.encodeCall(PancakePair.skim, (address(borrower)))
        ];
        for (uint256 i; i < calls.length; i++) {
            borrower.configure(0, 0, calls[i]);
            vm.expectRevert("Pancake: LOCKED");
            borrower.borrow(1e18, 0);
        }
    }

    // ------------------------------------------------------------------ cumulative prices

    function test_pair_cumulativePricesGrowWithElapsedTimeAcrossBlocks() public {
        (uint112 r0, uint112 r1, uint32 last) = pair.getReserves();
        uint256 p0 = pair.price0CumulativeLast();
        uint256 p1 = pair.price1CumulativeLast();
        vm.roll(block.number + 1);
        vm.warp(uint256(last) + 12);
        pair.sync();
        assertEq(pair.price0CumulativeLast() - p0, (uint256(r1) << 112) / r0 * 12);
        assertEq(pair.price1CumulativeLast() - p1, (uint256(r0) << 112) / r1 * 12);
        (,, uint32 now_) = pair.getReserves();
        assertEq(now_, last + 12);
    }

    /// @dev BSC produces several blocks per second: only the first touch in a timestamp adds to
    /// the accumulators, and later swaps in blocks sharing that timestamp add nothing.
    function test_pair_cumulativePricesUnchangedAcrossBlocksSharingATimestamp() public {
        (,, uint32 last) = pair.getReserves();
        vm.warp(uint256(last) + 3);
        vm.roll(block.number + 1);
        pair.sync(); // first touch at this timestamp: accumulates the 3 seconds
        uint256 p0 = pair.price0CumulativeLast();
        uint256 p1 = pair.price1CumulativeLast();
        for (uint256 i; i < 3; i++) {
            vm.roll(block.number + 1); // new block, same timestamp
            (uint256 r0, uint256 r1) = _reserves(pair);
            uint256 amountIn = r0 / 100;
            _give(address(token0), address(pair), amountIn);
            pair.swap(0, env.pancakeRouter.getAmountOut(amountIn, r0, r1), trader, "");
        }
        assertEq(pair.price0CumulativeLast(), p0);
        assertEq(pair.price1CumulativeLast(), p1);
        // The next timestamp accumulates the reserves left by the last of those swaps.
        (uint112 r0After, uint112 r1After,) = pair.getReserves();
        vm.warp(block.timestamp + 1);
        vm.roll(block.number + 1);
        pair.sync();
        assertEq(pair.price0CumulativeLast() - p0, (uint256(r1After) << 112) / r0After);
    }

    function test_pair_cumulativePriceWrapsInsteadOfReverting() public {
        // Put the accumulator at 2^256 - 1 and let the next update wrap it.
        stdstore.target(address(pair)).sig("price0CumulativeLast()").checked_write(type(uint256).max);
        assertEq(pair.price0CumulativeLast(), type(uint256).max);
        (uint112 r0, uint112 r1, uint32 last) = pair.getReserves();
        vm.warp(uint256(last) + 1);
        pair.sync();
        assertEq(pair.price0CumulativeLast(), (uint256(r1) << 112) / r0 - 1);
    }

    // ------------------------------------------------------------------ protocol fee (feeTo)

    function test_pair_protocolFeeMintsEightTwentyFifthsOfSqrtKGrowth() public {
        address feeTo = makeAddr("feeTo");
        env.pancakeFactory.setFeeTo(feeTo);
        // A liquidity event records kLast while the fee is on.
        uint256 lp = pair.balanceOf(address(this)) / 10;
        assertTrue(pair.transfer(address(pair), lp));
        pair.burn(address(this));
        uint256 kLast = pair.kLast();
        assertEq(kLast, _k(pair));
        // Trade back and forth: the fees grow k.
        for (uint256 i; i < 4; i++) {
            (uint256 r0, uint256 r1) = _reserves(pair);
            uint256 amountIn = r0 / 20;
            _give(address(token0), address(pair), amountIn);
            pair.swap(0, env.pancakeRouter.getAmountOut(amountIn, r0, r1), trader, "");
            (r0, r1) = _reserves(pair);
            amountIn = r1 / 20;
            _give(address(token1), address(pair), amountIn);
            pair.swap(env.pancakeRouter.getAmountOut(amountIn, r1, r0), 0, trader, "");
        }
        uint256 rootK = PancakeMath.sqrt(_k(pair));
        uint256 rootKLast = PancakeMath.sqrt(kLast);
        uint256 supply = pair.totalSupply();
        uint256 expected = supply * (rootK - rootKLast) * 8 / (rootK * 17 + rootKLast * 8);
        assertGt(expected, 0);
        // The next liquidity event pays it out.
        assertTrue(pair.transfer(address(pair), lp));
        pair.burn(address(this));
        assertEq(pair.balanceOf(feeTo), expected);
        // In value: feeTo owns 8/25 of the growth of sqrt(k) (to rounding).
        uint256 feeToShareOfRootK = expected * rootK / (supply + expected);
        assertApproxEqRel(feeToShareOfRootK, (rootK - rootKLast) * 8 / 25, 1e12);
    }

    function test_pair_kLastIsClearedWhenFeeIsTurnedOff() public {
        env.pancakeFactory.setFeeTo(makeAddr("feeTo"));
        _give(address(token0), address(pair), 1e18);
        _give(address(token1), address(pair), 1e24);
        pair.mint(trader);
        assertGt(pair.kLast(), 0);
        env.pancakeFactory.setFeeTo(address(0));
        assertTrue(pair.transfer(address(pair), 1e18));
        pair.burn(trader);
        assertEq(pair.kLast(), 0);
    }

    function test_pair_initializeIsOnlyForTheFactory() public {
        vm.expectRevert("Pancake: FORBIDDEN");
        pair.initialize(address(1), address(2));
    }
}
