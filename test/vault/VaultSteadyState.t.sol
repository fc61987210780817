// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm, VmSafe} from "forge-std/Vm.sol";
import {VaultFixture} from "./VaultFixture.sol";
import {Check} from "../../script/chaos/ScenarioTypes.sol";
import {SteadyState, Snapshot, CheckList, CycleInput, Activity} from "../../script/chaos/SteadyState.sol";
import {IAsterDiamond} from "../../contracts/interfaces/IAster.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {TwapOracle} from "../../contracts/vault/TwapOracle.sol";
import {CyclePath, OracleReading, RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @notice For each steady-state check of the one library (script/chaos/SteadyState.sol,
/// docs/steady-state.md): the vault keeps it, and the check catches a violation. Checks are
/// asserted by the names the reports use.
contract VaultSteadyStateTest is VaultFixture {
    using SteadyState for CheckList;

    uint256 internal constant RISK_MODE_SLOT = 12;
    uint256 internal constant FLASH_BORROWED_SLOT = 23;

    SteadyState.Fairness internal s10;

    // ------------------------------------------------------------------------------ helpers

    function _check(CheckList memory list, string memory name) internal pure returns (Check memory c) {
        bool found;
        (found, c) = list.find(name);
        require(found, string.concat("no check named ", name));
    }

    function _assertHeld(CheckList memory list) internal pure {
        for (uint256 i; i < list.length; ++i) {
            Check memory c = list.items[i];
            if (!c.passed) {
                revert(
                    string.concat(
                        c.name,
                        " = ",
                        vm.toString(c.observed),
                        " (want ",
                        c.relation,
                        " ",
                        vm.toString(c.bound),
                        ")"
                    )
                );
            }
        }
    }

    /// @dev One keeper cycle at GAS_PRICE, measured before and after and held to the common
    /// cycle checks.
    function _judgedCycle(CheckList memory list, string memory tag)
        internal
        returns (Snapshot memory a, Snapshot memory b, Activity memory act)
    {
        a = _measure();
        uint256 keeperBefore = env.usdt.balanceOf(keeper);
        vm.recordLogs();
        (, uint256 bounty) = _cycle();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        b = _measure();
        act = list.cycleChecks(
            tag,
            deps,
            address(vault),
            cfg,
            a,
            b,
            CycleInput(true, bounty, env.usdt.balanceOf(keeper) - keeperBefore, logs, GAS_PRICE)
        );
    }

    // S1 ------------------------------------------------------------------------------------

    function test_S1_vaultKeepsValueAcrossCycles() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        CheckList memory list;
        uint256 traded;
        for (uint256 i; i < 4; ++i) {
            (,, Activity memory act) = _judgedCycle(list, string.concat("_", vm.toString(i)));
            traded += act.swapValueIn + act.lpValueAdded;
            _executeHedges();
            _warp(cfg.minCycleInterval);
        }
        _assertHeld(list);
        assertGt(traded, 0, "the cycles traded: S1's budget was exercised");
    }

    function test_S1_catchesValueLeak() public {
        _invest();
        Snapshot memory a = _measure();
        _warp(cfg.minCycleInterval);
        (, uint256 bounty) = _cycle();
        // Broken state: USDT leaves the vault without an operation (e.g. a stray approval).
        deal(address(env.usdt), address(vault), env.usdt.balanceOf(address(vault)) - 1000e18);
        CheckList memory list;
        Activity memory act; // an idle cycle: no operation, no budget
        list.s1Value("", a, _measure(), bounty, act);
        assertFalse(_check(list, "S1_nav_loss_beyond_bounty_wei").passed);
    }

    /// The budget of a swap is what its minimum allows: valueIn x (1 - 0.9975 x (1 - s)).
    function test_S1_budgetOfASwapIsItsMinimumAllowance() public view {
        Snapshot memory a = _measure();
        a.shadow.twap = 90_000e18;
        Vm.Log[] memory logs = new Vm.Log[](1);
        bytes32[] memory topics = new bytes32[](3);
        topics[0] = SteadyState.SWAP_TOPIC;
        topics[1] = bytes32(uint256(uint160(address(env.pancakeRouter))));
        topics[2] = bytes32(uint256(uint160(address(vault))));
        bool btc0 = env.lpPair.token0() == address(env.btcb);
        // 1 BTCB in, 89,000 USDT out.
        bytes memory data = btc0
            ? abi.encode(uint256(1e18), uint256(0), uint256(0), uint256(89_000e18))
            : abi.encode(uint256(0), uint256(1e18), uint256(89_000e18), uint256(0));
        logs[0] = VmSafe.Log(topics, data, address(env.lpPair));
        Activity memory act = SteadyState.activity(deps, address(vault), logs, a, a, cfg);
        uint256 keep = (10_000 - 25) * (10_000 - uint256(cfg.swapSlippageBps));
        uint256 expected = (90_000e18 * (1e8 - keep) - 1) / 1e8 + 1;
        assertEq(act.swaps, 1);
        assertEq(act.swapValueIn, 90_000e18);
        assertEq(act.budget, expected + SteadyState.OP_ROUNDING_WEI);
    }

    // S2 ------------------------------------------------------------------------------------

    function test_S2_vaultKeepsBountyCapsAtAnyGasPrice() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        Snapshot memory a = _measure();
        vm.txGasPrice(50_000 gwei);
        vm.prank(keeper, keeper);
        (, uint256 bounty) = vault.cycle();
        SteadyState.recordCycle(tape);
        assertGt(bounty, 0);
        CheckList memory list;
        uint256 bnb = SteadyState.trustedBnbUsd(address(env.bnbUsdFeed), cfg.maxOracleAge);
        list.s2Bounty("", bounty, _measure(), SteadyState.gasCap(cfg, 50_000 gwei, bnb), cfg);
        _assertHeld(list);
        a;
    }

    function test_S2_catchesUncappedGasBounty() public view {
        Snapshot memory b = _measure();
        b.shadow.nav = 1_000_000e18;
        uint256 uncapped = SteadyState.uncappedGasBounty(cfg, 50_000 gwei, 900e18);
        CheckList memory list;
        list.s2Bounty("", uncapped, b, SteadyState.gasCap(cfg, 50_000 gwei, 900e18), cfg);
        assertFalse(_check(list, "S2_bounty_vs_gas_cap_wei").passed);
    }

    // S3 ------------------------------------------------------------------------------------

    function test_S3_vaultLeavesNoFlashDebt() public {
        _invest();
        _enterStorm();
        CheckList memory list;
        (,, Activity memory act) = _judgedCycle(list, "");
        assertGt(act.flashes, 0, "the STORM cycle borrowed");
        _assertHeld(list);
    }

    function test_S3_catchesOutstandingFlashBorrow() public {
        _invest();
        Snapshot memory a = _measure();
        vm.store(address(vault), bytes32(FLASH_BORROWED_SLOT), bytes32(uint256(1000e18)));
        CheckList memory list;
        list.s3Flash("", a, _measure());
        assertFalse(_check(list, "S3_flash_borrowed_wei").passed);
    }

    function test_S3_catchesPairKDecrease() public {
        _invest();
        Snapshot memory a = _measure();
        deal(
            address(env.usdt),
            address(env.flashPair),
            IERC20(address(env.usdt)).balanceOf(address(env.flashPair)) / 2
        );
        env.flashPair.sync();
        CheckList memory list;
        list.s3Flash("", a, _measure());
        assertFalse(_check(list, "S3_flash_pair_k").passed);
    }

    // S4 ------------------------------------------------------------------------------------

    function test_S4_vaultEntersOnlyUnwindBeyondGuardAndExitsAfterTheThreshold() public {
        _invest();
        _moveSpotTo(-400);
        _warp(cfg.minCycleInterval);
        CheckList memory list;
        SteadyState.Ghost memory g = SteadyState.Ghost(vault.riskMode(), vault.healthyCycleCount());
        OracleReading memory seen = vault.oracle().read();
        assertGt(seen.deviationBps, cfg.maxDeviationBps);
        _cycle();
        list.s4Mode("", _measure(), RiskMode.ONLY_UNWIND);
        list.ghostStep("_diverged", g, seen, _measure(), cfg);
        _moveSpotTo(0);
        for (uint256 i; i < 12; ++i) {
            _warp(cfg.minCycleInterval);
            seen = vault.oracle().read();
            _cycle();
            list.ghostStep(string.concat("_", vm.toString(i)), g, seen, _measure(), cfg);
        }
        list.s4Mode("_recovered", _measure(), RiskMode.NORMAL);
        _assertHeld(list);
    }

    function test_S4_catchesNormalModeBeyondGuard() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        vm.store(address(vault), bytes32(RISK_MODE_SLOT), bytes32(uint256(uint8(RiskMode.NORMAL))));
        CheckList memory list;
        list.s4Mode("", _measure(), RiskMode.ONLY_UNWIND);
        assertFalse(_check(list, "S4_risk_mode").passed);
    }

    function test_S4_catchesEarlyExit() public view {
        Snapshot memory b = _measure();
        b.mode = RiskMode.NORMAL;
        b.healthyCount = 1;
        OracleReading memory healthy;
        healthy.ready = true;
        CheckList memory list;
        list.ghostStep("", SteadyState.Ghost(RiskMode.ONLY_UNWIND, 0), healthy, b, cfg);
        assertFalse(_check(list, "S4_ghost").passed, "NORMAL after 1 of 3 healthy cycles");
    }

    // S5 ------------------------------------------------------------------------------------

    function test_S5_revertedCycleChangesNothing() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _warp(cfg.minCycleInterval);
        Snapshot memory a = _measure();
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.closeTrade.selector), ""
        );
        try vault.cycle() {
            fail();
        } catch {}
        CheckList memory list;
        list.s5Unchanged("", a, _measure());
        _assertHeld(list);
    }

    function test_S5_skippedLegStaysAccounted() public {
        _invest();
        _moveSpotTo(400);
        _syncMark();
        _nextCycle(); // ALP burn skipped (cooldown)
        Snapshot memory s = _measure();
        assertGt(s.vaultAlp, 0);
        assertEq(s.legs.alp, s.shadow.alpValue, "the vault values the skipped ALP as Aster prices it");
    }

    function test_S5_catchesChangedState() public {
        _invest();
        Snapshot memory a = _measure();
        _deposit(bob, 1e18);
        CheckList memory list;
        list.s5Unchanged("", a, _measure());
        assertFalse(_check(list, "S5_digest_changed").passed);
    }

    // S6 ------------------------------------------------------------------------------------

    function test_S6_sharePriceMovesOnlyByTheCyclesActivity() public {
        _invest();
        CheckList memory list;
        for (uint256 i; i < 4; ++i) {
            _warp(cfg.minCycleInterval);
            _judgedCycle(list, string.concat("_", vm.toString(i)));
            _executeHedges();
        }
        _assertHeld(list);
    }

    function test_S6_catchesValueFromNowhere() public {
        _invest();
        _warp(cfg.minCycleInterval);
        Snapshot memory a = _measure();
        (, uint256 bounty) = _cycle();
        env.usdt.mint(address(vault), DEPOSIT); // broken: value appears without an operation
        CheckList memory list;
        Activity memory act;
        list.s6SharePrice("", a, _measure(), bounty, act);
        assertFalse(_check(list, "S6_share_price_rise_wei").passed);
    }

    /// A cycle with no operation on any dependency may not cost the holders a bounty.
    function test_S6_catchesABountyForAnIdleCycle() public {
        _invest();
        _warp(cfg.minCycleInterval);
        Snapshot memory a = _measure();
        vm.recordLogs();
        (CyclePath path, uint256 bounty) = _cycle();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(uint256(path), uint256(CyclePath.IDLE));
        assertEq(bounty, 0, "the vault pays nothing for an idle cycle");
        // Broken: the idle cycle pays its caller 3 USDT anyway.
        uint256 paid = 3e18;
        vm.prank(address(vault));
        env.usdt.transfer(keeper, paid);
        Snapshot memory b = _measure();
        CheckList memory list;
        Activity memory act = SteadyState.activity(deps, address(vault), logs, a, b, cfg);
        assertEq(act.ops, 0);
        list.s1Value("", a, b, paid, act);
        list.s6SharePrice("", a, b, paid, act);
        assertTrue(_check(list, "S1_nav_loss_beyond_bounty_wei").passed, "S1 excuses any bounty");
        assertFalse(_check(list, "S6_share_price_drop_wei").passed);
    }

    // S7 ------------------------------------------------------------------------------------

    function test_S7_exitLiveInOnlyUnwindWithAsterFaults() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.burnAlp.selector), ""
        );
        vm.mockCallRevert(
            address(env.asterDiamond), abi.encodeWithSelector(IAsterDiamond.closeTrade.selector), ""
        );
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
        CheckList memory list;
        uint256 max = vault.maxWithdraw(alice);
        list.s7LiquidShare("", _measure(), vault.balanceOf(alice), max);
        uint256 before = env.usdt.balanceOf(alice);
        vm.prank(alice);
        vault.withdraw(max, alice, alice);
        list.s7Withdrawn("", env.usdt.balanceOf(alice) - before, max);
        _assertHeld(list);
    }

    function test_S7_catchesBlockedExit() public {
        _invest();
        uint256 max = vault.maxWithdraw(alice);
        vm.mockCallRevert(address(env.usdt), abi.encodeWithSelector(IERC20.transfer.selector), "frozen");
        vm.prank(alice);
        try vault.withdraw(max, alice, alice) {} catch {}
        CheckList memory list;
        list.s7Withdrawn("", 0, max);
        assertFalse(_check(list, "S7_withdrawn_wei").passed);
    }

    function test_S7_catchesAMaxWithdrawBelowTheLiquidShare() public view {
        Snapshot memory s = _measure();
        CheckList memory list;
        list.s7LiquidShare("", s, vault.balanceOf(alice), 0);
        assertTrue(_check(list, "S7_max_withdraw_vs_liquid_share_wei").passed, "nothing to withdraw yet");
    }

    // S8 ------------------------------------------------------------------------------------

    function test_S8_deltaWithinBandAfterNormalCycles() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        CheckList memory list;
        for (uint256 i; i < 4; ++i) {
            _cycle();
            list.s8Hedge(string.concat("_", vm.toString(i)), _measure(), cfg);
            if (i % 2 == 1) _executeHedges(); // pending across a cycle, counted once
            _warp(cfg.minCycleInterval);
        }
        _assertHeld(list);
    }

    function test_S8_catchesMissingHedge() public {
        _invest();
        vm.mockCall(
            address(env.asterDiamond),
            abi.encodeWithSelector(IAsterDiamond.getPositionsV2.selector),
            abi.encode(new IAsterDiamond.Position[](0))
        );
        CheckList memory list;
        list.s8Hedge("", _measure(), cfg);
        assertFalse(_check(list, "S8_abs_delta_bps").passed);
    }

    // S9 ------------------------------------------------------------------------------------

    /// The tape's TWAP range contains the TWAP the vault's own oracle uses, through price moves
    /// and cycles (the shadow's price model agrees with the pair's accumulator).
    function test_S9_vaultOracleTwapLiesInTheTapesRange() public {
        _invest();
        int16[6] memory moves = [int16(80), -60, 150, -120, 40, 0];
        for (uint256 i; i < moves.length; ++i) {
            _moveSpotTo(moves[i]);
            _syncMark();
            _nextCycle();
            _executeHedges();
            _warp(cfg.minCycleInterval / 2);
            Snapshot memory s = _measure();
            uint256 vaultTwap = vault.oracle().read().twap;
            assertGe(vaultTwap, s.shadow.twapMin, "vault TWAP below the tape's range");
            assertLe(vaultTwap, s.shadow.twapMax, "vault TWAP above the tape's range");
        }
    }

    function test_S9_navAgreesWithTheShadowAcrossCycles() public {
        _invest();
        CheckList memory list;
        int16[4] memory moves = [int16(60), -80, 30, 0];
        for (uint256 i; i < moves.length; ++i) {
            _moveSpotTo(moves[i]);
            _syncMark();
            _warp(cfg.minCycleInterval);
            _judgedCycle(list, string.concat("_", vm.toString(i)));
            _executeHedges();
        }
        _assertHeld(list);
    }

    /// A vault whose views price the legs at the pool's spot: a push of the pool moves its NAV.
    function test_S9_catchesSpotValuation() public {
        _invest();
        _moveSpotTo(300);
        TwapOracle o = vault.oracle();
        vm.mockCall(address(o), abi.encodeWithSelector(TwapOracle.price.selector), abi.encode(o.spot()));
        CheckList memory list;
        list.s9Nav("", _measure());
        assertFalse(_check(list, "S9_nav_vs_shadow_wei").passed);
    }

    // S10 -----------------------------------------------------------------------------------

    function _fairDeposit(address who, uint256 amount) internal {
        address[] memory holders = new address[](2);
        (holders[0], holders[1]) = (alice, bob);
        uint256[] memory before = new uint256[](2);
        (before[0], before[1]) = (vault.balanceOf(alice), vault.balanceOf(bob));
        Snapshot memory a = _measure();
        _deposit(who, amount);
        SteadyState.fairness(
            s10, SteadyState.Action.DEPOSIT, who, amount, holders, before, a, _measure(), vault
        );
    }

    function test_S10_aDepositMovesNoOtherHoldersValue() public {
        _invest();
        _warp(cfg.minCycleInterval);
        _fairDeposit(bob, 37_000e18);
        CheckList memory list;
        list.s10Checks(s10);
        _assertHeld(list);
    }

    /// A deposit priced at an understated NAV hands the depositor part of the others' value.
    function test_S10_catchesADepositAtAnUnderstatedNav() public {
        _invest();
        _warp(cfg.minCycleInterval);
        TwapOracle o = vault.oracle();
        vm.mockCall(
            address(o), abi.encodeWithSelector(TwapOracle.price.selector), abi.encode(o.price() * 9 / 10)
        );
        _fairDeposit(bob, 37_000e18);
        CheckList memory list;
        list.s10Checks(s10);
        assertFalse(_check(list, "S10_holder_value_loss_wei").passed);
    }
}
