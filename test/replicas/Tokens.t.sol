// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {ERC20} from "../../contracts/replicas/tokens/ERC20.sol";
import {ReplicaToken} from "../../contracts/replicas/tokens/ReplicaToken.sol";
import {WBNB} from "../../contracts/replicas/tokens/WBNB.sol";
import {AlpToken} from "../../contracts/replicas/aster/AlpToken.sol";

contract TokensTest is ReplicaFixture {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    function test_token_usdtAndBtcbHave18Decimals() public view {
        assertEq(env.usdt.decimals(), 18);
        assertEq(env.btcb.decimals(), 18);
        assertEq(env.usdt.symbol(), "USDT");
        assertEq(env.btcb.symbol(), "BTCB");
    }

    function test_token_onlyMintersMint() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ReplicaToken.NotMinter.selector, alice));
        env.usdt.mint(alice, 1);
        env.usdt.setMinter(alice, true);
        vm.prank(alice);
        env.usdt.mint(alice, 5e18);
        assertEq(env.usdt.balanceOf(alice), 5e18);
    }

    function test_token_onlyTheOwnerAppointsMinters() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ReplicaToken.NotOwner.selector, alice));
        env.usdt.setMinter(alice, true);
    }

    function test_token_transferFromSpendsAllowanceUnlessInfinite() public {
        env.usdt.mint(alice, 10e18);
        vm.prank(alice);
        env.usdt.approve(bob, 4e18);
        vm.prank(bob);
        env.usdt.transferFrom(alice, bob, 3e18);
        assertEq(env.usdt.allowance(alice, bob), 1e18);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ERC20.InsufficientAllowance.selector, alice, bob, 1e18, 2e18));
        env.usdt.transferFrom(alice, bob, 2e18);
        vm.prank(alice);
        env.usdt.approve(bob, type(uint256).max);
        vm.prank(bob);
        env.usdt.transferFrom(alice, bob, 2e18);
        assertEq(env.usdt.allowance(alice, bob), type(uint256).max);
    }

    function test_token_transferRevertsAboveBalance() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ERC20.InsufficientBalance.selector, alice, 0, 1));
        env.usdt.transfer(bob, 1);
    }

    function test_wbnb_depositAndWithdrawAreOneToOne() public {
        WBNB wbnb = env.wbnb;
        uint256 supply = wbnb.totalSupply();
        vm.deal(alice, 5 ether);
        vm.prank(alice);
        wbnb.deposit{value: 5 ether}();
        assertEq(wbnb.balanceOf(alice), 5 ether);
        assertEq(wbnb.totalSupply(), supply + 5 ether);
        vm.prank(alice);
        wbnb.withdraw(2 ether);
        assertEq(alice.balance, 2 ether);
        assertEq(wbnb.totalSupply(), supply + 3 ether);
    }

    function test_wbnb_plainTransferOfBnbWraps() public {
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        (bool ok,) = address(env.wbnb).call{value: 1 ether}("");
        assertTrue(ok);
        assertEq(env.wbnb.balanceOf(alice), 1 ether);
    }

    function test_wbnb_withdrawAboveBalanceRevertsWithoutReason() public {
        vm.prank(alice);
        vm.expectRevert(bytes(""));
        env.wbnb.withdraw(1);
    }

    function test_wbnb_ownerNeedsNoAllowanceForTransferFrom() public {
        vm.deal(alice, 1 ether);
        vm.startPrank(alice);
        env.wbnb.deposit{value: 1 ether}();
        env.wbnb.transferFrom(alice, bob, 1 ether);
        vm.stopPrank();
        assertEq(env.wbnb.balanceOf(bob), 1 ether);
    }

    function test_alp_onlyTheDiamondMintsAndBurns() public {
        AlpToken alp = env.alp;
        assertEq(alp.diamond(), address(env.asterDiamond));
        assertEq(alp.decimals(), 18);
        vm.expectRevert(abi.encodeWithSelector(AlpToken.NotDiamond.selector, address(this)));
        alp.mint(address(this), 1);
        vm.expectRevert(abi.encodeWithSelector(AlpToken.NotDiamond.selector, address(this)));
        alp.burnFrom(address(this), 1);
    }
}
