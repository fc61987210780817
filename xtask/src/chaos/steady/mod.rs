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

mod activity;
mod checks;
mod fairness;
pub mod measure;
mod shadow;
mod tape;

pub use activity::*;
pub use checks::*;
pub use fairness::*;
pub use shadow::*;
pub use tape::*;

use alloy::primitives::{keccak256, Address, B256, I256, U256, U512};

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

#[cfg(test)]
mod tests;
