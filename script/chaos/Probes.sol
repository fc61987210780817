// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {StdStorage, stdStorage} from "forge-std/StdStorage.sol";
import {Check} from "./ScenarioTypes.sol";
import {SteadyState, CheckList} from "./SteadyState.sol";
import {IVaultFactory} from "./ScenarioRunner.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {VaultCore} from "../../contracts/vault/VaultCore.sol";
import {Config, Regime, VaultAddresses, Weights} from "../../contracts/vault/VaultTypes.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {FaultInjection} from "./FaultProxy.sol";

/// @notice A vault entry point a stranger may try (the flash callback, the oracle's update).
interface IVaultEntryPoints {
    function pancakeCall(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external;
    function cycle() external returns (uint8, uint256);
    function update() external;
}

/// @title VaultProbes
/// @notice Sharper checks that several scenarios run at a point of their own (each inside a state
/// snapshot, so the scenario goes on from where it was): who may move a holder's shares (ERC-20
/// and ERC-4626 allowances, the withdrawal queue, a deposit without payment) and call the vault's
/// internal entry points (the flash callback, the TWAP oracle's update, the keeper module outside
/// a delegatecall); ERC-4626 exchange rates and their rounding, measured by the token and share
/// balances a call moves; and which configurations the vault refuses at deployment (each bound
/// from both sides). Every quantity is read from the tokens' own balances or from whether a call
/// went through, never from the vault's accounting of itself.
/// @dev One instance, deployed by the runner (ScenarioRunner.probes()), serves every scenario:
/// the scenario groups stay under the contract size limit, and a probe's checks come back as a
/// `Check[]` the group appends to its own list. The actors are the scenario groups' own
/// (ScenarioBase): the same addresses, so S10's holders are the same people.
contract VaultProbes {
    using stdStorage for StdStorage;
    using SteadyState for CheckList;

    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant BPS = 10_000;
    address internal constant ALICE = address(uint160(uint256(keccak256("chaos.alice"))));
    address internal constant BOB = address(uint160(uint256(keccak256("chaos.bob"))));
    address internal constant CAROL = address(uint160(uint256(keccak256("chaos.carol"))));
    address internal constant MALLORY = address(uint160(uint256(keccak256("chaos.mallory"))));
    address internal constant KEEPER = address(uint160(uint256(keccak256("chaos.keeper"))));

    StdStorage private _store;
    YieldVault internal vault;
    address internal usdt;
    Config internal cfg;
    VaultAddresses internal addrs;
    address internal _factory;

    function _use(YieldVault v, VaultAddresses memory a) private {
        vault = v;
        usdt = a.usdt;
        addrs = a;
        cfg = v.getConfig();
    }

    function _fund(address who, uint256 amount) private {
        _store.target(usdt).sig(IERC20.balanceOf.selector).with_key(who)
            .checked_write(IERC20(usdt).balanceOf(who) + amount);
    }

    function _done(CheckList memory list) private pure returns (Check[] memory out) {
        (out,) = SteadyState.finish(list);
    }

    // ------------------------------------------------------------------------------ strangers

    /// @notice Strangers and allowances, from a state where Alice and Bob hold shares and the
    /// vault holds free USDT. Mallory, with no allowance, tries to withdraw, redeem, queue a
    /// redemption of and transfer Alice's shares, to call the flash callback, the oracle's
    /// update and the keeper module directly: every call must revert and nothing may move
    /// (Alice's shares, Mallory's USDT and shares, the vault's USDT). Bob tries to queue and to
    /// transfer more shares than he holds: both revert. Alice approves Carol (the call returns
    /// true); Carol redeems and withdraws for Alice within the allowance: Alice's shares go down
    /// by exactly what the allowance goes down by, Carol receives the USDT; beyond the
    /// allowance she is refused.
    function strangers(YieldVault v, VaultAddresses calldata a) external returns (Check[] memory) {
        _use(v, a);
        CheckList memory list;
        uint256 snap = vm.snapshotState();
        uint256 small = vault.maxRedeem(ALICE) / 10;
        list.gt("precondition_probe_redeemable_shares", int256(small), 0);
        _strangerCalls(list, small);
        _overHolding(list);
        _allowanceRedeem(list, small);
        _allowanceWithdraw(list);
        _usdtTransferFaults(list, small);
        _usdtReturnsNothing(list, small);
        _reentrantCycle(list, small);
        _shareTransfers(list);
        _drainedBuffer(list);
        vm.revertToState(snap);
        return _done(list);
    }

    /// @dev A cycle is due, and USDT's `transfer` calls back into the vault once, as a token with
    /// transfer hooks would: while Alice's redemption pays her, the hook calls `cycle()`. The
    /// vault must refuse the re-entry (`Reentrancy()`); the redemption itself goes through.
    function _reentrantCycle(CheckList memory list, uint256 small) private {
        uint256 snap = vm.snapshotState();
        vm.warp(block.timestamp + cfg.minCycleInterval);
        vm.roll(block.number + 1);
        FaultInjection.install(usdt);
        FaultInjection.callbackOnce(
            usdt, IERC20.transfer.selector, address(vault), abi.encodeCall(IVaultEntryPoints.cycle, ())
        );
        vm.prank(ALICE);
        (bool ok,) = address(vault).call(abi.encodeCall(YieldVault.redeem, (small, ALICE, ALICE)));
        (uint256 outcome, bytes4 reason) = FaultInjection.callbackOutcome(usdt);
        list.isTrue("precondition_reentry_redeem_succeeded", ok);
        list.eq("precondition_reentry_attempted", outcome == 0 ? int256(0) : int256(1), 1);
        list.isTrue(
            "reentrancy_cycle_in_redeem_refused", outcome == 1 && reason == VaultCore.Reentrancy.selector
        );
        vm.revertToState(snap);
    }

    /// @dev USDT's `transfer` and `transferFrom` run and move the balances but return no data,
    /// as a token without a return value does (USDT on Ethereum; the vault's token helper
    /// accepts an empty return as success): Alice's redemption goes through and pays her
    /// exactly its preview, Carol's deposit goes through and takes exactly what she deposits.
    /// Measured by USDT's own balances and the vault's share balances.
    function _usdtReturnsNothing(CheckList memory list, uint256 small) private {
        uint256 snap = vm.snapshotState();
        uint256 amount = 1000e18 + 7;
        _fund(CAROL, amount);
        vm.prank(CAROL);
        IERC20(usdt).approve(address(vault), amount);
        FaultInjection.install(usdt);
        FaultInjection.returnNothing(usdt, IERC20.transfer.selector);
        FaultInjection.returnNothing(usdt, IERC20.transferFrom.selector);
        (bool okRaw, bytes memory raw) = usdt.call(abi.encodeCall(IERC20.transfer, (address(this), 0)));
        list.isTrue("precondition_usdt_returns_no_data", okRaw && raw.length == 0);
        _noDataRedeem(list, small);
        _noDataDeposit(list, amount);
        vm.revertToState(snap);
    }

    function _noDataRedeem(CheckList memory list, uint256 small) private {
        uint256 preview = vault.previewRedeem(small);
        uint256 shares = vault.balanceOf(ALICE);
        uint256 aliceUsdt = IERC20(usdt).balanceOf(ALICE);
        uint256 vaultUsdt = IERC20(usdt).balanceOf(address(vault));
        vm.prank(ALICE);
        (bool ok,) = address(vault).call(abi.encodeCall(YieldVault.redeem, (small, ALICE, ALICE)));
        list.isTrue("token_no_data_redeem_succeeded", ok);
        list.eq(
            "token_no_data_redeem_shares_burnt",
            int256(shares) - int256(vault.balanceOf(ALICE)),
            int256(small)
        );
        list.eq(
            "token_no_data_redeem_paid_wei",
            int256(IERC20(usdt).balanceOf(ALICE)) - int256(aliceUsdt),
            int256(preview)
        );
        list.eq(
            "token_no_data_vault_usdt_out_wei",
            int256(vaultUsdt) - int256(IERC20(usdt).balanceOf(address(vault))),
            int256(preview)
        );
    }

    function _noDataDeposit(CheckList memory list, uint256 amount) private {
        uint256 sharesPreview = vault.previewDeposit(amount);
        uint256 carolUsdt = IERC20(usdt).balanceOf(CAROL);
        uint256 carolShares = vault.balanceOf(CAROL);
        vm.prank(CAROL);
        (bool okDeposit,) = address(vault).call(abi.encodeCall(YieldVault.deposit, (amount, CAROL)));
        list.isTrue("token_no_data_deposit_succeeded", okDeposit);
        list.eq(
            "token_no_data_deposit_taken_wei",
            int256(carolUsdt) - int256(IERC20(usdt).balanceOf(CAROL)),
            int256(amount)
        );
        list.eq(
            "token_no_data_deposit_shares_minted",
            int256(vault.balanceOf(CAROL)) - int256(carolShares),
            int256(sharesPreview)
        );
    }

    /// @dev The share token as an ERC-20 caller (a DEX, a multisig, a bridge) uses it: Bob
    /// `transfer`s shares to Carol and Alice's allowance lets Carol `transferFrom` Alice's:
    /// each call returns true (an ERC-20 caller that checks the return value, as OpenZeppelin's
    /// SafeERC20 does, takes false for a failure) and moves exactly the amount (share balances,
    /// the allowance).
    function _shareTransfers(CheckList memory list) private {
        uint256 snap = vm.snapshotState();
        uint256 supply = vault.totalSupply();
        uint256 amount = vault.balanceOf(BOB) / 7;
        list.gt("precondition_share_transfer_amount", int256(amount), 0);
        uint256 bob = vault.balanceOf(BOB);
        uint256 carol = vault.balanceOf(CAROL);
        vm.prank(BOB);
        (bool ok, bytes memory ret) = address(vault).call(abi.encodeCall(IERC20.transfer, (CAROL, amount)));
        list.isTrue("share_transfer_returned_true", ok && ret.length == 32 && abi.decode(ret, (bool)));
        list.eq("share_transfer_sender_moved", int256(bob) - int256(vault.balanceOf(BOB)), int256(amount));
        list.eq(
            "share_transfer_receiver_moved", int256(vault.balanceOf(CAROL)) - int256(carol), int256(amount)
        );
        uint256 alice = vault.balanceOf(ALICE);
        carol = vault.balanceOf(CAROL);
        vm.prank(ALICE);
        vault.approve(CAROL, amount + 3);
        vm.prank(CAROL);
        (ok, ret) = address(vault).call(abi.encodeCall(IERC20.transferFrom, (ALICE, CAROL, amount)));
        list.isTrue("share_transfer_from_returned_true", ok && ret.length == 32 && abi.decode(ret, (bool)));
        list.eq(
            "share_transfer_from_owner_moved", int256(alice) - int256(vault.balanceOf(ALICE)), int256(amount)
        );
        list.eq(
            "share_transfer_from_receiver_moved",
            int256(vault.balanceOf(CAROL)) - int256(carol),
            int256(amount)
        );
        list.eq("share_transfer_from_allowance_left", int256(vault.allowance(ALICE, CAROL)), 3);
        list.eq("share_transfer_supply_moved", int256(vault.totalSupply()) - int256(supply), 0);
        vm.revertToState(snap);
    }

    /// @dev Every other holder's shares go to Bob, who then withdraws all he may (`maxWithdraw`).
    /// With no withdrawal claims (precondition), the USDT the vault holds is all free, and a sole
    /// holder may take all of it: its balance (USDT's own) is then 0. The views a frontend or an
    /// integrator shows for it must say so: `legs().buffer` equals that balance, Bob may withdraw
    /// nothing more (`maxWithdraw`), and a withdrawal of one more wei is refused.
    function _drainedBuffer(CheckList memory list) private {
        uint256 snap = vm.snapshotState();
        address[4] memory others = [ALICE, CAROL, MALLORY, KEEPER];
        for (uint256 i; i < others.length; ++i) {
            uint256 held = vault.balanceOf(others[i]);
            if (held == 0) continue;
            vm.prank(others[i]);
            vault.transfer(BOB, held);
        }
        list.eq(
            "precondition_drain_sole_holder", int256(vault.totalSupply()) - int256(vault.balanceOf(BOB)), 0
        );
        list.eq("precondition_drain_no_claims", int256(vault.nextClaimId()), 0);
        uint256 most = vault.maxWithdraw(BOB);
        list.gt("precondition_drain_withdrawable_wei", int256(most), 0);
        vm.prank(BOB);
        (bool ok,) = address(vault).call(abi.encodeCall(YieldVault.withdraw, (most, BOB, BOB)));
        list.isTrue("drain_withdraw_succeeded", ok);
        uint256 balance = IERC20(usdt).balanceOf(address(vault));
        list.eq("drain_vault_usdt_left_wei", int256(balance), 0);
        list.eq("drain_legs_buffer_vs_usdt_balance_wei", int256(vault.legs().buffer), int256(balance));
        list.eq("drain_max_withdraw_after_wei", int256(vault.maxWithdraw(BOB)), 0);
        vm.prank(BOB);
        (bool okMore,) = address(vault).call(abi.encodeCall(YieldVault.withdraw, (1, BOB, BOB)));
        list.isTrue("drain_one_more_wei_refused", !okMore);
        vm.revertToState(snap);
    }

    /// @dev USDT's `transfer` fails the way non-standard tokens fail (fault proxy on USDT):
    /// it reverts without any data (`_revert_empty`), then it returns false
    /// (`_returns_false`). Alice redeems: the redemption must be refused as a whole, her shares
    /// and USDT, and the vault's USDT, unmoved (a vault that takes either for success burns her
    /// shares and pays nothing).
    function _usdtTransferFaults(CheckList memory list, uint256 small) private {
        uint256 snap = vm.snapshotState();
        FaultInjection.install(usdt);
        string[2] memory tags = ["_revert_empty", "_returns_false"];
        for (uint256 k; k < 2; ++k) {
            if (k == 0) FaultInjection.revertEmpty(usdt, IERC20.transfer.selector);
            else FaultInjection.returnData(usdt, IERC20.transfer.selector, abi.encode(false));
            uint256 shares = vault.balanceOf(ALICE);
            uint256 aliceUsdt = IERC20(usdt).balanceOf(ALICE);
            uint256 vaultUsdt = IERC20(usdt).balanceOf(address(vault));
            vm.prank(ALICE);
            (bool ok,) = address(vault).call(abi.encodeCall(YieldVault.redeem, (small, ALICE, ALICE)));
            list.isTrue(string.concat("token_fault_redeem_refused", tags[k]), !ok);
            list.eq(
                string.concat("token_fault_owner_shares_moved", tags[k]),
                int256(vault.balanceOf(ALICE)) - int256(shares),
                0
            );
            list.eq(
                string.concat("token_fault_owner_usdt_moved_wei", tags[k]),
                int256(IERC20(usdt).balanceOf(ALICE)) - int256(aliceUsdt),
                0
            );
            list.eq(
                string.concat("token_fault_vault_usdt_moved_wei", tags[k]),
                int256(IERC20(usdt).balanceOf(address(vault))) - int256(vaultUsdt),
                0
            );
        }
        vm.revertToState(snap);
    }

    /// @dev Mallory, with no allowance, against Alice's shares and the vault's entry points.
    function _strangerCalls(CheckList memory list, uint256 small) private {
        uint256 aliceShares = vault.balanceOf(ALICE);
        uint256 vaultUsdt = IERC20(usdt).balanceOf(address(vault));
        uint256 malloryUsdt = IERC20(usdt).balanceOf(MALLORY);
        uint256 through;
        through += _strangerCall(abi.encodeCall(YieldVault.withdraw, (small / 1e6, MALLORY, ALICE)));
        through += _strangerCall(abi.encodeCall(YieldVault.redeem, (small, MALLORY, ALICE)));
        through += _strangerCall(abi.encodeCall(YieldVault.requestRedeem, (small, MALLORY, ALICE)));
        through += _strangerCall(abi.encodeCall(IERC20.transferFrom, (ALICE, MALLORY, small)));
        // Shares for USDT the vault never received (no approval): refused, nothing minted.
        through += _strangerCall(abi.encodeCall(YieldVault.deposit, (small / 1e6, MALLORY)));
        through += _strangerCall(abi.encodeCall(YieldVault.mint, (small, MALLORY)));
        // The flash callback as the pair would call it, outside any flash of the vault's.
        through += _strangerCall(
            abi.encodeCall(
                IVaultEntryPoints.pancakeCall, (address(vault), small, small, abi.encode(0, small, 0))
            )
        );
        list.eq("access_stranger_calls_through", int256(through), 0);
        // The oracle and the keeper module refuse anyone but the vault.
        // (Addresses read before the prank: a prank applies to the very next call.)
        address oracle = address(vault.oracle());
        address module = vault.cycleModule();
        vm.prank(MALLORY);
        (bool okOracle,) = oracle.call(abi.encodeCall(IVaultEntryPoints.update, ()));
        list.isTrue("access_oracle_update_by_stranger_refused", !okOracle);
        vm.prank(MALLORY);
        (bool okModule,) = module.call(abi.encodeCall(IVaultEntryPoints.cycle, ()));
        list.isTrue("access_module_called_directly_refused", !okModule);
        list.eq("access_owner_shares_moved", int256(vault.balanceOf(ALICE)) - int256(aliceShares), 0);
        list.eq("access_stranger_shares", int256(vault.balanceOf(MALLORY)), 0);
        list.eq(
            "access_stranger_usdt_gain_wei", int256(IERC20(usdt).balanceOf(MALLORY)) - int256(malloryUsdt), 0
        );
        list.eq(
            "access_vault_usdt_moved_wei",
            int256(IERC20(usdt).balanceOf(address(vault))) - int256(vaultUsdt),
            0
        );
    }

    /// @dev Bob queues and transfers one share unit more than he holds: both refused.
    function _overHolding(CheckList memory list) private {
        uint256 supply = vault.totalSupply();
        uint256 bobShares = vault.balanceOf(BOB);
        vm.prank(BOB);
        (bool okOverQueue,) =
            address(vault).call(abi.encodeCall(YieldVault.requestRedeem, (bobShares + 1, BOB, BOB)));
        vm.prank(BOB);
        (bool okOverTransfer,) = address(vault).call(abi.encodeCall(IERC20.transfer, (CAROL, bobShares + 1)));
        list.isTrue("access_more_than_held_refused", !okOverQueue && !okOverTransfer);
        list.eq("access_supply_moved", int256(vault.totalSupply()) - int256(supply), 0);
        list.eq("access_holder_shares_moved", int256(vault.balanceOf(BOB)) - int256(bobShares), 0);
    }

    /// @dev Mallory calls the vault with `data`; 1 when it went through.
    function _strangerCall(bytes memory data) private returns (uint256) {
        vm.prank(MALLORY);
        (bool ok,) = address(vault).call(data);
        return ok ? 1 : 0;
    }

    /// @dev Alice lets Carol spend `allowed` shares (approve returns true); Carol redeems half
    /// of it for Alice: Alice's shares and the allowance go down by exactly that, Carol is paid.
    function _allowanceRedeem(CheckList memory list, uint256 allowed) private {
        vm.prank(ALICE);
        bool approved = vault.approve(CAROL, allowed);
        list.isTrue("allowance_approve_returned_true", approved);
        list.eq("allowance_recorded", int256(vault.allowance(ALICE, CAROL)), int256(allowed));
        uint256 aliceBefore = vault.balanceOf(ALICE);
        uint256 carolUsdt = IERC20(usdt).balanceOf(CAROL);
        vm.prank(CAROL);
        uint256 paid = vault.redeem(allowed / 2, CAROL, ALICE);
        list.eq(
            "allowance_redeem_owner_shares_burnt",
            int256(aliceBefore - vault.balanceOf(ALICE)),
            int256(allowed / 2)
        );
        list.eq(
            "allowance_redeem_spent", int256(allowed - vault.allowance(ALICE, CAROL)), int256(allowed / 2)
        );
        list.eq("allowance_redeem_paid_wei", int256(IERC20(usdt).balanceOf(CAROL) - carolUsdt), int256(paid));
        list.gt("allowance_redeem_paid_nonzero_wei", int256(paid), 0);
    }

    /// @dev Carol withdraws USDT worth half of what is left of the allowance: Alice's shares and
    /// the allowance go down by the shares burnt; then one share unit beyond what is left, by
    /// redeem and by the withdrawal queue, is refused.
    function _allowanceWithdraw(CheckList memory list) private {
        uint256 left = vault.allowance(ALICE, CAROL);
        uint256 aliceBefore = vault.balanceOf(ALICE);
        uint256 assets = vault.previewRedeem(left) / 2;
        vm.prank(CAROL);
        uint256 burnt = vault.withdraw(assets, CAROL, ALICE);
        list.eq(
            "allowance_withdraw_owner_shares_burnt",
            int256(aliceBefore - vault.balanceOf(ALICE)),
            int256(burnt)
        );
        list.eq("allowance_withdraw_spent", int256(left - vault.allowance(ALICE, CAROL)), int256(burnt));
        left = vault.allowance(ALICE, CAROL);
        vm.prank(CAROL);
        (bool okBeyond,) = address(vault).call(abi.encodeCall(YieldVault.redeem, (left + 1, CAROL, ALICE)));
        vm.prank(CAROL);
        (bool okQueueBeyond,) =
            address(vault).call(abi.encodeCall(YieldVault.requestRedeem, (left + 1, CAROL, ALICE)));
        list.isTrue("allowance_beyond_refused", !okBeyond && !okQueueBeyond);
    }

    // ------------------------------------------------------------------------------ ERC-4626

    /// @notice ERC-4626 exchange rates, measured by balances: Carol deposits, mints, withdraws
    /// and redeems odd amounts; each call moves exactly what the preview just before it said
    /// (USDT by the token's balances, shares by the vault's balances), and each rate is the
    /// vault's declared one (totalAssets() + 1 per totalSupply() + 1e6 share units) rounded in
    /// the vault's favour, by no more than one unit: compared exactly, by cross-multiplying.
    function rounding(YieldVault v, VaultAddresses calldata a) external returns (Check[] memory) {
        _use(v, a);
        CheckList memory list;
        uint256 snap = vm.snapshotState();
        _fund(CAROL, 50_000e18);
        vm.prank(CAROL);
        IERC20(usdt).approve(address(vault), type(uint256).max);
        // Odd amounts, sized by the vault's own rate (a share unit may be worth anything).
        _roundDeposit(list, 12_345_678_901_234_567_891);
        _roundMint(list, vault.convertToShares(7_777_777_777_777_777_777) + 7);
        _roundWithdraw(list, vault.maxWithdraw(CAROL) / 3 + 7);
        _roundRedeem(list, vault.maxRedeem(CAROL) / 3 + 3);
        // maxRedeem: the shares maxWithdraw's assets are worth, rounded down, and redeemable.
        (uint256 a0, uint256 s0) = _rate();
        uint256 maxShares = vault.maxRedeem(CAROL);
        uint256 maxAssets = vault.maxWithdraw(CAROL);
        list.le("erc4626_max_redeem_vs_balance", int256(maxShares), int256(vault.balanceOf(CAROL)));
        list.isTrue("erc4626_max_redeem_rounds_down", maxShares * a0 <= maxAssets * s0);
        vm.prank(CAROL);
        (bool okMax,) = address(vault).call(abi.encodeCall(YieldVault.redeem, (maxShares, CAROL, CAROL)));
        list.isTrue("erc4626_max_redeem_redeemable", okMax);
        vm.revertToState(snap);
        return _done(list);
    }

    /// deposit: shares = floor(assets x S / A).
    function _roundDeposit(CheckList memory list, uint256 assets) private {
        (uint256 a0, uint256 s0) = _rate();
        uint256 preview = vault.previewDeposit(assets);
        (uint256 usdtBefore, uint256 sharesBefore) = _carol();
        vm.prank(CAROL);
        vault.deposit(assets, CAROL);
        (uint256 usdtAfter, uint256 sharesAfter) = _carol();
        _exact(list, "deposit", usdtBefore - usdtAfter, assets, sharesAfter - sharesBefore, preview);
        _floorShares(list, "erc4626_deposit", sharesAfter - sharesBefore, assets, a0, s0);
    }

    /// mint: assets paid = ceil(shares x A / S).
    function _roundMint(CheckList memory list, uint256 shares) private {
        (uint256 a0, uint256 s0) = _rate();
        uint256 preview = vault.previewMint(shares);
        (uint256 usdtBefore, uint256 sharesBefore) = _carol();
        vm.prank(CAROL);
        vault.mint(shares, CAROL);
        (uint256 usdtAfter, uint256 sharesAfter) = _carol();
        _exact(list, "mint", sharesAfter - sharesBefore, shares, usdtBefore - usdtAfter, preview);
        _ceilAssets(list, "erc4626_mint", usdtBefore - usdtAfter, shares, a0, s0);
    }

    /// withdraw: shares burnt = ceil(assets x S / A).
    function _roundWithdraw(CheckList memory list, uint256 assets) private {
        (uint256 a0, uint256 s0) = _rate();
        uint256 preview = vault.previewWithdraw(assets);
        (uint256 usdtBefore, uint256 sharesBefore) = _carol();
        vm.prank(CAROL);
        vault.withdraw(assets, CAROL, CAROL);
        (uint256 usdtAfter, uint256 sharesAfter) = _carol();
        _exact(list, "withdraw", usdtAfter - usdtBefore, assets, sharesBefore - sharesAfter, preview);
        _ceilShares(list, "erc4626_withdraw", sharesBefore - sharesAfter, assets, a0, s0);
    }

    /// redeem: assets paid = floor(shares x A / S).
    function _roundRedeem(CheckList memory list, uint256 shares) private {
        (uint256 a0, uint256 s0) = _rate();
        uint256 preview = vault.previewRedeem(shares);
        (uint256 usdtBefore, uint256 sharesBefore) = _carol();
        vm.prank(CAROL);
        vault.redeem(shares, CAROL, CAROL);
        (uint256 usdtAfter, uint256 sharesAfter) = _carol();
        _exact(list, "redeem", sharesBefore - sharesAfter, shares, usdtAfter - usdtBefore, preview);
        _floorAssets(list, "erc4626_redeem", usdtAfter - usdtBefore, shares, a0, s0);
    }

    /// @dev The vault's declared rate now: totalAssets() + 1 per totalSupply() + 1e6.
    function _rate() private view returns (uint256 a, uint256 s) {
        a = vault.totalAssets() + 1;
        s = vault.totalSupply() + 1e6;
    }

    function _carol() private view returns (uint256 usdtBalance, uint256 shares) {
        return (IERC20(usdt).balanceOf(CAROL), vault.balanceOf(CAROL));
    }

    /// @dev What was asked moved exactly (`asked` vs `moved`), and the other side moved exactly
    /// what the preview said.
    function _exact(
        CheckList memory list,
        string memory op,
        uint256 moved,
        uint256 asked,
        uint256 otherMoved,
        uint256 preview
    ) private pure {
        list.eq(string.concat("erc4626_", op, "_amount_moved"), int256(moved), int256(asked));
        list.eq(string.concat("erc4626_", op, "_vs_preview"), int256(otherMoved), int256(preview));
    }

    /// shares x A <= assets x S < (shares + 1) x A: the depositor never gets more (nor one
    /// unit less) than the assets buy.
    function _floorShares(
        CheckList memory list,
        string memory name,
        uint256 shares,
        uint256 assets,
        uint256 a,
        uint256 s
    ) private pure {
        list.isTrue(string.concat(name, "_rounds_down"), shares * a <= assets * s);
        list.isTrue(string.concat(name, "_within_one_unit"), assets * s < (shares + 1) * a);
    }

    /// (assets - 1) x S < shares x A <= assets x S: minting costs at least what the shares are
    /// worth, and at most one unit more.
    function _ceilAssets(
        CheckList memory list,
        string memory name,
        uint256 assets,
        uint256 shares,
        uint256 a,
        uint256 s
    ) private pure {
        list.isTrue(string.concat(name, "_rounds_up"), shares * a <= assets * s);
        list.isTrue(string.concat(name, "_within_one_unit"), (assets - 1) * s < shares * a);
    }

    /// (shares - 1) x A < assets x S <= shares x A: a withdrawal burns at least the shares
    /// the assets are worth, and at most one unit more.
    function _ceilShares(
        CheckList memory list,
        string memory name,
        uint256 shares,
        uint256 assets,
        uint256 a,
        uint256 s
    ) private pure {
        list.isTrue(string.concat(name, "_rounds_up"), assets * s <= shares * a);
        list.isTrue(string.concat(name, "_within_one_unit"), (shares - 1) * a < assets * s);
    }

    /// assets x S <= shares x A < (assets + 1) x S: a redemption pays at most what the shares
    /// are worth, and at most one unit less.
    function _floorAssets(
        CheckList memory list,
        string memory name,
        uint256 assets,
        uint256 shares,
        uint256 a,
        uint256 s
    ) private pure {
        list.isTrue(string.concat(name, "_rounds_down"), assets * s <= shares * a);
        list.isTrue(string.concat(name, "_within_one_unit"), shares * a < (assets + 1) * s);
    }

    // ------------------------------------------------------------------------------ config

    /// @notice Configuration validation at deployment, each bound from both sides: the code
    /// under test (the scenario's own factory: the runner's, a mutant's, a broken vault's) is
    /// deployed with configurations just beyond a bound, each refused with exactly the vault's
    /// error naming the field, and with configurations at the edge of every bound, accepted.
    /// Outside a runner (a group deployed by a test) there is no factory: the checks say so.
    function config(YieldVault v, VaultAddresses calldata a, IVaultFactory factory)
        external
        returns (Check[] memory)
    {
        _use(v, a);
        _factory = address(factory);
        CheckList memory list;
        uint256 snap = vm.snapshotState();
        _probeConfigRefused(list, factory);
        _probeConfigEdges(list, factory);
        _probeAddresses(list, factory);
        vm.revertToState(snap);
        _dustVaultRefund(list, factory);
        return _done(list);
    }

    /// @dev A vault of the code under test whose first deposit is dust (a few 10^13 wei of USDT, a
    /// first depositor trying the vault out): its first cycle holds 1 to 2 units (10^-10 BTC) of
    /// BTCB exposure with a delta band of 0 units, so it sends a short of quantity 1. The dust
    /// sizes are tried in turn (in state snapshots) until Aster's book holds such a trade
    /// (precondition); Aster's keeper then cancels it and refunds its margin. Aster's book holds
    /// no pending trade of the vault, so neither may `pendingHedge()` (replicas only: nothing
    /// executes or refunds trades on a real BSC fork).
    function _dustVaultRefund(CheckList memory list, IVaultFactory f) private {
        (bool okHashes,) = addrs.aster.staticcall(abi.encodeWithSignature("pendingTradeHashes()"));
        (bool okAdmin, bytes memory adminRet) = addrs.aster.staticcall(abi.encodeWithSignature("admin()"));
        if (!okHashes || !okAdmin || adminRet.length != 32 || address(f) == address(0)) {
            list.eq("precondition_skipped_dust_refund_on_fork", 0, 0);
            return;
        }
        address keeper = abi.decode(adminRet, (address));
        bool found;
        for (uint256 i; i < 8 && !found; ++i) {
            uint256 snap = vm.snapshotState();
            // 2e13 x 1.4^i wei of USDT: the step is finer than the factor 2 a qty of 1 spans.
            uint256 dust = 2e13 * (14 ** i) / (10 ** i);
            (YieldVault dv, bytes32 trade, uint256 qty) = _dustVaultFirstCycle(dust);
            if (address(dv) != address(0) && qty == 1) {
                found = true;
                _dustRefundCheck(list, keeper, dv, trade);
            }
            vm.revertToState(snap);
        }
        list.isTrue("precondition_dust_vault_sent_qty_1", found);
    }

    /// @dev Aster's keeper cancels `trade` (its margin refunded): `pendingHedge()` must then
    /// report nothing pending, as Aster's book does.
    function _dustRefundCheck(CheckList memory list, address keeper, YieldVault dv, bytes32 trade) private {
        vm.prank(keeper);
        (bool okCancel,) = addrs.aster.call(abi.encodeWithSignature("cancelPendingTrade(bytes32)", trade));
        list.isTrue("precondition_dust_trade_refunded", okCancel);
        (bool pending, uint256 q, uint256 margin,) = dv.pendingHedge();
        list.isTrue("dust_pending_hedge_after_refund_vs_aster_book", !pending && q == 0 && margin == 0);
    }

    /// @dev Deploys a vault, deposits `dust` for Carol, waits one TWAP window and cycles it; the
    /// vault's pending trade in Aster's book (hash and quantity), if there is exactly one.
    function _dustVaultFirstCycle(uint256 dust) private returns (YieldVault dv, bytes32 trade, uint256 qty) {
        try IVaultFactory(_factory).deployVault(addrs, cfg) returns (YieldVault v) {
            dv = v;
        } catch {
            return (dv, trade, qty);
        }
        _fund(CAROL, dust);
        vm.prank(CAROL);
        IERC20(usdt).approve(address(dv), dust);
        vm.prank(CAROL);
        (bool okDeposit,) = address(dv).call(abi.encodeCall(YieldVault.deposit, (dust, CAROL)));
        vm.warp(block.timestamp + cfg.twapWindow);
        vm.roll(block.number + 1);
        vm.prank(KEEPER);
        (bool okCycle,) = address(dv).call(abi.encodeCall(IVaultEntryPoints.cycle, ()));
        if (!okDeposit || !okCycle) return (YieldVault(address(0)), trade, qty);
        (, bytes memory ret) = addrs.aster.staticcall(abi.encodeWithSignature("pendingTradeHashes()"));
        bytes32[] memory hashes = abi.decode(ret, (bytes32[]));
        uint256 n;
        for (uint256 i; i < hashes.length; ++i) {
            (bool ok, bytes memory t) =
                addrs.aster.staticcall(abi.encodeWithSignature("pendingTrade(bytes32)", hashes[i]));
            if (!ok || t.length < 12 * 32) continue;
            (address user,,,,,,, uint80 tradeQty) =
                abi.decode(t, (address, uint64, uint32, address, bool, address, uint96, uint80));
            if (user != address(dv)) continue;
            (trade, qty) = (hashes[i], tradeQty);
            n++;
        }
        if (n != 1) qty = 0;
    }

    function _probeConfigRefused(CheckList memory list, IVaultFactory f) private {
        Config memory c = cfg;
        c.minCycleInterval = 0;
        _refused(list, f, "minCycleInterval_0", c, _interval("minCycleInterval"));
        c = cfg;
        c.twapWindow = 3;
        c.maxTwapAge = 8;
        _refused(list, f, "twapWindow_3", c, _interval("twapWindow"));
        c = cfg;
        c.maxTwapAge = c.twapWindow * 2 - 1;
        _refused(list, f, "maxTwapAge_below_2_windows", c, _interval("maxTwapAge"));
        c = cfg;
        c.maxOracleAge = 0;
        _refused(list, f, "maxOracleAge_0", c, _interval("maxOracleAge"));
        c = cfg;
        c.pendingHedgeTimeout = 0;
        _refused(list, f, "pendingHedgeTimeout_0", c, _interval("pendingHedgeTimeout"));
        c = cfg;
        c.rebalanceThresholdBps = 0;
        _refused(list, f, "rebalanceThresholdBps_0", c, _bps("rebalanceThresholdBps"));
        c.rebalanceThresholdBps = uint16(BPS + 1);
        _refused(list, f, "rebalanceThresholdBps_above_bps", c, _bps("rebalanceThresholdBps"));
        c = cfg;
        c.deltaBandBps = 0;
        _refused(list, f, "deltaBandBps_0", c, _bps("deltaBandBps"));
        c.deltaBandBps = uint16(BPS + 1);
        _refused(list, f, "deltaBandBps_above_bps", c, _bps("deltaBandBps"));
        c = cfg;
        c.maxDeviationBps = 0;
        _refused(list, f, "maxDeviationBps_0", c, _bps("maxDeviationBps"));
        c.maxDeviationBps = uint16(BPS + 1);
        _refused(list, f, "maxDeviationBps_above_bps", c, _bps("maxDeviationBps"));
        c = cfg;
        c.maxNavDropBps = c.maxBountyBps;
        _refused(list, f, "maxNavDropBps_at_bounty", c, _bps("maxNavDropBps"));
        c.maxNavDropBps = uint16(BPS + 1);
        _refused(list, f, "maxNavDropBps_above_bps", c, _bps("maxNavDropBps"));
        c = cfg;
        c.safeCycleThreshold = 0;
        _refused(list, f, "safeCycleThreshold_0", c, _param("safeCycleThreshold"));
        c = cfg;
        c.calmVolBps = c.stormVolBps;
        _refused(list, f, "calmVolBps_at_storm", c, _bps("calmVolBps"));
        _probeConfigRefused2(list, f);
    }

    function _probeConfigRefused2(CheckList memory list, IVaultFactory f) private {
        Config memory c = cfg;
        c.flashCapBps = 0;
        _refused(list, f, "flashCapBps_0", c, _bps("flashCapBps"));
        c.flashCapBps = uint16(BPS + 1);
        _refused(list, f, "flashCapBps_above_bps", c, _bps("flashCapBps"));
        c = cfg;
        c.minFlashStepBps = uint16(BPS + 1);
        _refused(list, f, "minFlashStepBps_above_bps", c, _bps("minFlashStepBps"));
        c = cfg;
        c.swapSlippageBps = 0;
        _refused(list, f, "swapSlippageBps_0", c, _bps("swapSlippageBps"));
        c.swapSlippageBps = 1001;
        _refused(list, f, "swapSlippageBps_1001", c, _bps("swapSlippageBps"));
        c = cfg;
        c.maxNavDropBps = 600;
        c.maxBountyBps = 501;
        _refused(list, f, "maxBountyBps_501", c, _bps("maxBountyBps"));
        c = cfg;
        c.profitBountyBps = uint16(BPS + 1);
        _refused(list, f, "profitBountyBps_above_bps", c, _bps("profitBountyBps"));
        c = cfg;
        c.maxGasPrice = 0;
        _refused(list, f, "maxGasPrice_0", c, _param("maxGasPrice"));
        c = cfg;
        c.bountyGasUnits = 0;
        _refused(list, f, "bountyGasUnits_0", c, _param("bountyGasUnits"));
        c = cfg;
        c.bufferTargetBps = uint16(BPS + 1);
        _refused(list, f, "bufferTargetBps_above_bps", c, _bps("bufferTargetBps"));
        c = cfg;
        c.hedgeLeverage = 0;
        _refused(list, f, "hedgeLeverage_0", c, _param("hedgeLeverage"));
        c.hedgeLeverage = 51;
        _refused(list, f, "hedgeLeverage_51", c, _param("hedgeLeverage"));
        // Weights: the sum off by one, or the buffer below its target with the sum right.
        c = cfg;
        c.calm.lpBps += 1;
        _refused(list, f, "calm_weights_sum", c, _weights(Regime.CALM));
        c = cfg;
        c.normal.bufferBps = c.bufferTargetBps - 1;
        c.normal.lpBps = uint16(BPS - c.normal.alpBps - c.normal.bufferBps);
        _refused(list, f, "normal_buffer_below_target", c, _weights(Regime.NORMAL));
        c = cfg;
        c.storm.alpBps -= 1;
        _refused(list, f, "storm_weights_sum", c, _weights(Regime.STORM));
    }

    /// @dev Every bound at its edge, accepted: the upper edges in one configuration, the lower
    /// edges in another, the buffer target at 100% in a third.
    function _probeConfigEdges(CheckList memory list, IVaultFactory f) private {
        Config memory c = cfg;
        c.rebalanceThresholdBps = uint16(BPS);
        c.deltaBandBps = uint16(BPS);
        c.maxDeviationBps = uint16(BPS);
        c.maxNavDropBps = uint16(BPS);
        c.flashCapBps = uint16(BPS);
        c.minFlashStepBps = uint16(BPS);
        c.swapSlippageBps = 1000;
        c.maxBountyBps = 500;
        c.profitBountyBps = uint16(BPS);
        c.hedgeLeverage = 50;
        _accepted(list, f, "upper_edges", c);
        c = cfg;
        c.minCycleInterval = 1;
        c.twapWindow = 4;
        c.maxTwapAge = 8;
        c.maxOracleAge = 1;
        c.pendingHedgeTimeout = 1;
        c.rebalanceThresholdBps = 1;
        c.deltaBandBps = 1;
        c.maxDeviationBps = 1;
        c.maxBountyBps = 0;
        c.maxNavDropBps = 1;
        c.safeCycleThreshold = 1;
        c.calmVolBps = c.stormVolBps - 1;
        c.flashCapBps = 1;
        c.minFlashStepBps = 0;
        c.swapSlippageBps = 1;
        c.profitBountyBps = 0;
        c.maxGasPrice = 1;
        c.bountyGasUnits = 1;
        c.bufferTargetBps = c.normal.bufferBps < c.calm.bufferBps ? c.normal.bufferBps : c.calm.bufferBps;
        if (c.storm.bufferBps < c.bufferTargetBps) c.bufferTargetBps = c.storm.bufferBps;
        c.hedgeLeverage = 1;
        _accepted(list, f, "lower_edges", c);
        c = cfg;
        c.bufferTargetBps = uint16(BPS);
        Weights memory all = Weights({lpBps: 0, alpBps: 0, bufferBps: uint16(BPS)});
        (c.calm, c.normal, c.storm) = (all, all, all);
        _accepted(list, f, "buffer_target_100pct", c);
    }

    /// @dev Every dependency address zero, and the flash pair equal to the LP pair: refused.
    /// The two pairs are read by the constructor before validation, so a zero pair reverts
    /// there, without data; every other zero is ZeroAddress().
    function _probeAddresses(CheckList memory list, IVaultFactory f) private {
        bytes memory zero = abi.encodeWithSelector(VaultCore.ZeroAddress.selector);
        VaultAddresses memory a = addrs;
        a.usdt = address(0);
        _refusedAt(list, f, "usdt_zero", a, zero);
        a = addrs;
        a.btcb = address(0);
        _refusedAt(list, f, "btcb_zero", a, zero);
        a = addrs;
        a.router = address(0);
        _refusedAt(list, f, "router_zero", a, zero);
        a = addrs;
        a.aster = address(0);
        _refusedAt(list, f, "aster_zero", a, zero);
        a = addrs;
        a.alpToken = address(0);
        _refusedAt(list, f, "alpToken_zero", a, zero);
        a = addrs;
        a.bnbUsdFeed = address(0);
        _refusedAt(list, f, "bnbUsdFeed_zero", a, zero);
        a = addrs;
        a.hedgePairBase = address(0);
        _refusedAt(list, f, "hedgePairBase_zero", a, zero);
        a = addrs;
        a.flashPair = a.lpPair;
        _refusedAt(
            list, f, "flash_pair_is_lp_pair", a, abi.encodeWithSelector(VaultCore.PairMismatch.selector)
        );
        a = addrs;
        a.lpPair = a.flashPair;
        a.flashPair = addrs.lpPair;
        _refusedAt(
            list, f, "lp_pair_not_btcb_usdt", a, abi.encodeWithSelector(VaultCore.PairMismatch.selector)
        );
    }

    function _refused(
        CheckList memory list,
        IVaultFactory f,
        string memory name,
        Config memory c,
        bytes memory want
    ) private {
        _refusedAt(list, f, name, addrs, want, c);
    }

    function _refusedAt(
        CheckList memory list,
        IVaultFactory f,
        string memory name,
        VaultAddresses memory a,
        bytes memory want
    ) private {
        _refusedAt(list, f, name, a, want, cfg);
    }

    function _refusedAt(
        CheckList memory list,
        IVaultFactory f,
        string memory name,
        VaultAddresses memory a,
        bytes memory want,
        Config memory c
    ) private {
        bool ok;
        bytes memory reason;
        try f.deployVault(a, c) returns (YieldVault) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        list.isTrue(string.concat("config_refused_", name), !ok && keccak256(reason) == keccak256(want));
    }

    function _accepted(CheckList memory list, IVaultFactory f, string memory name, Config memory c) private {
        bool ok;
        try f.deployVault(addrs, c) returns (YieldVault) {
            ok = true;
        } catch {}
        list.isTrue(string.concat("config_accepted_", name), ok);
    }

    function _interval(bytes32 field) private pure returns (bytes memory) {
        return abi.encodeWithSelector(VaultCore.InvalidInterval.selector, field);
    }

    function _bps(bytes32 field) private pure returns (bytes memory) {
        return abi.encodeWithSelector(VaultCore.InvalidBps.selector, field);
    }

    function _param(bytes32 field) private pure returns (bytes memory) {
        return abi.encodeWithSelector(VaultCore.InvalidParameter.selector, field);
    }

    function _weights(Regime r) private pure returns (bytes memory) {
        return abi.encodeWithSelector(VaultCore.InvalidWeights.selector, r);
    }
}
