//! The live-fork engine: an anvil fork of a pinned block and a keeper written with alloy that
//! sends real `cycle()` transactions while the chain is disturbed from outside (gas-price
//! spikes, blocks mined without the keeper, a transaction stuck behind a full block or dropped,
//! a time jump). The steady state is read with `eth_call` at exact blocks and judged in Rust
//! ([`crate::chaos::steady`], the twin of `script/chaos/SteadyState.sol`).
//!
//! The vault does real work in every experiment, so its bounty, value and hedge checks observe
//! non-zero quantities:
//! - once per fork, before any experiment, the fork is made a market the vault can work in: a
//!   liquidity provider deepens the LP pool when it is too thin for the vault's own rebalance
//!   (the local chain's vault outgrew its pool: every swap of its history was refused), the
//!   BNB/USD feed gets a fresh round, and the keeper cycles (Aster's keeper executing the hedge
//!   on the replicas) until the vault is NORMAL, invested and has no pending trade;
//! - each experiment then gives the cycle it judges work of its own before the disturbance: a
//!   deposit (held to S10), a market move of the pool with Aster's mark following it, and a
//!   fresh feed round, as Chainlink's heartbeat would post.
//!
//! Every judged cycle lands in a block with the same timestamp as the block before it (as on
//! BSC, where 0.45 s blocks share seconds), so the snapshot before it is valued at the cycle's
//! own timestamp. A reverted keeper cycle is a disproved check (`cycle_succeeded` = 0, with the
//! decoded reason), never an experiment error. Each experiment starts from an `evm_snapshot`
//! and reverts to it afterwards, so experiments at one block are independent of each other and
//! of their order; every block is stamped from the pinned block's time, so a run is the same
//! every time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use alloy::dyn_abi::DynSolValue;
use alloy::network::TransactionBuilder as _;
use alloy::primitives::{address, Address, Bytes, TxHash, I256, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::Provider as _;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolCall as _;
use anyhow::Context as _;

use crate::chain::accounts::{DEPOSITOR_A, DEPOSITOR_B, KEEPER, TRADER};
use crate::chain::addressbook::AddressBook;
use crate::chain::vault::VaultReader;
use crate::chaos::scenario::Check;
use crate::chaos::steady::measure::{trace_outcome, Observer};
use crate::chaos::steady::{self, Action, Checks, Deps, Fairness, Holding, Snapshot};
use crate::report::{Engine, Experiment, Verdict};

pub(in crate::chaos) mod run;
pub mod witness;

alloy::sol! {
    interface IErc20Ops {
        function transfer(address to, uint256 amount) external returns (bool);
        function approve(address spender, uint256 amount) external returns (bool);
    }
    interface IPairOps {
        function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes data) external;
        function mint(address to) external returns (uint256 liquidity);
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    }
    /// The replicas' keeper and admin surface (contracts/replicas): absent on BSC.
    interface IReplicaAdmin {
        function admin() external view returns (address);
        function latestAnswer() external view returns (int256);
        function updateAnswer(int256 answer) external;
        function setMarkPrice(address pairBase, uint64 price) external;
        function executePendingTrades() external returns (uint256 opened, uint256 cancelled);
    }
    interface IWithdrawProbe {
        function probe(address vault, address usdt, uint256 assets) external returns (bool ok, uint256 received, bytes revertData);
    }
    interface IFeedView {
        function latestRoundData() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
        function decimals() external view returns (uint8);
    }
}

/// The live-fork experiments, in catalogue order.
pub const EXPERIMENTS: [(&str, &str); 5] = [
    ("keeper_gas_spike", "a deposit gives the vault work; the keeper cycles at 1, 50 and 1,000 gwei (maxGasPrice 5 gwei)"),
    ("keeper_missed_blocks", "a deposit and a 1% market move, then 200 blocks and six hours without the keeper; then it cycles"),
    ("keeper_stuck_tx", "a deposit gives the vault work; the keeper's cycle waits in the mempool behind a full block with a market swap, then a second cycle follows at once"),
    ("keeper_dropped_tx", "a deposit gives the vault work; the keeper's cycle is dropped from the mempool, then resent"),
    ("keeper_time_jump", "a deposit and a 1% market move, then a week passes in one block; three cycles"),
];

