// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "../tokens/ERC20.sol";

/// @title AlpToken
/// @notice The ALP liquidity-provider token of the Aster replica (18 decimals, as ALP on BSC at
/// 0x4E47057f45adF24ba41375a175dA0357cB3480E5). Only the diamond mints and burns: ALP exists
/// exactly as long as it is backed by the diamond's USDT pool.
contract AlpToken is ERC20 {
    error NotDiamond(address caller);

    address public immutable diamond;

    constructor(address diamond_) ERC20("Aster LP", "ALP", 18) {
        diamond = diamond_;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != diamond) revert NotDiamond(msg.sender);
        _mint(to, amount);
    }

    /// @notice The diamond burns a holder's ALP on `burnAlp` without an allowance, as the real
    /// diamond does: the holder is the caller of `burnAlp`.
    function burnFrom(address from, uint256 amount) external {
        if (msg.sender != diamond) revert NotDiamond(msg.sender);
        _burn(from, amount);
    }
}
