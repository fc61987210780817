//! The live-fork engine's measurements: every quantity of [`super`] read with `eth_call` at an
//! exact block of an anvil fork (anvil answers for every block it mined, and forwards older
//! blocks to its upstream), so that a snapshot is what the chain held at that block.
//!
//! Where the library reads a dependency with a `staticcall` that may fail (Aster's `markPrice`,
//! `pendingTradeHashes`, `closeFeeBps`: replica-only views), a revert selects the documented
//! fallback; any other failure (a timeout, a reset connection) is an error, never a silent
//! switch to the fallback.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use alloy::dyn_abi::DynSolValue;
use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol;
use alloy::sol_types::SolCall;
use anyhow::Context as _;

use super::{
    trusted_bnb_usd, ClaimEntry, Config, CycleInput, Deps, LogEntry, PairFacts, Pending, Position,
    Shadow, ShadowReads, Snapshot, FALLBACK_CLOSE_FEE_BPS,
};
use crate::chain::cache::tape::PairTape;
use crate::chain::vault::{uint, VaultReader};

mod history;

sol! {
    interface ITokenReads {
        function balanceOf(address owner) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function totalSupply() external view returns (uint256);
    }
    interface IPairReads {
        function token0() external view returns (address);
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
        function price0CumulativeLast() external view returns (uint256);
        function price1CumulativeLast() external view returns (uint256);
    }
    interface IFeedReads {
        function latestRoundData() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
        function decimals() external view returns (uint8);
    }
    /// Aster's reads, from its published interface (TradingReaderFacet, AlpManagerFacet), as the
    /// library declares them; replica-only views are called raw.
    interface IAsterReads {
        struct Position {
            bytes32 positionHash;
            string pair;
            address pairBase;
            address marginToken;
            bool isLong;
            uint96 margin;
            uint80 qty;
            uint64 entryPrice;
            uint64 stopLoss;
            uint64 takeProfit;
            uint96 openFee;
            uint96 executionFee;
            int256 fundingFee;
            uint32 timestamp;
            uint96 holdingFee;
        }
        function getPositionsV2(address user, address pairBase) external view returns (Position[] memory);
        function alpPrice() external view returns (uint256);
        function markPrice(address pairBase) external view returns (uint256);
        function pendingTradeHashes() external view returns (bytes32[] memory);
        function pendingTrade(bytes32 hash) external view returns (bytes memory);
        function closeFeeBps() external view returns (uint256);
    }
}

/// Reads the steady state of one vault on one fork.
pub struct Observer {
    pub vault: VaultReader,
    pub deps: Deps,
    pub cfg: Config,
    pub facts: PairFacts,
    /// The vault's deployment: its oracle's first observation, the tape's start.
    pub start: u64,
    pub deploy_block: u64,
    /// What mined blocks hold (timestamps, whether a cycle went through); blocks above a
    /// reverted snapshot are forgotten ([`Observer::forget_above`]).
    cache: Mutex<Cache>,
    /// A fork of a chain loaded from the chain cache: its pair tape and the pinned block. At
    /// and below that block (the upstream's blocks, where the loaded chain keeps no state but
    /// at a few) the LP pair and the vault's deployment are read from the tape.
    upstream: Option<(Arc<PairTape>, u64)>,
}

#[derive(Default)]
struct Cache {
    timestamps: BTreeMap<u64, u64>,
    cycled: BTreeMap<u64, bool>,
}

/// `eth_call` reverted (as opposed to failing to reach the node).
fn is_revert(err: &alloy::transports::TransportError) -> bool {
    match err.as_error_resp() {
        Some(resp) => resp.code == 3 || resp.message.to_lowercase().contains("revert"),
        None => false,
    }
}

impl Observer {
    /// Read the configuration, the pairs' token order, Aster's close fee and the vault's
    /// deployment block.
    pub async fn new(vault: VaultReader, deps: Deps) -> anyhow::Result<Self> {
        Self::new_on(vault, deps, None).await
    }

