// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Check, ScenarioResult} from "../ScenarioTypes.sol";
import {World} from "../ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList} from "../SteadyState.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {OracleReading, RiskMode} from "../../../contracts/vault/VaultTypes.sol";
import {IERC20} from "../../../contracts/interfaces/IERC20.sol";

/// @title StressScenarios
/// @notice Repetition: many cycles with seeded changes of reserves, spot and time, every
/// steady-state check after every cycle, S4 followed by a ghost state machine.
contract StressScenarios is ScenarioBase {
    using SteadyState for CheckList;

    uint256 internal constant CYCLES = 60;
    bytes32 internal constant SEED = keccak256("chaos.repeated_cycle_stress");

    /// How the S4 ghost fared over the run.
    struct GhostStats {
        uint256 mismatches;
        uint256 unwindCycles;
        uint256 recoveries;
    }

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external override returns (ScenarioResult memory) {
        if (_is(id, "repeated_cycle_stress")) return _repeatedCycleStress();
        revert UnknownScenario(id);
    }

    /// 60 cycles; before each, seeded: a market move of up to +-2.5% (sometimes beyond the
    /// guard; the pool by a real swap, Aster's mark with it), a flash-pair drain or refill, a
    /// deposit or a withdrawal, and a gap of one to three intervals. Aster's keepers handle every
    /// trade the vault sends: in the cycle's block (executed at the mark, or refunded when the
    /// mark is past the trade's price) or, one time in three, only after the gap (refunded as
    /// too late). A trade Aster leaves pending beyond pendingHedgeTimeout is another fault:
    /// finding 1 (test/chaos/findings/VaultFindings.t.sol). After each: the common cycle checks (S1,
    /// S2, S3, S6, S9), S7 (maxWithdraw covers the liquid share), S8 (NORMAL cycles), S4 ghost.
    /// Failing checks are listed (tagged with the cycle), plus one summary per property and, for
    /// each bounded check, the cycle that came closest to its bound (how much room is left).
    function _repeatedCycleStress() internal returns (ScenarioResult memory) {
        _baseline(true);
        StressRun memory run;
        run.g = SteadyState.Ghost(vault.riskMode(), vault.healthyCycleCount());
        run.flashReserve = SteadyState.usdtReserve(w.flashPair, w.usdt);
        for (uint256 i; i < CYCLES; ++i) {
            _stressStep(run, i);
        }
        CheckList memory list;
        list.eq("cycles_run", int256(cycles), int256(CYCLES + 2));
        list.eq("failed_checks", int256(run.failures.length), 0);
        list.gt("checks_evaluated", int256(run.checked), int256(CYCLES * 10));
        list.eq("S4_ghost_mismatches", int256(run.stats.mismatches), 0);
        list.gt("S4_unwind_cycles_seen", int256(run.stats.unwindCycles), 0);
        list.gt("S4_recoveries_seen", int256(run.stats.recoveries), 0);
        for (uint256 k; k < run.failures.length; ++k) {
            list.push(run.failures.items[k]);
        }
        for (uint256 k; k < run.closest.length; ++k) {
            list.push(run.closest.items[k]);
        }
        return
            _result(
                "repeated_cycle_stress", "60 cycles with seeded spot, reserve, flow and time changes", list
            );
    }

    struct StressRun {
        SteadyState.Ghost g;
        GhostStats stats;
        uint256 checked;
        uint256 flashReserve;
        CheckList failures;
        /// Per base name, the passing `<=` check with the highest observed / bound.
        CheckList closest;
        string[] bases;
    }

    function _stressStep(StressRun memory run, uint256 i) internal {
        uint256 r = uint256(keccak256(abi.encode(SEED, i)));
        _disturb(r, run.flashReserve);
        OracleReading memory seen = vault.oracle().read();
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        CheckList memory step;
        string memory tag = string.concat("_c", vm.toString(i + 1));
        _checkCycle(step, tag, a, b, o);
        RiskMode before = run.g.mode;
        if (!step.ghostStep(tag, run.g, seen, b, cfg)) run.stats.mismatches++;
        if (b.mode == RiskMode.ONLY_UNWIND) run.stats.unwindCycles++;
        if (before == RiskMode.ONLY_UNWIND && b.mode == RiskMode.NORMAL) run.stats.recoveries++;
        if (b.mode == RiskMode.NORMAL && o.ok && !a.pending) step.s8Hedge(tag, b, cfg);
        _checkLiquidShare(step, tag, b);
        run.checked += step.length;
        for (uint256 k; k < step.length; ++k) {
            if (!step.items[k].passed) run.failures.push(step.items[k]);
            else _keepClosest(run, step.items[k], bytes(tag).length);
        }
        if ((r >> 80) % 3 != 0) _executePendingHedges();
        _advance(cfg.minCycleInterval * (1 + (r >> 200) % 3));
        // Whatever is still pending is handled now (too late: refunded).
        _executePendingHedges();
    }

    /// Keeps, per base name (the name without the cycle tag), the passing `<=` check with a
    /// positive bound whose observed / bound is highest.
    function _keepClosest(StressRun memory run, Check memory c, uint256 tagLength) internal pure {
        if (c.bound <= 0 || keccak256(bytes(c.relation)) != keccak256("<=")) return;
        bytes memory name = bytes(c.name);
        bytes memory base = new bytes(name.length - tagLength);
        for (uint256 k; k < base.length; ++k) {
            base[k] = name[k];
        }
        for (uint256 k; k < run.closest.length; ++k) {
            if (keccak256(bytes(run.bases[k])) != keccak256(base)) continue;
            Check memory old = run.closest.items[k];
            // c.observed / c.bound > old.observed / old.bound, both bounds positive.
            if (c.observed * old.bound > old.observed * c.bound) run.closest.items[k] = c;
            return;
        }
        string[] memory grown = new string[](run.closest.length + 1);
        for (uint256 k; k < run.closest.length; ++k) {
            grown[k] = run.bases[k];
        }
        grown[run.closest.length] = string(base);
        run.bases = grown;
        run.closest.push(c);
    }

    function _disturb(uint256 r, uint256 flashReserve) internal {
        // Spot: mostly small moves, one in eight beyond the guard.
        int256 move = int256((r & 0xffff) % 301) - 150;
        if ((r >> 16) % 8 == 0) move = move > 0 ? int256(250) + move : int256(-250) + move;
        _marketMove(move);
        // Flash pair: drained to 1-100% or refilled to its original reserve.
        uint256 f = (r >> 32) % 4;
        if (f == 0) _drainPair(w.flashPair, 100 + (r >> 40) % 9900);
        else if (f == 1) _refill(flashReserve);
        // Flows.
        uint256 flow = (r >> 56) % 5;
        if (flow == 0 && vault.maxDeposit(CAROL) != 0) _deposit(CAROL, 5000e18 + (r >> 64) % 20_000e18);
        if (flow == 1) {
            uint256 max = vault.maxWithdraw(BOB);
            if (max != 0) _withdraw(BOB, max / 2);
        }
    }

    function _refill(uint256 usdtReserve) internal {
        uint256 now_ = SteadyState.usdtReserve(w.flashPair, w.usdt);
        if (now_ == 0 || now_ >= usdtReserve) return;
        _drainPair(w.flashPair, usdtReserve * BPS / now_);
    }

    /// S7 in every state: maxWithdraw of each holder covers its pro-rata liquid share.
    function _checkLiquidShare(CheckList memory step, string memory tag, Snapshot memory b) internal view {
        address[3] memory holders = [ALICE, BOB, CAROL];
        for (uint256 h; h < 3; ++h) {
            uint256 bal = vault.balanceOf(holders[h]);
            if (bal == 0) continue;
            step.s7LiquidShare(tag, b, bal, vault.maxWithdraw(holders[h]));
        }
    }
}
