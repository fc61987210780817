// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Script} from "forge-std/Script.sol";
import {AddressBook} from "./lib/AddressBook.sol";
import {DeployVault} from "./lib/DeployVault.sol";

/// @title DeployVaultOnFork
/// @notice Deploys a fresh vault (DeployVault's default configuration) against the dependencies
/// of an address book, on a *local fork*: how the live-fork keeper experiments get a vault on a
/// fork of real BSC, where none is deployed. `cargo xtask chaos` runs it with `--broadcast`
/// against its own anvil fork; the address of the vault is the script's return value.
///
///   CHAOS_ADDRESS_BOOK=deployments/bsc.json forge script script/DeployVaultOnFork.s.sol \
///     --rpc-url http://127.0.0.1:PORT --broadcast
///
/// @dev The deployer is anvil's public dev account 0 unless `DEPLOYER_PRIVATE_KEY` says
/// otherwise; the script refuses to broadcast anywhere but a local node.
contract DeployVaultOnFork is Script {
    error NotALocalNode(uint256 chainId);

    uint256 internal constant ANVIL_DEV_KEY_0 =
        0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    function run() external returns (address vault) {
        AddressBook.Book memory book = AddressBook.read(vm.envString("CHAOS_ADDRESS_BOOK"));
        // Dev account 0 only has a balance on a local node (anvil funds it, forks included).
        address deployer = vm.addr(vm.envOr("DEPLOYER_PRIVATE_KEY", ANVIL_DEV_KEY_0));
        if (deployer.balance < 1000 ether) revert NotALocalNode(block.chainid);
        vm.startBroadcast(vm.envOr("DEPLOYER_PRIVATE_KEY", ANVIL_DEV_KEY_0));
        vault = address(DeployVault.deploy(AddressBook.vaultAddresses(book), DeployVault.defaultConfig()));
        vm.stopBroadcast();
    }
}
