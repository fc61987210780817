// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ScenarioResult} from "../ScenarioTypes.sol";
import {World} from "../ChaosWorld.sol";
import {ScenarioBase, CycleOutcome} from "../ScenarioBase.sol";
import {SteadyState, Snapshot, CheckList} from "../SteadyState.sol";
import {FaultInjection} from "../FaultProxy.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {RiskMode} from "../../../contracts/vault/VaultTypes.sol";
import {AggregatorV3Interface} from "../../../contracts/interfaces/IChainlink.sol";
import {ChainlinkFeedReplica} from "../../../contracts/replicas/chainlink/ChainlinkFeedReplica.sol";

/// @notice The owner's surface of Chainlink's EACAggregatorProxy (the BNB/USD feed on BSC and,
/// by default, on the local chain): a new aggregator is proposed, then confirmed, and the
/// proxy's phase goes up by one.
interface IChainlinkProxyOwner {
    function owner() external view returns (address);
    function phaseId() external view returns (uint16);
    function aggregator() external view returns (address);
    function proposeAggregator(address aggregator) external;
    function confirmAggregator(address aggregator) external;
}

/// @title FeedScenarios
/// @notice Faults of the BNB/USD feed that only a real Chainlink proxy makes possible.
contract FeedScenarios is ScenarioBase {
    using SteadyState for CheckList;

    /// Work for a cycle: a deposit that pushes the buffer beyond the rebalance threshold.
    uint256 internal constant WORK_DEPOSIT = 30_000e18;
    uint256 internal constant PHASE_OFFSET = 64;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external override returns (ScenarioResult memory) {
        if (_is(id, "feed_aggregator_switch")) return _aggregatorSwitch();
        revert UnknownScenario(id);
    }

    // ---------------------------------------------------------------- feed_aggregator_switch

    /// The feed's owner switches the proxy to another aggregator mid-run, as Chainlink does when
    /// it upgrades a feed: the proxy's round ids jump to the next phase (`phase << 64 | round`)
    /// and restart at the new aggregator's first round. Freshness is a matter of `updatedAt`, not
    /// of round ids, so after the switch:
    /// - `_fresh`: the new aggregator's first round is stamped now: the vault trusts the feed and
    ///   pays its gas-based bounty, exactly as with a fresh round before the switch (`_control`);
    /// - `_stale`: the new aggregator's only round is older than maxOracleAge, although its round
    ///   id is far larger than any before: no gas-based bounty (a vault that took a larger round
    ///   id for a newer answer would pay one);
    /// - `_stale_old_aggregator_fresh`: as `_stale`, and the old aggregator, which the proxy no
    ///   longer reads, receives a fresh round: still no bounty (a reader of the old aggregator
    ///   would pay one).
    /// Every case: the cycle works, stays NORMAL, and S1, S2, S3 and S6 hold. On a feed that is
    /// not a Chainlink proxy (`--replicas hand`) the switch is emulated at the ABI level: the
    /// feed answers with the next phase's first round through the fault proxy.
    function _aggregatorSwitch() internal returns (ScenarioResult memory) {
        CheckList memory list;
        _baseline(true);
        vm.txGasPrice(cfg.maxGasPrice);
        (bool realProxy, address proxyOwner) = _chainlinkProxy();
        list.isTrue("precondition_feed_answers", _latestRound() != 0);

        // Control: a fresh round from the current aggregator, no switch.
        uint256 snap = vm.snapshotState();
        _refreshFeed();
        CycleOutcome memory o = _workCycle(list, "_control");
        list.gt("S2_bounty_with_fresh_feed_wei_control", int256(o.bounty), 0);
        vm.revertToState(snap);

        string[3] memory tags = ["_fresh", "_stale", "_stale_old_aggregator_fresh"];
        for (uint256 i; i < 3; ++i) {
            snap = vm.snapshotState();
            uint80 before = _latestRound();
            uint256 updatedAt = i == 0 ? block.timestamp : block.timestamp - cfg.maxOracleAge - 1;
            address oldAggregator = realProxy ? IChainlinkProxyOwner(w.bnbUsdFeed).aggregator() : address(0);
            _switch(realProxy, proxyOwner, updatedAt);
            if (i == 2 && realProxy) _freshRoundOn(oldAggregator);
            uint80 afterSwitch = _latestRound();
            string memory tag = tags[i];
            list.eq(
                string.concat("feed_phase_jump", tag),
                int256(uint256(afterSwitch >> PHASE_OFFSET)) - int256(uint256(before >> PHASE_OFFSET)),
                1
            );
            list.gt(
                string.concat("feed_round_id_increase", tag),
                int256(uint256(afterSwitch)) - int256(uint256(before)),
                0
            );
            o = _workCycle(list, tag);
            if (i == 0) list.gt("S2_bounty_with_fresh_feed_wei_fresh", int256(o.bounty), 0);
            else list.eq(string.concat("S2_bounty_wei", tag), int256(o.bounty), 0);
            vm.revertToState(snap);
        }
        vm.txGasPrice(0);
        return _result(
            "feed_aggregator_switch",
            realProxy
                ? "Chainlink proxy switched to a new aggregator: round ids jump phase (fresh, stale, stale with the old aggregator fresh)"
                : "aggregator switch emulated on a feed without a proxy: round ids jump phase (fresh, stale, stale)",
            list
        );
    }

    /// A deposit that gives the cycle work, then the cycle with the checks every cycle gets and
    /// NORMAL mode.
    function _workCycle(CheckList memory list, string memory tag) internal returns (CycleOutcome memory o) {
        _deposit(CAROL, WORK_DEPOSIT);
        Snapshot memory a = _measure();
        o = _cycle();
        Snapshot memory b = _measure();
        _checkCycle(list, tag, a, b, o);
        list.s4Mode(tag, b, RiskMode.NORMAL);
    }

    /// Whether the BNB/USD feed is a Chainlink proxy (it answers `phaseId`, `aggregator` and
    /// `owner`), and its owner.
    function _chainlinkProxy() internal view returns (bool, address) {
        (bool okPhase,) = w.bnbUsdFeed.staticcall(abi.encodeCall(IChainlinkProxyOwner.phaseId, ()));
        (bool okAggregator,) = w.bnbUsdFeed.staticcall(abi.encodeCall(IChainlinkProxyOwner.aggregator, ()));
        (bool okOwner, bytes memory ret) =
            w.bnbUsdFeed.staticcall(abi.encodeCall(IChainlinkProxyOwner.owner, ()));
        if (!okPhase || !okAggregator || !okOwner || ret.length != 32) return (false, address(0));
        return (true, abi.decode(ret, (address)));
    }

    function _latestRound() internal view returns (uint80 id) {
        (id,,,,) = AggregatorV3Interface(w.bnbUsdFeed).latestRoundData();
    }

    /// Switch the feed to a new aggregator whose only round holds the current answer, updated at
    /// `updatedAt`. On a real proxy: a new aggregator (the feed replica), proposed and confirmed
    /// by the proxy's owner. Otherwise: the next phase's first round, served by the fault proxy.
    function _switch(bool realProxy, address proxyOwner, uint256 updatedAt) internal {
        AggregatorV3Interface feed = AggregatorV3Interface(w.bnbUsdFeed);
        (uint80 id, int256 answer,,,) = feed.latestRoundData();
        if (realProxy) {
            ChainlinkFeedReplica replacement =
                new ChainlinkFeedReplica(feed.decimals(), feed.description(), answer, address(this));
            if (updatedAt != block.timestamp) replacement.setUpdatedAt(updatedAt);
            vm.startPrank(proxyOwner);
            IChainlinkProxyOwner(w.bnbUsdFeed).proposeAggregator(address(replacement));
            IChainlinkProxyOwner(w.bnbUsdFeed).confirmAggregator(address(replacement));
            vm.stopPrank();
            return;
        }
        uint80 nextId = uint80(((uint256(id) >> PHASE_OFFSET) + 1) << PHASE_OFFSET | 1);
        if (!FaultInjection.isInstalled(w.bnbUsdFeed)) FaultInjection.install(w.bnbUsdFeed);
        FaultInjection.returnData(
            w.bnbUsdFeed,
            AggregatorV3Interface.latestRoundData.selector,
            abi.encode(nextId, answer, updatedAt, updatedAt, nextId)
        );
    }

    /// A fresh round on the aggregator the proxy no longer reads: its admin (the local market)
    /// keeps writing, as an old Chainlink aggregator may keep receiving reports.
    function _freshRoundOn(address aggregator) internal {
        (bool okAdmin, bytes memory ret) = aggregator.staticcall(abi.encodeWithSignature("admin()"));
        if (!okAdmin || ret.length != 32) return; // a real BSC aggregator: nobody writes on a fork
        (, int256 answer,,,) = AggregatorV3Interface(aggregator).latestRoundData();
        vm.prank(abi.decode(ret, (address)));
        ChainlinkFeedReplica(aggregator).updateAnswer(answer);
    }
}
