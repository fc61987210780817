//! The history below a snapshot: block times, the vault's deployment and cycles, and the LP
//! pair's accumulator at past blocks (the tape the shadow TWAP is held to). On a fork of a chain
//! loaded from the chain cache, the pair and the deployment at the upstream's blocks come from
//! the entry's pair tape ([`crate::chain::cache::tape`]).

use alloy::consensus::Transaction as _;
use alloy::eips::BlockId;
use alloy::network::TransactionResponse as _;
use alloy::providers::Provider as _;
use anyhow::Context as _;

use super::super::{PairState, Tape};
use super::{IPairReads, Observer};

impl Observer {
    /// The timestamp of block `n`.
    pub async fn timestamp(&self, n: u64) -> anyhow::Result<u64> {
        if let Some(t) = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.timestamps.get(&n).copied())
        {
            return Ok(t);
        }
        let t = self
            .provider()
            .get_block_by_number(n.into())
            .await?
            .with_context(|| format!("block {n} not found"))?
            .header
            .timestamp;
        if let Ok(mut c) = self.cache.lock() {
            c.timestamps.insert(n, t);
        }
        Ok(t)
    }

    /// The last block at or before `hi` whose timestamp is at or before `ts` (the first block
    /// when none is).
    pub async fn block_at_or_before(&self, ts: u64, hi: u64) -> anyhow::Result<u64> {
        let (mut lo, mut hi) = (0u64, hi);
        if self.timestamp(hi).await? <= ts {
            return Ok(hi);
        }
        // Invariant: ts(hi) > ts; answer in [lo, hi).
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if self.timestamp(mid).await? <= ts {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The first block holding the vault's code.
    pub(super) async fn deployment_block(&self, head: u64) -> anyhow::Result<u64> {
        let has_code = |b: u64| async move {
            let code = self
                .provider()
                .get_code_at(self.vault.address)
                .block_id(BlockId::number(b))
                .await?;
            anyhow::Ok(!code.is_empty())
        };
        anyhow::ensure!(
            has_code(head).await?,
            "no vault code at {}",
            self.vault.address
        );
        let (mut lo, mut hi) = (0u64, head);
        match &self.upstream {
            // Deployed on the fork: only the fork's own blocks are searched.
            Some((_, pinned)) if !has_code(*pinned).await? => lo = *pinned,
            Some((tape, _)) => {
                anyhow::ensure!(
                    tape.vault == self.vault.address,
                    "the vault {} is not the cached chain's vault {}",
                    self.vault.address,
                    tape.vault
                );
                return Ok(tape.vault_deployed_at);
            }
            None if has_code(0).await? => return Ok(0),
            None => {}
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if has_code(mid).await? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    /// Whether block `n` holds a successful `cycle()` transaction to the vault.
    pub(super) async fn cycled_in(&self, n: u64) -> anyhow::Result<bool> {
        if let Some(c) = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.cycled.get(&n).copied())
        {
            return Ok(c);
        }
        let selector = self.vault.artifact.function("cycle")?.selector();
        let block = self
            .provider()
            .get_block_by_number(n.into())
            .full()
            .await?
            .with_context(|| format!("block {n} not found"))?;
        let mut found = false;
        for tx in block.transactions.txns() {
            if tx.to() != Some(self.vault.address) || !tx.input().starts_with(selector.as_slice()) {
                continue;
            }
            let receipt = self
                .provider()
                .get_transaction_receipt(tx.tx_hash())
                .await?
                .with_context(|| format!("no receipt for {}", tx.tx_hash()))?;
            if receipt.status() {
                found = true;
                break;
            }
        }
        if let Ok(mut c) = self.cache.lock() {
            c.cycled.insert(n, found);
        }
        Ok(found)
    }

    /// The timestamp of the last successful cycle at or before `limit`, looking no later than
    /// block `hi` (None: none since the deployment).
    pub(super) async fn last_cycle_at_or_before(
        &self,
        limit: u64,
        hi: u64,
    ) -> anyhow::Result<Option<u64>> {
        let mut n = self.block_at_or_before(limit, hi).await?;
        loop {
            if n < self.deploy_block {
                return Ok(None);
            }
            if self.timestamp(n).await? <= limit && self.cycled_in(n).await? {
                return Ok(Some(self.timestamp(n).await?));
            }
            if n == 0 {
                return Ok(None);
            }
            n -= 1;
        }
    }

    /// The LP pair's accumulator state at block `n`.
    pub async fn pair_state(&self, n: u64) -> anyhow::Result<PairState> {
        if let Some(row) = self
            .upstream
            .as_ref()
            .filter(|(_, pinned)| n <= *pinned)
            .and_then(|(tape, _)| tape.at(n))
        {
            let btc_is_token0 = self.facts.lp_btc_is_token0;
            return Ok(PairState {
                reserve0: row.reserve0,
                reserve1: row.reserve1,
                timestamp_last: row.timestamp_last,
                cumulative_last: if btc_is_token0 {
                    row.cumulative0
                } else {
                    row.cumulative1
                },
                btc_is_token0,
            });
        }
        let (r0, r1, last) = self.reserves(self.deps.lp_pair, n).await?;
        let cumulative_last = if self.facts.lp_btc_is_token0 {
            self.read(
                self.deps.lp_pair,
                IPairReads::price0CumulativeLastCall {},
                n,
            )
            .await?
        } else {
            self.read(
                self.deps.lp_pair,
                IPairReads::price1CumulativeLastCall {},
                n,
            )
            .await?
        };
        Ok(PairState {
            reserve0: r0,
            reserve1: r1,
            timestamp_last: last,
            cumulative_last,
            btc_is_token0: self.facts.lp_btc_is_token0,
        })
    }

    /// The tape a snapshot at block `n` (time `now`) needs, read from the blocks anvil mined: a
    /// point at the last block at or before each moment the TWAPs start from and at the block
    /// after it (so the cumulative in between is exact), and one at every block inside the range
    /// of the vault's possible window starts (where the TWAP from `s` has its extremes).
    pub async fn tape(&self, n: u64, now: u64) -> anyhow::Result<(Tape, Vec<u64>)> {
        let window = self.cfg.twap_window;
        let mut tape = Tape {
            start: self.start,
            cycles: vec![self.start],
            ..Default::default()
        };
        let mut moments = Vec::new();
        let covered = now >= self.start + window;
        moments.push(if covered { now - window } else { self.start });
        let mut inside = None;
        if covered {
            if let Some(c) = self.last_cycle_at_or_before(now - window, n).await? {
                if c > self.start {
                    tape.cycles.push(c);
                }
            }
            if let Some((s_lo, c)) = tape.window_starts(now, window) {
                moments.push(s_lo);
                moments.push(c);
                inside = Some((s_lo, c));
            }
        }
        let mut blocks = std::collections::BTreeSet::new();
        for s in moments {
            let b = self.block_at_or_before(s, n).await?;
            blocks.insert(b);
            if b < n {
                blocks.insert(b + 1);
            }
        }
        if let Some((s_lo, c)) = inside {
            let first = self.block_at_or_before(s_lo, n).await?;
            let last = self.block_at_or_before(c, n).await?;
            for b in first..=last {
                let t = self.timestamp(b).await?;
                if t > s_lo && t < c {
                    blocks.insert(b);
                }
            }
        }
        let mut tape_blocks = Vec::new();
        for b in blocks {
            let t = self.timestamp(b).await?;
            if tape.times.last().is_some_and(|last| *last >= t) {
                continue;
            }
            let state = self.pair_state(b).await?;
            tape.record(t, state.cumulative_at(t));
            tape_blocks.push(b);
        }
        Ok((tape, tape_blocks))
    }
}
