// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ScenarioResult} from "../ScenarioTypes.sol";
import {World} from "../ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList} from "../SteadyState.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {OracleReading, RiskMode} from "../../../contracts/vault/VaultTypes.sol";
import {IAsterDiamond} from "../../../contracts/interfaces/IAster.sol";

/// @title OracleScenarios
/// @notice Oracle and time faults: spot pushed beyond the guard, its recovery (and relapse),
/// cycles called late, and several blocks sharing one timestamp.
contract OracleScenarios is ScenarioBase {
    using SteadyState for CheckList;

    /// Spot is pushed by three times the guard (maxDeviationBps) so the guard binds clearly.
    uint256 internal constant PUSH_FACTOR = 3;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external override returns (ScenarioResult memory) {
        if (_is(id, "oracle_divergence")) return _oracleDivergence();
        if (_is(id, "oracle_recovery")) return _oracleRecovery();
        if (_is(id, "call_delay")) return _callDelay();
        if (_is(id, "same_timestamp_blocks")) return _sameTimestampBlocks();
        revert UnknownScenario(id);
    }

    function _pushBps() internal view returns (int256) {
        return int256(uint256(cfg.maxDeviationBps) * PUSH_FACTOR);
    }

    // ---------------------------------------------------------------- oracle_divergence

    /// Spot pushed 3x the guard by a real swap -> ONLY_UNWIND at once, deposits revert with
    /// DepositsPaused(), the liquid share is still withdrawable, no value lost (S4, S7, S1).
    function _oracleDivergence() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        uint256 baseline = vm.snapshotState();
        list.s4Mode("_baseline", _measure(), RiskMode.NORMAL);
        _moveSpot(_pushBps());
        Snapshot memory a = _measure();
        OracleReading memory r = vault.oracle().read();
        // The fault really is beyond the guard (the guard binds).
        list.gt("fault_deviation_bps", int256(r.deviationBps), int256(uint256(cfg.maxDeviationBps)));
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, "", a, b, o);
        list.s4Mode("", b, RiskMode.ONLY_UNWIND);
        list.eq("S4_healthy_count", int256(b.healthyCount), 0);
        _checkDepositsPaused(list, "");
        _checkExit(list, ALICE, "");
        // Still diverged one interval later: the mode holds, deposits stay paused.
        _advance(cfg.minCycleInterval);
        o = _cycle();
        list.isTrue("cycle_succeeded_2", o.ok);
        list.s4Mode("_2", _measure(), RiskMode.ONLY_UNWIND);
        _checkDepositsPaused(list, "_2");
        vm.revertToState(baseline);
        _unwindSmallShort(list);
        return _result("oracle_divergence", "LP pair spot pushed 3x maxDeviationBps by a real swap", list);
    }

    /// From the same baseline, Carol's deposit grows the NAV until the executed short is inside
    /// the delta band (its notional below deltaBandBps of NAV), then the same push: the unwind
    /// must still close every short, since nothing is left to hedge (Aster's own book of the
    /// vault's positions is empty after the cycle). A vault that closes only what exceeds the
    /// band leaves a naked short behind.
    function _unwindSmallShort(CheckList memory list) internal {
        string memory tag = "_short_inside_band";
        (uint256 shorts, uint256 qty) = _asterShorts();
        if (!w.isReplica && shorts == 0) {
            // Real Aster's keepers never execute the vault's trade on a fork: nothing to close.
            list.eq(string.concat("precondition_skipped_no_executed_short_on_fork", tag), 0, 0);
            return;
        }
        list.ge(string.concat("precondition_executed_shorts", tag), int256(shorts), 1);
        Snapshot memory s = _measure();
        // qty (10 decimals) x mark (8 decimals) = notional in USDT wei.
        uint256 notional = qty * (s.shadow.mark / 1e10);
        uint256 navNeeded = notional * BPS / cfg.deltaBandBps * 3 / 2;
        if (navNeeded > s.shadow.nav) {
            _fund(CAROL, navNeeded - s.shadow.nav);
            _deposit(CAROL, navNeeded - s.shadow.nav);
        }
        _moveSpot(_pushBps());
        Snapshot memory a = _measure();
        list.lt(
            string.concat("precondition_short_notional_vs_band_wei", tag),
            int256(notional),
            int256(a.shadow.nav * cfg.deltaBandBps / BPS)
        );
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, tag, a, b, o);
        list.s4Mode(tag, b, RiskMode.ONLY_UNWIND);
        (shorts, qty) = _asterShorts();
        list.eq(string.concat("S5_open_shorts_after_unwind", tag), int256(shorts), 0);
        list.eq(string.concat("S5_short_qty_after_unwind", tag), int256(qty), 0);
    }

    /// The vault's short positions on Aster (its own book) and their total qty.
    function _asterShorts() internal view returns (uint256 n, uint256 qty) {
        IAsterDiamond.Position[] memory ps = IAsterDiamond(w.aster).getPositionsV2(address(vault), w.btcb);
        for (uint256 i; i < ps.length; ++i) {
            if (ps[i].isLong) continue;
            n++;
            qty += ps[i].qty;
        }
    }

    // ---------------------------------------------------------------- oracle_recovery

    /// After a divergence the price comes back: NORMAL again exactly at the
    /// safeCycleThreshold-th healthy cycle, not one earlier; a relapse before that resets the
    /// count and the full threshold is needed again (S4).
    function _oracleRecovery() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        uint256 base = _spot();
        _moveSpot(_pushBps());
        CycleOutcome memory o = _cycle();
        list.s4Mode("_diverged", _measure(), RiskMode.ONLY_UNWIND);
        _setSpot(base);
        // A whole TWAP window at the restored price: the next cycle sees a healthy oracle.
        _advance(cfg.twapWindow + cfg.minCycleInterval);
        uint256 threshold = cfg.safeCycleThreshold;
        uint256 relapseSnap;
        uint256 exitAt;
        for (uint256 k = 1; k <= threshold + 1; ++k) {
            if (k == threshold) relapseSnap = vm.snapshotState();
            o = _cycle();
            Snapshot memory s = _measure();
            string memory tag = string.concat("_healthy_", vm.toString(k));
            list.isTrue(string.concat("cycle_succeeded", tag), o.ok);
            list.eq(string.concat("S4_healthy_count", tag), int256(s.healthyCount), int256(k));
            if (exitAt == 0 && s.mode == RiskMode.NORMAL) exitAt = k;
            _advance(cfg.minCycleInterval);
        }
        list.eq("S4_exit_after_healthy_cycles", int256(exitAt), int256(threshold));
        _checkDepositsReopen(list);

        // Relapse after threshold - 1 healthy cycles: the count resets and exit needs the full
        // threshold again.
        vm.revertToState(relapseSnap);
        _moveSpot(_pushBps());
        o = _cycle();
        Snapshot memory rel = _measure();
        list.isTrue("cycle_succeeded_relapse", o.ok);
        list.eq("S4_healthy_count_relapse", int256(rel.healthyCount), 0);
        list.s4Mode("_relapse", rel, RiskMode.ONLY_UNWIND);
        _setSpot(base);
        _advance(cfg.twapWindow + cfg.minCycleInterval);
        exitAt = 0;
        for (uint256 k = 1; k <= threshold; ++k) {
            o = _cycle();
            if (exitAt == 0 && vault.riskMode() == RiskMode.NORMAL) exitAt = k;
            _advance(cfg.minCycleInterval);
        }
        list.eq("S4_exit_after_relapse_healthy_cycles", int256(exitAt), int256(threshold));
        return
            _result(
                "oracle_recovery", "spot pushed beyond the guard, restored, pushed again before exit", list
            );
    }

    function _checkDepositsReopen(CheckList memory list) internal {
        (bool ok,) = _tryDeposit(CAROL, 1000e18);
        list.isTrue("S4_deposit_after_exit_succeeded", ok);
    }

    // ---------------------------------------------------------------- call_delay

    /// No cycle for an hour, a day, a week: the first cycle after the gap succeeds, is held to
    /// the common checks (measured from the end of the gap, so S1 and S6 judge the cycle, not
    /// the hour), and the mode is right: NORMAL while the TWAP is fresh, ONLY_UNWIND (with
    /// deposits paused) once its window start is older than maxTwapAge (S1, S4, S6, S9).
    function _callDelay() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        uint256[3] memory gaps = [uint256(1 hours), 1 days, 7 days];
        string[3] memory names = ["_1h", "_1d", "_7d"];
        for (uint256 i; i < 3; ++i) {
            uint256 snap = vm.snapshotState();
            _advance(gaps[i]);
            Snapshot memory a = _measure();
            CycleOutcome memory o = _cycle();
            Snapshot memory b = _measure();
            _checkCycle(list, names[i], a, b, o);
            bool stale = gaps[i] > cfg.maxTwapAge;
            list.s4Mode(names[i], b, stale ? RiskMode.ONLY_UNWIND : RiskMode.NORMAL);
            if (stale) _checkDepositsPaused(list, names[i]);
            _checkExit(list, ALICE, names[i]);
            vm.revertToState(snap);
        }
        return _result("call_delay", "no cycle for 1 hour, 1 day, 1 week", list);
    }

    // ---------------------------------------------------------------- same_timestamp_blocks

    /// Five blocks share one timestamp (BSC at 0.45 s blocks), with swaps in between: the first
    /// cycle works, the others revert with exactly CycleTooSoon(next) (no panic, no division by
    /// zero), the views keep answering, and there is no false ONLY_UNWIND.
    function _sameTimestampBlocks() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        for (uint256 round; round < 2; ++round) {
            string memory tag = round == 0 ? "_t0" : "_t1";
            Snapshot memory a = _measure();
            CycleOutcome memory o = _cycle();
            Snapshot memory b = _measure();
            _checkCycle(list, tag, a, b, o);
            list.s4Mode(tag, b, RiskMode.NORMAL);
            uint256 next = block.timestamp + cfg.minCycleInterval;
            uint256 wrongReverts;
            for (uint256 blk; blk < 4; ++blk) {
                vm.roll(block.number + 1); // same timestamp
                _moveSpot(blk % 2 == 0 ? int256(30) : int256(-30));
                o = _cycle();
                if (
                    o.ok
                        || keccak256(o.revertData)
                            != keccak256(abi.encodeWithSelector(VaultCore.CycleTooSoon.selector, next))
                ) wrongReverts++;
                // Views answer in a block that shares the timestamp of the last observation.
                try vault.oracle().read() returns (OracleReading memory) {}
                catch {
                    wrongReverts++;
                }
                try vault.nav() returns (uint256) {}
                catch {
                    wrongReverts++;
                }
            }
            list.eq(string.concat("same_ts_cycles_not_CycleTooSoon", tag), int256(wrongReverts), 0);
            (bool ok,) = _tryDeposit(CAROL, 1000e18);
            list.isTrue(string.concat("S4_deposit_same_ts_succeeded", tag), ok);
            list.s4Mode(string.concat(tag, "_after"), _measure(), RiskMode.NORMAL);
            _warpTo(next, 1);
        }
        return _result("same_timestamp_blocks", "5 blocks per timestamp with swaps between them", list);
    }
}
