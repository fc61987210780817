// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Check} from "./ScenarioTypes.sol";
import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {IPancakePair} from "../../contracts/interfaces/IPancake.sol";
import {IERC20} from "../../contracts/interfaces/IERC20.sol";
import {AggregatorV3Interface} from "../../contracts/interfaces/IChainlink.sol";
import {Config, CycleRecord, Legs, RiskMode} from "../../contracts/vault/VaultTypes.sol";

/// @notice The vault's observable state at one moment, read only through its public views and
/// the dependencies' own state (pair reserves, balances).
struct Snapshot {
    uint256 timestamp;
    uint256 nav;
    uint256 sharePrice;
    uint256 totalSupply;
    Legs legs;
    RiskMode mode;
    uint256 healthyCount;
    bool pending;
    uint256 pendingQty;
    bool flashActive;
    uint256 flashBorrowed;
    uint256 flashAllowance;
    int256 hedgeDeltaBps;
    bytes32 digest;
    /// reserve0 * reserve1 of the flash pair and of the LP pair.
    uint256 flashK;
    uint256 lpK;
    uint256 vaultUsdt;
    uint256 vaultAlp;
    uint256 vaultBtcb;
    uint256 vaultLp;
}

/// @notice A growable list of checks (memory arrays cannot grow in place).
struct CheckList {
    Check[] items;
    uint256 length;
}

