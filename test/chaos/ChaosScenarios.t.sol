// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Check, ScenarioResult} from "../../script/chaos/ScenarioTypes.sol";
import {ScenarioRunner, IVaultFactory} from "../../script/chaos/ScenarioRunner.sol";
import {ForkChaosScenarios} from "../../script/ForkChaosScenarios.s.sol";
import {BrokenVaultFactory, Defect} from "./broken/BrokenModules.sol";
import {OracleSpacingProbe} from "./broken/OracleSpacingProbe.sol";
import {ChaosWorld, World} from "../../script/chaos/ChaosWorld.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @notice Runs OracleSpacingProbe on a vault (the shipped code, or a broken vault's) configured
/// with a one-minute `minCycleInterval`, below the oracle's 7.5-minute spacing.
abstract contract ShortIntervalRun is Test {
    uint256 internal constant SHORT_INTERVAL_CYCLES = 24;

    function _shortIntervalRun(bool broken, Defect d)
        internal
        returns (ScenarioResult memory r, uint256 observed)
    {
        World memory w = ChaosWorld.deployLocal();
        VaultAddresses memory a = ChaosWorld.vaultAddresses(w);
        Config memory cfg = DeployVault.defaultConfig();
        cfg.minCycleInterval = 60;
        YieldVault v = broken ? new BrokenVaultFactory(d).deployVault(a, cfg) : DeployVault.deploy(a, cfg);
        r.id = "short_interval_cycles";
        (r.checks, r.held, observed) = new OracleSpacingProbe(w, v).probe(SHORT_INTERVAL_CYCLES);
    }
}