    /// [`Self::new`] on a fork whose upstream came from the chain cache (see the field
    /// `upstream`).
    pub async fn new_on(
        vault: VaultReader,
        deps: Deps,
        upstream: Option<(Arc<PairTape>, u64)>,
    ) -> anyhow::Result<Self> {
        let c = vault.named("getConfig", None).await?;
        let small = |name: &str| -> anyhow::Result<u64> {
            u64::try_from(c.uint(name)?).with_context(|| format!("getConfig().{name}"))
        };
        let cfg = Config {
            min_cycle_interval: small("minCycleInterval")?,
            twap_window: small("twapWindow")?,
            max_twap_age: small("maxTwapAge")?,
            max_oracle_age: small("maxOracleAge")?,
            delta_band_bps: c.uint("deltaBandBps")?,
            max_deviation_bps: c.uint("maxDeviationBps")?,
            max_nav_drop_bps: c.uint("maxNavDropBps")?,
            swap_slippage_bps: c.uint("swapSlippageBps")?,
            max_bounty_bps: c.uint("maxBountyBps")?,
            max_gas_price: c.uint("maxGasPrice")?,
            bounty_gas_units: c.uint("bountyGasUnits")?,
        };
        let mut observer = Self {
            vault,
            deps,
            cfg,
            facts: PairFacts {
                lp_btc_is_token0: true,
                flash_usdt_is_token0: true,
                close_fee_bps: U256::from(FALLBACK_CLOSE_FEE_BPS),
            },
            start: 0,
            deploy_block: 0,
            cache: Mutex::new(Cache::default()),
            upstream,
        };
        let head = observer.vault.provider.get_block_number().await?;
        let lp0 = observer.token0(deps.lp_pair, head).await?;
        let flash0 = observer.token0(deps.flash_pair, head).await?;
        let close_fee = observer
            .try_call(
                deps.aster,
                IAsterReads::closeFeeBpsCall {}.abi_encode(),
                head,
            )
            .await?
            .filter(|r| r.len() >= 32)
            .map(|r| U256::from_be_slice(&r[..32]));
        observer.facts = PairFacts {
            lp_btc_is_token0: lp0 == deps.btcb,
            flash_usdt_is_token0: flash0 == deps.usdt,
            close_fee_bps: close_fee.unwrap_or(U256::from(FALLBACK_CLOSE_FEE_BPS)),
        };
        observer.deploy_block = observer.deployment_block(head).await?;
        observer.start = observer.timestamp(observer.deploy_block).await?;
        Ok(observer)
    }

    /// The chain was reverted to a snapshot whose head is `head`: the blocks above it will be
    /// mined again with other contents.
    pub fn forget_above(&self, head: u64) {
        if let Ok(mut c) = self.cache.lock() {
            c.timestamps.retain(|n, _| *n <= head);
            c.cycled.retain(|n, _| *n <= head);
        }
    }

    /// `token`'s balance of `owner` at the head.
    pub async fn token_balance(&self, token: Address, owner: Address) -> anyhow::Result<U256> {
        let head = self.provider().get_block_number().await?;
        self.balance(token, owner, head).await
    }

    pub fn provider(&self) -> &alloy::providers::DynProvider {
        &self.vault.provider
    }

    async fn call_at(&self, to: Address, data: Vec<u8>, block: u64) -> anyhow::Result<Bytes> {
        let request = TransactionRequest::default().to(to).input(data.into());
        self.provider()
            .call(request)
            .block(BlockId::number(block))
            .await
            .with_context(|| format!("eth_call to {to} at block {block}"))
    }

    /// A `staticcall` that may revert: `None` when it did.
    async fn try_call(
        &self,
        to: Address,
        data: Vec<u8>,
        block: u64,
    ) -> anyhow::Result<Option<Bytes>> {
        let request = TransactionRequest::default().to(to).input(data.into());
        match self
            .provider()
            .call(request)
            .block(BlockId::number(block))
            .await
        {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if is_revert(&err) => Ok(None),
            Err(err) => Err(err).with_context(|| format!("eth_call to {to} at block {block}")),
        }
    }

    async fn read<C: SolCall>(
        &self,
        to: Address,
        call: C,
        block: u64,
    ) -> anyhow::Result<C::Return> {
        let raw = self.call_at(to, call.abi_encode(), block).await?;
        C::abi_decode_returns(&raw).with_context(|| format!("decoding {} from {to}", C::SIGNATURE))
    }

