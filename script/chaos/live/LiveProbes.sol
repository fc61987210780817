// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Small contracts the live-fork engine (xtask/src/chaos/engine/live/) places on an anvil fork with
// `eth_call` state overrides or `anvil_setCode`. Neither is deployed by a transaction, and the
// vault never sees them except as the account that calls it.

interface IWithdrawable {
    function withdraw(uint256 assets, address receiver, address owner) external returns (uint256 shares);
}

interface IBalanceOf {
    function balanceOf(address owner) external view returns (uint256);
}

/// @title WithdrawProbe
/// @notice S7 on a fork, simulated: run as the holder's own code (an `eth_call` to the holder's
/// address with this runtime code overriding it), it withdraws `assets` for the holder and
/// returns what the holder's USDT balance gained. Nothing is mined: the call's state is thrown
/// away, so the experiment goes on from the state it measured.
contract WithdrawProbe {
    /// @return ok whether `withdraw` went through
    /// @return received USDT the holder received (0 when it reverted)
    /// @return revertData the revert data when it did not
    function probe(address vault, address usdt, uint256 assets)
        external
        returns (bool ok, uint256 received, bytes memory revertData)
    {
        uint256 before = IBalanceOf(usdt).balanceOf(address(this));
        try IWithdrawable(vault).withdraw(assets, address(this), address(this)) {
            ok = true;
        } catch (bytes memory reason) {
            revertData = reason;
        }
        received = IBalanceOf(usdt).balanceOf(address(this)) - before;
    }
}

/// @title FeedHeartbeat
/// @notice Chainlink's heartbeat on a fork of real BSC, where nobody posts rounds (the real
/// aggregator only accepts reports signed by its oracle network). The engine puts this code at
/// the feed's address with `anvil_setCode` and writes each round into the slots below with
/// `anvil_setStorageAt`: the last real answer, stamped at the time the heartbeat posts it.
/// Reads the AggregatorV3 surface the vault and the chaos layer use.
contract FeedHeartbeat {
    /// keccak256("chaos.live.feed-heartbeat"): answer, updatedAt, roundId, decimals follow it.
    bytes32 internal constant BASE = keccak256("chaos.live.feed-heartbeat");

    function _word(uint256 offset) private view returns (uint256 w) {
        bytes32 slot = bytes32(uint256(BASE) + offset);
        assembly ("memory-safe") {
            w := sload(slot)
        }
    }

    function decimals() external view returns (uint8) {
        return uint8(_word(3));
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        uint80 id = uint80(_word(2));
        uint256 updatedAt = _word(1);
        return (id, int256(_word(0)), updatedAt, updatedAt, id);
    }

    function latestAnswer() external view returns (int256) {
        return int256(_word(0));
    }
}
