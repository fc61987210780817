//! The steady-state hypothesis around `cycle()` (docs/steady-state.md) for the live-fork engine:
//! the Rust twin of `script/chaos/SteadyState.sol`, with the same names, formulas, bounds and
//! relations, so that a check present in both engines can be compared by name (and is, by the
//! conformance test in `xtask/tests/conformance.rs`).
//!
//! This file holds the arithmetic: the shadow NAV from primary-source reads, the tape of the LP
//! pair's cumulative price and the shadow TWAP, the cycle's activity decoded from the
//! dependencies' own events, and the checks. Each function names the library function it
//! mirrors. The reads themselves (`eth_call` at exact blocks of a fork) are in [`measure`].
//!
//! Integers follow the library: `U256` where it uses `uint256`, `I256` where it uses `int256`,
//! the same floors and ceilings in the same order, `_int` saturating at `int256`'s maximum.

pub mod measure;

use alloy::primitives::{keccak256, Address, Bytes, B256, I256, U256, U512};

use crate::chain::addressbook::AddressBook;
pub use crate::chaos::scenario::{Check, Relation};

pub const BPS: u64 = 10_000;
/// Pancake V2 fee on each swap leg.
pub const PANCAKE_FEE_BPS: u64 = 25;
/// Close fee assumed when Aster's own fee cannot be read (real Aster).
pub const FALLBACK_CLOSE_FEE_BPS: u64 = 10;

fn u(x: u64) -> U256 {
    U256::from(x)
}

fn e(n: u64) -> U256 {
    U256::from(10u64).pow(U256::from(n))
}

/// 10^24 share units: one whole share.
pub fn one_share() -> U256 {
    e(24)
}

/// The virtual share units the hypothesis values shares with (S10).
pub fn share_offset() -> U256 {
    e(6)
}

/// Rounding allowed per dependency operation in S1 and S6 (USDT wei), `OP_ROUNDING_WEI` in the
/// library.
pub fn op_rounding_wei() -> U256 {
    e(11) + U256::from(OP_ROUNDING_SKEW_WEI.load(std::sync::atomic::Ordering::Relaxed))
}

/// Wei added to [`op_rounding_wei`]: always zero, except inside the conformance test while it
/// shows that a bound changed in one engine alone is reported (nothing else sets it; the
/// command line cannot reach it).
static OP_ROUNDING_SKEW_WEI: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Test hook for `xtask/tests/conformance.rs`: move this engine's `OP_ROUNDING_WEI` away from
/// the library's by `wei` (0 restores it). It is process-wide: only a test process that runs
/// nothing else in this process while it is set may use it.
#[doc(hidden)]
pub fn skew_op_rounding_for_conformance_test(wei: u64) {
    OP_ROUNDING_SKEW_WEI.store(wei, std::sync::atomic::Ordering::Relaxed);
}

fn lp_rounding_parts() -> U256 {
    e(10)
}

fn q112() -> U256 {
    U256::from(1u8) << 112
}

/// Topics of the dependencies' events the activity is read from.
pub fn swap_topic() -> B256 {
    keccak256("Swap(address,uint256,uint256,uint256,uint256,address)")
}

pub fn mint_topic() -> B256 {
    keccak256("Mint(address,uint256,uint256)")
}

pub fn burn_topic() -> B256 {
    keccak256("Burn(address,uint256,uint256,address)")
}

pub fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

/// `MarketPendingTrade(address,bytes32,(address,bool,address,uint96,uint80,uint64,uint64,uint64,uint24))`.
pub fn pending_trade_topic() -> B256 {
    keccak256(
        "MarketPendingTrade(address,bytes32,(address,bool,address,uint96,uint80,uint64,uint64,uint64,uint24))",
    )
}

/// The selector of `DepositsPaused()`, the only revert S4 accepts for a deposit in ONLY_UNWIND.
pub fn deposits_paused_selector() -> [u8; 4] {
    let hash = keccak256("DepositsPaused()");
    [hash[0], hash[1], hash[2], hash[3]]
}

// ============================================================================== arithmetic

/// `_int`: saturates instead of wrapping.
pub fn int(x: U256) -> I256 {
    I256::try_from(x).unwrap_or(I256::MAX)
}

fn abs_diff(a: U256, b: U256) -> U256 {
    if a > b {
        a - b
    } else {
        b - a
    }
}

fn ceil_div(a: U256, b: U256) -> U256 {
    if a.is_zero() {
        U256::ZERO
    } else {
        (a - U256::from(1u8)) / b + U256::from(1u8)
    }
}

