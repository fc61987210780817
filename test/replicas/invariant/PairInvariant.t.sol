// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {LocalEnvironment} from "../../../script/lib/LocalEnvironment.sol";
import {ReplicaToken} from "../../../contracts/replicas/tokens/ReplicaToken.sol";
import {PancakePair} from "../../../contracts/replicas/pancake/PancakePair.sol";
import {PancakeRouter} from "../../../contracts/replicas/pancake/PancakeRouter.sol";
import {FlashBorrower} from "../FlashBorrower.sol";

/// @notice Drives the BTCB/USDT pair with swaps at the quote, repaid flash swaps, balanced
/// mints, burns, donations with sync, and skims, and records after each step whether the value
/// of one LP token, k / totalSupply², went down (it must not: fees, rounding and donations all
/// go to the LPs; the protocol fee is off).
contract PairHandler is Test {
    PancakePair public immutable pair;
    PancakeRouter public immutable router;
    ReplicaToken public immutable token0;
    ReplicaToken public immutable token1;
    FlashBorrower public immutable borrower;

    uint256 public lastShareValue;
    uint256 public decreases;
    uint256 public reserveMismatches;
    uint256 public calls;

    constructor(PancakePair pair_, PancakeRouter router_) {
        pair = pair_;
        router = router_;
        token0 = ReplicaToken(pair_.token0());
        token1 = ReplicaToken(pair_.token1());
        borrower = new FlashBorrower(pair_);
        lastShareValue = shareValue();
    }

    /// @dev k * 1e18 / totalSupply², i.e. the squared value of one LP token scaled by 1e18.
    function shareValue() public view returns (uint256) {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        uint256 supply = pair.totalSupply();
        return uint256(r0) * r1 * 1e18 / (supply * supply);
    }

    function _record() private {
        calls++;
        uint256 value = shareValue();
        // One unit of slack for the floor division in shareValue itself.
        if (value + 1 < lastShareValue) decreases++;
        lastShareValue = value;
        (uint112 r0, uint112 r1,) = pair.getReserves();
        if (token0.balanceOf(address(pair)) != r0 || token1.balanceOf(address(pair)) != r1) {
            reserveMismatches++;
        }
    }

    function swap(uint256 amountIn, bool zeroForOne) external {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        (uint256 rIn, uint256 rOut) = zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        amountIn = bound(amountIn, 1e9, rIn);
        uint256 out = router.getAmountOut(amountIn, rIn, rOut);
        (zeroForOne ? token0 : token1).mint(address(pair), amountIn);
        pair.swap(zeroForOne ? 0 : out, zeroForOne ? out : 0, address(this), "");
        _record();
    }

    function flash(uint256 borrowed, bool token0Side) external {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        borrowed = bound(borrowed, 1, uint256(token0Side ? r0 : r1) - 1);
        uint256 repay = borrowed * 10_000 / 9975 + 1;
        (token0Side ? token0 : token1).mint(address(borrower), repay);
        borrower.configure(token0Side ? repay : 0, token0Side ? 0 : repay, "");
        borrower.borrow(token0Side ? borrowed : 0, token0Side ? 0 : borrowed);
        _record();
    }

    function addLiquidity(uint256 amount0) external {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        amount0 = bound(amount0, 1e9, uint256(r0));
        token0.mint(address(pair), amount0);
        token1.mint(address(pair), router.quote(amount0, r0, r1) + 1);
        pair.mint(address(this));
        _record();
    }

    function removeLiquidity(uint256 fractionBps) external {
        uint256 lp = pair.balanceOf(address(this)) * bound(fractionBps, 1, 10_000) / 10_000;
        require(pair.transfer(address(pair), lp), "lp transfer");
        pair.burn(address(this));
        _record();
    }

    function donateAndSync(uint256 amount, bool toToken0) external {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        amount = bound(amount, 1, uint256(toToken0 ? r0 : r1) / 10);
        (toToken0 ? token0 : token1).mint(address(pair), amount);
        pair.sync();
        _record();
    }

    function donateAndSkim(uint256 amount) external {
        token0.mint(address(pair), bound(amount, 1, 1e24));
        pair.skim(address(this));
        _record();
    }
}

contract PairInvariantTest is Test {
    LocalEnvironment.Environment internal env;
    PairHandler internal handler;

    function setUp() public {
        env = LocalEnvironment.deploy(LocalEnvironment.handConfig(), address(this));
        handler = new PairHandler(PancakePair(address(env.lpPair)), PancakeRouter(address(env.pancakeRouter)));
        env.usdt.setMinter(address(handler), true);
        env.btcb.setMinter(address(handler), true);
        targetContract(address(handler));
    }

    function invariant_pair_lpShareValueNeverDecreases() public view {
        assertEq(handler.decreases(), 0);
        assertGe(handler.shareValue() + 1, handler.lastShareValue());
    }

    function invariant_pair_reservesEqualBalancesAfterEveryStep() public view {
        assertEq(handler.reserveMismatches(), 0);
    }
}
