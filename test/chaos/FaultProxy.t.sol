// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {
    FaultProxy,
    FaultInjection,
    Fault,
    FaultKind,
    IFaultProxyAdmin,
    RecordedCall
} from "../../script/chaos/FaultProxy.sol";

/// A plain dependency: storage, events, ether, msg.sender and address(this) all observable.
contract Ledger {
    error Overdrawn(address who, uint256 wanted, uint256 had);

    event Moved(address indexed from, address indexed to, uint256 amount);

    mapping(address => uint256) public balanceOf;
    uint256 public totalMoved;
    address public lastCaller;

    function credit(address to, uint256 amount) external payable returns (uint256) {
        balanceOf[to] += amount + msg.value;
        lastCaller = msg.sender;
        return balanceOf[to];
    }

    function move(address to, uint256 amount) external returns (address self, address caller) {
        uint256 had = balanceOf[msg.sender];
        if (had < amount) revert Overdrawn(msg.sender, amount, had);
        balanceOf[msg.sender] = had - amount;
        balanceOf[to] += amount;
        totalMoved += amount;
        emit Moved(msg.sender, to, amount);
        return (address(this), msg.sender);
    }

    function snapshot(address who) external view returns (uint256[] memory values, string memory tag) {
        values = new uint256[](3);
        values[0] = balanceOf[who];
        values[1] = totalMoved;
        values[2] = address(this).balance;
        tag = "ledger";
    }
}

