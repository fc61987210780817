// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "forge-std/Test.sol";
import {ChaosWorld, World} from "../../script/chaos/ChaosWorld.sol";
import {OnlyUnwindHandler} from "./handlers/OnlyUnwindHandler.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {RiskMode} from "../../contracts/vault/VaultTypes.sol";
import {Check} from "../../script/chaos/ScenarioTypes.sol";

/// @title OnlyUnwindCampaign
/// @notice The stateful campaign around ONLY_UNWIND entry and recovery: the fuzzer drives the
/// handler's actions (flows, cycles, price pushes, flash-liquidity drains, Aster faults, time)
/// and S1-S10 (docs/steady-state.md) must hold after every call. Modest runs here;
/// `FOUNDRY_PROFILE=chaos` runs deep.
/// @dev Local replicas by default. With CHAOS_FORK_URL (and CHAOS_ADDRESS_BOOK naming that
/// chain's book, optionally CHAOS_FORK_BLOCK) the same campaign runs on a fork of a pinned block.
/// forge-config: default.invariant.runs = 32
/// forge-config: default.invariant.depth = 32
/// forge-config: ci.invariant.runs = 32
/// forge-config: ci.invariant.depth = 32
/// forge-config: chaos.invariant.runs = 256
/// forge-config: chaos.invariant.depth = 128
contract OnlyUnwindCampaign is Test {
    OnlyUnwindHandler internal handler;
    YieldVault internal vault;

    function setUp() public {
        World memory w;
        string memory forkUrl = vm.envOr("CHAOS_FORK_URL", string(""));
        if (bytes(forkUrl).length != 0) {
            uint256 blockNumber = vm.envOr("CHAOS_FORK_BLOCK", uint256(0));
            if (blockNumber == 0) vm.createSelectFork(forkUrl);
            else vm.createSelectFork(forkUrl, blockNumber);
            w = ChaosWorld.attach(vm.envString(ChaosWorld.ADDRESS_BOOK_ENV));
        } else {
            w = ChaosWorld.deployLocal();
        }
        vault = DeployVault.deploy(ChaosWorld.vaultAddresses(w), DeployVault.defaultConfig());
        handler = new OnlyUnwindHandler(w, vault);
        handler.init();

        bytes4[] memory selectors = new bytes4[](14);
        selectors[0] = OnlyUnwindHandler.deposit.selector;
        selectors[1] = OnlyUnwindHandler.withdraw.selector;
        // Cycles are a third of all calls, so that ONLY_UNWIND is entered and left in one run.
        selectors[2] = OnlyUnwindHandler.cycle.selector;
        selectors[3] = OnlyUnwindHandler.cycle.selector;
        selectors[4] = OnlyUnwindHandler.cycle.selector;
        selectors[5] = OnlyUnwindHandler.cycleNow.selector;
        selectors[6] = OnlyUnwindHandler.pushPrice.selector;
        selectors[7] = OnlyUnwindHandler.restorePrice.selector;
        selectors[8] = OnlyUnwindHandler.drainFlash.selector;
        selectors[9] = OnlyUnwindHandler.restoreFlash.selector;
        selectors[10] = OnlyUnwindHandler.armAsterFault.selector;
        selectors[11] = OnlyUnwindHandler.disarmAsterFaults.selector;
        selectors[12] = OnlyUnwindHandler.warp.selector;
        selectors[13] = OnlyUnwindHandler.executeTrades.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// S1-S10 after every handler call. One invariant for all of them: forge runs a separate
    /// campaign per invariant function, and the properties share every call sequence anyway.
    function invariant_steadyState_S1_to_S10() public view {
        _s1Value();
        _s2Bounty();
        _s3NoFlashDebt();
        _s4RiskMode();
        _s5Atomicity();
        _s6SharePrice();
        _s7ExitLiveness();
        _s8Hedge();
        // S9 is not asserted here while the violation pinned in OnlyUnwindS9Finding (below) is
        // open: the fuzzer finds it within 20 calls and it would hide every other property. The
        // handler still measures S9 on every cycle; that test fails once the cause is fixed,
        // and this line must then assert S9 again.
        _assertNone("S10");
    }

    function _assertNone(string memory property) internal view {
        assertEq(
            handler.violations(property),
            0,
            string.concat(property, ": first violation ", handler.firstViolation())
        );
    }

    function _s1Value() internal view {
        _assertNone("S1");
    }

    function _s2Bounty() internal view {
        _assertNone("S2");
    }

    /// S3 directly as well: outside a cycle no flash state, debt or allowance exists.
    function _s3NoFlashDebt() internal view {
        _assertNone("S3");
        (bool active, uint256 borrowed, uint256 allowance) = vault.flashState();
        assertFalse(active);
        assertEq(borrowed, 0);
        assertEq(allowance, 0);
    }

    /// S4 as a ghost state machine, and directly: ONLY_UNWIND pauses deposits.
    function _s4RiskMode() internal view {
        _assertNone("S4");
        if (vault.riskMode() == RiskMode.ONLY_UNWIND) assertEq(vault.maxDeposit(address(this)), 0);
        (RiskMode mode, uint256 healthy) = handler.ghost();
        assertEq(uint256(mode), uint256(vault.riskMode()), "ghost mode");
        assertEq(healthy, vault.healthyCycleCount(), "ghost healthy count");
    }

    function _s5Atomicity() internal view {
        _assertNone("S5");
    }

    function _s6SharePrice() internal view {
        _assertNone("S6");
    }

    /// S7 directly: every holder's maxWithdraw covers its pro-rata liquid share, in every mode.
    function _s7ExitLiveness() internal view {
        _assertNone("S7");
        (bool ok, Check memory failed) = handler.checkLiquidShares();
        assertTrue(ok, failed.name);
    }

    function _s8Hedge() internal view {
        _assertNone("S8");
    }

    /// The handler itself reaches what the campaign is about: a push beyond the guard enters
    /// ONLY_UNWIND, and after the price is restored it recovers, with no violation on the way.
    function test_handler_entersAndLeavesOnlyUnwind() public {
        handler.pushPrice(600);
        handler.cycle(0);
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
        handler.deposit(0, 1000e18);
        assertEq(handler.depositsRefused(), 1);
        handler.restorePrice(true);
        for (uint256 i; i < 3; ++i) {
            handler.cycle(0);
        }
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.NORMAL));
        assertEq(handler.recoveries(), 1);
        assertEq(bytes(handler.firstViolation()).length, 0, handler.firstViolation());
    }

    /// A reverted cycle (closeTrade failing during an unwind) is counted and changes nothing.
    function test_handler_closeTradeFaultRevertsCycleCleanly() public {
        handler.armAsterFault(0);
        handler.pushPrice(600);
        handler.cycle(0);
        assertEq(handler.cyclesReverted(), 1);
        assertEq(bytes(handler.firstViolation()).length, 0, handler.firstViolation());
        handler.disarmAsterFaults();
        handler.cycleNow();
        assertEq(uint256(vault.riskMode()), uint256(RiskMode.ONLY_UNWIND));
    }

    /// Logged at the end of each run (-vv): how far the campaign got (ONLY_UNWIND entered and
    /// left, faults seen), so a campaign that never leaves NORMAL is visible.
    function afterInvariant() external view {
        console.log(
            string.concat(
                "cycles ok ",
                vm.toString(handler.cyclesOk()),
                ", reverted ",
                vm.toString(handler.cyclesReverted()),
                ", ONLY_UNWIND cycles ",
                vm.toString(handler.unwindCycles()),
                ", recoveries ",
                vm.toString(handler.recoveries()),
                ", deposits refused ",
                vm.toString(handler.depositsRefused())
            )
        );
    }
}

