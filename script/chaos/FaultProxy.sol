// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";

/// @notice What an armed selector does instead of (or before) reaching the real code.
enum FaultKind {
    /// Not armed: delegate to the real code.
    NONE,
    /// `revert Error(string)` with `data` as the reason string, as `require(cond, "...")` does.
    REVERT_REASON,
    /// Revert with `data` as raw revert data (a custom error, a panic, anything).
    REVERT_RAW,
    /// Revert with no data at all.
    REVERT_EMPTY,
    /// Return `data` as raw return data without running the real code (bad or short ABI data).
    RETURN_DATA,
    /// Burn `gasToBurn` gas, then run the real code (a dependency that got expensive).
    BURN_GAS,
    /// Consume every unit of gas the caller forwarded (an out-of-gas failure).
    OUT_OF_GAS,
    /// Once: call back `target` with `callData` (`data` = abi.encode(target, callData)), as a
    /// token with transfer hooks would, then run the real code. The fault disarms itself before
    /// the call (one re-entry, no recursion); whether the call went through and its revert
    /// selector are kept for `FaultInjection.callbackOutcome`.
    CALLBACK,
    /// Run the real code, then return no data at all on success (its reverts pass through): a
    /// token whose `transfer` returns nothing, as USDT's on Ethereum does.
    RETURN_NOTHING,
    /// Run the real code and keep the caller, the arguments (the calldata after the selector)
    /// and the return data: a record of the calls in the target's own storage, so reverting a
    /// snapshot takes it back with the rest of the state, and a call that reverts (itself or
    /// any frame around it) takes its own entry with it. Reverts with `RecordInStaticCall`
    /// inside a STATICCALL (the record cannot be written).
    RECORD
}

/// @notice One call a `FaultKind.RECORD` selector saw and that went through: who called, the
/// calldata after the selector (what `abi.decode` takes as the function's parameters) and what
/// the real code returned.
struct RecordedCall {
    address caller;
    bytes args;
    bytes returned;
}

/// @notice One armed selector. The first `nth - 1` calls pass through (0 and 1: none do); from the
/// `nth` call on the fault fires until disarmed. A fault that reverts also rolls back its own
/// count, as every state change in a reverted frame is rolled back, so "only the Nth call" cannot
/// be kept inside the EVM: scenarios disarm explicitly when the dependency should recover.
struct Fault {
    FaultKind kind;
    uint32 nth;
    uint64 gasToBurn;
    bytes data;
}

/// @notice The proxy's admin surface. Only `FaultProxy.ADMIN` reaches it; everyone else's calls,
/// including calls with these selectors, go to the real code.
interface IFaultProxyAdmin {
    function faultProxyArm(bytes4 selector, Fault calldata fault) external;
    function faultProxyDisarm(bytes4 selector) external;
    function faultProxyCalls(bytes4 selector) external view returns (uint256);
    function faultProxyShadow() external view returns (address);
    function faultProxyRecords(bytes4 selector) external view returns (RecordedCall[] memory);
}

