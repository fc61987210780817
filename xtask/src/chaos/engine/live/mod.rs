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

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{address, Address, Bytes, TxHash, I256, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::Provider as _;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolCall as _;
use anyhow::Context as _;

use crate::chain::accounts::{DEPOSITOR_A, DEPOSITOR_B, KEEPER, TRADER};
use crate::chain::addressbook::AddressBook;
use crate::chain::cache::tape::PairTape;
use crate::chain::vault::VaultReader;
use crate::chaos::steady::measure::Observer;
use crate::chaos::steady::{Checks, Deps, Fairness};

mod experiments;
mod market;
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
        function aggregator() external view returns (address);
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
    /// The feed replica that takes `updateAnswer` from its admin: the BNB/USD feed itself
    /// (`--replicas hand`) or the aggregator behind Chainlink's real proxy (the default local
    /// chain); `None` on real BSC.
    pub feed_writer: Option<Address>,
    /// The conformance test's witness: the Solidity library evaluated on the same blocks.
    witness: Option<witness::Witness>,
    /// The real feed's heartbeat installed on a BSC fork (feed admin missing).
    heartbeat_installed: AtomicBool,
    /// The fork's block gas limit (`keeper_stuck_tx` lowers it for one block).
    gas_limit: u64,
}

impl Fork {
    /// The replicas' keeper/admin surface answers (the local chain), or not (real BSC): the
    /// feed has a replica behind it.
    pub fn replica(&self) -> bool {
        self.feed_writer.is_some()
    }

    /// Read the fork, warm up a fresh vault when asked, and make the fork a market the vault
    /// can work in (see the module docs). Experiments start from the state this leaves.
    pub async fn new(
        vault: VaultReader,
        book: AddressBook,
        fresh_vault: bool,
    ) -> anyhow::Result<Self> {
        Self::new_on(vault, book, fresh_vault, None).await
    }

    /// [`Self::new`] on a fork whose upstream came from the chain cache: `upstream` is the
    /// chain's pair tape and the pinned block, the last block the fork reads from its upstream.
    pub async fn new_on(
        vault: VaultReader,
        book: AddressBook,
        fresh_vault: bool,
        upstream: Option<(Arc<PairTape>, u64)>,
    ) -> anyhow::Result<Self> {
        let pinned = vault.provider.get_block_number().await?;
        let observer = Observer::new_on(vault.clone(), Deps::from_book(&book), upstream).await?;
        let feed_writer = feed_writer(&vault.provider, book.bnb_usd_feed).await;
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
            feed_writer,
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

    async fn receipt(&self, hash: TxHash) -> anyhow::Result<TransactionReceipt> {
        self.vault
            .provider
            .get_transaction_receipt(hash)
            .await?
            .with_context(|| format!("no receipt for {hash}"))
    }

    // ------------------------------------------------------------------ preparing the fork
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

/// The contract behind `feed` that a replica admin can post rounds to: `feed` itself when it
/// answers `admin()` (the hand replica), else its `aggregator()` when that answers `admin()`
/// (Chainlink's real proxy in front of the replica), else none (real BSC: no admin anywhere).
async fn feed_writer(provider: &alloy::providers::DynProvider, feed: Address) -> Option<Address> {
    let answers_admin = |to: Address| async move {
        provider
            .call(
                TransactionRequest::default()
                    .to(to)
                    .input(IReplicaAdmin::adminCall {}.abi_encode().into()),
            )
            .await
            .is_ok_and(|raw| raw.len() >= 32)
    };
    if answers_admin(feed).await {
        return Some(feed);
    }
    let raw = provider
        .call(
            TransactionRequest::default()
                .to(feed)
                .input(IReplicaAdmin::aggregatorCall {}.abi_encode().into()),
        )
        .await
        .ok()?;
    let aggregator = Address::from_slice(raw.get(12..32)?);
    answers_admin(aggregator).await.then_some(aggregator)
}
