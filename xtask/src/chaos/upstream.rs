//! The upstream every fork reads: the local BSC replica chain or a real archive endpoint, always
//! behind the xtask's own JSON-RPC proxy (which also records and replays), its address book made
//! readable by forge, and the per-method RPC counters written next to the report.

use crate::chain::addressbook::AddressBook;
use crate::chaos::args::ChaosArgs;
use crate::chaos::pin::PinnedBlock;
use crate::error::Unusable;
use crate::foundry::forge::Target;
use crate::rpc::ledger::Ledger;
use crate::rpc::proxy::{Proxy, ProxyConfig, ProxyHandle, ProxyStats};
use crate::rpc::record::{Recorder, Replay};
use crate::rpc::redact::Redacted;
use crate::rpc::retry::Policy;
use crate::shell;
use crate::toolchain::Toolchain;
use alloy::providers::Provider as _;
use anyhow::Context as _;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where forks read from: a proxy URL and the chain's address book.
pub(in crate::chaos) struct ForkSource {
    pub(in crate::chaos) url: String,
    pub(in crate::chaos) book: AddressBook,
    pub(in crate::chaos) book_path: PathBuf,
    /// The LP pair's tape of a chain loaded from the chain cache (see
    /// [`crate::chain::cache::tape`]): the live-fork engine reads the upstream's blocks from it.
    pub(in crate::chaos) tape: Option<Arc<crate::chain::cache::tape::PairTape>>,
}

/// The upstream every fork reads, behind the xtask's proxy.
pub(super) struct Connection {
    /// What the report shows (redacted).
    pub(super) endpoint: String,
    pub(super) kind: &'static str,
    pub(super) chain_id: u64,
    /// The proxy's local URL: the only URL forge and anvil see.
    pub(in crate::chaos) url: String,
    pub(super) proxy: ProxyHandle,
    pub(in crate::chaos) book: AddressBook,
    pub(in crate::chaos) book_path: PathBuf,
    /// The local chain, when it is the upstream (kept alive for the run).
    pub(super) _local: Option<crate::chain::LocalChain>,
    /// Whether the local chain came from the chain cache (for the report).
    pub(super) chain_cache: Option<String>,
    /// A copy of the book that forge can read, removed at the end of the run.
    pub(super) _book_copy: Option<crate::signals::Scratch>,
    pub(super) default_blocks: Vec<(u64, String)>,
    /// The upstream itself, for a second (degrading) proxy.
    pub(super) target: Redacted,
    /// With `--replay`: the recording every proxy of the run answers from.
    pub(super) replay: Option<Arc<Replay>>,
    /// With `--record`: where the resilient layers file validated answers.
    pub(super) recorder: Option<Arc<Recorder>>,
    /// The clean run's ledger (the recording's scope follows it).
    pub(super) ledger: Arc<Ledger>,
    pub(super) policy: Policy,
}

impl Connection {
    pub(crate) fn source(&self, url: &str) -> ForkSource {
        ForkSource {
            url: url.to_owned(),
            book: self.book.clone(),
            book_path: self.book_path.clone(),
            tape: self._local.as_ref().and_then(|l| l.tape.clone()),
        }
    }
}