/// @notice A selector-level fault proxy. Its runtime code is etched at a dependency's address after
/// the dependency's own code was copied to `SHADOW`; every call is delegated to the shadow, so
/// storage, `address(this)`, `msg.sender` and `msg.value` stay exactly what they were, and only the
/// armed selectors misbehave. Works on any contract, including diamonds (their fallback reads the
/// facet table from the original address's storage, which delegation keeps).
/// @dev The proxy's own state lives under an ERC-7201 namespace, a keccak-derived slot that no
/// Solidity layout (sequential slots, mappings, or another namespace) can reach by accident.
contract FaultProxy {
    /// @custom:storage-location erc7201:chaos.fault-proxy
    struct Layout {
        mapping(bytes4 => Fault) faults;
        mapping(bytes4 => uint256) calls;
        mapping(bytes4 => RecordedCall[]) records;
    }

    /// keccak256(abi.encode(uint256(keccak256("chaos.fault-proxy")) - 1)) & ~bytes32(uint256(0xff)),
    /// as `cast index-erc7201 chaos.fault-proxy` prints it.
    bytes32 internal constant LAYOUT_SLOT =
        0x672915a8164581b377b650ac444dfad94299ddda34ba7c7fcef71e4193ef0a00;

    /// The only caller that reaches the admin surface (scenarios `vm.prank` as it). Not public: the
    /// proxy has no function of its own that could shadow a selector of the target.
    address internal constant ADMIN = address(uint160(uint256(keccak256("chaos.fault-proxy.admin"))));

    /// A selector of no real function: the proxy calls itself with it to learn whether it runs
    /// inside a STATICCALL (where its call counters cannot be written).
    bytes4 internal constant STATIC_PROBE = bytes4(keccak256("chaos.fault-proxy.static-probe"));

    address internal immutable SHADOW;

    /// @notice A counted fault (`nth` > 1) was hit inside a STATICCALL, where the proxy cannot keep
    /// its count. Arm view selectors with `nth` 0 or 1 instead.
    error CountedFaultInStaticCall(bytes4 selector);

    /// @notice A recorded selector (`FaultKind.RECORD`) was called inside a STATICCALL, where the
    /// proxy cannot write its record.
    error RecordInStaticCall(bytes4 selector);

    constructor(address shadow) {
        SHADOW = shadow;
    }

    function _layout() private pure returns (Layout storage l) {
        bytes32 slot = LAYOUT_SLOT;
        assembly {
            l.slot := slot
        }
    }

    fallback() external payable {
        bytes4 selector = msg.data.length >= 4 ? bytes4(msg.data[:4]) : bytes4(0);
        if (msg.sender == ADMIN) _admin(selector);
        if (msg.sender == address(this) && selector == STATIC_PROBE) {
            // Writing fails inside a STATICCALL; the caller sees the failure.
            _layout().calls[STATIC_PROBE] += 1;
            assembly {
                return(0, 0)
            }
        }
        Fault storage fault = _layout().faults[selector];
        if (fault.kind == FaultKind.CALLBACK) {
            if (_fires(selector, fault)) _callback(selector);
        } else if (fault.kind == FaultKind.RETURN_NOTHING) {
            if (_fires(selector, fault)) _delegateReturningNothing();
        } else if (fault.kind == FaultKind.RECORD) {
            _record(selector);
        } else if (fault.kind != FaultKind.NONE && _fires(selector, fault)) {
            _inject(fault);
        }
        _delegate();
    }

    /// Counts the call when the fault needs a count, and tells whether this call fails.
    function _fires(bytes4 selector, Fault storage fault) private returns (bool) {
        if (fault.nth <= 1) return true;
        (bool writable,) = address(this).call(abi.encodeWithSelector(STATIC_PROBE));
        if (!writable) revert CountedFaultInStaticCall(selector);
        return ++_layout().calls[selector] >= fault.nth;
    }

    function _inject(Fault memory fault) private view {
        FaultKind kind = fault.kind;
        bytes memory data = fault.data;
        if (kind == FaultKind.REVERT_REASON) {
            revert(string(data));
        } else if (kind == FaultKind.REVERT_RAW) {
            assembly {
                revert(add(data, 32), mload(data))
            }
        } else if (kind == FaultKind.REVERT_EMPTY) {
            assembly {
                revert(0, 0)
            }
        } else if (kind == FaultKind.RETURN_DATA) {
            assembly {
                return(add(data, 32), mload(data))
            }
        } else if (kind == FaultKind.BURN_GAS) {
            if (fault.gasToBurn >= gasleft()) {
                assembly {
                    invalid()
                }
            }
            uint256 stopAt = gasleft() - fault.gasToBurn;
            while (gasleft() > stopAt) {}
        } else if (kind == FaultKind.OUT_OF_GAS) {
            assembly {
                invalid()
            }
        }
    }

    /// @dev Keys of the last callback's outcome in `calls` (1: reverted, 2: went through) and of
    /// its revert selector.
    bytes4 internal constant CALLBACK_OUTCOME = bytes4(keccak256("chaos.fault-proxy.callback-outcome"));
    bytes4 internal constant CALLBACK_REVERT = bytes4(keccak256("chaos.fault-proxy.callback-revert"));

    function _callback(bytes4 selector) private {
        Layout storage l = _layout();
        (address target, bytes memory callData) = abi.decode(l.faults[selector].data, (address, bytes));
        delete l.faults[selector];
        (bool ok, bytes memory ret) = target.call(callData);
        l.calls[CALLBACK_OUTCOME] = ok ? 2 : 1;
        l.calls[CALLBACK_REVERT] = ret.length >= 4 ? uint256(uint32(bytes4(ret))) : 0;
    }

    /// Runs the real code and records the call; ends the call like `_delegate`.
    function _record(bytes4 selector) private {
        (bool writable,) = address(this).call(abi.encodeWithSelector(STATIC_PROBE));
        if (!writable) revert RecordInStaticCall(selector);
        RecordedCall[] storage records = _layout().records[selector];
        // The entry goes in first, so a call of the same selector nested inside keeps its order.
        records.push(RecordedCall(msg.sender, msg.data[4:], ""));
        uint256 index = records.length - 1;
        (bool ok, bytes memory ret) = SHADOW.delegatecall(msg.data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        records[index].returned = ret;
        assembly {
            return(add(ret, 32), mload(ret))
        }
    }

    function _delegate() private {
        address shadow = SHADOW;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), shadow, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// Like `_delegate`, but a successful call's return data is dropped.
    function _delegateReturningNothing() private {
        address shadow = SHADOW;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), shadow, 0, calldatasize(), 0, 0)
            if iszero(ok) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
            return(0, 0)
        }
    }

    function _admin(bytes4 selector) private {
        Layout storage l = _layout();
        bytes memory result;
        if (selector == IFaultProxyAdmin.faultProxyArm.selector) {
            (bytes4 target, Fault memory fault) = abi.decode(msg.data[4:], (bytes4, Fault));
            l.faults[target] = fault;
            l.calls[target] = 0;
            delete l.records[target];
        } else if (selector == IFaultProxyAdmin.faultProxyDisarm.selector) {
            bytes4 target = abi.decode(msg.data[4:], (bytes4));
            delete l.faults[target];
            l.calls[target] = 0;
        } else if (selector == IFaultProxyAdmin.faultProxyCalls.selector) {
            result = abi.encode(l.calls[abi.decode(msg.data[4:], (bytes4))]);
        } else if (selector == IFaultProxyAdmin.faultProxyShadow.selector) {
            result = abi.encode(SHADOW);
        } else if (selector == IFaultProxyAdmin.faultProxyRecords.selector) {
            result = abi.encode(l.records[abi.decode(msg.data[4:], (bytes4))]);
        } else {
            return; // not an admin call: the admin address is forwarded like anyone else
        }
        assembly {
            return(add(result, 32), mload(result))
        }
    }
}

