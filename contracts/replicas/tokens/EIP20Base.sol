// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEIP20} from "./IEIP20.sol";

/// @title EIP20Base
/// @notice The one ERC-20 ledger of the replicas: supply, balances, allowances, `approve`,
/// `transfer` and `transferFrom` with their events. The replica tokens (`ERC20`: USDT, BTCB,
/// ALP) and the PancakeSwap pair's LP token (`PancakeERC20`) both build on it.
/// @dev What differs between the two is what a failed debit looks like, so the arithmetic is
/// theirs: `_transfer` and `_spendAllowance` are implemented by each (custom errors and a
/// zero-address check in `ERC20`; SafeMath's `ds-math-*` strings in `PancakeERC20`, as the
/// 0.5 original reverts), as are minting, burning and the metadata (name, symbol, decimals).
/// The vault's own `ShareToken` does not build on this: it is the system under test, and a
/// defect in a base it shared with the replicas would be a defect in the suite's reference too.
abstract contract EIP20Base is IEIP20 {
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
        _spendAllowance(from, msg.sender, value);
        _transfer(from, to, value);
        return true;
    }

    /// @dev Takes `value` off `owner`'s allowance for `spender`; reverts when it is short. An
    /// allowance of `type(uint256).max` is infinite and stays as it is (WETH9, the Uniswap and
    /// Pancake LP tokens and OpenZeppelin alike: the vault and the router approve once).
    function _spendAllowance(address owner, address spender, uint256 value) internal virtual;

    /// @dev Moves `value` from `from` to `to` and emits `Transfer`; reverts when `from` is short.
    function _transfer(address from, address to, uint256 value) internal virtual;
}
