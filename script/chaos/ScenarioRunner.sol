// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {Check, ScenarioResult} from "./ScenarioTypes.sol";
import {ChaosWorld, World} from "./ChaosWorld.sol";
import {ScenarioGroup, ScenarioRegistry} from "./ScenarioRegistry.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";
import {DeployVault} from "../lib/DeployVault.sol";
import {VaultProbes} from "./Probes.sol";

/// @notice Deploys the vault a scenario runs against. The default deploys the real vault with
/// DeployVault; tests pass deliberately broken variants to show the scenarios catch them.
interface IVaultFactory {
    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault);
}

/// @notice What the runner calls on a scenario group (ScenarioBase implements it).
interface IScenarioGroup {
    function run(string calldata id) external returns (ScenarioResult memory);
}

/// @notice Why a scenario did not return a result: the runner's step that reverted ("deploying
/// the vault", "deploying the scenario group", "running the scenario") and the raw revert data,
/// which the xtask decodes with the ABIs in out/ (Panic, Error(string), custom errors).
struct ScenarioRevert {
    bool reverted;
    string step;
    bytes data;
}

/// @notice The vault as the team ships it (script/lib/DeployVault.sol).
contract DefaultVaultFactory is IVaultFactory {
    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        return DeployVault.deploy(a, cfg);
    }
}

/// @notice The runner's side of `ScenarioSteps`: deploys a scenario group.
interface IScenarioGroupDeployer {
    function deployScenarioGroup(uint256 group, YieldVault vault) external returns (IScenarioGroup);
}

/// @notice One scenario's steps in a frame of their own, so that the runner can catch a revert in
/// any of them (forge forbids a script contract from calling itself: `address(this)`).
contract ScenarioSteps {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// The steps of one scenario, as `ScenarioRevert.step` names them.
    string internal constant STEP_VAULT = "deploying the vault";
    string internal constant STEP_GROUP = "deploying the scenario group";
    string internal constant STEP_RUN = "running the scenario";

    /// A step of one scenario reverted with `data` (see ScenarioRevert).
    error ScenarioStepReverted(string step, bytes data);

    /// @notice The vault (`attached`, or one from `factory`), the scenario group (deployed by the
    /// caller, a runner), then the scenario. A revert is re-raised as
    /// `ScenarioStepReverted(step, data)`.
    function run(
        string calldata id,
        uint256 group,
        IVaultFactory factory,
        YieldVault attached,
        VaultAddresses calldata addresses,
        Config calldata cfg
    ) external returns (ScenarioResult memory r) {
        YieldVault vault = attached;
        if (address(vault) == address(0)) {
            try factory.deployVault(addresses, cfg) returns (YieldVault v) {
                vault = v;
            } catch (bytes memory data) {
                revert ScenarioStepReverted(STEP_VAULT, data);
            }
        }
        IScenarioGroup g;
        try IScenarioGroupDeployer(msg.sender).deployScenarioGroup(group, vault) returns (
            IScenarioGroup created
        ) {
            g = created;
        } catch (bytes memory data) {
            revert ScenarioStepReverted(STEP_GROUP, data);
        }
        try g.run(id) returns (ScenarioResult memory done) {
            r = done;
        } catch (bytes memory data) {
            revert ScenarioStepReverted(STEP_RUN, data);
        }
    }

    /// @notice Ends the pranks of this call depth and the `levels - 1` depths below it (forge keys
    /// pranks by the depth that started them).
    function endPranks(uint256 levels) external {
        VM.stopPrank();
        if (levels > 1) this.endPranks(levels - 1);
    }
}

