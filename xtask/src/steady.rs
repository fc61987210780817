//! The steady state around `cycle()` (docs/steady-state.md), measured from outside the EVM with
//! `eth_call` at exact blocks and evaluated in Rust for the live-fork engine.
//!
//! The bounds come from the vault's own configuration, but the observed values come from
//! independent reads where one exists (the Chainlink feed for the gas cap, the USDT token for
//! the liquid share, a simulated `withdraw` for exit liveness), so a check does not just repeat
//! the vault's arithmetic back to it.

use alloy::dyn_abi::DynSolValue;
use alloy::eips::BlockId;
use alloy::primitives::{Address, I256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use alloy::sol;
use alloy::sol_types::SolCall as _;
use anyhow::Context as _;

use crate::scenario::Check;
use crate::vault::{Named, VaultReader};

sol! {
    interface IErc20View {
        function balanceOf(address owner) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
    }
    interface IFeedView {
        function latestRoundData() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    }
}

pub const BPS: u64 = 10_000;
/// Pancake's swap fee, counted in the value budget of a cycle next to the slippage allowance.
pub const SWAP_FEE_BPS: u64 = 25;

/// The configuration fields the checks need, read once per fork.
#[derive(Debug, Clone)]
pub struct Bounds {
    pub swap_slippage_bps: U256,
    pub max_bounty_bps: U256,
    pub max_gas_price: U256,
    pub bounty_gas_units: U256,
    pub max_oracle_age: U256,
    pub delta_band_bps: U256,
    pub max_nav_drop_bps: U256,
    pub min_cycle_interval: u64,
}

impl Bounds {
    pub async fn read(vault: &VaultReader) -> anyhow::Result<Self> {
        let c = vault.named("getConfig", None).await?;
        Ok(Self {
            swap_slippage_bps: c.uint("swapSlippageBps")?,
            max_bounty_bps: c.uint("maxBountyBps")?,
            max_gas_price: c.uint("maxGasPrice")?,
            bounty_gas_units: c.uint("bountyGasUnits")?,
            max_oracle_age: c.uint("maxOracleAge")?,
            delta_band_bps: c.uint("deltaBandBps")?,
            max_nav_drop_bps: c.uint("maxNavDropBps")?,
            min_cycle_interval: u64::try_from(c.uint("minCycleInterval")?)?,
        })
    }
}

/// What the checks read at one block.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub block: u64,
    pub timestamp: u64,
    pub nav: U256,
    pub share_price: U256,
    pub risk_mode: u8,
    pub digest: alloy::primitives::B256,
    pub flash_active: bool,
    pub flash_borrowed: U256,
    pub max_deposit: U256,
    pub hedge_delta_bps: I256,
    /// USDT the vault holds, read from the token, minus what it reserved for funded claims.
    pub free_usdt: U256,
    pub total_supply: U256,
    pub holder_shares: U256,
    pub holder_max_withdraw: U256,
    /// What a simulated `withdraw(holder_max_withdraw)` by the holder returned (None: reverted).
    pub holder_withdraw_sim: Option<U256>,
}

impl Snapshot {
    pub async fn read(
        vault: &VaultReader,
        usdt: Address,
        holder: Address,
        block: u64,
    ) -> anyhow::Result<Self> {
        let at = Some(block);
        let header = vault
            .provider
            .get_block_by_number(block.into())
            .await?
            .with_context(|| format!("block {block} not found"))?
            .header;
        let flash: Named = vault.named_outputs("flashState", at).await?;
        let addr = |a: Address| [DynSolValue::Address(a)];
        let usdt_balance = erc20_balance(vault, usdt, vault.address, block).await?;
        let reserved = vault.u256("reservedUsdt", &[], at).await?;
        let holder_max_withdraw = vault.u256("maxWithdraw", &addr(holder), at).await?;
        Ok(Self {
            block,
            timestamp: header.timestamp,
            nav: vault.u256("nav", &[], at).await?,
            share_price: vault.u256("sharePrice", &[], at).await?,
            risk_mode: u8::try_from(vault.u256("riskMode", &[], at).await?)?,
            digest: vault.digest(at).await?,
            flash_active: flash.boolean("active")?,
            flash_borrowed: flash.uint("borrowed")?,
            max_deposit: vault.u256("maxDeposit", &addr(holder), at).await?,
            hedge_delta_bps: vault
                .one("hedgeDeltaBps", &[], at)
                .await?
                .as_int()
                .context("hedgeDeltaBps")?
                .0,
            free_usdt: usdt_balance.saturating_sub(reserved),
            total_supply: vault.u256("totalSupply", &[], at).await?,
            holder_shares: vault.u256("balanceOf", &addr(holder), at).await?,
            holder_max_withdraw,
            holder_withdraw_sim: simulate_withdraw(vault, holder, holder_max_withdraw, block).await,
        })
    }
}

