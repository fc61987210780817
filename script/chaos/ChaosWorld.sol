// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {AddressBook} from "../lib/AddressBook.sol";
import {LocalEnvironment} from "../lib/LocalEnvironment.sol";
import {VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @notice Where the scenarios run: the dependencies' addresses and which world they belong to.
/// @dev `isReplica` decides what a scenario may use beyond the real interfaces: on the local
/// replicas it may act as Aster's keeper (execute pending trades); on a real BSC fork Aster's
/// keepers never execute anything and those functions do not exist.
struct World {
    address usdt;
    address btcb;
    address wbnb;
    address router;
    address lpPair;
    address flashPair;
    address aster;
    address alp;
    address bnbUsdFeed;
    /// The replicas' keeper and admin (LocalEnvironment's `admin`); address(0) on real BSC.
    address asterKeeper;
    bool isReplica;
    /// An already deployed vault named by the address book (address(0): deploy a fresh one).
    address bookVault;
}

/// @notice Builds the World of a plain local run (deploys the replicas) or of a fork (reads the
/// address book named by `CHAOS_ADDRESS_BOOK`).
library ChaosWorld {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// The address book to attach to on a fork, a path relative to the project root.
    string internal constant ADDRESS_BOOK_ENV = "CHAOS_ADDRESS_BOOK";

    /// 2025-10-09, when a plain local run starts.
    uint256 internal constant LOCAL_START_TIME = 1_760_000_000;

    error DependencyWithoutCode(string name, address where);

    /// @notice True when the caller asked for a fork run (an address book is named).
    function wantsAddressBook() internal view returns (bool) {
        return bytes(VM.envOr(ADDRESS_BOOK_ENV, string(""))).length != 0;
    }

    /// @notice Deploys the local replicas. A helper contract owns them (it is their admin and
    /// Aster's keeper): forge refuses `address(this)` inside a script contract.
    function deployLocal() internal returns (World memory) {
        // A plain run starts at timestamp 1; start at a realistic time instead, so that
        // "older than maxOracleAge" and similar ages exist.
        if (block.timestamp < LOCAL_START_TIME) VM.warp(LOCAL_START_TIME);
        LocalWorldDeployer deployer = new LocalWorldDeployer();
        VM.deal(address(deployer), 10_000 ether);
        return deployer.deploy();
    }

    /// @notice Attaches to the dependencies named by the address book `file`.
    function attach(string memory file) internal view returns (World memory w) {
        AddressBook.Book memory b = AddressBook.read(file);
        w.usdt = b.usdt;
        w.btcb = b.btcb;
        w.wbnb = b.wbnb;
        w.router = b.pancakeRouter;
        w.lpPair = b.lpPair;
        w.flashPair = b.flashPair;
        w.aster = b.asterDiamond;
        w.alp = b.alp;
        w.bnbUsdFeed = b.bnbUsdFeed;
        w.bookVault = b.vault;
        _requireCode("usdt", w.usdt);
        _requireCode("lpPair", w.lpPair);
        _requireCode("flashPair", w.flashPair);
        _requireCode("asterDiamond", w.aster);
        _requireCode("bnbUsdFeed", w.bnbUsdFeed);
        (w.isReplica, w.asterKeeper) = detectReplica(w.aster);
    }

    /// @notice The replica diamond answers `admin()` and `pendingTradeHashes()`; the real Aster
    /// diamond has no facet for either, so its fallback reverts.
    function detectReplica(address aster) internal view returns (bool isReplica, address keeper) {
        (bool okHashes,) = aster.staticcall(abi.encodeWithSignature("pendingTradeHashes()"));
        (bool okAdmin, bytes memory ret) = aster.staticcall(abi.encodeWithSignature("admin()"));
        if (okHashes && okAdmin && ret.length == 32) return (true, abi.decode(ret, (address)));
        return (false, address(0));
    }

    function vaultAddresses(World memory w) internal pure returns (VaultAddresses memory) {
        return VaultAddresses({
            usdt: w.usdt,
            btcb: w.btcb,
            lpPair: w.lpPair,
            flashPair: w.flashPair,
            router: w.router,
            aster: w.aster,
            alpToken: w.alp,
            bnbUsdFeed: w.bnbUsdFeed,
            hedgePairBase: w.btcb
        });
    }

    function _requireCode(string memory name, address where) private view {
        if (where.code.length == 0) revert DependencyWithoutCode(name, where);
    }
}

/// @notice Deploys LocalEnvironment and stays its admin: the replicas' keeper and feed admin.
contract LocalWorldDeployer {
    function deploy() external returns (World memory w) {
        LocalEnvironment.Environment memory env = LocalEnvironment.deploy(address(this));
        w.usdt = address(env.usdt);
        w.btcb = address(env.btcb);
        w.wbnb = address(env.wbnb);
        w.router = address(env.pancakeRouter);
        w.lpPair = address(env.lpPair);
        w.flashPair = address(env.flashPair);
        w.aster = address(env.asterDiamond);
        w.alp = address(env.alp);
        w.bnbUsdFeed = LocalEnvironment.readBnbUsd(env);
        w.asterKeeper = address(this);
        w.isReplica = true;
    }
}
