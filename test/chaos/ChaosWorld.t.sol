// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ChaosWorld, World} from "../../script/chaos/ChaosWorld.sol";
import {SteadyState, CheckList} from "../../script/chaos/SteadyState.sol";
import {Check} from "../../script/chaos/ScenarioTypes.sol";
import {AddressBook} from "../../script/lib/AddressBook.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {Config, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

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

    /// The scenarios' VaultAddresses are the address book's (AddressBook.vaultAddresses), on the
    /// local replica's book as DeployLocal writes it.
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

    /// On any book whose entries all differ (so a swapped or misread entry cannot go unseen),
    /// the VaultAddresses of a World made from it are the book's, and both are the mapping the
    /// vault's constructor expects, stated here entry by entry.
    function testFuzz_vaultAddresses_mapEachBookEntryOnce(uint256 seed) public pure {
        AddressBook.Book memory b = _distinctBook(seed);
        VaultAddresses memory fromBook = AddressBook.vaultAddresses(b);
        VaultAddresses memory fromWorld = ChaosWorld.vaultAddresses(ChaosWorld.fromBook(b, true, address(1)));
        assertEq(keccak256(abi.encode(fromWorld)), keccak256(abi.encode(fromBook)), "World vs book");
        assertEq(fromBook.usdt, b.usdt, "usdt");
        assertEq(fromBook.btcb, b.btcb, "btcb");
        assertEq(fromBook.lpPair, b.lpPair, "lpPair: BTCB/USDT");
        assertEq(fromBook.flashPair, b.flashPair, "flashPair: WBNB/USDT");
        assertEq(fromBook.router, b.pancakeRouter, "router");
        assertEq(fromBook.aster, b.asterDiamond, "aster");
        assertEq(fromBook.alpToken, b.alp, "alpToken");
        assertEq(fromBook.bnbUsdFeed, b.bnbUsdFeed, "bnbUsdFeed: what consumers read");
        assertEq(fromBook.hedgePairBase, b.btcb, "hedgePairBase: BTCB");
    }

    /// A book whose 15 address entries are 15 different addresses drawn from `seed`.
    function _distinctBook(uint256 seed) private pure returns (AddressBook.Book memory b) {
        address[15] memory a;
        // Consecutive addresses after one 156-bit draw: distinct, none zero, no overflow.
        uint160 base = uint160(uint256(keccak256(abi.encode(seed))) >> 100);
        for (uint160 i; i < a.length; ++i) {
            a[i] = address(base + 1 + i);
        }
        b.usdt = a[0];
        b.btcb = a[1];
        b.wbnb = a[2];
        b.pancakeFactory = a[3];
        b.pancakeRouter = a[4];
        b.lpPair = a[5];
        b.flashPair = a[6];
        b.btcbWbnbPair = a[7];
        b.asterDiamond = a[8];
        b.alp = a[9];
        b.bnbUsdFeed = a[10];
        b.btcUsdFeed = a[11];
        b.bnbUsdAggregator = a[12];
        b.btcUsdAggregator = a[13];
        b.vault = a[14];
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
