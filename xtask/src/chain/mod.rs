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

pub mod addressbook;
pub mod cache;
pub mod patch;
pub mod registry;
pub mod vault;

use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::chain::addressbook::AddressBook;
use crate::foundry::anvil::{Anvil, AnvilBuilder};
use crate::rng::SplitMix64;
use crate::shell;
use crate::toolchain::{Tool, Toolchain};

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
fn phase_of(i: u64, n: u64) -> Phase {
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
fn history_rng(seed: u64) -> SplitMix64 {
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

fn cache_off() -> cache::Status {
    cache::Status::Off
}

/// A running local chain: the anvil stays up as long as this value lives.
pub struct LocalChain {
    pub anvil: Anvil,
    pub book: AddressBook,
    pub info: ChainInfo,
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

/// anvil's options for the local chain (a cache entry is loaded into an anvil started alike).
fn anvil_builder(port: u16) -> AnvilBuilder {
    Anvil::builder()
        .port(port)
        .chain_id(56)
        .timestamp(GENESIS_TIMESTAMP)
        // Room for three days of history with several transactions per tick.
        .arg("--gas-limit")
        .arg(GAS_LIMIT)
}

const GAS_LIMIT: &str = "100000000";

fn anvil_key_args() -> Vec<String> {
    vec![
        "--chain-id 56".into(),
        format!("--timestamp {GENESIS_TIMESTAMP}"),
        format!("--gas-limit {GAS_LIMIT}"),
    ]
}

/// Most blocks the deployment (DeployLocal, one transaction per block) can take.
const MAX_DEPLOY_BLOCKS: u64 = 200;
/// Transactions before the first tick (mints, approvals, deposits).
const SETUP_TRANSACTIONS: u64 = 10;
/// Most transactions (blocks) of one tick: a swap, two feeds, the mark and ALP prices, the
/// keeper of Aster and the vault's cycle.
const MAX_TICK_TRANSACTIONS: u64 = 7;

/// What is known of a `days`-day local chain before it is built: every block's time lies between
/// genesis and the last tick (deployment blocks are one second apart), and the head is at most
/// the deployment plus every transaction of the history. Lets `cargo xtask chaos` reject a block
/// or time outside the chain before spending the minutes it takes to build it.
pub fn bounds(days: u32) -> crate::chaos::pin::ChainBounds {
    let ticks = u64::from(days) * 86_400 / TICK_SECONDS;
    crate::chaos::pin::ChainBounds {
        genesis_time: GENESIS_TIMESTAMP,
        latest_time: GENESIS_TIMESTAMP
            + MAX_DEPLOY_BLOCKS
            + SETUP_TRANSACTIONS
            + ticks * TICK_SECONDS,
        max_head: MAX_DEPLOY_BLOCKS + SETUP_TRANSACTIONS + ticks * MAX_TICK_TRANSACTIONS,
    }
}

/// Start the upstream anvil, deploy the environment (on the registry-built PancakeSwap V2 and
/// Chainlink proxies, or the hand-written replicas) and play the history; or, with the chain
/// cache on and a verified entry for exactly this chain, load that entry instead.
pub fn build(toolchain: &Toolchain, options: &ChainOptions) -> anyhow::Result<LocalChain> {
    build_with(toolchain, options, Replicas::default())
}

/// [`build`] on the code `replicas` names (`--replicas` of `cargo xtask chain` and `chaos`).
pub fn build_with(
    toolchain: &Toolchain,
    options: &ChainOptions,
    replicas: Replicas,
) -> anyhow::Result<LocalChain> {
    if replicas == Replicas::Real {
        crate::chain::registry::ensure(toolchain)?;
    }
    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("creating {}", options.out_dir.display()))?;
    crate::signals::phase("chain")?;
    let key = match options.cache.dir() {
        Some(_) => match cache::key(
            toolchain,
            &[
                options.determining(),
                vec![("replicas", replicas.as_str().to_owned())],
            ]
            .concat(),
            &anvil_key_args(),
        ) {
            Ok(key) => Some(key),
            Err(err) => {
                shell::warn(format!("chain cache unused: {err:#}"));
                None
            }
        },
        None => None,
    };
    if let (cache::Mode::Use(dir), Some(key)) = (&options.cache, &key) {
        match cache::lookup(dir, key) {
            Ok(Some(entry)) => match load(toolchain, options, &entry) {
                Ok(chain) => return Ok(chain),
                Err(err) => {
                    crate::signals::check()?;
                    cache::remove(&entry.dir);
                    shell::warn(format!(
                        "chain cache entry {} rejected, building the chain: {err:#}",
                        key.hash
                    ));
                }
            },
            Ok(None) => {}
            Err(err) => shell::warn(format!("{err:#}; building the chain")),
        }
    }
    build_cold(toolchain, options, key.as_ref(), replicas)
}

/// Load a cache entry into a new anvil and check that it is the chain the entry says.
fn load(
    toolchain: &Toolchain,
    options: &ChainOptions,
    entry: &cache::Entry,
) -> anyhow::Result<LocalChain> {
    let started = Instant::now();
    let manifest = &entry.manifest;
    let state = crate::signals::Scratch::new("chain-state")?;
    let state_file = state.path().join("state.json");
    std::fs::write(&state_file, entry.state_json()?)?;
    let anvil = anvil_builder(options.port)
        .arg("--load-state")
        .arg(&state_file)
        .startup_timeout(std::time::Duration::from_secs(120))
        .spawn(toolchain)?;
    drop(state);
    let url = anvil.url();
    let book_path = options.out_dir.join("address-book.json");
    std::fs::copy(entry.book(), &book_path)?;
    let book = AddressBook::read(&book_path)?;
    let mut info: ChainInfo = serde_json::from_str(&std::fs::read_to_string(entry.info())?)
        .context("the entry's chain.json")?;
    anyhow::ensure!(
        info.seed == options.seed && info.days == options.days,
        "its chain.json is of another chain"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(verify_loaded(&url, &book, manifest))?;
    info.url = url.clone();
    info.address_book = book_path;
    info.cache = cache::Status::Hit;
    info.state_only_at = Some(manifest.kept.iter().map(|k| k.block).collect());
    std::fs::write(
        options.out_dir.join("chain.json"),
        serde_json::to_string_pretty(&info)? + "\n",
    )?;
    shell::status(
        "Loaded",
        format!(
            "the chain from the chain cache (entry {}, head block {}) in {:.1?}; \
             `--no-chain-cache` builds it",
            &manifest.key.hash[..12],
            info.head,
            started.elapsed()
        ),
    );
    Ok(LocalChain { anvil, book, info })
}

/// The loaded chain's head is the recorded one (number, hash, state root), and at every kept
/// block the vault reads exactly what the history recorded there.
async fn verify_loaded(
    url: &str,
    book: &AddressBook,
    manifest: &cache::Manifest,
) -> anyhow::Result<()> {
    use alloy::eips::BlockId;
    let provider = connect(url)?;
    let head = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("the loaded chain has no head")?;
    anyhow::ensure!(
        head.header.number == manifest.head
            && head.header.hash.to_string() == manifest.head_hash
            && head.header.state_root.to_string() == manifest.state_root,
        "the loaded head is block {} {} (root {}), the entry recorded block {} {} (root {})",
        head.header.number,
        head.header.hash,
        head.header.state_root,
        manifest.head,
        manifest.head_hash,
        manifest.state_root
    );
    let vault = IVault::new(book.vault, provider.clone());
    for kept in &manifest.kept {
        let block = provider
            .get_block_by_number(kept.block.into())
            .await?
            .with_context(|| format!("the loaded chain has no block {}", kept.block))?;
        anyhow::ensure!(
            block.header.hash.to_string() == kept.hash,
            "block {} hashes to {}, the entry recorded {}",
            kept.block,
            block.header.hash,
            kept.hash
        );
        let at = BlockId::number(kept.block);
        let nav = vault.nav().block(at).call().await?.to_string();
        let share_price = vault.sharePrice().block(at).call().await?.to_string();
        let risk_mode = vault.riskMode().block(at).call().await?;
        anyhow::ensure!(
            nav == kept.nav && share_price == kept.share_price && risk_mode == kept.risk_mode,
            "the vault at block {} reads NAV {nav}, share price {share_price}, risk mode \
             {risk_mode}; the history recorded {}, {}, {}",
            kept.block,
            kept.nav,
            kept.share_price,
            kept.risk_mode
        );
    }
    Ok(())
}

/// Build the chain from scratch; with a key, take the state dumps an entry needs on the way
/// and store the entry.
fn build_cold(
    toolchain: &Toolchain,
    options: &ChainOptions,
    key: Option<&cache::Key>,
    replicas: Replicas,
) -> anyhow::Result<LocalChain> {
    let anvil = anvil_builder(options.port).spawn(toolchain)?;
    let url = anvil.url();
    shell::status(
        "Deploying",
        format!("the BSC replica environment and the vault on {url}"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let book_path = deploy(toolchain, &runtime, &url, &options.out_dir, replicas)?;
    let book = AddressBook::read(&book_path)?;
    shell::status(
        "Deployed",
        format!(
            "in {:.1?}; address book {}",
            started.elapsed(),
            book_path.display()
        ),
    );

    crate::signals::phase("history")?;
    let started = Instant::now();
    let mut kept = key.map(|_| Vec::new());
    let (samples, landmarks, head) =
        runtime.block_on(play_history(&url, &book, options, kept.as_mut()))?;
    shell::status(
        "Played",
        format!(
            "{} days of market history ({} ticks, head block {head}) in {:.1?}",
            options.days,
            samples.len(),
            started.elapsed()
        ),
    );
    let mut info = ChainInfo {
        url,
        replicas,
        seed: options.seed,
        days: options.days,
        address_book: book_path,
        head,
        landmarks,
        samples,
        cache: cache::Status::Off,
        state_only_at: None,
    };
    if let (Some(key), Some(kept), Some(dir)) = (key, kept, options.cache.dir()) {
        info.cache = match runtime.block_on(store(dir, key, &info, &kept)) {
            Ok(path) => {
                shell::note("Cached", format!("the chain in {}", path.display()));
                cache::Status::Stored
            }
            Err(err) => {
                crate::signals::check()?;
                shell::warn(format!("the chain was not cached: {err:#}"));
                cache::Status::Miss
            }
        };
    }
    std::fs::write(
        options.out_dir.join("chain.json"),
        serde_json::to_string_pretty(&info)? + "\n",
    )?;
    Ok(LocalChain { anvil, book, info })
}

async fn store(
    dir: &Path,
    key: &cache::Key,
    info: &ChainInfo,
    kept: &[(cache::Kept, Vec<u8>)],
) -> anyhow::Result<PathBuf> {
    let provider = connect(&info.url)?;
    let head_dump = provider.anvil_dump_state().await?;
    let head = provider
        .get_block_by_number(info.head.into())
        .await?
        .context("no head block")?;
    // The entry's chain.json is the chain's, before it knows where it is served.
    let stored = ChainInfo {
        url: String::new(),
        cache: cache::Status::Hit,
        ..info.clone()
    };
    let info_json = serde_json::to_vec_pretty(&stored)?;
    cache::store(
        dir,
        key,
        &cache::Built {
            head_dump: &head_dump,
            kept_dumps: kept,
            head: info.head,
            head_hash: head.header.hash,
            state_root: head.header.state_root,
            book: &info.address_book,
            info_json: &info_json,
        },
    )
}

/// Run `script/DeployLocal.s.sol` against the anvil, one block per transaction, one second apart
/// from genesis, so the deployment is the same on every run. Returns the address book path.
fn deploy(
    toolchain: &Toolchain,
    runtime: &tokio::runtime::Runtime,
    url: &str,
    out_dir: &Path,
    replicas: Replicas,
) -> anyhow::Result<PathBuf> {
    let provider = connect(url)?;
    runtime.block_on(provider.anvil_set_block_timestamp_interval(1))?;
    // The script may only write under deployments/local (foundry.toml fs_permissions); the book
    // is moved into the run directory afterwards, and the scratch file is removed whatever
    // happens (success, failure, interruption).
    let books = toolchain.project.root().join("deployments/local");
    crate::signals::sweep_stale_files(&books, "run-");
    let scratch = crate::signals::Scratch::file(
        books.join(crate::signals::scratch_file_name("run-", ".json")),
    );
    let relative = crate::foundry::forge::relative_path(toolchain, scratch.path());
    let mut command = toolchain.command(Tool::Forge);
    command
        .args([
            "script",
            "script/DeployLocal.s.sol:DeployLocal",
            "--broadcast",
            "--slow",
            "--rpc-url",
            url,
        ])
        .env("ADDRESS_BOOK_OUT", &relative)
        .env("LOCAL_REPLICAS", replicas.as_str())
        .stdin(std::process::Stdio::null());
    let logs = crate::foundry::forge::BroadcastLogs::new(toolchain)?;
    logs.apply(&mut command);
    let output =
        crate::signals::output(&mut command).context("starting forge script DeployLocal")?;
    crate::signals::check()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        anyhow::bail!(
            "DeployLocal failed ({}):\n{}{}",
            output.status,
            tail(&stdout, 15),
            tail(&stderr, 15)
        );
    }
    runtime.block_on(provider.anvil_remove_block_timestamp_interval())?;
    let book = out_dir.join("address-book.json");
    std::fs::copy(scratch.path(), &book)
        .with_context(|| format!("copying {} to {}", scratch.path().display(), book.display()))?;
    Ok(book)
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n") + "\n"
}

pub fn connect(url: &str) -> anyhow::Result<DynProvider> {
    let url = url.parse().with_context(|| format!("not a URL: {url}"))?;
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url)
        .erased())
}

/// Sends transactions from anvil's unlocked dev accounts with explicit block timestamps.
struct Sender {
    provider: DynProvider,
    /// Timestamp of the next block, in milliseconds (blocks are 450 ms apart).
    clock_ms: u64,
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
        self.provider
            .anvil_set_next_block_timestamp(self.clock_ms / 1000)
            .await?;
        self.clock_ms += 450;
        let request = request.with_from(from).with_gas_limit(8_000_000);
        let receipt = self.provider.eth_send_transaction_sync(request).await?;
        Ok(receipt.status())
    }

    /// Jump to the start of the next tick (never backwards).
    fn advance_to(&mut self, timestamp: u64) {
        self.clock_ms = self.clock_ms.max(timestamp * 1000);
    }
}

const E18: u128 = 1_000_000_000_000_000_000;

fn usd(amount: f64) -> U256 {
    // Whole cents are plenty for amounts of test money.
    U256::from((amount * 100.0).round() as u128) * U256::from(E18 / 100)
}

async fn play_history(
    url: &str,
    book: &AddressBook,
    options: &ChainOptions,
    mut kept: Option<&mut Vec<(cache::Kept, Vec<u8>)>>,
) -> anyhow::Result<(Vec<Sample>, Vec<Landmark>, u64)> {
    let provider = connect(url)?;
    let head = provider.get_block_number().await?;
    let latest = provider
        .get_block_by_number(head.into())
        .await?
        .context("the deployed chain has no head block")?;
    let mut sender = Sender {
        provider: provider.clone(),
        clock_ms: (latest.header.timestamp + 1) * 1000,
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
    use accounts::*;
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
        if let Some(kept) = kept.as_mut() {
            let last = i + 1 == path.len();
            if last || path[i + 1].0 != phase {
                let dump = provider.anvil_dump_state().await?;
                let hash = provider
                    .get_block_by_number(block.into())
                    .await?
                    .context("no block at the tick's end")?
                    .header
                    .hash;
                let sample = samples.last().context("no sample")?;
                kept.push((
                    cache::Kept {
                        block,
                        hash: hash.to_string(),
                        nav: sample.nav.clone(),
                        share_price: sample.share_price.clone(),
                        risk_mode: sample.risk_mode,
                    },
                    dump.to_vec(),
                ));
            }
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
    Ok((samples.clone(), landmarks(&samples), head))
}

/// The swap that moves a constant-product pool (0.25% fee) from its reserves to `price` USDT
/// per BTC, if it moves it by more than a basis point.
fn swap_to_price(
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

fn u256_f64(v: U256) -> f64 {
    v.to_string().parse::<f64>().unwrap_or(0.0)
}

fn f64_u256(v: f64) -> U256 {
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

#[cfg(test)]
mod tests;
