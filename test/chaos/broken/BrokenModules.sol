// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CycleModule} from "../../../contracts/vault/CycleModule.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {IERC20} from "../../../contracts/interfaces/IERC20.sol";
import {IAsterDiamond} from "../../../contracts/interfaces/IAster.sol";
import {TwapOracle} from "../../../contracts/vault/TwapOracle.sol";
import {VaultMath} from "../../../contracts/vault/VaultMath.sol";
import {
    Config,
    CyclePath,
    Legs,
    OracleReading,
    Regime,
    RiskMode,
    VaultAddresses,
    Weights
} from "../../../contracts/vault/VaultTypes.sol";
import {IPancakePair, IPancakeRouter02} from "../../../contracts/interfaces/IPancake.sol";
import {IVaultFactory} from "../../../script/chaos/ScenarioRunner.sol";
import {DeployVault} from "../../../script/lib/DeployVault.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Deliberately broken vaults for the chaos suite's own tests: the real YieldVault bound
/// to a keeper module that wraps the real CycleModule with one defect. The vault's functions
/// are not virtual (and the keeper logic is private in CycleModule), so the defects sit in a
/// module that YieldVault runs by delegatecall: same storage, same code path, one fault. Each
/// defect keeps `getConfig()` truthful, so a scenario that reads its bounds from the config
/// still holds the vault to the shipped parameters.
abstract contract BrokenModule is VaultCore {
    /// The real keeper logic, reached by a nested delegatecall (still in the vault's context).
    address public immutable inner;
    /// What YieldVault's constructor checks: the module was built for these dependencies.
    bytes32 public immutable binding;

    constructor(VaultAddresses memory a) VaultCore(a) {
        inner = address(new CycleModule(a));
        binding = keccak256(abi.encode(a));
    }

    function cycle() external virtual returns (CyclePath path, uint256 bounty) {
        return _realCycle();
    }

    function pancakeCall(address, uint256, uint256, bytes calldata) external virtual {
        _delegate();
    }

    function _realCycle() internal returns (CyclePath path, uint256 bounty) {
        (path, bounty) = abi.decode(_delegate(), (CyclePath, uint256));
    }

    function _delegate() internal returns (bytes memory ret) {
        bool ok;
        (ok, ret) = inner.delegatecall(msg.data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

/// @notice The divergence guard disabled: every cycle runs as if maxDeviationBps were 100%.
contract GuardDisabledModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 guard = _cfg.maxDeviationBps;
        _cfg.maxDeviationBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.maxDeviationBps = guard;
    }
}

/// @notice The bounty ignores maxGasPrice: the gas refund uses tx.gasprice whatever it is.
contract UncappedGasBountyModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint64 cap = _cfg.maxGasPrice;
        _cfg.maxGasPrice = type(uint64).max;
        (path, bounty) = _realCycle();
        _cfg.maxGasPrice = cap;
    }
}

/// @notice The flash cap ignored: the whole need is borrowed, whatever the flash pair holds.
contract FlashCapIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 cap = _cfg.flashCapBps;
        _cfg.flashCapBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.flashCapBps = cap;
    }
}

/// @notice The ALP cooldown ignored: an unwinding vault burns its free ALP whether or not
/// Aster's cooldown is over (and Aster's revert takes the whole cycle down).
contract CooldownIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (path, bounty) = _realCycle();
        uint256 free = _alpFree();
        if (_riskMode == RiskMode.ONLY_UNWIND && free != 0) {
            alp.approve(address(_aster), free);
            _aster.burnAlp(address(_usdt), free, 0, address(this));
        }
    }
}

/// @notice A failing closeTrade swallowed: the cycle "succeeds" without closing the hedge.
contract CloseFailureSwallowedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (bool ok, bytes memory ret) = inner.delegatecall(msg.data);
        if (ok) return abi.decode(ret, (CyclePath, uint256));
        if (ret.length < 4 || bytes4(ret) != VaultCore.HedgeCloseFailed.selector) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        // Swallowed: the cycle counts as done, nothing else happened.
        _last.timestamp = uint64(block.timestamp);
        return (CyclePath.IDLE, 0);
    }
}

/// @notice A second hedge opened: the pending trade is forgotten before each cycle, so the
/// vault sends another one while Aster still holds the first.
contract SecondHedgeModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        delete _pending;
        return _realCycle();
    }
}

/// @notice An oracle that answers `price()` with the pool's spot instead of the TWAP; every other
/// call goes to the vault's real oracle. Installed by SpotValuedModule between cycles.
contract SpotPriceOracle {
    TwapOracle public immutable spotOracleInner;

    constructor(TwapOracle inner) {
        spotOracleInner = inner;
    }

    /// @notice The defect: the valuation price is the manipulable spot.
    function price() external view returns (uint256) {
        return spotOracleInner.spot();
    }

    fallback() external {
        address inner = address(spotOracleInner);
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := staticcall(gas(), inner, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @notice The vault's views (nav, legs, deposits, withdrawals, redemptions) value the LP leg,
/// loose BTCB and the hedge at the pool's spot price instead of the TWAP; the cycle itself
/// still decides at the TWAP. A classic defect: anyone who can move the pool within a block
/// can move the share price.
contract SpotValuedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        address current = address(_oracle);
        (bool ok, bytes memory ret) = current.staticcall(abi.encodeWithSignature("spotOracleInner()"));
        bool wrapped = ok && ret.length == 32;
        if (wrapped) _oracle = TwapOracle(abi.decode(ret, (address)));
        (path, bounty) = _realCycle();
        _oracle = TwapOracle(wrapped ? current : address(new SpotPriceOracle(_oracle)));
    }
}

/// @notice ONLY_UNWIND "gets out at any price": while the vault unwinds, its swaps (and the other
/// minimums derived from swapSlippageBps) accept 99% slippage, so the BTCB sale goes through
/// whatever the pool pays.
contract UnwindWithoutMinimumModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        OracleReading memory r = _oracle.read();
        bool unwinding =
            _riskMode == RiskMode.ONLY_UNWIND || !r.ready || r.stale || r.deviationBps > _cfg.maxDeviationBps;
        if (!unwinding) return _realCycle();
        uint16 slippage = _cfg.swapSlippageBps;
        _cfg.swapSlippageBps = 9900;
        (path, bounty) = _realCycle();
        _cfg.swapSlippageBps = slippage;
    }
}

