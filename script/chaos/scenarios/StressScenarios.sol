// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ScenarioResult} from "../ScenarioTypes.sol";
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

    /// The S4 ghost: what the risk mode must be, from the oracle reading the cycle sees.
    struct Ghost {
        RiskMode mode;
        uint256 healthy;
        uint256 mismatches;
        uint256 unwindCycles;
        uint256 recoveries;
    }

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function ids() external pure override returns (string[] memory list) {
        list = new string[](1);
        list[0] = "repeated_cycle_stress";
    }

    function run(string calldata id) external override returns (ScenarioResult memory) {
        if (_is(id, "repeated_cycle_stress")) return _repeatedCycleStress();
        revert UnknownScenario(id);
    }

    /// 60 cycles; before each, seeded: a spot move of up to +-2.5% (sometimes beyond the guard),
    /// a flash-pair drain or refill, a deposit or a withdrawal, a pending-trade execution on the
    /// replicas, and a gap of one to three intervals. After each: S1, S2, S3, S6 (as in every
    /// scenario), S7 (maxWithdraw covers the liquid share), S8 (NORMAL cycles), S4 ghost.
    /// Only failing checks are listed (tagged with the cycle), plus one summary per property.
    function _repeatedCycleStress() internal returns (ScenarioResult memory) {
        CheckList memory failures;
        _baseline(true);
        Ghost memory g = Ghost(vault.riskMode(), vault.healthyCycleCount(), 0, 0, 0);
        uint256 checked;
        uint256 flashReserve = SteadyState.usdtReserve(w.flashPair, w.usdt);
        for (uint256 i; i < CYCLES; ++i) {
            uint256 r = uint256(keccak256(abi.encode(SEED, i)));
            _disturb(r, flashReserve);
            OracleReading memory seen = vault.oracle().read();
            Snapshot memory a = SteadyState.measure(vault);
            CycleOutcome memory o = _cycle();
            Snapshot memory b = SteadyState.measure(vault);
            CheckList memory step;
            string memory tag = string.concat("_c", vm.toString(i + 1));
            _checkCycle(step, tag, a, b, o);
            _ghostStep(step, tag, g, seen, b);
            if (b.mode == RiskMode.NORMAL && o.ok && !a.pending) step.s8Hedge(tag, b, cfg);
            _checkLiquidShare(step, tag, b);
            checked += step.length;
            for (uint256 k; k < step.length; ++k) {
                if (!step.items[k].passed) failures.push(step.items[k]);
            }
            _advance(cfg.minCycleInterval * (1 + (r >> 200) % 3));
        }
        CheckList memory list;
        list.eq("cycles_run", int256(cycles), int256(CYCLES + 2));
        list.eq("failed_checks", int256(failures.length), 0);
        list.gt("checks_evaluated", int256(checked), int256(CYCLES * 10));
        list.eq("S4_ghost_mismatches", int256(g.mismatches), 0);
        list.gt("S4_unwind_cycles_seen", int256(g.unwindCycles), 0);
        list.gt("S4_recoveries_seen", int256(g.recoveries), 0);
        for (uint256 k; k < failures.length; ++k) {
            list.push(failures.items[k]);
        }
        return
            _result(
                "repeated_cycle_stress", "60 cycles with seeded spot, reserve, flow and time changes", list
            );
    }

    function _disturb(uint256 r, uint256 flashReserve) internal {
        // Spot: mostly small moves, one in eight beyond the guard.
        int256 move = int256((r & 0xffff) % 301) - 150;
        if ((r >> 16) % 8 == 0) move = move > 0 ? int256(250) + move : int256(-250) + move;
        _moveSpot(move);
        // Flash pair: drained to 1-100% or refilled to its original reserve.
        uint256 f = (r >> 32) % 4;
        if (f == 0) _drainPair(w.flashPair, 100 + (r >> 40) % 9900);
        else if (f == 1) _refill(flashReserve);
        // Flows.
        uint256 flow = (r >> 56) % 5;
        if (flow == 0 && vault.maxDeposit(CAROL) != 0) _deposit(CAROL, 5000e18 + (r >> 64) % 20_000e18);
        if (flow == 1) {
            uint256 max = vault.maxWithdraw(BOB);
            if (max != 0) {
                vm.prank(BOB);
                vault.withdraw(max / 2, BOB, BOB);
            }
        }
        if ((r >> 80) % 3 == 0) _executePendingHedges();
    }

    function _refill(uint256 usdtReserve) internal {
        uint256 now_ = SteadyState.usdtReserve(w.flashPair, w.usdt);
        if (now_ == 0 || now_ >= usdtReserve) return;
        _drainPair(w.flashPair, usdtReserve * BPS / now_);
    }

    /// S4 ghost: an unready, stale or diverged oracle reading must make the cycle unhealthy
    /// (count 0, ONLY_UNWIND); a healthy cycle adds one, and ONLY_UNWIND ends exactly when the
    /// count reaches safeCycleThreshold. An unhealthy cycle without an oracle reason must be the
    /// NAV-drop guard: the share price fell by more than maxNavDropBps.
    function _ghostStep(
        CheckList memory step,
        string memory tag,
        Ghost memory g,
        OracleReading memory seen,
        Snapshot memory b
    ) internal view {
        bool oracleBad =
            !seen.ready || seen.stale || seen.deviationBps > cfg.maxDeviationBps;
        RiskMode expectMode;
        uint256 expectCount;
        if (oracleBad || b.healthyCount == 0) {
            expectMode = RiskMode.ONLY_UNWIND;
            expectCount = 0;
        } else {
            expectCount = g.healthy + 1;
            expectMode = g.mode == RiskMode.ONLY_UNWIND && expectCount < cfg.safeCycleThreshold
                ? RiskMode.ONLY_UNWIND
                : RiskMode.NORMAL;
        }
        bool ok = b.mode == expectMode && b.healthyCount == expectCount;
        if (!ok) g.mismatches++;
        step.isTrue(string.concat("S4_ghost", tag), ok);
        if (b.mode == RiskMode.ONLY_UNWIND) g.unwindCycles++;
        if (g.mode == RiskMode.ONLY_UNWIND && b.mode == RiskMode.NORMAL) g.recoveries++;
        g.mode = b.mode;
        g.healthy = b.healthyCount;
    }

    /// S7 in every state: maxWithdraw of each holder covers its pro-rata liquid share.
    function _checkLiquidShare(CheckList memory step, string memory tag, Snapshot memory b) internal view {
        address[3] memory holders = [ALICE, BOB, CAROL];
        for (uint256 h; h < 3; ++h) {
            uint256 bal = vault.balanceOf(holders[h]);
            if (bal == 0) continue;
            uint256 liquid = b.legs.buffer * bal / b.totalSupply;
            uint256 value = vault.convertToAssets(bal);
            uint256 expected = liquid < value ? liquid : value;
            step.ge(
                string.concat("S7_max_withdraw_vs_liquid_share_wei", tag),
                int256(vault.maxWithdraw(holders[h])) + 1,
                int256(expected)
            );
        }
    }
}