/// A diamond-style dependency: the fallback finds a facet in namespaced storage and delegates.
contract MiniDiamond {
    bytes32 internal constant SLOT = keccak256("test.mini-diamond");

    struct Facets {
        mapping(bytes4 => address) facetOf;
    }

    function _facets() internal pure returns (Facets storage f) {
        bytes32 slot = SLOT;
        assembly {
            f.slot := slot
        }
    }

    function setFacet(bytes4 selector, address facet) external {
        _facets().facetOf[selector] = facet;
    }

    fallback() external payable {
        address facet = _facets().facetOf[msg.sig];
        require(facet != address(0), "Diamond: Function does not exist");
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), facet, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

contract CounterFacet {
    bytes32 internal constant SLOT = keccak256("test.counter-facet");

    function bump(uint256 by) external returns (uint256 value, address self) {
        bytes32 slot = SLOT;
        assembly {
            value := add(sload(slot), by)
            sstore(slot, value)
        }
        return (value, address(this));
    }

    function current() external view returns (uint256 value) {
        bytes32 slot = SLOT;
        assembly {
            value := sload(slot)
        }
    }
}

contract FaultProxyTest is Test {
    using FaultInjection for address;

    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    Ledger internal plain;
    Ledger internal proxied;

    function setUp() public {
        plain = new Ledger();
        proxied = new Ledger();
        vm.deal(ALICE, 10 ether);
    }

    /// Runs the same calls on a target and returns every call's raw result.
    function _exercise(address target) internal returns (bytes[] memory results) {
        results = new bytes[](5);
        bool ok;
        vm.prank(ALICE);
        (ok, results[0]) = target.call{value: 1 ether}(abi.encodeCall(Ledger.credit, (ALICE, 500)));
        assertTrue(ok);
        vm.prank(ALICE);
        (ok, results[1]) = target.call(abi.encodeCall(Ledger.move, (BOB, 200)));
        assertTrue(ok);
        vm.prank(BOB);
        (ok, results[2]) = target.call(abi.encodeCall(Ledger.move, (ALICE, 1e30)));
        assertFalse(ok);
        (ok, results[3]) = target.staticcall(abi.encodeCall(Ledger.snapshot, (ALICE)));
        assertTrue(ok);
        (ok, results[4]) = target.call(hex"deadbeef");
        assertFalse(ok);
    }

    function test_unarmedProxy_isByteForByteTransparent() public {
        // State before the proxy goes in must stay in place, too.
        plain.credit(ALICE, 7);
        proxied.credit(ALICE, 7);
        address(proxied).install();

        bytes[] memory expected = _exercise(address(plain));
        vm.recordLogs();
        bytes[] memory actual = _exercise(address(proxied));
        assertEq(vm.getRecordedLogs().length, 1, "the Moved event comes from the original address");

        for (uint256 i = 0; i < expected.length; i++) {
            // move() returns address(this): normalise the one field that names the instance.
            bytes memory want = i == 1 ? abi.encode(address(proxied), ALICE) : expected[i];
            assertEq(actual[i], want, "return or revert data differs");
        }
        assertEq(proxied.balanceOf(ALICE), plain.balanceOf(ALICE));
        assertEq(proxied.balanceOf(BOB), plain.balanceOf(BOB));
        assertEq(proxied.totalMoved(), plain.totalMoved());
        assertEq(proxied.lastCaller(), ALICE, "msg.sender is the real caller, not the proxy");
        assertEq(address(proxied).balance, address(plain).balance, "ether stays at the original address");
        for (uint256 slot = 0; slot < 4; slot++) {
            assertEq(vm.load(address(proxied), bytes32(slot)), vm.load(address(plain), bytes32(slot)));
        }
    }

    function test_unarmedProxy_isTransparentForADiamond() public {
        CounterFacet facet = new CounterFacet();
        MiniDiamond a = new MiniDiamond();
        MiniDiamond b = new MiniDiamond();
        a.setFacet(CounterFacet.bump.selector, address(facet));
        b.setFacet(CounterFacet.bump.selector, address(facet));
        a.setFacet(CounterFacet.current.selector, address(facet));
        b.setFacet(CounterFacet.current.selector, address(facet));
        CounterFacet(address(b)).bump(5);
        CounterFacet(address(a)).bump(5);
        address(b).install();

        (uint256 va, address selfA) = CounterFacet(address(a)).bump(3);
        (uint256 vb, address selfB) = CounterFacet(address(b)).bump(3);
        assertEq(vb, va);
        assertEq(selfA, address(a));
        assertEq(selfB, address(b), "the facet still sees the diamond's own address");
        assertEq(CounterFacet(address(b)).current(), 8);
        vm.expectRevert(bytes("Diamond: Function does not exist"));
        Ledger(address(b)).totalMoved();

        // A fault on one facet selector leaves the others working.
        address(b).revertWith(CounterFacet.bump.selector, "facet down");
        vm.expectRevert(bytes("facet down"));
        CounterFacet(address(b)).bump(1);
        assertEq(CounterFacet(address(b)).current(), 8);
    }

    function test_revertReason_revertsWithTheReasonAndLeavesOtherSelectorsAlone() public {
        address(proxied).install();
        address(proxied).revertWith(Ledger.credit.selector, "Aster: paused");
        vm.expectRevert(bytes("Aster: paused"));
        proxied.credit(ALICE, 1);
        assertEq(proxied.totalMoved(), 0);
    }

    function test_revertRaw_revertsWithTheExactCustomError() public {
        address(proxied).install();
        bytes memory err = abi.encodeWithSelector(Ledger.Overdrawn.selector, ALICE, 1, 0);
        address(proxied).revertRaw(Ledger.credit.selector, err);
        vm.expectRevert(err);
        proxied.credit(ALICE, 1);
    }

    function test_revertEmpty_revertsWithoutData() public {
        address(proxied).install();
        address(proxied).revertEmpty(Ledger.credit.selector);
        (bool ok, bytes memory data) = address(proxied).call(abi.encodeCall(Ledger.credit, (ALICE, 1)));
        assertFalse(ok);
        assertEq(data.length, 0);
    }

    function test_returnData_returnsTheChosenBytesWithoutRunningTheCode() public {
        address(proxied).install();
        address(proxied).returnData(Ledger.credit.selector, hex"01");
        (bool ok, bytes memory data) = address(proxied).call(abi.encodeCall(Ledger.credit, (ALICE, 1)));
        assertTrue(ok);
        assertEq(data, hex"01", "short return data reaches the caller as is");
        assertEq(proxied.balanceOf(ALICE), 0, "the real code did not run");
        // A typed caller fails to decode it.
        vm.expectRevert();
        this.typedCredit();
    }

    function typedCredit() external returns (uint256) {
        return proxied.credit(ALICE, 1);
    }

    function test_burnGas_costsTheGasThenRunsTheRealCode() public {
        address(proxied).install();
        proxied.credit(ALICE, 1); // warm the slots so both measured calls cost the same
        uint256 before = gasleft();
        proxied.credit(ALICE, 1);
        uint256 baseline = before - gasleft();

        address(proxied).burnGas(Ledger.credit.selector, 300_000);
        before = gasleft();
        proxied.credit(ALICE, 1);
        uint256 used = before - gasleft();
        assertGe(used, baseline + 300_000, "at least 300k more gas was used");
        assertLe(used, baseline + 300_000 + 20_000, "and not much more");
        assertEq(proxied.balanceOf(ALICE), 3, "the real code still ran");
    }

    function test_outOfGas_consumesEverythingForwarded() public {
        address(proxied).install();
        address(proxied).outOfGas(Ledger.credit.selector);
        uint256 before = gasleft();
        (bool ok,) = address(proxied).call{gas: 200_000}(abi.encodeCall(Ledger.credit, (ALICE, 1)));
        assertFalse(ok);
        assertGe(before - gasleft(), 200_000, "all forwarded gas is gone");
    }

    function test_failFromNth_letsEarlierCallsThrough() public {
        address(proxied).install();
        address(proxied).failFromNth(Ledger.credit.selector, 3, "third time");
        proxied.credit(ALICE, 1);
        proxied.credit(ALICE, 1);
        assertEq(address(proxied).calls(Ledger.credit.selector), 2);
        vm.expectRevert(bytes("third time"));
        proxied.credit(ALICE, 1);
        // The failed call's count was rolled back with it: the fault keeps firing until disarmed.
        vm.expectRevert(bytes("third time"));
        proxied.credit(ALICE, 1);
        address(proxied).disarm(Ledger.credit.selector);
        proxied.credit(ALICE, 1);
        assertEq(proxied.balanceOf(ALICE), 3);
    }

    function test_countedFaultInAStaticCall_revertsWithATypedError() public {
        address(proxied).install();
        address(proxied).failFromNth(Ledger.snapshot.selector, 2, "never");
        vm.expectRevert(
            abi.encodeWithSelector(FaultProxy.CountedFaultInStaticCall.selector, Ledger.snapshot.selector)
        );
        proxied.snapshot(ALICE);
        // An uncounted fault works on a view function.
        address(proxied).revertWith(Ledger.snapshot.selector, "reader down");
        vm.expectRevert(bytes("reader down"));
        proxied.snapshot(ALICE);
    }

    function test_record_keepsCallerArgumentsAndReturnDataOfCallsThatWentThrough() public {
        address(proxied).install();
        address(proxied).record(Ledger.move.selector);
        vm.prank(ALICE);
        proxied.credit(ALICE, 500); // another selector: not recorded
        vm.prank(ALICE);
        (address self, address caller) = proxied.move(BOB, 200);
        assertEq(self, address(proxied), "the real code ran at the original address");
        assertEq(caller, ALICE);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(Ledger.Overdrawn.selector, BOB, 1e30, 200));
        proxied.move(ALICE, 1e30); // reverted: its entry rolls back with it
        vm.prank(BOB);
        proxied.move(ALICE, 50);

        RecordedCall[] memory calls = address(proxied).recorded(Ledger.move.selector);
        assertEq(calls.length, 2, "only the calls that went through");
        assertEq(calls[0].caller, ALICE);
        assertEq(calls[0].args, abi.encode(BOB, uint256(200)));
        assertEq(calls[0].returned, abi.encode(address(proxied), ALICE));
        assertEq(calls[1].caller, BOB);
        assertEq(calls[1].args, abi.encode(ALICE, uint256(50)));
        assertEq(proxied.balanceOf(BOB), 150);
        assertEq(address(proxied).recorded(Ledger.credit.selector).length, 0);

        address(proxied).record(Ledger.move.selector);
        assertEq(address(proxied).recorded(Ledger.move.selector).length, 0, "arming again clears the record");
    }

    /// The property the chaos scenarios rely on: the record lives in the target's storage, so
    /// reverting a state snapshot takes it (and the proxy) away, and nothing leaks into what
    /// runs after the revert.
    function test_record_isUndoneByRevertToState() public {
        proxied.credit(ALICE, 500);
        bytes memory original = address(proxied).code;
        uint256 snap = vm.snapshotState();
        address(proxied).install();
        address(proxied).record(Ledger.move.selector);
        vm.prank(ALICE);
        proxied.move(BOB, 200);
        assertEq(address(proxied).recorded(Ledger.move.selector).length, 1);
        vm.revertToState(snap);
        assertEq(keccak256(address(proxied).code), keccak256(original), "the proxy is gone");
        assertEq(proxied.balanceOf(BOB), 0);
        address(proxied).install();
        assertEq(address(proxied).recorded(Ledger.move.selector).length, 0, "and so is the record");
    }

    function test_record_insideAStaticCall_revertsWithATypedError() public {
        address(proxied).install();
        address(proxied).record(Ledger.snapshot.selector);
        vm.expectRevert(
            abi.encodeWithSelector(FaultProxy.RecordInStaticCall.selector, Ledger.snapshot.selector)
        );
        proxied.snapshot(ALICE);
    }

    function test_adminSurface_isOnlyReachableByTheAdmin() public {
        address(proxied).install();
        // Anyone else calling an admin selector reaches the real code (here: no such function).
        vm.expectRevert();
        IFaultProxyAdmin(address(proxied)).faultProxyShadow();
        vm.prank(FaultInjection.ADMIN);
        assertEq(
            IFaultProxyAdmin(address(proxied)).faultProxyShadow(), FaultInjection.shadowOf(address(proxied))
        );
    }

    function test_uninstall_restoresTheRealCodeAndKeepsState() public {
        bytes memory original = address(proxied).code;
        address(proxied).install();
        address(proxied).revertWith(Ledger.credit.selector, "down");
        vm.prank(ALICE);
        proxied.move(BOB, 0);
        address(proxied).uninstall();
        assertEq(keccak256(address(proxied).code), keccak256(original));
        assertEq(proxied.lastCaller(), address(0));
        assertEq(proxied.credit(ALICE, 4), 4, "fault gone with the proxy");
    }

    function test_install_refusesAnAddressWithoutCodeOrTwice() public {
        vm.expectRevert(abi.encodeWithSelector(FaultInjection.NoCode.selector, ALICE));
        this.installOn(ALICE);
        address(proxied).install();
        vm.expectRevert(abi.encodeWithSelector(FaultInjection.AlreadyInstalled.selector, address(proxied)));
        this.installOn(address(proxied));
    }

    function installOn(address target) external {
        target.install();
    }

    function testFuzz_unarmedProxy_returnsTheSameAsTheTarget(address to, uint96 amount, uint96 value) public {
        vm.assume(to != address(0));
        address(proxied).install();
        vm.deal(address(this), uint256(value) * 2);
        uint256 a = plain.credit{value: value}(to, amount);
        uint256 b = proxied.credit{value: value}(to, amount);
        assertEq(a, b);
        assertEq(address(proxied).balance, address(plain).balance);
    }
}