pub fn is_experiment(id: &str) -> bool {
    EXPERIMENTS.iter().any(|(e, _)| *e == id)
}

/// anvil's dev account 5: deposits the work of each experiment and tries S4's deposits.
pub const DEPOSITOR_C: Address = address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
/// anvil's dev account 6: the liquidity provider who deepens a pool too thin for the vault.
pub const LIQUIDITY: Address = address!("976EA74026E726554dB657fA54763abd0C3a0aa9");
/// The holders S10 watches on a fork.
pub const HOLDERS: [Address; 5] = [DEPOSITOR_A, DEPOSITOR_B, DEPOSITOR_C, KEEPER, TRADER];

const GWEI: u64 = 1_000_000_000;
/// The keeper's usual price: BSC's order of magnitude, below the vault's maxGasPrice.
const KEEPER_GWEI: u64 = 3;
/// Work for a cycle: a deposit that pushes the buffer past the rebalance threshold (USDT).
const WORK_DEPOSIT: u64 = 200_000;
/// S4's deposit attempt in ONLY_UNWIND (USDT).
const PROBE_DEPOSIT: u64 = 1_000;
/// The market move before a long gap (bps of the pool's spot; Aster's mark follows).
const MARKET_MOVE_BPS: u64 = 100;
/// The LP pool is deepened to hold at least this many times the vault's NAV in USDT.
const POOL_DEPTH_PER_NAV: u64 = 100;
/// Cycles the fork's preparation may take to bring the vault to work.
const PREPARE_CYCLES: u32 = 12;

fn usdt(amount: u64) -> U256 {
    U256::from(amount) * U256::from(10u64).pow(U256::from(18u64))
}

/// What one experiment accumulates.
#[derive(Default)]
struct Run {
    list: Checks,
    fair: Fairness,
    gas: u64,
    cycles: u64,
}

/// One fork and what the experiments read from it.
pub struct Fork {
    pub vault: VaultReader,
    pub book: AddressBook,
    pub observer: Observer,
    /// The replicas' keeper/admin surface answers (the local chain), or not (real BSC).
    pub replica: bool,
    /// The conformance test's witness: the Solidity library evaluated on the same blocks.
    witness: Option<witness::Witness>,
    /// The real feed's heartbeat installed on a BSC fork (feed admin missing).
    heartbeat_installed: AtomicBool,
    /// The fork's block gas limit (`keeper_stuck_tx` lowers it for one block).
    gas_limit: u64,
}

impl Fork {
    /// Read the fork, warm up a fresh vault when asked, and make the fork a market the vault
    /// can work in (see the module docs). Experiments start from the state this leaves.
    pub async fn new(
        vault: VaultReader,
        book: AddressBook,
        fresh_vault: bool,
    ) -> anyhow::Result<Self> {
        let pinned = vault.provider.get_block_number().await?;
        let observer = Observer::new(vault.clone(), Deps::from_book(&book)).await?;
        let replica = vault
            .provider
            .call(
                TransactionRequest::default()
                    .to(book.bnb_usd_feed)
                    .input(IReplicaAdmin::adminCall {}.abi_encode().into()),
            )
            .await
            .is_ok();
        let gas_limit = vault
            .provider
            .get_block_by_number(pinned.into())
            .await?
            .with_context(|| format!("no block {pinned}"))?
            .header
            .gas_limit;
        let fork = Self {
            vault,
            book,
            observer,
            replica,
            witness: None,
            heartbeat_installed: AtomicBool::new(false),
            gas_limit,
        };
        if fresh_vault {
            fork.warm_up().await?;
        }
        fork.prepare().await?;
        Ok(fork)
    }

