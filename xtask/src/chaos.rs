//! `cargo xtask chaos`: pin blocks of an upstream chain, run the in-EVM scenarios and the
//! live-fork keeper experiments on forks of each, and write the report.
//!
//! The upstream is the local BSC replica chain ([`crate::chain`]) unless `BSC_RPC_URL` names a
//! real BSC archive endpoint. Either way every fork (forge's and anvil's) reads the upstream
//! through the xtask's own JSON-RPC proxy ([`crate::rpc::proxy`]) on 127.0.0.1: forge and
//! anvil never see the real URL (it carries an API key), and the proxy counts every upstream
//! request per method for the report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alloy::dyn_abi::DynSolValue;
use alloy::providers::Provider as _;
use anyhow::Context as _;
use serde::Serialize;

use crate::addressbook::AddressBook;
use crate::anvil::Anvil;
use crate::artifacts::Artifact;
use crate::error::Unusable;
use crate::forge::{self, ScriptCall, Target};
use crate::live;
use crate::pin::{self, PinnedBlock, Point, Selection, Step};
use crate::project::Project;
use crate::report::{self, Block, Chain, Engine, Experiment, Report, Totals, Verdict};
use crate::rpc::fault::FaultSpec;
use crate::rpc::proxy::{Proxy, ProxyConfig, ProxyHandle, ProxyStats};
use crate::rpc::redact::Redacted;
use crate::scenario::ScenarioResult;
use crate::shell;
use crate::toolchain::{Tool, Toolchain};
use crate::vault::VaultReader;

const SCENARIO_SCRIPT: &str = "script/ForkChaosScenarios.s.sol:ForkChaosScenarios";