/// `_mulDiv`: floor(a * b / d) with a 512-bit product. The library reverts when the result
/// does not fit; here it saturates (no measured quantity comes near).
pub fn mul_div(a: U256, b: U256, d: U256) -> U256 {
    let product: U512 = a.widening_mul(b);
    let q = product / U512::from(d);
    let limbs = q.as_limbs();
    if limbs[4..].iter().any(|l| *l != 0) {
        return U256::MAX;
    }
    U256::from_limbs([limbs[0], limbs[1], limbs[2], limbs[3]])
}

/// `_sqrt`: floor(sqrt(x)).
pub fn sqrt(x: U256) -> U256 {
    x.root(2)
}

fn i(x: i64) -> I256 {
    I256::try_from(x).unwrap_or_default()
}

// ============================================================================== inputs

/// The dependencies as the chaos layer knows them (the address book), never read back from the
/// vault under test (`Deps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deps {
    pub usdt: Address,
    pub btcb: Address,
    pub lp_pair: Address,
    pub flash_pair: Address,
    pub aster: Address,
    pub alp: Address,
    pub bnb_usd_feed: Address,
}

impl Deps {
    pub fn from_book(book: &AddressBook) -> Self {
        Self {
            usdt: book.usdt,
            btcb: book.btcb,
            lp_pair: book.lp_pair,
            flash_pair: book.flash_pair,
            aster: book.aster_diamond,
            alp: book.alp,
            bnb_usd_feed: book.bnb_usd_feed,
        }
    }
}

/// The vault's `Config` fields the hypothesis uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub min_cycle_interval: u64,
    pub twap_window: u64,
    pub max_twap_age: u64,
    pub max_oracle_age: u64,
    pub delta_band_bps: U256,
    pub max_deviation_bps: U256,
    pub max_nav_drop_bps: U256,
    pub swap_slippage_bps: U256,
    pub max_bounty_bps: U256,
    pub max_gas_price: U256,
    pub bounty_gas_units: U256,
}

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
        s.nav = s.usdt_free
            + s.alp_value
            + s.lp_value
            + s.loose_btc_value
            + s.hedge_value
            + s.pending_margin;
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

/// The chaos layer's record of the LP pair's cumulative price (`Tape`): one point per timestamp,
/// and the timestamps of successful cycles (the deployment counts as one). On a fork the points
/// are read at the blocks anvil mined (see [`measure`]), the same record a scenario keeps by
/// calling `record` at every time step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tape {
    pub start: u64,
    pub times: Vec<u64>,
    pub cumulatives: Vec<U256>,
    pub cycles: Vec<u64>,
}

/// The pair's state the cumulative price is computed from (`cumulativeNow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairState {
    pub reserve0: U256,
    pub reserve1: U256,
    pub timestamp_last: u32,
    /// `price0CumulativeLast` when BTCB is token0, else `price1CumulativeLast`.
    pub cumulative_last: U256,
    pub btc_is_token0: bool,
}

impl PairState {
    /// `cumulativeNow` at `now`: the stored accumulator plus the current reserves' price for the
    /// seconds since the pair's last update (wrapping, as the library's `unchecked`).
    pub fn cumulative_at(&self, now: u64) -> U256 {
        let mut c = self.cumulative_last;
        let now32 = now as u32;
        if self.timestamp_last != now32 && !self.reserve0.is_zero() && !self.reserve1.is_zero() {
            let price_q: U256 = if self.btc_is_token0 {
                (self.reserve1 << 112) / self.reserve0
            } else {
                (self.reserve0 << 112) / self.reserve1
            };
            c = c.wrapping_add(
                price_q.wrapping_mul(u(u64::from(now32.wrapping_sub(self.timestamp_last)))),
            );
        }
        c
    }
}

impl Tape {
    /// `record`: one point per timestamp, in increasing time.
    pub fn record(&mut self, time: u64, cumulative: U256) {
        if self.times.last().is_some_and(|t| *t >= time) {
            return;
        }
        self.times.push(time);
        self.cumulatives.push(cumulative);
    }

    /// `cumulativeAt`: exact at recorded points, interpolated between them.
    pub fn cumulative_at(&self, s: u64, now: u64, cumulative_now: U256) -> U256 {
        let n = self.times.len();
        let lo = self.times.partition_point(|t| *t <= s);
        if lo == 0 {
            return self.cumulatives.first().copied().unwrap_or(cumulative_now);
        }
        let idx = lo - 1;
        let (ti, ci) = (self.times[idx], self.cumulatives[idx]);
        if ti == s {
            return ci;
        }
        let (tj, cj) = if idx + 1 < n {
            (self.times[idx + 1], self.cumulatives[idx + 1])
        } else {
            (now, cumulative_now)
        };
        if tj <= ti {
            return ci;
        }
        ci.wrapping_add(cj.wrapping_sub(ci).wrapping_mul(u(s - ti)) / u(tj - ti))
    }