    async fn balance(&self, token: Address, owner: Address, block: u64) -> anyhow::Result<U256> {
        self.read(token, ITokenReads::balanceOfCall { owner }, block)
            .await
    }

    async fn token0(&self, pair: Address, block: u64) -> anyhow::Result<Address> {
        self.read(pair, IPairReads::token0Call {}, block).await
    }

    async fn reserves(&self, pair: Address, block: u64) -> anyhow::Result<(U256, U256, u32)> {
        let r = self
            .read(pair, IPairReads::getReservesCall {}, block)
            .await?;
        Ok((
            U256::from(r.reserve0),
            U256::from(r.reserve1),
            r.blockTimestampLast,
        ))
    }

    /// `measure`: the vault's views and the shadow valuation at block `n` (independent reads
    /// are sent together).
    pub async fn measure(&self, n: u64) -> anyhow::Result<Snapshot> {
        let now = self.timestamp(n).await?;
        let d = self.deps;
        let ((tape, tape_blocks), pair_now, reads, views) = tokio::try_join!(
            self.tape(n, now),
            self.pair_state(n),
            self.shadow_reads(n),
            self.views(n),
        )?;
        let cumulative_now = pair_now.cumulative_at(now);
        let (twap, covered) = tape.shadow_twap(now, self.cfg.twap_window, cumulative_now);
        let range = tape.twap_range(now, self.cfg.twap_window, cumulative_now);
        let shadow = Shadow::value(&reads, twap, range, covered, self.vault.address, d.btcb);
        // Whether a trade of the vault is pending (S8's precondition): from Aster's own book
        // where it is enumerable (the replicas), so a vault cannot excuse itself by its report;
        // the vault's `pendingHedge()` only on the real diamond (as `SteadyState.measure`).
        let (pending, pending_qty) = match &reads.pending {
            Pending::Aster(_) => (!shadow.pending_qty.is_zero(), shadow.pending_qty),
            Pending::Vault(pending, qty, _) => (*pending, *qty),
        };
        Ok(Snapshot {
            block: n,
            timestamp: now,
            pending,
            pending_qty,
            vault_usdt: reads.usdt_balance,
            vault_alp: reads.alp_balance,
            vault_btcb: reads.loose_btc,
            vault_lp: reads.lp_balance,
            shadow,
            tape,
            tape_blocks,
            ..views
        })
    }

    /// The vault's own views at block `n`, and the pairs' K (the rest of a [`Snapshot`] but
    /// `pending`, which [`Self::measure`] takes from the shadow's reads: Aster's book where it
    /// has one, else the vault's `pendingHedge()`).
    async fn views(&self, n: u64) -> anyhow::Result<Snapshot> {
        let v = &self.vault;
        let at = Some(n);
        let d = self.deps;
        let (nav, share_price, total_supply, mode, healthy_count, epoch) = tokio::try_join!(
            v.u256("nav", &[], at),
            v.u256("sharePrice", &[], at),
            v.u256("totalSupply", &[], at),
            v.u256("riskMode", &[], at),
            v.u256("healthyCycleCount", &[], at),
            v.u256("currentEpoch", &[], at),
        )?;
        let (flash, flash_allowance, digest, (f0, f1, _), (l0, l1, _)) = tokio::try_join!(
            v.named_outputs("flashState", at),
            self.read(
                d.usdt,
                ITokenReads::allowanceCall {
                    owner: v.address,
                    spender: d.flash_pair,
                },
                n,
            ),
            v.digest(at),
            self.reserves(d.flash_pair, n),
            self.reserves(d.lp_pair, n),
        )?;
        Ok(Snapshot {
            nav,
            share_price,
            total_supply,
            mode: u8::try_from(mode)?,
            healthy_count,
            flash_active: flash.boolean("active")?,
            flash_borrowed: flash.uint("borrowed")?,
            flash_allowance,
            digest,
            flash_k: f0 * f1,
            lp_k: l0 * l1,
            epoch,
            ..Snapshot::default()
        })
    }