/// `path/File.sol:Contract` -> (`File.sol`, `Contract`), as forge lays out `out/`.
fn artifact_of(script: &str) -> Result<(String, String), Unusable> {
    let (path, contract) = script.rsplit_once(':').ok_or_else(|| {
        Unusable::with_fix(
            format!("`{script}` is not PATH:CONTRACT"),
            "write e.g. script/ForkChaosScenarios.s.sol:ForkChaosScenarios",
        )
    })?;
    let file = Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((file, contract.to_owned()))
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ChaosArgs {
    #[command(subcommand)]
    pub command: Option<ChaosCommand>,

    /// Run only this experiment (repeatable); `--list` shows the catalogue.
    #[arg(long = "scenario", value_name = "ID")]
    pub scenarios: Vec<String>,

    /// List every experiment (in-EVM scenarios and live-fork keeper experiments) and exit.
    #[arg(long)]
    pub list: bool,

    /// Seed of the local chain's market history and of every seeded fault.
    #[arg(long, default_value_t = crate::chain::DEFAULT_SEED)]
    pub seed: u64,

    /// Days of market history on the local chain.
    #[arg(long, default_value_t = crate::chain::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub days: u32,

    /// Where report.json, junit.xml and summary.md go (default: reports/chaos-RUN_ID).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Print report.json on stdout (human output stays on stderr).
    #[arg(long)]
    pub json: bool,

    /// Open report.html in the desktop's browser when the run ends.
    #[arg(long)]
    pub open: bool,

    /// Fork this block only.
    #[arg(long, value_name = "N", conflicts_with_all = ["at", "window"], help_heading = "Blocks")]
    pub fork_block: Option<u64>,

    /// Fork the last block at or before this time (RFC 3339 or unix seconds).
    #[arg(long, value_name = "TIME", value_parser = pin::parse_time, conflicts_with = "window", help_heading = "Blocks")]
    pub at: Option<u64>,

    /// Fork every block of a window, FROM..TO (block numbers or RFC 3339 times), every --step.
    #[arg(long, value_name = "FROM..TO", value_parser = pin::parse_window, requires = "step", help_heading = "Blocks")]
    pub window: Option<(Point, Point)>,

    /// Step through the window by blocks (`50`) or chain time (`6h`).
    #[arg(long, value_name = "STEP", value_parser = pin::parse_step, requires = "window", help_heading = "Blocks")]
    pub step: Option<Step>,

    /// Run only shard I of N (1-based) of the (block, experiment) pairs.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Which engines run.
    #[arg(long, value_enum, default_value = "all")]
    pub engine: EngineChoice,

    /// The local chain's PancakeSwap V2 and Chainlink: `real` (built from the npm registry's
    /// sources, the default) or `hand` (the hand-written replicas, for comparison). Not with
    /// BSC_RPC_URL.
    #[arg(long, value_enum)]
    pub replicas: Option<crate::chain::Replicas>,

    /// Deploy a fresh vault on every live fork (funded, warmed up) instead of using the address
    /// book's; implied on real BSC, where the book names no vault.
    #[arg(long)]
    pub fresh_vault: bool,

    /// Degrade the RPC between the forks (and the keeper) and their upstream, and compare with a
    /// clean run: a profile (slow, flaky, truncating, rate-limited, stale-head) or a fault spec;
    /// repeatable.
    #[arg(long, value_name = "PROFILE|SPEC")]
    pub rpc_faults: Vec<String>,

    /// The scenario script (PATH:CONTRACT); another one must keep ForkChaosScenarios' entry
    /// points. The xtask's own tests point it at a deliberately broken vault.
    #[arg(long, value_name = "PATH:CONTRACT", default_value = SCENARIO_SCRIPT, hide = true)]
    pub scenario_script: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum ChaosCommand {
    /// Merge the reports of several shards into one report directory.
    Merge {
        /// Report directories of the shards.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where the merged report goes.
        #[arg(long, value_name = "DIR", default_value = "reports/merged")]
        out: PathBuf,
        /// Open the merged report.html in the desktop's browser.
        #[arg(long)]
        open: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    All,
    InEvm,
    LiveFork,
}

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not I/N"))?;
    let index: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("`{i}` is not a shard number"))?;
    let count: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a shard count"))?;
    if count == 0 || index == 0 || index > count {
        return Err(format!("shard {index}/{count}: I must be between 1 and N"));
    }
    Ok(Shard { index, count })
}

impl Shard {
    /// Pairs are dealt round-robin in (block, experiment) order, so every shard gets a share
    /// of every block and the split is the same on every machine.
    pub fn keeps(&self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
    }
}

/// The whole catalogue: in-EVM scenario ids (from the script itself) and live-fork ids.
pub struct Catalogue {
    pub in_evm: Vec<String>,
    pub live: Vec<String>,
}

impl Catalogue {
    pub fn load(toolchain: &Toolchain, artifact: &Artifact, script: &str) -> anyhow::Result<Self> {
        let call = ScriptCall {
            target: script.into(),
            calldata: artifact.encode_call("scenarioIds", &[])?,
            on: Target::Local,
            env: vec![],
        };
        let output = forge::run_script(toolchain, &call)?;
        let values = artifact.decode_output("scenarioIds", &output.returned)?;
        let ids = values
            .first()
            .and_then(DynSolValue::as_array)
            .context("scenarioIds() returned no array")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .context("scenario id is not a string")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            in_evm: ids,
            live: live::EXPERIMENTS
                .iter()
                .map(|(id, _)| (*id).to_owned())
                .collect(),
        })
    }

    /// The experiments to run, in catalogue order; an unknown id is bad input.
    pub fn select(
        &self,
        asked: &[String],
        engine: EngineChoice,
    ) -> Result<(Vec<String>, Vec<String>), Unusable> {
        for id in asked {
            if !self.in_evm.contains(id) && !self.live.contains(id) {
                return Err(Unusable::with_fix(
                    format!("unknown scenario `{id}`"),
                    "`cargo xtask chaos --list` lists every scenario id",
                ));
            }
        }
        let pick = |ids: &[String], on: bool| -> Vec<String> {
            if !on {
                return vec![];
            }
            ids.iter()
                .filter(|id| asked.is_empty() || asked.contains(id))
                .cloned()
                .collect()
        };
        Ok((
            pick(&self.in_evm, engine != EngineChoice::LiveFork),
            pick(&self.live, engine != EngineChoice::InEvm),
        ))
    }
}

/// Where forks read from: a proxy URL and the chain's address book.
struct ForkSource {
    url: String,
    book: AddressBook,
    book_path: PathBuf,
}

