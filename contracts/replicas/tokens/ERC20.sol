// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEIP20} from "./IEIP20.sol";

/// @title EIP20Ledger
/// @notice The one ERC-20 implementation of the replicas: balances, allowances, transfers, mint
/// and burn. The BEP-20 token replicas (`ERC20` below: USDT, BTCB, ALP) and PancakeSwap's LP
/// token (`PancakeERC20`) are this ledger plus their own facts: name, symbol and decimals, and
/// how a failure looks (`_zeroRecipient`, `_insufficientBalance`, `_insufficientAllowance`), since
/// the replicas must revert as the tokens they stand for do. The hooks run on failure paths
/// only, so a transfer costs what it cost before the ledger was shared.
/// @dev An allowance of `type(uint256).max` is treated as infinite and never decremented, as in
/// WETH9, Uniswap/Pancake LP tokens and OpenZeppelin: the vault and the router approve once.
/// Balances and the supply change only after the checks, and a balance never exceeds the supply,
/// so the additions to a balance cannot overflow and are unchecked.
/// The vault's own share token (contracts/vault/ShareToken.sol) is not built on this: it is code
/// under test (and a mutation target), kept apart from the replicas that test it.
abstract contract EIP20Ledger is IEIP20 {
    uint256 public totalSupply;
    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        _spendAllowance(from, msg.sender, amount);
        _transfer(from, to, amount);
        return true;
    }

    function _spendAllowance(address owner, address spender, uint256 amount) internal {
        uint256 allowed = allowance[owner][spender];
        if (allowed == type(uint256).max) return;
        if (allowed < amount) _insufficientAllowance(owner, spender, allowed, amount);
        unchecked {
            allowance[owner][spender] = allowed - amount;
        }
    }

    function _transfer(address from, address to, uint256 amount) internal {
        if (to == address(0)) _zeroRecipient();
        uint256 balance = balanceOf[from];
        if (balance < amount) _insufficientBalance(from, balance, amount);
        unchecked {
            balanceOf[from] = balance - amount;
            balanceOf[to] += amount; // cannot overflow: the sum of balances is totalSupply
        }
        emit Transfer(from, to, amount);
    }

    function _mint(address to, uint256 amount) internal virtual {
        if (to == address(0)) _zeroRecipient();
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
    }

    function _burn(address from, uint256 amount) internal {
        uint256 balance = balanceOf[from];
        if (balance < amount) _insufficientBalance(from, balance, amount);
        unchecked {
            balanceOf[from] = balance - amount;
            totalSupply -= amount;
        }
        emit Transfer(from, address(0), amount);
    }

    /// @dev address(0) is the recipient of a transfer or a mint: reverts if the token refuses it.
    function _zeroRecipient() internal pure virtual;

    /// @dev Reverts: `account` holds `balance`, less than `needed`.
    function _insufficientBalance(address account, uint256 balance, uint256 needed) internal pure virtual;

    /// @dev Reverts: `spender` may move `allowed` of `owner`'s tokens, less than `needed`.
    function _insufficientAllowance(address owner, address spender, uint256 allowed, uint256 needed)
        internal
        pure
        virtual;
}

/// @title ERC20
/// @notice The ledger as the local replicas of BSC tokens use it (BEP-20 has the same ABI):
/// name, symbol and decimals set at deployment, custom errors, address(0) refused as a recipient.
abstract contract ERC20 is EIP20Ledger {
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address owner, address spender, uint256 allowance, uint256 needed);
    error ZeroAddress();

    string public name;
    string public symbol;
    uint8 public immutable decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function _zeroRecipient() internal pure override {
        revert ZeroAddress();
    }

    function _insufficientBalance(address account, uint256 balance, uint256 needed) internal pure override {
        revert InsufficientBalance(account, balance, needed);
    }

    function _insufficientAllowance(address owner, address spender, uint256 allowed, uint256 needed)
        internal
        pure
        override
    {
        revert InsufficientAllowance(owner, spender, allowed, needed);
    }
}
