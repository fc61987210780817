// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPancakePair} from "../../interfaces/IPancake.sol";

/// @title PancakeERC20
/// @notice The LP token of a PancakeSwap V2 pair ("Pancake LPs", "Cake-LP", 18 decimals).
/// @dev Arithmetic errors surface as Solidity 0.8 panics where the 0.5 original used SafeMath
/// strings ("ds-math-sub-underflow"); an infinite allowance is not spent, as in the original.
/// EIP-2612 `permit` is not part of the interface the project uses and is left out. It
/// declares the full `IPancakePair` so the compiler checks the pair against the real ABI.
abstract contract PancakeERC20 is IPancakePair {
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Transfer(address indexed from, address indexed to, uint256 value);

    string public constant name = "Pancake LPs";
    string public constant symbol = "Cake-LP";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address owner => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        if (allowance[from][msg.sender] != type(uint256).max) {
            allowance[from][msg.sender] -= value;
        }
        _transfer(from, to, value);
        return true;
    }

    function _mint(address to, uint256 value) internal {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function _burn(address from, uint256 value) internal {
        balanceOf[from] -= value;
        totalSupply -= value;
        emit Transfer(from, address(0), value);
    }

    function _transfer(address from, address to, uint256 value) private {
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