/// The upstream every fork reads, behind the xtask's proxy.
struct Upstream {
    /// What the report shows (redacted).
    endpoint: String,
    kind: &'static str,
    chain_id: u64,
    /// The proxy's local URL: the only URL forge and anvil see.
    url: String,
    proxy: ProxyHandle,
    book: AddressBook,
    book_path: PathBuf,
    /// The local chain, when it is the upstream (kept alive for the run).
    _local: Option<crate::chain::LocalChain>,
    default_blocks: Vec<(u64, String)>,
    /// The upstream itself, for a second (degrading) proxy.
    target: Redacted,
}

impl Upstream {
    fn source(&self, url: &str) -> ForkSource {
        ForkSource {
            url: url.to_owned(),
            book: self.book.clone(),
            book_path: self.book_path.clone(),
        }
    }
}

pub fn run(args: ChaosArgs, project: &Project) -> anyhow::Result<ExitCode> {
    if let Some(ChaosCommand::Merge { dirs, out, open }) = args.command {
        return merge(&dirs, &project.root().join(out), open);
    }
    crate::signals::install();
    let started = Instant::now();
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let toolchain = Toolchain::ensure(project)?;
    forge::build(&toolchain)?;
    let (file, contract) = artifact_of(&args.scenario_script)?;
    let artifact = Artifact::load(&project.forge_out(), &file, &contract)?;
    let catalogue = Catalogue::load(&toolchain, &artifact, &args.scenario_script)?;
    if args.list {
        print_catalogue(&catalogue);
        return Ok(ExitCode::SUCCESS);
    }
    let (in_evm, live_ids) = catalogue.select(&args.scenarios, args.engine)?;
    let rpc_faults = crate::degraded::parse(&args.rpc_faults)?;
    let selection = match (args.fork_block, args.at, args.window, args.step) {
        (Some(n), _, _, _) => Selection::Block(n),
        (_, Some(t), _, _) => Selection::At(t),
        (_, _, Some((from, to)), Some(step)) => Selection::Window { from, to, step },
        _ => Selection::Default,
    };
    let run_id = format!("{started_at}-seed{}", args.seed);
    let report_dir = project.root().join(
        args.report_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("reports/chaos-{run_id}"))),
    );
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("creating {}", report_dir.display()))?;

    let upstream = connect_upstream(&toolchain, &args, &report_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let provider = crate::chain::connect(&upstream.url)?;
    let head = runtime
        .block_on(provider.get_block_number())
        .context("reading the upstream's head")?;
    let pins = runtime.block_on(
        pin::Upstream {
            provider: &provider,
            head,
        }
        .resolve(&selection, &upstream.default_blocks),
    )?;
    if upstream.kind == "bsc" {
        preflight_archive(&runtime, &provider, &upstream.book, &pins)?;
    }

    // (block, experiment) pairs, then this shard's share of them.
    let mut position = 0usize;
    let mut plan: Vec<(PinnedBlock, Vec<String>, Vec<String>)> = Vec::new();
    for pinned in &pins {
        let mut take = |ids: &[String]| -> Vec<String> {
            ids.iter()
                .filter(|_| {
                    let keep = args.shard.is_none_or(|s| s.keeps(position));
                    position += 1;
                    keep
                })
                .cloned()
                .collect()
        };
        let a = take(&in_evm);
        let b = take(&live_ids);
        plan.push((pinned.clone(), a, b));
    }
    let total: usize = plan.iter().map(|(_, a, b)| a.len() + b.len()).sum();
    shell::status(
        "Running",
        format!(
            "{total} experiments at {} pinned blocks on {} ({})",
            pins.len(),
            upstream.endpoint,
            upstream.kind
        ),
    );

    let source = upstream.source(&upstream.url);
    let context = Context {
        toolchain: &toolchain,
        project,
        runtime: &runtime,
        artifact: &artifact,
        script: &args.scenario_script,
        log_dir: report_dir.clone(),
        keeper_faults: vec![],
        seed: args.seed,
        fresh_vault: args.fresh_vault || upstream.book.vault == alloy::primitives::Address::ZERO,
    };
    let blocks = context.execute(&source, &plan);
    let degraded = if rpc_faults.is_empty() {
        None
    } else {
        Some(run_degraded(
            &context,
            &upstream,
            &plan,
            &blocks,
            &rpc_faults,
            &report_dir,
        )?)
    };

    if matches!(selection, Selection::Window { .. }) {
        match runtime.block_on(window_points(project, &upstream, &pins)) {
            Ok(points) => {
                let svg = crate::svg::window(
                    &format!(
                        "chaos {run_id}: vault across blocks {}..{}",
                        pins[0].number,
                        pins[pins.len() - 1].number
                    ),
                    &points,
                );
                std::fs::write(report_dir.join("window.svg"), svg)?;
                // The same points for report.html (and a merged report's page).
                std::fs::write(
                    report_dir.join("window.json"),
                    serde_json::to_string_pretty(&points)? + "\n",
                )?;
            }
            Err(err) => shell::warn(format!("no window picture: {err:#}")),
        }
    }

    let stats = upstream.proxy.stats();
    write_rpc_stats(&report_dir, &stats)?;
    let report = Report {
        schema_version: report::SCHEMA_VERSION,
        run_id,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        seed: args.seed,
        chain: Chain {
            id: upstream.chain_id,
            kind: upstream.kind.into(),
            endpoint: upstream.endpoint.clone(),
        },
        blocks,
        resilience: 0.0,
        verdict: Verdict::Held,
        totals: Totals::default(),
        rpc_degradation: degraded.map(|c| report::Degradation {
            faults: c.faults,
            matched: c.matched,
            classified_failures: c.classified_failures,
            unclassified_failures: c.unclassified_failures,
            silent_divergences: c.silent_divergences,
            faults_injected: c.faults_injected,
            requests: c.requests,
        }),
    }
    .finish();
    report.write(&report_dir)?;
    let markdown = report.summary_markdown();
    report::append_step_summary(&markdown)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    shell::status(
        "Finished",
        format!(
            "{} held, {} disproved, {} errors; resilience {:.2}%; {} upstream requests; report in {}",
            report.totals.held,
            report.totals.disproved,
            report.totals.errors,
            report.resilience,
            stats.calls,
            report_dir.display()
        ),
    );
    if args.open {
        crate::report_html::open(&report_dir.join(crate::report_html::FILE_NAME));
    }
    Ok(report.exit_code())
}

