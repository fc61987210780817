// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";
import {ReplicaToken} from "../../contracts/replicas/tokens/ReplicaToken.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";

/// @notice The local environment as every replica test sees it, plus helpers that work on any
/// pair whatever its token order. The hand-written replicas by default (these tests are theirs);
/// a suite overrides `_config` to run on the registry-built PancakeSwap V2 and Chainlink proxies.
abstract contract ReplicaFixture is Test {
    LocalEnvironment.Environment internal env;

    function setUp() public virtual {
        env = LocalEnvironment.deploy(_config(), address(this));
    }

    function _config() internal pure virtual returns (LocalEnvironment.Config memory) {
        return LocalEnvironment.handConfig();
    }

    /// @dev A fresh, empty pair of two new tokens, for first-mint behaviour.
    function _freshPair() internal returns (PancakePair pair, ReplicaToken token0, ReplicaToken token1) {
        ReplicaToken a = new ReplicaToken("Token A", "TKA", 18, address(this));
        ReplicaToken b = new ReplicaToken("Token B", "TKB", 18, address(this));
        pair = PancakePair(env.pancakeFactory.createPair(address(a), address(b)));
        (token0, token1) = pair.token0() == address(a) ? (a, b) : (b, a);
    }

    function _reserves(PancakePair pair) internal view returns (uint256 r0, uint256 r1) {
        (uint112 a, uint112 b,) = pair.getReserves();
        (r0, r1) = (a, b);
    }

    function _k(PancakePair pair) internal view returns (uint256) {
        (uint256 r0, uint256 r1) = _reserves(pair);
        return r0 * r1;
    }

    /// @dev Adds `amount` of `token` to `to`'s balance, like a transfer from outside (`deal`
    /// writes the balance slot; use it directly to *set* a balance).
    function _give(address token, address to, uint256 amount) internal {
        deal(token, to, IERC20(token).balanceOf(to) + amount);
    }

    function _path(address a, address b) internal pure returns (address[] memory path) {
        path = new address[](2);
        path[0] = a;
        path[1] = b;
    }

    function _path(address a, address b, address c) internal pure returns (address[] memory path) {
        path = new address[](3);
        path[0] = a;
        path[1] = b;
        path[2] = c;
    }
}
