// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Integer helpers of the PancakeSwap V2 pair: the floor square root used for the first
/// LP mint and the protocol fee, and `min`.
library PancakeMath {
    function min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
    }

    /// @notice floor(sqrt(y)) by the Babylonian method, as in the deployed pair (gas is not the
    /// point here, identical rounding is: LP amounts must match the real pair to the wei).
    function sqrt(uint256 y) internal pure returns (uint256 z) {
        if (y > 3) {
            z = y;
            uint256 x = y / 2 + 1;
            while (x < z) {
                z = x;
                x = (y / x + x) / 2;
            }
        } else if (y != 0) {
            z = 1;
        }
    }
}

/// @notice UQ112x112 fixed point (112 integer bits, 112 fraction bits) used for the pair's
/// cumulative prices: reserve ratios fit in 224 bits, so the accumulators can wrap safely.
library UQ112x112 {
    uint224 internal constant Q112 = 2 ** 112;

    function encode(uint112 y) internal pure returns (uint224) {
        return uint224(y) * Q112; // never overflows: 112 + 112 bits
    }

    function uqdiv(uint224 x, uint112 y) internal pure returns (uint224) {
        return x / uint224(y);
    }
}
