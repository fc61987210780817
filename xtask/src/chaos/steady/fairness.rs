//! S10, fairness: what each holder could withdraw before and after a sequence of actions.

use super::{ceil_div, i, int, mul_div, share_offset, Checks, Snapshot};
use alloy::primitives::{Address, I256, U256};

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
