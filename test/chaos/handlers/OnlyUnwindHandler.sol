// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ScenarioResult} from "../../../script/chaos/ScenarioTypes.sol";
import {World} from "../../../script/chaos/ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../../../script/chaos/ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList} from "../../../script/chaos/SteadyState.sol";
import {FaultInjection} from "../../../script/chaos/FaultProxy.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {OracleReading, RiskMode} from "../../../contracts/vault/VaultTypes.sol";
import {IAsterDiamond} from "../../../contracts/interfaces/IAster.sol";

/// @title OnlyUnwindHandler
/// @notice The actions of the stateful ONLY_UNWIND campaign: deposit, withdraw, cycle, push and
/// restore the price, drain and restore flash liquidity, arm and disarm Aster faults, warp time.
/// Every cycle is measured before and after; each steady-state property counts its violations
/// (the invariants assert the counts stay 0) and keeps the first failing check for the report.
/// S4 is a ghost state machine: the risk mode and healthy count the hypothesis predicts from
/// the oracle reading the cycle sees.
contract OnlyUnwindHandler is ScenarioBase {
    using SteadyState for CheckList;

    struct Ghost {
        RiskMode mode;
        uint256 healthy;
    }

    Ghost public ghost;
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

    function ids() external pure override returns (string[] memory) {}

    function run(string calldata id) external pure override returns (ScenarioResult memory) {
        revert UnknownScenario(id);
    }

    /// @notice The baseline every run starts from (NORMAL, invested, hedged).
    function init() external {
        fairPrice = _spot();
        flashUsdtReserve = SteadyState.usdtReserve(w.flashPair, w.usdt);
        _baseline(true);
        ghost = Ghost(vault.riskMode(), vault.healthyCycleCount());
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
            if (ok || !exact) _violate("S4_deposit_in_only_unwind");
        }
    }

    /// Takes `frac`/256 of the holder's maxWithdraw; the full maxWithdraw must always pay (S7).
    function withdraw(uint256 who, uint256 frac) external {
        address h = holders[who % 3];
        uint256 max = vault.maxWithdraw(h);
        if (max == 0) return;
        uint256 amount = frac % 4 == 0 ? max : max * (1 + frac % 256) / 256;
        uint256 before = vault.usdt().balanceOf(h);
        vm.prank(h);
        try vault.withdraw(amount, h, h) {
            if (vault.usdt().balanceOf(h) - before != amount) _violate("S7_withdraw_paid_less");
        } catch {
            _violate("S7_withdraw_within_max_reverted");
        }
    }

    /// A keeper cycle once the interval allows it, `delay` seconds late (up to 20 minutes).
    function cycle(uint256 delay) external {
        _advance(cfg.minCycleInterval + delay % 20 minutes);
        _measuredCycle();
    }

    /// A cycle in the same block as the previous action (usually too soon: must change nothing).
    function cycleNow() external {
        _measuredCycle();
    }

    function _measuredCycle() internal {
        OracleReading memory seen = vault.oracle().read();
        Snapshot memory a = SteadyState.measure(vault);
        CycleOutcome memory o = _cycle();
        Snapshot memory b = SteadyState.measure(vault);
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
            if (!list.items[i].passed) _violate(list.items[i].name);
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

    function _followMark() internal {
        if (!w.isReplica) return;
        bytes memory call =
            abi.encodeWithSignature("setMarkPrice(address,uint64)", w.btcb, uint64(_spot() / 1e10));
        vm.prank(w.asterKeeper);
        (bool ok,) = w.aster.call(call);
        ok;
    }

    /// Back to the fair price; with `settle`, quiet for a TWAP window (the oracle catches up, so
    /// the next cycles are healthy and recovery can start).
    function restorePrice(bool settle) external {
        _setSpot(fairPrice);
        _followMark();
        if (settle) _advance(cfg.twapWindow);
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
        _advance(1 + secs % 2 days);
    }

    // ------------------------------------------------------------------------------ checks

    /// S5: a cycle reverts only as too soon, or as a typed hedge-close failure while closeTrade
    /// is failing; either way it changes nothing.
    function _checkRevert(CycleOutcome memory o, Snapshot memory a, Snapshot memory b) internal {
        bytes4 sel = o.revertData.length >= 4 ? bytes4(o.revertData) : bytes4(0);
        bool expected = sel == VaultCore.CycleTooSoon.selector
            || (closeTradeArmed && sel == VaultCore.HedgeCloseFailed.selector);
        if (!expected) _violate("S5_unexpected_cycle_revert");
        if (a.digest != b.digest || a.vaultUsdt != b.vaultUsdt || a.vaultLp != b.vaultLp) {
            _violate("S5_reverted_cycle_changed_state");
        }
    }

    function _ghostStep(OracleReading memory seen, Snapshot memory b) internal {
        bool oracleBad = !seen.ready || seen.stale || seen.deviationBps > cfg.maxDeviationBps;
        Ghost memory g = ghost;
        RiskMode expectMode;
        uint256 expectCount;
        // An unhealthy cycle without an oracle reason is the NAV-drop guard (count 0 as well).
        if (oracleBad || b.healthyCount == 0) {
            expectMode = RiskMode.ONLY_UNWIND;
        } else {
            expectCount = g.healthy + 1;
            expectMode = g.mode == RiskMode.ONLY_UNWIND && expectCount < cfg.safeCycleThreshold
                ? RiskMode.ONLY_UNWIND
                : RiskMode.NORMAL;
        }
        if (b.mode != expectMode || b.healthyCount != expectCount) _violate("S4_ghost_mismatch");
        if (b.mode == RiskMode.ONLY_UNWIND) unwindCycles++;
        if (g.mode == RiskMode.ONLY_UNWIND && b.mode == RiskMode.NORMAL) recoveries++;
        ghost = Ghost(b.mode, b.healthyCount);
    }

    function _violate(string memory name) internal {
        if (bytes(firstViolation).length == 0) firstViolation = name;
        violations[_property(name)] += 1;
    }

    /// "S1_nav_loss_wei" -> "S1".
    function _property(string memory name) internal pure returns (string memory) {
        bytes memory b = bytes(name);
        if (b.length < 2) return name;
        bytes memory p = new bytes(2);
        p[0] = b[0];
        p[1] = b[1];
        return string(p);
    }

    function holderCount() external pure returns (uint256) {
        return 3;
    }

    function holder(uint256 i) external view returns (address) {
        return holders[i];
    }
}
