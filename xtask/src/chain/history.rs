//! The seeded market history: the price path, its phases, the transactions of every 10-minute
//! tick played on the chain, and the landmark blocks a run pins.

use super::connect;
use super::{
    cache, ChainOptions, IAsterKeeper, IFeed, IPair, IReplicaToken, IRouter, IVault, TICK_SECONDS,
};
use crate::chain::addressbook::AddressBook;
use crate::rng::SplitMix64;
use crate::shell;
use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The market regimes of the generated history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Calm,
    Normal,
    Storm,
    Crash,
    Recovery,
}

impl Phase {
    /// Standard deviation of one tick's log return, in basis points.
    fn sigma_bps(self) -> f64 {
        match self {
            Phase::Calm => 8.0,
            Phase::Normal => 35.0,
            Phase::Storm => 140.0,
            Phase::Crash => 60.0,
            Phase::Recovery => 45.0,
        }
    }
}

/// Which phase tick `i` of `n` is in, and the deterministic crash drift.
pub(super) fn phase_of(i: u64, n: u64) -> Phase {
    let f = i as f64 / n as f64;
    match f {
        f if f < 0.30 => Phase::Calm,
        f if f < 0.55 => Phase::Normal,
        f if f < 0.65 => Phase::Storm,
        f if f < 0.65 + 6.0 / n as f64 => Phase::Crash,
        f if f < 0.80 => Phase::Storm,
        _ => Phase::Recovery,
    }
}

/// The history's generator: SplitMix64 salted so that the history and the proxy's faults
/// draw different numbers from one `--seed`.
pub(super) fn history_rng(seed: u64) -> SplitMix64 {
    SplitMix64::new(seed ^ 0x5eed_c4a0_5eed_c4a0)
}

/// The BTC price path, in USD per BTC, one value per tick.
pub fn price_path(seed: u64, ticks: u64, start_usd: f64) -> Vec<(Phase, f64)> {
    let mut rng = history_rng(seed);
    let mut price = start_usd;
    (0..ticks)
        .map(|i| {
            let phase = phase_of(i, ticks);
            let drift_bps = match phase {
                // -18% over the six crash ticks (one hour).
                Phase::Crash => -330.0,
                Phase::Recovery => 12.0,
                _ => 0.0,
            };
            let r = (drift_bps + phase.sigma_bps() * rng.normal()) / 10_000.0;
            price *= r.exp();
            (phase, price)
        })
        .collect()
}

/// One point of the vault's history, recorded after each tick.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub block: u64,
    pub timestamp: u64,
    pub phase: Phase,
    /// BTC/USD the market was moved to (whole USD).
    pub btc_usd: f64,
    /// The vault's NAV and share price (USDT with 18 decimals, as decimal strings).
    pub nav: String,
    pub share_price: String,
    /// 0 NORMAL, 1 ONLY_UNWIND.
    pub risk_mode: u8,
    /// Whether the keeper's `cycle()` of this tick went through.
    pub cycled: bool,
}

/// A block of the history worth forking, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Landmark {
    pub label: String,
    pub block: u64,
    pub timestamp: u64,
}

/// Most transactions (blocks) of one tick: a swap, two feeds, the mark and ALP prices, the
/// keeper of Aster and the vault's cycle.
pub(super) const MAX_TICK_TRANSACTIONS: u64 = 7;

/// What a cold build keeps for the chain cache: the state at every phase boundary of the
/// history (the landmarks among them), and at the blocks the run pins.
#[derive(Default)]
pub(super) struct Capture {
    /// Blocks to keep, known by number (an entry's own, or a run's resolved on its timestamps).
    pub(super) blocks: std::collections::BTreeSet<u64>,
    /// The run's pins as its command line names them, when no entry told their numbers.
    pub(super) walker: Option<cache::keep::Walker>,
    /// What was kept: the block, what the history read there, and anvil's dump of it.
    pub(super) kept: Vec<(cache::Kept, Vec<u8>)>,
    /// The deployment's last block: the first the history can keep.
    pub(super) history_from: u64,
}

/// Sends transactions from anvil's unlocked dev accounts with explicit block timestamps.
pub(super) struct Sender {
    provider: DynProvider,
    /// Timestamp of the next block, in milliseconds (blocks are 450 ms apart).
    clock_ms: u64,
    /// The head and its timestamp (each transaction mines one block).
    head: u64,
    head_time: u64,
    vault: Address,
    capture: Option<Capture>,
}