pub(super) fn connect_upstream(
    toolchain: &Toolchain,
    args: &ChaosArgs,
    report_dir: &Path,
) -> anyhow::Result<Connection> {
    let root = toolchain.project.root();
    let policy = Policy {
        hedge_after: args.rpc_hedge_after,
        ..Policy::seeded(args.seed)
    };
    let ledger = Arc::new(Ledger::default());
    let recorder = match &args.record {
        Some(dir) => {
            // Checked now, not after the run: a recording that cannot be written is bad input.
            let dir = root.join(dir);
            std::fs::create_dir_all(&dir).map_err(|e| {
                Unusable::with_fix(
                    format!(
                        "cannot create the recording directory {}: {e}",
                        dir.display()
                    ),
                    "give --record a directory that can be written",
                )
            })?;
            Some(Arc::new(Recorder::default()))
        }
        None => None,
    };
    // The resilient layer every fork of the clean run reads through.
    let resilient = |target: &Redacted, replay: Option<Arc<Replay>>| {
        let mut config = ProxyConfig::new(target.clone()).resilient(policy.clone());
        config.replay = replay;
        config.ledger = Some(Arc::clone(&ledger));
        config.recorder = recorder.clone();
        Proxy::start(config)
    };
    if let Some(dir) = &args.replay {
        let replay = Arc::new(Replay::load(&root.join(dir))?);
        if replay.meta.seed != args.seed {
            return Err(Unusable::with_fix(
                format!(
                    "the recording was made with --seed {}, this run has --seed {}",
                    replay.meta.seed, args.seed
                ),
                format!("replay with --seed {}", replay.meta.seed),
            )
            .into());
        }
        // The address book travels in the recording; forge reads it from the report.
        let chain_dir = report_dir.join("chain");
        std::fs::create_dir_all(&chain_dir)?;
        let book_file = chain_dir.join("address-book.json");
        std::fs::write(
            &book_file,
            serde_json::to_string_pretty(&replay.address_book)? + "\n",
        )?;
        let book = AddressBook::read(&book_file)?;
        // Never contacted: a replaying proxy answers from the recording.
        let target = Redacted::parse("http://recording.invalid/", "the recording")?;
        let proxy = resilient(&target, Some(Arc::clone(&replay)))?;
        shell::status(
            "Replaying",
            format!(
                "{} answers recorded on chain {} ({}), no upstream",
                replay.manifest.answers, replay.meta.chain_id, replay.meta.kind
            ),
        );
        let (book_path, book_copy) = readable_by_forge(toolchain, &book_file)?;
        return Ok(Connection {
            endpoint: format!("recording {}", dir.display()),
            kind: if replay.meta.kind == "bsc" {
                "bsc"
            } else {
                "local-replica"
            },
            chain_id: replay.meta.chain_id,
            url: proxy.url(),
            proxy,
            book,
            book_path,
            _local: None,
            chain_cache: None,
            _book_copy: book_copy,
            default_blocks: replay.meta.default_blocks.clone(),
            target,
            replay: Some(replay),
            recorder: None,
            ledger,
            policy,
        });
    }
    let real = std::env::var("BSC_RPC_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    match real {
        Some(_) if args.replicas.is_some() => Err(Unusable::with_fix(
            "--replicas chooses the local chain's code, but BSC_RPC_URL is set: the run forks real BSC",
            "drop --replicas, or unset BSC_RPC_URL to run on the local chain",
        )
        .into()),
        Some(text) => {
            let endpoint = Redacted::parse(&text, "BSC_RPC_URL")?;
            let proxy = resilient(&endpoint, None)?;
            let url = proxy.url();
            let target = endpoint.clone();
            let runtime = crate::runtime::shared()?;
            let provider = crate::chain::connect(&url)?;
            let chain_id = runtime.block_on(provider.get_chain_id()).map_err(|e| {
                Unusable::with_fix(
                    format!(
                        "BSC_RPC_URL ({endpoint}) did not answer eth_chainId: {}",
                        endpoint.scrub(&e.to_string())
                    ),
                    "check the endpoint with `cargo xtask rpc-probe`",
                )
            })?;
            if chain_id != 56 {
                return Err(Unusable::with_fix(
                    format!("BSC_RPC_URL ({endpoint}) serves chain id {chain_id}, not BSC (56)"),
                    "point BSC_RPC_URL at a BNB Smart Chain mainnet archive endpoint",
                )
                .into());
            }
            let book_path = AddressBook::bsc_path(toolchain.project.root());
            let book = AddressBook::read(&book_path)?;
            let default_block = match std::env::var("BSC_FORK_BLOCK")
                .ok()
                .filter(|v| !v.trim().is_empty())
            {
                Some(b) => b.trim().parse::<u64>().map_err(|_| {
                    Unusable::with_fix(
                        format!("BSC_FORK_BLOCK=`{b}` is not a block number"),
                        "set it to a block number or unset it",
                    )
                })?,
                None => runtime.block_on(provider.get_block_number())?,
            };
            Ok(Connection {
                endpoint: endpoint.to_string(),
                kind: "bsc",
                chain_id,
                url,
                proxy,
                book,
                book_path,
                _local: None,
                chain_cache: None,
                _book_copy: None,
                default_blocks: vec![(default_block, "pinned".into())],
                target,
                replay: None,
                recorder,
                ledger,
                policy,
            })
        }
        None => {
            let local = crate::chain::build_with(
                toolchain,
                &crate::chain::ChainOptions {
                    seed: args.seed,
                    days: args.days,
                    out_dir: report_dir.join("chain"),
                    port: 0,
                    cache: chain_cache_mode(root, args),
                },
                args.replicas.unwrap_or_default(),
            )?;
            let endpoint = Redacted::parse(&local.info.url, "the local chain's URL")?;
            let proxy = resilient(&endpoint, None)?;
            let (book_path, book_copy) = readable_by_forge(toolchain, &local.info.address_book)?;
            Ok(Connection {
                endpoint: local.info.url.clone(),
                kind: "local-replica",
                chain_id: 56,
                url: proxy.url(),
                proxy,
                book: local.book.clone(),
                book_path,
                _book_copy: book_copy,
                default_blocks: local
                    .info
                    .landmarks
                    .iter()
                    .map(|m| (m.block, m.label.clone()))
                    .collect(),
                chain_cache: Some(local.info.cache.as_str().to_owned()),
                _local: Some(local),
                target: endpoint,
                replay: None,
                recorder,
                ledger,
                policy,
            })
        }
    }
}

