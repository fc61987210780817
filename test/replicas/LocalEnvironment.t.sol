// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";

contract LocalEnvironmentTest is ReplicaFixture {
    /// @dev Price of `base` in `quote` (whole units) from a pair's reserves.
    function _price(PancakePair pair, address base) internal view returns (uint256) {
        (uint256 r0, uint256 r1) = _reserves(pair);
        return pair.token0() == base ? r1 / r0 : r0 / r1;
    }

    function test_env_lpPairIsBtcbUsdtAtNinetyThousand() public view {
        assertEq(env.pancakeFactory.getPair(address(env.btcb), address(env.usdt)), address(env.lpPair));
        assertEq(_price(env.lpPair, address(env.btcb)), 90_000);
        assertEq(env.usdt.balanceOf(address(env.lpPair)), 9_000_000e18);
    }

    function test_env_flashPairIsADifferentUsdtPairAtNineHundred() public view {
        assertEq(env.pancakeFactory.getPair(address(env.wbnb), address(env.usdt)), address(env.flashPair));
        assertTrue(address(env.flashPair) != address(env.lpPair));
        assertEq(_price(env.flashPair, address(env.wbnb)), 900);
        assertEq(env.usdt.balanceOf(address(env.flashPair)), 2_700_000e18);
    }

    function test_env_crossPairPricesBtcbAtOneHundredBnb() public view {
        assertEq(_price(env.btcbWbnbPair, address(env.btcb)), 100);
    }

    function test_env_asterHasAlpLiquidityAndMarkPrices() public view {
        assertEq(env.asterDiamond.poolBalance(), 5_000_000e18);
        assertEq(env.alp.balanceOf(env.admin), 5_000_000e18);
        assertEq(env.asterDiamond.alpPrice(), 1e8);
        assertEq(env.asterDiamond.markPrice(address(env.btcb)), 90_000e8);
        assertEq(env.asterDiamond.markPrice(address(env.wbnb)), 900e8);
        assertEq(env.asterDiamond.coolingDuration(), 48 hours);
    }

    function test_env_feedsAgreeWithThePools() public view {
        (, int256 bnb,,,) = env.bnbUsdFeed.latestRoundData();
        (, int256 btc,,,) = env.btcUsdFeed.latestRoundData();
        assertEq(bnb, int256(_price(env.flashPair, address(env.wbnb)) * 1e8));
        assertEq(btc, int256(_price(env.lpPair, address(env.btcb)) * 1e8));
    }

    function test_env_adminHoldsTheLpTokensAndAllRoles() public view {
        assertEq(env.admin, address(this));
        assertGt(env.lpPair.balanceOf(address(this)), 0);
        assertEq(env.usdt.owner(), address(this));
        assertEq(env.pancakeFactory.feeToSetter(), address(this));
        assertEq(env.asterDiamond.admin(), address(this));
        assertEq(env.bnbUsdFeed.admin(), address(this));
    }
}
