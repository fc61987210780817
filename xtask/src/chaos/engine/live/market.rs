//! The market around the vault on a fork: feed heartbeats, Aster's pending trades, the LP pool's
//! reserves, market moves and swaps, and the preparation that makes a fork a market the vault can
//! work in (a deep enough pool, a fresh round, cycles until NORMAL and invested).

use super::*;
use crate::chain::accounts::{DEPOSITOR_A, DEPOSITOR_B, TRADER};
use crate::chaos::steady;
use alloy::dyn_abi::DynSolValue;
use alloy::primitives::{Address, Bytes, TxHash, U256};
use alloy::rpc::types::TransactionRequest;
use std::sync::atomic::Ordering;

impl Fork {
    /// A fresh BNB/USD round at the feed's current answer, as Chainlink's heartbeat posts one.
    /// Replicas: the feed replica's admin (impersonated) posts it to the replica (on the default
    /// chain, the aggregator behind Chainlink's real proxy). Real BSC, where only the oracle
    /// network can post: the feed's code is replaced once by `FeedHeartbeat`, which answers the
    /// last real round, and each heartbeat restamps it now (the in-EVM engine replays the last
    /// answer stamped now the same way).
    pub async fn heartbeat(&self) -> anyhow::Result<()> {
        if let Some(feed) = self.feed_writer {
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
    pub(super) async fn install_heartbeat(&self) -> anyhow::Result<()> {
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

    /// On the replicas, Aster's keeper executes every pending trade (on BSC, Aster's off-chain
    /// keepers never execute a fork's trades: nothing happens).
    pub(super) async fn execute_pending_trades(&self) -> anyhow::Result<()> {
        if !self.replica() {
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
    pub(super) async fn lp_reserves(&self) -> anyhow::Result<(U256, U256)> {
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
    pub(super) async fn market_move(&self, bps: u64) -> anyhow::Result<()> {
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
        if self.replica() {
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
    pub(super) async fn swap_into_pool(
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

    pub(super) fn swap_call(&self, token_in: Address, out: U256) -> IPairOps::swapCall {
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

    pub(super) async fn fund(
        &self,
        who: Address,
        token: Address,
        amount: U256,
    ) -> anyhow::Result<()> {
        let held = self.observer.token_balance(token, who).await?;
        self.vault
            .provider
            .anvil_deal_erc20(who, token, held + amount)
            .await?;
        Ok(())
    }

    /// With automine off: a trader sells 0.5 BTCB into the LP pair (two transactions at a
    /// higher price than the keeper's). Returns the swap's hash.
    pub(super) async fn queue_market_swap(&self) -> anyhow::Result<TxHash> {
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
    pub(super) async fn prepare(&self) -> anyhow::Result<()> {
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
    pub(super) async fn ready(&self) -> anyhow::Result<bool> {
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
    pub(super) async fn deepen_pool(&self) -> anyhow::Result<()> {
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
