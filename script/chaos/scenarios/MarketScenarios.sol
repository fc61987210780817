// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {ScenarioResult} from "../ScenarioTypes.sol";
import {World} from "../ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList} from "../SteadyState.sol";
import {FaultInjection, RecordedCall} from "../FaultProxy.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {OracleReading, Regime, RiskMode} from "../../../contracts/vault/VaultTypes.sol";
import {IERC20} from "../../../contracts/interfaces/IERC20.sol";
import {IPancakeFactory, IPancakePair, IPancakeRouter02} from "../../../contracts/interfaces/IPancake.sol";
import {ChaosWorld} from "../ChaosWorld.sol";
import {IVaultFactory} from "../ScenarioRunner.sol";
import {VaultAddresses} from "../../../contracts/vault/VaultTypes.sol";
import {AggregatorV3Interface} from "../../../contracts/interfaces/IChainlink.sol";

/// @title MarketScenarios
/// @notice Liquidity, gas and price-feed faults: a drained flash pair, gas price spikes, a
/// stale / zero / negative BNB feed, and a thinned LP pool.
contract MarketScenarios is ScenarioBase {
    using SteadyState for CheckList;

    /// Work for a cycle: a deposit that pushes the buffer beyond the rebalance threshold.
    uint256 internal constant WORK_DEPOSIT = 30_000e18;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external override returns (ScenarioResult memory) {
        if (_is(id, "flash_shortfall")) return _flashShortfall();
        if (_is(id, "gas_spike")) return _gasSpike();
        if (_is(id, "stale_bnb_feed")) return _staleBnbFeed();
        if (_is(id, "thin_liquidity_slippage")) return _thinLiquidity();
        if (_is(id, "donation_inflation")) return _donationInflation();
        revert UnknownScenario(id);
    }

    // ---------------------------------------------------------------- flash_shortfall

    struct FlashRun {
        bool storm;
        uint256 cap;
        /// @dev (spot - TWAP) / TWAP in bps as the STORM cycle sees it (the vault's oracle, same
        /// block); type(int16).max when the oracle is not ready.
        int256 spotVsTwapBps;
        Snapshot a;
        Snapshot b;
        CycleOutcome o;
    }

    /// Spot below the TWAP by more than the unwind's BTCB sale may lose (swapSlippageBps), still
    /// within the deviation guard (NORMAL mode): the crash blocks of a seeded history.
    int256 internal constant SPOT_BELOW_TWAP_BPS = -150;

    /// The flash pair drained to 50%, 10% and 1% of its reserves (deal + sync), then the market
    /// turns stormy and the vault deleverages: the borrow never exceeds flashCapBps of the
    /// drained reserve, it is capped (partial step) when the need is larger and falls back to
    /// the non-flash path when even a capped step is too small; no debt, no allowance, the flash
    /// pair's K holds (S3, S1). The STORM cycle sees spot at the TWAP: the flash loan is repaid
    /// from the unwind's own BTCB sale, which must clear its TWAP-bounded minimum. A fourth case
    /// (50%, spot below the TWAP beyond swapSlippageBps) holds the vault to refusing that sale:
    /// the flash step reverts as a whole and the non-flash path runs, nothing sold, no debt. A
    /// fifth (`_at_cap`) drains the pair to the reserve whose cap is exactly what the 50% case
    /// borrowed (read from the flash pair's own Swap event): a need equal to the cap is a full
    /// step, not a capped one.
    function _flashShortfall() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        uint16[5] memory keeps = [uint16(5000), 1000, 100, 5000, 0];
        string[5] memory tags = ["_50pct", "_10pct", "_1pct", "_50pct_spot_below_twap", "_at_cap"];
        uint256 need;
        for (uint256 i; i < 5; ++i) {
            uint256 snap = vm.snapshotState();
            if (i == 4) _drainFlashPairToCap(need);
            else _drainPair(w.flashPair, keeps[i]);
            _recordRemovals();
            FlashRun memory f = _driveToStorm(i == 3 ? SPOT_BELOW_TWAP_BPS : int256(0));
            string memory tag = tags[i];
            list.isTrue(string.concat("precondition_storm_cycle", tag), f.storm);
            if (i == 3) {
                list.lt(
                    string.concat("precondition_spot_vs_twap_bps", tag),
                    f.spotVsTwapBps,
                    -int256(uint256(cfg.swapSlippageBps))
                );
            } else {
                int256 off = f.spotVsTwapBps < 0 ? -f.spotVsTwapBps : f.spotVsTwapBps;
                list.le(string.concat("precondition_abs_spot_vs_twap_bps", tag), off, 1);
            }
            if (i == 0) need = _flashBorrowSeen(f.o.logs);
            _checkCycle(list, tag, f.a, f.b, f.o);
            _checkFlash(list, tag, f, i);
            _checkRemovalMinima(list, tag, f.o.logs);
            vm.revertToState(snap);
        }
        _flashUsdtToken1(list);
        return _result(
            "flash_shortfall",
            "flash pair reserves drained to 50%, 10%, 1% and to a cap of exactly the need before a storm; 50% with spot below the TWAP",
            list
        );
    }

    /// USDT the flash pair handed out in the first Swap it emitted (the flash loan), 0 if none.
    function _flashBorrowSeen(Vm.Log[] memory logs) internal view returns (uint256) {
        (bool found, bytes memory data) = _firstLog(logs, w.flashPair, PAIR_SWAP_TOPIC);
        if (!found) return 0;
        (,, uint256 out0, uint256 out1) = abi.decode(data, (uint256, uint256, uint256, uint256));
        return IPancakePair(w.flashPair).token0() == w.usdt ? out0 : out1;
    }

    /// Where `_flashUsdtToken1` puts its token: an address below USDT's on BSC (0x55d3...) and
    /// on the local chain (0x5FbD...), so USDT is the pair's token1.
    address internal constant LOW_TOKEN = address(0x1000);

    /// The branch no pair of this world takes: BSC's WBNB/USDT and the local chain's flash pair
    /// both hold USDT as token0. In a snapshot, a second vault of the code under test (the
    /// scenario's factory) borrows from a pair of USDT and a token that sorts below it (WBNB's
    /// code at `LOW_TOKEN`), holding the world flash pair's reserves: after the baseline the same
    /// storm takes one full flash step, and the pair's own Swap event hands out the borrowed
    /// USDT as amount1 and nothing of token0.
    function _flashUsdtToken1(CheckList memory list) internal {
        string memory tag = "_usdt_token1";
        IVaultFactory factory = _vaultFactory();
        list.isTrue(string.concat("precondition_vault_factory", tag), address(factory) != address(0));
        if (address(factory) == address(0)) return;
        uint256 snap = vm.snapshotState();
        address pair = _usdtToken1Pair();
        list.isTrue(
            string.concat("precondition_flash_pair_token1_is_usdt", tag),
            IPancakePair(pair).token1() == w.usdt
        );
        VaultAddresses memory va = ChaosWorld.vaultAddresses(w);
        va.flashPair = pair;
        vault = factory.deployVault(va, cfg);
        (w.flashPair, deps.flashPair) = (pair, pair);
        _baseline(true);
        FlashRun memory f = _driveToStorm(0);
        list.isTrue(string.concat("precondition_storm_cycle", tag), f.storm);
        _checkUsdtToken1Flash(list, tag, f.o.logs, pair);
        vm.revertToState(snap);
    }

    /// One full flash step, and the pair's Swap handing out the borrowed USDT as amount1 only.
    function _checkUsdtToken1Flash(
        CheckList memory list,
        string memory tag,
        Vm.Log[] memory logs,
        address pair
    ) internal view {
        (bool flashed, bytes memory data) =
            _firstLog(logs, address(vault), VaultCore.FlashDeleverage.selector);
        uint256 borrowed;
        bool partialStep;
        if (flashed) (borrowed,,, partialStep) = abi.decode(data, (uint256, uint256, uint256, bool));
        list.isTrue(string.concat("flash_full_step", tag), flashed && !partialStep);
        (bool swapped, bytes memory sd) = _firstLog(logs, pair, PAIR_SWAP_TOPIC);
        list.isTrue(string.concat("flash_pair_swap_seen", tag), swapped);
        if (!swapped) return;
        (,, uint256 out0, uint256 out1) = abi.decode(sd, (uint256, uint256, uint256, uint256));
        list.eq(string.concat("flash_token0_out_wei", tag), int256(out0), 0);
        list.eq(string.concat("flash_usdt_out_vs_borrowed_wei", tag), int256(out1), int256(borrowed));
    }

    /// A Pancake pair of USDT and `LOW_TOKEN` (created through the world's factory), funded
    /// with the world flash pair's reserves.
    function _usdtToken1Pair() internal returns (address pair) {
        vm.etch(LOW_TOKEN, w.wbnb.code);
        IPancakeFactory factory = IPancakeFactory(IPancakeRouter02(w.router).factory());
        pair = factory.createPair(LOW_TOKEN, w.usdt);
        (uint112 r0, uint112 r1,) = IPancakePair(w.flashPair).getReserves();
        bool usdt0 = IPancakePair(w.flashPair).token0() == w.usdt;
        (uint256 rUsdt, uint256 rOther) = usdt0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        _setBalance(LOW_TOKEN, pair, rOther);
        _setBalance(w.usdt, pair, rUsdt);
        IPancakePair(pair).mint(MARKET);
    }

    /// Pancake V2 pair's `Burn(sender, amount0, amount1, to)`.
    bytes32 internal constant PAIR_BURN_TOPIC = keccak256("Burn(address,uint256,uint256,address)");

    /// A fault proxy in front of the router that records every `removeLiquidity` call which went
    /// through (caller, arguments, return data) in the router's own storage, the real router code
    /// running behind it: installed inside the case's state snapshot, so the snapshot's revert
    /// takes the proxy and its record away with the rest of the state.
    function _recordRemovals() internal {
        FaultInjection.install(w.router);
        FaultInjection.record(w.router, IPancakeRouter02.removeLiquidity.selector);
    }

    /// Before each cycle of `_driveToStorm`: a fresh record (arming again clears it), so the
    /// record holds the removals of the cycle whose logs are checked.
    function _clearRemovalRecord() internal {
        if (FaultInjection.isInstalled(w.router)) {
            FaultInjection.record(w.router, IPancakeRouter02.removeLiquidity.selector);
        }
    }

    /// Every LP removal of the storm cycle that went through (the vault's `removeLiquidity`
    /// calls the recording proxy in front of the router kept; a call that reverted, alone or
    /// with a flash step around it, left no entry): the LP pair's own `Burn` to the vault paid
    /// what the router returned, and the minima the vault passed equal what that `Burn` paid
    /// less swapSlippageBps, floored. A minimum below is looser than the configured slippage (a
    /// removal sandwiched by a pool move would pass), one above tighter (a pool move inside the
    /// allowance would make the removal revert).
    function _checkRemovalMinima(CheckList memory list, string memory tag, Vm.Log[] memory logs) internal {
        RecordedCall[] memory calls =
            FaultInjection.recorded(w.router, IPancakeRouter02.removeLiquidity.selector);
        uint256 seen;
        for (uint256 i; i < calls.length; ++i) {
            if (calls[i].caller != address(vault)) continue;
            seen++;
            _checkRemoval(list, tag, calls[i], logs);
        }
        list.ge(string.concat("precondition_lp_removals_seen", tag), int256(seen), 1);
    }

    /// One recorded `removeLiquidity` of the vault against the pair's `Burn` that paid it.
    function _checkRemoval(
        CheckList memory list,
        string memory tag,
        RecordedCall memory call,
        Vm.Log[] memory logs
    ) internal view {
        (bool shaped, uint256 minBtc, uint256 minUsdt) = _removalMinima(call.args);
        list.isTrue(string.concat("lp_removal_call_btcb_usdt_to_vault", tag), shaped);
        (uint256 retBtc, uint256 retUsdt) = abi.decode(call.returned, (uint256, uint256));
        (bool burnt, uint256 outBtc, uint256 outUsdt) = _burnPaying(logs, retBtc, retUsdt);
        list.isTrue(string.concat("lp_removal_burn_seen", tag), burnt);
        if (!burnt) return;
        outBtc = _lessSlippage(outBtc);
        outUsdt = _lessSlippage(outUsdt);
        list.ge(string.concat("S1_lp_removal_min_btcb_vs_paid_wei", tag), int256(minBtc), int256(outBtc));
        list.ge(string.concat("S1_lp_removal_min_usdt_vs_paid_wei", tag), int256(minUsdt), int256(outUsdt));
        list.le(string.concat("S1_lp_removal_min_btcb_max_vs_paid_wei", tag), int256(minBtc), int256(outBtc));
        list.le(
            string.concat("S1_lp_removal_min_usdt_max_vs_paid_wei", tag), int256(minUsdt), int256(outUsdt)
        );
    }

    /// The minima of `removeLiquidity(tokenA, tokenB, liquidity, amountAMin, amountBMin, to,
    /// deadline)`'s arguments, and whether the call removes BTCB/USDT (in that order) to the vault.
    function _removalMinima(bytes memory args)
        internal
        view
        returns (bool shaped, uint256 minBtc, uint256 minUsdt)
    {
        (address a, address b,, uint256 minA, uint256 minB, address to,) =
            abi.decode(args, (address, address, uint256, uint256, uint256, address, uint256));
        return (a == w.btcb && b == w.usdt && to == address(vault), minA, minB);
    }

    /// The LP pair's `Burn` to the vault paying `btc` BTCB and `usdt` USDT, if the logs hold one.
    function _burnPaying(Vm.Log[] memory logs, uint256 btc, uint256 usdt)
        internal
        view
        returns (bool found, uint256 outBtc, uint256 outUsdt)
    {
        bool btc0 = IPancakePair(w.lpPair).token0() == w.btcb;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != w.lpPair || l.topics.length != 3 || l.topics[0] != PAIR_BURN_TOPIC) continue;
            if (address(uint160(uint256(l.topics[2]))) != address(vault)) continue;
            (uint256 a0, uint256 a1) = abi.decode(l.data, (uint256, uint256));
            (outBtc, outUsdt) = btc0 ? (a0, a1) : (a1, a0);
            if (outBtc == btc && outUsdt == usdt) return (true, outBtc, outUsdt);
        }
        return (false, 0, 0);
    }

    /// floor(amount x (1 - swapSlippageBps)).
    function _lessSlippage(uint256 amount) internal view returns (uint256) {
        return amount * (BPS - cfg.swapSlippageBps) / BPS;
    }

    /// The flash pair's reserves scaled (price kept) to the smallest USDT reserve whose
    /// flashCapBps share is `need`: then the cap is exactly `need`.
    function _drainFlashPairToCap(uint256 need) internal {
        (uint112 r0, uint112 r1,) = IPancakePair(w.flashPair).getReserves();
        bool usdt0 = IPancakePair(w.flashPair).token0() == w.usdt;
        (uint256 rUsdt, uint256 rOther) = usdt0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 keepUsdt = (need * BPS + cfg.flashCapBps - 1) / cfg.flashCapBps;
        uint256 keepOther = rOther * keepUsdt / rUsdt;
        _setBalance(w.usdt, w.flashPair, keepUsdt);
        _setBalance(
            usdt0 ? IPancakePair(w.flashPair).token1() : IPancakePair(w.flashPair).token0(),
            w.flashPair,
            keepOther
        );
        IPancakePair(w.flashPair).sync();
    }

    function _checkFlash(CheckList memory list, string memory tag, FlashRun memory f, uint256 level)
        internal
        view
    {
        (bool flashed, bytes memory data) =
            _firstLog(f.o.logs, address(vault), VaultCore.FlashDeleverage.selector);
        (bool fellBack, bytes memory fb) =
            _firstLog(f.o.logs, address(vault), VaultCore.FlashFallback.selector);
        uint256 borrowed;
        bool partialStep;
        if (flashed) (borrowed,,, partialStep) = abi.decode(data, (uint256, uint256, uint256, bool));
        list.le(string.concat("S3_borrowed_vs_cap_wei", tag), int256(borrowed), int256(f.cap));
        if (level == 0) {
            // Plenty of liquidity: one full flash step.
            list.isTrue(string.concat("flash_full_step", tag), flashed && !partialStep);
        } else if (level == 1) {
            // The need exceeds the cap: a capped step that borrows exactly the cap.
            list.isTrue(string.concat("flash_partial_step", tag), flashed && partialStep);
            list.eq(string.concat("S3_borrowed_is_cap_wei", tag), int256(borrowed), int256(f.cap));
        } else if (level == 2) {
            // Even a capped step is too small: the non-flash fallback, nothing borrowed.
            list.isTrue(string.concat("flash_fallback", tag), fellBack && !flashed);
            if (fellBack) {
                (uint256 need, uint256 cap,) = abi.decode(fb, (uint256, uint256, bytes));
                list.gt(string.concat("S3_need_exceeds_cap_wei", tag), int256(need), int256(cap));
                list.eq(string.concat("S3_reported_cap_wei", tag), int256(cap), int256(f.cap));
            }
            _checkFlashKUnchanged(list, tag, f);
        } else if (level == 3) {
            _checkFlashRefused(list, tag, f, flashed, fellBack, fb);
        } else {
            // The need equals the cap (the pair's Swap says what was borrowed): one full step.
            list.eq(
                string.concat("precondition_need_is_cap_wei", tag),
                int256(_flashBorrowSeen(f.o.logs)),
                int256(f.cap)
            );
            list.isTrue(string.concat("flash_full_step", tag), flashed && !partialStep);
            list.eq(string.concat("S3_borrowed_is_cap_wei", tag), int256(borrowed), int256(f.cap));
        }
    }

    /// The cap covers the need, but the unwind's BTCB sale cannot clear its TWAP-bounded
    /// minimum: the flash step reverts whole (FlashRepayShortfall), the non-flash path runs,
    /// nothing is sold below the minimum, the risk mode stays NORMAL.
    function _checkFlashRefused(
        CheckList memory list,
        string memory tag,
        FlashRun memory f,
        bool flashed,
        bool fellBack,
        bytes memory fb
    ) internal view {
        list.isTrue(string.concat("flash_step_reverted_to_fallback", tag), fellBack && !flashed);
        if (fellBack) {
            (uint256 need, uint256 cap, bytes memory reason) = abi.decode(fb, (uint256, uint256, bytes));
            list.le(string.concat("S3_need_within_cap_wei", tag), int256(need), int256(cap));
            list.isTrue(
                string.concat("flash_reverted_FlashRepayShortfall", tag),
                reason.length >= 4 && bytes4(reason) == VaultCore.FlashRepayShortfall.selector
            );
        }
        list.ge(
            string.concat("S1_btcb_sale_refused", tag),
            int256(_countLogs(f.o.logs, address(vault), VaultCore.SwapRefused.selector)),
            1
        );
        list.eq(
            string.concat("S1_swaps_executed", tag),
            int256(_countLogs(f.o.logs, address(vault), VaultCore.Swapped.selector)),
            0
        );
        list.s4Mode(tag, f.b, RiskMode.NORMAL);
        _checkFlashKUnchanged(list, tag, f);
    }

    function _checkFlashKUnchanged(CheckList memory list, string memory tag, FlashRun memory f)
        internal
        pure
    {
        list.eq(
            string.concat("S3_flash_pair_k_unchanged", tag),
            f.b.flashK == f.a.flashK ? int256(1) : int256(0),
            1
        );
    }

    /// Spot alternates +1.2% / back every interval (real swaps) until the realised volatility
    /// makes a cycle STORM; returns that cycle. Each cycle sees spot at the TWAP moved by
    /// `spotVsTwapBps`: a swap in the cycle's own block moves neither the TWAP nor the realised
    /// volatility (the pair's cumulative price only counts time), so the volatility comes from
    /// the intervals alone and the STORM cycle's unwind trades at a known distance from the TWAP,
    /// not wherever the last move happened to leave the spot.
    function _driveToStorm(int256 spotVsTwapBps) internal returns (FlashRun memory f) {
        for (uint256 step; step < 8; ++step) {
            uint256 level = _spot();
            _setSpot(vault.oracle().read().twap * uint256(int256(BPS) + spotVsTwapBps) / BPS);
            OracleReading memory r = vault.oracle().read();
            f.spotVsTwapBps = r.ready
                ? (int256(r.spot) - int256(r.twap)) * int256(BPS) / int256(r.twap)
                : int256(type(int16).max);
            f.a = _measure();
            f.cap = SteadyState.usdtReserve(w.flashPair, w.usdt) * cfg.flashCapBps / BPS;
            _clearRemovalRecord();
            f.o = _cycle();
            f.b = _measure();
            if (f.o.ok && vault.lastCycle().regime == Regime.STORM) {
                f.storm = true;
                return f;
            }
            // Back to the price of the interval that ended, then the move for the next one.
            _setSpot(level);
            _moveSpot(step % 2 == 0 ? int256(120) : int256(-119));
            _advance(cfg.minCycleInterval);
        }
    }

    // ---------------------------------------------------------------- gas_spike

    /// tx.gasprice at 1, 5, 50 and 1,000 gwei on a cycle that does work: the bounty never
    /// exceeds 1.5 x bountyGasUnits x min(gasprice, maxGasPrice) x BNB/USD nor maxBountyBps of
    /// NAV. Both caps bind: above maxGasPrice the uncapped refund is far larger than the gas cap
    /// (120k vault), and in a 5k vault the NAV cap is below the gas cap (S2).
    function _gasSpike() internal returns (ScenarioResult memory) {
        CheckList memory list;
        uint256 fresh = vm.snapshotState();
        // A small vault: the NAV cap binds.
        _baselineSized(2500e18, true);
        _refreshFeed();
        _deposit(CAROL, 1000e18);
        vm.txGasPrice(cfg.maxGasPrice);
        {
            Snapshot memory a = _measure();
            CycleOutcome memory o = _cycle();
            Snapshot memory b = _measure();
            _checkCycle(list, "_small_vault", a, b, o);
            uint256 navCap = (b.nav + o.bounty) * cfg.maxBountyBps / BPS;
            uint256 bnb = SteadyState.trustedBnbUsd(w.bnbUsdFeed, cfg.maxOracleAge);
            list.gt(
                "S2_gas_cap_exceeds_nav_cap_wei_small_vault",
                int256(SteadyState.gasCap(cfg, tx.gasprice, bnb)),
                int256(navCap)
            );
            list.eq("S2_bounty_is_nav_cap_wei_small_vault", int256(o.bounty), int256(navCap));
        }
        vm.txGasPrice(0);
        vm.revertToState(fresh);

        _baseline(true);
        uint256[4] memory prices = [uint256(1 gwei), 5 gwei, 50 gwei, 1000 gwei];
        string[4] memory tags = ["_1gwei", "_5gwei", "_50gwei", "_1000gwei"];
        for (uint256 i; i < 4; ++i) {
            uint256 snap = vm.snapshotState();
            _refreshFeed();
            _deposit(CAROL, WORK_DEPOSIT);
            vm.txGasPrice(prices[i]);
            Snapshot memory a = _measure();
            CycleOutcome memory o = _cycle();
            Snapshot memory b = _measure();
            _checkCycle(list, tags[i], a, b, o);
            list.gt(string.concat("S2_bounty_paid_wei", tags[i]), int256(o.bounty), 0);
            if (prices[i] > cfg.maxGasPrice) {
                uint256 bnb = SteadyState.trustedBnbUsd(w.bnbUsdFeed, cfg.maxOracleAge);
                list.gt(
                    string.concat("S2_uncapped_refund_exceeds_gas_cap_wei", tags[i]),
                    int256(SteadyState.uncappedGasBounty(cfg, prices[i], bnb)),
                    int256(SteadyState.gasCap(cfg, prices[i], bnb))
                );
            }
            vm.txGasPrice(0);
            vm.revertToState(snap);
        }
        return _result("gas_spike", "tx.gasprice 1, 5, 50, 1000 gwei on a working cycle", list);
    }

    // ---------------------------------------------------------------- stale_bnb_feed

    /// The BNB/USD feed answers stale (older than maxOracleAge), zero or negative: the cycle still
    /// works and stays NORMAL, and pays no gas-based bounty (the bounty is 0), while the same
    /// cycle with a fresh feed does pay one (S2). `_stale` is one second beyond the bound (age
    /// maxOracleAge + 1); `_at_bound` is a round exactly maxOracleAge old, still fresh: the same
    /// cycle pays the same bounty as with a round posted now, the feed's answer being the same.
    function _staleBnbFeed() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        vm.txGasPrice(cfg.maxGasPrice);
        string[5] memory tags = ["_fresh", "_stale", "_zero", "_negative", "_at_bound"];
        uint256 freshBounty;
        for (uint256 i; i < 5; ++i) {
            string memory tag = tags[i];
            uint256 snap = vm.snapshotState();
            _refreshFeed();
            if (i != 0) _breakFeed(i);
            _deposit(CAROL, WORK_DEPOSIT);
            Snapshot memory a = _measure();
            CycleOutcome memory o = _cycle();
            Snapshot memory b = _measure();
            _checkCycle(list, tag, a, b, o);
            list.s4Mode(tag, b, RiskMode.NORMAL);
            if (i == 0) {
                list.gt("S2_bounty_with_fresh_feed_wei", int256(o.bounty), 0);
                freshBounty = o.bounty;
            } else if (i == 4) {
                (,,, uint256 updatedAt,) = AggregatorV3Interface(w.bnbUsdFeed).latestRoundData();
                list.eq(
                    "precondition_feed_age_is_max_oracle_age_at_bound",
                    int256(block.timestamp - updatedAt),
                    int256(uint256(cfg.maxOracleAge))
                );
                list.eq("S2_bounty_vs_fresh_feed_bounty_wei_at_bound", int256(o.bounty), int256(freshBounty));
            } else {
                list.eq(string.concat("S2_bounty_wei", tag), int256(o.bounty), 0);
            }
            vm.revertToState(snap);
        }
        _absurdBnbFeed(list);
        vm.txGasPrice(0);
        return _result(
            "stale_bnb_feed",
            "Chainlink BNB/USD stale, zero, negative; a round exactly maxOracleAge old",
            list
        );
    }

    /// The largest answer a Chainlink OCR aggregator can report (its answers are int192),
    /// fresh: BNB at 3.1 x 10^49 USD. A broken feed, not a market: the vault trusts it (it is
    /// positive and fresh), so the cycle must still work, its gas refund be that price times
    /// the gas to the wei (`gasRefundUsd()` against the same product with a 512-bit
    /// intermediate: bountyGasUnits x maxGasPrice x the answer in 18 decimals passes 2^256, the
    /// only place a realistic input reaches `mulDiv`'s 512-bit branch), and the bounty the NAV
    /// cap (S2), the gas cap being far above it.
    function _absurdBnbFeed(CheckList memory list) internal {
        string memory tag = "_absurd";
        uint256 snap = vm.snapshotState();
        _refreshFeed();
        (uint80 id,,,,) = AggregatorV3Interface(w.bnbUsdFeed).latestRoundData();
        int256 answer = int256(type(int192).max);
        if (!FaultInjection.isInstalled(w.bnbUsdFeed)) FaultInjection.install(w.bnbUsdFeed);
        FaultInjection.returnData(
            w.bnbUsdFeed,
            AggregatorV3Interface.latestRoundData.selector,
            abi.encode(id + 1, answer, block.timestamp, block.timestamp, id + 1)
        );
        _deposit(CAROL, WORK_DEPOSIT);
        uint256 bnbUsd = uint256(answer) * 1e18 / 10 ** AggregatorV3Interface(w.bnbUsdFeed).decimals();
        uint256 gasUnitsTimesPrice =
            uint256(cfg.bountyGasUnits) * (tx.gasprice < cfg.maxGasPrice ? tx.gasprice : cfg.maxGasPrice);
        list.eq(
            string.concat("S2_gas_refund_vs_feed_wei", tag),
            int256(vault.gasRefundUsd()),
            int256(SteadyState._mulDiv(gasUnitsTimesPrice, bnbUsd, 1e18))
        );
        CycleOutcome memory o = _cycle();
        list.isTrue(string.concat("cycle_succeeded", tag), o.ok);
        uint256 navCap = (vault.nav() + o.bounty) * cfg.maxBountyBps / BPS;
        list.eq(string.concat("S2_bounty_is_nav_cap_wei", tag), int256(o.bounty), int256(navCap));
        list.eq(string.concat("S2_bounty_vs_keeper_gain_wei", tag), int256(o.keeperGain), int256(o.bounty));
        vm.revertToState(snap);
    }

    /// 1: a round maxOracleAge + 1 s old; 2: answer 0; 3: answer negated; 4: a round exactly
    /// maxOracleAge old (the bound itself), answer unchanged.
    function _breakFeed(uint256 kind) internal {
        (uint80 id, int256 answer,,,) = AggregatorV3Interface(w.bnbUsdFeed).latestRoundData();
        uint256 updatedAt = block.timestamp;
        if (kind == 1) updatedAt = block.timestamp - cfg.maxOracleAge - 1;
        else if (kind == 2) answer = 0;
        else if (kind == 3) answer = -answer;
        else updatedAt = block.timestamp - cfg.maxOracleAge;
        if (!FaultInjection.isInstalled(w.bnbUsdFeed)) FaultInjection.install(w.bnbUsdFeed);
        FaultInjection.returnData(
            w.bnbUsdFeed,
            AggregatorV3Interface.latestRoundData.selector,
            abi.encode(id + 1, answer, updatedAt, updatedAt, id + 1)
        );
    }

    // ---------------------------------------------------------------- thin_liquidity_slippage

    /// The other LPs leave the BTCB/USDT pool (97% of its liquidity removed through the router,
    /// price unchanged), then a large deposit makes the vault rebalance: the buy of BTCB would
    /// lose more than swapSlippageBps at the thin reserves, so it is refused (SwapRefused with
    /// quote < minOut), nothing is swapped, no BTCB or LP appears, and no value is lost (S1).
    function _checkRefusal(CheckList memory list, CycleOutcome memory o) internal view {
        (bool refused, bytes memory data) = _firstLog(o.logs, address(vault), VaultCore.SwapRefused.selector);
        list.isTrue("S1_swap_refused_event", refused);
        if (!refused) return;
        (uint256 amountIn, uint256 quoted, uint256 minOut) = abi.decode(data, (uint256, uint256, uint256));
        list.gt("S1_refused_amount_in_wei", int256(amountIn), 0);
        // The slippage bound binds: the quote is below the minimum the vault accepts.
        list.lt("S1_refused_quote_vs_min_out_wei", int256(quoted), int256(minOut));
    }

    function _thinLiquidity() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        _routerSwapReverts(list);
        uint256 spotBefore = _spot();
        uint256 supply = IERC20(w.lpPair).totalSupply();
        uint256 vaultLp = IERC20(w.lpPair).balanceOf(address(vault));
        uint256 liquidity = (supply - vaultLp) * 9700 / BPS;
        _setBalance(w.lpPair, MARKET, liquidity);
        vm.startPrank(MARKET);
        IERC20(w.lpPair).approve(w.router, liquidity);
        IPancakeRouter02(w.router).removeLiquidity(w.btcb, w.usdt, liquidity, 0, 0, MARKET, block.timestamp);
        vm.stopPrank();
        uint256 spotAfter = _spot();
        uint256 drift = spotAfter > spotBefore ? spotAfter - spotBefore : spotBefore - spotAfter;
        list.le("precondition_spot_unchanged_bps", int256(drift * BPS / spotBefore), 1);

        _deposit(CAROL, 100_000e18);
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, "", a, b, o);
        _checkRefusal(list, o);
        list.eq(
            "S1_swaps_executed", int256(_countLogs(o.logs, address(vault), VaultCore.Swapped.selector)), 0
        );
        list.eq("S1_vault_btcb_wei", int256(b.vaultBtcb), int256(a.vaultBtcb));
        list.eq("S1_vault_lp_wei", int256(b.vaultLp), int256(a.vaultLp));
        list.s4Mode("", b, RiskMode.NORMAL);
        _checkExit(list, CAROL, "");
        return _result(
            "thin_liquidity_slippage", "97% of the LP pool's liquidity withdrawn before a rebalance", list
        );
    }

    /// Before the pool thins, in a snapshot: the pool at full depth, so the vault's quote clears
    /// its minimum, but the pair's `swap` reverts ("Pancake: LOCKED", what a Pancake pair says
    /// while another call holds its lock; a fault proxy in front of the pair). The vault says
    /// it refused a swap (its `SwapRefused` event: the precondition), the pair swaps nothing
    /// (its own events), and the cycle's record says a swap was refused.
    function _routerSwapReverts(CheckList memory list) internal {
        string memory tag = "_router_swap_reverts";
        uint256 snap = vm.snapshotState();
        FaultInjection.install(w.lpPair);
        FaultInjection.revertWith(w.lpPair, IPancakePair.swap.selector, "Pancake: LOCKED");
        _deposit(CAROL, WORK_DEPOSIT);
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, tag, a, b, o);
        list.ge(
            string.concat("precondition_swap_refused_event", tag),
            int256(_countLogs(o.logs, address(vault), VaultCore.SwapRefused.selector)),
            1
        );
        list.eq(string.concat("S1_pair_swaps", tag), int256(_countLogs(o.logs, w.lpPair, PAIR_SWAP_TOPIC)), 0);
        list.isTrue(
            string.concat("record_swap_refused_bit", tag), vault.lastCycle().actions & A_SWAP_REFUSED != 0
        );
        vm.revertToState(snap);
    }

    // ---------------------------------------------------------------- donation_inflation

    /// A first-depositor inflation attack on the fresh vault: Mallory deposits 1 wei, then
    /// sends 60k USDT straight to the vault to make one share unit expensive; Alice (60k) and Bob
    /// (30k) deposit after her. Both deposits go through and every action keeps S10: no holder's
    /// redeemable value moves through another's deposit or the donation by more than one share
    /// unit; the vault then invests as usual (the common cycle checks).
    function _donationInflation() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _refreshFeed();
        _feedHeartbeat = true;
        vm.txGasPrice(KEEPER_GAS_PRICE);
        // The fresh vault's oracle on a pool every LP has left.
        _drainedPoolTwap(list);
        _fund(MALLORY, BASE_DEPOSIT + 1);
        _fund(ALICE, BASE_DEPOSIT);
        _fund(BOB, BASE_DEPOSIT / 2);
        (bool okMallory,) = _tryDeposit(MALLORY, 1);
        list.isTrue("precondition_attacker_deposit_succeeded", okMallory);
        _donate(MALLORY, BASE_DEPOSIT);
        (bool okAlice,) = _tryDeposit(ALICE, BASE_DEPOSIT);
        (bool okBob,) = _tryDeposit(BOB, BASE_DEPOSIT / 2);
        list.isTrue("victim_deposits_succeeded", okAlice && okBob);
        // The fresh vault's deployment: what configurations the same code refuses.
        _probeConfig(list);
        _advance(cfg.twapWindow);
        // The first buy against a pool whose quote is exactly its minimum, and one wei below.
        _swapMinimumEdges(list);
        Snapshot memory a = _measure();
        CycleOutcome memory o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, "", a, b, o);
        // ERC-4626 rates and rounding on the invested vault (a share price far from 1).
        _probeRounding(list);
        return _result(
            "donation_inflation",
            "1 wei first deposit, then a 60k USDT donation before two victims deposit",
            list
        );
    }

    // ---------------------------------------------------------------- the swap minimum's edge

    /// @dev UQ112x112, the pair's cumulative price unit.
    uint256 internal constant Q112 = 2 ** 112;

    /// Every swap of the vault has a minimum output of its TWAP value less Pancake's fee and
    /// swapSlippageBps, rounded down, and is not sent when the quote is below it (docs/design.md).
    /// The fresh vault's first cycle buys BTCB; the pool has not moved since the vault's oracle
    /// first observed it, so that TWAP is the pair's own price of its reserves, known to the wei
    /// without the vault. Inside a state snapshot: one cycle tells what the buy spends (the
    /// pair's Swap event); then, in the same block (the TWAP unmoved), the pool's BTCB reserve is
    /// set (deal + sync, the USDT reserve kept) so that Pancake's quote for that buy is exactly
    /// the minimum (`_inside`: the buy is sent and the vault receives exactly it) or one wei
    /// below it (`_beyond`: no swap).
    function _swapMinimumEdges(CheckList memory list) internal {
        uint256 snap = vm.snapshotState();
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        (,, uint32 tsLast) = IPancakePair(w.lpPair).getReserves();
        (uint32 firstObserved,) = vault.oracle().observation(0);
        list.le(
            "precondition_pool_unmoved_since_oracle_start",
            int256(uint256(tsLast)),
            int256(uint256(firstObserved))
        );
        uint256 twap = (rUsdt * Q112 / rBtc) * 1e18 / Q112;
        CycleOutcome memory o = _cycle();
        (uint256 usdtIn,) = _pairBuy(o.logs);
        list.gt("precondition_first_cycle_buys_btcb", int256(usdtIn), 0);
        vm.revertToState(snap);
        if (usdtIn != 0) {
            uint256 minOut = (usdtIn * 1e18 / twap) * ((BPS - 25) * (BPS - cfg.swapSlippageBps)) / (BPS * BPS);
            _swapAtQuote(list, true, snap, usdtIn, rUsdt, minOut, twap);
            _swapAtQuote(list, false, snap, usdtIn, rUsdt, minOut - 1, twap);
        }
        vm.revertToStateAndDelete(snap);
    }

    /// A pool every LP has left keeps what the locked MINIMUM_LIQUIDITY (1,000 LP units) holds,
    /// about 10^6 for the product of its reserves, and anyone can then swap one side down to a
    /// single wei for a few wei of the other. Inside a state snapshot, in the block the fresh
    /// vault's oracle made its first observation: the LP pair's reserves set to (1, 10^6)
    /// (token0 first; deal + sync), one TWAP window passes. The oracle must go on accruing the
    /// pair's price: ready, and its TWAP is the pair's own price of those reserves in UQ112x112
    /// converted to 18 decimals, to the wei (`oracle_twap_vs_pair_wei_drained`).
    function _drainedPoolTwap(CheckList memory list) internal {
        uint256 snap = vm.snapshotState();
        (uint32 firstObserved,) = vault.oracle().observation(0);
        list.eq(
            "precondition_oracle_first_observation_now_drained",
            int256(uint256(firstObserved)),
            int256(block.timestamp)
        );
        IPancakePair pair = IPancakePair(w.lpPair);
        _setBalance(pair.token0(), w.lpPair, 1);
        _setBalance(pair.token1(), w.lpPair, 1e6);
        pair.sync();
        _advance(cfg.twapWindow);
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        uint256 twap = (rUsdt * Q112 / rBtc) * 1e18 / Q112;
        OracleReading memory r = vault.oracle().read();
        list.isTrue("oracle_ready_drained", r.ready);
        list.eq("oracle_twap_vs_pair_wei_drained", int256(r.twap), int256(twap));
        vm.revertToStateAndDelete(snap);
    }

    /// The pool reshaped so that Pancake quotes exactly `quote` BTCB for `usdtIn`, then the cycle.
    function _swapAtQuote(
        CheckList memory list,
        bool inside,
        uint256 snap,
        uint256 usdtIn,
        uint256 rUsdt,
        uint256 quote,
        uint256 twap
    ) internal {
        string memory tag = inside ? "_inside" : "_beyond";
        _reshapePool(list, tag, usdtIn, rUsdt, quote, twap);
        CycleOutcome memory o = _cycle();
        (uint256 spent, uint256 got) = _pairBuy(o.logs);
        if (inside) {
            list.eq(string.concat("swap_at_minimum_spent_wei", tag), int256(spent), int256(usdtIn));
            list.eq(string.concat("swap_at_minimum_received_wei", tag), int256(got), int256(quote));
        } else {
            list.eq(string.concat("swap_below_minimum_sent", tag), int256(spent), 0);
        }
        vm.revertToState(snap);
    }

    /// Sets the LP pair's BTCB reserve (deal + sync, the USDT reserve kept) to the least that
    /// makes Pancake's getAmountOut for `usdtIn` equal `quote`.
    function _reshapePool(
        CheckList memory list,
        string memory tag,
        uint256 usdtIn,
        uint256 rUsdt,
        uint256 quote,
        uint256 twap
    ) internal {
        uint256 inFee = usdtIn * (BPS - 25);
        uint256 rBtcNew = (quote * (rUsdt * BPS + inFee) + inFee - 1) / inFee;
        list.eq(
            string.concat("precondition_pool_quote", tag),
            int256(inFee * rBtcNew / (rUsdt * BPS + inFee)),
            int256(quote)
        );
        _setBalance(w.btcb, w.lpPair, rBtcNew);
        _setBalance(w.usdt, w.lpPair, rUsdt);
        IPancakePair(w.lpPair).sync();
        uint256 spot = rUsdt * 1e18 / rBtcNew;
        list.le(
            string.concat("precondition_spot_vs_twap_bps", tag),
            int256((spot > twap ? spot - twap : twap - spot) * BPS / twap),
            int256(uint256(cfg.maxDeviationBps))
        );
    }

    /// The USDT in and BTCB out of the first swap of the LP pair in `logs` that buys BTCB.
    function _pairBuy(Vm.Log[] memory logs) internal view returns (uint256 usdtIn, uint256 btcOut) {
        bool btc0 = IPancakePair(w.lpPair).token0() == w.btcb;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != w.lpPair || logs[i].topics[0] != IPancakePair.Swap.selector) continue;
            (uint256 a0In, uint256 a1In, uint256 a0Out, uint256 a1Out) =
                abi.decode(logs[i].data, (uint256, uint256, uint256, uint256));
            (usdtIn, btcOut) = btc0 ? (a1In, a0Out) : (a0In, a1Out);
            if (usdtIn != 0 && btcOut != 0) return (usdtIn, btcOut);
        }
        return (0, 0);
    }
}
