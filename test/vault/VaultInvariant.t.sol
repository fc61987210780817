// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {VaultFixture} from "./VaultFixture.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";
import {Config, CycleRecord, RiskMode} from "../../contracts/vault/VaultTypes.sol";

interface ISpotMover {
    function moveSpotTo(int256 bps) external;
    function refreshFeed() external;
}

/// @notice Drives the vault through random deposits, exits, price moves, Aster keeper actions
/// and cycles; records what each cycle did for the invariants to check.
contract VaultHandler is Test {
    ISpotMover internal immutable fixture;
    YieldVault internal immutable vault;
    LocalEnvironment.Environment internal env;
    Config internal cfg;
    address[3] internal users = [address(0xA11CE), address(0xB0B), address(0xCA401)];
    uint256[] public claimIds;

    uint256 public cycles;
    uint256 public bountyCapBreaches;
    uint256 public gasCapBreaches;
    uint256 public hedgeBandBreaches;
    uint256 public sharePriceJumps;

    constructor(YieldVault vault_, LocalEnvironment.Environment memory env_, Config memory cfg_) {
        fixture = ISpotMover(msg.sender);
        vault = vault_;
        env = env_;
        cfg = cfg_;
    }

    function deposit(uint256 who, uint256 amount) external {
        if (vault.maxDeposit(address(0)) == 0) return;
        address u = users[who % 3];
        amount = bound(amount, 1e18, 50_000e18);
        env.usdt.mint(u, amount);
        vm.startPrank(u);
        env.usdt.approve(address(vault), amount);
        vault.deposit(amount, u);
        vm.stopPrank();
    }

    function withdrawLiquid(uint256 who) external {
        address u = users[who % 3];
        uint256 max = vault.maxWithdraw(u);
        if (max == 0) return;
        vm.prank(u);
        vault.withdraw(max, u, u);
    }

    function requestRedeem(uint256 who, uint256 fraction) external {
        address u = users[who % 3];
        uint256 shares = vault.balanceOf(u) * bound(fraction, 1, 100) / 100;
        if (shares == 0) return;
        vm.prank(u);
        (, uint256 id) = vault.requestRedeem(shares, u, u);
        claimIds.push(id);
    }

    function claimAll() external {
        for (uint256 i; i < claimIds.length; ++i) {
            if (vault.claimable(claimIds[i]) != 0) vault.claim(claimIds[i]);
        }
    }

    function movePrice(int256 bps) external {
        bps = bound(bps, -300, 300);
        fixture.moveSpotTo(bps);
    }

    function asterKeeper(bool execute) external {
        if (env.asterDiamond.pendingTradeHashes().length == 0) return;
        if (execute) env.asterDiamond.executePendingTrades();
        else env.asterDiamond.cancelPendingTrade(env.asterDiamond.pendingTradeHashes()[0]);
    }

    function alpDrift(int256 bps) external {
        bps = bound(bps, -200, 300);
        uint256 p = env.asterDiamond.alpPrice();
        // a positive price moved by at most -2%: stays positive.
        // forge-lint: disable-next-line(unsafe-typecast)
        env.asterDiamond.setAlpPrice(uint256(int256(p) * (10_000 + bps) / 10_000));
    }

    function cycle(uint256 gasPriceGwei, uint256 waitMinutes) external {
        vm.warp(block.timestamp + bound(waitMinutes, 10, 90) * 60);
        vm.roll(block.number + 1);
        fixture.refreshFeed();
        uint256 gasPrice = bound(gasPriceGwei, 0, 1000) * 1 gwei;
        vm.txGasPrice(gasPrice);
        uint256 spBefore = vault.sharePrice();
        vm.prank(address(0xBEEF), address(0xBEEF));
        (, uint256 bounty) = vault.cycle();
        uint256 spAfter = vault.sharePrice();
        uint256 jump = spAfter > spBefore ? spAfter - spBefore : spBefore - spAfter;
        if (jump * 10_000 > spBefore * cfg.maxNavDropBps) sharePriceJumps++;
        if (vault.riskMode() == RiskMode.NORMAL && vault.totalSupply() != 0) {
            int256 d = vault.hedgeDeltaBps();
            // bps values are tiny.
            // forge-lint: disable-next-line(unsafe-typecast)
            if ((d < 0 ? -d : d) > int256(uint256(cfg.deltaBandBps))) hedgeBandBreaches++;
        }
        cycles++;
        CycleRecord memory r = vault.lastCycle();
        if (bounty > (r.navAfter + bounty) * cfg.maxBountyBps / 10_000 + 1) bountyCapBreaches++;
        uint256 price = gasPrice < cfg.maxGasPrice ? gasPrice : cfg.maxGasPrice;
        if (bounty > uint256(cfg.bountyGasUnits) * price * 900 * 3 / 2 + 1) gasCapBreaches++;
    }
}

/// @notice Stateful campaign: whatever the sequence, no flash debt survives, deposits are paused
/// exactly in ONLY_UNWIND, the bounty respects both caps and funded claims stay payable.
contract VaultInvariantTest is VaultFixture {
    VaultHandler internal handler;

    function setUp() public override {
        super.setUp();
        _invest();
        handler = new VaultHandler(vault, env, cfg);
        env.asterDiamond.setKeeper(address(handler), true);
        env.usdt.setMinter(address(handler), true);
        targetContract(address(handler));
    }

    /// @dev Exposed for the handler (the fixture owns the replica admin rights).
    function moveSpotTo(int256 bps) external {
        _moveSpotTo(bps);
    }

    function refreshFeed() external {
        env.bnbUsdFeed.updateAnswer(900e8);
    }

    function invariant_noFlashDebtSurvives() public view {
        (bool active, uint256 borrowed, uint256 allowance) = vault.flashState();
        assertFalse(active);
        assertEq(borrowed, 0);
        assertEq(allowance, 0);
    }

    function invariant_depositsPausedExactlyInOnlyUnwind() public view {
        bool unwinding = vault.riskMode() == RiskMode.ONLY_UNWIND;
        assertEq(vault.maxDeposit(alice) == 0, unwinding);
    }

    function invariant_bountyWithinBothCaps() public view {
        assertEq(handler.bountyCapBreaches(), 0);
        assertEq(handler.gasCapBreaches(), 0);
    }

    /// @notice S8 over random sequences: every NORMAL cycle ends with the delta in the band.
    function invariant_hedgeWithinBandAfterNormalCycles() public view {
        assertEq(handler.hedgeBandBreaches(), 0);
    }

    /// @notice S6 over random sequences: no cycle moves the share price beyond maxNavDropBps.
    function invariant_noSharePriceJumpWithinACycle() public view {
        assertEq(handler.sharePriceJumps(), 0);
    }

    function invariant_fundedClaimsStayPayable() public view {
        assertGe(env.usdt.balanceOf(address(vault)), vault.reservedUsdt());
    }
}