    /// `twapFrom`: TWAP of BTCB in USDT (18 decimals) from `s` to now; 0 when `s` is not in the
    /// past.
    pub fn twap_from(&self, s: u64, now: u64, cumulative_now: U256) -> U256 {
        if s >= now {
            return U256::ZERO;
        }
        let delta = cumulative_now.wrapping_sub(self.cumulative_at(s, now, cumulative_now));
        (delta / u(now - s)) * e(18) / q112()
    }

    /// The last successful cycle at or before `limit` (the deployment when none), and the
    /// earliest start of the vault's own TWAP window that follows from it (`twapRange`).
    pub fn window_starts(&self, now: u64, window: u64) -> Option<(u64, u64)> {
        if now < self.start + window {
            return None;
        }
        let limit = now - window;
        let c = self
            .cycles
            .iter()
            .rev()
            .find(|t| **t <= limit)
            .copied()
            .unwrap_or(self.start);
        let s_lo = if c > self.start + window / 4 {
            c - window / 4
        } else {
            self.start
        };
        Some((s_lo, c))
    }

    /// `twapRange`: the lowest and highest TWAP the vault's own oracle may be using now.
    pub fn twap_range(&self, now: u64, window: u64, cumulative_now: U256) -> (U256, U256) {
        let Some((s_lo, c)) = self.window_starts(now, window) else {
            return (U256::ZERO, U256::ZERO);
        };
        let mut lo = U256::MAX;
        let mut hi = U256::ZERO;
        let mut widen = |x: U256| {
            lo = lo.min(x);
            hi = hi.max(x);
        };
        widen(self.twap_from(s_lo, now, cumulative_now));
        widen(self.twap_from(c, now, cumulative_now));
        for t in &self.times {
            if *t > s_lo && *t < c {
                widen(self.twap_from(*t, now, cumulative_now));
            }
        }
        (lo, hi)
    }

    /// The shadow TWAP over exactly the configured window (or since the start when the tape does
    /// not cover it yet), and whether it covers it.
    pub fn shadow_twap(&self, now: u64, window: u64, cumulative_now: U256) -> (U256, bool) {
        let covered = now >= self.start + window;
        let from = if covered { now - window } else { self.start };
        (self.twap_from(from, now, cumulative_now), covered)
    }
}

// ============================================================================== snapshot

/// The vault's observable state at one block: its views (observed quantities) and the shadow
/// valuation (the yardstick) (`Snapshot`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub block: u64,
    pub timestamp: u64,
    pub nav: U256,
    pub share_price: U256,
    pub total_supply: U256,
    pub mode: u8,
    pub healthy_count: U256,
    pub pending: bool,
    pub pending_qty: U256,
    pub flash_active: bool,
    pub flash_borrowed: U256,
    pub flash_allowance: U256,
    pub digest: B256,
    pub flash_k: U256,
    pub lp_k: U256,
    pub vault_usdt: U256,
    pub vault_alp: U256,
    pub vault_btcb: U256,
    pub vault_lp: U256,
    pub epoch: U256,
    pub shadow: Shadow,
    /// The tape the shadow TWAP was computed from (for the conformance harness).
    pub tape: Tape,
    /// Block number of each tape point, in the tape's order.
    pub tape_blocks: Vec<u64>,
}

impl Snapshot {
    /// `shareValue`: what `shares` redeem for at the shadow NAV, with the virtual offset.
    pub fn share_value(&self, shares: U256) -> U256 {
        mul_div(shares, self.shadow.nav, self.total_supply + share_offset())
    }

    /// `shadowSharePrice`: shadow value per whole share.
    pub fn shadow_share_price(&self) -> U256 {
        mul_div(
            one_share(),
            self.shadow.nav,
            self.total_supply + share_offset(),
        )
    }

    /// `shareUnit`: one share unit at the shadow NAV, rounded up, plus one.
    pub fn share_unit(&self) -> U256 {
        ceil_div(self.shadow.nav, self.total_supply + share_offset()) + U256::from(1u8)
    }

