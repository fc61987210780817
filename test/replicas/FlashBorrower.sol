// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {IPancakeCallee} from "../../contracts/interfaces/IPancake.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";

/// @notice A flash borrower: repays `repay0`/`repay1` from its own balance inside the callback,
/// or tries to re-enter the pair with `reentry` calldata.
contract FlashBorrower is IPancakeCallee {
    PancakePair public immutable pair;
    uint256 public repay0;
    uint256 public repay1;
    bytes public reentry;
    address public lastSender;
    uint256 public lastAmount0;
    uint256 public lastAmount1;

    constructor(PancakePair pair_) {
        pair = pair_;
    }

    function configure(uint256 repay0_, uint256 repay1_, bytes calldata reentry_) external {
        (repay0, repay1, reentry) = (repay0_, repay1_, reentry_);
    }

    function borrow(uint256 amount0, uint256 amount1) external {
        pair.swap(amount0, amount1, address(this), "flash");
    }

    function pancakeCall(address sender, uint256 amount0, uint256 amount1, bytes calldata) external {
        require(msg.sender == address(pair), "not the pair");
        (lastSender, lastAmount0, lastAmount1) = (sender, amount0, amount1);
        if (reentry.length != 0) {
            (bool ok, bytes memory data) = address(pair).call(reentry);
            if (!ok) {
                assembly {
                    revert(add(data, 32), mload(data))
                }
            }
        }
        if (repay0 != 0) require(IERC20(pair.token0()).transfer(address(pair), repay0), "repay0");
        if (repay1 != 0) require(IERC20(pair.token1()).transfer(address(pair), repay1), "repay1");
    }
}
