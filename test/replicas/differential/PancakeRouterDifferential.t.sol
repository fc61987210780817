// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DifferentialBase} from "./DifferentialBase.sol";
import {LocalEnvironment} from "../../../script/lib/LocalEnvironment.sol";
import {PancakeRouter} from "../../../contracts/replicas/pancake/PancakeRouter.sol";
import {IPancakeV2Pair, IPancakeV2Router} from "../../../contracts/replicas/pancake/IPancakeV2.sol";

/// @title PancakeRouterDifferentialTest
/// @notice The hand-written router as a differential oracle of the registry-built Router02
/// (build/solc-0.6.6, bound to the patched pair's init-code hash): both routers work on the
/// same registry-built factory and pairs. Each call is made through the real router, the state
/// is rolled back, and the same call is made through the replica; the outcome (success, return
/// or revert data) and the state it leaves (the three pairs' reserves, every balance involved)
/// must be equal. Also the V2 fee on the real code: the real pair pays exactly
/// amountIn * 9975 * rOut / (rIn * 10000 + amountIn * 9975) and not one wei more.
contract PancakeRouterDifferentialTest is DifferentialBase {
    LocalEnvironment.Environment internal env;
    IPancakeV2Router internal realRouter;
    IPancakeV2Router internal handRouter;
    address internal to = makeAddr("to");

    function setUp() public {
        vm.warp(1_767_225_600);
        vm.deal(address(this), 10_000 ether);
        env = LocalEnvironment.deploy(address(this));
        realRouter = env.pancakeRouter;
        handRouter =
            IPancakeV2Router(address(new PancakeRouter(address(env.pancakeFactory), address(env.wbnb))));
        env.usdt.mint(address(this), 1e36);
        env.btcb.mint(address(this), 1e36);
        env.wbnb.deposit{value: 5000 ether}();
        address[2] memory routers = [address(realRouter), address(handRouter)];
        for (uint256 i; i < 2; ++i) {
            env.usdt.approve(routers[i], type(uint256).max);
            env.btcb.approve(routers[i], type(uint256).max);
            env.wbnb.approve(routers[i], type(uint256).max);
            env.lpPair.approve(routers[i], type(uint256).max);
        }
    }

    /// The state a router call can change, in one hash.
    function _fingerprint() internal view returns (bytes32) {
        IPancakeV2Pair[3] memory pairs = [env.lpPair, env.flashPair, env.btcbWbnbPair];
        bytes memory state;
        for (uint256 i; i < 3; ++i) {
            (uint112 r0, uint112 r1,) = pairs[i].getReserves();
            state = abi.encode(state, r0, r1, pairs[i].totalSupply(), pairs[i].kLast());
        }
        address[2] memory holders = [address(this), to];
        for (uint256 i; i < 2; ++i) {
            state = abi.encode(
                state,
                env.usdt.balanceOf(holders[i]),
                env.btcb.balanceOf(holders[i]),
                env.wbnb.balanceOf(holders[i]),
                env.lpPair.balanceOf(holders[i])
            );
        }
        return keccak256(state);
    }

    /// `data` through the real router, then (from the same state) through the replica.
    function _viaEach(string memory what, bytes memory data) internal {
        uint256 snap = vm.snapshotState();
        (bool okReal, bytes memory retReal) = address(realRouter).call{gas: CALL_GAS}(data);
        bytes32 afterReal = _fingerprint();
        vm.revertToState(snap);
        (bool okHand, bytes memory retHand) = address(handRouter).call{gas: CALL_GAS}(data);
        bytes32 afterHand = _fingerprint();
        vm.revertToState(snap);
        _assertSameOutcome(what, okReal, retReal, okHand, retHand);
        assertEq(afterReal, afterHand, string.concat(what, ": state differs"));
    }

    function _path(uint8 kind) internal view returns (address[] memory path) {
        kind %= 4;
        path = new address[](kind == 3 ? 3 : 2);
        if (kind == 0) (path[0], path[1]) = (address(env.usdt), address(env.btcb));
        else if (kind == 1) (path[0], path[1]) = (address(env.btcb), address(env.usdt));
        else if (kind == 2) (path[0], path[1]) = (address(env.wbnb), address(env.usdt));
        else (path[0], path[1], path[2]) = (address(env.btcb), address(env.wbnb), address(env.usdt));
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// The pricing views on any numbers: zero, huge, an output at or beyond the reserve.
    function testFuzz_diff_router_pricing(uint256 amount, uint256 reserveIn, uint256 reserveOut, uint8 mode)
        public
    {
        if (mode % 3 != 0) {
            amount = bound(amount, 0, 1e40);
            reserveIn = bound(reserveIn, 0, 1e36);
            reserveOut = bound(reserveOut, 0, 1e36);
        }
        _viaEach("quote", abi.encodeCall(IPancakeV2Router.quote, (amount, reserveIn, reserveOut)));
        _viaEach(
            "getAmountOut", abi.encodeCall(IPancakeV2Router.getAmountOut, (amount, reserveIn, reserveOut))
        );
        _viaEach("getAmountIn", abi.encodeCall(IPancakeV2Router.getAmountIn, (amount, reserveIn, reserveOut)));
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// Exact-in and exact-out swaps over one and two hops, with the bound at the quote, one wei
    /// past it or anywhere, and a deadline that may have passed.
    function testFuzz_diff_router_swaps(
        uint256 amount,
        uint8 pathKind,
        bool exactIn,
        uint8 limitMode,
        bool late
    ) public {
        address[] memory path = _path(pathKind);
        amount = bound(amount, 0, 1e27);
        uint256 deadline = late ? block.timestamp - 1 : block.timestamp;
        if (exactIn) {
            (bool ok, bytes memory ret) =
                address(realRouter).staticcall(abi.encodeCall(IPancakeV2Router.getAmountsOut, (amount, path)));
            uint256 quoted = ok ? abi.decode(ret, (uint256[]))[path.length - 1] : 0;
            uint256 minOut = limitMode % 3 == 0 ? quoted : limitMode % 3 == 1 ? quoted + 1 : amount;
            _viaEach(
                "swapExactTokensForTokens",
                abi.encodeCall(
                    IPancakeV2Router.swapExactTokensForTokens, (amount, minOut, path, to, deadline)
                )
            );
        } else {
            (bool ok, bytes memory ret) =
                address(realRouter).staticcall(abi.encodeCall(IPancakeV2Router.getAmountsIn, (amount, path)));
            uint256 quoted = ok ? abi.decode(ret, (uint256[]))[0] : 0;
            uint256 maxIn =
                limitMode % 3 == 0 ? quoted : limitMode % 3 == 1 ? (quoted == 0 ? 0 : quoted - 1) : amount;
            _viaEach(
                "swapTokensForExactTokens",
                abi.encodeCall(IPancakeV2Router.swapTokensForExactTokens, (amount, maxIn, path, to, deadline))
            );
        }
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// Adding liquidity at any two amounts and minimums, and removing any part of it.
    function testFuzz_diff_router_liquidity(
        uint256 amountBtcb,
        uint256 amountUsdt,
        uint256 minBtcb,
        uint256 minUsdt,
        uint256 remove,
        bool late
    ) public {
        amountBtcb = bound(amountBtcb, 0, 1e24);
        amountUsdt = bound(amountUsdt, 0, 1e29);
        minBtcb = bound(minBtcb, 0, amountBtcb + 1);
        minUsdt = bound(minUsdt, 0, amountUsdt + 1);
        uint256 deadline = late ? block.timestamp - 1 : block.timestamp;
        _viaEach(
            "addLiquidity",
            abi.encodeCall(
                IPancakeV2Router.addLiquidity,
                (address(env.btcb), address(env.usdt), amountBtcb, amountUsdt, minBtcb, minUsdt, to, deadline)
            )
        );
        remove = bound(remove, 0, env.lpPair.balanceOf(address(this)) + 1);
        _viaEach(
            "removeLiquidity",
            abi.encodeCall(
                IPancakeV2Router.removeLiquidity,
                (address(env.usdt), address(env.btcb), remove, minUsdt % 1e20, minBtcb % 1e15, to, deadline)
            )
        );
    }

    // ------------------------------------------------------------------------ the V2 fee

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// The registry-built pair with the project's V2 patch: a swap quoted at
    /// amountIn * 9975 * rOut / (rIn * 10000 + amountIn * 9975) goes through, one wei more is
    /// refused with "Pancake: K", and the real router quotes the same number. With the registry's
    /// unpatched V1 arithmetic (998/1000) the quote would be larger and the pair would pay it.
    function testFuzz_real_swapQuoteIsTheV2Fee(uint256 amountIn, bool usdtIn) public {
        IPancakeV2Pair pair = _pairUnderTest();
        bool inIsToken0 = pair.token0() == (usdtIn ? address(env.usdt) : address(env.btcb));
        (uint256 rIn, uint256 rOut) = _reservesInOut(pair, inIsToken0);
        amountIn = bound(amountIn, 1, rIn * 10);
        uint256 expected = amountIn * 9975 * rOut / (rIn * 10_000 + amountIn * 9975);
        vm.assume(expected > 0);
        assertEq(realRouter.getAmountOut(amountIn, rIn, rOut), expected, "router quote");

        (usdtIn ? env.usdt : env.btcb).transfer(address(pair), amountIn);
        vm.expectRevert("Pancake: K");
        _swapOut(pair, inIsToken0, expected + 1);
        _swapOut(pair, inIsToken0, expected);
        (uint256 newIn, uint256 newOut) = _reservesInOut(pair, inIsToken0);
        assertEq(newIn, rIn + amountIn);
        assertEq(newOut, rOut - expected);
        // The V1 arithmetic the registry package ships would have paid more for the same input.
        assertGe(amountIn * 998 * rOut / (rIn * 1000 + amountIn * 998), expected);
    }

    /// The pair the V2 fee test judges: the registry-built pair. With `V2_FEE_PAIR_ARTIFACT` set
    /// (a JSON artifact under build/), the pair's code is replaced by that artifact's runtime code,
    /// its state kept: `xtask/tests/registry_build.rs` compiles wrongly patched pairs and shows
    /// that this test fails on each of them.
    function _pairUnderTest() internal returns (IPancakeV2Pair pair) {
        pair = env.lpPair;
        string memory artifact = vm.envOr("V2_FEE_PAIR_ARTIFACT", string(""));
        if (bytes(artifact).length != 0) vm.etch(address(pair), vm.getDeployedCode(artifact));
    }

    function _reservesInOut(IPancakeV2Pair pair, bool inIsToken0) internal view returns (uint256, uint256) {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        return inIsToken0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
    }

    function _swapOut(IPancakeV2Pair pair, bool inIsToken0, uint256 out) internal {
        (uint256 out0, uint256 out1) = inIsToken0 ? (uint256(0), out) : (out, uint256(0));
        pair.swap(out0, out1, to, "");
    }

    /// A worked example of the fee: 1,000 USDT into the 9M USDT / 100 BTCB pool.
    function test_real_swapOfOneThousandUsdtPaysTheV2Amount() public {
        IPancakeV2Pair pair = env.lpPair;
        address[] memory path = _path(0);
        uint256[] memory amounts = realRouter.swapExactTokensForTokens(1000e18, 0, path, to, block.timestamp);
        // 1000e18 * 9975 * 100e18 / (9_000_000e18 * 10_000 + 1000e18 * 9975)
        assertEq(amounts[1], 11_082_105_066_688_442);
        assertEq(env.btcb.balanceOf(to), 11_082_105_066_688_442);
        assertEq(pair.balanceOf(address(0)), 1000);
    }
}
