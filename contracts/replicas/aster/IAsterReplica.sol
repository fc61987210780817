// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAsterBook, IAsterFacets} from "./IAsterFacets.sol";

/// @notice Replica-only surface of the local Aster diamond: what Aster's off-chain keepers and
/// price feeds do on BSC (executing pending market trades, moving mark prices and the ALP
/// price) plus read helpers the real diamond does not have. Nothing here exists on mainnet, so
/// the vault must never depend on it; the local market history and the tests drive it. The
/// published facets come from `IAsterFacets` (Aster's own declarations), never from the vault's
/// interface files.
interface IAsterReplica is IAsterFacets {
    event PendingTradeExecuted(
        address indexed user, bytes32 indexed tradeHash, uint64 entryPrice, uint96 margin
    );
    /// @notice Why a pending trade was refunded instead of opened (a subset of Aster's
    /// ITradingChecker.Refund, plus KEEPER for an explicit cancellation).
    enum Refund {
        USER_PRICE, // the mark price is worse than the trader's `price`
        FEED_DELAY, // executed more than `feedDelayBlocks` blocks after submission
        MAX_LEVERAGE, // the open fee leaves too little margin for the notional
        KEEPER // cancelled by a keeper
    }

    event PendingTradeRefund(address indexed user, bytes32 indexed tradeHash, Refund refund);
    event TradeClosed(
        address indexed user,
        bytes32 indexed tradeHash,
        uint64 closePrice,
        int256 pnl,
        uint256 closeFee,
        uint256 payout
    );
    event AlpPriceSet(uint256 price);
    event MarkPriceSet(address indexed pairBase, uint64 price);
    event FundingRateSet(address indexed pairBase, int256 rate);
    event PairListed(address indexed pairBase, string name, uint64 markPrice);
    event CoolingDurationSet(uint256 duration);
    event FeesSet(uint16 mintFeeBps, uint16 burnFeeBps, uint16 openFeeBps, uint16 closeFeeBps);
    event MaxLeverageSet(uint256 maxLeverage);
    event FeedDelayBlocksSet(uint256 blocks);
    event KeeperSet(address indexed keeper, bool allowed);

    /// @notice A market trade waiting for a keeper, as recorded by `openMarketTrade`.
    struct PendingTrade {
        address user;
        uint64 blockNumber;
        uint32 timestamp;
        IAsterBook.OpenDataInput data;
    }

    // keeper
    function executePendingTrade(bytes32 tradeHash) external returns (bool opened);
    function executePendingTrades() external returns (uint256 opened, uint256 cancelled);
    function cancelPendingTrade(bytes32 tradeHash) external;
    function setMarkPrice(address pairBase, uint64 price) external;
    function setAlpPrice(uint256 price) external;
    function setFundingRate(address pairBase, int256 rate) external;

    // admin
    function listPair(address pairBase, string calldata name, uint64 markPrice) external;
    function setCoolingDuration(uint256 duration) external;
    function setFees(uint16 mintFeeBps, uint16 burnFeeBps, uint16 openFeeBps, uint16 closeFeeBps) external;
    function setMaxLeverage(uint256 maxLeverage) external;
    function setFeedDelayBlocks(uint256 blocks) external;
    function setKeeper(address keeper, bool allowed) external;

    // views
    function alp() external view returns (address);
    function usdt() external view returns (address);
    function markPrice(address pairBase) external view returns (uint64);
    function unrealizedPnl(bytes32 tradeHash) external view returns (int256);
    function pendingTrade(bytes32 tradeHash) external view returns (PendingTrade memory);
    function pendingTradeHashes() external view returns (bytes32[] memory);
    function isPending(bytes32 tradeHash) external view returns (bool);
    function isOpen(bytes32 tradeHash) external view returns (bool);
    function poolBalance() external view returns (uint256);
}
