//! The checks S1-S9 of one cycle: each a function of the snapshots before and after it, named
//! after the library function it mirrors.

use super::{
    abs_diff, activity, ceil_div, deposits_paused_selector, e, i, int, one_share, share_offset, u,
    Activity, Config, Deps, LogEntry, PairFacts, Snapshot, BPS,
};
pub use crate::chaos::scenario::{Check, Relation};
use alloy::primitives::{Address, I256, U256};

/// A growable list of checks (`CheckList`), made only through the relation.
#[derive(Debug, Clone, Default)]
pub struct Checks(pub Vec<Check>);

impl Checks {
    pub fn check(&mut self, name: impl Into<String>, observed: I256, rel: Relation, bound: I256) {
        self.0.push(Check::new(name, observed, rel, bound));
    }

    pub fn le(&mut self, name: impl Into<String>, observed: I256, bound: I256) {
        self.check(name, observed, Relation::Le, bound);
    }

    pub fn ge(&mut self, name: impl Into<String>, observed: I256, bound: I256) {
        self.check(name, observed, Relation::Ge, bound);
    }

    pub fn gt(&mut self, name: impl Into<String>, observed: I256, bound: I256) {
        self.check(name, observed, Relation::Gt, bound);
    }

    pub fn eq(&mut self, name: impl Into<String>, observed: I256, bound: I256) {
        self.check(name, observed, Relation::Eq, bound);
    }

    pub fn is_true(&mut self, name: impl Into<String>, observed: bool) {
        self.eq(name, flag(observed), I256::ONE);
    }

    pub fn extend(&mut self, other: Checks) {
        self.0.extend(other.0);
    }

    pub fn into_vec(self) -> Vec<Check> {
        self.0
    }
}

pub(super) fn flag(b: bool) -> I256 {
    if b {
        I256::ONE
    } else {
        I256::ZERO
    }
}

/// What the common cycle checks need besides the two snapshots (`CycleInput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleInput {
    pub ok: bool,
    /// What the cycle returned (0 when it reverted).
    pub bounty: U256,
    /// USDT the keeper received during the cycle (token balances around it).
    pub keeper_gain: U256,
    pub logs: Vec<LogEntry>,
    /// The price the cycle paid per gas (`tx.gasprice`).
    pub gas_price: U256,
    /// BNB/USD (18 decimals) as the hypothesis trusts it after the cycle (`trustedBnbUsd`).
    pub bnb_usd: U256,
}

/// `gasCap`: 1.5 x bountyGasUnits x min(tx gas price, maxGasPrice) x BNB/USD.
pub fn gas_cap(cfg: &Config, gas_price: U256, bnb_usd: U256) -> U256 {
    let p = gas_price.min(cfg.max_gas_price);
    cfg.bounty_gas_units * p * bnb_usd / e(18) * u(3) / u(2)
}

/// `trustedBnbUsd` from a `latestRoundData` answer: positive, not in the future and no older
/// than `maxAge`, scaled to 18 decimals; else 0.
pub fn trusted_bnb_usd(
    answer: I256,
    updated_at: U256,
    decimals: u8,
    now: u64,
    max_age: u64,
) -> U256 {
    if answer <= I256::ZERO || updated_at.is_zero() || updated_at > u(now) {
        return U256::ZERO;
    }
    if u(now) - updated_at > u(max_age) {
        return U256::ZERO;
    }
    answer.into_raw() * e(18) / U256::from(10u64).pow(U256::from(decimals))
}

/// `cycleChecks`: it succeeded, paid what it reported, S1, S2, S3, S6, S9 before and after.
#[allow(clippy::too_many_arguments)]
pub fn cycle_checks(
    list: &mut Checks,
    tag: &str,
    d: &Deps,
    facts: &PairFacts,
    vault: Address,
    cfg: &Config,
    a: &Snapshot,
    b: &Snapshot,
    o: &CycleInput,
) -> Activity {
    list.is_true(format!("cycle_succeeded{tag}"), o.ok);
    list.eq(
        format!("S2_bounty_paid_vs_reported_wei{tag}"),
        int(o.keeper_gain),
        int(o.bounty),
    );
    let act = activity(d, facts, vault, &o.logs, a, b, cfg);
    s1_value(list, tag, a, b, o.bounty, &act);
    s2_bounty(
        list,
        tag,
        o.bounty,
        b,
        gas_cap(cfg, o.gas_price, o.bnb_usd),
        cfg,
    );
    s3_flash(list, tag, a, b);
    s6_share_price(list, tag, a, b, o.bounty, &act);
    s9_nav(list, &format!("_before_cycle{tag}"), a);
    s9_nav(list, tag, b);
    act
}

/// `s1Value`: shadow NAV before - after - bounty within the cycle's own budget.
pub fn s1_value(
    list: &mut Checks,
    tag: &str,
    a: &Snapshot,
    b: &Snapshot,
    bounty: U256,
    act: &Activity,
) {
    let loss = int(a.shadow.nav) - int(b.shadow.nav) - int(bounty);
    list.le(
        format!("S1_nav_loss_beyond_bounty_wei{tag}"),
        loss,
        int(act.budget),
    );
}

/// `s2Bounty`: the bounty within maxBountyBps of the shadow NAV (plus S9's tolerance) and within
/// the gas cap from the Chainlink feed.
pub fn s2_bounty(
    list: &mut Checks,
    tag: &str,
    bounty: U256,
    b: &Snapshot,
    gas_cap_wei: U256,
    cfg: &Config,
) {
    let nav_cap = (b.shadow.nav + bounty + b.shadow.tolerance) * cfg.max_bounty_bps / u(BPS);
    list.le(
        format!("S2_bounty_vs_nav_cap_wei{tag}"),
        int(bounty),
        int(nav_cap),
    );
    list.le(
        format!("S2_bounty_vs_gas_cap_wei{tag}"),
        int(bounty),
        int(gas_cap_wei),
    );
}

