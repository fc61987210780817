// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {IPancakePair} from "../../contracts/interfaces/IPancake.sol";
import {Config, RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @notice The steady-state checks S1-S8 of DESIGN.md as predicates over what can be measured
/// from outside the vault. Each returns true when the check holds; tests show both that the
/// vault keeps each one and that each one catches a deliberately broken state.
abstract contract SteadyState {
    uint256 internal constant BPS = 10_000;

    /// @notice S1 value: NAV after >= NAV before - bounty - the slippage/fee budget.
    function s1Value(uint256 navBefore, uint256 navAfter, uint256 bounty, uint256 budgetBps)
        internal
        pure
        returns (bool)
    {
        return navAfter + bounty + navBefore * budgetBps / BPS >= navBefore;
    }

    /// @notice S2 bounty: within maxBountyBps of NAV and within 1.5 x gasUnits x
    /// min(gasprice, maxGasPrice) x BNB/USD, whatever the gas price was.
    function s2Bounty(uint256 bounty, uint256 nav, Config memory cfg, uint256 gasPrice, uint256 bnbUsd18)
        internal
        pure
        returns (bool)
    {
        uint256 price = gasPrice < cfg.maxGasPrice ? gasPrice : cfg.maxGasPrice;
        uint256 gasCap = uint256(cfg.bountyGasUnits) * price * bnbUsd18 / 1e18 * 3 / 2;
        return bounty <= nav * cfg.maxBountyBps / BPS + 1 && bounty <= gasCap + 1;
    }

    /// @notice S3 flash: no flash state, borrowed amount or allowance to the flash pair survives
    /// a cycle, and the flash pair's K did not decrease.
    function s3Flash(YieldVault vault, IPancakePair pair, uint256 kBefore) internal view returns (bool) {
        (bool active, uint256 borrowed, uint256 allowance) = vault.flashState();
        (uint112 r0, uint112 r1,) = pair.getReserves();
        return !active && borrowed == 0 && allowance == 0 && uint256(r0) * r1 >= kBefore;
    }

    /// @notice S4 risk mode: a deviation beyond the guard means ONLY_UNWIND and paused deposits.
    function s4Guard(YieldVault vault, uint256 deviationBps, uint256 maxDeviationBps, address anyone)
        internal
        view
        returns (bool)
    {
        if (deviationBps <= maxDeviationBps) return true;
        return vault.riskMode() == RiskMode.ONLY_UNWIND && vault.maxDeposit(anyone) == 0
            && vault.maxMint(anyone) == 0;
    }

    /// @notice S4 exit: ONLY_UNWIND -> NORMAL only with safeCycleThreshold healthy cycles.
    function s4Exit(RiskMode before, RiskMode after_, uint256 healthyCount, uint256 threshold)
        internal
        pure
        returns (bool)
    {
        if (before == RiskMode.ONLY_UNWIND && after_ == RiskMode.NORMAL) {
            return healthyCount >= threshold;
        }
        return true;
    }

    /// @notice S5 atomicity: a reverted cycle leaves the state digest unchanged.
    function s5Atomic(bytes32 digestBefore, bytes32 digestAfter) internal pure returns (bool) {
        return digestBefore == digestAfter;
    }

    /// @notice S6 share price: no jump beyond `boundBps` within one cycle.
    function s6SharePrice(uint256 before, uint256 after_, uint256 boundBps) internal pure returns (bool) {
        uint256 diff = after_ > before ? after_ - before : before - after_;
        return diff * BPS <= before * boundBps;
    }

    /// @notice S7 exit liveness: the holder can withdraw its pro-rata share of the liquid buffer
    /// now (tried for real; the caller reverts its own state afterwards if it wants).
    function s7ExitLiveness(YieldVault vault, address holder) internal returns (bool) {
        uint256 supply = vault.totalSupply();
        if (supply == 0) return true;
        uint256 proRata = vault.legs().buffer * vault.balanceOf(holder) / supply;
        uint256 max = vault.maxWithdraw(holder);
        if (max + 1 < proRata) return false;
        _prank(holder);
        try vault.withdraw(max, holder, holder) {
            return true;
        } catch {
            return false;
        }
    }

    /// @notice S8 hedge: |delta| within deltaBandBps (a pending trade counted once).
    function s8Hedge(YieldVault vault, uint256 bandBps) internal view returns (bool) {
        int256 d = vault.hedgeDeltaBps();
        // bps values are tiny.
        // forge-lint: disable-next-line(unsafe-typecast)
        return (d < 0 ? -d : d) <= int256(bandBps);
    }

    /// @dev Implemented by the test (vm.prank).
    function _prank(address who) internal virtual;
}