    /// `expectedLiquidShare`: min(free USDT x shares / supply, the shares' shadow value less
    /// their part of S9's tolerance and one share unit).
    pub fn expected_liquid_share(&self, shares: U256) -> U256 {
        if self.total_supply.is_zero() {
            return U256::ZERO;
        }
        let liquid = mul_div(self.shadow.usdt_free, shares, self.total_supply);
        let value = self.share_value(shares);
        let slack = ceil_div(self.shadow.tolerance * shares, self.total_supply) + self.share_unit();
        let value = value.saturating_sub(slack);
        liquid.min(value)
    }
}

// ============================================================================== activity

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
    /// Aster's `closeFeeBps()` where it answers, else [`FALLBACK_CLOSE_FEE_BPS`].
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
fn swap(act: &mut Activity, l: &LogEntry, btc0: bool, price: U256, cfg: &Config) {
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
fn lp_mint(act: &mut Activity, l: &LogEntry, btc0: bool, price: U256, cfg: &Config) {
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
fn lp_burn(act: &mut Activity, l: &LogEntry, btc0: bool, price: U256) {
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
fn protocol_fee(act: &mut Activity, l: &LogEntry, vault: Address, a: &Snapshot) {
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
fn alp(act: &mut Activity, l: &LogEntry, vault: Address, alp_price: U256, cfg: &Config) {
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

fn flag(b: bool) -> I256 {
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

/// Who did what between two snapshots (`SteadyState.Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Deposit,
    Withdraw,
    RedeemRequest,
    Claim,
    Donation,
    Cycle,
}

/// The worst S10 outcome so far (`SteadyState.Fairness`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fairness {
    pub actions: u64,
    any_loss: bool,
    loss_observed: I256,
    loss_bound: I256,
    any_shortfall: bool,
    shortfall_observed: I256,
    shortfall_bound: I256,
}

/// One holder around an action: its shares before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub holder: Address,
    pub before: U256,
    pub after: U256,
}

impl Fairness {
    /// `fairness`: every other holder keeps its pro-rata course; a depositor gets shares worth
    /// what it paid; one share unit of rounding and the flow times S9's tolerance over the NAV
    /// allowed.
    pub fn record(
        &mut self,
        kind: Action,
        actor: Address,
        amount: U256,
        holdings: &[Holding],
        a: &Snapshot,
        b: &Snapshot,
    ) {
        self.actions += 1;
        let unit = a.share_unit().max(b.share_unit());
        let mut pricing = U256::ZERO;
        if matches!(
            kind,
            Action::Deposit | Action::Withdraw | Action::RedeemRequest
        ) {
            let nav = a.nav.min(a.shadow.nav).min(b.nav.min(b.shadow.nav));
            let nav = if nav.is_zero() { U256::from(1u8) } else { nav };
            pricing = ceil_div(amount * a.shadow.tolerance.max(b.shadow.tolerance), nav);
        }
        for h in holdings {
            if h.holder == actor {
                if kind == Action::Deposit {
                    let got = int(b.share_value(h.after)) - int(a.share_value(h.before));
                    self.worst(false, int(amount) - got, int(unit + pricing));
                }
                continue;
            }
            let loss = match kind {
                Action::Cycle => int(b.share_value(h.before)) - int(b.share_value(h.after)),
                Action::Donation => {
                    int(a.share_value(h.before))
                        + int(mul_div(amount, h.before, a.total_supply + share_offset()))
                        - int(b.share_value(h.after))
                }
                _ => int(a.share_value(h.before)) - int(b.share_value(h.after)),
            };
            let bound = int(unit + ceil_div(pricing * h.before, a.total_supply + share_offset()));
            self.worst(true, loss, bound);
        }
    }

    fn worst(&mut self, loss: bool, observed: I256, bound: I256) {
        if loss {
            if !self.any_loss || observed - bound > self.loss_observed - self.loss_bound {
                (self.any_loss, self.loss_observed, self.loss_bound) = (true, observed, bound);
            }
        } else if !self.any_shortfall
            || observed - bound > self.shortfall_observed - self.shortfall_bound
        {
            (
                self.any_shortfall,
                self.shortfall_observed,
                self.shortfall_bound,
            ) = (true, observed, bound);
        }
    }

    /// `s10Checks`.
    pub fn checks(&self, list: &mut Checks) {
        list.gt("S10_actions_checked", i(self.actions as i64), I256::ZERO);
        list.le(
            "S10_holder_value_loss_wei",
            self.loss_observed,
            self.loss_bound,
        );
        list.le(
            "S10_depositor_shortfall_wei",
            self.shortfall_observed,
            self.shortfall_bound,
        );
    }
}

#[cfg(test)]
mod tests;