/// @notice A cycle that did nothing still pays its caller the gas refund (the "no work, no
/// bounty" rule forgotten); the payment is reported as the cycle's bounty, within both caps.
contract IdleBountyModule is BrokenModule {
    using VaultMath for uint256;

    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (path, bounty) = _realCycle();
        if (path != CyclePath.IDLE || bounty != 0) return (path, bounty);
        uint256 nav = _legs(_oracle.price()).nav;
        bounty = _gasRefundUsd();
        uint256 navCap = nav * _cfg.maxBountyBps / BPS;
        if (bounty > navCap) bounty = navCap;
        if (bounty == 0) return (path, 0);
        _push(msg.sender, bounty);
        _last.bounty = bounty;
        _last.navAfter -= bounty;
        _last.sharePrice = _toAssets(ONE_SHARE, nav - bounty, false);
        _usdtAtCycleEnd = _usdt.balanceOf(address(this));
        emit BountyPaid(msg.sender, bounty, navCap, bounty * 3 / 2);
    }
}

/// @notice The share-price trigger disabled: every cycle runs as if maxNavDropBps were 100%, so
/// a loss that does not move the pool never puts the vault in ONLY_UNWIND.
contract NavDropIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 trigger = _cfg.maxNavDropBps;
        _cfg.maxNavDropBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.maxNavDropBps = trigger;
    }
}

/// @notice Finding 1 as it was: a pending short older than pendingHedgeTimeout is forgotten
/// (its margin leaves NAV) although Aster neither executed nor refunded it, so the vault sends
/// another one.
contract PendingResentAfterTimeoutModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        if (_pending.qty != 0 && block.timestamp > uint256(_pending.since) + _cfg.pendingHedgeTimeout) {
            emit HedgePendingExpired(_pending.qty, _pending.margin);
            delete _pending;
        }
        return _realCycle();
    }
}

/// @notice The S9 finding of the ONLY_UNWIND campaign as it was: while a hedge trade is still
/// pending, a NORMAL cycle that finds the vault under-hedged sends another trade for the rest and
/// tracks both as one aggregate (qty and margin summed, the executed baseline reset), as the
/// vault did before it kept one pending trade at a time. When Aster refunds one of the trades
/// and executes the other, the aggregate is filled by the executed one only in part, and the
/// refund (less than the aggregate margin) is never recognised: the rest stays "pending" for
/// ever, its margin counted in NAV on top of the refunded USDT in the buffer.
contract PendingTradesAggregatedModule is BrokenModule {
    using VaultMath for uint256;

    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (path, bounty) = _realCycle();
        PendingHedge memory p = _pending;
        if (_riskMode != RiskMode.NORMAL || p.qty == 0) return (path, bounty);
        Legs memory l = _legs(_oracle.price());
        uint256 mark = l.price / 1e10;
        if (mark == 0) return (path, bounty);
        uint256 target = l.btcExposure / 1e8;
        uint256 bandQty = (l.nav * _cfg.deltaBandBps / BPS) / mark;
        if (target <= l.hedgeQty + bandQty) return (path, bounty);
        uint256 qty = target - l.hedgeQty;
        uint256 margin = qty * mark / _cfg.hedgeLeverage;
        uint256 free = _freeBuffer();
        if (margin > free) (margin, qty) = (free, free * _cfg.hedgeLeverage / mark);
        if (qty == 0 || margin == 0) return (path, bounty);
        (,, uint256 executed) = _positions(0);
        _approve(_usdt, address(_aster), margin);
        _aster.openMarketTrade(
            IAsterDiamond.OpenDataInput({
                pairBase: _hedgePairBase,
                isLong: false,
                tokenIn: address(_usdt),
                amountIn: uint96(margin),
                qty: uint80(qty),
                price: uint64(mark * (BPS - _cfg.swapSlippageBps) / BPS),
                stopLoss: 0,
                takeProfit: 0,
                broker: 0
            })
        );
        _pending =
            PendingHedge(uint80(p.qty + qty), uint96(p.margin + margin), uint64(block.timestamp), executed);
        _usdtAtCycleEnd = _usdt.balanceOf(address(this));
        emit HedgeOpened(qty, margin, mark);
    }
}

/// @notice The rebalance threshold ignored: the vault trades toward its weights on any drift,
/// however small (a cycle with nothing to do still churns the legs).
contract RebalanceThresholdIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 threshold = _cfg.rebalanceThresholdBps;
        _cfg.rebalanceThresholdBps = 0;
        (path, bounty) = _realCycle();
        _cfg.rebalanceThresholdBps = threshold;
    }
}

/// @notice ONLY_UNWIND left after one healthy cycle: safeCycleThreshold read as 1.
contract EarlyRecoveryModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint8 threshold = _cfg.safeCycleThreshold;
        _cfg.safeCycleThreshold = 1;
        (path, bounty) = _realCycle();
        _cfg.safeCycleThreshold = threshold;
    }
}

/// @notice No rate limit: the cycle runs whenever it is called (minCycleInterval read as 0).
contract NoRateLimitModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint32 interval = _cfg.minCycleInterval;
        _cfg.minCycleInterval = 0;
        (path, bounty) = _realCycle();
        _cfg.minCycleInterval = interval;
    }
}

/// @notice The bounty's NAV cap ignored (maxBountyBps read as 100%): a small vault pays the
/// whole gas-based bounty.
contract NavCapIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 cap = _cfg.maxBountyBps;
        _cfg.maxBountyBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.maxBountyBps = cap;
    }
}

/// @notice A stale BNB/USD answer trusted: the feed's age is not checked (maxOracleAge read as
/// forever), so a feed that stopped updating still prices the bounty.
contract StaleFeedTrustedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint32 age = _cfg.maxOracleAge;
        _cfg.maxOracleAge = type(uint32).max;
        (path, bounty) = _realCycle();
        _cfg.maxOracleAge = age;
    }
}

/// @notice The hedge band ignored (deltaBandBps read as 100%): the vault never re-hedges.
contract HedgeBandIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 band = _cfg.deltaBandBps;
        _cfg.deltaBandBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.deltaBandBps = band;
    }
}

/// @notice No fallback below a useful flash step (minFlashStepBps read as 0): a drained flash
/// pair still lends a sliver, and the deleverage crawls in steps too small to matter.
contract TinyFlashStepModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 step = _cfg.minFlashStepBps;
        _cfg.minFlashStepBps = 0;
        (path, bounty) = _realCycle();
        _cfg.minFlashStepBps = step;
    }
}