/// Calldata of `approve(spender, amount)`.
pub fn approve_call(spender: Address, amount: U256) -> Vec<u8> {
    IErc20View::approveCall { spender, amount }.abi_encode()
}

async fn erc20_balance(
    vault: &VaultReader,
    token: Address,
    owner: Address,
    block: u64,
) -> anyhow::Result<U256> {
    let data = IErc20View::balanceOfCall { owner }.abi_encode();
    let request = TransactionRequest::default().to(token).input(data.into());
    let raw = vault
        .provider
        .call(request)
        .block(BlockId::number(block))
        .await?;
    Ok(IErc20View::balanceOfCall::abi_decode_returns(&raw)?)
}

/// `withdraw(assets, holder, holder)` from the holder, simulated at `block`.
async fn simulate_withdraw(
    vault: &VaultReader,
    holder: Address,
    assets: U256,
    block: u64,
) -> Option<U256> {
    if assets.is_zero() {
        return Some(U256::ZERO);
    }
    let args = [
        DynSolValue::Uint(assets, 256),
        DynSolValue::Address(holder),
        DynSolValue::Address(holder),
    ];
    let data = vault.artifact.encode_call("withdraw", &args).ok()?;
    let request = TransactionRequest::default()
        .from(holder)
        .to(vault.address)
        .input(data.into());
    vault
        .provider
        .call(request)
        .block(BlockId::number(block))
        .await
        .ok()
        .map(|_| assets)
}

/// The gas-based bounty cap computed independently of the vault: bounty gas units times
/// `min(gasPrice, maxGasPrice)` times BNB/USD from the Chainlink feed, times 1.5; zero when the
/// feed is stale, zero or negative (USDT, 18 decimals).
pub async fn gas_cap(
    vault: &VaultReader,
    feed: Address,
    bounds: &Bounds,
    gas_price: U256,
    block: u64,
    now: u64,
) -> anyhow::Result<U256> {
    let data = IFeedView::latestRoundDataCall {}.abi_encode();
    let request = TransactionRequest::default().to(feed).input(data.into());
    let raw = vault
        .provider
        .call(request)
        .block(BlockId::number(block))
        .await?;
    let round = IFeedView::latestRoundDataCall::abi_decode_returns(&raw)?;
    let age = U256::from(now).saturating_sub(round.updatedAt);
    if round.answer <= I256::ZERO || age > bounds.max_oracle_age {
        return Ok(U256::ZERO);
    }
    let bnb_usd = round.answer.into_raw(); // 8 decimals
    let price = gas_price.min(bounds.max_gas_price);
    Ok(
        bounds.bounty_gas_units * price * bnb_usd / U256::from(100_000_000u64) * U256::from(3)
            / U256::from(2),
    )
}

fn signed(v: U256) -> I256 {
    I256::try_from(v).unwrap_or(I256::MAX)
}

fn check(name: &str, observed: I256, bound: I256, relation: &str) -> Check {
    let passed = match relation {
        "<=" => observed <= bound,
        ">=" => observed >= bound,
        "==" => observed == bound,
        "!=" => observed != bound,
        "<" => observed < bound,
        ">" => observed > bound,
        _ => false,
    };
    Check {
        name: name.into(),
        observed,
        bound,
        relation: relation.into(),
        passed,
    }
}