/// @notice Every scenario of the catalogue holds against the vault as shipped (DeployVault), on
/// the local replicas; the runner's entry points behave as the xtask expects.
contract ChaosScenariosTest is Test, ScenarioRunner, ShortIntervalRun {
    ForkChaosScenarios internal script;

    function setUp() public {
        script = new ForkChaosScenarios();
    }

    function _assertHeld(string memory id) internal {
        ScenarioResult memory r = runScenarioAgainst(id, _factory());
        assertEq(r.id, id);
        assertGt(r.checks.length, 0, "a scenario states its checks");
        assertGt(r.cycles, 0, "a scenario calls cycle()");
        assertTrue(r.held, script.describe(r));
    }

    function test_oracleDivergence_holds() public {
        _assertHeld("oracle_divergence");
    }

    function test_oracleRecovery_holds() public {
        _assertHeld("oracle_recovery");
    }

    function test_closeTradeBlocked_holds() public {
        _assertHeld("close_trade_blocked");
    }

    function test_burnAlpReverts_holds() public {
        _assertHeld("burn_alp_reverts");
    }

    function test_cooldownActive_holds() public {
        _assertHeld("cooldown_active");
    }

    function test_pendingTradeNeverExecuted_holds() public {
        _assertHeld("pending_trade_never_executed");
    }

    function test_flashShortfall_holds() public {
        _assertHeld("flash_shortfall");
    }

    function test_gasSpike_holds() public {
        _assertHeld("gas_spike");
    }

    function test_staleBnbFeed_holds() public {
        _assertHeld("stale_bnb_feed");
    }

    function test_callDelay_holds() public {
        _assertHeld("call_delay");
    }

    function test_sameTimestampBlocks_holds() public {
        _assertHeld("same_timestamp_blocks");
    }

    function test_thinLiquiditySlippage_holds() public {
        _assertHeld("thin_liquidity_slippage");
    }

    function test_repeatedCycleStress_holds() public {
        _assertHeld("repeated_cycle_stress");
    }

    function test_donationInflation_holds() public {
        _assertHeld("donation_inflation");
    }

    function test_sharePriceDrop_holds() public {
        _assertHeld("share_price_drop");
    }

    function test_idleCycle_holds() public {
        _assertHeld("idle_cycle");
    }

    function test_sameBlockManipulation_holds() public {
        _assertHeld("same_block_manipulation");
    }

    /// The oracle's spacing through the vault: a vault cycling every minute for 24 minutes on a
    /// quiet pool stays NORMAL and takes deposits; its oracle wrote only the updates a quarter
    /// window apart (fewer than the ring's 16).
    function test_shortIntervalCycles_holds() public {
        (ScenarioResult memory r, uint256 observed) = _shortIntervalRun(false, Defect.GUARD_DISABLED);
        assertEq(r.checks.length, SHORT_INTERVAL_CYCLES + 1);
        assertTrue(r.held, script.describe(r));
        emit log_named_uint("oracle observations after the run", observed);
        assertLt(observed, 16, "observations spaced by a quarter window");
    }

    function test_catalogue_hasEighteenDistinctIds() public pure {
        string[] memory ids = scenarioIds();
        assertEq(ids.length, 18);
        for (uint256 i; i < ids.length; ++i) {
            _groupOf(ids[i]); // every id is dispatched
            for (uint256 j = i + 1; j < ids.length; ++j) {
                assertTrue(keccak256(bytes(ids[i])) != keccak256(bytes(ids[j])));
            }
        }
    }

    function test_runScenario_revertsOnUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(ScenarioRunner.UnknownScenario.selector, "no_such_fault"));
        script.runScenario("no_such_fault");
    }

    function test_runScenarios_rejectsAnUnknownIdBeforeRunningAny() public {
        string[] memory ids = new string[](2);
        ids[0] = "gas_spike";
        ids[1] = "oracle_divergenc";
        vm.expectRevert(abi.encodeWithSelector(ScenarioRunner.UnknownScenario.selector, "oracle_divergenc"));
        script.runScenarios(ids);
    }

    /// Scenarios batched on one chain are isolated: the same scenario twice gives the same
    /// result, and the chain is left as it was.
    function test_runScenarios_isolatesScenarios() public {
        string[] memory ids = new string[](3);
        ids[0] = "oracle_divergence";
        ids[1] = "gas_spike";
        ids[2] = "oracle_divergence";
        ScenarioResult[] memory rs = script.runScenarios(ids);
        assertEq(rs.length, 3);
        assertEq(keccak256(abi.encode(rs[0])), keccak256(abi.encode(rs[2])));
        assertTrue(rs[0].held && rs[1].held);
    }

    function test_describe_namesEveryFailedCheck() public view {
        ScenarioResult memory r;
        r.id = "x";
        r.checks = new Check[](3);
        r.checks[0] = Check("S1_nav_loss_beyond_bounty_wei", 5, 3, "<=", false);
        r.checks[1] = Check("S2_bounty_vs_gas_cap_wei", 1, 2, "<=", true);
        r.checks[2] = Check("S4_risk_mode", 0, 1, "==", false);
        assertEq(
            script.describe(r),
            "FAIL x: S1_nav_loss_beyond_bounty_wei = 5 (want <= 3), S4_risk_mode = 0 (want == 1)"
        );
        r.held = true;
        assertEq(script.describe(r), "PASS x");
    }
}

