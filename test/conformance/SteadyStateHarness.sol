// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Check} from "../../script/chaos/ScenarioTypes.sol";
import {SteadyState, Snapshot, CheckList, Deps, Tape, CycleInput} from "../../script/chaos/SteadyState.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {Config, RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @title SteadyStateHarness
/// @notice The conformance test's window into the Solidity library (xtask/tests/conformance.rs):
/// the live-fork engine places this code at an unused address of its fork with an `eth_call`
/// state override and calls it at the exact blocks of a real keeper cycle, so the library
/// measures and judges the same chain state the Rust module (xtask/src/chaos/steady/) measures and
/// judges. Nothing is mined; the tape is loaded into this contract's storage within each call.
contract SteadyStateHarness {
    using SteadyState for CheckList;

    Tape internal tape;
    SteadyState.Fairness internal fair;

    /// @notice What `SteadyState.record` stores for this block: the pair's cumulative BTCB price
    /// as of now.
    function cumulativeNow(address pair, address btcb) external returns (uint256) {
        tape.pair = pair;
        tape.btcIsToken0 = _token0(pair) == btcb;
        return SteadyState.cumulativeNow(tape);
    }

    /// @notice `SteadyState.measure` now, with a tape of the given points and cycles (the
    /// deployment first), ABI-encoded so it can be handed back to the checks below.
    function measure(
        Deps calldata d,
        address vault,
        uint64 start,
        uint64[] calldata times,
        uint256[] calldata cumulatives,
        uint64[] calldata cycles
    ) external returns (bytes memory) {
        tape.pair = d.lpPair;
        tape.btcIsToken0 = _token0(d.lpPair) == d.btcb;
        tape.start = start;
        tape.times = times;
        tape.cumulatives = cumulatives;
        tape.cycles = cycles;
        return abi.encode(SteadyState.measure(d, tape, YieldVault(vault)));
    }

    /// @notice The shadow's headline numbers of a measured snapshot.
    function shadowOf(bytes calldata snapshot)
        external
        pure
        returns (uint256 nav, uint256 tolerance, uint256 twap, uint256 twapMin, uint256 twapMax)
    {
        Snapshot memory s = abi.decode(snapshot, (Snapshot));
        return (s.shadow.nav, s.shadow.tolerance, s.shadow.twap, s.shadow.twapMin, s.shadow.twapMax);
    }

    /// @notice The checks the live-fork engine evaluates around one successful or reverted
    /// cycle: the common cycle checks, S8 after a NORMAL cycle without a pending trade before
    /// it, and S7's liquid share of `holder` (its shares and `maxWithdraw` read now).
    /// @notice One cycle: the dependencies, the vault, the encoded snapshots before and after
    /// it, what the cycle did, the tag of its checks and the holder S7 watches.
    struct CycleCase {
        Deps d;
        address vault;
        bytes a;
        bytes b;
        CycleInput o;
        string tag;
        address holder;
    }

    function cycle(CycleCase memory c) external view returns (Check[] memory out) {
        Snapshot memory sa = abi.decode(c.a, (Snapshot));
        Snapshot memory sb = abi.decode(c.b, (Snapshot));
        Config memory cfg = YieldVault(c.vault).getConfig();
        CheckList memory list;
        SteadyState.cycleChecks(list, c.tag, c.d, c.vault, cfg, sa, sb, c.o);
        if (sb.mode == RiskMode.NORMAL && c.o.ok && !sa.pending) list.s8Hedge(c.tag, sb, cfg);
        YieldVault v = YieldVault(c.vault);
        list.s7LiquidShare(c.tag, sb, v.balanceOf(c.holder), v.maxWithdraw(c.holder));
        (out,) = SteadyState.finish(list);
    }

    /// @notice S5 between two snapshots.
    function unchanged(bytes calldata a, bytes calldata b, string calldata tag)
        external
        pure
        returns (Check[] memory out)
    {
        CheckList memory list;
        list.s5Unchanged(tag, abi.decode(a, (Snapshot)), abi.decode(b, (Snapshot)));
        (out,) = SteadyState.finish(list);
    }

    /// @notice One deposit for S10: who paid what, the holders and their shares before it, and
    /// the encoded snapshots around it.
    struct DepositCase {
        address vault;
        address actor;
        uint256 amount;
        address[] holders;
        uint256[] sharesBefore;
        bytes a;
        bytes b;
    }

    /// @notice S10 for one deposit (shares after it read now).
    function deposit(DepositCase memory c) external returns (Check[] memory out) {
        Snapshot memory sa = abi.decode(c.a, (Snapshot));
        Snapshot memory sb = abi.decode(c.b, (Snapshot));
        SteadyState.fairness(
            fair,
            SteadyState.Action.DEPOSIT,
            c.actor,
            c.amount,
            c.holders,
            c.sharesBefore,
            sa,
            sb,
            YieldVault(c.vault)
        );
        CheckList memory list;
        SteadyState.s10Checks(list, fair);
        (out,) = SteadyState.finish(list);
    }

    function _token0(address pair) private view returns (address t) {
        (bool ok, bytes memory ret) = pair.staticcall(abi.encodeWithSignature("token0()"));
        if (ok && ret.length == 32) t = abi.decode(ret, (address));
    }
}
