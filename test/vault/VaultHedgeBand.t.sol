// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {VaultHandler} from "./VaultInvariant.t.sol";
import {Check} from "../../script/chaos/ScenarioTypes.sol";
import {SteadyState, Snapshot, CheckList} from "../../script/chaos/SteadyState.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {RiskMode} from "../../contracts/vault/VaultTypes.sol";
import {BrokenVaultFactory, Defect} from "../chaos/broken/BrokenModules.sol";

/// @notice S8's precondition (docs/steady-state.md, S8): the band is held after a NORMAL cycle
/// that no trade of the vault was pending on Aster before. The sequence that once broke
/// `invariant_hedgeWithinBandAfterNormalCycles` (deposit, cycle, a deposit of ~50k, cycle) as a
/// plain test, and the campaign's handler on the same sequence and on a vault that ignores the
/// band.
contract VaultHedgeBandTest is VaultFixture {
    using SteadyState for CheckList;

    uint256 internal constant LARGE = 49_999e18;

    /// The vault's trades pending on Aster, from Aster's own book.
    function _pendingOnAster() internal view returns (uint256) {
        return env.asterDiamond.pendingTradeHashes().length;
    }

    function _s8(string memory tag) internal view returns (Check memory c) {
        CheckList memory list;
        list.s8Hedge(tag, _measure(), cfg);
        c = list.items[0];
    }

    /// BTCB the vault holds through LP (fair reserves) and loose, in the shadow (18 decimals).
    function _exposure(Snapshot memory s) internal pure returns (uint256) {
        return s.shadow.lpBtc + s.shadow.looseBtc;
    }

    /// @notice A cycle with a trade pending before it adds LP exposure and, one trade at a
    /// time, cannot hedge it: the delta leaves the band (counting the pending trade) until Aster
    /// settles that trade, and the first cycle after brings it back. The exposure is what the
    /// deposit bought, not a mis-sized hedge: the pending trade is exactly what the first
    /// cycle's exposure needed, and once Aster executes it the next cycle's one trade covers
    /// the rest.
    function test_S8_exposureAddedWhileATradeIsPendingWaitsForIt() public {
        _invest();
        assertEq(_pendingOnAster(), 0);
        assertTrue(_s8("_invested").passed);

        _deposit(bob, LARGE);
        _nextCycle(); // buys BTCB for LP and sends the short that hedges it
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.NORMAL));
        assertEq(_pendingOnAster(), 1);
        Check memory first = _s8("_first");
        assertTrue(first.passed, "the first cycle's trade, counted while pending, covers it");
        uint256 exposureBefore = _exposure(_measure());

        _deposit(bob, LARGE);
        _nextCycle(); // the same again, with the first trade still pending on Aster
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.NORMAL));
        assertEq(_pendingOnAster(), 1, "no second trade while one is pending");
        assertGt(_exposure(_measure()), exposureBefore * 12 / 10, "the cycle added LP exposure");
        Check memory pending = _s8("_pending_before");
        assertFalse(pending.passed, "judged here, S8 would fail");
        assertGt(pending.observed, 2 * int256(uint256(cfg.deltaBandBps)));

        _executeHedges(); // Aster settles the trade
        _nextCycle();
        Check memory settled = _s8("_settled");
        assertTrue(settled.passed, "the first cycle after the trade settled hedges the rest");
        emit log_named_int("S8_abs_delta_bps after the first cycle", first.observed);
        emit log_named_int("S8_abs_delta_bps after the cycle with a trade pending", pending.observed);
        emit log_named_int("S8_abs_delta_bps after the trade settled and a cycle", settled.observed);
    }

    // ----------------------------------------------------------- the campaign's handler

    /// @dev For the handler (the fixture owns the replica admin rights).
    function moveSpotTo(int256 bps) external {
        _moveSpotTo(bps);
    }

    function refreshFeed() external {
        env.bnbUsdFeed.updateAnswer(900e8);
    }

    function _handler(YieldVault v) internal returns (VaultHandler h) {
        h = new VaultHandler(v, env, cfg, deps);
        env.asterDiamond.setKeeper(address(h), true);
        env.usdt.setMinter(address(h), true);
    }

    /// @notice The campaign's sequence: the cycle with a trade pending before it is not held to
    /// S8, the cycles around it are, and none violates it.
    function test_handler_S8SkipsOnlyTheCycleAfterAPendingTrade() public {
        VaultHandler h = _handler(vault);
        h.invest(alice, DEPOSIT);
        uint256 judged = h.s8Judged();
        assertGt(judged, 0);
        h.deposit(0, LARGE);
        h.cycle(1, 10); // sends a trade; nothing was pending before: judged
        h.deposit(1, LARGE);
        h.cycle(1, 10); // the trade still pending on Aster: not judged
        h.asterKeeper(true);
        h.cycle(1, 10); // settled: judged
        assertEq(h.s8Judged(), judged + 2);
        assertEq(h.s8SkippedPending(), 1);
        assertEq(h.violations("S8"), 0, h.firstViolation());
    }

    /// @notice The precondition does not hide a vault that ignores the band: it never has a
    /// trade pending, so every NORMAL cycle of it is judged, and S8 fails.
    function test_handler_S8CatchesAVaultThatIgnoresTheBand() public {
        YieldVault broken = new BrokenVaultFactory(Defect.HEDGE_BAND_IGNORED).deployVault(addresses(), cfg);
        VaultHandler h = _handler(broken);
        h.invest(alice, DEPOSIT);
        assertEq(h.s8SkippedPending(), 0);
        assertGt(h.s8Judged(), 0);
        assertGt(h.violations("S8"), 0);
    }
}