/// @notice An oracle that hands the vault's cycle one reading taken by the vault itself, with
/// its staleness flag cleared; every other call goes to the vault's real oracle.
contract FreshLookingOracle {
    TwapOracle public immutable freshOracleInner;
    OracleReading private _reading;

    constructor(TwapOracle inner, OracleReading memory r) {
        freshOracleInner = inner;
        _reading = r;
        _reading.stale = false;
    }

    /// @notice The defect: a TWAP whose window starts beyond maxTwapAge passes as fresh.
    function update() external view returns (OracleReading memory) {
        return _reading;
    }

    fallback() external {
        address inner = address(freshOracleInner);
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := staticcall(gas(), inner, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @notice The TWAP's age not checked (maxTwapAge ignored): after a long gap without cycles the
/// vault keeps trading at a TWAP whose window started long ago.
contract StaleTwapIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        TwapOracle real = _oracle;
        OracleReading memory r = real.update();
        _oracle = TwapOracle(address(new FreshLookingOracle(real, r)));
        (path, bounty) = _realCycle();
        _oracle = real;
    }
}

/// @notice Finding 2 as it was: the shorts valued at the vault's TWAP instead of Aster's own
/// price. The vault's code, as deployed, with the selector of Aster's price view
/// (`getPriceFromCacheOrOracle(address)`, 0x47270eb3) replaced by one Aster does not have, in
/// the vault and in its keeper module: the call fails and the documented fallback, the TWAP,
/// values the shorts everywhere.
library HedgeAtTwap {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error PatchSiteNotFound(address target);

    function patch(address target) internal {
        bytes memory code = target.code;
        uint256 found;
        for (uint256 i; i + 5 <= code.length; ++i) {
            if (
                code[i] == 0x63 && code[i + 1] == 0x47 && code[i + 2] == 0x27 && code[i + 3] == 0x0e
                    && code[i + 4] == 0xb3
            ) {
                code[i + 4] = 0xb4;
                found++;
            }
        }
        if (found == 0) revert PatchSiteNotFound(target);
        VM.etch(target, code);
    }
}

/// @notice An oracle that hands the vault's cycle one reading taken by the vault itself and then
/// altered by a broken module; every other call goes to the vault's real oracle.
contract AlteredReadingOracle {
    TwapOracle public immutable alteredOracleInner;
    OracleReading private _reading;

    constructor(TwapOracle inner, OracleReading memory r) {
        alteredOracleInner = inner;
        _reading = r;
    }

    function update() external view returns (OracleReading memory) {
        return _reading;
    }

    fallback() external {
        address inner = address(alteredOracleInner);
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := staticcall(gas(), inner, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @notice Base of the modules whose defect is in how the cycle reads its oracle: the real
/// oracle is updated (by the vault, as always), the reading altered by `_alter`, and the real
/// cycle run on the altered reading.
abstract contract AlteredReadingModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function _alter(OracleReading memory r) internal view virtual;

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        TwapOracle real = _oracle;
        OracleReading memory r = real.update();
        _alter(r);
        _oracle = TwapOracle(address(new AlteredReadingOracle(real, r)));
        (path, bounty) = _realCycle();
        _oracle = real;
    }
}

/// @notice An oracle that is not ready yet (no observation a whole window old) trusted: the
/// cycle takes the spot as its price, as if it were a TWAP without divergence, and trades and
/// takes deposits in NORMAL instead of waiting in ONLY_UNWIND.
contract OracleNotReadyTrustedModule is AlteredReadingModule {
    constructor(VaultAddresses memory a) AlteredReadingModule(a) {}

    function _alter(OracleReading memory r) internal pure override {
        if (r.ready) return;
        (r.ready, r.stale, r.twap, r.price, r.deviationBps) = (true, false, r.spot, r.spot, 0);
    }
}

/// @notice The STORM regime never detected (stormVolBps read as unreachable): a stormy market
/// reads as NORMAL, so the LP leg is never cut through the flash path.
contract StormNeverDetectedModule is AlteredReadingModule {
    constructor(VaultAddresses memory a) AlteredReadingModule(a) {}

    function _alter(OracleReading memory r) internal pure override {
        if (r.regime == Regime.STORM) r.regime = Regime.NORMAL;
    }
}

/// @notice The bounty's gas refund computed with three times bountyGasUnits (the gas a cycle is
/// refunded for overstated): every working cycle pays more than 1.5 x the documented refund.
contract GasUnitsInflatedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint32 units = _cfg.bountyGasUnits;
        _cfg.bountyGasUnits = units * 3;
        (path, bounty) = _realCycle();
        _cfg.bountyGasUnits = units;
    }
}

/// @notice A failing burnAlp not skipped: once Aster's cooldown is over, an unwinding cycle
/// burns the free ALP without catching Aster's revert, so a paused ALP pool takes the whole
/// cycle (and the rest of the unwind) down with it.
contract BurnFailureRevertsModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (path, bounty) = _realCycle();
        uint256 free = _alpFree();
        uint256 readyAt = _aster.lastMintedTimestamp(address(this)) + _aster.coolingDuration();
        if (_riskMode == RiskMode.ONLY_UNWIND && free != 0 && block.timestamp >= readyAt) {
            alp.approve(address(_aster), free);
            _aster.burnAlp(address(_usdt), free, 0, address(this));
        }
    }
}

/// @notice The flash step's repayment not bound to the unwind's proceeds: when the BTCB sale is
/// refused (the real callback reverts with FlashRepayShortfall), the LP is removed anyway and the
/// loan repaid with the buffer's USDT, so the step "succeeds" with BTCB left unsold.
contract FlashShortfallFromBufferModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function pancakeCall(address, uint256, uint256, bytes calldata data) external override {
        (bool ok, bytes memory ret) = inner.delegatecall(msg.data);
        if (ok) return;
        if (ret.length < 4 || bytes4(ret) != VaultCore.FlashRepayShortfall.selector) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        (uint256 liquidity, uint256 borrow,) = abi.decode(data, (uint256, uint256, uint256));
        _approve(IERC20(address(_lpPair)), address(_router), liquidity);
        _router.removeLiquidity(
            address(_btcb), address(_usdt), liquidity, 0, 0, address(this), block.timestamp
        );
        _push(address(_flashPair), borrow * BPS / (BPS - PANCAKE_FEE_BPS) + 1);
        _flashBorrowed = 0;
    }
}

