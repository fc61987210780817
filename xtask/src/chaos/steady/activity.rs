//! A cycle's activity decoded from the dependencies' own events (swaps, LP mints and burns, the
//! protocol fee, ALP moves), the figures S1 and S2 account for.

use super::{
    burn_topic, ceil_div, e, mint_topic, mul_div, op_rounding_wei, pending_trade_topic, sqrt,
    swap_topic, transfer_topic, u, Config, Deps, Snapshot, BPS, PANCAKE_FEE_BPS,
};
use alloy::primitives::{Address, Bytes, B256, U256};

/// One log of the cycle transaction's receipt (`Vm.Log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub emitter: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
}

impl LogEntry {
    fn topic_address(&self, index: usize) -> Address {
        self.topics
            .get(index)
            .map(|t| Address::from_slice(&t[12..]))
            .unwrap_or(Address::ZERO)
    }

    fn word(&self, index: usize) -> U256 {
        let start = index * 32;
        self.data
            .get(start..start + 32)
            .map(U256::from_be_slice)
            .unwrap_or_default()
    }
}

/// What one cycle did to and through its dependencies (`Activity`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub ops: u64,
    pub swaps: u64,
    pub swap_value_in: U256,
    pub lp_mints: u64,
    pub lp_value_added: U256,
    pub lp_burns: u64,
    pub flashes: u64,
    pub flash_borrowed: U256,
    pub alp_minted: U256,
    pub alp_burnt: U256,
    pub hedges_opened: u64,
    pub hedges_closed: u64,
    pub closed_notional: U256,
    pub protocol_fee_liquidity: U256,
    pub claims_funded: bool,
    pub budget: U256,
    pub gains: U256,
}

/// What `activity` needs to know about the dependencies besides the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairFacts {
    pub lp_btc_is_token0: bool,
    pub flash_usdt_is_token0: bool,
    /// Aster's `closeFeeBps()` where it answers, else [`super::FALLBACK_CLOSE_FEE_BPS`].
    pub close_fee_bps: U256,
}

/// `activity`: the cycle's operations on its dependencies and what each may cost (S1's budget)
/// or gain (S6's upward allowance), priced at the shadow TWAP of the cycle's timestamp.
pub fn activity(
    d: &Deps,
    facts: &PairFacts,
    vault: Address,
    logs: &[LogEntry],
    a: &Snapshot,
    b: &Snapshot,
    cfg: &Config,
) -> Activity {
    let mut act = Activity::default();
    let price = a.shadow.twap;
    let btc0 = facts.lp_btc_is_token0;
    let (swap_t, mint_t, burn_t, transfer_t) =
        (swap_topic(), mint_topic(), burn_topic(), transfer_topic());
    let pending_topic = pending_trade_topic();
    for l in logs {
        let Some(topic) = l.topics.first().copied() else {
            continue;
        };
        if l.emitter == d.lp_pair {
            if topic == swap_t && l.topic_address(2) == vault {
                swap(&mut act, l, btc0, price, cfg);
            } else if topic == mint_t {
                lp_mint(&mut act, l, btc0, price, cfg);
            } else if topic == burn_t && l.topic_address(2) == vault {
                lp_burn(&mut act, l, btc0, price);
            } else if topic == transfer_t {
                protocol_fee(&mut act, l, vault, a);
            }
        } else if l.emitter == d.flash_pair && topic == swap_t && l.topic_address(2) == vault {
            let borrowed = if facts.flash_usdt_is_token0 {
                l.word(2)
            } else {
                l.word(3)
            };
            act.flashes += 1;
            act.ops += 1;
            act.flash_borrowed += borrowed;
            act.budget +=
                ceil_div(borrowed * u(BPS), u(BPS - PANCAKE_FEE_BPS)) - borrowed + U256::from(1u8);
        } else if l.emitter == d.alp && topic == transfer_t {
            alp(&mut act, l, vault, a.shadow.alp_price, cfg);
        } else if l.emitter == d.aster && topic == pending_topic && l.topic_address(1) == vault {
            act.hedges_opened += 1;
            act.ops += 1;
        }
    }
    // `_closes`: shorts open before the cycle and gone after it.
    for before in &a.shadow.shorts {
        if b.shadow.shorts.iter().any(|s| s.hash == before.hash) {
            continue;
        }
        let notional = before.qty * (a.shadow.mark / e(10));
        act.hedges_closed += 1;
        act.ops += 1;
        act.closed_notional += notional;
        act.budget += ceil_div(notional * facts.close_fee_bps, u(BPS));
    }
    if b.epoch > a.epoch {
        act.claims_funded = true;
        act.ops += 1;
    }
    act.budget += u(act.ops) * op_rounding_wei();
    act.gains += u(act.ops) * op_rounding_wei();
    act
}

