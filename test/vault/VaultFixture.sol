// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {
    Config,
    CyclePath,
    CycleRecord,
    Legs,
    RiskMode,
    VaultAddresses
} from "../../contracts/vault/VaultTypes.sol";

/// @notice The local replica environment (LocalEnvironment) with a vault deployed by DeployVault,
/// and the moves a test needs: deposits, cycles by a keeper, Aster keeper executions, spot moves.
abstract contract VaultFixture is Test {
    LocalEnvironment.Environment internal env;
    YieldVault internal vault;
    Config internal cfg;

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal keeper = makeAddr("keeper");

    uint256 internal constant DEPOSIT = 100_000e18;
    uint256 internal constant GAS_PRICE = 1 gwei;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        vm.roll(50_000_000);
        vm.deal(address(this), 10_000 ether);
        env = LocalEnvironment.deploy(address(this));
        cfg = DeployVault.defaultConfig();
        _tune(cfg);
        vault = DeployVault.deploy(addresses(), cfg);
    }

    /// @dev Hook for suites that need another configuration.
    function _tune(Config memory) internal virtual {}

    function addresses() internal view returns (VaultAddresses memory) {
        return VaultAddresses({
            usdt: address(env.usdt),
            btcb: address(env.btcb),
            lpPair: address(env.lpPair),
            flashPair: address(env.flashPair),
            router: address(env.pancakeRouter),
            aster: address(env.asterDiamond),
            alpToken: address(env.alp),
            bnbUsdFeed: address(env.bnbUsdFeed),
            hedgePairBase: address(env.btcb)
        });
    }

    function _deposit(address who, uint256 amount) internal returns (uint256 shares) {
        env.usdt.mint(who, amount);
        vm.startPrank(who);
        env.usdt.approve(address(vault), amount);
        shares = vault.deposit(amount, who);
        vm.stopPrank();
    }

    /// @dev Advances time and one block, and keeps the BNB/USD feed fresh (as on BSC).
    function _warp(uint256 secs) internal {
        vm.warp(block.timestamp + secs);
        vm.roll(block.number + 1);
        env.bnbUsdFeed.updateAnswer(900e8);
    }

    function _cycle() internal returns (CyclePath path, uint256 bounty) {
        vm.txGasPrice(GAS_PRICE);
        vm.prank(keeper, keeper);
        (path, bounty) = vault.cycle();
    }

    function _nextCycle() internal returns (CyclePath path, uint256 bounty) {
        _warp(cfg.minCycleInterval);
        return _cycle();
    }

    /// @dev Aster's keepers execute the pending trades at the current mark.
    function _executeHedges() internal {
        env.asterDiamond.executePendingTrades();
    }

    /// @dev Sets Aster's BTC mark to the pair's spot (8 decimals).
    function _syncMark() internal {
        env.asterDiamond.setMarkPrice(address(env.btcb), uint64(_spot() / 1e10));
    }

    function _spot() internal view returns (uint256) {
        (uint112 r0, uint112 r1,) = env.lpPair.getReserves();
        return env.lpPair.token0() == address(env.btcb) ? uint256(r1) * 1e18 / r0 : uint256(r0) * 1e18 / r1;
    }

    /// @dev Deposit, wait for a ready TWAP, and cycle until the vault has nothing left to do.
    function _invest() internal {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        for (uint256 i; i < 6; ++i) {
            _executeHedges();
            (CyclePath path,) = _nextCycle();
            if (path == CyclePath.IDLE) return;
        }
    }

    /// @dev Moves the pair's spot by selling `usdtIn` USDT for BTCB (positive) or BTCB worth
    /// `-usdtIn` (negative) with a whale's own funds.
    function _pushSpot(int256 usdtIn) internal {
        address whale = makeAddr("whale");
        address[] memory path = new address[](2);
        uint256 amountIn;
        if (usdtIn > 0) {
            amountIn = uint256(usdtIn);
            env.usdt.mint(whale, amountIn);
            (path[0], path[1]) = (address(env.usdt), address(env.btcb));
        } else {
            amountIn = uint256(-usdtIn) * 1e18 / _spot();
            env.btcb.mint(whale, amountIn);
            (path[0], path[1]) = (address(env.btcb), address(env.usdt));
        }
        vm.startPrank(whale);
        env.usdt.approve(address(env.pancakeRouter), type(uint256).max);
        env.btcb.approve(address(env.pancakeRouter), type(uint256).max);
        env.pancakeRouter.swapExactTokensForTokens(amountIn, 0, path, whale, block.timestamp);
        vm.stopPrank();
    }
}
