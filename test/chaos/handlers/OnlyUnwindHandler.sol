// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ScenarioResult} from "../../../script/chaos/ScenarioTypes.sol";
import {World} from "../../../script/chaos/ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../../../script/chaos/ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList} from "../../../script/chaos/SteadyState.sol";
import {Check} from "../../../script/chaos/ScenarioTypes.sol";
import {FaultInjection} from "../../../script/chaos/FaultProxy.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {OracleReading, RiskMode} from "../../../contracts/vault/VaultTypes.sol";
import {IAsterDiamond} from "../../../contracts/interfaces/IAster.sol";

/// @title OnlyUnwindHandler
/// @notice The actions of the stateful ONLY_UNWIND campaign: deposit, withdraw, cycle, push and
/// restore the price, drain and restore flash liquidity, arm and disarm Aster faults, warp time.
/// Every cycle is measured before and after with the steady-state library (the same checks,
/// names and bounds as the in-EVM scenarios, docs/steady-state.md); each property counts its
/// violations (the invariants assert the counts stay 0) and keeps the first failing check for
/// the report. S4 is a ghost state machine: the risk mode and healthy count the hypothesis
/// predicts from the oracle reading the cycle sees. S10 holds every flow and cycle.
contract OnlyUnwindHandler is ScenarioBase {
    using SteadyState for CheckList;

    SteadyState.Ghost public ghost;
    /// S10 keeps its worst case; each of its checks is counted once when it first fails.
    mapping(uint256 => bool) internal _reported;
    uint256 public fairPrice;
    uint256 public flashUsdtReserve;
    bool public closeTradeArmed;
    bool public burnAlpArmed;

    // Violation counters, one per property.
    mapping(string => uint256) public violations;
    string public firstViolation;

    // Coverage of the campaign (what the fuzzer actually reached).
    uint256 public cyclesOk;
    uint256 public cyclesReverted;
    uint256 public unwindCycles;
    uint256 public recoveries;
    uint256 public depositsRefused;

    address[3] internal holders = [ALICE, BOB, CAROL];

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external pure override returns (ScenarioResult memory) {
        revert UnknownScenario(id);
    }

    /// @notice The baseline every run starts from (NORMAL, invested, hedged).
    function init() external {
        fairPrice = _spot();
        flashUsdtReserve = SteadyState.usdtReserve(w.flashPair, w.usdt);
        _baseline(true);
        ghost = SteadyState.Ghost(vault.riskMode(), vault.healthyCycleCount());
        FaultInjection.install(w.aster);
    }

    // ------------------------------------------------------------------------------ actions

    function deposit(uint256 who, uint256 amount) external {
        address h = holders[who % 3];
        amount = 100e18 + amount % 40_000e18;
        _fund(h, amount);
        bool unwinding = vault.riskMode() == RiskMode.ONLY_UNWIND;
        (bool ok, bytes memory reason) = _tryDeposit(h, amount);
        if (unwinding) {
            depositsRefused++;
            bool exact =
                keccak256(reason) == keccak256(abi.encodeWithSelector(VaultCore.DepositsPaused.selector));
            if (ok || !exact) _violate("S4_deposit_reverted_DepositsPaused");
        }
        _checkFairness();
    }

    /// Takes `frac`/256 of the holder's maxWithdraw; the full maxWithdraw must always pay (S7).
    function withdraw(uint256 who, uint256 frac) external {
        address h = holders[who % 3];
        uint256 max = vault.maxWithdraw(h);
        if (max == 0) return;
        uint256 amount = frac % 4 == 0 ? max : max * (1 + frac % 256) / 256;
        uint256 before = vault.usdt().balanceOf(h);
        if (_withdraw(h, amount)) {
            if (vault.usdt().balanceOf(h) - before != amount) _violate("S7_withdrawn_wei");
        } else {
            _violate("S7_withdrawn_wei");
        }
        _checkFairness();
    }

    /// A keeper cycle once the interval allows it, `delay` seconds late (up to 20 minutes).
    function cycle(uint256 delay) external {
        uint256 secs = cfg.minCycleInterval + delay % 20 minutes;
        _asterHonoursTimeout(secs);
        _advance(secs);
        _measuredCycle();
    }

    /// A cycle in the same block as the previous action (usually too soon: must change nothing).
    function cycleNow() external {
        _measuredCycle();
    }

    function _measuredCycle() internal {
        OracleReading memory seen = vault.oracle().read();
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkFairness();
        if (!o.ok) {
            cyclesReverted++;
            _checkRevert(o, a, b);
            return;
        }
        cyclesOk++;
        CheckList memory list;
        _checkCycle(list, "", a, b, o);
        if (b.mode == RiskMode.NORMAL && !a.pending && !closeTradeArmed && !burnAlpArmed) {
            list.s8Hedge("", b, cfg);
        }
        for (uint256 i; i < list.length; ++i) {
            if (!list.items[i].passed) _violate(list.items[i]);
        }
        _ghostStep(seen, b);
    }

    /// The market moves by up to +-9% (beyond the guard): the pool by a real swap and, on the
    /// replicas, Aster's BTC mark with it, as Aster's price feed follows the market.
    /// @dev A pool-only push held for many cycles is a different fault (a manipulation nobody
    /// arbitrages away): then the short is valued at the pool's TWAP but closed at Aster's mark,
    /// and S1 fails by that gap (see the report). oracle_divergence covers the one-block push.
    function pushPrice(int256 bps) external {
        bps = bps % 900;
        _moveSpot(bps);
        _followMark();
    }

    /// A pool-only push that nobody arbitrages (Aster's mark stays). Not a campaign action: the
    /// findings test uses it to reproduce the hedge valuation gap.
    function pushPoolOnly(int256 bps) external {
        _moveSpot(bps % 900);
    }

    /// Back to the fair price; with `settle`, quiet for a TWAP window (the oracle catches up, so
    /// the next cycles are healthy and recovery can start).
    function restorePrice(bool settle) external {
        _setSpot(fairPrice);
        _followMark();
        if (settle) {
            _asterHonoursTimeout(cfg.twapWindow);
            _advance(cfg.twapWindow);
        }
    }

    function drainFlash(uint256 keepBps) external {
        _drainPair(w.flashPair, 50 + keepBps % 9950);
    }

    function restoreFlash() external {
        uint256 r = SteadyState.usdtReserve(w.flashPair, w.usdt);
        if (r != 0 && r < flashUsdtReserve) _drainPair(w.flashPair, flashUsdtReserve * BPS / r);
    }

    function armAsterFault(uint256 which) external {
        if (which % 2 == 0) {
            FaultInjection.revertWith(w.aster, IAsterDiamond.closeTrade.selector, "ASTER: paused");
            closeTradeArmed = true;
        } else {
            FaultInjection.revertEmpty(w.aster, IAsterDiamond.burnAlp.selector);
            burnAlpArmed = true;
        }
    }

    function disarmAsterFaults() external {
        FaultInjection.disarm(w.aster, IAsterDiamond.closeTrade.selector);
        FaultInjection.disarm(w.aster, IAsterDiamond.burnAlp.selector);
        closeTradeArmed = false;
        burnAlpArmed = false;
    }

    function executeTrades() external {
        _executePendingHedges();
    }

    function warp(uint256 secs) external {
        secs = 1 + secs % 2 days;
        _asterHonoursTimeout(secs);
        _advance(secs);
    }

    // ------------------------------------------------------------------------------ checks

    /// S5: a cycle reverts only as too soon, or as a typed hedge-close failure while closeTrade
    /// is failing; either way it changes nothing.
    function _checkRevert(CycleOutcome memory o, Snapshot memory a, Snapshot memory b) internal {
        bytes4 sel = o.revertData.length >= 4 ? bytes4(o.revertData) : bytes4(0);
        bool expected = sel == VaultCore.CycleTooSoon.selector
            || (closeTradeArmed && sel == VaultCore.HedgeCloseFailed.selector);
        if (!expected) _violate("S5_unexpected_cycle_revert");
        CheckList memory list;
        list.s5Unchanged("", a, b);
        for (uint256 i; i < list.length; ++i) {
            if (!list.items[i].passed) _violate(list.items[i]);
        }
    }

    /// S10: the worst case so far must be within its bound.
    function _checkFairness() internal {
        CheckList memory list;
        SteadyState.s10Checks(list, s10);
        for (uint256 i = 1; i < list.length; ++i) {
            if (!list.items[i].passed && !_reported[i]) {
                _reported[i] = true;
                _violate(list.items[i]);
            }
        }
    }

    /// S7 directly, in any state: every holder's maxWithdraw covers its pro-rata share of the
    /// free USDT (shadow). Returns the first failing check, if any.
    function checkLiquidShares() external view returns (bool ok, Check memory failed) {
        Snapshot memory s = _measure();
        CheckList memory list;
        for (uint256 i; i < holders.length; ++i) {
            uint256 bal = vault.balanceOf(holders[i]);
            if (bal != 0) list.s7LiquidShare("", s, bal, vault.maxWithdraw(holders[i]));
        }
        for (uint256 i; i < list.length; ++i) {
            if (!list.items[i].passed) return (false, list.items[i]);
        }
        return (true, failed);
    }

    function _ghostStep(OracleReading memory seen, Snapshot memory b) internal {
        SteadyState.Ghost memory g = ghost;
        RiskMode before = g.mode;
        CheckList memory list;
        if (!list.ghostStep("", g, seen, b, cfg)) _violate("S4_ghost");
        if (b.mode == RiskMode.ONLY_UNWIND) unwindCycles++;
        if (before == RiskMode.ONLY_UNWIND && b.mode == RiskMode.NORMAL) recoveries++;
        ghost = g;
    }

    function _violate(string memory name) internal {
        if (bytes(firstViolation).length == 0) firstViolation = name;
        violations[_property(name)] += 1;
    }

    /// A failed check: counted under its property, the first one kept with its numbers.
    function _violate(Check memory c) internal {
        if (bytes(firstViolation).length == 0) {
            firstViolation = string.concat(
                c.name, " = ", vm.toString(c.observed), " (want ", c.relation, " ", vm.toString(c.bound), ")"
            );
        }
        violations[_property(c.name)] += 1;
    }

    /// "S1_nav_loss_beyond_bounty_wei" -> "S1", "S10_holder_value_loss_wei" -> "S10".
    function _property(string memory name) internal pure returns (string memory) {
        bytes memory b = bytes(name);
        uint256 n;
        while (n < b.length && b[n] != "_") n++;
        bytes memory p = new bytes(n);
        for (uint256 i; i < n; ++i) {
            p[i] = b[i];
        }
        return string(p);
    }

    function holderCount() external pure returns (uint256) {
        return 3;
    }

    function holder(uint256 i) external view returns (address) {
        return holders[i];
    }
}