/// `_swap`: the vault's minimum output is the TWAP value less Pancake's fee and the slippage.
pub(super) fn swap(act: &mut Activity, l: &LogEntry, btc0: bool, price: U256, cfg: &Config) {
    let x = [l.word(0), l.word(1), l.word(2), l.word(3)];
    let value_in = if btc0 {
        x[0] * price / e(18) + x[1]
    } else {
        x[1] * price / e(18) + x[0]
    };
    let value_out = if btc0 {
        x[2] * price / e(18) + x[3]
    } else {
        x[3] * price / e(18) + x[2]
    };
    act.swaps += 1;
    act.ops += 1;
    act.swap_value_in += value_in;
    let keep = u(BPS - PANCAKE_FEE_BPS) * (u(BPS) - cfg.swap_slippage_bps);
    act.budget += ceil_div(value_in * (u(BPS * BPS) - keep), u(BPS * BPS));
    if value_out > value_in {
        act.gains += value_out - value_in;
    }
}

/// `_lpMint`: liquidity added at the pool's ratio while valued at P loses at most v g^2 / 8.
pub(super) fn lp_mint(act: &mut Activity, l: &LogEntry, btc0: bool, price: U256, cfg: &Config) {
    let (a0, a1) = (l.word(0), l.word(1));
    let (btc, usdt) = if btc0 { (a0, a1) } else { (a1, a0) };
    let value = btc * price / e(18) + usdt;
    act.lp_mints += 1;
    act.ops += 1;
    act.lp_value_added += value;
    let g = cfg.max_deviation_bps;
    act.budget += ceil_div(value * g * g, u(8 * BPS * BPS));
}

/// `_lpBurn`: removal costs nothing; what it gains over the fair value goes to S6's upward move.
pub(super) fn lp_burn(act: &mut Activity, l: &LogEntry, btc0: bool, price: U256) {
    let (a0, a1) = (l.word(0), l.word(1));
    let (btc, usdt) = if btc0 { (a0, a1) } else { (a1, a0) };
    act.lp_burns += 1;
    act.ops += 1;
    let got = btc * price / e(18) + usdt;
    let fair = u(2) * sqrt(mul_div(btc * usdt, price, e(18)));
    if got > fair {
        act.gains += got - fair;
    }
}

/// `_protocolFee`: LP tokens minted to feeTo dilute the vault's share.
pub(super) fn protocol_fee(act: &mut Activity, l: &LogEntry, vault: Address, a: &Snapshot) {
    if l.topics.len() < 3 {
        return;
    }
    let (from, to) = (l.topic_address(1), l.topic_address(2));
    if from != Address::ZERO || to == vault || to == Address::ZERO {
        return;
    }
    let liq = l.word(0);
    act.protocol_fee_liquidity += liq;
    let s = &a.shadow;
    if s.lp_supply.is_zero() {
        return;
    }
    let fair_pool = u(2) * sqrt(mul_div(s.reserve_btc * s.reserve_usdt, s.twap, e(18)));
    act.budget += ceil_div(
        mul_div(fair_pool, liq, s.lp_supply) * s.lp_balance,
        s.lp_supply,
    );
}

/// `_alp`: ALP minted may lose v x s / (1 - s), ALP burnt v x s.
pub(super) fn alp(act: &mut Activity, l: &LogEntry, vault: Address, alp_price: U256, cfg: &Config) {
    if l.topics.len() < 3 {
        return;
    }
    let (from, to) = (l.topic_address(1), l.topic_address(2));
    let amount = l.word(0);
    let value = amount * alp_price / e(8);
    let slip = cfg.swap_slippage_bps;
    if from == Address::ZERO && to == vault {
        act.alp_minted += amount;
        act.ops += 1;
        act.budget += ceil_div(value * slip, u(BPS) - slip);
    } else if from == vault {
        act.alp_burnt += amount;
        act.ops += 1;
        act.budget += ceil_div(value * slip, u(BPS));
    }
}

// ============================================================================== checks
