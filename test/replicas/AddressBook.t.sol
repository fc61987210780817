// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {AddressBook} from "../../script/lib/AddressBook.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";

contract AddressBookTest is Test {
    /// @dev PancakeSwap V2's init-code hash on BSC, as the book states it (checked against
    /// the npm package pancakeswap/v2-sdk by xtask/tests/bsc_constants.rs).
    function _initCodeHash() internal view returns (bytes32) {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/", AddressBook.BSC));
        return vm.parseJsonBytes32(json, ".pancakeInitCodeHash");
    }

    function _pancakePair(address factory, address a, address b) internal view returns (address) {
        (address t0, address t1) = a < b ? (a, b) : (b, a);
        return vm.computeCreate2Address(keccak256(abi.encodePacked(t0, t1)), _initCodeHash(), factory);
    }

    function test_book_bscHasTheCanonicalAddresses() public view {
        AddressBook.Book memory book = AddressBook.read(AddressBook.BSC);
        assertEq(book.chainId, 56);
        assertEq(book.network, "bsc");
        assertEq(book.usdt, 0x55d398326f99059fF775485246999027B3197955);
        assertEq(book.wbnb, 0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c);
        assertEq(book.btcb, 0x7130d2A12B9BCbFAe4f2634d864A1Ee1Ce3Ead9c);
        assertEq(book.pancakeFactory, 0xcA143Ce32Fe78f1f7019d7d551a6402fC5350c73);
        assertEq(book.pancakeRouter, 0x10ED43C718714eb63d5aA57B78B54704E256024E);
        assertEq(book.asterDiamond, 0x1b6F2d3844C6ae7D56ceb3C3643b9060ba28FEb0);
        assertEq(book.alp, 0x4E47057f45adF24ba41375a175dA0357cB3480E5);
        assertEq(book.bnbUsdFeed, 0x0567F2323251f0Aab15c8dFb1967E4e8A7D42aeE);
        assertEq(book.btcUsdFeed, 0x264990fbd0A4796A3E3d8E37C4d5F87a3aCa5Ebf);
        assertEq(book.vault, address(0));
    }

    function test_book_bscPairsAreTheCreate2AddressesOfTheirTokens() public view {
        AddressBook.Book memory book = AddressBook.read(AddressBook.BSC);
        assertEq(book.lpPair, _pancakePair(book.pancakeFactory, book.btcb, book.usdt));
        assertEq(book.flashPair, _pancakePair(book.pancakeFactory, book.wbnb, book.usdt));
        assertEq(book.btcbWbnbPair, _pancakePair(book.pancakeFactory, book.btcb, book.wbnb));
        assertEq(_initCodeHash(), 0x00fb7f630766e6a796048ea87d01acd3068e8ff67d078148a3fa3f4a84f69bd5);
    }

    function test_book_localEnvironmentRoundTripsThroughJson() public {
        LocalEnvironment.Environment memory env = LocalEnvironment.deploy(address(this));
        AddressBook.Book memory written = AddressBook.fromEnvironment(env, address(0xCAFE));
        string memory file = "deployments/local/roundtrip.test.json";
        AddressBook.write(written, file);
        AddressBook.Book memory read = AddressBook.read(file);
        vm.removeFile(string.concat(vm.projectRoot(), "/", file));
        assertEq(keccak256(abi.encode(read)), keccak256(abi.encode(written)));
        assertEq(read.lpPair, address(env.lpPair));
        assertEq(read.vault, address(0xCAFE));
        assertEq(read.network, "bsc-replica");
        // Consumers read the proxies; the market writes the aggregators behind them.
        assertEq(read.bnbUsdFeed, address(env.bnbUsdProxy));
        assertEq(read.bnbUsdAggregator, address(env.bnbUsdFeed));
        assertEq(read.btcUsdAggregator, address(env.btcUsdFeed));
    }

    function test_book_handEnvironmentNamesTheFeedAsItsOwnAggregator() public {
        LocalEnvironment.Environment memory env =
            LocalEnvironment.deploy(LocalEnvironment.handConfig(), address(this));
        AddressBook.Book memory book = AddressBook.fromEnvironment(env, address(0));
        assertEq(book.bnbUsdFeed, address(env.bnbUsdFeed));
        assertEq(book.bnbUsdAggregator, address(env.bnbUsdFeed));
    }

    function test_book_bscNamesNoAggregator() public view {
        AddressBook.Book memory book = AddressBook.read(AddressBook.BSC);
        assertEq(book.bnbUsdAggregator, address(0));
        assertEq(book.btcUsdAggregator, address(0));
    }
}
