// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";

contract LocalEnvironmentTest is Test {
    LocalEnvironment.Environment internal env;

    function setUp() public {
        env = LocalEnvironment.deploy(address(this));
    }

    function test_env_lpPairIsPricedAtBtcPrice() public view {
        (uint112 r0, uint112 r1,) = env.lpPair.getReserves();
        (uint256 rb, uint256 ru) = env.lpPair.token0() == address(env.btcb) ? (r0, r1) : (r1, r0);
        assertEq(ru / rb, 90_000);
    }
}
