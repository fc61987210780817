//! The local BSC replica chain: an anvil that claims chain id 56, the whole environment
//! deployed by `script/DeployLocal.s.sol`, then a seeded multi-day market history played on it
//! with real transactions, so that pinned blocks and block windows see different reserves,
//! oracle snapshots and vault states.
//!
//! Determinism: the genesis time is fixed, every block's timestamp is set explicitly, and every
//! random draw comes from one seeded generator, so the same seed gives the same state at the
//! same block number.
//!
//! Block spacing: BSC makes a block every 0.45 s, so two or three consecutive blocks share a
//! timestamp; the history does the same inside each 10-minute market tick (its transactions land
//! in blocks 0.45 s apart, rounded down to whole seconds). Between ticks, time jumps to the next
//! tick in one block: mining every empty 0.45 s block of three days (about 576,000 blocks) would
//! take anvil over an hour here, and forks only see the state that transactions wrote anyway.
//!
//! Room: the upstream chain of a local run (deployment, seeded history, the chain cache, the
//! address book, the vault's typed reader). May depend on
//! [`crate::toolchain`], [`crate::foundry`], [`crate::rng`] and the plumbing ([`crate::project`],
//! [`crate::shell`], [`crate::signals`], [`crate::error`].

pub mod addressbook;
mod build;
pub mod cache;
mod history;
pub mod vault;

use crate::chain::build::{cache_off, MAX_DEPLOY_BLOCKS, SETUP_TRANSACTIONS};
use crate::chain::history::MAX_TICK_TRANSACTIONS;
pub use build::{build, build_with};
pub use history::{landmarks, price_path, Landmark, Phase, Sample};

use std::path::PathBuf;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::sol;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::chain::addressbook::AddressBook;
use crate::foundry::anvil::Anvil;

/// 2026-01-01T00:00:00Z: the local chain's genesis, whatever the wall clock says.
pub const GENESIS_TIMESTAMP: u64 = 1_767_225_600;
/// One market tick: the vault's default `minCycleInterval`, so the keeper can cycle every tick.
pub const TICK_SECONDS: u64 = 600;
pub const DEFAULT_DAYS: u32 = 3;
pub const DEFAULT_SEED: u64 = 42;

/// anvil's well-known dev accounts ("test test ... junk"): public keys of public test keys.
pub mod accounts {
    use alloy::primitives::{address, Address};
    /// Deployer: owner and minter of the tokens, Aster keeper, feed admin.
    pub const ADMIN: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    /// Moves the market with swaps.
    pub const TRADER: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
    /// Calls `cycle()` and collects the bounty.
    pub const KEEPER: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    pub const DEPOSITOR_A: Address = address!("90F79bf6EB2c4f870365E785982E1f101E93b906");
    pub const DEPOSITOR_B: Address = address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
}

sol! {
    #[sol(rpc)]
    interface IReplicaToken {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
    }

    #[sol(rpc)]
    interface IRouter {
        function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] calldata path, address to, uint256 deadline)
            external returns (uint256[] memory amounts);
    }

    #[sol(rpc)]
    interface IPair {
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
        function token0() external view returns (address);
    }

    #[sol(rpc)]
    interface IAsterKeeper {
        function setMarkPrice(address pairBase, uint64 price) external;
        function setAlpPrice(uint256 price) external;
        function executePendingTrades() external returns (uint256 opened, uint256 cancelled);
    }

    #[sol(rpc)]
    interface IFeed {
        function updateAnswer(int256 answer) external;
    }

    #[sol(rpc)]
    interface IVault {
        function deposit(uint256 assets, address receiver) external returns (uint256 shares);
        function cycle() external returns (uint8 path, uint256 bounty);
        function nav() external view returns (uint256);
        function sharePrice() external view returns (uint256);
        function riskMode() external view returns (uint8);
    }
}

/// What `cargo xtask chain` and `cargo xtask chaos` know about a built local chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainInfo {
    pub url: String,
    /// Which code stands in for PancakeSwap V2 and Chainlink.
    pub replicas: Replicas,
    pub seed: u64,
    pub days: u32,
    pub address_book: PathBuf,
    pub head: u64,
    pub landmarks: Vec<Landmark>,
    pub samples: Vec<Sample>,
    /// Whether the chain was loaded from the chain cache (`hit`), built and stored, built
    /// without storing (`miss`), or built with the cache off.
    #[serde(default = "cache_off")]
    pub cache: cache::Status,
    /// With a cache hit: the only blocks (besides the head) whose state the chain serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_only_at: Option<Vec<u64>>,
}

/// A running local chain: the anvil stays up as long as this value lives.
pub struct LocalChain {
    pub anvil: Anvil,
    pub book: AddressBook,
    pub info: ChainInfo,
    /// With a cache hit: the LP pair's tape, checked against the loaded chain (what the
    /// live-fork engine reads at the blocks the chain serves no state for).
    pub tape: Option<std::sync::Arc<cache::tape::PairTape>>,
}

/// Which code stands in for PancakeSwap V2 and Chainlink on the local chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Replicas {
    /// PancakeSwap V2 built from the npm registry's sources with the project's V2 patch, and
    /// Chainlink's EACAggregatorProxy in front of each feed's aggregator.
    #[default]
    Real,
    /// The hand-written replicas of contracts/replicas only (the chain before real code).
    Hand,
}

impl Replicas {
    /// The value `script/DeployLocal.s.sol` reads from `LOCAL_REPLICAS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Replicas::Real => "real",
            Replicas::Hand => "hand",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChainOptions {
    pub seed: u64,
    pub days: u32,
    /// Where the address book and chain.json go.
    pub out_dir: PathBuf,
    /// Port of the upstream anvil (0: any free port).
    pub port: u16,
    /// Whether the chain cache is read and written.
    pub cache: cache::Mode,
}

impl ChainOptions {
    /// The options that decide the chain (its cache key). Every field is named here, so that
    /// a new option is a compile error until it is either part of the key or said not to be.
    pub fn determining(&self) -> Vec<(&'static str, String)> {
        let ChainOptions {
            seed,
            days,
            out_dir: _,
            port: _,
            cache: _,
        } = self;
        vec![("seed", seed.to_string()), ("days", days.to_string())]
    }
}

/// What is known about a chain before it exists: the local replica chain's time span and the
/// most blocks it can have (see [`bounds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBounds {
    /// Timestamp of block 0.
    pub genesis_time: u64,
    /// No block is later than this.
    pub latest_time: u64,
    /// The head is at most this block.
    pub max_head: u64,
}

/// What is known of a `days`-day local chain before it is built: every block's time lies between
/// genesis and the last tick (deployment blocks are one second apart), and the head is at most
/// the deployment plus every transaction of the history. Lets `cargo xtask chaos` reject a block
/// or time outside the chain before spending the minutes it takes to build it.
pub fn bounds(days: u32) -> ChainBounds {
    let ticks = u64::from(days) * 86_400 / TICK_SECONDS;
    ChainBounds {
        genesis_time: GENESIS_TIMESTAMP,
        latest_time: GENESIS_TIMESTAMP
            + MAX_DEPLOY_BLOCKS
            + SETUP_TRANSACTIONS
            + ticks * TICK_SECONDS,
        max_head: MAX_DEPLOY_BLOCKS + SETUP_TRANSACTIONS + ticks * MAX_TICK_TRANSACTIONS,
    }
}

pub fn connect(url: &str) -> anyhow::Result<DynProvider> {
    let url = url.parse().with_context(|| format!("not a URL: {url}"))?;
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url)
        .erased())
}

#[cfg(test)]
mod tests;
