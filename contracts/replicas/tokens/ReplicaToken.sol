// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "./ERC20.sol";

/// @title ReplicaToken
/// @notice A BEP-20 replica (USDT, BTCB, or any test token) for the local chain. Supply only
/// appears through `mint`, called by an address the owner made a minter, so that the local
/// market history (and a test) can create exactly the balances it needs while nobody else can.
/// @dev The real USDT and BTCB on BSC are 18-decimal BEP-20 tokens with owner-only minting;
/// the replica keeps the same decimals and ABI and adds a minter set for the local keeper.
contract ReplicaToken is ERC20 {
    error NotOwner(address caller);
    error NotMinter(address caller);

    event MinterSet(address indexed minter, bool allowed);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    address public owner;
    mapping(address account => bool) public isMinter;

    /// @param owner_ receives ownership and the minter role (the deployer of the local chain).
    constructor(string memory name_, string memory symbol_, uint8 decimals_, address owner_)
        ERC20(name_, symbol_, decimals_)
    {
        if (owner_ == address(0)) revert ZeroAddress();
        owner = owner_;
        isMinter[owner_] = true;
        emit OwnershipTransferred(address(0), owner_);
        emit MinterSet(owner_, true);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    function mint(address to, uint256 amount) external {
        if (!isMinter[msg.sender]) revert NotMinter(msg.sender);
        _mint(to, amount);
    }

    /// @notice Destroys the caller's own tokens (BEP-20 `burn`).
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function setMinter(address minter, bool allowed) external onlyOwner {
        isMinter[minter] = allowed;
        emit MinterSet(minter, allowed);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
