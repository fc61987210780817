// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Vm, VmSafe} from "forge-std/Vm.sol";
import {Check, ScenarioResult} from "../../script/chaos/ScenarioTypes.sol";
import {
    IScenarioGroup,
    IVaultFactory,
    ScenarioRevert,
    ScenarioRunner,
    ScenarioSteps
} from "../../script/chaos/ScenarioRunner.sol";
import {ForkChaosScenarios} from "../../script/ForkChaosScenarios.s.sol";
import {ScenarioBase} from "../../script/chaos/ScenarioBase.sol";
import {CycleModule} from "../../contracts/vault/CycleModule.sol";
import {VaultCore} from "../../contracts/vault/VaultCore.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config, CyclePath, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

// ------------------------------------------------------------------ a vault that reverts

/// @notice A vault with a computation that reverts: its keeper module subtracts a 10,000 USDT
/// minimum from the NAV before every cycle, which underflows (Panic 0x11) in a vault smaller than
/// that. Only `gas_spike` builds such a vault (its 5,000 USDT case), and there the baseline's first
/// cycle reverts: the scenario must end alone, as disproved with the panic, and the others of the
/// batch run and hold.
contract SmallVaultPanicModule is VaultCore {
    address public immutable inner;
    bytes32 public immutable binding;

    constructor(VaultAddresses memory a) VaultCore(a) {
        inner = address(new CycleModule(a));
        binding = keccak256(abi.encode(a));
    }

    function cycle() external returns (CyclePath path, uint256 bounty) {
        uint256 headroom = YieldVault(address(this)).nav() - 10_000e18;
        headroom;
        (path, bounty) = abi.decode(_delegate(), (CyclePath, uint256));
    }

    function pancakeCall(address, uint256, uint256, bytes calldata) external {
        _delegate();
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

contract SmallVaultPanicFactory is IVaultFactory {
    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        return new YieldVault(a, cfg, address(new SmallVaultPanicModule(a)));
    }
}

/// @notice The scenario script against that vault, for the xtask's end-to-end test:
/// `cargo xtask chaos --scenario-script test/chaos/ScenarioIsolation.t.sol:SmallVaultPanicScenarios`.
contract SmallVaultPanicScenarios is ForkChaosScenarios {
    function _factory() internal override returns (IVaultFactory) {
        _prepareWorld();
        return new SmallVaultPanicFactory();
    }
}

// ------------------------------------------------------------------ environment probes

/// @notice A call target whose answers show the cheatcode environment a scenario sees.
contract Probe {
    uint256 public stored = 1;

    event Poked(uint256 n);

    function sender() external view returns (address) {
        return msg.sender;
    }

    function value() external view returns (uint256) {
        return stored;
    }

    function poke() external {
        stored += 1;
        emit Poked(stored);
    }
}

/// @notice Changes everything a scenario can change that a state snapshot does not restore (and
/// some it does), then returns or reverts. Isolation means no trace of it reaches the next scenario.
contract LeakyGroup is IScenarioGroup {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    Probe internal immutable probe;

    error Boom(uint256 code);

    constructor(Probe p) {
        probe = p;
    }

    function run(string calldata id) external returns (ScenarioResult memory r) {
        vm.txGasPrice(777 gwei);
        vm.warp(block.timestamp + 3 days);
        vm.roll(block.number + 1000);
        vm.fee(99 gwei);
        vm.chainId(31_337);
        vm.coinbase(address(0xC0FFEE));
        vm.prevrandao(bytes32(uint256(7)));
        vm.mockCall(address(probe), abi.encodeWithSelector(Probe.value.selector), abi.encode(uint256(666)));
        vm.recordLogs();
        probe.poke(); // a log recorded and never read
        vm.record();
        probe.value(); // a storage access recorded
        vm.store(address(probe), bytes32(0), bytes32(uint256(41)));
        vm.deal(address(probe), 5 ether);
        vm.etch(address(0xE7C4), hex"00");
        vm.startPrank(address(0xBAD), address(0xBAD0));
        probe.poke(); // the prank is used (so the next one could not simply overwrite it)
        vm.pauseGasMetering();
        if (keccak256(bytes(id)) == keccak256("leak_and_revert")) revert Boom(42);
        r.id = id;
        r.held = true;
        r.checks = new Check[](1);
        r.checks[0] = Check("leaked", 1, 1, "==", true);
    }
}

/// @notice Reads the environment: every value becomes a check (observed), so two results are
/// equal exactly when the environments were.
contract ProbeGroup is IScenarioGroup {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    Probe internal immutable probe;

    constructor(Probe p) {
        probe = p;
    }

    function _check(Check[] memory checks, uint256 i, string memory name, int256 observed) internal pure {
        checks[i] = Check(name, observed, 0, "==", true);
    }

    function run(string calldata id) external returns (ScenarioResult memory r) {
        Check[] memory c = new Check[](17);
        // Cold access first: a warm account would cost less.
        uint256 g = gasleft();
        probe.value();
        _check(c, 0, "cold_call_gas", int256(g - gasleft()));
        _check(c, 1, "tx_gasprice", int256(tx.gasprice));
        _check(c, 2, "block_timestamp", int256(block.timestamp));
        _check(c, 3, "block_number", int256(block.number));
        _check(c, 4, "block_basefee", int256(block.basefee));
        _check(c, 5, "block_chainid", int256(block.chainid));
        _check(c, 6, "block_coinbase", int256(uint256(uint160(address(block.coinbase)))));
        _check(c, 7, "block_prevrandao", int256(block.prevrandao % 1e18));
        _check(c, 8, "tx_origin", int256(uint256(uint160(tx.origin))));
        _check(c, 9, "callee_sees_sender", int256(uint256(uint160(probe.sender()))));
        _check(c, 10, "probe_value", int256(probe.value()));
        _check(c, 11, "probe_balance", int256(address(probe).balance));
        _check(c, 12, "etched_code_size", int256(address(0xE7C4).code.length));
        (bytes32[] memory reads,) = vm.accesses(address(probe));
        _check(c, 13, "recorded_accesses", int256(reads.length));
        probe.poke();
        _check(c, 14, "recorded_logs", int256(vm.getRecordedLogs().length));
        (VmSafe.CallerMode mode,,) = vm.readCallers();
        _check(c, 15, "caller_mode", int256(uint256(mode)));
        g = gasleft();
        probe.value();
        _check(c, 16, "warm_call_gas", int256(g - gasleft()));
        r.id = id;
        r.held = true;
        r.checks = c;
        r.cycles = 1;
    }
}

/// @notice The runner with two test groups: `leak_everything` / `leak_and_revert` (group 100) and
/// `probe_environment` (group 101), next to the catalogue.
contract IsolationRunner is ScenarioRunner {
    Probe public probe;

    constructor() {
        probe = new Probe();
    }

    function _dispatch(string memory id) internal view override returns (uint256) {
        bytes32 h = keccak256(bytes(id));
        if (h == keccak256("leak_everything") || h == keccak256("leak_and_revert")) return 100;
        if (h == keccak256("probe_environment")) return 101;
        return _groupOf(id);
    }

    function _newGroup(uint256 group, YieldVault vault) internal override returns (IScenarioGroup) {
        if (group == 100) return new LeakyGroup(probe);
        if (group == 101) return new ProbeGroup(probe);
        return super._newGroup(group, vault);
    }

    function batch(string[] memory ids)
        external
        returns (ScenarioResult[] memory results, ScenarioRevert[] memory reverts)
    {
        return _runBatch(ids, _factory());
    }

    function batchAgainst(string[] memory ids, IVaultFactory factory)
        external
        returns (ScenarioResult[] memory results, ScenarioRevert[] memory reverts)
    {
        _prepareWorld();
        return _runBatch(ids, factory);
    }
}

// ------------------------------------------------------------------ tests

/// @notice Every scenario starts from the same state and cheatcode environment, whatever ran
/// before it in the batch; a scenario that reverts ends alone, with its reason.
contract ScenarioIsolationTest is Test {
    IsolationRunner internal runner;

    function setUp() public {
        runner = new IsolationRunner();
    }

    function _ids(string memory a) internal pure returns (string[] memory ids) {
        ids = new string[](1);
        ids[0] = a;
    }

    function _ids(string memory a, string memory b) internal pure returns (string[] memory ids) {
        ids = new string[](2);
        ids[0] = a;
        ids[1] = b;
    }

    function _ids(string memory a, string memory b, string memory c)
        internal
        pure
        returns (string[] memory ids)
    {
        ids = new string[](3);
        ids[0] = a;
        ids[1] = b;
        ids[2] = c;
    }

    function _probeAlone() internal returns (ScenarioResult memory) {
        (ScenarioResult[] memory rs,) = runner.batch(_ids("probe_environment"));
        return rs[0];
    }

    function _assertSameProbe(ScenarioResult memory got, ScenarioResult memory want) internal pure {
        assertEq(got.checks.length, want.checks.length);
        for (uint256 i; i < want.checks.length; ++i) {
            assertEq(got.checks[i].observed, want.checks[i].observed, want.checks[i].name);
        }
        assertEq(keccak256(abi.encode(got)), keccak256(abi.encode(want)));
    }

    /// The starting point is the runner's, not forge's: a fixed gas price, no prank, no mock,
    /// log recording on and empty, no recorded storage access.
    function test_everyScenarioStartsFromTheRunnersEnvironment() public {
        ScenarioResult memory p = _probeAlone();
        assertEq(p.checks[1].observed, 1 gwei, "tx.gasprice");
        assertEq(p.checks[10].observed, 1, "the probe's own storage, unmocked");
        assertEq(p.checks[12].observed, 0, "nothing etched");
        assertEq(p.checks[13].observed, 0, "no storage access recorded");
        // Recording on from the scenario's first step: the vault's deployment and the probe's log.
        assertGe(p.checks[14].observed, 1, "log recording is on");
        assertEq(p.checks[15].observed, int256(uint256(VmSafe.CallerMode.None)), "no prank");
        assertGt(p.checks[0].observed, p.checks[16].observed, "the first call is cold");
    }

    /// What one scenario changed (gas price, block, chain id, pranks, mocks, recordings, storage,
    /// code, balances, gas metering) is gone for the next one.
    function test_aScenarioSeesNothingOfTheOneBefore() public {
        ScenarioResult memory alone = _probeAlone();
        (ScenarioResult[] memory after_,) = runner.batch(_ids("leak_everything", "probe_environment"));
        assertTrue(after_[0].held);
        _assertSameProbe(after_[1], alone);
    }

    /// The same when the scenario before reverted half-way (its leaks were never cleaned up by
    /// its own code).
    function test_aRevertedScenarioLeavesNothingBehind() public {
        ScenarioResult memory alone = _probeAlone();
        (ScenarioResult[] memory rs, ScenarioRevert[] memory reverts) =
            runner.batch(_ids("leak_and_revert", "probe_environment", "leak_everything"));
        assertFalse(rs[0].held);
        assertTrue(reverts[0].reverted);
        assertEq(reverts[0].step, "running the scenario");
        assertEq(reverts[0].data, abi.encodeWithSelector(LeakyGroup.Boom.selector, 42));
        assertEq(rs[0].checks.length, 1);
        assertEq(rs[0].checks[0].name, "scenario_completed");
        assertFalse(rs[0].checks[0].passed);
        _assertSameProbe(rs[1], alone);
        assertTrue(rs[2].held && !reverts[2].reverted, "the batch went on");
    }

    /// A real scenario gives the same result alone, after every other one, and before them.
    function test_aRealScenarioIsTheSameAloneAndInABatch() public {
        (ScenarioResult[] memory alone,) = runner.batch(_ids("stale_bnb_feed"));
        (ScenarioResult[] memory afterSpike,) =
            runner.batch(_ids("gas_spike", "leak_everything", "stale_bnb_feed"));
        (ScenarioResult[] memory first,) = runner.batch(_ids("stale_bnb_feed", "gas_spike"));
        assertTrue(alone[0].held);
        assertEq(keccak256(abi.encode(afterSpike[2])), keccak256(abi.encode(alone[0])));
        assertEq(keccak256(abi.encode(first[0])), keccak256(abi.encode(alone[0])));
        assertEq(afterSpike[2].cycleGas, alone[0].cycleGas);
        assertEq(afterSpike[2].digestBefore, alone[0].digestBefore);
    }

    /// `flash_shortfall` etches a recording proxy over the router and records the vault's calls
    /// in its storage, inside each case's state snapshot: the scenario after it in a batch
    /// starts from the same state as alone (forge's state-diff recording, used there before,
    /// leaked past `vm.revertToState`).
    function test_theRouterRecordingLeavesNothingForTheNextScenario() public {
        (ScenarioResult[] memory alone,) = runner.batch(_ids("stale_bnb_feed"));
        (ScenarioResult[] memory afterFlash,) = runner.batch(_ids("flash_shortfall", "stale_bnb_feed"));
        assertTrue(alone[0].held);
        assertEq(keccak256(abi.encode(afterFlash[1])), keccak256(abi.encode(alone[0])));
        assertEq(afterFlash[1].cycleGas, alone[0].cycleGas);
    }

    /// A vault computation that panics in one scenario: that scenario is disproved with the
    /// panic (wrapped by the baseline's SetupCycleFailed) and the step; the others run and hold.
    function test_aRevertingVaultEndsOneScenarioOnly() public {
        (ScenarioResult[] memory rs, ScenarioRevert[] memory reverts) = runner.batchAgainst(
            _ids("oracle_divergence", "gas_spike", "stale_bnb_feed"), new SmallVaultPanicFactory()
        );
        assertTrue(rs[0].held, "oracle_divergence");
        assertTrue(rs[2].held, "stale_bnb_feed");
        assertFalse(reverts[0].reverted);
        assertFalse(reverts[2].reverted);
        assertFalse(rs[1].held, "gas_spike");
        assertTrue(reverts[1].reverted);
        assertEq(reverts[1].step, "running the scenario");
        bytes memory panic = abi.encodeWithSignature("Panic(uint256)", 0x11);
        assertEq(reverts[1].data, abi.encodeWithSelector(ScenarioBase.SetupCycleFailed.selector, panic));
        assertEq(rs[1].id, "gas_spike");
        assertEq(rs[1].checks[0].name, "scenario_completed");
    }

    /// A factory that cannot deploy the vault ends each scenario at that step, with its reason.
    function test_aVaultThatCannotBeDeployedIsNamedAsSuch() public {
        (ScenarioResult[] memory rs, ScenarioRevert[] memory reverts) =
            runner.batchAgainst(_ids("gas_spike", "oracle_divergence"), new UndeployableFactory());
        for (uint256 i; i < 2; ++i) {
            assertFalse(rs[i].held);
            assertEq(reverts[i].step, "deploying the vault");
            assertEq(reverts[i].data, abi.encodeWithSignature("Error(string)", "no vault today"));
        }
    }
}

contract UndeployableFactory is IVaultFactory {
    function deployVault(VaultAddresses calldata, Config calldata) external pure returns (YieldVault) {
        revert("no vault today");
    }
}
