// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DifferentialBase} from "./DifferentialBase.sol";
import {LocalEnvironment} from "../../../script/lib/LocalEnvironment.sol";
import {ChainlinkFeedReplica} from "../../../contracts/replicas/chainlink/ChainlinkFeedReplica.sol";
import {IAggregatorV2V3} from "../../../contracts/replicas/chainlink/IAggregatorV2V3.sol";

/// @notice The owner's surface of Chainlink's EACAggregatorProxy (AggregatorProxy).
interface IEACAggregatorProxy is IAggregatorV2V3 {
    function aggregator() external view returns (address);
    function phaseId() external view returns (uint16);
    function phaseAggregators(uint16 phaseId) external view returns (address);
    function proposeAggregator(address aggregator) external;
    function confirmAggregator(address aggregator) external;
    function owner() external view returns (address);
}

/// @title ChainlinkDifferentialTest
/// @notice The feed replica read directly (how the vault reads it with `--replicas hand`) and
/// through Chainlink's real `EACAggregatorProxy` (how it reads it by default and on BSC) must
/// give the same rounds: after any sequence of rounds written to the aggregator (fresh, with
/// chosen timestamps, an updatedAt rewritten, answeredInRound carried over), every round id
/// `r` of the replica reads through the proxy as `phase << 64 | r` with the same answer,
/// timestamps and (phase-encoded) answeredInRound, a round that does not exist reverts alike,
/// and the V2 reads (latestAnswer, latestTimestamp, latestRound, getAnswer, getTimestamp)
/// agree. After the proxy's aggregator is switched the new rounds carry phase 2 and the old
/// ones stay readable under phase 1.
contract ChainlinkDifferentialTest is DifferentialBase {
    ChainlinkFeedReplica internal aggregator;
    IEACAggregatorProxy internal proxy;

    uint256 internal constant PHASE_OFFSET = 64;

    function setUp() public {
        vm.warp(1_767_225_600);
        aggregator = new ChainlinkFeedReplica(8, "BNB / USD", 900e8, address(this));
        proxy = IEACAggregatorProxy(address(LocalEnvironment.deployFeedProxy(address(aggregator))));
        assertEq(proxy.phaseId(), 1);
    }

    /// Writes `steps` rounds (or rewrites) to `feed` from a seed.
    function _write(ChainlinkFeedReplica feed, uint256 seed, uint256 steps) internal {
        for (uint256 i; i < steps; ++i) {
            seed = uint256(keccak256(abi.encode(seed, i)));
            vm.warp(block.timestamp + seed % 2 hours);
            int256 answer = int256(seed >> 128) % 2000e8 - 100e8; // zero and negative too
            uint256 kind = (seed >> 8) % 4;
            if (kind == 0) {
                feed.updateAnswer(answer);
            } else if (kind == 1) {
                uint256 updatedAt = (seed >> 16) % 3 == 0 ? 0 : block.timestamp - (seed >> 24) % 1 days;
                feed.setRoundData(answer, block.timestamp - (seed >> 40) % 1 days, updatedAt);
            } else if (kind == 2) {
                feed.setUpdatedAt(block.timestamp - (seed >> 16) % 2 days);
            } else {
                uint256 latest = feed.latestRound();
                feed.setAnsweredInRound(uint80(latest - (seed >> 16) % latest));
            }
        }
    }

    function _phased(uint16 phase, uint256 id) internal pure returns (uint256) {
        return uint256(phase) << PHASE_OFFSET | id;
    }

    /// Every round of `feed` read directly and through the proxy under `phase`.
    function _assertSameRounds(ChainlinkFeedReplica feed, uint16 phase) internal {
        uint256 latest = feed.latestRound();
        for (uint256 r; r <= latest + 1; ++r) {
            (bool okDirect, bytes memory direct) =
                address(feed).staticcall(abi.encodeCall(IAggregatorV2V3.getRoundData, (uint80(r))));
            (bool okProxy, bytes memory viaProxy) = address(proxy).staticcall{gas: CALL_GAS}(
                abi.encodeCall(IAggregatorV2V3.getRoundData, (uint80(_phased(phase, r))))
            );
            if (!okDirect || !okProxy) {
                _assertSameOutcome("getRoundData of a missing round", okProxy, viaProxy, okDirect, direct);
                continue;
            }
            _assertSameRound(direct, viaProxy, phase);
            assertEq(proxy.getAnswer(_phased(phase, r)), feed.getAnswer(r), "getAnswer");
            assertEq(proxy.getTimestamp(_phased(phase, r)), feed.getTimestamp(r), "getTimestamp");
        }
    }

    function _assertSameRound(bytes memory direct, bytes memory viaProxy, uint16 phase) internal pure {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) =
            abi.decode(direct, (uint80, int256, uint256, uint256, uint80));
        (uint80 pId, int256 pAnswer, uint256 pStartedAt, uint256 pUpdatedAt, uint80 pAnsweredIn) =
            abi.decode(viaProxy, (uint80, int256, uint256, uint256, uint80));
        assertEq(pId, _phased(phase, id), "round id carries the phase");
        assertEq(pAnswer, answer, "answer");
        assertEq(pStartedAt, startedAt, "startedAt");
        assertEq(pUpdatedAt, updatedAt, "updatedAt");
        assertEq(pAnsweredIn, _phased(phase, answeredIn), "answeredInRound carries the phase");
    }

    function _assertSameLatest(ChainlinkFeedReplica feed, uint16 phase) internal view {
        (uint80 a, int256 b, uint256 c, uint256 d, uint80 e) = feed.latestRoundData();
        bytes memory direct = abi.encode(a, b, c, d, e);
        (a, b, c, d, e) = proxy.latestRoundData();
        _assertSameRound(direct, abi.encode(a, b, c, d, e), phase);
        assertEq(proxy.latestAnswer(), feed.latestAnswer(), "latestAnswer");
        assertEq(proxy.latestTimestamp(), feed.latestTimestamp(), "latestTimestamp");
        assertEq(proxy.latestRound(), _phased(phase, feed.latestRound()), "latestRound");
        assertEq(proxy.decimals(), feed.decimals(), "decimals");
        assertEq(proxy.description(), feed.description(), "description");
        assertEq(proxy.version(), feed.version(), "version");
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    function testFuzz_diff_feed_sameRoundsThroughTheProxy(uint256 seed, uint8 steps) public {
        _write(aggregator, seed, bound(steps, 0, 12));
        _assertSameLatest(aggregator, 1);
        _assertSameRounds(aggregator, 1);
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// The proxy's aggregator is switched (propose, confirm) mid-history: the proxy's round ids
    /// jump from phase 1 to phase 2 and restart at the new aggregator's first round, its latest
    /// round is the new aggregator's, and phase 1's rounds stay readable under their old ids.
    function testFuzz_diff_feed_aggregatorSwitchJumpsPhase(uint256 seed, uint8 before, uint8 afterwards)
        public
    {
        _write(aggregator, seed, bound(before, 0, 8));
        (uint80 oldId,,,,) = proxy.latestRoundData();
        ChainlinkFeedReplica next =
            new ChainlinkFeedReplica(8, "BNB / USD", aggregator.latestAnswer(), address(this));
        proxy.proposeAggregator(address(next));
        proxy.confirmAggregator(address(next));
        assertEq(proxy.phaseId(), 2);
        assertEq(proxy.aggregator(), address(next));
        assertEq(proxy.phaseAggregators(1), address(aggregator));
        (uint80 newId,,,,) = proxy.latestRoundData();
        assertEq(newId, _phased(2, 1), "the new phase starts at round 1");
        assertGt(newId, oldId, "phase-encoded ids keep increasing across the switch");
        _write(next, seed >> 1, bound(afterwards, 0, 8));
        _assertSameLatest(next, 2);
        _assertSameRounds(next, 2);
        _assertSameRounds(aggregator, 1);
    }
}
