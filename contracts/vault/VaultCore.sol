// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "../interfaces/IERC20.sol";
import {IPancakePair, IPancakeRouter02} from "../interfaces/IPancake.sol";
import {IAsterDiamond} from "../interfaces/IAster.sol";
import {AggregatorV3Interface} from "../interfaces/IChainlink.sol";
import {ShareStorage} from "./ShareToken.sol";
import {TwapOracle} from "./TwapOracle.sol";
import {VaultMath} from "./VaultMath.sol";
import {
    AlpSkipReason,
    Config,
    CyclePath,
    CycleRecord,
    Legs,
    Regime,
    RiskMode,
    VaultAddresses
} from "./VaultTypes.sol";

/// @title VaultCore
/// @notice Storage layout, immutables, events, errors and valuation shared by YieldVault (the
/// ERC-4626 front, which holds every asset) and CycleModule (the keeper logic that YieldVault
/// runs by delegatecall so that the whole strategy fits under EIP-170's 24 KiB).
/// @dev Both contracts inherit this one, so their storage layouts are identical by
/// construction; the immutables are rebuilt from the same VaultAddresses in both.
abstract contract VaultCore is ShareStorage {
    using VaultMath for uint256;
    // ----------------------------------------------------------------------------------------
    // Constants
    // ----------------------------------------------------------------------------------------

    /// @notice Shares carry 6 more decimals than USDT: a virtual offset that makes a
    /// first-deposit donation attack cost the attacker ~1e6 times what it can steal.
    uint8 public constant DECIMALS_OFFSET = 6;
    uint256 internal constant VIRTUAL_SHARES = 10 ** DECIMALS_OFFSET;
    uint256 internal constant ONE_SHARE = 10 ** (18 + DECIMALS_OFFSET);
    uint256 internal constant BPS = 10_000;
    /// @dev Pancake V2 swap fee: 25 bps (the pair's K check uses balance*10000 - amountIn*25).
    uint256 internal constant PANCAKE_FEE_BPS = 25;

    // Action bits recorded per cycle. Everything but the two "refused/skipped" bits is work.
    uint32 internal constant A_LP_REMOVED = 1;
    uint32 internal constant A_LP_ADDED = 2;
    uint32 internal constant A_ALP_MINTED = 4;
    uint32 internal constant A_ALP_BURNED = 8;
    uint32 internal constant A_HEDGE_OPENED = 16;
    uint32 internal constant A_HEDGE_CLOSED = 32;
    uint32 internal constant A_CLAIMS_FUNDED = 64;
    uint32 internal constant A_FLASH = 128;
    uint32 internal constant A_FLASH_PARTIAL = 256;
    uint32 internal constant A_FALLBACK = 512;
    uint32 internal constant A_BTC_SOLD = 1024;
    uint32 internal constant A_SWAP_REFUSED = 2048;
    uint32 internal constant A_ALP_SKIPPED = 4096;
    bytes4 internal constant CYCLE_SELECTOR = bytes4(keccak256("cycle()"));
    uint32 internal constant NO_WORK = A_SWAP_REFUSED | A_ALP_SKIPPED;

    // ----------------------------------------------------------------------------------------
    // Types
    // ----------------------------------------------------------------------------------------

    /// @notice Why the risk mode changed.
    enum RiskReason {
        RECOVERED,
        DEVIATION,
        ORACLE_NOT_READY,
        ORACLE_STALE,
        NAV_DROP
    }

    /// @notice The hedge trade sent to Aster and not seen executed yet: counted once, never
    /// re-sent, and the only one (no trade is sent while it is pending, so its fate is never
    /// ambiguous: Aster executes or refunds each trade whole). It stays counted (qty in the
    /// hedge, margin in NAV) until Aster executes or refunds it, however long that takes.
    struct PendingHedge {
        uint80 qty;
        uint96 margin;
        /// @dev When the last of them was sent.
        uint64 since;
        /// @dev Executed short quantity when they were sent; growth beyond it fills them.
        uint256 baseQty;
    }

    /// @notice Withdrawal requests of one epoch; funded all at once by a cycle.
    struct Epoch {
        uint128 usdtOwed;
        uint128 alpOwed;
        uint128 alpProceeds;
        bool funded;
    }

    struct Claim {
        address receiver;
        uint64 epoch;
        uint128 usdt;
        uint128 alp;
    }

    /// @dev Per-cycle scratch: what the oracle said and which actions were taken.
    struct Ctx {
        uint256 price;
        Regime regime;
        uint32 actions;
    }

    // ----------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------

    error ZeroAddress();
    error PairMismatch();
    error InvalidWeights(Regime regime);
    error InvalidBps(bytes32 field);
    error InvalidInterval(bytes32 field);
    error InvalidParameter(bytes32 field);
    error CycleTooSoon(uint256 nextAllowed);
    error HedgeCloseFailed(bytes reason);
    error DepositsPaused();
    error OracleUnavailable();
    error ZeroShares();
    error ZeroAssets();
    error ExceedsMaxWithdraw(uint256 assets, uint256 max);
    error ExceedsMaxRedeem(uint256 shares, uint256 max);
    error UnknownClaim(uint256 claimId);
    error ClaimNotFunded(uint256 claimId);
    error FlashUnexpectedCaller();
    error FlashUnexpectedSender();
    error FlashNotActive();
    error FlashAmountMismatch();
    error FlashRepayShortfall(uint256 proceeds, uint256 repay);
    error TransferFailed();
    error Reentrancy();

    // ----------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------

    event Deposit(address indexed sender, address indexed owner, uint256 assets, uint256 shares);
    event Withdraw(
        address indexed sender,
        address indexed receiver,
        address indexed owner,
        uint256 assets,
        uint256 shares
    );
    event RiskModeChanged(RiskMode from, RiskMode to, RiskReason reason);
    event Cycle(
        address indexed keeper,
        CyclePath path,
        Regime regime,
        RiskMode mode,
        uint32 actions,
        uint256 navBefore,
        uint256 navAfter,
        uint256 bounty
    );
    event Rebalanced(
        Regime regime, uint256 driftBps, uint256 lpTarget, uint256 alpTarget, uint256 bufferTarget
    );
    event LiquidityAdded(uint256 btcAmount, uint256 usdtAmount, uint256 liquidity);
    event LiquidityRemoved(uint256 liquidity, uint256 btcAmount, uint256 usdtAmount);
    event LiquidityOpFailed(bool add, bytes reason);
    event Swapped(address indexed tokenIn, uint256 amountIn, uint256 amountOut, uint256 minOut);
    event SwapRefused(address indexed tokenIn, uint256 amountIn, uint256 quotedOut, uint256 minOut);
    event AlpMinted(uint256 usdtIn, uint256 alpOut);
    event AlpMintFailed(uint256 usdtIn, bytes reason);
    event AlpBurned(uint256 alpIn, uint256 usdtOut);
    event AlpBurnSkipped(AlpSkipReason reason, uint256 alpAmount, bytes revertData);
    event HedgeOpened(uint256 qty, uint256 margin, uint256 price);
    event HedgeOpenFailed(uint256 qty, bytes reason);
    event HedgeExecuted(uint256 qty);
    event HedgePendingExpired(uint256 qty, uint256 margin);
    event HedgePendingRefunded(uint256 qty, uint256 margin);
    event HedgeClosed(bytes32 indexed positionHash, uint256 qty, uint256 usdtReturned);
    event FlashDeleverage(uint256 borrowed, uint256 repaid, uint256 liquidity, bool partialStep);
    event FlashFallback(uint256 need, uint256 cap, bytes reason);
    event BountyPaid(address indexed keeper, uint256 amount, uint256 navCap, uint256 gasCap);
    event RedeemRequested(
        uint256 indexed claimId,
        address indexed owner,
        address indexed receiver,
        uint256 epoch,
        uint256 shares,
        uint256 assetsNow,
        uint256 usdtOwed,
        uint256 alpOwed
    );
    event ClaimsFunded(uint256 indexed epoch, uint256 usdtOwed, uint256 alpOwed, uint256 alpProceeds);
    event ClaimsFundingDeferred(uint256 indexed epoch, uint256 usdtOwed, uint256 usdtFree);
    event Claimed(uint256 indexed claimId, address indexed receiver, uint256 assets);

    // ----------------------------------------------------------------------------------------
    // Immutables
    // ----------------------------------------------------------------------------------------

    IERC20 internal immutable _usdt;
    IERC20 internal immutable _btcb;
    IPancakePair internal immutable _lpPair;
    IPancakePair internal immutable _flashPair;
    IPancakeRouter02 internal immutable _router;
    IAsterDiamond internal immutable _aster;
    IERC20 public immutable alp;
    AggregatorV3Interface internal immutable _bnbUsdFeed;
    address internal immutable _hedgePairBase;
    bool internal immutable _btcIsToken0;
    bool internal immutable _flashUsdtIsToken0;

    // ----------------------------------------------------------------------------------------
    // Storage (all of it is in stateDigest)
    // ----------------------------------------------------------------------------------------

    /// @notice The TWAP oracle the vault created and alone writes.
    TwapOracle internal _oracle;
    Config internal _cfg;
    RiskMode internal _riskMode;
    uint256 internal _healthyCount;
    CycleRecord internal _last;
    PendingHedge internal _pending;
    bool internal _flashActive;
    uint256 internal _flashBorrowed;
    /// @notice USDT held for funded, unclaimed withdrawal claims (not vault assets).
    uint256 internal _reservedUsdt;
    uint256 internal _currentEpoch;
    uint256 internal _nextClaimId;
    mapping(uint256 => Epoch) internal _epochs;
    mapping(uint256 => Claim) internal _claims;
    uint256 internal _lock = 1;
    /// @notice USDT balance when the last cycle ended, and the USDT users moved in (+) or out
    /// (-) since: together they tell a refunded (cancelled) pending hedge from other inflows.
    uint256 internal _usdtAtCycleEnd;
    int256 internal _userFlows;

    modifier nonReentrant() {
        if (_lock != 1) revert Reentrancy();
        _lock = 2;
        _;
        _lock = 1;
    }

    constructor(VaultAddresses memory a) {
        _usdt = IERC20(a.usdt);
        _btcb = IERC20(a.btcb);
        _lpPair = IPancakePair(a.lpPair);
        _flashPair = IPancakePair(a.flashPair);
        _router = IPancakeRouter02(a.router);
        _aster = IAsterDiamond(a.aster);
        alp = IERC20(a.alpToken);
        _bnbUsdFeed = AggregatorV3Interface(a.bnbUsdFeed);
        _hedgePairBase = a.hedgePairBase;
        _btcIsToken0 = IPancakePair(a.lpPair).token0() == a.btcb;
        _flashUsdtIsToken0 = IPancakePair(a.flashPair).token0() == a.usdt;
    }

    /// @dev Short positions' value (margin + PnL at `mark`, fees deducted) and executed qty.
    function _positions(uint256 mark) internal view returns (uint256 value, uint256 count, uint256 qty) {
        IAsterDiamond.Position[] memory ps = _aster.getPositionsV2(address(this), _hedgePairBase);
        for (uint256 i; i < ps.length; ++i) {
            IAsterDiamond.Position memory p = ps[i];
            if (p.isLong) continue;
            count += 1;
            qty += p.qty;
            if (mark == 0) continue;
            // qty (1e10) * price (1e8) = USD with 18 decimals; a short gains when mark < entry.
            int256 v = int256(uint256(p.margin)) + int256(uint256(p.qty))
                // uint96/uint80/uint64 widened to int256: exact.
                // forge-lint: disable-next-line(unsafe-typecast)
                * (int256(uint256(p.entryPrice)) - int256(mark)) - int256(uint256(p.holdingFee))
                - (p.fundingFee > 0 ? p.fundingFee : int256(0));
            // v > 0 was checked.
            // forge-lint: disable-next-line(unsafe-typecast)
            if (v > 0) value += uint256(v);
        }
    }

    /// @notice bountyGasUnits * min(tx.gasprice, maxGasPrice) in USD (18 decimals); 0 when the
    /// BNB/USD feed is stale, zero, negative or unreadable.
    function _gasRefundUsd() internal view returns (uint256) {
        uint256 bnbUsd = _bnbUsdPrice();
        if (bnbUsd == 0) return 0;
        uint256 gasPrice = tx.gasprice < _cfg.maxGasPrice ? tx.gasprice : _cfg.maxGasPrice;
        return (uint256(_cfg.bountyGasUnits) * gasPrice).mulDiv(bnbUsd, 1e18);
    }

    /// @notice BNB/USD with 18 decimals, or 0 if the feed cannot be trusted right now.
    function _bnbUsdPrice() internal view returns (uint256) {
        try _bnbUsdFeed.latestRoundData() returns (
            uint80, int256 answer, uint256, uint256 updatedAt, uint80
        ) {
            // feed freshness is wall-clock by definition.
            // forge-lint: disable-next-line(block-timestamp)
            if (answer <= 0 || updatedAt == 0 || updatedAt > block.timestamp) return 0;
            // feed freshness is wall-clock by definition.
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp - updatedAt > _cfg.maxOracleAge) return 0;
            try _bnbUsdFeed.decimals() returns (uint8 dec) {
                if (dec > 36) return 0;
                // answer > 0 was checked.
                // forge-lint: disable-next-line(unsafe-typecast)
                return uint256(answer).mulDiv(1e18, 10 ** dec);
            } catch {
                return 0;
            }
        } catch {
            return 0;
        }
    }

    // ========================================================================================
    // Valuation
    // ========================================================================================

    /// @dev LP tokens held, their value at fair reserves for `price` (2*sqrt(k*p), immune to
    /// spot manipulation of the reserves' ratio) and the BTCB they represent (sqrt(k/p)).
    function _lpPosition(uint256 price) internal view returns (uint256 lpBal, uint256 value, uint256 btc) {
        lpBal = _lpPair.balanceOf(address(this));
        if (lpBal == 0 || price == 0) return (lpBal, 0, 0);
        uint256 supply = _lpPair.totalSupply();
        (uint112 r0, uint112 r1,) = _lpPair.getReserves();
        uint256 rootK = VaultMath.sqrt(uint256(r0) * r1);
        uint256 rootP = VaultMath.sqrt(price);
        if (supply == 0 || rootP == 0) return (lpBal, 0, 0);
        uint256 fairUsdt = rootK * rootP / 1e9;
        uint256 fairBtc = rootK * 1e9 / rootP;
        value = (2 * fairUsdt).mulDiv(lpBal, supply);
        btc = fairBtc.mulDiv(lpBal, supply);
    }

    function _legs(uint256 price) internal view returns (Legs memory l) {
        l.price = price;
        (, uint256 lpValue, uint256 lpBtc) = _lpPosition(price);
        uint256 looseBtc = _btcb.balanceOf(address(this));
        l.lp = lpValue + looseBtc.mulDiv(price, 1e18);
        l.btcExposure = lpBtc + looseBtc;
        uint256 freeAlp = _alpFree();
        if (freeAlp != 0) l.alp = freeAlp.mulDiv(_aster.alpPrice(), 1e8);
        (uint256 hedgeValue,, uint256 executed) = _positions(_asterMark(price));
        l.hedge = hedgeValue;
        l.hedgeQty = executed;
        _addPending(l, executed);
        uint256 bal = _usdt.balanceOf(address(this));
        uint256 free = bal > _reservedUsdt ? bal - _reservedUsdt : 0;
        uint256 owed = _epochs[_currentEpoch].usdtOwed;
        uint256 gross = l.lp + l.alp + l.hedge + free;
        l.buffer = free > owed ? free - owed : 0;
        l.nav = gross > owed ? gross - owed : 0;
    }

    /// @dev The price the shorts are valued at: Aster's own (what closing them pays), 8
    /// decimals; the TWAP only when Aster cannot give one (its price facet reverts or answers 0).
    function _asterMark(uint256 twap) internal view returns (uint256 mark) {
        address aster = address(_aster);
        address base = _hedgePairBase;
        // getPriceFromCacheOrOracle(base) in scratch space (the selector as bytes 28..31 of the
        // first word); a revert, short return data or an answer beyond uint64 reads as none.
        assembly ("memory-safe") {
            mstore(0, 0x47270eb3)
            mstore(32, base)
            // Two statements: Yul evaluates arguments right to left, so returndatasize() in the
            // same expression would read the previous call's.
            let ok := staticcall(gas(), aster, 28, 36, 0, 64)
            if and(ok, gt(returndatasize(), 63)) { mark := mload(0) }
        }
        if (mark == 0 || mark > type(uint64).max) mark = twap / 1e10;
    }

    /// @dev Adds the pending trades, once. Inside cycle() they were synced first; outside, a
    /// refund not yet synced must not be counted twice (margin at Aster and back in the buffer).
    function _addPending(Legs memory l, uint256 executed) internal view {
        PendingHedge memory p = _pending;
        (uint256 pendingQty, uint256 pendingMargin) = _outstanding(p, executed);
        // Aster still holds the margin of a trade it neither executed nor refunded, however old.
        if (pendingQty != 0 && (msg.sig == CYCLE_SELECTOR || !_refunded(p))) {
            l.hedge += pendingMargin;
            l.hedgeQty += pendingQty;
        }
    }

    /// @dev What is still pending of the trades sent: growth of the executed short quantity
    /// since they were sent fills them first (Aster opens a position with the trade's qty).
    function _outstanding(PendingHedge memory p, uint256 executed)
        internal
        pure
        returns (uint256 qty, uint256 margin)
    {
        uint256 filled = executed > p.baseQty ? executed - p.baseQty : 0;
        if (filled >= p.qty) return (0, 0);
        qty = p.qty - filled;
        margin = uint256(p.margin) * qty / p.qty;
    }

    /// @dev USDT that neither the last cycle left nor users moved: at least the pending margin
    /// means Aster cancelled the trade and refunded it.
    function _refunded(PendingHedge memory p) internal view returns (bool) {
        // token balances are far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 unexplained = int256(_usdt.balanceOf(address(this))) - int256(_usdtAtCycleEnd) - _userFlows;
        return unexplained >= int256(uint256(p.margin));
    }

    function _alpFree() internal view returns (uint256) {
        uint256 bal = alp.balanceOf(address(this));
        uint256 owed = _epochs[_currentEpoch].alpOwed;
        return bal > owed ? bal - owed : 0;
    }

    /// @dev USDT that belongs to the vault and is not owed to claimants.
    function _freeBuffer() internal view returns (uint256) {
        uint256 bal = _usdt.balanceOf(address(this));
        uint256 locked = _reservedUsdt + _epochs[_currentEpoch].usdtOwed;
        return bal > locked ? bal - locked : 0;
    }

    function _lpReserves() internal view returns (uint256 rBtc, uint256 rUsdt) {
        (uint112 r0, uint112 r1,) = _lpPair.getReserves();
        (rBtc, rUsdt) = _btcIsToken0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
    }

    function _toShares(uint256 assets, uint256 navNow, bool up) internal view returns (uint256) {
        return up
            ? assets.mulDivUp(_totalSupply + VIRTUAL_SHARES, navNow + 1)
            : assets.mulDiv(_totalSupply + VIRTUAL_SHARES, navNow + 1);
    }

    function _toAssets(uint256 shares, uint256 navNow, bool up) internal view returns (uint256) {
        return up
            ? shares.mulDivUp(navNow + 1, _totalSupply + VIRTUAL_SHARES)
            : shares.mulDiv(navNow + 1, _totalSupply + VIRTUAL_SHARES);
    }

    function _push(address to, uint256 amount) internal {
        _call(address(_usdt), abi.encodeCall(IERC20.transfer, (to, amount)));
    }

    function _approve(IERC20 token, address spender, uint256 amount) internal {
        _call(address(token), abi.encodeCall(IERC20.approve, (spender, amount)));
    }

    /// @dev Accepts tokens that return nothing as well as tokens that return true.
    function _call(address token, bytes memory data) internal {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }
}
