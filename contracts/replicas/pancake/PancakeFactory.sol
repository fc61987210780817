// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPancakeV2Factory} from "./IPancakeV2.sol";
import {PancakePair} from "./PancakePair.sol";

/// @title PancakeFactory
/// @notice PancakeSwap V2 factory replica: one pair per unordered token pair, deployed with
/// CREATE2 (salt keccak256(token0, token1)) so its address follows from the tokens and
/// `INIT_CODE_PAIR_HASH`, plus the `feeTo`/`feeToSetter` protocol-fee switch.
/// @dev `INIT_CODE_PAIR_HASH` is computed from this build's pair bytecode, so it differs from
/// mainnet's 0x00fb7f63...; the replica router therefore finds pairs through `getPair`.
contract PancakeFactory is IPancakeV2Factory {
    bytes32 public constant INIT_CODE_PAIR_HASH = keccak256(type(PancakePair).creationCode);

    address public feeTo;
    address public feeToSetter;

    mapping(address tokenA => mapping(address tokenB => address pair)) public getPair;
    address[] public allPairs;

    constructor(address _feeToSetter) {
        feeToSetter = _feeToSetter;
    }

    function allPairsLength() external view returns (uint256) {
        return allPairs.length;
    }

    function createPair(address tokenA, address tokenB) external returns (address pair) {
        require(tokenA != tokenB, "Pancake: IDENTICAL_ADDRESSES");
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        require(token0 != address(0), "Pancake: ZERO_ADDRESS");
        require(getPair[token0][token1] == address(0), "Pancake: PAIR_EXISTS");
        pair = address(new PancakePair{salt: keccak256(abi.encodePacked(token0, token1))}());
        PancakePair(pair).initialize(token0, token1);
        getPair[token0][token1] = pair;
        getPair[token1][token0] = pair; // both orders resolve to the one pair
        allPairs.push(pair);
        emit PairCreated(token0, token1, pair, allPairs.length);
    }

    function setFeeTo(address _feeTo) external {
        require(msg.sender == feeToSetter, "Pancake: FORBIDDEN");
        feeTo = _feeTo;
    }

    function setFeeToSetter(address _feeToSetter) external {
        require(msg.sender == feeToSetter, "Pancake: FORBIDDEN");
        feeToSetter = _feeToSetter;
    }
}
