// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DifferentialBase} from "./DifferentialBase.sol";
import {LocalEnvironment} from "../../../script/lib/LocalEnvironment.sol";
import {ReplicaToken} from "../../../contracts/replicas/tokens/ReplicaToken.sol";
import {PancakeFactory} from "../../../contracts/replicas/pancake/PancakeFactory.sol";
import {
    IPancakeV2Callee,
    IPancakeV2Factory,
    IPancakeV2Pair
} from "../../../contracts/replicas/pancake/IPancakeV2.sol";
import {IEIP20} from "../../../contracts/replicas/tokens/IEIP20.sol";

/// @notice A flash borrower for either pair: repays what it was told from its own balance
/// inside the callback, or first re-enters the pair that called it.
contract DiffBorrower is IPancakeV2Callee {
    uint256 public repay0;
    uint256 public repay1;
    bytes public reentry;

    function configure(uint256 repay0_, uint256 repay1_, bytes calldata reentry_) external {
        (repay0, repay1, reentry) = (repay0_, repay1_, reentry_);
    }

    function pancakeCall(address, uint256, uint256, bytes calldata) external {
        IPancakeV2Pair pair = IPancakeV2Pair(msg.sender);
        if (reentry.length != 0) {
            (bool ok, bytes memory data) = msg.sender.call(reentry);
            if (!ok) {
                assembly {
                    revert(add(data, 32), mload(data))
                }
            }
        }
        if (repay0 != 0) ReplicaToken(pair.token0()).transfer(msg.sender, repay0);
        if (repay1 != 0) ReplicaToken(pair.token1()).transfer(msg.sender, repay1);
    }
}