/// What every block of a run shares.
struct Context<'a> {
    toolchain: &'a Toolchain,
    project: &'a Project,
    runtime: &'a tokio::runtime::Runtime,
    artifact: &'a Artifact,
    script: &'a str,
    /// Where fork anvils' logs go.
    log_dir: PathBuf,
    /// Faults between the live-fork keeper and its node (degraded runs).
    keeper_faults: Vec<FaultSpec>,
    seed: u64,
    /// Deploy a vault on each live fork instead of using the book's.
    fresh_vault: bool,
}

type Plan = [(PinnedBlock, Vec<String>, Vec<String>)];

impl Context<'_> {
    /// Every planned experiment on forks of `source`, block by block.
    fn execute(&self, source: &ForkSource, plan: &Plan) -> Vec<Block> {
        let mut blocks = Vec::new();
        let total = plan
            .iter()
            .map(|(_, a, b)| (a.len() + b.len()) as u64)
            .sum();
        let progress = shell::Progress::new(total, "experiments");
        for (pinned, scenario_ids, live_experiments) in plan {
            progress.message(format!("at block {}", pinned.number));
            progress.line(format!(
                "     Forking block {} ({}, time {})",
                pinned.number, pinned.label, pinned.timestamp
            ));
            let mut experiments = Vec::new();
            if !scenario_ids.is_empty() {
                experiments.extend(run_in_evm(
                    self.toolchain,
                    self.artifact,
                    self.script,
                    source,
                    pinned,
                    scenario_ids,
                ));
                progress.inc(scenario_ids.len() as u64);
            }
            if !live_experiments.is_empty() {
                experiments.extend(run_live(self, source, pinned, live_experiments));
                progress.inc(live_experiments.len() as u64);
            }
            for e in &experiments {
                let detail = match e.verdict {
                    Verdict::Held => String::new(),
                    Verdict::Disproved => format!(
                        ": {}",
                        e.checks
                            .iter()
                            .filter(|c| !c.passed)
                            .map(report::describe_check)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    Verdict::Error => format!(": {}", e.error.clone().unwrap_or_default()),
                };
                progress.line(format!(
                    "  {} {} [{}]{detail}",
                    shell::verdict(e.verdict == Verdict::Held),
                    e.id,
                    engine_label(e.engine)
                ));
            }
            blocks.push(Block {
                number: pinned.number,
                hash: pinned.hash.clone(),
                timestamp: pinned.timestamp,
                label: pinned.label.clone(),
                experiments,
                resilience: 0.0,
            });
        }
        blocks
    }
}

