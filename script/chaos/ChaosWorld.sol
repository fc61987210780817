// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {AddressBook} from "../lib/AddressBook.sol";
import {LocalEnvironment} from "../lib/LocalEnvironment.sol";
import {VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @notice Where the scenarios run: the dependencies' addresses and which world they belong to.
/// Derived from an address book (`ChaosWorld.fromBook`, the only place a World is filled): the
/// address fields are the book's entries under the short names the scenarios use.
/// @dev `isReplica` decides what a scenario may use beyond the real interfaces: on the local
/// replicas it may act as Aster's keeper (execute pending trades); on a real BSC fork Aster's
/// keepers never execute anything and those functions do not exist.
/// The layout is kept as small as it is on purpose: a scenario copies its World to memory (for
/// `vaultAddresses`) in the frame that measures `cycle()`'s gas, so a larger World (the whole
/// book with its strings) moved the reported gas of same_block_manipulation by 1.
struct World {
    address usdt;
    address btcb;
    address wbnb;
    address router; // book.pancakeRouter
    address lpPair;
    address flashPair;
    address aster; // book.asterDiamond
    address alp;
    address bnbUsdFeed;
    /// The replicas' keeper and admin (LocalEnvironment's `admin`); address(0) on real BSC.
    address asterKeeper;
    bool isReplica;
    /// book.vault: an already deployed vault (address(0): deploy a fresh one).
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
    function attach(string memory file) internal view returns (World memory) {
        AddressBook.Book memory b = AddressBook.read(file);
        _requireCode("usdt", b.usdt);
        _requireCode("lpPair", b.lpPair);
        _requireCode("flashPair", b.flashPair);
        _requireCode("asterDiamond", b.asterDiamond);
        _requireCode("bnbUsdFeed", b.bnbUsdFeed);
        (bool isReplica, address keeper) = detectReplica(b.asterDiamond);
        return fromBook(b, isReplica, keeper);
    }

    /// @notice The World of `book`: the one place a World is filled.
    function fromBook(AddressBook.Book memory book, bool isReplica, address keeper)
        internal
        pure
        returns (World memory w)
    {
        w.usdt = book.usdt;
        w.btcb = book.btcb;
        w.wbnb = book.wbnb;
        w.router = book.pancakeRouter;
        w.lpPair = book.lpPair;
        w.flashPair = book.flashPair;
        w.aster = book.asterDiamond;
        w.alp = book.alp;
        w.bnbUsdFeed = book.bnbUsdFeed;
        w.asterKeeper = keeper;
        w.isReplica = isReplica;
        w.bookVault = book.vault;
    }

    /// @notice The World of a freshly deployed local environment whose admin (Aster's keeper,
    /// the feeds' admin) is `admin`: through the same book DeployLocal writes.
    function fromEnvironment(LocalEnvironment.Environment memory env, address admin)
        internal
        view
        returns (World memory)
    {
        return fromBook(AddressBook.fromEnvironment(env, address(0)), true, admin);
    }

    /// @notice The replica diamond answers `admin()` and `pendingTradeHashes()`; the real Aster
    /// diamond has no facet for either, so its fallback reverts.
    function detectReplica(address aster) internal view returns (bool isReplica, address keeper) {
        (bool okHashes,) = aster.staticcall(abi.encodeWithSignature("pendingTradeHashes()"));
        (bool okAdmin, bytes memory ret) = aster.staticcall(abi.encodeWithSignature("admin()"));
        if (okHashes && okAdmin && ret.length == 32) return (true, abi.decode(ret, (address)));
        return (false, address(0));
    }

    /// @notice The vault's constructor input in this world: `AddressBook.vaultAddresses`, the one
    /// place a `VaultAddresses` is filled, given the book entries the World was made from
    /// (`fromBook`) under the book's names. Not a `Book` rebuilt in memory: scenarios call this
    /// in the frame that measures `cycle()`'s gas, where that larger allocation moved the
    /// reported gas of donation_inflation by 1. `ChaosWorldTest` holds the result to
    /// `AddressBook.vaultAddresses(book)` for books whose entries are all different.
    function vaultAddresses(World memory w) internal pure returns (VaultAddresses memory) {
        return AddressBook.vaultAddresses({
            usdt: w.usdt,
            btcb: w.btcb,
            lpPair: w.lpPair,
            flashPair: w.flashPair,
            pancakeRouter: w.router,
            asterDiamond: w.aster,
            alp: w.alp,
            bnbUsdFeed: w.bnbUsdFeed
        });
    }

    function _requireCode(string memory name, address where) private view {
        if (where.code.length == 0) revert DependencyWithoutCode(name, where);
    }
}

/// @notice Deploys LocalEnvironment and stays its admin: the replicas' keeper and feed admin.
contract LocalWorldDeployer {
    function deploy() external returns (World memory) {
        return ChaosWorld.fromEnvironment(LocalEnvironment.deploy(address(this)), address(this));
    }
}