/// @title PancakeDifferentialTest
/// @notice The hand-written pair (contracts/replicas/pancake) as a differential oracle of the
/// registry-built PancakeSwap V2 pair (build/solc-0.5.16, the patched npm sources): two pairs of
/// the same two tokens, one from each factory, brought to the same state, then sent the same
/// swap, flash swap, mint, burn, sync or skim. Every call must end alike on both: the same
/// success or the same revert data, the same return data, and afterwards the same reserves
/// (so the same K), cumulative prices, kLast, LP supply and balances, token balances and
/// protocol fee. Any difference is a finding about the replica, or about the real code.
/// @dev Each side has its own recipient and borrower: the tokens are shared, so one address
/// receiving from both pairs could not tell them apart. Runs: the profile's (256), 10,000 per
/// test in the `chaos` profile (`FOUNDRY_PROFILE=chaos`).
contract PancakeDifferentialTest is DifferentialBase {
    struct Side {
        IPancakeV2Factory factory;
        IPancakeV2Pair pair;
        address recipient;
        DiffBorrower borrower;
    }

    ReplicaToken internal tokenA;
    ReplicaToken internal tokenB;
    ReplicaToken internal token0;
    ReplicaToken internal token1;
    Side internal real;
    Side internal hand;
    address internal feeTo = makeAddr("feeTo");
    address internal lp = makeAddr("lp");

    uint256 internal constant MAX_RESERVE = 1e30;

    function setUp() public {
        vm.warp(1_767_225_600);
        tokenA = new ReplicaToken("Token A", "TKA", 18, address(this));
        tokenB = new ReplicaToken("Token B", "TKB", 18, address(this));
        real.factory = IPancakeV2Factory(
            LocalEnvironment.deployArtifact(
                LocalEnvironment.PANCAKE_FACTORY_ARTIFACT, abi.encode(address(this))
            )
        );
        hand.factory = new PancakeFactory(address(this));
        real.pair = IPancakeV2Pair(real.factory.createPair(address(tokenA), address(tokenB)));
        hand.pair = IPancakeV2Pair(hand.factory.createPair(address(tokenA), address(tokenB)));
        real.recipient = makeAddr("recipient.real");
        hand.recipient = makeAddr("recipient.hand");
        real.borrower = new DiffBorrower();
        hand.borrower = new DiffBorrower();
        (token0, token1) = real.pair.token0() == address(tokenA) ? (tokenA, tokenB) : (tokenB, tokenA);
        assertEq(hand.pair.token0(), address(token0));
        // The real pair is the registry build, the hand pair is not.
        assertEq(
            keccak256(address(real.pair).code),
            keccak256(vm.getDeployedCode(LocalEnvironment.PANCAKE_PAIR_ARTIFACT))
        );
    }

    // ------------------------------------------------------------------------ the same call

    /// Sends `callReal` to the real pair and `callHand` to the hand pair (from this contract)
    /// and requires the same outcome; returns whether it succeeded.
    function _both(string memory what, bytes memory callReal, bytes memory callHand) internal returns (bool) {
        (bool okReal, bytes memory retReal) = address(real.pair).call{gas: CALL_GAS}(callReal);
        (bool okHand, bytes memory retHand) = address(hand.pair).call{gas: CALL_GAS}(callHand);
        _assertSameOutcome(what, okReal, retReal, okHand, retHand);
        return okReal;
    }

    function _bothSame(string memory what, bytes memory data) internal returns (bool) {
        return _both(what, data, data);
    }

    /// Everything observable about the two pairs must be equal.
    function _assertSameState(string memory what) internal view {
        (uint112 a0, uint112 a1, uint32 ta) = real.pair.getReserves();
        (uint112 b0, uint112 b1, uint32 bt) = hand.pair.getReserves();
        assertEq(a0, b0, string.concat(what, ": reserve0"));
        assertEq(a1, b1, string.concat(what, ": reserve1"));
        assertEq(ta, bt, string.concat(what, ": blockTimestampLast"));
        assertEq(uint256(a0) * a1, uint256(b0) * b1, string.concat(what, ": K"));
        assertEq(
            real.pair.price0CumulativeLast(),
            hand.pair.price0CumulativeLast(),
            string.concat(what, ": price0")
        );
        assertEq(
            real.pair.price1CumulativeLast(),
            hand.pair.price1CumulativeLast(),
            string.concat(what, ": price1")
        );
        assertEq(real.pair.kLast(), hand.pair.kLast(), string.concat(what, ": kLast"));
        assertEq(real.pair.totalSupply(), hand.pair.totalSupply(), string.concat(what, ": totalSupply"));
        address[4] memory holders = [address(this), lp, feeTo, address(0)];
        for (uint256 i; i < holders.length; ++i) {
            assertEq(
                real.pair.balanceOf(holders[i]),
                hand.pair.balanceOf(holders[i]),
                string.concat(what, ": LP balance")
            );
        }
        assertEq(
            real.pair.balanceOf(address(real.pair)),
            hand.pair.balanceOf(address(hand.pair)),
            string.concat(what, ": LP held by the pair")
        );
        assertEq(
            token0.balanceOf(address(real.pair)),
            token0.balanceOf(address(hand.pair)),
            string.concat(what, ": token0 held")
        );
        assertEq(
            token1.balanceOf(address(real.pair)),
            token1.balanceOf(address(hand.pair)),
            string.concat(what, ": token1 held")
        );
        assertEq(
            token0.balanceOf(real.recipient),
            token0.balanceOf(hand.recipient),
            string.concat(what, ": token0 out")
        );
        assertEq(
            token1.balanceOf(real.recipient),
            token1.balanceOf(hand.recipient),
            string.concat(what, ": token1 out")
        );
        assertEq(
            token0.balanceOf(address(real.borrower)),
            token0.balanceOf(address(hand.borrower)),
            string.concat(what, ": borrower token0")
        );
        assertEq(
            token1.balanceOf(address(real.borrower)),
            token1.balanceOf(address(hand.borrower)),
            string.concat(what, ": borrower token1")
        );
    }

    /// `amount` of `token` into both pairs, as a transfer from outside.
    function _give(ReplicaToken token, uint256 amount) internal {
        if (amount == 0) return;
        token.mint(address(real.pair), amount);
        token.mint(address(hand.pair), amount);
    }

    /// Both pairs' balance of `token` set to `amount` (a `deal`: how the chaos layer drains).
    function _set(ReplicaToken token, uint256 amount) internal {
        deal(address(token), address(real.pair), amount);
        deal(address(token), address(hand.pair), amount);
    }

    // ------------------------------------------------------------------------ a common past

    /// Both pairs from empty to the same state: a first mint of (r0, r1) to `lp`, the protocol
    /// fee on or off, a swap of `preIn` (a fraction of the input reserve) in either direction so
    /// that K grew since the last liquidity event, and time passing.
    function _prepare(uint256 r0, uint256 r1, bool feeOn, uint256 preIn, bool preZeroForOne, uint256 elapsed)
        internal
        returns (uint256, uint256)
    {
        // Down to 1 wei: a first mint of less than MINIMUM_LIQUIDITY must fail alike too.
        r0 = bound(r0, 1, MAX_RESERVE);
        r1 = bound(r1, 1, MAX_RESERVE);
        if (feeOn) {
            real.factory.setFeeTo(feeTo);
            hand.factory.setFeeTo(feeTo);
        }
        _give(token0, r0);
        _give(token1, r1);
        _both(
            "first mint", abi.encodeCall(IPancakeV2Pair.mint, (lp)), abi.encodeCall(IPancakeV2Pair.mint, (lp))
        );
        _assertSameState("first mint");

        vm.warp(block.timestamp + bound(elapsed, 0, 30 days));
        (uint256 rIn, uint256 rOut) = preZeroForOne ? (r0, r1) : (r1, r0);
        preIn = bound(preIn, 0, rIn);
        uint256 preOut = _quote(preIn, rIn, rOut);
        if (preOut != 0) {
            _give(preZeroForOne ? token0 : token1, preIn);
            (uint256 o0, uint256 o1) = preZeroForOne ? (uint256(0), preOut) : (preOut, uint256(0));
            _both(
                "pre-swap",
                abi.encodeCall(IPancakeV2Pair.swap, (o0, o1, real.recipient, "")),
                abi.encodeCall(IPancakeV2Pair.swap, (o0, o1, hand.recipient, ""))
            );
            _assertSameState("pre-swap");
        }
        vm.warp(block.timestamp + bound(elapsed >> 128, 0, 1 days));
        (uint112 a, uint112 b,) = real.pair.getReserves();
        return (a, b);
    }

    /// PancakeSwap V2's quote: amountIn * 9975 * rOut / (rIn * 10000 + amountIn * 9975).
    function _quote(uint256 amountIn, uint256 rIn, uint256 rOut) internal pure returns (uint256) {
        if (amountIn == 0 || rIn == 0 || rOut == 0) return 0;
        return amountIn * 9975 * rOut / (rIn * 10_000 + amountIn * 9975);
    }

    // ------------------------------------------------------------------------ swaps

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// An input on one side (and sometimes a little on the other), an output on the other side
    /// at the V2 quote, one wei above it, or anywhere up to the reserve (mostly rejected), to
    /// the recipient or to one of the pair's own tokens.
    function testFuzz_diff_swap(
        uint256 r0,
        uint256 r1,
        bool feeOn,
        uint256 preIn,
        bool preDir,
        uint256 elapsed,
        uint256 amountIn,
        uint256 dust,
        bool zeroForOne,
        uint8 outMode,
        uint256 outRandom,
        uint8 toKind
    ) public {
        (r0, r1) = _prepare(r0, r1, feeOn, preIn, preDir, elapsed);
        (uint256 rIn, uint256 rOut) = zeroForOne ? (r0, r1) : (r1, r0);
        amountIn = bound(amountIn, 0, rIn * 3);
        dust = bound(dust, 0, 1000);
        uint256 quote = _quote(amountIn, rIn, rOut);
        uint256 out = outMode % 4 == 0
            ? quote
            : outMode % 4 == 1
                ? quote + 1
                : outMode % 4 == 2 ? (quote == 0 ? 0 : quote - 1) : bound(outRandom, 0, rOut + 1);
        _give(zeroForOne ? token0 : token1, amountIn);
        _give(zeroForOne ? token1 : token0, dust);
        (uint256 o0, uint256 o1) = zeroForOne ? (uint256(0), out) : (out, uint256(0));
        (address toReal, address toHand) = _recipients(toKind);
        _both(
            "swap",
            abi.encodeCall(IPancakeV2Pair.swap, (o0, o1, toReal, "")),
            abi.encodeCall(IPancakeV2Pair.swap, (o0, o1, toHand, ""))
        );
        _assertSameState("swap");
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// A flash swap: borrow either or both tokens, repay any amount of either inside the
    /// callback (enough, one wei short, nothing, ...), or re-enter the pair from the callback.
    function testFuzz_diff_flashSwap(
        uint256 r0,
        uint256 r1,
        bool feeOn,
        uint256 preIn,
        bool preDir,
        uint256 elapsed,
        uint256 borrow0,
        uint256 borrow1,
        uint256 repay0,
        uint256 repay1,
        uint8 reenter
    ) public {
        (r0, r1) = _prepare(r0, r1, feeOn, preIn, preDir, elapsed);
        borrow0 = bound(borrow0, 0, r0);
        borrow1 = bound(borrow1, 0, r1);
        // Around the fee-inclusive repayment (borrow * 10000 / 9975, rounded up) most of the time.
        repay0 = _aroundRepayment(borrow0, repay0);
        repay1 = _aroundRepayment(borrow1, repay1);
        bytes memory reentry;
        if (reenter % 8 == 1) reentry = abi.encodeCall(IPancakeV2Pair.sync, ());
        else if (reenter % 8 == 2) reentry = abi.encodeCall(IPancakeV2Pair.mint, (lp));
        else if (reenter % 8 == 3) reentry = abi.encodeCall(IPancakeV2Pair.swap, (1, 0, address(this), ""));
        for (uint256 i; i < 2; ++i) {
            DiffBorrower b = i == 0 ? real.borrower : hand.borrower;
            b.configure(repay0, repay1, reentry);
            token0.mint(address(b), repay0);
            token1.mint(address(b), repay1);
        }
        _both(
            "flash swap",
            abi.encodeCall(IPancakeV2Pair.swap, (borrow0, borrow1, address(real.borrower), "flash")),
            abi.encodeCall(IPancakeV2Pair.swap, (borrow0, borrow1, address(hand.borrower), "flash"))
        );
        _assertSameState("flash swap");
    }

    function _aroundRepayment(uint256 borrowed, uint256 fuzz) internal pure returns (uint256) {
        uint256 fair = borrowed == 0 ? 0 : (borrowed * 10_000 + 9974) / 9975;
        uint256 mode = fuzz % 5;
        if (mode == 0) return fair;
        if (mode == 1) return fair == 0 ? 0 : fair - 1;
        if (mode == 2) return borrowed;
        if (mode == 3) return 0;
        return bound(fuzz >> 8, 0, fair * 2 + 1);
    }

    // ------------------------------------------------------------------------ liquidity

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// A mint of any two amounts (balanced, unbalanced, one or both zero), sometimes after the
    /// pair's balance of a token was pushed below its reserve (a drained pool before sync).
    function testFuzz_diff_mint(
        uint256 r0,
        uint256 r1,
        bool feeOn,
        uint256 preIn,
        bool preDir,
        uint256 elapsed,
        uint256 add0,
        uint256 add1,
        uint256 drain
    ) public {
        (r0, r1) = _prepare(r0, r1, feeOn, preIn, preDir, elapsed);
        add0 = bound(add0, 0, r0 * 2);
        add1 = bound(add1, 0, r1 * 2);
        if (add0 % 7 == 1) add1 = add0 * r1 / r0; // proportional
        _give(token0, add0);
        _give(token1, add1);
        if (drain % 11 == 1 && r0 != 0) _set(token0, bound(drain >> 8, 0, r0 - 1));
        _bothSame("mint", abi.encodeCall(IPancakeV2Pair.mint, (lp)));
        _assertSameState("mint");
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// A burn of any part of the LP's tokens (or none), after an optional donation, to the
    /// recipient or to a pair token's address.
    function testFuzz_diff_burn(
        uint256 r0,
        uint256 r1,
        bool feeOn,
        uint256 preIn,
        bool preDir,
        uint256 elapsed,
        uint256 liquidity,
        uint256 donate,
        uint8 toKind
    ) public {
        (r0, r1) = _prepare(r0, r1, feeOn, preIn, preDir, elapsed);
        uint256 held = real.pair.balanceOf(lp);
        liquidity = bound(liquidity, 0, held);
        donate = bound(donate, 0, r0);
        _give(token0, donate);
        if (liquidity != 0) {
            vm.startPrank(lp);
            real.pair.transfer(address(real.pair), liquidity);
            hand.pair.transfer(address(hand.pair), liquidity);
            vm.stopPrank();
        }
        (address toReal, address toHand) = _recipients(toKind);
        _both(
            "burn",
            abi.encodeCall(IPancakeV2Pair.burn, (toReal)),
            abi.encodeCall(IPancakeV2Pair.burn, (toHand))
        );
        _assertSameState("burn");
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// sync and skim after balances moved either way: donations, and balances dealt below the
    /// reserves (the chaos layer's drain), including to zero.
    function testFuzz_diff_syncAndSkim(
        uint256 r0,
        uint256 r1,
        bool feeOn,
        uint256 preIn,
        bool preDir,
        uint256 elapsed,
        uint256 balance0,
        uint256 balance1,
        bool skimFirst,
        uint8 toKind
    ) public {
        (r0, r1) = _prepare(r0, r1, feeOn, preIn, preDir, elapsed);
        _set(token0, bound(balance0, 0, r0 * 2));
        _set(token1, bound(balance1, 0, uint256(type(uint112).max) + 1));
        (address toReal, address toHand) = _recipients(toKind);
        if (skimFirst) {
            _both(
                "skim",
                abi.encodeCall(IPancakeV2Pair.skim, (toReal)),
                abi.encodeCall(IPancakeV2Pair.skim, (toHand))
            );
            _assertSameState("skim");
        }
        vm.warp(block.timestamp + 1);
        _bothSame("sync", abi.encodeCall(IPancakeV2Pair.sync, ()));
        _assertSameState("sync");
        _both(
            "skim after sync",
            abi.encodeCall(IPancakeV2Pair.skim, (toReal)),
            abi.encodeCall(IPancakeV2Pair.skim, (toHand))
        );
        _assertSameState("skim after sync");
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// Twelve seeded steps of any of the above in a row, with time passing (one of them in the
    /// same timestamp): state that only builds up over several calls (kLast with the fee on,
    /// the cumulative prices) must agree too.
    function testFuzz_diff_sequence(uint256 r0, uint256 r1, bool feeOn, uint256 seed) public {
        (r0, r1) = _prepare(r0, r1, feeOn, seed, seed % 2 == 0, seed >> 64);
        for (uint256 step; step < 12; ++step) {
            seed = uint256(keccak256(abi.encode(seed, step)));
            if (step != 5) vm.warp(block.timestamp + seed % 3 hours);
            (uint112 a, uint112 b,) = real.pair.getReserves();
            uint256 kind = seed % 5;
            if (kind == 0) {
                bool zeroForOne = (seed >> 8) % 2 == 0;
                (uint256 rIn, uint256 rOut) = zeroForOne ? (uint256(a), uint256(b)) : (uint256(b), uint256(a));
                uint256 amountIn = bound(seed >> 16, 0, rIn);
                uint256 out = _quote(amountIn, rIn, rOut) + ((seed >> 200) % 3 == 0 ? 1 : 0);
                _give(zeroForOne ? token0 : token1, amountIn);
                (uint256 o0, uint256 o1) = zeroForOne ? (uint256(0), out) : (out, uint256(0));
                _both(
                    "step swap",
                    abi.encodeCall(IPancakeV2Pair.swap, (o0, o1, real.recipient, "")),
                    abi.encodeCall(IPancakeV2Pair.swap, (o0, o1, hand.recipient, ""))
                );
            } else if (kind == 1) {
                _give(token0, bound(seed >> 16, 0, uint256(a) + 1));
                _give(token1, bound(seed >> 128, 0, uint256(b) + 1));
                _bothSame("step mint", abi.encodeCall(IPancakeV2Pair.mint, (lp)));
            } else if (kind == 2) {
                uint256 liquidity = bound(seed >> 16, 0, real.pair.balanceOf(lp));
                vm.startPrank(lp);
                real.pair.transfer(address(real.pair), liquidity);
                hand.pair.transfer(address(hand.pair), liquidity);
                vm.stopPrank();
                _both(
                    "step burn",
                    abi.encodeCall(IPancakeV2Pair.burn, (real.recipient)),
                    abi.encodeCall(IPancakeV2Pair.burn, (hand.recipient))
                );
            } else if (kind == 3) {
                _give(token1, bound(seed >> 16, 0, uint256(b)));
                _bothSame("step sync", abi.encodeCall(IPancakeV2Pair.sync, ()));
            } else {
                _give(token0, bound(seed >> 16, 0, uint256(a)));
                _both(
                    "step skim",
                    abi.encodeCall(IPancakeV2Pair.skim, (real.recipient)),
                    abi.encodeCall(IPancakeV2Pair.skim, (hand.recipient))
                );
            }
            _assertSameState("step");
        }
    }

    /// forge-config: default.fuzz.runs = 64
    /// forge-config: ci.fuzz.runs = 64
    /// forge-config: chaos.fuzz.runs = 10000
    /// The LP token: transfer and transferFrom of any amount, within or beyond the balance and
    /// the allowance (an infinite allowance is not spent), and permit past its deadline.
    function testFuzz_diff_lpTransfer(
        uint256 r0,
        uint256 r1,
        uint256 amount,
        uint256 allowance,
        bool viaAllowance,
        bool infinite
    ) public {
        _prepare(r0, r1, false, 0, false, 0);
        uint256 held = real.pair.balanceOf(lp);
        amount = bound(amount, 0, held + 2);
        allowance = infinite ? type(uint256).max : bound(allowance, 0, held + 2);
        address spender = makeAddr("spender");
        if (viaAllowance) {
            vm.startPrank(lp);
            // The LP token's EIP-20 functions are IPancakeV2Pair's by inheritance from IEIP20,
            // and `abi.encodeCall` takes them from where they are declared.
            _bothSame("approve", abi.encodeCall(IEIP20.approve, (spender, allowance)));
            vm.stopPrank();
            // A prank reaches only the next call: one per pair.
            vm.prank(spender);
            (bool okReal, bytes memory retReal) =
                address(real.pair).call(abi.encodeCall(IEIP20.transferFrom, (lp, address(this), amount)));
            vm.prank(spender);
            (bool okHand, bytes memory retHand) =
                address(hand.pair).call(abi.encodeCall(IEIP20.transferFrom, (lp, address(this), amount)));
            _assertSameOutcome("transferFrom", okReal, retReal, okHand, retHand);
            assertEq(real.pair.allowance(lp, spender), hand.pair.allowance(lp, spender), "allowance");
        } else {
            vm.prank(lp);
            (bool okReal, bytes memory retReal) =
                address(real.pair).call(abi.encodeCall(IEIP20.transfer, (address(this), amount)));
            vm.prank(lp);
            (bool okHand, bytes memory retHand) =
                address(hand.pair).call(abi.encodeCall(IEIP20.transfer, (address(this), amount)));
            _assertSameOutcome("transfer", okReal, retReal, okHand, retHand);
        }
        _assertSameState("lp transfer");
        // permit: an expired deadline is refused alike before any signature is looked at.
        _bothSame(
            "permit expired",
            abi.encodeCall(
                IPancakeV2Pair.permit, (lp, spender, 1, block.timestamp - 1, 27, bytes32(0), bytes32(0))
            )
        );
        _bothSame(
            "permit bad signature",
            abi.encodeCall(
                IPancakeV2Pair.permit, (lp, spender, 1, block.timestamp, 27, bytes32(0), bytes32(0))
            )
        );
    }

    /// Recipients: each side's own (0), or the pair's token0 / token1, which a swap must refuse.
    function _recipients(uint8 kind) internal view returns (address, address) {
        if (kind % 4 == 1) return (address(token0), address(token0));
        if (kind % 4 == 2) return (address(token1), address(token1));
        return (real.recipient, hand.recipient);
    }
}
