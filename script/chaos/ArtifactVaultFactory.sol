// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {IVaultFactory} from "./ScenarioRunner.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @title ArtifactVaultFactory
/// @notice Deploys the vault from compiled artifacts on disk instead of from the code this script
/// was compiled with: `<dir>/CycleModule.json` and `<dir>/YieldVault.json` (forge's artifact
/// layout, `bytecode.object`), read with `vm.getCode`. `cargo xtask mutants` compiles each
/// mutant of `contracts/vault/**` on its own into such a directory, so the chaos scenarios run
/// against a mutant without recompiling any script. The directory must be readable by forge
/// (`fs_permissions` in foundry.toml: the xtask writes under ./reports).
/// @dev Deploys exactly as DeployVault does: the module for `a`, then the vault bound to it.
contract ArtifactVaultFactory is IVaultFactory {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error NoArtifactDirectory();
    error DeploymentFailed(string artifact);

    /// @notice Where the artifacts are read from, relative to the project root.
    string public dir;

    /// @notice Selects the artifacts of the next deployments.
    function use(string calldata artifactDir) external {
        dir = artifactDir;
    }

    function deployVault(VaultAddresses calldata a, Config calldata cfg) external returns (YieldVault) {
        if (bytes(dir).length == 0) revert NoArtifactDirectory();
        address module = _deploy("CycleModule.json", abi.encode(a));
        return YieldVault(_deploy("YieldVault.json", abi.encode(a, cfg, module)));
    }

    function _deploy(string memory artifact, bytes memory args) private returns (address deployed) {
        bytes memory code = bytes.concat(VM.getCode(string.concat(dir, "/", artifact)), args);
        assembly {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        if (deployed == address(0)) {
            // A constructor that reverted (the vault refusing its configuration) passes its
            // revert data on, as `new` does; a failure without data names the artifact.
            assembly ("memory-safe") {
                if returndatasize() {
                    let p := mload(0x40)
                    returndatacopy(p, 0, returndatasize())
                    revert(p, returndatasize())
                }
            }
            revert DeploymentFailed(artifact);
        }
    }
}
