//! Building the local chain: from the chain cache when an entry matches, else cold (anvil,
//! `script/DeployLocal.s.sol`, the history), storing what a cold build made.

use super::{
    cache, connect, ChainInfo, ChainOptions, IVault, LocalChain, Replicas, GENESIS_TIMESTAMP,
};
use crate::chain::addressbook::AddressBook;
use crate::chain::history::{play_history, Capture};
use crate::foundry::anvil::{Anvil, AnvilBuilder};
use crate::shell;
use crate::toolchain::{Tool, Toolchain};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::Provider;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub(super) fn cache_off() -> cache::Status {
    cache::Status::Off
}

/// anvil's options for the local chain (a cache entry is loaded into an anvil started alike).
pub(super) fn anvil_builder(port: u16) -> AnvilBuilder {
    Anvil::builder()
        .port(port)
        .chain_id(56)
        .timestamp(GENESIS_TIMESTAMP)
        // Room for three days of history with several transactions per tick.
        .arg("--gas-limit")
        .arg(GAS_LIMIT)
}

pub(super) const GAS_LIMIT: &str = "100000000";

pub(super) fn anvil_key_args() -> Vec<String> {
    vec![
        "--chain-id 56".into(),
        format!("--timestamp {GENESIS_TIMESTAMP}"),
        format!("--gas-limit {GAS_LIMIT}"),
    ]
}

/// Most blocks the deployment (DeployLocal, one transaction per block) can take.
pub(super) const MAX_DEPLOY_BLOCKS: u64 = 200;

/// Transactions before the first tick (mints, approvals, deposits).
pub(super) const SETUP_TRANSACTIONS: u64 = 10;

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
        crate::foundry::registry::ensure(toolchain)?;
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
    // What a cold build keeps: the phase boundaries, and the blocks this run pins (by walking
    // its command line's pins, unless an entry told their numbers).
    let mut capture = Capture {
        walker: options.cache.keep().cloned().map(cache::keep::Walker::new),
        ..Capture::default()
    };
    if let (cache::Mode::Use(dir) | cache::Mode::Keep(dir, _), Some(key)) = (&options.cache, &key) {
        match cache::lookup(dir, key) {
            Ok(Some(entry)) => match entry.manifest.serves(options.cache.keep()) {
                cache::Serves::Yes => match load(toolchain, options, &entry) {
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
                cache::Serves::No(blocks) => {
                    shell::note(
                        "Cached",
                        format!(
                            "entry {} keeps no state at some of the blocks this run pins: \
                             building the chain, and an entry that keeps them",
                            &key.hash[..12]
                        ),
                    );
                    capture.blocks = blocks;
                    capture.walker = None;
                }
                cache::Serves::Never => {
                    shell::note(
                        "Cached",
                        format!(
                            "not: the run pins blocks no entry keeps (in the deployment, or more \
                             than {}); building the chain",
                            cache::keep::MAX_PINNED
                        ),
                    );
                    return cold_miss(toolchain, options, replicas);
                }
            },
            Ok(None) => {}
            Err(err) => shell::warn(format!("{err:#}; building the chain")),
        }
    }
    if let (cache::Mode::Store(dir), Some(k)) = (&options.cache, &key) {
        if cache::stored(dir, k) {
            // A run that pins blocks an entry does not keep, with the entry already stored:
            // nothing to take along for the cache.
            shell::note(
                "Cached",
                format!(
                    "not again: the chain cache holds this chain (entry {})",
                    &k.hash[..12]
                ),
            );
            return cold_miss(toolchain, options, replicas);
        }
    }
    build_cold(
        toolchain,
        options,
        key.as_ref().map(|k| (k, capture)),
        replicas,
    )
}

/// Built cold and not stored (`miss`).
fn cold_miss(
    toolchain: &Toolchain,
    options: &ChainOptions,
    replicas: Replicas,
) -> anyhow::Result<LocalChain> {
    let mut chain = build_cold(toolchain, options, None, replicas)?;
    chain.info.cache = cache::Status::Miss;
    std::fs::write(
        options.out_dir.join("chain.json"),
        serde_json::to_string_pretty(&chain.info)? + "\n",
    )?;
    Ok(chain)
}

