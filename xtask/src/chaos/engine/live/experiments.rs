//! One live-fork experiment on a prepared fork: its own work before the disturbance (a deposit,
//! a market move, a fresh feed round), the disturbance, the keeper's cycle and the judgement of
//! it by the steady state, from an `evm_snapshot` reverted afterwards.

use super::*;
use crate::chain::accounts::{DEPOSITOR_A, KEEPER};
use crate::chaos::scenario::Check;
use crate::chaos::steady::measure::trace_outcome;
use crate::chaos::steady::{self, Action, Checks, Holding, Snapshot};
use crate::report::{Engine, Experiment, Verdict};
use alloy::dyn_abi::DynSolValue;
use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use std::time::Instant;

impl Fork {
    /// Run one experiment from a snapshot of the fork and revert to it afterwards.
    pub async fn run(&self, id: &str) -> Experiment {
        let started = Instant::now();
        let fault = EXPERIMENTS
            .iter()
            .find(|(e, _)| *e == id)
            .map(|(_, f)| *f)
            .unwrap_or("unknown");
        let digest_before = self.vault.digest(None).await.ok();
        let start = self.head().await.unwrap_or_default();
        let (outcome, digest_after) = match self.vault.provider.anvil_snapshot().await {
            Ok(snapshot) => {
                let outcome = self.body(id).await;
                let digest_after = self.vault.digest(None).await.ok();
                // Whatever the experiment left behind goes: queued transactions, a lowered
                // block gas limit, automine off.
                let _ = self.vault.provider.anvil_drop_all_transactions().await;
                let _ = self
                    .vault
                    .provider
                    .anvil_set_block_gas_limit(self.gas_limit)
                    .await;
                let _ = self.vault.provider.anvil_set_auto_mine(true).await;
                let _ = self.vault.provider.anvil_revert(snapshot).await;
                self.observer.forget_above(start);
                (outcome, digest_after)
            }
            Err(e) => (Err(e.into()), None),
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (verdict, checks, gas, cycles, error) = match outcome {
            Ok(run) => {
                let mut list = run.list;
                run.fair.checks(&mut list);
                let checks = list.into_vec();
                let held = !checks.is_empty() && checks.iter().all(Check::passed);
                let verdict = if held {
                    Verdict::Held
                } else {
                    Verdict::Disproved
                };
                (verdict, checks, run.gas, run.cycles, None)
            }
            Err(err) => (Verdict::Error, vec![], 0, 0, Some(format!("{err:#}"))),
        };
        Experiment {
            id: id.to_owned(),
            engine: Engine::LiveFork,
            fault: fault.to_owned(),
            verdict,
            duration_ms,
            checks,
            gas,
            cycles,
            digest_before: digest_before.map(|d| d.to_string()),
            digest_after: digest_after.map(|d| d.to_string()),
            error,
        }
    }

    pub(super) async fn body(&self, id: &str) -> anyhow::Result<Run> {
        let mut run = Run::default();
        let interval = self.observer.cfg.min_cycle_interval;
        match id {
            "keeper_gas_spike" => {
                for gwei in [1u64, 50, 1_000] {
                    let provider = &self.vault.provider;
                    let start = self.head().await?;
                    let snapshot = provider.anvil_snapshot().await?;
                    let tag = format!("_{gwei}gwei");
                    self.wait(interval).await?;
                    self.work(&mut run, false).await?;
                    let judged = self
                        .keeper_cycle(&mut run, &tag, gwei * GWEI, Some(0))
                        .await?;
                    run.list.gt(
                        format!("S2_bounty_paid_wei{tag}"),
                        steady::int(judged.bounty),
                        I256::ZERO,
                    );
                    if U256::from(gwei * GWEI) > self.observer.cfg.max_gas_price {
                        let cfg = &self.observer.cfg;
                        let uncapped =
                            cfg.bounty_gas_units * U256::from(gwei * GWEI) * judged.bnb_usd
                                / U256::from(10u64).pow(U256::from(18u64))
                                * U256::from(3u8)
                                / U256::from(2u8);
                        run.list.gt(
                            format!("S2_uncapped_refund_exceeds_gas_cap_wei{tag}"),
                            steady::int(uncapped),
                            steady::int(steady::gas_cap(
                                cfg,
                                U256::from(gwei * GWEI),
                                judged.bnb_usd,
                            )),
                        );
                    }
                    provider.anvil_revert(snapshot).await?;
                    self.observer.forget_above(start);
                }
            }
            "keeper_missed_blocks" => {
                self.wait(interval).await?;
                self.work(&mut run, true).await?;
                // 200 empty blocks, 108 s apart: six hours without a keeper, while Chainlink's
                // heartbeat keeps the BNB/USD feed fresh (a round every 30 blocks, 54 minutes).
                for i in 0..200 {
                    self.wait(108).await?;
                    if i % 30 == 29 {
                        self.heartbeat().await?;
                    }
                }
                self.heartbeat().await?;
                self.keeper_cycle(&mut run, "_6h", KEEPER_GWEI * GWEI, Some(1))
                    .await?;
            }
            "keeper_stuck_tx" => self.stuck(&mut run).await?,
            "keeper_dropped_tx" => self.dropped(&mut run).await?,
            "keeper_time_jump" => {
                self.wait(interval).await?;
                self.work(&mut run, true).await?;
                self.wait(7 * 86_400).await?;
                // Chainlink's heartbeat posts right after the week; the vault's own TWAP is a
                // week old, so the first three cycles find it stale.
                for (i, tag) in ["_7d", "_c2", "_c3"].into_iter().enumerate() {
                    if i > 0 {
                        self.wait(interval).await?;
                    }
                    self.heartbeat().await?;
                    self.keeper_cycle(&mut run, tag, KEEPER_GWEI * GWEI, Some(1))
                        .await?;
                }
            }
            other => anyhow::bail!("unknown live-fork experiment `{other}`"),
        }
        Ok(run)
    }

    /// The keeper's cycle sits in the mempool while a full block carries a market swap; nothing
    /// of the vault changes meanwhile; then the cycle is mined alone and judged, and a second
    /// cycle right after must be refused by the rate limit without changing anything (S5).
    pub(super) async fn stuck(&self, run: &mut Run) -> anyhow::Result<()> {
        let provider = &self.vault.provider;
        self.wait(self.observer.cfg.min_cycle_interval).await?;
        self.work(run, false).await?;
        let before = self.observer.measure(self.head().await?).await?;
        provider.anvil_set_auto_mine(false).await?;
        provider.anvil_set_next_block_base_fee_per_gas(1).await?;
        let cycle = provider
            .send_transaction(self.cycle_request(u128::from(KEEPER_GWEI * GWEI))?)
            .await?
            .tx_hash()
            .to_owned();
        let swap = self.queue_market_swap().await?;
        // A block that fits the market's transactions but not the keeper's.
        provider.anvil_set_block_gas_limit(1_000_000).await?;
        self.stamp(0).await?;
        provider.evm_mine(None).await?;
        provider.anvil_set_block_gas_limit(self.gas_limit).await?;
        let full = self.head().await?;
        let waiting = self.observer.measure(full).await?;
        let pending = provider.get_transaction_receipt(cycle).await?.is_none();
        run.list.is_true("cycle_pending_behind_full_block", pending);
        steady::s5_unchanged(&mut run.list, "_pending", &before, &waiting);
        let swap_receipt = self.receipt(swap).await?;
        if !swap_receipt.status() {
            let (_, reason) = trace_outcome(provider, swap).await?;
            anyhow::bail!("the market swap reverted: {reason}");
        }
        self.stamp(0).await?;
        provider.anvil_set_next_block_base_fee_per_gas(1).await?;
        provider.evm_mine(None).await?;
        provider.anvil_set_auto_mine(true).await?;
        let receipt = self.receipt(cycle).await?;
        self.judge(run, "", &receipt, Some(0)).await?;
        // At once again: the rate limit must refuse it and leave no trace.
        let before_second = self.observer.measure(self.head().await?).await?;
        let second = self.cycle(u128::from(KEEPER_GWEI * GWEI)).await?;
        run.gas += second.gas_used;
        run.cycles += 1;
        let after_second = self.observer.measure(self.head().await?).await?;
        let (_, reason) = trace_outcome(&self.vault.provider, second.transaction_hash).await?;
        run.list.eq(
            "second_cycle_within_min_interval_succeeded",
            flag(second.status()),
            I256::ZERO,
        );
        run.list.is_true(
            "second_cycle_reverted_CycleTooSoon",
            !second.status() && self.revert_name(&reason) == "CycleTooSoon",
        );
        steady::s5_unchanged(&mut run.list, "_second", &before_second, &after_second);
        Ok(())
    }

    /// The keeper's cycle is dropped before it is mined: nothing happens; the resent cycle is
    /// judged like any other.
    pub(super) async fn dropped(&self, run: &mut Run) -> anyhow::Result<()> {
        let provider = &self.vault.provider;
        self.wait(self.observer.cfg.min_cycle_interval).await?;
        self.work(run, false).await?;
        let before = self.observer.measure(self.head().await?).await?;
        provider.anvil_set_auto_mine(false).await?;
        provider.anvil_set_next_block_base_fee_per_gas(1).await?;
        let hash = provider
            .send_transaction(self.cycle_request(u128::from(KEEPER_GWEI * GWEI))?)
            .await?
            .tx_hash()
            .to_owned();
        let dropped = provider.anvil_drop_transaction(hash).await?;
        self.stamp(0).await?;
        provider.evm_mine(None).await?;
        provider.anvil_set_auto_mine(true).await?;
        let after_drop = self.observer.measure(self.head().await?).await?;
        run.list
            .is_true("dropped_tx_was_in_the_pool", dropped.is_some());
        run.list.is_true(
            "dropped_tx_never_mined",
            provider.get_transaction_receipt(hash).await?.is_none(),
        );
        steady::s5_unchanged(&mut run.list, "_dropped", &before, &after_drop);
        if let Some(w) = &self.witness {
            w.unchanged(self, "_dropped", &before, &after_drop).await?;
        }
        self.keeper_cycle(run, "", KEEPER_GWEI * GWEI, Some(0))
            .await?;
        Ok(())
    }

    // ------------------------------------------------------------------ judging

    /// One keeper cycle at `gas_price` wei, judged.
    pub(super) async fn keeper_cycle(
        &self,
        run: &mut Run,
        tag: &str,
        gas_price: u64,
        expect_mode: Option<u8>,
    ) -> anyhow::Result<Judged> {
        let receipt = self.cycle(u128::from(gas_price)).await?;
        self.judge(run, tag, &receipt, expect_mode).await
    }

    /// Every check a mined keeper cycle is held to: the common cycle checks (a revert is
    /// `cycle_succeeded` = 0 with its reason, and S5), S4 (the mode the experiment calls for; in
    /// ONLY_UNWIND a real deposit must revert with DepositsPaused), S7 (the holder's liquid share
    /// and a simulated withdrawal of it), S8 after a NORMAL cycle without a pending trade before
    /// it, and S10 (no holder's shares move).
    pub(super) async fn judge(
        &self,
        run: &mut Run,
        tag: &str,
        receipt: &TransactionReceipt,
        expect_mode: Option<u8>,
    ) -> anyhow::Result<Judged> {
        let o = &self.observer;
        let n = receipt
            .block_number
            .context("the cycle's receipt has no block")?;
        run.gas += receipt.gas_used;
        run.cycles += 1;
        let a = o.measure(n - 1).await?;
        let b = o.measure(n).await?;
        anyhow::ensure!(
            a.timestamp == b.timestamp,
            "the block before the cycle is at {}, the cycle at {}: the before snapshot would not be valued at the cycle's time",
            a.timestamp,
            b.timestamp
        );
        let (input, output) = o.cycle_input(receipt, KEEPER).await?;
        let mut list = Checks::default();
        steady::cycle_checks(
            &mut list,
            tag,
            &o.deps,
            &o.facts,
            self.vault.address,
            &o.cfg,
            &a,
            &b,
            &input,
        );
        if b.mode == 0 && input.ok && !a.pending {
            steady::s8_hedge(&mut list, tag, &b, &o.cfg);
        }
        let shares = self.shares_of(DEPOSITOR_A, n).await?;
        let max_withdraw = self.max_withdraw(DEPOSITOR_A, n).await?;
        steady::s7_liquid_share(&mut list, tag, &b, shares, max_withdraw);
        if let Some(w) = &self.witness {
            w.cycle(self, tag, &a, &b, &input, &list).await?;
        }
        run.list.extend(list);
        if !input.ok {
            let reason = self.revert_name(&output);
            run.list.eq(
                format!("cycle_reverted_{reason}{tag}"),
                I256::ONE,
                I256::ZERO,
            );
            steady::s5_unchanged(&mut run.list, tag, &a, &b);
        }
        if let Some(mode) = expect_mode {
            steady::s4_mode(&mut run.list, tag, &b, mode);
            if mode == 1 {
                self.deposits_paused(run, tag).await?;
            }
        }
        let received = self.simulate_withdraw(DEPOSITOR_A, max_withdraw, n).await?;
        steady::s7_withdrawn(&mut run.list, tag, received, max_withdraw);
        self.cycle_fairness(run, n, &b).await?;
        Ok(Judged {
            bounty: input.bounty,
            bnb_usd: input.bnb_usd,
        })
    }

    /// S10 around a cycle: no holder's shares may move.
    pub(super) async fn cycle_fairness(
        &self,
        run: &mut Run,
        n: u64,
        b: &Snapshot,
    ) -> anyhow::Result<()> {
        let mut holdings = Vec::new();
        for holder in HOLDERS {
            holdings.push(Holding {
                holder,
                before: self.shares_of(holder, n - 1).await?,
                after: self.shares_of(holder, n).await?,
            });
        }
        if holdings.iter().all(|h| h.before == h.after) {
            run.fair.actions += 1;
        } else {
            run.fair
                .record(Action::Cycle, KEEPER, U256::ZERO, &holdings, b, b);
        }
        Ok(())
    }

    /// S4 in ONLY_UNWIND: a real deposit transaction reverts with exactly `DepositsPaused()`,
    /// and `maxDeposit` reads 0.
    pub(super) async fn deposits_paused(&self, run: &mut Run, tag: &str) -> anyhow::Result<()> {
        let (ok, reason) = self.deposit(run, DEPOSITOR_C, usdt(PROBE_DEPOSIT)).await?;
        let head = self.head().await?;
        let max = self
            .vault
            .u256(
                "maxDeposit",
                &[DynSolValue::Address(DEPOSITOR_C)],
                Some(head),
            )
            .await?;
        steady::s4_deposits_paused(&mut run.list, tag, ok, &reason, max);
        Ok(())
    }

    /// `withdraw(assets)` by `holder`, simulated at block `n`: the WithdrawProbe runs as the
    /// holder's code in an `eth_call`; what the holder's USDT balance gained (0 if it reverted).
    pub(super) async fn simulate_withdraw(
        &self,
        holder: Address,
        assets: U256,
        n: u64,
    ) -> anyhow::Result<U256> {
        let probe = crate::foundry::artifacts::Artifact::load(
            &self.project_out(),
            "LiveProbes.sol",
            "WithdrawProbe",
        )?;
        let code = probe
            .deployed_bytecode
            .context("WithdrawProbe has no runtime code")?;
        let overrides = alloy::rpc::types::state::StateOverridesBuilder::default()
            .with_code(holder, code)
            .build();
        let data = IWithdrawProbe::probeCall {
            vault: self.vault.address,
            usdt: self.book.usdt,
            assets,
        }
        .abi_encode();
        let raw = self
            .vault
            .provider
            .call(TransactionRequest::default().to(holder).input(data.into()))
            .block(n.into())
            .overrides(overrides)
            .await
            .context("simulating withdraw(maxWithdraw)")?;
        let out = IWithdrawProbe::probeCall::abi_decode_returns(&raw)?;
        Ok(if out.ok { out.received } else { U256::ZERO })
    }

    pub(super) async fn shares_of(&self, holder: Address, n: u64) -> anyhow::Result<U256> {
        self.vault
            .u256("balanceOf", &[DynSolValue::Address(holder)], Some(n))
            .await
    }

    pub(super) async fn max_withdraw(&self, holder: Address, n: u64) -> anyhow::Result<U256> {
        self.vault
            .u256("maxWithdraw", &[DynSolValue::Address(holder)], Some(n))
            .await
    }

    // ------------------------------------------------------------------ work and market

    /// Work for the next cycle: a fresh feed round, a deposit (held to S10) and, when asked, a
    /// market move of the pool with Aster's mark following it.
    pub(super) async fn work(&self, run: &mut Run, move_market: bool) -> anyhow::Result<()> {
        self.heartbeat().await?;
        let (ok, _) = self.deposit(run, DEPOSITOR_C, usdt(WORK_DEPOSIT)).await?;
        anyhow::ensure!(
            ok,
            "the work deposit reverted (is the vault paused at this block?)"
        );
        if move_market {
            self.market_move(MARKET_MOVE_BPS).await?;
        }
        Ok(())
    }

    /// A real deposit of `amount` by `who` (USDT dealt and approved first); S10 around it when
    /// it goes through. Returns whether it did and the revert data when not.
    pub(super) async fn deposit(
        &self,
        run: &mut Run,
        who: Address,
        amount: U256,
    ) -> anyhow::Result<(bool, Bytes)> {
        let provider = &self.vault.provider;
        let held = self.observer.usdt_of(who, self.head().await?).await?;
        provider
            .anvil_deal_erc20(who, self.book.usdt, held + amount)
            .await?;
        let approve = IErc20Ops::approveCall {
            spender: self.vault.address,
            amount,
        };
        self.send_from(who, self.book.usdt, approve.abi_encode().into())
            .await?;
        let head = self.head().await?;
        let a = self.observer.measure(head).await?;
        let mut holdings = Vec::new();
        for holder in HOLDERS {
            holdings.push(Holding {
                holder,
                before: self.shares_of(holder, head).await?,
                after: U256::ZERO,
            });
        }
        let call = self.vault.artifact.encode_call(
            "deposit",
            &[DynSolValue::Uint(amount, 256), DynSolValue::Address(who)],
        )?;
        let receipt = self.transact(who, self.vault.address, call).await?;
        let (ok, output) = trace_outcome(provider, receipt.transaction_hash).await?;
        if ok {
            let n = receipt.block_number.context("the deposit has no block")?;
            let b = self.observer.measure(n).await?;
            for h in &mut holdings {
                h.after = self.shares_of(h.holder, n).await?;
            }
            run.fair
                .record(Action::Deposit, who, amount, &holdings, &a, &b);
            if let Some(w) = &self.witness {
                w.deposit(self, who, amount, &holdings, &a, &b).await?;
            }
        }
        Ok((ok, output))
    }
}
