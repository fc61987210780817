// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

/// @notice What the differential tests share: comparing the outcome of one call made to the
/// registry-built code ("real") and to the hand-written replica ("hand").
abstract contract DifferentialBase is Test {
    /// Gas for each side of a call: bounded, because a division by zero in 0.5/0.6 code (and in
    /// the replicas, which copy it) burns every unit of gas it is given.
    uint256 internal constant CALL_GAS = 3_000_000;

    /// The same success and the same data. A revert reason (`Error(string)`) is compared as the
    /// string it encodes: solc 0.5.16 leaves memory garbage in the padding after the string
    /// (for example the reason "Pancake: INSUFFICIENT_INPUT_AMOUNT" comes back ending in
    /// ...0080), so the bytes of two equal reasons can differ where no decoder looks.
    function _assertSameOutcome(
        string memory what,
        bool okReal,
        bytes memory retReal,
        bool okHand,
        bytes memory retHand
    ) internal {
        bool same = okReal == okHand && retReal.length == retHand.length
            && (keccak256(retReal) == keccak256(retHand) || _sameReason(retReal, retHand));
        if (!same) {
            emit log_named_string("operation", what);
            emit log_named_bytes("real returned", retReal);
            emit log_named_bytes("hand returned", retHand);
        }
        assertEq(okReal, okHand, string.concat(what, ": success differs"));
        assertTrue(same, string.concat(what, ": return or revert data differs"));
    }

    /// Both are `Error(string)` revert data with the same reason string.
    function _sameReason(bytes memory a, bytes memory b) internal pure returns (bool) {
        (bool isA, string memory ra) = _reason(a);
        (bool isB, string memory rb) = _reason(b);
        return isA && isB && keccak256(bytes(ra)) == keccak256(bytes(rb));
    }

    /// The reason string of `Error(string)` revert data.
    function _reason(bytes memory data) internal pure returns (bool isReason, string memory reason) {
        if (data.length < 68 || bytes4(data) != bytes4(0x08c379a0)) return (false, "");
        bytes memory body = new bytes(data.length - 4);
        for (uint256 i; i < body.length; ++i) {
            body[i] = data[i + 4];
        }
        return (true, abi.decode(body, (string)));
    }
}
