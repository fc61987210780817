// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEIP20} from "./IEIP20.sol";
import {EIP20Base} from "./EIP20Base.sol";

/// @title TokenMetadata
/// @notice The replica tokens' name and symbol, which `ERC20`'s constructor sets.
/// @dev Its own contract only so that `ERC20` lists it before `EIP20Base`: storage follows the
/// inheritance order, so name and symbol keep slots 0 and 1 and the ledger slots 2 to 4, as
/// before the ledger moved into the shared base. Slot numbers are compiled into the code
/// (slot 0 is a one-byte PUSH0), so a reordered layout would move the tokens' gas, and with it
/// the vault's gas in every report.
abstract contract TokenMetadata is IEIP20 {
    string public name;
    string public symbol;
}

/// @title ERC20
/// @notice Minimal ERC-20 for the local replicas of BSC tokens (BEP-20 has the same ABI): the
/// shared ledger (`EIP20Base`) with custom errors, a zero-address check, minting and burning.
/// @dev An allowance of `type(uint256).max` is treated as infinite and never decremented, as in
/// WETH9, Uniswap/Pancake LP tokens and OpenZeppelin: the vault and the router approve once.
abstract contract ERC20 is TokenMetadata, EIP20Base {
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address owner, address spender, uint256 allowance, uint256 needed);
    error ZeroAddress();

    uint8 public immutable decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function _spendAllowance(address owner, address spender, uint256 amount) internal override {
        uint256 allowed = allowance[owner][spender];
        if (allowed == type(uint256).max) return;
        if (allowed < amount) revert InsufficientAllowance(owner, spender, allowed, amount);
        unchecked {
            allowance[owner][spender] = allowed - amount;
        }
    }

    function _transfer(address from, address to, uint256 amount) internal override {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalance(from, balance, amount);
        unchecked {
            balanceOf[from] = balance - amount;
            balanceOf[to] += amount; // cannot overflow: the sum of balances is totalSupply
        }
        emit Transfer(from, to, amount);
    }

    function _mint(address to, uint256 amount) internal {
        if (to == address(0)) revert ZeroAddress();
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
    }

    function _burn(address from, uint256 amount) internal {
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalance(from, balance, amount);
        unchecked {
            balanceOf[from] = balance - amount;
            totalSupply -= amount;
        }
        emit Transfer(from, address(0), amount);
    }
}
