// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Whether the vault may take risk (NORMAL) or may only reduce it (ONLY_UNWIND).
enum RiskMode {
    NORMAL,
    ONLY_UNWIND
}

/// @notice Market regime from realised volatility of the TWAP oracle's observations.
enum Regime {
    CALM,
    NORMAL,
    STORM
}

/// @notice The main thing a cycle did; recorded per cycle so the chaos layer can tell paths apart.
enum CyclePath {
    IDLE,
    REBALANCE,
    REHEDGE,
    UNWIND,
    FLASH_DELEVERAGE,
    FLASH_PARTIAL,
    DELEVERAGE_FALLBACK,
    CLAIMS_FUNDED
}

/// @notice Why an ALP burn was skipped (the ALP stays in the vault and stays accounted).
enum AlpSkipReason {
    COOLDOWN,
    BURN_REVERTED,
    MIN_OUT_UNAVAILABLE
}

/// @notice Target weights of a regime over the investable capital; they sum to 10_000.
struct Weights {
    uint16 lpBps;
    uint16 alpBps;
    uint16 bufferBps;
}

/// @notice Every parameter of the vault, validated once in the constructor.
struct Config {
    /// @dev Seconds between two cycles; also what keeps a keeper from farming the bounty.
    uint32 minCycleInterval;
    /// @dev Length of the TWAP window in seconds (observations are spaced by window / 4).
    uint32 twapWindow;
    /// @dev A TWAP whose start observation is older than this is stale (cycles stopped too long).
    uint32 maxTwapAge;
    /// @dev A Chainlink answer older than this is stale: no gas-based bounty.
    uint32 maxOracleAge;
    /// @dev A pending hedge trade not executed after this long is presumed cancelled by Aster.
    uint32 pendingHedgeTimeout;
    uint16 rebalanceThresholdBps;
    uint16 deltaBandBps;
    uint16 maxDeviationBps;
    uint16 maxNavDropBps;
    uint8 safeCycleThreshold;
    /// @dev Realised volatility (bps per observation interval) at or below which the regime is CALM.
    uint16 calmVolBps;
    /// @dev Realised volatility at or above which the regime is STORM.
    uint16 stormVolBps;
    Weights calm;
    Weights normal;
    Weights storm;
    /// @dev Largest flash borrow as a share of the flash pair's USDT reserve.
    uint16 flashCapBps;
    /// @dev Smallest capped flash step worth taking, as a share of the need; below it: no flash.
    uint16 minFlashStepBps;
    uint16 swapSlippageBps;
    uint16 maxBountyBps;
    /// @dev Share of the per-share NAV gain since the last cycle added to the gas refund.
    uint16 profitBountyBps;
    uint64 maxGasPrice;
    uint32 bountyGasUnits;
    /// @dev Minimum buffer weight every regime must keep (withdrawal liquidity).
    uint16 bufferTargetBps;
    /// @dev Notional / margin of the short hedge.
    uint8 hedgeLeverage;
}

/// @notice The BSC dependencies of the vault (canonical mainnet addresses or local replicas).
struct VaultAddresses {
    address usdt;
    address btcb;
    /// @dev PancakeSwap V2 BTCB/USDT pair: the LP leg and the TWAP source.
    address lpPair;
    /// @dev A different Pancake pair holding USDT (e.g. WBNB/USDT) used for flash borrows.
    address flashPair;
    address router;
    address aster;
    address alpToken;
    address bnbUsdFeed;
    /// @dev Aster's pairBase of the BTC perpetual (BTCB on BSC).
    address hedgePairBase;
}

/// @notice What the oracle saw at one moment. All prices are USDT (18 decimals) per 1e18 BTCB.
struct OracleReading {
    /// @dev An observation at least one window old exists.
    bool ready;
    /// @dev The observation that starts the window is older than maxTwapAge.
    bool stale;
    uint256 twap;
    uint256 spot;
    /// @dev |spot - twap| / twap in bps (type(uint256).max when no TWAP).
    uint256 deviationBps;
    uint256 volBps;
    Regime regime;
    /// @dev Best price available for valuation: the TWAP, else the last good TWAP, else 0.
    uint256 price;
}

/// @notice A cycle's summary, kept for the chaos layer's probes.
struct CycleRecord {
    uint64 timestamp;
    CyclePath path;
    Regime regime;
    RiskMode mode;
    uint32 actions;
    uint256 navBefore;
    uint256 navAfter;
    uint256 bounty;
    uint256 sharePrice;
    uint256 gasUsed;
}

/// @notice The four legs valued at the oracle's price, net of what claims are owed.
struct Legs {
    /// @dev LP tokens at fair (TWAP) reserves plus loose BTCB at TWAP.
    uint256 lp;
    /// @dev ALP not owed to claims, at alpPrice.
    uint256 alp;
    /// @dev Hedge margin plus PnL at the TWAP mark, plus a pending trade's margin (once).
    uint256 hedge;
    /// @dev USDT not reserved for funded claims, minus USDT owed to unfunded claims (>= 0).
    uint256 buffer;
    uint256 nav;
    /// @dev BTCB held through LP (fair reserves) and loose BTCB, 18 decimals.
    uint256 btcExposure;
    /// @dev Short quantity of executed positions plus a pending trade, Aster's 10 decimals.
    uint256 hedgeQty;
    uint256 price;
}