    /// Everything `shadow` reads from primary sources at block `n`.
    pub async fn shadow_reads(&self, n: u64) -> anyhow::Result<ShadowReads> {
        let d = self.deps;
        let vault = self.vault.address;
        let at = Some(n);
        // The claim book, claim by claim.
        let mut claims = Vec::new();
        let next = self.vault.u256("nextClaimId", &[], at).await?;
        let mut id = U256::ZERO;
        while id < next {
            let c = self
                .vault
                .call("claims", &[DynSolValue::Uint(id, 256)], at)
                .await?;
            let c = named(&self.vault, "claims", c)?;
            id += U256::from(1u8);
            if c.field("receiver")?.as_address() == Some(Address::ZERO) {
                continue;
            }
            let epoch = c.uint("epoch")?;
            let e = self
                .vault
                .call("epochs", &[DynSolValue::Uint(epoch, 256)], at)
                .await?;
            let e = named(&self.vault, "epochs", e)?;
            claims.push(ClaimEntry {
                usdt: c.uint("usdt")?,
                alp: c.uint("alp")?,
                epoch_funded: e.boolean("funded")?,
                epoch_alp_owed: e.uint("alpOwed")?,
                epoch_alp_proceeds: e.uint("alpProceeds")?,
            });
        }
        let mark_call = IAsterReads::markPriceCall { pairBase: d.btcb }.abi_encode();
        let positions_call = IAsterReads::getPositionsV2Call {
            user: vault,
            pairBase: d.btcb,
        };
        let (
            (r0, r1, _),
            mark,
            positions,
            usdt_balance,
            alp_balance,
            alp_price,
            lp_balance,
            lp_supply,
            loose_btc,
            pending,
        ) = tokio::try_join!(
            self.reserves(d.lp_pair, n),
            self.try_call(d.aster, mark_call, n),
            self.read(d.aster, positions_call, n),
            self.balance(d.usdt, vault, n),
            self.balance(d.alp, vault, n),
            self.read(d.aster, IAsterReads::alpPriceCall {}, n),
            self.balance(d.lp_pair, vault, n),
            self.read(d.lp_pair, ITokenReads::totalSupplyCall {}, n),
            self.balance(d.btcb, vault, n),
            self.pending(n),
        )?;
        let (reserve_btc, reserve_usdt) = if self.facts.lp_btc_is_token0 {
            (r0, r1)
        } else {
            (r1, r0)
        };
        let mark8 = mark
            .filter(|r| r.len() >= 32)
            .map(|r| U256::from_be_slice(&r[..32]));
        let positions = positions
            .into_iter()
            .map(|p| Position {
                hash: p.positionHash,
                is_long: p.isLong,
                margin: U256::from(p.margin),
                qty: U256::from(p.qty),
                entry_price: U256::from(p.entryPrice),
                funding_fee: p.fundingFee,
                holding_fee: U256::from(p.holdingFee),
            })
            .collect();
        Ok(ShadowReads {
            claims,
            usdt_balance,
            alp_balance,
            alp_price,
            lp_balance,
            lp_supply,
            reserve_btc,
            reserve_usdt,
            loose_btc,
            mark8,
            positions,
            pending,
        })
    }

    /// `_pending`: Aster's book where it has one, else the vault's `pendingHedge()`.
    async fn pending(&self, n: u64) -> anyhow::Result<Pending> {
        let d = self.deps;
        let hashes = self
            .try_call(
                d.aster,
                IAsterReads::pendingTradeHashesCall {}.abi_encode(),
                n,
            )
            .await?
            .filter(|r| r.len() >= 64);
        let Some(raw) = hashes else {
            let p = self.vault.call("pendingHedge", &[], Some(n)).await?;
            let pending = p.first().and_then(DynSolValue::as_bool).unwrap_or(false);
            return Ok(Pending::Vault(
                pending,
                uint(p.get(1).context("pendingHedge().qty")?)?,
                uint(p.get(2).context("pendingHedge().margin")?)?,
            ));
        };
        let hashes = IAsterReads::pendingTradeHashesCall::abi_decode_returns(&raw)?;
        let mut trades = Vec::new();
        for hash in hashes {
            let data = IAsterReads::pendingTradeCall { hash }.abi_encode();
            let Some(t) = self.try_call(d.aster, data, n).await? else {
                continue;
            };
            if t.len() < 12 * 32 {
                continue;
            }
            let word = |i: usize| U256::from_be_slice(&t[i * 32..(i + 1) * 32]);
            let addr = |i: usize| Address::from_slice(&t[i * 32 + 12..(i + 1) * 32]);
            trades.push((addr(0), addr(3), !word(4).is_zero(), word(6), word(7)));
        }
        Ok(Pending::Aster(trades))
    }

