// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "forge-std/Test.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";
import {AddressBook} from "../../script/lib/AddressBook.sol";
import {DeployVault} from "../../script/lib/DeployVault.sol";
import {ChaosWorld} from "../../script/chaos/ChaosWorld.sol";
import {VaultKit} from "../../script/chaos/VaultKit.sol";
import {SteadyState} from "../../script/chaos/SteadyState.sol";
import {Config, CyclePath, VaultAddresses} from "../../contracts/vault/VaultTypes.sol";

/// @notice The local replica environment (LocalEnvironment) with a vault deployed by DeployVault,
/// and the moves a unit test needs on top of VaultKit (script/chaos/VaultKit.sol, shared with
/// the chaos scenarios): deposits of fresh USDT, cycles by a keeper that let the revert through,
/// Aster keeper executions, spot moves around 90,000. The kit keeps the steady-state library's
/// tape of the LP pair, so a test can measure the vault against the shadow NAV (`_measure`).
abstract contract VaultFixture is Test, VaultKit {
    LocalEnvironment.Environment internal env;

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal keeper = makeAddr("keeper");

    uint256 internal constant DEPOSIT = 100_000e18;
    uint256 internal constant GAS_PRICE = 1 gwei;

    error HedgesNotExecuted();

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        vm.roll(50_000_000);
        vm.deal(address(this), 10_000 ether);
        env = LocalEnvironment.deploy(address(this));
        Config memory c = DeployVault.defaultConfig();
        _tune(c);
        AddressBook.Book memory book = _book();
        // The test contract is the replicas' admin: Aster's keeper and the feeds' writer.
        _startKit(
            ChaosWorld.fromBook(book, true, env.admin),
            DeployVault.deploy(AddressBook.vaultAddresses(book), c),
            c
        );
    }

    /// @dev Hook for suites that need another configuration.
    function _tune(Config memory) internal virtual {}

    /// @notice The vault's addresses, from the environment's address book
    /// (AddressBook.vaultAddresses), except that the vault reads the BNB/USD aggregator itself
    /// rather than Chainlink's proxy in front of it: these tests stamp, break and mock that
    /// aggregator directly. The kit's world, and so the shadow's dependencies (`deps`), are
    /// derived from the same record.
    function addresses() internal view returns (VaultAddresses memory) {
        return AddressBook.vaultAddresses(_book());
    }

    function _book() private view returns (AddressBook.Book memory book) {
        book = AddressBook.fromEnvironment(env, address(0));
        book.bnbUsdFeed = book.bnbUsdAggregator;
    }

    /// @dev `who` deposits `amount` of fresh USDT; a refused deposit reverts with the vault's
    /// own error.
    function _deposit(address who, uint256 amount) internal returns (uint256 shares) {
        _fund(who, amount);
        bool ok;
        bytes memory reason;
        (ok, reason, shares) = _depositAttempt(who, amount);
        if (!ok) _bubble(reason);
    }

    /// @dev Advances time and one block, and keeps the BNB/USD feed fresh at 900 USD.
    function _warp(uint256 secs) internal {
        _warpTo(block.timestamp + secs, 1);
        env.bnbUsdFeed.updateAnswer(900e8);
    }

    /// @dev One `cycle()` by the keeper (an EOA, tx.origin too) at GAS_PRICE, on the tape.
    /// Not ScenarioBase's `_cycle`: here the vault's revert goes through (the test fails on it)
    /// and the test's own `vm.recordLogs()` is left alone, where a scenario captures both.
    function _cycle() internal returns (CyclePath path, uint256 bounty) {
        SteadyState.record(tape);
        vm.txGasPrice(GAS_PRICE);
        vm.prank(keeper, keeper);
        (path, bounty) = vault.cycle();
        SteadyState.recordCycle(tape);
    }

    function _nextCycle() internal returns (CyclePath path, uint256 bounty) {
        _warp(cfg.minCycleInterval);
        return _cycle();
    }

    /// @dev Aster's keepers execute the pending trades at the current mark.
    function _executeHedges() internal {
        if (!_asterExecute()) revert HedgesNotExecuted();
    }

    /// @dev Sets Aster's BTC mark to the pair's spot (8 decimals).
    function _syncMark() internal {
        _markToSpot();
    }

    /// @dev Deposit, wait for a ready TWAP, and cycle until the vault has nothing left to do.
    function _invest() internal {
        _deposit(alice, DEPOSIT);
        _warp(cfg.twapWindow);
        _cycle();
        for (uint256 i; i < 6; ++i) {
            _executeHedges();
            (CyclePath path,) = _nextCycle();
            if (path == CyclePath.IDLE) return;
        }
    }

    uint256 internal constant BTC_PRICE = 90_000e18;

    /// @dev Swaps through the pair until its spot is `bps` away from 90,000 USDT per BTCB.
    function _moveSpotTo(int256 bps) internal {
        // test prices are positive and small.
        // forge-lint: disable-next-line(unsafe-typecast)
        _swapToSpot(uint256(int256(BTC_PRICE) * (10_000 + bps) / 10_000));
    }

    /// @dev From an invested vault: one cycle with the spot 1.2% below 90,000, then the spot
    /// 1.2% above and time for one more cycle. The oracle's realised volatility then says STORM
    /// and the spot sits above the TWAP, so the next `_cycle()` deleverages with a flash swap.
    function _enterStorm() internal {
        _moveSpotTo(-120);
        _syncMark();
        _nextCycle();
        _executeHedges();
        _moveSpotTo(120);
        _syncMark();
        _warp(cfg.minCycleInterval);
    }

    /// @dev Logs recorded since vm.recordLogs(): whether `topic0` was emitted by the vault, and
    /// the data of its last occurrence.
    function _findLog(Vm.Log[] memory logs, bytes32 topic0)
        internal
        view
        returns (bool found, bytes memory data)
    {
        return _lastLog(logs, address(vault), topic0);
    }

    /// @dev Moves the pair's spot by selling `usdtIn` USDT for BTCB (positive) or BTCB worth
    /// `-usdtIn` at the spot (negative), as a market participant with tokens of its own.
    function _pushSpot(int256 usdtIn) internal {
        // usdtIn > 0 and usdtIn <= 0 in the two branches.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (usdtIn > 0) _swap(w.usdt, w.btcb, uint256(usdtIn));
        // forge-lint: disable-next-line(unsafe-typecast)
        else _swap(w.btcb, w.usdt, uint256(-usdtIn) * 1e18 / _spot());
    }

    /// @dev Reverts with `reason` as it was (a call's revert data).
    function _bubble(bytes memory reason) private pure {
        assembly ("memory-safe") {
            revert(add(reason, 32), mload(reason))
        }
    }
}