fn engine_label(engine: Engine) -> &'static str {
    match engine {
        Engine::InEvm => "in-evm",
        Engine::LiveFork => "live-fork",
    }
}

fn print_catalogue(catalogue: &Catalogue) {
    println!("in-evm (script/ForkChaosScenarios.s.sol):");
    for id in &catalogue.in_evm {
        println!("  {id}");
    }
    println!("live-fork (keeper against an anvil fork):");
    for (id, fault) in live::EXPERIMENTS {
        println!("  {id:<22} {fault}");
    }
}

fn connect_upstream(
    toolchain: &Toolchain,
    args: &ChaosArgs,
    report_dir: &Path,
) -> anyhow::Result<Upstream> {
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
            let proxy = Proxy::start(ProxyConfig::new(endpoint.clone()))?;
            let url = proxy.url();
            let target = endpoint.clone();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
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
            Ok(Upstream {
                endpoint: endpoint.to_string(),
                kind: "bsc",
                chain_id,
                url,
                proxy,
                book,
                book_path,
                _local: None,
                default_blocks: vec![(default_block, "pinned".into())],
                target,
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
                },
                args.replicas.unwrap_or_default(),
            )?;
            let endpoint = Redacted::parse(&local.info.url, "the local chain's URL")?;
            let proxy = Proxy::start(ProxyConfig::new(endpoint.clone()))?;
            Ok(Upstream {
                endpoint: local.info.url.clone(),
                kind: "local-replica",
                chain_id: 56,
                url: proxy.url(),
                proxy,
                book: local.book.clone(),
                book_path: readable_by_forge(toolchain, &local.info.address_book)?,
                default_blocks: local
                    .info
                    .landmarks
                    .iter()
                    .map(|m| (m.block, m.label.clone()))
                    .collect(),
                _local: Some(local),
                target: endpoint,
            })
        }
    }
}

/// Real BSC: the endpoint must serve state at every pinned block (an archive node).
fn preflight_archive(
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

fn fork_target(source: &ForkSource, pinned: &PinnedBlock) -> Target {
    Target::Fork {
        url: source.url.clone(),
        block: Some(pinned.number),
        no_storage_caching: true,
    }
}

/// All in-EVM scenarios of one block in one forge process (one fork, snapshot per scenario).
fn run_in_evm(
    toolchain: &Toolchain,
    artifact: &Artifact,
    script: &str,
    upstream: &ForkSource,
    pinned: &PinnedBlock,
    ids: &[String],
) -> Vec<Experiment> {
    let started = Instant::now();
    let outcome = (|| -> anyhow::Result<Vec<ScenarioResult>> {
        let list = DynSolValue::Array(
            ids.iter()
                .map(|id| DynSolValue::String(id.clone()))
                .collect(),
        );
        let call = ScriptCall {
            target: script.into(),
            calldata: artifact.encode_call("runScenarios", &[list])?,
            on: fork_target(upstream, pinned),
            // The scripts read the book relative to the project root.
            env: vec![(
                "CHAOS_ADDRESS_BOOK".into(),
                relative_path(toolchain, &upstream.book_path).into_os_string(),
            )],
        };
        let output = forge::run_script(toolchain, &call)?;
        anyhow::ensure!(output.success, "ForkChaosScenarios.runScenarios reverted");
        ScenarioResult::list_from_abi(&artifact.decode_output("runScenarios", &output.returned)?)
    })();
    // forge reports one wall time for the batch; each scenario is given an equal share of it.
    let share =
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX) / ids.len().max(1) as u64;
    match outcome {
        Ok(results) => results
            .into_iter()
            .map(|r| Experiment {
                id: r.id.0,
                engine: Engine::InEvm,
                fault: r.fault,
                verdict: if r.held {
                    Verdict::Held
                } else {
                    Verdict::Disproved
                },
                duration_ms: share,
                checks: r.checks,
                gas: r.cycle_gas,
                cycles: r.cycles,
                digest_before: Some(r.digest_before.to_string()),
                digest_after: Some(r.digest_after.to_string()),
                error: None,
            })
            .collect(),
        Err(err) => ids
            .iter()
            .map(|id| error_experiment(id, Engine::InEvm, share, &err))
            .collect(),
    }
}