    /// Evaluate the Solidity library through the conformance harness at every judged cycle
    /// (`xtask/tests/conformance.rs`).
    pub fn enable_witness(&mut self, witness: witness::Witness) {
        self.witness = Some(witness);
    }

    pub fn witness(&self) -> Option<&witness::Witness> {
        self.witness.as_ref()
    }

    async fn head(&self) -> anyhow::Result<u64> {
        Ok(self.vault.provider.get_block_number().await?)
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

    /// [`Self::wait`] for tests that drive a fork between experiments.
    #[doc(hidden)]
    pub async fn wait_for_test(&self, seconds: u64) -> anyhow::Result<()> {
        self.wait(seconds).await
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

    /// Send a cycle with automine on and return its receipt. It lands at the head's timestamp,
    /// so the block before it is its "before" snapshot at the cycle's own time.
    async fn cycle(&self, gas_price: u128) -> anyhow::Result<TransactionReceipt> {
        // A base fee below every tested price, so the price the keeper pays is the price it set.
        self.vault
            .provider
            .anvil_set_next_block_base_fee_per_gas(1)
            .await?;
        self.stamp(0).await?;
        let request = self.cycle_request(gas_price)?;
        Ok(self
            .vault
            .provider
            .eth_send_transaction_sync(request)
            .await?)
    }

    /// A transaction from `from` (impersonated) mined at the head's timestamp; its receipt,
    /// whether it went through or not.
    async fn transact(
        &self,
        from: Address,
        to: Address,
        data: Bytes,
    ) -> anyhow::Result<TransactionReceipt> {
        let provider = &self.vault.provider;
        provider.anvil_impersonate_account(from).await?;
        provider.anvil_set_next_block_base_fee_per_gas(1).await?;
        self.stamp(0).await?;
        let request = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(data)
            .with_gas_limit(3_000_000)
            .with_gas_price(u128::from(KEEPER_GWEI * GWEI));
        Ok(provider.eth_send_transaction_sync(request).await?)
    }

    async fn send_from(&self, from: Address, to: Address, data: Bytes) -> anyhow::Result<()> {
        let receipt = self.transact(from, to, data).await?;
        anyhow::ensure!(receipt.status(), "a setup transaction to {to} reverted");
        Ok(())
    }

    // ------------------------------------------------------------------ the experiments

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

    async fn body(&self, id: &str) -> anyhow::Result<Run> {
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
    async fn stuck(&self, run: &mut Run) -> anyhow::Result<()> {
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
    async fn dropped(&self, run: &mut Run) -> anyhow::Result<()> {
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
    async fn keeper_cycle(
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
    async fn judge(
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
    async fn cycle_fairness(&self, run: &mut Run, n: u64, b: &Snapshot) -> anyhow::Result<()> {
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
    async fn deposits_paused(&self, run: &mut Run, tag: &str) -> anyhow::Result<()> {
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
    async fn simulate_withdraw(
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

    fn project_out(&self) -> std::path::PathBuf {
        self.vault
            .artifact
            .path
            .parent()
            .and_then(std::path::Path::parent)
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The vault's error (or `Error`/`Panic`) a revert carried, by name.
    fn revert_name(&self, data: &[u8]) -> String {
        let Some(selector) = data.get(..4) else {
            return "without_data".into();
        };
        if selector == [0x08, 0xc3, 0x79, 0xa0] {
            return "Error".into();
        }
        if selector == [0x4e, 0x48, 0x7b, 0x71] {
            let code = data.get(4..36).map(U256::from_be_slice).unwrap_or_default();
            return format!("Panic_0x{code:x}");
        }
        self.vault
            .artifact
            .abi
            .errors()
            .find(|e| e.selector().as_slice() == selector)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| format!("0x{}", alloy::primitives::hex::encode(selector)))
    }

    async fn shares_of(&self, holder: Address, n: u64) -> anyhow::Result<U256> {
        self.vault
            .u256("balanceOf", &[DynSolValue::Address(holder)], Some(n))
            .await
    }

    async fn max_withdraw(&self, holder: Address, n: u64) -> anyhow::Result<U256> {
        self.vault
            .u256("maxWithdraw", &[DynSolValue::Address(holder)], Some(n))
            .await
    }

    // ------------------------------------------------------------------ work and market

    /// Work for the next cycle: a fresh feed round, a deposit (held to S10) and, when asked, a
    /// market move of the pool with Aster's mark following it.
    async fn work(&self, run: &mut Run, move_market: bool) -> anyhow::Result<()> {
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
    async fn deposit(
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

    /// A fresh BNB/USD round at the feed's current answer, as Chainlink's heartbeat posts one.
    /// Replicas: the feed's admin (impersonated) posts it. Real BSC, where only the oracle
    /// network can post: the feed's code is replaced once by `FeedHeartbeat`, which answers the
    /// last real round, and each heartbeat restamps it now (the in-EVM engine replays the last
    /// answer stamped now the same way).
    pub async fn heartbeat(&self) -> anyhow::Result<()> {
        let feed = self.book.bnb_usd_feed;
        if self.replica {
            let admin = self
                .read_address(feed, IReplicaAdmin::adminCall {}.abi_encode())
                .await?;
            let answer = self
                .view(feed, IReplicaAdmin::latestAnswerCall {}.abi_encode())
                .await?;
            let answer = IReplicaAdmin::latestAnswerCall::abi_decode_returns(&answer)?;
            let post = IReplicaAdmin::updateAnswerCall { answer };
            return self.send_from(admin, feed, post.abi_encode().into()).await;
        }
        self.heartbeat_by_code().await
    }

    /// The heartbeat where the feed has no admin (real BSC): `FeedHeartbeat` at the feed's
    /// address answers its last real round, restamped now with the next round id.
    pub async fn heartbeat_by_code(&self) -> anyhow::Result<()> {
        let feed = self.book.bnb_usd_feed;
        let provider = &self.vault.provider;
        self.install_heartbeat().await?;
        let head = self.head().await?;
        let now = self.observer.timestamp(head).await?;
        let base = U256::from_be_bytes(alloy::primitives::keccak256("chaos.live.feed-heartbeat").0);
        let slot = |offset: u64| base + U256::from(offset);
        let round = provider.get_storage_at(feed, slot(2)).await?;
        provider
            .anvil_set_storage_at(feed, slot(1), U256::from(now).into())
            .await?;
        provider
            .anvil_set_storage_at(feed, slot(2), (round + U256::from(1u8)).into())
            .await?;
        self.wait(0).await
    }

    /// `FeedHeartbeat` at the real feed's address, holding its last real answer.
    async fn install_heartbeat(&self) -> anyhow::Result<()> {
        if self.heartbeat_installed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let feed = self.book.bnb_usd_feed;
        let provider = &self.vault.provider;
        let raw = self
            .view(feed, IFeedView::latestRoundDataCall {}.abi_encode())
            .await?;
        let round = IFeedView::latestRoundDataCall::abi_decode_returns(&raw)?;
        let raw = self
            .view(feed, IFeedView::decimalsCall {}.abi_encode())
            .await?;
        let decimals = IFeedView::decimalsCall::abi_decode_returns(&raw)?;
        let artifact = crate::foundry::artifacts::Artifact::load(
            &self.project_out(),
            "LiveProbes.sol",
            "FeedHeartbeat",
        )?;
        let code = artifact
            .deployed_bytecode
            .context("FeedHeartbeat has no runtime code")?;
        provider.anvil_set_code(feed, code).await?;
        let base = U256::from_be_bytes(alloy::primitives::keccak256("chaos.live.feed-heartbeat").0);
        for (offset, value) in [
            (0u64, round.answer.into_raw()),
            (1, round.updatedAt),
            (2, U256::from(round.roundId)),
            (3, U256::from(decimals)),
        ] {
            provider
                .anvil_set_storage_at(feed, base + U256::from(offset), value.into())
                .await?;
        }
        self.heartbeat_installed.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// `eth_call` at the mined head (never the pending block, where a queued transaction of
    /// the experiment may already have moved things).
    async fn view(&self, to: Address, data: Vec<u8>) -> anyhow::Result<Bytes> {
        let head = self.head().await?;
        Ok(self
            .vault
            .provider
            .call(TransactionRequest::default().to(to).input(data.into()))
            .block(head.into())
            .await?)
    }

    async fn read_address(&self, to: Address, data: Vec<u8>) -> anyhow::Result<Address> {
        let raw = self.view(to, data).await?;
        anyhow::ensure!(raw.len() >= 32, "{to} returned no address");
        Ok(Address::from_slice(&raw[12..32]))
    }

    /// On the replicas, Aster's keeper executes every pending trade (on BSC, Aster's off-chain
    /// keepers never execute a fork's trades: nothing happens).
    async fn execute_pending_trades(&self) -> anyhow::Result<()> {
        if !self.replica {
            return Ok(());
        }
        let aster = self.book.aster_diamond;
        let admin = self
            .read_address(aster, IReplicaAdmin::adminCall {}.abi_encode())
            .await?;
        self.send_from(
            admin,
            aster,
            IReplicaAdmin::executePendingTradesCall {}
                .abi_encode()
                .into(),
        )
        .await
    }

    /// (BTCB, USDT) reserves of the LP pair.
    async fn lp_reserves(&self) -> anyhow::Result<(U256, U256)> {
        let raw = self
            .view(self.book.lp_pair, IPairOps::getReservesCall {}.abi_encode())
            .await?;
        let r = IPairOps::getReservesCall::abi_decode_returns(&raw)?;
        let (r0, r1) = (U256::from(r.reserve0), U256::from(r.reserve1));
        Ok(if self.observer.facts.lp_btc_is_token0 {
            (r0, r1)
        } else {
            (r1, r0)
        })
    }

    /// The market moves the pool's spot up by `bps` with one real swap (USDT in), and on the
    /// replicas Aster's keeper moves its BTC mark to the new spot.
    async fn market_move(&self, bps: u64) -> anyhow::Result<()> {
        let (r_btc, r_usdt) = self.lp_reserves().await?;
        // Spot x (1 + bps): USDT reserve x sqrt(1 + bps), grossed up for the 0.25% fee.
        let scale = U256::from(10u64).pow(U256::from(18u64));
        let factor = U256::from(10_000 + bps) * U256::from(10u64).pow(U256::from(14u64));
        let root = steady::sqrt(factor * scale);
        let amount_in =
            (r_usdt * root / scale - r_usdt) * U256::from(10_000u64) / U256::from(9_975u64);
        let fee_in = amount_in * U256::from(9_975u64);
        let out = fee_in * r_btc / (r_usdt * U256::from(10_000u64) + fee_in);
        self.swap_into_pool(self.book.usdt, amount_in, out).await?;
        if self.replica {
            let (r_btc, r_usdt) = self.lp_reserves().await?;
            let spot8 = r_usdt * U256::from(100_000_000u64) / r_btc;
            let aster = self.book.aster_diamond;
            let admin = self
                .read_address(aster, IReplicaAdmin::adminCall {}.abi_encode())
                .await?;
            let set = IReplicaAdmin::setMarkPriceCall {
                pairBase: self.book.btcb,
                price: u64::try_from(spot8).context("mark price beyond 64 bits")?,
            };
            self.send_from(admin, aster, set.abi_encode().into())
                .await?;
        }
        Ok(())
    }

    /// The trader pays `amount_in` of `token_in` into the LP pair and takes `out` of the other
    /// token (funded with anvil's ERC-20 deal), mined at once.
    async fn swap_into_pool(
        &self,
        token_in: Address,
        amount_in: U256,
        out: U256,
    ) -> anyhow::Result<()> {
        self.fund(TRADER, token_in, amount_in).await?;
        let transfer = IErc20Ops::transferCall {
            to: self.book.lp_pair,
            amount: amount_in,
        };
        self.send_from(TRADER, token_in, transfer.abi_encode().into())
            .await?;
        let swap = self.swap_call(token_in, out);
        self.send_from(TRADER, self.book.lp_pair, swap.abi_encode().into())
            .await
    }

    fn swap_call(&self, token_in: Address, out: U256) -> IPairOps::swapCall {
        // token0 is the lower address; the output is the other token.
        let out_is_token0 = token_in != self.book.btcb.min(self.book.usdt);
        let (a0, a1) = if out_is_token0 {
            (out, U256::ZERO)
        } else {
            (U256::ZERO, out)
        };
        IPairOps::swapCall {
            amount0Out: a0,
            amount1Out: a1,
            to: TRADER,
            data: Bytes::new(),
        }
    }

    async fn fund(&self, who: Address, token: Address, amount: U256) -> anyhow::Result<()> {
        let held = self.observer.token_balance(token, who).await?;
        self.vault
            .provider
            .anvil_deal_erc20(who, token, held + amount)
            .await?;
        Ok(())
    }

    /// With automine off: a trader sells 0.5 BTCB into the LP pair (two transactions at a
    /// higher price than the keeper's). Returns the swap's hash.
    async fn queue_market_swap(&self) -> anyhow::Result<TxHash> {
        let provider = &self.vault.provider;
        let amount = U256::from(500_000_000_000_000_000u128);
        self.fund(TRADER, self.book.btcb, amount).await?;
        let (r_btc, r_usdt) = self.lp_reserves().await?;
        let fee_in = amount * U256::from(9_975u64);
        let out = fee_in * r_usdt / (r_btc * U256::from(10_000u64) + fee_in);
        let transfer = IErc20Ops::transferCall {
            to: self.book.lp_pair,
            amount,
        };
        let price = u128::from(5 * GWEI);
        let tx1 = TransactionRequest::default()
            .with_from(TRADER)
            .with_to(self.book.btcb)
            .with_input(transfer.abi_encode())
            .with_gas_limit(200_000)
            .with_gas_price(price);
        let _ = provider.send_transaction(tx1).await?;
        let tx2 = TransactionRequest::default()
            .with_from(TRADER)
            .with_to(self.book.lp_pair)
            .with_input(self.swap_call(self.book.btcb, out).abi_encode())
            .with_gas_limit(300_000)
            .with_gas_price(price);
        Ok(provider.send_transaction(tx2).await?.tx_hash().to_owned())
    }

    async fn receipt(&self, hash: TxHash) -> anyhow::Result<TransactionReceipt> {
        self.vault
            .provider
            .get_transaction_receipt(hash)
            .await?
            .with_context(|| format!("no receipt for {hash}"))
    }

    // ------------------------------------------------------------------ preparing the fork

    /// A vault deployed on the fork just now: two depositors (funded with anvil's ERC-20 deal)
    /// put in 1,000,000 USDT, and the keeper cycles until the TWAP window has passed and the
    /// vault has invested, so the experiments start from a working vault, not an empty one.
    pub async fn warm_up(&self) -> anyhow::Result<()> {
        let provider = &self.vault.provider;
        let window = self.observer.cfg.twap_window;
        for (depositor, amount) in [(DEPOSITOR_A, 600_000u64), (DEPOSITOR_B, 400_000u64)] {
            let assets = usdt(amount);
            provider
                .anvil_deal_erc20(depositor, self.book.usdt, assets)
                .await?;
            let approve = IErc20Ops::approveCall {
                spender: self.vault.address,
                amount: U256::MAX,
            };
            self.send_from(depositor, self.book.usdt, approve.abi_encode().into())
                .await?;
            let deposit = self.vault.artifact.encode_call(
                "deposit",
                &[
                    DynSolValue::Uint(assets, 256),
                    DynSolValue::Address(depositor),
                ],
            )?;
            self.send_from(depositor, self.vault.address, deposit)
                .await?;
        }
        self.wait(window).await?;
        for _ in 0..3 {
            self.wait(self.observer.cfg.min_cycle_interval).await?;
            let receipt = self.cycle(u128::from(KEEPER_GWEI * GWEI)).await?;
            anyhow::ensure!(
                receipt.status(),
                "a warm-up cycle of the fresh vault reverted"
            );
        }
        Ok(())
    }

    /// Make the fork a market the vault can work in: a pool deep enough for its rebalance, a
    /// fresh feed, and cycles until it is NORMAL, invested and without a pending trade (at most
    /// [`PREPARE_CYCLES`]; a vault that never gets there is judged as it is).
    async fn prepare(&self) -> anyhow::Result<()> {
        self.deepen_pool().await?;
        for _ in 0..PREPARE_CYCLES {
            self.execute_pending_trades().await?;
            if self.ready().await? {
                break;
            }
            self.wait(self.observer.cfg.min_cycle_interval).await?;
            self.heartbeat().await?;
            self.cycle(u128::from(KEEPER_GWEI * GWEI)).await?;
        }
        self.execute_pending_trades().await?;
        Ok(())
    }

    /// NORMAL, holding LP, no pending trade.
    async fn ready(&self) -> anyhow::Result<bool> {
        let head = Some(self.head().await?);
        let mode = self.vault.u256("riskMode", &[], head).await?;
        let pending = self.vault.call("pendingHedge", &[], head).await?;
        let pending = pending
            .first()
            .and_then(DynSolValue::as_bool)
            .unwrap_or(true);
        let lp = self
            .observer
            .token_balance(self.book.lp_pair, self.vault.address)
            .await?;
        Ok(mode.is_zero() && !pending && !lp.is_zero())
    }

    /// A liquidity provider deepens the LP pool to [`POOL_DEPTH_PER_NAV`] times the vault's NAV
    /// in USDT when it holds less (at the pool's own ratio, so the price does not move): the
    /// vault's rebalance swaps a large part of its NAV, and a thinner pool refuses it every
    /// time (`SwapRefused`), which leaves the vault idle.
    async fn deepen_pool(&self) -> anyhow::Result<()> {
        let nav = self.vault.u256("nav", &[], None).await?;
        let (r_btc, r_usdt) = self.lp_reserves().await?;
        let target = nav * U256::from(POOL_DEPTH_PER_NAV);
        if r_usdt >= target || r_usdt.is_zero() {
            return Ok(());
        }
        let add_usdt = target - r_usdt;
        let add_btc = add_usdt * r_btc / r_usdt + U256::from(1u8);
        self.fund(LIQUIDITY, self.book.usdt, add_usdt).await?;
        self.fund(LIQUIDITY, self.book.btcb, add_btc).await?;
        for (token, amount) in [(self.book.usdt, add_usdt), (self.book.btcb, add_btc)] {
            let transfer = IErc20Ops::transferCall {
                to: self.book.lp_pair,
                amount,
            };
            self.send_from(LIQUIDITY, token, transfer.abi_encode().into())
                .await?;
        }
        let mint = IPairOps::mintCall { to: LIQUIDITY };
        self.send_from(LIQUIDITY, self.book.lp_pair, mint.abi_encode().into())
            .await
    }
}

/// What a judged cycle tells its experiment.
#[derive(Debug, Clone, Copy)]
pub struct Judged {
    pub bounty: U256,
    pub bnb_usd: U256,
}

fn flag(b: bool) -> I256 {
    if b {
        I256::ONE
    } else {
        I256::ZERO
    }
}