/// @notice The flash callback's guards gone (caller, sender, active flash, amounts): anyone can
/// call `pancakeCall` and make the vault unwind the LP it names and sell the BTCB at any price,
/// repaying whatever "loan" the caller claims to the flash pair.
contract FlashGuardsRemovedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function pancakeCall(address, uint256, uint256, bytes calldata data) external override {
        (uint256 liquidity, uint256 borrow,) = abi.decode(data, (uint256, uint256, uint256));
        uint256 held = _lpPair.balanceOf(address(this));
        if (liquidity > held) liquidity = held;
        if (liquidity != 0) {
            _approve(IERC20(address(_lpPair)), address(_router), liquidity);
            _router.removeLiquidity(
                address(_btcb), address(_usdt), liquidity, 0, 0, address(this), block.timestamp
            );
        }
        uint256 btc = _btcb.balanceOf(address(this));
        if (btc != 0) {
            address[] memory path = new address[](2);
            (path[0], path[1]) = (address(_btcb), address(_usdt));
            _approve(_btcb, address(_router), btc);
            _router.swapExactTokensForTokens(btc, 0, path, address(this), block.timestamp);
        }
        if (borrow != 0) _push(address(_flashPair), borrow * BPS / (BPS - PANCAKE_FEE_BPS) + 1);
    }
}

/// @notice Which defect a BrokenVaultFactory builds into the vault. New defects are appended:
/// the xtask's tests select them by index (CHAOS_BROKEN_DEFECT).
/// @notice The bounty's profit share inflated: profitBountyBps read as twice its value, so a
/// keeper is paid more of the holders' gain than the configuration promises (below both caps).
contract ProfitShareInflatedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 share = _cfg.profitBountyBps;
        _cfg.profitBountyBps = share > 5000 ? 10_000 : 2 * share;
        (path, bounty) = _realCycle();
        _cfg.profitBountyBps = share;
    }
}

/// @notice The buffer's weight ignored when rebalancing: every regime's buffer weight goes to
/// the LP leg, so a rebalance spends the buffer down to nothing.
contract BufferTargetIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (Weights memory c, Weights memory n, Weights memory st) = (_cfg.calm, _cfg.normal, _cfg.storm);
        _cfg.calm = Weights(c.lpBps + c.bufferBps, c.alpBps, 0);
        _cfg.normal = Weights(n.lpBps + n.bufferBps, n.alpBps, 0);
        _cfg.storm = Weights(st.lpBps + st.bufferBps, st.alpBps, 0);
        (path, bounty) = _realCycle();
        (_cfg.calm, _cfg.normal, _cfg.storm) = (c, n, st);
    }
}

/// @notice hedgeLeverage ignored: shorts are opened at the highest leverage the configuration
/// could allow (50x), with a tenth of the margin the shipped 5x calls for.
contract LeverageIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint8 lev = _cfg.hedgeLeverage;
        _cfg.hedgeLeverage = 50;
        (path, bounty) = _realCycle();
        _cfg.hedgeLeverage = lev;
    }
}

enum Defect {
    GUARD_DISABLED,
    BOUNTY_IGNORES_MAX_GAS_PRICE,
    FLASH_CAP_IGNORED,
    COOLDOWN_IGNORED,
    CLOSE_FAILURE_SWALLOWED,
    SECOND_HEDGE_OPENED,
    SPOT_VALUED_VIEWS,
    UNWIND_WITHOUT_MINIMUM,
    IDLE_CYCLE_BOUNTY,
    NO_VIRTUAL_SHARES,
    NAV_DROP_IGNORED,
    PENDING_RESENT_AFTER_TIMEOUT,
    HEDGE_VALUED_AT_TWAP,
    REBALANCE_THRESHOLD_IGNORED,
    EARLY_RECOVERY,
    NO_RATE_LIMIT,
    BOUNTY_NAV_CAP_IGNORED,
    STALE_BNB_FEED_TRUSTED,
    HEDGE_BAND_IGNORED,
    TINY_FLASH_STEP,
    STALE_TWAP_IGNORED,
    PENDING_TRADES_AGGREGATED,
    ORACLE_NOT_READY_TRUSTED,
    STORM_NEVER_DETECTED,
    BOUNTY_GAS_UNITS_INFLATED,
    BURN_FAILURE_REVERTS_CYCLE,
    FLASH_SHORTFALL_FROM_BUFFER,
    FLASH_GUARDS_REMOVED,
    PROFIT_SHARE_INFLATED,
    BUFFER_TARGET_IGNORED,
    LEVERAGE_IGNORED,
    LP_ADD_SWALLOWED,
    MINT_WHILE_CLAIMS_WAIT,
    MAX_WITHDRAW_READS_CALLER,
    TWAP_WINDOW_HALVED,
    REENTRANCY_LOCK_NEVER_TAKEN,
    LP_ADD_BUYS_ALL_BTCB,
    FULL_UNWIND_KEEPS_SHORT_IN_BAND,
    FUNDING_SIGN_REVERSED,
    FREE_USDT_IGNORES_CLAIMS,
    TOKEN_REVERT_SWALLOWED,
    ALLOWANCE_SKIPPED_FOR_SPENDERS,
    PREVIEW_WITHDRAW_ROUNDS_DOWN,
    POSITIONS_CAP_NINE,
    TWAP_SKIPS_DUST_RESERVE,
    LEVERAGE_BOUND_LOOSENED,
    CLAIMS_FUNDED_WITHOUT_BURN,
    DEPOSITS_PRICED_AT_SPOT,
    FLASH_TOKEN1_BORROWS_TOKEN0,
    ORACLE_SPACING_SKIP_REMOVED,
    UNHEDGED_EXCUSED_BY_PENDING,
    MULDIV_WIDE_BRANCH_BROKEN
}