/// @title ScenarioRunner
/// @notice The machinery around the scenario catalogue (ScenarioRegistry): builds the world once (local
/// replicas, or the address book's dependencies on a fork), then runs each scenario against a
/// fresh vault inside a state snapshot, so several scenarios share one fork without seeing each
/// other.
/// @dev Isolation. A state snapshot restores accounts, storage, code and the block environment
/// (number, timestamp, base fee, chain id), but not the transaction environment nor forge's
/// cheatcode state: `vm.txGasPrice`, pranks (kept per call depth), mocked calls, log and access
/// recording, paused gas metering and broadcasts all survive `vm.revertToState`. One scenario
/// that set `vm.txGasPrice(0)` changed the bounty, NAV and state digest of every scenario that ran
/// after it. So the runner puts all of these back to one fixed starting point before each scenario
/// (`_resetEnvironment`), and a scenario's result never depends on what ran before it in the batch.
/// Not reset, for want of a cheatcode that would: pending `vm.expect*` expectations, `vm.setEnv`,
/// `vm.mockFunction`, labels and `vm.setArbitraryStorage` (no scenario uses them).
/// Each scenario also runs behind a try/catch: a revert ends that scenario alone (a failed
/// `scenario_completed` check and a `ScenarioRevert` with the step and revert data), never the batch.
abstract contract ScenarioRunner {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// Set to `true` to run against the vault named by the address book instead of a fresh one.
    string internal constant ATTACH_VAULT_ENV = "CHAOS_ATTACH_VAULT";

    /// `tx.gasprice` every scenario starts with. forge starts a fork script with the upstream's
    /// gas price at launch (not the pinned block's), so it is fixed here: BSC's long-standing
    /// minimum of 1 gwei.
    uint256 internal constant SCENARIO_GAS_PRICE = 1 gwei;

    /// Call depths below the runner whose pranks are ended after each scenario (forge keys pranks
    /// by the depth that started them; scenario groups run two frames below the runner).
    uint256 internal constant PRANK_SWEEP_DEPTH = 32;

    error UnknownScenario(string id);
    error OnlyTheSteps();

    World internal _world;
    bool internal _worldReady;
    IVaultFactory internal _defaultFactory;
    ScenarioSteps internal _steps;
    /// CHAOS_ATTACH_VAULT, read once with the world (a scenario's `vm.setEnv` cannot change it).
    bool internal _attachVault;
    /// The factory of the scenario that runs now (set inside its snapshot): a scenario that
    /// probes deployment (configuration validation) deploys more vaults of the same code with it.
    IVaultFactory internal _activeFactory;
    /// The probes every scenario group may run (Probes.sol), deployed once with the world.
    VaultProbes internal _probes;

    /// @notice Every scenario id, in catalogue order (script/chaos/README.md): the registry's
    /// first column. The xtask reads its catalogue from here (`chaos --list`).
    function scenarioIds() public pure returns (string[] memory) {
        return ScenarioRegistry.ids();
    }

    /// @notice The group that runs `id`, from the registry; reverts with `UnknownScenario(id)`.
    function _groupOf(string memory id) internal pure returns (uint256) {
        (bool known, ScenarioGroup g) = ScenarioRegistry.groupOf(id);
        if (!known) revert UnknownScenario(id);
        return uint256(g);
    }

    /// @notice Builds the world once: on a fork (CHAOS_ADDRESS_BOOK set) attach to the book's
    /// dependencies, otherwise deploy the local replicas.
    function _prepareWorld() internal {
        if (_worldReady) return;
        if (ChaosWorld.wantsAddressBook()) {
            _world = ChaosWorld.attach(VM.envString(ChaosWorld.ADDRESS_BOOK_ENV));
        } else {
            _world = ChaosWorld.deployLocal();
        }
        _defaultFactory = new DefaultVaultFactory();
        _steps = new ScenarioSteps();
        _probes = new VaultProbes();
        _attachVault = VM.envOr(ATTACH_VAULT_ENV, false);
        _worldReady = true;
    }

    /// @notice The vault factory `run`, `runScenario` and `runScenarios` use.
    function _factory() internal virtual returns (IVaultFactory) {
        _prepareWorld();
        return _defaultFactory;
    }

    /// @notice The vault factory of the scenario running now (zero outside a scenario).
    function activeFactory() external view returns (IVaultFactory) {
        return _activeFactory;
    }

    /// @notice The probes the scenario groups run (VaultProbes, deployed with the world).
    function probes() external view returns (VaultProbes) {
        return _probes;
    }

    function world() public returns (World memory) {
        _prepareWorld();
        return _world;
    }

    /// @notice Runs `id` against a vault from `factory` and leaves no trace: the state and the
    /// cheatcode environment are restored afterwards. A scenario that reverts comes back as not
    /// held, with a failed `scenario_completed` check.
    function runScenarioAgainst(string memory id, IVaultFactory factory)
        internal
        returns (ScenarioResult memory r)
    {
        (r,) = _runIsolated(id, factory);
    }

    /// @notice One scenario from the batch's common starting point, and how it reverted if it did.
    function _runIsolated(string memory id, IVaultFactory factory)
        internal
        returns (ScenarioResult memory r, ScenarioRevert memory failure)
    {
        _dispatch(id); // unknown ids fail before anything runs
        _prepareWorld();
        _resetEnvironment();
        uint256 snap = VM.snapshotState();
        _activeFactory = factory;
        YieldVault attached;
        if (address(factory) == address(_defaultFactory) && _attachVault) {
            attached = YieldVault(_world.bookVault);
        }
        try _steps.run(
            id,
            _dispatch(id),
            factory,
            attached,
            ChaosWorld.vaultAddresses(_world),
            DeployVault.defaultConfig()
        ) returns (
            ScenarioResult memory done
        ) {
            r = done;
        } catch (bytes memory data) {
            failure = _revertOf(data);
            r = _revertedResult(id);
        }
        VM.revertToStateAndDelete(snap);
        _resetEnvironment();
    }

    /// @notice Deploys the scenario group `group` against `vault`, for `ScenarioSteps` only.
    function deployScenarioGroup(uint256 group, YieldVault vault) external returns (IScenarioGroup) {
        if (msg.sender != address(_steps)) revert OnlyTheSteps();
        return _newGroup(group, vault);
    }

    /// @notice The group a scenario id belongs to; tests add their own groups by overriding this
    /// and `_newGroup`.
    function _dispatch(string memory id) internal view virtual returns (uint256) {
        return _groupOf(id);
    }

    function _newGroup(uint256 group, YieldVault vault) internal virtual returns (IScenarioGroup g) {
        string memory name;
        (g, name) = ScenarioRegistry.deploy(ScenarioGroup(group), _world, vault);
        // Named in forge's traces (which the xtask reads to say where a revert came from): the
        // groups share most of their code, so forge cannot tell them apart by bytecode.
        VM.label(address(g), name);
    }

    /// @notice The step and revert data of a scenario that reverted.
    function _revertOf(bytes memory data) internal pure returns (ScenarioRevert memory f) {
        f.reverted = true;
        if (data.length >= 4 && bytes4(data) == ScenarioSteps.ScenarioStepReverted.selector) {
            bytes memory args = new bytes(data.length - 4);
            for (uint256 i; i < args.length; ++i) {
                args[i] = data[i + 4];
            }
            (f.step, f.data) = abi.decode(args, (string, bytes));
        } else {
            // The runner's own frame failed (out of gas, for one): no step to name.
            f.step = "running the scenario steps";
            f.data = data;
        }
    }

    /// @notice A scenario that reverted: not held, with one failed check that says so.
    function _revertedResult(string memory id) internal pure returns (ScenarioResult memory r) {
        r.id = id;
        r.checks = new Check[](1);
        r.checks[0] =
            Check({name: "scenario_completed", observed: 0, bound: 1, relation: "==", passed: false});
    }

    /// @notice Puts the transaction and cheatcode environment back to the one every scenario
    /// starts from: what `vm.revertToState` does not restore (see the contract's notes).
    function _resetEnvironment() internal {
        VM.txGasPrice(SCENARIO_GAS_PRICE);
        _steps.endPranks(PRANK_SWEEP_DEPTH);
        VM.clearMockedCalls();
        // Log recording on and empty (getRecordedLogs returns only what the scenario emits).
        VM.recordLogs();
        // Storage-access recording off, with nothing recorded.
        VM.record();
        VM.stopRecord();
        VM.resumeGasMetering();
        VM.noAccessList();
        // A broadcast left running would turn the next scenario's calls into transactions;
        // stopBroadcast reverts when none runs, hence the low-level call.
        (bool stopped,) = address(VM).call(abi.encodeWithSignature("stopBroadcast()"));
        stopped;
    }

    function _runAll(string[] memory ids, IVaultFactory factory)
        internal
        returns (ScenarioResult[] memory out)
    {
        for (uint256 i; i < ids.length; ++i) {
            _dispatch(ids[i]);
        }
        out = new ScenarioResult[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            out[i] = runScenarioAgainst(ids[i], factory);
        }
    }

    /// @notice Like `_runAll`, with how each scenario reverted (`reverted` false when it did not).
    function _runBatch(string[] memory ids, IVaultFactory factory)
        internal
        returns (ScenarioResult[] memory out, ScenarioRevert[] memory reverts)
    {
        for (uint256 i; i < ids.length; ++i) {
            _dispatch(ids[i]);
        }
        out = new ScenarioResult[](ids.length);
        reverts = new ScenarioRevert[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            (out[i], reverts[i]) = _runIsolated(ids[i], factory);
        }
    }
}
