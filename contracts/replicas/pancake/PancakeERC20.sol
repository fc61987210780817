// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPancakeV2Pair} from "./IPancakeV2.sol";
import {PancakeSafeMath} from "./PancakeMath.sol";
import {EIP20Base} from "../tokens/EIP20Base.sol";

/// @title PancakeERC20
/// @notice The LP token of a PancakeSwap V2 pair ("Pancake LPs", "Cake-LP", 18 decimals), with
/// EIP-2612 `permit` over the domain (name, version "1", chain id at deployment, the pair).
/// The ledger (supply, balances, allowances, approve, transfer, transferFrom) is the replicas'
/// shared `EIP20Base`; the metadata, `permit` and the arithmetic are Pancake's, here.
/// @dev Balance, supply and allowance arithmetic reverts with the 0.5 original's SafeMath
/// strings ("ds-math-sub-underflow"), not 0.8 panics (a difference the differential tests
/// found); an infinite allowance is not spent, as in the original. It declares the full
/// `IPancakeV2Pair` so the compiler checks the pair against the published ABI.
abstract contract PancakeERC20 is EIP20Base, IPancakeV2Pair {
    using PancakeSafeMath for uint256;

    string public constant name = "Pancake LPs";
    string public constant symbol = "Cake-LP";
    uint8 public constant decimals = 18;

    bytes32 public DOMAIN_SEPARATOR;
    /// @dev keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
    bytes32 public constant PERMIT_TYPEHASH =
        0x6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9;
    mapping(address owner => uint256) public nonces;

    constructor() {
        DOMAIN_SEPARATOR = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256(bytes(name)),
                keccak256(bytes("1")),
                block.chainid,
                address(this)
            )
        );
    }

    /// @notice EIP-2612: `owner` approves `spender` by signature.
    function permit(
        address owner,
        address spender,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        // forge-lint: disable-next-line(block-timestamp)
        require(deadline >= block.timestamp, "Pancake: EXPIRED");
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                DOMAIN_SEPARATOR,
                keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonces[owner]++, deadline))
            )
        );
        address signer = ecrecover(digest, v, r, s);
        require(signer != address(0) && signer == owner, "Pancake: INVALID_SIGNATURE");
        allowance[owner][spender] = value;
        emit Approval(owner, spender, value);
    }

    function _mint(address to, uint256 value) internal {
        totalSupply = totalSupply.add(value);
        balanceOf[to] = balanceOf[to].add(value);
        emit Transfer(address(0), to, value);
    }

    function _burn(address from, uint256 value) internal {
        balanceOf[from] = balanceOf[from].sub(value);
        totalSupply = totalSupply.sub(value);
        emit Transfer(from, address(0), value);
    }

    /// @dev Reads the allowance twice, as the 0.5 original does. `transferFrom` (in the base)
    /// reaches this through an internal call where the original had the check inline: 47 gas
    /// more per `transferFrom` than before the ledger moved into `EIP20Base`.
    function _spendAllowance(address owner, address spender, uint256 value) internal override {
        if (allowance[owner][spender] != type(uint256).max) {
            allowance[owner][spender] = allowance[owner][spender].sub(value);
        }
    }

    function _transfer(address from, address to, uint256 value) internal override {
        balanceOf[from] = balanceOf[from].sub(value);
        balanceOf[to] = balanceOf[to].add(value);
        emit Transfer(from, to, value);
    }
}