/// @notice One-byte patches of the real vault's deployed code (the front, YieldVault, or its keeper
/// module, CycleModule), for defects no wrapping module reaches: the front's functions are not
/// virtual and the module's are private. Each site is found by a pattern of the code solc 0.8.37
/// emits with foundry.toml's settings (optimizer, 200 runs); a pattern that no longer matches the
/// expected number of sites reverts, so a recompiled vault never runs unpatched as "broken".
library BytecodePatch {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error PatchSitesNotFound(address target, uint256 found, uint256 expected);

    /// Sets byte `offset` of every occurrence of `pattern` in `target`'s code to `value`. A byte of
    /// `wild` that is not zero marks the pattern's byte as matching anything (jump targets).
    function patch(
        address target,
        bytes memory pattern,
        bytes memory wild,
        uint256 offset,
        bytes1 value,
        uint256 expected
    ) internal {
        bytes memory code = target.code;
        patchCode(code, target, pattern, wild, offset, value, expected);
        VM.etch(target, code);
    }

    /// The same patch on code in memory (creation code before it is deployed); `target` only
    /// names the code in the error.
    function patchCode(
        bytes memory code,
        address target,
        bytes memory pattern,
        bytes memory wild,
        uint256 offset,
        bytes1 value,
        uint256 expected
    ) internal pure {
        uint256 found;
        for (uint256 i; i + pattern.length <= code.length; ++i) {
            bool hit = true;
            for (uint256 k; k < pattern.length && hit; ++k) {
                hit = wild[k] != 0 || code[i + k] == pattern[k];
            }
            if (hit) {
                code[i + offset] = value;
                found++;
            }
        }
        if (found != expected) revert PatchSitesNotFound(target, found, expected);
    }

    /// The withdrawal queue's mint guard gone: `_epochs[_currentEpoch].alpOwed == 0` in
    /// CycleModule._rebalance, `AND ISZERO` on the owed ALP (masked to 128 bits), becomes
    /// `AND NOT`, true for every amount: a NORMAL rebalance mints ALP while claims wait for it,
    /// which restarts Aster's cooldown for the whole vault and pushes the claims back.
    function mintWhileClaimsWait(address cycleModule) internal {
        patch(cycleModule, hex"6001600160801b0316155b8015", hex"00000000000000000000000000", 9, 0x19, 1);
    }

    /// `maxWithdraw(owner)` reads the caller's share balance, not the owner's (`_balances[owner]`
    /// at its two reads, `DUP6`/`DUP7` of the argument, becomes `CALLER`): the classic ERC-4626
    /// slip. The owner's liquid share is offered to whoever asks and to nobody else, in every mode.
    function maxWithdrawReadsCaller(address vault) internal {
        // liquidShare = l.buffer.mulDiv(_balances[owner], supply): buffer is Legs' 4th word.
        patch(
            vault,
            hex"6001600160a01b0385165f9081526003602052604081205460608301",
            hex"00000000000000000000000000000000000000000000000000000000",
            8,
            0x33,
            1
        );
        // value = _toAssets(_balances[owner], l.nav, false): nav is Legs' 5th word.
        patch(
            vault,
            hex"6001600160a01b0386165f9081526003602052604081205460808501",
            hex"00000000000000000000000000000000000000000000000000000000",
            8,
            0x33,
            1
        );
    }

    /// The reentrancy lock never taken: `_lock = 2` (PUSH1 2, PUSH1 0x1d, the lock's slot,
    /// SSTORE) stores 1 in every `nonReentrant` entry point of the front, so the check
    /// `_lock != 1` always passes (mutant edbe6dc893 drops the lock the same way).
    function reentrancyLockNeverTaken(address vault) internal {
        patch(vault, hex"6002601d55", hex"0000000000", 1, 0x01, 7);
    }

    /// The LP add buys BTCB with the whole amount: `half = value / 2` in CycleModule._addLiquidity
    /// (PUSH1 2, DUP4, the checked division) divides by 1. No USDT is left to pair with, the
    /// router refuses the add and the vault swallows it: the bought BTCB stays loose. Loose BTCB
    /// is in the landing tolerance, so the landing checks let it pass.
    function lpAddBuysAllBtcb(address cycleModule) internal {
        patch(cycleModule, hex"60028361000056" hex"5b9050", hex"00000000010100" hex"000000", 1, 0x01, 1);
    }

    /// A full unwind keeps a short inside the band: in CycleModule._closeDownTo the loop's
    /// second reason to close, `target == 0 && current != 0` (a full unwind closes every short),
    /// reads `address(this) == 0` instead of `target == 0` (`DUP5` of the target becomes
    /// `ADDRESS`), so it is never true: only a short beyond target + band is closed, as mutant
    /// dc95f54670 (`target == 1`) does for every full unwind.
    function fullUnwindKeepsShortInBand(address cycleModule) internal {
        patch(
            cycleModule,
            hex"86118061000057508415801561000057508515155b",
            hex"000000000101000000000000000101000000000000",
            8,
            0x30,
            1
        );
    }

    /// Aster's funding fee read with the wrong sign: in VaultCore._positions the deduction
    /// `p.fundingFee > 0 ? p.fundingFee : 0` (`SGT`) becomes `p.fundingFee < 0 ? ... : 0`
    /// (`SLT`): funding the shorts pay is never deducted from the hedge's value, funding they
    /// receive (a negative fee) is added to it (mutant 33f73f5482 adds the fee). In the front's
    /// views and in the module's NAV alike (both carry VaultCore's code).
    function fundingSignReversed(address code) internal {
        patch(code, hex"5f8261018001511361000057", hex"000000000000000000010100", 7, 0x12, 1);
    }

    /// Free USDT that does not exclude what funded claims are owed: in VaultCore._freeBuffer
    /// `_reservedUsdt` (the USDT set aside for funded claims) is never read (its `SLOAD` becomes
    /// `ISZERO` of the slot number, 0), so `locked` is only the current epoch's unfunded debt and
    /// the funded claims' USDT counts as free to spend (mutant ac1961486d adds what is locked
    /// instead of subtracting it).
    function freeUsdtIgnoresClaims(address code) internal {
        patch(code, hex"601b6020526040812054601854", hex"00000000000000000000000000", 12, 0x15, 1);
    }

    /// A token call that reverts is taken for success: in VaultCore._call the `!ok` of
    /// `!ok || (ret.length != 0 && !abi.decode(ret, (bool)))` tests `address(this)` (`DUP2` of
    /// `ok` becomes `ADDRESS`), never zero: a transfer that reverts without data passes, one
    /// that returns false is still refused (mutant db724c3488, `&&` for `||`, passes both).
    function tokenRevertSwallowed(address code) internal {
        patch(code, hex"811580610000575080511580159061", hex"000000000101000000000000000000", 0, 0x30, 1);
    }

    /// The allowance skipped for spenders: YieldVault._exit's `if (msg.sender != owner)
    /// _spendAllowance(...)` compares with `XOR` where `EQ` stood, so the jump over the
    /// allowance is taken exactly when the caller is not the owner: anyone can withdraw or
    /// redeem anyone's shares to any receiver, and an approved spender never spends its allowance.
    function allowanceSkippedForSpenders(address vault) internal {
        patch(
            vault,
            hex"336001600160a01b0385161461000057610000843383610000565b",
            hex"000000000000000000000000000101000001010000000001010000",
            11,
            0x18,
            1
        );
    }

    /// previewWithdraw (and so withdraw) rounds down: its `_toShares(assets, totalAssets(),
    /// true)` passes `false` (`PUSH1 1` becomes `PUSH1 0`), so a withdrawal burns the shares the
    /// assets are worth rounded in the withdrawer's favour. The site is told from previewMint's
    /// identical call by the code that follows it.
    function previewWithdrawRoundsDown(address vault) internal {
        patch(
            vault,
            hex"61000082610000610000565b6001610000565b5f5f6006",
            hex"0001010000010100010100000000000101000000000000",
            13,
            0x00,
            1
        );
    }

    /// The positions cap raised to 9: CycleModule's `count >= MAX_POSITIONS` compares with
    /// `PUSH1 9` (mutant a90be7e3de): Aster's book holds a ninth position before the merge.
    function positionsCapNine(address cycleModule) internal {
        patch(
            cycleModule, hex"600881106100005761000088835f5f", hex"000000000001010000010100000000", 1, 0x09, 1
        );
    }

    /// The TWAP's accrual skipped for a reserve of 1 wei as if the pair were empty: in
    /// TwapOracle.currentCumulative the masks of `r0 != 0` and `r1 != 0` (`2**112 - 1`) are built
    /// as `2**112 - 2`, so a reserve of one wei reads as zero (mutant 73c2a3001c skips `r0 == 1`
    /// in place of `r0 == 0`). The oracle is the vault's own, created in its constructor: its
    /// runtime code is patched after deployment.
    function dustReserveSkipped(address oracle) internal {
        patch(oracle, hex"506001600160701b03001615155b", hex"0000000000000000000100000000", 2, 0x02, 2);
    }

    /// Claims funded although the ALP burn failed: CycleModule._fundClaims' `if (!ok) return;`
    /// after `_burnAlp` tests `address(this)` (`DUP2` of `ok` becomes `ADDRESS`), so an epoch
    /// whose ALP could not be burnt (Aster's cooldown, a refused burn) is marked funded with no
    /// proceeds: its claims become payable inside the cooldown, their ALP part worth nothing.
    function claimsFundedWithoutBurn(address cycleModule) internal {
        patch(
            cycleModule, hex"915091508161000057505050505050", hex"000000000000010100000000000000", 4, 0x30, 1
        );
    }

    /// Deposits priced at the pool's spot: YieldVault._navForDeposit calls the oracle's `spot()`
    /// where it called `price()` (the TWAP); the selector `0xa035b1fe`, built as `0x501ad8ff <<
    /// 225`, becomes `0x6f265b93 << 224`, and the copy the call keeps beside it is changed alike.
    /// Every view (nav, legs, previews of withdrawals) still values at the TWAP: only the shares
    /// a deposit mints move with a push of the pool.
    function depositsPricedAtSpot(address vault) internal {
        patchTo(
            vault,
            hex"6005546040805163501ad8ff60e11b815290515f926001600160a01b03169163a035b1fe",
            hex"60055460408051636f265b9360e01b815290515f926001600160a01b031691636f265b93",
            1
        );
    }

    /// The flash borrow of a pair holding USDT as token1 asks for some token0 too: in
    /// CycleModule._flashStep the token1 branch's `swap(0, borrow, this, data)` passes
    /// `CALLDATASIZE` (4: the keeper's `cycle()`) where `PUSH0` stood, so the pair hands out 4 wei
    /// of token0 with the USDT, the callback's amounts check refuses the loan and every flash step
    /// falls back (mutant cd287809dc passes 1). The token0 branch (`swap(borrow, 0, ...)`, `DUP13`
    /// of borrow before `PUSH0`) is told apart by the order of its arguments.
    function flashToken1BorrowsToken0(address cycleModule) internal {
        patch(
            cycleModule, hex"63022c0d9f90610000905f908d9030", hex"000000000000000101000000000000", 10, 0x36, 1
        );
    }

    /// The oracle's skip gone: in TwapOracle.update, `if (now32 - newest.timestamp >= spacing)`'s
    /// test and jump over the write (`LT`, `PUSH2 <skip>`, `JUMPI`) become `POP POP` and three
    /// `JUMPDEST`s, so every update writes an observation, however close to the newest (a second
    /// one in the same second would leave a zero interval that the volatility divides by). The
    /// oracle is the vault's own, created in its constructor: its runtime code is patched after
    /// deployment.
    function oracleSpacingSkipRemoved(address oracle) internal {
        patchTo(oracle, hex"63ffffffff161061097b57", hex"63ffffffff1650505b5b5b", 1);
    }

    /// `mulDiv`'s 512-bit branch broken as mutant 17a1b683f8 breaks it: the second Newton step of
    /// the modular inverse, `inverse *= 2 - d * inverse`, divides (`d / inverse`, the step's
    /// `MUL` becomes `DIV`). solc keeps `mulDiv` as one shared function per contract, so the
    /// pattern (`(3 * d) ^ 2` and the six steps, `DUP1 DUP11 MUL DUP3 SUB MUL` each) is one site
    /// in each of the front, the module and the oracle: every `mulDiv` of the vault is the
    /// mutant's. The branch runs only when `x * y >= 2^256` (after the `prod1 == 0` return), so
    /// every smaller product is still exact; the inverse is odd after the first step, so the
    /// `DIV` never divides by zero.
    function mulDivWideBranchBroken(address code) internal {
        patch(
            code,
            hex"600389028118808a02820302808a02820302808a02820302808a02820302808a02820302808a02",
            hex"000000000000000000000000000000000000000000000000000000000000000000000000000000",
            14,
            0x04,
            1
        );
    }

    /// Replaces every occurrence of `pattern` in `target`'s code with `replacement` (the same
    /// length): for a defect wider than one byte.
    function patchTo(address target, bytes memory pattern, bytes memory replacement, uint256 expected)
        internal
    {
        bytes memory code = target.code;
        uint256 found;
        for (uint256 i; i + pattern.length <= code.length; ++i) {
            bool hit = true;
            for (uint256 k; k < pattern.length && hit; ++k) {
                hit = code[i + k] == pattern[k];
            }
            if (!hit) continue;
            for (uint256 k; k < replacement.length; ++k) {
                code[i + k] = replacement[k];
            }
            found++;
        }
        if (found != expected) revert PatchSitesNotFound(target, found, expected);
        VM.etch(target, code);
    }

    /// `hedgeLeverage` bounded at 100 instead of 50 in YieldVault._validate (`PUSH1 50` becomes
    /// `PUSH1 100`): the constructor accepts 51x to 100x. A patch of the creation code: the
    /// validation runs only in the constructor.
    function leverageBoundLoosened(bytes memory creation) internal pure {
        patchCode(
            creation, address(0), hex"6032836102e0015160ff1611", hex"000000000000000000000000", 1, 0x64, 1
        );
    }
}

