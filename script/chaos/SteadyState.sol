// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {Check} from "./ScenarioTypes.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {
    Config,
    Legs,
    OracleReading,
    RiskMode,
    VaultAddresses,
    Weights
} from "../../contracts/vault/VaultTypes.sol";
import {PancakeMath} from "../../contracts/replicas/pancake/PancakeMath.sol";

// ==============================================================================================
// The steady-state hypothesis around `cycle()`, stated once (docs/steady-state.md) and measured
// here for the in-EVM scenarios, both invariant campaigns and the vault's own tests.
//
// Every value check is judged on a shadow NAV that this file computes from primary sources only:
// token balances, the Pancake pair's reserves and a TWAP taken from the pair's cumulative price
// by the chaos layer's own observations (a `Tape`), Aster's own positions, pending trades, mark
// and ALP price, and the Chainlink feed. The vault's `nav()` is an observed quantity that the
// shadow is compared with (S9), never the yardstick.
// ==============================================================================================

/// @notice The closed set of relations a check may use (docs/steady-state.md, "Relations").
enum Relation {
    LE,
    GE,
    EQ,
    NE,
    LT,
    GT
}

/// @notice A growable list of checks (memory arrays cannot grow in place).
struct CheckList {
    Check[] items;
    uint256 length;
}

/// @notice The dependencies as the chaos layer knows them (its world or its test environment),
/// never read back from the vault under test. Made only by `depsOf`.
struct Deps {
    address usdt;
    address btcb;
    address lpPair;
    address flashPair;
    address aster;
    address alp;
    address bnbUsdFeed;
}

/// @notice The dependencies of a vault built on `a`, the constructor input its deployer filled
/// from the address book (`AddressBook.vaultAddresses`, or a World made from a book): the book
/// stays the one record of where they live.
function depsOf(VaultAddresses memory a) pure returns (Deps memory) {
    return Deps({
        usdt: a.usdt,
        btcb: a.btcb,
        lpPair: a.lpPair,
        flashPair: a.flashPair,
        aster: a.aster,
        alp: a.alpToken,
        bnbUsdFeed: a.bnbUsdFeed
    });
}

/// @notice The chaos layer's own record of the LP pair's cumulative price: one point per
/// timestamp it saw, and the timestamps of the vault's successful cycles (the only moments the
/// vault's oracle can write an observation). Kept in the caller's storage, so a state snapshot
/// and revert rewinds it together with the chain.
struct Tape {
    address pair;
    bool btcIsToken0;
    uint64 start;
    uint64[] times;
    uint256[] cumulatives;
    uint64[] cycles;
}

/// @notice One open short on Aster, as Aster's `getPositionsV2` reports it.
struct Short {
    bytes32 hash;
    uint256 qty;
    /// @dev Margin + PnL at Aster's mark - holding fee - funding paid, floored at 0 (USDT wei).
    uint256 value;
}

/// @notice The vault's value from primary sources only (USDT, 18 decimals; prices in USDT per
/// whole BTCB, 18 decimals; Aster quantities in its 10 decimals).
struct Shadow {
    /// @dev TWAP over exactly the configured window, from the tape.
    uint256 twap;
    /// @dev Lowest and highest TWAP the vault's own oracle could be using now (see `twapRange`).
    uint256 twapMin;
    uint256 twapMax;
    /// @dev The tape covers the window (false: the oldest point it has is used).
    bool covered;
    /// @dev Aster's BTC mark (replicas: `markPrice`; elsewhere the shadow TWAP, see docs).
    uint256 mark;
    bool markFromAster;
    uint256 usdtBalance;
    /// @dev USDT and ALP owed to withdrawal claims (funded: USDT set aside; unfunded: owed).
    uint256 usdtOwed;
    uint256 alpOwed;
    uint256 usdtFree;
    uint256 alpFree;
    uint256 alpPrice;
    uint256 alpValue;
    uint256 lpBalance;
    uint256 lpSupply;
    uint256 reserveBtc;
    uint256 reserveUsdt;
    uint256 lpValue;
    uint256 lpBtc;
    uint256 looseBtc;
    uint256 looseBtcValue;
    Short[] shorts;
    uint256 hedgeValue;
    uint256 hedgeQty;
    uint256 pendingMargin;
    uint256 pendingQty;
    /// @dev Pending trades read from Aster's own book (false: the vault's `pendingHedge()`).
    bool pendingFromAster;
    uint256 nav;
    /// @dev How far the vault's NAV may legitimately be from `nav` (S9), see `navTolerance`.
    uint256 tolerance;
}

/// @notice The vault's observable state at one moment: its views (observed quantities) and the
/// shadow valuation (the yardstick).
struct Snapshot {
    uint256 timestamp;
    uint256 nav;
    uint256 sharePrice;
    uint256 totalSupply;
    Legs legs;
    RiskMode mode;
    uint256 healthyCount;
    /// @dev A trade of the vault pending on Aster, and its quantity: from Aster's own book where
    /// it is enumerable (replicas), else the vault's `pendingHedge()` (see `measure`).
    bool pending;
    uint256 pendingQty;
    bool flashActive;
    uint256 flashBorrowed;
    uint256 flashAllowance;
    bytes32 digest;
    /// @dev reserve0 * reserve1 of the flash pair and of the LP pair.
    uint256 flashK;
    uint256 lpK;
    uint256 vaultUsdt;
    uint256 vaultAlp;
    uint256 vaultBtcb;
    uint256 vaultLp;
    uint256 epoch;
    Shadow shadow;
}

/// @notice What one cycle did to and through its dependencies, read from the dependencies' own
/// events (Pancake `Swap`/`Mint`/`Burn`, ERC-20 `Transfer`, Aster `MarketPendingTrade`) and from
/// Aster's positions before and after; never from the vault's events.
struct Activity {
    /// @dev Operations of the vault on its dependencies (swaps, liquidity, flash, ALP, hedge)
    /// plus one when a claims epoch was funded: zero means the cycle did no work.
    uint256 ops;
    uint256 swaps;
    uint256 swapValueIn;
    uint256 lpMints;
    uint256 lpValueAdded;
    uint256 lpBurns;
    uint256 flashes;
    uint256 flashBorrowed;
    uint256 alpMinted;
    uint256 alpBurnt;
    uint256 hedgesOpened;
    uint256 hedgesClosed;
    uint256 closedNotional;
    uint256 protocolFeeLiquidity;
    bool claimsFunded;
    /// @dev S1's budget: the sum of what each operation may cost by the mechanism's own bound.
    uint256 budget;
    /// @dev S6's upward allowance: value the operations gained at the shadow TWAP.
    uint256 gains;
}

/// @notice What the common cycle checks need besides the two snapshots.
struct CycleInput {
    bool ok;
    uint256 bounty;
    uint256 keeperGain;
    Vm.Log[] logs;
    uint256 gasPrice;
}

/// @notice Aster reads, declared here from Aster's published interface (TradingReaderFacet,
/// AlpManagerFacet) rather than taken from the vault's own declaration.
interface IAsterReads {
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

    function getPositionsV2(address user, address pairBase) external view returns (Position[] memory);
    function alpPrice() external view returns (uint256);
}

interface IPairReads {
    function token0() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
    function price0CumulativeLast() external view returns (uint256);
    function price1CumulativeLast() external view returns (uint256);
    function totalSupply() external view returns (uint256);
    function balanceOf(address) external view returns (uint256);
    function factory() external view returns (address);
}

interface ITokenReads {
    function balanceOf(address) external view returns (uint256);
    function allowance(address, address) external view returns (uint256);
}

interface IFeedReads {
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
    function decimals() external view returns (uint8);
}

/// @notice The claim book entries the shadow subtracts (read per claim, not the vault's totals).
interface IClaimBook {
    struct Claim {
        address receiver;
        uint64 epoch;
        uint128 usdt;
        uint128 alp;
    }

    struct Epoch {
        uint128 usdtOwed;
        uint128 alpOwed;
        uint128 alpProceeds;
        bool funded;
    }

    function nextClaimId() external view returns (uint256);
    function currentEpoch() external view returns (uint256);
    function claims(uint256 id) external view returns (Claim memory);
    function epochs(uint256 epoch) external view returns (Epoch memory);
}

