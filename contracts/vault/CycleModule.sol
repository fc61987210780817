// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "../interfaces/IERC20.sol";
import {IAsterDiamond} from "../interfaces/IAster.sol";
import {VaultMath} from "./VaultMath.sol";
import {
    AlpSkipReason,
    CyclePath,
    CycleRecord,
    Legs,
    OracleReading,
    Regime,
    RiskMode,
    VaultAddresses,
    Weights
} from "./VaultTypes.sol";
import {VaultCore} from "./VaultCore.sol";

/// @title CycleModule
/// @notice The body of YieldVault's `cycle()` and `pancakeCall`, run by delegatecall in the
/// vault's storage and balance context (events are the vault's, msg.sender is the keeper or the
/// flash pair). Called directly it refuses to run.
contract CycleModule is VaultCore {
    using VaultMath for uint256;

    error OnlyDelegateCall();

    uint256 private constant MAX_POSITIONS = 8;

    address private immutable _self;
    /// @notice keccak of the VaultAddresses this module was built for; YieldVault refuses a
    /// module built for other dependencies.
    bytes32 public immutable binding;

    constructor(VaultAddresses memory a) VaultCore(a) {
        _self = address(this);
        binding = keccak256(abi.encode(a));
    }

    modifier onlyDelegateCall() {
        if (address(this) == _self) revert OnlyDelegateCall();
        _;
    }

    // ========================================================================================
    // cycle()
    // ========================================================================================

    /// @notice The keeper entry point, permissionless and rate-limited (docs/design.md, the five
    /// steps of "What cycle() does").
    function cycle() external onlyDelegateCall returns (CyclePath path, uint256 bounty) {
        uint256 gasStart = gasleft();
        CycleRecord memory last = _last;
        // rate limit in wall-clock seconds; a validator skew of seconds is harmless.
        // forge-lint: disable-next-line(block-timestamp)
        if (last.timestamp != 0 && block.timestamp < uint256(last.timestamp) + _cfg.minCycleInterval) {
            revert CycleTooSoon(uint256(last.timestamp) + _cfg.minCycleInterval);
        }
        // 1. observe
        OracleReading memory o = _oracle.update();
        Ctx memory c = Ctx({price: o.price, regime: o.regime, actions: 0});
        _syncPendingHedge();
        Legs memory before = _legs(c.price);
        // 2. risk
        _evaluateRisk(o, _toAssets(ONE_SHARE, before.nav, false), last.sharePrice);
        // 3./4. act
        if (_riskMode == RiskMode.ONLY_UNWIND) {
            _unwind(c);
        } else {
            _rebalance(c, before);
            _rehedge(c, true);
        }
        _fundClaims(c);
        // 5. pay
        uint256 navAfter = _legs(c.price).nav;
        uint256 spAfter = _toAssets(ONE_SHARE, navAfter, false);
        if (c.actions & ~NO_WORK != 0) {
            bounty = _payBounty(navAfter, spAfter, last.sharePrice);
            navAfter -= bounty;
            spAfter = _toAssets(ONE_SHARE, navAfter, false);
        }
        path = _pathOf(c.actions);
        _usdtAtCycleEnd = _usdt.balanceOf(address(this));
        _userFlows = 0;
        _last = CycleRecord({
            timestamp: uint64(block.timestamp),
            path: path,
            regime: c.regime,
            mode: _riskMode,
            actions: c.actions,
            navBefore: before.nav,
            navAfter: navAfter,
            bounty: bounty,
            sharePrice: spAfter,
            gasUsed: gasStart - gasleft()
        });
        emit Cycle(msg.sender, path, c.regime, _riskMode, c.actions, before.nav, navAfter, bounty);
    }

    function _pathOf(uint32 a) private view returns (CyclePath) {
        if (a & ~NO_WORK == 0) return CyclePath.IDLE;
        if (
            _riskMode == RiskMode.ONLY_UNWIND
                && a & (A_LP_REMOVED | A_ALP_BURNED | A_HEDGE_CLOSED | A_BTC_SOLD) != 0
        ) {
            return CyclePath.UNWIND;
        }
        if (a & A_FLASH != 0) return CyclePath.FLASH_DELEVERAGE;
        if (a & A_FLASH_PARTIAL != 0) return CyclePath.FLASH_PARTIAL;
        if (a & A_FALLBACK != 0) return CyclePath.DELEVERAGE_FALLBACK;
        if (a & (A_LP_REMOVED | A_LP_ADDED | A_ALP_MINTED | A_ALP_BURNED | A_BTC_SOLD) != 0) {
            return CyclePath.REBALANCE;
        }
        if (a & (A_HEDGE_OPENED | A_HEDGE_CLOSED) != 0) return CyclePath.REHEDGE;
        return CyclePath.CLAIMS_FUNDED;
    }

    // ---------------------------------------------------------------------------- risk mode

    /// @dev The one place that changes the risk mode. Any unhealthy or unreadable signal
    /// resets the healthy count and forces ONLY_UNWIND; NORMAL returns only after
    /// `safeCycleThreshold` consecutive healthy cycles.
    function _evaluateRisk(OracleReading memory o, uint256 sharePriceNow, uint256 lastSharePrice) private {
        RiskReason reason = RiskReason.RECOVERED;
        bool healthy = true;
        if (!o.ready) {
            (healthy, reason) = (false, RiskReason.ORACLE_NOT_READY);
        } else if (o.stale) {
            (healthy, reason) = (false, RiskReason.ORACLE_STALE);
        } else if (o.deviationBps > _cfg.maxDeviationBps) {
            (healthy, reason) = (false, RiskReason.DEVIATION);
        } else if (lastSharePrice != 0 && sharePriceNow < lastSharePrice) {
            uint256 dropBps = (lastSharePrice - sharePriceNow).mulDiv(BPS, lastSharePrice);
            if (dropBps > _cfg.maxNavDropBps) (healthy, reason) = (false, RiskReason.NAV_DROP);
        }
        RiskMode mode = _riskMode;
        if (!healthy) {
            _healthyCount = 0;
            if (mode != RiskMode.ONLY_UNWIND) {
                _riskMode = RiskMode.ONLY_UNWIND;
                emit RiskModeChanged(mode, RiskMode.ONLY_UNWIND, reason);
            }
            return;
        }
        uint256 count = _healthyCount + 1;
        _healthyCount = count;
        if (mode == RiskMode.ONLY_UNWIND && count >= _cfg.safeCycleThreshold) {
            _riskMode = RiskMode.NORMAL;
            emit RiskModeChanged(mode, RiskMode.NORMAL, RiskReason.RECOVERED);
        }
    }

    // ---------------------------------------------------------------------------- ONLY_UNWIND

    /// @dev Risk only goes down: all LP out, loose BTCB sold (at a TWAP-bounded price or not at
    /// all), the hedge closed down to the remaining BTCB exposure, free ALP burnt when the
    /// cooldown allows. Never adds LP, mints ALP or opens a hedge.
    function _unwind(Ctx memory c) private {
        uint256 lpBal = _lpPair.balanceOf(address(this));
        if (lpBal != 0) _removeLiquidity(c, lpBal);
        _sellAllBtc(c);
        _rehedge(c, false);
        uint256 free = _alpFree();
        if (free != 0) _burnAlp(c, free);
    }

    // ---------------------------------------------------------------------------- NORMAL

    /// @dev Moves the legs toward the regime's weights when the largest drift exceeds the
    /// threshold. In STORM the LP reduction goes through the flash path.
    struct Targets {
        uint256 lp;
        uint256 alp;
        uint256 buffer;
        /// @dev LP plus its hedge: the LP weight covers both.
        uint256 lpLeg;
        /// @dev Legs off by less than a quarter of the threshold are left alone (no dust).
        uint256 minAct;
        uint256 driftBps;
    }

    function _targets(Ctx memory c, Legs memory l) private view returns (Targets memory t) {
        Weights memory w =
            c.regime == Regime.CALM ? _cfg.calm : (c.regime == Regime.STORM ? _cfg.storm : _cfg.normal);
        uint256 base = l.nav;
        t.lpLeg = l.lp + l.hedge;
        t.lp = base * w.lpBps / BPS;
        t.alp = base * w.alpBps / BPS;
        t.buffer = base * w.bufferBps / BPS;
        uint256 drift = VaultMath.absDiff(t.lpLeg, t.lp);
        uint256 d = VaultMath.absDiff(l.alp, t.alp);
        if (d > drift) drift = d;
        d = VaultMath.absDiff(l.buffer, t.buffer);
        if (d > drift) drift = d;
        t.driftBps = drift * BPS / base;
        t.minAct = base * _cfg.rebalanceThresholdBps / (4 * BPS);
    }

    function _rebalance(Ctx memory c, Legs memory l) private {
        if (l.nav == 0) return;
        Targets memory t = _targets(c, l);
        if (t.driftBps <= _cfg.rebalanceThresholdBps) return;
        emit Rebalanced(c.regime, t.driftBps, t.lp, t.alp, t.buffer);
        // LP value V carries V/2 of BTCB hedged with V/(2*leverage) of margin: moving the LP leg
        // by X means moving LP by X * 2L/(2L+1).
        uint256 lev2 = 2 * uint256(_cfg.hedgeLeverage);
        // Pending trades cannot be cancelled: while some are pending the LP leg does not shrink
        // (Aster executes within seconds; the cut follows next cycle), or the short would
        // outgrow the BTCB it hedges.
        // Overdue trades no longer hold the LP leg back (an excess is closed once they fill).
        if (
            (_pending.qty == 0 || block.timestamp > uint256(_pending.since) + _cfg.pendingHedgeTimeout)
                && t.lpLeg > t.lp + t.minAct
        ) {
            uint256 cut = (t.lpLeg - t.lp) * lev2 / (lev2 + 1);
            if (c.regime == Regime.STORM) _flashDeleverage(c, cut);
            else _reduceLp(c, cut);
        }
        if (l.alp > t.alp + t.minAct) _burnAlp(c, (l.alp - t.alp).mulDiv(1e8, _aster.alpPrice()));
        uint256 buf = _freeBuffer();
        uint256 avail = buf > t.buffer ? buf - t.buffer : 0;
        // No mint while claims wait for ALP: a mint restarts Aster's cooldown for the whole vault.
        if (l.alp + t.minAct < t.alp && _epochs[_currentEpoch].alpOwed == 0 && avail != 0) {
            avail -= _mintAlp(c, VaultMath.min(t.alp - l.alp, avail));
        }
        if (t.lpLeg + t.minAct < t.lp && avail != 0) {
            _addLiquidity(c, VaultMath.min((t.lp - t.lpLeg) * lev2 / (lev2 + 1), avail));
        }
    }

    // ---------------------------------------------------------------------------- hedge

    /// @dev Drops the pending trade once Aster executed it (the executed short quantity grew by
    /// its qty) or refunded it (its margin came back). A trade that outlives
    /// `pendingHedgeTimeout` is reported overdue once (by the first cycle past the deadline,
    /// HedgePendingExpired) but stays counted: Aster still holds its margin and may still
    /// execute it, so sending another would risk a double hedge and leave the margin out of
    /// NAV. Overdue, it no longer holds the LP leg back.
    function _syncPendingHedge() private {
        PendingHedge memory p = _pending;
        if (p.qty == 0) return;
        (,, uint256 executed) = _positions(0);
        (uint256 qty, uint256 margin) = _outstanding(p, executed);
        if (qty < p.qty) emit HedgeExecuted(p.qty - qty);
        uint256 deadline = uint256(p.since) + _cfg.pendingHedgeTimeout;
        if (qty == 0) {
            delete _pending;
        } else if (_refunded(p)) {
            emit HedgePendingRefunded(qty, margin);
            delete _pending;
        } else {
            // the pending timeout is wall-clock by nature (Aster keepers act in seconds).
            // forge-lint: disable-next-line(block-timestamp)
            if (_last.timestamp <= deadline && block.timestamp > deadline) {
                emit HedgePendingExpired(qty, margin);
            }
            if (qty < p.qty) {
                // both shrink from values that fitted their types.
                // forge-lint: disable-next-line(unsafe-typecast)
                _pending = PendingHedge(uint80(qty), uint96(margin), p.since, executed);
            }
        }
    }

    /// @dev Brings the short to the BTCB exposure within `deltaBandBps` of NAV, the pending trade
    /// counted once. Over-hedge: whole positions are closed (a failing closeTrade reverts the
    /// cycle). Under-hedge: one trade for what the executed shorts do not cover, and only when
    /// no trade is pending: Aster settles each trade alone (executed whole or refunded whole),
    /// so the vault can tell what became of a trade only while it is the only one.
    function _rehedge(Ctx memory c, bool allowOpen) private {
        if (c.price == 0) return;
        Legs memory l = _legs(c.price);
        uint256 mark = c.price / 1e10; // 8 decimals
        if (mark == 0) return;
        uint256 target = l.btcExposure / 1e8; // BTCB 18 decimals -> Aster qty 10 decimals
        uint256 bandQty = (l.nav * _cfg.deltaBandBps / BPS) / mark;
        uint256 current = l.hedgeQty;
        if (current > target + bandQty || (target == 0 && current != 0)) {
            current = _closeDownTo(c, current, target, bandQty);
        }
        if (allowOpen && target > current + bandQty && _pending.qty == 0) {
            (, uint256 count,) = _positions(0);
            // Every trade becomes a position and each cycle reads them all: past
            // MAX_POSITIONS they are merged (closed, then reopened as one) to bound the gas.
            if (count >= MAX_POSITIONS) current = _closeDownTo(c, current, 0, 0);
            _openHedge(c, target - current, mark);
        }
    }

    /// @dev Closes whole positions, newest first, while the short exceeds target + band (Aster
    /// closes a position only whole); an under-hedge left behind is reopened by `_rehedge`.
    function _closeDownTo(Ctx memory c, uint256 current, uint256 target, uint256 bandQty)
        private
        returns (uint256)
    {
        IAsterDiamond.Position[] memory ps = _aster.getPositionsV2(address(this), _hedgePairBase);
        for (
            uint256 i = ps.length;
            i > 0 && (current > target + bandQty || (target == 0 && current != 0));
            --i
        ) {
            IAsterDiamond.Position memory p = ps[i - 1];
            if (p.isLong || p.qty == 0) continue;
            uint256 before = _usdt.balanceOf(address(this));
            try _aster.closeTrade(p.positionHash) {}
            catch (bytes memory reason) {
                revert HedgeCloseFailed(reason);
            }
            current -= p.qty;
            if (_pending.qty != 0) _pending.baseQty -= p.qty;
            c.actions |= A_HEDGE_CLOSED;
            emit HedgeClosed(p.positionHash, p.qty, _usdt.balanceOf(address(this)) - before);
        }
        return current;
    }

    function _openHedge(Ctx memory c, uint256 qty, uint256 mark) private {
        uint256 margin = qty * mark / _cfg.hedgeLeverage;
        uint256 free = _freeBuffer();
        if (margin > free) {
            margin = free;
            qty = margin * _cfg.hedgeLeverage / mark;
        }
        if (qty == 0 || margin == 0) return;
        (,, uint256 executed) = _positions(0);
        IAsterDiamond.OpenDataInput memory d = IAsterDiamond.OpenDataInput({
            pairBase: _hedgePairBase,
            isLong: false,
            tokenIn: address(_usdt),
            // margin <= free USDT, far below 2**96 (7.9e28) for any real token supply.
            // forge-lint: disable-next-line(unsafe-typecast)
            amountIn: uint96(margin),
            // qty = BTCB / 1e8 < 2**80 for any BTCB supply (21e6 BTC = 2.1e17).
            // forge-lint: disable-next-line(unsafe-typecast)
            qty: uint80(qty),
            // Worst acceptable price for a short: Aster cancels the trade if the market is lower.
            // the TWAP mark in 8 decimals stays far below 2**64 (1.8e19 = 1.8e11 USD/BTC).
            // forge-lint: disable-next-line(unsafe-typecast)
            price: uint64(mark * (BPS - _cfg.swapSlippageBps) / BPS),
            stopLoss: 0,
            takeProfit: 0,
            broker: 0
        });
        _approve(_usdt, address(_aster), margin);
        try _aster.openMarketTrade(d) {
            // The only pending trade (none was pending); its baseline is the executed qty now.
            // qty and margin are bounded as above.
            // forge-lint: disable-next-line(unsafe-typecast)
            _pending = PendingHedge(uint80(qty), uint96(margin), uint64(block.timestamp), executed);
            c.actions |= A_HEDGE_OPENED;
            emit HedgeOpened(qty, margin, mark);
        } catch (bytes memory reason) {
            _approve(_usdt, address(_aster), 0);
            emit HedgeOpenFailed(qty, reason);
        }
    }

    // ---------------------------------------------------------------------------- STORM flash

    /// @dev Cuts `value` of the LP leg with a flash borrow of USDT from `flashPair` (never the
    /// LP pair, which is locked during its own swap), at most `flashCapBps` of its USDT
    /// reserve. The loan is sized to what the unwind must realise and is repaid from the
    /// unwind's own proceeds inside `pancakeCall`, so the step either realises at least its
    /// TWAP value minus fee and slippage or reverts as a whole (then: the non-flash path).
    function _flashDeleverage(Ctx memory c, uint256 value) private {
        (uint112 f0, uint112 f1,) = _flashPair.getReserves();
        uint256 cap = uint256(_flashUsdtIsToken0 ? f0 : f1) * _cfg.flashCapBps / BPS;
        uint256 factor = BPS - 2 * PANCAKE_FEE_BPS - _cfg.swapSlippageBps;
        uint256 borrow = value * factor / BPS;
        bool partialStep;
        if (borrow > cap) {
            if (cap == 0 || cap < borrow * _cfg.minFlashStepBps / BPS) {
                emit FlashFallback(borrow, cap, "");
                c.actions |= A_FALLBACK;
                _reduceLp(c, value);
                return;
            }
            borrow = cap;
            value = cap * BPS / factor;
            partialStep = true;
        }
        _flashStep(c, value, borrow, cap, partialStep);
    }

    function _flashStep(Ctx memory c, uint256 value, uint256 borrow, uint256 cap, bool partialStep) private {
        (uint256 lpBal, uint256 lpValue,) = _lpPosition(c.price);
        if (lpValue == 0 || borrow == 0) return;
        uint256 liquidity = VaultMath.min(lpBal, lpBal.mulDivUp(value, lpValue));
        _flashActive = true;
        _flashBorrowed = borrow;
        bytes memory data = abi.encode(liquidity, borrow, c.price);
        bool ok;
        bytes memory reason;
        if (_flashUsdtIsToken0) {
            try _flashPair.swap(borrow, 0, address(this), data) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            try _flashPair.swap(0, borrow, address(this), data) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        _flashActive = false;
        _flashBorrowed = 0;
        if (ok) {
            c.actions |= (partialStep ? A_FLASH_PARTIAL : A_FLASH) | A_LP_REMOVED;
            emit FlashDeleverage(borrow, _flashRepay(borrow), liquidity, partialStep);
        } else {
            emit FlashFallback(borrow, cap, reason);
            c.actions |= A_FALLBACK;
            _reduceLp(c, value);
        }
    }

    /// @notice Pancake flash-swap callback. Only the flash pair, only for a swap this vault
    /// started, only while that flash is active.
    function pancakeCall(address sender, uint256 amount0, uint256 amount1, bytes calldata data)
        external
        onlyDelegateCall
    {
        if (msg.sender != address(_flashPair)) revert FlashUnexpectedCaller();
        if (sender != address(this)) revert FlashUnexpectedSender();
        if (!_flashActive) revert FlashNotActive();
        (uint256 liquidity, uint256 borrow, uint256 price) = abi.decode(data, (uint256, uint256, uint256));
        uint256 got = _flashUsdtIsToken0 ? amount0 : amount1;
        if (got != _flashBorrowed || borrow != got || (_flashUsdtIsToken0 ? amount1 : amount0) != 0) {
            revert FlashAmountMismatch();
        }
        uint256 before = _usdt.balanceOf(address(this));
        Ctx memory c = Ctx({price: price, regime: Regime.STORM, actions: 0});
        _removeLiquidity(c, liquidity);
        _sellAllBtc(c);
        uint256 proceeds = _usdt.balanceOf(address(this)) - before;
        uint256 repay = _flashRepay(borrow);
        if (proceeds < repay) revert FlashRepayShortfall(proceeds, repay);
        _push(address(_flashPair), repay);
        _flashBorrowed = 0;
    }

    /// @dev Smallest repayment the pair's K check accepts: repay * 9975 >= borrow * 10000.
    function _flashRepay(uint256 borrow) private pure returns (uint256) {
        return borrow * BPS / (BPS - PANCAKE_FEE_BPS) + 1;
    }

    // ---------------------------------------------------------------------------- LP leg

    function _reduceLp(Ctx memory c, uint256 value) private {
        (uint256 lpBal, uint256 lpValue,) = _lpPosition(c.price);
        if (lpValue != 0) _removeLiquidity(c, VaultMath.min(lpBal, lpBal.mulDivUp(value, lpValue)));
        _sellAllBtc(c);
    }

    function _removeLiquidity(Ctx memory c, uint256 liquidity) private {
        if (liquidity == 0) return;
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        uint256 supply = _lpPair.totalSupply();
        uint256 minBtc = liquidity.mulDiv(rBtc, supply) * (BPS - _cfg.swapSlippageBps) / BPS;
        uint256 minUsdt = liquidity.mulDiv(rUsdt, supply) * (BPS - _cfg.swapSlippageBps) / BPS;
        _approve(IERC20(address(_lpPair)), address(_router), liquidity);
        try _router.removeLiquidity(
            address(_btcb), address(_usdt), liquidity, minBtc, minUsdt, address(this), block.timestamp
        ) returns (
            uint256 outBtc, uint256 outUsdt
        ) {
            c.actions |= A_LP_REMOVED;
            emit LiquidityRemoved(liquidity, outBtc, outUsdt);
        } catch (bytes memory reason) {
            _approve(IERC20(address(_lpPair)), address(_router), 0);
            emit LiquidityOpFailed(false, reason);
        }
    }

    /// @dev Half of `value` buys BTCB (TWAP-bounded), then both sides are added at the pair's
    /// ratio. Loose BTCB left over is valued and hedged like LP BTCB.
    function _addLiquidity(Ctx memory c, uint256 value) private {
        uint256 half = value / 2;
        if (_swap(c, _usdt, _btcb, half) == 0) return;
        uint256 btcAmt = _btcb.balanceOf(address(this));
        uint256 usdtAmt = value - half;
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        uint256 usdtNeeded = btcAmt.mulDiv(rUsdt, rBtc);
        if (usdtNeeded <= usdtAmt) usdtAmt = usdtNeeded;
        else btcAmt = usdtAmt.mulDiv(rBtc, rUsdt);
        _approve(_btcb, address(_router), btcAmt);
        _approve(_usdt, address(_router), usdtAmt);
        try _router.addLiquidity(
            address(_btcb),
            address(_usdt),
            btcAmt,
            usdtAmt,
            btcAmt * (BPS - _cfg.swapSlippageBps) / BPS,
            usdtAmt * (BPS - _cfg.swapSlippageBps) / BPS,
            address(this),
            block.timestamp
        ) returns (
            uint256 b, uint256 u, uint256 liq
        ) {
            c.actions |= A_LP_ADDED;
            emit LiquidityAdded(b, u, liq);
        } catch (bytes memory reason) {
            emit LiquidityOpFailed(true, reason);
        }
        _approve(_btcb, address(_router), 0);
        _approve(_usdt, address(_router), 0);
    }

    function _sellAllBtc(Ctx memory c) private {
        uint256 bal = _btcb.balanceOf(address(this));
        if (bal != 0 && _swap(c, _btcb, _usdt, bal) != 0) c.actions |= A_BTC_SOLD;
    }

    /// @dev Every swap: minimum output = TWAP value * (1 - Pancake fee) * (1 - swapSlippageBps).
    /// A swap whose quote at the current reserves is below that minimum is refused and
    /// reported (SwapRefused), never sent to lose value.
    function _swap(Ctx memory c, IERC20 tokenIn, IERC20 tokenOut, uint256 amountIn)
        private
        returns (uint256 out)
    {
        if (amountIn == 0) return 0;
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        bool sellBtc = tokenIn == _btcb;
        (uint256 rIn, uint256 rOut) = sellBtc ? (rBtc, rUsdt) : (rUsdt, rBtc);
        uint256 minOut;
        if (c.price != 0) {
            uint256 fair = sellBtc ? amountIn.mulDiv(c.price, 1e18) : amountIn.mulDiv(1e18, c.price);
            minOut = fair.mulDiv((BPS - PANCAKE_FEE_BPS) * (BPS - _cfg.swapSlippageBps), BPS * BPS);
        }
        // Pancake V2 getAmountOut: 9975/10000 of the input after the 0.25% fee.
        uint256 inWithFee = amountIn * (BPS - PANCAKE_FEE_BPS);
        uint256 quoted = rIn == 0 ? 0 : inWithFee * rOut / (rIn * BPS + inWithFee);
        if (minOut == 0 || quoted < minOut) {
            c.actions |= A_SWAP_REFUSED;
            emit SwapRefused(address(tokenIn), amountIn, quoted, minOut);
            return 0;
        }
        address[] memory path = new address[](2);
        path[0] = address(tokenIn);
        path[1] = address(tokenOut);
        _approve(tokenIn, address(_router), amountIn);
        try _router.swapExactTokensForTokens(amountIn, minOut, path, address(this), block.timestamp) returns (
            uint256[] memory amounts
        ) {
            out = amounts[amounts.length - 1];
            emit Swapped(address(tokenIn), amountIn, out, minOut);
        } catch {
            _approve(tokenIn, address(_router), 0);
            c.actions |= A_SWAP_REFUSED;
            emit SwapRefused(address(tokenIn), amountIn, quoted, minOut);
        }
    }

    // ---------------------------------------------------------------------------- ALP leg

    function _mintAlp(Ctx memory c, uint256 amount) private returns (uint256 spent) {
        uint256 price = _aster.alpPrice();
        if (price == 0 || amount == 0) return 0;
        uint256 minAlp = amount.mulDiv(1e8, price) * (BPS - _cfg.swapSlippageBps) / BPS;
        uint256 alpBefore = alp.balanceOf(address(this));
        uint256 usdtBefore = _usdt.balanceOf(address(this));
        _approve(_usdt, address(_aster), amount);
        try _aster.mintAlp(address(_usdt), amount, minAlp, false) {
            spent = usdtBefore - _usdt.balanceOf(address(this));
            c.actions |= A_ALP_MINTED;
            emit AlpMinted(spent, alp.balanceOf(address(this)) - alpBefore);
        } catch (bytes memory reason) {
            emit AlpMintFailed(amount, reason);
        }
        _approve(_usdt, address(_aster), 0);
    }

    /// @dev Cooldown not elapsed or burnAlp reverting: the burn is skipped with AlpBurnSkipped,
    /// the rest of the cycle proceeds and the ALP stays in the vault and in NAV.
    function _burnAlp(Ctx memory c, uint256 amount) private returns (bool ok, uint256 out) {
        if (amount == 0) return (true, 0);
        uint256 readyAt = _aster.lastMintedTimestamp(address(this)) + _aster.coolingDuration();
        // Aster's cooldown is wall-clock; a burn attempted early only reverts at Aster.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < readyAt) {
            c.actions |= A_ALP_SKIPPED;
            emit AlpBurnSkipped(AlpSkipReason.COOLDOWN, amount, "");
            return (false, 0);
        }
        uint256 price = _aster.alpPrice();
        if (price == 0) {
            c.actions |= A_ALP_SKIPPED;
            emit AlpBurnSkipped(AlpSkipReason.MIN_OUT_UNAVAILABLE, amount, "");
            return (false, 0);
        }
        uint256 minOut = amount.mulDiv(price, 1e8) * (BPS - _cfg.swapSlippageBps) / BPS;
        uint256 before = _usdt.balanceOf(address(this));
        _approve(alp, address(_aster), amount);
        try _aster.burnAlp(address(_usdt), amount, minOut, address(this)) {
            out = _usdt.balanceOf(address(this)) - before;
            ok = true;
            c.actions |= A_ALP_BURNED;
            emit AlpBurned(amount, out);
        } catch (bytes memory reason) {
            c.actions |= A_ALP_SKIPPED;
            emit AlpBurnSkipped(AlpSkipReason.BURN_REVERTED, amount, reason);
        }
        _approve(alp, address(_aster), 0);
    }

    // ---------------------------------------------------------------------------- claims

    /// @dev Funds the open epoch when the buffer covers its USDT part and its ALP part could
    /// be burnt; otherwise tries again next cycle.
    function _fundClaims(Ctx memory c) private {
        uint256 epoch = _currentEpoch;
        Epoch memory e = _epochs[epoch];
        if (e.usdtOwed == 0 && e.alpOwed == 0) return;
        uint256 bal = _usdt.balanceOf(address(this));
        uint256 free = bal > _reservedUsdt ? bal - _reservedUsdt : 0;
        if (free < e.usdtOwed) {
            emit ClaimsFundingDeferred(epoch, e.usdtOwed, free);
            return;
        }
        (bool ok, uint256 proceeds) = _burnAlp(c, e.alpOwed);
        if (!ok) return;
        // USDT received for at most 2**128 ALP units owed.
        // forge-lint: disable-next-line(unsafe-typecast)
        _epochs[epoch].alpProceeds = uint128(proceeds);
        _epochs[epoch].funded = true;
        _reservedUsdt += e.usdtOwed + proceeds;
        _currentEpoch = epoch + 1;
        c.actions |= A_CLAIMS_FUNDED;
        emit ClaimsFunded(epoch, e.usdtOwed, e.alpOwed, proceeds);
    }

    // ---------------------------------------------------------------------------- bounty

    /// @dev min(maxBountyBps of NAV, 1.5 x gas refund, gas refund + profitBountyBps of the NAV
    /// gain since the last cycle), paid from the buffer. The gas refund uses
    /// min(tx.gasprice, maxGasPrice) and a Chainlink BNB/USD answer that is positive and no
    /// older than maxOracleAge; otherwise there is no gas-based bounty at all.
    function _payBounty(uint256 navNow, uint256 spNow, uint256 lastSharePrice)
        private
        returns (uint256 bounty)
    {
        uint256 navCap = navNow * _cfg.maxBountyBps / BPS;
        uint256 gasCost = _gasRefundUsd();
        uint256 gasCap = gasCost * 3 / 2;
        uint256 profit;
        if (lastSharePrice != 0 && spNow > lastSharePrice) {
            profit = (spNow - lastSharePrice).mulDiv(_totalSupply, ONE_SHARE);
        }
        bounty = gasCost + profit * _cfg.profitBountyBps / BPS;
        if (bounty > gasCap) bounty = gasCap;
        if (bounty > navCap) bounty = navCap;
        uint256 free = _freeBuffer();
        if (bounty > free) bounty = free;
        if (bounty != 0) {
            _push(msg.sender, bounty);
            emit BountyPaid(msg.sender, bounty, navCap, gasCap);
        }
    }
}