/// @notice The real vault with its share arithmetic's virtual offset taken out: its code, as
/// deployed, with `_totalSupply + 10 ** DECIMALS_OFFSET` turned into `_totalSupply + 10 ** 0`
/// at the four places the front converts between shares and assets (deposit, mint, withdraw,
/// redeem and every preview). The classic first-depositor vulnerability: a donation can make
/// one share unit worth more than a victim's deposit. The cycle module is untouched.
library NoVirtualShares {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error PatchSitesNotFound(uint256 found);

    /// PUSH1 6, PUSH1 10, PUSH2 <exp helper>, JUMP, JUMPDEST, PUSH1 2 (the supply's slot), SLOAD:
    /// 10 ** 6 computed right before the supply is loaded.
    function patch(address vault) internal {
        bytes memory code = vault.code;
        uint256 found;
        for (uint256 i; i + 12 <= code.length; ++i) {
            if (
                code[i] == 0x60 && code[i + 1] == 0x06 && code[i + 2] == 0x60 && code[i + 3] == 0x0a
                    && code[i + 4] == 0x61 && code[i + 7] == 0x56 && code[i + 8] == 0x5b
                    && code[i + 9] == 0x60 && code[i + 10] == 0x02 && code[i + 11] == 0x54
            ) {
                code[i + 1] = 0x00;
                found++;
            }
        }
        if (found != 4) revert PatchSitesNotFound(found);
        VM.etch(vault, code);
    }
}

