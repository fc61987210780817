// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CycleModule} from "../../../contracts/vault/CycleModule.sol";
import {VaultCore} from "../../../contracts/vault/VaultCore.sol";
import {YieldVault} from "../../../contracts/vault/YieldVault.sol";
import {IERC20} from "../../../contracts/interfaces/IERC20.sol";
import {TwapOracle} from "../../../contracts/vault/TwapOracle.sol";
import {VaultMath} from "../../../contracts/vault/VaultMath.sol";
import {
    Config,
    CyclePath,
    OracleReading,
    RiskMode,
    VaultAddresses
} from "../../../contracts/vault/VaultTypes.sol";
import {IVaultFactory} from "../../../script/chaos/ScenarioRunner.sol";
import {DeployVault} from "../../../script/lib/DeployVault.sol";
import {Vm} from "forge-std/Vm.sol";

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

/// @notice An oracle that answers `price()` with the pool's spot instead of the TWAP; every other
/// call goes to the vault's real oracle. Installed by SpotValuedModule between cycles.
contract SpotPriceOracle {
    TwapOracle public immutable spotOracleInner;

    constructor(TwapOracle inner) {
        spotOracleInner = inner;
    }

    /// @notice The defect: the valuation price is the manipulable spot.
    function price() external view returns (uint256) {
        return spotOracleInner.spot();
    }

    fallback() external {
        address inner = address(spotOracleInner);
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := staticcall(gas(), inner, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @notice The vault's views (nav, legs, deposits, withdrawals, redemptions) value the LP leg,
/// loose BTCB and the hedge at the pool's spot price instead of the TWAP; the cycle itself
/// still decides at the TWAP. A classic defect: anyone who can move the pool within a block
/// can move the share price.
contract SpotValuedModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        address current = address(_oracle);
        (bool ok, bytes memory ret) = current.staticcall(abi.encodeWithSignature("spotOracleInner()"));
        bool wrapped = ok && ret.length == 32;
        if (wrapped) _oracle = TwapOracle(abi.decode(ret, (address)));
        (path, bounty) = _realCycle();
        _oracle = TwapOracle(wrapped ? current : address(new SpotPriceOracle(_oracle)));
    }
}

/// @notice ONLY_UNWIND "gets out at any price": while the vault unwinds, its swaps (and the other
/// minimums derived from swapSlippageBps) accept 99% slippage, so the BTCB sale goes through
/// whatever the pool pays.
contract UnwindWithoutMinimumModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        OracleReading memory r = _oracle.read();
        bool unwinding =
            _riskMode == RiskMode.ONLY_UNWIND || !r.ready || r.stale || r.deviationBps > _cfg.maxDeviationBps;
        if (!unwinding) return _realCycle();
        uint16 slippage = _cfg.swapSlippageBps;
        _cfg.swapSlippageBps = 9900;
        (path, bounty) = _realCycle();
        _cfg.swapSlippageBps = slippage;
    }
}

/// @notice A cycle that did nothing still pays its caller the gas refund (the "no work, no
/// bounty" rule forgotten); the payment is reported as the cycle's bounty, within both caps.
contract IdleBountyModule is BrokenModule {
    using VaultMath for uint256;

    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        (path, bounty) = _realCycle();
        if (path != CyclePath.IDLE || bounty != 0) return (path, bounty);
        uint256 nav = _legs(_oracle.price()).nav;
        bounty = _gasRefundUsd();
        uint256 navCap = nav * _cfg.maxBountyBps / BPS;
        if (bounty > navCap) bounty = navCap;
        if (bounty == 0) return (path, 0);
        _push(msg.sender, bounty);
        _last.bounty = bounty;
        _last.navAfter -= bounty;
        _last.sharePrice = _toAssets(ONE_SHARE, nav - bounty, false);
        _usdtAtCycleEnd = _usdt.balanceOf(address(this));
        emit BountyPaid(msg.sender, bounty, navCap, bounty * 3 / 2);
    }
}

