// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Script} from "forge-std/Script.sol";
import {LocalEnvironment} from "./lib/LocalEnvironment.sol";
import {AddressBook} from "./lib/AddressBook.sol";
import {DeployVault} from "./lib/DeployVault.sol";

/// @title DeployLocal
/// @notice Deploys the local BSC replica (LocalEnvironment) and the vault on it (DeployVault with
/// its default configuration) to a local anvil and writes the address book,
/// `deployments/local/bsc-replica.json` (or `ADDRESS_BOOK_OUT`), with the vault under `vault`.
///
///   anvil --chain-id 56 &
///   forge script script/DeployLocal.s.sol:DeployLocal --rpc-url http://127.0.0.1:8545 --broadcast
///
/// The deployer is `DEPLOYER_PRIVATE_KEY`, by default anvil's public dev account 0; it needs
/// 4,000 BNB for the default WBNB liquidity (an anvil dev account holds 10,000).
/// `LOCAL_REPLICAS=hand` deploys the hand-written replicas only; the default (`real`) deploys
/// PancakeSwap V2 and Chainlink's proxies built from the registry's sources (run
/// `cargo xtask forge -- build` first; `cargo xtask chain --replicas hand|real` does both).
/// @dev The local upstream claims chain id 56 like BSC, so the chain id alone cannot tell them
/// apart: the script refuses any chain where BSC's USDT has code (real BSC or a fork of it) and
/// any chain id other than 56 and anvil's 31337.
contract DeployLocal is Script {
    error NotALocalChain(uint256 chainId);
    error UnknownReplicas(string value);

    /// @dev anvil's dev account 0 ("test test ... junk", index 0): public, holds only test BNB.
    uint256 internal constant ANVIL_DEV_KEY_0 =
        0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;
    address internal constant BSC_USDT = 0x55d398326f99059fF775485246999027B3197955;

    function run() external returns (AddressBook.Book memory book) {
        return runWith(vm.envOr("LOCAL_REPLICAS", string("real")));
    }

    /// @param replicas `real` or `hand` (what `LOCAL_REPLICAS` says for `run`).
    function runWith(string memory replicas) public returns (AddressBook.Book memory book) {
        if ((block.chainid != 56 && block.chainid != 31_337) || BSC_USDT.code.length != 0) {
            revert NotALocalChain(block.chainid);
        }
        uint256 key = vm.envOr("DEPLOYER_PRIVATE_KEY", ANVIL_DEV_KEY_0);
        address deployer = vm.addr(key);

        vm.startBroadcast(key);
        LocalEnvironment.Environment memory env = LocalEnvironment.deploy(config(replicas), deployer);
        book = AddressBook.fromEnvironment(env, address(0));
        book.vault = deployVault(book);
        vm.stopBroadcast();

        AddressBook.write(book, bookOut());
    }

    /// @notice Where the book goes: `ADDRESS_BOOK_OUT`, else the committed local book.
    function bookOut() internal view virtual returns (string memory) {
        return vm.envOr("ADDRESS_BOOK_OUT", string(AddressBook.LOCAL));
    }

    /// @notice The default market on the code `replicas` names (`real` or `hand`).
    function config(string memory replicas) internal pure returns (LocalEnvironment.Config memory cfg) {
        if (keccak256(bytes(replicas)) == keccak256("real")) return LocalEnvironment.defaultConfig();
        if (keccak256(bytes(replicas)) == keccak256("hand")) return LocalEnvironment.handConfig();
        revert UnknownReplicas(replicas);
    }

    /// @notice The vault on the local environment's book (AddressBook.vaultAddresses) with its
    /// default configuration.
    function deployVault(AddressBook.Book memory book) internal returns (address) {
        return address(DeployVault.deploy(AddressBook.vaultAddresses(book), DeployVault.defaultConfig()));
    }
}