/// Load a cache entry into a new anvil and check that it is the chain the entry says.
pub(super) fn load(
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
    let runtime = crate::runtime::shared()?;
    runtime.block_on(verify_loaded(&url, &book, manifest))?;
    let tape = entry.tape()?;
    let served: Vec<u64> = manifest
        .kept
        .iter()
        .map(|k| k.block)
        .chain([manifest.head])
        .collect();
    anyhow::ensure!(
        tape.pair == book.lp_pair && tape.vault == book.vault && tape.head == manifest.head,
        "its pair tape is of another chain"
    );
    runtime.block_on(cache::tape::verify(&connect(&url)?, &tape, &served))?;
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
    Ok(LocalChain {
        anvil,
        book,
        info,
        tape: Some(std::sync::Arc::new(tape)),
    })
}

/// The loaded chain's head is the recorded one (number, hash, state root), and at every kept
/// block the vault reads exactly what the history recorded there.
pub(super) async fn verify_loaded(
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
/// (`capture`) and store the entry.
pub(super) fn build_cold(
    toolchain: &Toolchain,
    options: &ChainOptions,
    store_as: Option<(&cache::Key, Capture)>,
    replicas: Replicas,
) -> anyhow::Result<LocalChain> {
    let anvil = anvil_builder(options.port).spawn(toolchain)?;
    let url = anvil.url();
    shell::status(
        "Deploying",
        format!("the BSC replica environment and the vault on {url}"),
    );
    let runtime = crate::runtime::shared()?;
    let started = Instant::now();
    let book_path = deploy(toolchain, runtime, &url, &options.out_dir, replicas)?;
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
    let (key, capture) = match store_as {
        Some((key, capture)) => (Some(key), Some(capture)),
        None => (None, None),
    };
    let (samples, landmarks, head, capture) =
        runtime.block_on(play_history(&url, &book, options, capture))?;
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
    if let (Some(key), Some(capture), Some(dir)) = (key, capture, options.cache.dir()) {
        info.cache = match runtime.block_on(store(dir, key, &info, capture)) {
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
    Ok(LocalChain {
        anvil,
        book,
        info,
        tape: None,
    })
}

pub(super) async fn store(
    dir: &Path,
    key: &cache::Key,
    info: &ChainInfo,
    capture: Capture,
) -> anyhow::Result<PathBuf> {
    let history_from = capture.history_from;
    let mut kept = capture.kept;
    kept.sort_by_key(|(k, _)| k.block);
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
    let book = AddressBook::read(&info.address_book)?;
    let started = Instant::now();
    let tape = cache::tape::read(&provider, book.lp_pair, book.vault, info.head).await?;
    shell::note(
        "Read",
        format!(
            "the LP pair's tape for the chain cache (blocks {}..={}, {} changes) in {:.1?}",
            tape.first,
            tape.head,
            tape.changes.len(),
            started.elapsed()
        ),
    );
    // Held to the chain where a loaded entry will be: every kept block and the head.
    let served: Vec<u64> = kept
        .iter()
        .map(|(k, _)| k.block)
        .chain([info.head])
        .collect();
    cache::tape::verify(&provider, &tape, &served).await?;
    let tape_json = serde_json::to_vec(&tape)?;
    cache::store(
        dir,
        key,
        &cache::Built {
            head_dump: &head_dump,
            kept_dumps: &kept,
            head: info.head,
            history_from,
            head_hash: head.header.hash,
            state_root: head.header.state_root,
            book: &info.address_book,
            info_json: &info_json,
            tape_json: &tape_json,
        },
    )
}

/// Run `script/DeployLocal.s.sol` against the anvil, one block per transaction, one second apart
/// from genesis, so the deployment is the same on every run. Returns the address book path.
pub(super) fn deploy(
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

pub(super) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n") + "\n"
}