/// NAV, share price and risk mode of the upstream's vault at every pinned block.
async fn window_points(
    project: &Project,
    upstream: &Upstream,
    pins: &[PinnedBlock],
) -> anyhow::Result<Vec<crate::svg::Point>> {
    anyhow::ensure!(
        upstream.book.vault != alloy::primitives::Address::ZERO,
        "the address book names no deployed vault"
    );
    let vault = VaultReader::new(
        project,
        upstream.book.vault,
        crate::chain::connect(&upstream.url)?,
    )?;
    let whole = |v: alloy::primitives::U256| v.to_string().parse::<f64>().unwrap_or(0.0) / 1e18;
    let mut points = Vec::with_capacity(pins.len());
    for pinned in pins {
        let at = Some(pinned.number);
        points.push(crate::svg::Point {
            block: pinned.number,
            timestamp: pinned.timestamp,
            nav: whole(vault.u256("nav", &[], at).await?),
            share_price: whole(vault.u256("sharePrice", &[], at).await?),
            risk_mode: u8::try_from(vault.u256("riskMode", &[], at).await?)?,
        });
    }
    Ok(points)
}

/// forge scripts may only read inside the project (foundry.toml `fs_permissions`: ./reports,
/// ./deployments): a book written elsewhere (`--report-dir /tmp/...`) is copied under
/// reports/.address-books/ first.
fn readable_by_forge(toolchain: &Toolchain, book: &Path) -> anyhow::Result<PathBuf> {
    let root = toolchain.project.root();
    let inside = ["reports", "deployments"]
        .iter()
        .any(|dir| book.starts_with(root.join(dir)));
    if inside {
        return Ok(book.to_path_buf());
    }
    let dir = root.join("reports").join(".address-books");
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join(format!("{}.json", std::process::id()));
    std::fs::copy(book, &copy)
        .with_context(|| format!("copying {} into the project", book.display()))?;
    Ok(copy)
}

