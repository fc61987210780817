// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {LocalEnvironment} from "../../../script/lib/LocalEnvironment.sol";
import {IAsterBook, IAsterTradingReader} from "../../../contracts/replicas/aster/IAsterFacets.sol";
import {AsterDiamondReplica} from "../../../contracts/replicas/aster/AsterDiamondReplica.sol";
import {ReplicaToken} from "../../../contracts/replicas/tokens/ReplicaToken.sol";

/// @notice Three traders and a keeper use the Aster replica at random: ALP mints and burns,
/// market trades, executions, closes and mark-price moves of up to ±20%.
contract AsterHandler is Test {
    AsterDiamondReplica public immutable aster;
    ReplicaToken public immutable usdt;
    address public immutable btcb;
    address[3] public actors;

    constructor(AsterDiamondReplica aster_, ReplicaToken usdt_, address btcb_) {
        aster = aster_;
        usdt = usdt_;
        btcb = btcb_;
        for (uint256 i; i < 3; i++) {
            actors[i] = makeAddr(string.concat("trader", vm.toString(i)));
            vm.prank(actors[i]);
            usdt.approve(address(aster_), type(uint256).max);
        }
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % 3];
    }

    function mintAlp(uint256 seed, uint256 amount) external {
        address who = _actor(seed);
        amount = bound(amount, 1e18, 1_000_000e18);
        usdt.mint(who, amount);
        vm.prank(who);
        aster.mintAlp(address(usdt), amount, 0, false);
    }

    function burnAlp(uint256 seed, uint256 fractionBps) external {
        address who = _actor(seed);
        vm.warp(block.timestamp + aster.coolingDuration());
        uint256 amount = _alpBalance(who) * bound(fractionBps, 1, 10_000) / 10_000; // 0 reverts: no ALP yet
        vm.prank(who);
        aster.burnAlp(address(usdt), amount, 0, who);
    }

    function _alpBalance(address who) private view returns (uint256) {
        return ReplicaToken(aster.alp()).balanceOf(who);
    }

    function open(uint256 seed, bool isLong, uint256 qty, uint256 leverage) external {
        address who = _actor(seed);
        qty = bound(qty, 1e7, 50e10); // 0.001 to 50 BTC
        uint256 notional = qty * aster.markPrice(btcb);
        uint256 margin = notional / bound(leverage, 2, 50) + 1;
        usdt.mint(who, margin);
        vm.prank(who);
        aster.openMarketTrade(
            IAsterBook.OpenDataInput({
                pairBase: btcb,
                isLong: isLong,
                tokenIn: address(usdt),
                // qty <= 5e11 and margin <= qty * mark: both far inside their widths.
                // forge-lint: disable-next-line(unsafe-typecast)
                amountIn: uint96(margin),
                // forge-lint: disable-next-line(unsafe-typecast)
                qty: uint80(qty),
                price: isLong ? type(uint64).max : 0,
                stopLoss: 0,
                takeProfit: 0,
                broker: 0
            })
        );
    }

    function execute() external {
        aster.executePendingTrades();
    }

    function close(uint256 seed, uint256 index) external {
        address who = _actor(seed);
        IAsterTradingReader.Position[] memory positions = aster.getPositionsV2(who, address(0));
        if (positions.length == 0) return;
        vm.prank(who);
        aster.closeTrade(positions[index % positions.length].positionHash);
    }

    function moveMark(uint256 moveBps, bool up) external {
        uint256 mark = aster.markPrice(btcb);
        uint256 delta = mark * bound(moveBps, 0, 2000) / 10_000;
        aster.setMarkPrice(btcb, uint64(up ? mark + delta : mark - delta));
    }
}

contract AsterInvariantTest is Test {
    LocalEnvironment.Environment internal env;
    AsterHandler internal handler;

    function setUp() public {
        env = LocalEnvironment.deploy(LocalEnvironment.handConfig(), address(this));
        handler = new AsterHandler(env.asterDiamond, env.usdt, address(env.btcb));
        env.usdt.setMinter(address(handler), true);
        env.asterDiamond.setKeeper(address(handler), true);
        targetContract(address(handler));
    }

    /// @dev The diamond's USDT is exactly the ALP pool plus the margins of pending trades and
    /// open positions: no payout ever comes out of another trader's margin.
    function invariant_aster_usdtIsPoolPlusMargins() public view {
        uint256 held;
        bytes32[] memory pending = env.asterDiamond.pendingTradeHashes();
        for (uint256 i; i < pending.length; i++) {
            held += env.asterDiamond.pendingTrade(pending[i]).data.amountIn;
        }
        for (uint256 a; a < 3; a++) {
            IAsterTradingReader.Position[] memory positions =
                env.asterDiamond.getPositionsV2(handler.actors(a), address(0));
            for (uint256 i; i < positions.length; i++) {
                held += positions[i].margin;
            }
        }
        assertEq(env.usdt.balanceOf(address(env.asterDiamond)), env.asterDiamond.poolBalance() + held);
    }

    /// @dev A pending trade is never also a position.
    function invariant_aster_pendingTradesAreNotPositions() public view {
        bytes32[] memory pending = env.asterDiamond.pendingTradeHashes();
        for (uint256 i; i < pending.length; i++) {
            assertFalse(env.asterDiamond.isOpen(pending[i]));
        }
    }
}
