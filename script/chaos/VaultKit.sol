// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";
import {Vm} from "forge-std/Vm.sol";
import {StdStorage, stdStorage} from "forge-std/StdStorage.sol";
import {ChaosWorld, World} from "./ChaosWorld.sol";
import {SteadyState, Snapshot, Deps, Tape, depsOf} from "./SteadyState.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config} from "../../contracts/vault/VaultTypes.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {IPancakePair, IPancakeRouter02} from "../../contracts/interfaces/IPancake.sol";
import {PancakeMath} from "../../contracts/replicas/pancake/PancakeMath.sol";

/// @title VaultKit
/// @notice The one toolkit for driving a vault from outside, shared by the unit tests'
/// fixture (test/vault/VaultFixture.sol, a forge-std `Test`) and the chaos scenarios' base
/// (ScenarioBase, deployed by a `Script`): the world it runs in, the vault and its
/// configuration, the shadow's dependencies and the tape of the LP pair; and each job both need,
/// once: measure a snapshot, let time pass on the tape, fund and deposit, execute Aster's
/// pending trades, read and move the pair's spot with real swaps, set Aster's mark to it, and
/// find logs. It inherits forge-std's `CommonBase`, so a `Test` or a `Script` inherits it
/// without a second `vm`.
/// @dev What stays outside is what only one side has: the fixture's `setUp` and its unit-test
/// moves (a `cycle()` that bubbles its revert, the feed stamped at 900 USD); the scenarios'
/// actors, S10 bookkeeping, checks, probes and results.
abstract contract VaultKit is CommonBase {
    using stdStorage for StdStorage;

    /// Trades against the pools to move prices (a market participant, not the vault).
    address internal constant MARKET = address(uint160(uint256(keccak256("chaos.market"))));

    /// The addresses this vault lives among (its dependencies, the replicas' keeper).
    World internal w;
    YieldVault internal vault;
    Config internal cfg;
    /// The dependencies as this world knows them (never read back from the vault).
    Deps internal deps;
    /// The chaos layer's own observations of the LP pair's cumulative price.
    Tape internal tape;

    /// @notice Points the kit at `v` in `world`: the shadow's dependencies come from the world's
    /// record (ChaosWorld.vaultAddresses, the vault's own constructor input) and the tape starts
    /// now, with the vault's oracle.
    function _startKit(World memory world, YieldVault v, Config memory c) internal {
        w = world;
        vault = v;
        cfg = c;
        deps = depsOf(ChaosWorld.vaultAddresses(world));
        SteadyState.startTape(tape, world.lpPair, world.btcb);
    }

    // ------------------------------------------------------------------------------ measure

    /// @notice The vault's views and the shadow valuation now.
    function _measure() internal view returns (Snapshot memory) {
        return SteadyState.measure(deps, tape, vault);
    }

    // ------------------------------------------------------------------------------ time

    /// @notice Warps to `timestamp` and rolls `blocks` blocks, keeping the tape.
    function _warpTo(uint256 timestamp, uint256 blocks) internal {
        vm.warp(timestamp);
        vm.roll(block.number + blocks);
        SteadyState.record(tape);
    }

    // ------------------------------------------------------------------------------ funds

    /// @notice `deal` for any ERC-20 whose balance is a plain mapping (replicas and BSC USDT).
    function _setBalance(address token, address who, uint256 amount) internal {
        stdstore.target(token).sig(IERC20.balanceOf.selector).with_key(who).checked_write(amount);
    }

    /// @notice Gives `who` `amount` more USDT.
    function _fund(address who, uint256 amount) internal {
        _setBalance(w.usdt, who, IERC20(w.usdt).balanceOf(who) + amount);
    }

    /// @notice `who` approves and deposits `amount` of its own USDT; returns the revert data
    /// when the deposit did not go through, else the shares it minted.
    function _depositAttempt(address who, uint256 amount)
        internal
        returns (bool ok, bytes memory reason, uint256 shares)
    {
        vm.prank(who);
        IERC20(w.usdt).approve(address(vault), amount);
        vm.prank(who);
        try vault.deposit(amount, who) returns (uint256 minted) {
            (ok, shares) = (true, minted);
        } catch (bytes memory r) {
            reason = r;
        }
    }

    // ------------------------------------------------------------------------------ Aster

    /// @notice Aster's keeper (the replicas' admin) executes every pending trade at the current
    /// mark; false when the call reverted (on a real BSC fork there is no such keeper call).
    function _asterExecute() internal returns (bool ok) {
        vm.prank(w.asterKeeper);
        (ok,) = w.aster.call(abi.encodeWithSignature("executePendingTrades()"));
    }

    error MarkNotSet();

    /// @notice Aster's keeper sets its BTC mark to the pair's spot (8 decimals).
    function _markToSpot() internal {
        // The price is read before the prank: vm.prank applies to the very next external call.
        bytes memory call =
            abi.encodeWithSignature("setMarkPrice(address,uint64)", w.btcb, uint64(_spot() / 1e10));
        vm.prank(w.asterKeeper);
        (bool ok,) = w.aster.call(call);
        if (!ok) revert MarkNotSet();
    }

    // ------------------------------------------------------------------------------ market

    /// @notice The LP pair's reserves, BTCB side first.
    function _lpReserves() internal view returns (uint256 rBtc, uint256 rUsdt) {
        (uint112 r0, uint112 r1,) = IPancakePair(w.lpPair).getReserves();
        (rBtc, rUsdt) = IPancakePair(w.lpPair).token0() == w.btcb
            ? (uint256(r0), uint256(r1))
            : (uint256(r1), uint256(r0));
    }

    /// @notice The LP pair's spot price, USDT per BTCB (18 decimals).
    function _spot() internal view returns (uint256) {
        (uint256 rBtc, uint256 rUsdt) = _lpReserves();
        return rUsdt * 1e18 / rBtc;
    }

    /// @notice MARKET sells `amountIn` of `tokenIn` for `tokenOut` through the router, with
    /// tokens dealt to it for the trade; nothing when `amountIn` is 0.
    function _swap(address tokenIn, address tokenOut, uint256 amountIn) internal {
        if (amountIn == 0) return;
        _setBalance(tokenIn, MARKET, IERC20(tokenIn).balanceOf(MARKET) + amountIn);
        _routerSwap(MARKET, tokenIn, tokenOut, amountIn);
    }

    /// @notice `trader` sells `amountIn` of its own `tokenIn` for `tokenOut` through the
    /// router (exact input, any output), the proceeds to itself.
    function _routerSwap(address trader, address tokenIn, address tokenOut, uint256 amountIn) internal {
        address[] memory path = new address[](2);
        path[0] = tokenIn;
        path[1] = tokenOut;
        vm.startPrank(trader);
        IERC20(tokenIn).approve(w.router, amountIn);
        IPancakeRouter02(w.router).swapExactTokensForTokens(amountIn, 0, path, trader, block.timestamp);
        vm.stopPrank();
    }

    /// @notice One swap that takes the LP pair's spot to `target` (USDT per BTCB, 18 decimals),
    /// sized from the constant product and the 0.25% fee.
    /// @dev ScenarioBase's `_setSpot` reaches a price through `_moveSpot` instead (a move in
    /// whole basis points, rounded): the scenario reports are measured with that rounding, the
    /// unit tests with this exact sizing, so each keeps its own.
    function _swapToSpot(uint256 target) internal {
        (uint256 x, uint256 y) = _lpReserves();
        uint256 k = x * y;
        uint256 spot = y * 1e18 / x;
        if (target > spot) {
            uint256 yNew = _sqrt(k / 1e18 * target);
            _swap(w.usdt, w.btcb, (yNew - y) * 10_000 / 9975);
        } else if (target < spot) {
            uint256 xNew = _sqrt(k * 1e18 / target);
            uint256 btcIn = (xNew - x) * 10_000 / 9975;
            // Sold as USDT worth `btcIn` at the spot, converted back at the same spot (the
            // rounding of the unit tests' `_pushSpot`).
            _swap(w.btcb, w.usdt, btcIn * spot / 1e18 * 1e18 / spot);
        }
    }

    /// @dev floor(sqrt(x)): PancakeMath's, as SteadyState's (not the vault's own VaultMath).
    function _sqrt(uint256 x) internal pure returns (uint256) {
        return PancakeMath.sqrt(x);
    }

    // ------------------------------------------------------------------------------ logs

    /// @notice How many logs of `topic0` `emitter` emitted.
    function _countLogs(Vm.Log[] memory logs, address emitter, bytes32 topic0)
        internal
        pure
        returns (uint256 n)
    {
        for (uint256 i; i < logs.length; ++i) {
            if (_isLog(logs[i], emitter, topic0)) n++;
        }
    }

    /// @notice Data of the first log of `topic0` from `emitter`; empty when there is none.
    function _firstLog(Vm.Log[] memory logs, address emitter, bytes32 topic0)
        internal
        pure
        returns (bool found, bytes memory data)
    {
        for (uint256 i; i < logs.length; ++i) {
            if (_isLog(logs[i], emitter, topic0)) return (true, logs[i].data);
        }
    }

    /// @notice Data of the last log of `topic0` from `emitter`; empty when there is none.
    function _lastLog(Vm.Log[] memory logs, address emitter, bytes32 topic0)
        internal
        pure
        returns (bool found, bytes memory data)
    {
        for (uint256 i = logs.length; i != 0; --i) {
            if (_isLog(logs[i - 1], emitter, topic0)) return (true, logs[i - 1].data);
        }
    }

    function _isLog(Vm.Log memory l, address emitter, bytes32 topic0) private pure returns (bool) {
        return l.emitter == emitter && l.topics.length != 0 && l.topics[0] == topic0;
    }
}
