//! The shadow NAV: the vault's value recomputed from primary-source reads (pair reserves, oracle
//! rounds, Aster's positions and prices), as `SteadyState.sol` computes it.

use super::{abs_diff, e, i, int, lp_rounding_parts, mul_div, op_rounding_wei, sqrt, u, BPS};
use alloy::primitives::{Address, B256, I256, U256};

/// One withdrawal claim and its epoch, as the claim book stores them (`IClaimBook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimEntry {
    pub usdt: U256,
    pub alp: U256,
    pub epoch_funded: bool,
    pub epoch_alp_owed: U256,
    pub epoch_alp_proceeds: U256,
}

/// One position from Aster's `getPositionsV2` (the fields the shadow uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub hash: B256,
    pub is_long: bool,
    pub margin: U256,
    pub qty: U256,
    pub entry_price: U256,
    pub funding_fee: I256,
    pub holding_fee: U256,
}

/// Pending trades: Aster's own book where it has one (replicas), else the vault's
/// `pendingHedge()` (real Aster, stated in the docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Each pending trade of Aster's book, as (user, pairBase, isLong, amountIn, qty).
    Aster(Vec<(Address, Address, bool, U256, U256)>),
    /// `pendingHedge()`: (pending, qty, margin).
    Vault(bool, U256, U256),
}

/// Everything the shadow NAV reads at one moment, from primary sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowReads {
    pub claims: Vec<ClaimEntry>,
    pub usdt_balance: U256,
    pub alp_balance: U256,
    pub alp_price: U256,
    pub lp_balance: U256,
    pub lp_supply: U256,
    pub reserve_btc: U256,
    pub reserve_usdt: U256,
    pub loose_btc: U256,
    /// Aster's `markPrice(btcb)` (8 decimals) when it answers a non-zero value.
    pub mark8: Option<U256>,
    pub positions: Vec<Position>,
    pub pending: Pending,
}

/// One short on Aster (`Short`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short {
    pub hash: B256,
    pub qty: U256,
    pub value: U256,
}

/// The vault's value from primary sources only (`Shadow`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shadow {
    pub twap: U256,
    pub twap_min: U256,
    pub twap_max: U256,
    pub covered: bool,
    pub mark: U256,
    pub mark_from_aster: bool,
    pub usdt_balance: U256,
    pub usdt_owed: U256,
    pub alp_owed: U256,
    pub usdt_free: U256,
    pub alp_free: U256,
    pub alp_price: U256,
    pub alp_value: U256,
    pub lp_balance: U256,
    pub lp_supply: U256,
    pub reserve_btc: U256,
    pub reserve_usdt: U256,
    pub lp_value: U256,
    pub lp_btc: U256,
    pub loose_btc: U256,
    pub loose_btc_value: U256,
    pub shorts: Vec<Short>,
    pub hedge_value: U256,
    pub hedge_qty: U256,
    pub pending_margin: U256,
    pub pending_qty: U256,
    pub pending_from_aster: bool,
    pub nav: U256,
    pub tolerance: U256,
}

impl Shadow {
    /// `shadow(...)` once the TWAPs are known: every part valued as the library values it.
    pub fn value(
        reads: &ShadowReads,
        twap: U256,
        twap_range: (U256, U256),
        covered: bool,
        vault: Address,
        btcb: Address,
    ) -> Self {
        let mut s = Shadow {
            twap,
            covered,
            ..Default::default()
        };
        (s.twap_min, s.twap_max) = if covered { twap_range } else { (twap, twap) };
        for c in &reads.claims {
            if c.epoch_funded {
                let alp_part = if c.epoch_alp_owed.is_zero() {
                    U256::ZERO
                } else {
                    c.alp * c.epoch_alp_proceeds / c.epoch_alp_owed
                };
                s.usdt_owed += c.usdt + alp_part;
            } else {
                s.usdt_owed += c.usdt;
                s.alp_owed += c.alp;
            }
        }
        s.usdt_balance = reads.usdt_balance;
        s.usdt_free = reads.usdt_balance.saturating_sub(s.usdt_owed);
        s.alp_free = reads.alp_balance.saturating_sub(s.alp_owed);
        s.alp_price = reads.alp_price;
        s.alp_value = s.alp_free * s.alp_price / e(8);
        s.lp_balance = reads.lp_balance;
        s.lp_supply = reads.lp_supply;
        s.reserve_btc = reads.reserve_btc;
        s.reserve_usdt = reads.reserve_usdt;
        s.lp_value = s.lp_value_at(s.twap);
        s.lp_btc = s.lp_btc_at(s.twap);
        s.loose_btc = reads.loose_btc;
        s.loose_btc_value = s.loose_btc * s.twap / e(18);
        (s.mark, s.mark_from_aster) = match reads.mark8 {
            Some(m) if !m.is_zero() => (m * e(10), true),
            _ => (s.twap, false),
        };
        s.hedge(&reads.positions);
        match &reads.pending {
            Pending::Aster(trades) => {
                s.pending_from_aster = true;
                for (user, pair_base, is_long, amount_in, qty) in trades {
                    if *user != vault || *is_long || *pair_base != btcb {
                        continue;
                    }
                    s.pending_margin += *amount_in;
                    s.pending_qty += *qty;
                }
            }
            Pending::Vault(pending, qty, margin) => {
                if *pending {
                    (s.pending_qty, s.pending_margin) = (*qty, *margin);
                }
            }
        }
        // USDT owed beyond the USDT on hand (an unfunded claim larger than the balance) is a
        // liability of the other legs: the next funding cycle pays it from them.
        let gross = s.usdt_free
            + s.alp_value
            + s.lp_value
            + s.loose_btc_value
            + s.hedge_value
            + s.pending_margin;
        s.nav = gross.saturating_sub(s.usdt_owed.saturating_sub(s.usdt_balance));
        s.tolerance = s.nav_tolerance();
        s
    }