impl Sender {
    /// Mine `request` from `from` in its own block; fail when it reverts.
    async fn send(
        &mut self,
        from: Address,
        request: TransactionRequest,
        what: &str,
    ) -> anyhow::Result<()> {
        if !self.try_send(from, request).await? {
            anyhow::bail!("history transaction reverted: {what}");
        }
        Ok(())
    }

    /// Like `send`, but a revert is an answer (`false`), not an error.
    async fn try_send(
        &mut self,
        from: Address,
        request: TransactionRequest,
    ) -> anyhow::Result<bool> {
        let time = self.clock_ms / 1000;
        self.keep_head(Some(time), false).await?;
        self.provider.anvil_set_next_block_timestamp(time).await?;
        self.clock_ms += 450;
        let request = request.with_from(from).with_gas_limit(8_000_000);
        let receipt = self.provider.eth_send_transaction_sync(request).await?;
        self.head = receipt.block_number.unwrap_or(self.head + 1);
        self.head_time = time;
        Ok(receipt.status())
    }

    /// Keep the head's state when it is a phase boundary (`boundary`) or a block the run pins
    /// (the next block's timestamp `next` tells a time's last block; `None` at the end).
    async fn keep_head(&mut self, next: Option<u64>, boundary: bool) -> anyhow::Result<()> {
        let Some(capture) = self.capture.as_mut() else {
            return Ok(());
        };
        // The walker sees every block once, in order: before the next block is mined, and at
        // the end.
        let walked = !boundary
            && capture
                .walker
                .as_mut()
                .is_some_and(|w| w.wants(self.head, self.head_time, next));
        let pinned = walked || capture.blocks.contains(&self.head);
        let room = capture.kept.iter().filter(|(k, _)| k.pinned).count() < cache::keep::MAX_PINNED;
        // The head itself is served by any loaded chain: nothing to keep at the end.
        if !(boundary || (pinned && room && next.is_some()))
            || capture.kept.iter().any(|(k, _)| k.block == self.head)
        {
            return Ok(());
        }
        let dump = self.provider.anvil_dump_state().await?;
        let hash = self
            .provider
            .get_block_by_number(self.head.into())
            .await?
            .context("no block at the head")?
            .header
            .hash;
        let vault = IVault::new(self.vault, self.provider.clone());
        capture.kept.push((
            cache::Kept {
                block: self.head,
                hash: hash.to_string(),
                nav: vault.nav().call().await?.to_string(),
                share_price: vault.sharePrice().call().await?.to_string(),
                risk_mode: vault.riskMode().call().await?,
                pinned: !boundary,
            },
            dump.to_vec(),
        ));
        Ok(())
    }

    /// Jump to the start of the next tick (never backwards).
    fn advance_to(&mut self, timestamp: u64) {
        self.clock_ms = self.clock_ms.max(timestamp * 1000);
    }
}

pub(super) const E18: u128 = 1_000_000_000_000_000_000;

pub(super) fn usd(amount: f64) -> U256 {
    // Whole cents are plenty for amounts of test money.
    U256::from((amount * 100.0).round() as u128) * U256::from(E18 / 100)
}

