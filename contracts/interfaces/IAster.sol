// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The facets of the Aster (formerly ApolloX) diamond on BSC,
/// 0x1b6F2d3844C6ae7D56ceb3C3643b9060ba28FEb0, that the vault calls. Signatures follow the
/// deployed facets exactly: `mintAlp`, `burnAlp`, `openMarketTrade` and `closeTrade` return
/// nothing; a market trade is only *pending* until Aster's keepers execute it; prices carry
/// 8 decimals and quantities 10.
interface IAsterDiamond {
    /// @notice Input of `openMarketTrade` (IBook.OpenDataInput).
    struct OpenDataInput {
        address pairBase;
        bool isLong;
        address tokenIn;
        uint96 amountIn;
        uint80 qty;
        uint64 price;
        uint64 stopLoss;
        uint64 takeProfit;
        uint24 broker;
    }

    /// @notice An open position as returned by `getPositionsV2` (ITradingReader.Position).
    struct Position {
        bytes32 positionHash;
        string pair;
        address pairBase;
        address marginToken;
        bool isLong;
        uint96 margin;
        uint80 qty;
        uint64 entryPrice;
        uint64 stopLoss;
        uint64 takeProfit;
        uint96 openFee;
        uint96 executionFee;
        int256 fundingFee;
        uint32 timestamp;
        uint96 holdingFee;
    }

    event MarketPendingTrade(address indexed user, bytes32 indexed tradeHash, OpenDataInput trade);

    // ALP (AlpManagerFacet)
    function mintAlp(address tokenIn, uint256 amount, uint256 minAlp, bool stake) external;
    function burnAlp(address tokenOut, uint256 alpAmount, uint256 minOut, address receiver) external;
    function alpPrice() external view returns (uint256);
    function coolingDuration() external view returns (uint256);
    function lastMintedTimestamp(address account) external view returns (uint256);

    // Trading (TradingPortalFacet)
    function openMarketTrade(OpenDataInput calldata data) external;
    function closeTrade(bytes32 tradeHash) external;

    // Reading (TradingReaderFacet)
    function getPositionsV2(address user, address pairBase) external view returns (Position[] memory);

    // Prices (PriceFacadeFacet): Aster's own price for a pair base, 8 decimals, the price its
    // trades open and close at.
    function getPriceFromCacheOrOracle(address token) external view returns (uint64 price, uint40 updatedAt);
}
