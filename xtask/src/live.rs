//! The live-fork engine: an anvil fork of a pinned block and a keeper written with alloy that
//! sends real `cycle()` transactions while the chain is disturbed from outside (gas-price
//! spikes, blocks mined without the keeper, a transaction stuck in the mempool or dropped, a
//! time jump). The steady state is read with `eth_call` at exact blocks and judged in Rust
//! ([`crate::steady`]).
//!
//! Each experiment starts from an `evm_snapshot` of the freshly forked block and reverts to it
//! afterwards, so experiments at one block are independent of each other and of their order.

use std::time::Instant;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{TxHash, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::Provider as _;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use anyhow::Context as _;

use crate::addressbook::AddressBook;
use crate::chain::accounts::{DEPOSITOR_A, KEEPER};
use crate::report::{Engine, Experiment, Verdict};
use crate::scenario::Check;
use crate::steady::{self, Bounds, Snapshot};
use crate::vault::VaultReader;

alloy::sol! {
    interface IErc20Transfer {
        function transfer(address to, uint256 amount) external returns (bool);
    }
    interface IPairSwap {
        function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes data) external;
    }
}

/// The live-fork experiments, in catalogue order.
pub const EXPERIMENTS: [(&str, &str); 5] = [
    ("keeper_gas_spike", "keeper cycles at 1, 50 and 1,000 gwei while maxGasPrice is lower"),
    ("keeper_missed_blocks", "200 blocks and six hours pass without the keeper, then it cycles"),
    ("keeper_stuck_tx", "automine off: the keeper's cycle waits in the mempool behind a market swap, then a second cycle follows at once"),
    ("keeper_dropped_tx", "the keeper's cycle is dropped from the mempool, then resent"),
    ("keeper_time_jump", "a week passes in one block, then three cycles"),
];

pub fn is_experiment(id: &str) -> bool {
    EXPERIMENTS.iter().any(|(e, _)| *e == id)
}

/// One fork and what the experiments read from it.
pub struct Fork {
    pub vault: VaultReader,
    pub book: AddressBook,
    pub bounds: Bounds,
}

const GWEI: u64 = 1_000_000_000;

impl Fork {
    pub async fn new(vault: VaultReader, book: AddressBook) -> anyhow::Result<Self> {
        let bounds = Bounds::read(&vault).await?;
        Ok(Self {
            vault,
            book,
            bounds,
        })
    }

    async fn head(&self) -> anyhow::Result<u64> {
        Ok(self.vault.provider.get_block_number().await?)
    }