/// S1: NAV after >= NAV before - bounty - the slippage and fee budget.
pub fn s1_value(before: &Snapshot, after: &Snapshot, bounty: U256, bounds: &Bounds) -> Check {
    let loss = signed(before.nav) - signed(after.nav) - signed(bounty);
    let budget =
        before.nav * (bounds.swap_slippage_bps + U256::from(SWAP_FEE_BPS)) / U256::from(BPS);
    check("S1_nav_loss_beyond_bounty_wei", loss, signed(budget), "<=")
}

/// S2: the bounty within both caps.
pub fn s2_bounty(before: &Snapshot, bounty: U256, gas_cap: U256, bounds: &Bounds) -> Vec<Check> {
    let nav_cap = before.nav * bounds.max_bounty_bps / U256::from(BPS);
    vec![
        check(
            "S2_bounty_vs_nav_cap_wei",
            signed(bounty),
            signed(nav_cap),
            "<=",
        ),
        check(
            "S2_bounty_vs_gas_cap_wei",
            signed(bounty),
            signed(gas_cap),
            "<=",
        ),
    ]
}

/// S3: no flash debt or borrowed balance survives.
pub fn s3_flash(after: &Snapshot) -> Vec<Check> {
    vec![
        check(
            "S3_flash_borrowed_wei",
            signed(after.flash_borrowed),
            I256::ZERO,
            "==",
        ),
        check(
            "S3_flash_active",
            I256::try_from(u8::from(after.flash_active)).unwrap_or_default(),
            I256::ZERO,
            "==",
        ),
    ]
}

/// S4: ONLY_UNWIND pauses deposits.
pub fn s4_risk_mode(after: &Snapshot) -> Option<Check> {
    (after.risk_mode == 1).then(|| {
        check(
            "S4_max_deposit_in_only_unwind_wei",
            signed(after.max_deposit),
            I256::ZERO,
            "==",
        )
    })
}

/// S5: a reverted cycle changes nothing.
pub fn s5_atomic(before: &Snapshot, after: &Snapshot) -> Check {
    let changed = I256::try_from(u8::from(before.digest != after.digest)).unwrap_or_default();
    check(
        "S5_state_changed_by_reverted_cycle",
        changed,
        I256::ZERO,
        "==",
    )
}

/// S6: no share-price jump beyond `maxNavDropBps` within one cycle.
pub fn s6_share_price(before: &Snapshot, after: &Snapshot, bounds: &Bounds) -> Check {
    let jump = if before.share_price.is_zero() {
        U256::ZERO
    } else {
        before.share_price.abs_diff(after.share_price) * U256::from(BPS) / before.share_price
    };
    check(
        "S6_share_price_jump_bps",
        signed(jump),
        signed(bounds.max_nav_drop_bps),
        "<=",
    )
}

/// S7: the holder can take its pro-rata share of the liquid USDT at once (a simulated
/// `withdraw` of `maxWithdraw` goes through, and `maxWithdraw` is not below that share less a
/// rounding wei).
pub fn s7_exit(after: &Snapshot) -> Vec<Check> {
    let pro_rata = if after.total_supply.is_zero() {
        U256::ZERO
    } else {
        after.free_usdt * after.holder_shares / after.total_supply
    };
    let withdrawn = after.holder_withdraw_sim.unwrap_or_default();
    vec![
        check(
            "S7_withdraw_simulation_reverted",
            I256::try_from(u8::from(after.holder_withdraw_sim.is_none())).unwrap_or_default(),
            I256::ZERO,
            "==",
        ),
        check(
            "S7_liquid_share_withdrawable_wei",
            signed(withdrawn),
            signed(pro_rata.saturating_sub(U256::from(1))),
            ">=",
        ),
    ]
}

