// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ScenarioResult} from "../ScenarioTypes.sol";
import {World} from "../ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList, Activity, CycleInput} from "../SteadyState.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {
    CyclePath,
    Legs,
    OracleReading,
    Regime,
    RiskMode,
    Weights
} from "../../../contracts/vault/VaultTypes.sol";
import {IERC20} from "../../../contracts/interfaces/IERC20.sol";

/// @title BlockScenarios
/// @notice What a cycle must not do: pay or change anything when there is nothing to do
/// (`idle_cycle`, with the rebalance threshold driven to both sides), and let anyone extract
/// value or move the share price by pushing the pool's spot inside one block
/// (`same_block_manipulation`).
contract BlockScenarios is ScenarioBase {
    using SteadyState for CheckList;

    /// How far from the rebalance threshold the two sides of `idle_cycle` put the drift.
    uint256 internal constant THRESHOLD_MARGIN_BPS = 50;
    /// The attacker's deposit inside the manipulated block (a quarter of the baseline NAV).
    uint256 internal constant ATTACK_DEPOSIT = 30_000e18;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external override returns (ScenarioResult memory) {
        if (_is(id, "idle_cycle")) return _idleCycle();
        if (_is(id, "same_block_manipulation")) return _sameBlockManipulation();
        revert UnknownScenario(id);
    }

    /// The baseline, then quiet cycles (every trade executed, the price steady) until the vault
    /// has settled: two cycles in a row with no operation on any dependency (the volatility
    /// regime, read from the vault's own observations, may change once enough of them exist,
    /// and with it the weights), at most eight tries.
    function _settle(CheckList memory list) internal {
        _baseline(true);
        uint256 idleInARow;
        for (uint256 i; i < 8 && idleInARow < 2; ++i) {
            _advance(cfg.minCycleInterval);
            Snapshot memory a = _measure();
            CycleOutcome memory o = _mustCycle();
            Activity memory act = SteadyState.activity(deps, address(vault), o.logs, a, _measure(), cfg);
            idleInARow = act.ops == 0 ? idleInARow + 1 : 0;
            _executePendingHedges();
        }
        list.isTrue("precondition_settled", idleInARow == 2);
        _advance(cfg.minCycleInterval);
    }

    // ---------------------------------------------------------------- idle_cycle

    /// A settled vault, the price steady, and a cycle with nothing to do: no operation on any
    /// dependency, no bounty (the keeper's USDT balance does not move), no token balance of the
    /// vault and no short on Aster changes, only the cycle's timestamp. Then the rebalance
    /// threshold from both sides: a deposit that leaves the largest drift from the regime's
    /// weights 50 bps inside rebalanceThresholdBps (still nothing to do), and one 50 bps beyond
    /// it (the cycle rebalances). The common cycle checks hold in all three.
    function _idleCycle() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _settle(list);
        uint256 snap = vm.snapshotState();
        _idleCase(list, "", 0);
        vm.revertToState(snap);
        int256 inside = int256(uint256(cfg.rebalanceThresholdBps)) - int256(THRESHOLD_MARGIN_BPS);
        _deposit(CAROL, _depositForDrift(uint256(inside)));
        list.le("precondition_drift_bps_inside", int256(_driftBps()), inside);
        _idleCase(list, "_inside", 0);
        vm.revertToState(snap);
        uint256 beyond = uint256(cfg.rebalanceThresholdBps) + THRESHOLD_MARGIN_BPS;
        uint256 work = _depositForDrift(beyond);
        uint256 nav = _measure().shadow.nav;
        _deposit(CAROL, work);
        list.ge("precondition_drift_bps_beyond", int256(_driftBps()), int256(beyond));
        _idleCase(list, "_beyond", 1);
        vm.revertToState(snap);
        // Where a rebalance lands when the hedge must follow: the vault's NAV doubled.
        _deposit(CAROL, nav);
        _idleCase(list, "_land", 2);
        vm.revertToState(snap);
        _claimsWaitCase(list, nav);
        vm.revertToState(snap);
        _profitShare(list, work);
        return _result(
            "idle_cycle",
            "nothing to do: a settled vault and a steady price; the rebalance threshold from both sides; "
            "where a rebalance lands; the bounty's profit share from both sides",
            list
        );
    }

    /// The bounty's profit share driven to bind, from both sides. First the TWAP is let go flat
    /// (one TWAP window with the price steady, then one more idle cycle, after which the shadow
    /// share price is taken: the vault records its own at that cycle), so that the vault's and
    /// the shadow's measures of the gain differ by rounding only. Then the `_beyond` working
    /// cycle runs once to measure what it costs the holders (the shadow share price before its
    /// bounty against the recorded one), and from the same state twice more after a donation of
    /// that cost plus a gain whose profitBountyBps share is a quarter of the gas refund
    /// (`_profit_inside`: refund + share stays below the 1.5 x gas cap, the profit share is the
    /// binding term) or twice it (`_profit_beyond`: the gas cap binds).
    function _profitShare(CheckList memory list, uint256 work) internal {
        Snapshot memory settled = _flatIdleCycle(list);
        _advance(cfg.minCycleInterval);
        uint256 snap = vm.snapshotState();
        uint256 cost = _dryCost(settled, work);
        uint256 refund = SteadyState.gasRefund(
            cfg, tx.gasprice, SteadyState.trustedBnbUsd(deps.bnbUsdFeed, cfg.maxOracleAge)
        );
        list.gt("precondition_gas_refund_wei", int256(refund), 0);
        uint256 pb = cfg.profitBountyBps == 0 ? 1 : cfg.profitBountyBps;
        vm.revertToState(snap);
        _profitCase(list, "_profit_inside", settled, work, cost + refund * BPS / (4 * pb), true);
        vm.revertToState(snap);
        _profitCase(list, "_profit_beyond", settled, work, cost + refund * 2 * BPS / pb, false);
    }

    /// One TWAP window with the price steady, then an idle cycle; the state right after it.
    function _flatIdleCycle(CheckList memory list) internal returns (Snapshot memory settled) {
        _advance(cfg.twapWindow);
        Snapshot memory a = _measure();
        CycleOutcome memory o = _mustCycle();
        settled = _measure();
        Activity memory act = SteadyState.activity(deps, address(vault), o.logs, a, settled, cfg);
        list.eq("precondition_idle_before_profit", int256(act.ops), 0);
    }

    /// What the working cycle costs the holders: the shadow share price after it, before its
    /// bounty, against the one after `settled`'s cycle (the vault's last recorded share price).
    function _dryCost(Snapshot memory settled, uint256 work) internal returns (uint256) {
        _deposit(CAROL, work);
        CycleOutcome memory dry = _mustCycle();
        Snapshot memory b = _measure();
        uint256 spPrev = SteadyState.shadowSharePrice(settled);
        uint256 spNow =
            SteadyState._mulDiv(1e24, b.shadow.nav + dry.bounty, b.totalSupply + SteadyState.SHARE_OFFSET);
        return spNow < spPrev ? SteadyState._mulDiv(spPrev - spNow, b.totalSupply, 1e24) + 1 : 0;
    }

    function _profitCase(
        CheckList memory list,
        string memory tag,
        Snapshot memory settled,
        uint256 work,
        uint256 donation,
        bool inside
    ) internal {
        _deposit(CAROL, work);
        _fund(ALICE, donation);
        _donate(ALICE, donation);
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        SteadyState.cycleChecks(
            list,
            tag,
            deps,
            address(vault),
            cfg,
            a,
            b,
            CycleInput(o.ok, o.bounty, o.keeperGain, o.logs, tx.gasprice)
        );
        _profitChecks(list, tag, settled, o.bounty, b, inside);
    }

    function _profitChecks(
        CheckList memory list,
        string memory tag,
        Snapshot memory settled,
        uint256 bounty,
        Snapshot memory b,
        bool inside
    ) internal view {
        uint256 bnb = SteadyState.trustedBnbUsd(deps.bnbUsdFeed, cfg.maxOracleAge);
        SteadyState.ProfitShare memory p = SteadyState.s2ProfitShare(
            list,
            tag,
            cfg,
            bounty,
            tx.gasprice,
            bnb,
            SteadyState.shadowSharePrice(settled),
            settled.shadow.tolerance,
            b
        );
        // The side this case is on: the share is well above the slack, and refund + share is
        // below the gas cap (inside: the profit share binds) or above it (beyond).
        list.gt(
            string.concat("precondition_profit_share_vs_slack_wei", tag), int256(p.share), int256(4 * p.slack)
        );
        uint256 capAt = SteadyState.gasCap(cfg, tx.gasprice, bnb);
        if (inside) {
            list.lt(
                string.concat("precondition_profit_share_binds_wei", tag),
                int256(p.refund + p.share),
                int256(capAt)
            );
        } else {
            list.gt(
                string.concat("precondition_gas_cap_binds_wei", tag),
                int256(p.refund + p.share),
                int256(capAt)
            );
        }
    }

    /// One cycle; `work` 0: it must do nothing; 1: it must do something (the threshold bound)
    /// and land on the regime's weights; 2: the same, and the hedge must follow with the margin
    /// hedgeLeverage calls for.
    function _idleCase(CheckList memory list, string memory tag, uint256 work) internal {
        Snapshot memory a = _measure();
        uint256 qtyBefore = a.shadow.hedgeQty + a.shadow.pendingQty;
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        Activity memory act = SteadyState.cycleChecks(
            list,
            tag,
            deps,
            address(vault),
            cfg,
            a,
            b,
            CycleInput(o.ok, o.bounty, o.keeperGain, o.logs, tx.gasprice)
        );
        if (work != 0) {
            list.gt(string.concat("rebalance_operations", tag), int256(act.ops), 0);
            _landing(list, tag, work, a, b, o, act);
            return;
        }
        list.eq(string.concat("idle_operations", tag), int256(act.ops), 0);
        // A cycle that did nothing says so: the path it returns and records is IDLE.
        list.eq(string.concat("idle_path", tag), int256(uint256(o.path)), int256(uint256(CyclePath.IDLE)));
        list.eq(
            string.concat("idle_recorded_path", tag),
            int256(uint256(vault.lastCycle().path)),
            int256(uint256(CyclePath.IDLE))
        );
        list.eq(string.concat("S2_idle_bounty_wei", tag), int256(o.keeperGain), 0);
        list.eq(string.concat("idle_vault_usdt_change_wei", tag), _diff(b.vaultUsdt, a.vaultUsdt), 0);
        list.eq(string.concat("idle_vault_btcb_change_wei", tag), _diff(b.vaultBtcb, a.vaultBtcb), 0);
        list.eq(string.concat("idle_vault_lp_change_wei", tag), _diff(b.vaultLp, a.vaultLp), 0);
        list.eq(string.concat("idle_vault_alp_change_wei", tag), _diff(b.vaultAlp, a.vaultAlp), 0);
        list.eq(
            string.concat("idle_short_qty_change", tag),
            _diff(b.shadow.hedgeQty + b.shadow.pendingQty, qtyBefore),
            0
        );
        list.eq(string.concat("idle_total_supply_change", tag), _diff(b.totalSupply, a.totalSupply), 0);
        list.eq(
            string.concat("idle_last_cycle_timestamp", tag),
            int256(uint256(vault.lastCycle().timestamp)),
            int256(block.timestamp)
        );
    }

    /// Where the rebalance landed (SteadyState.landingChecks) and, when the hedge must follow
    /// (`work` 2), the margin of the short it sent.
    function _landing(
        CheckList memory list,
        string memory tag,
        uint256 work,
        Snapshot memory a,
        Snapshot memory b,
        CycleOutcome memory o,
        Activity memory act
    ) internal view {
        list.eq(string.concat("precondition_normal_mode", tag), int256(uint256(b.mode)), 0);
        SteadyState.landingChecks(list, tag, cfg, _weightsOf(vault.lastCycle().regime), a, b, act, o.bounty);
        uint256 sent = SteadyState.hedgeLeverageChecks(list, tag, deps, address(vault), o.logs, a, cfg);
        if (work == 2) {
            list.eq(string.concat("precondition_hedge_sent", tag), int256(sent), 1);
            // The other side of `_queued`: with no claim waiting, the same deposit mints ALP.
            list.gt(string.concat("precondition_alp_minted", tag), int256(act.alpMinted), 0);
        }
    }

    /// The withdrawal queue's mint guard (`_queued`): Alice queues a quarter of her shares, so
    /// her claim is owed ALP units that only a burn after Aster's cooldown can fund; then the
    /// deposit of `_land` leaves the ALP leg far below its weight and the cycle rebalances in
    /// NORMAL mode. It must mint no ALP while the claim waits (a mint restarts Aster's cooldown for
    /// the whole vault and pushes every waiting claim back): the ALP token's own Transfer events
    /// from nowhere to the vault. `_land`, the same deposit with no claim waiting, mints
    /// (`precondition_alp_minted_land`).
    function _claimsWaitCase(CheckList memory list, uint256 deposit) internal {
        string memory tag = "_queued";
        (, uint256 claimId) = _requestRedeem(ALICE, vault.balanceOf(ALICE) / 4);
        _deposit(CAROL, deposit);
        Snapshot memory a = _measure();
        list.gt(
            string.concat("precondition_claim_owed_alp", tag), int256(uint256(vault.claims(claimId).alp)), 0
        );
        // Without the guard the vault would mint: its free ALP (the shadow's, at Aster's price)
        // is below the weight by more than the quarter threshold it leaves alone.
        Weights memory wt = _weights();
        uint256 minAct = a.shadow.nav * cfg.rebalanceThresholdBps / (4 * BPS);
        list.lt(
            string.concat("precondition_alp_below_weight_wei", tag),
            int256(a.shadow.alpValue + minAct),
            int256(a.shadow.nav * wt.alpBps / BPS)
        );
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        Activity memory act = SteadyState.cycleChecks(
            list,
            tag,
            deps,
            address(vault),
            cfg,
            a,
            b,
            CycleInput(o.ok, o.bounty, o.keeperGain, o.logs, tx.gasprice)
        );
        list.eq(string.concat("precondition_normal_mode", tag), int256(uint256(b.mode)), 0);
        list.gt(string.concat("rebalance_operations", tag), int256(act.ops), 0);
        list.eq(string.concat("S7_alp_minted_while_claims_wait", tag), int256(act.alpMinted), 0);
    }

    function _weightsOf(Regime r) internal view returns (Weights memory) {
        return r == Regime.CALM ? cfg.calm : (r == Regime.STORM ? cfg.storm : cfg.normal);
    }

    function _diff(uint256 x, uint256 y) internal pure returns (int256) {
        return int256(x) - int256(y);
    }

    /// The largest drift of the vault's legs from the current regime's weights, in bps of NAV,
    /// as the vault computes it (the LP weight covers LP + hedge). A precondition only: the
    /// vault's own view says where its threshold sits.
    function _driftBps() internal view returns (uint256) {
        Legs memory l = vault.legs();
        return _driftAfter(l, _weights(), 0);
    }

    function _weights() internal view returns (Weights memory) {
        OracleReading memory r = vault.oracle().read();
        return r.regime == Regime.CALM ? cfg.calm : (r.regime == Regime.STORM ? cfg.storm : cfg.normal);
    }

    /// Drift after a deposit of `d` (it lands in the buffer).
    function _driftAfter(Legs memory l, Weights memory w, uint256 d) internal pure returns (uint256) {
        uint256 nav = l.nav + d;
        uint256 drift = _absDiff(l.lp + l.hedge, nav * w.lpBps / BPS);
        uint256 x = _absDiff(l.alp, nav * w.alpBps / BPS);
        if (x > drift) drift = x;
        x = _absDiff(l.buffer + d, nav * w.bufferBps / BPS);
        if (x > drift) drift = x;
        return drift * BPS / nav;
    }

    /// The smallest deposit (to 1 USDT) whose drift is at least `bps` minus one: bisection over
    /// [0, NAV], the drift growing with the deposit once the buffer is over its weight.
    function _depositForDrift(uint256 bps) internal view returns (uint256) {
        Legs memory l = vault.legs();
        Weights memory w = _weights();
        uint256 lo;
        uint256 hi = l.nav;
        while (hi - lo > 1e18) {
            uint256 mid = (lo + hi) / 2;
            if (_driftAfter(l, w, mid) < bps) lo = mid;
            else hi = mid;
        }
        // Inside: the largest deposit below the bound; beyond: the smallest at or above it.
        return bps < cfg.rebalanceThresholdBps ? lo : hi;
    }

    function _absDiff(uint256 x, uint256 y) internal pure returns (uint256) {
        return x > y ? x - y : y - x;
    }

    // ---------------------------------------------------------------- same_block_manipulation

    struct Attack {
        uint256 blockNumber;
        uint256 usdt0;
        uint256 btcb0;
        uint256 vaultSharePrice0;
        uint256 shadowSharePrice0;
        uint256 price0;
        /// @dev What S10 allows a depositor: one share unit and the deposit priced within S9's
        /// tolerance (deposit x tol / NAV), at the start.
        uint256 depositAllowance;
    }

    /// Inside one block (no time passes): Mallory pushes the pool's spot with a real swap, makes
    /// a deposit, the keeper cycles, Mallory withdraws what she may and swaps the pool back to
    /// where it was. Twice: pushed up by maxDeviationBps - 50 (the cycle stays NORMAL and may
    /// trade into the pushed pool) and down by 2 x maxDeviationBps (the cycle unwinds). The
    /// vault's share price does not move with the push (beyond what the shadow share price
    /// moves: the swap's fee accrues to the LP), S9 holds at the pushed state, Mallory ends with
    /// no more value than she started with (tokens at the shadow TWAP, her shares at the shadow
    /// NAV) beyond what S10 allows a depositor, and every action keeps S10 and the common cycle
    /// checks.
    function _sameBlockManipulation() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _settle(list);
        _probeStrangers(list);
        uint256 snap = vm.snapshotState();
        _attack(list, "_inside", int256(uint256(cfg.maxDeviationBps)) - 50);
        vm.revertToState(snap);
        _attack(list, "_beyond", -2 * int256(uint256(cfg.maxDeviationBps)));
        return _result(
            "same_block_manipulation",
            "spot pushed (within and beyond the guard) and restored around a deposit, a cycle and a withdrawal in one block",
            list
        );
    }

    function _attack(CheckList memory list, string memory tag, int256 pushBps) internal {
        Attack memory atk = _attackStart();
        _malloryPush(pushBps);
        _checkPushed(list, tag, atk, pushBps);
        (bool deposited,) = _tryDeposit(MALLORY, ATTACK_DEPOSIT);
        list.isTrue(string.concat("precondition_attacker_deposit_succeeded", tag), deposited);
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        _checkCycle(list, tag, a, _measure(), o);
        _withdraw(MALLORY, vault.maxWithdraw(MALLORY));
        _malloryRestore(atk.price0);
        list.eq(string.concat("precondition_same_block", tag), int256(block.number), int256(atk.blockNumber));
        Snapshot memory end = _measure();
        int256 valueNow = int256(IERC20(w.usdt).balanceOf(MALLORY))
            + int256(IERC20(w.btcb).balanceOf(MALLORY) * end.shadow.twap / 1e18)
            + int256(SteadyState.shareValue(end, vault.balanceOf(MALLORY)));
        int256 valueThen = int256(atk.usdt0) + int256(atk.btcb0 * end.shadow.twap / 1e18);
        list.le(
            string.concat("manipulation_profit_wei", tag),
            valueNow - valueThen,
            int256(SteadyState.shareUnit(end) + atk.depositAllowance)
        );
    }

    /// Funds Mallory (a fifth of each of the pool's reserves, plus her deposit) and records
    /// where everything stands before the push.
    function _attackStart() internal returns (Attack memory atk) {
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        _fund(MALLORY, rUsdt / 5 + ATTACK_DEPOSIT);
        _setBalance(w.btcb, MALLORY, rBtc / 5);
        Snapshot memory s0 = _measure();
        atk.blockNumber = block.number;
        atk.usdt0 = IERC20(w.usdt).balanceOf(MALLORY);
        atk.btcb0 = IERC20(w.btcb).balanceOf(MALLORY);
        atk.vaultSharePrice0 = vault.sharePrice();
        atk.shadowSharePrice0 = SteadyState.shadowSharePrice(s0);
        atk.price0 = _spot();
        atk.depositAllowance = ATTACK_DEPOSIT * s0.shadow.tolerance / s0.shadow.nav;
    }

    /// The push bound, and the vault's views unmoved by it: its share price moves by at most
    /// what the shadow's moves (the swap fee the LP earns), S9 holds at the pushed state.
    function _checkPushed(CheckList memory list, string memory tag, Attack memory atk, int256 pushBps)
        internal
        view
    {
        list.ge(
            string.concat("precondition_abs_push_bps", tag), _absBps(_spot(), atk.price0), _abs(pushBps) - 1
        );
        Snapshot memory pushed = _measure();
        uint256 vaultMove = _absDiff(vault.sharePrice(), atk.vaultSharePrice0);
        uint256 shadowMove = _absDiff(SteadyState.shadowSharePrice(pushed), atk.shadowSharePrice0);
        list.le(
            string.concat("share_price_moved_by_push_wei", tag), int256(vaultMove), int256(shadowMove + 2)
        );
        SteadyState.s9Nav(list, string.concat("_pushed", tag), pushed);
    }

    /// Mallory moves the pool's spot by `bps` with one swap through the router.
    function _malloryPush(int256 bps) internal {
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        uint256 f = uint256(int256(BPS) + bps) * 1e14;
        uint256 rootF = _sqrt(f * 1e18);
        if (bps > 0) {
            _mallorySwap(w.usdt, w.btcb, (rUsdt * rootF / 1e18 - rUsdt) * BPS / (BPS - 25));
        } else if (bps < 0) {
            _mallorySwap(w.btcb, w.usdt, (rBtc * 1e18 / rootF - rBtc) * BPS / (BPS - 25));
        }
    }

    /// Mallory swaps the pool back to `price` (USDT per BTCB, 18 decimals).
    function _malloryRestore(uint256 price) internal {
        uint256 s = _spot();
        if (s == price) return;
        _malloryPush((int256(price) - int256(s)) * int256(BPS) / int256(s));
    }

    function _mallorySwap(address tokenIn, address tokenOut, uint256 amountIn) internal {
        if (amountIn == 0) return;
        if (IERC20(tokenIn).balanceOf(MALLORY) < amountIn) revert AttackerUnderfunded(tokenIn, amountIn);
        _routerSwap(MALLORY, tokenIn, tokenOut, amountIn);
    }

    error AttackerUnderfunded(address token, uint256 amount);

    function _absBps(uint256 x, uint256 y) internal pure returns (int256) {
        return int256(_absDiff(x, y) * BPS / y);
    }

    function _abs(int256 x) internal pure returns (int256) {
        return x < 0 ? -x : x;
    }
}
