// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CycleModule} from "../../../contracts/vault/CycleModule.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {IERC20} from "../../../contracts/interfaces/IERC20.sol";
import {Config, CyclePath, RiskMode, VaultAddresses} from "../../../contracts/vault/VaultTypes.sol";
import {IVaultFactory} from "../../../script/chaos/ScenarioRunner.sol";

/// @notice Deliberately broken vaults for the chaos suite's own tests: the real YieldVault bound
/// to a keeper module that wraps the real CycleModule with one defect. The vault's functions
/// are not virtual (and the keeper logic is private in CycleModule), so the defects sit in a
/// module that YieldVault runs by delegatecall: same storage, same code path, one fault. Each
/// defect keeps `getConfig()` truthful, so a scenario that reads its bounds from the config
/// still holds the vault to the shipped parameters.
abstract contract BrokenModule is VaultCore {
    /// The real keeper logic, reached by a nested delegatecall (still in the vault's context).
    address public immutable inner;
    /// What YieldVault's constructor checks: the module was built for these dependencies.
    bytes32 public immutable binding;

    constructor(VaultAddresses memory a) VaultCore(a) {
        inner = address(new CycleModule(a));
        binding = keccak256(abi.encode(a));
    }

    function cycle() external virtual returns (CyclePath path, uint256 bounty) {
        return _realCycle();
    }

    function pancakeCall(address, uint256, uint256, bytes calldata) external {
        _delegate();
    }

    function _realCycle() internal returns (CyclePath path, uint256 bounty) {
        (path, bounty) = abi.decode(_delegate(), (CyclePath, uint256));
    }

    function _delegate() internal returns (bytes memory ret) {
        bool ok;
        (ok, ret) = inner.delegatecall(msg.data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

/// @notice The divergence guard disabled: every cycle runs as if maxDeviationBps were 100%.
contract GuardDisabledModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 guard = _cfg.maxDeviationBps;
        _cfg.maxDeviationBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.maxDeviationBps = guard;
    }
}

/// @notice The bounty ignores maxGasPrice: the gas refund uses tx.gasprice whatever it is.
contract UncappedGasBountyModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint64 cap = _cfg.maxGasPrice;
        _cfg.maxGasPrice = type(uint64).max;
        (path, bounty) = _realCycle();
        _cfg.maxGasPrice = cap;
    }
}

/// @notice The flash cap ignored: the whole need is borrowed, whatever the flash pair holds.
contract FlashCapIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 cap = _cfg.flashCapBps;
        _cfg.flashCapBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.flashCapBps = cap;
    }
}

/// @notice The ALP cooldown ignored: an unwinding vault burns its free ALP whether or not
/// Aster's cooldown is over (and Aster's revert takes the whole cycle down).
contract CooldownIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (path, bounty) = _realCycle();
        uint256 free = _alpFree();
        if (_riskMode == RiskMode.ONLY_UNWIND && free != 0) {
            alp.approve(address(_aster), free);
            _aster.burnAlp(address(_usdt), free, 0, address(this));
        }
    }
}

/// @notice A failing closeTrade swallowed: the cycle "succeeds" without closing the hedge.
contract CloseFailureSwallowedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (bool ok, bytes memory ret) = inner.delegatecall(msg.data);
        if (ok) return abi.decode(ret, (CyclePath, uint256));
        if (ret.length < 4 || bytes4(ret) != VaultCore.HedgeCloseFailed.selector) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        // Swallowed: the cycle counts as done, nothing else happened.
        _last.timestamp = uint64(block.timestamp);
        return (CyclePath.IDLE, 0);
    }
}

/// @notice A second hedge opened: the pending trade is forgotten before each cycle, so the
/// vault sends another one while Aster still holds the first.
contract SecondHedgeModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        delete _pending;
        return _realCycle();
    }
}

/// @notice Which defect a BrokenVaultFactory builds into the vault.
enum Defect {
    GUARD_DISABLED,
    BOUNTY_IGNORES_MAX_GAS_PRICE,
    FLASH_CAP_IGNORED,
    COOLDOWN_IGNORED,
    CLOSE_FAILURE_SWALLOWED,
    SECOND_HEDGE_OPENED
}

/// @notice Deploys the real YieldVault bound to the broken module of `defect`.
contract BrokenVaultFactory is IVaultFactory {
    Defect public immutable defect;

    constructor(Defect d) {
        defect = d;
    }

    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        address module;
        if (defect == Defect.GUARD_DISABLED) {
            module = address(new GuardDisabledModule(a));
        } else if (defect == Defect.BOUNTY_IGNORES_MAX_GAS_PRICE) {
            module = address(new UncappedGasBountyModule(a));
        } else if (defect == Defect.FLASH_CAP_IGNORED) {
            module = address(new FlashCapIgnoredModule(a));
        } else if (defect == Defect.COOLDOWN_IGNORED) {
            module = address(new CooldownIgnoredModule(a));
        } else if (defect == Defect.CLOSE_FAILURE_SWALLOWED) {
            module = address(new CloseFailureSwallowedModule(a));
        } else {
            module = address(new SecondHedgeModule(a));
        }
        return new YieldVault(a, cfg, module);
    }
}