/// @title SteadyState
/// @notice Measures the steady-state hypothesis S1-S8 (DESIGN.md) and states each check as a
/// `Check`: a named raw observation, the bound it is held to, the relation, and the verdict.
/// @dev Every bound is computed here from the vault's configuration and the dependencies' state,
/// never taken from a vault view that could share the vault's own mistake (the bounty caps are
/// recomputed from the Chainlink feed, the flash cap from the flash pair's reserves).
library SteadyState {
    uint256 internal constant BPS = 10_000;
    /// Pancake V2 fee on each swap leg.
    uint256 internal constant PANCAKE_FEE_BPS = 25;
    uint256 internal constant ONE_SHARE = 1e24;

    // ------------------------------------------------------------------------------ measure

    function measure(YieldVault v) internal view returns (Snapshot memory s) {
        s.timestamp = block.timestamp;
        s.legs = v.legs();
        s.nav = v.nav();
        s.sharePrice = v.sharePrice();
        s.totalSupply = v.totalSupply();
        s.mode = v.riskMode();
        s.healthyCount = v.healthyCycleCount();
        (s.pending, s.pendingQty,,) = v.pendingHedge();
        (s.flashActive, s.flashBorrowed, s.flashAllowance) = v.flashState();
        s.hedgeDeltaBps = v.hedgeDeltaBps();
        s.digest = v.stateDigest();
        s.flashK = pairK(address(v.flashPair()));
        s.lpK = pairK(address(v.lpPair()));
        s.vaultUsdt = v.usdt().balanceOf(address(v));
        s.vaultAlp = v.alp().balanceOf(address(v));
        s.vaultBtcb = v.btcb().balanceOf(address(v));
        s.vaultLp = IERC20(address(v.lpPair())).balanceOf(address(v));
    }

    function pairK(address pair) internal view returns (uint256) {
        (uint112 r0, uint112 r1,) = IPancakePair(pair).getReserves();
        return uint256(r0) * r1;
    }

    /// @notice USDT reserve of a pair that holds `usdt`.
    function usdtReserve(address pair, address usdt) internal view returns (uint256) {
        (uint112 r0, uint112 r1,) = IPancakePair(pair).getReserves();
        return IPancakePair(pair).token0() == usdt ? r0 : r1;
    }

    /// @notice BNB/USD (18 decimals) as the hypothesis trusts it: positive and no older than
    /// `maxOracleAge`, else 0. Read straight from the feed, not through the vault.
    function trustedBnbUsd(address feed, uint256 maxAge) internal view returns (uint256) {
        try AggregatorV3Interface(feed).latestRoundData() returns (
            uint80, int256 answer, uint256, uint256 updatedAt, uint80
        ) {
            if (answer <= 0 || updatedAt == 0 || updatedAt > block.timestamp) return 0;
            if (block.timestamp - updatedAt > maxAge) return 0;
            uint8 dec = AggregatorV3Interface(feed).decimals();
            return uint256(answer) * 1e18 / (10 ** dec);
        } catch {
            return 0;
        }
    }

    /// @notice The S2 gas cap: 1.5 x bountyGasUnits x min(tx.gasprice, maxGasPrice) x BNB/USD.
    function gasCap(Config memory cfg, uint256 gasPrice, uint256 bnbUsd) internal pure returns (uint256) {
        uint256 p = gasPrice < cfg.maxGasPrice ? gasPrice : cfg.maxGasPrice;
        return uint256(cfg.bountyGasUnits) * p * bnbUsd / 1e18 * 3 / 2;
    }

    /// @notice The same cap without maxGasPrice: what an unbounded gas refund would pay.
    function uncappedGasBounty(Config memory cfg, uint256 gasPrice, uint256 bnbUsd)
        internal
        pure
        returns (uint256)
    {
        return uint256(cfg.bountyGasUnits) * gasPrice * bnbUsd / 1e18 * 3 / 2;
    }

    // ------------------------------------------------------------------------------ checks

    /// @notice S1: NAV after >= NAV before - bounty - budget, the budget being the configured
    /// slippage plus Pancake's fee on both legs of a round trip, in bps of NAV before.
    function s1Value(
        CheckList memory list,
        string memory tag,
        Snapshot memory a,
        Snapshot memory b,
        uint256 bounty,
        Config memory cfg
    ) internal pure {
        int256 loss = int256(a.nav) - int256(b.nav) - int256(bounty);
        uint256 budget = a.nav * (cfg.swapSlippageBps + 2 * PANCAKE_FEE_BPS) / BPS;
        le(list, string.concat("S1_nav_loss_wei", tag), loss, int256(budget));
    }

    /// @notice S2: the bounty is within the NAV cap and the gas cap.
    function s2Bounty(
        CheckList memory list,
        string memory tag,
        uint256 bounty,
        uint256 navBeforeBounty,
        uint256 gasCapWei,
        Config memory cfg
    ) internal pure {
        le(
            list,
            string.concat("S2_bounty_vs_nav_cap_wei", tag),
            int256(bounty),
            int256(navBeforeBounty * cfg.maxBountyBps / BPS)
        );
        le(list, string.concat("S2_bounty_vs_gas_cap_wei", tag), int256(bounty), int256(gasCapWei));
    }

    /// @notice S3: no flash debt, borrowed balance or allowance survives; the pair's K holds.
    function s3Flash(CheckList memory list, string memory tag, Snapshot memory a, Snapshot memory b)
        internal
        pure
    {
        eq(list, string.concat("S3_flash_active", tag), b.flashActive ? int256(1) : int256(0), 0);
        eq(list, string.concat("S3_flash_borrowed_wei", tag), int256(b.flashBorrowed), 0);
        eq(list, string.concat("S3_flash_allowance_wei", tag), int256(b.flashAllowance), 0);
        ge(list, string.concat("S3_flash_pair_k", tag), _toInt(b.flashK), _toInt(a.flashK));
    }

    /// @notice S4: the risk mode is the one the hypothesis expects.
    function s4Mode(CheckList memory list, string memory tag, Snapshot memory b, RiskMode expected)
        internal
        pure
    {
        eq(list, string.concat("S4_risk_mode", tag), int256(uint256(b.mode)), int256(uint256(expected)));
    }

    /// @notice S5: a reverted cycle changed nothing (digest and every balance).
    function s5Unchanged(CheckList memory list, string memory tag, Snapshot memory a, Snapshot memory b)
        internal
        pure
    {
        eq(list, string.concat("S5_digest_changed", tag), a.digest == b.digest ? int256(0) : int256(1), 0);
        eq(list, string.concat("S5_vault_usdt_wei", tag), int256(b.vaultUsdt), int256(a.vaultUsdt));
        eq(list, string.concat("S5_vault_lp_wei", tag), int256(b.vaultLp), int256(a.vaultLp));
        eq(list, string.concat("S5_vault_alp_wei", tag), int256(b.vaultAlp), int256(a.vaultAlp));
    }

    /// @notice S6: the share price moves by at most `boundBps` within one cycle and the supply
    /// does not change (a cycle never mints shares).
    function s6SharePrice(
        CheckList memory list,
        string memory tag,
        Snapshot memory a,
        Snapshot memory b,
        uint256 boundBps
    ) internal pure {
        uint256 diff = a.sharePrice > b.sharePrice ? a.sharePrice - b.sharePrice : b.sharePrice - a.sharePrice;
        uint256 jump = a.sharePrice == 0 ? 0 : diff * BPS / a.sharePrice;
        le(list, string.concat("S6_share_price_jump_bps", tag), int256(jump), int256(boundBps));
        eq(list, string.concat("S6_total_supply", tag), _toInt(b.totalSupply), _toInt(a.totalSupply));
    }

    /// @notice S8: |net delta| within deltaBandBps of NAV (pending trades counted once).
    function s8Hedge(CheckList memory list, string memory tag, Snapshot memory b, Config memory cfg)
        internal
        pure
    {
        int256 d = b.hedgeDeltaBps < 0 ? -b.hedgeDeltaBps : b.hedgeDeltaBps;
        le(list, string.concat("S8_abs_delta_bps", tag), d, int256(uint256(cfg.deltaBandBps)));
    }

    // ------------------------------------------------------------------------------ list

    function push(CheckList memory list, Check memory c) internal pure {
        if (list.length == list.items.length) {
            Check[] memory grown = new Check[](list.length * 2 + 8);
            for (uint256 i; i < list.length; ++i) {
                grown[i] = list.items[i];
            }
            list.items = grown;
        }
        list.items[list.length++] = c;
    }

    function le(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        push(list, Check(name, observed, bound, "<=", observed <= bound));
    }

    function ge(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        push(list, Check(name, observed, bound, ">=", observed >= bound));
    }

    function gt(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        push(list, Check(name, observed, bound, ">", observed > bound));
    }

    function lt(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        push(list, Check(name, observed, bound, "<", observed < bound));
    }

    function eq(CheckList memory list, string memory name, int256 observed, int256 bound) internal pure {
        push(list, Check(name, observed, bound, "==", observed == bound));
    }

    function isTrue(CheckList memory list, string memory name, bool observed) internal pure {
        eq(list, name, observed ? int256(1) : int256(0), 1);
    }

    /// @notice The list trimmed to its length, and whether every check held.
    function finish(CheckList memory list) internal pure returns (Check[] memory out, bool held) {
        out = new Check[](list.length);
        held = true;
        for (uint256 i; i < list.length; ++i) {
            out[i] = list.items[i];
            held = held && out[i].passed;
        }
    }

    /// @dev Saturates instead of wrapping: K of a large pair can exceed int256's range.
    function _toInt(uint256 x) private pure returns (int256) {
        return x > uint256(type(int256).max) ? type(int256).max : int256(x);
    }
}