/// @notice The share-price trigger disabled: every cycle runs as if maxNavDropBps were 100%, so
/// a loss that does not move the pool never puts the vault in ONLY_UNWIND.
contract NavDropIgnoredModule is BrokenModule {
    constructor(VaultAddresses memory a) BrokenModule(a) {}

    function cycle() external override returns (CyclePath path, uint256 bounty) {
        uint16 trigger = _cfg.maxNavDropBps;
        _cfg.maxNavDropBps = 10_000;
        (path, bounty) = _realCycle();
        _cfg.maxNavDropBps = trigger;
    }
}

/// @notice Which defect a BrokenVaultFactory builds into the vault. New defects are appended:
/// the xtask's tests select them by index (CHAOS_BROKEN_DEFECT).
enum Defect {
    GUARD_DISABLED,
    BOUNTY_IGNORES_MAX_GAS_PRICE,
    FLASH_CAP_IGNORED,
    COOLDOWN_IGNORED,
    CLOSE_FAILURE_SWALLOWED,
    SECOND_HEDGE_OPENED,
    SPOT_VALUED_VIEWS,
    UNWIND_WITHOUT_MINIMUM,
    IDLE_CYCLE_BOUNTY,
    NO_VIRTUAL_SHARES,
    NAV_DROP_IGNORED
}

/// @notice The real vault with its share arithmetic's virtual offset taken out: its code, as
/// deployed, with `_totalSupply + 10 ** DECIMALS_OFFSET` turned into `_totalSupply + 10 ** 0`
/// at the four places the front converts between shares and assets (deposit, mint, withdraw,
/// redeem and every preview). The classic first-depositor vulnerability: a donation can make
/// one share unit worth more than a victim's deposit. The cycle module is untouched.
library NoVirtualShares {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error PatchSitesNotFound(uint256 found);

    /// PUSH1 6, PUSH1 10, PUSH2 <exp helper>, JUMP, JUMPDEST, PUSH1 2 (the supply's slot), SLOAD:
    /// 10 ** 6 computed right before the supply is loaded.
    function patch(address vault) internal {
        bytes memory code = vault.code;
        uint256 found;
        for (uint256 i; i + 12 <= code.length; ++i) {
            if (
                code[i] == 0x60 && code[i + 1] == 0x06 && code[i + 2] == 0x60 && code[i + 3] == 0x0a
                    && code[i + 4] == 0x61 && code[i + 7] == 0x56 && code[i + 8] == 0x5b
                    && code[i + 9] == 0x60 && code[i + 10] == 0x02 && code[i + 11] == 0x54
            ) {
                code[i + 1] = 0x00;
                found++;
            }
        }
        if (found != 4) revert PatchSitesNotFound(found);
        VM.etch(vault, code);
    }
}

/// @notice Deploys the real YieldVault bound to the broken module of `defect`.
contract BrokenVaultFactory is IVaultFactory {
    Defect public immutable defect;

    constructor(Defect d) {
        defect = d;
    }

    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        if (defect == Defect.NO_VIRTUAL_SHARES) {
            YieldVault v = DeployVault.deploy(a, cfg);
            NoVirtualShares.patch(address(v));
            return v;
        }
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
        } else if (defect == Defect.SECOND_HEDGE_OPENED) {
            module = address(new SecondHedgeModule(a));
        } else if (defect == Defect.SPOT_VALUED_VIEWS) {
            module = address(new SpotValuedModule(a));
        } else if (defect == Defect.UNWIND_WITHOUT_MINIMUM) {
            module = address(new UnwindWithoutMinimumModule(a));
        } else if (defect == Defect.IDLE_CYCLE_BOUNTY) {
            module = address(new IdleBountyModule(a));
        } else {
            module = address(new NavDropIgnoredModule(a));
        }
        return new YieldVault(a, cfg, module);
    }
}
