// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The published interface of the Aster (formerly ApolloX) diamond's facets that the
/// replica implements, declared here from Aster's own published declarations (ApolloX's
/// perpetual contracts: `IBook`, `IAlpManager`, `ITradingPortal`, `ITradingReader`), not from
/// the vault's `contracts/interfaces/IAster.sol`: the vault's declaration is what is tested
/// against this one (`xtask/tests/replica_abi.rs`), so a wrong type or struct layout on the
/// vault's side shows as a failing test instead of being copied into the replica.
/// Prices carry 8 decimals, quantities 10, token amounts the token's own.
interface IAsterBook {
    /// @notice `openMarketTrade`'s input (IBook.OpenDataInput).
    struct OpenDataInput {
        address pairBase;
        bool isLong;
        address tokenIn;
        uint96 amountIn;
        uint80 qty;
        uint64 price; // the worst price the trader accepts
        uint64 stopLoss;
        uint64 takeProfit;
        uint24 broker;
    }
}

/// @notice AlpManagerFacet (IAlpManager): minting and burning ALP.
interface IAsterAlpManager {
    event MintAlp(address indexed account, address indexed tokenIn, uint256 amountIn, uint256 alpOut);
    event BurnAlp(
        address indexed account,
        address indexed receiver,
        address indexed tokenOut,
        uint256 alpAmount,
        uint256 amountOut
    );

    function ALP() external view returns (address);
    function coolingDuration() external view returns (uint256);
    function mintAlp(address tokenIn, uint256 amount, uint256 minAlp, bool stake) external;
    function burnAlp(address tokenOut, uint256 alpAmount, uint256 minOut, address receiver) external;
    function alpPrice() external view returns (uint256);
    function lastMintedTimestamp(address account) external view returns (uint256);
}

/// @notice TradingPortalFacet (ITradingPortal): market trades are only pending until Aster's
/// keepers execute them; a close is requested here and settled by a keeper on Aster.
interface IAsterTradingPortal {
    event MarketPendingTrade(address indexed user, bytes32 indexed tradeHash, IAsterBook.OpenDataInput trade);

    function openMarketTrade(IAsterBook.OpenDataInput calldata openData) external;
    function closeTrade(bytes32 tradeHash) external;
}

/// @notice TradingReaderFacet (ITradingReader): open positions.
interface IAsterTradingReader {
    /// @notice ITradingReader.Position. `timestamp` is a uint40 and `holdingFee` follows it in
    /// Aster's declaration.
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
        uint40 timestamp;
        uint96 holdingFee;
    }

    function getPositionsV2(address user, address pairBase) external view returns (Position[] memory);
}

/// @notice Aster's PriceFacade: the price trades open and close at (8 decimals) and when it was
/// last updated.
interface IAsterPriceFacade {
    function getPriceFromCacheOrOracle(address token) external view returns (uint64 price, uint40 updatedAt);
}

/// @notice The whole published surface the replica stands in for.
interface IAsterFacets is IAsterAlpManager, IAsterTradingPortal, IAsterTradingReader, IAsterPriceFacade {}