/// @notice Installs, arms and removes fault proxies from scripts and tests (cheatcodes).
library FaultInjection {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    /// Same derivation as `FaultProxy.ADMIN`.
    address internal constant ADMIN = address(uint160(uint256(keccak256("chaos.fault-proxy.admin"))));

    error NotInstalled(address target);
    error AlreadyInstalled(address target);
    error NoCode(address target);

    /// @notice The deterministic shadow address that keeps `target`'s real code.
    function shadowOf(address target) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("chaos.fault-proxy.shadow", target)))));
    }

    function isInstalled(address target) internal view returns (bool) {
        address shadow = shadowOf(target);
        return shadow.code.length > 0 && keccak256(target.code) != keccak256(shadow.code);
    }

    /// @notice Put a fault proxy in front of `target`, keeping its storage and balance in place.
    function install(address target) internal returns (address shadow) {
        if (target.code.length == 0) revert NoCode(target);
        if (isInstalled(target)) revert AlreadyInstalled(target);
        shadow = shadowOf(target);
        VM.etch(shadow, target.code);
        // Deployed once to render its immutables into runtime code; only the code is kept.
        FaultProxy template = new FaultProxy(shadow);
        VM.etch(target, address(template).code);
    }

    /// @notice Restore `target`'s real code. Armed faults stop applying at once.
    function uninstall(address target) internal {
        if (!isInstalled(target)) revert NotInstalled(target);
        VM.etch(target, shadowOf(target).code);
    }

    function arm(address target, bytes4 selector, Fault memory fault) internal {
        if (!isInstalled(target)) revert NotInstalled(target);
        VM.prank(ADMIN);
        IFaultProxyAdmin(target).faultProxyArm(selector, fault);
    }

    function disarm(address target, bytes4 selector) internal {
        VM.prank(ADMIN);
        IFaultProxyAdmin(target).faultProxyDisarm(selector);
    }

    function calls(address target, bytes4 selector) internal returns (uint256) {
        VM.prank(ADMIN);
        return IFaultProxyAdmin(target).faultProxyCalls(selector);
    }

    // Shorthands for the common faults.

    function revertWith(address target, bytes4 selector, string memory reason) internal {
        arm(target, selector, Fault(FaultKind.REVERT_REASON, 1, 0, bytes(reason)));
    }

    function revertRaw(address target, bytes4 selector, bytes memory data) internal {
        arm(target, selector, Fault(FaultKind.REVERT_RAW, 1, 0, data));
    }

    function revertEmpty(address target, bytes4 selector) internal {
        arm(target, selector, Fault(FaultKind.REVERT_EMPTY, 1, 0, ""));
    }

    function returnData(address target, bytes4 selector, bytes memory data) internal {
        arm(target, selector, Fault(FaultKind.RETURN_DATA, 1, 0, data));
    }

    function burnGas(address target, bytes4 selector, uint64 gasToBurn) internal {
        arm(target, selector, Fault(FaultKind.BURN_GAS, 1, gasToBurn, ""));
    }

    function outOfGas(address target, bytes4 selector) internal {
        arm(target, selector, Fault(FaultKind.OUT_OF_GAS, 1, 0, ""));
    }

    /// @notice The next call of `selector` on `target` first calls `callee` with `callData` (from
    /// `target`, as a token's transfer hook would), once.
    function callbackOnce(address target, bytes4 selector, address callee, bytes memory callData) internal {
        arm(target, selector, Fault(FaultKind.CALLBACK, 1, 0, abi.encode(callee, callData)));
    }

    /// @notice The last callback's outcome: 0 none yet, 1 reverted, 2 went through; and the
    /// selector it reverted with (0 if none or shorter).
    function callbackOutcome(address target) internal returns (uint256 outcome, bytes4 reason) {
        outcome = calls(target, bytes4(keccak256("chaos.fault-proxy.callback-outcome")));
        reason = bytes4(uint32(calls(target, bytes4(keccak256("chaos.fault-proxy.callback-revert")))));
    }

    /// @notice Every call of `selector` on `target` runs the real code and returns no data.
    function returnNothing(address target, bytes4 selector) internal {
        arm(target, selector, Fault(FaultKind.RETURN_NOTHING, 1, 0, ""));
    }

    /// @notice Run every call of `selector` on `target` and record it (caller, arguments, return
    /// data). Arming again clears the record; disarming keeps it readable.
    function record(address target, bytes4 selector) internal {
        arm(target, selector, Fault(FaultKind.RECORD, 1, 0, ""));
    }

    /// @notice The calls of `selector` on `target` recorded since it was armed, in the order they
    /// were made (calls that reverted are not among them: their entries rolled back with them).
    function recorded(address target, bytes4 selector) internal returns (RecordedCall[] memory) {
        VM.prank(ADMIN);
        return IFaultProxyAdmin(target).faultProxyRecords(selector);
    }

    /// @notice Let `nth - 1` calls through, then fail every call with a reason string.
    function failFromNth(address target, bytes4 selector, uint32 nth, string memory reason) internal {
        arm(target, selector, Fault(FaultKind.REVERT_REASON, nth, 0, bytes(reason)));
    }
}
