// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IWETH9} from "./IEIP20.sol";

/// @title WBNB
/// @notice Wrapped BNB with WETH9 semantics, as deployed on BSC at
/// 0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c: 1:1 deposit/withdraw of the native coin,
/// `totalSupply` is the contract's native balance, an infinite (max) allowance is not spent,
/// and `transferFrom` by the owner itself needs no allowance.
/// @dev WETH9 reverts without a reason on insufficient balance or allowance; the replica does the
/// same (bare `revert()`) so that a fault injector that matches empty revert data sees the same.
contract WBNB is IWETH9 {
    string public constant name = "Wrapped BNB";
    string public constant symbol = "WBNB";
    uint8 public constant decimals = 18;

    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    receive() external payable {
        deposit();
    }

    function deposit() public payable {
        balanceOf[msg.sender] += msg.value;
        emit Deposit(msg.sender, msg.value);
    }

    function withdraw(uint256 wad) external {
        if (balanceOf[msg.sender] < wad) revert();
        balanceOf[msg.sender] -= wad;
        emit Withdrawal(msg.sender, wad);
        // WETH9 forwards only the 2300-gas stipend; a recipient with a costly receive fails here
        // exactly as it would on BSC.
        payable(msg.sender).transfer(wad);
    }

    /// @notice Like WETH9: the wrapped supply is exactly the native coin the contract holds.
    function totalSupply() external view returns (uint256) {
        return address(this).balance;
    }

    function approve(address guy, uint256 wad) external returns (bool) {
        allowance[msg.sender][guy] = wad;
        emit Approval(msg.sender, guy, wad);
        return true;
    }

    function transfer(address dst, uint256 wad) external returns (bool) {
        return transferFrom(msg.sender, dst, wad);
    }

    function transferFrom(address src, address dst, uint256 wad) public returns (bool) {
        if (balanceOf[src] < wad) revert();
        if (src != msg.sender && allowance[src][msg.sender] != type(uint256).max) {
            if (allowance[src][msg.sender] < wad) revert();
            allowance[src][msg.sender] -= wad;
        }
        balanceOf[src] -= wad;
        balanceOf[dst] += wad;
        emit Transfer(src, dst, wad);
        return true;
    }
}
