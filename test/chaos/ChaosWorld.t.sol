// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ChaosWorld, World} from "../../script/chaos/ChaosWorld.sol";
import {SteadyState, CheckList} from "../../script/chaos/SteadyState.sol";
import {Check} from "../../script/chaos/ScenarioTypes.sol";
import {AddressBook} from "../../script/lib/AddressBook.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {Config} from "../../contracts/vault/VaultTypes.sol";

/// @notice The scenarios' world detection and the steady-state library's own arithmetic.
contract ChaosWorldTest is Test {
    using SteadyState for CheckList;

    function test_deployLocal_isReplicaWithKeeper() public {
        World memory w = ChaosWorld.deployLocal();
        assertTrue(w.isReplica);
        assertTrue(w.asterKeeper != address(0));
        (bool isReplica, address keeper) = ChaosWorld.detectReplica(w.aster);
        assertTrue(isReplica);
        assertEq(keeper, w.asterKeeper);
        assertGe(block.timestamp, ChaosWorld.LOCAL_START_TIME);
    }

    /// Anything that is not the replica diamond (here: a token) reads as the real Aster.
    function test_detectReplica_falseForOtherContracts() public {
        World memory w = ChaosWorld.deployLocal();
        (bool isReplica, address keeper) = ChaosWorld.detectReplica(w.usdt);
        assertFalse(isReplica);
        assertEq(keeper, address(0));
    }

    /// The real BSC book on a chain that is not a BSC fork: the missing dependency is named.
    function test_attach_namesADependencyWithoutCode() public {
        AddressBook.Book memory b = AddressBook.read(AddressBook.BSC);
        vm.expectRevert(abi.encodeWithSelector(ChaosWorld.DependencyWithoutCode.selector, "usdt", b.usdt));
        this.attachBsc();
    }

    function attachBsc() external view returns (World memory) {
        return ChaosWorld.attach(AddressBook.BSC);
    }

    /// The scenarios' VaultAddresses are the address book's (AddressBook.vaultAddresses).
    function test_vaultAddresses_areTheBooks() public view {
        AddressBook.Book memory b = AddressBook.read(AddressBook.LOCAL);
        b.vault = address(0xBEEF);
        World memory w = ChaosWorld.fromBook(b, true, address(1));
        assertEq(
            keccak256(abi.encode(ChaosWorld.vaultAddresses(w))),
            keccak256(abi.encode(AddressBook.vaultAddresses(b)))
        );
        assertEq(w.bookVault, b.vault);
    }

    function test_gasCap_usesTheLowerOfGasPriceAndMaxGasPrice() public pure {
        Config memory cfg = DeployVault.defaultConfig();
        uint256 bnb = 900e18;
        uint256 atCap = uint256(cfg.bountyGasUnits) * cfg.maxGasPrice * 900 * 3 / 2;
        assertEq(SteadyState.gasCap(cfg, 1000 gwei, bnb), atCap);
        assertEq(SteadyState.gasCap(cfg, cfg.maxGasPrice, bnb), atCap);
        assertEq(SteadyState.gasCap(cfg, 1 gwei, bnb), uint256(cfg.bountyGasUnits) * 1 gwei * 900 * 3 / 2);
        assertGt(SteadyState.uncappedGasBounty(cfg, 1000 gwei, bnb), atCap);
    }

    function test_checkList_growsAndReportsEveryVerdict() public pure {
        CheckList memory list;
        for (uint256 i; i < 20; ++i) {
            list.le("x", int256(i), 18);
        }
        list.eq("y", 1, 1);
        (Check[] memory out, bool held) = SteadyState.finish(list);
        assertEq(out.length, 21);
        assertFalse(held, "19 > 18 fails");
        assertFalse(out[19].passed);
        assertTrue(out[20].passed);
        assertEq(out[20].relation, "==");
    }
}