pub(super) async fn play_history(
    url: &str,
    book: &AddressBook,
    options: &ChainOptions,
    capture: Option<Capture>,
) -> anyhow::Result<(Vec<Sample>, Vec<Landmark>, u64, Option<Capture>)> {
    let provider = connect(url)?;
    let head = provider.get_block_number().await?;
    let latest = provider
        .get_block_by_number(head.into())
        .await?
        .context("the deployed chain has no head block")?;
    let mut sender = Sender {
        provider: provider.clone(),
        clock_ms: (latest.header.timestamp + 1) * 1000,
        head,
        head_time: latest.header.timestamp,
        vault: book.vault,
        capture: capture.map(|c| Capture {
            history_from: head,
            ..c
        }),
    };

    let usdt = IReplicaToken::new(book.usdt, provider.clone());
    let btcb = IReplicaToken::new(book.btcb, provider.clone());
    let router = IRouter::new(book.pancake_router, provider.clone());
    let pair = IPair::new(book.lp_pair, provider.clone());
    let aster = IAsterKeeper::new(book.aster_diamond, provider.clone());
    // Rounds go to the aggregators; the vault reads the feeds (Chainlink's proxies in front).
    let btc_feed = IFeed::new(book.btc_usd_writer(), provider.clone());
    let bnb_feed = IFeed::new(book.bnb_usd_writer(), provider.clone());
    let vault = IVault::new(book.vault, provider.clone());
    anyhow::ensure!(book.vault != Address::ZERO, "the address book has no vault");

    // Money for the trader and the depositors, and their approvals.
    use super::accounts::*;
    sender
        .send(
            ADMIN,
            usdt.mint(TRADER, usd(200_000_000.0))
                .into_transaction_request(),
            "mint trader USDT",
        )
        .await?;
    sender
        .send(
            ADMIN,
            btcb.mint(TRADER, U256::from(2_000u64) * U256::from(E18))
                .into_transaction_request(),
            "mint trader BTCB",
        )
        .await?;
    for token in [&usdt, &btcb] {
        sender
            .send(
                TRADER,
                token
                    .approve(book.pancake_router, U256::MAX)
                    .into_transaction_request(),
                "trader approval",
            )
            .await?;
    }
    for (depositor, amount) in [(DEPOSITOR_A, 600_000.0), (DEPOSITOR_B, 400_000.0)] {
        sender
            .send(
                ADMIN,
                usdt.mint(depositor, usd(amount)).into_transaction_request(),
                "mint depositor USDT",
            )
            .await?;
        sender
            .send(
                depositor,
                usdt.approve(book.vault, U256::MAX)
                    .into_transaction_request(),
                "depositor approval",
            )
            .await?;
        sender
            .send(
                depositor,
                vault
                    .deposit(usd(amount), depositor)
                    .into_transaction_request(),
                "deposit",
            )
            .await?;
    }

    let token0 = pair.token0().call().await?;
    let btc_is_token0 = token0 == book.btcb;
    let ticks = u64::from(options.days) * 86_400 / TICK_SECONDS;
    let path = price_path(options.seed, ticks, 90_000.0);
    let mut rng = history_rng(options.seed.rotate_left(17));
    let mut bnb_usd = 900.0_f64;
    let mut alp_price = 1.0_f64;
    let start = sender.clock_ms / 1000;
    let mut samples = Vec::with_capacity(path.len());

    for (i, (phase, btc_usd)) in path.iter().copied().enumerate() {
        crate::signals::check()?;
        sender.advance_to(start + i as u64 * TICK_SECONDS);

        // Move the pool to the path's price with one real swap.
        let (r0, r1, _) = {
            let r = pair.getReserves().call().await?;
            (
                U256::from(r.reserve0),
                U256::from(r.reserve1),
                r.blockTimestampLast,
            )
        };
        let (r_btc, r_usdt) = if btc_is_token0 { (r0, r1) } else { (r1, r0) };
        if let Some((token_in, amount_in)) = swap_to_price(r_btc, r_usdt, btc_usd, book) {
            let token_out = if token_in == book.btcb {
                book.usdt
            } else {
                book.btcb
            };
            let deadline = U256::from(sender.clock_ms / 1000 + 3600);
            let swap = router.swapExactTokensForTokens(
                amount_in,
                U256::ZERO,
                vec![token_in, token_out],
                TRADER,
                deadline,
            );
            sender
                .send(TRADER, swap.into_transaction_request(), "market swap")
                .await?;
        }

        // Oracles and Aster follow the market; Aster's keeper executes pending trades.
        bnb_usd *= ((phase.sigma_bps() * 0.6 * rng.normal()) / 10_000.0).exp();
        alp_price *= ((2.0 * rng.normal()) / 10_000.0).exp();
        let btc_8 = (btc_usd * 1e8).round() as u64;
        sender
            .send(
                ADMIN,
                btc_feed
                    .updateAnswer(alloy::primitives::I256::try_from(btc_8)?)
                    .into_transaction_request(),
                "BTC feed",
            )
            .await?;
        let bnb_8 = (bnb_usd * 1e8).round() as u64;
        sender
            .send(
                ADMIN,
                bnb_feed
                    .updateAnswer(alloy::primitives::I256::try_from(bnb_8)?)
                    .into_transaction_request(),
                "BNB feed",
            )
            .await?;
        sender
            .send(
                ADMIN,
                aster
                    .setMarkPrice(book.btcb, btc_8)
                    .into_transaction_request(),
                "mark price",
            )
            .await?;
        let alp_8 = U256::from((alp_price * 1e8).round() as u64);
        sender
            .send(
                ADMIN,
                aster.setAlpPrice(alp_8).into_transaction_request(),
                "ALP price",
            )
            .await?;
        sender
            .send(
                ADMIN,
                aster.executePendingTrades().into_transaction_request(),
                "execute pending trades",
            )
            .await?;

        // The keeper's cycle; a revert (rate limit, a typed failure) is part of the history.
        let cycled = sender
            .try_send(KEEPER, vault.cycle().into_transaction_request())
            .await?;

        let block = provider.get_block_number().await?;
        samples.push(Sample {
            block,
            timestamp: sender.clock_ms.saturating_sub(450) / 1000,
            phase,
            btc_usd: (btc_usd * 100.0).round() / 100.0,
            nav: vault.nav().call().await?.to_string(),
            share_price: vault.sharePrice().call().await?.to_string(),
            risk_mode: vault.riskMode().call().await?,
            cycled,
        });
        // For the chain cache: the state at every phase boundary (the landmarks among them),
        // taken while that block is the head.
        let last = i + 1 == path.len();
        if last || path[i + 1].0 != phase {
            sender.keep_head(None, true).await?;
        }
        if (i + 1) % 144 == 0 {
            shell::note(
                "History",
                format!(
                    "day {} of {}: block {block}, BTC {btc_usd:.0}",
                    (i + 1) / 144,
                    options.days
                ),
            );
        }
    }
    let head = provider.get_block_number().await?;
    anyhow::ensure!(head == sender.head, "the history lost count of its blocks");
    // The head ends the walk (a window's last time may fall after it).
    sender.keep_head(None, false).await?;
    Ok((samples.clone(), landmarks(&samples), head, sender.capture))
}

