// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {ChainlinkFeedReplica} from "../../contracts/replicas/chainlink/ChainlinkFeedReplica.sol";

contract ChainlinkFeedReplicaTest is ReplicaFixture {
    ChainlinkFeedReplica internal feed;

    function setUp() public override {
        super.setUp();
        feed = env.bnbUsdFeed;
    }

    function test_feed_startsWithTheDeploymentPriceAt8Decimals() public view {
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            feed.latestRoundData();
        assertEq(feed.decimals(), 8);
        assertEq(roundId, 1);
        assertEq(answer, 900e8);
        assertEq(startedAt, block.timestamp);
        assertEq(updatedAt, block.timestamp);
        assertEq(answeredInRound, 1);
        assertEq(feed.description(), "BNB / USD");
        (, int256 btc,,,) = env.btcUsdFeed.latestRoundData();
        assertEq(btc, 90_000e8);
    }

    function test_feed_updateAnswerStartsAFreshRoundStampedNow() public {
        vm.warp(block.timestamp + 1 hours);
        feed.updateAnswer(912.5e8);
        (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = feed.latestRoundData();
        assertEq(roundId, 2);
        assertEq(answer, 912.5e8);
        assertEq(updatedAt, block.timestamp);
        assertEq(answeredInRound, 2);
        assertEq(feed.latestAnswer(), 912.5e8);
        assertEq(feed.latestTimestamp(), block.timestamp);
    }

    function test_feed_setUpdatedAtMakesTheLatestRoundStaleWithoutANewRound() public {
        vm.warp(1_800_000_000);
        feed.setUpdatedAt(block.timestamp - 2 hours);
        (uint80 roundId, int256 answer,, uint256 updatedAt,) = feed.latestRoundData();
        assertEq(roundId, 1);
        assertEq(answer, 900e8);
        assertEq(updatedAt, block.timestamp - 2 hours);
    }

    function test_feed_setRoundDataWritesExplicitTimestamps() public {
        vm.warp(1_800_000_000);
        feed.setRoundData(-1, 1_700_000_000, 0); // a negative answer in an incomplete round
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt,) = feed.latestRoundData();
        assertEq(roundId, 2);
        assertEq(answer, -1);
        assertEq(startedAt, 1_700_000_000);
        assertEq(updatedAt, 0);
    }

    function test_feed_setAnsweredInRoundCarriesAnOldAnswer() public {
        feed.updateAnswer(901e8);
        feed.setAnsweredInRound(1);
        (uint80 roundId,,,, uint80 answeredInRound) = feed.latestRoundData();
        assertEq(roundId, 2);
        assertEq(answeredInRound, 1);
    }

    function test_feed_getRoundDataKeepsPastRounds() public {
        feed.updateAnswer(950e8);
        (, int256 first,,,) = feed.getRoundData(1);
        (, int256 second,,,) = feed.getRoundData(2);
        assertEq(first, 900e8);
        assertEq(second, 950e8);
    }

    function test_feed_getRoundDataRevertsForARoundNeverWritten() public {
        vm.expectRevert("No data present");
        feed.getRoundData(2);
        vm.expectRevert("No data present");
        feed.getRoundData(0);
    }

    function test_feed_onlyTheAdminWritesRounds() public {
        address stranger = makeAddr("stranger");
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ChainlinkFeedReplica.NotAdmin.selector, stranger));
        feed.updateAnswer(1);
        vm.expectRevert(abi.encodeWithSelector(ChainlinkFeedReplica.NotAdmin.selector, stranger));
        feed.setUpdatedAt(0);
        vm.stopPrank();
    }
}