    /// `trustedBnbUsd` at block `n` (time `now`).
    pub async fn bnb_usd(&self, n: u64, now: u64) -> anyhow::Result<U256> {
        let feed = self.deps.bnb_usd_feed;
        let Some(raw) = self
            .try_call(feed, IFeedReads::latestRoundDataCall {}.abi_encode(), n)
            .await?
        else {
            return Ok(U256::ZERO);
        };
        let Ok(round) = IFeedReads::latestRoundDataCall::abi_decode_returns(&raw) else {
            return Ok(U256::ZERO);
        };
        let decimals = self.read(feed, IFeedReads::decimalsCall {}, n).await?;
        Ok(trusted_bnb_usd(
            round.answer,
            round.updatedAt,
            decimals,
            now,
            self.cfg.max_oracle_age,
        ))
    }

    /// USDT `who` holds at block `n`.
    pub async fn usdt_of(&self, who: Address, n: u64) -> anyhow::Result<U256> {
        self.balance(self.deps.usdt, who, n).await
    }

    /// What the cycle checks need from a mined `cycle()` transaction: whether it went through,
    /// the bounty it returned (from the call trace), the keeper's USDT gain around it, its logs,
    /// its gas price and the feed after it.
    pub async fn cycle_input(
        &self,
        receipt: &TransactionReceipt,
        keeper: Address,
    ) -> anyhow::Result<(CycleInput, Bytes)> {
        let n = receipt.block_number.context("the receipt has no block")?;
        let now = self.timestamp(n).await?;
        let (ok, output) = trace_outcome(self.provider(), receipt.transaction_hash).await?;
        anyhow::ensure!(
            ok == receipt.status(),
            "the trace and the receipt of {} disagree on its status",
            receipt.transaction_hash
        );
        let bounty = if ok {
            let out = self.vault.artifact.decode_output("cycle", &output)?;
            uint(out.get(1).context("cycle() returned no bounty")?)?
        } else {
            U256::ZERO
        };
        let gain = self
            .usdt_of(keeper, n)
            .await?
            .saturating_sub(self.usdt_of(keeper, n - 1).await?);
        let logs = receipt
            .inner
            .logs()
            .iter()
            .map(|l| LogEntry {
                emitter: l.address(),
                topics: l.topics().to_vec(),
                data: l.data().data.clone(),
            })
            .collect();
        Ok((
            CycleInput {
                ok,
                bounty,
                keeper_gain: gain,
                logs,
                gas_price: U256::from(receipt.effective_gas_price),
                bnb_usd: self.bnb_usd(n, now).await?,
            },
            output,
        ))
    }
}

/// Whether a mined transaction succeeded and what its top call returned (or reverted with),
/// from anvil's call tracer.
pub async fn trace_outcome(
    provider: &alloy::providers::DynProvider,
    hash: B256,
) -> anyhow::Result<(bool, Bytes)> {
    let trace: serde_json::Value = provider
        .raw_request(
            "debug_traceTransaction".into(),
            (hash, serde_json::json!({ "tracer": "callTracer" })),
        )
        .await
        .with_context(|| format!("debug_traceTransaction {hash}"))?;
    let output = match trace.get("output").and_then(serde_json::Value::as_str) {
        Some(hex) => hex
            .parse::<Bytes>()
            .with_context(|| format!("the trace of {hash} has a malformed output"))?,
        None => Bytes::new(),
    };
    Ok((trace.get("error").is_none(), output))
}

fn named(
    vault: &VaultReader,
    function: &str,
    mut values: Vec<DynSolValue>,
) -> anyhow::Result<crate::chain::vault::Named> {
    anyhow::ensure!(
        values.len() == 1,
        "{function} returned {} values",
        values.len()
    );
    let params = vault.artifact.function(function)?.outputs[0]
        .components
        .clone();
    Ok(crate::chain::vault::Named {
        value: values.remove(0),
        params,
    })
}
