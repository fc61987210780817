//! The entry's pair tape (`pair-tape.json`): the LP pair's accumulator state at every block from
//! the vault's deployment to the head, as the cold chain answered it, and the vault's deployment
//! block.
//!
//! Why an entry keeps it: the live-fork engine's shadow TWAP reads the LP pair (reserves and
//! cumulative prices) at the blocks around the vault's TWAP window, and finds the vault's
//! deployment by bisecting for its code; those are blocks of the upstream chain that an entry
//! keeps no state for (a full state per block would be a megabyte each). So the cold build reads
//! them once, the entry keeps them (hashed in the manifest like every file), a load checks them
//! against the loaded chain at every block it does serve, and the live-fork engine reads the
//! upstream's blocks from here instead of `eth_call` when the chain came from the cache.

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider as _};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

alloy::sol! {
    #[sol(rpc)]
    interface IPairAccumulator {
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
        function price0CumulativeLast() external view returns (uint256);
        function price1CumulativeLast() external view returns (uint256);
        event Sync(uint112 reserve0, uint112 reserve1);
    }
}

/// The pair's accumulator state at one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRow {
    pub reserve0: U256,
    pub reserve1: U256,
    pub timestamp_last: u32,
    pub cumulative0: U256,
    pub cumulative1: U256,
}

/// The pair's state from `first` to `head`: each change with the block it happened in (a block
/// reads the last change at or before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairTape {
    pub pair: Address,
    pub vault: Address,
    /// The first block holding the vault's code.
    pub vault_deployed_at: u64,
    /// The first block the tape answers for (the vault's deployment).
    pub first: u64,
    /// The last block it answers for (the chain's head).
    pub head: u64,
    /// `(block, state)` in increasing block order; the first is at `first`.
    pub changes: Vec<(u64, PairRow)>,
}

impl PairTape {
    /// The pair's state at block `n`, if the tape covers it.
    pub fn at(&self, n: u64) -> Option<PairRow> {
        if n < self.first || n > self.head {
            return None;
        }
        let i = self.changes.partition_point(|(b, _)| *b <= n);
        i.checked_sub(1).map(|i| self.changes[i].1)
    }

    /// Its own consistency: changes in increasing order starting at `first`, within the head.
    pub fn check_shape(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.changes.first().map(|(b, _)| *b) == Some(self.first),
            "the pair tape does not start at its first block"
        );
        anyhow::ensure!(
            self.changes.windows(2).all(|w| w[0].0 < w[1].0),
            "the pair tape's blocks are not increasing"
        );
        anyhow::ensure!(
            self.changes.last().is_some_and(|(b, _)| *b <= self.head)
                && self.vault_deployed_at <= self.first,
            "the pair tape reaches past its head"
        );
        Ok(())
    }
}

/// Blocks read at once while the cold chain is read (anvil answers them side by side).
const AT_ONCE: usize = 48;

/// The pair's state at block `n` of the chain behind `provider`.
pub async fn read_row(provider: &DynProvider, pair: Address, n: u64) -> anyhow::Result<PairRow> {
    let p = IPairAccumulator::new(pair, provider);
    let (r, c0, c1) = tokio::try_join!(
        async { p.getReserves().block(n.into()).call().await },
        async { p.price0CumulativeLast().block(n.into()).call().await },
        async { p.price1CumulativeLast().block(n.into()).call().await },
    )
    .with_context(|| format!("reading the LP pair {pair} at block {n}"))?;
    Ok(PairRow {
        reserve0: U256::from(r.reserve0),
        reserve1: U256::from(r.reserve1),
        timestamp_last: r.blockTimestampLast,
        cumulative0: c0,
        cumulative1: c1,
    })
}

