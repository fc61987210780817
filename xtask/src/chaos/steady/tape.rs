//! The tape: the LP pair's cumulative price sampled block by block, and the shadow TWAP the
//! vault's own TWAP is held to.

use super::{e, q112, u};
use alloy::primitives::U256;

/// The chaos layer's record of the LP pair's cumulative price (`Tape`): one point per timestamp,
/// and the timestamps of successful cycles (the deployment counts as one). On a fork the points
/// are read at the blocks anvil mined (see [`super::measure`]), the same record a scenario keeps by
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