/// S8: after a successful NORMAL cycle the delta is within the band.
pub fn s8_hedge(after: &Snapshot, bounds: &Bounds) -> Option<Check> {
    (after.risk_mode == 0).then(|| {
        check(
            "S8_hedge_delta_bps",
            after.hedge_delta_bps.abs(),
            signed(bounds.delta_band_bps),
            "<=",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(nav: u64, share_price: u64, mode: u8) -> Snapshot {
        Snapshot {
            block: 1,
            timestamp: 1,
            nav: U256::from(nav),
            share_price: U256::from(share_price),
            risk_mode: mode,
            digest: Default::default(),
            flash_active: false,
            flash_borrowed: U256::ZERO,
            max_deposit: U256::from(5u64),
            hedge_delta_bps: I256::try_from(150).unwrap(),
            free_usdt: U256::from(1_000u64),
            total_supply: U256::from(100u64),
            holder_shares: U256::from(10u64),
            holder_max_withdraw: U256::from(100u64),
            holder_withdraw_sim: Some(U256::from(100u64)),
        }
    }

    fn bounds() -> Bounds {
        Bounds {
            swap_slippage_bps: U256::from(100u64),
            max_bounty_bps: U256::from(10u64),
            max_gas_price: U256::from(5_000_000_000u64),
            bounty_gas_units: U256::from(1_500_000u64),
            max_oracle_age: U256::from(3600u64),
            delta_band_bps: U256::from(200u64),
            max_nav_drop_bps: U256::from(300u64),
            min_cycle_interval: 600,
        }
    }

    #[test]
    fn s1_catches_a_loss_beyond_the_budget_and_not_within_it() {
        let b = bounds();
        // Budget: 1.25% of 1,000,000 = 12,500.
        assert!(
            s1_value(
                &snap(1_000_000, 1, 0),
                &snap(988_000, 1, 0),
                U256::from(400u64),
                &b
            )
            .passed
        );
        assert!(
            !s1_value(
                &snap(1_000_000, 1, 0),
                &snap(986_000, 1, 0),
                U256::from(600u64),
                &b
            )
            .passed
        );
    }

    #[test]
    fn s2_s4_s6_s7_s8_fail_on_violations() {
        let b = bounds();
        let before = snap(1_000_000, 10_000, 0);
        assert!(
            s2_bounty(&before, U256::from(1_000u64), U256::from(1_000u64), &b)
                .iter()
                .all(|c| c.passed)
        );
        assert!(
            !s2_bounty(&before, U256::from(1_001u64), U256::from(5_000u64), &b)[0].passed,
            "NAV cap 1,000"
        );
        assert!(
            !s2_bounty(&before, U256::from(900u64), U256::from(899u64), &b)[1].passed,
            "gas cap"
        );
        assert!(
            !s4_risk_mode(&snap(1, 1, 1)).unwrap().passed,
            "deposits open in ONLY_UNWIND"
        );
        assert!(s4_risk_mode(&snap(1, 1, 0)).is_none());
        assert!(s6_share_price(&before, &snap(1, 10_300, 0), &b).passed);
        assert!(!s6_share_price(&before, &snap(1, 10_301, 0), &b).passed);
        let mut stuck = snap(1, 1, 1);
        stuck.holder_withdraw_sim = None;
        assert!(
            s7_exit(&stuck).iter().all(|c| !c.passed),
            "a reverting withdraw fails both S7 checks"
        );
        assert!(s7_exit(&snap(1, 1, 1)).iter().all(|c| c.passed));
        let mut drift = snap(1, 1, 0);
        drift.hedge_delta_bps = I256::try_from(-201).unwrap();
        assert!(!s8_hedge(&drift, &b).unwrap().passed);
    }

    #[test]
    fn s3_and_s5_fail_on_leftovers_and_changes() {
        let mut after = snap(1, 1, 0);
        assert!(s3_flash(&after).iter().all(|c| c.passed));
        after.flash_borrowed = U256::from(1u64);
        assert!(!s3_flash(&after)[0].passed);
        let before = snap(1, 1, 0);
        let mut changed = snap(1, 1, 0);
        changed.digest = alloy::primitives::B256::with_last_byte(1);
        assert!(s5_atomic(&before, &before.clone()).passed);
        assert!(!s5_atomic(&before, &changed).passed);
    }
}