/// The first block at or below `head` where `vault` has code (it has code at `head`).
async fn deployment_block(
    provider: &DynProvider,
    vault: Address,
    head: u64,
) -> anyhow::Result<u64> {
    let has_code = |b: u64| async move {
        let code = provider.get_code_at(vault).number(b).await?;
        anyhow::Ok(!code.is_empty())
    };
    anyhow::ensure!(has_code(head).await?, "no vault code at {vault}");
    if has_code(0).await? {
        return Ok(0);
    }
    let (mut lo, mut hi) = (0u64, head);
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

/// Read the tape from a cold-built chain (state at every block) whose head is `head`: the pair
/// at the vault's deployment and at every block where it emitted `Sync`. Its state changes
/// nowhere else: `_update` is the only writer of the reserves, their timestamp and the
/// accumulators, and it always emits `Sync` (PancakeSwap V2's pair and the hand replica alike),
/// so the other blocks read what the block before them read.
pub async fn read(
    provider: &DynProvider,
    pair: Address,
    vault: Address,
    head: u64,
) -> anyhow::Result<PairTape> {
    let deployed = deployment_block(provider, vault, head).await?;
    let filter = alloy::rpc::types::Filter::new()
        .address(pair)
        .event_signature(<IPairAccumulator::Sync as alloy::sol_types::SolEvent>::SIGNATURE_HASH)
        .from_block(deployed)
        .to_block(head);
    let logs = provider
        .get_logs(&filter)
        .await
        .with_context(|| format!("reading the LP pair {pair}'s Sync logs"))?;
    let mut blocks = std::collections::BTreeSet::from([deployed]);
    for log in &logs {
        blocks.insert(
            log.block_number
                .context("a Sync log without its block number")?,
        );
    }
    read_at(
        provider,
        pair,
        vault,
        deployed,
        head,
        blocks.into_iter().collect(),
    )
    .await
}

/// The tape from the pair read at every block from the vault's deployment to `head` (what
/// [`read`] must equal; kept for the test that holds it to that).
#[cfg(test)]
pub async fn read_every_block(
    provider: &DynProvider,
    pair: Address,
    vault: Address,
    head: u64,
) -> anyhow::Result<PairTape> {
    let deployed = deployment_block(provider, vault, head).await?;
    read_at(
        provider,
        pair,
        vault,
        deployed,
        head,
        (deployed..=head).collect(),
    )
    .await
}

/// The tape from the pair read at `blocks` (increasing, the first `deployed`): a block not read
/// reads what the last read block before it did.
async fn read_at(
    provider: &DynProvider,
    pair: Address,
    vault: Address,
    deployed: u64,
    head: u64,
    blocks: Vec<u64>,
) -> anyhow::Result<PairTape> {
    let mut changes: Vec<(u64, PairRow)> = Vec::new();
    for chunk in blocks.chunks(AT_ONCE) {
        crate::signals::check()?;
        let mut tasks = tokio::task::JoinSet::new();
        for &n in chunk {
            let provider = provider.clone();
            tasks.spawn(async move { (n, read_row(&provider, pair, n).await) });
        }
        let mut rows = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let (n, row) = done.context("a pair read stopped")?;
            rows.push((n, row?));
        }
        rows.sort_by_key(|(n, _)| *n);
        for (n, row) in rows {
            if changes.last().map(|(_, last)| *last) != Some(row) {
                changes.push((n, row));
            }
        }
    }
    Ok(PairTape {
        pair,
        vault,
        vault_deployed_at: deployed,
        first: deployed,
        head,
        changes,
    })
}

/// A loaded chain's answer at every block in `blocks` (those it serves state at) is the tape's.
pub async fn verify(provider: &DynProvider, tape: &PairTape, blocks: &[u64]) -> anyhow::Result<()> {
    tape.check_shape()?;
    for &n in blocks {
        let want = tape
            .at(n)
            .with_context(|| format!("the pair tape does not cover block {n}"))?;
        let got = read_row(provider, tape.pair, n).await?;
        anyhow::ensure!(
            got == want,
            "the LP pair at block {n} reads {got:?}, the pair tape recorded {want:?}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a real one-day chain (deployment and history, anvil), the tape read at the pair's
    /// `Sync` blocks is the tape read at every block; and leaving out one `Sync` block gives
    /// another tape, so the comparison can fail.
    #[test]
    fn the_tape_from_sync_logs_is_the_tape_of_every_block() {
        let project = crate::project::Project::locate();
        let toolchain = crate::toolchain::Toolchain::ensure(&project).unwrap();
        let out = tempfile::tempdir().unwrap();
        let chain = crate::chain::build(
            &toolchain,
            &crate::chain::ChainOptions {
                seed: 7,
                days: 1,
                out_dir: out.path().to_path_buf(),
                port: 0,
                cache: crate::chain::cache::Mode::Off,
            },
        )
        .unwrap();
        let runtime = crate::runtime::shared().unwrap();
        let provider = crate::chain::connect(&chain.info.url).unwrap();
        let (pair, vault, head) = (chain.book.lp_pair, chain.book.vault, chain.info.head);
        let every = runtime
            .block_on(read_every_block(&provider, pair, vault, head))
            .unwrap();
        let from_logs = runtime
            .block_on(read(&provider, pair, vault, head))
            .unwrap();
        assert!(every.changes.len() > 100, "{} changes", every.changes.len());
        assert_eq!(from_logs, every);
        // One change's block left unread: its row is missing from the tape.
        let mut blocks: Vec<u64> = every.changes.iter().map(|(b, _)| *b).collect();
        blocks.remove(blocks.len() / 2);
        let short = runtime
            .block_on(read_at(&provider, pair, vault, every.first, head, blocks))
            .unwrap();
        assert_ne!(short, every);
    }

    fn row(x: u64) -> PairRow {
        PairRow {
            reserve0: U256::from(x),
            reserve1: U256::from(x + 1),
            timestamp_last: x as u32,
            cumulative0: U256::from(10 * x),
            cumulative1: U256::from(20 * x),
        }
    }

    #[test]
    fn a_block_reads_the_last_change_at_or_before_it_and_nothing_outside() {
        let tape = PairTape {
            pair: Address::ZERO,
            vault: Address::ZERO,
            vault_deployed_at: 10,
            first: 10,
            head: 40,
            changes: vec![(10, row(1)), (15, row(2)), (30, row(3))],
        };
        tape.check_shape().unwrap();
        assert_eq!(tape.at(9), None);
        assert_eq!(tape.at(10), Some(row(1)));
        assert_eq!(tape.at(14), Some(row(1)));
        assert_eq!(tape.at(15), Some(row(2)));
        assert_eq!(tape.at(29), Some(row(2)));
        assert_eq!(tape.at(40), Some(row(3)));
        assert_eq!(tape.at(41), None);
        let mut bad = tape.clone();
        bad.changes.swap(0, 1);
        assert!(bad.check_shape().is_err());
        let mut late = tape;
        late.changes.remove(0);
        assert!(late.check_shape().is_err());
    }
}
