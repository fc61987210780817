// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Full-precision arithmetic the vault and its oracle share.
library VaultMath {
    error MulDivOverflow();

    /// @notice floor(x * y / d) with a 512-bit intermediate (OpenZeppelin's algorithm), so that
    /// prices in UQ112x112 and 1e18 fixed point never overflow on manipulated reserves.
    function mulDiv(uint256 x, uint256 y, uint256 d) internal pure returns (uint256 result) {
        unchecked {
            uint256 prod0;
            uint256 prod1;
            assembly {
                let mm := mulmod(x, y, not(0))
                prod0 := mul(x, y)
                prod1 := sub(sub(mm, prod0), lt(mm, prod0))
            }
            if (prod1 == 0) {
                if (d == 0) revert MulDivOverflow();
                return prod0 / d;
            }
            if (d <= prod1) revert MulDivOverflow();
            uint256 remainder;
            assembly {
                remainder := mulmod(x, y, d)
                prod1 := sub(prod1, gt(remainder, prod0))
                prod0 := sub(prod0, remainder)
            }
            uint256 twos = d & (0 - d);
            assembly {
                d := div(d, twos)
                prod0 := div(prod0, twos)
                twos := add(div(sub(0, twos), twos), 1)
            }
            prod0 |= prod1 * twos;
            uint256 inverse = (3 * d) ^ 2;
            inverse *= 2 - d * inverse;
            inverse *= 2 - d * inverse;
            inverse *= 2 - d * inverse;
            inverse *= 2 - d * inverse;
            inverse *= 2 - d * inverse;
            inverse *= 2 - d * inverse;
            result = prod0 * inverse;
        }
    }

    /// @notice ceil(x * y / d).
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256 result) {
        result = mulDiv(x, y, d);
        if (mulmod(x, y, d) > 0) result += 1;
    }

    /// @notice floor(sqrt(x)) (Babylonian method from a power-of-two first guess).
    function sqrt(uint256 x) internal pure returns (uint256 z) {
        if (x == 0) return 0;
        unchecked {
            uint256 xx = x;
            uint256 r = 1;
            if (xx >= 1 << 128) {
                xx >>= 128;
                r <<= 64;
            }
            if (xx >= 1 << 64) {
                xx >>= 64;
                r <<= 32;
            }
            if (xx >= 1 << 32) {
                xx >>= 32;
                r <<= 16;
            }
            if (xx >= 1 << 16) {
                xx >>= 16;
                r <<= 8;
            }
            if (xx >= 1 << 8) {
                xx >>= 8;
                r <<= 4;
            }
            if (xx >= 1 << 4) {
                xx >>= 4;
                r <<= 2;
            }
            if (xx >= 1 << 2) r <<= 1;
            for (uint256 i; i < 7; ++i) {
                r = (r + x / r) >> 1;
            }
            uint256 r1 = x / r;
            z = r < r1 ? r : r1;
        }
    }

    function absDiff(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