/// `s3Flash`: no flash debt, borrowed balance or allowance survives; the pair's K holds.
pub fn s3_flash(list: &mut Checks, tag: &str, a: &Snapshot, b: &Snapshot) {
    list.eq(
        format!("S3_flash_active{tag}"),
        flag(b.flash_active),
        I256::ZERO,
    );
    list.eq(
        format!("S3_flash_borrowed_wei{tag}"),
        int(b.flash_borrowed),
        I256::ZERO,
    );
    list.eq(
        format!("S3_flash_allowance_wei{tag}"),
        int(b.flash_allowance),
        I256::ZERO,
    );
    list.ge(
        format!("S3_flash_pair_k{tag}"),
        int(b.flash_k),
        int(a.flash_k),
    );
}

/// `s4Mode`: the risk mode the experiment calls for (0 NORMAL, 1 ONLY_UNWIND).
pub fn s4_mode(list: &mut Checks, tag: &str, b: &Snapshot, expected: u8) {
    list.eq(
        format!("S4_risk_mode{tag}"),
        i(i64::from(b.mode)),
        i(i64::from(expected)),
    );
}

/// `_checkDepositsPaused`: a real deposit reverted with exactly `DepositsPaused()` and
/// `maxDeposit` reads 0.
pub fn s4_deposits_paused(
    list: &mut Checks,
    tag: &str,
    deposit_ok: bool,
    revert_data: &[u8],
    max_deposit: U256,
) {
    list.eq(
        format!("S4_deposit_succeeded{tag}"),
        flag(deposit_ok),
        I256::ZERO,
    );
    list.is_true(
        format!("S4_deposit_reverted_DepositsPaused{tag}"),
        !deposit_ok && revert_data == deposits_paused_selector(),
    );
    list.eq(format!("S4_max_deposit{tag}"), int(max_deposit), I256::ZERO);
}

/// `s5Unchanged`: a cycle that did not go through changed nothing (digest and balances).
pub fn s5_unchanged(list: &mut Checks, tag: &str, a: &Snapshot, b: &Snapshot) {
    list.eq(
        format!("S5_digest_changed{tag}"),
        flag(a.digest != b.digest),
        I256::ZERO,
    );
    list.eq(
        format!("S5_vault_usdt_wei{tag}"),
        int(b.vault_usdt),
        int(a.vault_usdt),
    );
    list.eq(
        format!("S5_vault_lp_wei{tag}"),
        int(b.vault_lp),
        int(a.vault_lp),
    );
    list.eq(
        format!("S5_vault_alp_wei{tag}"),
        int(b.vault_alp),
        int(a.vault_alp),
    );
}

/// `s6SharePrice`: the shadow share price moves only as far as the cycle's activity explains.
pub fn s6_share_price(
    list: &mut Checks,
    tag: &str,
    a: &Snapshot,
    b: &Snapshot,
    bounty: U256,
    act: &Activity,
) {
    let sp_a = a.shadow_share_price();
    let sp_b = b.shadow_share_price();
    let supply = a.total_supply + share_offset();
    let down = act.budget + if act.ops != 0 { bounty } else { U256::ZERO };
    let down_bound = ceil_div(down * one_share(), supply) + U256::from(1u8);
    let up_bound = ceil_div(act.gains * one_share(), supply) + U256::from(1u8);
    list.le(
        format!("S6_share_price_drop_wei{tag}"),
        int(sp_a) - int(sp_b),
        int(down_bound),
    );
    list.le(
        format!("S6_share_price_rise_wei{tag}"),
        int(sp_b) - int(sp_a),
        int(up_bound),
    );
    list.eq(
        format!("S6_total_supply{tag}"),
        int(b.total_supply),
        int(a.total_supply),
    );
}

/// `s7LiquidShare`: `maxWithdraw` covers the holder's pro-rata share of the free USDT.
pub fn s7_liquid_share(
    list: &mut Checks,
    tag: &str,
    s: &Snapshot,
    shares: U256,
    max_withdraw: U256,
) {
    let expected = s.expected_liquid_share(shares);
    list.ge(
        format!("S7_max_withdraw_vs_liquid_share_wei{tag}"),
        int(max_withdraw) + I256::ONE,
        int(expected),
    );
}

/// `s7Withdrawn`: a withdrawal of `maxWithdraw` paid exactly that (0 when it reverted).
pub fn s7_withdrawn(list: &mut Checks, tag: &str, paid: U256, max_withdraw: U256) {
    list.gt(
        format!("S7_max_withdraw_wei{tag}"),
        int(max_withdraw),
        I256::ZERO,
    );
    list.eq(
        format!("S7_withdrawn_wei{tag}"),
        int(paid),
        int(max_withdraw),
    );
}

/// `s8Hedge`: |net delta| within deltaBandBps (+1) of the shadow NAV.
pub fn s8_hedge(list: &mut Checks, tag: &str, b: &Snapshot, cfg: &Config) {
    list.le(
        format!("S8_abs_delta_bps{tag}"),
        b.shadow.abs_delta_bps(),
        int(cfg.delta_band_bps) + I256::ONE,
    );
}

/// `s9Nav`: the vault's reported NAV within the tolerance of the shadow NAV.
pub fn s9_nav(list: &mut Checks, tag: &str, s: &Snapshot) {
    list.le(
        format!("S9_nav_vs_shadow_wei{tag}"),
        int(abs_diff(s.nav, s.shadow.nav)),
        int(s.shadow.tolerance),
    );
}

// ------------------------------------------------------------------------------ S10