    /// `_hedge`: each short at margin + qty x (entry - mark) - holding fee - funding paid, floored.
    fn hedge(&mut self, positions: &[Position]) {
        let mark8 = int(self.mark / e(10));
        for p in positions.iter().filter(|p| !p.is_long) {
            let funding = if p.funding_fee > I256::ZERO {
                p.funding_fee
            } else {
                I256::ZERO
            };
            let v = int(p.margin) + int(p.qty) * (int(p.entry_price) - mark8)
                - int(p.holding_fee)
                - funding;
            let value = if v > I256::ZERO {
                v.into_raw()
            } else {
                U256::ZERO
            };
            self.shorts.push(Short {
                hash: p.hash,
                qty: p.qty,
                value,
            });
            self.hedge_value += value;
            self.hedge_qty += p.qty;
        }
    }

    /// `lpValueAt`: the vault's share of 2 sqrt(k x price).
    pub fn lp_value_at(&self, price: U256) -> U256 {
        if self.lp_balance.is_zero() || self.lp_supply.is_zero() || price.is_zero() {
            return U256::ZERO;
        }
        let fair_usdt = sqrt(mul_div(self.reserve_btc * self.reserve_usdt, price, e(18)));
        mul_div(u(2) * fair_usdt, self.lp_balance, self.lp_supply)
    }

    /// `lpBtcAt`: BTCB held through the LP tokens at `price` (fair reserves).
    pub fn lp_btc_at(&self, price: U256) -> U256 {
        if self.lp_balance.is_zero() || self.lp_supply.is_zero() || price.is_zero() {
            return U256::ZERO;
        }
        let fair_btc = sqrt(mul_div(self.reserve_btc * self.reserve_usdt, e(18), price));
        mul_div(fair_btc, self.lp_balance, self.lp_supply)
    }

    /// `navTolerance`: S9's tolerance (the TWAP range of the LP and loose BTCB, one wei per
    /// short, rounding).
    pub fn nav_tolerance(&self) -> U256 {
        let at_lo = self.lp_value_at(self.twap_min) + self.loose_btc * self.twap_min / e(18);
        let at_hi = self.lp_value_at(self.twap_max) + self.loose_btc * self.twap_max / e(18);
        let here = self.lp_value + self.loose_btc_value;
        let mut tol = abs_diff(at_lo, here).max(abs_diff(at_hi, here));
        // The vault values its shorts at Aster's own price, as the shadow does: one wei per
        // position, no TWAP-vs-mark term (SteadyState.sol's navTolerance).
        tol += u(self.shorts.len() as u64);
        tol += self.lp_value / lp_rounding_parts() + op_rounding_wei();
        tol
    }

    /// `deltaBpsAt`: net BTC delta in bps of the shadow NAV at `price`.
    pub fn delta_bps_at(&self, price: U256) -> I256 {
        if price.is_zero() {
            return I256::ZERO;
        }
        let nav = self.nav - self.lp_value - self.loose_btc_value
            + self.lp_value_at(price)
            + self.loose_btc * price / e(18);
        if nav.is_zero() {
            return I256::ZERO;
        }
        let net = int((self.lp_btc_at(price) + self.loose_btc) / e(8))
            - int(self.hedge_qty + self.pending_qty);
        net * int(price / e(10)) * i(BPS as i64) / int(nav)
    }

    /// `absDeltaBps`: the smallest |delta| over the TWAPs the vault may be using.
    pub fn abs_delta_bps(&self) -> I256 {
        let lo = self.delta_bps_at(self.twap_min);
        let hi = self.delta_bps_at(self.twap_max);
        if (lo <= I256::ZERO && hi >= I256::ZERO) || (lo >= I256::ZERO && hi <= I256::ZERO) {
            return I256::ZERO;
        }
        lo.abs().min(hi.abs())
    }
}

// ============================================================================== the tape
