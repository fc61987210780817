// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {Check, ScenarioResult} from "./ScenarioTypes.sol";
import {ChaosWorld, World} from "./ChaosWorld.sol";
import {VaultProbes} from "./Probes.sol";
import {IVaultFactory} from "./ScenarioRunner.sol";
import {SteadyState, Snapshot, CheckList, CycleInput} from "./SteadyState.sol";
import {VaultKit} from "./VaultKit.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {VaultCore} from "../../contracts/vault/VaultCore.sol";
import {AlpSkipReason, CyclePath, CycleRecord, Regime, RiskMode} from "../../contracts/vault/VaultTypes.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {IPancakePair} from "../../contracts/interfaces/IPancake.sol";
import {AggregatorV3Interface} from "../../contracts/interfaces/IChainlink.sol";
import {FaultInjection} from "./FaultProxy.sol";

/// @notice What one `cycle()` call did, as seen from outside.
struct CycleOutcome {
    bool ok;
    bytes revertData;
    CyclePath path;
    uint256 bounty;
    /// USDT the keeper received during the call.
    uint256 keeperGain;
    Vm.Log[] logs;
    /// The record's skip and refusal bits agreed with what was seen (`_tallyActionBits`).
    bool bitsOk;
}

/// @notice What a scenario group reads from the runner that deployed it (ScenarioRunner).
interface IProbeHost {
    function probes() external view returns (VaultProbes);
    function activeFactory() external view returns (IVaultFactory);
}