/// @title SteadyState
/// @notice Measures the steady-state hypothesis S1-S10 (docs/steady-state.md) and states each
/// check as a `Check`: a named raw observation, the bound it is held to, the relation, and the
/// verdict. Bounds come from the vault's configuration and from what the dependencies recorded;
/// observations of value come from the shadow valuation.
library SteadyState {
    uint256 internal constant BPS = 10_000;
    /// Pancake V2 fee on each swap leg.
    uint256 internal constant PANCAKE_FEE_BPS = 25;
    uint256 internal constant ONE_SHARE = 1e24;
    /// The share offset the hypothesis holds the vault to (docs/steady-state.md, S10): shares
    /// are valued as if 10^6 share units more existed (ERC-4626 virtual shares), which bounds
    /// what rounding can take from a depositor however a donation moved the share price.
    uint256 internal constant SHARE_OFFSET = 1e6;
    uint256 internal constant Q112 = 2 ** 112;
    /// Integer rounding allowed per dependency operation in S1 and S6 (USDT wei): the largest
    /// single rounding of an operation is one LP token unit at fair value (~600 wei at 90k
    /// USDT/BTC) or one Aster price unit times a quantity (< 1e10 wei); see docs/steady-state.md.
    uint256 internal constant OP_ROUNDING_WEI = 1e11;
    /// Relative rounding between two valuations of the same LP position (the vault factors
    /// sqrt(k * p) into sqrt(k) * sqrt(p), each floored): 1 part in 1e10 of the LP value.
    uint256 internal constant LP_ROUNDING_PARTS = 1e10;
    /// Close fee assumed when Aster's own fee cannot be read (real Aster): see the docs.
    uint256 internal constant FALLBACK_CLOSE_FEE_BPS = 10;

    bytes32 internal constant SWAP_TOPIC = keccak256("Swap(address,uint256,uint256,uint256,uint256,address)");
    bytes32 internal constant MINT_TOPIC = keccak256("Mint(address,uint256,uint256)");
    bytes32 internal constant BURN_TOPIC = keccak256("Burn(address,uint256,uint256,address)");
    bytes32 internal constant TRANSFER_TOPIC = keccak256("Transfer(address,address,uint256)");
    bytes32 internal constant PENDING_TRADE_TOPIC = keccak256(
        "MarketPendingTrade(address,bytes32,(address,bool,address,uint96,uint80,uint64,uint64,uint64,uint24))"
    );

    // ========================================================================== the tape

    /// @notice Starts a tape for `pair` at the vault's deployment (the vault's oracle writes its
    /// first observation in its constructor, which counts as a cycle here).
    function startTape(Tape storage t, address pair, address btcb) internal {
        t.pair = pair;
        t.btcIsToken0 = IPairReads(pair).token0() == btcb;
        t.start = uint64(block.timestamp);
        delete t.times;
        delete t.cumulatives;
        delete t.cycles;
        t.cycles.push(uint64(block.timestamp));
        record(t);
    }

    /// @notice One point per timestamp: the pair's cumulative BTCB price as of now. Within one
    /// timestamp the value cannot change (the pair accumulates only over elapsed seconds), so
    /// recording once per timestamp is exact.
    function record(Tape storage t) internal {
        uint256 n = t.times.length;
        if (n != 0 && t.times[n - 1] >= block.timestamp) return;
        t.times.push(uint64(block.timestamp));
        t.cumulatives.push(cumulativeNow(t));
    }

    /// @notice A successful cycle: the vault's oracle may have written an observation now.
    function recordCycle(Tape storage t) internal {
        record(t);
        uint256 n = t.cycles.length;
        if (n == 0 || t.cycles[n - 1] < block.timestamp) t.cycles.push(uint64(block.timestamp));
    }

    /// @notice The pair's cumulative price of BTCB in USDT (UQ112x112 seconds) as of now: the
    /// stored accumulator plus the current reserves' price for the seconds since its last update.
    function cumulativeNow(Tape storage t) internal view returns (uint256 c) {
        IPairReads p = IPairReads(t.pair);
        (uint112 r0, uint112 r1, uint32 last) = p.getReserves();
        c = t.btcIsToken0 ? p.price0CumulativeLast() : p.price1CumulativeLast();
        uint32 now32 = uint32(block.timestamp);
        if (last != now32 && r0 != 0 && r1 != 0) {
            uint256 priceQ = t.btcIsToken0 ? (uint256(r1) << 112) / r0 : (uint256(r0) << 112) / r1;
            unchecked {
                c += priceQ * uint32(now32 - last);
            }
        }
    }

    /// @notice The cumulative at `s` (start <= s <= now): exact at recorded points and, between
    /// two points, exact whenever no block of another timestamp lies between them (the price is
    /// then constant there); otherwise the average price of that interval is used.
    function cumulativeAt(Tape storage t, uint256 s) internal view returns (uint256) {
        uint256 n = t.times.length;
        uint256 lo;
        uint256 hi = n;
        // The last point at or before s (points are strictly increasing in time).
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (t.times[mid] <= s) lo = mid + 1;
            else hi = mid;
        }
        if (lo == 0) return t.cumulatives[0];
        uint256 i = lo - 1;
        uint256 ti = t.times[i];
        uint256 ci = t.cumulatives[i];
        if (ti == s) return ci;
        (uint256 tj, uint256 cj) =
            i + 1 < n ? (uint256(t.times[i + 1]), t.cumulatives[i + 1]) : (block.timestamp, cumulativeNow(t));
        if (tj <= ti) return ci;
        unchecked {
            return ci + (cj - ci) * (s - ti) / (tj - ti);
        }
    }

    /// @notice TWAP of BTCB in USDT (18 decimals) from `s` to now, as the pair's accumulator
    /// defines it; 0 when s is not in the past.
    function twapFrom(Tape storage t, uint256 s) internal view returns (uint256) {
        if (s >= block.timestamp) return 0;
        uint256 delta;
        unchecked {
            delta = cumulativeNow(t) - cumulativeAt(t, s);
        }
        return (delta / (block.timestamp - s)) * 1e18 / Q112;
    }

    /// @notice The range of TWAPs the vault's own oracle may be using now. Its oracle reads from
    /// the newest observation at least `window` old; observations are written only by cycles,
    /// at most one per `window / 4`. So if `c` is the last successful cycle at or before
    /// now - window, that observation lies in [c - window / 4, c] (the constructor's observation
    /// counts as a cycle at deployment, and nothing precedes it).
    function twapRange(Tape storage t, uint256 window) internal view returns (uint256 lo, uint256 hi) {
        if (block.timestamp < uint256(t.start) + window) return (0, 0);
        uint256 limit = block.timestamp - window;
        uint256 c = t.start;
        for (uint256 i = t.cycles.length; i > 0; --i) {
            if (t.cycles[i - 1] <= limit) {
                c = t.cycles[i - 1];
                break;
            }
        }
        uint256 sLo = c > uint256(t.start) + window / 4 ? c - window / 4 : t.start;
        lo = type(uint256).max;
        // The TWAP from s is monotone in s between two tape points: the extremes are at sLo,
        // c and the points in between.
        (lo, hi) = _widen(lo, hi, twapFrom(t, sLo));
        (lo, hi) = _widen(lo, hi, twapFrom(t, c));
        for (uint256 i; i < t.times.length; ++i) {
            uint256 ti = t.times[i];
            if (ti > sLo && ti < c) (lo, hi) = _widen(lo, hi, twapFrom(t, ti));
        }
    }

    function _widen(uint256 lo, uint256 hi, uint256 x) private pure returns (uint256, uint256) {
        return (x < lo ? x : lo, x > hi ? x : hi);
    }

    // ========================================================================== the shadow

    /// @notice The vault's value from primary sources (docs/steady-state.md, "The shadow NAV").
    function shadow(Deps memory d, Tape storage t, address vault, Config memory cfg)
        internal
        view
        returns (Shadow memory s)
    {
        uint256 window = cfg.twapWindow;
        s.covered = block.timestamp >= uint256(t.start) + window;
        s.twap = twapFrom(t, s.covered ? block.timestamp - window : t.start);
        (s.twapMin, s.twapMax) = twapRange(t, window);
        if (!s.covered) (s.twapMin, s.twapMax) = (s.twap, s.twap);
        _claims(s, vault);
        s.usdtBalance = ITokenReads(d.usdt).balanceOf(vault);
        s.usdtFree = s.usdtBalance > s.usdtOwed ? s.usdtBalance - s.usdtOwed : 0;
        uint256 alpBal = ITokenReads(d.alp).balanceOf(vault);
        s.alpFree = alpBal > s.alpOwed ? alpBal - s.alpOwed : 0;
        s.alpPrice = IAsterReads(d.aster).alpPrice();
        s.alpValue = s.alpFree * s.alpPrice / 1e8;
        _lp(s, d, vault);
        s.looseBtc = ITokenReads(d.btcb).balanceOf(vault);
        s.looseBtcValue = s.looseBtc * s.twap / 1e18;
        (s.mark, s.markFromAster) = _mark(d, s.twap);
        _hedge(s, d, vault);
        _pending(s, d, vault);
        // USDT owed beyond the USDT on hand (an unfunded claim larger than the balance) is a
        // liability of the other legs: the next funding cycle pays it from them.
        uint256 gross = s.usdtFree + s.alpValue + s.lpValue + s.looseBtcValue + s.hedgeValue + s.pendingMargin;
        uint256 shortfall = s.usdtOwed > s.usdtBalance ? s.usdtOwed - s.usdtBalance : 0;
        s.nav = gross > shortfall ? gross - shortfall : 0;
        s.tolerance = navTolerance(s);
    }

    /// @notice S9's tolerance: how far a vault that follows its documented valuation rule may be
    /// from the shadow. (1) Its LP and loose BTCB are priced at its own TWAP, which lies in
    /// [twapMin, twapMax] rather than at the shadow TWAP; (2) integer rounding. The vault values
    /// its shorts at Aster's own price, as the shadow does, so they have no term beyond one wei
    /// per position (finding 2 in test/chaos/findings, fixed: a vault that values its shorts at
    /// its TWAP is off by executed qty x |TWAP - mark| and S9 disproves it).
    function navTolerance(Shadow memory s) internal pure returns (uint256 tol) {
        uint256 atLo = lpValueAt(s, s.twapMin) + s.looseBtc * s.twapMin / 1e18;
        uint256 atHi = lpValueAt(s, s.twapMax) + s.looseBtc * s.twapMax / 1e18;
        uint256 here = s.lpValue + s.looseBtcValue;
        tol = _max(_absDiff(atLo, here), _absDiff(atHi, here));
        tol += s.shorts.length;
        tol += s.lpValue / LP_ROUNDING_PARTS + OP_ROUNDING_WEI;
    }

    /// @notice Fair value of the vault's LP tokens at `price`: its share of 2 * sqrt(k * price),
    /// the pool's value if arbitrage moved its reserves to that price (immune to a push of the
    /// reserves' ratio).
    function lpValueAt(Shadow memory s, uint256 price) internal pure returns (uint256) {
        if (s.lpBalance == 0 || s.lpSupply == 0 || price == 0) return 0;
        uint256 fairUsdt = _sqrt(_mulDiv(s.reserveBtc * s.reserveUsdt, price, 1e18));
        return _mulDiv(2 * fairUsdt, s.lpBalance, s.lpSupply);
    }

    /// @notice BTCB held through the LP tokens at `price` (fair reserves), 18 decimals.
    function lpBtcAt(Shadow memory s, uint256 price) internal pure returns (uint256) {
        if (s.lpBalance == 0 || s.lpSupply == 0 || price == 0) return 0;
        uint256 fairBtc = _sqrt(_mulDiv(s.reserveBtc * s.reserveUsdt, 1e18, price));
        return _mulDiv(fairBtc, s.lpBalance, s.lpSupply);
    }

    function _lp(Shadow memory s, Deps memory d, address vault) private view {
        IPairReads p = IPairReads(d.lpPair);
        s.lpBalance = p.balanceOf(vault);
        s.lpSupply = p.totalSupply();
        (uint112 r0, uint112 r1,) = p.getReserves();
        (s.reserveBtc, s.reserveUsdt) =
            p.token0() == d.btcb ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        s.lpValue = lpValueAt(s, s.twap);
        s.lpBtc = lpBtcAt(s, s.twap);
    }

    /// @dev Aster's mark for the BTC pair (8 decimals, scaled to 18). The replica answers
    /// `markPrice(pairBase)`; the real diamond exposes no such view, so the shadow TWAP stands
    /// in (on a BSC fork Aster's keepers never execute the vault's trades: no position to mark).
    function _mark(Deps memory d, uint256 fallbackPrice) private view returns (uint256, bool) {
        (bool ok, bytes memory ret) =
            d.aster.staticcall(abi.encodeWithSignature("markPrice(address)", d.btcb));
        if (ok && ret.length >= 32) {
            uint256 m = abi.decode(ret, (uint256));
            if (m != 0) return (m * 1e10, true);
        }
        return (fallbackPrice, false);
    }

    function _hedge(Shadow memory s, Deps memory d, address vault) private view {
        IAsterReads.Position[] memory ps = IAsterReads(d.aster).getPositionsV2(vault, d.btcb);
        uint256 n;
        for (uint256 i; i < ps.length; ++i) {
            if (!ps[i].isLong) n++;
        }
        s.shorts = new Short[](n);
        uint256 j;
        uint256 mark8 = s.mark / 1e10;
        for (uint256 i; i < ps.length; ++i) {
            IAsterReads.Position memory p = ps[i];
            if (p.isLong) continue;
            // A short gains (entry - mark) x qty; qty 1e10 x price 1e8 = USDT wei.
            int256 v = int256(uint256(p.margin)) + int256(uint256(p.qty))
                * (int256(uint256(p.entryPrice)) - int256(mark8)) - int256(uint256(p.holdingFee))
                - (p.fundingFee > 0 ? p.fundingFee : int256(0));
            uint256 value = v > 0 ? uint256(v) : 0;
            s.shorts[j++] = Short(p.positionHash, p.qty, value);
            s.hedgeValue += value;
            s.hedgeQty += p.qty;
        }
    }

    /// @dev Trades the vault sent that Aster has neither executed nor refunded: their margin is
    /// the vault's (it comes back as a position or a refund). Read from Aster's own book on the
    /// replicas; the real diamond has no enumerable book, so the vault's `pendingHedge()` is used
    /// there (stated in the docs).
    function _pending(Shadow memory s, Deps memory d, address vault) private view {
        (bool ok, bytes memory ret) = d.aster.staticcall(abi.encodeWithSignature("pendingTradeHashes()"));
        if (ok && ret.length >= 64) {
            bytes32[] memory hashes = abi.decode(ret, (bytes32[]));
            s.pendingFromAster = true;
            for (uint256 i; i < hashes.length; ++i) {
                (bool ok2, bytes memory t) =
                    d.aster.staticcall(abi.encodeWithSignature("pendingTrade(bytes32)", hashes[i]));
                if (!ok2 || t.length < 12 * 32) continue;
                (address user,,, address pairBase, bool isLong,, uint96 amountIn, uint80 tradeQty) =
                    abi.decode(t, (address, uint64, uint32, address, bool, address, uint96, uint80));
                if (user != vault || isLong || pairBase != d.btcb) continue;
                s.pendingMargin += amountIn;
                s.pendingQty += tradeQty;
            }
            return;
        }
        (bool pending, uint256 qty, uint256 margin,) = YieldVault(vault).pendingHedge();
        if (pending) (s.pendingQty, s.pendingMargin) = (qty, margin);
    }

    /// @dev What withdrawal claims are owed, claim by claim: a funded claim's USDT is set aside
    /// in the vault's balance; an unfunded one is owed in USDT and ALP units. These entries are
    /// fixed at request time (amounts, not valuations); S10 holds each request to its fair share.
    function _claims(Shadow memory s, address vault) private view {
        IClaimBook book = IClaimBook(vault);
        uint256 n = book.nextClaimId();
        for (uint256 id; id < n; ++id) {
            IClaimBook.Claim memory c = book.claims(id);
            if (c.receiver == address(0)) continue;
            IClaimBook.Epoch memory e = book.epochs(c.epoch);
            if (e.funded) {
                s.usdtOwed += uint256(c.usdt)
                + (e.alpOwed == 0 ? 0 : uint256(c.alp) * e.alpProceeds / e.alpOwed);
            } else {
                s.usdtOwed += c.usdt;
                s.alpOwed += c.alp;
            }
        }
    }

    /// @notice What `shares` redeem for at the shadow NAV: their part of it, the supply counted
    /// with SHARE_OFFSET virtual units.
    function shareValue(Snapshot memory s, uint256 shares) internal pure returns (uint256) {
        return _mulDiv(shares, s.shadow.nav, s.totalSupply + SHARE_OFFSET);
    }

    /// @notice Shadow value per whole share (USDT wei per 1e24 share units).
    function shadowSharePrice(Snapshot memory s) internal pure returns (uint256) {
        return _mulDiv(ONE_SHARE, s.shadow.nav, s.totalSupply + SHARE_OFFSET);
    }

    /// @notice The value of one share unit at the shadow NAV, rounded up: what one floor of the
    /// vault's share arithmetic may move.
    function shareUnit(Snapshot memory s) internal pure returns (uint256) {
        return _ceilDiv(s.shadow.nav, s.totalSupply + SHARE_OFFSET) + 1;
    }

    /// @notice Net BTC delta of the vault (LP BTCB at fair reserves for `price` + loose BTCB -
    /// executed and pending shorts) in bps of the shadow NAV at that price.
    function deltaBpsAt(Shadow memory s, uint256 price) internal pure returns (int256) {
        if (price == 0) return 0;
        uint256 nav = s.nav - s.lpValue - s.looseBtcValue + lpValueAt(s, price) + s.looseBtc * price / 1e18;
        if (nav == 0) return 0;
        int256 net = int256((lpBtcAt(s, price) + s.looseBtc) / 1e8) - int256(s.hedgeQty + s.pendingQty);
        return net * int256(price / 1e10) * int256(BPS) / int256(nav);
    }

    // ========================================================================== measure

    function measure(Deps memory d, Tape storage t, YieldVault v) internal view returns (Snapshot memory s) {
        Config memory cfg = v.getConfig();
        s.timestamp = block.timestamp;
        s.legs = v.legs();
        s.nav = v.nav();
        s.sharePrice = v.sharePrice();
        s.totalSupply = v.totalSupply();
        s.mode = v.riskMode();
        s.healthyCount = v.healthyCycleCount();
        s.flashActive = _flashActive(v);
        s.flashBorrowed = _flashBorrowed(v);
        s.flashAllowance = ITokenReads(d.usdt).allowance(address(v), d.flashPair);
        s.digest = v.stateDigest();
        s.flashK = pairK(d.flashPair);
        s.lpK = pairK(d.lpPair);
        s.vaultUsdt = ITokenReads(d.usdt).balanceOf(address(v));
        s.vaultAlp = ITokenReads(d.alp).balanceOf(address(v));
        s.vaultBtcb = ITokenReads(d.btcb).balanceOf(address(v));
        s.vaultLp = IPairReads(d.lpPair).balanceOf(address(v));
        s.epoch = IClaimBook(address(v)).currentEpoch();
        s.shadow = shadow(d, t, address(v), cfg);
        // Whether a trade of the vault is pending (S8's precondition) from Aster's own book
        // where it is enumerable (the replicas), so a vault cannot excuse itself by its report;
        // the vault's `pendingHedge()` only on the real diamond.
        if (s.shadow.pendingFromAster) {
            (s.pending, s.pendingQty) = (s.shadow.pendingQty != 0, s.shadow.pendingQty);
        } else {
            (s.pending, s.pendingQty,,) = v.pendingHedge();
        }
    }

    function _flashActive(YieldVault v) private view returns (bool active) {
        (active,,) = v.flashState();
    }

    function _flashBorrowed(YieldVault v) private view returns (uint256 borrowed) {
        (, borrowed,) = v.flashState();
    }

    function pairK(address pair) internal view returns (uint256) {
        (uint112 r0, uint112 r1,) = IPairReads(pair).getReserves();
        return uint256(r0) * r1;
    }

    /// @notice USDT reserve of a pair that holds `usdt`.
    function usdtReserve(address pair, address usdt) internal view returns (uint256) {
        (uint112 r0, uint112 r1,) = IPairReads(pair).getReserves();
        return IPairReads(pair).token0() == usdt ? r0 : r1;
    }

    /// @notice BNB/USD (18 decimals) as the hypothesis trusts it: positive and no older than
    /// `maxAge`, else 0. Read straight from the feed, not through the vault.
    function trustedBnbUsd(address feed, uint256 maxAge) internal view returns (uint256) {
        try IFeedReads(feed).latestRoundData() returns (
            uint80, int256 answer, uint256, uint256 updatedAt, uint80
        ) {
            if (answer <= 0 || updatedAt == 0 || updatedAt > block.timestamp) return 0;
            if (block.timestamp - updatedAt > maxAge) return 0;
            uint8 dec = IFeedReads(feed).decimals();
            return uint256(answer) * 1e18 / (10 ** dec);
        } catch {
            return 0;
        }
    }

    /// @notice The S2 gas cap: 1.5 x bountyGasUnits x min(tx.gasprice, maxGasPrice) x BNB/USD.
    function gasCap(Config memory cfg, uint256 gasPrice, uint256 bnbUsd) internal pure returns (uint256) {
        uint256 p = gasPrice < cfg.maxGasPrice ? gasPrice : cfg.maxGasPrice;
        return uint256(cfg.bountyGasUnits) * p * bnbUsd / 1e18 * 3 / 2;
    }

    /// @notice The same cap without maxGasPrice: what an unbounded gas refund would pay.
    function uncappedGasBounty(Config memory cfg, uint256 gasPrice, uint256 bnbUsd)
        internal
        pure
        returns (uint256)
    {
        return uint256(cfg.bountyGasUnits) * gasPrice * bnbUsd / 1e18 * 3 / 2;
    }

    // ========================================================================== activity

    /// @notice The cycle's operations on its dependencies and what each may cost (S1's budget)
    /// or gain (S6's upward allowance), priced at the shadow TWAP of the cycle's timestamp.
    function activity(
        Deps memory d,
        address vault,
        Vm.Log[] memory logs,
        Snapshot memory a,
        Snapshot memory b,
        Config memory cfg
    ) internal view returns (Activity memory act) {
        uint256 price = a.shadow.twap;
        bool btc0 = IPairReads(d.lpPair).token0() == d.btcb;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.topics.length == 0) continue;
            bytes32 topic = l.topics[0];
            if (l.emitter == d.lpPair) {
                if (topic == SWAP_TOPIC && _topicAddress(l, 2) == vault) {
                    _swap(act, l, btc0, price, cfg);
                } else if (topic == MINT_TOPIC) {
                    _lpMint(act, l, btc0, price, cfg);
                } else if (topic == BURN_TOPIC && _topicAddress(l, 2) == vault) {
                    _lpBurn(act, l, btc0, price);
                } else if (topic == TRANSFER_TOPIC) {
                    _protocolFee(act, l, vault, a);
                }
            } else if (l.emitter == d.flashPair && topic == SWAP_TOPIC && _topicAddress(l, 2) == vault) {
                _flash(act, l, d.flashPair, d.usdt);
            } else if (l.emitter == d.alp && topic == TRANSFER_TOPIC) {
                _alp(act, l, vault, a.shadow.alpPrice, cfg);
            } else if (l.emitter == d.aster && topic == PENDING_TRADE_TOPIC && _topicAddress(l, 1) == vault) {
                act.hedgesOpened += 1;
                act.ops += 1;
            }
        }
        _closes(act, d, a, b);
        if (b.epoch > a.epoch) {
            act.claimsFunded = true;
            act.ops += 1;
        }
        act.budget += act.ops * OP_ROUNDING_WEI;
        act.gains += act.ops * OP_ROUNDING_WEI;
    }

    /// @dev A swap the vault made on the LP pair: the vault's minimum output is the TWAP value
    /// less Pancake's fee and swapSlippageBps, so it may lose at most
    /// valueIn x (1 - (1 - fee)(1 - slippage)) against the TWAP valuation.
    function _swap(Activity memory act, Vm.Log memory l, bool btc0, uint256 price, Config memory cfg)
        private
        pure
    {
        uint256[4] memory x = abi.decode(l.data, (uint256[4])); // amount0In, amount1In, amount0Out, amount1Out
        uint256 valueIn = btc0 ? x[0] * price / 1e18 + x[1] : x[1] * price / 1e18 + x[0];
        uint256 valueOut = btc0 ? x[2] * price / 1e18 + x[3] : x[3] * price / 1e18 + x[2];
        act.swaps += 1;
        act.ops += 1;
        act.swapValueIn += valueIn;
        uint256 keep = (BPS - PANCAKE_FEE_BPS) * (BPS - cfg.swapSlippageBps);
        act.budget += _ceilDiv(valueIn * (BPS * BPS - keep), BPS * BPS);
        if (valueOut > valueIn) act.gains += valueOut - valueIn;
    }

    /// @dev Liquidity added at the pool's ratio S while the valuation price is P loses
    /// (sqrt(bP) - sqrt(u))^2 <= value x g^2 / 8 for |S/P - 1| <= g; the vault adds only in
    /// NORMAL mode, where the spot is within maxDeviationBps of the TWAP.
    function _lpMint(Activity memory act, Vm.Log memory l, bool btc0, uint256 price, Config memory cfg)
        private
        pure
    {
        (uint256 a0, uint256 a1) = abi.decode(l.data, (uint256, uint256));
        (uint256 btc, uint256 usdt) = btc0 ? (a0, a1) : (a1, a0);
        uint256 value = btc * price / 1e18 + usdt;
        act.lpMints += 1;
        act.ops += 1;
        act.lpValueAdded += value;
        uint256 g = cfg.maxDeviationBps;
        act.budget += _ceilDiv(value * g * g, 8 * BPS * BPS);
    }

    /// @dev Liquidity removed: the assets received, valued at P, are worth at least the fair
    /// value of the tokens burnt (AM-GM), so removal costs nothing; what it gains is allowed to
    /// S6's upward move.
    function _lpBurn(Activity memory act, Vm.Log memory l, bool btc0, uint256 price) private pure {
        (uint256 a0, uint256 a1) = abi.decode(l.data, (uint256, uint256));
        (uint256 btc, uint256 usdt) = btc0 ? (a0, a1) : (a1, a0);
        act.lpBurns += 1;
        act.ops += 1;
        uint256 got = btc * price / 1e18 + usdt;
        // Fair value of the same share of the pool: 2 sqrt(b u P) for amounts at the pool ratio.
        uint256 fair = 2 * _sqrt(_mulDiv(btc * usdt, price, 1e18));
        if (got > fair) act.gains += got - fair;
    }

    /// @dev LP tokens minted to the protocol's feeTo at the vault's own mint or burn dilute every
    /// LP: the vault's share of their fair value is a cost of that operation.
    function _protocolFee(Activity memory act, Vm.Log memory l, address vault, Snapshot memory a)
        private
        pure
    {
        if (l.topics.length < 3) return;
        address from = address(uint160(uint256(l.topics[1])));
        address to = address(uint160(uint256(l.topics[2])));
        if (from != address(0) || to == vault || to == address(0)) return;
        uint256 liq = abi.decode(l.data, (uint256));
        act.protocolFeeLiquidity += liq;
        Shadow memory s = a.shadow;
        if (s.lpSupply == 0) return;
        uint256 fairPool = 2 * _sqrt(_mulDiv(s.reserveBtc * s.reserveUsdt, s.twap, 1e18));
        act.budget += _ceilDiv(_mulDiv(fairPool, liq, s.lpSupply) * s.lpBalance, s.lpSupply);
    }

    /// @dev A flash borrow of USDT from the flash pair: Pancake's K check makes the smallest
    /// repayment borrow x 10000 / 9975 (rounded up); that fee is the operation's budget.
    function _flash(Activity memory act, Vm.Log memory l, address pair, address usdt) private view {
        (,, uint256 out0, uint256 out1) = abi.decode(l.data, (uint256, uint256, uint256, uint256));
        uint256 borrowed = IPairReads(pair).token0() == usdt ? out0 : out1;
        act.flashes += 1;
        act.ops += 1;
        act.flashBorrowed += borrowed;
        act.budget += _ceilDiv(borrowed * BPS, BPS - PANCAKE_FEE_BPS) - borrowed + 1;
    }

    /// @dev ALP minted to or burnt from the vault (the ALP token's own Transfer events): the
    /// vault's minimums are (1 - swapSlippageBps) of the value at alpPrice, so a mint may lose
    /// alpOut x price x s / (1 - s) and a burn alpIn x price x s.
    function _alp(Activity memory act, Vm.Log memory l, address vault, uint256 alpPrice, Config memory cfg)
        private
        pure
    {
        if (l.topics.length < 3) return;
        address from = address(uint160(uint256(l.topics[1])));
        address to = address(uint160(uint256(l.topics[2])));
        uint256 amount = abi.decode(l.data, (uint256));
        uint256 value = amount * alpPrice / 1e8;
        uint256 slip = cfg.swapSlippageBps;
        if (from == address(0) && to == vault) {
            act.alpMinted += amount;
            act.ops += 1;
            act.budget += _ceilDiv(value * slip, BPS - slip);
        } else if (from == vault) {
            act.alpBurnt += amount;
            act.ops += 1;
            act.budget += _ceilDiv(value * slip, BPS);
        }
    }

    /// @dev Shorts open before the cycle and gone after it were closed: closing at Aster's mark
    /// pays their shadow value less Aster's close fee (the replica's `closeFeeBps`, else a stated
    /// fallback), which is the budget of each close.
    function _closes(Activity memory act, Deps memory d, Snapshot memory a, Snapshot memory b) private view {
        uint256 feeBps = FALLBACK_CLOSE_FEE_BPS;
        (bool ok, bytes memory ret) = d.aster.staticcall(abi.encodeWithSignature("closeFeeBps()"));
        if (ok && ret.length >= 32) feeBps = abi.decode(ret, (uint256));
        Short[] memory before = a.shadow.shorts;
        Short[] memory after_ = b.shadow.shorts;
        for (uint256 i; i < before.length; ++i) {
            bool still;
            for (uint256 j; j < after_.length; ++j) {
                if (after_[j].hash == before[i].hash) {
                    still = true;
                    break;
                }
            }
            if (still) continue;
            uint256 notional = before[i].qty * (a.shadow.mark / 1e10);
            act.hedgesClosed += 1;
            act.ops += 1;
            act.closedNotional += notional;
            act.budget += _ceilDiv(notional * feeBps, BPS);
        }
    }

    function _topicAddress(Vm.Log memory l, uint256 i) private pure returns (address) {
        return l.topics.length > i ? address(uint160(uint256(l.topics[i]))) : address(0);
    }

    // ========================================================================== checks

    /// @notice The checks every successful cycle is held to (docs/steady-state.md, "Common cycle
    /// checks"): it succeeded, paid what it reported, S1, S2, S3, S6, S9 before and after.
    function cycleChecks(
        CheckList memory list,
        string memory tag,
        Deps memory d,
        address vault,
        Config memory cfg,
        Snapshot memory a,
        Snapshot memory b,
        CycleInput memory o
    ) internal view returns (Activity memory act) {
        isTrue(list, string.concat("cycle_succeeded", tag), o.ok);
        eq(list, string.concat("S2_bounty_paid_vs_reported_wei", tag), _int(o.keeperGain), _int(o.bounty));
        act = activity(d, vault, o.logs, a, b, cfg);
        s1Value(list, tag, a, b, o.bounty, act);
        uint256 bnb = trustedBnbUsd(d.bnbUsdFeed, cfg.maxOracleAge);
        s2Bounty(list, tag, o.bounty, b, gasCap(cfg, o.gasPrice, bnb), cfg);
        s3Flash(list, tag, a, b);
        s6SharePrice(list, tag, a, b, o.bounty, act);
        s9Nav(list, string.concat("_before_cycle", tag), a);
        s9Nav(list, tag, b);
    }

    /// @notice S1: shadow NAV after >= shadow NAV before - bounty - budget, the budget being
    /// what the cycle's own operations may cost (Activity.budget).
    function s1Value(
        CheckList memory list,
        string memory tag,
        Snapshot memory a,
        Snapshot memory b,
        uint256 bounty,
        Activity memory act
    ) internal pure {
        int256 loss = _int(a.shadow.nav) - _int(b.shadow.nav) - _int(bounty);
        le(list, string.concat("S1_nav_loss_beyond_bounty_wei", tag), loss, _int(act.budget));
    }

    /// @notice S2: the bounty is within maxBountyBps of NAV (the shadow NAV before the bounty,
    /// plus S9's tolerance) and within the gas cap computed from the Chainlink feed.
    function s2Bounty(
        CheckList memory list,
        string memory tag,
        uint256 bounty,
        Snapshot memory b,
        uint256 gasCapWei,
        Config memory cfg
    ) internal pure {
        uint256 navCap =
            (b.shadow.nav + bounty + b.shadow.tolerance) * cfg.maxBountyBps / BPS;
        le(list, string.concat("S2_bounty_vs_nav_cap_wei", tag), _int(bounty), _int(navCap));
        le(list, string.concat("S2_bounty_vs_gas_cap_wei", tag), _int(bounty), _int(gasCapWei));
    }

    /// @notice The gas refund the bounty is built on: bountyGasUnits x min(tx.gasprice,
    /// maxGasPrice) x BNB/USD (the feed as the hypothesis trusts it); the gas cap is 1.5 x this.
    function gasRefund(Config memory cfg, uint256 gasPrice, uint256 bnbUsd) internal pure returns (uint256) {
        uint256 p = gasPrice < cfg.maxGasPrice ? gasPrice : cfg.maxGasPrice;
        return _mulDiv(uint256(cfg.bountyGasUnits) * p, bnbUsd, 1e18);
    }

    /// @notice What the profit share of a bounty is judged on (docs/steady-state.md, "The profit
    /// share"): the shadow gain since the previous cycle and the terms built from it.
    struct ProfitShare {
        /// @dev Shadow value gained by the holders since the previous cycle, before the bounty.
        uint256 gain;
        uint256 refund;
        /// @dev profitBountyBps of the gain.
        uint256 share;
        /// @dev How far the vault's own measure of the gain may be from the shadow's, times
        /// profitBountyBps, plus the share arithmetic's rounding.
        uint256 slack;
        /// @dev min(refund + share, gas cap, NAV cap, free USDT): what the keeper is owed.
        uint256 owed;
    }

    /// @notice S2's profit share: the bounty is the gas refund plus profitBountyBps of the gain
    /// (measured on the shadow share price after the previous cycle, `spPrev` with S9 tolerance
    /// `tolPrev`, and after this one before its bounty), within the caps. Upward: no more than
    /// refund + share (`S2_bounty_vs_profit_share_wei`); downward: no less than what the
    /// mechanism owes the keeper when no cap binds (`S2_profit_share_paid_wei`). Both within
    /// `slack`: profitBountyBps of the two S9 tolerances plus two share units.
    function s2ProfitShare(
        CheckList memory list,
        string memory tag,
        Config memory cfg,
        uint256 bounty,
        uint256 gasPrice,
        uint256 bnbUsd,
        uint256 spPrev,
        uint256 tolPrev,
        Snapshot memory b
    ) internal pure returns (ProfitShare memory p) {
        uint256 supply = b.totalSupply;
        uint256 spNow = _mulDiv(ONE_SHARE, b.shadow.nav + bounty, supply + SHARE_OFFSET);
        p.gain = spNow > spPrev ? _mulDiv(spNow - spPrev, supply, ONE_SHARE) : 0;
        p.refund = gasRefund(cfg, gasPrice, bnbUsd);
        p.share = p.gain * cfg.profitBountyBps / BPS;
        uint256 rounding = 2 * _ceilDiv(supply, ONE_SHARE) + 2;
        p.slack = _ceilDiv((tolPrev + b.shadow.tolerance) * cfg.profitBountyBps, BPS) + rounding;
        uint256 navAt = b.shadow.nav + bounty;
        navAt = navAt > b.shadow.tolerance ? navAt - b.shadow.tolerance : 0;
        p.owed = _min(
            _min(p.refund + p.share, gasCap(cfg, gasPrice, bnbUsd)),
            _min(navAt * cfg.maxBountyBps / BPS, b.shadow.usdtFree + bounty)
        );
        le(
            list,
            string.concat("S2_bounty_vs_profit_share_wei", tag),
            _int(bounty),
            _int(p.refund + p.share + p.slack)
        );
        ge(list, string.concat("S2_profit_share_paid_wei", tag), _int(bounty + p.slack), _int(p.owed));
    }

    /// @notice Where a NORMAL rebalance lands (docs/steady-state.md, "Where a rebalance lands"):
    /// each leg measured from primary sources after the cycle against its regime weight of the
    /// shadow NAV. LP leg: the LP tokens' fair value plus the hedge (Aster's shorts and pending
    /// margin; the LP weight covers both); ALP leg: free ALP at Aster's price; buffer: free USDT.
    /// Loose BTCB counts in no leg (a clean add leaves only dust). The tolerance is returned.
    function landingChecks(
        CheckList memory list,
        string memory tag,
        Config memory cfg,
        Weights memory wt,
        Snapshot memory a,
        Snapshot memory b,
        Activity memory act,
        uint256 bounty
    ) internal pure returns (uint256 tol) {
        Shadow memory s = b.shadow;
        tol = landingTolerance(cfg, a, b, act, bounty);
        uint256 lpLeg = s.lpValue + s.hedgeValue + s.pendingMargin;
        le(
            list,
            string.concat("landing_lp_leg_off_wei", tag),
            _int(_absDiff(lpLeg, s.nav * wt.lpBps / BPS)),
            _int(tol)
        );
        le(
            list,
            string.concat("landing_alp_leg_off_wei", tag),
            _int(_absDiff(s.alpValue, s.nav * wt.alpBps / BPS)),
            _int(tol)
        );
        le(
            list,
            string.concat("landing_buffer_off_wei", tag),
            _int(_absDiff(s.usdtFree, s.nav * wt.bufferBps / BPS)),
            _int(tol)
        );
        ge(
            list,
            string.concat("landing_buffer_vs_target_floor_wei", tag),
            _int(s.usdtFree + tol),
            _int(s.nav * cfg.bufferTargetBps / BPS)
        );
        le(
            list,
            string.concat("landing_loose_btcb_wei", tag),
            _int(s.looseBtcValue),
            _int(looseBtcAllowance(cfg, a, act))
        );
    }

    /// @notice What loose BTCB a NORMAL rebalance may leave (landing_loose_btcb_wei): the add
    /// offers every BTCB the vault holds and trims it only when the USDT side, at the pool's ratio
    /// after the vault's own buy, cannot match it. The buy's minimum holds its price impact within
    /// the fee and swapSlippageBps of the TWAP, and the spot is within maxDeviationBps of the TWAP
    /// in NORMAL mode, so what is left is at most the loose BTCB before the cycle plus
    /// (swapSlippageBps + maxDeviationBps) of what the cycle swapped, and one rounding unit per
    /// operation.
    function looseBtcAllowance(Config memory cfg, Snapshot memory a, Activity memory act)
        internal
        pure
        returns (uint256)
    {
        uint256 impact = _ceilDiv(act.swapValueIn * (uint256(cfg.swapSlippageBps) + cfg.maxDeviationBps), BPS);
        return a.shadow.looseBtcValue + impact + act.ops * OP_ROUNDING_WEI;
    }

    /// @notice The landing tolerance: 2 x minAct (a leg off by less than a quarter of the
    /// threshold is left alone, and the buffer takes up what the two other legs leave), the
    /// margin of a hedge not opened because the delta stayed inside its band, loose BTCB, the
    /// cycle's own costs, gains and bounty (the vault sizes from the NAV before them), and S9's
    /// tolerance before and after (the vault sizes at its own TWAP).
    function landingTolerance(
        Config memory cfg,
        Snapshot memory a,
        Snapshot memory b,
        Activity memory act,
        uint256 bounty
    ) internal pure returns (uint256) {
        uint256 nav = _max(a.shadow.nav, b.shadow.nav);
        return 2 * _ceilDiv(nav * cfg.rebalanceThresholdBps, 4 * BPS)
            + _ceilDiv(nav * cfg.deltaBandBps, BPS * cfg.hedgeLeverage) + b.shadow.looseBtcValue + act.budget
            + act.gains + bounty + a.shadow.tolerance + b.shadow.tolerance;
    }

    /// @notice Each short the cycle sent to Aster (Aster's own `MarketPendingTrade` event) carries
    /// the margin `hedgeLeverage` calls for: qty x mark / hedgeLeverage, the mark being the
    /// vault's TWAP (8 decimals) within the shadow's range [twapMin, twapMax]. Observed: how
    /// far the margin lies outside [qty x floor(twapMin) / lev, (qty + 1) x twapMax / lev + 1]
    /// (the upper end allows for a margin capped at the free buffer, where qty is derived from
    /// the margin). Returns the number of trades checked.
    function hedgeLeverageChecks(
        CheckList memory list,
        string memory tag,
        Deps memory d,
        address vault,
        Vm.Log[] memory logs,
        Snapshot memory a,
        Config memory cfg
    ) internal pure returns (uint256 n) {
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (
                l.emitter != d.aster || l.topics.length < 2 || l.topics[0] != PENDING_TRADE_TOPIC
                    || _topicAddress(l, 1) != vault
            ) continue;
            n += 1;
            le(
                list,
                string.concat("landing_hedge_margin_vs_leverage_wei", tag),
                _int(_marginOutsideLeverage(l.data, a.shadow, cfg.hedgeLeverage)),
                0
            );
        }
    }

    function _marginOutsideLeverage(bytes memory data, Shadow memory s, uint256 lev)
        private
        pure
        returns (uint256)
    {
        (,,, uint96 margin, uint80 qty,,,,) =
            abi.decode(data, (address, bool, address, uint96, uint80, uint64, uint64, uint64, uint24));
        uint256 lo = uint256(qty) * (s.twapMin / 1e10) / lev;
        uint256 hi = (uint256(qty) + 1) * (s.twapMax / 1e10) / lev + 1;
        return margin < lo ? lo - margin : (margin > hi ? margin - hi : 0);
    }

    /// @notice S3: no flash debt, borrowed balance or allowance survives; the pair's K holds.
    function s3Flash(CheckList memory list, string memory tag, Snapshot memory a, Snapshot memory b)
        internal
        pure
    {
        eq(list, string.concat("S3_flash_active", tag), b.flashActive ? int256(1) : int256(0), 0);
        eq(list, string.concat("S3_flash_borrowed_wei", tag), _int(b.flashBorrowed), 0);
        eq(list, string.concat("S3_flash_allowance_wei", tag), _int(b.flashAllowance), 0);
        ge(list, string.concat("S3_flash_pair_k", tag), _int(b.flashK), _int(a.flashK));
    }

    /// @notice S4: the risk mode is the one the hypothesis expects.
    function s4Mode(CheckList memory list, string memory tag, Snapshot memory b, RiskMode expected)
        internal
        pure
    {
        eq(list, string.concat("S4_risk_mode", tag), int256(uint256(b.mode)), int256(uint256(expected)));
    }

    /// @notice S4 as a state machine: what the risk mode and healthy count must be after a cycle
    /// that saw the oracle reading `seen`. An unready, stale or diverged reading makes the cycle
    /// unhealthy (count 0, ONLY_UNWIND); so does a share-price drop beyond maxNavDropBps (the
    /// only unhealthy cycle without an oracle reason, recognised by its count of 0); a healthy
    /// cycle adds one, and ONLY_UNWIND ends exactly when the count reaches safeCycleThreshold.
    struct Ghost {
        RiskMode mode;
        uint256 healthy;
    }

    function ghostStep(
        CheckList memory list,
        string memory tag,
        Ghost memory g,
        OracleReading memory seen,
        Snapshot memory b,
        Config memory cfg
    ) internal pure returns (bool ok) {
        bool oracleBad =
            !seen.ready || seen.stale || seen.deviationBps > cfg.maxDeviationBps;
        RiskMode expectMode = RiskMode.ONLY_UNWIND;
        uint256 expectCount;
        if (!oracleBad && b.healthyCount != 0) {
            expectCount = g.healthy + 1;
            if (g.mode == RiskMode.NORMAL || expectCount >= cfg.safeCycleThreshold) {
                expectMode = RiskMode.NORMAL;
            }
        }
        ok = b.mode == expectMode && b.healthyCount == expectCount;
        isTrue(list, string.concat("S4_ghost", tag), ok);
        g.mode = b.mode;
        g.healthy = b.healthyCount;
    }

    /// @notice S5: a reverted cycle changed nothing (digest and every balance).
    function s5Unchanged(CheckList memory list, string memory tag, Snapshot memory a, Snapshot memory b)
        internal
        pure
    {
        eq(list, string.concat("S5_digest_changed", tag), a.digest == b.digest ? int256(0) : int256(1), 0);
        eq(list, string.concat("S5_vault_usdt_wei", tag), _int(b.vaultUsdt), _int(a.vaultUsdt));
        eq(list, string.concat("S5_vault_lp_wei", tag), _int(b.vaultLp), _int(a.vaultLp));
        eq(list, string.concat("S5_vault_alp_wei", tag), _int(b.vaultAlp), _int(a.vaultAlp));
    }

    /// @notice S6: the shadow share price moves only as far as the cycle's activity explains:
    /// down by at most its budget plus the bounty (the bounty only if the cycle did work), up by
    /// at most what its operations gained; the supply does not change (a cycle never mints).
    function s6SharePrice(
        CheckList memory list,
        string memory tag,
        Snapshot memory a,
        Snapshot memory b,
        uint256 bounty,
        Activity memory act
    ) internal pure {
        uint256 spA = shadowSharePrice(a);
        uint256 spB = shadowSharePrice(b);
        uint256 supply = a.totalSupply + SHARE_OFFSET;
        uint256 down = act.budget + (act.ops != 0 ? bounty : 0);
        // Per whole share, rounded up, plus one unit for the two floors of the share prices.
        uint256 downBound = _ceilDiv(down * ONE_SHARE, supply) + 1;
        uint256 upBound = _ceilDiv(act.gains * ONE_SHARE, supply) + 1;
        le(list, string.concat("S6_share_price_drop_wei", tag), _int(spA) - _int(spB), _int(downBound));
        le(list, string.concat("S6_share_price_rise_wei", tag), _int(spB) - _int(spA), _int(upBound));
        eq(list, string.concat("S6_total_supply", tag), _int(b.totalSupply), _int(a.totalSupply));
    }

    /// @notice S7: `maxWithdraw` covers the holder's pro-rata share of the free USDT (shadow),
    /// capped by its position's shadow value less S9's tolerance; one wei of rounding allowed.
    function s7LiquidShare(
        CheckList memory list,
        string memory tag,
        Snapshot memory s,
        uint256 shares,
        uint256 maxWithdraw
    ) internal pure {
        uint256 expected = expectedLiquidShare(s, shares);
        ge(
            list,
            string.concat("S7_max_withdraw_vs_liquid_share_wei", tag),
            _int(maxWithdraw) + 1,
            _int(expected)
        );
    }

    /// @notice S7: a withdrawal of `maxWithdraw` paid exactly that (0 when it reverted).
    function s7Withdrawn(CheckList memory list, string memory tag, uint256 paid, uint256 maxWithdraw)
        internal
        pure
    {
        gt(list, string.concat("S7_max_withdraw_wei", tag), _int(maxWithdraw), 0);
        eq(list, string.concat("S7_withdrawn_wei", tag), _int(paid), _int(maxWithdraw));
    }

    /// @notice Realised volatility as a keeper or a frontend reads it (`realisedVolBps()` of the
    /// vault's TWAP oracle), against the same quantity recomputed here from the oracle's raw ring
    /// of the pair's cumulative prices (`observation(i)`, `head()`, `count()`): the average price
    /// of each interval between consecutive observations, the relative change between
    /// consecutive intervals, their root mean square, at 1e18 precision. The view floors each
    /// return to a whole bp and the root to a whole bp, so it may be up to 2 bps lower and never
    /// higher. The precondition asks for at least 3 bps, so that a view stuck at 0 cannot pass.
    function realisedVol(CheckList memory list, string memory tag, address oracle) internal view {
        uint256 n = _oracleWord(oracle, "count()");
        uint256 head = _oracleWord(oracle, "head()");
        uint256 ring = _oracleWord(oracle, "CARDINALITY()");
        uint256 sumSq;
        uint256 samples;
        uint256 prev;
        (uint256 tNew, uint256 cNew) = _observation(oracle, head);
        for (uint256 i = 1; i < n; ++i) {
            (uint256 tOld, uint256 cOld) = _observation(oracle, (head + ring - i) % ring);
            // cumulatives are kept modulo 2**224: so is their difference.
            uint256 p = ((cNew + (1 << 224) - cOld) % (1 << 224)) / (tNew - tOld);
            if (prev != 0 && p != 0) {
                uint256 r = _mulDiv(_absDiff(prev, p), 1e22, p);
                sumSq += r * r;
                samples += 1;
            }
            prev = p;
            (tNew, cNew) = (tOld, cOld);
        }
        uint256 expected = samples == 0 ? 0 : _sqrt(sumSq / samples) / 1e18;
        (bool ok, bytes memory ret) = oracle.staticcall(abi.encodeWithSignature("realisedVolBps()"));
        uint256 view_ = ok && ret.length == 32 ? abi.decode(ret, (uint256)) : type(uint128).max;
        gt(list, string.concat("precondition_realised_vol_from_ring_bps", tag), _int(expected), 2);
        le(list, string.concat("realised_vol_view_above_ring_bps", tag), _int(view_), _int(expected));
        ge(list, string.concat("realised_vol_view_vs_ring_bps", tag), _int(view_) + 2, _int(expected));
    }

    function _oracleWord(address oracle, string memory sig) private view returns (uint256) {
        (bool ok, bytes memory ret) = oracle.staticcall(abi.encodeWithSignature(sig));
        return ok && ret.length == 32 ? abi.decode(ret, (uint256)) : 0;
    }

    function _observation(address oracle, uint256 index) private view returns (uint256 t, uint256 c) {
        (bool ok, bytes memory ret) =
            oracle.staticcall(abi.encodeWithSignature("observation(uint256)", index));
        if (ok && ret.length == 64) (t, c) = abi.decode(ret, (uint256, uint256));
    }

    /// @notice min(free USDT x shares / supply, shares' shadow value - their part of S9's
    /// tolerance).
    function expectedLiquidShare(Snapshot memory s, uint256 shares) internal pure returns (uint256) {
        if (s.totalSupply == 0) return 0;
        uint256 liquid = _mulDiv(s.shadow.usdtFree, shares, s.totalSupply);
        uint256 value = shareValue(s, shares);
        uint256 slack = _ceilDiv(s.shadow.tolerance * shares, s.totalSupply) + shareUnit(s);
        value = value > slack ? value - slack : 0;
        return liquid < value ? liquid : value;
    }

    /// @notice S8: |net delta| within deltaBandBps of NAV, from Aster's positions and pending
    /// trades and the LP's fair BTCB; the smallest |delta| over the TWAPs the vault may be using.
    function s8Hedge(CheckList memory list, string memory tag, Snapshot memory b, Config memory cfg)
        internal
        pure
    {
        le(
            list,
            string.concat("S8_abs_delta_bps", tag),
            absDeltaBps(b.shadow),
            int256(uint256(cfg.deltaBandBps)) + 1
        );
    }

    function absDeltaBps(Shadow memory s) internal pure returns (int256) {
        int256 lo = deltaBpsAt(s, s.twapMin);
        int256 hi = deltaBpsAt(s, s.twapMax);
        if ((lo <= 0 && hi >= 0) || (lo >= 0 && hi <= 0)) return 0;
        lo = lo < 0 ? -lo : lo;
        hi = hi < 0 ? -hi : hi;
        return lo < hi ? lo : hi;
    }

    /// @notice S9: the vault's reported NAV is within the stated tolerance of the shadow NAV.
    function s9Nav(CheckList memory list, string memory tag, Snapshot memory s) internal pure {
        le(
            list,
            string.concat("S9_nav_vs_shadow_wei", tag),
            _int(_absDiff(s.nav, s.shadow.nav)),
            _int(s.shadow.tolerance)
        );
    }

    // ------------------------------------------------------------------------------ S10

    /// @notice Who did what between two snapshots, for S10.
    enum Action {
        DEPOSIT,
        WITHDRAW,
        REDEEM_REQUEST,
        CLAIM,
        DONATION,
        CYCLE
    }

    /// @notice The worst S10 outcome so far (kept in the caller's storage across actions).
    struct Fairness {
        uint256 actions;
        bool anyLoss;
        int256 lossObserved;
        int256 lossBound;
        bool anyShortfall;
        int256 shortfallObserved;
        int256 shortfallBound;
    }

    /// @notice S10 for one action by `actor` that moved `amount` USDT into (deposit, donation)
    /// or out of (withdrawal, the liquid part of a redemption) the vault: every other holder's
    /// redeemable value at the shadow NAV keeps its pro-rata course, and a depositor gets shares
    /// worth what it paid. Allowed: one share unit of rounding per holder and, where the vault
    /// prices the flow at its own NAV, the flow times S9's tolerance over the NAV.
    function fairness(
        Fairness storage f,
        Action kind,
        address actor,
        uint256 amount,
        address[] memory holders,
        uint256[] memory sharesBefore,
        Snapshot memory a,
        Snapshot memory b,
        YieldVault v
    ) internal {
        f.actions += 1;
        FairStep memory x;
        x.kind = kind;
        x.amount = amount;
        // One share unit at either NAV, rounded up: what the vault's floors may move.
        x.unit = _max(shareUnit(a), shareUnit(b));
        // A flow priced at the vault's NAV, within tol of the shadow's, moves at most
        // flow x tol / NAV between the actor and the others, NAV taken after an outflow (the
        // smallest of the NAVs around the flow bounds both directions).
        if (kind == Action.DEPOSIT || kind == Action.WITHDRAW || kind == Action.REDEEM_REQUEST) {
            uint256 nav = _min(_min(a.nav, a.shadow.nav), _min(b.nav, b.shadow.nav));
            x.pricing = _ceilDiv(amount * _max(a.shadow.tolerance, b.shadow.tolerance), nav == 0 ? 1 : nav);
        }
        for (uint256 i; i < holders.length; ++i) {
            if (holders[i] == actor) {
                if (kind == Action.DEPOSIT) {
                    // The depositor's value grew by what it paid.
                    int256 got =
                        _int(shareValue(b, v.balanceOf(actor))) - _int(shareValue(a, sharesBefore[i]));
                    _worst(f, false, _int(amount) - got, _int(x.unit + x.pricing));
                }
                continue;
            }
            (int256 loss, int256 bound) = _holderLoss(x, sharesBefore[i], v.balanceOf(holders[i]), a, b);
            _worst(f, true, loss, bound);
        }
    }

    struct FairStep {
        Action kind;
        uint256 amount;
        uint256 unit;
        uint256 pricing;
    }

    /// @dev What a holder that did not act lost (negative: gained) beyond its pro-rata course,
    /// and the bound on it.
    function _holderLoss(FairStep memory x, uint256 sh, uint256 shAfter, Snapshot memory a, Snapshot memory b)
        private
        pure
        returns (int256 loss, int256 bound)
    {
        if (x.kind == Action.CYCLE) {
            // The cycle's value change is every holder's, pro rata (S1 and S6 judge its size):
            // a holder's value moves otherwise only if its shares moved.
            loss = _int(shareValue(b, sh)) - _int(shareValue(b, shAfter));
        } else if (x.kind == Action.DONATION) {
            // A donation is every holder's: each gains its pro-rata part of it.
            loss = _int(shareValue(a, sh)) + _int(_mulDiv(x.amount, sh, a.totalSupply + SHARE_OFFSET))
                - _int(shareValue(b, shAfter));
        } else {
            loss = _int(shareValue(a, sh)) - _int(shareValue(b, shAfter));
        }
        bound = _int(x.unit + _ceilDiv(x.pricing * sh, a.totalSupply + SHARE_OFFSET));
    }

    /// @dev Keeps the case with the largest observed - bound (the one closest to failing).
    function _worst(Fairness storage f, bool loss, int256 observed, int256 bound) private {
        if (loss) {
            if (!f.anyLoss || observed - bound > f.lossObserved - f.lossBound) {
                (f.anyLoss, f.lossObserved, f.lossBound) = (true, observed, bound);
            }
        } else if (!f.anyShortfall || observed - bound > f.shortfallObserved - f.shortfallBound) {
            (f.anyShortfall, f.shortfallObserved, f.shortfallBound) = (true, observed, bound);
        }
    }

    /// @notice The S10 checks for everything `fairness` saw.
    function s10Checks(CheckList memory list, Fairness storage f) internal view {
        gt(list, "S10_actions_checked", _int(f.actions), 0);
        le(list, "S10_holder_value_loss_wei", f.lossObserved, f.lossBound);
        le(list, "S10_depositor_shortfall_wei", f.shortfallObserved, f.shortfallBound);
    }

    // ========================================================================== the list

    function push(CheckList memory list, Check memory c) internal pure {
        if (list.length == list.items.length) {
            Check[] memory grown = new Check[](list.length * 2 + 8);
            for (uint256 i; i < list.length; ++i) {
                grown[i] = list.items[i];
            }
            list.items = grown;
        }
        list.items[list.length++] = c;
    }

    /// @notice The one way a check is made: the verdict is the relation applied, so a check
    /// cannot claim a verdict its numbers do not support.
    function check(CheckList memory list, string memory name, int256 observed, Relation rel, int256 bound)
        internal
        pure
    {
        push(list, Check(name, observed, bound, symbol(rel), holds(rel, observed, bound)));
    }

    function holds(Relation rel, int256 observed, int256 bound) internal pure returns (bool) {
        if (rel == Relation.LE) return observed <= bound;
        if (rel == Relation.GE) return observed >= bound;
        if (rel == Relation.EQ) return observed == bound;
        if (rel == Relation.NE) return observed != bound;
        if (rel == Relation.LT) return observed < bound;
        return observed > bound;
    }

    function symbol(Relation rel) internal pure returns (string memory) {
        if (rel == Relation.LE) return "<=";
        if (rel == Relation.GE) return ">=";
        if (rel == Relation.EQ) return "==";
        if (rel == Relation.NE) return "!=";
        if (rel == Relation.LT) return "<";
        return ">";
    }

    function le(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        check(list, name, observed, Relation.LE, bound);
    }

    function ge(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        check(list, name, observed, Relation.GE, bound);
    }

    function gt(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        check(list, name, observed, Relation.GT, bound);
    }

    function lt(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        check(list, name, observed, Relation.LT, bound);
    }

    function eq(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        check(list, name, observed, Relation.EQ, bound);
    }

    function isTrue(CheckList memory list, string memory name, bool observed) internal pure {
        eq(list, name, observed ? int256(1) : int256(0), 1);
    }

    /// @notice The list trimmed to its length, and whether every check held.
    function finish(CheckList memory list) internal pure returns (Check[] memory out, bool held) {
        out = new Check[](list.length);
        held = true;
        for (uint256 i; i < list.length; ++i) {
            out[i] = list.items[i];
            held = held && out[i].passed;
        }
    }

    /// @notice The first check named `name` (found false when there is none).
    function find(CheckList memory list, string memory name)
        internal
        pure
        returns (bool found, Check memory c)
    {
        for (uint256 i; i < list.length; ++i) {
            if (keccak256(bytes(list.items[i].name)) == keccak256(bytes(name))) return (true, list.items[i]);
        }
    }

    // ========================================================================== arithmetic

    /// @dev Saturates instead of wrapping: K of a large pair can exceed int256's range.
    function _int(uint256 x) internal pure returns (int256) {
        return x > uint256(type(int256).max) ? type(int256).max : int256(x);
    }

    function _absDiff(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    /// @dev floor(sqrt(x)): PancakeMath's, the one square root outside the vault (the vault's
    /// own, VaultMath.sqrt, is code under test and never measures it).
    function _sqrt(uint256 x) internal pure returns (uint256) {
        return PancakeMath.sqrt(x);
    }

    /// @dev floor(a * b / d) without overflow of the product (512-bit intermediate).
    function _mulDiv(uint256 a, uint256 b, uint256 d) internal pure returns (uint256 result) {
        uint256 lo;
        uint256 hi;
        assembly ("memory-safe") {
            let mm := mulmod(a, b, not(0))
            lo := mul(a, b)
            hi := sub(sub(mm, lo), lt(mm, lo))
        }
        if (hi == 0) return lo / d;
        require(d > hi, "SteadyState: mulDiv overflow");
        uint256 rem;
        assembly ("memory-safe") {
            rem := mulmod(a, b, d)
            hi := sub(hi, gt(rem, lo))
            lo := sub(lo, rem)
        }
        // Divide out the largest power of two dividing d, then invert d modulo 2^256.
        unchecked {
            uint256 twos = d & (~d + 1);
            assembly ("memory-safe") {
                d := div(d, twos)
                lo := div(lo, twos)
                twos := add(div(sub(0, twos), twos), 1)
            }
            lo |= hi * twos;
            uint256 inv = (3 * d) ^ 2;
            for (uint256 i; i < 6; ++i) {
                inv *= 2 - d * inv;
            }
            result = lo * inv;
        }
    }
}