    async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let head = self.head().await?;
        Snapshot::read(&self.vault, self.book.usdt, DEPOSITOR_A, head).await
    }

    /// Give the next block the head's timestamp plus `seconds`. Every block of an experiment
    /// is stamped this way, so time on the fork continues from the pinned block (not from the
    /// wall clock, months later) and a run is the same every time.
    async fn stamp(&self, seconds: u64) -> anyhow::Result<()> {
        let provider = &self.vault.provider;
        let head = provider.get_block_number().await?;
        let block = provider
            .get_block_by_number(head.into())
            .await?
            .with_context(|| format!("no block {head}"))?;
        provider
            .anvil_set_next_block_timestamp(block.header.timestamp + seconds)
            .await?;
        Ok(())
    }

    /// Let `seconds` of chain time pass in one empty block.
    async fn wait(&self, seconds: u64) -> anyhow::Result<()> {
        self.stamp(seconds).await?;
        self.vault.provider.evm_mine(None).await?;
        Ok(())
    }

    fn cycle_request(&self, gas_price: u128) -> anyhow::Result<TransactionRequest> {
        let data = self.vault.artifact.encode_call("cycle", &[])?;
        Ok(TransactionRequest::default()
            .with_from(KEEPER)
            .with_to(self.vault.address)
            .with_input(data)
            .with_gas_limit(5_000_000)
            .with_gas_price(gas_price))
    }

    /// Send a cycle with automine on and return its receipt.
    async fn cycle(&self, gas_price: u128) -> anyhow::Result<TransactionReceipt> {
        // A base fee below every tested price, so the price the keeper pays is the price it set.
        self.vault
            .provider
            .anvil_set_next_block_base_fee_per_gas(1)
            .await?;
        self.stamp(1).await?;
        let request = self.cycle_request(gas_price)?;
        Ok(self
            .vault
            .provider
            .eth_send_transaction_sync(request)
            .await?)
    }

    /// The bounty a receipt paid (BountyPaid), zero when none.
    fn bounty(&self, receipt: &TransactionReceipt) -> anyhow::Result<U256> {
        match self.vault.event("BountyPaid", receipt.inner.logs())? {
            Some(paid) => paid.uint("amount"),
            None => Ok(U256::ZERO),
        }
    }

    /// S1, S2, S3, S4, S6, S7 and (in NORMAL) S8 around one successful cycle.
    async fn judge_cycle(
        &self,
        before: &Snapshot,
        receipt: &TransactionReceipt,
        gas_price: u128,
    ) -> anyhow::Result<Vec<Check>> {
        let after = self.snapshot().await?;
        let bounty = self.bounty(receipt)?;
        let gas_cap = steady::gas_cap(
            &self.vault,
            self.book.bnb_usd_feed,
            &self.bounds,
            U256::from(gas_price),
            after.block,
            after.timestamp,
        )
        .await?;
        let mut checks = vec![steady::s1_value(before, &after, bounty, &self.bounds)];
        checks.extend(steady::s2_bounty(before, bounty, gas_cap, &self.bounds));
        checks.extend(steady::s3_flash(&after));
        checks.extend(steady::s4_risk_mode(&after));
        checks.push(steady::s6_share_price(before, &after, &self.bounds));
        checks.extend(steady::s7_exit(&after));
        checks.extend(steady::s8_hedge(&after, &self.bounds));
        Ok(checks)
    }

    /// A cycle that must go through (it waits out minCycleInterval first), judged.
    async fn judged_cycle(
        &self,
        gas_price: u128,
        label: &str,
    ) -> anyhow::Result<(Vec<Check>, u64)> {
        self.wait(self.bounds.min_cycle_interval).await?;
        let before = self.snapshot().await?;
        let receipt = self.cycle(gas_price).await?;
        if !receipt.status() {
            let after = self.snapshot().await?;
            // A reverted cycle is allowed only if it changed nothing (S5); it is still reported.
            let mut checks = vec![steady::s5_atomic(&before, &after)];
            checks.push(Check {
                name: format!("{label}_cycle_reverted"),
                observed: alloy::primitives::I256::ONE,
                bound: alloy::primitives::I256::ZERO,
                relation: "==".into(),
                passed: false,
            });
            return Ok((checks, receipt.gas_used));
        }
        let mut checks = self.judge_cycle(&before, &receipt, gas_price).await?;
        for c in &mut checks {
            c.name = format!("{label}:{}", c.name);
        }
        Ok((checks, receipt.gas_used))
    }

    /// Run one experiment from a snapshot of the fork and revert to it afterwards.
    pub async fn run(&self, id: &str) -> Experiment {
        let started = Instant::now();
        let fault = EXPERIMENTS
            .iter()
            .find(|(e, _)| *e == id)
            .map(|(_, f)| *f)
            .unwrap_or("unknown");
        let digest_before = self.vault.digest(None).await.ok();
        let (outcome, digest_after) = match self.vault.provider.anvil_snapshot().await {
            Ok(snapshot) => {
                let outcome = self.body(id).await;
                let digest_after = self.vault.digest(None).await.ok();
                let _ = self.vault.provider.anvil_set_auto_mine(true).await;
                let _ = self.vault.provider.anvil_revert(snapshot).await;
                (outcome, digest_after)
            }
            Err(e) => (Err(e.into()), None),
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (verdict, checks, gas, cycles, error) = match outcome {
            Ok((checks, gas, cycles)) => {
                let held = !checks.is_empty() && checks.iter().all(|c| c.passed);
                (
                    if held {
                        Verdict::Held
                    } else {
                        Verdict::Disproved
                    },
                    checks,
                    gas,
                    cycles,
                    None,
                )
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

    async fn body(&self, id: &str) -> anyhow::Result<(Vec<Check>, u64, u64)> {
        match id {
            "keeper_gas_spike" => {
                let mut checks = Vec::new();
                let mut gas = 0;
                for gwei in [1u64, 50, 1_000] {
                    let (c, g) = self
                        .judged_cycle(u128::from(gwei * GWEI), &format!("{gwei}gwei"))
                        .await?;
                    checks.extend(c);
                    gas += g;
                }
                Ok((checks, gas, 3))
            }
            "keeper_missed_blocks" => {
                // 200 empty blocks, 108 s apart: six hours without a keeper.
                for _ in 0..200 {
                    self.wait(108).await?;
                }
                let before = self.snapshot().await?;
                let receipt = self.cycle(u128::from(3 * GWEI)).await?;
                anyhow::ensure!(receipt.status(), "the first cycle after six hours reverted");
                let checks = self
                    .judge_cycle(&before, &receipt, u128::from(3 * GWEI))
                    .await?;
                Ok((checks, receipt.gas_used, 1))
            }
            "keeper_stuck_tx" => self.stuck().await,
            "keeper_dropped_tx" => self.dropped().await,
            "keeper_time_jump" => {
                self.wait(7 * 86_400).await?;
                let mut checks = Vec::new();
                let mut gas = 0;
                for i in 1..=3 {
                    let (c, g) = self
                        .judged_cycle(u128::from(3 * GWEI), &format!("cycle{i}"))
                        .await?;
                    checks.extend(c);
                    gas += g;
                }
                Ok((checks, gas, 3))
            }
            other => anyhow::bail!("unknown live-fork experiment `{other}`"),
        }
    }

    /// The keeper's cycle sits in the mempool behind a market swap; nothing changes until a
    /// block is mined; then both land, and a second cycle right after must revert without
    /// changing anything (rate limit, S5).
    async fn stuck(&self) -> anyhow::Result<(Vec<Check>, u64, u64)> {
        let provider = &self.vault.provider;
        self.wait(self.bounds.min_cycle_interval).await?;
        let before = self.snapshot().await?;
        provider.anvil_set_auto_mine(false).await?;
        let swap = self.market_swap().await?;
        let cycle = provider
            .send_transaction(self.cycle_request(u128::from(3 * GWEI))?)
            .await?
            .tx_hash()
            .to_owned();
        let waiting = self.snapshot_at(before.block).await?;
        let mut checks = vec![steady::s5_atomic(&before, &waiting)];
        checks[0].name = "S5_state_changed_while_pending".into();
        self.stamp(1).await?;
        provider.evm_mine(None).await?;
        provider.anvil_set_auto_mine(true).await?;
        let receipt = self.receipt(cycle).await?;
        let swap_receipt = self.receipt(swap).await?;
        anyhow::ensure!(swap_receipt.status(), "the market swap reverted");
        let mut gas = receipt.gas_used;
        if receipt.status() {
            checks.extend(
                self.judge_cycle(&before, &receipt, u128::from(3 * GWEI))
                    .await?,
            );
        } else {
            checks.push(steady::s5_atomic(&before, &self.snapshot().await?));
        }
        // At once again: the rate limit must refuse it and leave no trace.
        let before_second = self.snapshot().await?;
        let second = self.cycle(u128::from(3 * GWEI)).await?;
        gas += second.gas_used;
        let after_second = self.snapshot().await?;
        checks.push(Check {
            name: "second_cycle_within_min_interval_succeeded".into(),
            observed: alloy::primitives::I256::try_from(u8::from(second.status()))
                .unwrap_or_default(),
            bound: alloy::primitives::I256::ZERO,
            relation: "==".into(),
            passed: !second.status(),
        });
        checks.push(steady::s5_atomic(&before_second, &after_second));
        Ok((checks, gas, 2))
    }

    /// The keeper's cycle is dropped before it is mined: nothing happens; the resent cycle is
    /// judged like any other.
    async fn dropped(&self) -> anyhow::Result<(Vec<Check>, u64, u64)> {
        let provider = &self.vault.provider;
        self.wait(self.bounds.min_cycle_interval).await?;
        let before = self.snapshot().await?;
        provider.anvil_set_auto_mine(false).await?;
        let hash = provider
            .send_transaction(self.cycle_request(u128::from(3 * GWEI))?)
            .await?
            .tx_hash()
            .to_owned();
        let dropped = provider.anvil_drop_transaction(hash).await?;
        self.stamp(1).await?;
        provider.evm_mine(None).await?;
        provider.anvil_set_auto_mine(true).await?;
        let after_drop = self.snapshot().await?;
        let mut checks = vec![Check {
            name: "dropped_tx_was_in_the_pool".into(),
            observed: alloy::primitives::I256::try_from(u8::from(dropped.is_some()))
                .unwrap_or_default(),
            bound: alloy::primitives::I256::ONE,
            relation: "==".into(),
            passed: dropped.is_some(),
        }];
        let mut unchanged = steady::s5_atomic(&before, &after_drop);
        unchanged.name = "S5_state_changed_by_dropped_cycle".into();
        checks.push(unchanged);
        let receipt = self.cycle(u128::from(3 * GWEI)).await?;
        anyhow::ensure!(receipt.status(), "the resent cycle reverted");
        checks.extend(
            self.judge_cycle(&after_drop, &receipt, u128::from(3 * GWEI))
                .await?,
        );
        Ok((checks, receipt.gas_used, 1))
    }

    /// A vault deployed on the fork just now: two depositors (funded with anvil's ERC-20 deal)
    /// put in 1,000,000 USDT, and the keeper cycles until the TWAP window has passed and the
    /// vault has invested, so the experiments start from a working vault, not an empty one.
    pub async fn warm_up(&self) -> anyhow::Result<()> {
        let provider = &self.vault.provider;
        let config = self.vault.named("getConfig", None).await?;
        let window = u64::try_from(config.uint("twapWindow")?)?;
        for (depositor, amount) in [
            (DEPOSITOR_A, 600_000u64),
            (crate::chain::accounts::DEPOSITOR_B, 400_000u64),
        ] {
            let assets = U256::from(amount) * U256::from(10u64).pow(U256::from(18u64));
            provider
                .anvil_deal_erc20(depositor, self.book.usdt, assets)
                .await?;
            let approve = crate::steady::approve_call(self.vault.address, U256::MAX);
            self.send_from(depositor, self.book.usdt, approve.into())
                .await?;
            let deposit = self.vault.artifact.encode_call(
                "deposit",
                &[
                    alloy::dyn_abi::DynSolValue::Uint(assets, 256),
                    alloy::dyn_abi::DynSolValue::Address(depositor),
                ],
            )?;
            self.send_from(depositor, self.vault.address, deposit)
                .await?;
        }
        self.wait(window).await?;
        for _ in 0..3 {
            self.wait(self.bounds.min_cycle_interval).await?;
            let receipt = self.cycle(u128::from(3 * GWEI)).await?;
            anyhow::ensure!(
                receipt.status(),
                "a warm-up cycle of the fresh vault reverted"
            );
        }
        Ok(())
    }

    async fn send_from(
        &self,
        from: alloy::primitives::Address,
        to: alloy::primitives::Address,
        data: alloy::primitives::Bytes,
    ) -> anyhow::Result<()> {
        self.stamp(1).await?;
        let request = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(data)
            .with_gas_limit(1_000_000)
            .with_gas_price(u128::from(3 * GWEI));
        let receipt = self
            .vault
            .provider
            .eth_send_transaction_sync(request)
            .await?;
        anyhow::ensure!(receipt.status(), "a warm-up transaction to {to} reverted");
        Ok(())
    }

    async fn snapshot_at(&self, block: u64) -> anyhow::Result<Snapshot> {
        Snapshot::read(&self.vault, self.book.usdt, DEPOSITOR_A, block).await
    }

    async fn receipt(&self, hash: TxHash) -> anyhow::Result<TransactionReceipt> {
        self.vault
            .provider
            .get_transaction_receipt(hash)
            .await?
            .with_context(|| format!("no receipt for {hash}"))
    }

    /// A trader sells 0.5 BTCB into the LP pair (funded on the fork with anvil's ERC-20 deal).
    async fn market_swap(&self) -> anyhow::Result<TxHash> {
        use crate::chain::accounts::TRADER;
        let provider = &self.vault.provider;
        let amount = U256::from(500_000_000_000_000_000u128);
        provider
            .anvil_deal_erc20(TRADER, self.book.btcb, amount)
            .await?;
        let transfer = IErc20Transfer::transferCall {
            to: self.book.lp_pair,
            amount,
        };
        // 1% under the quote: the keeper's cycle may land first in the same block and move the pool.
        let swap_out = self.swap_out(amount).await? * U256::from(99u64) / U256::from(100u64);
        let tx1 = TransactionRequest::default()
            .with_from(TRADER)
            .with_to(self.book.btcb)
            .with_input(alloy::sol_types::SolCall::abi_encode(&transfer))
            .with_gas_limit(200_000)
            .with_gas_price(u128::from(3 * GWEI));
        let _transfer = provider.send_transaction(tx1).await?;
        let (a0, a1) = if self.book.btcb < self.book.usdt {
            (U256::ZERO, swap_out)
        } else {
            (swap_out, U256::ZERO)
        };
        let swap = IPairSwap::swapCall {
            amount0Out: a0,
            amount1Out: a1,
            to: TRADER,
            data: Default::default(),
        };
        let tx2 = TransactionRequest::default()
            .with_from(TRADER)
            .with_to(self.book.lp_pair)
            .with_input(alloy::sol_types::SolCall::abi_encode(&swap))
            .with_gas_limit(300_000)
            .with_gas_price(u128::from(3 * GWEI));
        Ok(provider.send_transaction(tx2).await?.tx_hash().to_owned())
    }

    /// USDT out of the LP pair for `btc_in` BTCB, Pancake's 0.25% fee, at current reserves.
    async fn swap_out(&self, btc_in: U256) -> anyhow::Result<U256> {
        let pair = crate::chain::IPair::new(self.book.lp_pair, self.vault.provider.clone());
        let r = pair.getReserves().call().await?;
        let (r_btc, r_usdt) = if self.book.btcb < self.book.usdt {
            (U256::from(r.reserve0), U256::from(r.reserve1))
        } else {
            (U256::from(r.reserve1), U256::from(r.reserve0))
        };
        let in_fee = btc_in * U256::from(9975u64);
        Ok(in_fee * r_usdt / (r_btc * U256::from(10_000u64) + in_fee))
    }
}
