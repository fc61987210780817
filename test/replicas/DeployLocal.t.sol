// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {DeployLocal} from "../../script/DeployLocal.s.sol";
import {AddressBook} from "../../script/lib/AddressBook.sol";
import {IPancakePair} from "../../contracts/interfaces/IPancake.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";

contract DeployLocalTest is Test {
    string internal constant OUT = "deployments/local/deploylocal.test.json";
    uint256 internal constant ANVIL_DEV_KEY_0 =
        0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    function test_deployLocal_deploysEnvironmentAndVaultAndWritesTheBook() public {
        vm.deal(vm.addr(ANVIL_DEV_KEY_0), 10_000 ether); // an anvil dev account's balance
        vm.setEnv("ADDRESS_BOOK_OUT", OUT);
        AddressBook.Book memory returned = new DeployLocal().run();
        AddressBook.Book memory book = AddressBook.read(OUT);
        vm.removeFile(string.concat(vm.projectRoot(), "/", OUT));

        assertEq(keccak256(abi.encode(book)), keccak256(abi.encode(returned)));
        assertEq(book.chainId, block.chainid);
        assertGt(book.vault.code.length, 0, "vault deployed");
        assertGt(book.asterDiamond.code.length, 0);
        assertTrue(book.lpPair != book.flashPair);
        address t0 = IPancakePair(book.lpPair).token0();
        address t1 = IPancakePair(book.lpPair).token1();
        assertTrue((t0 == book.btcb && t1 == book.usdt) || (t0 == book.usdt && t1 == book.btcb));
        // The default chain runs the registry-built pair and Chainlink's proxy.
        assertEq(
            keccak256(book.lpPair.code), keccak256(vm.getDeployedCode(LocalEnvironment.PANCAKE_PAIR_ARTIFACT))
        );
        assertTrue(book.bnbUsdFeed != book.bnbUsdAggregator, "the vault reads a proxy");
        assertEq(YieldVaultFeed(book.vault).bnbUsdFeed(), book.bnbUsdFeed);
    }

    function test_deployLocal_handDeploysTheHandWrittenReplicas() public {
        vm.deal(vm.addr(ANVIL_DEV_KEY_0), 10_000 ether);
        // runWith, not LOCAL_REPLICAS: the environment is shared by tests running in parallel.
        string memory out = "deployments/local/deploylocal-hand.test.json";
        DeployLocalTo script = new DeployLocalTo(out);
        AddressBook.Book memory book = script.runWith("hand");
        vm.removeFile(string.concat(vm.projectRoot(), "/", out));
        assertTrue(
            keccak256(book.lpPair.code)
                != keccak256(vm.getDeployedCode(LocalEnvironment.PANCAKE_PAIR_ARTIFACT))
        );
        assertEq(book.bnbUsdFeed, book.bnbUsdAggregator, "the vault reads the aggregator");
        assertEq(YieldVaultFeed(book.vault).bnbUsdFeed(), book.bnbUsdFeed);
    }

    function test_deployLocal_refusesUnknownReplicas() public {
        DeployLocal script = new DeployLocal();
        vm.expectRevert(abi.encodeWithSelector(DeployLocal.UnknownReplicas.selector, "mock"));
        script.runWith("mock");
    }

    function test_deployLocal_refusesAChainWhereBscUsdtHasCode() public {
        vm.etch(0x55d398326f99059fF775485246999027B3197955, hex"00");
        DeployLocal script = new DeployLocal();
        vm.expectRevert(abi.encodeWithSelector(DeployLocal.NotALocalChain.selector, block.chainid));
        script.run();
    }
}

/// @notice DeployLocal writing its book to a file of the test's own.
contract DeployLocalTo is DeployLocal {
    string internal out;

    constructor(string memory out_) {
        out = out_;
    }

    function bookOut() internal view override returns (string memory) {
        return out;
    }
}

interface YieldVaultFeed {
    function bnbUsdFeed() external view returns (address);
}