pub fn relative_path(toolchain: &Toolchain, path: &Path) -> PathBuf {
    path.strip_prefix(toolchain.project.root())
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

fn error_experiment(id: &str, engine: Engine, duration_ms: u64, err: &anyhow::Error) -> Experiment {
    Experiment {
        id: id.to_owned(),
        engine,
        fault: String::new(),
        verdict: Verdict::Error,
        duration_ms,
        checks: vec![],
        gas: 0,
        cycles: 0,
        digest_before: None,
        digest_after: None,
        error: Some(format!("{err:#}")),
    }
}

/// One anvil fork of the block, every live-fork experiment on it from the same snapshot.
fn run_live(
    context: &Context<'_>,
    source: &ForkSource,
    pinned: &PinnedBlock,
    ids: &[String],
) -> Vec<Experiment> {
    let started = Instant::now();
    let fork = (|| -> anyhow::Result<(Anvil, Option<ProxyHandle>, live::Fork)> {
        let anvil = Anvil::builder()
            .arg("--fork-url")
            .arg(&source.url)
            .arg("--fork-block-number")
            .arg(pinned.number.to_string())
            .arg("--no-storage-caching")
            .args(["--retries", "5", "--fork-retry-backoff", "300"])
            .log_to(
                context
                    .log_dir
                    .join(format!("anvil-fork-{}.log", pinned.number)),
            )
            .spawn(context.toolchain)?;
        // In a degraded run the keeper reaches its node through a faulty proxy as well.
        let (keeper_proxy, node_url) = if context.keeper_faults.is_empty() {
            (None, anvil.url())
        } else {
            let mut config = ProxyConfig::new(Redacted::parse(&anvil.url(), "the fork's URL")?)
                .seed(context.seed);
            for fault in &context.keeper_faults {
                config = config.fault(fault.clone());
            }
            let proxy = Proxy::start(config)?;
            let url = proxy.url();
            (Some(proxy), url)
        };
        let provider = crate::chain::connect(&node_url)?;
        let address = if context.fresh_vault {
            deploy_vault_on_fork(context, source, &anvil.url())?
        } else {
            source.book.vault
        };
        let vault = VaultReader::new(context.project, address, provider)?;
        let fork = context
            .runtime
            .block_on(live::Fork::new(vault, source.book.clone()))?;
        if context.fresh_vault {
            context.runtime.block_on(fork.warm_up())?;
        }
        Ok((anvil, keeper_proxy, fork))
    })();
    match fork {
        Ok((_anvil, _proxy, fork)) => ids
            .iter()
            .map(|id| context.runtime.block_on(fork.run(id)))
            .collect(),
        Err(err) => {
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            ids.iter()
                .map(|id| error_experiment(id, Engine::LiveFork, ms, &err))
                .collect()
        }
    }
}

/// `script/DeployVaultOnFork.s.sol` broadcast to the fork's own anvil; returns the vault.
fn deploy_vault_on_fork(
    context: &Context<'_>,
    source: &ForkSource,
    fork_url: &str,
) -> anyhow::Result<alloy::primitives::Address> {
    let mut cmd = context.toolchain.command(Tool::Forge);
    cmd.args([
        "script",
        "script/DeployVaultOnFork.s.sol:DeployVaultOnFork",
        "--broadcast",
        "--json",
        "--rpc-url",
        fork_url,
    ])
    .env(
        "CHAOS_ADDRESS_BOOK",
        relative_path(context.toolchain, &source.book_path),
    )
    .stdin(std::process::Stdio::null());
    let output =
        crate::signals::output(&mut cmd).context("starting forge script DeployVaultOnFork")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (success, _, returned, _) = forge::parse_script_output(&stdout).with_context(|| {
        format!(
            "DeployVaultOnFork printed no result: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )
    })?;
    anyhow::ensure!(success && returned.len() == 32, "DeployVaultOnFork failed");
    Ok(alloy::primitives::Address::from_slice(&returned[12..]))
}

/// The same plan again, with every upstream read of the forks (and the keeper's calls) going
/// through a proxy that injects `faults`; compared with the clean run pair by pair.
fn run_degraded(
    context: &Context<'_>,
    upstream: &Upstream,
    plan: &Plan,
    clean: &[Block],
    faults: &[FaultSpec],
    report_dir: &Path,
) -> anyhow::Result<crate::degraded::Comparison> {
    let names: Vec<String> = faults.iter().map(ToString::to_string).collect();
    shell::status(
        "Degrading",
        format!("the same run through faulty RPC: {}", names.join(", ")),
    );
    let mut config = ProxyConfig::new(upstream.target.clone()).seed(context.seed);
    for fault in faults {
        config = config.fault(fault.clone());
    }
    let proxy = Proxy::start(config)?;
    let log_dir = report_dir.join("degraded");
    std::fs::create_dir_all(&log_dir)?;
    let degraded_context = Context {
        log_dir: log_dir.clone(),
        keeper_faults: faults.to_vec(),
        ..*context
    };
    let blocks = degraded_context.execute(&upstream.source(&proxy.url()), plan);
    let stats = proxy.stats();
    let mut comparison = crate::degraded::compare(clean, &blocks);
    comparison.faults = names;
    comparison.requests = stats.methods.clone();
    comparison.faults_injected = stats.faults.iter().map(|f| f.injected).sum();
    std::fs::write(
        log_dir.join("comparison.json"),
        serde_json::to_string_pretty(&comparison)? + "\n",
    )?;
    shell::status(
        "Compared",
        format!(
            "{} matched, {} classified failures, {} unclassified failures, {} silent divergences ({} faults injected in {} upstream requests)",
            comparison.matched,
            comparison.classified_failures,
            comparison.unclassified_failures,
            comparison.silent_divergences,
            comparison.faults_injected,
            stats.calls
        ),
    );
    Ok(comparison)
}

#[derive(Serialize)]
struct RpcCounters<'a> {
    http_requests: u64,
    calls: u64,
    distinct_state_keys: u64,
    upstream_errors: u64,
    methods: &'a std::collections::BTreeMap<String, u64>,
}

fn write_rpc_stats(dir: &Path, stats: &ProxyStats) -> anyhow::Result<()> {
    let counters = RpcCounters {
        http_requests: stats.http_requests,
        calls: stats.calls,
        distinct_state_keys: stats.distinct_state_keys,
        upstream_errors: stats.upstream_errors,
        methods: &stats.methods,
    };
    std::fs::write(
        dir.join("rpc.json"),
        serde_json::to_string_pretty(&counters)? + "\n",
    )?;
    Ok(())
}

/// `cargo xtask chaos merge`: one report from the shards' reports. Blocks are matched by
/// number and must agree on their hash (the shards forked the same chain).
fn merge(dirs: &[PathBuf], out: &Path, open: bool) -> anyhow::Result<ExitCode> {
    let mut reports = Vec::new();
    for dir in dirs {
        let path = dir.join("report.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", path.display()),
                "pass report directories of `cargo xtask chaos` runs",
            )
        })?;
        let report: Report = serde_json::from_str(&text).map_err(|e| {
            Unusable::new(format!(
                "{} is not a schema {} report: {e}",
                path.display(),
                report::SCHEMA_VERSION
            ))
        })?;
        if report.schema_version != report::SCHEMA_VERSION {
            return Err(Unusable::new(format!(
                "{} has schema_version {}",
                path.display(),
                report.schema_version
            ))
            .into());
        }
        reports.push(report);
    }
    let mut blocks: std::collections::BTreeMap<u64, Block> = std::collections::BTreeMap::new();
    for report in &reports {
        for block in &report.blocks {
            let entry = blocks.entry(block.number).or_insert_with(|| Block {
                experiments: vec![],
                ..block.clone()
            });
            if entry.hash != block.hash {
                return Err(Unusable::new(format!(
                    "shards disagree on the hash of block {}: they forked different chains",
                    block.number
                ))
                .into());
            }
            entry.experiments.extend(block.experiments.iter().cloned());
        }
    }
    let base = reports.first().context("no reports to merge")?;
    let report = Report {
        run_id: format!("{}-merged", base.run_id),
        duration_ms: reports
            .iter()
            .map(|r| r.duration_ms)
            .max()
            .unwrap_or_default(),
        blocks: blocks.into_values().collect(),
        ..base.clone()
    }
    .finish();
    let sources: Vec<&Path> = std::iter::once(out)
        .chain(dirs.iter().map(PathBuf::as_path))
        .collect();
    report.write_with(out, &sources)?;
    report::append_step_summary(&report.summary_markdown())?;
    shell::status(
        "Merged",
        format!(
            "{} reports into {}: resilience {:.2}%",
            dirs.len(),
            out.display(),
            report.resilience
        ),
    );
    if open {
        crate::report_html::open(&out.join(crate::report_html::FILE_NAME));
    }
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_every_pair_exactly_once() {
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("3").is_err());
        let shards: Vec<Shard> = (1..=3)
            .map(|i| parse_shard(&format!("{i}/3")).unwrap())
            .collect();
        for position in 0..50 {
            assert_eq!(shards.iter().filter(|s| s.keeps(position)).count(), 1);
        }
    }

    #[test]
    fn unknown_scenarios_are_bad_input_and_engines_filter() {
        let c = Catalogue {
            in_evm: vec!["a".into(), "b".into()],
            live: vec!["k".into()],
        };
        assert!(c
            .select(&["nope".into()], EngineChoice::All)
            .unwrap_err()
            .cause
            .contains("unknown scenario `nope`"));
        assert_eq!(
            c.select(&[], EngineChoice::All).unwrap(),
            (vec!["a".into(), "b".into()], vec!["k".into()])
        );
        assert_eq!(
            c.select(&["b".into()], EngineChoice::All).unwrap(),
            (vec!["b".into()], vec![])
        );
        assert_eq!(
            c.select(&[], EngineChoice::LiveFork).unwrap(),
            (vec![], vec!["k".into()])
        );
    }
}
