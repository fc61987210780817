// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {FlashBorrower} from "./FlashBorrower.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";

/// @notice Properties of the pair and router over fuzzed amounts and directions.
contract PancakeFuzzTest is ReplicaFixture {
    PancakePair internal pair;
    address internal trader = makeAddr("trader");

    function setUp() public override {
        super.setUp();
        pair = PancakePair(address(env.lpPair));
    }

    /// @dev Swaps `amountIn` in one direction asking for `quote + extra`: the quote itself always
    /// passes, anything above it always fails, and a passing swap never lowers K.
    function testFuzz_pair_swapNeverDecreasesK(uint256 amountIn, bool zeroForOne, uint256 extra) public {
        (uint256 r0, uint256 r1) = _reserves(pair);
        (uint256 rIn, uint256 rOut) = zeroForOne ? (r0, r1) : (r1, r0);
        amountIn = bound(amountIn, 1e6, rIn * 20);
        uint256 quote = env.pancakeRouter.getAmountOut(amountIn, rIn, rOut);
        vm.assume(quote > 0);
        extra = bound(extra, 0, 1e18);
        uint256 out = quote + extra;
        vm.assume(out < rOut);

        _give(zeroForOne ? pair.token0() : pair.token1(), address(pair), amountIn);
        uint256 kBefore = r0 * r1;
        (bool ok,) = address(pair)
            .call(abi.encodeCall(PancakePair.swap, (zeroForOne ? 0 : out, zeroForOne ? out : 0, trader, "")));
        assertEq(ok, extra == 0, "passes exactly up to the 0.25%-fee quote");
        if (ok) assertGe(_k(pair), kBefore);
    }

    /// @dev Borrows `borrowed` of one token and repays `repaid` of the same token in the
    /// callback: it passes exactly when repaid * 9975 >= borrowed * 10000, and never lowers K.
    function testFuzz_pair_flashSwapNeverDecreasesK(uint256 borrowed, uint256 repaid, bool token0Side)
        public
    {
        (uint256 r0, uint256 r1) = _reserves(pair);
        borrowed = bound(borrowed, 1, (token0Side ? r0 : r1) - 1);
        repaid = bound(repaid, 0, borrowed * 2 + 10);
        FlashBorrower borrower = new FlashBorrower(pair);
        _give(token0Side ? pair.token0() : pair.token1(), address(borrower), repaid);
        borrower.configure(token0Side ? repaid : 0, token0Side ? 0 : repaid, "");

        uint256 kBefore = r0 * r1;
        (bool ok,) = address(borrower)
            .call(
                abi.encodeCall(FlashBorrower.borrow, (token0Side ? borrowed : 0, token0Side ? 0 : borrowed))
            );
        assertEq(ok, repaid * 9975 >= borrowed * 10_000, "fee-adjusted repayment decides");
        if (ok) assertGe(_k(pair), kBefore);
        assertEq(
            IERC20(token0Side ? pair.token0() : pair.token1()).balanceOf(address(borrower)),
            ok ? borrowed : repaid
        );
    }

    /// @dev Adding liquidity at any desired amounts and removing all of it at once never pays
    /// back more of either token than was taken (rounding is always against the LP).
    function testFuzz_router_addRemoveLiquidityNeverReturnsMoreThanDeposited(
        uint256 btcbDesired,
        uint256 usdtDesired
    ) public {
        btcbDesired = bound(btcbDesired, 1e6, 1000e18);
        usdtDesired = bound(usdtDesired, 1e6, 100_000_000e18);
        address btcb = address(env.btcb);
        address usdt = address(env.usdt);
        _give(btcb, trader, btcbDesired);
        _give(usdt, trader, usdtDesired);
        vm.startPrank(trader);
        IERC20(btcb).approve(address(env.pancakeRouter), type(uint256).max);
        IERC20(usdt).approve(address(env.pancakeRouter), type(uint256).max);
        pair.approve(address(env.pancakeRouter), type(uint256).max);
        (bool ok, bytes memory ret) = address(env.pancakeRouter)
            .call(
                abi.encodeCall(
                    env.pancakeRouter.addLiquidity,
                    (btcb, usdt, btcbDesired, usdtDesired, 0, 0, trader, block.timestamp)
                )
            );
        vm.assume(ok); // dust deposits that mint no LP revert, as on the real pair
        (uint256 btcbIn, uint256 usdtIn, uint256 liquidity) = abi.decode(ret, (uint256, uint256, uint256));
        assertLe(btcbIn, btcbDesired);
        assertLe(usdtIn, usdtDesired);

        (ok, ret) = address(env.pancakeRouter)
            .call(
                abi.encodeCall(
                    env.pancakeRouter.removeLiquidity, (btcb, usdt, liquidity, 0, 0, trader, block.timestamp)
                )
            );
        vm.stopPrank();
        if (!ok) return; // a tiny position can round to zero out: nothing is returned at all
        (uint256 btcbOut, uint256 usdtOut) = abi.decode(ret, (uint256, uint256));
        assertLe(btcbOut, btcbIn);
        assertLe(usdtOut, usdtIn);
        assertEq(IERC20(btcb).balanceOf(trader), btcbDesired - btcbIn + btcbOut);
    }
}
