// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {VaultCore} from "../../contracts/vault/VaultCore.sol";
import {Legs, RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @notice The withdrawal queue: liquid share at once, the rest claimable within ALP's cooldown
/// plus one cycle.
contract VaultQueueTest is VaultFixture {
    function _requestHalf() internal returns (uint256 assetsNow, uint256 claimId, uint256 value) {
        uint256 shares = vault.balanceOf(alice) / 2;
        value = vault.convertToAssets(shares);
        vm.prank(alice);
        (assetsNow, claimId) = vault.requestRedeem(shares, alice, alice);
    }

    function test_requestRedeem_paysLiquidShareNowAndQueuesTheRest() public {
        _invest();
        Legs memory l = vault.legs();
        (uint256 assetsNow, uint256 claimId, uint256 value) = _requestHalf();
        assertApproxEqAbs(assetsNow, l.buffer / 2, 1);
        assertEq(env.usdt.balanceOf(alice), assetsNow);
        VaultCore.Claim memory c = vault.claims(claimId);
        assertEq(c.receiver, alice);
        assertGt(c.usdt, 0);
        assertApproxEqAbs(c.alp, env.alp.balanceOf(address(vault)) / 2, 1);
        (uint256 epoch, uint256 usdtOwed, uint256 alpOwed, uint256 reserved) = vault.claimQueue();
        assertEq(epoch, 0);
        assertEq(usdtOwed, c.usdt);
        assertEq(alpOwed, c.alp);
        assertEq(reserved, 0);
        // The USDT owed to the claim is not liquid for the remaining holders.
        uint256 bal = env.usdt.balanceOf(address(vault));
        assertEq(vault.liquidAssets(), bal > usdtOwed ? bal - usdtOwed : 0);
        // Nothing is lost: paid now + owed = the shares' value.
        uint256 owed = c.usdt + uint256(c.alp) * env.asterDiamond.alpPrice() / 1e8;
        assertApproxEqRel(assetsNow + owed, value, 0.0001e18);
    }

    function test_claim_revertsUntilFunded() public {
        _invest();
        (, uint256 claimId,) = _requestHalf();
        vm.expectRevert(abi.encodeWithSelector(VaultCore.ClaimNotFunded.selector, claimId));
        vault.claim(claimId);
    }

    function test_claim_fundedWithinCooldownPlusOneCycle() public {
        _invest();
        (uint256 assetsNow, uint256 claimId, uint256 value) = _requestHalf();
        uint256 readyAt =
            env.asterDiamond.lastMintedTimestamp(address(vault)) + env.asterDiamond.coolingDuration();
        // Keepers cycle every hour through the cooldown: the claim is deferred, never lost.
        // the test walks wall-clock time on purpose.
        // forge-lint: disable-next-line(block-timestamp)
        while (block.timestamp + 1 hours < readyAt) {
            _warp(1 hours);
            _cycle();
            assertEq(vault.claimable(claimId), 0);
            _executeHedges();
        }
        // The first cycle after the cooldown funds it.
        _warp(readyAt - block.timestamp);
        vm.expectEmit(false, false, false, false, address(vault));
        emit VaultCore.ClaimsFunded(0, 0, 0, 0);
        _cycle();
        uint256 owed = vault.claimable(claimId);
        assertGt(owed, 0);
        uint256 paid = vault.claim(claimId);
        assertEq(paid, owed);
        assertApproxEqRel(assetsNow + paid, value, 0.001e18);
        vm.expectRevert(abi.encodeWithSelector(VaultCore.UnknownClaim.selector, claimId));
        vault.claim(claimId);
    }

    function test_requestRedeem_pausesAlpMintsUntilFunded() public {
        _invest();
        _requestHalf();
        uint256 lastMint = env.asterDiamond.lastMintedTimestamp(address(vault));
        _deposit(bob, DEPOSIT); // drift: ALP below target, but a mint would restart the cooldown
        _nextCycle();
        assertEq(env.asterDiamond.lastMintedTimestamp(address(vault)), lastMint);
    }

    function test_requestRedeem_worksInOnlyUnwind() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
        (uint256 assetsNow,,) = _requestHalf();
        assertGt(assetsNow, 0);
    }
}