/// @notice Deploys the real YieldVault bound to the broken module of `defect`.
contract BrokenVaultFactory is IVaultFactory {
    Vm private constant VM_ = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    /// YieldVault's storage slot of `_oracle` (VaultCore's first variable after ShareToken's).
    uint256 private constant ORACLE_SLOT = 5;
    Defect public immutable defect;

    error OracleSlotMoved();

    constructor(Defect d) {
        defect = d;
    }

    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        if (defect == Defect.UNHEDGED_EXCUSED_BY_PENDING) {
            // The vault never hedges (deltaBandBps ignored) and its `pendingHedge()` reports a
            // trade pending for ever (qty 1, no margin, since its deployment), which Aster's
            // book never held: a vault excusing itself from the hedge band by its own report.
            // The keeper code is HEDGE_BAND_IGNORED's; only the view's answer is mocked.
            YieldVault v = new YieldVault(a, cfg, address(new HedgeBandIgnoredModule(a)));
            VM_.mockCall(
                address(v),
                abi.encodeWithSelector(YieldVault.pendingHedge.selector),
                abi.encode(true, uint256(1), uint256(0), block.timestamp)
            );
            return v;
        }
        if (defect == Defect.NO_VIRTUAL_SHARES) {
            YieldVault v = DeployVault.deploy(a, cfg);
            NoVirtualShares.patch(address(v));
            return v;
        }
        if (defect == Defect.HEDGE_VALUED_AT_TWAP) {
            YieldVault v = DeployVault.deploy(a, cfg);
            HedgeAtTwap.patch(address(v));
            HedgeAtTwap.patch(v.cycleModule());
            return v;
        }
        if (defect == Defect.MINT_WHILE_CLAIMS_WAIT) {
            YieldVault v = DeployVault.deploy(a, cfg);
            BytecodePatch.mintWhileClaimsWait(v.cycleModule());
            return v;
        }
        if (defect == Defect.MAX_WITHDRAW_READS_CALLER) {
            YieldVault v = DeployVault.deploy(a, cfg);
            BytecodePatch.maxWithdrawReadsCaller(address(v));
            return v;
        }
        if (defect == Defect.REENTRANCY_LOCK_NEVER_TAKEN) {
            YieldVault v = DeployVault.deploy(a, cfg);
            BytecodePatch.reentrancyLockNeverTaken(address(v));
            return v;
        }
        if (defect == Defect.LP_ADD_BUYS_ALL_BTCB) {
            YieldVault v = DeployVault.deploy(a, cfg);
            BytecodePatch.lpAddBuysAllBtcb(v.cycleModule());
            return v;
        }
        if (uint8(defect) >= uint8(Defect.FULL_UNWIND_KEEPS_SHORT_IN_BAND)) return _patched(a, cfg);
        if (defect == Defect.TWAP_WINDOW_HALVED) return _twapWindowHalved(a, cfg);
        if (defect == Defect.LP_ADD_SWALLOWED) {
            // The router refuses every add the vault makes (as it does when the vault asks for a
            // USDT minimum above the amount, mutant 9c11a6be12), and the vault's try swallows the
            // refusal. The vault's code is the shipped one; only the router's answer is mocked.
            VM_.mockCallRevert(
                a.router,
                abi.encodePacked(IPancakeRouter02.addLiquidity.selector),
                bytes("PancakeRouter: INSUFFICIENT_A_AMOUNT")
            );
            return DeployVault.deploy(a, cfg);
        }
        address module;
        if (defect == Defect.FLASH_GUARDS_REMOVED) {
            module = address(new FlashGuardsRemovedModule(a));
        } else if (defect == Defect.PROFIT_SHARE_INFLATED) {
            module = address(new ProfitShareInflatedModule(a));
        } else if (defect == Defect.BUFFER_TARGET_IGNORED) {
            module = address(new BufferTargetIgnoredModule(a));
        } else if (defect == Defect.LEVERAGE_IGNORED) {
            module = address(new LeverageIgnoredModule(a));
        } else if (defect == Defect.ORACLE_NOT_READY_TRUSTED) {
            module = address(new OracleNotReadyTrustedModule(a));
        } else if (defect == Defect.STORM_NEVER_DETECTED) {
            module = address(new StormNeverDetectedModule(a));
        } else if (defect == Defect.BOUNTY_GAS_UNITS_INFLATED) {
            module = address(new GasUnitsInflatedModule(a));
        } else if (defect == Defect.BURN_FAILURE_REVERTS_CYCLE) {
            module = address(new BurnFailureRevertsModule(a));
        } else if (defect == Defect.FLASH_SHORTFALL_FROM_BUFFER) {
            module = address(new FlashShortfallFromBufferModule(a));
        } else if (defect == Defect.PENDING_TRADES_AGGREGATED) {
            module = address(new PendingTradesAggregatedModule(a));
        } else if (defect == Defect.PENDING_RESENT_AFTER_TIMEOUT) {
            module = address(new PendingResentAfterTimeoutModule(a));
        } else if (defect == Defect.REBALANCE_THRESHOLD_IGNORED) {
            module = address(new RebalanceThresholdIgnoredModule(a));
        } else if (defect == Defect.EARLY_RECOVERY) {
            module = address(new EarlyRecoveryModule(a));
        } else if (defect == Defect.NO_RATE_LIMIT) {
            module = address(new NoRateLimitModule(a));
        } else if (defect == Defect.BOUNTY_NAV_CAP_IGNORED) {
            module = address(new NavCapIgnoredModule(a));
        } else if (defect == Defect.STALE_BNB_FEED_TRUSTED) {
            module = address(new StaleFeedTrustedModule(a));
        } else if (defect == Defect.HEDGE_BAND_IGNORED) {
            module = address(new HedgeBandIgnoredModule(a));
        } else if (defect == Defect.STALE_TWAP_IGNORED) {
            module = address(new StaleTwapIgnoredModule(a));
        } else if (defect == Defect.TINY_FLASH_STEP) {
            module = address(new TinyFlashStepModule(a));
        } else if (defect == Defect.GUARD_DISABLED) {
            module = address(new GuardDisabledModule(a));
        } else if (defect == Defect.BOUNTY_IGNORES_MAX_GAS_PRICE) {
            module = address(new UncappedGasBountyModule(a));
        } else if (defect == Defect.FLASH_CAP_IGNORED) {
            module = address(new FlashCapIgnoredModule(a));
        } else if (defect == Defect.COOLDOWN_IGNORED) {
            module = address(new CooldownIgnoredModule(a));
        } else if (defect == Defect.CLOSE_FAILURE_SWALLOWED) {
            module = address(new CloseFailureSwallowedModule(a));
        } else if (defect == Defect.SECOND_HEDGE_OPENED) {
            module = address(new SecondHedgeModule(a));
        } else if (defect == Defect.SPOT_VALUED_VIEWS) {
            module = address(new SpotValuedModule(a));
        } else if (defect == Defect.UNWIND_WITHOUT_MINIMUM) {
            module = address(new UnwindWithoutMinimumModule(a));
        } else if (defect == Defect.IDLE_CYCLE_BOUNTY) {
            module = address(new IdleBountyModule(a));
        } else {
            module = address(new NavDropIgnoredModule(a));
        }
        return new YieldVault(a, cfg, module);
    }

    /// The real vault with one byte of its deployed code (the front, the module or the oracle the
    /// vault created) or of its creation code patched (`BytecodePatch`).
    function _patched(VaultAddresses calldata a, Config calldata cfg) internal returns (YieldVault v) {
        if (defect == Defect.LEVERAGE_BOUND_LOOSENED) return _leverageBoundLoosened(a, cfg);
        v = DeployVault.deploy(a, cfg);
        if (defect == Defect.FULL_UNWIND_KEEPS_SHORT_IN_BAND) {
            BytecodePatch.fullUnwindKeepsShortInBand(v.cycleModule());
        } else if (defect == Defect.FUNDING_SIGN_REVERSED) {
            BytecodePatch.fundingSignReversed(address(v));
            BytecodePatch.fundingSignReversed(v.cycleModule());
        } else if (defect == Defect.FREE_USDT_IGNORES_CLAIMS) {
            BytecodePatch.freeUsdtIgnoresClaims(address(v));
            BytecodePatch.freeUsdtIgnoresClaims(v.cycleModule());
        } else if (defect == Defect.TOKEN_REVERT_SWALLOWED) {
            BytecodePatch.tokenRevertSwallowed(address(v));
            BytecodePatch.tokenRevertSwallowed(v.cycleModule());
        } else if (defect == Defect.ALLOWANCE_SKIPPED_FOR_SPENDERS) {
            BytecodePatch.allowanceSkippedForSpenders(address(v));
        } else if (defect == Defect.PREVIEW_WITHDRAW_ROUNDS_DOWN) {
            BytecodePatch.previewWithdrawRoundsDown(address(v));
        } else if (defect == Defect.DEPOSITS_PRICED_AT_SPOT) {
            BytecodePatch.depositsPricedAtSpot(address(v));
        } else if (defect == Defect.CLAIMS_FUNDED_WITHOUT_BURN) {
            BytecodePatch.claimsFundedWithoutBurn(v.cycleModule());
        } else if (defect == Defect.POSITIONS_CAP_NINE) {
            BytecodePatch.positionsCapNine(v.cycleModule());
        } else if (defect == Defect.FLASH_TOKEN1_BORROWS_TOKEN0) {
            BytecodePatch.flashToken1BorrowsToken0(v.cycleModule());
        } else if (defect == Defect.ORACLE_SPACING_SKIP_REMOVED) {
            BytecodePatch.oracleSpacingSkipRemoved(address(v.oracle()));
        } else if (defect == Defect.MULDIV_WIDE_BRANCH_BROKEN) {
            BytecodePatch.mulDivWideBranchBroken(address(v));
            BytecodePatch.mulDivWideBranchBroken(v.cycleModule());
            BytecodePatch.mulDivWideBranchBroken(address(v.oracle()));
        } else {
            BytecodePatch.dustReserveSkipped(address(v.oracle()));
        }
    }

    /// The vault deployed from its creation code with `_validate`'s leverage bound patched
    /// (100 for 50); a refusal of the constructor is passed on with its own revert data, so the
    /// probe `config` sees exactly the vault's error.
    function _leverageBoundLoosened(VaultAddresses calldata a, Config calldata cfg)
        internal
        returns (YieldVault v)
    {
        address module = address(new CycleModule(a));
        bytes memory init = bytes.concat(type(YieldVault).creationCode, abi.encode(a, cfg, module));
        BytecodePatch.leverageBoundLoosened(init);
        assembly {
            v := create(0, add(init, 32), mload(init))
            if iszero(v) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
    }

    /// The real vault, its oracle replaced right after deployment (same block, same pair) by one
    /// built with half the configured `twapWindow`: the vault values and decides at a 15-minute
    /// TWAP while its configuration (and `getConfig()`) says 30. Readiness is unchanged (the
    /// first cycle comes one configured window after deployment), so only the price differs, and
    /// only while the pool's price moves.
    function _twapWindowHalved(VaultAddresses calldata a, Config calldata cfg)
        internal
        returns (YieldVault v)
    {
        v = DeployVault.deploy(a, cfg);
        bytes32 slot = bytes32(uint256(ORACLE_SLOT));
        if (address(uint160(uint256(VM_.load(address(v), slot)))) != address(v.oracle())) {
            revert OracleSlotMoved();
        }
        VM_.prank(address(v));
        TwapOracle o = new TwapOracle(
            IPancakePair(a.lpPair),
            a.btcb,
            cfg.twapWindow / 2,
            cfg.maxTwapAge,
            cfg.calmVolBps,
            cfg.stormVolBps
        );
        VM_.store(address(v), slot, bytes32(uint256(uint160(address(o)))));
    }
}
