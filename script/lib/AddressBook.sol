// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {LocalEnvironment} from "./LocalEnvironment.sol";
import {VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @title AddressBook
/// @notice Reads and writes the address books in `deployments/` (layout: deployments/README.md),
/// the one place that says where each dependency lives: `deployments/bsc.json` for real BSC,
/// `deployments/local/bsc-replica.json` for the local replica (written by DeployLocal). The Rust
/// xtask reads the same files.
///
/// `Book` is the one record of the dependencies' addresses in Solidity; the others are derived
/// from it: a freshly deployed `LocalEnvironment` becomes a book (`fromEnvironment`), the chaos
/// scenarios' `World` is made from a book (`ChaosWorld.fromBook`), and the vault's constructor
/// input `VaultAddresses` is filled here and nowhere else (`vaultAddresses`: from a book, or
/// from the book entries a World carries, which is how `ChaosWorld.vaultAddresses` gets it).
/// @dev Chain id cannot choose the book: the local upstream anvil also claims chain id 56. The
/// caller names the file, or sets `ADDRESS_BOOK` (a path relative to the project root).
library AddressBook {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    string internal constant BSC = "deployments/bsc.json";
    string internal constant LOCAL = "deployments/local/bsc-replica.json";

    /// @notice One book. A pair or the vault that a book does not name reads as address(0).
    struct Book {
        uint256 chainId;
        string network;
        address usdt;
        address btcb;
        address wbnb;
        address pancakeFactory;
        address pancakeRouter;
        address lpPair; // BTCB/USDT: the vault's LP leg
        address flashPair; // WBNB/USDT: flash borrows of USDT
        address btcbWbnbPair;
        address asterDiamond;
        address alp;
        address bnbUsdFeed; // what consumers read: Chainlink's proxy on BSC and on the default local chain
        address btcUsdFeed;
        /// Local chains only: where the local market writes rounds (the aggregator behind the
        /// proxy, or the feed itself with `--replicas hand`); address(0) in `bsc.json`.
        address bnbUsdAggregator;
        address btcUsdAggregator;
        address vault;
        string notes;
    }

    /// @notice The book named by `ADDRESS_BOOK`, or the local replica's when it is unset.
    function load() internal view returns (Book memory) {
        return read(vm.envOr("ADDRESS_BOOK", string(LOCAL)));
    }

    /// @param file a path relative to the project root, e.g. `AddressBook.BSC`.
    function read(string memory file) internal view returns (Book memory book) {
        string memory json = vm.readFile(_path(file));
        book.chainId = vm.parseJsonUint(json, ".chainId");
        book.network = vm.parseJsonString(json, ".network");
        book.usdt = vm.parseJsonAddress(json, ".usdt");
        book.btcb = vm.parseJsonAddress(json, ".btcb");
        book.wbnb = vm.parseJsonAddress(json, ".wbnb");
        book.pancakeFactory = vm.parseJsonAddress(json, ".pancakeFactory");
        book.pancakeRouter = vm.parseJsonAddress(json, ".pancakeRouter");
        book.lpPair = _optionalAddress(json, ".lpPair");
        book.flashPair = _optionalAddress(json, ".flashPair");
        book.btcbWbnbPair = _optionalAddress(json, ".btcbWbnbPair");
        book.asterDiamond = vm.parseJsonAddress(json, ".asterDiamond");
        book.alp = vm.parseJsonAddress(json, ".alp");
        book.bnbUsdFeed = vm.parseJsonAddress(json, ".bnbUsdFeed");
        book.btcUsdFeed = vm.parseJsonAddress(json, ".btcUsdFeed");
        book.bnbUsdAggregator = _optionalAddress(json, ".bnbUsdAggregator");
        book.btcUsdAggregator = _optionalAddress(json, ".btcUsdAggregator");
        book.vault = _optionalAddress(json, ".vault");
        book.notes = vm.keyExistsJson(json, ".notes") ? vm.parseJsonString(json, ".notes") : "";
    }

    /// @notice Writes `book` to `file` (relative to the project root), replacing it.
    function write(Book memory book, string memory file) internal {
        string memory obj = "addressBook";
        vm.serializeUint(obj, "chainId", book.chainId);
        vm.serializeString(obj, "network", book.network);
        vm.serializeAddress(obj, "usdt", book.usdt);
        vm.serializeAddress(obj, "btcb", book.btcb);
        vm.serializeAddress(obj, "wbnb", book.wbnb);
        vm.serializeAddress(obj, "pancakeFactory", book.pancakeFactory);
        vm.serializeAddress(obj, "pancakeRouter", book.pancakeRouter);
        vm.serializeAddress(obj, "lpPair", book.lpPair);
        vm.serializeAddress(obj, "flashPair", book.flashPair);
        vm.serializeAddress(obj, "btcbWbnbPair", book.btcbWbnbPair);
        vm.serializeAddress(obj, "asterDiamond", book.asterDiamond);
        vm.serializeAddress(obj, "alp", book.alp);
        vm.serializeAddress(obj, "bnbUsdFeed", book.bnbUsdFeed);
        vm.serializeAddress(obj, "btcUsdFeed", book.btcUsdFeed);
        vm.serializeAddress(obj, "bnbUsdAggregator", book.bnbUsdAggregator);
        vm.serializeAddress(obj, "btcUsdAggregator", book.btcUsdAggregator);
        vm.serializeAddress(obj, "vault", book.vault);
        string memory json = vm.serializeString(obj, "notes", book.notes);
        vm.writeJson(json, _path(file));
    }

    /// @notice The book of a freshly deployed local environment (and its vault, or address(0)).
    function fromEnvironment(LocalEnvironment.Environment memory env, address vault)
        internal
        view
        returns (Book memory book)
    {
        book.chainId = block.chainid;
        book.network = "bsc-replica";
        book.usdt = address(env.usdt);
        book.btcb = address(env.btcb);
        book.wbnb = address(env.wbnb);
        book.pancakeFactory = address(env.pancakeFactory);
        book.pancakeRouter = address(env.pancakeRouter);
        book.lpPair = address(env.lpPair);
        book.flashPair = address(env.flashPair);
        book.btcbWbnbPair = address(env.btcbWbnbPair);
        book.asterDiamond = address(env.asterDiamond);
        book.alp = address(env.alp);
        book.bnbUsdFeed = LocalEnvironment.readBnbUsd(env);
        book.btcUsdFeed = LocalEnvironment.readBtcUsd(env);
        book.bnbUsdAggregator = address(env.bnbUsdFeed);
        book.btcUsdAggregator = address(env.btcUsdFeed);
        book.vault = vault;
        book.notes = env.replicas == LocalEnvironment.Replicas.REAL
            ? "Local BSC chain written by script/DeployLocal.s.sol: PancakeSwap V2 and Chainlink's EACAggregatorProxy built from the npm registry's sources (build/, tools/patches/README.md); tokens, Aster and the feeds' aggregators from contracts/replicas/."
            : "Local BSC chain written by script/DeployLocal.s.sol with --replicas hand: every contract from contracts/replicas/.";
    }

    /// @notice The vault's constructor input from `book`: the LP leg and the TWAP on BTCB/USDT,
    /// flash borrows from WBNB/USDT, ALP and the BTC hedge on Aster (pairs keyed by BTCB), the
    /// gas bounty priced by the BNB/USD feed consumers read. DeployLocal, DeployVaultOnFork and
    /// the vault's tests (`VaultFixture.addresses`, which also derive the shadow's `Deps` from
    /// it) call this; the chaos scenarios reach the overload below through their World
    /// (`ChaosWorld.vaultAddresses`), which carries the same book entries.
    function vaultAddresses(Book memory book) internal pure returns (VaultAddresses memory) {
        return vaultAddresses({
            usdt: book.usdt,
            btcb: book.btcb,
            lpPair: book.lpPair,
            flashPair: book.flashPair,
            pancakeRouter: book.pancakeRouter,
            asterDiamond: book.asterDiamond,
            alp: book.alp,
            bnbUsdFeed: book.bnbUsdFeed
        });
    }

    /// @notice The same from the book entries it reads, named as in `Book`: the one place in
    /// the repository that fills a `VaultAddresses` (which entry goes where, and that the hedge
    /// pair is keyed by BTCB).
    /// @dev Fills its return value instead of returning a struct literal: the literal would be a
    /// second allocation, and through `ChaosWorld.vaultAddresses` the scenarios would hold one
    /// more struct in the memory of the frame that measures `cycle()`'s gas (the memory a call
    /// expands is priced on what is already in use: it moved a reported gas figure by 1).
    function vaultAddresses(
        address usdt,
        address btcb,
        address lpPair,
        address flashPair,
        address pancakeRouter,
        address asterDiamond,
        address alp,
        address bnbUsdFeed
    ) internal pure returns (VaultAddresses memory va) {
        va.usdt = usdt;
        va.btcb = btcb;
        va.lpPair = lpPair;
        va.flashPair = flashPair;
        va.router = pancakeRouter;
        va.aster = asterDiamond;
        va.alpToken = alp;
        va.bnbUsdFeed = bnbUsdFeed;
        va.hedgePairBase = btcb;
    }

    function _optionalAddress(string memory json, string memory key) private view returns (address) {
        return vm.keyExistsJson(json, key) ? vm.parseJsonAddress(json, key) : address(0);
    }

    function _path(string memory file) private view returns (string memory) {
        return string.concat(vm.projectRoot(), "/", file);
    }
}