/// The chain cache for this run: an entry serves forks only at the blocks it keeps (the
/// landmarks and the other phase boundaries, and the blocks earlier runs pinned), so a run that
/// pins other blocks names them to the cache: an entry that keeps them all is loaded, else the
/// chain is built, keeping them on the way, and stored. The live-fork engine's reads of the
/// history below the pinned block (its shadow TWAP's tape) are served by the entry's pair tape.
pub(super) fn chain_cache_mode(root: &Path, args: &ChaosArgs) -> crate::chain::cache::Mode {
    use crate::chain::cache::keep::{At, Every, Keep};
    use crate::chain::cache::Mode;
    use crate::chaos::pin::{Point, Step};
    let at = |p: Point| match p {
        Point::Block(n) => At::Block(n),
        Point::Time(t) => At::Time(t),
    };
    let keep = match (args.fork_block, args.at, args.window, args.step) {
        (Some(n), _, _, _) => Some(Keep::At(At::Block(n))),
        (_, Some(t), _, _) => Some(Keep::At(At::Time(t))),
        (_, _, Some((from, to)), Some(step)) => Some(Keep::Window {
            from: at(from),
            to: at(to),
            every: match step {
                Step::Blocks(k) => Every::Blocks(k),
                Step::Time(d) => Every::Seconds(d.as_secs()),
            },
        }),
        _ => None,
    };
    match (
        Mode::new(crate::chain::cache::default_dir(root), args.no_chain_cache),
        keep,
    ) {
        // A recording must hold every answer its replay asks for, and a replay has no cached
        // chain: the recording run reads the history from a chain built with it, not from an
        // entry's tape.
        (Mode::Use(dir), _) if args.record.is_some() => Mode::Store(dir),
        (Mode::Use(dir), Some(keep)) => Mode::Keep(dir, keep),
        (mode, _) => mode,
    }
}

/// A chain loaded from the chain cache serves state only at the blocks its entry keeps and at
/// its head: every pinned block must be one of them (the cache chose the entry by the same
/// pins; this holds it to what pinning resolved).
pub(super) fn check_served(upstream: &Connection, pins: &[PinnedBlock]) -> anyhow::Result<()> {
    let Some(local) = &upstream._local else {
        return Ok(());
    };
    let Some(kept) = &local.info.state_only_at else {
        return Ok(());
    };
    match pins
        .iter()
        .find(|p| p.number != local.info.head && !kept.contains(&p.number))
    {
        Some(p) => Err(Unusable::with_fix(
            format!(
                "the chain cache loaded a chain without state at pinned block {} (it keeps \
                 blocks {kept:?} and the head {})",
                p.number, local.info.head
            ),
            "run with --no-chain-cache, and report this",
        )
        .into()),
        None => Ok(()),
    }
}

/// Real BSC: the endpoint must serve state at every pinned block (an archive node).
pub(super) fn preflight_archive(
    runtime: &tokio::runtime::Runtime,
    provider: &alloy::providers::DynProvider,
    book: &AddressBook,
    pins: &[PinnedBlock],
) -> anyhow::Result<()> {
    for pinned in pins {
        runtime
            .block_on(async { provider.get_code_at(book.usdt).number(pinned.number).await })
            .map_err(|e| {
                Unusable::with_fix(
                    format!(
                        "the endpoint serves no state at block {} ({e})",
                        pinned.number
                    ),
                    "use an archive endpoint, or pin a recent block",
                )
            })?;
    }
    Ok(())
}

pub(super) fn fork_target(source: &ForkSource, pinned: &PinnedBlock) -> Target {
    Target::Fork {
        url: source.url.clone(),
        block: Some(pinned.number),
        no_storage_caching: true,
    }
}

