// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAggregatorV2V3} from "./IAggregatorV2V3.sol";

/// @title ChainlinkFeedReplica
/// @notice An AggregatorV3 price feed (BNB/USD, BTC/USD: 8 decimals) whose rounds are written by
/// a feed admin instead of an oracle network. `updateAnswer` is a fresh round stamped now;
/// `setUpdatedAt` and `setRoundData` write chosen timestamps, so a stale feed, a future
/// timestamp, a zero or negative answer and an incomplete round can all be produced on purpose.
/// @dev Round ids count from 1, as an aggregator's own ids do; `getRoundData` of a round that
/// was never written reverts with "No data present". It serves Chainlink's whole aggregator
/// interface (V2 and V3), so on the default local chain it is the aggregator behind the real
/// `EACAggregatorProxy` from Chainlink's npm package, which adds the phase to every round id
/// (`phaseId << 64 | roundId`); with `--replicas hand` the vault reads it directly.
contract ChainlinkFeedReplica is IAggregatorV2V3 {
    error NotAdmin(address caller);

    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    uint8 public immutable decimals;
    string public description;
    uint256 public constant version = 4;
    address public admin;

    uint80 private _latestRound;
    mapping(uint80 roundId => Round) private rounds;

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer, address admin_) {
        decimals = decimals_;
        description = description_;
        admin = admin_;
        emit AdminTransferred(address(0), admin_);
        _newRound(initialAnswer, block.timestamp, block.timestamp);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    /// @notice Publishes a new round with `answer`, started and updated now.
    function updateAnswer(int256 answer) external onlyAdmin {
        _newRound(answer, block.timestamp, block.timestamp);
    }

    /// @notice Publishes a new round with explicit timestamps (e.g. updatedAt an hour ago, or an
    /// incomplete round with updatedAt = 0).
    function setRoundData(int256 answer, uint256 startedAt, uint256 updatedAt) external onlyAdmin {
        _newRound(answer, startedAt, updatedAt);
    }

    /// @notice Rewrites the latest round's `updatedAt` without a new round: the feed goes stale
    /// (or fresh) while its answer and round id stay the same.
    function setUpdatedAt(uint256 updatedAt) external onlyAdmin {
        rounds[_latestRound].updatedAt = updatedAt;
    }

    /// @notice Rewrites the latest round's `answeredInRound` (an answer carried over from an
    /// older round, which careful consumers reject).
    function setAnsweredInRound(uint80 answeredInRound) external onlyAdmin {
        rounds[_latestRound].answeredInRound = answeredInRound;
    }

    function transferAdmin(address newAdmin) external onlyAdmin {
        emit AdminTransferred(admin, newAdmin);
        admin = newAdmin;
    }

    function latestAnswer() external view returns (int256) {
        return rounds[_latestRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return rounds[_latestRound].updatedAt;
    }

    function latestRound() external view returns (uint256) {
        return _latestRound;
    }

    /// @notice A round's answer; 0 for a round that was never written (V2 reads do not revert).
    function getAnswer(uint256 roundId) external view returns (int256) {
        return roundId > type(uint80).max ? int256(0) : rounds[uint80(roundId)].answer;
    }

    /// @notice A round's `updatedAt`; 0 for a round that was never written.
    function getTimestamp(uint256 roundId) external view returns (uint256) {
        return roundId > type(uint80).max ? 0 : rounds[uint80(roundId)].updatedAt;
    }

    function getRoundData(uint80 roundId)
        public
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory round = rounds[roundId];
        require(roundId != 0 && roundId <= _latestRound, "No data present");
        return (roundId, round.answer, round.startedAt, round.updatedAt, round.answeredInRound);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return getRoundData(_latestRound);
    }

    function _newRound(int256 answer, uint256 startedAt, uint256 updatedAt) private {
        uint80 roundId = ++_latestRound;
        rounds[roundId] =
            Round({answer: answer, startedAt: startedAt, updatedAt: updatedAt, answeredInRound: roundId});
        emit NewRound(roundId, msg.sender, startedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }
}
