// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VaultFixture} from "./VaultFixture.sol";
import {VaultCore} from "../../contracts/vault/VaultCore.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @notice ERC-4626 accounting: conversions, rounding against the user, the virtual offset.
contract VaultSharesTest is VaultFixture {
    function test_decimals_addOffsetToAsset() public view {
        assertEq(vault.decimals(), 24);
        assertEq(vault.asset(), address(env.usdt));
    }

    function test_deposit_mintsSharesAtNav() public {
        uint256 shares = _deposit(alice, DEPOSIT);
        assertEq(shares, DEPOSIT * 1e6);
        assertEq(vault.balanceOf(alice), shares);
        assertEq(vault.totalAssets(), DEPOSIT);
        assertEq(vault.sharePrice(), 1e18);
    }

    function test_deposit_revertsWhenSharesRoundToZero() public {
        _deposit(alice, DEPOSIT);
        // Double the NAV with a donation: 1 wei of USDT is then worth half a share unit... still
        // > 0 thanks to the 1e6 offset, so use 0.
        env.usdt.mint(bob, 1);
        vm.startPrank(bob);
        env.usdt.approve(address(vault), 1);
        vm.expectRevert(VaultCore.ZeroShares.selector);
        vault.deposit(0, bob);
        vm.stopPrank();
    }

    function test_mint_pullsAssetsRoundedUp() public {
        _deposit(alice, DEPOSIT);
        env.usdt.mint(address(vault), 7); // NAV not a multiple of supply: rounding matters
        uint256 shares = 3e24 + 1;
        uint256 expected = vault.previewMint(shares);
        assertGe(expected * (vault.totalSupply() + 1e6), shares * (vault.totalAssets() + 1));
        env.usdt.mint(bob, expected);
        vm.startPrank(bob);
        env.usdt.approve(address(vault), expected);
        uint256 paid = vault.mint(shares, bob);
        vm.stopPrank();
        assertEq(paid, expected);
        assertEq(vault.balanceOf(bob), shares);
    }

    function test_previewWithdraw_roundsUpAndPreviewRedeem_roundsDown() public {
        _deposit(alice, DEPOSIT);
        env.usdt.mint(address(vault), 3);
        uint256 assets = 12_345e18 + 1;
        assertGe(vault.previewWithdraw(assets), vault.convertToShares(assets));
        uint256 shares = 5e24 + 3;
        assertLe(vault.previewRedeem(shares), vault.convertToAssets(shares) + 0);
        assertLe(vault.previewDeposit(assets), vault.convertToShares(assets));
    }

    function test_withdraw_paysProRataLiquidShareAtNav() public {
        _invest();
        _deposit(bob, DEPOSIT);
        uint256 max = vault.maxWithdraw(bob);
        uint256 liquid = vault.legs().buffer * vault.balanceOf(bob) / vault.totalSupply();
        assertApproxEqAbs(max, liquid, 1);
        uint256 before = env.usdt.balanceOf(bob);
        vm.prank(bob);
        vault.withdraw(max, bob, bob);
        assertEq(env.usdt.balanceOf(bob) - before, max);
    }

    function test_withdraw_revertsAboveMaxWithdraw() public {
        _invest();
        uint256 max = vault.maxWithdraw(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(VaultCore.ExceedsMaxWithdraw.selector, max + 1, max));
        vault.withdraw(max + 1, alice, alice);
    }

    function test_withdraw_worksInOnlyUnwind() public {
        _invest();
        _moveSpotTo(-400);
        _nextCycle();
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
        uint256 max = vault.maxWithdraw(alice);
        assertGt(max, 0);
        vm.prank(alice);
        vault.withdraw(max, alice, alice);
        assertEq(env.usdt.balanceOf(alice), max);
    }

    function test_redeem_byApprovedSpenderConsumesAllowance() public {
        _invest();
        uint256 shares = vault.maxRedeem(alice) / 2;
        vm.prank(alice);
        vault.approve(bob, shares);
        vm.prank(bob);
        uint256 assets = vault.redeem(shares, bob, alice);
        assertGt(assets, 0);
        assertEq(vault.allowance(alice, bob), 0);
        assertEq(env.usdt.balanceOf(bob), assets);
    }

    function test_transfer_movesShares() public {
        uint256 shares = _deposit(alice, DEPOSIT);
        vm.prank(alice);
        assertTrue(vault.transfer(bob, shares / 4));
        assertEq(vault.balanceOf(bob), shares / 4);
        assertEq(vault.balanceOf(alice), shares - shares / 4);
    }

    /// @notice First-deposit donation attack: the attacker deposits dust, donates a lot of
    /// USDT to inflate the share price, and hopes the victim's deposit rounds to few shares.
    /// With the 1e6 virtual offset the attacker always ends with less than it put in.
    function testFuzz_firstDeposit_donationAttackNeverProfits(
        uint256 attackerDeposit,
        uint256 donation,
        uint256 victim
    ) public {
        attackerDeposit = bound(attackerDeposit, 1, 1e18);
        donation = bound(donation, 1, 1_000_000e18);
        victim = bound(victim, 1e18, 1_000_000e18);
        address attacker = makeAddr("attacker");
        _deposit(attacker, attackerDeposit);
        env.usdt.mint(attacker, donation);
        vm.prank(attacker);
        env.usdt.transfer(address(vault), donation);
        uint256 victimShares = _deposit(alice, victim);
        assertGt(victimShares, 0);
        // What the victim can take back is worth its deposit minus at most a rounding share.
        uint256 victimValue = vault.convertToAssets(victimShares);
        uint256 attackerValue = vault.convertToAssets(vault.balanceOf(attacker));
        // The attacker never profits...
        assertLe(attackerValue, attackerDeposit + donation);
        // ...and the victim's rounding loss is at most one share unit, worth about a millionth
        // (the 1e6 offset) of what the attacker burnt: the attack costs ~1e6 times its yield.
        uint256 victimLoss = victim > victimValue ? victim - victimValue : 0;
        assertLe(victimLoss, (attackerDeposit + donation) / 1e6 + 1);
    }

    /// @notice Rounding is always against the user: a deposit followed by a redemption of the
    /// same shares never returns more than was deposited, whatever the NAV/supply ratio.
    function testFuzz_roundTrip_neverReturnsMoreThanDeposited(uint256 seed, uint256 donation, uint256 amount)
        public
    {
        seed = bound(seed, 1, 1_000_000e18);
        donation = bound(donation, 0, 1_000_000e18);
        amount = bound(amount, 1, 1_000_000e18);
        _deposit(alice, seed);
        env.usdt.mint(address(vault), donation);
        uint256 shares;
        if (vault.previewDeposit(amount) == 0) return;
        shares = _deposit(bob, amount);
        assertLe(vault.previewRedeem(shares), amount);
        assertGe(vault.previewMint(shares), vault.convertToAssets(shares));
        assertGe(vault.previewWithdraw(vault.previewRedeem(shares)), 0);
        assertLe(vault.previewWithdraw(vault.previewRedeem(shares)), shares);
    }

    function testFuzz_previewWithdraw_neverBurnsTooFewShares(uint256 donation, uint256 assets) public {
        _deposit(alice, DEPOSIT);
        donation = bound(donation, 0, DEPOSIT);
        env.usdt.mint(address(vault), donation);
        assets = bound(assets, 1, vault.totalAssets());
        uint256 shares = vault.previewWithdraw(assets);
        // The shares burnt are worth at least the assets paid.
        assertGe(shares * (vault.totalAssets() + 1), assets * (vault.totalSupply() + 1e6));
    }
}