/// The swap that moves a constant-product pool (0.25% fee) from its reserves to `price` USDT
/// per BTC, if it moves it by more than a basis point.
pub(super) fn swap_to_price(
    r_btc: U256,
    r_usdt: U256,
    price: f64,
    book: &AddressBook,
) -> Option<(Address, U256)> {
    let x = u256_f64(r_btc);
    let y = u256_f64(r_usdt);
    let k = x * y;
    let target_x = (k / price).sqrt();
    let current = y / x;
    if (current / price - 1.0).abs() < 1e-4 {
        return None;
    }
    if target_x > x {
        // Sell BTC: the pool gets (target_x - x) BTC, of which 99.75% counts.
        let amount = (target_x - x) / 0.9975;
        Some((book.btcb, f64_u256(amount)))
    } else {
        let target_y = (k * price).sqrt();
        let amount = (target_y - y) / 0.9975;
        Some((book.usdt, f64_u256(amount)))
    }
}

pub(super) fn u256_f64(v: U256) -> f64 {
    v.to_string().parse::<f64>().unwrap_or(0.0)
}

pub(super) fn f64_u256(v: f64) -> U256 {
    U256::from(v.max(0.0) as u128)
}

/// Calm, storm, crash and recovery blocks: the last sample of the calm phase, the middle of
/// the storm before the crash, the bottom of the crash, and the end of the history.
pub fn landmarks(samples: &[Sample]) -> Vec<Landmark> {
    let mut out = Vec::new();
    let mut push = |label: &str, s: Option<&Sample>| {
        if let Some(s) = s {
            out.push(Landmark {
                label: label.into(),
                block: s.block,
                timestamp: s.timestamp,
            });
        }
    };
    push(
        "calm",
        samples.iter().rev().find(|s| s.phase == Phase::Calm),
    );
    let first_crash = samples.iter().position(|s| s.phase == Phase::Crash);
    let storm_before =
        first_crash.and_then(|c| samples[..c].iter().rev().find(|s| s.phase == Phase::Storm));
    push("storm", storm_before);
    push(
        "crash",
        samples.iter().rev().find(|s| s.phase == Phase::Crash),
    );
    push("recovery", samples.last());
    out
}