/// @notice Pinned, under investigation (found when the fixed findings 1 and 2 met the rest of the
/// suite): this sequence of the ONLY_UNWIND campaign, found and shrunk by its fuzzer (seed
/// 0x5eed), leaves the vault's NAV about 1,096 USDT from the shadow NAV before the last cycle,
/// over S9's tolerance, on the registry-built and on the hand-written replicas alike. It is not the
/// short's valuation (S9 with the old TWAP-vs-mark term in its tolerance still fails); the warp
/// lets Aster's keeper execute or refund the pending trade first, so the pending-trade accounting
/// of the finding-1 fix is the first suspect. When the cause is fixed this test fails: then
/// assert S9 in the campaign's invariant again.
contract OnlyUnwindS9Finding is Test {
    function test_finding_S9_navOffShadow_afterLongWarp() public {
        World memory w = ChaosWorld.deployLocal();
        YieldVault vault = DeployVault.deploy(ChaosWorld.vaultAddresses(w), DeployVault.defaultConfig());
        OnlyUnwindHandler handler = new OnlyUnwindHandler(w, vault);
        handler.init();
        handler.cycleNow();
        handler.cycle(1768);
        handler.deposit(
            3, 4_093_863_201_304_662_979_157_566_339_037_024_088_761_513_573_079_936_363_813_514_706_312_622
        );
        handler.cycle(599_113_688_081_852_326_319_181_412_421_238_763_385_951_124);
        handler.warp(40_000_000_000_000_000_000_000);
        handler.cycleNow();
        assertGt(handler.violations("S9"), 0, "S9 holds now: the pinned finding is gone");
    }
}
