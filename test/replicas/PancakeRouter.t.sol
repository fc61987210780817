// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";
import {PancakeRouter} from "../../contracts/replicas/pancake/PancakeRouter.sol";
import {ReplicaToken} from "../../contracts/replicas/tokens/ReplicaToken.sol";

contract PancakeRouterTest is ReplicaFixture {
    PancakeRouter internal router;
    address internal usdt;
    address internal btcb;
    address internal wbnb;
    address internal user = makeAddr("user");

    function setUp() public override {
        super.setUp();
        router = PancakeRouter(address(env.pancakeRouter));
        (usdt, btcb, wbnb) = (address(env.usdt), address(env.btcb), address(env.wbnb));
        vm.startPrank(user);
        IERC20(usdt).approve(address(router), type(uint256).max);
        IERC20(btcb).approve(address(router), type(uint256).max);
        env.lpPair.approve(address(router), type(uint256).max);
        vm.stopPrank();
    }

    function _reservesOf(address tokenA, address tokenB) internal view returns (uint256 rA, uint256 rB) {
        PancakePair pair = PancakePair(env.pancakeFactory.getPair(tokenA, tokenB));
        (uint256 r0, uint256 r1) = _reserves(pair);
        (rA, rB) = pair.token0() == tokenA ? (r0, r1) : (r1, r0);
    }

    // ------------------------------------------------------------------ pricing views

    function test_router_getAmountOutUses9975Over10000() public view {
        assertEq(router.getAmountOut(1000, 1_000_000, 1_000_000), 996); // 997_500_000_000 / 1_000_997_500
    }

    function test_router_getAmountInRoundsUpSoTheSwapPasses() public view {
        uint256 amountIn = router.getAmountIn(996, 1_000_000, 1_000_000);
        assertEq(amountIn, uint256(1_000_000) * 996 * 10_000 / ((1_000_000 - 996) * 9975) + 1);
        assertGe(router.getAmountOut(amountIn, 1_000_000, 1_000_000), 996);
    }

    function test_router_quoteIsTheReserveRatio() public view {
        assertEq(router.quote(2e18, 100e18, 9_000_000e18), 180_000e18);
    }

    function test_router_pricingRevertsOnZeroAmountsOrReserves() public {
        vm.expectRevert("PancakeLibrary: INSUFFICIENT_INPUT_AMOUNT");
        router.getAmountOut(0, 1, 1);
        vm.expectRevert("PancakeLibrary: INSUFFICIENT_OUTPUT_AMOUNT");
        router.getAmountIn(0, 1, 1);
        vm.expectRevert("PancakeLibrary: INSUFFICIENT_LIQUIDITY");
        router.getAmountOut(1, 0, 1);
        vm.expectRevert("PancakeLibrary: INSUFFICIENT_AMOUNT");
        router.quote(0, 1, 1);
    }

    function test_router_getAmountsRevertOnSingleTokenPath() public {
        address[] memory path = new address[](1);
        path[0] = usdt;
        vm.expectRevert("PancakeLibrary: INVALID_PATH");
        router.getAmountsOut(1e18, path);
    }

    function test_router_getAmountsRevertWhenAHopHasNoPair() public {
        vm.expectRevert("PancakeLibrary: PAIR_NOT_FOUND");
        router.getAmountsOut(1e18, _path(usdt, address(0xBEEF)));
    }

    // ------------------------------------------------------------------ swaps

    function test_router_swapExactTokensForTokensPaysGetAmountsOut() public {
        _give(usdt, user, 90_000e18);
        uint256[] memory quoted = router.getAmountsOut(90_000e18, _path(usdt, btcb));
        vm.prank(user);
        uint256[] memory amounts =
            router.swapExactTokensForTokens(90_000e18, 0, _path(usdt, btcb), user, block.timestamp);
        assertEq(amounts[1], quoted[1]);
        assertEq(IERC20(btcb).balanceOf(user), quoted[1]);
        assertEq(IERC20(usdt).balanceOf(user), 0);
        assertApproxEqRel(quoted[1], 1e18 * 9975 / 10_000, 0.012e18); // 0.25% fee plus ~1% impact
    }

    function test_router_swapExactTokensForTokensFollowsAMultiHopPath() public {
        _give(usdt, user, 9000e18);
        address[] memory path = _path(usdt, wbnb, btcb);
        uint256[] memory quoted = router.getAmountsOut(9000e18, path);
        (uint256 rUsdt, uint256 rWbnb) = _reservesOf(usdt, wbnb);
        uint256 wbnbOut = router.getAmountOut(9000e18, rUsdt, rWbnb);
        assertEq(quoted[1], wbnbOut);
        vm.prank(user);
        router.swapExactTokensForTokens(9000e18, quoted[2], path, user, block.timestamp);
        assertEq(IERC20(btcb).balanceOf(user), quoted[2]);
        assertEq(IERC20(wbnb).balanceOf(user), 0, "the middle hop goes pair to pair");
    }

    function test_router_swapExactTokensForTokensRevertsBelowAmountOutMin() public {
        _give(usdt, user, 90_000e18);
        uint256[] memory quoted = router.getAmountsOut(90_000e18, _path(usdt, btcb));
        vm.prank(user);
        vm.expectRevert("PancakeRouter: INSUFFICIENT_OUTPUT_AMOUNT");
        router.swapExactTokensForTokens(90_000e18, quoted[1] + 1, _path(usdt, btcb), user, block.timestamp);
    }

    function test_router_swapTokensForExactTokensPaysExactOutputForGetAmountsIn() public {
        _give(usdt, user, 200_000e18);
        uint256[] memory quoted = router.getAmountsIn(1e18, _path(usdt, btcb));
        vm.prank(user);
        uint256[] memory amounts =
            router.swapTokensForExactTokens(1e18, 200_000e18, _path(usdt, btcb), user, block.timestamp);
        assertEq(amounts[0], quoted[0]);
        assertEq(IERC20(btcb).balanceOf(user), 1e18);
        assertEq(IERC20(usdt).balanceOf(user), 200_000e18 - quoted[0]);
    }

    function test_router_swapTokensForExactTokensRevertsAboveAmountInMax() public {
        _give(usdt, user, 200_000e18);
        uint256[] memory quoted = router.getAmountsIn(1e18, _path(usdt, btcb));
        vm.prank(user);
        vm.expectRevert("PancakeRouter: EXCESSIVE_INPUT_AMOUNT");
        router.swapTokensForExactTokens(1e18, quoted[0] - 1, _path(usdt, btcb), user, block.timestamp);
    }

    function test_router_swapRevertsAfterDeadline() public {
        _give(usdt, user, 1e18);
        vm.prank(user);
        vm.expectRevert("PancakeRouter: EXPIRED");
        router.swapExactTokensForTokens(1e18, 0, _path(usdt, btcb), user, block.timestamp - 1);
    }

    function test_router_swapRevertsWithoutAllowance() public {
        address stranger = makeAddr("stranger");
        _give(usdt, stranger, 1e18);
        vm.prank(stranger);
        vm.expectRevert("TransferHelper: TRANSFER_FROM_FAILED");
        router.swapExactTokensForTokens(1e18, 0, _path(usdt, btcb), stranger, block.timestamp);
    }

    // ------------------------------------------------------------------ liquidity

    function test_router_addLiquidityCreatesAMissingPairAndTakesTheDesiredAmounts() public {
        address usdc = address(new ReplicaTokenForRouter());
        _give(usdc, address(this), 1000e18);
        _give(usdt, address(this), 1000e18);
        IERC20(usdc).approve(address(router), type(uint256).max);
        (uint256 amountA, uint256 amountB, uint256 liquidity) =
            router.addLiquidity(usdc, usdt, 400e18, 900e18, 0, 0, user, block.timestamp);
        assertEq(amountA, 400e18);
        assertEq(amountB, 900e18);
        assertEq(liquidity, 600e18 - 1000);
        assertTrue(env.pancakeFactory.getPair(usdc, usdt) != address(0));
    }

    function test_router_addLiquidityTakesAmountsAtTheCurrentRatio() public {
        _give(usdt, user, 1_000_000e18);
        _give(btcb, user, 1e18);
        (uint256 rB, uint256 rU) = _reservesOf(btcb, usdt);
        vm.prank(user);
        (uint256 amountBtcb, uint256 amountUsdt,) =
            router.addLiquidity(btcb, usdt, 1e18, 1_000_000e18, 0, 0, user, block.timestamp);
        assertEq(amountBtcb, 1e18);
        assertEq(amountUsdt, 1e18 * rU / rB);
        assertEq(IERC20(usdt).balanceOf(user), 1_000_000e18 - amountUsdt);
    }

    function test_router_addLiquidityRevertsWhenTheRatioMissesAmountBMin() public {
        _give(usdt, user, 1_000_000e18);
        _give(btcb, user, 1e18);
        vm.prank(user);
        vm.expectRevert("PancakeRouter: INSUFFICIENT_B_AMOUNT");
        router.addLiquidity(btcb, usdt, 1e18, 1_000_000e18, 0, 100_000e18, user, block.timestamp);
    }

    function test_router_addLiquidityRevertsWhenTheRatioMissesAmountAMin() public {
        _give(usdt, user, 45_000e18);
        _give(btcb, user, 1e18);
        vm.prank(user);
        vm.expectRevert("PancakeRouter: INSUFFICIENT_A_AMOUNT");
        router.addLiquidity(btcb, usdt, 1e18, 45_000e18, 1e18, 0, user, block.timestamp);
    }

    function test_router_removeLiquidityReturnsProRataAmounts() public {
        env.lpPair.transfer(user, 1e18);
        (uint256 rB, uint256 rU) = _reservesOf(btcb, usdt);
        uint256 supply = env.lpPair.totalSupply();
        vm.prank(user);
        (uint256 amountBtcb, uint256 amountUsdt) =
            router.removeLiquidity(btcb, usdt, 1e18, 0, 0, user, block.timestamp);
        assertEq(amountBtcb, 1e18 * rB / supply);
        assertEq(amountUsdt, 1e18 * rU / supply);
        assertEq(IERC20(btcb).balanceOf(user), amountBtcb);
    }

    function test_router_removeLiquidityRevertsBelowMinimums() public {
        env.lpPair.transfer(user, 1e18);
        vm.startPrank(user);
        vm.expectRevert("PancakeRouter: INSUFFICIENT_A_AMOUNT");
        router.removeLiquidity(btcb, usdt, 1e18, 1e18, 0, user, block.timestamp);
        vm.expectRevert("PancakeRouter: INSUFFICIENT_B_AMOUNT");
        router.removeLiquidity(btcb, usdt, 1e18, 0, 1e30, user, block.timestamp);
        vm.stopPrank();
    }

    function test_router_removeLiquidityRevertsAfterDeadline() public {
        vm.expectRevert("PancakeRouter: EXPIRED");
        router.removeLiquidity(btcb, usdt, 1, 0, 0, user, block.timestamp - 1);
    }

    function test_router_exposesFactoryAndWbnb() public view {
        assertEq(router.factory(), address(env.pancakeFactory));
        assertEq(router.WETH(), wbnb);
    }
}

/// @dev A second stable coin for the "new pair" case.
contract ReplicaTokenForRouter is ReplicaToken {
    constructor() ReplicaToken("USD Coin", "USDC", 18, msg.sender) {}
}
