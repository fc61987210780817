// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ChaosWorld, World} from "../../script/chaos/ChaosWorld.sol";
import {ScenarioBase} from "../../script/chaos/ScenarioBase.sol";
import {ScenarioResult} from "../../script/chaos/ScenarioTypes.sol";
import {SteadyState, Snapshot, CheckList} from "../../script/chaos/SteadyState.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {OracleReading, RiskMode} from "../../contracts/vault/VaultTypes.sol";
import {BrokenVaultFactory, Defect} from "./broken/BrokenModules.sol";

/// @notice The first cycle of a fresh vault, `early` seconds before its oracle is ready (no
/// observation a whole twapWindow old) or, with early = 0, exactly when it becomes ready; judged
/// by the campaigns' S4 ghost state machine (docs/steady-state.md, S4).
contract OracleReadinessProbe is ScenarioBase {
    using SteadyState for CheckList;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external pure override returns (ScenarioResult memory) {
        revert UnknownScenario(id);
    }

    /// @return ghostHeld the S4 ghost agreed with the vault; ready the reading the cycle saw was
    /// ready; mode the risk mode after the cycle; deposited whether a deposit after it went in.
    function probe(uint256 early)
        external
        returns (bool ghostHeld, bool ready, RiskMode mode, bool deposited)
    {
        _fund(ALICE, BASE_DEPOSIT);
        _deposit(ALICE, BASE_DEPOSIT);
        _advance(cfg.twapWindow - early);
        SteadyState.Ghost memory g = SteadyState.Ghost(vault.riskMode(), vault.healthyCycleCount());
        OracleReading memory seen = vault.oracle().read();
        _mustCycle();
        Snapshot memory b = _measure();
        CheckList memory list;
        ghostHeld = list.ghostStep("", g, seen, b, cfg);
        ready = seen.ready;
        mode = b.mode;
        _fund(BOB, 1000e18);
        (deposited,) = _tryDeposit(BOB, 1000e18);
    }
}

/// @notice An outsider calls the vault's flash callback directly, naming all of the vault's LP
/// (what a flash step would unwind) and no loan; the vault must refuse and change nothing (S5).
contract FlashCallbackProbe is ScenarioBase {
    using SteadyState for CheckList;

    constructor(World memory world, YieldVault v) ScenarioBase(world, v) {}

    function run(string calldata id) external pure override returns (ScenarioResult memory) {
        revert UnknownScenario(id);
    }

    /// @return refused the call reverted; failed the names of the S5 checks that failed.
    function probe() external returns (bool refused, string[] memory failed) {
        _baseline(true);
        Snapshot memory a = _measure();
        uint256 lp = a.vaultLp;
        vm.prank(MALLORY);
        try vault.pancakeCall(address(vault), 0, 0, abi.encode(lp, uint256(0), uint256(0))) {}
        catch {
            refused = true;
        }
        Snapshot memory b = _measure();
        CheckList memory list;
        list.s5Unchanged("_outsider_callback", a, b);
        uint256 n;
        for (uint256 i; i < list.length; ++i) {
            if (!list.items[i].passed) n++;
        }
        failed = new string[](n);
        n = 0;
        for (uint256 i; i < list.length; ++i) {
            if (!list.items[i].passed) failed[n++] = list.items[i].name;
        }
    }
}

/// @title MechanismProbes
/// @notice Rows of the mechanism table (docs/steady-state.md) that no catalogue experiment
/// drives beyond their bound: each probe drives the mechanism on both sides against the vault,
/// and beyond it against the broken vault of that row, whose check must fail.
contract MechanismProbesTest is Test {
    World internal w;

    function setUp() public {
        w = ChaosWorld.deployLocal();
    }

    function _vault(bool broken, Defect d) internal returns (YieldVault) {
        if (!broken) return DeployVault.deploy(ChaosWorld.vaultAddresses(w), DeployVault.defaultConfig());
        return
            new BrokenVaultFactory(d).deployVault(ChaosWorld.vaultAddresses(w), DeployVault.defaultConfig());
    }

    /// Oracle not ready: one second early the first cycle unwinds (S4 ghost holds, deposits
    /// paused); exactly one twapWindow after deployment it is ready and NORMAL.
    function test_oracleNotReady_bothSides() public {
        uint256 snap = vm.snapshotState();
        YieldVault v = _vault(false, Defect.GUARD_DISABLED);
        (bool held, bool ready, RiskMode mode, bool deposited) = new OracleReadinessProbe(w, v).probe(1);
        assertTrue(held, "S4_ghost holds one second early");
        assertFalse(ready, "one second early the oracle is not ready");
        assertEq(uint256(mode), uint256(RiskMode.ONLY_UNWIND));
        assertFalse(deposited, "deposits paused");
        vm.revertToState(snap);
        v = _vault(false, Defect.GUARD_DISABLED);
        (held, ready, mode, deposited) = new OracleReadinessProbe(w, v).probe(0);
        assertTrue(held, "S4_ghost holds at the window");
        assertTrue(ready, "ready exactly one window after deployment");
        assertEq(uint256(mode), uint256(RiskMode.NORMAL));
        assertTrue(deposited);
    }

    /// ORACLE_NOT_READY_TRUSTED: the early cycle trusts the spot and stays NORMAL; S4_ghost fails.
    function test_oracleNotReadyTrusted_failsGhost() public {
        YieldVault v = _vault(true, Defect.ORACLE_NOT_READY_TRUSTED);
        (bool held, bool ready, RiskMode mode,) = new OracleReadinessProbe(w, v).probe(1);
        assertFalse(ready);
        assertFalse(held, "S4_ghost must disprove a vault that trusts an oracle not ready");
        assertEq(uint256(mode), uint256(RiskMode.NORMAL));
        assertGt(IERC20(w.lpPair).balanceOf(address(v)), 0, "the broken vault invested at the spot");
    }

    /// Flash callback guards: an outsider's call is refused and the vault unchanged (S5).
    function test_flashCallback_refusesOutsider() public {
        (bool refused, string[] memory failed) =
            new FlashCallbackProbe(w, _vault(false, Defect.GUARD_DISABLED)).probe();
        assertTrue(refused, "the outsider's callback is refused");
        assertEq(failed.length, 0, "S5: nothing changed");
    }

    /// FLASH_GUARDS_REMOVED: the outsider unwinds the vault's LP; S5 fails on the LP and digest.
    function test_flashGuardsRemoved_failsS5() public {
        (bool refused, string[] memory failed) =
            new FlashCallbackProbe(w, _vault(true, Defect.FLASH_GUARDS_REMOVED)).probe();
        assertFalse(refused);
        bool lp;
        bool digest;
        for (uint256 i; i < failed.length; ++i) {
            lp = lp || keccak256(bytes(failed[i])) == keccak256("S5_vault_lp_wei_outsider_callback");
            digest = digest || keccak256(bytes(failed[i])) == keccak256("S5_digest_changed_outsider_callback");
        }
        assertTrue(lp, "S5_vault_lp_wei_outsider_callback must fail");
        assertTrue(digest, "S5_digest_changed_outsider_callback must fail");
    }
}