/// @notice The suite catches real defects: each deliberately broken vault makes the matching
/// scenario fail, on the checks that describe its defect.
contract BrokenVaultsTest is Test, ScenarioRunner, ShortIntervalRun {
    function _failed(string memory id, Defect d) internal returns (ScenarioResult memory r) {
        IVaultFactory broken = new BrokenVaultFactory(d);
        r = runScenarioAgainst(id, broken);
        assertFalse(r.held, string.concat(id, " must fail against the broken vault"));
    }

    function _assertCheckFailed(ScenarioResult memory r, string memory name) internal pure {
        for (uint256 i; i < r.checks.length; ++i) {
            if (keccak256(bytes(r.checks[i].name)) == keccak256(bytes(name))) {
                assertFalse(r.checks[i].passed, string.concat(name, " held; failed: ", _failedNames(r)));
                return;
            }
        }
        revert(string.concat("no check named ", name));
    }

    /// The names of the checks that failed, for a message that says where the defect showed.
    function _failedNames(ScenarioResult memory r) internal pure returns (string memory names) {
        for (uint256 i; i < r.checks.length; ++i) {
            if (!r.checks[i].passed) names = string.concat(names, r.checks[i].name, " ");
        }
    }

    function _assertCheckPassed(ScenarioResult memory r, string memory name) internal pure {
        for (uint256 i; i < r.checks.length; ++i) {
            if (keccak256(bytes(r.checks[i].name)) == keccak256(bytes(name))) {
                assertTrue(r.checks[i].passed, name);
                return;
            }
        }
        revert(string.concat("no check named ", name));
    }

    /// Some check whose name is `base` followed by a tag (`_c17`, ...) failed.
    function _assertSomeFailed(ScenarioResult memory r, string memory base) internal pure {
        bytes memory b = bytes(base);
        for (uint256 i; i < r.checks.length; ++i) {
            bytes memory n = bytes(r.checks[i].name);
            if (r.checks[i].passed || n.length < b.length) continue;
            bool prefix = true;
            for (uint256 k; k < b.length && prefix; ++k) {
                prefix = n[k] == b[k];
            }
            if (prefix) return;
        }
        revert(string.concat("no failed check named ", base, "*"));
    }

    function test_guardDisabled_failsOracleDivergence() public {
        ScenarioResult memory r = _failed("oracle_divergence", Defect.GUARD_DISABLED);
        _assertCheckFailed(r, "S4_risk_mode");
        _assertCheckFailed(r, "S4_deposit_reverted_DepositsPaused");
    }

    function test_bountyIgnoringMaxGasPrice_failsGasSpike() public {
        ScenarioResult memory r = _failed("gas_spike", Defect.BOUNTY_IGNORES_MAX_GAS_PRICE);
        _assertCheckFailed(r, "S2_bounty_vs_gas_cap_wei_1000gwei");
        _assertCheckFailed(r, "S2_bounty_vs_gas_cap_wei_50gwei");
    }

    function test_flashCapIgnored_failsFlashShortfall() public {
        ScenarioResult memory r = _failed("flash_shortfall", Defect.FLASH_CAP_IGNORED);
        _assertCheckFailed(r, "S3_borrowed_vs_cap_wei_10pct");
    }

    function test_cooldownIgnored_failsCooldownActive() public {
        ScenarioResult memory r = _failed("cooldown_active", Defect.COOLDOWN_IGNORED);
        _assertCheckFailed(r, "cycle_succeeded");
    }

    function test_closeTradeFailureSwallowed_failsCloseTradeBlocked() public {
        ScenarioResult memory r = _failed("close_trade_blocked", Defect.CLOSE_FAILURE_SWALLOWED);
        _assertCheckFailed(r, "S5_reverted_HedgeCloseFailed_attempt1");
        _assertCheckFailed(r, "S5_digest_changed_attempt1");
    }

    function test_secondHedgeOpened_failsPendingTradeNeverExecuted() public {
        ScenarioResult memory r = _failed("pending_trade_never_executed", Defect.SECOND_HEDGE_OPENED);
        _assertCheckFailed(r, "S8_trades_sent");
    }

    /// S9 (reported NAV against the shadow NAV): the views price the legs at the pool's spot.
    /// Before the cycle that sees the push, the reported NAV has moved with the pool.
    function test_spotValuedViews_failsNavAgreement() public {
        ScenarioResult memory r = _failed("oracle_divergence", Defect.SPOT_VALUED_VIEWS);
        _assertCheckFailed(r, "S9_nav_vs_shadow_wei_before_cycle");
    }

    /// S1 against the cycle's own trading: ONLY_UNWIND sells BTCB without a minimum; the stress
    /// run's downward moves beyond the guard make those sales lose more than their budget.
    function test_unwindWithoutMinimum_failsVolumeScaledS1() public {
        ScenarioResult memory r = _failed("repeated_cycle_stress", Defect.UNWIND_WITHOUT_MINIMUM);
        _assertSomeFailed(r, "S1_nav_loss_beyond_bounty_wei");
    }

    /// S10 (depositor fairness): without the virtual share offset, a 1 wei first deposit and a
    /// donation make a victim's 60k deposit worth a fraction of what it paid.
    function test_noVirtualShares_failsDepositorFairness() public {
        ScenarioResult memory r = _failed("donation_inflation", Defect.NO_VIRTUAL_SHARES);
        _assertCheckFailed(r, "S10_depositor_shortfall_wei");
    }

    /// The share-price trigger (maxNavDropBps) disabled: a loss on the ALP leg beyond the
    /// trigger, the pool unmoved, leaves the vault NORMAL.
    function test_navDropIgnored_failsSharePriceDrop() public {
        ScenarioResult memory r = _failed("share_price_drop", Defect.NAV_DROP_IGNORED);
        _assertCheckFailed(r, "S4_risk_mode_beyond");
        _assertCheckFailed(r, "S4_deposit_reverted_DepositsPaused_beyond");
    }

    /// S6 against the cycle's own activity: an idle cycle pays a bounty, within both caps and
    /// excused by S1, but a cycle with no operation may not move the share price at all.
    function test_idleCycleBounty_failsActivityScaledS6() public {
        ScenarioResult memory r = _failed("same_timestamp_blocks", Defect.IDLE_CYCLE_BOUNTY);
        _assertSomeFailed(r, "S6_share_price_drop_wei");
    }

    /// idle_cycle: a cycle with nothing to do pays nothing (the keeper's balance).
    function test_idleCycleBounty_failsIdleCycle() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.IDLE_CYCLE_BOUNTY);
        _assertCheckFailed(r, "S2_idle_bounty_wei");
        _assertCheckFailed(r, "S6_share_price_drop_wei");
    }

    /// Finding 1 as it was: the pending short forgotten at pendingHedgeTimeout and sent again.
    function test_pendingResentAfterTimeout_failsPendingTradeNeverExecuted() public {
        ScenarioResult memory r = _failed("pending_trade_never_executed", Defect.PENDING_RESENT_AFTER_TIMEOUT);
        _assertCheckFailed(r, "S8_trades_sent");
        _assertCheckFailed(r, "S8_pending_trades_on_aster");
        _assertSomeFailed(r, "S9_nav_vs_shadow_wei");
    }

    /// Finding 2 as it was: the shorts valued at the vault's TWAP, not at Aster's price. The
    /// stress run's market moves put Aster's price ahead of the lagging TWAP.
    function test_hedgeValuedAtTwap_failsNavAgreement() public {
        ScenarioResult memory r = _failed("repeated_cycle_stress", Defect.HEDGE_VALUED_AT_TWAP);
        _assertSomeFailed(r, "S9_nav_vs_shadow_wei");
    }

    /// rebalanceThresholdBps ignored: a drift inside the threshold is traded.
    function test_rebalanceThresholdIgnored_failsIdleCycle() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.REBALANCE_THRESHOLD_IGNORED);
        _assertCheckFailed(r, "idle_operations_inside");
    }

    /// safeCycleThreshold ignored: ONLY_UNWIND ends after one healthy cycle.
    function test_earlyRecovery_failsOracleRecovery() public {
        ScenarioResult memory r = _failed("oracle_recovery", Defect.EARLY_RECOVERY);
        _assertCheckFailed(r, "S4_exit_after_healthy_cycles");
    }

    /// minCycleInterval ignored: a second cycle in the same second goes through.
    function test_noRateLimit_failsSameTimestampBlocks() public {
        ScenarioResult memory r = _failed("same_timestamp_blocks", Defect.NO_RATE_LIMIT);
        _assertCheckFailed(r, "same_ts_cycles_not_CycleTooSoon_t0");
    }

    /// maxBountyBps ignored: a small vault pays the whole gas-based bounty.
    function test_bountyNavCapIgnored_failsGasSpike() public {
        ScenarioResult memory r = _failed("gas_spike", Defect.BOUNTY_NAV_CAP_IGNORED);
        _assertCheckFailed(r, "S2_bounty_vs_nav_cap_wei_small_vault");
    }

    /// maxOracleAge ignored: a stale BNB/USD answer still prices the bounty.
    function test_staleFeedTrusted_failsStaleBnbFeed() public {
        ScenarioResult memory r = _failed("stale_bnb_feed", Defect.STALE_BNB_FEED_TRUSTED);
        _assertCheckFailed(r, "S2_bounty_wei_stale");
        _assertCheckFailed(r, "S2_bounty_vs_gas_cap_wei_stale");
    }

    /// deltaBandBps ignored: the vault never hedges its LP's BTCB.
    function test_hedgeBandIgnored_failsHedgeBand() public {
        ScenarioResult memory r = _failed("pending_trade_never_executed", Defect.HEDGE_BAND_IGNORED);
        _assertSomeFailed(r, "S8_abs_delta_bps");
    }

    /// minFlashStepBps ignored: a 1% flash pair still lends a sliver instead of the fallback.
    function test_tinyFlashStep_failsFlashShortfall() public {
        ScenarioResult memory r = _failed("flash_shortfall", Defect.TINY_FLASH_STEP);
        _assertCheckFailed(r, "flash_fallback_1pct");
    }

    /// maxTwapAge ignored: after a day without cycles the vault stays NORMAL and takes deposits.
    function test_staleTwapIgnored_failsCallDelay() public {
        ScenarioResult memory r = _failed("call_delay", Defect.STALE_TWAP_IGNORED);
        _assertCheckFailed(r, "S4_risk_mode_1d");
        _assertCheckFailed(r, "S4_deposit_reverted_DepositsPaused_1d");
    }

    /// A spot-valued vault lets a same-block push move its share price.
    function test_spotValuedViews_failsSameBlockManipulation() public {
        ScenarioResult memory r = _failed("same_block_manipulation", Defect.SPOT_VALUED_VIEWS);
        _assertCheckFailed(r, "share_price_moved_by_push_wei_inside");
        _assertCheckFailed(r, "S9_nav_vs_shadow_wei_pushed_inside");
    }

    /// The gas refund computed with 3 x bountyGasUnits: the bounty passes 1.5 x the refund that
    /// the shipped bountyGasUnits allows.
    function test_gasUnitsInflated_failsGasSpike() public {
        ScenarioResult memory r = _failed("gas_spike", Defect.BOUNTY_GAS_UNITS_INFLATED);
        _assertSomeFailed(r, "S2_bounty_vs_gas_cap_wei");
    }

    /// A failing burnAlp not skipped: the unwind's cycle reverts instead of going on, and the
    /// rest of the unwind (the LP) is undone with it.
    function test_burnFailureReverts_failsBurnAlpReverts() public {
        ScenarioResult memory r = _failed("burn_alp_reverts", Defect.BURN_FAILURE_REVERTS_CYCLE);
        _assertCheckFailed(r, "cycle_succeeded");
        _assertCheckFailed(r, "S5_lp_unwound_wei");
    }

    /// stormVolBps never reached: the stormy market reads NORMAL and no flash step is taken.
    function test_stormNeverDetected_failsFlashShortfall() public {
        ScenarioResult memory r = _failed("flash_shortfall", Defect.STORM_NEVER_DETECTED);
        _assertCheckFailed(r, "precondition_storm_cycle_50pct");
        _assertCheckFailed(r, "flash_full_step_50pct");
    }

    /// The repayment not bound to the unwind's proceeds: the step that must revert whole
    /// (FlashRepayShortfall) repays from the buffer and "succeeds".
    function test_flashShortfallFromBuffer_failsFlashShortfall() public {
        ScenarioResult memory r = _failed("flash_shortfall", Defect.FLASH_SHORTFALL_FROM_BUFFER);
        _assertCheckFailed(r, "flash_step_reverted_to_fallback_50pct_spot_below_twap");
    }

    /// profitBountyBps doubled: with the profit share the binding term (`_profit_inside`), the
    /// bounty passes the gas refund + profitBountyBps x the shadow gain.
    function test_profitShareInflated_failsIdleCycle() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.PROFIT_SHARE_INFLATED);
        _assertCheckFailed(r, "S2_bounty_vs_profit_share_wei_profit_inside");
    }

    /// The buffer weight spent on LP: the rebalance lands with the buffer far below its target.
    function test_bufferTargetIgnored_failsIdleCycle() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.BUFFER_TARGET_IGNORED);
        _assertCheckFailed(r, "landing_buffer_off_wei_land");
        _assertCheckFailed(r, "landing_buffer_vs_target_floor_wei_land");
    }

    /// hedgeLeverage ignored (50x): the short the rebalance sends carries a tenth of its margin.
    function test_leverageIgnored_failsIdleCycle() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.LEVERAGE_IGNORED);
        _assertCheckFailed(r, "landing_hedge_margin_vs_leverage_wei_land");
    }

    /// Every LP add refused and swallowed (mutant aeaf54997d's effect): the LP leg does not land.
    function test_lpAddSwallowed_failsIdleCycle() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.LP_ADD_SWALLOWED);
        _assertCheckFailed(r, "landing_lp_leg_off_wei_land");
    }

    /// The withdrawal queue's mint guard patched out: the rebalance mints ALP while a claim waits.
    function test_mintWhileClaimsWait_failsIdleCycle() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.MINT_WHILE_CLAIMS_WAIT);
        _assertCheckFailed(r, "S7_alp_minted_while_claims_wait_queued");
    }

    /// maxWithdraw reads the caller's balance: in ONLY_UNWIND the holder is offered nothing.
    function test_maxWithdrawReadsCaller_failsOracleDivergence() public {
        ScenarioResult memory r = _failed("oracle_divergence", Defect.MAX_WITHDRAW_READS_CALLER);
        _assertCheckFailed(r, "S7_max_withdraw_vs_liquid_share_wei");
        _assertCheckFailed(r, "S7_max_withdraw_wei");
    }

    /// The oracle built with half the configured twapWindow: while the stress run moves the
    /// price, the vault's TWAP leaves the range the configured window admits.
    function test_twapWindowHalved_failsNavAgreement() public {
        ScenarioResult memory r = _failed("repeated_cycle_stress", Defect.TWAP_WINDOW_HALVED);
        _assertSomeFailed(r, "S9_nav_vs_shadow_wei");
    }

    /// The reentrancy lock never taken: a USDT transfer hook re-enters cycle() during a redemption.
    function test_reentrancyLockNeverTaken_failsSameBlockManipulation() public {
        ScenarioResult memory r = _failed("same_block_manipulation", Defect.REENTRANCY_LOCK_NEVER_TAKEN);
        _assertCheckFailed(r, "reentrancy_cycle_in_redeem_refused");
    }

    /// The LP add buys BTCB with the whole amount and leaves it loose: the landing checks, whose
    /// tolerance includes loose BTCB, let it pass; the loose BTCB check does not.
    function test_lpAddBuysAllBtcb_failsLooseBtcb() public {
        ScenarioResult memory r = _failed("idle_cycle", Defect.LP_ADD_BUYS_ALL_BTCB);
        _assertCheckFailed(r, "landing_loose_btcb_wei_land");
        _assertCheckPassed(r, "landing_lp_leg_off_wei_land");
    }

    /// A full unwind closes only the short beyond target + band: one inside the band stays open
    /// on Aster after the vault has nothing left to hedge.
    function test_fullUnwindKeepsShortInBand_failsOracleDivergence() public {
        ScenarioResult memory r = _failed("oracle_divergence", Defect.FULL_UNWIND_KEEPS_SHORT_IN_BAND);
        _assertCheckFailed(r, "S5_open_shorts_after_unwind_short_inside_band");
    }

    /// Funding the shorts pay is not deducted: the vault's hedge leg passes the shadow's.
    function test_fundingSignReversed_failsHedgeLeg() public {
        ScenarioResult memory r = _failed("pending_trade_never_executed", Defect.FUNDING_SIGN_REVERSED);
        _assertSomeFailed(r, "S9_hedge_leg_vs_shadow_wei");
    }

    /// Funded claims' USDT counted as free: the vault's liquid assets pass the shadow's free USDT.
    function test_freeUsdtIgnoresClaims_failsCooldownActive() public {
        ScenarioResult memory r = _failed("cooldown_active", Defect.FREE_USDT_IGNORES_CLAIMS);
        _assertCheckFailed(r, "S7_liquid_assets_vs_shadow_usdt_free_wei_claims_funded");
    }

    /// A USDT transfer that reverts without data taken for success: Alice's redemption burns her
    /// shares and pays nothing; one that returns false is still refused.
    function test_tokenRevertSwallowed_failsStrangers() public {
        ScenarioResult memory r = _failed("same_block_manipulation", Defect.TOKEN_REVERT_SWALLOWED);
        _assertCheckFailed(r, "token_fault_redeem_refused_revert_empty");
        _assertCheckFailed(r, "token_fault_owner_shares_moved_revert_empty");
        _assertCheckPassed(r, "token_fault_redeem_refused_returns_false");
    }

    /// withdraw/redeem skip the allowance of a spender: Mallory redeems Alice's shares.
    function test_allowanceSkippedForSpenders_failsStrangers() public {
        ScenarioResult memory r = _failed("same_block_manipulation", Defect.ALLOWANCE_SKIPPED_FOR_SPENDERS);
        _assertCheckFailed(r, "access_stranger_calls_through");
        _assertCheckFailed(r, "allowance_redeem_spent");
    }

    /// previewWithdraw and withdraw round the shares burnt down, in the withdrawer's favour.
    function test_previewWithdrawRoundsDown_failsRounding() public {
        ScenarioResult memory r = _failed("donation_inflation", Defect.PREVIEW_WITHDRAW_ROUNDS_DOWN);
        _assertCheckFailed(r, "erc4626_withdraw_rounds_up");
        _assertCheckPassed(r, "erc4626_withdraw_vs_preview");
    }

    /// The positions cap made 9: Aster's book holds nine positions before the merge.
    function test_positionsCapNine_failsPositionsCap() public {
        ScenarioResult memory r = _failed("pending_trade_never_executed", Defect.POSITIONS_CAP_NINE);
        _assertCheckFailed(r, "S8_positions_on_aster_max");
    }

    /// The oracle skips the accrual for a 1 wei reserve: the drained pair's price never reaches
    /// the TWAP.
    function test_twapSkipsDustReserve_failsDrainedPool() public {
        ScenarioResult memory r = _failed("donation_inflation", Defect.TWAP_SKIPS_DUST_RESERVE);
        _assertCheckFailed(r, "oracle_twap_vs_pair_wei_drained");
    }

    /// _validate bounds hedgeLeverage at 100: 51x is accepted.
    function test_leverageBoundLoosened_failsConfig() public {
        ScenarioResult memory r = _failed("donation_inflation", Defect.LEVERAGE_BOUND_LOOSENED);
        _assertCheckFailed(r, "config_refused_hedgeLeverage_51");
        _assertCheckPassed(r, "config_refused_hedgeLeverage_0");
    }

    /// A failed ALP burn funds the epoch anyway: inside Aster's cooldown the claim's epoch is
    /// funded with no ALP proceeds, so after the cooldown nothing is claimable and Alice is paid
    /// less than her claim was worth.
    function test_claimsFundedWithoutBurn_failsCooldownActive() public {
        ScenarioResult memory r = _failed("cooldown_active", Defect.CLAIMS_FUNDED_WITHOUT_BURN);
        _assertCheckFailed(r, "S7_claimable_after_cooldown_plus_one_cycle_wei");
        _assertCheckFailed(r, "S7_total_received_wei");
        _assertCheckPassed(r, "S7_alp_burned_events_in_cooldown");
    }

    /// The token1 branch of the flash borrow asks for token0 too: the pair hands it out, the
    /// vault's own callback refuses the loan (amounts mismatch) and every step of that branch
    /// falls back. (This test world's flash pair holds USDT as token1 as well, so its own flash
    /// cases fail too; on the chaos chain, USDT token0, only the `_usdt_token1` case does.)
    function test_flashToken1BorrowsToken0_failsUsdtToken1() public {
        ScenarioResult memory r = _failed("flash_shortfall", Defect.FLASH_TOKEN1_BORROWS_TOKEN0);
        _assertCheckPassed(r, "precondition_storm_cycle_usdt_token1");
        _assertCheckFailed(r, "flash_full_step_usdt_token1");
        _assertCheckFailed(r, "flash_pair_swap_seen_usdt_token1");
    }

    /// A vault that never hedges and reports a trade pending for ever: S8's precondition, read
    /// from Aster's book (which holds no trade of the vault), still judges every NORMAL cycle of
    /// the stress run. Read from the vault's `pendingHedge()`, it skipped all of them.
    function test_unhedgedExcusedByPending_failsStressS8() public {
        ScenarioResult memory r = _failed("repeated_cycle_stress", Defect.UNHEDGED_EXCUSED_BY_PENDING);
        _assertSomeFailed(r, "S8_abs_delta_bps");
    }

    /// The oracle writes every update (its spacing skip patched out): a vault cycling every
    /// minute fills the ring of 16 with 15 minutes, half a window: its TWAP is no longer ready,
    /// and the quiet pool reads as an unready oracle: ONLY_UNWIND, deposits paused.
    function test_oracleSpacingSkipRemoved_failsShortIntervalCycles() public {
        (ScenarioResult memory r, uint256 observed) =
            _shortIntervalRun(true, Defect.ORACLE_SPACING_SKIP_REMOVED);
        assertEq(observed, 16, "every update wrote an observation");
        _assertCheckFailed(r, "S4_risk_mode_short_interval_c24");
        _assertCheckFailed(r, "S4_deposit_succeeded_short_interval");
    }

    /// Deposits priced at the pool's spot, every view at the TWAP: a deposit made with the pool
    /// pushed mints shares the other holders pay for. S9 and the share price cannot see it (the
    /// views are right); S10 can.
    function test_depositsPricedAtSpot_failsSameBlockManipulation() public {
        ScenarioResult memory r = _failed("same_block_manipulation", Defect.DEPOSITS_PRICED_AT_SPOT);
        _assertCheckFailed(r, "S10_holder_value_loss_wei");
        _assertCheckPassed(r, "S9_nav_vs_shadow_wei_pushed_inside");
        _assertCheckPassed(r, "share_price_moved_by_push_wei_inside");
    }

    /// `mulDiv`'s 512-bit branch broken (mutant 17a1b683f8, a bytecode patch): no amount, supply
    /// or real price reaches the branch, but a fresh BNB/USD answer of `type(int192).max` does
    /// (the gas refund's product passes 2^256): `gasRefundUsd()` is no longer the feed's price
    /// times the gas, and the cycle reverts on the bounty's gas cap (`gasCost * 3` overflows).
    /// The fresh, stale and at-bound feeds, whose products stay below 2^256, still pay what the
    /// clean vault pays.
    function test_mulDivWideBranchBroken_failsStaleBnbFeedAbsurd() public {
        ScenarioResult memory r = _failed("stale_bnb_feed", Defect.MULDIV_WIDE_BRANCH_BROKEN);
        _assertCheckFailed(r, "S2_gas_refund_vs_feed_wei_absurd");
        _assertCheckFailed(r, "cycle_succeeded_absurd");
        _assertCheckPassed(r, "S2_bounty_wei_stale");
        _assertCheckPassed(r, "S2_bounty_vs_fresh_feed_bounty_wei_at_bound");
        _assertCheckPassed(r, "S2_bounty_with_fresh_feed_wei");
    }
}
