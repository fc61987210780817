// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {IPancakeFactory} from "../../contracts/interfaces/IPancake.sol";
import {ReplicaToken} from "../../contracts/replicas/tokens/ReplicaToken.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";

contract PancakeFactoryTest is ReplicaFixture {
    ReplicaToken internal a;
    ReplicaToken internal b;

    function setUp() public override {
        super.setUp();
        a = new ReplicaToken("A", "A", 18, address(this));
        b = new ReplicaToken("B", "B", 18, address(this));
    }

    function test_factory_createPairDeploysAtTheCreate2AddressOfInitCodePairHash() public {
        (address t0, address t1) =
            address(a) < address(b) ? (address(a), address(b)) : (address(b), address(a));
        address expected = vm.computeCreate2Address(
            keccak256(abi.encodePacked(t0, t1)),
            env.pancakeFactory.INIT_CODE_PAIR_HASH(),
            address(env.pancakeFactory)
        );
        address pair = env.pancakeFactory.createPair(address(b), address(a));
        assertEq(pair, expected);
        assertEq(env.pancakeFactory.INIT_CODE_PAIR_HASH(), keccak256(type(PancakePair).creationCode));
    }

    function test_factory_createPairSortsTokensAndRegistersBothOrders() public {
        address pair = env.pancakeFactory.createPair(address(a), address(b));
        assertEq(env.pancakeFactory.getPair(address(a), address(b)), pair);
        assertEq(env.pancakeFactory.getPair(address(b), address(a)), pair);
        assertLt(uint160(PancakePair(pair).token0()), uint160(PancakePair(pair).token1()));
        assertEq(PancakePair(pair).factory(), address(env.pancakeFactory));
    }

    function test_factory_createPairAppendsToAllPairsAndEmits() public {
        uint256 before = env.pancakeFactory.allPairsLength();
        (address t0, address t1) =
            address(a) < address(b) ? (address(a), address(b)) : (address(b), address(a));
        vm.expectEmit(true, true, false, false, address(env.pancakeFactory));
        emit IPancakeFactory.PairCreated(t0, t1, address(0), before + 1);
        address pair = env.pancakeFactory.createPair(address(a), address(b));
        assertEq(env.pancakeFactory.allPairsLength(), before + 1);
        assertEq(env.pancakeFactory.allPairs(before), pair);
    }

    function test_factory_environmentHasThreePairs() public view {
        assertEq(env.pancakeFactory.allPairsLength(), 3);
        assertEq(env.pancakeFactory.allPairs(0), address(env.lpPair));
        assertEq(env.pancakeFactory.allPairs(1), address(env.flashPair));
        assertEq(env.pancakeFactory.allPairs(2), address(env.btcbWbnbPair));
    }

    function test_factory_createPairRevertsForIdenticalTokens() public {
        vm.expectRevert("Pancake: IDENTICAL_ADDRESSES");
        env.pancakeFactory.createPair(address(a), address(a));
    }

    function test_factory_createPairRevertsForZeroAddress() public {
        vm.expectRevert("Pancake: ZERO_ADDRESS");
        env.pancakeFactory.createPair(address(0), address(a));
    }

    function test_factory_createPairRevertsWhenPairExists() public {
        env.pancakeFactory.createPair(address(a), address(b));
        vm.expectRevert("Pancake: PAIR_EXISTS");
        env.pancakeFactory.createPair(address(b), address(a));
    }

    function test_factory_onlyFeeToSetterSetsFeeTo() public {
        vm.prank(makeAddr("stranger"));
        vm.expectRevert("Pancake: FORBIDDEN");
        env.pancakeFactory.setFeeTo(address(1));
        env.pancakeFactory.setFeeTo(address(1));
        assertEq(env.pancakeFactory.feeTo(), address(1));
    }

    function test_factory_feeToSetterCanHandOver() public {
        address next = makeAddr("next");
        env.pancakeFactory.setFeeToSetter(next);
        assertEq(env.pancakeFactory.feeToSetter(), next);
        vm.expectRevert("Pancake: FORBIDDEN");
        env.pancakeFactory.setFeeToSetter(address(this));
    }
}
