// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {CyclePath} from "../../contracts/vault/VaultTypes.sol";

/// @notice The keeper bounty: both caps, a staleness-checked feed, nothing without work.
contract VaultBountyTest is VaultFixture {
    function _firstCycle(uint256 gasPrice) internal returns (CyclePath path, uint256 bounty) {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        vm.txGasPrice(gasPrice);
        vm.prank(keeper, keeper);
        (path, bounty) = vault.cycle();
    }

    function test_bounty_paysGasRefundWhenWorkDone() public {
        (CyclePath path, uint256 bounty) = _firstCycle(1 gwei);
        assertEq(uint256(path), uint256(CyclePath.REBALANCE));
        // 1.5M gas * 1 gwei * 900 USD/BNB = 1.35 USDT (no profit yet).
        assertEq(bounty, uint256(cfg.bountyGasUnits) * 1 gwei * 900);
        assertEq(env.usdt.balanceOf(keeper), bounty);
    }

    function test_bounty_clampsGasPriceToMaxGasPrice() public {
        (, uint256 bounty) = _firstCycle(10_000 gwei);
        assertEq(bounty, uint256(cfg.bountyGasUnits) * cfg.maxGasPrice * 900);
    }

    function test_bounty_cappedByMaxBountyBpsOfNav() public {
        _deposit(alice, 1000e18);
        _warp(cfg.twapWindow);
        vm.txGasPrice(5 gwei);
        vm.prank(keeper, keeper);
        (, uint256 bounty) = vault.cycle();
        // gas refund 6.75 USDT > 10 bps of ~1,000 USDT
        assertLe(bounty, vault.lastCycle().navAfter * cfg.maxBountyBps / 10_000 + 1e15);
        assertLt(bounty, uint256(cfg.bountyGasUnits) * 5 gwei * 900);
        assertGt(bounty, 0);
    }

    function test_bounty_profitShareNeverExceedsOneAndAHalfGasRefund() public {
        _invest();
        env.asterDiamond.setAlpPrice(1.2e8); // +6% NAV through ALP
        _deposit(bob, DEPOSIT); // and work to do
        (CyclePath path, uint256 bounty) = _nextCycle();
        assertTrue(path != CyclePath.IDLE);
        assertEq(bounty, uint256(cfg.bountyGasUnits) * GAS_PRICE * 900 * 3 / 2);
    }

    function test_bounty_zeroWhenFeedStale() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        env.bnbUsdFeed.setUpdatedAt(block.timestamp - cfg.maxOracleAge - 1);
        (CyclePath path, uint256 bounty) = _cycle();
        assertTrue(path != CyclePath.IDLE);
        assertEq(bounty, 0);
        assertEq(vault.gasRefundUsd(), 0);
    }

    function test_bounty_zeroWhenFeedAnswerNotPositive() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        env.bnbUsdFeed.updateAnswer(-1);
        (, uint256 bounty) = _cycle();
        assertEq(bounty, 0);
        env.bnbUsdFeed.updateAnswer(0);
        assertEq(vault.bnbUsdPrice(), 0);
    }

    function test_bounty_zeroWhenFeedReverts() public {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        vm.mockCallRevert(address(env.bnbUsdFeed), abi.encodeWithSignature("latestRoundData()"), "");
        (, uint256 bounty) = _cycle();
        assertEq(bounty, 0);
    }

    function test_bounty_zeroWhenNoWorkDone() public {
        _invest();
        uint256 before = env.usdt.balanceOf(keeper);
        (CyclePath path, uint256 bounty) = _nextCycle();
        assertEq(uint256(path), uint256(CyclePath.IDLE));
        assertEq(bounty, 0);
        assertEq(env.usdt.balanceOf(keeper), before);
    }
}