/// @title ScenarioBase
/// @notice Building blocks shared by the scenario groups: the actors, the baseline every
/// scenario starts from, real-market faults (swaps that move spot, deal + sync that drain a
/// pair), cycles with gas accounting and log capture, and the steady-state checks
/// (docs/steady-state.md). The jobs it shares with the unit tests' fixture (measuring, the
/// tape of the LP pair the shadow NAV's TWAP comes from, time, funds, Aster's keeper, swaps,
/// logs) are VaultKit's; what is its own is the scenario side: every deposit, withdrawal,
/// redemption, claim and cycle held to S10 (depositor fairness), the checks, probes and result.
/// @dev A scenario group is deployed fresh for each scenario, inside the runner's snapshot and
/// in the block the vault was deployed in, so its storage (counters, tape, check list) starts
/// empty every time and the tape starts with the vault's oracle.
abstract contract ScenarioBase is VaultKit {
    using SteadyState for CheckList;

    uint256 internal constant BPS = 10_000;

    address internal constant ALICE = address(uint160(uint256(keccak256("chaos.alice"))));
    address internal constant BOB = address(uint160(uint256(keccak256("chaos.bob"))));
    address internal constant CAROL = address(uint160(uint256(keccak256("chaos.carol"))));
    address internal constant KEEPER = address(uint160(uint256(keccak256("chaos.keeper"))));
    /// An attacker (donation_inflation).
    address internal constant MALLORY = address(uint160(uint256(keccak256("chaos.mallory"))));

    /// Each of Alice and Bob deposits this much at the baseline: a vault of 120k USDT.
    uint256 internal constant BASE_DEPOSIT = 60_000e18;
    /// The keeper's gas price after the baseline (BSC's usual order of magnitude, below the
    /// vault's maxGasPrice), so that working cycles pay a bounty the checks can observe.
    uint256 internal constant KEEPER_GAS_PRICE = 1 gwei;
    /// Pancake V2 pair's `Swap(sender, amount0In, amount1In, amount0Out, amount1Out, to)`.
    bytes32 internal constant PAIR_SWAP_TOPIC =
        keccak256("Swap(address,uint256,uint256,uint256,uint256,address)");

    error UnknownScenario(string id);

    uint256 internal cycleGas;
    uint256 internal cycles;
    bytes32 internal digestBefore;
    /// S10 over every action of the scenario.
    SteadyState.Fairness internal s10;
    /// Set at the end of the baseline: from then on `_advance` posts fresh BNB/USD rounds.
    bool internal _feedHeartbeat;
    /// Successful cycles whose recorded ALP-skip / swap-refusal bits were held to what was seen,
    /// and how many of them disagreed (`_tallyActionBits`, one check in `_result`).
    uint256 internal _bitCycles;
    uint256 internal _bitMismatches;
    /// Who deployed this group: the runner (its `activeFactory()` deploys more vaults of the
    /// code under test), or a test.
    address internal immutable _runner;

    constructor(World memory world, YieldVault v) {
        _runner = msg.sender;
        _startKit(world, v, v.getConfig());
    }

    /// @notice The holders S10 watches.
    function _holders() internal pure returns (address[] memory h) {
        h = new address[](5);
        (h[0], h[1], h[2], h[3], h[4]) = (ALICE, BOB, CAROL, KEEPER, MALLORY);
    }

    function _shares(address[] memory holders) internal view returns (uint256[] memory s) {
        s = new uint256[](holders.length);
        for (uint256 i; i < holders.length; ++i) {
            s[i] = vault.balanceOf(holders[i]);
        }
    }

    /// @notice Runs one scenario of this group from the baseline.
    function run(string calldata id) external virtual returns (ScenarioResult memory);

    // ------------------------------------------------------------------------------ baseline

    /// @notice Two depositors fund the vault; after one TWAP window the first cycle invests
    /// (LP, ALP, a pending short); with `executeHedge` on the replicas Aster's keeper executes
    /// the short and a second cycle sees it. Ends in NORMAL, cycle allowed again.
    function _baseline(bool executeHedge) internal {
        _baselineSized(BASE_DEPOSIT, executeHedge);
    }

    /// @notice The baseline with `deposit` from each of Alice and Bob.
    function _baselineSized(uint256 deposit, bool executeHedge) internal {
        _fund(ALICE, deposit);
        _fund(BOB, deposit);
        _fund(CAROL, 200_000e18);
        _deposit(ALICE, deposit);
        _deposit(BOB, deposit);
        uint256 fair = _spot();
        _advance(cfg.twapWindow);
        _mustCycle();
        // Arbitrageurs take back the vault's own price impact within the block, as on BSC;
        // otherwise the one-off move of the vault's first buy reads as a STORM of volatility.
        _setSpot(fair);
        if (executeHedge) _executePendingHedges();
        _advance(cfg.minCycleInterval);
        _mustCycle();
        _setSpot(fair);
        _advance(cfg.minCycleInterval);
        _refreshFeed();
        _feedHeartbeat = true;
        vm.txGasPrice(KEEPER_GAS_PRICE);
        digestBefore = vault.stateDigest();
    }

    /// @notice On the replicas, Aster's keeper executes every pending trade. On a real BSC fork
    /// nothing executes pending trades (Aster's keepers are off-chain), so this does nothing.
    function _executePendingHedges() internal returns (bool executed) {
        if (!w.isReplica) return false;
        return _asterExecute();
    }

    /// @notice The hashes of the trades Aster holds pending for `user`, from Aster's own book
    /// (`pendingTradeHashes`, `pendingTrade`); empty where Aster cannot list them.
    function _asterTradesOf(address user) internal view returns (bytes32[] memory mine) {
        (bool ok, bytes memory ret) = w.aster.staticcall(abi.encodeWithSignature("pendingTradeHashes()"));
        if (!ok) return mine;
        bytes32[] memory hashes = abi.decode(ret, (bytes32[]));
        mine = new bytes32[](hashes.length);
        uint256 n;
        for (uint256 i; i < hashes.length; ++i) {
            (bool ok2, bytes memory t) =
                w.aster.staticcall(abi.encodeWithSignature("pendingTrade(bytes32)", hashes[i]));
            if (ok2 && abi.decode(t, (address)) == user) mine[n++] = hashes[i];
        }
        assembly ("memory-safe") {
            mstore(mine, n)
        }
    }

    /// @notice On the replicas, Aster's keeper handles (executes, or refunds as too late) every
    /// trade of the vault that would otherwise still be pending `secs` from now beyond the
    /// vault's pendingHedgeTimeout: the vault presumes Aster has cancelled such a trade, and
    /// the campaigns keep Aster to that. A trade Aster leaves pending longer is finding 1
    /// (test/chaos/findings/VaultFindings.t.sol).
    function _asterHonoursTimeout(uint256 secs) internal {
        if (!w.isReplica) return;
        (bool ok, bytes memory ret) = w.aster.staticcall(abi.encodeWithSignature("pendingTradeHashes()"));
        if (!ok) return;
        bytes32[] memory hashes = abi.decode(ret, (bytes32[]));
        for (uint256 i; i < hashes.length; ++i) {
            (bool ok2, bytes memory t) =
                w.aster.staticcall(abi.encodeWithSignature("pendingTrade(bytes32)", hashes[i]));
            if (!ok2) continue;
            (address user,, uint32 sentAt) = abi.decode(t, (address, uint64, uint32));
            if (user == address(vault) && uint256(sentAt) + cfg.pendingHedgeTimeout < block.timestamp + secs)
            {
                _executePendingHedges();
                return;
            }
        }
    }

    /// @notice A fresh BNB/USD round at the current answer, as Chainlink's heartbeat would post.
    /// Replica: its admin posts the round, on the feed itself (`--replicas hand`) or on the
    /// aggregator behind the real Chainlink proxy (the default local chain), so the proxy stays
    /// the real code. Real BSC fork: nobody posts rounds on a fork, so the feed is put behind a
    /// fault proxy that replays its last answer stamped now.
    function _refreshFeed() internal {
        AggregatorV3Interface feed = AggregatorV3Interface(w.bnbUsdFeed);
        (uint80 id, int256 answer,,,) = feed.latestRoundData();
        if (w.isReplica) {
            address writable = w.bnbUsdFeed;
            (bool okAdmin, bytes memory ret) = writable.staticcall(abi.encodeWithSignature("admin()"));
            if (!okAdmin || ret.length != 32) {
                (bool okAggregator, bytes memory agg) =
                    writable.staticcall(abi.encodeWithSignature("aggregator()"));
                if (okAggregator && agg.length == 32) {
                    writable = abi.decode(agg, (address));
                    (okAdmin, ret) = writable.staticcall(abi.encodeWithSignature("admin()"));
                }
            }
            if (okAdmin && ret.length == 32) {
                vm.prank(abi.decode(ret, (address)));
                (bool ok,) = writable.call(abi.encodeWithSignature("updateAnswer(int256)", answer));
                if (ok) return;
            }
        }
        if (!FaultInjection.isInstalled(w.bnbUsdFeed)) FaultInjection.install(w.bnbUsdFeed);
        FaultInjection.returnData(
            w.bnbUsdFeed,
            AggregatorV3Interface.latestRoundData.selector,
            abi.encode(id + 1, answer, block.timestamp, block.timestamp, id + 1)
        );
    }

    // ------------------------------------------------------------------------------ actors

    function _deposit(address who, uint256 amount) internal returns (uint256 shares) {
        (bool ok, bytes memory reason) = _tryDeposit(who, amount);
        if (!ok) revert SetupDepositFailed(reason);
        shares = vault.balanceOf(who);
    }

    error SetupDepositFailed(bytes reason);

    /// @notice A deposit attempt; returns its revert data (empty when it succeeded). A deposit
    /// that goes through is held to S10.
    function _tryDeposit(address who, uint256 amount) internal returns (bool ok, bytes memory reason) {
        address[] memory holders = _holders();
        uint256[] memory before = _shares(holders);
        Snapshot memory a = _measure();
        (ok, reason,) = _depositAttempt(who, amount);
        if (ok) {
            SteadyState.fairness(
                s10, SteadyState.Action.DEPOSIT, who, amount, holders, before, a, _measure(), vault
            );
        }
    }

    /// @notice `who` withdraws `assets`; returns whether it went through. Held to S10.
    function _withdraw(address who, uint256 assets) internal returns (bool ok) {
        address[] memory holders = _holders();
        uint256[] memory before = _shares(holders);
        Snapshot memory a = _measure();
        vm.prank(who);
        try vault.withdraw(assets, who, who) {
            ok = true;
        } catch {}
        if (ok) {
            SteadyState.fairness(
                s10, SteadyState.Action.WITHDRAW, who, assets, holders, before, a, _measure(), vault
            );
        }
    }

    /// @notice `who` exits `shares` through the withdrawal queue. Held to S10 (the value
    /// redeemed, paid now and owed by the claim, is the flow).
    function _requestRedeem(address who, uint256 shares)
        internal
        returns (uint256 assetsNow, uint256 claimId)
    {
        address[] memory holders = _holders();
        uint256[] memory before = _shares(holders);
        Snapshot memory a = _measure();
        vm.prank(who);
        (assetsNow, claimId) = vault.requestRedeem(shares, who, who);
        SteadyState.fairness(
            s10,
            SteadyState.Action.REDEEM_REQUEST,
            who,
            SteadyState.shareValue(a, shares),
            holders,
            before,
            a,
            _measure(),
            vault
        );
    }

    /// @notice `who` sends `amount` USDT straight to the vault (no shares). Held to S10: every
    /// holder gains its pro-rata part.
    function _donate(address who, uint256 amount) internal {
        address[] memory holders = _holders();
        uint256[] memory before = _shares(holders);
        Snapshot memory a = _measure();
        vm.prank(who);
        IERC20(w.usdt).transfer(address(vault), amount);
        SteadyState.fairness(
            s10, SteadyState.Action.DONATION, who, amount, holders, before, a, _measure(), vault
        );
    }

    /// @notice Anyone pays out a funded claim; returns the revert data when it did not go
    /// through. Held to S10 (a claim pays what was set aside: nobody else's value moves).
    function _tryClaim(address caller, uint256 claimId) internal returns (bool ok, bytes memory reason) {
        address[] memory holders = _holders();
        uint256[] memory before = _shares(holders);
        Snapshot memory a = _measure();
        vm.prank(caller);
        try vault.claim(claimId) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        if (ok) {
            SteadyState.fairness(
                s10, SteadyState.Action.CLAIM, caller, 0, holders, before, a, _measure(), vault
            );
        }
    }

    /// @notice S7: `who` withdraws `maxWithdraw` at once; it must be at least its pro-rata share
    /// of the free USDT (shadow; capped by its position's shadow value), non-zero, and paid in
    /// full.
    function _checkExit(CheckList memory list, address who, string memory tag) internal {
        Snapshot memory s = _measure();
        uint256 max = vault.maxWithdraw(who);
        list.s7LiquidShare(tag, s, vault.balanceOf(who), max);
        uint256 before = IERC20(w.usdt).balanceOf(who);
        _withdraw(who, max);
        list.s7Withdrawn(tag, IERC20(w.usdt).balanceOf(who) - before, max);
    }

    /// @notice S4 in ONLY_UNWIND: deposits revert with exactly DepositsPaused() and
    /// maxDeposit reads 0.
    function _checkDepositsPaused(CheckList memory list, string memory tag) internal {
        (bool ok, bytes memory reason) = _tryDeposit(CAROL, 1000e18);
        list.eq(string.concat("S4_deposit_succeeded", tag), ok ? int256(1) : int256(0), 0);
        list.isTrue(
            string.concat("S4_deposit_reverted_DepositsPaused", tag),
            keccak256(reason) == keccak256(abi.encodeWithSelector(VaultCore.DepositsPaused.selector))
        );
        list.eq(string.concat("S4_max_deposit", tag), int256(vault.maxDeposit(CAROL)), 0);
    }

    // ------------------------------------------------------------------------------ cycles

    /// @notice `secs` pass (0.45 s blocks). Chainlink keeps posting BNB/USD rounds meanwhile
    /// (its heartbeat): a stale feed is a fault of its own (stale_bnb_feed), not an effect of
    /// time passing in a scenario.
    function _advance(uint256 secs) internal {
        _warpTo(block.timestamp + secs, secs == 0 ? 1 : secs * 20 / 9 + 1); // 0.45 s blocks
        if (_feedHeartbeat) _refreshFeed();
    }

    /// @notice One `cycle()` by the keeper, its logs captured; never reverts. Held to S10: a
    /// cycle moves every holder's value pro rata, so no holder's shares may move.
    /// @dev Not shared with VaultFixture's `_cycle`, which lets the revert through and leaves
    /// the test's log recording alone: this one captures logs, the keeper's gain and the gas in
    /// a window the reports carry (`cycleGas`), and checks the record's action bits.
    function _cycle() internal returns (CycleOutcome memory o) {
        SteadyState.record(tape);
        address[] memory holders = _holders();
        uint256[] memory before = _shares(holders);
        uint256 keeperBefore = IERC20(w.usdt).balanceOf(KEEPER);
        bool cooldownRunning = _asterCooldownRunning();
        vm.recordLogs();
        uint256 g = gasleft();
        vm.prank(KEEPER);
        try vault.cycle() returns (CyclePath path, uint256 bounty) {
            o.ok = true;
            o.path = path;
            o.bounty = bounty;
        } catch (bytes memory r) {
            o.revertData = r;
        }
        cycleGas += g - gasleft();
        cycles += 1;
        o.logs = vm.getRecordedLogs();
        o.keeperGain = IERC20(w.usdt).balanceOf(KEEPER) - keeperBefore;
        if (o.ok) SteadyState.recordCycle(tape);
        if (o.ok) o.bitsOk = _tallyActionBits(o.logs, cooldownRunning);
        _cycleFairness(holders, before);
    }

    /// @dev S10 around a cycle; the shadow is only measured when some holder's shares moved.
    function _cycleFairness(address[] memory holders, uint256[] memory before) internal {
        uint256[] memory now_ = _shares(holders);
        bool moved;
        for (uint256 i; i < holders.length; ++i) {
            if (now_[i] != before[i]) moved = true;
        }
        if (!moved) {
            s10.actions += 1;
            return;
        }
        Snapshot memory b = _measure();
        SteadyState.fairness(s10, SteadyState.Action.CYCLE, KEEPER, 0, holders, before, b, b, vault);
    }

    /// @notice Whether Aster's ALP cooldown for the vault runs now, by Aster's own clock
    /// (`lastMintedTimestamp + coolingDuration`); false where Aster cannot say.
    function _asterCooldownRunning() internal view returns (bool) {
        (bool ok1, bytes memory last) =
            w.aster.staticcall(abi.encodeWithSignature("lastMintedTimestamp(address)", address(vault)));
        (bool ok2, bytes memory cool) = w.aster.staticcall(abi.encodeWithSignature("coolingDuration()"));
        if (!ok1 || !ok2 || last.length != 32 || cool.length != 32) return false;
        return abi.decode(last, (uint256)) + abi.decode(cool, (uint256)) > block.timestamp;
    }

    /// Bits of `CycleRecord.actions` (VaultCore's `A_SWAP_REFUSED`, `A_ALP_SKIPPED`): what
    /// keepers and monitors read from `lastCycle()` and the `Cycle` event.
    uint32 internal constant A_SWAP_REFUSED = 2048;
    uint32 internal constant A_ALP_SKIPPED = 4096;

    /// @notice Every successful cycle's record of its skips and refusals against what happened:
    /// `lastCycle().actions` equals the `Cycle` event's; its ALP-skip bit is set exactly when an
    /// ALP burn was skipped (`AlpBurnSkipped`), and a skip for COOLDOWN only while Aster's own
    /// clock says the cooldown runs; its swap-refusal bit exactly when a swap was refused
    /// (`SwapRefused`). Checked per cycle by `_checkRecord`; every cycle, checked or not, is also
    /// counted here and a disagreeing one fails `record_action_bits_mismatched_cycles`
    /// (`_result`), except in a branch a scenario later reverts (`vm.revertToState` rolls back
    /// the count with the rest of the state).
    function _tallyActionBits(Vm.Log[] memory logs, bool cooldownRunning) internal returns (bool ok) {
        uint32 actions = vault.lastCycle().actions;
        (bool found, bytes memory data) = _firstLog(logs, address(vault), VaultCore.Cycle.selector);
        ok = found;
        if (found) {
            (,,, uint32 emitted,,,) =
                abi.decode(data, (CyclePath, Regime, RiskMode, uint32, uint256, uint256, uint256));
            ok = emitted == actions;
        }
        uint256 skips;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(vault) || l.topics.length == 0) continue;
            if (l.topics[0] != VaultCore.AlpBurnSkipped.selector) continue;
            skips++;
            (AlpSkipReason reason,,) = abi.decode(l.data, (AlpSkipReason, uint256, bytes));
            if (reason == AlpSkipReason.COOLDOWN && !cooldownRunning) ok = false;
        }
        uint256 refusals = _countLogs(logs, address(vault), VaultCore.SwapRefused.selector);
        if ((actions & A_ALP_SKIPPED != 0) != (skips != 0)) ok = false;
        if ((actions & A_SWAP_REFUSED != 0) != (refusals != 0)) ok = false;
        _bitCycles += 1;
        if (!ok) _bitMismatches += 1;
    }

    error SetupCycleFailed(bytes reason);

    function _mustCycle() internal returns (CycleOutcome memory o) {
        o = _cycle();
        if (!o.ok) revert SetupCycleFailed(o.revertData);
    }

    /// @notice Checks shared by every successful cycle (docs/steady-state.md): it succeeded,
    /// paid what it reports, S1 against the cycle's own activity, S2 caps at the current gas
    /// price, S3 flash, S6 share price, S9 reported NAV against the shadow before and after.
    function _checkCycle(
        CheckList memory list,
        string memory tag,
        Snapshot memory a,
        Snapshot memory b,
        CycleOutcome memory o
    ) internal view {
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
        if (o.ok) _checkRecord(list, tag, b, o);
    }

    /// @notice The vault's record of the cycle that just ran (`lastCycle()`, what keepers,
    /// monitors and auditors read) against what was observed: its bounty is what the keeper's
    /// USDT balance gained, its path what the call returned, its NAV and share price after the
    /// cycle what the vault values itself at in the same state (`b`, measured right after the
    /// cycle), and that NAV within S9's tolerance of the shadow NAV.
    function _checkRecord(CheckList memory list, string memory tag, Snapshot memory b, CycleOutcome memory o)
        internal
        view
    {
        CycleRecord memory r = vault.lastCycle();
        list.eq(
            string.concat("record_bounty_vs_keeper_gain_wei", tag), int256(r.bounty), int256(o.keeperGain)
        );
        list.eq(
            string.concat("record_path_vs_returned", tag), int256(uint256(r.path)), int256(uint256(o.path))
        );
        list.eq(string.concat("record_nav_after_vs_nav_wei", tag), int256(r.navAfter) - int256(b.nav), 0);
        list.eq(
            string.concat("record_share_price_after_vs_share_price_wei", tag),
            int256(r.sharePrice) - int256(b.sharePrice),
            0
        );
        // The path names what happened: a flash path only when the flash pair swapped (its
        // own Swap event), the fallback path only when the vault reported falling back.
        bool flashPath = r.path == CyclePath.FLASH_DELEVERAGE || r.path == CyclePath.FLASH_PARTIAL;
        list.isTrue(
            string.concat("record_flash_path_has_flash_swap", tag),
            !flashPath || _countLogs(o.logs, w.flashPair, PAIR_SWAP_TOPIC) != 0
        );
        list.isTrue(
            string.concat("record_fallback_path_has_fallback_event", tag),
            r.path != CyclePath.DELEVERAGE_FALLBACK
                || _countLogs(o.logs, address(vault), VaultCore.FlashFallback.selector) != 0
        );
        list.isTrue(string.concat("record_action_bits_vs_skips_and_refusals", tag), o.bitsOk);
        uint256 off = r.navAfter > b.shadow.nav ? r.navAfter - b.shadow.nav : b.shadow.nav - r.navAfter;
        list.le(string.concat("record_nav_after_vs_shadow_wei", tag), int256(off), int256(b.shadow.tolerance));
    }

    // ------------------------------------------------------------------------------ market

    /// @notice Moves the LP pair's spot price by `bps` (positive: BTCB up) with one real swap.
    function _moveSpot(int256 bps) internal {
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        uint256 f = uint256(int256(BPS) + bps) * 1e14; // price factor, 18 decimals
        uint256 rootF = _sqrt(f * 1e18); // 18 decimals
        if (bps > 0) {
            uint256 amountIn = (rUsdt * rootF / 1e18 - rUsdt) * BPS / (BPS - 25);
            _swap(w.usdt, w.btcb, amountIn);
        } else if (bps < 0) {
            uint256 amountIn = (rBtc * 1e18 / rootF - rBtc) * BPS / (BPS - 25);
            _swap(w.btcb, w.usdt, amountIn);
        }
    }

    /// @notice A market move: the pool by `bps` with a real swap and, on the replicas, Aster's
    /// BTC mark with it, as Aster's price feed follows the market. (A move of the pool alone,
    /// `_moveSpot`, is a manipulation or a pool nobody arbitrages.)
    function _marketMove(int256 bps) internal {
        _moveSpot(bps);
        _followMark();
    }

    /// @notice On the replicas, Aster's keeper sets its BTC mark to the pool's spot.
    function _followMark() internal {
        if (!w.isReplica) return;
        _markToSpot();
    }

    /// @notice Moves the LP pair's spot price to `price` (USDT per BTCB, 18 decimals).
    function _setSpot(uint256 price) internal {
        uint256 s = _spot();
        if (s == price) return;
        int256 bps = (int256(price) - int256(s)) * int256(BPS) / int256(s);
        _moveSpot(bps);
    }

    /// @notice Drains `pair` to `keepBps` of its reserves, both sides alike (the price stays):
    /// its token balances are set with `deal`, then `sync()` makes them the reserves.
    function _drainPair(address pair, uint256 keepBps) internal {
        (uint112 r0, uint112 r1,) = IPancakePair(pair).getReserves();
        _setBalance(IPancakePair(pair).token0(), pair, uint256(r0) * keepBps / BPS);
        _setBalance(IPancakePair(pair).token1(), pair, uint256(r1) * keepBps / BPS);
        IPancakePair(pair).sync();
    }

    // ------------------------------------------------------------------------------ probes

    /// @notice Strangers, allowances and the vault's internal entry points (VaultProbes).
    function _probeStrangers(CheckList memory list) internal {
        (VaultProbes p,) = _probeHost(list);
        if (address(p) == address(0)) return;
        try p.strangers(vault, ChaosWorld.vaultAddresses(w)) returns (Check[] memory checks) {
            _append(list, checks);
        } catch {
            list.isTrue("probe_strangers_completed", false);
        }
    }

    /// @notice ERC-4626 rates and rounding, measured by balances (VaultProbes).
    function _probeRounding(CheckList memory list) internal {
        (VaultProbes p,) = _probeHost(list);
        if (address(p) == address(0)) return;
        try p.rounding(vault, ChaosWorld.vaultAddresses(w)) returns (Check[] memory checks) {
            _append(list, checks);
        } catch {
            list.isTrue("probe_rounding_completed", false);
        }
    }

    /// @notice Configuration validation at deployment, with this scenario's factory (VaultProbes).
    /// A probe that reverts (a vault call it expected to go through did not) is a failed check of
    /// this scenario; the scenario goes on from where it was.
    function _probeConfig(CheckList memory list) internal {
        (VaultProbes p, IVaultFactory f) = _probeHost(list);
        if (address(p) == address(0)) return;
        try p.config(vault, ChaosWorld.vaultAddresses(w), f) returns (Check[] memory checks) {
            _append(list, checks);
        } catch {
            list.isTrue("probe_config_completed", false);
        }
    }

    /// @notice The running scenario's vault factory (it deploys vaults of the code under test);
    /// address(0) in a group deployed by anything but the runner.
    function _vaultFactory() internal view returns (IVaultFactory f) {
        (bool ok, bytes memory rf) = _runner.staticcall(abi.encodeCall(IProbeHost.activeFactory, ()));
        if (ok && rf.length == 32) f = abi.decode(rf, (IVaultFactory));
    }

    /// @dev The runner's probes and the running scenario's vault factory; a group deployed
    /// by anything else has neither, which fails a check instead of skipping silently.
    function _probeHost(CheckList memory list) private view returns (VaultProbes p, IVaultFactory f) {
        (bool okP, bytes memory rp) = _runner.staticcall(abi.encodeCall(IProbeHost.probes, ()));
        (bool okF, bytes memory rf) = _runner.staticcall(abi.encodeCall(IProbeHost.activeFactory, ()));
        if (okP && rp.length == 32 && okF && rf.length == 32) {
            (p, f) = (abi.decode(rp, (VaultProbes)), abi.decode(rf, (IVaultFactory)));
        }
        bool ready = address(p) != address(0) && address(f) != address(0);
        list.isTrue("precondition_probes_available", ready);
        if (!ready) p = VaultProbes(address(0));
    }

    function _append(CheckList memory list, Check[] memory checks) private pure {
        for (uint256 i; i < checks.length; ++i) {
            list.push(checks[i]);
        }
    }

    // ------------------------------------------------------------------------------ result

    function _result(string memory id, string memory fault, CheckList memory list)
        internal
        view
        returns (ScenarioResult memory r)
    {
        r.id = id;
        r.fault = fault;
        SteadyState.s10Checks(list, s10);
        list.eq("record_action_bits_mismatched_cycles", int256(_bitMismatches), 0);
        (r.checks, r.held) = SteadyState.finish(list);
        r.digestBefore = digestBefore;
        r.digestAfter = vault.stateDigest();
        r.cycleGas = cycleGas;
        r.cycles = cycles;
    }

    function _is(string calldata id, string memory name) internal pure returns (bool) {
        return keccak256(bytes(id)) == keccak256(bytes(name));
    }
}
