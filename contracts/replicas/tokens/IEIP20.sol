// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The token standard as EIP-20 publishes it (BEP-20 on BSC has the same ABI), declared
/// for the replicas so that they depend on the standard, not on the vault's own declaration in
/// `contracts/interfaces/IERC20.sol` (the two are compared by `xtask/tests/replica_abi.rs`).
interface IEIP20 {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    function name() external view returns (string memory);
    function symbol() external view returns (string memory);
    function decimals() external view returns (uint8);
    function totalSupply() external view returns (uint256);
    function balanceOf(address owner) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function approve(address spender, uint256 value) external returns (bool);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @notice WETH9 (WBNB on BSC, 0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c): EIP-20 plus wrapping.
interface IWETH9 is IEIP20 {
    event Deposit(address indexed dst, uint256 wad);
    event Withdrawal(address indexed src, uint256 wad);

    function deposit() external payable;
    function withdraw(uint256 wad) external;
}
