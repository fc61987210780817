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

/// @notice The arithmetic of the 0.5/0.6 originals, for the replicas of their code: SafeMath's
/// `add`, `sub` and `mul` revert with its strings ("ds-math-add-overflow",
/// "ds-math-sub-underflow", "ds-math-mul-overflow") where Solidity 0.8 would panic, and a
/// division by zero hits the `invalid` opcode (all gas used, no revert data) as it did before
/// 0.8. Found by the differential tests (test/replicas/differential): with 0.8's own checks the
/// replicas reverted with `Panic(0x11)` / `Panic(0x12)` where the real pair reverts otherwise.
library PancakeSafeMath {
    function add(uint256 x, uint256 y) internal pure returns (uint256 z) {
        unchecked {
            z = x + y;
        }
        require(z >= x, "ds-math-add-overflow");
    }

    function sub(uint256 x, uint256 y) internal pure returns (uint256) {
        require(x >= y, "ds-math-sub-underflow");
        unchecked {
            return x - y;
        }
    }

    function mul(uint256 x, uint256 y) internal pure returns (uint256 z) {
        unchecked {
            z = x * y;
        }
        require(y == 0 || z / y == x, "ds-math-mul-overflow");
    }

    /// @notice `x / y`, and before 0.8 a zero `y` was an `assert`-style failure.
    function div(uint256 x, uint256 y) internal pure returns (uint256) {
        if (y == 0) {
            assembly {
                invalid()
            }
        }
        return x / y;
    }
}
