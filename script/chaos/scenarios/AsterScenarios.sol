// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {ScenarioResult} from "../ScenarioTypes.sol";
import {World} from "../ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList} from "../SteadyState.sol";
import {FaultInjection} from "../FaultProxy.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {AlpSkipReason, OracleReading, RiskMode} from "../../../contracts/vault/VaultTypes.sol";
import {IAsterDiamond} from "../../../contracts/interfaces/IAster.sol";
import {IERC20} from "../../../contracts/interfaces/IERC20.sol";

/// @title AsterScenarios
/// @notice Aster failures, injected with the fault proxy on the (replica or real) diamond:
/// closeTrade reverting, burnAlp reverting, the ALP cooldown, a hedge trade left pending.
contract AsterScenarios is ScenarioBase {
    using SteadyState for CheckList;

    string internal constant CLOSE_REASON = "ASTER: trading paused";
    uint256 internal constant WORK_DEPOSIT = 30_000e18;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external override returns (ScenarioResult memory) {
        if (_is(id, "close_trade_blocked")) return _closeTradeBlocked();
        if (_is(id, "burn_alp_reverts")) return _burnAlpReverts();
        if (_is(id, "cooldown_active")) return _cooldownActive();
        if (_is(id, "pending_trade_never_executed")) return _pendingNeverExecuted();
        if (_is(id, "share_price_drop")) return _sharePriceDrop();
        revert UnknownScenario(id);
    }

    function _shorts() internal view returns (uint256 n) {
        IAsterDiamond.Position[] memory ps = IAsterDiamond(w.aster).getPositionsV2(address(vault), w.btcb);
        for (uint256 i; i < ps.length; ++i) {
            if (!ps[i].isLong) n++;
        }
    }

    function _executedShortQty() internal view returns (uint256 q) {
        IAsterDiamond.Position[] memory ps = IAsterDiamond(w.aster).getPositionsV2(address(vault), w.btcb);
        for (uint256 i; i < ps.length; ++i) {
            if (!ps[i].isLong) q += ps[i].qty;
        }
    }

    /// Spot pushed beyond the guard: the next cycle is an ONLY_UNWIND cycle, which must close the
    /// hedge and burn free ALP.
    function _forceUnwindNextCycle() internal {
        _moveSpot(int256(uint256(cfg.maxDeviationBps) * 3));
    }

    // ---------------------------------------------------------------- close_trade_blocked

    /// closeTrade reverts on Aster while an unwind must close the short: cycle() reverts with
    /// exactly HedgeCloseFailed(Error(reason)); nothing changed (digest, balances, position),
    /// holders can still take their liquid share; once Aster recovers the hedge is closed (S5).
    function _closeTradeBlocked() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        uint256 shorts = _shorts();
        if (!w.isReplica && shorts == 0) {
            // On a BSC fork Aster's keepers never execute the vault's trade, so there is no
            // position for closeTrade to fail on: the hypothesis cannot be exercised here.
            list.eq("precondition_skipped_no_executed_short_on_fork", 0, 0);
            return _result("close_trade_blocked", "skipped: no executed short on a BSC fork", list);
        }
        list.ge("precondition_executed_shorts", int256(shorts), 1);
        FaultInjection.install(w.aster);
        FaultInjection.revertWith(w.aster, IAsterDiamond.closeTrade.selector, CLOSE_REASON);
        _forceUnwindNextCycle();
        bytes memory expected = abi.encodeWithSelector(
            VaultCore.HedgeCloseFailed.selector, abi.encodeWithSignature("Error(string)", CLOSE_REASON)
        );
        for (uint256 attempt; attempt < 3; ++attempt) {
            string memory tag = string.concat("_attempt", vm.toString(attempt + 1));
            Snapshot memory a = _measure();
            CycleOutcome memory o = _cycle();
            Snapshot memory b = _measure();
            list.eq(string.concat("cycle_succeeded", tag), o.ok ? int256(1) : int256(0), 0);
            list.isTrue(
                string.concat("S5_reverted_HedgeCloseFailed", tag),
                keccak256(o.revertData) == keccak256(expected)
            );
            list.s5Unchanged(tag, a, b);
            list.eq(string.concat("S5_open_shorts", tag), int256(_shorts()), int256(shorts));
            list.s4Mode(tag, b, RiskMode.NORMAL);
            // The keeper retries a few blocks later (a reverted cycle does not start the
            // interval); the divergence is still there.
            _warpTo(block.timestamp + 3, 7);
        }
        _checkExit(list, ALICE, "_during_fault");
        FaultInjection.disarm(w.aster, IAsterDiamond.closeTrade.selector);
        Snapshot memory c = _measure();
        CycleOutcome memory r = _cycle();
        Snapshot memory d = _measure();
        list.isTrue("cycle_succeeded_recovered", r.ok);
        list.eq("open_shorts_recovered", int256(_shorts()), 0);
        list.eq(
            "hedge_closed_events_recovered",
            int256(_countLogs(r.logs, address(vault), VaultCore.HedgeClosed.selector)),
            int256(shorts)
        );
        _checkCycle(list, "_recovered", c, d, r);
        return _result("close_trade_blocked", "Aster closeTrade reverts with a reason during an unwind", list);
    }

    // ---------------------------------------------------------------- burn_alp_reverts

    /// burnAlp reverts (a custom error) when the cooldown is over and the vault unwinds: the burn
    /// is skipped with AlpBurnSkipped(BURN_REVERTED, amount, exact revert data), the LP and hedge
    /// legs still unwind, the ALP stays held and valued, value is conserved and holders can exit
    /// (S1, S5, S7). Once Aster recovers the ALP is burnt.
    function _burnAlpReverts() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        uint256 readyAt = IAsterDiamond(w.aster).lastMintedTimestamp(address(vault))
            + IAsterDiamond(w.aster).coolingDuration();
        _advance(readyAt > block.timestamp ? readyAt - block.timestamp : 0);
        bytes memory burnError = abi.encodeWithSignature("AlpPoolPaused(uint256)", uint256(7));
        FaultInjection.install(w.aster);
        FaultInjection.revertRaw(w.aster, IAsterDiamond.burnAlp.selector, burnError);
        _forceUnwindNextCycle();
        Snapshot memory a = _measure();
        list.gt("precondition_vault_alp", int256(a.vaultAlp), 0);
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, "", a, b, o);
        (bool found, bytes memory data) = _firstLog(o.logs, address(vault), VaultCore.AlpBurnSkipped.selector);
        list.isTrue("S5_burn_skipped_event", found);
        if (found) {
            (AlpSkipReason reason, uint256 amount, bytes memory revertData) =
                abi.decode(data, (AlpSkipReason, uint256, bytes));
            list.eq("S5_skip_reason", int256(uint256(reason)), int256(uint256(AlpSkipReason.BURN_REVERTED)));
            list.eq("S5_skip_amount_wei", int256(amount), int256(a.vaultAlp));
            list.isTrue("S5_skip_revert_data_exact", keccak256(revertData) == keccak256(burnError));
        }
        list.eq("S5_alp_held_wei", int256(b.vaultAlp), int256(a.vaultAlp));
        list.eq("S5_alp_valued_wei", int256(b.legs.alp), int256(a.legs.alp));
        list.eq("S5_lp_unwound_wei", int256(b.vaultLp), 0);
        list.eq("S5_open_shorts", int256(_shorts()), 0);
        _checkExit(list, ALICE, "");
        FaultInjection.disarm(w.aster, IAsterDiamond.burnAlp.selector);
        _advance(cfg.minCycleInterval);
        o = _cycle();
        list.isTrue("cycle_succeeded_recovered", o.ok);
        list.eq("alp_after_recovery_wei", int256(vault.alp().balanceOf(address(vault))), 0);
        return _result("burn_alp_reverts", "Aster burnAlp reverts with a custom error during an unwind", list);
    }

    // ---------------------------------------------------------------- cooldown_active

    /// An unwind and a full exit while the ALP cooldown runs: nothing is burnt (the skip says
    /// COOLDOWN), the liquid share is paid at once, the rest is owed by a claim that is not
    /// funded before the cooldown ends and is funded by the first cycle after it (S7).
    function _cooldownActive() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        // A second claimant, larger than Alice, who exits in the same epoch after her.
        _deposit(CAROL, CAROL_DEPOSIT);
        _forceUnwindNextCycle();
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        list.isTrue("cycle_succeeded", o.ok);
        list.s4Mode("", b, RiskMode.ONLY_UNWIND);
        list.eq(
            "S7_alp_burned_events",
            int256(_countLogs(o.logs, address(vault), VaultCore.AlpBurned.selector)),
            0
        );
        (bool found, bytes memory data) = _firstLog(o.logs, address(vault), VaultCore.AlpBurnSkipped.selector);
        list.isTrue("S7_burn_skipped_event", found);
        if (found) {
            (AlpSkipReason reason,,) = abi.decode(data, (AlpSkipReason, uint256, bytes));
            list.eq("S7_skip_reason", int256(uint256(reason)), int256(uint256(AlpSkipReason.COOLDOWN)));
        }
        list.eq("S7_alp_held_wei", int256(b.vaultAlp), int256(a.vaultAlp));
        ExitRequest memory req = _exitDuringCooldown(list);
        // The unwind's price move is in the oracle's ring now: realised volatility as the
        // oracle's view gives it, against the ring recomputed.
        list.realisedVol("_after_unwind", address(vault.oracle()));
        _fundAfterCooldown(list, req);
        return _result("cooldown_active", "unwind and full exit inside Aster's ALP cooldown", list);
    }

    struct ExitRequest {
        uint256 claimId;
        uint256 usdtBefore;
        /// Shadow value of the shares at the request, and S9's tolerance on that part of NAV.
        uint256 valueAtRequest;
        uint256 toleranceShare;
        /// ALP units the claim is owed and ALP's price then (the claimant keeps ALP's price risk).
        uint256 alpUnits;
        uint256 alpPriceAtRequest;
        /// Carol's claim, requested after Alice's in the same epoch.
        uint256 otherClaimId;
    }

    /// Carol's deposit in cooldown_active: more than Alice's, so that what stays reserved for
    /// Carol after Alice's claim would cover Alice's claim a second time.
    uint256 internal constant CAROL_DEPOSIT = 100_000e18;

    /// Alice exits completely during the cooldown: the liquid share now, a claim for the rest
    /// that cannot be claimed yet (ClaimNotFunded) and that cycles inside the cooldown leave
    /// unfunded.
    function _exitDuringCooldown(CheckList memory list) internal returns (ExitRequest memory req) {
        uint256 shares = vault.balanceOf(ALICE);
        Snapshot memory now_ = _measure();
        uint256 liquidShare = now_.shadow.usdtFree * shares / now_.totalSupply;
        req.valueAtRequest = SteadyState.shareValue(now_, shares);
        req.toleranceShare = now_.shadow.tolerance * shares / now_.totalSupply + 1;
        req.alpPriceAtRequest = now_.shadow.alpPrice;
        req.usdtBefore = vault.usdt().balanceOf(ALICE);
        (uint256 assetsNow, uint256 claimId) = _requestRedeem(ALICE, shares);
        req.alpUnits = vault.claims(claimId).alp;
        req.claimId = claimId;
        list.eq("S7_paid_now_wei", int256(vault.usdt().balanceOf(ALICE) - req.usdtBefore), int256(assetsNow));
        list.ge("S7_paid_now_vs_liquid_share_wei", int256(assetsNow) + 1, int256(liquidShare));
        list.eq("S7_claimable_during_cooldown_wei", int256(vault.claimable(claimId)), 0);
        // Carol exits completely after Alice, in the same epoch: her claim is a claim of its
        // own and Alice's is still hers.
        (, req.otherClaimId) = _requestRedeem(CAROL, vault.balanceOf(CAROL));
        list.isTrue("claim_ids_distinct", req.otherClaimId != claimId);
        list.isTrue("claim_receiver_kept", vault.claims(claimId).receiver == ALICE);
        (bool ok, bytes memory reason) = _tryClaim(claimId);
        list.eq("S7_claim_during_cooldown_succeeded", ok ? int256(1) : int256(0), 0);
        list.isTrue(
            "S7_claim_reverted_ClaimNotFunded",
            keccak256(reason) == keccak256(abi.encodeWithSelector(VaultCore.ClaimNotFunded.selector, claimId))
        );
        _advance(cfg.minCycleInterval);
        CycleOutcome memory o = _cycle();
        list.isTrue("cycle_succeeded_in_cooldown", o.ok);
        list.eq("S7_claimable_in_cooldown_wei", int256(vault.claimable(claimId)), 0);
        list.eq(
            "S7_alp_burned_events_in_cooldown",
            int256(_countLogs(o.logs, address(vault), VaultCore.AlpBurned.selector)),
            0
        );
    }

    /// The first cycle after the cooldown funds the claim, which then pays; in all, Alice gets
    /// what her shares were worth at the request (shadow NAV), her ALP part at ALP's price when
    /// it is burnt, less at most swapSlippageBps on that burn (the vault's minimum) and S9's
    /// tolerance on her part of the NAV.
    function _fundAfterCooldown(CheckList memory list, ExitRequest memory req) internal {
        uint256 readyAt = IAsterDiamond(w.aster).lastMintedTimestamp(address(vault))
            + IAsterDiamond(w.aster).coolingDuration();
        if (readyAt > block.timestamp) _advance(readyAt - block.timestamp);
        CycleOutcome memory o = _cycle();
        list.isTrue("cycle_succeeded_after_cooldown", o.ok);
        list.gt("S7_claimable_after_cooldown_plus_one_cycle_wei", int256(vault.claimable(req.claimId)), 0);
        // The funded claims now hold USDT in the vault's balance: none of it is free.
        _checkLiquidAssets(list, "_claims_funded");
        _refundWhileClaimPaid(list, req);
        _exitOwingNoAlp(list);
        (bool ok,) = _tryClaim(req.claimId);
        list.isTrue("S7_claim_succeeded", ok);
        uint256 total = vault.usdt().balanceOf(ALICE) - req.usdtBefore;
        uint256 alpPriceNow = IAsterDiamond(w.aster).alpPrice();
        uint256 alpThen = req.alpUnits * req.alpPriceAtRequest / 1e8;
        uint256 alpNow = req.alpUnits * alpPriceNow / 1e8;
        uint256 owed = req.valueAtRequest + alpNow - alpThen;
        uint256 budget = alpNow * cfg.swapSlippageBps / BPS + req.toleranceShare;
        list.ge("S7_total_received_wei", int256(total + budget), int256(owed));
        _claimsPayOnce(list, req);
        _exitAllLiquid(list);
    }

    /// In a state snapshot, once the unwind and the funding have left the vault holding only
    /// USDT (ALP's and the LP pair's own balances 0, no position or pending trade in Aster's
    /// book): Bob exits completely through the queue. Nothing is illiquid, so he is paid his
    /// shares' shadow value at once (less S9's tolerance on his part) and nothing is left owed:
    /// the claim id the request returned is unknown to `claim()` (UnknownClaim), which moves no
    /// USDT. A vault that records a claim whenever it owes no USDT part leaves an empty claim
    /// in its book for every such exit, which any integrator listing open claims would show.
    function _exitAllLiquid(CheckList memory list) internal {
        uint256 snap = vm.snapshotState();
        uint256 shares = vault.balanceOf(BOB);
        list.eq("precondition_vault_alp_wei_all_liquid", _int(IERC20(w.alp).balanceOf(address(vault))), 0);
        list.eq("precondition_vault_lp_all_liquid", _int(IERC20(w.lpPair).balanceOf(address(vault))), 0);
        list.eq("precondition_aster_positions_all_liquid", _int(_positionsOnAster() + _pendingOnAster()), 0);
        Snapshot memory now_ = _measure();
        uint256 value = SteadyState.shareValue(now_, shares);
        uint256 tolerance = now_.shadow.tolerance * shares / now_.totalSupply + 1;
        uint256 usdtBefore = vault.usdt().balanceOf(BOB);
        (, uint256 claimId) = _requestRedeem(BOB, shares);
        uint256 paid = vault.usdt().balanceOf(BOB) - usdtBefore;
        list.ge("S7_paid_now_wei_all_liquid", _int(paid + tolerance), _int(value));
        uint256 vaultUsdt = vault.usdt().balanceOf(address(vault));
        (bool ok, bytes memory reason) = _tryClaim(MALLORY, claimId);
        list.isTrue(
            "claim_nothing_owed_unknown_all_liquid",
            !ok
                && keccak256(reason)
                    == keccak256(abi.encodeWithSelector(VaultCore.UnknownClaim.selector, claimId))
        );
        list.eq(
            "claim_nothing_owed_usdt_moved_wei_all_liquid",
            _int(vaultUsdt) - _int(vault.usdt().balanceOf(address(vault))),
            0
        );
        vm.revertToState(snap);
    }

    function _int(uint256 x) private pure returns (int256) {
        // balances and values here are far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256(x);
    }

    /// The vault's free USDT (`liquidAssets()`, what it may spend on margin, investments and
    /// bounties) is its USDT balance less every USDT amount its claims are owed, as the shadow
    /// reads them (token balance, claim book). The shadow floors each funded claim's share of
    /// the ALP proceeds, the vault reserves their sum: one wei per claim apart at most.
    function _checkLiquidAssets(CheckList memory list, string memory tag) internal view {
        Snapshot memory s = _measure();
        list.gt(string.concat("precondition_claims_hold_usdt_wei", tag), int256(s.shadow.usdtOwed), 0);
        list.le(
            string.concat("S7_liquid_assets_vs_shadow_usdt_free_wei", tag),
            int256(SteadyState._absDiff(vault.liquidAssets(), s.shadow.usdtFree)),
            int256(vault.nextClaimId())
        );
    }

    /// In a state snapshot while both claims are funded and unpaid (replicas: Aster's keeper
    /// acts): quiet cycles at the pool's price until the vault is back in NORMAL and a cycle
    /// sends a hedge trade (precondition), which Aster's keeper then gives up on
    /// (`cancelPendingTrade`: the margin comes back to the vault, `PendingTradeRefund`); Carol's
    /// claim is paid before the next cycle. Aster's book now holds no pending trade of the
    /// vault, so neither may the vault's views: `pendingHedge()` reports nothing pending, and
    /// the hedge leg of `legs()` is what Aster's book says the shorts are worth (one wei per
    /// short apart), the refunded margin counted once, in the buffer. The claim's payment must
    /// not hide the refund (a vault that leaves the claim out of its user flows reads the
    /// refund as still pending and counts its margin twice in NAV).
    function _refundWhileClaimPaid(CheckList memory list, ExitRequest memory req) internal {
        if (!w.isReplica) {
            // Nothing executes or refunds the vault's trades on a real BSC fork.
            list.eq("precondition_skipped_refund_on_fork", 0, 0);
            return;
        }
        uint256 snap = vm.snapshotState();
        uint256 fair = _spot();
        bool sent;
        for (uint256 i; i < 8 && !sent; ++i) {
            _advance(cfg.minCycleInterval);
            CycleOutcome memory o = _cycle();
            if (!o.ok) break;
            sent = _countLogs(o.logs, w.aster, IAsterDiamond.MarketPendingTrade.selector) != 0;
            _setSpot(fair);
        }
        list.isTrue("precondition_trade_sent_refund", sent);
        list.eq("precondition_refunded_trades", _int(_cancelVaultTrades()), 1);
        (bool ok,) = _tryClaim(MALLORY, req.otherClaimId);
        list.isTrue("precondition_claim_paid_refund", ok);
        Snapshot memory s = _measure();
        (bool pending, uint256 qty,,) = vault.pendingHedge();
        list.isTrue(
            "pending_hedge_after_refund_vs_aster_book", !pending && qty == 0 && s.shadow.pendingQty == 0
        );
        list.le(
            "S9_hedge_leg_vs_aster_wei_refund",
            _int(SteadyState._absDiff(s.legs.hedge, s.shadow.hedgeValue + s.shadow.pendingMargin)),
            _int(s.shadow.shorts.length)
        );
        SteadyState.s9Nav(list, "_refund", s);
        vm.revertToState(snap);
    }

    /// In a state snapshot while the claims are funded: Aster's `mintAlp` reverts (minting
    /// paused) while quiet cycles take the vault back to NORMAL and reinvest, so it holds LP
    /// (the pair's balance) and no ALP (ALP's balance): preconditions. Bob exits completely
    /// through the queue with a quarter of his shares; his claim owes their part of the LP and
    /// hedge legs in USDT and no ALP. The next cycles fund it (once the buffer covers it, at most
    /// six) and anyone triggers it: in all Bob receives those shares' shadow
    /// value at the request less S9's tolerance on his part (a vault that records a claim only
    /// when it owes ALP drops it, and Bob is paid the liquid part alone).
    function _exitOwingNoAlp(CheckList memory list) internal {
        uint256 snap = vm.snapshotState();
        if (!FaultInjection.isInstalled(w.aster)) FaultInjection.install(w.aster);
        FaultInjection.revertWith(w.aster, IAsterDiamond.mintAlp.selector, "ASTER: mint paused");
        uint256 fair = _spot();
        for (uint256 i; i < 8 && IERC20(w.lpPair).balanceOf(address(vault)) == 0; ++i) {
            _advance(cfg.minCycleInterval);
            if (!_cycle().ok) break;
            _setSpot(fair);
        }
        list.gt("precondition_vault_lp_no_alp", _int(IERC20(w.lpPair).balanceOf(address(vault))), 0);
        list.eq("precondition_vault_alp_wei_no_alp", _int(IERC20(w.alp).balanceOf(address(vault))), 0);
        // A quarter of his shares: what the claim owes stays within what the buffer refills to.
        uint256 shares = vault.balanceOf(BOB) / 4;
        Snapshot memory now_ = _measure();
        uint256 value = SteadyState.shareValue(now_, shares);
        uint256 tolerance = now_.shadow.tolerance * shares / now_.totalSupply + 1;
        uint256 usdtBefore = vault.usdt().balanceOf(BOB);
        (uint256 assetsNow, uint256 claimId) = _requestRedeem(BOB, shares);
        list.gt("precondition_owed_beyond_liquid_part_wei_no_alp", _int(value), _int(assetsNow + tolerance));
        for (uint256 i; i < 6 && vault.claimable(claimId) == 0; ++i) {
            _advance(cfg.minCycleInterval);
            _cycle();
            _setSpot(fair);
        }
        (bool claimed,) = _tryClaim(MALLORY, claimId);
        list.isTrue("S7_claim_succeeded_no_alp", claimed);
        uint256 total = vault.usdt().balanceOf(BOB) - usdtBefore;
        list.ge("S7_total_received_wei_no_alp", _int(total + tolerance), _int(value));
        vm.revertToState(snap);
    }

    /// Aster's keeper cancels every pending trade of the vault (replicas); returns how many.
    function _cancelVaultTrades() internal returns (uint256 n) {
        bytes32[] memory hashes = _asterTradesOf(address(vault));
        for (uint256 i; i < hashes.length; ++i) {
            vm.prank(w.asterKeeper);
            (bool ok,) = w.aster.call(abi.encodeWithSignature("cancelPendingTrade(bytes32)", hashes[i]));
            if (ok) n++;
        }
    }

    function _claimsPayOnce(CheckList memory list, ExitRequest memory req) internal {
        // A claim pays once: again, by anyone, it is refused and moves nothing; Carol's claim
        // then pays Carol.
        uint256 aliceNow = vault.usdt().balanceOf(ALICE);
        uint256 vaultNow = vault.usdt().balanceOf(address(vault));
        (bool again,) = _tryClaim(MALLORY, req.claimId);
        list.isTrue("claim_twice_refused", !again);
        list.eq("claim_twice_paid_wei", int256(vault.usdt().balanceOf(ALICE) - aliceNow), 0);
        list.eq(
            "claim_twice_vault_usdt_moved_wei",
            int256(vaultNow) - int256(vault.usdt().balanceOf(address(vault))),
            0
        );
        uint256 carolNow = vault.usdt().balanceOf(CAROL);
        (bool okOther,) = _tryClaim(MALLORY, req.otherClaimId);
        list.isTrue("claim_other_claimant_succeeded", okOther);
        list.gt("claim_other_claimant_paid_wei", int256(vault.usdt().balanceOf(CAROL) - carolNow), 0);
    }

    function _tryClaim(uint256 claimId) internal returns (bool ok, bytes memory reason) {
        return _tryClaim(ALICE, claimId);
    }

    // ---------------------------------------------------------------- pending_trade_never_executed

    /// Aster never executes the vault's short: over quiet cycles up to twice the vault's
    /// pendingHedgeTimeout (inside it, then beyond it), the vault sends exactly one trade,
    /// counts it once in the hedge quantity and stays within the delta band counting it;
    /// without the pending trade it would be out of the band, so the count is what keeps it
    /// from sending a second one (S8). Past the timeout the trade is overdue but Aster still
    /// holds its margin: the vault keeps counting it (S9 at every cycle) and sends nothing.
    function _pendingNeverExecuted() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        // Let the regime settle with every trade executed, then a deposit grows the LP leg and
        // the vault sends one more short, which Aster never executes.
        for (uint256 i; i < 3; ++i) {
            _mustCycle();
            _executePendingHedges();
            _advance(cfg.minCycleInterval);
        }
        _positionsCap(list);
        uint256 sentBefore = _pendingOnAster();
        _chargeShortsFunding();
        _deposit(CAROL, WORK_DEPOSIT);
        CycleOutcome memory first = _mustCycle();
        _advance(cfg.minCycleInterval);
        (bool pending, uint256 qty,, uint256 pendingSince) = vault.pendingHedge();
        bool beyond;
        list.isTrue("precondition_pending_hedge", pending);
        uint256 sent = _pendingOnAster() - sentBefore;
        list.eq(
            "precondition_trade_sent_by_deposit_cycle",
            int256(_countLogs(first.logs, w.aster, IAsterDiamond.MarketPendingTrade.selector)),
            1
        );
        uint256 rounds = 2 * cfg.pendingHedgeTimeout / cfg.minCycleInterval;
        for (uint256 i; i < rounds; ++i) {
            if (block.timestamp > uint256(pendingSince) + cfg.pendingHedgeTimeout) beyond = true;
            sent += _pendingRound(list, i, qty);
        }
        list.isTrue("precondition_past_pending_hedge_timeout", beyond);
        list.eq("S8_trades_sent", int256(sent), 1);
        list.eq("S8_pending_trades_on_aster", int256(_pendingOnAster()), 1);
        if (w.isReplica) list.gt("precondition_shorts_paid_funding_wei", _shortsFundingPaid(), 0);
        return _result(
            "pending_trade_never_executed",
            "Aster's keepers never execute the vault's short (cycles up to twice pendingHedgeTimeout)",
            list
        );
    }

    /// The most positions the vault may hold on Aster at once (docs/steady-state.md): every
    /// executed trade is a position and every cycle reads them all, so past this many the vault
    /// merges them (closes them, then opens one) before it sends another.
    uint256 internal constant POSITIONS_CAP = 8;
    uint256 internal constant POSITIONS_STEP_DEPOSIT = 15_000e18;

    /// Inside a state snapshot, from the settled vault: Carol deposits in steps, each needing a
    /// little more short; after every cycle arbitrageurs restore the pool, Aster's mark follows
    /// it and Aster's keeper executes the vault's trade. Aster's own book must fill up to the
    /// cap (precondition: a cycle sent a trade while the book held the cap) and never hold more
    /// than the cap (`S8_positions_on_aster_max`).
    function _positionsCap(CheckList memory list) internal {
        if (!w.isReplica) {
            // Nothing executes the vault's trades on a real BSC fork: the book cannot fill.
            list.eq("precondition_skipped_positions_cap_on_fork", 0, 0);
            return;
        }
        uint256 snap = vm.snapshotState();
        uint256 fair = _spot();
        uint256 most = _positionsOnAster();
        bool sentAtCap;
        for (uint256 i; i < 2 * POSITIONS_CAP && !sentAtCap; ++i) {
            uint256 held = _positionsOnAster();
            // A vault that never fills the book (one that ignores the band hedges each step
            // whole) runs Carol out of USDT before the cap: the probe stops there, its
            // precondition fails, and the scenario's own checks still run.
            (bool deposited,) = _tryDeposit(CAROL, POSITIONS_STEP_DEPOSIT);
            if (!deposited) break;
            CycleOutcome memory o = _cycle();
            if (!o.ok) break;
            bool sent = _countLogs(o.logs, w.aster, IAsterDiamond.MarketPendingTrade.selector) != 0;
            if (sent && held >= POSITIONS_CAP) sentAtCap = true;
            _setSpot(fair);
            _followMark();
            _executePendingHedges();
            uint256 n = _positionsOnAster();
            if (n > most) most = n;
            _advance(cfg.minCycleInterval);
        }
        list.isTrue("precondition_trade_sent_with_positions_at_cap", sentAtCap);
        list.le("S8_positions_on_aster_max", int256(most), int256(POSITIONS_CAP));
        vm.revertToState(snap);
    }

    /// Every position of the vault in Aster's book on the hedge pair (long or short).
    function _positionsOnAster() internal view returns (uint256) {
        return IAsterDiamond(w.aster).getPositionsV2(address(vault), w.btcb).length;
    }

    /// One quiet cycle of pending_trade_never_executed; returns the trades it sent.
    function _pendingRound(CheckList memory list, uint256 i, uint256 qty) internal returns (uint256 sent) {
        string memory tag = string.concat("_c", vm.toString(i + 1));
        _moveSpot(i % 2 == 0 ? int256(5) : int256(-5));
        CycleOutcome memory o = _cycle();
        sent = _countLogs(o.logs, w.aster, IAsterDiamond.MarketPendingTrade.selector);
        Snapshot memory s = _measure();
        list.isTrue(string.concat("cycle_succeeded", tag), o.ok);
        SteadyState.s9Nav(list, tag, s);
        list.eq(
            string.concat("S8_hedge_qty_counts_pending_once", tag),
            int256(s.legs.hedgeQty),
            int256(_executedShortQty() + qty)
        );
        list.s8Hedge(tag, s, cfg);
        // The vault's hedge leg is what Aster's book says its shorts are worth (margin + PnL at
        // Aster's mark - fees - funding paid) plus the pending margin: one wei per short apart.
        list.le(
            string.concat("S9_hedge_leg_vs_shadow_wei", tag),
            int256(SteadyState._absDiff(s.legs.hedge, s.shadow.hedgeValue + s.shadow.pendingMargin)),
            int256(s.shadow.shorts.length)
        );
        list.gt(
            string.concat("S8_abs_delta_without_pending_bps", tag),
            _absDeltaWithout(s, qty),
            int256(uint256(cfg.deltaBandBps))
        );
        _advance(cfg.minCycleInterval);
    }

    /// Funding the shorts pay on Aster while the trade stays pending: 0.01% of their notional
    /// per hour (replicas only: Aster's keeper sets the pair's rate; on BSC Aster charges its own).
    int256 internal constant SHORTS_PAY_FUNDING_PER_SECOND = -int256(1e14) / 3600;

    function _chargeShortsFunding() internal {
        if (!w.isReplica) return;
        vm.prank(w.asterKeeper);
        (bool ok,) = w.aster
            .call(
                abi.encodeWithSignature(
                    "setFundingRate(address,int256)", w.btcb, SHORTS_PAY_FUNDING_PER_SECOND
                )
            );
        if (!ok) revert SetupFundingFailed();
    }

    error SetupFundingFailed();

    /// Funding the vault's shorts have paid, from Aster's own book (USDT wei).
    function _shortsFundingPaid() internal view returns (int256 paid) {
        IAsterDiamond.Position[] memory ps = IAsterDiamond(w.aster).getPositionsV2(address(vault), w.btcb);
        for (uint256 i; i < ps.length; ++i) {
            if (!ps[i].isLong) paid += ps[i].fundingFee;
        }
    }

    /// |delta| in bps of the shadow NAV if `qty` of the pending hedge were not counted.
    function _absDeltaWithout(Snapshot memory s, uint256 qty) internal pure returns (int256) {
        s.shadow.pendingQty = s.shadow.pendingQty > qty ? s.shadow.pendingQty - qty : 0;
        return SteadyState.absDeltaBps(s.shadow);
    }

    function _pendingOnAster() internal view returns (uint256) {
        if (!w.isReplica) {
            (bool pending,,,) = vault.pendingHedge();
            return pending ? 1 : 0;
        }
        return _asterTradesOf(address(vault)).length;
    }

    // ---------------------------------------------------------------- share_price_drop

    /// Aster marks ALP down (its `alpPrice()` answers lower, through the fault proxy) while the
    /// pool does not move, by exactly the cut that takes the shadow share price down by a chosen
    /// drop since the last cycle: two thirds of maxNavDropBps (inside: the next cycle stays
    /// NORMAL and healthy), four thirds of it (beyond: the next cycle is unhealthy, ONLY_UNWIND
    /// with deposits paused and a healthy count of 0), and at the trigger's own resolution, a
    /// whole basis point rounded down: half a bp above maxNavDropBps (`_at_bound`: the drop in
    /// whole bps equals the bound, NORMAL) and one and a half bps above it (`_one_bp_beyond`:
    /// the bound plus one whole bp, ONLY_UNWIND). The oracle stays healthy throughout, so only
    /// the share-price trigger can act (S4).
    function _sharePriceDrop() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        Snapshot memory s0 = _measure();
        uint256 bound = uint256(cfg.maxNavDropBps) * 100;
        // Drops in hundredths of a bp.
        uint256[4] memory drops = [bound * 2 / 3, bound * 4 / 3, bound + 50, bound + 150];
        string[4] memory tags = ["_inside", "_beyond", "_at_bound", "_one_bp_beyond"];
        for (uint256 i; i < 4; ++i) {
            uint256 snap = vm.snapshotState();
            _advance(cfg.minCycleInterval);
            _cutAlpPrice(s0, drops[i]);
            _sharePriceDropCycle(list, tags[i], i % 2 == 1, s0, drops[i]);
            vm.revertToState(snap);
        }
        return _result(
            "share_price_drop",
            "Aster marks ALP down: the share price falls 2/3 and 4/3 of maxNavDropBps, and half a bp and 1.5 bp past it",
            list
        );
    }

    /// Makes Aster's `alpPrice()` answer the price at which the shadow share price is `dropCbps`
    /// hundredths of a bp below its value in `s0` (the supply does not change, so the share
    /// price moves with the shadow NAV; only the ALP leg is cut).
    function _cutAlpPrice(Snapshot memory s0, uint256 dropCbps) internal {
        Snapshot memory s1 = _measure();
        uint256 sp0 = SteadyState.shadowSharePrice(s0);
        uint256 sp1 = SteadyState.shadowSharePrice(s1);
        uint256 target = sp0 - sp0 * dropCbps / (BPS * 100);
        // NAV at which the share price is `target`, rounded up so that the drop is not larger.
        uint256 navTarget = (s1.shadow.nav * target + sp1 - 1) / sp1;
        uint256 cut = s1.shadow.nav > navTarget ? s1.shadow.nav - navTarget : 0;
        uint256 price = s1.shadow.alpPrice * (s1.shadow.alpValue - cut) / s1.shadow.alpValue;
        if (!FaultInjection.isInstalled(w.aster)) FaultInjection.install(w.aster);
        FaultInjection.returnData(w.aster, IAsterDiamond.alpPrice.selector, abi.encode(price));
    }

    function _sharePriceDropCycle(
        CheckList memory list,
        string memory tag,
        bool beyond,
        Snapshot memory s0,
        uint256 dropCbps
    ) internal {
        OracleReading memory seen = _sharePriceDropPreconditions(list, tag, s0, dropCbps);
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, tag, a, b, o);
        list.s4Mode(tag, b, beyond ? RiskMode.ONLY_UNWIND : RiskMode.NORMAL);
        list.ghostStep(tag, SteadyState.Ghost(a.mode, a.healthyCount), seen, b, cfg);
        if (beyond) _checkDepositsPaused(list, tag);
    }

    /// The fault is where it should be: the shadow share price down by the chosen drop since the
    /// baseline, to a hundredth of a bp (so below / above maxNavDropBps, or inside the whole bp
    /// at or one past the bound), and the oracle healthy.
    function _sharePriceDropPreconditions(
        CheckList memory list,
        string memory tag,
        Snapshot memory s0,
        uint256 dropCbps
    ) internal view returns (OracleReading memory seen) {
        uint256 sp0 = SteadyState.shadowSharePrice(s0);
        int256 dropCbpsSeen = (int256(sp0) - int256(SteadyState.shadowSharePrice(_measure())))
            * int256(BPS * 100) / int256(sp0);
        list.le(
            string.concat("precondition_share_price_drop_off_target_cbps", tag),
            dropCbpsSeen > int256(dropCbps)
                ? dropCbpsSeen - int256(dropCbps)
                : int256(dropCbps) - dropCbpsSeen,
            1
        );
        seen = vault.oracle().read();
        list.isTrue(
            string.concat("precondition_oracle_healthy", tag),
            seen.ready && !seen.stale && seen.deviationBps <= cfg.maxDeviationBps
        );
    }
}