/// forge scripts may only read inside the project (foundry.toml `fs_permissions`: ./reports,
/// ./deployments): a book written elsewhere (`--report-dir /tmp/...`) is copied under
/// reports/.address-books/ first.
/// The copy is scratch: removed when the returned guard drops (end of the run, however it ends).
pub(super) fn readable_by_forge(
    toolchain: &Toolchain,
    book: &Path,
) -> anyhow::Result<(PathBuf, Option<crate::signals::Scratch>)> {
    let root = toolchain.project.root();
    let inside = ["reports", "deployments"]
        .iter()
        .any(|dir| book.starts_with(root.join(dir)));
    if inside {
        return Ok((book.to_path_buf(), None));
    }
    let dir = root.join("reports").join(".address-books");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::signals::sweep_stale_files(&dir, "book-");
    let copy = crate::signals::Scratch::file(
        dir.join(crate::signals::scratch_file_name("book-", ".json")),
    );
    std::fs::copy(book, copy.path())
        .with_context(|| format!("copying {} into the project", book.display()))?;
    Ok((copy.path().to_path_buf(), Some(copy)))
}

/// A proxy config whose origin is the run's upstream: its URL, or the recording it replays.
pub(super) fn origin_config(upstream: &Connection) -> ProxyConfig {
    let mut config = ProxyConfig::new(upstream.target.clone());
    config.replay = upstream.replay.clone();
    config
}

/// The proxy's and the keeper's counters, per method (the keeper's under `keeper:`).
pub(super) fn merge_counters(
    proxy: &std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    keeper: &std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
) -> std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters> {
    let mut all = proxy.clone();
    for (method, counters) in keeper {
        all.entry(format!("keeper:{method}"))
            .or_default()
            .add(counters);
    }
    all
}

/// With `--replay`: a failure caused by a request the recording lacks becomes that gap.
pub(super) fn replay_gap(upstream: &Connection, err: anyhow::Error) -> anyhow::Error {
    upstream
        .replay
        .as_ref()
        .and_then(|r| r.missing_error())
        .unwrap_or(err)
}

/// `--record DIR`: the answers the run's resilient layers validated, and what a replay
/// needs besides them.
pub(super) fn record(
    upstream: &Connection,
    args: &ChaosArgs,
    fresh_vault: bool,
    head: u64,
    pins: &[PinnedBlock],
    dir: &Path,
) -> anyhow::Result<crate::rpc::record::Manifest> {
    let recorder = upstream
        .recorder
        .as_ref()
        .context("the run had no recorder")?;
    let book_text = std::fs::read_to_string(&upstream.book_path)
        .with_context(|| format!("reading {}", upstream.book_path.display()))?;
    let meta = crate::rpc::record::Meta {
        chain_id: upstream.chain_id,
        kind: upstream.kind.to_owned(),
        seed: args.seed,
        days: args.days,
        fresh_vault,
        head,
        default_blocks: upstream.default_blocks.clone(),
        pinned: pins
            .iter()
            .map(|p| crate::rpc::record::PinnedRecord {
                number: p.number,
                hash: p.hash.clone(),
                timestamp: p.timestamp,
                label: p.label.clone(),
            })
            .collect(),
    };
    recorder.write(dir, meta, serde_json::from_str(&book_text)?)
}

#[derive(Serialize)]
pub(super) struct RpcCounters<'a> {
    http_requests: u64,
    calls: u64,
    distinct_state_keys: u64,
    upstream_errors: u64,
    methods: &'a std::collections::BTreeMap<String, u64>,
    /// Retries, hedges and give-ups of the resilient upstream layer, per method.
    resilience: &'a std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    retry_budget_spent: u64,
    /// The same for the live-fork keeper's transport.
    keeper: &'a std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    /// With `--replay`: answers served from the recording, and requests it did not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    replay: Option<ReplayCounters>,
}

#[derive(Serialize)]
pub(super) struct ReplayCounters {
    served: u64,
    missing: Vec<String>,
}

pub(super) fn write_rpc_stats(
    dir: &Path,
    stats: &ProxyStats,
    keeper: &std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    upstream: &Connection,
) -> anyhow::Result<()> {
    let counters = RpcCounters {
        http_requests: stats.http_requests,
        calls: stats.calls,
        distinct_state_keys: stats.distinct_state_keys,
        upstream_errors: stats.upstream_errors,
        methods: &stats.methods,
        resilience: &stats.resilience,
        retry_budget_spent: stats.retry_budget_spent,
        keeper,
        replay: upstream.replay.as_ref().map(|r| ReplayCounters {
            served: r.served(),
            missing: r.missing().iter().map(ToString::to_string).collect(),
        }),
    };
    std::fs::write(
        dir.join("rpc.json"),
        serde_json::to_string_pretty(&counters)? + "\n",
    )?;
    Ok(())
}
