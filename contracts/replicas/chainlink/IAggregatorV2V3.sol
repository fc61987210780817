// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Chainlink's published aggregator interface (`AggregatorInterface` and
/// `AggregatorV3Interface`, together `AggregatorV2V3Interface` in Chainlink's npm package), which
/// an aggregator must serve for `EACAggregatorProxy` to sit in front of it, declared for the feed
/// replica so that it depends on Chainlink's interface, not on the vault's
/// `contracts/interfaces/IChainlink.sol` (compared by `xtask/tests/replica_abi.rs`).
interface IAggregatorV2V3 {
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    // V2
    function latestAnswer() external view returns (int256);
    function latestTimestamp() external view returns (uint256);
    function latestRound() external view returns (uint256);
    function getAnswer(uint256 roundId) external view returns (int256);
    function getTimestamp(uint256 roundId) external view returns (uint256);

    // V3
    function decimals() external view returns (uint8);
    function description() external view returns (string memory);
    function version() external view returns (uint256);
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
