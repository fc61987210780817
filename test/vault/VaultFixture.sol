// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "forge-std/Test.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";
import {AddressBook} from "../../script/lib/AddressBook.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {SteadyState, Snapshot, Deps, Tape, depsOf} from "../../script/chaos/SteadyState.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {PancakeMath} from "../../contracts/replicas/pancake/PancakeMath.sol";
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
/// It keeps the steady-state library's tape of the LP pair (script/chaos/SteadyState.sol), so a
/// test can measure the vault against the shadow NAV (`_measure`).
abstract contract VaultFixture is Test {
    LocalEnvironment.Environment internal env;
    YieldVault internal vault;
    Config internal cfg;
    Deps internal deps;
    Tape internal tape;

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
        Config memory c = DeployVault.defaultConfig();
        _tune(c);
        cfg = c;
        vault = DeployVault.deploy(addresses(), c);
        deps = depsOf(addresses());
        SteadyState.startTape(tape, address(env.lpPair), address(env.btcb));
    }

    /// @notice The vault's views and the shadow valuation now.
    function _measure() internal view returns (Snapshot memory) {
        return SteadyState.measure(deps, tape, vault);
    }

    /// @dev Hook for suites that need another configuration.
    function _tune(Config memory) internal virtual {}

    /// @notice The vault's addresses, from the environment's address book
    /// (AddressBook.vaultAddresses), except that the vault reads the BNB/USD aggregator itself
    /// rather than Chainlink's proxy in front of it: these tests stamp, break and mock that
    /// aggregator directly. The shadow's dependencies (`deps`) are derived from the same record.
    function addresses() internal view returns (VaultAddresses memory) {
        AddressBook.Book memory book = AddressBook.fromEnvironment(env, address(0));
        book.bnbUsdFeed = book.bnbUsdAggregator;
        return AddressBook.vaultAddresses(book);
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
        SteadyState.record(tape);
    }

    function _cycle() internal returns (CyclePath path, uint256 bounty) {
        SteadyState.record(tape);
        vm.txGasPrice(GAS_PRICE);
        vm.prank(keeper, keeper);
        (path, bounty) = vault.cycle();
        SteadyState.recordCycle(tape);
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

    uint256 internal constant BTC_PRICE = 90_000e18;

    /// @dev Swaps through the pair until its spot is `bps` away from 90,000 USDT per BTCB.
    function _moveSpotTo(int256 bps) internal {
        // test prices are positive and small.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 target = uint256(int256(BTC_PRICE) * (10_000 + bps) / 10_000);
        (uint112 r0, uint112 r1,) = env.lpPair.getReserves();
        bool btc0 = env.lpPair.token0() == address(env.btcb);
        (uint256 x, uint256 y) = btc0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 k = x * y;
        uint256 spot = y * 1e18 / x;
        if (target > spot) {
            uint256 yNew = PancakeMath.sqrt(k / 1e18 * target);
            _pushSpot(int256((yNew - y) * 10_000 / 9975));
        } else if (target < spot) {
            uint256 xNew = PancakeMath.sqrt(k * 1e18 / target);
            uint256 btcIn = (xNew - x) * 10_000 / 9975;
            // test amounts are small.
            // forge-lint: disable-next-line(unsafe-typecast)
            _pushSpot(-int256(btcIn * spot / 1e18));
        }
    }

    /// @dev From an invested vault: one cycle with the spot 1.2% below 90,000, then the spot
    /// 1.2% above and time for one more cycle. The oracle's realised volatility then says STORM
    /// and the spot sits above the TWAP, so the next `_cycle()` deleverages with a flash swap.
    function _enterStorm() internal {
        _moveSpotTo(-120);
        _syncMark();
        _nextCycle();
        _executeHedges();
        _moveSpotTo(120);
        _syncMark();
        _warp(cfg.minCycleInterval);
    }

    /// @dev Logs recorded since vm.recordLogs(): whether `topic0` was emitted by the vault, and
    /// the data of its last occurrence.
    function _findLog(Vm.Log[] memory logs, bytes32 topic0)
        internal
        view
        returns (bool found, bytes memory data)
    {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vault) && logs[i].topics[0] == topic0) {
                found = true;
                data = logs[i].data;
            }
        }
    }

    /// @dev Moves the pair's spot by selling `usdtIn` USDT for BTCB (positive) or BTCB worth
    /// `-usdtIn` (negative) with a whale's own funds.
    function _pushSpot(int256 usdtIn) internal {
        address whale = makeAddr("whale");
        address[] memory path = new address[](2);
        uint256 amountIn;
        if (usdtIn > 0) {
            // usdtIn > 0 here.
            // forge-lint: disable-next-line(unsafe-typecast)
            amountIn = uint256(usdtIn);
            env.usdt.mint(whale, amountIn);
            (path[0], path[1]) = (address(env.usdt), address(env.btcb));
        } else {
            // usdtIn < 0 here.
            // forge-lint: disable-next-line(unsafe-typecast)
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
